/*
 * Persistence of the cache in the SQLite store: the schema, a write-behind queue
 * flushed in batched transactions (by a background flusher thread, every flush_every
 * operations, on mlops_cache_flush and on close), and the loader that rebuilds the
 * entries and vector matrices on open.
 *
 * Crash safety: a batch is one transaction, so a crash loses at most the operations
 * queued since the last commit and never leaves a half-written row. Each row carries an
 * xxh3 checksum of its fields; a row that fails its check on load is skipped with a
 * warning and counted ("corrupt_rows"), the rest keeps serving.
 */
#include "cache_impl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const mlops__migration cache_migrations[] = {
    {1, "CREATE TABLE cache_entries("
        " id INTEGER PRIMARY KEY,"
        " exact_key TEXT NOT NULL,"
        " partition TEXT NOT NULL,"
        " namespace TEXT NOT NULL,"
        " model TEXT NOT NULL,"
        " prompt_version TEXT NOT NULL,"
        " prompt TEXT NOT NULL,"
        " response TEXT NOT NULL,"
        " embedder TEXT NOT NULL,"
        " dim INTEGER NOT NULL,"
        " vector BLOB,"
        " created_ms INTEGER NOT NULL,"
        " expires_ms INTEGER NOT NULL,"
        " ttl_ms INTEGER NOT NULL,"
        " wrong INTEGER NOT NULL DEFAULT 0,"
        " checksum INTEGER NOT NULL);"
        "CREATE INDEX cache_entries_partition ON cache_entries(partition);"
        "CREATE TABLE cache_meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
        "CREATE TABLE cache_partitions("
        " partition TEXT PRIMARY KEY,"
        " threshold REAL NOT NULL,"
        " wrong_reports INTEGER NOT NULL);"},
    /* Every committed change, so that processes sharing the file apply exactly what
       changed: kind 1 put, 2 removed, 3 TTL refreshed, 4 partition threshold (entry 0).
       origin is the writing handle's token (its own rows are skipped). */
    {2, "CREATE TABLE cache_log("
        " seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        " entry_id INTEGER NOT NULL,"
        " kind INTEGER NOT NULL,"
        " origin INTEGER NOT NULL);"},
};

const mlops__schema mlops__cache_schema = {"cache", cache_migrations,
                                           MLOPS__ARRAY_LEN(cache_migrations)};

#define MAX_QUEUE 1000000 /* ops kept while the store refuses writes */
#define ID_BLOCK 256      /* ids reserved per store round trip */
#define LOG_KEEP 50000    /* cache_log rows kept; a process further behind reloads */

enum { LOG_PUT = 1, LOG_REMOVED = 2, LOG_TOUCH = 3, LOG_THRESHOLD = 4 };

/* ------------------------------------------------------------------ rows ---- */

static void hash_str(mlops__hasher *h, const char *s)
{
    s = s ? s : "";
    mlops__hasher_update(h, s, strlen(s) + 1); /* with the NUL: fields cannot run together */
}

static void hash_i64(mlops__hasher *h, int64_t v)
{
    mlops__hasher_update(h, &v, sizeof v);
}

int64_t mlops__cache_row_checksum(const mlops__cache_row *r)
{
    mlops__hasher *h = mlops__hasher_new(0xCAC4Eull);
    if (!h)
        return 0;
    hash_i64(h, r->id);
    hash_str(h, r->exact);
    hash_str(h, r->partition);
    hash_str(h, r->ns);
    hash_str(h, r->model);
    hash_str(h, r->version);
    hash_str(h, r->prompt);
    hash_str(h, r->response);
    hash_str(h, r->embedder);
    hash_i64(h, r->dim);
    hash_i64(h, (int64_t)r->vector_bytes);
    if (r->vector && r->vector_bytes)
        mlops__hasher_update(h, r->vector, r->vector_bytes);
    hash_i64(h, r->created_ms);
    hash_i64(h, r->ttl_ms);
    uint64_t d = mlops__hasher_digest(h);
    mlops__hasher_free(h);
    return (int64_t)(d >> 1);
}

int mlops__cache_row_check(const mlops__cache_row *r)
{
    if (!r->exact || strlen(r->exact) != 32 || strspn(r->exact, "0123456789abcdef") != 32)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: exact key is not 32 hex digits",
                            (long long)r->id);
    if (!r->partition || !*r->partition || !r->ns || !*r->ns || !r->model || !r->version ||
        !r->embedder)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: a key field is missing",
                            (long long)r->id);
    if (!r->prompt || !*r->prompt)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: prompt is empty", (long long)r->id);
    if (!r->response)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: response is missing",
                            (long long)r->id);
    if (r->dim < 0 || r->dim > 65536)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: dimension %lld is out of range",
                            (long long)r->id, (long long)r->dim);
    if (r->vector_bytes != (size_t)r->dim * sizeof(float) || (r->dim > 0 && !r->vector))
        return mlops__error(MLOPS_ECORRUPT,
                            "cache row %lld: vector has %zu bytes, dimension %lld needs %zu",
                            (long long)r->id, r->vector_bytes, (long long)r->dim,
                            (size_t)r->dim * sizeof(float));
    if (mlops__cache_row_checksum(r) != r->checksum)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: checksum mismatch", (long long)r->id);
    json_error_t jerr;
    json_t *resp = json_loads(r->response, JSON_DECODE_ANY, &jerr);
    if (!resp)
        return mlops__error(MLOPS_ECORRUPT, "cache row %lld: response is not JSON: %s",
                            (long long)r->id, jerr.text);
    json_decref(resp);
    if (r->dim > 0) {
        double s = 0;
        float x;
        for (int64_t i = 0; i < r->dim; i++) {
            memcpy(&x, (const char *)r->vector + i * 4, 4);
            if (!isfinite(x))
                return mlops__error(MLOPS_ECORRUPT, "cache row %lld: vector has NaN or Inf",
                                    (long long)r->id);
            s += (double)x * x;
        }
        if (fabs(s - 1.0) > 1e-3)
            return mlops__error(MLOPS_ECORRUPT, "cache row %lld: vector is not unit length",
                                (long long)r->id);
    }
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ queue --- */

void mlops__cache_op_free(cache_op *op)
{
    free(op->exact);
    free(op->partition);
    free(op->ns);
    free(op->model);
    free(op->version);
    free(op->prompt);
    free(op->response);
    free(op->embedder);
    free(op->vector);
    memset(op, 0, sizeof *op);
}

static void *flusher_main(void *arg);

void mlops__cache_queue(mlops__cache *c, cache_op *op)
{
    if (!c->cfg.persist) {
        mlops__cache_op_free(op);
        return;
    }
    mlops__mutex_lock(&c->q_lock);
    if (c->q_len == c->q_cap) {
        size_t cap = c->q_cap ? c->q_cap * 2 : 64;
        cache_op *q = c->q_len < MAX_QUEUE ? realloc(c->q, cap * sizeof *q) : NULL;
        if (!q) {
            mlops__mutex_unlock(&c->q_lock);
            mlops__log(c->logger, MLOPS_LOG_ERROR,
                       "cache: write-behind queue full (%zu ops): an operation on entry %lld "
                       "will not be persisted",
                       c->q_len, (long long)op->id);
            mlops__cache_op_free(op);
            return;
        }
        c->q = q;
        c->q_cap = cap;
    }
    c->q[c->q_len++] = *op;
    memset(op, 0, sizeof *op);
    if (!atomic_load(&c->flusher_running) && !c->stop && c->cfg.flush_interval_ms > 0 &&
        c->cfg.flush_every > 1) {
        /* Started on first use, so that a handle that never writes to the cache has no
           background thread (and forks like a single-threaded program). flush_every 1:
           callers write their own operation, no thread is needed. */
        if (pthread_create(&c->flusher, NULL, flusher_main, c) == 0)
            atomic_store(&c->flusher_running, true);
        else
            mlops__log(c->logger, MLOPS_LOG_WARN,
                       "cache: no write-behind thread; batches are written every %zu writes",
                       c->cfg.flush_every);
    }
    if (c->q_len >= c->cfg.flush_every)
        mlops__cond_signal(&c->q_cond);
    mlops__mutex_unlock(&c->q_lock);
}

size_t mlops__cache_pending(mlops__cache *c)
{
    mlops__mutex_lock(&c->q_lock);
    size_t n = c->q_len;
    mlops__mutex_unlock(&c->q_lock);
    return n;
}

static int step_done(mlops__store *st, sqlite3_stmt *s, const char *what)
{
    int src = sqlite3_step(s);
    return src == SQLITE_DONE ? MLOPS_OK : mlops__store_error(st, src, what);
}

static int write_log(mlops__store *st, uint64_t origin, int64_t id, int kind)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st, "INSERT INTO cache_log(entry_id, kind, origin)"
                                      " VALUES(?1, ?2, ?3)",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int(s, 2, kind);
    sqlite3_bind_int64(s, 3, (int64_t)origin);
    return step_done(st, s, "cache: logging a change");
}

static int write_row(mlops__store *st, const cache_op *op);

static int write_op(mlops__store *st, uint64_t origin, const cache_op *op)
{
    int rc = write_row(st, op);
    if (rc != MLOPS_OK)
        return rc;
    int kind = op->kind == OP_PUT         ? LOG_PUT
               : op->kind == OP_TOUCH     ? LOG_TOUCH
               : op->kind == OP_THRESHOLD ? LOG_THRESHOLD
                                          : LOG_REMOVED;
    return write_log(st, origin, op->kind == OP_THRESHOLD ? 0 : op->id, kind);
}

static int write_row(mlops__store *st, const cache_op *op)
{
    sqlite3_stmt *s = NULL;
    int rc;
    switch (op->kind) {
    case OP_PUT: {
        rc = mlops__store_prepare(st,
                                  "INSERT OR REPLACE INTO cache_entries(id, exact_key, partition,"
                                  " namespace, model, prompt_version, prompt, response, embedder,"
                                  " dim, vector, created_ms, expires_ms, ttl_ms, wrong, checksum)"
                                  " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,0,?15)",
                                  &s);
        if (rc != MLOPS_OK)
            return rc;
        mlops__cache_row row = {op->id, op->exact, op->partition, op->ns, op->model, op->version,
                                op->prompt, op->response, op->embedder, op->vector ? op->dim : 0,
                                op->vector, op->vector ? (size_t)op->dim * sizeof(float) : 0,
                                op->created_ms, op->expires_ms, op->ttl_ms, 0};
        sqlite3_bind_int64(s, 1, op->id);
        mlops__sql_bind_text(s, 2, op->exact);
        mlops__sql_bind_text(s, 3, op->partition);
        mlops__sql_bind_text(s, 4, op->ns);
        mlops__sql_bind_text(s, 5, op->model);
        mlops__sql_bind_text(s, 6, op->version);
        mlops__sql_bind_text(s, 7, op->prompt);
        mlops__sql_bind_text(s, 8, op->response);
        mlops__sql_bind_text(s, 9, op->embedder);
        sqlite3_bind_int64(s, 10, row.dim);
        if (op->vector)
            sqlite3_bind_blob(s, 11, op->vector, (int)row.vector_bytes, SQLITE_STATIC);
        else
            sqlite3_bind_null(s, 11);
        sqlite3_bind_int64(s, 12, op->created_ms);
        sqlite3_bind_int64(s, 13, op->expires_ms);
        sqlite3_bind_int64(s, 14, op->ttl_ms);
        sqlite3_bind_int64(s, 15, mlops__cache_row_checksum(&row));
        return step_done(st, s, "cache: writing an entry");
    }
    case OP_DELETE:
        rc = mlops__store_prepare(st, "DELETE FROM cache_entries WHERE id = ?1", &s);
        if (rc != MLOPS_OK)
            return rc;
        sqlite3_bind_int64(s, 1, op->id);
        return step_done(st, s, "cache: deleting an entry");
    case OP_WRONG:
        rc = mlops__store_prepare(st, "UPDATE cache_entries SET wrong = 1 WHERE id = ?1", &s);
        if (rc != MLOPS_OK)
            return rc;
        sqlite3_bind_int64(s, 1, op->id);
        return step_done(st, s, "cache: marking an entry wrong");
    case OP_TOUCH:
        rc = mlops__store_prepare(st, "UPDATE cache_entries SET expires_ms = ?2 WHERE id = ?1",
                                  &s);
        if (rc != MLOPS_OK)
            return rc;
        sqlite3_bind_int64(s, 1, op->id);
        sqlite3_bind_int64(s, 2, op->expires_ms);
        return step_done(st, s, "cache: refreshing a TTL");
    case OP_THRESHOLD:
        rc = mlops__store_prepare(st,
                                  "INSERT OR REPLACE INTO cache_partitions(partition, threshold,"
                                  " wrong_reports) VALUES(?1, ?2, ?3)",
                                  &s);
        if (rc != MLOPS_OK)
            return rc;
        mlops__sql_bind_text(s, 1, op->partition);
        sqlite3_bind_double(s, 2, op->threshold);
        sqlite3_bind_int64(s, 3, op->wrong_reports);
        return step_done(st, s, "cache: writing a partition threshold");
    }
    return mlops__error(MLOPS_EINTERNAL, "cache: unknown write-behind operation");
}

/*
 * Keeps cache_log bounded (in the batch's transaction): beyond 2 x LOG_KEEP rows the
 * oldest go, and cache_meta 'log_pruned' says up to where, so that a process that had
 * not seen them reloads in full instead of missing a change.
 */
static int prune_log(mlops__store *st)
{
    sqlite3_stmt *s = NULL;
    /* Two subqueries: each is a b-tree edge lookup (one query with both scans). */
    int rc = mlops__store_prepare(st, "SELECT (SELECT min(seq) FROM cache_log),"
                                      " (SELECT max(seq) FROM cache_log)", &s);
    if (rc != MLOPS_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW)
        return mlops__store_error(st, src, "cache: reading the change log");
    int64_t lo = sqlite3_column_int64(s, 0), hi = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    if (hi - lo < 2 * LOG_KEEP)
        return MLOPS_OK;
    int64_t cut = hi - LOG_KEEP;
    rc = mlops__store_prepare(st, "DELETE FROM cache_log WHERE seq <= ?1", &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, cut);
    if ((rc = step_done(st, s, "cache: pruning the change log")) != MLOPS_OK)
        return rc;
    rc = mlops__store_prepare(st, "INSERT INTO cache_meta(key, value) VALUES('log_pruned', ?1)"
                                  " ON CONFLICT(key) DO UPDATE SET value ="
                                  " max(value, excluded.value)",
                              &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, cut);
    return step_done(st, s, "cache: recording the pruned log");
}

static int write_batch_locked(mlops__cache *c);

int mlops__cache_write_batch(mlops__cache *c)
{
    mlops__mutex_lock(&c->flush_lock);
    int rc = write_batch_locked(c);
    mlops__mutex_unlock(&c->flush_lock);
    return rc;
}

/* The batch write; flush_lock held. */
static int write_batch_locked(mlops__cache *c)
{
    mlops__mutex_lock(&c->q_lock);
    cache_op *ops = c->q;
    size_t n = c->q_len;
    c->q = NULL;
    c->q_len = c->q_cap = 0;
    mlops__mutex_unlock(&c->q_lock);
    int rc = MLOPS_OK;
    if (n > 0) {
        rc = mlops__store_begin(c->store);
        for (size_t i = 0; rc == MLOPS_OK && i < n; i++) {
            rc = write_op(c->store, c->origin, &ops[i]);
            if (rc != MLOPS_OK)
                mlops__store_rollback(c->store);
        }
        if (rc == MLOPS_OK) {
            /* Ids are never reused: they come from blocks reserved in cache_meta. */
            rc = prune_log(c->store);
            if (rc == MLOPS_OK)
                rc = mlops__store_commit(c->store);
            else
                mlops__store_rollback(c->store);
        }
    }
    if (rc == MLOPS_OK) {
        for (size_t i = 0; i < n; i++)
            mlops__cache_op_free(&ops[i]);
        free(ops);
        if (n > 0)
            atomic_fetch_add(&c->flushes, 1);
    } else {
        /* Put the batch back in front of what was queued meanwhile; retried later. */
        atomic_fetch_add(&c->flush_failures, 1);
        mlops__log(c->logger, MLOPS_LOG_WARN, "cache: write-behind batch of %zu kept queued: %s",
                   n, mlops__error_text());
        mlops__mutex_lock(&c->q_lock);
        cache_op *merged = realloc(ops, (n + c->q_len + 1) * sizeof *ops);
        if (merged) {
            if (c->q_len)
                memcpy(merged + n, c->q, c->q_len * sizeof *ops);
            free(c->q);
            c->q = merged;
            c->q_len += n;
            c->q_cap = c->q_len + 1;
        } else {
            for (size_t i = 0; i < n; i++)
                mlops__cache_op_free(&ops[i]);
            free(ops);
        }
        mlops__mutex_unlock(&c->q_lock);
    }
    return rc;
}

static void *flusher_main(void *arg)
{
    mlops__cache *c = arg;
    uint64_t interval_ns = (uint64_t)c->cfg.flush_interval_ms * 1000000ull;
    for (;;) {
        mlops__mutex_lock(&c->q_lock);
        if (!c->stop && c->q_len < c->cfg.flush_every)
            mlops__cond_timedwait(&c->q_cond, &c->q_lock, interval_ns);
        bool stop = c->stop;
        size_t pending = c->q_len;
        mlops__mutex_unlock(&c->q_lock);
        if (stop)
            break;
        if (pending)
            (void)mlops__cache_write_batch(c);
    }
    return NULL;
}

void mlops__cache_after_write(mlops__cache *c)
{
    /* flush_every 1 (the default): the caller's write is committed before it returns, so
       other processes see it at their next call; larger batches go to the flusher. */
    if (!c->cfg.persist || (atomic_load(&c->flusher_running) && c->cfg.flush_every > 1))
        return;
    if (mlops__cache_pending(c) >= c->cfg.flush_every)
        (void)mlops__cache_write_batch(c);
}

int mlops__cache_persist_start(mlops__cache *c)
{
    (void)c; /* the flusher starts with the first queued operation */
    return MLOPS_OK;
}

/*
 * Gives the unused rest of this process's id block back when no process reserved after
 * it, so that ids stay consecutive for processes that run one after another.
 */
static void release_ids(mlops__cache *c)
{
    if (!c->cfg.persist || c->id_hi <= 0)
        return;
    int64_t next = atomic_load(&c->next_id);
    if (next >= c->id_hi || mlops__store_begin(c->store) != MLOPS_OK)
        return;
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(c->store, "UPDATE cache_meta SET value = ?1"
                                            " WHERE key = 'next_id' AND value = ?2",
                                  &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, next);
        sqlite3_bind_int64(s, 2, c->id_hi);
        rc = step_done(c->store, s, "cache: releasing entry ids");
    }
    if (rc == MLOPS_OK)
        (void)mlops__store_commit(c->store);
    else
        mlops__store_rollback(c->store);
}

void mlops__cache_persist_stop(mlops__cache *c)
{
    mlops__mutex_lock(&c->q_lock);
    c->stop = true;
    mlops__cond_signal(&c->q_cond);
    bool running = atomic_load(&c->flusher_running);
    mlops__mutex_unlock(&c->q_lock);
    if (running) {
        pthread_join(c->flusher, NULL);
        atomic_store(&c->flusher_running, false);
    }
    if (c->cfg.persist && mlops__cache_write_batch(c) != MLOPS_OK)
        mlops__log(c->logger, MLOPS_LOG_ERROR, "cache: the last write-behind batch was lost: %s",
                   mlops__error_text());
    release_ids(c);
    mlops__mutex_lock(&c->q_lock);
    for (size_t i = 0; i < c->q_len; i++)
        mlops__cache_op_free(&c->q[i]);
    free(c->q);
    c->q = NULL;
    c->q_len = c->q_cap = 0;
    mlops__mutex_unlock(&c->q_lock);
}

/* ------------------------------------------------------------------ loading - */

static const char *col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* Reads the persisted partition thresholds (store lock held). */
static int load_thresholds(mlops__cache *c)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(c->store, "SELECT partition, threshold, wrong_reports "
                                            "FROM cache_partitions", &s);
    int src = SQLITE_DONE;
    while (rc == MLOPS_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        const char *key = col_text(s, 0);
        if (!key)
            continue;
        mlops__rwlock_wrlock(&c->lock);
        cache_partition *p = mlops__cache_partition_get(c, key, "", "", "");
        if (p) {
            double t = sqlite3_column_double(s, 1);
            if (t >= 0 && t <= 1)
                p->threshold = t;
            p->wrong_reports = sqlite3_column_int64(s, 2);
        }
        mlops__rwlock_unlock(&c->lock);
        if (!p)
            rc = mlops__error_oom("cache partition");
    }
    if (rc == MLOPS_OK && src != SQLITE_DONE)
        rc = mlops__store_error(c->store, src, "cache: loading partition thresholds");
    if (s)
        sqlite3_reset(s);
    return rc;
}

/* The row in columns base..base+14 (id .. checksum). */
static void row_from(sqlite3_stmt *s, int b, mlops__cache_row *r)
{
    *r = (mlops__cache_row){
        .id = sqlite3_column_int64(s, b),
        .exact = col_text(s, b + 1),
        .partition = col_text(s, b + 2),
        .ns = col_text(s, b + 3),
        .model = col_text(s, b + 4),
        .version = col_text(s, b + 5),
        .prompt = col_text(s, b + 6),
        .response = col_text(s, b + 7),
        .embedder = col_text(s, b + 8),
        .dim = sqlite3_column_int64(s, b + 9),
        .vector = sqlite3_column_blob(s, b + 10),
        .vector_bytes = (size_t)sqlite3_column_bytes(s, b + 10),
        .created_ms = sqlite3_column_int64(s, b + 11),
        .expires_ms = sqlite3_column_int64(s, b + 12),
        .ttl_ms = sqlite3_column_int64(s, b + 13),
        .checksum = sqlite3_column_int64(s, b + 14),
    };
}

/* Whether a checked row's vector is in this embedder's space. */
static bool vector_usable(mlops__cache *c, const mlops__cache_row *r)
{
    mlops__rwlock_rdlock(&c->lock);
    bool ok = r->dim > 0 && r->dim == c->emb->dim && strcmp(r->embedder, c->emb->id) == 0;
    mlops__rwlock_unlock(&c->lock);
    return ok;
}

static bool row_ok(mlops__cache *c, const mlops__cache_row *r)
{
    if (mlops__cache_row_check(r) == MLOPS_OK)
        return true;
    atomic_fetch_add(&c->corrupt_rows, 1);
    mlops__log(c->logger, MLOPS_LOG_WARN, "cache: skipped a damaged row: %s",
               mlops__error_text());
    return false;
}

/* The newest change-log sequence number (store locked by the caller): changes after it
 * are what mlops__cache_sync applies. */
static int read_log_seq(mlops__cache *c)
{
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(c->store, "SELECT max(seq) FROM cache_log", &s);
    if (rc == MLOPS_OK && sqlite3_step(s) == SQLITE_ROW)
        c->log_seq = sqlite3_column_int64(s, 0);
    if (s)
        sqlite3_reset(s);
    return rc;
}

/* Calls fn for every usable, unexpired entry row of the table, in id order (store locked
 * by the caller); rows past their expiry are counted in *expired instead. */
typedef int (*row_fn)(mlops__cache *c, const mlops__cache_row *r, void *ctx);

static int each_live_row(mlops__cache *c, int64_t now, row_fn fn, void *ctx, size_t *expired,
                         const char *what)
{
    mlops__store *st = c->store;
    sqlite3_stmt *s = NULL;
    int rc = mlops__store_prepare(st,
                                  "SELECT id, exact_key, partition, namespace, model,"
                                  " prompt_version, prompt, response, embedder, dim, vector,"
                                  " created_ms, expires_ms, ttl_ms, checksum"
                                  " FROM cache_entries WHERE wrong = 0 ORDER BY id",
                                  &s);
    int src = SQLITE_DONE;
    while (rc == MLOPS_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        mlops__cache_row r;
        row_from(s, 0, &r);
        if (!row_ok(c, &r))
            continue;
        if (r.expires_ms > 0 && r.expires_ms <= now) {
            ++*expired;
            continue;
        }
        rc = fn(c, &r, ctx);
    }
    if (rc == MLOPS_OK && src != SQLITE_DONE)
        rc = mlops__store_error(st, src, what);
    if (s)
        sqlite3_reset(s);
    return rc;
}

static int insert_row(mlops__cache *c, const mlops__cache_row *r, void *ctx)
{
    int rc = mlops__cache_insert_loaded(c, r, vector_usable(c, r));
    if (rc == MLOPS_OK)
        ++*(size_t *)ctx;
    return rc;
}

int mlops__cache_load(mlops__cache *c)
{
    mlops__store *st = c->store;
    uint64_t pid = (uint64_t)getpid();
    uintptr_t addr = (uintptr_t)c;
    uint64_t seed[3] = {mlops__now_ns(), pid, (uint64_t)addr};
    c->origin = mlops__hash64(seed, sizeof seed, 0x5eed) | 1u;
    /* Changes committed from here on are applied by mlops__cache_sync (again, if the
       load below already saw them: applying is idempotent). */
    atomic_store(&c->seen_counter, mlops__store_change_counter(st));
    mlops__store_lock(st);
    sqlite3_stmt *s = NULL;
    int rc0 = read_log_seq(c);
    if (rc0 != MLOPS_OK) {
        mlops__store_unlock(st);
        return rc0;
    }
    int rc = mlops__store_prepare(st, "SELECT max(coalesce((SELECT max(id) FROM cache_entries), 0) "
                                      "+ 1, coalesce((SELECT value FROM cache_meta WHERE key = "
                                      "'next_id'), 1))",
                                  &s);
    if (rc == MLOPS_OK && sqlite3_step(s) == SQLITE_ROW)
        atomic_store(&c->next_id, sqlite3_column_int64(s, 0));
    if (s)
        sqlite3_reset(s); /* a statement left mid-step would pin an old read snapshot */
    if (rc == MLOPS_OK)
        rc = load_thresholds(c);
    int64_t now = mlops__wall_ms();
    size_t loaded = 0, expired = 0;
    if (rc == MLOPS_OK)
        rc = each_live_row(c, now, insert_row, &loaded, &expired, "cache: loading entries");
    mlops__store_unlock(st);
    if (rc == MLOPS_OK && expired) {
        /* Expired rows are dropped from the store in the background batch. */
        sqlite3_stmt *d = NULL;
        if (mlops__store_begin(st) == MLOPS_OK) {
            if (mlops__store_prepare(st, "INSERT INTO cache_log(entry_id, kind, origin) SELECT id,"
                                         " 2, ?2 FROM cache_entries WHERE expires_ms > 0 AND"
                                         " expires_ms <= ?1",
                                     &d) == MLOPS_OK) {
                sqlite3_bind_int64(d, 1, now);
                sqlite3_bind_int64(d, 2, (int64_t)c->origin);
                sqlite3_step(d);
                sqlite3_reset(d);
            }
            if (mlops__store_prepare(st, "DELETE FROM cache_entries WHERE expires_ms > 0 AND "
                                         "expires_ms <= ?1",
                                     &d) == MLOPS_OK) {
                sqlite3_bind_int64(d, 1, now);
                sqlite3_step(d);
                sqlite3_reset(d);
            }
            mlops__store_commit(st);
        }
    }
    if (rc == MLOPS_OK && (loaded || c->corrupt_rows))
        mlops__log(c->logger, MLOPS_LOG_INFO,
                   "cache: loaded %zu entries (%zu expired, %llu damaged rows skipped)", loaded,
                   expired, (unsigned long long)atomic_load(&c->corrupt_rows));
    return rc;
}

/* ------------------------------------------------------------------ ids ----- */

int mlops__cache_next_id(mlops__cache *c, int64_t *out)
{
    *out = 0;
    if (!c->cfg.persist) {
        *out = atomic_fetch_add(&c->next_id, 1);
        return MLOPS_OK;
    }
    mlops__mutex_lock(&c->id_lock);
    int64_t id = atomic_load(&c->next_id);
    if (id > 0 && id < c->id_hi) {
        atomic_store(&c->next_id, id + 1);
        mlops__mutex_unlock(&c->id_lock);
        *out = id;
        return MLOPS_OK;
    }
    /* Reserve the next block in the store: processes sharing the file never collide. */
    int rc = mlops__store_begin(c->store);
    sqlite3_stmt *s = NULL;
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(c->store,
                                  "SELECT max(coalesce((SELECT value FROM cache_meta WHERE key ="
                                  " 'next_id'), 1), coalesce((SELECT max(id) FROM cache_entries),"
                                  " 0) + 1)",
                                  &s);
    if (rc == MLOPS_OK) {
        int src = sqlite3_step(s);
        if (src == SQLITE_ROW)
            id = sqlite3_column_int64(s, 0);
        else
            rc = mlops__store_error(c->store, src, "cache: reading the next id");
        sqlite3_reset(s);
        if (rc == MLOPS_OK)
            rc = mlops__store_prepare(c->store,
                                      "INSERT INTO cache_meta(key, value) VALUES('next_id', ?1)"
                                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                                      &s);
        if (rc == MLOPS_OK) {
            sqlite3_bind_int64(s, 1, id + ID_BLOCK);
            rc = step_done(c->store, s, "cache: reserving entry ids");
        }
        if (rc == MLOPS_OK)
            rc = mlops__store_commit(c->store);
        else
            mlops__store_rollback(c->store);
    }
    if (rc == MLOPS_OK) {
        atomic_store(&c->next_id, id + 1);
        c->id_hi = id + ID_BLOCK;
        *out = id;
    } else {
        mlops__error_wrap(rc, "cache: no entry id");
    }
    mlops__mutex_unlock(&c->id_lock);
    return rc;
}

/* ------------------------------------------------------------------ sync ---- */

/*
 * Full reload (the log was pruned past what this process saw): this process's queue is
 * written first, then the index is made equal to the table in one read transaction.
 * flush_lock held.
 */
typedef struct id_list {
    int64_t *v;
    size_t n, cap;
} id_list;

/* Upserts a row into the index and records its id (rows come in id order: sorted). */
static int upsert_row(mlops__cache *c, const mlops__cache_row *r, void *ctx)
{
    id_list *ids = ctx;
    if (ids->n == ids->cap) {
        size_t nc = ids->cap ? ids->cap * 2 : 1024;
        int64_t *v = realloc(ids->v, nc * sizeof *v);
        if (!v)
            return mlops__error_oom("cache reload");
        ids->v = v;
        ids->cap = nc;
    }
    ids->v[ids->n++] = r->id;
    return mlops__cache_upsert_row(c, r, vector_usable(c, r));
}

static int sync_full(mlops__cache *c)
{
    int rc = write_batch_locked(c);
    if (rc != MLOPS_OK)
        return rc;
    mlops__store *st = c->store;
    int64_t now = mlops__wall_ms();
    sqlite3 *db = mlops__store_lock(st);
    rc = mlops__store_exec(st, "BEGIN");
    if (rc == MLOPS_OK)
        rc = read_log_seq(c);
    if (rc == MLOPS_OK)
        rc = load_thresholds(c);
    id_list seen = {0};
    size_t expired = 0;
    if (rc == MLOPS_OK)
        rc = each_live_row(c, now, upsert_row, &seen, &expired, "cache: reloading entries");
    if (!sqlite3_get_autocommit(db))
        (void)mlops__store_exec(st, rc == MLOPS_OK ? "COMMIT" : "ROLLBACK");
    mlops__store_unlock(st);
    if (rc == MLOPS_OK) {
        mlops__cache_drop_missing(c, seen.v, seen.n);
        atomic_fetch_add(&c->full_reloads, 1);
        mlops__log(c->logger, MLOPS_LOG_INFO, "cache: reloaded %zu entries (another process's "
                                              "changes were past the kept log)", seen.n);
    }
    free(seen.v);
    return rc;
}

int mlops__cache_sync(mlops__cache *c)
{
    if (!c->cfg.persist)
        return MLOPS_OK;
    uint64_t counter = mlops__store_change_counter(c->store);
    if (atomic_load(&c->seen_counter) == counter)
        return MLOPS_OK; /* nothing committed anywhere since the index was last made good */
    mlops__mutex_lock(&c->flush_lock); /* one sync at a time, and no batch in flight */
    if (atomic_load(&c->seen_counter) == counter) {
        mlops__mutex_unlock(&c->flush_lock);
        return MLOPS_OK;
    }
    mlops__store *st = c->store;
    int64_t since = c->log_seq, last = since, now = mlops__wall_ms();
    bool thresholds = false;
    size_t applied = 0;
    mlops__store_lock(st);
    sqlite3_stmt *s = NULL;
    /* Rows are joined only for other handles' puts and TTL refreshes; a removal needs
       just its id (ids are never reused). */
    int rc = mlops__store_prepare(
        st,
        "SELECT l.seq, l.kind, l.origin, l.entry_id, e.wrong,"
        " e.id, e.exact_key, e.partition, e.namespace, e.model, e.prompt_version, e.prompt,"
        " e.response, e.embedder, e.dim, e.vector, e.created_ms, e.expires_ms, e.ttl_ms,"
        " e.checksum"
        " FROM cache_log l LEFT JOIN cache_entries e"
        " ON e.id = l.entry_id AND l.origin != ?2 AND l.kind IN (1, 3)"
        " WHERE l.seq > ?1 ORDER BY l.seq",
        &s);
    int src = SQLITE_DONE;
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, since);
        sqlite3_bind_int64(s, 2, (int64_t)c->origin);
    }
    while (rc == MLOPS_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        last = sqlite3_column_int64(s, 0);
        int kind = sqlite3_column_int(s, 1);
        if ((uint64_t)sqlite3_column_int64(s, 2) == c->origin)
            continue; /* our own change: already in the index */
        applied++;
        if (kind == LOG_THRESHOLD) {
            thresholds = true;
            continue;
        }
        int64_t id = sqlite3_column_int64(s, 3);
        if (kind == LOG_REMOVED || sqlite3_column_type(s, 5) == SQLITE_NULL ||
            sqlite3_column_int64(s, 4) != 0) {
            (void)mlops__cache_drop_id(c, id);
            continue;
        }
        mlops__cache_row r;
        row_from(s, 5, &r);
        if (!row_ok(c, &r))
            continue;
        if (r.expires_ms > 0 && r.expires_ms <= now) {
            (void)mlops__cache_drop_id(c, id);
            continue;
        }
        rc = mlops__cache_upsert_row(c, &r, vector_usable(c, &r));
    }
    if (rc == MLOPS_OK && src != SQLITE_DONE)
        rc = mlops__store_error(st, src, "cache: reading other processes' changes");
    if (s)
        sqlite3_reset(s);
    /* Read after the log: if nothing past `since` had been pruned then, none was
       missing from what we read. */
    int64_t pruned = 0;
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(st, "SELECT value FROM cache_meta WHERE key = 'log_pruned'",
                                  &s);
    if (rc == MLOPS_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            pruned = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    if (rc == MLOPS_OK && thresholds)
        rc = load_thresholds(c);
    mlops__store_unlock(st);
    if (rc == MLOPS_OK) {
        c->log_seq = last;
        if (pruned > since)
            rc = sync_full(c);
    }
    if (rc == MLOPS_OK) {
        atomic_fetch_add(&c->syncs, 1);
        atomic_fetch_add(&c->sync_rows, applied);
        atomic_store(&c->seen_counter, counter);
    } else {
        mlops__error_wrap(rc, "cache: seeing other processes' changes");
    }
    mlops__mutex_unlock(&c->flush_lock);
    return rc;
}
