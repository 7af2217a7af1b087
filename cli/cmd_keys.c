/*
 * mlops keys create|list|get|revoke|rotate, mlops spend, mlops route
 * explain|decide|eval|train: virtual keys, the spend ledger and complexity routing.
 */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static bool help_asked(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static char *read_file(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mlops: %s: cannot open\n", path);
        return NULL;
    }
    char *s = cli_read_stream(f);
    if (f != stdin)
        fclose(f);
    if (!s)
        fprintf(stderr, "mlops: %s: cannot read\n", path);
    return s;
}

/* ------------------------------------------------------------------ keys ------- */

static const char keys_usage[] =
    "usage: mlops [--db PATH] keys create [--alias A] [--budget X] [--period "
    "total|daily|weekly|monthly]\n"
    "                                [--models m1,m2] [--rpm N] [--tpm N] [--max-parallel N]\n"
    "                                [--expires-in S] [--owner O] [--team T] [--json META]\n"
    "       mlops keys list [--owner O] [--team T] [--tag T] [--all]\n"
    "       mlops keys get KEY\n"
    "       mlops keys revoke KEY\n"
    "       mlops keys rotate KEY [--grace-ms MS]\n"
    "\n"
    "Virtual keys for the gateway. create and rotate print the secret once; list shows\n"
    "only a prefix. KEY is a key id (key-...) or alias.";

static int keys_create(cli *c, int argc, char **argv)
{
    char *meta = NULL;
    const char *v, *json = NULL;
    size_t cap = 4096;
    char *buf = calloc(1, cap);
    if (!buf)
        return cli_fail(MLOPS_ENOMEM, "keys create");
    strcat(buf, "{");
    int i = 2;
    int rc = CLI_OK;
    while (i < argc && rc == CLI_OK) {
        char item[1200];
        item[0] = '\0';
        if (cli_opt(argc, argv, &i, "--alias", &v))
            snprintf(item, sizeof item, "\"alias\":\"%.200s\"", v);
        else if (cli_opt(argc, argv, &i, "--budget", &v))
            snprintf(item, sizeof item, "\"budget\":%g", atof(v));
        else if (cli_opt(argc, argv, &i, "--period", &v))
            snprintf(item, sizeof item, "\"budget_period\":\"%.20s\"", v);
        else if (cli_opt(argc, argv, &i, "--soft-budget", &v))
            snprintf(item, sizeof item, "\"soft_budget\":%g", atof(v));
        else if (cli_opt(argc, argv, &i, "--rpm", &v))
            snprintf(item, sizeof item, "\"rpm\":%lld", atoll(v));
        else if (cli_opt(argc, argv, &i, "--tpm", &v))
            snprintf(item, sizeof item, "\"tpm\":%lld", atoll(v));
        else if (cli_opt(argc, argv, &i, "--max-parallel", &v))
            snprintf(item, sizeof item, "\"max_parallel\":%lld", atoll(v));
        else if (cli_opt(argc, argv, &i, "--expires-in", &v))
            snprintf(item, sizeof item, "\"expires_in_s\":%lld", atoll(v));
        else if (cli_opt(argc, argv, &i, "--owner", &v))
            snprintf(item, sizeof item, "\"owner\":\"%.200s\"", v);
        else if (cli_opt(argc, argv, &i, "--team", &v))
            snprintf(item, sizeof item, "\"team\":\"%.200s\"", v);
        else if (cli_opt(argc, argv, &i, "--models", &v)) {
            int n = snprintf(item, sizeof item, "\"models\":[");
            const char *p = v;
            while (*p && n < (int)sizeof item - 300) {
                size_t l = strcspn(p, ",");
                n += snprintf(item + n, sizeof item - (size_t)n, "%s\"%.*s\"",
                              p == v ? "" : ",", (int)(l > 200 ? 200 : l), p);
                p += l + (p[l] == ',');
            }
            snprintf(item + n, sizeof item - (size_t)n, "]");
        } else if (cli_opt(argc, argv, &i, "--json", &v))
            json = v;
        else
            rc = cli_usage("keys create: unexpected argument '%s'", argv[i]);
        if (item[0]) {
            if (strlen(buf) + strlen(item) + 4 > cap)
                rc = cli_usage("keys create: too many options");
            else {
                if (buf[1])
                    strcat(buf, ",");
                strcat(buf, item);
            }
        }
    }
    strcat(buf, "}");
    if (rc != CLI_OK) {
        free(buf);
        return rc;
    }
    if (json && buf[1] != '}') {
        free(buf);
        return cli_usage("keys create: give --json or the other options, not both");
    }
    mlops_t *h = cli_handle(c);
    if (!h) {
        free(buf);
        return CLI_ERROR;
    }
    int lrc = mlops_keys_create(h, json ? json : buf, &meta);
    free(buf);
    if (lrc != MLOPS_OK)
        return cli_fail(lrc, "keys create");
    cli_print_free(meta);
    fprintf(stderr, "mlops: store the secret now: it is not shown again\n");
    return CLI_OK;
}

int cmd_keys(cli *c, int argc, char **argv)
{
    if (argc < 2 || help_asked(argc, argv)) {
        puts(keys_usage);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "create") == 0)
        return keys_create(c, argc, argv);
    if (strcmp(sub, "list") == 0) {
        char filter[1024];
        int n = snprintf(filter, sizeof filter, "{");
        const char *v;
        for (int i = 2; i < argc;) {
            const char *field = NULL;
            if (cli_opt(argc, argv, &i, "--owner", &v))
                field = "owner";
            else if (cli_opt(argc, argv, &i, "--team", &v))
                field = "team";
            else if (cli_opt(argc, argv, &i, "--tag", &v))
                field = "tag";
            else if (strcmp(argv[i], "--all") == 0) {
                n += snprintf(filter + n, sizeof filter - (size_t)n, "%s\"include_revoked\":true",
                              n > 1 ? "," : "");
                i++;
                continue;
            } else
                return cli_usage("keys list: unexpected argument '%s'", argv[i]);
            n += snprintf(filter + n, sizeof filter - (size_t)n, "%s\"%s\":\"%.200s\"",
                          n > 1 ? "," : "", field, v);
            if (n >= (int)sizeof filter - 2)
                return cli_usage("keys list: options too long");
        }
        snprintf(filter + n, sizeof filter - (size_t)n, "}");
        mlops_t *h = cli_handle(c);
        char *out = NULL;
        if (!h)
            return CLI_ERROR;
        int rc = mlops_keys_list(h, filter, &out);
        if (rc != MLOPS_OK)
            return cli_fail(rc, "keys list");
        cli_print_free(out);
        return CLI_OK;
    }
    if (strcmp(sub, "get") == 0 || strcmp(sub, "revoke") == 0 || strcmp(sub, "rotate") == 0) {
        if (argc < 3)
            return cli_usage("keys %s: missing KEY", sub);
        const char *key = argv[2];
        int64_t grace = 0;
        const char *v;
        for (int i = 3; i < argc;) {
            if (strcmp(sub, "rotate") == 0 && cli_opt(argc, argv, &i, "--grace-ms", &v))
                grace = atoll(v);
            else
                return cli_usage("keys %s: unexpected argument '%s'", sub, argv[i]);
        }
        mlops_t *h = cli_handle(c);
        if (!h)
            return CLI_ERROR;
        char *out = NULL;
        int rc = strcmp(sub, "get") == 0      ? mlops_keys_get(h, key, &out)
                 : strcmp(sub, "revoke") == 0 ? mlops_keys_revoke(h, key)
                                              : mlops_keys_rotate(h, key, grace, &out);
        if (rc != MLOPS_OK)
            return cli_fail(rc, sub);
        if (out)
            cli_print_free(out);
        else
            printf("revoked %s\n", key);
        return CLI_OK;
    }
    return cli_usage("keys: unknown subcommand '%s' (create, list, get, revoke, rotate)", sub);
}

/* ------------------------------------------------------------------ spend ------ */

int cmd_spend(cli *c, int argc, char **argv)
{
    if (help_asked(argc, argv)) {
        puts("usage: mlops [--db PATH] spend [--key KEY] [--model M] [--by "
             "key|model|day|deployment|status]\n"
             "                         [--since-ms MS] [--top N]\n\n"
             "Prints spend from the ledger, grouped (default: by key), as JSON.");
        return CLI_OK;
    }
    char q[1024];
    int n = snprintf(q, sizeof q, "{");
    const char *v;
    for (int i = 1; i < argc;) {
        if (cli_opt(argc, argv, &i, "--key", &v))
            n += snprintf(q + n, sizeof q - (size_t)n, "%s\"key\":\"%.200s\"", n > 1 ? "," : "", v);
        else if (cli_opt(argc, argv, &i, "--model", &v))
            n += snprintf(q + n, sizeof q - (size_t)n, "%s\"model\":\"%.200s\"", n > 1 ? "," : "",
                          v);
        else if (cli_opt(argc, argv, &i, "--by", &v))
            n += snprintf(q + n, sizeof q - (size_t)n, "%s\"by\":\"%.40s\"", n > 1 ? "," : "", v);
        else if (cli_opt(argc, argv, &i, "--since-ms", &v))
            n += snprintf(q + n, sizeof q - (size_t)n, "%s\"since_ms\":%lld", n > 1 ? "," : "",
                          atoll(v));
        else if (cli_opt(argc, argv, &i, "--top", &v))
            n += snprintf(q + n, sizeof q - (size_t)n, "%s\"top\":%lld", n > 1 ? "," : "",
                          atoll(v));
        else
            return cli_usage("spend: unexpected argument '%s'", argv[i]);
        if (n >= (int)sizeof q - 2)
            return cli_usage("spend: options too long");
    }
    snprintf(q + n, sizeof q - (size_t)n, "}");
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    char *out = NULL;
    int rc = mlops_spend_query(h, q, &out);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "spend");
    cli_print_free(out);
    return CLI_OK;
}

/* ------------------------------------------------------------------ route ------ */

static const char route_usage[] =
    "usage: mlops route explain [--config FILE | --model FILE] \"prompt\"\n"
    "       mlops route decide [--config FILE | --model FILE] [--metadata JSON] REQUEST_JSON\n"
    "       mlops route eval --data FILE.jsonl [--config FILE | --model FILE] [--cv K]\n"
    "                        [--seed N] [--prices CHEAP,STRONG]\n"
    "       mlops route train --data FILE.jsonl [--out FILE] [--seed N] [--epochs N]\n"
    "                         [--strong-share X]\n"
    "\n"
    "Complexity routing (no store, no network). --config is a routing config JSON file;\n"
    "--model FILE is shorthand for {\"model_file\": FILE}. eval with --cv K reports k-fold\n"
    "cross-validated (held-out) numbers of a freshly trained model.";

int cmd_route(cli *c, int argc, char **argv)
{
    (void)c;
    if (argc < 2 || help_asked(argc, argv)) {
        puts(route_usage);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *sub = argv[1], *v;
    const char *config_file = NULL, *model_file = NULL, *data = NULL, *outp = NULL,
               *metadata = NULL, *prices = NULL, *positional = NULL;
    long long cv = 0, seed = -1, epochs = 0;
    double share = -1;
    for (int i = 2; i < argc;) {
        if (cli_opt(argc, argv, &i, "--config", &v))
            config_file = v;
        else if (cli_opt(argc, argv, &i, "--model", &v))
            model_file = v;
        else if (cli_opt(argc, argv, &i, "--data", &v))
            data = v;
        else if (cli_opt(argc, argv, &i, "--out", &v))
            outp = v;
        else if (cli_opt(argc, argv, &i, "--metadata", &v))
            metadata = v;
        else if (cli_opt(argc, argv, &i, "--prices", &v))
            prices = v;
        else if (cli_opt(argc, argv, &i, "--cv", &v))
            cv = atoll(v);
        else if (cli_opt(argc, argv, &i, "--seed", &v))
            seed = atoll(v);
        else if (cli_opt(argc, argv, &i, "--epochs", &v))
            epochs = atoll(v);
        else if (cli_opt(argc, argv, &i, "--strong-share", &v))
            share = atof(v);
        else if (!positional && argv[i][0] != '-')
            positional = argv[i++];
        else
            return cli_usage("route %s: unexpected argument '%s'", sub, argv[i]);
    }
    if (config_file && model_file)
        return cli_usage("route: give --config or --model, not both");
    char *config = NULL;
    if (config_file && !(config = read_file(config_file)))
        return CLI_ERROR;
    if (model_file) {
        config = malloc(strlen(model_file) * 2 + 32);
        if (!config)
            return cli_fail(MLOPS_ENOMEM, "route");
        char *p = config + sprintf(config, "{\"model_file\":\"");
        for (const char *s = model_file; *s; s++) {
            if (*s == '"' || *s == '\\')
                *p++ = '\\';
            *p++ = *s;
        }
        strcpy(p, "\"}");
    }
    mlops_t *h = NULL;
    int rc = mlops_open(":memory:", NULL, &h);
    if (rc != MLOPS_OK) {
        free(config);
        return cli_fail(rc, "route");
    }
    char *out = NULL, *text = NULL;
    int ret = CLI_OK;
    if (strcmp(sub, "explain") == 0 || strcmp(sub, "decide") == 0) {
        if (!positional) {
            ret = cli_usage("route %s: missing the %s", sub,
                            sub[0] == 'e' ? "prompt" : "request JSON");
        } else {
            rc = sub[0] == 'e' ? mlops_router_explain(h, config, positional, &out)
                               : mlops_router_decide(h, config, positional, metadata, &out);
            ret = rc == MLOPS_OK ? (cli_print_free(out), CLI_OK) : cli_fail(rc, sub);
        }
    } else if (strcmp(sub, "eval") == 0 || strcmp(sub, "train") == 0) {
        char opts[512];
        int n = snprintf(opts, sizeof opts, "{");
        bool train = sub[0] == 't';
        if (!data) {
            ret = cli_usage("route %s: --data FILE.jsonl is required", sub);
        } else if (!(text = read_file(data))) {
            ret = CLI_ERROR;
        } else {
            char topts[256];
            int tn = snprintf(topts, sizeof topts, "{");
            if (seed >= 0)
                tn += snprintf(topts + tn, sizeof topts - (size_t)tn, "\"seed\":%lld", seed);
            if (epochs > 0)
                tn += snprintf(topts + tn, sizeof topts - (size_t)tn, "%s\"epochs\":%lld",
                               tn > 1 ? "," : "", epochs);
            if (share >= 0)
                tn += snprintf(topts + tn, sizeof topts - (size_t)tn, "%s\"strong_share\":%g",
                               tn > 1 ? "," : "", share);
            snprintf(topts + tn, sizeof topts - (size_t)tn, "}");
            if (train) {
                rc = mlops_router_train(h, text, topts, &out);
            } else {
                if (cv > 0)
                    n += snprintf(opts + n, sizeof opts - (size_t)n, "\"cv_folds\":%lld,\"train\":%s",
                                  cv, topts);
                if (seed >= 0)
                    n += snprintf(opts + n, sizeof opts - (size_t)n, "%s\"seed\":%lld",
                                  n > 1 ? "," : "", seed);
                if (prices) {
                    double pc = atof(prices);
                    const char *comma = strchr(prices, ',');
                    double ps = comma ? atof(comma + 1) : 0;
                    n += snprintf(opts + n, sizeof opts - (size_t)n,
                                  "%s\"prices\":{\"cheap\":%g,\"strong\":%g}", n > 1 ? "," : "",
                                  pc, ps);
                }
                snprintf(opts + n, sizeof opts - (size_t)n, "}");
                rc = mlops_router_eval(h, config, text, opts, &out);
            }
            if (rc != MLOPS_OK) {
                ret = cli_fail(rc, sub);
            } else if (train && outp) {
                FILE *f = fopen(outp, "wb");
                if (!f || fputs(out, f) < 0 || fclose(f) != 0) {
                    fprintf(stderr, "mlops: %s: cannot write\n", outp);
                    ret = CLI_ERROR;
                } else {
                    printf("wrote %s\n", outp);
                }
                mlops_free(out);
            } else {
                cli_print_free(out);
            }
        }
    } else {
        ret = cli_usage("route: unknown subcommand '%s' (explain, decide, eval, train)", sub);
    }
    free(text);
    free(config);
    mlops_close(h);
    return ret;
}
