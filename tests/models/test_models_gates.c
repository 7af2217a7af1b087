/* Validation gates: MLflow MetricThreshold semantics, decisions, audit, force. */
#include "test_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(char *text)
{
    assert_non_null(text);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    mlops_free(text);
    return v;
}

static int64_t reg(mlops_t *h, const char *metrics)
{
    char spec[256];
    snprintf(spec, sizeof spec, "{\"uri\": \"s3://m\", \"metrics\": %s}", metrics);
    int64_t v = 0;
    assert_ok(mlops_model_register(h, "m", spec, &v));
    return v;
}

/* Promotes and returns the status; checks the decision's shape either way. */
static int promote(mlops_t *h, int64_t version, const char *alias, json_t **decision)
{
    char *out = NULL;
    int rc = mlops_model_promote(h, "m", version, alias, 0, NULL, &out);
    if (rc == MLOPS_OK || rc == MLOPS_EGATE) {
        json_t *d = parse(out);
        assert_int_equal(json_is_true(json_object_get(d, "passed")), rc == MLOPS_OK);
        if (decision)
            *decision = d;
        else
            json_decref(d);
    } else {
        assert_null(out);
    }
    return rc;
}

static int64_t holder(mlops_t *h, const char *alias)
{
    int64_t v = 0;
    assert_ok(mlops_deploy_pick(h, "m", alias, NULL, &v, NULL, 0, NULL));
    return v;
}

static void threshold_higher_and_lower(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "{\"auc\": 0.79, \"latency\": 120}");
    reg(ts.h, "{\"auc\": 0.8, \"latency\": 100}");
    reg(ts.h, "{\"auc\": 0.9, \"latency\": 101}");
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL,
                                   "[{\"metric\": \"auc\", \"threshold\": 0.8},"
                                   " {\"metric\": \"latency\", \"greater_is_better\": false,"
                                   "  \"threshold\": 100}]"));
    json_t *d = NULL;
    assert_int_equal(promote(ts.h, 1, "production", &d), MLOPS_EGATE);
    json_t *r0 = json_array_get(json_object_get(d, "rules"), 0);
    assert_false(json_is_true(json_object_get(r0, "passed")));
    assert_true(json_real_value(json_object_get(r0, "candidate")) == 0.79);
    assert_non_null(strstr(json_string_value(json_object_get(r0, "why")), "< threshold 0.8"));
    assert_string_equal(json_string_value(json_object_get(d, "action")), "blocked");
    json_decref(d);
    /* Inclusive: exactly at the thresholds passes. */
    assert_int_equal(promote(ts.h, 2, "production", NULL), MLOPS_OK);
    assert_int_equal(holder(ts.h, "production"), 2);
    /* Lower is better: 101 > 100 fails. */
    assert_int_equal(promote(ts.h, 3, "staging", &d), MLOPS_EGATE);
    json_t *r1 = json_array_get(json_object_get(d, "rules"), 1);
    assert_false(json_is_true(json_object_get(r1, "passed")));
    assert_true(json_is_true(json_object_get(json_array_get(json_object_get(d, "rules"), 0),
                                             "passed")));
    json_decref(d);
    /* Blocked means unchanged. */
    assert_status(mlops_model_get(ts.h, "m@staging", &(char *){NULL}), MLOPS_ENOTFOUND, "staging");
    test_store_close(&ts);
}

static void absolute_and_relative_changes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "{\"auc\": 0.80, \"loss\": 0.50}");  /* 1: production */
    reg(ts.h, "{\"auc\": 0.805, \"loss\": 0.49}"); /* 2: too small a change */
    reg(ts.h, "{\"auc\": 0.82, \"loss\": 0.45}");  /* 3: enough */
    assert_int_equal(promote(ts.h, 1, "production", NULL), MLOPS_OK);
    assert_ok(mlops_model_set_gate(ts.h, "m", "production",
                                   "{\"rules\": [{\"metric\": \"auc\", \"min_absolute_change\":"
                                   " 0.01}, {\"metric\": \"loss\", \"direction\": \"lower\","
                                   " \"min_relative_change\": 0.05}]}"));
    json_t *d = NULL;
    assert_int_equal(promote(ts.h, 2, "production", &d), MLOPS_EGATE);
    assert_int_equal(json_integer_value(json_object_get(d, "baseline_version")), 1);
    assert_string_equal(json_string_value(json_object_get(d, "gate")), "alias");
    json_t *rules = json_object_get(d, "rules");
    assert_false(json_is_true(json_object_get(json_array_get(rules, 0), "passed")));
    /* loss: (0.50 - 0.49) / 0.50 = 0.02 < 0.05 */
    assert_false(json_is_true(json_object_get(json_array_get(rules, 1), "passed")));
    json_decref(d);
    assert_int_equal(promote(ts.h, 3, "production", &d), MLOPS_OK);
    assert_string_equal(json_string_value(json_object_get(d, "action")), "moved");
    json_decref(d);
    assert_int_equal(holder(ts.h, "production"), 3);
    /* The alias rule set does not apply to other aliases: no gate on "staging". */
    assert_int_equal(promote(ts.h, 2, "staging", &d), MLOPS_OK);
    assert_string_equal(json_string_value(json_object_get(d, "gate")), "none");
    json_decref(d);
    /* An equal value meets a zero minimum change (inclusive). */
    assert_ok(mlops_model_set_gate(ts.h, "m", "production",
                                   "[{\"metric\": \"auc\", \"min_absolute_change\": 0}]"));
    reg(ts.h, "{\"auc\": 0.82}"); /* 4 */
    assert_int_equal(promote(ts.h, 4, "production", NULL), MLOPS_OK);
    test_store_close(&ts);
}

static void missing_metric_and_baseline_zero(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "{\"auc\": 0.8, \"errors\": 0, \"gain\": 0}");   /* 1 */
    reg(ts.h, "{\"errors\": 0}");                              /* 2: no auc */
    reg(ts.h, "{\"auc\": 0.9, \"errors\": 0, \"gain\": 0}");   /* 3 */
    reg(ts.h, "{\"auc\": 0.9, \"errors\": 0, \"gain\": 0.1}"); /* 4 */
    /* No baseline yet: change checks are skipped, the threshold still applies. */
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL,
                                   "[{\"metric\": \"auc\", \"threshold\": 0.5,"
                                   " \"min_relative_change\": 0.01}]"));
    json_t *d = NULL;
    assert_int_equal(promote(ts.h, 1, "production", &d), MLOPS_OK);
    assert_non_null(strstr(json_string_value(json_object_get(
                               json_array_get(json_object_get(d, "rules"), 0), "why")),
                           "skipped"));
    json_decref(d);
    /* A missing metric fails. */
    assert_int_equal(promote(ts.h, 2, "production", &d), MLOPS_EGATE);
    json_t *r = json_array_get(json_object_get(d, "rules"), 0);
    assert_true(json_is_null(json_object_get(r, "candidate")));
    assert_non_null(strstr(json_string_value(json_object_get(r, "why")), "no metric 'auc'"));
    json_decref(d);
    /* Baseline 0, relative rule: equal fails, a strict improvement passes. */
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL,
                                   "[{\"metric\": \"gain\", \"min_relative_change\": 0.5}]"));
    assert_int_equal(promote(ts.h, 3, "production", &d), MLOPS_EGATE);
    r = json_array_get(json_object_get(d, "rules"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(r, "why")), "baseline is 0"));
    json_decref(d);
    assert_int_equal(promote(ts.h, 4, "production", NULL), MLOPS_OK);
    /* Lower is better against a perfect 0: nothing can improve on it. */
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL,
                                   "[{\"metric\": \"errors\", \"greater_is_better\": false,"
                                   " \"min_relative_change\": 0}]"));
    assert_int_equal(promote(ts.h, 3, "production", NULL), MLOPS_EGATE);
    /* Baseline lacking the metric fails the change check. */
    assert_ok(mlops_model_promote(ts.h, "m", 2, "canary", 1, "seed the alias", NULL));
    assert_ok(mlops_model_set_gate(ts.h, "m", "canary",
                                   "[{\"metric\": \"auc\", \"min_absolute_change\": 0.01}]"));
    assert_int_equal(promote(ts.h, 3, "canary", &d), MLOPS_EGATE);
    r = json_array_get(json_object_get(d, "rules"), 0);
    assert_non_null(strstr(json_string_value(json_object_get(r, "why")), "baseline version 2"));
    json_decref(d);
    test_store_close(&ts);
}

static void force_is_audited(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "{\"auc\": 0.9}");
    reg(ts.h, "{\"auc\": 0.7}");
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\", \"threshold\": 0.8}]"));
    assert_int_equal(promote(ts.h, 1, "production", NULL), MLOPS_OK);
    assert_int_equal(promote(ts.h, 2, "production", NULL), MLOPS_EGATE);
    char *out = NULL;
    assert_status(mlops_model_promote(ts.h, "m", 2, "production", 1, "", &out), MLOPS_EINVAL,
                  "reason");
    assert_ok(mlops_model_promote(ts.h, "m", 2, "production", 1, "incident 42 hotfix", &out));
    json_t *d = parse(out);
    assert_true(json_is_true(json_object_get(d, "forced")));
    assert_false(json_is_true(json_object_get(d, "passed")));
    json_decref(d);
    assert_int_equal(holder(ts.h, "production"), 2);
    assert_ok(mlops_model_history(ts.h, "m", 0, &out));
    json_t *h = parse(out);
    int blocked = 0, forced = 0, promoted = 0;
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e) {
        const char *a = json_string_value(json_object_get(e, "action"));
        if (strcmp(a, "promote_blocked") == 0) {
            blocked++;
            assert_non_null(json_object_get(json_object_get(e, "detail"), "rules"));
        }
        if (strcmp(a, "promote_forced") == 0) {
            forced++;
            assert_true(json_is_true(json_object_get(e, "forced")));
            assert_string_equal(json_string_value(json_object_get(e, "reason")),
                                "incident 42 hotfix");
        }
        promoted += strcmp(a, "promote") == 0;
    }
    assert_int_equal(blocked, 1);
    assert_int_equal(forced, 1);
    assert_int_equal(promoted, 1);
    json_decref(h);
    test_store_close(&ts);
}

static void malformed_rules(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "{\"auc\": 0.9, \"test\": {\"auc\": 0.8}}");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"acc\", \"threshold\": 1}]"),
                  MLOPS_EINVAL, "no version of model 'm' logs metric 'acc'");
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL,
                                   "[{\"metric\": \"test.auc\", \"threshold\": 0.5}]"));
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\"}]"), MLOPS_EINVAL,
                  "needs threshold");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\", \"threshold\": 1,"
                                       " \"colour\": 1}]"), MLOPS_EINVAL, "colour");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "{\"metric\": \"auc\"}"), MLOPS_EINVAL,
                  "rules");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\","
                                       " \"min_absolute_change\": -1}]"), MLOPS_EINVAL, ">= 0");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\", \"direction\":"
                                       " \"up\", \"threshold\": 1}]"), MLOPS_EINVAL, "direction");
    assert_status(mlops_model_set_gate(ts.h, "nope", NULL, "[]"), MLOPS_ENOTFOUND, "nope");
    assert_status(mlops_model_set_gate(ts.h, "m", "latest", "[]"), MLOPS_EINVAL, "reserved");
    assert_status(mlops_model_set_gate(ts.h, "m", NULL, "[1,"), MLOPS_EPARSE, "rules_json");
    char *out = NULL;
    assert_ok(mlops_model_get_gate(ts.h, "m", "production", &out));
    json_t *g = parse(out);
    assert_string_equal(json_string_value(json_object_get(g, "scope")), "model");
    assert_int_equal(json_array_size(json_object_get(g, "rules")), 1);
    json_decref(g);
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL, "[]"));
    assert_ok(mlops_model_get_gate(ts.h, "m", NULL, &out));
    g = parse(out);
    assert_string_equal(json_string_value(json_object_get(g, "scope")), "none");
    json_decref(g);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threshold_higher_and_lower),
        cmocka_unit_test(absolute_and_relative_changes),
        cmocka_unit_test(missing_metric_and_baseline_zero),
        cmocka_unit_test(force_is_audited),
        cmocka_unit_test(malformed_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
