/* Private to lib/engine: the loaded model's layout, shared by model_load.c and forward.c. */
#ifndef MLOPS_LIB_ENGINE_MODEL_H
#define MLOPS_LIB_ENGINE_MODEL_H

#include "engine.h"

/* A weight matrix: `rows` rows of `n` elements of `type`, as GGUF lays them out. */
typedef struct mlops__wmat {
    const void *data;
    int type;
    int64_t n, rows;
    size_t row_bytes;
} mlops__wmat;

typedef struct mlops__layer {
    const float *attn_norm, *ffn_norm;
    const float *bq, *bk, *bv; /* qwen2 */
    mlops__wmat wq, wk, wv, wo, wg, wu, wd;
} mlops__layer;

/* BERT encoder layer (post-norm, biases everywhere, GELU FFN). */
typedef struct mlops__bert_layer {
    mlops__wmat wq, wk, wv, wo, wu, wd;
    const float *bq, *bk, *bv, *bo, *bu, *bd, *ln1_w, *ln1_b, *ln2_w, *ln2_b;
} mlops__bert_layer;

struct mlops__model {
    mlops__gguf *g;
    mlops__vocab *vocab;
    char arch[32];
    int n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_ctx_train, n_ctx, rope_dim;
    int32_t n_vocab;
    float eps, rope_base, rope_scale;
    bool neox;
    const float *rope_freqs;
    mlops__wmat tok_embd, output;
    const float *out_norm;
    mlops__layer *layers;
    mlops__pool *pool;
    int threads;
    bool kv_f32;
    void **owned; /* F32 copies of non-F32 1-D tensors */
    size_t n_owned;
    uint64_t weight_bytes;
    const char *main_type;
    /* bert */
    bool bert;
    int pooling; /* 1 mean, 2 CLS */
    mlops__wmat pos_embd, type_embd;
    const float *emb_ln_w, *emb_ln_b;
    mlops__bert_layer *blayers;
};

/* Shared loaders (model_load.c) for the per-architecture files. */
int mlops__model_mat(mlops__model *m, const char *name, int layer, int64_t n, int64_t rows,
                     mlops__wmat *out, bool optional);
int mlops__model_vec(mlops__model *m, const char *name, int layer, int64_t n, const float **out,
                     bool optional);
int mlops__model_hp(mlops__model *m, const char *name, int *out, bool required, int def);
int mlops__bert_load(mlops__model *m);
/** y (T rows of w->rows) = x (T rows of w->n) times w, on the model's pool; xq: scratch. */
void mlops__matmul(mlops__model *m, const float *x, int64_t T, const mlops__wmat *w, float *y,
                   uint8_t *xq);

#endif
