/*
 * Core building blocks against naive baselines in the same run:
 *  - xxh3-64 vs FNV-1a over a 1 KiB and a 64 KiB buffer (hashing is on every cache key);
 *  - a parallel-for through the pool vs creating threads per job;
 *  - a store write transaction, and the read-through change counter.
 */
#include "bench.h"

#include "core/core.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hash_arg {
    const unsigned char *data;
    size_t len;
} hash_arg;

static void run_xxh3(void *p)
{
    hash_arg *a = p;
    bench_sink(mlops__hash64(a->data, a->len, 0));
}

static void run_fnv(void *p)
{
    hash_arg *a = p;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < a->len; i++) {
        h ^= a->data[i];
        h *= 1099511628211ull;
    }
    bench_sink(h);
}

static void noop_item(void *arg, int i, int n)
{
    (void)n;
    bench_sink((uint64_t)(uintptr_t)arg + (uint64_t)i);
}

static void run_pool(void *p)
{
    mlops__pool_run(p, noop_item, NULL, 2);
}

static void *thread_item(void *arg)
{
    noop_item(arg, 1, 2);
    return NULL;
}

static void run_spawn(void *p)
{
    (void)p;
    pthread_t t;
    pthread_create(&t, NULL, thread_item, NULL);
    noop_item(NULL, 0, 2);
    pthread_join(t, NULL);
}

static void run_counter(void *p)
{
    bench_sink(mlops__store_change_counter(p));
}

int main(void)
{
    printf("bench_core: libmlops core building blocks\n");
    size_t big = 64 * 1024;
    unsigned char *buf = malloc(big);
    for (size_t i = 0; i < big; i++)
        buf[i] = (unsigned char)(i * 131 + 7);

    bench_table_begin("hashing (per call)", "FNV-1a");
    hash_arg small = {buf, 1024}, large = {buf, big};
    bench_stats a = bench_run_batched(run_xxh3, &small, 2000, 100);
    bench_stats b = bench_run_batched(run_fnv, &small, 2000, 100);
    bench_table_row("1 KiB", &a, &b);
    a = bench_run_batched(run_xxh3, &large, 500, 10);
    b = bench_run_batched(run_fnv, &large, 500, 10);
    bench_table_row("64 KiB", &a, &b);
    bench_table_note("xxh3 64 KiB throughput", "%.2f GB/s", (double)big / a.p50_ns);
    bench_table_end();

    mlops__pool *pool = NULL;
    mlops__pool_create(2, &pool);
    bench_table_begin("parallel-for of 2 items, 2 threads (per job)", "thread per job");
    a = bench_run(run_pool, pool, 20000);
    b = bench_run(run_spawn, NULL, 2000);
    bench_table_row("dispatch + join", &a, &b);
    bench_table_end();
    mlops__pool_destroy(pool);

    mlops__store *st = NULL;
    static const mlops__schema *none[1];
    if (mlops__store_open(":memory:", NULL, none, 0, &st) == MLOPS_OK) {
        bench_table_begin("store", NULL);
        a = bench_run(run_counter, st, 20000);
        bench_table_row("change counter (cache check)", &a, NULL);
        bench_table_end();
        mlops__store_close(st);
    }
    free(buf);
    return 0;
}
