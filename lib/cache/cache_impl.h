/*
 * lib/cache private: the cache's in-memory structures, shared by cache.c (tiers,
 * bounds, feedback) and cache_persist.c (write-behind and loading). Not for other
 * modules: they use cache.h.
 */
#ifndef MLOPS_LIB_CACHE_IMPL_H
#define MLOPS_LIB_CACHE_IMPL_H

#include "cache.h"

#include <stdatomic.h>

typedef struct cache_partition {
    char *key;
    char *ns, *model, *version;
    double threshold;     /* adapted by wrong-hit reports (global write lock) */
    int64_t wrong_reports;
    size_t entries;
    mlops__vecstore *vs;  /* NULL until the first vector */
    struct cache_partition *next; /* hash chain */
} cache_partition;

typedef struct cache_entry {
    int64_t id;
    char key[33];
    uint64_t key_hash;
    cache_partition *part;
    char *prompt;
    char *response;
    int64_t created_ms;
    int64_t ttl_ms;
    _Atomic int64_t expires_ms; /* 0 = never; refreshed on hit under the read lock */
    _Atomic int64_t hits;
    _Atomic int32_t last_sim_milli; /* similarity of the last semantic hit x1000, -1 none */
    bool has_vec;
    size_t bytes;
    struct cache_entry *next_id, *next_key;
    struct cache_entry *lru_prev, *lru_next;
} cache_entry;

/* A write-behind operation. */
enum cache_op_kind { OP_PUT, OP_DELETE, OP_WRONG, OP_TOUCH, OP_THRESHOLD };

typedef struct cache_op {
    enum cache_op_kind kind;
    int64_t id;
    int64_t expires_ms;
    /* OP_PUT: a copy of the row; OP_THRESHOLD: partition + threshold + reports. */
    char *exact, *partition, *ns, *model, *version, *prompt, *response, *embedder;
    float *vector;
    int dim;
    int64_t created_ms, ttl_ms;
    double threshold;
    int64_t wrong_reports;
} cache_op;

typedef struct cache_config {
    bool enabled;
    double threshold, max_threshold, adapt_step;
    bool guard_lexical;
    unsigned part_by;
    size_t max_key, max_prompt;
    int64_t ttl_ms;
    bool refresh_ttl;
    size_t max_entries, max_bytes;
    bool int8;
    int rescore;
    bool persist;
    size_t flush_every;
    int64_t flush_interval_ms;
} cache_config;

struct mlops__cache {
    mlops__store *store;
    mlops__logger *logger;
    cache_config cfg;

    mlops__rwlock lock; /* entries, maps, partitions, embedder pointer */
    mlops__cache_embedder *emb;
    mlops__cache_embedder **retired_emb; /* replaced embedders, freed at close */
    size_t n_retired_emb;
    mlops__vecstore **retired_vs;        /* replaced vector stores, freed at close */
    size_t n_retired_vs;
    mlops_cache_guard_fn guard_fn;
    void *guard_user;

    cache_entry **by_id, **by_key;
    size_t map_cap, count;
    size_t sweep_cursor; /* next id bucket the incremental expiry sweep looks at */
    size_t bytes;
    _Atomic int64_t next_id; /* changed under `lock` (write), read by the flusher */
    cache_partition **parts;
    size_t parts_cap, parts_count;

    mlops__mutex lru_lock; /* the LRU list (hits move entries under the read lock) */
    cache_entry lru;       /* sentinel: lru.lru_next is the most recent */

    /* write-behind */
    mlops__mutex q_lock;
    mlops__cond q_cond;
    cache_op *q;
    size_t q_len, q_cap;
    bool stop;
    _Atomic bool flusher_running; /* started by the first queued op (no thread before) */
    pthread_t flusher;
    mlops__mutex flush_lock; /* one flush at a time */

    /* counters */
    _Atomic uint64_t hits_exact, hits_semantic, misses, puts, guard_rejections,
        wrong_reports, right_reports, evictions, expired, invalidated, corrupt_rows, flushes,
        flush_failures;
};

/* cache_persist.c */
void mlops__cache_op_free(cache_op *op);
/** Queues an op (taking ownership); wakes the flusher when a batch is full. */
void mlops__cache_queue(mlops__cache *c, cache_op *op);
int mlops__cache_persist_start(mlops__cache *c);
void mlops__cache_persist_stop(mlops__cache *c);
/** Loads persisted entries and partition thresholds (called by open). */
int mlops__cache_load(mlops__cache *c);
size_t mlops__cache_pending(mlops__cache *c);
/** After a write, outside every cache lock: flushes a full batch when no flusher runs. */
void mlops__cache_after_write(mlops__cache *c);
/** Writes the queued ops in one transaction (requeued on failure). */
int mlops__cache_write_batch(mlops__cache *c);

/* cache.c, used by the loader: inserts a loaded entry (no persistence op). */
int mlops__cache_insert_loaded(mlops__cache *c, const mlops__cache_row *row, bool vec_ok);
cache_partition *mlops__cache_partition_get(mlops__cache *c, const char *key, const char *ns,
                                            const char *model, const char *version);

#endif
