/* Public facade of complexity routing (include/mlops/router.h). */
#include "api.h"

#include "../gateway/route.h"

#include <string.h>

static int parse_cfg(const char *config_json, mlops__route_cfg **cfg)
{
    *cfg = NULL;
    json_t *j = NULL;
    if (config_json && *config_json) {
        int rc = mlops__json_parse_object(config_json, "routing config", &j);
        if (rc != MLOPS_OK)
            return rc;
    }
    int rc = mlops__route_config_parse(j, "routing", cfg);
    json_decref(j);
    return rc;
}

static int check(mlops_t *h, const char *fn, const void *a, const char *an, const void *o)
{
    int rc = mlops__api_check_handle(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(a, fn, an);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(o, fn, "out");
    return rc;
}

MLOPS_API int mlops_router_decide(mlops_t *h, const char *config_json, const char *request_json,
                                  const char *metadata_json, char **out)
{
    int rc = check(h, "mlops_router_decide", request_json, "request_json", out);
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    mlops__route_cfg *cfg = NULL;
    json_t *req = NULL, *md = NULL;
    mlops__route_decision d;
    memset(&d, 0, sizeof d);
    rc = parse_cfg(config_json, &cfg);
    if (rc == MLOPS_OK)
        rc = mlops__json_parse_object(request_json, "request", &req);
    if (rc == MLOPS_OK && metadata_json && *metadata_json)
        rc = mlops__json_parse_object(metadata_json, "metadata", &md);
    if (rc == MLOPS_OK)
        rc = mlops__route_decide(cfg, req, md, &d);
    if (rc == MLOPS_OK) {
        rc = mlops__json_dump(d.json, out);
        mlops__route_decision_free(&d);
    }
    json_decref(req);
    json_decref(md);
    mlops__route_cfg_free(cfg);
    return rc;
}

MLOPS_API int mlops_router_explain(mlops_t *h, const char *config_json, const char *prompt,
                                   char **out)
{
    int rc = check(h, "mlops_router_explain", prompt, "prompt", out);
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    mlops__route_cfg *cfg = NULL;
    json_t *e = NULL;
    rc = parse_cfg(config_json, &cfg);
    if (rc == MLOPS_OK)
        rc = mlops__route_explain(cfg, prompt, &e);
    mlops__route_cfg_free(cfg);
    return rc == MLOPS_OK ? mlops__json_dump_steal(e, out) : rc;
}

static int parse_data(const char *data, mlops__route_examples *ex)
{
    return mlops__route_examples_parse(data, strlen(data), ex);
}

MLOPS_API int mlops_router_train(mlops_t *h, const char *data_jsonl, const char *options_json,
                                 char **out)
{
    int rc = check(h, "mlops_router_train", data_jsonl, "data_jsonl", out);
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *oj = NULL, *mj = NULL;
    mlops__route_examples ex = {0};
    mlops__route_train_opts o;
    mlops__route_model *m = NULL;
    if (options_json && *options_json)
        rc = mlops__json_parse_object(options_json, "train options", &oj);
    if (rc == MLOPS_OK)
        rc = mlops__route_train_opts_parse(oj, &o);
    if (rc == MLOPS_OK)
        rc = parse_data(data_jsonl, &ex);
    if (rc == MLOPS_OK)
        rc = mlops__route_train(&ex, NULL, 0, &o, &m);
    if (rc == MLOPS_OK)
        rc = mlops__route_model_to_json(m, &mj);
    if (rc == MLOPS_OK)
        rc = mlops__json_dump_steal(mj, out);
    mlops__route_model_free(m);
    mlops__route_examples_free(&ex);
    json_decref(oj);
    return rc;
}

MLOPS_API int mlops_router_eval(mlops_t *h, const char *config_json, const char *data_jsonl,
                                const char *options_json, char **out)
{
    int rc = check(h, "mlops_router_eval", data_jsonl, "data_jsonl", out);
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *oj = NULL, *r = NULL;
    mlops__route_examples ex = {0};
    mlops__route_cfg *cfg = NULL;
    if (options_json && *options_json)
        rc = mlops__json_parse_object(options_json, "eval options", &oj);
    if (rc == MLOPS_OK)
        rc = parse_cfg(config_json, &cfg);
    if (rc == MLOPS_OK)
        rc = parse_data(data_jsonl, &ex);
    if (rc == MLOPS_OK)
        rc = mlops__route_eval(cfg, &ex, oj, &r);
    if (rc == MLOPS_OK)
        rc = mlops__json_dump_steal(r, out);
    mlops__route_cfg_free(cfg);
    mlops__route_examples_free(&ex);
    json_decref(oj);
    return rc;
}
