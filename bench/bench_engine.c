/*
 * bench_engine: end-to-end prefill and decode speed of the engine on synthetic llama
 * models (the 125M shape of issue 9: n_embd 768, 12 layers, 12 heads, 4 KV heads, n_ff
 * 2048, vocab 32000, and a small one), per weight type, at 1 and 2 threads, next to the
 * decode bandwidth limit: weight bytes read per token over a streaming-read bandwidth
 * measured in the same run with the same thread count.
 *
 * usage: bench_engine [DIR] [--quick]   (DIR: where the models go; default a temp dir)
 * Reference (llama.cpp b4748 on this kind of machine, 2 threads, 125M): decode F16
 * 84-89, Q8_0 126-155, Q4_0 194-207, Q4_K_M 194-219 tok/s; prefill Q8_0 573-752,
 * Q4_0 591-825, Q4_K_M 457-551 tok/s.
 */
#include "bench.h"

#include "engine/engine.h"
#include "mlops.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct bw_job {
    const uint64_t *buf;
    size_t n;
    uint64_t sum[256];
} bw_job;

static void bw_chunk(void *arg, int idx, int n)
{
    bw_job *j = arg;
    size_t per = j->n / (size_t)n, a = per * (size_t)idx, b = idx == n - 1 ? j->n : a + per;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = a; i + 4 <= b; i += 4) {
        s0 += j->buf[i];
        s1 += j->buf[i + 1];
        s2 += j->buf[i + 2];
        s3 += j->buf[i + 3];
    }
    j->sum[idx] = s0 + s1 + s2 + s3;
}

/* Streaming-read bandwidth in GB/s with `threads` threads (best of 5 passes over 256 MiB). */
static double read_bandwidth(int threads)
{
    size_t bytes = 256u << 20;
    uint64_t *buf = malloc(bytes);
    if (!buf)
        return 0;
    for (size_t i = 0; i < bytes / 8; i++)
        buf[i] = i;
    mlops__pool *p = NULL;
    mlops__pool_create(threads, &p);
    bw_job j = {buf, bytes / 8, {0}};
    double best = 0;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = bench_now_ns();
        mlops__pool_run(p, bw_chunk, &j, threads);
        double gbs = (double)bytes / (double)(bench_now_ns() - t0);
        if (gbs > best)
            best = gbs;
        bench_sink(j.sum[0]);
    }
    mlops__pool_destroy(p);
    free(buf);
    return best;
}

typedef struct result {
    double pp, tg;
} result;

static int measure(const char *path, int threads, int pp, int tg, result *r)
{
    mlops__model_opts o = {threads, pp + tg + 8, 0, 0};
    mlops__model *m = NULL;
    mlops__ctx *c = NULL;
    int rc = mlops__model_load(path, &o, &m);
    if (rc == MLOPS_OK)
        rc = mlops__ctx_new(m, &c);
    if (rc != MLOPS_OK) {
        fprintf(stderr, "%s: %s\n", path, mlops__error_text());
        mlops__model_free(m);
        return rc;
    }
    int32_t n_vocab = mlops__model_n_vocab(m);
    int32_t *toks = malloc(sizeof(int32_t) * (size_t)(pp + tg));
    for (int i = 0; i < pp + tg; i++)
        toks[i] = (int32_t)((1 + (int64_t)i * 7919) % n_vocab);
    r->pp = r->tg = 0;
    mlops__ctx_eval(c, toks, 8, false); /* warm-up: pages in the weights */
    for (int rep = 0; rep < 3; rep++) {
        mlops__ctx_reset(c);
        uint64_t t0 = bench_now_ns();
        mlops__ctx_eval(c, toks, (size_t)pp, false);
        double s = (double)(bench_now_ns() - t0) / 1e9;
        if (pp / s > r->pp)
            r->pp = pp / s;
        mlops__ctx_reset(c);
        mlops__ctx_eval(c, toks, 1, false);
        t0 = bench_now_ns();
        for (int i = 1; i < tg; i++)
            mlops__ctx_eval(c, toks + i, 1, false);
        s = (double)(bench_now_ns() - t0) / 1e9;
        if ((tg - 1) / s > r->tg)
            r->tg = (tg - 1) / s;
    }
    free(toks);
    mlops__ctx_free(c);
    mlops__model_free(m);
    return MLOPS_OK;
}

static uint64_t bytes_per_token(const char *path)
{
    mlops__model_opts o = {1, 16, 0, 0};
    mlops__model *m = NULL;
    if (mlops__model_load(path, &o, &m) != MLOPS_OK)
        return 0;
    uint64_t b = mlops__model_weight_bytes(m);
    mlops__model_free(m);
    return b;
}

int main(int argc, char **argv)
{
    bool quick = false;
    const char *dir_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else
            dir_arg = argv[i];
    }
    char tmpl[512];
    const char *dir = dir_arg ? dir_arg : bench_mkdtemp(tmpl, sizeof tmpl, "mlops-bench-engine-");
    if (!dir) {
        perror("mkdtemp");
        return 1;
    }
    static const struct {
        const char *name, *dims;
    } models[] = {
        {"small", "{\"n_embd\": 256, \"n_layer\": 4, \"n_head\": 4, \"n_head_kv\": 2, \"n_ff\": 768, \"n_vocab\": 8000, \"seed\": 1}"},
        {"125M", "{\"n_embd\": 768, \"n_layer\": 12, \"n_head\": 12, \"n_head_kv\": 4, \"n_ff\": 2048, \"n_vocab\": 32000, \"seed\": 1}"},
    };
    const char *types[] = {"F16", "Q8_0", "Q4_0", "Q4_K_M"};
    int pp = quick ? 32 : 128, tg = quick ? 16 : 64;
    double bw[3] = {0, read_bandwidth(1), read_bandwidth(2)};
    printf("engine: prefill %d tokens and decode %d tokens, best of 3; streaming read %.1f GB/s (1 thread), "
           "%.1f GB/s (2 threads)\n\n", pp, tg, bw[1], bw[2]);
    printf("%-6s %-7s %8s | %9s %9s %9s %6s | %9s %9s %9s %6s\n", "model", "type", "MB/tok", "pp 1t",
           "tg 1t", "limit 1t", "%lim", "pp 2t", "tg 2t", "limit 2t", "%lim");
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        char f32[512];
        snprintf(f32, sizeof f32, "%s/%s-f32.gguf", dir, models[mi].name);
        if (mlops_gguf_synth(f32, models[mi].dims) != MLOPS_OK) {
            fprintf(stderr, "synth: %s\n", mlops_last_error());
            return 1;
        }
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            if (quick && ti % 2 == 1)
                continue;
            char q[512];
            snprintf(q, sizeof q, "%s/%s-%s.gguf", dir, models[mi].name, types[ti]);
            if (mlops_gguf_quantize(f32, q, types[ti]) != MLOPS_OK) {
                fprintf(stderr, "quantize: %s\n", mlops_last_error());
                return 1;
            }
            double mb = (double)bytes_per_token(q) / 1e6;
            /* the machine may be shared: keep the best bandwidth seen during the run */
            for (int t = 1; t <= 2; t++) {
                double b = read_bandwidth(t);
                if (b > bw[t])
                    bw[t] = b;
            }
            result r[3];
            printf("%-6s %-7s %8.1f |", models[mi].name, types[ti], mb);
            for (int t = 1; t <= 2; t++) {
                if (measure(q, t, pp, tg, &r[t]) != MLOPS_OK)
                    return 1;
                double lim = bw[t] * 1e3 / mb;
                printf(" %9.1f %9.1f %9.1f %5.0f%% |", r[t].pp, r[t].tg, lim, 100 * r[t].tg / lim);
            }
            printf("\n");
            fflush(stdout);
            unlink(q);
        }
        unlink(f32);
    }
    printf("\nbest streaming read seen during the run: %.1f GB/s (1 thread), %.1f GB/s (2 threads); "
           "limits above use the value measured so far at each row\n", bw[1], bw[2]);
    printf("peak RSS %.0f MiB (models are mapped: resident ~ the largest model)\n", bench_peak_rss_mib());
    printf("llama.cpp b4748, 125M, 2 threads (issue 9): tg F16 84-89, Q8_0 126-155, Q4_0 194-207, "
           "Q4_K_M 194-219; pp Q8_0 573-752, Q4_0 591-825, Q4_K_M 457-551 tok/s\n");
    if (!dir_arg)
        rmdir(dir);
    return 0;
}
