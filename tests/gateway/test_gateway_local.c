/*
 * The `local` provider: chat completions on a tiny synthetic GGUF model (random
 * weights, fixed seed) through the gateway, streamed and not, as a fallback from a
 * dead loopback port, and the errors of a bad model path.
 */
#include "gw_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mlops.h"

static char *g_dir, *g_model;

int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int setup(void **state)
{
    (void)state;
    g_dir = test_tmpdir();
    g_model = fmt_alloc("%s/tiny.gguf", g_dir);
    assert_ok(mlops_gguf_synth(g_model, "{\"arch\": \"llama\", \"n_embd\": 64, \"n_layer\": 1, "
                                        "\"n_head\": 2, \"n_head_kv\": 1, \"n_ff\": 128, "
                                        "\"n_vocab\": 512, \"n_ctx\": 256, \"seed\": 11}"));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_model);
    test_tmpdir_remove(g_dir);
    return 0;
}

static char *local_config(const char *extra_models, const char *router)
{
    return fmt_alloc("{\"models\": [%s{\"name\": \"offline\", \"deployments\": [{\"id\": "
                     "\"tiny\", \"provider\": \"local\", \"model\": \"%s\", \"options\": "
                     "{\"threads\": 1, \"n_ctx\": 256}}]}], \"router\": {%s}}",
                     extra_models ? extra_models : "", g_model, router ? router : FAST_ROUTER);
}

/* Whether the first model's first deployment has its GGUF loaded (gateway status). */
static bool loaded(mlops_t *h)
{
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    json_t *j = json_loads(st, 0, NULL);
    mlops_free(st);
    assert_non_null(j);
    json_t *d = json_array_get(json_object_get(json_array_get(json_object_get(j, "models"), 0),
                                               "deployments"), 0);
    json_t *v = json_object_get(d, "loaded");
    assert_true(json_is_boolean(v));
    bool r = json_is_true(v);
    json_decref(j);
    return r;
}

#define LOCAL_REQ(extra)                                                                   \
    "{\"model\": \"offline\", \"messages\": [{\"role\": \"system\", \"content\": \"Be "      \
    "brief.\"}, {\"role\": \"user\", \"content\": \"hello there\"}], \"max_tokens\": 8, "   \
    "\"seed\": 5, \"temperature\": 0.8" extra "}"

static void check_usage(json_t *r, int max_tokens)
{
    json_t *u = json_object_get(r, "usage");
    int64_t pt = mlops__json_int(u, "prompt_tokens", -1);
    int64_t ct = mlops__json_int(u, "completion_tokens", -1);
    assert_true(pt > 5); /* the chat template adds its own tokens to the two messages */
    assert_true(ct >= 1 && ct <= max_tokens);
    assert_int_equal(mlops__json_int(u, "total_tokens", -1), pt + ct);
    const char *fr = mlops__json_str(json_array_get(json_object_get(r, "choices"), 0),
                                     "finish_reason", "");
    if (strcmp(fr, "length") == 0)
        assert_int_equal(ct, max_tokens);
    else
        assert_string_equal(fr, "stop");
    assert_null(json_object_get(xm(r), "usage_estimated"));
}

static void chat_local(void **state)
{
    (void)state;
    char *cfg = local_config(NULL, NULL);
    mlops_t *h = open_with(cfg);
    free(cfg);
    json_t *r = chat_ok(h, LOCAL_REQ(""));
    assert_non_null(resp_content(r));
    assert_string_equal(mlops__json_str(xm(r), "provider", ""), "local");
    assert_string_equal(mlops__json_str(xm(r), "deployment", ""), "tiny");
    assert_string_equal(mlops__json_str(r, "model", ""), "tiny.gguf");
    check_usage(r, 8);
    /* the same seed gives the same text; ignore_eos-free greedy stays deterministic too */
    json_t *r2 = chat_ok(h, LOCAL_REQ(""));
    assert_string_equal(resp_content(r), resp_content(r2));
    json_decref(r2);
    /* max_tokens 1 ends on length unless the one token is an end token */
    r2 = chat_ok(h, "{\"model\": \"offline\", \"messages\": [{\"role\": \"user\", \"content\": "
                    "\"hi\"}], \"max_tokens\": 1, \"temperature\": 0}");
    check_usage(r2, 1);
    json_decref(r2);
    /* the model was loaded once and its session went back to the pool */
    assert_true(loaded(h));
    json_decref(r);
    mlops_close(h);
}

typedef struct chunks {
    json_t *list;
} chunks;

static int on_chunk(const char *chunk, void *user)
{
    chunks *c = user;
    json_t *j = json_loads(chunk, 0, NULL);
    assert_non_null(j);
    json_array_append_new(c->list, j);
    return 0;
}

static void stream_local(void **state)
{
    (void)state;
    char *cfg = local_config(NULL, NULL);
    mlops_t *h = open_with(cfg);
    free(cfg);
    chunks c = {json_array()};
    char *out = NULL;
    assert_ok(mlops_chat_stream(h, LOCAL_REQ(", \"stream\": true"), on_chunk, &c, &out));
    json_t *r = json_loads(out, 0, NULL);
    mlops_free(out);
    assert_non_null(r);
    check_usage(r, 8);
    assert_true(json_array_size(c.list) >= 2);
    /* role first, content deltas, the finish_reason last; the text adds up */
    json_t *first = json_array_get(json_object_get(json_array_get(c.list, 0), "choices"), 0);
    assert_string_equal(mlops__json_str(json_object_get(first, "delta"), "role", ""), "assistant");
    mlops__buf text;
    mlops__buf_init(&text);
    mlops__buf_puts(&text, "");
    const char *finish = NULL;
    size_t i;
    json_t *ch;
    json_array_foreach(c.list, i, ch) {
        json_t *choice = json_array_get(json_object_get(ch, "choices"), 0);
        assert_string_equal(mlops__json_str(ch, "object", ""), "chat.completion.chunk");
        mlops__buf_puts(&text, mlops__json_str(json_object_get(choice, "delta"), "content", ""));
        if (mlops__json_str(choice, "finish_reason", NULL)) {
            assert_null(finish);
            assert_int_equal(i, json_array_size(c.list) - 1);
            finish = mlops__json_str(choice, "finish_reason", NULL);
        }
    }
    assert_non_null(finish);
    assert_string_equal(text.data, resp_content(r));
    assert_string_equal(finish, mlops__json_str(json_array_get(json_object_get(r, "choices"), 0),
                                                "finish_reason", ""));
    /* streamed and not, the same seed gives the same text */
    json_t *plain = chat_ok(h, LOCAL_REQ(""));
    assert_string_equal(resp_content(plain), text.data);
    json_decref(plain);
    mlops__buf_free(&text);
    json_decref(c.list);
    json_decref(r);
    mlops_close(h);
}

static int cancel_after_two(const char *chunk, void *user)
{
    (void)chunk;
    int *n = user;
    return ++*n >= 2;
}

/* The chunk function stops the generation: MLOPS_ECANCELED, the session is reusable. */
static void stream_cancel(void **state)
{
    (void)state;
    char *cfg = local_config(NULL, NULL);
    mlops_t *h = open_with(cfg);
    free(cfg);
    int n = 0;
    char *out = NULL;
    assert_status(mlops_chat_stream(h, "{\"model\": \"offline\", \"stream\": true, "
                                       "\"max_tokens\": 50, \"messages\": [{\"role\": \"user\", "
                                       "\"content\": \"go\"}], \"seed\": 3}",
                                    cancel_after_two, &n, &out),
                  MLOPS_ECANCELED, "cancel");
    assert_int_equal(n, 2);
    mlops_free(out);
    json_t *r = chat_ok(h, LOCAL_REQ(""));
    check_usage(r, 8);
    json_decref(r);
    mlops_close(h);
}

static void fallback_to_local(void **state)
{
    (void)state;
    char *remote = fmt_alloc("{\"name\": \"remote\", \"deployments\": [{\"id\": \"cloud\", "
                             "\"provider\": \"openai\", \"base_url\": \"http://127.0.0.1:%d/v1\", "
                             "\"model\": \"gpt-x\"}]},", closed_port());
    char *cfg = local_config(remote, FAST_ROUTER ", \"fallbacks\": {\"remote\": [\"offline\"]}");
    mlops_t *h = open_with(cfg);
    free(cfg);
    free(remote);
    json_t *r = chat_ok(h, "{\"model\": \"remote\", \"messages\": [{\"role\": \"user\", "
                           "\"content\": \"anyone there?\"}], \"max_tokens\": 4, \"seed\": 1}");
    assert_string_equal(mlops__json_str(xm(r), "deployment", ""), "tiny");
    assert_string_equal(json_string_value(json_array_get(json_object_get(xm(r), "fallbacks"), 0)),
                        "offline");
    json_t *attempts = json_object_get(xm(r), "attempts");
    assert_int_equal(json_array_size(attempts), 4); /* 3 refused, then local */
    assert_string_equal(mlops__json_str(json_array_get(attempts, 0), "kind", ""), "connection");
    assert_string_equal(mlops__json_str(json_array_get(attempts, 3), "provider", ""), "local");
    check_usage(r, 4);
    json_decref(r);
    /* streamed too */
    chunks c = {json_array()};
    char *out = NULL;
    assert_ok(mlops_chat_stream(h, "{\"model\": \"remote\", \"stream\": true, \"messages\": "
                                   "[{\"role\": \"user\", \"content\": \"x\"}], \"max_tokens\": 3}",
                                on_chunk, &c, &out));
    json_t *fr = json_loads(out, 0, NULL);
    assert_string_equal(mlops__json_str(xm(fr), "deployment", ""), "tiny");
    json_decref(fr);
    assert_true(json_array_size(c.list) >= 2);
    mlops_free(out);
    json_decref(c.list);
    mlops_close(h);
}

static void bad_model_path(void **state)
{
    (void)state;
    mlops_t *h = open_with("{\"models\": [{\"name\": \"m\", \"deployments\": [{\"id\": "
                           "\"broken-local\", \"provider\": \"local\", \"model_path\": "
                           "\"/nonexistent/dir/model.gguf\"}]}], \"router\": {" FAST_ROUTER "}}");
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("m"), &out), MLOPS_EPROVIDER, "broken-local");
    assert_non_null(strstr(mlops_last_error(), "/nonexistent/dir/model.gguf"));
    assert_non_null(strstr(mlops_last_error(), "cannot load"));
    assert_null(out);
    /* a file that is not GGUF */
    char *junk = fmt_alloc("%s/junk.gguf", g_dir);
    FILE *f = fopen(junk, "w");
    fputs("not a model", f);
    fclose(f);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"m\", \"deployments\": [{\"id\": \"junk\", "
                          "\"provider\": \"local\", \"model\": \"%s\"}]}]}", junk);
    assert_ok(mlops_gateway_configure(h, cfg));
    assert_status(mlops_chat(h, USER_REQ("m"), &out), MLOPS_EPROVIDER, "deployment 'junk'");
    free(cfg);
    free(junk);
    mlops_close(h);
}

static void config_errors(void **state)
{
    (void)state;
    mlops_t *h = open_with(NULL);
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"deployments\": "
                                             "[{\"provider\": \"local\", \"model\": \"x.gguf\", "
                                             "\"options\": {\"thread\": 2}}]}]}"),
                  MLOPS_ECONFIG, "deployments[0].options");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"deployments\": "
                                             "[{\"provider\": \"local\", \"model\": \"x.gguf\", "
                                             "\"chat_template\": \"nope\"}]}]}"),
                  MLOPS_ECONFIG, "chat_template");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"deployments\": "
                                             "[{\"provider\": \"local\"}]}]}"),
                  MLOPS_ECONFIG, "model_path");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"deployments\": "
                                             "[{\"provider\": \"openai\", \"base_url\": "
                                             "\"http://x\", \"model\": \"a\", \"options\": {}}]}]}"),
                  MLOPS_ECONFIG, "only for provider 'local'");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"deployments\": "
                                             "[{\"provider\": \"openai\", \"base_url\": "
                                             "\"http://x\"}]}]}"),
                  MLOPS_ECONFIG, "'model'");
    mlops_close(h);
}

/* A reload that keeps path and options keeps the loaded model; a change drops it. */
static void reload_keeps_model(void **state)
{
    (void)state;
    char *cfg = local_config(NULL, NULL);
    mlops_t *h = open_with(cfg);
    json_decref(chat_ok(h, LOCAL_REQ("")));
    assert_ok(mlops_gateway_configure(h, cfg));
    assert_true(loaded(h));
    free(cfg);
    cfg = fmt_alloc("{\"models\": [{\"name\": \"offline\", \"deployments\": [{\"id\": \"tiny\", "
                    "\"provider\": \"local\", \"model\": \"%s\", \"chat_template\": \"chatml\", "
                    "\"options\": {\"threads\": 1, \"n_ctx\": 128}}]}]}", g_model);
    assert_ok(mlops_gateway_configure(h, cfg));
    assert_false(loaded(h));
    json_t *r = chat_ok(h, LOCAL_REQ(""));
    check_usage(r, 8);
    json_decref(r);
    free(cfg);
    mlops_close(h);
}

/* The prompt does not fit the context: a context-length failure (context fallbacks). */
static void context_too_small(void **state)
{
    (void)state;
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"small\", \"deployments\": [{\"id\": "
                          "\"small\", \"provider\": \"local\", \"model\": \"%s\", \"options\": "
                          "{\"threads\": 1, \"n_ctx\": 16}}]}, {\"name\": \"offline\", "
                          "\"deployments\": [{\"id\": \"tiny\", \"provider\": \"local\", "
                          "\"model\": \"%s\", \"options\": {\"threads\": 1}}]}], \"router\": {"
                          FAST_ROUTER ", \"context_window_fallbacks\": {\"small\": [\"offline\"]}}}",
                          g_model, g_model);
    mlops_t *h = open_with(cfg);
    free(cfg);
    json_t *r = chat_ok(h, "{\"model\": \"small\", \"max_tokens\": 2, \"messages\": [{\"role\": "
                           "\"user\", \"content\": \"a long question that needs more than "
                           "sixteen tokens of context to be asked at all, surely\"}]}");
    json_t *a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_string_equal(mlops__json_str(a0, "kind", ""), "context_length");
    assert_string_equal(mlops__json_str(xm(r), "deployment", ""), "tiny");
    json_decref(r);
    mlops_close(h);
}

static mlops_t *g_h;

static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 3; i++) {
        char *out = NULL;
        int rc = mlops_chat(g_h, LOCAL_REQ(""), &out);
        mlops_free(out);
        if (rc != MLOPS_OK)
            return (void *)1;
    }
    return NULL;
}

/* Concurrent requests share the model, each on its own session. */
static void concurrent_requests(void **state)
{
    (void)state;
    char *cfg = local_config(NULL, NULL);
    g_h = open_with(cfg);
    free(cfg);
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *res = NULL;
        pthread_join(t[i], &res);
        assert_null(res);
    }
    mlops_close(g_h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(chat_local),
        cmocka_unit_test(stream_local),
        cmocka_unit_test(stream_cancel),
        cmocka_unit_test(fallback_to_local),
        cmocka_unit_test(bad_model_path),
        cmocka_unit_test(config_errors),
        cmocka_unit_test(reload_keeps_model),
        cmocka_unit_test(context_too_small),
        cmocka_unit_test(concurrent_requests),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
