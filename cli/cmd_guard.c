/*
 * mlops guard check [--policy FILE|NAME|JSON] [--stage input|output] [--context FILE] < text
 * mlops guard train --kind injection|toxicity --data FILE.jsonl --out MODEL
 * mlops guard policy put NAME FILE | get [NAME] | list | delete NAME
 * mlops guard canary [SYSTEM_PROMPT_FILE]
 * mlops guard deanonymize --vault NAME < text
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

#define CLI_BLOCKED 3 /* guard check: the verdict was "block" */

static const char usage[] =
    "usage: mlops guard check [--policy FILE|NAME|JSON] [--stage input|output]\n"
    "                         [--context FILE] < TEXT\n"
    "       mlops guard train --kind injection|toxicity --data FILE.jsonl --out MODEL\n"
    "       mlops guard policy put NAME FILE | get [NAME] | list | delete NAME\n"
    "       mlops guard canary [SYSTEM_PROMPT_FILE]\n"
    "       mlops guard deanonymize [--vault NAME] < TEXT\n"
    "\n"
    "check prints the report JSON and exits 0 when the text is allowed (allow, warn or\n"
    "redact) and 3 when it is blocked. Without --policy the default policy applies.\n";

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mlops: cannot open '%s'\n", path);
        return NULL;
    }
    char *s = cli_read_stream(f);
    fclose(f);
    return s;
}

static int guard_check(cli *c, int argc, char **argv)
{
    const char *policy = NULL, *stage = "input", *context_path = NULL;
    for (int i = 1; i < argc;) {
        if (cli_opt(argc, argv, &i, "--policy", &policy) ||
            cli_opt(argc, argv, &i, "--stage", &stage) ||
            cli_opt(argc, argv, &i, "--context", &context_path))
            continue;
        return cli_usage("guard check: unexpected argument '%s'", argv[i]);
    }
    char *policy_text = NULL;
    if (policy && *policy != '{') {
        FILE *f = fopen(policy, "rb");
        if (f) { /* a file; otherwise a stored policy's name */
            policy_text = cli_read_stream(f);
            fclose(f);
            if (!policy_text)
                return cli_usage("guard check: cannot read '%s'", policy);
        }
    }
    char *context = NULL;
    if (context_path && !(context = read_file(context_path))) {
        free(policy_text);
        return CLI_ERROR;
    }
    char *text = cli_read_stream(stdin);
    if (!text) {
        free(policy_text);
        free(context);
        return cli_usage("guard check: cannot read standard input");
    }
    mlops_t *h = cli_handle(c);
    int code = CLI_ERROR;
    if (h) {
        char *report = NULL;
        int rc = mlops_guard_check(h, policy_text ? policy_text : policy, stage, text, context,
                                   &report);
        if (rc != MLOPS_OK)
            code = cli_fail(rc, "guard check");
        else {
            code = strstr(report, "\"verdict\":\"block\"") ? CLI_BLOCKED : CLI_OK;
            cli_print_free(report);
        }
    }
    free(policy_text);
    free(context);
    free(text);
    return code;
}

static int guard_train(cli *c, int argc, char **argv)
{
    const char *kind = NULL, *data = NULL, *out = NULL;
    for (int i = 1; i < argc;) {
        if (cli_opt(argc, argv, &i, "--kind", &kind) || cli_opt(argc, argv, &i, "--data", &data) ||
            cli_opt(argc, argv, &i, "--out", &out))
            continue;
        return cli_usage("guard train: unexpected argument '%s'", argv[i]);
    }
    if (!kind || !data || !out)
        return cli_usage("guard train: --kind, --data and --out are required");
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    char *report = NULL;
    int rc = mlops_guard_train(h, kind, data, out, &report);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "guard train");
    cli_print_free(report);
    return CLI_OK;
}

static int guard_policy(cli *c, int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("guard policy: expected put, get, list or delete");
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    const char *verb = argv[1];
    char *out = NULL;
    int rc;
    if (strcmp(verb, "put") == 0 && argc == 4) {
        char *text = read_file(argv[3]);
        if (!text)
            return CLI_ERROR;
        rc = mlops_guard_policy_put(h, argv[2], text);
        free(text);
        if (rc == MLOPS_OK)
            printf("stored policy %s\n", argv[2]);
    } else if (strcmp(verb, "get") == 0 && argc <= 3) {
        rc = mlops_guard_policy_get(h, argc == 3 ? argv[2] : NULL, &out);
    } else if (strcmp(verb, "list") == 0 && argc == 2) {
        rc = mlops_guard_policy_list(h, &out);
    } else if (strcmp(verb, "delete") == 0 && argc == 3) {
        rc = mlops_guard_policy_delete(h, argv[2]);
    } else
        return cli_usage("guard policy: bad arguments (see mlops guard --help)");
    if (rc != MLOPS_OK)
        return cli_fail(rc, "guard policy");
    if (out)
        cli_print_free(out);
    return CLI_OK;
}

int cmd_guard(cli *c, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "check") == 0)
        return guard_check(c, argc - 1, argv + 1);
    if (strcmp(sub, "train") == 0)
        return guard_train(c, argc - 1, argv + 1);
    if (strcmp(sub, "policy") == 0)
        return guard_policy(c, argc - 1, argv + 1);
    if (strcmp(sub, "canary") == 0) {
        char *prompt = argc > 2 ? read_file(argv[2]) : NULL;
        if (argc > 2 && !prompt)
            return CLI_ERROR;
        mlops_t *h = cli_handle(c);
        char *out = NULL;
        int rc = h ? mlops_guard_canary(h, prompt, &out) : MLOPS_EINVAL;
        free(prompt);
        if (!h)
            return CLI_ERROR;
        if (rc != MLOPS_OK)
            return cli_fail(rc, "guard canary");
        cli_print_free(out);
        return CLI_OK;
    }
    if (strcmp(sub, "deanonymize") == 0) {
        const char *vault = "default";
        for (int i = 2; i < argc;) {
            if (cli_opt(argc, argv, &i, "--vault", &vault))
                continue;
            return cli_usage("guard deanonymize: unexpected argument '%s'", argv[i]);
        }
        char *text = cli_read_stream(stdin);
        mlops_t *h = text ? cli_handle(c) : NULL;
        char *out = NULL;
        int rc = h ? mlops_guard_deanonymize(h, vault, text, &out) : MLOPS_EINVAL;
        free(text);
        if (!h)
            return CLI_ERROR;
        if (rc != MLOPS_OK)
            return cli_fail(rc, "guard deanonymize");
        fputs(out, stdout);
        mlops_free(out);
        return CLI_OK;
    }
    return cli_usage("guard: unknown subcommand '%s'", sub);
}
