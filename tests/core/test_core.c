/* lib/core: JSON helpers, hashing, buffers, names, the thread pool, files. */
#include "test_support.h"

#include "core/core.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static void json_parse_reports_position(void **state)
{
    (void)state;
    json_t *v = NULL;
    assert_status(mlops__json_parse("{\"a\": 1,\n \"b\": }", "request", &v), MLOPS_EPARSE,
                  "request:");
    assert_null(v);
    assert_non_null(strstr(mlops_last_error(), "line 2"));
    assert_status(mlops__json_parse_object("[1]", "config", &v), MLOPS_EPARSE,
                  "expected a JSON object, got array");
    assert_ok(mlops__json_parse_object("{\"x\": [1, 2]}", "config", &v));
    char *text = NULL;
    assert_ok(mlops__json_dump(v, &text));
    assert_string_equal(text, "{\"x\":[1,2]}");
    free(text);
    json_decref(v);
}

static void json_check_fields_names_the_key(void **state)
{
    (void)state;
    static const mlops__json_field fields[] = {
        {"ttl_s", MLOPS__J_INTEGER, false},
        {"name", MLOPS__J_STRING, true},
        {"ratio", MLOPS__J_NUMBER, false},
        {NULL},
    };
    json_t *v = json_pack("{s:s, s:i, s:i}", "name", "x", "ttl_s", 3, "ratio", 2);
    assert_ok(mlops__json_check_fields(v, "config.cache", fields, MLOPS_ECONFIG));
    json_object_set_new(v, "tll", json_true());
    assert_status(mlops__json_check_fields(v, "config.cache", fields, MLOPS_ECONFIG),
                  MLOPS_ECONFIG, "config.cache: unknown key 'tll'");
    json_object_del(v, "tll");
    json_object_set_new(v, "ttl_s", json_string("3"));
    assert_status(mlops__json_check_fields(v, "config.cache", fields, MLOPS_ECONFIG),
                  MLOPS_ECONFIG, "config.cache.ttl_s: expected integer, got string");
    json_object_del(v, "ttl_s");
    json_object_del(v, "name");
    assert_status(mlops__json_check_fields(v, "config.cache", fields, MLOPS_EINVAL),
                  MLOPS_EINVAL, "missing required key 'name'");
    json_decref(v);
}

static void hashes_are_stable(void **state)
{
    (void)state;
    /* xxh3-64 of "" with seed 0 is a published constant. */
    assert_true(mlops__hash64("", 0, 0) == 0x2D06800538D394C2ull);
    assert_true(mlops__hash_str("abc", 1) == mlops__hash64("abc", 3, 1));
    assert_true(mlops__hash_str("abc", 1) != mlops__hash_str("abc", 2));
    char hex[33];
    mlops__hash128_hex("abc", 3, hex);
    assert_int_equal(strlen(hex), 32);
    mlops__hasher *h = mlops__hasher_new(7);
    mlops__hasher_update(h, "ab", 2);
    mlops__hasher_update(h, "c", 1);
    assert_true(mlops__hasher_digest(h) == mlops__hash64("abc", 3, 7));
    mlops__hasher_free(h);
    double u = mlops__hash_unit(UINT64_MAX);
    assert_true(u < 1.0 && u > 0.999);
    assert_true(mlops__hash_unit(0) == 0.0);
}

static void buffers_grow_and_format(void **state)
{
    (void)state;
    mlops__buf b;
    mlops__buf_init(&b);
    for (int i = 0; i < 1000; i++)
        mlops__buf_printf(&b, "%d,", i);
    mlops__buf_puts(&b, "end");
    char *s = mlops__buf_take(&b);
    assert_non_null(s);
    assert_true(strncmp(s, "0,1,2,", 6) == 0);
    assert_true(strcmp(s + strlen(s) - 7, "999,end") == 0);
    free(s);
    assert_null(b.data);
    char *p = mlops__sprintf("%s-%d", "x", 42);
    assert_string_equal(p, "x-42");
    free(p);
}

static void names_follow_the_rule(void **state)
{
    (void)state;
    assert_ok(mlops__name_check("fraud-model_v2.onnx", "model name"));
    assert_ok(mlops__name_check("team/prompt", "prompt name"));
    assert_status(mlops__name_check("", "prompt name"), MLOPS_EINVAL, "must not be empty");
    assert_status(mlops__name_check("-x", "prompt name"), MLOPS_EINVAL, "must start with");
    assert_status(mlops__name_check("a b", "prompt name"), MLOPS_EINVAL, "character 2");
    char long_name[200];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_status(mlops__name_check(long_name, "prompt name"), MLOPS_EINVAL, "longer than");
    assert_status(mlops__name_check(NULL, "prompt name"), MLOPS_EINVAL, "NULL");
}

typedef struct sum_job {
    _Atomic long sum;
    _Atomic int calls[1000];
} sum_job;

static void add_index(void *arg, int i, int n)
{
    sum_job *j = arg;
    (void)n;
    atomic_fetch_add(&j->sum, i);
    atomic_fetch_add(&j->calls[i], 1);
}

static void pool_runs_every_index_once(void **state)
{
    (void)state;
    for (int threads = 1; threads <= 4; threads++) {
        mlops__pool *p = NULL;
        assert_ok(mlops__pool_create(threads, &p));
        assert_int_equal(mlops__pool_threads(p), threads);
        for (int round = 0; round < 200; round++) {
            sum_job *j = calloc(1, sizeof *j);
            int n = 1 + round * 5 % 1000;
            mlops__pool_run(p, add_index, j, n);
            assert_int_equal(atomic_load(&j->sum), (long)n * (n - 1) / 2);
            for (int i = 0; i < n; i++)
                assert_int_equal(atomic_load(&j->calls[i]), 1);
            free(j);
        }
        mlops__pool_destroy(p);
    }
    mlops__pool *p = NULL;
    assert_status(mlops__pool_create(0, &p), MLOPS_EINVAL, "threads");
}

static void files_round_trip(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *sub = test_path(dir, "a/b/c");
    assert_ok(mlops__mkdirs(sub));
    char *file = test_path(sub, "x.txt");
    assert_ok(mlops__file_write_atomic(file, "hello", 5));
    char *data = NULL;
    size_t len = 0;
    assert_ok(mlops__file_read(file, 100, &data, &len));
    assert_int_equal(len, 5);
    assert_string_equal(data, "hello");
    free(data);
    assert_status(mlops__file_read(file, 3, &data, &len), MLOPS_ELIMIT, "limit");
    char *missing = test_path(dir, "missing");
    assert_status(mlops__file_read(missing, 3, &data, &len), MLOPS_EIO, "cannot open");
    free(missing);
    free(file);
    free(sub);
    test_tmpdir_remove(dir);
}

static void clock_moves_forward(void **state)
{
    (void)state;
    uint64_t a = mlops__now_ns();
    mlops__sleep_ms(2);
    uint64_t b = mlops__now_ns();
    assert_true(b - a >= 2000000ull);
    char text[32];
    mlops__format_time(0, text);
    assert_string_equal(text, "1970-01-01T00:00:00.000Z");
    assert_true(mlops__wall_ms() > 1700000000000LL);
}


static float cosine(const float *a, const float *b, int dim)
{
    float s = 0;
    for (int i = 0; i < dim; i++)
        s += a[i] * b[i];
    return s;
}

static void hashvec_separates_and_matches(void **state)
{
    (void)state;
    enum { DIM = 256 };
    mlops__hashvec_opts o;
    mlops__hashvec_defaults(&o, DIM);
    float a[DIM], b[DIM], c[DIM], d[DIM];
    bool empty = true;
    const char *s1 = "How do I reset my password?";
    const char *s2 = "how do i RESET my password";
    const char *s3 = "How can I reset the password for my account?";
    const char *s4 = "What is the boiling point of water at sea level?";
    assert_ok(mlops__hashvec_embed(&o, s1, strlen(s1), a, &empty));
    assert_false(empty);
    assert_ok(mlops__hashvec_embed(&o, s2, strlen(s2), b, NULL));
    assert_ok(mlops__hashvec_embed(&o, s3, strlen(s3), c, NULL));
    assert_ok(mlops__hashvec_embed(&o, s4, strlen(s4), d, NULL));
    /* Case and punctuation do not matter; paraphrase is closer than another topic. */
    assert_true(cosine(a, b, DIM) > 0.999f);
    assert_true(cosine(a, c, DIM) > cosine(a, d, DIM) + 0.2f);
    assert_true(fabsf(cosine(a, a, DIM) - 1.0f) < 1e-5f);
    assert_ok(mlops__hashvec_embed(&o, "!!! ...", 7, d, &empty));
    assert_true(empty);
    o.dim = 8;
    assert_status(mlops__hashvec_embed(&o, s1, strlen(s1), a, NULL), MLOPS_EINVAL, "dimension");
    /* A long text takes the heap path and stays deterministic. */
    size_t big = 20000;
    char *text = malloc(big + 1);
    for (size_t i = 0; i < big; i++)
        text[i] = (char)('a' + (i * 7 % 26)) == 'q' ? ' ' : (char)('a' + (i * 7 % 26));
    text[big] = 0;
    float *e1 = malloc(sizeof(float) * 1024), *e2 = malloc(sizeof(float) * 1024);
    mlops__hashvec_defaults(&o, 1024);
    assert_ok(mlops__hashvec_embed(&o, text, big, e1, NULL));
    assert_ok(mlops__hashvec_embed(&o, text, big, e2, NULL));
    assert_memory_equal(e1, e2, sizeof(float) * 1024);
    free(e1);
    free(e2);
    free(text);
}

static void topk_finds_best_rows(void **state)
{
    (void)state;
    enum { ROWS = 2000, DIM = 32 };
    float *m = malloc(sizeof(float) * ROWS * DIM);
    uint64_t x = 42;
    for (int i = 0; i < ROWS * DIM; i++) {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        m[i] = (float)((double)(x >> 11) / 9007199254740992.0 - 0.5);
    }
    for (int r = 0; r < ROWS; r++)
        mlops__vec_normalize(m + r * DIM, DIM);
    float q[DIM];
    memcpy(q, m + 1234 * DIM, sizeof q);
    int64_t idx[5];
    float sc[5];
    int n = mlops__vec_topk(m, ROWS, DIM, q, 5, -1.0f, idx, sc);
    assert_int_equal(n, 5);
    assert_int_equal(idx[0], 1234);
    assert_true(fabsf(sc[0] - 1.0f) < 1e-5f);
    for (int i = 1; i < 5; i++)
        assert_true(sc[i] <= sc[i - 1]);
    /* Brute-force check of the runner-up. */
    float best = -2;
    for (int r = 0; r < ROWS; r++)
        if (r != 1234 && cosine(m + r * DIM, q, DIM) > best)
            best = cosine(m + r * DIM, q, DIM);
    assert_true(fabsf(best - sc[1]) < 1e-5f);
    assert_int_equal(mlops__vec_topk(m, ROWS, DIM, q, 5, 1.5f, idx, sc), 0);
    assert_true(mlops__vec_finite(m, ROWS * DIM));
    m[7] = NAN;
    assert_false(mlops__vec_finite(m, ROWS * DIM));
    free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_parse_reports_position),
        cmocka_unit_test(json_check_fields_names_the_key),
        cmocka_unit_test(hashes_are_stable),
        cmocka_unit_test(buffers_grow_and_format),
        cmocka_unit_test(names_follow_the_rule),
        cmocka_unit_test(pool_runs_every_index_once),
        cmocka_unit_test(files_round_trip),
        cmocka_unit_test(clock_moves_forward),
        cmocka_unit_test(hashvec_separates_and_matches),
        cmocka_unit_test(topk_finds_best_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
