/*
 * The model registry stages ("registry" before routing, "registry_observe" after the
 * provider call).
 *
 * A gateway model with a "registry" entry {"alias": "production", "model": <registered
 * name, default the gateway model's name>, ...} is served by whichever version of the
 * registered model lib/models picks on that alias: the alias's running deployment
 * (canary, blue-green, A/B, shadow) or the version the alias points at. The pick is
 * sticky by x_mlops.metadata.user, else request.user (random without either).
 *
 * Version -> gateway model: the version's tag `gateway_model` (or, failing that, its
 * param `gateway_model`) names the gateway model that serves it; the request is then
 * routed to that model as if the caller had asked for it (its deployments, retries
 * and fallbacks). A version without the tag is served by the entry's own
 * deployments when it has some; otherwise the request fails naming the version. So
 * does a model that is not registered, or has no such alias (yet).
 *
 * After the call, "registry_observe" (runs also when the call failed) records one
 * observation for the version: error_metric = 0/1 (1 for any failure except the
 * caller's cancel) and latency_metric = the request's milliseconds so far, so canary
 * analysis sees live traffic. A version that no running deployment includes
 * (MLOPS_ESTATE) is not an error: the report says observed false.
 *
 * Shadows: the pick may name shadow versions. Each gets a copy of the request (not
 * streamed, no fallbacks) routed to its gateway model, run synchronously after the
 * primary completed, with its own deadline (shadow_timeout_ms, default 2000), and its
 * outcome observed for the shadow version. The primary's response, status and error
 * text are never affected; the caller's mlops_chat returns after the shadows finished
 * (streamed requests have received all their chunks by then). "shadows": false in the
 * entry turns them off.
 *
 * x_mlops.registry = {"model", "alias", "version", "gateway_model", "observed",
 * "shadows": [{"version", "gateway_model", "status", "latency_ms", "error"?}]}.
 */
#include "gateway_state.h"
#include "pipeline.h"

#include "../models/models.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The gateway model serving `version` (a new string), or NULL with *why set. */
static char *version_model(mlops__gw_ctx *ctx, const mlops__gw_registry *r, int64_t version)
{
    char ref[300];
    snprintf(ref, sizeof ref, "%s:%lld", r->model, (long long)version);
    json_t *v = NULL;
    if (mlops__models_get(ctx->gw->models, ref, &v) != MLOPS_OK)
        return NULL;
    const char *gm = mlops__json_str(json_object_get(v, "tags"), "gateway_model", NULL);
    if (!gm)
        gm = mlops__json_str(json_object_get(v, "params"), "gateway_model", NULL);
    char *out = gm ? mlops__strdup(gm) : NULL;
    if (!gm)
        mlops__error(MLOPS_ENOTFOUND, "model '%s' version %lld has no tag gateway_model",
                     r->model, (long long)version);
    json_decref(v);
    return out;
}

int mlops__gw_stage_registry(mlops__gw_ctx *ctx, json_t *report)
{
    const mlops__gw_model *m = mlops__gw_config_model(ctx->cfg, ctx->model);
    if (!m || !m->registry) {
        json_object_set_new(report, "skipped", json_string("no registry entry for the model"));
        return MLOPS_OK;
    }
    const mlops__gw_registry *r = m->registry;
    if (!ctx->gw->models)
        return mlops__error(MLOPS_ESTATE, "model '%s': the model registry is not open", m->name);
    int64_t version = 0;
    size_t n = 0;
    const char *key = mlops__gw_ctx_user_key(ctx, NULL);
    int rc = mlops__deploy_pick(ctx->gw->models, r->model, r->alias, key, &version,
                                ctx->reg_shadows, MLOPS__ARRAY_LEN(ctx->reg_shadows), &n);
    if (rc == MLOPS_ENOTFOUND && m->ndeps > 0) {
        /* not registered (yet): the entry's own deployments serve */
        json_object_set_new(report, "skipped", json_string(mlops__error_text()));
        return MLOPS_OK;
    }
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "model '%s': registry pick on %s@%s", m->name, r->model,
                                 r->alias);
    ctx->reg_entry = m;
    ctx->reg_version = version;
    ctx->reg_nshadows = n < MLOPS__ARRAY_LEN(ctx->reg_shadows) ? n : MLOPS__ARRAY_LEN(ctx->reg_shadows);
    json_t *info = json_pack("{s:s, s:s, s:I}", "model", r->model, "alias", r->alias, "version",
                             (json_int_t)version);
    json_object_set_new(ctx->xm, "registry", info);
    ctx->reg_report = info;
    json_object_set_new(report, "version", json_integer((json_int_t)version));
    if (ctx->reg_nshadows)
        json_object_set_new(report, "shadows", json_integer((json_int_t)ctx->reg_nshadows));
    char *gm = version_model(ctx, r, version);
    if (!gm) {
        if (m->ndeps > 0) {
            json_object_set_new(info, "gateway_model", json_string(m->name));
            return MLOPS_OK; /* served by the entry's own deployments */
        }
        return mlops__error_wrap(MLOPS_ENOTFOUND, "model '%s'", m->name);
    }
    json_object_set_new(info, "gateway_model", json_string(gm));
    json_object_set_new(report, "gateway_model", json_string(gm));
    if (!mlops__gw_config_model(ctx->cfg, gm)) {
        rc = mlops__error(MLOPS_ENOTFOUND, "model '%s': version %lld names gateway_model '%s', "
                          "which the gateway config does not define", m->name,
                          (long long)version, gm);
        free(gm);
        return rc;
    }
    rc = strcmp(gm, ctx->model) == 0 ? MLOPS_OK : mlops__gw_ctx_set_model(ctx, gm);
    free(gm);
    return rc;
}

static void observe(mlops__gw_ctx *ctx, const mlops__gw_registry *r, int64_t version, bool error,
                    double ms, json_t *into)
{
    json_t *metrics = json_object();
    json_object_set_new(metrics, r->error_metric, json_integer(error ? 1 : 0));
    json_object_set_new(metrics, r->latency_metric, json_real(ms));
    int rc = mlops__deploy_observe(ctx->gw->models, r->model, version, metrics);
    json_decref(metrics);
    json_object_set_new(into, "observed", json_boolean(rc == MLOPS_OK));
    if (rc != MLOPS_OK && rc != MLOPS_ESTATE)
        json_object_set_new(into, "observe_error", json_string(mlops__error_text()));
}

/* Runs one shadow copy of the request on gateway model `gm`; fills `out`. */
static void run_shadow(mlops__gw_ctx *ctx, const mlops__gw_registry *r, int64_t version,
                       const char *gm, json_t *out)
{
    mlops__gw_ctx sc;
    memset(&sc, 0, sizeof sc);
    sc.h = ctx->h;
    sc.gw = ctx->gw;
    sc.cfg = ctx->cfg; /* held by the primary for the whole call */
    sc.request = json_deep_copy(ctx->request);
    sc.options = json_pack("{s:b}", "fallbacks", false);
    sc.xm = json_object();
    sc.start_ns = mlops__now_ns();
    sc.deadline_ns = sc.start_ns + (uint64_t)r->shadow_timeout_ms * 1000000u;
    int rc = MLOPS_ENOMEM;
    if (sc.request && sc.options && sc.xm) {
        json_object_del(sc.request, "stream");
        json_object_del(sc.request, "stream_options");
        json_t *rep = json_object();
        rc = mlops__gw_ctx_set_model(&sc, gm);
        if (rc == MLOPS_OK)
            rc = mlops__gw_stage_route(&sc, rep);
        if (rc == MLOPS_OK)
            rc = mlops__gw_stage_call(&sc, rep);
        json_decref(rep);
    }
    double ms = (double)(mlops__now_ns() - sc.start_ns) / 1e6;
    json_object_set_new(out, "status", json_string(rc == MLOPS_OK ? "ok" : "error"));
    json_object_set_new(out, "latency_ms", json_real(ms));
    if (rc != MLOPS_OK)
        json_object_set_new(out, "error", json_string(mlops__error_text()));
    if (sc.deployment)
        json_object_set_new(out, "deployment", json_string(sc.deployment));
    if (r->observe)
        observe(ctx, r, version, rc != MLOPS_OK, ms, out);
    json_decref(sc.request);
    json_decref(sc.options);
    json_decref(sc.response);
    json_decref(sc.xm);
}

int mlops__gw_stage_registry_observe(mlops__gw_ctx *ctx, json_t *report)
{
    if (!ctx->reg_entry || ctx->reg_version <= 0) {
        json_object_set_new(report, "skipped", json_string("no registry version picked"));
        return MLOPS_OK;
    }
    const mlops__gw_registry *r = ctx->reg_entry->registry;
    /* nothing here may change the primary's outcome, including its error text */
    char saved[1024];
    snprintf(saved, sizeof saved, "%s", mlops__error_text());
    if (r->observe) {
        bool error = ctx->status != MLOPS_OK && ctx->status != MLOPS_ECANCELED;
        observe(ctx, r, ctx->reg_version, error,
                (double)(mlops__now_ns() - ctx->start_ns) / 1e6, ctx->reg_report);
        json_object_set(report, "observed", json_object_get(ctx->reg_report, "observed"));
    }
    json_t *shadows = json_array();
    json_object_set_new(ctx->reg_report, "shadows", shadows);
    for (size_t i = 0; i < ctx->reg_nshadows; i++) {
        int64_t v = ctx->reg_shadows[i];
        json_t *s = json_pack("{s:I}", "version", (json_int_t)v);
        json_array_append_new(shadows, s);
        if (!r->shadows) {
            json_object_set_new(s, "status", json_string("disabled"));
            continue;
        }
        char *gm = version_model(ctx, r, v);
        if (!gm) {
            json_object_set_new(s, "status", json_string("error"));
            json_object_set_new(s, "error", json_string(mlops__error_text()));
            continue;
        }
        json_object_set_new(s, "gateway_model", json_string(gm));
        run_shadow(ctx, r, v, gm, s);
        free(gm);
    }
    json_object_set_new(report, "shadows", json_integer((json_int_t)ctx->reg_nshadows));
    if (ctx->status != MLOPS_OK)
        mlops__error(ctx->status, "%s", saved);
    return MLOPS_OK;
}
