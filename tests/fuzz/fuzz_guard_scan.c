/* Fuzz target: the whole default input and output checks (PII, secrets, injection...). */
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
    if (mlops_guard_check(h, NULL, "input", text, NULL, &out) == MLOPS_OK)
        mlops_free(out);
    out = NULL;
    if (mlops_guard_check(h, "{\"scanners\": {\"pii\": {\"operator\": \"mask\"}, \"toxicity\": {},"
                             " \"json\": {\"schema\": {\"type\": \"object\"}}, \"banned\": "
                             "{\"regex\": [\"(a|b)*c\"], \"topics\": [\"weapons\"]}}}",
                          "output", text, text, &out) == MLOPS_OK)
        mlops_free(out);
    free(text);
    return 0;
}
