#include "bench.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static volatile uint64_t sink_value;

void bench_sink(uint64_t v)
{
    sink_value ^= v;
}

uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

bench_stats bench_stats_of(double *s, size_t n)
{
    bench_stats st = {0};
    if (n == 0)
        return st;
    qsort(s, n, sizeof *s, cmp_double);
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += s[i];
    st.samples = n;
    st.min_ns = s[0];
    st.p50_ns = s[n / 2];
    st.p99_ns = s[(size_t)((double)(n - 1) * 0.99)];
    st.mean_ns = sum / (double)n;
    return st;
}

bench_stats bench_run_batched(bench_fn fn, void *arg, size_t samples, size_t batch)
{
    if (batch == 0)
        batch = 1;
    for (size_t i = 0; i < (samples / 10 + 1) * batch && i < 10000; i++)
        fn(arg);
    double *s = malloc(samples * sizeof *s);
    for (size_t i = 0; i < samples; i++) {
        uint64_t t0 = bench_now_ns();
        for (size_t k = 0; k < batch; k++)
            fn(arg);
        s[i] = (double)(bench_now_ns() - t0) / (double)batch;
    }
    bench_stats st = bench_stats_of(s, samples);
    free(s);
    return st;
}

bench_stats bench_run(bench_fn fn, void *arg, size_t iterations)
{
    return bench_run_batched(fn, arg, iterations, 1);
}

static void fmt_ns(char *out, size_t n, double ns)
{
    if (ns < 1e3)
        snprintf(out, n, "%.0f ns", ns);
    else if (ns < 1e6)
        snprintf(out, n, "%.2f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(out, n, "%.2f ms", ns / 1e6);
    else
        snprintf(out, n, "%.2f s", ns / 1e9);
}

void bench_table_begin(const char *title, const char *baseline_name)
{
    printf("\n%s\n", title);
    printf("%-34s | %10s %10s | %10s %10s | %8s\n", "case", "p50", "p99",
           baseline_name ? "base p50" : "", baseline_name ? "base p99" : "", "speed-up");
    printf("%-34s | %21s | %21s |\n", "", "ours", baseline_name ? baseline_name : "");
    printf("-----------------------------------+-----------------------+-----------------------+---------\n");
}

void bench_table_row(const char *label, const bench_stats *ours, const bench_stats *base)
{
    char a[32], b[32], c[32] = "", d[32] = "", sp[32] = "";
    fmt_ns(a, sizeof a, ours->p50_ns);
    fmt_ns(b, sizeof b, ours->p99_ns);
    if (base) {
        fmt_ns(c, sizeof c, base->p50_ns);
        fmt_ns(d, sizeof d, base->p99_ns);
        snprintf(sp, sizeof sp, "%.2fx", base->p50_ns / (ours->p50_ns > 0 ? ours->p50_ns : 1));
    }
    printf("%-34s | %10s %10s | %10s %10s | %8s\n", label, a, b, c, d, sp);
}

void bench_table_note(const char *label, const char *fmt, ...)
{
    char text[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    printf("%-34s | %s\n", label, text);
}

void bench_table_end(void)
{
    printf("\n");
    fflush(stdout);
}

double bench_peak_rss_mib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_maxrss / 1024.0;
}

char *bench_mkdtemp(char *buf, size_t n, const char *prefix)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    if ((size_t)snprintf(buf, n, "%s/%sXXXXXX", base, prefix) >= n)
        return NULL;
    return mkdtemp(buf);
}
