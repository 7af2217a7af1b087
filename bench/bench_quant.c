/*
 * Quantized kernels (lib/engine/quant_*.c): matrix-vector throughput per weight type for
 * a 4096 x 4096 matrix, scalar reference vs AVX2 (1 and 2 threads), against a streaming
 * read of memory measured in the same run (the limit for decode). Copies of the matrix
 * are rotated so that > 256 MiB are touched per round: the numbers are DRAM-bound like a
 * real model's decode, not served from the 32 MiB L3. Then matmat with 32 activations
 * against 32 matvec calls (prefill), and activation conversion.
 *
 *   cmake --build build --target bench && build/bench/bench_quant [iterations]
 */
#include "bench.h"

#include "core/core.h"
#include "engine/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <emmintrin.h>
#endif

enum { N = 4096, ROWS = 4096 };
#define ROTATE_BYTES ((size_t)256 << 20)

/* ------------------------------------------------------------ memory bandwidth -- */

typedef struct {
    const unsigned char *buf;
    size_t len;
    uint64_t sink[2];
} read_arg;

static uint64_t stream_read(const unsigned char *p, size_t len)
{
#if defined(__x86_64__)
    __m128i a = _mm_setzero_si128(), b = a, c = a, d = a;
    for (size_t i = 0; i + 64 <= len; i += 64) {
        a = _mm_add_epi64(a, _mm_load_si128((const __m128i *)(p + i)));
        b = _mm_add_epi64(b, _mm_load_si128((const __m128i *)(p + i + 16)));
        c = _mm_add_epi64(c, _mm_load_si128((const __m128i *)(p + i + 32)));
        d = _mm_add_epi64(d, _mm_load_si128((const __m128i *)(p + i + 48)));
    }
    a = _mm_add_epi64(_mm_add_epi64(a, b), _mm_add_epi64(c, d));
    uint64_t out[2];
    _mm_storeu_si128((__m128i *)out, a);
    return out[0] + out[1];
#else
    const uint64_t *q = (const uint64_t *)(const void *)p;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t i = 0; i + 4 <= len / 8; i += 4) {
        s0 += q[i];
        s1 += q[i + 1];
        s2 += q[i + 2];
        s3 += q[i + 3];
    }
    return s0 + s1 + s2 + s3;
#endif
}

static void read_part(void *p, int i, int n)
{
    read_arg *a = p;
    size_t part = a->len / (size_t)n / 64 * 64;
    a->sink[i] = stream_read(a->buf + part * (size_t)i, part);
}

/* GB/s of a streaming read of a 512 MiB buffer with `threads` threads (best of 8: on a
 * shared machine the best run is the one closest to what the memory can do). */
static double measure_bandwidth(mlops__pool *pool, int threads)
{
    size_t len = (size_t)512 << 20;
    unsigned char *buf = aligned_alloc(64, len);
    memset(buf, 1, len);
    read_arg a = {buf, len, {0, 0}};
    double best = 1e30;
    for (int k = 0; k < 8; k++) {
        uint64_t t0 = bench_now_ns();
        if (threads > 1)
            mlops__pool_run(pool, read_part, &a, threads);
        else
            read_part(&a, 0, 1);
        double ns = (double)(bench_now_ns() - t0);
        best = ns < best ? ns : best;
        bench_sink(a.sink[0] + a.sink[1]);
    }
    free(buf);
    return (double)len / best;
}

/* -------------------------------------------------------------- matvec timings -- */

typedef struct {
    int type;
    unsigned char **copies;
    int ncopies, next;
    size_t row_bytes;
    const void *xq;
    float *y;
} mv_arg;

static void mv_part(void *p, int i, int n)
{
    mv_arg *a = p;
    int64_t r0 = (int64_t)ROWS * i / n, r1 = (int64_t)ROWS * (i + 1) / n;
    mlops__q_matvec(a->type, a->copies[a->next], N, r0, r1, a->xq, a->y + r0);
}

/* Best time in ns of one 4096 x 4096 matvec, rotating through the copies. */
static double time_matvec(mv_arg *a, mlops__pool *pool, int threads, int iters)
{
    double best = 1e30;
    for (int k = 0; k < iters; k++) {
        a->next = k % a->ncopies;
        uint64_t t0 = bench_now_ns();
        if (threads > 1)
            mlops__pool_run(pool, mv_part, a, threads);
        else
            mv_part(a, 0, 1);
        double ns = (double)(bench_now_ns() - t0);
        best = ns < best ? ns : best;
    }
    bench_sink((uint64_t)a->y[7]);
    return best;
}

static const char *isa_name(int isa)
{
    switch (isa) {
    case MLOPS__ISA_AVX2: return "AVX2";
    case MLOPS__ISA_AVX512VNNI: return "AVX512";
    case MLOPS__ISA_NEON: return "NEON";
    default: return "scalar";
    }
}

/* A matrix whose rows are 16 distinct quantised random rows repeated. */
static unsigned char *make_matrix(int type, size_t rb)
{
    unsigned char *m = aligned_alloc(64, (rb * ROWS + 63) / 64 * 64);
    float *row = malloc(N * sizeof(float));
    uint64_t s = 0x1234567ull + (uint64_t)type;
    for (int r = 0; r < 16; r++) {
        for (int j = 0; j < N; j++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            row[j] = ((float)(s >> 40) / 16777216.0f - 0.5f) * 0.1f;
        }
        mlops__q_quantize_row(type, row, m + (size_t)r * rb, N);
    }
    for (int r = 16; r < ROWS; r++)
        memcpy(m + (size_t)r * rb, m + (size_t)(r % 16) * rb, rb);
    free(row);
    return m;
}

/* ------------------------------------------------- decode estimate (125M llama) -- */

/* The matrices one decode step multiplies in the 125M llama (n_embd 768, 12
 * layers, 4 KV heads of 64, n_ff 2048, vocab 32000): weights only, no attention. */
enum { LAYERS = 12, PER_LAYER = 7 };
static const struct { int rows, n; } shapes[PER_LAYER] = {
    {768, 768}, {256, 768}, {256, 768}, {768, 768}, {2048, 768}, {2048, 768}, {768, 2048},
};

typedef struct {
    int type;
    unsigned char *w;
    int rows, n;
    unsigned char *xq;
    float *y;
} dmat;

typedef struct {
    dmat *m;
    int count;
    int one; /* index of the matrix for per-matrix dispatch, -1: all of them */
} dstep;

static void decode_part(void *p, int i, int n)
{
    dstep *s = p;
    int a = s->one >= 0 ? s->one : 0, b = s->one >= 0 ? s->one + 1 : s->count;
    for (int k = a; k < b; k++) {
        dmat *m = &s->m[k];
        int64_t r0 = (int64_t)m->rows * i / n, r1 = (int64_t)m->rows * (i + 1) / n;
        mlops__q_matvec(m->type, m->w, m->n, r0, r1, m->xq, m->y + r0);
    }
}

/* Prefill: PP activations through every layer matrix with matmat (rows split across
 * threads) and the last position through output.weight, as llama-bench's pp test. */
enum { PP = 128 };

typedef struct {
    dmat *m;
    int count;
    unsigned char **xq; /* per matrix: PP converted activations */
    float *y;
} pstep;

static void prefill_part(void *p, int i, int n)
{
    pstep *s = p;
    for (int k = 0; k < s->count; k++) {
        dmat *m = &s->m[k];
        int64_t r0 = (int64_t)m->rows * i / n, r1 = (int64_t)m->rows * (i + 1) / n;
        size_t ab = mlops__q_act_row_bytes(m->type, m->n);
        if (k == s->count - 1) /* output.weight: logits of the last position only */
            mlops__q_matvec(m->type, m->w, m->n, r0, r1, s->xq[k], s->y + r0);
        else
            mlops__q_matmat(m->type, m->w, m->n, r0, r1, s->xq[k], PP, ab, s->y + r0, m->rows);
    }
}

/* mix: the weight type of each matrix as llama.cpp's quantize writes the file. */
static int mix_type(const char *mix, int layer, int k)
{
    if (strcmp(mix, "Q4_K_M") == 0) {
        if (layer < 0)
            return MLOPS__T_Q6_K;
        /* attn_v and ffn_down get Q6_K in the first, last and every third layer */
        int more = layer < LAYERS / 8 || layer >= 7 * LAYERS / 8 || (layer - LAYERS / 8) % 3 == 2;
        return ((k == 2 || k == 6) && more) ? MLOPS__T_Q6_K : MLOPS__T_Q4_K;
    }
    int t = mlops__q_type_from_name(mix);
    if (layer < 0 && (t == MLOPS__T_Q4_0 || t == MLOPS__T_Q4_1 || t == MLOPS__T_Q5_0 ||
                      t == MLOPS__T_Q5_1))
        return MLOPS__T_Q6_K; /* output.weight */
    return t;
}

static void decode_estimate(mlops__pool *pool, double bw2, int tokens)
{
    static const char *mixes[] = {"F16", "Q8_0", "Q4_0", "Q4_K_M"};
    printf("\ndecode estimate, 125M llama matrices (weights only, no attention), best of %d "
           "tokens\n", tokens);
    printf("%-7s %8s | %9s %9s | %10s %9s | %9s | %12s\n", "file", "MB/token", "1t tok/s",
           "2t tok/s", "2t per-mat", "GB/s (2t)", "bw limit", "pp128 2t t/s");
    for (size_t mi = 0; mi < sizeof(mixes) / sizeof(mixes[0]); mi++) {
        int count = LAYERS * PER_LAYER + 1;
        dmat *m = calloc((size_t)count, sizeof(*m));
        size_t total = 0;
        float *x = malloc(2048 * sizeof(float));
        for (int j = 0; j < 2048; j++)
            x[j] = cosf((float)j * 0.11f);
        for (int k = 0; k < count; k++) {
            int layer = k < LAYERS * PER_LAYER ? k / PER_LAYER : -1;
            int rows = layer >= 0 ? shapes[k % PER_LAYER].rows : 32000;
            int n = layer >= 0 ? shapes[k % PER_LAYER].n : 768;
            int t = mix_type(mixes[mi], layer, k % PER_LAYER);
            size_t rb = mlops__q_row_bytes(t, n);
            m[k] = (dmat){t, malloc(rb * (size_t)rows), rows, n,
                          malloc(mlops__q_act_row_bytes(t, n)), malloc((size_t)rows * 4)};
            float *row = malloc((size_t)n * sizeof(float));
            for (int r = 0; r < rows; r++) {
                if (r < 8) {
                    for (int j = 0; j < n; j++)
                        row[j] = sinf((float)(j * (r + 1) + k)) * 0.05f;
                    mlops__q_quantize_row(t, row, m[k].w + (size_t)r * rb, n);
                } else {
                    memcpy(m[k].w + (size_t)r * rb, m[k].w + (size_t)(r % 8) * rb, rb);
                }
            }
            free(row);
            mlops__q_quantize_act(t, x, m[k].xq, n);
            total += rb * (size_t)rows;
        }
        double best[3] = {1e30, 1e30, 1e30};
        for (int tok = 0; tok < tokens; tok++) {
            dstep s = {m, count, -1};
            uint64_t t0 = bench_now_ns();
            decode_part(&s, 0, 1);
            double a = (double)(bench_now_ns() - t0);
            t0 = bench_now_ns();
            mlops__pool_run(pool, decode_part, &s, 2);
            double b = (double)(bench_now_ns() - t0);
            t0 = bench_now_ns();
            for (int k = 0; k < count; k++) {
                dstep one = {m, count, k};
                mlops__pool_run(pool, decode_part, &one, 2);
            }
            double c = (double)(bench_now_ns() - t0);
            best[0] = a < best[0] ? a : best[0];
            best[1] = b < best[1] ? b : best[1];
            best[2] = c < best[2] ? c : best[2];
        }
        /* prefill: PP tokens, activations converted per matrix type (not timed) */
        unsigned char **xq = malloc(sizeof(*xq) * (size_t)count);
        float *yy = malloc((size_t)PP * 32000 * sizeof(float));
        float *xs = malloc((size_t)PP * 2048 * sizeof(float));
        for (int j = 0; j < PP * 2048; j++)
            xs[j] = sinf((float)j * 0.013f);
        for (int k = 0; k < count; k++) {
            size_t ab = mlops__q_act_row_bytes(m[k].type, m[k].n);
            xq[k] = malloc(ab * PP);
            for (int b = 0; b < PP; b++)
                mlops__q_quantize_act(m[k].type, xs + (size_t)b * m[k].n, xq[k] + (size_t)b * ab,
                                      m[k].n);
        }
        pstep ps = {m, count, xq, yy};
        double bp = 1e30;
        for (int it = 0; it < 3; it++) {
            uint64_t t0 = bench_now_ns();
            mlops__pool_run(pool, prefill_part, &ps, 2);
            double d = (double)(bench_now_ns() - t0);
            bp = d < bp ? d : bp;
        }
        for (int k = 0; k < count; k++)
            free(xq[k]);
        free(xq);
        free(yy);
        free(xs);
        printf("%-7s %8.1f | %9.0f %9.0f | %10.0f %9.2f | %9.0f | %12.0f\n", mixes[mi],
               total / 1e6, 1e9 / best[0], 1e9 / best[1], 1e9 / best[2], total / best[1],
               bw2 / (total / 1e9), PP * 1e9 / bp);
        fflush(stdout);
        for (int k = 0; k < count; k++) {
            free(m[k].w);
            free(m[k].xq);
            free(m[k].y);
        }
        free(m);
        free(x);
    }
    printf("(2t per-mat: one pool dispatch per matrix, as a forward pass synchronises; "
           "bw limit: tok/s at the measured 2-thread read bandwidth; pp128: matmat over 128 "
           "activations per matrix, weights only)\n");
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 12;
    if (iters < 2)
        iters = 2;
    mlops__pool *pool = NULL;
    if (mlops__pool_create(2, &pool) != 0) {
        fprintf(stderr, "bench_quant: cannot create the thread pool\n");
        return 1;
    }
    int best_isa = mlops__q_detect_isa();
    int simd = mlops__q_isa_supported(MLOPS__ISA_AVX2) ? MLOPS__ISA_AVX2 : best_isa;
    const char *best_name = isa_name(best_isa), *simd_name = isa_name(simd);
    double bw1 = measure_bandwidth(pool, 1), bw2 = measure_bandwidth(pool, 2);
    printf("Quantized kernels, %d x %d matvec (GB/s of weights read, DRAM-bound), best of %d; "
           "kernels: scalar reference, %s, and the run-time choice %s\n",
           ROWS, N, iters, simd_name, best_name);
    printf("Memory bandwidth (streaming read of 512 MiB): 1 thread %.1f GB/s, 2 threads %.1f GB/s\n\n",
           bw1, bw2);
    printf("%-5s %6s | %7s | %7s %7s | %7s %7s %8s | %5s %5s | %7s\n", "type", "MB", "scalar",
           simd_name, simd_name, best_name, best_name, "GFLOP/s", "%bw", "%bw", "speedup");
    printf("%-5s %6s | %7s | %7s %7s | %7s %7s %8s | %5s %5s | %7s\n", "", "", "1t", "1t", "2t",
           "1t", "2t", "2t", "1t", "2t", "1t");

    static const int types[] = {MLOPS__T_F32, MLOPS__T_F16, MLOPS__T_BF16, MLOPS__T_Q8_0,
                                MLOPS__T_Q4_0, MLOPS__T_Q4_1, MLOPS__T_Q5_0, MLOPS__T_Q5_1,
                                MLOPS__T_Q4_K, MLOPS__T_Q5_K, MLOPS__T_Q6_K};
    float *x = malloc((size_t)32 * N * sizeof(float));
    for (int i = 0; i < 32 * N; i++)
        x[i] = sinf((float)i * 0.37f);
    float *y = malloc((size_t)32 * ROWS * sizeof(float));
    double flops = 2.0 * ROWS * N;

    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        int t = types[k];
        size_t rb = mlops__q_row_bytes(t, N), mbytes = rb * ROWS;
        int ncopies = (int)((ROTATE_BYTES + mbytes - 1) / mbytes);
        unsigned char **copies = malloc(sizeof(*copies) * (size_t)ncopies);
        copies[0] = make_matrix(t, rb);
        for (int c = 1; c < ncopies; c++) {
            copies[c] = aligned_alloc(64, (mbytes + 63) / 64 * 64);
            memcpy(copies[c], copies[0], mbytes);
        }
        size_t ab = mlops__q_act_row_bytes(t, N);
        unsigned char *xq = malloc(ab * 32);
        for (int b = 0; b < 32; b++)
            mlops__q_quantize_act(t, x + (size_t)b * N, xq + (size_t)b * ab, N);
        mv_arg a = {t, copies, ncopies, 0, rb, xq, y};

        int old = mlops__q_set_isa(MLOPS__ISA_SCALAR);
        double ts = time_matvec(&a, pool, 1, 2 > iters / 4 ? 2 : iters / 4);
        mlops__q_set_isa(simd);
        double a1 = time_matvec(&a, pool, 1, iters), a2 = time_matvec(&a, pool, 2, iters);
        double t1 = a1, t2 = a2;
        if (best_isa != simd) {
            mlops__q_set_isa(best_isa);
            t1 = time_matvec(&a, pool, 1, iters);
            t2 = time_matvec(&a, pool, 2, iters);
        }
        mlops__q_set_isa(old);
        double mb = (double)mbytes;
        printf("%-5s %6.1f | %7.2f | %7.2f %7.2f | %7.2f %7.2f %8.1f | %4.0f%% %4.0f%% | %6.1fx\n",
               mlops__q_traits(t)->name, mb / 1048576.0, mb / ts, mb / a1, mb / a2, mb / t1,
               mb / t2, flops / t2, 100.0 * (mb / t1) / bw1, 100.0 * (mb / t2) / bw2, ts / t1);
        fflush(stdout);
        for (int c = 0; c < ncopies; c++)
            free(copies[c]);
        free(copies);
        free(xq);
    }

    /* Prefill: one matmat over 32 activations vs 32 matvec calls (1 thread, L3-resident
     * 1024 x 4096 slice so the compute side shows). */
    printf("\nmatmat B=32 vs 32 x matvec, 1024 x 4096 weights, 1 thread (GFLOP/s, best of %d)\n",
           iters);
    printf("%-5s | %10s | %10s | %10s | %8s\n", "type", "32x matvec", "matmat", "matmat", "speedup");
    printf("%-5s | %10s | %10s | %10s | %8s\n", "", best_name, best_name, simd_name, "");
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        int t = types[k];
        size_t rb = mlops__q_row_bytes(t, N);
        unsigned char *m = make_matrix(t, rb);
        size_t ab = mlops__q_act_row_bytes(t, N);
        unsigned char *xq = malloc(ab * 32);
        for (int b = 0; b < 32; b++)
            mlops__q_quantize_act(t, x + (size_t)b * N, xq + (size_t)b * ab, N);
        double tv = 1e30, tm = 1e30, ta = 1e30;
        int old = mlops__q_set_isa(simd);
        for (int it = 0; it < iters; it++) {
            uint64_t t0 = bench_now_ns();
            mlops__q_matmat(t, m, N, 0, 1024, xq, 32, ab, y, 1024);
            double ns = (double)(bench_now_ns() - t0);
            ta = ns < ta ? ns : ta;
        }
        mlops__q_set_isa(best_isa);
        for (int it = 0; it < iters; it++) {
            uint64_t t0 = bench_now_ns();
            for (int b = 0; b < 32; b++)
                mlops__q_matvec(t, m, N, 0, 1024, xq + (size_t)b * ab, y + (size_t)b * 1024);
            double ns = (double)(bench_now_ns() - t0);
            tv = ns < tv ? ns : tv;
            t0 = bench_now_ns();
            mlops__q_matmat(t, m, N, 0, 1024, xq, 32, ab, y, 1024);
            ns = (double)(bench_now_ns() - t0);
            tm = ns < tm ? ns : tm;
        }
        mlops__q_set_isa(old);
        double f = 2.0 * 1024 * N * 32;
        printf("%-5s | %10.2f | %10.2f | %10.2f | %7.2fx\n", mlops__q_traits(t)->name, f / tv,
               f / tm, f / ta, tv / tm);
        free(m);
        free(xq);
    }

    /* Activation conversion of one 4096-wide row. */
    printf("\nactivation conversion, 4096 floats (ns per row, best of 200)\n");
    printf("%-5s | %8s | %8s | %8s\n", "to", "scalar", "simd", "speedup");
    static const int acts[] = {MLOPS__T_Q4_0, MLOPS__T_Q4_K};
    for (int k = 0; k < 2; k++) {
        unsigned char *xq = malloc(mlops__q_act_row_bytes(acts[k], N));
        double tt[2];
        for (int s = 0; s < 2; s++) {
            int old = mlops__q_set_isa(s ? best_isa : MLOPS__ISA_SCALAR);
            tt[s] = 1e30;
            for (int it = 0; it < 200; it++) {
                uint64_t t0 = bench_now_ns();
                mlops__q_quantize_act(acts[k], x, xq, N);
                double ns = (double)(bench_now_ns() - t0);
                tt[s] = ns < tt[s] ? ns : tt[s];
            }
            mlops__q_set_isa(old);
        }
        printf("%-5s | %8.0f | %8.0f | %7.1fx\n", k ? "Q8_K" : "Q8_0", tt[0], tt[1], tt[0] / tt[1]);
        free(xq);
    }
    decode_estimate(pool, bw2, iters * 2);
    printf("\nmemory bandwidth again at the end: 1 thread %.1f GB/s, 2 threads %.1f GB/s "
           "(a large change means the machine was busy: compare with care)\n",
           measure_bandwidth(pool, 1), measure_bandwidth(pool, 2));
    printf("peak RSS %.0f MiB\n", bench_peak_rss_mib());
    free(x);
    free(y);
    mlops__pool_destroy(pool);
    return 0;
}
