/*
 * The public engine API: load options, the "engine" config section, tokenize buffers,
 * generation with streaming, stop strings, max tokens, cancellation, chat messages,
 * sessions reusing their cached prefix, logits and embeddings.
 */
#include "test_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir, *spm_path, *bpe_path;

typedef struct collect {
    char buf[8192];
    int calls, cancel_after;
} collect;

static int on_piece(const char *piece, void *user)
{
    collect *c = user;
    strncat(c->buf, piece, sizeof c->buf - strlen(c->buf) - 1);
    c->calls++;
    return c->cancel_after > 0 && c->calls >= c->cancel_after;
}

static json_t *gen(mlops_engine_model_t *m, const char *prompt, const char *opts, collect *c, int want_rc)
{
    mlops_engine_session_t *s = NULL;
    assert_ok(mlops_engine_session_new(m, NULL, &s));
    char *out = NULL;
    int rc = mlops_engine_generate(s, prompt, opts, on_piece, c, &out);
    if (rc != want_rc)
        printf("generate: %d %s\n", rc, mlops_last_error());
    assert_int_equal(rc, want_rc);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    mlops_free(out);
    mlops_engine_session_free(s);
    return j;
}

static void config_and_load_options(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_status(mlops_open(":memory:", "{\"engine\": {\"threads\": 0}}", &h), MLOPS_ECONFIG,
                  "config.engine.threads");
    assert_status(mlops_open(":memory:", "{\"engine\": {\"kv\": 1}}", &h), MLOPS_ECONFIG, "kv");
    assert_status(mlops_open(":memory:", "{\"engine\": {\"kv_type\": \"f8\"}}", &h), MLOPS_ECONFIG,
                  "config.engine.kv_type");
    assert_ok(mlops_open(":memory:", "{\"engine\": {\"threads\": 2, \"n_ctx\": 128, \"kv_type\": \"f32\"}}", &h));
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_load(h, spm_path, NULL, &m));
    char *info = NULL;
    assert_ok(mlops_engine_model_info(m, &info));
    assert_non_null(strstr(info, "\"threads\":2"));
    assert_non_null(strstr(info, "\"n_ctx\":128"));
    assert_non_null(strstr(info, "\"kv_type\":\"f32\""));
    assert_non_null(strstr(info, "\"chat_template\":\"llama2\""));
    mlops_free(info);
    mlops_engine_model_free(m);
    assert_ok(mlops_engine_load(h, spm_path, "{\"threads\": 1}", &m));
    assert_ok(mlops_engine_model_info(m, &info));
    assert_non_null(strstr(info, "\"threads\":1"));
    mlops_free(info);
    mlops_engine_model_free(m);
    mlops_close(h);
    assert_status(mlops_engine_model_load(NULL, NULL, &m), MLOPS_EINVAL, "path");
    assert_status(mlops_engine_model_load("/nonexistent.gguf", NULL, &m), MLOPS_EIO, "nonexistent");
    assert_status(mlops_engine_model_load(spm_path, "[1]", &m), MLOPS_EINVAL, "mlops_engine_model_load");
    mlops_engine_model_free(NULL);
    mlops_engine_session_free(NULL);
}

static void tokenize_buffers(void **state)
{
    (void)state;
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_model_load(spm_path, "{\"vocab_only\": true}", &m));
    size_t n = 0;
    assert_status(mlops_engine_tokenize(m, "hello world", NULL, NULL, 0, &n), MLOPS_ELIMIT, "cap");
    assert_true(n >= 3);
    int32_t ids[64];
    assert_ok(mlops_engine_tokenize(m, "hello world", NULL, ids, 64, &n));
    assert_int_equal(ids[0], 1); /* BOS */
    size_t n2 = 0;
    int32_t ids2[64];
    assert_ok(mlops_engine_tokenize(m, "hello world", "{\"add_special\": false}", ids2, 64, &n2));
    assert_int_equal(n2, n - 1);
    assert_memory_equal(ids + 1, ids2, n2 * sizeof *ids);
    char *text = NULL;
    assert_ok(mlops_engine_detokenize(m, ids, n, NULL, &text));
    assert_string_equal(text, "hello world");
    mlops_free(text);
    int32_t bad = 1 << 30;
    assert_status(mlops_engine_detokenize(m, &bad, 1, NULL, &text), MLOPS_EINVAL, "v[0]");
    assert_status(mlops_engine_tokenize(m, "x", "{\"nope\": 1}", ids, 64, &n), MLOPS_EINVAL, "nope");
    mlops_engine_model_free(m);
}

static void generate_stream_stop_max_cancel(void **state)
{
    (void)state;
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_model_load(bpe_path, "{\"threads\": 2}", &m));
    const char *greedy = "{\"temperature\": 0, \"max_tokens\": 24, \"ignore_eos\": true}";
    collect c = {0};
    json_t *j = gen(m, "hello there", greedy, &c, MLOPS_OK);
    const char *full = json_string_value(json_object_get(j, "text"));
    assert_string_equal(c.buf, full);
    assert_int_equal(json_integer_value(json_object_get(j, "completion_tokens")), 24);
    assert_string_equal(json_string_value(json_object_get(j, "finish_reason")), "length");
    assert_true(strlen(full) > 8);
    char *keep = strdup(full);
    json_decref(j);

    /* a stop string cuts the text where it first appears, and is never streamed */
    char stop[4] = {keep[5], keep[6], keep[7], 0};
    char opts[256];
    snprintf(opts, sizeof opts,
             "{\"temperature\": 0, \"max_tokens\": 24, \"ignore_eos\": true, \"stop\": [\"zzzz\", \"%s\"]}", stop);
    memset(&c, 0, sizeof c);
    j = gen(m, "hello there", opts, &c, MLOPS_OK);
    const char *cut = json_string_value(json_object_get(j, "text"));
    size_t at = (size_t)(strstr(keep, stop) - keep);
    assert_int_equal(strlen(cut), at);
    assert_memory_equal(cut, keep, at);
    assert_string_equal(c.buf, cut);
    assert_string_equal(json_string_value(json_object_get(j, "finish_reason")), "stop");
    json_decref(j);

    /* max_tokens */
    memset(&c, 0, sizeof c);
    j = gen(m, "hello there", "{\"temperature\": 0, \"max_tokens\": 3, \"ignore_eos\": true}", &c, MLOPS_OK);
    assert_int_equal(json_integer_value(json_object_get(j, "completion_tokens")), 3);
    json_decref(j);

    /* cancellation from the callback */
    memset(&c, 0, sizeof c);
    c.cancel_after = 2;
    j = gen(m, "hello there", greedy, &c, MLOPS_ECANCELED);
    assert_null(j);
    assert_int_equal(c.calls, 2);
    assert_non_null(strstr(mlops_last_error(), "cancelled"));

    /* seeded sampling: same seed, same text */
    char *first = NULL;
    for (int i = 0; i < 2; i++) {
        memset(&c, 0, sizeof c);
        j = gen(m, "hello there", "{\"temperature\": 0.9, \"seed\": 77, \"max_tokens\": 16, \"ignore_eos\": true}",
                &c, MLOPS_OK);
        if (!first)
            first = strdup(json_string_value(json_object_get(j, "text")));
        else
            assert_string_equal(first, json_string_value(json_object_get(j, "text")));
        json_decref(j);
    }
    free(first);

    /* chat messages through the model's template (chatml for the BPE synth vocabulary) */
    memset(&c, 0, sizeof c);
    j = gen(m, NULL, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"max_tokens\": 4, \"temperature\": 0}",
            &c, MLOPS_OK);
    assert_true(json_integer_value(json_object_get(j, "prompt_tokens")) > 4);
    json_decref(j);
    gen(m, NULL, "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}], \"chat_template\": \"vicuna\"}", &c,
        MLOPS_EUNSUPPORTED);
    gen(m, NULL, "{\"max_tokens\": 4}", &c, MLOPS_EINVAL);
    gen(m, "x", "{\"max_tokens\": 0}", &c, MLOPS_EINVAL);
    gen(m, "x", "{\"stop\": [1]}", &c, MLOPS_EINVAL);
    free(keep);
    mlops_engine_model_free(m);
}

static void sessions_reuse_prefix_and_logits(void **state)
{
    (void)state;
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_model_load(spm_path, "{\"threads\": 2, \"n_ctx\": 256}", &m));
    mlops_engine_session_t *s = NULL;
    assert_ok(mlops_engine_session_new(m, NULL, &s));
    char *out = NULL;
    assert_ok(mlops_engine_generate(s, "hello world this is", "{\"temperature\": 0, \"max_tokens\": 4}", NULL,
                                    NULL, &out));
    json_t *j = json_loads(out, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(j, "cached_tokens")), 0);
    json_decref(j);
    mlops_free(out);
    assert_ok(mlops_engine_generate(s, "hello world this is more", "{\"temperature\": 0, \"max_tokens\": 4}",
                                    NULL, NULL, &out));
    j = json_loads(out, 0, NULL);
    assert_true(json_integer_value(json_object_get(j, "cached_tokens")) >= 4);
    json_decref(j);
    mlops_free(out);
    assert_ok(mlops_engine_session_reset(s));

    /* logits: the last position equals the last row of --all */
    int32_t toks[] = {1, 300, 17, 42};
    size_t n = 0;
    char *info = NULL;
    assert_ok(mlops_engine_model_info(m, &info));
    j = json_loads(info, 0, NULL);
    size_t V = (size_t)json_integer_value(json_object_get(j, "n_vocab"));
    json_decref(j);
    mlops_free(info);
    float *all = malloc(4 * V * sizeof *all), *last = malloc(V * sizeof *last);
    assert_status(mlops_engine_logits(s, toks, 4, "{\"all\": true}", all, 10, &n), MLOPS_ELIMIT, "cap");
    assert_int_equal(n, 4 * V);
    assert_ok(mlops_engine_logits(s, toks, 4, "{\"all\": true}", all, 4 * V, &n));
    assert_ok(mlops_engine_logits(s, toks, 4, NULL, last, V, &n));
    assert_int_equal(n, V);
    assert_memory_equal(all + 3 * V, last, V * sizeof *last);
    free(all), free(last);

    float emb[1024];
    assert_ok(mlops_engine_embed(m, "hello world", NULL, emb, 1024, &n));
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)emb[i] * emb[i];
    assert_true(ss > 0.999 && ss < 1.001);
    mlops_engine_session_free(s);
    mlops_engine_model_free(m);
}

int main(void)
{
    dir = test_tmpdir();
    spm_path = test_path(dir, "spm.gguf");
    bpe_path = test_path(dir, "bpe.gguf");
    const char *small = "\"n_embd\": 128, \"n_layer\": 2, \"n_head\": 4, \"n_head_kv\": 2, \"n_ff\": 256, "
                        "\"n_vocab\": 600, \"n_ctx\": 512";
    char opts[512];
    snprintf(opts, sizeof opts, "{%s, \"vocab\": \"spm\", \"seed\": 3}", small);
    if (mlops_gguf_synth(spm_path, opts) != MLOPS_OK)
        return 1;
    snprintf(opts, sizeof opts, "{%s, \"vocab\": \"bpe\", \"seed\": 4, \"arch\": \"qwen2\"}", small);
    if (mlops_gguf_synth(bpe_path, opts) != MLOPS_OK)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_and_load_options),
        cmocka_unit_test(tokenize_buffers),
        cmocka_unit_test(generate_stream_stop_max_cancel),
        cmocka_unit_test(sessions_reuse_prefix_and_logits),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    free(spm_path), free(bpe_path);
    test_tmpdir_remove(dir);
    return rc;
}
