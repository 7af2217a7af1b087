/*
 * The search filter: a small recursive-descent parser that compiles text such as
 *   name LIKE 'fraud%' AND (tags.team = 'risk' OR metrics.auc >= 0.9) AND version IN (1, 3)
 * into an SQL condition with ?N parameters. Values are always bound parameters; field
 * names come from a whitelist, and the key paths of metrics/params/tags are checked
 * ([A-Za-z0-9_-] segments) and bound as JSON paths too.
 *
 *   expr    := and ("OR" and)*
 *   and     := not ("AND" not)*
 *   not     := "NOT" not | "(" expr ")" | cmp
 *   cmp     := field op value | field ["NOT"] "LIKE" string | field ["NOT"] "IN" list
 *            | field "IS" ["NOT"] "NULL"
 *   op      := = == != <> < <= > >=
 *   value   := 'text' ('' escapes a quote) | number
 */
#include "internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FILTER_MAX_LEN 4096
#define FILTER_MAX_DEPTH 32
#define FILTER_MAX_PARAMS 256

enum tok_kind { T_END, T_IDENT, T_STRING, T_NUMBER, T_OP, T_LPAREN, T_RPAREN, T_COMMA };

typedef struct tok {
    enum tok_kind kind;
    const char *start;
    size_t len;
    int col; /* 1-based */
} tok;

typedef struct parser {
    const char *text;
    const char *p;
    tok cur;
    mlops__buf sql;
    mlops__filter *f;
    size_t cap;
    int depth;
} parser;

static int perr(parser *ps, int col, const char *what)
{
    return mlops__error(MLOPS_EPARSE, "filter: %s at column %d", what, col);
}

static int next(parser *ps)
{
    const char *p = ps->p;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    tok t = {T_END, p, 0, (int)(p - ps->text) + 1};
    unsigned char c = (unsigned char)*p;
    if (!c) {
        ps->cur = t;
        ps->p = p;
        return MLOPS_OK;
    }
    if (isalpha(c) || c == '_') {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '_' || *q == '.' || *q == '-')
            q++;
        t.kind = T_IDENT;
        t.len = (size_t)(q - p);
    } else if (isdigit(c) || ((c == '-' || c == '+' || c == '.') &&
                              (isdigit((unsigned char)p[1]) || p[1] == '.'))) {
        char *end = NULL;
        strtod(p, &end);
        if (end == p)
            return perr(ps, t.col, "malformed number");
        t.kind = T_NUMBER;
        t.len = (size_t)(end - p);
    } else if (c == '\'') {
        const char *q = p + 1;
        for (;;) {
            if (!*q)
                return perr(ps, t.col, "unterminated string");
            if (*q == '\'' && q[1] == '\'') {
                q += 2;
                continue;
            }
            if (*q == '\'')
                break;
            q++;
        }
        t.kind = T_STRING;
        t.len = (size_t)(q + 1 - p);
    } else if (c == '(' || c == ')' || c == ',') {
        t.kind = c == '(' ? T_LPAREN : c == ')' ? T_RPAREN : T_COMMA;
        t.len = 1;
    } else if (strchr("=!<>", (int)c)) {
        t.kind = T_OP;
        t.len = (p[1] == '=' || (c == '<' && p[1] == '>')) ? 2 : 1;
        if (c == '!' && t.len == 1)
            return perr(ps, t.col, "'!' must be followed by '='");
    } else {
        char msg[48];
        snprintf(msg, sizeof msg, "unexpected character '%c'", isprint(c) ? (int)c : '?');
        return perr(ps, t.col, msg);
    }
    ps->p = p + t.len;
    ps->cur = t;
    return MLOPS_OK;
}

static bool is_kw(const tok *t, const char *kw)
{
    return t->kind == T_IDENT && strlen(kw) == t->len && strncasecmp(t->start, kw, t->len) == 0;
}

static mlops__filter_param *add_param(parser *ps, int col, int *idx)
{
    if (ps->f->nparams >= FILTER_MAX_PARAMS) {
        perr(ps, col, "too many values (at most 256)");
        return NULL;
    }
    if (ps->f->nparams == ps->cap) {
        size_t cap = ps->cap ? ps->cap * 2 : 8;
        mlops__filter_param *np = realloc(ps->f->params, cap * sizeof *np);
        if (!np) {
            mlops__error_oom("filter");
            return NULL;
        }
        ps->f->params = np;
        ps->cap = cap;
    }
    mlops__filter_param *p = &ps->f->params[ps->f->nparams++];
    memset(p, 0, sizeof *p);
    *idx = (int)ps->f->nparams;
    return p;
}

static int bind_text(parser *ps, int col, char *text, int *idx)
{
    mlops__filter_param *p = add_param(ps, col, idx);
    if (!p) {
        free(text);
        return ps->f->nparams >= FILTER_MAX_PARAMS ? MLOPS_EPARSE : MLOPS_ENOMEM;
    }
    p->type = SQLITE_TEXT;
    p->text = text;
    return MLOPS_OK;
}

/* The value token (string or number) as a bound parameter; writes ?N into the SQL. */
static int value(parser *ps, bool want_string)
{
    tok t = ps->cur;
    int idx, rc;
    if (t.kind == T_STRING) {
        char *s = malloc(t.len);
        if (!s)
            return mlops__error_oom("filter");
        size_t n = 0;
        for (size_t i = 1; i + 1 < t.len; i++) {
            s[n++] = t.start[i];
            if (t.start[i] == '\'')
                i++;
        }
        s[n] = '\0';
        if ((rc = bind_text(ps, t.col, s, &idx)) != MLOPS_OK)
            return rc;
    } else if (t.kind == T_NUMBER && !want_string) {
        char tmp[64];
        if (t.len >= sizeof tmp)
            return perr(ps, t.col, "number too long");
        memcpy(tmp, t.start, t.len);
        tmp[t.len] = '\0';
        mlops__filter_param *p = add_param(ps, t.col, &idx);
        if (!p)
            return ps->f->nparams >= FILTER_MAX_PARAMS ? MLOPS_EPARSE : MLOPS_ENOMEM;
        char *end;
        long long ll = strtoll(tmp, &end, 10);
        if (*end == '\0') {
            p->type = SQLITE_INTEGER;
            p->i = ll;
        } else {
            p->type = SQLITE_FLOAT;
            p->d = strtod(tmp, NULL);
            if (!isfinite(p->d))
                return perr(ps, t.col, "number out of range");
        }
    } else {
        return perr(ps, t.col, want_string ? "expected a quoted string"
                                           : "expected a value (a quoted string or a number)");
    }
    mlops__buf_printf(&ps->sql, "?%d", idx);
    return next(ps);
}

static const struct {
    const char *name;
    const char *sql;
} plain_fields[] = {
    {"name", "m.name"},
    {"version", "v.version"},
    {"uri", "v.uri"},
    {"hash", "v.hash"},
    {"size", "v.size"},
    {"format", "v.format"},
    {"status", "v.status"},
    {"description", "v.description"},
    {"source_run", "v.source_run"},
    {"dataset_hash", "v.dataset_hash"},
    {"parent_version", "v.parent_version"},
    {"created_ms", "v.created_ms"},
};

/* Writes the SQL expression of a field; *alias_field set for `alias`. */
static int field(parser *ps, bool *alias_field)
{
    tok t = ps->cur;
    *alias_field = false;
    if (t.kind != T_IDENT)
        return perr(ps, t.col, "expected a field name");
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(plain_fields); i++) {
        if (strlen(plain_fields[i].name) == t.len &&
            strncmp(plain_fields[i].name, t.start, t.len) == 0) {
            mlops__buf_puts(&ps->sql, plain_fields[i].sql);
            return next(ps);
        }
    }
    if (t.len == 5 && strncmp(t.start, "alias", 5) == 0) {
        *alias_field = true;
        return next(ps);
    }
    static const char *const json_cols[] = {"metrics", "params", "tags"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(json_cols[i]);
        if (t.len > n + 1 && strncmp(t.start, json_cols[i], n) == 0 && t.start[n] == '.') {
            /* Path: up to two checked segments, bound as '$."a"."b"'. */
            mlops__buf path;
            mlops__buf_init(&path);
            mlops__buf_putc(&path, '$');
            const char *seg = t.start + n + 1, *end = t.start + t.len;
            int segs = 0;
            while (seg <= end) {
                const char *dot = memchr(seg, '.', (size_t)(end - seg));
                const char *se = dot ? dot : end;
                if (!mm_key_ok(seg, (size_t)(se - seg)) || ++segs > 2) {
                    mlops__buf_free(&path);
                    return perr(ps, t.col + (int)(seg - t.start),
                                "bad key (use letters, digits, '_' or '-'; at most two levels)");
                }
                mlops__buf_printf(&path, ".\"%.*s\"", (int)(se - seg), seg);
                seg = se + 1;
                if (!dot)
                    break;
            }
            if (path.failed) {
                mlops__buf_free(&path);
                return mlops__error_oom("filter");
            }
            int idx, rc = bind_text(ps, t.col, mlops__buf_take(&path), &idx);
            if (rc != MLOPS_OK)
                return rc;
            mlops__buf_printf(&ps->sql, "json_extract(v.%s, ?%d)", json_cols[i], idx);
            return next(ps);
        }
    }
    char msg[256];
    snprintf(msg, sizeof msg,
             "unknown field '%.*s' (name, version, uri, hash, size, format, status, "
             "description, source_run, dataset_hash, parent_version, created_ms, alias, "
             "metrics.K, params.K, tags.K)", (int)(t.len > 40 ? 40 : t.len), t.start);
    return perr(ps, t.col, msg);
}

static int list(parser *ps)
{
    if (ps->cur.kind != T_LPAREN)
        return perr(ps, ps->cur.col, "expected '(' after IN");
    mlops__buf_putc(&ps->sql, '(');
    int rc = next(ps);
    for (bool first = true; rc == MLOPS_OK; first = false) {
        if (!first)
            mlops__buf_puts(&ps->sql, ", ");
        if ((rc = value(ps, false)) != MLOPS_OK)
            return rc;
        if (ps->cur.kind == T_RPAREN)
            break;
        if (ps->cur.kind != T_COMMA)
            return perr(ps, ps->cur.col, "expected ',' or ')' in the IN list");
        rc = next(ps);
    }
    if (rc != MLOPS_OK)
        return rc;
    mlops__buf_putc(&ps->sql, ')');
    return next(ps);
}

static int comparison(parser *ps)
{
    bool alias_field;
    int rc;
    if (ps->cur.kind == T_IDENT &&
        (is_kw(&ps->cur, "AND") || is_kw(&ps->cur, "OR") || is_kw(&ps->cur, "IN") ||
         is_kw(&ps->cur, "LIKE") || is_kw(&ps->cur, "IS")))
        return perr(ps, ps->cur.col, "expected a field name, got a keyword");
    if (ps->cur.kind == T_IDENT && ps->cur.len == 5 && strncmp(ps->cur.start, "alias", 5) == 0)
        mlops__buf_puts(&ps->sql, "EXISTS(SELECT 1 FROM model_aliases fa WHERE"
                                  " fa.model_id=v.model_id AND fa.version=v.version AND fa.alias");
    if ((rc = field(ps, &alias_field)) != MLOPS_OK)
        return rc;
    tok t = ps->cur;
    bool negate = false;
    if (is_kw(&t, "NOT")) {
        negate = true;
        if ((rc = next(ps)) != MLOPS_OK)
            return rc;
        t = ps->cur;
        if (!is_kw(&t, "LIKE") && !is_kw(&t, "IN"))
            return perr(ps, t.col, "expected LIKE or IN after NOT");
    }
    if (is_kw(&t, "LIKE")) {
        mlops__buf_puts(&ps->sql, negate ? " NOT LIKE " : " LIKE ");
        if ((rc = next(ps)) != MLOPS_OK || (rc = value(ps, true)) != MLOPS_OK)
            return rc;
    } else if (is_kw(&t, "IN")) {
        mlops__buf_puts(&ps->sql, negate ? " NOT IN " : " IN ");
        if ((rc = next(ps)) != MLOPS_OK || (rc = list(ps)) != MLOPS_OK)
            return rc;
    } else if (is_kw(&t, "IS")) {
        if (alias_field)
            return perr(ps, t.col, "alias supports =, != and IN");
        if ((rc = next(ps)) != MLOPS_OK)
            return rc;
        bool not_null = false;
        if (is_kw(&ps->cur, "NOT")) {
            not_null = true;
            if ((rc = next(ps)) != MLOPS_OK)
                return rc;
        }
        if (!is_kw(&ps->cur, "NULL"))
            return perr(ps, ps->cur.col, "expected NULL after IS");
        mlops__buf_puts(&ps->sql, not_null ? " IS NOT NULL" : " IS NULL");
        if ((rc = next(ps)) != MLOPS_OK)
            return rc;
    } else if (t.kind == T_OP) {
        char op[3] = {0};
        memcpy(op, t.start, t.len);
        const char *sqlop = strcmp(op, "==") == 0 ? "=" : strcmp(op, "!=") == 0 ? "<>" : op;
        if (alias_field && strcmp(sqlop, "=") != 0 && strcmp(sqlop, "<>") != 0)
            return perr(ps, t.col, "alias supports =, != and IN");
        mlops__buf_printf(&ps->sql, " %s ", sqlop);
        if ((rc = next(ps)) != MLOPS_OK || (rc = value(ps, false)) != MLOPS_OK)
            return rc;
    } else {
        return perr(ps, t.col, "expected an operator (=, !=, <, <=, >, >=, LIKE, IN, IS)");
    }
    if (alias_field)
        mlops__buf_putc(&ps->sql, ')');
    return MLOPS_OK;
}

static int expr(parser *ps);

static int not_expr(parser *ps)
{
    if (++ps->depth > FILTER_MAX_DEPTH)
        return perr(ps, ps->cur.col, "nested too deeply");
    int rc;
    if (is_kw(&ps->cur, "NOT")) {
        mlops__buf_puts(&ps->sql, "NOT ");
        if ((rc = next(ps)) == MLOPS_OK)
            rc = not_expr(ps);
    } else if (ps->cur.kind == T_LPAREN) {
        mlops__buf_putc(&ps->sql, '(');
        if ((rc = next(ps)) == MLOPS_OK && (rc = expr(ps)) == MLOPS_OK) {
            if (ps->cur.kind != T_RPAREN)
                return perr(ps, ps->cur.col, "expected ')'");
            mlops__buf_putc(&ps->sql, ')');
            rc = next(ps);
        }
    } else {
        rc = comparison(ps);
    }
    ps->depth--;
    return rc;
}

static int and_expr(parser *ps)
{
    int rc = not_expr(ps);
    while (rc == MLOPS_OK && is_kw(&ps->cur, "AND")) {
        mlops__buf_puts(&ps->sql, " AND ");
        if ((rc = next(ps)) == MLOPS_OK)
            rc = not_expr(ps);
    }
    return rc;
}

static int expr(parser *ps)
{
    mlops__buf_putc(&ps->sql, '(');
    int rc = and_expr(ps);
    while (rc == MLOPS_OK && is_kw(&ps->cur, "OR")) {
        mlops__buf_puts(&ps->sql, " OR ");
        if ((rc = next(ps)) == MLOPS_OK)
            rc = and_expr(ps);
    }
    mlops__buf_putc(&ps->sql, ')');
    return rc;
}

void mlops__filter_free(mlops__filter *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->nparams; i++)
        free(f->params[i].text);
    free(f->params);
    free(f->sql);
    free(f);
}

int mlops__filter_compile(const char *text, mlops__filter **out)
{
    *out = NULL;
    if (!text)
        return mlops__error(MLOPS_EINVAL, "filter: NULL");
    if (strlen(text) > FILTER_MAX_LEN)
        return mlops__error(MLOPS_ELIMIT, "filter: longer than %d bytes", FILTER_MAX_LEN);
    parser ps = {text, text, {0}, {0}, NULL, 0, 0};
    mlops__buf_init(&ps.sql);
    ps.f = calloc(1, sizeof *ps.f);
    if (!ps.f)
        return mlops__error_oom("filter");
    int rc = next(&ps);
    if (rc == MLOPS_OK && ps.cur.kind == T_END)
        rc = perr(&ps, 1, "empty filter");
    if (rc == MLOPS_OK)
        rc = expr(&ps);
    if (rc == MLOPS_OK && ps.cur.kind != T_END)
        rc = perr(&ps, ps.cur.col, "expected AND, OR or the end");
    if (rc == MLOPS_OK && ps.sql.failed)
        rc = mlops__error_oom("filter");
    if (rc != MLOPS_OK) {
        mlops__buf_free(&ps.sql);
        mlops__filter_free(ps.f);
        return rc;
    }
    ps.f->sql = mlops__buf_take(&ps.sql);
    *out = ps.f;
    return MLOPS_OK;
}
