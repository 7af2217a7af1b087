/*
 * JSON Schema (draft 2020-12, "JSON Schema Validation" and "Core" specifications) over
 * jansson values: the assertion and applicator keywords listed in guard.h, $ref to local
 * targets (RFC 6901 JSON pointers with ~0/~1 and percent-decoding, $anchor names, and
 * $defs/definitions), boolean schemas. Numbers compare by value (1 equals 1.0).
 * Recursion is bounded so a self-referencing schema cannot loop forever.
 */
#include "guard.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 256
#define MAX_ERRORS 50

typedef struct vctx {
    const json_t *root;
    json_t *errors; /* NULL inside branches whose errors are not reported */
    int err;        /* a broken schema */
    int depth;
} vctx;

static bool validate(vctx *c, const json_t *s, const json_t *v, const char *path);

static void report(vctx *c, const char *path, const char *fmt, ...) MLOPS__PRINTF(3, 4);
static void report(vctx *c, const char *path, const char *fmt, ...)
{
    if (!c->errors || json_array_size(c->errors) >= MAX_ERRORS)
        return;
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char line[600];
    snprintf(line, sizeof line, "%s: %s", *path ? path : "/", msg);
    json_array_append_new(c->errors, json_string(line));
}

static bool is_num(const json_t *v) { return json_is_integer(v) || json_is_real(v); }
static double num(const json_t *v) { return json_number_value(v); }

static bool is_integral(const json_t *v)
{
    if (json_is_integer(v))
        return true;
    if (json_is_real(v)) {
        double d = json_real_value(v);
        return isfinite(d) && floor(d) == d;
    }
    return false;
}

/* Equality where 1 == 1.0 (JSON Schema's instance equality). */
static bool jequal(const json_t *a, const json_t *b)
{
    if (is_num(a) && is_num(b)) {
        if (json_is_integer(a) && json_is_integer(b))
            return json_integer_value(a) == json_integer_value(b);
        return num(a) == num(b);
    }
    if (json_typeof(a) != json_typeof(b))
        return false;
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b))
            return false;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jequal(json_array_get(a, i), json_array_get(b, i)))
                return false;
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b))
            return false;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)a, k, x) {
            json_t *y = json_object_get(b, k);
            if (!y || !jequal(x, y))
                return false;
        }
        return true;
    }
    return json_equal((json_t *)a, (json_t *)b);
}

static const char *type_of(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return is_integral(v) ? "integer" : "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    default: return "null";
    }
}

static bool type_is(const json_t *v, const char *t)
{
    if (strcmp(t, "number") == 0)
        return is_num(v);
    if (strcmp(t, "integer") == 0)
        return is_integral(v);
    if (strcmp(t, "boolean") == 0)
        return json_is_boolean(v);
    return strcmp(type_of(v), t) == 0;
}

static size_t utf8_len(const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += ((unsigned char)s[i] & 0xC0) != 0x80;
    return k;
}

/* ---------------------------------------------------------------- $ref ------- */

static const json_t *find_anchor(const json_t *s, const char *name, int depth)
{
    if (depth > 32)
        return NULL;
    if (json_is_object(s)) {
        const json_t *a = json_object_get(s, "$anchor");
        if (json_is_string(a) && strcmp(json_string_value(a), name) == 0)
            return s;
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)s, k, x) {
            if (strcmp(k, "enum") == 0 || strcmp(k, "const") == 0)
                continue;
            const json_t *r = find_anchor(x, name, depth + 1);
            if (r)
                return r;
        }
    } else if (json_is_array(s)) {
        for (size_t i = 0; i < json_array_size(s); i++) {
            const json_t *r = find_anchor(json_array_get(s, i), name, depth + 1);
            if (r)
                return r;
        }
    }
    return NULL;
}

static int hexv(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* A subschema whose $id is `base` or ends with "/" + base (relative references). */
static const json_t *find_id(const json_t *s, const char *base, size_t n, int depth)
{
    if (depth > 32)
        return NULL;
    if (json_is_object(s)) {
        const char *id = json_string_value(json_object_get(s, "$id"));
        if (id) {
            size_t il = strlen(id);
            while (il > 0 && id[il - 1] == '#')
                il--;
            if ((il == n && memcmp(id, base, n) == 0) ||
                (il > n && memcmp(id + il - n, base, n) == 0 && id[il - n - 1] == '/'))
                return s;
        }
        const char *k;
        json_t *x;
        json_object_foreach((json_t *)s, k, x) {
            if (strcmp(k, "enum") == 0 || strcmp(k, "const") == 0)
                continue;
            const json_t *r = find_id(x, base, n, depth + 1);
            if (r)
                return r;
        }
    } else if (json_is_array(s)) {
        for (size_t i = 0; i < json_array_size(s); i++) {
            const json_t *r = find_id(json_array_get(s, i), base, n, depth + 1);
            if (r)
                return r;
        }
    }
    return NULL;
}

static const json_t *resolve(vctx *c, const char *ref)
{
    const char *hash = strchr(ref, '#');
    const json_t *doc = c->root;
    if (hash != ref) {
        /* "other.json#/x" or "urn:...": a subschema of this document with that $id */
        size_t n = hash ? (size_t)(hash - ref) : strlen(ref);
        const char *base = ref;
        const char *slash = NULL;
        for (const char *q = ref; q < ref + n; q++)
            if (*q == '/')
                slash = q;
        doc = find_id(c->root, base, n, 0);
        if (!doc && slash)
            doc = find_id(c->root, slash + 1, n - (size_t)(slash + 1 - ref), 0);
        if (!doc)
            return NULL;
        if (!hash)
            return doc;
    }
    const char *frag = hash + 1;
    if (!*frag)
        return doc;
    if (*frag != '/')
        return find_anchor(doc, frag, 0);
    const json_t *cur = doc;
    const char *p = frag;
    while (*p == '/' && cur) {
        p++;
        char tok[256];
        size_t k = 0;
        while (*p && *p != '/' && k < sizeof tok - 1) {
            char ch = *p++;
            if (ch == '%' && hexv(p[0]) >= 0 && hexv(p[1]) >= 0) {
                ch = (char)(hexv(p[0]) * 16 + hexv(p[1]));
                p += 2;
            }
            if (ch == '~' && *p == '0') {
                ch = '~';
                p++;
            } else if (ch == '~' && *p == '1') {
                ch = '/';
                p++;
            }
            tok[k++] = ch;
        }
        tok[k] = '\0';
        if (json_is_object(cur))
            cur = json_object_get(cur, tok);
        else if (json_is_array(cur)) {
            char *end;
            long idx = strtol(tok, &end, 10);
            cur = (*end || idx < 0) ? NULL : json_array_get(cur, (size_t)idx);
        } else
            cur = NULL;
    }
    return cur;
}

/* ---------------------------------------------------------------- keywords --- */

static void child_path(char *out, size_t cap, const char *path, const char *key)
{
    snprintf(out, cap, "%s/", path);
    size_t k = strlen(out);
    for (const char *p = key; *p && k + 2 < cap; p++) {
        if (*p == '~' || *p == '/') {
            out[k++] = '~';
            out[k++] = *p == '~' ? '0' : '1';
        } else
            out[k++] = *p;
    }
    out[k] = '\0';
}

static bool branch(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    json_t *saved = c->errors;
    c->errors = NULL;
    bool ok = validate(c, s, v, path);
    c->errors = saved;
    return ok;
}

static bool regex_match(vctx *c, const char *pattern, const char *s, size_t n, bool *ok)
{
    mlops__regex *re = NULL;
    if (mlops__regex_compile_flags(pattern, 0, "schema pattern", &re) != MLOPS_OK) {
        *ok = false;
        return true; /* unsupported pattern: do not fail the instance */
    }
    size_t ms, me;
    *ok = true;
    bool m = mlops__regex_search(re, s, n, 0, &ms, &me);
    mlops__regex_free(re);
    return m;
}

static bool v_object(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    bool ok = true;
    char cp[512];
    const json_t *props = json_object_get(s, "properties");
    const json_t *pprops = json_object_get(s, "patternProperties");
    const json_t *addl = json_object_get(s, "additionalProperties");
    const json_t *pnames = json_object_get(s, "propertyNames");
    const char *k;
    json_t *x;
    json_object_foreach((json_t *)v, k, x) {
        child_path(cp, sizeof cp, path, k);
        bool matched = false;
        const json_t *ps = json_is_object(props) ? json_object_get(props, k) : NULL;
        if (ps) {
            matched = true;
            ok = validate(c, ps, x, cp) && ok;
        }
        if (json_is_object(pprops)) {
            const char *pat;
            json_t *psch;
            json_object_foreach((json_t *)pprops, pat, psch) {
                bool good;
                if (regex_match(c, pat, k, strlen(k), &good) && good) {
                    matched = true;
                    ok = validate(c, psch, x, cp) && ok;
                }
            }
        }
        if (!matched && addl) {
            if (!branch(c, addl, x, cp)) {
                report(c, cp, "additional property '%s' is not allowed", k);
                ok = false;
            }
        }
        if (pnames) {
            json_t *name = json_string(k);
            if (name && !branch(c, pnames, name, cp)) {
                report(c, cp, "property name '%s' does not match propertyNames", k);
                ok = false;
            }
            json_decref(name);
        }
    }
    const json_t *req = json_object_get(s, "required");
    if (json_is_array(req))
        for (size_t i = 0; i < json_array_size(req); i++) {
            const char *r = json_string_value(json_array_get(req, i));
            if (r && !json_object_get(v, r)) {
                report(c, path, "required property '%s' is missing", r);
                ok = false;
            }
        }
    const json_t *dr = json_object_get(s, "dependentRequired");
    if (json_is_object(dr)) {
        json_object_foreach((json_t *)dr, k, x) {
            if (!json_object_get(v, k) || !json_is_array(x))
                continue;
            for (size_t i = 0; i < json_array_size(x); i++) {
                const char *r = json_string_value(json_array_get(x, i));
                if (r && !json_object_get(v, r)) {
                    report(c, path, "property '%s' requires '%s'", k, r);
                    ok = false;
                }
            }
        }
    }
    const json_t *ds = json_object_get(s, "dependentSchemas");
    if (json_is_object(ds)) {
        json_object_foreach((json_t *)ds, k, x) {
            if (json_object_get(v, k) && !validate(c, x, v, path))
                ok = false;
        }
    }
    const json_t *mn = json_object_get(s, "minProperties");
    if (is_num(mn) && (double)json_object_size(v) < num(mn)) {
        report(c, path, "has %zu properties, fewer than minProperties %g", json_object_size(v), num(mn));
        ok = false;
    }
    const json_t *mx = json_object_get(s, "maxProperties");
    if (is_num(mx) && (double)json_object_size(v) > num(mx)) {
        report(c, path, "has %zu properties, more than maxProperties %g", json_object_size(v), num(mx));
        ok = false;
    }
    return ok;
}

static bool v_array(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    bool ok = true;
    char cp[512];
    size_t n = json_array_size(v);
    const json_t *prefix = json_object_get(s, "prefixItems");
    size_t np = json_is_array(prefix) ? json_array_size(prefix) : 0;
    for (size_t i = 0; i < n && i < np; i++) {
        snprintf(cp, sizeof cp, "%s/%zu", path, i);
        ok = validate(c, json_array_get(prefix, i), json_array_get(v, i), cp) && ok;
    }
    const json_t *items = json_object_get(s, "items");
    if (items && (json_is_object(items) || json_is_boolean(items)))
        for (size_t i = np; i < n; i++) {
            snprintf(cp, sizeof cp, "%s/%zu", path, i);
            if (json_is_false(items)) {
                report(c, cp, "no items allowed beyond %zu", np);
                ok = false;
                break;
            }
            ok = validate(c, items, json_array_get(v, i), cp) && ok;
        }
    const json_t *contains = json_object_get(s, "contains");
    if (contains) {
        size_t hits = 0;
        for (size_t i = 0; i < n; i++) {
            snprintf(cp, sizeof cp, "%s/%zu", path, i);
            hits += branch(c, contains, json_array_get(v, i), cp);
        }
        const json_t *minc = json_object_get(s, "minContains");
        const json_t *maxc = json_object_get(s, "maxContains");
        double lo = is_num(minc) ? num(minc) : 1;
        if ((double)hits < lo) {
            report(c, path, "contains %zu matching items, fewer than %g", hits, lo);
            ok = false;
        }
        if (is_num(maxc) && (double)hits > num(maxc)) {
            report(c, path, "contains %zu matching items, more than maxContains %g", hits, num(maxc));
            ok = false;
        }
    }
    const json_t *mn = json_object_get(s, "minItems");
    if (is_num(mn) && (double)n < num(mn)) {
        report(c, path, "has %zu items, fewer than minItems %g", n, num(mn));
        ok = false;
    }
    const json_t *mx = json_object_get(s, "maxItems");
    if (is_num(mx) && (double)n > num(mx)) {
        report(c, path, "has %zu items, more than maxItems %g", n, num(mx));
        ok = false;
    }
    if (json_is_true(json_object_get(s, "uniqueItems")))
        for (size_t i = 0; i < n && ok; i++)
            for (size_t j = i + 1; j < n; j++)
                if (jequal(json_array_get(v, i), json_array_get(v, j))) {
                    report(c, path, "items %zu and %zu are equal but uniqueItems is true", i, j);
                    ok = false;
                    break;
                }
    return ok;
}

static bool v_number(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    bool ok = true;
    double x = num(v);
    const json_t *k;
    if (is_num(k = json_object_get(s, "minimum")) && x < num(k)) {
        report(c, path, "%g is less than minimum %g", x, num(k));
        ok = false;
    }
    if (is_num(k = json_object_get(s, "maximum")) && x > num(k)) {
        report(c, path, "%g is greater than maximum %g", x, num(k));
        ok = false;
    }
    if (is_num(k = json_object_get(s, "exclusiveMinimum")) && x <= num(k)) {
        report(c, path, "%g is not greater than exclusiveMinimum %g", x, num(k));
        ok = false;
    }
    if (is_num(k = json_object_get(s, "exclusiveMaximum")) && x >= num(k)) {
        report(c, path, "%g is not less than exclusiveMaximum %g", x, num(k));
        ok = false;
    }
    if (is_num(k = json_object_get(s, "multipleOf")) && num(k) > 0) {
        bool mult;
        if (json_is_integer(v) && json_is_integer(k))
            mult = json_integer_value(v) % json_integer_value(k) == 0;
        else {
            double q = x / num(k);
            mult = isfinite(q) && fabs(q - nearbyint(q)) < 1e-9 * fmax(1.0, fabs(q));
        }
        if (!mult) {
            report(c, path, "%g is not a multiple of %g", x, num(k));
            ok = false;
        }
    }
    return ok;
}

static bool v_string(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    bool ok = true;
    const char *str = json_string_value(v);
    size_t blen = json_string_length(v);
    size_t len = utf8_len(str, blen);
    const json_t *k;
    if (is_num(k = json_object_get(s, "minLength")) && (double)len < num(k)) {
        report(c, path, "string of length %zu is shorter than minLength %g", len, num(k));
        ok = false;
    }
    if (is_num(k = json_object_get(s, "maxLength")) && (double)len > num(k)) {
        report(c, path, "string of length %zu is longer than maxLength %g", len, num(k));
        ok = false;
    }
    if (json_is_string(k = json_object_get(s, "pattern"))) {
        bool good;
        if (!regex_match(c, json_string_value(k), str, blen, &good) && good) {
            report(c, path, "string does not match pattern '%s'", json_string_value(k));
            ok = false;
        }
    }
    return ok;
}

static bool validate(vctx *c, const json_t *s, const json_t *v, const char *path)
{
    if (json_is_true(s))
        return true;
    if (json_is_false(s)) {
        report(c, path, "no value is allowed here (false schema)");
        return false;
    }
    if (!json_is_object(s)) {
        if (!c->err)
            c->err = mlops__error(MLOPS_EINVAL, "schema at %s: expected object or boolean, got %s",
                                  *path ? path : "/", mlops__json_type_name(s));
        return false;
    }
    if (++c->depth > MAX_DEPTH) {
        c->depth--;
        if (!c->err)
            c->err = mlops__error(MLOPS_ELIMIT, "schema: recursion deeper than %d levels "
                                  "(nested $ref or instance) at %s", MAX_DEPTH, *path ? path : "/");
        return false;
    }
    bool ok = true;
    const json_t *k;
    if (json_is_string(k = json_object_get(s, "$ref"))) {
        const json_t *target = resolve(c, json_string_value(k));
        if (!target) {
            if (!c->err)
                c->err = mlops__error(MLOPS_EINVAL, "schema: $ref '%s' does not resolve to a local schema",
                                      json_string_value(k));
            ok = false;
        } else
            ok = validate(c, target, v, path) && ok;
    }
    if ((k = json_object_get(s, "type"))) {
        bool match = false;
        if (json_is_string(k))
            match = type_is(v, json_string_value(k));
        else if (json_is_array(k))
            for (size_t i = 0; i < json_array_size(k) && !match; i++)
                match = json_is_string(json_array_get(k, i)) &&
                        type_is(v, json_string_value(json_array_get(k, i)));
        if (!match) {
            report(c, path, "expected %s, got %s",
                   json_is_string(k) ? json_string_value(k) : "one of the listed types", type_of(v));
            ok = false;
        }
    }
    if (json_is_array(k = json_object_get(s, "enum"))) {
        bool found = false;
        for (size_t i = 0; i < json_array_size(k) && !found; i++)
            found = jequal(json_array_get(k, i), v);
        if (!found) {
            report(c, path, "value is not one of the enum values");
            ok = false;
        }
    }
    if ((k = json_object_get(s, "const")) && !jequal(k, v)) {
        report(c, path, "value does not equal const");
        ok = false;
    }
    if (json_is_object(v))
        ok = v_object(c, s, v, path) && ok;
    else if (json_is_array(v))
        ok = v_array(c, s, v, path) && ok;
    else if (is_num(v))
        ok = v_number(c, s, v, path) && ok;
    else if (json_is_string(v))
        ok = v_string(c, s, v, path) && ok;
    if (json_is_array(k = json_object_get(s, "allOf")))
        for (size_t i = 0; i < json_array_size(k); i++)
            ok = validate(c, json_array_get(k, i), v, path) && ok;
    if (json_is_array(k = json_object_get(s, "anyOf"))) {
        bool any = false;
        for (size_t i = 0; i < json_array_size(k) && !any; i++)
            any = branch(c, json_array_get(k, i), v, path);
        if (!any) {
            report(c, path, "value matches none of anyOf");
            ok = false;
        }
    }
    if (json_is_array(k = json_object_get(s, "oneOf"))) {
        size_t hits = 0;
        for (size_t i = 0; i < json_array_size(k); i++)
            hits += branch(c, json_array_get(k, i), v, path);
        if (hits != 1) {
            report(c, path, "value matches %zu of oneOf, not exactly one", hits);
            ok = false;
        }
    }
    if ((k = json_object_get(s, "not")) && branch(c, k, v, path)) {
        report(c, path, "value must not match the 'not' schema");
        ok = false;
    }
    if ((k = json_object_get(s, "if"))) {
        const json_t *then = json_object_get(s, "then"), *els = json_object_get(s, "else");
        if (branch(c, k, v, path)) {
            if (then)
                ok = validate(c, then, v, path) && ok;
        } else if (els)
            ok = validate(c, els, v, path) && ok;
    }
    c->depth--;
    return ok;
}

int mlops__jsonschema_validate(const json_t *schema, const json_t *instance, json_t *errors)
{
    vctx c = {schema, errors, 0, 0};
    bool ok = validate(&c, schema, instance, "");
    if (c.err)
        return c.err;
    return ok ? 1 : 0;
}
