/* Shared by the model tests: synthetic models and all-position logits through the engine. */
#ifndef MLOPS_TEST_MODEL_HELPERS_H
#define MLOPS_TEST_MODEL_HELPERS_H

#include "test_support.h"

#include "engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static inline char *synth(const char *name, const char *opts)
{
    char *p = test_path(dir, name);
    assert_ok(mlops_gguf_synth(p, opts));
    return p;
}

static const char *const LLAMA MLOPS__UNUSED = "{\"arch\": \"llama\", \"n_embd\": 256, \"n_layer\": 2, \"n_head\": 4, "
                           "\"n_head_kv\": 2, \"n_ff\": 512, \"n_vocab\": 512, \"n_ctx\": 64, \"seed\": 5}";
static const char *const QWEN MLOPS__UNUSED = "{\"arch\": \"qwen2\", \"n_embd\": 256, \"n_layer\": 2, \"n_head\": 8, "
                          "\"n_head_kv\": 2, \"n_ff\": 512, \"n_vocab\": 512, \"n_ctx\": 64, \"seed\": 9, "
                          "\"vocab\": \"bpe\", \"tied\": true}";

static const int32_t TOKS[] = {1, 300, 17, 42, 99, 311, 7, 250, 123, 64, 5, 400};
#define NT ((int)(sizeof TOKS / sizeof TOKS[0]))

static inline mlops__model *load(const char *path, int threads, bool kv_f32)
{
    mlops__model_opts o = {threads, 64, kv_f32, 0};
    mlops__model *m = NULL;
    assert_ok(mlops__model_load(path, &o, &m));
    return m;
}

/* All-position logits of TOKS through the engine. */
static inline float *engine_logits(mlops__model *m, bool batch)
{
    int V = mlops__model_n_vocab(m);
    float *out = malloc(sizeof(float) * (size_t)(NT * V));
    mlops__ctx *c;
    assert_ok(mlops__ctx_new(m, &c));
    if (batch) {
        assert_ok(mlops__ctx_eval(c, TOKS, NT, true));
        memcpy(out, mlops__ctx_logits(c, NULL), sizeof(float) * (size_t)(NT * V));
    } else {
        for (int t = 0; t < NT; t++) {
            assert_ok(mlops__ctx_eval(c, &TOKS[t], 1, false));
            memcpy(out + (size_t)t * V, mlops__ctx_logits(c, NULL), sizeof(float) * (size_t)V);
        }
    }
    mlops__ctx_free(c);
    return out;
}

#endif
