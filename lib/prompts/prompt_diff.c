/*
 * Line diff between two versions: the longest common subsequence of lines (classic
 * dynamic programming after trimming the common head and tail), printed as unified
 * diff hunks with three lines of context. The table is bounded (DIFF_MAX_CELLS) so a
 * huge pair of templates fails with MLOPS_ELIMIT instead of exhausting memory.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define DIFF_MAX_CELLS (8u * 1024u * 1024u)
#define CONTEXT 3

typedef struct line {
    const char *s;
    size_t n;
} line;

typedef struct op {
    char kind; /* ' ', '-', '+' */
    uint32_t ai, bi; /* positions in a and b (0-based) */
} op;

static line *split_lines(const char *text, size_t *count)
{
    size_t n = 0, cap = 16;
    line *v = malloc(cap * sizeof *v);
    const char *p = text;
    while (v && *p) {
        const char *nl = strchr(p, '\n');
        size_t len = nl ? (size_t)(nl - p) : strlen(p);
        if (n == cap) {
            line *w = realloc(v, (cap *= 2) * sizeof *v);
            if (!w) {
                free(v);
                return NULL;
            }
            v = w;
        }
        v[n++] = (line){p, len};
        p += len + (nl ? 1 : 0);
    }
    *count = n;
    return v;
}

static bool same(const line *a, const line *b)
{
    return a->n == b->n && memcmp(a->s, b->s, a->n) == 0;
}

static void put_line(mlops__buf *out, char kind, const line *l)
{
    mlops__buf_putc(out, kind);
    mlops__buf_append(out, l->s, l->n);
    mlops__buf_putc(out, '\n');
}

static void hunk_range(mlops__buf *out, char sign, uint32_t start, uint32_t count)
{
    if (count == 1)
        mlops__buf_printf(out, "%c%u", sign, start + 1);
    else
        mlops__buf_printf(out, "%c%u,%u", sign, count ? start + 1 : start, count);
}

int mlops__prompt_line_diff(const char *a, const char *b, const char *label_a,
                            const char *label_b, char **out)
{
    *out = NULL;
    size_t na = 0, nb = 0;
    line *la = split_lines(a, &na), *lb = split_lines(b, &nb);
    op *ops = NULL;
    uint32_t *dp = NULL;
    int rc = MLOPS_OK;
    if (!la || !lb) {
        rc = mlops__error_oom("diff");
        goto done;
    }
    size_t head = 0;
    while (head < na && head < nb && same(&la[head], &lb[head]))
        head++;
    size_t tail = 0;
    while (tail < na - head && tail < nb - head && same(&la[na - 1 - tail], &lb[nb - 1 - tail]))
        tail++;
    size_t ma = na - head - tail, mb = nb - head - tail;
    if (ma && mb && (ma + 1) > DIFF_MAX_CELLS / (mb + 1)) {
        rc = mlops__error(MLOPS_ELIMIT, "diff: %zu x %zu changed lines is too large to diff", ma,
                          mb);
        goto done;
    }
    ops = malloc((na + nb + 1) * sizeof *ops);
    dp = calloc((ma + 1) * (mb + 1), sizeof *dp);
    if (!ops || !dp) {
        rc = mlops__error_oom("diff");
        goto done;
    }
    /* dp[i][j] = LCS length of a[head+i..] and b[head+j..] within the middle part */
    for (size_t i = ma; i-- > 0;)
        for (size_t j = mb; j-- > 0;) {
            size_t at = i * (mb + 1) + j;
            if (same(&la[head + i], &lb[head + j]))
                dp[at] = dp[(i + 1) * (mb + 1) + j + 1] + 1;
            else {
                uint32_t down = dp[(i + 1) * (mb + 1) + j], right = dp[i * (mb + 1) + j + 1];
                dp[at] = down >= right ? down : right;
            }
        }
    size_t nops = 0;
    for (size_t k = 0; k < head; k++)
        ops[nops++] = (op){' ', (uint32_t)k, (uint32_t)k};
    size_t i = 0, j = 0;
    while (i < ma || j < mb) {
        uint32_t ai = (uint32_t)(head + i), bi = (uint32_t)(head + j);
        if (i < ma && j < mb && same(&la[ai], &lb[bi])) {
            ops[nops++] = (op){' ', ai, bi};
            i++;
            j++;
        } else if (i < ma && (j == mb || dp[(i + 1) * (mb + 1) + j] >= dp[i * (mb + 1) + j + 1])) {
            ops[nops++] = (op){'-', ai, bi};
            i++;
        } else {
            ops[nops++] = (op){'+', ai, bi};
            j++;
        }
    }
    for (size_t k = 0; k < tail; k++)
        ops[nops++] = (op){' ', (uint32_t)(na - tail + k), (uint32_t)(nb - tail + k)};

    mlops__buf buf;
    mlops__buf_init(&buf);
    mlops__buf_puts(&buf, "");
    bool any = false;
    size_t k = 0;
    while (k < nops) {
        while (k < nops && ops[k].kind == ' ')
            k++;
        if (k == nops)
            break;
        if (!any) {
            mlops__buf_printf(&buf, "--- %s\n+++ %s\n", label_a, label_b);
            any = true;
        }
        size_t start = k > CONTEXT ? k - CONTEXT : 0, end = k;
        /* extend over changes separated by at most 2*CONTEXT unchanged lines */
        for (;;) {
            while (end < nops && ops[end].kind != ' ')
                end++;
            size_t next = end;
            while (next < nops && ops[next].kind == ' ')
                next++;
            if (next < nops && next - end <= 2 * CONTEXT) {
                end = next;
                continue;
            }
            end = end + CONTEXT < nops ? end + CONTEXT : nops;
            break;
        }
        uint32_t ca = 0, cb = 0;
        for (size_t q = start; q < end; q++) {
            ca += ops[q].kind != '+';
            cb += ops[q].kind != '-';
        }
        mlops__buf_puts(&buf, "@@ ");
        hunk_range(&buf, '-', ops[start].ai, ca);
        mlops__buf_putc(&buf, ' ');
        hunk_range(&buf, '+', ops[start].bi, cb);
        mlops__buf_puts(&buf, " @@\n");
        for (size_t q = start; q < end; q++)
            put_line(&buf, ops[q].kind,
                     ops[q].kind == '+' ? &lb[ops[q].bi] : &la[ops[q].ai]);
        k = end;
    }
    *out = mlops__buf_take(&buf);
    if (!*out)
        rc = mlops__error_oom("diff");
done:
    free(la);
    free(lb);
    free(ops);
    free(dp);
    return rc;
}

/* The text a version is diffed as: the template, chat templates pretty-printed. */
static char *diff_text(int type, const char *text)
{
    if (type == MLOPS__PROMPT_TEXT)
        return mlops__strdup(text);
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    char *s = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16)) : mlops__strdup(text);
    json_decref(j);
    return s;
}

static int load_version(mlops__store *st, int64_t id, const char *name, int64_t v, int *type,
                        char **text, char **config)
{
    char *message = NULL, *tags = NULL, *by = NULL, hash[33];
    int64_t created = 0;
    int rc = mlops__prompt_db_version_row(st, id, name, v, type, text, config, &message, &tags,
                                          &by, &created, hash);
    free(message);
    free(tags);
    free(by);
    return rc;
}

int mlops__prompts_diff(mlops__prompts *p, const char *name, int64_t v1, int64_t v2, char **out)
{
    *out = NULL;
    int rc = mlops__prompt_name_check(name);
    if (rc != MLOPS_OK)
        return rc;
    int t1 = 0, t2 = 0;
    char *a = NULL, *b = NULL, *ca = NULL, *cb = NULL;
    int64_t id = 0;
    mlops__store_lock(p->st);
    rc = mlops__prompt_db_id(p->st, name, &id);
    if (rc == MLOPS_OK)
        rc = load_version(p->st, id, name, v1, &t1, &a, &ca);
    if (rc == MLOPS_OK)
        rc = load_version(p->st, id, name, v2, &t2, &b, &cb);
    mlops__store_unlock(p->st);
    char *da = NULL, *db = NULL, *la = NULL, *lb = NULL, *cfg = NULL;
    if (rc == MLOPS_OK) {
        da = diff_text(t1, a);
        db = diff_text(t2, b);
        la = mlops__sprintf("%s:%lld", name, (long long)v1);
        lb = mlops__sprintf("%s:%lld", name, (long long)v2);
        if (!da || !db || !la || !lb)
            rc = mlops__error_oom("diff");
    }
    if (rc == MLOPS_OK)
        rc = mlops__prompt_line_diff(da, db, la, lb, out);
    if (rc == MLOPS_OK && strcmp(ca, cb) != 0) {
        /* model parameters changed too: a second block for the config */
        char *pa = diff_text(MLOPS__PROMPT_CHAT, ca), *pb = diff_text(MLOPS__PROMPT_CHAT, cb);
        char *cla = mlops__sprintf("%s config", la), *clb = mlops__sprintf("%s config", lb);
        if (pa && pb && cla && clb)
            rc = mlops__prompt_line_diff(pa, pb, cla, clb, &cfg);
        else
            rc = mlops__error_oom("diff");
        if (rc == MLOPS_OK) {
            char *joined = mlops__sprintf("%s%s", *out, cfg);
            free(*out);
            *out = joined;
            if (!joined)
                rc = mlops__error_oom("diff");
        }
        free(pa);
        free(pb);
        free(cla);
        free(clb);
    }
    if (rc != MLOPS_OK) {
        free(*out);
        *out = NULL;
    }
    free(a);
    free(b);
    free(ca);
    free(cb);
    free(da);
    free(db);
    free(la);
    free(lb);
    free(cfg);
    return rc;
}
