/* The public face of lib/guard: argument checks, JSON in and out, error text. */
#include "api.h"

#include <string.h>

#include "../guard/guard.h"

static int guard_check_config(const json_t *section)
{
    return mlops__guard_check_config(section);
}

static int guard_open(mlops_t *h, const json_t *section)
{
    return mlops__guard_open(h->store, &h->logger, section, &h->guard);
}

static void guard_close(mlops_t *h)
{
    mlops__guard_close(h->guard);
    h->guard = NULL;
}

const mlops__module mlops__api_guard_module = {
    "guard", &mlops__guard_schema, guard_check_config, guard_open, guard_close,
};

/* Reports carry scores: print reals with 6 significant digits, not 17. */
static int dump_report(json_t *report, char **out)
{
    if (!report)
        return mlops__error_oom("report");
    *out = json_dumps(report, JSON_COMPACT | JSON_ENCODE_ANY | JSON_REAL_PRECISION(6));
    json_decref(report);
    return *out ? MLOPS_OK : mlops__error_oom("report text");
}

MLOPS_API int mlops_guard_check(mlops_t *h, const char *policy_json, const char *stage,
                                const char *text, const char *context, char **out_report_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_check", out_report_json, "out_report_json",
                                   text, "text");
    if (rc != MLOPS_OK)
        return rc;
    *out_report_json = NULL;
    int st;
    if (stage && strcmp(stage, "input") == 0)
        st = 1;
    else if (stage && strcmp(stage, "output") == 0)
        st = 2;
    else
        return mlops__error(MLOPS_EINVAL, "mlops_guard_check: stage must be \"input\" or "
                            "\"output\", got %s%s%s", stage ? "'" : "", stage ? stage : "NULL",
                            stage ? "'" : "");
    mlops__gpolicy *pol = NULL;
    if ((rc = mlops__guard_policy_resolve(h->guard, policy_json, &pol)) != MLOPS_OK)
        return rc;
    json_t *report = NULL;
    rc = mlops__guard_scan(h->guard, pol, st, text, strlen(text), context, &report);
    mlops__guard_policy_release(h->guard, pol);
    if (rc != MLOPS_OK)
        return rc;
    return dump_report(report, out_report_json);
}

MLOPS_API int mlops_guard_policy_put(mlops_t *h, const char *name, const char *policy_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_policy_put", name, "name", policy_json,
                                   "policy_json");
    return rc != MLOPS_OK ? rc : mlops__guard_policy_put(h->guard, name, policy_json);
}

MLOPS_API int mlops_guard_policy_get(mlops_t *h, const char *name, char **out_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_policy_get", out_json, "out_json", NULL, NULL);
    return rc != MLOPS_OK ? rc : mlops__guard_policy_get(h->guard, name, out_json);
}

MLOPS_API int mlops_guard_policy_list(mlops_t *h, char **out_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_policy_list", out_json, "out_json", NULL, NULL);
    return rc != MLOPS_OK ? rc : mlops__guard_policy_list(h->guard, out_json);
}

MLOPS_API int mlops_guard_policy_delete(mlops_t *h, const char *name)
{
    int rc = mlops__api_check_args(h, "mlops_guard_policy_delete", name, "name", NULL, NULL);
    return rc != MLOPS_OK ? rc : mlops__guard_policy_delete(h->guard, name);
}

MLOPS_API int mlops_guard_deanonymize(mlops_t *h, const char *vault, const char *text, char **out)
{
    int rc = mlops__api_check_args(h, "mlops_guard_deanonymize", text, "text", out, "out");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(vault, "mlops_guard_deanonymize", "vault");
    return rc != MLOPS_OK ? rc : mlops__guard_deanonymize(h->guard, vault, text, out);
}

MLOPS_API int mlops_guard_train(mlops_t *h, const char *kind, const char *data_jsonl_path,
                                const char *out_model_path, char **out_report_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_train", kind, "kind", data_jsonl_path,
                                   "data_jsonl_path");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_args(h, "mlops_guard_train", out_model_path, "out_model_path",
                                   out_report_json, "out_report_json");
    if (rc != MLOPS_OK)
        return rc;
    *out_report_json = NULL;
    json_t *report = NULL;
    if ((rc = mlops__guard_train(kind, data_jsonl_path, out_model_path, &report)) != MLOPS_OK)
        return rc;
    return dump_report(report, out_report_json);
}

MLOPS_API int mlops_guard_canary(mlops_t *h, const char *system_prompt, char **out_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_canary", out_json, "out_json", NULL, NULL);
    if (rc != MLOPS_OK)
        return rc;
    json_t *o = NULL;
    if ((rc = mlops__guard_canary(h->guard, system_prompt, &o)) != MLOPS_OK)
        return rc;
    return mlops__json_dump_steal(o, out_json);
}

MLOPS_API int mlops_guard_validate_json(mlops_t *h, const char *schema_json,
                                        const char *instance_json, char **out_report_json)
{
    int rc = mlops__api_check_args(h, "mlops_guard_validate_json", schema_json, "schema_json",
                                   instance_json, "instance_json");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out_report_json, "mlops_guard_validate_json", "out_report_json");
    if (rc != MLOPS_OK)
        return rc;
    *out_report_json = NULL;
    json_t *schema = NULL, *inst = NULL;
    if ((rc = mlops__json_parse(schema_json, "schema_json", &schema)) != MLOPS_OK)
        return rc;
    if ((rc = mlops__json_parse(instance_json, "instance_json", &inst)) != MLOPS_OK) {
        json_decref(schema);
        return rc;
    }
    json_t *errors = json_array();
    int v = errors ? mlops__jsonschema_validate(schema, inst, errors) : MLOPS_ENOMEM;
    json_decref(schema);
    json_decref(inst);
    if (v < 0) {
        json_decref(errors);
        return v == MLOPS_ENOMEM ? mlops__error_oom("errors") : v;
    }
    json_t *report = json_pack("{s:b,s:o}", "valid", v == 1, "errors", errors);
    if (!report)
        return mlops__error_oom("report");
    return mlops__json_dump_steal(report, out_report_json);
}
