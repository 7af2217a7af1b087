/*
 * Run-time kernel choice. The CPU is inspected once (pthread_once): AVX2+FMA+F16C need
 * both the CPUID feature bits and the OS saving the YMM state (XGETBV XCR0 bits 1 and 2,
 * Intel SDM vol. 1 §14.3); the AVX-512 VNNI build also needs XCR0 bits 5-7 (§15.2). The active instruction set is a process-wide atomic that
 * tests may switch to the scalar reference; every entry point reads it per call.
 */
#include "quant.h"

#include <pthread.h>
#include <string.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

static pthread_once_t detect_once = PTHREAD_ONCE_INIT;
static int detected_isa = MLOPS__ISA_SCALAR;
static int active_isa = -1; /* set by detect() unless a test chose one; atomic access */

#if defined(__x86_64__)
/* XCR0 bits the OS must have enabled: mask 6 (SSE, AVX) for YMM, 0xe6 adds the
 * AVX-512 opmask and ZMM states, needed by any EVEX instruction. 0 without OSXSAVE. */
static unsigned os_xcr0(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (!(c & bit_OSXSAVE) || !(c & bit_AVX) || !(c & bit_FMA) || !(c & bit_F16C))
        return 0;
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    (void)hi;
    return lo;
}
#endif

static void detect(void)
{
    int isa = MLOPS__ISA_SCALAR;
#if defined(__x86_64__)
    __builtin_cpu_init();
    unsigned xcr0 = os_xcr0();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && (xcr0 & 6) == 6)
        isa = MLOPS__ISA_AVX2;
    if (isa == MLOPS__ISA_AVX2 && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vnni") && (xcr0 & 0xe6) == 0xe6)
        isa = MLOPS__ISA_AVX512VNNI;
#elif defined(__ARM_NEON) && defined(__aarch64__)
    isa = MLOPS__ISA_NEON;
#endif
    detected_isa = isa;
    int unset = -1;
    __atomic_compare_exchange_n(&active_isa, &unset, isa, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

int mlops__q_detect_isa(void)
{
    pthread_once(&detect_once, detect);
    return detected_isa;
}

int mlops__q_active_isa(void)
{
    int isa = __atomic_load_n(&active_isa, __ATOMIC_ACQUIRE);
    if (isa < 0) {
        pthread_once(&detect_once, detect);
        isa = __atomic_load_n(&active_isa, __ATOMIC_ACQUIRE);
    }
    return isa;
}

int mlops__q_isa_supported(int isa)
{
    int best = mlops__q_detect_isa();
    return isa == MLOPS__ISA_SCALAR || isa == best ||
           (isa == MLOPS__ISA_AVX2 && best == MLOPS__ISA_AVX512VNNI);
}

int mlops__q_set_isa(int isa)
{
    /* Only the scalar reference or what the CPU supports. */
    if (!mlops__q_isa_supported(isa))
        isa = MLOPS__ISA_SCALAR;
    return __atomic_exchange_n(&active_isa, isa, __ATOMIC_ACQ_REL);
}

/* The kernels of the active set for `type`, each slot falling back to the scalar one. */
static mlops__qkern kernels(int type)
{
    mlops__qkern k = mlops__qkern_scalar[type];
    const mlops__qkern *s = NULL;
    switch (mlops__q_active_isa()) {
#if defined(__x86_64__)
    case MLOPS__ISA_AVX2: s = &mlops__qkern_avx2[type]; break;
    case MLOPS__ISA_AVX512VNNI: s = &mlops__qkern_avx512[type]; break;
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
    case MLOPS__ISA_NEON: s = &mlops__qkern_neon[type]; break;
#endif
    default: break;
    }
    if (s) {
        if (s->quantize_act)
            k.quantize_act = s->quantize_act;
        if (s->matvec)
            k.matvec = s->matvec;
        if (s->matmat)
            k.matmat = s->matmat;
    }
    return k;
}

static const mlops__qmisc *misc(void)
{
    switch (mlops__q_active_isa()) {
#if defined(__x86_64__)
    case MLOPS__ISA_AVX2: return &mlops__qmisc_avx2;
    case MLOPS__ISA_AVX512VNNI: return &mlops__qmisc_avx512;
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
    case MLOPS__ISA_NEON: return &mlops__qmisc_neon;
#endif
    default: return &mlops__qmisc_scalar;
    }
}

static int valid(int type)
{
    const mlops__qtraits *t = mlops__q_traits(type);
    return t && t->supported && mlops__qkern_scalar[type].matvec;
}

size_t mlops__q_act_row_bytes(int wtype, int64_t n)
{
    const mlops__qtraits *t = mlops__q_traits(wtype);
    return t ? mlops__q_row_bytes(t->act_type, n) : 0;
}

void mlops__q_quantize_act(int wtype, const float *x, void *xq, int64_t n)
{
    if (valid(wtype))
        kernels(wtype).quantize_act(x, xq, n);
}

float mlops__q_vec_dot(int wtype, int64_t n, const void *w_row, const void *xq)
{
    float y = 0.0f;
    if (valid(wtype))
        kernels(wtype).matvec(w_row, mlops__q_row_bytes(wtype, n), n, 0, 1, xq, &y);
    return y;
}

void mlops__q_matvec(int wtype, const void *W, int64_t n, int64_t r0, int64_t r1,
                     const void *xq, float *y)
{
    if (valid(wtype) && r1 > r0)
        kernels(wtype).matvec(W, mlops__q_row_bytes(wtype, n), n, r0, r1, xq, y);
}

void mlops__q_matmat(int wtype, const void *W, int64_t n, int64_t r0, int64_t r1,
                     const void *Xq, int64_t B, size_t xq_stride, float *Y, int64_t ldy)
{
    if (valid(wtype) && r1 > r0 && B > 0)
        kernels(wtype).matmat(W, mlops__q_row_bytes(wtype, n), n, r0, r1, Xq, B, xq_stride, Y,
                              ldy);
}

float mlops__dot_f16_f32(const uint16_t *a, const float *b, int64_t n)
{
    return misc()->dot_f16_f32(a, b, n);
}

void mlops__axpy_f16_f32(float alpha, const uint16_t *a, float *y, int64_t n)
{
    misc()->axpy_f16_f32(alpha, a, y, n);
}

float mlops__dot_f32(const float *a, const float *b, int64_t n)
{
    return misc()->dot_f32(a, b, n);
}

void mlops__fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n)
{
    misc()->fp16_to_fp32_row(src, dst, n);
}

void mlops__fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n)
{
    misc()->fp32_to_fp16_row(src, dst, n);
}

void mlops__att_scores_f16(const uint16_t *K, size_t kstride, int npos, const float *q,
                           size_t qstride, int G, int64_t hd, float *sc, size_t scstride)
{
#if defined(__x86_64__)
    if (hd <= MLOPS__ATT_MAX_HD) {
        switch (mlops__q_active_isa()) {
        case MLOPS__ISA_AVX2:
            mlops__att_scores_f16_avx2(K, kstride, npos, q, qstride, G, hd, sc, scstride);
            return;
        case MLOPS__ISA_AVX512VNNI:
            mlops__att_scores_f16_avx512(K, kstride, npos, q, qstride, G, hd, sc, scstride);
            return;
        default: break;
        }
    }
#endif
    const mlops__qmisc *f = misc();
    for (int g = 0; g < G; g++)
        for (int p = 0; p < npos; p++)
            sc[(size_t)g * scstride + (size_t)p] =
                f->dot_f16_f32(K + (size_t)p * kstride, q + (size_t)g * qstride, hd);
}

void mlops__att_values_f16(const uint16_t *V, size_t vstride, int npos, const float *w,
                           size_t wstride, int G, int64_t hd, float *out, size_t ostride)
{
#if defined(__x86_64__)
    switch (mlops__q_active_isa()) {
    case MLOPS__ISA_AVX2:
        mlops__att_values_f16_avx2(V, vstride, npos, w, wstride, G, hd, out, ostride);
        return;
    case MLOPS__ISA_AVX512VNNI:
        mlops__att_values_f16_avx512(V, vstride, npos, w, wstride, G, hd, out, ostride);
        return;
    default: break;
    }
#endif
    const mlops__qmisc *f = misc();
    for (int g = 0; g < G; g++)
        for (int p = 0; p < npos; p++)
            f->axpy_f16_f32(w[(size_t)g * wstride + (size_t)p], V + (size_t)p * vstride,
                            out + (size_t)g * ostride, hd);
}
