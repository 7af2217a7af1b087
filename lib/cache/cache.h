/*
 * lib/cache — the semantic cache's face to the rest of lib/ (the public facade in
 * lib/api/cache.c and the gateway pipeline: lookup before the provider, put after).
 *
 * Files: cache.c (entries, tiers, partitions, TTL/LRU, feedback, invalidation, stats),
 * cache_request.c (request canonicalisation and partition keys), cache_embed.c
 * (embedders), cache_vectors.c + cache_int8_avx2.c (per-partition vector store),
 * cache_guard.c (false-hit guard), cache_persist.c (schema, write-behind, loading).
 */
#ifndef MLOPS_LIB_CACHE_H
#define MLOPS_LIB_CACHE_H

#include "../core/core.h"
#include "mlops/cache.h"

typedef struct mlops__cache mlops__cache;

/* ---------------------------------------------------------------- the cache -- */

/** The module's migrations (persisted entries and partition thresholds). */
extern const mlops__schema mlops__cache_schema;

/** Validates the "cache" config section (NULL = defaults); MLOPS_ECONFIG naming the key. */
int mlops__cache_check_config(const json_t *section);

/** Builds the cache on an open store, loading persisted entries. */
int mlops__cache_open(mlops__store *st, mlops__logger *lg, const json_t *section,
                      mlops__cache **out);

/**
 * An embedder composed outside lib/cache (config "embedder": "engine": lib/api loads the
 * GGUF model, since a domain module includes only lib/core). fn is called from any
 * thread, concurrently; it returns 0 or a negative MLOPS_E* status with the error text
 * set. release(user) runs when the cache closes.
 */
typedef struct mlops__cache_embed_hook {
    const char *id; /* names the vector space (persisted vectors are reused when equal) */
    int dim;
    mlops_embed_fn fn;
    void *user;
    void (*release)(void *user);
} mlops__cache_embed_hook;

/**
 * mlops__cache_open with the "engine" embedder's hook (NULL: none; then "engine" fails
 * with MLOPS_EUNSUPPORTED). The cache owns hook->user from the call on, even when it
 * fails (release is then called before returning).
 */
int mlops__cache_open_with(mlops__store *st, mlops__logger *lg, const json_t *section,
                           const mlops__cache_embed_hook *hook, mlops__cache **out);
/** Stops the flusher, writes the pending batch and frees everything (NULL is fine). */
void mlops__cache_close(mlops__cache *c);

/**
 * Lookup on a parsed request (gateway: before the provider). *out receives a new
 * object {"hit", "similarity", "entry_id", "response", "partition"}.
 */
int mlops__cache_lookup(mlops__cache *c, const json_t *request, const json_t *options,
                        json_t **out);
/** Store after the provider answered (response is any JSON value; copied). */
int mlops__cache_put(mlops__cache *c, const json_t *request, const json_t *response,
                     const json_t *options, int64_t *out_id);
int mlops__cache_feedback(mlops__cache *c, int64_t entry_id, const json_t *feedback);
int mlops__cache_invalidate(mlops__cache *c, const json_t *selector, int64_t *out_count);
int mlops__cache_stats(mlops__cache *c, json_t **out);
int mlops__cache_flush(mlops__cache *c);
int mlops__cache_set_embed_fn(mlops__cache *c, const char *name, int dim, mlops_embed_fn fn,
                              void *user);
int mlops__cache_set_guard_fn(mlops__cache *c, mlops_cache_guard_fn fn, void *user);

/* ---------------------------------------------------------------- requests --- */

/* Partition components (config "partition_by"). */
#define MLOPS__CACHE_PART_MODEL 1u
#define MLOPS__CACHE_PART_SYSTEM 2u
#define MLOPS__CACHE_PART_HISTORY 4u
#define MLOPS__CACHE_PART_VERSION 8u
#define MLOPS__CACHE_PART_TEMPERATURE 16u
#define MLOPS__CACHE_PART_FORMAT 32u
#define MLOPS__CACHE_PART_ALL 63u

/** A request reduced to what the cache needs. Strings are owned (malloc'd). */
typedef struct mlops__cache_req {
    char *ns;        /* namespace ("default") */
    char *model;     /* "" when absent */
    char *version;   /* prompt version ("" when absent) */
    char *text;      /* the user's last turn: what the semantic tier embeds */
    char *partition; /* the partition key */
    char exact[33];  /* xxh3-128 of the canonical request, hex */
} mlops__cache_req;

/**
 * Canonicalises a request (either form; see include/mlops/cache.h). `options` may
 * override "namespace" and "prompt_version". Errors: MLOPS_EINVAL (shape, empty
 * prompt), MLOPS_ELIMIT (partition key over max_key bytes, prompt over max_prompt).
 */
int mlops__cache_req_parse(const json_t *request, const json_t *options, unsigned part_by,
                           size_t max_key, size_t max_prompt, mlops__cache_req *out);
void mlops__cache_req_free(mlops__cache_req *r);

/* ---------------------------------------------------------------- embedders -- */

enum mlops__cache_embedder_kind {
    MLOPS__EMB_HASHED = 0,
    MLOPS__EMB_CALLBACK,
    MLOPS__EMB_PROVIDER,
    MLOPS__EMB_ENGINE, /* a GGUF model through lib/engine, composed by lib/api (a hook) */
};

/** One embedder behind one interface; immutable once built (shared by threads). */
typedef struct mlops__cache_embedder {
    enum mlops__cache_embedder_kind kind;
    int dim;
    char id[200]; /* names the vector space; persisted vectors are reused when equal */
    mlops__hashvec_opts hashed;
    mlops_embed_fn fn;
    void *user;
    void (*release)(void *user); /* engine: frees user with the embedder */
    char *base_url, *model, *api_key_env;
    long timeout_ms;
} mlops__cache_embedder;

/**
 * Builds an embedder from the config section (callback: fn stays NULL until set;
 * engine: from hook, which it then owns, even on failure).
 */
int mlops__cache_embedder_from_config(const json_t *section, const mlops__cache_embed_hook *hook,
                                      mlops__cache_embedder **out);
void mlops__cache_embedder_free(mlops__cache_embedder *e);
/** True when the embedder can embed now (a callback embedder needs its function). */
bool mlops__cache_embedder_ready(const mlops__cache_embedder *e);
/**
 * Embeds text into out[e->dim] as a unit vector. Errors: MLOPS_EINVAL (empty text or
 * an all-zero vector), MLOPS_ECANCELED (callback refused), MLOPS_EPROVIDER (endpoint),
 * EINVAL naming the dimension mismatch or non-finite values.
 */
int mlops__cache_embed(const mlops__cache_embedder *e, const char *text, float *out);

/* ---------------------------------------------------------------- vectors ---- */

/*
 * A vector store: unit rows of one dimension in a contiguous row-major float32 matrix
 * (and, in int8 mode, a parallel int8 matrix with one scale per row), with an id per
 * row, tombstones and compaction. Readers search under a read lock; writers are
 * serialised by a mutex and take the write lock only to publish (count, tombstone,
 * pointer swap after growth or compaction, both prepared outside the lock).
 */
typedef struct mlops__vecstore mlops__vecstore;

int mlops__vecstore_create(int dim, bool int8, mlops__vecstore **out);
void mlops__vecstore_free(mlops__vecstore *vs);
int mlops__vecstore_dim(const mlops__vecstore *vs);
/** Appends a unit vector for id (checked finite). */
int mlops__vecstore_add(mlops__vecstore *vs, int64_t id, const float *v);
/** Tombstones id's row; MLOPS_ENOTFOUND when absent. Compacts when a quarter is dead. */
int mlops__vecstore_remove(mlops__vecstore *vs, int64_t id);
/** Rewrites the matrix without tombstoned rows. */
int mlops__vecstore_compact(mlops__vecstore *vs);
void mlops__vecstore_counts(mlops__vecstore *vs, size_t *rows, size_t *tombstones,
                            size_t *bytes);
/**
 * The k best live rows with cosine >= min_score, best first. int8 stores scan the int8
 * rows and rescore the best max(k, rescore) candidates with the float32 rows.
 * Returns the number found (0..k) or a negative status.
 */
int mlops__vecstore_search(mlops__vecstore *vs, const float *q, int k, float min_score,
                           int rescore, int64_t *ids, float *scores);
/**
 * nq queries at once (cblas_sgemm over blocks; in int8 mode int8 dot products of every
 * query over cache-resident blocks of rows, then rescoring):
 * ids/scores are nq x k row-major, found[i] how many for query i.
 */
int mlops__vecstore_search_batch(mlops__vecstore *vs, const float *q, int nq, int k,
                                 float min_score, int rescore, int64_t *ids, float *scores,
                                 int *found);

/** int8 dot products (scalar reference and AVX2); n is any length. */
int32_t mlops__cache_dot_i8_ref(const int8_t *a, const int8_t *b, int n);
int32_t mlops__cache_dot_i8_avx2(const int8_t *a, const int8_t *b, int n);
/** The best available kernel for this CPU (chosen once). */
int32_t mlops__cache_dot_i8(const int8_t *a, const int8_t *b, int n);
/** out[r] = dot(m[r], q) for `rows` int8 rows of `dim` (best kernel). */
void mlops__cache_dots_i8(const int8_t *m, size_t rows, int dim, const int8_t *q, int32_t *out);
/**
 * out[j * rows + r] = dot(m[r], q[j]) for nq queries (AVX2: four queries per pass over a
 * row when dim is a multiple of 32); the _ref version is the scalar reference.
 */
void mlops__cache_dots_i8_multi(const int8_t *m, size_t rows, int dim, const int8_t *q, int nq,
                                int32_t *out);
void mlops__cache_dots_i8_multi_ref(const int8_t *m, size_t rows, int dim, const int8_t *q,
                                    int nq, int32_t *out);
/** Quantises v[n] to int8 in [-127, 127]; returns the scale (v ~= q * scale). */
float mlops__cache_quantize(const float *v, int n, int8_t *q);

/* ---------------------------------------------------------------- guard ------ */

/**
 * The lexical second check between the query's prompt and a cached prompt: refuses
 * negation mismatches, different numbers, antonym pairs (open/close...), and
 * substituted content words that are not synonyms. Returns true to allow serving;
 * otherwise writes the reason into why[cap] (may be NULL).
 */
bool mlops__cache_guard_lexical(const char *query, const char *cached, char *why, size_t cap);

/* ---------------------------------------------------------------- persisted rows */

/** A persisted entry row as read from the store (pointers into the statement). */
typedef struct mlops__cache_row {
    int64_t id;
    const char *exact, *partition, *ns, *model, *version, *prompt, *response, *embedder;
    int64_t dim;
    const void *vector;
    size_t vector_bytes;
    int64_t created_ms, expires_ms, ttl_ms;
    int64_t checksum;
} mlops__cache_row;

/** The checksum stored with a row (xxh3 over every field). */
int64_t mlops__cache_row_checksum(const mlops__cache_row *r);
/**
 * Validates a row before it is loaded: checksum, hex key, non-empty strings, JSON
 * response, vector size = dim floats, all finite and unit length. Returns MLOPS_OK or
 * MLOPS_ECORRUPT with the reason.
 */
int mlops__cache_row_check(const mlops__cache_row *r);

#endif /* MLOPS_LIB_CACHE_H */
