/*
 * GGUF writer (version 3). Pairs are serialised as they are added; tensors are declared
 * with their shapes and written in one pass, each padded to general.alignment (32), so
 * quantising a large model never holds more than one tensor in memory.
 */
#include "engine.h"
#include "quant.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ALIGN MLOPS__GGUF_DEFAULT_ALIGNMENT

typedef struct wtensor {
    char *name;
    int type;
    uint32_t n_dims;
    int64_t ne[MLOPS__GGUF_MAX_DIMS];
    uint64_t nbytes, offset;
    const void *data;
} wtensor;

struct mlops__gguf_writer {
    mlops__buf kv;
    uint64_t n_kv;
    wtensor *t;
    size_t n_t, cap_t;
    bool failed;
};

mlops__gguf_writer *mlops__gguf_writer_new(void)
{
    mlops__gguf_writer *w = calloc(1, sizeof *w);
    if (w)
        mlops__buf_init(&w->kv);
    return w;
}

void mlops__gguf_writer_free(mlops__gguf_writer *w)
{
    if (!w)
        return;
    mlops__buf_free(&w->kv);
    for (size_t i = 0; i < w->n_t; i++)
        free(w->t[i].name);
    free(w->t);
    free(w);
}

static void put_u32(mlops__buf *b, uint32_t v) { mlops__buf_append(b, &v, 4); }
static void put_u64(mlops__buf *b, uint64_t v) { mlops__buf_append(b, &v, 8); }

static void put_str(mlops__buf *b, const char *s)
{
    size_t n = strlen(s);
    put_u64(b, n);
    mlops__buf_append(b, s, n);
}

static void key(mlops__gguf_writer *w, const char *k, uint32_t type)
{
    put_str(&w->kv, k);
    put_u32(&w->kv, type);
    w->n_kv++;
}

void mlops__gguf_w_u32(mlops__gguf_writer *w, const char *k, uint32_t v)
{
    key(w, k, MLOPS__GGUF_UINT32);
    put_u32(&w->kv, v);
}

void mlops__gguf_w_i32(mlops__gguf_writer *w, const char *k, int32_t v)
{
    key(w, k, MLOPS__GGUF_INT32);
    mlops__buf_append(&w->kv, &v, 4);
}

void mlops__gguf_w_f32(mlops__gguf_writer *w, const char *k, float v)
{
    key(w, k, MLOPS__GGUF_FLOAT32);
    mlops__buf_append(&w->kv, &v, 4);
}

void mlops__gguf_w_bool(mlops__gguf_writer *w, const char *k, bool v)
{
    key(w, k, MLOPS__GGUF_BOOL);
    mlops__buf_putc(&w->kv, v ? 1 : 0);
}

void mlops__gguf_w_str(mlops__gguf_writer *w, const char *k, const char *v)
{
    key(w, k, MLOPS__GGUF_STRING);
    put_str(&w->kv, v);
}

void mlops__gguf_w_arr_str(mlops__gguf_writer *w, const char *k, const char *const *v, size_t n)
{
    key(w, k, MLOPS__GGUF_ARRAY);
    put_u32(&w->kv, MLOPS__GGUF_STRING);
    put_u64(&w->kv, n);
    for (size_t i = 0; i < n; i++)
        put_str(&w->kv, v[i]);
}

void mlops__gguf_w_arr_f32(mlops__gguf_writer *w, const char *k, const float *v, size_t n)
{
    key(w, k, MLOPS__GGUF_ARRAY);
    put_u32(&w->kv, MLOPS__GGUF_FLOAT32);
    put_u64(&w->kv, n);
    mlops__buf_append(&w->kv, v, n * 4);
}

void mlops__gguf_w_arr_i32(mlops__gguf_writer *w, const char *k, const int32_t *v, size_t n)
{
    key(w, k, MLOPS__GGUF_ARRAY);
    put_u32(&w->kv, MLOPS__GGUF_INT32);
    put_u64(&w->kv, n);
    mlops__buf_append(&w->kv, v, n * 4);
}

void mlops__gguf_w_copy(mlops__gguf_writer *w, const mlops__gguf *g, const mlops__gguf_kv *kv)
{
    mlops__buf_append(&w->kv, g->base + kv->raw_off, kv->raw_len);
    w->n_kv++;
}

int mlops__gguf_w_tensor(mlops__gguf_writer *w, const char *name, int type, uint32_t n_dims,
                         const int64_t *ne, const void *data)
{
    const mlops__qtraits *tr = mlops__q_traits(type);
    if (!tr)
        return mlops__error(MLOPS_EINVAL, "gguf writer: tensor '%s': unknown type %d", name, type);
    if (n_dims < 1 || n_dims > MLOPS__GGUF_MAX_DIMS || ne[0] % tr->block != 0)
        return mlops__error(MLOPS_EINVAL, "gguf writer: tensor '%s': bad shape for %s", name,
                            tr->name);
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? w->cap_t * 2 : 64;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t)
            return mlops__error_oom("gguf writer");
        w->t = t;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = mlops__strdup(name)))
        return mlops__error_oom("gguf writer");
    t->type = type;
    t->n_dims = n_dims;
    uint64_t rows = 1;
    for (int d = 0; d < MLOPS__GGUF_MAX_DIMS; d++) {
        t->ne[d] = d < (int)n_dims ? ne[d] : 1;
        if (d > 0)
            rows *= (uint64_t)t->ne[d];
    }
    t->nbytes = mlops__q_row_bytes(type, t->ne[0]) * rows;
    t->data = data;
    w->n_t++;
    return MLOPS_OK;
}

static int write_all(FILE *f, const void *p, size_t n, const char *path)
{
    if (n && fwrite(p, 1, n, f) != n)
        return mlops__error(MLOPS_EIO, "%s: write failed: %s", path, strerror(errno));
    return MLOPS_OK;
}

static int write_body(mlops__gguf_writer *w, FILE *f, const char *path,
                      mlops__gguf_fill_fn fill, void *user)
{
    mlops__buf h;
    mlops__buf_init(&h);
    mlops__buf_append(&h, "GGUF", 4);
    put_u32(&h, 3);
    put_u64(&h, w->n_t);
    put_u64(&h, w->n_kv);
    mlops__buf_append(&h, w->kv.data, w->kv.len);
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        wtensor *t = &w->t[i];
        put_str(&h, t->name);
        put_u32(&h, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++)
            put_u64(&h, (uint64_t)t->ne[d]);
        put_u32(&h, (uint32_t)t->type);
        t->offset = off;
        put_u64(&h, off);
        off += (t->nbytes + ALIGN - 1) / ALIGN * ALIGN;
    }
    static const char zeros[ALIGN];
    mlops__buf_append(&h, zeros, (ALIGN - h.len % ALIGN) % ALIGN);
    if (h.failed || w->kv.failed) {
        mlops__buf_free(&h);
        return mlops__error_oom("gguf header");
    }
    int rc = write_all(f, h.data, h.len, path);
    mlops__buf_free(&h);
    void *tmp = NULL;
    size_t tmp_cap = 0;
    for (size_t i = 0; i < w->n_t && rc == MLOPS_OK; i++) {
        wtensor *t = &w->t[i];
        const void *src = t->data;
        if (!src) {
            if (tmp_cap < t->nbytes) {
                free(tmp);
                tmp_cap = (size_t)t->nbytes;
                if (!(tmp = malloc(tmp_cap))) {
                    rc = mlops__error_oom("gguf tensor buffer");
                    break;
                }
            }
            if (!fill) {
                rc = mlops__error(MLOPS_EINVAL, "gguf writer: tensor '%s' has no data", t->name);
                break;
            }
            if ((rc = fill(user, i, tmp, (size_t)t->nbytes)) != MLOPS_OK)
                break;
            src = tmp;
        }
        rc = write_all(f, src, (size_t)t->nbytes, path);
        if (rc == MLOPS_OK)
            rc = write_all(f, zeros, (ALIGN - t->nbytes % ALIGN) % ALIGN, path);
    }
    free(tmp);
    return rc;
}

int mlops__gguf_w_write(mlops__gguf_writer *w, const char *path, mlops__gguf_fill_fn fill,
                        void *user)
{
    char *tmp = mlops__sprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return mlops__error_oom("temporary file name");
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        int rc = mlops__error(MLOPS_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    int rc = write_body(w, f, path, fill, user);
    if (fclose(f) != 0 && rc == MLOPS_OK)
        rc = mlops__error(MLOPS_EIO, "%s: write failed: %s", path, strerror(errno));
    if (rc == MLOPS_OK && rename(tmp, path) != 0)
        rc = mlops__error(MLOPS_EIO, "%s: cannot rename into place: %s", path, strerror(errno));
    if (rc != MLOPS_OK)
        unlink(tmp);
    free(tmp);
    return rc;
}
