/*
 * The semantic cache through the public API: tiers, partitions, request forms, bad
 * input, feedback, TTL, LRU bounds, invalidation, persistence (restart, crash, damaged
 * rows), int8 vectors, callback embedder and guard.
 */
#include "test_support.h"

#include "cache_support.h"

#include "api/api.h"
#include "cache/cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define NO_PERSIST "{\"cache\": {\"persist\": false}}"

/* Looks up and returns the parsed result (caller decrefs). */
static json_t *lookup_req(mlops_t *h, const char *req, const char *opts)
{
    char *out = NULL;
    assert_ok(mlops_cache_lookup(h, req, opts, &out));
    json_t *j = json_loads(out, 0, NULL);
    assert_non_null(j);
    mlops_free(out);
    return j;
}

static json_t *lookup(mlops_t *h, const char *ns, const char *prompt)
{
    char *req = cache_simple(ns, prompt);
    json_t *j = lookup_req(h, req, NULL);
    free(req);
    return j;
}

static const char *hit_of(const json_t *j)
{
    const json_t *h = json_object_get(j, "hit");
    return json_is_string(h) ? json_string_value(h) : "miss";
}

static void assert_hit(mlops_t *h, const char *ns, const char *prompt, const char *want)
{
    json_t *j = lookup(h, ns, prompt);
    if (strcmp(hit_of(j), want) != 0)
        print_error("lookup '%s': got %s, wanted %s\n", prompt, hit_of(j), want);
    assert_string_equal(hit_of(j), want);
    json_decref(j);
}

static void tiers_and_result_shape(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NO_PERSIST);
    int64_t id = cache_put(ts.h, "docs", "How do I open a file in Python?", "Use open(path).");
    json_t *j = lookup(ts.h, "docs", "How do I open a file in Python?");
    assert_string_equal(hit_of(j), "exact");
    assert_int_equal(json_integer_value(json_object_get(j, "entry_id")), id);
    assert_true(json_real_value(json_object_get(j, "similarity")) == 1.0);
    assert_string_equal(json_string_value(json_object_get(j, "response")), "Use open(path).");
    assert_string_equal(json_string_value(json_object_get(j, "partition")),
                        "ns=docs|model=|t=default");
    json_decref(j);

    j = lookup(ts.h, "docs", "how can I open a file in python");
    assert_string_equal(hit_of(j), "semantic");
    double sim = json_real_value(json_object_get(j, "similarity"));
    assert_true(sim >= 0.55 && sim < 1.0);
    assert_int_equal(json_integer_value(json_object_get(j, "entry_id")), id);
    json_decref(j);

    j = lookup(ts.h, "docs", "How do I close a file in Python?");
    assert_string_equal(hit_of(j), "miss");
    assert_true(json_is_null(json_object_get(j, "response")));
    assert_true(json_is_null(json_object_get(j, "entry_id")));
    assert_true(json_is_null(json_object_get(j, "similarity")));
    json_decref(j);

    /* Another namespace sees nothing; exact-only lookups skip the semantic tier. */
    assert_hit(ts.h, "other", "How do I open a file in Python?", "miss");
    char *req = cache_simple("docs", "how can I open a file in python");
    j = lookup_req(ts.h, req, "{\"semantic\": false}");
    assert_string_equal(hit_of(j), "miss");
    json_decref(j);
    j = lookup_req(ts.h, req, "{\"threshold\": 0.99}");
    assert_string_equal(hit_of(j), "miss");
    json_decref(j);
    free(req);

    assert_int_equal(cache_stat_int(ts.h, "hits", "exact"), 1);
    assert_int_equal(cache_stat_int(ts.h, "hits", "semantic"), 1);
    assert_int_equal(cache_stat_int(ts.h, "misses", NULL), 4);
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 1);
    assert_true(cache_stat_int(ts.h, "guard_rejections", NULL) >= 1);
    test_store_close(&ts);
}

static const char *chat(const char *model, const char *system, const char *history,
                        const char *user, const char *temp, const char *pv)
{
    static char buf[4096];
    char msgs[2048] = "";
    if (system)
        snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs),
                 "{\"role\":\"system\",\"content\":\"%s\"},", system);
    if (history)
        snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs),
                 "{\"role\":\"user\",\"content\":\"%s\"},{\"role\":\"assistant\",\"content\":\"ok\"},",
                 history);
    snprintf(msgs + strlen(msgs), sizeof msgs - strlen(msgs),
             "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"%s\"}]}", user);
    snprintf(buf, sizeof buf,
             "{\"model\":\"%s\",\"messages\":[%s]%s%s%s%s%s, \"stream\": false}", model, msgs,
             temp ? ",\"temperature\":" : "", temp ? temp : "",
             pv ? ",\"x_mlops\":{\"prompt\":\"" : "", pv ? pv : "", pv ? "\"}" : "");
    return buf;
}

static void partitions_isolate_paraphrases(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NO_PERSIST);
    const char *q = "How do I reverse a list in Python?";
    const char *p = "how can I reverse a list in python";
    char *base = strdup(chat("gpt-4o", "You are terse.", NULL, q, "0", "faq@3"));
    assert_ok(mlops_cache_put(ts.h, base, "{\"choices\":[]}", NULL, NULL));
    json_t *j = lookup_req(ts.h, base, NULL);
    assert_string_equal(hit_of(j), "exact");
    assert_true(json_is_object(json_object_get(j, "response")));
    json_decref(j);
    /* Whitespace and 0 vs 0.0 do not change the exact key; "stream" is ignored. */
    char *same = strdup(chat("gpt-4o", "You are  terse. ", NULL, q, "0.0", "faq@3"));
    j = lookup_req(ts.h, same, NULL);
    assert_string_equal(hit_of(j), "exact");
    json_decref(j);
    free(same);
    j = lookup_req(ts.h, chat("gpt-4o", "You are terse.", NULL, p, "0", "faq@3"), NULL);
    assert_string_equal(hit_of(j), "semantic");
    json_decref(j);
    /* Each partition component keeps the paraphrase out. */
    const char *others[] = {
        chat("gpt-4o-mini", "You are terse.", NULL, p, "0", "faq@3"),
        NULL, NULL, NULL, NULL,
    };
    char *o[5];
    o[0] = strdup(others[0]);
    o[1] = strdup(chat("gpt-4o", "You are verbose.", NULL, p, "0", "faq@3"));
    o[2] = strdup(chat("gpt-4o", "You are terse.", "earlier question", p, "0", "faq@3"));
    o[3] = strdup(chat("gpt-4o", "You are terse.", NULL, p, "0.9", "faq@3"));
    o[4] = strdup(chat("gpt-4o", "You are terse.", NULL, p, "0", "faq@4"));
    for (int i = 0; i < 5; i++) {
        j = lookup_req(ts.h, o[i], NULL);
        if (strcmp(hit_of(j), "miss") != 0)
            print_error("variant %d hit\n", i);
        assert_string_equal(hit_of(j), "miss");
        json_decref(j);
        free(o[i]);
    }
    /* The same prompt with another answer-changing parameter is not an exact hit, but
       the semantic tier (same partition) serves it. */
    char *more = strdup(chat("gpt-4o", "You are terse.", NULL, q, "0", "faq@3"));
    more[strlen(more) - 1] = '\0';
    char *more2 = mlops__sprintf("%s, \"max_tokens\": 5}", more);
    j = lookup_req(ts.h, more2, NULL);
    assert_string_equal(hit_of(j), "semantic");
    json_decref(j);
    free(more);
    free(more2);
    /* Invalidation by prompt version and by model. */
    int64_t n = -1;
    assert_ok(mlops_cache_invalidate(ts.h, "{\"prompt_version\": \"faq@2\"}", &n));
    assert_int_equal(n, 0);
    assert_ok(mlops_cache_invalidate(ts.h, "{\"prompt_version\": \"faq@3\"}", &n));
    assert_int_equal(n, 1);
    j = lookup_req(ts.h, base, NULL);
    assert_string_equal(hit_of(j), "miss");
    json_decref(j);
    assert_ok(mlops_cache_put(ts.h, base, "1", NULL, NULL));
    assert_ok(mlops_cache_invalidate(ts.h, "{\"model\": \"gpt-4o\"}", &n));
    assert_int_equal(n, 1);
    free(base);
    test_store_close(&ts);
}

static void partition_by_is_configurable(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"partition_by\": [\"model\"]}}");
    char *a = strdup(chat("m", "sys A", NULL, "How do I reverse a list in Python?", NULL, NULL));
    assert_ok(mlops_cache_put(ts.h, a, "1", NULL, NULL));
    json_t *j = lookup_req(ts.h, chat("m", "sys B", NULL, "how can I reverse a list in python",
                                      "1.5", NULL),
                           NULL);
    assert_string_equal(hit_of(j), "semantic");
    json_decref(j);
    free(a);
    test_store_close(&ts);
}

static void bad_input_is_named(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NO_PERSIST);
    mlops_t *h = ts.h;
    char *out = NULL;
    int64_t id = 0;
    assert_status(mlops_cache_lookup(NULL, "{}", NULL, &out), MLOPS_EINVAL, "handle");
    assert_status(mlops_cache_lookup(h, NULL, NULL, &out), MLOPS_EINVAL, "request_json");
    assert_status(mlops_cache_lookup(h, "{}", NULL, NULL), MLOPS_EINVAL, "out");
    assert_status(mlops_cache_lookup(h, "{\"prompt\": ", NULL, &out), MLOPS_EPARSE, "request");
    assert_status(mlops_cache_lookup(h, "[]", NULL, &out), MLOPS_EPARSE, "");
    assert_status(mlops_cache_lookup(h, "{\"prompt\": \"  \"}", NULL, &out), MLOPS_EINVAL,
                  "empty");
    assert_status(mlops_cache_put(h, "{\"prompt\": \"?!\"}", "1", NULL, &id), MLOPS_EINVAL,
                  "no letters or digits");
    assert_status(mlops_cache_lookup(h, "{\"messages\": []}", NULL, &out), MLOPS_EINVAL,
                  "messages: is empty");
    assert_status(mlops_cache_lookup(h, "{\"messages\": [{\"role\":\"system\",\"content\":\"x\"}]}",
                                     NULL, &out),
                  MLOPS_EINVAL, "no message with role \"user\"");
    assert_status(mlops_cache_lookup(h, "{\"messages\": [{\"role\":\"user\",\"content\":5}]}", NULL,
                                     &out),
                  MLOPS_EINVAL, "content: expected string or array");
    assert_status(mlops_cache_lookup(h, "{\"prompt\": \"x\", \"nmespace\": \"a\"}", NULL, &out),
                  MLOPS_EINVAL, "unknown key 'nmespace'");
    assert_status(mlops_cache_lookup(h, "{\"prompt\": \"hi\"}", "{\"treshold\": 1}", &out),
                  MLOPS_EINVAL, "unknown key 'treshold'");
    char big[700];
    memset(big, 'n', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char *req = cache_simple(big, "hello there");
    assert_status(mlops_cache_put(h, req, "1", NULL, &id), MLOPS_ELIMIT,
                  "over the limit of 512");
    free(req);
    assert_status(mlops_cache_put(h, "{\"prompt\": \"hi\"}", "not json", NULL, &id), MLOPS_EPARSE,
                  "response");
    assert_status(mlops_cache_put(h, "{\"prompt\": \"hi\"}", "1", "{\"ttl_s\": -1}", &id),
                  MLOPS_EINVAL, "ttl_s");
    assert_status(mlops_cache_feedback(h, 0, "{\"verdict\":\"wrong\"}"), MLOPS_EINVAL, "entry_id");
    assert_status(mlops_cache_feedback(h, 99, "{\"verdict\":\"wrong\"}"), MLOPS_ENOTFOUND, "99");
    assert_status(mlops_cache_feedback(h, 99, "{\"verdict\":\"meh\"}"), MLOPS_EINVAL, "meh");
    assert_status(mlops_cache_invalidate(h, "{}", NULL), MLOPS_EINVAL, "at least one");
    assert_status(mlops_cache_invalidate(h, "{\"al\": true}", NULL), MLOPS_EINVAL, "'al'");
    assert_status(mlops_cache_set_embedder(h, "x", 64, NULL, NULL), MLOPS_ESTATE, "callback");
    assert_status(mlops_cache_stats(h, NULL), MLOPS_EINVAL, "out");
    test_store_close(&ts);

    /* Config errors name the key. */
    mlops_t *bad = NULL;
    assert_status(mlops_open(":memory:", "{\"cache\": {\"tll\": 1}}", &bad), MLOPS_ECONFIG,
                  "config.cache: unknown key 'tll'");
    assert_status(mlops_open(":memory:", "{\"cache\": {\"threshold\": 2}}", &bad), MLOPS_ECONFIG,
                  "config.cache.threshold");
    assert_status(mlops_open(":memory:", "{\"cache\": {\"embedder\": \"bert\"}}", &bad),
                  MLOPS_ECONFIG, "bert");
    assert_status(mlops_open(":memory:", "{\"cache\": {\"embedder\": \"engine\"}}", &bad),
                  MLOPS_ECONFIG, "config.cache.engine_model: required");
    assert_status(mlops_open(":memory:", "{\"cache\": {\"partition_by\": [\"colour\"]}}", &bad),
                  MLOPS_ECONFIG, "partition_by[0]");
    assert_status(mlops_open(":memory:", "{\"cache\": {\"provider\": {\"url\": \"x\"}}}", &bad),
                  MLOPS_ECONFIG, "config.cache.provider: unknown key 'url'");
    assert_null(bad);
    mlops_t *off = NULL;
    assert_ok(mlops_open(":memory:", "{\"cache\": {\"enabled\": false}}", &off));
    assert_status(mlops_cache_lookup(off, "{\"prompt\":\"x\"}", NULL, &out), MLOPS_EUNSUPPORTED,
                  "disabled");
    mlops_close(off);
}

static void feedback_stops_serving_and_raises_threshold(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NO_PERSIST);
    int64_t id = cache_put(ts.h, "fb", "How do I reverse a list in Python?", "reversed(xs)");
    json_t *j = lookup(ts.h, "fb", "how can I reverse a list in python");
    assert_string_equal(hit_of(j), "semantic");
    double sim = json_real_value(json_object_get(j, "similarity"));
    const char *part = json_string_value(json_object_get(j, "partition"));
    char partition[256];
    snprintf(partition, sizeof partition, "%s", part);
    json_decref(j);
    assert_ok(mlops_cache_feedback(ts.h, id, "{\"verdict\": \"right\"}"));
    assert_ok(mlops_cache_feedback(ts.h, id, "{\"verdict\": \"wrong\"}"));
    assert_hit(ts.h, "fb", "How do I reverse a list in Python?", "miss");
    assert_status(mlops_cache_feedback(ts.h, id, "{\"verdict\": \"wrong\"}"), MLOPS_ENOTFOUND,
                  "");
    assert_int_equal(cache_stat_int(ts.h, "wrong_reports", NULL), 1);
    assert_int_equal(cache_stat_int(ts.h, "right_reports", NULL), 1);
    char *out = NULL;
    assert_ok(mlops_cache_stats(ts.h, &out));
    json_t *s = json_loads(out, 0, NULL);
    mlops_free(out);
    const json_t *ad = json_array_get(json_object_get(s, "adapted_partitions"), 0);
    assert_non_null(ad);
    assert_string_equal(json_string_value(json_object_get(ad, "partition")), partition);
    double thr = json_real_value(json_object_get(ad, "threshold"));
    assert_true(thr > sim);
    json_decref(s);
    /* The same paraphrase no longer reaches the raised threshold in that partition. */
    cache_put(ts.h, "fb", "How do I reverse a list in Python?", "xs[::-1]");
    assert_hit(ts.h, "fb", "how can I reverse a list in python", "miss");
    assert_hit(ts.h, "fb", "How do I reverse a list in Python?", "exact");
    test_store_close(&ts);
}

static void ttl_expires_and_refreshes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"refresh_ttl_on_hit\": true}}");
    char *req = cache_simple("ttl", "What is the boiling point of water?");
    assert_ok(mlops_cache_put(ts.h, req, "\"100 C\"", "{\"ttl_s\": 1.5}", NULL));
    assert_hit(ts.h, "ttl", "What is the boiling point of water?", "exact");
    /* Hits keep refreshing the TTL: alive after 2 s in all. */
    for (int i = 0; i < 4; i++) {
        mlops__sleep_ms(500);
        assert_hit(ts.h, "ttl", "What is the boiling point of water?", "exact");
    }
    mlops__sleep_ms(1700);
    assert_hit(ts.h, "ttl", "What is the boiling point of water?", "miss");
    assert_hit(ts.h, "ttl", "what's the boiling point of water", "miss");
    assert_true(cache_stat_int(ts.h, "expired", NULL) >= 1);
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 0);
    free(req);
    /* Expired entries nobody looks up are swept by later puts. */
    for (int i = 0; i < 50; i++) {
        char p[64];
        snprintf(p, sizeof p, "short lived question %d", i);
        char *r = cache_simple("sweep", p);
        assert_ok(mlops_cache_put(ts.h, r, "1", "{\"ttl_s\": 0.2}", NULL));
        free(r);
    }
    mlops__sleep_ms(400);
    for (int i = 0; i < 200; i++) {
        char p[64];
        snprintf(p, sizeof p, "long lived question %d", i);
        cache_put(ts.h, "sweep", p, "2");
    }
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 200);
    assert_true(cache_stat_int(ts.h, "expired", NULL) >= 51);
    test_store_close(&ts);
}

static void lru_keeps_the_bounds(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"max_entries\": 3}}");
    cache_put(ts.h, "lru", "alpha question one", "1");
    cache_put(ts.h, "lru", "beta question two", "2");
    cache_put(ts.h, "lru", "gamma question three", "3");
    assert_hit(ts.h, "lru", "alpha question one", "exact"); /* alpha is now recent */
    cache_put(ts.h, "lru", "delta question four", "4");            /* evicts beta */
    assert_hit(ts.h, "lru", "beta question two", "miss");
    assert_hit(ts.h, "lru", "alpha question one", "exact");
    assert_hit(ts.h, "lru", "gamma question three", "exact");
    assert_hit(ts.h, "lru", "delta question four", "exact");
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 3);
    assert_int_equal(cache_stat_int(ts.h, "evictions", NULL), 1);
    test_store_close(&ts);

    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"max_bytes\": 8000}}");
    char answer[1500];
    memset(answer, 'a', sizeof answer - 1);
    answer[sizeof answer - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "question number %d about bytes", i);
        cache_put(ts.h, "bytes", p, answer);
        assert_true(cache_stat_int(ts.h, "bytes", NULL) <= 8000);
    }
    assert_hit(ts.h, "bytes", "question number 19 about bytes", "exact");
    assert_hit(ts.h, "bytes", "question number 0 about bytes", "miss");
    test_store_close(&ts);
}

static void invalidation_selectors(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NO_PERSIST);
    int64_t a = cache_put(ts.h, "inv1", "first question here", "1");
    cache_put(ts.h, "inv1", "second question here", "2");
    cache_put(ts.h, "inv2", "third question here", "3");
    int64_t n = 0;
    char sel[128];
    snprintf(sel, sizeof sel, "{\"entry_id\": %lld}", (long long)a);
    assert_ok(mlops_cache_invalidate(ts.h, sel, &n));
    assert_int_equal(n, 1);
    assert_hit(ts.h, "inv1", "first question here", "miss");
    assert_ok(mlops_cache_invalidate(ts.h, "{\"partition\": \"ns=inv1|model=|t=default\"}", &n));
    assert_int_equal(n, 1);
    assert_ok(mlops_cache_invalidate(ts.h, "{\"namespace\": \"inv2\"}", &n));
    assert_int_equal(n, 1);
    cache_put(ts.h, "inv3", "fourth question here", "4");
    assert_ok(mlops_cache_invalidate(ts.h, "{\"all\": true}", &n));
    assert_int_equal(n, 1);
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 0);
    assert_int_equal(cache_stat_int(ts.h, "invalidated", NULL), 4);
    test_store_close(&ts);
}

static void persistence_survives_restart(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    int64_t id = cache_put(ts.h, "p", "How do I reverse a list in Python?", "reversed(xs)");
    cache_put(ts.h, "p", "What is the capital of France?", "Paris");
    int64_t gone = cache_put(ts.h, "p", "temporary question", "x");
    assert_ok(mlops_cache_invalidate(ts.h, "{\"entry_id\": 3}", NULL));
    (void)gone;
    mlops_close(ts.h);
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 2);
    json_t *j = lookup(ts.h, "p", "how can I reverse a list in python");
    assert_string_equal(hit_of(j), "semantic");
    assert_int_equal(json_integer_value(json_object_get(j, "entry_id")), id);
    json_decref(j);
    assert_hit(ts.h, "p", "What is the capital of France?", "exact");
    assert_hit(ts.h, "p", "temporary question", "miss");
    /* New ids continue after the persisted ones. */
    assert_true(cache_put(ts.h, "p", "another question entirely", "y") > 3);
    /* A changed embedder dimension re-embeds (hashed) on open. */
    mlops_close(ts.h);
    assert_ok(mlops_open(ts.db_path, "{\"cache\": {\"dim\": 256}}", &ts.h));
    assert_hit(ts.h, "p", "how can I reverse a list in python", "semantic");
    test_store_close(&ts);
}

static void crash_loses_only_the_unflushed_batch(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_close(ts.h);
    ts.h = NULL;
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        mlops_t *h = NULL;
        if (mlops_open(ts.db_path,
                       "{\"cache\": {\"flush_every\": 1000, \"flush_interval_ms\": 0}}",
                       &h) != MLOPS_OK)
            _exit(10);
        for (int i = 0; i < 10; i++) {
            char p[64];
            snprintf(p, sizeof p, "flushed question %d", i);
            char *req = cache_simple("crash", p);
            if (mlops_cache_put(h, req, "1", NULL, NULL) != MLOPS_OK)
                _exit(11);
            free(req);
        }
        if (mlops_cache_flush(h) != MLOPS_OK)
            _exit(12);
        for (int i = 0; i < 10; i++) {
            char p[64];
            snprintf(p, sizeof p, "unflushed question %d", i);
            char *req = cache_simple("crash", p);
            if (mlops_cache_put(h, req, "1", NULL, NULL) != MLOPS_OK)
                _exit(13);
            free(req);
        }
        _exit(0); /* a crash: no close, no flush */
    }
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 10);
    assert_int_equal(cache_stat_int(ts.h, "corrupt_rows", NULL), 0);
    assert_hit(ts.h, "crash", "flushed question 7", "exact");
    assert_hit(ts.h, "crash", "unflushed question 7", "miss");
    test_store_close(&ts);
}

static void damaged_rows_are_skipped(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    cache_put(ts.h, "dmg", "first healthy question", "1");
    cache_put(ts.h, "dmg", "second damaged question", "2");
    cache_put(ts.h, "dmg", "third damaged vector", "3");
    mlops_close(ts.h);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ts.db_path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "UPDATE cache_entries SET response = '\"tampered\"' WHERE id = 2;"
                                  "UPDATE cache_entries SET vector = x'00112233' WHERE id = 3;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    /* Log lines during open go nowhere yet; the counter and later lookups tell. */
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    assert_int_equal(cache_stat_int(ts.h, "corrupt_rows", NULL), 2);
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 1);
    assert_hit(ts.h, "dmg", "first healthy question", "exact");
    assert_hit(ts.h, "dmg", "second damaged question", "miss");
    test_store_close(&ts);

    /* The row checker names the problem. */
    float v[16] = {1.0f};
    mlops__cache_row r = {1, "0123456789abcdef0123456789abcdef", "ns=a", "a", "", "", "p", "1",
                          "e", 16, v, sizeof v, 0, 0, 0, 0};
    r.checksum = mlops__cache_row_checksum(&r);
    assert_ok(mlops__cache_row_check(&r));
    v[3] = NAN;
    r.checksum = mlops__cache_row_checksum(&r);
    assert_status(mlops__cache_row_check(&r), MLOPS_ECORRUPT, "NaN");
    v[3] = 0;
    r.response = "{bad";
    r.checksum = mlops__cache_row_checksum(&r);
    assert_status(mlops__cache_row_check(&r), MLOPS_ECORRUPT, "not JSON");
    r.response = "1";
    r.vector_bytes = 12;
    assert_status(mlops__cache_row_check(&r), MLOPS_ECORRUPT, "vector has 12 bytes");
}

static void int8_vectors_serve_the_same(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"vectors\": \"int8\"}}");
    for (int i = 0; i < 50; i++) {
        char p[96];
        snprintf(p, sizeof p, "filler question number %d about topic %d", i, i * 7);
        cache_put(ts.h, "i8", p, "x");
    }
    int64_t id = cache_put(ts.h, "i8", "How do I reverse a list in Python?", "reversed(xs)");
    json_t *j = lookup(ts.h, "i8", "how can I reverse a list in python");
    assert_string_equal(hit_of(j), "semantic");
    assert_int_equal(json_integer_value(json_object_get(j, "entry_id")), id);
    json_decref(j);
    assert_hit(ts.h, "i8", "How do I close a file in Python?", "miss");
    test_store_close(&ts);
}

/* ---------------------------------------------------------------- callbacks */

typedef struct emb_ctx {
    int calls;
    int mode; /* 0 hashed, 1 NaN, 2 refuse, 3 zeros */
} emb_ctx;

static int my_embed(const char *text, float *out, size_t dim, void *user)
{
    emb_ctx *c = user;
    c->calls++;
    if (c->mode == 2)
        return 7;
    mlops__hashvec_opts o;
    mlops__hashvec_defaults(&o, (int)dim);
    o.seed = 42;
    mlops__hashvec_embed(&o, text, strlen(text), out, NULL);
    for (size_t i = 0; i < dim; i++)
        out[i] *= 3.0f; /* not unit length: the cache normalises */
    if (c->mode == 1)
        out[5] = NAN;
    if (c->mode == 3)
        memset(out, 0, dim * sizeof(float));
    return 0;
}

static int deny_python(const char *query, const char *cached, void *user)
{
    (void)cached;
    (*(int *)user)++;
    return strstr(query, "python") != NULL;
}

static void callback_embedder_and_guard(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false, \"embedder\": \"callback\"}}");
    /* Before an embedder is installed only the exact tier works. */
    cache_put(ts.h, "cb", "How do I reverse a list in Python?", "reversed(xs)");
    assert_hit(ts.h, "cb", "How do I reverse a list in Python?", "exact");
    assert_hit(ts.h, "cb", "how can I reverse a list in python", "miss");
    emb_ctx ctx = {0, 0};
    assert_status(mlops_cache_set_embedder(ts.h, "bad name!", 128, my_embed, &ctx), MLOPS_EINVAL,
                  "embedder name");
    assert_status(mlops_cache_set_embedder(ts.h, "mine", 8, my_embed, &ctx), MLOPS_EINVAL, "dim");
    assert_ok(mlops_cache_set_embedder(ts.h, "mine", 128, my_embed, &ctx));
    assert_int_equal(ctx.calls, 1); /* the cached prompt was re-embedded */
    assert_hit(ts.h, "cb", "how can I reverse a list in python", "semantic");
    ctx.mode = 1;
    char *out = NULL;
    assert_status(mlops_cache_lookup(ts.h, "{\"namespace\":\"cb\",\"prompt\":\"how can I reverse "
                                           "a list\"}",
                                     NULL, &out),
                  MLOPS_EINVAL, "NaN or Inf");
    ctx.mode = 2;
    assert_status(mlops_cache_put(ts.h, "{\"prompt\":\"anything\"}", "1", NULL, NULL),
                  MLOPS_ECANCELED, "returned 7");
    ctx.mode = 3;
    assert_status(mlops_cache_put(ts.h, "{\"prompt\":\"anything\"}", "1", NULL, NULL),
                  MLOPS_EINVAL, "all zeros");
    ctx.mode = 0;
    int guard_calls = 0;
    assert_ok(mlops_cache_set_guard(ts.h, deny_python, &guard_calls));
    assert_hit(ts.h, "cb", "how can I reverse a list in python", "miss");
    assert_true(guard_calls >= 1);
    assert_ok(mlops_cache_set_guard(ts.h, NULL, NULL));
    assert_hit(ts.h, "cb", "how can I reverse a list in python", "semantic");
    test_store_close(&ts);
}

/* ---------------------------------------------------------------- internals */

static void guard_reasons(void **state)
{
    (void)state;
    char why[128];
    assert_false(mlops__cache_guard_lexical("how do I open a file", "how do I close a file", why,
                                            sizeof why));
    assert_non_null(strstr(why, "antonyms"));
    assert_false(mlops__cache_guard_lexical("foods with gluten", "foods without gluten", why,
                                            sizeof why));
    assert_non_null(strstr(why, "negation"));
    assert_false(mlops__cache_guard_lexical("is 17 prime", "is 21 prime", why, sizeof why));
    assert_non_null(strstr(why, "number"));
    assert_false(mlops__cache_guard_lexical("capital of France", "capital of Germany", why,
                                            sizeof why));
    assert_non_null(strstr(why, "key words"));
    assert_false(mlops__cache_guard_lexical("convert celsius to fahrenheit",
                                            "convert fahrenheit to celsius", why, sizeof why));
    assert_non_null(strstr(why, "direction"));
    assert_true(mlops__cache_guard_lexical("How do I delete files?", "how to remove a file", why,
                                           sizeof why));
    assert_true(mlops__cache_guard_lexical("", "", why, sizeof why));
}

static void request_canonical_form(void **state)
{
    (void)state;
    json_t *a = json_loads("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi  "
                           "there\"}],\"temperature\":0,\"user\":\"u1\"}",
                           0, NULL);
    json_t *b = json_loads("{\"user\":\"u2\",\"stream\":true,\"temperature\":0.0,\"messages\":[{"
                           "\"content\":[{\"type\":\"text\",\"text\":\" hi there\"}],\"role\":"
                           "\"user\"}],\"model\":\"m\"}",
                           0, NULL);
    json_t *c = json_loads("{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi "
                           "there\"}],\"temperature\":0,\"max_tokens\":5}",
                           0, NULL);
    mlops__cache_req ra, rb, rc;
    assert_ok(mlops__cache_req_parse(a, NULL, MLOPS__CACHE_PART_ALL, 512, 65536, &ra));
    assert_ok(mlops__cache_req_parse(b, NULL, MLOPS__CACHE_PART_ALL, 512, 65536, &rb));
    assert_ok(mlops__cache_req_parse(c, NULL, MLOPS__CACHE_PART_ALL, 512, 65536, &rc));
    assert_string_equal(ra.exact, rb.exact);
    assert_string_not_equal(ra.exact, rc.exact);
    assert_string_equal(ra.partition, rc.partition);
    assert_string_equal(ra.text, "hi there");
    assert_string_equal(ra.partition, "ns=default|model=m|t=zero");
    json_t *o = json_loads("{\"namespace\":\"n2\",\"prompt_version\":\"p:2\"}", 0, NULL);
    mlops__cache_req_free(&rc);
    assert_ok(mlops__cache_req_parse(c, o, MLOPS__CACHE_PART_ALL, 512, 65536, &rc));
    assert_string_equal(rc.partition, "ns=n2|model=m|pv=p:2|t=zero");
    mlops__cache_req_free(&rc);
    assert_status(mlops__cache_req_parse(c, NULL, MLOPS__CACHE_PART_ALL, 10, 65536, &rc),
                  MLOPS_ELIMIT, "partition key");
    assert_status(mlops__cache_req_parse(c, NULL, MLOPS__CACHE_PART_ALL, 512, 4, &rc), MLOPS_ELIMIT,
                  "prompt is 8 bytes");
    mlops__cache_req_free(&ra);
    mlops__cache_req_free(&rb);
    mlops__cache_req_free(&rc);
    json_decref(a);
    json_decref(b);
    json_decref(c);
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tiers_and_result_shape),
        cmocka_unit_test(partitions_isolate_paraphrases),
        cmocka_unit_test(partition_by_is_configurable),
        cmocka_unit_test(bad_input_is_named),
        cmocka_unit_test(feedback_stops_serving_and_raises_threshold),
        cmocka_unit_test(ttl_expires_and_refreshes),
        cmocka_unit_test(lru_keeps_the_bounds),
        cmocka_unit_test(invalidation_selectors),
        cmocka_unit_test(persistence_survives_restart),
        cmocka_unit_test(crash_loses_only_the_unflushed_batch),
        cmocka_unit_test(damaged_rows_are_skipped),
        cmocka_unit_test(int8_vectors_serve_the_same),
        cmocka_unit_test(callback_embedder_and_guard),
        cmocka_unit_test(guard_reasons),
        cmocka_unit_test(request_canonical_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
