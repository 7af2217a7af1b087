/* The provider table and helpers shared by the provider translations. */
#include "provider.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mlops__provider_find(const char *name, const mlops__provider **out)
{
    static const mlops__provider *const table[] = {
        &mlops__provider_openai, &mlops__provider_anthropic, &mlops__provider_ollama,
        &mlops__provider_local,
    };
    *out = NULL;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(table); i++)
        if (strcmp(table[i]->name, name) == 0) {
            *out = table[i];
            return MLOPS_OK;
        }
    return MLOPS_ENOTFOUND;
}

void mlops__gw_upstream_free(mlops__gw_upstream *u)
{
    free(u->url);
    free(u->body);
    for (size_t i = 0; i < u->nheaders; i++)
        free(u->headers[i]);
    memset(u, 0, sizeof *u);
}

bool mlops__gw_upstream_header(mlops__gw_upstream *u, const char *fmt, ...)
{
    if (u->nheaders + 1 >= MLOPS__ARRAY_LEN(u->headers))
        return false;
    va_list ap;
    va_start(ap, fmt);
    char *line = NULL;
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        return false;
    u->headers[u->nheaders++] = line;
    u->headers[u->nheaders] = NULL;
    return true;
}

char *mlops__gw_url_join(const char *base, const char *path)
{
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return mlops__sprintf("%.*s%s", (int)n, base, path);
}

char *mlops__gw_content_text(const json_t *content)
{
    if (json_is_string(content))
        return mlops__strdup(json_string_value(content));
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "");
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        const char *t = mlops__json_str(part, "text", NULL);
        if (t && strcmp(mlops__json_str(part, "type", ""), "text") == 0) {
            if (b.len)
                mlops__buf_putc(&b, '\n');
            mlops__buf_puts(&b, t);
        }
    }
    return mlops__buf_take(&b);
}

json_t *mlops__gw_chunk_new(const mlops__gw_stream *st)
{
    return json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{}, s:n}]}", "id", st->id, "object",
                     "chat.completion.chunk", "created", (json_int_t)st->created, "model",
                     st->model, "choices", "index", 0, "delta", "finish_reason");
}

static bool has(const char *hay, const char *needle)
{
    return hay && strstr(hay, needle) != NULL;
}

enum mlops__gw_fail mlops__gw_classify(long status, const char *message, const char *code)
{
    char low[512] = "";
    if (message) {
        size_t i = 0;
        for (; message[i] && i < sizeof low - 1; i++)
            low[i] = (char)tolower((unsigned char)message[i]);
        low[i] = '\0';
    }
    if (status >= 400 && status < 500) {
        if (has(code, "context_length") || has(low, "context length") ||
            has(low, "context_length") || has(low, "maximum context") ||
            has(low, "context window") || has(low, "prompt is too long") ||
            has(low, "too many tokens") || has(low, "input is too long"))
            return MLOPS__GW_FAIL_CONTEXT_LENGTH;
        if (has(code, "content_filter") || has(code, "content_policy") ||
            has(low, "content policy") || has(low, "content management policy") ||
            has(low, "content_filter"))
            return MLOPS__GW_FAIL_CONTENT_POLICY;
    }
    return MLOPS__GW_FAIL_STATUS;
}

enum mlops__gw_fail mlops__gw_fail_of(long status, const char *message, const char *code,
                                      const char *body, size_t len, char *msg, size_t cap)
{
    if (message)
        mlops__gw_msg_copy(msg, cap, message, strlen(message));
    else
        mlops__gw_msg_copy(msg, cap, body, len < 200 ? len : 200);
    return mlops__gw_classify(status, message, code);
}

int mlops__gw_stream_error(mlops__gw_stream *st, const char *message)
{
    mlops__gw_msg_copy(st->fail_msg, sizeof st->fail_msg, message, strlen(message));
    st->fail = MLOPS__GW_FAIL_STATUS;
    st->fail_status = 500;
    return MLOPS_EPROVIDER;
}

json_t *mlops__gw_usage_chunk(const mlops__gw_stream *st)
{
    int64_t p = st->prompt_tokens < 0 ? 0 : st->prompt_tokens;
    int64_t o = st->completion_tokens < 0 ? 0 : st->completion_tokens;
    return json_pack("{s:s, s:s, s:I, s:s, s:[], s:{s:I, s:I, s:I}}", "id", st->id, "object",
                     "chat.completion.chunk", "created", (json_int_t)st->created, "model",
                     st->model, "choices", "usage", "prompt_tokens", (json_int_t)p,
                     "completion_tokens", (json_int_t)o, "total_tokens", (json_int_t)(p + o));
}

void mlops__gw_msg_copy(char *msg, size_t cap, const char *s, size_t len)
{
    if (!cap)
        return;
    size_t n = 0;
    for (size_t i = 0; s && i < len && s[i] && n + 1 < cap; i++)
        msg[n++] = (unsigned char)s[i] < ' ' ? ' ' : s[i];
    msg[n] = '\0';
}

json_t *mlops__gw_json_text(const char *s)
{
    json_t *v = json_string(s ? s : "");
    if (v)
        return v;
    /* not valid UTF-8 (an upstream message cut mid-character): keep the ASCII */
    char *copy = mlops__strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

int mlops__gw_parse_body(const char *body, size_t len, json_t **out)
{
    json_error_t err;
    json_t *r = json_loadb(body, len, 0, &err);
    if (!r)
        return mlops__error(MLOPS_EPARSE, "response is not JSON: %s at line %d column %d",
                            err.text, err.line, err.column);
    if (!json_is_object(r)) {
        json_decref(r);
        return mlops__error(MLOPS_EPARSE, "response is not a JSON object");
    }
    *out = r;
    return MLOPS_OK;
}
