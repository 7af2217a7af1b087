/* Fuzz target: the model search filter compiler (lib/models/filter.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlops.h"
#include "models/models.h"
#include "fuzz_text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;
    mlops__filter *f = NULL;
    if (mlops__filter_compile(text, &f) == MLOPS_OK) {
        /* Every value must be a bound parameter: the SQL never contains a quote. */
        if (strchr(f->sql, '\'') || strchr(f->sql, ';'))
            abort();
        /* The SQL must prepare against the real schema. */
        mlops_t *h = NULL;
        char *out = NULL;
        if (mlops_open(":memory:", NULL, &h) == MLOPS_OK) {
            int rc = mlops_model_search(h, text, 1, &out);
            if (rc != MLOPS_OK && rc != MLOPS_ESTORE)
                abort();
            mlops_free(out);
            mlops_close(h);
        }
    }
    mlops__filter_free(f);
    free(text);
    return 0;
}
