/*
 * Online observations: outcomes recorded per (deployment, phase, version, metric) as
 * mergeable aggregates (count, sum, sum of squares, min, max, a geometric histogram for
 * quantiles).
 *
 * Throughput: observe() adds to an in-memory aggregate under a mutex; every
 * config.models.flush_every observations (and at status, at actions and at close) the
 * pending aggregates are added to the stored ones in one transaction, and the affected
 * deployments are evaluated inside that same transaction from the stored totals. So two
 * processes driving one deployment never lose an observation nor apply a transition
 * twice (BEGIN IMMEDIATE serialises them); the trade-off is that a decision sees another
 * process's observations only once that process has flushed (at most flush_every - 1
 * observations per process late). Observations are tagged with the phase they were
 * made in; after a step change, stale-phase observations still land in the store but do
 * not count toward the new step.
 */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void mm_agg_init(mm_agg *a)
{
    memset(a, 0, sizeof *a);
}

static int hist_bucket(double v)
{
    if (!(v > MM_HIST_MIN))
        return 0;
    double b = 1.0 + floor(log(v / MM_HIST_MIN) / log(MM_HIST_RATIO));
    return b >= MM_HIST - 1 ? MM_HIST - 1 : (int)b;
}

/* The upper edge of a bucket (the value a quantile in it reports). */
static double hist_value(int b)
{
    return b == 0 ? MM_HIST_MIN : MM_HIST_MIN * pow(MM_HIST_RATIO, b);
}

void mm_agg_add(mm_agg *a, double v)
{
    if (a->n == 0 || v < a->min)
        a->min = v;
    if (a->n == 0 || v > a->max)
        a->max = v;
    a->n++;
    a->sum += v;
    a->sumsq += v * v;
    a->hist[hist_bucket(v)]++;
}

void mm_agg_merge(mm_agg *into, const mm_agg *from)
{
    if (from->n == 0)
        return;
    if (into->n == 0 || from->min < into->min)
        into->min = from->min;
    if (into->n == 0 || from->max > into->max)
        into->max = from->max;
    into->n += from->n;
    into->sum += from->sum;
    into->sumsq += from->sumsq;
    for (int i = 0; i < MM_HIST; i++)
        into->hist[i] += from->hist[i];
}

static double quantile(const mm_agg *a, double q)
{
    if (a->n == 0)
        return NAN;
    double rank = q * (double)a->n;
    uint64_t seen = 0;
    for (int i = 0; i < MM_HIST; i++) {
        seen += a->hist[i];
        if ((double)seen >= rank && a->hist[i]) {
            /* Bucket 0 holds zero, negatives and tiny values (metrics are mostly >= 0):
             * report 0 when the observed range includes it, else the nearest extreme. */
            if (i == 0)
                return a->min > 0 ? a->min : a->max < 0 ? a->max : 0.0;
            double v = hist_value(i);
            /* Clamp to the exact extremes, which are known. */
            return v > a->max ? a->max : v < a->min ? a->min : v;
        }
    }
    return a->max;
}

static const char *const stats[] = {"mean", "min", "max", "sum", "count", "stddev",
                                    "p50", "p90", "p95", "p99"};

bool mm_stat_known(const char *stat)
{
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(stats); i++)
        if (strcmp(stat, stats[i]) == 0)
            return true;
    return false;
}

double mm_agg_stat(const mm_agg *a, const char *stat)
{
    if (strcmp(stat, "count") == 0)
        return (double)a->n;
    if (a->n == 0)
        return NAN;
    double n = (double)a->n, mean = a->sum / n;
    if (strcmp(stat, "mean") == 0)
        return mean;
    if (strcmp(stat, "min") == 0)
        return a->min;
    if (strcmp(stat, "max") == 0)
        return a->max;
    if (strcmp(stat, "sum") == 0)
        return a->sum;
    if (strcmp(stat, "stddev") == 0) {
        if (a->n < 2)
            return 0.0;
        double var = (a->sumsq - n * mean * mean) / (n - 1.0);
        return var > 0 ? sqrt(var) : 0.0;
    }
    if (stat[0] == 'p')
        return quantile(a, atof(stat + 1) / 100.0);
    return NAN;
}

json_t *mm_agg_json(const mm_agg *a)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    json_object_set_new(o, "n", json_integer(a->n));
    if (a->n > 0) {
        for (size_t i = 0; i < MLOPS__ARRAY_LEN(stats); i++)
            if (strcmp(stats[i], "count") != 0)
                json_object_set_new(o, stats[i], json_real(mm_agg_stat(a, stats[i])));
    }
    return o;
}

int mm_obs_load(mlops__models *m, int64_t dep_id, int64_t phase, int64_t version,
                const char *metric, mm_agg *out)
{
    mm_agg_init(out);
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT n, sum, sumsq, min, max, hist FROM model_observations"
                                  " WHERE deployment_id=?1 AND phase=?2 AND version=?3 AND"
                                  " metric=?4",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, dep_id);
    sqlite3_bind_int64(s, 2, phase);
    sqlite3_bind_int64(s, 3, version);
    sqlite3_bind_text(s, 4, metric, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        out->n = sqlite3_column_int64(s, 0);
        out->sum = sqlite3_column_double(s, 1);
        out->sumsq = sqlite3_column_double(s, 2);
        out->min = sqlite3_column_double(s, 3);
        out->max = sqlite3_column_double(s, 4);
        if (sqlite3_column_bytes(s, 5) == (int)sizeof out->hist)
            memcpy(out->hist, sqlite3_column_blob(s, 5), sizeof out->hist);
    }
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(m->store, step, "model_observations");
    return MLOPS_OK;
}

static int obs_store(mlops__models *m, const mm_delta *d)
{
    mm_agg total;
    int rc = mm_obs_load(m, d->dep_id, d->phase, d->version, d->metric, &total);
    if (rc != MLOPS_OK)
        return rc;
    mm_agg_merge(&total, &d->agg);
    sqlite3_stmt *s;
    rc = mlops__store_prepare(m->store,
                              "INSERT OR REPLACE INTO model_observations(deployment_id, phase,"
                              " version, metric, n, sum, sumsq, min, max, hist)"
                              " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                              &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, d->dep_id);
    sqlite3_bind_int64(s, 2, d->phase);
    sqlite3_bind_int64(s, 3, d->version);
    sqlite3_bind_text(s, 4, d->metric, -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 5, total.n);
    sqlite3_bind_double(s, 6, total.sum);
    sqlite3_bind_double(s, 7, total.sumsq);
    sqlite3_bind_double(s, 8, total.min);
    sqlite3_bind_double(s, 9, total.max);
    sqlite3_bind_blob(s, 10, total.hist, (int)sizeof total.hist, SQLITE_TRANSIENT);
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    if (step != SQLITE_DONE)
        return mlops__store_error(m->store, step, "model_observations");
    return MLOPS_OK;
}

/* obs_lock held: the pending aggregate for a key, created when missing. */
static mm_delta *delta_for(mlops__models *m, int64_t dep_id, int64_t phase, int64_t version,
                           const char *metric, size_t mlen)
{
    for (size_t i = 0; i < m->ndeltas; i++) {
        mm_delta *d = &m->deltas[i];
        if (d->dep_id == dep_id && d->version == version && d->phase == phase &&
            strncmp(d->metric, metric, mlen) == 0 && d->metric[mlen] == '\0')
            return d;
    }
    if (m->ndeltas == m->capdeltas) {
        size_t cap = m->capdeltas ? m->capdeltas * 2 : 8;
        mm_delta *nd = realloc(m->deltas, cap * sizeof *nd);
        if (!nd)
            return NULL;
        m->deltas = nd;
        m->capdeltas = cap;
    }
    mm_delta *d = &m->deltas[m->ndeltas++];
    d->dep_id = dep_id;
    d->phase = phase;
    d->version = version;
    memcpy(d->metric, metric, mlen);
    d->metric[mlen] = '\0';
    mm_agg_init(&d->agg);
    return d;
}

/* Puts back deltas whose flush failed, so that nothing observed is lost. */
static void deltas_restore(mlops__models *m, mm_delta *ds, size_t n)
{
    mlops__mutex_lock(&m->obs_lock);
    for (size_t i = 0; i < n; i++) {
        mm_delta *d = delta_for(m, ds[i].dep_id, ds[i].phase, ds[i].version, ds[i].metric,
                                strlen(ds[i].metric));
        if (d)
            mm_agg_merge(&d->agg, &ds[i].agg);
    }
    mlops__mutex_unlock(&m->obs_lock);
}

int mlops__deploy_flush(mlops__models *m)
{
    mlops__mutex_lock(&m->obs_lock);
    mm_delta *ds = m->deltas;
    size_t n = m->ndeltas;
    m->deltas = NULL;
    m->ndeltas = m->capdeltas = 0;
    m->pending = 0;
    mlops__mutex_unlock(&m->obs_lock);
    if (n == 0) {
        free(ds);
        return MLOPS_OK;
    }
    int rc = mlops__store_begin(m->store);
    for (size_t i = 0; rc == MLOPS_OK && i < n; i++)
        rc = obs_store(m, &ds[i]);
    /* Evaluate each touched deployment once, from the stored totals. */
    for (size_t i = 0; rc == MLOPS_OK && i < n; i++) {
        bool seen = false;
        for (size_t k = 0; k < i && !seen; k++)
            seen = ds[k].dep_id == ds[i].dep_id;
        if (!seen)
            rc = mm_deploy_evaluate(m, ds[i].dep_id);
    }
    if (rc == MLOPS_OK) {
        rc = mlops__store_commit(m->store);
    } else if (rc != MLOPS_OK) {
        int saved = rc;
        mlops__store_rollback(m->store);
        rc = saved;
    }
    if (rc != MLOPS_OK)
        deltas_restore(m, ds, n);
    free(ds);
    mm_invalidate(m);
    return rc;
}

/* The deployments that serve (name, version) right now: (id, phase) pairs. */
typedef struct target {
    int64_t dep_id, phase;
} target;

static int find_targets(mlops__models *m, const char *name, int64_t version, target *t,
                        size_t cap, size_t *n)
{
    *n = 0;
    int rc = mm_refresh(m);
    if (rc != MLOPS_OK)
        return rc;
    mlops__rwlock_rdlock(&m->snap_lock);
    mm_snapshot *s = m->snap;
    for (size_t i = 0; s && i < s->nactive && *n < cap; i++) {
        const mm_route *r = &s->routes[s->active[i]];
        if (strcmp(r->name, name) != 0)
            continue;
        bool has = r->baseline == version || r->candidate == version;
        for (int a = 0; a < r->narms && !has; a++)
            has = r->arm_version[a] == version;
        if (has)
            t[(*n)++] = (target){r->dep_id, r->phase};
    }
    mlops__rwlock_unlock(&m->snap_lock);
    if (*n == 0)
        return mlops__error(MLOPS_ESTATE,
                            "no running deployment of model '%s' includes version %lld", name,
                            (long long)version);
    return MLOPS_OK;
}

typedef struct obs_value {
    const char *metric;
    size_t len;
    double v;
} obs_value;

static int observe(mlops__models *m, const char *name, int64_t version, const obs_value *vals,
                   size_t nvals)
{
    target t[8];
    size_t nt;
    int rc = find_targets(m, name, version, t, 8, &nt);
    if (rc != MLOPS_OK)
        return rc;
    bool flush = false;
    mlops__mutex_lock(&m->obs_lock);
    for (size_t i = 0; i < nt && rc == MLOPS_OK; i++) {
        mm_delta *d = delta_for(m, t[i].dep_id, t[i].phase, version, "__n", 3);
        if (!d) {
            rc = mlops__error_oom("observation");
            break;
        }
        mm_agg_add(&d->agg, 1.0);
        for (size_t k = 0; k < nvals; k++) {
            d = delta_for(m, t[i].dep_id, t[i].phase, version, vals[k].metric, vals[k].len);
            if (!d) {
                rc = mlops__error_oom("observation");
                break;
            }
            mm_agg_add(&d->agg, vals[k].v);
        }
    }
    flush = ++m->pending >= m->flush_every;
    mlops__mutex_unlock(&m->obs_lock);
    if (rc == MLOPS_OK && flush)
        rc = mlops__deploy_flush(m);
    return rc;
}

int mlops__deploy_observe_value(mlops__models *m, const char *name, int64_t version,
                                const char *metric, double value)
{
    size_t len = metric ? strlen(metric) : 0;
    if (!mm_key_ok(metric, len) || metric[0] == '_')
        return mlops__error(MLOPS_EINVAL, "metric '%s': use 1..63 letters, digits, '_', '-' "
                            "(not starting with '_')", metric ? metric : "");
    if (!isfinite(value))
        return mlops__error(MLOPS_EINVAL, "metric '%s': value is not a finite number", metric);
    obs_value v = {metric, len, value};
    return observe(m, name, version, &v, 1);
}

int mlops__deploy_observe(mlops__models *m, const char *name, int64_t version,
                          const json_t *metrics)
{
    if (!json_is_object(metrics))
        return mlops__error(MLOPS_EINVAL, "metrics: expected an object, got %s",
                            mlops__json_type_name(metrics));
    obs_value vals[32];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)metrics, k, v) {
        size_t len = strlen(k);
        if (n == MLOPS__ARRAY_LEN(vals))
            return mlops__error(MLOPS_ELIMIT, "metrics: at most 32 per observation");
        if (!mm_key_ok(k, len) || k[0] == '_')
            return mlops__error(MLOPS_EINVAL, "metrics: name '%s' must be 1..63 letters, digits, "
                                "'_', '-' (not starting with '_')", k);
        if (json_is_boolean(v)) {
            vals[n++] = (obs_value){k, len, json_is_true(v) ? 1.0 : 0.0};
            continue;
        }
        if (!json_is_number(v) || !isfinite(json_number_value(v)))
            return mlops__error(MLOPS_EINVAL, "metrics.%s: expected a finite number, got %s", k,
                                mlops__json_type_name(v));
        vals[n++] = (obs_value){k, len, json_number_value(v)};
    }
    return observe(m, name, version, vals, n);
}
