/*
 * Quality on labelled corpora written for the project (tests/guard/data): injection
 * detection and false positives on benign prompts full of trigger words, toxicity, and
 * PII precision/recall per entity. Prints the numbers.
 *
 * Injection: the built-in classifier is trained on data/guard only. eval_injection_dev
 * was written blind to the detector by another author and tunes the score combination;
 * eval_injection_test was written blind by a third author and is sealed: its numbers
 * are reported, never used to tune (its failures print only with GUARD_VERBOSE).
 */
#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_data.h"

/* floors: what the committed model reaches, less a little */
#define DEV_MIN_RECALL 0.93
#define DEV_MAX_FPR 0.015
#define TEST_MIN_RECALL 0.93
#define TEST_MAX_FPR 0.025

static json_t *load(const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/guard/data/%s", test_source_dir(), name);
    json_t *a = guard_load_jsonl(path);
    if (!a)
        print_error("missing %s\n", path);
    assert_non_null(a);
    return a;
}

static void injection_set(const char *file, double min_recall, double max_fpr)
{
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    json_t *data = load(file);
    size_t tp = 0, fp = 0, fn = 0, tn = 0;
    size_t i;
    json_t *row;
    json_array_foreach(data, i, row) {
        const char *text = json_string_value(json_object_get(row, "text"));
        int label = (int)json_integer_value(json_object_get(row, "label"));
        json_t *r = guard_check(h, "{\"scanners\": {\"injection\": {}}}", "input", text, NULL);
        bool blocked = strcmp(json_string_value(json_object_get(r, "verdict")), "block") == 0;
        if (getenv("GUARD_VERBOSE") && blocked != (label == 1))
            printf("  %s (%.3f): %s\n", label ? "MISSED" : "FALSE+",
                   json_real_value(json_object_get(json_object_get(r, "scores"), "injection")), text);
        tp += blocked && label;
        fp += blocked && !label;
        fn += !blocked && label;
        tn += !blocked && !label;
        json_decref(r);
    }
    double recall = (double)tp / (double)(tp + fn), fpr = (double)fp / (double)(fp + tn);
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    printf("injection %s (%zu attacks, %zu benign): precision %.3f recall %.3f FPR %.3f\n", file,
           tp + fn, fp + tn, precision, recall, fpr);
    assert_true(recall >= min_recall);
    assert_true(fpr <= max_fpr);
    json_decref(data);
    mlops_close(h);
}

static void injection_dev(void **state)
{
    (void)state;
    injection_set("eval_injection_dev.jsonl", DEV_MIN_RECALL, DEV_MAX_FPR);
}

static void injection_sealed_test(void **state)
{
    (void)state;
    injection_set("eval_injection_test.jsonl", TEST_MIN_RECALL, TEST_MAX_FPR);
}

/* short_benign.jsonl: 100 one-to-five-word prompts people type mid-conversation ("Say
 * something", "Start over", "Ignore the typo"): short texts carry little evidence and
 * must not be blocked on it. Written for the short-text scaling; not trained on. */
static void injection_short_benign(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    json_t *data = load("short_benign.jsonl");
    size_t fp = 0, i;
    json_t *row;
    json_array_foreach(data, i, row) {
        const char *text = json_string_value(json_object_get(row, "text"));
        json_t *r = guard_check(h, "{\"scanners\": {\"injection\": {}}}", "input", text, NULL);
        bool blocked = strcmp(json_string_value(json_object_get(r, "verdict")), "block") == 0;
        if (getenv("GUARD_VERBOSE") && blocked)
            printf("  FALSE+: %s\n", text);
        fp += blocked;
        json_decref(r);
    }
    printf("injection short_benign.jsonl (%zu benign): FPR %.3f\n", json_array_size(data),
           (double)fp / (double)json_array_size(data));
    assert_true(fp <= 3);
    json_decref(data);
    mlops_close(h);
}

static void toxicity_quality(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    json_t *data = load("toxicity.jsonl");
    size_t tp = 0, fp = 0, fn = 0, tn = 0, i;
    json_t *row;
    json_array_foreach(data, i, row) {
        const char *text = json_string_value(json_object_get(row, "text"));
        int label = (int)json_integer_value(json_object_get(row, "label"));
        json_t *r = guard_check(h, "{\"scanners\": {\"toxicity\": {\"stages\": \"both\"}}}",
                                "output", text, NULL);
        bool blocked = strcmp(json_string_value(json_object_get(r, "verdict")), "block") == 0;
        if (getenv("GUARD_VERBOSE") && blocked != (label == 1))
            printf("  %s: %s\n", label ? "MISSED" : "FALSE+", text);
        tp += blocked && label;
        fp += blocked && !label;
        fn += !blocked && label;
        tn += !blocked && !label;
        json_decref(r);
    }
    double recall = (double)tp / (double)(tp + fn), fpr = (double)fp / (double)(fp + tn);
    printf("toxicity (held-out, %zu toxic, %zu clean): recall %.3f FPR %.3f\n", tp + fn, fp + tn,
           recall, fpr);
    assert_true(recall >= 0.8);
    assert_true(fpr <= 0.2);
    json_decref(data);
    mlops_close(h);
}

static void pii_quality(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    json_t *data = load("pii.jsonl");
    size_t tp = 0, fp = 0, fn = 0, i;
    json_t *row;
    json_array_foreach(data, i, row) {
        const char *text = json_string_value(json_object_get(row, "text"));
        json_t *spans = json_object_get(row, "spans");
        json_t *r = guard_check(h, "{\"scanners\": {\"pii\": {}}}", "input", text, NULL);
        json_t *found = json_object_get(r, "findings");
        size_t k, j;
        json_t *s, *f;
        json_array_foreach(spans, k, s) {
            bool hit = false;
            json_array_foreach(found, j, f) {
                hit = hit || (json_integer_value(json_object_get(f, "start")) ==
                                  json_integer_value(json_object_get(s, "start")) &&
                              json_integer_value(json_object_get(f, "end")) ==
                                  json_integer_value(json_object_get(s, "end")) &&
                              strcmp(json_string_value(json_object_get(f, "type")),
                                     json_string_value(json_object_get(s, "type"))) == 0);
            }
            tp += hit;
            fn += !hit;
            if (!hit && getenv("GUARD_VERBOSE"))
                printf("  MISSED %s: %s\n", json_string_value(json_object_get(s, "type")), text);
        }
        json_array_foreach(found, j, f) {
            bool hit = false;
            json_array_foreach(spans, k, s) {
                hit = hit || (json_integer_value(json_object_get(f, "start")) ==
                                  json_integer_value(json_object_get(s, "start")) &&
                              json_integer_value(json_object_get(f, "end")) ==
                                  json_integer_value(json_object_get(s, "end")));
            }
            fp += !hit;
            if (!hit && getenv("GUARD_VERBOSE"))
                printf("  FALSE+ %s: %s\n", json_string_value(json_object_get(f, "type")), text);
        }
        json_decref(r);
    }
    double precision = tp + fp ? (double)tp / (double)(tp + fp) : 0;
    double recall = tp + fn ? (double)tp / (double)(tp + fn) : 0;
    printf("pii (own corpus, %zu spans): precision %.3f recall %.3f\n", tp + fn, precision, recall);
    assert_true(precision >= 0.95);
    assert_true(recall >= 0.95);
    json_decref(data);
    mlops_close(h);
}

/* Per-entity PII precision/recall on the evaluation corpora written by
 * scripts/gen_pii_eval.py (Presidio entity names, checksum-valid values, hand-written
 * contexts, hard negatives). A finding is a true positive when it has the same type as
 * a gold span and overlaps it; findings of other types are ignored. The dev file is
 * used for tuning (GUARD_VERBOSE=1 lists its errors); the test file uses disjoint
 * templates and is sealed: only its totals are printed, never its lines. */
static const char *const EVAL_TYPES[] = {
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "US_SSN",
    "US_ITIN", "US_PASSPORT", "US_DRIVER_LICENSE", "IP_ADDRESS", "MAC_ADDRESS",
    "URL", "DATE_TIME", "CRYPTO", "UK_NINO", "UK_NHS",
};
#define EVAL_NTYPES (sizeof EVAL_TYPES / sizeof EVAL_TYPES[0])

/* Regression floors on eval_pii_dev.jsonl (micro totals reached; raise, never lower). */
#define EVAL_DEV_MIN_PRECISION 1.0
#define EVAL_DEV_MIN_RECALL 1.0

static int eval_type_index(const char *type)
{
    for (size_t t = 0; t < EVAL_NTYPES; t++)
        if (type && strcmp(type, EVAL_TYPES[t]) == 0)
            return (int)t;
    return -1;
}

static bool eval_overlap(json_t *a, json_t *b)
{
    json_int_t as = json_integer_value(json_object_get(a, "start"));
    json_int_t ae = json_integer_value(json_object_get(a, "end"));
    json_int_t bs = json_integer_value(json_object_get(b, "start"));
    json_int_t be = json_integer_value(json_object_get(b, "end"));
    return as < be && bs < ae &&
           strcmp(json_string_value(json_object_get(a, "type")),
                  json_string_value(json_object_get(b, "type"))) == 0;
}

static void pii_eval(const char *file, bool sealed, double *out_p, double *out_r)
{
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    json_t *data = load(file);
    size_t tp[EVAL_NTYPES] = {0}, fp[EVAL_NTYPES] = {0};
    size_t hit[EVAL_NTYPES] = {0}, gold[EVAL_NTYPES] = {0};
    bool verbose = !sealed && getenv("GUARD_VERBOSE");
    size_t i, k, j;
    json_t *row, *s, *f;
    json_array_foreach(data, i, row) {
        const char *text = json_string_value(json_object_get(row, "text"));
        json_t *spans = json_object_get(row, "spans");
        json_t *r = guard_check(h, "{\"scanners\": {\"pii\": {}}}", "input", text, NULL);
        json_t *found = json_object_get(r, "findings");
        json_array_foreach(spans, k, s) {
            int t = eval_type_index(json_string_value(json_object_get(s, "type")));
            assert_true(t >= 0);
            bool ok = false;
            json_array_foreach(found, j, f) ok = ok || eval_overlap(f, s);
            gold[t]++;
            hit[t] += ok;
            if (!ok && verbose)
                printf("  MISSED %s [%lld,%lld): %s\n", EVAL_TYPES[t],
                       (long long)json_integer_value(json_object_get(s, "start")),
                       (long long)json_integer_value(json_object_get(s, "end")), text);
        }
        json_array_foreach(found, j, f) {
            int t = eval_type_index(json_string_value(json_object_get(f, "type")));
            if (t < 0)
                continue;
            bool ok = false;
            json_array_foreach(spans, k, s) ok = ok || eval_overlap(f, s);
            tp[t] += ok;
            fp[t] += !ok;
            if (!ok && verbose)
                printf("  FALSE+ %s [%lld,%lld] %.2f: %s\n", EVAL_TYPES[t],
                       (long long)json_integer_value(json_object_get(f, "start")),
                       (long long)json_integer_value(json_object_get(f, "end")),
                       json_real_value(json_object_get(f, "score")), text);
        }
        json_decref(r);
    }
    size_t stp = 0, sfp = 0, shit = 0, sgold = 0;
    printf("pii %s: per entity (finding = same type and overlapping a gold span)\n", file);
    printf("  %-18s %5s %5s %5s %9s %7s\n", "type", "gold", "found", "false", "precision",
           "recall");
    for (size_t t = 0; t < EVAL_NTYPES; t++) {
        printf("  %-18s %5zu %5zu %5zu %9.3f %7.3f\n", EVAL_TYPES[t], gold[t], tp[t] + fp[t],
               fp[t], tp[t] + fp[t] ? (double)tp[t] / (double)(tp[t] + fp[t]) : 0.0,
               gold[t] ? (double)hit[t] / (double)gold[t] : 0.0);
        stp += tp[t];
        sfp += fp[t];
        shit += hit[t];
        sgold += gold[t];
    }
    double p = stp + sfp ? (double)stp / (double)(stp + sfp) : 0.0;
    double rc = sgold ? (double)shit / (double)sgold : 0.0;
    printf("  %-18s %5zu %5zu %5zu %9.3f %7.3f\n", "micro total", sgold, stp + sfp, sfp, p, rc);
    *out_p = p;
    *out_r = rc;
    json_decref(data);
    mlops_close(h);
}

static void pii_eval_dev(void **state)
{
    (void)state;
    double p, r;
    pii_eval("eval_pii_dev.jsonl", false, &p, &r);
    assert_true(p >= EVAL_DEV_MIN_PRECISION);
    assert_true(r >= EVAL_DEV_MIN_RECALL);
}

static void pii_eval_test(void **state)
{
    (void)state;
    double p, r;
    pii_eval("eval_pii_test.jsonl", true, &p, &r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(injection_dev),
        cmocka_unit_test(injection_sealed_test),
        cmocka_unit_test(injection_short_benign),
        cmocka_unit_test(toxicity_quality),
        cmocka_unit_test(pii_quality),
        cmocka_unit_test(pii_eval_dev),
        cmocka_unit_test(pii_eval_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
