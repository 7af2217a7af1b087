/*
 * Several handles and processes on one store file: a put in one is an exact and a
 * semantic hit in the others at their next call; an invalidation, an eviction, a clear
 * or a wrong-hit report in one is never served by the others afterwards; a log pruned
 * past what a handle saw makes it reload; concurrent lookups during another handle's
 * writes (TSan). Two mlops_open on one path behave like two processes for SQLite; one
 * test also forks a real child process.
 */
#include "test_support.h"

#include "cache_support.h"

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* "exact", "semantic" or "miss"; *id gets the entry id (0 on a miss). */
static const char *hit_rc(mlops_t *h, const char *ns, const char *prompt, int64_t *id)
{
    char *req = cache_simple(ns, prompt), *out = NULL;
    int rc = mlops_cache_lookup(h, req, NULL, &out);
    free(req);
    if (rc != MLOPS_OK)
        return "error";
    json_t *j = json_loads(out, 0, NULL);
    mlops_free(out);
    const json_t *x = json_object_get(j, "hit");
    const char *r = !json_is_string(x)                           ? "miss"
                    : strcmp(json_string_value(x), "exact") == 0 ? "exact"
                                                                 : "semantic";
    if (id)
        *id = json_integer_value(json_object_get(j, "entry_id"));
    json_decref(j);
    return r;
}

static void assert_hit(mlops_t *h, const char *ns, const char *prompt, const char *want,
                       int64_t want_id)
{
    int64_t id = 0;
    const char *got = hit_rc(h, ns, prompt, &id);
    if (strcmp(got, want) != 0)
        print_error("lookup '%s': got %s, wanted %s\n", prompt, got, want);
    assert_string_equal(got, want);
    if (want_id)
        assert_int_equal(id, want_id);
}

#define Q1 "How do I reverse a list in Python?"
#define P1 "how can I reverse a list in python"
#define Q2 "What is the capital of France?"
#define Q3 "How do I sort a dictionary by value?"
#define P3 "how can I sort a dictionary by value"

static void puts_are_seen_by_the_other_handle(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *b = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &b));
    assert_hit(b, "s", Q1, "miss", 0); /* B's index is loaded and checked */

    int64_t id1 = cache_put(ts.h, "s", Q1, "reversed(xs)");
    assert_hit(b, "s", Q1, "exact", id1);
    assert_hit(b, "s", P1, "semantic", id1);
    /* And the other way round; ids never collide. */
    int64_t id2 = cache_put(b, "s", Q2, "Paris");
    assert_true(id2 != id1);
    assert_hit(ts.h, "s", Q2, "exact", id2);
    assert_hit(b, "s", Q2, "exact", id2);
    assert_hit(ts.h, "s", Q1, "exact", id1);
    /* Many puts interleaved from both handles: distinct ids, all seen by both. */
    int64_t ids[20];
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "question number %d about caching", i);
        ids[i] = cache_put(i % 2 ? b : ts.h, "many", p, "a");
        for (int k = 0; k < i; k++)
            assert_true(ids[k] != ids[i]);
    }
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof p, "question number %d about caching", i);
        assert_hit(ts.h, "many", p, "exact", ids[i]);
        assert_hit(b, "many", p, "exact", ids[i]);
    }
    /* A new put for the same request replaces the older entry in both. */
    int64_t id3 = cache_put(b, "s", Q1, "xs[::-1]");
    assert_hit(ts.h, "s", Q1, "exact", id3);
    assert_hit(b, "s", Q1, "exact", id3);

    /* Stats stay sane: the same entries in both, B's puts and hits are B's own. */
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 22);
    assert_int_equal(cache_stat_int(b, "entries", NULL), 22);
    assert_int_equal(cache_stat_int(b, "puts", NULL), 12);
    assert_int_equal(cache_stat_int(ts.h, "puts", NULL), 11);
    assert_int_equal(cache_stat_int(b, "hits", "semantic"), 1);
    assert_int_equal(cache_stat_int(b, "misses", NULL), 1);
    assert_true(cache_stat_int(b, "sync", "rows_applied") >= 11);
    assert_int_equal(cache_stat_int(b, "sync", "full_reloads"), 0);
    assert_int_equal(cache_stat_int(b, "corrupt_rows", NULL), 0);
    mlops_close(b);
    test_store_close(&ts);
}

static void removals_are_never_served_by_the_other_handle(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"max_entries\": 3}}");
    mlops_t *b = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &b));

    /* Invalidation of one entry. */
    int64_t id1 = cache_put(ts.h, "r", Q1, "reversed(xs)");
    assert_hit(b, "r", Q1, "exact", id1);
    assert_hit(b, "r", P1, "semantic", id1);
    int64_t n = 0;
    char sel[64];
    snprintf(sel, sizeof sel, "{\"entry_id\": %lld}", (long long)id1);
    assert_ok(mlops_cache_invalidate(ts.h, sel, &n));
    assert_int_equal(n, 1);
    assert_hit(b, "r", Q1, "miss", 0);
    assert_hit(b, "r", P1, "miss", 0);

    /* A wrong-hit report. */
    int64_t id3 = cache_put(ts.h, "r", Q3, "sorted(d.items(), key=...)");
    assert_hit(b, "r", P3, "semantic", id3);
    assert_ok(mlops_cache_feedback(ts.h, id3, "{\"verdict\": \"wrong\"}"));
    assert_hit(b, "r", Q3, "miss", 0);
    assert_hit(b, "r", P3, "miss", 0);

    /* Eviction in A (max_entries 3): the evicted entry is gone from B too. */
    int64_t e[4];
    for (int i = 0; i < 4; i++) {
        char p[64];
        snprintf(p, sizeof p, "eviction question %d", i);
        e[i] = cache_put(ts.h, "ev", p, "a");
    }
    assert_true(cache_stat_int(ts.h, "evictions", NULL) >= 1);
    assert_hit(b, "ev", "eviction question 0", "miss", 0);
    assert_hit(b, "ev", "eviction question 3", "exact", e[3]);

    /* Invalidation by namespace, and a clear, including entries B put itself. */
    cache_put(b, "ns2", Q2, "Paris");
    cache_put(b, "ns2", Q1, "reversed");
    assert_hit(ts.h, "ns2", Q2, "exact", 0);
    assert_ok(mlops_cache_invalidate(ts.h, "{\"namespace\": \"ns2\"}", &n));
    assert_int_equal(n, 2);
    assert_hit(b, "ns2", Q2, "miss", 0);
    assert_hit(b, "ns2", P1, "miss", 0);
    cache_put(b, "c", Q2, "Paris");
    assert_ok(mlops_cache_invalidate(ts.h, "{\"all\": true}", &n));
    assert_hit(b, "c", Q2, "miss", 0);
    assert_hit(b, "ev", "eviction question 3", "miss", 0);
    assert_int_equal(cache_stat_int(b, "entries", NULL), 0);
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 0);
    /* B's own counters are not inflated by A's removals. */
    assert_int_equal(cache_stat_int(b, "invalidated", NULL), 0);
    assert_int_equal(cache_stat_int(b, "evictions", NULL), 0);

    /* A third handle opened now sees the same (nothing). */
    mlops_t *c = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &c));
    assert_int_equal(cache_stat_int(c, "entries", NULL), 0);
    mlops_close(c);
    mlops_close(b);
    test_store_close(&ts);
}

static void pruned_log_makes_a_full_reload(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *b = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &b));
    int64_t id1 = cache_put(ts.h, "f", Q1, "reversed(xs)");
    int64_t id2 = cache_put(ts.h, "f", Q2, "Paris");
    assert_hit(b, "f", Q1, "exact", id1);
    assert_hit(b, "f", Q2, "exact", id2);
    char sel[64];
    snprintf(sel, sizeof sel, "{\"entry_id\": %lld}", (long long)id1);
    assert_ok(mlops_cache_invalidate(ts.h, sel, NULL));
    int64_t id3 = cache_put(ts.h, "f", Q3, "sorted");
    /* The log is pruned past what B saw (as a long-idle process would find it). */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ts.db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db,
                                  "DELETE FROM cache_log; INSERT INTO cache_meta(key, value) "
                                  "VALUES('log_pruned', 1000000) ON CONFLICT(key) DO UPDATE SET "
                                  "value = excluded.value",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_hit(b, "f", Q1, "miss", 0);
    assert_hit(b, "f", P1, "miss", 0);
    assert_hit(b, "f", Q3, "exact", id3);
    assert_hit(b, "f", P3, "semantic", id3);
    assert_hit(b, "f", Q2, "exact", id2);
    assert_int_equal(cache_stat_int(b, "sync", "full_reloads"), 1);
    assert_int_equal(cache_stat_int(b, "entries", NULL), 2);
    mlops_close(b);
    test_store_close(&ts);
}

/* Both handles put the same request before seeing each other's: they agree on one. */
static void same_request_from_both_converges(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"flush_every\": 64, \"flush_interval_ms\": 0}}");
    mlops_t *b = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &b));
    int64_t ida = cache_put(ts.h, "cv", Q1, "from A"); /* queued in A, not committed yet */
    int64_t idb = cache_put(b, "cv", Q1, "from B");    /* committed */
    assert_true(ida != idb);
    assert_ok(mlops_cache_flush(ts.h));
    int64_t want = ida > idb ? ida : idb;
    assert_hit(ts.h, "cv", Q1, "exact", want);
    assert_hit(b, "cv", Q1, "exact", want);
    assert_hit(ts.h, "cv", Q1, "exact", want);
    assert_ok(mlops_cache_flush(ts.h));
    assert_ok(mlops_cache_flush(b));
    assert_int_equal(cache_stat_int(ts.h, "entries", NULL), 1);
    assert_int_equal(cache_stat_int(b, "entries", NULL), 1);
    /* The older row is gone from the store too: a new handle finds one entry. */
    mlops_t *c = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &c));
    assert_hit(c, "cv", Q1, "exact", want);
    mlops_close(c);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ts.db_path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM cache_entries", -1, &st, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int(st, 0), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    mlops_close(b);
    test_store_close(&ts);
}

/* Parent and child processes, each with its own handle, talking over pipes. */
static void wait_byte(int fd)
{
    char c;
    if (read(fd, &c, 1) != 1)
        _exit(90);
}

static void send_byte(int fd)
{
    if (write(fd, "x", 1) != 1)
        _exit(91);
}

static void forked_process_sees_changes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    int64_t old_id = cache_put(ts.h, "fork", Q3, "sorted");
    mlops_close(ts.h); /* no threads or connections across fork */
    ts.h = NULL;
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    pid_t kid = fork();
    assert_true(kid >= 0);
    if (kid == 0) {
        mlops_t *h = NULL;
        if (mlops_open(ts.db_path, NULL, &h) != MLOPS_OK)
            _exit(10);
        if (strcmp(hit_rc(h, "fork", Q3, NULL), "exact") != 0)
            _exit(11);
        send_byte(to_parent[1]); /* opened */
        wait_byte(to_child[0]);  /* parent put Q1 and invalidated Q3 */
        if (strcmp(hit_rc(h, "fork", Q1, NULL), "exact") != 0)
            _exit(12);
        if (strcmp(hit_rc(h, "fork", P1, NULL), "semantic") != 0)
            _exit(13);
        if (strcmp(hit_rc(h, "fork", Q3, NULL), "miss") != 0 ||
            strcmp(hit_rc(h, "fork", P3, NULL), "miss") != 0)
            _exit(14);
        int64_t id = 0;
        if (cache_put_rc(h, "fork", Q2, "Paris", &id) != MLOPS_OK)
            _exit(15);
        send_byte(to_parent[1]); /* put Q2 */
        wait_byte(to_child[0]);  /* parent cleared */
        if (strcmp(hit_rc(h, "fork", Q2, NULL), "miss") != 0)
            _exit(16);
        mlops_close(h);
        _exit(0);
    }
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    wait_byte(to_parent[0]);
    int64_t id1 = cache_put(ts.h, "fork", Q1, "reversed(xs)");
    char sel[64];
    snprintf(sel, sizeof sel, "{\"entry_id\": %lld}", (long long)old_id);
    int64_t n = 0;
    assert_ok(mlops_cache_invalidate(ts.h, sel, &n));
    assert_int_equal(n, 1);
    send_byte(to_child[1]);
    wait_byte(to_parent[0]);
    int64_t id2 = 0;
    assert_string_equal(hit_rc(ts.h, "fork", Q2, &id2), "exact");
    assert_true(id2 != id1 && id2 != old_id);
    assert_ok(mlops_cache_invalidate(ts.h, "{\"all\": true}", &n));
    assert_int_equal(n, 2);
    send_byte(to_child[1]);
    int status = 0;
    assert_int_equal(waitpid(kid, &status, 0), kid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    for (int i = 0; i < 2; i++) {
        close(to_child[i]);
        close(to_parent[i]);
    }
    test_store_close(&ts);
}

/* Lookups from threads on B while A writes and invalidates (TSan). */
typedef struct reader_arg {
    mlops_t *h;
    int errors;
} reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    for (int i = 0; i < 150; i++) {
        char q[64];
        snprintf(q, sizeof q, "threaded question %d", i % 30);
        const char *r = hit_rc(a->h, "t", q, NULL);
        if (strcmp(r, "error") == 0)
            a->errors++;
    }
    return NULL;
}

static void concurrent_lookups_during_writes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *b = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &b));
    pthread_t th[2];
    reader_arg args[2] = {{b, 0}, {b, 0}};
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader, &args[i]), 0);
    for (int i = 0; i < 30; i++) {
        char q[64];
        snprintf(q, sizeof q, "threaded question %d", i);
        cache_put(ts.h, "t", q, "a");
        if (i % 10 == 9)
            assert_ok(mlops_cache_invalidate(ts.h, "{\"namespace\": \"t\"}", NULL));
    }
    cache_put(ts.h, "t", "threaded question 5", "b");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(args[i].errors, 0);
    }
    assert_hit(b, "t", "threaded question 5", "exact", 0);
    assert_hit(b, "t", "threaded question 6", "miss", 0);
    assert_int_equal(cache_stat_int(b, "entries", NULL), 1);
    mlops_close(b);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(puts_are_seen_by_the_other_handle),
        cmocka_unit_test(removals_are_never_served_by_the_other_handle),
        cmocka_unit_test(pruned_log_makes_a_full_reload),
        cmocka_unit_test(same_request_from_both_converges),
        cmocka_unit_test(forked_process_sees_changes),
        cmocka_unit_test(concurrent_lookups_during_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
