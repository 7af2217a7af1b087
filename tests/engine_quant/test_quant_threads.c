/*
 * lib/engine kernels from several threads: the first calls race on CPU detection
 * (pthread_once) and the rows are split across threads as the engine does; the result
 * must equal the single-threaded one bit for bit.
 */
#include "test_support.h"

#include "engine/quant.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { N = 512, ROWS = 64, THREADS = 4 };

typedef struct {
    int type;
    const unsigned char *w;
    const unsigned char *xq;
    float *y;
    int part;
} job;

static void *run(void *p)
{
    job *j = p;
    int64_t r0 = (int64_t)ROWS * j->part / THREADS, r1 = (int64_t)ROWS * (j->part + 1) / THREADS;
    mlops__q_matvec(j->type, j->w, N, r0, r1, j->xq, j->y + r0);
    return NULL;
}

static void split_rows_across_threads(void **state)
{
    (void)state;
    static const int types[] = {MLOPS__T_Q4_0, MLOPS__T_Q8_0, MLOPS__T_Q4_K, MLOPS__T_Q6_K,
                                MLOPS__T_F16};
    float *x = malloc(N * sizeof(float)), *row = malloc(N * sizeof(float));
    for (int i = 0; i < N; i++)
        x[i] = (float)((i * 37) % 101) / 50.0f - 1.0f;
    for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++) {
        int t = types[k];
        size_t rb = mlops__q_row_bytes(t, N);
        unsigned char *w = malloc(rb * ROWS), *xq = malloc(mlops__q_act_row_bytes(t, N));
        for (int r = 0; r < ROWS; r++) {
            for (int i = 0; i < N; i++)
                row[i] = (float)(((i + 1) * (r + 3)) % 97) / 48.0f - 1.0f;
            mlops__q_quantize_row(t, row, w + (size_t)r * rb, N);
        }
        mlops__q_quantize_act(t, x, xq, N);
        float y1[ROWS], y2[ROWS];
        pthread_t th[THREADS];
        job jobs[THREADS];
        for (int i = 0; i < THREADS; i++) {
            jobs[i] = (job){t, w, xq, y2, i};
            assert_int_equal(pthread_create(&th[i], NULL, run, &jobs[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(th[i], NULL);
        mlops__q_matvec(t, w, N, 0, ROWS, xq, y1);
        assert_memory_equal(y1, y2, sizeof(y1));
        free(w);
        free(xq);
    }
    free(x);
    free(row);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_rows_across_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
