/* Fuzz target: the routing rules' regex compiler and matcher ("pattern\ntext"). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *nl = memchr(data, '\n', size);
    size_t plen = nl ? (size_t)(nl - data) : size;
    if (plen > 512)
        return 0;
    char pattern[513];
    memcpy(pattern, data, plen);
    pattern[plen] = '\0';
    mlops__route_regex *re = NULL;
    const char *why = NULL;
    for (int icase = 0; icase < 2; icase++) {
        if (mlops__route_regex_compile(pattern, icase, &re, &why) != MLOPS_OK)
            return 0;
        const char *text = nl ? (const char *)nl + 1 : "";
        size_t tlen = nl ? size - plen - 1 : 0;
        (void)mlops__route_regex_search(re, text, tlen);
        mlops__route_regex_free(re);
    }
    return 0;
}
