/*
 * libmlops — models: a model registry with validation gates, and deployments
 * (canary, blue-green, shadow, A/B) that move live traffic with automatic rollback.
 *
 * References: "name" (the newest version), "name:N" (version N), "name@alias" (the
 * version an alias points at; "latest" always names the newest version and is reserved).
 * Model names: 1..128 bytes of [A-Za-z0-9._-/] starting with a letter or digit. Alias,
 * metric, tag and param key names: 1..63 bytes of [A-Za-z0-9_-].
 *
 * Configuration (the "models" object of mlops_open's config_json, all optional):
 *   "refresh_ms" (integer 0..3600000, default 10): how often pick/observe check whether
 *       another process changed aliases or deployments (0: on every call). Changes
 *       made through the same handle are always seen at once.
 *   "flush_every" (integer 1..1000000, default 256): observations kept in memory before
 *       they are added to the store and the deployments evaluated (also flushed by
 *       status, by every deployment action, by mlops_deploy_flush and at close).
 *   "max_artifact_mb" (integer >= 1, default 1048576): the largest artifact hashed.
 *
 * Every function is thread-safe: one mlops_t may be shared by threads, and several
 * processes may drive the same models and deployments through one store file.
 */
#ifndef MLOPS_MODELS_H
#define MLOPS_MODELS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Registers a new version of a model (the model is created on first use). Versions are
 * numbered 1, 2, 3... per model without gaps, also under concurrent writers.
 * @param h            the handle.
 * @param name         the model name.
 * @param version_json a JSON object: "uri" (required: "file:///abs/path", a plain path,
 *                     or any other URI such as "s3://..."), "format" (text), "params"
 *                     (object), "metrics" (object: name -> number, or split -> {name ->
 *                     number}, e.g. {"auc": 0.91, "test": {"auc": 0.9}}), "tags" (object:
 *                     key -> text), "description", "lineage" ({"source_run",
 *                     "dataset_hash", "parent_version"}), "status" ("pending", "ready"
 *                     (default), "archived", "failed"), "hash" and "size" (for non-local
 *                     URIs; for a local file they are computed: "sha256:<hex>" of its
 *                     content, and a given "hash" must match).
 * @param out_version  receives the new version number.
 * @return MLOPS_OK; MLOPS_EINVAL (bad name, unknown key, wrong type, bad metric);
 *         MLOPS_EIO (the local artifact cannot be read); MLOPS_ECORRUPT (given hash does
 *         not match the file); MLOPS_ENOTFOUND (lineage.parent_version); MLOPS_EBUSY;
 *         MLOPS_ESTORE. Nothing is written on failure.
 */
MLOPS_API int mlops_model_register(mlops_t *h, const char *name, const char *version_json, int64_t *out_version);

/**
 * Describes one version as JSON: {"name", "version", "uri", "hash", "size", "format",
 * "params", "metrics", "tags", "description", "lineage": {"source_run", "dataset_hash",
 * "parent_version"}, "status", "created_at", "aliases": [...]}.
 * @param h   the handle.
 * @param ref "name", "name:N" or "name@alias".
 * @param out receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND (model, version or alias); MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_get(mlops_t *h, const char *ref, char **out);

/**
 * Lists the registered models as a JSON array of {"name", "created_at", "versions",
 * "latest", "aliases": {"alias": version}}, ordered by name.
 * @param h   the handle.
 * @param out receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_list(mlops_t *h, char **out);

/**
 * Searches versions with a filter and returns a JSON array of versions (as
 * mlops_model_get), ordered by name then version.
 * Filter grammar: comparisons joined by AND, OR, NOT and parentheses. A comparison is
 * FIELD OP VALUE with OP one of = != <> < <= > >=, or FIELD [NOT] LIKE 'pattern',
 * FIELD [NOT] IN (v1, v2...), FIELD IS [NOT] NULL. Values are 'quoted text' ('' for a
 * quote) or numbers. Fields: name, version, uri, hash, size, format, status,
 * description, source_run, dataset_hash, parent_version, created_ms, alias (=, != and
 * IN only), metrics.K, metrics.SPLIT.K, params.K, tags.K. Example:
 * "name LIKE 'fraud%' AND tags.team = 'risk' AND (metrics.auc > 0.9 OR version >= 3)".
 * Values are bound as SQL parameters, never pasted into SQL.
 * @param h      the handle.
 * @param filter the filter text, or NULL / "" for every version.
 * @param limit  at most this many results (<= 0: no limit).
 * @param out    receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EPARSE (a syntax error or unknown field; the message gives the
 *         column); MLOPS_ELIMIT (longer than 4096 bytes, more than 256 values);
 *         MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_search(mlops_t *h, const char *filter, int64_t limit, char **out);

/**
 * Updates a version: merges "metrics", "tags" and "params" (a null value removes a key)
 * and replaces "description" and "status". For example evaluation results that arrive
 * after registration, before a promotion.
 * @param h          the handle.
 * @param name       the model name.
 * @param version    the version number.
 * @param patch_json a JSON object with any of those keys.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_EBUSY; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_update(mlops_t *h, const char *name, int64_t version, const char *patch_json);

/**
 * Re-hashes a version's local artifact and compares it with the registered hash.
 * @param h   the handle.
 * @param ref "name", "name:N" or "name@alias".
 * @param out receives {"name", "version", "path", "hash", "size", "ok": true} when it
 *            matches; release with mlops_free().
 * @return MLOPS_OK; MLOPS_ECORRUPT (the file changed: the message names the file and
 *         both hashes); MLOPS_EIO (unreadable); MLOPS_EUNSUPPORTED (not a local file);
 *         MLOPS_ENOTFOUND.
 */
MLOPS_API int mlops_model_verify(mlops_t *h, const char *ref, char **out);

/**
 * Sets the validation gate of a model, for every alias (alias NULL) or for one alias
 * (which then takes precedence over the model-wide rules).
 * @param h          the handle.
 * @param name       the model name (it must exist).
 * @param alias      NULL, or the target alias the rules guard.
 * @param rules_json an array of rules (or {"rules": [...]}); [] removes the gate. A rule:
 *                   {"metric": "auc" | "split.auc", "greater_is_better": true (default) |
 *                   false (or "direction": "higher" | "lower"), "threshold": X,
 *                   "min_absolute_change": A, "min_relative_change": R} with at least one
 *                   of the last three. Semantics (MLflow MetricThreshold; all comparisons
 *                   inclusive): the candidate must reach the threshold, and improve on
 *                   the version holding the alias by at least A (absolute) and R
 *                   (relative: change / |baseline|). A baseline of 0 satisfies a
 *                   relative rule only when the candidate is strictly better than 0 in
 *                   the rule's direction. A metric the candidate lacks fails; a metric
 *                   the baseline lacks fails the change checks; with no baseline the
 *                   change checks are skipped.
 * @return MLOPS_OK; MLOPS_EINVAL (malformed rules; a metric no version of the model
 *         logs, when the model has versions); MLOPS_ENOTFOUND; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_set_gate(mlops_t *h, const char *name, const char *alias, const char *rules_json);

/**
 * The rules that apply to an alias: {"model", "alias", "scope": "alias" | "model" |
 * "none", "rules": [...]}.
 * @param h     the handle.
 * @param name  the model name.
 * @param alias NULL for the model-wide rules, or an alias.
 * @param out   receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_get_gate(mlops_t *h, const char *name, const char *alias, char **out);

/**
 * Promotes a version to an alias through the gate: evaluates every rule against the
 * version currently holding the alias and moves the alias atomically only if all pass
 * (or if forced). Every decision, blocked and forced ones included, is appended to the
 * audit log (see mlops_model_history).
 * @param h       the handle.
 * @param name    the model name.
 * @param version the version to promote.
 * @param alias   the target alias (not "latest").
 * @param force   non-zero moves the alias even when the gate refuses; needs a reason.
 * @param reason  why (required with force; recorded in the audit log), or NULL.
 * @param out     receives the decision JSON on MLOPS_OK AND on MLOPS_EGATE: {"model",
 *                "version", "alias", "baseline_version", "gate", "passed", "forced",
 *                "action": "moved" | "blocked", "reason", "rules": [{"metric",
 *                "greater_is_better", "candidate", "baseline", "passed", "why", "checks":
 *                [...]}]}; release with mlops_free(). NULL on other errors.
 * @return MLOPS_OK (the alias moved); MLOPS_EGATE (refused; nothing but the audit record
 *         changed); MLOPS_EINVAL (force without reason, bad alias); MLOPS_ENOTFOUND;
 *         MLOPS_ESTATE (a deployment is running or paused on the alias: the alias moves
 *         through mlops_deploy_* until it ends); MLOPS_EBUSY; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_promote(mlops_t *h, const char *name, int64_t version, const char *alias, int force, const char *reason, char **out);

/**
 * Removes an alias (recorded in the audit log).
 * @param h      the handle.
 * @param name   the model name.
 * @param alias  the alias (not "latest").
 * @param reason why, or NULL.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTATE (a deployment is active on
 *         the alias); MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_remove_alias(mlops_t *h, const char *name, const char *alias, const char *reason);

/**
 * The model's audit log, oldest first: a JSON array of {"id", "at", "action", "version",
 * "alias", "forced", "reason", "detail"}. Actions: register, update, set_gate, promote,
 * promote_blocked, promote_forced, remove_alias, deploy_start, deploy_blocked,
 * deploy_start_forced, deploy_step, deploy_step_pause, deploy_analysis_failed,
 * deploy_inconclusive, deploy_analysis_passed, deploy_auto_promote, deploy_auto_rollback,
 * deploy_promote, deploy_rollback, deploy_abort, deploy_pause, deploy_resume. The log is
 * append-only: the store refuses updates and deletes of its rows.
 * @param h     the handle.
 * @param name  the model name.
 * @param limit at most this many records (<= 0: all).
 * @param out   receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTORE.
 */
MLOPS_API int mlops_model_history(mlops_t *h, const char *name, int64_t limit, char **out);

/**
 * Starts a deployment on a model alias. One deployment may be running or paused per
 * (model, alias). Strategy JSON, by "strategy":
 *  - "canary": "candidate" (version), "steps" (weights in percent, increasing, e.g.
 *    [5, 25, 50, 100], or {"weight": 50, "pause": true} to stop for a manual resume;
 *    default [10, 50, 100]), "min_observations" per step (default 100), "analysis"
 *    (conditions on the candidate's observations in the current step:
 *    {"metric": "error_rate", "stat": "mean", "op": "<=", "value": 0.05} or the text
 *    "latency_ms.p95 <= 300"; stats mean, min, max, sum, count, stddev, p50, p90, p95,
 *    p99), "failure_limit" (default 1: the first failed analysis rolls back),
 *    "auto_promote" (default true: the alias moves after the last step).
 *  - "blue_green": "candidate" (the preview), optional "analysis", "min_observations",
 *    "failure_limit", "auto_promote" (default false: switch with mlops_deploy_promote).
 *  - "shadow": "candidate", "sample" (percent of requests copied, default 100).
 *  - "ab": "arms" ([{"name", "version", "weight"}...], 2..8 arms, weights summing to
 *    100, arm 0 is the control), "metric" (compared across arms), "test" ("proportion"
 *    for 0/1 outcomes: two-proportion z-test; "mean": Welch's t-test), "min_samples"
 *    (default 1000), "alpha" (default 0.05), "srm_alpha" (default 0.001).
 *  Common: "salt" (text hashed with the user key; default derived at start and stored),
 *  "force" + "reason" (start although the gate refuses).
 * Canary and blue-green candidates pass the alias's validation gate first.
 * @param h             the handle.
 * @param name          the model name.
 * @param alias         the alias whose traffic is deployed (not "latest"); canary,
 *                      blue-green and shadow need it to point at a version (the baseline).
 * @param strategy_json the strategy.
 * @param out           receives the status JSON (see mlops_deploy_status), or the gate's
 *                      decision on MLOPS_EGATE; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (malformed strategy, weights not summing to 100...);
 *         MLOPS_ENOTFOUND; MLOPS_ESTATE (a deployment is already active, no baseline);
 *         MLOPS_EGATE; MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_start(mlops_t *h, const char *name, const char *alias, const char *strategy_json, char **out);

/**
 * Chooses the version that serves a request, from memory (no store access unless the
 * routes may be stale; see config "refresh_ms"). With a user key the choice is sticky:
 * xxh3(salt, key) decides, identically in every process and after restarts. Without a
 * deployment the alias's version serves.
 * @param h           the handle.
 * @param name        the model name.
 * @param alias       the alias ("latest" allowed).
 * @param user_key    a stable user or session id, or NULL for an unkeyed request.
 * @param out_version receives the version that must answer the request.
 * @param out_shadows caller buffer receiving shadow versions that should also receive a
 *                    copy of the request (their answers must not be returned); may be
 *                    NULL when cap is 0.
 * @param cap         capacity of out_shadows.
 * @param out_n       receives the number of shadows (may exceed cap: then only cap were
 *                    written); may be NULL.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND (no such model/alias); MLOPS_ESTORE
 *         (refreshing the routes failed).
 */
MLOPS_API int mlops_deploy_pick(mlops_t *h, const char *name, const char *alias, const char *user_key, int64_t *out_version, int32_t *out_shadows, size_t cap, size_t *out_n);

/**
 * Records the outcome of one request served by a version, for every running or paused
 * deployment of the model that includes the version (as baseline, candidate or arm).
 * Kept in memory and flushed every "flush_every" observations; a flush evaluates the
 * canary and blue-green analyses, which may advance, pause, promote or roll back.
 * @param h            the handle.
 * @param name         the model name.
 * @param version      the version that served.
 * @param metrics_json an object of metric -> number (true/false count as 1/0), e.g.
 *                     {"error_rate": 0, "latency_ms": 123, "judge_score": 0.9}.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ESTATE (no deployment includes the
 *         version); errors of a flush (MLOPS_EBUSY, MLOPS_ESTORE: the observations are
 *         kept for the next flush).
 */
MLOPS_API int mlops_deploy_observe(mlops_t *h, const char *name, int64_t version, const char *metrics_json);

/**
 * mlops_deploy_observe for one metric without JSON (the fast path).
 * @param h       the handle.
 * @param name    the model name.
 * @param version the version that served.
 * @param metric  the metric name.
 * @param value   its value (finite).
 * @return as mlops_deploy_observe.
 */
MLOPS_API int mlops_deploy_observe_value(mlops_t *h, const char *name, int64_t version, const char *metric, double value);

/**
 * Writes the observations kept in memory to the store and evaluates the deployments
 * they touch.
 * @param h the handle.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EBUSY; MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_flush(mlops_t *h);

/**
 * The newest deployment of a model alias (after flushing pending observations):
 * {"id", "model", "alias", "strategy", "state": "running" | "paused" | "promoted" |
 * "rolled_back" | "aborted", "reason", "baseline", "candidate", "step", "weight"
 * (canary), "phase", "failures", "salt", "started_at", "updated_at", "spec",
 * "observations": {"<version>": {"observations": N, "metrics": {"name": {"n", "mean",
 * "min", "max", "sum", "stddev", "p50", "p90", "p95", "p99"}}}}, and for A/B "ab":
 * {"metric", "arms": [...], "comparisons": [{"arm", "control", "test", "control_mean",
 * "arm_mean", "difference", "z" | "t", "df", "p_value", "enough_samples",
 * "significant"}], "srm": {"detected", "chi2", "p_value", "alpha"}}}. Canary and
 * blue-green observations are those of the current step; shadow and A/B show all.
 * @param h     the handle.
 * @param name  the model name.
 * @param alias the alias.
 * @param out   receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND (no deployment ever); MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_status(mlops_t *h, const char *name, const char *alias, char **out);

/**
 * Rolls back: a running or paused deployment ends ("rolled_back") and the baseline keeps
 * serving; a promoted one (e.g. a blue-green switch) gives the alias back to the
 * previous version at once.
 * @param h      the handle.
 * @param name   the model name.
 * @param alias  the alias.
 * @param reason why (recorded), or NULL.
 * @param out    receives the status JSON, or NULL; release with mlops_free().
 * @return MLOPS_OK; MLOPS_ENOTFOUND; MLOPS_ESTATE (nothing to roll back, or the alias
 *         moved since); MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_rollback(mlops_t *h, const char *name, const char *alias, const char *reason, char **out);

/**
 * Aborts a running or paused deployment ("aborted"); the baseline keeps serving.
 * @param h      the handle.
 * @param name   the model name.
 * @param alias  the alias.
 * @param reason why (recorded), or NULL.
 * @param out    receives the status JSON, or NULL; release with mlops_free().
 * @return MLOPS_OK; MLOPS_ENOTFOUND; MLOPS_ESTATE (not running or paused); MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_abort(mlops_t *h, const char *name, const char *alias, const char *reason, char **out);

/**
 * Pauses a running deployment: traffic stays split as it is, analysis stops until
 * mlops_deploy_resume.
 * @param h      the handle.
 * @param name   the model name.
 * @param alias  the alias.
 * @param reason why (recorded), or NULL.
 * @param out    receives the status JSON, or NULL; release with mlops_free().
 * @return MLOPS_OK; MLOPS_ENOTFOUND; MLOPS_ESTATE (not running); MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_pause(mlops_t *h, const char *name, const char *alias, const char *reason, char **out);

/**
 * Resumes a paused deployment with a fresh observation window for the current step.
 * @param h     the handle.
 * @param name  the model name.
 * @param alias the alias.
 * @param out   receives the status JSON, or NULL; release with mlops_free().
 * @return MLOPS_OK; MLOPS_ENOTFOUND; MLOPS_ESTATE (not paused); MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_resume(mlops_t *h, const char *name, const char *alias, char **out);

/**
 * Ends a running or paused deployment by moving the alias to a version now (the
 * blue-green switch, or an early canary/shadow promotion, or an A/B winner).
 * @param h       the handle.
 * @param name    the model name.
 * @param alias   the alias.
 * @param version 0 for the candidate; for A/B the winning arm's version.
 * @param reason  why (recorded), or NULL.
 * @param out     receives the status JSON, or NULL; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (not the candidate / not an arm); MLOPS_ENOTFOUND;
 *         MLOPS_ESTATE; MLOPS_ESTORE.
 */
MLOPS_API int mlops_deploy_promote(mlops_t *h, const char *name, const char *alias, int64_t version, const char *reason, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_MODELS_H */
