/*
 * Reading query results the same way everywhere: a lookup that yields at most one
 * integer, and a scan that turns every row into one JSON array element. Modules (the
 * model registry, the prompt registry) name their own tables and messages; the step
 * loop, the out-of-memory check and the SQLite-error mapping live here once.
 */
#include "core.h"

int mlops__store_step_row(mlops__store *st, sqlite3_stmt *stmt, const char *what, bool *found)
{
    int step = sqlite3_step(stmt);
    *found = step == SQLITE_ROW;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(st, step, what);
    return MLOPS_OK;
}

int mlops__store_query_int(mlops__store *st, sqlite3_stmt *stmt, const char *what,
                           int64_t *value, bool *found)
{
    int rc = mlops__store_step_row(st, stmt, what, found);
    if (rc == MLOPS_OK && *found)
        *value = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    return rc;
}

int mlops__store_rows_json(mlops__store *st, sqlite3_stmt *stmt, mlops__store_row_fn row_json,
                           json_t *arr, const char *oom_what, const char *what)
{
    int step;
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *e = row_json(stmt);
        /* json_array_append_new releases e even when it fails. */
        if (!e || json_array_append_new(arr, e) != 0)
            return mlops__error_oom(oom_what);
    }
    return step == SQLITE_DONE ? MLOPS_OK : mlops__store_error(st, step, what);
}
