/*
 * The public cache API (include/mlops/cache.h): argument checks and JSON in/out.
 * It also composes the "engine" embedder: lib/cache includes only lib/core, so the
 * handle loads the GGUF model here through lib/engine and gives the cache a hook
 * (released when the cache closes).
 */
#include "api.h"

#include "../cache/cache.h"
#include "../engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* config.cache.engine_options: the model load options that make sense for embedding. */
static const mlops__json_field engine_option_fields[] = {
    {"threads", MLOPS__J_INTEGER, false},
    {"n_ctx", MLOPS__J_INTEGER, false},
    {"kv_type", MLOPS__J_STRING, false},
    {NULL, 0, false},
};

static int engine_options(const json_t *o, mlops__model_opts *mo)
{
    const char *path = "config.cache.engine_options";
    memset(mo, 0, sizeof *mo);
    if (!o)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(o, path, engine_option_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    int64_t t = mlops__json_int(o, "threads", 0);
    if (json_object_get(o, "threads") && (t < 1 || t > 256))
        return mlops__error(MLOPS_ECONFIG, "%s.threads: %lld is outside 1..256", path, (long long)t);
    int64_t c = mlops__json_int(o, "n_ctx", 0);
    if (c < 0 || c > (1 << 22))
        return mlops__error(MLOPS_ECONFIG, "%s.n_ctx: %lld is outside 0..4194304", path, (long long)c);
    const char *kv = mlops__json_str(o, "kv_type", "f16");
    if (strcmp(kv, "f16") && strcmp(kv, "f32"))
        return mlops__error(MLOPS_ECONFIG, "%s.kv_type: '%s' is not f16 or f32", path, kv);
    mo->threads = (int)t;
    mo->n_ctx = (int)c;
    mo->kv_f32 = strcmp(kv, "f32") == 0;
    return MLOPS_OK;
}

static int cache_check_config(const json_t *section)
{
    int rc = mlops__cache_check_config(section);
    mlops__model_opts mo;
    if (rc == MLOPS_OK && section)
        rc = engine_options(json_object_get(section, "engine_options"), &mo);
    return rc;
}

static int engine_embed_fn(const char *text, float *out, size_t dim, void *user)
{
    return mlops__text_embed(user, text, out, dim);
}

static void engine_release(void *user)
{
    mlops__text_embedder_free(user);
}

/* Loads config.cache.engine_model and describes it as a hook (id: path, size, dim). */
static int engine_hook(const json_t *section, mlops__cache_embed_hook *hook, char *id, size_t cap)
{
    const char *path = mlops__json_str(section, "engine_model", "");
    mlops__model_opts mo;
    int rc = engine_options(json_object_get(section, "engine_options"), &mo);
    mlops__text_embedder *te = NULL;
    if (rc == MLOPS_OK && (rc = mlops__text_embedder_open(path, &mo, &te)) != MLOPS_OK)
        return mlops__error_wrap(rc == MLOPS_ENOMEM ? rc : MLOPS_ECONFIG,
                                 "config.cache.engine_model '%s'", path);
    if (rc != MLOPS_OK)
        return rc;
    int dim = mlops__model_n_embd(mlops__text_embedder_model(te));
    const json_t *want = json_object_get(section, "dim");
    if (want && json_integer_value(want) != dim) {
        mlops__text_embedder_free(te);
        return mlops__error(MLOPS_ECONFIG,
                            "config.cache.dim: %lld does not match the embedding length %d of "
                            "config.cache.engine_model '%s' (leave dim out: it comes from the "
                            "model)",
                            (long long)json_integer_value(want), dim, path);
    }
    struct stat sb;
    long long size = stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
    snprintf(id, cap, "engine/%.150s/%lld/%d", path, size, dim);
    *hook = (mlops__cache_embed_hook){id, dim, engine_embed_fn, te, engine_release};
    return MLOPS_OK;
}

static int cache_open(mlops_t *h, const json_t *section)
{
    if (mlops__json_bool(section, "enabled", true) &&
        strcmp(mlops__json_str(section, "embedder", "hashed"), "engine") == 0) {
        mlops__cache_embed_hook hook;
        char id[200];
        int rc = engine_hook(section, &hook, id, sizeof id);
        if (rc != MLOPS_OK)
            return rc;
        mlops__log(&h->logger, MLOPS_LOG_INFO, "cache: engine embedder %s", id);
        return mlops__cache_open_with(h->store, &h->logger, section, &hook, &h->cache);
    }
    return mlops__cache_open(h->store, &h->logger, section, &h->cache);
}

static void cache_close(mlops_t *h)
{
    mlops__cache_close(h->cache);
    h->cache = NULL;
}

const mlops__module mlops__api_cache_module = {
    "cache", &mlops__cache_schema, cache_check_config, cache_open, cache_close,
};

/* Parses optional JSON (NULL or "" = absent) that must be an object. */
static int parse_opt_object(const char *text, const char *what, json_t **out)
{
    *out = NULL;
    if (!text || !*text)
        return MLOPS_OK;
    return mlops__json_parse_object(text, what, out);
}

static int begin(mlops_t *h, const char *fn)
{
    int rc = mlops__api_check_handle(h, fn);
    if (rc == MLOPS_OK && !h->cache)
        rc = mlops__error(MLOPS_EINTERNAL, "%s: the cache module is not open", fn);
    return rc;
}

MLOPS_API int mlops_cache_lookup(mlops_t *h, const char *request_json, const char *options_json,
                                 char **out)
{
    const char *fn = "mlops_cache_lookup";
    int rc = begin(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, fn, "out");
    if (rc == MLOPS_OK)
        *out = NULL;
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(request_json, fn, "request_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *req = NULL, *opts = NULL, *res = NULL;
    rc = mlops__json_parse_object(request_json, "request", &req);
    if (rc == MLOPS_OK)
        rc = parse_opt_object(options_json, "options", &opts);
    if (rc == MLOPS_OK)
        rc = mlops__cache_lookup(h->cache, req, opts, &res);
    if (rc == MLOPS_OK)
        rc = mlops__json_dump_steal(res, out);
    json_decref(req);
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_cache_put(mlops_t *h, const char *request_json, const char *response_json,
                              const char *options_json, int64_t *out_entry_id)
{
    const char *fn = "mlops_cache_put";
    if (out_entry_id)
        *out_entry_id = 0;
    int rc = begin(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(request_json, fn, "request_json");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(response_json, fn, "response_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *req = NULL, *resp = NULL, *opts = NULL;
    rc = mlops__json_parse_object(request_json, "request", &req);
    if (rc == MLOPS_OK)
        rc = mlops__json_parse(response_json, "response", &resp);
    if (rc == MLOPS_OK)
        rc = parse_opt_object(options_json, "options", &opts);
    if (rc == MLOPS_OK)
        rc = mlops__cache_put(h->cache, req, resp, opts, out_entry_id);
    json_decref(req);
    json_decref(resp);
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_cache_feedback(mlops_t *h, int64_t entry_id, const char *feedback_json)
{
    const char *fn = "mlops_cache_feedback";
    int rc = begin(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(feedback_json, fn, "feedback_json");
    if (rc != MLOPS_OK)
        return rc;
    if (entry_id <= 0)
        return mlops__error(MLOPS_EINVAL, "%s: entry_id %lld must be positive", fn,
                            (long long)entry_id);
    json_t *fb = NULL;
    rc = mlops__json_parse_object(feedback_json, "feedback", &fb);
    if (rc == MLOPS_OK)
        rc = mlops__cache_feedback(h->cache, entry_id, fb);
    json_decref(fb);
    return rc;
}

MLOPS_API int mlops_cache_invalidate(mlops_t *h, const char *selector_json, int64_t *out_count)
{
    const char *fn = "mlops_cache_invalidate";
    if (out_count)
        *out_count = 0;
    int rc = begin(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(selector_json, fn, "selector_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *sel = NULL;
    rc = mlops__json_parse_object(selector_json, "selector", &sel);
    if (rc == MLOPS_OK)
        rc = mlops__cache_invalidate(h->cache, sel, out_count);
    json_decref(sel);
    return rc;
}

MLOPS_API int mlops_cache_stats(mlops_t *h, char **out)
{
    const char *fn = "mlops_cache_stats";
    int rc = begin(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, fn, "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *s = NULL;
    rc = mlops__cache_stats(h->cache, &s);
    return rc == MLOPS_OK ? mlops__json_dump_steal(s, out) : rc;
}

MLOPS_API int mlops_cache_flush(mlops_t *h)
{
    int rc = begin(h, "mlops_cache_flush");
    return rc == MLOPS_OK ? mlops__cache_flush(h->cache) : rc;
}

MLOPS_API int mlops_cache_set_embedder(mlops_t *h, const char *name, size_t dim, mlops_embed_fn fn,
                                       void *user_data)
{
    const char *f = "mlops_cache_set_embedder";
    int rc = begin(h, f);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(name, f, "name");
    if (rc == MLOPS_OK)
        rc = mlops__name_check(name, "embedder name");
    if (rc != MLOPS_OK)
        return rc;
    if (dim < 16 || dim > 8192)
        return mlops__error(MLOPS_EINVAL, "%s: dim %zu is outside 16..8192", f, dim);
    return mlops__cache_set_embed_fn(h->cache, name, (int)dim, fn, user_data);
}

MLOPS_API int mlops_cache_set_guard(mlops_t *h, mlops_cache_guard_fn fn, void *user_data)
{
    int rc = begin(h, "mlops_cache_set_guard");
    return rc == MLOPS_OK ? mlops__cache_set_guard_fn(h->cache, fn, user_data) : rc;
}
