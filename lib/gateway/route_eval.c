/*
 * Evaluation of a router on labelled prompts, in the terms RouteLLM uses: how many
 * calls went to the cheap model, what that costs relative to sending everything to
 * the strong model, and how much of the strong model's quality is kept (here: the
 * share of prompts that need the strong model which were sent to it), plus the curve
 * of those numbers over thresholds.
 */
#include "route.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const mlops__json_field eval_fields[] = {
    {"prices", MLOPS__J_OBJECT, false}, {"cv_folds", MLOPS__J_INTEGER, false},
    {"seed", MLOPS__J_INTEGER, false},  {"train", MLOPS__J_OBJECT, false},
    {NULL, 0, false},
};

typedef struct pred {
    double p;
    double threshold;
    int tier;
} pred;

typedef struct metrics {
    double accuracy, share_cheap, cost_rel, quality;
    size_t tp, fp, tn, fn;
} metrics;

static metrics measure(const mlops__route_examples *ex, const pred *pr, double thr, bool own,
                       double pc, double ps)
{
    metrics m = {0};
    size_t n = ex->n;
    for (size_t i = 0; i < n; i++) {
        bool strong = pr[i].p >= (own ? pr[i].threshold : thr);
        bool need = ex->v[i].strong;
        m.tp += strong && need;
        m.fp += strong && !need;
        m.tn += !strong && !need;
        m.fn += !strong && need;
    }
    size_t cheap = m.tn + m.fn, need = m.tp + m.fn;
    m.accuracy = n ? (double)(m.tp + m.tn) / (double)n : 0;
    m.share_cheap = n ? (double)cheap / (double)n : 0;
    m.cost_rel = n ? ((double)cheap * pc + (double)(n - cheap) * ps) / ((double)n * ps) : 0;
    m.quality = need ? (double)m.tp / (double)need : 1.0;
    return m;
}

static int score_all(const mlops__route_model *model, double thr_override,
                     const mlops__route_examples *ex, const size_t *idx, size_t n, pred *pr)
{
    for (size_t i = 0; i < n; i++) {
        size_t k = idx ? idx[i] : i;
        mlops__route_feats f;
        int rc = mlops__route_features(ex->v[k].prompt, 1, false, false, &f);
        if (rc != MLOPS_OK)
            return rc;
        mlops__route_score s;
        mlops__route_score_feats(model, &f, &s);
        mlops__route_feats_free(&f);
        pr[k].p = s.p_strong;
        pr[k].threshold = thr_override >= 0 ? thr_override : s.threshold;
        pr[k].tier = s.tier;
        if (thr_override >= 0 && (s.p_strong >= thr_override) != s.strong)
            pr[k].tier = s.p_strong >= thr_override ? MLOPS__TIER_COMPLEX : MLOPS__TIER_MEDIUM;
    }
    return MLOPS_OK;
}

/* k-fold cross-validation: every prompt is scored by a model that never saw it. */
static int cross_validate(const mlops__route_examples *ex, int folds, uint64_t seed,
                          const json_t *train_json, pred *pr)
{
    mlops__route_train_opts o;
    int rc = mlops__route_train_opts_parse(train_json, &o);
    if (rc != MLOPS_OK)
        return rc;
    size_t n = ex->n;
    size_t *perm = malloc(n * sizeof *perm), *train = malloc(n * sizeof *train),
           *test = malloc(n * sizeof *test);
    if (!perm || !train || !test) {
        rc = mlops__error_oom("router eval");
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t rng = seed * 0x9E3779B97F4A7C15ull + 7;
    mlops__route_shuffle(perm, n, &rng);
    for (int f = 0; f < folds && rc == MLOPS_OK; f++) {
        size_t ntr = 0, nte = 0;
        for (size_t i = 0; i < n; i++) {
            if ((int)(i % (size_t)folds) == f)
                test[nte++] = perm[i];
            else
                train[ntr++] = perm[i];
        }
        mlops__route_model *m = NULL;
        rc = mlops__route_train(ex, train, ntr, &o, &m);
        if (rc == MLOPS_OK)
            rc = score_all(m, -1, ex, test, nte, pr);
        mlops__route_model_free(m);
    }
out:
    free(perm);
    free(train);
    free(test);
    return rc;
}

static json_t *metrics_json(const metrics *m)
{
    return json_pack("{s:f, s:f, s:f, s:f}", "accuracy", m->accuracy, "share_cheap",
                     m->share_cheap, "cost_relative", m->cost_rel, "quality_retained",
                     m->quality);
}

int mlops__route_eval(const mlops__route_cfg *cfg, const mlops__route_examples *ex,
                      const json_t *options, json_t **out)
{
    *out = NULL;
    int rc = MLOPS_OK;
    if (options && (rc = mlops__json_check_fields(options, "eval options", eval_fields,
                                                  MLOPS_EINVAL)) != MLOPS_OK)
        return rc;
    json_t *prices = json_object_get(options, "prices");
    double pc = mlops__json_num(prices, "cheap", 0.15);
    double ps = mlops__json_num(prices, "strong", 2.5);
    if (!(pc >= 0 && ps > 0 && isfinite(pc) && isfinite(ps)))
        return mlops__error(MLOPS_EINVAL,
                            "eval options.prices: cheap must be >= 0 and strong > 0");
    int64_t folds = mlops__json_int(options, "cv_folds", 0);
    if (folds == 1 || folds < 0 || folds > 100 || (folds > 0 && (size_t)folds > ex->n))
        return mlops__error(MLOPS_EINVAL,
                            "eval options.cv_folds: %lld must be 0 (no training) or 2..min(100, "
                            "examples)",
                            (long long)folds);
    pred *pr = calloc(ex->n ? ex->n : 1, sizeof *pr);
    if (!pr)
        return mlops__error_oom("router eval");
    double thr = -1;
    if (folds >= 2) {
        rc = cross_validate(ex, (int)folds, (uint64_t)mlops__json_int(options, "seed", 1),
                            json_object_get(options, "train"), pr);
    } else {
        rc = score_all(mlops__route_cfg_model(cfg), -1, ex, NULL, ex->n, pr);
        if (rc == MLOPS_OK && cfg) {
            /* the config's threshold override, via a decide-equivalent explanation */
            json_t *e = NULL;
            if (mlops__route_explain(cfg, "", &e) == MLOPS_OK)
                thr = json_number_value(json_object_get(e, "threshold"));
            json_decref(e);
            for (size_t i = 0; thr >= 0 && i < ex->n; i++)
                pr[i].threshold = thr;
        }
    }
    if (rc != MLOPS_OK) {
        free(pr);
        return rc;
    }
    metrics m = measure(ex, pr, 0, true, pc, ps);
    size_t tier_n = 0, tier_ok = 0;
    for (size_t i = 0; i < ex->n; i++) {
        if (ex->v[i].tier < 0)
            continue;
        tier_n++;
        int t = pr[i].tier;
        if (pr[i].p >= pr[i].threshold && t < MLOPS__TIER_COMPLEX)
            t = MLOPS__TIER_COMPLEX;
        if (pr[i].p < pr[i].threshold && t >= MLOPS__TIER_COMPLEX)
            t = MLOPS__TIER_MEDIUM;
        tier_ok += t == ex->v[i].tier;
    }
    json_t *curve = json_array();
    for (int t = 0; t <= 20; t++) {
        double th = t / 20.0;
        metrics c = measure(ex, pr, th, false, pc, ps);
        json_t *row = metrics_json(&c);
        json_object_set_new(row, "threshold", json_real(th));
        json_array_append_new(curve, row);
    }
    json_t *r = metrics_json(&m);
    json_object_set_new(r, "n", json_integer((json_int_t)ex->n));
    json_object_set_new(r, "threshold", folds >= 2 || ex->n == 0 ? json_null()
                                                                 : json_real(pr[0].threshold));
    json_object_set_new(r, "mode", json_string(folds >= 2 ? "cross-validation" : "scorer"));
    if (folds >= 2)
        json_object_set_new(r, "cv_folds", json_integer(folds));
    else
        json_object_set_new(r, "scorer",
                            json_string(mlops__route_cfg_model(cfg) ? "model" : "rules"));
    json_object_set_new(r, "tier_accuracy",
                        tier_n ? json_real((double)tier_ok / (double)tier_n) : json_null());
    json_object_set_new(r, "strong_needed",
                        json_integer((json_int_t)(m.tp + m.fn)));
    json_object_set_new(r, "confusion",
                        json_pack("{s:I, s:I, s:I, s:I}", "strong_to_strong", (json_int_t)m.tp,
                                  "cheap_to_strong", (json_int_t)m.fp, "cheap_to_cheap",
                                  (json_int_t)m.tn, "strong_to_cheap", (json_int_t)m.fn));
    json_object_set_new(r, "prices", json_pack("{s:f, s:f}", "cheap", pc, "strong", ps));
    json_object_set_new(r, "curve", curve);
    free(pr);
    *out = r;
    return r ? MLOPS_OK : mlops__error_oom("router eval");
}
