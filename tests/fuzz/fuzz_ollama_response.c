/* Fuzz target: Ollama /api/chat responses, error bodies and NDJSON stream lines. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/provider.h"

static int sink(void *user, json_t *chunk)
{
    char *s = json_dumps(chunk, JSON_COMPACT);
    (*(size_t *)user) += s ? strlen(s) : 0;
    free(s);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const mlops__provider *p = &mlops__provider_ollama;
    mlops__gw_deployment d;
    memset(&d, 0, sizeof d);
    json_t *out = NULL;
    if (p->parse_response(&d, (const char *)data, size, &out) == MLOPS_OK)
        json_decref(out);
    char msg[256];
    p->map_error(404, (const char *)data, size, msg, sizeof msg);
    size_t total = 0;
    mlops__gw_stream st;
    memset(&st, 0, sizeof st);
    st.sink = sink;
    st.user = &total;
    st.prompt_tokens = st.completion_tokens = -1;
    p->parse_stream_event(&st, "message", (const char *)data, size);
    return 0;
}
