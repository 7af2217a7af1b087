/*
 * Every public function with NULL in each pointer argument in turn, on a freshly opened
 * :memory: store (and on a tiny synthesized engine model): nothing may crash. A NULL in
 * a required argument must give a negative status with a non-empty mlops_last_error();
 * a NULL the header documents as allowed, an empty string or an extreme number (-1,
 * INT64_MAX, 0, NaN...) may succeed, and a failure still needs a message. The free/close functions accept NULL as a no-op.
 *
 * The calls below follow include/mlops/ *.h in order; when a public function is added,
 * add its lines here.
 */
#include "test_support.h"

#include "core/core.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REQ_JSON "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

typedef struct paths {
    char *dir;
    char *model;
    char *out;
    char *missing;
} paths;

typedef struct fixture {
    paths p;
    mlops_t *h;
    mlops_engine_model_t *model;
    mlops_engine_session_t *session;
} fixture;

static int cb_embed(const char *text, float *out, size_t dim, void *user_data)
{
    (void)text;
    (void)user_data;
    for (size_t i = 0; i < dim; i++)
        out[i] = (float)(i + 1);
    return 0;
}

static int cb_guard(const char *query_prompt, const char *cached_prompt, void *user_data)
{
    (void)query_prompt;
    (void)cached_prompt;
    (void)user_data;
    return 0;
}

static void cb_log(int level, const char *message, void *user_data)
{
    (void)level;
    (void)message;
    (void)user_data;
}

static int cb_token(const char *piece, void *user_data)
{
    (void)piece;
    (void)user_data;
    return 0;
}

static int cb_chunk(const char *chunk_json, void *user_data)
{
    (void)chunk_json;
    (void)user_data;
    return 0;
}

/* Per-call scratch: everything an out-parameter may receive, released after each call. */
typedef struct scratch {
    char *s;
    int64_t i64;
    size_t sz;
    int32_t ibuf[4096];
    float fbuf[4096];
    mlops_t *h2;
    mlops_engine_model_t *model2;
    mlops_engine_session_t *session2;
} scratch;

static scratch X;
/* Checks that went wrong in the current test (all are reported, then the test fails). */
static int failures;

static void scratch_release(void)
{
    mlops_free(X.s);
    X.s = NULL;
    mlops_engine_session_free(X.session2);
    X.session2 = NULL;
    mlops_engine_model_free(X.model2);
    X.model2 = NULL;
    mlops_close(X.h2);
    X.h2 = NULL;
}

static void clear_error(void)
{
    mlops__error(MLOPS_OK, "%s", "");
}

/* A NULL in a required argument: negative status and a message. */
static void check_fails(const char *fn, const char *arg, int rc)
{
    const char *msg = mlops_last_error();
    if (rc >= 0 || msg == NULL || msg[0] == '\0') {
        print_error("%s with %s NULL returned %d, error \"%s\"\n", fn, arg, rc, msg ? msg : "(null)");
        failures++;
    }
    scratch_release();
}

/* Any outcome but a crash; a failure must say why. */
static void check_any(const char *fn, const char *arg, int rc)
{
    const char *msg = mlops_last_error();
    if (rc < 0 && (msg == NULL || msg[0] == '\0')) {
        print_error("%s (%s) returned %d with no error text\n", fn, arg, rc);
        failures++;
    }
    scratch_release();
}

#define CALL_FAILS(fn, arg, call)                                                          \
    do {                                                                                   \
        clear_error();                                                                     \
        check_fails(fn, arg, (call));                                                      \
    } while (0)
#define CALL_ANY(fn, arg, call)                                                            \
    do {                                                                                   \
        clear_error();                                                                     \
        check_any(fn, arg, (call));                                                        \
    } while (0)

#define FIXTURE_LOCALS(F)                                                                  \
    mlops_t *h = (F)->h;                                                                   \
    mlops_engine_model_t *model = (F)->model;                                              \
    mlops_engine_session_t *session = (F)->session;                                        \
    paths P = (F)->p;                                                                      \
    const int32_t toks[2] = {1, 2};                                                        \
    (void)h;                                                                               \
    (void)model;                                                                           \
    (void)session;                                                                         \
    (void)P;                                                                               \
    (void)toks

static int setup(void **state)
{
    fixture *F = calloc(1, sizeof *F);
    assert_non_null(F);
    F->p.dir = test_tmpdir();
    F->p.model = test_path(F->p.dir, "tiny.gguf");
    F->p.out = test_path(F->p.dir, "out.bin");
    F->p.missing = test_path(F->p.dir, "missing.jsonl");
    assert_ok(mlops_gguf_synth(F->p.model, "{\"n_embd\": 32, \"n_layer\": 1, \"n_head\": 2, "
                                           "\"n_head_kv\": 1, \"n_ff\": 64, \"n_vocab\": 512, "
                                           "\"n_ctx\": 64}"));
    assert_ok(mlops_engine_model_load(F->p.model, NULL, &F->model));
    assert_ok(mlops_engine_session_new(F->model, NULL, &F->session));
    assert_ok(mlops_open(":memory:", NULL, &F->h));
    *state = F;
    return 0;
}

static int teardown(void **state)
{
    fixture *F = *state;
    scratch_release();
    mlops_close(F->h);
    mlops_engine_session_free(F->session);
    mlops_engine_model_free(F->model);
    free(F->p.model);
    free(F->p.out);
    free(F->p.missing);
    test_tmpdir_remove(F->p.dir);
    free(F);
    return 0;
}

static void null_args_cache(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_cache_lookup */
    CALL_ANY("mlops_cache_lookup", "valid", mlops_cache_lookup(h, REQ_JSON, NULL, &X.s));
    CALL_FAILS("mlops_cache_lookup", "h", mlops_cache_lookup(NULL, REQ_JSON, NULL, &X.s));
    CALL_FAILS("mlops_cache_lookup", "request_json", mlops_cache_lookup(h, NULL, NULL, &X.s));
    CALL_FAILS("mlops_cache_lookup", "out", mlops_cache_lookup(h, REQ_JSON, NULL, NULL));
    CALL_ANY("mlops_cache_lookup", "request_json empty", mlops_cache_lookup(h, "", NULL, &X.s));
    /* mlops_cache_put */
    CALL_ANY("mlops_cache_put", "valid", mlops_cache_put(h, REQ_JSON, "{}", NULL, &X.i64));
    CALL_FAILS("mlops_cache_put", "h", mlops_cache_put(NULL, REQ_JSON, "{}", NULL, &X.i64));
    CALL_FAILS("mlops_cache_put", "request_json", mlops_cache_put(h, NULL, "{}", NULL, &X.i64));
    CALL_FAILS("mlops_cache_put", "response_json", mlops_cache_put(h, REQ_JSON, NULL, NULL, &X.i64));
    CALL_ANY("mlops_cache_put", "out_entry_id", mlops_cache_put(h, REQ_JSON, "{}", NULL, NULL));
    CALL_ANY("mlops_cache_put", "request_json empty", mlops_cache_put(h, "", "{}", NULL, &X.i64));
    CALL_ANY("mlops_cache_put", "response_json empty", mlops_cache_put(h, REQ_JSON, "", NULL, &X.i64));
    /* mlops_cache_feedback */
    CALL_ANY("mlops_cache_feedback", "valid", mlops_cache_feedback(h, 1, "{\"verdict\":\"right\"}"));
    CALL_FAILS("mlops_cache_feedback", "h", mlops_cache_feedback(NULL, 1, "{\"verdict\":\"right\"}"));
    CALL_FAILS("mlops_cache_feedback", "feedback_json", mlops_cache_feedback(h, 1, NULL));
    CALL_ANY("mlops_cache_feedback", "feedback_json empty", mlops_cache_feedback(h, 1, ""));
    CALL_ANY("mlops_cache_feedback", "entry_id -1", mlops_cache_feedback(h, -1, "{\"verdict\":\"right\"}"));
    CALL_ANY("mlops_cache_feedback", "entry_id INT64_MIN", mlops_cache_feedback(h, INT64_MIN, "{\"verdict\":\"right\"}"));
    CALL_ANY("mlops_cache_feedback", "entry_id INT64_MAX", mlops_cache_feedback(h, INT64_MAX, "{\"verdict\":\"right\"}"));
    CALL_ANY("mlops_cache_feedback", "entry_id 0", mlops_cache_feedback(h, 0, "{\"verdict\":\"right\"}"));
    /* mlops_cache_invalidate */
    CALL_ANY("mlops_cache_invalidate", "valid", mlops_cache_invalidate(h, "{\"namespace\":\"x\"}", &X.i64));
    CALL_FAILS("mlops_cache_invalidate", "h", mlops_cache_invalidate(NULL, "{\"namespace\":\"x\"}", &X.i64));
    CALL_FAILS("mlops_cache_invalidate", "selector_json", mlops_cache_invalidate(h, NULL, &X.i64));
    CALL_ANY("mlops_cache_invalidate", "out_count", mlops_cache_invalidate(h, "{\"namespace\":\"x\"}", NULL));
    CALL_ANY("mlops_cache_invalidate", "selector_json empty", mlops_cache_invalidate(h, "", &X.i64));
    /* mlops_cache_stats */
    CALL_ANY("mlops_cache_stats", "valid", mlops_cache_stats(h, &X.s));
    CALL_FAILS("mlops_cache_stats", "h", mlops_cache_stats(NULL, &X.s));
    CALL_FAILS("mlops_cache_stats", "out", mlops_cache_stats(h, NULL));
    /* mlops_cache_flush */
    CALL_ANY("mlops_cache_flush", "valid", mlops_cache_flush(h));
    CALL_FAILS("mlops_cache_flush", "h", mlops_cache_flush(NULL));
    /* mlops_cache_set_embedder */
    CALL_ANY("mlops_cache_set_embedder", "valid", mlops_cache_set_embedder(h, "m", 8, cb_embed, NULL));
    CALL_FAILS("mlops_cache_set_embedder", "h", mlops_cache_set_embedder(NULL, "m", 8, cb_embed, NULL));
    CALL_FAILS("mlops_cache_set_embedder", "name", mlops_cache_set_embedder(h, NULL, 8, cb_embed, NULL));
    CALL_ANY("mlops_cache_set_embedder", "fn", mlops_cache_set_embedder(h, "m", 8, NULL, NULL));
    CALL_ANY("mlops_cache_set_embedder", "name empty", mlops_cache_set_embedder(h, "", 8, cb_embed, NULL));
    CALL_ANY("mlops_cache_set_embedder", "dim 0", mlops_cache_set_embedder(h, "m", 0, cb_embed, NULL));
    /* mlops_cache_set_guard */
    CALL_ANY("mlops_cache_set_guard", "valid", mlops_cache_set_guard(h, cb_guard, NULL));
    CALL_FAILS("mlops_cache_set_guard", "h", mlops_cache_set_guard(NULL, cb_guard, NULL));
    CALL_ANY("mlops_cache_set_guard", "fn", mlops_cache_set_guard(h, NULL, NULL));
    assert_int_equal(failures, 0);
}

static void null_args_core(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_version_number */
    CALL_ANY("mlops_version_number", "valid", mlops_version_number());
    /* mlops_open */
    CALL_ANY("mlops_open", "valid", mlops_open(":memory:", "{}", &X.h2));
    CALL_FAILS("mlops_open", "path", mlops_open(NULL, "{}", &X.h2));
    CALL_ANY("mlops_open", "config_json", mlops_open(":memory:", NULL, &X.h2));
    CALL_FAILS("mlops_open", "out", mlops_open(":memory:", "{}", NULL));
    CALL_ANY("mlops_open", "path empty", mlops_open("", "{}", &X.h2));
    CALL_ANY("mlops_open", "config_json empty", mlops_open(":memory:", "", &X.h2));
    mlops_close(NULL); /* documented no-op */
    mlops_free(NULL); /* documented no-op */
    /* mlops_set_log_callback */
    CALL_ANY("mlops_set_log_callback", "valid", mlops_set_log_callback(h, cb_log, NULL));
    CALL_FAILS("mlops_set_log_callback", "h", mlops_set_log_callback(NULL, cb_log, NULL));
    CALL_ANY("mlops_set_log_callback", "fn", mlops_set_log_callback(h, NULL, NULL));
    /* mlops_info */
    CALL_ANY("mlops_info", "valid", mlops_info(h, &X.s));
    CALL_FAILS("mlops_info", "h", mlops_info(NULL, &X.s));
    CALL_FAILS("mlops_info", "out", mlops_info(h, NULL));
    assert_int_equal(failures, 0);
}

static void null_args_engine(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_engine_model_load */
    CALL_ANY("mlops_engine_model_load", "valid", mlops_engine_model_load(P.model, NULL, &X.model2));
    CALL_FAILS("mlops_engine_model_load", "path", mlops_engine_model_load(NULL, NULL, &X.model2));
    CALL_FAILS("mlops_engine_model_load", "out", mlops_engine_model_load(P.model, NULL, NULL));
    CALL_ANY("mlops_engine_model_load", "path empty", mlops_engine_model_load("", NULL, &X.model2));
    /* mlops_engine_load */
    CALL_ANY("mlops_engine_load", "valid", mlops_engine_load(h, P.model, NULL, &X.model2));
    CALL_FAILS("mlops_engine_load", "h", mlops_engine_load(NULL, P.model, NULL, &X.model2));
    CALL_FAILS("mlops_engine_load", "path", mlops_engine_load(h, NULL, NULL, &X.model2));
    CALL_FAILS("mlops_engine_load", "out", mlops_engine_load(h, P.model, NULL, NULL));
    CALL_ANY("mlops_engine_load", "path empty", mlops_engine_load(h, "", NULL, &X.model2));
    mlops_engine_model_free(NULL); /* documented no-op */
    /* mlops_engine_model_info */
    CALL_ANY("mlops_engine_model_info", "valid", mlops_engine_model_info(model, &X.s));
    CALL_FAILS("mlops_engine_model_info", "model", mlops_engine_model_info(NULL, &X.s));
    CALL_FAILS("mlops_engine_model_info", "out", mlops_engine_model_info(model, NULL));
    /* mlops_engine_session_new */
    CALL_ANY("mlops_engine_session_new", "valid", mlops_engine_session_new(model, NULL, &X.session2));
    CALL_FAILS("mlops_engine_session_new", "model", mlops_engine_session_new(NULL, NULL, &X.session2));
    CALL_FAILS("mlops_engine_session_new", "out", mlops_engine_session_new(model, NULL, NULL));
    mlops_engine_session_free(NULL); /* documented no-op */
    /* mlops_engine_session_reset */
    CALL_ANY("mlops_engine_session_reset", "valid", mlops_engine_session_reset(session));
    CALL_FAILS("mlops_engine_session_reset", "session", mlops_engine_session_reset(NULL));
    /* mlops_engine_tokenize */
    CALL_ANY("mlops_engine_tokenize", "valid", mlops_engine_tokenize(model, "hello", NULL, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_tokenize", "model", mlops_engine_tokenize(NULL, "hello", NULL, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_tokenize", "text", mlops_engine_tokenize(model, NULL, NULL, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_tokenize", "out", mlops_engine_tokenize(model, "hello", NULL, NULL, 8, &X.sz));
    CALL_FAILS("mlops_engine_tokenize", "out_n", mlops_engine_tokenize(model, "hello", NULL, X.ibuf, 8, NULL));
    CALL_ANY("mlops_engine_tokenize", "text empty", mlops_engine_tokenize(model, "", NULL, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_engine_tokenize", "cap 0", mlops_engine_tokenize(model, "hello", NULL, X.ibuf, 0, &X.sz));
    /* mlops_engine_detokenize */
    CALL_ANY("mlops_engine_detokenize", "valid", mlops_engine_detokenize(model, toks, 2, NULL, &X.s));
    CALL_FAILS("mlops_engine_detokenize", "model", mlops_engine_detokenize(NULL, toks, 2, NULL, &X.s));
    CALL_FAILS("mlops_engine_detokenize", "v", mlops_engine_detokenize(model, NULL, 2, NULL, &X.s));
    CALL_FAILS("mlops_engine_detokenize", "out", mlops_engine_detokenize(model, toks, 2, NULL, NULL));
    CALL_ANY("mlops_engine_detokenize", "n 0", mlops_engine_detokenize(model, toks, 0, NULL, &X.s));
    /* mlops_engine_generate */
    CALL_ANY("mlops_engine_generate", "valid", mlops_engine_generate(session, "hi", NULL, cb_token, NULL, &X.s));
    CALL_FAILS("mlops_engine_generate", "session", mlops_engine_generate(NULL, "hi", NULL, cb_token, NULL, &X.s));
    CALL_ANY("mlops_engine_generate", "prompt", mlops_engine_generate(session, NULL, NULL, cb_token, NULL, &X.s));
    CALL_ANY("mlops_engine_generate", "fn", mlops_engine_generate(session, "hi", NULL, NULL, NULL, &X.s));
    CALL_ANY("mlops_engine_generate", "out_json", mlops_engine_generate(session, "hi", NULL, cb_token, NULL, NULL));
    CALL_ANY("mlops_engine_generate", "prompt empty", mlops_engine_generate(session, "", NULL, cb_token, NULL, &X.s));
    /* mlops_engine_logits */
    CALL_ANY("mlops_engine_logits", "valid", mlops_engine_logits(session, toks, 2, NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_logits", "session", mlops_engine_logits(NULL, toks, 2, NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_logits", "v", mlops_engine_logits(session, NULL, 2, NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_logits", "out", mlops_engine_logits(session, toks, 2, NULL, NULL, 8, &X.sz));
    CALL_FAILS("mlops_engine_logits", "out_n", mlops_engine_logits(session, toks, 2, NULL, X.fbuf, 8, NULL));
    CALL_ANY("mlops_engine_logits", "n 0", mlops_engine_logits(session, toks, 0, NULL, X.fbuf, 8, &X.sz));
    CALL_ANY("mlops_engine_logits", "cap 0", mlops_engine_logits(session, toks, 2, NULL, X.fbuf, 0, &X.sz));
    /* mlops_engine_embed */
    CALL_ANY("mlops_engine_embed", "valid", mlops_engine_embed(model, "hello", NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_embed", "model", mlops_engine_embed(NULL, "hello", NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_embed", "text", mlops_engine_embed(model, NULL, NULL, X.fbuf, 8, &X.sz));
    CALL_FAILS("mlops_engine_embed", "out", mlops_engine_embed(model, "hello", NULL, NULL, 8, &X.sz));
    CALL_FAILS("mlops_engine_embed", "out_n", mlops_engine_embed(model, "hello", NULL, X.fbuf, 8, NULL));
    CALL_ANY("mlops_engine_embed", "text empty", mlops_engine_embed(model, "", NULL, X.fbuf, 8, &X.sz));
    CALL_ANY("mlops_engine_embed", "cap 0", mlops_engine_embed(model, "hello", NULL, X.fbuf, 0, &X.sz));
    /* mlops_gguf_synth */
    CALL_ANY("mlops_gguf_synth", "valid", mlops_gguf_synth(P.out, NULL));
    CALL_FAILS("mlops_gguf_synth", "path", mlops_gguf_synth(NULL, NULL));
    CALL_ANY("mlops_gguf_synth", "path empty", mlops_gguf_synth("", NULL));
    /* mlops_gguf_quantize */
    CALL_ANY("mlops_gguf_quantize", "valid", mlops_gguf_quantize(P.model, P.out, "Q8_0"));
    CALL_FAILS("mlops_gguf_quantize", "in", mlops_gguf_quantize(NULL, P.out, "Q8_0"));
    CALL_FAILS("mlops_gguf_quantize", "out", mlops_gguf_quantize(P.model, NULL, "Q8_0"));
    CALL_FAILS("mlops_gguf_quantize", "type", mlops_gguf_quantize(P.model, P.out, NULL));
    CALL_ANY("mlops_gguf_quantize", "in empty", mlops_gguf_quantize("", P.out, "Q8_0"));
    CALL_ANY("mlops_gguf_quantize", "out empty", mlops_gguf_quantize(P.model, "", "Q8_0"));
    CALL_ANY("mlops_gguf_quantize", "type empty", mlops_gguf_quantize(P.model, P.out, ""));
    /* mlops_gguf_info */
    CALL_ANY("mlops_gguf_info", "valid", mlops_gguf_info(P.model, &X.s));
    CALL_FAILS("mlops_gguf_info", "path", mlops_gguf_info(NULL, &X.s));
    CALL_FAILS("mlops_gguf_info", "out", mlops_gguf_info(P.model, NULL));
    CALL_ANY("mlops_gguf_info", "path empty", mlops_gguf_info("", &X.s));
    assert_int_equal(failures, 0);
}

static void null_args_gateway(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_gateway_configure */
    CALL_ANY("mlops_gateway_configure", "valid", mlops_gateway_configure(h, "{}"));
    CALL_FAILS("mlops_gateway_configure", "h", mlops_gateway_configure(NULL, "{}"));
    CALL_FAILS("mlops_gateway_configure", "config_json", mlops_gateway_configure(h, NULL));
    CALL_ANY("mlops_gateway_configure", "config_json empty", mlops_gateway_configure(h, ""));
    /* mlops_gateway_load */
    CALL_ANY("mlops_gateway_load", "valid", mlops_gateway_load(h, P.missing));
    CALL_FAILS("mlops_gateway_load", "h", mlops_gateway_load(NULL, P.missing));
    CALL_FAILS("mlops_gateway_load", "path", mlops_gateway_load(h, NULL));
    CALL_ANY("mlops_gateway_load", "path empty", mlops_gateway_load(h, ""));
    /* mlops_chat */
    CALL_ANY("mlops_chat", "valid", mlops_chat(h, REQ_JSON, &X.s));
    CALL_FAILS("mlops_chat", "h", mlops_chat(NULL, REQ_JSON, &X.s));
    CALL_FAILS("mlops_chat", "request_json", mlops_chat(h, NULL, &X.s));
    CALL_ANY("mlops_chat", "out", mlops_chat(h, REQ_JSON, NULL));
    CALL_ANY("mlops_chat", "request_json empty", mlops_chat(h, "", &X.s));
    /* mlops_chat_stream */
    CALL_ANY("mlops_chat_stream", "valid", mlops_chat_stream(h, REQ_JSON, cb_chunk, NULL, &X.s));
    CALL_FAILS("mlops_chat_stream", "h", mlops_chat_stream(NULL, REQ_JSON, cb_chunk, NULL, &X.s));
    CALL_FAILS("mlops_chat_stream", "request_json", mlops_chat_stream(h, NULL, cb_chunk, NULL, &X.s));
    CALL_FAILS("mlops_chat_stream", "fn", mlops_chat_stream(h, REQ_JSON, NULL, NULL, &X.s));
    CALL_FAILS("mlops_chat_stream", "out_final_json", mlops_chat_stream(h, REQ_JSON, cb_chunk, NULL, NULL));
    CALL_ANY("mlops_chat_stream", "request_json empty", mlops_chat_stream(h, "", cb_chunk, NULL, &X.s));
    /* mlops_gateway_status */
    CALL_ANY("mlops_gateway_status", "valid", mlops_gateway_status(h, &X.s));
    CALL_FAILS("mlops_gateway_status", "h", mlops_gateway_status(NULL, &X.s));
    CALL_FAILS("mlops_gateway_status", "out", mlops_gateway_status(h, NULL));
    assert_int_equal(failures, 0);
}

static void null_args_guard(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_guard_check */
    CALL_ANY("mlops_guard_check", "valid", mlops_guard_check(h, "{}", "input", "hello", "ctx", &X.s));
    CALL_FAILS("mlops_guard_check", "h", mlops_guard_check(NULL, "{}", "input", "hello", "ctx", &X.s));
    CALL_ANY("mlops_guard_check", "policy_json", mlops_guard_check(h, NULL, "input", "hello", "ctx", &X.s));
    CALL_FAILS("mlops_guard_check", "stage", mlops_guard_check(h, "{}", NULL, "hello", "ctx", &X.s));
    CALL_FAILS("mlops_guard_check", "text", mlops_guard_check(h, "{}", "input", NULL, "ctx", &X.s));
    CALL_ANY("mlops_guard_check", "context", mlops_guard_check(h, "{}", "input", "hello", NULL, &X.s));
    CALL_FAILS("mlops_guard_check", "out_report_json", mlops_guard_check(h, "{}", "input", "hello", "ctx", NULL));
    CALL_ANY("mlops_guard_check", "policy_json empty", mlops_guard_check(h, "", "input", "hello", "ctx", &X.s));
    CALL_ANY("mlops_guard_check", "stage empty", mlops_guard_check(h, "{}", "", "hello", "ctx", &X.s));
    CALL_ANY("mlops_guard_check", "text empty", mlops_guard_check(h, "{}", "input", "", "ctx", &X.s));
    CALL_ANY("mlops_guard_check", "context empty", mlops_guard_check(h, "{}", "input", "hello", "", &X.s));
    /* mlops_guard_policy_put */
    CALL_ANY("mlops_guard_policy_put", "valid", mlops_guard_policy_put(h, "m", "{}"));
    CALL_FAILS("mlops_guard_policy_put", "h", mlops_guard_policy_put(NULL, "m", "{}"));
    CALL_FAILS("mlops_guard_policy_put", "name", mlops_guard_policy_put(h, NULL, "{}"));
    CALL_FAILS("mlops_guard_policy_put", "policy_json", mlops_guard_policy_put(h, "m", NULL));
    CALL_ANY("mlops_guard_policy_put", "name empty", mlops_guard_policy_put(h, "", "{}"));
    CALL_ANY("mlops_guard_policy_put", "policy_json empty", mlops_guard_policy_put(h, "m", ""));
    /* mlops_guard_policy_get */
    CALL_ANY("mlops_guard_policy_get", "valid", mlops_guard_policy_get(h, "m", &X.s));
    CALL_FAILS("mlops_guard_policy_get", "h", mlops_guard_policy_get(NULL, "m", &X.s));
    CALL_ANY("mlops_guard_policy_get", "name", mlops_guard_policy_get(h, NULL, &X.s));
    CALL_FAILS("mlops_guard_policy_get", "out_json", mlops_guard_policy_get(h, "m", NULL));
    CALL_ANY("mlops_guard_policy_get", "name empty", mlops_guard_policy_get(h, "", &X.s));
    /* mlops_guard_policy_list */
    CALL_ANY("mlops_guard_policy_list", "valid", mlops_guard_policy_list(h, &X.s));
    CALL_FAILS("mlops_guard_policy_list", "h", mlops_guard_policy_list(NULL, &X.s));
    CALL_FAILS("mlops_guard_policy_list", "out_json", mlops_guard_policy_list(h, NULL));
    /* mlops_guard_policy_delete */
    CALL_ANY("mlops_guard_policy_delete", "valid", mlops_guard_policy_delete(h, "m"));
    CALL_FAILS("mlops_guard_policy_delete", "h", mlops_guard_policy_delete(NULL, "m"));
    CALL_FAILS("mlops_guard_policy_delete", "name", mlops_guard_policy_delete(h, NULL));
    CALL_ANY("mlops_guard_policy_delete", "name empty", mlops_guard_policy_delete(h, ""));
    /* mlops_guard_deanonymize */
    CALL_ANY("mlops_guard_deanonymize", "valid", mlops_guard_deanonymize(h, "default", "hello", &X.s));
    CALL_FAILS("mlops_guard_deanonymize", "h", mlops_guard_deanonymize(NULL, "default", "hello", &X.s));
    CALL_FAILS("mlops_guard_deanonymize", "vault", mlops_guard_deanonymize(h, NULL, "hello", &X.s));
    CALL_FAILS("mlops_guard_deanonymize", "text", mlops_guard_deanonymize(h, "default", NULL, &X.s));
    CALL_FAILS("mlops_guard_deanonymize", "out", mlops_guard_deanonymize(h, "default", "hello", NULL));
    CALL_ANY("mlops_guard_deanonymize", "vault empty", mlops_guard_deanonymize(h, "", "hello", &X.s));
    CALL_ANY("mlops_guard_deanonymize", "text empty", mlops_guard_deanonymize(h, "default", "", &X.s));
    /* mlops_guard_train */
    CALL_ANY("mlops_guard_train", "valid", mlops_guard_train(h, "injection", P.missing, P.out, &X.s));
    CALL_FAILS("mlops_guard_train", "h", mlops_guard_train(NULL, "injection", P.missing, P.out, &X.s));
    CALL_FAILS("mlops_guard_train", "kind", mlops_guard_train(h, NULL, P.missing, P.out, &X.s));
    CALL_FAILS("mlops_guard_train", "data_jsonl_path", mlops_guard_train(h, "injection", NULL, P.out, &X.s));
    CALL_FAILS("mlops_guard_train", "out_model_path", mlops_guard_train(h, "injection", P.missing, NULL, &X.s));
    CALL_FAILS("mlops_guard_train", "out_report_json", mlops_guard_train(h, "injection", P.missing, P.out, NULL));
    CALL_ANY("mlops_guard_train", "kind empty", mlops_guard_train(h, "", P.missing, P.out, &X.s));
    CALL_ANY("mlops_guard_train", "data_jsonl_path empty", mlops_guard_train(h, "injection", "", P.out, &X.s));
    CALL_ANY("mlops_guard_train", "out_model_path empty", mlops_guard_train(h, "injection", P.missing, "", &X.s));
    /* mlops_guard_canary */
    CALL_ANY("mlops_guard_canary", "valid", mlops_guard_canary(h, "sys", &X.s));
    CALL_FAILS("mlops_guard_canary", "h", mlops_guard_canary(NULL, "sys", &X.s));
    CALL_ANY("mlops_guard_canary", "system_prompt", mlops_guard_canary(h, NULL, &X.s));
    CALL_FAILS("mlops_guard_canary", "out_json", mlops_guard_canary(h, "sys", NULL));
    CALL_ANY("mlops_guard_canary", "system_prompt empty", mlops_guard_canary(h, "", &X.s));
    /* mlops_guard_validate_json */
    CALL_ANY("mlops_guard_validate_json", "valid", mlops_guard_validate_json(h, "{}", "{}", &X.s));
    CALL_FAILS("mlops_guard_validate_json", "h", mlops_guard_validate_json(NULL, "{}", "{}", &X.s));
    CALL_FAILS("mlops_guard_validate_json", "schema_json", mlops_guard_validate_json(h, NULL, "{}", &X.s));
    CALL_FAILS("mlops_guard_validate_json", "instance_json", mlops_guard_validate_json(h, "{}", NULL, &X.s));
    CALL_FAILS("mlops_guard_validate_json", "out_report_json", mlops_guard_validate_json(h, "{}", "{}", NULL));
    CALL_ANY("mlops_guard_validate_json", "schema_json empty", mlops_guard_validate_json(h, "", "{}", &X.s));
    CALL_ANY("mlops_guard_validate_json", "instance_json empty", mlops_guard_validate_json(h, "{}", "", &X.s));
    assert_int_equal(failures, 0);
}

static void null_args_models(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_model_register */
    CALL_ANY("mlops_model_register", "valid", mlops_model_register(h, "m", "{\"uri\":\"s3://b/k\"}", &X.i64));
    CALL_FAILS("mlops_model_register", "h", mlops_model_register(NULL, "m", "{\"uri\":\"s3://b/k\"}", &X.i64));
    CALL_FAILS("mlops_model_register", "name", mlops_model_register(h, NULL, "{\"uri\":\"s3://b/k\"}", &X.i64));
    CALL_FAILS("mlops_model_register", "version_json", mlops_model_register(h, "m", NULL, &X.i64));
    CALL_FAILS("mlops_model_register", "out_version", mlops_model_register(h, "m", "{\"uri\":\"s3://b/k\"}", NULL));
    CALL_ANY("mlops_model_register", "name empty", mlops_model_register(h, "", "{\"uri\":\"s3://b/k\"}", &X.i64));
    CALL_ANY("mlops_model_register", "version_json empty", mlops_model_register(h, "m", "", &X.i64));
    /* mlops_model_get */
    CALL_ANY("mlops_model_get", "valid", mlops_model_get(h, "m", &X.s));
    CALL_FAILS("mlops_model_get", "h", mlops_model_get(NULL, "m", &X.s));
    CALL_FAILS("mlops_model_get", "ref", mlops_model_get(h, NULL, &X.s));
    CALL_FAILS("mlops_model_get", "out", mlops_model_get(h, "m", NULL));
    CALL_ANY("mlops_model_get", "ref empty", mlops_model_get(h, "", &X.s));
    /* mlops_model_list */
    CALL_ANY("mlops_model_list", "valid", mlops_model_list(h, &X.s));
    CALL_FAILS("mlops_model_list", "h", mlops_model_list(NULL, &X.s));
    CALL_FAILS("mlops_model_list", "out", mlops_model_list(h, NULL));
    /* mlops_model_search */
    CALL_ANY("mlops_model_search", "valid", mlops_model_search(h, "", 1, &X.s));
    CALL_FAILS("mlops_model_search", "h", mlops_model_search(NULL, "", 1, &X.s));
    CALL_ANY("mlops_model_search", "filter", mlops_model_search(h, NULL, 1, &X.s));
    CALL_FAILS("mlops_model_search", "out", mlops_model_search(h, "", 1, NULL));
    CALL_ANY("mlops_model_search", "filter empty", mlops_model_search(h, "", 1, &X.s));
    CALL_ANY("mlops_model_search", "limit -1", mlops_model_search(h, "", -1, &X.s));
    CALL_ANY("mlops_model_search", "limit INT64_MIN", mlops_model_search(h, "", INT64_MIN, &X.s));
    CALL_ANY("mlops_model_search", "limit INT64_MAX", mlops_model_search(h, "", INT64_MAX, &X.s));
    CALL_ANY("mlops_model_search", "limit 0", mlops_model_search(h, "", 0, &X.s));
    /* mlops_model_update */
    CALL_ANY("mlops_model_update", "valid", mlops_model_update(h, "m", 1, "{}"));
    CALL_FAILS("mlops_model_update", "h", mlops_model_update(NULL, "m", 1, "{}"));
    CALL_FAILS("mlops_model_update", "name", mlops_model_update(h, NULL, 1, "{}"));
    CALL_FAILS("mlops_model_update", "patch_json", mlops_model_update(h, "m", 1, NULL));
    CALL_ANY("mlops_model_update", "name empty", mlops_model_update(h, "", 1, "{}"));
    CALL_ANY("mlops_model_update", "patch_json empty", mlops_model_update(h, "m", 1, ""));
    CALL_ANY("mlops_model_update", "version -1", mlops_model_update(h, "m", -1, "{}"));
    CALL_ANY("mlops_model_update", "version INT64_MIN", mlops_model_update(h, "m", INT64_MIN, "{}"));
    CALL_ANY("mlops_model_update", "version INT64_MAX", mlops_model_update(h, "m", INT64_MAX, "{}"));
    CALL_ANY("mlops_model_update", "version 0", mlops_model_update(h, "m", 0, "{}"));
    /* mlops_model_verify */
    CALL_ANY("mlops_model_verify", "valid", mlops_model_verify(h, "m", &X.s));
    CALL_FAILS("mlops_model_verify", "h", mlops_model_verify(NULL, "m", &X.s));
    CALL_FAILS("mlops_model_verify", "ref", mlops_model_verify(h, NULL, &X.s));
    CALL_FAILS("mlops_model_verify", "out", mlops_model_verify(h, "m", NULL));
    CALL_ANY("mlops_model_verify", "ref empty", mlops_model_verify(h, "", &X.s));
    /* mlops_model_set_gate */
    CALL_ANY("mlops_model_set_gate", "valid", mlops_model_set_gate(h, "m", "prod", "[]"));
    CALL_FAILS("mlops_model_set_gate", "h", mlops_model_set_gate(NULL, "m", "prod", "[]"));
    CALL_FAILS("mlops_model_set_gate", "name", mlops_model_set_gate(h, NULL, "prod", "[]"));
    CALL_ANY("mlops_model_set_gate", "alias", mlops_model_set_gate(h, "m", NULL, "[]"));
    CALL_FAILS("mlops_model_set_gate", "rules_json", mlops_model_set_gate(h, "m", "prod", NULL));
    CALL_ANY("mlops_model_set_gate", "name empty", mlops_model_set_gate(h, "", "prod", "[]"));
    CALL_ANY("mlops_model_set_gate", "alias empty", mlops_model_set_gate(h, "m", "", "[]"));
    CALL_ANY("mlops_model_set_gate", "rules_json empty", mlops_model_set_gate(h, "m", "prod", ""));
    /* mlops_model_get_gate */
    CALL_ANY("mlops_model_get_gate", "valid", mlops_model_get_gate(h, "m", "prod", &X.s));
    CALL_FAILS("mlops_model_get_gate", "h", mlops_model_get_gate(NULL, "m", "prod", &X.s));
    CALL_FAILS("mlops_model_get_gate", "name", mlops_model_get_gate(h, NULL, "prod", &X.s));
    CALL_ANY("mlops_model_get_gate", "alias", mlops_model_get_gate(h, "m", NULL, &X.s));
    CALL_FAILS("mlops_model_get_gate", "out", mlops_model_get_gate(h, "m", "prod", NULL));
    CALL_ANY("mlops_model_get_gate", "name empty", mlops_model_get_gate(h, "", "prod", &X.s));
    CALL_ANY("mlops_model_get_gate", "alias empty", mlops_model_get_gate(h, "m", "", &X.s));
    /* mlops_model_promote */
    CALL_ANY("mlops_model_promote", "valid", mlops_model_promote(h, "m", 1, "prod", 0, "why", &X.s));
    CALL_FAILS("mlops_model_promote", "h", mlops_model_promote(NULL, "m", 1, "prod", 0, "why", &X.s));
    CALL_FAILS("mlops_model_promote", "name", mlops_model_promote(h, NULL, 1, "prod", 0, "why", &X.s));
    CALL_FAILS("mlops_model_promote", "alias", mlops_model_promote(h, "m", 1, NULL, 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "reason", mlops_model_promote(h, "m", 1, "prod", 0, NULL, &X.s));
    CALL_ANY("mlops_model_promote", "out", mlops_model_promote(h, "m", 1, "prod", 0, "why", NULL));
    CALL_ANY("mlops_model_promote", "name empty", mlops_model_promote(h, "", 1, "prod", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "alias empty", mlops_model_promote(h, "m", 1, "", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "reason empty", mlops_model_promote(h, "m", 1, "prod", 0, "", &X.s));
    CALL_ANY("mlops_model_promote", "version -1", mlops_model_promote(h, "m", -1, "prod", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "version INT64_MIN", mlops_model_promote(h, "m", INT64_MIN, "prod", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "version INT64_MAX", mlops_model_promote(h, "m", INT64_MAX, "prod", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "version 0", mlops_model_promote(h, "m", 0, "prod", 0, "why", &X.s));
    CALL_ANY("mlops_model_promote", "force -1", mlops_model_promote(h, "m", 1, "prod", -1, "why", &X.s));
    CALL_ANY("mlops_model_promote", "force INT_MAX", mlops_model_promote(h, "m", 1, "prod", INT_MAX, "why", &X.s));
    /* mlops_model_remove_alias */
    CALL_ANY("mlops_model_remove_alias", "valid", mlops_model_remove_alias(h, "m", "prod", "why"));
    CALL_FAILS("mlops_model_remove_alias", "h", mlops_model_remove_alias(NULL, "m", "prod", "why"));
    CALL_FAILS("mlops_model_remove_alias", "name", mlops_model_remove_alias(h, NULL, "prod", "why"));
    CALL_FAILS("mlops_model_remove_alias", "alias", mlops_model_remove_alias(h, "m", NULL, "why"));
    CALL_ANY("mlops_model_remove_alias", "reason", mlops_model_remove_alias(h, "m", "prod", NULL));
    CALL_ANY("mlops_model_remove_alias", "name empty", mlops_model_remove_alias(h, "", "prod", "why"));
    CALL_ANY("mlops_model_remove_alias", "alias empty", mlops_model_remove_alias(h, "m", "", "why"));
    CALL_ANY("mlops_model_remove_alias", "reason empty", mlops_model_remove_alias(h, "m", "prod", ""));
    /* mlops_model_history */
    CALL_ANY("mlops_model_history", "valid", mlops_model_history(h, "m", 1, &X.s));
    CALL_FAILS("mlops_model_history", "h", mlops_model_history(NULL, "m", 1, &X.s));
    CALL_FAILS("mlops_model_history", "name", mlops_model_history(h, NULL, 1, &X.s));
    CALL_FAILS("mlops_model_history", "out", mlops_model_history(h, "m", 1, NULL));
    CALL_ANY("mlops_model_history", "name empty", mlops_model_history(h, "", 1, &X.s));
    CALL_ANY("mlops_model_history", "limit -1", mlops_model_history(h, "m", -1, &X.s));
    CALL_ANY("mlops_model_history", "limit INT64_MIN", mlops_model_history(h, "m", INT64_MIN, &X.s));
    CALL_ANY("mlops_model_history", "limit INT64_MAX", mlops_model_history(h, "m", INT64_MAX, &X.s));
    CALL_ANY("mlops_model_history", "limit 0", mlops_model_history(h, "m", 0, &X.s));
    /* mlops_deploy_start */
    CALL_ANY("mlops_deploy_start", "valid", mlops_deploy_start(h, "m", "prod", "{\"strategy\":\"direct\"}", &X.s));
    CALL_FAILS("mlops_deploy_start", "h", mlops_deploy_start(NULL, "m", "prod", "{\"strategy\":\"direct\"}", &X.s));
    CALL_FAILS("mlops_deploy_start", "name", mlops_deploy_start(h, NULL, "prod", "{\"strategy\":\"direct\"}", &X.s));
    CALL_FAILS("mlops_deploy_start", "alias", mlops_deploy_start(h, "m", NULL, "{\"strategy\":\"direct\"}", &X.s));
    CALL_FAILS("mlops_deploy_start", "strategy_json", mlops_deploy_start(h, "m", "prod", NULL, &X.s));
    CALL_FAILS("mlops_deploy_start", "out", mlops_deploy_start(h, "m", "prod", "{\"strategy\":\"direct\"}", NULL));
    CALL_ANY("mlops_deploy_start", "name empty", mlops_deploy_start(h, "", "prod", "{\"strategy\":\"direct\"}", &X.s));
    CALL_ANY("mlops_deploy_start", "alias empty", mlops_deploy_start(h, "m", "", "{\"strategy\":\"direct\"}", &X.s));
    CALL_ANY("mlops_deploy_start", "strategy_json empty", mlops_deploy_start(h, "m", "prod", "", &X.s));
    /* mlops_deploy_pick */
    CALL_ANY("mlops_deploy_pick", "valid", mlops_deploy_pick(h, "m", "prod", "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_deploy_pick", "h", mlops_deploy_pick(NULL, "m", "prod", "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_deploy_pick", "name", mlops_deploy_pick(h, NULL, "prod", "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_deploy_pick", "alias", mlops_deploy_pick(h, "m", NULL, "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "user_key", mlops_deploy_pick(h, "m", "prod", NULL, &X.i64, X.ibuf, 8, &X.sz));
    CALL_FAILS("mlops_deploy_pick", "out_version", mlops_deploy_pick(h, "m", "prod", "u", NULL, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "out_shadows", mlops_deploy_pick(h, "m", "prod", "u", &X.i64, NULL, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "out_n", mlops_deploy_pick(h, "m", "prod", "u", &X.i64, X.ibuf, 8, NULL));
    CALL_ANY("mlops_deploy_pick", "name empty", mlops_deploy_pick(h, "", "prod", "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "alias empty", mlops_deploy_pick(h, "m", "", "u", &X.i64, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "user_key empty", mlops_deploy_pick(h, "m", "prod", "", &X.i64, X.ibuf, 8, &X.sz));
    CALL_ANY("mlops_deploy_pick", "cap 0", mlops_deploy_pick(h, "m", "prod", "u", &X.i64, X.ibuf, 0, &X.sz));
    /* mlops_deploy_observe */
    CALL_ANY("mlops_deploy_observe", "valid", mlops_deploy_observe(h, "m", 1, "{\"latency_ms\":1}"));
    CALL_FAILS("mlops_deploy_observe", "h", mlops_deploy_observe(NULL, "m", 1, "{\"latency_ms\":1}"));
    CALL_FAILS("mlops_deploy_observe", "name", mlops_deploy_observe(h, NULL, 1, "{\"latency_ms\":1}"));
    CALL_FAILS("mlops_deploy_observe", "metrics_json", mlops_deploy_observe(h, "m", 1, NULL));
    CALL_ANY("mlops_deploy_observe", "name empty", mlops_deploy_observe(h, "", 1, "{\"latency_ms\":1}"));
    CALL_ANY("mlops_deploy_observe", "metrics_json empty", mlops_deploy_observe(h, "m", 1, ""));
    CALL_ANY("mlops_deploy_observe", "version -1", mlops_deploy_observe(h, "m", -1, "{\"latency_ms\":1}"));
    CALL_ANY("mlops_deploy_observe", "version INT64_MIN", mlops_deploy_observe(h, "m", INT64_MIN, "{\"latency_ms\":1}"));
    CALL_ANY("mlops_deploy_observe", "version INT64_MAX", mlops_deploy_observe(h, "m", INT64_MAX, "{\"latency_ms\":1}"));
    CALL_ANY("mlops_deploy_observe", "version 0", mlops_deploy_observe(h, "m", 0, "{\"latency_ms\":1}"));
    /* mlops_deploy_observe_value */
    CALL_ANY("mlops_deploy_observe_value", "valid", mlops_deploy_observe_value(h, "m", 1, "latency_ms", 1.0));
    CALL_FAILS("mlops_deploy_observe_value", "h", mlops_deploy_observe_value(NULL, "m", 1, "latency_ms", 1.0));
    CALL_FAILS("mlops_deploy_observe_value", "name", mlops_deploy_observe_value(h, NULL, 1, "latency_ms", 1.0));
    CALL_FAILS("mlops_deploy_observe_value", "metric", mlops_deploy_observe_value(h, "m", 1, NULL, 1.0));
    CALL_ANY("mlops_deploy_observe_value", "name empty", mlops_deploy_observe_value(h, "", 1, "latency_ms", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "metric empty", mlops_deploy_observe_value(h, "m", 1, "", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "version -1", mlops_deploy_observe_value(h, "m", -1, "latency_ms", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "version INT64_MIN", mlops_deploy_observe_value(h, "m", INT64_MIN, "latency_ms", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "version INT64_MAX", mlops_deploy_observe_value(h, "m", INT64_MAX, "latency_ms", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "version 0", mlops_deploy_observe_value(h, "m", 0, "latency_ms", 1.0));
    CALL_ANY("mlops_deploy_observe_value", "value NAN", mlops_deploy_observe_value(h, "m", 1, "latency_ms", NAN));
    CALL_ANY("mlops_deploy_observe_value", "value -INFINITY", mlops_deploy_observe_value(h, "m", 1, "latency_ms", -INFINITY));
    CALL_ANY("mlops_deploy_observe_value", "value 1e308", mlops_deploy_observe_value(h, "m", 1, "latency_ms", 1e308));
    /* mlops_deploy_flush */
    CALL_ANY("mlops_deploy_flush", "valid", mlops_deploy_flush(h));
    CALL_FAILS("mlops_deploy_flush", "h", mlops_deploy_flush(NULL));
    /* mlops_deploy_status */
    CALL_ANY("mlops_deploy_status", "valid", mlops_deploy_status(h, "m", "prod", &X.s));
    CALL_FAILS("mlops_deploy_status", "h", mlops_deploy_status(NULL, "m", "prod", &X.s));
    CALL_FAILS("mlops_deploy_status", "name", mlops_deploy_status(h, NULL, "prod", &X.s));
    CALL_FAILS("mlops_deploy_status", "alias", mlops_deploy_status(h, "m", NULL, &X.s));
    CALL_FAILS("mlops_deploy_status", "out", mlops_deploy_status(h, "m", "prod", NULL));
    CALL_ANY("mlops_deploy_status", "name empty", mlops_deploy_status(h, "", "prod", &X.s));
    CALL_ANY("mlops_deploy_status", "alias empty", mlops_deploy_status(h, "m", "", &X.s));
    /* mlops_deploy_rollback */
    CALL_ANY("mlops_deploy_rollback", "valid", mlops_deploy_rollback(h, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_rollback", "h", mlops_deploy_rollback(NULL, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_rollback", "name", mlops_deploy_rollback(h, NULL, "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_rollback", "alias", mlops_deploy_rollback(h, "m", NULL, "why", &X.s));
    CALL_ANY("mlops_deploy_rollback", "reason", mlops_deploy_rollback(h, "m", "prod", NULL, &X.s));
    CALL_ANY("mlops_deploy_rollback", "out", mlops_deploy_rollback(h, "m", "prod", "why", NULL));
    CALL_ANY("mlops_deploy_rollback", "name empty", mlops_deploy_rollback(h, "", "prod", "why", &X.s));
    CALL_ANY("mlops_deploy_rollback", "alias empty", mlops_deploy_rollback(h, "m", "", "why", &X.s));
    CALL_ANY("mlops_deploy_rollback", "reason empty", mlops_deploy_rollback(h, "m", "prod", "", &X.s));
    /* mlops_deploy_abort */
    CALL_ANY("mlops_deploy_abort", "valid", mlops_deploy_abort(h, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_abort", "h", mlops_deploy_abort(NULL, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_abort", "name", mlops_deploy_abort(h, NULL, "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_abort", "alias", mlops_deploy_abort(h, "m", NULL, "why", &X.s));
    CALL_ANY("mlops_deploy_abort", "reason", mlops_deploy_abort(h, "m", "prod", NULL, &X.s));
    CALL_ANY("mlops_deploy_abort", "out", mlops_deploy_abort(h, "m", "prod", "why", NULL));
    CALL_ANY("mlops_deploy_abort", "name empty", mlops_deploy_abort(h, "", "prod", "why", &X.s));
    CALL_ANY("mlops_deploy_abort", "alias empty", mlops_deploy_abort(h, "m", "", "why", &X.s));
    CALL_ANY("mlops_deploy_abort", "reason empty", mlops_deploy_abort(h, "m", "prod", "", &X.s));
    /* mlops_deploy_pause */
    CALL_ANY("mlops_deploy_pause", "valid", mlops_deploy_pause(h, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_pause", "h", mlops_deploy_pause(NULL, "m", "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_pause", "name", mlops_deploy_pause(h, NULL, "prod", "why", &X.s));
    CALL_FAILS("mlops_deploy_pause", "alias", mlops_deploy_pause(h, "m", NULL, "why", &X.s));
    CALL_ANY("mlops_deploy_pause", "reason", mlops_deploy_pause(h, "m", "prod", NULL, &X.s));
    CALL_ANY("mlops_deploy_pause", "out", mlops_deploy_pause(h, "m", "prod", "why", NULL));
    CALL_ANY("mlops_deploy_pause", "name empty", mlops_deploy_pause(h, "", "prod", "why", &X.s));
    CALL_ANY("mlops_deploy_pause", "alias empty", mlops_deploy_pause(h, "m", "", "why", &X.s));
    CALL_ANY("mlops_deploy_pause", "reason empty", mlops_deploy_pause(h, "m", "prod", "", &X.s));
    /* mlops_deploy_resume */
    CALL_ANY("mlops_deploy_resume", "valid", mlops_deploy_resume(h, "m", "prod", &X.s));
    CALL_FAILS("mlops_deploy_resume", "h", mlops_deploy_resume(NULL, "m", "prod", &X.s));
    CALL_FAILS("mlops_deploy_resume", "name", mlops_deploy_resume(h, NULL, "prod", &X.s));
    CALL_FAILS("mlops_deploy_resume", "alias", mlops_deploy_resume(h, "m", NULL, &X.s));
    CALL_ANY("mlops_deploy_resume", "out", mlops_deploy_resume(h, "m", "prod", NULL));
    CALL_ANY("mlops_deploy_resume", "name empty", mlops_deploy_resume(h, "", "prod", &X.s));
    CALL_ANY("mlops_deploy_resume", "alias empty", mlops_deploy_resume(h, "m", "", &X.s));
    /* mlops_deploy_promote */
    CALL_ANY("mlops_deploy_promote", "valid", mlops_deploy_promote(h, "m", "prod", 1, "why", &X.s));
    CALL_FAILS("mlops_deploy_promote", "h", mlops_deploy_promote(NULL, "m", "prod", 1, "why", &X.s));
    CALL_FAILS("mlops_deploy_promote", "name", mlops_deploy_promote(h, NULL, "prod", 1, "why", &X.s));
    CALL_FAILS("mlops_deploy_promote", "alias", mlops_deploy_promote(h, "m", NULL, 1, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "reason", mlops_deploy_promote(h, "m", "prod", 1, NULL, &X.s));
    CALL_ANY("mlops_deploy_promote", "out", mlops_deploy_promote(h, "m", "prod", 1, "why", NULL));
    CALL_ANY("mlops_deploy_promote", "name empty", mlops_deploy_promote(h, "", "prod", 1, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "alias empty", mlops_deploy_promote(h, "m", "", 1, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "reason empty", mlops_deploy_promote(h, "m", "prod", 1, "", &X.s));
    CALL_ANY("mlops_deploy_promote", "version -1", mlops_deploy_promote(h, "m", "prod", -1, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "version INT64_MIN", mlops_deploy_promote(h, "m", "prod", INT64_MIN, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "version INT64_MAX", mlops_deploy_promote(h, "m", "prod", INT64_MAX, "why", &X.s));
    CALL_ANY("mlops_deploy_promote", "version 0", mlops_deploy_promote(h, "m", "prod", 0, "why", &X.s));
    assert_int_equal(failures, 0);
}

static void null_args_prompts(void **state)
{
    fixture *F = *state;
    FIXTURE_LOCALS(F);
    failures = 0;

    /* mlops_prompt_push */
    CALL_ANY("mlops_prompt_push", "valid", mlops_prompt_push(h, "m", "Hi {{x}}", NULL, &X.i64));
    CALL_FAILS("mlops_prompt_push", "h", mlops_prompt_push(NULL, "m", "Hi {{x}}", NULL, &X.i64));
    CALL_FAILS("mlops_prompt_push", "name", mlops_prompt_push(h, NULL, "Hi {{x}}", NULL, &X.i64));
    CALL_FAILS("mlops_prompt_push", "template_text", mlops_prompt_push(h, "m", NULL, NULL, &X.i64));
    CALL_FAILS("mlops_prompt_push", "out", mlops_prompt_push(h, "m", "Hi {{x}}", NULL, NULL));
    CALL_ANY("mlops_prompt_push", "name empty", mlops_prompt_push(h, "", "Hi {{x}}", NULL, &X.i64));
    CALL_ANY("mlops_prompt_push", "template_text empty", mlops_prompt_push(h, "m", "", NULL, &X.i64));
    /* mlops_prompt_get */
    CALL_ANY("mlops_prompt_get", "valid", mlops_prompt_get(h, "m", NULL, &X.s));
    CALL_FAILS("mlops_prompt_get", "h", mlops_prompt_get(NULL, "m", NULL, &X.s));
    CALL_FAILS("mlops_prompt_get", "ref", mlops_prompt_get(h, NULL, NULL, &X.s));
    CALL_FAILS("mlops_prompt_get", "out", mlops_prompt_get(h, "m", NULL, NULL));
    CALL_ANY("mlops_prompt_get", "ref empty", mlops_prompt_get(h, "", NULL, &X.s));
    /* mlops_prompt_render */
    CALL_ANY("mlops_prompt_render", "valid", mlops_prompt_render(h, "m", "{\"x\":1}", NULL, &X.s));
    CALL_FAILS("mlops_prompt_render", "h", mlops_prompt_render(NULL, "m", "{\"x\":1}", NULL, &X.s));
    CALL_FAILS("mlops_prompt_render", "ref", mlops_prompt_render(h, NULL, "{\"x\":1}", NULL, &X.s));
    CALL_ANY("mlops_prompt_render", "vars_json", mlops_prompt_render(h, "m", NULL, NULL, &X.s));
    CALL_FAILS("mlops_prompt_render", "out", mlops_prompt_render(h, "m", "{\"x\":1}", NULL, NULL));
    CALL_ANY("mlops_prompt_render", "ref empty", mlops_prompt_render(h, "", "{\"x\":1}", NULL, &X.s));
    CALL_ANY("mlops_prompt_render", "vars_json empty", mlops_prompt_render(h, "m", "", NULL, &X.s));
    /* mlops_prompt_variables */
    CALL_ANY("mlops_prompt_variables", "valid", mlops_prompt_variables(h, "m", &X.s));
    CALL_FAILS("mlops_prompt_variables", "h", mlops_prompt_variables(NULL, "m", &X.s));
    CALL_FAILS("mlops_prompt_variables", "ref", mlops_prompt_variables(h, NULL, &X.s));
    CALL_FAILS("mlops_prompt_variables", "out", mlops_prompt_variables(h, "m", NULL));
    CALL_ANY("mlops_prompt_variables", "ref empty", mlops_prompt_variables(h, "", &X.s));
    /* mlops_prompt_label_set */
    CALL_ANY("mlops_prompt_label_set", "valid", mlops_prompt_label_set(h, "m", 1, "prod", NULL));
    CALL_FAILS("mlops_prompt_label_set", "h", mlops_prompt_label_set(NULL, "m", 1, "prod", NULL));
    CALL_FAILS("mlops_prompt_label_set", "name", mlops_prompt_label_set(h, NULL, 1, "prod", NULL));
    CALL_FAILS("mlops_prompt_label_set", "label", mlops_prompt_label_set(h, "m", 1, NULL, NULL));
    CALL_ANY("mlops_prompt_label_set", "name empty", mlops_prompt_label_set(h, "", 1, "prod", NULL));
    CALL_ANY("mlops_prompt_label_set", "label empty", mlops_prompt_label_set(h, "m", 1, "", NULL));
    CALL_ANY("mlops_prompt_label_set", "version -1", mlops_prompt_label_set(h, "m", -1, "prod", NULL));
    CALL_ANY("mlops_prompt_label_set", "version INT64_MIN", mlops_prompt_label_set(h, "m", INT64_MIN, "prod", NULL));
    CALL_ANY("mlops_prompt_label_set", "version INT64_MAX", mlops_prompt_label_set(h, "m", INT64_MAX, "prod", NULL));
    CALL_ANY("mlops_prompt_label_set", "version 0", mlops_prompt_label_set(h, "m", 0, "prod", NULL));
    /* mlops_prompt_label_split */
    CALL_ANY("mlops_prompt_label_split", "valid", mlops_prompt_label_split(h, "m", "prod", "[]", NULL));
    CALL_FAILS("mlops_prompt_label_split", "h", mlops_prompt_label_split(NULL, "m", "prod", "[]", NULL));
    CALL_FAILS("mlops_prompt_label_split", "name", mlops_prompt_label_split(h, NULL, "prod", "[]", NULL));
    CALL_FAILS("mlops_prompt_label_split", "label", mlops_prompt_label_split(h, "m", NULL, "[]", NULL));
    CALL_FAILS("mlops_prompt_label_split", "split_json", mlops_prompt_label_split(h, "m", "prod", NULL, NULL));
    CALL_ANY("mlops_prompt_label_split", "name empty", mlops_prompt_label_split(h, "", "prod", "[]", NULL));
    CALL_ANY("mlops_prompt_label_split", "label empty", mlops_prompt_label_split(h, "m", "", "[]", NULL));
    CALL_ANY("mlops_prompt_label_split", "split_json empty", mlops_prompt_label_split(h, "m", "prod", "", NULL));
    /* mlops_prompt_label_delete */
    CALL_ANY("mlops_prompt_label_delete", "valid", mlops_prompt_label_delete(h, "m", "prod", NULL));
    CALL_FAILS("mlops_prompt_label_delete", "h", mlops_prompt_label_delete(NULL, "m", "prod", NULL));
    CALL_FAILS("mlops_prompt_label_delete", "name", mlops_prompt_label_delete(h, NULL, "prod", NULL));
    CALL_FAILS("mlops_prompt_label_delete", "label", mlops_prompt_label_delete(h, "m", NULL, NULL));
    CALL_ANY("mlops_prompt_label_delete", "name empty", mlops_prompt_label_delete(h, "", "prod", NULL));
    CALL_ANY("mlops_prompt_label_delete", "label empty", mlops_prompt_label_delete(h, "m", "", NULL));
    /* mlops_prompt_list */
    CALL_ANY("mlops_prompt_list", "valid", mlops_prompt_list(h, "{}", &X.s));
    CALL_FAILS("mlops_prompt_list", "h", mlops_prompt_list(NULL, "{}", &X.s));
    CALL_ANY("mlops_prompt_list", "filter_json", mlops_prompt_list(h, NULL, &X.s));
    CALL_FAILS("mlops_prompt_list", "out", mlops_prompt_list(h, "{}", NULL));
    CALL_ANY("mlops_prompt_list", "filter_json empty", mlops_prompt_list(h, "", &X.s));
    /* mlops_prompt_history */
    CALL_ANY("mlops_prompt_history", "valid", mlops_prompt_history(h, "m", &X.s));
    CALL_FAILS("mlops_prompt_history", "h", mlops_prompt_history(NULL, "m", &X.s));
    CALL_FAILS("mlops_prompt_history", "name", mlops_prompt_history(h, NULL, &X.s));
    CALL_FAILS("mlops_prompt_history", "out", mlops_prompt_history(h, "m", NULL));
    CALL_ANY("mlops_prompt_history", "name empty", mlops_prompt_history(h, "", &X.s));
    /* mlops_prompt_diff */
    CALL_ANY("mlops_prompt_diff", "valid", mlops_prompt_diff(h, "m", 1, 1, &X.s));
    CALL_FAILS("mlops_prompt_diff", "h", mlops_prompt_diff(NULL, "m", 1, 1, &X.s));
    CALL_FAILS("mlops_prompt_diff", "name", mlops_prompt_diff(h, NULL, 1, 1, &X.s));
    CALL_FAILS("mlops_prompt_diff", "out", mlops_prompt_diff(h, "m", 1, 1, NULL));
    CALL_ANY("mlops_prompt_diff", "name empty", mlops_prompt_diff(h, "", 1, 1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v1 -1", mlops_prompt_diff(h, "m", -1, 1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v1 INT64_MIN", mlops_prompt_diff(h, "m", INT64_MIN, 1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v1 INT64_MAX", mlops_prompt_diff(h, "m", INT64_MAX, 1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v1 0", mlops_prompt_diff(h, "m", 0, 1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v2 -1", mlops_prompt_diff(h, "m", 1, -1, &X.s));
    CALL_ANY("mlops_prompt_diff", "v2 INT64_MIN", mlops_prompt_diff(h, "m", 1, INT64_MIN, &X.s));
    CALL_ANY("mlops_prompt_diff", "v2 INT64_MAX", mlops_prompt_diff(h, "m", 1, INT64_MAX, &X.s));
    CALL_ANY("mlops_prompt_diff", "v2 0", mlops_prompt_diff(h, "m", 1, 0, &X.s));
    /* mlops_prompt_export */
    CALL_ANY("mlops_prompt_export", "valid", mlops_prompt_export(h, P.dir, "m"));
    CALL_FAILS("mlops_prompt_export", "h", mlops_prompt_export(NULL, P.dir, "m"));
    CALL_FAILS("mlops_prompt_export", "dir", mlops_prompt_export(h, NULL, "m"));
    CALL_ANY("mlops_prompt_export", "name", mlops_prompt_export(h, P.dir, NULL));
    CALL_ANY("mlops_prompt_export", "dir empty", mlops_prompt_export(h, "", "m"));
    CALL_ANY("mlops_prompt_export", "name empty", mlops_prompt_export(h, P.dir, ""));
    /* mlops_prompt_import */
    CALL_ANY("mlops_prompt_import", "valid", mlops_prompt_import(h, P.dir, NULL, &X.s));
    CALL_FAILS("mlops_prompt_import", "h", mlops_prompt_import(NULL, P.dir, NULL, &X.s));
    CALL_FAILS("mlops_prompt_import", "dir", mlops_prompt_import(h, NULL, NULL, &X.s));
    CALL_FAILS("mlops_prompt_import", "out", mlops_prompt_import(h, P.dir, NULL, NULL));
    CALL_ANY("mlops_prompt_import", "dir empty", mlops_prompt_import(h, "", NULL, &X.s));
    assert_int_equal(failures, 0);
}

static void version_and_errors(void **state)
{
    (void)state;
    assert_non_null(mlops_version());
    assert_true(mlops_version_number() > 0);
    assert_non_null(mlops_strerror(MLOPS_OK));
    assert_non_null(mlops_strerror(-12345));
    assert_non_null(mlops_strerror(12345));
    assert_non_null(mlops_last_error());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_and_errors),
        cmocka_unit_test_setup_teardown(null_args_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_core, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_engine, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_gateway, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_guard, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_models, setup, teardown),
        cmocka_unit_test_setup_teardown(null_args_prompts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
