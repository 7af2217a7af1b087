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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(injection_dev),
        cmocka_unit_test(injection_sealed_test),
        cmocka_unit_test(toxicity_quality),
        cmocka_unit_test(pii_quality),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
