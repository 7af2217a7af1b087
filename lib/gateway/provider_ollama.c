/*
 * Ollama's native chat API (POST {base}/api/chat; docs/api.md "Generate a chat
 * completion"). Sampling options move into "options" (max_tokens -> num_predict),
 * response_format json_object -> "format": "json" and json_schema -> the schema,
 * image parts -> "images" (base64), tool calls carry arguments as objects. Streams are
 * NDJSON: one {"message": {...}, "done": false} per line, the last with done: true,
 * done_reason and the token counts (prompt_eval_count, eval_count).
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *translate_message(const json_t *m)
{
    const char *role = mlops__json_str(m, "role", "user");
    if (strcmp(role, "developer") == 0)
        role = "system";
    json_t *content = json_object_get(m, "content");
    char *text = mlops__gw_content_text(content);
    json_t *out = json_pack("{s:s, s:s}", "role", role, "content", text ? text : "");
    free(text);
    json_t *images = json_array();
    size_t i;
    json_t *part;
    json_array_foreach(json_is_array(content) ? content : NULL, i, part) {
        if (strcmp(mlops__json_str(part, "type", ""), "image_url") != 0)
            continue;
        json_t *iu = json_object_get(part, "image_url");
        const char *url = json_is_string(iu) ? json_string_value(iu) : mlops__json_str(iu, "url", "");
        const char *comma = strncmp(url, "data:", 5) == 0 ? strchr(url, ',') : NULL;
        json_array_append_new(images, json_string(comma ? comma + 1 : url));
    }
    if (json_array_size(images))
        json_object_set(out, "images", images);
    json_decref(images);
    json_t *tcs = json_object_get(m, "tool_calls");
    if (json_array_size(tcs)) {
        json_t *calls = json_array();
        json_array_foreach(tcs, i, part) {
            json_t *fn = json_object_get(part, "function");
            json_t *args = json_loads(mlops__json_str(fn, "arguments", "{}"), 0, NULL);
            if (!json_is_object(args)) {
                json_decref(args);
                args = json_object();
            }
            json_array_append_new(calls, json_pack("{s:{s:s, s:o}}", "function", "name",
                                                   mlops__json_str(fn, "name", ""), "arguments", args));
        }
        json_object_set_new(out, "tool_calls", calls);
    }
    return out;
}

static int build(const mlops__gw_deployment *d, const json_t *req, bool stream,
                 mlops__gw_upstream *u)
{
    json_t *body = json_pack("{s:s, s:[], s:b}", "model", d->upstream, "messages", "stream",
                             stream);
    json_t *msgs = json_object_get(body, "messages");
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(req, "messages"), i, m)
        json_array_append_new(msgs, translate_message(m));
    json_t *opts = json_object();
    static const char *const same[] = {"temperature", "top_p", "seed", "stop", "top_k"};
    for (i = 0; i < MLOPS__ARRAY_LEN(same); i++) {
        json_t *v = json_object_get(req, same[i]);
        if (v && json_is_string(v) && strcmp(same[i], "stop") == 0)
            json_object_set_new(opts, same[i], json_pack("[O]", v));
        else if (v)
            json_object_set(opts, same[i], v);
    }
    json_t *mt = json_object_get(req, "max_tokens");
    if (!mt)
        mt = json_object_get(req, "max_completion_tokens");
    if (mt)
        json_object_set(opts, "num_predict", mt);
    json_t *extra = json_object_get(req, "options");
    if (json_is_object(extra))
        json_object_update(opts, extra);
    if (json_object_size(opts))
        json_object_set(body, "options", opts);
    json_decref(opts);
    json_t *rf = json_object_get(req, "response_format");
    const char *rft = mlops__json_str(rf, "type", "");
    if (strcmp(rft, "json_object") == 0)
        json_object_set_new(body, "format", json_string("json"));
    else if (strcmp(rft, "json_schema") == 0) {
        json_t *schema = json_object_get(json_object_get(rf, "json_schema"), "schema");
        if (schema)
            json_object_set(body, "format", schema);
    }
    static const char *const pass[] = {"tools", "keep_alive", "think", "format"};
    for (i = 0; i < MLOPS__ARRAY_LEN(pass); i++) {
        json_t *v = json_object_get(req, pass[i]);
        if (v)
            json_object_set(body, pass[i], v);
    }
    if (d->params)
        json_object_update_missing(body, d->params);
    int rc = mlops__json_dump_steal(body, &u->body);
    if (rc != MLOPS_OK)
        return rc;
    u->url = mlops__gw_url_join(d->base_url, "/api/chat");
    if (!u->url || !mlops__gw_upstream_header(u, "Content-Type: application/json"))
        return mlops__error_oom("upstream request");
    return mlops__gw_auth_headers(d, u);
}

static const char *finish_reason(const json_t *r)
{
    const char *dr = mlops__json_str(r, "done_reason", "stop");
    json_t *tcs = json_object_get(json_object_get(r, "message"), "tool_calls");
    if (json_array_size(tcs))
        return "tool_calls";
    return strcmp(dr, "length") == 0 ? "length" : "stop";
}

static json_t *tool_calls_of(const json_t *msg, int *counter)
{
    json_t *out = json_array();
    size_t i;
    json_t *tc;
    json_array_foreach(json_object_get(msg, "tool_calls"), i, tc) {
        json_t *fn = json_object_get(tc, "function");
        char *args = NULL;
        json_t *a = json_object_get(fn, "arguments");
        if (!a || mlops__json_dump(a, &args) != MLOPS_OK)
            args = NULL;
        char id[32];
        snprintf(id, sizeof id, "call_%d", (*counter)++);
        json_array_append_new(out, json_pack("{s:i, s:s, s:s, s:{s:s, s:s}}", "index",
                                             (int)i, "id", id, "type", "function", "function",
                                             "name", mlops__json_str(fn, "name", ""),
                                             "arguments", args ? args : "{}"));
        free(args);
    }
    return out;
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
    json_t *msg = json_object_get(r, "message");
    if (!json_is_object(msg) ||
        !json_is_string(json_object_get(msg, "content"))) {
        json_decref(r);
        return mlops__error(MLOPS_EPARSE, "response has no message.content");
    }
    int counter = 0;
    json_t *m = json_pack("{s:s, s:O}", "role", "assistant", "content", json_object_get(msg, "content"));
    json_t *tcs = tool_calls_of(msg, &counter);
    if (json_array_size(tcs)) {
        size_t i;
        json_t *tc;
        json_array_foreach(tcs, i, tc)
            json_object_del(tc, "index");
        json_object_set(m, "tool_calls", tcs);
    }
    json_decref(tcs);
    int64_t p = mlops__json_int(r, "prompt_eval_count", 0);
    int64_t c = mlops__json_int(r, "eval_count", 0);
    if (!json_is_integer(json_object_get(r, "prompt_eval_count")))
        p = 0;
    if (!json_is_integer(json_object_get(r, "eval_count")))
        c = 0;
    char id[48];
    snprintf(id, sizeof id, "chatcmpl-ollama-%llx", (unsigned long long)mlops__now_ns());
    json_t *res = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s}], s:{s:I, s:I, s:I}}",
                            "id", id, "object", "chat.completion", "created", (json_int_t)time(NULL),
                            "model", mlops__json_str(r, "model", ""), "choices", "index", 0,
                            "message", m, "finish_reason", finish_reason(r), "usage",
                            "prompt_tokens", (json_int_t)p, "completion_tokens", (json_int_t)c,
                            "total_tokens", (json_int_t)(p + c));
    json_decref(r);
    if (!res)
        return mlops__error(MLOPS_EPARSE, "response could not be translated");
    *out = res;
    return MLOPS_OK;
}

static int parse_stream_event(mlops__gw_stream *st, const char *event, const char *data,
                              size_t len)
{
    (void)event;
    json_t *ev = json_loadb(data, len, 0, NULL);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return mlops__error(MLOPS_EPARSE, "stream line is not a JSON object");
    }
    json_t *error = json_object_get(ev, "error");
    if (error) {
        int rc = mlops__gw_stream_error(st, json_is_string(error) ? json_string_value(error)
                                                                  : "error in stream");
        json_decref(ev);
        return rc;
    }
    if (!st->id[0])
        snprintf(st->id, sizeof st->id, "chatcmpl-ollama-%llx", (unsigned long long)mlops__now_ns());
    if (!st->model[0])
        snprintf(st->model, sizeof st->model, "%s", mlops__json_str(ev, "model", ""));
    json_t *msg = json_object_get(ev, "message");
    int rc = MLOPS_OK;
    json_t *c = mlops__gw_chunk_new(st);
    json_t *choice = json_array_get(json_object_get(c, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    bool any = false;
    if (!st->role_sent) {
        json_object_set_new(delta, "role", json_string("assistant"));
        st->role_sent = true;
        any = true;
    }
    const char *text = mlops__json_str(msg, "content", NULL);
    if (text && *text) {
        json_object_set_new(delta, "content", json_string(text));
        any = true;
    }
    if (json_array_size(json_object_get(msg, "tool_calls"))) {
        json_object_set_new(delta, "tool_calls", tool_calls_of(msg, &st->tool_index));
        any = true;
    }
    bool done = json_is_true(json_object_get(ev, "done"));
    if (done) {
        json_object_set_new(choice, "finish_reason",
                            json_string(st->tool_index > 0 ? "tool_calls" : finish_reason(ev)));
        any = true;
        if (json_is_integer(json_object_get(ev, "prompt_eval_count")))
            st->prompt_tokens = json_integer_value(json_object_get(ev, "prompt_eval_count"));
        if (json_is_integer(json_object_get(ev, "eval_count")))
            st->completion_tokens = json_integer_value(json_object_get(ev, "eval_count"));
    }
    if (any)
        rc = st->sink(st->user, c);
    json_decref(c);
    if (rc == MLOPS_OK && done) {
        json_t *u = mlops__gw_usage_chunk(st);
        st->done = true;
        rc = st->sink(st->user, u);
        json_decref(u);
    }
    json_decref(ev);
    return rc;
}

static enum mlops__gw_fail map_error(long status, const char *body, size_t len, char *msg,
                                     size_t cap)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *m = json_is_string(e) ? json_string_value(e) : mlops__json_str(e, "message", NULL);
    enum mlops__gw_fail f = mlops__gw_fail_of(status, m, NULL, body, len, msg, cap);
    json_decref(j);
    return f;
}

const mlops__provider mlops__provider_ollama = {
    "ollama", true, build, parse_response, parse_stream_event, map_error, NULL,
};
