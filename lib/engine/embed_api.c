/*
 * Text embeddings: tokenize, run the model, pool, L2-normalise. bert encoders pool as
 * the file says (bert.pooling_type: mean or [CLS]); llama/qwen2 decoders give the mean
 * of the final (RMS-normalised) hidden state over the tokens.
 *
 * mlops__text_embedder serves callers that embed often from several threads (the
 * cache's "engine" embedder): it owns one model, and for decoders keeps a few idle
 * contexts (their KV cache is the costly part) so a call reuses one instead of
 * allocating n_ctx positions of cache each time. A model's thread pool serialises
 * concurrent runs, so threads share the model safely; each holds its own context.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define IDLE_MAX 8

struct mlops__text_embedder {
    mlops__model *m;
    mlops__mutex lock; /* guards idle[] */
    mlops__ctx *idle[IDLE_MAX];
    int n_idle;
};

int mlops__embed_text(mlops__model *m, mlops__ctx *ctx, const char *text, bool normalize,
                      bool truncate, float *out, size_t cap)
{
    size_t ne = (size_t)mlops__model_n_embd(m);
    if (ne == 0 || (!m->bert && !m->layers))
        return mlops__error(MLOPS_EINVAL, "embed: the model was loaded vocab_only");
    if (cap < ne || !out)
        return mlops__error(MLOPS_ELIMIT, "embed: %zu values do not fit in cap %zu", ne, cap);
    int32_t *ids = NULL;
    size_t n = 0, idcap = 0;
    int rc = mlops__tokenize(mlops__model_vocab(m), text, strlen(text), true, false, &ids, &n,
                             &idcap);
    size_t n_ctx = (size_t)mlops__model_n_ctx(m);
    if (m->bert && n_ctx > (size_t)m->n_ctx_train) /* positions the file has */
        n_ctx = (size_t)m->n_ctx_train;
    mlops__ctx *own = NULL;
    if (rc != MLOPS_OK)
        goto out;
    if (n == 0) {
        rc = mlops__error(MLOPS_EINVAL, "embed: the text has no tokens");
        goto out;
    }
    if (n > n_ctx) {
        if (!truncate) {
            rc = mlops__error(MLOPS_ELIMIT, "embed: %zu tokens exceed the context of %zu", n, n_ctx);
            goto out;
        }
        if (m->bert) /* keep the closing [SEP] */
            ids[n_ctx - 1] = ids[n - 1];
        n = n_ctx;
    }
    if (m->bert) {
        rc = mlops__bert_embed(m, ids, n, out);
    } else {
        if (!ctx && (rc = mlops__ctx_new(m, &own)) != MLOPS_OK)
            goto out;
        mlops__ctx *c = ctx ? ctx : own;
        mlops__ctx_reset(c);
        if ((rc = mlops__ctx_eval(c, ids, n, false)) == MLOPS_OK)
            memcpy(out, mlops__ctx_embedding(c), ne * sizeof *out);
    }
    if (rc == MLOPS_OK && normalize) {
        double ss = 0;
        for (size_t i = 0; i < ne; i++)
            ss += (double)out[i] * out[i];
        if (ss > 0)
            for (size_t i = 0; i < ne; i++)
                out[i] = (float)(out[i] / sqrt(ss));
    }
out:
    mlops__ctx_free(own);
    free(ids);
    return rc;
}

int mlops__text_embedder_open(const char *path, const mlops__model_opts *o,
                              mlops__text_embedder **out)
{
    *out = NULL;
    mlops__text_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return mlops__error_oom("text embedder");
    mlops__model_opts mo = *o;
    mo.vocab_only = 0;
    int rc = mlops__model_load(path, &mo, &e->m);
    if (rc != MLOPS_OK) {
        free(e);
        return rc;
    }
    mlops__mutex_init(&e->lock);
    *out = e;
    return MLOPS_OK;
}

void mlops__text_embedder_free(mlops__text_embedder *e)
{
    if (!e)
        return;
    for (int i = 0; i < e->n_idle; i++)
        mlops__ctx_free(e->idle[i]);
    mlops__mutex_destroy(&e->lock);
    mlops__model_free(e->m);
    free(e);
}

mlops__model *mlops__text_embedder_model(const mlops__text_embedder *e)
{
    return e->m;
}

int mlops__text_embed(mlops__text_embedder *e, const char *text, float *out, size_t cap)
{
    mlops__ctx *c = NULL;
    int rc;
    if (!e->m->bert) {
        mlops__mutex_lock(&e->lock);
        if (e->n_idle > 0)
            c = e->idle[--e->n_idle];
        mlops__mutex_unlock(&e->lock);
        if (!c && (rc = mlops__ctx_new(e->m, &c)) != MLOPS_OK)
            return rc;
    }
    rc = mlops__embed_text(e->m, c, text, true, true, out, cap);
    if (c) {
        mlops__mutex_lock(&e->lock);
        if (e->n_idle < IDLE_MAX) {
            e->idle[e->n_idle++] = c;
            c = NULL;
        }
        mlops__mutex_unlock(&e->lock);
        mlops__ctx_free(c);
    }
    return rc;
}
