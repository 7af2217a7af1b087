/* Fuzz target: guard policy parsing, then one check with the policy if it parsed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlops.h"
#include "fuzz_text.h"

static mlops_t *handle(void)
{
    static mlops_t *h;
    if (!h && mlops_open(":memory:", NULL, &h) != MLOPS_OK)
        h = NULL;
    return h;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlops_t *h = handle();
    if (!h)
        return 0;
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    char *out = NULL;
    if (text[0] == '{' &&
        mlops_guard_check(h, text, "output", "mail bob@example.com {\"a\": 1}", "ctx", &out) == MLOPS_OK)
        mlops_free(out);
    free(text);
    return 0;
}
