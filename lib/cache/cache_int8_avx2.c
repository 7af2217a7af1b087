/*
 * int8 dot products for the vector store: a scalar reference and an AVX2 kernel
 * (compiled with -mavx2 -mfma by module.cmake, chosen at run time by cpuid).
 *
 * The AVX2 kernel uses the sign trick around vpmaddubsw (unsigned x signed bytes):
 * |a| * (b with a's sign) equals a * b, and with values in [-127, 127] the pairwise
 * int16 sums stay below 2 * 127 * 127 = 32258, so they never saturate.
 */
#include "cache.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define HAVE_X86 1
#endif

int32_t mlops__cache_dot_i8_ref(const int8_t *a, const int8_t *b, int n)
{
    int32_t s = 0;
    for (int i = 0; i < n; i++)
        s += (int32_t)a[i] * (int32_t)b[i];
    return s;
}

#if HAVE_X86
__attribute__((target("avx2"))) int32_t mlops__cache_dot_i8_avx2(const int8_t *a,
                                                                  const int8_t *b, int n)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
    int i = 0;
    for (; i + 64 <= n; i += 64) {
        __m256i va0 = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb0 = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i va1 = _mm256_loadu_si256((const __m256i *)(a + i + 32));
        __m256i vb1 = _mm256_loadu_si256((const __m256i *)(b + i + 32));
        __m256i p0 = _mm256_maddubs_epi16(_mm256_sign_epi8(va0, va0), _mm256_sign_epi8(vb0, va0));
        __m256i p1 = _mm256_maddubs_epi16(_mm256_sign_epi8(va1, va1), _mm256_sign_epi8(vb1, va1));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p0, ones));
        acc1 = _mm256_add_epi32(acc1, _mm256_madd_epi16(p1, ones));
    }
    for (; i + 32 <= n; i += 32) {
        __m256i va = _mm256_loadu_si256((const __m256i *)(a + i));
        __m256i vb = _mm256_loadu_si256((const __m256i *)(b + i));
        __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(va, va), _mm256_sign_epi8(vb, va));
        acc0 = _mm256_add_epi32(acc0, _mm256_madd_epi16(p, ones));
    }
    acc0 = _mm256_add_epi32(acc0, acc1);
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc0), _mm256_extracti128_si256(acc0, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    int32_t total = _mm_cvtsi128_si32(s);
    for (; i < n; i++)
        total += (int32_t)a[i] * (int32_t)b[i];
    return total;
}
static inline __attribute__((target("avx2"))) int32_t hsum_epi32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/* One row against four queries: the row's bytes and their absolute values are loaded
   once and reused, four accumulators stay in registers. n must be a multiple of 32. */
__attribute__((target("avx2"))) static void dot4_avx2(const int8_t *row, const int8_t *q0,
                                                      const int8_t *q1, const int8_t *q2,
                                                      const int8_t *q3, int n, int32_t *out)
{
    const __m256i ones = _mm256_set1_epi16(1);
    __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
    for (int i = 0; i < n; i += 32) {
        __m256i r = _mm256_loadu_si256((const __m256i *)(row + i));
        __m256i ar = _mm256_sign_epi8(r, r);
        __m256i p0 = _mm256_maddubs_epi16(ar, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(q0 + i)), r));
        __m256i p1 = _mm256_maddubs_epi16(ar, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(q1 + i)), r));
        __m256i p2 = _mm256_maddubs_epi16(ar, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(q2 + i)), r));
        __m256i p3 = _mm256_maddubs_epi16(ar, _mm256_sign_epi8(_mm256_loadu_si256((const __m256i *)(q3 + i)), r));
        a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(p0, ones));
        a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(p1, ones));
        a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(p2, ones));
        a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(p3, ones));
    }
    out[0] = hsum_epi32(a0);
    out[1] = hsum_epi32(a1);
    out[2] = hsum_epi32(a2);
    out[3] = hsum_epi32(a3);
}
#else
int32_t mlops__cache_dot_i8_avx2(const int8_t *a, const int8_t *b, int n)
{
    return mlops__cache_dot_i8_ref(a, b, n);
}
#endif

typedef int32_t (*dot_fn)(const int8_t *, const int8_t *, int);
static dot_fn chosen = mlops__cache_dot_i8_ref;
static pthread_once_t choose_once = PTHREAD_ONCE_INIT;

/* Process-wide CPU feature detection, set once (STYLE.md allows this singleton). */
static void choose(void)
{
#if HAVE_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        chosen = mlops__cache_dot_i8_avx2;
#endif
}

int32_t mlops__cache_dot_i8(const int8_t *a, const int8_t *b, int n)
{
    pthread_once(&choose_once, choose);
    return chosen(a, b, n);
}

void mlops__cache_dots_i8(const int8_t *m, size_t rows, int dim, const int8_t *q, int32_t *out)
{
    pthread_once(&choose_once, choose);
    dot_fn f = chosen;
    for (size_t r = 0; r < rows; r++)
        out[r] = f(m + r * (size_t)dim, q, dim);
}

void mlops__cache_dots_i8_multi_ref(const int8_t *m, size_t rows, int dim, const int8_t *q,
                                    int nq, int32_t *out)
{
    for (int j = 0; j < nq; j++)
        for (size_t r = 0; r < rows; r++)
            out[(size_t)j * rows + r] =
                mlops__cache_dot_i8_ref(m + r * (size_t)dim, q + (size_t)j * (size_t)dim, dim);
}

void mlops__cache_dots_i8_multi(const int8_t *m, size_t rows, int dim, const int8_t *q, int nq,
                                int32_t *out)
{
    pthread_once(&choose_once, choose);
#if HAVE_X86
    if (chosen == mlops__cache_dot_i8_avx2 && dim % 32 == 0) {
        size_t d = (size_t)dim;
        int j = 0;
        for (; j + 4 <= nq; j += 4) {
            const int8_t *q0 = q + (size_t)j * d;
            for (size_t r = 0; r < rows; r++) {
                int32_t o[4];
                dot4_avx2(m + r * d, q0, q0 + d, q0 + 2 * d, q0 + 3 * d, dim, o);
                for (int t = 0; t < 4; t++)
                    out[(size_t)(j + t) * rows + r] = o[t];
            }
        }
        for (; j < nq; j++)
            mlops__cache_dots_i8(m, rows, dim, q + (size_t)j * d, out + (size_t)j * rows);
        return;
    }
#endif
    for (int j = 0; j < nq; j++)
        mlops__cache_dots_i8(m, rows, dim, q + (size_t)j * (size_t)dim, out + (size_t)j * rows);
}

float mlops__cache_quantize(const float *v, int n, int8_t *q)
{
    float mx = 0.0f;
    for (int i = 0; i < n; i++) {
        float a = v[i] < 0 ? -v[i] : v[i];
        if (a > mx)
            mx = a;
    }
    if (mx == 0.0f) {
        for (int i = 0; i < n; i++)
            q[i] = 0;
        return 0.0f;
    }
    float scale = mx / 127.0f, inv = 127.0f / mx;
    for (int i = 0; i < n; i++) {
        float x = v[i] * inv;
        int r = (int)(x < 0 ? x - 0.5f : x + 0.5f);
        q[i] = (int8_t)(r > 127 ? 127 : r < -127 ? -127 : r);
    }
    return scale;
}
