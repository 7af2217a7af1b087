/*
 * BERT encoders (GGUF architecture "bert": BGE, MiniLM, E5...) for embeddings: token +
 * position + token-type embeddings, LayerNorm, then per layer bidirectional attention
 * and a GELU FFN, each followed by a residual LayerNorm (post-norm). The text's vector is
 * the mean of the last hidden states (bert.pooling_type 1, the default) or the first
 * ([CLS], pooling_type 2). Tensor names as GGUF's converters write them.
 */
#include "model.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int mlops__bert_load(mlops__model *m)
{
    int rc, types = 0;
    if ((rc = mlops__model_hp(m, "embedding_length", &m->n_embd, true, 0)) ||
        (rc = mlops__model_hp(m, "block_count", &m->n_layer, true, 0)) ||
        (rc = mlops__model_hp(m, "feed_forward_length", &m->n_ff, true, 0)) ||
        (rc = mlops__model_hp(m, "attention.head_count", &m->n_head, true, 0)) ||
        (rc = mlops__model_hp(m, "context_length", &m->n_ctx_train, false, 512)) ||
        (rc = mlops__model_hp(m, "pooling_type", &m->pooling, false, 1)))
        return rc;
    if (m->n_embd % m->n_head)
        return mlops__error(MLOPS_EFORMAT, "gguf: bert.attention.head_count: %d does not divide %d",
                            m->n_head, m->n_embd);
    if (m->pooling != 1 && m->pooling != 2)
        return mlops__error(MLOPS_EUNSUPPORTED, "gguf: bert.pooling_type: %d is not 1 (mean) or 2 (cls)", m->pooling);
    m->n_head_kv = m->n_head;
    m->head_dim = m->n_embd / m->n_head;
    double eps;
    m->eps = mlops__gguf_get_float(m->g, "bert.attention.layer_norm_epsilon", &eps) ? (float)eps : 1e-12f;
    const mlops__gguf_tensor *te = mlops__gguf_tensor_find(m->g, "token_embd.weight");
    const mlops__gguf_tensor *tt = mlops__gguf_tensor_find(m->g, "token_types.weight");
    if (!te || te->n_dims != 2)
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor 'token_embd.weight': missing or not 2-D");
    m->n_vocab = (int32_t)te->ne[1];
    types = tt && tt->n_dims == 2 ? (int)tt->ne[1] : 1;
    int64_t E = m->n_embd, F = m->n_ff;
    if ((rc = mlops__model_mat(m, "token_embd.weight", -1, E, m->n_vocab, &m->tok_embd, false)) ||
        (rc = mlops__model_mat(m, "position_embd.weight", -1, E, m->n_ctx_train, &m->pos_embd, false)) ||
        (rc = mlops__model_mat(m, "token_types.weight", -1, E, types, &m->type_embd, false)) ||
        (rc = mlops__model_vec(m, "token_embd_norm.weight", -1, E, &m->emb_ln_w, false)) ||
        (rc = mlops__model_vec(m, "token_embd_norm.bias", -1, E, &m->emb_ln_b, false)))
        return rc;
    m->blayers = calloc((size_t)m->n_layer, sizeof *m->blayers);
    if (!m->blayers)
        return mlops__error_oom("bert layers");
    for (int l = 0; l < m->n_layer; l++) {
        mlops__bert_layer *L = &m->blayers[l];
        if ((rc = mlops__model_mat(m, "attn_q.weight", l, E, E, &L->wq, false)) ||
            (rc = mlops__model_mat(m, "attn_k.weight", l, E, E, &L->wk, false)) ||
            (rc = mlops__model_mat(m, "attn_v.weight", l, E, E, &L->wv, false)) ||
            (rc = mlops__model_mat(m, "attn_output.weight", l, E, E, &L->wo, false)) ||
            (rc = mlops__model_mat(m, "ffn_up.weight", l, E, F, &L->wu, false)) ||
            (rc = mlops__model_mat(m, "ffn_down.weight", l, F, E, &L->wd, false)) ||
            (rc = mlops__model_vec(m, "attn_q.bias", l, E, &L->bq, false)) ||
            (rc = mlops__model_vec(m, "attn_k.bias", l, E, &L->bk, false)) ||
            (rc = mlops__model_vec(m, "attn_v.bias", l, E, &L->bv, false)) ||
            (rc = mlops__model_vec(m, "attn_output.bias", l, E, &L->bo, false)) ||
            (rc = mlops__model_vec(m, "ffn_up.bias", l, F, &L->bu, false)) ||
            (rc = mlops__model_vec(m, "ffn_down.bias", l, E, &L->bd, false)) ||
            (rc = mlops__model_vec(m, "attn_output_norm.weight", l, E, &L->ln1_w, false)) ||
            (rc = mlops__model_vec(m, "attn_output_norm.bias", l, E, &L->ln1_b, false)) ||
            (rc = mlops__model_vec(m, "layer_output_norm.weight", l, E, &L->ln2_w, false)) ||
            (rc = mlops__model_vec(m, "layer_output_norm.bias", l, E, &L->ln2_b, false)))
            return rc;
    }
    m->main_type = mlops__q_traits(m->blayers[0].wq.type)->name;
    return MLOPS_OK;
}

static void layernorm(float *x, const float *w, const float *b, int64_t n, float eps)
{
    double mean = 0, var = 0;
    for (int64_t i = 0; i < n; i++)
        mean += x[i];
    mean /= (double)n;
    for (int64_t i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    float s = (float)(1.0 / sqrt(var / (double)n + eps));
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)(x[i] - mean) * s * w[i] + b[i];
}

typedef struct batt {
    const mlops__model *m;
    const float *q, *k, *v;
    float *out, *scores;
    int64_t T;
} batt;

/* One head over all positions (bidirectional). */
static void batt_head(void *arg, int h, int n)
{
    (void)n;
    batt *j = arg;
    int hd = j->m->head_dim;
    int64_t E = j->m->n_embd;
    float *sc = j->scores + (size_t)h * (size_t)j->T;
    float scale = 1.0f / sqrtf((float)hd);
    for (int64_t t = 0; t < j->T; t++) {
        const float *q = j->q + t * E + (int64_t)h * hd;
        float mx = -INFINITY, sum = 0;
        for (int64_t p = 0; p < j->T; p++) {
            sc[p] = mlops__dot_f32(q, j->k + p * E + (int64_t)h * hd, hd) * scale;
            mx = sc[p] > mx ? sc[p] : mx;
        }
        for (int64_t p = 0; p < j->T; p++)
            sum += (sc[p] = expf(sc[p] - mx));
        float *o = j->out + t * E + (int64_t)h * hd;
        memset(o, 0, (size_t)hd * sizeof *o);
        for (int64_t p = 0; p < j->T; p++) {
            const float *v = j->v + p * E + (int64_t)h * hd;
            float w = sc[p] / sum;
            for (int d = 0; d < hd; d++)
                o[d] += w * v[d];
        }
    }
}

static void add_bias(float *y, const float *b, int64_t T, int64_t n)
{
    for (int64_t t = 0; t < T; t++)
        for (int64_t i = 0; i < n; i++)
            y[t * n + i] += b[i];
}

int mlops__bert_embed(mlops__model *m, const int32_t *ids, size_t n, float *out)
{
    if (!m->bert)
        return mlops__error(MLOPS_EINVAL, "bert: not a bert model");
    if (n == 0 || n > (size_t)m->n_ctx_train)
        return mlops__error(MLOPS_ELIMIT, "bert: %zu tokens; the model takes 1..%d", n, m->n_ctx_train);
    int64_t T = (int64_t)n, E = m->n_embd, F = m->n_ff;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= m->n_vocab)
            return mlops__error(MLOPS_EINVAL, "bert: token %d is outside the vocabulary", ids[i]);
    size_t act = 0;
    for (int t = 0; t < MLOPS__T_COUNT; t++) {
        const mlops__qtraits *tr = mlops__q_traits(t);
        if (tr && tr->supported && F % tr->block == 0 && E % tr->block == 0) {
            size_t a = mlops__q_act_row_bytes(t, F), b = mlops__q_act_row_bytes(t, E);
            act = a > act ? a : act;
            act = b > act ? b : act;
        }
    }
    float *x = malloc(sizeof(float) * (size_t)(T * E)), *q = malloc(sizeof(float) * (size_t)(T * E));
    float *k = malloc(sizeof(float) * (size_t)(T * E)), *v = malloc(sizeof(float) * (size_t)(T * E));
    float *a = malloc(sizeof(float) * (size_t)(T * E)), *h = malloc(sizeof(float) * (size_t)(T * F));
    float *sc = malloc(sizeof(float) * (size_t)(T * m->n_head)), *row = malloc(sizeof(float) * (size_t)E);
    uint8_t *xq = malloc(act * (size_t)T + 64);
    int rc = MLOPS_OK;
    if (!x || !q || !k || !v || !a || !h || !sc || !row || !xq) {
        rc = mlops__error_oom("bert buffers");
        goto out;
    }
    for (int64_t t = 0; t < T; t++) {
        float *xt = x + t * E;
        mlops__q_dequantize_row(m->tok_embd.type, (const uint8_t *)m->tok_embd.data + (size_t)ids[t] * m->tok_embd.row_bytes, xt, E);
        mlops__q_dequantize_row(m->pos_embd.type, (const uint8_t *)m->pos_embd.data + (size_t)t * m->pos_embd.row_bytes, row, E);
        for (int64_t i = 0; i < E; i++)
            xt[i] += row[i];
        mlops__q_dequantize_row(m->type_embd.type, m->type_embd.data, row, E);
        for (int64_t i = 0; i < E; i++)
            xt[i] += row[i];
        layernorm(xt, m->emb_ln_w, m->emb_ln_b, E, m->eps);
    }
    for (int l = 0; l < m->n_layer; l++) {
        const mlops__bert_layer *L = &m->blayers[l];
        mlops__matmul(m, x, T, &L->wq, q, xq);
        mlops__matmul(m, x, T, &L->wk, k, xq);
        mlops__matmul(m, x, T, &L->wv, v, xq);
        add_bias(q, L->bq, T, E);
        add_bias(k, L->bk, T, E);
        add_bias(v, L->bv, T, E);
        batt j = {m, q, k, v, a, sc, T};
        mlops__pool_run(m->pool, batt_head, &j, m->n_head);
        mlops__matmul(m, a, T, &L->wo, q, xq);
        add_bias(q, L->bo, T, E);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t i = 0; i < E; i++)
                x[t * E + i] += q[t * E + i];
            layernorm(x + t * E, L->ln1_w, L->ln1_b, E, m->eps);
        }
        mlops__matmul(m, x, T, &L->wu, h, xq);
        add_bias(h, L->bu, T, F);
        for (int64_t i = 0; i < T * F; i++) /* exact GELU, as BERT defines it */
            h[i] = 0.5f * h[i] * (1.0f + erff(h[i] * 0.70710678f));
        mlops__matmul(m, h, T, &L->wd, q, xq);
        add_bias(q, L->bd, T, E);
        for (int64_t t = 0; t < T; t++) {
            for (int64_t i = 0; i < E; i++)
                x[t * E + i] += q[t * E + i];
            layernorm(x + t * E, L->ln2_w, L->ln2_b, E, m->eps);
        }
    }
    for (int64_t i = 0; i < E; i++) {
        double s = 0;
        if (m->pooling == 2)
            s = x[i];
        else {
            for (int64_t t = 0; t < T; t++)
                s += x[t * E + i];
            s /= (double)T;
        }
        out[i] = (float)s;
    }
out:
    free(x), free(q), free(k), free(v), free(a), free(h), free(sc), free(row), free(xq);
    return rc;
}
