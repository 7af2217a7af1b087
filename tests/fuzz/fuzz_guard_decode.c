/* Fuzz target: the payload decoders (base64, hex, %-encoding, rot13). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    char *out = malloc(size * 3 + 8);
    if (!out)
        return 0;
    mlops__gdecode_base64(s, size, out);
    mlops__gdecode_hex(s, size, out);
    mlops__gdecode_url(s, size, out);
    mlops__gdecode_rot13(s, size, out);
    free(out);
    mlops__gpayload p[8];
    size_t n = mlops__gdecode_find(s, size, p, 8);
    for (size_t i = 0; i < n; i++)
        if (p[i].start > p[i].end || p[i].end > size)
            abort();
    mlops__gpayloads_free(p, n);
    return 0;
}
