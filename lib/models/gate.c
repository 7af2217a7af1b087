/*
 * Validation gates: a rule set per model (alias "") and optionally per alias; a
 * promotion moves an alias only when every rule passes.
 *
 * Rule semantics follow MLflow's MetricThreshold: every comparison is inclusive.
 *  - threshold: candidate >= threshold (greater_is_better) or <= threshold (lower);
 *  - min_absolute_change: (candidate - baseline) >= min (higher), (baseline - candidate)
 *    >= min (lower), where the baseline is the version holding the target alias;
 *  - min_relative_change: the same change divided by |baseline| >= min. When the
 *    baseline is 0 the ratio is undefined: the check passes only if the candidate is
 *    strictly better than 0 in the rule's direction (any real improvement over a zero
 *    baseline counts as an infinite relative change); an equal or worse candidate fails.
 *  - A metric missing from the candidate fails. A metric missing from the baseline fails
 *    its change checks. With no baseline (the alias is unset) change checks are skipped.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops__json_field rule_fields[] = {
    {"metric", MLOPS__J_STRING, true},
    {"greater_is_better", MLOPS__J_BOOL, false},
    {"direction", MLOPS__J_STRING, false},
    {"threshold", MLOPS__J_NUMBER, false},
    {"min_absolute_change", MLOPS__J_NUMBER, false},
    {"min_relative_change", MLOPS__J_NUMBER, false},
    {NULL, 0, false},
};

static bool metric_name_ok(const char *s)
{
    const char *dot = strchr(s, '.');
    if (!dot)
        return mm_key_ok(s, strlen(s));
    return mm_key_ok(s, (size_t)(dot - s)) && mm_key_ok(dot + 1, strlen(dot + 1));
}

int mlops__models_rules_parse(const json_t *rules, json_t **out)
{
    *out = NULL;
    const json_t *arr = rules;
    if (json_is_object(rules)) {
        static const mlops__json_field top[] = {{"rules", MLOPS__J_ARRAY, true}, {NULL, 0, false}};
        int rc = mlops__json_check_fields(rules, "rules", top, MLOPS_EINVAL);
        if (rc != MLOPS_OK)
            return rc;
        arr = json_object_get(rules, "rules");
    }
    if (!json_is_array(arr))
        return mlops__error(MLOPS_EINVAL, "rules: expected an array of rules or {\"rules\": [...]}, "
                            "got %s", mlops__json_type_name(arr));
    if (json_array_size(arr) > 64)
        return mlops__error(MLOPS_ELIMIT, "rules: at most 64 rules");
    json_t *norm = json_array();
    if (!norm)
        return mlops__error_oom("rules");
    size_t i;
    json_t *r;
    json_array_foreach(arr, i, r) {
        char path[32];
        snprintf(path, sizeof path, "rules[%zu]", i);
        int rc = mlops__json_check_fields(r, path, rule_fields, MLOPS_EINVAL);
        const char *metric = mlops__json_str(r, "metric", "");
        if (rc == MLOPS_OK && !metric_name_ok(metric))
            rc = mlops__error(MLOPS_EINVAL, "%s.metric: '%s' is not a metric name (name or "
                              "split.name of letters, digits, '_', '-')", path, metric);
        bool gib = mlops__json_bool(r, "greater_is_better", true);
        const char *dir = mlops__json_str(r, "direction", NULL);
        if (rc == MLOPS_OK && dir) {
            if (json_object_get(r, "greater_is_better"))
                rc = mlops__error(MLOPS_EINVAL, "%s: give direction or greater_is_better, not "
                                  "both", path);
            else if (strcmp(dir, "higher") == 0)
                gib = true;
            else if (strcmp(dir, "lower") == 0)
                gib = false;
            else
                rc = mlops__error(MLOPS_EINVAL, "%s.direction: '%s' is not 'higher' or 'lower'",
                                  path, dir);
        }
        json_t *thr = json_object_get(r, "threshold");
        json_t *abs = json_object_get(r, "min_absolute_change");
        json_t *rel = json_object_get(r, "min_relative_change");
        if (rc == MLOPS_OK && !thr && !abs && !rel)
            rc = mlops__error(MLOPS_EINVAL, "%s: needs threshold, min_absolute_change or "
                              "min_relative_change", path);
        if (rc == MLOPS_OK && ((thr && !isfinite(json_number_value(thr))) ||
                               (abs && !(json_number_value(abs) >= 0)) ||
                               (rel && !(json_number_value(rel) >= 0))))
            rc = mlops__error(MLOPS_EINVAL, "%s: changes must be numbers >= 0", path);
        if (rc == MLOPS_OK && (abs && !isfinite(json_number_value(abs))))
            rc = mlops__error(MLOPS_EINVAL, "%s.min_absolute_change: not finite", path);
        if (rc == MLOPS_OK && (rel && !isfinite(json_number_value(rel))))
            rc = mlops__error(MLOPS_EINVAL, "%s.min_relative_change: not finite", path);
        if (rc != MLOPS_OK) {
            json_decref(norm);
            return rc;
        }
        json_t *n = json_pack("{s:s, s:b}", "metric", metric, "greater_is_better", gib);
        if (n && thr)
            json_object_set_new(n, "threshold", json_real(json_number_value(thr)));
        if (n && abs)
            json_object_set_new(n, "min_absolute_change", json_real(json_number_value(abs)));
        if (n && rel)
            json_object_set_new(n, "min_relative_change", json_real(json_number_value(rel)));
        if (!n || json_array_append_new(norm, n) != 0) {
            json_decref(norm);
            return mlops__error_oom("rules");
        }
    }
    *out = norm;
    return MLOPS_OK;
}

/* '$."a"."b"' for a dotted metric name (already checked). */
static char *metric_path(const char *metric)
{
    const char *dot = strchr(metric, '.');
    if (!dot)
        return mlops__sprintf("$.\"%s\"", metric);
    return mlops__sprintf("$.\"%.*s\".\"%s\"", (int)(dot - metric), metric, dot + 1);
}

int mlops__models_set_gate(mlops__models *m, const char *name, const char *alias,
                           const json_t *rules)
{
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK && alias)
        rc = mm_alias_check(alias, true);
    json_t *norm = NULL;
    if (rc == MLOPS_OK)
        rc = mlops__models_rules_parse(rules, &norm);
    if (rc != MLOPS_OK)
        return rc;
    char *text = NULL;
    if ((rc = mlops__json_dump(norm, &text)) != MLOPS_OK) {
        json_decref(norm);
        return rc;
    }
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        goto out;
    int64_t id;
    sqlite3_stmt *s;
    rc = mm_model_id(m, name, &id);
    /* A rule on a metric that no version logs is almost certainly a typo. */
    int64_t nversions = 0;
    if (rc == MLOPS_OK &&
        (rc = mlops__store_prepare(m->store,
                                   "SELECT COUNT(*) FROM model_versions WHERE model_id=?1",
                                   &s)) == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        if (sqlite3_step(s) == SQLITE_ROW)
            nversions = sqlite3_column_int64(s, 0);
        sqlite3_reset(s);
    }
    size_t i;
    json_t *r;
    json_array_foreach(norm, i, r) {
        if (rc != MLOPS_OK || nversions == 0)
            break;
        const char *metric = json_string_value(json_object_get(r, "metric"));
        char *path = metric_path(metric);
        if (!path) {
            rc = mlops__error_oom("rules");
            break;
        }
        rc = mlops__store_prepare(m->store,
                                  "SELECT 1 FROM model_versions WHERE model_id=?1 AND"
                                  " json_type(metrics, ?2) IN ('integer', 'real') LIMIT 1",
                                  &s);
        if (rc == MLOPS_OK) {
            sqlite3_bind_int64(s, 1, id);
            sqlite3_bind_text(s, 2, path, -1, SQLITE_STATIC);
            int step = sqlite3_step(s);
            sqlite3_reset(s);
            if (step == SQLITE_DONE)
                rc = mlops__error(MLOPS_EINVAL,
                                  "rules[%zu].metric: no version of model '%s' logs metric '%s'",
                                  i, name, metric);
            else if (step != SQLITE_ROW)
                rc = mlops__store_error(m->store, step, "model_versions");
        }
        free(path);
    }
    if (rc == MLOPS_OK)
        rc = json_array_size(norm) == 0
                 ? mlops__store_prepare(m->store,
                                        "DELETE FROM model_gates WHERE model_id=?1 AND alias=?2"
                                        " AND ?3 IS NOT NULL AND ?4 IS NOT NULL",
                                        &s)
                 : mlops__store_prepare(m->store,
                                        "INSERT INTO model_gates(model_id, alias, rules,"
                                        " updated_ms) VALUES(?1, ?2, ?3, ?4) ON CONFLICT DO"
                                        " UPDATE SET rules=excluded.rules,"
                                        " updated_ms=excluded.updated_ms",
                                        &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_int64(s, 1, id);
        sqlite3_bind_text(s, 2, alias ? alias : "", -1, SQLITE_STATIC);
        sqlite3_bind_text(s, 3, text, -1, SQLITE_STATIC);
        sqlite3_bind_int64(s, 4, mlops__wall_ms());
        int step = sqlite3_step(s);
        sqlite3_reset(s);
        if (step != SQLITE_DONE)
            rc = mlops__store_error(m->store, step, "model_gates");
    }
    if (rc == MLOPS_OK)
        rc = mm_audit(m, name, "set_gate", 0, alias, false, NULL, norm);
    if (rc != MLOPS_OK)
        mlops__store_rollback(m->store);
    else
        rc = mlops__store_commit(m->store);
out:
    free(text);
    json_decref(norm);
    return rc;
}

/* Lock held: the rules that apply to `alias` (alias row, else model row), or NULL. */
static int load_rules(mlops__models *m, int64_t id, const char *alias, json_t **rules,
                      const char **scope)
{
    *rules = NULL;
    *scope = "none";
    sqlite3_stmt *s;
    int rc = mlops__store_prepare(m->store,
                                  "SELECT rules, alias FROM model_gates WHERE model_id=?1 AND"
                                  " alias IN (?2, '') ORDER BY alias DESC LIMIT 1",
                                  &s);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    sqlite3_bind_text(s, 2, alias ? alias : "", -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *rules = json_loads((const char *)sqlite3_column_text(s, 0), 0, NULL);
        *scope = sqlite3_column_bytes(s, 1) > 0 ? "alias" : "model";
    }
    sqlite3_reset(s);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return mlops__store_error(m->store, step, "model_gates");
    return MLOPS_OK;
}

int mlops__models_get_gate(mlops__models *m, const char *name, const char *alias,
                           json_t **out)
{
    *out = NULL;
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK && alias)
        rc = mm_alias_check(alias, true);
    if (rc != MLOPS_OK)
        return rc;
    mlops__store_lock(m->store);
    int64_t id;
    json_t *rules = NULL;
    const char *scope = "none";
    rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK)
        rc = load_rules(m, id, alias, &rules, &scope);
    mlops__store_unlock(m->store);
    if (rc != MLOPS_OK)
        return rc;
    *out = json_pack("{s:s, s:o, s:s, s:o}", "model", name, "alias",
                     alias ? json_string(alias) : json_null(), "scope", scope, "rules",
                     rules ? rules : json_array());
    return *out ? MLOPS_OK : mlops__error_oom("gate");
}

static json_t *num_or_null(bool have, double v)
{
    return have ? json_real(v) : json_null();
}

/* Evaluates one rule; returns the rule's JSON result and sets *ok. */
static json_t *eval_rule(const json_t *rule, const json_t *cand, const json_t *base,
                         int64_t baseline_version, const char *alias, bool *ok)
{
    const char *metric = json_string_value(json_object_get(rule, "metric"));
    bool gib = json_is_true(json_object_get(rule, "greater_is_better"));
    json_t *thr = json_object_get(rule, "threshold");
    json_t *abs = json_object_get(rule, "min_absolute_change");
    json_t *rel = json_object_get(rule, "min_relative_change");
    double c = 0, b = 0;
    bool have_c = mm_metric_lookup(cand, metric, &c);
    bool have_b = base && mm_metric_lookup(base, metric, &b);
    json_t *checks = json_array();
    mlops__buf why;
    mlops__buf_init(&why);
    *ok = true;
    if (!have_c) {
        *ok = false;
        mlops__buf_printf(&why, "candidate has no metric '%s'", metric);
    }
    if (have_c && thr) {
        double t = json_number_value(thr);
        bool pass = gib ? c >= t : c <= t;
        *ok = *ok && pass;
        json_array_append_new(checks, json_pack("{s:s, s:f, s:b}", "check", "threshold",
                                                "required", t, "passed", pass));
        mlops__buf_printf(&why, "%s%s %g %s threshold %g", why.len ? "; " : "", metric, c,
                          pass ? (gib ? ">=" : "<=") : (gib ? "<" : ">"), t);
    }
    if (have_c && (abs || rel)) {
        if (!base) {
            mlops__buf_printf(&why, "%sno version holds alias '%s': change checks skipped",
                              why.len ? "; " : "", alias);
        } else if (!have_b) {
            *ok = false;
            mlops__buf_printf(&why, "%sbaseline version %lld has no metric '%s'",
                              why.len ? "; " : "", (long long)baseline_version, metric);
        } else {
            double delta = gib ? c - b : b - c;
            if (abs) {
                double need = json_number_value(abs);
                bool pass = delta >= need;
                *ok = *ok && pass;
                json_array_append_new(checks,
                                      json_pack("{s:s, s:f, s:f, s:b}", "check",
                                                "min_absolute_change", "required", need,
                                                "change", delta, "passed", pass));
                mlops__buf_printf(&why, "%simprovement %g %s min_absolute_change %g",
                                  why.len ? "; " : "", delta, pass ? ">=" : "<", need);
            }
            if (rel) {
                double need = json_number_value(rel);
                bool pass;
                json_t *chk;
                if (b == 0) {
                    pass = delta > 0;
                    chk = json_pack("{s:s, s:f, s:n, s:b, s:s}", "check", "min_relative_change",
                                    "required", need, "change", "passed", pass, "note",
                                    "baseline is 0: passes only on a strict improvement");
                    mlops__buf_printf(&why, "%sbaseline is 0: relative change %s",
                                      why.len ? "; " : "",
                                      pass ? "infinite (strict improvement)" : "undefined (no "
                                      "improvement) fails");
                } else {
                    double r = delta / fabs(b);
                    pass = r >= need;
                    chk = json_pack("{s:s, s:f, s:f, s:b}", "check", "min_relative_change",
                                    "required", need, "change", r, "passed", pass);
                    mlops__buf_printf(&why, "%srelative improvement %g %s min_relative_change %g",
                                      why.len ? "; " : "", r, pass ? ">=" : "<", need);
                }
                *ok = *ok && pass;
                json_array_append_new(checks, chk);
            }
        }
    }
    char *w = mlops__buf_take(&why);
    json_t *res = json_pack("{s:s, s:b, s:o, s:o, s:b, s:s, s:o}", "metric", metric,
                            "greater_is_better", gib, "candidate", num_or_null(have_c, c),
                            "baseline", num_or_null(have_b, b), "passed", *ok, "why",
                            w ? w : "", "checks", checks);
    free(w);
    return res;
}

int mm_gate_evaluate(mlops__models *m, int64_t model_id, const char *name, int64_t version,
                     const char *alias, json_t **decision, bool *passed)
{
    *decision = NULL;
    *passed = false;
    int64_t baseline = 0;
    json_t *rules = NULL, *cand = NULL, *base = NULL;
    const char *scope;
    int rc = mm_alias_get(m, model_id, alias, &baseline);
    if (rc == MLOPS_OK)
        rc = load_rules(m, model_id, alias, &rules, &scope);
    if (rc == MLOPS_OK)
        rc = mm_version_metrics(m, model_id, version, &cand);
    if (rc == MLOPS_OK && baseline)
        rc = mm_version_metrics(m, model_id, baseline, &base);
    json_t *results = json_array();
    bool all = true;
    size_t i;
    json_t *r;
    if (rc == MLOPS_OK && baseline != version) {
        json_array_foreach(rules, i, r) {
            bool ok;
            json_t *res = eval_rule(r, cand ? cand : json_object(), base, baseline, alias, &ok);
            all = all && ok;
            json_array_append_new(results, res);
        }
    }
    if (rc == MLOPS_OK) {
        *decision = json_pack("{s:s, s:I, s:s, s:o, s:s, s:b, s:o}", "model", name, "version",
                              (json_int_t)version, "alias", alias, "baseline_version",
                              baseline ? json_integer(baseline) : json_null(), "gate", scope,
                              "passed", all, "rules", results);
        results = NULL;
        if (!*decision)
            rc = mlops__error_oom("decision");
        if (rc == MLOPS_OK && baseline == version)
            json_object_set_new(*decision, "note",
                                json_string("the version already holds the alias"));
        *passed = all;
    }
    json_decref(results);
    json_decref(rules);
    json_decref(cand);
    json_decref(base);
    return rc;
}

int mlops__models_promote(mlops__models *m, const char *name, int64_t version,
                          const char *alias, bool force, const char *reason,
                          json_t **decision)
{
    *decision = NULL;
    int rc = mlops__name_check(name, "model name");
    if (rc == MLOPS_OK)
        rc = mm_alias_check(alias, true);
    if (rc == MLOPS_OK && version < 1)
        rc = mlops__error(MLOPS_EINVAL, "version: must be >= 1");
    if (rc == MLOPS_OK && force && (!reason || !*reason))
        rc = mlops__error(MLOPS_EINVAL, "reason: a forced promotion needs a reason");
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(m->store)) != MLOPS_OK)
        return rc;
    int64_t id;
    bool passed = false;
    json_t *d = NULL;
    rc = mm_model_id(m, name, &id);
    if (rc == MLOPS_OK)
        rc = mm_version_exists(m, id, name, version);
    if (rc == MLOPS_OK)
        rc = mm_alias_free(m, id, name, alias);
    if (rc == MLOPS_OK)
        rc = mm_gate_evaluate(m, id, name, version, alias, &d, &passed);
    const char *action = passed ? "promote" : force ? "promote_forced" : "promote_blocked";
    if (rc == MLOPS_OK) {
        json_object_set_new(d, "forced", json_boolean(force && !passed));
        json_object_set_new(d, "action", json_string(passed || force ? "moved" : "blocked"));
        if (reason)
            json_object_set_new(d, "reason", json_string(reason));
    }
    if (rc == MLOPS_OK && (passed || force))
        rc = mm_alias_set(m, id, alias, version);
    if (rc == MLOPS_OK)
        rc = mm_audit(m, name, action, version, alias, force && !passed, reason, d);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(m->store);
        json_decref(d);
        return rc;
    }
    /* A blocked promotion still commits its audit record; the alias is untouched. */
    rc = mlops__store_commit(m->store);
    if (rc != MLOPS_OK) {
        json_decref(d);
        return rc;
    }
    mm_invalidate(m);
    *decision = d;
    if (!passed && !force)
        return mlops__error(MLOPS_EGATE, "model '%s' version %lld: the gate for alias '%s' "
                            "refused the promotion (see the decision)", name, (long long)version,
                            alias);
    return MLOPS_OK;
}
