/* Private to lib/engine: the vocabulary layout shared by the tokenizer files. */
#ifndef MLOPS_LIB_ENGINE_VOCAB_H
#define MLOPS_LIB_ENGINE_VOCAB_H

#include "engine.h"

/* Pre-tokenizer pipelines for byte-level BPE (tokenizer.ggml.pre). */
enum {
    MLOPS__PRE_DEFAULT = 0,
    MLOPS__PRE_GPT2,
    MLOPS__PRE_LLAMA3,
    MLOPS__PRE_QWEN2,
    MLOPS__PRE_FALCON,
    MLOPS__PRE_STARCODER
};

typedef struct mlops__merge_slot {
    uint64_t key; /* (left id << 32 | right id) + 1; 0 = empty */
    int32_t rank;
    int32_t result; /* token id of the merged text, or -1 */
} mlops__merge_slot;

struct mlops__vocab {
    int type;
    int32_t n;
    char **text;
    uint32_t *len;
    float *score;
    uint8_t *ttype;
    int32_t *ht; /* text -> id, open addressing, -1 empty */
    uint64_t ht_mask;
    mlops__merge_slot *merges;
    uint64_t merges_mask;
    int32_t bos, eos, eot, unk, sep, pad, nl;
    bool add_bos, add_eos, add_space_prefix, ignore_merges;
    int pre_type;
    char *pre;
    char *chat_template;
    int32_t *special; /* control/user/unknown ids, longest text first */
    size_t n_special;
    int32_t *eog;
    size_t n_eog;
    int32_t byte_tok[256]; /* SentencePiece <0xXX> tokens (-1 when absent) */
    uint32_t max_len;
};

/* Appends ids through mlops__vocab-independent growth helper. */
int mlops__ids_push(int32_t **ids, size_t *n, size_t *cap, int32_t id);

int mlops__tokenize_spm(const mlops__vocab *v, const char *text, size_t len, bool add_prefix,
                        int32_t **ids, size_t *n, size_t *cap);
int mlops__tokenize_bpe(const mlops__vocab *v, const char *text, size_t len, int32_t **ids,
                        size_t *n, size_t *cap);
int mlops__tokenize_wpm(const mlops__vocab *v, const char *text, size_t len, int32_t **ids,
                        size_t *n, size_t *cap);
/** GPT-2's byte <-> printable code point mapping. */
uint32_t mlops__bpe_byte_to_cp(uint8_t b);
int mlops__bpe_cp_to_byte(uint32_t cp);
int mlops__pre_type_from_name(const char *name);

#endif
