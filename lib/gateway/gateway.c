/* The gateway module: state, configuration swaps, one chat request, status. */
#include "gateway.h"

#include "gateway_state.h"
#include "pipeline.h"
#include "provider.h"
#include "request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlops__gw_dep_state *mlops__gw_state_get(mlops__gateway *gw, const char *key)
{
    mlops__mutex_lock(&gw->states_lock);
    mlops__gw_dep_state *s = gw->states;
    while (s && strcmp(s->key, key) != 0)
        s = s->next;
    if (!s && (s = mlops__gw_state_new(key)) != NULL) {
        s->next = gw->states;
        gw->states = s;
    }
    mlops__mutex_unlock(&gw->states_lock);
    return s;
}

mlops__gw_config *mlops__gw_current(mlops__gateway *gw)
{
    mlops__rwlock_rdlock(&gw->cfg_lock);
    mlops__gw_config *c = gw->cfg;
    if (c)
        mlops__gw_config_retain(c);
    mlops__rwlock_unlock(&gw->cfg_lock);
    return c;
}

int mlops__gateway_check_config(const json_t *section)
{
    return section ? mlops__gw_config_check(section, "config.gateway") : MLOPS_OK;
}

int mlops__gateway_open(mlops_t *h, mlops__logger *logger, const json_t *section,
                        mlops__gateway **out)
{
    *out = NULL;
    mlops__gateway *gw = calloc(1, sizeof *gw);
    if (!gw)
        return mlops__error_oom("gateway");
    gw->h = h;
    gw->logger = logger;
    mlops__rwlock_init(&gw->cfg_lock);
    mlops__mutex_init(&gw->states_lock);
    int rc = mlops__http_create(&gw->http);
    if (rc == MLOPS_OK && section)
        rc = mlops__gateway_configure(gw, section, "config.gateway");
    if (rc != MLOPS_OK) {
        mlops__gateway_close(gw);
        return rc;
    }
    *out = gw;
    return MLOPS_OK;
}

void mlops__gateway_close(mlops__gateway *gw)
{
    if (!gw)
        return;
    mlops__gw_config_release(gw->cfg);
    mlops__http_destroy(gw->http);
    while (gw->states) {
        mlops__gw_dep_state *s = gw->states;
        gw->states = s->next;
        mlops__gw_state_free(s);
    }
    mlops__rwlock_destroy(&gw->cfg_lock);
    mlops__mutex_destroy(&gw->states_lock);
    free(gw);
}

int mlops__gateway_configure(mlops__gateway *gw, const json_t *cfg, const char *what)
{
    mlops__gw_config *c = NULL;
    int rc = mlops__gw_config_build(gw, cfg, what, &c);
    if (rc != MLOPS_OK)
        return rc;
    mlops__rwlock_wrlock(&gw->cfg_lock);
    mlops__gw_config *old = gw->cfg;
    c->generation = ++gw->generation;
    gw->cfg = c;
    mlops__rwlock_unlock(&gw->cfg_lock);
    mlops__gw_config_release(old);
    mlops__log(gw->logger, MLOPS_LOG_INFO, "gateway: configuration %llu applied (%zu models)",
               (unsigned long long)c->generation, c->nmodels);
    return MLOPS_OK;
}

static void ctx_free(mlops__gw_ctx *ctx)
{
    json_decref(ctx->request);
    json_decref(ctx->options);
    json_decref(ctx->response);
    json_decref(ctx->xm);
    mlops__gw_config_release(ctx->cfg);
}

int mlops__gateway_chat(mlops__gateway *gw, mlops_t *h, const char *request_json,
                        mlops_chunk_fn fn, void *user_data, char **out)
{
    *out = NULL;
    json_t *req = NULL;
    int rc = mlops__json_parse(request_json, "request", &req);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__gw_request_check(req)) != MLOPS_OK) {
        json_decref(req);
        return rc;
    }
    bool stream = json_is_true(json_object_get(req, "stream"));
    if (stream && !fn) {
        json_decref(req);
        return mlops__error(MLOPS_EINVAL, "request.stream: true needs mlops_chat_stream()");
    }
    mlops__gw_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.h = h;
    ctx.gw = gw;
    ctx.cfg = mlops__gw_current(gw);
    ctx.request = req;
    ctx.options = json_incref(json_object_get(req, "x_mlops"));
    if (!ctx.options)
        ctx.options = json_object();
    json_object_del(req, "x_mlops");
    ctx.stream = fn != NULL;
    ctx.chunk_fn = fn;
    ctx.chunk_user = user_data;
    ctx.model = mlops__json_str(req, "model", "");
    ctx.start_ns = mlops__now_ns();
    int64_t timeout = ctx.cfg ? ctx.cfg->router.timeout_ms : 120000;
    timeout = mlops__json_int(ctx.options, "timeout_ms", timeout);
    ctx.deadline_ns = ctx.start_ns + (uint64_t)timeout * 1000000u;
    ctx.xm = json_pack("{s:s}", "model", ctx.model);
    if (!ctx.options || !ctx.xm) {
        ctx_free(&ctx);
        return mlops__error_oom("gateway request");
    }
    if (ctx.cfg)
        json_object_set_new(ctx.xm, "config_generation", json_integer((json_int_t)ctx.cfg->generation));
    /* the caller's labels come back with the answer (and reach the ledger stage) */
    static const char *const echoed[] = {"metadata", "tags"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(echoed); i++) {
        json_t *v = json_object_get(ctx.options, echoed[i]);
        if (v)
            json_object_set(ctx.xm, echoed[i], v);
    }
    rc = mlops__gw_pipeline_run(&ctx);
    if (ctx.response) {
        json_object_set_new(ctx.xm, "latency_ms",
                            json_real((double)(mlops__now_ns() - ctx.start_ns) / 1e6));
        json_object_set(ctx.response, "x_mlops", ctx.xm);
        /* keep the thread's error text: dumping must not overwrite it */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", mlops__error_text());
        int drc = mlops__json_dump(ctx.response, out);
        if (rc == MLOPS_OK)
            rc = drc;
        else
            mlops__error(rc, "%s", saved);
    }
    if (rc != MLOPS_OK && !(fn && ctx.chunks_sent > 0)) {
        mlops_free(*out);
        *out = NULL;
    }
    ctx_free(&ctx);
    return rc;
}

int mlops__gateway_status(mlops__gateway *gw, json_t **out)
{
    mlops__gw_config *c = mlops__gw_current(gw);
    json_t *st = json_pack("{s:I, s:[], s:[]}", "generation", (json_int_t)(c ? c->generation : 0),
                           "stages", "models");
    json_t *stages = json_object_get(st, "stages");
    for (size_t i = 0; i < mlops__gw_stages_count; i++)
        json_array_append_new(stages, json_pack("{s:s, s:b}", "name", mlops__gw_stages[i].name,
                                                "enabled",
                                                mlops__gw_config_stage_on(c, mlops__gw_stages[i].name)));
    json_t *models = json_object_get(st, "models");
    for (size_t i = 0; c && i < c->nmodels; i++) {
        const mlops__gw_model *m = &c->models[i];
        json_t *deps = json_array();
        for (size_t j = 0; j < m->ndeps; j++) {
            const mlops__gw_deployment *d = &m->deps[j];
            json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:f, s:b}", "id", d->id, "provider",
                                  d->provider->name, "base_url", d->base_url, "model", d->upstream,
                                  "weight", d->weight, "api_key_set", d->api_key != NULL);
            mlops__gw_state_describe(d->state, o);
            json_array_append_new(deps, o);
        }
        json_array_append_new(models, json_pack("{s:s, s:o}", "name", m->name, "deployments", deps));
    }
    mlops__gw_config_release(c);
    if (!st)
        return mlops__error_oom("gateway status");
    *out = st;
    return MLOPS_OK;
}
