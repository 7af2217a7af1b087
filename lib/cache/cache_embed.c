/*
 * Embedders behind one interface: "hashed" (core's feature hashing, no model),
 * "callback" (the caller's function), "provider" (an OpenAI-compatible POST
 * {base_url}/embeddings over libcurl: {"model", "input"} -> {"data": [{"embedding":
 * [...]}]}), and "engine" (a local GGUF model: lib/api loads it through lib/engine
 * and hands over a hook, since this module includes only lib/core).
 */
#include "cache.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RESPONSE (16u << 20)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void release_hook(const mlops__cache_embed_hook *hook)
{
    if (hook && hook->release)
        hook->release(hook->user);
}

int mlops__cache_embedder_from_config(const json_t *section, const mlops__cache_embed_hook *hook,
                                      mlops__cache_embedder **out)
{
    *out = NULL;
    const char *kind = mlops__json_str(section, "embedder", "hashed");
    if (strcmp(kind, "engine") != 0) {
        release_hook(hook);
        hook = NULL;
    }
    mlops__cache_embedder *e = calloc(1, sizeof *e);
    if (!e) {
        release_hook(hook);
        return mlops__error_oom("embedder");
    }
    e->dim = (int)mlops__json_int(section, "dim", 384);
    if (strcmp(kind, "hashed") == 0) {
        e->kind = MLOPS__EMB_HASHED;
        mlops__hashvec_defaults(&e->hashed, e->dim);
        e->hashed.seed = (uint64_t)mlops__json_int(section, "seed", 0);
        snprintf(e->id, sizeof e->id, "hashed/%d/w%.2f,%.2f,%.2f/c%d-%d/s%llu", e->dim,
                 e->hashed.word_weight, e->hashed.bigram_weight, e->hashed.char_weight,
                 e->hashed.char_min, e->hashed.char_max, (unsigned long long)e->hashed.seed);
    } else if (strcmp(kind, "callback") == 0) {
        e->kind = MLOPS__EMB_CALLBACK;
        snprintf(e->id, sizeof e->id, "callback/unset");
    } else if (strcmp(kind, "provider") == 0) {
        const json_t *p = json_object_get(section, "provider");
        e->kind = MLOPS__EMB_PROVIDER;
        e->base_url = mlops__strdup(mlops__json_str(p, "base_url", "https://api.openai.com/v1"));
        e->model = mlops__strdup(mlops__json_str(p, "model", "text-embedding-3-small"));
        e->api_key_env = mlops__strdup(mlops__json_str(p, "api_key_env", "OPENAI_API_KEY"));
        e->timeout_ms = (long)mlops__json_int(p, "timeout_ms", 10000);
        if (!e->base_url || !e->model || !e->api_key_env) {
            mlops__cache_embedder_free(e);
            return mlops__error_oom("embedder");
        }
        snprintf(e->id, sizeof e->id, "provider/%.80s/%.80s/%d", e->base_url, e->model, e->dim);
        pthread_once(&curl_once, curl_init_once);
    } else if (strcmp(kind, "engine") == 0) {
        if ((!hook || !hook->fn || hook->dim < 1) &&
            !mlops__json_bool(section, "enabled", true)) {
            /* A disabled cache serves nothing: no model is loaded, nothing embeds. */
            e->kind = MLOPS__EMB_ENGINE;
            snprintf(e->id, sizeof e->id, "engine/unloaded");
            release_hook(hook);
            *out = e;
            return MLOPS_OK;
        }
        if (!hook || !hook->fn || hook->dim < 1) {
            free(e);
            release_hook(hook);
            return mlops__error(MLOPS_EUNSUPPORTED,
                                "config.cache.embedder: 'engine' needs a model loaded by the "
                                "handle (config.cache.engine_model)");
        }
        e->kind = MLOPS__EMB_ENGINE;
        e->dim = hook->dim;
        e->fn = hook->fn;
        e->user = hook->user;
        e->release = hook->release;
        snprintf(e->id, sizeof e->id, "%s", hook->id ? hook->id : "engine");
    } else {
        free(e);
        return mlops__error(MLOPS_ECONFIG,
                            "config.cache.embedder: '%s' is not one of hashed, callback, "
                            "provider, engine",
                            kind);
    }
    *out = e;
    return MLOPS_OK;
}

void mlops__cache_embedder_free(mlops__cache_embedder *e)
{
    if (!e)
        return;
    free(e->base_url);
    free(e->model);
    free(e->api_key_env);
    if (e->release)
        e->release(e->user);
    free(e);
}

bool mlops__cache_embedder_ready(const mlops__cache_embedder *e)
{
    return e && ((e->kind != MLOPS__EMB_CALLBACK && e->kind != MLOPS__EMB_ENGINE) || e->fn);
}

static size_t collect(char *ptr, size_t size, size_t nmemb, void *user)
{
    mlops__buf *b = user;
    size_t n = size * nmemb;
    if (b->len + n > MAX_RESPONSE)
        return 0;
    mlops__buf_append(b, ptr, n);
    return b->failed ? 0 : n;
}

static int provider_embed(const mlops__cache_embedder *e, const char *text, float *out)
{
    char *url = mlops__sprintf("%s/embeddings", e->base_url);
    json_t *body = json_pack("{s:s, s:s}", "model", e->model, "input", text);
    char *payload = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    CURL *curl = curl_easy_init();
    struct curl_slist *hdrs = NULL;
    mlops__buf resp;
    mlops__buf_init(&resp);
    int rc = MLOPS_OK;
    if (!url || !payload || !curl) {
        rc = mlops__error_oom("embeddings request");
        goto out;
    }
    hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
    const char *key = getenv(e->api_key_env);
    if (key && *key) {
        char *auth = mlops__sprintf("Authorization: Bearer %s", key);
        if (auth)
            hdrs = curl_slist_append(hdrs, auth);
        free(auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, e->timeout_ms);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode cc = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        rc = mlops__error(cc == CURLE_OPERATION_TIMEDOUT ? MLOPS_ETIMEOUT : MLOPS_EPROVIDER,
                          "embedder 'provider': %s: %s", url, curl_easy_strerror(cc));
        goto out;
    }
    if (status != 200) {
        rc = mlops__error(MLOPS_EPROVIDER, "embedder 'provider': %s answered HTTP %ld: %.200s", url,
                          status, resp.data ? resp.data : "");
        goto out;
    }
    json_t *doc = NULL;
    if (mlops__json_parse(resp.data ? resp.data : "", "embeddings response", &doc) != MLOPS_OK) {
        rc = mlops__error_wrap(MLOPS_EPROVIDER, "embedder 'provider'");
        goto out;
    }
    const json_t *vec = json_object_get(json_array_get(json_object_get(doc, "data"), 0), "embedding");
    if (!json_is_array(vec)) {
        json_decref(doc);
        rc = mlops__error(MLOPS_EPROVIDER,
                          "embedder 'provider': response has no data[0].embedding array");
        goto out;
    }
    if (json_array_size(vec) != (size_t)e->dim) {
        rc = mlops__error(MLOPS_EINVAL,
                          "embedder 'provider': dimension mismatch: the endpoint returned %zu "
                          "values, config.cache.dim is %d",
                          json_array_size(vec), e->dim);
        json_decref(doc);
        goto out;
    }
    for (int i = 0; i < e->dim; i++) {
        const json_t *x = json_array_get(vec, (size_t)i);
        if (!json_is_number(x)) {
            json_decref(doc);
            rc = mlops__error(MLOPS_EPROVIDER, "embedder 'provider': embedding[%d] is not a number",
                              i);
            goto out;
        }
        out[i] = (float)json_number_value(x);
    }
    json_decref(doc);
out:
    curl_slist_free_all(hdrs);
    if (curl)
        curl_easy_cleanup(curl);
    mlops__buf_free(&resp);
    free(payload);
    free(url);
    return rc;
}

int mlops__cache_embed(const mlops__cache_embedder *e, const char *text, float *out)
{
    if (!text || !*text)
        return mlops__error(MLOPS_EINVAL, "embedder: the text is empty");
    int rc = MLOPS_OK;
    switch (e->kind) {
    case MLOPS__EMB_HASHED: {
        bool empty = true;
        rc = mlops__hashvec_embed(&e->hashed, text, strlen(text), out, &empty);
        if (rc == MLOPS_OK && empty)
            return mlops__error(MLOPS_EINVAL,
                                "embedder 'hashed': the prompt has no letters or digits");
        return rc;
    }
    case MLOPS__EMB_CALLBACK: {
        if (!e->fn)
            return mlops__error(MLOPS_ESTATE, "embedder 'callback': no function installed "
                                              "(mlops_cache_set_embedder)");
        int r = e->fn(text, out, (size_t)e->dim, e->user);
        if (r != 0)
            return mlops__error(MLOPS_ECANCELED, "embedder 'callback' returned %d", r);
        break;
    }
    case MLOPS__EMB_PROVIDER:
        rc = provider_embed(e, text, out);
        break;
    case MLOPS__EMB_ENGINE: {
        if (!e->fn)
            return mlops__error(MLOPS_ESTATE, "embedder 'engine': no model loaded");
        int r = e->fn(text, out, (size_t)e->dim, e->user);
        if (r != 0)
            return mlops__error_wrap(r < 0 ? r : MLOPS_EINTERNAL, "embedder 'engine'");
        break;
    }
    default:
        return mlops__error(MLOPS_EINTERNAL, "embedder: unknown kind %d", (int)e->kind);
    }
    if (rc != MLOPS_OK)
        return rc;
    const char *name = e->kind == MLOPS__EMB_CALLBACK   ? "callback"
                       : e->kind == MLOPS__EMB_PROVIDER ? "provider"
                                                        : "engine";
    if (!mlops__vec_finite(out, (size_t)e->dim))
        return mlops__error(MLOPS_EINVAL, "embedder '%s': the vector has NaN or Inf values", name);
    if (mlops__vec_normalize(out, e->dim) == 0.0f)
        return mlops__error(MLOPS_EINVAL, "embedder '%s': the vector is all zeros", name);
    return MLOPS_OK;
}
