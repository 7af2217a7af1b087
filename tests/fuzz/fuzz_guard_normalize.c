/* Fuzz target: the guard normaliser (UTF-8 validation, folding, offset map). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlops__gnorm g;
    if (mlops__gnorm_run((const char *)data, size, &g) != MLOPS_OK)
        return 0;
    for (size_t s = 0; s <= g.len; s += 1 + g.len / 7) {
        size_t os, oe;
        mlops__gnorm_span(&g, s, g.len, &os, &oe);
        if (os > size || oe > size || os > oe)
            abort();
    }
    char *f = malloc(g.len + 1);
    if (f) {
        mlops__gnorm_fold(g.text, g.len, f);
        free(f);
    }
    mlops__gnorm_free(&g);
    return 0;
}
