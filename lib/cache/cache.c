/*
 * The semantic cache: entries, the exact and semantic tiers, partitions, the guard
 * step, TTL and LRU bounds, feedback, invalidation and statistics.
 *
 * Locking (see also cache_vectors.c):
 *  - `lock` (rwlock) guards the entry maps, the partition table and the embedder
 *    pointer. Lookups take it for reading twice (exact probe and partition; then the
 *    candidates), never while scanning vectors or embedding. Puts, feedback and
 *    invalidation take it for writing, briefly (no I/O, no embedding inside).
 *  - `lru_lock` (mutex) guards the LRU list; a hit moves its entry under it while
 *    holding `lock` for reading. Order: lock -> lru_lock; lock -> vector store locks
 *    is never taken (vector stores are updated after `lock` is released).
 *  - Partitions and replaced vector stores/embedders live until close, so a pointer
 *    taken under `lock` stays valid after it is released.
 */
#include "cache_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_THRESHOLD 0.55
#define TOPK 8
#define ENTRY_OVERHEAD 160

/* ------------------------------------------------------------------ config -- */

static const mlops__json_field config_fields[] = {
    {"enabled", MLOPS__J_BOOL, false},
    {"embedder", MLOPS__J_STRING, false},
    {"dim", MLOPS__J_INTEGER, false},
    {"seed", MLOPS__J_INTEGER, false},
    {"provider", MLOPS__J_OBJECT, false},
    {"engine_model", MLOPS__J_STRING, false},
    {"engine_options", MLOPS__J_OBJECT, false},
    {"threshold", MLOPS__J_NUMBER, false},
    {"max_threshold", MLOPS__J_NUMBER, false},
    {"adapt_step", MLOPS__J_NUMBER, false},
    {"guard", MLOPS__J_STRING, false},
    {"partition_by", MLOPS__J_ARRAY, false},
    {"max_partition_key", MLOPS__J_INTEGER, false},
    {"max_prompt_bytes", MLOPS__J_INTEGER, false},
    {"ttl_s", MLOPS__J_NUMBER, false},
    {"refresh_ttl_on_hit", MLOPS__J_BOOL, false},
    {"max_entries", MLOPS__J_INTEGER, false},
    {"max_bytes", MLOPS__J_INTEGER, false},
    {"vectors", MLOPS__J_STRING, false},
    {"rescore", MLOPS__J_INTEGER, false},
    {"persist", MLOPS__J_BOOL, false},
    {"flush_every", MLOPS__J_INTEGER, false},
    {"flush_interval_ms", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static const mlops__json_field provider_fields[] = {
    {"base_url", MLOPS__J_STRING, false},
    {"model", MLOPS__J_STRING, false},
    {"api_key_env", MLOPS__J_STRING, false},
    {"timeout_ms", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static const struct {
    const char *name;
    unsigned bit;
} part_names[] = {
    {"model", MLOPS__CACHE_PART_MODEL},          {"system", MLOPS__CACHE_PART_SYSTEM},
    {"history", MLOPS__CACHE_PART_HISTORY},      {"prompt_version", MLOPS__CACHE_PART_VERSION},
    {"temperature", MLOPS__CACHE_PART_TEMPERATURE}, {"format", MLOPS__CACHE_PART_FORMAT},
};

static int check_range(const json_t *s, const char *key, double lo, double hi)
{
    const json_t *v = json_object_get(s, key);
    if (v && (json_number_value(v) < lo || json_number_value(v) > hi))
        return mlops__error(MLOPS_ECONFIG, "config.cache.%s: %g is outside %g..%g", key,
                            json_number_value(v), lo, hi);
    return MLOPS_OK;
}

int mlops__cache_check_config(const json_t *s)
{
    if (!s)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(s, "config.cache", config_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    const json_t *p = json_object_get(s, "provider");
    if (p && (rc = mlops__json_check_fields(p, "config.cache.provider", provider_fields,
                                            MLOPS_ECONFIG)) != MLOPS_OK)
        return rc;
    const char *emb = mlops__json_str(s, "embedder", "hashed");
    if (strcmp(emb, "hashed") && strcmp(emb, "callback") && strcmp(emb, "provider") &&
        strcmp(emb, "engine"))
        return mlops__error(MLOPS_ECONFIG,
                            "config.cache.embedder: '%s' is not one of hashed, callback, "
                            "provider, engine",
                            emb);
    const char *gguf = mlops__json_str(s, "engine_model", NULL);
    if (strcmp(emb, "engine") == 0 && (!gguf || !*gguf))
        return mlops__error(MLOPS_ECONFIG, "config.cache.engine_model: required (the path of a "
                                           "GGUF model) when config.cache.embedder is \"engine\"");
    const char *guard = mlops__json_str(s, "guard", "lexical");
    if (strcmp(guard, "lexical") && strcmp(guard, "off"))
        return mlops__error(MLOPS_ECONFIG, "config.cache.guard: '%s' is not lexical or off", guard);
    const char *vec = mlops__json_str(s, "vectors", "f32");
    if (strcmp(vec, "f32") && strcmp(vec, "int8"))
        return mlops__error(MLOPS_ECONFIG, "config.cache.vectors: '%s' is not f32 or int8", vec);
    if ((rc = check_range(s, "dim", 16, 8192)) || (rc = check_range(s, "threshold", 0, 1)) ||
        (rc = check_range(s, "max_threshold", 0, 1)) ||
        (rc = check_range(s, "adapt_step", 0, 1)) ||
        (rc = check_range(s, "max_partition_key", 16, 65536)) ||
        (rc = check_range(s, "max_prompt_bytes", 1, 64 << 20)) ||
        (rc = check_range(s, "ttl_s", 0, 1e10)) || (rc = check_range(s, "max_entries", 0, 1e12)) ||
        (rc = check_range(s, "max_bytes", 0, 1e15)) || (rc = check_range(s, "rescore", 1, 256)) ||
        (rc = check_range(s, "flush_every", 1, 1000000)) ||
        (rc = check_range(s, "flush_interval_ms", 0, 3600000)))
        return rc;
    const json_t *pb = json_object_get(s, "partition_by");
    size_t i;
    const json_t *x;
    json_array_foreach((json_t *)pb, i, x) {
        bool known = false;
        for (size_t k = 0; k < MLOPS__ARRAY_LEN(part_names) && json_is_string(x); k++)
            known = known || strcmp(json_string_value(x), part_names[k].name) == 0;
        if (!known)
            return mlops__error(MLOPS_ECONFIG,
                                "config.cache.partition_by[%zu]: not one of model, system, "
                                "history, prompt_version, temperature, format",
                                i);
    }
    return MLOPS_OK;
}

static void config_load(const json_t *s, cache_config *cfg)
{
    cfg->enabled = mlops__json_bool(s, "enabled", true);
    cfg->threshold = mlops__json_num(s, "threshold", DEFAULT_THRESHOLD);
    cfg->max_threshold = mlops__json_num(s, "max_threshold", 0.99);
    cfg->adapt_step = mlops__json_num(s, "adapt_step", 0.02);
    cfg->guard_lexical = strcmp(mlops__json_str(s, "guard", "lexical"), "lexical") == 0;
    const json_t *pb = json_object_get(s, "partition_by");
    if (pb) {
        cfg->part_by = 0;
        size_t i;
        const json_t *x;
        json_array_foreach((json_t *)pb, i, x)
            for (size_t k = 0; k < MLOPS__ARRAY_LEN(part_names); k++)
                if (strcmp(json_string_value(x), part_names[k].name) == 0)
                    cfg->part_by |= part_names[k].bit;
    } else {
        cfg->part_by = MLOPS__CACHE_PART_ALL;
    }
    cfg->max_key = (size_t)mlops__json_int(s, "max_partition_key", 512);
    cfg->max_prompt = (size_t)mlops__json_int(s, "max_prompt_bytes", 65536);
    cfg->ttl_ms = (int64_t)(mlops__json_num(s, "ttl_s", 0) * 1000.0);
    cfg->refresh_ttl = mlops__json_bool(s, "refresh_ttl_on_hit", false);
    cfg->max_entries = (size_t)mlops__json_int(s, "max_entries", 100000);
    cfg->max_bytes = (size_t)mlops__json_int(s, "max_bytes", 256ll << 20);
    cfg->int8 = strcmp(mlops__json_str(s, "vectors", "f32"), "int8") == 0;
    cfg->rescore = (int)mlops__json_int(s, "rescore", 8);
    cfg->persist = mlops__json_bool(s, "persist", true);
    cfg->flush_every = (size_t)mlops__json_int(s, "flush_every", 1);
    cfg->flush_interval_ms = mlops__json_int(s, "flush_interval_ms", 1000);
}

/* ------------------------------------------------------------------ maps ---- */

static size_t id_slot(const mlops__cache *c, int64_t id)
{
    return (size_t)(mlops__hash64(&id, sizeof id, 11) & (c->map_cap - 1));
}

static cache_entry *find_id(const mlops__cache *c, int64_t id)
{
    for (cache_entry *e = c->by_id[id_slot(c, id)]; e; e = e->next_id)
        if (e->id == id)
            return e;
    return NULL;
}

static cache_entry *find_key(const mlops__cache *c, const char *key)
{
    uint64_t h = mlops__hash64(key, 32, 0);
    for (cache_entry *e = c->by_key[h & (c->map_cap - 1)]; e; e = e->next_key)
        if (e->key_hash == h && memcmp(e->key, key, 32) == 0)
            return e;
    return NULL;
}

static int maps_grow(mlops__cache *c)
{
    size_t cap = c->map_cap ? c->map_cap * 2 : 1024;
    cache_entry **by_id = calloc(cap, sizeof *by_id), **by_key = calloc(cap, sizeof *by_key);
    if (!by_id || !by_key) {
        free(by_id);
        free(by_key);
        return mlops__error_oom("cache index");
    }
    for (size_t i = 0; i < c->map_cap; i++) {
        for (cache_entry *e = c->by_id[i], *n; e; e = n) {
            n = e->next_id;
            size_t s = (size_t)(mlops__hash64(&e->id, sizeof e->id, 11) & (cap - 1));
            e->next_id = by_id[s];
            by_id[s] = e;
        }
        for (cache_entry *e = c->by_key[i], *n; e; e = n) {
            n = e->next_key;
            size_t s = e->key_hash & (cap - 1);
            e->next_key = by_key[s];
            by_key[s] = e;
        }
    }
    free(c->by_id);
    free(c->by_key);
    c->by_id = by_id;
    c->by_key = by_key;
    c->map_cap = cap;
    return MLOPS_OK;
}

static void lru_unlink(cache_entry *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(mlops__cache *c, cache_entry *e)
{
    e->lru_next = c->lru.lru_next;
    e->lru_prev = &c->lru;
    c->lru.lru_next->lru_prev = e;
    c->lru.lru_next = e;
}

static void lru_touch(mlops__cache *c, cache_entry *e)
{
    mlops__mutex_lock(&c->lru_lock);
    lru_unlink(e);
    lru_push_front(c, e);
    mlops__mutex_unlock(&c->lru_lock);
}

static size_t part_slot(const mlops__cache *c, const char *key)
{
    return (size_t)(mlops__hash_str(key, 5) & (c->parts_cap - 1));
}

static cache_partition *find_partition(const mlops__cache *c, const char *key)
{
    if (!c->parts_cap)
        return NULL;
    for (cache_partition *p = c->parts[part_slot(c, key)]; p; p = p->next)
        if (strcmp(p->key, key) == 0)
            return p;
    return NULL;
}

static void fill_missing(char **field, const char *value)
{
    if ((!*field || !**field) && value && *value) {
        char *v = mlops__strdup(value);
        if (v) {
            free(*field);
            *field = v;
        }
    }
}

cache_partition *mlops__cache_partition_get(mlops__cache *c, const char *key, const char *ns,
                                            const char *model, const char *version)
{
    cache_partition *p = find_partition(c, key);
    if (p) {
        fill_missing(&p->ns, ns);
        fill_missing(&p->model, model);
        fill_missing(&p->version, version);
        return p;
    }
    if (c->parts_count + 1 > c->parts_cap / 2) {
        size_t cap = c->parts_cap ? c->parts_cap * 2 : 64;
        cache_partition **t = calloc(cap, sizeof *t);
        if (!t)
            return NULL;
        for (size_t i = 0; i < c->parts_cap; i++) {
            for (cache_partition *q = c->parts[i], *n; q; q = n) {
                n = q->next;
                size_t s = (size_t)(mlops__hash_str(q->key, 5) & (cap - 1));
                q->next = t[s];
                t[s] = q;
            }
        }
        free(c->parts);
        c->parts = t;
        c->parts_cap = cap;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->key = mlops__strdup(key);
    p->ns = mlops__strdup(ns ? ns : "");
    p->model = mlops__strdup(model ? model : "");
    p->version = mlops__strdup(version ? version : "");
    p->threshold = c->cfg.threshold;
    if (!p->key || !p->ns || !p->model || !p->version) {
        free(p->key);
        free(p->ns);
        free(p->model);
        free(p->version);
        free(p);
        return NULL;
    }
    size_t s = part_slot(c, key);
    p->next = c->parts[s];
    c->parts[s] = p;
    c->parts_count++;
    return p;
}

static void entry_free(cache_entry *e)
{
    if (!e)
        return;
    free(e->prompt);
    free(e->response);
    free(e);
}

/* A removed entry whose vector row must be tombstoned once `lock` is released. */
typedef struct removal {
    cache_partition *part;
    int64_t id;
} removal;

typedef struct removals {
    removal *v;
    size_t n, cap;
} removals;

static void removals_add(removals *r, cache_partition *p, int64_t id)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        removal *v = realloc(r->v, cap * sizeof *v);
        if (!v)
            return; /* the row stays until compaction; lookups re-check entries by id */
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = (removal){p, id};
}

static void removals_apply(mlops__cache *c, removals *r)
{
    for (size_t i = 0; i < r->n; i++) {
        if (r->v[i].part->vs)
            (void)mlops__vecstore_remove(r->v[i].part->vs, r->v[i].id);
    }
    free(r->v);
    memset(r, 0, sizeof *r);
}

/* Unlinks and frees an entry; write lock held. Queues its deletion when `persist_op`. */
static void entry_remove(mlops__cache *c, cache_entry *e, removals *rm, bool persist_op)
{
    cache_entry **pp = &c->by_id[id_slot(c, e->id)];
    while (*pp != e)
        pp = &(*pp)->next_id;
    *pp = e->next_id;
    pp = &c->by_key[e->key_hash & (c->map_cap - 1)];
    while (*pp != e)
        pp = &(*pp)->next_key;
    *pp = e->next_key;
    mlops__mutex_lock(&c->lru_lock);
    lru_unlink(e);
    mlops__mutex_unlock(&c->lru_lock);
    c->count--;
    c->bytes -= e->bytes;
    e->part->entries--;
    if (e->has_vec)
        removals_add(rm, e->part, e->id);
    if (persist_op) {
        cache_op op = {.kind = OP_DELETE, .id = e->id};
        mlops__cache_queue(c, &op);
    }
    entry_free(e);
}

static bool expired(const cache_entry *e, int64_t now)
{
    int64_t x = atomic_load(&e->expires_ms);
    return x > 0 && x <= now;
}

/*
 * Removes expired entries from the next `buckets` id buckets (write lock held). Each put
 * sweeps a few, so memory held by expired entries is reclaimed without a full scan
 * under the lock (lookups already treat them as misses).
 */
static void sweep_expired(mlops__cache *c, const cache_entry *keep, int64_t now, size_t buckets,
                          removals *rm)
{
    for (size_t k = 0; k < buckets && c->map_cap; k++) {
        size_t b = c->sweep_cursor++ & (c->map_cap - 1);
        for (cache_entry *e = c->by_id[b], *n; e; e = n) {
            n = e->next_id;
            if (e != keep && expired(e, now)) {
                atomic_fetch_add(&c->expired, 1);
                entry_remove(c, e, rm, true);
            }
        }
    }
}

/* Evicts least recently used entries until both bounds hold (keeping `keep`). */
static void evict(mlops__cache *c, const cache_entry *keep, removals *rm)
{
    int64_t now = mlops__wall_ms();
    while ((c->cfg.max_entries && c->count > c->cfg.max_entries) ||
           (c->cfg.max_bytes && c->bytes > c->cfg.max_bytes)) {
        cache_entry *victim = c->lru.lru_prev;
        if (victim == keep)
            victim = keep->lru_prev;
        if (victim == &c->lru)
            break;
        if (expired(victim, now))
            atomic_fetch_add(&c->expired, 1);
        else
            atomic_fetch_add(&c->evictions, 1);
        entry_remove(c, victim, rm, true);
    }
}

/* Inserts a new entry (write lock held). */
static int entry_insert(mlops__cache *c, cache_entry *e)
{
    if (c->count + 1 > c->map_cap) {
        int rc = maps_grow(c);
        if (rc != MLOPS_OK)
            return rc;
    }
    size_t s = id_slot(c, e->id);
    e->next_id = c->by_id[s];
    c->by_id[s] = e;
    s = e->key_hash & (c->map_cap - 1);
    e->next_key = c->by_key[s];
    c->by_key[s] = e;
    mlops__mutex_lock(&c->lru_lock);
    lru_push_front(c, e);
    mlops__mutex_unlock(&c->lru_lock);
    c->count++;
    c->bytes += e->bytes;
    e->part->entries++;
    return MLOPS_OK;
}

static cache_entry *entry_new(int64_t id, const char *key, cache_partition *p, const char *prompt,
                              const char *response, int64_t created, int64_t ttl, int64_t expires,
                              int dim)
{
    cache_entry *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->id = id;
    memcpy(e->key, key, 32);
    e->key[32] = '\0';
    e->key_hash = mlops__hash64(e->key, 32, 0);
    e->part = p;
    e->prompt = mlops__strdup(prompt);
    e->response = mlops__strdup(response);
    e->created_ms = created;
    e->ttl_ms = ttl;
    atomic_store(&e->expires_ms, expires);
    atomic_store(&e->last_sim_milli, -1);
    if (!e->prompt || !e->response) {
        entry_free(e);
        return NULL;
    }
    e->bytes = ENTRY_OVERHEAD + strlen(prompt) + strlen(response) +
               (size_t)dim * sizeof(float);
    return e;
}

/* The partition's vector store, created on first use (write lock held). */
static mlops__vecstore *partition_vs(mlops__cache *c, cache_partition *p)
{
    if (!p->vs && mlops__vecstore_create(c->emb->dim, c->cfg.int8, &p->vs) != MLOPS_OK)
        return NULL;
    return p->vs;
}

/* Adds a vector after `lock` was released; undone if the entry vanished meanwhile. */
static void add_vector(mlops__cache *c, mlops__vecstore *vs, int64_t id, const float *v)
{
    if (!vs || mlops__vecstore_add(vs, id, v) != MLOPS_OK)
        return;
    mlops__rwlock_rdlock(&c->lock);
    bool alive = find_id(c, id) != NULL;
    mlops__rwlock_unlock(&c->lock);
    if (!alive)
        (void)mlops__vecstore_remove(vs, id);
}

/* True when this process has a removal of id queued but not yet written (q_lock). */
static bool removal_pending(mlops__cache *c, int64_t id)
{
    bool found = false;
    mlops__mutex_lock(&c->q_lock);
    for (size_t i = c->q_len; i-- > 0 && !found;)
        found = c->q[i].id == id && (c->q[i].kind == OP_DELETE || c->q[i].kind == OP_WRONG);
    mlops__mutex_unlock(&c->q_lock);
    return found;
}

/*
 * Inserts a persisted row. `from_log`: a row another process wrote, applied by
 * mlops__cache_sync: skipped when this process removed that entry meanwhile (its
 * deletion is still queued).
 */
static int insert_row(mlops__cache *c, const mlops__cache_row *r, bool vec_ok, bool from_log)
{
    mlops__rwlock_rdlock(&c->lock);
    mlops__cache_embedder *emb = c->emb;
    mlops__rwlock_unlock(&c->lock);
    float *vec = NULL;
    int dim = emb->dim;
    if (vec_ok) {
        vec = malloc((size_t)dim * sizeof(float));
        if (!vec)
            return mlops__error_oom("cache vector");
        memcpy(vec, r->vector, (size_t)dim * sizeof(float));
    } else if (emb->kind == MLOPS__EMB_HASHED) {
        /* Another vector space (dimension or seed changed): the hashed embedder is cheap,
           so re-embed; other embedders leave the entry in the exact tier only. */
        vec = malloc((size_t)dim * sizeof(float));
        if (vec && mlops__cache_embed(emb, r->prompt, vec) != MLOPS_OK) {
            free(vec);
            vec = NULL;
        }
    }
    mlops__rwlock_wrlock(&c->lock);
    int rc = MLOPS_OK;
    if (emb != c->emb) {
        free(vec); /* the embedder changed meanwhile: exact tier only */
        vec = NULL;
    }
    cache_entry *old = find_key(c, r->exact);
    /* Two processes that put the same request before seeing each other's entry both
       keep the newer (higher id) and delete the older row, so they agree. */
    if (from_log && (find_id(c, r->id) || removal_pending(c, r->id) || (old && old->id > r->id))) {
        mlops__rwlock_unlock(&c->lock);
        free(vec);
        return MLOPS_OK;
    }
    cache_partition *p = mlops__cache_partition_get(c, r->partition, r->ns, r->model, r->version);
    removals rm = {0};
    if (old)
        entry_remove(c, old, &rm, from_log);
    cache_entry *e = p ? entry_new(r->id, r->exact, p, r->prompt, r->response, r->created_ms,
                                   r->ttl_ms, r->expires_ms, vec ? dim : 0)
                       : NULL;
    mlops__vecstore *vs = NULL;
    if (!e) {
        rc = mlops__error_oom("cache entry");
    } else if ((rc = entry_insert(c, e)) != MLOPS_OK) {
        entry_free(e);
    } else if (vec) {
        vs = partition_vs(c, p);
        e->has_vec = vs != NULL;
    }
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    if (rc == MLOPS_OK && vs)
        add_vector(c, vs, r->id, vec);
    free(vec);
    return rc;
}

int mlops__cache_insert_loaded(mlops__cache *c, const mlops__cache_row *r, bool vec_ok)
{
    return insert_row(c, r, vec_ok, false);
}

int mlops__cache_upsert_row(mlops__cache *c, const mlops__cache_row *r, bool vec_ok)
{
    mlops__rwlock_rdlock(&c->lock);
    cache_entry *e = find_id(c, r->id);
    bool same = e && memcmp(e->key, r->exact, 32) == 0;
    if (same)
        atomic_store(&e->expires_ms, r->expires_ms); /* a TTL refreshed elsewhere */
    mlops__rwlock_unlock(&c->lock);
    if (same)
        return MLOPS_OK;
    if (e)
        (void)mlops__cache_drop_id(c, r->id);
    return insert_row(c, r, vec_ok, true);
}

bool mlops__cache_drop_id(mlops__cache *c, int64_t id)
{
    removals rm = {0};
    mlops__rwlock_wrlock(&c->lock);
    cache_entry *e = find_id(c, id);
    if (e)
        entry_remove(c, e, &rm, false);
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    return e != NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

size_t mlops__cache_drop_missing(mlops__cache *c, const int64_t *ids, size_t n)
{
    removals rm = {0};
    size_t dropped = 0;
    mlops__rwlock_wrlock(&c->lock);
    mlops__mutex_lock(&c->q_lock); /* this process's puts not written yet stay */
    for (size_t i = 0; i < c->map_cap; i++)
        for (cache_entry *e = c->by_id[i], *nx; e; e = nx) {
            nx = e->next_id;
            bool unwritten = false;
            for (size_t k = 0; k < c->q_len && !unwritten; k++)
                unwritten = c->q[k].kind == OP_PUT && c->q[k].id == e->id;
            if (!unwritten && !bsearch(&e->id, ids, n, sizeof *ids, cmp_i64)) {
                entry_remove(c, e, &rm, false);
                dropped++;
            }
        }
    mlops__mutex_unlock(&c->q_lock);
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    return dropped;
}

/* ------------------------------------------------------------------ open ---- */

int mlops__cache_open(mlops__store *st, mlops__logger *lg, const json_t *section,
                      mlops__cache **out)
{
    return mlops__cache_open_with(st, lg, section, NULL, out);
}

int mlops__cache_open_with(mlops__store *st, mlops__logger *lg, const json_t *section,
                           const mlops__cache_embed_hook *hook, mlops__cache **out)
{
    *out = NULL;
    mlops__cache *c = calloc(1, sizeof *c);
    if (!c) {
        if (hook && hook->release)
            hook->release(hook->user);
        return mlops__error_oom("cache");
    }
    c->store = st;
    c->logger = lg;
    config_load(section, &c->cfg);
    mlops__rwlock_init(&c->lock);
    mlops__mutex_init(&c->lru_lock);
    mlops__mutex_init(&c->id_lock);
    mlops__mutex_init(&c->q_lock);
    mlops__mutex_init(&c->flush_lock);
    mlops__cond_init(&c->q_cond);
    c->lru.lru_next = c->lru.lru_prev = &c->lru;
    atomic_store(&c->next_id, 1);
    int rc = mlops__cache_embedder_from_config(section, hook, &c->emb);
    if (rc == MLOPS_OK)
        rc = maps_grow(c);
    if (rc == MLOPS_OK && !mlops__cache_partition_get(c, "ns=default", "default", "", ""))
        rc = mlops__error_oom("cache partition");
    if (rc == MLOPS_OK)
        rc = mlops__cache_load(c);
    if (rc == MLOPS_OK)
        rc = mlops__cache_persist_start(c);
    if (rc != MLOPS_OK) {
        mlops__cache_close(c);
        return rc;
    }
    *out = c;
    return MLOPS_OK;
}

void mlops__cache_close(mlops__cache *c)
{
    if (!c)
        return;
    mlops__cache_persist_stop(c);
    for (size_t i = 0; i < c->map_cap; i++)
        for (cache_entry *e = c->by_id[i], *n; e; e = n) {
            n = e->next_id;
            entry_free(e);
        }
    free(c->by_id);
    free(c->by_key);
    for (size_t i = 0; i < c->parts_cap; i++)
        for (cache_partition *p = c->parts[i], *n; p; p = n) {
            n = p->next;
            mlops__vecstore_free(p->vs);
            free(p->key);
            free(p->ns);
            free(p->model);
            free(p->version);
            free(p);
        }
    free(c->parts);
    for (size_t i = 0; i < c->n_retired_vs; i++)
        mlops__vecstore_free(c->retired_vs[i]);
    free(c->retired_vs);
    for (size_t i = 0; i < c->n_retired_emb; i++)
        mlops__cache_embedder_free(c->retired_emb[i]);
    free(c->retired_emb);
    mlops__cache_embedder_free(c->emb);
    mlops__rwlock_destroy(&c->lock);
    mlops__mutex_destroy(&c->lru_lock);
    mlops__mutex_destroy(&c->id_lock);
    mlops__mutex_destroy(&c->q_lock);
    mlops__mutex_destroy(&c->flush_lock);
    mlops__cond_destroy(&c->q_cond);
    free(c);
}

/* ------------------------------------------------------------------ options - */

static const mlops__json_field lookup_fields[] = {
    {"threshold", MLOPS__J_NUMBER, false}, {"semantic", MLOPS__J_BOOL, false},
    {"namespace", MLOPS__J_STRING, false}, {"prompt_version", MLOPS__J_STRING, false},
    {NULL, 0, false},
};

static const mlops__json_field put_fields[] = {
    {"ttl_s", MLOPS__J_NUMBER, false},
    {"namespace", MLOPS__J_STRING, false},
    {"prompt_version", MLOPS__J_STRING, false},
    {NULL, 0, false},
};

static int check_enabled(const mlops__cache *c)
{
    if (!c || !c->cfg.enabled)
        return mlops__error(MLOPS_EUNSUPPORTED, "cache: disabled by config.cache.enabled");
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ lookup -- */

static json_t *result_json(const char *hit, double sim, int64_t id, const char *response,
                           const char *partition)
{
    json_t *r = json_object();
    json_object_set_new(r, "hit", hit ? json_string(hit) : json_null());
    json_object_set_new(r, "similarity", hit ? json_real(round(sim * 1e6) / 1e6) : json_null());
    json_object_set_new(r, "entry_id", hit ? json_integer(id) : json_null());
    json_t *resp = NULL;
    if (response) {
        json_error_t err;
        resp = json_loads(response, JSON_DECODE_ANY, &err);
    }
    json_object_set_new(r, "response", resp ? resp : json_null());
    json_object_set_new(r, "partition", json_string(partition));
    return r;
}

static void served(mlops__cache *c, cache_entry *e, int64_t now)
{
    atomic_fetch_add(&e->hits, 1);
    lru_touch(c, e);
    if (c->cfg.refresh_ttl && e->ttl_ms > 0) {
        int64_t x = now + e->ttl_ms;
        atomic_store(&e->expires_ms, x);
        cache_op op = {.kind = OP_TOUCH, .id = e->id, .expires_ms = x};
        mlops__cache_queue(c, &op);
    }
}

typedef struct candidate {
    int64_t id;
    float score;
    char *prompt;
} candidate;

int mlops__cache_lookup(mlops__cache *c, const json_t *request, const json_t *options,
                        json_t **out)
{
    *out = NULL;
    int rc = check_enabled(c);
    if (rc != MLOPS_OK)
        return rc;
    if (options && (rc = mlops__json_check_fields(options, "options", lookup_fields,
                                                  MLOPS_EINVAL)) != MLOPS_OK)
        return rc;
    mlops__cache_req r;
    if ((rc = mlops__cache_req_parse(request, options, c->cfg.part_by, c->cfg.max_key,
                                     c->cfg.max_prompt, &r)) != MLOPS_OK)
        return rc;
    /* Other processes' puts and removals first (one counter check when none). */
    if ((rc = mlops__cache_sync(c)) != MLOPS_OK) {
        mlops__cache_req_free(&r);
        return rc;
    }
    int64_t now = mlops__wall_ms();
    bool stale = false;

    /* Exact tier. */
    mlops__rwlock_rdlock(&c->lock);
    cache_entry *e = find_key(c, r.exact);
    if (e && !expired(e, now)) {
        served(c, e, now);
        *out = result_json("exact", 1.0, e->id, e->response, r.partition);
        mlops__rwlock_unlock(&c->lock);
        atomic_fetch_add(&c->hits_exact, 1);
        mlops__cache_req_free(&r);
        mlops__cache_after_write(c);
        return *out ? MLOPS_OK : mlops__error_oom("lookup result");
    }
    stale = e != NULL;
    cache_partition *p = find_partition(c, r.partition);
    mlops__vecstore *vs = p ? p->vs : NULL;
    double thr = p ? p->threshold : c->cfg.threshold;
    const json_t *t = json_object_get(options, "threshold");
    if (t)
        thr = json_number_value(t);
    mlops__cache_embedder *emb = c->emb;
    mlops__rwlock_unlock(&c->lock);

    if (stale) {
        /* Drop the expired exact match now that nobody holds the read lock. */
        removals rm = {0};
        mlops__rwlock_wrlock(&c->lock);
        cache_entry *x = find_key(c, r.exact);
        if (x && expired(x, now)) {
            entry_remove(c, x, &rm, true);
            atomic_fetch_add(&c->expired, 1);
        }
        mlops__rwlock_unlock(&c->lock);
        removals_apply(c, &rm);
    }

    /* Semantic tier: only inside the request's partition. */
    bool semantic = mlops__json_bool(options, "semantic", true);
    candidate cands[TOPK];
    int ncand = 0;
    const char *hit = NULL;
    double sim = 0;
    int64_t hit_id = 0;
    char *response = NULL;
    if (semantic && vs && mlops__cache_embedder_ready(emb) &&
        mlops__vecstore_dim(vs) == emb->dim) {
        float stackv[1024];
        float *q = emb->dim <= 1024 ? stackv : malloc((size_t)emb->dim * sizeof(float));
        if (!q) {
            mlops__cache_req_free(&r);
            return mlops__error_oom("query vector");
        }
        rc = mlops__cache_embed(emb, r.text, q);
        int64_t ids[TOPK];
        float scores[TOPK];
        int n = 0;
        if (rc == MLOPS_OK) {
            n = mlops__vecstore_search(vs, q, TOPK, (float)thr, c->cfg.rescore, ids, scores);
            if (n < 0)
                rc = n;
        }
        if (q != stackv)
            free(q);
        if (rc != MLOPS_OK) {
            mlops__cache_req_free(&r);
            return rc;
        }
        /* Copy the candidates' prompts, then run the guards without any lock held. */
        mlops__rwlock_rdlock(&c->lock);
        for (int i = 0; i < n; i++) {
            cache_entry *x = find_id(c, ids[i]);
            if (!x || x->part != p || expired(x, now))
                continue;
            cands[ncand].id = ids[i];
            cands[ncand].score = scores[i];
            cands[ncand].prompt = mlops__strdup(x->prompt);
            if (cands[ncand].prompt)
                ncand++;
        }
        mlops_cache_guard_fn gfn = c->guard_fn;
        void *guser = c->guard_user;
        mlops__rwlock_unlock(&c->lock);
        for (int i = 0; i < ncand && !hit; i++) {
            bool ok = !c->cfg.guard_lexical ||
                      mlops__cache_guard_lexical(r.text, cands[i].prompt, NULL, 0);
            if (ok && gfn)
                ok = gfn(r.text, cands[i].prompt, guser) == 0;
            if (!ok) {
                atomic_fetch_add(&c->guard_rejections, 1);
                continue;
            }
            mlops__rwlock_rdlock(&c->lock);
            cache_entry *x = find_id(c, cands[i].id);
            if (x && !expired(x, now)) {
                served(c, x, now);
                atomic_store(&x->last_sim_milli, (int32_t)lrint(cands[i].score * 1000.0));
                response = mlops__strdup(x->response);
                hit = "semantic";
                sim = cands[i].score;
                hit_id = x->id;
            }
            mlops__rwlock_unlock(&c->lock);
        }
        for (int i = 0; i < ncand; i++)
            free(cands[i].prompt);
    }
    if (hit)
        atomic_fetch_add(&c->hits_semantic, 1);
    else
        atomic_fetch_add(&c->misses, 1);
    *out = result_json(hit, sim, hit_id, response, r.partition);
    free(response);
    mlops__cache_req_free(&r);
    mlops__cache_after_write(c);
    return *out ? MLOPS_OK : mlops__error_oom("lookup result");
}

/* ------------------------------------------------------------------ put ----- */

static char *dup_or_empty(const char *s)
{
    return mlops__strdup(s ? s : "");
}

int mlops__cache_put(mlops__cache *c, const json_t *request, const json_t *response,
                     const json_t *options, int64_t *out_id)
{
    if (out_id)
        *out_id = 0;
    int rc = check_enabled(c);
    if (rc != MLOPS_OK)
        return rc;
    if (!response)
        return mlops__error(MLOPS_EINVAL, "response: is NULL");
    if (options &&
        (rc = mlops__json_check_fields(options, "options", put_fields, MLOPS_EINVAL)) != MLOPS_OK)
        return rc;
    double ttl_s = mlops__json_num(options, "ttl_s", (double)c->cfg.ttl_ms / 1000.0);
    if (ttl_s < 0 || ttl_s > 1e10)
        return mlops__error(MLOPS_EINVAL, "options.ttl_s: %g is outside 0..1e10", ttl_s);
    mlops__cache_req r;
    if ((rc = mlops__cache_req_parse(request, options, c->cfg.part_by, c->cfg.max_key,
                                     c->cfg.max_prompt, &r)) != MLOPS_OK)
        return rc;
    char *resp_text = json_dumps(response, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!resp_text) {
        mlops__cache_req_free(&r);
        return mlops__error_oom("response");
    }

    /* Embed outside every lock. */
    mlops__rwlock_rdlock(&c->lock);
    mlops__cache_embedder *emb = c->emb;
    mlops__rwlock_unlock(&c->lock);
    float *vec = NULL;
    if (mlops__cache_embedder_ready(emb)) {
        vec = malloc((size_t)emb->dim * sizeof(float));
        if (!vec)
            rc = mlops__error_oom("vector");
        else
            rc = mlops__cache_embed(emb, r.text, vec);
        if (rc != MLOPS_OK) {
            free(vec);
            free(resp_text);
            mlops__cache_req_free(&r);
            return rc;
        }
    }

    /* See other processes' entries (an older row for this key is replaced), and take an
       id that no process sharing the store uses. */
    int64_t id = 0;
    if ((rc = mlops__cache_sync(c)) != MLOPS_OK || (rc = mlops__cache_next_id(c, &id)) != MLOPS_OK) {
        free(vec);
        free(resp_text);
        mlops__cache_req_free(&r);
        return rc;
    }
    int64_t now = mlops__wall_ms();
    int64_t ttl_ms = (int64_t)(ttl_s * 1000.0);
    removals rm = {0};
    mlops__vecstore *vs = NULL;
    mlops__rwlock_wrlock(&c->lock);
    if (emb != c->emb) {
        /* The embedder changed while we embedded: store without a vector. */
        free(vec);
        vec = NULL;
    }
    cache_partition *p = mlops__cache_partition_get(c, r.partition, r.ns, r.model, r.version);
    cache_entry *old = find_key(c, r.exact);
    if (old)
        entry_remove(c, old, &rm, true);
    cache_entry *e = p ? entry_new(id, r.exact, p, r.text, resp_text, now, ttl_ms,
                                   ttl_ms ? now + ttl_ms : 0, vec ? emb->dim : 0)
                       : NULL;
    if (!e) {
        rc = mlops__error_oom("cache entry");
    } else if ((rc = entry_insert(c, e)) != MLOPS_OK) {
        entry_free(e);
        e = NULL;
    }
    if (e) {
        if (vec) {
            vs = partition_vs(c, p);
            e->has_vec = vs != NULL;
        }
        cache_op op = {.kind = OP_PUT, .id = id, .created_ms = now, .ttl_ms = ttl_ms,
                       .expires_ms = ttl_ms ? now + ttl_ms : 0, .dim = vec ? emb->dim : 0};
        op.exact = mlops__strdup(r.exact);
        op.partition = dup_or_empty(r.partition);
        op.ns = dup_or_empty(r.ns);
        op.model = dup_or_empty(r.model);
        op.version = dup_or_empty(r.version);
        op.prompt = dup_or_empty(r.text);
        op.response = dup_or_empty(resp_text);
        op.embedder = dup_or_empty(emb->id);
        if (vec && (op.vector = malloc((size_t)emb->dim * sizeof(float))) != NULL)
            memcpy(op.vector, vec, (size_t)emb->dim * sizeof(float));
        if (!op.exact || !op.partition || !op.ns || !op.model || !op.version || !op.prompt ||
            !op.response || !op.embedder || (vec && !op.vector)) {
            mlops__cache_op_free(&op);
            mlops__log(c->logger, MLOPS_LOG_ERROR, "cache: out of memory: entry %lld not persisted",
                       (long long)id);
        } else {
            mlops__cache_queue(c, &op);
        }
        sweep_expired(c, e, now, 16, &rm);
        evict(c, e, &rm);
        atomic_fetch_add(&c->puts, 1);
    }
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    if (rc == MLOPS_OK && vs)
        add_vector(c, vs, id, vec);
    free(vec);
    free(resp_text);
    mlops__cache_req_free(&r);
    mlops__cache_after_write(c);
    if (rc == MLOPS_OK && out_id)
        *out_id = id;
    return rc;
}

/* ------------------------------------------------------------------ feedback */

int mlops__cache_feedback(mlops__cache *c, int64_t entry_id, const json_t *fb)
{
    static const mlops__json_field fields[] = {
        {"verdict", MLOPS__J_STRING, true},
        {"note", MLOPS__J_STRING, false},
        {NULL, 0, false},
    };
    int rc = check_enabled(c);
    if (rc == MLOPS_OK)
        rc = mlops__json_check_fields(fb, "feedback", fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    const char *verdict = mlops__json_str(fb, "verdict", "");
    bool wrong = strcmp(verdict, "wrong") == 0;
    if (!wrong && strcmp(verdict, "right") != 0)
        return mlops__error(MLOPS_EINVAL, "feedback.verdict: '%s' is not wrong or right", verdict);
    removals rm = {0};
    mlops__rwlock_wrlock(&c->lock);
    cache_entry *e = find_id(c, entry_id);
    if (!e) {
        mlops__rwlock_unlock(&c->lock);
        return mlops__error(MLOPS_ENOTFOUND, "cache entry %lld: not found (expired, evicted, "
                                             "invalidated or already reported wrong)",
                            (long long)entry_id);
    }
    if (!wrong) {
        atomic_fetch_add(&c->right_reports, 1);
        mlops__rwlock_unlock(&c->lock);
        return MLOPS_OK;
    }
    cache_partition *p = e->part;
    int32_t sim = atomic_load(&e->last_sim_milli);
    p->wrong_reports++;
    if (sim >= 0) {
        /* The wrong answer was served as a paraphrase: serve nothing that close again. */
        double t = p->threshold + c->cfg.adapt_step;
        double above = sim / 1000.0 + 0.005;
        if (above > t)
            t = above;
        if (t > c->cfg.max_threshold)
            t = c->cfg.max_threshold;
        if (t > p->threshold)
            p->threshold = t;
    }
    cache_op th = {.kind = OP_THRESHOLD, .partition = mlops__strdup(p->key),
                   .threshold = p->threshold, .wrong_reports = p->wrong_reports};
    if (th.partition)
        mlops__cache_queue(c, &th);
    cache_op op = {.kind = OP_WRONG, .id = e->id};
    mlops__cache_queue(c, &op);
    entry_remove(c, e, &rm, false);
    atomic_fetch_add(&c->wrong_reports, 1);
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    /* Committed before returning whatever flush_every says: no process serves it again. */
    if (c->cfg.persist)
        return mlops__cache_write_batch(c);
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ invalidate */

int mlops__cache_invalidate(mlops__cache *c, const json_t *sel, int64_t *out_count)
{
    static const mlops__json_field fields[] = {
        {"partition", MLOPS__J_STRING, false}, {"namespace", MLOPS__J_STRING, false},
        {"model", MLOPS__J_STRING, false},     {"prompt_version", MLOPS__J_STRING, false},
        {"entry_id", MLOPS__J_INTEGER, false}, {"all", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    if (out_count)
        *out_count = 0;
    int rc = check_enabled(c);
    if (rc == MLOPS_OK)
        rc = mlops__json_check_fields(sel, "selector", fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    if (json_object_size(sel) == 0)
        return mlops__error(MLOPS_EINVAL, "selector: give at least one of partition, namespace, "
                                          "model, prompt_version, entry_id, all");
    if (json_object_get(sel, "all") && !mlops__json_bool(sel, "all", false))
        return mlops__error(MLOPS_EINVAL, "selector.all: must be true when given");
    const char *part = mlops__json_str(sel, "partition", NULL);
    const char *ns = mlops__json_str(sel, "namespace", NULL);
    const char *model = mlops__json_str(sel, "model", NULL);
    const char *pv = mlops__json_str(sel, "prompt_version", NULL);
    const json_t *idv = json_object_get(sel, "entry_id");
    /* Everything other processes committed is in the index first, so that it goes too. */
    if ((rc = mlops__cache_sync(c)) != MLOPS_OK)
        return rc;
    int64_t count = 0;
    removals rm = {0};
    mlops__rwlock_wrlock(&c->lock);
    if (idv) {
        cache_entry *e = find_id(c, (int64_t)json_integer_value(idv));
        if (e && (!part || strcmp(e->part->key, part) == 0) &&
            (!ns || strcmp(e->part->ns, ns) == 0) && (!model || strcmp(e->part->model, model) == 0) &&
            (!pv || strcmp(e->part->version, pv) == 0)) {
            entry_remove(c, e, &rm, true);
            count = 1;
        }
    } else {
        for (size_t i = 0; i < c->map_cap; i++) {
            for (cache_entry *e = c->by_id[i], *n; e; e = n) {
                n = e->next_id;
                const cache_partition *p = e->part;
                if ((part && strcmp(p->key, part) != 0) || (ns && strcmp(p->ns, ns) != 0) ||
                    (model && strcmp(p->model, model) != 0) ||
                    (pv && strcmp(p->version, pv) != 0))
                    continue;
                entry_remove(c, e, &rm, true);
                count++;
            }
        }
    }
    atomic_fetch_add(&c->invalidated, (uint64_t)count);
    mlops__rwlock_unlock(&c->lock);
    removals_apply(c, &rm);
    /* Committed before returning whatever flush_every says: no process serves them again. */
    if (count && c->cfg.persist && (rc = mlops__cache_write_batch(c)) != MLOPS_OK)
        return rc;
    if (out_count)
        *out_count = count;
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ stats --- */

int mlops__cache_stats(mlops__cache *c, json_t **out)
{
    *out = NULL;
    if (!c)
        return mlops__error(MLOPS_EUNSUPPORTED, "cache: not open");
    if (c->cfg.enabled && mlops__cache_sync(c) != MLOPS_OK)
        mlops__log(c->logger, MLOPS_LOG_WARN, "cache: stats without other processes' changes: %s",
                   mlops__error_text());
    json_t *adapted = json_array();
    size_t rows = 0, tomb = 0, parts = 0;
    mlops__rwlock_rdlock(&c->lock);
    size_t entries = c->count, bytes = c->bytes;
    for (size_t i = 0; i < c->parts_cap; i++) {
        for (cache_partition *p = c->parts[i]; p; p = p->next) {
            if (p->entries)
                parts++;
            if (p->vs) {
                size_t r, t;
                mlops__vecstore_counts(p->vs, &r, &t, NULL);
                rows += r;
                tomb += t;
            }
            if ((p->threshold != c->cfg.threshold || p->wrong_reports) &&
                json_array_size(adapted) < 100)
                json_array_append_new(adapted,
                                      json_pack("{s:s, s:f, s:I}", "partition", p->key,
                                                "threshold", p->threshold, "wrong_reports",
                                                (json_int_t)p->wrong_reports));
        }
    }
    json_t *emb = json_pack("{s:s, s:i, s:s, s:b}", "kind",
                            c->emb->kind == MLOPS__EMB_HASHED     ? "hashed"
                            : c->emb->kind == MLOPS__EMB_CALLBACK ? "callback"
                            : c->emb->kind == MLOPS__EMB_PROVIDER ? "provider"
                                                                  : "engine",
                            "dim", c->emb->dim, "id", c->emb->id, "ready",
                            mlops__cache_embedder_ready(c->emb));
    mlops__rwlock_unlock(&c->lock);
#define U(x) (json_int_t) atomic_load(&c->x)
    json_t *s = json_pack(
        "{s:I, s:I, s:I, s:{s:I, s:I}, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:f, s:o, s:{s:s, s:I, s:I}, s:o}",
        "entries", (json_int_t)entries, "bytes", (json_int_t)bytes, "partitions",
        (json_int_t)parts, "hits", "exact", U(hits_exact), "semantic", U(hits_semantic),
        "misses", U(misses), "puts", U(puts), "guard_rejections", U(guard_rejections),
        "wrong_reports", U(wrong_reports), "right_reports", U(right_reports), "evictions",
        U(evictions), "expired", U(expired), "invalidated", U(invalidated), "corrupt_rows",
        U(corrupt_rows), "pending_writes", (json_int_t)mlops__cache_pending(c), "flushes",
        U(flushes), "flush_failures", U(flush_failures), "threshold", c->cfg.threshold,
        "embedder", emb, "vectors", "format", c->cfg.int8 ? "int8" : "f32", "rows",
        (json_int_t)rows, "tombstones", (json_int_t)tomb, "adapted_partitions", adapted);
    if (s)
        json_object_set_new(s, "sync", json_pack("{s:I, s:I, s:I}", "refreshes", U(syncs),
                                                 "rows_applied", U(sync_rows), "full_reloads",
                                                 U(full_reloads)));
#undef U
    if (!s)
        return mlops__error_oom("cache stats");
    *out = s;
    return MLOPS_OK;
}

int mlops__cache_flush(mlops__cache *c)
{
    int rc = check_enabled(c);
    if (rc != MLOPS_OK)
        return rc;
    if (!c->cfg.persist)
        return MLOPS_OK;
    return mlops__cache_write_batch(c);
}

/* ------------------------------------------------------------------ hooks --- */

int mlops__cache_set_embed_fn(mlops__cache *c, const char *name, int dim, mlops_embed_fn fn,
                              void *user)
{
    int rc = check_enabled(c);
    if (rc != MLOPS_OK)
        return rc;
    if (c->emb->kind != MLOPS__EMB_CALLBACK)
        return mlops__error(MLOPS_ESTATE, "mlops_cache_set_embedder: config.cache.embedder is "
                                          "not \"callback\"");
    mlops__cache_embedder *e = calloc(1, sizeof *e);
    if (!e)
        return mlops__error_oom("embedder");
    e->kind = MLOPS__EMB_CALLBACK;
    e->dim = dim;
    e->fn = fn;
    e->user = user;
    snprintf(e->id, sizeof e->id, "callback/%s/%d", name, dim);

    mlops__rwlock_wrlock(&c->lock);
    /* Re-embed every cached prompt into fresh vector stores (callback under the write
       lock: documented as a start-up call). */
    float *v = fn ? malloc((size_t)dim * sizeof(float)) : NULL;
    if (fn && !v)
        rc = mlops__error_oom("vector");
    for (size_t i = 0; rc == MLOPS_OK && i < c->parts_cap; i++)
        for (cache_partition *p = c->parts[i]; p; p = p->next) {
            if (!p->vs)
                continue;
            mlops__vecstore **r = realloc(c->retired_vs, (c->n_retired_vs + 1) * sizeof *r);
            if (!r) {
                rc = mlops__error_oom("vector store");
                break;
            }
            c->retired_vs = r;
            c->retired_vs[c->n_retired_vs++] = p->vs;
            p->vs = NULL;
        }
    mlops__cache_embedder **re = rc == MLOPS_OK
                                     ? realloc(c->retired_emb, (c->n_retired_emb + 1) * sizeof *re)
                                     : NULL;
    if (rc == MLOPS_OK && !re)
        rc = mlops__error_oom("embedder");
    if (rc != MLOPS_OK) {
        mlops__rwlock_unlock(&c->lock);
        free(v);
        free(e);
        return rc;
    }
    c->retired_emb = re;
    c->retired_emb[c->n_retired_emb++] = c->emb;
    c->emb = e;
    for (size_t i = 0; fn && i < c->map_cap && rc == MLOPS_OK; i++)
        for (cache_entry *x = c->by_id[i]; x && rc == MLOPS_OK; x = x->next_id) {
            x->has_vec = false;
            rc = mlops__cache_embed(e, x->prompt, v);
            mlops__vecstore *vs = rc == MLOPS_OK ? partition_vs(c, x->part) : NULL;
            if (vs && mlops__vecstore_add(vs, x->id, v) == MLOPS_OK)
                x->has_vec = true;
        }
    if (!fn)
        for (size_t i = 0; i < c->map_cap; i++)
            for (cache_entry *x = c->by_id[i]; x; x = x->next_id)
                x->has_vec = false;
    mlops__rwlock_unlock(&c->lock);
    free(v);
    return rc;
}

int mlops__cache_set_guard_fn(mlops__cache *c, mlops_cache_guard_fn fn, void *user)
{
    int rc = check_enabled(c);
    if (rc != MLOPS_OK)
        return rc;
    mlops__rwlock_wrlock(&c->lock);
    c->guard_fn = fn;
    c->guard_user = user;
    mlops__rwlock_unlock(&c->lock);
    return MLOPS_OK;
}
