/*
 * The "routing" configuration and the per-request decision: rules (metadata, tags,
 * key, prompt label, requested model, regex on the prompt) in order, first match
 * wins; otherwise the complexity scorer picks a tier and the tier's model.
 *
 * Regexes use the library's linear-time engine (mlops__regex in lib/core, a Pike VM,
 * no backtracking): patterns are at most 512 bytes (20000 instructions once repetitions
 * are expanded) and the text searched is bounded by max_regex_input (default 16 KiB),
 * so the work per request is bounded. (glibc's regcomp was tried first: a fuzzer found
 * patterns like "(a+)+++..." whose compilation needs gigabytes.)
 */
#include "route.h"

#include <stdlib.h>
#include <string.h>

#define MAX_RULES 256
#define MAX_PATTERN 512

typedef struct route_rule {
    char *name;
    json_t *metadata; /* object: field -> value or array of values */
    json_t *tags;     /* array */
    json_t *keys;     /* array */
    json_t *labels;   /* array */
    json_t *models;   /* array */
    mlops__regex *re;
    int tier;         /* -1: model given */
    char *model;
} route_rule;

struct mlops__route_cfg {
    bool enabled;
    mlops__route_model *model; /* NULL: rule scorer */
    double threshold;          /* < 0: the model's own */
    json_t *trigger;           /* array of request models that trigger routing */
    char *tier_model[MLOPS__TIERS];
    size_t max_regex_input;
    route_rule *rules;
    size_t nrules;
};

static const mlops__json_field cfg_fields[] = {
    {"enabled", MLOPS__J_BOOL, false},        {"scorer", MLOPS__J_STRING, false},
    {"model_file", MLOPS__J_STRING, false},   {"model", MLOPS__J_OBJECT, false},
    {"threshold", MLOPS__J_NUMBER, false},    {"models", MLOPS__J_ARRAY, false},
    {"tiers", MLOPS__J_OBJECT, false},        {"cheap_model", MLOPS__J_STRING, false},
    {"strong_model", MLOPS__J_STRING, false}, {"max_regex_input", MLOPS__J_INTEGER, false},
    {"rules", MLOPS__J_ARRAY, false},         {NULL, 0, false},
};

static const mlops__json_field rule_fields[] = {
    {"name", MLOPS__J_STRING, false}, {"match", MLOPS__J_OBJECT, true},
    {"tier", MLOPS__J_STRING, false}, {"model", MLOPS__J_STRING, false},
    {NULL, 0, false},
};

static const mlops__json_field match_fields[] = {
    {"metadata", MLOPS__J_OBJECT, false}, {"tags", MLOPS__J_ARRAY, false},
    {"key", MLOPS__J_ANY, false},         {"label", MLOPS__J_ANY, false},
    {"model", MLOPS__J_ANY, false},       {"regex", MLOPS__J_STRING, false},
    {"icase", MLOPS__J_BOOL, false},      {NULL, 0, false},
};

static void rule_free(route_rule *r)
{
    free(r->name);
    free(r->model);
    json_decref(r->metadata);
    json_decref(r->tags);
    json_decref(r->keys);
    json_decref(r->labels);
    json_decref(r->models);
    mlops__regex_free(r->re);
}

void mlops__route_cfg_free(mlops__route_cfg *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->nrules; i++)
        rule_free(&cfg->rules[i]);
    free(cfg->rules);
    for (int t = 0; t < MLOPS__TIERS; t++)
        free(cfg->tier_model[t]);
    json_decref(cfg->trigger);
    mlops__route_model_free(cfg->model);
    free(cfg);
}

bool mlops__route_cfg_enabled(const mlops__route_cfg *cfg)
{
    return cfg && cfg->enabled;
}

const mlops__route_model *mlops__route_cfg_model(const mlops__route_cfg *cfg)
{
    return cfg ? cfg->model : NULL;
}

/* A string or an array of strings, as an array (new reference). */
static int string_list(const json_t *v, const char *path, json_t **out)
{
    *out = NULL;
    if (json_is_string(v)) {
        *out = json_pack("[O]", v);
        return *out ? MLOPS_OK : mlops__error_oom(path);
    }
    if (!json_is_array(v) || json_array_size(v) == 0)
        return mlops__error(MLOPS_ECONFIG, "%s: expected a string or a non-empty array of "
                                           "strings", path);
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x) {
        if (!json_is_string(x))
            return mlops__error(MLOPS_ECONFIG, "%s[%zu]: expected string, got %s", path, i,
                                mlops__json_type_name(x));
    }
    *out = json_incref((json_t *)v);
    return MLOPS_OK;
}

static int parse_rule(const json_t *j, const char *path, route_rule *r)
{
    memset(r, 0, sizeof *r);
    int rc = mlops__json_check_fields(j, path, rule_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    const char *tier = mlops__json_str(j, "tier", NULL);
    const char *model = mlops__json_str(j, "model", NULL);
    if ((tier != NULL) == (model != NULL))
        return mlops__error(MLOPS_ECONFIG, "%s: give exactly one of 'tier' and 'model'", path);
    r->tier = -1;
    if (tier && (r->tier = mlops__route_tier_parse(tier)) < 0)
        return mlops__error(MLOPS_ECONFIG,
                            "%s.tier: '%s' is not one of simple, medium, complex, reasoning",
                            path, tier);
    if (model && (!*model || strlen(model) >= 256))
        return mlops__error(MLOPS_ECONFIG, "%s.model: expected 1..255 bytes", path);
    const char *name = mlops__json_str(j, "name", NULL);
    r->name = name ? mlops__strdup(name) : NULL;
    r->model = model ? mlops__strdup(model) : NULL;
    const json_t *m = json_object_get(j, "match");
    char sub[256];
    snprintf(sub, sizeof sub, "%.200s.match", path);
    if ((rc = mlops__json_check_fields(m, sub, match_fields, MLOPS_ECONFIG)) != MLOPS_OK)
        return rc;
    json_t *md = json_object_get(m, "metadata");
    if (md) {
        const char *k;
        json_t *v;
        json_object_foreach(md, k, v) {
            if (json_is_object(v) || (json_is_array(v) && json_array_size(v) == 0))
                return mlops__error(MLOPS_ECONFIG,
                                    "%s.metadata.%s: expected a scalar or a non-empty array",
                                    sub, k);
        }
        r->metadata = json_incref(md);
    }
    struct {
        const char *key;
        json_t **dst;
    } lists[] = {{"tags", &r->tags}, {"key", &r->keys}, {"label", &r->labels},
                 {"model", &r->models}};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(lists); i++) {
        json_t *v = json_object_get(m, lists[i].key);
        if (!v)
            continue;
        char p[320];
        snprintf(p, sizeof p, "%s.%s", sub, lists[i].key);
        if ((rc = string_list(v, p, lists[i].dst)) != MLOPS_OK)
            return rc;
    }
    const char *re = mlops__json_str(m, "regex", NULL);
    if (re) {
        if (strlen(re) > MAX_PATTERN)
            return mlops__error(MLOPS_ECONFIG, "%s.regex: longer than %d bytes", sub,
                                MAX_PATTERN);
        char what[300], msg[400];
        snprintf(what, sizeof what, "%s.regex", sub);
        unsigned flags = mlops__json_bool(m, "icase", false) ? MLOPS__REGEX_ICASE : 0;
        rc = mlops__regex_compile_flags(re, flags, what, &r->re);
        if (rc == MLOPS_ENOMEM)
            return rc;
        if (rc != MLOPS_OK) {
            snprintf(msg, sizeof msg, "%s", mlops__error_text());
            return mlops__error(MLOPS_ECONFIG, "%s", msg);
        }
    }
    if (json_object_size(m) == 0)
        return mlops__error(MLOPS_ECONFIG, "%s: empty match (give at least one condition)", sub);
    if ((name && !r->name) || (model && !r->model))
        return mlops__error_oom(path);
    return MLOPS_OK;
}

static int set_tier_model(mlops__route_cfg *c, int t, const char *m)
{
    free(c->tier_model[t]);
    c->tier_model[t] = mlops__strdup(m);
    return c->tier_model[t] ? MLOPS_OK : mlops__error_oom("routing tiers");
}

int mlops__route_config_parse(const json_t *section, const char *path, mlops__route_cfg **out)
{
    *out = NULL;
    mlops__route_cfg *c = calloc(1, sizeof *c);
    if (!c)
        return mlops__error_oom(path);
    c->enabled = true;
    c->threshold = -1;
    c->max_regex_input = 16384;
    int rc = MLOPS_OK;
    char p[200];
    if (section && (rc = mlops__json_check_fields(section, path, cfg_fields, MLOPS_ECONFIG)) !=
                       MLOPS_OK)
        goto fail;
    c->enabled = mlops__json_bool(section, "enabled", true);
    const char *scorer = mlops__json_str(section, "scorer", NULL);
    const char *file = mlops__json_str(section, "model_file", NULL);
    json_t *inline_model = json_object_get(section, "model");
    if (scorer && strcmp(scorer, "rules") != 0 && strcmp(scorer, "model") != 0) {
        rc = mlops__error(MLOPS_ECONFIG, "%s.scorer: '%s' is not one of rules, model", path,
                          scorer);
        goto fail;
    }
    if (file && inline_model) {
        rc = mlops__error(MLOPS_ECONFIG, "%s: give model_file or model, not both", path);
        goto fail;
    }
    bool want_model = scorer ? strcmp(scorer, "model") == 0 : (file || inline_model);
    if (want_model && !file && !inline_model) {
        rc = mlops__error(MLOPS_ECONFIG, "%s.scorer: 'model' needs model_file or model", path);
        goto fail;
    }
    if (want_model) {
        snprintf(p, sizeof p, "%s.model", path);
        rc = file ? mlops__route_model_load(file, &c->model)
                  : mlops__route_model_from_json(inline_model, p, &c->model);
        if (rc != MLOPS_OK) {
            rc = mlops__error_wrap(MLOPS_ECONFIG, "%s.%s", path, file ? "model_file" : "model");
            goto fail;
        }
    }
    json_t *thr = json_object_get(section, "threshold");
    if (thr) {
        c->threshold = json_number_value(thr);
        if (!(c->threshold >= 0 && c->threshold <= 1)) {
            rc = mlops__error(MLOPS_ECONFIG, "%s.threshold: must be in [0, 1]", path);
            goto fail;
        }
    }
    json_t *trig = json_object_get(section, "models");
    snprintf(p, sizeof p, "%s.models", path);
    if (trig)
        rc = string_list(trig, p, &c->trigger);
    else if (!(c->trigger = json_pack("[s]", "auto")))
        rc = mlops__error_oom(path);
    if (rc != MLOPS_OK)
        goto fail;
    int64_t maxin = mlops__json_int(section, "max_regex_input", 16384);
    if (maxin < 64 || maxin > MLOPS__ROUTE_MAX_TEXT) {
        rc = mlops__error(MLOPS_ECONFIG, "%s.max_regex_input: %lld is outside 64..%d", path,
                          (long long)maxin, MLOPS__ROUTE_MAX_TEXT);
        goto fail;
    }
    c->max_regex_input = (size_t)maxin;
    const char *cheap = mlops__json_str(section, "cheap_model", NULL);
    const char *strong = mlops__json_str(section, "strong_model", NULL);
    for (int t = 0; t < MLOPS__TIERS && rc == MLOPS_OK; t++) {
        const char *m = t < MLOPS__TIER_COMPLEX ? cheap : strong;
        if (m)
            rc = set_tier_model(c, t, m);
    }
    json_t *tiers = json_object_get(section, "tiers");
    const char *tk;
    json_t *tv;
    json_object_foreach(tiers, tk, tv) {
        int t = mlops__route_tier_parse(tk);
        if (t < 0) {
            rc = mlops__error(MLOPS_ECONFIG,
                              "%s.tiers: unknown key '%s' (simple, medium, complex, reasoning)",
                              path, tk);
            goto fail;
        }
        if (!json_is_string(tv) || json_string_length(tv) == 0 || json_string_length(tv) >= 256) {
            rc = mlops__error(MLOPS_ECONFIG, "%s.tiers.%s: expected a model name", path, tk);
            goto fail;
        }
        if ((rc = set_tier_model(c, t, json_string_value(tv))) != MLOPS_OK)
            goto fail;
    }
    if (rc != MLOPS_OK)
        goto fail;
    json_t *rules = json_object_get(section, "rules");
    if (json_array_size(rules) > MAX_RULES) {
        rc = mlops__error(MLOPS_ECONFIG, "%s.rules: more than %d rules", path, MAX_RULES);
        goto fail;
    }
    if (json_array_size(rules)) {
        c->rules = calloc(json_array_size(rules), sizeof *c->rules);
        if (!c->rules) {
            rc = mlops__error_oom(path);
            goto fail;
        }
        size_t i;
        json_t *r;
        json_array_foreach(rules, i, r) {
            snprintf(p, sizeof p, "%s.rules[%zu]", path, i);
            if (!json_is_object(r)) {
                rc = mlops__error(MLOPS_ECONFIG, "%s: expected object, got %s", p,
                                  mlops__json_type_name(r));
                goto fail;
            }
            rc = parse_rule(r, p, &c->rules[i]);
            c->nrules++;
            if (rc != MLOPS_OK)
                goto fail;
        }
    }
    *out = c;
    return MLOPS_OK;
fail:
    mlops__route_cfg_free(c);
    return rc;
}

/* ------------------------------------------------------------------ decide ----- */

static bool list_has(const json_t *list, const char *s)
{
    size_t i;
    json_t *v;
    if (!s)
        return false;
    json_array_foreach(list, i, v) {
        const char *x = json_string_value(v);
        if (x && (strcmp(x, s) == 0 || strcmp(x, "*") == 0))
            return true;
    }
    return false;
}

static bool value_matches(const json_t *want, const json_t *have)
{
    if (!have)
        return false;
    if (json_is_array(want)) {
        size_t i;
        json_t *w;
        json_array_foreach(want, i, w)
            if (json_equal(w, have))
                return true;
        return false;
    }
    return json_equal(want, have);
}

static bool rule_matches(const mlops__route_cfg *c, const route_rule *r, const json_t *request,
                         const json_t *md, const char *text)
{
    if (r->metadata) {
        const char *k;
        json_t *want;
        json_object_foreach(r->metadata, k, want) {
            if (!value_matches(want, json_object_get(md, k)))
                return false;
        }
    }
    if (r->tags) {
        json_t *tags = json_object_get(md, "tags");
        bool any = false;
        size_t i;
        json_t *t;
        json_array_foreach(tags, i, t)
            any = any || list_has(r->tags, json_string_value(t));
        if (!any)
            return false;
    }
    if (r->keys && !list_has(r->keys, json_string_value(json_object_get(md, "key_id"))) &&
        !list_has(r->keys, json_string_value(json_object_get(md, "key_alias"))))
        return false;
    if (r->labels && !list_has(r->labels, json_string_value(json_object_get(md, "prompt_label"))))
        return false;
    if (r->models && !list_has(r->models, json_string_value(json_object_get(request, "model"))))
        return false;
    if (r->re && !mlops__regex_test(r->re, text, strnlen(text, c->max_regex_input)))
        return false;
    return true;
}

void mlops__route_decision_free(mlops__route_decision *d)
{
    if (d) {
        json_decref(d->json);
        d->json = NULL;
    }
}

int mlops__route_decide(const mlops__route_cfg *cfg, const json_t *request,
                        const json_t *metadata, mlops__route_decision *out)
{
    memset(out, 0, sizeof *out);
    out->tier = -1;
    const char *asked = json_string_value(json_object_get(request, "model"));
    if (!json_is_object(request))
        return mlops__error(MLOPS_EINVAL, "route: request must be a JSON object");
    if (metadata && !json_is_object(metadata) && !json_is_null(metadata))
        return mlops__error(MLOPS_EINVAL, "route: metadata must be a JSON object");
    if (!cfg || !cfg->enabled || !list_has(cfg->trigger, asked ? asked : "")) {
        out->source = !cfg || !cfg->enabled ? "disabled" : "not-triggered";
        out->json = json_pack("{s:b, s:s, s:s?}", "routed", 0, "source", out->source, "model",
                              asked);
        return out->json ? MLOPS_OK : mlops__error_oom("route decision");
    }
    int depth = 0;
    bool has_system = false;
    char *text = mlops__route_request_text(request, &depth, &has_system);
    if (!text)
        return mlops__error_wrap(MLOPS_EINVAL, "route");
    int rc = MLOPS_OK;
    for (size_t i = 0; i < cfg->nrules; i++) {
        const route_rule *r = &cfg->rules[i];
        if (!rule_matches(cfg, r, request, metadata, text))
            continue;
        out->routed = true;
        out->source = "rule";
        out->tier = r->tier;
        const char *m = r->model ? r->model : cfg->tier_model[r->tier];
        snprintf(out->model, sizeof out->model, "%s", m ? m : "");
        char idx[32];
        snprintf(idx, sizeof idx, "rules[%zu]", i);
        out->json = json_pack("{s:b, s:s, s:s, s:s?, s:s?, s:s?}", "routed", 1, "source", "rule",
                              "rule", r->name ? r->name : idx, "tier",
                              r->tier >= 0 ? mlops__route_tier_name(r->tier) : NULL, "model",
                              m, "requested", asked);
        free(text);
        return out->json ? MLOPS_OK : mlops__error_oom("route decision");
    }
    mlops__route_feats f;
    rc = mlops__route_features(text, depth, has_system, false, &f);
    free(text);
    if (rc != MLOPS_OK)
        return rc;
    mlops__route_score s;
    mlops__route_score_feats(cfg->model, &f, &s);
    if (cfg->threshold >= 0) {
        s.threshold = cfg->threshold;
        bool strong = s.p_strong >= s.threshold;
        if (strong != s.strong)
            s.tier = strong ? MLOPS__TIER_COMPLEX : MLOPS__TIER_MEDIUM;
        s.strong = strong;
    }
    mlops__route_feats_free(&f);
    out->routed = true;
    out->source = "complexity";
    out->tier = s.tier;
    out->p_strong = s.p_strong;
    const char *m = cfg->tier_model[s.tier];
    snprintf(out->model, sizeof out->model, "%s", m ? m : "");
    out->json = json_pack("{s:b, s:s, s:s, s:s, s:b, s:f, s:f, s:s?, s:s?}", "routed", 1,
                          "source", "complexity", "scorer", cfg->model ? "model" : "rules", "tier",
                          mlops__route_tier_name(s.tier), "strong", s.strong, "p_strong",
                          s.p_strong, "threshold", s.threshold, "model", m, "requested", asked);
    return out->json ? MLOPS_OK : mlops__error_oom("route decision");
}

int mlops__route_explain(const mlops__route_cfg *cfg, const char *prompt, json_t **out)
{
    *out = NULL;
    mlops__route_feats f;
    int rc = mlops__route_features(prompt, 1, false, true, &f);
    if (rc != MLOPS_OK)
        return rc;
    const mlops__route_model *m = cfg ? cfg->model : NULL;
    mlops__route_score s;
    mlops__route_score_feats(m, &f, &s);
    if (cfg && cfg->threshold >= 0) {
        s.threshold = cfg->threshold;
        bool strong = s.p_strong >= s.threshold;
        if (strong != s.strong)
            s.tier = strong ? MLOPS__TIER_COMPLEX : MLOPS__TIER_MEDIUM;
        s.strong = strong;
    }
    json_t *e = mlops__route_explain_feats(m, &f, &s);
    mlops__route_feats_free(&f);
    if (!e)
        return mlops__error_oom("route explain");
    const char *tm = cfg ? cfg->tier_model[s.tier] : NULL;
    json_object_set_new(e, "model", tm ? json_string(tm) : json_null());
    *out = e;
    return MLOPS_OK;
}

static bool model_known(const json_t *models, const char *name)
{
    size_t i;
    json_t *m;
    json_array_foreach(models, i, m) {
        const char *n = json_string_value(json_object_get(m, "name"));
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

int mlops__route_cfg_check_models(const mlops__route_cfg *cfg, const char *path,
                                  const json_t *models)
{
    if (!cfg || json_array_size(models) == 0)
        return MLOPS_OK;
    for (int t = 0; t < MLOPS__TIERS; t++)
        if (cfg->tier_model[t] && !model_known(models, cfg->tier_model[t]))
            return mlops__error(MLOPS_ECONFIG, "%s.tiers.%s: unknown model '%s'", path,
                                mlops__route_tier_name(t), cfg->tier_model[t]);
    for (size_t i = 0; i < cfg->nrules; i++)
        if (cfg->rules[i].model && !model_known(models, cfg->rules[i].model))
            return mlops__error(MLOPS_ECONFIG, "%s.rules[%zu].model: unknown model '%s'", path, i,
                                cfg->rules[i].model);
    return MLOPS_OK;
}

bool mlops__route_cfg_triggers(const mlops__route_cfg *cfg, const char *model)
{
    return cfg && cfg->enabled && list_has(cfg->trigger, model ? model : "");
}
