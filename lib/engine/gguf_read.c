/*
 * GGUF reader (format: ggml docs/gguf.md, versions 2 and 3). The file is mapped, never
 * copied; every count, length, type, shape and offset is checked against the bytes that
 * exist before anything is used, and a bad field yields MLOPS_EFORMAT naming it.
 */
#include "engine.h"
#include "quant.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_COUNT (1ull << 24) /* pairs, tensors; a bound far above any real model */
#define MAX_KEY 65536

typedef struct rd {
    const uint8_t *p;
    size_t size, off;
} rd;

/* A set of names (keys, tensor names) for duplicate checks in linear time. */
typedef struct nameset {
    const char **slot;
    uint64_t mask;
} nameset;

static int nameset_init(nameset *ns, uint64_t n)
{
    uint64_t size = 16;
    while (size < n * 2)
        size *= 2;
    ns->slot = calloc((size_t)size, sizeof *ns->slot);
    ns->mask = size - 1;
    return ns->slot ? MLOPS_OK : mlops__error_oom("gguf name index");
}

/* Adds name; false when it was already there. */
static bool nameset_add(nameset *ns, const char *name)
{
    for (uint64_t h = mlops__hash_str(name, 5) & ns->mask;; h = (h + 1) & ns->mask) {
        if (!ns->slot[h]) {
            ns->slot[h] = name;
            return true;
        }
        if (strcmp(ns->slot[h], name) == 0)
            return false;
    }
}

static int need(rd *r, uint64_t n, const char *what)
{
    if (n > r->size - r->off)
        return mlops__error(MLOPS_EFORMAT,
                            "gguf: %s: needs %llu bytes at offset %zu but the file ends at %zu",
                            what, (unsigned long long)n, r->off, r->size);
    return MLOPS_OK;
}

static int rd_u32(rd *r, uint32_t *v, const char *what)
{
    int rc = need(r, 4, what);
    if (rc == MLOPS_OK) {
        memcpy(v, r->p + r->off, 4);
        r->off += 4;
    }
    return rc;
}

static int rd_u64(rd *r, uint64_t *v, const char *what)
{
    int rc = need(r, 8, what);
    if (rc == MLOPS_OK) {
        memcpy(v, r->p + r->off, 8);
        r->off += 8;
    }
    return rc;
}

static int rd_str(rd *r, mlops__gstr *s, const char *what)
{
    uint64_t n;
    int rc = rd_u64(r, &n, what);
    if (rc != MLOPS_OK)
        return rc;
    if (n > r->size - r->off)
        return mlops__error(MLOPS_EFORMAT,
                            "gguf: %s: string length %llu runs past the end of the file",
                            what, (unsigned long long)n);
    s->p = (const char *)r->p + r->off;
    s->n = n;
    r->off += n;
    return MLOPS_OK;
}

static size_t scalar_size(uint32_t t)
{
    static const size_t sz[MLOPS__GGUF_NTYPES] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < MLOPS__GGUF_NTYPES ? sz[t] : 0;
}

static const char *type_name(uint32_t t)
{
    static const char *n[MLOPS__GGUF_NTYPES] = {"uint8", "int8", "uint16", "int16", "uint32",
                                                "int32", "float32", "bool", "string", "array",
                                                "uint64", "int64", "float64"};
    return t < MLOPS__GGUF_NTYPES ? n[t] : "unknown";
}

/* Reads one value of type t (not an array) into kv; strings get one strs entry. */
static int rd_value(rd *r, mlops__gguf_kv *kv, const char *key)
{
    if (kv->type == MLOPS__GGUF_STRING) {
        kv->strs = malloc(sizeof *kv->strs);
        if (!kv->strs)
            return mlops__error_oom("gguf metadata");
        kv->data = r->p + r->off;
        return rd_str(r, kv->strs, key);
    }
    size_t sz = scalar_size(kv->type);
    int rc = need(r, sz, key);
    if (rc != MLOPS_OK)
        return rc;
    kv->data = r->p + r->off;
    if (kv->type == MLOPS__GGUF_BOOL && kv->data[0] > 1)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: bool value %u is not 0 or 1", key,
                            kv->data[0]);
    r->off += sz;
    return MLOPS_OK;
}

static int rd_array(rd *r, mlops__gguf_kv *kv, const char *key)
{
    int rc;
    if ((rc = rd_u32(r, &kv->arr_type, key)) != MLOPS_OK)
        return rc;
    if ((rc = rd_u64(r, &kv->n, key)) != MLOPS_OK)
        return rc;
    if (kv->arr_type >= MLOPS__GGUF_NTYPES || kv->arr_type == MLOPS__GGUF_ARRAY)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: array element type %u is not supported",
                            key, kv->arr_type);
    kv->data = r->p + r->off;
    if (kv->arr_type == MLOPS__GGUF_STRING) {
        if (kv->n > (r->size - r->off) / 8)
            return mlops__error(MLOPS_EFORMAT,
                                "gguf: %s: array count %llu is larger than the file allows",
                                key, (unsigned long long)kv->n);
        kv->strs = malloc((size_t)(kv->n ? kv->n : 1) * sizeof *kv->strs);
        if (!kv->strs)
            return mlops__error_oom("gguf string array");
        for (uint64_t i = 0; i < kv->n; i++)
            if ((rc = rd_str(r, &kv->strs[i], key)) != MLOPS_OK)
                return rc;
        return MLOPS_OK;
    }
    size_t sz = scalar_size(kv->arr_type);
    if (kv->n > (r->size - r->off) / sz)
        return mlops__error(MLOPS_EFORMAT,
                            "gguf: %s: array of %llu %s runs past the end of the file", key,
                            (unsigned long long)kv->n, type_name(kv->arr_type));
    if (kv->arr_type == MLOPS__GGUF_BOOL)
        for (uint64_t i = 0; i < kv->n; i++)
            if (kv->data[i] > 1)
                return mlops__error(MLOPS_EFORMAT, "gguf: %s[%llu]: bool value is not 0 or 1",
                                    key, (unsigned long long)i);
    r->off += (size_t)(kv->n * sz);
    return MLOPS_OK;
}

static bool valid_name(const mlops__gstr *s)
{
    if (s->n == 0 || s->n > MAX_KEY)
        return false;
    return memchr(s->p, '\0', s->n) == NULL;
}

static int rd_kvs(rd *r, mlops__gguf *g, nameset *keys)
{
    g->alignment = MLOPS__GGUF_DEFAULT_ALIGNMENT;
    for (uint64_t i = 0; i < g->n_kv; i++) {
        mlops__gguf_kv *kv = &g->kv[i];
        kv->raw_off = r->off;
        char what[64];
        snprintf(what, sizeof what, "metadata[%llu].key", (unsigned long long)i);
        mlops__gstr k;
        int rc = rd_str(r, &k, what);
        if (rc != MLOPS_OK)
            return rc;
        if (!valid_name(&k))
            return mlops__error(MLOPS_EFORMAT, "gguf: %s: empty, too long or holds NUL", what);
        if (!(kv->key = mlops__strndup(k.p, (size_t)k.n)))
            return mlops__error_oom("gguf key");
        if (!nameset_add(keys, kv->key))
            return mlops__error(MLOPS_EFORMAT, "gguf: %s: duplicate key", kv->key);
        if ((rc = rd_u32(r, &kv->type, kv->key)) != MLOPS_OK)
            return rc;
        if (kv->type >= MLOPS__GGUF_NTYPES)
            return mlops__error(MLOPS_EFORMAT, "gguf: %s: value type %u is unknown", kv->key,
                                kv->type);
        kv->n = 1;
        rc = kv->type == MLOPS__GGUF_ARRAY ? rd_array(r, kv, kv->key) : rd_value(r, kv, kv->key);
        if (rc != MLOPS_OK)
            return rc;
        kv->raw_len = r->off - kv->raw_off;
        if (strcmp(kv->key, "general.alignment") == 0) {
            uint32_t a;
            if (kv->type != MLOPS__GGUF_UINT32)
                return mlops__error(MLOPS_EFORMAT, "gguf: general.alignment: expected uint32, got %s",
                                    type_name(kv->type));
            memcpy(&a, kv->data, 4);
            if (a == 0 || (a & (a - 1)) != 0 || a > (1u << 20))
                return mlops__error(MLOPS_EFORMAT,
                                    "gguf: general.alignment: %u is not a power of two up to 1 MiB",
                                    a);
            g->alignment = a;
        }
    }
    return MLOPS_OK;
}

static int rd_tensor(rd *r, mlops__gguf *g, uint64_t i, nameset *names)
{
    mlops__gguf_tensor *t = &g->tensors[i];
    char what[96];
    snprintf(what, sizeof what, "tensor[%llu].name", (unsigned long long)i);
    mlops__gstr s;
    int rc = rd_str(r, &s, what);
    if (rc != MLOPS_OK)
        return rc;
    if (!valid_name(&s) || s.n > 256)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: empty, longer than 256 bytes or holds NUL",
                            what);
    if (!(t->name = mlops__strndup(s.p, (size_t)s.n)))
        return mlops__error_oom("gguf tensor name");
    snprintf(what, sizeof what, "tensor '%s'", t->name);
    if ((rc = rd_u32(r, &t->n_dims, what)) != MLOPS_OK)
        return rc;
    if (t->n_dims < 1 || t->n_dims > MLOPS__GGUF_MAX_DIMS)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: n_dims %u is outside 1..4", what, t->n_dims);
    uint64_t nel = 1;
    for (int d = 0; d < MLOPS__GGUF_MAX_DIMS; d++)
        t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t v;
        if ((rc = rd_u64(r, &v, what)) != MLOPS_OK)
            return rc;
        if (v == 0 || v > (1ull << 40) || nel > (1ull << 50) / v)
            return mlops__error(MLOPS_EFORMAT, "gguf: %s: dimension %u (%llu) is zero or too large",
                                what, d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
        nel *= v;
    }
    uint32_t type;
    if ((rc = rd_u32(r, &type, what)) != MLOPS_OK)
        return rc;
    const mlops__qtraits *tr = mlops__q_traits((int)type);
    if (!tr)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: type %u is unknown", what, type);
    t->type = (int)type;
    if (t->ne[0] % tr->block != 0)
        return mlops__error(MLOPS_EFORMAT,
                            "gguf: %s: row length %lld is not a multiple of the %s block size %d",
                            what, (long long)t->ne[0], tr->name, tr->block);
    t->nbytes = (uint64_t)mlops__q_row_bytes(t->type, t->ne[0]) * (nel / (uint64_t)t->ne[0]);
    if ((rc = rd_u64(r, &t->offset, what)) != MLOPS_OK)
        return rc;
    if (t->offset % g->alignment != 0)
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: offset %llu is not a multiple of the alignment %llu",
                            what, (unsigned long long)t->offset, (unsigned long long)g->alignment);
    if (!nameset_add(names, t->name))
        return mlops__error(MLOPS_EFORMAT, "gguf: %s: duplicate tensor name", what);
    return MLOPS_OK;
}

static int cmp_off(const void *a, const void *b)
{
    const mlops__gguf_tensor *x = *(const mlops__gguf_tensor *const *)a;
    const mlops__gguf_tensor *y = *(const mlops__gguf_tensor *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int check_layout(mlops__gguf *g)
{
    uint64_t data_size = g->size - g->data_off;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        mlops__gguf_tensor *t = &g->tensors[i];
        if (t->offset > data_size || t->nbytes > data_size - t->offset)
            return mlops__error(MLOPS_EFORMAT,
                                "gguf: tensor '%s': data [%llu, +%llu) lies outside the file's %llu data bytes",
                                t->name, (unsigned long long)t->offset,
                                (unsigned long long)t->nbytes, (unsigned long long)data_size);
        t->data = g->base + g->data_off + t->offset;
    }
    if (g->n_tensors < 2)
        return MLOPS_OK;
    mlops__gguf_tensor **v = malloc((size_t)g->n_tensors * sizeof *v);
    if (!v)
        return mlops__error_oom("gguf tensor index");
    for (uint64_t i = 0; i < g->n_tensors; i++)
        v[i] = &g->tensors[i];
    qsort(v, (size_t)g->n_tensors, sizeof *v, cmp_off);
    int rc = MLOPS_OK;
    for (uint64_t i = 1; i < g->n_tensors && rc == MLOPS_OK; i++)
        if (v[i - 1]->offset + v[i - 1]->nbytes > v[i]->offset)
            rc = mlops__error(MLOPS_EFORMAT, "gguf: tensor '%s': data overlaps tensor '%s'",
                              v[i]->name, v[i - 1]->name);
    free(v);
    return rc;
}

static int parse(mlops__gguf *g)
{
    rd r = {g->base, g->size, 0};
    uint32_t magic;
    int rc;
    if (g->size < 4 || memcmp(g->base, "GGUF", 4) != 0)
        return mlops__error(MLOPS_EFORMAT, "gguf: magic: the file does not start with 'GGUF'");
    rd_u32(&r, &magic, "magic");
    if ((rc = rd_u32(&r, &g->version, "version")) != MLOPS_OK)
        return rc;
    if (g->version != 2 && g->version != 3)
        return mlops__error(MLOPS_EFORMAT, "gguf: version: %u is not supported (2 or 3)",
                            g->version);
    if ((rc = rd_u64(&r, &g->n_tensors, "tensor_count")) != MLOPS_OK ||
        (rc = rd_u64(&r, &g->n_kv, "metadata_kv_count")) != MLOPS_OK)
        return rc;
    /* A pair takes at least 12 bytes and a tensor info at least 28. */
    if (g->n_kv > MAX_COUNT || g->n_kv > (g->size - r.off) / 12)
        return mlops__error(MLOPS_EFORMAT, "gguf: metadata_kv_count: %llu is larger than the file allows",
                            (unsigned long long)g->n_kv);
    if (g->n_tensors > MAX_COUNT || g->n_tensors > (g->size - r.off) / 28)
        return mlops__error(MLOPS_EFORMAT, "gguf: tensor_count: %llu is larger than the file allows",
                            (unsigned long long)g->n_tensors);
    g->kv = calloc((size_t)g->n_kv + 1, sizeof *g->kv);
    g->tensors = calloc((size_t)g->n_tensors + 1, sizeof *g->tensors);
    if (!g->kv || !g->tensors)
        return mlops__error_oom("gguf index");
    nameset keys = {0}, names = {0};
    if ((rc = nameset_init(&keys, g->n_kv)) == MLOPS_OK &&
        (rc = nameset_init(&names, g->n_tensors)) == MLOPS_OK &&
        (rc = rd_kvs(&r, g, &keys)) == MLOPS_OK)
        for (uint64_t i = 0; i < g->n_tensors && rc == MLOPS_OK; i++)
            rc = rd_tensor(&r, g, i, &names);
    free(keys.slot);
    free(names.slot);
    if (rc != MLOPS_OK)
        return rc;
    uint64_t off = (r.off + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors > 0 && off > g->size)
        return mlops__error(MLOPS_EFORMAT, "gguf: data section: starts at %llu past the end of the file",
                            (unsigned long long)off);
    g->data_off = off > g->size ? g->size : off;
    return check_layout(g);
}

int mlops__gguf_parse(const void *data, size_t size, mlops__gguf **out)
{
    *out = NULL;
    mlops__gguf *g = calloc(1, sizeof *g);
    if (!g)
        return mlops__error_oom("gguf");
    g->base = data;
    g->size = size;
    int rc = parse(g);
    if (rc != MLOPS_OK) {
        mlops__gguf_close(g);
        return rc;
    }
    *out = g;
    return MLOPS_OK;
}

int mlops__gguf_open(const char *path, mlops__gguf **out)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mlops__error(MLOPS_EIO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return mlops__error(MLOPS_EIO, "%s: not a regular file", path);
    }
    if (st.st_size < 24) {
        close(fd);
        return mlops__error(MLOPS_EFORMAT, "%s: gguf: header: file of %lld bytes is too short",
                            path, (long long)st.st_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    if (map == MAP_FAILED)
        return mlops__error(MLOPS_EIO, "%s: cannot map: %s", path, strerror(errno));
    mlops__gguf *g;
    int rc = mlops__gguf_parse(map, (size_t)st.st_size, &g);
    if (rc != MLOPS_OK) {
        munmap(map, (size_t)st.st_size);
        return mlops__error_wrap(rc, "%s", path);
    }
    g->mapped = 1;
    *out = g;
    return MLOPS_OK;
}

void mlops__gguf_close(mlops__gguf *g)
{
    if (!g)
        return;
    if (g->kv)
        for (uint64_t i = 0; i < g->n_kv; i++) {
            free(g->kv[i].key);
            free(g->kv[i].strs);
        }
    if (g->tensors)
        for (uint64_t i = 0; i < g->n_tensors; i++)
            free(g->tensors[i].name);
    free(g->kv);
    free(g->tensors);
    if (g->mapped)
        munmap((void *)g->base, g->size);
    free(g);
}

const mlops__gguf_kv *mlops__gguf_find(const mlops__gguf *g, const char *key)
{
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (strcmp(g->kv[i].key, key) == 0)
            return &g->kv[i];
    return NULL;
}

const mlops__gguf_tensor *mlops__gguf_tensor_find(const mlops__gguf *g, const char *name)
{
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i].name, name) == 0)
            return &g->tensors[i];
    return NULL;
}

/* A float as an integer without undefined behaviour: NaN gives 0, out-of-range values
 * saturate (a hostile file may hold any bit pattern). */
static int64_t float_to_i64(double d)
{
    if (d != d)
        return 0;
    if (d >= 9223372036854775807.0)
        return INT64_MAX;
    if (d <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)d;
}

static bool scalar_num(uint32_t type, const uint8_t *p, double *f, int64_t *iv)
{
    union {
        uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
        float f32; uint64_t u64; int64_t i64; double f64;
    } u;
    size_t sz = scalar_size(type);
    if (!sz || type == MLOPS__GGUF_BOOL)
        return false;
    memcpy(&u, p, sz);
    switch (type) {
    case MLOPS__GGUF_UINT8: *iv = u.u8; break;
    case MLOPS__GGUF_INT8: *iv = u.i8; break;
    case MLOPS__GGUF_UINT16: *iv = u.u16; break;
    case MLOPS__GGUF_INT16: *iv = u.i16; break;
    case MLOPS__GGUF_UINT32: *iv = u.u32; break;
    case MLOPS__GGUF_INT32: *iv = u.i32; break;
    case MLOPS__GGUF_UINT64: *iv = (int64_t)u.u64; break;
    case MLOPS__GGUF_INT64: *iv = u.i64; break;
    case MLOPS__GGUF_FLOAT32: *f = u.f32; *iv = float_to_i64(u.f32); return true;
    case MLOPS__GGUF_FLOAT64: *f = u.f64; *iv = float_to_i64(u.f64); return true;
    default: return false;
    }
    *f = (double)*iv;
    return true;
}

bool mlops__gguf_get_int(const mlops__gguf *g, const char *key, int64_t *out)
{
    const mlops__gguf_kv *kv = mlops__gguf_find(g, key);
    double f;
    if (!kv || kv->type == MLOPS__GGUF_FLOAT32 || kv->type == MLOPS__GGUF_FLOAT64)
        return false;
    return scalar_num(kv->type, kv->data, &f, out);
}

bool mlops__gguf_get_float(const mlops__gguf *g, const char *key, double *out)
{
    const mlops__gguf_kv *kv = mlops__gguf_find(g, key);
    int64_t i;
    return kv && scalar_num(kv->type, kv->data, out, &i);
}

bool mlops__gguf_get_bool(const mlops__gguf *g, const char *key, bool *out)
{
    const mlops__gguf_kv *kv = mlops__gguf_find(g, key);
    if (!kv || kv->type != MLOPS__GGUF_BOOL)
        return false;
    *out = kv->data[0] != 0;
    return true;
}

char *mlops__gguf_get_str(const mlops__gguf *g, const char *key)
{
    const mlops__gguf_kv *kv = mlops__gguf_find(g, key);
    if (!kv || kv->type != MLOPS__GGUF_STRING)
        return NULL;
    return mlops__strndup(kv->strs[0].p, (size_t)kv->strs[0].n);
}

double mlops__gguf_arr_float(const mlops__gguf_kv *kv, uint64_t i)
{
    double f = 0;
    int64_t iv = 0;
    if (kv->type == MLOPS__GGUF_ARRAY && i < kv->n)
        scalar_num(kv->arr_type, kv->data + i * scalar_size(kv->arr_type), &f, &iv);
    return f;
}

int64_t mlops__gguf_arr_int(const mlops__gguf_kv *kv, uint64_t i)
{
    double f = 0;
    int64_t iv = 0;
    if (kv->type == MLOPS__GGUF_ARRAY && i < kv->n)
        scalar_num(kv->arr_type, kv->data + i * scalar_size(kv->arr_type), &f, &iv);
    return iv;
}

static json_t *value_json(uint32_t type, const uint8_t *p, const mlops__gstr *s)
{
    double f;
    int64_t iv;
    if (type == MLOPS__GGUF_STRING)
        return json_stringn_nocheck(s->p, (size_t)s->n);
    if (type == MLOPS__GGUF_BOOL)
        return json_boolean(p[0]);
    if (!scalar_num(type, p, &f, &iv))
        return json_null();
    if (type == MLOPS__GGUF_FLOAT32 || type == MLOPS__GGUF_FLOAT64)
        return json_real(f);
    return json_integer(iv);
}

int mlops__gguf_info_json(const mlops__gguf *g, json_t **out)
{
    json_t *o = json_object(), *md = json_object(), *ts = json_array();
    if (!o || !md || !ts) {
        json_decref(o), json_decref(md), json_decref(ts);
        return mlops__error_oom("gguf info");
    }
    json_object_set_new(o, "version", json_integer(g->version));
    json_object_set_new(o, "alignment", json_integer((json_int_t)g->alignment));
    json_object_set_new(o, "size", json_integer((json_int_t)g->size));
    for (uint64_t i = 0; i < g->n_kv; i++) {
        const mlops__gguf_kv *kv = &g->kv[i];
        json_t *v;
        if (kv->type != MLOPS__GGUF_ARRAY) {
            v = value_json(kv->type, kv->data, kv->strs);
        } else if (kv->n > 16) {
            v = json_pack("{s:s,s:I}", "array", type_name(kv->arr_type), "count", (json_int_t)kv->n);
        } else {
            v = json_array();
            for (uint64_t j = 0; j < kv->n; j++)
                json_array_append_new(v, value_json(kv->arr_type,
                                                    kv->data + j * scalar_size(kv->arr_type),
                                                    kv->strs ? &kv->strs[j] : NULL));
        }
        json_object_set_new(md, kv->key, v ? v : json_null());
    }
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        const mlops__gguf_tensor *t = &g->tensors[i];
        json_t *shape = json_array();
        for (uint32_t d = 0; d < t->n_dims; d++)
            json_array_append_new(shape, json_integer(t->ne[d]));
        json_array_append_new(ts, json_pack("{s:s,s:s,s:o,s:I,s:I}", "name", t->name, "type",
                                            mlops__q_traits(t->type)->name, "shape", shape,
                                            "offset", (json_int_t)t->offset, "bytes",
                                            (json_int_t)t->nbytes));
    }
    json_object_set_new(o, "metadata", md);
    json_object_set_new(o, "tensors", ts);
    *out = o;
    return MLOPS_OK;
}
