/*
 * NEON kernels (AArch64, where NEON is part of the base ISA): Q4_0 and Q8_0 weights
 * against Q8_0 activations (SDOT when the compiler targets +dotprod, widening multiplies
 * otherwise), F32/F16 weights, and the float helpers. Other types fall back to the scalar
 * reference through the dispatcher. As on x86, each (row, activation) pair is computed
 * with one fixed sequence, so matmat == matvec and row splits give identical bits.
 */
#include "quant.h"

#if defined(__ARM_NEON) && defined(__aarch64__)

#include <arm_neon.h>
#include <string.h>

static inline float h2f(uint16_t h)
{
    return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0);
}

static inline int32x4_t dot16(int32x4_t acc, int8x16_t a, int8x16_t b)
{
#if defined(__ARM_FEATURE_DOTPROD)
    return vdotq_s32(acc, a, b);
#else
    int16x8_t p0 = vmull_s8(vget_low_s8(a), vget_low_s8(b));
    int16x8_t p1 = vmull_high_s8(a, b);
    return vpadalq_s16(vpadalq_s16(acc, p0), p1);
#endif
}

/* ------------------------------------------------------------------ quantised -- */

static float row_q4_0(int64_t nb, const mlops__block_q4_0 *w, const mlops__block_q8_0 *y)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    const uint8x16_t m4 = vdupq_n_u8(0x0f);
    const int8x16_t eight = vdupq_n_s8(8);
    for (int64_t i = 0; i < nb; i++) {
        uint8x16_t q = vld1q_u8(w[i].qs);
        int8x16_t lo = vsubq_s8(vreinterpretq_s8_u8(vandq_u8(q, m4)), eight);
        int8x16_t hi = vsubq_s8(vreinterpretq_s8_u8(vshrq_n_u8(q, 4)), eight);
        int32x4_t s = dot16(dot16(vdupq_n_s32(0), lo, vld1q_s8(y[i].qs)), hi,
                            vld1q_s8(y[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vdupq_n_f32(h2f(w[i].d) * h2f(y[i].d)));
    }
    return vaddvq_f32(acc);
}

static float row_q8_0(int64_t nb, const mlops__block_q8_0 *w, const mlops__block_q8_0 *y)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    for (int64_t i = 0; i < nb; i++) {
        int32x4_t s = dot16(dot16(vdupq_n_s32(0), vld1q_s8(w[i].qs), vld1q_s8(y[i].qs)),
                            vld1q_s8(w[i].qs + 16), vld1q_s8(y[i].qs + 16));
        acc = vfmaq_f32(acc, vcvtq_f32_s32(s), vdupq_n_f32(h2f(w[i].d) * h2f(y[i].d)));
    }
    return vaddvq_f32(acc);
}

/* ---------------------------------------------------------------------- floats -- */

static float row_f32(int64_t n, const float *a, const float *b)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        acc = vfmaq_f32(acc, vld1q_f32(a + j), vld1q_f32(b + j));
    float s = vaddvq_f32(acc);
    for (; j < n; j++)
        s += a[j] * b[j];
    return s;
}

static inline float32x4_t load_f16(const uint16_t *p)
{
    return vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(p)));
}

static float row_f16(int64_t n, const uint16_t *a, const float *b)
{
    float32x4_t acc = vdupq_n_f32(0.0f);
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        acc = vfmaq_f32(acc, load_f16(a + j), vld1q_f32(b + j));
    float s = vaddvq_f32(acc);
    for (; j < n; j++)
        s += h2f(a[j]) * b[j];
    return s;
}

#define ROW_KERNELS(T, CALL)                                                                   \
    static void matvec_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *xq, float *y)                                          \
    {                                                                                         \
        for (int64_t r = r0; r < r1; r++) {                                                   \
            const void *wr = (const uint8_t *)W + (size_t)r * rb;                             \
            y[r - r0] = CALL;                                                                 \
        }                                                                                     \
    }                                                                                         \
    static void matmat_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *Xq, int64_t B, size_t xs, float *Y, int64_t ldy)       \
    {                                                                                         \
        for (int64_t b = 0; b < B; b++)                                                       \
            matvec_##T(W, rb, n, r0, r1, (const uint8_t *)Xq + (size_t)b * xs, Y + b * ldy);  \
    }

ROW_KERNELS(q4_0, row_q4_0(n / 32, wr, xq))
ROW_KERNELS(q8_0, row_q8_0(n / 32, wr, xq))
ROW_KERNELS(f32, row_f32(n, wr, xq))
ROW_KERNELS(f16, row_f16(n, wr, xq))

const mlops__qkern mlops__qkern_neon[MLOPS__T_COUNT] = {
    [MLOPS__T_F32] = {NULL, matvec_f32, matmat_f32},
    [MLOPS__T_F16] = {NULL, matvec_f16, matmat_f16},
    [MLOPS__T_Q4_0] = {NULL, matvec_q4_0, matmat_q4_0},
    [MLOPS__T_Q8_0] = {NULL, matvec_q8_0, matmat_q8_0},
};

static float dot_f32_neon(const float *a, const float *b, int64_t n)
{
    return row_f32(n, a, b);
}

static float dot_f16_f32_neon(const uint16_t *a, const float *b, int64_t n)
{
    return row_f16(n, a, b);
}

static void axpy_f16_f32_neon(float alpha, const uint16_t *a, float *y, int64_t n)
{
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        vst1q_f32(y + j, vfmaq_n_f32(vld1q_f32(y + j), load_f16(a + j), alpha));
    for (; j < n; j++)
        y[j] += alpha * h2f(a[j]);
}

static void fp16_to_fp32_row_neon(const uint16_t *src, float *dst, int64_t n)
{
    int64_t j = 0;
    for (; j + 4 <= n; j += 4)
        vst1q_f32(dst + j, load_f16(src + j));
    for (; j < n; j++)
        dst[j] = mlops__fp16_to_fp32(src[j]);
}

/* fp32 -> fp16 stays the scalar rounding (bit-exact with the reference, NaNs included). */
static void fp32_to_fp16_row_neon(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t j = 0; j < n; j++)
        dst[j] = mlops__fp32_to_fp16(src[j]);
}

const mlops__qmisc mlops__qmisc_neon = {
    dot_f16_f32_neon, axpy_f16_f32_neon, dot_f32_neon, fp16_to_fp32_row_neon,
    fp32_to_fp16_row_neon,
};

#else
typedef int mlops__quant_neon_unused; /* not an AArch64 NEON build */
#endif
