/*
 * Hashed text embeddings (feature hashing) and exact cosine top-k over unit rows.
 * See core.h for the definition of the features.
 */
#include "core.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STACK_SLOTS 4096  /* feature table entries kept on the stack */
#define GROUPS 3

typedef struct slot {
    uint64_t key; /* feature hash | 1 (0 marks an empty slot) */
    uint32_t count;
    uint8_t group;
} slot;

typedef struct table {
    slot *slots;
    size_t mask;
} table;

static void table_add(table *t, uint64_t h, uint8_t group)
{
    uint64_t key = h | 1;
    size_t i = (size_t)(h >> 17) & t->mask;
    for (;;) {
        slot *s = &t->slots[i];
        if (s->key == key && s->group == group) {
            s->count++;
            return;
        }
        if (s->key == 0) {
            s->key = key;
            s->count = 1;
            s->group = group;
            return;
        }
        i = (i + 1) & t->mask;
    }
}

static bool is_word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c >= 0x80;
}

static char lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* Writes the normalised text: words lower-cased, separated by single spaces. */
static size_t normalise(const char *text, size_t len, bool digit_shapes, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        bool apostrophe_inside = c == '\'' && n > 0 && out[n - 1] != ' ' && i + 1 < len &&
                                 is_word_byte((unsigned char)text[i + 1]);
        if (digit_shapes && c >= '0' && c <= '9')
            out[n++] = '0';
        else if (is_word_byte(c) || apostrophe_inside)
            out[n++] = lower((char)c);
        else if (n > 0 && out[n - 1] != ' ')
            out[n++] = ' ';
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
    return n;
}

void mlops__hashvec_defaults(mlops__hashvec_opts *o, int dim)
{
    o->dim = dim;
    o->word_weight = 1.0f;
    o->bigram_weight = 0.5f;
    o->char_weight = 0.5f;
    o->char_min = 3;
    o->char_max = 5;
    o->seed = 0;
    o->digit_shapes = false;
    o->char_word_max = 0;
}

/* At most this many features for n bytes of normalised text: words are separated by
 * single spaces, so there are at most (n + 1) / 2 of them and as many bigrams, and one
 * character gram of each size per position of " text ". Tight, because the feature
 * table is sized from it (a 1 KiB prompt's table fits on the stack). */
static size_t feature_upper_bound(const mlops__hashvec_opts *o, size_t n)
{
    size_t words = (n + 1) / 2 + 1, grams = 0;
    if (o->char_weight > 0 && o->char_min > 0)
        for (int g = o->char_min; g <= o->char_max; g++)
            grams += n + 3 > (size_t)g ? n + 3 - (size_t)g : 0;
    return 2 * words + grams + 16;
}

/* Which padded positions (position q holds norm[q - 1]; 0 and n + 1 are spaces) lie
 * in a word of more than `max` bytes, measured once per word as a scan moves right. */
typedef struct long_words {
    size_t max;
    size_t checked; /* padded positions below this are known */
    size_t long_end; /* padded positions below this and >= long_start are in a long word */
    size_t long_start;
} long_words;

static bool in_long_word(long_words *lw, const char *norm, size_t n, size_t q)
{
    if (q < lw->checked)
        return q >= lw->long_start && q < lw->long_end;
    if (q == 0 || q > n || norm[q - 1] == ' ') {
        lw->checked = q + 1;
        return false;
    }
    size_t si = q - 1, ei = q; /* the word is norm[si, ei) */
    while (si > 0 && norm[si - 1] != ' ')
        si--;
    while (ei < n && norm[ei] != ' ')
        ei++;
    lw->checked = ei + 1;
    if (ei - si <= lw->max)
        return false;
    lw->long_start = si + 1;
    lw->long_end = ei + 1;
    return true;
}

static void collect_features(const mlops__hashvec_opts *o, const char *norm, size_t n,
                             table *t)
{
    /* Words and bigrams: group 0 and 1; bigrams hash "prev next" as one span. */
    size_t prev_start = 0, prev_len = 0;
    bool have_prev = false;
    size_t i = 0;
    while (i < n) {
        size_t start = i;
        while (i < n && norm[i] != ' ')
            i++;
        size_t wlen = i - start;
        if (o->word_weight > 0)
            table_add(t, mlops__hash64(norm + start, wlen, o->seed), 0);
        if (have_prev && o->bigram_weight > 0)
            table_add(t, mlops__hash64(norm + prev_start, start + wlen - prev_start,
                                       o->seed ^ 0x9E3779B97F4A7C15ull),
                      1);
        prev_start = start;
        prev_len = wlen;
        have_prev = true;
        i++; /* skip the space */
    }
    (void)prev_len;
    /* Character n-grams over " text " so word boundaries count (group 2). With
     * char_word_max, none inside a longer word: a hash or a base64 run would add dozens
     * of one-off grams whose buckets carry only collisions. */
    if (o->char_weight > 0 && o->char_min > 0) {
        for (int g = o->char_min; g <= o->char_max; g++) {
            if ((size_t)g > n + 2)
                break;
            uint64_t seed = o->seed + 0xC2B2AE3D27D4EB4Full * (uint64_t)g;
            long_words lw = {(size_t)o->char_word_max, 0, 0, 0};
            size_t skip_to = 0; /* grams starting before this touch a long word */
            for (size_t p = 0; p + (size_t)g <= n + 2; p++) {
                /* the gram's newest byte decides: in a long word, every gram up to the
                 * word's end touches it */
                if (lw.max > 0 && in_long_word(&lw, norm, n, p + (size_t)g - 1))
                    skip_to = lw.long_end;
                if (p < skip_to)
                    continue;
                char gram[64];
                for (int k = 0; k < g; k++) {
                    size_t at = p + (size_t)k;
                    gram[k] = (at == 0 || at == n + 1) ? ' ' : norm[at - 1];
                }
                table_add(t, mlops__hash64(gram, (size_t)g, seed), 2);
            }
        }
    }
}

/* 1 + ln(count): most features occur once, and ln(1) is 0 without a call */
static inline double tf_weight(uint32_t count)
{
    return count == 1 ? 1.0 : 1.0 + log((double)count);
}

static int check_opts(const mlops__hashvec_opts *o)
{
    if (!o || o->dim < 16 || o->dim > 65536)
        return mlops__error(MLOPS_EINVAL, "embedding dimension must be 16..65536");
    if (o->char_max > 32 || (o->char_weight > 0 && o->char_min > o->char_max))
        return mlops__error(MLOPS_EINVAL, "character n-gram sizes must satisfy min <= max <= 32");
    return MLOPS_OK;
}

/* Calls emit(bucket, value) once per distinct feature of the text, values scaled per
 * group (the group weight over the group's norm). */
typedef bool (*emit_fn)(void *ctx, uint64_t hash, size_t bucket, double v);

static int for_each_feature(const mlops__hashvec_opts *o, const char *text, size_t len,
                            emit_fn emit, void *ctx)
{
    char stack_norm[4096];
    char *norm = len < sizeof stack_norm ? stack_norm : malloc(len + 1);
    if (!norm)
        return mlops__error_oom("embedding text");
    size_t n = normalise(text, len, o->digit_shapes, norm);

    size_t need = feature_upper_bound(o, n) * 2;
    size_t cap = 64;
    while (cap < need)
        cap <<= 1;
    slot stack_slots[STACK_SLOTS];
    slot *slots = cap <= STACK_SLOTS ? stack_slots : calloc(cap, sizeof(slot));
    if (!slots) {
        if (norm != stack_norm)
            free(norm);
        return mlops__error_oom("embedding features");
    }
    if (slots == stack_slots)
        memset(slots, 0, cap * sizeof(slot));
    table t = {slots, cap - 1};
    collect_features(o, norm, n, &t);

    const float weights[GROUPS] = {o->word_weight, o->bigram_weight, o->char_weight};
    double norm2[GROUPS] = {0, 0, 0};
    for (size_t i = 0; i < cap; i++) {
        if (slots[i].key) {
            double v = tf_weight(slots[i].count);
            norm2[slots[i].group] += v * v;
        }
    }
    double scale[GROUPS];
    for (int g = 0; g < GROUPS; g++)
        scale[g] = norm2[g] > 0 ? weights[g] / sqrt(norm2[g]) : 0.0;
    int rc = MLOPS_OK;
    for (size_t i = 0; i < cap && rc == MLOPS_OK; i++) {
        if (!slots[i].key)
            continue;
        uint64_t h = slots[i].key;
        size_t bucket = (size_t)((h >> 1) % (uint64_t)o->dim);
        double v = tf_weight(slots[i].count) * scale[slots[i].group];
        if (v == 0)
            continue;
        if (!emit(ctx, h, bucket, ((h >> 63) & 1) ? -v : v))
            rc = mlops__error_oom("embedding features");
    }
    if (slots != stack_slots)
        free(slots);
    if (norm != stack_norm)
        free(norm);
    return rc;
}

static bool emit_dense(void *ctx, uint64_t hash, size_t bucket, double v)
{
    (void)hash;
    ((float *)ctx)[bucket] += (float)v;
    return true;
}

int mlops__hashvec_embed(const mlops__hashvec_opts *o, const char *text, size_t len,
                         float *out, bool *out_empty)
{
    int rc = check_opts(o);
    if (rc != MLOPS_OK)
        return rc;
    memset(out, 0, sizeof(float) * (size_t)o->dim);
    if (out_empty)
        *out_empty = true;
    if (!text || len == 0)
        return MLOPS_OK;
    rc = for_each_feature(o, text, len, emit_dense, out);
    if (rc != MLOPS_OK)
        return rc;
    float total = mlops__vec_normalize(out, o->dim);
    if (out_empty)
        *out_empty = total == 0.0f;
    return MLOPS_OK;
}

/* bits 40..47 play no part in the sign or, for power-of-two dims up to 2^16, the bucket */
static bool emit_sparse(void *ctx, uint64_t hash, size_t bucket, double v)
{
    uint8_t tag = (uint8_t)(1 + ((hash >> 40) & 0xff) % 255);
    return mlops__sparse_push(ctx, (int32_t)bucket, tag, (float)v);
}

int mlops__hashvec_sparse(const mlops__hashvec_opts *o, const char *text, size_t len,
                          mlops__sparse *out)
{
    int rc = check_opts(o);
    if (rc != MLOPS_OK)
        return rc;
    out->n = 0;
    if (!text || len == 0)
        return MLOPS_OK;
    /* one reservation instead of doubling: at most a word, a bigram and the character
     * n-grams per byte */
    if (!mlops__sparse_reserve(out, feature_upper_bound(o, len)))
        return mlops__error_oom("embedding features");
    rc = for_each_feature(o, text, len, emit_sparse, out);
    if (rc == MLOPS_OK)
        mlops__sparse_normalize(out);
    return rc;
}

bool mlops__sparse_reserve(mlops__sparse *v, size_t cap)
{
    if (cap <= v->cap)
        return true;
    int32_t *ni = realloc(v->idx, cap * sizeof *ni);
    if (!ni)
        return false;
    v->idx = ni;
    float *nv = realloc(v->val, cap * sizeof *nv);
    if (!nv)
        return false;
    v->val = nv;
    uint8_t *nt = realloc(v->tag, cap * sizeof *nt);
    if (!nt)
        return false;
    v->tag = nt;
    v->cap = cap;
    return true;
}

bool mlops__sparse_push(mlops__sparse *v, int32_t idx, uint8_t tag, float val)
{
    if (v->n == v->cap && !mlops__sparse_reserve(v, v->cap ? v->cap * 2 : 256))
        return false;
    v->tag[v->n] = tag;
    v->idx[v->n] = idx;
    v->val[v->n++] = val;
    return true;
}

float mlops__sparse_normalize(mlops__sparse *v)
{
    double s = 0;
    for (size_t i = 0; i < v->n; i++)
        s += (double)v->val[i] * v->val[i];
    if (s <= 0)
        return 0;
    double norm = sqrt(s);
    float inv = (float)(1.0 / norm);
    for (size_t i = 0; i < v->n; i++)
        v->val[i] *= inv;
    return (float)norm;
}

void mlops__sparse_free(mlops__sparse *v)
{
    free(v->idx);
    free(v->val);
    free(v->tag);
    memset(v, 0, sizeof *v);
}

float mlops__vec_normalize(float *v, int dim)
{
    double s = 0;
    for (int i = 0; i < dim; i++)
        s += (double)v[i] * v[i];
    if (s <= 0)
        return 0.0f;
    double norm = sqrt(s);
    float inv = (float)(1.0 / norm);
    for (int i = 0; i < dim; i++)
        v[i] *= inv;
    return (float)norm;
}

bool mlops__vec_finite(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return false;
    return true;
}

static pthread_once_t blas_once = PTHREAD_ONCE_INIT;

static void blas_pin(void)
{
    openblas_set_num_threads(1);
}

void mlops__blas_init(void)
{
    pthread_once(&blas_once, blas_pin);
}

/* Keeps the k best (score, index) pairs in a small sorted array: k is small. */
static int topk_insert(int64_t *idx, float *score, int have, int k, int64_t i, float s)
{
    if (have == k && s <= score[k - 1])
        return have;
    int pos = have < k ? have : k - 1;
    while (pos > 0 && score[pos - 1] < s) {
        if (pos < k) {
            score[pos] = score[pos - 1];
            idx[pos] = idx[pos - 1];
        }
        pos--;
    }
    score[pos] = s;
    idx[pos] = i;
    return have < k ? have + 1 : k;
}

int mlops__vec_topk(const float *matrix, size_t rows, int dim, const float *q, int k,
                    float min_score, int64_t *idx, float *score)
{
    if (rows == 0 || k <= 0)
        return 0;
    mlops__blas_init();
    float stack_scores[1024];
    float *scores = rows <= 1024 ? stack_scores : malloc(rows * sizeof(float));
    if (!scores)
        return mlops__error_oom("similarity scores");
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)rows, dim, 1.0f, matrix, dim, q, 1, 0.0f,
                scores, 1);
    int have = 0;
    for (size_t i = 0; i < rows; i++)
        if (scores[i] >= min_score)
            have = topk_insert(idx, score, have, k, (int64_t)i, scores[i]);
    if (scores != stack_scores)
        free(scores);
    return have;
}
