/*
 * Conformance on external labelled data, when $MLOPS_SOURCE_DIR/../shared/conformance
 * exists (skipped cleanly otherwise):
 *  - json-schema/cases.jsonl (JSON-Schema-Test-Suite, draft 2020-12): every case of the
 *    keyword files we support; prints the pass rate and asserts a floor.
 *  - pii/presidio_tests.jsonl (Presidio's recognizer tests): every case whose entity we
 *    recognise, with only that entity enabled; spans are code-point offsets there and are
 *    converted to bytes; prints per-entity precision/recall and the case pass rate.
 */
#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"
#include "guard_data.h"

/* $MLOPS_CONFORMANCE_DIR, else ../shared/conformance next to the source tree (or one
 * level further up, for git worktrees kept in a subfolder). */
static json_t *load(const char *rel)
{
    char path[1024];
    const char *env = getenv("MLOPS_CONFORMANCE_DIR");
    if (env && *env) {
        snprintf(path, sizeof path, "%s/%s", env, rel);
        return guard_load_jsonl(path);
    }
    snprintf(path, sizeof path, "%s/../shared/conformance/%s", test_source_dir(), rel);
    json_t *a = guard_load_jsonl(path);
    if (a)
        return a;
    snprintf(path, sizeof path, "%s/../../shared/conformance/%s", test_source_dir(), rel);
    return guard_load_jsonl(path);
}

static const char *const unsupported_files[] = {
    "unevaluatedProperties.json", "unevaluatedItems.json", "dynamicRef.json",
    "refRemote.json", "vocabulary.json", "defs.json", NULL};

static void json_schema_suite(void **state)
{
    (void)state;
    json_t *cases = load("json-schema/cases.jsonl");
    if (!cases) {
        printf("json-schema conformance: ../shared/conformance absent, skipped\n");
        skip();
    }
    size_t run = 0, pass = 0, skipped = 0, i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *file = json_string_value(json_object_get(c, "file"));
        bool unsupported = false;
        for (const char *const *u = unsupported_files; *u; u++)
            unsupported = unsupported || strcmp(file, *u) == 0;
        if (unsupported) {
            skipped++;
            continue;
        }
        int v = mlops__jsonschema_validate(json_object_get(c, "schema"), json_object_get(c, "data"), NULL);
        bool want = json_is_true(json_object_get(c, "valid"));
        bool ok = v >= 0 && (v == 1) == want;
        run++;
        pass += ok;
        if (!ok && getenv("GUARD_VERBOSE"))
            printf("  FAIL %s / %s / %s (got %d)\n", file,
                   json_string_value(json_object_get(c, "group")),
                   json_string_value(json_object_get(c, "description")), v);
    }
    double rate = run ? (double)pass / (double)run : 0;
    printf("json-schema conformance: %zu/%zu cases pass (%.1f%%) on supported keywords; "
           "%zu cases of unsupported keyword files skipped (%.1f%% of all %zu)\n",
           pass, run, 100 * rate, skipped, 100.0 * (double)pass / (double)json_array_size(cases),
           json_array_size(cases));
    assert_true(rate >= 0.90);
    json_decref(cases);
}

/* Byte offset of code point index cp in s. */
static size_t cp_to_byte(const char *s, size_t cp)
{
    size_t b = 0, k = 0;
    while (s[b] && k < cp) {
        b++;
        while (((unsigned char)s[b] & 0xC0) == 0x80)
            b++;
        k++;
    }
    return b;
}

typedef struct ent_stats {
    char name[32];
    size_t tp, fp, fn, cases, passed;
} ent_stats;

static void presidio_suite(void **state)
{
    (void)state;
    json_t *cases = load("pii/presidio_tests.jsonl");
    if (!cases) {
        printf("presidio conformance: ../shared/conformance absent, skipped\n");
        skip();
    }
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    ent_stats st[32];
    size_t nst = 0, i, total = 0, passed = 0;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *ent = json_string_value(json_object_get(c, "entity_under_test"));
        bool known = false;
        for (size_t k = 0; k < mlops__gpii_entity_count - 4; k++)
            known = known || strcmp(ent, mlops__gpii_entity_names[k]) == 0;
        if (!known)
            continue;
        size_t si = 0;
        while (si < nst && strcmp(st[si].name, ent) != 0)
            si++;
        if (si == nst) {
            memset(&st[nst], 0, sizeof st[nst]);
            snprintf(st[nst].name, sizeof st[nst].name, "%s", ent);
            nst++;
        }
        const char *text = json_string_value(json_object_get(c, "text"));
        char policy[256];
        snprintf(policy, sizeof policy,
                 "{\"scanners\": {\"pii\": {\"entities\": [\"%s\"], \"threshold\": 0.01}}}", ent);
        json_t *r = guard_check(h, policy, "input", text, NULL);
        json_t *found = json_object_get(r, "findings"), *spans = json_object_get(c, "spans");
        size_t tp = 0, fp = 0, fn = 0, k, j;
        json_t *s, *f;
        json_array_foreach(spans, k, s) {
            size_t bs = cp_to_byte(text, (size_t)json_integer_value(json_object_get(s, "start")));
            size_t be = cp_to_byte(text, (size_t)json_integer_value(json_object_get(s, "end")));
            bool hit = false;
            json_array_foreach(found, j, f)
                hit = hit || ((size_t)json_integer_value(json_object_get(f, "start")) == bs &&
                              (size_t)json_integer_value(json_object_get(f, "end")) == be);
            tp += hit;
            fn += !hit;
        }
        json_array_foreach(found, j, f) {
            bool hit = false;
            json_array_foreach(spans, k, s) {
                size_t bs = cp_to_byte(text, (size_t)json_integer_value(json_object_get(s, "start")));
                size_t be = cp_to_byte(text, (size_t)json_integer_value(json_object_get(s, "end")));
                hit = hit || ((size_t)json_integer_value(json_object_get(f, "start")) == bs &&
                              (size_t)json_integer_value(json_object_get(f, "end")) == be);
            }
            fp += !hit;
        }
        bool ok = fp == 0 && fn == 0;
        if (!ok && getenv("GUARD_VERBOSE"))
            printf("  FAIL %s: '%s' (fp %zu fn %zu)\n", ent, text, fp, fn);
        st[si].tp += tp;
        st[si].fp += fp;
        st[si].fn += fn;
        st[si].cases++;
        st[si].passed += ok;
        total++;
        passed += ok;
        json_decref(r);
    }
    printf("presidio conformance (entities we recognise):\n");
    printf("  %-18s %6s %6s %9s %7s\n", "entity", "cases", "pass", "precision", "recall");
    for (size_t k = 0; k < nst; k++) {
        double p = st[k].tp + st[k].fp ? (double)st[k].tp / (double)(st[k].tp + st[k].fp) : 1;
        double r = st[k].tp + st[k].fn ? (double)st[k].tp / (double)(st[k].tp + st[k].fn) : 1;
        printf("  %-18s %6zu %6zu %9.3f %7.3f\n", st[k].name, st[k].cases, st[k].passed, p, r);
    }
    printf("presidio conformance: %zu/%zu cases pass (%.1f%%)\n", passed, total,
           total ? 100.0 * (double)passed / (double)total : 0);
    assert_true(total == 0 || (double)passed / (double)total >= 0.75);
    json_decref(cases);
    mlops_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_schema_suite),
        cmocka_unit_test(presidio_suite),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
