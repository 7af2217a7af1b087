/*
 * Complexity scorers: the built-in keyword/rule scorer (hand-set weights over the named
 * features) and the ordinal logistic-regression model (three binary heads for
 * tier >= medium, >= complex, >= reasoning; Frank & Hall 2001, "A Simple Approach to
 * Ordinal Classification") trained by seeded SGD with L2, and its versioned JSON form.
 */
#include "route.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * The rule scorer: a logit for "needs the strong model". Weights were set by hand on
 * the cue families (LiteLLM's complexity router uses the same idea of keyword tiers),
 * then checked on data/router/prompts.jsonl (see the README for its numbers).
 */
static const float rule_w[MLOPS__F_NAMED] = {
    [MLOPS__F_BIAS] = -1.8f,        [MLOPS__F_LEN] = 2.2f,
    [MLOPS__F_TOKENS] = 1.0f,       [MLOPS__F_SENTENCES] = 0.5f,
    [MLOPS__F_QUESTIONS] = 0.0f,    [MLOPS__F_CODE_BLOCK] = 1.5f,
    [MLOPS__F_INLINE_CODE] = 0.6f,  [MLOPS__F_CODE_SYNTAX] = 1.2f,
    [MLOPS__F_CODE_REQUEST] = 1.6f, [MLOPS__F_MATH_SYMBOLS] = 0.8f,
    [MLOPS__F_LATEX] = 2.0f,        [MLOPS__F_MATH_WORDS] = 1.8f,
    [MLOPS__F_REASONING] = 2.2f,    [MLOPS__F_COMPARE_DESIGN] = 1.6f,
    [MLOPS__F_MULTI_STEP] = 1.0f,   [MLOPS__F_CONSTRAINTS] = 1.2f,
    [MLOPS__F_FORMAT_JSON] = 0.4f,  [MLOPS__F_FORMAT_TABLE] = 0.3f,
    [MLOPS__F_FORMAT_CODE] = 0.8f,  [MLOPS__F_FORMAT_LONG] = 0.8f,
    [MLOPS__F_SIMPLE_CUES] = -1.6f, [MLOPS__F_REWRITE_CUES] = -1.4f,
    [MLOPS__F_DEPTH] = 0.8f,        [MLOPS__F_SYSTEM] = 0.1f,
    [MLOPS__F_NON_ASCII] = 0.0f,    [MLOPS__F_CJK] = 0.0f,
    [MLOPS__F_NUMBERS] = 0.3f,      [MLOPS__F_LONG_WORDS] = 1.0f,
};

static double sigmoid(double z)
{
    if (z >= 0)
        return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

static double head_logit(const mlops__route_model *m, int head, const mlops__route_feats *f)
{
    double z = m->b[head];
    const float *w = m->w[head];
    for (int i = 0; i < MLOPS__F_NAMED; i++)
        z += (double)w[i] * f->named[i];
    for (size_t k = 0; k < f->n; k++)
        z += (double)w[MLOPS__F_NAMED + f->idx[k]] * f->val[k];
    return z;
}

static double rule_logit(const mlops__route_feats *f)
{
    double z = 0;
    for (int i = 0; i < MLOPS__F_NAMED; i++)
        z += (double)rule_w[i] * f->named[i];
    return z;
}

void mlops__route_score_feats(const mlops__route_model *m, const mlops__route_feats *f,
                              mlops__route_score *out)
{
    if (!m) {
        double z = rule_logit(f);
        out->p_strong = sigmoid(z);
        out->threshold = 0.5;
        out->strong = out->p_strong >= out->threshold;
        /* Within each side, the cue families decide the finer tier. */
        double deep = f->named[MLOPS__F_REASONING] + f->named[MLOPS__F_MATH_WORDS] +
                      f->named[MLOPS__F_LATEX];
        if (out->strong)
            out->tier = (z > 1.5 && deep > 0.9) ? MLOPS__TIER_REASONING : MLOPS__TIER_COMPLEX;
        else
            out->tier = z < -1.0 ? MLOPS__TIER_SIMPLE : MLOPS__TIER_MEDIUM;
        return;
    }
    double p0 = sigmoid(head_logit(m, 0, f));
    double p1 = sigmoid(head_logit(m, 1, f));
    double p2 = sigmoid(head_logit(m, 2, f));
    out->p_strong = p1;
    out->threshold = m->threshold;
    out->strong = p1 >= m->threshold;
    if (out->strong)
        out->tier = p2 >= 0.5 ? MLOPS__TIER_REASONING : MLOPS__TIER_COMPLEX;
    else
        out->tier = p0 >= 0.5 ? MLOPS__TIER_MEDIUM : MLOPS__TIER_SIMPLE;
}

/* ------------------------------------------------------------------ explain ---- */

typedef struct contrib {
    const char *name;
    double value, contribution;
} contrib;

static int by_abs_contribution(const void *a, const void *b)
{
    double x = fabs(((const contrib *)a)->contribution);
    double y = fabs(((const contrib *)b)->contribution);
    return x < y ? 1 : x > y ? -1 : strcmp(((const contrib *)a)->name, ((const contrib *)b)->name);
}

json_t *mlops__route_explain_feats(const mlops__route_model *m, const mlops__route_feats *f,
                                   const mlops__route_score *s)
{
    const float *w = m ? m->w[1] : rule_w;
    contrib named[MLOPS__F_NAMED];
    size_t nn = 0;
    for (int i = 1; i < MLOPS__F_NAMED; i++) { /* the bias (0) is reported apart */
        if (f->named[i] == 0.0f)
            continue;
        named[nn].name = mlops__route_feature_name(i);
        named[nn].value = f->named[i];
        named[nn].contribution = (double)w[i] * f->named[i];
        nn++;
    }
    qsort(named, nn, sizeof *named, by_abs_contribution);
    json_t *feats = json_array();
    for (size_t i = 0; i < nn; i++)
        json_array_append_new(feats, json_pack("{s:s, s:f, s:f}", "name", named[i].name, "value",
                                               named[i].value, "contribution",
                                               named[i].contribution));
    json_t *grams = json_array();
    double hashed_total = 0;
    if (m && f->n > 0) {
        contrib *c = calloc(f->n, sizeof *c);
        size_t nc = 0;
        for (size_t k = 0; c && k < f->n; k++) {
            double x = (double)m->w[1][MLOPS__F_NAMED + f->idx[k]] * f->val[k];
            hashed_total += x;
            if (x == 0.0 || !f->text)
                continue;
            c[nc].name = f->text[k];
            c[nc].value = f->val[k];
            c[nc].contribution = x;
            nc++;
        }
        if (c)
            qsort(c, nc, sizeof *c, by_abs_contribution);
        for (size_t i = 0; c && i < nc && i < 12; i++)
            json_array_append_new(grams, json_pack("{s:s, s:f}", "ngram", c[i].name,
                                                   "contribution", c[i].contribution));
        free(c);
    }
    double bias = (m ? m->b[1] : 0) + (double)w[MLOPS__F_BIAS] * f->named[MLOPS__F_BIAS];
    return json_pack("{s:s, s:s, s:b, s:f, s:f, s:f, s:f, s:o, s:o}", "scorer",
                     m ? "model" : "rules", "tier", mlops__route_tier_name(s->tier), "strong",
                     s->strong, "p_strong", s->p_strong, "threshold", s->threshold, "bias", bias,
                     "ngram_total", hashed_total, "features", feats ? feats : json_array(),
                     "ngrams", grams ? grams : json_array());
}

/* ------------------------------------------------------------------ training --- */

void mlops__route_model_free(mlops__route_model *m)
{
    if (!m)
        return;
    json_decref(m->info);
    free(m);
}

static const mlops__json_field train_fields[] = {
    {"seed", MLOPS__J_INTEGER, false},         {"epochs", MLOPS__J_INTEGER, false},
    {"learning_rate", MLOPS__J_NUMBER, false}, {"l2", MLOPS__J_NUMBER, false},
    {"strong_share", MLOPS__J_NUMBER, false},  {NULL, 0, false},
};

int mlops__route_train_opts_parse(const json_t *j, mlops__route_train_opts *o)
{
    o->seed = 42;
    o->epochs = 30;
    o->learning_rate = 0.3;
    o->l2 = 1e-4;
    o->strong_share = -1;
    if (!j)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(j, "train options", train_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    o->seed = (uint64_t)mlops__json_int(j, "seed", 42);
    int64_t epochs = mlops__json_int(j, "epochs", 30);
    o->learning_rate = mlops__json_num(j, "learning_rate", 0.3);
    o->l2 = mlops__json_num(j, "l2", 1e-4);
    o->strong_share = mlops__json_num(j, "strong_share", -1);
    if (epochs < 1 || epochs > 1000)
        return mlops__error(MLOPS_EINVAL, "train options.epochs: %lld is outside 1..1000",
                            (long long)epochs);
    o->epochs = (int)epochs;
    if (!(o->learning_rate > 0 && o->learning_rate <= 10))
        return mlops__error(MLOPS_EINVAL, "train options.learning_rate: must be in (0, 10]");
    if (!(o->l2 >= 0 && o->l2 <= 1))
        return mlops__error(MLOPS_EINVAL, "train options.l2: must be in [0, 1]");
    if (json_object_get(j, "strong_share") && !(o->strong_share >= 0 && o->strong_share <= 1))
        return mlops__error(MLOPS_EINVAL, "train options.strong_share: must be in [0, 1]");
    return MLOPS_OK;
}

static uint64_t xorshift(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

void mlops__route_shuffle(size_t *v, size_t n, uint64_t *rng)
{
    for (size_t i = n; i > 1; i--) { /* Fisher-Yates: v[i - 1] takes one of v[0..i) */
        size_t j = (size_t)(xorshift(rng) % i);
        size_t t = v[i - 1];
        v[i - 1] = v[j];
        v[j] = t;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Head h's target for an example, or -1 when the example says nothing about it. */
static int head_target(const mlops__route_example *e, int head)
{
    if (e->tier < 0)
        return head == 1 ? e->strong : -1;
    return e->tier >= head + 1;
}

/*
 * One SGD step on a logistic loss with lazy-free L2: the penalty is applied to the
 * weights the example touches (the usual sparse approximation), which keeps a step
 * O(features of the example) and is deterministic.
 */
static void sgd_step(mlops__route_model *m, int head, const mlops__route_feats *f, int y,
                     double lr, double l2)
{
    double p = sigmoid(head_logit(m, head, f));
    double g = p - y;
    float *w = m->w[head];
    for (int i = 0; i < MLOPS__F_NAMED; i++)
        if (f->named[i] != 0.0f)
            w[i] -= (float)(lr * (g * f->named[i] + l2 * w[i]));
    for (size_t k = 0; k < f->n; k++) {
        float *wk = &w[MLOPS__F_NAMED + f->idx[k]];
        *wk -= (float)(lr * (g * f->val[k] + l2 * *wk));
    }
    m->b[head] -= (float)(lr * g);
}

int mlops__route_train(const mlops__route_examples *ex, const size_t *idx, size_t n,
                       const mlops__route_train_opts *o, mlops__route_model **out)
{
    *out = NULL;
    if (!idx)
        n = ex->n;
    if (n < 2)
        return mlops__error(MLOPS_EINVAL, "router train: need at least 2 examples, got %zu", n);
    mlops__route_feats *feats = calloc(n, sizeof *feats);
    size_t *order = malloc(n * sizeof *order);
    mlops__route_model *m = calloc(1, sizeof *m);
    double *ps = malloc(n * sizeof *ps);
    int rc = MLOPS_OK;
    if (!feats || !order || !m || !ps) {
        rc = mlops__error_oom("router train");
        goto out;
    }
    size_t strong = 0;
    for (size_t i = 0; i < n && rc == MLOPS_OK; i++) {
        const mlops__route_example *e = &ex->v[idx ? idx[i] : i];
        rc = mlops__route_features(e->prompt, 1, false, false, &feats[i]);
        order[i] = i;
        strong += e->tier >= MLOPS__TIER_COMPLEX || (e->tier < 0 && e->strong);
    }
    if (rc != MLOPS_OK)
        goto out;
    if (strong == 0 || strong == n) {
        rc = mlops__error(MLOPS_EINVAL,
                          "router train: the examples must include both cheap and strong ones "
                          "(%zu of %zu strong)",
                          strong, n);
        goto out;
    }
    uint64_t rng = o->seed * 0x9E3779B97F4A7C15ull + 1;
    for (int epoch = 0; epoch < o->epochs; epoch++) {
        mlops__route_shuffle(order, n, &rng);
        double lr = o->learning_rate / (1.0 + 0.1 * epoch);
        for (size_t i = 0; i < n; i++) {
            const mlops__route_example *e = &ex->v[idx ? idx[order[i]] : order[i]];
            for (int h = 0; h < 3; h++) {
                int y = head_target(e, h);
                if (y >= 0)
                    sgd_step(m, h, &feats[order[i]], y, lr, o->l2);
            }
        }
    }
    m->threshold = 0.5;
    if (o->strong_share >= 0) {
        /* The threshold that sends that share of the training prompts to the strong tier. */
        for (size_t i = 0; i < n; i++)
            ps[i] = sigmoid(head_logit(m, 1, &feats[i]));
        qsort(ps, n, sizeof *ps, cmp_double);
        double share = o->strong_share;
        size_t k = (size_t)llround((1.0 - share) * (double)n);
        m->threshold = k >= n ? 1.0 : k == 0 ? 0.0 : (ps[k - 1] + ps[k]) / 2;
    }
    m->info = json_pack("{s:I, s:I, s:I, s:f, s:f, s:f}", "examples", (json_int_t)n, "seed",
                        (json_int_t)o->seed, "epochs", (json_int_t)o->epochs, "learning_rate",
                        o->learning_rate, "l2", o->l2, "strong_share", o->strong_share);
    *out = m;
    m = NULL;
out:
    if (feats)
        for (size_t i = 0; i < n; i++)
            mlops__route_feats_free(&feats[i]);
    free(feats);
    free(order);
    free(ps);
    mlops__route_model_free(m);
    return rc;
}

/* ------------------------------------------------------------------ file form -- */

static const char *const head_names[3] = {">=medium", ">=complex", ">=reasoning"};

int mlops__route_model_to_json(const mlops__route_model *m, json_t **out)
{
    json_t *names = json_array(), *heads = json_array();
    for (int i = 0; i < MLOPS__F_NAMED; i++)
        json_array_append_new(names, json_string(mlops__route_feature_name(i)));
    for (int h = 0; h < 3; h++) {
        json_t *named = json_array(), *hashed = json_array();
        for (int i = 0; i < MLOPS__F_NAMED; i++)
            json_array_append_new(named, json_real(m->w[h][i]));
        for (uint32_t k = 0; k < MLOPS__ROUTE_HASH_DIM; k++) {
            float w = m->w[h][MLOPS__F_NAMED + k];
            if (fabsf(w) >= 1e-6f)
                json_array_append_new(hashed, json_pack("[I, f]", (json_int_t)k, (double)w));
        }
        json_array_append_new(heads, json_pack("{s:s, s:f, s:o, s:o}", "target", head_names[h],
                                               "bias", (double)m->b[h], "named", named,
                                               "hashed", hashed));
    }
    *out = json_pack("{s:s, s:i, s:i, s:o, s:o, s:f, s:O}", "format", "mlops-router", "version",
                     1, "hash_bits", MLOPS__ROUTE_HASH_BITS, "features", names, "heads", heads,
                     "threshold", m->threshold, "trained", m->info ? m->info : json_null());
    return *out ? MLOPS_OK : mlops__error_oom("router model");
}

int mlops__route_model_from_json(const json_t *j, const char *what, mlops__route_model **out)
{
    *out = NULL;
    if (!json_is_object(j))
        return mlops__error(MLOPS_EFORMAT, "%s: expected an object", what);
    if (strcmp(mlops__json_str(j, "format", ""), "mlops-router") != 0 ||
        json_integer_value(json_object_get(j, "version")) != 1)
        return mlops__error(MLOPS_EFORMAT,
                            "%s: not an mlops-router version 1 model (format/version)", what);
    if (json_integer_value(json_object_get(j, "hash_bits")) != MLOPS__ROUTE_HASH_BITS)
        return mlops__error(MLOPS_EFORMAT, "%s.hash_bits: expected %d", what,
                            MLOPS__ROUTE_HASH_BITS);
    json_t *names = json_object_get(j, "features");
    if (json_array_size(names) != MLOPS__F_NAMED)
        return mlops__error(MLOPS_EFORMAT, "%s.features: expected %d names", what,
                            MLOPS__F_NAMED);
    for (int i = 0; i < MLOPS__F_NAMED; i++) {
        const char *n = json_string_value(json_array_get(names, (size_t)i));
        if (!n || strcmp(n, mlops__route_feature_name(i)) != 0)
            return mlops__error(MLOPS_EFORMAT,
                                "%s.features[%d]: '%s' where this build has '%s'", what, i,
                                n ? n : "?", mlops__route_feature_name(i));
    }
    json_t *heads = json_object_get(j, "heads");
    json_t *thr = json_object_get(j, "threshold");
    if (json_array_size(heads) != 3)
        return mlops__error(MLOPS_EFORMAT, "%s.heads: expected 3 heads", what);
    if (!json_is_number(thr) || json_number_value(thr) < 0 || json_number_value(thr) > 1)
        return mlops__error(MLOPS_EFORMAT, "%s.threshold: expected a number in [0, 1]", what);
    mlops__route_model *m = calloc(1, sizeof *m);
    if (!m)
        return mlops__error_oom("router model");
    m->threshold = json_number_value(thr);
    for (int h = 0; h < 3; h++) {
        json_t *hd = json_array_get(heads, (size_t)h);
        json_t *bias = json_object_get(hd, "bias"), *named = json_object_get(hd, "named"),
               *hashed = json_object_get(hd, "hashed");
        if (!json_is_number(bias) || json_array_size(named) != MLOPS__F_NAMED ||
            !json_is_array(hashed)) {
            mlops__route_model_free(m);
            return mlops__error(MLOPS_EFORMAT,
                                "%s.heads[%d]: expected bias, %d named weights and hashed "
                                "pairs",
                                what, h, MLOPS__F_NAMED);
        }
        m->b[h] = (float)json_number_value(bias);
        for (int i = 0; i < MLOPS__F_NAMED; i++) {
            json_t *w = json_array_get(named, (size_t)i);
            if (!json_is_number(w) || !isfinite(json_number_value(w))) {
                mlops__route_model_free(m);
                return mlops__error(MLOPS_EFORMAT, "%s.heads[%d].named[%d]: expected a number",
                                    what, h, i);
            }
            m->w[h][i] = (float)json_number_value(w);
        }
        size_t k;
        json_t *pair;
        json_array_foreach(hashed, k, pair) {
            json_t *ix = json_array_get(pair, 0), *w = json_array_get(pair, 1);
            if (json_array_size(pair) != 2 || !json_is_integer(ix) || !json_is_number(w) ||
                json_integer_value(ix) < 0 ||
                json_integer_value(ix) >= (json_int_t)MLOPS__ROUTE_HASH_DIM ||
                !isfinite(json_number_value(w))) {
                mlops__route_model_free(m);
                return mlops__error(MLOPS_EFORMAT,
                                    "%s.heads[%d].hashed[%zu]: expected [index < %u, weight]",
                                    what, h, k, MLOPS__ROUTE_HASH_DIM);
            }
            m->w[h][MLOPS__F_NAMED + json_integer_value(ix)] = (float)json_number_value(w);
        }
    }
    json_t *info = json_object_get(j, "trained");
    m->info = json_is_object(info) ? json_incref(info) : NULL;
    *out = m;
    return MLOPS_OK;
}

int mlops__route_model_load(const char *path, mlops__route_model **out)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    int rc = mlops__file_read(path, 64u << 20, &text, &len);
    if (rc != MLOPS_OK)
        return rc;
    json_t *j = NULL;
    rc = mlops__json_parse(text, path, &j);
    free(text);
    if (rc == MLOPS_OK)
        rc = mlops__route_model_from_json(j, path, out);
    json_decref(j);
    return rc;
}

/* ------------------------------------------------------------------ examples --- */

void mlops__route_examples_free(mlops__route_examples *ex)
{
    if (!ex)
        return;
    for (size_t i = 0; i < ex->n; i++)
        free(ex->v[i].prompt);
    free(ex->v);
    ex->v = NULL;
    ex->n = 0;
}

int mlops__route_examples_parse(const char *jsonl, size_t len, mlops__route_examples *out)
{
    out->v = NULL;
    out->n = 0;
    size_t cap = 0, line = 0;
    const char *p = jsonl, *end = jsonl + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t' || *q == '\r'))
            q++;
        if (q < e) {
            json_error_t err;
            json_t *o = json_loadb(p, (size_t)(e - p), JSON_REJECT_DUPLICATES, &err);
            const char *prompt = json_string_value(json_object_get(o, "prompt"));
            const char *tier = json_string_value(json_object_get(o, "tier"));
            const char *label = json_string_value(json_object_get(o, "label"));
            int t = mlops__route_tier_parse(tier ? tier : label);
            int rc = MLOPS_OK;
            if (!o)
                rc = mlops__error(MLOPS_EPARSE, "data line %zu: %s", line, err.text);
            else if (!json_is_object(o) || !prompt)
                rc = mlops__error(MLOPS_EPARSE, "data line %zu: expected an object with a "
                                                "string 'prompt'", line);
            else if ((tier && t < 0) || (label && t != -2 && t != -3) || (!tier && !label))
                rc = mlops__error(MLOPS_EPARSE,
                                  "data line %zu: expected 'tier' (simple, medium, complex, "
                                  "reasoning) or 'label' (cheap, strong)",
                                  line);
            if (rc == MLOPS_OK && out->n == cap) {
                cap = cap ? cap * 2 : 256;
                mlops__route_example *v = realloc(out->v, cap * sizeof *v);
                if (!v)
                    rc = mlops__error_oom("router data");
                else
                    out->v = v;
            }
            if (rc == MLOPS_OK) {
                mlops__route_example *x = &out->v[out->n];
                x->prompt = mlops__strdup(prompt);
                x->tier = t >= 0 ? t : -1;
                x->strong = t >= MLOPS__TIER_COMPLEX || t == -3;
                if (!x->prompt)
                    rc = mlops__error_oom("router data");
                else
                    out->n++;
            }
            json_decref(o);
            if (rc != MLOPS_OK) {
                mlops__route_examples_free(out);
                return rc;
            }
        }
        p = nl ? nl + 1 : end;
    }
    if (out->n == 0)
        return mlops__error(MLOPS_EPARSE, "data: no examples");
    return MLOPS_OK;
}
