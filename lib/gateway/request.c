/*
 * OpenAI chat-completions request validation (API reference, "Create chat
 * completion"). Errors name the field with its path in the request.
 */
#include "request.h"

#include <stdio.h>
#include <string.h>

static int check_parts(const json_t *content, const char *path)
{
    size_t i;
    json_t *p;
    json_array_foreach(content, i, p) {
        if (!json_is_object(p))
            return mlops__error(MLOPS_EINVAL, "%s.content[%zu]: expected object, got %s", path, i,
                                mlops__json_type_name(p));
        const char *type = mlops__json_str(p, "type", NULL);
        if (!json_is_string(json_object_get(p, "type")))
            return mlops__error(MLOPS_EINVAL, "%s.content[%zu].type: missing or not a string", path, i);
        if (strcmp(type, "text") == 0) {
            if (!json_is_string(json_object_get(p, "text")))
                return mlops__error(MLOPS_EINVAL, "%s.content[%zu].text: expected string", path, i);
        } else if (strcmp(type, "image_url") == 0) {
            json_t *iu = json_object_get(p, "image_url");
            if (!json_is_string(iu) && !json_is_string(json_object_get(iu, "url")))
                return mlops__error(MLOPS_EINVAL, "%s.content[%zu].image_url.url: expected string",
                                    path, i);
        } else if (strcmp(type, "input_audio") && strcmp(type, "file") && strcmp(type, "refusal")) {
            return mlops__error(MLOPS_EINVAL,
                                "%s.content[%zu].type: '%s' is not one of text, image_url, "
                                "input_audio, file, refusal", path, i, type);
        }
    }
    return MLOPS_OK;
}

static int check_tool_calls(const json_t *calls, const char *path)
{
    if (!json_is_array(calls))
        return mlops__error(MLOPS_EINVAL, "%s.tool_calls: expected array, got %s", path,
                            mlops__json_type_name(calls));
    size_t i;
    json_t *c;
    json_array_foreach(calls, i, c) {
        json_t *fn = json_object_get(c, "function");
        if (!json_is_object(c) || !json_is_string(json_object_get(c, "id")) || !json_is_object(fn) ||
            !json_is_string(json_object_get(fn, "name")) ||
            !json_is_string(json_object_get(fn, "arguments")))
            return mlops__error(MLOPS_EINVAL,
                                "%s.tool_calls[%zu]: expected {id, type: function, function: "
                                "{name, arguments (string)}}", path, i);
    }
    return MLOPS_OK;
}

static int check_message(const json_t *m, size_t i)
{
    char path[64];
    snprintf(path, sizeof path, "request.messages[%zu]", i);
    if (!json_is_object(m))
        return mlops__error(MLOPS_EINVAL, "%s: expected object, got %s", path, mlops__json_type_name(m));
    json_t *role = json_object_get(m, "role");
    if (!json_is_string(role))
        return mlops__error(MLOPS_EINVAL, "%s.role: missing or not a string", path);
    const char *r = json_string_value(role);
    bool assistant = strcmp(r, "assistant") == 0, tool = strcmp(r, "tool") == 0;
    if (!assistant && !tool && strcmp(r, "system") && strcmp(r, "user") && strcmp(r, "developer"))
        return mlops__error(MLOPS_EINVAL,
                            "%s.role: '%s' is not one of system, user, assistant, tool", path, r);
    json_t *content = json_object_get(m, "content");
    json_t *calls = json_object_get(m, "tool_calls");
    if (calls && !assistant)
        return mlops__error(MLOPS_EINVAL, "%s.tool_calls: only assistant messages carry tool calls", path);
    if (calls) {
        int rc = check_tool_calls(calls, path);
        if (rc != MLOPS_OK)
            return rc;
    }
    if (!content || json_is_null(content)) {
        if (!(assistant && calls))
            return mlops__error(MLOPS_EINVAL, "%s.content: missing", path);
    } else if (json_is_array(content)) {
        int rc = check_parts(content, path);
        if (rc != MLOPS_OK)
            return rc;
    } else if (!json_is_string(content)) {
        return mlops__error(MLOPS_EINVAL, "%s.content: expected string or array of parts, got %s",
                            path, mlops__json_type_name(content));
    }
    if (tool && !json_is_string(json_object_get(m, "tool_call_id")))
        return mlops__error(MLOPS_EINVAL, "%s.tool_call_id: tool messages need a string tool_call_id", path);
    json_t *name = json_object_get(m, "name");
    if (name && !json_is_string(name))
        return mlops__error(MLOPS_EINVAL, "%s.name: expected string", path);
    return MLOPS_OK;
}

static int number_in(const json_t *req, const char *key, double lo, double hi)
{
    json_t *v = json_object_get(req, key);
    if (!v || json_is_null(v))
        return MLOPS_OK;
    if (!json_is_number(v))
        return mlops__error(MLOPS_EINVAL, "request.%s: expected number, got %s", key,
                            mlops__json_type_name(v));
    double x = json_number_value(v);
    if (!(x >= lo && x <= hi))
        return mlops__error(MLOPS_EINVAL, "request.%s: %g is outside %g..%g", key, x, lo, hi);
    return MLOPS_OK;
}

static int check_tools(const json_t *req)
{
    json_t *tools = json_object_get(req, "tools");
    if (tools) {
        if (!json_is_array(tools))
            return mlops__error(MLOPS_EINVAL, "request.tools: expected array, got %s",
                                mlops__json_type_name(tools));
        size_t i;
        json_t *t;
        json_array_foreach(tools, i, t) {
            json_t *fn = json_object_get(t, "function");
            if (!json_is_object(t) || strcmp(mlops__json_str(t, "type", ""), "function") != 0 ||
                !json_is_object(fn) || !json_is_string(json_object_get(fn, "name")))
                return mlops__error(MLOPS_EINVAL,
                                    "request.tools[%zu]: expected {type: function, function: {name, "
                                    "description?, parameters?}}", i);
            json_t *params = json_object_get(fn, "parameters");
            if (params && !json_is_object(params))
                return mlops__error(MLOPS_EINVAL, "request.tools[%zu].function.parameters: expected object", i);
        }
    }
    json_t *tc = json_object_get(req, "tool_choice");
    if (tc) {
        if (json_is_string(tc)) {
            const char *s = json_string_value(tc);
            if (strcmp(s, "none") && strcmp(s, "auto") && strcmp(s, "required"))
                return mlops__error(MLOPS_EINVAL,
                                    "request.tool_choice: '%s' is not one of none, auto, required", s);
        } else if (!json_is_string(json_object_get(json_object_get(tc, "function"), "name"))) {
            return mlops__error(MLOPS_EINVAL,
                                "request.tool_choice: expected a string or {type: function, function: {name}}");
        }
        if (!tools && !(json_is_string(tc) && strcmp(json_string_value(tc), "none") == 0))
            return mlops__error(MLOPS_EINVAL, "request.tool_choice: given without tools");
    }
    return MLOPS_OK;
}

static const mlops__json_field option_fields[] = {
    {"api_key", MLOPS__J_STRING, false},
    {"metadata", MLOPS__J_OBJECT, false},
    {"prompt", MLOPS__J_OBJECT, false},
    {"cache", MLOPS__J_BOOL, false},
    {"timeout_ms", MLOPS__J_INTEGER, false},
    {"fallbacks", MLOPS__J_BOOL, false},
    {"tags", MLOPS__J_ARRAY, false},
    {NULL, 0, false},
};

int mlops__gw_options_check(const json_t *opts)
{
    int rc = mlops__json_check_fields(opts, "request.x_mlops", option_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    int64_t t = mlops__json_int(opts, "timeout_ms", 1);
    if (t < 1 || t > 86400000)
        return mlops__error(MLOPS_EINVAL, "request.x_mlops.timeout_ms: %lld is outside 1..86400000",
                            (long long)t);
    json_t *prompt = json_object_get(opts, "prompt");
    if (prompt && !json_is_string(json_object_get(prompt, "ref")))
        return mlops__error(MLOPS_EINVAL, "request.x_mlops.prompt.ref: expected string");
    json_t *vars = json_object_get(prompt, "vars");
    if (vars && !json_is_object(vars))
        return mlops__error(MLOPS_EINVAL, "request.x_mlops.prompt.vars: expected object");
    return MLOPS_OK;
}

int mlops__gw_request_check(const json_t *req)
{
    if (!json_is_object(req))
        return mlops__error(MLOPS_EINVAL, "request: expected a JSON object, got %s",
                            mlops__json_type_name(req));
    json_t *model = json_object_get(req, "model");
    if (!json_is_string(model) || json_string_length(model) == 0)
        return mlops__error(MLOPS_EINVAL, "request.model: missing or not a non-empty string");
    json_t *opts = json_object_get(req, "x_mlops");
    int rc;
    if (opts && (rc = mlops__gw_options_check(opts)) != MLOPS_OK)
        return rc;
    json_t *msgs = json_object_get(req, "messages");
    if (!msgs) {
        if (!json_object_get(opts, "prompt"))
            return mlops__error(MLOPS_EINVAL, "request.messages: missing");
    } else {
        if (!json_is_array(msgs))
            return mlops__error(MLOPS_EINVAL, "request.messages: expected array, got %s",
                                mlops__json_type_name(msgs));
        if (json_array_size(msgs) == 0)
            return mlops__error(MLOPS_EINVAL, "request.messages: must not be empty");
        size_t i;
        json_t *m;
        json_array_foreach(msgs, i, m)
            if ((rc = check_message(m, i)) != MLOPS_OK)
                return rc;
    }
    if ((rc = number_in(req, "temperature", 0, 2)) || (rc = number_in(req, "top_p", 0, 1)) ||
        (rc = number_in(req, "presence_penalty", -2, 2)) ||
        (rc = number_in(req, "frequency_penalty", -2, 2)))
        return rc;
    static const char *const ints[] = {"max_tokens", "max_completion_tokens"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(ints); i++) {
        json_t *v = json_object_get(req, ints[i]);
        if (v && !json_is_null(v) && (!json_is_integer(v) || json_integer_value(v) < 1))
            return mlops__error(MLOPS_EINVAL, "request.%s: expected a positive integer", ints[i]);
    }
    json_t *seed = json_object_get(req, "seed");
    if (seed && !json_is_null(seed) && !json_is_integer(seed))
        return mlops__error(MLOPS_EINVAL, "request.seed: expected integer, got %s",
                            mlops__json_type_name(seed));
    json_t *stop = json_object_get(req, "stop");
    if (stop && !json_is_null(stop) && !json_is_string(stop)) {
        if (!json_is_array(stop) || json_array_size(stop) > 4)
            return mlops__error(MLOPS_EINVAL, "request.stop: expected a string or up to 4 strings");
        size_t i;
        json_t *s;
        json_array_foreach(stop, i, s)
            if (!json_is_string(s))
                return mlops__error(MLOPS_EINVAL, "request.stop[%zu]: expected string", i);
    }
    json_t *stream = json_object_get(req, "stream");
    if (stream && !json_is_boolean(stream) && !json_is_null(stream))
        return mlops__error(MLOPS_EINVAL, "request.stream: expected boolean, got %s",
                            mlops__json_type_name(stream));
    json_t *rf = json_object_get(req, "response_format");
    if (rf && !json_is_null(rf)) {
        const char *t = mlops__json_str(rf, "type", "");
        if (!json_is_object(rf) || (strcmp(t, "text") && strcmp(t, "json_object") && strcmp(t, "json_schema")))
            return mlops__error(MLOPS_EINVAL,
                                "request.response_format.type: expected text, json_object or json_schema");
        if (strcmp(t, "json_schema") == 0 && !json_is_object(json_object_get(rf, "json_schema")))
            return mlops__error(MLOPS_EINVAL, "request.response_format.json_schema: expected object");
    }
    if ((rc = check_tools(req)) != MLOPS_OK)
        return rc;
    json_t *user = json_object_get(req, "user");
    if (user && !json_is_string(user))
        return mlops__error(MLOPS_EINVAL, "request.user: expected string, got %s",
                            mlops__json_type_name(user));
    json_t *n = json_object_get(req, "n");
    if (n && !json_is_null(n) && !(json_is_integer(n) && json_integer_value(n) == 1))
        return mlops__error(MLOPS_EINVAL, "request.n: only n = 1 is supported");
    return MLOPS_OK;
}

int64_t mlops__gw_estimate_tokens(const json_t *req)
{
    size_t chars = 0;
    int64_t msgs = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(req, "messages"), i, m) {
        msgs++;
        json_t *c = json_object_get(m, "content");
        if (json_is_string(c)) {
            chars += json_string_length(c);
        } else {
            size_t k;
            json_t *p;
            json_array_foreach(c, k, p) {
                json_t *t = json_object_get(p, "text");
                chars += json_is_string(t) ? json_string_length(t) : 256; /* images etc. */
            }
        }
    }
    return (int64_t)(chars + 3) / 4 + msgs * 4 + 3;
}
