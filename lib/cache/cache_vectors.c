/*
 * The per-partition vector store: unit rows in a contiguous row-major float32 matrix,
 * scored with cblas_sgemv (one query) or cblas_sgemm (a batch), in blocks so that the
 * scores stay in cache and no large scratch buffer is allocated per query.
 *
 * int8 mode keeps, next to the float32 rows, int8 rows quantised with one scale per
 * row (x ~= q * scale, |q| <= 127). A single query is quantised the same way and
 * scanned with an int8 dot product (a quarter of the bytes; AVX2 vpmaddubsw when the CPU
 * has it); a batch runs every query's int8 dot products over blocks of rows that stay in
 * cache (four times the float FMA rate: batches are compute-bound). The best max(k, rescore) candidates (over min_score minus a
 * slack that bounds the quantisation error) are rescored exactly against the float32
 * rows. Memory trade-off: keeping float32 rows costs 4 bytes/dim more per row (5 in
 * all) but makes rescoring exact and free of re-embedding; recomputing them from the
 * stored prompt would need the embedder on the lookup path (a provider round trip).
 *
 * Locking: writers (add, remove, compact) are serialised by `wmu`; readers take `rw`
 * for reading. Rows beyond `count` are written without the write lock (no reader looks
 * there); the write lock is held only to publish: bump `count`, set a tombstone, or swap
 * in arrays that were grown or compacted outside it.
 */
#include "cache.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define BLOCK 2048      /* rows scored per sgemv call */
#define INT8_SLACK 0.03f

typedef struct arrays {
    float *f32;
    int8_t *i8;
    float *scale;
    int64_t *ids;
    uint8_t *dead;
    size_t cap;
} arrays;

struct mlops__vecstore {
    int dim;
    bool int8;
    mlops__mutex wmu;
    mlops__rwlock rw;
    arrays a;
    size_t count;
    size_t dead_count;
    /* id -> row, open addressing; only writers (under wmu) touch it. */
    int64_t *map_ids; /* 0 = empty, -1 = deleted */
    uint32_t *map_rows;
    size_t map_cap;
    size_t map_used;
};

static void arrays_free(arrays *a)
{
    free(a->f32);
    free(a->i8);
    free(a->scale);
    free(a->ids);
    free(a->dead);
    memset(a, 0, sizeof *a);
}

/*
 * Large matrices go on 2 MiB-aligned memory marked for transparent huge pages (where
 * THP is "madvise", the Debian default): a scan of a 1.5 GB matrix then walks 768 huge
 * pages instead of 393,216 small ones, which keeps TLB misses off the streaming path.
 */
static void *matrix_alloc(size_t bytes)
{
    const size_t huge = (size_t)2 << 20;
    if (bytes < 2 * huge)
        return malloc(bytes);
    size_t rounded = (bytes + huge - 1) / huge * huge;
    void *p = aligned_alloc(huge, rounded);
#ifdef MADV_HUGEPAGE
    if (p)
        (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
    return p;
}

static int arrays_alloc(arrays *a, size_t cap, int dim, bool int8)
{
    memset(a, 0, sizeof *a);
    a->cap = cap;
    a->f32 = matrix_alloc(cap * (size_t)dim * sizeof(float));
    a->ids = malloc(cap * sizeof(int64_t));
    a->dead = malloc(cap);
    if (int8) {
        a->i8 = matrix_alloc(cap * (size_t)dim);
        a->scale = malloc(cap * sizeof(float));
    }
    if (!a->f32 || !a->ids || !a->dead || (int8 && (!a->i8 || !a->scale))) {
        arrays_free(a);
        return mlops__error_oom("vector store");
    }
    return MLOPS_OK;
}

static size_t map_slot(const mlops__vecstore *vs, int64_t id)
{
    return (size_t)(mlops__hash64(&id, sizeof id, 7) & (vs->map_cap - 1));
}

static int map_rebuild(mlops__vecstore *vs, size_t want)
{
    size_t cap = 64;
    while (cap < want * 2)
        cap <<= 1;
    int64_t *ids = calloc(cap, sizeof *ids);
    uint32_t *rows = malloc(cap * sizeof *rows);
    if (!ids || !rows) {
        free(ids);
        free(rows);
        return mlops__error_oom("vector store index");
    }
    free(vs->map_ids);
    free(vs->map_rows);
    vs->map_ids = ids;
    vs->map_rows = rows;
    vs->map_cap = cap;
    vs->map_used = 0;
    for (size_t r = 0; r < vs->count; r++) {
        if (vs->a.dead[r])
            continue;
        size_t i = map_slot(vs, vs->a.ids[r]);
        while (ids[i] != 0)
            i = (i + 1) & (cap - 1);
        ids[i] = vs->a.ids[r];
        rows[i] = (uint32_t)r;
        vs->map_used++;
    }
    return MLOPS_OK;
}

static long map_find(const mlops__vecstore *vs, int64_t id)
{
    size_t i = map_slot(vs, id);
    for (size_t probes = 0; probes < vs->map_cap; probes++) {
        if (vs->map_ids[i] == 0)
            return -1;
        if (vs->map_ids[i] == id)
            return (long)i;
        i = (i + 1) & (vs->map_cap - 1);
    }
    return -1;
}

int mlops__vecstore_create(int dim, bool int8, mlops__vecstore **out)
{
    *out = NULL;
    if (dim < 1 || dim > 65536)
        return mlops__error(MLOPS_EINVAL, "vector store: dimension %d is outside 1..65536", dim);
    mlops__vecstore *vs = calloc(1, sizeof *vs);
    if (!vs)
        return mlops__error_oom("vector store");
    vs->dim = dim;
    vs->int8 = int8;
    int rc = arrays_alloc(&vs->a, 16, dim, int8);
    if (rc == MLOPS_OK)
        rc = map_rebuild(vs, 16);
    if (rc != MLOPS_OK) {
        arrays_free(&vs->a);
        free(vs);
        return rc;
    }
    mlops__mutex_init(&vs->wmu);
    mlops__rwlock_init(&vs->rw);
    mlops__blas_init();
    *out = vs;
    return MLOPS_OK;
}

void mlops__vecstore_free(mlops__vecstore *vs)
{
    if (!vs)
        return;
    arrays_free(&vs->a);
    free(vs->map_ids);
    free(vs->map_rows);
    mlops__mutex_destroy(&vs->wmu);
    mlops__rwlock_destroy(&vs->rw);
    free(vs);
}

int mlops__vecstore_dim(const mlops__vecstore *vs)
{
    return vs->dim;
}

/* Copies rows [0, count) that are alive (or all, when keep_dead) into a new array set. */
static int rebuild_arrays(mlops__vecstore *vs, size_t cap, bool keep_dead, arrays *out,
                          size_t *out_count)
{
    int rc = arrays_alloc(out, cap, vs->dim, vs->int8);
    if (rc != MLOPS_OK)
        return rc;
    size_t d = (size_t)vs->dim, n = 0;
    if (keep_dead) {
        memcpy(out->f32, vs->a.f32, vs->count * d * sizeof(float));
        memcpy(out->ids, vs->a.ids, vs->count * sizeof(int64_t));
        memcpy(out->dead, vs->a.dead, vs->count);
        if (vs->int8) {
            memcpy(out->i8, vs->a.i8, vs->count * d);
            memcpy(out->scale, vs->a.scale, vs->count * sizeof(float));
        }
        n = vs->count;
    } else {
        for (size_t r = 0; r < vs->count; r++) {
            if (vs->a.dead[r])
                continue;
            memcpy(out->f32 + n * d, vs->a.f32 + r * d, d * sizeof(float));
            out->ids[n] = vs->a.ids[r];
            out->dead[n] = 0;
            if (vs->int8) {
                memcpy(out->i8 + n * d, vs->a.i8 + r * d, d);
                out->scale[n] = vs->a.scale[r];
            }
            n++;
        }
    }
    *out_count = n;
    return MLOPS_OK;
}

int mlops__vecstore_add(mlops__vecstore *vs, int64_t id, const float *v)
{
    if (!mlops__vec_finite(v, (size_t)vs->dim))
        return mlops__error(MLOPS_EINVAL, "vector store: the vector has NaN or Inf values");
    if (id <= 0)
        return mlops__error(MLOPS_EINVAL, "vector store: id must be positive");
    mlops__mutex_lock(&vs->wmu);
    int rc = MLOPS_OK;
    if (map_find(vs, id) >= 0) {
        rc = mlops__error(MLOPS_EEXIST, "vector store: id %lld is already stored", (long long)id);
        goto out;
    }
    if (vs->count == vs->a.cap) {
        if (vs->a.cap >= UINT32_MAX / 2) {
            rc = mlops__error(MLOPS_ELIMIT, "vector store: too many rows");
            goto out;
        }
        /* Grow by doubling outside the write lock: readers keep scanning the old arrays
           (only writers, serialised by wmu, change them), then swap. */
        arrays grown, old;
        size_t n;
        if ((rc = rebuild_arrays(vs, vs->a.cap * 2, true, &grown, &n)) != MLOPS_OK)
            goto out;
        mlops__rwlock_wrlock(&vs->rw);
        old = vs->a;
        vs->a = grown;
        mlops__rwlock_unlock(&vs->rw);
        arrays_free(&old);
    }
    size_t d = (size_t)vs->dim, r = vs->count;
    memcpy(vs->a.f32 + r * d, v, d * sizeof(float));
    if (vs->int8)
        vs->a.scale[r] = mlops__cache_quantize(v, vs->dim, vs->a.i8 + r * d);
    vs->a.ids[r] = id;
    vs->a.dead[r] = 0;
    if ((vs->map_used + 1) * 2 > vs->map_cap) {
        if ((rc = map_rebuild(vs, vs->count + 1)) != MLOPS_OK)
            goto out;
    }
    size_t i = map_slot(vs, id);
    while (vs->map_ids[i] > 0)
        i = (i + 1) & (vs->map_cap - 1);
    if (vs->map_ids[i] == 0)
        vs->map_used++;
    vs->map_ids[i] = id;
    vs->map_rows[i] = (uint32_t)r;
    mlops__rwlock_wrlock(&vs->rw);
    vs->count = r + 1;
    mlops__rwlock_unlock(&vs->rw);
out:
    mlops__mutex_unlock(&vs->wmu);
    return rc;
}

static int compact_locked(mlops__vecstore *vs)
{
    size_t live = vs->count - vs->dead_count, n;
    size_t cap = 16;
    while (cap < live + live / 2)
        cap <<= 1;
    arrays fresh, old;
    int rc = rebuild_arrays(vs, cap, false, &fresh, &n);
    if (rc != MLOPS_OK)
        return rc;
    mlops__rwlock_wrlock(&vs->rw);
    old = vs->a;
    vs->a = fresh;
    vs->count = n;
    vs->dead_count = 0;
    mlops__rwlock_unlock(&vs->rw);
    arrays_free(&old);
    return map_rebuild(vs, n);
}

int mlops__vecstore_remove(mlops__vecstore *vs, int64_t id)
{
    mlops__mutex_lock(&vs->wmu);
    long slot = map_find(vs, id);
    int rc = MLOPS_OK;
    if (slot < 0) {
        rc = mlops__error(MLOPS_ENOTFOUND, "vector store: no row for id %lld", (long long)id);
    } else {
        uint32_t row = vs->map_rows[slot];
        vs->map_ids[slot] = -1;
        mlops__rwlock_wrlock(&vs->rw);
        vs->a.dead[row] = 1;
        vs->dead_count++;
        mlops__rwlock_unlock(&vs->rw);
        if (vs->dead_count >= 16 && vs->dead_count * 4 >= vs->count)
            rc = compact_locked(vs);
    }
    mlops__mutex_unlock(&vs->wmu);
    return rc;
}

int mlops__vecstore_compact(mlops__vecstore *vs)
{
    mlops__mutex_lock(&vs->wmu);
    int rc = compact_locked(vs);
    mlops__mutex_unlock(&vs->wmu);
    return rc;
}

void mlops__vecstore_counts(mlops__vecstore *vs, size_t *rows, size_t *tombstones,
                            size_t *bytes)
{
    mlops__rwlock_rdlock(&vs->rw);
    if (rows)
        *rows = vs->count - vs->dead_count;
    if (tombstones)
        *tombstones = vs->dead_count;
    if (bytes)
        *bytes = vs->a.cap * ((size_t)vs->dim * (vs->int8 ? 5 : 4) + 13);
    mlops__rwlock_unlock(&vs->rw);
}

/* Keeps the k best (score, id) pairs sorted best first; k is small. */
static int topk_insert(int64_t *ids, float *scores, int have, int k, int64_t id, float s)
{
    if (have == k && s <= scores[k - 1])
        return have;
    int pos = have < k ? have : k - 1;
    while (pos > 0 && scores[pos - 1] < s) {
        scores[pos] = scores[pos - 1];
        ids[pos] = ids[pos - 1];
        pos--;
    }
    scores[pos] = s;
    ids[pos] = id;
    return have < k ? have + 1 : k;
}

/* Rescores int8 candidates (rows) exactly and keeps the k best over min_score. */
static int rescore(const mlops__vecstore *vs, const float *q, const int64_t *cand_rows,
                   int ncand, int k, float min_score, int64_t *ids, float *scores)
{
    int have = 0;
    for (int c = 0; c < ncand; c++) {
        size_t r = (size_t)cand_rows[c];
        float s = cblas_sdot(vs->dim, vs->a.f32 + r * (size_t)vs->dim, 1, q, 1);
        if (s >= min_score)
            have = topk_insert(ids, scores, have, k, vs->a.ids[r], s);
    }
    return have;
}

static int search_f32(const mlops__vecstore *vs, const float *q, int k, float min_score,
                      int64_t *ids, float *scores)
{
    float sc[BLOCK];
    int have = 0;
    size_t d = (size_t)vs->dim;
    for (size_t start = 0; start < vs->count; start += BLOCK) {
        size_t n = vs->count - start < BLOCK ? vs->count - start : BLOCK;
        cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)n, vs->dim, 1.0f, vs->a.f32 + start * d,
                    vs->dim, q, 1, 0.0f, sc, 1);
        for (size_t i = 0; i < n; i++)
            if (sc[i] >= min_score && !vs->a.dead[start + i])
                have = topk_insert(ids, scores, have, k, vs->a.ids[start + i], sc[i]);
    }
    return have;
}

static int search_i8(const mlops__vecstore *vs, const float *q, int k, float min_score,
                     int nres, int64_t *ids, float *scores)
{
    int8_t qs[8192];
    int8_t *qi = vs->dim <= (int)sizeof qs ? qs : malloc((size_t)vs->dim);
    if (!qi)
        return mlops__error_oom("query");
    float qscale = mlops__cache_quantize(q, vs->dim, qi);
    int32_t dots[BLOCK];
    int64_t cand[256];
    float cs[256];
    int have = 0;
    float cmin = min_score - INT8_SLACK;
    size_t d = (size_t)vs->dim;
    for (size_t start = 0; start < vs->count; start += BLOCK) {
        size_t n = vs->count - start < BLOCK ? vs->count - start : BLOCK;
        mlops__cache_dots_i8(vs->a.i8 + start * d, n, vs->dim, qi, dots);
        for (size_t i = 0; i < n; i++) {
            float s = (float)dots[i] * vs->a.scale[start + i] * qscale;
            if (s >= cmin && !vs->a.dead[start + i])
                have = topk_insert(cand, cs, have, nres, (int64_t)(start + i), s);
        }
    }
    if (qi != qs)
        free(qi);
    return rescore(vs, q, cand, have, k, min_score, ids, scores);
}

int mlops__vecstore_search(mlops__vecstore *vs, const float *q, int k, float min_score,
                           int nrescore, int64_t *ids, float *scores)
{
    if (k <= 0)
        return 0;
    if (!mlops__vec_finite(q, (size_t)vs->dim))
        return mlops__error(MLOPS_EINVAL, "vector store: the query has NaN or Inf values");
    int nres = nrescore > k ? nrescore : k;
    if (nres > 256)
        nres = 256;
    mlops__rwlock_rdlock(&vs->rw);
    int have = vs->int8 ? search_i8(vs, q, k, min_score, nres, ids, scores)
                        : search_f32(vs, q, k, min_score, ids, scores);
    mlops__rwlock_unlock(&vs->rw);
    return have;
}

/* int8 batch: blocks of rows small enough to stay in L1/L2 while every query's int8 dot
   product runs over them (vpmaddubsw does 32 multiply-adds per instruction, four times
   the float FMA rate), then float32 rescoring per query. */
static int search_batch_i8(const mlops__vecstore *vs, const float *q, int nq, int k,
                           float min_score, int nres, int64_t *ids, float *scores, int *found)
{
    size_t d = (size_t)vs->dim;
    int8_t *qi = malloc((size_t)nq * d);
    float *qscale = malloc((size_t)nq * sizeof(float));
    int64_t *cand = malloc((size_t)nq * (size_t)nres * sizeof(int64_t));
    float *cs = malloc((size_t)nq * (size_t)nres * sizeof(float));
    if (!qi || !qscale || !cand || !cs) {
        free(qi);
        free(qscale);
        free(cand);
        free(cs);
        return mlops__error_oom("batch scores");
    }
    for (int j = 0; j < nq; j++)
        qscale[j] = mlops__cache_quantize(q + (size_t)j * d, vs->dim, qi + (size_t)j * d);
    float cmin = min_score - INT8_SLACK;
    size_t blk = 16384 / d > 8 ? 16384 / d : 8; /* ~16 KiB of rows */
    int32_t *dots = malloc((size_t)nq * blk * sizeof(int32_t));
    if (!dots) {
        free(qi);
        free(qscale);
        free(cand);
        free(cs);
        return mlops__error_oom("batch scores");
    }
    for (size_t start = 0; start < vs->count; start += blk) {
        size_t n = vs->count - start < blk ? vs->count - start : blk;
        mlops__cache_dots_i8_multi(vs->a.i8 + start * d, n, vs->dim, qi, nq, dots);
        for (int j = 0; j < nq; j++) {
            const int32_t *dj = dots + (size_t)j * n;
            int64_t *cj = cand + (size_t)j * (size_t)nres;
            float *sj = cs + (size_t)j * (size_t)nres;
            for (size_t i = 0; i < n; i++) {
                float sc = (float)dj[i] * vs->a.scale[start + i] * qscale[j];
                if (sc >= cmin && !vs->a.dead[start + i])
                    found[j] = topk_insert(cj, sj, found[j], nres, (int64_t)(start + i), sc);
            }
        }
    }
    for (int j = 0; j < nq; j++)
        found[j] = rescore(vs, q + (size_t)j * d, cand + (size_t)j * (size_t)nres, found[j], k,
                           min_score, ids + (size_t)j * (size_t)k, scores + (size_t)j * (size_t)k);
    free(dots);
    free(qi);
    free(qscale);
    free(cand);
    free(cs);
    return MLOPS_OK;
}

static int search_batch_f32(const mlops__vecstore *vs, const float *q, int nq, int k,
                            float min_score, int64_t *ids, float *scores, int *found)
{
    size_t d = (size_t)vs->dim;
    float *sc = malloc((size_t)nq * BLOCK * sizeof(float));
    if (!sc)
        return mlops__error_oom("batch scores");
    for (size_t start = 0; start < vs->count; start += BLOCK) {
        size_t n = vs->count - start < BLOCK ? vs->count - start : BLOCK;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, (int)n, vs->dim, 1.0f, q,
                    vs->dim, vs->a.f32 + start * d, vs->dim, 0.0f, sc, (int)n);
        for (int j = 0; j < nq; j++) {
            const float *row = sc + (size_t)j * n;
            int64_t *oj = ids + (size_t)j * (size_t)k;
            float *os = scores + (size_t)j * (size_t)k;
            for (size_t i = 0; i < n; i++)
                if (row[i] >= min_score && !vs->a.dead[start + i])
                    found[j] = topk_insert(oj, os, found[j], k, vs->a.ids[start + i], row[i]);
        }
    }
    free(sc);
    return MLOPS_OK;
}

int mlops__vecstore_search_batch(mlops__vecstore *vs, const float *q, int nq, int k,
                                 float min_score, int nrescore, int64_t *ids, float *scores,
                                 int *found)
{
    if (nq <= 0 || k <= 0)
        return MLOPS_OK;
    if (!mlops__vec_finite(q, (size_t)nq * (size_t)vs->dim))
        return mlops__error(MLOPS_EINVAL, "vector store: a query has NaN or Inf values");
    int nres = nrescore > k ? nrescore : k;
    if (nres > 256)
        nres = 256;
    for (int j = 0; j < nq; j++)
        found[j] = 0;
    mlops__rwlock_rdlock(&vs->rw);
    int rc = vs->int8 ? search_batch_i8(vs, q, nq, k, min_score, nres, ids, scores, found)
                      : search_batch_f32(vs, q, nq, k, min_score, ids, scores, found);
    mlops__rwlock_unlock(&vs->rw);
    return rc;
}
