/*
 * The cache stages ("cache_lookup", "cache_store"): lib/cache's exact and semantic
 * tiers in front of the provider.
 *
 * cache_lookup runs after the input guard (so the key is computed on redacted text: PII
 * the guard removed never reaches the cache) and after prompt resolution (the prompt
 * version partitions the cache, so moving a prompt label never serves answers of the
 * old version). A hit answers the request: x_mlops.cache = {"hit": "exact" |
 * "semantic", "similarity", "entry_id"}, the later stages (routing, provider, output
 * guard, store) are skipped (the cached answer passed the output guard when it was
 * stored); a streamed request gets the cached answer as OpenAI chunks. A miss keeps the
 * request as looked up for cache_store, which stores the answer after a successful
 * provider call whose output passed the guard (a failed or blocked request never
 * reaches it), unless the answer is incomplete (finish_reason "length" or none).
 *
 * Opt-in: the stages run when the gateway config has a "cache" object (even {}) or
 * gateway.pipeline.cache_lookup is true; gateway.pipeline.<stage>: false turns one off.
 *
 * Skipped when: x_mlops.cache is false; the request's temperature is above
 * gateway.cache.max_temperature; the cache is disabled (config.cache.enabled). Cache
 * errors (a prompt over the cache's size limits, an embedder failure) never fail the
 * request: the stage reports them and the request goes on uncached.
 *
 * Config (gateway.cache, all optional): "namespace" (default "gateway"), "semantic"
 * (bool, true: false looks up the exact tier only), "threshold" (0..1, overrides the
 * partition's), "ttl_s" (seconds, default the cache's), "max_temperature" (default 1.0).
 */
#include "gateway_state.h"
#include "pipeline.h"

#include "../cache/cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const mlops__json_field cache_fields[] = {
    {"namespace", MLOPS__J_STRING, false},
    {"semantic", MLOPS__J_BOOL, false},
    {"threshold", MLOPS__J_NUMBER, false},
    {"ttl_s", MLOPS__J_NUMBER, false},
    {"max_temperature", MLOPS__J_NUMBER, false},
    {NULL, 0, false},
};

int mlops__gw_cache_config_check(const json_t *section, const char *path)
{
    if (!section)
        return MLOPS_OK;
    char sub[256];
    snprintf(sub, sizeof sub, "%s.cache", path);
    int rc = mlops__json_check_fields(section, sub, cache_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    double t = mlops__json_num(section, "threshold", 0.5);
    if (!(t >= 0 && t <= 1))
        return mlops__error(MLOPS_ECONFIG, "%s.threshold: %g is outside 0..1", sub, t);
    double ttl = mlops__json_num(section, "ttl_s", 0);
    if (!(ttl >= 0 && ttl <= 1e10))
        return mlops__error(MLOPS_ECONFIG, "%s.ttl_s: %g is outside 0..1e10", sub, ttl);
    double mt = mlops__json_num(section, "max_temperature", 1);
    if (!(mt >= 0))
        return mlops__error(MLOPS_ECONFIG, "%s.max_temperature: %g is negative", sub, mt);
    const char *ns = mlops__json_str(section, "namespace", "gateway");
    if (!*ns)
        return mlops__error(MLOPS_ECONFIG, "%s.namespace: empty", sub);
    return MLOPS_OK;
}

static const json_t *cache_section(const mlops__gw_ctx *ctx)
{
    return ctx->cfg ? json_object_get(ctx->cfg->source, "cache") : NULL;
}

/* The prompt version that made the messages, or NULL. */
static const char *prompt_version(const mlops__gw_ctx *ctx, char *buf, size_t cap)
{
    if (ctx->prompt_version)
        return ctx->prompt_version;
    const json_t *p = json_object_get(ctx->xm, "prompt");
    const char *name = mlops__json_str(p, "name", NULL);
    const json_t *v = json_object_get(p, "version");
    if (!name || !json_is_integer(v))
        return NULL;
    snprintf(buf, cap, "%s:%lld", name, (long long)json_integer_value(v));
    return buf;
}

/* The options for lib/cache: namespace, prompt version and the stage's own keys. */
static json_t *cache_options(const mlops__gw_ctx *ctx, bool lookup)
{
    const json_t *sec = cache_section(ctx);
    json_t *o = json_pack("{s:s}", "namespace", mlops__json_str(sec, "namespace", "gateway"));
    char buf[300];
    const char *pv = prompt_version(ctx, buf, sizeof buf);
    if (pv)
        json_object_set_new(o, "prompt_version", json_string(pv));
    if (lookup) {
        if (json_object_get(sec, "semantic"))
            json_object_set_new(o, "semantic", json_boolean(mlops__json_bool(sec, "semantic", true)));
        if (json_object_get(sec, "threshold"))
            json_object_set_new(o, "threshold", json_real(mlops__json_num(sec, "threshold", 0)));
    } else if (json_object_get(sec, "ttl_s")) {
        json_object_set_new(o, "ttl_s", json_real(mlops__json_num(sec, "ttl_s", 0)));
    }
    return o;
}

static int emit(mlops__gw_ctx *ctx, json_t *chunk)
{
    char *text = NULL;
    int rc = chunk ? mlops__json_dump(chunk, &text) : mlops__error_oom("cache chunk");
    json_decref(chunk);
    if (rc != MLOPS_OK)
        return rc;
    int stop = ctx->chunk_fn(text, ctx->chunk_user);
    free(text);
    ctx->chunks_sent++;
    return stop ? mlops__error(MLOPS_ECANCELED, "canceled by the chunk function") : MLOPS_OK;
}

static json_t *chunk_of(const json_t *resp, int64_t created, int index, json_t *delta,
                        const char *finish)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s?}]}", "id",
                     mlops__json_str(resp, "id", "chatcmpl-cache"), "object",
                     "chat.completion.chunk", "created", (json_int_t)created, "model",
                     mlops__json_str(resp, "model", ""), "choices", "index", index, "delta",
                     delta, "finish_reason", finish);
}

/* Sends a cached answer as OpenAI chunks: role, content, tool calls, finish + usage. */
int mlops__gw_stream_response(mlops__gw_ctx *ctx, const json_t *resp)
{
    int64_t created = (int64_t)time(NULL);
    size_t i;
    json_t *c;
    int rc = MLOPS_OK;
    json_array_foreach(json_object_get(resp, "choices"), i, c) {
        json_t *msg = json_object_get(c, "message");
        const char *text = mlops__json_str(msg, "content", NULL);
        rc = emit(ctx, chunk_of(resp, created, (int)i,
                                json_pack("{s:s, s:s}", "role", "assistant", "content", ""), NULL));
        if (rc == MLOPS_OK && text && *text)
            rc = emit(ctx, chunk_of(resp, created, (int)i, json_pack("{s:s}", "content", text),
                                    NULL));
        json_t *calls = json_object_get(msg, "tool_calls");
        if (rc == MLOPS_OK && json_array_size(calls) > 0) {
            json_t *d = json_array();
            size_t j;
            json_t *tc;
            json_array_foreach(calls, j, tc) {
                json_t *x = json_deep_copy(tc);
                json_object_set_new(x, "index", json_integer((json_int_t)j));
                json_array_append_new(d, x);
            }
            rc = emit(ctx, chunk_of(resp, created, (int)i, json_pack("{s:o}", "tool_calls", d),
                                    NULL));
        }
        if (rc == MLOPS_OK) {
            json_t *last = chunk_of(resp, created, (int)i, json_object(),
                                    mlops__json_str(c, "finish_reason", "stop"));
            if (last && i + 1 == json_array_size(json_object_get(resp, "choices")) &&
                json_is_object(json_object_get(resp, "usage")))
                json_object_set(last, "usage", json_object_get(resp, "usage"));
            rc = emit(ctx, last);
        }
        if (rc != MLOPS_OK)
            break;
    }
    return rc;
}

int mlops__gw_stage_cache_lookup(mlops__gw_ctx *ctx, json_t *report)
{
    const json_t *sec = cache_section(ctx);
    const char *skip = NULL;
    json_t *t = json_object_get(ctx->request, "temperature");
    if (!sec && !(ctx->cfg && json_is_true(json_object_get(ctx->cfg->pipeline, "cache_lookup"))))
        skip = "not configured (no gateway.cache)";
    else if (json_is_false(json_object_get(ctx->options, "cache")))
        skip = "x_mlops.cache is false";
    else if (!ctx->gw->cache)
        skip = "the cache module is not available";
    else if (!json_is_array(json_object_get(ctx->request, "messages")))
        skip = "no messages";
    else if (json_is_number(t) && json_number_value(t) > mlops__json_num(sec, "max_temperature", 1))
        skip = "temperature above gateway.cache.max_temperature";
    if (skip) {
        json_object_set_new(report, "skipped", json_string(skip));
        return MLOPS_OK;
    }
    json_t *req = json_deep_copy(ctx->request);
    json_t *opts = cache_options(ctx, true);
    if (!req || !opts) {
        json_decref(req);
        json_decref(opts);
        return mlops__error_oom("cache lookup");
    }
    /* delivery details do not change the answer */
    json_object_del(req, "stream");
    json_object_del(req, "stream_options");
    json_object_del(req, "user");
    json_t *res = NULL;
    int rc = mlops__cache_lookup(ctx->gw->cache, req, opts, &res);
    json_decref(opts);
    if (rc != MLOPS_OK) {
        /* the cache never fails a request: report and go on uncached */
        json_object_set_new(report, rc == MLOPS_EUNSUPPORTED ? "skipped" : "error",
                            json_string(mlops__error_text()));
        json_decref(req);
        return MLOPS_OK;
    }
    ctx->cache_req = req;
    json_t *hit = json_object_get(res, "hit");
    json_t *resp = json_object_get(res, "response");
    json_object_set_new(report, "partition", json_incref(json_object_get(res, "partition")));
    if (!json_is_string(hit) || !json_is_object(resp)) {
        json_object_set_new(ctx->xm, "cache", json_pack("{s:n}", "hit"));
        json_object_set_new(report, "hit", json_null());
        json_decref(res);
        return MLOPS_OK;
    }
    json_t *info = json_pack("{s:O, s:O, s:O}", "hit", hit, "similarity",
                             json_object_get(res, "similarity"), "entry_id",
                             json_object_get(res, "entry_id"));
    json_object_set(report, "hit", hit);
    json_object_set_new(ctx->xm, "cache", info);
    json_t *answer = json_deep_copy(resp);
    json_decref(res);
    if (!answer)
        return mlops__error_oom("cache hit");
    json_object_del(answer, "x_mlops");
    ctx->response = answer;
    ctx->answered_by = "cache_lookup";
    ctx->prompt_tokens = ctx->completion_tokens = 0; /* nothing went upstream */
    ctx->cost = 0;
    json_object_set_new(ctx->xm, "cost", json_real(0));
    if (ctx->stream) {
        mlops__gw_stream_release(ctx, false); /* nothing was held yet */
        int src = mlops__gw_stream_response(ctx, answer);
        json_object_set_new(ctx->xm, "stream", json_pack("{s:i, s:b, s:b}", "chunks",
                                                         ctx->chunks_sent, "broken", 0,
                                                         "from_cache", 1));
        return src;
    }
    return MLOPS_OK;
}

int mlops__gw_stage_cache_store(mlops__gw_ctx *ctx, json_t *report)
{
    if (!ctx->cache_req || !ctx->response) {
        json_object_set_new(report, "skipped", json_string("no cache lookup for this request"));
        return MLOPS_OK;
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ctx->response, "choices"), i, c) {
        const char *fr = mlops__json_str(c, "finish_reason", NULL);
        if (!fr || strcmp(fr, "length") == 0) {
            json_object_set_new(report, "skipped", json_string("incomplete answer (finish_reason)"));
            return MLOPS_OK;
        }
    }
    json_t *opts = cache_options(ctx, false);
    int64_t id = 0;
    int rc = opts ? mlops__cache_put(ctx->gw->cache, ctx->cache_req, ctx->response, opts, &id)
                  : mlops__error_oom("cache store");
    json_decref(opts);
    if (rc != MLOPS_OK) {
        json_object_set_new(report, "error", json_string(mlops__error_text()));
        return MLOPS_OK;
    }
    json_object_set_new(report, "entry_id", json_integer((json_int_t)id));
    json_t *info = json_object_get(ctx->xm, "cache");
    if (info)
        json_object_set_new(info, "stored", json_integer((json_int_t)id));
    return MLOPS_OK;
}
