/*
 * Anthropic Messages API (POST {base}/v1/messages, anthropic-version 2023-06-01),
 * translated from and to OpenAI chat completions:
 *  - system messages -> top-level "system"; tool messages -> user tool_result blocks;
 *    assistant tool_calls -> tool_use blocks; image_url parts -> image blocks;
 *    consecutive messages of one role are merged (the API wants alternation);
 *  - max_tokens is required: the request's, else the deployment's default_max_tokens;
 *  - stop -> stop_sequences, tools -> {name, description, input_schema},
 *    tool_choice auto/required/none/{function} -> auto/any/none/{tool}, user -> metadata;
 *  - response content blocks -> message content + tool_calls, stop_reason ->
 *    finish_reason, usage input/output_tokens -> prompt/completion_tokens;
 *  - stream events message_start, content_block_start/delta, message_delta,
 *    message_stop, error -> OpenAI chat.completion.chunk objects.
 */
#include "provider.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static json_t *image_block(const char *url)
{
    if (strncmp(url, "data:", 5) == 0) {
        const char *semi = strchr(url, ';');
        const char *comma = strchr(url, ',');
        if (semi && comma && semi < comma)
            return json_pack("{s:s, s:{s:s, s:s%, s:s}}", "type", "image", "source", "type",
                             "base64", "media_type", url + 5, (size_t)(semi - url - 5), "data",
                             comma + 1);
    }
    return json_pack("{s:s, s:{s:s, s:s}}", "type", "image", "source", "type", "url", "url", url);
}

/* OpenAI content (string or parts) -> an array of Anthropic content blocks. */
static json_t *content_blocks(const json_t *content)
{
    json_t *out = json_array();
    if (json_is_string(content)) {
        if (json_string_length(content) > 0)
            json_array_append_new(out, json_pack("{s:s, s:O}", "type", "text", "text", content));
        return out;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *type = mlops__json_str(part, "type", "");
        if (strcmp(type, "text") == 0)
            json_array_append_new(out, json_pack("{s:s, s:s}", "type", "text", "text",
                                                 mlops__json_str(part, "text", "")));
        else if (strcmp(type, "image_url") == 0) {
            json_t *iu = json_object_get(part, "image_url");
            const char *url = json_is_string(iu) ? json_string_value(iu) : mlops__json_str(iu, "url", "");
            json_array_append_new(out, image_block(url));
        }
    }
    return out;
}

/* Appends blocks to the last message when it has the same role, else a new message. */
static void push(json_t *messages, const char *role, json_t *blocks)
{
    json_t *last = json_array_get(messages, json_array_size(messages) - 1);
    if (last && strcmp(mlops__json_str(last, "role", ""), role) == 0)
        json_array_extend(json_object_get(last, "content"), blocks);
    else if (json_array_size(blocks) > 0)
        json_array_append_new(messages, json_pack("{s:s, s:O}", "role", role, "content", blocks));
    json_decref(blocks);
}

static json_t *translate_messages(const json_t *msgs, json_t **system_out)
{
    json_t *messages = json_array();
    mlops__buf sys;
    mlops__buf_init(&sys);
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = mlops__json_str(m, "role", "");
        json_t *content = json_object_get(m, "content");
        if (strcmp(role, "system") == 0 || strcmp(role, "developer") == 0) {
            char *t = mlops__gw_content_text(content);
            if (t && *t) {
                if (sys.len)
                    mlops__buf_puts(&sys, "\n\n");
                mlops__buf_puts(&sys, t);
            }
            free(t);
        } else if (strcmp(role, "tool") == 0) {
            char *t = mlops__gw_content_text(content);
            json_t *b = json_pack("{s:s, s:s, s:s}", "type", "tool_result", "tool_use_id",
                                  mlops__json_str(m, "tool_call_id", ""), "content", t ? t : "");
            free(t);
            json_t *arr = json_array();
            json_array_append_new(arr, b);
            push(messages, "user", arr);
        } else if (strcmp(role, "assistant") == 0) {
            json_t *blocks = content_blocks(content);
            size_t k;
            json_t *tc;
            json_array_foreach(json_object_get(m, "tool_calls"), k, tc) {
                json_t *fn = json_object_get(tc, "function");
                json_t *input = json_loads(mlops__json_str(fn, "arguments", "{}"), 0, NULL);
                if (!json_is_object(input)) {
                    json_decref(input);
                    input = json_object();
                }
                json_array_append_new(blocks, json_pack("{s:s, s:s, s:s, s:o}", "type", "tool_use",
                                                        "id", mlops__json_str(tc, "id", ""), "name",
                                                        mlops__json_str(fn, "name", ""), "input", input));
            }
            push(messages, "assistant", blocks);
        } else {
            push(messages, "user", content_blocks(content));
        }
    }
    *system_out = sys.len ? json_string(sys.data) : NULL;
    mlops__buf_free(&sys);
    return messages;
}

static json_t *translate_tools(const json_t *tools)
{
    json_t *out = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(tools, i, t) {
        json_t *fn = json_object_get(t, "function");
        json_t *params = json_object_get(fn, "parameters");
        json_t *tool = json_pack("{s:s}", "name", mlops__json_str(fn, "name", ""));
        json_object_set_new(tool, "input_schema",
                            params ? json_incref(params) : json_pack("{s:s}", "type", "object"));
        const char *desc = mlops__json_str(fn, "description", NULL);
        if (desc)
            json_object_set_new(tool, "description", json_string(desc));
        json_array_append_new(out, tool);
    }
    return out;
}

static json_t *translate_tool_choice(const json_t *tc)
{
    if (json_is_string(tc)) {
        const char *s = json_string_value(tc);
        if (strcmp(s, "required") == 0)
            return json_pack("{s:s}", "type", "any");
        if (strcmp(s, "none") == 0)
            return json_pack("{s:s}", "type", "none");
        return json_pack("{s:s}", "type", "auto");
    }
    const char *name = mlops__json_str(json_object_get(tc, "function"), "name", "");
    return json_pack("{s:s, s:s}", "type", "tool", "name", name);
}

static int build(const mlops__gw_deployment *d, const json_t *req, bool stream,
                 mlops__gw_upstream *u)
{
    json_t *system = NULL;
    json_t *body = json_object();
    json_object_set_new(body, "model", json_string(d->upstream));
    json_object_set_new(body, "messages",
                        translate_messages(json_object_get(req, "messages"), &system));
    if (system)
        json_object_set_new(body, "system", system);
    json_t *mt = json_object_get(req, "max_tokens");
    if (!mt)
        mt = json_object_get(req, "max_completion_tokens");
    json_object_set_new(body, "max_tokens",
                        json_integer(mt ? json_integer_value(mt) : d->default_max_tokens));
    static const char *const same[] = {"temperature", "top_p", "top_k", "metadata", "thinking"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(same); i++) {
        json_t *v = json_object_get(req, same[i]);
        if (v)
            json_object_set(body, same[i], v);
    }
    json_t *stop = json_object_get(req, "stop");
    if (json_is_string(stop))
        json_object_set_new(body, "stop_sequences", json_pack("[O]", stop));
    else if (json_is_array(stop))
        json_object_set(body, "stop_sequences", stop);
    json_t *tools = json_object_get(req, "tools");
    json_t *tc = json_object_get(req, "tool_choice");
    if (tools && !(json_is_string(tc) && strcmp(json_string_value(tc), "none") == 0))
        json_object_set_new(body, "tools", translate_tools(tools));
    if (tc && tools && !(json_is_string(tc) && strcmp(json_string_value(tc), "none") == 0))
        json_object_set_new(body, "tool_choice", translate_tool_choice(tc));
    const char *user = mlops__json_str(req, "user", NULL);
    if (user && !json_object_get(body, "metadata"))
        json_object_set_new(body, "metadata", json_pack("{s:s}", "user_id", user));
    if (stream)
        json_object_set_new(body, "stream", json_true());
    if (d->params)
        json_object_update_missing(body, d->params);
    int rc = mlops__json_dump_steal(body, &u->body);
    if (rc != MLOPS_OK)
        return rc;
    size_t n = strlen(d->base_url);
    bool has_v1 = n >= 3 && strcmp(d->base_url + n - 3, "/v1") == 0;
    u->url = mlops__gw_url_join(d->base_url, has_v1 ? "/messages" : "/v1/messages");
    if (!u->url || !mlops__gw_upstream_header(u, "Content-Type: application/json") ||
        !mlops__gw_upstream_header(u, "anthropic-version: %s",
                                   d->api_version ? d->api_version : "2023-06-01") ||
        !mlops__gw_upstream_header(u, "Accept: %s", stream ? "text/event-stream" : "application/json"))
        return mlops__error_oom("upstream request");
    return mlops__gw_auth_headers(d, u);
}

static const char *finish_reason(const char *stop_reason)
{
    if (!stop_reason)
        return NULL;
    if (strcmp(stop_reason, "max_tokens") == 0)
        return "length";
    if (strcmp(stop_reason, "tool_use") == 0)
        return "tool_calls";
    if (strcmp(stop_reason, "refusal") == 0)
        return "content_filter";
    return "stop"; /* end_turn, stop_sequence, pause_turn */
}

static json_t *usage_of(const json_t *u, int64_t *prompt, int64_t *completion)
{
    int64_t in = mlops__json_int(u, "input_tokens", 0) +
                 mlops__json_int(u, "cache_creation_input_tokens", 0) +
                 mlops__json_int(u, "cache_read_input_tokens", 0);
    int64_t out = mlops__json_int(u, "output_tokens", 0);
    if (prompt)
        *prompt = in;
    if (completion)
        *completion = out;
    return json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)in, "completion_tokens",
                     (json_int_t)out, "total_tokens", (json_int_t)(in + out));
}

static bool int_field_ok(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return !v || json_is_integer(v) || json_is_null(v);
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
    json_t *content = json_object_get(r, "content");
    json_t *usage = json_object_get(r, "usage");
    if (!json_is_array(content) || (usage && !json_is_object(usage)) ||
        !int_field_ok(usage, "input_tokens") || !int_field_ok(usage, "output_tokens")) {
        json_decref(r);
        return mlops__error(MLOPS_EPARSE, "response has no content array");
    }
    mlops__buf text;
    mlops__buf_init(&text);
    mlops__buf_puts(&text, "");
    json_t *tool_calls = json_array();
    size_t i;
    json_t *b;
    json_array_foreach(content, i, b) {
        const char *type = mlops__json_str(b, "type", "");
        if (strcmp(type, "text") == 0 && json_is_string(json_object_get(b, "text"))) {
            mlops__buf_puts(&text, json_string_value(json_object_get(b, "text")));
        } else if (strcmp(type, "tool_use") == 0) {
            char *args = NULL;
            json_t *input = json_object_get(b, "input");
            if (!input || mlops__json_dump(input, &args) != MLOPS_OK)
                args = NULL;
            json_array_append_new(tool_calls,
                                  json_pack("{s:s, s:s, s:{s:s, s:s}}", "id",
                                            mlops__json_str(b, "id", ""), "type", "function",
                                            "function", "name", mlops__json_str(b, "name", ""),
                                            "arguments", args ? args : "{}"));
            free(args);
        }
    }
    json_t *msg = json_pack("{s:s, s:s}", "role", "assistant", "content", text.data ? text.data : "");
    mlops__buf_free(&text);
    if (json_array_size(tool_calls) > 0)
        json_object_set(msg, "tool_calls", tool_calls);
    json_decref(tool_calls);
    const char *fr = finish_reason(mlops__json_str(r, "stop_reason", NULL));
    json_t *res = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:o, s:s?}], s:o}", "id",
                            mlops__json_str(r, "id", ""), "object", "chat.completion", "created",
                            (json_int_t)time(NULL), "model", mlops__json_str(r, "model", ""),
                            "choices", "index", 0, "message", msg, "finish_reason", fr, "usage",
                            usage_of(usage, NULL, NULL));
    json_decref(r);
    if (!res)
        return mlops__error(MLOPS_EPARSE, "response could not be translated");
    *out = res;
    return MLOPS_OK;
}

static int emit(mlops__gw_stream *st, json_t *chunk)
{
    if (!chunk)
        return mlops__error_oom("stream chunk");
    int rc = st->sink(st->user, chunk);
    json_decref(chunk);
    return rc;
}

static json_t *delta_of(json_t *chunk)
{
    return json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta");
}

static int parse_stream_event(mlops__gw_stream *st, const char *event, const char *data,
                              size_t len)
{
    json_t *ev = json_loadb(data, len, 0, NULL);
    if (!json_is_object(ev)) {
        json_decref(ev);
        return mlops__error(MLOPS_EPARSE, "stream event '%s' is not a JSON object", event);
    }
    const char *type = mlops__json_str(ev, "type", event);
    int rc = MLOPS_OK;
    if (strcmp(type, "message_start") == 0) {
        json_t *m = json_object_get(ev, "message");
        snprintf(st->id, sizeof st->id, "%s", mlops__json_str(m, "id", ""));
        snprintf(st->model, sizeof st->model, "%s", mlops__json_str(m, "model", ""));
        json_t *u = json_object_get(m, "usage");
        if (json_is_object(u))
            json_decref(usage_of(u, &st->prompt_tokens, NULL));
        json_t *c = mlops__gw_chunk_new(st);
        json_object_set_new(delta_of(c), "role", json_string("assistant"));
        json_object_set_new(delta_of(c), "content", json_string(""));
        rc = emit(st, c);
    } else if (strcmp(type, "content_block_start") == 0) {
        json_t *b = json_object_get(ev, "content_block");
        int64_t idx = mlops__json_int(ev, "index", 0);
        bool tool = strcmp(mlops__json_str(b, "type", ""), "tool_use") == 0;
        if (idx >= 0 && idx < (int64_t)MLOPS__ARRAY_LEN(st->block_tool))
            st->block_tool[idx] = tool ? st->tool_index : -1;
        if (tool) {
            json_t *c = mlops__gw_chunk_new(st);
            json_object_set_new(delta_of(c), "tool_calls",
                                json_pack("[{s:i, s:s, s:s, s:{s:s, s:s}}]", "index", st->tool_index,
                                          "id", mlops__json_str(b, "id", ""), "type", "function",
                                          "function", "name", mlops__json_str(b, "name", ""),
                                          "arguments", ""));
            st->tool_index++;
            rc = emit(st, c);
        }
    } else if (strcmp(type, "content_block_delta") == 0) {
        json_t *dl = json_object_get(ev, "delta");
        const char *dt = mlops__json_str(dl, "type", "");
        int64_t idx = mlops__json_int(ev, "index", 0);
        if (strcmp(dt, "text_delta") == 0) {
            json_t *c = mlops__gw_chunk_new(st);
            json_object_set_new(delta_of(c), "content", json_string(mlops__json_str(dl, "text", "")));
            rc = emit(st, c);
        } else if (strcmp(dt, "input_json_delta") == 0) {
            int tool = idx >= 0 && idx < (int64_t)MLOPS__ARRAY_LEN(st->block_tool)
                           ? st->block_tool[idx] : -1;
            if (tool < 0)
                tool = st->tool_index > 0 ? st->tool_index - 1 : 0;
            json_t *c = mlops__gw_chunk_new(st);
            json_object_set_new(delta_of(c), "tool_calls",
                                json_pack("[{s:i, s:{s:s}}]", "index", tool, "function",
                                          "arguments", mlops__json_str(dl, "partial_json", "")));
            rc = emit(st, c);
        }
    } else if (strcmp(type, "message_delta") == 0) {
        json_t *u = json_object_get(ev, "usage");
        if (json_is_object(u) && json_is_integer(json_object_get(u, "output_tokens")))
            st->completion_tokens = json_integer_value(json_object_get(u, "output_tokens"));
        if (json_is_object(u) && json_is_integer(json_object_get(u, "input_tokens")))
            st->prompt_tokens = json_integer_value(json_object_get(u, "input_tokens"));
        const char *fr = finish_reason(mlops__json_str(json_object_get(ev, "delta"), "stop_reason", NULL));
        json_t *c = mlops__gw_chunk_new(st);
        json_object_set_new(json_array_get(json_object_get(c, "choices"), 0), "finish_reason",
                            fr ? json_string(fr) : json_null());
        rc = emit(st, c);
    } else if (strcmp(type, "message_stop") == 0) {
        st->done = true;
        rc = emit(st, mlops__gw_usage_chunk(st));
    } else if (strcmp(type, "error") == 0) {
        json_t *e = json_object_get(ev, "error");
        const char *et = mlops__json_str(e, "type", "error");
        const char *m = mlops__json_str(e, "message", "error in stream");
        snprintf(st->fail_msg, sizeof st->fail_msg, "%s: %s", et, m);
        st->fail_status = strcmp(et, "overloaded_error") == 0 ? 529
                          : strcmp(et, "rate_limit_error") == 0 ? 429 : 500;
        st->fail = MLOPS__GW_FAIL_STATUS;
        rc = MLOPS_EPROVIDER;
    }
    /* ping, content_block_stop and unknown event types carry nothing to translate */
    json_decref(ev);
    return rc;
}

static enum mlops__gw_fail map_error(long status, const char *body, size_t len, char *msg,
                                     size_t cap)
{
    json_t *j = json_loadb(body, len, 0, NULL);
    json_t *e = json_object_get(j, "error");
    const char *m = mlops__json_str(e, "message", NULL);
    const char *type = mlops__json_str(e, "type", NULL);
    if (m)
        snprintf(msg, cap, "%s%s%s", type ? type : "", type ? ": " : "", m);
    else
        mlops__gw_msg_copy(msg, cap, body, len < 200 ? len : 200);
    enum mlops__gw_fail f = mlops__gw_classify(status, m, type);
    json_decref(j);
    return f;
}

const mlops__provider mlops__provider_anthropic = {
    "anthropic", false, build, parse_response, parse_stream_event, map_error, NULL,
};
