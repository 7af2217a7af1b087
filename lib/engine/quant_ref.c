/*
 * Scalar reference for every type: dequantisers, quantisers (GGML's reference
 * algorithms: round-to-nearest block scales for the legacy quants, the weighted
 * iterative scale/min search for the K-quants), activation conversion and dot products.
 * The SIMD files are tested against these.
 */
#include "quant.h"

#include <math.h>
#include <string.h>

#define FP16(h) mlops__fp16_to_fp32(h)
#define TO_FP16(f) mlops__fp32_to_fp16(f)
#define GROUP_MAX_EPS 1e-15f

/* ---------------------------------------------------------------- dequantisers -- */

static void deq_q4_0(const void *src, float *y, int64_t n)
{
    const mlops__block_q4_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)((b[i].qs[j] & 0x0f) - 8) * d;
            y[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void deq_q4_1(const void *src, float *y, int64_t n)
{
    const mlops__block_q4_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d), m = FP16(b[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (float)(b[i].qs[j] & 0x0f) * d + m;
            y[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

static inline uint32_t load_u32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Q5: element j's fifth bit is bit j of qh (little-endian 32-bit), j+16's is bit j+16. */
static void deq_q5_0(const void *src, float *y, int64_t n)
{
    const mlops__block_q5_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d);
        uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)(((b[i].qs[j] & 0x0f) | h0) - 16) * d;
            y[j + 16] = (float)(((b[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

static void deq_q5_1(const void *src, float *y, int64_t n)
{
    const mlops__block_q5_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d), m = FP16(b[i].m);
        uint32_t qh = load_u32(b[i].qh);
        for (int j = 0; j < 16; j++) {
            int h0 = ((qh >> j) & 1) << 4, h1 = ((qh >> (j + 16)) & 1) << 4;
            y[j] = (float)((b[i].qs[j] & 0x0f) | h0) * d + m;
            y[j + 16] = (float)((b[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

static void deq_q8_0(const void *src, float *y, int64_t n)
{
    const mlops__block_q8_0 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d);
        for (int j = 0; j < 32; j++)
            y[j] = (float)b[i].qs[j] * d;
    }
}

static void deq_q8_1(const void *src, float *y, int64_t n)
{
    const mlops__block_q8_1 *b = src;
    for (int64_t i = 0; i < n / 32; i++, y += 32) {
        float d = FP16(b[i].d);
        for (int j = 0; j < 32; j++)
            y[j] = (float)b[i].qs[j] * d;
    }
}

/* Q4_K/Q5_K: eight 6-bit scales and eight 6-bit mins packed into 12 bytes. */
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *sc, uint8_t *m)
{
    if (j < 4) {
        *sc = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *sc = (uint8_t)((q[j + 4] & 0x0f) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void deq_q4_k(const void *src, float *y, int64_t n)
{
    const mlops__block_q4_k *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        float d = FP16(b[i].d), dmin = FP16(b[i].dmin);
        const uint8_t *q = b[i].qs;
        for (int j = 0; j < 8; j += 2, q += 32) {
            uint8_t sc, m;
            scale_min_k4(j, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(j + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)(q[l] & 0x0f) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)(q[l] >> 4) - m2;
        }
    }
}

static void deq_q5_k(const void *src, float *y, int64_t n)
{
    const mlops__block_q5_k *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        float d = FP16(b[i].d), dmin = FP16(b[i].dmin);
        const uint8_t *ql = b[i].qs, *qh = b[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int j = 0; j < 8; j += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            scale_min_k4(j, b[i].scales, &sc, &m);
            float d1 = d * sc, m1 = dmin * m;
            scale_min_k4(j + 1, b[i].scales, &sc, &m);
            float d2 = d * sc, m2 = dmin * m;
            for (int l = 0; l < 32; l++)
                *y++ = d1 * (float)((ql[l] & 0x0f) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++)
                *y++ = d2 * (float)((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

/* Q6_K: 128-element halves; element l+32k takes nibble k/2 of ql and bits 2k..2k+1 of qh. */
/* k: 0 -> ql[l] low nibble, 1 -> ql[l+32] low, 2 -> ql[l] high, 3 -> ql[l+32] high. */
static inline int q6_value(const uint8_t *ql, const uint8_t *qh, int l, int k)
{
    int byte = (k == 0 || k == 2) ? ql[l] : ql[l + 32];
    int nib = (k < 2) ? (byte & 0x0f) : (byte >> 4);
    return (nib | (((qh[l] >> (2 * k)) & 3) << 4)) - 32;
}

static void deq_q6_k(const void *src, float *y, int64_t n)
{
    const mlops__block_q6_k *b = src;
    for (int64_t i = 0; i < n / 256; i++) {
        float d = FP16(b[i].d);
        const uint8_t *ql = b[i].ql, *qh = b[i].qh;
        const int8_t *sc = b[i].scales;
        for (int h = 0; h < 2; h++, ql += 64, qh += 32, sc += 8, y += 128)
            for (int k = 0; k < 4; k++)
                for (int l = 0; l < 32; l++)
                    y[32 * k + l] = d * (float)sc[2 * k + l / 16] * (float)q6_value(ql, qh, l, k);
    }
}

static void deq_q8_k(const void *src, float *y, int64_t n)
{
    const mlops__block_q8_k *b = src;
    for (int64_t i = 0; i < n / 256; i++)
        for (int j = 0; j < 256; j++)
            *y++ = b[i].d * (float)b[i].qs[j];
}

void mlops__q_dequantize_row(int type, const void *src, float *dst, int64_t n)
{
    switch (type) {
    case MLOPS__T_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case MLOPS__T_F16: mlops__fp16_to_fp32_row(src, dst, n); break;
    case MLOPS__T_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++)
            dst[i] = mlops__bf16_to_fp32(s[i]);
        break;
    }
    case MLOPS__T_Q4_0: deq_q4_0(src, dst, n); break;
    case MLOPS__T_Q4_1: deq_q4_1(src, dst, n); break;
    case MLOPS__T_Q5_0: deq_q5_0(src, dst, n); break;
    case MLOPS__T_Q5_1: deq_q5_1(src, dst, n); break;
    case MLOPS__T_Q8_0: deq_q8_0(src, dst, n); break;
    case MLOPS__T_Q8_1: deq_q8_1(src, dst, n); break;
    case MLOPS__T_Q4_K: deq_q4_k(src, dst, n); break;
    case MLOPS__T_Q5_K: deq_q5_k(src, dst, n); break;
    case MLOPS__T_Q6_K: deq_q6_k(src, dst, n); break;
    case MLOPS__T_Q8_K: deq_q8_k(src, dst, n); break;
    default: memset(dst, 0, (size_t)n * sizeof(float)); break;
    }
}

/* ------------------------------------------------------------------ quantisers -- */

/* The value of largest magnitude, with its sign (the first one on ties). */
static float signed_absmax(const float *x, int n)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++)
        if (fabsf(x[j]) > amax) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    return max;
}

static void quant_q4_0(const float *x, void *dst, int64_t n)
{
    mlops__block_q4_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float max = signed_absmax(x, 32);
        float d = max / -8.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = TO_FP16(d);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)(x[j] * id + 8.5f), q1 = (int)(int8_t)(x[j + 16] * id + 8.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void minmax(const float *x, int n, float *mn, float *mx)
{
    float a = x[0], b = x[0];
    for (int j = 1; j < n; j++) {
        a = x[j] < a ? x[j] : a;
        b = x[j] > b ? x[j] : b;
    }
    *mn = a;
    *mx = b;
}

static void quant_q4_1(const float *x, void *dst, int64_t n)
{
    mlops__block_q4_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        minmax(x, 32, &mn, &mx);
        float d = (mx - mn) / 15.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = TO_FP16(d);
        b[i].m = TO_FP16(mn);
        for (int j = 0; j < 16; j++) {
            int q0 = (int)(int8_t)((x[j] - mn) * id + 0.5f);
            int q1 = (int)(int8_t)((x[j + 16] - mn) * id + 0.5f);
            q0 = q0 > 15 ? 15 : q0;
            q1 = q1 > 15 ? 15 : q1;
            b[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

static void pack_q5(const int *q, uint8_t qs[16], uint8_t qh[4])
{
    uint32_t h = 0;
    for (int j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
        h |= (uint32_t)((q[j] >> 4) & 1) << j;
        h |= (uint32_t)((q[j + 16] >> 4) & 1) << (j + 16);
    }
    qh[0] = (uint8_t)h;
    qh[1] = (uint8_t)(h >> 8);
    qh[2] = (uint8_t)(h >> 16);
    qh[3] = (uint8_t)(h >> 24);
}

static void quant_q5_0(const float *x, void *dst, int64_t n)
{
    mlops__block_q5_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float max = signed_absmax(x, 32);
        float d = max / -16.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int q[32];
        for (int j = 0; j < 32; j++) {
            q[j] = (int)(int8_t)(x[j] * id + 16.5f);
            q[j] = q[j] > 31 ? 31 : q[j];
        }
        b[i].d = TO_FP16(d);
        pack_q5(q, b[i].qs, b[i].qh);
    }
}

static void quant_q5_1(const float *x, void *dst, int64_t n)
{
    mlops__block_q5_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float mn, mx;
        minmax(x, 32, &mn, &mx);
        float d = (mx - mn) / 31.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int q[32];
        for (int j = 0; j < 32; j++) {
            q[j] = (int)(int8_t)((x[j] - mn) * id + 0.5f);
            q[j] = q[j] > 31 ? 31 : q[j];
        }
        b[i].d = TO_FP16(d);
        b[i].m = TO_FP16(mn);
        pack_q5(q, b[i].qs, b[i].qh);
    }
}

static void quant_q8_0(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = TO_FP16(d);
        for (int j = 0; j < 32; j++)
            b[i].qs[j] = (int8_t)roundf(x[j] * id);
    }
}

static void quant_q8_1(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_1 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        int sum = 0;
        for (int j = 0; j < 32; j++) {
            b[i].qs[j] = (int8_t)roundf(x[j] * id);
            sum += b[i].qs[j];
        }
        b[i].d = TO_FP16(d);
        b[i].s = TO_FP16((float)sum * d);
    }
}

/*
 * GGML's make_qx_quants: symmetric quantisation to [-nmax, nmax-1] choosing the scale
 * among 19 candidates around nmax/max that maximises the weighted fit (rmse_type 1:
 * weights x^2). L receives values offset by nmax.
 */
static float make_qx_quants(int n, int nmax, const float *x, int8_t *L)
{
    float max = 0.0f, amax = 0.0f;
    for (int i = 0; i < n; i++) {
        float ax = fabsf(x[i]);
        if (ax > amax) {
            amax = ax;
            max = x[i];
        }
    }
    if (amax < GROUP_MAX_EPS) {
        memset(L, 0, (size_t)n);
        return 0.0f;
    }
    float iscale = -(float)nmax / max;
    float sumlx = 0.0f, suml2 = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = mlops__q_nearest_int(iscale * x[i]);
        l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
        L[i] = (int8_t)(l + nmax);
        float w = x[i] * x[i];
        sumlx += w * x[i] * (float)l;
        suml2 += w * (float)l * (float)l;
    }
    float scale = suml2 != 0.0f ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;
    for (int is = -9; is <= 9; is++) {
        if (is == 0)
            continue;
        iscale = -((float)nmax + 0.1f * (float)is) / max;
        sumlx = suml2 = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = mlops__q_nearest_int(iscale * x[i]);
            l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
            float w = x[i] * x[i];
            sumlx += w * x[i] * (float)l;
            suml2 += w * (float)l * (float)l;
        }
        if (suml2 > 0.0f && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; i++) {
                int l = mlops__q_nearest_int(iscale * x[i]);
                l = l < -nmax ? -nmax : l > nmax - 1 ? nmax - 1 : l;
                L[i] = (int8_t)(l + nmax);
            }
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

/*
 * GGML's make_qkx2_quants: asymmetric quantisation to [0, nmax] with a scale and a min
 * (x ~ scale * L - the_min), starting from the min/max fit and trying nstep+1 scales
 * rmin + rdelta*is around it, each refined by weighted least squares.
 */
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights,
                              uint8_t *L, float *the_min, uint8_t *Laux, float rmin,
                              float rdelta, int nstep)
{
    float mn = x[0], mx = x[0];
    float sum_w = weights[0], sum_x = sum_w * x[0];
    for (int i = 1; i < n; i++) {
        mn = x[i] < mn ? x[i] : mn;
        mx = x[i] > mx ? x[i] : mx;
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (mn > 0.0f)
        mn = 0.0f;
    if (mx == mn) {
        memset(L, 0, (size_t)n);
        *the_min = -mn;
        return 0.0f;
    }
    float iscale = (float)nmax / (mx - mn), scale = 1.0f / iscale;
    float best_mad = 0.0f;
    for (int i = 0; i < n; i++) {
        int l = mlops__q_nearest_int(iscale * (x[i] - mn));
        L[i] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        float diff = scale * (float)L[i] + mn - x[i];
        best_mad += weights[i] * diff * diff;
    }
    for (int is = 0; is <= nstep; is++) {
        iscale = (rmin + rdelta * (float)is + (float)nmax) / (mx - mn);
        float sum_l = 0.0f, sum_l2 = 0.0f, sum_xl = 0.0f;
        for (int i = 0; i < n; i++) {
            int l = mlops__q_nearest_int(iscale * (x[i] - mn));
            l = l < 0 ? 0 : l > nmax ? nmax : l;
            Laux[i] = (uint8_t)l;
            float w = weights[i];
            sum_l += w * (float)l;
            sum_l2 += w * (float)l * (float)l;
            sum_xl += w * (float)l * x[i];
        }
        float D = sum_w * sum_l2 - sum_l * sum_l;
        if (D > 0.0f) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
            if (this_min > 0.0f) {
                this_min = 0.0f;
                this_scale = sum_xl / sum_l2;
            }
            float mad = 0.0f;
            for (int i = 0; i < n; i++) {
                float diff = this_scale * (float)Laux[i] + this_min - x[i];
                mad += weights[i] * diff * diff;
            }
            if (mad < best_mad) {
                memcpy(L, Laux, (size_t)n);
                best_mad = mad;
                scale = this_scale;
                mn = this_min;
            }
        }
    }
    *the_min = -mn;
    return scale;
}

/* Shared by Q4_K (nmax 15) and Q5_K (nmax 31): per-32 scales and mins packed to 6 bits
 * in 12 bytes, then the levels L recomputed with the rounded scales. */
static void quant_k_scales(const float *x, int nmax, float rmin, int nstep, uint8_t *L,
                           uint8_t scales_out[12], uint16_t *d_out, uint16_t *dmin_out)
{
    float scales[8], mins[8], weights[32];
    uint8_t Laux[32];
    float max_scale = 0.0f, max_min = 0.0f;
    for (int j = 0; j < 8; j++) {
        float sum_x2 = 0.0f;
        for (int l = 0; l < 32; l++)
            sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32.0f);
        for (int l = 0; l < 32; l++)
            weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], Laux,
                                     rmin, 0.1f, nstep);
        if (scales[j] > max_scale)
            max_scale = scales[j];
        if (mins[j] > max_min)
            max_min = mins[j];
    }
    float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
    float inv_min = max_min > 0.0f ? 63.0f / max_min : 0.0f;
    memset(scales_out, 0, 12);
    for (int j = 0; j < 8; j++) {
        int ls = mlops__q_nearest_int(inv_scale * scales[j]);
        int lm = mlops__q_nearest_int(inv_min * mins[j]);
        ls = ls > 63 ? 63 : ls;
        lm = lm > 63 ? 63 : lm;
        if (j < 4) {
            scales_out[j] = (uint8_t)ls;
            scales_out[j + 4] = (uint8_t)lm;
        } else {
            scales_out[j + 4] = (uint8_t)((ls & 0x0f) | ((lm & 0x0f) << 4));
            scales_out[j - 4] |= (uint8_t)((ls >> 4) << 6);
            scales_out[j] |= (uint8_t)((lm >> 4) << 6);
        }
    }
    *d_out = TO_FP16(max_scale / 63.0f);
    *dmin_out = TO_FP16(max_min / 63.0f);
    float d = FP16(*d_out), dmin = FP16(*dmin_out);
    for (int j = 0; j < 8; j++) {
        uint8_t sc, m;
        scale_min_k4(j, scales_out, &sc, &m);
        float dd = d * sc;
        if (dd == 0.0f)
            continue;
        float dm = dmin * m;
        for (int ii = 0; ii < 32; ii++) {
            int l = mlops__q_nearest_int((x[32 * j + ii] + dm) / dd);
            L[32 * j + ii] = (uint8_t)(l < 0 ? 0 : l > nmax ? nmax : l);
        }
    }
}

static void quant_q4_k(const float *x, void *dst, int64_t n)
{
    mlops__block_q4_k *b = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        uint8_t L[256];
        quant_k_scales(x, 15, -1.0f, 20, L, b[i].scales, &b[i].d, &b[i].dmin);
        uint8_t *q = b[i].qs;
        for (int j = 0; j < 256; j += 64, q += 32)
            for (int l = 0; l < 32; l++)
                q[l] = (uint8_t)(L[j + l] | (L[j + l + 32] << 4));
    }
}

static void quant_q5_k(const float *x, void *dst, int64_t n)
{
    mlops__block_q5_k *b = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        uint8_t L[256];
        quant_k_scales(x, 31, -0.5f, 15, L, b[i].scales, &b[i].d, &b[i].dmin);
        uint8_t *ql = b[i].qs, *qh = b[i].qh;
        memset(qh, 0, 32);
        uint8_t m1 = 1, m2 = 2;
        for (int j = 0; j < 256; j += 64, ql += 32, m1 <<= 2, m2 <<= 2)
            for (int l = 0; l < 32; l++) {
                int l1 = L[j + l], l2 = L[j + l + 32];
                if (l1 > 15) {
                    l1 -= 16;
                    qh[l] |= m1;
                }
                if (l2 > 15) {
                    l2 -= 16;
                    qh[l] |= m2;
                }
                ql[l] = (uint8_t)(l1 | (l2 << 4));
            }
    }
}

static void quant_q6_k(const float *x, void *dst, int64_t n)
{
    mlops__block_q6_k *b = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        int8_t L[256];
        float scales[16], max_scale = 0.0f, max_abs_scale = 0.0f;
        for (int ib = 0; ib < 16; ib++) {
            scales[ib] = make_qx_quants(16, 32, x + 16 * ib, L + 16 * ib);
            if (fabsf(scales[ib]) > max_abs_scale) {
                max_abs_scale = fabsf(scales[ib]);
                max_scale = scales[ib];
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&b[i], 0, sizeof(b[i]));
            continue;
        }
        float iscale = -128.0f / max_scale;
        b[i].d = TO_FP16(1.0f / iscale);
        for (int ib = 0; ib < 16; ib++) {
            int s = mlops__q_nearest_int(iscale * scales[ib]);
            b[i].scales[ib] = (int8_t)(s > 127 ? 127 : s);
        }
        float d0 = FP16(b[i].d);
        for (int j = 0; j < 16; j++) {
            float d = d0 * (float)b[i].scales[j];
            if (d == 0.0f)
                continue;
            for (int ii = 0; ii < 16; ii++) {
                int l = mlops__q_nearest_int(x[16 * j + ii] / d);
                l = l < -32 ? -32 : l > 31 ? 31 : l;
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = b[i].ql, *qh = b[i].qh;
        for (int j = 0; j < 256; j += 128, ql += 64, qh += 32)
            for (int l = 0; l < 32; l++) {
                int q1 = L[j + l], q2 = L[j + l + 32], q3 = L[j + l + 64], q4 = L[j + l + 96];
                ql[l] = (uint8_t)((q1 & 0x0f) | ((q3 & 0x0f) << 4));
                ql[l + 32] = (uint8_t)((q2 & 0x0f) | ((q4 & 0x0f) << 4));
                qh[l] = (uint8_t)((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
            }
    }
}

/* Activations. Round half to even with id = 1/d, so the SIMD versions are bit-exact. */
static void act_q8_0(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_0 *b = dst;
    for (int64_t i = 0; i < n / 32; i++, x += 32) {
        float amax = 0.0f;
        for (int j = 0; j < 32; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = TO_FP16(d);
        for (int j = 0; j < 32; j++)
            b[i].qs[j] = (int8_t)mlops__q_nearest_int(x[j] * id);
    }
}

static void act_q8_k(const float *x, void *dst, int64_t n)
{
    mlops__block_q8_k *b = dst;
    for (int64_t i = 0; i < n / 256; i++, x += 256) {
        float amax = 0.0f;
        for (int j = 0; j < 256; j++)
            amax = fmaxf(amax, fabsf(x[j]));
        float d = amax / 127.0f, id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = d;
        for (int j = 0; j < 256; j++) {
            int q = mlops__q_nearest_int(x[j] * id);
            b[i].qs[j] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
        }
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += b[i].qs[16 * j + l];
            b[i].bsums[j] = (int16_t)s;
        }
    }
}

static void act_f32(const float *x, void *dst, int64_t n)
{
    memcpy(dst, x, (size_t)n * sizeof(float));
}

void mlops__q_quantize_row(int type, const float *src, void *dst, int64_t n)
{
    switch (type) {
    case MLOPS__T_F32: memcpy(dst, src, (size_t)n * sizeof(float)); break;
    case MLOPS__T_F16: mlops__fp32_to_fp16_row(src, dst, n); break;
    case MLOPS__T_BF16: {
        uint16_t *d = dst;
        for (int64_t i = 0; i < n; i++)
            d[i] = mlops__fp32_to_bf16(src[i]);
        break;
    }
    case MLOPS__T_Q4_0: quant_q4_0(src, dst, n); break;
    case MLOPS__T_Q4_1: quant_q4_1(src, dst, n); break;
    case MLOPS__T_Q5_0: quant_q5_0(src, dst, n); break;
    case MLOPS__T_Q5_1: quant_q5_1(src, dst, n); break;
    case MLOPS__T_Q8_0: quant_q8_0(src, dst, n); break;
    case MLOPS__T_Q8_1: quant_q8_1(src, dst, n); break;
    case MLOPS__T_Q4_K: quant_q4_k(src, dst, n); break;
    case MLOPS__T_Q5_K: quant_q5_k(src, dst, n); break;
    case MLOPS__T_Q6_K: quant_q6_k(src, dst, n); break;
    case MLOPS__T_Q8_K: act_q8_k(src, dst, n); break;
    default: break;
    }
}

/* ---------------------------------------------------------------- dot products -- */

static float dot_q4_0(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q4_0 *a = w;
    const mlops__block_q8_0 *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 16; j++)
            s += ((a[i].qs[j] & 0x0f) - 8) * b[i].qs[j] + ((a[i].qs[j] >> 4) - 8) * b[i].qs[j + 16];
        sum += (float)s * (FP16(a[i].d) * FP16(b[i].d));
    }
    return sum;
}

static float dot_q4_1(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q4_1 *a = w;
    const mlops__block_q8_0 *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0, sy = 0;
        for (int j = 0; j < 16; j++) {
            s += (a[i].qs[j] & 0x0f) * b[i].qs[j] + (a[i].qs[j] >> 4) * b[i].qs[j + 16];
            sy += b[i].qs[j] + b[i].qs[j + 16];
        }
        float dy = FP16(b[i].d);
        sum += (float)s * (FP16(a[i].d) * dy) + (float)sy * (FP16(a[i].m) * dy);
    }
    return sum;
}

static float dot_q5_0(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q5_0 *a = w;
    const mlops__block_q8_0 *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh = load_u32(a[i].qh);
        int s = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = ((a[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4)) - 16;
            int q1 = ((a[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - 16;
            s += q0 * b[i].qs[j] + q1 * b[i].qs[j + 16];
        }
        sum += (float)s * (FP16(a[i].d) * FP16(b[i].d));
    }
    return sum;
}

static float dot_q5_1(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q5_1 *a = w;
    const mlops__block_q8_0 *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        uint32_t qh = load_u32(a[i].qh);
        int s = 0, sy = 0;
        for (int j = 0; j < 16; j++) {
            int q0 = (a[i].qs[j] & 0x0f) | (((qh >> j) & 1) << 4);
            int q1 = (a[i].qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4);
            s += q0 * b[i].qs[j] + q1 * b[i].qs[j + 16];
            sy += b[i].qs[j] + b[i].qs[j + 16];
        }
        float dy = FP16(b[i].d);
        sum += (float)s * (FP16(a[i].d) * dy) + (float)sy * (FP16(a[i].m) * dy);
    }
    return sum;
}

static float dot_q8_0(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q8_0 *a = w, *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++)
            s += a[i].qs[j] * b[i].qs[j];
        sum += (float)s * (FP16(a[i].d) * FP16(b[i].d));
    }
    return sum;
}

static float dot_q8_1(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q8_1 *a = w;
    const mlops__block_q8_0 *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 32; i++) {
        int s = 0;
        for (int j = 0; j < 32; j++)
            s += a[i].qs[j] * b[i].qs[j];
        sum += (float)s * (FP16(a[i].d) * FP16(b[i].d));
    }
    return sum;
}

static float dot_q4_k(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q4_k *a = w;
    const mlops__block_q8_k *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            scale_min_k4(j, a[i].scales, &sc, &m);
            const uint8_t *q = a[i].qs + 32 * (j / 2);
            const int8_t *y = b[i].qs + 32 * j;
            int s = 0;
            for (int l = 0; l < 32; l++)
                s += ((j & 1) ? (q[l] >> 4) : (q[l] & 0x0f)) * y[l];
            sumi += sc * s;
            summ += m * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        }
        sum += b[i].d * FP16(a[i].d) * (float)sumi - b[i].d * FP16(a[i].dmin) * (float)summ;
    }
    return sum;
}

static float dot_q5_k(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q5_k *a = w;
    const mlops__block_q8_k *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int sumi = 0, summ = 0;
        for (int j = 0; j < 8; j++) {
            uint8_t sc, m;
            scale_min_k4(j, a[i].scales, &sc, &m);
            const uint8_t *q = a[i].qs + 32 * (j / 2);
            const int8_t *y = b[i].qs + 32 * j;
            int s = 0;
            for (int l = 0; l < 32; l++) {
                int v = ((j & 1) ? (q[l] >> 4) : (q[l] & 0x0f)) | (((a[i].qh[l] >> j) & 1) << 4);
                s += v * y[l];
            }
            sumi += sc * s;
            summ += m * (b[i].bsums[2 * j] + b[i].bsums[2 * j + 1]);
        }
        sum += b[i].d * FP16(a[i].d) * (float)sumi - b[i].d * FP16(a[i].dmin) * (float)summ;
    }
    return sum;
}

static float dot_q6_k(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q6_k *a = w;
    const mlops__block_q8_k *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int sumi = 0;
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = a[i].ql + 64 * h, *qh = a[i].qh + 32 * h;
            const int8_t *sc = a[i].scales + 8 * h;
            const int8_t *y = b[i].qs + 128 * h;
            for (int k = 0; k < 4; k++)
                for (int g = 0; g < 2; g++) {
                    int s = 0;
                    for (int l = 16 * g; l < 16 * g + 16; l++)
                        s += q6_value(ql, qh, l, k) * y[32 * k + l];
                    sumi += sc[2 * k + g] * s;
                }
        }
        sum += b[i].d * FP16(a[i].d) * (float)sumi;
    }
    return sum;
}

static float dot_q8_k(int64_t n, const void *w, const void *xq)
{
    const mlops__block_q8_k *a = w, *b = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n / 256; i++) {
        int s = 0;
        for (int j = 0; j < 256; j++)
            s += a[i].qs[j] * b[i].qs[j];
        sum += a[i].d * b[i].d * (float)s;
    }
    return sum;
}

static float dot_f32_ref(const float *a, const float *b, int64_t n)
{
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += a[i] * b[i];
    return sum;
}

static float dot_f32w(int64_t n, const void *w, const void *xq)
{
    return dot_f32_ref(w, xq, n);
}

static float dot_f16w(int64_t n, const void *w, const void *xq)
{
    const uint16_t *a = w;
    const float *x = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += mlops__fp16_to_fp32(a[i]) * x[i];
    return sum;
}

static float dot_bf16w(int64_t n, const void *w, const void *xq)
{
    const uint16_t *a = w;
    const float *x = xq;
    float sum = 0.0f;
    for (int64_t i = 0; i < n; i++)
        sum += mlops__bf16_to_fp32(a[i]) * x[i];
    return sum;
}

/* matvec/matmat as loops over the dot product, one set per type. */
#define REF_KERNELS(T, DOT)                                                                   \
    static void matvec_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *xq, float *y)                                          \
    {                                                                                          \
        for (int64_t r = r0; r < r1; r++)                                                      \
            y[r - r0] = DOT(n, (const uint8_t *)W + (size_t)r * rb, xq);                       \
    }                                                                                          \
    static void matmat_##T(const void *W, size_t rb, int64_t n, int64_t r0, int64_t r1,      \
                           const void *Xq, int64_t B, size_t xs, float *Y, int64_t ldy)       \
    {                                                                                          \
        for (int64_t b = 0; b < B; b++)                                                        \
            matvec_##T(W, rb, n, r0, r1, (const uint8_t *)Xq + (size_t)b * xs, Y + b * ldy);  \
    }

REF_KERNELS(f32, dot_f32w)
REF_KERNELS(f16, dot_f16w)
REF_KERNELS(bf16, dot_bf16w)
REF_KERNELS(q4_0, dot_q4_0)
REF_KERNELS(q4_1, dot_q4_1)
REF_KERNELS(q5_0, dot_q5_0)
REF_KERNELS(q5_1, dot_q5_1)
REF_KERNELS(q8_0, dot_q8_0)
REF_KERNELS(q8_1, dot_q8_1)
REF_KERNELS(q4_k, dot_q4_k)
REF_KERNELS(q5_k, dot_q5_k)
REF_KERNELS(q6_k, dot_q6_k)
REF_KERNELS(q8_k, dot_q8_k)

#define K(T, ACT) {ACT, matvec_##T, matmat_##T}
const mlops__qkern mlops__qkern_scalar[MLOPS__T_COUNT] = {
    [MLOPS__T_F32] = K(f32, act_f32),
    [MLOPS__T_F16] = K(f16, act_f32),
    [MLOPS__T_BF16] = K(bf16, act_f32),
    [MLOPS__T_Q4_0] = K(q4_0, act_q8_0),
    [MLOPS__T_Q4_1] = K(q4_1, act_q8_0),
    [MLOPS__T_Q5_0] = K(q5_0, act_q8_0),
    [MLOPS__T_Q5_1] = K(q5_1, act_q8_0),
    [MLOPS__T_Q8_0] = K(q8_0, act_q8_0),
    [MLOPS__T_Q8_1] = K(q8_1, act_q8_0),
    [MLOPS__T_Q4_K] = K(q4_k, act_q8_k),
    [MLOPS__T_Q5_K] = K(q5_k, act_q8_k),
    [MLOPS__T_Q6_K] = K(q6_k, act_q8_k),
    [MLOPS__T_Q8_K] = K(q8_k, act_q8_k),
};

/* --------------------------------------------------------------- float helpers -- */

static float dot_f16_f32_ref(const uint16_t *a, const float *b, int64_t n)
{
    return dot_f16w(n, a, b);
}

static void axpy_f16_f32_ref(float alpha, const uint16_t *a, float *y, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        y[i] += alpha * mlops__fp16_to_fp32(a[i]);
}

static void fp16_to_fp32_row_ref(const uint16_t *src, float *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = mlops__fp16_to_fp32(src[i]);
}

static void fp32_to_fp16_row_ref(const float *src, uint16_t *dst, int64_t n)
{
    for (int64_t i = 0; i < n; i++)
        dst[i] = mlops__fp32_to_fp16(src[i]);
}

const mlops__qmisc mlops__qmisc_scalar = {
    dot_f16_f32_ref, axpy_f16_f32_ref, dot_f32_ref, fp16_to_fp32_row_ref, fp32_to_fp16_row_ref,
};
