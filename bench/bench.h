/*
 * A tiny benchmark harness: time a function many times, report p50/p99/mean and
 * throughput, and print rows side by side with a baseline measured in the same run.
 *
 *   bench_stats s = bench_run(fn, arg, iterations);   // one sample per call
 *   bench_table_begin("what is measured", "baseline name");
 *   bench_table_row("case", &ours, &baseline);
 *   bench_table_end();
 */
#ifndef MLOPS_BENCH_H
#define MLOPS_BENCH_H

#include <stddef.h>
#include <stdint.h>

typedef void (*bench_fn)(void *arg);

typedef struct bench_stats {
    double p50_ns;
    double p99_ns;
    double mean_ns;
    double min_ns;
    size_t samples;
} bench_stats;

/** Runs fn(arg) `warmup` times untimed, then `iterations` times, one sample each. */
bench_stats bench_run(bench_fn fn, void *arg, size_t iterations);

/**
 * Runs fn(arg) in batches of `batch` calls per sample (for calls too short to time
 * one by one); stats are per call.
 */
bench_stats bench_run_batched(bench_fn fn, void *arg, size_t samples, size_t batch);

/** Stats over externally collected samples (nanoseconds); sorts the array. */
bench_stats bench_stats_of(double *samples_ns, size_t n);

/** Starts a table: a title and the name of the baseline column. */
void bench_table_begin(const char *title, const char *baseline_name);
/** One row: ours and the baseline (baseline may be NULL), with the speed-up. */
void bench_table_row(const char *label, const bench_stats *ours, const bench_stats *baseline);
/** One free-form row: label and a value with unit (for throughput, bandwidth...). */
void bench_table_note(const char *label, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void bench_table_end(void);

/** Monotonic nanoseconds. */
uint64_t bench_now_ns(void);

/** Keeps the compiler from discarding a computed value. */
void bench_sink(uint64_t v);

/**
 * Makes a fresh directory "<$TMPDIR or /tmp>/<prefix>XXXXXX" into buf (size n).
 * Returns buf, or NULL (with errno) when it could not be created.
 */
char *bench_mkdtemp(char *buf, size_t n, const char *prefix);

/** Peak resident set size of this process in MiB (from getrusage). */
double bench_peak_rss_mib(void);

#endif
