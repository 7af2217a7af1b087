/* Fuzz target: validation gate rules JSON (lib/models/gate.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/models.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    json_t *in = NULL, *out = NULL;
    if (mlops__json_parse(text, "rules", &in) == MLOPS_OK) {
        if (mlops__models_rules_parse(in, &out) == MLOPS_OK) {
            /* The normalised form parses to itself. */
            json_t *again = NULL;
            if (mlops__models_rules_parse(out, &again) != MLOPS_OK || !json_equal(out, again))
                abort();
            json_decref(again);
        }
    }
    json_decref(out);
    json_decref(in);
    free(text);
    return 0;
}
