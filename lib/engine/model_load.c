/*
 * Loading llama and qwen2 models from GGUF: hyper-parameters from "<arch>.*" keys and
 * tensors by the names GGUF defines (token_embd, blk.N.attn_q, ..., output_norm, output;
 * output falls back to token_embd when absent: tied embeddings). Every shape and type is
 * checked against the hyper-parameters before the first token runs. Weights stay in the
 * mapping; only 1-D tensors stored in another type than F32 are converted.
 */
#include "model.h"
#include "quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int get_hp(mlops__model *m, const char *name, int *out, bool required, int def)
{
    char key[128];
    int64_t v;
    snprintf(key, sizeof key, "%s.%s", m->arch, name);
    if (!mlops__gguf_get_int(m->g, key, &v)) {
        if (required)
            return mlops__error(MLOPS_EFORMAT, "gguf: %s: missing or not an integer", key);
        *out = def;
        return MLOPS_OK;
    }
    if (v < 1 || v > (1 << 24))
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: %lld is out of range", key, (long long)v);
    *out = (int)v;
    return MLOPS_OK;
}

static double get_f(mlops__model *m, const char *name, double def)
{
    char key[128];
    double v;
    snprintf(key, sizeof key, "%s.%s", m->arch, name);
    return mlops__gguf_get_float(m->g, key, &v) ? v : def;
}

int mlops__model_hp(mlops__model *m, const char *name, int *out, bool required, int def)
{
    return get_hp(m, name, out, required, def);
}

static int hparams(mlops__model *m)
{
    int rc;
    if ((rc = get_hp(m, "embedding_length", &m->n_embd, true, 0)) ||
        (rc = get_hp(m, "block_count", &m->n_layer, true, 0)) ||
        (rc = get_hp(m, "feed_forward_length", &m->n_ff, true, 0)) ||
        (rc = get_hp(m, "attention.head_count", &m->n_head, true, 0)) ||
        (rc = get_hp(m, "attention.head_count_kv", &m->n_head_kv, false, m->n_head)) ||
        (rc = get_hp(m, "context_length", &m->n_ctx_train, false, 2048)))
        return rc;
    if (m->n_embd % m->n_head != 0)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s.attention.head_count: %d does not divide embedding_length %d",
                            m->arch, m->n_head, m->n_embd);
    if ((rc = get_hp(m, "attention.key_length", &m->head_dim, false, m->n_embd / m->n_head)))
        return rc;
    if (m->n_head % m->n_head_kv != 0)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s.attention.head_count_kv: %d does not divide head_count %d",
                            m->arch, m->n_head_kv, m->n_head);
    if ((rc = get_hp(m, "rope.dimension_count", &m->rope_dim, false, m->head_dim)))
        return rc;
    if (m->rope_dim > m->head_dim || m->rope_dim % 2)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s.rope.dimension_count: %d is odd or above the head size %d",
                            m->arch, m->rope_dim, m->head_dim);
    if (m->head_dim % 2)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: head size %d is odd", m->arch, m->head_dim);
    m->eps = (float)get_f(m, "attention.layer_norm_rms_epsilon", 1e-5);
    m->rope_base = (float)get_f(m, "rope.freq_base", 10000.0);
    if (!(m->eps > 0) || !(m->rope_base > 0))
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: rms epsilon and rope.freq_base must be positive", m->arch);
    m->rope_scale = 1.0f;
    char key[128];
    snprintf(key, sizeof key, "%s.rope.scaling.type", m->arch);
    char *st = mlops__gguf_get_str(m->g, key);
    double factor = get_f(m, "rope.scaling.factor", 1.0);
    if (st && strcmp(st, "none") != 0 && strcmp(st, "linear") != 0) {
        rc = mlops__error(MLOPS_EUNSUPPORTED, "gguf: %s: rope scaling '%s' is not supported (none, linear)", key, st);
        free(st);
        return rc;
    }
    if ((!st || strcmp(st, "linear") == 0) && factor > 0 && factor != 1.0)
        m->rope_scale = (float)(1.0 / factor);
    free(st);
    return MLOPS_OK;
}

static void tname(char *full, size_t cap, const char *name, int layer)
{
    if (layer >= 0)
        snprintf(full, cap, "blk.%d.%s", layer, name);
    else
        snprintf(full, cap, "%s", name);
}

static const mlops__gguf_tensor *tensor(mlops__model *m, const char *name, int layer)
{
    char full[96];
    tname(full, sizeof full, name, layer);
    return mlops__gguf_tensor_find(m->g, full);
}

int mlops__model_mat(mlops__model *m, const char *name, int layer, int64_t n, int64_t rows,
                     mlops__wmat *out, bool optional)
{
    const mlops__gguf_tensor *t = tensor(m, name, layer);
    char full[96];
    tname(full, sizeof full, name, layer);
    if (!t) {
        if (optional)
            return MLOPS_OK;
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor '%s': missing", full);
    }
    if (t->n_dims != 2 || t->ne[0] != n || t->ne[1] != rows)
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor '%s': shape [%lld, %lld] but the model needs [%lld, %lld]",
                            full, (long long)t->ne[0], (long long)t->ne[1], (long long)n, (long long)rows);
    const mlops__qtraits *tr = mlops__q_traits(t->type);
    if (!tr || !tr->supported)
        return mlops__error(MLOPS_EUNSUPPORTED, "gguf: tensor '%s': type %s is not supported by this build",
                            full, tr ? tr->name : "?");
    *out = (mlops__wmat){t->data, t->type, n, rows, mlops__q_row_bytes(t->type, n)};
    m->weight_bytes += t->nbytes;
    return MLOPS_OK;
}

int mlops__model_vec(mlops__model *m, const char *name, int layer, int64_t n, const float **out,
                     bool optional)
{
    const mlops__gguf_tensor *t = tensor(m, name, layer);
    char full[96];
    tname(full, sizeof full, name, layer);
    if (!t) {
        if (optional)
            return MLOPS_OK;
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor '%s': missing", full);
    }
    if (t->n_dims != 1 || t->ne[0] != n)
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor '%s': shape [%lld] but the model needs [%lld]",
                            full, (long long)t->ne[0], (long long)n);
    const mlops__qtraits *tr = mlops__q_traits(t->type);
    if (!tr || !tr->supported)
        return mlops__error(MLOPS_EUNSUPPORTED, "gguf: tensor '%s': type %s is not supported", full,
                            tr ? tr->name : "?");
    m->weight_bytes += t->nbytes;
    if (t->type == MLOPS__T_F32 && ((uintptr_t)t->data % 4) == 0) {
        *out = t->data;
        return MLOPS_OK;
    }
    float *f = malloc((size_t)n * sizeof *f);
    void **o = realloc(m->owned, (m->n_owned + 1) * sizeof *o);
    if (!f || !o) {
        free(f);
        if (o)
            m->owned = o;
        return mlops__error_oom("model vectors");
    }
    m->owned = o;
    m->owned[m->n_owned++] = f;
    mlops__q_dequantize_row(t->type, t->data, f, n);
    *out = f;
    return MLOPS_OK;
}

static int tensors(mlops__model *m)
{
    int rc;
    int64_t E = m->n_embd, Q = (int64_t)m->n_head * m->head_dim, KV = (int64_t)m->n_head_kv * m->head_dim;
    const mlops__gguf_tensor *te = tensor(m, "token_embd.weight", -1);
    if (!te || te->n_dims != 2)
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor 'token_embd.weight': missing or not 2-D");
    m->n_vocab = (int32_t)te->ne[1];
    if (m->vocab && mlops__vocab_size(m->vocab) > m->n_vocab)
        return mlops__error(MLOPS_EFORMAT, "gguf: tokenizer.ggml.tokens: %d tokens but token_embd has %d rows",
                            mlops__vocab_size(m->vocab), m->n_vocab);
    if ((rc = mlops__model_mat(m, "token_embd.weight", -1, E, m->n_vocab, &m->tok_embd, false)) ||
        (rc = mlops__model_vec(m, "output_norm.weight", -1, E, &m->out_norm, false)) ||
        (rc = mlops__model_mat(m, "output.weight", -1, E, m->n_vocab, &m->output, true)))
        return rc;
    if (!m->output.data) { /* tied: the decode reads the embedding matrix once more */
        m->output = m->tok_embd;
    }
    const mlops__gguf_tensor *rf = tensor(m, "rope_freqs.weight", -1);
    if (rf && (rc = mlops__model_vec(m, "rope_freqs.weight", -1, m->rope_dim / 2, &m->rope_freqs, false)))
        return rc;
    m->layers = calloc((size_t)m->n_layer, sizeof *m->layers);
    if (!m->layers)
        return mlops__error_oom("model layers");
    bool qwen = strcmp(m->arch, "qwen2") == 0;
    for (int l = 0; l < m->n_layer; l++) {
        mlops__layer *L = &m->layers[l];
        if ((rc = mlops__model_vec(m, "attn_norm.weight", l, E, &L->attn_norm, false)) ||
            (rc = mlops__model_vec(m, "ffn_norm.weight", l, E, &L->ffn_norm, false)) ||
            (rc = mlops__model_mat(m, "attn_q.weight", l, E, Q, &L->wq, false)) ||
            (rc = mlops__model_mat(m, "attn_k.weight", l, E, KV, &L->wk, false)) ||
            (rc = mlops__model_mat(m, "attn_v.weight", l, E, KV, &L->wv, false)) ||
            (rc = mlops__model_mat(m, "attn_output.weight", l, Q, E, &L->wo, false)) ||
            (rc = mlops__model_mat(m, "ffn_gate.weight", l, E, m->n_ff, &L->wg, false)) ||
            (rc = mlops__model_mat(m, "ffn_up.weight", l, E, m->n_ff, &L->wu, false)) ||
            (rc = mlops__model_mat(m, "ffn_down.weight", l, m->n_ff, E, &L->wd, false)) ||
            (rc = mlops__model_vec(m, "attn_q.bias", l, Q, &L->bq, !qwen)) ||
            (rc = mlops__model_vec(m, "attn_k.bias", l, KV, &L->bk, !qwen)) ||
            (rc = mlops__model_vec(m, "attn_v.bias", l, KV, &L->bv, !qwen)))
            return rc;
    }
    /* The type most weight bytes are in, for reports. */
    uint64_t by_type[MLOPS__T_COUNT] = {0};
    for (int l = 0; l < m->n_layer; l++) {
        const mlops__wmat *w[] = {&m->layers[l].wq, &m->layers[l].wk, &m->layers[l].wv,
                                  &m->layers[l].wo, &m->layers[l].wg, &m->layers[l].wu,
                                  &m->layers[l].wd};
        for (size_t k = 0; k < 7; k++)
            by_type[w[k]->type] += w[k]->row_bytes * (uint64_t)w[k]->rows;
    }
    int best = 0;
    for (int t = 0; t < MLOPS__T_COUNT; t++)
        if (by_type[t] > by_type[best])
            best = t;
    m->main_type = mlops__q_traits(best)->name;
    /* the file's own name for its mix (general.file_type, llama_ftype numbering) */
    static const struct {
        int id;
        const char *name;
    } ftypes[] = {{0, "F32"}, {1, "F16"}, {2, "Q4_0"}, {3, "Q4_1"}, {7, "Q8_0"}, {8, "Q5_0"},
                  {9, "Q5_1"}, {10, "Q2_K"}, {11, "Q3_K_S"}, {12, "Q3_K_M"}, {13, "Q3_K_L"},
                  {14, "Q4_K_S"}, {15, "Q4_K_M"}, {16, "Q5_K_S"}, {17, "Q5_K_M"}, {18, "Q6_K"},
                  {32, "BF16"}};
    int64_t ft;
    if (mlops__gguf_get_int(m->g, "general.file_type", &ft))
        for (size_t i = 0; i < MLOPS__ARRAY_LEN(ftypes); i++)
            if (ftypes[i].id == ft)
                m->main_type = ftypes[i].name;
    return MLOPS_OK;
}

static int finish(mlops__model *m, const mlops__model_opts *o);

static int load(mlops__model *m, const char *path, const mlops__model_opts *o)
{
    int rc = mlops__gguf_open(path, &m->g);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__vocab_load(m->g, &m->vocab)) != MLOPS_OK)
        return mlops__error_wrap(rc, "%s", path);
    if (o->vocab_only)
        return MLOPS_OK;
    char *arch = mlops__gguf_get_str(m->g, "general.architecture");
    if (!arch)
        return mlops__error(MLOPS_EFORMAT, "%s: gguf: general.architecture: missing", path);
    snprintf(m->arch, sizeof m->arch, "%s", arch);
    bool ok = strcmp(arch, "llama") == 0 || strcmp(arch, "qwen2") == 0;
    m->bert = strcmp(arch, "bert") == 0;
    free(arch);
    if (m->bert) {
        if ((rc = mlops__bert_load(m)) != MLOPS_OK)
            return mlops__error_wrap(rc, "%s", path);
        return finish(m, o);
    }
    if (!ok)
        return mlops__error(MLOPS_EUNSUPPORTED, "%s: general.architecture: '%s' is not supported (llama, qwen2, bert)",
                            path, m->arch);
    m->neox = strcmp(m->arch, "qwen2") == 0;
    if ((rc = hparams(m)) != MLOPS_OK || (rc = tensors(m)) != MLOPS_OK)
        return mlops__error_wrap(rc, "%s", path);
    return finish(m, o);
}

static int finish(mlops__model *m, const mlops__model_opts *o)
{
    m->n_ctx = o->n_ctx > 0 ? o->n_ctx : (m->n_ctx_train < 4096 ? m->n_ctx_train : 4096);
    if (m->n_ctx > m->n_ctx_train && o->n_ctx <= 0)
        m->n_ctx = m->n_ctx_train;
    m->kv_f32 = o->kv_f32 != 0;
    m->threads = o->threads > 0 ? o->threads : mlops__cpu_count();
    if (m->threads > 256)
        m->threads = 256;
    return mlops__pool_create(m->threads, &m->pool);
}

int mlops__model_load(const char *path, const mlops__model_opts *opts, mlops__model **out)
{
    *out = NULL;
    mlops__model_opts def = {0};
    mlops__model *m = calloc(1, sizeof *m);
    if (!m)
        return mlops__error_oom("model");
    int rc = load(m, path, opts ? opts : &def);
    if (rc != MLOPS_OK) {
        mlops__model_free(m);
        return rc;
    }
    *out = m;
    return MLOPS_OK;
}

void mlops__model_free(mlops__model *m)
{
    if (!m)
        return;
    mlops__pool_destroy(m->pool);
    for (size_t i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->layers);
    free(m->blayers);
    mlops__vocab_free(m->vocab);
    mlops__gguf_close(m->g);
    free(m);
}

const mlops__vocab *mlops__model_vocab(const mlops__model *m) { return m->vocab; }
bool mlops__model_is_encoder(const mlops__model *m) { return m->bert; }
int32_t mlops__model_n_vocab(const mlops__model *m) { return m->n_vocab ? m->n_vocab : mlops__vocab_size(m->vocab); }
int mlops__model_n_embd(const mlops__model *m) { return m->n_embd; }
int mlops__model_n_ctx(const mlops__model *m) { return m->n_ctx; }
int mlops__model_threads(const mlops__model *m) { return m->threads; }
const char *mlops__model_type_name(const mlops__model *m) { return m->main_type ? m->main_type : "none"; }

uint64_t mlops__model_weight_bytes(const mlops__model *m)
{
    /* per decoded token: every layer matrix, the output matrix, one embedding row */
    uint64_t b = 0;
    for (int l = 0; l < m->n_layer; l++) {
        const mlops__layer *L = &m->layers[l];
        const mlops__wmat *w[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wg, &L->wu, &L->wd};
        for (size_t k = 0; k < 7; k++)
            b += w[k]->row_bytes * (uint64_t)w[k]->rows;
    }
    return b + m->output.row_bytes * (uint64_t)m->output.rows + m->tok_embd.row_bytes;
}

int mlops__model_info_json(const mlops__model *m, json_t **out)
{
    const mlops__vocab *v = m->vocab;
    static const char *vt[] = {"none", "spm", "bpe", "wpm"};
    json_t *o = json_pack("{s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:i,s:f,s:f,s:s,s:i,s:s,s:s,s:I,s:s*,s:s*,s:b}",
                          "arch", m->arch[0] ? m->arch : "none", "n_vocab", (int)mlops__model_n_vocab(m),
                          "n_embd", m->n_embd, "n_layer", m->n_layer, "n_head", m->n_head,
                          "n_head_kv", m->n_head_kv, "n_ff", m->n_ff, "n_ctx", m->n_ctx,
                          "n_ctx_train", m->n_ctx_train, "threads", m->threads,
                          "rope_freq_base", (double)m->rope_base, "rope_freq_scale", (double)m->rope_scale,
                          "type", mlops__model_type_name(m), "bos", (int)mlops__vocab_bos(v),
                          "kv_type", m->kv_f32 ? "f32" : "f16", "tokenizer", vt[mlops__vocab_type(v)],
                          "weight_bytes", (json_int_t)(m->layers ? mlops__model_weight_bytes(m) : 0),
                          "pre", mlops__vocab_pre(v), "chat_template",
                          mlops__vocab_chat_template(v) ? mlops__chat_detect(mlops__vocab_chat_template(v)) : NULL,
                          "tied_output", m->layers && m->output.data == m->tok_embd.data);
    if (!o)
        return mlops__error_oom("model info");
    *out = o;
    return MLOPS_OK;
}
