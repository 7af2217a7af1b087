/*
 * Fuzz target: the check a persisted cache row passes before it is loaded (checksum,
 * key, strings, JSON response, vector size, finiteness and unit length). Input: fields
 * separated by 0x1F (exact, partition, namespace, model, version, prompt, response,
 * embedder), then 0x1E and the vector bytes; the dimension is vector bytes / 4 unless
 * the first byte of the vector part says otherwise. Half of the inputs get a correct
 * checksum, so the deeper checks are reached.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/cache.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_text(data, size);
    if (!buf)
        return 0;
    const char *f[8] = {"", "", "", "", "", "", "", ""};
    char *vec = memchr(buf, 0x1E, size);
    size_t text_len = vec ? (size_t)(vec - buf) : size;
    if (vec)
        *vec++ = '\0';
    char *p = buf;
    for (int i = 0; i < 8 && p && (size_t)(p - buf) <= text_len; i++) {
        f[i] = p;
        char *sep = strchr(p, 0x1F);
        if (sep)
            *sep++ = '\0';
        p = sep;
    }
    size_t vbytes = vec ? size - (size_t)(vec - buf) : 0;
    float *v = NULL;
    if (vbytes) {
        v = malloc(vbytes);
        if (v)
            memcpy(v, vec, vbytes);
    }
    mlops__cache_row r = {
        .id = (int64_t)size,
        .exact = f[0], .partition = f[1], .ns = f[2], .model = f[3], .version = f[4],
        .prompt = f[5], .response = f[6], .embedder = f[7],
        .dim = (int64_t)(vbytes / 4) + ((vbytes && (vec[0] & 1)) ? 1 : 0),
        .vector = v, .vector_bytes = v ? vbytes : 0,
        .created_ms = 1, .expires_ms = 0, .ttl_ms = 0,
    };
    r.checksum = (size & 1) ? mlops__cache_row_checksum(&r) : 12345;
    (void)mlops__cache_row_check(&r);
    free(v);
    free(buf);
    return 0;
}
