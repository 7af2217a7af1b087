/*
 * lib/engine kernels: block layouts on hand-made blocks, fp16/bf16 conversions,
 * quantise -> dequantise error per type, and every SIMD kernel against the scalar
 * reference (activation conversion bit-exact; dot products within a stated bound),
 * matmat == matvec per column and independence from the row split (bit-exact).
 */
#include "test_support.h"

#include "engine/quant.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ----------------------------------------------------------------- random data -- */

static uint64_t rng_state;

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static float rng_unit(void) /* [0, 1) */
{
    return (float)(rng_next() >> 40) / 16777216.0f;
}

static float rng_gauss(void)
{
    float u = rng_unit() + 1e-7f, v = rng_unit();
    return sqrtf(-2.0f * logf(u)) * cosf(6.2831853f * v);
}

/* Gaussian data whose scale changes every 32 values (1e-3 .. 1e3); `extreme` adds
 * zero blocks, constant blocks, blocks at fp16-representable maxima and outliers. */
static void fill(float *x, int64_t n, int extreme)
{
    for (int64_t i = 0; i < n; i += 32) {
        float scale = powf(10.0f, 6.0f * rng_unit() - 3.0f);
        int kind = extreme ? (int)(rng_next() % 8) : 7;
        for (int64_t j = i; j < i + 32 && j < n; j++) {
            switch (kind) {
            case 0: x[j] = 0.0f; break;
            case 1: x[j] = 1.5f; break;
            case 2: x[j] = (rng_next() & 1) ? 30000.0f : -30000.0f; break;
            case 3: x[j] = (j % 32 == 5) ? -1000.0f : 1e-3f * rng_gauss(); break;
            default: x[j] = scale * rng_gauss(); break;
            }
        }
    }
}

static const int all_types[] = {
    MLOPS__T_F32, MLOPS__T_F16, MLOPS__T_BF16, MLOPS__T_Q4_0, MLOPS__T_Q4_1,
    MLOPS__T_Q5_0, MLOPS__T_Q5_1, MLOPS__T_Q8_0, MLOPS__T_Q4_K, MLOPS__T_Q5_K,
    MLOPS__T_Q6_K, MLOPS__T_Q8_K,
};
#define NTYPES (sizeof(all_types) / sizeof(all_types[0]))

/* Every instruction set; tests run those mlops__q_isa_supported accepts. */
static const int isas[] = {MLOPS__ISA_SCALAR, MLOPS__ISA_AVX2, MLOPS__ISA_AVX512VNNI,
                           MLOPS__ISA_NEON};
#define NISAS 4

/* --------------------------------------------------------------- traits, names -- */

static void traits_match_ggml(void **state)
{
    (void)state;
    static const struct { int t; const char *name; int block; size_t bytes; } exp[] = {
        {MLOPS__T_F32, "F32", 1, 4},       {MLOPS__T_F16, "F16", 1, 2},
        {MLOPS__T_BF16, "BF16", 1, 2},     {MLOPS__T_Q4_0, "Q4_0", 32, 18},
        {MLOPS__T_Q4_1, "Q4_1", 32, 20},   {MLOPS__T_Q5_0, "Q5_0", 32, 22},
        {MLOPS__T_Q5_1, "Q5_1", 32, 24},   {MLOPS__T_Q8_0, "Q8_0", 32, 34},
        {MLOPS__T_Q8_1, "Q8_1", 32, 36},   {MLOPS__T_Q2_K, "Q2_K", 256, 84},
        {MLOPS__T_Q3_K, "Q3_K", 256, 110}, {MLOPS__T_Q4_K, "Q4_K", 256, 144},
        {MLOPS__T_Q5_K, "Q5_K", 256, 176}, {MLOPS__T_Q6_K, "Q6_K", 256, 210},
        {MLOPS__T_Q8_K, "Q8_K", 256, 292},
    };
    for (size_t i = 0; i < sizeof(exp) / sizeof(exp[0]); i++) {
        const mlops__qtraits *t = mlops__q_traits(exp[i].t);
        assert_non_null(t);
        assert_string_equal(t->name, exp[i].name);
        assert_int_equal(t->block, exp[i].block);
        assert_int_equal(t->block_bytes, exp[i].bytes);
        assert_int_equal(mlops__q_type_from_name(exp[i].name), exp[i].t);
    }
    assert_int_equal(mlops__q_type_from_name("q4_k"), MLOPS__T_Q4_K);
    assert_int_equal(mlops__q_type_from_name("Q4_K_M"), -1);
    assert_int_equal(mlops__q_type_from_name(NULL), -1);
    assert_null(mlops__q_traits(4));
    assert_null(mlops__q_traits(-1));
    assert_null(mlops__q_traits(MLOPS__T_COUNT));
    assert_int_equal(mlops__q_row_bytes(MLOPS__T_Q4_K, 4096), 16 * 144);
    assert_int_equal(mlops__q_row_bytes(MLOPS__T_F16, 768), 1536);
    assert_int_equal(mlops__q_act_row_bytes(MLOPS__T_Q4_0, 64), 68);
    assert_int_equal(mlops__q_act_row_bytes(MLOPS__T_Q6_K, 512), 584);
    assert_int_equal(mlops__q_act_row_bytes(MLOPS__T_F16, 8), 32);
}

/* ----------------------------------------------------------------- fp16 / bf16 -- */

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static void fp16_conversions(void **state)
{
    (void)state;
    /* every half round-trips (NaNs stay NaNs) */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mlops__fp16_to_fp32((uint16_t)h);
        uint16_t back = mlops__fp32_to_fp16(f);
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) {
            assert_true(isnan(f));
            assert_true((back & 0x7c00) == 0x7c00 && (back & 0x3ff));
        } else {
            assert_int_equal(back, h);
        }
    }
    assert_true(mlops__fp16_to_fp32(0x3c00) == 1.0f);
    assert_true(mlops__fp16_to_fp32(0xc000) == -2.0f);
    assert_true(mlops__fp16_to_fp32(0x7bff) == 65504.0f);
    assert_true(mlops__fp16_to_fp32(0x0001) == ldexpf(1.0f, -24));
    assert_true(mlops__fp16_to_fp32(0x03ff) == ldexpf(1023.0f, -24));
    assert_true(isinf(mlops__fp16_to_fp32(0x7c00)) && mlops__fp16_to_fp32(0xfc00) < 0);
    assert_true(signbit(mlops__fp16_to_fp32(0x8000)));
    /* rounding: to nearest, ties to even; overflow to inf; underflow to (signed) zero */
    assert_int_equal(mlops__fp32_to_fp16(65519.0f), 0x7bff);
    assert_int_equal(mlops__fp32_to_fp16(65520.0f), 0x7c00);
    assert_int_equal(mlops__fp32_to_fp16(1e10f), 0x7c00);
    assert_int_equal(mlops__fp32_to_fp16(-INFINITY), 0xfc00);
    assert_int_equal(mlops__fp32_to_fp16(1.0f + ldexpf(1.0f, -11)), 0x3c00);  /* tie -> even */
    assert_int_equal(mlops__fp32_to_fp16(1.0f + ldexpf(3.0f, -11)), 0x3c02);  /* tie -> even */
    assert_int_equal(mlops__fp32_to_fp16(1.0f + ldexpf(1.01f, -11)), 0x3c01);
    assert_int_equal(mlops__fp32_to_fp16(ldexpf(1.0f, -25)), 0x0000);         /* tie -> even */
    assert_int_equal(mlops__fp32_to_fp16(ldexpf(3.0f, -25)), 0x0002);
    assert_int_equal(mlops__fp32_to_fp16(ldexpf(1.0f, -26)), 0x0000);
    assert_int_equal(mlops__fp32_to_fp16(-ldexpf(1.0f, -30)), 0x8000);
    assert_int_equal(mlops__fp32_to_fp16(ldexpf(1023.5f, -24)), 0x0400);      /* to normal */
    assert_int_equal(mlops__fp32_to_fp16(from_bits(0x7fc00000u)) & 0x7e00, 0x7e00);
    assert_int_equal(mlops__fp32_to_fp16(from_bits(0x7f800001u)) & 0x7e00, 0x7e00);

    /* bf16: every value round-trips; rounding to nearest even; NaN stays NaN */
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mlops__bf16_to_fp32((uint16_t)h);
        uint16_t back = mlops__fp32_to_bf16(f);
        if (isnan(f))
            assert_true(isnan(mlops__bf16_to_fp32(back)));
        else
            assert_int_equal(back, h);
    }
    assert_int_equal(mlops__fp32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(mlops__fp32_to_bf16(from_bits(0x3f808000u)), 0x3f80); /* tie -> even */
    assert_int_equal(mlops__fp32_to_bf16(from_bits(0x3f818000u)), 0x3f82); /* tie -> even */
    assert_int_equal(mlops__fp32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
    assert_int_equal(mlops__fp32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);  /* max -> inf */
    assert_true(isnan(mlops__bf16_to_fp32(mlops__fp32_to_bf16(from_bits(0x7f800001u)))));

    /* row versions (SIMD when available) equal the scalar ones bit for bit */
    enum { N = 4099 };
    float *f = malloc(N * sizeof(float)), *g = malloc(N * sizeof(float));
    uint16_t *h = malloc(N * 2), *h2 = malloc(N * 2);
    rng_state = 11;
    for (int i = 0; i < N; i++)
        f[i] = from_bits((uint32_t)rng_next());
    f[0] = INFINITY;
    f[1] = -0.0f;
    f[2] = 65520.0f;
    f[3] = ldexpf(1.0f, -25);
    f[4] = ldexpf(3.0f, -25);
    f[5] = NAN;
    for (int isa = 0; isa < NISAS; isa++) {
        if (!mlops__q_isa_supported(isas[isa]))
            continue;
        int old = mlops__q_set_isa(isas[isa]);
        mlops__fp32_to_fp16_row(f, h, N);
        for (int i = 0; i < N; i++)
            assert_int_equal(h[i], mlops__fp32_to_fp16(f[i]));
        for (int i = 0; i < N; i++)
            h2[i] = (uint16_t)rng_next();
        mlops__fp16_to_fp32_row(h2, g, N);
        for (int i = 0; i < N; i++) {
            float e = mlops__fp16_to_fp32(h2[i]);
            assert_true(memcmp(&e, &g[i], 4) == 0 || (isnan(e) && isnan(g[i])));
        }
        mlops__q_set_isa(old);
    }
    free(f);
    free(g);
    free(h);
    free(h2);
}

/* ---------------------------------------------------------------- byte layouts -- */

static void deq(int type, const void *blk, float *y, int64_t n)
{
    mlops__q_dequantize_row(type, blk, y, n);
}

static void layout_legacy(void **state)
{
    (void)state;
    float y[32];
    {
        mlops__block_q4_0 b;
        memset(&b, 0x88, sizeof(b));
        b.d = 0x3c00; /* 1.0 */
        b.qs[0] = 0x1f;
        b.qs[7] = 0x0a;
        deq(MLOPS__T_Q4_0, &b, y, 32);
        assert_true(y[0] == 7.0f && y[16] == -7.0f && y[7] == 2.0f && y[23] == -8.0f);
        assert_true(y[1] == 0.0f && y[31] == 0.0f);
        unsigned char raw[18];
        memcpy(raw, &b, 18);
        assert_int_equal(raw[0], 0x00);
        assert_int_equal(raw[1], 0x3c);
        assert_int_equal(raw[2], 0x1f);
    }
    {
        mlops__block_q4_1 b;
        memset(&b, 0, sizeof(b));
        b.d = 0x4000; /* 2 */
        b.m = 0xbc00; /* -1 */
        b.qs[3] = 0x52;
        deq(MLOPS__T_Q4_1, &b, y, 32);
        assert_true(y[3] == 3.0f && y[19] == 9.0f && y[0] == -1.0f);
    }
    {
        mlops__block_q5_0 b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3c00;
        b.qh[0] = 0x01; /* element 0 */
        b.qh[2] = 0x01; /* element 16 */
        b.qh[3] = 0x80; /* element 31 */
        b.qs[0] = 0x3a;
        b.qs[15] = 0xf0;
        deq(MLOPS__T_Q5_0, &b, y, 32);
        assert_true(y[0] == 10.0f && y[16] == 3.0f && y[31] == 15.0f && y[15] == -16.0f);
        assert_true(y[1] == -16.0f);
    }
    {
        mlops__block_q5_1 b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3800; /* 0.5 */
        b.m = 0x3c00; /* 1 */
        b.qh[1] = 0x02; /* element 9 */
        b.qs[9] = 0x21;
        deq(MLOPS__T_Q5_1, &b, y, 32);
        assert_true(y[9] == 0.5f * 17 + 1 && y[25] == 0.5f * 2 + 1 && y[0] == 1.0f);
    }
    {
        mlops__block_q8_0 b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3800;
        b.qs[5] = -100;
        b.qs[31] = 127;
        deq(MLOPS__T_Q8_0, &b, y, 32);
        assert_true(y[5] == -50.0f && y[31] == 63.5f && y[0] == 0.0f);
    }
    /* quantising a known ramp gives known bytes: max |x| = 8 at x[0] = -8 -> d = 1 */
    {
        float x[32];
        for (int j = 0; j < 16; j++) {
            x[j] = (float)(j - 8);
            x[16 + j] = (float)(7 - j);
        }
        mlops__block_q4_0 b;
        mlops__q_quantize_row(MLOPS__T_Q4_0, x, &b, 32);
        assert_int_equal(b.d, 0x3c00);
        for (int j = 0; j < 16; j++)
            assert_int_equal(b.qs[j], j | ((15 - j) << 4));
        mlops__block_q8_0 c;
        mlops__q_quantize_row(MLOPS__T_Q8_0, x, &c, 32);
        assert_int_equal(c.qs[0], -127);
        assert_int_equal(c.qs[15], 111); /* 7 * 127/8 = 111.125 */
    }
}

static void layout_kquants(void **state)
{
    (void)state;
    float y[256];
    {
        mlops__block_q4_k b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3c00;      /* 1 */
        b.dmin = 0x3800;   /* 0.5 */
        b.scales[0] = 3;   /* sc0 */
        b.scales[4] = 2;   /* m0 */
        b.scales[1] = 0xc7; /* sc1 = 7, high bits of sc5 = 3 */
        b.scales[5] = 0x41; /* m1 = 1, high bits of m5 = 1 */
        b.scales[8] = 0x15; /* sc4 = 5, m4 = 1 */
        b.scales[9] = 0x02; /* sc5 = 2 | 3 << 4 = 50, m5 = 0 | 1 << 4 = 16 */
        b.qs[0] = 0x94;
        b.qs[64] = 0x06;
        deq(MLOPS__T_Q4_K, &b, y, 256);
        assert_true(y[0] == 3.0f * 4 - 1.0f);
        assert_true(y[32] == 7.0f * 9 - 0.5f);
        assert_true(y[128] == 5.0f * 6 - 0.5f);
        assert_true(y[160] == -8.0f);
        assert_true(y[1] == -1.0f);
    }
    {
        mlops__block_q5_k b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3c00;
        b.dmin = 0x3800;
        b.scales[0] = 3;
        b.scales[4] = 2;
        b.scales[1] = 0x07;
        b.scales[5] = 0x01;
        b.qs[0] = 0x94;
        b.qs[1] = 0x10;
        b.qh[0] = 0x01; /* element 0 (sub-block 0) */
        b.qh[1] = 0x02; /* element 33 (sub-block 1) */
        b.qh[2] = 0x80; /* element 226 (sub-block 7) */
        deq(MLOPS__T_Q5_K, &b, y, 256);
        assert_true(y[0] == 3.0f * 20 - 1.0f);
        assert_true(y[32] == 7.0f * 9 - 0.5f);
        assert_true(y[33] == 7.0f * 17 - 0.5f);
        assert_true(y[226] == 0.0f); /* sc7 = 0, m7 = 0 */
        assert_true(y[2] == -1.0f);
    }
    {
        mlops__block_q6_k b;
        memset(&b, 0, sizeof(b));
        b.d = 0x3c00;
        b.scales[0] = 2;
        b.scales[2] = -3;
        b.scales[4] = 1;
        b.scales[6] = 1;
        b.scales[9] = 4;
        b.ql[0] = 0x5a;
        b.qh[0] = 0xd9; /* 11 01 10 01 */
        b.ql[80] = 0x01;
        deq(MLOPS__T_Q6_K, &b, y, 256);
        assert_true(y[0] == 2.0f * (26 - 32));
        assert_true(y[32] == -3.0f * (32 - 32));
        assert_true(y[64] == 1.0f * (21 - 32));
        assert_true(y[96] == 1.0f * (48 - 32));
        assert_true(y[144] == 4.0f * (1 - 32));
        assert_true(y[1] == 2.0f * -32 && y[33] == -3.0f * -32);
        unsigned char raw[210];
        memcpy(raw, &b, 210);
        assert_int_equal(raw[208], 0x00); /* d is last, little-endian */
        assert_int_equal(raw[209], 0x3c);
        assert_int_equal(raw[192 + 2], 0xfd);
    }
    {
        /* Q8_K: the activation form; bsums are sums of 16 consecutive values */
        float x[256];
        rng_state = 5;
        for (int i = 0; i < 256; i++)
            x[i] = rng_gauss();
        x[77] = -10.0f;
        mlops__block_q8_k b;
        mlops__q_quantize_row(MLOPS__T_Q8_K, x, &b, 256);
        assert_int_equal(b.qs[77], -127);
        assert_true(fabsf(b.d - 10.0f / 127.0f) < 1e-7f);
        for (int j = 0; j < 16; j++) {
            int s = 0;
            for (int l = 0; l < 16; l++)
                s += b.qs[16 * j + l];
            assert_int_equal(b.bsums[j], s);
        }
    }
    {
        /* a K-quant super-block of zeros stays zeros */
        float x[256] = {0}, z[256];
        unsigned char blk[292];
        int kt[] = {MLOPS__T_Q4_K, MLOPS__T_Q5_K, MLOPS__T_Q6_K};
        for (int t = 0; t < 3; t++) {
            mlops__q_quantize_row(kt[t], x, blk, 256);
            deq(kt[t], blk, z, 256);
            for (int i = 0; i < 256; i++)
                assert_true(z[i] == 0.0f);
        }
    }
}

/* ------------------------------------------------------------ quantise quality -- */

/* Relative RMSE bounds (rmse / rms of the data) per type on gaussian blocks. */
static double rmse_bound(int t)
{
    switch (t) {
    case MLOPS__T_F32: return 0.0;
    case MLOPS__T_F16: return 4e-4;
    case MLOPS__T_BF16: return 3e-3;
    case MLOPS__T_Q8_0: return 8e-3;
    case MLOPS__T_Q8_K: return 1e-2;
    case MLOPS__T_Q4_0: return 0.12;
    case MLOPS__T_Q4_1: return 0.10;
    case MLOPS__T_Q5_0: return 0.06;
    case MLOPS__T_Q5_1: return 0.05;
    case MLOPS__T_Q4_K: return 0.10;
    case MLOPS__T_Q5_K: return 0.05;
    case MLOPS__T_Q6_K: return 0.025;
    default: return 0.0;
    }
}

static void quantize_error_bounds(void **state)
{
    (void)state;
    enum { N = 256 * 64 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    void *q = malloc(mlops__q_row_bytes(MLOPS__T_F32, N));
    rng_state = 42;
    for (size_t k = 0; k < NTYPES; k++) {
        int t = all_types[k];
        /* per 256-block scales so every block of a super-block shares a scale */
        double worst = 0.0;
        for (int i = 0; i < N; i += 256) {
            float s = powf(10.0f, 4.0f * rng_unit() - 2.0f);
            for (int j = i; j < i + 256; j++)
                x[j] = s * rng_gauss();
        }
        mlops__q_quantize_row(t, x, q, N);
        mlops__q_dequantize_row(t, q, y, N);
        for (int i = 0; i < N; i += 256) {
            double e2 = 0, x2 = 0;
            for (int j = i; j < i + 256; j++) {
                e2 += (double)(x[j] - y[j]) * (x[j] - y[j]);
                x2 += (double)x[j] * x[j];
            }
            double rel = sqrt(e2 / x2);
            worst = rel > worst ? rel : worst;
        }
        print_message("  %-5s worst relative RMSE %.5f (bound %.5f)\n",
                      mlops__q_traits(t)->name, worst, rmse_bound(t));
        assert_true(worst <= rmse_bound(t));
        /* zeros stay zeros and extremes stay finite */
        fill(x, N, 1);
        for (int i = 0; i < 256; i++)
            x[i] = 0.0f;
        mlops__q_quantize_row(t, x, q, N);
        mlops__q_dequantize_row(t, q, y, N);
        for (int i = 0; i < 256; i++)
            assert_true(y[i] == 0.0f);
        for (int i = 0; i < N; i++)
            assert_true(isfinite(y[i]));
    }
    free(x);
    free(y);
    free(q);
}

/* ------------------------------------------------------- SIMD against reference -- */

typedef struct {
    int t;
    int64_t n, rows, B;
    float *xf;       /* B x n activations */
    unsigned char *w; /* rows x row_bytes */
    float *wd;       /* dequantised weights */
    float *wm;       /* their offset or min parts (the value of quant 0), else 0 */
    size_t rb, ab;
} kcase;

/* Where the quants (not the scales) sit in a block. */
static void quant_bytes(int t, size_t *off, size_t *len)
{
    switch (t) {
    case MLOPS__T_Q4_0: *off = 2, *len = 16; break;
    case MLOPS__T_Q4_1: *off = 4, *len = 16; break;
    case MLOPS__T_Q5_0: *off = 2, *len = 20; break;
    case MLOPS__T_Q5_1: *off = 4, *len = 20; break;
    case MLOPS__T_Q4_K: *off = 16, *len = 128; break;
    case MLOPS__T_Q5_K: *off = 16, *len = 160; break;
    case MLOPS__T_Q6_K: *off = 0, *len = 192; break;
    default: *off = 0, *len = 0; break;
    }
}

static void kcase_make(kcase *c, int t, int64_t n, int64_t rows, int64_t B, int extreme)
{
    c->t = t;
    c->n = n;
    c->rows = rows;
    c->B = B;
    c->rb = mlops__q_row_bytes(t, n);
    c->ab = mlops__q_act_row_bytes(t, n);
    c->xf = malloc((size_t)(B * n) * sizeof(float));
    c->w = malloc(c->rb * (size_t)rows);
    c->wd = malloc((size_t)(rows * n) * sizeof(float));
    c->wm = malloc((size_t)(rows * n) * sizeof(float));
    float *tmp = malloc((size_t)n * sizeof(float));
    unsigned char *nomin = malloc(c->rb);
    const mlops__qtraits *tr = mlops__q_traits(t);
    for (int64_t r = 0; r < rows; r++) {
        unsigned char *row = c->w + (size_t)r * c->rb;
        fill(tmp, n, extreme);
        mlops__q_quantize_row(t, tmp, row, n);
        mlops__q_dequantize_row(t, row, c->wd + r * n, n);
        /* the offset/min part: the row dequantised with its quant bytes zeroed */
        memcpy(nomin, row, c->rb);
        size_t qoff = 0, qlen = 0;
        quant_bytes(t, &qoff, &qlen);
        for (size_t b = 0; qlen && b < c->rb / tr->block_bytes; b++)
            memset(nomin + b * tr->block_bytes + qoff, 0, qlen);
        mlops__q_dequantize_row(t, nomin, tmp, n);
        for (int64_t j = 0; j < n; j++)
            c->wm[r * n + j] = qlen ? tmp[j] : 0.0f;
    }
    free(nomin);
    for (int64_t b = 0; b < B; b++)
        fill(c->xf + b * n, n, extreme);
    free(tmp);
}

static void kcase_free(kcase *c)
{
    free(c->xf);
    free(c->w);
    free(c->wd);
    free(c->wm);
}

/* The bound for one dot product: 2e-5 of the sum of the magnitudes of its terms over the
 * dequantised operands (the integer sums are exact; only the float combination order
 * differs). Kernels add the quant part (d * q) and the offset or min part (-8d, -32 d sc,
 * m, -dmin m...) separately, and these can cancel: both magnitudes count. */
static double dot_bound(const kcase *c, int64_t r, const float *xd)
{
    double s = 0;
    for (int64_t j = 0; j < c->n; j++) {
        double w = c->wd[r * c->n + j], m = c->wm[r * c->n + j];
        s += (fabs(w - m) + fabs(m)) * fabs((double)xd[j]);
    }
    return 2e-5 * s + 1e-30;
}

static void simd_matches_reference(void **state)
{
    (void)state;
    int best = mlops__q_detect_isa();
    print_message("  detected ISA %d\n", best);
    rng_state = 7;
    for (int extreme = 0; extreme < 2; extreme++)
        for (size_t k = 0; k < NTYPES; k++) {
            int t = all_types[k];
            int64_t blk = mlops__q_traits(t)->block;
            /* odd block counts; floats: 32-steps, 8-steps and a tail */
            int64_t n = blk == 256 ? 768 : blk == 32 ? 352 : 349;
            kcase c;
            kcase_make(&c, t, n, 39, 7, extreme);
            unsigned char *xs = malloc(c.ab * 7), *xv = malloc(c.ab * 7);
            float *xd = malloc((size_t)(7 * n) * sizeof(float));
            float *ys = malloc(39 * 7 * sizeof(float)), *yv = malloc(39 * 7 * sizeof(float));
            float *ym = malloc(40 * 7 * sizeof(float)), *ysplit = malloc(39 * sizeof(float));
            float *yavx2 = malloc(39 * 7 * sizeof(float));

            /* scalar reference */
            int old = mlops__q_set_isa(MLOPS__ISA_SCALAR);
            for (int b = 0; b < 7; b++)
                mlops__q_quantize_act(t, c.xf + b * n, xs + (size_t)b * c.ab, n);
            for (int b = 0; b < 7; b++)
                mlops__q_matvec(t, c.w, n, 0, 39, xs + (size_t)b * c.ab, ys + b * 39);

            /* activation conversion: bit-exact on every instruction set */
            for (int k = 1; k < NISAS; k++) {
                if (!mlops__q_isa_supported(isas[k]))
                    continue;
                mlops__q_set_isa(isas[k]);
                for (int b = 0; b < 7; b++)
                    mlops__q_quantize_act(t, c.xf + b * n, xv + (size_t)b * c.ab, n);
                assert_memory_equal(xs, xv, c.ab * 7);
            }
            int at = mlops__q_traits(t)->act_type;
            for (int b = 0; b < 7; b++)
                mlops__q_dequantize_row(at, xs + (size_t)b * c.ab, xd + b * n, n);

            for (int k = 0; k < NISAS; k++) {
                int isa = isas[k];
                if (!mlops__q_isa_supported(isa))
                    continue;
                mlops__q_set_isa(isa);
                /* matvec vs reference, vec_dot == matvec row */
                for (int b = 0; b < 7; b++) {
                    mlops__q_matvec(t, c.w, n, 0, 39, xs + (size_t)b * c.ab, yv + b * 39);
                    for (int r = 0; r < 39; r++) {
                        double bound = dot_bound(&c, r, xd + b * n);
                        if (!(fabs((double)yv[b * 39 + r] - ys[b * 39 + r]) <= bound))
                            fail_msg("%s isa %d extreme %d row %d act %d: %.9g vs ref %.9g "
                                     "(bound %.3g)",
                                     mlops__q_traits(t)->name, isa, extreme, r, b,
                                     yv[b * 39 + r], ys[b * 39 + r], bound);
                        float d = mlops__q_vec_dot(t, n, c.w + (size_t)r * c.rb,
                                                   xs + (size_t)b * c.ab);
                        assert_memory_equal(&d, &yv[b * 39 + r], 4);
                    }
                }
                /* the AVX-512 VNNI build computes the same integer lanes as AVX2 */
                if (isa == MLOPS__ISA_AVX2)
                    memcpy(yavx2, yv, 39 * 7 * sizeof(float));
                if (isa == MLOPS__ISA_AVX512VNNI)
                    assert_memory_equal(yv, yavx2, 39 * 7 * sizeof(float));
                /* any row split gives the same bits */
                const void *x0 = xs + 2 * c.ab;
                mlops__q_matvec(t, c.w, n, 0, 5, x0, ysplit);
                mlops__q_matvec(t, c.w, n, 5, 6, x0, ysplit + 5);
                mlops__q_matvec(t, c.w, n, 6, 23, x0, ysplit + 6);
                mlops__q_matvec(t, c.w, n, 23, 39, x0, ysplit + 23);
                assert_memory_equal(ysplit, yv + 2 * 39, 39 * sizeof(float));
                /* matmat == matvec per column, bit-exact, for several tile shapes */
                for (int B = 1; B <= 7; B += 3) {
                    memset(ym, 0, 40 * 7 * sizeof(float));
                    mlops__q_matmat(t, c.w, n, 3, 38, xs, B, c.ab, ym, 40); /* 32 + 3 rows */
                    for (int b = 0; b < B; b++)
                        assert_memory_equal(ym + b * 40, yv + b * 39 + 3, 35 * sizeof(float));
                }
            }
            mlops__q_set_isa(old);
            free(xs);
            free(xv);
            free(xd);
            free(ys);
            free(yv);
            free(ym);
            free(ysplit);
            free(yavx2);
            kcase_free(&c);
        }
}

/* Rows longer than the kernels prepare activations for (16384) take the tiled path:
 * same bits as matmat, within the bound of the reference. */
static void long_rows(void **state)
{
    (void)state;
    static const int types[] = {MLOPS__T_Q4_0, MLOPS__T_Q5_1, MLOPS__T_Q8_0};
    rng_state = 21;
    for (size_t k = 0; k < 3; k++) {
        int t = types[k];
        int64_t n = 16384 + 96; /* 515 blocks */
        kcase c;
        kcase_make(&c, t, n, 6, 2, 0);
        unsigned char *xs = malloc(c.ab * 2);
        float *xd = malloc((size_t)(2 * n) * sizeof(float));
        float ys[12], yv[12], ym[12];
        int old = mlops__q_set_isa(MLOPS__ISA_SCALAR);
        for (int b = 0; b < 2; b++) {
            mlops__q_quantize_act(t, c.xf + b * n, xs + (size_t)b * c.ab, n);
            mlops__q_dequantize_row(MLOPS__T_Q8_0, xs + (size_t)b * c.ab, xd + b * n, n);
            mlops__q_matvec(t, c.w, n, 0, 6, xs + (size_t)b * c.ab, ys + b * 6);
        }
        for (int i = 1; i < NISAS; i++) {
            if (!mlops__q_isa_supported(isas[i]))
                continue;
            mlops__q_set_isa(isas[i]);
            for (int b = 0; b < 2; b++)
                mlops__q_matvec(t, c.w, n, 0, 6, xs + (size_t)b * c.ab, yv + b * 6);
            mlops__q_matmat(t, c.w, n, 0, 6, xs, 2, c.ab, ym, 6);
            assert_memory_equal(ym, yv, sizeof(yv));
            for (int b = 0; b < 2; b++)
                for (int r = 0; r < 6; r++)
                    assert_true(fabs((double)yv[b * 6 + r] - ys[b * 6 + r]) <=
                                dot_bound(&c, r, xd + b * n));
        }
        mlops__q_set_isa(old);
        free(xs);
        free(xd);
        kcase_free(&c);
    }
}

static void float_helpers_match_reference(void **state)
{
    (void)state;
    rng_state = 9;
    for (int64_t n = 1; n < 300; n += 37) {
        float *a = malloc((size_t)n * 4), *b = malloc((size_t)n * 4);
        float *y1 = malloc((size_t)n * 4), *y2 = malloc((size_t)n * 4);
        uint16_t *h = malloc((size_t)n * 2);
        double abs_ab = 0, abs_hb = 0;
        for (int64_t i = 0; i < n; i++) {
            a[i] = rng_gauss();
            b[i] = rng_gauss() * 100.0f;
            h[i] = mlops__fp32_to_fp16(rng_gauss());
            y1[i] = y2[i] = rng_gauss();
            abs_ab += fabs((double)a[i] * b[i]);
            abs_hb += fabs((double)mlops__fp16_to_fp32(h[i]) * b[i]);
        }
        int old = mlops__q_set_isa(MLOPS__ISA_SCALAR);
        float d1 = mlops__dot_f32(a, b, n), e1 = mlops__dot_f16_f32(h, b, n);
        mlops__axpy_f16_f32(0.75f, h, y1, n);
        for (int k = 1; k < NISAS; k++) {
            if (!mlops__q_isa_supported(isas[k]))
                continue;
            mlops__q_set_isa(isas[k]);
            float *y3 = malloc((size_t)n * 4);
            memcpy(y3, y2, (size_t)n * 4);
            float d2 = mlops__dot_f32(a, b, n), e2 = mlops__dot_f16_f32(h, b, n);
            mlops__axpy_f16_f32(0.75f, h, y3, n);
            assert_true(fabs((double)d1 - d2) <= 1e-6 * abs_ab + 1e-30);
            assert_true(fabs((double)e1 - e2) <= 1e-6 * abs_hb + 1e-30);
            for (int64_t i = 0; i < n; i++)
                assert_true(fabsf(y1[i] - y3[i]) <= 1e-6f * (fabsf(y1[i]) + 1.0f));
            free(y3);
        }
        mlops__q_set_isa(old);
        free(a);
        free(b);
        free(y1);
        free(y2);
        free(h);
    }
}

/* The grouped attention helpers equal per-head dot_f16_f32 / axpy_f16_f32 calls bit for
   bit on every instruction set (the engine relies on it for identical logits). */
static void grouped_attention_matches_per_head(void **state)
{
    (void)state;
    rng_state = 11;
    const int64_t hds[] = {8, 64, 72, 100, 128};
    for (size_t hi = 0; hi < sizeof hds / sizeof hds[0]; hi++) {
        int64_t hd = hds[hi];
        for (int G = 1; G <= 5; G++) {
            int npos = 1 + (int)(hd % 13) + 3 * G;
            size_t kstride = (size_t)hd * 3, scs = (size_t)npos + 3, os = (size_t)hd + 5;
            uint16_t *K = malloc((size_t)npos * kstride * 2), *V = malloc((size_t)npos * kstride * 2);
            float *q = malloc((size_t)G * (size_t)hd * 4), *w = malloc((size_t)G * scs * 4);
            float *s1 = calloc((size_t)G * scs, 4), *s2 = calloc((size_t)G * scs, 4);
            float *o1 = malloc((size_t)G * os * 4), *o2 = malloc((size_t)G * os * 4);
            for (size_t i = 0; i < (size_t)npos * kstride; i++) {
                K[i] = mlops__fp32_to_fp16(rng_gauss());
                V[i] = mlops__fp32_to_fp16(rng_gauss());
            }
            for (int64_t i = 0; i < G * hd; i++)
                q[i] = rng_gauss();
            for (size_t i = 0; i < (size_t)G * scs; i++)
                w[i] = rng_gauss();
            for (size_t i = 0; i < (size_t)G * os; i++)
                o1[i] = o2[i] = rng_gauss();
            int old = mlops__q_active_isa();
            for (int k = 0; k < NISAS; k++) {
                if (!mlops__q_isa_supported(isas[k]))
                    continue;
                mlops__q_set_isa(isas[k]);
                float *o3 = malloc((size_t)G * os * 4);
                memcpy(o3, o2, (size_t)G * os * 4);
                for (int g = 0; g < G; g++)
                    for (int p = 0; p < npos; p++) {
                        s1[(size_t)g * scs + (size_t)p] =
                            mlops__dot_f16_f32(K + (size_t)p * kstride, q + g * hd, hd);
                        mlops__axpy_f16_f32(w[(size_t)g * scs + (size_t)p], V + (size_t)p * kstride,
                                            o1 + (size_t)g * os, hd);
                    }
                mlops__att_scores_f16(K, kstride, npos, q, (size_t)hd, G, hd, s2, scs);
                mlops__att_values_f16(V, kstride, npos, w, scs, G, hd, o3, os);
                assert_memory_equal(s1, s2, (size_t)G * scs * 4);
                assert_memory_equal(o1, o3, (size_t)G * os * 4);
                memcpy(o1, o2, (size_t)G * os * 4);
                free(o3);
            }
            mlops__q_set_isa(old);
            free(K), free(V), free(q), free(w), free(s1), free(s2), free(o1), free(o2);
        }
    }
}

static void isa_switching(void **state)
{
    (void)state;
    int best = mlops__q_detect_isa();
    assert_true(best == MLOPS__ISA_SCALAR || best == MLOPS__ISA_AVX2 ||
                best == MLOPS__ISA_NEON || best == MLOPS__ISA_AVX512VNNI);
    assert_true(mlops__q_isa_supported(best) && mlops__q_isa_supported(MLOPS__ISA_SCALAR));
    int old = mlops__q_set_isa(MLOPS__ISA_SCALAR);
    assert_int_equal(mlops__q_active_isa(), MLOPS__ISA_SCALAR);
    /* an unsupported set falls back to scalar */
    int other = best == MLOPS__ISA_NEON ? MLOPS__ISA_AVX2 : MLOPS__ISA_NEON;
    assert_false(mlops__q_isa_supported(other));
    mlops__q_set_isa(other);
    assert_int_equal(mlops__q_active_isa(), MLOPS__ISA_SCALAR);
    assert_false(mlops__q_isa_supported(42));
    mlops__q_set_isa(old);
    assert_int_equal(mlops__q_active_isa(), old);
    /* unknown or unsupported types are no-ops, not crashes */
    float y = 1.0f;
    unsigned char blk[128] = {0};
    mlops__q_matvec(MLOPS__T_Q2_K, blk, 256, 0, 1, blk, &y);
    assert_true(y == 1.0f);
    assert_true(mlops__q_vec_dot(99, 32, blk, blk) == 0.0f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(traits_match_ggml),
        cmocka_unit_test(fp16_conversions),
        cmocka_unit_test(layout_legacy),
        cmocka_unit_test(layout_kquants),
        cmocka_unit_test(quantize_error_bounds),
        cmocka_unit_test(simd_matches_reference),
        cmocka_unit_test(long_rows),
        cmocka_unit_test(float_helpers_match_reference),
        cmocka_unit_test(grouped_attention_matches_per_head),
        cmocka_unit_test(isa_switching),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
