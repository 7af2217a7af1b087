/* mlops chat: send one chat request through the gateway. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: mlops chat --config FILE --model M [--stream] [--json] [--system TEXT]\n"
    "                  [--max-tokens N] [--temperature T] [MESSAGE]\n"
    "\n"
    "Sends a chat request through the gateway configured by FILE (the JSON shape is in\n"
    "the README, section Gateway) and prints the answer. Without MESSAGE, an OpenAI\n"
    "chat-completions request JSON is read from stdin (--model then overrides its model).\n"
    "  --stream   print the answer as it arrives\n"
    "  --json     print the response JSON (with x_mlops: deployment, attempts, cost);\n"
    "             with --stream, every chunk JSON on its own line, then the response\n";

typedef struct stream_out {
    bool json;
} stream_out;

static int on_chunk(const char *chunk_json, void *user)
{
    stream_out *so = user;
    if (so->json) {
        puts(chunk_json);
        fflush(stdout);
        return 0;
    }
    /* Print delta.content without a JSON library: the CLI uses only the public API. */
    const char *p = strstr(chunk_json, "\"delta\":{");
    p = p ? strstr(p, "\"content\":\"") : NULL;
    if (!p)
        return 0;
    for (p += 11; *p && *p != '"'; p++) {
        if (*p == '\\' && p[1]) {
            p++;
            switch (*p) {
            case 'n': putchar('\n'); break;
            case 't': putchar('\t'); break;
            case 'u': p += 4; putchar('?'); break;
            default: putchar(*p);
            }
        } else {
            putchar(*p);
        }
    }
    fflush(stdout);
    return 0;
}

/* Appends s to buf as a JSON string literal. */
static void json_quote(char *buf, size_t cap, const char *s)
{
    size_t n = strlen(buf);
    if (n + 2 >= cap)
        return;
    buf[n++] = '"';
    for (; *s && n + 8 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    buf[n++] = '"';
    buf[n] = '\0';
}

/* Prints choices[0].message.content of a response, found by the public JSON text. */
static void print_content(const char *json)
{
    const char *p = strstr(json, "\"message\":{");
    p = p ? strstr(p, "\"content\":") : NULL;
    if (!p) {
        puts(json);
        return;
    }
    p += 10;
    if (*p != '"') {
        puts(json); /* null content (tool calls): show everything */
        return;
    }
    stream_out so = {false};
    char *fake = malloc(strlen(p) + 32);
    if (!fake)
        return;
    sprintf(fake, "\"delta\":{\"content\":%s", p);
    on_chunk(fake, &so);
    free(fake);
    putchar('\n');
}

int cmd_chat(cli *c, int argc, char **argv)
{
    const char *config = NULL, *model = NULL, *system = NULL, *max_tokens = NULL, *temp = NULL;
    const char *message = NULL;
    bool stream = false, json = false;
    int i = 1;
    while (i < argc) {
        const char *v;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage_text, stdout);
            return CLI_OK;
        } else if (strcmp(argv[i], "--stream") == 0) {
            stream = true;
            i++;
        } else if (strcmp(argv[i], "--json") == 0) {
            json = true;
            i++;
        } else if (cli_opt(argc, argv, &i, "--config", &v)) {
            config = v;
        } else if (cli_opt(argc, argv, &i, "--model", &v)) {
            model = v;
        } else if (cli_opt(argc, argv, &i, "--system", &v)) {
            system = v;
        } else if (cli_opt(argc, argv, &i, "--max-tokens", &v)) {
            max_tokens = v;
        } else if (cli_opt(argc, argv, &i, "--temperature", &v)) {
            temp = v;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_usage("chat: unknown option '%s'", argv[i]);
        } else if (!message) {
            message = argv[i++];
        } else {
            return cli_usage("chat: unexpected argument '%s' (quote the message)", argv[i]);
        }
    }
    if (max_tokens && strspn(max_tokens, "0123456789") != strlen(max_tokens))
        return cli_usage("chat: --max-tokens: '%s' is not a number", max_tokens);
    if (temp && strspn(temp, "0123456789.") != strlen(temp))
        return cli_usage("chat: --temperature: '%s' is not a number", temp);
    if (message && !model)
        return cli_usage("chat: --model is required with a MESSAGE");
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    int rc;
    if (config && (rc = mlops_gateway_load(h, config)) != MLOPS_OK)
        return cli_fail(rc, config);
    char *request = NULL;
    if (message) {
        size_t cap = strlen(message) * 6 + (system ? strlen(system) * 6 : 0) + strlen(model) * 6 + 512;
        request = malloc(cap);
        if (!request)
            return cli_fail(MLOPS_ENOMEM, "chat");
        strcpy(request, "{\"model\":");
        json_quote(request, cap, model);
        strcat(request, ",\"messages\":[");
        if (system) {
            strcat(request, "{\"role\":\"system\",\"content\":");
            json_quote(request, cap, system);
            strcat(request, "},");
        }
        strcat(request, "{\"role\":\"user\",\"content\":");
        json_quote(request, cap, message);
        strcat(request, "}]");
        if (max_tokens)
            snprintf(request + strlen(request), cap - strlen(request), ",\"max_tokens\":%s", max_tokens);
        if (temp)
            snprintf(request + strlen(request), cap - strlen(request), ",\"temperature\":%s", temp);
        strcat(request, "}");
    } else {
        request = cli_read_stream(stdin);
        if (!request)
            return cli_fail(MLOPS_EIO, "stdin");
        if (model) {
            /* --model wins: append it as the object's last key (a later duplicate key
             * replaces an earlier one when the library parses the request) */
            char *close = strrchr(request, '}');
            if (!close || !strchr(request, '{')) {
                free(request);
                return cli_usage("chat: stdin is not a JSON object");
            }
            size_t cap = strlen(request) + strlen(model) * 6 + 64;
            char *r2 = malloc(cap);
            if (!r2) {
                free(request);
                return cli_fail(MLOPS_ENOMEM, "chat");
            }
            *close = '\0';
            const char *q = close;
            while (q > request && (q[-1] == ' ' || q[-1] == '\n' || q[-1] == '\r' || q[-1] == '\t'))
                q--;
            bool empty = q > request && q[-1] == '{';
            snprintf(r2, cap, "%s%s\"model\":", request, empty ? "" : ",");
            json_quote(r2, cap, model);
            strcat(r2, "}");
            free(request);
            request = r2;
        }
    }
    char *out = NULL;
    if (stream || strstr(request, "\"stream\":true")) {
        stream_out so = {json};
        rc = mlops_chat_stream(h, request, on_chunk, &so, &out);
        if (!json)
            putchar('\n');
        if (json && out)
            puts(out);
    } else {
        rc = mlops_chat(h, request, &out);
        if (rc == MLOPS_OK) {
            if (json)
                puts(out);
            else
                print_content(out);
        }
    }
    mlops_free(out);
    free(request);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "chat");
    return CLI_OK;
}
