/*
 * Policies: which scanners run at which stage, their thresholds, actions and options,
 * as JSON (documented in include/mlops/guard.h). Parsing checks every field and names
 * the bad one: "policy.scanners.pii.action: 'bloc' is not one of block, redact, warn,
 * allow".
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

const char mlops__guard_default_policy_json[] =
    "{\"operator\": \"replace\", \"scanners\": {"
    "\"invalid_utf8\": {\"action\": \"warn\"},"
    "\"pii\": {\"action\": \"redact\", \"threshold\": 0.5},"
    "\"secrets\": {\"action\": \"redact\", \"threshold\": 0.5},"
    "\"injection\": {\"action\": \"block\", \"threshold\": 0.5, \"stages\": \"input\"},"
    "\"toxicity\": {\"action\": \"block\", \"threshold\": 0.7, \"stages\": \"output\"},"
    "\"canary\": {\"action\": \"block\", \"stages\": \"output\"},"
    "\"grounding\": {\"action\": \"warn\", \"threshold\": 0.5, \"stages\": \"output\"}}}";

const char *mlops__guard_action_name(int a)
{
    switch (a) {
    case MLOPS__GA_WARN: return "warn";
    case MLOPS__GA_REDACT: return "redact";
    case MLOPS__GA_BLOCK: return "block";
    default: return "allow";
    }
}

static int perr(const char *path, const char *fmt, const char *detail)
{
    return mlops__error(MLOPS_ECONFIG, "%s: %s%s", path, fmt, detail ? detail : "");
}

static char **str_array(const json_t *a, const char *path, size_t *n, int *rc)
{
    *n = 0;
    if (!a)
        return NULL;
    if (!json_is_array(a)) {
        *rc = perr(path, "expected an array of strings", NULL);
        return NULL;
    }
    char **v = calloc(json_array_size(a) + 1, sizeof *v);
    if (!v) {
        *rc = mlops__error_oom(path);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (!s || !*s) {
            *rc = mlops__error(MLOPS_ECONFIG, "%s[%zu]: expected a non-empty string", path, i);
            for (size_t j = 0; j < i; j++)
                free(v[j]);
            free(v);
            return NULL;
        }
        v[i] = mlops__strdup(s);
        (*n)++;
    }
    return v;
}

static void free_strs(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int parse_op(const char *s, const char *path)
{
    static const char *const ops[] = {"replace", "mask", "redact", "hash", "pseudonymize"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(ops); i++)
        if (strcmp(s, ops[i]) == 0)
            return (int)i;
    if (strcmp(s, "pseudonymise") == 0)
        return MLOPS__OP_PSEUDO;
    mlops__error(MLOPS_ECONFIG, "%s: '%s' is not one of replace, mask, redact, hash, pseudonymize",
                 path, s);
    return -1;
}

/* The fields every scanner accepts, then its own. */
static int parse_scanner(const json_t *o, const char *name, mlops__gscanner *sc, int def_action,
                         double def_threshold, unsigned def_stages,
                         const mlops__json_field *extra)
{
    char path[96];
    snprintf(path, sizeof path, "policy.scanners.%s", name);
    if (!json_is_object(o) && !json_is_boolean(o))
        return mlops__error(MLOPS_ECONFIG, "%s: expected object or boolean, got %s", path,
                            mlops__json_type_name(o));
    sc->on = !json_is_false(o);
    sc->action = def_action;
    sc->threshold = def_threshold;
    sc->stages = def_stages;
    sc->op = -1;
    if (!json_is_object(o))
        return MLOPS_OK;
    mlops__json_field fields[24] = {
        {"enabled", MLOPS__J_BOOL, false}, {"action", MLOPS__J_STRING, false},
        {"threshold", MLOPS__J_NUMBER, false}, {"stages", MLOPS__J_ANY, false},
        {"operator", MLOPS__J_STRING, false},
    };
    size_t nf = 5;
    for (const mlops__json_field *f = extra; f && f->name && nf < 23; f++)
        fields[nf++] = *f;
    fields[nf] = (mlops__json_field){NULL, 0, false};
    int rc = mlops__json_check_fields(o, path, fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    sc->on = mlops__json_bool(o, "enabled", true);
    const char *a = mlops__json_str(o, "action", NULL);
    if (a) {
        if (strcmp(a, "block") == 0)
            sc->action = MLOPS__GA_BLOCK;
        else if (strcmp(a, "redact") == 0)
            sc->action = MLOPS__GA_REDACT;
        else if (strcmp(a, "warn") == 0)
            sc->action = MLOPS__GA_WARN;
        else if (strcmp(a, "allow") == 0)
            sc->action = MLOPS__GA_ALLOW;
        else
            return mlops__error(MLOPS_ECONFIG,
                                "%s.action: '%s' is not one of block, redact, warn, allow", path, a);
    }
    const json_t *t = json_object_get(o, "threshold");
    if (t) {
        sc->threshold = json_number_value(t);
        if (!(sc->threshold >= 0 && sc->threshold <= 1))
            return mlops__error(MLOPS_ECONFIG, "%s.threshold: %g is outside 0..1", path,
                                sc->threshold);
    }
    const json_t *st = json_object_get(o, "stages");
    if (st) {
        unsigned bits = 0;
        const json_t *items[2] = {NULL, NULL};
        size_t ni = 0;
        if (json_is_string(st))
            items[ni++] = st;
        else if (json_is_array(st) && json_array_size(st) <= 2)
            for (size_t i = 0; i < json_array_size(st); i++)
                items[ni++] = json_array_get(st, i);
        else
            return mlops__error(MLOPS_ECONFIG, "%s.stages: expected \"input\", \"output\", "
                                "\"both\" or an array of them", path);
        for (size_t i = 0; i < ni; i++) {
            const char *v = json_string_value(items[i]);
            if (v && strcmp(v, "input") == 0)
                bits |= MLOPS__GSTAGE_INPUT;
            else if (v && strcmp(v, "output") == 0)
                bits |= MLOPS__GSTAGE_OUTPUT;
            else if (v && strcmp(v, "both") == 0)
                bits |= MLOPS__GSTAGE_INPUT | MLOPS__GSTAGE_OUTPUT;
            else
                return mlops__error(MLOPS_ECONFIG, "%s.stages: '%s' is not input, output or both",
                                    path, v ? v : mlops__json_type_name(items[i]));
        }
        sc->stages = bits;
    }
    const char *op = mlops__json_str(o, "operator", NULL);
    if (op) {
        char p2[128];
        snprintf(p2, sizeof p2, "%s.operator", path);
        if ((sc->op = parse_op(op, p2)) < 0)
            return MLOPS_ECONFIG;
    }
    return MLOPS_OK;
}

static const mlops__json_field pii_fields[] = {
    {"entities", MLOPS__J_ARRAY, false}, {"custom", MLOPS__J_ARRAY, false},
    {"context_words", MLOPS__J_BOOL, false}, {NULL, 0, false}};
static const mlops__json_field inj_fields[] = {
    {"heuristics", MLOPS__J_BOOL, false}, {"similarity", MLOPS__J_BOOL, false},
    {"classifier", MLOPS__J_BOOL, false}, {"similarity_threshold", MLOPS__J_NUMBER, false},
    {"model", MLOPS__J_STRING, false}, {"decode_depth", MLOPS__J_INTEGER, false},
    {NULL, 0, false}};
static const mlops__json_field tox_fields[] = {
    {"categories", MLOPS__J_ARRAY, false}, {"model", MLOPS__J_STRING, false}, {NULL, 0, false}};
static const mlops__json_field json_fields[] = {{"schema", MLOPS__J_ANY, false}, {NULL, 0, false}};
static const mlops__json_field banned_fields[] = {
    {"substrings", MLOPS__J_ARRAY, false}, {"regex", MLOPS__J_ARRAY, false},
    {"topics", MLOPS__J_ARRAY, false}, {NULL, 0, false}};
static const mlops__json_field max_fields[] = {{"max_bytes", MLOPS__J_INTEGER, true}, {NULL, 0, false}};
static const mlops__json_field canary_fields[] = {{"tokens", MLOPS__J_ARRAY, false}, {NULL, 0, false}};
static const mlops__json_field gaz_fields[] = {{"entries", MLOPS__J_OBJECT, true}, {NULL, 0, false}};

static int parse_custom(mlops__gpolicy *p, const json_t *arr)
{
    size_t n = json_array_size(arr);
    p->custom = calloc(n ? n : 1, sizeof *p->custom);
    if (!p->custom)
        return mlops__error_oom("policy custom recognizers");
    static const mlops__json_field f[] = {
        {"type", MLOPS__J_STRING, true}, {"regex", MLOPS__J_STRING, true},
        {"score", MLOPS__J_NUMBER, false}, {"context", MLOPS__J_ARRAY, false},
        {"validator", MLOPS__J_STRING, false}, {NULL, 0, false}};
    for (size_t i = 0; i < n; i++) {
        char path[80];
        snprintf(path, sizeof path, "policy.scanners.pii.custom[%zu]", i);
        const json_t *o = json_array_get(arr, i);
        if (!json_is_object(o))
            return mlops__error(MLOPS_ECONFIG, "%s: expected object", path);
        int rc = mlops__json_check_fields(o, path, f, MLOPS_ECONFIG);
        if (rc != MLOPS_OK)
            return rc;
        mlops__gcustom *c = &p->custom[p->ncustom++];
        snprintf(c->type, sizeof c->type, "%s", mlops__json_str(o, "type", "CUSTOM"));
        c->score = mlops__json_num(o, "score", 0.6);
        if (!(c->score >= 0 && c->score <= 1))
            return mlops__error(MLOPS_ECONFIG, "%s.score: %g is outside 0..1", path, c->score);
        char rpath[96];
        snprintf(rpath, sizeof rpath, "%s.regex", path);
        rc = mlops__regex_compile(mlops__json_str(o, "regex", ""), rpath, &c->re);
        if (rc != MLOPS_OK) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", mlops__error_text());
            return mlops__error(MLOPS_ECONFIG, "%s", msg);
        }
        const char *v = mlops__json_str(o, "validator", "none");
        c->validator = strcmp(v, "luhn") == 0 ? 1 : strcmp(v, "mod97") == 0 ? 2 : 0;
        if (!c->validator && strcmp(v, "none") != 0)
            return mlops__error(MLOPS_ECONFIG, "%s.validator: '%s' is not luhn, mod97 or none",
                                path, v);
        snprintf(rpath, sizeof rpath, "%s.context", path);
        c->context = str_array(json_object_get(o, "context"), rpath, &c->ncontext, &rc);
        if (rc != MLOPS_OK)
            return rc;
        for (size_t k = 0; k < c->ncontext; k++)
            for (char *q = c->context[k]; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q + 32);
    }
    return MLOPS_OK;
}

static int parse_gazetteer(mlops__gpolicy *p, const json_t *entries)
{
    size_t total = 0;
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)entries, k, v) {
        if (!json_is_array(v))
            return mlops__error(MLOPS_ECONFIG, "policy.scanners.gazetteer.entries.%s: expected "
                                "an array of strings", k);
        total += json_array_size(v);
    }
    p->gaz = calloc(total ? total : 1, sizeof *p->gaz);
    if (!p->gaz)
        return mlops__error_oom("gazetteer");
    json_object_foreach((json_t *)entries, k, v) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            const char *s = json_string_value(json_array_get(v, i));
            if (!s || !*s)
                return mlops__error(MLOPS_ECONFIG, "policy.scanners.gazetteer.entries.%s[%zu]: "
                                    "expected a non-empty string", k, i);
            mlops__ggaz *g = &p->gaz[p->ngaz++];
            snprintf(g->type, sizeof g->type, "%s", k);
            g->phrase = mlops__strdup(s);
            if (!g->phrase)
                return mlops__error_oom("gazetteer");
            g->len = strlen(s);
            for (char *q = g->phrase; *q; q++)
                if (*q >= 'A' && *q <= 'Z')
                    *q = (char)(*q + 32);
        }
    }
    return MLOPS_OK;
}

static const struct { const char *name; unsigned bit; } tox_cats[] = {
    {"insult", 1}, {"profanity", 2}, {"threat", 4}, {"hate", 8}, {"sexual", 16}, {"self_harm", 32}};

static int parse_into(mlops__gpolicy *p, const json_t *obj)
{
    static const mlops__json_field top[] = {
        {"name", MLOPS__J_STRING, false}, {"description", MLOPS__J_STRING, false},
        {"operator", MLOPS__J_STRING, false}, {"mask_keep", MLOPS__J_INTEGER, false},
        {"hash_key", MLOPS__J_STRING, false}, {"vault", MLOPS__J_STRING, false},
        {"scanners", MLOPS__J_OBJECT, false}, {NULL, 0, false}};
    int rc = mlops__json_check_fields(obj, "policy", top, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    p->op = MLOPS__OP_REPLACE;
    const char *op = mlops__json_str(obj, "operator", NULL);
    if (op && (p->op = parse_op(op, "policy.operator")) < 0)
        return MLOPS_ECONFIG;
    int64_t keep = mlops__json_int(obj, "mask_keep", 4);
    if (keep < 0 || keep > 64)
        return mlops__error(MLOPS_ECONFIG, "policy.mask_keep: %lld is outside 0..64", (long long)keep);
    p->mask_keep = (int)keep;
    const char *hk = mlops__json_str(obj, "hash_key", NULL);
    if (hk && !(p->hash_key = mlops__strdup(hk)))
        return mlops__error_oom("policy");
    const char *vault = mlops__json_str(obj, "vault", "default");
    if ((rc = mlops__name_check(vault, "policy.vault")) != MLOPS_OK)
        return mlops__error(MLOPS_ECONFIG, "%s", mlops__error_text());
    p->vault = mlops__strdup(vault);
    p->context_words = true;
    p->decode_depth = 2;
    p->use_classifier = p->use_similarity = p->use_heuristics = true;
    p->similarity_threshold = 0.8;

    const unsigned both = MLOPS__GSTAGE_INPUT | MLOPS__GSTAGE_OUTPUT;
    const json_t *sc = json_object_get(obj, "scanners");
    const char *name;
    json_t *v;
    json_object_foreach((json_t *)sc, name, v) {
        char path[96];
        snprintf(path, sizeof path, "policy.scanners.%s", name);
        if (strcmp(name, "pii") == 0) {
            if ((rc = parse_scanner(v, name, &p->pii, MLOPS__GA_REDACT, 0.5, both, pii_fields)))
                return rc;
            const json_t *ents = json_object_get(v, "entities");
            if (ents) {
                p->entities = 0;
                for (size_t i = 0; i < json_array_size(ents); i++) {
                    const char *e = json_string_value(json_array_get(ents, i));
                    uint64_t bit = e ? mlops__gpii_entity_bit(e) : 0;
                    if (!bit)
                        return mlops__error(MLOPS_ECONFIG, "%s.entities[%zu]: unknown entity '%s'",
                                            path, i, e ? e : "(not a string)");
                    p->entities |= bit;
                }
            }
            p->context_words = mlops__json_bool(v, "context_words", true);
            const json_t *cu = json_object_get(v, "custom");
            if (cu && (rc = parse_custom(p, cu)) != MLOPS_OK)
                return rc;
        } else if (strcmp(name, "secrets") == 0) {
            if ((rc = parse_scanner(v, name, &p->secrets, MLOPS__GA_REDACT, 0.5, both, NULL)))
                return rc;
        } else if (strcmp(name, "injection") == 0) {
            if ((rc = parse_scanner(v, name, &p->injection, MLOPS__GA_BLOCK, 0.5,
                                    MLOPS__GSTAGE_INPUT, inj_fields)))
                return rc;
            p->use_heuristics = mlops__json_bool(v, "heuristics", true);
            p->use_similarity = mlops__json_bool(v, "similarity", true);
            p->use_classifier = mlops__json_bool(v, "classifier", true);
            p->similarity_threshold = mlops__json_num(v, "similarity_threshold", 0.8);
            int64_t dd = mlops__json_int(v, "decode_depth", 2);
            if (dd < 0 || dd > 4)
                return mlops__error(MLOPS_ECONFIG, "%s.decode_depth: %lld is outside 0..4", path,
                                    (long long)dd);
            p->decode_depth = (int)dd;
            const char *model = mlops__json_str(v, "model", NULL);
            if (model) {
                p->injection_model = calloc(1, sizeof *p->injection_model);
                if (!p->injection_model || mlops__glinear_load(model, p->injection_model) != MLOPS_OK)
                    return mlops__error_wrap(MLOPS_ECONFIG, "%s.model", path);
            }
        } else if (strcmp(name, "toxicity") == 0) {
            if ((rc = parse_scanner(v, name, &p->toxicity, MLOPS__GA_BLOCK, 0.7,
                                    MLOPS__GSTAGE_OUTPUT, tox_fields)))
                return rc;
            const json_t *cats = json_object_get(v, "categories");
            for (size_t i = 0; cats && i < json_array_size(cats); i++) {
                const char *cname = json_string_value(json_array_get(cats, i));
                unsigned bit = 0;
                for (size_t k = 0; cname && k < MLOPS__ARRAY_LEN(tox_cats); k++)
                    if (strcmp(cname, tox_cats[k].name) == 0)
                        bit = tox_cats[k].bit;
                if (!bit)
                    return mlops__error(MLOPS_ECONFIG, "%s.categories[%zu]: '%s' is not insult, "
                                        "profanity, threat, hate, sexual or self_harm", path, i,
                                        cname ? cname : "(not a string)");
                p->tox_categories |= bit;
            }
            const char *model = mlops__json_str(v, "model", NULL);
            if (model) {
                p->toxicity_model = calloc(1, sizeof *p->toxicity_model);
                if (!p->toxicity_model || mlops__glinear_load(model, p->toxicity_model) != MLOPS_OK)
                    return mlops__error_wrap(MLOPS_ECONFIG, "%s.model", path);
            }
        } else if (strcmp(name, "json") == 0) {
            if ((rc = parse_scanner(v, name, &p->json, MLOPS__GA_BLOCK, 0.5, MLOPS__GSTAGE_OUTPUT,
                                    json_fields)))
                return rc;
            const json_t *schema = json_object_get(v, "schema");
            if (schema) {
                if (!json_is_object(schema) && !json_is_boolean(schema))
                    return mlops__error(MLOPS_ECONFIG, "%s.schema: expected object or boolean", path);
                p->schema = json_incref((json_t *)schema);
            }
        } else if (strcmp(name, "grounding") == 0) {
            if ((rc = parse_scanner(v, name, &p->grounding, MLOPS__GA_WARN, 0.5,
                                    MLOPS__GSTAGE_OUTPUT, NULL)))
                return rc;
        } else if (strcmp(name, "banned") == 0) {
            if ((rc = parse_scanner(v, name, &p->banned, MLOPS__GA_BLOCK, 0.5, both, banned_fields)))
                return rc;
            char ap[128];
            snprintf(ap, sizeof ap, "%s.substrings", path);
            p->substrings = str_array(json_object_get(v, "substrings"), ap, &p->nsubstrings, &rc);
            if (rc)
                return rc;
            snprintf(ap, sizeof ap, "%s.topics", path);
            p->topics = str_array(json_object_get(v, "topics"), ap, &p->ntopics, &rc);
            if (rc)
                return rc;
            size_t nre = 0;
            snprintf(ap, sizeof ap, "%s.regex", path);
            char **res = str_array(json_object_get(v, "regex"), ap, &nre, &rc);
            if (rc)
                return rc;
            p->regexes = calloc(nre ? nre : 1, sizeof *p->regexes);
            for (size_t i = 0; p->regexes && i < nre; i++) {
                char rp[160];
                snprintf(rp, sizeof rp, "%s.regex[%zu]", path, i);
                if ((rc = mlops__regex_compile(res[i], rp, &p->regexes[i])) != MLOPS_OK) {
                    free_strs(res, nre);
                    char msg[400];
                    snprintf(msg, sizeof msg, "%s", mlops__error_text());
                    return mlops__error(MLOPS_ECONFIG, "%s", msg);
                }
                p->nregexes++;
            }
            free_strs(res, nre);
            for (size_t i = 0; i < p->nsubstrings; i++)
                for (char *q = p->substrings[i]; *q; q++)
                    if (*q >= 'A' && *q <= 'Z')
                        *q = (char)(*q + 32);
            for (size_t i = 0; i < p->ntopics; i++)
                for (char *q = p->topics[i]; *q; q++)
                    if (*q >= 'A' && *q <= 'Z')
                        *q = (char)(*q + 32);
        } else if (strcmp(name, "max_length") == 0) {
            if ((rc = parse_scanner(v, name, &p->max_length, MLOPS__GA_BLOCK, 0.5, both, max_fields)))
                return rc;
            int64_t mb = mlops__json_int(v, "max_bytes", 0);
            if (mb < 1)
                return mlops__error(MLOPS_ECONFIG, "%s.max_bytes: must be positive", path);
            p->max_bytes = (size_t)mb;
        } else if (strcmp(name, "canary") == 0) {
            if ((rc = parse_scanner(v, name, &p->canary, MLOPS__GA_BLOCK, 0.5,
                                    MLOPS__GSTAGE_OUTPUT, canary_fields)))
                return rc;
            char ap[128];
            snprintf(ap, sizeof ap, "%s.tokens", path);
            p->canaries = str_array(json_object_get(v, "tokens"), ap, &p->ncanaries, &rc);
            if (rc)
                return rc;
        } else if (strcmp(name, "invalid_utf8") == 0) {
            if ((rc = parse_scanner(v, name, &p->invalid_utf8, MLOPS__GA_WARN, 0.5, both, NULL)))
                return rc;
        } else if (strcmp(name, "gazetteer") == 0) {
            if ((rc = parse_scanner(v, name, &p->gazetteer, MLOPS__GA_REDACT, 0.5, both, gaz_fields)))
                return rc;
            if ((rc = parse_gazetteer(p, json_object_get(v, "entries"))) != MLOPS_OK)
                return rc;
        } else {
            return mlops__error(MLOPS_ECONFIG, "policy.scanners: unknown scanner '%s' (known: "
                                "pii, secrets, injection, toxicity, json, grounding, banned, "
                                "max_length, canary, invalid_utf8, gazetteer)", name);
        }
    }
    if (!p->entities)
        p->entities = ~0ull; /* every built-in entity when none are listed */
    return MLOPS_OK;
}

int mlops__gpolicy_parse(const json_t *obj, mlops__gpolicy **out)
{
    *out = NULL;
    if (!json_is_object(obj))
        return mlops__error(MLOPS_ECONFIG, "policy: expected a JSON object, got %s",
                            mlops__json_type_name(obj));
    mlops__gpolicy *p = calloc(1, sizeof *p);
    if (!p)
        return mlops__error_oom("policy");
    p->refs = 1;
    int rc = parse_into(p, obj);
    if (rc == MLOPS_OK)
        rc = mlops__json_dump(obj, &p->json_text);
    if (rc != MLOPS_OK) {
        mlops__gpolicy_free(p);
        return rc;
    }
    *out = p;
    return MLOPS_OK;
}

int mlops__gpolicy_default(mlops__gpolicy **out)
{
    json_t *obj = NULL;
    int rc = mlops__json_parse(mlops__guard_default_policy_json, "default policy", &obj);
    if (rc != MLOPS_OK)
        return rc;
    rc = mlops__gpolicy_parse(obj, out);
    json_decref(obj);
    return rc;
}

void mlops__gpolicy_free(mlops__gpolicy *p)
{
    if (!p)
        return;
    free(p->hash_key);
    free(p->vault);
    if (p->injection_model) {
        mlops__glinear_free(p->injection_model);
        free(p->injection_model);
    }
    if (p->toxicity_model) {
        mlops__glinear_free(p->toxicity_model);
        free(p->toxicity_model);
    }
    json_decref(p->schema);
    free_strs(p->substrings, p->nsubstrings);
    for (size_t i = 0; i < p->nregexes; i++)
        mlops__regex_free(p->regexes[i]);
    free(p->regexes);
    free_strs(p->topics, p->ntopics);
    free_strs(p->canaries, p->ncanaries);
    for (size_t i = 0; i < p->ncustom; i++) {
        mlops__regex_free(p->custom[i].re);
        free_strs(p->custom[i].context, p->custom[i].ncontext);
    }
    free(p->custom);
    for (size_t i = 0; i < p->ngaz; i++)
        free(p->gaz[i].phrase);
    free(p->gaz);
    free(p->json_text);
    free(p);
}
