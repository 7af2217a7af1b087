/* Fuzz input as a NUL-terminated string (the parsers under test take C strings). */
#ifndef MLOPS_TESTS_FUZZ_TEXT_H
#define MLOPS_TESTS_FUZZ_TEXT_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/** A malloc'd copy of data[0, size) plus a NUL, or NULL when out of memory. */
static inline char *fuzz_text(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text) {
        memcpy(text, data, size);
        text[size] = '\0';
    }
    return text;
}

#endif
