/*
 * The vector store against a brute-force reference: single and batched search, f32
 * and int8 (+ rescoring), tombstones and compaction, growth; the int8 kernels against
 * the scalar reference.
 */
#include "test_support.h"

#include "cache/cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

static void random_unit(float *v, int d)
{
    for (int i = 0; i < d; i++)
        v[i] = frand();
    mlops__vec_normalize(v, d);
}

static void int8_kernels_match_reference(void **state)
{
    (void)state;
    int8_t a[1000], b[1000];
    for (int i = 0; i < 1000; i++) {
        a[i] = (int8_t)((int)(frand() * 127.0f));
        b[i] = (int8_t)((int)(frand() * 127.0f));
    }
    a[0] = 127;
    b[0] = -127;
    a[1] = -127;
    b[1] = -127;
    int lens[] = {0, 1, 31, 32, 33, 63, 64, 65, 384, 768, 1000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        int32_t r = mlops__cache_dot_i8_ref(a, b, lens[k]);
        assert_int_equal(mlops__cache_dot_i8_avx2(a, b, lens[k]), r);
        assert_int_equal(mlops__cache_dot_i8(a, b, lens[k]), r);
    }
    /* the multi-query kernel against the reference, dims with and without the fast path */
    int dims[] = {32, 96, 100, 384};
    for (size_t k = 0; k < 4; k++) {
        int d = dims[k];
        int32_t o1[7 * 9], o2[7 * 9];
        int8_t m8[9 * 384], q8[7 * 384];
        for (int i = 0; i < 9 * d; i++)
            m8[i] = (int8_t)((int)(frand() * 127.0f));
        for (int i = 0; i < 7 * d; i++)
            q8[i] = (int8_t)((int)(frand() * 127.0f));
        mlops__cache_dots_i8_multi(m8, 9, d, q8, 7, o1);
        mlops__cache_dots_i8_multi_ref(m8, 9, d, q8, 7, o2);
        assert_memory_equal(o1, o2, sizeof(int32_t) * 7 * 9);
    }
    float v[384];
    int8_t q[384];
    random_unit(v, 384);
    float s = mlops__cache_quantize(v, 384, q);
    for (int i = 0; i < 384; i++)
        assert_true(fabsf(q[i] * s - v[i]) <= s * 0.5f + 1e-6f);
}

static int brute_best(const float *m, int n, int d, const float *q, const bool *dead)
{
    int best = -1;
    float bs = -2;
    for (int r = 0; r < n; r++) {
        if (dead[r])
            continue;
        float s = 0;
        for (int i = 0; i < d; i++)
            s += m[r * d + i] * q[i];
        if (s > bs) {
            bs = s;
            best = r;
        }
    }
    return best;
}

static void search_matches_brute_force(void **state)
{
    (void)state;
    const int n = 3000, d = 96, nq = 40;
    float *m = malloc(sizeof(float) * n * d);
    float *qs = malloc(sizeof(float) * nq * d);
    bool *dead = calloc(n, 1);
    for (int r = 0; r < n; r++)
        random_unit(m + r * d, d);
    for (int j = 0; j < nq; j++) {
        /* near a known row, so that the best is well defined */
        for (int i = 0; i < d; i++)
            qs[j * d + i] = m[(j * 71) * d + i] + 0.3f * frand() / sqrtf((float)d);
        mlops__vec_normalize(qs + j * d, d);
    }
    for (int int8 = 0; int8 < 2; int8++) {
        mlops__vecstore *vs = NULL;
        assert_ok(mlops__vecstore_create(d, int8, &vs));
        memset(dead, 0, n);
        for (int r = 0; r < n; r++)
            assert_ok(mlops__vecstore_add(vs, r + 1, m + r * d));
        assert_status(mlops__vecstore_add(vs, 5, m), MLOPS_EEXIST, "already");
        float nanv[96];
        memcpy(nanv, m, sizeof nanv);
        nanv[3] = NAN;
        assert_status(mlops__vecstore_add(vs, 99999, nanv), MLOPS_EINVAL, "NaN");
        /* Remove every fourth row: tombstones, then compaction. */
        for (int r = 0; r < n; r += 4) {
            if (r == 71 * 4)
                continue;
            assert_ok(mlops__vecstore_remove(vs, r + 1));
            dead[r] = true;
        }
        assert_status(mlops__vecstore_remove(vs, 1), MLOPS_ENOTFOUND, "no row");
        for (int pass = 0; pass < 2; pass++) {
            int64_t ids[8 * 40];
            float sc[8 * 40];
            int found[40];
            assert_ok(mlops__vecstore_search_batch(vs, qs, nq, 8, -1.0f, 8, ids, sc, found));
            for (int j = 0; j < nq; j++) {
                int want = brute_best(m, n, d, qs + j * d, dead);
                int64_t one[8];
                float os[8];
                int got = mlops__vecstore_search(vs, qs + j * d, 8, -1.0f, 8, one, os);
                assert_int_equal(got, 8);
                assert_int_equal(one[0], want + 1);
                assert_int_equal(found[j], 8);
                assert_int_equal(ids[j * 8], want + 1);
                assert_true(fabsf(sc[j * 8] - os[0]) < 1e-4f);
                for (int k = 1; k < 8; k++)
                    assert_true(os[k] <= os[k - 1]);
                /* a threshold above the best finds nothing */
                assert_int_equal(
                    mlops__vecstore_search(vs, qs + j * d, 8, os[0] + 0.01f, 8, one, os), 0);
            }
            assert_ok(mlops__vecstore_compact(vs));
            size_t rows, tomb;
            mlops__vecstore_counts(vs, &rows, &tomb, NULL);
            assert_int_equal(tomb, 0);
        }
        mlops__vecstore_free(vs);
    }
    free(m);
    free(qs);
    free(dead);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(int8_kernels_match_reference),
        cmocka_unit_test(search_matches_brute_force),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
