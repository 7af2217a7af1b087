/* The public face of lib/models: argument checks, JSON text in and out. */
#include "api.h"

#include "../models/models.h"

#include <stdlib.h>

static int models_open(mlops_t *h, const json_t *section)
{
    return mlops__models_open(h->store, &h->logger, section, &h->models);
}

static void models_close(mlops_t *h)
{
    mlops__models_close(h->models);
    h->models = NULL;
}

const mlops__module mlops__api_models_module = {
    "models", &mlops__models_schema, mlops__models_check_config, models_open, models_close,
};

/* Dumps `value` (stolen) into *out when out is not NULL. */
static int give(json_t *value, char **out, int rc)
{
    if (!out || !value) {
        json_decref(value);
        return rc;
    }
    int drc = mlops__json_dump_steal(value, out);
    return rc != MLOPS_OK ? rc : drc;
}

static int parse_obj(const char *text, const char *what, json_t **out)
{
    int rc = mlops__json_parse_object(text, what, out);
    return rc;
}

MLOPS_API int mlops_model_register(mlops_t *h, const char *name, const char *version_json, int64_t *out_version)
{
    int rc = mlops__api_check_args(h, "mlops_model_register", name, "name", version_json,
                                   "version_json");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out_version, "mlops_model_register", "out_version");
    if (rc != MLOPS_OK)
        return rc;
    *out_version = 0;
    json_t *spec = NULL;
    if ((rc = parse_obj(version_json, "version_json", &spec)) != MLOPS_OK)
        return rc;
    rc = mlops__models_register(h->models, name, spec, out_version);
    json_decref(spec);
    return rc;
}

MLOPS_API int mlops_model_get(mlops_t *h, const char *ref, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_get", ref, "ref", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_get(h->models, ref, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_model_list(mlops_t *h, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_list", NULL, NULL, out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_list(h->models, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_model_search(mlops_t *h, const char *filter, int64_t limit, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_search", NULL, NULL, out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_search(h->models, filter, limit, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_model_update(mlops_t *h, const char *name, int64_t version, const char *patch_json)
{
    int rc = mlops__api_check_args(h, "mlops_model_update", name, "name", patch_json, "patch_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *patch = NULL;
    if ((rc = parse_obj(patch_json, "patch_json", &patch)) != MLOPS_OK)
        return rc;
    rc = mlops__models_update(h->models, name, version, patch);
    json_decref(patch);
    return rc;
}

MLOPS_API int mlops_model_verify(mlops_t *h, const char *ref, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_verify", ref, "ref", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_verify(h->models, ref, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_model_set_gate(mlops_t *h, const char *name, const char *alias, const char *rules_json)
{
    int rc = mlops__api_check_args(h, "mlops_model_set_gate", name, "name", rules_json,
                                   "rules_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *rules = NULL;
    if ((rc = mlops__json_parse(rules_json, "rules_json", &rules)) != MLOPS_OK)
        return rc;
    rc = mlops__models_set_gate(h->models, name, alias, rules);
    json_decref(rules);
    return rc;
}

MLOPS_API int mlops_model_get_gate(mlops_t *h, const char *name, const char *alias, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_get_gate", name, "name", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_get_gate(h->models, name, alias, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_model_promote(mlops_t *h, const char *name, int64_t version, const char *alias, int force, const char *reason, char **out)
{
    int rc = mlops__api_check_args(h, "mlops_model_promote", name, "name", alias, "alias");
    if (rc != MLOPS_OK)
        return rc;
    if (out)
        *out = NULL;
    json_t *d = NULL;
    rc = mlops__models_promote(h->models, name, version, alias, force != 0, reason, &d);
    return give(d, out, rc);
}

MLOPS_API int mlops_model_remove_alias(mlops_t *h, const char *name, const char *alias, const char *reason)
{
    int rc = mlops__api_check_args(h, "mlops_model_remove_alias", name, "name", alias, "alias");
    if (rc != MLOPS_OK)
        return rc;
    return mlops__models_remove_alias(h->models, name, alias, reason);
}

MLOPS_API int mlops_model_history(mlops_t *h, const char *name, int64_t limit, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_model_history", name, "name", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__models_history(h->models, name, limit, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_deploy_start(mlops_t *h, const char *name, const char *alias, const char *strategy_json, char **out)
{
    int rc = mlops__api_check_args(h, "mlops_deploy_start", name, "name", alias, "alias");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(strategy_json, "mlops_deploy_start", "strategy_json");
    if (rc != MLOPS_OK)
        return rc;
    if (out)
        *out = NULL;
    json_t *spec = NULL;
    if ((rc = parse_obj(strategy_json, "strategy_json", &spec)) != MLOPS_OK)
        return rc;
    json_t *v = NULL;
    rc = mlops__deploy_start(h->models, name, alias, spec, &v);
    json_decref(spec);
    return give(v, out, rc);
}

MLOPS_API int mlops_deploy_pick(mlops_t *h, const char *name, const char *alias, const char *user_key, int64_t *out_version, int32_t *out_shadows, size_t cap, size_t *out_n)
{
    if (!h || !name || !alias || !out_version || (cap > 0 && !out_shadows)) {
        int rc = mlops__api_check_args(h, "mlops_deploy_pick", name, "name", alias, "alias");
        if (rc == MLOPS_OK)
            rc = mlops__api_check_arg(out_version, "mlops_deploy_pick", "out_version");
        if (rc == MLOPS_OK)
            rc = mlops__error(MLOPS_EINVAL, "mlops_deploy_pick: out_shadows is NULL with cap %zu",
                              cap);
        return rc;
    }
    return mlops__deploy_pick(h->models, name, alias, user_key, out_version, out_shadows, cap,
                              out_n);
}

MLOPS_API int mlops_deploy_observe(mlops_t *h, const char *name, int64_t version, const char *metrics_json)
{
    int rc = mlops__api_check_args(h, "mlops_deploy_observe", name, "name", metrics_json,
                                   "metrics_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *metrics = NULL;
    if ((rc = parse_obj(metrics_json, "metrics_json", &metrics)) != MLOPS_OK)
        return rc;
    rc = mlops__deploy_observe(h->models, name, version, metrics);
    json_decref(metrics);
    return rc;
}

MLOPS_API int mlops_deploy_observe_value(mlops_t *h, const char *name, int64_t version, const char *metric, double value)
{
    int rc = mlops__api_check_args(h, "mlops_deploy_observe_value", name, "name", metric, "metric");
    if (rc != MLOPS_OK)
        return rc;
    return mlops__deploy_observe_value(h->models, name, version, metric, value);
}

MLOPS_API int mlops_deploy_flush(mlops_t *h)
{
    int rc = mlops__api_check_handle(h, "mlops_deploy_flush");
    return rc == MLOPS_OK ? mlops__deploy_flush(h->models) : rc;
}

MLOPS_API int mlops_deploy_status(mlops_t *h, const char *name, const char *alias, char **out)
{
    int rc = mlops__api_check_args(h, "mlops_deploy_status", name, "name", alias, "alias");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_deploy_status", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *v = NULL;
    rc = mlops__deploy_status(h->models, name, alias, &v);
    return give(v, out, rc);
}

static int action(mlops_t *h, const char *fn, const char *name, const char *alias,
                  enum mlops__deploy_action a, int64_t version, const char *reason, char **out)
{
    int rc = mlops__api_check_args(h, fn, name, "name", alias, "alias");
    if (rc != MLOPS_OK)
        return rc;
    if (out)
        *out = NULL;
    json_t *v = NULL;
    rc = mlops__deploy_action(h->models, name, alias, a, version, reason, &v);
    return give(v, out, rc);
}

MLOPS_API int mlops_deploy_rollback(mlops_t *h, const char *name, const char *alias, const char *reason, char **out)
{
    return action(h, "mlops_deploy_rollback", name, alias, MLOPS__DEPLOY_ROLLBACK, 0, reason, out);
}

MLOPS_API int mlops_deploy_abort(mlops_t *h, const char *name, const char *alias, const char *reason, char **out)
{
    return action(h, "mlops_deploy_abort", name, alias, MLOPS__DEPLOY_ABORT, 0, reason, out);
}

MLOPS_API int mlops_deploy_pause(mlops_t *h, const char *name, const char *alias, const char *reason, char **out)
{
    return action(h, "mlops_deploy_pause", name, alias, MLOPS__DEPLOY_PAUSE, 0, reason, out);
}

MLOPS_API int mlops_deploy_resume(mlops_t *h, const char *name, const char *alias, char **out)
{
    return action(h, "mlops_deploy_resume", name, alias, MLOPS__DEPLOY_RESUME, 0, NULL, out);
}

MLOPS_API int mlops_deploy_promote(mlops_t *h, const char *name, const char *alias, int64_t version, const char *reason, char **out)
{
    if (version < 0)
        return mlops__error(MLOPS_EINVAL, "mlops_deploy_promote: version %lld is negative",
                            (long long)version);
    return action(h, "mlops_deploy_promote", name, alias, MLOPS__DEPLOY_PROMOTE, version, reason,
                  out);
}
