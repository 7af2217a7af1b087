/*
 * The `local` provider: chat completions on the in-process engine (lib/engine).
 *
 * A deployment {"provider": "local", "model": "/path/model.gguf" (or "model_path"),
 * "options": {"threads", "n_ctx", "kv_f32", "sessions"}, "chat_template": "chatml"}
 * names a GGUF file. The loaded model lives in a holder shared by every deployment
 * (and every configuration snapshot) that names the same file with the same options:
 * a reload that keeps path and options keeps the loaded model; one that changes them
 * gets a new holder, and the old model is freed when the last snapshot using it goes.
 * The file is loaded on first use, not at configure time, so a gateway configures
 * quickly and a bad path fails the request that needs it (naming the deployment).
 *
 * Concurrency: the model is read-only once loaded and shared by all requests; each
 * request runs on its own context (KV cache), taken from a small pool of idle contexts
 * (options.sessions, default 2) or created. The engine's thread pool serialises
 * parallel-for jobs from concurrent requests, so concurrent requests share the CPU
 * threads rather than oversubscribing them.
 */
#include "gateway_state.h"
#include "provider.h"

#include "../engine/engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LOCAL_MAX_IDLE 16

struct mlops__gw_local {
    struct mlops__gw_local *next;
    mlops__gateway *gw;
    char *key;  /* path "\n" options JSON: holders with the same key are shared */
    char *path;
    mlops__model_opts opts;
    int sessions;
    int refs; /* under gw->locals_lock */
    mlops__mutex lock; /* guards model loading and the idle contexts */
    mlops__model *model;
    mlops__ctx *idle[LOCAL_MAX_IDLE];
    int nidle;
};

static const mlops__json_field option_fields[] = {
    {"threads", MLOPS__J_INTEGER, false},
    {"n_ctx", MLOPS__J_INTEGER, false},
    {"kv_f32", MLOPS__J_BOOL, false},
    {"sessions", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

int mlops__gw_local_check(const json_t *d, const char *path)
{
    if (json_object_get(d, "base_url"))
        return mlops__error(MLOPS_ECONFIG, "%s.base_url: not used by provider 'local' (it runs "
                            "in-process on model_path)", path);
    const json_t *o = json_object_get(d, "options");
    char sub[320];
    snprintf(sub, sizeof sub, "%.300s.options", path);
    int rc;
    if (o && (rc = mlops__json_check_fields(o, sub, option_fields, MLOPS_ECONFIG)) != MLOPS_OK)
        return rc;
    static const struct { const char *key; int64_t lo, hi; } ranges[] = {
        {"threads", 0, 256}, {"n_ctx", 0, 1 << 20}, {"sessions", 0, LOCAL_MAX_IDLE}};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(ranges); i++) {
        json_t *v = json_object_get(o, ranges[i].key);
        if (v && (json_integer_value(v) < ranges[i].lo || json_integer_value(v) > ranges[i].hi))
            return mlops__error(MLOPS_ECONFIG, "%s.%s: %lld is outside %lld..%lld", sub,
                                ranges[i].key, (long long)json_integer_value(v),
                                (long long)ranges[i].lo, (long long)ranges[i].hi);
    }
    const char *m = mlops__json_str(d, "model", NULL), *mp = mlops__json_str(d, "model_path", NULL);
    if (m && mp && strcmp(m, mp) != 0)
        return mlops__error(MLOPS_ECONFIG, "%s: give model or model_path (the GGUF file), not both",
                            path);
    if (!(mp ? mp : m ? m : "")[0])
        return mlops__error(MLOPS_ECONFIG, "%s.model_path: missing (the GGUF file to load)", path);
    const char *tmpl = mlops__json_str(d, "chat_template", NULL);
    if (tmpl) {
        char *probe = NULL;
        json_t *msgs = json_pack("[{s:s, s:s}]", "role", "user", "content", "x");
        rc = mlops__chat_render(tmpl, msgs, true, &probe);
        json_decref(msgs);
        free(probe);
        if (rc != MLOPS_OK)
            return mlops__error(MLOPS_ECONFIG,
                                "%s.chat_template: '%s' is not one of llama2, llama3, chatml, "
                                "mistral, phi3, gemma, zephyr", path, tmpl);
    }
    return MLOPS_OK;
}

int mlops__gw_local_get(mlops__gateway *gw, const json_t *d, mlops__gw_local **out)
{
    *out = NULL;
    const char *path = mlops__json_str(d, "model_path", mlops__json_str(d, "model", ""));
    const json_t *o = json_object_get(d, "options");
    char *oj = NULL;
    if (o) {
        oj = json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT);
        if (!oj)
            return mlops__error_oom("local deployment");
    }
    char *key = mlops__sprintf("%s\n%s", path, oj ? oj : "{}");
    free(oj);
    if (!key)
        return mlops__error_oom("local deployment");
    mlops__mutex_lock(&gw->locals_lock);
    mlops__gw_local *l = gw->locals;
    while (l && strcmp(l->key, key) != 0)
        l = l->next;
    if (l) {
        l->refs++;
        free(key);
    } else if ((l = calloc(1, sizeof *l)) != NULL && (l->path = mlops__strdup(path)) != NULL) {
        l->gw = gw;
        l->key = key;
        l->refs = 1;
        l->opts.threads = (int)mlops__json_int(o, "threads", 0);
        l->opts.n_ctx = (int)mlops__json_int(o, "n_ctx", 0);
        l->opts.kv_f32 = mlops__json_bool(o, "kv_f32", false);
        l->sessions = (int)mlops__json_int(o, "sessions", 2);
        mlops__mutex_init(&l->lock);
        l->next = gw->locals;
        gw->locals = l;
    } else {
        free(l);
        free(key);
        l = NULL;
    }
    mlops__mutex_unlock(&gw->locals_lock);
    if (!l)
        return mlops__error_oom("local deployment");
    *out = l;
    return MLOPS_OK;
}

void mlops__gw_local_release(mlops__gw_local *l)
{
    if (!l)
        return;
    mlops__gateway *gw = l->gw;
    mlops__mutex_lock(&gw->locals_lock);
    bool last = --l->refs == 0;
    if (last) {
        mlops__gw_local **p = &gw->locals;
        while (*p != l)
            p = &(*p)->next;
        *p = l->next;
    }
    mlops__mutex_unlock(&gw->locals_lock);
    if (!last)
        return;
    for (int i = 0; i < l->nidle; i++)
        mlops__ctx_free(l->idle[i]);
    mlops__model_free(l->model);
    mlops__mutex_destroy(&l->lock);
    free(l->key);
    free(l->path);
    free(l);
}

void mlops__gw_local_describe(mlops__gw_local *l, json_t *obj)
{
    if (!l)
        return;
    mlops__mutex_lock(&l->lock);
    json_object_set_new(obj, "loaded", json_boolean(l->model != NULL));
    json_object_set_new(obj, "idle_sessions", json_integer(l->nidle));
    mlops__mutex_unlock(&l->lock);
}

/* A context on the (lazily loaded) model. */
static int local_acquire(const mlops__gw_deployment *d, mlops__ctx **out)
{
    mlops__gw_local *l = d->local;
    *out = NULL;
    mlops__mutex_lock(&l->lock);
    int rc = MLOPS_OK;
    if (!l->model) {
        rc = mlops__model_load(l->path, &l->opts, &l->model);
        if (rc != MLOPS_OK) {
            char why[512];
            snprintf(why, sizeof why, "%s", mlops__error_text());
            mlops__mutex_unlock(&l->lock);
            return mlops__error(MLOPS_ECONFIG, "deployment '%s': cannot load model_path '%s': %s",
                                d->id, l->path, why);
        }
        mlops__log(l->gw->logger, MLOPS_LOG_INFO, "gateway: deployment '%s' loaded %s", d->id,
                   l->path);
    }
    if (mlops__model_is_encoder(l->model)) {
        mlops__mutex_unlock(&l->lock);
        return mlops__error(MLOPS_ECONFIG,
                            "deployment '%s': %s is an encoder-only model; it cannot chat", d->id,
                            l->path);
    }
    mlops__ctx *c = l->nidle > 0 ? l->idle[--l->nidle] : NULL;
    mlops__model *m = l->model;
    mlops__mutex_unlock(&l->lock);
    if (c)
        mlops__ctx_reset(c);
    else if ((rc = mlops__ctx_new(m, &c)) != MLOPS_OK)
        return rc;
    *out = c;
    return MLOPS_OK;
}

static void local_give_back(const mlops__gw_deployment *d, mlops__ctx *c)
{
    mlops__gw_local *l = d->local;
    mlops__mutex_lock(&l->lock);
    if (c && l->nidle < l->sessions) {
        l->idle[l->nidle++] = c;
        c = NULL;
    }
    mlops__mutex_unlock(&l->lock);
    mlops__ctx_free(c);
}

/* A request value, else the deployment's params value (defaults for this deployment). */
static json_t *opt(const mlops__gw_deployment *d, const json_t *req, const char *key)
{
    json_t *v = json_object_get(req, key);
    if (v && !json_is_null(v))
        return v;
    return json_object_get(d->params, key);
}

static double opt_num(const mlops__gw_deployment *d, const json_t *req, const char *key, double def)
{
    json_t *v = opt(d, req, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

/* The request's messages as {role, content-text} for the chat template. */
static int chat_text(const mlops__gw_deployment *d, const mlops__model *m, const json_t *req,
                     char **out)
{
    const char *family = d->chat_template;
    if (!family) {
        const char *tmpl = mlops__vocab_chat_template(mlops__model_vocab(m));
        family = tmpl ? mlops__chat_detect(tmpl) : NULL;
        if (!family)
            return mlops__error(MLOPS_ECONFIG,
                                "deployment '%s': the model's chat template is %s; set "
                                "chat_template in the deployment (llama2, llama3, chatml, "
                                "mistral, phi3, gemma, zephyr)",
                                d->id, tmpl ? "not a known family" : "missing");
    }
    json_t *msgs = json_array();
    size_t i;
    json_t *msg;
    json_array_foreach(json_object_get(req, "messages"), i, msg) {
        const char *role = mlops__json_str(msg, "role", "user");
        if (strcmp(role, "tool") == 0 || strcmp(role, "developer") == 0)
            role = strcmp(role, "tool") == 0 ? "user" : "system";
        char *text = mlops__gw_content_text(json_object_get(msg, "content"));
        json_array_append_new(msgs, json_pack("{s:s, s:o}", "role", role, "content",
                                              mlops__gw_json_text(text ? text : "")));
        free(text);
    }
    int rc = mlops__chat_render(family, msgs, true, out);
    json_decref(msgs);
    return rc;
}

typedef struct gen_state {
    const mlops__gw_deployment *d;
    mlops__gw_stream *st; /* NULL when not streaming */
    uint64_t deadline_ns;
    bool timed_out;
    int sink_rc;
} gen_state;

static int on_piece(const char *piece, int32_t id, void *user)
{
    (void)id;
    gen_state *g = user;
    if (mlops__now_ns() > g->deadline_ns) {
        g->timed_out = true;
        return 1;
    }
    if (!g->st || !*piece)
        return 0;
    json_t *chunk = mlops__gw_chunk_new(g->st);
    json_object_set_new(json_object_get(json_array_get(json_object_get(chunk, "choices"), 0), "delta"),
                        "content", mlops__gw_json_text(piece));
    g->sink_rc = g->st->sink(g->st->user, chunk);
    json_decref(chunk);
    return g->sink_rc != MLOPS_OK;
}

static int local_invoke(const mlops__gw_deployment *d, const json_t *req, bool stream,
                        mlops__gw_stream *st, json_t **out)
{
    *out = NULL;
    mlops__ctx *c = NULL;
    int rc = local_acquire(d, &c);
    if (rc != MLOPS_OK)
        return rc;
    mlops__model *m = mlops__ctx_model(c);
    const mlops__vocab *v = mlops__model_vocab(m);
    char *text = NULL;
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    mlops__sampler *smp = NULL;
    mlops__gen_result res = {0};
    const char *stops[16];
    mlops__gen_opts go = {0};
    if ((rc = chat_text(d, m, req, &text)) != MLOPS_OK)
        goto out;
    if ((rc = mlops__tokenize(v, text, strlen(text), true, true, &ids, &n, &cap)) != MLOPS_OK)
        goto out;
    int n_ctx = mlops__model_n_ctx(m);
    if (n == 0) {
        rc = mlops__error(MLOPS_EINVAL, "deployment '%s': the prompt has no tokens", d->id);
        goto out;
    }
    if (n >= (size_t)n_ctx) {
        rc = mlops__error(MLOPS_ELIMIT, "deployment '%s': the prompt's %zu tokens do not fit "
                          "the context of %d (maximum context length)", d->id, n, n_ctx);
        goto out;
    }
    mlops__sampling sp;
    mlops__sampling_defaults(&sp);
    sp.temperature = (float)opt_num(d, req, "temperature", 1.0);
    sp.top_p = (float)opt_num(d, req, "top_p", 1.0);
    sp.top_k = (int)opt_num(d, req, "top_k", sp.top_k);
    sp.min_p = (float)opt_num(d, req, "min_p", sp.min_p);
    sp.repeat_penalty = (float)opt_num(d, req, "repeat_penalty", sp.repeat_penalty);
    sp.frequency_penalty = (float)opt_num(d, req, "frequency_penalty", 0);
    sp.presence_penalty = (float)opt_num(d, req, "presence_penalty", 0);
    json_t *seed = opt(d, req, "seed");
    sp.seed = json_is_integer(seed) ? (uint64_t)json_integer_value(seed) : mlops__now_ns();
    if (!(sp.repeat_penalty > 0))
        sp.repeat_penalty = 1;
    json_t *mt = opt(d, req, "max_completion_tokens");
    if (!json_is_integer(mt))
        mt = opt(d, req, "max_tokens");
    go.max_tokens = json_is_integer(mt) && json_integer_value(mt) > 0 &&
                            json_integer_value(mt) < n_ctx
                        ? (int)json_integer_value(mt) : n_ctx;
    json_t *stop = opt(d, req, "stop");
    if (json_is_string(stop))
        stops[go.n_stop++] = json_string_value(stop);
    size_t i;
    json_t *s;
    json_array_foreach(stop, i, s)
        if (json_is_string(s) && go.n_stop < MLOPS__ARRAY_LEN(stops))
            stops[go.n_stop++] = json_string_value(s);
    go.stop = stops;
    if ((rc = mlops__sampler_new(&sp, mlops__model_n_vocab(m), &smp)) != MLOPS_OK)
        goto out;
    const char *slash = strrchr(d->upstream, '/');
    if (st) {
        snprintf(st->id, sizeof st->id, "chatcmpl-local-%llx", (unsigned long long)mlops__now_ns());
        snprintf(st->model, sizeof st->model, "%s", slash ? slash + 1 : d->upstream);
    }
    uint64_t deadline = mlops__now_ns() + (uint64_t)d->timeout_ms * 1000000u;
    if (st && st->deadline_ns && st->deadline_ns < deadline)
        deadline = st->deadline_ns;
    gen_state g = {d, stream ? st : NULL, deadline, false, MLOPS_OK};
    if (stream) {
        json_t *first = mlops__gw_chunk_new(st);
        json_object_set_new(json_object_get(json_array_get(json_object_get(first, "choices"), 0), "delta"),
                            "role", json_string("assistant"));
        g.sink_rc = st->sink(st->user, first);
        json_decref(first);
        if (g.sink_rc != MLOPS_OK) {
            rc = mlops__error(MLOPS_ECANCELED, "canceled by the chunk function");
            goto out;
        }
    }
    rc = mlops__generate(c, smp, ids, n, &go, on_piece, &g, &res);
    if (g.timed_out) {
        rc = mlops__error(MLOPS_ETIMEOUT, "deployment '%s': generation passed its deadline "
                          "(timeout_ms %lld or the request's) after %d tokens", d->id,
                          (long long)d->timeout_ms, res.n_gen);
        goto out;
    }
    if (rc == MLOPS_ECANCELED || g.sink_rc != MLOPS_OK) {
        rc = mlops__error(MLOPS_ECANCELED, "canceled by the chunk function");
        goto out;
    }
    if (rc != MLOPS_OK)
        goto out;
    const char *finish = strcmp(res.finish, "length") == 0 ? "length" : "stop";
    if (stream) {
        json_t *last = mlops__gw_chunk_new(st);
        json_object_set_new(json_array_get(json_object_get(last, "choices"), 0), "finish_reason",
                            json_string(finish));
        int src = st->sink(st->user, last);
        json_decref(last);
        st->prompt_tokens = (int64_t)n;
        st->completion_tokens = res.n_gen;
        st->done = true;
        if (src != MLOPS_OK) {
            rc = mlops__error(MLOPS_ECANCELED, "canceled by the chunk function");
            goto out;
        }
        *out = json_object();
    } else {
        char id[64];
        snprintf(id, sizeof id, "chatcmpl-local-%llx", (unsigned long long)mlops__now_ns());
        *out = json_pack("{s:s, s:s, s:I, s:s, s:[{s:i, s:{s:s, s:o}, s:s}], s:{s:i, s:i, s:i}}",
                         "id", id, "object", "chat.completion", "created", (json_int_t)time(NULL),
                         "model", slash ? slash + 1 : d->upstream, "choices", "index", 0,
                         "message", "role", "assistant", "content",
                         mlops__gw_json_text(res.text ? res.text : ""), "finish_reason", finish,
                         "usage", "prompt_tokens", (int)n, "completion_tokens", res.n_gen,
                         "total_tokens", (int)n + res.n_gen);
        if (!*out)
            rc = mlops__error_oom("local response");
    }
out:
    free(res.text);
    free(res.ids);
    mlops__sampler_free(smp);
    free(ids);
    free(text);
    local_give_back(d, c);
    return rc;
}

const mlops__provider mlops__provider_local = {
    .name = "local",
    .invoke = local_invoke,
};
