/*
 * The request pipeline: an ordered table of stages, each a function over one
 * per-request context. A stage is switched by config `gateway.pipeline.<name>`
 * (on by default). Adding a stage is adding a row to the table in pipeline.c and,
 * if it needs to, fields to mlops__gw_ctx: the public API does not change.
 *
 * Order (stages of modules that have not landed are not in the table yet):
 *   key check ("keys") -> prompt resolution -> input guard -> cache lookup -> rules +
 *   complexity routing ("complexity_routing") -> registry (model registry version pick)
 *   -> model resolution ("routing") -> provider call (retries, fallbacks) -> registry
 *   observation (and shadows) -> output guard -> cache store -> ledger and key
 *   settlement ("ledger").
 * The guard and cache stages run after prompt resolution: the prompt's variables are
 * caller text to scan, and the prompt version partitions the cache.
 *
 * A stage reads and writes the context, and reports what it did by adding fields to
 * `report` (an object that already has "name"; the pipeline adds "status" and "ms").
 * A stage that answers the request itself (a cache hit) sets ctx->response; later
 * stages see it and skip the upstream call. Stages marked `always` (ledger,
 * observations) also run after an earlier stage failed, with ctx->status set.
 */
#ifndef MLOPS_GW_PIPELINE_H
#define MLOPS_GW_PIPELINE_H

#include "config.h"
#include "keys.h"
#include "mlops/gateway.h"

struct mlops__gateway;

typedef struct mlops__gw_ctx {
    mlops_t *h;
    struct mlops__gateway *gw;
    mlops__gw_config *cfg;  /* the snapshot this request runs on (held) */
    json_t *request;        /* the OpenAI request, x_mlops removed (owned) */
    json_t *options;        /* the x_mlops options object, {} when absent (owned) */
    const char *model;      /* the public model asked for (may be rewritten by routing) */
    bool stream;
    mlops_chunk_fn chunk_fn;
    void *chunk_user;
    uint64_t start_ns, deadline_ns;

    /* prompt -> cache: the prompt version that made the messages ("name:3"; malloc'd,
     * NULL when none). The prompt stage sets it; when it is NULL the cache stages read
     * x_mlops.prompt {"name", "version"} instead. */
    char *prompt_version;
    /* cache_lookup -> cache_store: the (redacted) request as looked up, before routing
     * rewrites the model (owned; NULL when the lookup did not run) */
    json_t *cache_req;
    /* the stage that answered the request itself (a cache hit): later stages that are
     * not `always` are skipped (static name, NULL when none) */
    const char *answered_by;
    /* guard_input -> guard_output: a streamed answer held back until the output guard
     * passed it (gateway.guard.buffer_stream): the caller's chunk function is kept
     * here while ctx->chunk_fn collects chunk texts into held_chunks (owned) */
    mlops_chunk_fn held_fn;
    void *held_user;
    json_t *held_chunks;
    /* keys -> ledger: the reservation held for this request */
    mlops__key_reservation reservation; /* .id 0: none */

    /* routing -> provider */
    const mlops__gw_model *route;   /* the resolved model (set by the routing stage) */

    /* registry -> registry_observe: the registered version picked (0 when none) */
    const mlops__gw_model *reg_entry;
    int64_t reg_version;
    int32_t reg_shadows[8];
    size_t reg_nshadows;
    json_t *reg_report; /* x_mlops.registry (borrowed from xm) */

    /* results */
    json_t *response;  /* the chat.completion (owned) */
    json_t *xm;        /* the x_mlops object reported in the response (owned) */
    int status;        /* the pipeline's status so far */
    int64_t prompt_tokens, completion_tokens;
    double cost;
    const char *deployment; /* id of the deployment that answered (snapshot-owned) */
    const mlops__gw_deployment *dep; /* that deployment (prices, provider, upstream) */
    int chunks_sent;
} mlops__gw_ctx;

typedef int (*mlops__gw_stage_fn)(mlops__gw_ctx *ctx, json_t *report);

typedef struct mlops__gw_stage {
    const char *name;     /* also the config key gateway.pipeline.<name> */
    mlops__gw_stage_fn run;
    bool always;          /* runs even when an earlier stage failed */
} mlops__gw_stage;

/**
 * Points the request at another public model (rule or complexity routing): rewrites
 * request.model and ctx->model. Call before the routing stage resolves it.
 */
int mlops__gw_ctx_set_model(mlops__gw_ctx *ctx, const char *model);

/**
 * Runs a request through the stages. On return ctx->response holds the answer (the
 * caller adds x_mlops) or ctx->status the failure. A stage answering a streamed request
 * itself (a cache hit) must send it through ctx->chunk_fn as chunks too.
 */
int mlops__gw_pipeline_run(mlops__gw_ctx *ctx);

/** The stage table (for config validation and introspection). */
extern const mlops__gw_stage mlops__gw_stages[];
extern const size_t mlops__gw_stages_count;

/* Stages implemented in this folder. */
int mlops__gw_stage_route(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_call(mlops__gw_ctx *ctx, json_t *report);
/* stage_prompt.c: x_mlops.prompt -> messages and model parameters */
int mlops__gw_stage_prompt(mlops__gw_ctx *ctx, json_t *report);
/* stage_registry.c: the model registry picks the version (and shadows) that serve;
 * the observe stage records the outcome and runs the shadows */
int mlops__gw_stage_registry(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_registry_observe(mlops__gw_ctx *ctx, json_t *report);

/**
 * The caller's key for sticky choices (prompt splits, registry rollouts): explicit_key
 * when not NULL, else x_mlops.metadata.user, else request.user; NULL when none.
 */
const char *mlops__gw_ctx_user_key(const mlops__gw_ctx *ctx, const char *explicit_key);
/* stage_guard.c: guardrails over the request (before) and the answer (after) */
int mlops__gw_stage_guard_input(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_guard_output(mlops__gw_ctx *ctx, json_t *report);
/* stage_cache.c: exact/semantic lookup (a hit answers) and store after a success */
int mlops__gw_stage_cache_lookup(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_cache_store(mlops__gw_ctx *ctx, json_t *report);
/**
 * Ends stream buffering (no-op when none): restores the caller's chunk function and,
 * with deliver, sends it the held chunks (MLOPS_ECANCELED when it asks to stop).
 */
int mlops__gw_stream_release(mlops__gw_ctx *ctx, bool deliver);
/** Sends a complete chat.completion as OpenAI chunks (role, content, tools, finish). */
int mlops__gw_stream_response(mlops__gw_ctx *ctx, const json_t *resp);
/** Check the gateway config's "guard" / "cache" sections (NULL is fine); `path` prefixes. */
int mlops__gw_guard_config_check(const json_t *section, const char *path);
int mlops__gw_cache_config_check(const json_t *section, const char *path);
/* Gateway II stages (keys_stage.c, route_stage.c). */
int mlops__gw_stage_keys(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_complexity(mlops__gw_ctx *ctx, json_t *report);
int mlops__gw_stage_ledger(mlops__gw_ctx *ctx, json_t *report);

#endif
