/* Fuzz target: the shared regex engine of lib/core ("pattern\ntext"): compile with every
   flag combination, then search (spans, from every few offsets) and test. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    if (plen > 512)
        return 0;
    char pattern[513];
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    const char *text = nl ? (const char *)nl + 1 : "";
    size_t tlen = nl ? size - plen - 1 : 0;
    for (unsigned flags = 0; flags < 4; flags++) {
        mlops__regex *re = NULL;
        if (mlops__regex_compile_flags(pattern, flags, "fuzz", &re) != MLOPS_OK)
            return 0;
        bool any = mlops__regex_test(re, text, tlen);
        size_t ms = 0, me = 0, from = 0;
        bool found = mlops__regex_search(re, text, tlen, 0, &ms, &me);
        if (found != any || (found && (ms > me || me > tlen)))
            abort();
        /* scan like the guard does: from the end of each match */
        for (int k = 0; found && k < 8 && from <= tlen; k++) {
            if (!mlops__regex_search(re, text, tlen, from, &ms, &me))
                break;
            if (ms < from || ms > me || me > tlen)
                abort();
            from = me > ms ? me : me + 1;
        }
        mlops__regex_free(re);
    }
    return 0;
}
