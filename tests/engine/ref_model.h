/*
 * A straightforward double-precision llama/qwen2 forward pass for the tests: weights
 * dequantised from the GGUF file into doubles, every position recomputed from scratch,
 * plain loops. It shares no code with lib/engine/forward.c.
 */
#ifndef MLOPS_TEST_REF_MODEL_H
#define MLOPS_TEST_REF_MODEL_H

#include "engine/engine.h"
#include "engine/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_layer {
    double *an, *fn, *wq, *wk, *wv, *wo, *wg, *wu, *wd, *bq, *bk, *bv;
} ref_layer;

typedef struct ref_model {
    int E, L, H, KV, hd, F, V, rd;
    double eps, base, pscale;
    int neox;
    double *emb, *out, *onorm;
    ref_layer *l;
} ref_model;

static double *ref_tensor(mlops__gguf *g, const char *name)
{
    const mlops__gguf_tensor *t = mlops__gguf_tensor_find(g, name);
    if (!t)
        return NULL;
    int64_t rows = t->ne[1] * t->ne[2] * t->ne[3], n = t->ne[0];
    size_t rb = mlops__q_row_bytes(t->type, n);
    double *d = malloc((size_t)(rows * n) * sizeof *d);
    float *row = malloc((size_t)n * sizeof *row);
    for (int64_t r = 0; r < rows; r++) {
        mlops__q_dequantize_row(t->type, (const uint8_t *)t->data + (size_t)r * rb, row, n);
        for (int64_t i = 0; i < n; i++)
            d[r * n + i] = row[i];
    }
    free(row);
    return d;
}

static int ref_int(mlops__gguf *g, const char *arch, const char *k, int def)
{
    char key[128];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", arch, k);
    return mlops__gguf_get_int(g, key, &v) ? (int)v : def;
}

static double ref_float(mlops__gguf *g, const char *arch, const char *k, double def)
{
    char key[128];
    double v;
    snprintf(key, sizeof key, "%s.%s", arch, k);
    return mlops__gguf_get_float(g, key, &v) ? v : def;
}

static int ref_load(const char *path, ref_model *m)
{
    memset(m, 0, sizeof *m);
    mlops__gguf *g;
    if (mlops__gguf_open(path, &g) != MLOPS_OK)
        return -1;
    char *arch = mlops__gguf_get_str(g, "general.architecture");
    m->neox = strcmp(arch, "qwen2") == 0;
    m->E = ref_int(g, arch, "embedding_length", 0);
    m->L = ref_int(g, arch, "block_count", 0);
    m->H = ref_int(g, arch, "attention.head_count", 0);
    m->KV = ref_int(g, arch, "attention.head_count_kv", m->H);
    m->F = ref_int(g, arch, "feed_forward_length", 0);
    m->hd = m->E / m->H;
    m->rd = ref_int(g, arch, "rope.dimension_count", m->hd);
    m->eps = ref_float(g, arch, "attention.layer_norm_rms_epsilon", 1e-5);
    m->base = ref_float(g, arch, "rope.freq_base", 10000);
    m->pscale = 1.0 / ref_float(g, arch, "rope.scaling.factor", 1.0);
    m->V = (int)mlops__gguf_tensor_find(g, "token_embd.weight")->ne[1];
    m->emb = ref_tensor(g, "token_embd.weight");
    m->out = ref_tensor(g, "output.weight");
    if (!m->out)
        m->out = ref_tensor(g, "token_embd.weight");
    m->onorm = ref_tensor(g, "output_norm.weight");
    m->l = calloc((size_t)m->L, sizeof *m->l);
    for (int i = 0; i < m->L; i++) {
        char n[96];
#define RT(f, nm) (snprintf(n, sizeof n, "blk.%d." nm, i), m->l[i].f = ref_tensor(g, n))
        RT(an, "attn_norm.weight");
        RT(fn, "ffn_norm.weight");
        RT(wq, "attn_q.weight");
        RT(wk, "attn_k.weight");
        RT(wv, "attn_v.weight");
        RT(wo, "attn_output.weight");
        RT(wg, "ffn_gate.weight");
        RT(wu, "ffn_up.weight");
        RT(wd, "ffn_down.weight");
        RT(bq, "attn_q.bias");
        RT(bk, "attn_k.bias");
        RT(bv, "attn_v.bias");
#undef RT
    }
    free(arch);
    mlops__gguf_close(g);
    return 0;
}

static void ref_free(ref_model *m)
{
    free(m->emb), free(m->out), free(m->onorm);
    for (int i = 0; i < m->L; i++) {
        ref_layer *l = &m->l[i];
        free(l->an), free(l->fn), free(l->wq), free(l->wk), free(l->wv), free(l->wo);
        free(l->wg), free(l->wu), free(l->wd), free(l->bq), free(l->bk), free(l->bv);
    }
    free(m->l);
}

/* y[r] = sum_i W[r][i] x[i] (+ b[r]), W with `rows` rows of n. */
static void ref_mv(const double *W, const double *b, const double *x, int n, int rows, double *y)
{
    for (int r = 0; r < rows; r++) {
        double s = b ? b[r] : 0;
        for (int i = 0; i < n; i++)
            s += W[(size_t)r * n + i] * x[i];
        y[r] = s;
    }
}

static void ref_norm(const double *x, const double *w, int n, double eps, double *y)
{
    double ss = 0;
    for (int i = 0; i < n; i++)
        ss += x[i] * x[i];
    double s = 1.0 / sqrt(ss / n + eps);
    for (int i = 0; i < n; i++)
        y[i] = x[i] * s * w[i];
}

static void ref_rope(const ref_model *m, double *v, int pos)
{
    int half = m->rd / 2;
    for (int i = 0; i < half; i++) {
        double th = pos * m->pscale * pow(m->base, -2.0 * i / m->rd);
        int a = m->neox ? i : 2 * i, b = m->neox ? i + half : 2 * i + 1;
        double x0 = v[a], x1 = v[b];
        v[a] = x0 * cos(th) - x1 * sin(th);
        v[b] = x0 * sin(th) + x1 * cos(th);
    }
}

/* Logits of every position: out[T][V]. */
static void ref_forward(const ref_model *m, const int32_t *tok, int T, double *logits)
{
    int E = m->E, Q = m->H * m->hd, K = m->KV * m->hd, F = m->F;
    double *x = calloc((size_t)T * E, sizeof *x), *xn = malloc(sizeof(double) * (size_t)E);
    double *q = malloc(sizeof(double) * (size_t)T * Q), *k = malloc(sizeof(double) * (size_t)T * K);
    double *v = malloc(sizeof(double) * (size_t)T * K), *att = malloc(sizeof(double) * (size_t)Q);
    double *o = malloc(sizeof(double) * (size_t)E), *g = malloc(sizeof(double) * (size_t)F);
    double *u = malloc(sizeof(double) * (size_t)F), *sc = malloc(sizeof(double) * (size_t)T);
    for (int t = 0; t < T; t++)
        memcpy(x + (size_t)t * E, m->emb + (size_t)tok[t] * E, sizeof(double) * (size_t)E);
    for (int l = 0; l < m->L; l++) {
        const ref_layer *L = &m->l[l];
        for (int t = 0; t < T; t++) {
            ref_norm(x + (size_t)t * E, L->an, E, m->eps, xn);
            ref_mv(L->wq, L->bq, xn, E, Q, q + (size_t)t * Q);
            ref_mv(L->wk, L->bk, xn, E, K, k + (size_t)t * K);
            ref_mv(L->wv, L->bv, xn, E, K, v + (size_t)t * K);
            for (int h = 0; h < m->H; h++)
                ref_rope(m, q + (size_t)t * Q + h * m->hd, t);
            for (int h = 0; h < m->KV; h++)
                ref_rope(m, k + (size_t)t * K + h * m->hd, t);
        }
        for (int t = 0; t < T; t++) {
            for (int h = 0; h < m->H; h++) {
                int kh = h / (m->H / m->KV);
                double mx = -1e300, sum = 0;
                for (int p = 0; p <= t; p++) {
                    double s = 0;
                    for (int d = 0; d < m->hd; d++)
                        s += q[(size_t)t * Q + h * m->hd + d] * k[(size_t)p * K + kh * m->hd + d];
                    sc[p] = s / sqrt((double)m->hd);
                    if (sc[p] > mx)
                        mx = sc[p];
                }
                for (int p = 0; p <= t; p++)
                    sum += (sc[p] = exp(sc[p] - mx));
                for (int d = 0; d < m->hd; d++) {
                    double a = 0;
                    for (int p = 0; p <= t; p++)
                        a += sc[p] / sum * v[(size_t)p * K + kh * m->hd + d];
                    att[h * m->hd + d] = a;
                }
            }
            ref_mv(L->wo, NULL, att, Q, E, o);
            for (int i = 0; i < E; i++)
                x[(size_t)t * E + i] += o[i];
            ref_norm(x + (size_t)t * E, L->fn, E, m->eps, xn);
            ref_mv(L->wg, NULL, xn, E, F, g);
            ref_mv(L->wu, NULL, xn, E, F, u);
            for (int i = 0; i < F; i++)
                g[i] = g[i] / (1 + exp(-g[i])) * u[i];
            ref_mv(L->wd, NULL, g, F, E, o);
            for (int i = 0; i < E; i++)
                x[(size_t)t * E + i] += o[i];
        }
    }
    for (int t = 0; t < T; t++) {
        ref_norm(x + (size_t)t * E, m->onorm, E, m->eps, xn);
        ref_mv(m->out, NULL, xn, E, m->V, logits + (size_t)t * m->V);
    }
    free(x), free(xn), free(q), free(k), free(v), free(att), free(o), free(g), free(u), free(sc);
}

#endif
