/*
 * SentencePiece-style tokenization (GGUF tokenizer model "llama"): spaces become U+2581,
 * a space is prefixed to text that follows the start or a special token, then adjacent
 * pieces are merged greedily, always taking the pair whose merged text is the vocabulary
 * token with the highest score (leftmost on ties). Pieces left without a token fall back
 * to <0xXX> byte tokens.
 */
#include "vocab.h"

#include <stdlib.h>
#include <string.h>

typedef struct sym {
    size_t start, n;
    int prev, next;
} sym;

typedef struct bigram {
    int left, right;
    float score;
    size_t size;
} bigram;

typedef struct heap {
    bigram *v;
    size_t n, cap;
} heap;

static bool before(const bigram *a, const bigram *b)
{
    return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static int heap_push(heap *h, bigram b)
{
    if (h->n == h->cap) {
        size_t c = h->cap ? h->cap * 2 : 64;
        bigram *p = realloc(h->v, c * sizeof *p);
        if (!p)
            return mlops__error_oom("tokenizer");
        h->v = p;
        h->cap = c;
    }
    size_t i = h->n++;
    while (i > 0 && before(&b, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = b;
    return MLOPS_OK;
}

static bigram heap_pop(heap *h)
{
    bigram top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static int try_add(const mlops__vocab *v, const char *s, sym *sy, heap *h, int l, int r)
{
    if (l < 0 || r < 0)
        return MLOPS_OK;
    size_t n = sy[l].n + sy[r].n;
    int32_t id = mlops__vocab_find(v, s + sy[l].start, n);
    if (id < 0)
        return MLOPS_OK;
    return heap_push(h, (bigram){l, r, v->score[id], n});
}

int mlops__tokenize_spm(const mlops__vocab *v, const char *text, size_t len, bool add_prefix,
                        int32_t **ids, size_t *n, size_t *cap)
{
    /* escape: ' ' -> U+2581 (3 bytes) */
    size_t spaces = 0;
    for (size_t i = 0; i < len; i++)
        spaces += text[i] == ' ';
    size_t sl = len + 2 * spaces + (add_prefix ? 3 : 0);
    char *s = malloc(sl + 1);
    sym *sy = malloc((sl + 1) * sizeof *sy);
    heap h = {0};
    int rc = MLOPS_OK;
    if (!s || !sy) {
        rc = mlops__error_oom("tokenizer");
        goto out;
    }
    size_t k = 0;
    if (add_prefix)
        memcpy(s + k, "\xe2\x96\x81", 3), k += 3;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ')
            memcpy(s + k, "\xe2\x96\x81", 3), k += 3;
        else
            s[k++] = text[i];
    }
    int ns = 0;
    for (size_t i = 0; i < sl;) {
        unsigned char c = (unsigned char)s[i];
        size_t cl = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 1;
        if (cl > sl - i)
            cl = sl - i;
        sy[ns] = (sym){i, cl, ns - 1, -1};
        if (ns > 0)
            sy[ns - 1].next = ns;
        ns++;
        i += cl;
    }
    for (int i = 1; i < ns && rc == MLOPS_OK; i++)
        rc = try_add(v, s, sy, &h, i - 1, i);
    while (h.n > 0 && rc == MLOPS_OK) {
        bigram b = heap_pop(&h);
        sym *l = &sy[b.left], *r = &sy[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = b.left;
        rc = try_add(v, s, sy, &h, l->prev, b.left);
        if (rc == MLOPS_OK)
            rc = try_add(v, s, sy, &h, b.left, l->next);
    }
    for (int i = 0; i < ns && ns > 0 && rc == MLOPS_OK; i = sy[i].next) {
        int32_t id = mlops__vocab_find(v, s + sy[i].start, sy[i].n);
        if (id >= 0) {
            rc = mlops__ids_push(ids, n, cap, id);
        } else {
            for (size_t j = 0; j < sy[i].n && rc == MLOPS_OK; j++) {
                int32_t bt = v->byte_tok[(unsigned char)s[sy[i].start + j]];
                if (bt < 0)
                    bt = v->unk;
                if (bt >= 0)
                    rc = mlops__ids_push(ids, n, cap, bt);
            }
        }
        if (sy[i].next < 0)
            break;
    }
out:
    free(s);
    free(sy);
    free(h.v);
    return rc;
}
