/*
 * The registry: module state, resolving references (through the cache), rendering,
 * pushing and moving labels.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

int mlops__prompts_create(mlops__store *st, mlops__logger *lg, const mlops__prompts_opts *o,
                          mlops__prompts **out)
{
    *out = NULL;
    mlops__prompts *p = calloc(1, sizeof *p);
    if (!p)
        return mlops__error_oom("prompts");
    p->st = st;
    p->lg = lg;
    p->cache_on = o->cache;
    p->max_render = o->max_render_bytes ? o->max_render_bytes : MLOPS__PROMPT_DEFAULT_MAX_RENDER;
    p->cache_max = o->cache_max ? o->cache_max : 4096;
    p->counter = UINT64_MAX;
    p->gen = -1;
    mlops__rwlock_init(&p->lock);
    int rc = mlops__prompts_cache_init(p);
    if (rc != MLOPS_OK) {
        mlops__prompts_destroy(p);
        return rc;
    }
    *out = p;
    return MLOPS_OK;
}

void mlops__prompts_destroy(mlops__prompts *p)
{
    if (!p)
        return;
    if (p->buckets)
        mlops__prompts_cache_clear(p, false);
    free(p->buckets);
    mlops__rwlock_destroy(&p->lock);
    free(p);
}

void mlops__prompts_cache_stats(mlops__prompts *p, uint64_t *hits, uint64_t *revalidations,
                                uint64_t *misses)
{
    *hits = __atomic_load_n(&p->hits, __ATOMIC_RELAXED);
    *revalidations = __atomic_load_n(&p->revalidations, __ATOMIC_RELAXED);
    *misses = __atomic_load_n(&p->misses, __ATOMIC_RELAXED);
}

void mlops__prompts_set_cache(mlops__prompts *p, bool on)
{
    __atomic_store_n(&p->cache_on, on ? 1 : 0, __ATOMIC_RELAXED);
    if (!on) {
        mlops__rwlock_wrlock(&p->lock);
        mlops__prompts_cache_clear(p, false);
        p->counter = UINT64_MAX;
        p->gen = -1;
        mlops__rwlock_unlock(&p->lock);
    }
}

/* Under the store lock: where the reference points (label name and target). */
static int find_target(mlops__prompts *p, const mlops__prompt_ref *ref, int64_t id,
                       label_target *target, char label[MLOPS__NAME_MAX + 1])
{
    memset(target, 0, sizeof *target);
    label[0] = '\0';
    bool found = false;
    int rc;
    switch (ref->kind) {
    case MLOPS__REF_VERSION:
        target->version = ref->version;
        return MLOPS_OK;
    case MLOPS__REF_LABEL:
        if (strcmp(ref->label, "latest") != 0) {
            rc = mlops__prompt_db_label(p->st, id, ref->label, target, &found);
            if (rc != MLOPS_OK)
                return rc;
            if (!found)
                return mlops__error(MLOPS_ENOTFOUND, "prompt '%s' has no label '%s' (%s@%s)",
                                    ref->name, ref->label, ref->name, ref->label);
            snprintf(label, MLOPS__NAME_MAX + 1, "%s", ref->label);
            return MLOPS_OK;
        }
        break;
    case MLOPS__REF_DEFAULT:
        rc = mlops__prompt_db_label(p->st, id, "production", target, &found);
        if (rc != MLOPS_OK || found) {
            snprintf(label, MLOPS__NAME_MAX + 1, "production");
            return rc;
        }
        break;
    }
    snprintf(label, MLOPS__NAME_MAX + 1, "latest");
    rc = mlops__prompt_db_latest(p->st, id, &target->version, NULL);
    if (rc == MLOPS_OK && target->version == 0)
        rc = mlops__error(MLOPS_ENOTFOUND, "prompt '%s' has no versions", ref->name);
    return rc;
}

static int resolve_slow(mlops__prompts *p, const mlops__prompt_ref *ref, const char *key,
                        uint64_t counter, bool cache_on, mlops__prompt_version **out,
                        mlops__prompt_served *served)
{
    label_target target = {0, NULL, 0};
    char label[MLOPS__NAME_MAX + 1] = "";
    int type = 0;
    char *text = NULL, *config = NULL, *message = NULL, *tags = NULL, *by = NULL;
    int64_t created = 0, id = 0;
    char hash[33] = "";
    mlops__prompt_version *v = NULL;
    int64_t gen = -1;

    mlops__store_lock(p->st);
    /* the generation first: what is read after it is at least as new */
    int rc = cache_on ? mlops__prompt_db_generation(p->st, &gen) : MLOPS_OK;
    if (rc == MLOPS_OK)
        rc = mlops__prompt_db_id(p->st, ref->name, &id);
    if (rc == MLOPS_OK)
        rc = find_target(p, ref, id, &target, label);
    int64_t version = 0;
    if (rc == MLOPS_OK) {
        version = mlops__prompt_split_pick(&target, ref->name, label, key);
        if (cache_on)
            v = mlops__prompts_cache_version(p, ref->name, version);
        if (!v)
            rc = mlops__prompt_db_version_row(p->st, id, ref->name, version, &type, &text,
                                              &config, &message, &tags, &by, &created, hash);
    }
    mlops__store_unlock(p->st);
    if (rc == MLOPS_OK && !v) {
        rc = mlops__prompt_version_build(ref->name, version, type, text, config, message, tags,
                                         by, created, hash, &v);
        free(text);
        free(config);
        free(message);
        free(tags);
        free(by);
    }
    if (rc != MLOPS_OK) {
        mlops__prompt_target_clear(&target);
        return rc;
    }
    if (cache_on) {
        __atomic_add_fetch(&p->misses, 1, __ATOMIC_RELAXED);
        mlops__prompts_cache_put(p, counter, gen, ref, &target, label, &v);
    }
    snprintf(served->label, sizeof served->label, "%s", label);
    served->split = target.narms > 0;
    mlops__prompt_target_clear(&target);
    *out = v;
    return MLOPS_OK;
}

/*
 * `known` (may be NULL) is a change counter the caller read for this same operation: a
 * render checks once and resolves its includes against the same reading.
 */
static int resolve_ref(mlops__prompts *p, const mlops__prompt_ref *ref, const char *key,
                       const uint64_t *known, mlops__prompt_version **out,
                       mlops__prompt_served *served)
{
    *out = NULL;
    memset(served, 0, sizeof *served);
    bool cache_on = __atomic_load_n(&p->cache_on, __ATOMIC_RELAXED) != 0;
    uint64_t counter = 0;
    if (cache_on) {
        counter = known ? *known : mlops__store_change_counter(p->st);
        int found = mlops__prompts_cache_get(p, counter, ref, key, out, served);
        if (found == CACHE_STALE) {
            /* something was written: was it a prompt change? */
            int64_t gen = -1;
            mlops__store_lock(p->st);
            int rc = mlops__prompt_db_generation(p->st, &gen);
            mlops__store_unlock(p->st);
            if (rc != MLOPS_OK)
                return rc;
            if (mlops__prompts_cache_revalidate(p, counter, gen))
                found = mlops__prompts_cache_get(p, counter, ref, key, out, served);
        }
        if (found == CACHE_HIT)
            return MLOPS_OK;
    }
    return resolve_slow(p, ref, key, counter, cache_on, out, served);
}

int mlops__prompts_resolve(mlops__prompts *p, const char *ref, const char *key,
                           mlops__prompt_version **out, mlops__prompt_served *served)
{
    mlops__prompt_ref r;
    int rc = mlops__prompt_ref_parse(ref, strlen(ref), &r);
    if (rc != MLOPS_OK)
        return rc;
    mlops__prompt_served ignored;
    return resolve_ref(p, &r, key, NULL, out, served ? served : &ignored);
}

/* ---------------------------------------------------------------- render ---- */

typedef struct include_ctx {
    mlops__prompts *p;
    const char *key;
    uint64_t counter; /* read once per render */
    bool have_counter;
} include_ctx;

static int include_resolve(void *user, const char *text, size_t n, const mlops__tpl **out_tpl,
                           char **out_id, void **out_hold)
{
    include_ctx *ic = user;
    mlops__prompt_ref ref;
    int rc = mlops__prompt_ref_parse(text, n, &ref);
    if (rc != MLOPS_OK)
        return rc;
    mlops__prompt_version *v = NULL;
    mlops__prompt_served served;
    if ((rc = resolve_ref(ic->p, &ref, ic->key, ic->have_counter ? &ic->counter : NULL, &v,
                          &served)) != MLOPS_OK)
        return rc;
    if (v->type != MLOPS__PROMPT_TEXT) {
        rc = mlops__error(MLOPS_EINVAL, "'%.*s' is a chat prompt; only text prompts can be included",
                          (int)n, text);
        mlops__prompt_version_unref(v);
        return rc;
    }
    *out_id = mlops__strdup(v->id);
    if (!*out_id) {
        mlops__prompt_version_unref(v);
        return mlops__error_oom("include");
    }
    *out_tpl = v->tpl;
    *out_hold = v;
    return MLOPS_OK;
}

static void include_release(void *user, void *hold)
{
    (void)user;
    mlops__prompt_version_unref(hold);
}

static int render_chat(mlops__prompts *p, const mlops__prompt_version *v, const json_t *vars,
                       const mlops__tpl_render_opts *o, mlops__buf *out)
{
    mlops__buf content;
    mlops__buf_init(&content);
    int rc = MLOPS_OK;
    bool first = true;
    mlops__buf_putc(out, '[');
    for (size_t i = 0; i < v->nmsgs && rc == MLOPS_OK; i++) {
        const mlops__chat_msg *m = &v->msgs[i];
        if (m->placeholder) {
            const json_t *hist = vars ? json_object_get(vars, m->placeholder) : NULL;
            if (!hist) {
                if (o->strict && !m->optional)
                    rc = mlops__error(MLOPS_EINVAL,
                                      "%s messages[%zu]: missing variable '%s' (a placeholder "
                                      "for a JSON array of messages)",
                                      v->id, i, m->placeholder);
                continue;
            }
            if (!json_is_array(hist)) {
                rc = mlops__error(MLOPS_EINVAL,
                                  "variable '%s': a message placeholder needs a JSON array of "
                                  "{role, content} messages, got %s",
                                  m->placeholder, mlops__json_type_name(hist));
                break;
            }
            size_t k;
            const json_t *msg;
            json_array_foreach(hist, k, msg) {
                if (!json_is_object(msg) || !json_is_string(json_object_get(msg, "role"))) {
                    rc = mlops__error(MLOPS_EINVAL,
                                      "variable '%s'[%zu]: expected a message object with a "
                                      "string 'role'",
                                      m->placeholder, k);
                    break;
                }
                char *text = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
                if (!text) {
                    rc = mlops__error_oom("messages");
                    break;
                }
                if (!first)
                    mlops__buf_putc(out, ',');
                first = false;
                mlops__buf_puts(out, text);
                free(text);
            }
            if (rc == MLOPS_OK && out->len > p->max_render)
                rc = mlops__error(MLOPS_ELIMIT, "%s: rendered messages exceed %zu bytes", v->id,
                                  p->max_render);
            continue;
        }
        content.len = 0;
        rc = mlops__tpl_render(m->content, vars, o, &content);
        if (rc != MLOPS_OK)
            break;
        if (!first)
            mlops__buf_putc(out, ',');
        first = false;
        mlops__buf_puts(out, "{\"role\":");
        mlops__prompt_json_str(out, m->role, strlen(m->role));
        mlops__buf_puts(out, ",\"content\":");
        mlops__prompt_json_str(out, content.data ? content.data : "", content.len);
        if (m->extra && *m->extra) {
            mlops__buf_putc(out, ',');
            mlops__buf_puts(out, m->extra);
        }
        mlops__buf_putc(out, '}');
        if (out->len > p->max_render)
            rc = mlops__error(MLOPS_ELIMIT, "%s: rendered messages exceed %zu bytes", v->id,
                              p->max_render);
    }
    mlops__buf_putc(out, ']');
    mlops__buf_free(&content);
    if (rc == MLOPS_OK && out->failed)
        rc = mlops__error_oom("messages");
    return rc;
}

static char *unused_json(const mlops__prompt_version *v, const json_t *vars, const json_t *extra)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_putc(&b, '[');
    bool first = true;
    const char *k;
    const json_t *val;
    if (json_is_object(vars)) {
        json_object_foreach((json_t *)vars, k, val) {
            if (json_object_get(v->names, k) || json_object_get(extra, k))
                continue;
            bool ph = false;
            for (size_t i = 0; i < v->nmsgs && !ph; i++)
                ph = v->msgs[i].placeholder && strcmp(v->msgs[i].placeholder, k) == 0;
            if (ph)
                continue;
            if (!first)
                mlops__buf_putc(&b, ',');
            first = false;
            mlops__prompt_json_str(&b, k, strlen(k));
        }
    }
    mlops__buf_putc(&b, ']');
    return mlops__buf_take(&b);
}

int mlops__prompts_render(mlops__prompts *p, const char *ref, const json_t *vars,
                          const char *key, bool strict, mlops__prompt_rendered *out)
{
    memset(out, 0, sizeof *out);
    if (vars && !json_is_object(vars))
        return mlops__error(MLOPS_EINVAL, "vars: expected a JSON object, got %s",
                            mlops__json_type_name(vars));
    mlops__prompt_ref r;
    int rc = mlops__prompt_ref_parse(ref, strlen(ref), &r);
    if (rc != MLOPS_OK)
        return rc;
    include_ctx ic = {p, key, 0, false};
    if (__atomic_load_n(&p->cache_on, __ATOMIC_RELAXED)) {
        ic.counter = mlops__store_change_counter(p->st);
        ic.have_counter = true;
    }
    mlops__prompt_version *v = NULL;
    if ((rc = resolve_ref(p, &r, key, ic.have_counter ? &ic.counter : NULL, &v,
                          &out->served)) != MLOPS_OK)
        return rc;
    mlops__tpl_includer inc = {include_resolve, include_release, &ic};
    /* names used by included prompts count as used; only needed when there are includes */
    json_t *extra = v->has_includes ? json_object() : NULL;
    mlops__tpl_render_opts o = {strict, p->max_render, v->id, &inc, extra};
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_reserve(&b, strlen(v->template_text) + 256);
    if (v->has_includes && !extra)
        rc = mlops__error_oom("render");
    else if (v->type == MLOPS__PROMPT_TEXT)
        rc = mlops__tpl_render(v->tpl, vars, &o, &b);
    else
        rc = render_chat(p, v, vars, &o, &b);
    if (rc == MLOPS_OK) {
        char *result = mlops__buf_take(&b);
        if (v->type == MLOPS__PROMPT_TEXT)
            out->text = result;
        else
            out->messages = result;
        out->name = mlops__strdup(v->name);
        out->config = mlops__strdup(v->config);
        out->unused = unused_json(v, vars, extra);
        out->version = v->version;
        out->type = v->type;
        if (!result || !out->name || !out->config || !out->unused) {
            mlops__prompt_rendered_free(out);
            rc = mlops__error_oom("render");
        }
    }
    mlops__buf_free(&b);
    json_decref(extra);
    mlops__prompt_version_unref(v);
    return rc;
}

void mlops__prompt_rendered_free(mlops__prompt_rendered *r)
{
    free(r->name);
    free(r->text);
    free(r->messages);
    free(r->config);
    free(r->unused);
    memset(r, 0, sizeof *r);
}

int mlops__prompt_rendered_json(const mlops__prompt_rendered *r, char **out)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_reserve(&b, (r->text ? strlen(r->text) : strlen(r->messages)) + 256);
    mlops__buf_puts(&b, "{\"name\":");
    mlops__prompt_json_str(&b, r->name, strlen(r->name));
    mlops__buf_printf(&b, ",\"version\":%lld", (long long)r->version);
    if (r->served.label[0]) {
        mlops__buf_puts(&b, ",\"label\":");
        mlops__prompt_json_str(&b, r->served.label, strlen(r->served.label));
        mlops__buf_printf(&b, ",\"split\":%s", r->served.split ? "true" : "false");
    }
    if (r->type == MLOPS__PROMPT_TEXT) {
        mlops__buf_puts(&b, ",\"type\":\"text\",\"text\":");
        mlops__prompt_json_str(&b, r->text, strlen(r->text));
    } else {
        mlops__buf_puts(&b, ",\"type\":\"chat\",\"messages\":");
        mlops__buf_puts(&b, r->messages);
    }
    mlops__buf_printf(&b, ",\"config\":%s,\"unused\":%s}", r->config, r->unused);
    *out = mlops__buf_take(&b);
    return *out ? MLOPS_OK : mlops__error_oom("render");
}

int mlops__prompts_variables(mlops__prompts *p, const char *ref, char **out)
{
    mlops__prompt_version *v = NULL;
    int rc = mlops__prompts_resolve(p, ref, NULL, &v, NULL);
    if (rc != MLOPS_OK)
        return rc;
    json_t *vars = json_array();
    if (!vars)
        rc = mlops__error_oom("variables");
    if (rc == MLOPS_OK && v->tpl)
        rc = mlops__tpl_variables(v->tpl, vars);
    for (size_t i = 0; rc == MLOPS_OK && i < v->nmsgs; i++) {
        const mlops__chat_msg *m = &v->msgs[i];
        if (m->placeholder)
            rc = json_array_append_new(vars, json_pack("{s:s, s:s, s:b}", "name", m->placeholder,
                                                       "kind", "placeholder", "required",
                                                       !m->optional))
                     ? mlops__error_oom("variables")
                     : MLOPS_OK;
        else
            rc = mlops__tpl_variables(m->content, vars);
    }
    if (rc != MLOPS_OK) {
        json_decref(vars);
        mlops__prompt_version_unref(v);
        return rc;
    }
    json_t *res = json_pack("{s:s, s:I, s:o}", "name", v->name, "version",
                            (json_int_t)v->version, "variables", vars);
    mlops__prompt_version_unref(v);
    return mlops__json_dump_steal(res, out);
}

/* ---------------------------------------------------------------- writes ---- */

static int canonical_object(const json_t *obj, const char *what, bool strings_only, char **out)
{
    *out = NULL;
    if (obj && !json_is_object(obj))
        return mlops__error(MLOPS_EINVAL, "%s: expected object, got %s", what,
                            mlops__json_type_name(obj));
    if (strings_only && obj) {
        const char *k;
        const json_t *val;
        json_object_foreach((json_t *)obj, k, val)
            if (!json_is_string(val))
                return mlops__error(MLOPS_EINVAL, "%s.%s: expected string, got %s", what, k,
                                    mlops__json_type_name(val));
    }
    *out = obj ? json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(16)) : mlops__strdup("{}");
    return *out ? MLOPS_OK : mlops__error_oom(what);
}

int mlops__prompts_push(mlops__prompts *p, const char *name, const char *template_text,
                        const mlops__prompt_push_opts *o, int64_t *out_version,
                        bool *out_created)
{
    int rc = mlops__prompt_name_check(name);
    if (rc != MLOPS_OK)
        return rc;
    char *what = mlops__sprintf("prompt '%s'", name);
    char *canonical = NULL, *config = NULL, *tags = NULL;
    if (!what)
        return mlops__error_oom("push");
    rc = mlops__prompt_normalise(o->type, template_text, what, &canonical);
    if (rc == MLOPS_OK)
        rc = canonical_object(o->config, "config", false, &config);
    if (rc == MLOPS_OK)
        rc = canonical_object(o->tags, "tags", true, &tags);
    if (rc == MLOPS_OK && (rc = mlops__store_begin(p->st)) == MLOPS_OK) {
        rc = mlops__prompt_db_push(p->st, name, o->type, canonical, config, o->message, tags,
                                   o->actor, out_version, out_created);
        if (rc == MLOPS_OK)
            rc = mlops__store_commit(p->st);
        else
            mlops__store_rollback(p->st);
    }
    if (rc == MLOPS_OK && *out_created)
        mlops__log(p->lg, MLOPS_LOG_INFO, "prompts: pushed %s:%lld", name, (long long)*out_version);
    free(what);
    free(canonical);
    free(config);
    free(tags);
    return rc;
}

static int move_label(mlops__prompts *p, const char *name, const char *label,
                      const label_target *target, const char *actor, const char *reason)
{
    int rc = mlops__prompt_name_check(name);
    if (rc == MLOPS_OK)
        rc = mlops__prompt_label_check(label, true);
    if (rc != MLOPS_OK)
        return rc;
    if ((rc = mlops__store_begin(p->st)) != MLOPS_OK)
        return rc;
    bool changed = false;
    rc = mlops__prompt_db_move_label(p->st, name, label, target, actor, reason, &changed);
    if (rc != MLOPS_OK) {
        mlops__store_rollback(p->st);
        return rc;
    }
    rc = mlops__store_commit(p->st);
    if (rc == MLOPS_OK && changed)
        mlops__log(p->lg, MLOPS_LOG_INFO, "prompts: label %s@%s moved by %s", name, label,
                   actor ? actor : "(unknown)");
    return rc;
}

int mlops__prompts_label_set(mlops__prompts *p, const char *name, int64_t version,
                             const char *label, const char *actor, const char *reason)
{
    if (version <= 0)
        return mlops__error(MLOPS_EINVAL, "version: must be positive, got %lld", (long long)version);
    label_target t = {version, NULL, 0};
    return move_label(p, name, label, &t, actor, reason);
}

int mlops__prompts_label_split(mlops__prompts *p, const char *name, const char *label,
                               const json_t *split, const char *actor, const char *reason)
{
    label_target t;
    int rc = mlops__prompt_split_parse(split, &t);
    if (rc != MLOPS_OK)
        return rc;
    if (t.narms == 1) { /* a one-arm split is just a version */
        t.version = t.arms[0].version;
        free(t.arms);
        t.arms = NULL;
        t.narms = 0;
    }
    rc = move_label(p, name, label, &t, actor, reason);
    mlops__prompt_target_clear(&t);
    return rc;
}

int mlops__prompts_label_delete(mlops__prompts *p, const char *name, const char *label,
                                const char *actor, const char *reason)
{
    return move_label(p, name, label, NULL, actor, reason);
}
