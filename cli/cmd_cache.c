/* mlops cache put | lookup | stats | invalidate | feedback | flush */
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: mlops [--db PATH] cache COMMAND [OPTIONS]\n"
    "\n"
    "The exact and semantic response cache.\n"
    "\n"
    "Commands:\n"
    "  put --ns NS --prompt P --response R [--model M] [--system S] [--prompt-version V]\n"
    "      [--ttl SECONDS] [--json]       store R (text, or JSON with --json) for P\n"
    "  put --request JSON --response JSON  store for an OpenAI chat request\n"
    "  lookup --ns NS --prompt P [--model M] [--system S] [--prompt-version V]\n"
    "      [--threshold T] [--exact-only]  print {hit, similarity, entry_id, response}\n"
    "  lookup --request JSON               look an OpenAI chat request up\n"
    "  stats                               print counters as JSON\n"
    "  invalidate [--ns NS] [--partition K] [--model M] [--prompt-version V]\n"
    "      [--entry ID] [--all]            remove matching entries, print how many\n"
    "  feedback --entry ID --wrong|--right  report on a served entry\n"
    "  flush                               write pending entries to the store now\n";


/* A small JSON text builder: the CLI uses only the public API (no JSON library). */
typedef struct jb {
    char *s;
    size_t len, cap;
    bool first;
} jb;

static void jb_put(jb *b, const char *t, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->cap + n + 1) * 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            fputs("mlops: out of memory\n", stderr);
            exit(CLI_ERROR);
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, t, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void jb_str(jb *b, const char *v)
{
    jb_put(b, "\"", 1);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        char esc[8];
        if (*p == '"' || *p == '\\') {
            esc[0] = '\\';
            esc[1] = (char)*p;
            jb_put(b, esc, 2);
        } else if (*p < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", *p);
            jb_put(b, esc, 6);
        } else {
            jb_put(b, (const char *)p, 1);
        }
    }
    jb_put(b, "\"", 1);
}

static void jb_open(jb *b)
{
    memset(b, 0, sizeof *b);
    b->first = true;
    jb_put(b, "{", 1);
}

static void jb_key(jb *b, const char *k)
{
    if (!b->first)
        jb_put(b, ",", 1);
    b->first = false;
    jb_str(b, k);
    jb_put(b, ":", 1);
}

static void jb_kstr(jb *b, const char *k, const char *v)
{
    jb_key(b, k);
    jb_str(b, v);
}

static void jb_kraw(jb *b, const char *k, const char *raw)
{
    jb_key(b, k);
    jb_put(b, raw, strlen(raw));
}

static char *jb_close(jb *b)
{
    jb_put(b, "}", 1);
    return b->s;
}

typedef struct args {
    const char *ns, *prompt, *response, *model, *system, *version, *request, *partition;
    const char *threshold, *ttl, *entry;
    bool json, exact_only, all, wrong, right;
} args;

static int parse(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    int i = 2;
    while (i < argc) {
        const char *v;
        if (cli_opt(argc, argv, &i, "--ns", &v))
            a->ns = v;
        else if (cli_opt(argc, argv, &i, "--prompt", &v))
            a->prompt = v;
        else if (cli_opt(argc, argv, &i, "--response", &v))
            a->response = v;
        else if (cli_opt(argc, argv, &i, "--model", &v))
            a->model = v;
        else if (cli_opt(argc, argv, &i, "--system", &v))
            a->system = v;
        else if (cli_opt(argc, argv, &i, "--prompt-version", &v))
            a->version = v;
        else if (cli_opt(argc, argv, &i, "--request", &v))
            a->request = v;
        else if (cli_opt(argc, argv, &i, "--partition", &v))
            a->partition = v;
        else if (cli_opt(argc, argv, &i, "--threshold", &v))
            a->threshold = v;
        else if (cli_opt(argc, argv, &i, "--ttl", &v))
            a->ttl = v;
        else if (cli_opt(argc, argv, &i, "--entry", &v))
            a->entry = v;
        else if (strcmp(argv[i], "--json") == 0 && ++i)
            a->json = true;
        else if (strcmp(argv[i], "--exact-only") == 0 && ++i)
            a->exact_only = true;
        else if (strcmp(argv[i], "--all") == 0 && ++i)
            a->all = true;
        else if (strcmp(argv[i], "--wrong") == 0 && ++i)
            a->wrong = true;
        else if (strcmp(argv[i], "--right") == 0 && ++i)
            a->right = true;
        else
            return cli_usage("cache %s: unknown or incomplete option '%s'", argv[1], argv[i]);
    }
    return CLI_OK;
}

static bool parse_number(const char *s, double *out)
{
    char *end = NULL;
    *out = strtod(s, &end);
    return end && end != s && *end == '\0';
}

/* The request JSON: --request as given, or the simple form built from the flags. */
static char *request_of(const args *a, const char *cmd)
{
    if (a->request)
        return strdup(a->request);
    if (!a->prompt) {
        cli_usage("cache %s: --prompt (or --request) is required", cmd);
        return NULL;
    }
    jb b;
    jb_open(&b);
    jb_kstr(&b, "namespace", a->ns ? a->ns : "default");
    jb_kstr(&b, "prompt", a->prompt);
    if (a->model)
        jb_kstr(&b, "model", a->model);
    if (a->system)
        jb_kstr(&b, "system", a->system);
    if (a->version)
        jb_kstr(&b, "prompt_version", a->version);
    return jb_close(&b);
}

static int do_put(cli *c, const args *a)
{
    if (!a->response)
        return cli_usage("cache put: --response is required");
    char *req = request_of(a, "put");
    if (!req)
        return CLI_USAGE;
    char *resp = NULL;
    if (a->json || a->request) {
        resp = strdup(a->response);
    } else {
        jb b = {0};
        jb_str(&b, a->response);
        resp = b.s;
    }
    char opts[64] = "";
    if (a->ttl) {
        double t;
        if (!parse_number(a->ttl, &t)) {
            free(req);
            free(resp);
            return cli_usage("cache put: --ttl '%s' is not a number", a->ttl);
        }
        snprintf(opts, sizeof opts, "{\"ttl_s\": %.17g}", t);
    }
    mlops_t *h = cli_handle(c);
    int64_t id = 0;
    int rc = h ? mlops_cache_put(h, req, resp ? resp : "null", opts, &id) : MLOPS_EINVAL;
    free(req);
    free(resp);
    if (!h)
        return CLI_ERROR;
    if (rc != MLOPS_OK)
        return cli_fail(rc, "cache put");
    if ((rc = mlops_cache_flush(h)) != MLOPS_OK)
        return cli_fail(rc, "cache put (flush)");
    printf("{\"entry_id\":%lld}\n", (long long)id);
    return CLI_OK;
}

static int do_lookup(cli *c, const args *a)
{
    char *req = request_of(a, "lookup");
    if (!req)
        return CLI_USAGE;
    jb o;
    jb_open(&o);
    if (a->threshold) {
        double t;
        if (!parse_number(a->threshold, &t)) {
            free(req);
            free(jb_close(&o));
            return cli_usage("cache lookup: --threshold '%s' is not a number", a->threshold);
        }
        char num[64];
        snprintf(num, sizeof num, "%.17g", t);
        jb_kraw(&o, "threshold", num);
    }
    if (a->exact_only)
        jb_kraw(&o, "semantic", "false");
    char *opts = jb_close(&o);
    mlops_t *h = cli_handle(c);
    char *out = NULL;
    int rc = h ? mlops_cache_lookup(h, req, opts, &out) : MLOPS_EINVAL;
    free(req);
    free(opts);
    if (!h)
        return CLI_ERROR;
    if (rc != MLOPS_OK)
        return cli_fail(rc, "cache lookup");
    mlops_cache_flush(h); /* a refreshed TTL */
    cli_print_free(out);
    return CLI_OK;
}

static int do_invalidate(cli *c, const args *a)
{
    jb s;
    jb_open(&s);
    if (a->ns)
        jb_kstr(&s, "namespace", a->ns);
    if (a->partition)
        jb_kstr(&s, "partition", a->partition);
    if (a->model)
        jb_kstr(&s, "model", a->model);
    if (a->version)
        jb_kstr(&s, "prompt_version", a->version);
    if (a->all)
        jb_kraw(&s, "all", "true");
    if (a->entry) {
        char *end = NULL;
        long long id = strtoll(a->entry, &end, 10);
        if (!end || *end || id <= 0) {
            free(jb_close(&s));
            return cli_usage("cache invalidate: --entry '%s' is not a positive integer", a->entry);
        }
        char num[32];
        snprintf(num, sizeof num, "%lld", id);
        jb_kraw(&s, "entry_id", num);
    }
    if (s.first) {
        free(jb_close(&s));
        return cli_usage("cache invalidate: give --ns, --partition, --model, --prompt-version, "
                         "--entry or --all");
    }
    char *sel = jb_close(&s);
    mlops_t *h = cli_handle(c);
    int64_t n = 0;
    int rc = h ? mlops_cache_invalidate(h, sel, &n) : MLOPS_EINVAL;
    free(sel);
    if (!h)
        return CLI_ERROR;
    if (rc != MLOPS_OK)
        return cli_fail(rc, "cache invalidate");
    if ((rc = mlops_cache_flush(h)) != MLOPS_OK)
        return cli_fail(rc, "cache invalidate (flush)");
    printf("{\"invalidated\":%lld}\n", (long long)n);
    return CLI_OK;
}

static int do_feedback(cli *c, const args *a)
{
    if (!a->entry || a->wrong == a->right)
        return cli_usage("cache feedback: give --entry ID and one of --wrong, --right");
    char *end = NULL;
    long long id = strtoll(a->entry, &end, 10);
    if (!end || *end || id <= 0)
        return cli_usage("cache feedback: --entry '%s' is not a positive integer", a->entry);
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    int rc = mlops_cache_feedback(h, id, a->wrong ? "{\"verdict\":\"wrong\"}"
                                                  : "{\"verdict\":\"right\"}");
    if (rc != MLOPS_OK)
        return cli_fail(rc, "cache feedback");
    if ((rc = mlops_cache_flush(h)) != MLOPS_OK)
        return cli_fail(rc, "cache feedback (flush)");
    printf("{\"entry_id\":%lld,\"verdict\":\"%s\"}\n", id, a->wrong ? "wrong" : "right");
    return CLI_OK;
}

int cmd_cache(cli *c, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(usage, stdout);
            return CLI_OK;
        }
    args a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_OK)
        return rc;
    const char *cmd = argv[1];
    if (strcmp(cmd, "put") == 0)
        return do_put(c, &a);
    if (strcmp(cmd, "lookup") == 0)
        return do_lookup(c, &a);
    if (strcmp(cmd, "invalidate") == 0)
        return do_invalidate(c, &a);
    if (strcmp(cmd, "feedback") == 0)
        return do_feedback(c, &a);
    if (strcmp(cmd, "stats") == 0 || strcmp(cmd, "flush") == 0) {
        if (argc > 2)
            return cli_usage("cache %s: unexpected argument '%s'", cmd, argv[2]);
        mlops_t *h = cli_handle(c);
        if (!h)
            return CLI_ERROR;
        if (strcmp(cmd, "flush") == 0) {
            rc = mlops_cache_flush(h);
            return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "cache flush");
        }
        char *out = NULL;
        if ((rc = mlops_cache_stats(h, &out)) != MLOPS_OK)
            return cli_fail(rc, "cache stats");
        cli_print_free(out);
        return CLI_OK;
    }
    return cli_usage("cache: unknown command '%s' (see 'mlops cache --help')", cmd);
}
