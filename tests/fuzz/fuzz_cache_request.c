/*
 * Fuzz target: the cache's request canonicaliser (both request forms, options, the
 * exact key and the partition key) and the lexical guard on the prompt it extracts.
 * Input: a request JSON, optionally followed by a NUL byte and an options JSON.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    size_t first = strlen(text);
    json_t *req = json_loads(text, JSON_DECODE_ANY, NULL);
    json_t *opts = first < size ? json_loads(text + first + 1, 0, NULL) : NULL;
    if (req) {
        mlops__cache_req r;
        if (mlops__cache_req_parse(req, json_is_object(opts) ? opts : NULL,
                                   MLOPS__CACHE_PART_ALL, 512, 65536, &r) == MLOPS_OK) {
            char why[128];
            (void)mlops__cache_guard_lexical(r.text, r.partition, why, sizeof why);
            mlops__cache_req_free(&r);
        }
    }
    /* The guard on raw text too (any bytes). */
    (void)mlops__cache_guard_lexical(text, first < size ? text + first + 1 : "", NULL, 0);
    json_decref(req);
    json_decref(opts);
    free(text);
    return 0;
}
