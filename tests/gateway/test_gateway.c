/*
 * Gateway over real loopback HTTP: providers, translation, retries, Retry-After,
 * timeouts, cooldowns, fallbacks, balancing strategies, streaming, bad input.
 * Every path checks the stand-in's hit count: no request is lost or sent twice.
 */
#include "gw_test.h"

#include "gateway/http.h"
#include "gateway/sse.h"

#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

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

static mlops_t *one_model(stub_server *s, const char *provider, const char *dep_extra,
                          const char *router_extra)
{
    char *d = dep_json(provider, s, dep_extra);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], "
                          "\"router\": {" FAST_ROUTER "%s%s}}",
                          d, router_extra ? ", " : "", router_extra ? router_extra : "");
    mlops_t *h = open_with(cfg);
    free(d);
    free(cfg);
    return h;
}

static void openai_roundtrip(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    setenv("MLOPS_TEST_KEY", "sk-test-123", 1);
    mlops_t *h = one_model(s, "openai",
                           "\"api_key_env\": \"MLOPS_TEST_KEY\", \"input_cost_per_mtok\": 1000000, "
                           "\"output_cost_per_mtok\": 2000000, \"id\": \"a1\"", NULL);
    json_t *r = chat_ok(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"be brief\"},"
                           "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"hi\"}]}],"
                           "\"temperature\":0.5,\"logit_bias\":{\"1\":2},\"x_mlops\":{\"metadata\":{\"team\":\"t\"}}}");
    assert_string_equal(resp_content(r), "hello from A");
    assert_string_equal(json_string_value(json_object_get(xm(r), "deployment")), "a1");
    assert_int_equal(n_attempts(r), 1);
    /* cost: 10 prompt tokens at 1e6/Mtok + 5 completion tokens at 2e6/Mtok = 20 */
    assert_true(json_real_value(json_object_get(xm(r), "cost")) > 19.99);
    assert_true(json_real_value(json_object_get(xm(r), "cost")) < 20.01);
    json_t *stages = json_object_get(xm(r), "stages");
    /* keys, complexity_routing, routing, provider, ledger (Gateway II added three) */
    assert_int_equal(json_array_size(stages), 5);
    assert_string_equal(json_string_value(json_object_get(json_object_get(xm(r), "metadata"), "team")), "t");
    assert_string_equal(json_string_value(json_object_get(json_array_get(stages, 2), "name")), "routing");
    assert_string_equal(json_string_value(json_object_get(json_array_get(stages, 3), "status")), "ok");
    json_decref(r);
    assert_int_equal(stub_hits(s), 1);
    char *path = stub_last_path(s), *hdr = stub_last_headers(s), *body = stub_last_body(s);
    assert_string_equal(path, "/v1/chat/completions");
    assert_non_null(strstr(hdr, "Authorization: Bearer sk-test-123"));
    assert_non_null(strstr(body, "\"model\":\"up-openai\""));
    assert_non_null(strstr(body, "logit_bias")); /* unknown fields pass through */
    assert_null(strstr(body, "x_mlops"));        /* library options never go upstream */
    free(path);
    free(hdr);
    free(body);
    /* keep-alive: a second request reuses the connection */
    r = chat_ok(h, USER_REQ("chat"));
    json_t *a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(a0, "http")), "1.1");
    assert_true(json_is_false(json_object_get(a0, "new_connection")));
    json_decref(r);
    assert_int_equal(stub_hits(s), 2);
    assert_int_equal(stub_connections(s), 1);
    mlops_close(h);
    stub_stop(s);
}

static void azure_style_header(void **state)
{
    (void)state;
    stub_server *s = stub_start("Z");
    mlops_t *h = one_model(s, "openai",
                           "\"api_key\": \"az-key\", \"api_key_header\": \"api-key\", "
                           "\"api_version\": \"2024-06-01\", \"headers\": {\"X-Team\": \"t1\"}", NULL);
    json_decref(chat_ok(h, USER_REQ("chat")));
    char *path = stub_last_path(s), *hdr = stub_last_headers(s);
    assert_string_equal(path, "/v1/chat/completions?api-version=2024-06-01");
    assert_non_null(strstr(hdr, "api-key: az-key"));
    assert_non_null(strstr(hdr, "X-Team: t1"));
    assert_null(strstr(hdr, "Authorization"));
    free(path);
    free(hdr);
    mlops_close(h);
    stub_stop(s);
}

static void anthropic_translation(void **state)
{
    (void)state;
    stub_server *s = stub_start("B");
    stub_action a = {.kind = STUB_OK, .format = STUB_ANTHROPIC, .tool_call = true};
    stub_set_default(s, &a);
    mlops_t *h = one_model(s, "anthropic", "\"api_key\": \"ak\"", NULL);
    json_t *r = chat_ok(h,
        "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"sys\"},"
        "{\"role\":\"user\",\"content\":\"weather?\"},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c0\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Rome\\\"}\"}}]},"
        "{\"role\":\"tool\",\"tool_call_id\":\"c0\",\"content\":\"sunny\"}],"
        "\"stop\":\"END\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
        "\"parameters\":{\"type\":\"object\"}}}],\"tool_choice\":\"required\",\"user\":\"u1\"}");
    json_t *choice = json_array_get(json_object_get(r, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")), "tool_calls");
    json_t *tc = json_array_get(json_object_get(json_object_get(choice, "message"), "tool_calls"), 0);
    assert_string_equal(json_string_value(json_object_get(tc, "id")), "toolu_1");
    json_t *fn = json_object_get(tc, "function");
    assert_string_equal(json_string_value(json_object_get(fn, "name")), "get_weather");
    assert_string_equal(json_string_value(json_object_get(fn, "arguments")), "{\"city\":\"Paris\"}");
    json_t *usage = json_object_get(r, "usage");
    assert_int_equal(json_integer_value(json_object_get(usage, "prompt_tokens")), 11);
    assert_int_equal(json_integer_value(json_object_get(usage, "completion_tokens")), 7);
    json_decref(r);
    char *path = stub_last_path(s), *hdr = stub_last_headers(s), *body = stub_last_body(s);
    assert_string_equal(path, "/v1/messages");
    assert_non_null(strstr(hdr, "x-api-key: ak"));
    assert_non_null(strstr(hdr, "anthropic-version: 2023-06-01"));
    json_t *b = json_loads(body, 0, NULL);
    assert_non_null(b);
    assert_string_equal(json_string_value(json_object_get(b, "system")), "sys");
    assert_int_equal(json_integer_value(json_object_get(b, "max_tokens")), 4096);
    assert_string_equal(json_string_value(json_array_get(json_object_get(b, "stop_sequences"), 0)), "END");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "tool_choice"), "type")), "any");
    assert_string_equal(json_string_value(json_object_get(json_object_get(b, "metadata"), "user_id")), "u1");
    json_t *msgs = json_object_get(b, "messages");
    assert_int_equal(json_array_size(msgs), 3); /* user, assistant(tool_use), user(tool_result) */
    json_t *tu = json_array_get(json_object_get(json_array_get(msgs, 1), "content"), 0);
    assert_string_equal(json_string_value(json_object_get(tu, "type")), "tool_use");
    assert_string_equal(json_string_value(json_object_get(json_object_get(tu, "input"), "city")), "Rome");
    json_t *tr = json_array_get(json_object_get(json_array_get(msgs, 2), "content"), 0);
    assert_string_equal(json_string_value(json_object_get(tr, "type")), "tool_result");
    json_decref(b);
    free(path);
    free(hdr);
    free(body);
    /* an Anthropic error body is mapped and named */
    stub_action e = {.kind = STUB_STATUS, .status = 401,
                     .body = "{\"type\":\"error\",\"error\":{\"type\":\"authentication_error\",\"message\":\"invalid x-api-key\"}}"};
    stub_push(s, &e);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "authentication_error");
    assert_non_null(strstr(mlops_last_error(), "upstream status 401"));
    assert_non_null(strstr(mlops_last_error(), "chat#0"));
    assert_null(out);
    mlops_close(h);
    stub_stop(s);
}

static void ollama_translation(void **state)
{
    (void)state;
    stub_server *s = stub_start("C");
    stub_action a = {.kind = STUB_OK, .format = STUB_OLLAMA};
    stub_set_default(s, &a);
    mlops_t *h = one_model(s, "ollama", NULL, NULL);
    json_t *r = chat_ok(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                           "\"max_tokens\":33,\"temperature\":0.1,\"response_format\":{\"type\":\"json_object\"}}");
    assert_string_equal(resp_content(r), "hello from C");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(r, "usage"), "completion_tokens")), 8);
    json_decref(r);
    char *path = stub_last_path(s), *body = stub_last_body(s);
    assert_string_equal(path, "/api/chat");
    json_t *b = json_loads(body, 0, NULL);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(b, "options"), "num_predict")), 33);
    assert_string_equal(json_string_value(json_object_get(b, "format")), "json");
    assert_true(json_is_false(json_object_get(b, "stream")));
    json_decref(b);
    free(path);
    free(body);
    a.tool_call = true;
    stub_push(s, &a);
    r = chat_ok(h, USER_REQ("chat"));
    json_t *choice = json_array_get(json_object_get(r, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")), "tool_calls");
    json_decref(r);
    mlops_close(h);
    stub_stop(s);
}

static void retry_then_success(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    mlops_t *h = one_model(s, "openai", NULL, "\"cooldown\": {\"allowed_fails\": 10}");
    stub_action e500 = {.kind = STUB_STATUS, .status = 500};
    stub_action drop = {.kind = STUB_DROP};
    stub_push(s, &e500);
    stub_push(s, &drop);
    json_t *r = chat_ok(h, USER_REQ("chat"));
    assert_int_equal(n_attempts(r), 3);
    json_t *att = json_object_get(xm(r), "attempts");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(att, 0), "status")), 500);
    assert_string_equal(json_string_value(json_object_get(json_array_get(att, 1), "kind")), "connection");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(att, 2), "status")), 200);
    json_decref(r);
    assert_int_equal(stub_hits(s), 3);
    /* truncated body: the connection breaks mid-body, retried */
    stub_action tr = {.kind = STUB_TRUNCATED};
    stub_push(s, &tr);
    r = chat_ok(h, USER_REQ("chat"));
    assert_int_equal(n_attempts(r), 2);
    json_decref(r);
    assert_int_equal(stub_hits(s), 5);
    mlops_close(h);
    stub_stop(s);
}

static void retries_spent_and_non_retryable(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    mlops_t *h = one_model(s, "openai", NULL, "\"cooldown\": {\"allowed_fails\": 0}");
    stub_action e503 = {.kind = STUB_STATUS, .status = 503};
    stub_set_default(s, &e503);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "upstream status 503");
    assert_non_null(strstr(mlops_last_error(), "deployment 'chat#0'"));
    assert_non_null(strstr(mlops_last_error(), "3 attempts"));
    assert_null(out);
    assert_int_equal(stub_hits(s), 3);
    /* 400 is the caller's fault: one attempt, no retry */
    stub_action e400 = {.kind = STUB_STATUS, .status = 400,
                        .body = "{\"error\":{\"message\":\"bad temperature\",\"type\":\"invalid_request_error\"}}"};
    stub_push(s, &e400);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "bad temperature");
    assert_non_null(strstr(mlops_last_error(), "upstream status 400"));
    assert_int_equal(stub_hits(s), 4);
    /* malformed JSON in a 200: reported, not retried */
    stub_action mal = {.kind = STUB_MALFORMED};
    stub_push(s, &mal);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "malformed");
    assert_int_equal(stub_hits(s), 5);
    /* 429 until retries are spent: a rate-limit error saying when to retry */
    stub_action e429 = {.kind = STUB_STATUS, .status = 429, .headers = "retry-after-ms: 5\r\n"};
    stub_set_default(s, &e429);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ERATELIMIT, "upstream status 429");
    assert_non_null(strstr(mlops_last_error(), "retry after 5 ms"));
    assert_int_equal(stub_hits(s), 8);
    /* the handle keeps working */
    stub_action ok = {.kind = STUB_OK};
    stub_set_default(s, &ok);
    mlops__sleep_ms(10);
    json_decref(chat_ok(h, USER_REQ("chat")));
    mlops_close(h);
    stub_stop(s);
}

static void retry_after_is_honoured(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    mlops_t *h = one_model(s, "openai", NULL, NULL);
    stub_action e429 = {.kind = STUB_STATUS, .status = 429, .headers = "Retry-After: 1\r\n"};
    stub_push(s, &e429);
    uint64_t t0 = mlops__now_ns();
    json_t *r = chat_ok(h, USER_REQ("chat"));
    uint64_t waited_ms = (mlops__now_ns() - t0) / 1000000u;
    assert_int_equal(n_attempts(r), 2);
    json_t *a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_int_equal(json_integer_value(json_object_get(a0, "retry_after_ms")), 1000);
    /* the retry waited for Retry-After (a lower bound: never asserts an upper one) */
    assert_true(waited_ms >= 990);
    json_decref(r);
    assert_int_equal(stub_hits(s), 2);
    /* Retry-After beyond retry_after_max_ms: give up at once rather than wait */
    mlops_close(h);
    h = one_model(s, "openai", NULL, "\"retry_after_max_ms\": 100");
    stub_action long429 = {.kind = STUB_STATUS, .status = 429, .headers = "Retry-After: 3600\r\n"};
    stub_push(s, &long429);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ERATELIMIT, "retry after 3600000 ms");
    assert_int_equal(stub_hits(s), 3);
    mlops_close(h);
    stub_stop(s);
}

static void timeouts(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    mlops_t *h = one_model(s, "openai", "\"timeout_ms\": 150", "\"retries\": 0");
    stub_action slow = {.kind = STUB_OK, .first_byte_delay_ms = 2000};
    stub_push(s, &slow);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ETIMEOUT, "chat#0");
    assert_non_null(strstr(mlops_last_error(), "timed out"));
    stub_action slow_body = {.kind = STUB_OK, .body_delay_ms = 2000};
    stub_push(s, &slow_body);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ETIMEOUT, "chat#0");
    assert_int_equal(stub_hits(s), 2);
    mlops_close(h);
    /* the overall deadline (x_mlops.timeout_ms) bounds retries too */
    h = one_model(s, "openai", "\"timeout_ms\": 5000", "\"retries\": 5");
    stub_push(s, &slow);
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                                "\"x_mlops\":{\"timeout_ms\":150}}", &out),
                  MLOPS_ETIMEOUT, "deadline");
    assert_int_equal(stub_hits(s), 3);
    mlops_close(h);
    stub_stop(s);
}

static json_t *status_of(mlops_t *h, const char *dep_id)
{
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    json_t *j = json_loads(st, 0, NULL);
    mlops_free(st);
    json_t *found = NULL;
    size_t i, k;
    json_t *m, *d;
    json_array_foreach(json_object_get(j, "models"), i, m)
        json_array_foreach(json_object_get(m, "deployments"), k, d)
            if (strcmp(json_string_value(json_object_get(d, "id")), dep_id) == 0)
                found = json_incref(d);
    json_decref(j);
    assert_non_null(found);
    return found;
}

static void cooldown_and_half_open(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    char *da = dep_json("openai", a, "\"id\": \"a\", \"priority\": 0");
    char *db = dep_json("openai", b, "\"id\": \"b\", \"priority\": 1");
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s, %s]}], "
                          "\"router\": {\"strategy\": \"priority\", " FAST_ROUTER ", "
                          "\"cooldown\": {\"allowed_fails\": 2, \"window_s\": 60, \"cooldown_s\": 0.8}}}",
                          da, db);
    mlops_t *h = open_with(cfg);
    stub_action e500 = {.kind = STUB_STATUS, .status = 500};
    stub_set_default(a, &e500);
    json_t *r = chat_ok(h, USER_REQ("chat")); /* a fails once, b answers */
    assert_string_equal(resp_content(r), "hello from B");
    assert_int_equal(n_attempts(r), 2);
    json_decref(r);
    json_decref(chat_ok(h, USER_REQ("chat"))); /* a fails twice: cools down */
    assert_int_equal(stub_hits(a), 2);
    json_t *st = status_of(h, "a");
    assert_string_equal(json_string_value(json_object_get(st, "state")), "open");
    assert_true(json_integer_value(json_object_get(st, "cooldown_remaining_ms")) > 0);
    json_decref(st);
    for (int i = 0; i < 5; i++) {
        r = chat_ok(h, USER_REQ("chat"));
        assert_int_equal(n_attempts(r), 1); /* straight to b */
        json_decref(r);
    }
    assert_int_equal(stub_hits(a), 2);
    /* after the cooldown one probe goes to a; it fails: open again */
    mlops__sleep_ms(850);
    r = chat_ok(h, USER_REQ("chat"));
    assert_int_equal(n_attempts(r), 2);
    json_decref(r);
    assert_int_equal(stub_hits(a), 3);
    st = status_of(h, "a");
    assert_string_equal(json_string_value(json_object_get(st, "state")), "open");
    json_decref(st);
    /* a recovers: the next probe succeeds and closes the breaker */
    stub_action ok = {.kind = STUB_OK};
    stub_set_default(a, &ok);
    mlops__sleep_ms(850);
    r = chat_ok(h, USER_REQ("chat"));
    assert_string_equal(resp_content(r), "hello from A");
    json_decref(r);
    st = status_of(h, "a");
    assert_string_equal(json_string_value(json_object_get(st, "state")), "closed");
    json_decref(st);
    /* a 429 cools a deployment at once */
    stub_action e429 = {.kind = STUB_STATUS, .status = 429};
    stub_push(a, &e429);
    json_decref(chat_ok(h, USER_REQ("chat")));
    st = status_of(h, "a");
    assert_string_equal(json_string_value(json_object_get(st, "state")), "open");
    assert_int_equal(json_integer_value(json_object_get(st, "last_status")), 429);
    json_decref(st);
    /* a reload keeps what the router learned about a deployment with the same id */
    assert_ok(mlops_gateway_configure(h, cfg));
    st = status_of(h, "a");
    assert_string_equal(json_string_value(json_object_get(st, "state")), "open");
    assert_true(json_integer_value(json_object_get(st, "requests")) >= 5);
    json_decref(st);
    free(da);
    free(db);
    free(cfg);
    mlops_close(h);
    stub_stop(a);
    stub_stop(b);
}

static void fallbacks(void **state)
{
    (void)state;
    stub_server *b = stub_start("backup"), *big = stub_start("big"), *safe = stub_start("safe");
    int dead = closed_port();
    char *db = dep_json("openai", b, NULL), *dbig = dep_json("openai", big, "\"context_window\": 100000");
    char *dsafe = dep_json("openai", safe, NULL);
    char *cfg = fmt_alloc(
        "{\"models\": [{\"name\": \"chat\", \"deployments\": [{\"provider\": \"openai\", "
        "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"m\", \"id\": \"dead\"}]},"
        "{\"name\": \"small\", \"deployments\": [{\"provider\": \"openai\", \"base_url\": "
        "\"http://127.0.0.1:%d/v1\", \"model\": \"m\", \"context_window\": 50}]},"
        "{\"name\": \"backup\", \"deployments\": [%s]}, {\"name\": \"big\", \"deployments\": [%s]},"
        "{\"name\": \"safe\", \"deployments\": [%s]}],"
        "\"router\": {" FAST_ROUTER ", \"fallbacks\": {\"chat\": [\"backup\"], \"small\": [\"backup\"]},"
        "\"context_window_fallbacks\": {\"small\": [\"big\"], \"backup\": [\"big\"]},"
        "\"content_policy_fallbacks\": {\"backup\": [\"safe\"]}}}",
        dead, stub_port(b), db, dbig, dsafe);
    mlops_t *h = open_with(cfg);
    /* connection refused on every attempt, then the fallback model answers */
    json_t *r = chat_ok(h, USER_REQ("chat"));
    assert_string_equal(resp_content(r), "hello from backup");
    assert_string_equal(json_string_value(json_array_get(json_object_get(xm(r), "fallbacks"), 0)), "backup");
    assert_int_equal(n_attempts(r), 4);
    json_decref(r);
    /* pre-call check: a prompt bigger than the context window skips to the big model */
    char longmsg[2000];
    memset(longmsg, 'x', sizeof longmsg - 1);
    longmsg[sizeof longmsg - 1] = '\0';
    char *req = fmt_alloc("{\"model\":\"small\",\"messages\":[{\"role\":\"user\",\"content\":\"%s\"}]}", longmsg);
    r = chat_ok(h, req);
    assert_string_equal(resp_content(r), "hello from big");
    assert_int_equal(n_attempts(r), 1);
    json_decref(r);
    free(req);
    /* a context-length error from upstream goes to the context-window fallback */
    stub_action ctx = {.kind = STUB_STATUS, .status = 400,
                       .body = "{\"error\":{\"message\":\"This model's maximum context length is 8192 tokens\","
                               "\"type\":\"invalid_request_error\",\"code\":\"context_length_exceeded\"}}"};
    stub_push(b, &ctx);
    r = chat_ok(h, USER_REQ("backup"));
    assert_string_equal(resp_content(r), "hello from big");
    json_t *a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(a0, "kind")), "context_length");
    json_decref(r);
    /* a content-policy refusal goes to the content-policy fallback */
    stub_action pol = {.kind = STUB_STATUS, .status = 400,
                       .body = "{\"error\":{\"message\":\"flagged\",\"code\":\"content_policy_violation\"}}"};
    stub_push(b, &pol);
    r = chat_ok(h, USER_REQ("backup"));
    assert_string_equal(resp_content(r), "hello from safe");
    json_decref(r);
    /* fallbacks can be switched off per request */
    char *out = NULL;
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
                                "\"x_mlops\":{\"fallbacks\":false}}", &out),
                  MLOPS_EPROVIDER, "deployment 'dead'");
    free(db);
    free(dbig);
    free(dsafe);
    free(cfg);
    mlops_close(h);
    stub_stop(b);
    stub_stop(big);
    stub_stop(safe);
}

/* Config with two deployments a and b on servers sa and sb, given a strategy. */
static mlops_t *two_deps(stub_server *sa, stub_server *sb, const char *strategy,
                         const char *ea, const char *eb)
{
    char xa[256], xb[256];
    snprintf(xa, sizeof xa, "\"id\": \"a\"%s%s", ea ? ", " : "", ea ? ea : "");
    snprintf(xb, sizeof xb, "\"id\": \"b\"%s%s", eb ? ", " : "", eb ? eb : "");
    char *da = dep_json("openai", sa, xa), *db = dep_json("openai", sb, xb);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s, %s]}], "
                          "\"router\": {\"strategy\": \"%s\", " FAST_ROUTER "}}", da, db, strategy);
    mlops_t *h = open_with(cfg);
    free(da);
    free(db);
    free(cfg);
    return h;
}

static void run_n(mlops_t *h, int n)
{
    for (int i = 0; i < n; i++)
        json_decref(chat_ok(h, USER_REQ("chat")));
}

typedef struct slow_call {
    mlops_t *h;
    int rc;
} slow_call;

static void *slow_caller(void *p)
{
    slow_call *c = p;
    char *out = NULL;
    c->rc = mlops_chat(c->h, USER_REQ("chat"), &out);
    mlops_free(out);
    return NULL;
}

static void strategies(void **state)
{
    (void)state;
    stub_server *sa = stub_start("A"), *sb = stub_start("B");
    /* weighted: 3:1 */
    mlops_t *h = two_deps(sa, sb, "weighted", "\"weight\": 3", "\"weight\": 1");
    run_n(h, 200);
    int ha = stub_hits(sa), hb = stub_hits(sb);
    assert_int_equal(ha + hb, 200);
    assert_true(ha > 110 && ha < 185);
    mlops_close(h);
    /* weight 0 is never chosen while another deployment can serve */
    stub_reset_hits(sa);
    stub_reset_hits(sb);
    h = two_deps(sa, sb, "weighted", "\"weight\": 0", "\"weight\": 1");
    run_n(h, 20);
    assert_int_equal(stub_hits(sa), 0);
    mlops_close(h);
    /* priority */
    stub_reset_hits(sb);
    h = two_deps(sa, sb, "priority", "\"priority\": 5", "\"priority\": 1");
    run_n(h, 10);
    assert_int_equal(stub_hits(sb), 10);
    mlops_close(h);
    /* lowest_cost */
    stub_reset_hits(sa);
    h = two_deps(sa, sb, "lowest_cost", "\"input_cost_per_mtok\": 0.1, \"output_cost_per_mtok\": 0.2",
                 "\"input_cost_per_mtok\": 3, \"output_cost_per_mtok\": 15");
    run_n(h, 10);
    assert_int_equal(stub_hits(sa), 10);
    mlops_close(h);
    /* lowest_latency: once both are measured, the fast one takes the traffic */
    stub_action slow = {.kind = STUB_OK, .first_byte_delay_ms = 40};
    stub_set_default(sa, &slow);
    h = two_deps(sa, sb, "lowest_latency", NULL, NULL);
    run_n(h, 4);
    stub_reset_hits(sa);
    stub_reset_hits(sb);
    run_n(h, 10);
    assert_int_equal(stub_hits(sb), 10);
    mlops_close(h);
    /* least_busy: while a holds a slow request, the next goes to b */
    stub_reset_hits(sa);
    stub_reset_hits(sb);
    stub_action slower = {.kind = STUB_OK, .first_byte_delay_ms = 1000};
    stub_set_default(sa, &slower);
    stub_set_default(sb, &slower);
    h = two_deps(sa, sb, "least_busy", NULL, NULL);
    slow_call c = {h, -1};
    pthread_t t;
    pthread_create(&t, NULL, slow_caller, &c);
    for (int i = 0; i < 200 && stub_hits(sa) + stub_hits(sb) == 0; i++)
        mlops__sleep_ms(5);
    int first_a = stub_hits(sa);
    run_n(h, 1);
    pthread_join(t, NULL);
    assert_ok(c.rc);
    assert_int_equal(stub_hits(sa), 1);
    assert_int_equal(stub_hits(sb), 1);
    (void)first_a;
    mlops_close(h);
    /* max_parallel: a single deployment with max_parallel 1 refuses a second at once */
    stub_reset_hits(sa);
    char *d = dep_json("openai", sa, "\"max_parallel\": 1");
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}]}", d);
    h = open_with(cfg);
    c.h = h;
    pthread_create(&t, NULL, slow_caller, &c);
    for (int i = 0; i < 200 && stub_hits(sa) == 0; i++)
        mlops__sleep_ms(5);
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ERATELIMIT, "max_parallel");
    pthread_join(t, NULL);
    assert_ok(c.rc);
    mlops_close(h);
    free(d);
    free(cfg);
    /* usage: rpm headroom; a deployment at its rpm is skipped */
    stub_action ok = {.kind = STUB_OK};
    stub_set_default(sa, &ok);
    stub_set_default(sb, &ok);
    stub_reset_hits(sa);
    stub_reset_hits(sb);
    h = two_deps(sa, sb, "usage", "\"rpm\": 2", "\"rpm\": 100");
    run_n(h, 12);
    assert_true(stub_hits(sa) <= 2);
    assert_int_equal(stub_hits(sa) + stub_hits(sb), 12);
    mlops_close(h);
    /* rpm on the only deployment: the third request in the minute is refused */
    stub_reset_hits(sa);
    d = dep_json("openai", sa, "\"rpm\": 2");
    cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}]}", d);
    h = open_with(cfg);
    run_n(h, 2);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ERATELIMIT, "rpm");
    assert_int_equal(stub_hits(sa), 2);
    mlops_close(h);
    free(d);
    free(cfg);
    /* tpm: each reply reports 15 tokens; a budget of 30 a minute serves two */
    stub_reset_hits(sa);
    d = dep_json("openai", sa, "\"tpm\": 30");
    cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}]}", d);
    h = open_with(cfg);
    run_n(h, 2);
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ERATELIMIT, "rpm/tpm");
    assert_int_equal(stub_hits(sa), 2);
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    assert_non_null(strstr(st, "\"minute_tokens\":30"));
    mlops_free(st);
    mlops_close(h);
    free(d);
    free(cfg);
    stub_stop(sa);
    stub_stop(sb);
}

static void pipeline_switches(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    char *d = dep_json("openai", s, NULL);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], "
                          "\"pipeline\": {\"routing\": false}}", d);
    mlops_t *h = open_with(cfg);
    json_t *r = chat_ok(h, USER_REQ("chat"));
    json_t *stages = json_object_get(xm(r), "stages");
    /* stages: keys, complexity_routing, routing (2), provider (3), ledger */
    assert_string_equal(json_string_value(json_object_get(json_array_get(stages, 2), "status")), "disabled");
    assert_string_equal(json_string_value(json_object_get(json_array_get(stages, 3), "status")), "ok");
    json_decref(r);
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    assert_non_null(strstr(st, "{\"name\":\"routing\",\"enabled\":false}"));
    mlops_free(st);
    free(cfg);
    /* with the provider stage off nothing answers: a clear error, not a crash */
    cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], "
                    "\"pipeline\": {\"provider\": false}}", d);
    assert_ok(mlops_gateway_configure(h, cfg));
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EUNSUPPORTED, "gateway.pipeline.provider");
    assert_int_equal(stub_hits(s), 1);
    mlops_close(h);
    free(d);
    free(cfg);
    stub_stop(s);
}

typedef struct collected {
    mlops__buf text;
    int chunks;
    int cancel_after;
    bool all_chunks;
} collected;

static int collect(const char *chunk_json, void *user)
{
    collected *c = user;
    json_t *j = json_loads(chunk_json, 0, NULL);
    c->all_chunks = c->all_chunks && j &&
                    strcmp(json_string_value(json_object_get(j, "object")), "chat.completion.chunk") == 0;
    const char *t = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(j, "choices"), 0), "delta"), "content"));
    if (t)
        mlops__buf_puts(&c->text, t);
    json_decref(j);
    c->chunks++;
    return c->cancel_after > 0 && c->chunks >= c->cancel_after;
}

static void stream_one(enum stub_format fmt, const char *provider, bool tool)
{
    stub_server *s = stub_start("S");
    stub_action a = {.kind = STUB_OK, .format = fmt, .tool_call = tool,
                     .text = "The quick brown fox jumps"};
    stub_set_default(s, &a);
    mlops_t *h = one_model(s, provider, NULL, NULL);
    collected c = {.all_chunks = true};
    mlops__buf_init(&c.text);
    char *out = NULL;
    assert_ok(mlops_chat_stream(h, "{\"model\":\"chat\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}",
                                collect, &c, &out));
    assert_true(c.all_chunks);
    assert_true(c.chunks >= 3);
    assert_string_equal(c.text.data, "The quick brown fox jumps");
    json_t *r = json_loads(out, 0, NULL);
    assert_string_equal(resp_content(r), "The quick brown fox jumps");
    json_t *choice = json_array_get(json_object_get(r, "choices"), 0);
    assert_string_equal(json_string_value(json_object_get(choice, "finish_reason")), tool ? "tool_calls" : "stop");
    json_t *usage = json_object_get(r, "usage");
    assert_true(json_integer_value(json_object_get(usage, "completion_tokens")) > 0);
    assert_null(json_object_get(xm(r), "usage_estimated"));
    assert_false(json_is_true(json_object_get(json_object_get(xm(r), "stream"), "broken")));
    if (tool) {
        json_t *tc = json_array_get(json_object_get(json_object_get(choice, "message"), "tool_calls"), 0);
        json_t *fn = json_object_get(tc, "function");
        assert_string_equal(json_string_value(json_object_get(fn, "name")), "get_weather");
        json_t *args = json_loads(json_string_value(json_object_get(fn, "arguments")), 0, NULL);
        assert_string_equal(json_string_value(json_object_get(args, "city")), "Paris");
        json_decref(args);
    }
    json_decref(r);
    mlops_free(out);
    mlops__buf_free(&c.text);
    assert_int_equal(stub_hits(s), 1);
    mlops_close(h);
    stub_stop(s);
}

static void streaming_all_providers(void **state)
{
    (void)state;
    stream_one(STUB_OPENAI, "openai", false);
    stream_one(STUB_ANTHROPIC, "anthropic", false);
    stream_one(STUB_OLLAMA, "ollama", false);
    stream_one(STUB_OPENAI, "openai", true);
    stream_one(STUB_ANTHROPIC, "anthropic", true);
}

static void streaming_failures(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    mlops_t *h = two_deps(a, b, "priority", "\"priority\": 0, \"first_byte_timeout_ms\": 150",
                          "\"priority\": 1");
    const char *req = "{\"model\":\"chat\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    /* a 500 before the first chunk: the retry goes to b, chunks only from b */
    stub_action e500 = {.kind = STUB_STATUS, .status = 500};
    stub_push(a, &e500);
    collected c = {.all_chunks = true};
    mlops__buf_init(&c.text);
    char *out = NULL;
    assert_ok(mlops_chat_stream(h, req, collect, &c, &out));
    assert_string_equal(c.text.data, "hello from B");
    mlops_free(out);
    /* no first byte in time: time-to-first-byte timeout, then b */
    stub_action slow = {.kind = STUB_OK, .first_byte_delay_ms = 3000};
    stub_push(a, &slow);
    c.text.len = 0;
    assert_ok(mlops_chat_stream(h, req, collect, &c, &out));
    json_t *r = json_loads(out, 0, NULL);
    json_t *a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_string_equal(json_string_value(json_object_get(a0, "kind")), "timeout");
    json_decref(r);
    mlops_free(out);
    /* cut mid-way: reported as broken, no retry once chunks went out */
    int hits_a = stub_hits(a), hits_b = stub_hits(b);
    stub_action cut = {.kind = STUB_OK, .cut_after = 2, .text = "one two three four five"};
    stub_push(a, &cut);
    c.text.len = 0;
    c.chunks = 0;
    assert_status(mlops_chat_stream(h, req, collect, &c, &out), MLOPS_EPROVIDER, "stream broken after 2 chunks");
    assert_non_null(strstr(mlops_last_error(), "deployment 'a'"));
    assert_int_equal(c.chunks, 2);
    assert_non_null(out);
    r = json_loads(out, 0, NULL);
    assert_true(json_is_true(json_object_get(json_object_get(xm(r), "stream"), "broken")));
    assert_string_equal(resp_content(r), "one ");
    json_decref(r);
    mlops_free(out);
    assert_int_equal(stub_hits(a), hits_a + 1);
    assert_int_equal(stub_hits(b), hits_b);
    /* a stream that stalls mid-way: the attempt timeout ends it, reported as a broken
     * stream with the timeout's status code, and not retried */
    mlops_close(h);
    h = one_model(a, "openai", "\"timeout_ms\": 400", NULL);
    stub_action stall = {.kind = STUB_OK, .body_delay_ms = 150, .text = "a b c d e f g h i j k l m n o p"};
    stub_push(a, &stall);
    hits_a = stub_hits(a);
    c.chunks = 0;
    assert_status(mlops_chat_stream(h, req, collect, &c, &out), MLOPS_ETIMEOUT, "stream broken after");
    assert_true(c.chunks >= 1);
    assert_int_equal(stub_hits(a), hits_a + 1);
    mlops_free(out);
    /* anthropic stream cut, and an SSE stream with no end marker */
    mlops_close(h);
    h = one_model(a, "anthropic", NULL, NULL);
    stub_action acut = {.kind = STUB_OK, .format = STUB_ANTHROPIC, .cut_after = 4};
    stub_push(a, &acut);
    assert_status(mlops_chat_stream(h, req, collect, &c, &out), MLOPS_EPROVIDER, "stream broken");
    mlops_free(out);
    mlops_close(h);
    h = one_model(a, "ollama", NULL, NULL);
    stub_action ocut = {.kind = STUB_OK, .format = STUB_OLLAMA, .cut_after = 2};
    stub_push(a, &ocut);
    c.chunks = 0;
    assert_status(mlops_chat_stream(h, req, collect, &c, &out), MLOPS_EPROVIDER, "stream broken after 2 chunks");
    mlops_free(out);
    mlops_close(h);
    h = one_model(a, "anthropic", NULL, NULL);
    /* an overloaded_error right after message_start: nothing reached the caller yet, so
     * the attempt is retried and the caller sees one clean stream */
    stub_action over = {.kind = STUB_OK, .format = STUB_ANTHROPIC, .error_after = 1};
    stub_action aok = {.kind = STUB_OK, .format = STUB_ANTHROPIC, .text = "fine"};
    stub_push(a, &over);
    stub_push(a, &aok);
    c.chunks = 0;
    c.text.len = 0;
    assert_ok(mlops_chat_stream(h, req, collect, &c, &out));
    assert_string_equal(c.text.data, "fine");
    r = json_loads(out, 0, NULL);
    assert_int_equal(n_attempts(r), 2);
    a0 = json_array_get(json_object_get(xm(r), "attempts"), 0);
    assert_int_equal(json_integer_value(json_object_get(a0, "status")), 529);
    json_decref(r);
    mlops_free(out);
    /* the chunk function cancels */
    c.cancel_after = 1;
    c.chunks = 0;
    stub_action ok = {.kind = STUB_OK, .format = STUB_ANTHROPIC};
    stub_push(a, &ok);
    assert_status(mlops_chat_stream(h, req, collect, &c, &out), MLOPS_ECANCELED, "canceled");
    assert_int_equal(c.chunks, 1);
    mlops_free(out);
    mlops__buf_free(&c.text);
    mlops_close(h);
    stub_stop(a);
    stub_stop(b);
}

static void bad_input(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    mlops_t *h = one_model(s, "openai", NULL, NULL);
    char *out = NULL;
    assert_status(mlops_chat(h, "{\"model\": ", &out), MLOPS_EPARSE, "request");
    assert_status(mlops_chat(h, "[]", &out), MLOPS_EINVAL, "request: expected a JSON object");
    assert_status(mlops_chat(h, "{\"messages\":[]}", &out), MLOPS_EINVAL, "request.model");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[]}", &out), MLOPS_EINVAL, "request.messages: must not be empty");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"bot\",\"content\":\"x\"}]}", &out),
                  MLOPS_EINVAL, "request.messages[0].role: 'bot'");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":5}", &out),
                  MLOPS_EINVAL, "request.temperature");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"n\":2}", &out),
                  MLOPS_EINVAL, "request.n");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}", &out),
                  MLOPS_EINVAL, "tool_call_id");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"video\"}]}]}", &out),
                  MLOPS_EINVAL, "request.messages[0].content[0].type");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"x_mlops\":{\"nope\":1}}", &out),
                  MLOPS_EINVAL, "request.x_mlops: unknown key 'nope'");
    assert_status(mlops_chat(h, "{\"model\":\"chat\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}", &out),
                  MLOPS_EINVAL, "mlops_chat_stream");
    assert_status(mlops_chat(h, USER_REQ("nope"), &out), MLOPS_ENOTFOUND, "unknown model 'nope'");
    assert_status(mlops_chat(NULL, USER_REQ("chat"), &out), MLOPS_EINVAL, "mlops_chat");
    assert_status(mlops_chat(h, NULL, &out), MLOPS_EINVAL, "request_json");
    assert_null(out);
    assert_int_equal(stub_hits(s), 0);
    /* bad configs: named keys, the old config stays in force */
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"x\"}]}"), MLOPS_ECONFIG,
                  "models[0]: missing required key 'deployments'");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"x\", \"deployments\": [{\"provider\": \"openai\", "
                                             "\"base_url\": \"ftp://h\", \"model\": \"m\"}]}]}"),
                  MLOPS_ECONFIG, "models[0].deployments[0].base_url");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"x\", \"deployments\": [{\"provider\": \"openai\", "
                                             "\"base_url\": \"http://h\", \"model\": \"m\", \"rpmm\": 1}]}]}"),
                  MLOPS_ECONFIG, "unknown key 'rpmm'");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"x\", \"deployments\": [{\"provider\": \"grok\", "
                                             "\"base_url\": \"http://h\", \"model\": \"m\"}]}]}"),
                  MLOPS_ECONFIG, "provider: 'grok'");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"x\", \"deployments\": [{\"provider\": \"local\", "
                                             "\"base_url\": \"http://h\", \"model\": \"m\"}]}]}"),
                  MLOPS_ECONFIG, "in-process engine");
    assert_status(mlops_gateway_configure(h, "{\"router\": {\"strategy\": \"fastest\"}}"), MLOPS_ECONFIG,
                  "router.strategy: 'fastest'");
    assert_status(mlops_gateway_configure(h, "{\"router\": {\"fallbacks\": {\"chat\": [\"ghost\"]}}}"), MLOPS_ECONFIG,
                  "unknown model 'ghost'");
    assert_status(mlops_gateway_configure(h, "{\"pipeline\": {\"cache\": true}}"), MLOPS_ECONFIG,
                  "unknown stage 'cache'");
    assert_status(mlops_gateway_configure(h, "{\"router\": {\"cooldown\": {\"cooldown_s\": \"5\"}}}"), MLOPS_ECONFIG,
                  "router.cooldown.cooldown_s: expected number");
    assert_status(mlops_gateway_configure(h, "{oops"), MLOPS_ECONFIG, "gateway config");
    /* the same checks run on mlops_open's "gateway" section */
    mlops_t *h2 = NULL;
    assert_status(mlops_open(":memory:", "{\"gateway\": {\"modelz\": []}}", &h2), MLOPS_ECONFIG,
                  "config.gateway: unknown key 'modelz'");
    json_decref(chat_ok(h, USER_REQ("chat")));
    /* a gateway section in mlops_open works like mlops_gateway_configure */
    char *d = dep_json("openai", s, NULL);
    char *cfg = fmt_alloc("{\"gateway\": {\"models\": [{\"name\": \"m2\", \"deployments\": [%s]}]}}", d);
    assert_ok(mlops_open(":memory:", cfg, &h2));
    json_decref(chat_ok(h2, USER_REQ("m2")));
    mlops_close(h2);
    free(d);
    free(cfg);
    /* switching the provider stage off: nothing answers */
    assert_ok(mlops_gateway_configure(h, "{\"pipeline\": {\"provider\": false}}"));
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_ENOTFOUND, "unknown model");
    mlops_close(h);
    stub_stop(s);
}

static void load_file_and_missing_env(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    char *dir = test_tmpdir();
    char *path = test_path(dir, "gw.json");
    char *d = dep_json("openai", s, "\"api_key_env\": \"MLOPS_TEST_UNSET_VAR\"");
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], \"router\": {\"retries\": 0}}", d);
    FILE *f = fopen(path, "w");
    fputs(cfg, f);
    fclose(f);
    unsetenv("MLOPS_TEST_UNSET_VAR");
    mlops_t *h = open_with(NULL);
    assert_status(mlops_gateway_load(h, "/nonexistent/gw.json"), MLOPS_EIO, "gw.json");
    assert_ok(mlops_gateway_load(h, path));
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "MLOPS_TEST_UNSET_VAR");
    assert_int_equal(stub_hits(s), 0);
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    assert_non_null(strstr(st, "\"api_key_set\":false"));
    mlops_free(st);
    mlops_close(h);
    free(d);
    free(cfg);
    free(path);
    test_tmpdir_remove(dir);
    stub_stop(s);
}

typedef struct sse_events {
    char got[16][64];
    int n;
} sse_events;

static int sse_collect(void *user, const char *event, const char *data, size_t len)
{
    sse_events *e = user;
    if (e->n < 16)
        snprintf(e->got[e->n++], sizeof e->got[0], "%s|%.*s", event, (int)len, data);
    return 0;
}

static void sse_chunk_boundaries(void **state)
{
    (void)state;
    const char *stream = ": keep-alive\r\n"
                         "event: message_start\r\ndata: {\"a\":1}\r\n\r\n"
                         "data: line1\ndata:line2\n\n"
                         "data: [DONE]\r\r"
                         "event: ignored-without-data\n\n"
                         "data: tail-without-blank-line";
    /* the same events whatever the split: whole, byte by byte, and every 2..7 bytes */
    for (size_t step = 0; step <= 7; step++) {
        mlops__sse p;
        mlops__sse_init(&p, false);
        sse_events e = {.n = 0};
        size_t len = strlen(stream);
        size_t st = step == 0 ? len : step;
        for (size_t off = 0; off < len; off += st)
            assert_int_equal(mlops__sse_feed(&p, stream + off, len - off < st ? len - off : st,
                                             sse_collect, &e), MLOPS_OK);
        assert_int_equal(mlops__sse_finish(&p, sse_collect, &e), MLOPS_OK);
        mlops__sse_free(&p);
        assert_int_equal(e.n, 3);
        assert_string_equal(e.got[0], "message_start|{\"a\":1}");
        assert_string_equal(e.got[1], "message|line1\nline2");
        assert_string_equal(e.got[2], "message|[DONE]");
    }
    /* NDJSON: one event per line, CRLF or LF, a last line without newline included */
    mlops__sse p;
    mlops__sse_init(&p, true);
    sse_events e = {.n = 0};
    const char *nd = "{\"x\":1}\r\n\n{\"x\":2}\n{\"x\":3}";
    for (size_t i = 0; nd[i]; i++)
        assert_int_equal(mlops__sse_feed(&p, nd + i, 1, sse_collect, &e), MLOPS_OK);
    mlops__sse_finish(&p, sse_collect, &e);
    mlops__sse_free(&p);
    assert_int_equal(e.n, 3);
    assert_string_equal(e.got[2], "message|{\"x\":3}");
    /* a line longer than the limit is refused, not buffered forever */
    mlops__sse_init(&p, false);
    char *big = malloc((1u << 20) + 16);
    memset(big, 'a', (1u << 20) + 15);
    big[(1u << 20) + 15] = '\0';
    assert_int_equal(mlops__sse_feed(&p, big, strlen(big), sse_collect, &e), MLOPS_ELIMIT);
    mlops__sse_free(&p);
    free(big);
}

static void issue_config_shape(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    stub_action e500 = {.kind = STUB_STATUS, .status = 500};
    stub_set_default(a, &e500);
    stub_action ab = {.kind = STUB_OK, .format = STUB_ANTHROPIC};
    stub_set_default(b, &ab);
    setenv("OPENAI_API_KEY", "sk-from-env", 1);
    /* the configuration exactly as the README documents it, ports substituted */
    char *cfg = fmt_alloc(
        "{\"models\": [{\"name\": \"chat\",\n"
        "             \"deployments\": [{\"provider\": \"openai\", \"base_url\": \"http://127.0.0.1:%d/v1\",\n"
        "                              \"model\": \"upstream-id\", \"api_key_env\": \"OPENAI_API_KEY\", \"weight\": 1,\n"
        "                              \"rpm\": 600, \"tpm\": 100000, \"max_parallel\": 8, \"context_window\": 8192,\n"
        "                              \"input_cost_per_mtok\": 0.15, \"output_cost_per_mtok\": 0.6, \"timeout_ms\": 30000}]},\n"
        "            {\"name\": \"backup\", \"deployments\": [{\"provider\": \"anthropic\", \"base_url\": \"http://127.0.0.1:%d\", \"model\": \"claude\"}]}],\n"
        " \"router\": {\"strategy\": \"weighted\", \"retries\": 2, \"fallbacks\": {\"chat\": [\"backup\"]},\n"
        "            \"cooldown\": {\"allowed_fails\": 3, \"window_s\": 60, \"cooldown_s\": 5}}}",
        stub_port(a), stub_port(b));
    mlops_t *h = open_with(cfg);
    json_t *r = chat_ok(h, USER_REQ("chat"));
    assert_string_equal(resp_content(r), "hello from B");
    assert_int_equal(n_attempts(r), 4); /* 3 on chat (500s), then backup */
    assert_string_equal(json_string_value(json_array_get(json_object_get(xm(r), "fallbacks"), 0)), "backup");
    json_decref(r);
    char *hdr = stub_last_headers(a);
    assert_non_null(strstr(hdr, "Authorization: Bearer sk-from-env"));
    free(hdr);
    assert_int_equal(stub_hits(a), 3);
    assert_int_equal(stub_hits(b), 1);
    mlops_close(h);
    free(cfg);
    /* retry_on is configurable: only 503 is retried here, so a 500 is final */
    h = one_model(a, "openai", NULL, "\"retry_on\": [503]");
    char *out = NULL;
    assert_status(mlops_chat(h, USER_REQ("chat"), &out), MLOPS_EPROVIDER, "upstream status 500");
    assert_int_equal(stub_hits(a), 4);
    mlops_close(h);
    stub_stop(a);
    stub_stop(b);
}

static void retry_after_values(void **state)
{
    (void)state;
    assert_int_equal(mlops__http_parse_retry_after("120"), 120000);
    assert_int_equal(mlops__http_parse_retry_after(" 0 \r\n"), 0);
    assert_int_equal(mlops__http_parse_retry_after("1.5"), 1500);
    assert_int_equal(mlops__http_parse_retry_after("soon"), -1);
    assert_int_equal(mlops__http_parse_retry_after("12abc"), -1);
    /* an HTTP date (RFC 9110 section 10.2.3): in the past means now */
    assert_int_equal(mlops__http_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), 0);
    char future[64];
    time_t t = time(NULL) + 3600;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(future, sizeof future, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int64_t ms = mlops__http_parse_retry_after(future);
    assert_true(ms > 3500000 && ms <= 3600000);
}

static char *run_cmd(const char *cmd)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "");
    char line[512];
    while (fgets(line, sizeof line, p))
        mlops__buf_puts(&b, line);
    int st = pclose(p);
    if (st != 0)
        mlops__buf_printf(&b, "[exit %d]", st);
    return mlops__buf_take(&b);
}

static void cli_chat(void **state)
{
    (void)state;
    char *bin = fmt_alloc("%s/mlops", test_binary_dir());
    if (access(bin, X_OK) != 0) {
        free(bin);
        skip();
    }
    stub_server *s = stub_start("cli");
    char *dir = test_tmpdir();
    char *path = test_path(dir, "gw.json");
    char *d = dep_json("openai", s, NULL);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}]}", d);
    FILE *f = fopen(path, "w");
    fputs(cfg, f);
    fclose(f);
    char *cmd = fmt_alloc("%s --db %s/db chat --config %s --model chat 'say \"hi\"'", bin, dir, path);
    char *out = run_cmd(cmd);
    assert_string_equal(out, "hello from cli\n");
    free(cmd);
    free(out);
    char *body = stub_last_body(s);
    assert_non_null(strstr(body, "say \\\"hi\\\""));
    free(body);
    cmd = fmt_alloc("%s --db %s/db chat --config %s --model chat --stream 'hi'", bin, dir, path);
    out = run_cmd(cmd);
    assert_string_equal(out, "hello from cli\n");
    free(cmd);
    free(out);
    cmd = fmt_alloc("echo '{\"model\": \"x\", \"messages\": [{\"role\": \"user\", \"content\": \"q\"}]}' | "
                    "%s --db %s/db chat --config %s --model chat --json", bin, dir, path);
    out = run_cmd(cmd);
    assert_non_null(strstr(out, "\"x_mlops\""));
    free(cmd);
    free(out);
    cmd = fmt_alloc("%s --db %s/db chat --config %s --model nope hi 2>&1", bin, dir, path);
    out = run_cmd(cmd);
    assert_non_null(strstr(out, "unknown model 'nope'"));
    assert_non_null(strstr(out, "[exit"));
    free(cmd);
    free(out);
    free(d);
    free(cfg);
    free(path);
    free(bin);
    test_tmpdir_remove(dir);
    stub_stop(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(openai_roundtrip),
        cmocka_unit_test(azure_style_header),
        cmocka_unit_test(anthropic_translation),
        cmocka_unit_test(ollama_translation),
        cmocka_unit_test(retry_then_success),
        cmocka_unit_test(retries_spent_and_non_retryable),
        cmocka_unit_test(retry_after_is_honoured),
        cmocka_unit_test(timeouts),
        cmocka_unit_test(cooldown_and_half_open),
        cmocka_unit_test(fallbacks),
        cmocka_unit_test(strategies),
        cmocka_unit_test(pipeline_switches),
        cmocka_unit_test(streaming_all_providers),
        cmocka_unit_test(streaming_failures),
        cmocka_unit_test(bad_input),
        cmocka_unit_test(load_file_and_missing_env),
        cmocka_unit_test(sse_chunk_boundaries),
        cmocka_unit_test(retry_after_values),
        cmocka_unit_test(issue_config_shape),
        cmocka_unit_test(cli_chat),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
