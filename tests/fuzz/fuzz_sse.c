/*
 * Fuzz target: the SSE / NDJSON stream parser, fed in pieces whose boundaries come
 * from the input, with every dispatched event translated by the three providers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/provider.h"
#include "gateway/sse.h"

typedef struct run {
    mlops__gw_stream st[3];
    size_t events;
} run;

static int sink(void *user, json_t *chunk)
{
    (void)user;
    char *s = json_dumps(chunk, JSON_COMPACT);
    free(s);
    return 0;
}

static int on_event(void *user, const char *event, const char *data, size_t len)
{
    run *r = user;
    r->events++;
    mlops__provider_openai.parse_stream_event(&r->st[0], event, data, len);
    mlops__provider_anthropic.parse_stream_event(&r->st[1], event, data, len);
    mlops__provider_ollama.parse_stream_event(&r->st[2], event, data, len);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t step = (size_t)(data[0] % 17) + 1;
    bool ndjson = data[0] & 0x80;
    data++;
    size--;
    run r;
    memset(&r, 0, sizeof r);
    for (int i = 0; i < 3; i++) {
        r.st[i].sink = sink;
        r.st[i].prompt_tokens = r.st[i].completion_tokens = -1;
        for (size_t k = 0; k < MLOPS__ARRAY_LEN(r.st[i].block_tool); k++)
            r.st[i].block_tool[k] = -1;
    }
    mlops__sse p;
    mlops__sse_init(&p, ndjson);
    for (size_t off = 0; off < size; off += step) {
        size_t n = size - off < step ? size - off : step;
        if (mlops__sse_feed(&p, (const char *)data + off, n, on_event, &r) != MLOPS_OK)
            break;
    }
    mlops__sse_finish(&p, on_event, &r);
    mlops__sse_free(&p);
    return 0;
}
