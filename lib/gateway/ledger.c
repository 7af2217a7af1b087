/* The spend ledger: one row per request, grouped queries, batched retention. */
#include "ledger.h"

#include <string.h>

int mlops__ledger_insert_locked(mlops__store *st, const mlops__ledger_entry *e)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(st,
                                  "INSERT INTO gateway_ledger(ts_ms, request_id, key_id, model, "
                                  "deployment, tokens_in, tokens_out, cost, latency_ms, "
                                  "cache_hit, guard, route, status) VALUES(?1, ?2, ?3, ?4, ?5, "
                                  "?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, e->ts_ms ? e->ts_ms : mlops__wall_ms());
    mlops__sql_bind_text(s, 2, e->request_id);
    mlops__sql_bind_text(s, 3, e->key_id);
    mlops__sql_bind_text(s, 4, e->model);
    mlops__sql_bind_text(s, 5, e->deployment);
    sqlite3_bind_int64(s, 6, e->tokens_in);
    sqlite3_bind_int64(s, 7, e->tokens_out);
    sqlite3_bind_double(s, 8, e->cost);
    sqlite3_bind_double(s, 9, e->latency_ms);
    sqlite3_bind_int(s, 10, e->cache_hit ? 1 : 0);
    mlops__sql_bind_text(s, 11, e->guard);
    mlops__sql_bind_text(s, 12, e->route);
    sqlite3_bind_text(s, 13, e->status ? e->status : "ok", -1, SQLITE_STATIC);
    int src = sqlite3_step(s);
    return src == SQLITE_DONE ? MLOPS_OK : mlops__store_error(st, src, "ledger insert");
}

int mlops__ledger_record(mlops__store *st, const mlops__ledger_entry *e)
{
    int rc = mlops__store_begin(st);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__ledger_insert_locked(st, e)) != MLOPS_OK) {
        mlops__store_rollback(st);
        return rc;
    }
    return mlops__store_commit(st);
}

static const mlops__json_field query_fields[] = {
    {"by", MLOPS__J_STRING, false},      {"key", MLOPS__J_STRING, false},
    {"model", MLOPS__J_STRING, false},   {"since_ms", MLOPS__J_INTEGER, false},
    {"until_ms", MLOPS__J_INTEGER, false}, {"top", MLOPS__J_INTEGER, false},
    {"limit", MLOPS__J_INTEGER, false},  {NULL, 0, false},
};

/*
 * One statement per grouping (string-literal SQL for the statement cache). The day is
 * the UTC calendar day of ts_ms.
 */
#define LEDGER_AGG                                                                        \
    "COUNT(*), SUM(tokens_in), SUM(tokens_out), SUM(cost), SUM(cache_hit), "             \
    "SUM(status<>'ok'), AVG(latency_ms) FROM gateway_ledger WHERE (?1 IS NULL OR "        \
    "key_id=?1) AND (?2 IS NULL OR model=?2) AND ts_ms>=?3 AND ts_ms<?4 "
#define LEDGER_ORDER(g) "GROUP BY 1 ORDER BY CASE WHEN ?5 THEN SUM(cost) END DESC, 1 LIMIT ?6"

static const struct {
    const char *by;
    const char *sql;
} groupings[] = {
    {"key", "SELECT COALESCE(key_id, '-'), " LEDGER_AGG LEDGER_ORDER(key)},
    {"model", "SELECT COALESCE(model, '-'), " LEDGER_AGG LEDGER_ORDER(model)},
    {"deployment", "SELECT COALESCE(deployment, '-'), " LEDGER_AGG LEDGER_ORDER(deployment)},
    {"status", "SELECT status, " LEDGER_AGG LEDGER_ORDER(status)},
    {"day", "SELECT strftime('%Y-%m-%d', ts_ms / 1000, 'unixepoch'), " LEDGER_AGG
            LEDGER_ORDER(day)},
    {"total", "SELECT 'total', " LEDGER_AGG LEDGER_ORDER(total)},
};

static json_t *agg_row(sqlite3_stmt *s)
{
    return json_pack("{s:s?, s:I, s:I, s:I, s:f, s:I, s:I, s:f}", "group",
                     (const char *)sqlite3_column_text(s, 0), "requests",
                     (json_int_t)sqlite3_column_int64(s, 1), "tokens_in",
                     (json_int_t)sqlite3_column_int64(s, 2), "tokens_out",
                     (json_int_t)sqlite3_column_int64(s, 3), "cost", sqlite3_column_double(s, 4),
                     "cache_hits", (json_int_t)sqlite3_column_int64(s, 5), "errors",
                     (json_int_t)sqlite3_column_int64(s, 6), "latency_ms_avg",
                     sqlite3_column_double(s, 7));
}

static int run_group(mlops__store *st, const char *sql, const json_t *q, bool top, int64_t limit,
                     json_t *rows)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(st, sql, &s);
    if (rc != MLOPS_OK)
        return rc;
    mlops__sql_bind_text(s, 1, mlops__json_str(q, "key", NULL));
    mlops__sql_bind_text(s, 2, mlops__json_str(q, "model", NULL));
    sqlite3_bind_int64(s, 3, mlops__json_int(q, "since_ms", 0));
    sqlite3_bind_int64(s, 4, mlops__json_int(q, "until_ms", INT64_MAX));
    sqlite3_bind_int(s, 5, top);
    sqlite3_bind_int64(s, 6, limit);
    int src;
    rc = MLOPS_OK;
    while (rc == MLOPS_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
        if (sqlite3_column_int64(s, 1) == 0)
            continue; /* the 'total' grouping over no rows */
        json_t *r = agg_row(s);
        if (!r || json_array_append_new(rows, r) != 0)
            rc = mlops__error_oom("spend query");
    }
    if (rc == MLOPS_OK && src != SQLITE_DONE)
        rc = mlops__store_error(st, src, "spend query");
    /* a statement left mid-way would keep a read transaction open (see keys.c) */
    sqlite3_reset(s);
    return rc;
}

int mlops__ledger_query(mlops__store *st, const json_t *query, json_t **out)
{
    *out = NULL;
    if (query) {
        int rc = mlops__json_check_fields(query, "spend query", query_fields, MLOPS_EINVAL);
        if (rc != MLOPS_OK)
            return rc;
    }
    const char *by = mlops__json_str(query, "by", "key");
    size_t g = 0;
    while (g < MLOPS__ARRAY_LEN(groupings) && strcmp(groupings[g].by, by) != 0)
        g++;
    if (g == MLOPS__ARRAY_LEN(groupings))
        return mlops__error(MLOPS_EINVAL,
                            "spend query.by: '%s' is not one of key, model, deployment, "
                            "status, day, total",
                            by);
    int64_t top = mlops__json_int(query, "top", 0);
    int64_t limit = mlops__json_int(query, "limit", 0);
    if (top < 0 || limit < 0)
        return mlops__error(MLOPS_EINVAL, "spend query.%s: must not be negative",
                            top < 0 ? "top" : "limit");
    if (top > 0)
        limit = top;
    if (limit == 0)
        limit = 100000;
    json_t *rows = json_array(), *total = json_array();
    if (!rows || !total) {
        json_decref(rows);
        json_decref(total);
        return mlops__error_oom("spend query");
    }
    mlops__store_lock(st);
    int rc = run_group(st, groupings[g].sql, query, top > 0, limit, rows);
    if (rc == MLOPS_OK)
        rc = run_group(st, groupings[MLOPS__ARRAY_LEN(groupings) - 1].sql, query, false, 1,
                       total);
    mlops__store_unlock(st);
    if (rc != MLOPS_OK) {
        json_decref(rows);
        json_decref(total);
        return rc;
    }
    json_t *t = json_array_size(total) ? json_incref(json_array_get(total, 0))
                                       : json_pack("{s:s, s:i, s:i, s:i, s:f, s:i, s:i, s:f}",
                                                   "group", "total", "requests", 0, "tokens_in",
                                                   0, "tokens_out", 0, "cost", 0.0, "cache_hits",
                                                   0, "errors", 0, "latency_ms_avg", 0.0);
    json_decref(total);
    json_object_del(t, "group");
    *out = json_pack("{s:s, s:o, s:o}", "by", by, "rows", rows, "total", t);
    return *out ? MLOPS_OK : mlops__error_oom("spend query");
}

int mlops__ledger_prune(mlops__store *st, int64_t before_ms, int64_t batch, int64_t *deleted)
{
    *deleted = 0;
    if (batch <= 0)
        batch = 1000;
    for (;;) {
        int rc = mlops__store_begin(st);
        if (rc != MLOPS_OK)
            return rc;
        sqlite3_stmt *s;
        rc = mlops__store_prepare(st,
                                  "DELETE FROM gateway_ledger WHERE id IN (SELECT id FROM "
                                  "gateway_ledger WHERE ts_ms<?1 ORDER BY ts_ms LIMIT ?2)",
                                  &s);
        int changes = 0;
        if (rc == MLOPS_OK) {
            sqlite3_bind_int64(s, 1, before_ms);
            sqlite3_bind_int64(s, 2, batch);
            int src = sqlite3_step(s);
            if (src != SQLITE_DONE)
                rc = mlops__store_error(st, src, "ledger retention");
            else
                changes = sqlite3_changes(sqlite3_db_handle(s));
        }
        if (rc != MLOPS_OK) {
            mlops__store_rollback(st);
            return rc;
        }
        if ((rc = mlops__store_commit(st)) != MLOPS_OK)
            return rc;
        *deleted += changes;
        if (changes < batch)
            return MLOPS_OK;
    }
}
