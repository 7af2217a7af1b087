/* mlops model ... (registry, gates) and mlops deploy ... (rollouts). */
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

static const char model_usage[] =
    "usage: mlops model COMMAND ...\n"
    "\n"
    "  register NAME --uri URI [--metrics JSON] [--params JSON] [--tag K=V]...\n"
    "           [--format F] [--description TEXT]     register a version; prints its number\n"
    "  show REF                                      a version as JSON (REF: name, name:N,\n"
    "                                                name@alias)\n"
    "  list [--filter FILTER] [--limit N]            models, or versions matching a filter\n"
    "                                                (e.g. \"name LIKE 'fraud%' AND\n"
    "                                                metrics.auc > 0.9\")\n"
    "  history NAME                                  the audit log\n"
    "  verify REF                                    re-hash a local artifact\n"
    "  gate NAME --rules JSON [--alias A]            set the validation gate ([] clears)\n"
    "  gate NAME --show [--alias A]                  print the rules that apply\n"
    "  promote NAME VERSION --alias A [--force --reason R]\n"
    "                                                move an alias through the gate; prints\n"
    "                                                the decision; exit 1 when blocked\n";

static const char deploy_usage[] =
    "usage: mlops deploy COMMAND NAME --alias A ...\n"
    "\n"
    "  start NAME --alias A --strategy JSON          start a canary, blue_green, shadow or ab\n"
    "  pick NAME --alias A [--user U]                which version serves (and shadows)\n"
    "  observe NAME VERSION --metrics JSON           record an outcome\n"
    "  status NAME --alias A                         state, observations, A/B summary\n"
    "  rollback|abort|pause NAME --alias A [--reason R]\n"
    "  resume NAME --alias A\n"
    "  promote NAME --alias A [--version V] [--reason R]\n";

/* Options shared by the subcommands; positional arguments are collected in order. */
typedef struct opts {
    const char *pos[4];
    int npos;
    const char *uri, *metrics, *params, *format, *description, *filter, *limit, *rules;
    const char *alias, *reason, *strategy, *user, *version;
    const char *tags[32];
    int ntags;
    bool force, show;
} opts;

static int parse_opts(int argc, char **argv, int first, opts *o)
{
    memset(o, 0, sizeof *o);
    int i = first;
    while (i < argc) {
        const char *v;
        if (strcmp(argv[i], "--force") == 0) {
            o->force = true;
            i++;
        } else if (strcmp(argv[i], "--show") == 0) {
            o->show = true;
            i++;
        } else if (cli_opt(argc, argv, &i, "--uri", &o->uri) ||
                   cli_opt(argc, argv, &i, "--metrics", &o->metrics) ||
                   cli_opt(argc, argv, &i, "--params", &o->params) ||
                   cli_opt(argc, argv, &i, "--format", &o->format) ||
                   cli_opt(argc, argv, &i, "--description", &o->description) ||
                   cli_opt(argc, argv, &i, "--filter", &o->filter) ||
                   cli_opt(argc, argv, &i, "--limit", &o->limit) ||
                   cli_opt(argc, argv, &i, "--rules", &o->rules) ||
                   cli_opt(argc, argv, &i, "--alias", &o->alias) ||
                   cli_opt(argc, argv, &i, "--reason", &o->reason) ||
                   cli_opt(argc, argv, &i, "--strategy", &o->strategy) ||
                   cli_opt(argc, argv, &i, "--user", &o->user) ||
                   cli_opt(argc, argv, &i, "--version", &o->version)) {
        } else if (cli_opt(argc, argv, &i, "--tag", &v)) {
            if (o->ntags == 32)
                return cli_usage("at most 32 --tag options");
            if (!strchr(v, '=') || v[0] == '=')
                return cli_usage("--tag '%s': expected KEY=VALUE", v);
            o->tags[o->ntags++] = v;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            return cli_usage("unknown or incomplete option '%s'", argv[i]);
        } else {
            if (o->npos == 4)
                return cli_usage("unexpected argument '%s'", argv[i]);
            o->pos[o->npos++] = argv[i++];
        }
    }
    return CLI_OK;
}

static bool parse_int(const char *s, long long *out)
{
    char *end = NULL;
    if (!s || !*s)
        return false;
    *out = strtoll(s, &end, 10);
    return *end == '\0';
}

/* Appends a JSON string literal (escaping quotes, backslashes and controls). */
static void json_str(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + strlen(s) * 6 + 3;
    if (need > *cap) {
        *cap = need * 2;
        *buf = realloc(*buf, *cap);
    }
    char *p = *buf + *len;
    *p++ = '"';
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p++ = '"';
    *p = '\0';
    *len = (size_t)(p - *buf);
}

static void raw(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        *cap = (*len + n + 1) * 2;
        *buf = realloc(*buf, *cap);
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

static int model_register(mlops_t *h, const opts *o)
{
    if (o->npos != 1 || !o->uri)
        return cli_usage("model register: NAME and --uri are required");
    size_t len = 0, cap = 256;
    char *b = malloc(cap);
    b[0] = '\0';
    raw(&b, &len, &cap, "{\"uri\": ");
    json_str(&b, &len, &cap, o->uri);
    if (o->metrics) {
        raw(&b, &len, &cap, ", \"metrics\": ");
        raw(&b, &len, &cap, o->metrics);
    }
    if (o->params) {
        raw(&b, &len, &cap, ", \"params\": ");
        raw(&b, &len, &cap, o->params);
    }
    if (o->format) {
        raw(&b, &len, &cap, ", \"format\": ");
        json_str(&b, &len, &cap, o->format);
    }
    if (o->description) {
        raw(&b, &len, &cap, ", \"description\": ");
        json_str(&b, &len, &cap, o->description);
    }
    if (o->ntags) {
        raw(&b, &len, &cap, ", \"tags\": {");
        for (int i = 0; i < o->ntags; i++) {
            const char *eq = strchr(o->tags[i], '=');
            char key[128];
            snprintf(key, sizeof key, "%.*s", (int)(eq - o->tags[i]), o->tags[i]);
            if (i)
                raw(&b, &len, &cap, ", ");
            json_str(&b, &len, &cap, key);
            raw(&b, &len, &cap, ": ");
            json_str(&b, &len, &cap, eq + 1);
        }
        raw(&b, &len, &cap, "}");
    }
    raw(&b, &len, &cap, "}");
    int64_t version = 0;
    int rc = mlops_model_register(h, o->pos[0], b, &version);
    free(b);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "model register");
    printf("%lld\n", (long long)version);
    return CLI_OK;
}

/* The start shared by `mlops model` and `mlops deploy`: the usage when the subcommand is
 * missing (an error) or --help is asked for, else the options after the subcommand.
 * False when the command ends here, with *status its exit code. */
static bool subcommand_opts(int argc, char **argv, const char *usage, opts *o, int *status)
{
    if (argc < 2 || help_asked(argc, argv)) {
        fputs(usage, argc < 2 ? stderr : stdout);
        *status = argc < 2 ? CLI_USAGE : CLI_OK;
        return false;
    }
    *status = parse_opts(argc, argv, 2, o);
    return *status == CLI_OK;
}

/* The end shared by subcommands that print the JSON their library call returned. */
static int print_result(int rc, const char *sub, char *out)
{
    if (rc != MLOPS_OK)
        return cli_fail(rc, sub);
    cli_print_free(out);
    return CLI_OK;
}

int cmd_model(cli *c, int argc, char **argv)
{
    opts o;
    int rc;
    if (!subcommand_opts(argc, argv, model_usage, &o, &rc))
        return rc;
    const char *sub = argv[1];
    char *out = NULL;
    if (strcmp(sub, "register") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "list") != 0 &&
        strcmp(sub, "history") != 0 && strcmp(sub, "verify") != 0 && strcmp(sub, "gate") != 0 &&
        strcmp(sub, "promote") != 0)
        return cli_usage("model: unknown command '%s' (see mlops model --help)", sub);
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    if (strcmp(sub, "register") == 0)
        return model_register(h, &o);
    if (strcmp(sub, "show") == 0 || strcmp(sub, "verify") == 0) {
        if (o.npos != 1)
            return cli_usage("model %s: REF is required", sub);
        rc = sub[0] == 's' ? mlops_model_get(h, o.pos[0], &out)
                           : mlops_model_verify(h, o.pos[0], &out);
    } else if (strcmp(sub, "list") == 0) {
        long long limit = 0;
        if (o.limit && !parse_int(o.limit, &limit))
            return cli_usage("--limit '%s': expected an integer", o.limit);
        rc = o.filter || o.limit ? mlops_model_search(h, o.filter, limit, &out)
                                 : mlops_model_list(h, &out);
    } else if (strcmp(sub, "history") == 0) {
        if (o.npos != 1)
            return cli_usage("model history: NAME is required");
        rc = mlops_model_history(h, o.pos[0], 0, &out);
    } else if (strcmp(sub, "gate") == 0) {
        if (o.npos != 1 || (!o.rules && !o.show))
            return cli_usage("model gate: NAME and --rules JSON (or --show) are required");
        if (o.rules && (rc = mlops_model_set_gate(h, o.pos[0], o.alias, o.rules)) != MLOPS_OK)
            return cli_fail(rc, "model gate");
        rc = mlops_model_get_gate(h, o.pos[0], o.alias, &out);
    } else {
        long long v;
        if (o.npos != 2 || !parse_int(o.pos[1], &v) || !o.alias)
            return cli_usage("model promote: NAME VERSION --alias A are required");
        if (o.force && !o.reason)
            return cli_usage("model promote: --force needs --reason");
        rc = mlops_model_promote(h, o.pos[0], v, o.alias, o.force, o.reason, &out);
        if (rc == MLOPS_EGATE) {
            cli_print_free(out);
            return cli_fail(rc, "model promote");
        }
    }
    return print_result(rc, sub, out);
}

int cmd_deploy(cli *c, int argc, char **argv)
{
    opts o;
    int rc;
    if (!subcommand_opts(argc, argv, deploy_usage, &o, &rc))
        return rc;
    const char *sub = argv[1];
    static const char *const known[] = {"start",  "pick",  "observe", "status", "rollback",
                                        "abort",  "pause", "resume",  "promote"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return cli_usage("deploy: unknown command '%s' (see mlops deploy --help)", sub);
    if (strcmp(sub, "observe") == 0) {
        long long v;
        if (o.npos != 2 || !parse_int(o.pos[1], &v) || !o.metrics)
            return cli_usage("deploy observe: NAME VERSION --metrics JSON are required");
        mlops_t *h = cli_handle(c);
        if (!h)
            return CLI_ERROR;
        rc = mlops_deploy_observe(h, o.pos[0], v, o.metrics);
        if (rc == MLOPS_OK)
            rc = mlops_deploy_flush(h);
        if (rc != MLOPS_OK)
            return cli_fail(rc, "deploy observe");
        puts("recorded");
        return CLI_OK;
    }
    if (o.npos != 1 || !o.alias)
        return cli_usage("deploy %s: NAME and --alias A are required", sub);
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    char *out = NULL;
    const char *name = o.pos[0];
    if (strcmp(sub, "start") == 0) {
        if (!o.strategy)
            return cli_usage("deploy start: --strategy JSON is required");
        rc = mlops_deploy_start(h, name, o.alias, o.strategy, &out);
        if (rc == MLOPS_EGATE) {
            cli_print_free(out);
            return cli_fail(rc, "deploy start");
        }
    } else if (strcmp(sub, "pick") == 0) {
        int64_t v = 0;
        int32_t shadows[8];
        size_t n = 0;
        rc = mlops_deploy_pick(h, name, o.alias, o.user, &v, shadows, 8, &n);
        if (rc != MLOPS_OK)
            return cli_fail(rc, "deploy pick");
        printf("{\"version\": %lld, \"shadows\": [", (long long)v);
        for (size_t i = 0; i < n && i < 8; i++)
            printf("%s%d", i ? ", " : "", shadows[i]);
        puts("]}");
        return CLI_OK;
    } else if (strcmp(sub, "status") == 0) {
        rc = mlops_deploy_status(h, name, o.alias, &out);
    } else if (strcmp(sub, "rollback") == 0) {
        rc = mlops_deploy_rollback(h, name, o.alias, o.reason, &out);
    } else if (strcmp(sub, "abort") == 0) {
        rc = mlops_deploy_abort(h, name, o.alias, o.reason, &out);
    } else if (strcmp(sub, "pause") == 0) {
        rc = mlops_deploy_pause(h, name, o.alias, o.reason, &out);
    } else if (strcmp(sub, "resume") == 0) {
        rc = mlops_deploy_resume(h, name, o.alias, &out);
    } else {
        long long v = 0;
        if (o.version && !parse_int(o.version, &v))
            return cli_usage("--version '%s': expected an integer", o.version);
        rc = mlops_deploy_promote(h, name, o.alias, v, o.reason, &out);
    }
    return print_result(rc, sub, out);
}
