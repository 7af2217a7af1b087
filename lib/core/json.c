/* JSON helpers over jansson: parsing with positions, dumping, and key/type checks. */
#include "core.h"

#include <stdlib.h>
#include <string.h>

int mlops__json_parse(const char *text, const char *what, json_t **out)
{
    *out = NULL;
    if (!text)
        return mlops__error(MLOPS_EINVAL, "%s: must not be NULL", what);
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &err);
    if (!v)
        return mlops__error(MLOPS_EPARSE, "%s: %s at line %d column %d", what, err.text,
                            err.line, err.column);
    *out = v;
    return MLOPS_OK;
}

int mlops__json_parse_object(const char *text, const char *what, json_t **out)
{
    int rc = mlops__json_parse(text, what, out);
    if (rc != MLOPS_OK)
        return rc;
    if (!json_is_object(*out)) {
        const char *type = mlops__json_type_name(*out);
        json_decref(*out);
        *out = NULL;
        return mlops__error(MLOPS_EPARSE, "%s: expected a JSON object, got %s", what, type);
    }
    return MLOPS_OK;
}

int mlops__json_dump(const json_t *value, char **out)
{
    *out = json_dumps(value, JSON_COMPACT | JSON_ENCODE_ANY);
    return *out ? MLOPS_OK : mlops__error_oom("JSON text");
}

int mlops__json_dump_steal(json_t *value, char **out)
{
    if (!value) {
        *out = NULL;
        return mlops__error_oom("JSON value");
    }
    int rc = mlops__json_dump(value, out);
    json_decref(value);
    return rc;
}

const char *mlops__json_type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

static const char *kind_name(enum mlops__json_kind k)
{
    switch (k) {
    case MLOPS__J_OBJECT: return "object";
    case MLOPS__J_ARRAY: return "array";
    case MLOPS__J_STRING: return "string";
    case MLOPS__J_INTEGER: return "integer";
    case MLOPS__J_NUMBER: return "number";
    case MLOPS__J_BOOL: return "boolean";
    case MLOPS__J_NULLABLE_STRING: return "string or null";
    case MLOPS__J_ANY: return "any";
    }
    return "?";
}

static bool kind_matches(enum mlops__json_kind k, const json_t *v)
{
    switch (k) {
    case MLOPS__J_ANY: return true;
    case MLOPS__J_OBJECT: return json_is_object(v);
    case MLOPS__J_ARRAY: return json_is_array(v);
    case MLOPS__J_STRING: return json_is_string(v);
    case MLOPS__J_INTEGER: return json_is_integer(v);
    case MLOPS__J_NUMBER: return json_is_number(v);
    case MLOPS__J_BOOL: return json_is_boolean(v);
    case MLOPS__J_NULLABLE_STRING: return json_is_string(v) || json_is_null(v);
    }
    return false;
}

int mlops__json_check_fields(const json_t *obj, const char *path,
                             const mlops__json_field *fields, int err)
{
    if (!json_is_object(obj))
        return mlops__error(err, "%s: expected object, got %s", path,
                            mlops__json_type_name(obj));
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)obj, key, val) {
        const mlops__json_field *f = fields;
        while (f->name && strcmp(f->name, key) != 0)
            f++;
        if (!f->name)
            return mlops__error(err, "%s: unknown key '%s'", path, key);
        if (!kind_matches(f->kind, val))
            return mlops__error(err, "%s.%s: expected %s, got %s", path, key,
                                kind_name(f->kind), mlops__json_type_name(val));
    }
    for (const mlops__json_field *f = fields; f->name; f++) {
        if (f->required && !json_object_get(obj, f->name))
            return mlops__error(err, "%s: missing required key '%s'", path, f->name);
    }
    return MLOPS_OK;
}

const char *mlops__json_str(const json_t *obj, const char *key, const char *def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : def;
}

int64_t mlops__json_int(const json_t *obj, const char *key, int64_t def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

double mlops__json_num(const json_t *obj, const char *key, double def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_number(v) ? json_number_value(v) : def;
}

bool mlops__json_bool(const json_t *obj, const char *key, bool def)
{
    const json_t *v = json_object_get(obj, key);
    return json_is_boolean(v) ? json_is_true(v) : def;
}
