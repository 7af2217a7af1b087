/* mlops_open / mlops_close: configuration, the store, and the module lifecycle. */
#include "api.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MODULES 32

static const mlops__migration core_migrations[] = {
    {1, "CREATE TABLE mlops_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO mlops_meta(key, value) VALUES('created_by', 'libmlops');"},
};

static const mlops__schema core_schema = {"core", core_migrations,
                                          MLOPS__ARRAY_LEN(core_migrations)};

static const mlops__json_field core_fields[] = {
    {"busy_timeout_ms", MLOPS__J_INTEGER, false},
    {"log_level", MLOPS__J_STRING, false},
    {"threads", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

/* Checks the top-level keys: core's own, then one object per known module. */
static int check_config(const json_t *cfg)
{
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)cfg, key, val) {
        bool known = false;
        for (const mlops__json_field *f = core_fields; f->name; f++)
            known = known || strcmp(f->name, key) == 0;
        for (size_t i = 1; i < mlops__modules_count && !known; i++) {
            if (strcmp(mlops__modules[i]->name, key) == 0) {
                known = true;
                if (!json_is_object(val))
                    return mlops__error(MLOPS_ECONFIG, "config.%s: expected object, got %s",
                                        key, mlops__json_type_name(val));
            }
        }
        if (!known)
            return mlops__error(MLOPS_ECONFIG, "config: unknown key '%s'", key);
    }
    json_t *core_only = json_object();
    if (!core_only)
        return mlops__error_oom("config");
    for (const mlops__json_field *f = core_fields; f->name; f++) {
        json_t *v = json_object_get(cfg, f->name);
        if (v)
            json_object_set(core_only, f->name, v);
    }
    int rc = mlops__json_check_fields(core_only, "config", core_fields, MLOPS_ECONFIG);
    json_decref(core_only);
    if (rc != MLOPS_OK)
        return rc;
    int64_t busy = mlops__json_int(cfg, "busy_timeout_ms", 5000);
    if (busy < 0 || busy > 3600000)
        return mlops__error(MLOPS_ECONFIG, "config.busy_timeout_ms: %lld is outside 0..3600000",
                            (long long)busy);
    const char *level = mlops__json_str(cfg, "log_level", "warn");
    if (mlops__log_level_parse(level) < 0)
        return mlops__error(MLOPS_ECONFIG,
                            "config.log_level: '%s' is not one of error, warn, info, debug",
                            level);
    int64_t threads = mlops__json_int(cfg, "threads", 1);
    if (threads < 1 || threads > 256)
        return mlops__error(MLOPS_ECONFIG, "config.threads: %lld is outside 1..256",
                            (long long)threads);
    for (size_t i = 1; i < mlops__modules_count; i++) {
        const mlops__module *m = mlops__modules[i];
        if (m->check_config) {
            rc = m->check_config(json_object_get(cfg, m->name));
            if (rc != MLOPS_OK)
                return rc;
        }
    }
    return MLOPS_OK;
}

static int parse_config(const char *text, json_t **out)
{
    *out = NULL;
    json_t *cfg = NULL;
    if (!text || !*text) {
        cfg = json_object();
        if (!cfg)
            return mlops__error_oom("config");
    } else {
        int rc = mlops__json_parse(text, "config", &cfg);
        if (rc != MLOPS_OK) {
            char detail[512];
            snprintf(detail, sizeof detail, "%s", mlops__error_text());
            return mlops__error(MLOPS_ECONFIG, "%s", detail);
        }
        if (!json_is_object(cfg)) {
            rc = mlops__error(MLOPS_ECONFIG, "config: expected a JSON object, got %s",
                              mlops__json_type_name(cfg));
            json_decref(cfg);
            return rc;
        }
    }
    int rc = check_config(cfg);
    if (rc != MLOPS_OK) {
        json_decref(cfg);
        return rc;
    }
    *out = cfg;
    return MLOPS_OK;
}

static void close_modules(mlops_t *h, size_t opened)
{
    while (opened-- > 0)
        if (mlops__modules[opened]->close)
            mlops__modules[opened]->close(h);
}

static void handle_free(mlops_t *h)
{
    mlops__pool_destroy(h->pool);
    mlops__store_close(h->store);
    json_decref(h->config);
    mlops__mutex_destroy(&h->pool_lock);
    mlops__logger_destroy(&h->logger);
    free(h);
}

MLOPS_API int mlops_open(const char *path, const char *config_json, mlops_t **out)
{
    if (!out)
        return mlops__error(MLOPS_EINVAL, "mlops_open: out is NULL");
    *out = NULL;
    if (!path)
        return mlops__error(MLOPS_EINVAL, "mlops_open: path is NULL");
    if (!*path)
        return mlops__error(MLOPS_EINVAL, "mlops_open: path is empty");

    json_t *cfg = NULL;
    int rc = parse_config(config_json, &cfg);
    if (rc != MLOPS_OK)
        return rc;

    mlops_t *h = calloc(1, sizeof *h);
    if (!h) {
        json_decref(cfg);
        return mlops__error_oom("handle");
    }
    h->config = cfg;
    h->threads = (int)mlops__json_int(cfg, "threads", mlops__cpu_count());
    mlops__logger_init(&h->logger,
                       mlops__log_level_parse(mlops__json_str(cfg, "log_level", "warn")));
    mlops__mutex_init(&h->pool_lock);

    const mlops__schema *schemas[MAX_MODULES];
    size_t nschemas = 0;
    for (size_t i = 0; i < mlops__modules_count && nschemas < MAX_MODULES; i++)
        if (mlops__modules[i]->schema)
            schemas[nschemas++] = mlops__modules[i]->schema;

    mlops__store_opts opts = {(int)mlops__json_int(cfg, "busy_timeout_ms", 5000), &h->logger};
    rc = mlops__store_open(path, &opts, schemas, nschemas, &h->store);
    if (rc != MLOPS_OK) {
        handle_free(h);
        return rc;
    }
    size_t opened = 0;
    for (; opened < mlops__modules_count; opened++) {
        const mlops__module *m = mlops__modules[opened];
        if (m->open && (rc = m->open(h, json_object_get(cfg, m->name))) != MLOPS_OK) {
            mlops__error_wrap(rc, "opening module '%s'", m->name);
            close_modules(h, opened);
            handle_free(h);
            return rc;
        }
    }
    *out = h;
    return MLOPS_OK;
}

MLOPS_API void mlops_close(mlops_t *h)
{
    if (!h)
        return;
    close_modules(h, mlops__modules_count);
    handle_free(h);
}

MLOPS_API int mlops_set_log_callback(mlops_t *h, mlops_log_fn fn, void *user_data)
{
    int rc = mlops__api_check_handle(h, "mlops_set_log_callback");
    if (rc != MLOPS_OK)
        return rc;
    mlops__logger_set(&h->logger, fn, user_data);
    return MLOPS_OK;
}

int mlops__api_pool(mlops_t *h, mlops__pool **out)
{
    int rc = MLOPS_OK;
    mlops__mutex_lock(&h->pool_lock);
    if (!h->pool)
        rc = mlops__pool_create(h->threads, &h->pool);
    *out = h->pool;
    mlops__mutex_unlock(&h->pool_lock);
    return rc;
}

static int schema_versions(mlops_t *h, json_t *schema, json_int_t *user_version,
                           const char **journal)
{
    sqlite3 *db = mlops__store_lock(h->store);
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, "SELECT module, version FROM mlops_schema ORDER BY module",
                                -1, &s, NULL);
    while (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        json_object_set_new(schema, (const char *)sqlite3_column_text(s, 0),
                            json_integer(sqlite3_column_int(s, 1)));
    sqlite3_finalize(s);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        *user_version = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL);
    if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        *journal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0 ? "wal" : "memory";
    sqlite3_finalize(s);
    int result = rc == SQLITE_OK ? MLOPS_OK : mlops__store_error(h->store, rc, "mlops_info");
    mlops__store_unlock(h->store);
    return result;
}

MLOPS_API int mlops_info(mlops_t *h, char **out)
{
    int rc = mlops__api_check_handle(h, "mlops_info");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_info", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *schema = json_object();
    json_int_t user_version = 0;
    const char *journal = "unknown";
    rc = schema ? schema_versions(h, schema, &user_version, &journal) : mlops__error_oom("info");
    if (rc != MLOPS_OK) {
        json_decref(schema);
        return rc;
    }
    json_t *info = json_pack("{s:s, s:s, s:o, s:I, s:s, s:i}", "path",
                             mlops__store_path(h->store), "version", mlops_version(), "schema",
                             schema, "user_version", user_version, "journal_mode", journal,
                             "threads", h->threads);
    return mlops__json_dump_steal(info, out);
}

const mlops__module mlops__api_core_module = {
    "core", &core_schema, NULL, NULL, NULL,
};
