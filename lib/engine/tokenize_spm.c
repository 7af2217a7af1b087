/*
 * SentencePiece-style tokenization (GGUF tokenizer model "llama"): spaces become U+2581,
 * a space is prefixed to text that follows the start or a special token, then adjacent
 * pieces are merged greedily, always taking the pair whose merged text is the vocabulary
 * token with the highest score (leftmost on ties). Pieces left without a token fall back
 * to <0xXX> byte tokens.
 */
#include "tokenize_merge.h"

#include <stdlib.h>
#include <string.h>

/* What a pair lookup needs: the vocabulary and the escaped text the symbols point into. */
typedef struct spm_text {
    const mlops__vocab *v;
    const char *s;
} spm_text;

/* Pairs merge when their joined text is a token, the highest score first. */
static inline bool spm_pair(const void *ctx, const mlops__tok_sym *sy, int l, int r,
                            mlops__tok_pair *pair)
{
    const spm_text *t = ctx;
    int32_t id = mlops__vocab_find(t->v, t->s + sy[l].start, sy[l].n + sy[r].n);
    if (id < 0)
        return false;
    pair->order = mlops__tok_score_order(t->v->score[id]);
    pair->result = id;
    return true;
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
    mlops__tok_sym *sy = malloc((sl + 1) * sizeof *sy);
    mlops__tok_heap h = {0};
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
        sy[ns] = (mlops__tok_sym){-1, i, cl, ns - 1, -1};
        if (ns > 0)
            sy[ns - 1].next = ns;
        ns++;
        i += cl;
    }
    rc = mlops__tok_merge(sy, ns, &h, spm_pair, &(spm_text){v, s});
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
