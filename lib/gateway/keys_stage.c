/*
 * The gateway pipeline's key stages: "keys" (first: checks x_mlops.api_key and
 * reserves the request's maximum cost and tokens) and "ledger" (last, runs also after
 * a failure: settles the reservation on the reported usage and writes the ledger row
 * in the same transaction, or releases it when nothing was used).
 */
#include "gateway.h"
#include "gateway_state.h"
#include "keys.h"
#include "pipeline.h"
#include "request.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Output tokens reserved when the request sets no max_tokens. */
#define DEFAULT_MAX_OUTPUT 4096

void mlops__gateway_attach_keys(struct mlops__gateway *gw, struct mlops__keys *keys)
{
    if (gw)
        gw->keys = keys;
}

/*
 * The request's maximum cost: prompt estimate plus its output cap, priced at the most
 * expensive deployment of the configuration (routing, retries and fallbacks may end
 * anywhere), so that the reservation bounds what settlement will charge.
 */
static void upper_bound(const mlops__gw_ctx *ctx, int64_t *tokens, double *cost)
{
    int64_t in = mlops__gw_estimate_tokens(ctx->request);
    int64_t out = mlops__json_int(ctx->request, "max_tokens", 0);
    if (out <= 0)
        out = mlops__json_int(ctx->request, "max_completion_tokens", 0);
    double pin = 0, pout = 0;
    int64_t window = 0;
    for (size_t i = 0; ctx->cfg && i < ctx->cfg->nmodels; i++) {
        const mlops__gw_model *m = &ctx->cfg->models[i];
        for (size_t j = 0; j < m->ndeps; j++) {
            if (m->deps[j].input_cost_per_mtok > pin)
                pin = m->deps[j].input_cost_per_mtok;
            if (m->deps[j].output_cost_per_mtok > pout)
                pout = m->deps[j].output_cost_per_mtok;
            if (m->deps[j].context_window > window)
                window = m->deps[j].context_window;
        }
    }
    if (out <= 0)
        out = window > in ? window - in : DEFAULT_MAX_OUTPUT;
    *tokens = in + out;
    *cost = ((double)in * pin + (double)out * pout) / 1e6;
}

int mlops__gw_stage_keys(mlops__gw_ctx *ctx, json_t *report)
{
    const char *secret = mlops__json_str(ctx->options, "api_key", NULL);
    if (!secret) {
        if (ctx->cfg && ctx->cfg->require_key)
            return mlops__error(MLOPS_EAUTH,
                                "x_mlops.api_key: this gateway requires a virtual key "
                                "(gateway.require_key)");
        json_object_set_new(report, "key", json_null());
        return MLOPS_OK;
    }
    if (!ctx->gw->keys)
        return mlops__error(MLOPS_EUNSUPPORTED, "x_mlops.api_key: virtual keys are not built in");
    int64_t tokens;
    double cost;
    upper_bound(ctx, &tokens, &cost);
    /* The model is checked now unless routing will choose it (then after routing). */
    const mlops__route_cfg *rc = ctx->cfg ? ctx->cfg->routing : NULL;
    bool routed = mlops__gw_config_stage_on(ctx->cfg, "complexity_routing") &&
                  mlops__route_cfg_triggers(rc, ctx->model);
    mlops__key_refusal ref;
    int st = mlops__keys_authorize_ex(ctx->gw->keys, secret, routed ? NULL : ctx->model, cost,
                                      tokens, &ctx->reservation, &ref);
    if (st != MLOPS_OK) {
        json_object_set_new(report, "refused", json_string(ref.reason ? ref.reason : ""));
        json_object_set_new(report, "retry_after_ms", json_integer(ref.retry_after_ms));
        json_object_set_new(ctx->xm, "retry_after_ms", json_integer(ref.retry_after_ms));
        return st;
    }
    const mlops__key_reservation *r = &ctx->reservation;
    json_object_set_new(report, "key", json_string(r->key_id));
    json_object_set_new(report, "reservation", json_integer(r->id));
    json_object_set_new(report, "reserved_cost", json_real(r->cost));
    json_object_set_new(report, "reserved_tokens", json_integer(r->tokens));
    if (r->soft_alert)
        json_object_set_new(report, "soft_budget_alert", json_true());
    json_object_set_new(ctx->xm, "key", json_string(r->key_id));
    return MLOPS_OK;
}

/* The stricter of the input and output verdicts (block > redact > warn > allow). */
static const char *ledger_guard_verdict(const char *in, const char *out)
{
    static const char *const order[] = {"block", "redact", "warn", "allow"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(order); i++)
        if ((in && strcmp(in, order[i]) == 0) || (out && strcmp(out, order[i]) == 0))
            return order[i];
    return NULL;
}

int mlops__gw_stage_ledger(mlops__gw_ctx *ctx, json_t *report)
{
    mlops__keys *k = ctx->gw->keys;
    if (!k) {
        json_object_set_new(report, "recorded", json_false());
        return MLOPS_OK;
    }
    char *route = NULL;
    json_t *rj = json_object_get(ctx->xm, "route");
    if (rj)
        route = json_dumps(rj, JSON_COMPACT);
    mlops__ledger_entry e = {0};
    e.request_id = json_string_value(json_object_get(ctx->response, "id"));
    e.key_id = ctx->reservation.id ? ctx->reservation.key_id : NULL;
    e.model = ctx->model;
    e.deployment = ctx->deployment;
    e.tokens_in = ctx->prompt_tokens > 0 ? ctx->prompt_tokens : 0;
    e.tokens_out = ctx->completion_tokens > 0 ? ctx->completion_tokens : 0;
    e.cost = ctx->cost > 0 ? ctx->cost : 0;
    e.latency_ms = (double)(mlops__now_ns() - ctx->start_ns) / 1e6;
    e.route = route;
    e.status = ctx->status == MLOPS_OK        ? "ok"
               : ctx->status == MLOPS_EBLOCKED ? "blocked"
                                               : "error";
    /* What the cache and guard stages did, from their reports in x_mlops. */
    const json_t *cache = json_object_get(ctx->xm, "cache");
    e.cache_hit = json_is_string(json_object_get(cache, "hit")) ? 1 : 0;
    const json_t *guard = json_object_get(ctx->xm, "guard");
    const char *out_verdict = json_string_value(
        json_object_get(json_object_get(guard, "output"), "verdict"));
    const char *in_verdict = json_string_value(
        json_object_get(json_object_get(guard, "input"), "verdict"));
    e.guard = ledger_guard_verdict(in_verdict, out_verdict);
    bool used = e.tokens_in + e.tokens_out > 0 || e.cost > 0;
    int rc;
    /* Keep the pipeline's error text: the ledger must not overwrite why it failed. */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", mlops__error_text());
    if (ctx->reservation.id && !used) {
        rc = mlops__keys_release(k, &ctx->reservation);
        if (rc == MLOPS_OK)
            rc = mlops__keys_ledger_record(k, &e);
    } else if (ctx->reservation.id) {
        rc = mlops__keys_settle_record(k, &ctx->reservation, &e);
    } else {
        rc = mlops__keys_ledger_record(k, &e);
    }
    free(route);
    json_object_set_new(report, "recorded", json_boolean(rc == MLOPS_OK));
    json_object_set_new(report, "cost", json_real(e.cost));
    if (ctx->reservation.id)
        json_object_set_new(report, used ? "settled" : "released", json_true());
    if (rc != MLOPS_OK) {
        /* The answer exists: report the ledger failure without failing the request. */
        json_object_set_new(report, "error", json_string(mlops__error_text()));
        mlops__log(ctx->gw->logger, MLOPS_LOG_ERROR, "gateway ledger: %s", mlops__error_text());
    }
    if (ctx->status != MLOPS_OK)
        mlops__error(ctx->status, "%s", saved);
    ctx->reservation.id = 0;
    return MLOPS_OK;
}
