/*
 * Deployments: one state machine for four strategies.
 *
 *   start ──► running ◄──► paused            (pause / resume, or inconclusive analysis)
 *               │  │
 *               │  └──► rolled_back | aborted (failed analysis past failure_limit,
 *               │                              rollback, abort)
 *               └─────► promoted ──► rolled_back  (blue-green style instant rollback)
 *
 * canary      the alias holder (baseline) serves 100 - w% and the candidate w%, w walking
 *             the steps; each step needs min_observations on the candidate, then the
 *             analysis decides: pass -> next step (after the last: promote), fail ->
 *             failures + 1 and a fresh window, or rollback once failure_limit is reached;
 *             a condition whose metric was never observed is inconclusive -> paused.
 * blue_green  the active version serves everything; the candidate is the preview (observe
 *             it from smoke tests). promote switches the alias atomically; rollback puts
 *             the previous active back. An optional analysis works as one canary step at
 *             weight 0 (auto_promote defaults to false: the switch stays manual).
 * shadow      the baseline answers every request; pick also names the candidate in the
 *             shadows list for `sample`% of requests. Nothing automatic: the shadow never
 *             changes what the primary serves. Observations are kept per version.
 * ab          sticky weighted arms; per-arm metrics and a summary (see ab_summary).
 * Every transition is written to the audit log.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- parsing --- */

static const mlops__json_field strategy_fields[] = {
    {"strategy", MLOPS__J_STRING, true},      {"candidate", MLOPS__J_INTEGER, false},
    {"steps", MLOPS__J_ARRAY, false},         {"min_observations", MLOPS__J_INTEGER, false},
    {"analysis", MLOPS__J_ARRAY, false},      {"failure_limit", MLOPS__J_INTEGER, false},
    {"auto_promote", MLOPS__J_BOOL, false},   {"sample", MLOPS__J_NUMBER, false},
    {"arms", MLOPS__J_ARRAY, false},          {"metric", MLOPS__J_STRING, false},
    {"test", MLOPS__J_STRING, false},         {"min_samples", MLOPS__J_INTEGER, false},
    {"alpha", MLOPS__J_NUMBER, false},        {"srm_alpha", MLOPS__J_NUMBER, false},
    {"salt", MLOPS__J_STRING, false},         {"force", MLOPS__J_BOOL, false},
    {"reason", MLOPS__J_STRING, false},       {NULL, 0, false},
};

/* Keys each strategy accepts besides strategy/salt/force/reason. */
static const char *const allowed[5][10] = {
    {NULL},
    {"candidate", "steps", "min_observations", "analysis", "failure_limit", "auto_promote", NULL},
    {"candidate", "min_observations", "analysis", "failure_limit", "auto_promote", NULL},
    {"candidate", "sample", NULL},
    {"arms", "metric", "test", "min_samples", "alpha", "srm_alpha", NULL},
};

static bool op_ok(const char *op)
{
    static const char *const ops[] = {"<", "<=", ">", ">=", "==", "!="};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(ops); i++)
        if (strcmp(op, ops[i]) == 0)
            return true;
    return false;
}

static bool compare(double v, const char *op, double ref)
{
    if (strcmp(op, "<") == 0)
        return v < ref;
    if (strcmp(op, "<=") == 0)
        return v <= ref;
    if (strcmp(op, ">") == 0)
        return v > ref;
    if (strcmp(op, ">=") == 0)
        return v >= ref;
    if (strcmp(op, "==") == 0)
        return v == ref;
    return v != ref;
}

/* "error_rate <= 0.05" or "latency_ms.p95 <= 300" into the object form. */
static int condition_from_text(const char *text, const char *path, json_t **out)
{
    const char *p = text;
    while (*p == ' ')
        p++;
    const char *ms = p;
    while (*p && !strchr(" <>=!", *p))
        p++;
    size_t mlen = (size_t)(p - ms);
    while (*p == ' ')
        p++;
    char op[3] = {0};
    size_t ol = 0;
    while (*p && strchr("<>=!", *p) && ol < 2)
        op[ol++] = *p++;
    char *end = NULL;
    double v = strtod(p, &end);
    if (end)
        while (*end == ' ')
            end++;
    if (mlen == 0 || mlen >= 128 || !op_ok(op) || end == p || !end || *end || !isfinite(v))
        return mlops__error(MLOPS_EINVAL, "%s: '%s' is not 'metric[.stat] OP number'", path, text);
    char metric[128];
    memcpy(metric, ms, mlen);
    metric[mlen] = '\0';
    const char *stat = "mean";
    char *dot = strrchr(metric, '.');
    if (dot && mm_stat_known(dot + 1)) {
        *dot = '\0';
        stat = dot + 1;
    }
    *out = json_pack("{s:s, s:s, s:s, s:f}", "metric", metric, "stat", stat, "op", op, "value", v);
    return *out ? MLOPS_OK : mlops__error_oom("analysis");
}

static int parse_condition(const json_t *c, const char *path, json_t **out)
{
    *out = NULL;
    json_t *n = NULL;
    int rc;
    if (json_is_string(c)) {
        rc = condition_from_text(json_string_value(c), path, &n);
    } else {
        static const mlops__json_field f[] = {{"metric", MLOPS__J_STRING, true},
                                              {"stat", MLOPS__J_STRING, false},
                                              {"op", MLOPS__J_STRING, true},
                                              {"value", MLOPS__J_NUMBER, true},
                                              {NULL, 0, false}};
        rc = mlops__json_check_fields(c, path, f, MLOPS_EINVAL);
        if (rc == MLOPS_OK)
            n = json_pack("{s:s, s:s, s:s, s:f}", "metric", mlops__json_str(c, "metric", ""),
                          "stat", mlops__json_str(c, "stat", "mean"), "op",
                          mlops__json_str(c, "op", ""), "value", mlops__json_num(c, "value", 0));
        if (rc == MLOPS_OK && !n)
            rc = mlops__error_oom("analysis");
    }
    if (rc != MLOPS_OK)
        return rc;
    const char *metric = mlops__json_str(n, "metric", "");
    const char *stat = mlops__json_str(n, "stat", "");
    const char *op = mlops__json_str(n, "op", "");
    if (!mm_key_ok(metric, strlen(metric)) || metric[0] == '_')
        rc = mlops__error(MLOPS_EINVAL, "%s.metric: '%s' is not a metric name", path, metric);
    else if (!mm_stat_known(stat))
        rc = mlops__error(MLOPS_EINVAL, "%s.stat: '%s' is not one of mean, min, max, sum, count, "
                          "stddev, p50, p90, p95, p99", path, stat);
    else if (!op_ok(op))
        rc = mlops__error(MLOPS_EINVAL, "%s.op: '%s' is not one of <, <=, >, >=, ==, !=", path, op);
    else if (!isfinite(mlops__json_num(n, "value", 0)))
        rc = mlops__error(MLOPS_EINVAL, "%s.value: not finite", path);
    if (rc != MLOPS_OK) {
        json_decref(n);
        return rc;
    }
    *out = n;
    return MLOPS_OK;
}

static int parse_steps(const json_t *steps, json_t *norm)
{
    json_t *out = json_array();
    if (!out)
        return mlops__error_oom("steps");
    json_object_set_new(norm, "steps", out);
    if (!steps) {
        static const double def[] = {10, 50, 100};
        for (size_t i = 0; i < 3; i++)
            json_array_append_new(out, json_pack("{s:f, s:b}", "weight", def[i], "pause", 0));
        return MLOPS_OK;
    }
    size_t n = json_array_size(steps);
    if (n == 0 || n > 32)
        return mlops__error(MLOPS_EINVAL, "strategy.steps: give 1..32 weights");
    double prev = 0;
    for (size_t i = 0; i < n; i++) {
        const json_t *st = json_array_get(steps, i);
        double w;
        bool pause = false;
        if (json_is_number(st)) {
            w = json_number_value(st);
        } else if (json_is_object(st)) {
            static const mlops__json_field f[] = {{"weight", MLOPS__J_NUMBER, true},
                                                  {"pause", MLOPS__J_BOOL, false},
                                                  {NULL, 0, false}};
            char path[40];
            snprintf(path, sizeof path, "strategy.steps[%zu]", i);
            int rc = mlops__json_check_fields(st, path, f, MLOPS_EINVAL);
            if (rc != MLOPS_OK)
                return rc;
            w = mlops__json_num(st, "weight", 0);
            pause = mlops__json_bool(st, "pause", false);
        } else {
            return mlops__error(MLOPS_EINVAL, "strategy.steps[%zu]: expected a weight or "
                                "{\"weight\": W, \"pause\": B}, got %s", i,
                                mlops__json_type_name(st));
        }
        if (!(w > prev) || !(w <= 100))
            return mlops__error(MLOPS_EINVAL, "strategy.steps[%zu]: weight %g must be above the "
                                "previous step and at most 100", i, w);
        prev = w;
        json_array_append_new(out, json_pack("{s:f, s:b}", "weight", w, "pause", pause));
    }
    return MLOPS_OK;
}

static int parse_arms(const json_t *arms, json_t *norm)
{
    size_t n = json_array_size(arms);
    if (!arms)
        return mlops__error(MLOPS_EINVAL, "strategy.arms: required for strategy 'ab'");
    if (n < 2 || n > MM_MAX_ARMS)
        return mlops__error(MLOPS_EINVAL, "strategy.arms: give 2..%d arms", MM_MAX_ARMS);
    json_t *out = json_array();
    if (!out)
        return mlops__error_oom("arms");
    json_object_set_new(norm, "arms", out);
    double sum = 0;
    static const mlops__json_field f[] = {{"name", MLOPS__J_STRING, false},
                                          {"version", MLOPS__J_INTEGER, true},
                                          {"weight", MLOPS__J_NUMBER, true},
                                          {NULL, 0, false}};
    for (size_t i = 0; i < n; i++) {
        const json_t *a = json_array_get(arms, i);
        char path[40];
        snprintf(path, sizeof path, "strategy.arms[%zu]", i);
        int rc = mlops__json_check_fields(a, path, f, MLOPS_EINVAL);
        if (rc != MLOPS_OK)
            return rc;
        int64_t v = mlops__json_int(a, "version", 0);
        double w = mlops__json_num(a, "weight", 0);
        char defname[16];
        snprintf(defname, sizeof defname, "arm%zu", i);
        const char *name = mlops__json_str(a, "name", defname);
        if (v < 1)
            return mlops__error(MLOPS_EINVAL, "%s.version: must be >= 1", path);
        if (!(w > 0) || !(w <= 100))
            return mlops__error(MLOPS_EINVAL, "%s.weight: %g is outside (0, 100]", path, w);
        if (!mm_key_ok(name, strlen(name)))
            return mlops__error(MLOPS_EINVAL, "%s.name: '%s' is not a name", path, name);
        for (size_t k = 0; k < i; k++) {
            json_t *o = json_array_get(out, k);
            if (json_integer_value(json_object_get(o, "version")) == v)
                return mlops__error(MLOPS_EINVAL, "%s.version: version %lld is already arm %zu",
                                    path, (long long)v, k);
            if (strcmp(json_string_value(json_object_get(o, "name")), name) == 0)
                return mlops__error(MLOPS_EINVAL, "%s.name: '%s' is used twice", path, name);
        }
        sum += w;
        json_array_append_new(out, json_pack("{s:s, s:I, s:f}", "name", name, "version",
                                             (json_int_t)v, "weight", w));
    }
    if (fabs(sum - 100.0) > 1e-9)
        return mlops__error(MLOPS_EINVAL, "strategy.arms: weights sum to %g, not 100", sum);
    return MLOPS_OK;
}

int mlops__deploy_strategy_parse(const json_t *strategy, json_t **out)
{
    *out = NULL;
    int rc = mlops__json_check_fields(strategy, "strategy", strategy_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    const char *sname = mlops__json_str(strategy, "strategy", "");
    int st = mm_strategy_parse(sname);
    if (!st)
        return mlops__error(MLOPS_EINVAL, "strategy.strategy: '%s' is not one of canary, "
                            "blue_green, shadow, ab", sname);
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)strategy, key, val) {
        if (!strcmp(key, "strategy") || !strcmp(key, "salt") || !strcmp(key, "force") ||
            !strcmp(key, "reason"))
            continue;
        bool ok = false;
        for (size_t i = 0; allowed[st][i] && !ok; i++)
            ok = strcmp(allowed[st][i], key) == 0;
        if (!ok)
            return mlops__error(MLOPS_EINVAL, "strategy.%s: not used by strategy '%s'", key, sname);
    }
    json_t *n = json_pack("{s:s}", "strategy", sname);
    if (!n)
        return mlops__error_oom("strategy");
    if (st != MM_AB) {
        int64_t cand = mlops__json_int(strategy, "candidate", 0);
        if (cand < 1)
            rc = mlops__error(MLOPS_EINVAL, "strategy.candidate: a version >= 1 is required");
        else
            json_object_set_new(n, "candidate", json_integer(cand));
    }
    if (rc == MLOPS_OK && (st == MM_CANARY || st == MM_BLUE_GREEN)) {
        /* Blue-green has no steps: its analysis is one step at weight 0. */
        if (st == MM_CANARY)
            rc = parse_steps(json_object_get(strategy, "steps"), n);
        int64_t minobs = mlops__json_int(strategy, "min_observations", 100);
        int64_t limit = mlops__json_int(strategy, "failure_limit", 1);
        if (rc == MLOPS_OK && (minobs < 1 || minobs > 1000000000))
            rc = mlops__error(MLOPS_EINVAL, "strategy.min_observations: must be >= 1");
        if (rc == MLOPS_OK && (limit < 1 || limit > 1000))
            rc = mlops__error(MLOPS_EINVAL, "strategy.failure_limit: must be 1..1000");
        json_object_set_new(n, "min_observations", json_integer(minobs));
        json_object_set_new(n, "failure_limit", json_integer(limit));
        json_object_set_new(n, "auto_promote", json_boolean(mlops__json_bool(
                                                   strategy, "auto_promote", st == MM_CANARY)));
        json_t *an = json_array();
        json_object_set_new(n, "analysis", an);
        const json_t *conds = json_object_get(strategy, "analysis");
        if (json_array_size(conds) > 32)
            rc = mlops__error(MLOPS_EINVAL, "strategy.analysis: at most 32 conditions");
        for (size_t i = 0; rc == MLOPS_OK && i < json_array_size(conds); i++) {
            char path[40];
            snprintf(path, sizeof path, "strategy.analysis[%zu]", i);
            json_t *c = NULL;
            rc = parse_condition(json_array_get(conds, i), path, &c);
            if (rc == MLOPS_OK)
                json_array_append_new(an, c);
        }
    }
    if (rc == MLOPS_OK && st == MM_SHADOW) {
        double sample = mlops__json_num(strategy, "sample", 100);
        if (!(sample > 0) || !(sample <= 100))
            rc = mlops__error(MLOPS_EINVAL, "strategy.sample: %g is outside (0, 100]", sample);
        json_object_set_new(n, "sample", json_real(sample));
    }
    if (rc == MLOPS_OK && st == MM_AB) {
        rc = parse_arms(json_object_get(strategy, "arms"), n);
        const char *metric = mlops__json_str(strategy, "metric", NULL);
        const char *test = mlops__json_str(strategy, "test", "proportion");
        double alpha = mlops__json_num(strategy, "alpha", 0.05);
        double srm = mlops__json_num(strategy, "srm_alpha", 0.001);
        int64_t mins = mlops__json_int(strategy, "min_samples", 1000);
        if (rc == MLOPS_OK && (!metric || !mm_key_ok(metric, strlen(metric)) || metric[0] == '_'))
            rc = mlops__error(MLOPS_EINVAL, "strategy.metric: the metric the arms are compared "
                              "on is required (a metric name)");
        if (rc == MLOPS_OK && strcmp(test, "proportion") != 0 && strcmp(test, "mean") != 0)
            rc = mlops__error(MLOPS_EINVAL, "strategy.test: '%s' is not 'proportion' or 'mean'",
                              test);
        if (rc == MLOPS_OK && (!(alpha > 0 && alpha < 1) || !(srm > 0 && srm < 1)))
            rc = mlops__error(MLOPS_EINVAL, "strategy.alpha/srm_alpha: must be in (0, 1)");
        if (rc == MLOPS_OK && mins < 2)
            rc = mlops__error(MLOPS_EINVAL, "strategy.min_samples: must be >= 2");
        if (rc == MLOPS_OK) {
            json_object_set_new(n, "metric", json_string(metric));
            json_object_set_new(n, "test", json_string(test));
            json_object_set_new(n, "alpha", json_real(alpha));
            json_object_set_new(n, "srm_alpha", json_real(srm));
            json_object_set_new(n, "min_samples", json_integer(mins));
        }
    }
    const char *salt = mlops__json_str(strategy, "salt", NULL);
    if (rc == MLOPS_OK && salt)
        json_object_set_new(n, "salt", json_string(salt));
    if (rc != MLOPS_OK) {
        json_decref(n);
        return rc;
    }
    *out = n;
    return MLOPS_OK;
}

/* ---------------------------------------------------------------- rows ------ */

typedef struct dep_row {
    int64_t id, model_id, baseline, candidate, step, phase, failures, started, updated;
    char *name, *alias, *reason, *salt;
    int strategy, state;
    json_t *spec;
} dep_row;

static void dep_row_free(dep_row *d)
{
    free(d->name);
    free(d->alias);
    free(d->reason);
    free(d->salt);
    json_decref(d->spec);
    memset(d, 0, sizeof *d);
}

#define DEP_COLS                                                                               \
    "d.id, d.model_id, m.name, d.alias, d.strategy, d.spec, d.baseline, d.candidate, d.state," \
    " d.step, d.phase, d.failures, d.reason, d.salt, d.started_ms, d.updated_ms"

static int dep_row_read(mlops__models *m, sqlite3_stmt *s, dep_row *d)
{
    memset(d, 0, sizeof *d);
    d->id = sqlite3_column_int64(s, 0);
    d->model_id = sqlite3_column_int64(s, 1);
    d->name = mlops__sql_column_dup(s, 2);
    d->alias = mlops__sql_column_dup(s, 3);
    d->strategy = mm_strategy_parse((const char *)sqlite3_column_text(s, 4));
    d->spec = json_loads((const char *)sqlite3_column_text(s, 5), 0, NULL);
    d->baseline = sqlite3_column_int64(s, 6);
    d->candidate = sqlite3_column_int64(s, 7);
    d->state = mm_state_parse((const char *)sqlite3_column_text(s, 8));
    d->step = sqlite3_column_int64(s, 9);
    d->phase = sqlite3_column_int64(s, 10);
    d->failures = sqlite3_column_int64(s, 11);
    d->reason = mlops__sql_column_dup(s, 12);
    d->salt = mlops__sql_column_dup(s, 13);
    d->started = sqlite3_column_int64(s, 14);
    d->updated = sqlite3_column_int64(s, 15);
    (void)m;
    if (!d->name || !d->alias || !d->spec || !d->reason || !d->salt) {
        dep_row_free(d);
        return mlops__error_oom("deployment");
    }
    return MLOPS_OK;
}

static int dep_by_id(mlops__models *m, int64_t id, dep_row *d)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT " DEP_COLS " FROM model_deployments d JOIN models m ON"
                                  " m.id=d.model_id WHERE d.id=?1",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    bool found;
    rc = mlops__store_step_row(m->store, s, "model_deployments", &found);
    if (rc == MLOPS_OK)
        rc = found ? dep_row_read(m, s, d)
                   : mlops__error(MLOPS_ENOTFOUND, "deployment %lld not found", (long long)id);
    sqlite3_reset(s);
    return rc;
}

/* The newest deployment of (model, alias). */
static int dep_latest(mlops__models *m, const char *name, const char *alias, dep_row *d)
{
    int64_t model_id;
    int rc = mm_model_id(m, name, &model_id);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_stmt *s;
    rc = mlops__store_prepare(m->store,
                              "SELECT " DEP_COLS " FROM model_deployments d JOIN models m ON"
                              " m.id=d.model_id WHERE d.model_id=?1 AND d.alias=?2"
                              " ORDER BY d.id DESC LIMIT 1",
                              &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, model_id);
    sqlite3_bind_text(s, 2, alias, -1, SQLITE_STATIC);
    bool found;
    rc = mlops__store_step_row(m->store, s, "model_deployments", &found);
    if (rc == MLOPS_OK)
        rc = found ? dep_row_read(m, s, d)
                   : mlops__error(MLOPS_ENOTFOUND, "model '%s' has no deployment on alias '%s'",
                                  name, alias);
    sqlite3_reset(s);
    return rc;
}

static int dep_save(mlops__models *m, const dep_row *d)
{
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "UPDATE model_deployments SET state=?2, step=?3, phase=?4,"
                                  " failures=?5, reason=?6, updated_ms=?7 WHERE id=?1",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, d->id);
    sqlite3_bind_text(s, 2, mm_state_name(d->state), -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, d->step);
    sqlite3_bind_int64(s, 4, d->phase);
    sqlite3_bind_int64(s, 5, d->failures);
    sqlite3_bind_text(s, 6, d->reason ? d->reason : "", -1, SQLITE_STATIC);
    sqlite3_bind_int64(s, 7, mlops__wall_ms());
    int step = sqlite3_step(s);
    sqlite3_reset(s);
    return step == SQLITE_DONE ? MLOPS_OK
                               : mlops__store_error(m->store, step, "model_deployments");
}

static void set_reason(dep_row *d, char *reason)
{
    if (!reason)
        return;
    free(d->reason);
    d->reason = reason;
}

static double step_weight(const dep_row *d, int64_t step)
{
    json_t *steps = json_object_get(d->spec, "steps");
    size_t n = json_array_size(steps);
    if (n == 0)
        return 0;
    size_t i = step < 0 ? 0 : (size_t)step >= n ? n - 1 : (size_t)step;
    return json_number_value(json_object_get(json_array_get(steps, i), "weight"));
}

/* Moves to a terminal or paused state with an audit record. */
static int transition(mlops__models *m, dep_row *d, int state, const char *action, char *reason,
                      bool forced)
{
    d->state = state;
    set_reason(d, reason);
    int rc = dep_save(m, d);
    if (rc != MLOPS_OK)
        return rc;
    json_t *detail = json_pack("{s:I, s:s, s:s, s:I, s:I, s:I, s:f}", "deployment",
                               (json_int_t)d->id, "strategy", mm_strategy_name(d->strategy),
                               "state", mm_state_name(state), "step", (json_int_t)d->step,
                               "phase", (json_int_t)d->phase, "failures",
                               (json_int_t)d->failures, "weight", step_weight(d, d->step));
    rc = mm_audit(m, d->name, action, d->candidate, d->alias, forced, d->reason, detail);
    json_decref(detail);
    return rc;
}

static int promote_to(mlops__models *m, dep_row *d, int64_t version, char *reason, bool manual)
{
    int rc = mm_alias_set(m, d->model_id, d->alias, version);
    if (rc != MLOPS_OK) {
        free(reason);
        return rc;
    }
    d->candidate = version;
    sqlite3_stmt *s;
    rc = mlops__store_prepare(m->store, "UPDATE model_deployments SET candidate=?2 WHERE id=?1",
                              &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, d->id);
        sqlite3_bind_int64(s, 2, version);
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_deployments");
    }
    if (rc != MLOPS_OK) {
        free(reason);
        return rc;
    }
    return transition(m, d, MM_PROMOTED, manual ? "deploy_promote" : "deploy_auto_promote",
                      reason, manual);
}

/* ---------------------------------------------------------------- analysis -- */

/* 1 pass, 0 fail, -1 inconclusive; *why describes it. */
static int analyse(mlops__models *m, const dep_row *d, char **why, int *rc_out)
{
    json_t *conds = json_object_get(d->spec, "analysis");
    mlops__buf b;
    mlops__buf_init(&b);
    int verdict = 1;
    size_t i;
    json_t *c;
    *rc_out = MLOPS_OK;
    json_array_foreach(conds, i, c) {
        const char *metric = json_string_value(json_object_get(c, "metric"));
        const char *stat = json_string_value(json_object_get(c, "stat"));
        const char *op = json_string_value(json_object_get(c, "op"));
        double ref = json_number_value(json_object_get(c, "value"));
        mm_agg a;
        int rc = mm_obs_load(m, d->id, d->phase, d->candidate, metric, &a);
        if (rc != MLOPS_OK) {
            *rc_out = rc;
            break;
        }
        if (a.n == 0) {
            if (verdict == 1)
                verdict = -1;
            mlops__buf_printf(&b, "%s%s not observed on version %lld", b.len ? "; " : "", metric,
                              (long long)d->candidate);
            continue;
        }
        double v = mm_agg_stat(&a, stat);
        bool ok = compare(v, op, ref);
        if (!ok)
            verdict = 0;
        mlops__buf_printf(&b, "%s%s %s %g %s %s %g", b.len ? "; " : "", metric, stat, v,
                          ok ? "meets" : "violates", op, ref);
    }
    *why = mlops__buf_take(&b);
    return verdict;
}

int mm_deploy_evaluate(mlops__models *m, int64_t dep_id)
{
    dep_row d;
    int rc = dep_by_id(m, dep_id, &d);
    if (rc != MLOPS_OK)
        return rc;
    if (d.state != MM_RUNNING || (d.strategy != MM_CANARY && d.strategy != MM_BLUE_GREEN)) {
        dep_row_free(&d);
        return MLOPS_OK;
    }
    json_t *analysis = json_object_get(d.spec, "analysis");
    if (d.strategy == MM_BLUE_GREEN && json_array_size(analysis) == 0) {
        dep_row_free(&d);
        return MLOPS_OK;
    }
    mm_agg count;
    rc = mm_obs_load(m, d.id, d.phase, d.candidate, "__n", &count);
    int64_t min_obs = mlops__json_int(d.spec, "min_observations", 100);
    if (rc != MLOPS_OK || count.n < min_obs) {
        dep_row_free(&d);
        return rc;
    }
    char *why = NULL;
    int verdict = analyse(m, &d, &why, &rc);
    size_t nsteps = json_array_size(json_object_get(d.spec, "steps"));
    double weight = step_weight(&d, d.step);
    if (rc != MLOPS_OK) {
        free(why);
    } else if (verdict < 0) {
        rc = transition(m, &d, MM_PAUSED, "deploy_inconclusive",
                        mlops__sprintf("inconclusive at step %lld (weight %g): %s; resume after "
                                       "fixing the observations", (long long)d.step + 1, weight,
                                       why ? why : ""), false);
        free(why);
    } else if (verdict == 0) {
        d.failures++;
        int64_t limit = mlops__json_int(d.spec, "failure_limit", 1);
        if (d.failures >= limit) {
            rc = transition(m, &d, MM_ROLLED_BACK, "deploy_auto_rollback",
                            mlops__sprintf("analysis failed at step %lld (weight %g), failure "
                                           "%lld of %lld: %s", (long long)d.step + 1, weight,
                                           (long long)d.failures, (long long)limit,
                                           why ? why : ""), false);
        } else {
            d.phase++;
            set_reason(&d, mlops__sprintf("analysis failed at step %lld (failure %lld of %lld): "
                                          "%s; observing again", (long long)d.step + 1,
                                          (long long)d.failures, (long long)limit,
                                          why ? why : ""));
            rc = dep_save(m, &d);
            if (rc == MLOPS_OK)
                rc = mm_audit(m, d.name, "deploy_analysis_failed", d.candidate, d.alias, false,
                              d.reason, NULL);
        }
        free(why);
    } else {
        d.phase++;
        if ((size_t)d.step + 1 >= nsteps) {
            if (mlops__json_bool(d.spec, "auto_promote", true))
                rc = promote_to(m, &d, d.candidate,
                                mlops__sprintf("analysis passed at every step: %s",
                                               why ? why : "no conditions"), false);
            else
                rc = transition(m, &d, MM_PAUSED, "deploy_analysis_passed",
                                mlops__sprintf("analysis passed (%s); promote by hand",
                                               why ? why : "no conditions"), false);
        } else {
            d.step++;
            bool pause = json_is_true(json_object_get(
                json_array_get(json_object_get(d.spec, "steps"), (size_t)d.step), "pause"));
            char *r = mlops__sprintf("step %lld passed (%s); now at weight %g",
                                     (long long)d.step, why ? why : "no conditions",
                                     step_weight(&d, d.step));
            if (pause)
                rc = transition(m, &d, MM_PAUSED, "deploy_step_pause", r, false);
            else {
                set_reason(&d, r);
                rc = dep_save(m, &d);
                if (rc == MLOPS_OK)
                    rc = mm_audit(m, d.name, "deploy_step", d.candidate, d.alias, false, d.reason,
                                  NULL);
            }
        }
        free(why);
    }
    dep_row_free(&d);
    return rc;
}

/* ---------------------------------------------------------------- status ---- */

typedef struct vm_agg {
    int64_t version;
    char metric[MM_METRIC_MAX];
    mm_agg agg;
} vm_agg;

/* Lock held: merged aggregates of a deployment (one phase, or all when phase < 0). */
static int load_aggs(mlops__models *m, int64_t dep_id, int64_t phase, vm_agg **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT phase, version, metric, n, sum, sumsq, min, max, hist"
                                  " FROM model_observations WHERE deployment_id=?1"
                                  " ORDER BY version, metric",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, dep_id);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (phase >= 0 && sqlite3_column_int64(s, 0) != phase)
            continue;
        int64_t version = sqlite3_column_int64(s, 1);
        const char *metric = (const char *)sqlite3_column_text(s, 2);
        mm_agg a;
        mm_agg_init(&a);
        a.n = sqlite3_column_int64(s, 3);
        a.sum = sqlite3_column_double(s, 4);
        a.sumsq = sqlite3_column_double(s, 5);
        a.min = sqlite3_column_double(s, 6);
        a.max = sqlite3_column_double(s, 7);
        if (sqlite3_column_bytes(s, 8) == (int)sizeof a.hist)
            memcpy(a.hist, sqlite3_column_blob(s, 8), sizeof a.hist);
        vm_agg *e = NULL;
        for (size_t i = 0; i < *n && !e; i++)
            if ((*out)[i].version == version && strcmp((*out)[i].metric, metric) == 0)
                e = &(*out)[i];
        if (!e) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                vm_agg *na = realloc(*out, cap * sizeof *na);
                if (!na) {
                    rc = mlops__error_oom("status");
                    break;
                }
                *out = na;
            }
            e = &(*out)[(*n)++];
            e->version = version;
            snprintf(e->metric, sizeof e->metric, "%s", metric);
            mm_agg_init(&e->agg);
        }
        mm_agg_merge(&e->agg, &a);
    }
    if (rc == MLOPS_OK && step != SQLITE_DONE)
        rc = mlops__store_error(m->store, step, "model_observations");
    sqlite3_reset(s);
    if (rc != MLOPS_OK) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

static const mm_agg *find_agg(const vm_agg *a, size_t n, int64_t version, const char *metric)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].version == version && strcmp(a[i].metric, metric) == 0)
            return &a[i].agg;
    return NULL;
}

/*
 * A/B summary: arm 0 is the control; every other arm is compared with it on spec.metric
 * (two-proportion z-test for 0/1 outcomes, Welch's t-test for means). A comparison is
 * significant only with min_samples on both arms, p < alpha, and no sample-ratio
 * mismatch: a chi-square goodness-of-fit test of the arms' observation counts against
 * their weights (p < srm_alpha flags a broken split, whose results are not trusted).
 */
static json_t *ab_summary(const dep_row *d, const vm_agg *aggs, size_t naggs)
{
    json_t *arms = json_object_get(d->spec, "arms");
    const char *metric = mlops__json_str(d->spec, "metric", "");
    bool prop = strcmp(mlops__json_str(d->spec, "test", "proportion"), "proportion") == 0;
    double alpha = mlops__json_num(d->spec, "alpha", 0.05);
    double srm_alpha = mlops__json_num(d->spec, "srm_alpha", 0.001);
    int64_t mins = mlops__json_int(d->spec, "min_samples", 1000);
    size_t k = json_array_size(arms);
    double observed[MM_MAX_ARMS] = {0}, share[MM_MAX_ARMS] = {0};
    mm_agg empty;
    mm_agg_init(&empty);
    const mm_agg *am[MM_MAX_ARMS];
    json_t *out_arms = json_array();
    for (size_t i = 0; i < k && i < MM_MAX_ARMS; i++) {
        json_t *a = json_array_get(arms, i);
        int64_t v = json_integer_value(json_object_get(a, "version"));
        const mm_agg *cnt = find_agg(aggs, naggs, v, "__n");
        am[i] = find_agg(aggs, naggs, v, metric);
        if (!am[i])
            am[i] = &empty;
        observed[i] = cnt ? (double)cnt->n : 0;
        share[i] = json_number_value(json_object_get(a, "weight")) / 100.0;
        json_array_append_new(out_arms,
                              json_pack("{s:O, s:I, s:f, s:I, s:o}", "name",
                                        json_object_get(a, "name"), "version", (json_int_t)v,
                                        "weight", share[i] * 100.0, "observations",
                                        (json_int_t)observed[i], metric, mm_agg_json(am[i])));
    }
    double srm_p;
    double chi2 = mlops__stats_chi2_gof(observed, share, (int)k, &srm_p);
    bool srm = srm_p < srm_alpha;
    json_t *cmp = json_array();
    for (size_t i = 1; i < k && i < MM_MAX_ARMS; i++) {
        const mm_agg *c = am[0], *t = am[i];
        double n1 = (double)c->n, n2 = (double)t->n;
        double m1 = n1 > 0 ? c->sum / n1 : 0, m2 = n2 > 0 ? t->sum / n2 : 0;
        double p = 1.0, stat, df = 0;
        if (prop) {
            stat = mlops__stats_ztest_prop(c->sum, n1, t->sum, n2, &p);
        } else {
            double v1 = n1 > 1 ? (c->sumsq - n1 * m1 * m1) / (n1 - 1) : 0;
            double v2 = n2 > 1 ? (t->sumsq - n2 * m2 * m2) / (n2 - 1) : 0;
            stat = mlops__stats_welch(m1, v1 > 0 ? v1 : 0, n1, m2, v2 > 0 ? v2 : 0, n2, &df, &p);
        }
        bool enough = c->n >= mins && t->n >= mins;
        json_t *e = json_pack("{s:O, s:O, s:s, s:f, s:f, s:f, s:f, s:f, s:b, s:b}", "arm",
                              json_object_get(json_array_get(arms, i), "name"), "control",
                              json_object_get(json_array_get(arms, 0), "name"), "test",
                              prop ? "two_proportion_z" : "welch_t", "control_mean", m1,
                              "arm_mean", m2, "difference", m2 - m1, prop ? "z" : "t", stat,
                              "p_value", p, "enough_samples", enough, "significant",
                              enough && !srm && p < alpha);
        if (!prop && e)
            json_object_set_new(e, "df", json_real(df));
        json_array_append_new(cmp, e);
    }
    return json_pack("{s:s, s:o, s:o, s:{s:b, s:f, s:f, s:f}, s:I, s:f}", "metric", metric,
                     "arms", out_arms, "comparisons", cmp, "srm", "detected", srm, "chi2", chi2,
                     "p_value", srm_p, "alpha", srm_alpha, "min_samples", (json_int_t)mins,
                     "alpha", alpha);
}

static int status_json(mlops__models *m, const dep_row *d, json_t **out)
{
    bool per_phase = d->strategy == MM_CANARY || d->strategy == MM_BLUE_GREEN;
    vm_agg *aggs = NULL;
    size_t n = 0;
    int rc = load_aggs(m, d->id, per_phase ? d->phase : -1, &aggs, &n);
    if (rc != MLOPS_OK)
        return rc;
    json_t *obs = json_object();
    for (size_t i = 0; i < n; i++) {
        char key[24];
        snprintf(key, sizeof key, "%lld", (long long)aggs[i].version);
        json_t *v = json_object_get(obs, key);
        if (!v) {
            v = json_pack("{s:I, s:{}}", "observations", (json_int_t)0, "metrics");
            json_object_set_new(obs, key, v);
        }
        if (strcmp(aggs[i].metric, "__n") == 0)
            json_object_set_new(v, "observations", json_integer(aggs[i].agg.n));
        else
            json_object_set_new(json_object_get(v, "metrics"), aggs[i].metric,
                                mm_agg_json(&aggs[i].agg));
    }
    char started[32], updated[32];
    mlops__format_time(d->started, started);
    mlops__format_time(d->updated, updated);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I, s:I, s:s, s:s,"
                          " s:s, s:O, s:o}",
                          "id", (json_int_t)d->id, "model", d->name, "alias", d->alias,
                          "strategy", mm_strategy_name(d->strategy), "state",
                          mm_state_name(d->state), "reason", d->reason, "baseline",
                          d->baseline ? json_integer(d->baseline) : json_null(), "candidate",
                          d->candidate ? json_integer(d->candidate) : json_null(), "step",
                          (json_int_t)d->step, "phase", (json_int_t)d->phase, "failures",
                          (json_int_t)d->failures, "salt", d->salt, "started_at", started,
                          "updated_at", updated, "spec", d->spec, "observations", obs);
    if (o && d->strategy == MM_CANARY)
        json_object_set_new(o, "weight", json_real(d->state == MM_PROMOTED ? 100.0
                                                   : step_weight(d, d->step)));
    if (o && d->strategy == MM_AB)
        json_object_set_new(o, "ab", ab_summary(d, aggs, n));
    free(aggs);
    if (!o)
        return mlops__error_oom("status");
    *out = o;
    return MLOPS_OK;
}

/* Checks (name, alias), then writes pending observations: they belong to the state
 * that status reports or an action acts on. */
static int check_and_flush(mlops__models *m, const char *name, const char *alias)
{
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mm_alias_check(alias, true);
    return rc == MLOPS_OK ? mlops__deploy_flush(m) : rc;
}

int mlops__deploy_status(mlops__models *m, const char *name, const char *alias, json_t **out)
{
    *out = NULL;
    int rc = check_and_flush(m, name, alias);
    if (rc != MLOPS_OK)
        return rc;
    mlops__store_lock(m->store);
    dep_row d;
    rc = dep_latest(m, name, alias, &d);
    if (rc == MLOPS_OK) {
        rc = status_json(m, &d, out);
        dep_row_free(&d);
    }
    mlops__store_unlock(m->store);
    return rc;
}

/* ---------------------------------------------------------------- start ----- */

int mlops__deploy_start(mlops__models *m, const char *name, const char *alias,
                        const json_t *strategy, json_t **out)
{
    *out = NULL;
    json_t *spec = NULL;
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mm_alias_check(alias, true);
    if (rc == MLOPS_OK)
        rc = mlops__deploy_strategy_parse(strategy, &spec);
    if (rc != MLOPS_OK)
        return rc;
    bool force = mlops__json_bool(strategy, "force", false);
    const char *reason = mlops__json_str(strategy, "reason", NULL);
    if (force && (!reason || !*reason)) {
        json_decref(spec);
        return mlops__error(MLOPS_EINVAL, "strategy.reason: a forced start needs a reason");
    }
    int st = mm_strategy_parse(mlops__json_str(spec, "strategy", ""));
    int64_t cand = mlops__json_int(spec, "candidate", 0);
    char *spec_text = NULL, *salt = NULL;
    json_t *decision = NULL;
    bool blocked = false;
    int64_t model_id = 0, baseline = 0, dep_id = 0;
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK) {
        json_decref(spec);
        return rc;
    }
    rc = mm_model_id(m, name, &model_id);
    if (rc == MLOPS_OK)
        rc = mm_alias_get(m, model_id, alias, &baseline);
    if (rc == MLOPS_OK && st != MM_AB) {
        rc = mm_version_exists(m, model_id, name, cand);
        if (rc == MLOPS_OK && !baseline)
            rc = mlops__error(MLOPS_ESTATE, "model '%s' has no version on alias '%s': promote a "
                              "first version before a %s deployment", name, alias,
                              mm_strategy_name(st));
        if (rc == MLOPS_OK && baseline == cand)
            rc = mlops__error(MLOPS_ESTATE, "version %lld already holds alias '%s' of '%s'",
                              (long long)cand, alias, name);
    }
    for (size_t i = 0; rc == MLOPS_OK && st == MM_AB &&
                       i < json_array_size(json_object_get(spec, "arms"));
         i++)
        rc = mm_version_exists(
            m, model_id, name,
            json_integer_value(json_object_get(json_array_get(json_object_get(spec, "arms"), i),
                                               "version")));
    /* The gate guards live traffic too: a candidate the gate refuses does not start. */
    if (rc == MLOPS_OK && (st == MM_CANARY || st == MM_BLUE_GREEN)) {
        bool passed = false;
        rc = mm_gate_evaluate(m, model_id, name, cand, alias, &decision, &passed);
        if (rc == MLOPS_OK && !passed) {
            json_object_set_new(decision, "forced", json_boolean(force));
            json_object_set_new(decision, "action", json_string(force ? "started" : "blocked"));
            blocked = !force;
            rc = mm_audit(m, name, force ? "deploy_start_forced" : "deploy_blocked", cand, alias,
                          force, reason, decision);
        }
    }
    if (rc == MLOPS_OK && !blocked) {
        const char *given = mlops__json_str(spec, "salt", NULL);
        salt = given ? mlops__strdup(given)
                     : mlops__sprintf("%s@%s/%lld", name, alias, (long long)mlops__wall_ms());
        rc = salt ? mlops__json_dump(spec, &spec_text) : mlops__error_oom("deployment");
    }
    sqlite3_stmt *s;
    if (rc == MLOPS_OK && !blocked)
        rc = mlops__store_prepare(m->store,
                                  "INSERT INTO model_deployments(model_id, alias, strategy, spec,"
                                  " baseline, candidate, state, salt, started_ms, updated_ms)"
                                  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9)",
                                  &s);
    if (rc == MLOPS_OK && !blocked) {
        bool pause0 = json_is_true(json_object_get(
            json_array_get(json_object_get(spec, "steps"), 0), "pause"));
        sqlite3_bind_int64(s, 1, model_id);
        sqlite3_bind_text(s, 2, alias, -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, mm_strategy_name(st), -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 4, spec_text, -1, SQLITE_STATIC);
        if (baseline)
            sqlite3_bind_int64(s, 5, baseline);
        if (cand)
            sqlite3_bind_int64(s, 6, cand);
        sqlite3_bind_text(s, 7, pause0 ? "paused" : "running", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 8, salt, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 9, mlops__wall_ms());
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if ((step & 0xff) == SQLITE_CONSTRAINT)
            rc = mlops__error(MLOPS_ESTATE, "a deployment of '%s'@%s is already running or "
                              "paused: finish, abort or roll it back first", name, alias);
        else if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_deployments");
        if (rc == MLOPS_OK &&
            (rc = mlops__store_prepare(m->store, "SELECT last_insert_rowid()", &s)) == MLOPS_OK) {
            if (sqlite3_step(s) == SQLITE_ROW)
                dep_id = sqlite3_column_int64(s, 0);
            sqlite3_reset(s);
        }
    }
    if (rc == MLOPS_OK && !blocked) {
        json_t *detail = json_pack("{s:I, s:O, s:o}", "deployment", (json_int_t)dep_id, "spec",
                                   spec, "gate", decision ? json_incref(decision) : json_null());
        rc = mm_audit(m, name, "deploy_start", cand, alias, force, reason, detail);
        json_decref(detail);
    }
    free(spec_text);
    free(salt);
    json_decref(spec);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        json_decref(decision);
        return rc;
    }
    rc = mlops__store_commit(m->store);
    mm_invalidate(m);
    if (rc != MLOPS_OK) {
        json_decref(decision);
        return rc;
    }
    if (blocked) {
        *out = decision;
        return mlops__error(MLOPS_EGATE, "model '%s' version %lld: the gate for alias '%s' "
                            "refused the deployment (see the decision)", name, (long long)cand,
                            alias);
    }
    json_decref(decision);
    return mlops__deploy_status(m, name, alias, out);
}

/* ---------------------------------------------------------------- actions --- */

static const char *action_name(enum mlops__deploy_action a)
{
    switch (a) {
    case MLOPS__DEPLOY_ROLLBACK: return "rollback";
    case MLOPS__DEPLOY_ABORT: return "abort";
    case MLOPS__DEPLOY_RESUME: return "resume";
    case MLOPS__DEPLOY_PAUSE: return "pause";
    default: return "promote";
    }
}

/* MLOPS_ESTATE for an action the deployment's current state does not allow. */
static int state_refuses(const dep_row *d, const char *name, const char *alias, const char *rule)
{
    return mlops__error(MLOPS_ESTATE, "deployment %lld of '%s'@%s is %s: %s", (long long)d->id,
                        name, alias, mm_state_name(d->state), rule);
}

/* A transition asked for by hand: the reason text passes to transition(), which owns it. */
static int by_hand(mlops__models *m, dep_row *d, int state, const char *action, char **why)
{
    char *reason = *why;
    *why = NULL;
    return transition(m, d, state, action, reason, true);
}

int mlops__deploy_action(mlops__models *m, const char *name, const char *alias,
                         enum mlops__deploy_action action, int64_t version, const char *reason,
                         json_t **out)
{
    *out = NULL;
    int rc = check_and_flush(m, name, alias);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        return rc;
    dep_row d;
    rc = dep_latest(m, name, alias, &d);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        return rc;
    }
    bool active = d.state == MM_RUNNING || d.state == MM_PAUSED;
    char *why = reason && *reason ? mlops__strdup(reason)
                                  : mlops__sprintf("%s by hand", action_name(action));
    switch (action) {
    case MLOPS__DEPLOY_ROLLBACK:
        if (d.state == MM_PROMOTED) {
            /* Instant rollback: the previous active version gets the alias back. */
            int64_t holder = 0;
            rc = mm_alias_get(m, d.model_id, d.alias, &holder);
            if (rc == MLOPS_OK && holder != d.candidate)
                rc = mlops__error(MLOPS_ESTATE, "alias '%s' of '%s' has moved on to version %lld "
                                  "since deployment %lld; promote explicitly instead", alias,
                                  name, (long long)holder, (long long)d.id);
            if (rc == MLOPS_OK && d.baseline)
                rc = mm_alias_set(m, d.model_id, d.alias, d.baseline);
            if (rc == MLOPS_OK)
                rc = by_hand(m, &d, MM_ROLLED_BACK, "deploy_rollback", &why);
        } else {
            rc = active ? by_hand(m, &d, MM_ROLLED_BACK, "deploy_rollback", &why)
                        : state_refuses(&d, name, alias, "nothing to roll back");
        }
        break;
    case MLOPS__DEPLOY_ABORT:
        rc = active ? by_hand(m, &d, MM_ABORTED, "deploy_abort", &why)
                    : state_refuses(&d, name, alias,
                                    "only a running or paused deployment can be aborted");
        break;
    case MLOPS__DEPLOY_RESUME:
        if (d.state != MM_PAUSED) {
            rc = state_refuses(&d, name, alias, "only a paused deployment can be resumed");
            break;
        }
        d.phase++; /* a fresh observation window */
        rc = by_hand(m, &d, MM_RUNNING, "deploy_resume", &why);
        break;
    case MLOPS__DEPLOY_PAUSE:
        rc = d.state == MM_RUNNING
                 ? by_hand(m, &d, MM_PAUSED, "deploy_pause", &why)
                 : state_refuses(&d, name, alias, "only a running deployment can be paused");
        break;
    case MLOPS__DEPLOY_PROMOTE: {
        int64_t v = version ? version : d.candidate;
        if (!active)
            rc = state_refuses(&d, name, alias,
                               "only a running or paused deployment can be promoted");
        else if (d.strategy == MM_AB) {
            bool arm = false;
            json_t *arms = json_object_get(d.spec, "arms");
            for (size_t i = 0; i < json_array_size(arms); i++)
                arm = arm || json_integer_value(json_object_get(json_array_get(arms, i),
                                                                "version")) == v;
            if (!v || !arm)
                rc = mlops__error(MLOPS_EINVAL, "version: an A/B promotion names the winning "
                                  "arm's version");
        } else if (v != d.candidate) {
            rc = mlops__error(MLOPS_EINVAL, "version: %lld is not the deployment's candidate "
                              "(%lld)", (long long)v, (long long)d.candidate);
        }
        if (rc == MLOPS_OK) {
            rc = promote_to(m, &d, v, why, true);
            why = NULL;
        }
        break;
    }
    }
    free(why);
    int64_t id = d.id;
    dep_row_free(&d);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        return rc;
    }
    if (rc == MLOPS_OK && (rc = dep_by_id(m, id, &d)) == MLOPS_OK) {
        rc = status_json(m, &d, out);
        dep_row_free(&d);
    }
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        return rc;
    }
    rc = mlops__store_commit(m->store);
    mm_invalidate(m);
    if (rc != MLOPS_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}
