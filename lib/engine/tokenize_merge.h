/*
 * Private to the tokenizer files: the pairwise merge shared by byte-level BPE
 * (tokenize_bpe.c) and SentencePiece (tokenize_spm.c). Both start from a row of
 * symbols and repeatedly merge the adjacent pair that comes first in an order of their
 * own (BPE: lowest merge rank; SentencePiece: highest token score), leftmost on ties,
 * until no adjacent pair merges any more. Only the lookup of a pair differs.
 *
 * A binary heap holds every candidate pair; a merge invalidates the pairs of the two
 * symbols it joined, which stay in the heap and are skipped when popped (their size no
 * longer matches), so each merge costs O(log pairs) instead of a rescan of the row.
 *
 * The functions are static inline, and so are the tokenizers' lookups, so that each
 * tokenizer gets a copy with its own lookup inlined: called through the function
 * pointer, the lookup made BPE tokenization about 8% slower.
 */
#ifndef MLOPS_LIB_ENGINE_TOKENIZE_MERGE_H
#define MLOPS_LIB_ENGINE_TOKENIZE_MERGE_H

#include "vocab.h"

#include <stdlib.h>
#include <string.h>

/* A symbol: bytes [start, start + n) of the text, in a doubly linked row (-1 ends). A
   symbol merged into its left neighbour keeps n == 0. */
typedef struct mlops__tok_sym {
    int32_t id; /* the token of the symbol's text, or -1 */
    size_t start, n;
    int prev, next;
} mlops__tok_sym;

/* A candidate merge of sy[left] and sy[right]. */
typedef struct mlops__tok_pair {
    int left, right;
    int32_t order;  /* lower merges first: a merge rank, or mlops__tok_score_order() */
    int32_t result; /* the merged symbol's token */
    size_t size;    /* n of both when the pair was found: a stale pair no longer matches */
} mlops__tok_pair;

/* Candidate pairs by order; reuse one across words to keep its memory. */
typedef struct mlops__tok_heap {
    mlops__tok_pair *v;
    size_t n, cap;
} mlops__tok_heap;

/**
 * Whether sy[l] and sy[r] merge; if so, fills pair->order and pair->result.
 * `ctx` is the tokenizer's own lookup state.
 */
typedef bool (*mlops__tok_pair_fn)(const void *ctx, const mlops__tok_sym *sy, int l, int r,
                                   mlops__tok_pair *pair);

/**
 * A pair order that puts higher scores first and ties exactly where the floats are
 * equal (an int32 rather than a float or double keeps a pair at 24 bytes: the heap of
 * a long SentencePiece text is large, and 32-byte pairs made it measurably slower).
 */
static inline int32_t mlops__tok_score_order(float score)
{
    /* IEEE 754 bits read as a signed integer sort like the floats when non-negative;
       flipping the magnitude bits of negative ones makes all of them sort alike. -0
       and +0 compare equal as floats, so they must get one key. */
    uint32_t bits = 0;
    if (score != 0.0f)
        memcpy(&bits, &score, sizeof bits);
    int32_t key = (int32_t)bits;
    if (key < 0)
        key ^= INT32_MAX;
    return ~key; /* the highest score gets the lowest order */
}

static inline bool mlops__tok_pair_before(const mlops__tok_pair *a, const mlops__tok_pair *b)
{
    return a->order < b->order || (a->order == b->order && a->left < b->left);
}

static inline int mlops__tok_heap_push(mlops__tok_heap *h, mlops__tok_pair p)
{
    if (h->n == h->cap) {
        size_t c = h->cap ? h->cap * 2 : 64;
        mlops__tok_pair *v = realloc(h->v, c * sizeof *v);
        if (!v)
            return mlops__error_oom("tokenizer");
        h->v = v;
        h->cap = c;
    }
    size_t i = h->n++;
    while (i > 0 && mlops__tok_pair_before(&p, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return MLOPS_OK;
}

static inline mlops__tok_pair mlops__tok_heap_pop(mlops__tok_heap *h)
{
    mlops__tok_pair top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n)
            break;
        if (c + 1 < h->n && mlops__tok_pair_before(&h->v[c + 1], &h->v[c]))
            c++;
        if (!mlops__tok_pair_before(&h->v[c], &last))
            break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

static inline int mlops__tok_try_pair(mlops__tok_sym *sy, int l, int r, mlops__tok_heap *h,
                                      mlops__tok_pair_fn find, const void *ctx)
{
    if (l < 0 || r < 0)
        return MLOPS_OK;
    mlops__tok_pair p = {.left = l, .right = r, .size = sy[l].n + sy[r].n};
    if (!find(ctx, sy, l, r, &p))
        return MLOPS_OK;
    return mlops__tok_heap_push(h, p);
}

/**
 * Merges sy[0..nsym) (linked in order) until no adjacent pair is found by `find`:
 * a merged symbol takes the pair's result as its id. Empties h first; MLOPS_ENOMEM.
 */
static inline int mlops__tok_merge(mlops__tok_sym *sy, int nsym, mlops__tok_heap *h,
                                   mlops__tok_pair_fn find, const void *ctx)
{
    h->n = 0;
    int rc = MLOPS_OK;
    for (int i = 1; i < nsym && rc == MLOPS_OK; i++)
        rc = mlops__tok_try_pair(sy, i - 1, i, h, find, ctx);
    while (h->n > 0 && rc == MLOPS_OK) {
        mlops__tok_pair b = mlops__tok_heap_pop(h);
        mlops__tok_sym *l = &sy[b.left], *r = &sy[b.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != b.size)
            continue;
        l->n += r->n;
        l->id = b.result;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0)
            sy[r->next].prev = b.left;
        rc = mlops__tok_try_pair(sy, l->prev, b.left, h, find, ctx);
        if (rc == MLOPS_OK)
            rc = mlops__tok_try_pair(sy, b.left, l->next, h, find, ctx);
    }
    return rc;
}

#endif
