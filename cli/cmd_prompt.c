/* mlops prompt push | get | render | variables | label | split | unlabel | list | history |
 * diff | export | import */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: mlops prompt SUBCOMMAND ...\n"
    "\n"
    "  push NAME (--file F | --text T) [--type text|chat] [--message M] [--config JSON]\n"
    "       [--tag k=v ...] [--actor A]           push a version; prints its number\n"
    "  get REF [--key K]                          print the version REF names, as JSON\n"
    "  render REF [--var k=v ...] [--vars JSON] [--key K] [--lenient] [--json]\n"
    "                                             print the rendered text (chat: messages JSON)\n"
    "  variables REF                              print the template's variables as JSON\n"
    "  label NAME VERSION LABEL [--actor A] [--reason R]   point LABEL at VERSION\n"
    "  split NAME LABEL V=W [V=W ...] [--actor A] [--reason R]\n"
    "                                             point LABEL at a weighted split (weights sum to 100)\n"
    "  unlabel NAME LABEL [--actor A] [--reason R] remove a label\n"
    "  list [--prefix P] [--tag k[=v]] [--label L] list prompts as JSON\n"
    "  history NAME                               versions and label moves as JSON\n"
    "  diff NAME V1 V2                            line diff between two versions\n"
    "  export DIR [--name NAME]                   write prompts as files under DIR\n"
    "  import DIR [--actor A]                     read such a tree back (idempotent)\n"
    "\n"
    "REF is NAME (label production, else latest), NAME@LABEL or NAME:VERSION.\n"
    "--file - reads standard input.";

/* Appends s as a JSON string literal. */
static void put_json_str(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t need = *len + strlen(s) * 6 + 3;
    if (need > *cap) {
        while (*cap < need)
            *cap = *cap ? *cap * 2 : 256;
        char *p = realloc(*buf, *cap);
        if (!p) {
            fputs("mlops: out of memory\n", stderr);
            exit(CLI_ERROR);
        }
        *buf = p;
    }
    char *o = *buf + *len;
    *o++ = '"';
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if (*c == '"' || *c == '\\') {
            *o++ = '\\';
            *o++ = (char)*c;
        } else if (*c < 0x20) {
            o += sprintf(o, "\\u%04x", *c);
        } else {
            *o++ = (char)*c;
        }
    }
    *o++ = '"';
    *o = '\0';
    *len = (size_t)(o - *buf);
}

static void put_raw(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 1 > *cap) {
        while (*cap < *len + n + 1)
            *cap = *cap ? *cap * 2 : 256;
        char *p = realloc(*buf, *cap);
        if (!p) {
            fputs("mlops: out of memory\n", stderr);
            exit(CLI_ERROR);
        }
        *buf = p;
    }
    memcpy(*buf + *len, s, n + 1);
    *len += n;
}

/* A JSON object text from "k=v" pairs (values as strings) and an optional JSON object
 * whose keys the pairs override. Returns malloc'd text or NULL on a usage error. */
static char *object_from_pairs(char **pairs, int n, const char *base, const char *what)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    put_raw(&buf, &len, &cap, "{");
    bool first = true;
    if (base) {
        const char *b = base;
        while (isspace((unsigned char)*b))
            b++;
        size_t bl = strlen(b);
        while (bl > 0 && isspace((unsigned char)b[bl - 1]))
            bl--;
        if (bl < 2 || b[0] != '{' || b[bl - 1] != '}') {
            free(buf);
            cli_usage("%s: expected a JSON object", what);
            return NULL;
        }
        char *inner = strndup(b + 1, bl - 2);
        bool empty = true;
        for (char *c = inner; c && *c; c++)
            empty = empty && isspace((unsigned char)*c);
        if (!empty) {
            put_raw(&buf, &len, &cap, inner);
            first = false;
        }
        free(inner);
    }
    for (int i = 0; i < n; i++) {
        char *eq = strchr(pairs[i], '=');
        if (!eq || eq == pairs[i]) {
            free(buf);
            cli_usage("%s: expected KEY=VALUE, got '%s'", what, pairs[i]);
            return NULL;
        }
        *eq = '\0';
        if (!first)
            put_raw(&buf, &len, &cap, ",");
        first = false;
        put_json_str(&buf, &len, &cap, pairs[i]);
        put_raw(&buf, &len, &cap, ":");
        put_json_str(&buf, &len, &cap, eq + 1);
        *eq = '=';
    }
    put_raw(&buf, &len, &cap, "}");
    return buf;
}

/* {"actor": A, "reason": R, "key": K} with only the given members. */
static char *small_options(const char *const *keys, const char *const *vals, int n)
{
    char *buf = NULL;
    size_t len = 0, cap = 0;
    put_raw(&buf, &len, &cap, "{");
    bool first = true;
    for (int i = 0; i < n; i++) {
        if (!vals[i])
            continue;
        if (!first)
            put_raw(&buf, &len, &cap, ",");
        first = false;
        put_json_str(&buf, &len, &cap, keys[i]);
        put_raw(&buf, &len, &cap, ":");
        put_json_str(&buf, &len, &cap, vals[i]);
    }
    put_raw(&buf, &len, &cap, "}");
    return buf;
}

static bool parse_i64(const char *s, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || !end || *end || end == s)
        return false;
    *out = v;
    return true;
}

/* Collects positional arguments and known options; unknown options are usage errors. */
typedef struct opts {
    const char *pos[8];
    int npos;
    char *multi[256];
    int nmulti;
} opts;

typedef struct optspec {
    const char *name;
    const char **value; /* NULL: repeated option collected into opts.multi */
} optspec;

static int parse_args(int argc, char **argv, int first, const optspec *spec, opts *o,
                      bool *flag_lenient, bool *flag_json)
{
    memset(o, 0, sizeof *o);
    int i = first;
    while (i < argc) {
        const char *a = argv[i];
        if (strcmp(a, "--lenient") == 0 && flag_lenient) {
            *flag_lenient = true;
            i++;
            continue;
        }
        if (strcmp(a, "--json") == 0 && flag_json) {
            *flag_json = true;
            i++;
            continue;
        }
        if (a[0] == '-' && a[1] == '-') {
            bool matched = false;
            for (const optspec *s = spec; s && s->name && !matched; s++) {
                const char *v = NULL;
                if (cli_opt(argc, argv, &i, s->name, &v)) {
                    matched = true;
                    if (s->value) {
                        *s->value = v;
                    } else if (o->nmulti < 256) {
                        o->multi[o->nmulti++] = (char *)v;
                    }
                }
            }
            if (!matched)
                return cli_usage("prompt: unknown or incomplete option '%s'", a);
            continue;
        }
        if (o->npos == 8)
            return cli_usage("prompt: too many arguments");
        o->pos[o->npos++] = argv[i++];
    }
    return CLI_OK;
}

static int need_pos(const opts *o, int min, int max, const char *sub)
{
    if (o->npos < min || o->npos > max)
        return cli_usage("prompt %s: wrong number of arguments (see 'mlops prompt --help')", sub);
    return CLI_OK;
}

/* parse_args for the subcommands without flags, then the count of positional arguments. */
static int parse_pos(int argc, char **argv, const optspec *spec, opts *o, int min, int max,
                     const char *sub)
{
    int rc = parse_args(argc, argv, 2, spec, o, NULL, NULL);
    return rc == CLI_OK ? need_pos(o, min, max, sub) : rc;
}

/* A failed library call of `mlops prompt <sub>`. */
static int fail_sub(int st, const char *sub)
{
    char what[32];
    snprintf(what, sizeof what, "prompt %s", sub);
    return cli_fail(st, what);
}

/* Prints the JSON a library call returned, or its error. */
static int print_result(int st, const char *sub, char *out)
{
    if (st != MLOPS_OK)
        return fail_sub(st, sub);
    cli_print_free(out);
    return CLI_OK;
}

/* The calls that take one argument and an options object (get, import). */
typedef int (*one_option_call)(mlops_t *h, const char *arg, const char *options_json,
                               char **out);

/* Runs such a call with at most one option member (`key`, when value is not NULL). */
static int call_and_print(mlops_t *h, one_option_call call, const char *arg, const char *key,
                          const char *value, const char *sub)
{
    char *options = small_options(&key, &value, 1);
    char *out = NULL;
    int st = call(h, arg, options, &out);
    free(options);
    return print_result(st, sub, out);
}

static int do_push(mlops_t *h, int argc, char **argv)
{
    const char *file = NULL, *text = NULL, *type = NULL, *message = NULL, *config = NULL,
               *actor = NULL;
    optspec spec[] = {{"--file", &file}, {"--text", &text}, {"--type", &type},
                      {"--message", &message}, {"--config", &config}, {"--actor", &actor},
                      {"--tag", NULL}, {NULL, NULL}};
    opts o;
    int rc = parse_pos(argc, argv, spec, &o, 1, 1, "push");
    if (rc != CLI_OK)
        return rc;
    if (!!file == !!text)
        return cli_usage("prompt push: give exactly one of --file F or --text T");
    char *content = NULL;
    if (file) {
        FILE *f = strcmp(file, "-") == 0 ? stdin : fopen(file, "rb");
        if (!f) {
            fprintf(stderr, "mlops: %s: %s\n", file, strerror(errno));
            return CLI_ERROR;
        }
        content = cli_read_stream(f);
        if (f != stdin)
            fclose(f);
        if (!content) {
            fprintf(stderr, "mlops: %s: could not read\n", file);
            return CLI_ERROR;
        }
    }
    char *tags = object_from_pairs(o.multi, o.nmulti, NULL, "--tag");
    if (!tags) {
        free(content);
        return CLI_USAGE;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    put_raw(&buf, &len, &cap, "{\"tags\":");
    put_raw(&buf, &len, &cap, tags);
    if (type) {
        put_raw(&buf, &len, &cap, ",\"type\":");
        put_json_str(&buf, &len, &cap, type);
    }
    if (message) {
        put_raw(&buf, &len, &cap, ",\"message\":");
        put_json_str(&buf, &len, &cap, message);
    }
    if (actor) {
        put_raw(&buf, &len, &cap, ",\"actor\":");
        put_json_str(&buf, &len, &cap, actor);
    }
    if (config) {
        put_raw(&buf, &len, &cap, ",\"config\":");
        put_raw(&buf, &len, &cap, config);
    }
    put_raw(&buf, &len, &cap, "}");
    int64_t version = 0;
    int st = mlops_prompt_push(h, o.pos[0], content ? content : text, buf, &version);
    free(content);
    free(tags);
    free(buf);
    if (st != MLOPS_OK)
        return cli_fail(st, "prompt push");
    printf("%" PRId64 "\n", version);
    return CLI_OK;
}

static int do_get(mlops_t *h, int argc, char **argv)
{
    const char *key = NULL;
    optspec spec[] = {{"--key", &key}, {NULL, NULL}};
    opts o;
    int rc = parse_pos(argc, argv, spec, &o, 1, 1, "get");
    if (rc != CLI_OK)
        return rc;
    return call_and_print(h, mlops_prompt_get, o.pos[0], "key", key, "get");
}

/* Finds the value of a top-level string member in the render JSON (no JSON library in
 * the CLI): prints it unescaped. */
static void print_json_string_member(const char *json, const char *member)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", member);
    const char *p = strstr(json, pat);
    if (!p)
        return;
    p += strlen(pat);
    if (*p != '"') { /* an array or object (chat messages): print as is up to the match */
        int depth = 0;
        const char *q = p;
        bool in_str = false;
        for (; *q; q++) {
            if (in_str) {
                if (*q == '\\' && q[1])
                    q++;
                else if (*q == '"')
                    in_str = false;
                continue;
            }
            if (*q == '"')
                in_str = true;
            else if (*q == '[' || *q == '{')
                depth++;
            else if ((*q == ']' || *q == '}') && --depth == 0) {
                q++;
                break;
            }
        }
        fwrite(p, 1, (size_t)(q - p), stdout);
        putchar('\n');
        return;
    }
    for (p++; *p && *p != '"'; p++) {
        if (*p != '\\') {
            putchar(*p);
            continue;
        }
        p++;
        switch (*p) {
        case 'n': putchar('\n'); break;
        case 't': putchar('\t'); break;
        case 'r': putchar('\r'); break;
        case 'b': putchar('\b'); break;
        case 'f': putchar('\f'); break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 1; i <= 4 && p[i]; i++)
                cp = cp * 16 + (unsigned)(isdigit((unsigned char)p[i]) ? p[i] - '0'
                                                                        : (tolower(p[i]) - 'a' + 10));
            p += 4;
            if (cp < 0x80) {
                putchar((int)cp);
            } else if (cp < 0x800) {
                putchar((int)(0xC0 | (cp >> 6)));
                putchar((int)(0x80 | (cp & 0x3F)));
            } else {
                putchar((int)(0xE0 | (cp >> 12)));
                putchar((int)(0x80 | ((cp >> 6) & 0x3F)));
                putchar((int)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default: putchar(*p);
        }
    }
    putchar('\n');
}

static int do_render(mlops_t *h, int argc, char **argv)
{
    const char *vars_json = NULL, *key = NULL;
    bool lenient = false, json = false;
    optspec spec[] = {{"--vars", &vars_json}, {"--key", &key}, {"--var", NULL}, {NULL, NULL}};
    opts o;
    int rc = parse_args(argc, argv, 2, spec, &o, &lenient, &json);
    if (rc == CLI_OK)
        rc = need_pos(&o, 1, 1, "render");
    if (rc != CLI_OK)
        return rc;
    char *vars = object_from_pairs(o.multi, o.nmulti, vars_json, "--vars/--var");
    if (!vars)
        return CLI_USAGE;
    char *options = NULL;
    size_t len = 0, cap = 0;
    put_raw(&options, &len, &cap, lenient ? "{\"strict\":false" : "{\"strict\":true");
    if (key) {
        put_raw(&options, &len, &cap, ",\"key\":");
        put_json_str(&options, &len, &cap, key);
    }
    put_raw(&options, &len, &cap, "}");
    char *out = NULL;
    int st = mlops_prompt_render(h, o.pos[0], vars, options, &out);
    free(vars);
    free(options);
    if (st != MLOPS_OK)
        return cli_fail(st, "prompt render");
    if (json) {
        cli_print_free(out);
        return CLI_OK;
    }
    print_json_string_member(out, strstr(out, "\"type\":\"chat\"") ? "messages" : "text");
    const char *unused = strstr(out, "\"unused\":[");
    if (unused && unused[10] != ']') {
        const char *end = strchr(unused, ']');
        fprintf(stderr, "mlops: note: unused variables: %.*s\n", (int)(end - unused - 10),
                unused + 10);
    }
    mlops_free(out);
    return CLI_OK;
}

static int do_simple_ref(mlops_t *h, int argc, char **argv, const char *sub)
{
    opts o;
    int rc = parse_pos(argc, argv, NULL, &o, 1, 1, sub);
    if (rc != CLI_OK)
        return rc;
    char *out = NULL;
    int st = strcmp(sub, "variables") == 0 ? mlops_prompt_variables(h, o.pos[0], &out)
                                           : mlops_prompt_history(h, o.pos[0], &out);
    return print_result(st, sub, out);
}

static int do_label(mlops_t *h, int argc, char **argv, const char *sub)
{
    const char *actor = NULL, *reason = NULL;
    optspec spec[] = {{"--actor", &actor}, {"--reason", &reason}, {NULL, NULL}};
    opts o;
    int rc = parse_args(argc, argv, 2, spec, &o, NULL, NULL);
    if (rc != CLI_OK)
        return rc;
    const char *k[] = {"actor", "reason"};
    const char *v[] = {actor, reason};
    char *options = small_options(k, v, 2);
    int st = MLOPS_OK;
    if (strcmp(sub, "label") == 0) {
        int64_t version = 0;
        if ((rc = need_pos(&o, 3, 3, sub)) != CLI_OK || !parse_i64(o.pos[1], &version)) {
            free(options);
            return rc != CLI_OK ? rc : cli_usage("prompt label: VERSION must be a number");
        }
        st = mlops_prompt_label_set(h, o.pos[0], version, o.pos[2], options);
    } else if (strcmp(sub, "unlabel") == 0) {
        if ((rc = need_pos(&o, 2, 2, sub)) != CLI_OK) {
            free(options);
            return rc;
        }
        st = mlops_prompt_label_delete(h, o.pos[0], o.pos[1], options);
    } else {
        if ((rc = need_pos(&o, 3, 8, sub)) != CLI_OK) {
            free(options);
            return rc;
        }
        char *buf = NULL;
        size_t len = 0, cap = 0;
        put_raw(&buf, &len, &cap, "{\"split\":[");
        for (int i = 2; i < o.npos; i++) {
            int64_t ver = 0, w = 0;
            char tmp[64];
            snprintf(tmp, sizeof tmp, "%s", o.pos[i]);
            char *eq = strchr(tmp, '=');
            if (eq)
                *eq = '\0';
            if (!eq || !parse_i64(tmp, &ver) || !parse_i64(eq + 1, &w)) {
                free(buf);
                free(options);
                return cli_usage("prompt split: expected VERSION=WEIGHT, got '%s'", o.pos[i]);
            }
            char arm[96];
            snprintf(arm, sizeof arm, "%s{\"version\":%" PRId64 ",\"weight\":%" PRId64 "}",
                     i > 2 ? "," : "", ver, w);
            put_raw(&buf, &len, &cap, arm);
        }
        put_raw(&buf, &len, &cap, "]}");
        st = mlops_prompt_label_split(h, o.pos[0], o.pos[1], buf, options);
        free(buf);
    }
    free(options);
    return st != MLOPS_OK ? fail_sub(st, sub) : CLI_OK;
}

static int do_list(mlops_t *h, int argc, char **argv)
{
    const char *prefix = NULL, *tag = NULL, *label = NULL;
    optspec spec[] = {{"--prefix", &prefix}, {"--tag", &tag}, {"--label", &label}, {NULL, NULL}};
    opts o;
    int rc = parse_pos(argc, argv, spec, &o, 0, 0, "list");
    if (rc != CLI_OK)
        return rc;
    const char *k[] = {"prefix", "tag", "label"};
    const char *v[] = {prefix, tag, label};
    char *filter = small_options(k, v, 3);
    char *out = NULL;
    int st = mlops_prompt_list(h, filter, &out);
    free(filter);
    return print_result(st, "list", out);
}

static int do_diff(mlops_t *h, int argc, char **argv)
{
    opts o;
    int rc = parse_pos(argc, argv, NULL, &o, 3, 3, "diff");
    if (rc != CLI_OK)
        return rc;
    int64_t v1 = 0, v2 = 0;
    if (!parse_i64(o.pos[1], &v1) || !parse_i64(o.pos[2], &v2))
        return cli_usage("prompt diff: V1 and V2 must be numbers");
    char *out = NULL;
    int st = mlops_prompt_diff(h, o.pos[0], v1, v2, &out);
    if (st != MLOPS_OK)
        return cli_fail(st, "prompt diff");
    fputs(out, stdout);
    mlops_free(out);
    return CLI_OK;
}

static int do_files(mlops_t *h, int argc, char **argv, bool export)
{
    const char *name = NULL, *actor = NULL;
    optspec exp_spec[] = {{"--name", &name}, {NULL, NULL}};
    optspec imp_spec[] = {{"--actor", &actor}, {NULL, NULL}};
    opts o;
    int rc = parse_pos(argc, argv, export ? exp_spec : imp_spec, &o, 1, 1,
                       export ? "export" : "import");
    if (rc != CLI_OK)
        return rc;
    if (export) {
        int st = mlops_prompt_export(h, o.pos[0], name);
        if (st != MLOPS_OK)
            return cli_fail(st, "prompt export");
        printf("exported to %s\n", o.pos[0]);
        return CLI_OK;
    }
    return call_and_print(h, mlops_prompt_import, o.pos[0], "actor", actor, "import");
}

int cmd_prompt(cli *c, int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "%s\n", usage_text);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        puts(usage_text);
        return CLI_OK;
    }
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            puts(usage_text);
            return CLI_OK;
        }
    const char *sub = argv[1];
    static const char *const known[] = {"push", "get", "render", "variables", "label", "split",
                                        "unlabel", "list", "history", "diff", "export", "import"};
    bool ok = false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        ok = ok || strcmp(sub, known[i]) == 0;
    if (!ok)
        return cli_usage("prompt: unknown subcommand '%s' (see 'mlops prompt --help')", sub);
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    if (strcmp(sub, "push") == 0)
        return do_push(h, argc, argv);
    if (strcmp(sub, "get") == 0)
        return do_get(h, argc, argv);
    if (strcmp(sub, "render") == 0)
        return do_render(h, argc, argv);
    if (strcmp(sub, "variables") == 0 || strcmp(sub, "history") == 0)
        return do_simple_ref(h, argc, argv, sub);
    if (strcmp(sub, "label") == 0 || strcmp(sub, "split") == 0 || strcmp(sub, "unlabel") == 0)
        return do_label(h, argc, argv, sub);
    if (strcmp(sub, "list") == 0)
        return do_list(h, argc, argv);
    if (strcmp(sub, "diff") == 0)
        return do_diff(h, argc, argv);
    return do_files(h, argc, argv, strcmp(sub, "export") == 0);
}
