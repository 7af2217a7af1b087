/* mlops_prompt_*: the public face of the prompt registry (lib/prompts). */
#include "api.h"

#include "../prompts/prompts.h"

#include <stdlib.h>
#include <string.h>

static const mlops__migration prompts_migrations[] = {
    {1, "CREATE TABLE prompts("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL UNIQUE,"
        "  created_ms INTEGER NOT NULL);"
        "CREATE TABLE prompt_versions("
        "  prompt_id INTEGER NOT NULL REFERENCES prompts(id),"
        "  version INTEGER NOT NULL CHECK(version > 0),"
        "  type TEXT NOT NULL CHECK(type IN ('text', 'chat')),"
        "  template TEXT NOT NULL,"
        "  config TEXT NOT NULL,"
        "  message TEXT NOT NULL,"
        "  tags TEXT NOT NULL,"
        "  hash TEXT NOT NULL,"
        "  created_ms INTEGER NOT NULL,"
        "  created_by TEXT,"
        "  PRIMARY KEY(prompt_id, version)) WITHOUT ROWID;"
        "CREATE INDEX prompt_versions_by_hash ON prompt_versions(prompt_id, hash);"
        "CREATE TABLE prompt_labels("
        "  prompt_id INTEGER NOT NULL REFERENCES prompts(id),"
        "  label TEXT NOT NULL,"
        "  version INTEGER,"
        "  split TEXT,"
        "  updated_ms INTEGER NOT NULL,"
        "  CHECK((version IS NULL) <> (split IS NULL)),"
        "  PRIMARY KEY(prompt_id, label)) WITHOUT ROWID;"
        "CREATE TABLE prompt_label_history("
        "  id INTEGER PRIMARY KEY,"
        "  prompt_id INTEGER NOT NULL REFERENCES prompts(id),"
        "  label TEXT NOT NULL,"
        "  from_target TEXT,"
        "  to_target TEXT,"
        "  actor TEXT,"
        "  reason TEXT,"
        "  at_ms INTEGER NOT NULL);"
        "CREATE INDEX prompt_label_history_by_prompt ON prompt_label_history(prompt_id, id);"
        "CREATE TRIGGER prompt_versions_immutable BEFORE UPDATE ON prompt_versions "
        "BEGIN SELECT RAISE(ABORT, 'prompt versions are immutable'); END;"
        "CREATE TRIGGER prompt_label_history_no_update BEFORE UPDATE ON prompt_label_history "
        "BEGIN SELECT RAISE(ABORT, 'prompt label history is append-only'); END;"
        "CREATE TRIGGER prompt_label_history_no_delete BEFORE DELETE ON prompt_label_history "
        "BEGIN SELECT RAISE(ABORT, 'prompt label history is append-only'); END;"},
    /* A generation number bumped by every change to versions or labels (by triggers, so
       any writer counts), letting the cache tell a prompt change from other modules'
       writes to the same file. */
    {2, "CREATE TABLE prompt_generation(id INTEGER PRIMARY KEY CHECK(id = 1),"
        "  value INTEGER NOT NULL);"
        "INSERT INTO prompt_generation(id, value) VALUES(1, 0);"
        "CREATE TRIGGER prompt_gen_version AFTER INSERT ON prompt_versions "
        "BEGIN UPDATE prompt_generation SET value = value + 1 WHERE id = 1; END;"
        "CREATE TRIGGER prompt_gen_label_insert AFTER INSERT ON prompt_labels "
        "BEGIN UPDATE prompt_generation SET value = value + 1 WHERE id = 1; END;"
        "CREATE TRIGGER prompt_gen_label_update AFTER UPDATE ON prompt_labels "
        "BEGIN UPDATE prompt_generation SET value = value + 1 WHERE id = 1; END;"
        "CREATE TRIGGER prompt_gen_label_delete AFTER DELETE ON prompt_labels "
        "BEGIN UPDATE prompt_generation SET value = value + 1 WHERE id = 1; END;"},
};

static const mlops__schema prompts_schema = {"prompts", prompts_migrations,
                                             MLOPS__ARRAY_LEN(prompts_migrations)};

static const mlops__json_field config_fields[] = {
    {"cache", MLOPS__J_BOOL, false},
    {"max_render_bytes", MLOPS__J_INTEGER, false},
    {"cache_max_entries", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

static int prompts_check_config(const json_t *section)
{
    if (!section)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(section, "config.prompts", config_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    int64_t max = mlops__json_int(section, "max_render_bytes", MLOPS__PROMPT_DEFAULT_MAX_RENDER);
    if (max < 1024 || max > 1073741824)
        return mlops__error(MLOPS_ECONFIG,
                            "config.prompts.max_render_bytes: %lld is outside 1024..1073741824",
                            (long long)max);
    int64_t entries = mlops__json_int(section, "cache_max_entries", 4096);
    if (entries < 16 || entries > 1000000)
        return mlops__error(MLOPS_ECONFIG,
                            "config.prompts.cache_max_entries: %lld is outside 16..1000000",
                            (long long)entries);
    return MLOPS_OK;
}

static int prompts_open(mlops_t *h, const json_t *section)
{
    mlops__prompts_opts o = {
        section ? mlops__json_bool(section, "cache", true) : true,
        section ? (size_t)mlops__json_int(section, "max_render_bytes",
                                          MLOPS__PROMPT_DEFAULT_MAX_RENDER)
                : MLOPS__PROMPT_DEFAULT_MAX_RENDER,
        section ? (size_t)mlops__json_int(section, "cache_max_entries", 4096) : 4096,
    };
    return mlops__prompts_create(h->store, &h->logger, &o, &h->prompts);
}

static void prompts_close(mlops_t *h)
{
    mlops__prompts_destroy(h->prompts);
    h->prompts = NULL;
}

const mlops__module mlops__api_prompts_module = {
    "prompts", &prompts_schema, prompts_check_config, prompts_open, prompts_close,
};

/* ---------------------------------------------------------------- helpers --- */

/* Parses an optional options object and checks its keys. */
static int parse_options(const char *text, const char *fn, const mlops__json_field *fields,
                         json_t **out)
{
    *out = NULL;
    if (!text || !*text)
        return MLOPS_OK;
    char what[96];
    snprintf(what, sizeof what, "%s: options", fn);
    int rc = mlops__json_parse_object(text, what, out);
    if (rc == MLOPS_OK)
        rc = mlops__json_check_fields(*out, what, fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK) {
        json_decref(*out);
        *out = NULL;
    }
    return rc;
}

static const mlops__json_field actor_fields[] = {
    {"actor", MLOPS__J_NULLABLE_STRING, false},
    {"reason", MLOPS__J_NULLABLE_STRING, false},
    {NULL, 0, false},
};

/* A text member of parsed options; NULL when absent or when there were no options. */
static const char *opt_str(const json_t *opts, const char *key)
{
    return opts ? mlops__json_str(opts, key, NULL) : NULL;
}

/* The start shared by label_set and label_delete: name and label, then the
 * {"actor", "reason"} options. */
static int label_args(mlops_t *h, const char *fn, const char *name, const char *label,
                      const char *options_json, json_t **opts)
{
    *opts = NULL;
    int rc = mlops__api_check_args(h, fn, name, "name", label, "label");
    return rc == MLOPS_OK ? parse_options(options_json, fn, actor_fields, opts) : rc;
}

/* ---------------------------------------------------------------- functions - */

MLOPS_API int mlops_prompt_push(mlops_t *h, const char *name, const char *template_text, const char *options_json, int64_t *out)
{
    static const char fn[] = "mlops_prompt_push";
    static const mlops__json_field fields[] = {
        {"type", MLOPS__J_STRING, false},
        {"message", MLOPS__J_NULLABLE_STRING, false},
        {"tags", MLOPS__J_OBJECT, false},
        {"config", MLOPS__J_OBJECT, false},
        {"actor", MLOPS__J_NULLABLE_STRING, false},
        {NULL, 0, false},
    };
    int rc = mlops__api_check_args(h, fn, template_text, "template_text", out, "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = 0;
    json_t *opts = NULL;
    if ((rc = parse_options(options_json, fn, fields, &opts)) != MLOPS_OK)
        return rc;
    const char *type = opts ? mlops__json_str(opts, "type", "text") : "text";
    mlops__prompt_push_opts po = {MLOPS__PROMPT_TEXT, NULL, NULL, NULL, NULL};
    if (strcmp(type, "chat") == 0) {
        po.type = MLOPS__PROMPT_CHAT;
    } else if (strcmp(type, "text") != 0) {
        rc = mlops__error(MLOPS_EINVAL, "%s: options.type: '%s' is not 'text' or 'chat'", fn,
                          type);
        json_decref(opts);
        return rc;
    }
    if (opts) {
        po.message = mlops__json_str(opts, "message", NULL);
        po.tags = json_object_get(opts, "tags");
        po.config = json_object_get(opts, "config");
        po.actor = mlops__json_str(opts, "actor", NULL);
    }
    bool created = false;
    rc = mlops__prompts_push(h->prompts, name, template_text, &po, out, &created);
    json_decref(opts);
    return rc;
}

static const mlops__json_field key_fields[] = {
    {"key", MLOPS__J_NULLABLE_STRING, false},
    {NULL, 0, false},
};

MLOPS_API int mlops_prompt_get(mlops_t *h, const char *ref, const char *options_json, char **out)
{
    static const char fn[] = "mlops_prompt_get";
    int rc = mlops__api_check_out(h, fn, ref, "ref", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *opts = NULL;
    if ((rc = parse_options(options_json, fn, key_fields, &opts)) != MLOPS_OK)
        return rc;
    mlops__prompt_version *v = NULL;
    mlops__prompt_served served;
    rc = mlops__prompts_resolve(h->prompts, ref, opt_str(opts, "key"), &v, &served);
    if (rc == MLOPS_OK)
        rc = mlops__prompt_get_json(v, &served, out);
    mlops__prompt_version_unref(v);
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_prompt_render(mlops_t *h, const char *ref, const char *vars_json, const char *options_json, char **out)
{
    static const char fn[] = "mlops_prompt_render";
    static const mlops__json_field fields[] = {
        {"key", MLOPS__J_NULLABLE_STRING, false},
        {"strict", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    int rc = mlops__api_check_out(h, fn, ref, "ref", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *opts = NULL, *vars = NULL;
    if ((rc = parse_options(options_json, fn, fields, &opts)) != MLOPS_OK)
        return rc;
    if (vars_json && *vars_json)
        rc = mlops__json_parse_object(vars_json, "vars", &vars);
    if (rc == MLOPS_OK) {
        mlops__prompt_rendered r;
        rc = mlops__prompts_render(h->prompts, ref, vars, opt_str(opts, "key"),
                                   opts ? mlops__json_bool(opts, "strict", true) : true, &r);
        if (rc == MLOPS_OK) {
            rc = mlops__prompt_rendered_json(&r, out);
            mlops__prompt_rendered_free(&r);
        }
    }
    json_decref(vars);
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_prompt_variables(mlops_t *h, const char *ref, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_prompt_variables", ref, "ref", out);
    return rc != MLOPS_OK ? rc : mlops__prompts_variables(h->prompts, ref, out);
}

MLOPS_API int mlops_prompt_label_set(mlops_t *h, const char *name, int64_t version, const char *label, const char *options_json)
{
    json_t *opts;
    int rc = label_args(h, "mlops_prompt_label_set", name, label, options_json, &opts);
    if (rc != MLOPS_OK)
        return rc;
    rc = mlops__prompts_label_set(h->prompts, name, version, label, opt_str(opts, "actor"),
                                  opt_str(opts, "reason"));
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_prompt_label_split(mlops_t *h, const char *name, const char *label, const char *split_json, const char *options_json)
{
    static const char fn[] = "mlops_prompt_label_split";
    int rc = mlops__api_check_args(h, fn, name, "name", label, "label");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(split_json, fn, "split_json");
    json_t *opts = NULL, *split = NULL;
    if (rc == MLOPS_OK)
        rc = parse_options(options_json, fn, actor_fields, &opts);
    if (rc == MLOPS_OK)
        rc = mlops__json_parse(split_json, "split", &split);
    if (rc == MLOPS_OK)
        rc = mlops__prompts_label_split(h->prompts, name, label, split, opt_str(opts, "actor"),
                                        opt_str(opts, "reason"));
    json_decref(split);
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_prompt_label_delete(mlops_t *h, const char *name, const char *label, const char *options_json)
{
    json_t *opts;
    int rc = label_args(h, "mlops_prompt_label_delete", name, label, options_json, &opts);
    if (rc != MLOPS_OK)
        return rc;
    rc = mlops__prompts_label_delete(h->prompts, name, label, opt_str(opts, "actor"),
                                     opt_str(opts, "reason"));
    json_decref(opts);
    return rc;
}

MLOPS_API int mlops_prompt_list(mlops_t *h, const char *filter_json, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_prompt_list", NULL, NULL, out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *filter = NULL;
    if (filter_json && *filter_json &&
        (rc = mlops__json_parse_object(filter_json, "filter", &filter)) != MLOPS_OK)
        return rc;
    rc = mlops__prompts_list(h->prompts, filter, out);
    json_decref(filter);
    return rc;
}

MLOPS_API int mlops_prompt_history(mlops_t *h, const char *name, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_prompt_history", name, "name", out);
    return rc != MLOPS_OK ? rc : mlops__prompts_history(h->prompts, name, out);
}

MLOPS_API int mlops_prompt_diff(mlops_t *h, const char *name, int64_t v1, int64_t v2, char **out)
{
    int rc = mlops__api_check_out(h, "mlops_prompt_diff", name, "name", out);
    return rc != MLOPS_OK ? rc : mlops__prompts_diff(h->prompts, name, v1, v2, out);
}

MLOPS_API int mlops_prompt_export(mlops_t *h, const char *dir, const char *name)
{
    int rc = mlops__api_check_args(h, "mlops_prompt_export", dir, "dir", NULL, NULL);
    if (rc != MLOPS_OK)
        return rc;
    if (!*dir)
        return mlops__error(MLOPS_EINVAL, "mlops_prompt_export: dir is empty");
    return mlops__prompts_export(h->prompts, dir, name);
}

MLOPS_API int mlops_prompt_import(mlops_t *h, const char *dir, const char *options_json, char **out)
{
    static const char fn[] = "mlops_prompt_import";
    static const mlops__json_field fields[] = {
        {"actor", MLOPS__J_NULLABLE_STRING, false},
        {NULL, 0, false},
    };
    int rc = mlops__api_check_out(h, fn, dir, "dir", out);
    if (rc != MLOPS_OK)
        return rc;
    json_t *opts = NULL;
    if ((rc = parse_options(options_json, fn, fields, &opts)) != MLOPS_OK)
        return rc;
    rc = mlops__prompts_import(h->prompts, dir, opt_str(opts, "actor"), out);
    json_decref(opts);
    return rc;
}
