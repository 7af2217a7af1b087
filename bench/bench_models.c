/*
 * Deployments on the request path, against naive baselines in the same run:
 *  - pick (which version serves a user): from memory vs reading the deployment from
 *    SQLite on every call (one prepared SELECT with json_extract of the step weight);
 *  - observe (record an outcome): in-memory aggregates flushed every flush_every vs one
 *    autocommit INSERT per observation into a WAL SQLite table.
 * One and two threads (throughput in ops/s; each thread has its own connection in the
 * naive baselines, as a service would).
 *
 * usage: bench_models [DIR]   (default: /tmp; a store file is created and removed there)
 */
#include "bench.h"

#include "core/core.h"
#include "mlops.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NKEYS 1024
static char keys[NKEYS][24];
static const char *db_path;

typedef struct pick_arg {
    mlops_t *h;
    unsigned i;
    sqlite3 *db;
    sqlite3_stmt *stmt;
} pick_arg;

static void run_pick(void *p)
{
    pick_arg *a = p;
    int64_t v = 0;
    mlops_deploy_pick(a->h, "fraud", "production", keys[a->i++ & (NKEYS - 1)], &v, NULL, 0, NULL);
    bench_sink((uint64_t)v);
}

/* The naive pick: read the deployment row on every request, then hash. */
static void run_pick_naive(void *p)
{
    pick_arg *a = p;
    sqlite3_stmt *s = a->stmt;
    sqlite3_reset(s);
    sqlite3_bind_text(s, 1, "fraud", -1, SQLITE_STATIC);
    sqlite3_bind_text(s, 2, "production", -1, SQLITE_STATIC);
    int64_t v = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        uint64_t seed = mlops__hash_str((const char *)sqlite3_column_text(s, 2), 0);
        double u = mlops__hash_unit(mlops__hash_str(keys[a->i++ & (NKEYS - 1)], seed)) * 100;
        v = u < sqlite3_column_double(s, 3) ? sqlite3_column_int64(s, 1)
                                            : sqlite3_column_int64(s, 0);
    }
    bench_sink((uint64_t)v);
}

static void naive_open(pick_arg *a)
{
    sqlite3_open_v2(db_path, &a->db, SQLITE_OPEN_READWRITE, NULL);
    sqlite3_busy_timeout(a->db, 5000);
    sqlite3_prepare_v2(a->db,
                       "SELECT d.baseline, d.candidate, d.salt, json_extract(d.spec, '$.steps['"
                       " || d.step || '].weight') FROM model_deployments d JOIN models m ON"
                       " m.id=d.model_id WHERE m.name=?1 AND d.alias=?2 AND d.state IN"
                       " ('running', 'paused')",
                       -1, &a->stmt, NULL);
    sqlite3_exec(a->db, "CREATE TABLE IF NOT EXISTS naive_obs(version INTEGER, metric TEXT,"
                        " value REAL)", NULL, NULL, NULL);
}

static void naive_close(pick_arg *a)
{
    sqlite3_finalize(a->stmt);
    sqlite3_close(a->db);
}

static void run_observe(void *p)
{
    pick_arg *a = p;
    mlops_deploy_observe_value(a->h, "fraud", 2, "latency_ms", (double)(a->i++ % 300));
}

static void run_observe_json(void *p)
{
    pick_arg *a = p;
    a->i++;
    mlops_deploy_observe(a->h, "fraud", 2, "{\"error_rate\": 0, \"latency_ms\": 123}");
}

static void run_observe_naive(void *p)
{
    pick_arg *a = p;
    sqlite3_stmt *s;
    sqlite3_prepare_v2(a->db, "INSERT INTO naive_obs(version, metric, value) VALUES(2,"
                              " 'latency_ms', ?1)", -1, &s, NULL);
    sqlite3_bind_double(s, 1, (double)(a->i++ % 300));
    sqlite3_step(s);
    sqlite3_finalize(s);
}

typedef struct thread_job {
    bench_fn fn;
    pick_arg arg;
    size_t n;
    bool naive;
} thread_job;

static void *thread_main(void *p)
{
    thread_job *j = p;
    for (size_t i = 0; i < j->n; i++)
        j->fn(&j->arg);
    return NULL;
}

/* ops/s of `threads` threads each running fn n times. */
static double throughput(mlops_t *h, bench_fn fn, bool naive, int threads, size_t n)
{
    thread_job jobs[2];
    pthread_t t[2];
    for (int i = 0; i < threads; i++) {
        jobs[i] = (thread_job){fn, {h, (unsigned)i * 512, NULL, NULL}, n, naive};
        if (naive)
            naive_open(&jobs[i].arg);
    }
    uint64_t t0 = bench_now_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, thread_main, &jobs[i]);
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    double secs = (double)(bench_now_ns() - t0) / 1e9;
    for (int i = 0; i < threads && naive; i++)
        naive_close(&jobs[i].arg);
    return (double)n * threads / secs;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[512];
    snprintf(path, sizeof path, "%s/bench_models_%d.db", dir, (int)getpid());
    db_path = path;
    printf("bench_models: pick and observe on a canary at 10%% (store %s)\n", path);
    for (int i = 0; i < NKEYS; i++)
        snprintf(keys[i], sizeof keys[i], "user-%d", i * 7919);
    mlops_t *h = NULL;
    if (mlops_open(path, "{\"models\": {\"flush_every\": 256}}", &h) != MLOPS_OK) {
        fprintf(stderr, "open: %s\n", mlops_last_error());
        return 1;
    }
    int64_t v;
    mlops_model_register(h, "fraud", "{\"uri\": \"s3://m/1\"}", &v);
    mlops_model_register(h, "fraud", "{\"uri\": \"s3://m/2\"}", &v);
    mlops_model_promote(h, "fraud", 1, "production", 0, NULL, NULL);
    char *out = NULL;
    if (mlops_deploy_start(h, "fraud", "production",
                           "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\": [10, 100],"
                           " \"min_observations\": 1000000000, \"analysis\": ["
                           "\"latency_ms.p95 <= 300\"]}", &out) != MLOPS_OK) {
        fprintf(stderr, "start: %s\n", mlops_last_error());
        return 1;
    }
    mlops_free(out);

    pick_arg a = {h, 0, NULL, NULL};
    naive_open(&a);
    bench_table_begin("pick (per call, 1 thread)", "SELECT per pick");
    bench_stats ours = bench_run_batched(run_pick, &a, 2000, 200);
    bench_stats base = bench_run_batched(run_pick_naive, &a, 500, 20);
    bench_table_row("pick", &ours, &base);
    /* The same pick when every call re-checks the store's change counter. */
    mlops_t *h0 = NULL;
    if (mlops_open(path, "{\"models\": {\"refresh_ms\": 0}}", &h0) == MLOPS_OK) {
        pick_arg a0 = {h0, 0, NULL, NULL};
        bench_stats every = bench_run_batched(run_pick, &a0, 1000, 100);
        bench_table_row("pick, refresh_ms=0", &every, &base);
        mlops_close(h0);
    }
    bench_table_end();

    bench_table_begin("observe (per call, 1 thread)", "INSERT per observation");
    bench_stats obs = bench_run_batched(run_observe, &a, 500, 200);
    bench_stats obs_json = bench_run_batched(run_observe_json, &a, 200, 100);
    bench_stats obs_base = bench_run_batched(run_observe_naive, &a, 100, 10);
    bench_table_row("observe_value", &obs, &obs_base);
    bench_table_row("observe (JSON)", &obs_json, &obs_base);
    bench_table_end();
    naive_close(&a);

    bench_table_begin("throughput (ops/s)", "naive");
    for (int t = 1; t <= 2; t++) {
        char label[64];
        double p = throughput(h, run_pick, false, t, 1000000);
        double pn = throughput(h, run_pick_naive, true, t, 20000);
        snprintf(label, sizeof label, "pick, %d thread%s", t, t > 1 ? "s" : "");
        bench_table_note(label, "%.3g ops/s vs %.3g ops/s naive (%.0fx)", p, pn, p / pn);
        double o = throughput(h, run_observe, false, t, 300000);
        double on = throughput(h, run_observe_naive, true, t, 2000);
        snprintf(label, sizeof label, "observe_value, %d thread%s", t, t > 1 ? "s" : "");
        bench_table_note(label, "%.3g ops/s vs %.3g ops/s naive (%.0fx)", o, on, o / on);
    }
    bench_table_end();
    mlops_close(h);
    unlink(path);
    char side[600];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    return 0;
}
