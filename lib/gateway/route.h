/*
 * lib/gateway/route.h — complexity routing: features of a request, a keyword/rule
 * scorer, a trainable ordinal logistic-regression scorer, rule routing by metadata,
 * regex and prompt label, calibration and evaluation. Pure C, no network.
 *
 * The gateway pipeline parses its "routing" section once with
 * mlops__route_config_parse() and calls mlops__route_decide() per request; the
 * decision's JSON goes into the response's x_mlops.route.
 */
#ifndef MLOPS_LIB_GATEWAY_ROUTE_H
#define MLOPS_LIB_GATEWAY_ROUTE_H

#include "../core/core.h"

/* Tiers, cheapest first (LiteLLM's complexity-router names). */
enum { MLOPS__TIER_SIMPLE = 0, MLOPS__TIER_MEDIUM, MLOPS__TIER_COMPLEX, MLOPS__TIER_REASONING };
#define MLOPS__TIERS 4
const char *mlops__route_tier_name(int tier);
/** "simple".."reasoning" -> tier; "cheap" -> -2, "strong" -> -3; unknown -> -1. */
int mlops__route_tier_parse(const char *name);

/* ------------------------------------------------------------------ features --- */

/** Named (dense) features; their order is part of the model file format. */
enum {
    MLOPS__F_BIAS = 0, MLOPS__F_LEN, MLOPS__F_TOKENS, MLOPS__F_SENTENCES, MLOPS__F_QUESTIONS,
    MLOPS__F_CODE_BLOCK, MLOPS__F_INLINE_CODE, MLOPS__F_CODE_SYNTAX, MLOPS__F_CODE_REQUEST,
    MLOPS__F_MATH_SYMBOLS, MLOPS__F_LATEX, MLOPS__F_MATH_WORDS, MLOPS__F_REASONING,
    MLOPS__F_COMPARE_DESIGN, MLOPS__F_MULTI_STEP, MLOPS__F_CONSTRAINTS, MLOPS__F_FORMAT_JSON,
    MLOPS__F_FORMAT_TABLE, MLOPS__F_FORMAT_CODE, MLOPS__F_FORMAT_LONG, MLOPS__F_SIMPLE_CUES,
    MLOPS__F_REWRITE_CUES, MLOPS__F_DEPTH, MLOPS__F_SYSTEM, MLOPS__F_NON_ASCII, MLOPS__F_CJK,
    MLOPS__F_NUMBERS, MLOPS__F_LONG_WORDS,
    MLOPS__F_NAMED /* count */
};
const char *mlops__route_feature_name(int f);

#define MLOPS__ROUTE_HASH_BITS 13
#define MLOPS__ROUTE_HASH_DIM (1u << MLOPS__ROUTE_HASH_BITS)
#define MLOPS__ROUTE_DIM (MLOPS__F_NAMED + MLOPS__ROUTE_HASH_DIM)
/** Text beyond this many bytes is not looked at (bounds the work per request). */
#define MLOPS__ROUTE_MAX_TEXT 32768

/** A request's features: dense named values plus signed hashed n-grams (sparse). */
typedef struct mlops__route_feats {
    float named[MLOPS__F_NAMED];
    uint32_t *idx;  /* hashed feature index in [0, HASH_DIM) */
    float *val;     /* signed value */
    char **text;    /* the n-gram behind each entry (only when explaining), or NULL */
    size_t n, cap;
    bool failed;    /* allocation failed */
} mlops__route_feats;

void mlops__route_feats_free(mlops__route_feats *f);
/**
 * Features of a prompt. `depth` is the number of messages in the conversation,
 * `has_system` whether a system prompt is present. With `keep_text` the n-gram text
 * of each hashed entry is kept for explanations.
 */
int mlops__route_features(const char *prompt, int depth, bool has_system, bool keep_text,
                          mlops__route_feats *out);
/**
 * The text routing looks at in an OpenAI chat request: the last user message (string
 * content or the text parts of multi-part content); *depth = messages, *has_system.
 * Returns a malloc'd string ("" when none) or NULL on bad shape (error set).
 */
char *mlops__route_request_text(const json_t *request, int *depth, bool *has_system);

/* ------------------------------------------------------------------ scorers ---- */

/**
 * The ordinal logistic-regression model: three heads P(tier >= medium),
 * P(tier >= complex) (= needs the strong model), P(tier >= reasoning).
 */
typedef struct mlops__route_model {
    float w[3][MLOPS__ROUTE_DIM];
    float b[3];
    double threshold;   /* on head 1: strong when P >= threshold */
    json_t *info;       /* training facts (examples, seed, epochs...), may be NULL */
} mlops__route_model;

void mlops__route_model_free(mlops__route_model *m);
/** Serialises as versioned JSON {"format": "mlops-router", "version": 1, ...}. */
int mlops__route_model_to_json(const mlops__route_model *m, json_t **out);
/** Parses the JSON form; errors (MLOPS_EFORMAT) name the field. */
int mlops__route_model_from_json(const json_t *j, const char *what, mlops__route_model **out);
int mlops__route_model_load(const char *path, mlops__route_model **out);

/** One labelled example: tier (0..3) or, with a cheap/strong label, tier -1 and strong. */
typedef struct mlops__route_example {
    char *prompt;
    int tier;    /* 0..3, or -1 when only cheap/strong is known */
    bool strong; /* needs the strong model */
} mlops__route_example;

typedef struct mlops__route_examples {
    mlops__route_example *v;
    size_t n;
} mlops__route_examples;

/**
 * Parses labelled JSONL: one object per line, {"prompt": s, "tier":
 * "simple|medium|complex|reasoning"} or {"prompt": s, "label": "cheap|strong"}; blank
 * lines are skipped. Errors name the line.
 */
int mlops__route_examples_parse(const char *jsonl, size_t len, mlops__route_examples *out);
void mlops__route_examples_free(mlops__route_examples *ex);

typedef struct mlops__route_train_opts {
    uint64_t seed;
    int epochs;
    double learning_rate;
    double l2;
    double strong_share; /* < 0: threshold 0.5; else calibrate to this share of strong */
} mlops__route_train_opts;

/** Parses {"seed", "epochs", "learning_rate", "l2", "strong_share"} (NULL: defaults). */
int mlops__route_train_opts_parse(const json_t *j, mlops__route_train_opts *out);
/** Trains on `idx` (n indices into ex; NULL = all). Deterministic for a seed. */
int mlops__route_train(const mlops__route_examples *ex, const size_t *idx, size_t n,
                       const mlops__route_train_opts *o, mlops__route_model **out);
/**
 * Shuffles v[0..n) in place with the xorshift64 state *rng (advanced), so that training
 * and cross-validation folds are the same for the same seed.
 */
void mlops__route_shuffle(size_t *v, size_t n, uint64_t *rng);

/** Scores: P(strong) and the tier. With `explain`, fills a JSON explanation. */
typedef struct mlops__route_score {
    double p_strong;
    double threshold;
    int tier;
    bool strong;
} mlops__route_score;

/** Scores features with the model, or with the built-in rule scorer when m is NULL. */
void mlops__route_score_feats(const mlops__route_model *m, const mlops__route_feats *f,
                              mlops__route_score *out);
/** Features and contributions behind a score, as JSON. */
json_t *mlops__route_explain_feats(const mlops__route_model *m, const mlops__route_feats *f,
                                   const mlops__route_score *s);

/* ------------------------------------------------------------------ config ----- */

typedef struct mlops__route_cfg mlops__route_cfg;

/**
 * Parses a "routing" section (NULL = defaults: rule scorer, no rules, routing only
 * requests whose model is "auto"). `path` names the section in errors
 * ("config.gateway.routing"). Loads "model_file" when given.
 *   {"enabled": bool, "scorer": "rules"|"model", "model_file": path, "model": {...},
 *    "threshold": 0..1, "models": ["auto"] (request models that trigger routing; "*" = all),
 *    "tiers": {"simple": model, "medium": model, "complex": model, "reasoning": model},
 *    "cheap_model": m, "strong_model": m (shorthand for the tiers),
 *    "max_regex_input": bytes, "rules": [{"name": s, "match": {...}, "tier": t | "model": m}]}
 * Rule "match" (all given conditions must hold): "metadata": {field: value | [values]},
 * "tags": [any of metadata.tags], "key": id|[ids] (metadata.key_id or key_alias),
 * "label": s|[s] (metadata.prompt_label), "model": s|[s] (the request's model),
 * "regex": a linear-time regex (mlops__regex in lib/core/core.h) searched in the last user message (input
 * bounded by max_regex_input), "icase": bool.
 */
int mlops__route_config_parse(const json_t *section, const char *path, mlops__route_cfg **out);
void mlops__route_cfg_free(mlops__route_cfg *cfg);
bool mlops__route_cfg_enabled(const mlops__route_cfg *cfg);

typedef struct mlops__route_decision {
    bool routed;          /* false: the request's own model stands */
    int tier;             /* -1 when a rule named a model directly or not routed */
    char model[256];      /* the model chosen ("" when not routed or tier unmapped) */
    const char *source;   /* "rule", "complexity", "disabled", "not-triggered" */
    double p_strong;
    json_t *json;         /* the decision for x_mlops.route (owned) */
} mlops__route_decision;

/**
 * Decides the model for a request: rules first (in order, first match wins), then the
 * complexity scorer. metadata may be NULL. out->json is always set on success; free it
 * with mlops__route_decision_free.
 */
int mlops__route_decide(const mlops__route_cfg *cfg, const json_t *request,
                        const json_t *metadata, mlops__route_decision *out);
void mlops__route_decision_free(mlops__route_decision *d);
/** Explains the complexity score of a prompt under cfg (NULL = defaults). */
int mlops__route_explain(const mlops__route_cfg *cfg, const char *prompt, json_t **out);
/**
 * Checks that every model the routing config names (tiers, rule models) is one of
 * `models` (the gateway's model objects with "name"); errors name the key. With an
 * empty `models` nothing is checked (models may be configured later).
 */
int mlops__route_cfg_check_models(const mlops__route_cfg *cfg, const char *path,
                                  const json_t *models);
/** Whether routing would rewrite a request for `model` (enabled and triggered). */
bool mlops__route_cfg_triggers(const mlops__route_cfg *cfg, const char *model);
/** The cfg's model (NULL when the rule scorer is used). */
const mlops__route_model *mlops__route_cfg_model(const mlops__route_cfg *cfg);

/* ------------------------------------------------------------------ evaluation - */

/**
 * Evaluates on labelled examples. options: {"prices": {"cheap": n, "strong": n},
 * "cv_folds": k (>= 2: k-fold cross-validation training fresh models; 0: score with
 * cfg's scorer), "seed": n, "train": {training options}}. Report: {"n", "accuracy",
 * "tier_accuracy", "share_cheap", "cost_relative", "quality_retained", "confusion",
 * "threshold", "curve": [{threshold, accuracy, share_cheap, cost_relative,
 * quality_retained}], "mode": "scorer"|"cross-validation"}.
 */
int mlops__route_eval(const mlops__route_cfg *cfg, const mlops__route_examples *ex,
                      const json_t *options, json_t **out);

#endif
