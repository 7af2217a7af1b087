/*
 * WordPiece (GGUF tokenizer model "bert", as llama.cpp's converter stores BERT
 * vocabularies: word-initial pieces carry a U+2581 prefix, continuation pieces none).
 * The text is NFD-normalised, lowercased and stripped of combining marks, split at whitespace, and every punctuation
 * mark, ASCII symbol and CJK ideograph becomes a word of its own; each word is then cut
 * greedily into the longest vocabulary pieces, or is [UNK] when that fails.
 */
#include "vocab.h"

#include <stdlib.h>
#include <string.h>

static bool is_cjk(uint32_t c)
{
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) ||
           (c >= 0x20000 && c <= 0x2A6DF) || (c >= 0x2A700 && c <= 0x2B73F) ||
           (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B820 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

static int word_out(const mlops__vocab *v, const char *w, size_t n, int32_t **ids, size_t *nid,
                    size_t *cap)
{
    if (n <= 3)
        return MLOPS_OK;
    size_t mark = *nid;
    int rc = MLOPS_OK;
    for (size_t i = 0; i < n && rc == MLOPS_OK;) {
        size_t j = i + v->max_len < n ? i + v->max_len : n;
        int32_t id = -1;
        for (; j > i; j--)
            if ((id = mlops__vocab_find(v, w + i, j - i)) >= 0)
                break;
        if (id < 0) {
            *nid = mark;
            return v->unk >= 0 ? mlops__ids_push(ids, nid, cap, v->unk) : MLOPS_OK;
        }
        rc = mlops__ids_push(ids, nid, cap, id);
        i = j;
    }
    return rc;
}

int mlops__tokenize_wpm(const mlops__vocab *v, const char *text, size_t len, int32_t **ids,
                        size_t *n, size_t *cap)
{
    /* each input byte becomes at most 4 code points of at most 4 bytes, plus markers */
    char *w = malloc(len * 16 + 8);
    if (!w)
        return mlops__error_oom("tokenizer");
    size_t wl = 0;
    int rc = MLOPS_OK;
#define START_WORD() (memcpy(w, "\xe2\x96\x81", 3), wl = 3)
    START_WORD();
    for (size_t i = 0; i < len && rc == MLOPS_OK;) {
        size_t l;
        uint32_t cp0 = mlops__utf8_decode(text + i, len - i, &l);
        i += l;
        uint32_t d[4];
        int nd = mlops__u_nfd(cp0, d);
        for (int k = 0; k < nd && rc == MLOPS_OK; k++) {
            uint32_t cp = d[k];
            unsigned fl = mlops__u_flags(cp);
            if (fl & MLOPS__U_SPACE) {
                rc = word_out(v, w, wl, ids, n, cap);
                START_WORD();
                continue;
            }
            if (cp == 0 || cp == 0xFFFD || (fl & (MLOPS__U_CONTROL | MLOPS__U_MARK)))
                continue;
            char u[4];
            int ul = mlops__utf8_encode(mlops__u_lower(cp), u);
            if ((fl & MLOPS__U_PUNCT) || (cp < 0x7F && (fl & MLOPS__U_SYMBOL)) || is_cjk(cp)) {
                rc = word_out(v, w, wl, ids, n, cap);
                START_WORD();
                memcpy(w + wl, u, (size_t)ul);
                wl += (size_t)ul;
                if (rc == MLOPS_OK)
                    rc = word_out(v, w, wl, ids, n, cap);
                START_WORD();
            } else {
                memcpy(w + wl, u, (size_t)ul);
                wl += (size_t)ul;
            }
        }
    }
    if (rc == MLOPS_OK)
        rc = word_out(v, w, wl, ids, n, cap);
#undef START_WORD
    free(w);
    return rc;
}
