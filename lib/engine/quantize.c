/*
 * `quantize IN OUT TYPE`: rewrites every 2-D weight in the target type, copying the
 * metadata. The *_K_M mixes follow the common recipe: output.weight in Q6_K, attn_v and
 * ffn_down in Q6_K on the first and last eighth of the layers and every third layer in
 * between, the base K type elsewhere. 1-D tensors (norms, biases) stay F32. A matrix
 * whose rows do not fit the type's block falls back to Q8_0, then F16.
 */
#include "engine.h"
#include "quant.h"

#include <stdlib.h>
#include <string.h>

typedef struct qplan {
    int base;        /* type of most matrices */
    int more;        /* type of the "more bits" attn_v / ffn_down layers (or -1) */
    int output;      /* type of output.weight */
    uint32_t ftype;  /* general.file_type */
} qplan;

static int plan_of(const char *name, qplan *p)
{
    static const struct {
        const char *name;
        int base, more, output;
        uint32_t ftype;
    } t[] = {
        {"F32", MLOPS__T_F32, -1, MLOPS__T_F32, 0},
        {"F16", MLOPS__T_F16, -1, MLOPS__T_F16, 1},
        {"Q4_0", MLOPS__T_Q4_0, -1, MLOPS__T_Q6_K, 2},
        {"Q4_1", MLOPS__T_Q4_1, -1, MLOPS__T_Q6_K, 3},
        {"Q8_0", MLOPS__T_Q8_0, -1, MLOPS__T_Q8_0, 7},
        {"Q5_0", MLOPS__T_Q5_0, -1, MLOPS__T_Q6_K, 8},
        {"Q5_1", MLOPS__T_Q5_1, -1, MLOPS__T_Q6_K, 9},
        {"Q4_K_M", MLOPS__T_Q4_K, MLOPS__T_Q6_K, MLOPS__T_Q6_K, 15},
        {"Q5_K_M", MLOPS__T_Q5_K, MLOPS__T_Q6_K, MLOPS__T_Q6_K, 17},
        {"Q6_K", MLOPS__T_Q6_K, -1, MLOPS__T_Q6_K, 18},
    };
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(t); i++)
        if (strcasecmp(name, t[i].name) == 0) {
            *p = (qplan){t[i].base, t[i].more, t[i].output, t[i].ftype};
            return MLOPS_OK;
        }
    return mlops__error(MLOPS_EINVAL, "quantize: type '%s' is not one of Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, "
                        "Q4_K_M, Q5_K_M, Q6_K, F16, F32", name);
}

static bool more_bits(int i, int n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

static int fits(int type, int64_t n)
{
    const mlops__qtraits *tr = mlops__q_traits(type);
    return tr && tr->supported && n % tr->block == 0;
}

static int target_type(const qplan *p, const mlops__gguf_tensor *t, int n_layer)
{
    if (t->n_dims < 2)
        return MLOPS__T_F32;
    int type = p->base;
    int layer = -1;
    if (strcmp(t->name, "output.weight") == 0)
        type = p->output;
    else if (p->more >= 0 && sscanf(t->name, "blk.%d.", &layer) == 1 &&
             (strstr(t->name, ".attn_v.weight") || strstr(t->name, ".ffn_down.weight")) &&
             more_bits(layer, n_layer))
        type = p->more;
    if (!fits(type, t->ne[0]))
        type = fits(MLOPS__T_Q8_0, t->ne[0]) && p->base != MLOPS__T_F16 && p->base != MLOPS__T_F32
                   ? MLOPS__T_Q8_0 : MLOPS__T_F16;
    return type;
}

typedef struct qjob {
    const mlops__gguf *g;
    const int *types;
    const mlops__gguf_tensor *t;
    int type;
    uint8_t *dst;
    int64_t rows, per;
    float *scratch; /* per chunk rows of floats */
} qjob;

static void q_chunk(void *arg, int idx, int n)
{
    (void)n;
    qjob *j = arg;
    int64_t ne0 = j->t->ne[0];
    size_t in_rb = mlops__q_row_bytes(j->t->type, ne0), out_rb = mlops__q_row_bytes(j->type, ne0);
    float *row = j->scratch + (size_t)idx * (size_t)ne0;
    int64_t r0 = idx * j->per, r1 = r0 + j->per < j->rows ? r0 + j->per : j->rows;
    for (int64_t r = r0; r < r1; r++) {
        mlops__q_dequantize_row(j->t->type, (const uint8_t *)j->t->data + (size_t)r * in_rb, row, ne0);
        if (j->type == MLOPS__T_F32)
            memcpy(j->dst + (size_t)r * out_rb, row, (size_t)ne0 * 4);
        else
            mlops__q_quantize_row(j->type, row, j->dst + (size_t)r * out_rb, ne0);
    }
}

typedef struct qctx {
    const mlops__gguf *g;
    const int *types;
    mlops__pool *pool;
    int threads;
} qctx;

static int q_fill(void *user, size_t index, void *dst, size_t nbytes)
{
    qctx *q = user;
    const mlops__gguf_tensor *t = &q->g->tensors[index];
    (void)nbytes;
    if (q->types[index] == t->type) {
        memcpy(dst, t->data, (size_t)t->nbytes);
        return MLOPS_OK;
    }
    int64_t rows = (int64_t)(t->nbytes / mlops__q_row_bytes(t->type, t->ne[0]));
    int chunks = q->threads * 4;
    if (chunks > rows)
        chunks = (int)rows;
    qjob j = {q->g, q->types, t, q->types[index], dst, rows, (rows + chunks - 1) / chunks, NULL};
    j.scratch = malloc((size_t)chunks * (size_t)t->ne[0] * sizeof(float));
    if (!j.scratch)
        return mlops__error_oom("quantize buffer");
    mlops__pool_run(q->pool, q_chunk, &j, (int)((rows + j.per - 1) / j.per));
    free(j.scratch);
    return MLOPS_OK;
}

int mlops__quantize(const char *in, const char *out, const char *type, int threads)
{
    qplan p = {0};
    int rc = plan_of(type, &p);
    if (rc != MLOPS_OK)
        return rc;
    mlops__gguf *g = NULL;
    if ((rc = mlops__gguf_open(in, &g)) != MLOPS_OK)
        return rc;
    char *arch = mlops__gguf_get_str(g, "general.architecture");
    char key[96];
    snprintf(key, sizeof key, "%s.block_count", arch ? arch : "llama");
    free(arch);
    int64_t n_layer = 0;
    mlops__gguf_get_int(g, key, &n_layer);
    int *types = calloc((size_t)g->n_tensors + 1, sizeof *types);
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    qctx q = {g, types, NULL, threads > 0 ? threads : mlops__cpu_count()};
    if (!types || !w) {
        rc = mlops__error_oom("quantize");
        goto out;
    }
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const char *k = g->kv[i].key;
        if (strcmp(k, "general.file_type") && strcmp(k, "general.quantization_version") &&
            strcmp(k, "general.alignment"))
            mlops__gguf_w_copy(w, g, &g->kv[i]);
    }
    mlops__gguf_w_u32(w, "general.file_type", p.ftype);
    mlops__gguf_w_u32(w, "general.quantization_version", 2);
    for (uint64_t i = 0; i < g->n_tensors && rc == MLOPS_OK; i++) {
        const mlops__gguf_tensor *t = &g->tensors[i];
        const mlops__qtraits *tr = mlops__q_traits(t->type);
        if (!tr->supported) {
            rc = mlops__error(MLOPS_EUNSUPPORTED, "quantize: tensor '%s': type %s cannot be read", t->name, tr->name);
            break;
        }
        types[i] = target_type(&p, t, (int)n_layer);
        rc = mlops__gguf_w_tensor(w, t->name, types[i], t->n_dims, t->ne, NULL);
    }
    if (rc == MLOPS_OK && (rc = mlops__pool_create(q.threads > 256 ? 256 : q.threads, &q.pool)) == MLOPS_OK)
        rc = mlops__gguf_w_write(w, out, q_fill, &q);
out:
    mlops__pool_destroy(q.pool);
    mlops__gguf_writer_free(w);
    free(types);
    mlops__gguf_close(g);
    return rc;
}
