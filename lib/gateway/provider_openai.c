/*
 * OpenAI-compatible chat completions (POST {base}/chat/completions): OpenAI, Azure
 * OpenAI deployments (api-key header, ?api-version=), vLLM, llama.cpp server, Ollama's
 * /v1, OpenRouter, Together, Groq... The request passes through with the upstream
 * model id; unknown fields are kept. Streams are SSE with "data: [DONE]" at the end.
 */
#include "provider.h"

#include <stdlib.h>
#include <string.h>

/* Adds the API key and the deployment's extra headers. */
int mlops__gw_auth_headers(const mlops__gw_deployment *d, mlops__gw_upstream *u)
{
    bool ok = true;
    if (d->api_key) {
        if (strcmp(d->api_key_header, "authorization") == 0)
            ok = mlops__gw_upstream_header(u, "Authorization: Bearer %s", d->api_key);
        else
            ok = mlops__gw_upstream_header(u, "%s: %s", d->api_key_header, d->api_key);
    }
    const char *k;
    json_t *v;
    json_object_foreach(d->headers, k, v)
        ok = ok && mlops__gw_upstream_header(u, "%s: %s", k, json_string_value(v));
    return ok ? MLOPS_OK : mlops__error_oom("upstream headers");
}

static int build(const mlops__gw_deployment *d, const json_t *req, bool stream,
                 mlops__gw_upstream *u)
{
    json_t *body = json_deep_copy(req);
    if (!body)
        return mlops__error_oom("upstream request");
    if (d->params)
        json_object_update_missing(body, d->params);
    json_object_set_new(body, "model", json_string(d->upstream));
    if (stream) {
        json_object_set_new(body, "stream", json_true());
        if (d->stream_usage && !json_object_get(body, "stream_options"))
            json_object_set_new(body, "stream_options", json_pack("{s:b}", "include_usage", 1));
    } else {
        json_object_del(body, "stream");
        json_object_del(body, "stream_options");
    }
    int rc = mlops__json_dump_steal(body, &u->body);
    if (rc != MLOPS_OK)
        return rc;
    if (d->api_version && strcmp(d->api_key_header, "api-key") == 0)
        u->url = mlops__sprintf("%s/chat/completions?api-version=%s", d->base_url, d->api_version);
    else
        u->url = mlops__gw_url_join(d->base_url, "/chat/completions");
    if (!u->url || !mlops__gw_upstream_header(u, "Content-Type: application/json") ||
        !mlops__gw_upstream_header(u, "Accept: %s", stream ? "text/event-stream" : "application/json"))
        return mlops__error_oom("upstream request");
    return mlops__gw_auth_headers(d, u);
}

static int parse_response(const mlops__gw_deployment *d, const char *body, size_t len,
                          json_t **out)
{
    (void)d;
    *out = NULL;
    json_t *r = NULL;
    int rc = mlops__gw_parse_body(body, len, &r);
    if (rc != MLOPS_OK)
        return rc;
    json_t *choices = json_object_get(r, "choices");
    json_t *c0 = json_array_get(choices, 0);
    if (!json_is_array(choices) || !json_is_object(c0) ||
        !json_is_object(json_object_get(c0, "message"))) {
        json_decref(r);
        return mlops__error(MLOPS_EPARSE, "response has no choices[0].message object");
    }
    json_t *usage = json_object_get(r, "usage");
    if (usage && !json_is_object(usage))
        json_object_del(r, "usage");
    *out = r;
    return MLOPS_OK;
}

static int parse_stream_event(mlops__gw_stream *st, const char *event, const char *data,
                              size_t len)
{
    (void)event;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        st->done = true;
        return MLOPS_OK;
    }
    json_t *chunk = json_loadb(data, len, 0, NULL);
    if (!json_is_object(chunk)) {
        json_decref(chunk);
        return mlops__error(MLOPS_EPARSE, "stream event is not a JSON object");
    }
    json_t *error = json_object_get(chunk, "error");
    if (error) {
        int rc = mlops__gw_stream_error(st, json_is_string(error)
                                                ? json_string_value(error)
                                                : mlops__json_str(error, "message",
                                                                  "error in stream"));
        json_decref(chunk);
        return rc;
    }
    if (!json_is_array(json_object_get(chunk, "choices"))) {
        json_decref(chunk);
        return mlops__error(MLOPS_EPARSE, "stream chunk has no choices array");
    }
    json_t *usage = json_object_get(chunk, "usage");
    if (json_is_object(usage)) {
        json_t *p = json_object_get(usage, "prompt_tokens");
        json_t *c = json_object_get(usage, "completion_tokens");
        if (json_is_integer(p))
            st->prompt_tokens = json_integer_value(p);
        if (json_is_integer(c))
            st->completion_tokens = json_integer_value(c);
    }
    const char *id = mlops__json_str(chunk, "id", NULL);
    if (id && !st->id[0])
        snprintf(st->id, sizeof st->id, "%s", id);
    const char *model = mlops__json_str(chunk, "model", NULL);
    if (model && !st->model[0])
        snprintf(st->model, sizeof st->model, "%s", model);
    int rc = st->sink(st->user, chunk);
    json_decref(chunk);
    return rc;
}

static enum mlops__gw_fail map_error(long status, const char *body, size_t len, char *msg,
                                     size_t cap)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *m = NULL, *code = NULL;
    if (json_is_object(e)) {
        m = mlops__json_str(e, "message", NULL);
        json_t *c = json_object_get(e, "code");
        code = json_is_string(c) ? json_string_value(c) : mlops__json_str(e, "type", NULL);
    } else if (json_is_string(e)) {
        m = json_string_value(e);
    } else {
        m = mlops__json_str(j, "message", NULL);
    }
    enum mlops__gw_fail f = mlops__gw_fail_of(status, m, code, body, len, msg, cap);
    json_decref(j);
    return f;
}

const mlops__provider mlops__provider_openai = {
    "openai", false, build, parse_response, parse_stream_event, map_error, NULL,
};
