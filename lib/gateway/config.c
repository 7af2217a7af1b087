/* Gateway configuration: validation, snapshots, reload. */
#include "balance.h"
#include "gateway_state.h"
#include "pipeline.h"
#include "provider.h"
#include "route.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops__json_field top_fields[] = {
    {"models", MLOPS__J_ARRAY, false},
    {"router", MLOPS__J_OBJECT, false},
    {"pipeline", MLOPS__J_OBJECT, false},
    {"guard", MLOPS__J_OBJECT, false},
    {"cache", MLOPS__J_OBJECT, false},
    {"routing", MLOPS__J_OBJECT, false},
    {"require_key", MLOPS__J_BOOL, false},
    {NULL, 0, false},
};

static const mlops__json_field model_fields[] = {
    {"name", MLOPS__J_STRING, true},
    {"deployments", MLOPS__J_ARRAY, false}, /* required unless "registry" is given */
    {"registry", MLOPS__J_OBJECT, false},
    {NULL, 0, false},
};

static const mlops__json_field registry_fields[] = {
    {"alias", MLOPS__J_STRING, true},
    {"model", MLOPS__J_STRING, false},
    {"error_metric", MLOPS__J_STRING, false},
    {"latency_metric", MLOPS__J_STRING, false},
    {"observe", MLOPS__J_BOOL, false},
    {"shadows", MLOPS__J_BOOL, false},
    {"shadow_timeout_ms", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static const mlops__json_field dep_fields[] = {
    {"provider", MLOPS__J_STRING, true},
    {"base_url", MLOPS__J_STRING, false}, /* required by HTTP providers */
    {"model", MLOPS__J_STRING, false}, /* required; local: or model_path */
    {"model_path", MLOPS__J_STRING, false}, /* local only */
    {"options", MLOPS__J_OBJECT, false},    /* local only */
    {"chat_template", MLOPS__J_STRING, false}, /* local only */
    {"id", MLOPS__J_STRING, false},
    {"api_key", MLOPS__J_STRING, false},
    {"api_key_env", MLOPS__J_STRING, false},
    {"api_key_header", MLOPS__J_STRING, false},
    {"api_version", MLOPS__J_STRING, false},
    {"ca_file", MLOPS__J_STRING, false},
    {"headers", MLOPS__J_OBJECT, false},
    {"params", MLOPS__J_OBJECT, false},
    {"weight", MLOPS__J_NUMBER, false},
    {"priority", MLOPS__J_INTEGER, false},
    {"rpm", MLOPS__J_INTEGER, false},
    {"tpm", MLOPS__J_INTEGER, false},
    {"max_parallel", MLOPS__J_INTEGER, false},
    {"context_window", MLOPS__J_INTEGER, false},
    {"input_cost_per_mtok", MLOPS__J_NUMBER, false},
    {"output_cost_per_mtok", MLOPS__J_NUMBER, false},
    {"timeout_ms", MLOPS__J_INTEGER, false},
    {"connect_timeout_ms", MLOPS__J_INTEGER, false},
    {"first_byte_timeout_ms", MLOPS__J_INTEGER, false},
    {"default_max_tokens", MLOPS__J_INTEGER, false},
    {"stream_usage", MLOPS__J_BOOL, false},
    {NULL, 0, false},
};

static const mlops__json_field router_fields[] = {
    {"strategy", MLOPS__J_STRING, false},
    {"retries", MLOPS__J_INTEGER, false},
    {"retry_on", MLOPS__J_ARRAY, false},
    {"retry_on_timeout", MLOPS__J_BOOL, false},
    {"retry_on_connect_error", MLOPS__J_BOOL, false},
    {"backoff_base_ms", MLOPS__J_INTEGER, false},
    {"backoff_max_ms", MLOPS__J_INTEGER, false},
    {"retry_after_max_ms", MLOPS__J_INTEGER, false},
    {"timeout_ms", MLOPS__J_INTEGER, false},
    {"latency_buffer", MLOPS__J_NUMBER, false},
    {"fallbacks", MLOPS__J_OBJECT, false},
    {"context_window_fallbacks", MLOPS__J_OBJECT, false},
    {"content_policy_fallbacks", MLOPS__J_OBJECT, false},
    {"cooldown", MLOPS__J_OBJECT, false},
    {NULL, 0, false},
};

static const mlops__json_field cooldown_fields[] = {
    {"allowed_fails", MLOPS__J_INTEGER, false},
    {"window_s", MLOPS__J_NUMBER, false},
    {"cooldown_s", MLOPS__J_NUMBER, false},
    {NULL, 0, false},
};

static const char *const strategy_names[] = {
    "weighted", "least_busy", "lowest_latency", "usage", "lowest_cost", "priority",
};

static int range(const json_t *obj, const char *key, const char *path, double lo, double hi)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MLOPS_OK;
    double x = json_number_value(v);
    if (x < lo || x > hi)
        return mlops__error(MLOPS_ECONFIG, "%s.%s: %g is outside %g..%g", path, key, x, lo, hi);
    return MLOPS_OK;
}

static int check_url(const char *url, const char *path)
{
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return mlops__error(MLOPS_ECONFIG,
                            "%s.base_url: '%s' is not an http:// or https:// URL", path, url);
    const char *host = strstr(url, "://") + 3;
    if (!*host || *host == '/' || *host == ':')
        return mlops__error(MLOPS_ECONFIG, "%s.base_url: '%s' has no host", path, url);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == '"' || *p == '<' || *p == '>')
            return mlops__error(MLOPS_ECONFIG, "%s.base_url: '%s' contains a space or control character", path, url);
    return MLOPS_OK;
}

static int check_deployment(const json_t *d, const char *path)
{
    int rc = mlops__json_check_fields(d, path, dep_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    const char *prov = mlops__json_str(d, "provider", "");
    const mlops__provider *p = NULL;
    rc = mlops__provider_find(prov, &p);
    if (rc != MLOPS_OK)
        return mlops__error(MLOPS_ECONFIG,
                            "%s.provider: '%s' is not one of openai, anthropic, ollama, local",
                            path, prov);
    if (p == &mlops__provider_local && (rc = mlops__gw_local_check(d, path)) != MLOPS_OK)
        return rc;
    if (!p->invoke && !json_object_get(d, "base_url"))
        return mlops__error(MLOPS_ECONFIG, "%s: missing required key 'base_url'", path);
    if (json_object_get(d, "base_url") &&
        (rc = check_url(mlops__json_str(d, "base_url", ""), path)) != MLOPS_OK)
        return rc;
    if (p != &mlops__provider_local) {
        static const char *const local_only[] = {"model_path", "options", "chat_template"};
        for (size_t i = 0; i < MLOPS__ARRAY_LEN(local_only); i++)
            if (json_object_get(d, local_only[i]))
                return mlops__error(MLOPS_ECONFIG, "%s.%s: only for provider 'local'", path,
                                    local_only[i]);
        if (!json_object_get(d, "model"))
            return mlops__error(MLOPS_ECONFIG, "%s: missing required key 'model'", path);
        if (!*mlops__json_str(d, "model", ""))
            return mlops__error(MLOPS_ECONFIG, "%s.model: must not be empty", path);
    }
    if (json_object_get(d, "api_key") && json_object_get(d, "api_key_env"))
        return mlops__error(MLOPS_ECONFIG, "%s: give api_key or api_key_env, not both", path);
    const char *hdr = mlops__json_str(d, "api_key_header", "authorization");
    if (strcmp(hdr, "authorization") && strcmp(hdr, "api-key") && strcmp(hdr, "x-api-key"))
        return mlops__error(MLOPS_ECONFIG,
                            "%s.api_key_header: '%s' is not one of authorization, api-key, x-api-key",
                            path, hdr);
    const char *ca = mlops__json_str(d, "ca_file", NULL);
    if (ca && !*ca)
        return mlops__error(MLOPS_ECONFIG, "%s.ca_file: must not be empty", path);
    const char *id = mlops__json_str(d, "id", NULL);
    if (id && (rc = mlops__name_check(id, "deployment id")) != MLOPS_OK)
        return mlops__error_wrap(MLOPS_ECONFIG, "%s.id", path);
    json_t *headers = json_object_get(d, "headers");
    const char *k;
    json_t *v;
    json_object_foreach(headers, k, v) {
        if (!json_is_string(v))
            return mlops__error(MLOPS_ECONFIG, "%s.headers.%s: expected string, got %s", path, k,
                                mlops__json_type_name(v));
        if (strpbrk(k, ":\r\n ") || strpbrk(json_string_value(v), "\r\n") || !*k)
            return mlops__error(MLOPS_ECONFIG, "%s.headers.%s: not a valid header", path, k);
    }
    if (json_object_size(headers) > 8)
        return mlops__error(MLOPS_ECONFIG, "%s.headers: at most 8 extra headers", path);
    if ((rc = range(d, "weight", path, 0, 1e6)) || (rc = range(d, "rpm", path, 0, 1e12)) ||
        (rc = range(d, "tpm", path, 0, 1e15)) || (rc = range(d, "max_parallel", path, 0, 1e9)) ||
        (rc = range(d, "context_window", path, 0, 1e12)) ||
        (rc = range(d, "input_cost_per_mtok", path, 0, 1e9)) ||
        (rc = range(d, "output_cost_per_mtok", path, 0, 1e9)) ||
        (rc = range(d, "timeout_ms", path, 1, 86400000)) ||
        (rc = range(d, "connect_timeout_ms", path, 1, 600000)) ||
        (rc = range(d, "first_byte_timeout_ms", path, 0, 86400000)) ||
        (rc = range(d, "default_max_tokens", path, 1, 1e9)) ||
        (rc = range(d, "priority", path, -1e9, 1e9)))
        return rc;
    return MLOPS_OK;
}

static int check_fallback_map(const json_t *router, const char *key, const char *path,
                              const json_t *models)
{
    json_t *map = json_object_get(router, key);
    const char *name;
    json_t *list;
    json_object_foreach(map, name, list) {
        if (!json_is_array(list))
            return mlops__error(MLOPS_ECONFIG, "%s.%s.%s: expected array, got %s", path, key,
                                name, mlops__json_type_name(list));
        size_t i;
        json_t *item;
        json_array_foreach(list, i, item) {
            if (!json_is_string(item))
                return mlops__error(MLOPS_ECONFIG, "%s.%s.%s[%zu]: expected string, got %s",
                                    path, key, name, i, mlops__json_type_name(item));
            bool found = false;
            size_t j;
            json_t *m;
            json_array_foreach(models, j, m)
                found = found || strcmp(mlops__json_str(m, "name", ""), json_string_value(item)) == 0;
            if (!found)
                return mlops__error(MLOPS_ECONFIG, "%s.%s.%s[%zu]: unknown model '%s'", path,
                                    key, name, i, json_string_value(item));
        }
    }
    return MLOPS_OK;
}

static int check_router(const json_t *r, const char *path, const json_t *models)
{
    int rc = mlops__json_check_fields(r, path, router_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    const char *s = mlops__json_str(r, "strategy", "weighted");
    bool ok = false;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(strategy_names); i++)
        ok = ok || strcmp(s, strategy_names[i]) == 0;
    if (!ok)
        return mlops__error(MLOPS_ECONFIG,
                            "%s.strategy: '%s' is not one of weighted, least_busy, "
                            "lowest_latency, usage, lowest_cost, priority", path, s);
    if ((rc = range(r, "retries", path, 0, 20)) || (rc = range(r, "backoff_base_ms", path, 0, 600000)) ||
        (rc = range(r, "backoff_max_ms", path, 0, 3600000)) ||
        (rc = range(r, "retry_after_max_ms", path, 0, 3600000)) ||
        (rc = range(r, "timeout_ms", path, 1, 86400000)) ||
        (rc = range(r, "latency_buffer", path, 0, 100)))
        return rc;
    json_t *codes = json_object_get(r, "retry_on");
    size_t i;
    json_t *c;
    json_array_foreach(codes, i, c) {
        if (!json_is_integer(c) || json_integer_value(c) < 400 || json_integer_value(c) > 599)
            return mlops__error(MLOPS_ECONFIG, "%s.retry_on[%zu]: expected a status 400..599",
                                path, i);
    }
    json_t *cd = json_object_get(r, "cooldown");
    if (cd) {
        char sub[256];
        snprintf(sub, sizeof sub, "%.200s.cooldown", path);
        if ((rc = mlops__json_check_fields(cd, sub, cooldown_fields, MLOPS_ECONFIG)) ||
            (rc = range(cd, "allowed_fails", sub, 0, 1e6)) ||
            (rc = range(cd, "window_s", sub, 0.001, 86400)) ||
            (rc = range(cd, "cooldown_s", sub, 0, 86400)))
            return rc;
    }
    if ((rc = check_fallback_map(r, "fallbacks", path, models)) ||
        (rc = check_fallback_map(r, "context_window_fallbacks", path, models)) ||
        (rc = check_fallback_map(r, "content_policy_fallbacks", path, models)))
        return rc;
    return MLOPS_OK;
}

int mlops__gw_config_check(const json_t *cfg, const char *path)
{
    int rc = mlops__json_check_fields(cfg, path, top_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    json_t *models = json_object_get(cfg, "models");
    json_t *empty = json_array();
    if (!models)
        models = empty;
    char sub[256];
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m) {
        snprintf(sub, sizeof sub, "%s.models[%zu]", path, i);
        if ((rc = mlops__json_check_fields(m, sub, model_fields, MLOPS_ECONFIG)) != MLOPS_OK)
            goto out;
        const char *name = mlops__json_str(m, "name", "");
        if (mlops__name_check(name, "model name") != MLOPS_OK) {
            rc = mlops__error_wrap(MLOPS_ECONFIG, "%s.name", sub);
            goto out;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(mlops__json_str(json_array_get(models, j), "name", ""), name) == 0) {
                rc = mlops__error(MLOPS_ECONFIG, "%s.name: model '%s' is defined twice", sub, name);
                goto out;
            }
        json_t *reg = json_object_get(m, "registry");
        if (reg) {
            char rp[300];
            snprintf(rp, sizeof rp, "%s.registry", sub);
            if ((rc = mlops__json_check_fields(reg, rp, registry_fields, MLOPS_ECONFIG)) ||
                (rc = range(reg, "shadow_timeout_ms", rp, 1, 600000)))
                goto out;
            if (mlops__name_check(mlops__json_str(reg, "model", name), "model name") != MLOPS_OK ||
                mlops__name_check(mlops__json_str(reg, "alias", ""), "alias") != MLOPS_OK) {
                rc = mlops__error_wrap(MLOPS_ECONFIG, "%s", rp);
                goto out;
            }
        }
        json_t *deps = json_object_get(m, "deployments");
        if (!deps && !reg) {
            rc = mlops__error(MLOPS_ECONFIG, "%s: missing required key 'deployments' (or a "
                              "'registry' entry)", sub);
            goto out;
        }
        if (json_array_size(deps) == 0 && !reg) {
            rc = mlops__error(MLOPS_ECONFIG, "%s.deployments: must not be empty", sub);
            goto out;
        }
        if (json_array_size(deps) > 64) {
            rc = mlops__error(MLOPS_ECONFIG, "%s.deployments: at most 64 per model", sub);
            goto out;
        }
        size_t j;
        json_t *d;
        json_array_foreach(deps, j, d) {
            char dp[300];
            snprintf(dp, sizeof dp, "%s.deployments[%zu]", sub, j);
            if ((rc = check_deployment(d, dp)) != MLOPS_OK)
                goto out;
            const char *id = mlops__json_str(d, "id", NULL);
            for (size_t k = 0; id && k < j; k++)
                if (strcmp(mlops__json_str(json_array_get(deps, k), "id", ""), id) == 0) {
                    rc = mlops__error(MLOPS_ECONFIG, "%s.id: '%s' is used twice", dp, id);
                    goto out;
                }
        }
    }
    json_t *r = json_object_get(cfg, "router");
    if (r) {
        snprintf(sub, sizeof sub, "%s.router", path);
        if ((rc = check_router(r, sub, models)) != MLOPS_OK)
            goto out;
    }
    if ((rc = mlops__gw_guard_config_check(json_object_get(cfg, "guard"), path)) != MLOPS_OK ||
        (rc = mlops__gw_cache_config_check(json_object_get(cfg, "cache"), path)) != MLOPS_OK)
        goto out;
    json_t *pl = json_object_get(cfg, "pipeline");
    const char *k;
    json_t *v;
    json_object_foreach(pl, k, v) {
        bool known = false;
        for (size_t s = 0; s < mlops__gw_stages_count; s++)
            known = known || strcmp(mlops__gw_stages[s].name, k) == 0;
        if (!known) {
            mlops__buf names;
            mlops__buf_init(&names);
            for (size_t s = 0; s < mlops__gw_stages_count; s++)
                mlops__buf_printf(&names, "%s%s", s ? ", " : "", mlops__gw_stages[s].name);
            rc = mlops__error(MLOPS_ECONFIG, "%s.pipeline: unknown stage '%s' (stages: %s)",
                              path, k, names.data ? names.data : "");
            mlops__buf_free(&names);
            goto out;
        }
        if (!json_is_boolean(v)) {
            rc = mlops__error(MLOPS_ECONFIG, "%s.pipeline.%s: expected boolean, got %s", path,
                              k, mlops__json_type_name(v));
            goto out;
        }
    }
    json_t *routing = json_object_get(cfg, "routing");
    if (routing) {
        snprintf(sub, sizeof sub, "%s.routing", path);
        mlops__route_cfg *rcfg = NULL;
        if ((rc = mlops__route_config_parse(routing, sub, &rcfg)) != MLOPS_OK)
            goto out;
        rc = mlops__route_cfg_check_models(rcfg, sub, models);
        mlops__route_cfg_free(rcfg);
        if (rc != MLOPS_OK)
            goto out;
    }
out:
    json_decref(empty);
    return rc;
}

static void free_models(mlops__gw_model *models, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < models[i].ndeps; j++) {
            mlops__gw_deployment *d = &models[i].deps[j];
            free(d->id);
            free(d->model);
            free(d->base_url);
            free(d->upstream);
            free(d->api_key);
            free(d->api_key_env);
            free(d->api_key_header);
            free(d->api_version);
            free(d->ca_file);
            json_decref(d->headers);
            json_decref(d->params);
            free(d->chat_template);
            mlops__gw_local_release(d->local);
        }
        free(models[i].deps);
        free(models[i].name);
        mlops__gw_registry *r = models[i].registry;
        if (r) {
            free(r->model);
            free(r->alias);
            free(r->error_metric);
            free(r->latency_metric);
            free(r);
        }
    }
    free(models);
}

static int build_deployment(mlops__gateway *gw, const char *model, size_t index,
                            const json_t *j, mlops__gw_deployment *d)
{
    mlops__provider_find(mlops__json_str(j, "provider", ""), &d->provider);
    const char *id = mlops__json_str(j, "id", NULL);
    d->id = id ? mlops__strdup(id) : mlops__sprintf("%s#%zu", model, index);
    d->model = mlops__strdup(model);
    const char *url = mlops__json_str(j, "base_url", "");
    size_t n = strlen(url);
    while (n > 0 && url[n - 1] == '/')
        n--;
    d->base_url = mlops__strndup(url, n);
    d->upstream = mlops__strdup(mlops__json_str(j, "model_path", mlops__json_str(j, "model", "")));
    if (d->provider == &mlops__provider_local) {
        int rc = mlops__gw_local_get(gw, j, &d->local);
        if (rc != MLOPS_OK)
            return rc;
        const char *t = mlops__json_str(j, "chat_template", NULL);
        if (t && !(d->chat_template = mlops__strdup(t)))
            return mlops__error_oom("gateway deployment");
    }
    const char *key = mlops__json_str(j, "api_key", NULL);
    const char *env = mlops__json_str(j, "api_key_env", NULL);
    if (env) {
        d->api_key_env = mlops__strdup(env);
        const char *val = getenv(env);
        if (val && *val)
            d->api_key = mlops__strdup(val);
        else
            mlops__log(gw->logger, MLOPS_LOG_WARN,
                       "gateway: deployment '%s': environment variable %s is not set", d->id, env);
    } else if (key) {
        d->api_key = mlops__strdup(key);
    }
    const char *def_hdr = d->provider == &mlops__provider_anthropic ? "x-api-key" : "authorization";
    d->api_key_header = mlops__strdup(mlops__json_str(j, "api_key_header", def_hdr));
    const char *ver = mlops__json_str(j, "api_version", NULL);
    d->api_version = ver ? mlops__strdup(ver) : NULL;
    const char *ca = mlops__json_str(j, "ca_file", NULL);
    d->ca_file = ca ? mlops__strdup(ca) : NULL;
    if (ca && !d->ca_file)
        return mlops__error_oom("gateway deployment");
    d->headers = json_incref(json_object_get(j, "headers"));
    d->params = json_incref(json_object_get(j, "params"));
    d->weight = mlops__json_num(j, "weight", 1.0);
    d->priority = mlops__json_int(j, "priority", (int64_t)index);
    d->rpm = mlops__json_int(j, "rpm", 0);
    d->tpm = mlops__json_int(j, "tpm", 0);
    d->max_parallel = mlops__json_int(j, "max_parallel", 0);
    d->context_window = mlops__json_int(j, "context_window", 0);
    d->input_cost_per_mtok = mlops__json_num(j, "input_cost_per_mtok", 0);
    d->output_cost_per_mtok = mlops__json_num(j, "output_cost_per_mtok", 0);
    d->timeout_ms = mlops__json_int(j, "timeout_ms", 60000);
    d->connect_timeout_ms = mlops__json_int(j, "connect_timeout_ms", 10000);
    d->first_byte_timeout_ms = mlops__json_int(j, "first_byte_timeout_ms", 0);
    d->default_max_tokens = mlops__json_int(j, "default_max_tokens", 4096);
    d->stream_usage = mlops__json_bool(j, "stream_usage", true);
    if (!d->id || !d->model || !d->base_url || !d->upstream || !d->api_key_header ||
        (env && !d->api_key_env) || (ver && !d->api_version))
        return mlops__error_oom("gateway deployment");
    char *state_key = mlops__sprintf("%s/%s", model, d->id);
    if (!state_key)
        return mlops__error_oom("gateway deployment");
    d->state = mlops__gw_state_get(gw, state_key);
    free(state_key);
    return d->state ? MLOPS_OK : mlops__error_oom("gateway deployment state");
}

static void build_router(const json_t *r, mlops__gw_router *out)
{
    const char *s = mlops__json_str(r, "strategy", "weighted");
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(strategy_names); i++)
        if (strcmp(s, strategy_names[i]) == 0)
            out->strategy = (enum mlops__gw_strategy)i;
    out->retries = (int)mlops__json_int(r, "retries", 2);
    json_t *codes = json_object_get(r, "retry_on");
    if (codes) {
        size_t i;
        json_t *c;
        json_array_foreach(codes, i, c)
            out->retry_status[json_integer_value(c)] = true;
    } else {
        out->retry_status[408] = true;
        out->retry_status[429] = true;
        for (int st = 500; st < 600; st++)
            out->retry_status[st] = st != 501 && st != 505;
    }
    out->retry_timeout = mlops__json_bool(r, "retry_on_timeout", true);
    out->retry_connect = mlops__json_bool(r, "retry_on_connect_error", true);
    out->backoff_base_ms = mlops__json_int(r, "backoff_base_ms", 50);
    out->backoff_max_ms = mlops__json_int(r, "backoff_max_ms", 2000);
    out->retry_after_max_ms = mlops__json_int(r, "retry_after_max_ms", 30000);
    out->timeout_ms = mlops__json_int(r, "timeout_ms", 120000);
    out->latency_buffer = mlops__json_num(r, "latency_buffer", 0.1);
    json_t *cd = json_object_get(r, "cooldown");
    out->allowed_fails = mlops__json_int(cd, "allowed_fails", 3);
    out->window_ms = (int64_t)(mlops__json_num(cd, "window_s", 60) * 1000.0);
    out->cooldown_ms = (int64_t)(mlops__json_num(cd, "cooldown_s", 5) * 1000.0);
    json_t *empty = json_object();
    json_t *f = json_object_get(r, "fallbacks");
    out->fallbacks = json_incref(f ? f : empty);
    f = json_object_get(r, "context_window_fallbacks");
    out->context_fallbacks = json_incref(f ? f : empty);
    f = json_object_get(r, "content_policy_fallbacks");
    out->policy_fallbacks = json_incref(f ? f : empty);
    json_decref(empty);
}

int mlops__gw_config_build(mlops__gateway *gw, const json_t *cfg, const char *path,
                           mlops__gw_config **out)
{
    *out = NULL;
    int rc = mlops__gw_config_check(cfg, path);
    if (rc != MLOPS_OK)
        return rc;
    mlops__gw_config *c = calloc(1, sizeof *c);
    if (!c)
        return mlops__error_oom("gateway config");
    atomic_init(&c->refs, 1);
    c->source = json_deep_copy(cfg);
    json_t *models = json_object_get(cfg, "models");
    c->nmodels = json_array_size(models);
    c->models = c->nmodels ? calloc(c->nmodels, sizeof *c->models) : NULL;
    json_t *pl = json_object_get(cfg, "pipeline");
    c->pipeline = pl ? json_deep_copy(pl) : json_object();
    if (!c->source || (c->nmodels && !c->models) || !c->pipeline) {
        mlops__gw_config_release(c);
        return mlops__error_oom("gateway config");
    }
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m) {
        mlops__gw_model *gm = &c->models[i];
        gm->name = mlops__strdup(mlops__json_str(m, "name", ""));
        json_t *deps = json_object_get(m, "deployments");
        gm->deps = calloc(json_array_size(deps) + 1, sizeof *gm->deps);
        json_t *reg = json_object_get(m, "registry");
        if (reg && (gm->registry = calloc(1, sizeof *gm->registry)) != NULL) {
            mlops__gw_registry *r = gm->registry;
            r->model = mlops__strdup(mlops__json_str(reg, "model", gm->name ? gm->name : ""));
            r->alias = mlops__strdup(mlops__json_str(reg, "alias", ""));
            r->error_metric = mlops__strdup(mlops__json_str(reg, "error_metric", "error_rate"));
            r->latency_metric = mlops__strdup(mlops__json_str(reg, "latency_metric", "latency_ms"));
            r->observe = mlops__json_bool(reg, "observe", true);
            r->shadows = mlops__json_bool(reg, "shadows", true);
            r->shadow_timeout_ms = mlops__json_int(reg, "shadow_timeout_ms", 2000);
        }
        if (!gm->name || !gm->deps ||
            (reg && (!gm->registry || !gm->registry->model || !gm->registry->alias ||
                     !gm->registry->error_metric || !gm->registry->latency_metric))) {
            mlops__gw_config_release(c);
            return mlops__error_oom("gateway config");
        }
        size_t j;
        json_t *d;
        json_array_foreach(deps, j, d) {
            gm->ndeps = j + 1;
            if ((rc = build_deployment(gw, gm->name, j, d, &gm->deps[j])) != MLOPS_OK) {
                mlops__gw_config_release(c);
                return rc;
            }
        }
    }
    build_router(json_object_get(cfg, "router"), &c->router);
    c->require_key = mlops__json_bool(cfg, "require_key", false);
    json_t *routing = json_object_get(cfg, "routing");
    if (routing) {
        char sub[256];
        snprintf(sub, sizeof sub, "%s.routing", path);
        if ((rc = mlops__route_config_parse(routing, sub, &c->routing)) != MLOPS_OK) {
            mlops__gw_config_release(c);
            return rc;
        }
    }
    *out = c;
    return MLOPS_OK;
}

void mlops__gw_config_retain(mlops__gw_config *c)
{
    atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
}

void mlops__gw_config_release(mlops__gw_config *c)
{
    if (!c || atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) != 1)
        return;
    free_models(c->models, c->nmodels);
    json_decref(c->source);
    json_decref(c->pipeline);
    mlops__route_cfg_free(c->routing);
    json_decref(c->router.fallbacks);
    json_decref(c->router.context_fallbacks);
    json_decref(c->router.policy_fallbacks);
    free(c);
}

const mlops__gw_model *mlops__gw_config_model(const mlops__gw_config *c, const char *name)
{
    for (size_t i = 0; c && i < c->nmodels; i++)
        if (strcmp(c->models[i].name, name) == 0)
            return &c->models[i];
    return NULL;
}

bool mlops__gw_config_stage_on(const mlops__gw_config *c, const char *name)
{
    json_t *v = c ? json_object_get(c->pipeline, name) : NULL;
    return !v || json_is_true(v);
}
