/* Deployments: canary, blue-green, shadow, A/B; automatic rollback; two processes. */
#include "test_support.h"

#include "api/api.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define CONFIG "{\"models\": {\"flush_every\": 10, \"refresh_ms\": 0}}"

static json_t *parse(char *text)
{
    assert_non_null(text);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    mlops_free(text);
    return v;
}

/* m:1 holds production; m:2 and m:3 are candidates. */
static void setup_model(mlops_t *h)
{
    int64_t v;
    for (int i = 0; i < 3; i++)
        assert_ok(mlops_model_register(h, "m", "{\"uri\": \"s3://m\", \"metrics\": {\"auc\": 0.9}}",
                                       &v));
    assert_ok(mlops_model_promote(h, "m", 1, "production", 0, NULL, NULL));
}

static json_t *status(mlops_t *h)
{
    char *out = NULL;
    assert_ok(mlops_deploy_status(h, "m", "production", &out));
    return parse(out);
}

static const char *state_of(json_t *st)
{
    return json_string_value(json_object_get(st, "state"));
}

static void expect_state(mlops_t *h, const char *state)
{
    json_t *st = status(h);
    if (strcmp(state_of(st), state) != 0)
        print_error("state %s (reason: %s), wanted %s\n", state_of(st),
                    json_string_value(json_object_get(st, "reason")), state);
    assert_string_equal(state_of(st), state);
    json_decref(st);
}

static int64_t pick(mlops_t *h, const char *user)
{
    int64_t v = 0;
    assert_ok(mlops_deploy_pick(h, "m", "production", user, &v, NULL, 0, NULL));
    return v;
}

/* Share of 10000 users that pick `version`. */
static double share(mlops_t *h, int64_t version)
{
    int n = 0;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        n += pick(h, key) == version;
    }
    return n / 10000.0;
}

static void observe_n(mlops_t *h, int64_t version, int n, const char *metrics)
{
    for (int i = 0; i < n; i++)
        assert_ok(mlops_deploy_observe(h, "m", version, metrics));
}

static void start(mlops_t *h, const char *strategy)
{
    char *out = NULL;
    assert_ok(mlops_deploy_start(h, "m", "production", strategy, &out));
    mlops_free(out);
}

#define GOOD "{\"error_rate\": 0, \"latency_ms\": 120, \"judge_score\": 0.9}"
#define BAD "{\"error_rate\": 1, \"latency_ms\": 120, \"judge_score\": 0.9}"
#define CANARY                                                                                 \
    "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [10, 50, 100],"                    \
    " \"min_observations\": 50, \"analysis\": [\"error_rate <= 0.05\","                        \
    " \"latency_ms.p95 <= 300\", {\"metric\": \"judge_score\", \"op\": \">=\", \"value\": 0.8}]}"

static void canary_walks_the_steps_and_promotes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, CANARY);
    expect_state(ts.h, "running");
    double s = share(ts.h, 2);
    assert_true(s > 0.08 && s < 0.12);
    /* Who is in the canary at 10% stays in it at 50%. */
    int64_t early[200];
    char key[32];
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        early[i] = pick(ts.h, key);
    }
    /* While the canary runs, the alias belongs to it. */
    assert_status(mlops_model_promote(ts.h, "m", 3, "production", 1, "sneak", NULL),
                  MLOPS_ESTATE, "under canary deployment");
    assert_status(mlops_model_remove_alias(ts.h, "m", "production", NULL), MLOPS_ESTATE,
                  "under canary");
    observe_n(ts.h, 1, 30, GOOD); /* the baseline's outcomes do not count */
    observe_n(ts.h, 2, 49, GOOD);
    json_t *st = status(ts.h);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 0);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "observations"), "2"),
                         "observations")), 49);
    json_decref(st);
    observe_n(ts.h, 2, 1, GOOD);
    assert_ok(mlops_deploy_flush(ts.h));
    st = status(ts.h);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 1);
    assert_true(json_real_value(json_object_get(st, "weight")) == 50.0);
    json_decref(st);
    s = share(ts.h, 2);
    assert_true(s > 0.47 && s < 0.53);
    for (int i = 0; i < 200; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        if (early[i] == 2)
            assert_int_equal(pick(ts.h, key), 2);
    }
    observe_n(ts.h, 2, 50, GOOD);
    expect_state(ts.h, "running");
    observe_n(ts.h, 2, 50, GOOD);
    expect_state(ts.h, "promoted");
    assert_true(share(ts.h, 2) == 1.0);
    char *out = NULL;
    assert_ok(mlops_model_get(ts.h, "m@production", &out));
    json_t *v = parse(out);
    assert_int_equal(json_integer_value(json_object_get(v, "version")), 2);
    json_decref(v);
    /* Finished: observing the old deployment is refused clearly. */
    assert_status(mlops_deploy_observe(ts.h, "m", 2, GOOD), MLOPS_ESTATE, "no running deployment");
    test_store_close(&ts);
}

static void canary_rolls_back_when_errors_jump(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, CANARY);
    observe_n(ts.h, 2, 50, GOOD);
    assert_ok(mlops_deploy_flush(ts.h));
    /* At 50%, the error rate jumps to 20%. */
    for (int i = 0; i < 50; i++)
        assert_ok(mlops_deploy_observe(ts.h, "m", 2, i % 5 == 0 ? BAD : GOOD));
    json_t *st = status(ts.h);
    assert_string_equal(state_of(st), "rolled_back");
    assert_non_null(strstr(json_string_value(json_object_get(st, "reason")),
                           "error_rate mean 0.2 violates <= 0.05"));
    json_decref(st);
    assert_true(share(ts.h, 1) == 1.0);
    char *out = NULL;
    assert_ok(mlops_model_history(ts.h, "m", 0, &out));
    assert_non_null(strstr(out, "deploy_auto_rollback"));
    mlops_free(out);
    /* A new deployment may start once the old one ended. */
    start(ts.h, "{\"strategy\": \"canary\", \"candidate\": 3}");
    assert_status(mlops_deploy_start(ts.h, "m", "production",
                                     "{\"strategy\": \"canary\", \"candidate\": 2}", &out),
                  MLOPS_ESTATE, "already running");
    test_store_close(&ts);
}

static void canary_failure_limit_inconclusive_and_pauses(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [20, {\"weight\": 60,"
                " \"pause\": true}, 100], \"min_observations\": 20, \"failure_limit\": 2,"
                " \"analysis\": [\"error_rate <= 0.1\", \"latency_ms.p95 <= 300\"]}");
    /* First failure: a fresh window at the same step. */
    observe_n(ts.h, 2, 20, BAD);
    json_t *st = status(ts.h);
    assert_string_equal(state_of(st), "running");
    assert_int_equal(json_integer_value(json_object_get(st, "failures")), 1);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 0);
    json_decref(st);
    /* Latency never observed: inconclusive, paused. */
    observe_n(ts.h, 2, 20, "{\"error_rate\": 0}");
    st = status(ts.h);
    assert_string_equal(state_of(st), "paused");
    assert_non_null(strstr(json_string_value(json_object_get(st, "reason")), "inconclusive"));
    json_decref(st);
    /* Paused keeps the split. */
    double s = share(ts.h, 2);
    assert_true(s > 0.17 && s < 0.23);
    char *out = NULL;
    assert_status(mlops_deploy_pause(ts.h, "m", "production", NULL, &out), MLOPS_ESTATE,
                  "only a running");
    assert_ok(mlops_deploy_resume(ts.h, "m", "production", &out));
    st = parse(out);
    assert_string_equal(state_of(st), "running");
    json_decref(st);
    /* Step 1 passes; step 2 pauses by the strategy's own request. */
    observe_n(ts.h, 2, 20, GOOD);
    st = status(ts.h);
    assert_string_equal(state_of(st), "paused");
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 1);
    json_decref(st);
    assert_status(mlops_deploy_observe(ts.h, "m", 4, GOOD), MLOPS_ESTATE, "version 4");
    assert_ok(mlops_deploy_resume(ts.h, "m", "production", NULL));
    assert_ok(mlops_deploy_pause(ts.h, "m", "production", "look at dashboards", NULL));
    expect_state(ts.h, "paused");
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", "not today", &out));
    st = parse(out);
    assert_string_equal(state_of(st), "aborted");
    assert_string_equal(json_string_value(json_object_get(st, "reason")), "not today");
    json_decref(st);
    assert_true(share(ts.h, 1) == 1.0);
    assert_status(mlops_deploy_abort(ts.h, "m", "production", NULL, &out), MLOPS_ESTATE,
                  "aborted");
    assert_status(mlops_deploy_resume(ts.h, "m", "production", &out), MLOPS_ESTATE, "paused");
    test_store_close(&ts);
}

static void blue_green_switch_and_instant_rollback(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, "{\"strategy\": \"blue_green\", \"candidate\": 2}");
    assert_true(share(ts.h, 1) == 1.0); /* the preview gets no production traffic */
    observe_n(ts.h, 2, 5, GOOD);         /* smoke tests on the preview */
    expect_state(ts.h, "running");
    char *out = NULL;
    assert_status(mlops_deploy_promote(ts.h, "m", "production", 3, NULL, &out), MLOPS_EINVAL,
                  "candidate");
    assert_ok(mlops_deploy_promote(ts.h, "m", "production", 0, "switch", &out));
    json_t *st = parse(out);
    assert_string_equal(state_of(st), "promoted");
    json_decref(st);
    assert_true(share(ts.h, 2) == 1.0);
    assert_ok(mlops_deploy_rollback(ts.h, "m", "production", "p99 regressed", &out));
    st = parse(out);
    assert_string_equal(state_of(st), "rolled_back");
    json_decref(st);
    assert_true(share(ts.h, 1) == 1.0);
    assert_status(mlops_deploy_rollback(ts.h, "m", "production", NULL, &out), MLOPS_ESTATE,
                  "nothing to roll back");
    /* With an analysis and auto_promote, a good preview switches by itself... */
    start(ts.h, "{\"strategy\": \"blue_green\", \"candidate\": 2, \"min_observations\": 10,"
                " \"analysis\": [\"error_rate <= 0\"], \"auto_promote\": true}");
    observe_n(ts.h, 2, 10, GOOD);
    expect_state(ts.h, "promoted");
    assert_true(share(ts.h, 2) == 1.0);
    /* ...and a bad one is rolled back without ever serving. */
    start(ts.h, "{\"strategy\": \"blue_green\", \"candidate\": 3, \"min_observations\": 10,"
                " \"analysis\": [\"error_rate <= 0\"]}");
    observe_n(ts.h, 3, 10, BAD);
    expect_state(ts.h, "rolled_back");
    assert_true(share(ts.h, 2) == 1.0);
    test_store_close(&ts);
}

static void shadow_never_changes_the_primary(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, "{\"strategy\": \"shadow\", \"candidate\": 3, \"sample\": 50}");
    int copied = 0;
    char key[32];
    for (int i = 0; i < 10000; i++) {
        snprintf(key, sizeof key, "user-%d", i);
        int64_t v = 0;
        int32_t shadows[4] = {0};
        size_t n = 0;
        assert_ok(mlops_deploy_pick(ts.h, "m", "production", key, &v, shadows, 4, &n));
        assert_int_equal(v, 1);
        if (n) {
            assert_int_equal(n, 1);
            assert_int_equal(shadows[0], 3);
            copied++;
        }
    }
    assert_true(copied > 4700 && copied < 5300);
    /* The shadow fails every request: nothing changes for the primary. */
    observe_n(ts.h, 3, 500, BAD);
    observe_n(ts.h, 1, 500, GOOD);
    json_t *st = status(ts.h);
    assert_string_equal(state_of(st), "running");
    json_t *obs = json_object_get(st, "observations");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(obs, "3"),
                                                        "observations")), 500);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(obs, "1"),
                                                        "observations")), 500);
    assert_true(json_real_value(json_object_get(
                    json_object_get(json_object_get(json_object_get(obs, "3"), "metrics"),
                                    "error_rate"), "mean")) == 1.0);
    json_decref(st);
    assert_true(share(ts.h, 1) == 1.0);
    /* Without a key the shadow still only ever appears in the shadows list. */
    for (int i = 0; i < 100; i++) {
        int64_t v = 0;
        assert_ok(mlops_deploy_pick(ts.h, "m", "production", NULL, &v, NULL, 0, NULL));
        assert_int_equal(v, 1);
    }
    /* Promoting the shadow by hand makes it the primary; a rollback undoes it at once. */
    char *out = NULL;
    assert_ok(mlops_deploy_promote(ts.h, "m", "production", 0, "shadow looked fine", &out));
    mlops_free(out);
    assert_true(share(ts.h, 3) == 1.0);
    assert_ok(mlops_deploy_rollback(ts.h, "m", "production", NULL, &out));
    mlops_free(out);
    assert_true(share(ts.h, 1) == 1.0);
    start(ts.h, "{\"strategy\": \"shadow\", \"candidate\": 3}");
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", NULL, &out));
    mlops_free(out);
    expect_state(ts.h, "aborted");
    assert_true(share(ts.h, 1) == 1.0);
    test_store_close(&ts);
}

#define AB                                                                                     \
    "{\"strategy\": \"ab\", \"salt\": \"exp-7\", \"metric\": \"converted\","                   \
    " \"min_samples\": 2000, \"arms\": [{\"name\": \"control\", \"version\": 1, \"weight\": 50},"\
    " {\"name\": \"treatment\", \"version\": 2, \"weight\": 50}]}"

static void ab_split_and_stickiness(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, "{\"strategy\": \"ab\", \"metric\": \"converted\", \"arms\": ["
                "{\"name\": \"a\", \"version\": 1, \"weight\": 20},"
                "{\"name\": \"b\", \"version\": 2, \"weight\": 30},"
                "{\"name\": \"c\", \"version\": 3, \"weight\": 50}]}");
    int counts[4] = {0};
    static int64_t first[100000];
    char key[32];
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "u%d", i);
        first[i] = pick(ts.h, key);
        counts[first[i]]++;
    }
    assert_true(fabs(counts[1] / 1e5 - 0.20) < 0.01);
    assert_true(fabs(counts[2] / 1e5 - 0.30) < 0.01);
    assert_true(fabs(counts[3] / 1e5 - 0.50) < 0.01);
    /* Sticky across a restart: the same users land in the same arms. */
    mlops_close(ts.h);
    assert_ok(mlops_open(ts.db_path, CONFIG, &ts.h));
    for (int i = 0; i < 100000; i += 7) {
        snprintf(key, sizeof key, "u%d", i);
        assert_int_equal(pick(ts.h, key), first[i]);
    }
    /* ...and in another process. */
    pid_t pid = fork();
    if (pid == 0) {
        mlops_t *h = NULL;
        int bad = mlops_open(ts.db_path, CONFIG, &h) != MLOPS_OK;
        for (int i = 0; !bad && i < 100000; i += 13) {
            int64_t v = 0;
            snprintf(key, sizeof key, "u%d", i);
            bad = mlops_deploy_pick(h, "m", "production", key, &v, NULL, 0, NULL) != MLOPS_OK ||
                  v != first[i];
        }
        mlops_close(h);
        _exit(bad);
    }
    int status_code = 0;
    waitpid(pid, &status_code, 0);
    assert_true(WIFEXITED(status_code) && WEXITSTATUS(status_code) == 0);
    /* 50/50 with another salt: also within 1%. */
    char *out = NULL;
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", NULL, NULL));
    start(ts.h, AB);
    int n2 = 0;
    for (int i = 0; i < 100000; i++) {
        snprintf(key, sizeof key, "u%d", i);
        n2 += pick(ts.h, key) == 2;
    }
    assert_true(fabs(n2 / 1e5 - 0.5) < 0.01);
    /* Bad arms. */
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", NULL, NULL));
    assert_status(mlops_deploy_start(ts.h, "m", "production",
                                     "{\"strategy\": \"ab\", \"metric\": \"c\", \"arms\": ["
                                     "{\"version\": 1, \"weight\": 50}, {\"version\": 2, "
                                     "\"weight\": 40}]}", &out),
                  MLOPS_EINVAL, "sum to 90, not 100");
    assert_status(mlops_deploy_start(ts.h, "m", "production",
                                     "{\"strategy\": \"ab\", \"metric\": \"c\", \"arms\": ["
                                     "{\"version\": 1, \"weight\": 50}, {\"version\": 1, "
                                     "\"weight\": 50}]}", &out),
                  MLOPS_EINVAL, "already arm 0");
    assert_status(mlops_deploy_start(ts.h, "m", "production",
                                     "{\"strategy\": \"ab\", \"metric\": \"c\", \"arms\": ["
                                     "{\"version\": 1, \"weight\": 50}, {\"version\": 9, "
                                     "\"weight\": 50}]}", &out),
                  MLOPS_ENOTFOUND, "no version 9");
    test_store_close(&ts);
}

/* A deterministic stream of 0/1 outcomes with rate `p`. */
static uint64_t rng_state = 42;
static double uniform(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static void observe_conversions(mlops_t *h, int64_t version, int n, double p)
{
    for (int i = 0; i < n; i++)
        assert_ok(mlops_deploy_observe_value(h, "m", version, "converted", uniform() < p ? 1 : 0));
}

static void ab_summary_and_srm(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"models\": {\"flush_every\": 1000, \"refresh_ms\": 0}}");
    setup_model(ts.h);
    start(ts.h, AB);
    observe_conversions(ts.h, 1, 5000, 0.10);
    observe_conversions(ts.h, 2, 5000, 0.13);
    json_t *st = status(ts.h);
    json_t *ab = json_object_get(st, "ab");
    json_t *c = json_array_get(json_object_get(ab, "comparisons"), 0);
    assert_false(json_is_true(json_object_get(json_object_get(ab, "srm"), "detected")));
    assert_true(json_is_true(json_object_get(c, "enough_samples")));
    assert_true(json_real_value(json_object_get(c, "p_value")) < 0.001);
    assert_true(json_is_true(json_object_get(c, "significant")));
    assert_true(json_real_value(json_object_get(c, "z")) > 3);
    json_decref(st);
    /* A broken split (the treatment lost a fifth of its users): SRM fires, and the
     * comparison is no longer trusted. */
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", NULL, NULL));
    start(ts.h, AB);
    observe_conversions(ts.h, 1, 5000, 0.10);
    observe_conversions(ts.h, 2, 4000, 0.13);
    st = status(ts.h);
    ab = json_object_get(st, "ab");
    assert_true(json_is_true(json_object_get(json_object_get(ab, "srm"), "detected")));
    assert_true(json_real_value(json_object_get(json_object_get(ab, "srm"), "p_value")) < 0.001);
    c = json_array_get(json_object_get(ab, "comparisons"), 0);
    assert_false(json_is_true(json_object_get(c, "significant")));
    json_decref(st);
    /* Too few samples: not significant whatever p says. Means use Welch's t-test. */
    assert_ok(mlops_deploy_abort(ts.h, "m", "production", NULL, NULL));
    start(ts.h, "{\"strategy\": \"ab\", \"metric\": \"revenue\", \"test\": \"mean\","
                " \"min_samples\": 500, \"arms\": [{\"version\": 1, \"weight\": 50},"
                " {\"version\": 2, \"weight\": 50}]}");
    for (int i = 0; i < 300; i++) {
        assert_ok(mlops_deploy_observe_value(ts.h, "m", 1, "revenue", 10 + uniform()));
        assert_ok(mlops_deploy_observe_value(ts.h, "m", 2, "revenue", 11 + uniform()));
    }
    st = status(ts.h);
    c = json_array_get(json_object_get(json_object_get(st, "ab"), "comparisons"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "test")), "welch_t");
    assert_true(json_real_value(json_object_get(c, "p_value")) < 1e-6);
    assert_false(json_is_true(json_object_get(c, "enough_samples")));
    assert_false(json_is_true(json_object_get(c, "significant")));
    json_decref(st);
    /* Promote the winner by hand. */
    char *out = NULL;
    assert_status(mlops_deploy_promote(ts.h, "m", "production", 3, NULL, &out), MLOPS_EINVAL,
                  "arm");
    assert_ok(mlops_deploy_promote(ts.h, "m", "production", 2, "treatment wins", &out));
    mlops_free(out);
    assert_int_equal(pick(ts.h, "anyone"), 2);
    test_store_close(&ts);
}

static void bad_strategies_and_gate(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    char *out = NULL;
    static const struct {
        const char *json;
        int code;
        const char *needle;
    } cases[] = {
        {"{\"strategy\": \"rainbow\", \"candidate\": 2}", MLOPS_EINVAL, "rainbow"},
        {"{\"strategy\": \"canary\"}", MLOPS_EINVAL, "candidate"},
        {"{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [50, 20]}", MLOPS_EINVAL,
         "steps[1]"},
        {"{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [150]}", MLOPS_EINVAL,
         "at most 100"},
        {"{\"strategy\": \"canary\", \"candidate\": 2, \"analysis\": [\"error_rate ~ 1\"]}",
         MLOPS_EINVAL, "analysis[0]"},
        {"{\"strategy\": \"canary\", \"candidate\": 2, \"analysis\": [{\"metric\": \"e\","
         " \"stat\": \"p42x\", \"op\": \"<\", \"value\": 1}]}", MLOPS_EINVAL, "stat"},
        {"{\"strategy\": \"shadow\", \"candidate\": 2, \"steps\": [1]}", MLOPS_EINVAL,
         "not used by strategy 'shadow'"},
        {"{\"strategy\": \"shadow\", \"candidate\": 2, \"sample\": 0}", MLOPS_EINVAL, "sample"},
        {"{\"strategy\": \"canary\", \"candidate\": 9}", MLOPS_ENOTFOUND, "no version 9"},
        {"{\"strategy\": \"canary\", \"candidate\": 1}", MLOPS_ESTATE, "already holds"},
        {"{\"strategy\": \"ab\", \"arms\": []}", MLOPS_EINVAL, "arms"},
        {"[1]", MLOPS_EPARSE, "strategy_json"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = mlops_deploy_start(ts.h, "m", "production", cases[i].json, &out);
        if (rc != cases[i].code || !strstr(mlops_last_error(), cases[i].needle))
            print_error("%s: %d %s\n", cases[i].json, rc, mlops_last_error());
        assert_int_equal(rc, cases[i].code);
        assert_non_null(strstr(mlops_last_error(), cases[i].needle));
        assert_null(out);
    }
    assert_status(mlops_deploy_start(ts.h, "m", "staging",
                                     "{\"strategy\": \"canary\", \"candidate\": 2}", &out),
                  MLOPS_ESTATE, "no version on alias 'staging'");
    assert_status(mlops_deploy_start(ts.h, "m", "latest",
                                     "{\"strategy\": \"canary\", \"candidate\": 2}", &out),
                  MLOPS_EINVAL, "reserved");
    assert_status(mlops_deploy_status(ts.h, "m", "production", &out), MLOPS_ENOTFOUND,
                  "no deployment");
    /* The gate guards deployments too; the decision comes back on EGATE. */
    assert_ok(mlops_model_update(ts.h, "m", 2, "{\"metrics\": {\"auc\": 0.5}}"));
    assert_ok(mlops_model_set_gate(ts.h, "m", NULL, "[{\"metric\": \"auc\", \"threshold\": 0.8}]"));
    assert_status(mlops_deploy_start(ts.h, "m", "production",
                                     "{\"strategy\": \"canary\", \"candidate\": 2}", &out),
                  MLOPS_EGATE, "gate");
    json_t *d = parse(out);
    assert_false(json_is_true(json_object_get(d, "passed")));
    json_decref(d);
    assert_status(mlops_deploy_status(ts.h, "m", "production", &out), MLOPS_ENOTFOUND, "no deployment");
    assert_ok(mlops_deploy_start(ts.h, "m", "production",
                                 "{\"strategy\": \"canary\", \"candidate\": 2, \"force\": true,"
                                 " \"reason\": \"eval set is stale\"}", &out));
    mlops_free(out);
    assert_ok(mlops_model_history(ts.h, "m", 0, &out));
    assert_non_null(strstr(out, "deploy_blocked"));
    assert_non_null(strstr(out, "deploy_start_forced"));
    mlops_free(out);
    test_store_close(&ts);
}

/* Two processes observe one canary; no observation is lost, no transition doubled. */
static int drive(const char *path, int *rejected)
{
    mlops_t *h = NULL;
    if (mlops_open(path, "{\"busy_timeout_ms\": 20000, \"models\": {\"flush_every\": 5,"
                         " \"refresh_ms\": 0}}", &h) != MLOPS_OK)
        return 1;
    *rejected = 0;
    int bad = 0;
    for (int i = 0; i < 150 && !bad; i++) {
        int rc = mlops_deploy_observe(h, "m", 2, GOOD);
        if (rc == MLOPS_ESTATE)
            (*rejected)++;
        else
            bad = rc != MLOPS_OK;
        int64_t v;
        bad = bad || mlops_deploy_pick(h, "m", "production", "u", &v, NULL, 0, NULL) != MLOPS_OK;
    }
    mlops_close(h); /* flushes */
    return bad;
}

static void two_processes_drive_one_deployment(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [30, 60, 100],"
                " \"min_observations\": 40, \"analysis\": [\"error_rate <= 0.05\"]}");
    int pipefd[2];
    assert_int_equal(pipe(pipefd), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int rejected = 0;
        int bad = drive(ts.db_path, &rejected);
        ssize_t w = write(pipefd[1], &rejected, sizeof rejected);
        _exit(bad || w != (ssize_t)sizeof rejected);
    }
    int mine = 0, theirs = 0;
    assert_int_equal(drive(ts.db_path, &mine), 0);
    int code = 0;
    waitpid(pid, &code, 0);
    assert_true(WIFEXITED(code) && WEXITSTATUS(code) == 0);
    assert_int_equal(read(pipefd[0], &theirs, sizeof theirs), (ssize_t)sizeof theirs);
    close(pipefd[0]);
    close(pipefd[1]);
    expect_state(ts.h, "promoted");
    assert_int_equal(pick(ts.h, "anyone"), 2);
    /* Every accepted observation is in the store, exactly once. */
    sqlite3 *db = mlops__store_lock(ts.h->store);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT SUM(n) FROM model_observations WHERE"
                                            " version=2 AND metric='__n'", -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int64_t stored = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    mlops__store_unlock(ts.h->store);
    assert_int_equal(stored, 300 - mine - theirs);
    /* Each step advanced once and the promotion happened once. */
    char *out = NULL;
    assert_ok(mlops_model_history(ts.h, "m", 0, &out));
    json_t *h = parse(out);
    int steps = 0, promotes = 0;
    size_t i;
    json_t *e;
    json_array_foreach(h, i, e) {
        const char *a = json_string_value(json_object_get(e, "action"));
        steps += strcmp(a, "deploy_step") == 0;
        promotes += strcmp(a, "deploy_auto_promote") == 0;
    }
    json_decref(h);
    assert_int_equal(steps, 2);
    assert_int_equal(promotes, 1);
    test_store_close(&ts);
}

static void state_survives_restart(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, CONFIG);
    setup_model(ts.h);
    start(ts.h, CANARY);
    observe_n(ts.h, 2, 50, GOOD);
    observe_n(ts.h, 2, 7, GOOD); /* pending in memory: flushed at close */
    mlops_close(ts.h);
    assert_ok(mlops_open(ts.db_path, CONFIG, &ts.h));
    json_t *st = status(ts.h);
    assert_int_equal(json_integer_value(json_object_get(st, "step")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(json_object_get(st, "observations"), "2"),
                         "observations")), 7);
    json_decref(st);
    double s = share(ts.h, 2);
    assert_true(s > 0.47 && s < 0.53);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(canary_walks_the_steps_and_promotes),
        cmocka_unit_test(canary_rolls_back_when_errors_jump),
        cmocka_unit_test(canary_failure_limit_inconclusive_and_pauses),
        cmocka_unit_test(blue_green_switch_and_instant_rollback),
        cmocka_unit_test(shadow_never_changes_the_primary),
        cmocka_unit_test(ab_split_and_stickiness),
        cmocka_unit_test(ab_summary_and_srm),
        cmocka_unit_test(bad_strategies_and_gate),
        cmocka_unit_test(two_processes_drive_one_deployment),
        cmocka_unit_test(state_survives_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
