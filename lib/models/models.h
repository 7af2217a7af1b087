/*
 * lib/models — the model registry, validation gates and deployments (rollouts).
 *
 * The face of the module to the rest of lib/ (the facade lib/api/models.c, tests,
 * fuzz targets). Functions take and return jansson values; the facade turns text
 * into JSON and back. Every write is one store transaction.
 */
#ifndef MLOPS_LIB_MODELS_H
#define MLOPS_LIB_MODELS_H

#include "../core/core.h"

typedef struct mlops__models mlops__models;

/** The module's migrations ("models"). */
extern const mlops__schema mlops__models_schema;

/** Checks config.models (NULL when absent): refresh_ms, flush_every, max_artifact_mb. */
int mlops__models_check_config(const json_t *section);
int mlops__models_open(mlops__store *st, mlops__logger *lg, const json_t *section,
                       mlops__models **out);
/** Flushes pending observations (errors logged) and frees everything. */
void mlops__models_close(mlops__models *m);

/* ---------------------------------------------------------------- registry -- */

/** Registers a new version (creating the model on first use); see models.h (public). */
int mlops__models_register(mlops__models *m, const char *name, const json_t *spec,
                           int64_t *out_version);
/** A version by reference "name", "name:N", "name@alias" (alias "latest" included). */
int mlops__models_get(mlops__models *m, const char *ref, json_t **out);
int mlops__models_list(mlops__models *m, json_t **out);
int mlops__models_search(mlops__models *m, const char *filter, int64_t limit, json_t **out);
int mlops__models_update(mlops__models *m, const char *name, int64_t version,
                         const json_t *patch);
int mlops__models_verify(mlops__models *m, const char *ref, json_t **out);
int mlops__models_remove_alias(mlops__models *m, const char *name, const char *alias,
                               const char *reason);
int mlops__models_history(mlops__models *m, const char *name, int64_t limit, json_t **out);

/* ---------------------------------------------------------------- gates ----- */

int mlops__models_set_gate(mlops__models *m, const char *name, const char *alias,
                           const json_t *rules);
int mlops__models_get_gate(mlops__models *m, const char *name, const char *alias,
                           json_t **out);
/**
 * Evaluates the gate and moves the alias when it passes (or when forced, which needs a
 * reason). *decision is set on MLOPS_OK and on MLOPS_EGATE.
 */
int mlops__models_promote(mlops__models *m, const char *name, int64_t version,
                          const char *alias, bool force, const char *reason,
                          json_t **decision);

/** Parses and validates a rule set (array, or object with "rules"); normalised copy. */
int mlops__models_rules_parse(const json_t *rules, json_t **out);

/* ---------------------------------------------------------------- search ---- */

/** A compiled search filter: an SQL condition with ?N parameters, and their values. */
typedef struct mlops__filter_param {
    int type; /* SQLITE_TEXT, SQLITE_INTEGER or SQLITE_FLOAT */
    char *text;
    int64_t i;
    double d;
} mlops__filter_param;

typedef struct mlops__filter {
    char *sql; /* condition over the aliases m (models) and v (model_versions) */
    mlops__filter_param *params;
    size_t nparams;
} mlops__filter;

/**
 * Compiles a filter ("name LIKE 'fraud%' AND metrics.auc > 0.9") into a parameterised
 * SQL condition. Values are never pasted into the SQL; identifiers are checked against
 * a whitelist. Errors: MLOPS_EPARSE naming the column.
 */
int mlops__filter_compile(const char *text, mlops__filter **out);
void mlops__filter_free(mlops__filter *f);

/* ---------------------------------------------------------------- deployments */

int mlops__deploy_start(mlops__models *m, const char *name, const char *alias,
                        const json_t *strategy, json_t **out);
/** Parses and validates a strategy JSON into its normalised form. */
int mlops__deploy_strategy_parse(const json_t *strategy, json_t **out);
int mlops__deploy_pick(mlops__models *m, const char *name, const char *alias,
                       const char *user_key, int64_t *out_version, int32_t *shadows,
                       size_t cap, size_t *out_n);
int mlops__deploy_observe(mlops__models *m, const char *name, int64_t version,
                          const json_t *metrics);
int mlops__deploy_observe_value(mlops__models *m, const char *name, int64_t version,
                                const char *metric, double value);
int mlops__deploy_flush(mlops__models *m);
int mlops__deploy_status(mlops__models *m, const char *name, const char *alias, json_t **out);

enum mlops__deploy_action {
    MLOPS__DEPLOY_ROLLBACK,
    MLOPS__DEPLOY_ABORT,
    MLOPS__DEPLOY_RESUME,
    MLOPS__DEPLOY_PAUSE,
    MLOPS__DEPLOY_PROMOTE
};
int mlops__deploy_action(mlops__models *m, const char *name, const char *alias,
                         enum mlops__deploy_action action, int64_t version, const char *reason,
                         json_t **out);

/* ---------------------------------------------------------------- stats ----- */

/** Standard normal CDF. */
double mlops__stats_normal_cdf(double x);
/** Regularised incomplete beta I_x(a, b). */
double mlops__stats_incbeta(double a, double b, double x);
/** Regularised lower incomplete gamma P(a, x). */
double mlops__stats_gamma_p(double a, double x);
/** Student's t CDF with df degrees of freedom (df > 0, not necessarily integer). */
double mlops__stats_t_cdf(double t, double df);
/** Chi-square CDF with k degrees of freedom. */
double mlops__stats_chi2_cdf(double x, double k);

/** Two-proportion z-test: returns z and writes the two-sided p-value. */
double mlops__stats_ztest_prop(double x1, double n1, double x2, double n2, double *p);
/** Welch's t-test from means, variances (unbiased) and counts; writes df and p. */
double mlops__stats_welch(double m1, double v1, double n1, double m2, double v2, double n2,
                          double *df, double *p);
/** Chi-square goodness of fit of counts against expected proportions (sum 1); p. */
double mlops__stats_chi2_gof(const double *observed, const double *expected_share, int k,
                             double *p);

#endif /* MLOPS_LIB_MODELS_H */
