/*
 * Eight threads share one handle: lookups (exact and semantic) mixed with puts,
 * feedback and invalidation, with write-behind flushing in the background and vector
 * stores growing and compacting underneath. Run under ThreadSanitizer (label threads).
 */
#include "test_support.h"

#include "cache/cache.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define THREADS 8
#define ROUNDS 120

typedef struct ctx {
    mlops_t *h;
    int id;
    int failures;
    int hits;
} ctx;

static const char *topics[] = {"python lists", "git branches", "docker images", "sql joins",
                               "rust lifetimes", "css grids", "linux permissions",
                               "http caching"};

static void *worker(void *arg)
{
    ctx *c = arg;
    char req[256], out_req[256];
    for (int i = 0; i < ROUNDS; i++) {
        const char *topic = topics[(c->id + i) % 8];
        int ns = i % 3;
        snprintf(req, sizeof req,
                 "{\"namespace\":\"t%d\",\"prompt\":\"How do I use %s in step %d?\"}", ns, topic,
                 i % 10);
        if (c->id % 2 == 0 || i % 5 == 0) {
            int64_t id = 0;
            if (mlops_cache_put(c->h, req, "{\"answer\": 42}", NULL, &id) != MLOPS_OK)
                c->failures++;
            if (i % 17 == 0 && id > 0)
                (void)mlops_cache_feedback(c->h, id, "{\"verdict\":\"wrong\"}");
        }
        snprintf(out_req, sizeof out_req,
                 "{\"namespace\":\"t%d\",\"prompt\":\"how can I use %s in step %d\"}", ns, topic,
                 i % 10);
        char *out = NULL;
        if (mlops_cache_lookup(c->h, i % 2 ? req : out_req, NULL, &out) != MLOPS_OK)
            c->failures++;
        else if (!strstr(out, "\"hit\":null"))
            c->hits++;
        mlops_free(out);
        if (c->id == 7 && i % 40 == 39)
            (void)mlops_cache_invalidate(c->h, "{\"namespace\":\"t2\"}", NULL);
        if (c->id == 6 && i % 30 == 0) {
            char *s = NULL;
            if (mlops_cache_stats(c->h, &s) != MLOPS_OK)
                c->failures++;
            mlops_free(s);
        }
    }
    return NULL;
}

static void run_threads(const char *config)
{
    test_store ts;
    test_store_open(&ts, config);
    pthread_t t[THREADS];
    ctx c[THREADS];
    for (int i = 0; i < THREADS; i++) {
        c[i] = (ctx){ts.h, i, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, worker, &c[i]), 0);
    }
    int hits = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(c[i].failures, 0);
        hits += c[i].hits;
    }
    assert_true(hits > 0);
    assert_ok(mlops_cache_flush(ts.h));
    char *s = NULL;
    assert_ok(mlops_cache_stats(ts.h, &s));
    json_t *j = json_loads(s, 0, NULL);
    mlops_free(s);
    int64_t entries = json_integer_value(json_object_get(j, "entries"));
    assert_true(entries > 0);
    assert_int_equal(json_integer_value(json_object_get(j, "pending_writes")), 0);
    json_decref(j);
    /* What was flushed is what a reopen sees. */
    mlops_close(ts.h);
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    assert_ok(mlops_cache_stats(ts.h, &s));
    j = json_loads(s, 0, NULL);
    mlops_free(s);
    assert_int_equal(json_integer_value(json_object_get(j, "entries")), entries);
    assert_int_equal(json_integer_value(json_object_get(j, "corrupt_rows")), 0);
    json_decref(j);
    test_store_close(&ts);
}

static void eight_threads_f32(void **state)
{
    (void)state;
    run_threads("{\"cache\": {\"flush_every\": 16, \"flush_interval_ms\": 5, \"max_entries\": 60}}");
}

static void eight_threads_int8_no_flusher(void **state)
{
    (void)state;
    run_threads("{\"cache\": {\"vectors\": \"int8\", \"flush_every\": 8, "
                "\"flush_interval_ms\": 0}}");
}

/* Readers search one vector store while a writer appends (growth) and removes
   (compaction). */
typedef struct vs_ctx {
    mlops__vecstore *vs;
    int writer;
    int bad;
} vs_ctx;

static void *vs_worker(void *arg)
{
    vs_ctx *c = arg;
    float v[32];
    for (int i = 0; i < 2000; i++) {
        for (int k = 0; k < 32; k++)
            v[k] = (float)((i * 31 + k * 7) % 13) - 6.0f;
        mlops__vec_normalize(v, 32);
        if (c->writer) {
            if (mlops__vecstore_add(c->vs, i + 1, v) != MLOPS_OK)
                c->bad++;
            if (i % 3 == 0 && mlops__vecstore_remove(c->vs, i / 2 + 1) == MLOPS_EINTERNAL)
                c->bad++;
        } else {
            int64_t ids[4];
            float sc[4];
            int n = mlops__vecstore_search(c->vs, v, 4, -1.0f, 8, ids, sc);
            if (n < 0)
                c->bad++;
            for (int k = 1; k < n; k++)
                if (sc[k] > sc[k - 1])
                    c->bad++;
        }
    }
    return NULL;
}

static void vector_store_readers_and_writer(void **state)
{
    (void)state;
    for (int int8 = 0; int8 < 2; int8++) {
        mlops__vecstore *vs = NULL;
        assert_ok(mlops__vecstore_create(32, int8, &vs));
        pthread_t t[4];
        vs_ctx c[4];
        for (int i = 0; i < 4; i++) {
            c[i] = (vs_ctx){vs, i == 0, 0};
            assert_int_equal(pthread_create(&t[i], NULL, vs_worker, &c[i]), 0);
        }
        for (int i = 0; i < 4; i++) {
            pthread_join(t[i], NULL);
            assert_int_equal(c[i].bad, 0);
        }
        mlops__vecstore_free(vs);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_threads_f32),
        cmocka_unit_test(eight_threads_int8_no_flusher),
        cmocka_unit_test(vector_store_readers_and_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
