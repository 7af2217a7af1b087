/*
 * Quality of the semantic tier on tests/cache/data/pairs.jsonl (labelled paraphrases and
 * hard negatives written for libmlops): for each pair, `a` is cached in a partition of
 * its own and `b` is looked up there. Prints a threshold sweep (with and without the
 * guard) and checks the default configuration against floors: at most 1% wrong answers
 * among served semantic hits, and a floor on the paraphrase hit rate.
 */
#include "test_support.h"

#include "cache/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIM 384
#define MAX_PAIRS 2000

typedef struct pair {
    char *a, *b, *kind;
    int label;
    float sim;
    bool guard_ok;
} pair;

static pair pairs[MAX_PAIRS];
static int npairs;

static void load_pairs(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tests/cache/data/pairs.jsonl", test_source_dir());
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[8192];
    while (fgets(line, sizeof line, f) && npairs < MAX_PAIRS) {
        json_error_t err;
        json_t *j = json_loads(line, 0, &err);
        assert_non_null(j);
        pairs[npairs].a = strdup(json_string_value(json_object_get(j, "a")));
        pairs[npairs].b = strdup(json_string_value(json_object_get(j, "b")));
        pairs[npairs].kind = strdup(json_string_value(json_object_get(j, "kind")));
        pairs[npairs].label = (int)json_integer_value(json_object_get(j, "label"));
        npairs++;
        json_decref(j);
    }
    fclose(f);
}

static void free_pairs(void)
{
    for (int i = 0; i < npairs; i++) {
        free(pairs[i].a);
        free(pairs[i].b);
        free(pairs[i].kind);
    }
    npairs = 0;
}

static void score_pairs(void)
{
    mlops__hashvec_opts o;
    mlops__hashvec_defaults(&o, DIM);
    float va[DIM], vb[DIM];
    for (int i = 0; i < npairs; i++) {
        assert_ok(mlops__hashvec_embed(&o, pairs[i].a, strlen(pairs[i].a), va, NULL));
        assert_ok(mlops__hashvec_embed(&o, pairs[i].b, strlen(pairs[i].b), vb, NULL));
        float s = 0;
        for (int k = 0; k < DIM; k++)
            s += va[k] * vb[k];
        pairs[i].sim = s;
        pairs[i].guard_ok = mlops__cache_guard_lexical(pairs[i].b, pairs[i].a, NULL, 0);
    }
}

static void rates(double thr, bool guard, double *hit_rate, double *wrong_rate, int *served,
                  int *wrong)
{
    int pos = 0, hit = 0, srv = 0, wr = 0;
    for (int i = 0; i < npairs; i++) {
        bool s = pairs[i].sim >= thr && (!guard || pairs[i].guard_ok);
        pos += pairs[i].label;
        if (s) {
            srv++;
            if (pairs[i].label)
                hit++;
            else
                wr++;
        }
    }
    *hit_rate = pos ? (double)hit / pos : 0;
    *wrong_rate = srv ? (double)wr / srv : 0;
    *served = srv;
    *wrong = wr;
}

static void threshold_sweep(void **state)
{
    (void)state;
    load_pairs();
    score_pairs();
    int npos = 0;
    for (int i = 0; i < npairs; i++)
        npos += pairs[i].label;
    printf("pairs: %d (%d paraphrases, %d hard negatives), hashed embedder d=%d\n", npairs, npos,
           npairs - npos, DIM);
    printf("threshold  hit%%(guard)  wrong%%(guard)  served  |  hit%%(no guard)  wrong%%(no guard)\n");
    for (double t = 0.40; t <= 0.951; t += 0.05) {
        double h1, w1, h2, w2;
        int s1, x1, s2, x2;
        rates(t, true, &h1, &w1, &s1, &x1);
        rates(t, false, &h2, &w2, &s2, &x2);
        printf("  %.2f      %6.1f       %6.2f (%d)   %4d   |   %6.1f          %6.2f\n", t,
               100 * h1, 100 * w1, x1, s1, 100 * h2, 100 * w2);
    }
    /* Unrelated questions: the first prompt of pair i against the second of pair j. */
    mlops__hashvec_opts o;
    mlops__hashvec_defaults(&o, DIM);
    float *va = malloc(sizeof(float) * DIM * (size_t)npairs);
    float *vb = malloc(sizeof(float) * DIM * (size_t)npairs);
    for (int i = 0; i < npairs; i++) {
        assert_ok(mlops__hashvec_embed(&o, pairs[i].a, strlen(pairs[i].a), va + i * DIM, NULL));
        assert_ok(mlops__hashvec_embed(&o, pairs[i].b, strlen(pairs[i].b), vb + i * DIM, NULL));
    }
    int cross = 0, cross_served = 0;
    for (int i = 0; i < npairs; i++)
        for (int j = 0; j < npairs; j++) {
            if (strcmp(pairs[i].a, pairs[j].a) == 0 || strcmp(pairs[i].a, pairs[j].b) == 0)
                continue;
            float s = 0;
            for (int k = 0; k < DIM; k++)
                s += va[i * DIM + k] * vb[j * DIM + k];
            cross++;
            if (s >= 0.55f && mlops__cache_guard_lexical(pairs[j].b, pairs[i].a, NULL, 0)) {
                cross_served++;
                if (getenv("MLOPS_CACHE_PAIRS_VERBOSE"))
                    printf("CROSS %.3f %s | %s\n", s, pairs[i].a, pairs[j].b);
            }
        }
    printf("unrelated pairs served at 0.55 with the guard: %d of %d\n", cross_served, cross);
    free(va);
    free(vb);
    if (getenv("MLOPS_CACHE_PAIRS_VERBOSE"))
        for (int i = 0; i < npairs; i++)
            printf("%s %.3f guard=%d [%s] %s | %s\n", pairs[i].label ? "POS" : "NEG", pairs[i].sim,
                   pairs[i].guard_ok, pairs[i].kind, pairs[i].a, pairs[i].b);
    free_pairs();
}

/* The real cache, default configuration, each pair in a namespace of its own. */
static void default_config_meets_floors(void **state)
{
    (void)state;
    load_pairs();
    test_store ts;
    test_store_open(&ts, "{\"cache\": {\"persist\": false}}");
    int pos = 0, hits = 0, served = 0, wrong = 0;
    for (int i = 0; i < npairs; i++) {
        char ns[32];
        snprintf(ns, sizeof ns, "pair%d", i);
        json_t *ra = json_pack("{s:s, s:s}", "namespace", ns, "prompt", pairs[i].a);
        json_t *rb = json_pack("{s:s, s:s}", "namespace", ns, "prompt", pairs[i].b);
        char *ta = json_dumps(ra, 0), *tb = json_dumps(rb, 0);
        assert_ok(mlops_cache_put(ts.h, ta, "\"cached answer\"", NULL, NULL));
        char *out = NULL;
        assert_ok(mlops_cache_lookup(ts.h, tb, NULL, &out));
        bool hit = strstr(out, "\"hit\":\"semantic\"") || strstr(out, "\"hit\":\"exact\"");
        pos += pairs[i].label;
        if (hit) {
            served++;
            if (pairs[i].label)
                hits++;
            else {
                wrong++;
                printf("wrong hit: %s | %s\n", pairs[i].a, pairs[i].b);
            }
        }
        mlops_free(out);
        free(ta);
        free(tb);
        json_decref(ra);
        json_decref(rb);
    }
    double hit_rate = (double)hits / pos, wrong_rate = served ? (double)wrong / served : 0;
    printf("default config: paraphrase hit rate %.1f%% (%d/%d), wrong among served %.2f%% "
           "(%d/%d)\n",
           100 * hit_rate, hits, pos, 100 * wrong_rate, wrong, served);
    assert_true(wrong_rate <= 0.01);
    assert_true(hit_rate >= 0.72);
    test_store_close(&ts);
    free_pairs();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threshold_sweep),
        cmocka_unit_test(default_config_meets_floors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
