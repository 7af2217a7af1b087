/*
 * A linear-time regex matcher: the pattern compiles to a Thompson NFA program and the
 * search simulates it as a Pike VM (Thompson 1968; Pike's VM as described by Russ Cox,
 * "Regular Expression Matching: the Virtual Machine Approach", 2009). Every thread
 * carries the offset where its match started; threads are kept in priority order, so
 * the result is the leftmost match with Perl-like (leftmost-first) alternation and
 * greedy repetition. The cost is O(program size x text length) whatever the input:
 * there is no backtracking to go catastrophic.
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

enum { I_BYTE, I_SET, I_ANY, I_SPLIT, I_JMP, I_MATCH, I_BOL, I_EOL, I_WORDB, I_NWORDB };

typedef struct inst {
    uint8_t op;
    uint8_t byte;
    int x, y;     /* jump targets */
    int set;      /* index into sets */
} inst;

struct mlops__regex {
    inst *prog;
    int n;
    uint8_t (*sets)[32];
    int nsets;
    bool icase;
};

#define MAX_PROG 20000
#define MAX_REPEAT 100

/* --------------------------------------------------------------- parser ------ */

typedef struct node node;
enum { N_LIT, N_SET, N_ANY, N_CAT, N_ALT, N_REP, N_BOL, N_EOL, N_WB, N_NWB, N_EMPTY };
struct node {
    int kind;
    uint8_t byte;
    int set;
    int min, max; /* max -1 = unbounded */
    bool greedy;
    node *a, *b;
};

typedef struct parser {
    const char *p, *start;
    const char *what;
    int err;
    node *pool;
    int npool, cappool;
    uint8_t (*sets)[32];
    int nsets, capsets;
    bool icase;
    int depth;
} parser;

static node *mk(parser *ps, int kind)
{
    if (ps->err)
        return NULL;
    /* the pool is sized for the pattern up front, so node pointers never move */
    if (ps->npool == ps->cappool) {
        ps->err = mlops__error(MLOPS_EINVAL, "%s: pattern too complex", ps->what);
        return NULL;
    }
    node *n = &ps->pool[ps->npool++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static int fail(parser *ps, const char *msg)
{
    if (!ps->err)
        ps->err = mlops__error(MLOPS_EINVAL, "%s: %s at offset %d", ps->what, msg,
                               (int)(ps->p - ps->start));
    return ps->err;
}

static int new_set(parser *ps)
{
    if (ps->nsets == ps->capsets) {
        int nc = ps->capsets ? ps->capsets * 2 : 8;
        uint8_t(*ns)[32] = realloc(ps->sets, (size_t)nc * 32);
        if (!ns) {
            ps->err = mlops__error_oom("regex");
            return -1;
        }
        ps->sets = ns;
        ps->capsets = nc;
    }
    memset(ps->sets[ps->nsets], 0, 32);
    return ps->nsets++;
}

static void set_add(uint8_t *s, int c) { s[c >> 3] |= (uint8_t)(1u << (c & 7)); }

static void set_class(uint8_t *s, char cls)
{
    for (int c = 0; c < 256; c++) {
        bool d = c >= '0' && c <= '9';
        bool w = d || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool sp = c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
        bool in = cls == 'd' ? d : cls == 'D' ? !d : cls == 'w' ? w : cls == 'W' ? !w
                : cls == 's' ? sp : !sp;
        if (in)
            set_add(s, c);
    }
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* An escaped literal byte after '\\' (not a class); -1 when not a literal escape. */
static int escape_byte(parser *ps)
{
    char c = *ps->p;
    switch (c) {
    case 'n': ps->p++; return '\n';
    case 't': ps->p++; return '\t';
    case 'r': ps->p++; return '\r';
    case 'f': ps->p++; return '\f';
    case 'v': ps->p++; return '\v';
    case '0': ps->p++; return 0;
    case 'x': {
        int a = hexv(ps->p[1]), b = a >= 0 ? hexv(ps->p[2]) : -1;
        if (a < 0 || b < 0) {
            fail(ps, "bad \\x escape");
            return -1;
        }
        ps->p += 3;
        return a * 16 + b;
    }
    default:
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
            fail(ps, "unsupported escape");
            return -1;
        }
        if (!c) {
            fail(ps, "trailing backslash");
            return -1;
        }
        ps->p++;
        return (unsigned char)c;
    }
}

static node *parse_alt(parser *ps);

static node *parse_class(parser *ps)
{
    int si = new_set(ps);
    if (si < 0)
        return NULL;
    bool neg = false;
    if (*ps->p == '^') {
        neg = true;
        ps->p++;
    }
    bool first = true;
    while (*ps->p && (*ps->p != ']' || first)) {
        first = false;
        int lo;
        if (*ps->p == '\\') {
            ps->p++;
            char c = *ps->p;
            if (c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S') {
                set_class(ps->sets[si], c);
                ps->p++;
                continue;
            }
            if (c == 'b') {
                ps->p++;
                lo = '\b';
            } else if ((lo = escape_byte(ps)) < 0)
                return NULL;
        } else {
            lo = (unsigned char)*ps->p++;
        }
        int hi = lo;
        if (ps->p[0] == '-' && ps->p[1] && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                if ((hi = escape_byte(ps)) < 0)
                    return NULL;
            } else {
                hi = (unsigned char)*ps->p++;
            }
            if (hi < lo) {
                fail(ps, "reversed range in class");
                return NULL;
            }
        }
        for (int c = lo; c <= hi; c++) {
            set_add(ps->sets[si], c);
            if (ps->icase && c >= 'a' && c <= 'z')
                set_add(ps->sets[si], c - 32);
            if (ps->icase && c >= 'A' && c <= 'Z')
                set_add(ps->sets[si], c + 32);
        }
    }
    if (*ps->p != ']') {
        fail(ps, "unterminated class");
        return NULL;
    }
    ps->p++;
    if (neg)
        for (int i = 0; i < 32; i++)
            ps->sets[si][i] = (uint8_t)~ps->sets[si][i];
    node *n = mk(ps, N_SET);
    if (n)
        n->set = si;
    return n;
}

static node *parse_atom(parser *ps)
{
    char c = *ps->p;
    node *n;
    switch (c) {
    case '(': {
        ps->p++;
        if (ps->p[0] == '?' && ps->p[1] == ':')
            ps->p += 2;
        else if (ps->p[0] == '?') {
            fail(ps, "unsupported group kind");
            return NULL;
        }
        if (++ps->depth > 100) {
            fail(ps, "groups nested too deeply");
            return NULL;
        }
        n = parse_alt(ps);
        ps->depth--;
        if (!n)
            return NULL;
        if (*ps->p != ')') {
            fail(ps, "missing )");
            return NULL;
        }
        ps->p++;
        return n;
    }
    case '[':
        ps->p++;
        return parse_class(ps);
    case '.':
        ps->p++;
        return mk(ps, N_ANY);
    case '^':
        ps->p++;
        return mk(ps, N_BOL);
    case '$':
        ps->p++;
        return mk(ps, N_EOL);
    case '\\': {
        ps->p++;
        char e = *ps->p;
        if (e == 'd' || e == 'D' || e == 'w' || e == 'W' || e == 's' || e == 'S') {
            int si = new_set(ps);
            if (si < 0)
                return NULL;
            set_class(ps->sets[si], e);
            ps->p++;
            n = mk(ps, N_SET);
            if (n)
                n->set = si;
            return n;
        }
        if (e == 'b' || e == 'B') {
            ps->p++;
            return mk(ps, e == 'b' ? N_WB : N_NWB);
        }
        int b = escape_byte(ps);
        if (b < 0)
            return NULL;
        n = mk(ps, N_LIT);
        if (n)
            n->byte = (uint8_t)b;
        return n;
    }
    case '*': case '+': case '?':
        fail(ps, "nothing to repeat");
        return NULL;
    case '{':
    default:
        ps->p++;
        if (ps->icase && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            int si = new_set(ps);
            if (si < 0)
                return NULL;
            set_add(ps->sets[si], c | 32);
            set_add(ps->sets[si], (c | 32) - 32);
            n = mk(ps, N_SET);
            if (n)
                n->set = si;
            return n;
        }
        n = mk(ps, N_LIT);
        if (n)
            n->byte = (uint8_t)c;
        return n;
    }
}

static bool parse_int(parser *ps, int *v)
{
    if (*ps->p < '0' || *ps->p > '9')
        return false;
    long x = 0;
    while (*ps->p >= '0' && *ps->p <= '9') {
        x = x * 10 + (*ps->p++ - '0');
        if (x > 100000)
            x = 100000;
    }
    *v = (int)x;
    return true;
}

static node *parse_repeat(parser *ps)
{
    node *a = parse_atom(ps);
    while (a && !ps->err) {
        int min, max;
        char c = *ps->p;
        if (c == '*')
            min = 0, max = -1, ps->p++;
        else if (c == '+')
            min = 1, max = -1, ps->p++;
        else if (c == '?')
            min = 0, max = 1, ps->p++;
        else if (c == '{') {
            const char *save = ps->p;
            ps->p++;
            if (!parse_int(ps, &min)) {
                ps->p = save; /* a literal '{' */
                break;
            }
            max = min;
            if (*ps->p == ',') {
                ps->p++;
                if (!parse_int(ps, &max))
                    max = -1;
            }
            if (*ps->p != '}') {
                fail(ps, "bad {m,n} repetition");
                return NULL;
            }
            ps->p++;
            if (min > MAX_REPEAT || max > MAX_REPEAT || (max >= 0 && max < min)) {
                fail(ps, "repetition bound over 100 or reversed");
                return NULL;
            }
        } else
            break;
        bool greedy = true;
        if (*ps->p == '?') {
            greedy = false;
            ps->p++;
        }
        node *r = mk(ps, N_REP);
        if (!r)
            return NULL;
        r->a = a;
        r->min = min;
        r->max = max;
        r->greedy = greedy;
        a = r;
    }
    return a;
}

static node *parse_cat(parser *ps)
{
    node *left = NULL;
    while (*ps->p && *ps->p != '|' && *ps->p != ')') {
        node *a = parse_repeat(ps);
        if (!a)
            return NULL;
        if (!left)
            left = a;
        else {
            node *c = mk(ps, N_CAT);
            if (!c)
                return NULL;
            c->a = left;
            c->b = a;
            left = c;
        }
    }
    return left ? left : mk(ps, N_EMPTY);
}

static node *parse_alt(parser *ps)
{
    node *left = parse_cat(ps);
    while (left && *ps->p == '|') {
        ps->p++;
        node *right = parse_cat(ps);
        if (!right)
            return NULL;
        node *n = mk(ps, N_ALT);
        if (!n)
            return NULL;
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

/* --------------------------------------------------------------- compiler ---- */

typedef struct compiler {
    inst *prog;
    int n, cap;
    int err;
    const char *what;
} compiler;

static int emit(compiler *c, int op)
{
    if (c->err)
        return 0;
    if (c->n >= MAX_PROG) {
        c->err = mlops__error(MLOPS_EINVAL, "%s: pattern compiles to more than %d steps",
                              c->what, MAX_PROG);
        return 0;
    }
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 64;
        inst *np = realloc(c->prog, (size_t)nc * sizeof *np);
        if (!np) {
            c->err = mlops__error_oom("regex");
            return 0;
        }
        c->prog = np;
        c->cap = nc;
    }
    memset(&c->prog[c->n], 0, sizeof(inst));
    c->prog[c->n].op = (uint8_t)op;
    return c->n++;
}

static void gen(compiler *c, const node *n, int depth)
{
    if (c->err)
        return;
    if (depth > 2000) {
        c->err = mlops__error(MLOPS_EINVAL, "%s: pattern nested too deeply", c->what);
        return;
    }
    int i, j;
    switch (n->kind) {
    case N_EMPTY: break;
    case N_LIT: i = emit(c, I_BYTE); if (!c->err) c->prog[i].byte = n->byte; break;
    case N_SET: i = emit(c, I_SET); if (!c->err) c->prog[i].set = n->set; break;
    case N_ANY: emit(c, I_ANY); break;
    case N_BOL: emit(c, I_BOL); break;
    case N_EOL: emit(c, I_EOL); break;
    case N_WB: emit(c, I_WORDB); break;
    case N_NWB: emit(c, I_NWORDB); break;
    case N_CAT: gen(c, n->a, depth + 1); gen(c, n->b, depth + 1); break;
    case N_ALT:
        i = emit(c, I_SPLIT);
        gen(c, n->a, depth + 1);
        j = emit(c, I_JMP);
        if (c->err) return;
        c->prog[i].x = i + 1;
        c->prog[i].y = c->n;
        gen(c, n->b, depth + 1);
        if (!c->err) c->prog[j].x = c->n;
        break;
    case N_REP: {
        for (int k = 0; k < n->min; k++)
            gen(c, n->a, depth + 1);
        if (n->max < 0) { /* star over one more copy */
            int l = emit(c, I_SPLIT);
            gen(c, n->a, depth + 1);
            int jj = emit(c, I_JMP);
            if (c->err) return;
            c->prog[jj].x = l;
            c->prog[l].x = n->greedy ? l + 1 : c->n;
            c->prog[l].y = n->greedy ? c->n : l + 1;
        } else {
            int opt = n->max - n->min;
            int *splits = opt > 0 ? malloc((size_t)opt * sizeof(int)) : NULL;
            if (opt > 0 && !splits) {
                c->err = mlops__error_oom("regex");
                return;
            }
            for (int k = 0; k < opt; k++) {
                splits[k] = emit(c, I_SPLIT);
                gen(c, n->a, depth + 1);
            }
            if (!c->err)
                for (int k = 0; k < opt; k++) {
                    c->prog[splits[k]].x = n->greedy ? splits[k] + 1 : c->n;
                    c->prog[splits[k]].y = n->greedy ? c->n : splits[k] + 1;
                }
            free(splits);
        }
        break;
    }
    }
}

int mlops__regex_compile(const char *pattern, const char *what, mlops__regex **out)
{
    *out = NULL;
    parser ps = {.p = pattern, .start = pattern, .what = what ? what : "regex"};
    size_t plen = strlen(pattern);
    if (plen > 10000)
        return mlops__error(MLOPS_EINVAL, "%s: pattern longer than 10000 bytes", ps.what);
    ps.cappool = (int)plen * 4 + 8;
    ps.pool = malloc((size_t)ps.cappool * sizeof *ps.pool);
    if (!ps.pool)
        return mlops__error_oom("regex");
    if (strncmp(ps.p, "(?i)", 4) == 0) {
        ps.icase = true;
        ps.p += 4;
    }
    node *root = parse_alt(&ps);
    if (!ps.err && *ps.p)
        fail(&ps, *ps.p == ')' ? "unbalanced )" : "unexpected character");
    if (ps.err || !root) {
        free(ps.pool);
        free(ps.sets);
        return ps.err ? ps.err : mlops__error(MLOPS_EINVAL, "%s: bad pattern", ps.what);
    }
    compiler c = {.what = ps.what};
    gen(&c, root, 0);
    emit(&c, I_MATCH);
    free(ps.pool);
    if (c.err) {
        free(c.prog);
        free(ps.sets);
        return c.err;
    }
    mlops__regex *re = calloc(1, sizeof *re);
    if (!re) {
        free(c.prog);
        free(ps.sets);
        return mlops__error_oom("regex");
    }
    re->prog = c.prog;
    re->n = c.n;
    re->sets = ps.sets;
    re->nsets = ps.nsets;
    re->icase = ps.icase;
    *out = re;
    return MLOPS_OK;
}

void mlops__regex_free(mlops__regex *re)
{
    if (!re)
        return;
    free(re->prog);
    free(re->sets);
    free(re);
}

/* --------------------------------------------------------------- the VM ------ */

typedef struct thread_list {
    int *pc;
    size_t *start;
    int n;
} thread_list;

static bool is_word(const char *s, size_t n, size_t i)
{
    if (i >= n)
        return false;
    unsigned char c = (unsigned char)s[i];
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

/* Adds pc (following jumps and zero-width assertions) unless already on the list. */
static void add_thread(const mlops__regex *re, thread_list *l, unsigned *mark, unsigned gen,
                       int pc, size_t start, const char *s, size_t n, size_t i, int *stack)
{
    int sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
        pc = stack[--sp];
        if (mark[pc] == gen)
            continue;
        mark[pc] = gen;
        const inst *in = &re->prog[pc];
        switch (in->op) {
        case I_JMP: stack[sp++] = in->x; break;
        case I_SPLIT: stack[sp++] = in->y; stack[sp++] = in->x; break; /* x first */
        case I_BOL: if (i == 0 || s[i - 1] == '\n') stack[sp++] = pc + 1; break;
        case I_EOL: if (i == n || s[i] == '\n') stack[sp++] = pc + 1; break;
        case I_WORDB:
        case I_NWORDB: {
            bool b = (i > 0 && is_word(s, n, i - 1)) != is_word(s, n, i);
            if (b == (in->op == I_WORDB))
                stack[sp++] = pc + 1;
            break;
        }
        default:
            l->pc[l->n] = pc;
            l->start[l->n] = start;
            l->n++;
        }
    }
}

bool mlops__regex_search(const mlops__regex *re, const char *s, size_t n, size_t from,
                         size_t *ms, size_t *me)
{
    int np = re->n;
    thread_list cur = {0}, nxt = {0};
    int *pcs = malloc((size_t)np * 2 * sizeof(int));
    size_t *sts = malloc((size_t)np * 2 * sizeof(size_t));
    unsigned *mark = calloc((size_t)np, sizeof(unsigned));
    int *stack = malloc((size_t)(np * 2 + 2) * sizeof(int));
    if (!pcs || !sts || !mark || !stack) {
        free(pcs), free(sts), free(mark), free(stack);
        return false;
    }
    cur.pc = pcs, cur.start = sts;
    nxt.pc = pcs + np, nxt.start = sts + np;
    unsigned gen = 1;
    bool matched = false;
    size_t mstart = 0, mend = 0;
    for (size_t i = from;; i++) {
        if (!matched)
            add_thread(re, &cur, mark, gen, 0, i, s, n, i, stack);
        if (cur.n == 0) {
            if (matched || i >= n)
                break;
            gen++;
            continue;
        }
        gen++;
        nxt.n = 0;
        int c = i < n ? (unsigned char)s[i] : -1;
        for (int t = 0; t < cur.n; t++) {
            const inst *in = &re->prog[cur.pc[t]];
            bool ok = false;
            switch (in->op) {
            case I_MATCH:
                matched = true;
                mstart = cur.start[t];
                mend = i;
                t = cur.n; /* lower-priority threads die */
                continue;
            case I_BYTE: ok = c == in->byte; break;
            case I_SET: ok = c >= 0 && (re->sets[in->set][c >> 3] >> (c & 7)) & 1; break;
            case I_ANY: ok = c >= 0 && c != '\n'; break;
            default: break;
            }
            if (ok)
                add_thread(re, &nxt, mark, gen, cur.pc[t] + 1, cur.start[t], s, n, i + 1, stack);
        }
        thread_list tmp = cur;
        cur = nxt;
        nxt = tmp;
        if (i >= n)
            break;
    }
    /* threads left at the end of input that reach MATCH */
    for (int t = 0; t < cur.n && !matched; t++)
        if (re->prog[cur.pc[t]].op == I_MATCH) {
            matched = true;
            mstart = cur.start[t];
            mend = n;
        }
    free(pcs), free(sts), free(mark), free(stack);
    if (matched) {
        *ms = mstart;
        *me = mend;
    }
    return matched;
}
