/*
 * pick(): which version serves a request, from memory.
 *
 * The routes (every alias, "latest", and the running or paused deployments) live in an
 * immutable snapshot behind a read-write lock. A pick hashes (name, alias) into an open
 * addressing table and, for a deployment, hashes the user key with the deployment's salt
 * (xxh3) into [0, 100) to choose an arm: the same user gets the same version in every
 * process and after restarts, and a canary that grows keeps its earlier users.
 *
 * Freshness: changes made through this handle are seen by the next pick. Changes from
 * other processes are noticed through mlops__store_change_counter(), checked at most
 * every config.models.refresh_ms (default 10 ms; 0 checks on every pick), because the
 * check itself costs a store round trip.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define SHADOW_SALT 0x5348414430570000ull

static uint64_t route_hash(const char *name, const char *alias)
{
    return mlops__hash_str(alias, mlops__hash_str(name, 0));
}

void mm_snapshot_free(mm_snapshot *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nroutes; i++) {
        free(s->routes[i].name);
        free(s->routes[i].alias);
    }
    free(s->routes);
    free(s->table);
    free(s->active);
    free(s);
}

static mm_route *find_route(mm_snapshot *s, const char *name, const char *alias, uint64_t h)
{
    if (!s || !s->table)
        return NULL;
    for (size_t i = h & s->mask;; i = (i + 1) & s->mask) {
        uint32_t e = s->table[i];
        if (!e)
            return NULL;
        mm_route *r = &s->routes[e - 1];
        if (r->hash == h && strcmp(r->name, name) == 0 && strcmp(r->alias, alias) == 0)
            return r;
    }
}

typedef struct builder {
    mm_route *routes;
    size_t n, cap;
} builder;

static mm_route *add_route(builder *b, const char *name, const char *alias)
{
    for (size_t i = 0; i < b->n; i++)
        if (strcmp(b->routes[i].name, name) == 0 && strcmp(b->routes[i].alias, alias) == 0)
            return &b->routes[i];
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        mm_route *nr = realloc(b->routes, cap * sizeof *nr);
        if (!nr)
            return NULL;
        b->routes = nr;
        b->cap = cap;
    }
    mm_route *r = &b->routes[b->n];
    memset(r, 0, sizeof *r);
    r->name = mlops__strdup(name);
    r->alias = mlops__strdup(alias);
    if (!r->name || !r->alias) {
        free(r->name);
        free(r->alias);
        return NULL;
    }
    r->hash = route_hash(name, alias);
    b->n++;
    return r;
}

void mm_route_from_spec(mm_route *r, const json_t *spec, int64_t step)
{
    json_t *steps = json_object_get(spec, "steps");
    if (json_array_size(steps) > 0) {
        size_t i = step < 0 ? 0 : (size_t)step;
        if (i >= json_array_size(steps))
            i = json_array_size(steps) - 1;
        r->weight = json_number_value(json_object_get(json_array_get(steps, i), "weight"));
    }
    r->sample = mlops__json_num(spec, "sample", 100);
    json_t *arms = json_object_get(spec, "arms");
    double cum = 0;
    size_t i;
    json_t *a;
    r->narms = 0;
    json_array_foreach(arms, i, a) {
        if (r->narms >= MM_MAX_ARMS)
            break;
        cum += json_number_value(json_object_get(a, "weight"));
        r->arm_version[r->narms] = json_integer_value(json_object_get(a, "version"));
        r->arm_cum[r->narms] = cum;
        r->narms++;
    }
}

/* Store lock held: builds a fresh snapshot. */
static int load_snapshot(mlops__models *m, mm_snapshot **out)
{
    builder b = {0};
    int rc = MLOPS_OK;
    sqlite3_stmt *s;
    rc = mlops__store_prepare(m->store,
                              "SELECT m.name, a.alias, a.version FROM model_aliases a JOIN"
                              " models m ON m.id=a.model_id UNION ALL SELECT m.name, 'latest',"
                              " MAX(v.version) FROM model_versions v JOIN models m ON"
                              " m.id=v.model_id GROUP BY m.id",
                              &s);
    int step = SQLITE_DONE;
    while (rc == MLOPS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        mm_route *r = add_route(&b, (const char *)sqlite3_column_text(s, 0),
                                (const char *)sqlite3_column_text(s, 1));
        if (!r)
            rc = mlops__error_oom("routes");
        else
            r->version = sqlite3_column_int64(s, 2);
    }
    if (rc == MLOPS_OK) {
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_aliases");
    }
    if (rc == MLOPS_OK)
        rc = mlops__store_prepare(m->store,
                                  "SELECT d.id, m.name, d.alias, d.strategy, d.spec, d.baseline,"
                                  " d.candidate, d.state, d.step, d.phase, d.salt FROM"
                                  " model_deployments d JOIN models m ON m.id=d.model_id WHERE"
                                  " d.state IN ('running', 'paused')",
                                  &s);
    while (rc == MLOPS_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        mm_route *r = add_route(&b, (const char *)sqlite3_column_text(s, 1),
                                (const char *)sqlite3_column_text(s, 2));
        json_t *spec = json_loads((const char *)sqlite3_column_text(s, 4), 0, NULL);
        if (!r || !spec) {
            json_decref(spec);
            rc = mlops__error_oom("routes");
            break;
        }
        r->dep_id = sqlite3_column_int64(s, 0);
        r->strategy = mm_strategy_parse((const char *)sqlite3_column_text(s, 3));
        r->baseline = sqlite3_column_int64(s, 5);
        r->candidate = sqlite3_column_int64(s, 6);
        r->state = mm_state_parse((const char *)sqlite3_column_text(s, 7));
        r->phase = sqlite3_column_int64(s, 9);
        r->seed = mlops__hash_str((const char *)sqlite3_column_text(s, 10), 0);
        mm_route_from_spec(r, spec, sqlite3_column_int64(s, 8));
        json_decref(spec);
    }
    if (rc == MLOPS_OK) {
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_deployments");
    }
    mm_snapshot *snap = calloc(1, sizeof *snap);
    size_t cap = 16;
    while (cap < b.n * 2 + 2)
        cap *= 2;
    if (rc == MLOPS_OK && snap) {
        snap->routes = b.routes;
        snap->nroutes = b.n;
        b.routes = NULL;
        snap->table = calloc(cap, sizeof *snap->table);
        snap->active = calloc(snap->nroutes + 1, sizeof *snap->active);
        snap->mask = cap - 1;
        if (!snap->table || !snap->active)
            rc = mlops__error_oom("routes");
        for (size_t i = 0; rc == MLOPS_OK && i < snap->nroutes; i++) {
            size_t k = snap->routes[i].hash & snap->mask;
            while (snap->table[k])
                k = (k + 1) & snap->mask;
            snap->table[k] = (uint32_t)i + 1;
            if (snap->routes[i].dep_id)
                snap->active[snap->nactive++] = i;
        }
    } else if (rc == MLOPS_OK) {
        rc = mlops__error_oom("routes");
    }
    if (rc != MLOPS_OK) {
        if (b.routes) {
            for (size_t i = 0; i < b.n; i++) {
                free(b.routes[i].name);
                free(b.routes[i].alias);
            }
            free(b.routes);
        }
        mm_snapshot_free(snap);
        return rc;
    }
    *out = snap;
    return MLOPS_OK;
}

static int reload(mlops__models *m)
{
    mlops__mutex_lock(&m->refresh_lock);
    /* Read the counter before loading: a change during the load is seen next time. */
    uint64_t counter = mlops__store_change_counter(m->store);
    int rc = MLOPS_OK;
    if (!m->snap || counter != atomic_load(&m->seen_counter)) {
        mm_snapshot *fresh = NULL;
        mlops__store_lock(m->store);
        rc = load_snapshot(m, &fresh);
        mlops__store_unlock(m->store);
        if (rc == MLOPS_OK) {
            mlops__rwlock_wrlock(&m->snap_lock);
            mm_snapshot *old = m->snap;
            m->snap = fresh;
            mlops__rwlock_unlock(&m->snap_lock);
            mm_snapshot_free(old);
            atomic_store(&m->seen_counter, counter);
        }
    }
    mlops__mutex_unlock(&m->refresh_lock);
    return rc;
}

void mm_invalidate(mlops__models *m)
{
    atomic_store(&m->last_check, 0);
}

int mm_refresh(mlops__models *m)
{
    uint64_t last = atomic_load(&m->last_check);
    uint64_t now = mlops__now_ns();
    if (last != 0 && now - last < m->refresh_ns)
        return MLOPS_OK;
    if (!atomic_compare_exchange_strong(&m->last_check, &last, now))
        return MLOPS_OK; /* another thread is checking right now */
    int rc = reload(m);
    if (rc != MLOPS_OK)
        atomic_store(&m->last_check, 0);
    return rc;
}

static int pick_route(mlops__models *m, const mm_route *r, const char *user_key,
                      int64_t *out_version, int32_t *shadows, size_t cap, size_t *out_n)
{
    *out_n = 0;
    if (!r->dep_id) {
        *out_version = r->version;
        return MLOPS_OK;
    }
    uint64_t h;
    if (user_key)
        h = mlops__hash_str(user_key, r->seed);
    else {
        uint64_t k = atomic_fetch_add_explicit(&m->rr, 1, memory_order_relaxed);
        h = mlops__hash64(&k, sizeof k, r->seed);
    }
    double u = mlops__hash_unit(h) * 100.0;
    switch (r->strategy) {
    case MM_CANARY:
        *out_version = u < r->weight ? r->candidate : r->baseline;
        break;
    case MM_SHADOW:
        *out_version = r->baseline;
        if (mlops__hash_unit(h ^ SHADOW_SALT) * 100.0 < r->sample) {
            if (cap > 0 && shadows)
                shadows[0] = (int32_t)r->candidate;
            *out_n = 1;
        }
        break;
    case MM_AB:
        *out_version = r->arm_version[r->narms - 1];
        for (int i = 0; i < r->narms; i++) {
            if (u < r->arm_cum[i]) {
                *out_version = r->arm_version[i];
                break;
            }
        }
        break;
    default: /* blue-green: the active version serves until the switch */
        *out_version = r->baseline;
        break;
    }
    return MLOPS_OK;
}

int mlops__deploy_pick(mlops__models *m, const char *name, const char *alias,
                       const char *user_key, int64_t *out_version, int32_t *shadows,
                       size_t cap, size_t *out_n)
{
    size_t n_dummy;
    if (!out_n)
        out_n = &n_dummy;
    *out_version = 0;
    *out_n = 0;
    int rc = mm_refresh(m);
    if (rc != MLOPS_OK)
        return rc;
    uint64_t h = route_hash(name, alias);
    for (int attempt = 0; attempt < 2; attempt++) {
        mlops__rwlock_rdlock(&m->snap_lock);
        const mm_route *r = find_route(m->snap, name, alias, h);
        if (r && (r->version || r->dep_id)) {
            rc = pick_route(m, r, user_key, out_version, shadows, cap, out_n);
            mlops__rwlock_unlock(&m->snap_lock);
            return rc;
        }
        mlops__rwlock_unlock(&m->snap_lock);
        /* Unknown here: perhaps created by another process since the last check. */
        if (attempt == 0 && (rc = reload(m)) != MLOPS_OK)
            return rc;
    }
    rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mm_alias_check(alias, false);
    if (rc != MLOPS_OK)
        return rc;
    return mlops__error(MLOPS_ENOTFOUND, "model '%s' has no alias '%s' (and no deployment on it)",
                        name, alias);
}
