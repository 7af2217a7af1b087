/*
 * The guard module: state on a handle (policy cache, vault, models from config), the
 * scan pipeline that runs a policy's scanners over a text in bounded windows, and the
 * report. See guard.h for the pipeline and include/mlops/guard.h for the contract.
 */
#include "guard.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define WINDOW (1u << 20)   /* bytes normalised at a time: bounds working memory */
#define MODEL_BYTES 8192    /* classifier/similarity look at this much of each window */
#define CACHE_SLOTS 32
#define MAX_FINDINGS_DEFAULT 10000

static const mlops__migration guard_migrations[] = {
    {1, "CREATE TABLE guard_policies(name TEXT PRIMARY KEY, policy TEXT NOT NULL,"
        " updated_ms INTEGER NOT NULL);"
        "CREATE TABLE guard_vault(vault TEXT NOT NULL, token TEXT NOT NULL, value TEXT NOT NULL,"
        " type TEXT NOT NULL, created_ms INTEGER NOT NULL, PRIMARY KEY(vault, token));"},
};
const mlops__schema mlops__guard_schema = {"guard", guard_migrations,
                                           MLOPS__ARRAY_LEN(guard_migrations)};

typedef struct cache_entry {
    char key[MLOPS__NAME_MAX + 2];
    mlops__gpolicy *p;
    uint64_t counter;
    bool named;
} cache_entry;

struct mlops__guard {
    mlops__store *st;
    mlops__logger *log;
    mlops__mutex lock;
    mlops__gpolicy *dflt;
    mlops__glinear *inj_model, *tox_model; /* from config, else the built-in ones */
    cache_entry cache[CACHE_SLOTS];
    size_t next_slot;
    size_t max_findings;
};

/* ---------------------------------------------------------------- findings --- */

void mlops__gfindings_free(mlops__gfindings *f)
{
    for (size_t i = 0; i < f->n; i++)
        free(f->v[i].detail);
    free(f->v);
    memset(f, 0, sizeof *f);
}

bool mlops__gfindings_add(mlops__gfindings *f, const char *scanner, const char *type,
                          size_t start, size_t end, double score, const char *detail)
{
    size_t max = f->max ? f->max : MAX_FINDINGS_DEFAULT;
    if (f->n >= max) {
        f->truncated = true;
        return true;
    }
    if (f->n == f->cap) {
        size_t nc = f->cap ? f->cap * 2 : 16;
        mlops__gfinding *nv = realloc(f->v, nc * sizeof *nv);
        if (!nv)
            return false;
        f->v = nv;
        f->cap = nc;
    }
    mlops__gfinding *x = &f->v[f->n++];
    memset(x, 0, sizeof *x);
    x->scanner = scanner;
    snprintf(x->type, sizeof x->type, "%s", type);
    x->start = start;
    x->end = end;
    x->score = score;
    x->detail = detail ? mlops__strdup(detail) : NULL;
    return true;
}

void mlops__gscan_add(mlops__gscan *sc, const char *scanner, const char *type, size_t s,
                      size_t e, double score, const char *detail)
{
    size_t os, oe;
    if (sc->overridden) {
        os = sc->ov_start;
        oe = sc->ov_end;
    } else {
        mlops__gnorm_span(sc->norm, s, e, &os, &oe);
        os += sc->base;
        oe += sc->base;
    }
    char buf[96];
    if (sc->note) {
        snprintf(buf, sizeof buf, "decoded %s%s%s", sc->note, detail ? ": " : "", detail ? detail : "");
        detail = buf;
    }
    mlops__gfindings_add(sc->out, scanner, type, os, oe, score, detail);
}

/* ---------------------------------------------------------------- config ----- */

static const mlops__json_field config_fields[] = {
    {"hash_key", MLOPS__J_STRING, false},      {"injection_model", MLOPS__J_STRING, false},
    {"toxicity_model", MLOPS__J_STRING, false}, {"default_policy", MLOPS__J_OBJECT, false},
    {"max_findings", MLOPS__J_INTEGER, false},  {NULL, 0, false}};

int mlops__guard_check_config(const json_t *section)
{
    if (!section)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(section, "config.guard", config_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    int64_t mf = mlops__json_int(section, "max_findings", MAX_FINDINGS_DEFAULT);
    if (mf < 1 || mf > 1000000)
        return mlops__error(MLOPS_ECONFIG, "config.guard.max_findings: %lld is outside 1..1000000",
                            (long long)mf);
    const json_t *dp = json_object_get(section, "default_policy");
    if (dp) {
        mlops__gpolicy *p = NULL;
        rc = mlops__gpolicy_parse(dp, &p);
        mlops__gpolicy_free(p);
        if (rc != MLOPS_OK)
            return mlops__error_wrap(rc, "config.guard.default_policy");
    }
    return MLOPS_OK;
}

static int load_model(const char *path, const char *what, mlops__glinear **out)
{
    *out = NULL;
    if (!path)
        return MLOPS_OK;
    mlops__glinear *m = calloc(1, sizeof *m);
    if (!m)
        return mlops__error_oom(what);
    int rc = mlops__glinear_load(path, m);
    if (rc != MLOPS_OK) {
        free(m);
        return mlops__error_wrap(MLOPS_ECONFIG, "config.guard.%s", what);
    }
    *out = m;
    return MLOPS_OK;
}

static void free_model(mlops__glinear *m)
{
    if (m) {
        mlops__glinear_free(m);
        free(m);
    }
}

int mlops__guard_open(mlops__store *st, mlops__logger *log, const json_t *config,
                      mlops__guard **out)
{
    *out = NULL;
    mlops__guard *g = calloc(1, sizeof *g);
    if (!g)
        return mlops__error_oom("guard");
    g->st = st;
    g->log = log;
    mlops__mutex_init(&g->lock);
    g->max_findings = (size_t)mlops__json_int(config, "max_findings", MAX_FINDINGS_DEFAULT);
    const json_t *dp = config ? json_object_get(config, "default_policy") : NULL;
    int rc = dp ? mlops__gpolicy_parse(dp, &g->dflt) : mlops__gpolicy_default(&g->dflt);
    if (rc == MLOPS_OK)
        rc = load_model(mlops__json_str(config, "injection_model", NULL), "injection_model",
                        &g->inj_model);
    if (rc == MLOPS_OK)
        rc = load_model(mlops__json_str(config, "toxicity_model", NULL), "toxicity_model",
                        &g->tox_model);
    const char *hk = mlops__json_str(config, "hash_key", NULL);
    if (rc == MLOPS_OK && hk && !g->dflt->hash_key)
        g->dflt->hash_key = mlops__strdup(hk);
    if (rc != MLOPS_OK) {
        mlops__guard_close(g);
        return rc;
    }
    *out = g;
    return MLOPS_OK;
}

void mlops__guard_close(mlops__guard *g)
{
    if (!g)
        return;
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (g->cache[i].p && --g->cache[i].p->refs == 0)
            mlops__gpolicy_free(g->cache[i].p);
    mlops__gpolicy_free(g->dflt);
    free_model(g->inj_model);
    free_model(g->tox_model);
    mlops__mutex_destroy(&g->lock);
    free(g);
}

/* ---------------------------------------------------------------- policies --- */

static int load_named(mlops__guard *g, const char *name, char **out)
{
    *out = NULL;
    sqlite3 *db = mlops__store_lock(g->st);
    (void)db;
    sqlite3_stmt *stmt;
    int rc = mlops__store_prepare(g->st, "SELECT policy FROM guard_policies WHERE name = ?1", &stmt);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        int s = sqlite3_step(stmt);
        if (s == SQLITE_ROW)
            *out = mlops__sql_column_dup(stmt, 0);
        else if (s == SQLITE_DONE)
            rc = mlops__error(MLOPS_ENOTFOUND, "guard policy '%s' not found", name);
        else
            rc = mlops__store_error(g->st, s, "reading guard policy");
        sqlite3_reset(stmt);
    }
    mlops__store_unlock(g->st);
    if (rc == MLOPS_OK && !*out)
        rc = mlops__error_oom("policy");
    return rc;
}

/* Looks a key up in the cache (lock held); takes a reference when found and fresh. */
static mlops__gpolicy *cache_get(mlops__guard *g, const char *key, uint64_t counter)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++) {
        cache_entry *e = &g->cache[i];
        if (e->p && strcmp(e->key, key) == 0) {
            if (e->named && e->counter != counter)
                return NULL;
            e->p->refs++;
            return e->p;
        }
    }
    return NULL;
}

static void cache_put(mlops__guard *g, const char *key, mlops__gpolicy *p, uint64_t counter,
                      bool named)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (g->cache[i].p && strcmp(g->cache[i].key, key) == 0) {
            if (--g->cache[i].p->refs == 0)
                mlops__gpolicy_free(g->cache[i].p);
            g->cache[i].p = NULL;
        }
    cache_entry *e = &g->cache[g->next_slot++ % CACHE_SLOTS];
    if (e->p && --e->p->refs == 0)
        mlops__gpolicy_free(e->p);
    snprintf(e->key, sizeof e->key, "%s", key);
    e->p = p;
    e->counter = counter;
    e->named = named;
    p->refs++;
}

int mlops__guard_policy_resolve(mlops__guard *g, const char *arg, mlops__gpolicy **out)
{
    *out = NULL;
    const char *p = arg;
    while (p && (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r'))
        p++;
    if (!p || !*p) {
        mlops__mutex_lock(&g->lock);
        g->dflt->refs++;
        mlops__mutex_unlock(&g->lock);
        *out = g->dflt;
        return MLOPS_OK;
    }
    bool inline_json = *p == '{' || *p == '[';
    char key[MLOPS__NAME_MAX + 2];
    uint64_t counter = 0;
    if (inline_json) {
        snprintf(key, sizeof key, "#%016llx%016llx", (unsigned long long)mlops__hash_str(p, 1),
                 (unsigned long long)mlops__hash_str(p, 2));
    } else {
        int rc = mlops__name_check(p, "policy name");
        if (rc != MLOPS_OK)
            return rc;
        snprintf(key, sizeof key, "%s", p);
        counter = mlops__store_change_counter(g->st);
    }
    mlops__mutex_lock(&g->lock);
    mlops__gpolicy *hit = cache_get(g, key, counter);
    mlops__mutex_unlock(&g->lock);
    if (hit) {
        *out = hit;
        return MLOPS_OK;
    }
    char *text = NULL;
    int rc = inline_json ? MLOPS_OK : load_named(g, p, &text);
    if (rc != MLOPS_OK)
        return rc;
    json_t *obj = NULL;
    rc = mlops__json_parse(inline_json ? p : text, "policy", &obj);
    free(text);
    if (rc != MLOPS_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mlops__error_text());
        return mlops__error(MLOPS_ECONFIG, "%s", msg);
    }
    mlops__gpolicy *pol = NULL;
    rc = mlops__gpolicy_parse(obj, &pol);
    json_decref(obj);
    if (rc != MLOPS_OK)
        return rc;
    mlops__mutex_lock(&g->lock);
    cache_put(g, key, pol, counter, !inline_json);
    mlops__mutex_unlock(&g->lock);
    *out = pol;
    return MLOPS_OK;
}

void mlops__guard_policy_release(mlops__guard *g, mlops__gpolicy *p)
{
    if (!p)
        return;
    mlops__mutex_lock(&g->lock);
    bool last = --p->refs == 0;
    mlops__mutex_unlock(&g->lock);
    if (last)
        mlops__gpolicy_free(p);
}

int mlops__guard_policy_put(mlops__guard *g, const char *name, const char *policy_json)
{
    int rc = mlops__name_check(name, "policy name");
    if (rc != MLOPS_OK)
        return rc;
    json_t *obj = NULL;
    if ((rc = mlops__json_parse(policy_json, "policy", &obj)) != MLOPS_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", mlops__error_text());
        return mlops__error(MLOPS_ECONFIG, "%s", msg);
    }
    mlops__gpolicy *pol = NULL;
    rc = mlops__gpolicy_parse(obj, &pol);
    json_decref(obj);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(g->st)) != MLOPS_OK) {
        mlops__gpolicy_free(pol);
        return rc;
    }
    sqlite3_stmt *stmt;
    rc = mlops__store_prepare(g->st, "INSERT INTO guard_policies(name, policy, updated_ms) "
                                     "VALUES(?1, ?2, ?3) ON CONFLICT(name) DO UPDATE SET "
                                     "policy = excluded.policy, updated_ms = excluded.updated_ms",
                              &stmt);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, pol->json_text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 3, mlops__wall_ms());
        int s = sqlite3_step(stmt);
        if (s != SQLITE_DONE)
            rc = mlops__store_error(g->st, s, "writing guard policy");
        sqlite3_reset(stmt);
    }
    mlops__gpolicy_free(pol);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(g->st);
        return rc;
    }
    return mlops__store_commit(g->st);
}

int mlops__guard_policy_get(mlops__guard *g, const char *name, char **out_json)
{
    *out_json = NULL;
    if (!name || !*name) {
        *out_json = mlops__strdup(g->dflt->json_text);
        return *out_json ? MLOPS_OK : mlops__error_oom("policy");
    }
    int rc = mlops__name_check(name, "policy name");
    if (rc != MLOPS_OK)
        return rc;
    return load_named(g, name, out_json);
}

int mlops__guard_policy_list(mlops__guard *g, char **out_json)
{
    *out_json = NULL;
    json_t *arr = json_array();
    if (!arr)
        return mlops__error_oom("policy list");
    mlops__store_lock(g->st);
    sqlite3_stmt *stmt;
    int rc = mlops__store_prepare(g->st, "SELECT name, updated_ms FROM guard_policies ORDER BY name",
                                  &stmt);
    while (rc == MLOPS_OK) {
        int s = sqlite3_step(stmt);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = mlops__store_error(g->st, s, "listing guard policies");
            break;
        }
        char when[32];
        mlops__format_time(sqlite3_column_int64(stmt, 1), when);
        json_array_append_new(arr, json_pack("{s:s,s:s}", "name",
                                             (const char *)sqlite3_column_text(stmt, 0),
                                             "updated", when));
    }
    if (stmt)
        sqlite3_reset(stmt);
    mlops__store_unlock(g->st);
    if (rc != MLOPS_OK) {
        json_decref(arr);
        return rc;
    }
    return mlops__json_dump_steal(arr, out_json);
}

int mlops__guard_policy_delete(mlops__guard *g, const char *name)
{
    int rc = mlops__name_check(name, "policy name");
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(g->st)) != MLOPS_OK)
        return rc;
    sqlite3_stmt *stmt;
    rc = mlops__store_prepare(g->st, "DELETE FROM guard_policies WHERE name = ?1", &stmt);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
        int s = sqlite3_step(stmt);
        if (s != SQLITE_DONE)
            rc = mlops__store_error(g->st, s, "deleting guard policy");
        else if (sqlite3_changes(sqlite3_db_handle(stmt)) == 0)
            rc = mlops__error(MLOPS_ENOTFOUND, "guard policy '%s' not found", name);
        sqlite3_reset(stmt);
    }
    if (rc != MLOPS_OK) {
        mlops__store_rollback(g->st);
        return rc;
    }
    return mlops__store_commit(g->st);
}

/* ---------------------------------------------------------------- vault ------ */

int mlops__guard_vault_put(mlops__guard *g, const char *vault, const char *token,
                           const char *value, size_t n, const char *type)
{
    int rc = mlops__store_begin(g->st);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_stmt *stmt;
    rc = mlops__store_prepare(g->st, "INSERT OR IGNORE INTO guard_vault(vault, token, value, type,"
                                     " created_ms) VALUES(?1, ?2, ?3, ?4, ?5)", &stmt);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(stmt, 1, vault, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, token, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 3, value, (int)n, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 4, type, -1, SQLITE_STATIC);
        sqlite3_bind_int64(stmt, 5, mlops__wall_ms());
        int s = sqlite3_step(stmt);
        if (s != SQLITE_DONE)
            rc = mlops__store_error(g->st, s, "writing guard vault");
        sqlite3_reset(stmt);
    }
    if (rc != MLOPS_OK) {
        mlops__store_rollback(g->st);
        return rc;
    }
    return mlops__store_commit(g->st);
}

int mlops__guard_deanonymize(mlops__guard *g, const char *vault, const char *text, char **out)
{
    *out = NULL;
    int rc = mlops__name_check(vault, "vault");
    if (rc != MLOPS_OK)
        return rc;
    mlops__buf b;
    mlops__buf_init(&b);
    size_t n = strlen(text), pos = 0;
    mlops__store_lock(g->st);
    sqlite3_stmt *stmt;
    rc = mlops__store_prepare(g->st, "SELECT value FROM guard_vault WHERE vault = ?1 AND token = ?2",
                              &stmt);
    for (size_t i = 0; rc == MLOPS_OK && i < n; i++) {
        if (text[i] != '<')
            continue;
        /* <TYPE_hhhhhhhh> */
        size_t j = i + 1;
        while (j < n && ((text[j] >= 'A' && text[j] <= 'Z') || text[j] == '_' ||
                         (text[j] >= '0' && text[j] <= '9') || (text[j] >= 'a' && text[j] <= 'f')) &&
               j - i < 60)
            j++;
        if (j >= n || text[j] != '>' || j - i < 11 || text[j - 9] != '_')
            continue;
        sqlite3_reset(stmt);
        sqlite3_bind_text(stmt, 1, vault, -1, SQLITE_STATIC);
        sqlite3_bind_text(stmt, 2, text + i, (int)(j + 1 - i), SQLITE_STATIC);
        int s = sqlite3_step(stmt);
        if (s == SQLITE_ROW) {
            mlops__buf_append(&b, text + pos, i - pos);
            mlops__buf_append(&b, sqlite3_column_text(stmt, 0), (size_t)sqlite3_column_bytes(stmt, 0));
            pos = j + 1;
            i = j;
        } else if (s != SQLITE_DONE)
            rc = mlops__store_error(g->st, s, "reading guard vault");
    }
    if (stmt)
        sqlite3_reset(stmt);
    mlops__store_unlock(g->st);
    if (rc != MLOPS_OK) {
        mlops__buf_free(&b);
        return rc;
    }
    mlops__buf_append(&b, text + pos, n - pos);
    mlops__buf_putc(&b, '\0');
    b.len--;
    if (b.failed) {
        mlops__buf_free(&b);
        return mlops__error_oom("de-anonymised text");
    }
    *out = mlops__buf_take(&b);
    return MLOPS_OK;
}

/* ---------------------------------------------------------------- canary ----- */

int mlops__guard_canary(mlops__guard *g, const char *system_prompt, json_t **out)
{
    (void)g;
    unsigned char rnd[8];
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, rnd, sizeof rnd) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof rnd) {
        uint64_t h = mlops__hash64(&got, sizeof got, (uint64_t)mlops__now_ns() ^ (uint64_t)(uintptr_t)out);
        memcpy(rnd, &h, sizeof rnd);
    }
    char canary[40] = "mlops-canary-";
    for (int i = 0; i < 8; i++)
        snprintf(canary + 13 + 2 * i, 3, "%02x", rnd[i]);
    char *prompt = mlops__sprintf("<!-- %s -->\n%s", canary, system_prompt ? system_prompt : "");
    if (!prompt)
        return mlops__error_oom("canary prompt");
    *out = json_pack("{s:s,s:s}", "canary", canary, "prompt", prompt);
    free(prompt);
    return *out ? MLOPS_OK : mlops__error_oom("canary");
}

/* ---------------------------------------------------------------- scanning --- */

int mlops__guard_scan(mlops__guard *g, const mlops__gpolicy *policy, int stage,
                      const char *text, size_t len, const char *context, json_t **report)
{
    *report = NULL;
    if (stage != MLOPS__GSTAGE_INPUT && stage != MLOPS__GSTAGE_OUTPUT)
        return mlops__error(MLOPS_EINVAL, "guard scan: stage must be input or output");
    if (len > UINT32_MAX - 1)
        return mlops__error(MLOPS_ELIMIT, "guard scan: text of %zu bytes is over 4 GiB", len);
    return mlops__guard_scan_ex(g, policy ? policy : g->dflt, g->inj_model, g->tox_model,
                                g->max_findings, stage, text, len, context, report);
}
