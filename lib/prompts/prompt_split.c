/*
 * Weighted label splits (server-side A/B): a label may point at several versions with
 * integer weights summing to 100. A caller key is hashed with xxh3, seeded by the
 * prompt and label, and mapped to [0, 100): the same key always lands on the same
 * version while the split is unchanged, and different labels split independently.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

void mlops__prompt_target_clear(label_target *t)
{
    free(t->arms);
    memset(t, 0, sizeof *t);
}

int mlops__prompt_split_parse(const json_t *split, label_target *out)
{
    memset(out, 0, sizeof *out);
    const json_t *arr = split;
    if (json_is_object(split)) {
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)split, key, val) {
            if (strcmp(key, "split") != 0)
                return mlops__error(MLOPS_EINVAL, "split: unknown key '%s'", key);
        }
        arr = json_object_get(split, "split");
    }
    if (!json_is_array(arr))
        return mlops__error(MLOPS_EINVAL,
                            "split: expected {\"split\": [{\"version\": V, \"weight\": W}, ...]}");
    size_t n = json_array_size(arr);
    if (n < 1 || n > SPLIT_MAX_ARMS)
        return mlops__error(MLOPS_EINVAL, "split: needs 1..%d arms, got %zu", SPLIT_MAX_ARMS, n);
    out->arms = calloc(n, sizeof *out->arms);
    if (!out->arms)
        return mlops__error_oom("split");
    out->narms = n;
    static const mlops__json_field fields[] = {
        {"version", MLOPS__J_INTEGER, true},
        {"weight", MLOPS__J_INTEGER, true},
        {NULL, 0, false},
    };
    int64_t sum = 0;
    size_t i;
    json_t *arm;
    json_array_foreach(arr, i, arm) {
        char path[32];
        snprintf(path, sizeof path, "split[%zu]", i);
        int rc = mlops__json_check_fields(arm, path, fields, MLOPS_EINVAL);
        if (rc != MLOPS_OK) {
            mlops__prompt_target_clear(out);
            return rc;
        }
        int64_t v = mlops__json_int(arm, "version", 0), w = mlops__json_int(arm, "weight", 0);
        if (v <= 0 || w < 0 || w > 100) {
            mlops__prompt_target_clear(out);
            return mlops__error(MLOPS_EINVAL,
                                "%s: version must be positive and weight within 0..100", path);
        }
        for (size_t k = 0; k < i; k++) {
            if (out->arms[k].version == v) {
                mlops__prompt_target_clear(out);
                return mlops__error(MLOPS_EINVAL, "%s: version %lld appears twice", path,
                                    (long long)v);
            }
        }
        out->arms[i].version = v;
        out->arms[i].weight = (int)w;
        sum += w;
    }
    if (sum != 100) {
        mlops__prompt_target_clear(out);
        return mlops__error(MLOPS_EINVAL, "split: weights must sum to 100, they sum to %lld",
                            (long long)sum);
    }
    return MLOPS_OK;
}

char *mlops__prompt_target_text(const label_target *t)
{
    if (t->narms == 0)
        return mlops__sprintf("%lld", (long long)t->version);
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "{\"split\":[");
    for (size_t i = 0; i < t->narms; i++)
        mlops__buf_printf(&b, "%s{\"version\":%lld,\"weight\":%d}", i ? "," : "",
                          (long long)t->arms[i].version, t->arms[i].weight);
    mlops__buf_puts(&b, "]}");
    return mlops__buf_take(&b);
}

int mlops__prompt_target_from_row(int64_t version, const char *split, label_target *out)
{
    memset(out, 0, sizeof *out);
    if (!split) {
        out->version = version;
        return MLOPS_OK;
    }
    json_t *j = NULL;
    int rc = mlops__json_parse(split, "stored split", &j);
    if (rc == MLOPS_OK)
        rc = mlops__prompt_split_parse(j, out);
    json_decref(j);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(MLOPS_ECORRUPT, "stored label split");
    return MLOPS_OK;
}

json_t *mlops__prompt_target_json(const char *text)
{
    if (!text)
        return json_null();
    json_error_t err;
    json_t *j = json_loads(text, JSON_DECODE_ANY, &err);
    return j ? j : json_string(text);
}

static uint64_t rng_next(void)
{
    static _Thread_local uint64_t state;
    if (state == 0)
        state = mlops__now_ns() ^ (uint64_t)(uintptr_t)&state ^ 0x9E3779B97F4A7C15ull;
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

int64_t mlops__prompt_split_pick(const label_target *t, const char *name, const char *label,
                                 const char *key)
{
    if (t->narms == 0)
        return t->version;
    double u;
    if (key) {
        uint64_t seed = mlops__hash_str(label, mlops__hash_str(name, 0x5eed));
        u = mlops__hash_unit(mlops__hash64(key, strlen(key), seed));
    } else {
        u = mlops__hash_unit(rng_next());
    }
    double point = u * 100.0, acc = 0;
    for (size_t i = 0; i < t->narms; i++) {
        acc += t->arms[i].weight;
        if (point < acc)
            return t->arms[i].version;
    }
    /* rounding at the top end: the last arm with any weight */
    for (size_t i = t->narms; i-- > 0;)
        if (t->arms[i].weight > 0)
            return t->arms[i].version;
    return t->arms[t->narms - 1].version;
}
