/*
 * Fuzz target: the chat-completions request validator, then (for valid requests) the
 * upstream request builders of the three providers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/provider.h"
#include "gateway/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *req = json_loadb((const char *)data, size, 0, NULL);
    if (!req)
        return 0;
    if (mlops__gw_request_check(req) == MLOPS_OK) {
        (void)mlops__gw_estimate_tokens(req);
        json_object_del(req, "x_mlops");
        mlops__gw_deployment d;
        memset(&d, 0, sizeof d);
        d.id = "fuzz";
        d.base_url = "http://127.0.0.1:1/v1";
        d.upstream = "m";
        d.api_key = "k";
        d.api_key_header = "authorization";
        d.default_max_tokens = 16;
        const mlops__provider *ps[] = {&mlops__provider_openai, &mlops__provider_anthropic,
                                       &mlops__provider_ollama};
        for (int i = 0; i < 3; i++)
            for (int stream = 0; stream < 2; stream++) {
                mlops__gw_upstream u;
                memset(&u, 0, sizeof u);
                ps[i]->build(&d, req, stream, &u);
                mlops__gw_upstream_free(&u);
            }
    }
    json_decref(req);
    return 0;
}
