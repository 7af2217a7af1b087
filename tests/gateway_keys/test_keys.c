/*
 * Virtual keys and the spend ledger: secrets, revoke/expire/rotate, exact budgets under
 * 16 threads and across two processes, rpm/tpm/max_parallel windows, ledger totals.
 */
#include "test_support.h"

#include "api/api.h"
#include "gateway/keys.h"

#include <jansson.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static json_t *load(char *text)
{
    json_t *j = json_loads(text, 0, NULL);
    assert_non_null(j);
    mlops_free(text);
    return j;
}

/* Creates a key from metadata; returns the secret (malloc'd) and the id in id[40]. */
static char *make_key(mlops_t *h, const char *meta, char id[40])
{
    char *out = NULL;
    assert_ok(mlops_keys_create(h, meta, &out));
    json_t *j = load(out);
    char *secret = strdup(json_string_value(json_object_get(j, "secret")));
    if (id)
        snprintf(id, 40, "%s", json_string_value(json_object_get(j, "id")));
    json_decref(j);
    return secret;
}

/* Microseconds between authorize and settle, so that concurrent requests overlap. */
static unsigned overlap_us;

/* authorize + settle at `cost`; returns the authorize status. */
static int spend_once(mlops_t *h, const char *secret, const char *model, double cost,
                      int64_t *retry_ms)
{
    char *out = NULL;
    int rc = mlops_keys_authorize(h, secret, model, cost, 100, &out);
    json_t *j = out ? load(out) : NULL;
    if (retry_ms)
        *retry_ms = json_integer_value(json_object_get(j, "retry_after_ms"));
    if (rc == MLOPS_EBUDGET && retry_ms &&
        strcmp(json_string_value(json_object_get(j, "error")), "budget_in_flight") != 0)
        *retry_ms = -2; /* refused until the period resets: stop */
    if (rc == MLOPS_OK) {
        if (overlap_us)
            usleep(overlap_us);
        char usage[256];
        snprintf(usage, sizeof usage,
                 "{\"cost\": %.17g, \"tokens_in\": 60, \"tokens_out\": 40, \"model\": \"%s\", "
                 "\"deployment\": \"d1\", \"latency_ms\": 12.5}",
                 cost, model ? model : "m");
        assert_ok(mlops_keys_settle(h, json_integer_value(json_object_get(j, "reservation")),
                                    usage));
    }
    json_decref(j);
    return rc;
}

static void create_list_secrets(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char id[40];
    char *secret = make_key(ts.h, "{\"alias\": \"team-a\", \"budget\": 5, \"owner\": \"ann\", "
                                  "\"tags\": [\"prod\"], \"models\": [\"cheap\", \"strong\"]}",
                            id);
    assert_int_equal(strlen(secret), 46);
    assert_memory_equal(secret, "mk-", 3);
    assert_memory_equal(id, "key-", 4);
    char *list = NULL;
    assert_ok(mlops_keys_list(ts.h, NULL, &list));
    assert_null(strstr(list, secret));          /* never the secret */
    assert_null(strstr(list, secret + 11));     /* nor its secret part */
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.11s", secret);
    assert_non_null(strstr(list, prefix));      /* but its prefix */
    assert_non_null(strstr(list, "\"alias\":\"team-a\""));
    mlops_free(list);
    assert_ok(mlops_keys_list(ts.h, "{\"tag\": \"nope\"}", &list));
    assert_string_equal(list, "[]");
    mlops_free(list);
    char *d = NULL;
    assert_ok(mlops_keys_get(ts.h, "team-a", &d));
    json_t *j = load(d);
    assert_string_equal(json_string_value(json_object_get(j, "id")), id);
    assert_string_equal(json_string_value(json_object_get(j, "state")), "active");
    json_decref(j);

    /* model allow-list, alias taken, bad metadata naming the key */
    assert_int_equal(spend_once(ts.h, secret, "cheap", 1, NULL), MLOPS_OK);
    assert_status(spend_once(ts.h, secret, "other", 1, NULL), MLOPS_EAUTH, "not allowed");
    char *out = NULL;
    assert_status(mlops_keys_create(ts.h, "{\"alias\": \"team-a\"}", &out), MLOPS_EEXIST,
                  "team-a");
    assert_status(mlops_keys_create(ts.h, "{\"budgett\": 1}", &out), MLOPS_EINVAL, "budgett");
    assert_status(mlops_keys_create(ts.h, "{\"budget\": -1}", &out), MLOPS_EINVAL, "budget");
    assert_status(mlops_keys_create(ts.h, "{\"budget_period\": \"hourly\"}", &out), MLOPS_EINVAL,
                  "budget_period");
    assert_status(mlops_keys_create(ts.h, "{\"models\": [1]}", &out), MLOPS_EINVAL, "models[0]");
    assert_status(mlops_keys_create(ts.h, "[", &out), MLOPS_EPARSE, "");
    assert_status(mlops_keys_authorize(ts.h, "mk-nothing-like-it", NULL, 1, 1, &out), MLOPS_EAUTH,
                  "unknown key");
    mlops_free(out);
    assert_status(mlops_keys_authorize(ts.h, "sk-123", NULL, 1, 1, &out), MLOPS_EAUTH,
                  "not a libmlops key");
    mlops_free(out);
    free(secret);
    test_store_close(&ts);

    mlops_t *h = NULL;
    assert_status(mlops_open(":memory:", "{\"keys\": {\"retention\": 3}}", &h), MLOPS_ECONFIG,
                  "config.keys: unknown key 'retention'");
    assert_status(mlops_open(":memory:", "{\"keys\": {\"salt_bytes\": 2}}", &h), MLOPS_ECONFIG,
                  "config.keys.salt_bytes");
}

static void revoke_expire_rotate(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char id[40];
    char *a = make_key(ts.h, NULL, id);
    assert_int_equal(spend_once(ts.h, a, NULL, 0.1, NULL), MLOPS_OK);
    assert_ok(mlops_keys_revoke(ts.h, id));
    assert_status(spend_once(ts.h, a, NULL, 0.1, NULL), MLOPS_EAUTH, "revoked");
    char *out = NULL;
    assert_status(mlops_keys_rotate(ts.h, id, 0, &out), MLOPS_ESTATE, "revoked");
    assert_status(mlops_keys_revoke(ts.h, "key-nope"), MLOPS_ENOTFOUND, "key-nope");

    char *b = make_key(ts.h, "{\"expires_ms\": 1000}", NULL);
    int64_t retry = 0;
    assert_status(spend_once(ts.h, b, NULL, 0.1, &retry), MLOPS_EAUTH, "expired");
    assert_int_equal(retry, -1);

    char *c = make_key(ts.h, "{\"alias\": \"rot\"}", id);
    assert_int_equal(spend_once(ts.h, c, NULL, 0.1, NULL), MLOPS_OK);
    assert_ok(mlops_keys_rotate(ts.h, "rot", 0, &out));
    json_t *j = load(out);
    char *c2 = strdup(json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    assert_string_not_equal(c, c2);
    assert_status(spend_once(ts.h, c, NULL, 0.1, NULL), MLOPS_EAUTH, "rotation");
    assert_int_equal(spend_once(ts.h, c2, NULL, 0.1, NULL), MLOPS_OK);
    /* with a grace period the old secret keeps working until it ends */
    assert_ok(mlops_keys_rotate(ts.h, "rot", 60000, &out));
    j = load(out);
    char *c3 = strdup(json_string_value(json_object_get(j, "secret")));
    json_decref(j);
    assert_int_equal(spend_once(ts.h, c2, NULL, 0.1, NULL), MLOPS_OK);
    assert_int_equal(spend_once(ts.h, c3, NULL, 0.1, NULL), MLOPS_OK);
    assert_status(spend_once(ts.h, c, NULL, 0.1, NULL), MLOPS_EAUTH, "");
    /* spend stays with the key across rotations */
    char *d = NULL;
    assert_ok(mlops_keys_get(ts.h, id, &d));
    j = load(d);
    assert_true(json_real_value(json_object_get(j, "spent")) > 0.39);
    json_decref(j);
    free(a);
    free(b);
    free(c);
    free(c2);
    free(c3);
    test_store_close(&ts);
}

/* ------------------------------------------------------------------ budgets ---- */

#define THREADS 16
#define ALLOWED 40

typedef struct hammer {
    mlops_t *h;
    const char *secret;
    int successes;
    int in_flight_refusals;
} hammer;

/* Keeps spending until the budget refuses for good (not merely for in-flight ones). */
static int hammer_loop(mlops_t *h, const char *secret, int *inflight_refusals)
{
    int ok = 0;
    for (;;) {
        int64_t retry = 0;
        int rc = spend_once(h, secret, "cheap", 0.25, &retry);
        if (rc == MLOPS_OK) {
            ok++;
        } else if (rc == MLOPS_EBUDGET && retry != -2) {
            (*inflight_refusals)++;
            sched_yield();
        } else if (rc == MLOPS_EBUDGET) {
            return ok;
        } else if (rc != MLOPS_EBUSY) {
            fail_msg("unexpected status %d: %s", rc, mlops_last_error());
        }
    }
}

static void *hammer_thread(void *arg)
{
    hammer *t = arg;
    t->successes = hammer_loop(t->h, t->secret, &t->in_flight_refusals);
    return NULL;
}

static void sixteen_threads_exact_budget(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char id[40];
    char meta[128];
    snprintf(meta, sizeof meta, "{\"budget\": %g, \"budget_period\": \"daily\"}", ALLOWED * 0.25);
    char *secret = make_key(ts.h, meta, id);
    pthread_t th[THREADS];
    hammer t[THREADS];
    overlap_us = 200;
    for (int i = 0; i < THREADS; i++) {
        t[i] = (hammer){ts.h, secret, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, hammer_thread, &t[i]), 0);
    }
    int total = 0, waits = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        total += t[i].successes;
        waits += t[i].in_flight_refusals;
    }
    overlap_us = 0;
    print_message("16 threads: %d successes for a budget of %d requests (%d in-flight waits)\n",
                  total, ALLOWED, waits);
    assert_int_equal(total, ALLOWED);
    char *d = NULL;
    assert_ok(mlops_keys_get(ts.h, id, &d));
    json_t *j = load(d);
    assert_float_equal(json_real_value(json_object_get(j, "spent")), ALLOWED * 0.25, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(j, "in_flight")), 0);
    json_decref(j);
    /* the refusal says when the daily budget resets */
    char *out = NULL;
    assert_status(mlops_keys_authorize(ts.h, secret, NULL, 0.25, 1, &out), MLOPS_EBUDGET,
                  "resets at");
    j = load(out);
    assert_string_equal(json_string_value(json_object_get(j, "error")), "budget");
    int64_t retry = json_integer_value(json_object_get(j, "retry_after_ms"));
    assert_true(retry > 0 && retry <= 86400000);
    json_decref(j);
    free(secret);
    test_store_close(&ts);
}

static void two_processes_share_budget(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char *secret = make_key(ts.h, "{\"budget\": 7.5}", NULL); /* 30 requests of 0.25 */
    mlops_close(ts.h);
    ts.h = NULL;
    int fds[2][2], go[2];
    pid_t pids[2];
    assert_int_equal(pipe(go), 0);
    overlap_us = 300;
    for (int p = 0; p < 2; p++) {
        assert_int_equal(pipe(fds[p]), 0);
        pids[p] = fork();
        assert_true(pids[p] >= 0);
        if (pids[p] == 0) {
            char byte;
            close(go[1]);
            if (read(go[0], &byte, 1) != 1) /* both start together */
                _exit(102);
            mlops_t *h = NULL;
            if (mlops_open(ts.db_path, "{\"busy_timeout_ms\": 20000}", &h) != MLOPS_OK)
                _exit(100);
            int waits = 0;
            int ok = hammer_loop(h, secret, &waits);
            mlops_close(h);
            if (write(fds[p][1], &ok, sizeof ok) != (ssize_t)sizeof ok)
                _exit(101);
            _exit(0);
        }
        close(fds[p][1]);
    }
    overlap_us = 0;
    close(go[0]);
    assert_int_equal(write(go[1], "gg", 2), 2);
    close(go[1]);
    int total = 0;
    for (int p = 0; p < 2; p++) {
        int status = 0, ok = 0;
        assert_int_equal(read(fds[p][0], &ok, sizeof ok), (ssize_t)sizeof ok);
        close(fds[p][0]);
        waitpid(pids[p], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        print_message("process %d: %d successes\n", p, ok);
        total += ok;
    }
    print_message("two processes: %d successes for a budget of 30 requests\n", total);
    assert_int_equal(total, 30);
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    char *q = NULL;
    assert_ok(mlops_spend_query(ts.h, "{\"by\": \"total\"}", &q));
    json_t *j = load(q);
    assert_float_equal(json_real_value(json_object_get(json_object_get(j, "total"), "cost")), 7.5,
                       1e-9);
    json_decref(j);
    free(secret);
    test_store_close(&ts);
}

/* ------------------------------------------------------------------ limits ----- */

static void rpm_tpm_parallel(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    /* rpm: exactly 5 pass within one minute window (redo if the minute rolled over) */
    for (int attempt = 0; attempt < 3; attempt++) {
        char *secret = make_key(ts.h, "{\"rpm\": 5}", NULL);
        int64_t minute = mlops__wall_ms() / 60000;
        int ok = 0, limited = 0;
        int64_t retry = 0;
        for (int i = 0; i < 9; i++) {
            int rc = spend_once(ts.h, secret, NULL, 0, &retry);
            ok += rc == MLOPS_OK;
            if (rc == MLOPS_ERATELIMIT) {
                limited++;
                assert_non_null(strstr(mlops_last_error(), "retry_after_ms"));
                assert_true(retry > 0 && retry <= 60000);
            }
        }
        free(secret);
        if (mlops__wall_ms() / 60000 != minute)
            continue;
        assert_int_equal(ok, 5);
        assert_int_equal(limited, 4);
        break;
    }
    /* tpm: requests reserve their tokens; settle corrects them to the actual count */
    char *secret = make_key(ts.h, "{\"tpm\": 250}", NULL);
    char *out = NULL;
    assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 0, 200, &out));
    json_t *j = load(out);
    int64_t r1 = json_integer_value(json_object_get(j, "reservation"));
    json_decref(j);
    assert_status(mlops_keys_authorize(ts.h, secret, NULL, 0, 100, &out), MLOPS_ERATELIMIT,
                  "tpm");
    mlops_free(out);
    assert_ok(mlops_keys_settle(ts.h, r1, "{\"cost\": 0, \"tokens_in\": 30, \"tokens_out\": 20}"));
    assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 0, 100, &out)); /* 50 + 100 <= 250 */
    mlops_free(out);
    assert_status(mlops_keys_authorize(ts.h, secret, NULL, 0, 300, &out), MLOPS_ERATELIMIT,
                  "never pass");
    mlops_free(out);
    free(secret);

    /* max_parallel: the third concurrent request waits for a release */
    secret = make_key(ts.h, "{\"max_parallel\": 2}", NULL);
    int64_t res[2];
    for (int i = 0; i < 2; i++) {
        assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 1, 1, &out));
        j = load(out);
        res[i] = json_integer_value(json_object_get(j, "reservation"));
        json_decref(j);
    }
    assert_status(mlops_keys_authorize(ts.h, secret, NULL, 1, 1, &out), MLOPS_ERATELIMIT,
                  "max_parallel");
    mlops_free(out);
    assert_ok(mlops_keys_release(ts.h, res[0]));
    assert_status(mlops_keys_release(ts.h, res[0]), MLOPS_ENOTFOUND, "already settled");
    assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 1, 1, &out));
    mlops_free(out);
    free(secret);

    /* soft budget: authorize succeeds and reports the alert */
    secret = make_key(ts.h, "{\"budget\": 10, \"soft_budget\": 2}", NULL);
    assert_int_equal(spend_once(ts.h, secret, NULL, 1.5, NULL), MLOPS_OK);
    assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 1, 1, &out));
    j = load(out);
    assert_true(json_is_true(json_object_get(j, "soft_budget_alert")));
    json_decref(j);
    free(secret);
    test_store_close(&ts);
}

/* ------------------------------------------------------------------ ledger ----- */

static void ledger_totals_and_retention(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char ida[40], idb[40];
    char *a = make_key(ts.h, NULL, ida);
    char *b = make_key(ts.h, NULL, idb);
    double sum = 0;
    int64_t tin = 0, tout = 0;
    const char *models[] = {"cheap", "strong", "cheap"};
    for (int i = 0; i < 30; i++) {
        const char *secret = i % 3 == 0 ? b : a;
        char *out = NULL;
        assert_ok(mlops_keys_authorize(ts.h, secret, NULL, 1, 1000, &out));
        json_t *j = load(out);
        int64_t r = json_integer_value(json_object_get(j, "reservation"));
        json_decref(j);
        double cost = 0.001 * (i + 1) * (i % 2 ? 3 : 1);
        char usage[320];
        snprintf(usage, sizeof usage,
                 "{\"cost\": %.17g, \"tokens_in\": %d, \"tokens_out\": %d, \"model\": \"%s\", "
                 "\"cache_hit\": %s, \"status\": \"%s\", \"route\": {\"tier\": \"simple\"}}",
                 cost, 10 + i, 5 * i, models[i % 3], i % 5 == 0 ? "true" : "false",
                 i == 7 ? "error" : "ok");
        assert_ok(mlops_keys_settle(ts.h, r, usage));
        sum += cost;
        tin += 10 + i;
        tout += 5 * i;
    }
    assert_ok(mlops_spend_record(ts.h, "{\"cost\": 0.5, \"model\": \"local\", \"tokens_in\": 1}"));
    sum += 0.5;
    tin += 1;
    char *q = NULL;
    assert_ok(mlops_spend_query(ts.h, "{\"by\": \"model\"}", &q));
    json_t *j = load(q);
    json_t *total = json_object_get(j, "total");
    assert_float_equal(json_real_value(json_object_get(total, "cost")), sum, 1e-9);
    assert_int_equal(json_integer_value(json_object_get(total, "tokens_in")), tin);
    assert_int_equal(json_integer_value(json_object_get(total, "tokens_out")), tout);
    assert_int_equal(json_integer_value(json_object_get(total, "requests")), 31);
    assert_int_equal(json_integer_value(json_object_get(total, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(total, "cache_hits")), 6);
    double by_model = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(j, "rows"), i, row)
        by_model += json_real_value(json_object_get(row, "cost"));
    assert_float_equal(by_model, sum, 1e-9);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 3);
    json_decref(j);
    /* top spender is key a (20 of 30 requests, the odd ones tripled) */
    assert_ok(mlops_spend_query(ts.h, "{\"by\": \"key\", \"top\": 1}", &q));
    j = load(q);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(json_object_get(j, "rows"), 0), "group")),
        ida);
    json_decref(j);
    char filt[96];
    snprintf(filt, sizeof filt, "{\"by\": \"day\", \"key\": \"%s\"}", idb);
    assert_ok(mlops_spend_query(ts.h, filt, &q));
    j = load(q);
    assert_int_equal(json_array_size(json_object_get(j, "rows")), 1);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "total"), "requests")),
                     10);
    json_decref(j);
    assert_status(mlops_spend_query(ts.h, "{\"by\": \"week\"}", &q), MLOPS_EINVAL, "spend query.by");
    assert_status(mlops_spend_query(ts.h, "{\"bye\": 1}", &q), MLOPS_EINVAL, "bye");
    /* retention: old rows go, in batches */
    for (int k = 0; k < 25; k++)
        assert_ok(mlops_spend_record(ts.h, "{\"cost\": 1, \"ts_ms\": 1000}"));
    int64_t deleted = 0;
    assert_ok(mlops_spend_prune(ts.h, 2000, &deleted));
    assert_int_equal(deleted, 25);
    assert_ok(mlops_spend_query(ts.h, "{\"by\": \"total\"}", &q));
    j = load(q);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "total"), "requests")),
                     31);
    json_decref(j);
    free(a);
    free(b);
    test_store_close(&ts);
}

static void internal_api_and_periods(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char *secret = make_key(ts.h, "{\"budget\": 1}", NULL);
    mlops__key_reservation r;
    assert_ok(mlops__keys_authorize(ts.h->keys, secret, "m", 0.6, 10, &r));
    assert_true(r.id > 0);
    /* a second reservation would overrun the budget while the first is in flight */
    mlops__key_reservation r2;
    assert_status(mlops__keys_authorize(ts.h->keys, secret, "m", 0.6, 10, &r2), MLOPS_EBUDGET,
                  "in-flight");
    assert_ok(mlops__keys_settle(ts.h->keys, &r, 0.3, 5, 5, "ok"));
    assert_ok(mlops__keys_authorize(ts.h->keys, secret, "m", 0.6, 10, &r2));
    mlops__ledger_entry e = {0};
    e.model = "m";
    e.cost = 0.2;
    e.status = "ok";
    assert_ok(mlops__keys_settle_record(ts.h->keys, &r2, &e));
    assert_status(mlops__keys_authorize(ts.h->keys, secret, "m", 0.6, 10, &r2), MLOPS_EBUDGET,
                  "never resets");
    free(secret);
    /* UTC periods: 2026-11-26T18:00Z is a Thursday */
    int64_t t = 1795716000000LL;
    assert_int_equal(mlops__key_period_start(MLOPS__PERIOD_DAILY, t), 1795651200000LL);
    assert_int_equal(mlops__key_period_next(MLOPS__PERIOD_DAILY, t), 1795737600000LL);
    assert_int_equal(mlops__key_period_start(MLOPS__PERIOD_WEEKLY, t), 1795392000000LL);
    assert_int_equal(mlops__key_period_start(MLOPS__PERIOD_MONTHLY, t), 1793491200000LL);
    assert_int_equal(mlops__key_period_next(MLOPS__PERIOD_MONTHLY, t), 1796083200000LL);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_list_secrets),
        cmocka_unit_test(revoke_expire_rotate),
        cmocka_unit_test(sixteen_threads_exact_budget),
        cmocka_unit_test(two_processes_share_budget),
        cmocka_unit_test(rpm_tpm_parallel),
        cmocka_unit_test(ledger_totals_and_retention),
        cmocka_unit_test(internal_api_and_periods),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
