/*
 * Byte-level BPE (GGUF tokenizer model "gpt2"). The text is first split into words by
 * the pre-tokenizer named in tokenizer.ggml.pre; the splitting regular expressions of
 * each family are implemented here as hand-written matchers over code points (leftmost
 * alternative first, greedy, as a backtracking engine would match them). Each word's
 * bytes are then merged pairwise by merge rank (lowest first, leftmost on ties).
 *
 *   gpt2:    's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)
 *   llama3:  (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 *            ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
 *   qwen2:   as llama3 with \p{N} (one digit per word)
 *   falcon:  [\p{P}\$\+<=>\^~\|`]+ then gpt2 then [0-9][0-9][0-9]
 *   default: [\p{P}\$\+<=>\^~\|]+ then gpt2 then \p{N}+ then [0-9][0-9][0-9]
 *   starcoder: \p{N} then gpt2
 * Stages apply in order to the pieces of the previous one; text a stage does not match
 * stays a piece of its own.
 */
#include "tokenize_merge.h"

#include <stdlib.h>
#include <string.h>

int mlops__pre_type_from_name(const char *name)
{
    static const struct {
        const char *name;
        int type;
    } map[] = {
        {"default", MLOPS__PRE_DEFAULT}, {"gpt-2", MLOPS__PRE_GPT2}, {"gpt2", MLOPS__PRE_GPT2},
        {"phi-2", MLOPS__PRE_GPT2}, {"jina-es", MLOPS__PRE_GPT2}, {"jina-de", MLOPS__PRE_GPT2},
        {"llama3", MLOPS__PRE_LLAMA3}, {"llama-v3", MLOPS__PRE_LLAMA3},
        {"llama-bpe", MLOPS__PRE_LLAMA3}, {"falcon3", MLOPS__PRE_LLAMA3},
        {"qwen2", MLOPS__PRE_QWEN2}, {"deepseek-r1-qwen", MLOPS__PRE_QWEN2},
        {"falcon", MLOPS__PRE_FALCON}, {"starcoder", MLOPS__PRE_STARCODER},
        {"refact", MLOPS__PRE_STARCODER}, {"smollm", MLOPS__PRE_STARCODER},
        {"command-r", MLOPS__PRE_STARCODER}, {"codeshell", MLOPS__PRE_STARCODER},
    };
    if (!name)
        return MLOPS__PRE_DEFAULT;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(map); i++)
        if (strcmp(map[i].name, name) == 0)
            return map[i].type;
    return -1;
}

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the rest to 256 + k. */
uint32_t mlops__bpe_byte_to_cp(uint8_t b)
{
    if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174)
        return b;
    uint32_t k = 0;
    for (unsigned x = 0; x < b; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174))
            k++;
    return 256 + k;
}

int mlops__bpe_cp_to_byte(uint32_t cp)
{
    if (cp < 256)
        return ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || cp >= 174) ? (int)cp : -1;
    if (cp >= 256 + 68)
        return -1;
    uint32_t k = 0;
    for (unsigned x = 0; x < 256; x++)
        if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || x >= 174)) {
            if (256 + k == cp)
                return (int)x;
            k++;
        }
    return -1;
}

/* ------------------------------------------------------------- matchers ---- */

typedef struct cps {
    const uint32_t *c;
    const unsigned *f;
    size_t n;
} cps;

#define FL(i) ((i) < s->n ? s->f[i] : 0u)
#define CP(i) ((i) < s->n ? s->c[i] : 0xFFFFFFFFu)
#define IS_L(i) ((FL(i) & MLOPS__U_LETTER) != 0)
#define IS_N(i) ((FL(i) & MLOPS__U_NUMBER) != 0)
#define IS_S(i) ((FL(i) & MLOPS__U_SPACE) != 0)
#define IS_OTHER(i) ((i) < s->n && !(FL(i) & (MLOPS__U_LETTER | MLOPS__U_NUMBER | MLOPS__U_SPACE)))

/* Matches 's 't 're 've 'm 'll 'd at i (case-insensitive when ci). */
static size_t contraction(const cps *s, size_t i, bool ci)
{
    if (CP(i) != '\'')
        return 0;
    uint32_t a = CP(i + 1), b = CP(i + 2);
    if (ci) {
        a = a < 128 ? mlops__u_lower(a) : a;
        b = b < 128 ? mlops__u_lower(b) : b;
    }
    if (a == 's' || a == 't' || a == 'm' || a == 'd')
        return 2;
    if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
        return 3;
    return 0;
}

static size_t run(const cps *s, size_t i, unsigned mask)
{
    size_t j = i;
    while (j < s->n && (s->f[j] & mask))
        j++;
    return j - i;
}

static size_t run_other(const cps *s, size_t i)
{
    size_t j = i;
    while (IS_OTHER(j))
        j++;
    return j - i;
}

static size_t match_gpt2(const cps *s, size_t i)
{
    size_t m = contraction(s, i, false);
    if (m)
        return m;
    size_t j = i + (CP(i) == ' ');
    if (IS_L(j))
        return j - i + run(s, j, MLOPS__U_LETTER);
    if (IS_N(j))
        return j - i + run(s, j, MLOPS__U_NUMBER);
    if (IS_OTHER(j))
        return j - i + run_other(s, j);
    size_t w = run(s, i, MLOPS__U_SPACE);
    if (w > 1 && i + w < s->n)
        return w - 1; /* \s+(?!\S) leaves the last space to the next word */
    return w ? w : 1;
}

static size_t match_llama3(const cps *s, size_t i, size_t max_digits)
{
    size_t m = contraction(s, i, true);
    if (m)
        return m;
    uint32_t c = CP(i);
    if (i < s->n && c != '\r' && c != '\n' && !IS_L(i) && !IS_N(i) && IS_L(i + 1))
        return 1 + run(s, i + 1, MLOPS__U_LETTER);
    if (IS_L(i))
        return run(s, i, MLOPS__U_LETTER);
    if (IS_N(i)) {
        size_t d = run(s, i, MLOPS__U_NUMBER);
        return d < max_digits ? d : max_digits;
    }
    size_t j = i + (c == ' ');
    if (IS_OTHER(j)) {
        size_t e = j + run_other(s, j);
        while (CP(e) == '\r' || CP(e) == '\n')
            e++;
        return e - i;
    }
    size_t w = 0, last_nl = 0;
    while (IS_S(i + w)) {
        if (CP(i + w) == '\r' || CP(i + w) == '\n')
            last_nl = w + 1;
        w++;
    }
    if (last_nl)
        return last_nl;
    if (w > 1 && i + w < s->n)
        return w - 1;
    return w ? w : 1;
}

static bool falcon_punct(const cps *s, size_t i, bool backtick)
{
    uint32_t c = CP(i);
    return (FL(i) & MLOPS__U_PUNCT) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' ||
           c == '^' || c == '~' || c == '|' || (backtick && c == '`');
}

/* Stage kinds. */
enum { ST_GPT2, ST_LLAMA3, ST_QWEN2, ST_PUNCT, ST_PUNCT_BT, ST_DIGITS3, ST_NUMS, ST_NUM1 };

/* Length of the match at i, or 0 when the stage's expression does not match there. */
static size_t stage_match(int st, const cps *s, size_t i)
{
    switch (st) {
    case ST_GPT2: return match_gpt2(s, i);
    case ST_LLAMA3: return match_llama3(s, i, 3);
    case ST_QWEN2: return match_llama3(s, i, 1);
    case ST_PUNCT:
    case ST_PUNCT_BT: {
        size_t j = i;
        while (j < s->n && falcon_punct(s, j, st == ST_PUNCT_BT))
            j++;
        return j - i;
    }
    case ST_DIGITS3:
        return CP(i) >= '0' && CP(i) <= '9' && CP(i + 1) >= '0' && CP(i + 1) <= '9' &&
                       CP(i + 2) >= '0' && CP(i + 2) <= '9' ? 3 : 0;
    case ST_NUMS: return run(s, i, MLOPS__U_NUMBER);
    case ST_NUM1: return IS_N(i) ? 1 : 0;
    default: return 1;
    }
}

typedef struct pieces {
    size_t *end; /* code point index where each piece ends */
    size_t n, cap;
} pieces;

static int piece_add(pieces *p, size_t end)
{
    if (p->n == p->cap) {
        size_t c = p->cap ? p->cap * 2 : 64;
        size_t *e = realloc(p->end, c * sizeof *e);
        if (!e)
            return mlops__error_oom("pre-tokenizer");
        p->end = e;
        p->cap = c;
    }
    p->end[p->n++] = end;
    return MLOPS_OK;
}

/* Splits each piece of `in` by stage st into `out` (gaps between matches kept). */
static int apply_stage(int st, const cps *all, const pieces *in, pieces *out)
{
    out->n = 0;
    size_t start = 0;
    int rc = MLOPS_OK;
    for (size_t k = 0; k < in->n && rc == MLOPS_OK; k++) {
        size_t end = in->end[k];
        cps s = {all->c + start, all->f + start, end - start};
        size_t i = 0, gap = 0;
        while (i < s.n && rc == MLOPS_OK) {
            size_t m = stage_match(st, &s, i);
            if (m == 0) {
                i++;
                continue;
            }
            if (i > gap)
                rc = piece_add(out, start + i);
            if (rc == MLOPS_OK)
                rc = piece_add(out, start + i + m);
            i += m;
            gap = i;
        }
        if (rc == MLOPS_OK && gap < s.n)
            rc = piece_add(out, end);
        start = end;
    }
    return rc;
}

static int stages_of(int pre, int st[4])
{
    switch (pre) {
    case MLOPS__PRE_GPT2: st[0] = ST_GPT2; return 1;
    case MLOPS__PRE_LLAMA3: st[0] = ST_LLAMA3; return 1;
    case MLOPS__PRE_QWEN2: st[0] = ST_QWEN2; return 1;
    case MLOPS__PRE_FALCON: st[0] = ST_PUNCT_BT; st[1] = ST_GPT2; st[2] = ST_DIGITS3; return 3;
    case MLOPS__PRE_STARCODER: st[0] = ST_NUM1; st[1] = ST_GPT2; return 2;
    default: st[0] = ST_PUNCT; st[1] = ST_GPT2; st[2] = ST_NUMS; st[3] = ST_DIGITS3; return 4;
    }
}

/* ------------------------------------------------------------- merges ------ */

static const mlops__merge_slot *find_merge(const mlops__vocab *v, int32_t l, int32_t r)
{
    if (l < 0 || r < 0 || !v->merges)
        return NULL;
    uint64_t key = ((uint64_t)(uint32_t)l << 32 | (uint32_t)r) + 1;
    for (uint64_t h = mlops__hash64(&key, 8, 1) & v->merges_mask;; h = (h + 1) & v->merges_mask) {
        if (v->merges[h].key == key)
            return &v->merges[h];
        if (!v->merges[h].key)
            return NULL;
    }
}

/* Pairs merge by rank, the line number in tokenizer.ggml.merges: lowest first. */
static inline bool bpe_pair(const void *ctx, const mlops__tok_sym *sy, int l, int r,
                            mlops__tok_pair *pair)
{
    const mlops__merge_slot *m = find_merge(ctx, sy[l].id, sy[r].id);
    if (!m)
        return false;
    pair->order = m->rank;
    pair->result = m->result;
    return true;
}

/* Maps bytes to GPT-2 code points (UTF-8) into buf; returns the length. */
static size_t map_bytes(const char *w, size_t n, char *buf)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += (size_t)mlops__utf8_encode(mlops__bpe_byte_to_cp((uint8_t)w[i]), buf + k);
    return k;
}

static int bpe_word(const mlops__vocab *v, const char *w, size_t n, char *buf,
                    mlops__tok_sym *sy, mlops__tok_heap *h, int32_t **ids, size_t *nid,
                    size_t *cap)
{
    if (v->ignore_merges) {
        int32_t id = mlops__vocab_find(v, buf, map_bytes(w, n, buf));
        if (id >= 0)
            return mlops__ids_push(ids, nid, cap, id);
    }
    for (size_t i = 0; i < n; i++) {
        char one[4];
        int l = mlops__utf8_encode(mlops__bpe_byte_to_cp((uint8_t)w[i]), one);
        sy[i] = (mlops__tok_sym){mlops__vocab_find(v, one, (size_t)l), i, 1, (int)i - 1,
                                 i + 1 < n ? (int)i + 1 : -1};
    }
    int rc = mlops__tok_merge(sy, (int)n, h, bpe_pair, v);
    for (int i = 0; n > 0 && rc == MLOPS_OK; i = sy[i].next) {
        if (sy[i].id >= 0) {
            rc = mlops__ids_push(ids, nid, cap, sy[i].id);
        } else { /* a piece without a token: its bytes one by one, when they exist */
            for (size_t j = 0; j < sy[i].n && rc == MLOPS_OK; j++) {
                char one[4];
                int l = mlops__utf8_encode(mlops__bpe_byte_to_cp((uint8_t)w[sy[i].start + j]), one);
                int32_t id = mlops__vocab_find(v, one, (size_t)l);
                if (id >= 0)
                    rc = mlops__ids_push(ids, nid, cap, id);
            }
        }
        if (sy[i].next < 0)
            break;
    }
    return rc;
}

int mlops__tokenize_bpe(const mlops__vocab *v, const char *text, size_t len, int32_t **ids,
                        size_t *n, size_t *cap)
{
    uint32_t *c = malloc((len + 1) * sizeof *c);
    unsigned *f = malloc((len + 1) * sizeof *f);
    size_t *off = malloc((len + 2) * sizeof *off);
    char *buf = malloc(len * 2 + 8);
    mlops__tok_sym *sy = malloc((len + 1) * sizeof *sy);
    pieces a = {0}, b = {0};
    mlops__tok_heap h = {0};
    int rc = MLOPS_OK;
    if (!c || !f || !off || !buf || !sy) {
        rc = mlops__error_oom("tokenizer");
        goto out;
    }
    size_t nc = 0;
    for (size_t i = 0; i < len;) {
        size_t l;
        c[nc] = mlops__utf8_decode(text + i, len - i, &l);
        f[nc] = mlops__u_flags(c[nc]);
        off[nc++] = i;
        i += l;
    }
    off[nc] = len;
    cps all = {c, f, nc};
    int st[4], ns = stages_of(v->pre_type, st);
    if ((rc = piece_add(&a, nc)) != MLOPS_OK)
        goto out;
    for (int k = 0; k < ns && rc == MLOPS_OK; k++) {
        rc = apply_stage(st[k], &all, &a, &b);
        pieces t = a;
        a = b;
        b = t;
    }
    size_t start = 0;
    for (size_t k = 0; k < a.n && rc == MLOPS_OK; k++) {
        size_t bs = off[start], be = off[a.end[k]];
        if (be > bs)
            rc = bpe_word(v, text + bs, be - bs, buf, sy, &h, ids, n, cap);
        start = a.end[k];
    }
out:
    free(c);
    free(f);
    free(off);
    free(buf);
    free(sy);
    free(a.end);
    free(b.end);
    free(h.v);
    return rc;
}
