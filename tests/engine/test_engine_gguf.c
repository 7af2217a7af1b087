/* GGUF: writer -> reader round trip, and hand-crafted bad files refused by field name. */
#include "test_support.h"

#include "engine/engine.h"
#include "engine/quant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

/* ------------------------------------------------------------- crafting --- */

typedef struct craft {
    uint8_t b[4096];
    size_t n;
} craft;

static void c_u32(craft *c, uint32_t v) { memcpy(c->b + c->n, &v, 4), c->n += 4; }
static void c_u64(craft *c, uint64_t v) { memcpy(c->b + c->n, &v, 8), c->n += 8; }
static void c_str(craft *c, const char *s)
{
    c_u64(c, strlen(s));
    memcpy(c->b + c->n, s, strlen(s));
    c->n += strlen(s);
}
static void c_head(craft *c, uint32_t version, uint64_t nt, uint64_t nkv)
{
    c->n = 0;
    memcpy(c->b, "GGUF", 4);
    c->n = 4;
    c_u32(c, version);
    c_u64(c, nt);
    c_u64(c, nkv);
}
static void c_tensor(craft *c, const char *name, uint32_t ndims, const uint64_t *ne, uint32_t type,
                     uint64_t off)
{
    c_str(c, name);
    c_u32(c, ndims);
    for (uint32_t i = 0; i < ndims; i++)
        c_u64(c, ne[i]);
    c_u32(c, type);
    c_u64(c, off);
}
static void c_pad(craft *c, size_t data_bytes)
{
    while (c->n % 32)
        c->b[c->n++] = 0;
    memset(c->b + c->n, 0, data_bytes);
    c->n += data_bytes;
}

/* Parses a heap copy of exactly n bytes, so ASan sees any over-read. */
static int parse(const craft *c, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    memcpy(p, c->b, n);
    mlops__gguf *g = NULL;
    int rc = mlops__gguf_parse(p, n, &g);
    mlops__gguf_close(g);
    free(p);
    return rc;
}

#define BAD(c, needle) assert_status(parse(&(c), (c).n), MLOPS_EFORMAT, needle)

static void crafted_bad_headers(void **state)
{
    (void)state;
    craft c;
    uint64_t ne2[2] = {32, 2};
    c_head(&c, 3, 0, 0);
    assert_ok(parse(&c, c.n));
    memcpy(c.b, "GGUX", 4);
    BAD(c, "magic");
    c_head(&c, 1, 0, 0);
    BAD(c, "version");
    c_head(&c, 4, 0, 0);
    BAD(c, "version");
    c_head(&c, 3, 1ull << 60, 0);
    BAD(c, "tensor_count");
    c_head(&c, 3, 0, UINT64_MAX);
    BAD(c, "metadata_kv_count");
    /* key string length past the end */
    c_head(&c, 3, 0, 1);
    c_u64(&c, 1000);
    c_u64(&c, 0);
    BAD(c, "metadata[0].key");
    /* unknown value type */
    c_head(&c, 3, 0, 1);
    c_str(&c, "a.b");
    c_u32(&c, 99);
    c_u32(&c, 0);
    BAD(c, "a.b: value type 99");
    /* string value longer than the file */
    c_head(&c, 3, 0, 1);
    c_str(&c, "name");
    c_u32(&c, MLOPS__GGUF_STRING);
    c_u64(&c, UINT64_MAX / 2);
    BAD(c, "name: string length");
    /* array with a huge count */
    c_head(&c, 3, 0, 1);
    c_str(&c, "arr");
    c_u32(&c, MLOPS__GGUF_ARRAY);
    c_u32(&c, MLOPS__GGUF_UINT32);
    c_u64(&c, 1ull << 62);
    BAD(c, "arr: array");
    c_head(&c, 3, 0, 1);
    c_str(&c, "strs");
    c_u32(&c, MLOPS__GGUF_ARRAY);
    c_u32(&c, MLOPS__GGUF_STRING);
    c_u64(&c, 1ull << 40);
    BAD(c, "strs: array count");
    /* nested arrays and bad bools */
    c_head(&c, 3, 0, 1);
    c_str(&c, "nest");
    c_u32(&c, MLOPS__GGUF_ARRAY);
    c_u32(&c, MLOPS__GGUF_ARRAY);
    c_u64(&c, 1);
    BAD(c, "nest: array element type");
    c_head(&c, 3, 0, 1);
    c_str(&c, "flag");
    c_u32(&c, MLOPS__GGUF_BOOL);
    c.b[c.n++] = 2;
    BAD(c, "flag: bool");
    /* duplicate keys */
    c_head(&c, 3, 0, 2);
    for (int i = 0; i < 2; i++) {
        c_str(&c, "k");
        c_u32(&c, MLOPS__GGUF_UINT8);
        c.b[c.n++] = 1;
    }
    BAD(c, "k: duplicate key");
    /* general.alignment must be a power of two */
    c_head(&c, 3, 0, 1);
    c_str(&c, "general.alignment");
    c_u32(&c, MLOPS__GGUF_UINT32);
    c_u32(&c, 24);
    BAD(c, "general.alignment");
    c_head(&c, 3, 0, 1);
    c_str(&c, "general.alignment");
    c_u32(&c, MLOPS__GGUF_UINT64);
    c_u64(&c, 32);
    BAD(c, "general.alignment: expected uint32");
    /* tensors: dims, type, block size, alignment, overlap, outside the file */
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 5, (uint64_t[]){1, 1, 1, 1, 1}, 0, 0);
    BAD(c, "tensor 't': n_dims 5");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, (uint64_t[]){4, 0}, 0, 0);
    BAD(c, "tensor 't': dimension 1");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, ne2, 99, 0);
    BAD(c, "tensor 't': type 99");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, (uint64_t[]){16, 2}, MLOPS__T_Q8_0, 0);
    BAD(c, "block size");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, ne2, 0, 8);
    c_pad(&c, 512);
    BAD(c, "tensor 't': offset 8 is not a multiple");
    c_head(&c, 3, 2, 0);
    c_tensor(&c, "a", 2, ne2, 0, 0);
    c_tensor(&c, "b", 2, ne2, 0, 128);
    c_pad(&c, 512);
    BAD(c, "overlaps");
    c_head(&c, 3, 2, 0);
    c_tensor(&c, "a", 2, ne2, 0, 0);
    c_tensor(&c, "a", 2, ne2, 0, 256);
    c_pad(&c, 512);
    BAD(c, "duplicate tensor name");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, ne2, 0, 0);
    c_pad(&c, 100);
    BAD(c, "tensor 't': data");
    c_head(&c, 3, 1, 0);
    c_tensor(&c, "t", 2, (uint64_t[]){1ull << 40, 1ull << 20}, 0, 0);
    c_pad(&c, 64);
    BAD(c, "too large");
    /* a custom general.alignment governs offsets and the data section */
    c_head(&c, 3, 1, 1);
    c_str(&c, "general.alignment");
    c_u32(&c, MLOPS__GGUF_UINT32);
    c_u32(&c, 64);
    c_tensor(&c, "t", 2, ne2, 0, 32);
    c_pad(&c, 512);
    BAD(c, "not a multiple of the alignment 64");
    c_head(&c, 3, 1, 1);
    c_str(&c, "general.alignment");
    c_u32(&c, MLOPS__GGUF_UINT32);
    c_u32(&c, 64);
    c_tensor(&c, "t", 2, ne2, 0, 64);
    c_pad(&c, 512);
    assert_ok(parse(&c, c.n));
    /* a good one */
    c_head(&c, 3, 2, 0);
    c_tensor(&c, "a", 2, ne2, 0, 0);
    c_tensor(&c, "b", 2, ne2, MLOPS__T_Q8_0, 256);
    c_pad(&c, 256 + 68);
    assert_ok(parse(&c, c.n));
}

static void truncated_files_fail_cleanly(void **state)
{
    (void)state;
    craft c;
    c_head(&c, 3, 1, 3);
    c_str(&c, "general.name");
    c_u32(&c, MLOPS__GGUF_STRING);
    c_str(&c, "tiny");
    c_str(&c, "list");
    c_u32(&c, MLOPS__GGUF_ARRAY);
    c_u32(&c, MLOPS__GGUF_STRING);
    c_u64(&c, 2);
    c_str(&c, "x");
    c_str(&c, "yz");
    c_str(&c, "pi");
    c_u32(&c, MLOPS__GGUF_FLOAT64);
    double pi = 3.14159;
    memcpy(c.b + c.n, &pi, 8);
    c.n += 8;
    c_tensor(&c, "w", 2, (uint64_t[]){8, 2}, 0, 0);
    c_pad(&c, 64);
    assert_ok(parse(&c, c.n));
    for (size_t n = 0; n < c.n; n++) {
        int rc = parse(&c, n);
        assert_int_equal(rc, MLOPS_EFORMAT);
    }
}

static int fill_rows(void *user, size_t index, void *dst, size_t nbytes)
{
    (void)user;
    for (size_t i = 0; i < nbytes; i++)
        ((uint8_t *)dst)[i] = (uint8_t)(i * 7 + index);
    return MLOPS_OK;
}

static void writer_reader_round_trip(void **state)
{
    (void)state;
    char *p = test_path(dir, "rt.gguf");
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    mlops__gguf_w_u32(w, "u", 7);
    mlops__gguf_w_i32(w, "i", -3);
    mlops__gguf_w_f32(w, "f", 0.5f);
    mlops__gguf_w_bool(w, "b", true);
    mlops__gguf_w_str(w, "s", "héllo");
    const char *strs[] = {"a", "", "ccc"};
    mlops__gguf_w_arr_str(w, "as", strs, 3);
    float fs[] = {1, 2, 3.5f};
    mlops__gguf_w_arr_f32(w, "af", fs, 3);
    int32_t is[] = {-1, 0, 1 << 30};
    mlops__gguf_w_arr_i32(w, "ai", is, 3);
    float data[12];
    for (int i = 0; i < 12; i++)
        data[i] = (float)i / 3;
    assert_ok(mlops__gguf_w_tensor(w, "f32", MLOPS__T_F32, 2, (int64_t[]){4, 3}, data));
    assert_ok(mlops__gguf_w_tensor(w, "q8", MLOPS__T_Q8_0, 2, (int64_t[]){64, 3}, NULL));
    assert_ok(mlops__gguf_w_tensor(w, "v", MLOPS__T_F16, 1, (int64_t[]){5}, NULL));
    assert_status(mlops__gguf_w_tensor(w, "bad", MLOPS__T_Q4_K, 1, (int64_t[]){5}, NULL),
                  MLOPS_EINVAL, "bad");
    assert_ok(mlops__gguf_w_write(w, p, fill_rows, NULL));
    mlops__gguf_writer_free(w);

    mlops__gguf *g;
    assert_ok(mlops__gguf_open(p, &g));
    assert_int_equal(g->version, 3);
    int64_t iv;
    double fv;
    bool bv;
    assert_true(mlops__gguf_get_int(g, "u", &iv) && iv == 7);
    assert_true(mlops__gguf_get_int(g, "i", &iv) && iv == -3);
    assert_true(mlops__gguf_get_float(g, "f", &fv) && fv == 0.5);
    assert_true(mlops__gguf_get_bool(g, "b", &bv) && bv);
    char *s = mlops__gguf_get_str(g, "s");
    assert_string_equal(s, "héllo");
    free(s);
    const mlops__gguf_kv *kv = mlops__gguf_find(g, "as");
    assert_int_equal(kv->n, 3);
    assert_int_equal(kv->strs[2].n, 3);
    assert_memory_equal(kv->strs[2].p, "ccc", 3);
    assert_true(mlops__gguf_arr_float(mlops__gguf_find(g, "af"), 2) == 3.5);
    assert_int_equal(mlops__gguf_arr_int(mlops__gguf_find(g, "ai"), 2), 1 << 30);
    const mlops__gguf_tensor *t = mlops__gguf_tensor_find(g, "f32");
    assert_memory_equal(t->data, data, sizeof data);
    t = mlops__gguf_tensor_find(g, "q8");
    assert_int_equal(t->nbytes, 3 * 2 * 34);
    assert_int_equal(t->offset % 32, 0);
    for (size_t i = 0; i < t->nbytes; i++)
        assert_int_equal(((const uint8_t *)t->data)[i], (uint8_t)(i * 7 + 1));
    assert_int_equal(mlops__gguf_tensor_find(g, "v")->ne[0], 5);
    char *info = NULL;
    mlops__gguf_close(g);
    assert_ok(mlops_gguf_info(p, &info));
    assert_non_null(strstr(info, "\"s\":\"héllo\""));
    assert_non_null(strstr(info, "\"name\":\"q8\",\"type\":\"Q8_0\""));
    mlops_free(info);
    assert_status(mlops_gguf_info("/nonexistent.gguf", &info), MLOPS_EIO, "nonexistent");
    free(p);
}

int main(void)
{
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crafted_bad_headers),
        cmocka_unit_test(truncated_files_fail_cleanly),
        cmocka_unit_test(writer_reader_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    return rc;
}
