/* The engine's public face: argument checks, JSON options, sessions over lib/engine. */
#include "api.h"
#include "../engine/engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "mlops/engine.h"

struct mlops__engine {
    int threads, n_ctx, kv_f32;
};

struct mlops_engine_model {
    mlops__model *m;
};

struct mlops_engine_session {
    mlops_engine_model_t *model;
    mlops__ctx *ctx;
    int32_t *hist; /* tokens whose K/V are in the cache, in order */
    size_t n_hist, cap_hist;
};

/* ------------------------------------------------------------- module ------ */

static const mlops__json_field engine_fields[] = {
    {"threads", MLOPS__J_INTEGER, false},
    {"n_ctx", MLOPS__J_INTEGER, false},
    {"kv_type", MLOPS__J_STRING, false},
    {NULL, 0, false},
};

static int check_common(const json_t *o, const char *path, int err, int *threads, int *n_ctx,
                        int *kv_f32)
{
    int64_t t = mlops__json_int(o, "threads", *threads);
    if (json_object_get(o, "threads") && (t < 1 || t > 256))
        return mlops__error(err, "%s.threads: %lld is outside 1..256", path, (long long)t);
    int64_t c = mlops__json_int(o, "n_ctx", *n_ctx);
    if (c < 0 || c > (1 << 22))
        return mlops__error(err, "%s.n_ctx: %lld is outside 0..4194304", path, (long long)c);
    const char *kv = mlops__json_str(o, "kv_type", NULL);
    if (kv && strcmp(kv, "f16") && strcmp(kv, "f32"))
        return mlops__error(err, "%s.kv_type: '%s' is not f16 or f32", path, kv);
    *threads = (int)t;
    *n_ctx = (int)c;
    if (kv)
        *kv_f32 = strcmp(kv, "f32") == 0;
    return MLOPS_OK;
}

static int engine_check_config(const json_t *section)
{
    if (!section)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(section, "config.engine", engine_fields, MLOPS_ECONFIG);
    int t = 0, c = 0, kv = 0;
    return rc != MLOPS_OK ? rc : check_common(section, "config.engine", MLOPS_ECONFIG, &t, &c, &kv);
}

static int engine_open(mlops_t *h, const json_t *section)
{
    struct mlops__engine *e = calloc(1, sizeof *e);
    if (!e)
        return mlops__error_oom("engine state");
    if (section)
        check_common(section, "config.engine", MLOPS_ECONFIG, &e->threads, &e->n_ctx, &e->kv_f32);
    h->engine = e;
    return MLOPS_OK;
}

static void engine_close(mlops_t *h)
{
    free(h->engine);
    h->engine = NULL;
}

const mlops__module mlops__api_engine_module = {
    "engine", NULL, engine_check_config, engine_open, engine_close,
};

/* ------------------------------------------------------------- models ------ */

static int parse_opts(const char *text, const char *fn, const mlops__json_field *fields, json_t **out)
{
    *out = NULL;
    if (!text || !*text) {
        *out = json_object();
        return *out ? MLOPS_OK : mlops__error_oom("options");
    }
    int rc = mlops__json_parse_object(text, "options", out);
    if (rc == MLOPS_OK && (rc = mlops__json_check_fields(*out, "options", fields, MLOPS_EINVAL)) != MLOPS_OK) {
        json_decref(*out);
        *out = NULL;
    }
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc == MLOPS_EPARSE ? MLOPS_EINVAL : rc, "%s", fn);
    return MLOPS_OK;
}

static int load(const struct mlops__engine *defaults, const char *path, const char *options_json,
                const char *fn, mlops_engine_model_t **out)
{
    static const mlops__json_field fields[] = {
        {"threads", MLOPS__J_INTEGER, false},
        {"n_ctx", MLOPS__J_INTEGER, false},
        {"kv_type", MLOPS__J_STRING, false},
        {"vocab_only", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    int rc;
    if ((rc = mlops__api_check_arg(out, fn, "out")) != MLOPS_OK)
        return rc;
    *out = NULL;
    if ((rc = mlops__api_check_arg(path, fn, "path")) != MLOPS_OK)
        return rc;
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    mlops__model_opts mo = {0};
    if (defaults) {
        mo.threads = defaults->threads;
        mo.n_ctx = defaults->n_ctx;
        mo.kv_f32 = defaults->kv_f32;
    }
    rc = check_common(o, "options", MLOPS_EINVAL, &mo.threads, &mo.n_ctx, &mo.kv_f32);
    mo.vocab_only = mlops__json_bool(o, "vocab_only", false);
    json_decref(o);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "%s", fn);
    mlops_engine_model_t *m = calloc(1, sizeof *m);
    if (!m)
        return mlops__error_oom("model");
    if ((rc = mlops__model_load(path, &mo, &m->m)) != MLOPS_OK) {
        free(m);
        return rc;
    }
    *out = m;
    return MLOPS_OK;
}

MLOPS_API int mlops_engine_model_load(const char *path, const char *options_json, mlops_engine_model_t **out)
{
    return load(NULL, path, options_json, "mlops_engine_model_load", out);
}

MLOPS_API int mlops_engine_load(mlops_t *h, const char *path, const char *options_json,
                                mlops_engine_model_t **out)
{
    int rc = mlops__api_check_handle(h, "mlops_engine_load");
    if (rc != MLOPS_OK)
        return rc;
    return load(h->engine, path, options_json, "mlops_engine_load", out);
}

MLOPS_API void mlops_engine_model_free(mlops_engine_model_t *model)
{
    if (!model)
        return;
    mlops__model_free(model->m);
    free(model);
}

MLOPS_API int mlops_engine_model_info(mlops_engine_model_t *model, char **out)
{
    int rc;
    if ((rc = mlops__api_check_arg(model, "mlops_engine_model_info", "model")) ||
        (rc = mlops__api_check_arg(out, "mlops_engine_model_info", "out")))
        return rc;
    *out = NULL;
    json_t *j;
    if ((rc = mlops__model_info_json(model->m, &j)) != MLOPS_OK)
        return rc;
    return mlops__json_dump_steal(j, out);
}

/* ------------------------------------------------------------- sessions ---- */

MLOPS_API int mlops_engine_session_new(mlops_engine_model_t *model, const char *options_json,
                                mlops_engine_session_t **out)
{
    static const mlops__json_field fields[] = {{NULL, 0, false}};
    int rc;
    if ((rc = mlops__api_check_arg(out, "mlops_engine_session_new", "out")) != MLOPS_OK)
        return rc;
    *out = NULL;
    if ((rc = mlops__api_check_arg(model, "mlops_engine_session_new", "model")) != MLOPS_OK)
        return rc;
    json_t *o;
    if ((rc = parse_opts(options_json, "mlops_engine_session_new", fields, &o)) != MLOPS_OK)
        return rc;
    json_decref(o);
    mlops_engine_session_t *s = calloc(1, sizeof *s);
    if (!s)
        return mlops__error_oom("session");
    s->model = model;
    if ((rc = mlops__ctx_new(model->m, &s->ctx)) != MLOPS_OK) {
        free(s);
        return mlops__error_wrap(rc, "mlops_engine_session_new");
    }
    *out = s;
    return MLOPS_OK;
}

MLOPS_API void mlops_engine_session_free(mlops_engine_session_t *session)
{
    if (!session)
        return;
    mlops__ctx_free(session->ctx);
    free(session->hist);
    free(session);
}

MLOPS_API int mlops_engine_session_reset(mlops_engine_session_t *session)
{
    int rc = mlops__api_check_arg(session, "mlops_engine_session_reset", "session");
    if (rc != MLOPS_OK)
        return rc;
    mlops__ctx_reset(session->ctx);
    session->n_hist = 0;
    return MLOPS_OK;
}

/* ------------------------------------------------------------- tokens ------ */

static int tokenize(const mlops__vocab *v, const char *text, bool add, bool parse, int32_t **ids,
                    size_t *n)
{
    size_t cap = 0;
    *ids = NULL;
    *n = 0;
    int rc = mlops__tokenize(v, text, strlen(text), add, parse, ids, n, &cap);
    if (rc != MLOPS_OK) {
        free(*ids);
        *ids = NULL;
    }
    return rc;
}

MLOPS_API int mlops_engine_tokenize(mlops_engine_model_t *model, const char *text,
                                    const char *options_json, int32_t *out, size_t cap,
                                    size_t *out_n)
{
    static const mlops__json_field fields[] = {
        {"add_special", MLOPS__J_BOOL, false},
        {"parse_special", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    const char *fn = "mlops_engine_tokenize";
    int rc;
    if ((rc = mlops__api_check_arg(model, fn, "model")) || (rc = mlops__api_check_arg(text, fn, "text")) ||
        (rc = mlops__api_check_arg(out_n, fn, "out_n")))
        return rc;
    *out_n = 0;
    if (!out && cap > 0)
        return mlops__error(MLOPS_EINVAL, "%s: out is NULL but cap is %zu", fn, cap);
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    bool add = mlops__json_bool(o, "add_special", true), parse = mlops__json_bool(o, "parse_special", true);
    json_decref(o);
    int32_t *ids;
    size_t n;
    if ((rc = tokenize(mlops__model_vocab(model->m), text, add, parse, &ids, &n)) != MLOPS_OK)
        return rc;
    *out_n = n;
    if (n > cap)
        rc = mlops__error(MLOPS_ELIMIT, "%s: %zu tokens do not fit in cap %zu", fn, n, cap);
    else if (n)
        memcpy(out, ids, n * sizeof *ids);
    free(ids);
    return rc;
}

MLOPS_API int mlops_engine_detokenize(mlops_engine_model_t *model, const int32_t *v, size_t n,
                                      const char *options_json, char **out)
{
    static const mlops__json_field fields[] = {{"special", MLOPS__J_BOOL, false}, {NULL, 0, false}};
    const char *fn = "mlops_engine_detokenize";
    int rc;
    if ((rc = mlops__api_check_arg(model, fn, "model")) || (rc = mlops__api_check_arg(out, fn, "out")))
        return rc;
    *out = NULL;
    if (!v && n)
        return mlops__error(MLOPS_EINVAL, "%s: v is NULL but n is %zu", fn, n);
    const mlops__vocab *voc = mlops__model_vocab(model->m);
    for (size_t i = 0; i < n; i++)
        if (v[i] < 0 || v[i] >= mlops__vocab_size(voc))
            return mlops__error(MLOPS_EINVAL, "%s: v[%zu] = %d is outside the vocabulary", fn, i, v[i]);
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    bool special = mlops__json_bool(o, "special", false);
    json_decref(o);
    return mlops__detokenize(voc, v, n, special, out);
}

/* ------------------------------------------------------------- generate ---- */

typedef struct stream {
    mlops_token_fn fn;
    void *user;
} stream;

static int stream_cb(const char *piece, int32_t id, void *user)
{
    (void)id;
    stream *s = user;
    return s->fn ? s->fn(piece, s->user) : 0;
}

static int sampling_from(const json_t *o, mlops__sampling *sp)
{
    mlops__sampling_defaults(sp);
    sp->temperature = (float)mlops__json_num(o, "temperature", sp->temperature);
    sp->top_k = (int)mlops__json_int(o, "top_k", sp->top_k);
    sp->top_p = (float)mlops__json_num(o, "top_p", sp->top_p);
    sp->min_p = (float)mlops__json_num(o, "min_p", sp->min_p);
    sp->repeat_penalty = (float)mlops__json_num(o, "repeat_penalty", sp->repeat_penalty);
    sp->frequency_penalty = (float)mlops__json_num(o, "frequency_penalty", 0);
    sp->presence_penalty = (float)mlops__json_num(o, "presence_penalty", 0);
    int64_t rl = mlops__json_int(o, "repeat_last_n", sp->repeat_last_n);
    if (rl < 0 || rl > 65536)
        return mlops__error(MLOPS_EINVAL, "options.repeat_last_n: %lld is outside 0..65536", (long long)rl);
    sp->repeat_last_n = (int)rl;
    sp->seed = json_object_get(o, "seed") ? (uint64_t)mlops__json_int(o, "seed", 0) : mlops__now_ns();
    if (!(sp->temperature >= 0) || !(sp->top_p >= 0) || !(sp->min_p >= 0) || !(sp->repeat_penalty > 0))
        return mlops__error(MLOPS_EINVAL, "options: temperature, top_p and min_p must be >= 0, repeat_penalty > 0");
    return MLOPS_OK;
}

static int build_prompt(mlops_engine_model_t *model, const char *prompt, const json_t *o, char **text)
{
    *text = NULL;
    const json_t *msgs = json_object_get(o, "messages");
    if (!msgs) {
        if (!prompt)
            return mlops__error(MLOPS_EINVAL, "mlops_engine_generate: prompt is NULL and options has no messages");
        *text = mlops__strdup(prompt);
        return *text ? MLOPS_OK : mlops__error_oom("prompt");
    }
    const char *family = mlops__json_str(o, "chat_template", NULL);
    if (!family) {
        const char *tmpl = mlops__vocab_chat_template(mlops__model_vocab(model->m));
        if (!tmpl)
            return mlops__error(MLOPS_EUNSUPPORTED, "chat template: the model has no tokenizer.chat_template; "
                                "pass options.chat_template");
        family = mlops__chat_detect(tmpl);
        if (!family)
            return mlops__error(MLOPS_EUNSUPPORTED, "chat template: the model's template is not a known family "
                                "(llama2, llama3, chatml, mistral, phi3, gemma, zephyr); pass options.chat_template");
    }
    return mlops__chat_render(family, msgs, true, text);
}

static int hist_set(mlops_engine_session_t *s, const int32_t *ids, size_t n)
{
    if (n > s->cap_hist) {
        int32_t *p = realloc(s->hist, n * sizeof *p);
        if (!p)
            return mlops__error_oom("session history");
        s->hist = p;
        s->cap_hist = n;
    }
    memmove(s->hist, ids, n * sizeof *ids);
    s->n_hist = n;
    return MLOPS_OK;
}

MLOPS_API int mlops_engine_generate(mlops_engine_session_t *session, const char *prompt,
                                    const char *options_json, mlops_token_fn fn,
                                    void *user_data, char **out_json)
{
    static const mlops__json_field fields[] = {
        {"messages", MLOPS__J_ARRAY, false}, {"chat_template", MLOPS__J_STRING, false},
        {"max_tokens", MLOPS__J_INTEGER, false}, {"temperature", MLOPS__J_NUMBER, false},
        {"top_k", MLOPS__J_INTEGER, false}, {"top_p", MLOPS__J_NUMBER, false},
        {"min_p", MLOPS__J_NUMBER, false}, {"repeat_penalty", MLOPS__J_NUMBER, false},
        {"frequency_penalty", MLOPS__J_NUMBER, false}, {"presence_penalty", MLOPS__J_NUMBER, false},
        {"repeat_last_n", MLOPS__J_INTEGER, false}, {"seed", MLOPS__J_INTEGER, false},
        {"stop", MLOPS__J_ARRAY, false}, {"ignore_eos", MLOPS__J_BOOL, false},
        {"add_special", MLOPS__J_BOOL, false}, {"parse_special", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    const char *fnm = "mlops_engine_generate";
    int rc;
    if ((rc = mlops__api_check_arg(session, fnm, "session")) != MLOPS_OK)
        return rc;
    if (out_json)
        *out_json = NULL;
    json_t *o;
    if ((rc = parse_opts(options_json, fnm, fields, &o)) != MLOPS_OK)
        return rc;
    mlops__sampling sp;
    mlops__gen_opts go = {0};
    const char **stops = NULL;
    char *text = NULL;
    int32_t *ids = NULL;
    size_t n = 0;
    mlops__sampler *smp = NULL;
    mlops__gen_result res = {0};
    mlops__model *m = session->model->m;
    if ((rc = sampling_from(o, &sp)) != MLOPS_OK)
        goto out;
    int64_t max = mlops__json_int(o, "max_tokens", 256);
    if (max < 1 || max > (1 << 24)) {
        rc = mlops__error(MLOPS_EINVAL, "options.max_tokens: %lld is outside 1..16777216", (long long)max);
        goto out;
    }
    go.max_tokens = (int)max;
    go.ignore_eos = mlops__json_bool(o, "ignore_eos", false);
    json_t *st = json_object_get(o, "stop");
    if (st) {
        stops = calloc(json_array_size(st) + 1, sizeof *stops);
        if (!stops) {
            rc = mlops__error_oom("stop strings");
            goto out;
        }
        size_t i;
        json_t *e;
        json_array_foreach(st, i, e) {
            if (!json_is_string(e)) {
                rc = mlops__error(MLOPS_EINVAL, "options.stop[%zu]: expected string", i);
                goto out;
            }
            stops[go.n_stop++] = json_string_value(e);
        }
        go.stop = stops;
    }
    if ((rc = build_prompt(session->model, prompt, o, &text)) != MLOPS_OK)
        goto out;
    if ((rc = tokenize(mlops__model_vocab(m), text, mlops__json_bool(o, "add_special", true),
                       mlops__json_bool(o, "parse_special", true), &ids, &n)) != MLOPS_OK)
        goto out;
    if (n == 0) {
        rc = mlops__error(MLOPS_EINVAL, "%s: the prompt has no tokens", fnm);
        goto out;
    }
    if (n >= (size_t)mlops__model_n_ctx(m)) {
        rc = mlops__error(MLOPS_ELIMIT, "%s: the prompt's %zu tokens do not fit the context of %d",
                          fnm, n, mlops__model_n_ctx(m));
        goto out;
    }
    /* reuse the cached prefix; at least the last prompt token runs again for its logits */
    size_t common = 0;
    while (common < n && common < session->n_hist && session->hist[common] == ids[common])
        common++;
    if (common == n)
        common--;
    mlops__ctx_truncate(session->ctx, (int)common);
    if ((size_t)mlops__ctx_pos(session->ctx) != common)
        mlops__ctx_reset(session->ctx), common = 0;
    session->n_hist = common;
    if ((rc = mlops__sampler_new(&sp, mlops__model_n_vocab(m), &smp)) != MLOPS_OK)
        goto out;
    for (size_t i = 0; i < common; i++)
        mlops__sampler_accept(smp, ids[i]);
    stream sd = {fn, user_data};
    rc = mlops__generate(session->ctx, smp, ids + common, n - common, &go, stream_cb, &sd, &res);
    if (rc == MLOPS_OK || rc == MLOPS_ECANCELED) {
        /* history: the prompt and the generated tokens that went through the cache */
        size_t pos = (size_t)mlops__ctx_pos(session->ctx);
        int32_t *h = malloc((pos + 1) * sizeof *h);
        if (h) {
            memcpy(h, ids, n * sizeof *h);
            for (size_t i = n; i < pos; i++)
                h[i] = res.ids[i - n];
            hist_set(session, h, pos);
            free(h);
        } else {
            session->n_hist = 0;
            mlops__ctx_reset(session->ctx);
        }
    }
    if (rc == MLOPS_OK && out_json) {
        double pt = res.prefill_ms > 0 ? res.n_prompt / (res.prefill_ms / 1000) : 0;
        double dt = res.decode_ms > 0 && res.n_gen > 1 ? (res.n_gen - 1) / (res.decode_ms / 1000) : 0;
        json_t *j = json_pack("{s:s,s:s,s:i,s:i,s:f,s:f,s:f,s:f,s:i}", "text", res.text ? res.text : "",
                              "finish_reason", res.finish, "prompt_tokens", (int)n,
                              "completion_tokens", res.n_gen, "prefill_ms", res.prefill_ms,
                              "decode_ms", res.decode_ms, "prefill_tps", pt, "decode_tps", dt,
                              "cached_tokens", (int)common);
        rc = j ? mlops__json_dump_steal(j, out_json) : mlops__error_oom("result");
    }
out:
    free(res.text);
    free(res.ids);
    mlops__sampler_free(smp);
    free(ids);
    free(text);
    free(stops);
    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------- logits ------ */

MLOPS_API int mlops_engine_logits(mlops_engine_session_t *session, const int32_t *v, size_t n,
                                  const char *options_json, float *out, size_t cap,
                                  size_t *out_n)
{
    static const mlops__json_field fields[] = {
        {"all", MLOPS__J_BOOL, false}, {"reset", MLOPS__J_BOOL, false}, {NULL, 0, false}};
    const char *fn = "mlops_engine_logits";
    int rc;
    if ((rc = mlops__api_check_arg(session, fn, "session")) || (rc = mlops__api_check_arg(v, fn, "v")) ||
        (rc = mlops__api_check_arg(out_n, fn, "out_n")))
        return rc;
    *out_n = 0;
    if (n == 0)
        return mlops__error(MLOPS_EINVAL, "%s: n is 0", fn);
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    bool all = mlops__json_bool(o, "all", false), reset = mlops__json_bool(o, "reset", true);
    json_decref(o);
    mlops__model *m = session->model->m;
    size_t nv = (size_t)mlops__model_n_vocab(m), need = (all ? n : 1) * nv;
    *out_n = need;
    if (cap < need || !out)
        return mlops__error(MLOPS_ELIMIT, "%s: %zu logits do not fit in cap %zu", fn, need, cap);
    if (reset) {
        mlops__ctx_reset(session->ctx);
        session->n_hist = 0;
    }
    size_t pos = (size_t)mlops__ctx_pos(session->ctx);
    if ((rc = mlops__ctx_eval(session->ctx, v, n, all)) != MLOPS_OK)
        return rc;
    int32_t *h = malloc((pos + n) * sizeof *h);
    if (h && session->n_hist == pos) {
        memcpy(h, session->hist, pos * sizeof *h);
        memcpy(h + pos, v, n * sizeof *h);
        hist_set(session, h, pos + n);
    } else {
        session->n_hist = 0; /* unknown history: no prefix reuse */
    }
    free(h);
    memcpy(out, mlops__ctx_logits(session->ctx, NULL), need * sizeof *out);
    return MLOPS_OK;
}

MLOPS_API int mlops_engine_embed(mlops_engine_model_t *model, const char *text, const char *options_json,
                                 float *out, size_t cap, size_t *out_n)
{
    static const mlops__json_field fields[] = {{"normalize", MLOPS__J_BOOL, false}, {NULL, 0, false}};
    const char *fn = "mlops_engine_embed";
    int rc;
    if ((rc = mlops__api_check_arg(model, fn, "model")) || (rc = mlops__api_check_arg(text, fn, "text")) ||
        (rc = mlops__api_check_arg(out_n, fn, "out_n")))
        return rc;
    *out_n = 0;
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    bool norm = mlops__json_bool(o, "normalize", true);
    json_decref(o);
    size_t ne = (size_t)mlops__model_n_embd(model->m);
    *out_n = ne;
    rc = mlops__embed_text(model->m, NULL, text, norm, false, out, cap);
    return rc == MLOPS_OK ? rc : mlops__error_wrap(rc, "%s", fn);
}

/* ------------------------------------------------------------- tools ------- */

MLOPS_API int mlops_gguf_synth(const char *path, const char *options_json)
{
    static const mlops__json_field fields[] = {
        {"arch", MLOPS__J_STRING, false}, {"n_embd", MLOPS__J_INTEGER, false},
        {"n_layer", MLOPS__J_INTEGER, false}, {"n_head", MLOPS__J_INTEGER, false},
        {"n_head_kv", MLOPS__J_INTEGER, false}, {"n_ff", MLOPS__J_INTEGER, false},
        {"n_vocab", MLOPS__J_INTEGER, false}, {"n_ctx", MLOPS__J_INTEGER, false},
        {"vocab", MLOPS__J_STRING, false}, {"seed", MLOPS__J_INTEGER, false},
        {"type", MLOPS__J_STRING, false}, {"tied", MLOPS__J_BOOL, false}, {NULL, 0, false},
    };
    const char *fn = "mlops_gguf_synth";
    int rc;
    if ((rc = mlops__api_check_arg(path, fn, "path")) != MLOPS_OK)
        return rc;
    json_t *o;
    if ((rc = parse_opts(options_json, fn, fields, &o)) != MLOPS_OK)
        return rc;
    mlops__synth_opts so;
    mlops__synth_defaults(&so);
    so.arch = mlops__json_str(o, "arch", so.arch);
    so.vocab = mlops__json_str(o, "vocab", so.vocab);
    const char *dims[] = {"n_embd", "n_layer", "n_head", "n_head_kv", "n_ff", "n_vocab", "n_ctx"};
    int *dst[] = {&so.n_embd, &so.n_layer, &so.n_head, &so.n_head_kv, &so.n_ff, &so.n_vocab, &so.n_ctx};
    for (size_t i = 0; i < 7 && rc == MLOPS_OK; i++) {
        int64_t x = mlops__json_int(o, dims[i], *dst[i]);
        if (x < 1 || x > (1 << 22))
            rc = mlops__error(MLOPS_EINVAL, "options.%s: %lld is outside 1..4194304", dims[i], (long long)x);
        *dst[i] = (int)x;
    }
    if (!json_object_get(o, "n_head_kv") && json_object_get(o, "n_head"))
        so.n_head_kv = so.n_head;
    so.seed = (uint64_t)mlops__json_int(o, "seed", (int64_t)so.seed);
    so.tied = mlops__json_bool(o, "tied", false);
    const char *type = mlops__json_str(o, "type", "F32");
    if (strcasecmp(type, "F16") == 0)
        so.type = 1;
    else if (strcasecmp(type, "F32") != 0 && rc == MLOPS_OK)
        rc = mlops__error(MLOPS_EINVAL, "options.type: '%s' is not F32 or F16", type);
    if (rc == MLOPS_OK)
        rc = mlops__synth(path, &so);
    json_decref(o);
    return rc;
}

MLOPS_API int mlops_gguf_quantize(const char *in, const char *out, const char *type)
{
    const char *fn = "mlops_gguf_quantize";
    int rc;
    if ((rc = mlops__api_check_arg(in, fn, "in")) || (rc = mlops__api_check_arg(out, fn, "out")) ||
        (rc = mlops__api_check_arg(type, fn, "type")))
        return rc;
    return mlops__quantize(in, out, type, 0);
}

MLOPS_API int mlops_gguf_info(const char *path, char **out)
{
    int rc;
    if ((rc = mlops__api_check_arg(path, "mlops_gguf_info", "path")) ||
        (rc = mlops__api_check_arg(out, "mlops_gguf_info", "out")))
        return rc;
    *out = NULL;
    mlops__gguf *g;
    if ((rc = mlops__gguf_open(path, &g)) != MLOPS_OK)
        return rc;
    json_t *j;
    rc = mlops__gguf_info_json(g, &j);
    mlops__gguf_close(g);
    return rc == MLOPS_OK ? mlops__json_dump_steal(j, out) : rc;
}
