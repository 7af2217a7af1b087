/*
 * Complexity routing: accuracy on the shipped labelled set (rule scorer and k-fold
 * held-out accuracy of the trained model) against floors, explanations, deterministic
 * training, model files, rules and config errors.
 */
#include "test_support.h"

#include "gateway/route.h"

#include <jansson.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Floors for data/router/prompts.jsonl (measured values are printed). */
#define RULES_ACCURACY_FLOOR 0.90
#define CV_ACCURACY_FLOOR 0.90
#define QUALITY_FLOOR 0.90

static char *dataset(void)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/data/router/prompts.jsonl", test_source_dir());
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static json_t *load(char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    mlops_free(text);
    return j;
}

static double num(const json_t *j, const char *k)
{
    return json_number_value(json_object_get(j, k));
}

static void accuracy_on_shipped_set(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    char *data = dataset();
    char *out = NULL;
    assert_ok(mlops_router_eval(h, NULL, data, NULL, &out));
    json_t *r = load(out);
    assert_true(json_integer_value(json_object_get(r, "n")) >= 300);
    print_message("rule scorer: accuracy %.3f, share cheap %.3f, cost vs always-strong %.3f, "
                  "quality retained %.3f, tier accuracy %.3f\n",
                  num(r, "accuracy"), num(r, "share_cheap"), num(r, "cost_relative"),
                  num(r, "quality_retained"), num(r, "tier_accuracy"));
    assert_true(num(r, "accuracy") >= RULES_ACCURACY_FLOOR);
    assert_true(num(r, "quality_retained") >= QUALITY_FLOOR);
    assert_int_equal(json_array_size(json_object_get(r, "curve")), 21);
    json_decref(r);

    assert_ok(mlops_router_eval(h, NULL, data, "{\"cv_folds\": 5, \"seed\": 3}", &out));
    r = load(out);
    print_message("logistic regression, 5-fold held-out: accuracy %.3f, share cheap %.3f, cost "
                  "vs always-strong %.3f, quality retained %.3f, tier accuracy %.3f\n",
                  num(r, "accuracy"), num(r, "share_cheap"), num(r, "cost_relative"),
                  num(r, "quality_retained"), num(r, "tier_accuracy"));
    assert_string_equal(json_string_value(json_object_get(r, "mode")), "cross-validation");
    assert_true(num(r, "accuracy") >= CV_ACCURACY_FLOOR);
    assert_true(num(r, "quality_retained") >= QUALITY_FLOOR);
    /* the curve is monotone: a higher threshold never sends more to the strong model */
    json_t *curve = json_object_get(r, "curve");
    for (size_t i = 1; i < json_array_size(curve); i++)
        assert_true(num(json_array_get(curve, i), "share_cheap") >=
                    num(json_array_get(curve, i - 1), "share_cheap"));
    json_decref(r);
    free(data);
    mlops_close(h);
}

static void explain_is_sane(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    char *out = NULL;
    assert_ok(mlops_router_explain(h, NULL,
                                   "Prove step by step that there are infinitely many primes, "
                                   "and justify each step rigorously.",
                                   &out));
    json_t *e = load(out);
    assert_true(json_is_true(json_object_get(e, "strong")));
    assert_string_equal(json_string_value(json_object_get(e, "tier")), "reasoning");
    double sum = 0;
    bool saw_reasoning = false;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(e, "features"), i, f) {
        sum += num(f, "contribution");
        if (strcmp(json_string_value(json_object_get(f, "name")), "reasoning_cues") == 0) {
            saw_reasoning = true;
            assert_true(num(f, "contribution") > 0);
        }
    }
    assert_true(saw_reasoning);
    /* the contributions, bias and n-grams add up to the logit behind p_strong */
    sum += num(e, "bias") + num(e, "ngram_total");
    double p = 1.0 / (1.0 + exp(-sum));
    assert_float_equal(p, num(e, "p_strong"), 1e-4);
    json_decref(e);

    assert_ok(mlops_router_explain(h, NULL, "hi, thanks!", &out));
    e = load(out);
    assert_false(json_is_true(json_object_get(e, "strong")));
    assert_string_equal(json_string_value(json_object_get(e, "tier")), "simple");
    bool saw_simple = false;
    json_array_foreach(json_object_get(e, "features"), i, f) {
        if (strcmp(json_string_value(json_object_get(f, "name")), "simple_cues") == 0) {
            saw_simple = true;
            assert_true(num(f, "contribution") < 0);
        }
    }
    assert_true(saw_simple);
    json_decref(e);
    mlops_close(h);
}

static void training_is_deterministic(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    char *data = dataset();
    char *m1 = NULL, *m2 = NULL, *m3 = NULL;
    assert_ok(mlops_router_train(h, data, "{\"seed\": 7, \"epochs\": 10}", &m1));
    assert_ok(mlops_router_train(h, data, "{\"seed\": 7, \"epochs\": 10}", &m2));
    assert_ok(mlops_router_train(h, data, "{\"seed\": 8, \"epochs\": 10}", &m3));
    assert_string_equal(m1, m2);
    assert_string_not_equal(m1, m3);

    /* calibrated threshold: about 30% of the training prompts go strong */
    char *mc = NULL;
    assert_ok(mlops_router_train(h, data, "{\"seed\": 7, \"strong_share\": 0.3}", &mc));
    char cfg[64 + 600000];
    assert_true(strlen(mc) < 600000);
    snprintf(cfg, sizeof cfg, "{\"model\": %s, \"cheap_model\": \"mini\", \"strong_model\": "
                              "\"big\"}",
             mc);
    char *out = NULL;
    assert_ok(mlops_router_eval(h, cfg, data, NULL, &out));
    json_t *r = load(out);
    print_message("calibrated to 30%% strong: share strong on training data %.3f\n",
                  1 - num(r, "share_cheap"));
    assert_float_equal(1 - num(r, "share_cheap"), 0.3, 0.02);
    assert_string_equal(json_string_value(json_object_get(r, "scorer")), "model");
    json_decref(r);
    /* decide with the model inline, and from a file */
    assert_ok(mlops_router_decide(h, cfg,
                                  "{\"model\": \"auto\", \"messages\": [{\"role\": \"user\", "
                                  "\"content\": \"What is the capital of France?\"}]}",
                                  NULL, &out));
    r = load(out);
    assert_string_equal(json_string_value(json_object_get(r, "model")), "mini");
    assert_string_equal(json_string_value(json_object_get(r, "scorer")), "model");
    json_decref(r);
    char *dir = test_tmpdir();
    char *path = test_path(dir, "router.json");
    FILE *fp = fopen(path, "wb");
    fputs(m1, fp);
    fclose(fp);
    snprintf(cfg, sizeof cfg, "{\"model_file\": \"%s\", \"strong_model\": \"big\"}", path);
    assert_ok(mlops_router_explain(h, cfg,
                                   "Design a distributed rate limiter across regions and "
                                   "compare token bucket with sliding windows in detail.",
                                   &out));
    r = load(out);
    assert_true(json_is_true(json_object_get(r, "strong")));
    assert_string_equal(json_string_value(json_object_get(r, "model")), "big");
    assert_true(json_array_size(json_object_get(r, "ngrams")) > 0);
    json_decref(r);
    fp = fopen(path, "wb");
    fputs("{\"format\": \"mlops-router\", \"version\": 2}", fp);
    fclose(fp);
    assert_status(mlops_router_explain(h, cfg, "x", &out), MLOPS_ECONFIG, "model_file");
    free(path);
    test_tmpdir_remove(dir);
    mlops_free(m1);
    mlops_free(m2);
    mlops_free(m3);
    mlops_free(mc);
    /* bad data names the line */
    assert_status(mlops_router_train(h, "{\"prompt\": \"a\", \"tier\": \"simple\"}\n{\"prompt\": 1}",
                                     NULL, &out),
                  MLOPS_EPARSE, "line 2");
    assert_status(mlops_router_train(h, "{\"prompt\": \"a\", \"tier\": \"huge\"}", NULL, &out),
                  MLOPS_EPARSE, "line 1");
    assert_status(mlops_router_train(h, "{\"prompt\": \"a\", \"label\": \"cheap\"}\n"
                                        "{\"prompt\": \"b\", \"label\": \"cheap\"}",
                                     NULL, &out),
                  MLOPS_EINVAL, "both cheap and strong");
    assert_status(mlops_router_train(h, data, "{\"epochs\": 0}", &out), MLOPS_EINVAL, "epochs");
    free(data);
    mlops_close(h);
}

static const char *rules_cfg =
    "{\"tiers\": {\"simple\": \"mini\", \"medium\": \"mini\", \"complex\": \"big\", "
    "\"reasoning\": \"o-think\"},"
    " \"models\": [\"auto\", \"chat\"],"
    " \"rules\": ["
    "  {\"name\": \"enterprise\", \"match\": {\"metadata\": {\"user_tier\": [\"enterprise\", "
    "\"vip\"]}}, \"tier\": \"complex\"},"
    "  {\"name\": \"batch\", \"match\": {\"tags\": [\"batch\"]}, \"model\": \"batch-model\"},"
    "  {\"name\": \"translate\", \"match\": {\"regex\": \"^(please )?translate\", \"icase\": true}, "
    "\"tier\": \"simple\"},"
    "  {\"name\": \"legal\", \"match\": {\"label\": \"legal\", \"model\": \"chat\"}, \"tier\": "
    "\"reasoning\"},"
    "  {\"name\": \"key\", \"match\": {\"key\": \"key-vip\"}, \"model\": \"big\"}"
    " ]}";

static json_t *decide(mlops_t *h, const char *cfg, const char *model, const char *text,
                      const char *md)
{
    char req[1024];
    snprintf(req, sizeof req,
             "{\"model\": \"%s\", \"messages\": [{\"role\": \"system\", \"content\": \"be "
             "brief\"}, {\"role\": \"user\", \"content\": \"%s\"}]}",
             model, text);
    char *out = NULL;
    assert_ok(mlops_router_decide(h, cfg, req, md, &out));
    return load(out);
}

static void rules_before_complexity(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    struct {
        const char *model, *text, *md, *want_model, *want_source, *want_rule;
    } cases[] = {
        {"auto", "hi", "{\"user_tier\": \"vip\"}", "big", "rule", "enterprise"},
        {"auto", "hi", "{\"tags\": [\"x\", \"batch\"]}", "batch-model", "rule", "batch"},
        {"auto", "Translate 'prove the theorem step by step' into French", NULL, "mini", "rule",
         "translate"},
        {"chat", "hello", "{\"prompt_label\": \"legal\"}", "o-think", "rule", "legal"},
        {"auto", "hello", "{\"prompt_label\": \"legal\"}", "mini", "complexity", NULL},
        {"auto", "hello", "{\"key_id\": \"key-vip\"}", "big", "rule", "key"},
        {"auto", "hello there", "{\"user_tier\": \"free\"}", "mini", "complexity", NULL},
        {"auto", "Prove rigorously, step by step, that sqrt(2) is irrational.", NULL, "o-think",
         "complexity", NULL},
        {"gpt-x", "Prove rigorously that sqrt(2) is irrational.", NULL, NULL, "not-triggered",
         NULL},
    };
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(cases); i++) {
        json_t *d = decide(h, rules_cfg, cases[i].model, cases[i].text, cases[i].md);
        const char *m = json_string_value(json_object_get(d, "model"));
        const char *src = json_string_value(json_object_get(d, "source"));
        if (!src || strcmp(src, cases[i].want_source) != 0 ||
            (cases[i].want_model && (!m || strcmp(m, cases[i].want_model) != 0)))
            fail_msg("case %zu: got %s", i, json_dumps(d, 0));
        if (cases[i].want_rule)
            assert_string_equal(json_string_value(json_object_get(d, "rule")), cases[i].want_rule);
        if (strcmp(cases[i].want_source, "not-triggered") == 0)
            assert_string_equal(m, cases[i].model);
        json_decref(d);
    }
    /* disabled routing keeps the request's model */
    json_t *d = decide(h, "{\"enabled\": false}", "auto", "hi", NULL);
    assert_string_equal(json_string_value(json_object_get(d, "source")), "disabled");
    json_decref(d);
    mlops_close(h);
}

static void config_errors_name_the_key(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    struct {
        const char *cfg, *needle;
    } bad[] = {
        {"{\"tierz\": {}}", "routing: unknown key 'tierz'"},
        {"{\"tiers\": {\"huge\": \"m\"}}", "routing.tiers: unknown key 'huge'"},
        {"{\"rules\": [{\"match\": {\"tags\": [\"a\"]}}]}", "routing.rules[0]: give exactly one"},
        {"{\"rules\": [{\"match\": {\"regex\": \"(a\"}, \"tier\": \"simple\"}]}",
         "routing.rules[0].match.regex"},
        {"{\"rules\": [{\"match\": {\"regex\": \"(a)\\\\1\"}, \"tier\": \"simple\"}]}",
         "back-references"},
        {"{\"rules\": [{\"match\": {}, \"tier\": \"simple\"}]}", "empty match"},
        {"{\"rules\": [{\"match\": {\"colour\": 1}, \"tier\": \"simple\"}]}",
         "routing.rules[0].match: unknown key 'colour'"},
        {"{\"rules\": [{\"match\": {\"tags\": []}, \"tier\": \"simple\"}]}",
         "routing.rules[0].match.tags"},
        {"{\"rules\": [{\"match\": {\"tags\": [\"a\"]}, \"tier\": \"big\"}]}",
         "routing.rules[0].tier"},
        {"{\"scorer\": \"model\"}", "routing.scorer"},
        {"{\"threshold\": 2}", "routing.threshold"},
        {"{\"model\": {\"format\": \"x\"}}", "routing.model"},
        {"{\"max_regex_input\": 1}", "routing.max_regex_input"},
    };
    char *out = NULL;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(bad); i++)
        assert_status(mlops_router_explain(h, bad[i].cfg, "x", &out), MLOPS_ECONFIG, bad[i].needle);
    assert_status(mlops_router_decide(h, NULL, "{\"model\": \"auto\", \"messages\": 3}", NULL, &out), MLOPS_EINVAL,
                  "messages");
    assert_status(mlops_router_decide(h, NULL, "[]", NULL, &out), MLOPS_EPARSE, "");

    /* internal API: a config parsed once serves many requests */
    json_t *sec = json_loads(rules_cfg, 0, NULL);
    mlops__route_cfg *cfg = NULL;
    assert_ok(mlops__route_config_parse(sec, "config.gateway.routing", &cfg));
    json_t *req = json_loads("{\"model\": \"auto\", \"messages\": [{\"role\": \"user\", "
                             "\"content\": [{\"type\": \"text\", \"text\": \"please translate "
                             "this\"}]}]}",
                             0, NULL);
    mlops__route_decision dec;
    assert_ok(mlops__route_decide(cfg, req, NULL, &dec));
    assert_string_equal(dec.model, "mini");
    assert_string_equal(dec.source, "rule");
    mlops__route_decision_free(&dec);
    json_decref(req);
    mlops__route_cfg_free(cfg);
    json_decref(sec);
    mlops_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accuracy_on_shipped_set),
        cmocka_unit_test(explain_is_sane),
        cmocka_unit_test(training_is_deterministic),
        cmocka_unit_test(rules_before_complexity),
        cmocka_unit_test(config_errors_name_the_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
