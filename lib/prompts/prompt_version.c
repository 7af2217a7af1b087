/*
 * Prompt versions: validating and normalising pushed content, compiling a stored
 * version into its shareable, reference-counted form, and the JSON that describes it.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

void mlops__prompt_version_ref(mlops__prompt_version *v)
{
    __atomic_add_fetch(&v->refs, 1, __ATOMIC_RELAXED);
}

static void version_free(mlops__prompt_version *v)
{
    free(v->name);
    free(v->template_text);
    free(v->config);
    free(v->message);
    free(v->tags);
    free(v->created_by);
    free(v->id);
    free(v->base_json);
    json_decref(v->names);
    mlops__tpl_free(v->tpl);
    for (size_t i = 0; i < v->nmsgs; i++) {
        free(v->msgs[i].role);
        free(v->msgs[i].extra);
        mlops__tpl_free(v->msgs[i].content);
    }
    free(v->msgs);
    free(v);
}

void mlops__prompt_version_unref(mlops__prompt_version *v)
{
    if (v && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
        version_free(v);
}

/* Compiles a chat template's messages; `arr` was validated to be an array. */
static int compile_chat(json_t *arr, const char *what, mlops__chat_msg **out, size_t *out_n)
{
    size_t n = json_array_size(arr);
    mlops__chat_msg *msgs = calloc(n ? n : 1, sizeof *msgs);
    if (!msgs)
        return mlops__error_oom("chat template");
    int rc = MLOPS_OK;
    size_t i;
    json_t *m;
    json_array_foreach(arr, i, m) {
        if (!json_is_object(m)) {
            rc = mlops__error(MLOPS_EPARSE, "%s: messages[%zu]: expected object, got %s", what,
                              i, mlops__json_type_name(m));
            break;
        }
        json_t *role = json_object_get(m, "role"), *content = json_object_get(m, "content");
        if (!json_is_string(role) || json_string_length(role) == 0) {
            rc = mlops__error(MLOPS_EPARSE, "%s: messages[%zu].role: expected a non-empty string",
                              what, i);
            break;
        }
        if (!json_is_string(content)) {
            rc = mlops__error(MLOPS_EPARSE, "%s: messages[%zu].content: expected string, got %s",
                              what, i, content ? mlops__json_type_name(content) : "nothing");
            break;
        }
        char *mwhat = mlops__sprintf("%s messages[%zu].content", what, i);
        msgs[i].role = mlops__strdup(json_string_value(role));
        if (!mwhat || !msgs[i].role) {
            free(mwhat);
            rc = mlops__error_oom("chat template");
            break;
        }
        rc = mlops__tpl_compile(json_string_value(content), json_string_length(content), mwhat,
                                &msgs[i].content);
        free(mwhat);
        if (rc != MLOPS_OK)
            break;
        if (strcmp(msgs[i].role, "placeholder") == 0) {
            bool has_def = false;
            msgs[i].placeholder = mlops__tpl_single_var(msgs[i].content, &has_def);
            msgs[i].optional = has_def;
            if (!msgs[i].placeholder) {
                rc = mlops__error(MLOPS_EPARSE,
                                  "%s: messages[%zu]: a placeholder's content must be one "
                                  "variable like {{history}}",
                                  what, i);
                break;
            }
        }
        if (json_object_size(m) > 2) {
            json_t *extra = json_deep_copy(m);
            json_object_del(extra, "role");
            json_object_del(extra, "content");
            char *text = extra ? json_dumps(extra, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
            json_decref(extra);
            if (!text) {
                rc = mlops__error_oom("chat template");
                break;
            }
            size_t len = strlen(text);
            memmove(text, text + 1, len - 2);
            text[len - 2] = '\0';
            msgs[i].extra = text;
        }
    }
    *out = msgs;
    *out_n = n;
    return rc;
}

int mlops__prompt_normalise(int type, const char *text, const char *what, char **out_canonical)
{
    *out_canonical = NULL;
    size_t n = strlen(text);
    if (n > MLOPS__PROMPT_MAX_TEMPLATE)
        return mlops__error(MLOPS_ELIMIT, "%s: %zu bytes is over the %u-byte template limit",
                            what, n, MLOPS__PROMPT_MAX_TEMPLATE);
    if (type == MLOPS__PROMPT_TEXT) {
        mlops__tpl *t = NULL;
        int rc = mlops__tpl_compile(text, n, what, &t);
        mlops__tpl_free(t);
        if (rc != MLOPS_OK)
            return rc;
        *out_canonical = mlops__strdup(text);
        return *out_canonical ? MLOPS_OK : mlops__error_oom("template");
    }
    json_t *arr = NULL;
    int rc = mlops__json_parse(text, what, &arr);
    if (rc != MLOPS_OK)
        return rc;
    if (!json_is_array(arr) || json_array_size(arr) == 0) {
        rc = mlops__error(MLOPS_EPARSE,
                          "%s: a chat template is a non-empty JSON array of {role, content} "
                          "messages, got %s",
                          what, json_is_array(arr) ? "an empty array" : mlops__json_type_name(arr));
        json_decref(arr);
        return rc;
    }
    mlops__chat_msg *msgs = NULL;
    size_t nmsgs = 0;
    rc = compile_chat(arr, what, &msgs, &nmsgs);
    for (size_t i = 0; i < nmsgs; i++) {
        free(msgs[i].role);
        free(msgs[i].extra);
        mlops__tpl_free(msgs[i].content);
    }
    free(msgs);
    if (rc == MLOPS_OK) {
        *out_canonical = json_dumps(arr, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(16));
        if (!*out_canonical)
            rc = mlops__error_oom("chat template");
    }
    json_decref(arr);
    return rc;
}

/* One seeded xxh3-64 pass over the type, the canonical template and the config, each
 * NUL-separated so that moving bytes between fields changes the hash; 0 when the hasher
 * cannot be allocated. */
static uint64_t content_pass(uint64_t seed, int type, const char *canonical, const char *config)
{
    mlops__hasher *h = mlops__hasher_new(seed);
    if (!h)
        return 0;
    const char *t = type == MLOPS__PROMPT_CHAT ? "chat" : "text";
    mlops__hasher_update(h, t, strlen(t) + 1);
    mlops__hasher_update(h, canonical, strlen(canonical) + 1);
    mlops__hasher_update(h, config, strlen(config));
    uint64_t digest = mlops__hasher_digest(h);
    mlops__hasher_free(h);
    return digest;
}

void mlops__prompt_content_hash(int type, const char *canonical, const char *config, char hex[33])
{
    uint64_t a = content_pass(0, type, canonical, config);
    /* a second, differently seeded pass over the same bytes widens the id to 128 bits */
    uint64_t b = content_pass(0x9E3779B97F4A7C15ull, type, canonical, config);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)a, (unsigned long long)b);
}

static void put_kv_str(mlops__buf *b, const char *key, const char *val, bool comma)
{
    if (comma)
        mlops__buf_putc(b, ',');
    mlops__prompt_json_str(b, key, strlen(key));
    mlops__buf_putc(b, ':');
    if (val)
        mlops__prompt_json_str(b, val, strlen(val));
    else
        mlops__buf_puts(b, "null");
}

static int build_base_json(mlops__prompt_version *v)
{
    mlops__buf b;
    mlops__buf_init(&b);
    char when[32];
    mlops__format_time(v->created_ms, when);
    mlops__buf_putc(&b, '{');
    put_kv_str(&b, "name", v->name, false);
    mlops__buf_printf(&b, ",\"version\":%lld", (long long)v->version);
    put_kv_str(&b, "type", v->type == MLOPS__PROMPT_CHAT ? "chat" : "text", true);
    if (v->type == MLOPS__PROMPT_CHAT) {
        mlops__buf_puts(&b, ",\"template\":");
        mlops__buf_puts(&b, v->template_text);
    } else {
        put_kv_str(&b, "template", v->template_text, true);
    }
    mlops__buf_printf(&b, ",\"config\":%s", v->config);
    put_kv_str(&b, "message", v->message, true);
    mlops__buf_printf(&b, ",\"tags\":%s", v->tags);
    put_kv_str(&b, "created_at", when, true);
    put_kv_str(&b, "created_by", v->created_by, true);
    put_kv_str(&b, "hash", v->hash, true);
    mlops__buf_putc(&b, '}');
    v->base_json = mlops__buf_take(&b);
    return v->base_json ? MLOPS_OK : mlops__error_oom("prompt JSON");
}

int mlops__prompt_version_build(const char *name, int64_t version, int type, const char *text,
                                const char *config, const char *message, const char *tags,
                                const char *created_by, int64_t created_ms, const char *hash,
                                mlops__prompt_version **out)
{
    *out = NULL;
    mlops__prompt_version *v = calloc(1, sizeof *v);
    if (!v)
        return mlops__error_oom("prompt version");
    v->refs = 1;
    v->name = mlops__strdup(name);
    v->version = version;
    v->type = type;
    v->template_text = mlops__strdup(text);
    v->config = mlops__strdup(config && *config ? config : "{}");
    v->message = mlops__strdup(message ? message : "");
    v->tags = mlops__strdup(tags && *tags ? tags : "{}");
    v->created_by = created_by ? mlops__strdup(created_by) : NULL;
    v->created_ms = created_ms;
    snprintf(v->hash, sizeof v->hash, "%s", hash ? hash : "");
    v->id = mlops__sprintf("%s:%lld", name, (long long)version);
    if (!v->name || !v->template_text || !v->config || !v->message || !v->tags || !v->id ||
        (created_by && !v->created_by)) {
        version_free(v);
        return mlops__error_oom("prompt version");
    }
    char *what = mlops__sprintf("prompt %s", v->id);
    int rc = what ? MLOPS_OK : mlops__error_oom("prompt version");
    if (rc == MLOPS_OK && type == MLOPS__PROMPT_TEXT) {
        rc = mlops__tpl_compile(text, strlen(text), v->id, &v->tpl);
    } else if (rc == MLOPS_OK) {
        json_t *arr = NULL;
        rc = mlops__json_parse(text, what, &arr);
        if (rc == MLOPS_OK && !json_is_array(arr))
            rc = mlops__error(MLOPS_ECORRUPT, "%s: stored chat template is not an array", what);
        if (rc == MLOPS_OK)
            rc = compile_chat(arr, v->id, &v->msgs, &v->nmsgs);
        json_decref(arr);
    }
    free(what);
    if (rc == MLOPS_OK && !(v->names = json_object()))
        rc = mlops__error_oom("prompt version");
    if (rc == MLOPS_OK && v->tpl) {
        mlops__tpl_names(v->tpl, v->names);
        v->has_includes = mlops__tpl_has_includes(v->tpl);
    }
    for (size_t i = 0; rc == MLOPS_OK && i < v->nmsgs; i++) {
        mlops__tpl_names(v->msgs[i].content, v->names);
        v->has_includes = v->has_includes || mlops__tpl_has_includes(v->msgs[i].content);
    }
    if (rc == MLOPS_OK)
        rc = build_base_json(v);
    if (rc != MLOPS_OK) {
        version_free(v);
        return rc;
    }
    *out = v;
    return MLOPS_OK;
}

int mlops__prompt_get_json(const mlops__prompt_version *v, const mlops__prompt_served *s,
                           char **out)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_reserve(&b, strlen(v->base_json) + 64);
    mlops__buf_putc(&b, '{');
    if (s && s->label[0]) {
        put_kv_str(&b, "label", s->label, false);
        mlops__buf_printf(&b, ",\"split\":%s,", s->split ? "true" : "false");
    }
    mlops__buf_puts(&b, v->base_json + 1);
    *out = mlops__buf_take(&b);
    return *out ? MLOPS_OK : mlops__error_oom("prompt JSON");
}
