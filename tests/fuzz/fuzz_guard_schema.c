/*
 * Fuzz target: the JSON Schema validator. The input is "schema\n---\ninstance"; without
 * a separator the input is validated against itself as a schema.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    const char *sep = memmem(s, size, "\n---\n", 5);
    size_t sl = sep ? (size_t)(sep - s) : size;
    json_t *schema = json_loadb(s, sl, JSON_DECODE_ANY, NULL);
    json_t *inst = sep ? json_loadb(sep + 5, size - sl - 5, JSON_DECODE_ANY, NULL) : json_incref(schema);
    if (schema && inst) {
        json_t *errors = json_array();
        mlops__jsonschema_validate(schema, inst, errors);
        json_decref(errors);
    }
    json_decref(schema);
    json_decref(inst);
    return 0;
}
