/* Fuzz target: the configuration JSON given to mlops_open(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlops.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    mlops_t *h = NULL;
    if (mlops_open(":memory:", text, &h) == MLOPS_OK)
        mlops_close(h);
    free(text);
    return 0;
}
