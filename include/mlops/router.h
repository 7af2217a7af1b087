/*
 * libmlops — complexity routing: send simple requests to a cheap model and hard ones
 * to a strong model, by rules and by a complexity score. Pure C, no network.
 *
 * A routing config ("routing" object, also the gateway config's "routing" section):
 *   "enabled"        bool (default true)
 *   "scorer"         "rules" (built-in keyword/rule scorer, the default) or "model"
 *   "model_file"     path of a model written by mlops_router_train (implies "model"),
 *   "model"          or the model JSON inline
 *   "threshold"      0..1: the threshold on P(strong) (default: the model's calibrated
 *                    one, 0.5 for the rule scorer)
 *   "models"         request models that trigger routing (default ["auto"]; "*" = all)
 *   "tiers"          {"simple": m, "medium": m, "complex": m, "reasoning": m}: the model
 *                    for each tier; "cheap_model"/"strong_model" set simple+medium /
 *                    complex+reasoning at once
 *   "max_regex_input" bytes of prompt a regex rule looks at (64..32768, default 16384)
 *   "rules"          [{"name": s, "match": {...}, "tier": t | "model": m}], checked in
 *                    order before the scorer; the first match wins. Match conditions
 *                    (all given must hold): "metadata": {field: value | [values]},
 *                    "tags": [any of metadata.tags], "key": id | [ids] (metadata.key_id
 *                    or key_alias), "label": s | [s] (metadata.prompt_label), "model":
 *                    s | [s] (the request's model), "regex": a regular expression
 *                    (at most 512 bytes) searched in the last user message by a
 *                    linear-time matcher (no backtracking): literals, ., [a-z] [^...],
 *                    ^ $ (text start/end), ( ) (?: ), |, * + ? {m} {m,} {m,n} (m, n <=
 *                    100), \d \D \w \W \s \S \b \B \n \t \r and escaped
 *                    punctuation; byte-oriented; no back-references or lookaround;
 *                    "icase": bool (ASCII letters).
 * Errors in a config are MLOPS_ECONFIG naming the key ("routing.rules[2].tier: ...").
 *
 * Labelled data (train and eval) is JSONL, one object per line:
 *   {"prompt": "...", "tier": "simple"|"medium"|"complex"|"reasoning"} or
 *   {"prompt": "...", "label": "cheap"|"strong"}  (complex and reasoning need "strong").
 *
 * All functions are thread-safe; they do not touch the store.
 */
#ifndef MLOPS_ROUTER_H
#define MLOPS_ROUTER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Decides which model serves a request.
 * @param h             the handle.
 * @param config_json   the routing config (see above), or NULL for the defaults.
 * @param request_json  an OpenAI chat request ({"model": "auto", "messages": [...]}) or
 *                      {"prompt": "..."}.
 * @param metadata_json NULL or request metadata ({"user_tier": ..., "tags": [...],
 *                      "key_id": ..., "prompt_label": ...}).
 * @param out           receives the decision: {"routed": bool, "source": "rule" |
 *                      "complexity" | "disabled" | "not-triggered", "tier", "model",
 *                      "rule", "scorer", "strong", "p_strong", "threshold", "requested"};
 *                      release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ECONFIG. Thread-safe.
 */
MLOPS_API int mlops_router_decide(mlops_t *h, const char *config_json, const char *request_json,
                                  const char *metadata_json, char **out);

/**
 * Explains the complexity score of a prompt: the features, each one's value and
 * contribution to the logit of "needs the strong model", the strongest n-grams (model
 * scorer), the tier and P(strong).
 * @param h           the handle.
 * @param config_json the routing config, or NULL (rule scorer).
 * @param prompt      the user message.
 * @param out         receives {"scorer", "tier", "strong", "p_strong", "threshold",
 *                    "bias" (the intercept's contribution), "ngram_total" (all n-grams'),
 *                    "features": [{"name", "value",
 *                    "contribution"}], "ngrams": [{"ngram", "contribution"}], "model"};
 *                    release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ECONFIG. Thread-safe.
 */
MLOPS_API int mlops_router_explain(mlops_t *h, const char *config_json, const char *prompt,
                                   char **out);

/**
 * Trains the logistic-regression scorer on labelled JSONL. Deterministic for a seed.
 * @param h            the handle.
 * @param data_jsonl   labelled prompts (see above).
 * @param options_json NULL or {"seed": n (42), "epochs": n (30), "learning_rate": x (0.3),
 *                     "l2": x (1e-4), "strong_share": 0..1 (calibrate the threshold so
 *                     that share of the training prompts goes to the strong tier;
 *                     default: threshold 0.5)}.
 * @param out          receives the model JSON ({"format": "mlops-router", "version": 1,
 *                     ...}), to store as a file named by "model_file" or inline as
 *                     "model"; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE (the message names the line). Thread-safe.
 */
MLOPS_API int mlops_router_train(mlops_t *h, const char *data_jsonl, const char *options_json,
                                 char **out);

/**
 * Evaluates routing on labelled JSONL.
 * @param h            the handle.
 * @param config_json  the routing config whose scorer is evaluated, or NULL (rules).
 * @param data_jsonl   labelled prompts.
 * @param options_json NULL or {"prices": {"cheap": 0.15, "strong": 2.5} (per request or
 *                     per token: only the ratio matters), "cv_folds": k (>= 2: train and
 *                     score by k-fold cross-validation instead of using the config's
 *                     scorer), "seed": n, "train": {training options}}.
 * @param out          receives {"n", "mode", "accuracy", "tier_accuracy",
 *                     "share_cheap", "cost_relative" (to always-strong),
 *                     "quality_retained" (share of strong-needing prompts sent strong),
 *                     "confusion", "curve": [{"threshold", ...}]}; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ECONFIG. Thread-safe.
 */
MLOPS_API int mlops_router_eval(mlops_t *h, const char *config_json, const char *data_jsonl,
                                const char *options_json, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_ROUTER_H */
