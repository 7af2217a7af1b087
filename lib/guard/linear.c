/*
 * The trainable linear classifier: logistic regression over hashed text features
 * (the core's mlops__hashvec_embed: word unigrams, bigrams and character 3..5-grams),
 * trained by AdaGrad SGD with L2 regularisation. Deterministic: the same data gives the
 * same model. Each bucket belongs to the feature seen most in training (its tag): others
 * that hash there are ignored. The model file is small text (versions 1 and 2, without
 * tags and, for 1, the features line, still load):
 *   mlops-guard-linear 3\nkind <kind>\ndim <dim>\nfeatures <0|1>\nbias <b>\n<w0> <w1> ... \n
 *   <tag0> <tag1> ... \n
 */
#include "guard.h"

/* No trained weight comes near this; larger ones (or ones a float cannot hold) mean a
 * damaged file, and would turn scores into NaN. */
#define MAX_WEIGHT 1e6

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void guard_opts(mlops__hashvec_opts *o, int dim)
{
    mlops__hashvec_defaults(o, dim);
    o->seed = 0x6775617264ull; /* "guard" */
    /* character 4-grams only: a third of the cost of 3..5-grams for the same accuracy
     * on our corpora (obfuscation is undone by the normaliser before this point) */
    o->char_min = 4;
    o->char_max = 4;
    /* numbers, IDs and encoded runs would otherwise add one-off features whose buckets
     * carry only other features' weights (noise that flagged "call (415) 555-0132") */
    o->digit_shapes = true;
    o->char_word_max = 20;
}

int mlops__glinear_sparse(int dim, const char *text, size_t len, mlops__sparse *out)
{
    mlops__hashvec_opts o;
    guard_opts(&o, dim);
    return mlops__hashvec_sparse(&o, text, len, out);
}

/* Words in the text (runs of letters, digits and UTF-8), at most `cap`. */
static int count_words(const char *t, size_t n, int cap)
{
    int words = 0;
    bool in = false;
    for (size_t i = 0; i < n && words < cap; i++) {
        unsigned char c = (unsigned char)t[i];
        bool w = (unsigned)((c | 32) - 'a') < 26u || (unsigned)(c - '0') < 10u || c >= 0x80;
        words += w && !in;
        in = w;
    }
    return words;
}

/* Injection features of a text shorter than this many words are scaled by
 * sqrt(words / SHORT_WORDS): unit-length features gave "Say something" the full weight
 * of two words, and short texts scored far from the prior on little evidence (tuned on
 * the dev set and on short and PII-laden benign probes, never on the sealed test). */
#define SHORT_WORDS 6

int mlops__glinear_featurize(const mlops__glinear *m, const char *text, size_t len,
                             mlops__sparse *out)
{
    if (m->features != 1)
        return mlops__glinear_sparse(m->dim, text, len, out);
    int rc = mlops__ginj_sparse(m->dim, text, len, out);
    int words = rc == MLOPS_OK ? count_words(text, len, SHORT_WORDS) : SHORT_WORDS;
    if (words < SHORT_WORDS) {
        float f = (float)sqrt((double)words / SHORT_WORDS);
        for (size_t i = 0; i < out->n; i++)
            out->val[i] *= f;
    }
    return rc;
}

double mlops__glinear_predict_sparse(const mlops__glinear *m, const mlops__sparse *x)
{
    double z = m->bias;
    if (m->tag) {
        for (size_t i = 0; i < x->n; i++)
            if (m->tag[x->idx[i]] == x->tag[i])
                z += (double)m->w[x->idx[i]] * x->val[i];
    } else {
        for (size_t i = 0; i < x->n; i++)
            z += (double)m->w[x->idx[i]] * x->val[i];
    }
    return 1.0 / (1.0 + exp(-z));
}

double mlops__glinear_predict(const mlops__glinear *m, const char *text, size_t len)
{
    mlops__sparse x = {0};
    double p = mlops__glinear_featurize(m, text, len, &x) == MLOPS_OK
                   ? mlops__glinear_predict_sparse(m, &x) : 0;
    mlops__sparse_free(&x);
    return p;
}

/* Sparse rows: a text has a few hundred non-zero features of `dim`. */
typedef struct rows {
    size_t *start; /* n + 1 */
    int32_t *idx;
    float *val;
    uint8_t *tag;
} rows;

static void rows_free(rows *r)
{
    free(r->start), free(r->idx), free(r->val), free(r->tag);
}

static int rows_build(const mlops__gexample *ex, size_t n, int dim, int features, rows *r)
{
    memset(r, 0, sizeof *r);
    size_t cap = n * 64 + 64, nnz = 0;
    r->start = malloc((n + 1) * sizeof *r->start);
    r->idx = malloc(cap * sizeof *r->idx);
    r->val = malloc(cap * sizeof *r->val);
    r->tag = malloc(cap * sizeof *r->tag);
    mlops__sparse x = {0};
    int rc = r->start && r->idx && r->val && r->tag ? MLOPS_OK : mlops__error_oom("train: features");
    mlops__glinear fm = {.dim = dim, .features = features};
    for (size_t i = 0; rc == MLOPS_OK && i < n; i++) {
        rc = mlops__glinear_featurize(&fm, ex[i].text, strlen(ex[i].text), &x);
        r->start[i] = nnz;
        while (rc == MLOPS_OK && nnz + x.n > cap) {
            cap *= 2;
            int32_t *ni = realloc(r->idx, cap * sizeof *ni);
            if (ni)
                r->idx = ni;
            float *nv = ni ? realloc(r->val, cap * sizeof *nv) : NULL;
            if (nv)
                r->val = nv;
            uint8_t *nt = nv ? realloc(r->tag, cap * sizeof *nt) : NULL;
            if (nt)
                r->tag = nt;
            else
                rc = mlops__error_oom("train: features");
        }
        if (rc != MLOPS_OK)
            break;
        memcpy(r->idx + nnz, x.idx, x.n * sizeof *x.idx);
        memcpy(r->val + nnz, x.val, x.n * sizeof *x.val);
        memcpy(r->tag + nnz, x.tag, x.n * sizeof *x.tag);
        nnz += x.n;
    }
    mlops__sparse_free(&x);
    if (rc != MLOPS_OK) {
        rows_free(r);
        return rc;
    }
    r->start[n] = nnz;
    return MLOPS_OK;
}

/* The owner of each bucket: the tag seen in the most examples (ties: the smaller tag).
 * Entries of other tags are dropped from the rows (they would be ignored at prediction
 * too), so the bucket's weight is learnt for its owner alone. */
static int own_buckets(rows *r, size_t n, int dim, uint8_t **out_tag)
{
    uint16_t *count = calloc((size_t)dim * 256, sizeof *count);
    uint8_t *owner = calloc((size_t)dim, 1);
    if (!count || !owner) {
        free(count), free(owner);
        return mlops__error_oom("train: bucket owners");
    }
    size_t nnz = r->start[n];
    for (size_t k = 0; k < nnz; k++) {
        uint16_t *c = &count[(size_t)r->idx[k] * 256 + r->tag[k]];
        if (*c < UINT16_MAX)
            (*c)++;
    }
    for (int b = 0; b < dim; b++) {
        const uint16_t *c = count + (size_t)b * 256;
        int best = 0;
        for (int t = 1; t < 256; t++)
            if (c[t] > c[best])
                best = t;
        owner[b] = (uint8_t)best;
    }
    free(count);
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t from = r->start[i], to = r->start[i + 1];
        r->start[i] = w;
        for (size_t k = from; k < to; k++)
            if (owner[r->idx[k]] == r->tag[k]) {
                r->idx[w] = r->idx[k];
                r->val[w] = r->val[k];
                r->tag[w++] = r->tag[k];
            }
    }
    r->start[n] = w;
    *out_tag = owner;
    return MLOPS_OK;
}

/* Stochastic gradient descent with AdaGrad step sizes (rare words learn as fast as
 * common ones, which matters with hashed n-grams), class weights that balance the two
 * labels and L2 on the features an example touches. The visiting order is a fixed
 * pseudo-random permutation per epoch: the same data gives the same model. */
int mlops__glinear_train_kind(const mlops__gexample *ex, size_t n, int dim, int epochs,
                              int features, mlops__glinear *out)
{
    memset(out, 0, sizeof *out);
    if (n == 0)
        return mlops__error(MLOPS_EINVAL, "train: no examples");
    rows r;
    uint8_t *owner = NULL;
    int rc = rows_build(ex, n, dim, features, &r);
    if (rc == MLOPS_OK && (rc = own_buckets(&r, n, dim, &owner)) != MLOPS_OK)
        rows_free(&r);
    if (rc != MLOPS_OK)
        return rc;
    double *w = calloc((size_t)dim, sizeof *w), *g2 = calloc((size_t)dim, sizeof *g2);
    size_t *order = malloc(n * sizeof *order);
    float *wf = malloc((size_t)dim * sizeof *wf);
    if (!w || !g2 || !order || !wf) {
        free(w), free(g2), free(order), free(wf), free(owner);
        rows_free(&r);
        return mlops__error_oom("train: weights");
    }
    size_t pos = 0;
    for (size_t i = 0; i < n; i++) {
        order[i] = i;
        pos += ex[i].label != 0;
    }
    double wp = pos ? (double)n / (2.0 * (double)pos) : 1.0;
    double wn = n > pos ? (double)n / (2.0 * (double)(n - pos)) : 1.0;
    const double lr = 1.0, l2 = 1e-4, eps = 1e-8;
    double b = 0, b2 = 0;
    uint64_t seed = 0x6775617264ull;
    for (int ep = 0; ep < epochs; ep++) {
        for (size_t i = n - 1; i > 0; i--) {
            seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
            size_t j = (size_t)(seed % (uint64_t)(i + 1)), t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        for (size_t q = 0; q < n; q++) {
            size_t i = order[q];
            double z = b;
            for (size_t k = r.start[i]; k < r.start[i + 1]; k++)
                z += w[r.idx[k]] * r.val[k];
            double p = 1.0 / (1.0 + exp(-z));
            double d = (p - (ex[i].label ? 1.0 : 0.0)) * (ex[i].label ? wp : wn);
            for (size_t k = r.start[i]; k < r.start[i + 1]; k++) {
                int32_t f = r.idx[k];
                double g = d * r.val[k] + l2 * w[f];
                g2[f] += g * g;
                w[f] -= lr * g / sqrt(g2[f] + eps);
            }
            b2 += d * d;
            b -= lr * d / sqrt(b2 + eps);
        }
    }
    for (int k = 0; k < dim; k++)
        wf[k] = (float)w[k];
    free(w), free(g2), free(order);
    rows_free(&r);
    out->dim = dim;
    out->bias = (float)b;
    out->w = wf;
    out->tag = owner;
    out->features = features;
    return MLOPS_OK;
}

int mlops__glinear_save(const mlops__glinear *m, const char *path)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_printf(&b, "mlops-guard-linear %d\nkind %s\ndim %d\nfeatures %d\nbias %.9g\n",
                      m->tag ? 3 : 2, m->kind[0] ? m->kind : "custom", m->dim, m->features,
                      (double)m->bias);
    for (int i = 0; i < m->dim; i++)
        mlops__buf_printf(&b, "%.7g%c", (double)m->w[i], i + 1 == m->dim ? '\n' : ' ');
    for (int i = 0; m->tag && i < m->dim; i++)
        mlops__buf_printf(&b, "%u%c", (unsigned)m->tag[i], i + 1 == m->dim ? '\n' : ' ');
    if (b.failed) {
        mlops__buf_free(&b);
        return mlops__error_oom("model file");
    }
    int rc = mlops__file_write_atomic(path, b.data, b.len);
    mlops__buf_free(&b);
    return rc;
}

int mlops__glinear_parse(const char *text, const char *name, mlops__glinear *out)
{
    memset(out, 0, sizeof *out);
    int dim = 0, used = 0, features = 0, version = 0;
    double bias = 0;
    char kind[16] = "";
    /* version 1 (plain n-gram features) and 2 (no bucket tags) files still load */
    if (sscanf(text, "mlops-guard-linear 1\nkind %15s\ndim %d\nbias %lf\n%n", kind, &dim,
               &bias, &used) == 3)
        version = 1;
    else if (sscanf(text, "mlops-guard-linear %d\nkind %15s\ndim %d\nfeatures %d\nbias %lf\n%n",
                    &version, kind, &dim, &features, &bias, &used) != 5 ||
             (version != 2 && version != 3))
        version = 0;
    if (!version || used <= 0 || dim < 16 || dim > 65536 || features < 0 || features > 1 ||
        !(fabs(bias) <= MAX_WEIGHT))
        return mlops__error(MLOPS_EFORMAT, "%s: not a guard model file (mlops-guard-linear 1, 2 "
                            "or 3 with dim 16..65536 and features 0 or 1)", name);
    float *w = malloc((size_t)dim * sizeof *w);
    uint8_t *tag = version == 3 ? malloc((size_t)dim) : NULL;
    if (!w || (version == 3 && !tag)) {
        free(w), free(tag);
        return mlops__error_oom("model");
    }
    const char *p = text + used;
    for (int i = 0; i < dim; i++) {
        char *end;
        double v = strtod(p, &end);
        if (end == p || !(fabs(v) <= MAX_WEIGHT)) {
            free(w), free(tag);
            return mlops__error(MLOPS_EFORMAT, "%s: weight %d missing, not a number or beyond "
                                "+-%g", name, i, MAX_WEIGHT);
        }
        w[i] = (float)v;
        p = end;
    }
    for (int i = 0; tag && i < dim; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > 255) {
            free(w), free(tag);
            return mlops__error(MLOPS_EFORMAT, "%s: bucket tag %d missing or not 0..255", name, i);
        }
        tag[i] = (uint8_t)v;
        p = end;
    }
    out->dim = dim;
    out->bias = (float)bias;
    out->w = w;
    out->tag = tag;
    out->features = features;
    snprintf(out->kind, sizeof out->kind, "%s", kind);
    return MLOPS_OK;
}

int mlops__glinear_load(const char *path, mlops__glinear *out)
{
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    int rc = mlops__file_read(path, 64u << 20, &text, &len);
    if (rc != MLOPS_OK)
        return rc;
    rc = mlops__glinear_parse(text, path, out);
    free(text);
    return rc;
}

void mlops__glinear_free(mlops__glinear *m)
{
    if (m) {
        free(m->w);
        free(m->tag);
        m->w = NULL;
        m->tag = NULL;
    }
}
