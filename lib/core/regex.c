/*
 * The one regular-expression engine of the library (guard recognizers and banned
 * patterns, JSON Schema "pattern", the router's "regex" rules).
 *
 * The pattern compiles to a Thompson NFA program (Thompson 1968) that the search
 * simulates as a Pike VM (Cox, "Regular Expression Matching: the Virtual Machine
 * Approach", 2009): all threads advance together one character at a time, each carries
 * the offset where its match began, and threads are kept in priority order, so the
 * result is the leftmost match with Perl-like (leftmost-first) alternation and greedy or
 * lazy repetition. Time is O(program size x text length) whatever the pattern or input
 * (no backtracking), memory O(program size) whatever the text length, and counted
 * repetitions are capped so the program stays small (MAX_PROG).
 *
 * Text is UTF-8 and the unit of matching is the code point (RFC 3629 decoding; any byte
 * that does not start a well-formed sequence is one unit of its own, matched only by
 * `.`, negated classes and \D \W \S, or by the same stray byte in the pattern), so a
 * quantifier after a non-ASCII character repeats the whole character and classes can
 * hold non-ASCII members and ranges. Offsets in and out are byte offsets.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define MAX_PATTERN 10000 /* bytes */
#define MAX_PROG 20000    /* instructions after expanding counted repetition */
#define MAX_REPEAT 100    /* bound of {m,n} */
#define MAX_DEPTH 100     /* nested groups */
#define PSEUDO 0x110000u  /* + byte: a byte that is not well-formed UTF-8 */
#define CP_MAX (PSEUDO + 0xffu)
#define STACK_PROG 128    /* programs up to this size search without malloc */

enum { I_CHAR, I_SET, I_ANY, I_MATCH, I_SPLIT, I_JMP, I_BOL, I_EOL, I_WORDB, I_NWORDB };

typedef struct inst {
    uint8_t op;
    int32_t x, y; /* CHAR: x code point; SET: x set; SPLIT: x then y; JMP: x */
} inst;

/* A character set: a bitmap for code points < 256, sorted disjoint ranges above. */
typedef struct cset {
    uint8_t lo[32];
    uint32_t *r; /* pairs lo, hi */
    int nr, cap;
    bool neg;
} cset;

struct mlops__regex {
    inst *prog;
    int n;
    cset *sets;
    int nsets;
    bool multiline;
    bool anchored;   /* must start at offset 0 */
    bool use_first;  /* first[] lists every byte a match can start with */
    int first_only;  /* the only such byte, or -1 */
    uint8_t first[256];
};

/* ------------------------------------------------------------------ UTF-8 ------- */

/* Decodes the unit at s[i] (i < n): a code point, or PSEUDO + byte; *len its bytes. */
static inline uint32_t decode(const unsigned char *s, size_t n, size_t i, size_t *len)
{
    unsigned b = s[i];
    if (b < 0x80) {
        *len = 1;
        return b;
    }
    size_t left = n - i;
    unsigned lo = 0x80, hi = 0xbf;
    int need;
    uint32_t cp;
    if (b >= 0xc2 && b <= 0xdf)
        need = 1, cp = b & 0x1f;
    else if (b >= 0xe0 && b <= 0xef) {
        need = 2, cp = b & 0x0f;
        if (b == 0xe0) lo = 0xa0; /* overlong */
        if (b == 0xed) hi = 0x9f; /* surrogates */
    } else if (b >= 0xf0 && b <= 0xf4) {
        need = 3, cp = b & 0x07;
        if (b == 0xf0) lo = 0x90;
        if (b == 0xf4) hi = 0x8f; /* over U+10FFFF */
    } else
        goto bad;
    if (left <= (size_t)need || s[i + 1] < lo || s[i + 1] > hi)
        goto bad;
    for (int k = 1; k <= need; k++) {
        if (k > 1 && (s[i + k] & 0xc0) != 0x80)
            goto bad;
        cp = cp << 6 | (s[i + k] & 0x3f);
    }
    *len = (size_t)need + 1;
    return cp;
bad:
    *len = 1;
    return PSEUDO + b;
}

static int lead_byte(uint32_t cp)
{
    return cp < 0x80 ? (int)cp : cp < 0x800 ? (int)(0xc0 | cp >> 6)
         : cp < 0x10000 ? (int)(0xe0 | cp >> 12) : cp < PSEUDO ? (int)(0xf0 | cp >> 18)
         : (int)(cp - PSEUDO);
}

/* The other case of a letter (ASCII, Latin-1, Latin Extended-A, basic Greek and
   Cyrillic; simple one-to-one folds only), or -1. */
static int32_t other_case(uint32_t c)
{
    if ((c >= 'a' && c <= 'z') || (c >= 0xe0 && c <= 0xfe && c != 0xf7) ||
        (c >= 0x3b1 && c <= 0x3c9 && c != 0x3c2) || (c >= 0x430 && c <= 0x44f))
        return (int32_t)c - 32;
    if ((c >= 'A' && c <= 'Z') || (c >= 0xc0 && c <= 0xde && c != 0xd7) ||
        (c >= 0x391 && c <= 0x3a9 && c != 0x3a2) || (c >= 0x410 && c <= 0x42f))
        return (int32_t)c + 32;
    if (c >= 0x450 && c <= 0x45f)
        return (int32_t)c - 80;
    if (c >= 0x400 && c <= 0x40f)
        return (int32_t)c + 80;
    if ((c >= 0x100 && c <= 0x12f) || (c >= 0x132 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
        return (int32_t)(c ^ 1);
    if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e))
        return (int32_t)(c & 1 ? c + 1 : c - 1);
    return -1;
}

/* ------------------------------------------------------------------ sets -------- */

static bool is_word_byte(unsigned c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_';
}

/* White space as ECMA-262 \s: ASCII, NBSP, the Unicode Zs spaces, line separators, BOM. */
static const uint32_t space_ranges[] = {0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029,
                                        0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000,
                                        0xfeff, 0xfeff};

static bool cset_has(const cset *s, uint32_t c)
{
    bool in;
    if (c < 256)
        in = (s->lo[c >> 3] >> (c & 7)) & 1;
    else {
        in = false;
        int a = 0, b = s->nr - 1;
        while (a <= b) {
            int m = (a + b) / 2;
            if (c < s->r[2 * m])
                b = m - 1;
            else if (c > s->r[2 * m + 1])
                a = m + 1;
            else {
                in = true;
                break;
            }
        }
    }
    return in != s->neg;
}

static int cset_range(cset *s, uint32_t lo, uint32_t hi)
{
    for (; lo <= hi && lo < 256; lo++)
        s->lo[lo >> 3] |= (uint8_t)(1u << (lo & 7));
    if (lo > hi)
        return MLOPS_OK;
    if (s->nr == s->cap) {
        int nc = s->cap ? s->cap * 2 : 4;
        uint32_t *nrr = realloc(s->r, (size_t)nc * 2 * sizeof *nrr);
        if (!nrr)
            return mlops__error_oom("regex");
        s->r = nrr;
        s->cap = nc;
    }
    s->r[2 * s->nr] = lo;
    s->r[2 * s->nr + 1] = hi;
    s->nr++;
    return MLOPS_OK;
}

static int cmp_range(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts and merges the ranges (binary search in cset_has needs them disjoint). */
static void cset_finish(cset *s)
{
    if (s->nr < 2)
        return;
    qsort(s->r, (size_t)s->nr, 2 * sizeof *s->r, cmp_range);
    int k = 0;
    for (int i = 1; i < s->nr; i++) {
        if (s->r[2 * i] <= s->r[2 * k + 1] + 1) {
            if (s->r[2 * i + 1] > s->r[2 * k + 1])
                s->r[2 * k + 1] = s->r[2 * i + 1];
        } else {
            k++;
            s->r[2 * k] = s->r[2 * i];
            s->r[2 * k + 1] = s->r[2 * i + 1];
        }
    }
    s->nr = k + 1;
}

/* Adds lo..hi and, for icase, the other case of every letter in it. */
static int cset_add(cset *s, uint32_t lo, uint32_t hi, bool icase)
{
    int rc = cset_range(s, lo, hi);
    if (rc != MLOPS_OK || !icase)
        return rc;
    static const uint32_t zones[][2] = {{'A', 'Z'}, {'a', 'z'}, {0xc0, 0xfe}, {0x100, 0x17e},
                                        {0x391, 0x3c9}, {0x400, 0x45f}};
    for (size_t z = 0; z < MLOPS__ARRAY_LEN(zones); z++) {
        uint32_t a = lo > zones[z][0] ? lo : zones[z][0];
        uint32_t b = hi < zones[z][1] ? hi : zones[z][1];
        for (uint32_t c = a; c <= b && a <= b; c++) {
            int32_t o = other_case(c);
            if (o >= 0 && (rc = cset_range(s, (uint32_t)o, (uint32_t)o)) != MLOPS_OK)
                return rc;
        }
    }
    return MLOPS_OK;
}

/* \d \w \s (positive) into s; returns false when cls is not one of them. */
static int cset_class(cset *s, char cls)
{
    if (cls == 'd')
        return cset_range(s, '0', '9');
    if (cls == 'w') {
        int rc = cset_range(s, '0', '9');
        if (!rc) rc = cset_range(s, 'a', 'z');
        if (!rc) rc = cset_range(s, 'A', 'Z');
        if (!rc) rc = cset_range(s, '_', '_');
        return rc;
    }
    int rc = cset_range(s, '\t', '\r'); /* \t \n \v \f \r */
    if (!rc) rc = cset_range(s, ' ', ' ');
    if (!rc) rc = cset_range(s, 0xa0, 0xa0);
    for (size_t i = 0; !rc && i < MLOPS__ARRAY_LEN(space_ranges); i += 2)
        rc = cset_range(s, space_ranges[i], space_ranges[i + 1]);
    return rc;
}

/* Adds everything not in `pos` (a finished positive set) to s, stray bytes included. */
static int cset_add_complement(cset *s, const cset *pos)
{
    for (int i = 0; i < 32; i++)
        s->lo[i] |= (uint8_t)~pos->lo[i];
    uint32_t next = 256;
    int rc = MLOPS_OK;
    for (int i = 0; i < pos->nr && !rc; i++) {
        if (pos->r[2 * i] > next)
            rc = cset_range(s, next, pos->r[2 * i] - 1);
        next = pos->r[2 * i + 1] + 1;
    }
    if (!rc && next <= CP_MAX)
        rc = cset_range(s, next, CP_MAX);
    return rc;
}

/* ------------------------------------------------------------------ parser ------ */

enum { N_CHAR, N_SET, N_ANY, N_CAT, N_ALT, N_REP, N_BOL, N_EOL, N_WB, N_NWB, N_EMPTY };

typedef struct node node;
struct node {
    int kind;
    uint32_t cp;       /* N_CHAR */
    int set;           /* N_SET */
    int min, max;      /* N_REP: max -1 = unbounded */
    bool greedy;
    node *kid, *last;  /* N_CAT, N_ALT: children in order; N_REP: kid */
    node *next;        /* next sibling */
};

typedef struct parser {
    const char *p, *start, *end;
    const char *what;
    int err;
    node *pool;
    int npool, cappool;
    cset *sets;
    int nsets, capsets;
    bool icase;
    int depth;
} parser;

static int fail_at(parser *ps, const char *at, const char *msg)
{
    if (!ps->err)
        ps->err = mlops__error(MLOPS_EINVAL, "%s: %s at offset %d", ps->what, msg,
                               (int)(at - ps->start));
    return ps->err;
}

static int fail(parser *ps, const char *msg) { return fail_at(ps, ps->p, msg); }

static node *mk(parser *ps, int kind)
{
    if (ps->err)
        return NULL;
    /* the pool is sized from the pattern length up front, so nodes never move */
    if (ps->npool == ps->cappool) {
        fail(ps, "pattern too complex");
        return NULL;
    }
    node *n = &ps->pool[ps->npool++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    return n;
}

static void append(node *parent, node *kid)
{
    if (parent->last)
        parent->last->next = kid;
    else
        parent->kid = kid;
    parent->last = kid;
}

static int new_set(parser *ps)
{
    if (ps->nsets == ps->capsets) {
        int nc = ps->capsets ? ps->capsets * 2 : 8;
        cset *ns = realloc(ps->sets, (size_t)nc * sizeof *ns);
        if (!ns) {
            ps->err = mlops__error_oom("regex");
            return -1;
        }
        ps->sets = ns;
        ps->capsets = nc;
    }
    memset(&ps->sets[ps->nsets], 0, sizeof(cset));
    return ps->nsets++;
}

static node *set_node(parser *ps, int si)
{
    cset_finish(&ps->sets[si]);
    node *n = mk(ps, N_SET);
    if (n)
        n->set = si;
    return n;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* The next pattern character as a code point (a stray byte stands for itself). */
static uint32_t next_char(parser *ps)
{
    size_t len;
    uint32_t c = decode((const unsigned char *)ps->p, (size_t)(ps->end - ps->p), 0, &len);
    ps->p += len;
    return c;
}

/* \xHH, \x{H...}, \uHHHH; ps->p is past the 'x' or 'u'. */
static int64_t hex_escape(parser *ps, const char *at, char kind)
{
    uint32_t v = 0;
    int digits = 0;
    if (kind == 'x' && *ps->p == '{') {
        ps->p++;
        while (hexv(*ps->p) >= 0 && digits < 7)
            v = v * 16 + (uint32_t)hexv(*ps->p++), digits++;
        if (*ps->p != '}' || digits == 0 || v > 0x10ffff) {
            fail_at(ps, at, "bad \\x{...} escape");
            return -1;
        }
        ps->p++;
        return v;
    }
    int want = kind == 'x' ? 2 : 4;
    for (; digits < want; digits++) {
        int h = hexv(*ps->p);
        if (h < 0) {
            fail_at(ps, at, kind == 'x' ? "bad \\x escape" : "bad \\u escape");
            return -1;
        }
        v = v * 16 + (uint32_t)h;
        ps->p++;
    }
    return v;
}

/* A literal escape after '\\' (ps->p at the escaped character): its code point, or -1
   with the error set. Class escapes (\d ...) and assertions are handled by callers. */
static int64_t escape_char(parser *ps, bool in_class)
{
    const char *at = ps->p - 1;
    if (ps->p >= ps->end) {
        fail_at(ps, at, "trailing backslash");
        return -1;
    }
    char c = *ps->p++;
    switch (c) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    case '0': return 0;
    case 'b':
        if (in_class)
            return '\b';
        break;
    case 'x':
    case 'u':
        return hex_escape(ps, at, c);
    default:
        break;
    }
    if (c >= '1' && c <= '9') {
        fail_at(ps, at, "back-references are not supported");
        return -1;
    }
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) {
        fail_at(ps, at, "unsupported escape");
        return -1;
    }
    ps->p--;
    return next_char(ps); /* escaped punctuation or a non-ASCII character */
}

static bool is_class_escape(char c)
{
    return c == 'd' || c == 'D' || c == 'w' || c == 'W' || c == 's' || c == 'S';
}

/* Adds \d \D \w \W \s \S to set si. */
static int add_class_escape(parser *ps, int si, char c)
{
    int rc;
    if (c >= 'a')
        rc = cset_class(&ps->sets[si], c);
    else {
        cset pos = {0};
        rc = cset_class(&pos, (char)(c + 32));
        if (!rc) {
            cset_finish(&pos);
            rc = cset_add_complement(&ps->sets[si], &pos);
        }
        free(pos.r);
    }
    if (rc)
        ps->err = rc;
    return rc;
}

static node *parse_alt(parser *ps);

static node *parse_class(parser *ps)
{
    const char *open = ps->p - 1;
    int si = new_set(ps);
    if (si < 0)
        return NULL;
    bool neg = false;
    if (ps->p < ps->end && *ps->p == '^') {
        neg = true;
        ps->p++;
    }
    bool first = true;
    while (ps->p < ps->end && (*ps->p != ']' || first)) {
        first = false;
        const char *item = ps->p;
        int64_t lo;
        if (*ps->p == '\\') {
            ps->p++;
            if (ps->p < ps->end && is_class_escape(*ps->p)) {
                if (add_class_escape(ps, si, *ps->p++))
                    return NULL;
                continue;
            }
            if ((lo = escape_char(ps, true)) < 0)
                return NULL;
        } else {
            lo = next_char(ps);
        }
        int64_t hi = lo;
        if (ps->end - ps->p >= 2 && ps->p[0] == '-' && ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\') {
                ps->p++;
                if (ps->p < ps->end && is_class_escape(*ps->p)) {
                    fail(ps, "class escape as the end of a range");
                    return NULL;
                }
                if ((hi = escape_char(ps, true)) < 0)
                    return NULL;
            } else {
                hi = next_char(ps);
            }
            if (hi < lo) {
                fail_at(ps, item, "character range out of order");
                return NULL;
            }
        }
        int rc = cset_add(&ps->sets[si], (uint32_t)lo, (uint32_t)hi, ps->icase);
        if (rc) {
            ps->err = rc;
            return NULL;
        }
    }
    if (ps->p >= ps->end) {
        fail_at(ps, open, "missing ]");
        return NULL;
    }
    ps->p++;
    ps->sets[si].neg = neg;
    return set_node(ps, si);
}

/* Whether ps->p starts a well-formed {m}, {m,} or {m,n}. */
static bool at_counted(const parser *ps)
{
    const char *q = ps->p;
    if (q >= ps->end || *q != '{' || q + 1 >= ps->end || q[1] < '0' || q[1] > '9')
        return false;
    for (q++; q < ps->end && *q >= '0' && *q <= '9'; q++)
        ;
    if (q < ps->end && *q == ',')
        for (q++; q < ps->end && *q >= '0' && *q <= '9'; q++)
            ;
    return q < ps->end && *q == '}';
}

static node *parse_group(parser *ps)
{
    const char *open = ps->p - 1;
    if (ps->p < ps->end && *ps->p == '?') {
        /* (?:...) and named groups (?<name>...) (?P<name>...) group without capturing */
        if (ps->p + 1 < ps->end && ps->p[1] == ':')
            ps->p += 2;
        else if (ps->end - ps->p >= 3 &&
                 ((ps->p[1] == '<' && ps->p[2] != '=' && ps->p[2] != '!') ||
                  (ps->p[1] == 'P' && ps->p[2] == '<'))) {
            const char *q = memchr(ps->p, '>', (size_t)(ps->end - ps->p));
            if (!q) {
                fail_at(ps, open, "unterminated group name");
                return NULL;
            }
            ps->p = q + 1;
        } else {
            fail_at(ps, open, "unsupported group kind (no look-around, and (?flags) only at "
                              "the start)");
            return NULL;
        }
    }
    if (++ps->depth > MAX_DEPTH) {
        fail_at(ps, open, "groups nested too deeply");
        return NULL;
    }
    node *n = parse_alt(ps);
    ps->depth--;
    if (!n)
        return NULL;
    if (ps->p >= ps->end || *ps->p != ')') {
        fail_at(ps, open, "missing )");
        return NULL;
    }
    ps->p++;
    return n;
}

/* One character; under icase a letter becomes the set of both its cases. */
static node *literal(parser *ps, uint32_t cp)
{
    if (ps->icase && other_case(cp) >= 0) {
        int si = new_set(ps);
        if (si < 0)
            return NULL;
        int rc = cset_add(&ps->sets[si], cp, cp, true);
        if (rc) {
            ps->err = rc;
            return NULL;
        }
        return set_node(ps, si);
    }
    node *n = mk(ps, N_CHAR);
    if (n)
        n->cp = cp;
    return n;
}

static node *parse_atom(parser *ps)
{
    switch (*ps->p) {
    case '(':
        ps->p++;
        return parse_group(ps);
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
    case '*': case '+': case '?':
        fail(ps, "nothing to repeat");
        return NULL;
    case '{':
        if (at_counted(ps)) {
            fail(ps, "nothing to repeat");
            return NULL;
        }
        break; /* a literal '{' */
    case '\\': {
        char e = ps->p + 1 < ps->end ? ps->p[1] : 0;
        if (is_class_escape(e)) {
            ps->p += 2;
            int si = new_set(ps);
            if (si < 0 || add_class_escape(ps, si, e))
                return NULL;
            return set_node(ps, si);
        }
        if (e == 'b' || e == 'B') {
            ps->p += 2;
            return mk(ps, e == 'b' ? N_WB : N_NWB);
        }
        ps->p++;
        int64_t v = escape_char(ps, false);
        return v < 0 ? NULL : literal(ps, (uint32_t)v);
    }
    default:
        break;
    }
    return literal(ps, next_char(ps));
}

static int parse_int(parser *ps)
{
    long x = 0;
    while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9') {
        x = x * 10 + (*ps->p++ - '0');
        if (x > 100000)
            x = 100000;
    }
    return (int)x;
}

static node *parse_repeat(parser *ps)
{
    node *a = parse_atom(ps);
    if (!a || ps->p >= ps->end)
        return a;
    const char *at = ps->p;
    int min, max;
    char c = *ps->p;
    if (c == '*' || c == '+' || c == '?') {
        ps->p++;
        min = c == '+';
        max = c == '?' ? 1 : -1;
    } else if (at_counted(ps)) {
        ps->p++;
        min = max = parse_int(ps);
        if (*ps->p == ',') {
            ps->p++;
            max = *ps->p == '}' ? -1 : parse_int(ps);
        }
        ps->p++; /* '}' */
        if (min > MAX_REPEAT || max > MAX_REPEAT) {
            fail_at(ps, at, "repetition bound over 100");
            return NULL;
        }
        if (max >= 0 && max < min) {
            fail_at(ps, at, "repetition bounds reversed");
            return NULL;
        }
    } else
        return a;
    bool greedy = true;
    if (ps->p < ps->end && *ps->p == '?') {
        greedy = false;
        ps->p++;
    }
    if (ps->p < ps->end && (*ps->p == '*' || *ps->p == '+' || *ps->p == '?' || at_counted(ps))) {
        fail(ps, "a quantifier follows a quantifier");
        return NULL;
    }
    node *r = mk(ps, N_REP);
    if (!r)
        return NULL;
    r->kid = a;
    r->min = min;
    r->max = max;
    r->greedy = greedy;
    return r;
}

static node *parse_cat(parser *ps)
{
    node *cat = NULL, *one = NULL;
    while (ps->p < ps->end && *ps->p != '|' && *ps->p != ')') {
        node *a = parse_repeat(ps);
        if (!a)
            return NULL;
        if (!one) {
            one = a;
            continue;
        }
        if (!cat) {
            if (!(cat = mk(ps, N_CAT)))
                return NULL;
            append(cat, one);
        }
        append(cat, a);
    }
    return cat ? cat : one ? one : mk(ps, N_EMPTY);
}

static node *parse_alt(parser *ps)
{
    node *first = parse_cat(ps);
    if (!first || ps->p >= ps->end || *ps->p != '|')
        return first;
    node *alt = mk(ps, N_ALT);
    if (!alt)
        return NULL;
    append(alt, first);
    while (ps->p < ps->end && *ps->p == '|') {
        ps->p++;
        node *b = parse_cat(ps);
        if (!b)
            return NULL;
        append(alt, b);
    }
    return alt;
}

/* ------------------------------------------------------------------ compiler ---- */

typedef struct compiler {
    inst *prog;
    int n, cap;
    int err;
    const char *what;
} compiler;

static int emit(compiler *c, int op, int32_t x)
{
    if (c->err)
        return 0;
    if (c->n >= MAX_PROG) {
        c->err = mlops__error(MLOPS_EINVAL, "%s: pattern too large once repetitions are "
                              "expanded (over %d steps)", c->what, MAX_PROG);
        return 0;
    }
    if (c->n == c->cap) {
        int nc = c->cap ? c->cap * 2 : 32;
        inst *np = realloc(c->prog, (size_t)nc * sizeof *np);
        if (!np) {
            c->err = mlops__error_oom("regex");
            return 0;
        }
        c->prog = np;
        c->cap = nc;
    }
    c->prog[c->n] = (inst){(uint8_t)op, x, 0};
    return c->n++;
}

/* Recursion depth follows group nesting (bounded by MAX_DEPTH): sequences and
   alternatives are lists, not chains. */
static void gen(compiler *c, const node *n)
{
    if (c->err)
        return;
    switch (n->kind) {
    case N_EMPTY: break;
    case N_CHAR: emit(c, I_CHAR, (int32_t)n->cp); break;
    case N_SET: emit(c, I_SET, n->set); break;
    case N_ANY: emit(c, I_ANY, 0); break;
    case N_BOL: emit(c, I_BOL, 0); break;
    case N_EOL: emit(c, I_EOL, 0); break;
    case N_WB: emit(c, I_WORDB, 0); break;
    case N_NWB: emit(c, I_NWORDB, 0); break;
    case N_CAT:
        for (const node *k = n->kid; k && !c->err; k = k->next)
            gen(c, k);
        break;
    case N_ALT: {
        /* split L1, L2; L1: a; jmp end; L2: split ... ; last: z; end: */
        int jumps = -1; /* chained through .x until patched */
        for (const node *k = n->kid; k && !c->err; k = k->next) {
            if (!k->next) {
                gen(c, k);
                break;
            }
            int s = emit(c, I_SPLIT, 0);
            gen(c, k);
            int j = emit(c, I_JMP, jumps);
            if (c->err)
                return;
            jumps = j;
            c->prog[s].x = s + 1;
            c->prog[s].y = c->n;
        }
        while (!c->err && jumps >= 0) {
            int prev = c->prog[jumps].x;
            c->prog[jumps].x = c->n;
            jumps = prev;
        }
        break;
    }
    case N_REP: {
        for (int k = 0; k < n->min && !c->err; k++)
            gen(c, n->kid);
        if (n->max < 0) { /* L: split body, out; body; jmp L */
            int l = emit(c, I_SPLIT, 0);
            gen(c, n->kid);
            emit(c, I_JMP, l);
            if (c->err)
                return;
            c->prog[l].x = n->greedy ? l + 1 : c->n;
            c->prog[l].y = n->greedy ? c->n : l + 1;
        } else {
            /* max - min nested optional copies; each split skips to the very end */
            int splits[MAX_REPEAT], ns = 0;
            for (int k = n->min; k < n->max && !c->err; k++) {
                splits[ns++] = emit(c, I_SPLIT, 0);
                gen(c, n->kid);
            }
            for (int k = 0; k < ns && !c->err; k++) {
                c->prog[splits[k]].x = n->greedy ? splits[k] + 1 : c->n;
                c->prog[splits[k]].y = n->greedy ? c->n : splits[k] + 1;
            }
        }
        break;
    }
    }
}

/* The bytes a match can start with, when no match can be empty and every start is a
   code-point boundary the search would visit anyway (no stray continuation bytes). */
static void compute_first(mlops__regex *re)
{
    re->use_first = false;
    re->first_only = -1;
    memset(re->first, 0, sizeof re->first);
    int n = re->n;
    int *stack = malloc((size_t)(2 * n + 2) * sizeof *stack);
    uint8_t *seen = calloc((size_t)n, 1);
    if (!stack || !seen)
        goto out;
    int sp = 0;
    stack[sp++] = 0;
    while (sp > 0) {
        int pc = stack[--sp];
        if (seen[pc])
            continue;
        seen[pc] = 1;
        const inst *in = &re->prog[pc];
        switch (in->op) {
        case I_MATCH:
        case I_ANY:
            goto out;
        case I_CHAR:
            re->first[lead_byte((uint32_t)in->x)] = 1;
            break;
        case I_SET: {
            const cset *s = &re->sets[in->x];
            if (s->neg)
                goto out;
            for (unsigned c = 0; c < 256; c++)
                if ((s->lo[c >> 3] >> (c & 7)) & 1)
                    re->first[lead_byte(c)] = 1;
            for (int i = 0; i < s->nr; i++) {
                if (s->r[2 * i + 1] >= PSEUDO)
                    goto out;
                for (int b = lead_byte(s->r[2 * i]); b <= lead_byte(s->r[2 * i + 1]); b++)
                    re->first[b] = 1;
            }
            break;
        }
        case I_SPLIT:
            stack[sp++] = in->y;
            stack[sp++] = in->x;
            break;
        case I_JMP:
            stack[sp++] = in->x;
            break;
        default: /* assertions: followed as if they held */
            stack[sp++] = pc + 1;
            break;
        }
    }
    int count = 0;
    for (int b = 0; b < 256; b++)
        if (re->first[b]) {
            count++;
            re->first_only = b;
        }
    for (int b = 0x80; b < 0xc0; b++)
        if (re->first[b])
            goto out;
    re->use_first = count < 256;
    if (count != 1)
        re->first_only = -1;
out:
    if (!re->use_first)
        re->first_only = -1;
    free(stack);
    free(seen);
}

static void free_sets(cset *sets, int n)
{
    for (int i = 0; i < n; i++)
        free(sets[i].r);
    free(sets);
}

int mlops__regex_compile_flags(const char *pattern, unsigned flags, const char *what,
                               mlops__regex **out)
{
    *out = NULL;
    what = what ? what : "regex";
    size_t plen = strlen(pattern);
    if (plen > MAX_PATTERN)
        return mlops__error(MLOPS_EINVAL, "%s: pattern longer than %d bytes", what,
                            MAX_PATTERN);
    parser ps = {.p = pattern, .start = pattern, .end = pattern + plen, .what = what};
    ps.icase = (flags & MLOPS__REGEX_ICASE) != 0;
    bool multiline = (flags & MLOPS__REGEX_MULTILINE) != 0;
    /* leading inline flags: (?i) (?m) (?im) ... */
    if (plen >= 4 && ps.p[0] == '(' && ps.p[1] == '?') {
        const char *q = ps.p + 2;
        bool fi = false, fm = false;
        for (; *q == 'i' || *q == 'm'; q++) {
            fi |= *q == 'i';
            fm |= *q == 'm';
        }
        if (*q == ')' && q > ps.p + 2) {
            ps.icase |= fi;
            multiline |= fm;
            ps.p = q + 1;
        }
    }
    ps.cappool = (int)plen * 2 + 8;
    ps.pool = malloc((size_t)ps.cappool * sizeof *ps.pool);
    if (!ps.pool)
        return mlops__error_oom("regex");
    node *root = parse_alt(&ps);
    if (!ps.err && root && ps.p < ps.end)
        fail(&ps, "unmatched )");
    if (ps.err || !root) {
        free(ps.pool);
        free_sets(ps.sets, ps.nsets);
        return ps.err ? ps.err : mlops__error(MLOPS_EINVAL, "%s: bad pattern", what);
    }
    compiler c = {.what = what};
    gen(&c, root);
    emit(&c, I_MATCH, 0);
    free(ps.pool);
    mlops__regex *re = c.err ? NULL : calloc(1, sizeof *re);
    if (!re) {
        free(c.prog);
        free_sets(ps.sets, ps.nsets);
        return c.err ? c.err : mlops__error_oom("regex");
    }
    re->prog = c.prog;
    re->n = c.n;
    re->sets = ps.sets;
    re->nsets = ps.nsets;
    re->multiline = multiline;
    re->anchored = !multiline && re->prog[0].op == I_BOL;
    compute_first(re);
    *out = re;
    return MLOPS_OK;
}

int mlops__regex_compile(const char *pattern, const char *what, mlops__regex **out)
{
    return mlops__regex_compile_flags(pattern, MLOPS__REGEX_MULTILINE, what, out);
}

void mlops__regex_free(mlops__regex *re)
{
    if (!re)
        return;
    free(re->prog);
    free_sets(re->sets, re->nsets);
    free(re);
}

/* ------------------------------------------------------------------ the VM ------ */

typedef struct vm {
    const mlops__regex *re;
    const unsigned char *s;
    size_t n;
    unsigned *mark;
    int *stack;
} vm;

typedef struct thread_list {
    int *pc;
    size_t *start;
    int n;
} thread_list;

static bool holds(const vm *v, int op, size_t i)
{
    const unsigned char *s = v->s;
    switch (op) {
    case I_BOL: return i == 0 || (v->re->multiline && s[i - 1] == '\n');
    case I_EOL: return i == v->n || (v->re->multiline && s[i] == '\n');
    default: {
        bool b = (i > 0 && is_word_byte(s[i - 1])) != (i < v->n && is_word_byte(s[i]));
        return b == (op == I_WORDB);
    }
    }
}

/* Adds pc and what it reaches without consuming (jumps, splits, assertions that hold
   at i) to l, in priority order, unless already there this step. In test mode returns
   true as soon as MATCH is reachable. */
static bool add_thread(const vm *v, thread_list *l, unsigned gen, int pc, size_t start,
                       size_t i, bool test)
{
    const inst *prog = v->re->prog;
    int *stack = v->stack;
    int sp = 0;
    stack[sp++] = pc;
    while (sp > 0) {
        pc = stack[--sp];
        if (v->mark[pc] == gen)
            continue;
        v->mark[pc] = gen;
        const inst *in = &prog[pc];
        switch (in->op) {
        case I_JMP: stack[sp++] = in->x; break;
        case I_SPLIT: stack[sp++] = in->y; stack[sp++] = in->x; break; /* x first */
        case I_BOL: case I_EOL: case I_WORDB: case I_NWORDB:
            if (holds(v, in->op, i))
                stack[sp++] = pc + 1;
            break;
        case I_MATCH:
            if (test)
                return true;
            /* fall through */
        default:
            l->pc[l->n] = pc;
            l->start[l->n] = start;
            l->n++;
        }
    }
    return false;
}

static bool step_ok(const mlops__regex *re, const inst *in, uint32_t c)
{
    switch (in->op) {
    case I_CHAR: return c == (uint32_t)in->x;
    case I_SET: return cset_has(&re->sets[in->x], c);
    case I_ANY: return c != '\n';
    default: return false;
    }
}

/* The next step's stamp; marks are cleared when the counter wraps (texts over 4 GiB). */
static unsigned next_gen(unsigned gen, unsigned *mark, int np)
{
    if (++gen == 0) {
        memset(mark, 0, (size_t)np * sizeof *mark);
        gen = 1;
    }
    return gen;
}

/* Next position >= i where a match can start (n when none). */
static size_t skip_to_start(const mlops__regex *re, const unsigned char *s, size_t n, size_t i)
{
    if (re->first_only >= 0) {
        const void *p = memchr(s + i, re->first_only, n - i);
        return p ? (size_t)((const unsigned char *)p - s) : n;
    }
    while (i < n && !re->first[s[i]])
        i++;
    return i;
}

static bool run(const mlops__regex *re, const char *text, size_t n, size_t from, bool test,
                size_t *ms, size_t *me)
{
    int np = re->n;
    int lpc[2 * STACK_PROG], lstack[2 * STACK_PROG + 2];
    size_t lstart[2 * STACK_PROG];
    unsigned lmark[STACK_PROG];
    int *pcs = lpc, *stack = lstack;
    size_t *starts = lstart;
    unsigned *mark = lmark;
    if (np > STACK_PROG) {
        pcs = malloc((size_t)np * 2 * sizeof *pcs);
        starts = malloc((size_t)np * 2 * sizeof *starts);
        mark = malloc((size_t)np * sizeof *mark);
        stack = malloc((size_t)(np * 2 + 2) * sizeof *stack);
        if (!pcs || !starts || !mark || !stack) {
            free(pcs), free(starts), free(mark), free(stack);
            return false;
        }
    }
    memset(mark, 0, (size_t)np * sizeof *mark);
    const unsigned char *s = (const unsigned char *)text;
    vm v = {re, s, n, mark, stack};
    thread_list cur = {pcs, starts, 0}, nxt = {pcs + np, starts + np, 0};
    unsigned gen = 1;
    bool matched = false;
    size_t mstart = 0, mend = 0;
    size_t i = from;
    for (;;) {
        if (!matched) {
            if (cur.n == 0) { /* no live thread: jump to where a match can start */
                if (re->anchored && i > 0)
                    break;
                if (re->use_first) {
                    size_t j = skip_to_start(re, s, n, i);
                    if (j >= n)
                        break; /* no match can be empty, so none at the end either */
                    if (j != i) {
                        i = j;
                        gen = next_gen(gen, mark, np); /* marks are per position */
                    }
                }
            }
            if (add_thread(&v, &cur, gen, 0, i, i, test)) {
                matched = true; /* test mode: MATCH reachable */
                break;
            }
        }
        size_t len = 1;
        uint32_t c = i < n ? decode(s, n, i, &len) : 0;
        if (cur.n == 0) {
            if (matched || i >= n)
                break;
            gen = next_gen(gen, mark, np);
            i += len;
            continue;
        }
        gen = next_gen(gen, mark, np);
        nxt.n = 0;
        for (int t = 0; t < cur.n; t++) {
            const inst *in = &re->prog[cur.pc[t]];
            if (in->op == I_MATCH) {
                matched = true;
                mstart = cur.start[t];
                mend = i;
                break; /* lower-priority threads die */
            }
            if (i < n && step_ok(re, in, c) &&
                add_thread(&v, &nxt, gen, cur.pc[t] + 1, cur.start[t], i + len, test)) {
                matched = true;
                goto done;
            }
        }
        thread_list tmp = cur;
        cur = nxt;
        nxt = tmp;
        if (i >= n)
            break; /* nothing consumes past the end */
        i += len;
    }
done:
    if (np > STACK_PROG)
        free(pcs), free(starts), free(mark), free(stack);
    if (matched && !test) {
        *ms = mstart;
        *me = mend;
    }
    return matched;
}

bool mlops__regex_search(const mlops__regex *re, const char *s, size_t n, size_t from,
                         size_t *ms, size_t *me)
{
    if (from > n)
        return false;
    return run(re, s, n, from, false, ms, me);
}

bool mlops__regex_test(const mlops__regex *re, const char *s, size_t n)
{
    return run(re, s, n, 0, true, NULL, NULL);
}
