/*
 * bench_engine: end-to-end prefill and decode speed of the engine on synthetic llama
 * models (the 125M shape of issue 9: n_embd 768, 12 layers, 12 heads, 4 KV heads, n_ff
 * 2048, vocab 32000, and a small one), per weight type, at 1 and 2 threads, next to the
 * decode bandwidth limit: weight bytes read per token over a streaming-read bandwidth
 * measured in the same run with the same thread count.
 *
 * usage: bench_engine [DIR] [--quick] [--125m] [-r REPS]
 *   DIR: where the models go (kept and reused when given; default a temp dir removed after);
 *   --125m: skip the small model; -r: repetitions per measurement (median reported, default 5).
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
    size_t per = j->n / (size_t)n / 8 * 8, a = per * (size_t)idx, b = idx == n - 1 ? j->n / 8 * 8 : a + per;
    /* 8 independent 64-bit sums (the compiler vectorises them): the loop is bound by
       memory, not by the additions */
    uint64_t s[8] = {0};
    for (size_t i = a; i < b; i += 8)
        for (int k = 0; k < 8; k++)
            s[k] += j->buf[i + k];
    j->sum[idx] = s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7];
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
    double pp, tg; /* medians over the repetitions, tokens/s */
    double rss_mib; /* resident set while the model ran */
} result;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Current resident set in MiB (VmRSS; the mapped weights count once touched). */
static double rss_now_mib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = atof(line + 6);
    if (f)
        fclose(f);
    return kb / 1024.0;
}

#define MAX_REPS 15

static int measure(const char *path, int threads, int pp, int tg, int reps, result *r)
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
    double pps[MAX_REPS], tgs[MAX_REPS];
    mlops__ctx_eval(c, toks, 8, false); /* warm-up: pages in the weights */
    for (int rep = 0; rep < reps; rep++) {
        mlops__ctx_reset(c);
        uint64_t t0 = bench_now_ns();
        mlops__ctx_eval(c, toks, (size_t)pp, false);
        pps[rep] = pp / ((double)(bench_now_ns() - t0) / 1e9);
        mlops__ctx_reset(c);
        mlops__ctx_eval(c, toks, 1, false);
        t0 = bench_now_ns();
        for (int i = 1; i < tg; i++)
            mlops__ctx_eval(c, toks + i, 1, false);
        tgs[rep] = (tg - 1) / ((double)(bench_now_ns() - t0) / 1e9);
    }
    r->pp = median(pps, reps);
    r->tg = median(tgs, reps);
    r->rss_mib = rss_now_mib();
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

static bool exists(const char *path)
{
    return access(path, R_OK) == 0;
}

/* llama.cpp b4748, 125M, 2 threads, on this kind of machine (issue 9). */
static const char *llama_ref(const char *model, const char *type, int threads)
{
    static const struct {
        const char *type, *text;
    } ref[] = {
        {"F16", "tg 84-89"},
        {"Q8_0", "pp 573-752, tg 126-155"},
        {"Q4_0", "pp 591-825, tg 194-207"},
        {"Q4_K_M", "pp 457-551, tg 194-219"},
    };
    if (threads != 2 || strcmp(model, "125M") != 0)
        return "";
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++)
        if (strcmp(ref[i].type, type) == 0)
            return ref[i].text;
    return "";
}

int main(int argc, char **argv)
{
    bool quick = false, keep = false, big_only = false;
    int reps = 5;
    const char *dir_arg = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0)
            quick = true;
        else if (strcmp(argv[i], "--125m") == 0)
            big_only = true;
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            reps = atoi(argv[++i]);
        else
            dir_arg = argv[i], keep = true;
    }
    if (reps < 1 || reps > MAX_REPS)
        reps = 5;
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
    double load[3] = {0};
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (fscanf(la, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = load[1] = load[2] = 0;
        fclose(la);
    }
    printf("engine: pp%d = prefill of %d tokens, tg = decode of %d tokens; medians of %d runs\n"
           "load average at start %.2f %.2f %.2f on %d CPUs; streaming read %.1f GB/s (1 thread), "
           "%.1f GB/s (2 threads)\n"
           "limit = streaming read bandwidth (best seen so far, same threads) / weight bytes read per "
           "decoded token\n\n",
           pp, pp, tg, reps, load[0], load[1], load[2], (int)sysconf(_SC_NPROCESSORS_ONLN), bw[1], bw[2]);
    printf("%-6s %-7s %3s %8s | %9s %9s %9s %6s | %8s | %s\n", "model", "type", "thr", "MB/tok", "pp tok/s",
           "tg tok/s", "limit", "%lim", "RSS MiB", "llama.cpp b4748 (tok/s)");
    for (size_t mi = big_only ? 1 : 0; mi < sizeof models / sizeof models[0]; mi++) {
        char f32[512];
        snprintf(f32, sizeof f32, "%s/%s-f32.gguf", dir, models[mi].name);
        if (!exists(f32) && mlops_gguf_synth(f32, models[mi].dims) != MLOPS_OK) {
            fprintf(stderr, "synth: %s\n", mlops_last_error());
            return 1;
        }
        for (size_t ti = 0; ti < sizeof types / sizeof types[0]; ti++) {
            if (quick && ti % 2 == 1)
                continue;
            char q[512];
            snprintf(q, sizeof q, "%s/%s-%s.gguf", dir, models[mi].name, types[ti]);
            if (!exists(q) && mlops_gguf_quantize(f32, q, types[ti]) != MLOPS_OK) {
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
            for (int t = 1; t <= 2; t++) {
                result r;
                if (measure(q, t, pp, tg, reps, &r) != MLOPS_OK)
                    return 1;
                double lim = bw[t] * 1e3 / mb;
                printf("%-6s %-7s %3d %8.1f | %9.1f %9.1f %9.1f %5.0f%% | %8.0f | %s\n", models[mi].name,
                       types[ti], t, mb, r.pp, r.tg, lim, 100 * r.tg / lim, r.rss_mib,
                       llama_ref(models[mi].name, types[ti], t));
                fflush(stdout);
            }
            if (!keep)
                unlink(q);
        }
        if (!keep)
            unlink(f32);
    }
    FILE *la2 = fopen("/proc/loadavg", "r");
    if (la2) {
        if (fscanf(la2, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
            load[0] = 0;
        fclose(la2);
    }
    printf("\nbest streaming read seen: %.1f GB/s (1 thread), %.1f GB/s (2 threads); load average at end "
           "%.2f %.2f %.2f\n", bw[1], bw[2], load[0], load[1], load[2]);
    printf("peak RSS of the process %.0f MiB (weights are mapped, not copied: resident ~ the model "
           "being run plus its KV cache)\n", bench_peak_rss_mib());
    if (!dir_arg)
        rmdir(dir);
    return 0;
}
