/*
 * Virtual keys: create, list, revoke, rotate; authorize (check + reserve), settle and
 * release. Every check that decides whether a request may go ahead runs inside one
 * BEGIN IMMEDIATE transaction, so threads and processes sharing the store see one
 * serial order and a budget or rate limit cannot be overrun by a race.
 */
#include "keys.h"

#include <math.h>
#include <openssl/crypto.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlops__keys {
    mlops__store *st;
    sqlite3 *db;
    mlops__logger *lg;
    mlops__keys_opts o;
    _Atomic uint64_t records; /* ledger rows written: retention runs every 1024 */
};

/* Money compares with a tolerance far below any price (1e-9 of a currency unit). */
#define MONEY_EPS 1e-9
/* A hint for refusals that clear when an in-flight request finishes. */
#define INFLIGHT_RETRY_MS 100

int mlops__keys_open(mlops__store *st, mlops__logger *lg, const mlops__keys_opts *opts,
                     mlops__keys **out)
{
    *out = NULL;
    mlops__keys *k = calloc(1, sizeof *k);
    if (!k)
        return mlops__error_oom("keys");
    k->st = st;
    k->lg = lg;
    k->db = mlops__store_lock(st);
    mlops__store_unlock(st);
    if (opts)
        k->o = *opts;
    else
        mlops__keys_config_check(NULL, "config.keys", &k->o);
    *out = k;
    if (k->o.retention_days > 0) {
        int64_t deleted = 0;
        int rc = mlops__ledger_prune(st, mlops__wall_ms() - k->o.retention_days * 86400000LL,
                                     k->o.prune_batch, &deleted);
        if (rc != MLOPS_OK && lg)
            mlops__log(lg, MLOPS_LOG_WARN, "keys: ledger retention failed: %s",
                       mlops__error_text());
    }
    return MLOPS_OK;
}

void mlops__keys_close(mlops__keys *k)
{
    free(k);
}

mlops__store *mlops__keys_store(mlops__keys *k)
{
    return k->st;
}

/* ------------------------------------------------------------------ helpers ---- */

/*
 * A cached statement left at SQLITE_ROW keeps its read transaction open after the
 * lock is released; the next BEGIN IMMEDIATE on this connection then fails with
 * SQLITE_BUSY_SNAPSHOT (no busy wait) as soon as another process has written. So every
 * statement is reset before the connection is handed back.
 */
static void quiesce(mlops__keys *k)
{
    sqlite3_stmt *s = NULL;
    while ((s = sqlite3_next_stmt(k->db, s)) != NULL)
        if (sqlite3_stmt_busy(s))
            sqlite3_reset(s);
}

static int keys_commit(mlops__keys *k)
{
    quiesce(k);
    return mlops__store_commit(k->st);
}

static void keys_rollback(mlops__keys *k)
{
    quiesce(k);
    mlops__store_rollback(k->st);
}

static void keys_unlock(mlops__keys *k)
{
    quiesce(k);
    mlops__store_unlock(k->st);
}

static int step_done(mlops__store *st, sqlite3_stmt *s, const char *what)
{
    int rc = sqlite3_step(s);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return MLOPS_OK;
    return mlops__store_error(st, rc, what);
}

/* Prepares a statement whose ?1 is a key id (or, in resolve_id, an id or alias). */
static int prepare_key(mlops__store *st, const char *sql, const char *key_id,
                       sqlite3_stmt **s)
{
    int rc = mlops__store_prepare(st, sql, s);
    if (rc == MLOPS_OK)
        sqlite3_bind_text(*s, 1, key_id, -1, SQLITE_STATIC);
    return rc;
}

/* Prepares a statement whose ?1 is a key id and ?2 a time in ms (a period or window
   start, an expiry): the shape of most per-key statements. */
static int prepare_key_at(mlops__store *st, const char *sql, const char *key_id, int64_t ms,
                          sqlite3_stmt **s)
{
    int rc = prepare_key(st, sql, key_id, s);
    if (rc == MLOPS_OK)
        sqlite3_bind_int64(*s, 2, ms);
    return rc;
}

/* Runs a statement without results on key id ?1 and time ?2. */
static int exec_key_at(mlops__store *st, const char *sql, const char *key_id, int64_t ms,
                       const char *what)
{
    sqlite3_stmt *s;
    int rc = prepare_key_at(st, sql, key_id, ms, &s);
    return rc == MLOPS_OK ? step_done(st, s, what) : rc;
}

static json_t *json_text_or_null(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    if (!t)
        return json_null();
    json_t *v = json_loads(t, 0, NULL);
    return v ? v : json_null();
}

static json_t *str_or_null(sqlite3_stmt *s, int col)
{
    const char *t = (const char *)sqlite3_column_text(s, col);
    return t ? json_string(t) : json_null();
}

/* Resolves an id or alias to the key id (lock held). */
static int resolve_id(mlops__store *st, const char *id, char out[40])
{
    sqlite3_stmt *s;
    int rc = prepare_key(st, "SELECT id FROM gateway_keys WHERE id=?1 OR alias=?1", id, &s);
    if (rc != MLOPS_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW) {
        snprintf(out, 40, "%s", (const char *)sqlite3_column_text(s, 0));
        return MLOPS_OK;
    }
    if (src == SQLITE_DONE)
        return mlops__error(MLOPS_ENOTFOUND, "key '%s': no such key id or alias", id);
    return mlops__store_error(st, src, "key lookup");
}

/* Adds a new secret row for key_id; returns the clear secret in secret[64]. */
static int add_secret(mlops__keys *k, const char *key_id, int64_t now, char secret[64])
{
    unsigned char salt[64], digest[32];
    size_t salt_len = (size_t)k->o.salt_bytes;
    int rc = mlops__key_secret_new(secret);
    if (rc == MLOPS_OK)
        rc = mlops__key_random(salt, salt_len);
    if (rc == MLOPS_OK)
        rc = mlops__key_secret_hash(salt, salt_len, secret, digest);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_stmt *s;
    rc = prepare_key(k->st,
                     "INSERT INTO gateway_key_secrets(key_id, lookup, salt, hash, "
                     "created_ms) VALUES(?1, ?2, ?3, ?4, ?5)",
                     key_id, &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_text(s, 2, secret, MLOPS__KEY_LOOKUP_LEN, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, salt, (int)salt_len, SQLITE_STATIC);
    sqlite3_bind_blob(s, 4, digest, 32, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, now);
    return step_done(k->st, s, "key secret insert");
}

static char *dump_or_null(const json_t *v)
{
    return v ? json_dumps(v, JSON_COMPACT) : NULL;
}

/* ------------------------------------------------------------------ describe --- */

#define KEY_COLUMNS                                                                      \
    "k.id, k.alias, k.models, k.budget, k.budget_period, k.soft_budget, k.rpm, k.tpm, "  \
    "k.max_parallel, k.expires_ms, k.owner, k.team, k.tags, k.metadata, k.created_ms, "  \
    "k.revoked_ms, (SELECT lookup FROM gateway_key_secrets WHERE key_id=k.id ORDER BY id " \
    "DESC LIMIT 1)"

static int period_of(const char *name)
{
    for (int p = 0; p < 4; p++)
        if (name && strcmp(name, mlops__key_period_name(p)) == 0)
            return p;
    return MLOPS__PERIOD_TOTAL;
}

/* Settled spend and outstanding reservations of a key in a period (lock held). */
static int period_usage(mlops__store *st, const char *key_id, int64_t period_start,
                        double *spent, double *reserved, int64_t *inflight)
{
    sqlite3_stmt *s;
    int rc = prepare_key_at(st,
                            "SELECT spent FROM gateway_key_spend WHERE key_id=?1 AND "
                            "period_start=?2",
                            key_id, period_start, &s);
    if (rc != MLOPS_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW && src != SQLITE_DONE)
        return mlops__store_error(st, src, "key spend");
    *spent = src == SQLITE_ROW ? sqlite3_column_double(s, 0) : 0;
    rc = prepare_key_at(st,
                        "SELECT COALESCE(SUM(cost), 0), COUNT(*) FROM "
                        "gateway_reservations WHERE key_id=?1 AND period_start=?2",
                        key_id, period_start, &s);
    if (rc != MLOPS_OK)
        return rc;
    src = sqlite3_step(s);
    if (src != SQLITE_ROW)
        return mlops__store_error(st, src, "key reservations");
    *reserved = sqlite3_column_double(s, 0);
    if (inflight)
        *inflight = sqlite3_column_int64(s, 1);
    return MLOPS_OK;
}

static int describe_row(mlops__store *st, sqlite3_stmt *s, int64_t now, json_t **out)
{
    const char *id = (const char *)sqlite3_column_text(s, 0);
    int period = period_of((const char *)sqlite3_column_text(s, 4));
    int64_t pstart = mlops__key_period_start(period, now);
    int64_t pnext = mlops__key_period_next(period, now);
    int64_t expires = sqlite3_column_int64(s, 9);
    int64_t revoked = sqlite3_column_int64(s, 15);
    json_t *o = json_object();
    if (!o)
        return mlops__error_oom("key description");
    json_object_set_new(o, "id", json_string(id));
    json_object_set_new(o, "alias", str_or_null(s, 1));
    const char *lookup = (const char *)sqlite3_column_text(s, 16);
    json_object_set_new(o, "prefix", lookup ? json_string(lookup) : json_null());
    json_object_set_new(o, "models", json_text_or_null(s, 2));
    json_object_set_new(o, "budget", sqlite3_column_type(s, 3) == SQLITE_NULL
                                         ? json_null()
                                         : json_real(sqlite3_column_double(s, 3)));
    json_object_set_new(o, "budget_period", json_string(mlops__key_period_name(period)));
    json_object_set_new(o, "soft_budget", sqlite3_column_type(s, 5) == SQLITE_NULL
                                              ? json_null()
                                              : json_real(sqlite3_column_double(s, 5)));
    json_object_set_new(o, "rpm", json_integer(sqlite3_column_int64(s, 6)));
    json_object_set_new(o, "tpm", json_integer(sqlite3_column_int64(s, 7)));
    json_object_set_new(o, "max_parallel", json_integer(sqlite3_column_int64(s, 8)));
    json_object_set_new(o, "expires_ms", expires ? json_integer(expires) : json_null());
    json_object_set_new(o, "owner", str_or_null(s, 10));
    json_object_set_new(o, "team", str_or_null(s, 11));
    json_object_set_new(o, "tags", json_text_or_null(s, 12));
    json_object_set_new(o, "metadata", json_text_or_null(s, 13));
    json_object_set_new(o, "created_ms", json_integer(sqlite3_column_int64(s, 14)));
    json_object_set_new(o, "revoked_ms", revoked ? json_integer(revoked) : json_null());
    const char *state = revoked ? "revoked" : (expires && now >= expires) ? "expired" : "active";
    json_object_set_new(o, "state", json_string(state));
    double spent = 0, reserved = 0;
    int64_t inflight = 0;
    char idcopy[40];
    snprintf(idcopy, sizeof idcopy, "%s", id);
    int rc = period_usage(st, idcopy, pstart, &spent, &reserved, &inflight);
    if (rc != MLOPS_OK) {
        json_decref(o);
        return rc;
    }
    json_object_set_new(o, "spent", json_real(spent));
    json_object_set_new(o, "reserved", json_real(reserved));
    json_object_set_new(o, "in_flight", json_integer(inflight));
    json_object_set_new(o, "period_start_ms", json_integer(pstart));
    json_object_set_new(o, "period_resets_ms",
                        pnext == INT64_MAX ? json_null() : json_integer(pnext));
    *out = o;
    return MLOPS_OK;
}

static int describe_locked(mlops__store *st, const char *key_id, json_t **out)
{
    sqlite3_stmt *s;
    int rc = prepare_key(st, "SELECT " KEY_COLUMNS " FROM gateway_keys k WHERE k.id=?1", key_id,
                         &s);
    if (rc != MLOPS_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src == SQLITE_DONE)
        return mlops__error(MLOPS_ENOTFOUND, "key '%s': no such key", key_id);
    if (src != SQLITE_ROW)
        return mlops__store_error(st, src, "key describe");
    return describe_row(st, s, mlops__wall_ms(), out);
}

/* ------------------------------------------------------------------ create ----- */

int mlops__keys_create(mlops__keys *k, const json_t *meta_json, char **secret_out,
                       json_t **info_out)
{
    if (secret_out)
        *secret_out = NULL;
    if (info_out)
        *info_out = NULL;
    int64_t now = mlops__wall_ms();
    mlops__key_meta m;
    int rc = mlops__key_meta_parse(meta_json, now, &m);
    if (rc != MLOPS_OK)
        return rc;
    unsigned char idbytes[8];
    char key_id[40], secret[64];
    if ((rc = mlops__key_random(idbytes, sizeof idbytes)) != MLOPS_OK) {
        mlops__key_meta_free(&m);
        return rc;
    }
    int n = snprintf(key_id, sizeof key_id, "key-");
    for (size_t i = 0; i < sizeof idbytes; i++)
        n += snprintf(key_id + n, sizeof key_id - (size_t)n, "%02x", idbytes[i]);

    char *models = dump_or_null(m.models), *tags = dump_or_null(m.tags),
         *extra = dump_or_null(m.extra);
    if ((rc = mlops__store_begin(k->st)) != MLOPS_OK)
        goto out;
    sqlite3_stmt *s;
    rc = prepare_key(k->st,
                     "INSERT INTO gateway_keys(id, alias, models, budget, "
                     "budget_period, soft_budget, rpm, tpm, max_parallel, expires_ms, "
                     "owner, team, tags, metadata, created_ms) VALUES(?1, ?2, ?3, ?4, "
                     "?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                     key_id, &s);
    if (rc == MLOPS_OK) {
        mlops__sql_bind_text(s, 2, m.alias);
        mlops__sql_bind_text(s, 3, models);
        if (m.budget >= 0)
            sqlite3_bind_double(s, 4, m.budget);
        sqlite3_bind_text(s, 5, mlops__key_period_name(m.period), -1, SQLITE_STATIC);
        if (m.soft_budget >= 0)
            sqlite3_bind_double(s, 6, m.soft_budget);
        sqlite3_bind_int64(s, 7, m.rpm);
        sqlite3_bind_int64(s, 8, m.tpm);
        sqlite3_bind_int64(s, 9, m.max_parallel);
        sqlite3_bind_int64(s, 10, m.expires_ms);
        mlops__sql_bind_text(s, 11, m.owner);
        mlops__sql_bind_text(s, 12, m.team);
        mlops__sql_bind_text(s, 13, tags);
        mlops__sql_bind_text(s, 14, extra);
        sqlite3_bind_int64(s, 15, now);
        int src = sqlite3_step(s);
        if (src != SQLITE_DONE) {
            rc = mlops__store_error(k->st, src, "key create");
            if (rc == MLOPS_EEXIST)
                rc = mlops__error(MLOPS_EEXIST, "key alias '%s': already used by another key",
                                  m.alias ? m.alias : "");
        }
    }
    if (rc == MLOPS_OK)
        rc = add_secret(k, key_id, now, secret);
    json_t *info = NULL;
    if (rc == MLOPS_OK && info_out)
        rc = describe_locked(k->st, key_id, &info);
    if (rc != MLOPS_OK) {
        keys_rollback(k);
        goto out;
    }
    if ((rc = keys_commit(k)) != MLOPS_OK) {
        json_decref(info);
        goto out;
    }
    if (info_out)
        *info_out = info;
    if (secret_out && !(*secret_out = mlops__strdup(secret)))
        rc = mlops__error_oom("key secret");
out:
    OPENSSL_cleanse(secret, sizeof secret);
    free(models);
    free(tags);
    free(extra);
    mlops__key_meta_free(&m);
    return rc;
}

/* ------------------------------------------------------------------ list ------- */

int mlops__keys_list(mlops__keys *k, const json_t *filter, json_t **out)
{
    *out = NULL;
    const char *owner = mlops__json_str(filter, "owner", NULL);
    const char *team = mlops__json_str(filter, "team", NULL);
    const char *tag = mlops__json_str(filter, "tag", NULL);
    bool all = mlops__json_bool(filter, "include_revoked", false);
    json_t *arr = json_array();
    if (!arr)
        return mlops__error_oom("key list");
    mlops__store_lock(k->st);
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(k->st,
                                  "SELECT " KEY_COLUMNS " FROM gateway_keys k WHERE "
                                  "(?1 IS NULL OR k.owner=?1) AND (?2 IS NULL OR k.team=?2) "
                                  "AND (?3 OR k.revoked_ms=0) ORDER BY k.created_ms, k.id",
                                  &s);
    if (rc == MLOPS_OK) {
        mlops__sql_bind_text(s, 1, owner);
        mlops__sql_bind_text(s, 2, team);
        sqlite3_bind_int(s, 3, all);
        int64_t now = mlops__wall_ms();
        int src;
        while (rc == MLOPS_OK && (src = sqlite3_step(s)) == SQLITE_ROW) {
            json_t *d = NULL;
            rc = describe_row(k->st, s, now, &d);
            if (rc != MLOPS_OK)
                break;
            bool keep = true;
            if (tag) {
                keep = false;
                size_t i;
                json_t *t;
                json_array_foreach(json_object_get(d, "tags"), i, t)
                    keep = keep || strcmp(json_string_value(t), tag) == 0;
            }
            if (keep)
                json_array_append_new(arr, d);
            else
                json_decref(d);
        }
        if (rc == MLOPS_OK && src != SQLITE_DONE)
            rc = mlops__store_error(k->st, src, "key list");
    }
    keys_unlock(k);
    if (rc != MLOPS_OK) {
        json_decref(arr);
        return rc;
    }
    *out = arr;
    return MLOPS_OK;
}

int mlops__keys_get(mlops__keys *k, const char *id, json_t **out)
{
    *out = NULL;
    char key_id[40];
    mlops__store_lock(k->st);
    int rc = resolve_id(k->st, id, key_id);
    if (rc == MLOPS_OK)
        rc = describe_locked(k->st, key_id, out);
    keys_unlock(k);
    return rc;
}

/* ------------------------------------------------------------------ revoke/rotate */

int mlops__keys_revoke(mlops__keys *k, const char *id)
{
    char key_id[40];
    int rc = mlops__store_begin(k->st);
    if (rc != MLOPS_OK)
        return rc;
    rc = resolve_id(k->st, id, key_id);
    if (rc == MLOPS_OK)
        rc = exec_key_at(k->st,
                         "UPDATE gateway_keys SET revoked_ms=?2 WHERE id=?1 AND revoked_ms=0",
                         key_id, mlops__wall_ms(), "key revoke");
    if (rc != MLOPS_OK) {
        keys_rollback(k);
        return rc;
    }
    return keys_commit(k);
}

int mlops__keys_rotate(mlops__keys *k, const char *id, int64_t grace_ms, char **secret_out)
{
    *secret_out = NULL;
    if (grace_ms < 0 || grace_ms > 30LL * 86400000)
        return mlops__error(MLOPS_EINVAL, "key rotate: grace_ms %lld is outside 0..30 days",
                            (long long)grace_ms);
    char key_id[40], secret[64];
    int64_t now = mlops__wall_ms();
    int rc = mlops__store_begin(k->st);
    if (rc != MLOPS_OK)
        return rc;
    rc = resolve_id(k->st, id, key_id);
    sqlite3_stmt *s;
    if (rc == MLOPS_OK)
        rc = prepare_key(k->st, "SELECT revoked_ms FROM gateway_keys WHERE id=?1", key_id, &s);
    if (rc == MLOPS_OK && sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) != 0)
        rc = mlops__error(MLOPS_ESTATE, "key '%s': revoked keys cannot be rotated", id);
    /* Old secrets end now (or after the grace period), never later than already set. */
    if (rc == MLOPS_OK)
        rc = exec_key_at(k->st,
                         "UPDATE gateway_key_secrets SET expires_ms=?2 WHERE key_id=?1 "
                         "AND (expires_ms=0 OR expires_ms>?2)",
                         key_id, now + grace_ms, "key rotate");
    if (rc == MLOPS_OK)
        rc = exec_key_at(k->st,
                         "DELETE FROM gateway_key_secrets WHERE key_id=?1 AND "
                         "expires_ms>0 AND expires_ms<?2",
                         key_id, now - 86400000LL, "key rotate cleanup");
    if (rc == MLOPS_OK)
        rc = add_secret(k, key_id, now, secret);
    if (rc != MLOPS_OK) {
        keys_rollback(k);
        return rc;
    }
    rc = keys_commit(k);
    if (rc == MLOPS_OK && !(*secret_out = mlops__strdup(secret)))
        rc = mlops__error_oom("key secret");
    OPENSSL_cleanse(secret, sizeof secret);
    return rc;
}

/* ------------------------------------------------------------------ authorize -- */

static void refuse(mlops__key_refusal *r, const char *reason, int64_t retry_ms)
{
    if (r) {
        r->reason = reason;
        r->retry_after_ms = retry_ms;
    }
}

/* Finds the key a secret belongs to (lock held). Compares every candidate in constant time. */
static int find_secret(mlops__keys *k, const char *secret, int64_t now, char key_id[40],
                       mlops__key_refusal *ref)
{
    size_t len = strlen(secret);
    char shown[16];
    snprintf(shown, sizeof shown, "%.*s", len < 7 ? (int)len : 7, secret);
    if (len < MLOPS__KEY_LOOKUP_LEN || len > 128 ||
        strncmp(secret, MLOPS__KEY_SECRET_PREFIX, 3) != 0) {
        refuse(ref, "unknown", -1);
        return mlops__error(MLOPS_EAUTH, "key '%s...': not a libmlops key (expected mk-...)",
                            shown);
    }
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(k->st,
                                  "SELECT key_id, salt, hash, expires_ms FROM "
                                  "gateway_key_secrets WHERE lookup=?1",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_text(s, 1, secret, MLOPS__KEY_LOOKUP_LEN, SQLITE_STATIC);
    bool found = false;
    int64_t expires = 0;
    int src;
    while ((src = sqlite3_step(s)) == SQLITE_ROW) {
        unsigned char digest[32];
        const void *salt = sqlite3_column_blob(s, 1);
        int salt_len = sqlite3_column_bytes(s, 1);
        const void *hash = sqlite3_column_blob(s, 2);
        if (!salt || !hash || sqlite3_column_bytes(s, 2) != 32)
            continue;
        if ((rc = mlops__key_secret_hash(salt, (size_t)salt_len, secret, digest)) != MLOPS_OK)
            return rc;
        if (CRYPTO_memcmp(digest, hash, 32) == 0 && !found) {
            found = true;
            snprintf(key_id, 40, "%s", (const char *)sqlite3_column_text(s, 0));
            expires = sqlite3_column_int64(s, 3);
        }
    }
    if (src != SQLITE_DONE)
        return mlops__store_error(k->st, src, "key secret lookup");
    if (!found) {
        refuse(ref, "unknown", -1);
        return mlops__error(MLOPS_EAUTH, "key '%.11s...': unknown key", secret);
    }
    if (expires && now >= expires) {
        refuse(ref, "rotated", -1);
        return mlops__error(MLOPS_EAUTH,
                            "key '%s' (%.11s...): this secret was replaced by a rotation and "
                            "no longer works; use the new secret",
                            key_id, secret);
    }
    return MLOPS_OK;
}

static bool model_allowed(const char *models_json, const char *model)
{
    if (!models_json || !model)
        return true;
    json_t *arr = json_loads(models_json, 0, NULL);
    bool ok = !json_is_array(arr);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v) {
        const char *m = json_string_value(v);
        ok = ok || (m && (strcmp(m, model) == 0 || strcmp(m, "*") == 0));
    }
    json_decref(arr);
    return ok;
}

static void fmt_wait(char *buf, size_t n, int64_t ms)
{
    if (ms < 0)
        snprintf(buf, n, "never by waiting");
    else if (ms < 120000)
        snprintf(buf, n, "in %lld ms", (long long)ms);
    else
        snprintf(buf, n, "in %lld s", (long long)((ms + 999) / 1000));
}

typedef struct key_row {
    char alias[MLOPS__NAME_MAX + 1];
    double budget, soft_budget;
    int period;
    int64_t rpm, tpm, max_parallel, expires_ms, revoked_ms;
    bool any_model;
} key_row;

static int load_key(mlops__keys *k, const char *key_id, const char *model, int64_t now,
                    key_row *kr, mlops__key_refusal *ref)
{
    sqlite3_stmt *s;
    int rc = prepare_key(k->st,
                         "SELECT alias, models, budget, budget_period, soft_budget, "
                         "rpm, tpm, max_parallel, expires_ms, revoked_ms FROM "
                         "gateway_keys WHERE id=?1",
                         key_id, &s);
    if (rc != MLOPS_OK)
        return rc;
    int src = sqlite3_step(s);
    if (src != SQLITE_ROW)
        return src == SQLITE_DONE ? mlops__error(MLOPS_EAUTH, "key '%s': unknown key", key_id)
                                  : mlops__store_error(k->st, src, "key load");
    const char *alias = (const char *)sqlite3_column_text(s, 0);
    snprintf(kr->alias, sizeof kr->alias, "%s", alias ? alias : key_id);
    kr->budget = sqlite3_column_type(s, 2) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 2);
    kr->period = period_of((const char *)sqlite3_column_text(s, 3));
    kr->soft_budget = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 : sqlite3_column_double(s, 4);
    kr->rpm = sqlite3_column_int64(s, 5);
    kr->tpm = sqlite3_column_int64(s, 6);
    kr->max_parallel = sqlite3_column_int64(s, 7);
    kr->expires_ms = sqlite3_column_int64(s, 8);
    kr->revoked_ms = sqlite3_column_int64(s, 9);
    if (kr->revoked_ms) {
        refuse(ref, "revoked", -1);
        return mlops__error(MLOPS_EAUTH, "key '%s': revoked", kr->alias);
    }
    if (kr->expires_ms && now >= kr->expires_ms) {
        char t[32];
        mlops__format_time(kr->expires_ms, t);
        refuse(ref, "expired", -1);
        return mlops__error(MLOPS_EAUTH, "key '%s': expired at %s", kr->alias, t);
    }
    kr->any_model = sqlite3_column_type(s, 1) == SQLITE_NULL;
    if (!model_allowed((const char *)sqlite3_column_text(s, 1), model)) {
        refuse(ref, "model", -1);
        return mlops__error(MLOPS_EAUTH, "key '%s': model '%s' is not allowed for this key",
                            kr->alias, model);
    }
    return MLOPS_OK;
}

static int check_limits(mlops__keys *k, const char *key_id, const key_row *kr, int64_t now,
                        double est_cost, int64_t est_tokens, mlops__key_reservation *out,
                        mlops__key_refusal *ref)
{
    char wait[48];
    /* Reservations of callers that died without settling stop counting after the TTL. */
    int rc = exec_key_at(k->st,
                         "DELETE FROM gateway_reservations WHERE key_id=?1 AND expires_ms<=?2",
                         key_id, now, "reservation expiry");
    if (rc != MLOPS_OK)
        return rc;
    int64_t pstart = mlops__key_period_start(kr->period, now);
    double spent = 0, reserved = 0;
    int64_t inflight = 0;
    if ((rc = period_usage(k->st, key_id, pstart, &spent, &reserved, &inflight)) != MLOPS_OK)
        return rc;
    if (kr->max_parallel > 0) {
        sqlite3_stmt *s;
        rc = prepare_key(k->st, "SELECT COUNT(*) FROM gateway_reservations WHERE key_id=?1",
                         key_id, &s);
        if (rc != MLOPS_OK)
            return rc;
        int64_t all = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        if (all >= kr->max_parallel) {
            refuse(ref, "max_parallel", INFLIGHT_RETRY_MS);
            return mlops__error(MLOPS_ERATELIMIT,
                                "key '%s': %lld requests in flight reach max_parallel %lld; "
                                "retry when one finishes (retry_after_ms %d)",
                                kr->alias, (long long)all, (long long)kr->max_parallel,
                                INFLIGHT_RETRY_MS);
        }
    }
    int64_t wstart = now - now % 60000;
    int64_t wreq = 0, wtok = 0;
    if (kr->rpm > 0 || kr->tpm > 0) {
        sqlite3_stmt *s;
        rc = prepare_key_at(k->st,
                            "SELECT requests, tokens FROM gateway_key_windows WHERE "
                            "key_id=?1 AND window_start=?2",
                            key_id, wstart, &s);
        if (rc != MLOPS_OK)
            return rc;
        if (sqlite3_step(s) == SQLITE_ROW) {
            wreq = sqlite3_column_int64(s, 0);
            wtok = sqlite3_column_int64(s, 1);
        }
        int64_t retry = wstart + 60000 - now;
        if (kr->rpm > 0 && wreq + 1 > kr->rpm) {
            fmt_wait(wait, sizeof wait, retry);
            refuse(ref, "rpm", retry);
            return mlops__error(MLOPS_ERATELIMIT,
                                "key '%s': rpm limit %lld reached in this minute; retry %s "
                                "(retry_after_ms %lld)",
                                kr->alias, (long long)kr->rpm, wait, (long long)retry);
        }
        if (kr->tpm > 0 && est_tokens > kr->tpm) {
            refuse(ref, "tpm", -1);
            return mlops__error(MLOPS_ERATELIMIT,
                                "key '%s': the request's %lld tokens exceed the tpm limit %lld "
                                "on their own; it can never pass",
                                kr->alias, (long long)est_tokens, (long long)kr->tpm);
        }
        if (kr->tpm > 0 && wtok + est_tokens > kr->tpm) {
            fmt_wait(wait, sizeof wait, retry);
            refuse(ref, "tpm", retry);
            return mlops__error(MLOPS_ERATELIMIT,
                                "key '%s': tpm limit %lld reached in this minute (%lld used); "
                                "retry %s (retry_after_ms %lld)",
                                kr->alias, (long long)kr->tpm, (long long)wtok, wait,
                                (long long)retry);
        }
    }
    if (kr->budget >= 0 && spent + reserved + est_cost > kr->budget + MONEY_EPS) {
        int64_t next = mlops__key_period_next(kr->period, now);
        bool wait_inflight = spent + est_cost <= kr->budget + MONEY_EPS;
        int64_t retry = wait_inflight ? INFLIGHT_RETRY_MS : next == INT64_MAX ? -1 : next - now;
        refuse(ref, wait_inflight ? "budget_in_flight" : "budget", retry);
        if (wait_inflight)
            return mlops__error(MLOPS_EBUDGET,
                                "key '%s': %s budget %.6g would be exceeded by in-flight "
                                "reservations (spent %.6g, reserved %.6g, this request %.6g); "
                                "retry when they settle (retry_after_ms %d)",
                                kr->alias, mlops__key_period_name(kr->period), kr->budget,
                                spent, reserved, est_cost, INFLIGHT_RETRY_MS);
        if (retry < 0)
            return mlops__error(MLOPS_EBUDGET,
                                "key '%s': total budget %.6g is spent (spent %.6g, this request "
                                "%.6g); it never resets: raise the budget or use another key "
                                "(retry_after_ms -1)",
                                kr->alias, kr->budget, spent, est_cost);
        char t[32];
        mlops__format_time(next, t);
        fmt_wait(wait, sizeof wait, retry);
        return mlops__error(MLOPS_EBUDGET,
                            "key '%s': %s budget %.6g is spent (spent %.6g, this request %.6g); "
                            "it resets at %s, retry %s (retry_after_ms %lld)",
                            kr->alias, mlops__key_period_name(kr->period), kr->budget, spent,
                            est_cost, t, wait, (long long)retry);
    }
    sqlite3_stmt *s;
    rc = prepare_key_at(k->st,
                        "INSERT INTO gateway_reservations(key_id, period_start, "
                        "window_start, cost, tokens, created_ms, expires_ms) "
                        "VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        key_id, pstart, &s);
    if (rc != MLOPS_OK)
        return rc;
    /* keys without rpm/tpm keep no window rows (window 0: nothing to correct later) */
    bool windowed = kr->rpm > 0 || kr->tpm > 0;
    sqlite3_bind_int64(s, 3, windowed ? wstart : 0);
    sqlite3_bind_double(s, 4, est_cost);
    sqlite3_bind_int64(s, 5, est_tokens);
    sqlite3_bind_int64(s, 6, now);
    sqlite3_bind_int64(s, 7, now + k->o.reservation_ttl_ms);
    if ((rc = step_done(k->st, s, "reservation insert")) != MLOPS_OK)
        return rc;
    out->id = sqlite3_last_insert_rowid(sqlite3_db_handle(s));
    snprintf(out->key_id, sizeof out->key_id, "%s", key_id);
    out->cost = est_cost;
    out->tokens = est_tokens;
    out->window_start_ms = windowed ? wstart : 0;
    out->period_start_ms = pstart;
    out->budget = kr->budget;
    out->spent = spent;
    out->soft_alert = kr->soft_budget >= 0 && spent + reserved + est_cost >= kr->soft_budget;
    out->any_model = kr->any_model;
    if (!windowed)
        return MLOPS_OK;
    rc = prepare_key_at(k->st,
                        "INSERT INTO gateway_key_windows(key_id, window_start, requests, "
                        "tokens) VALUES(?1, ?2, 1, ?3) ON CONFLICT(key_id, window_start) "
                        "DO UPDATE SET requests=requests+1, tokens=tokens+excluded.tokens",
                        key_id, wstart, &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 3, est_tokens);
    if ((rc = step_done(k->st, s, "rate window")) != MLOPS_OK)
        return rc;
    if (wreq == 0 &&
        (rc = exec_key_at(k->st,
                          "DELETE FROM gateway_key_windows WHERE key_id=?1 AND window_start<?2",
                          key_id, wstart, "rate window cleanup")) != MLOPS_OK)
        return rc;
    return MLOPS_OK;
}

int mlops__keys_authorize_ex(mlops__keys *k, const char *secret, const char *model,
                             double est_cost, int64_t est_tokens, mlops__key_reservation *out,
                             mlops__key_refusal *ref)
{
    memset(out, 0, sizeof *out);
    refuse(ref, "", 0);
    if (!secret)
        return refuse(ref, "unknown", -1),
               mlops__error(MLOPS_EAUTH, "key: no key given (x_mlops.api_key)");
    if (!isfinite(est_cost) || est_cost < 0 || est_cost > 1e12)
        return mlops__error(MLOPS_EINVAL, "key authorize: est_cost %g is not in 0..1e12",
                            est_cost);
    if (est_tokens < 0)
        return mlops__error(MLOPS_EINVAL, "key authorize: est_tokens %lld is negative",
                            (long long)est_tokens);
    int64_t now = mlops__wall_ms();
    char key_id[40];
    key_row kr;
    int rc = mlops__store_begin(k->st);
    if (rc != MLOPS_OK)
        return rc;
    rc = find_secret(k, secret, now, key_id, ref);
    if (rc == MLOPS_OK)
        rc = load_key(k, key_id, model, now, &kr, ref);
    if (rc == MLOPS_OK)
        rc = check_limits(k, key_id, &kr, now, est_cost, est_tokens, out, ref);
    if (rc != MLOPS_OK) {
        keys_rollback(k);
        memset(out, 0, sizeof *out);
        return rc;
    }
    rc = keys_commit(k);
    if (rc != MLOPS_OK)
        memset(out, 0, sizeof *out);
    else if (out->soft_alert && k->lg)
        mlops__log(k->lg, MLOPS_LOG_WARN, "key '%s': soft budget %.6g reached", kr.alias,
                   kr.soft_budget);
    return rc;
}

int mlops__keys_authorize(mlops__keys *k, const char *secret, const char *model,
                          double est_cost, int64_t est_tokens, mlops__key_reservation *out)
{
    return mlops__keys_authorize_ex(k, secret, model, est_cost, est_tokens, out, NULL);
}

/* ------------------------------------------------------------------ settle ----- */

/* Retention runs every 1024 ledger rows written through this handle. */
static void maybe_prune(mlops__keys *k)
{
    if (k->o.retention_days <= 0 || (atomic_fetch_add(&k->records, 1) & 1023) != 1023)
        return;
    int64_t deleted = 0;
    if (mlops__ledger_prune(k->st, mlops__wall_ms() - k->o.retention_days * 86400000LL,
                            k->o.prune_batch, &deleted) != MLOPS_OK && k->lg)
        mlops__log(k->lg, MLOPS_LOG_WARN, "keys: ledger retention failed: %s",
                   mlops__error_text());
}

static int finish(mlops__keys *k, const mlops__key_reservation *r, bool spend, double cost,
                  int64_t tokens, const mlops__ledger_entry *entry)
{
    if (!r || r->id <= 0)
        return mlops__error(MLOPS_EINVAL, "key settle: no reservation");
    if (spend && (!isfinite(cost) || cost < 0 || cost > 1e12))
        return mlops__error(MLOPS_EINVAL, "key settle: actual cost %g is not in 0..1e12", cost);
    if (tokens < 0)
        return mlops__error(MLOPS_EINVAL, "key settle: token counts must not be negative");
    int rc = mlops__store_begin(k->st);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_stmt *s;
    rc = mlops__store_prepare(k->st, "DELETE FROM gateway_reservations WHERE id=?1", &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, r->id);
        rc = step_done(k->st, s, "reservation delete");
    }
    if (rc == MLOPS_OK && sqlite3_changes(sqlite3_db_handle(s)) == 0 && k->lg)
        mlops__log(k->lg, MLOPS_LOG_WARN,
                   "key '%s': reservation %lld had expired before it was settled", r->key_id,
                   (long long)r->id);
    if (rc == MLOPS_OK && spend)
        rc = prepare_key_at(k->st,
                            "INSERT INTO gateway_key_spend(key_id, period_start, spent, "
                            "requests) VALUES(?1, ?2, ?3, 1) ON CONFLICT(key_id, "
                            "period_start) DO UPDATE SET spent=spent+excluded.spent, "
                            "requests=requests+1",
                            r->key_id, r->period_start_ms, &s);
    if (rc == MLOPS_OK && spend) {
        sqlite3_bind_double(s, 3, cost);
        rc = step_done(k->st, s, "key spend");
    }
    bool window = r->window_start_ms != 0 && tokens != r->tokens;
    if (rc == MLOPS_OK && window)
        rc = prepare_key_at(k->st,
                            "UPDATE gateway_key_windows SET tokens=MAX(0, tokens+?3) "
                            "WHERE key_id=?1 AND window_start=?2",
                            r->key_id, r->window_start_ms, &s);
    if (rc == MLOPS_OK && window) {
        sqlite3_bind_int64(s, 3, tokens - r->tokens);
        rc = step_done(k->st, s, "rate window");
    }
    if (rc == MLOPS_OK && entry)
        rc = mlops__ledger_insert_locked(k->st, entry);
    if (rc != MLOPS_OK) {
        keys_rollback(k);
        return rc;
    }
    return keys_commit(k);
}

int mlops__keys_settle(mlops__keys *k, const mlops__key_reservation *r, double actual_cost,
                       int64_t tokens_in, int64_t tokens_out, const char *status)
{
    (void)status;
    if (tokens_in < 0 || tokens_out < 0)
        return mlops__error(MLOPS_EINVAL, "key settle: token counts must not be negative");
    return finish(k, r, true, actual_cost, tokens_in + tokens_out, NULL);
}

int mlops__keys_settle_record(mlops__keys *k, const mlops__key_reservation *r,
                              const mlops__ledger_entry *e)
{
    if (e->tokens_in < 0 || e->tokens_out < 0)
        return mlops__error(MLOPS_EINVAL, "key settle: token counts must not be negative");
    mlops__ledger_entry copy = *e;
    if (!copy.key_id)
        copy.key_id = r->key_id;
    int rc = finish(k, r, true, e->cost, e->tokens_in + e->tokens_out, &copy);
    if (rc == MLOPS_OK)
        maybe_prune(k);
    return rc;
}

int mlops__keys_release(mlops__keys *k, const mlops__key_reservation *r)
{
    return finish(k, r, false, 0, 0, NULL);
}

int mlops__keys_reservation_get(mlops__keys *k, int64_t id, mlops__key_reservation *out)
{
    memset(out, 0, sizeof *out);
    mlops__store_lock(k->st);
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(k->st,
                                  "SELECT r.key_id, r.period_start, r.window_start, r.cost, "
                                  "r.tokens, k.budget FROM gateway_reservations r JOIN "
                                  "gateway_keys k ON k.id=r.key_id WHERE r.id=?1",
                                  &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        int src = sqlite3_step(s);
        if (src == SQLITE_ROW) {
            out->id = id;
            snprintf(out->key_id, sizeof out->key_id, "%s",
                     (const char *)sqlite3_column_text(s, 0));
            out->period_start_ms = sqlite3_column_int64(s, 1);
            out->window_start_ms = sqlite3_column_int64(s, 2);
            out->cost = sqlite3_column_double(s, 3);
            out->tokens = sqlite3_column_int64(s, 4);
            out->budget = sqlite3_column_type(s, 5) == SQLITE_NULL ? -1
                                                                    : sqlite3_column_double(s, 5);
        } else if (src == SQLITE_DONE) {
            rc = mlops__error(MLOPS_ENOTFOUND,
                              "reservation %lld: no such reservation (already settled, "
                              "released or expired)",
                              (long long)id);
        } else {
            rc = mlops__store_error(k->st, src, "reservation lookup");
        }
    }
    keys_unlock(k);
    return rc;
}

int mlops__keys_check_model(mlops__keys *k, const char *key_id, const char *model)
{
    mlops__store_lock(k->st);
    sqlite3_stmt *s;
    int rc = prepare_key(k->st, "SELECT models, COALESCE(alias, id) FROM gateway_keys WHERE id=?1",
                         key_id, &s);
    if (rc == MLOPS_OK) {
        int src = sqlite3_step(s);
        if (src == SQLITE_ROW && !model_allowed((const char *)sqlite3_column_text(s, 0), model))
            rc = mlops__error(MLOPS_EAUTH, "key '%s': model '%s' is not allowed for this key",
                              (const char *)sqlite3_column_text(s, 1), model);
        else if (src != SQLITE_ROW && src != SQLITE_DONE)
            rc = mlops__store_error(k->st, src, "key lookup");
    }
    keys_unlock(k);
    return rc;
}

/* ------------------------------------------------------------------ ledger ----- */

int mlops__keys_ledger_record(mlops__keys *k, const mlops__ledger_entry *e)
{
    int rc = mlops__ledger_record(k->st, e);
    if (rc == MLOPS_OK)
        maybe_prune(k);
    return rc;
}

int mlops__keys_spend_query(mlops__keys *k, const json_t *query, json_t **out)
{
    return mlops__ledger_query(k->st, query, out);
}

int mlops__keys_ledger_prune(mlops__keys *k, int64_t before_ms, int64_t *deleted)
{
    if (before_ms <= 0)
        before_ms = k->o.retention_days > 0
                        ? mlops__wall_ms() - k->o.retention_days * 86400000LL
                        : 0;
    return mlops__ledger_prune(k->st, before_ms, k->o.prune_batch, deleted);
}
