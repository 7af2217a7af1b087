/*
 * lib/gateway/ledger.h — the spend ledger: one row per request (key, model,
 * deployment, tokens, cost, latency, cache hit, guard verdict, route decision, status)
 * and the queries over it (spend by key/model/day/deployment, top spenders), with a
 * retention that deletes old rows in batches.
 */
#ifndef MLOPS_LIB_GATEWAY_LEDGER_H
#define MLOPS_LIB_GATEWAY_LEDGER_H

#include "../core/core.h"

/** One request's record. Strings may be NULL. */
typedef struct mlops__ledger_entry {
    int64_t ts_ms;          /* 0: now */
    const char *request_id;
    const char *key_id;
    const char *model;
    const char *deployment;
    int64_t tokens_in, tokens_out;
    double cost;
    double latency_ms;
    int cache_hit;          /* 0/1 */
    const char *guard;      /* verdict, e.g. "pass", "redact", "block" */
    const char *route;      /* the route decision as JSON text */
    const char *status;     /* "ok", "error", "blocked", "refused"... */
} mlops__ledger_entry;

/** Inserts a row; the store lock (transaction) must be held by the caller. */
int mlops__ledger_insert_locked(mlops__store *st, const mlops__ledger_entry *e);

/** Inserts a row in its own transaction. */
int mlops__ledger_record(mlops__store *st, const mlops__ledger_entry *e);

/**
 * Spend query. query: {"by": "key"|"model"|"day"|"deployment"|"status" (default "key"),
 * "key": id, "model": name, "since_ms": int, "until_ms": int, "top": n (order by cost
 * desc), "limit": n}. Result: {"by":..., "rows": [{"group", "requests", "tokens_in",
 * "tokens_out", "cost", "cache_hits", "errors", "latency_ms_avg"}], "total": {...}}.
 */
int mlops__ledger_query(mlops__store *st, const json_t *query, json_t **out);

/** Deletes rows older than before_ms in batches of `batch` (separate transactions). */
int mlops__ledger_prune(mlops__store *st, int64_t before_ms, int64_t batch, int64_t *deleted);

#endif
