/*
 * A small linear-time regular expression matcher for routing rules: the pattern is
 * compiled to a Thompson NFA program and searched by simulating all threads at once
 * (Thompson 1968; Cox, "Regular Expression Matching Can Be Simple And Fast", 2007), so
 * the time is O(text length x program size) whatever the pattern; there is no
 * backtracking and no exponential blow-up at compile time (program size is capped).
 *
 * The subset (byte-oriented; UTF-8 text is matched byte by byte):
 *   literals; "." (any byte but newline); [abc], [a-z], [^...] with \d \w \s inside;
 *   ^ and $ (start and end of the text); ( ) and (?: ) groups (no captures);
 *   alternation |; quantifiers * + ? {m} {m,} {m,n} (m, n <= 100);
 *   escapes \d \D \w \W \s \S \b \B \n \t \r and any escaped punctuation.
 * Case-insensitive matching folds ASCII letters. Matching is a search (unanchored).
 */
#include "route.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PROG 4000
#define MAX_DEPTH 64
#define MAX_COUNT 100

enum { I_CLASS, I_SPLIT, I_JMP, I_BOL, I_EOL, I_WORDB, I_NWORDB, I_MATCH };

typedef struct inst {
    unsigned char op;
    int x, y; /* jump targets, or the class index in x */
} inst;

struct mlops__route_regex {
    inst *prog;
    int n;
    uint8_t (*classes)[32];
    int nclasses;
};

/* ------------------------------------------------------------------ AST ---------- */

enum { N_CLASS, N_BOL, N_EOL, N_WORDB, N_NWORDB, N_CAT, N_ALT, N_REP, N_EMPTY };

typedef struct node {
    int kind;
    uint8_t set[32];           /* N_CLASS */
    struct node *a, *b;        /* CAT, ALT: children; REP: a */
    int min, max;              /* REP: max -1 = unbounded */
} node;

typedef struct parser {
    const char *p, *end;
    bool icase;
    int depth;
    const char *err;
} parser;

static node *mk(int kind)
{
    node *n = calloc(1, sizeof *n);
    if (n)
        n->kind = kind;
    return n;
}

static void node_free(node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    free(n);
}

static void set_add(uint8_t *set, int c, bool icase)
{
    set[c >> 3] |= (uint8_t)(1u << (c & 7));
    if (icase && isalpha(c)) {
        int o = islower(c) ? toupper(c) : tolower(c);
        set[o >> 3] |= (uint8_t)(1u << (o & 7));
    }
}

static bool is_word(int c)
{
    return isalnum(c) || c == '_';
}

/* \d \w \s and their negations into a set; returns false when `e` is not one. */
static bool class_escape(int e, uint8_t *set)
{
    int lower = tolower(e);
    if (lower != 'd' && lower != 'w' && lower != 's')
        return false;
    for (int c = 0; c < 256; c++) {
        bool in = lower == 'd' ? isdigit(c) : lower == 'w' ? is_word(c) : (c == ' ' || (c >= 9 && c <= 13));
        if (in != (e != lower))
            set[c >> 3] |= (uint8_t)(1u << (c & 7));
    }
    return true;
}

static int escape_char(int e)
{
    return e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e;
}

static node *parse_alt(parser *ps);

static node *parse_class(parser *ps)
{
    node *n = mk(N_CLASS);
    if (!n)
        return NULL;
    bool neg = ps->p < ps->end && *ps->p == '^';
    if (neg)
        ps->p++;
    bool first = true;
    while (ps->p < ps->end && (*ps->p != ']' || first)) {
        first = false;
        int c = (unsigned char)*ps->p++;
        if (c == '\\') {
            if (ps->p >= ps->end)
                break;
            int e = (unsigned char)*ps->p++;
            if (class_escape(e, n->set))
                continue;
            c = escape_char(e);
        }
        if (ps->p + 1 < ps->end && *ps->p == '-' && ps->p[1] != ']') {
            int hi = (unsigned char)ps->p[1];
            ps->p += 2;
            if (hi == '\\' && ps->p < ps->end)
                hi = escape_char((unsigned char)*ps->p++);
            if (hi < c) {
                ps->err = "character range out of order";
                node_free(n);
                return NULL;
            }
            for (int x = c; x <= hi; x++)
                set_add(n->set, x, ps->icase);
        } else {
            set_add(n->set, c, ps->icase);
        }
    }
    if (ps->p >= ps->end) {
        ps->err = "missing ]";
        node_free(n);
        return NULL;
    }
    ps->p++;
    if (neg)
        for (int i = 0; i < 32; i++)
            n->set[i] = (uint8_t)~n->set[i];
    return n;
}

static node *parse_atom(parser *ps)
{
    int c = (unsigned char)*ps->p++;
    node *n;
    switch (c) {
    case '(':
        if (++ps->depth > MAX_DEPTH) {
            ps->err = "groups nested too deeply";
            return NULL;
        }
        if (ps->end - ps->p >= 2 && ps->p[0] == '?' && ps->p[1] == ':')
            ps->p += 2;
        n = parse_alt(ps);
        ps->depth--;
        if (!n)
            return NULL;
        if (ps->p >= ps->end || *ps->p != ')') {
            ps->err = "missing )";
            node_free(n);
            return NULL;
        }
        ps->p++;
        return n;
    case '[':
        return parse_class(ps);
    case '.':
        if ((n = mk(N_CLASS)) != NULL) {
            memset(n->set, 0xff, sizeof n->set);
            n->set['\n' >> 3] &= (uint8_t)~(1u << ('\n' & 7));
        }
        return n;
    case '^':
        return mk(N_BOL);
    case '$':
        return mk(N_EOL);
    case '*': case '+': case '?': case '{':
        ps->err = "nothing to repeat";
        return NULL;
    case ')':
        ps->err = "unmatched )";
        return NULL;
    case '\\':
        if (ps->p >= ps->end) {
            ps->err = "trailing backslash";
            return NULL;
        }
        c = (unsigned char)*ps->p++;
        if (c == 'b' || c == 'B')
            return mk(c == 'b' ? N_WORDB : N_NWORDB);
        if (c >= '1' && c <= '9') {
            ps->err = "back-references are not supported";
            return NULL;
        }
        if ((n = mk(N_CLASS)) != NULL && !class_escape(c, n->set))
            set_add(n->set, escape_char(c), ps->icase);
        return n;
    default:
        if ((n = mk(N_CLASS)) != NULL)
            set_add(n->set, c, ps->icase);
        return n;
    }
}

static bool parse_count(parser *ps, int *v)
{
    if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p))
        return false;
    *v = 0;
    while (ps->p < ps->end && isdigit((unsigned char)*ps->p)) {
        *v = *v * 10 + (*ps->p++ - '0');
        if (*v > MAX_COUNT)
            return false;
    }
    return true;
}

static node *parse_repeat(parser *ps)
{
    node *a = parse_atom(ps);
    if (!a || ps->p >= ps->end)
        return a;
    int c = (unsigned char)*ps->p;
    int min, max;
    if (c == '*' || c == '+' || c == '?') {
        ps->p++;
        min = c == '+';
        max = c == '?' ? 1 : -1;
    } else if (c == '{') {
        ps->p++;
        if (!parse_count(ps, &min)) {
            ps->err = "bad or too large {count} (at most 100)";
            node_free(a);
            return NULL;
        }
        max = min;
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            max = -1;
            if (ps->p < ps->end && *ps->p != '}' && (!parse_count(ps, &max) || max < min)) {
                ps->err = "bad or too large {min,max} (at most 100)";
                node_free(a);
                return NULL;
            }
        }
        if (ps->p >= ps->end || *ps->p != '}') {
            ps->err = "missing }";
            node_free(a);
            return NULL;
        }
        ps->p++;
    } else {
        return a;
    }
    if (ps->p < ps->end && strchr("*+?{", *ps->p)) {
        ps->err = "a quantifier follows a quantifier";
        node_free(a);
        return NULL;
    }
    node *r = mk(N_REP);
    if (!r) {
        node_free(a);
        return NULL;
    }
    r->a = a;
    r->min = min;
    r->max = max;
    return r;
}

static node *parse_cat(parser *ps)
{
    node *acc = NULL;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        node *r = parse_repeat(ps);
        if (!r) {
            node_free(acc);
            return NULL;
        }
        if (!acc) {
            acc = r;
            continue;
        }
        node *c = mk(N_CAT);
        if (!c) {
            node_free(acc);
            node_free(r);
            return NULL;
        }
        c->a = acc;
        c->b = r;
        acc = c;
    }
    return acc ? acc : mk(N_EMPTY);
}

static node *parse_alt(parser *ps)
{
    node *l = parse_cat(ps);
    while (l && ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        node *r = parse_cat(ps);
        node *a = r ? mk(N_ALT) : NULL;
        if (!a) {
            node_free(l);
            node_free(r);
            return NULL;
        }
        a->a = l;
        a->b = r;
        l = a;
    }
    return l;
}

/* ------------------------------------------------------------------ code -------- */

typedef struct emitter {
    mlops__route_regex *re;
    int cap, ccap;
    bool full;
} emitter;

static int emit(emitter *e, int op, int x, int y)
{
    if (e->re->n >= MAX_PROG) {
        e->full = true;
        return 0;
    }
    if (e->re->n == e->cap) {
        int cap = e->cap ? e->cap * 2 : 64;
        inst *p = realloc(e->re->prog, (size_t)cap * sizeof *p);
        if (!p) {
            e->full = true;
            return 0;
        }
        e->re->prog = p;
        e->cap = cap;
    }
    e->re->prog[e->re->n] = (inst){(unsigned char)op, x, y};
    return e->re->n++;
}

static int add_class(emitter *e, const uint8_t *set)
{
    for (int i = 0; i < e->re->nclasses; i++)
        if (memcmp(e->re->classes[i], set, 32) == 0)
            return i;
    if (e->re->nclasses == e->ccap) {
        int cap = e->ccap ? e->ccap * 2 : 16;
        uint8_t(*c)[32] = realloc(e->re->classes, (size_t)cap * 32);
        if (!c) {
            e->full = true;
            return 0;
        }
        e->re->classes = c;
        e->ccap = cap;
    }
    memcpy(e->re->classes[e->re->nclasses], set, 32);
    return e->re->nclasses++;
}

static void gen(emitter *e, const node *n)
{
    if (e->full)
        return;
    int l1, l2;
    switch (n->kind) {
    case N_EMPTY:
        break;
    case N_CLASS:
        emit(e, I_CLASS, add_class(e, n->set), 0);
        break;
    case N_BOL: emit(e, I_BOL, 0, 0); break;
    case N_EOL: emit(e, I_EOL, 0, 0); break;
    case N_WORDB: emit(e, I_WORDB, 0, 0); break;
    case N_NWORDB: emit(e, I_NWORDB, 0, 0); break;
    case N_CAT:
        gen(e, n->a);
        gen(e, n->b);
        break;
    case N_ALT:
        l1 = emit(e, I_SPLIT, 0, 0);
        if (e->full)
            return;
        e->re->prog[l1].x = e->re->n;
        gen(e, n->a);
        l2 = emit(e, I_JMP, 0, 0);
        if (e->full)
            return;
        e->re->prog[l1].y = e->re->n;
        gen(e, n->b);
        e->re->prog[l2].x = e->re->n;
        break;
    case N_REP:
        for (int i = 0; i < n->min && !e->full; i++)
            gen(e, n->a);
        if (n->max < 0) { /* L1: split L2, L3; L2: a; jmp L1; L3: */
            l1 = emit(e, I_SPLIT, 0, 0);
            if (e->full)
                return;
            e->re->prog[l1].x = e->re->n;
            gen(e, n->a);
            emit(e, I_JMP, l1, 0);
            if (!e->full)
                e->re->prog[l1].y = e->re->n;
        } else {
            /* (max - min) nested optional copies: split L, end; a; split L', end; a ... */
            int pending[MAX_COUNT + 1], np = 0;
            for (int i = n->min; i < n->max && !e->full; i++) {
                l1 = emit(e, I_SPLIT, 0, 0);
                if (e->full)
                    return;
                e->re->prog[l1].x = e->re->n;
                pending[np++] = l1;
                gen(e, n->a);
            }
            for (int i = 0; i < np && !e->full; i++)
                e->re->prog[pending[i]].y = e->re->n;
        }
        break;
    }
}

void mlops__route_regex_free(mlops__route_regex *re)
{
    if (!re)
        return;
    free(re->prog);
    free(re->classes);
    free(re);
}

int mlops__route_regex_compile(const char *pattern, bool icase, mlops__route_regex **out, const char **err)
{
    *out = NULL;
    *err = NULL;
    parser ps = {pattern, pattern + strlen(pattern), icase, 0, NULL};
    node *ast = parse_alt(&ps);
    if (ast && ps.p < ps.end) {
        ps.err = "unmatched )";
        node_free(ast);
        ast = NULL;
    }
    if (!ast) {
        *err = ps.err ? ps.err : "out of memory";
        return ps.err ? MLOPS_EPARSE : MLOPS_ENOMEM;
    }
    mlops__route_regex *re = calloc(1, sizeof *re);
    emitter e = {re, 0, 0, re == NULL};
    if (re) {
        gen(&e, ast);
        emit(&e, I_MATCH, 0, 0);
    }
    node_free(ast);
    if (e.full) {
        bool too_big = re && re->n >= MAX_PROG;
        mlops__route_regex_free(re);
        *err = too_big ? "pattern too large once repetitions are expanded" : "out of memory";
        return too_big ? MLOPS_ELIMIT : MLOPS_ENOMEM;
    }
    *out = re;
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ search ------ */

typedef struct threads {
    int *pc;
    int n;
} threads;

static bool at_boundary(const unsigned char *t, size_t len, size_t i)
{
    bool before = i > 0 && is_word(t[i - 1]);
    bool after = i < len && is_word(t[i]);
    return before != after;
}

/*
 * Adds pc and everything reachable from it without consuming a byte (jumps, splits,
 * assertions true at position i). `mark` stamps pcs already in the list for this step.
 * Returns true when MATCH is reachable.
 */
static bool add(const mlops__route_regex *re, threads *l, int *mark, int stamp, int *stack, int pc,
                const unsigned char *t, size_t len, size_t i)
{
    int sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
        pc = stack[--sp];
        if (mark[pc] == stamp)
            continue;
        mark[pc] = stamp;
        const inst *in = &re->prog[pc];
        switch (in->op) {
        case I_MATCH: return true;
        case I_CLASS: l->pc[l->n++] = pc; break;
        case I_JMP: stack[sp++] = in->x; break;
        case I_SPLIT:
            stack[sp++] = in->y;
            stack[sp++] = in->x;
            break;
        case I_BOL: if (i == 0) stack[sp++] = pc + 1; break;
        case I_EOL: if (i == len) stack[sp++] = pc + 1; break;
        case I_WORDB: if (at_boundary(t, len, i)) stack[sp++] = pc + 1; break;
        case I_NWORDB: if (!at_boundary(t, len, i)) stack[sp++] = pc + 1; break;
        }
    }
    return false;
}

bool mlops__route_regex_search(const mlops__route_regex *re, const char *text, size_t len)
{
    const unsigned char *t = (const unsigned char *)text;
    int n = re->n;
    /* current and next thread lists, marks, and a closure stack (each pc is pushed at
       most once per incoming edge: two per instruction) */
    int *buf = malloc((size_t)n * 5 * sizeof *buf);
    if (!buf)
        return false;
    threads cl = {buf, 0}, nl = {buf + n, 0};
    int *mark = buf + 2 * n, *stack = buf + 3 * n;
    for (int k = 0; k < n; k++)
        mark[k] = -1;
    int stamp = 0;
    bool matched = add(re, &cl, mark, stamp, stack, 0, t, len, 0);
    for (size_t i = 0; i < len && !matched; i++) {
        stamp++;
        nl.n = 0;
        for (int k = 0; k < cl.n && !matched; k++) {
            const inst *in = &re->prog[cl.pc[k]];
            const uint8_t *set = re->classes[in->x];
            if (set[t[i] >> 3] & (1u << (t[i] & 7)))
                matched = add(re, &nl, mark, stamp, stack, cl.pc[k] + 1, t, len, i + 1);
        }
        /* a new thread starts at every position: the search is unanchored */
        if (!matched)
            matched = add(re, &nl, mark, stamp, stack, 0, t, len, i + 1);
        threads tmp = cl;
        cl = nl;
        nl = tmp;
    }
    free(buf);
    return matched;
}
