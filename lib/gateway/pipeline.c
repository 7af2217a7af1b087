/*
 * The request pipeline: the stage table and the loop that runs it. Each stage's
 * report goes into x_mlops.stages in order: {"name", "status": "ok" | "error" |
 * "disabled" | "not_run" | "skipped" (an earlier stage answered: a cache hit), "ms",
 * ...what the stage adds}.
 */
#include "pipeline.h"

#include <string.h>

/*
 * In order. Stages of modules not built yet (key check, input guard, cache lookup,
 * output guard, cache store, ledger) are added here when their modules land, each at
 * its place in this order (pipeline.h).
 */
const mlops__gw_stage mlops__gw_stages[] = {
    {"keys", mlops__gw_stage_keys, false},
    {"prompt", mlops__gw_stage_prompt, false},
    /* guard and cache go after "prompt" (resolved messages, prompt version) */
    {"guard_input", mlops__gw_stage_guard_input, false},
    {"cache_lookup", mlops__gw_stage_cache_lookup, false},
    {"complexity_routing", mlops__gw_stage_complexity, false},
    {"registry", mlops__gw_stage_registry, false},
    {"routing", mlops__gw_stage_route, false},
    {"provider", mlops__gw_stage_call, false},
    {"registry_observe", mlops__gw_stage_registry_observe, true},
    {"guard_output", mlops__gw_stage_guard_output, false},
    {"cache_store", mlops__gw_stage_cache_store, false},
    {"ledger", mlops__gw_stage_ledger, true},
};
const size_t mlops__gw_stages_count = MLOPS__ARRAY_LEN(mlops__gw_stages);

int mlops__gw_stage_route(mlops__gw_ctx *ctx, json_t *report)
{
    const mlops__gw_model *m = mlops__gw_config_model(ctx->cfg, ctx->model);
    if (!m)
        return mlops__error(MLOPS_ENOTFOUND, "request.model: unknown model '%s'%s", ctx->model,
                            ctx->cfg && ctx->cfg->nmodels ? ""
                                : " (the gateway has no models: call mlops_gateway_configure)");
    if (m->ndeps == 0)
        return mlops__error(MLOPS_ENOTFOUND,
                            "request.model: model '%s' has no deployments of its own; its "
                            "registry entry picks the model that serves (is "
                            "gateway.pipeline.registry switched off?)", m->name);
    ctx->route = m;
    json_object_set_new(report, "model", json_string(m->name));
    json_object_set_new(report, "deployments", json_integer((json_int_t)m->ndeps));
    json_t *fb = json_object_get(ctx->cfg->router.fallbacks, m->name);
    if (fb)
        json_object_set(report, "fallbacks", fb);
    return MLOPS_OK;
}

int mlops__gw_ctx_set_model(mlops__gw_ctx *ctx, const char *model)
{
    json_t *v = json_string(model);
    if (!v || json_object_set_new(ctx->request, "model", v) != 0)
        return mlops__error(MLOPS_EINVAL, "model: '%s' is not valid UTF-8 text", model);
    ctx->model = json_string_value(json_object_get(ctx->request, "model"));
    json_object_set_new(ctx->xm, "model", json_string(ctx->model));
    return MLOPS_OK;
}

int mlops__gw_pipeline_run(mlops__gw_ctx *ctx)
{
    json_t *stages = json_array();
    json_object_set_new(ctx->xm, "stages", stages);
    ctx->status = MLOPS_OK;
    for (size_t i = 0; i < mlops__gw_stages_count; i++) {
        const mlops__gw_stage *s = &mlops__gw_stages[i];
        json_t *report = json_pack("{s:s}", "name", s->name);
        json_array_append_new(stages, report);
        if (!mlops__gw_config_stage_on(ctx->cfg, s->name)) {
            json_object_set_new(report, "status", json_string("disabled"));
            continue;
        }
        if (ctx->status != MLOPS_OK && !s->always) {
            json_object_set_new(report, "status", json_string("not_run"));
            continue;
        }
        if (ctx->answered_by && !s->always) {
            json_object_set_new(report, "status", json_string("skipped"));
            json_object_set_new(report, "answered_by", json_string(ctx->answered_by));
            continue;
        }
        uint64_t t0 = mlops__now_ns();
        int rc = s->run(ctx, report);
        json_object_set_new(report, "ms", json_real((double)(mlops__now_ns() - t0) / 1e6));
        json_object_set_new(report, "status", json_string(rc == MLOPS_OK ? "ok" : "error"));
        if (rc != MLOPS_OK && ctx->status == MLOPS_OK)
            ctx->status = rc;
    }
    if (ctx->status == MLOPS_OK && !ctx->response)
        ctx->status = mlops__error(MLOPS_EUNSUPPORTED,
                                   "gateway: no stage answered the request (is "
                                   "gateway.pipeline.provider switched off?)");
    return ctx->status;
}
