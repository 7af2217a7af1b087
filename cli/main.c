/* mlops: the command-line face of libmlops (the sqlite3 shell is the model). */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const cli_command commands[] = {
    {"version", "print the library version", cmd_version},
    {"init", "create (or migrate) the store and print what it holds", cmd_init},
    {"info", "print the store's description as JSON", cmd_info},
    {"prompt", "the prompt registry: push, get, render, label, list, diff, export...", cmd_prompt},
    {"model", "model registry: register, show, list, gate, promote, history", cmd_model},
    {"deploy", "rollouts: start, pick, observe, status, rollback, abort, resume", cmd_deploy},
    {"run", "generate text with a GGUF model (streaming)", cmd_run},
    {"bench", "measure a GGUF model's prefill and decode tokens/s", cmd_bench},
    {"tokenize", "print the token ids of a text", cmd_tokenize},
    {"logits", "run token ids and print the logits", cmd_logits},
    {"embed", "print a text's embedding", cmd_embed},
    {"gguf", "synth a random-weight model, or describe a GGUF file", cmd_gguf},
    {"quantize", "re-encode a GGUF model's weights (Q8_0, Q4_K_M...)", cmd_quantize},
    {"chat", "send a chat request through the gateway", cmd_chat},
    {"cache", "exact and semantic response cache: put, lookup, stats, invalidate, feedback", cmd_cache},
    {"guard", "check texts against guardrail policies; train classifiers", cmd_guard},
    {"keys", "virtual keys: create, list, get, revoke, rotate", cmd_keys},
    {"spend", "spend from the ledger by key, model or day", cmd_spend},
    {"route", "complexity routing: explain, decide, eval, train", cmd_route},
};

static void print_help(FILE *out)
{
    fprintf(out,
            "usage: mlops [--db PATH] [--config-json JSON] COMMAND [ARGS...]\n"
            "\n"
            "An embeddable LLM/ML operations stack (libmlops %s).\n"
            "\n"
            "Global options:\n"
            "  --db PATH           the store (default: $MLOPS_DB, else ./mlops.db)\n"
            "  --config-json JSON  configuration passed to mlops_open()\n"
            "  -h, --help          this help\n"
            "\n"
            "Commands:\n",
            mlops_version());
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\nRun 'mlops COMMAND --help' for a command's options.\n");
}

mlops_t *cli_handle(cli *c)
{
    if (c->h)
        return c->h;
    int rc = mlops_open(c->db_path, c->config, &c->h);
    if (rc != MLOPS_OK) {
        cli_fail(rc, c->db_path);
        return NULL;
    }
    return c->h;
}

int cli_fail(int rc, const char *what)
{
    fprintf(stderr, "mlops: %s: %s (%s)\n", what, mlops_last_error(), mlops_strerror(rc));
    return CLI_ERROR;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mlops: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n", stderr);
    va_end(ap);
    return CLI_USAGE;
}

bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return false;
    if (a[n] == '=') {
        *value = a + n + 1;
        *i += 1;
        return true;
    }
    if (a[n] == '\0' && *i + 1 < argc) {
        *value = argv[*i + 1];
        *i += 2;
        return true;
    }
    return false;
}

char *cli_read_stream(FILE *f)
{
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len - 1 == 0) {
            char *p = realloc(buf, cap * 2);
            if (!p) {
                free(buf);
                return NULL;
            }
            buf = p;
            cap *= 2;
        }
    }
    if (buf)
        buf[len] = '\0';
    return buf;
}

void cli_print_free(char *text)
{
    if (text)
        puts(text);
    mlops_free(text);
}

int main(int argc, char **argv)
{
    cli c = {getenv("MLOPS_DB"), NULL, NULL};
    if (!c.db_path || !*c.db_path)
        c.db_path = "./mlops.db";
    int i = 1;
    while (i < argc && argv[i][0] == '-') {
        const char *v;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_help(stdout);
            return CLI_OK;
        } else if (cli_opt(argc, argv, &i, "--db", &v)) {
            c.db_path = v;
        } else if (cli_opt(argc, argv, &i, "--config-json", &v)) {
            c.config = v;
        } else {
            print_help(stderr);
            return cli_usage("unknown option '%s'", argv[i]);
        }
    }
    if (i >= argc) {
        print_help(stderr);
        return CLI_USAGE;
    }
    for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        if (strcmp(commands[k].name, argv[i]) == 0) {
            int rc = commands[k].run(&c, argc - i, argv + i);
            mlops_close(c.h);
            return rc;
        }
    }
    if (strcmp(argv[i], "help") == 0) {
        print_help(stdout);
        return CLI_OK;
    }
    return cli_usage("unknown command '%s' (see 'mlops --help')", argv[i]);
}
