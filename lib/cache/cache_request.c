/*
 * Request canonicalisation: the exact key (xxh3-128 of a canonical JSON form) and the
 * partition key of a chat request.
 *
 * The canonical form keeps what changes the answer: namespace, model, prompt version,
 * every message (role, whitespace-collapsed text, name, tool calls) and the sampling
 * and format parameters of the OpenAI chat-completions request; it drops transport
 * fields ("stream", "user", "metadata"...). Numbers are written as reals so that 0
 * and 0.0 are one key. Keys are sorted (jansson JSON_SORT_KEYS).
 */
#include "cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parameters of the chat-completions request that change the answer. */
static const char *const answer_params[] = {
    "temperature", "top_p", "max_tokens", "max_completion_tokens", "n", "stop", "seed",
    "frequency_penalty", "presence_penalty", "logit_bias", "logprobs", "top_logprobs",
    "tools", "tool_choice", "functions", "function_call", "response_format",
    "reasoning_effort", "modalities", NULL,
};

/* Parameters that change the answer's shape: they partition the semantic tier. */
static const char *const format_params[] = {
    "tools", "tool_choice", "functions", "function_call", "response_format", NULL,
};

/* Collapses whitespace runs to one space and trims both ends. */
static char *collapse(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(n + 1);
    if (!out)
        return NULL;
    size_t k = 0;
    bool space = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v') {
            space = k > 0;
            continue;
        }
        if (space)
            out[k++] = ' ';
        space = false;
        out[k++] = (char)ch;
    }
    out[k] = '\0';
    return out;
}

/* Numbers as reals, objects and arrays recursively; strings kept. */
static json_t *canon_value(const json_t *v)
{
    if (json_is_number(v))
        return json_real(json_number_value(v));
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach((json_t *)v, i, x)
            json_array_append_new(a, canon_value(x));
        return a;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)v, k, x)
            json_object_set_new(o, k, canon_value(x));
        return o;
    }
    return json_deep_copy(v);
}

/* The text of a message's content: a string, or the text parts of an array. */
static int content_text(const json_t *content, const char *where, mlops__buf *text,
                        json_t *canon_parts)
{
    if (json_is_string(content)) {
        char *c = collapse(json_string_value(content));
        if (!c)
            return mlops__error_oom("request text");
        mlops__buf_puts(text, c);
        json_array_append_new(canon_parts, json_string(c));
        free(c);
        return MLOPS_OK;
    }
    if (json_is_null(content) || !content)
        return MLOPS_OK;
    if (!json_is_array(content))
        return mlops__error(MLOPS_EINVAL, "%s.content: expected string or array, got %s", where,
                            mlops__json_type_name(content));
    size_t i;
    json_t *part;
    json_array_foreach((json_t *)content, i, part) {
        const char *type = mlops__json_str(part, "type", "");
        const json_t *t = json_object_get(part, "text");
        if (strcmp(type, "text") == 0 && json_is_string(t)) {
            char *c = collapse(json_string_value(t));
            if (!c)
                return mlops__error_oom("request text");
            if (text->len && *c)
                mlops__buf_putc(text, '\n');
            mlops__buf_puts(text, c);
            json_array_append_new(canon_parts, json_string(c));
            free(c);
        } else if (json_is_object(part)) {
            json_array_append_new(canon_parts, canon_value(part));
        } else {
            return mlops__error(MLOPS_EINVAL, "%s.content[%zu]: expected object, got %s", where,
                                i, mlops__json_type_name(part));
        }
    }
    return MLOPS_OK;
}

static void temperature_class(const json_t *t, char out[16])
{
    if (!json_is_number(t)) {
        snprintf(out, 16, "default");
        return;
    }
    double v = json_number_value(t);
    snprintf(out, 16, "%s", v <= 0.0 ? "zero" : v <= 0.5 ? "low" : v <= 1.0 ? "mid" : "high");
}

static const char *prompt_version_of(const json_t *x_mlops, char buf[300])
{
    const json_t *p = json_object_get(x_mlops, "prompt");
    if (json_is_string(p))
        return json_string_value(p);
    if (json_is_object(p)) {
        const json_t *name = json_object_get(p, "name");
        const json_t *ver = json_object_get(p, "version");
        if (json_is_string(name)) {
            if (json_is_integer(ver))
                snprintf(buf, 300, "%s:%lld", json_string_value(name),
                         (long long)json_integer_value(ver));
            else if (json_is_string(ver))
                snprintf(buf, 300, "%s:%s", json_string_value(name), json_string_value(ver));
            else
                snprintf(buf, 300, "%s", json_string_value(name));
            return buf;
        }
    }
    return "";
}

typedef struct parts {
    mlops__buf system;  /* all system/developer text */
    json_t *history;    /* earlier turns (canonical) */
    json_t *messages;   /* every message (canonical) */
    char *last_user;    /* last user turn text */
} parts;

static int split_messages(const json_t *msgs, parts *p)
{
    if (!msgs)
        return mlops__error(MLOPS_EINVAL, "request: missing \"messages\" (or \"prompt\")");
    if (!json_is_array(msgs))
        return mlops__error(MLOPS_EINVAL, "request.messages: expected array, got %s",
                            mlops__json_type_name(msgs));
    size_t n = json_array_size(msgs);
    if (n == 0)
        return mlops__error(MLOPS_EINVAL, "request.messages: is empty");
    size_t last = n;
    for (size_t i = n; i-- > 0;) {
        if (strcmp(mlops__json_str(json_array_get(msgs, i), "role", ""), "user") == 0) {
            last = i;
            break;
        }
    }
    if (last == n)
        return mlops__error(MLOPS_EINVAL, "request.messages: no message with role \"user\"");
    for (size_t i = 0; i < n; i++) {
        const json_t *m = json_array_get(msgs, i);
        char where[64];
        snprintf(where, sizeof where, "request.messages[%zu]", i);
        if (!json_is_object(m))
            return mlops__error(MLOPS_EINVAL, "%s: expected object, got %s", where,
                                mlops__json_type_name(m));
        const json_t *role = json_object_get(m, "role");
        if (!json_is_string(role))
            return mlops__error(MLOPS_EINVAL, "%s.role: expected string", where);
        const char *r = json_string_value(role);
        mlops__buf text;
        mlops__buf_init(&text);
        json_t *canon_parts = json_array();
        int rc = content_text(json_object_get(m, "content"), where, &text, canon_parts);
        if (rc != MLOPS_OK) {
            mlops__buf_free(&text);
            json_decref(canon_parts);
            return rc;
        }
        json_t *cm = json_object();
        json_object_set_new(cm, "role", json_string(r));
        json_object_set_new(cm, "content", canon_parts);
        const char *extra[] = {"name", "tool_calls", "tool_call_id", "function_call", NULL};
        for (int k = 0; extra[k]; k++) {
            const json_t *v = json_object_get(m, extra[k]);
            if (v)
                json_object_set_new(cm, extra[k], canon_value(v));
        }
        json_array_append(p->messages, cm);
        if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
            if (p->system.len)
                mlops__buf_putc(&p->system, '\n');
            mlops__buf_append(&p->system, text.data ? text.data : "", text.len);
        } else if (i == last) {
            free(p->last_user);
            p->last_user = mlops__strdup(text.data ? text.data : "");
        } else {
            json_array_append(p->history, cm);
        }
        json_decref(cm);
        mlops__buf_free(&text);
        if (i == last && !p->last_user)
            return mlops__error_oom("request text");
    }
    return MLOPS_OK;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static uint64_t hash_json(const json_t *v, uint64_t seed)
{
    char *s = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    uint64_t h = mlops__hash_str(s ? s : "", seed);
    free(s);
    return h;
}

/* The simple {"namespace", "prompt", ...} form, turned into a chat request. */
static int simple_to_chat(const json_t *req, json_t **out)
{
    static const mlops__json_field fields[] = {
        {"namespace", MLOPS__J_STRING, false}, {"prompt", MLOPS__J_STRING, true},
        {"model", MLOPS__J_STRING, false},     {"system", MLOPS__J_STRING, false},
        {"prompt_version", MLOPS__J_STRING, false}, {"temperature", MLOPS__J_NUMBER, false},
        {NULL, 0, false},
    };
    int rc = mlops__json_check_fields(req, "request", fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    json_t *chat = json_object();
    json_t *msgs = json_array();
    json_t *xm = json_object();
    const char *sys = mlops__json_str(req, "system", NULL);
    if (sys)
        json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "system", "content", sys));
    json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content",
                                          mlops__json_str(req, "prompt", "")));
    json_object_set_new(chat, "messages", msgs);
    json_object_set_new(chat, "model", json_string(mlops__json_str(req, "model", "")));
    const json_t *t = json_object_get(req, "temperature");
    if (t)
        json_object_set_new(chat, "temperature", json_deep_copy(t));
    json_object_set_new(xm, "namespace", json_string(mlops__json_str(req, "namespace", "default")));
    const char *pv = mlops__json_str(req, "prompt_version", NULL);
    if (pv)
        json_object_set_new(xm, "prompt", json_string(pv));
    json_object_set_new(chat, "x_mlops", xm);
    *out = chat;
    return MLOPS_OK;
}

int mlops__cache_req_parse(const json_t *request, const json_t *options, unsigned part_by,
                           size_t max_key, size_t max_prompt, mlops__cache_req *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(request))
        return mlops__error(MLOPS_EINVAL, "request: expected object, got %s",
                            mlops__json_type_name(request));
    json_t *owned = NULL;
    if (!json_object_get(request, "messages") && json_object_get(request, "prompt")) {
        int rc = simple_to_chat(request, &owned);
        if (rc != MLOPS_OK)
            return rc;
        request = owned;
    }
    parts p = {.history = json_array(), .messages = json_array()};
    mlops__buf_init(&p.system);
    int rc = MLOPS_OK;
    const json_t *model = json_object_get(request, "model");
    if (model && !json_is_string(model)) {
        rc = mlops__error(MLOPS_EINVAL, "request.model: expected string, got %s",
                          mlops__json_type_name(model));
        goto out;
    }
    const json_t *xm = json_object_get(request, "x_mlops");
    if (xm && !json_is_object(xm)) {
        rc = mlops__error(MLOPS_EINVAL, "request.x_mlops: expected object, got %s",
                          mlops__json_type_name(xm));
        goto out;
    }
    if ((rc = split_messages(json_object_get(request, "messages"), &p)) != MLOPS_OK)
        goto out;
    if (blank(p.last_user)) {
        rc = mlops__error(MLOPS_EINVAL, "request: the user's last message (the prompt) is empty");
        goto out;
    }
    if (strlen(p.last_user) > max_prompt) {
        rc = mlops__error(MLOPS_ELIMIT, "request: the prompt is %zu bytes, over the limit of %zu",
                          strlen(p.last_user), max_prompt);
        goto out;
    }
    char pvbuf[300];
    const char *ns = mlops__json_str(xm, "namespace", "default");
    const char *pv = prompt_version_of(xm, pvbuf);
    ns = mlops__json_str(options, "namespace", ns);
    pv = mlops__json_str(options, "prompt_version", pv);
    if (!*ns) {
        rc = mlops__error(MLOPS_EINVAL, "request: namespace is empty");
        goto out;
    }
    out->ns = mlops__strdup(ns);
    out->model = mlops__strdup(model ? json_string_value(model) : "");
    out->version = mlops__strdup(pv);
    out->text = p.last_user;
    p.last_user = NULL;
    if (!out->ns || !out->model || !out->version) {
        rc = mlops__error_oom("request");
        goto out;
    }

    /* The exact key. */
    json_t *canon = json_object();
    json_t *params = json_object();
    for (int i = 0; answer_params[i]; i++) {
        const json_t *v = json_object_get(request, answer_params[i]);
        if (v && !json_is_null(v))
            json_object_set_new(params, answer_params[i], canon_value(v));
    }
    json_object_set_new(canon, "ns", json_string(out->ns));
    json_object_set_new(canon, "model", json_string(out->model));
    json_object_set_new(canon, "pv", json_string(out->version));
    json_object_set(canon, "messages", p.messages);
    json_object_set(canon, "params", params);
    char *text = json_dumps(canon, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(canon);
    if (!text) {
        json_decref(params);
        rc = mlops__error_oom("canonical request");
        goto out;
    }
    mlops__hash128_hex(text, strlen(text), out->exact);
    free(text);

    /* The partition key: readable parts, hashes for the long ones. */
    mlops__buf key;
    mlops__buf_init(&key);
    mlops__buf_printf(&key, "ns=%s", out->ns);
    if (part_by & MLOPS__CACHE_PART_MODEL)
        mlops__buf_printf(&key, "|model=%s", out->model);
    if ((part_by & MLOPS__CACHE_PART_SYSTEM) && p.system.len)
        mlops__buf_printf(&key, "|sys=%016llx",
                          (unsigned long long)mlops__hash64(p.system.data, p.system.len, 1));
    if ((part_by & MLOPS__CACHE_PART_HISTORY) && json_array_size(p.history))
        mlops__buf_printf(&key, "|hist=%016llx", (unsigned long long)hash_json(p.history, 2));
    if ((part_by & MLOPS__CACHE_PART_VERSION) && *out->version)
        mlops__buf_printf(&key, "|pv=%s", out->version);
    if (part_by & MLOPS__CACHE_PART_TEMPERATURE) {
        char tc[16];
        temperature_class(json_object_get(request, "temperature"), tc);
        mlops__buf_printf(&key, "|t=%s", tc);
    }
    if (part_by & MLOPS__CACHE_PART_FORMAT) {
        json_t *fmt = json_object();
        for (int i = 0; format_params[i]; i++) {
            json_t *v = json_object_get(params, format_params[i]);
            if (v)
                json_object_set(fmt, format_params[i], v);
        }
        if (json_object_size(fmt))
            mlops__buf_printf(&key, "|fmt=%016llx", (unsigned long long)hash_json(fmt, 3));
        json_decref(fmt);
    }
    json_decref(params);
    out->partition = mlops__buf_take(&key);
    if (!out->partition) {
        rc = mlops__error_oom("partition key");
        goto out;
    }
    if (strlen(out->partition) > max_key)
        rc = mlops__error(MLOPS_ELIMIT,
                          "request: partition key is %zu bytes, over the limit of %zu "
                          "(namespace, model or prompt version too long)",
                          strlen(out->partition), max_key);
out:
    free(p.last_user);
    mlops__buf_free(&p.system);
    json_decref(p.history);
    json_decref(p.messages);
    json_decref(owned);
    if (rc != MLOPS_OK)
        mlops__cache_req_free(out);
    return rc;
}

void mlops__cache_req_free(mlops__cache_req *r)
{
    if (!r)
        return;
    free(r->ns);
    free(r->model);
    free(r->version);
    free(r->text);
    free(r->partition);
    memset(r, 0, sizeof *r);
}
