/*
 * The shared regex engine (lib/core/regex.c) against glibc's POSIX regcomp/regexec on
 * the same patterns and text, measured in the same run: find-all scans of 1 MiB of
 * English-like text (as the guard's custom recognizers and banned patterns do), a
 * routing rule's match test on a 1 KiB prompt, and a pattern that is catastrophic for
 * backtracking matchers. Usage: bench_regex [MiB of text, default 1]
 */
#include "bench.h"

#include "core/core.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *english(size_t n)
{
    static const char *w[] = {"the", "customer", "asked", "about", "a", "refund", "for",
                              "order", "number", "EMP-123456", "and", "said", "thanks",
                              "please", "review", "our", "policy", "today", "with", "care",
                              "Jane", "Doe", "call", "555-12-3456"};
    char *s = malloc(n + 32);
    size_t k = 0;
    uint32_t r = 1;
    while (k < n) {
        r = r * 1103515245u + 12345u;
        const char *x = w[(r >> 16) % MLOPS__ARRAY_LEN(w)];
        size_t l = strlen(x);
        memcpy(s + k, x, l);
        k += l;
        s[k++] = (r >> 8) % 13 == 0 ? '\n' : ' ';
    }
    s[n] = '\0';
    return s;
}

typedef struct job {
    mlops__regex *ours;
    regex_t posix;
    const char *text;
    size_t n;
    size_t found;
    bool test_only;
} job;

static void run_ours(void *arg)
{
    job *j = arg;
    if (j->test_only) {
        j->found = mlops__regex_test(j->ours, j->text, j->n);
        return;
    }
    size_t from = 0, ms, me, c = 0;
    while (from <= j->n && mlops__regex_search(j->ours, j->text, j->n, from, &ms, &me)) {
        c++;
        from = me > ms ? me : me + 1;
    }
    j->found = c;
}

static void run_posix(void *arg)
{
    job *j = arg;
    regmatch_t m;
    if (j->test_only) {
        j->found = regexec(&j->posix, j->text, 1, &m, 0) == 0;
        return;
    }
    size_t c = 0;
    const char *s = j->text;
    while (*s && regexec(&j->posix, s, 1, &m, s == j->text ? 0 : REG_NOTBOL) == 0) {
        c++;
        s += m.rm_eo > m.rm_so ? m.rm_eo : m.rm_eo + 1;
    }
    j->found = c;
}

static void row(const char *label, const char *pattern, unsigned flags, const char *text,
                size_t n, bool test_only, size_t iters)
{
    job j = {.text = text, .n = n, .test_only = test_only};
    int pflags = REG_EXTENDED | ((flags & MLOPS__REGEX_ICASE) ? REG_ICASE : 0) |
                 ((flags & MLOPS__REGEX_MULTILINE) ? REG_NEWLINE : 0);
    if (mlops__regex_compile_flags(pattern, flags, "bench", &j.ours) != MLOPS_OK ||
        regcomp(&j.posix, pattern, pflags) != 0) {
        fprintf(stderr, "bench_regex: cannot compile %s\n", pattern);
        exit(1);
    }
    bench_stats ours = bench_run(run_ours, &j, iters);
    size_t found_ours = j.found;
    bench_stats base = bench_run(run_posix, &j, iters);
    char l[160];
    snprintf(l, sizeof l, "%s (%zu%s)", label, found_ours, found_ours == j.found ? "" : " != POSIX");
    bench_table_row(l, &ours, &base);
    mlops__regex_free(j.ours);
    regfree(&j.posix);
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 1;
    if (mib < 1)
        mib = 1;
    size_t n = mib << 20;
    char *text = english(n);
    char title[128];
    snprintf(title, sizeof title, "find all matches in %zu MiB of English text (matches)", mib);
    bench_table_begin(title, "glibc regexec");
    row("EMP-[0-9]{6}", "EMP-[0-9]{6}", MLOPS__REGEX_MULTILINE, text, n, false, 5);
    row("[0-9]{3}-[0-9]{2}-[0-9]{4}", "[0-9]{3}-[0-9]{2}-[0-9]{4}", MLOPS__REGEX_MULTILINE,
        text, n, false, 5);
    row("[A-Z][a-z]+ [A-Z][a-z]+", "[A-Z][a-z]+ [A-Z][a-z]+", MLOPS__REGEX_MULTILINE, text, n,
        false, 5);
    row("(urgent|asap) icase", "(urgent|asap)", MLOPS__REGEX_ICASE, text, n, false, 5);
    row("refund.*$ (per line)", "refund.*$", MLOPS__REGEX_MULTILINE, text, n, false, 5);
    bench_table_end();

    bench_table_begin("routing rule: does a 1 KiB prompt match (1 = yes)", "glibc regexec");
    row("^(please )?translate icase", "^(please )?translate", MLOPS__REGEX_ICASE, text, 1024,
        true, 2000);
    row("(refund|invoice|billing)", "(refund|invoice|billing)", 0, text, 1024, true, 2000);
    row("[0-9]{4}-[0-9]{4}x (none)", "[0-9]{4}-[0-9]{4}x", 0, text, 1024, true, 2000);
    bench_table_end();

    size_t an = 1 << 13; /* glibc needs ~11 s for 64 KiB */
    char *aaa = malloc(an + 1);
    memset(aaa, 'a', an);
    aaa[an] = '\0';
    bench_table_begin("pathological for backtracking: 8 KiB of 'a' (no match)", "glibc regexec");
    row("(a+)+b", "(a+)+b", 0, aaa, an, true, 3);
    row("(a|aa)*(a|aa)*c", "(a|aa)*(a|aa)*c", 0, aaa, an, true, 3);
    bench_table_end();
    printf("peak RSS %.1f MiB\n", bench_peak_rss_mib());
    free(aaa);
    free(text);
    return 0;
}
