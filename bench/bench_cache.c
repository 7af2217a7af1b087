/*
 * The semantic cache's vector search against its bandwidth floor and a naive loop, in
 * the same run:
 *  - lookup (top-8 over N unit rows of dimension d): float32 (cblas_sgemv in blocks) and
 *    int8 + float32 rescoring of the best 8; single queries and batches of 32 (cblas_sgemm;
 *    int8: every query's int8 dot products over cache-resident blocks of rows);
 *  - floor = bytes the scan must read / streaming read bandwidth measured here (cblas_sasum
 *    over 1 GiB); a batch reads the matrix once, so its floor is that of one scan;
 *  - naive = plain C dot products row by row (float, or int8 with the scalar kernel);
 *  - recall@1 of int8 + rescoring against exact float32;
 *  - the hashed embedder on a 1 KiB prompt, and a whole mlops_cache_lookup;
 *  - the "engine" embedder (synthetic llama models) on the same prompt vs hashed.
 *
 * usage: bench_cache [--quick | --full | --embedders | --shared]
 *   --quick  N = 10k, 100k; d = 384, 768
 *   default  plus N = 1M at d = 384
 *   --full   plus N = 1M at d = 768 (3 GiB float32 + 3.75 GiB for the int8 store)
 *   --embedders  the embedder tables only
 */
#include "bench.h"

#include "cache/cache.h"
#include "engine/engine.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define K 8
#define BATCH 32

static uint64_t rng = 0x2545F4914F6CDD1Dull;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 40) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static double bandwidth_gbs(void)
{
    size_t n = (size_t)1 << 28; /* 1 GiB of floats, on huge pages like the stores' matrices */
    float *a = aligned_alloc((size_t)2 << 20, n * sizeof(float));
#ifdef MADV_HUGEPAGE
    madvise(a, n * sizeof(float), MADV_HUGEPAGE);
#endif
    for (size_t i = 0; i < n; i++)
        a[i] = (float)(i & 1023) * 1e-3f;
    mlops__blas_init();
    double best = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = bench_now_ns();
        float s = cblas_sasum((int)n, a, 1);
        uint64_t t1 = bench_now_ns();
        bench_sink((uint64_t)s);
        double gbs = (double)(n * sizeof(float)) / (double)(t1 - t0);
        if (gbs > best)
            best = gbs;
    }
    free(a);
    return best;
}

typedef struct setup {
    int n, d;
    float *rows;     /* the same rows the stores hold, for the naive loops */
    int8_t *rows8;
    float *scale8;
    float *queries;  /* BATCH queries */
    mlops__vecstore *f32, *i8;
    int qi;
} setup;

static void make_queries(setup *s)
{
    /* Near existing rows (noise of the same size as the signal), so top-1 is meaningful. */
    for (int j = 0; j < BATCH; j++) {
        const float *r = s->rows + (size_t)((j * 7919) % s->n) * (size_t)s->d;
        float *q = s->queries + (size_t)j * (size_t)s->d;
        for (int i = 0; i < s->d; i++)
            q[i] = r[i] + frand() / sqrtf((float)s->d);
        mlops__vec_normalize(q, s->d);
    }
}

static int build(setup *s, int n, int d)
{
    memset(s, 0, sizeof *s);
    s->n = n;
    s->d = d;
    size_t nd = (size_t)n * (size_t)d;
    s->rows = malloc(nd * sizeof(float));
    s->rows8 = malloc(nd);
    s->scale8 = malloc((size_t)n * sizeof(float));
    s->queries = malloc((size_t)BATCH * (size_t)d * sizeof(float));
    if (!s->rows || !s->rows8 || !s->scale8 || !s->queries)
        return -1;
    for (size_t i = 0; i < nd; i++)
        s->rows[i] = frand();
    for (int r = 0; r < n; r++) {
        float *v = s->rows + (size_t)r * (size_t)d;
        mlops__vec_normalize(v, d);
        s->scale8[r] = mlops__cache_quantize(v, d, s->rows8 + (size_t)r * (size_t)d);
    }
    make_queries(s);
    return 0;
}

static int fill(mlops__vecstore **out, const setup *s, bool int8)
{
    if (mlops__vecstore_create(s->d, int8, out) != MLOPS_OK)
        return -1;
    for (int r = 0; r < s->n; r++)
        if (mlops__vecstore_add(*out, r + 1, s->rows + (size_t)r * (size_t)s->d) != MLOPS_OK)
            return -1;
    return 0;
}

static void teardown(setup *s)
{
    mlops__vecstore_free(s->f32);
    mlops__vecstore_free(s->i8);
    free(s->rows);
    free(s->rows8);
    free(s->scale8);
    free(s->queries);
}

/* ---------------------------------------------------------------- kernels -- */

static void run_single(void *p)
{
    setup *s = p;
    mlops__vecstore *vs = s->i8 ? s->i8 : s->f32;
    int64_t ids[K];
    float sc[K];
    const float *q = s->queries + (size_t)(s->qi++ % BATCH) * (size_t)s->d;
    bench_sink((uint64_t)mlops__vecstore_search(vs, q, K, -1.0f, 8, ids, sc));
}

static void run_batch(void *p)
{
    setup *s = p;
    mlops__vecstore *vs = s->i8 ? s->i8 : s->f32;
    static int64_t ids[BATCH * K];
    static float sc[BATCH * K];
    int found[BATCH];
    mlops__vecstore_search_batch(vs, s->queries, BATCH, K, -1.0f, 8, ids, sc, found);
    bench_sink((uint64_t)found[0]);
}

static int topk_naive(float *best, int64_t *ids, int have, int64_t id, float v)
{
    if (have == K && v <= best[K - 1])
        return have;
    int pos = have < K ? have : K - 1;
    while (pos > 0 && best[pos - 1] < v) {
        best[pos] = best[pos - 1];
        ids[pos] = ids[pos - 1];
        pos--;
    }
    best[pos] = v;
    ids[pos] = id;
    return have < K ? have + 1 : K;
}

static int64_t naive_f32(const setup *s, const float *q)
{
    float best[K];
    int64_t ids[K];
    int have = 0;
    for (int r = 0; r < s->n; r++) {
        const float *row = s->rows + (size_t)r * (size_t)s->d;
        float dot = 0;
        for (int i = 0; i < s->d; i++)
            dot += row[i] * q[i];
        have = topk_naive(best, ids, have, r, dot);
    }
    return ids[0];
}

static int64_t naive_i8(const setup *s, const float *q)
{
    int8_t qi[4096];
    float qs = mlops__cache_quantize(q, s->d, qi);
    float best[K];
    int64_t ids[K];
    int have = 0;
    for (int r = 0; r < s->n; r++) {
        const int8_t *row = s->rows8 + (size_t)r * (size_t)s->d;
        int32_t dot = 0;
        for (int i = 0; i < s->d; i++)
            dot += (int32_t)row[i] * qi[i];
        have = topk_naive(best, ids, have, r, (float)dot * s->scale8[r] * qs);
    }
    return ids[0];
}

static void run_naive_single(void *p)
{
    setup *s = p;
    const float *q = s->queries + (size_t)(s->qi++ % BATCH) * (size_t)s->d;
    bench_sink((uint64_t)(s->i8 ? naive_i8(s, q) : naive_f32(s, q)));
}

static void run_naive_batch(void *p)
{
    setup *s = p;
    for (int j = 0; j < BATCH; j++) {
        const float *q = s->queries + (size_t)j * (size_t)s->d;
        bench_sink((uint64_t)(s->i8 ? naive_i8(s, q) : naive_f32(s, q)));
    }
}

/* ---------------------------------------------------------------- cases ---- */

static size_t iters_for(double est_ms)
{
    size_t it = (size_t)(1500.0 / (est_ms > 0.01 ? est_ms : 0.01));
    return it < 5 ? 5 : it > 2000 ? 2000 : it;
}

static void one_config(int n, int d, double gbs, bool with_naive_batch)
{
    setup s;
    if (build(&s, n, d) != 0) {
        printf("N=%d d=%d: out of memory\n", n, d);
        teardown(&s);
        return;
    }
    char title[160];
    snprintf(title, sizeof title, "lookup top-%d, N=%d, d=%d (floor at %.1f GB/s)", K, n, d, gbs);
    bench_table_begin(title, "naive C loop");
    for (int int8 = 0; int8 < 2; int8++) {
        if (fill(int8 ? &s.i8 : &s.f32, &s, int8) != 0) {
            printf("N=%d d=%d: could not build the store\n", n, d);
            break;
        }
        double bytes = (double)n * d * (int8 ? 1.0 : 4.0);
        double floor_ms = bytes / gbs / 1e6;
        const char *fmt = int8 ? "int8+rescore" : "float32";
        char label[96];
        /* single */
        size_t it = iters_for(floor_ms * 1.5);
        bench_stats ours = bench_run(run_single, &s, it);
        bench_stats naive = bench_run(run_naive_single, &s, it / 4 < 3 ? 3 : it / 4);
        snprintf(label, sizeof label, "%s single", fmt);
        bench_table_row(label, &ours, &naive);
        bench_table_note("  floor / p50 vs floor", "%.3f ms / %.2fx", floor_ms,
                         ours.p50_ns / 1e6 / floor_ms);
        /* batch of 32 */
        bench_stats b = bench_run(run_batch, &s, iters_for(floor_ms * 8) / 2 + 3);
        snprintf(label, sizeof label, "%s batch of %d (per batch)", fmt, BATCH);
        if (with_naive_batch) {
            bench_stats nb = bench_run(run_naive_batch, &s, 3);
            bench_table_row(label, &b, &nb);
        } else {
            bench_table_row(label, &b, NULL);
        }
        double flops = 2.0 * n * d * BATCH;
        bench_table_note("  per query / floor per batch", "%.3f ms / %.3f ms (%.2fx), %.1f GFLOP/s",
                         b.p50_ns / 1e6 / BATCH, floor_ms, b.p50_ns / 1e6 / floor_ms,
                         flops / b.p50_ns);
        if (int8) {
            /* recall@1 against exact float32 */
            int agree = 0, total = 0;
            int64_t a[K], c[K];
            float sa[K], sc[K];
            for (int j = 0; j < 200; j++) {
                float q[4096];
                if (j < BATCH) {
                    memcpy(q, s.queries + (size_t)j * (size_t)d, (size_t)d * sizeof(float));
                } else {
                    for (int i = 0; i < d; i++)
                        q[i] = frand(); /* pure random queries: the hardest case */
                    mlops__vec_normalize(q, d);
                }
                int na = mlops__vecstore_search(s.f32, q, K, -1.0f, 8, a, sa);
                int nc = mlops__vecstore_search(s.i8, q, K, -1.0f, 8, c, sc);
                total++;
                agree += na > 0 && nc > 0 && a[0] == c[0];
            }
            bench_table_note("  recall@1 vs float32 (200 q)", "%.3f (top 8 rescored; 32 near "
                             "a row, 168 random)", (double)agree / total);
            mlops__vecstore_free(s.i8);
            s.i8 = NULL;
        } else {
            /* keep f32 for the recall check */
        }
    }
    bench_table_end();
    teardown(&s);
}

/* ---------------------------------------------------------------- embedder - */

typedef struct emb_arg {
    mlops__hashvec_opts o;
    const char *text;
    size_t len;
    float *out;
} emb_arg;

static void run_embed(void *p)
{
    emb_arg *a = p;
    mlops__hashvec_embed(&a->o, a->text, a->len, a->out, NULL);
    bench_sink((uint64_t)(a->out[0] * 1000));
}

typedef struct guard_arg {
    const char *a, *b;
} guard_arg;

static void run_guard(void *p)
{
    guard_arg *g = p;
    bench_sink((uint64_t)mlops__cache_guard_lexical(g->a, g->b, NULL, 0));
}

typedef struct api_arg {
    mlops_t *h;
    const char *req;
} api_arg;

static void run_api_lookup(void *p)
{
    api_arg *a = p;
    char *out = NULL;
    mlops_cache_lookup(a->h, a->req, NULL, &out);
    mlops_free(out);
}

static void embedder_and_api(void)
{
    static const char *words[] = {"how", "do", "I", "configure", "the", "cache", "for",
                                  "python", "requests", "with", "retries", "and", "timeouts",
                                  "when", "server", "returns", "errors", "quickly"};
    char text[1025];
    size_t n = 0;
    for (int i = 0; n < 1000; i++) {
        const char *w = words[(i * 7) % 18];
        size_t l = strlen(w);
        if (n + l + 1 > 1024)
            break;
        memcpy(text + n, w, l);
        n += l;
        text[n++] = ' ';
    }
    text[n] = '\0';
    float out[768];
    emb_arg a = {.text = text, .len = n, .out = out};
    bench_table_begin("hashed embedder and lexical guard", NULL);
    mlops__hashvec_defaults(&a.o, 384);
    bench_stats s = bench_run_batched(run_embed, &a, 200, 10);
    bench_table_row("d=384", &s, NULL);
    mlops__hashvec_defaults(&a.o, 768);
    s = bench_run_batched(run_embed, &a, 200, 10);
    bench_table_row("d=768", &s, NULL);
    const char *q = "How do I open a file in Python?";
    a.text = q;
    a.len = strlen(q);
    mlops__hashvec_defaults(&a.o, 384);
    s = bench_run_batched(run_embed, &a, 200, 50);
    bench_table_row("d=384, 31-byte question", &s, NULL);
    guard_arg g = {text, text + 7};
    s = bench_run_batched(run_guard, &g, 100, 5);
    bench_table_row("lexical guard, two 1 KiB prompts", &s, NULL);
    guard_arg g2 = {"How do I open a file in Python?", "how can I open a file in python"};
    s = bench_run_batched(run_guard, &g2, 200, 50);
    bench_table_row("lexical guard, two questions", &s, NULL);
    bench_table_end();

    mlops_t *h = NULL;
    if (mlops_open(":memory:", "{\"cache\": {\"persist\": false}}", &h) != MLOPS_OK)
        return;
    char req[256];
    for (int i = 0; i < 10000; i++) {
        snprintf(req, sizeof req, "{\"namespace\":\"b\",\"prompt\":\"question %d about topic %d\"}",
                 i, i * 13);
        mlops_cache_put(h, req, "\"answer\"", NULL, NULL);
    }
    mlops_cache_put(h, "{\"namespace\":\"b\",\"prompt\":\"How do I open a file in Python?\"}",
                    "\"open()\"", NULL, NULL);
    bench_table_begin("mlops_cache_lookup, 10k entries in one partition, d=384", NULL);
    api_arg x = {h, "{\"namespace\":\"b\",\"prompt\":\"How do I open a file in Python?\"}"};
    s = bench_run(run_api_lookup, &x, 2000);
    bench_table_row("exact hit", &s, NULL);
    x.req = "{\"namespace\":\"b\",\"prompt\":\"how can I open a file in python\"}";
    s = bench_run(run_api_lookup, &x, 1000);
    bench_table_row("semantic hit (embed + scan + guard)", &s, NULL);
    x.req = "{\"namespace\":\"b\",\"prompt\":\"what is the airspeed of a swallow\"}";
    s = bench_run(run_api_lookup, &x, 1000);
    bench_table_row("miss", &s, NULL);
    bench_table_end();
    mlops_close(h);
}

/* ---------------------------------------------------------------- shared store --- */

/*
 * Two handles on one store file (as two processes would be): what the never-stale check
 * adds to a lookup when nothing changed (baseline: the same lookups on a handle that
 * does not persist, i.e. no check: what every lookup cost before), and what B's next
 * lookup costs after A committed N new entries or removed N.
 */
static void put_n(mlops_t *h, int from, int n)
{
    char req[256];
    for (int i = from; i < from + n; i++) {
        snprintf(req, sizeof req, "{\"namespace\":\"b\",\"prompt\":\"shared question %d about "
                 "subject %d\"}", i, i * 7);
        mlops_cache_put(h, req, "\"answer\"", NULL, NULL);
    }
    mlops_cache_flush(h);
}

static void shared_store(void)
{
    char dir[512];
    if (!bench_mkdtemp(dir, sizeof dir, "bench-cache-shared-"))
        return;
    char path[600];
    snprintf(path, sizeof path, "%s/shared.db", dir);
    const char *bulk = "{\"cache\": {\"flush_every\": 100000, \"flush_interval_ms\": 0}}";
    mlops_t *a = NULL, *b = NULL, *mem = NULL;
    if (mlops_open(path, bulk, &a) != MLOPS_OK ||
        mlops_open(":memory:", "{\"cache\": {\"persist\": false}}", &mem) != MLOPS_OK) {
        printf("shared store: open failed: %s\n", mlops_last_error());
        mlops_close(a);
        return;
    }
    put_n(a, 0, 10000);
    put_n(mem, 0, 10000);
    const char *q = "{\"namespace\":\"b\",\"prompt\":\"How do I open a file in Python?\"}";
    mlops_cache_put(a, q, "\"open()\"", NULL, NULL);
    mlops_cache_put(mem, q, "\"open()\"", NULL, NULL);
    mlops_cache_flush(a);
    if (mlops_open(path, NULL, &b) != MLOPS_OK) {
        printf("shared store: open failed: %s\n", mlops_last_error());
        mlops_close(a);
        mlops_close(mem);
        return;
    }
    bench_table_begin("lookup on a shared store file, 10k entries, d=384, nothing changed",
                      "no check (persist off)");
    api_arg x = {b, q}, y = {mem, q};
    bench_stats s = bench_run(run_api_lookup, &x, 3000), base = bench_run(run_api_lookup, &y, 3000);
    bench_table_row("exact hit", &s, &base);
    x.req = y.req = "{\"namespace\":\"b\",\"prompt\":\"how can I open a file in python\"}";
    s = bench_run(run_api_lookup, &x, 1000);
    base = bench_run(run_api_lookup, &y, 1000);
    bench_table_row("semantic hit", &s, &base);
    bench_table_end();

    /* B's first lookup after A committed N new entries (one transaction) or removed N. */
    /* The alternative to an incremental refresh: reloading the whole index (an open). */
    double opens[5];
    for (int i = 0; i < 5; i++) {
        mlops_t *c = NULL;
        uint64_t t0 = bench_now_ns();
        if (mlops_open(path, NULL, &c) == MLOPS_OK)
            opens[i] = (double)(bench_now_ns() - t0);
        else
            opens[i] = 0;
        mlops_close(c);
    }
    bench_stats idle = bench_stats_of(opens, 5);
    bench_table_begin("B's next exact hit after A committed N changes (median of 15)",
                      "full reload, 10k");
    x.req = q;
    bench_stats quiet = bench_run(run_api_lookup, &x, 1000);
    bench_table_row("nothing changed", &quiet, &idle);
    int next = 10000;
    static const int sizes[] = {1, 10, 100, 1000};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        double ns[15];
        for (int rep = 0; rep < 15; rep++) {
            put_n(a, next, sizes[k]);
            next += sizes[k];
            uint64_t t0 = bench_now_ns();
            run_api_lookup(&x);
            ns[rep] = (double)(bench_now_ns() - t0);
        }
        bench_stats r = bench_stats_of(ns, 15);
        char label[64];
        snprintf(label, sizeof label, "after %d new entries", sizes[k]);
        bench_table_row(label, &r, &idle);
        bench_table_note("  per applied entry", "%.2f us", r.p50_ns / 1000.0 / sizes[k]);
    }
    {
        double ns[15];
        for (int rep = 0; rep < 15; rep++) {
            char sel[64];
            snprintf(sel, sizeof sel, "{\"entry_id\": %d}", 100 + rep);
            mlops_cache_invalidate(a, sel, NULL);
            uint64_t t0 = bench_now_ns();
            run_api_lookup(&x);
            ns[rep] = (double)(bench_now_ns() - t0);
        }
        bench_stats r = bench_stats_of(ns, 15);
        bench_table_row("after 1 invalidated entry", &r, &idle);
    }
    bench_table_end();

    /* What a put costs now that it is committed before it returns (flush_every 1, the
       default) next to the write-behind batches of 64 it had before. */
    mlops_t *wb = NULL;
    char path2[600];
    snprintf(path2, sizeof path2, "%s/batched.db", dir);
    if (mlops_open(path2, "{\"cache\": {\"flush_every\": 64}}", &wb) == MLOPS_OK) {
        double t_sync[400], t_wb[400];
        char req[256];
        for (int k = 0; k < 2; k++)
            for (int i = 0; i < 400; i++) {
                snprintf(req, sizeof req, "{\"namespace\":\"w\",\"prompt\":\"put question %d\"}",
                         i);
                uint64_t t0 = bench_now_ns();
                mlops_cache_put(k ? wb : b, req, "\"answer\"", NULL, NULL);
                (k ? t_wb : t_sync)[i] = (double)(bench_now_ns() - t0);
            }
        bench_stats ps = bench_stats_of(t_sync, 400), pw = bench_stats_of(t_wb, 400);
        bench_table_begin("mlops_cache_put, 31-byte question, d=384", "batches of 64");
        bench_table_row("committed before return", &ps, &pw);
        bench_table_end();
        mlops_close(wb);
        unlink(path2);
        snprintf(path2, sizeof path2, "%s/batched.db-wal", dir);
        unlink(path2);
        snprintf(path2, sizeof path2, "%s/batched.db-shm", dir);
        unlink(path2);
    }
    bench_table_begin("B's change log", NULL);
    char *st = NULL;
    if (mlops_cache_stats(b, &st) == MLOPS_OK) {
        const char *sync = strstr(st, "\"sync\"");
        bench_table_note("  B's sync stats", "%.80s", sync ? sync : "?");
        mlops_free(st);
    }
    bench_table_end();
    mlops_close(a);
    mlops_close(b);
    mlops_close(mem);
    unlink(path);
    char side[640];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    rmdir(dir);
}

/* ---------------------------------------------------------------- engine embedder */

typedef struct te_arg {
    mlops__text_embedder *te;
    const char *text;
    float *out;
} te_arg;

static void run_text_embed(void *p)
{
    te_arg *a = p;
    if (mlops__text_embed(a->te, a->text, a->out, 1024) == MLOPS_OK)
        bench_sink((uint64_t)(a->out[0] * 1000));
}

/* The "engine" embedder on synthetic F32 llama models next to the hashed embedder, on the
   same 1 KiB prompt (the tokenizer, the forward pass over every token, mean pooling). */
static void engine_embedder(void)
{
    static const char *words[] = {"how", "do", "I", "configure", "the", "cache", "for",
                                  "python", "requests", "with", "retries", "and", "timeouts",
                                  "when", "server", "returns", "errors", "quickly"};
    char text[1025];
    size_t n = 0;
    for (int i = 0; n < 1000; i++) {
        const char *w = words[(i * 7) % 18];
        size_t l = strlen(w);
        if (n + l + 1 > 1024)
            break;
        memcpy(text + n, w, l);
        n += l;
        text[n++] = ' ';
    }
    text[n] = '\0';
    char dir[512];
    if (!bench_mkdtemp(dir, sizeof dir, "bench-cache-"))
        return;
    float out[1024];
    emb_arg h = {.text = text, .len = n, .out = out};
    mlops__hashvec_defaults(&h.o, 384);
    bench_stats base = bench_run_batched(run_embed, &h, 100, 10);
    bench_table_begin("engine embedder (1 KiB prompt, 1 thread) vs hashed d=384", "hashed");
    bench_table_row("hashed d=384", &base, &base);
    static const struct {
        const char *label;
        int embd, layers, heads, ff;
    } models[] = {
        {"llama d=64 L=2 (tests' model)", 64, 2, 4, 128},
        {"llama d=384 L=6 ff=1536", 384, 6, 6, 1536},
    };
    for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
        char path[640];
        snprintf(path, sizeof path, "%s/m%zu.gguf", dir, i);
        mlops__synth_opts so;
        mlops__synth_defaults(&so);
        so.n_embd = models[i].embd;
        so.n_layer = models[i].layers;
        so.n_head = so.n_head_kv = models[i].heads;
        so.n_ff = models[i].ff;
        so.n_vocab = 4096;
        so.n_ctx = 1024;
        mlops__model_opts mo = {.threads = 1};
        mlops__text_embedder *te = NULL;
        if (mlops__synth(path, &so) != MLOPS_OK || mlops__text_embedder_open(path, &mo, &te) != MLOPS_OK) {
            bench_table_note(models[i].label, "failed: %s", mlops__error_text());
            continue;
        }
        int32_t *ids = NULL;
        size_t nt = 0, cap = 0;
        mlops__tokenize(mlops__model_vocab(mlops__text_embedder_model(te)), text, n, true, false,
                        &ids, &nt, &cap);
        free(ids);
        te_arg a = {te, text, out};
        bench_stats s = bench_run(run_text_embed, &a, i == 0 ? 50 : 10);
        bench_table_row(models[i].label, &s, &base);
        bench_table_note("  tokens in the prompt", "%zu", nt);
        mlops__text_embedder_free(te);
        unlink(path);
    }
    bench_table_end();
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int level = 1; /* 0 quick, 1 default, 2 full */
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            level = 0;
        else if (strcmp(argv[i], "--full") == 0)
            level = 2;
        else if (strcmp(argv[i], "--embedders") == 0)
            level = -1;
        else if (strcmp(argv[i], "--shared") == 0)
            level = -2;
        else {
            fprintf(stderr, "usage: bench_cache [--quick | --full | --embedders | --shared]\n");
            return 2;
        }
    }
    if (level == -2) { /* two handles on one store file only */
        shared_store();
        return 0;
    }
    if (level < 0) { /* the embedders only */
        embedder_and_api();
        engine_embedder();
        return 0;
    }
    printf("bench_cache: semantic cache vector search (%s)\n",
           level == 0 ? "--quick" : level == 2 ? "--full" : "default");
    double gbs = bandwidth_gbs();
    printf("streaming read bandwidth (cblas_sasum over 1 GiB, best of 5): %.2f GB/s\n", gbs);
    embedder_and_api();
    shared_store();
    engine_embedder();
    int ns[] = {10000, 100000, 1000000};
    int ds[] = {384, 768};
    for (int di = 0; di < 2; di++)
        for (int ni = 0; ni < 3; ni++) {
            if (ns[ni] == 1000000 && (level == 0 || (level == 1 && ds[di] == 768)))
                continue;
            one_config(ns[ni], ds[di], gbs, ns[ni] <= 100000);
        }
    printf("peak RSS: %.0f MiB\n", bench_peak_rss_mib());
    return 0;
}
