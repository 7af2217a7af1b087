/*
 * Gateway configuration snapshots. A snapshot is immutable once built and
 * reference-counted: every request holds the snapshot it started with, so a reload
 * (mlops_gateway_configure) swaps the pointer without disturbing requests in flight.
 * Runtime state per deployment (in-flight count, latency EWMA, cooldown) lives in
 * mlops__gw_dep_state objects that outlive snapshots and are found again by key on
 * reload, so a reload keeps what the router has learned.
 */
#ifndef MLOPS_GW_CONFIG_H
#define MLOPS_GW_CONFIG_H

#include <stdatomic.h>

#include "../core/core.h"

struct mlops__provider;
struct mlops__gw_dep_state;
struct mlops__gateway;
struct mlops__route_cfg;

/** Balancing strategies among a model's deployments (router.strategy). */
enum mlops__gw_strategy {
    MLOPS__GW_WEIGHTED = 0, /* "weighted": random in proportion to weight */
    MLOPS__GW_LEAST_BUSY,   /* "least_busy": fewest requests in flight */
    MLOPS__GW_LOWEST_LATENCY, /* "lowest_latency": latency EWMA within a buffer */
    MLOPS__GW_USAGE,        /* "usage": most rpm/tpm headroom this minute */
    MLOPS__GW_LOWEST_COST,  /* "lowest_cost": cheapest for the estimated tokens */
    MLOPS__GW_PRIORITY      /* "priority": lowest priority number first */
};

typedef struct mlops__gw_deployment {
    char *id;       /* "id" or "<model>#<index>": names the deployment in messages */
    char *model;    /* the public model name it serves */
    const struct mlops__provider *provider;
    char *base_url; /* without a trailing slash */
    char *upstream; /* "model": the upstream model id */
    char *api_key;  /* resolved literal or environment value; NULL when none */
    char *api_key_env; /* the variable named, for messages */
    char *api_key_header; /* "authorization" (Bearer), "api-key" (Azure), "x-api-key" */
    char *api_version;    /* Azure ?api-version=, anthropic-version header */
    char *ca_file;        /* PEM bundle to verify the server with (private CAs), or NULL */
    json_t *headers;      /* extra headers {"name": "value"} or NULL */
    json_t *params;       /* extra body fields merged into every request, or NULL */
    double weight;
    int64_t rpm, tpm, max_parallel, context_window, priority; /* 0 = unlimited/unknown */
    double input_cost_per_mtok, output_cost_per_mtok;
    int64_t timeout_ms, connect_timeout_ms, first_byte_timeout_ms;
    int64_t default_max_tokens; /* for providers that require max_tokens (anthropic) */
    bool stream_usage;          /* openai: ask for usage in streams (stream_options) */
    struct mlops__gw_dep_state *state;
    struct mlops__gw_local *local; /* provider "local": the shared model holder */
    char *chat_template;           /* provider "local": template family override */
} mlops__gw_deployment;

/** A model's "registry" entry: versions of a registered model pick what serves. */
typedef struct mlops__gw_registry {
    char *model;          /* the registered model's name (default: the gateway model's) */
    char *alias;          /* the alias whose deployment picks ("production") */
    char *error_metric;   /* observation names (default "error_rate", "latency_ms") */
    char *latency_metric;
    bool observe;         /* record observations (default true) */
    bool shadows;         /* run shadow copies (default true) */
    int64_t shadow_timeout_ms; /* a shadow's own deadline (default 2000) */
} mlops__gw_registry;

typedef struct mlops__gw_model {
    char *name;
    mlops__gw_deployment *deps;
    size_t ndeps;             /* 0 only with a registry entry */
    mlops__gw_registry *registry; /* NULL when none */
} mlops__gw_model;

typedef struct mlops__gw_router {
    enum mlops__gw_strategy strategy;
    int retries;                /* extra attempts per model after the first */
    bool retry_status[600];     /* which upstream statuses are retried */
    bool retry_timeout, retry_connect;
    int64_t backoff_base_ms, backoff_max_ms, retry_after_max_ms;
    int64_t timeout_ms;         /* overall deadline of one mlops_chat call */
    double latency_buffer;      /* lowest_latency: accept within (1 + buffer) x best */
    int64_t allowed_fails, window_ms, cooldown_ms;
    json_t *fallbacks, *context_fallbacks, *policy_fallbacks; /* name -> [names] */
} mlops__gw_router;

/** The pipeline switches: gateway.pipeline.<stage> (true unless set false). */
typedef struct mlops__gw_switch {
    char *name;
    bool enabled;
} mlops__gw_switch;

typedef struct mlops__gw_config {
    atomic_int refs;
    json_t *source; /* the config JSON it was built from */
    mlops__gw_model *models;
    size_t nmodels;
    mlops__gw_router router;
    json_t *pipeline; /* the "pipeline" object (stage name -> bool), never NULL */
    struct mlops__route_cfg *routing; /* "routing" (rules + complexity), or NULL */
    bool require_key; /* "require_key": requests without x_mlops.api_key are refused */
    uint64_t generation;
} mlops__gw_config;

/**
 * Checks a gateway config object; errors are MLOPS_ECONFIG naming the key with `path`
 * as prefix ("config.gateway.models[0].deployments[1].rpm: ...").
 */
int mlops__gw_config_check(const json_t *cfg, const char *path);

/**
 * Builds a snapshot (refs = 1) from a checked config, binding each deployment to its
 * runtime state in `gw` (created on first sight).
 */
int mlops__gw_config_build(struct mlops__gateway *gw, const json_t *cfg, const char *path,
                           mlops__gw_config **out);
void mlops__gw_config_retain(mlops__gw_config *c);
void mlops__gw_config_release(mlops__gw_config *c);

const mlops__gw_model *mlops__gw_config_model(const mlops__gw_config *c, const char *name);
/** Whether pipeline stage `name` is on (default true). */
bool mlops__gw_config_stage_on(const mlops__gw_config *c, const char *name);

#endif
