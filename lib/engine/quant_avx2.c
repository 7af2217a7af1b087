/*
 * AVX2/FMA/F16C kernels (this file alone is built with -mavx2 -mfma -mf16c; the
 * dispatcher calls it only after CPU detection).
 */
#include "quant.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)

#include <immintrin.h>
#include <string.h>

/* quant_avx512.c includes this file with MLOPS_Q_VNNI defined. */
#if defined(MLOPS_Q_VNNI)
#define QKERN mlops__qkern_avx512
#define QMISC mlops__qmisc_avx512
#else
#define QKERN mlops__qkern_avx2
#define QMISC mlops__qmisc_avx2
#endif

/* ------------------------------------------------------------------ float helpers -- */

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

static float dot_f32_avx2(const float *a, const float *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static inline __m256 load_f16(const uint16_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static float dot_f16_f32_avx2(const uint16_t *a, const float *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(load_f16(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(load_f16(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(load_f16(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(load_f16(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(load_f16(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        sum += _cvtsh_ss(a[i]) * b[i];
    return sum;
}

static void axpy_f16_f32_avx2(float alpha, const uint16_t *a, float *y, int64_t n)
{
    __m256 va = _mm256_set1_ps(alpha);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(a + i), _mm256_loadu_ps(y + i)));
        _mm256_storeu_ps(y + i + 8,
                         _mm256_fmadd_ps(va, load_f16(a + i + 8), _mm256_loadu_ps(y + i + 8)));
    }
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, load_f16(a + i), _mm256_loadu_ps(y + i)));
    for (; i < n; i++)
        y[i] += alpha * _cvtsh_ss(a[i]);
}

static void fp16_to_fp32_row_avx2(const uint16_t *src, float *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(dst + i, load_f16(src + i));
    for (; i < n; i++)
        dst[i] = _cvtsh_ss(src[i]);
}

static void fp32_to_fp16_row_avx2(const float *src, uint16_t *dst, int64_t n)
{
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128((__m128i *)(dst + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++)
        dst[i] = mlops__fp32_to_fp16(src[i]);
}

const mlops__qmisc QMISC = {
    dot_f16_f32_avx2, axpy_f16_f32_avx2, dot_f32_avx2, fp16_to_fp32_row_avx2,
    fp32_to_fp16_row_avx2,
};

/*
 * Attention on an F16 KV cache for a group of G query heads sharing one KV head: each
 * K/V row is converted once for the whole group. Every (head, position) score and every
 * output element is computed by exactly the sequence of dot_f16_f32_avx2 /
 * axpy_f16_f32_avx2 (same accumulators, same order; F16 -> F32 is exact), so results
 * equal the one-head-at-a-time path bit for bit.
 */
#if defined(MLOPS_Q_VNNI)
#define ATT_SCORES mlops__att_scores_f16_avx512
#define ATT_VALUES mlops__att_values_f16_avx512
#else
#define ATT_SCORES mlops__att_scores_f16_avx2
#define ATT_VALUES mlops__att_values_f16_avx2
#endif

static inline float dot_f32_as_f16(const float *a, const float *b, int64_t n)
{
    __m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
        s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), s1);
        s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), s2);
        s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8)
        s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s0);
    float sum = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

void ATT_SCORES(const uint16_t *K, size_t kstride, int npos, const float *q, size_t qstride, int G,
                int64_t hd, float *sc, size_t scstride)
{
    float kf[MLOPS__ATT_MAX_HD];
    for (int p = 0; p < npos; p++) {
        fp16_to_fp32_row_avx2(K + (size_t)p * kstride, kf, hd);
        for (int g = 0; g < G; g++)
            sc[(size_t)g * scstride + (size_t)p] = dot_f32_as_f16(kf, q + (size_t)g * qstride, hd);
    }
}

/* G <= 3 heads at once, 32 output elements at a time held in registers over all positions. */
static inline __attribute__((always_inline)) void att_values_blk(const uint16_t *V, size_t vstride, int npos, const float *w,
                                  size_t wstride, const int G, int64_t i, float *out, size_t ostride)
{
    __m256 acc[3][4];
    _Pragma("GCC unroll 3") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++)
            acc[g][u] = _mm256_loadu_ps(out + (size_t)g * ostride + i + 8 * u);
    for (int p = 0; p < npos; p++) {
        const uint16_t *v = V + (size_t)p * vstride + i;
        __m256 x0 = load_f16(v), x1 = load_f16(v + 8), x2 = load_f16(v + 16), x3 = load_f16(v + 24);
        _Pragma("GCC unroll 3") for (int g = 0; g < G; g++)
        {
            __m256 a = _mm256_set1_ps(w[(size_t)g * wstride + (size_t)p]);
            acc[g][0] = _mm256_fmadd_ps(a, x0, acc[g][0]);
            acc[g][1] = _mm256_fmadd_ps(a, x1, acc[g][1]);
            acc[g][2] = _mm256_fmadd_ps(a, x2, acc[g][2]);
            acc[g][3] = _mm256_fmadd_ps(a, x3, acc[g][3]);
        }
    }
    _Pragma("GCC unroll 3") for (int g = 0; g < G; g++)
        _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++)
            _mm256_storeu_ps(out + (size_t)g * ostride + i + 8 * u, acc[g][u]);
}

void ATT_VALUES(const uint16_t *V, size_t vstride, int npos, const float *w, size_t wstride, int G,
                int64_t hd, float *out, size_t ostride)
{
    for (int g0 = 0; g0 < G; g0 += 3) {
        int gn = G - g0 < 3 ? G - g0 : 3;
        const float *wg = w + (size_t)g0 * wstride;
        float *og = out + (size_t)g0 * ostride;
        int64_t i = 0;
        for (; i + 32 <= hd; i += 32) {
            if (gn == 3)
                att_values_blk(V, vstride, npos, wg, wstride, 3, i, og, ostride);
            else if (gn == 2)
                att_values_blk(V, vstride, npos, wg, wstride, 2, i, og, ostride);
            else
                att_values_blk(V, vstride, npos, wg, wstride, 1, i, og, ostride);
        }
        if (i < hd) /* the rest exactly as axpy_f16_f32_avx2 does it */
            for (int g = 0; g < gn; g++)
                for (int p = 0; p < npos; p++)
                    axpy_f16_f32_avx2(wg[(size_t)g * wstride + (size_t)p], V + (size_t)p * vstride + i,
                                      og + (size_t)g * ostride + i, hd - i);
    }
}

/* -------------------------------------------------------------- integer helpers -- */

/*
 * Every kernel below computes each (weight row, activation) pair with the same
 * sequence: its own 8-lane float accumulator(s), blocks in order, one horizontal sum at
 * the end (never one per block). Tiles only change how many pairs run side by side, so
 * matvec, matmat and any split of the rows across threads give the same bits.
 */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

ALWAYS_INLINE __m256i nibbles32(const uint8_t *qs)
{
    __m128i t = _mm_loadu_si128((const __m128i *)qs);
    __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t); /* elements 0..15, 16..31 */
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0f));
}

/* 0x10 in byte i when bit i of the little-endian 32-bit word at qh is set. */
ALWAYS_INLINE __m256i fifth_bits32(const uint8_t *qh)
{
    uint32_t x;
    memcpy(&x, qh, 4);
    const __m256i shuf = _mm256_setr_epi64x(0x0000000000000000LL, 0x0101010101010101LL,
                                            0x0202020202020202LL, 0x0303030303030303LL);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfeLL));
    bytes = _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
    return _mm256_and_si256(bytes, _mm256_set1_epi8(0x10));
}

/*
 * Sum of u8 x s8 products, 4 per int32 lane. maddubs saturates int16 pairs, which never
 * happens here: activations are in [-127, 127] (our quantisers) and the unsigned operand
 * is at most 15 (Q4), 31 (Q5), 63 (Q6_K) or 128 (|Q8_0|): 2 * 128 * 127 = 32512 < 32767;
 * the two-block path adds two Q5 pairs: 4 * 31 * 127 = 15748. So the integer sums are
 * exact and equal the scalar reference's.
 */
ALWAYS_INLINE __m256i dot_us(__m256i u, __m256i s)
{
#if defined(MLOPS_Q_VNNI)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s); /* same lanes, one op */
#else
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
#endif
}

ALWAYS_INLINE __m256i sum_s8(__m256i s)
{
    return dot_us(_mm256_set1_epi8(1), s);
}

ALWAYS_INLINE float h2f(uint16_t h)
{
    return _cvtsh_ss(h);
}

/* ---------------------------------------------------------- legacy quant tiles -- */

/*
 * Software prefetch: while a tile of R rows is computed, the same blocks of a later tile
 * are requested (whole tiles ahead, at least PF_MIN bytes), so the matrix streams in
 * order ahead of the arithmetic. The hardware prefetchers alone left matvec at ~50% of
 * the streaming bandwidth here.
 */
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T0
#endif

/*
 * Weight blocks are prepared once per row, activation blocks once per tile, then each
 * (row, activation) pair costs maddubs + madd (+ sub) + cvt + mul + fma. Offset types
 * (Q4_0: q-8, Q5_0: q-16) multiply the unsigned q and subtract off * sum(y), computed
 * once per activation block; types with a min add m * d_y * sum(y).
 */
typedef struct {
    __m256i q;   /* unsigned q (Q4/Q5), or |q| (Q8_0) */
    __m256i sgn; /* Q8_0: q, for the signs */
    __m256 d, m;
} wprep;

typedef struct {
    __m256i y;
    __m256i off; /* off * sum(y) in the lanes dot_us uses */
    __m256 d;
    __m256 sum; /* sum(y) per lane, as float */
} aprep;

ALWAYS_INLINE __m256 bcast_h(uint16_t h)
{
    return _mm256_cvtph_ps(_mm_set1_epi16((short)h));
}

ALWAYS_INLINE void prep_q4_0(const void *p, wprep *w)
{
    const mlops__block_q4_0 *b = p;
    w->q = nibbles32(b->qs);
    w->d = bcast_h(b->d);
}

ALWAYS_INLINE void prep_q5_0(const void *p, wprep *w)
{
    const mlops__block_q5_0 *b = p;
    w->q = _mm256_or_si256(nibbles32(b->qs), fifth_bits32(b->qh));
    w->d = bcast_h(b->d);
}

ALWAYS_INLINE void prep_q8_0(const void *p, wprep *w)
{
    const mlops__block_q8_0 *b = p;
    __m256i q = _mm256_loadu_si256((const __m256i *)b->qs);
    w->q = _mm256_sign_epi8(q, q);
    w->sgn = q;
    w->d = bcast_h(b->d);
}

ALWAYS_INLINE void prep_q4_1(const void *p, wprep *w)
{
    const mlops__block_q4_1 *b = p;
    w->q = nibbles32(b->qs);
    w->d = bcast_h(b->d);
    w->m = bcast_h(b->m);
}

ALWAYS_INLINE void prep_q5_1(const void *p, wprep *w)
{
    const mlops__block_q5_1 *b = p;
    w->q = _mm256_or_si256(nibbles32(b->qs), fifth_bits32(b->qh));
    w->d = bcast_h(b->d);
    w->m = bcast_h(b->m);
}

ALWAYS_INLINE void act_plain(const mlops__block_q8_0 *b, aprep *a)
{
    a->y = _mm256_loadu_si256((const __m256i *)b->qs);
    a->d = bcast_h(b->d);
}

ALWAYS_INLINE void act_off8(const mlops__block_q8_0 *b, aprep *a)
{
    act_plain(b, a);
    a->off = dot_us(_mm256_set1_epi8(8), a->y);
}

ALWAYS_INLINE void act_off16(const mlops__block_q8_0 *b, aprep *a)
{
    act_plain(b, a);
    a->off = dot_us(_mm256_set1_epi8(16), a->y);
}

ALWAYS_INLINE void act_sum(const mlops__block_q8_0 *b, aprep *a)
{
    act_plain(b, a);
    a->sum = _mm256_cvtepi32_ps(sum_s8(a->y));
}

ALWAYS_INLINE __m256 upd_off(const wprep *w, const aprep *a, __m256 acc)
{
    __m256i s = _mm256_sub_epi32(dot_us(w->q, a->y), a->off);
    return _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
}

ALWAYS_INLINE __m256 upd_sign(const wprep *w, const aprep *a, __m256 acc)
{
    __m256i s = dot_us(w->q, _mm256_sign_epi8(a->y, w->sgn));
    return _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
}

ALWAYS_INLINE __m256 upd_min(const wprep *w, const aprep *a, __m256 acc)
{
    __m256i s = dot_us(w->q, a->y);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
    return _mm256_fmadd_ps(_mm256_mul_ps(w->m, a->d), a->sum, acc);
}

/* R rows x C activations of one legacy type; Y[c * ldy + r]. */
#define LEGACY_TILE(T, BT, PREP, ACT, UPD)                                                     \
    ALWAYS_INLINE void tile_##T(const uint8_t *w, size_t rb, const uint8_t *x, size_t xs,   \
                                int64_t nb, float *y, int64_t ldy, const int R, const int C, size_t pf) \
    {                                                                                         \
        __m256 acc[4][4];                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =                   \
                _mm256_setzero_ps();                                                          \
        for (int64_t i = 0; i < nb; i++) {                                                    \
            aprep a[4];                                                                       \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                               \
                ACT((const mlops__block_q8_0 *)(x + (size_t)c * xs) + i, &a[c]);              \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                               \
            {                                                                                 \
                const BT *b = (const BT *)(w + (size_t)r * rb) + i;                           \
                _mm_prefetch((const char *)b + pf, PF_HINT);                                  \
                wprep p;                                                                      \
                PREP(b, &p);                                                                  \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =               \
                    UPD(&p, &a[c], acc[r][c]);                                                \
            }                                                                                 \
        }                                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) y[c * ldy + r] =              \
                hsum(acc[r][c]);                                                              \
    }


/*
 * Two blocks at a time for the 4- and 5-bit types: the 16 bytes of nibbles of blocks i
 * and i+1 share one register ([block i | block i+1] per 128-bit lane), the two maddubs
 * results are added as int16 before one madd, and one cvt + fma covers both blocks
 * (lanes 0..3: block i, 4..7: block i+1). An odd last block uses the single-block step.
 */
typedef struct {
    __m256i lo, hi; /* elements 0..15 and 16..31 of both blocks, unsigned */
    __m256 d, m;    /* scales (and mins), 4 lanes per block */
} wprep2;

typedef struct {
    __m256i ylo, yhi;
    __m256i off;
    __m256 d, sum;
} aprep2;

/* [h0 x4 | h1 x4] as floats. */
ALWAYS_INLINE __m256 bcast_h2(uint16_t h0, uint16_t h1)
{
    __m128i v = _mm_cvtsi32_si128((int)((uint32_t)h0 | (uint32_t)h1 << 16));
    v = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3));
    return _mm256_cvtph_ps(v);
}

ALWAYS_INLINE void nibbles_pair(const uint8_t *q0, const uint8_t *q1, wprep2 *w)
{
    __m256i v = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)q1),
                                 _mm_loadu_si128((const __m128i *)q0));
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    w->lo = _mm256_and_si256(v, m4);
    w->hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
}

/* Fifth bits of two Q5 blocks: 0x10 in the bytes of lo and hi whose bit is set. */
ALWAYS_INLINE void fifth_pair(const uint8_t *qh0, const uint8_t *qh1, wprep2 *w)
{
    uint32_t a, b;
    memcpy(&a, qh0, 4);
    memcpy(&b, qh1, 4);
    __m256i v = _mm256_set_m128i(_mm_set1_epi32((int)b), _mm_set1_epi32((int)a));
    const __m256i sel_lo = _mm256_setr_epi64x(0, 0x0101010101010101LL, 0, 0x0101010101010101LL);
    const __m256i sel_hi = _mm256_setr_epi64x(0x0202020202020202LL, 0x0303030303030303LL,
                                              0x0202020202020202LL, 0x0303030303030303LL);
    const __m256i bit = _mm256_set1_epi64x(0x7fbfdfeff7fbfdfeLL), ones = _mm256_set1_epi64x(-1);
    const __m256i b10 = _mm256_set1_epi8(0x10);
    __m256i l = _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(v, sel_lo), bit), ones);
    __m256i h = _mm256_cmpeq_epi8(_mm256_or_si256(_mm256_shuffle_epi8(v, sel_hi), bit), ones);
    w->lo = _mm256_or_si256(w->lo, _mm256_and_si256(l, b10));
    w->hi = _mm256_or_si256(w->hi, _mm256_and_si256(h, b10));
}

ALWAYS_INLINE void prep2_q4_0(const void *p, wprep2 *w)
{
    const mlops__block_q4_0 *b = p;
    nibbles_pair(b[0].qs, b[1].qs, w);
    w->d = bcast_h2(b[0].d, b[1].d);
}

ALWAYS_INLINE void prep2_q4_1(const void *p, wprep2 *w)
{
    const mlops__block_q4_1 *b = p;
    nibbles_pair(b[0].qs, b[1].qs, w);
    w->d = bcast_h2(b[0].d, b[1].d);
    w->m = bcast_h2(b[0].m, b[1].m);
}

ALWAYS_INLINE void prep2_q5_0(const void *p, wprep2 *w)
{
    const mlops__block_q5_0 *b = p;
    nibbles_pair(b[0].qs, b[1].qs, w);
    fifth_pair(b[0].qh, b[1].qh, w);
    w->d = bcast_h2(b[0].d, b[1].d);
}

ALWAYS_INLINE void prep2_q5_1(const void *p, wprep2 *w)
{
    const mlops__block_q5_1 *b = p;
    nibbles_pair(b[0].qs, b[1].qs, w);
    fifth_pair(b[0].qh, b[1].qh, w);
    w->d = bcast_h2(b[0].d, b[1].d);
    w->m = bcast_h2(b[0].m, b[1].m);
}

/* Sum of u8 x s8 over both halves, int16-added (no overflow for u <= 31). */
ALWAYS_INLINE __m256i dot2_us(__m256i ulo, __m256i uhi, __m256i ylo, __m256i yhi)
{
#if defined(MLOPS_Q_VNNI)
    return _mm256_dpbusd_epi32(_mm256_dpbusd_epi32(_mm256_setzero_si256(), ulo, ylo), uhi, yhi);
#else
    __m256i s = _mm256_add_epi16(_mm256_maddubs_epi16(ulo, ylo), _mm256_maddubs_epi16(uhi, yhi));
    return _mm256_madd_epi16(s, _mm256_set1_epi16(1));
#endif
}

ALWAYS_INLINE void act2_plain(const mlops__block_q8_0 *y, aprep2 *a)
{
    a->ylo = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)y[1].qs),
                              _mm_loadu_si128((const __m128i *)y[0].qs));
    a->yhi = _mm256_set_m128i(_mm_loadu_si128((const __m128i *)(y[1].qs + 16)),
                              _mm_loadu_si128((const __m128i *)(y[0].qs + 16)));
    a->d = bcast_h2(y[0].d, y[1].d);
}

ALWAYS_INLINE void act2_off8(const mlops__block_q8_0 *y, aprep2 *a)
{
    act2_plain(y, a);
    const __m256i k = _mm256_set1_epi8(8);
    a->off = dot2_us(k, k, a->ylo, a->yhi);
}

ALWAYS_INLINE void act2_off16(const mlops__block_q8_0 *y, aprep2 *a)
{
    act2_plain(y, a);
    const __m256i k = _mm256_set1_epi8(16);
    a->off = dot2_us(k, k, a->ylo, a->yhi);
}

ALWAYS_INLINE void act2_sum(const mlops__block_q8_0 *y, aprep2 *a)
{
    act2_plain(y, a);
    const __m256i k = _mm256_set1_epi8(1);
    a->sum = _mm256_cvtepi32_ps(dot2_us(k, k, a->ylo, a->yhi));
}

ALWAYS_INLINE __m256 upd2_off(const wprep2 *w, const aprep2 *a, __m256 acc)
{
    __m256i s = _mm256_sub_epi32(dot2_us(w->lo, w->hi, a->ylo, a->yhi), a->off);
    return _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
}

/* The same with maddubs + madd even in the VNNI build: for Q4_0 matvec streaming from
 * memory it ran 18.7 against 15.7 GB/s with vpdpbusd (Zen 4, n >= 2048); same sums. */
ALWAYS_INLINE __m256 upd2_off_mb(const wprep2 *w, const aprep2 *a, __m256 acc)
{
    __m256i p = _mm256_add_epi16(_mm256_maddubs_epi16(w->lo, a->ylo),
                                 _mm256_maddubs_epi16(w->hi, a->yhi));
    __m256i s = _mm256_sub_epi32(_mm256_madd_epi16(p, _mm256_set1_epi16(1)), a->off);
    return _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
}

ALWAYS_INLINE __m256 upd2_min(const wprep2 *w, const aprep2 *a, __m256 acc)
{
    __m256i s = dot2_us(w->lo, w->hi, a->ylo, a->yhi);
    acc = _mm256_fmadd_ps(_mm256_mul_ps(w->d, a->d), _mm256_cvtepi32_ps(s), acc);
    return _mm256_fmadd_ps(_mm256_mul_ps(w->m, a->d), a->sum, acc);
}

#define LEGACY2_TILE(T, BT, PREP2, ACT2, UPD2, PREP, ACT, UPD)                                  \
    ALWAYS_INLINE void tile_##T(const uint8_t *w, size_t rb, const uint8_t *x, size_t xs,   \
                                int64_t nb, float *y, int64_t ldy, const int R, const int C, size_t pf) \
    {                                                                                         \
        __m256 acc[4][4];                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =                   \
                _mm256_setzero_ps();                                                          \
        int64_t i = 0;                                                                        \
        for (; i + 2 <= nb; i += 2) {                                                         \
            aprep2 a[4];                                                                      \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                               \
                ACT2((const mlops__block_q8_0 *)(x + (size_t)c * xs) + i, &a[c]);             \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                               \
            {                                                                                 \
                const BT *b = (const BT *)(w + (size_t)r * rb) + i;                           \
                _mm_prefetch((const char *)b + pf, PF_HINT);                                  \
                wprep2 p;                                                                     \
                PREP2(b, &p);                                                                 \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =               \
                    UPD2(&p, &a[c], acc[r][c]);                                               \
            }                                                                                 \
        }                                                                                     \
        if (i < nb) {                                                                         \
            aprep a[4];                                                                       \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                               \
                ACT((const mlops__block_q8_0 *)(x + (size_t)c * xs) + i, &a[c]);              \
            _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                               \
            {                                                                                 \
                wprep p;                                                                      \
                PREP((const BT *)(w + (size_t)r * rb) + i, &p);                               \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =               \
                    UPD(&p, &a[c], acc[r][c]);                                                \
            }                                                                                 \
        }                                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) y[c * ldy + r] =              \
                hsum(acc[r][c]);                                                              \
    }

/*
 * Rows per matvec tile, measured on the DRAM-streaming case (bench_quant; Zen 4, 4 KiB
 * pages): one row at a time streams best for Q8_0 and the float types (the hardware
 * prefetchers follow one sequential stream; several rows side by side halved F16) and
 * for the K-quants; the 4/5-bit types stream one row against activations prepared once
 * (PREPPED_MATVEC) and use two-row tiles only past PREP_MAX_PAIRS. Tests hold for any
 * value.
 */
#ifndef LEG_RMV
#define LEG_RMV 2
#endif
/* ... but only for rows shorter than this (n < ~1800 for Q4_0): two long rows side by
 * side streamed at 11 GB/s against 14 for one (n = 2048, 4096), while two short rows
 * made 17 against 12.5 (n = 768). */
#ifndef SHORT_ROW
#define SHORT_ROW 1024
#endif
#ifndef Q8_RMV
#define Q8_RMV 1
#endif
#ifndef FLT_RMV
#define FLT_RMV 1
#endif

/*
 * matvec: R_MV rows at a time. matmat: chunks of MM_ROWS rows (kept in L2) against all B
 * activations in R_MM x C_MM tiles, so each weight block is loaded once per C_MM
 * activations and the chunk once from memory; tails one row / one activation at a time.
 */
#define MM_ROWS 32
#ifndef PF_MIN
#define PF_MIN 8192
#endif
#define TILED_MATVEC(T, BLOCK, R_MV)                                                           \
    static void matvec_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *xq, float *y)                                          \
    {                                                                                         \
        const uint8_t *w = (const uint8_t *)W;                                                \
        int64_t nb = n / BLOCK, r = r0;                                                       \
        size_t pf = (size_t)R_MV * rb; /* whole tiles ahead, at least PF_MIN bytes */        \
        while (pf > 0 && pf < PF_MIN)                                                         \
            pf += (size_t)R_MV * rb;                                                          \
        if (R_MV > 1 && rb < SHORT_ROW)                                                       \
            for (; r + R_MV <= r1; r += R_MV)                                                 \
                tile_##T(w + (size_t)r * rb, rb, xq, 0, nb, y + (r - r0), 0, R_MV, 1, pf);    \
        for (; r < r1; r++)                                                                   \
            tile_##T(w + (size_t)r * rb, rb, xq, 0, nb, y + (r - r0), 0, 1, 1, pf);           \
    }

#define TILED_MATMAT(T, BLOCK, R_MM, C_MM)                                                     \
    static void matmat_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *Xq, int64_t B, size_t xs, float *Y, int64_t ldy)       \
    {                                                                                         \
        const uint8_t *w = (const uint8_t *)W, *x = (const uint8_t *)Xq;                      \
        int64_t nb = n / BLOCK;                                                               \
        for (int64_t rc = r0; rc < r1; rc += MM_ROWS) {                                       \
            int64_t re = rc + MM_ROWS < r1 ? rc + MM_ROWS : r1, b = 0;                        \
            for (; b + C_MM <= B; b += C_MM) {                                                \
                int64_t r = rc;                                                               \
                for (; r + R_MM <= re; r += R_MM)                                             \
                    tile_##T(w + (size_t)r * rb, rb, x + (size_t)b * xs, xs, nb,              \
                             Y + b * ldy + (r - r0), ldy, R_MM, C_MM, (size_t)R_MM * rb);     \
                for (; r < re; r++)                                                           \
                    tile_##T(w + (size_t)r * rb, rb, x + (size_t)b * xs, xs, nb,              \
                             Y + b * ldy + (r - r0), ldy, 1, C_MM, rb);                       \
            }                                                                                 \
            for (; b < B; b++)                                                                \
                matvec_##T(W, rb, n, rc, re, x + (size_t)b * xs, Y + b * ldy + (rc - r0));    \
        }                                                                                     \
    }

#define TILED_KERNELS(T, BLOCK, R_MV, R_MM, C_MM)                                              \
    TILED_MATVEC(T, BLOCK, R_MV)                                                               \
    TILED_MATMAT(T, BLOCK, R_MM, C_MM)

/*
 * matvec for the 4/5-bit types: the activation pairs are prepared once per call (on the
 * stack, rows up to PREP_MAX_PAIRS * 64 elements) and every row streams alone against
 * them. Each row's sequence is the tile's, so the bits match matmat and the tiled path
 * used for longer rows.
 */
#ifndef PREP_MAX_PAIRS
#define PREP_MAX_PAIRS 256 /* n <= 16384: 40 KiB of stack */
#endif
#define PREPPED_MATVEC(T, BT, PREP2, ACT2, UPD2, PREP, ACT, UPD)                                \
    TILED_MATVEC(T##_tiled, 32, LEG_RMV)                                                       \
    static void matvec_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *xq, float *y)                                          \
    {                                                                                         \
        int64_t nb = n / 32, np = nb / 2;                                                     \
        if (np > PREP_MAX_PAIRS) {                                                            \
            matvec_##T##_tiled(W, rb, n, r0, r1, xq, y);                                      \
            return;                                                                           \
        }                                                                                     \
        const mlops__block_q8_0 *x = (const mlops__block_q8_0 *)xq;                           \
        aprep2 ap[PREP_MAX_PAIRS];                                                            \
        aprep at;                                                                             \
        for (int64_t k = 0; k < np; k++)                                                      \
            ACT2(x + 2 * k, &ap[k]);                                                          \
        if (nb & 1)                                                                           \
            ACT(x + nb - 1, &at);                                                             \
        size_t pf = rb;                                                                       \
        while (pf > 0 && pf < PF_MIN)                                                         \
            pf += rb;                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                                   \
            const BT *b = (const BT *)(const void *)((const uint8_t *)W + (size_t)r * rb);    \
            __m256 acc = _mm256_setzero_ps();                                                 \
            for (int64_t k = 0; k < np; k++) {                                                \
                _mm_prefetch((const char *)(b + 2 * k) + pf, PF_HINT);                        \
                wprep2 p;                                                                     \
                PREP2(b + 2 * k, &p);                                                         \
                acc = UPD2(&p, &ap[k], acc);                                                  \
            }                                                                                 \
            if (nb & 1) {                                                                     \
                wprep p;                                                                      \
                PREP(b + nb - 1, &p);                                                         \
                acc = UPD(&p, &at, acc);                                                      \
            }                                                                                 \
            y[r - r0] = hsum(acc);                                                            \
        }                                                                                     \
    }

LEGACY2_TILE(q4_0, mlops__block_q4_0, prep2_q4_0, act2_off8, upd2_off, prep_q4_0, act_off8, upd_off)
LEGACY2_TILE(q5_0, mlops__block_q5_0, prep2_q5_0, act2_off16, upd2_off, prep_q5_0, act_off16,
             upd_off)
LEGACY2_TILE(q4_1, mlops__block_q4_1, prep2_q4_1, act2_sum, upd2_min, prep_q4_1, act_sum, upd_min)
LEGACY2_TILE(q5_1, mlops__block_q5_1, prep2_q5_1, act2_sum, upd2_min, prep_q5_1, act_sum, upd_min)
LEGACY_TILE(q8_0, mlops__block_q8_0, prep_q8_0, act_plain, upd_sign)
#ifndef Q40_UPD2
#define Q40_UPD2 upd2_off_mb
#endif
#define tile_q4_0_tiled tile_q4_0
#define tile_q5_0_tiled tile_q5_0
#define tile_q4_1_tiled tile_q4_1
#define tile_q5_1_tiled tile_q5_1
PREPPED_MATVEC(q4_0, mlops__block_q4_0, prep2_q4_0, act2_off8, Q40_UPD2, prep_q4_0, act_off8, upd_off)
PREPPED_MATVEC(q5_0, mlops__block_q5_0, prep2_q5_0, act2_off16, upd2_off, prep_q5_0, act_off16,
               upd_off)
PREPPED_MATVEC(q4_1, mlops__block_q4_1, prep2_q4_1, act2_sum, upd2_min, prep_q4_1, act_sum, upd_min)
PREPPED_MATVEC(q5_1, mlops__block_q5_1, prep2_q5_1, act2_sum, upd2_min, prep_q5_1, act_sum, upd_min)
/* matmat tiles (rows x activations), from A/B runs with 128 activations: 4 x 2 for the
 * 4-bit types, 2 x 4 where more registers go to the weights (Q5 bits, Q8_0 signs); with
 * AVX-512's 32 registers 4 x 4 for all (+10-25%). */
#if defined(MLOPS_Q_VNNI) /* 32 registers: 4 x 4 everywhere */
#define MM4_R 4
#define MM4_C 4
#define MM5_R 4
#define MM5_C 4
#define MM8_R 4
#define MM8_C 4
#else
#define MM4_R 4
#define MM4_C 2
#define MM5_R 2
#define MM5_C 4
#define MM8_R 2
#define MM8_C 4
#endif
TILED_MATMAT(q4_0, 32, MM4_R, MM4_C)
TILED_MATMAT(q4_1, 32, MM4_R, MM4_C)
TILED_MATMAT(q5_0, 32, MM5_R, MM5_C)
TILED_MATMAT(q5_1, 32, MM5_R, MM5_C)
TILED_KERNELS(q8_0, 32, Q8_RMV, MM8_R, MM8_C)

/* --------------------------------------------------------------- K-quant tiles -- */

/* Q4_K/Q5_K: the 12 packed bytes -> 8 scales (bytes 0..7) and 8 mins (bytes 8..15). */
ALWAYS_INLINE __m128i k4_scales_mins(const uint8_t *q)
{
    uint32_t u[4];
    memcpy(u, q, 12);
    const uint32_t m6 = 0x3f3f3f3f, m4 = 0x0f0f0f0f, m2 = 0x03030303;
    u[3] = ((u[2] >> 4) & m4) | (((u[1] >> 6) & m2) << 4); /* mins 4..7 */
    uint32_t mins03 = u[1] & m6;
    u[1] = (u[2] & m4) | (((u[0] >> 6) & m2) << 4); /* scales 4..7 */
    u[2] = mins03;
    u[0] &= m6; /* scales 0..3 */
    return _mm_loadu_si128((const __m128i *)u);
}

/* Prefetch of one super-block `ahead` bytes on (each spans 3-4 cache lines). */
ALWAYS_INLINE void prefetch_block(const void *b, size_t ahead, size_t bytes)
{
    const char *p = (const char *)b + ahead;
    for (size_t o = 0; o < bytes; o += 64)
        _mm_prefetch(p + o, PF_HINT);
}

/* int16 broadcast of word k of a vector holding 8 int16 in both halves. */
ALWAYS_INLINE __m256i word_bcast(__m256i v, int k)
{
    return _mm256_shuffle_epi8(v, _mm256_set1_epi16((short)(((2 * k + 1) << 8) | (2 * k))));
}

/* HIGH: 0 for Q4_K, 1 for Q5_K (fifth bits in qh). */
#define KQ45_TILE(T, BT, HIGH)                                                                 \
    ALWAYS_INLINE void tile_##T(const uint8_t *w, size_t rb, const uint8_t *x, size_t xs,   \
                                int64_t nb, float *y, int64_t ldy, const int R, const int C, size_t pf) \
    {                                                                                         \
        __m256 acc[2][4];                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] =                   \
                _mm256_setzero_ps();                                                          \
        const __m256i m4 = _mm256_set1_epi8(0x0f);                                            \
        for (int64_t i = 0; i < nb; i++) {                                                    \
            _Pragma("GCC unroll 2") for (int r = 0; r < R; r++)                               \
            {                                                                                 \
                const BT *b = (const BT *)(w + (size_t)r * rb) + i;                           \
                prefetch_block(b, pf, sizeof(BT));                                                \
                __m128i sm = k4_scales_mins(b->scales);                                       \
                __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm));            \
                __m256i mn16 = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(                         \
                    sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15))); \
                __m256i isum[4];                                                              \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) isum[c] =                 \
                    _mm256_setzero_si256();                                                   \
                __m256i hb = HIGH ? _mm256_loadu_si256((const __m256i *)((const mlops__block_q5_k *)(const void *)b)->qh) \
                                  : _mm256_setzero_si256();                                   \
                _Pragma("GCC unroll 4") for (int j = 0; j < 4; j++)                           \
                {                                                                             \
                    __m256i q = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * j));        \
                    __m256i lo = _mm256_and_si256(q, m4);                                     \
                    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);               \
                    if (HIGH) {                                                               \
                        const __m256i one = _mm256_set1_epi8(1);                              \
                        lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4)); \
                        hi = _mm256_or_si256(                                                 \
                            hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4)); \
                        hb = _mm256_srli_epi16(hb, 2);                                        \
                    }                                                                         \
                    __m256i slo = word_bcast(sc16, 2 * j), shi = word_bcast(sc16, 2 * j + 1); \
                    _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                       \
                    {                                                                         \
                        const mlops__block_q8_k *yb = (const mlops__block_q8_k *)(x + (size_t)c * xs) + i; \
                        __m256i y0 = _mm256_loadu_si256((const __m256i *)(yb->qs + 64 * j));  \
                        __m256i y1 = _mm256_loadu_si256((const __m256i *)(yb->qs + 64 * j + 32)); \
                        __m256i p0 = _mm256_madd_epi16(_mm256_maddubs_epi16(lo, y0), slo);     \
                        __m256i p1 = _mm256_madd_epi16(_mm256_maddubs_epi16(hi, y1), shi);     \
                        isum[c] = _mm256_add_epi32(isum[c], _mm256_add_epi32(p0, p1));        \
                    }                                                                         \
                }                                                                             \
                float d = h2f(b->d), dmin = h2f(b->dmin);                                     \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                           \
                {                                                                             \
                    const mlops__block_q8_k *yb = (const mlops__block_q8_k *)(x + (size_t)c * xs) + i; \
                    __m256i ms = _mm256_madd_epi16(                                           \
                        _mm256_loadu_si256((const __m256i *)yb->bsums), mn16);                 \
                    acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(d * yb->d),                    \
                                                _mm256_cvtepi32_ps(isum[c]), acc[r][c]);      \
                    acc[r][c] = _mm256_fnmadd_ps(_mm256_set1_ps(dmin * yb->d),                \
                                                 _mm256_cvtepi32_ps(ms), acc[r][c]);          \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) y[c * ldy + r] =              \
                hsum(acc[r][c]);                                                              \
    }

KQ45_TILE(q4_k, mlops__block_q4_k, 0)
KQ45_TILE(q5_k, mlops__block_q5_k, 1)
TILED_KERNELS(q4_k, 256, 1, 1, 4)
TILED_KERNELS(q5_k, 256, 1, 1, 4)

/* Q6_K: 6-bit values taken unsigned (0..63) and the -32 folded in through bsums. */
ALWAYS_INLINE void tile_q6_k(const uint8_t *w, size_t rb, const uint8_t *x, size_t xs,
                             int64_t nb, float *y, int64_t ldy, const int R, const int C, size_t pf)
{
    __m256 acc[2][4];
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c] = _mm256_setzero_ps();
    const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(0x03);
    for (int64_t i = 0; i < nb; i++) {
        _Pragma("GCC unroll 2") for (int r = 0; r < R; r++)
        {
            const mlops__block_q6_k *b = (const mlops__block_q6_k *)(w + (size_t)r * rb) + i;
            prefetch_block(b, pf, sizeof(*b));
            __m128i sc8 = _mm_loadu_si128((const __m128i *)b->scales);
            __m256i isum[4];
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) isum[c] = _mm256_setzero_si256();
            _Pragma("GCC unroll 2") for (int h = 0; h < 2; h++)
            {
                __m256i q0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
                __m256i q1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
                __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
                _Pragma("GCC unroll 4") for (int k = 0; k < 4; k++)
                {
                    __m256i lowbits = (k & 1) ? q1 : q0;
                    lowbits = (k < 2) ? _mm256_and_si256(lowbits, m4)
                                      : _mm256_and_si256(_mm256_srli_epi16(lowbits, 4), m4);
                    __m256i hb = _mm256_and_si256(_mm256_srli_epi16(qh, 2 * k), m3);
                    __m256i q6 = _mm256_or_si256(lowbits, _mm256_slli_epi16(hb, 4));
                    int s0 = 8 * h + 2 * k;
                    __m128i sel = _mm_setr_epi8((char)s0, (char)s0, (char)s0, (char)s0, (char)s0,
                                                (char)s0, (char)s0, (char)s0, (char)(s0 + 1),
                                                (char)(s0 + 1), (char)(s0 + 1), (char)(s0 + 1),
                                                (char)(s0 + 1), (char)(s0 + 1), (char)(s0 + 1),
                                                (char)(s0 + 1));
                    __m256i scl = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc8, sel));
                    _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)
                    {
                        const mlops__block_q8_k *yb = (const mlops__block_q8_k *)(x + (size_t)c * xs) + i;
                        __m256i yv = _mm256_loadu_si256((const __m256i *)(yb->qs + 128 * h + 32 * k));
                        __m256i p = _mm256_madd_epi16(_mm256_maddubs_epi16(q6, yv), scl);
                        isum[c] = _mm256_add_epi32(isum[c], p);
                    }
                }
            }
            __m256i sc16 = _mm256_cvtepi8_epi16(sc8);
            float d = h2f(b->d);
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)
            {
                const mlops__block_q8_k *yb = (const mlops__block_q8_k *)(x + (size_t)c * xs) + i;
                __m256i off = _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)yb->bsums), sc16);
                __m256i s = _mm256_sub_epi32(isum[c], _mm256_slli_epi32(off, 5));
                acc[r][c] = _mm256_fmadd_ps(_mm256_set1_ps(d * yb->d), _mm256_cvtepi32_ps(s),
                                            acc[r][c]);
            }
        }
    }
    _Pragma("GCC unroll 4") for (int r = 0; r < R; r++)
        _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) y[c * ldy + r] = hsum(acc[r][c]);
}
TILED_KERNELS(q6_k, 256, 1, 1, 4)

/* ------------------------------------------------------------ float weight tiles -- */

ALWAYS_INLINE __m256 load_w_f32(const uint8_t *p, int64_t j)
{
    return _mm256_loadu_ps((const float *)(const void *)p + j);
}

ALWAYS_INLINE __m256 load_w_f16(const uint8_t *p, int64_t j)
{
    return load_f16((const uint16_t *)(const void *)p + j);
}

ALWAYS_INLINE __m256 load_w_bf16(const uint8_t *p, int64_t j)
{
    __m128i h = _mm_loadu_si128((const __m128i *)((const uint16_t *)(const void *)p + j));
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

ALWAYS_INLINE float w_f32(const uint8_t *p, int64_t j)
{
    return ((const float *)(const void *)p)[j];
}

ALWAYS_INLINE float w_f16(const uint8_t *p, int64_t j)
{
    return _cvtsh_ss(((const uint16_t *)(const void *)p)[j]);
}

ALWAYS_INLINE float w_bf16(const uint8_t *p, int64_t j)
{
    return mlops__bf16_to_fp32(((const uint16_t *)(const void *)p)[j]);
}

/*
 * Activations are F32; n need not be a multiple of 8. Four accumulators per pair (32
 * elements per step) so one row alone is not held back by the FMA latency; then 8 at a
 * time into the first, the four summed in a fixed order, and the tail added in order.
 */
#define FLOAT_TILE(T, LOADV, LOAD1)                                                            \
    ALWAYS_INLINE void tile_##T(const uint8_t *w, size_t rb, const uint8_t *x, size_t xs,   \
                                int64_t n, float *y, int64_t ldy, const int R, const int C, size_t pf) \
    {                                                                                         \
        __m256 acc[2][4][4];                                                                  \
        _Pragma("GCC unroll 2") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                               \
                _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++) acc[r][c][u] =            \
                    _mm256_setzero_ps();                                                      \
        int64_t j = 0;                                                                        \
        for (; j + 32 <= n; j += 32) {                                                        \
            /* 8 elements at a time: each weight vector and each activation vector is      \
               loaded once and used R x C times (the accumulators are as before) */         \
            _Pragma("GCC unroll 4") for (int u = 0; u < 4; u++)                               \
            {                                                                                 \
                __m256 wv[2];                                                                 \
                _Pragma("GCC unroll 2") for (int r = 0; r < R; r++) wv[r] =                   \
                    LOADV(w + (size_t)r * rb, j + 8 * u);                                     \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                           \
                {                                                                             \
                    __m256 xv = _mm256_loadu_ps((const float *)(const void *)(x + (size_t)c * xs) + j + 8 * u); \
                    _Pragma("GCC unroll 2") for (int r = 0; r < R; r++) acc[r][c][u] =        \
                        _mm256_fmadd_ps(wv[r], xv, acc[r][c][u]);                             \
                }                                                                             \
            }                                                                                 \
        }                                                                                     \
        for (; j + 8 <= n; j += 8) {                                                          \
            _Pragma("GCC unroll 2") for (int r = 0; r < R; r++)                               \
            {                                                                                 \
                __m256 wv = LOADV(w + (size_t)r * rb, j);                                     \
                _Pragma("GCC unroll 4") for (int c = 0; c < C; c++) acc[r][c][0] =            \
                    _mm256_fmadd_ps(wv,                                                       \
                                    _mm256_loadu_ps((const float *)(const void *)(x + (size_t)c * xs) + j), \
                                    acc[r][c][0]);                                            \
            }                                                                                 \
        }                                                                                     \
        _Pragma("GCC unroll 2") for (int r = 0; r < R; r++)                                   \
            _Pragma("GCC unroll 4") for (int c = 0; c < C; c++)                               \
            {                                                                                 \
                float s = hsum(_mm256_add_ps(_mm256_add_ps(acc[r][c][0], acc[r][c][1]),       \
                                             _mm256_add_ps(acc[r][c][2], acc[r][c][3])));     \
                const float *xv = (const float *)(const void *)(x + (size_t)c * xs);          \
                for (int64_t k = j; k < n; k++)                                               \
                    s += LOAD1(w + (size_t)r * rb, k) * xv[k];                                \
                y[c * ldy + r] = s;                                                           \
            }                                                                                 \
    }

FLOAT_TILE(f32, load_w_f32, w_f32)
FLOAT_TILE(f16, load_w_f16, w_f16)
FLOAT_TILE(bf16, load_w_bf16, w_bf16)
#if defined(MLOPS_Q_VNNI) /* 2 rows x 3 activations x 4 accumulators with 32 registers */
#define FLT_RMM 2
#define FLT_CMM 3
#else
#define FLT_RMM 1
#define FLT_CMM 3
#endif
TILED_KERNELS(f32, 1, FLT_RMV, FLT_RMM, FLT_CMM)
TILED_KERNELS(f16, 1, FLT_RMV, FLT_RMM, FLT_CMM)
TILED_KERNELS(bf16, 1, FLT_RMV, FLT_RMM, FLT_CMM)

/* ---------------------------------------------------------- activation quantisers -- */

ALWAYS_INLINE float hmax(__m256 v)
{
    __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    m = _mm_max_ps(m, _mm_movehl_ps(m, m));
    m = _mm_max_ss(m, _mm_movehdup_ps(m));
    return _mm_cvtss_f32(m);
}

/* 32 floats times id, rounded half-to-even, to 32 int8 in order. */
ALWAYS_INLINE __m256i round_pack32(const float *x, __m256 id)
{
#define RNE (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC) /* an immediate, even at -O0 */
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x), id), RNE));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 8), id), RNE));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 16), id), RNE));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(_mm256_loadu_ps(x + 24), id), RNE));
    __m256i p = _mm256_packs_epi16(_mm256_packs_epi32(i0, i1), _mm256_packs_epi32(i2, i3));
    return _mm256_permutevar8x32_epi32(p, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

static void act_q8_0_avx2(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_0 *b = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        __m256 m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x)),
                                 _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8)));
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 16)));
        m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + 24)));
        float d = hmax(m) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = mlops__fp32_to_fp16(d);
        _mm256_storeu_si256((__m256i *)b[i].qs, round_pack32(x, _mm256_set1_ps(id)));
    }
}

static void act_q8_k_avx2(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_k *b = dst;
    const __m256 sign = _mm256_set1_ps(-0.0f);
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        __m256 m = _mm256_setzero_ps();
        for (int j = 0; j < 256; j += 8)
            m = _mm256_max_ps(m, _mm256_andnot_ps(sign, _mm256_loadu_ps(x + j)));
        float d = hmax(m) / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = d;
        __m256 vid = _mm256_set1_ps(id);
        for (int g = 0; g < 8; g++) {
            __m256i q = round_pack32(x + 32 * g, vid);
            _mm256_storeu_si256((__m256i *)(b[i].qs + 32 * g), q);
            __m256i s = sum_s8(q); /* lanes 0..3: values 0..15, lanes 4..7: 16..31 */
            s = _mm256_hadd_epi32(s, s);
            s = _mm256_hadd_epi32(s, s);
            b[i].bsums[2 * g] = (int16_t)_mm256_extract_epi32(s, 0);
            b[i].bsums[2 * g + 1] = (int16_t)_mm256_extract_epi32(s, 4);
        }
    }
}

static void act_f32_avx2(const float *x, void *dst, int64_t n)
{
    memcpy(dst, x, (size_t)n * sizeof(float));
}

#define KA(T, ACT) {ACT, matvec_##T, matmat_##T}
const mlops__qkern QKERN[MLOPS__T_COUNT] = {
    [MLOPS__T_F32] = KA(f32, act_f32_avx2),
    [MLOPS__T_F16] = KA(f16, act_f32_avx2),
    [MLOPS__T_BF16] = KA(bf16, act_f32_avx2),
    [MLOPS__T_Q4_0] = KA(q4_0, act_q8_0_avx2),
    [MLOPS__T_Q4_1] = KA(q4_1, act_q8_0_avx2),
    [MLOPS__T_Q5_0] = KA(q5_0, act_q8_0_avx2),
    [MLOPS__T_Q5_1] = KA(q5_1, act_q8_0_avx2),
    [MLOPS__T_Q8_0] = KA(q8_0, act_q8_0_avx2),
    [MLOPS__T_Q4_K] = KA(q4_k, act_q8_k_avx2),
    [MLOPS__T_Q5_K] = KA(q5_k, act_q8_k_avx2),
    [MLOPS__T_Q6_K] = KA(q6_k, act_q8_k_avx2),
    [MLOPS__T_Q8_K] = {act_q8_k_avx2, NULL, NULL},
};

#elif defined(__x86_64__)
#error "quant_avx2.c must be compiled with -mavx2 -mfma -mf16c (see lib/engine/module.cmake)"
#else
typedef int mlops__quant_avx2_unused; /* not an x86-64 build */
#endif
