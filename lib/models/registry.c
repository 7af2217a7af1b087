/*
 * The model registry: schema, module lifecycle, versions, aliases, search, audit.
 *
 * Versions are numbered per model without gaps: the next number is MAX(version)+1
 * read inside the BEGIN IMMEDIATE transaction that inserts it, so concurrent writers
 * (threads or processes) are serialised by SQLite's write lock.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops__migration models_migrations[] = {
    {1,
     "CREATE TABLE models("
     " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL);"
     "CREATE TABLE model_versions("
     " model_id INTEGER NOT NULL REFERENCES models(id), version INTEGER NOT NULL,"
     " uri TEXT NOT NULL, hash TEXT, size INTEGER, format TEXT NOT NULL DEFAULT '',"
     " params TEXT NOT NULL DEFAULT '{}', metrics TEXT NOT NULL DEFAULT '{}',"
     " tags TEXT NOT NULL DEFAULT '{}', description TEXT NOT NULL DEFAULT '',"
     " source_run TEXT, dataset_hash TEXT, parent_version INTEGER,"
     " status TEXT NOT NULL DEFAULT 'ready', created_ms INTEGER NOT NULL,"
     " PRIMARY KEY(model_id, version)) WITHOUT ROWID;"
     "CREATE TABLE model_aliases("
     " model_id INTEGER NOT NULL REFERENCES models(id), alias TEXT NOT NULL,"
     " version INTEGER NOT NULL, previous INTEGER, updated_ms INTEGER NOT NULL,"
     " PRIMARY KEY(model_id, alias)) WITHOUT ROWID;"
     "CREATE TABLE model_gates("
     " model_id INTEGER NOT NULL REFERENCES models(id), alias TEXT NOT NULL,"
     " rules TEXT NOT NULL, updated_ms INTEGER NOT NULL,"
     " PRIMARY KEY(model_id, alias)) WITHOUT ROWID;"
     "CREATE TABLE model_audit("
     " id INTEGER PRIMARY KEY AUTOINCREMENT, at_ms INTEGER NOT NULL, model TEXT NOT NULL,"
     " action TEXT NOT NULL, version INTEGER, alias TEXT, forced INTEGER NOT NULL DEFAULT 0,"
     " reason TEXT, detail TEXT NOT NULL DEFAULT '{}');"
     "CREATE INDEX model_audit_model ON model_audit(model, id);"
     "CREATE TRIGGER model_audit_no_update BEFORE UPDATE ON model_audit"
     " BEGIN SELECT RAISE(ABORT, 'model_audit is append-only'); END;"
     "CREATE TRIGGER model_audit_no_delete BEFORE DELETE ON model_audit"
     " BEGIN SELECT RAISE(ABORT, 'model_audit is append-only'); END;"
     "CREATE TABLE model_deployments("
     " id INTEGER PRIMARY KEY, model_id INTEGER NOT NULL REFERENCES models(id),"
     " alias TEXT NOT NULL, strategy TEXT NOT NULL, spec TEXT NOT NULL,"
     " baseline INTEGER, candidate INTEGER, state TEXT NOT NULL,"
     " step INTEGER NOT NULL DEFAULT 0, phase INTEGER NOT NULL DEFAULT 0,"
     " failures INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '',"
     " salt TEXT NOT NULL, started_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
     "CREATE UNIQUE INDEX model_deployments_active ON model_deployments(model_id, alias)"
     " WHERE state IN ('running', 'paused');"
     "CREATE TABLE model_observations("
     " deployment_id INTEGER NOT NULL REFERENCES model_deployments(id),"
     " phase INTEGER NOT NULL, version INTEGER NOT NULL, metric TEXT NOT NULL,"
     " n INTEGER NOT NULL, sum REAL NOT NULL, sumsq REAL NOT NULL, min REAL, max REAL,"
     " hist BLOB, PRIMARY KEY(deployment_id, phase, version, metric)) WITHOUT ROWID;"},
};

const mlops__schema mlops__models_schema = {"models", models_migrations,
                                            MLOPS__ARRAY_LEN(models_migrations)};

static const mlops__json_field config_fields[] = {
    {"refresh_ms", MLOPS__J_INTEGER, false},
    {"flush_every", MLOPS__J_INTEGER, false},
    {"max_artifact_mb", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

int mlops__models_check_config(const json_t *section)
{
    if (!section)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(section, "config.models", config_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    int64_t v = mlops__json_int(section, "refresh_ms", 10);
    if (v < 0 || v > 3600000)
        return mlops__error(MLOPS_ECONFIG, "config.models.refresh_ms: %lld is outside 0..3600000",
                            (long long)v);
    v = mlops__json_int(section, "flush_every", 256);
    if (v < 1 || v > 1000000)
        return mlops__error(MLOPS_ECONFIG, "config.models.flush_every: %lld is outside 1..1000000",
                            (long long)v);
    v = mlops__json_int(section, "max_artifact_mb", 1 << 20);
    if (v < 1)
        return mlops__error(MLOPS_ECONFIG, "config.models.max_artifact_mb: must be >= 1");
    return MLOPS_OK;
}

int mlops__models_open(mlops__store *st, mlops__logger *lg, const json_t *section,
                       mlops__models **out)
{
    mlops__models *m = calloc(1, sizeof *m);
    if (!m)
        return mlops__error_oom("models");
    m->store = st;
    m->logger = lg;
    m->refresh_ns = (uint64_t)mlops__json_int(section, "refresh_ms", 10) * 1000000u;
    m->flush_every = mlops__json_int(section, "flush_every", 256);
    m->max_artifact_bytes = mlops__json_int(section, "max_artifact_mb", 1 << 20) * 1048576;
    mlops__rwlock_init(&m->snap_lock);
    mlops__mutex_init(&m->refresh_lock);
    mlops__mutex_init(&m->obs_lock);
    *out = m;
    return MLOPS_OK;
}

void mlops__models_close(mlops__models *m)
{
    if (!m)
        return;
    if (mlops__deploy_flush(m) != MLOPS_OK)
        mlops__log(m->logger, MLOPS_LOG_ERROR, "models: pending observations lost at close: %s",
                   mlops__error_text());
    mm_snapshot_free(m->snap);
    free(m->deltas);
    mlops__mutex_destroy(&m->obs_lock);
    mlops__mutex_destroy(&m->refresh_lock);
    mlops__rwlock_destroy(&m->snap_lock);
    free(m);
}

/* ---------------------------------------------------------------- names ----- */

static const char *const strategy_names[] = {NULL, "canary", "blue_green", "shadow", "ab"};
static const char *const state_names[] = {NULL, "running", "paused", "promoted", "rolled_back",
                                          "aborted"};

const char *mm_strategy_name(int s)
{
    return s >= 1 && s <= 4 ? strategy_names[s] : "unknown";
}

int mm_strategy_parse(const char *s)
{
    for (int i = 1; i <= 4; i++)
        if (s && strcmp(s, strategy_names[i]) == 0)
            return i;
    return 0;
}

const char *mm_state_name(int s)
{
    return s >= 1 && s <= 5 ? state_names[s] : "unknown";
}

int mm_state_parse(const char *s)
{
    for (int i = 1; i <= 5; i++)
        if (s && strcmp(s, state_names[i]) == 0)
            return i;
    return 0;
}

bool mm_key_ok(const char *s, size_t n)
{
    if (n == 0 || n >= MM_METRIC_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

int mm_alias_check(const char *alias, bool target)
{
    if (!alias || !*alias)
        return mlops__error(MLOPS_EINVAL, "alias: must not be empty");
    size_t n = strlen(alias);
    if (!mm_key_ok(alias, n))
        return mlops__error(MLOPS_EINVAL,
                            "alias '%s': use 1..63 characters of letters, digits, '_' and '-'",
                            alias);
    if (target && strcmp(alias, "latest") == 0)
        return mlops__error(MLOPS_EINVAL,
                            "alias 'latest' is reserved: it always names the newest version");
    return MLOPS_OK;
}

int mm_ref_parse(const char *ref, char **name, int64_t *version, char **alias)
{
    *name = NULL;
    *alias = NULL;
    *version = 0;
    if (!ref || !*ref)
        return mlops__error(MLOPS_EINVAL, "model reference: must not be empty");
    const char *sep = strpbrk(ref, ":@");
    char *n = mlops__strndup(ref, sep ? (size_t)(sep - ref) : strlen(ref));
    if (!n)
        return mlops__error_oom("reference");
    int rc = mlops__name_check(n, "model name");
    if (rc == MLOPS_OK && sep && *sep == ':') {
        char *end = NULL;
        long long v = strtoll(sep + 1, &end, 10);
        if (!sep[1] || *end || v < 1)
            rc = mlops__error(MLOPS_EINVAL, "model reference '%s': version after ':' must be a "
                              "positive integer", ref);
        *version = v;
    } else if (rc == MLOPS_OK && sep) {
        rc = mm_alias_check(sep + 1, false);
        if (rc == MLOPS_OK && !(*alias = mlops__strdup(sep + 1)))
            rc = mlops__error_oom("reference");
    }
    if (rc != MLOPS_OK) {
        free(n);
        free(*alias);
        *alias = NULL;
        return rc;
    }
    *name = n;
    return MLOPS_OK;
}

/* ---------------------------------------------------------------- lookups --- */

int mm_model_id(mlops__models *m, const char *name, int64_t *id)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store, "SELECT id FROM models WHERE name=?1", &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    bool found;
    if ((rc = mlops__store_query_int(m->store, s, "models", id, &found)) != MLOPS_OK)
        return rc;
    return found ? MLOPS_OK : mlops__error(MLOPS_ENOTFOUND, "model '%s' does not exist", name);
}

int mm_version_exists(mlops__models *m, int64_t model_id, const char *name, int64_t version)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(
        m->store, "SELECT 1 FROM model_versions WHERE model_id=?1 AND version=?2", &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_int64(s, 2, version);
    int64_t one;
    bool found;
    if ((rc = mlops__store_query_int(m->store, s, "model_versions", &one, &found)) != MLOPS_OK)
        return rc;
    return found ? MLOPS_OK
                 : mlops__error(MLOPS_ENOTFOUND, "model '%s' has no version %lld", name,
                                (long long)version);
}

int mm_alias_free(mlops__models *m, int64_t model_id, const char *name, const char *alias)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT id, strategy FROM model_deployments WHERE model_id=?1"
                                  " AND alias=?2 AND state IN ('running', 'paused')",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_text(s, 2, alias, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = mlops__error(MLOPS_ESTATE, "alias '%s' of '%s' is under %s deployment %lld: promote, "
                          "roll back or abort it with mlops_deploy_*", alias, name,
                          (const char *)sqlite3_column_text(s, 1),
                          (long long)sqlite3_column_int64(s, 0));
    else if (step != SQLITE_DONE)
        rc = mlops__store_error(m->store, step, "model_deployments");
    sqlite3_reset(s);
    return rc;
}

int mm_alias_get(mlops__models *m, int64_t model_id, const char *alias, int64_t *version)
{
    sqlite3_stmt *s;
    int rc;
    *version = 0;
    if (strcmp(alias, "latest") == 0)
        rc = mlops__store_prepare(
            m->store, "SELECT MAX(version) FROM model_versions WHERE model_id=?1 AND ?2 IS NOT NULL",
            &s);
    else
        rc = mlops__store_prepare(
            m->store, "SELECT version FROM model_aliases WHERE model_id=?1 AND alias=?2", &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_text(s, 2, alias, -1, SQLITE_STATIC);
    bool found;
    return mlops__store_query_int(m->store, s, "model_aliases", version, &found);
}

int mm_alias_set(mlops__models *m, int64_t model_id, const char *alias, int64_t version)
{
    sqlite3_stmt *s;
    int rc;
    if (version == 0)
        rc = mlops__store_prepare(
            m->store, "DELETE FROM model_aliases WHERE model_id=?1 AND alias=?2", &s);
    else
        rc = mlops__store_prepare(
            m->store,
            "INSERT INTO model_aliases(model_id, alias, version, previous, updated_ms)"
            " VALUES(?1, ?2, ?3, NULL, ?4) ON CONFLICT(model_id, alias) DO UPDATE SET"
            " previous=model_aliases.version, version=excluded.version,"
            " updated_ms=excluded.updated_ms",
            &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_text(s, 2, alias, -1, SQLITE_STATIC);
    if (version != 0) {
        sqlite3_bind_int64(s, 3, version);
        sqlite3_bind_int64(s, 4, mlops__wall_ms());
    }
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? MLOPS_OK : mlops__store_error(m->store, step, "model_aliases");
}

int mm_version_metrics(mlops__models *m, int64_t model_id, int64_t version, json_t **out)
{
    *out = NULL;
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(
        m->store, "SELECT metrics FROM model_versions WHERE model_id=?1 AND version=?2", &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_int64(s, 2, version);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        *out = json_loads(t ? t : "{}", 0, NULL);
    }
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(m->store, step, "model_versions");
    return MLOPS_OK;
}

bool mm_metric_lookup(const json_t *metrics, const char *name, double *out)
{
    const json_t *cur = metrics;
    const char *p = name;
    while (cur && json_is_object(cur)) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = json_object_getn(cur, p, n);
        if (!dot)
            break;
        p = dot + 1;
    }
    if (!cur || !json_is_number(cur))
        return false;
    *out = json_number_value(cur);
    return true;
}

/* ---------------------------------------------------------------- columns --- */

static json_t *col_json(sqlite3_stmt *s, int col, const char *def)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    json_t *v = json_loads(t ? t : def, JSON_DECODE_ANY, NULL);
    return v ? v : json_loads(def, JSON_DECODE_ANY, NULL);
}

static json_t *col_text_or_null(sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return json_null();
    return json_string((const char *)sqlite3_column_text(s, col));
}

static json_t *col_int_or_null(sqlite3_stmt *s, int col)
{
    if (sqlite3_column_type(s, col) == SQLITE_NULL)
        return json_null();
    return json_integer(sqlite3_column_int64(s, col));
}

/* ---------------------------------------------------------------- audit ----- */

int mm_audit(mlops__models *m, const char *model, const char *action, int64_t version,
             const char *alias, bool forced, const char *reason, const json_t *detail)
{
    char *text = NULL;
    if (detail && mlops__json_dump(detail, &text) != MLOPS_OK)
        return mlops__error_oom("audit");
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(
        m->store,
        "INSERT INTO model_audit(at_ms, model, action, version, alias, forced, reason, detail)"
        " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, mlops__wall_ms());
        sqlite3_bind_text(s, 2, model, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, action, -1, SQLITE_STATIC);
        if (version > 0)
            sqlite3_bind_int64(s, 4, version);
        mlops__sql_bind_text(s, 5, alias);
        sqlite3_bind_int(s, 6, forced ? 1 : 0);
        mlops__sql_bind_text(s, 7, reason);
        sqlite3_bind_text(s, 8, text ? text : "{}", -1, SQLITE_STATIC);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_audit");
    }
    free(text);
    return rc;
}

/* One model_audit row (id, at_ms, action, version, alias, forced, reason, detail). */
static json_t *audit_json(sqlite3_stmt *s)
{
    char at[32];
    mlops__format_time(sqlite3_column_int64(s, 1), at);
    json_t *detail = json_loads((const char *)sqlite3_column_text(s, 7), 0, NULL);
    return json_pack("{s:I, s:s, s:s, s:o, s:o, s:b, s:o, s:o}", "id",
                     (json_int_t)sqlite3_column_int64(s, 0), "at", at, "action",
                     (const char *)sqlite3_column_text(s, 2), "version", col_int_or_null(s, 3),
                     "alias", col_text_or_null(s, 4), "forced", sqlite3_column_int(s, 5) != 0,
                     "reason", col_text_or_null(s, 6), "detail", detail ? detail : json_object());
}

/* Hands a finished array to the caller, or drops it when rc says the scan failed. */
static int give_array(int rc, json_t *arr, json_t **out)
{
    if (rc != MLOPS_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return MLOPS_OK;
}

int mlops__models_history(mlops__models *m, const char *name, int64_t limit, json_t **out)
{
    *out = NULL;
    int rc = mlops__name_check(name, "model name");
    if (rc != MLOPS_OK)
        return rc;
    json_t *arr = json_array();
    if (!arr)
        return mlops__error_oom("history");
    mlops__store_lock(m->store);
    int64_t id;
    sqlite3_stmt *s = NULL;
    rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(m->store,
                                  "SELECT id, at_ms, action, version, alias, forced, reason,"
                                  " detail FROM model_audit WHERE model=?1 ORDER BY id LIMIT ?2",
                                  &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, limit > 0 ? limit : -1);
        rc = mlops__store_rows_json(m->store, s, audit_json, arr, "history", "model_audit");
        sqlite3_reset(s);
    }
    mlops__store_unlock(m->store);
    return give_array(rc, arr, out);
}

/* ---------------------------------------------------------------- versions -- */

#define VERSION_COLS                                                                           \
    "m.name, v.version, v.uri, v.hash, v.size, v.format, v.params, v.metrics, v.tags,"          \
    " v.description, v.source_run, v.dataset_hash, v.parent_version, v.status, v.created_ms,"  \
    " (SELECT json_group_array(a.alias) FROM (SELECT alias FROM model_aliases a2"              \
    "  WHERE a2.model_id=v.model_id AND a2.version=v.version ORDER BY alias) a)"

/* One row of VERSION_COLS as the documented version JSON. */
static json_t *version_json(sqlite3_stmt *s)
{
    char at[32];
    mlops__format_time(sqlite3_column_int64(s, 14), at);
    return json_pack("{s:s, s:I, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:s,"
                     " s:{s:o, s:o, s:o}, s:s, s:s, s:o}",
                     "name", (const char *)sqlite3_column_text(s, 0), "version",
                     (json_int_t)sqlite3_column_int64(s, 1), "uri",
                     (const char *)sqlite3_column_text(s, 2), "hash", col_text_or_null(s, 3),
                     "size", col_int_or_null(s, 4), "format",
                     (const char *)sqlite3_column_text(s, 5), "params", col_json(s, 6, "{}"),
                     "metrics", col_json(s, 7, "{}"), "tags", col_json(s, 8, "{}"),
                     "description", (const char *)sqlite3_column_text(s, 9), "lineage",
                     "source_run", col_text_or_null(s, 10), "dataset_hash",
                     col_text_or_null(s, 11), "parent_version", col_int_or_null(s, 12),
                     "status", (const char *)sqlite3_column_text(s, 13), "created_at", at,
                     "aliases", col_json(s, 15, "[]"));
}

static int check_metrics(const json_t *metrics, const char *what, bool allow_null)
{
    if (!json_is_object(metrics))
        return mlops__error(MLOPS_EINVAL, "%s: expected an object, got %s", what,
                            mlops__json_type_name(metrics));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)metrics, k, v) {
        if (!mm_key_ok(k, strlen(k)))
            return mlops__error(MLOPS_EINVAL,
                                "%s: name '%s' must be 1..63 letters, digits, '_' or '-'", what, k);
        if (json_is_number(v)) {
            if (!isfinite(json_number_value(v)))
                return mlops__error(MLOPS_EINVAL, "%s.%s: not a finite number", what, k);
            continue;
        }
        if (allow_null && json_is_null(v))
            continue;
        if (!json_is_object(v))
            return mlops__error(MLOPS_EINVAL,
                                "%s.%s: expected a number or an object of numbers (per split), "
                                "got %s", what, k, mlops__json_type_name(v));
        const char *k2;
        json_t *v2;
        json_object_foreach(v, k2, v2) {
            if (!mm_key_ok(k2, strlen(k2)))
                return mlops__error(MLOPS_EINVAL, "%s.%s: name '%s' is not allowed", what, k, k2);
            if (!json_is_number(v2))
                return mlops__error(MLOPS_EINVAL, "%s.%s.%s: expected a number, got %s", what, k,
                                    k2, mlops__json_type_name(v2));
        }
    }
    return MLOPS_OK;
}

static int check_tags(const json_t *tags, const char *what, bool allow_null)
{
    if (!json_is_object(tags))
        return mlops__error(MLOPS_EINVAL, "%s: expected an object, got %s", what,
                            mlops__json_type_name(tags));
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)tags, k, v) {
        if (!mm_key_ok(k, strlen(k)))
            return mlops__error(MLOPS_EINVAL,
                                "%s: key '%s' must be 1..63 letters, digits, '_' or '-'", what, k);
        if (!json_is_string(v) && !(allow_null && json_is_null(v)))
            return mlops__error(MLOPS_EINVAL, "%s.%s: expected a string, got %s", what, k,
                                mlops__json_type_name(v));
    }
    return MLOPS_OK;
}

static bool status_ok(const char *s)
{
    static const char *const ok[] = {"pending", "ready", "archived", "failed"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(ok); i++)
        if (strcmp(s, ok[i]) == 0)
            return true;
    return false;
}

static const mlops__json_field spec_fields[] = {
    {"uri", MLOPS__J_STRING, true},         {"format", MLOPS__J_STRING, false},
    {"params", MLOPS__J_OBJECT, false},     {"metrics", MLOPS__J_OBJECT, false},
    {"tags", MLOPS__J_OBJECT, false},       {"description", MLOPS__J_STRING, false},
    {"lineage", MLOPS__J_OBJECT, false},    {"status", MLOPS__J_STRING, false},
    {"hash", MLOPS__J_STRING, false},       {"size", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static const mlops__json_field lineage_fields[] = {
    {"source_run", MLOPS__J_NULLABLE_STRING, false},
    {"dataset_hash", MLOPS__J_NULLABLE_STRING, false},
    {"parent_version", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static int dump_or_default(const json_t *v, const char *def, char **out)
{
    if (!v) {
        *out = mlops__strdup(def);
        return *out ? MLOPS_OK : mlops__error_oom("version");
    }
    return mlops__json_dump(v, out);
}

int mlops__models_register(mlops__models *m, const char *name, const json_t *spec,
                           int64_t *out_version)
{
    *out_version = 0;
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mlops__json_check_fields(spec, "version", spec_fields, MLOPS_EINVAL);
    const json_t *lineage = json_object_get(spec, "lineage");
    if (rc == MLOPS_OK && lineage)
        rc = mlops__json_check_fields(lineage, "version.lineage", lineage_fields, MLOPS_EINVAL);
    if (rc == MLOPS_OK && json_object_get(spec, "metrics"))
        rc = check_metrics(json_object_get(spec, "metrics"), "version.metrics", false);
    if (rc == MLOPS_OK && json_object_get(spec, "tags"))
        rc = check_tags(json_object_get(spec, "tags"), "version.tags", false);
    if (rc != MLOPS_OK)
        return rc;
    const char *uri = mlops__json_str(spec, "uri", "");
    const char *status = mlops__json_str(spec, "status", "ready");
    if (!*uri)
        return mlops__error(MLOPS_EINVAL, "version.uri: must not be empty");
    if (!status_ok(status))
        return mlops__error(MLOPS_EINVAL,
                            "version.status: '%s' is not one of pending, ready, archived, failed",
                            status);
    int64_t parent = mlops__json_int(lineage, "parent_version", 0);
    if (lineage && json_object_get(lineage, "parent_version") && parent < 1)
        return mlops__error(MLOPS_EINVAL, "version.lineage.parent_version: must be >= 1");

    /* The artifact is hashed before the transaction: file I/O must not hold the lock. */
    char *hash = NULL, *path = NULL;
    int64_t size = mlops__json_int(spec, "size", -1);
    const char *given = mlops__json_str(spec, "hash", NULL);
    if (mm_uri_local_path(uri, &path)) {
        rc = mm_hash_file(path, m->max_artifact_bytes, &hash, &size);
        if (rc == MLOPS_OK && given && strcmp(given, hash) != 0)
            rc = mlops__error(MLOPS_ECORRUPT,
                              "artifact '%s': given hash %s does not match the file's %s", path,
                              given, hash);
        free(path);
        if (rc != MLOPS_OK) {
            free(hash);
            return rc;
        }
    } else if (given && !(hash = mlops__strdup(given))) {
        return mlops__error_oom("version");
    }
    char *params = NULL, *metrics = NULL, *tags = NULL;
    rc = dump_or_default(json_object_get(spec, "params"), "{}", &params);
    if (rc == MLOPS_OK)
        rc = dump_or_default(json_object_get(spec, "metrics"), "{}", &metrics);
    if (rc == MLOPS_OK)
        rc = dump_or_default(json_object_get(spec, "tags"), "{}", &tags);
    if (rc != MLOPS_OK)
        goto out;

    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        goto out;
    sqlite3_stmt *s;
    int64_t id = 0, version = 0;
    rc = mlops__store_prepare(m->store,
                              "INSERT INTO models(name, created_ms) VALUES(?1, ?2)"
                              " ON CONFLICT(name) DO NOTHING",
                              &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 2, mlops__wall_ms());
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "models");
    }
    if (rc == MLOPS_OK)
        rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK && parent > 0)
        rc = mm_version_exists(m, id, name, parent);
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(
            m->store, "SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE model_id=?1",
            &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        int step = sqlite3_step(s);
        version = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_reset(s);
        if (step != SQLITE_ROW)
            rc = mlops__store_error(m->store, step, "model_versions");
    }
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(
            m->store,
            "INSERT INTO model_versions(model_id, version, uri, hash, size, format, params,"
            " metrics, tags, description, source_run, dataset_hash, parent_version, status,"
            " created_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, version);
        sqlite3_bind_text(s, 3, uri, -1, SQLITE_STATIC);
        mlops__sql_bind_text(s, 4, hash);
        if (size >= 0)
            sqlite3_bind_int64(s, 5, size);
        sqlite3_bind_text(s, 6, mlops__json_str(spec, "format", ""), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 7, params, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, metrics, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 9, tags, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 10, mlops__json_str(spec, "description", ""), -1, SQLITE_STATIC);
        mlops__sql_bind_text(s, 11, mlops__json_str(lineage, "source_run", NULL));
        mlops__sql_bind_text(s, 12, mlops__json_str(lineage, "dataset_hash", NULL));
        if (parent > 0)
            sqlite3_bind_int64(s, 13, parent);
        sqlite3_bind_text(s, 14, status, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 15, mlops__wall_ms());
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_versions");
    }
    if (rc == MLOPS_OK)
        rc = mm_audit(m, name, "register", version, NULL, false, NULL, NULL);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        goto out;
    }
    rc = mlops__store_commit(m->store);
    if (rc == MLOPS_OK) {
        *out_version = version;
        mm_invalidate(m);
    }
out:
    free(hash);
    free(params);
    free(metrics);
    free(tags);
    return rc;
}

/* Lock held: resolves a reference to (model id, version). */
static int resolve_ref(mlops__models *m, const char *ref, int64_t *id, int64_t *version,
                       char **name_out)
{
    char *name = NULL, *alias = NULL;
    int64_t v = 0;
    int rc = mm_ref_parse(ref, &name, &v, &alias);
    if (rc != MLOPS_OK)
        return rc;
    rc = mm_model_id(m, name, id);
    if (rc == MLOPS_OK && !v) {
        rc = mm_alias_get(m, *id, alias ? alias : "latest", &v);
        if (rc == MLOPS_OK && !v)
            rc = alias ? mlops__error(MLOPS_ENOTFOUND, "model '%s' has no alias '%s'", name, alias)
                       : mlops__error(MLOPS_ENOTFOUND, "model '%s' has no versions", name);
    } else if (rc == MLOPS_OK) {
        rc = mm_version_exists(m, *id, name, v);
    }
    free(alias);
    if (rc != MLOPS_OK) {
        free(name);
        return rc;
    }
    *version = v;
    if (name_out)
        *name_out = name;
    else
        free(name);
    return MLOPS_OK;
}

static int load_version(mlops__models *m, int64_t id, int64_t version, json_t **out)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT " VERSION_COLS " FROM model_versions v JOIN models m"
                                  " ON m.id=v.model_id WHERE v.model_id=?1 AND v.version=?2",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_int64(s, 2, version);
    bool found;
    rc = mlops__store_step_row(m->store, s, "model_versions", &found);
    if (rc == MLOPS_OK && found)
        rc = (*out = version_json(s)) ? MLOPS_OK : mlops__error_oom("version");
    else if (rc == MLOPS_OK)
        rc = mlops__error(MLOPS_ENOTFOUND, "version %lld not found", (long long)version);
    sqlite3_reset(s);
    return rc;
}

int mlops__models_get(mlops__models *m, const char *ref, json_t **out)
{
    *out = NULL;
    mlops__store_lock(m->store);
    int64_t id, version;
    int rc = resolve_ref(m, ref, &id, &version, NULL);
    if (rc == MLOPS_OK)
        rc = load_version(m, id, version, out);
    mlops__store_unlock(m->store);
    return rc;
}

/* One row of the list query (name, created_ms, versions, latest, aliases). */
static json_t *model_json(sqlite3_stmt *s)
{
    char at[32];
    mlops__format_time(sqlite3_column_int64(s, 1), at);
    return json_pack("{s:s, s:s, s:I, s:o, s:o}", "name", (const char *)sqlite3_column_text(s, 0),
                     "created_at", at, "versions", (json_int_t)sqlite3_column_int64(s, 2),
                     "latest", col_int_or_null(s, 3), "aliases", col_json(s, 4, "{}"));
}

int mlops__models_list(mlops__models *m, json_t **out)
{
    *out = NULL;
    json_t *arr = json_array();
    if (!arr)
        return mlops__error_oom("list");
    mlops__store_lock(m->store);
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(
        m->store,
        "SELECT m.name, m.created_ms, (SELECT COUNT(*) FROM model_versions v WHERE"
        " v.model_id=m.id), (SELECT MAX(version) FROM model_versions v WHERE v.model_id=m.id),"
        " (SELECT json_group_object(alias, version) FROM model_aliases a WHERE a.model_id=m.id)"
        " FROM models m ORDER BY m.name",
        &s);
    if (rc == MLOPS_OK) {
        rc = mlops__store_rows_json(m->store, s, model_json, arr, "list", "models");
        sqlite3_reset(s);
    }
    mlops__store_unlock(m->store);
    return give_array(rc, arr, out);
}

int mlops__models_search(mlops__models *m, const char *filter, int64_t limit, json_t **out)
{
    *out = NULL;
    mlops__filter *f = NULL;
    int rc = MLOPS_OK;
    if (filter && *filter && (rc = mlops__filter_compile(filter, &f)) != MLOPS_OK)
        return rc;
    char *sql = mlops__sprintf("SELECT " VERSION_COLS " FROM model_versions v JOIN models m ON"
                               " m.id=v.model_id WHERE %s ORDER BY m.name, v.version LIMIT %lld",
                               f ? f->sql : "1", (long long)(limit > 0 ? limit : -1));
    json_t *arr = json_array();
    if (!sql || !arr) {
        free(sql);
        json_decref(arr);
        mlops__filter_free(f);
        return mlops__error_oom("search");
    }
    sqlite3 *db = mlops__store_lock(m->store);
    sqlite3_stmt *s = NULL;
    /* Dynamic SQL (its shape depends on the filter): prepared and finalized here. The
     * values are bound, never pasted. */
    int src = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (src != SQLITE_OK)
        rc = mlops__store_error(m->store, src, "search");
    for (size_t i = 0; f && rc == MLOPS_OK && i < f->nparams; i++) {
        const mlops__filter_param *p = &f->params[i];
        int b = p->type == SQLITE_TEXT      ? sqlite3_bind_text(s, (int)i + 1, p->text, -1,
                                                                SQLITE_STATIC)
                : p->type == SQLITE_INTEGER ? sqlite3_bind_int64(s, (int)i + 1, p->i)
                                            : sqlite3_bind_double(s, (int)i + 1, p->d);
        if (b != SQLITE_OK)
            rc = mlops__store_error(m->store, b, "search");
    }
    if (rc == MLOPS_OK)
        rc = mlops__store_rows_json(m->store, s, version_json, arr, "search", "search");
    sqlite3_finalize(s);
    mlops__store_unlock(m->store);
    free(sql);
    mlops__filter_free(f);
    return give_array(rc, arr, out);
}

static const mlops__json_field patch_fields[] = {
    {"metrics", MLOPS__J_OBJECT, false},     {"tags", MLOPS__J_OBJECT, false},
    {"description", MLOPS__J_STRING, false}, {"status", MLOPS__J_STRING, false},
    {"params", MLOPS__J_OBJECT, false},      {NULL, 0, false},
};

/* Merges `patch` into the JSON text `old` (null values remove keys). */
static int merge_text(const char *old, const json_t *patch, char **out)
{
    json_t *o = json_loads(old ? old : "{}", 0, NULL);
    if (!o)
        o = json_object();
    if (!o)
        return mlops__error_oom("update");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)patch, k, v) {
        if (json_is_null(v))
            json_object_del(o, k);
        else
            json_object_set(o, k, v);
    }
    return mlops__json_dump_steal(o, out);
}

int mlops__models_update(mlops__models *m, const char *name, int64_t version,
                         const json_t *patch)
{
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mlops__json_check_fields(patch, "patch", patch_fields, MLOPS_EINVAL);
    if (rc == MLOPS_OK && json_object_get(patch, "metrics"))
        rc = check_metrics(json_object_get(patch, "metrics"), "patch.metrics", true);
    if (rc == MLOPS_OK && json_object_get(patch, "tags"))
        rc = check_tags(json_object_get(patch, "tags"), "patch.tags", true);
    const char *status = mlops__json_str(patch, "status", NULL);
    if (rc == MLOPS_OK && status && !status_ok(status))
        rc = mlops__error(MLOPS_EINVAL,
                          "patch.status: '%s' is not one of pending, ready, archived, failed",
                          status);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        return rc;
    int64_t id;
    sqlite3_stmt *s;
    char *cols[3] = {NULL, NULL, NULL};
    static const char *const names[3] = {"metrics", "tags", "params"};
    rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK)
        rc = mm_version_exists(m, id, name, version);
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(m->store,
                                  "SELECT metrics, tags, params FROM model_versions WHERE"
                                  " model_id=?1 AND version=?2",
                                  &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, version);
        if (sqlite3_step(s) == SQLITE_ROW) {
            for (int i = 0; i < 3 && rc == MLOPS_OK; i++) {
                const json_t *p = json_object_get(patch, names[i]);
                if (p)
                    rc = merge_text((const char *)sqlite3_column_text(s, i), p, &cols[i]);
            }
        }
        sqlite3_reset(s);
    }
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(
            m->store,
            "UPDATE model_versions SET metrics=COALESCE(?3, metrics), tags=COALESCE(?4, tags),"
            " params=COALESCE(?5, params), description=COALESCE(?6, description),"
            " status=COALESCE(?7, status) WHERE model_id=?1 AND version=?2",
            &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_int64(s, 2, version);
        mlops__sql_bind_text(s, 3, cols[0]);
        mlops__sql_bind_text(s, 4, cols[1]);
        mlops__sql_bind_text(s, 5, cols[2]);
        mlops__sql_bind_text(s, 6, mlops__json_str(patch, "description", NULL));
        mlops__sql_bind_text(s, 7, status);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_versions");
    }
    if (rc == MLOPS_OK)
        rc = mm_audit(m, name, "update", version, NULL, false, NULL, patch);
    for (int i = 0; i < 3; i++)
        free(cols[i]);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        return rc;
    }
    return mlops__store_commit(m->store);
}

int mlops__models_verify(mlops__models *m, const char *ref, json_t **out)
{
    *out = NULL;
    json_t *v = NULL;
    int rc = mlops__models_get(m, ref, &v);
    if (rc != MLOPS_OK)
        return rc;
    const char *uri = json_string_value(json_object_get(v, "uri"));
    const char *want = json_string_value(json_object_get(v, "hash"));
    char *path = NULL, *got = NULL;
    int64_t size = 0;
    if (!mm_uri_local_path(uri, &path)) {
        rc = mlops__error(MLOPS_EUNSUPPORTED,
                          "%s: artifact '%s' is not a local file; only file:// URIs and plain "
                          "paths can be verified", ref, uri);
    } else if (!want) {
        rc = mlops__error(MLOPS_ENOTFOUND, "%s: no hash was recorded for '%s'", ref, path);
    } else if ((rc = mm_hash_file(path, m->max_artifact_bytes, &got, &size)) == MLOPS_OK &&
               strcmp(got, want) != 0) {
        rc = mlops__error(MLOPS_ECORRUPT,
                          "%s: artifact '%s' no longer matches: registered %s, file now has %s",
                          ref, path, want, got);
    }
    if (rc == MLOPS_OK) {
        *out = json_pack("{s:s, s:I, s:s, s:s, s:I, s:b}", "name",
                         json_string_value(json_object_get(v, "name")), "version",
                         json_integer_value(json_object_get(v, "version")), "path", path,
                         "hash", got, "size", (json_int_t)size, "ok", 1);
        if (!*out)
            rc = mlops__error_oom("verify");
    }
    free(path);
    free(got);
    json_decref(v);
    return rc;
}

int mlops__models_remove_alias(mlops__models *m, const char *name, const char *alias,
                               const char *reason)
{
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mm_alias_check(alias, true);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        return rc;
    int64_t id, version = 0;
    rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK)
        rc = mm_alias_get(m, id, alias, &version);
    if (rc == MLOPS_OK && !version)
        rc = mlops__error(MLOPS_ENOTFOUND, "model '%s' has no alias '%s'", name, alias);
    if (rc == MLOPS_OK)
        rc = mm_alias_free(m, id, name, alias);
    if (rc == MLOPS_OK)
        rc = mm_alias_set(m, id, alias, 0);
    if (rc == MLOPS_OK)
        rc = mm_audit(m, name, "remove_alias", version, alias, false, reason, NULL);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        return rc;
    }
    rc = mlops__store_commit(m->store);
    mm_invalidate(m);
    return rc;
}
