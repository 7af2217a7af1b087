/*
 * Sampling, in the order the common engines chain it: repetition/frequency/presence
 * penalties over the last N tokens, then top-k, top-p and min-p on the plain softmax,
 * then temperature on the survivors and one draw from a seeded xoshiro256** stream.
 * Greedy (temperature <= 0) is the arg-max, lowest id on ties. Nothing depends on the
 * thread count, so a seed gives the same tokens everywhere.
 */
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct cand {
    int32_t id;
    float logit;
    float p;
} cand;

struct mlops__sampler {
    mlops__sampling p;
    int32_t n_vocab;
    uint64_t s[4];
    int32_t *hist;
    size_t n_hist, cap_hist, head;
    int32_t *counts;
    float *work;
    cand *c;
};

void mlops__sampling_defaults(mlops__sampling *s)
{
    s->temperature = 0.8f;
    s->top_k = 40;
    s->top_p = 0.95f;
    s->min_p = 0.05f;
    s->repeat_penalty = 1.0f;
    s->frequency_penalty = 0.0f;
    s->presence_penalty = 0.0f;
    s->repeat_last_n = 64;
    s->seed = 0;
}

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next(mlops__sampler *s)
{
    uint64_t r = rotl(s->s[1] * 5, 7) * 9, t = s->s[1] << 17;
    s->s[2] ^= s->s[0];
    s->s[3] ^= s->s[1];
    s->s[1] ^= s->s[2];
    s->s[0] ^= s->s[3];
    s->s[2] ^= t;
    s->s[3] = rotl(s->s[3], 45);
    return r;
}

void mlops__sampler_reset(mlops__sampler *s)
{
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++)
        s->s[i] = splitmix(&x);
    s->n_hist = s->head = 0;
}

int mlops__sampler_new(const mlops__sampling *p, int32_t n_vocab, mlops__sampler **out)
{
    *out = NULL;
    mlops__sampler *s = calloc(1, sizeof *s);
    if (!s)
        return mlops__error_oom("sampler");
    s->p = *p;
    s->n_vocab = n_vocab;
    s->cap_hist = p->repeat_last_n > 0 ? (size_t)p->repeat_last_n : 1;
    s->hist = malloc(s->cap_hist * sizeof *s->hist);
    s->counts = calloc((size_t)n_vocab, sizeof *s->counts);
    s->work = malloc((size_t)n_vocab * sizeof *s->work);
    s->c = malloc((size_t)n_vocab * sizeof *s->c);
    if (!s->hist || !s->counts || !s->work || !s->c) {
        mlops__sampler_free(s);
        return mlops__error_oom("sampler");
    }
    mlops__sampler_reset(s);
    *out = s;
    return MLOPS_OK;
}

void mlops__sampler_free(mlops__sampler *s)
{
    if (!s)
        return;
    free(s->hist);
    free(s->counts);
    free(s->work);
    free(s->c);
    free(s);
}

void mlops__sampler_accept(mlops__sampler *s, int32_t id)
{
    s->hist[s->head] = id;
    s->head = (s->head + 1) % s->cap_hist;
    if (s->n_hist < s->cap_hist)
        s->n_hist++;
}

static int cmp_cand(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->logit != y->logit)
        return x->logit > y->logit ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Keeps the k best candidates (sorted) out of n; returns k. */
static size_t top_k(cand *c, size_t n, size_t k)
{
    if (k >= n) {
        qsort(c, n, sizeof *c, cmp_cand);
        return n;
    }
    /* a min-heap of the k best seen so far */
    for (size_t i = 0; i < n; i++) {
        cand x = c[i];
        size_t m;
        if (i < k) {
            m = i;
            while (m > 0 && cmp_cand(&c[(m - 1) / 2], &x) < 0) {
                c[m] = c[(m - 1) / 2];
                m = (m - 1) / 2;
            }
            c[m] = x;
            continue;
        }
        if (cmp_cand(&x, &c[0]) >= 0)
            continue;
        m = 0;
        for (;;) {
            size_t ch = 2 * m + 1;
            if (ch >= k)
                break;
            if (ch + 1 < k && cmp_cand(&c[ch + 1], &c[ch]) > 0)
                ch++;
            if (cmp_cand(&c[ch], &x) <= 0)
                break;
            c[m] = c[ch];
            m = ch;
        }
        c[m] = x;
    }
    qsort(c, k, sizeof *c, cmp_cand);
    return k;
}

int32_t mlops__sampler_sample(mlops__sampler *s, const float *logits)
{
    const mlops__sampling *p = &s->p;
    float *l = s->work;
    memcpy(l, logits, (size_t)s->n_vocab * sizeof *l);
    bool pen = p->repeat_penalty != 1.0f || p->frequency_penalty != 0.0f || p->presence_penalty != 0.0f;
    if (pen && s->n_hist > 0) {
        for (size_t i = 0; i < s->n_hist; i++)
            if (s->hist[i] >= 0 && s->hist[i] < s->n_vocab)
                s->counts[s->hist[i]]++;
        for (size_t i = 0; i < s->n_hist; i++) {
            int32_t t = s->hist[i];
            if (t < 0 || t >= s->n_vocab || s->counts[t] == 0)
                continue;
            if (p->repeat_penalty != 1.0f && p->repeat_penalty > 0)
                l[t] = l[t] > 0 ? l[t] / p->repeat_penalty : l[t] * p->repeat_penalty;
            l[t] -= (float)s->counts[t] * p->frequency_penalty + p->presence_penalty;
            s->counts[t] = 0;
        }
    }
    if (p->temperature <= 0.0f) {
        int32_t best = 0;
        for (int32_t i = 1; i < s->n_vocab; i++)
            if (l[i] > l[best])
                best = i;
        return best;
    }
    cand *c = s->c;
    size_t n = 0;
    for (int32_t i = 0; i < s->n_vocab; i++)
        if (!isnan(l[i]))
            c[n++] = (cand){i, l[i], 0};
    if (n == 0)
        return 0;
    size_t k = p->top_k > 0 ? (size_t)p->top_k : n;
    n = top_k(c, n, k);
    /* softmax at temperature 1 for top-p / min-p */
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (c[i].p = expf(c[i].logit - c[0].logit));
    if (p->top_p < 1.0f) {
        double cum = 0;
        for (size_t i = 0; i < n; i++) {
            cum += c[i].p / sum;
            if (cum >= p->top_p) {
                n = i + 1;
                break;
            }
        }
    }
    if (p->min_p > 0.0f) {
        size_t keep = 1;
        while (keep < n && c[keep].p >= p->min_p * c[0].p)
            keep++;
        n = keep;
    }
    sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += (c[i].p = expf((c[i].logit - c[0].logit) / p->temperature));
    double r = (double)(next(s) >> 11) * (1.0 / 9007199254740992.0) * sum;
    for (size_t i = 0; i < n; i++) {
        r -= c[i].p;
        if (r < 0)
            return c[i].id;
    }
    return c[n - 1].id;
}
