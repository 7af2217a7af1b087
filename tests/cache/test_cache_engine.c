/*
 * The cache's "engine" embedder: a local GGUF model (a tiny llama from mlops_gguf_synth
 * and a tiny BERT encoder written here, both with fixed seeds) loaded by the handle.
 * Exact and semantic hits through the model's vectors (the similarity is the cosine of
 * mlops_engine_embed's vectors), the dimension taken from the model, persisted vectors
 * reused after a restart, config errors naming the key, and threads sharing the model.
 */
#include "test_support.h"

#include "engine/engine.h"
#include "engine/quant.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir, *llama_path, *bert_path;

#define LLAMA_OPTS                                                                          \
    "{\"arch\": \"llama\", \"n_embd\": 64, \"n_layer\": 2, \"n_head\": 4, \"n_head_kv\": 2, " \
    "\"n_ff\": 128, \"n_vocab\": 512, \"n_ctx\": 256, \"seed\": 7}"

/* ------------------------------------------------------------ a tiny BERT ---- */

enum { BE = 32, BH = 4, BF = 64, BL = 2, BCTX = 64 };

static const char *const BERT_WORDS[] = {
    "[PAD]", "[UNK]", "[CLS]", "[SEP]", "how", "do", "i", "reset", "my", "password", "please",
    "what", "is", "the", "weather", "in", "paris", "today", "change", "account", "?", ",",
    "capital", "of", "france", "tell", "me", "a", "joke", "about", "cats", "email",
};
#define BV ((int)(sizeof BERT_WORDS / sizeof BERT_WORDS[0]))

static uint64_t rng;

static float *rnd_tensor(int64_t n, float scale, float base)
{
    float *d = malloc((size_t)n * sizeof *d);
    assert_non_null(d);
    for (int64_t i = 0; i < n; i++) {
        rng = rng * 6364136223846793005ull + 1442695040888963407ull;
        d[i] = base + scale * (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    return d;
}

static char *write_bert(const char *name)
{
    float *owned[64];
    int no = 0;
    rng = 2024;
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    assert_non_null(w);
#define T2(nm, n, rows, s, b)                                                              \
    do {                                                                                   \
        int64_t ne_[2] = {(n), (rows)};                                                    \
        owned[no] = rnd_tensor((int64_t)(n) * (rows), (s), (b));                           \
        assert_ok(mlops__gguf_w_tensor(w, nm, MLOPS__T_F32, (rows) > 1 ? 2 : 1, ne_,       \
                                       owned[no++]));                                      \
    } while (0)
    T2("token_embd.weight", BE, BV, 0.5f, 0);
    T2("position_embd.weight", BE, BCTX, 0.05f, 0);
    T2("token_types.weight", BE, 2, 0.05f, 0);
    T2("token_embd_norm.weight", BE, 1, 0.1f, 1);
    T2("token_embd_norm.bias", BE, 1, 0.1f, 0);
    for (int l = 0; l < BL; l++) {
        static const struct {
            const char *nm;
            int n, rows;
            float s, b;
        } t[] = {
            {"attn_q.weight", BE, BE, 0.2f, 0},         {"attn_k.weight", BE, BE, 0.2f, 0},
            {"attn_v.weight", BE, BE, 0.2f, 0},         {"attn_output.weight", BE, BE, 0.2f, 0},
            {"ffn_up.weight", BE, BF, 0.2f, 0},         {"ffn_down.weight", BF, BE, 0.1f, 0},
            {"attn_q.bias", BE, 1, 0.1f, 0},            {"attn_k.bias", BE, 1, 0.1f, 0},
            {"attn_v.bias", BE, 1, 0.1f, 0},            {"attn_output.bias", BE, 1, 0.1f, 0},
            {"ffn_up.bias", BF, 1, 0.1f, 0},            {"ffn_down.bias", BE, 1, 0.1f, 0},
            {"attn_output_norm.weight", BE, 1, 0.1f, 1}, {"attn_output_norm.bias", BE, 1, 0.1f, 0},
            {"layer_output_norm.weight", BE, 1, 0.1f, 1}, {"layer_output_norm.bias", BE, 1, 0.1f, 0},
        };
        for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
            char n[64];
            snprintf(n, sizeof n, "blk.%d.%s", l, t[i].nm);
            T2(n, t[i].n, t[i].rows, t[i].s, t[i].b);
        }
    }
#undef T2
    mlops__gguf_w_str(w, "general.architecture", "bert");
    mlops__gguf_w_u32(w, "bert.embedding_length", BE);
    mlops__gguf_w_u32(w, "bert.block_count", BL);
    mlops__gguf_w_u32(w, "bert.feed_forward_length", BF);
    mlops__gguf_w_u32(w, "bert.attention.head_count", BH);
    mlops__gguf_w_u32(w, "bert.context_length", BCTX);
    mlops__gguf_w_u32(w, "bert.pooling_type", 1);
    mlops__gguf_w_f32(w, "bert.attention.layer_norm_epsilon", 1e-12f);
    char *toks[BV];
    int32_t ty[BV];
    for (int i = 0; i < BV; i++) {
        toks[i] = malloc(64);
        assert_non_null(toks[i]);
        /* WordPiece words start with U+2581 in GGUF vocabularies; specials do not. */
        snprintf(toks[i], 64, "%s%s", i < 4 ? "" : "\xe2\x96\x81", BERT_WORDS[i]);
        ty[i] = i == 1 ? 2 : i < 4 ? 3 : 1;
    }
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "bert");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, BV);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, BV);
    mlops__gguf_w_u32(w, "tokenizer.ggml.cls_token_id", 2);
    mlops__gguf_w_u32(w, "tokenizer.ggml.seperator_token_id", 3);
    mlops__gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    char *p = test_path(dir, name);
    assert_ok(mlops__gguf_w_write(w, p, NULL, NULL));
    mlops__gguf_writer_free(w);
    for (int i = 0; i < BV; i++)
        free(toks[i]);
    for (int i = 0; i < no; i++)
        free(owned[i]);
    return p;
}

static int setup(void **state)
{
    (void)state;
    dir = test_tmpdir();
    llama_path = test_path(dir, "tiny-llama.gguf");
    assert_ok(mlops_gguf_synth(llama_path, LLAMA_OPTS));
    bert_path = write_bert("tiny-bert.gguf");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(llama_path);
    free(bert_path);
    test_tmpdir_remove(dir);
    return 0;
}

/* ------------------------------------------------------------ helpers -------- */

static char *config(const char *model, double threshold, bool persist, const char *extra)
{
    json_t *c = json_pack("{s:{s:s, s:s, s:{s:i}, s:s, s:f, s:b}}", "cache", "embedder", "engine",
                          "engine_model", model, "engine_options", "threads", 1, "guard", "off",
                          "threshold", threshold, "persist", persist);
    assert_non_null(c);
    if (extra) {
        json_t *x = json_loads(extra, 0, NULL);
        assert_non_null(x);
        json_object_update(json_object_get(c, "cache"), x);
        json_decref(x);
    }
    char *t = json_dumps(c, JSON_COMPACT);
    json_decref(c);
    return t;
}

static char *request(const char *prompt)
{
    json_t *r = json_pack("{s:s}", "prompt", prompt);
    char *t = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return t;
}

static void put(mlops_t *h, const char *prompt, const char *answer)
{
    char *req = request(prompt);
    json_t *a = json_string(answer);
    char *resp = json_dumps(a, JSON_ENCODE_ANY);
    int64_t id = 0;
    assert_ok(mlops_cache_put(h, req, resp, NULL, &id));
    assert_true(id > 0);
    free(req);
    free(resp);
    json_decref(a);
}

/* The hit kind ("exact", "semantic" or "miss") and similarity of a lookup. */
static const char *lookup(mlops_t *h, const char *prompt, double *sim)
{
    static __thread char kind[16];
    char *req = request(prompt), *out = NULL;
    assert_ok(mlops_cache_lookup(h, req, NULL, &out));
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    const json_t *hit = json_object_get(j, "hit");
    snprintf(kind, sizeof kind, "%s", json_is_string(hit) ? json_string_value(hit) : "miss");
    if (sim)
        *sim = json_number_value(json_object_get(j, "similarity"));
    json_decref(j);
    mlops_free(out);
    free(req);
    return kind;
}

static double cosine(const char *model, const char *a, const char *b, size_t *dim)
{
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_model_load(model, "{\"threads\": 1}", &m));
    float va[1024], vb[1024];
    size_t na = 0, nb = 0;
    assert_ok(mlops_engine_embed(m, a, NULL, va, 1024, &na));
    assert_ok(mlops_engine_embed(m, b, NULL, vb, 1024, &nb));
    mlops_engine_model_free(m);
    assert_int_equal(na, nb);
    double s = 0;
    for (size_t i = 0; i < na; i++)
        s += (double)va[i] * vb[i];
    *dim = na;
    return s;
}

static json_t *stats(mlops_t *h)
{
    char *out = NULL;
    assert_ok(mlops_cache_stats(h, &out));
    json_t *j = json_loads(out, 0, NULL);
    mlops_free(out);
    assert_non_null(j);
    return j;
}

/* ------------------------------------------------------------ tests ---------- */

static const char *const Q = "how do i reset my password";
static const char *const NEAR = "how do i reset my password please";
static const char *const FAR = "tell me a joke about cats";

static void semantic_through(const char *model)
{
    size_t dim = 0;
    double near = cosine(model, Q, NEAR, &dim), far = cosine(model, Q, FAR, &dim);
    print_message("%s: dim %zu, cos(near) %.4f, cos(far) %.4f\n", model, dim, near, far);
    assert_true(near > far);
    double threshold = (near + far) / 2;

    test_store ts;
    char *cfg = config(model, threshold, false, NULL);
    test_store_open(&ts, cfg);
    free(cfg);
    json_t *s = stats(ts.h);
    json_t *emb = json_object_get(s, "embedder");
    assert_string_equal(json_string_value(json_object_get(emb, "kind")), "engine");
    assert_int_equal(json_integer_value(json_object_get(emb, "dim")), (json_int_t)dim);
    assert_true(json_is_true(json_object_get(emb, "ready")));
    assert_non_null(strstr(json_string_value(json_object_get(emb, "id")), "engine/"));
    json_decref(s);

    put(ts.h, Q, "Use the 'forgot password' link.");
    double sim = 0;
    assert_string_equal(lookup(ts.h, Q, NULL), "exact");
    assert_string_equal(lookup(ts.h, NEAR, &sim), "semantic");
    /* The cache's vectors are the engine's: the similarity is their cosine. */
    assert_true(fabs(sim - near) < 1e-3);
    assert_string_equal(lookup(ts.h, FAR, NULL), "miss");
    test_store_close(&ts);
}

static void test_llama(void **state)
{
    (void)state;
    semantic_through(llama_path);
}

static void test_bert(void **state)
{
    (void)state;
    semantic_through(bert_path);
}

/* Long prompts are truncated to the model's context rather than refused. */
static void test_long_prompt(void **state)
{
    (void)state;
    test_store ts;
    char *cfg = config(bert_path, 0.9, false, NULL);
    test_store_open(&ts, cfg);
    free(cfg);
    char big[4096] = "";
    for (int i = 0; i < 100; i++)
        strcat(big, "what is the weather in paris today ");
    put(ts.h, big, "sunny");
    assert_string_equal(lookup(ts.h, big, NULL), "exact");
    test_store_close(&ts);
}

/* Persisted vectors carry the engine embedder's id and are reused after a restart. */
static void test_persist(void **state)
{
    (void)state;
    size_t dim;
    double near = cosine(llama_path, Q, NEAR, &dim), far = cosine(llama_path, Q, FAR, &dim);
    char *cfg = config(llama_path, (near + far) / 2, true, NULL);
    char *db = test_path(dir, "persist.db");
    mlops_t *h = NULL;
    assert_ok(mlops_open(db, cfg, &h));
    put(h, Q, "link");
    mlops_close(h);
    h = NULL;
    assert_ok(mlops_open(db, cfg, &h));
    json_t *s = stats(h);
    assert_int_equal(json_integer_value(json_object_get(s, "entries")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(s, "vectors"), "rows")), 1);
    json_decref(s);
    assert_string_equal(lookup(h, NEAR, NULL), "semantic");
    mlops_close(h);
    free(cfg);
    free(db);
}

static void test_config_errors(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    char *cfg = config("/nonexistent/dir/model.gguf", 0.5, false, NULL);
    assert_status(mlops_open(":memory:", cfg, &h), MLOPS_ECONFIG,
                  "config.cache.engine_model '/nonexistent/dir/model.gguf'");
    free(cfg);

    char *junk = test_path(dir, "junk.gguf");
    FILE *f = fopen(junk, "wb");
    assert_non_null(f);
    fputs("this is not a gguf file at all, just text", f);
    fclose(f);
    cfg = config(junk, 0.5, false, NULL);
    assert_status(mlops_open(":memory:", cfg, &h), MLOPS_ECONFIG, "config.cache.engine_model");
    free(cfg);
    free(junk);

    cfg = config(llama_path, 0.5, false, "{\"dim\": 384}");
    assert_status(mlops_open(":memory:", cfg, &h), MLOPS_ECONFIG, "config.cache.dim: 384");
    free(cfg);
    cfg = config(llama_path, 0.5, false, "{\"dim\": 64}"); /* matching: fine */
    assert_ok(mlops_open(":memory:", cfg, &h));
    mlops_close(h);
    h = NULL;
    free(cfg);

    cfg = config(llama_path, 0.5, false, "{\"engine_options\": {\"threds\": 2}}");
    assert_status(mlops_open(":memory:", cfg, &h), MLOPS_ECONFIG,
                  "config.cache.engine_options: unknown key 'threds'");
    free(cfg);
    cfg = config(llama_path, 0.5, false, "{\"engine_options\": {\"kv_type\": \"q4\"}}");
    assert_status(mlops_open(":memory:", cfg, &h), MLOPS_ECONFIG,
                  "config.cache.engine_options.kv_type");
    free(cfg);
    assert_status(mlops_open(":memory:", "{\"cache\": {\"embedder\": \"engine\"}}", &h),
                  MLOPS_ECONFIG, "config.cache.engine_model: required");
    /* A disabled cache does not load the model. */
    cfg = config("/nonexistent/model.gguf", 0.5, false, "{\"enabled\": false}");
    assert_ok(mlops_open(":memory:", cfg, &h));
    mlops_close(h);
    free(cfg);
}

/* Threads share one model: decoders run on per-call contexts from a small free list. */
enum { NTHREADS = 4, PER_THREAD = 6 };

typedef struct worker {
    mlops_t *h;
    int index;
    int failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    static const char *const topics[] = {"weather in paris", "capital of france",
                                         "reset my password", "a joke about cats"};
    for (int i = 0; i < PER_THREAD; i++) {
        char prompt[128], answer[32];
        snprintf(prompt, sizeof prompt, "thread %d asks %d about the %s", w->index, i,
                 topics[(w->index + i) % 4]);
        snprintf(answer, sizeof answer, "a%d.%d", w->index, i);
        char *req = request(prompt);
        int64_t id = 0;
        char resp[48];
        snprintf(resp, sizeof resp, "\"%s\"", answer);
        if (mlops_cache_put(w->h, req, resp, NULL, &id) != MLOPS_OK)
            w->failures++;
        char *out = NULL;
        if (mlops_cache_lookup(w->h, req, NULL, &out) != MLOPS_OK || !strstr(out, "\"exact\""))
            w->failures++;
        mlops_free(out);
        free(req);
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    test_store ts;
    char *cfg = config(llama_path, 0.99, false, NULL);
    test_store_open(&ts, cfg);
    free(cfg);
    pthread_t t[NTHREADS];
    worker w[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        w[i] = (worker){ts.h, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].failures, 0);
    }
    json_t *s = stats(ts.h);
    assert_int_equal(json_integer_value(json_object_get(s, "entries")), NTHREADS * PER_THREAD);
    json_decref(s);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_llama),         cmocka_unit_test(test_bert),
        cmocka_unit_test(test_long_prompt),   cmocka_unit_test(test_persist),
        cmocka_unit_test(test_config_errors), cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
