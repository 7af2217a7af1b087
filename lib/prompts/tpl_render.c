/*
 * The template renderer. Values are looked up through a context stack (the variables,
 * then each enclosing section's object or array element), Mustache style; a dotted
 * name walks into objects. Recursion follows section nesting (bounded at compile time)
 * and includes (bounded by MLOPS__PROMPT_MAX_INCLUDE_DEPTH), so its depth is bounded
 * whatever the input.
 *
 * Work is bounded twice: the output by max_bytes and the node visits by four per
 * output byte allowed, since loops over empty bodies produce nothing.
 *
 * Truthiness for sections: missing, null, false, "" and [] are false; an array repeats
 * the body once per element; an object becomes the innermost context.
 */
#include "tpl_ast.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define CTX_MAX ((MLOPS__PROMPT_MAX_NESTING + 1) * (MLOPS__PROMPT_MAX_INCLUDE_DEPTH + 1) + 1)

typedef struct rstate {
    const mlops__tpl_render_opts *o;
    mlops__buf *out;
    size_t max;
    const json_t *ctx[CTX_MAX];
    int nctx;
    const char *chain[MLOPS__PROMPT_MAX_INCLUDE_DEPTH + 1];
    int nchain;
    uint64_t steps, max_steps; /* nested empty loops produce no output but take time */
} rstate;

static const json_t *lookup(const rstate *rs, const char *s, size_t n)
{
    if (n == 1 && s[0] == '.')
        return rs->nctx > 0 ? rs->ctx[rs->nctx - 1] : NULL;
    const char *dot = memchr(s, '.', n);
    size_t seg = dot ? (size_t)(dot - s) : n;
    const json_t *v = NULL;
    for (int i = rs->nctx - 1; i >= 0 && !v; i--)
        if (json_is_object(rs->ctx[i]))
            v = json_object_getn(rs->ctx[i], s, seg);
    while (v && dot) {
        s = dot + 1;
        n -= seg + 1;
        dot = memchr(s, '.', n);
        seg = dot ? (size_t)(dot - s) : n;
        v = json_is_object(v) ? json_object_getn(v, s, seg) : NULL;
    }
    return v;
}

static bool truthy(const json_t *v)
{
    if (!v || json_is_null(v) || json_is_false(v))
        return false;
    if (json_is_string(v))
        return json_string_length(v) > 0;
    if (json_is_array(v))
        return json_array_size(v) > 0;
    return true;
}

static int check_size(rstate *rs)
{
    if (rs->out->failed)
        return mlops__error_oom("rendered text");
    if (rs->out->len > rs->max)
        return mlops__error(MLOPS_ELIMIT, "%s: rendered text exceeds %zu bytes", rs->o->id,
                            rs->max);
    return MLOPS_OK;
}

static void put_value(mlops__buf *b, const json_t *v)
{
    char num[64];
    switch (json_typeof(v)) {
    case JSON_STRING:
        mlops__buf_append(b, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        mlops__buf_puts(b, num);
        break;
    case JSON_TRUE: mlops__buf_puts(b, "true"); break;
    case JSON_FALSE: mlops__buf_puts(b, "false"); break;
    case JSON_NULL: break;
    default: {
        char *text = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
        if (text)
            mlops__buf_puts(b, text);
        else
            b->failed = true;
        free(text);
    }
    }
}

static int render_nodes(rstate *rs, const mlops__tpl *t, uint32_t begin, uint32_t end);

static int render_include(rstate *rs, const mlops__tpl *t, const tpl_node *nd)
{
    const mlops__tpl_includer *inc = rs->o->includer;
    if (!inc)
        return mlops__error(MLOPS_EUNSUPPORTED, "%s: line %u column %u: includes need a registry",
                            t->what, nd->line, nd->col);
    if (rs->nchain > MLOPS__PROMPT_MAX_INCLUDE_DEPTH)
        return mlops__error(MLOPS_ELIMIT, "%s: line %u column %u: includes nested deeper than %d",
                            t->what, nd->line, nd->col, MLOPS__PROMPT_MAX_INCLUDE_DEPTH);
    const mlops__tpl *sub = NULL;
    char *id = NULL;
    void *hold = NULL;
    int rc = inc->resolve(inc->user, t->src + nd->off, nd->len, &sub, &id, &hold);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "%s: line %u column %u: include", t->what, nd->line,
                                 nd->col);
    for (int i = 0; i < rs->nchain; i++) {
        if (strcmp(rs->chain[i], id) == 0) {
            mlops__buf chain;
            mlops__buf_init(&chain);
            for (int k = i; k < rs->nchain; k++)
                mlops__buf_printf(&chain, "%s -> ", rs->chain[k]);
            mlops__buf_puts(&chain, id);
            rc = mlops__error(MLOPS_EINVAL, "include cycle: %s",
                              chain.data ? chain.data : id);
            mlops__buf_free(&chain);
            break;
        }
    }
    if (rc == MLOPS_OK) {
        if (rs->o->names)
            mlops__tpl_names(sub, rs->o->names);
        rs->chain[rs->nchain++] = id;
        rc = render_nodes(rs, sub, 0, sub->n);
        rs->nchain--;
    }
    if (inc->release)
        inc->release(inc->user, hold);
    free(id);
    return rc;
}

static int render_section(rstate *rs, const mlops__tpl *t, const tpl_node *nd, uint32_t body)
{
    const json_t *v = lookup(rs, t->src + nd->off, nd->len);
    if (nd->kind == TPL_INVERTED)
        return truthy(v) ? MLOPS_OK : render_nodes(rs, t, body, nd->end);
    if (!truthy(v))
        return MLOPS_OK;
    if (rs->nctx >= CTX_MAX)
        return mlops__error(MLOPS_ELIMIT, "%s: sections nested too deeply", t->what);
    int rc = MLOPS_OK;
    if (json_is_array(v)) {
        size_t i;
        const json_t *el;
        json_array_foreach(v, i, el) {
            rs->ctx[rs->nctx++] = el;
            rc = render_nodes(rs, t, body, nd->end);
            rs->nctx--;
            if (rc != MLOPS_OK)
                break;
        }
        return rc;
    }
    rs->ctx[rs->nctx++] = v;
    rc = render_nodes(rs, t, body, nd->end);
    rs->nctx--;
    return rc;
}

static int render_nodes(rstate *rs, const mlops__tpl *t, uint32_t begin, uint32_t end)
{
    int rc = MLOPS_OK;
    uint32_t i = begin;
    while (i < end && rc == MLOPS_OK) {
        const tpl_node *nd = &t->nodes[i];
        if (++rs->steps > rs->max_steps)
            return mlops__error(MLOPS_ELIMIT, "%s: rendering takes more than %llu steps",
                                rs->o->id ? rs->o->id : t->what,
                                (unsigned long long)rs->max_steps);
        switch (nd->kind) {
        case TPL_TEXT:
            mlops__buf_append(rs->out, t->src + nd->off, nd->len);
            i++;
            break;
        case TPL_VAR: {
            const json_t *v = lookup(rs, t->src + nd->off, nd->len);
            if (v)
                put_value(rs->out, v);
            else if (nd->has_default)
                mlops__buf_append(rs->out, t->src + nd->def_off, nd->def_len);
            else if (rs->o->strict)
                rc = mlops__error(MLOPS_EINVAL, "%s: line %u column %u: missing variable '%.*s'",
                                  t->what, nd->line, nd->col, (int)nd->len, t->src + nd->off);
            i++;
            break;
        }
        case TPL_SECTION:
        case TPL_INVERTED:
            rc = render_section(rs, t, nd, i + 1);
            i = nd->end;
            break;
        case TPL_INCLUDE:
            rc = render_include(rs, t, nd);
            i++;
            break;
        default:
            rc = mlops__error(MLOPS_EINTERNAL, "%s: bad template node", t->what);
        }
        if (rc == MLOPS_OK)
            rc = check_size(rs);
    }
    return rc;
}

int mlops__tpl_render(const mlops__tpl *t, const json_t *vars, const mlops__tpl_render_opts *o,
                      mlops__buf *out)
{
    rstate rs;
    rs.o = o;
    rs.out = out;
    rs.max = o->max_bytes ? o->max_bytes : MLOPS__PROMPT_DEFAULT_MAX_RENDER;
    rs.nctx = 0;
    rs.nchain = 0;
    rs.steps = 0;
    rs.max_steps = (uint64_t)rs.max * 4 + 1024;
    if (vars)
        rs.ctx[rs.nctx++] = vars;
    rs.chain[rs.nchain++] = o->id ? o->id : t->what;
    /* an empty result is still a string */
    mlops__buf_reserve(out, 1);
    if (out->data)
        out->data[out->len] = '\0';
    return render_nodes(&rs, t, 0, t->n);
}
