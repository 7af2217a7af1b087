/*
 * The gateway pipeline's "complexity_routing" stage: rules then the complexity scorer
 * pick the model (gateway.routing), before the "routing" stage resolves it to
 * deployments. The decision goes into x_mlops.route.
 */
#include "gateway_state.h"
#include "keys.h"
#include "pipeline.h"
#include "route.h"

#include <string.h>

int mlops__gw_stage_complexity(mlops__gw_ctx *ctx, json_t *report)
{
    const mlops__route_cfg *cfg = ctx->cfg ? ctx->cfg->routing : NULL;
    if (!cfg) {
        json_object_set_new(report, "routed", json_false());
        return MLOPS_OK;
    }
    json_t *md = json_object_get(ctx->options, "metadata");
    md = md ? json_copy(md) : json_object();
    if (!md)
        return mlops__error_oom("routing metadata");
    json_t *tags = json_object_get(ctx->options, "tags");
    if (tags && !json_object_get(md, "tags"))
        json_object_set(md, "tags", tags);
    if (ctx->reservation.id)
        json_object_set_new(md, "key_id", json_string(ctx->reservation.key_id));
    /* Rules on a prompt label see the label the prompt stage resolved. */
    const char *label =
        json_string_value(json_object_get(json_object_get(ctx->xm, "prompt"), "label"));
    if (label && !json_object_get(md, "prompt_label"))
        json_object_set_new(md, "prompt_label", json_string(label));
    mlops__route_decision d;
    int rc = mlops__route_decide(cfg, ctx->request, md, &d);
    json_decref(md);
    if (rc != MLOPS_OK)
        return rc;
    if (d.routed && d.model[0]) {
        if (ctx->reservation.id && !ctx->reservation.any_model && ctx->gw->keys &&
            (rc = mlops__keys_check_model(ctx->gw->keys, ctx->reservation.key_id, d.model)) !=
                MLOPS_OK) {
            mlops__route_decision_free(&d);
            return rc;
        }
        rc = mlops__gw_ctx_set_model(ctx, d.model);
    }
    json_object_set(report, "decision", d.json);
    json_object_set(ctx->xm, "route", d.json);
    mlops__route_decision_free(&d);
    return rc;
}
