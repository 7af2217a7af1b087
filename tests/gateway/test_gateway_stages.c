/*
 * The prompt resolution stage (x_mlops.prompt -> messages and parameters) and the model
 * registry stages (version pick, observations, shadows), on real stores and loopback
 * stand-ins.
 */
#include "gw_test.h"

#include "mlops.h"

static mlops_t *store_with(test_store *ts, const char *gateway_cfg)
{
    test_store_open(ts, "{\"models\": {\"flush_every\": 1}}");
    if (gateway_cfg)
        assert_ok(mlops_gateway_configure(ts->h, gateway_cfg));
    return ts->h;
}

static json_t *upstream_body(stub_server *s)
{
    char *b = stub_last_body(s);
    json_t *j = json_loads(b, 0, NULL);
    free(b);
    assert_non_null(j);
    return j;
}

static const char *msg_field(json_t *body, size_t i, const char *key)
{
    return mlops__json_str(json_array_get(json_object_get(body, "messages"), i), key, NULL);
}

static char *one_model_cfg(stub_server *s)
{
    char *d = dep_json("openai", s, NULL);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], "
                          "\"router\": {" FAST_ROUTER "}}", d);
    free(d);
    return cfg;
}

static void prompt_text(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    char *cfg = one_model_cfg(s);
    test_store ts;
    mlops_t *h = store_with(&ts, cfg);
    free(cfg);
    int64_t v = 0;
    assert_ok(mlops_prompt_push(h, "support/answer", "Answer {{question}} in {{lang}}.",
                                "{\"config\": {\"temperature\": 0.2, \"max_tokens\": 50, "
                                "\"response_format\": {\"type\": \"json_object\"}, "
                                "\"notes\": \"kept out\"}}", &v));
    assert_ok(mlops_prompt_label_set(h, "support/answer", v, "production", NULL));
    /* no messages: the prompt is the user's message; its config fills the request */
    json_t *r = chat_ok(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                           "\"support/answer@production\", \"vars\": {\"question\": \"why\", "
                           "\"lang\": \"French\"}}}}");
    assert_string_equal(resp_content(r), "hello from A");
    json_t *p = json_object_get(xm(r), "prompt");
    assert_string_equal(mlops__json_str(p, "name", ""), "support/answer");
    assert_int_equal(mlops__json_int(p, "version", 0), v);
    assert_string_equal(mlops__json_str(p, "label", ""), "production");
    assert_string_equal(mlops__json_str(p, "role", ""), "user");
    assert_string_equal(stage_status(r, "prompt"), "ok");
    json_t *ign = json_object_get(stage_report(r, "prompt"), "config_ignored");
    assert_string_equal(json_string_value(json_array_get(ign, 0)), "notes");
    json_decref(r);
    json_t *b = upstream_body(s);
    assert_int_equal(json_array_size(json_object_get(b, "messages")), 1);
    assert_string_equal(msg_field(b, 0, "role"), "user");
    assert_string_equal(msg_field(b, 0, "content"), "Answer why in French.");
    assert_true(json_real_value(json_object_get(b, "temperature")) == 0.2);
    assert_int_equal(mlops__json_int(b, "max_tokens", 0), 50);
    assert_non_null(json_object_get(b, "response_format"));
    assert_null(json_object_get(b, "notes"));
    json_decref(b);
    /* with messages: the prompt frames them as the system message; the caller's own
     * parameters win over the prompt's config */
    r = chat_ok(h, "{\"model\": \"chat\", \"temperature\": 0.9, \"messages\": [{\"role\": "
                   "\"user\", \"content\": \"hi\"}], \"x_mlops\": {\"prompt\": {\"ref\": "
                   "\"support/answer\", \"vars\": {\"question\": \"q\", \"lang\": \"en\"}}}}");
    assert_string_equal(mlops__json_str(json_object_get(xm(r), "prompt"), "role", ""), "system");
    json_decref(r);
    b = upstream_body(s);
    assert_int_equal(json_array_size(json_object_get(b, "messages")), 2);
    assert_string_equal(msg_field(b, 0, "role"), "system");
    assert_string_equal(msg_field(b, 1, "content"), "hi");
    assert_true(json_real_value(json_object_get(b, "temperature")) == 0.9);
    json_decref(b);
    /* an explicit role */
    r = chat_ok(h, "{\"model\": \"chat\", \"messages\": [{\"role\": \"system\", \"content\": "
                   "\"s\"}], \"x_mlops\": {\"prompt\": {\"ref\": \"support/answer\", \"role\": "
                   "\"user\", \"vars\": {\"question\": \"q\", \"lang\": \"en\"}}}}");
    json_decref(r);
    b = upstream_body(s);
    assert_string_equal(msg_field(b, 0, "role"), "user");
    assert_string_equal(msg_field(b, 1, "role"), "system");
    json_decref(b);
    /* errors name the reference and the variable */
    char *out = NULL;
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"support/nothing\"}}}", &out),
                  MLOPS_ENOTFOUND, "support/nothing");
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"support/answer\", \"vars\": {\"question\": \"q\"}}}}", &out),
                  MLOPS_EINVAL, "lang");
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"support/answer\", \"role\": \"tool\"}}}", &out),
                  MLOPS_EINVAL, "x_mlops.prompt.role");
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"support/answer\", \"var\": {}}}}", &out),
                  MLOPS_EINVAL, "'var'");
    /* non-strict: a missing variable renders empty */
    r = chat_ok(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                   "\"support/answer\", \"strict\": false, \"vars\": {\"question\": \"q\"}}}}");
    json_decref(r);
    b = upstream_body(s);
    assert_string_equal(msg_field(b, 0, "content"), "Answer q in .");
    json_decref(b);
    /* a config value of the wrong type is caught after the merge */
    assert_ok(mlops_prompt_push(h, "bad/config", "x", "{\"config\": {\"temperature\": \"hot\"}}", &v));
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"bad/config\"}}}", &out),
                  MLOPS_EINVAL, "temperature");
    assert_int_equal(stub_hits(s), 4);
    test_store_close(&ts);
    stub_stop(s);
}

static void prompt_chat_and_split(void **state)
{
    (void)state;
    stub_server *s = stub_start("A");
    char *cfg = one_model_cfg(s);
    test_store ts;
    mlops_t *h = store_with(&ts, cfg);
    free(cfg);
    int64_t v1 = 0, v2 = 0;
    assert_ok(mlops_prompt_push(h, "bot", "[{\"role\": \"system\", \"content\": \"You are "
                                          "{{persona}}.\"}, {\"role\": \"placeholder\", "
                                          "\"content\": \"{{history}}\"}]",
                                "{\"type\": \"chat\"}", &v1));
    json_t *r = chat_ok(h, "{\"model\": \"chat\", \"messages\": [{\"role\": \"user\", "
                           "\"content\": \"and now?\"}], \"x_mlops\": {\"prompt\": {\"ref\": "
                           "\"bot:1\", \"vars\": {\"persona\": \"a pirate\", \"history\": "
                           "[{\"role\": \"user\", \"content\": \"ahoy\"}, {\"role\": "
                           "\"assistant\", \"content\": \"arr\"}]}}}}");
    assert_string_equal(mlops__json_str(json_object_get(xm(r), "prompt"), "type", ""), "chat");
    json_decref(r);
    json_t *b = upstream_body(s);
    assert_int_equal(json_array_size(json_object_get(b, "messages")), 4);
    assert_string_equal(msg_field(b, 0, "content"), "You are a pirate.");
    assert_string_equal(msg_field(b, 1, "content"), "ahoy");
    assert_string_equal(msg_field(b, 2, "role"), "assistant");
    assert_string_equal(msg_field(b, 3, "content"), "and now?");
    json_decref(b);
    /* a split label: the caller's key (metadata.user) picks stickily */
    assert_ok(mlops_prompt_push(h, "greet", "Hello A", NULL, &v1));
    assert_ok(mlops_prompt_push(h, "greet", "Hello B", NULL, &v2));
    assert_ok(mlops_prompt_label_split(h, "greet", "exp",
                                       "[{\"version\": 1, \"weight\": 50}, {\"version\": 2, "
                                       "\"weight\": 50}]", NULL));
    int seen[3] = {0};
    for (int u = 0; u < 24; u++) {
        int64_t first = 0;
        for (int k = 0; k < 2; k++) {
            char *req = fmt_alloc("{\"model\": \"chat\", \"x_mlops\": {\"metadata\": {\"user\": "
                                  "\"u%d\"}, \"prompt\": {\"ref\": \"greet@exp\"}}}", u);
            r = chat_ok(h, req);
            free(req);
            json_t *p = json_object_get(xm(r), "prompt");
            assert_true(json_is_true(json_object_get(p, "split")));
            int64_t ver = mlops__json_int(p, "version", 0);
            assert_true(ver == 1 || ver == 2);
            if (k == 0)
                first = ver;
            assert_int_equal(ver, first); /* sticky */
            seen[ver]++;
            json_decref(r);
        }
    }
    assert_true(seen[1] > 0 && seen[2] > 0);
    /* an explicit key wins over metadata.user */
    r = chat_ok(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": \"greet@exp\", "
                   "\"key\": \"fixed\"}}}");
    int64_t kv = mlops__json_int(json_object_get(xm(r), "prompt"), "version", 0);
    json_decref(r);
    r = chat_ok(h, "{\"model\": \"chat\", \"user\": \"someone\", \"x_mlops\": {\"prompt\": "
                   "{\"ref\": \"greet@exp\", \"key\": \"fixed\"}}}");
    assert_int_equal(mlops__json_int(json_object_get(xm(r), "prompt"), "version", 0), kv);
    json_decref(r);
    /* the stage switched off: x_mlops.prompt is not resolved */
    cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}], "
                    "\"pipeline\": {\"prompt\": false}}", "{\"provider\": \"openai\", "
                    "\"base_url\": \"http://127.0.0.1:1\", \"model\": \"x\"}");
    assert_ok(mlops_gateway_configure(h, cfg));
    free(cfg);
    char *out = NULL;
    assert_status(mlops_chat(h, "{\"model\": \"chat\", \"x_mlops\": {\"prompt\": {\"ref\": "
                                "\"greet\"}}}", &out),
                  MLOPS_EINVAL, "prompts stage");
    test_store_close(&ts);
    stub_stop(s);
}

/* Two gateway models, one per registered version, and the registered model's entry. */
static char *registry_cfg(stub_server *a, stub_server *b, const char *reg_extra)
{
    char *da = dep_json("openai", a, NULL), *db = dep_json("openai", b, NULL);
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat-a\", \"deployments\": [%s]}, "
                          "{\"name\": \"chat-b\", \"deployments\": [%s]}, {\"name\": "
                          "\"assistant\", \"registry\": {\"alias\": \"production\"%s}}], "
                          "\"router\": {\"retries\": 0}}",
                          da, db, reg_extra ? reg_extra : "");
    free(da);
    free(db);
    return cfg;
}

static void register_two(mlops_t *h)
{
    int64_t v = 0;
    assert_ok(mlops_model_register(h, "assistant", "{\"uri\": \"llm://a\", \"tags\": "
                                                   "{\"gateway_model\": \"chat-a\"}}", &v));
    assert_int_equal(v, 1);
    assert_ok(mlops_model_register(h, "assistant", "{\"uri\": \"llm://b\", \"params\": "
                                                   "{\"gateway_model\": \"chat-b\"}}", &v));
    assert_int_equal(v, 2);
    char *out = NULL;
    assert_ok(mlops_model_promote(h, "assistant", 1, "production", 0, NULL, &out));
    mlops_free(out);
}

static void registry_pick(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    char *cfg = registry_cfg(a, b, NULL);
    test_store ts;
    mlops_t *h = store_with(&ts, cfg);
    free(cfg);
    register_two(h);
    /* the alias points at version 1: chat-a serves */
    json_t *r = chat_ok(h, USER_REQ("assistant"));
    assert_string_equal(resp_content(r), "hello from A");
    json_t *reg = json_object_get(xm(r), "registry");
    assert_int_equal(mlops__json_int(reg, "version", 0), 1);
    assert_string_equal(mlops__json_str(reg, "gateway_model", ""), "chat-a");
    assert_string_equal(mlops__json_str(xm(r), "model", ""), "chat-a");
    assert_false(json_is_true(json_object_get(reg, "observed"))); /* no rollout running */
    json_decref(r);
    /* a 50% canary of version 2: sticky per user, both versions serve */
    char *out = NULL;
    assert_ok(mlops_deploy_start(h, "assistant", "production",
                                 "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [50, "
                                 "100], \"min_observations\": 1000}", &out));
    mlops_free(out);
    int by[3] = {0};
    for (int u = 0; u < 30; u++) {
        int64_t first = 0;
        for (int k = 0; k < 2; k++) {
            char *req = fmt_alloc("{\"model\": \"assistant\", \"user\": \"u%d\", \"messages\": "
                                  "[{\"role\": \"user\", \"content\": \"hi\"}]}", u);
            r = chat_ok(h, req);
            free(req);
            reg = json_object_get(xm(r), "registry");
            int64_t v = mlops__json_int(reg, "version", 0);
            assert_true(v == 1 || v == 2);
            assert_string_equal(resp_content(r), v == 1 ? "hello from A" : "hello from B");
            assert_true(json_is_true(json_object_get(reg, "observed")));
            if (k == 0)
                first = v;
            assert_int_equal(v, first);
            by[v]++;
            json_decref(r);
        }
    }
    assert_true(by[1] > 0 && by[2] > 0);
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    assert_non_null(strstr(st, "\"registry\":{\"model\":\"assistant\",\"alias\":\"production\"}"));
    mlops_free(st);
    assert_int_equal(stub_hits(a) + stub_hits(b), 61);
    /* errors: a registry model that is not registered */
    cfg = fmt_alloc("{\"models\": [{\"name\": \"ghost\", \"registry\": {\"alias\": \"production\"}}]}");
    assert_ok(mlops_gateway_configure(h, cfg));
    free(cfg);
    assert_status(mlops_chat(h, USER_REQ("ghost"), &out), MLOPS_ENOTFOUND, "ghost");
    /* with deployments of its own, an unregistered model is served by them */
    char *da = dep_json("openai", a, NULL);
    cfg = fmt_alloc("{\"models\": [{\"name\": \"ghost\", \"registry\": {\"alias\": "
                    "\"production\"}, \"deployments\": [%s]}]}", da);
    free(da);
    assert_ok(mlops_gateway_configure(h, cfg));
    free(cfg);
    json_t *g = chat_ok(h, USER_REQ("ghost"));
    assert_string_equal(resp_content(g), "hello from A");
    assert_null(json_object_get(xm(g), "registry"));
    assert_non_null(json_object_get(stage_report(g, "registry"), "skipped"));
    json_decref(g);
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\"}]}"), MLOPS_ECONFIG,
                  "'deployments'");
    assert_status(mlops_gateway_configure(h, "{\"models\": [{\"name\": \"m\", \"registry\": "
                                             "{\"alias\": \"p\", \"shadow\": true}}]}"),
                  MLOPS_ECONFIG, "registry");
    test_store_close(&ts);
    stub_stop(a);
    stub_stop(b);
}

/* Live traffic reaches the canary analysis: a failing candidate is rolled back. */
static void registry_canary_rollback(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    stub_action fail500 = {.kind = STUB_STATUS, .status = 500, .body = "{\"error\": {\"message\": \"down\"}}"};
    stub_set_default(b, &fail500);
    char *cfg = registry_cfg(a, b, NULL);
    test_store ts;
    mlops_t *h = store_with(&ts, cfg);
    free(cfg);
    register_two(h);
    char *out = NULL;
    assert_ok(mlops_deploy_start(h, "assistant", "production",
                                 "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [50, "
                                 "100], \"min_observations\": 5, \"analysis\": [\"error_rate "
                                 "<= 0.1\"]}", &out));
    mlops_free(out);
    int failures = 0;
    for (int u = 0; u < 200; u++) {
        char *req = fmt_alloc("{\"model\": \"assistant\", \"user\": \"u%d\", \"messages\": "
                              "[{\"role\": \"user\", \"content\": \"hi\"}]}", u);
        int rc = mlops_chat(h, req, &out);
        free(req);
        mlops_free(out);
        out = NULL;
        if (rc != MLOPS_OK) {
            assert_int_equal(rc, MLOPS_EPROVIDER);
            /* the observation stage keeps the primary's error text */
            assert_non_null(strstr(mlops_last_error(), "500"));
            failures++;
        }
    }
    assert_true(failures >= 5);
    assert_ok(mlops_deploy_status(h, "assistant", "production", &out));
    assert_non_null(strstr(out, "\"state\":\"rolled_back\""));
    mlops_free(out);
    /* after the rollback version 1 serves everyone */
    json_t *r = chat_ok(h, "{\"model\": \"assistant\", \"user\": \"u1\", \"messages\": "
                           "[{\"role\": \"user\", \"content\": \"hi\"}]}");
    assert_int_equal(mlops__json_int(json_object_get(xm(r), "registry"), "version", 0), 1);
    json_decref(r);
    test_store_close(&ts);
    stub_stop(a);
    stub_stop(b);
}

static void registry_shadow(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    char *cfg = registry_cfg(a, b, ", \"shadow_timeout_ms\": 3000");
    test_store ts;
    mlops_t *h = store_with(&ts, cfg);
    free(cfg);
    register_two(h);
    char *out = NULL;
    assert_ok(mlops_deploy_start(h, "assistant", "production",
                                 "{\"strategy\": \"shadow\", \"candidate\": 2, \"sample\": 100}",
                                 &out));
    mlops_free(out);
    json_t *r = chat_ok(h, USER_REQ("assistant"));
    assert_string_equal(resp_content(r), "hello from A");
    json_t *reg = json_object_get(xm(r), "registry");
    assert_int_equal(mlops__json_int(reg, "version", 0), 1);
    json_t *sh = json_array_get(json_object_get(reg, "shadows"), 0);
    assert_int_equal(mlops__json_int(sh, "version", 0), 2);
    assert_string_equal(mlops__json_str(sh, "status", ""), "ok");
    assert_string_equal(mlops__json_str(sh, "gateway_model", ""), "chat-b");
    assert_int_equal(stub_hits(b), 1);
    json_decref(r);
    /* a failing shadow changes nothing for the caller, streamed or not */
    stub_action fail500 = {.kind = STUB_STATUS, .status = 503, .body = "{}"};
    stub_set_default(b, &fail500);
    r = chat_ok(h, USER_REQ("assistant"));
    assert_string_equal(resp_content(r), "hello from A");
    sh = json_array_get(json_object_get(json_object_get(xm(r), "registry"), "shadows"), 0);
    assert_string_equal(mlops__json_str(sh, "status", ""), "error");
    json_decref(r);
    /* shadows off */
    cfg = registry_cfg(a, b, ", \"shadows\": false");
    assert_ok(mlops_gateway_configure(h, cfg));
    free(cfg);
    int hits = stub_hits(b);
    r = chat_ok(h, USER_REQ("assistant"));
    sh = json_array_get(json_object_get(json_object_get(xm(r), "registry"), "shadows"), 0);
    assert_string_equal(mlops__json_str(sh, "status", ""), "disabled");
    assert_int_equal(stub_hits(b), hits);
    json_decref(r);
    test_store_close(&ts);
    stub_stop(a);
    stub_stop(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(prompt_text),
        cmocka_unit_test(prompt_chat_and_split),
        cmocka_unit_test(registry_pick),
        cmocka_unit_test(registry_canary_rollback),
        cmocka_unit_test(registry_shadow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
