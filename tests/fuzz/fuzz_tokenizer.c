/*
 * Fuzz target: arbitrary bytes (not necessarily UTF-8) through the SentencePiece, BPE
 * (every pre-tokenizer) and WordPiece tokenizers, then back through detokenisation.
 * The vocabularies are synthesised once into a temporary directory.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/vocab.h"
#include "mlops.h"

#define NV 8
static mlops__vocab *vocabs[NV];
static int nvocabs = -1;

static mlops__vocab *load_file(const char *path)
{
    mlops__gguf *g = NULL;
    mlops__vocab *v = NULL;
    if (mlops__gguf_open(path, &g) == MLOPS_OK)
        mlops__vocab_load(g, &v);
    mlops__gguf_close(g);
    return v;
}

static void setup(void)
{
    nvocabs = 0;
    const char *base = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/mlops-fuzz-tok-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(dir))
        return;
    char path[640];
    snprintf(path, sizeof path, "%s/spm.gguf", dir);
    if (mlops_gguf_synth(path, "{\"n_embd\": 32, \"n_layer\": 1, \"n_head\": 2, \"n_ff\": 32, \"n_vocab\": 400}") == MLOPS_OK)
        vocabs[nvocabs++] = load_file(path);
    unlink(path);
    snprintf(path, sizeof path, "%s/bpe.gguf", dir);
    if (mlops_gguf_synth(path, "{\"n_embd\": 32, \"n_layer\": 1, \"n_head\": 2, \"n_ff\": 32, \"n_vocab\": 400, \"vocab\": \"bpe\"}") == MLOPS_OK) {
        for (int pre = MLOPS__PRE_DEFAULT; pre <= MLOPS__PRE_STARCODER; pre++) {
            mlops__vocab *v = load_file(path);
            if (v) {
                v->pre_type = pre;
                vocabs[nvocabs++] = v;
            }
        }
    }
    unlink(path);
    snprintf(path, sizeof path, "%s/wpm.gguf", dir);
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "\xe2\x96\x81" "a", "b", "\xe2\x96\x81,"};
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "bert");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 7);
    if (mlops__gguf_w_write(w, path, NULL, NULL) == MLOPS_OK)
        vocabs[nvocabs++] = load_file(path);
    mlops__gguf_writer_free(w);
    unlink(path);
    rmdir(dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (nvocabs < 0)
        setup();
    for (int k = 0; k < nvocabs; k++) {
        if (!vocabs[k])
            continue;
        int32_t *ids = NULL;
        size_t n = 0, cap = 0;
        if (mlops__tokenize(vocabs[k], (const char *)data, size, true, true, &ids, &n, &cap) == MLOPS_OK) {
            char *text = NULL;
            if (mlops__detokenize(vocabs[k], ids, n, false, &text) == MLOPS_OK)
                free(text);
        }
        free(ids);
    }
    return 0;
}
