/*
 * Guard throughput and latency against a naive POSIX-regex baseline (regcomp/regexec
 * over the same entity set: email, card, phone, SSN, IPv4, URL, IBAN, AWS key), both
 * measured in this run on the same generated English text.
 *
 *   build/bench/bench_guard [MB] [t]  (default 8 MB of text; "t": throughput table only,
 *                                      for profiling under callgrind)
 */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "guard/guard.h"
#include "mlops.h"

static const char *const words[] = {
    "the", "of", "and", "to", "in", "a", "is", "that", "for", "it", "as", "was", "with", "be",
    "by", "on", "not", "he", "this", "are", "or", "his", "from", "at", "which", "but", "have",
    "an", "had", "they", "you", "were", "their", "one", "all", "we", "can", "her", "has",
    "there", "been", "if", "more", "when", "will", "would", "who", "so", "no", "report",
    "system", "meeting", "customer", "quarterly", "revenue", "product", "please", "review",
    "schedule", "because", "important", "morning", "project", "team", "update", "question",
    "information", "different", "following", "between", "without", "another", "example",
};

/* Ordinary English prose with an occasional email or number, like real prompts. */
static char *make_text(size_t n)
{
    char *t = malloc(n + 1);
    uint64_t x = 88172645463325252ull;
    size_t i = 0, sentence = 0;
    while (i + 64 < n) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        const char *w = words[x % (sizeof words / sizeof words[0])];
        size_t k = strlen(w);
        memcpy(t + i, w, k);
        if (sentence == 0)
            t[i] = (char)(t[i] - 32);
        i += k;
        if (++sentence > 12 + x % 8) {
            t[i++] = '.';
            sentence = 0;
        } else if (x % 23 == 0)
            t[i++] = ',';
        t[i++] = ' ';
        if (x % 997 == 0) {
            i += (size_t)sprintf(t + i, "Call 415-555-%04d or mail j%u@example.com. ",
                                 (int)(x % 10000), (unsigned)(x % 100));
        }
    }
    while (i < n)
        t[i++] = ' ';
    t[n] = '\0';
    return t;
}

static const char *const posix_patterns[] = {
    "[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\\.[A-Za-z]{2,}",
    "\\b[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{4}[ -]?[0-9]{1,4}\\b",
    "\\(?[0-9]{3}\\)?[ .-]?[0-9]{3}[ .-][0-9]{4}",
    "\\b[0-9]{3}-[0-9]{2}-[0-9]{4}\\b",
    "\\b[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\b",
    "https?://[^ \"<>]+|www\\.[^ \"<>]+",
    "\\b[A-Z]{2}[0-9]{2}[ ]?[A-Z0-9]{4}[ ]?[0-9]{4}[ ]?[0-9]{4}",
    "\\bAKIA[0-9A-Z]{16}\\b",
};

typedef struct posix_set {
    regex_t re[8];
} posix_set;

static size_t posix_scan(posix_set *p, const char *text)
{
    size_t found = 0;
    for (int k = 0; k < 8; k++) {
        const char *s = text;
        regmatch_t m;
        while (regexec(&p->re[k], s, 1, &m, s == text ? 0 : REG_NOTBOL) == 0) {
            found++;
            s += m.rm_eo > m.rm_so ? m.rm_eo : m.rm_so + 1;
            if (!*s)
                break;
        }
    }
    return found;
}

typedef struct call_arg {
    mlops_t *h;
    const char *text;
    posix_set *posix;
} call_arg;

static void call_ours(void *p)
{
    call_arg *a = p;
    char *out = NULL;
    if (mlops_guard_check(a->h, NULL, "input", a->text, NULL, &out) == MLOPS_OK)
        bench_sink(strlen(out));
    mlops_free(out);
}

static void call_posix(void *p)
{
    call_arg *a = p;
    bench_sink(posix_scan(a->posix, a->text));
}

/* CPU time of this thread: the machine is shared, so wall time over-counts. */
static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double mbps(size_t bytes, uint64_t ns) { return (double)bytes / 1e6 / ((double)ns / 1e9); }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t median_ns(const uint64_t *v, int k)
{
    uint64_t s[16];
    memcpy(s, v, (size_t)k * sizeof *s);
    qsort(s, (size_t)k, sizeof *s, cmp_u64);
    return s[k / 2];
}

static uint64_t min_ns(const uint64_t *v, int k)
{
    uint64_t m = v[0];
    for (int i = 1; i < k; i++)
        m = v[i] < m ? v[i] : m;
    return m;
}

int main(int argc, char **argv)
{
    size_t mb = argc > 1 ? (size_t)atoi(argv[1]) : 8;
    if (mb < 1)
        mb = 1;
    size_t n = mb << 20;
    char *text = make_text(n);
    mlops_t *h = NULL;
    if (mlops_open(":memory:", NULL, &h) != MLOPS_OK) {
        fprintf(stderr, "open failed: %s\n", mlops_last_error());
        return 1;
    }
    posix_set ps;
    for (int k = 0; k < 8; k++)
        if (regcomp(&ps.re[k], posix_patterns[k], REG_EXTENDED) != 0) {
            fprintf(stderr, "regcomp failed for pattern %d\n", k);
            return 1;
        }
    /* warm up: builds the default models once per process (trained at first use; a
     * plain "hello" no longer reaches the models, the prefilter skips them) */
    call_arg warm = {h, "hello", &ps};
    call_ours(&warm);
    mlops__guard_default_model("injection");

    mlops__gpolicy *def = NULL, *pii = NULL;
    mlops__gpolicy_default(&def);
    json_t *pj = json_loads("{\"scanners\": {\"pii\": {}, \"secrets\": {}}}", 0, NULL);
    mlops__gpolicy_parse(pj, &pii);
    json_decref(pj);

    bench_table_begin("guard throughput on English text, one core (MB/s of CPU time, higher is better)", "POSIX regex");
    /* ours: the default input policy through the internal pipeline (report included) */
    /* each measured ROUNDS times, interleaved (ours, ours PII-only, POSIX) so that a slow
     * spell of a shared machine hits all three alike; the median is reported */
    enum { ROUNDS = 5 };
    uint64_t t_def[ROUNDS], t_pii[ROUNDS], t_posix[ROUNDS];
    size_t nf = 0, pf = 0;
    size_t bn = n < (1u << 20) ? n : (1u << 20); /* the baseline reads 1 MB (it is slow) */
    for (int k = 0; k < ROUNDS; k++) {
        uint64_t t0 = cpu_ns();
        json_t *rep = NULL;
        mlops__guard_scan_ex(NULL, def, NULL, NULL, 100000, MLOPS__GSTAGE_INPUT, text, n, NULL, &rep);
        t_def[k] = cpu_ns() - t0;
        nf = json_array_size(json_object_get(rep, "findings"));
        json_decref(rep);
        t0 = cpu_ns();
        mlops__guard_scan_ex(NULL, pii, NULL, NULL, 100000, MLOPS__GSTAGE_INPUT, text, n, NULL, &rep);
        t_pii[k] = cpu_ns() - t0;
        json_decref(rep);
        char save = text[bn];
        text[bn] = '\0';
        t0 = cpu_ns();
        pf = posix_scan(&ps, text);
        t_posix[k] = cpu_ns() - t0;
        text[bn] = save;
    }
    uint64_t m_def = median_ns(t_def, ROUNDS), m_pii = median_ns(t_pii, ROUNDS);
    uint64_t m_posix = median_ns(t_posix, ROUNDS);
    bench_table_note("default input policy (PII+secrets+injection+decoders)",
                     "%.1f MB/s median of %d over %zu MB (best %.1f), %zu findings",
                     mbps(n, m_def), ROUNDS, mb, mbps(n, min_ns(t_def, ROUNDS)), nf);
    bench_table_note("PII + secrets only", "%.1f MB/s median (best %.1f)", mbps(n, m_pii),
                     mbps(n, min_ns(t_pii, ROUNDS)));
    bench_table_note("POSIX regcomp/regexec, same 8 entity patterns",
                     "%.1f MB/s median (best %.1f), %zu matches in 1 MB", mbps(bn, m_posix),
                     mbps(bn, min_ns(t_posix, ROUNDS)), pf);
    bench_table_note("speed-up, default policy vs POSIX", "%.1fx", mbps(n, m_def) / mbps(bn, m_posix));
    bench_table_note("peak RSS", "%.1f MiB", bench_peak_rss_mib());
    bench_table_end();
    if (argc > 2 && argv[2][0] == 't') {
        for (int k = 0; k < 8; k++)
            regfree(&ps.re[k]);
        mlops__gpolicy_free(def);
        mlops__gpolicy_free(pii);
        free(text);
        mlops_close(h);
        return 0;
    }

    /* per-call latency for a 1 KB prompt through the public API */
    char prompt[1025];
    memcpy(prompt, text + 4096, 1024);
    prompt[1024] = '\0';
    call_arg a = {h, prompt, &ps};
    bench_stats ours = bench_run(call_ours, &a, 2000);
    bench_stats base = bench_run(call_posix, &a, 2000);
    bench_table_begin("1 KB prompt, one call (default policy, report JSON included)", "POSIX regex");
    bench_table_row("mlops_guard_check", &ours, &base);
    bench_table_end();

    /* pathological pattern: linear time for ours */
    size_t pn = 1 << 16;
    char *aaa = malloc(pn + 1);
    memset(aaa, 'a', pn);
    aaa[pn] = '\0';
    mlops__regex *re = NULL;
    mlops__regex_compile("(a+)+b", "bench", &re);
    size_t ms, me;
    uint64_t t0 = bench_now_ns();
    bool m = mlops__regex_search(re, aaa, pn, 0, &ms, &me);
    uint64_t t_re = bench_now_ns() - t0;
    bench_table_begin("custom recognizer regex (a+)+b on 64 KiB of 'a' (no match)", NULL);
    bench_table_note("Pike VM (linear time)", "%.2f ms, match=%d", (double)t_re / 1e6, (int)m);
    bench_table_end();
    mlops__regex_free(re);
    free(aaa);

    for (int k = 0; k < 8; k++)
        regfree(&ps.re[k]);
    mlops__gpolicy_free(def);
    mlops__gpolicy_free(pii);
    free(text);
    mlops_close(h);
    return 0;
}
