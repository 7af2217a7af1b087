/* Fuzz target: the GGUF reader (header, metadata, tensor table) and the vocabulary loader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* an exact-size heap copy, so any read past the end is caught */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    mlops__gguf *g = NULL;
    if (mlops__gguf_parse(copy, size, &g) == MLOPS_OK) {
        json_t *info = NULL;
        if (mlops__gguf_info_json(g, &info) == MLOPS_OK)
            json_decref(info);
        mlops__vocab *v = NULL;
        if (mlops__vocab_load(g, &v) == MLOPS_OK) {
            int32_t *ids = NULL;
            size_t n = 0, cap = 0;
            mlops__tokenize(v, "Hello world <s> 123", 19, true, true, &ids, &n, &cap);
            char *text = NULL;
            if (mlops__detokenize(v, ids, n, true, &text) == MLOPS_OK)
                free(text);
            free(ids);
            mlops__vocab_free(v);
        }
        mlops__gguf_close(g);
    }
    free(copy);
    return 0;
}
