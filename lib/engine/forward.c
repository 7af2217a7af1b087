/*
 * The llama/qwen2 forward pass: token embedding, then per layer RMSNorm -> Q/K/V
 * (+ biases for qwen2) -> RoPE (adjacent pairs for llama, split halves "neox" for qwen2)
 * -> grouped-query causal attention over the KV cache -> output projection -> residual,
 * RMSNorm -> SwiGLU FFN -> residual; final RMSNorm and the output matrix.
 *
 * Threads: every matrix product of at least SERIAL_BYTES runs on the model's pool, its
 * rows split into threads x 4 chunks of equal weight bytes (chunk edges on 16-row
 * multiples) that the threads claim as they go; Q/K/V are one job, gate/up one job that
 * also applies SwiGLU to its rows. Attention is split by (token, KV head), in chunks of
 * equal causal work, once it is worth a dispatch (SERIAL_ATT). A decode step is 4
 * dispatches per layer (5 past ~340 positions) plus one for the logits, and allocates
 * nothing. Prefill runs the tiled matrix-matrix kernels on up to MAX_BATCH tokens at a
 * time and computes logits for the last position only (unless all are asked for).
 * Decode steps time themselves and run on the calling thread alone while that is faster
 * (a loaded machine; see adapt_begin). A row's arithmetic never depends on the split or
 * on that choice, so logits are identical at any thread count and under any load.
 */
#include "model.h"
#include "quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BATCH 256
#define MAX_CHUNKS 64 /* work chunks of one pool job, at most */
#define ROW_ALIGN 16
#define SERIAL_BYTES (256u << 10)   /* weight bytes x batch below which one thread works */
#define SERIAL_ATT (1u << 18)       /* attention multiply-adds below which one thread works */

struct mlops__ctx {
    mlops__model *m;
    int pos, n_ctx, nb;
    void **kc, **vc;
    size_t kv_elt;
    float *x, *xn, *q, *k, *v, *att, *g, *u, *cosv, *sinv, *scores, *emb, *logits;
    size_t logit_rows;
    uint8_t *xq[3];
    size_t xq_cap;
    int n_chunks_att;
    double *inv_freq; /* rope: rope_dim / 2 inverse frequencies */
    /* Decode-time choice between the pool and the calling thread alone (see adapt_*). */
    bool serial;
    int adapt_tokens;
    double adapt_ns[2]; /* moving average of a decode step, [0] pool, [1] alone */
};

static size_t max_act_bytes(const mlops__model *m, int64_t n)
{
    size_t b = 0;
    for (int t = 0; t < MLOPS__T_COUNT; t++) {
        const mlops__qtraits *tr = mlops__q_traits(t);
        if (tr && tr->supported && n % tr->block == 0) {
            size_t x = mlops__q_act_row_bytes(t, n);
            if (x > b)
                b = x;
        }
    }
    (void)m;
    return b;
}

int mlops__ctx_new(mlops__model *m, mlops__ctx **out)
{
    *out = NULL;
    if (m->bert)
        return mlops__error(MLOPS_EUNSUPPORTED, "model: a bert encoder embeds text (mlops_engine_embed); it does not generate");
    if (!m->layers)
        return mlops__error(MLOPS_EINVAL, "model: loaded with vocab_only; it cannot run");
    mlops__ctx *c = calloc(1, sizeof *c);
    if (!c)
        return mlops__error_oom("context");
    c->m = m;
    c->n_ctx = m->n_ctx;
    c->nb = m->n_ctx < MAX_BATCH ? m->n_ctx : MAX_BATCH;
    int64_t E = m->n_embd, Q = (int64_t)m->n_head * m->head_dim, KV = (int64_t)m->n_head_kv * m->head_dim;
    int64_t nb = c->nb;
    c->kv_elt = m->kv_f32 ? 4 : 2;
    c->kc = calloc((size_t)m->n_layer, sizeof *c->kc);
    c->vc = calloc((size_t)m->n_layer, sizeof *c->vc);
    bool ok = c->kc && c->vc;
    for (int l = 0; ok && l < m->n_layer; l++) {
        c->kc[l] = malloc((size_t)c->n_ctx * (size_t)KV * c->kv_elt);
        c->vc[l] = malloc((size_t)c->n_ctx * (size_t)KV * c->kv_elt);
        ok = c->kc[l] && c->vc[l];
    }
    c->n_chunks_att = m->threads * 8 < MAX_CHUNKS ? m->threads * 8 : MAX_CHUNKS;
    int64_t big = E > Q ? E : Q;
    if (m->n_ff > big)
        big = m->n_ff;
    c->xq_cap = max_act_bytes(m, E);
    size_t b2 = max_act_bytes(m, Q), b3 = max_act_bytes(m, m->n_ff);
    if (b2 > c->xq_cap) c->xq_cap = b2;
    if (b3 > c->xq_cap) c->xq_cap = b3;
    c->x = malloc((size_t)(nb * E) * 4);
    c->xn = malloc((size_t)(nb * big) * 4);
    c->q = malloc((size_t)(nb * Q) * 4);
    c->k = malloc((size_t)(nb * KV) * 4);
    c->v = malloc((size_t)(nb * KV) * 4);
    c->att = malloc((size_t)(nb * Q) * 4);
    c->g = malloc((size_t)(nb * m->n_ff) * 4);
    c->u = malloc((size_t)(nb * m->n_ff) * 4);
    c->cosv = malloc((size_t)(nb * m->rope_dim / 2) * 4);
    c->sinv = malloc((size_t)(nb * m->rope_dim / 2) * 4);
    c->scores = malloc((size_t)c->n_chunks_att * (size_t)(m->n_head / m->n_head_kv) * (size_t)c->n_ctx * 4);
    c->emb = malloc((size_t)E * 4);
    c->inv_freq = malloc((size_t)(m->rope_dim / 2 + 1) * sizeof *c->inv_freq);
    for (int i = 0; c->inv_freq && i < m->rope_dim / 2; i++) {
        c->inv_freq[i] = pow((double)m->rope_base, -2.0 * i / m->rope_dim);
        if (m->rope_freqs)
            c->inv_freq[i] /= m->rope_freqs[i];
    }
    c->logits = malloc((size_t)m->n_vocab * 4);
    c->logit_rows = 1;
    for (int i = 0; i < 3; i++)
        ok = ok && (c->xq[i] = malloc(c->xq_cap * (size_t)nb + 64)) != NULL;
    if (!ok || !c->x || !c->xn || !c->q || !c->k || !c->v || !c->att || !c->g || !c->u ||
        !c->cosv || !c->sinv || !c->scores || !c->emb || !c->logits || !c->inv_freq) {
        mlops__ctx_free(c);
        return mlops__error_oom("context buffers (KV cache)");
    }
    *out = c;
    return MLOPS_OK;
}

void mlops__ctx_free(mlops__ctx *c)
{
    if (!c)
        return;
    for (int l = 0; l < c->m->n_layer; l++) {
        if (c->kc)
            free(c->kc[l]);
        if (c->vc)
            free(c->vc[l]);
    }
    free(c->kc);
    free(c->vc);
    free(c->x), free(c->xn), free(c->q), free(c->k), free(c->v), free(c->att);
    free(c->g), free(c->u), free(c->cosv), free(c->sinv), free(c->scores), free(c->emb);
    free(c->logits), free(c->inv_freq);
    for (int i = 0; i < 3; i++)
        free(c->xq[i]);
    free(c);
}

int mlops__ctx_pos(const mlops__ctx *c) { return c->pos; }
void mlops__ctx_reset(mlops__ctx *c) { c->pos = 0; }
mlops__model *mlops__ctx_model(const mlops__ctx *c) { return c->m; }
const float *mlops__ctx_embedding(const mlops__ctx *c) { return c->emb; }

const float *mlops__ctx_logits(const mlops__ctx *c, size_t *rows)
{
    if (rows)
        *rows = c->logit_rows;
    return c->logits;
}

/* ------------------------------------------------------------- matmul jobs - */

typedef struct mm_item {
    const mlops__wmat *w;
    const void *xq;
    size_t xq_stride;
    float *y;
    int64_t ldy;
} mm_item;

/*
 * A product job: up to 3 matrices sharing one input. Plain jobs split the concatenation
 * of the matrices' rows; a paired job (gate/up) splits the rows of both matrices together
 * (chunk k does rows [a, b) of each) and then applies SwiGLU to them, g = silu(g) * u, so
 * the FFN activation runs on all threads and needs no separate pass. Chunk boundaries are
 * chosen so every chunk reads about the same number of weight bytes (types may differ
 * between matrices) and are multiples of ROW_ALIGN rows from each matrix's start.
 */
typedef struct mm_job {
    mm_item it[3];
    int n_items;
    bool pair;
    int64_t B;
    int n_chunks;
    int64_t bound[MAX_CHUNKS + 1]; /* global row index where chunk k starts */
} mm_job;

static float silu(float x) { return x / (1.0f + expf(-x)); }

static void mm_rows(const mm_job *j, const mm_item *it, int64_t a, int64_t b)
{
    if (j->B == 1)
        mlops__q_matvec(it->w->type, it->w->data, it->w->n, a, b, it->xq, it->y + a);
    else
        mlops__q_matmat(it->w->type, it->w->data, it->w->n, a, b, it->xq, j->B, it->xq_stride,
                        it->y + a, it->ldy);
}

static void mm_chunk(void *arg, int idx, int n)
{
    (void)n;
    const mm_job *j = arg;
    int64_t g0 = j->bound[idx], g1 = j->bound[idx + 1];
    if (j->pair) {
        const mm_item *g = &j->it[0], *u = &j->it[1];
        mm_rows(j, g, g0, g1);
        mm_rows(j, u, g0, g1);
        for (int64_t t = 0; t < j->B; t++) {
            float *gr = g->y + t * g->ldy, *ur = u->y + t * u->ldy;
            for (int64_t r = g0; r < g1; r++)
                gr[r] = silu(gr[r]) * ur[r];
        }
        return;
    }
    int64_t base = 0;
    for (int i = 0; i < j->n_items && g0 < g1; i++) {
        const mm_item *it = &j->it[i];
        int64_t rows = it->w->rows;
        int64_t a = g0 - base, b = g1 - base;
        if (a < rows && b > 0)
            mm_rows(j, it, a < 0 ? 0 : a, b > rows ? rows : b);
        base += rows;
    }
}

/*
 * With a pool of more than one thread every product of at least SERIAL_BYTES (weight
 * bytes x batch) runs on all threads, split into threads x 4 chunks of equal weight bytes
 * that the threads claim as they go (a descheduled thread then holds up one small chunk,
 * not half the product); smaller products, and every product of a decode step that
 * adapt_begin put on the calling thread (`serial`), run on the calling thread. The split
 * never changes a row's arithmetic, so results are identical either way.
 */
static void mm_run(mlops__model *m, mm_job *j, bool serial)
{
    int64_t total = 0;
    uint64_t bytes = 0;
    int n_items = j->pair ? 1 : j->n_items;
    for (int i = 0; i < j->n_items; i++)
        bytes += (uint64_t)j->it[i].w->rows * j->it[i].w->row_bytes;
    for (int i = 0; i < n_items; i++)
        total += j->it[i].w->rows;
    int chunks = m->threads == 1 || serial || bytes * (uint64_t)j->B < SERIAL_BYTES ? 1 : m->threads * 4;
    if (chunks > MAX_CHUNKS)
        chunks = MAX_CHUNKS;
    /* bytes per global row: matrices in order (a paired job's row holds both rows) */
    uint64_t per_row[3];
    for (int i = 0; i < n_items; i++)
        per_row[i] = j->pair ? j->it[0].w->row_bytes + j->it[1].w->row_bytes : j->it[i].w->row_bytes;
    int k = 0;
    j->bound[k++] = 0;
    uint64_t acc = 0;
    int64_t base = 0;
    for (int i = 0; i < n_items && chunks > 1; i++) {
        int64_t rows = j->it[i].w->rows;
        for (int64_t r = ROW_ALIGN; r < rows; r += ROW_ALIGN) {
            uint64_t b = acc + (uint64_t)r * per_row[i];
            /* start chunk k where the bytes so far reach k/chunks of the total */
            if (k < chunks && b * (uint64_t)chunks >= (uint64_t)k * bytes && base + r > j->bound[k - 1])
                j->bound[k++] = base + r;
        }
        acc += (uint64_t)rows * per_row[i];
        base += rows;
        if (i + 1 < n_items && k < chunks && base > j->bound[k - 1] &&
            acc * (uint64_t)chunks >= (uint64_t)k * bytes)
            j->bound[k++] = base;
    }
    j->bound[k] = total;
    j->n_chunks = k;
    mlops__pool_run(m->pool, mm_chunk, j, k);
}

/* Converts T rows of x (stride n floats) for weight type wtype into buf. */
static size_t quantize_rows(int wtype, const float *x, int64_t n, int64_t T, uint8_t *buf)
{
    size_t stride = mlops__q_act_row_bytes(wtype, n);
    for (int64_t t = 0; t < T; t++)
        mlops__q_quantize_act(wtype, x + t * n, buf + (size_t)t * stride, n);
    return stride;
}

/* Y_i = W_i x for up to 3 matrices sharing the input x (T rows of n floats). */
static void matmul_group(mlops__ctx *c, const float *x, int64_t T, const mlops__wmat *const *w,
                         float *const *y, int nw, bool swiglu)
{
    mm_job j = {.n_items = nw, .B = T, .pair = swiglu};
    int done_act[3] = {-1, -1, -1};
    for (int i = 0; i < nw; i++) {
        int act = mlops__q_traits(w[i]->type)->act_type;
        int slot = -1;
        for (int k = 0; k < i; k++)
            if (done_act[k] == act && mlops__q_act_row_bytes(w[k]->type, w[k]->n) ==
                                          mlops__q_act_row_bytes(w[i]->type, w[i]->n))
                slot = k;
        size_t stride;
        if (slot >= 0) {
            j.it[i].xq = j.it[slot].xq;
            stride = j.it[slot].xq_stride;
        } else {
            stride = quantize_rows(w[i]->type, x, w[i]->n, T, c->xq[i]);
            j.it[i].xq = c->xq[i];
        }
        done_act[i] = act;
        j.it[i].w = w[i];
        j.it[i].xq_stride = stride;
        j.it[i].y = y[i];
        j.it[i].ldy = w[i]->rows;
    }
    mm_run(c->m, &j, c->serial);
}

void mlops__matmul(mlops__model *m, const float *x, int64_t T, const mlops__wmat *w, float *y,
                   uint8_t *xq)
{
    mm_job j = {.n_items = 1, .B = T};
    size_t stride = quantize_rows(w->type, x, w->n, T, xq);
    j.it[0] = (mm_item){w, xq, stride, y, w->rows};
    mm_run(m, &j, false);
}

/* ------------------------------------------------------------- pieces ------ */

static void rmsnorm(float *out, const float *x, const float *w, int64_t n, float eps)
{
    double ss = 0;
    for (int64_t i = 0; i < n; i++)
        ss += (double)x[i] * x[i];
    float s = (float)(1.0 / sqrt(ss / (double)n + eps));
    for (int64_t i = 0; i < n; i++)
        out[i] = x[i] * s * w[i];
}

static void rope_tables(mlops__ctx *c, int pos0, int64_t T)
{
    const mlops__model *m = c->m;
    int half = m->rope_dim / 2;
    for (int64_t t = 0; t < T; t++) {
        double p = (double)(pos0 + t) * m->rope_scale;
        for (int i = 0; i < half; i++) {
            double th = p * c->inv_freq[i];
            c->cosv[t * half + i] = (float)cos(th);
            c->sinv[t * half + i] = (float)sin(th);
        }
    }
}

static void rope(const mlops__model *m, float *v, const float *cs, const float *sn)
{
    int half = m->rope_dim / 2;
    for (int i = 0; i < half; i++) {
        int a = m->neox ? i : 2 * i, b = m->neox ? i + half : 2 * i + 1;
        float x0 = v[a], x1 = v[b];
        v[a] = x0 * cs[i] - x1 * sn[i];
        v[b] = x0 * sn[i] + x1 * cs[i];
    }
}

/* Attention work items are (token, KV head) pairs, token-major; chunk k does items
   [bound[k], bound[k + 1]), chosen so each chunk has about the same causal work. */
typedef struct att_job {
    mlops__ctx *c;
    int layer, pos0;
    int64_t T, total;
    int64_t bound[MAX_CHUNKS + 1];
} att_job;

/* Splits the (token, KV head) items into chunks of equal work (positions attended). */
static int att_split(const mlops__ctx *c, att_job *j)
{
    const mlops__model *m = c->m;
    uint64_t work = 0; /* sum over items of the positions each attends */
    for (int64_t t = 0; t < j->T; t++)
        work += (uint64_t)m->n_head_kv * (uint64_t)(j->pos0 + t + 1);
    uint64_t mads = work * (uint64_t)(m->n_head / m->n_head_kv) * (uint64_t)m->head_dim;
    int chunks = m->threads == 1 || c->serial || mads < SERIAL_ATT ? 1 : c->n_chunks_att;
    if (chunks > j->total)
        chunks = (int)j->total;
    int k = 0;
    j->bound[k++] = 0;
    uint64_t acc = 0;
    for (int64_t w = 0; w < j->total && k < chunks; w++) {
        acc += (uint64_t)(j->pos0 + w / m->n_head_kv + 1);
        if (acc * (uint64_t)chunks >= (uint64_t)k * work && w + 1 < j->total && w + 1 > j->bound[k - 1])
            j->bound[k++] = w + 1;
    }
    j->bound[k] = j->total;
    return k;
}

/* Item w = (token t, KV head kvh): the `group` query heads sharing that KV head, so each
   K/V row is read (and converted from F16) once for the group. Per head the arithmetic is
   the same sequence whatever the grouping or split (see mlops__att_scores_f16). */
static void att_chunk(void *arg, int idx, int n)
{
    (void)n;
    att_job *j = arg;
    mlops__ctx *c = j->c;
    const mlops__model *m = c->m;
    int hd = m->head_dim, group = m->n_head / m->n_head_kv;
    int64_t Q = (int64_t)m->n_head * hd, KV = (int64_t)m->n_head_kv * hd;
    size_t scs = (size_t)c->n_ctx; /* stride between the group's score rows */
    float *sc0 = c->scores + (size_t)idx * (size_t)group * scs;
    float scale = 1.0f / sqrtf((float)hd);
    int64_t a = j->bound[idx], b = j->bound[idx + 1];
    for (int64_t w = a; w < b; w++) {
        int64_t t = w / m->n_head_kv;
        int kvh = (int)(w % m->n_head_kv), h0 = kvh * group;
        const float *q0 = c->q + t * Q + (int64_t)h0 * hd;
        float *o0 = c->att + t * Q + (int64_t)h0 * hd;
        int npos = j->pos0 + (int)t + 1;
        size_t off0 = (size_t)kvh * (size_t)hd;
        if (m->kv_f32) {
            for (int g = 0; g < group; g++)
                for (int p = 0; p < npos; p++)
                    sc0[(size_t)g * scs + (size_t)p] = mlops__dot_f32(
                        (const float *)c->kc[j->layer] + (size_t)p * (size_t)KV + off0, q0 + (int64_t)g * hd, hd);
        } else {
            mlops__att_scores_f16((const uint16_t *)c->kc[j->layer] + off0, (size_t)KV, npos, q0,
                                  (size_t)hd, group, hd, sc0, scs);
        }
        for (int g = 0; g < group; g++) {
            float *sc = sc0 + (size_t)g * scs, mx = -INFINITY;
            for (int p = 0; p < npos; p++) {
                float s = sc[p] * scale;
                sc[p] = s;
                if (s > mx)
                    mx = s;
            }
            float sum = 0;
            for (int p = 0; p < npos; p++) {
                sc[p] = expf(sc[p] - mx);
                sum += sc[p];
            }
            float inv = 1.0f / sum;
            for (int p = 0; p < npos; p++)
                sc[p] = sc[p] * inv;
        }
        memset(o0, 0, (size_t)group * (size_t)hd * 4);
        if (m->kv_f32) {
            for (int g = 0; g < group; g++) {
                float *o = o0 + (int64_t)g * hd;
                const float *sc = sc0 + (size_t)g * scs;
                for (int p = 0; p < npos; p++) {
                    const float *vv = (const float *)c->vc[j->layer] + (size_t)p * (size_t)KV + off0;
                    float wgt = sc[p];
                    for (int d = 0; d < hd; d++)
                        o[d] += wgt * vv[d];
                }
            }
        } else {
            mlops__att_values_f16((const uint16_t *)c->vc[j->layer] + off0, (size_t)KV, npos, sc0, scs,
                                  group, hd, o0, (size_t)hd);
        }
    }
}

static void store_kv(mlops__ctx *c, int layer, int pos, const float *k, const float *v, int64_t KV)
{
    size_t off = (size_t)pos * (size_t)KV;
    if (c->m->kv_f32) {
        memcpy((float *)c->kc[layer] + off, k, (size_t)KV * 4);
        memcpy((float *)c->vc[layer] + off, v, (size_t)KV * 4);
    } else {
        mlops__fp32_to_fp16_row(k, (uint16_t *)c->kc[layer] + off, KV);
        mlops__fp32_to_fp16_row(v, (uint16_t *)c->vc[layer] + off, KV);
    }
}

/* One batch of T tokens at positions pos..pos+T-1. */
static void eval_batch(mlops__ctx *c, const int32_t *tok, int64_t T, bool all, float *logits)
{
    mlops__model *m = c->m;
    int64_t E = m->n_embd, Q = (int64_t)m->n_head * m->head_dim, KV = (int64_t)m->n_head_kv * m->head_dim;
    int64_t F = m->n_ff;
    int pos0 = c->pos, half = m->rope_dim / 2;
    for (int64_t t = 0; t < T; t++)
        mlops__q_dequantize_row(m->tok_embd.type,
                                (const uint8_t *)m->tok_embd.data + (size_t)tok[t] * m->tok_embd.row_bytes,
                                c->x + t * E, E);
    rope_tables(c, pos0, T);
    for (int l = 0; l < m->n_layer; l++) {
        const mlops__layer *L = &m->layers[l];
        for (int64_t t = 0; t < T; t++)
            rmsnorm(c->xn + t * E, c->x + t * E, L->attn_norm, E, m->eps);
        const mlops__wmat *w3[3] = {&L->wq, &L->wk, &L->wv};
        float *y3[3] = {c->q, c->k, c->v};
        matmul_group(c, c->xn, T, w3, y3, 3, false);
        for (int64_t t = 0; t < T; t++) {
            float *q = c->q + t * Q, *k = c->k + t * KV, *v = c->v + t * KV;
            if (L->bq) {
                for (int64_t i = 0; i < Q; i++) q[i] += L->bq[i];
                for (int64_t i = 0; i < KV; i++) k[i] += L->bk[i];
                for (int64_t i = 0; i < KV; i++) v[i] += L->bv[i];
            }
            const float *cs = c->cosv + t * half, *sn = c->sinv + t * half;
            for (int h = 0; h < m->n_head; h++)
                rope(m, q + (int64_t)h * m->head_dim, cs, sn);
            for (int h = 0; h < m->n_head_kv; h++)
                rope(m, k + (int64_t)h * m->head_dim, cs, sn);
            store_kv(c, l, pos0 + (int)t, k, v, KV);
        }
        att_job aj = {.c = c, .layer = l, .pos0 = pos0, .T = T, .total = T * m->n_head_kv};
        mlops__pool_run(m->pool, att_chunk, &aj, att_split(c, &aj));
        const mlops__wmat *wo[1] = {&L->wo};
        float *yo[1] = {c->xn};
        matmul_group(c, c->att, T, wo, yo, 1, false);
        for (int64_t i = 0; i < T * E; i++)
            c->x[i] += c->xn[i];
        for (int64_t t = 0; t < T; t++)
            rmsnorm(c->xn + t * E, c->x + t * E, L->ffn_norm, E, m->eps);
        const mlops__wmat *w2[2] = {&L->wg, &L->wu};
        float *y2[2] = {c->g, c->u};
        matmul_group(c, c->xn, T, w2, y2, 2, L->wg.rows == L->wu.rows);
        if (L->wg.rows != L->wu.rows) /* not produced by a valid file; kept for safety */
            for (int64_t i = 0; i < T * F; i++)
                c->g[i] = silu(c->g[i]) * c->u[i];
        const mlops__wmat *wd[1] = {&L->wd};
        float *yd[1] = {c->xn};
        matmul_group(c, c->g, T, wd, yd, 1, false);
        for (int64_t i = 0; i < T * E; i++)
            c->x[i] += c->xn[i];
    }
    for (int64_t t = 0; t < T; t++) {
        rmsnorm(c->xn + t * E, c->x + t * E, m->out_norm, E, m->eps);
        for (int64_t i = 0; i < E; i++)
            c->emb[i] += c->xn[t * E + i];
    }
    const mlops__wmat *wout[1] = {&m->output};
    float *yl[1] = {logits};
    if (all)
        matmul_group(c, c->xn, T, wout, yl, 1, false);
    else if (logits)
        matmul_group(c, c->xn + (T - 1) * E, 1, wout, yl, 1, false);
    c->pos += (int)T;
}

/*
 * On a machine shared with other work, waking a second thread can cost more than it
 * gives: a worker descheduled in the middle of its rows holds the whole step up (the
 * reason spinning engines collapse there). Decode therefore measures itself: a step
 * runs on the pool or on the calling thread alone, whichever has been faster lately,
 * and every ADAPT_ROUND steps the other way is tried for ADAPT_PROBE steps to notice
 * when the machine changed. Only the split changes, never a row's arithmetic, so the
 * logits are the same either way.
 */
#define ADAPT_ROUND 64
#define ADAPT_PROBE 2

static bool adapt_begin(mlops__ctx *c)
{
    if (c->m->threads == 1)
        return true;
    int k = c->adapt_tokens % ADAPT_ROUND;
    bool best_serial = c->adapt_ns[1] > 0 && c->adapt_ns[0] > 0 && c->adapt_ns[1] < c->adapt_ns[0];
    /* the first rounds probe the other way early so a slow start is corrected quickly */
    bool probe = k >= ADAPT_ROUND - ADAPT_PROBE || (c->adapt_tokens < ADAPT_ROUND && k >= 4 && k < 4 + ADAPT_PROBE);
    return probe ? !best_serial : best_serial;
}

static void adapt_end(mlops__ctx *c, bool serial, uint64_t ns)
{
    double *avg = &c->adapt_ns[serial ? 1 : 0];
    *avg = *avg > 0 ? 0.75 * *avg + 0.25 * (double)ns : (double)ns;
    c->adapt_tokens++;
}

int mlops__ctx_eval(mlops__ctx *c, const int32_t *tokens, size_t n, bool all)
{
    mlops__model *m = c->m;
    if (n == 0)
        return mlops__error(MLOPS_EINVAL, "eval: no tokens");
    if ((size_t)c->pos + n > (size_t)c->n_ctx)
        return mlops__error(MLOPS_ELIMIT, "eval: %zu tokens at position %d exceed the context of %d",
                            n, c->pos, c->n_ctx);
    for (size_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= m->n_vocab)
            return mlops__error(MLOPS_EINVAL, "eval: token %d at index %zu is outside the vocabulary (0..%d)",
                                tokens[i], i, m->n_vocab - 1);
    size_t rows = all ? n : 1;
    if (rows > c->logit_rows) {
        float *p = realloc(c->logits, rows * (size_t)m->n_vocab * 4);
        if (!p)
            return mlops__error_oom("logits");
        c->logits = p;
    }
    c->logit_rows = rows;
    memset(c->emb, 0, (size_t)m->n_embd * 4);
    bool step = n == 1 && m->threads > 1;
    uint64_t t0 = step ? mlops__now_ns() : 0;
    c->serial = step && adapt_begin(c);
    for (size_t done = 0; done < n;) {
        size_t T = n - done < (size_t)c->nb ? n - done : (size_t)c->nb;
        bool last = done + T == n;
        float *lg = all ? c->logits + done * (size_t)m->n_vocab : last ? c->logits : NULL;
        eval_batch(c, tokens + done, (int64_t)T, all, lg);
        done += T;
    }
    if (step)
        adapt_end(c, c->serial, mlops__now_ns() - t0);
    c->serial = false;
    for (int i = 0; i < m->n_embd; i++)
        c->emb[i] /= (float)n;
    return MLOPS_OK;
}

void mlops__ctx_truncate(mlops__ctx *c, int pos)
{
    if (pos >= 0 && pos < c->pos)
        c->pos = pos;
}
