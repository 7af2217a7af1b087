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
    /* ids: this process's reserved block [next_id, id_hi) (persisted caches reserve
       blocks in cache_meta so that processes sharing the file never collide) */
    mlops__mutex id_lock;
    _Atomic int64_t next_id;
    int64_t id_hi;
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

    /* seeing other processes' changes (cache_persist.c, mlops__cache_sync) */
    uint64_t origin;               /* this handle's token in cache_log */
    _Atomic uint64_t seen_counter; /* store change counter the index is known good for */
    _Atomic bool synced_once;
    int64_t log_seq;               /* last cache_log row applied (under flush_lock) */

    /* counters */
    _Atomic uint64_t hits_exact, hits_semantic, misses, puts, guard_rejections,
        wrong_reports, right_reports, evictions, expired, invalidated, corrupt_rows, flushes,
        flush_failures, syncs, sync_rows, full_reloads;
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
/**
 * Brings the in-memory index up to date with the store (other processes' puts,
 * deletions, TTL refreshes and thresholds). When the store's change counter is the one
 * last seen it costs that check only; otherwise it applies the cache_log rows written
 * since, and reloads everything only when the log was pruned past what it saw.
 */
int mlops__cache_sync(mlops__cache *c);
/** Takes a new entry id (persisted caches: from a block reserved in the store). */
int mlops__cache_next_id(mlops__cache *c, int64_t *out);

/* cache.c, used by the loader: inserts a loaded entry (no persistence op). */
int mlops__cache_insert_loaded(mlops__cache *c, const mlops__cache_row *row, bool vec_ok);
/** Makes an entry match its persisted row (inserted, or its expiry updated). */
int mlops__cache_upsert_row(mlops__cache *c, const mlops__cache_row *row, bool vec_ok);
/** Drops an entry that another process removed (no persistence op); true if it was here. */
bool mlops__cache_drop_id(mlops__cache *c, int64_t id);
/** Drops every entry whose id is not in the sorted ids[n] (after a full reload). */
size_t mlops__cache_drop_missing(mlops__cache *c, const int64_t *ids, size_t n);
cache_partition *mlops__cache_partition_get(mlops__cache *c, const char *key, const char *ns,
                                            const char *model, const char *version);

#endif
