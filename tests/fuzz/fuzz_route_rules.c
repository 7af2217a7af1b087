/*
 * Fuzz target: the routing config ("routing" section: rules with metadata, tags, keys,
 * labels, regexes; tiers; inline model) and a decision on a fixed request with it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/route.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    if (json_is_object(j))
        json_object_del(j, "model_file"); /* no file system access from fuzz input */
    mlops__route_cfg *cfg = NULL;
    if (mlops__route_config_parse(j, "routing", &cfg) == MLOPS_OK) {
        json_t *req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "model", "auto",
                                "messages", "role", "system", "content", "be brief", "role",
                                "user", "content",
                                "Please translate and prove step by step: x^2 = 4 ```code```");
        json_t *md = json_pack("{s:s, s:[s], s:s, s:s}", "tier", "vip", "tags", "batch",
                               "key_id", "key-1", "prompt_label", "legal");
        mlops__route_decision d;
        if (mlops__route_decide(cfg, req, md, &d) == MLOPS_OK)
            mlops__route_decision_free(&d);
        json_t *e = NULL;
        if (mlops__route_explain(cfg, "hello", &e) == MLOPS_OK)
            json_decref(e);
        json_decref(req);
        json_decref(md);
        mlops__route_cfg_free(cfg);
    }
    json_decref(j);
    return 0;
}
