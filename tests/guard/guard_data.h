/* Helpers for the guard tests: JSONL files and checks through the public API. */
#ifndef MLOPS_TEST_GUARD_DATA_H
#define MLOPS_TEST_GUARD_DATA_H

#include <jansson.h>
#include <stddef.h>

#include "mlops.h"

/** Loads a JSONL file into an array of objects (NULL when the file is missing). */
json_t *guard_load_jsonl(const char *path);
/** Runs mlops_guard_check and returns the parsed report (asserts success). */
json_t *guard_check(mlops_t *h, const char *policy, const char *stage, const char *text,
                    const char *context);

#endif
