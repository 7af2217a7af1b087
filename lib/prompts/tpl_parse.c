/*
 * The template compiler: one left-to-right pass over the text with an explicit stack
 * of open sections (bounded by MLOPS__PROMPT_MAX_NESTING), so no input can make it
 * recurse. The tag syntax is Mustache's subset that prompts need:
 *   {{name}}  {{name|default}}  {{#name}}..{{/name}}  {{^name}}..{{/name}}
 *   {{> ref}}  {{! comment}}  and \{{ for a literal "{{".
 * Like Mustache, a section, close or comment tag alone on its line takes the line
 * with it, so block templates do not leave blank lines behind.
 */
#include "tpl_ast.h"

#include <stdlib.h>
#include <string.h>

typedef struct parser {
    const char *src;
    size_t n;
    const char *what;
    mlops__tpl *t;
    uint32_t cap;
    /* incremental line/column tracking (positions only move forward) */
    size_t lc_pos;
    uint32_t line, col;
    uint32_t stack[MLOPS__PROMPT_MAX_NESTING];
    int depth;
} parser;

static void advance_to(parser *p, size_t pos)
{
    while (p->lc_pos < pos) {
        const char *nl = memchr(p->src + p->lc_pos, '\n', pos - p->lc_pos);
        if (!nl) {
            p->col += (uint32_t)(pos - p->lc_pos);
            p->lc_pos = pos;
            break;
        }
        p->line++;
        p->col = 1;
        p->lc_pos = (size_t)(nl - p->src) + 1;
    }
}

static int perr(parser *p, int code, uint32_t line, uint32_t col, const char *why, size_t wn,
                const char *why2)
{
    return mlops__error(code, "%s: line %u column %u: %.*s%s", p->what, line, col, (int)wn, why,
                        why2 ? why2 : "");
}

static tpl_node *add_node(parser *p, int kind, size_t at)
{
    if (p->t->n == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 16;
        tpl_node *nodes = realloc(p->t->nodes, cap * sizeof *nodes);
        if (!nodes)
            return NULL;
        p->t->nodes = nodes;
        p->cap = cap;
    }
    advance_to(p, at);
    tpl_node *nd = &p->t->nodes[p->t->n++];
    memset(nd, 0, sizeof *nd);
    nd->kind = (uint8_t)kind;
    nd->line = p->line;
    nd->col = p->col;
    nd->in_section = p->depth > 0;
    return nd;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char *s, size_t *b, size_t *e)
{
    while (*b < *e && is_space(s[*b]))
        (*b)++;
    while (*e > *b && is_space(s[*e - 1]))
        (*e)--;
}

/* A name is "." or dot-separated segments of [A-Za-z0-9_-]. */
static bool name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MLOPS__PROMPT_MAX_VAR)
        return false;
    if (n == 1 && s[0] == '.')
        return true;
    size_t seg = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '.') {
            if (seg == 0)
                return false;
            seg = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-';
        if (!ok)
            return false;
        seg++;
    }
    return seg > 0;
}

static int emit_text(parser *p, size_t b, size_t e)
{
    if (e <= b)
        return MLOPS_OK;
    tpl_node *nd = add_node(p, TPL_TEXT, b);
    if (!nd)
        return mlops__error_oom("template");
    nd->off = (uint32_t)b;
    nd->len = (uint32_t)(e - b);
    return MLOPS_OK;
}

static int bad_name(parser *p, uint32_t line, uint32_t col, size_t b, size_t e)
{
    return mlops__error(MLOPS_EPARSE,
                        "%s: line %u column %u: bad variable name '%.*s' (use letters, digits, "
                        "'_', '-' and '.' between parts, at most %d bytes)",
                        p->what, line, col, (int)(e - b > 64 ? 64 : e - b), p->src + b,
                        MLOPS__PROMPT_MAX_VAR);
}

/* Handles one tag whose inner text is [b, e); `at` is the position of "{{". */
static int tag(parser *p, size_t at, size_t b, size_t e)
{
    advance_to(p, at);
    uint32_t line = p->line, col = p->col;
    trim(p->src, &b, &e);
    if (b == e)
        return perr(p, MLOPS_EPARSE, line, col, "empty tag '{{}}'", 16, NULL);
    char sigil = p->src[b];
    switch (sigil) {
    case '!':
        return MLOPS_OK;
    case '{':
    case '=':
    case '&':
        return mlops__error(MLOPS_EPARSE, "%s: line %u column %u: unsupported tag '{{%c' (write \\{{ for a literal '{{')",
                            p->what, line, col, sigil);
    case '#':
    case '^': {
        size_t nb = b + 1, ne = e;
        trim(p->src, &nb, &ne);
        if (!name_ok(p->src + nb, ne - nb) || (ne - nb == 1 && p->src[nb] == '.'))
            return bad_name(p, line, col, nb, ne);
        if (p->depth >= MLOPS__PROMPT_MAX_NESTING)
            return mlops__error(MLOPS_ELIMIT,
                                "%s: line %u column %u: sections nested deeper than %d",
                                p->what, line, col, MLOPS__PROMPT_MAX_NESTING);
        tpl_node *nd = add_node(p, sigil == '#' ? TPL_SECTION : TPL_INVERTED, at);
        if (!nd)
            return mlops__error_oom("template");
        nd->off = (uint32_t)nb;
        nd->len = (uint32_t)(ne - nb);
        p->stack[p->depth++] = p->t->n - 1;
        return MLOPS_OK;
    }
    case '/': {
        size_t nb = b + 1, ne = e;
        trim(p->src, &nb, &ne);
        if (p->depth == 0)
            return mlops__error(MLOPS_EPARSE,
                                "%s: line %u column %u: '{{/%.*s}}' closes no open section",
                                p->what, line, col, (int)(ne - nb > 64 ? 64 : ne - nb),
                                p->src + nb);
        tpl_node *open = &p->t->nodes[p->stack[p->depth - 1]];
        if (open->len != ne - nb || memcmp(p->src + open->off, p->src + nb, ne - nb) != 0)
            return mlops__error(MLOPS_EPARSE,
                                "%s: line %u column %u: '{{/%.*s}}' does not close '{{%c%.*s}}' "
                                "opened at line %u column %u",
                                p->what, line, col, (int)(ne - nb > 64 ? 64 : ne - nb),
                                p->src + nb, open->kind == TPL_SECTION ? '#' : '^',
                                (int)open->len, p->src + open->off, open->line, open->col);
        open->end = p->t->n;
        p->depth--;
        return MLOPS_OK;
    }
    case '>': {
        size_t nb = b + 1, ne = e;
        trim(p->src, &nb, &ne);
        mlops__prompt_ref ref;
        if (mlops__prompt_ref_parse(p->src + nb, ne - nb, &ref) != MLOPS_OK) {
            char why[300];
            snprintf(why, sizeof why, "%s", mlops__error_text());
            return mlops__error(MLOPS_EPARSE, "%s: line %u column %u: include: %s", p->what,
                                line, col, why);
        }
        tpl_node *nd = add_node(p, TPL_INCLUDE, at);
        if (!nd)
            return mlops__error_oom("template");
        nd->off = (uint32_t)nb;
        nd->len = (uint32_t)(ne - nb);
        return MLOPS_OK;
    }
    default: {
        size_t ne = e, db = e, de = e;
        const char *bar = memchr(p->src + b, '|', e - b);
        bool has_def = bar != NULL;
        if (has_def) {
            ne = (size_t)(bar - p->src);
            db = ne + 1;
            trim(p->src, &db, &de);
        }
        size_t nb = b;
        trim(p->src, &nb, &ne);
        if (!name_ok(p->src + nb, ne - nb))
            return bad_name(p, line, col, nb, ne);
        tpl_node *nd = add_node(p, TPL_VAR, at);
        if (!nd)
            return mlops__error_oom("template");
        nd->off = (uint32_t)nb;
        nd->len = (uint32_t)(ne - nb);
        nd->has_default = has_def;
        nd->def_off = (uint32_t)db;
        nd->def_len = (uint32_t)(de - db);
        return MLOPS_OK;
    }
    }
}

static int parse(parser *p)
{
    const char *s = p->src;
    size_t n = p->n, scan = 0, text_start = 0;
    int rc;
    for (;;) {
        const char *hit = scan < n ? memmem(s + scan, n - scan, "{{", 2) : NULL;
        if (!hit)
            return emit_text(p, text_start, n);
        size_t q = (size_t)(hit - s);
        if (q > 0 && s[q - 1] == '\\') {
            if ((rc = emit_text(p, text_start, q - 1)) != MLOPS_OK)
                return rc;
            text_start = q;
            scan = q + 2;
            continue;
        }
        const char *close = q + 2 < n ? memmem(s + q + 2, n - q - 2, "}}", 2) : NULL;
        if (!close) {
            advance_to(p, q);
            return perr(p, MLOPS_EPARSE, p->line, p->col, "'{{' is never closed by '}}'", 28,
                        NULL);
        }
        size_t ib = q + 2, ie = (size_t)(close - s), tag_end = ie + 2;
        size_t k = ib;
        while (k < ie && is_space(s[k]))
            k++;
        char sigil = k < ie ? s[k] : 0;
        size_t text_end = q, next = tag_end;
        if (sigil == '#' || sigil == '^' || sigil == '/' || sigil == '!') {
            size_t ls = q;
            while (ls > text_start && (s[ls - 1] == ' ' || s[ls - 1] == '\t'))
                ls--;
            bool before = ls == 0 || (ls >= text_start && s[ls - 1] == '\n');
            size_t e = tag_end;
            while (e < n && (s[e] == ' ' || s[e] == '\t'))
                e++;
            bool after = false;
            if (e == n) {
                after = true;
            } else if (s[e] == '\n') {
                after = true;
                e++;
            } else if (s[e] == '\r' && e + 1 < n && s[e + 1] == '\n') {
                after = true;
                e += 2;
            }
            if (before && after && (ls == 0 || ls >= text_start)) {
                text_end = ls;
                next = e;
            }
        }
        if ((rc = emit_text(p, text_start, text_end)) != MLOPS_OK)
            return rc;
        if ((rc = tag(p, q, ib, ie)) != MLOPS_OK)
            return rc;
        text_start = scan = next;
    }
}

/* RFC 3629: well-formed UTF-8 (no overlongs, no surrogates, at most U+10FFFF). */
static size_t utf8_bad_at(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        size_t len;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return i;
        }
        if (i + len > n)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return i;
        i += len;
    }
    return SIZE_MAX;
}

int mlops__tpl_compile(const char *text, size_t n, const char *what, mlops__tpl **out)
{
    *out = NULL;
    if (!what)
        what = "template";
    if (n > MLOPS__PROMPT_MAX_TEMPLATE)
        return mlops__error(MLOPS_ELIMIT, "%s: %zu bytes is over the %u-byte template limit",
                            what, n, MLOPS__PROMPT_MAX_TEMPLATE);
    if (memchr(text, '\0', n))
        return mlops__error(MLOPS_EPARSE, "%s: contains a NUL byte", what);
    size_t bad = utf8_bad_at((const unsigned char *)text, n);
    if (bad != SIZE_MAX)
        return mlops__error(MLOPS_EPARSE, "%s: not valid UTF-8 at byte %zu", what, bad + 1);
    mlops__tpl *t = calloc(1, sizeof *t);
    if (!t)
        return mlops__error_oom("template");
    t->src = mlops__strndup(text, n);
    t->src_len = n;
    t->what = mlops__strdup(what);
    if (!t->src || !t->what) {
        mlops__tpl_free(t);
        return mlops__error_oom("template");
    }
    parser p = {.src = t->src, .n = n, .what = what, .t = t, .line = 1, .col = 1};
    int rc = parse(&p);
    if (rc == MLOPS_OK && p.depth > 0) {
        tpl_node *open = &t->nodes[p.stack[p.depth - 1]];
        rc = mlops__error(MLOPS_EPARSE,
                          "%s: line %u column %u: section '{{%c%.*s}}' is never closed", what,
                          open->line, open->col, open->kind == TPL_SECTION ? '#' : '^',
                          (int)open->len, t->src + open->off);
    }
    if (rc != MLOPS_OK) {
        mlops__tpl_free(t);
        return rc;
    }
    *out = t;
    return MLOPS_OK;
}

void mlops__tpl_free(mlops__tpl *t)
{
    if (!t)
        return;
    free(t->src);
    free(t->nodes);
    free(t->what);
    free(t);
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case TPL_VAR: return "variable";
    case TPL_SECTION: return "section";
    case TPL_INVERTED: return "inverted";
    case TPL_INCLUDE: return "include";
    default: return "text";
    }
}

int mlops__tpl_variables(const mlops__tpl *t, json_t *vars)
{
    json_t *seen = json_object();
    if (!seen)
        return mlops__error_oom("variables");
    /* index what is already listed */
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v) {
        char *key = mlops__sprintf("%s\x1f%s", mlops__json_str(v, "kind", ""),
                                   mlops__json_str(v, "name", ""));
        if (key)
            json_object_set_new(seen, key, json_integer((json_int_t)i));
        free(key);
    }
    int rc = MLOPS_OK;
    for (uint32_t k = 0; k < t->n && rc == MLOPS_OK; k++) {
        const tpl_node *nd = &t->nodes[k];
        if (nd->kind == TPL_TEXT)
            continue;
        if (nd->kind == TPL_VAR && nd->len == 1 && t->src[nd->off] == '.')
            continue;
        bool required = nd->kind == TPL_VAR && !nd->has_default && !nd->in_section;
        char *key = mlops__sprintf("%s\x1f%.*s", kind_name(nd->kind), (int)nd->len,
                                   t->src + nd->off);
        if (!key) {
            rc = mlops__error_oom("variables");
            break;
        }
        json_t *idx = json_object_get(seen, key);
        if (idx) {
            json_t *entry = json_array_get(vars, (size_t)json_integer_value(idx));
            if (required)
                json_object_set_new(entry, "required", json_true());
            free(key);
            continue;
        }
        json_t *entry = json_pack("{s:s%, s:s, s:b, s:i, s:i}", "name", t->src + nd->off,
                                  (size_t)nd->len, "kind", kind_name(nd->kind), "required",
                                  required, "line", (int)nd->line, "column", (int)nd->col);
        if (entry && nd->has_default)
            json_object_set_new(entry, "default",
                                json_stringn(t->src + nd->def_off, nd->def_len));
        if (!entry || json_object_set_new(seen, key, json_integer((json_int_t)json_array_size(vars))) ||
            json_array_append_new(vars, entry))
            rc = mlops__error_oom("variables");
        free(key);
    }
    json_decref(seen);
    return rc;
}

bool mlops__tpl_has_includes(const mlops__tpl *t)
{
    for (uint32_t k = 0; k < t->n; k++)
        if (t->nodes[k].kind == TPL_INCLUDE)
            return true;
    return false;
}

void mlops__tpl_names(const mlops__tpl *t, json_t *names)
{
    for (uint32_t k = 0; k < t->n; k++) {
        const tpl_node *nd = &t->nodes[k];
        if (nd->kind == TPL_TEXT || nd->kind == TPL_INCLUDE)
            continue;
        const char *s = t->src + nd->off;
        const char *dot = memchr(s, '.', nd->len);
        size_t len = dot ? (size_t)(dot - s) : nd->len;
        if (len > 0)
            json_object_setn_new_nocheck(names, s, len, json_true());
    }
}

const char *mlops__tpl_single_var(const mlops__tpl *t, bool *has_default)
{
    int var = -1;
    for (uint32_t k = 0; k < t->n; k++) {
        const tpl_node *nd = &t->nodes[k];
        if (nd->kind == TPL_TEXT) {
            for (uint32_t j = 0; j < nd->len; j++)
                if (!is_space(t->src[nd->off + j]))
                    return NULL;
        } else if (nd->kind == TPL_VAR && var < 0) {
            var = (int)k;
        } else {
            return NULL;
        }
    }
    if (var < 0)
        return NULL;
    const tpl_node *nd = &t->nodes[var];
    if (nd->len == 1 && t->src[nd->off] == '.')
        return NULL;
    /* Terminate the name in place: the source copy is private and the byte after a
     * name is whitespace, '|' or '}' which rendering no longer needs for this node. */
    t->src[nd->off + nd->len] = '\0';
    *has_default = nd->has_default;
    return t->src + nd->off;
}
