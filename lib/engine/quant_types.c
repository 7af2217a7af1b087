/*
 * Tensor type traits (GGUF's ggml_type ids and block sizes) and the scalar fp16 / bf16
 * conversions (IEEE 754 binary16 and bfloat16, round-to-nearest-even, NaN kept quiet).
 */
#include "quant.h"

#include <string.h>
#include <strings.h>

_Static_assert(sizeof(mlops__block_q4_0) == 18, "Q4_0 block is 18 bytes");
_Static_assert(sizeof(mlops__block_q4_1) == 20, "Q4_1 block is 20 bytes");
_Static_assert(sizeof(mlops__block_q5_0) == 22, "Q5_0 block is 22 bytes");
_Static_assert(sizeof(mlops__block_q5_1) == 24, "Q5_1 block is 24 bytes");
_Static_assert(sizeof(mlops__block_q8_0) == 34, "Q8_0 block is 34 bytes");
_Static_assert(sizeof(mlops__block_q8_1) == 36, "Q8_1 block is 36 bytes");
_Static_assert(sizeof(mlops__block_q2_k) == 84, "Q2_K block is 84 bytes");
_Static_assert(sizeof(mlops__block_q3_k) == 110, "Q3_K block is 110 bytes");
_Static_assert(sizeof(mlops__block_q4_k) == 144, "Q4_K block is 144 bytes");
_Static_assert(sizeof(mlops__block_q5_k) == 176, "Q5_K block is 176 bytes");
_Static_assert(sizeof(mlops__block_q6_k) == 210, "Q6_K block is 210 bytes");
_Static_assert(sizeof(mlops__block_q8_k) == 292, "Q8_K block is 292 bytes");

/* Q2_K and Q3_K are known (so GGUF files naming them validate) but not computed. */
static const mlops__qtraits traits[MLOPS__T_COUNT] = {
    [MLOPS__T_F32] = {"F32", 1, 4, MLOPS__T_F32, 1},
    [MLOPS__T_F16] = {"F16", 1, 2, MLOPS__T_F32, 1},
    [MLOPS__T_BF16] = {"BF16", 1, 2, MLOPS__T_F32, 1},
    [MLOPS__T_Q4_0] = {"Q4_0", 32, 18, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q4_1] = {"Q4_1", 32, 20, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q5_0] = {"Q5_0", 32, 22, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q5_1] = {"Q5_1", 32, 24, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q8_0] = {"Q8_0", 32, 34, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q8_1] = {"Q8_1", 32, 36, MLOPS__T_Q8_0, 1},
    [MLOPS__T_Q2_K] = {"Q2_K", 256, 84, MLOPS__T_Q8_K, 0},
    [MLOPS__T_Q3_K] = {"Q3_K", 256, 110, MLOPS__T_Q8_K, 0},
    [MLOPS__T_Q4_K] = {"Q4_K", 256, 144, MLOPS__T_Q8_K, 1},
    [MLOPS__T_Q5_K] = {"Q5_K", 256, 176, MLOPS__T_Q8_K, 1},
    [MLOPS__T_Q6_K] = {"Q6_K", 256, 210, MLOPS__T_Q8_K, 1},
    [MLOPS__T_Q8_K] = {"Q8_K", 256, 292, MLOPS__T_Q8_K, 1},
};

const mlops__qtraits *mlops__q_traits(int type)
{
    if (type < 0 || type >= MLOPS__T_COUNT || !traits[type].name)
        return NULL;
    return &traits[type];
}

size_t mlops__q_row_bytes(int type, int64_t n)
{
    const mlops__qtraits *t = mlops__q_traits(type);
    if (!t || n < 0)
        return 0;
    return (size_t)(n / t->block) * t->block_bytes;
}

int mlops__q_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int i = 0; i < MLOPS__T_COUNT; i++)
        if (traits[i].name && strcasecmp(traits[i].name, name) == 0)
            return i;
    return -1;
}

static inline uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float mlops__fp16_to_fp32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24, exact in binary32 */
        float v = (float)m * (1.0f / 16777216.0f);
        return bits_f32(f32_bits(v) | sign);
    }
    if (e == 31)
        return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t mlops__fp32_to_fp16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    x &= 0x7fffffffu;
    if (x > 0x7f800000u) /* NaN: quiet, top payload bits kept (as F16C does) */
        return (uint16_t)(sign | 0x7e00 | ((x >> 13) & 0x3ff));
    if (x >= 0x47800000u) /* >= 65536 or inf */
        return (uint16_t)(sign | 0x7c00);
    if (x < 0x38800000u) {
        /* Below 2^-14: half subnormal. Adding 0.5 puts the 2^-24 unit in the last
         * mantissa bit, so the FPU rounds to nearest-even for us. */
        float v = bits_f32(x) + 0.5f;
        return (uint16_t)(sign | (f32_bits(v) - 0x3f000000u));
    }
    /* Rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest-even;
     * a carry out of the mantissa correctly bumps the exponent, up to inf. */
    x += 0xc8000fffu + ((x >> 13) & 1);
    return (uint16_t)(sign | (x >> 13));
}

float mlops__bf16_to_fp32(uint16_t h)
{
    return bits_f32((uint32_t)h << 16);
}

uint16_t mlops__fp32_to_bf16(float f)
{
    uint32_t x = f32_bits(f);
    if ((x & 0x7fffffffu) > 0x7f800000u) /* NaN: keep it a quiet NaN */
        return (uint16_t)((x >> 16) | 0x40);
    x += 0x7fffu + ((x >> 16) & 1);
    return (uint16_t)(x >> 16);
}
