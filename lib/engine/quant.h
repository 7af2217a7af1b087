/*
 * lib/engine — tensor types and quantized kernels (private to lib/engine).
 *
 * Block layouts are GGML's, byte for byte, so GGUF files written by other tools load
 * here and ours load there. Every kernel has a scalar reference; AVX2/FMA versions (and
 * NEON where it compiles) are chosen at run time by CPU detection, and tests compare each
 * variant with the reference.
 *
 * Conventions: `n` is the number of elements of a row and must be a multiple of the
 * type's block size; a matrix is `rows` consecutive rows of mlops__q_row_bytes(type, n)
 * bytes each (GGUF's row-major layout, ne[0] = n).
 *
 * Activation forms (traits->act_type): Q8_0 blocks for Q4_0/Q4_1/Q5_0/Q5_1/Q8_0 (scale
 * amax/127, round half to even), Q8_K for Q4_K/Q5_K/Q6_K, plain F32 for F32/F16/BF16.
 * Determinism: with a given instruction set, every (row, activation) result is computed
 * by one fixed sequence, so mlops__q_vec_dot, mlops__q_matvec over any [r0, r1) and
 * mlops__q_matmat give identical bits for the same row and activation: splitting rows
 * across threads never changes the logits. The kernels allocate nothing and are
 * thread-safe (they only read W and xq).
 */
#ifndef MLOPS_LIB_ENGINE_QUANT_H
#define MLOPS_LIB_ENGINE_QUANT_H

#include <stddef.h>
#include <stdint.h>

/* Tensor type ids exactly as GGUF stores them (ggml_type). */
enum {
    MLOPS__T_F32 = 0,
    MLOPS__T_F16 = 1,
    MLOPS__T_Q4_0 = 2,
    MLOPS__T_Q4_1 = 3,
    MLOPS__T_Q5_0 = 6,
    MLOPS__T_Q5_1 = 7,
    MLOPS__T_Q8_0 = 8,
    MLOPS__T_Q8_1 = 9,
    MLOPS__T_Q2_K = 10,
    MLOPS__T_Q3_K = 11,
    MLOPS__T_Q4_K = 12,
    MLOPS__T_Q5_K = 13,
    MLOPS__T_Q6_K = 14,
    MLOPS__T_Q8_K = 15,
    MLOPS__T_BF16 = 30,
    MLOPS__T_COUNT = 31
};

/* Instruction sets a kernel can use. AVX512VNNI (added) is the AVX2 kernel source rebuilt
 * with AVX-512 VL/BW/VNNI: vpdpbusd on 256-bit vectors and 32 vector registers; its
 * integer sums equal AVX2's, so both give the same bits. */
enum { MLOPS__ISA_SCALAR = 0, MLOPS__ISA_AVX2 = 1, MLOPS__ISA_NEON = 2, MLOPS__ISA_AVX512VNNI = 3 };

typedef struct mlops__qtraits {
    const char *name;    /* "Q4_K", as GGUF tools print it */
    int block;           /* elements per block (1 for F32/F16/BF16) */
    size_t block_bytes;  /* bytes per block */
    int act_type;        /* the type activations are converted to for dot products */
    int supported;       /* 1 when this build can dequantize and multiply it */
} mlops__qtraits;

/** Traits of a type id, or NULL when the id is unknown. */
const mlops__qtraits *mlops__q_traits(int type);
/** Bytes of one row of n elements (n a multiple of the block size). */
size_t mlops__q_row_bytes(int type, int64_t n);
/** Parses "Q4_K", "q8_0", "F16"...; -1 when unknown. */
int mlops__q_type_from_name(const char *name);

/* fp16 / bf16 conversions (IEEE binary16 and bfloat16, round-to-nearest-even). */
float mlops__fp16_to_fp32(uint16_t h);
uint16_t mlops__fp32_to_fp16(float f);
float mlops__bf16_to_fp32(uint16_t h);
uint16_t mlops__fp32_to_bf16(float f);
void mlops__fp16_to_fp32_row(const uint16_t *src, float *dst, int64_t n);
void mlops__fp32_to_fp16_row(const float *src, uint16_t *dst, int64_t n);

/** Reference dequantiser: n elements of `type` at src into dst. */
void mlops__q_dequantize_row(int type, const void *src, float *dst, int64_t n);
/**
 * Reference quantiser (round-to-nearest with the block scale chosen as GGML's reference
 * does; K-quants use the iterative scale search), for `mlops quantize` and tests.
 */
void mlops__q_quantize_row(int type, const float *src, void *dst, int64_t n);

/**
 * Activations: converts an F32 row into the form the dot kernels of weight type
 * `wtype` consume (Q8_0 blocks for the legacy quants, Q8_K for K-quants, F16/BF16/F32
 * for float weights). Buffer size: mlops__q_act_row_bytes(wtype, n).
 */
size_t mlops__q_act_row_bytes(int wtype, int64_t n);
void mlops__q_quantize_act(int wtype, const float *x, void *xq, int64_t n);

/** Dot product of one weight row (type wtype) with a converted activation row. */
float mlops__q_vec_dot(int wtype, int64_t n, const void *w_row, const void *xq);

/**
 * Decode kernel: y[r - r0] = dot(row r of W, x) for r in [r0, r1). W has rows of n
 * elements of wtype; xq is one converted activation row. Callers split [0, rows)
 * across threads.
 */
void mlops__q_matvec(int wtype, const void *W, int64_t n, int64_t r0, int64_t r1,
                     const void *xq, float *y);

/**
 * Prefill/batch kernel: Y[b * ldy + (r - r0)] = dot(row r of W, activation b) for r in
 * [r0, r1) and b in [0, B). Xq holds B converted activation rows, xq_stride bytes apart.
 * Tiled so each weight block is loaded once per several activations.
 */
void mlops__q_matmat(int wtype, const void *W, int64_t n, int64_t r0, int64_t r1,
                     const void *Xq, int64_t B, size_t xq_stride, float *Y, int64_t ldy);

/** Dot products for attention on an F16 KV cache and plain F32 helpers. */
float mlops__dot_f16_f32(const uint16_t *a, const float *b, int64_t n);
/** y += alpha * a (a in F16), for attention's weighted sum of values. */
void mlops__axpy_f16_f32(float alpha, const uint16_t *a, float *y, int64_t n);
float mlops__dot_f32(const float *a, const float *b, int64_t n);

/*
 * Attention for G query heads sharing one KV head (added by engine-perf). F16 K/V rows are
 * `stride` elements apart, npos of them, each hd long.
 * scores: sc[g * scstride + p] = dot(K row p, q + g * qstride), exactly
 *   mlops__dot_f16_f32(K + p * kstride, q + g * qstride, hd);
 * values: out[g * ostride + d] += w[g * wstride + p] * V[p][d] for p = 0..npos-1 in order,
 *   exactly a sequence of mlops__axpy_f16_f32 calls.
 * The SIMD versions convert each row once for the group and give the same bits.
 */
#define MLOPS__ATT_MAX_HD 512
void mlops__att_scores_f16(const uint16_t *K, size_t kstride, int npos, const float *q,
                           size_t qstride, int G, int64_t hd, float *sc, size_t scstride);
void mlops__att_values_f16(const uint16_t *V, size_t vstride, int npos, const float *w,
                           size_t wstride, int G, int64_t hd, float *out, size_t ostride);
#if defined(__x86_64__)
void mlops__att_scores_f16_avx2(const uint16_t *K, size_t kstride, int npos, const float *q,
                                size_t qstride, int G, int64_t hd, float *sc, size_t scstride);
void mlops__att_values_f16_avx2(const uint16_t *V, size_t vstride, int npos, const float *w,
                                size_t wstride, int G, int64_t hd, float *out, size_t ostride);
void mlops__att_scores_f16_avx512(const uint16_t *K, size_t kstride, int npos, const float *q,
                                  size_t qstride, int G, int64_t hd, float *sc, size_t scstride);
void mlops__att_values_f16_avx512(const uint16_t *V, size_t vstride, int npos, const float *w,
                                  size_t wstride, int G, int64_t hd, float *out, size_t ostride);
#endif

/** The best instruction set this CPU supports (detected once, thread-safe). */
int mlops__q_detect_isa(void);
/** The set kernels use now; tests switch to MLOPS__ISA_SCALAR and back. Returns the old one. */
int mlops__q_set_isa(int isa);
int mlops__q_active_isa(void);
/** 1 when mlops__q_set_isa(isa) would select isa on this CPU (added, for tests/bench). */
int mlops__q_isa_supported(int isa);

/* ------------------------------------------------------------------------------------
 * Added by the kernels (additive): GGML block layouts, for lib/engine code that reads
 * blocks directly (GGUF validation, embeddings), and the per-ISA kernel tables that the
 * quant_*.c files share. fp16 fields are stored as raw IEEE binary16 bits.
 * ---------------------------------------------------------------------------------- */
#define MLOPS__QK 32   /* elements per block of the legacy quants */
#define MLOPS__QK_K 256 /* elements per super-block of the K-quants */

typedef struct { uint16_t d; uint8_t qs[16]; } mlops__block_q4_0;
typedef struct { uint16_t d, m; uint8_t qs[16]; } mlops__block_q4_1;
typedef struct { uint16_t d; uint8_t qh[4]; uint8_t qs[16]; } mlops__block_q5_0;
typedef struct { uint16_t d, m; uint8_t qh[4]; uint8_t qs[16]; } mlops__block_q5_1;
typedef struct { uint16_t d; int8_t qs[32]; } mlops__block_q8_0;
typedef struct { uint16_t d, s; int8_t qs[32]; } mlops__block_q8_1; /* s = d * sum(qs) */
typedef struct {
    uint8_t scales[16]; uint8_t qs[64]; uint16_t d, dmin;
} mlops__block_q2_k;
typedef struct {
    uint8_t hmask[32]; uint8_t qs[64]; uint8_t scales[12]; uint16_t d;
} mlops__block_q3_k;
typedef struct {
    uint16_t d, dmin; uint8_t scales[12]; uint8_t qs[128];
} mlops__block_q4_k;
typedef struct {
    uint16_t d, dmin; uint8_t scales[12]; uint8_t qh[32]; uint8_t qs[128];
} mlops__block_q5_k;
typedef struct {
    uint8_t ql[128]; uint8_t qh[64]; int8_t scales[16]; uint16_t d;
} mlops__block_q6_k;
/* Activations for the K-quants: float scale, 256 int8, sums of each 16 values. */
typedef struct { float d; int8_t qs[256]; int16_t bsums[16]; } mlops__block_q8_k;

/* Kernels of one weight type for one instruction set (NULL: use the scalar one). */
typedef struct mlops__qkern {
    void (*quantize_act)(const float *x, void *xq, int64_t n);
    void (*matvec)(const void *W, size_t row_bytes, int64_t n, int64_t r0, int64_t r1,
                   const void *xq, float *y);
    void (*matmat)(const void *W, size_t row_bytes, int64_t n, int64_t r0, int64_t r1,
                   const void *Xq, int64_t B, size_t xq_stride, float *Y, int64_t ldy);
} mlops__qkern;

/* Float helpers of one instruction set. */
typedef struct mlops__qmisc {
    float (*dot_f16_f32)(const uint16_t *a, const float *b, int64_t n);
    void (*axpy_f16_f32)(float alpha, const uint16_t *a, float *y, int64_t n);
    float (*dot_f32)(const float *a, const float *b, int64_t n);
    void (*fp16_to_fp32_row)(const uint16_t *src, float *dst, int64_t n);
    void (*fp32_to_fp16_row)(const float *src, uint16_t *dst, int64_t n);
} mlops__qmisc;

/* Tables indexed by type id (quant_ref.c, quant_avx2.c, quant_neon.c). */
extern const mlops__qkern mlops__qkern_scalar[MLOPS__T_COUNT];
extern const mlops__qmisc mlops__qmisc_scalar;
#if defined(__x86_64__)
extern const mlops__qkern mlops__qkern_avx2[MLOPS__T_COUNT];
extern const mlops__qmisc mlops__qmisc_avx2;
extern const mlops__qkern mlops__qkern_avx512[MLOPS__T_COUNT];
extern const mlops__qmisc mlops__qmisc_avx512;
#endif
#if defined(__ARM_NEON) && defined(__aarch64__)
extern const mlops__qkern mlops__qkern_neon[MLOPS__T_COUNT];
extern const mlops__qmisc mlops__qmisc_neon;
#endif

/** Round half to even for |x| < 2^22, independent of the FP environment (GGML's rule). */
static inline int mlops__q_nearest_int(float x)
{
    union { float f; int32_t i; } u;
    u.f = x + 12582912.0f;
    return (u.i & 0x007fffff) - 0x00400000;
}

#endif /* MLOPS_LIB_ENGINE_QUANT_H */
