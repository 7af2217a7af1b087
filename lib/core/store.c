/*
 * The SQLite store: one connection per handle behind a mutex, WAL mode, foreign keys,
 * a busy timeout, and per-module schema migrations.
 *
 * Schema versions: table mlops_schema(module, version) records how far each module's
 * migrations have run; PRAGMA user_version holds their sum so that outside tools (and
 * a quick first check) see one number. A database whose modules or versions are
 * unknown to this build was written by a newer libmlops and is refused untouched.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STMT_CACHE_MAX 256

typedef struct cached_stmt {
    const char *key;
    sqlite3_stmt *stmt;
} cached_stmt;

struct mlops__store {
    sqlite3 *db;
    char *path;
    mlops__mutex lock;
    mlops__logger *logger;
    cached_stmt stmts[STMT_CACHE_MAX];
    int nstmts;
    sqlite3_int64 changes_seen; /* total_changes at the last unlock */
    _Atomic uint64_t local_changes; /* bumped when this connection changed rows */
    _Atomic uint64_t data_version;  /* last PRAGMA data_version read */
};

static bool is_memory_path(const char *path)
{
    return strcmp(path, ":memory:") == 0;
}

/* Checks the path before SQLite touches it, so that errors name the real problem. */
static int check_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return mlops__error(MLOPS_EIO, "store path '%s' is a directory, not a file", path);
        if (access(path, R_OK | W_OK) != 0)
            return mlops__error(MLOPS_EIO, "store file '%s' is not readable and writable: %s",
                                path, strerror(errno));
        if (st.st_size == 0)
            return MLOPS_OK;
        char head[16] = {0};
        int fd = open(path, O_RDONLY);
        if (fd < 0)
            return mlops__error(MLOPS_EIO, "store file '%s': %s", path, strerror(errno));
        ssize_t n = read(fd, head, sizeof head);
        close(fd);
        if (n != (ssize_t)sizeof head || memcmp(head, "SQLite format 3", 16) != 0)
            return mlops__error(MLOPS_ECORRUPT,
                                "store file '%s' is not an SQLite database (bad header)", path);
        return MLOPS_OK;
    }
    if (errno != ENOENT)
        return mlops__error(MLOPS_EIO, "store path '%s': %s", path, strerror(errno));
    char *dir = mlops__strdup(path);
    if (!dir)
        return mlops__error_oom("path");
    char *slash = strrchr(dir, '/');
    const char *parent = ".";
    if (slash) {
        if (slash == dir)
            slash[1] = '\0';
        else
            *slash = '\0';
        parent = dir;
    }
    int rc = MLOPS_OK;
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        rc = mlops__error(MLOPS_EIO, "store path '%s': directory '%s' does not exist", path,
                          parent);
    else if (access(parent, W_OK | X_OK) != 0)
        rc = mlops__error(MLOPS_EIO, "store path '%s': directory '%s' is not writable", path,
                          parent);
    free(dir);
    return rc;
}

int mlops__store_error(mlops__store *st, int rc, const char *what)
{
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc);
    int code = MLOPS_ESTORE;
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED: code = MLOPS_EBUSY; break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB: code = MLOPS_ECORRUPT; break;
    case SQLITE_NOMEM: code = MLOPS_ENOMEM; break;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_FULL: code = MLOPS_EIO; break;
    case SQLITE_CONSTRAINT:
        if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
            code = MLOPS_EEXIST;
        break;
    default: break;
    }
    return mlops__error(code, "%s: %s", what, msg);
}

sqlite3 *mlops__store_lock(mlops__store *st)
{
    mlops__mutex_lock(&st->lock);
    return st->db;
}

void mlops__store_unlock(mlops__store *st)
{
    /* A statement left mid-row keeps a read transaction open on the connection; another
       process's write would then make our next BEGIN IMMEDIATE fail at once with BUSY
       (no busy-timeout retry applies to a stale snapshot). Reset them all here. */
    for (sqlite3_stmt *s = sqlite3_next_stmt(st->db, NULL); s; s = sqlite3_next_stmt(st->db, s))
        if (sqlite3_stmt_busy(s))
            sqlite3_reset(s);
    sqlite3_int64 total = sqlite3_total_changes64(st->db);
    if (total != st->changes_seen) {
        st->changes_seen = total;
        atomic_fetch_add(&st->local_changes, 1);
    }
    mlops__mutex_unlock(&st->lock);
}

int mlops__store_exec(mlops__store *st, const char *sql)
{
    char *err = NULL;
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, &err);
    if (rc != SQLITE_OK) {
        int code = mlops__store_error(st, rc, "store");
        sqlite3_free(err);
        return code;
    }
    return MLOPS_OK;
}

int mlops__store_begin(mlops__store *st)
{
    mlops__store_lock(st);
    int rc = mlops__store_exec(st, "BEGIN IMMEDIATE");
    if (rc != MLOPS_OK) {
        mlops__error_wrap(rc, "could not start a write transaction");
        mlops__store_unlock(st);
    }
    return rc;
}

int mlops__store_commit(mlops__store *st)
{
    int rc = sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = mlops__store_error(st, rc, "commit");
        if (!sqlite3_get_autocommit(st->db))
            sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        mlops__store_unlock(st);
        return code;
    }
    mlops__store_unlock(st);
    return MLOPS_OK;
}

void mlops__store_rollback(mlops__store *st)
{
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    mlops__store_unlock(st);
}

int mlops__store_prepare(mlops__store *st, const char *sql, sqlite3_stmt **out)
{
    *out = NULL;
    for (int i = 0; i < st->nstmts; i++) {
        if (st->stmts[i].key == sql && strcmp(sqlite3_sql(st->stmts[i].stmt), sql) == 0) {
            sqlite3_reset(st->stmts[i].stmt);
            sqlite3_clear_bindings(st->stmts[i].stmt);
            *out = st->stmts[i].stmt;
            return MLOPS_OK;
        }
    }
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
    if (rc != SQLITE_OK)
        return mlops__store_error(st, rc, "prepare");
    if (st->nstmts == STMT_CACHE_MAX) {
        /* Full: drop the oldest entry. Only possible with non-literal SQL. */
        sqlite3_finalize(st->stmts[0].stmt);
        memmove(&st->stmts[0], &st->stmts[1], sizeof st->stmts[0] * (STMT_CACHE_MAX - 1));
        st->nstmts--;
    }
    st->stmts[st->nstmts].key = sql;
    st->stmts[st->nstmts].stmt = stmt;
    st->nstmts++;
    *out = stmt;
    return MLOPS_OK;
}

int mlops__sql_bind_text(sqlite3_stmt *stmt, int idx, const char *s)
{
    return s ? sqlite3_bind_text(stmt, idx, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(stmt, idx);
}

char *mlops__sql_column_dup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *t = sqlite3_column_text(stmt, col);
    return t ? mlops__strndup((const char *)t, (size_t)sqlite3_column_bytes(stmt, col)) : NULL;
}

uint64_t mlops__store_change_counter(mlops__store *st)
{
    /* data_version changes when another connection commits; local_changes when we do. */
    mlops__store_lock(st);
    sqlite3_stmt *s = NULL;
    if (mlops__store_prepare(st, "PRAGMA data_version", &s) == MLOPS_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        atomic_store(&st->data_version, (uint64_t)sqlite3_column_int64(s, 0));
    if (s)
        sqlite3_reset(s);
    mlops__store_unlock(st);
    return (atomic_load(&st->data_version) << 32) ^ atomic_load(&st->local_changes);
}

const char *mlops__store_path(const mlops__store *st)
{
    return st->path;
}

static bool table_exists(mlops__store *st, const char *name, int *rc_out)
{
    sqlite3_stmt *s = NULL;
    *rc_out = sqlite3_prepare_v2(st->db,
                                 "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?1",
                                 -1, &s, NULL);
    if (*rc_out != SQLITE_OK)
        return false;
    sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    bool found = step == SQLITE_ROW;
    *rc_out = (step == SQLITE_ROW || step == SQLITE_DONE) ? SQLITE_OK : step;
    sqlite3_finalize(s);
    return found;
}

int mlops__store_module_version(mlops__store *st, const char *module)
{
    sqlite3_stmt *s = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT version FROM mlops_schema WHERE module=?1", -1, &s,
                           NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(s, 1, module, -1, SQLITE_STATIC);
    if (sqlite3_step(s) == SQLITE_ROW)
        version = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return version;
}

static const mlops__schema *find_schema(const mlops__schema *const *schemas, size_t n,
                                        const char *module)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(schemas[i]->module, module) == 0)
            return schemas[i];
    return NULL;
}

static int64_t known_total(const mlops__schema *const *schemas, size_t n)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += (int64_t)schemas[i]->count;
    return total;
}

/*
 * Reads (never writes) what the file says about itself and refuses anything this build
 * does not understand. Runs before WAL or migrations touch the file.
 */
static int check_existing_schema(mlops__store *st, const mlops__schema *const *schemas,
                                 size_t n)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return mlops__store_error(st, rc, "store file unreadable");
    rc = sqlite3_step(s);
    int64_t user_version = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    sqlite3_finalize(s);
    if (rc != SQLITE_ROW)
        return mlops__store_error(st, rc, "store file unreadable");

    bool has_schema = table_exists(st, "mlops_schema", &rc);
    if (rc != SQLITE_OK)
        return mlops__store_error(st, rc, "store file unreadable");
    if (!has_schema) {
        bool has_tables = false;
        rc = sqlite3_prepare_v2(st->db, "SELECT count(*) FROM sqlite_master", -1, &s, NULL);
        if (rc == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
            has_tables = sqlite3_column_int(s, 0) > 0;
        sqlite3_finalize(s);
        if (has_tables || user_version != 0)
            return mlops__error(MLOPS_ESCHEMA,
                                "store file '%s' is an SQLite database of another application "
                                "(no mlops_schema table); refusing to modify it",
                                st->path);
        return MLOPS_OK;
    }
    if (user_version > known_total(schemas, n))
        return mlops__error(MLOPS_ESCHEMA,
                            "store file '%s' has schema version %lld, newer than this libmlops "
                            "(%s) knows (%lld); upgrade libmlops",
                            st->path, (long long)user_version, mlops_version(),
                            (long long)known_total(schemas, n));
    rc = sqlite3_prepare_v2(st->db, "SELECT module, version FROM mlops_schema", -1, &s, NULL);
    if (rc != SQLITE_OK)
        return mlops__store_error(st, rc, "mlops_schema");
    int result = MLOPS_OK;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && result == MLOPS_OK) {
        const char *module = (const char *)sqlite3_column_text(s, 0);
        int version = sqlite3_column_int(s, 1);
        const mlops__schema *sch = find_schema(schemas, n, module ? module : "");
        if (!sch)
            result = mlops__error(MLOPS_ESCHEMA,
                                  "store file '%s' contains module '%s' unknown to this "
                                  "libmlops (%s); upgrade libmlops",
                                  st->path, module ? module : "(null)", mlops_version());
        else if (version > (int)sch->count)
            result = mlops__error(MLOPS_ESCHEMA,
                                  "store file '%s': module '%s' is at schema version %d, newer "
                                  "than this libmlops knows (%zu); upgrade libmlops",
                                  st->path, module, version, sch->count);
    }
    if (result == MLOPS_OK && rc != SQLITE_DONE)
        result = mlops__store_error(st, rc, "mlops_schema");
    sqlite3_finalize(s);
    return result;
}

static int apply_migrations(mlops__store *st, const mlops__schema *const *schemas, size_t n)
{
    int rc = mlops__store_begin(st);
    if (rc != MLOPS_OK)
        return rc;
    rc = mlops__store_exec(st, "CREATE TABLE IF NOT EXISTS mlops_schema("
                               " module TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                               " applied_at_ms INTEGER NOT NULL)");
    /* Another process may have migrated between our check and our lock: re-check. */
    if (rc == MLOPS_OK)
        rc = check_existing_schema(st, schemas, n);
    int64_t total = 0;
    for (size_t i = 0; i < n && rc == MLOPS_OK; i++) {
        const mlops__schema *sch = schemas[i];
        int have = mlops__store_module_version(st, sch->module);
        for (size_t k = (size_t)have; k < sch->count && rc == MLOPS_OK; k++) {
            if (sch->steps[k].version != (int)k + 1) {
                rc = mlops__error(MLOPS_EINTERNAL, "module '%s': migration %zu is numbered %d",
                                  sch->module, k + 1, sch->steps[k].version);
                break;
            }
            rc = mlops__store_exec(st, sch->steps[k].sql);
            if (rc != MLOPS_OK)
                mlops__error_wrap(rc, "migration %s/%d", sch->module, sch->steps[k].version);
            else
                mlops__log(st->logger, MLOPS_LOG_INFO, "applied migration %s/%d", sch->module,
                           sch->steps[k].version);
        }
        if (rc == MLOPS_OK && (size_t)have < sch->count) {
            sqlite3_stmt *s = NULL;
            int src = sqlite3_prepare_v2(st->db,
                                         "INSERT INTO mlops_schema(module, version, applied_at_ms)"
                                         " VALUES(?1, ?2, ?3) ON CONFLICT(module) DO UPDATE SET"
                                         " version=excluded.version,"
                                         " applied_at_ms=excluded.applied_at_ms",
                                         -1, &s, NULL);
            if (src == SQLITE_OK) {
                sqlite3_bind_text(s, 1, sch->module, -1, SQLITE_STATIC);
                sqlite3_bind_int(s, 2, (int)sch->count);
                sqlite3_bind_int64(s, 3, mlops__wall_ms());
                src = sqlite3_step(s);
                src = src == SQLITE_DONE ? SQLITE_OK : src;
            }
            sqlite3_finalize(s);
            if (src != SQLITE_OK)
                rc = mlops__store_error(st, src, "mlops_schema");
        }
        total += (int64_t)sch->count;
    }
    if (rc == MLOPS_OK) {
        char sql[64];
        snprintf(sql, sizeof sql, "PRAGMA user_version=%lld", (long long)total);
        rc = mlops__store_exec(st, sql);
    }
    if (rc != MLOPS_OK) {
        mlops__store_rollback(st);
        return rc;
    }
    return mlops__store_commit(st);
}

static void store_free(mlops__store *st)
{
    for (int i = 0; i < st->nstmts; i++)
        sqlite3_finalize(st->stmts[i].stmt);
    if (st->db)
        sqlite3_close_v2(st->db);
    mlops__mutex_destroy(&st->lock);
    free(st->path);
    free(st);
}

int mlops__store_open(const char *path, const mlops__store_opts *opts,
                      const mlops__schema *const *schemas, size_t nschemas, mlops__store **out)
{
    *out = NULL;
    if (!path || !*path)
        return mlops__error(MLOPS_EINVAL, "path: must be a file path or \":memory:\"");
    bool memory = is_memory_path(path);
    int rc = memory ? MLOPS_OK : check_path(path);
    if (rc != MLOPS_OK)
        return rc;

    mlops__store *st = calloc(1, sizeof *st);
    if (!st || !(st->path = mlops__strdup(path))) {
        free(st);
        return mlops__error_oom("store");
    }
    mlops__mutex_init(&st->lock);
    st->logger = opts ? opts->logger : NULL;

    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX |
                SQLITE_OPEN_EXRESCODE;
    int src = sqlite3_open_v2(path, &st->db, flags, NULL);
    if (src != SQLITE_OK) {
        rc = mlops__store_error(st, src, path);
        store_free(st);
        return rc;
    }
    sqlite3_extended_result_codes(st->db, 1);
    sqlite3_busy_timeout(st->db, opts ? opts->busy_timeout_ms : 5000);

    rc = check_existing_schema(st, schemas, nschemas);
    if (rc == MLOPS_OK && !memory) {
        rc = mlops__store_exec(st, "PRAGMA journal_mode=WAL");
        if (rc != MLOPS_OK)
            mlops__error_wrap(rc, "could not switch '%s' to WAL mode", path);
    }
    if (rc == MLOPS_OK)
        rc = mlops__store_exec(st, "PRAGMA foreign_keys=ON; PRAGMA synchronous=NORMAL");
    if (rc == MLOPS_OK)
        rc = apply_migrations(st, schemas, nschemas);
    if (rc != MLOPS_OK) {
        store_free(st);
        return rc;
    }
    st->changes_seen = sqlite3_total_changes64(st->db);
    *out = st;
    return MLOPS_OK;
}

void mlops__store_close(mlops__store *st)
{
    if (st)
        store_free(st);
}
