/* Key metadata, budget periods and the "keys" config section. */
#include "keys.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const mlops__json_field meta_fields[] = {
    {"alias", MLOPS__J_STRING, false},
    {"models", MLOPS__J_ARRAY, false},
    {"budget", MLOPS__J_NUMBER, false},
    {"budget_period", MLOPS__J_STRING, false},
    {"soft_budget", MLOPS__J_NUMBER, false},
    {"rpm", MLOPS__J_INTEGER, false},
    {"tpm", MLOPS__J_INTEGER, false},
    {"max_parallel", MLOPS__J_INTEGER, false},
    {"expires_ms", MLOPS__J_INTEGER, false},
    {"expires_in_s", MLOPS__J_INTEGER, false},
    {"owner", MLOPS__J_STRING, false},
    {"team", MLOPS__J_STRING, false},
    {"tags", MLOPS__J_ARRAY, false},
    {"metadata", MLOPS__J_OBJECT, false},
    {NULL, 0, false},
};

static const char *const period_names[] = {"total", "daily", "weekly", "monthly"};

const char *mlops__key_period_name(int period)
{
    return period >= 0 && period < 4 ? period_names[period] : "total";
}

static int check_string_array(const json_t *arr, const char *what)
{
    size_t i;
    json_t *v;
    if (json_array_size(arr) > 256)
        return mlops__error(MLOPS_EINVAL, "key metadata.%s: more than 256 entries", what);
    json_array_foreach(arr, i, v) {
        if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > 256)
            return mlops__error(MLOPS_EINVAL,
                                "key metadata.%s[%zu]: expected a non-empty string of at most "
                                "256 bytes",
                                what, i);
    }
    return MLOPS_OK;
}

static int check_nonneg(const json_t *obj, const char *key, double max)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        return MLOPS_OK;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > max)
        return mlops__error(MLOPS_EINVAL, "key metadata.%s: %g is outside 0..%g", key, d, max);
    return MLOPS_OK;
}

void mlops__key_meta_free(mlops__key_meta *m)
{
    if (!m)
        return;
    free(m->alias);
    free(m->owner);
    free(m->team);
    json_decref(m->models);
    json_decref(m->tags);
    json_decref(m->extra);
    memset(m, 0, sizeof *m);
}

int mlops__key_meta_parse(const json_t *obj, int64_t now_ms, mlops__key_meta *out)
{
    memset(out, 0, sizeof *out);
    out->budget = -1;
    out->soft_budget = -1;
    if (!obj)
        return MLOPS_OK;
    int rc = mlops__json_check_fields(obj, "key metadata", meta_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    const char *alias = mlops__json_str(obj, "alias", NULL);
    if (alias && (rc = mlops__name_check(alias, "key metadata.alias")) != MLOPS_OK)
        return rc;
    if (alias && strncmp(alias, "key-", 4) == 0)
        return mlops__error(MLOPS_EINVAL,
                            "key metadata.alias: '%s' must not start with 'key-' (reserved "
                            "for key ids)",
                            alias);
    const double money_max = 1e12;
    const char *num_keys[] = {"budget", "soft_budget"};
    for (size_t i = 0; i < 2; i++)
        if ((rc = check_nonneg(obj, num_keys[i], money_max)) != MLOPS_OK)
            return rc;
    const char *int_keys[] = {"rpm", "tpm", "max_parallel", "expires_ms", "expires_in_s"};
    for (size_t i = 0; i < 5; i++)
        if ((rc = check_nonneg(obj, int_keys[i], 9e15)) != MLOPS_OK)
            return rc;
    json_t *models = json_object_get(obj, "models");
    if (models && (rc = check_string_array(models, "models")) != MLOPS_OK)
        return rc;
    json_t *tags = json_object_get(obj, "tags");
    if (tags && (rc = check_string_array(tags, "tags")) != MLOPS_OK)
        return rc;
    int period = MLOPS__PERIOD_TOTAL;
    const char *pname = mlops__json_str(obj, "budget_period", "total");
    for (period = 0; period < 4 && strcmp(period_names[period], pname) != 0; period++)
        ;
    if (period == 4)
        return mlops__error(MLOPS_EINVAL,
                            "key metadata.budget_period: '%s' is not one of total, daily, "
                            "weekly, monthly",
                            pname);
    if (json_object_get(obj, "expires_ms") && json_object_get(obj, "expires_in_s"))
        return mlops__error(MLOPS_EINVAL,
                            "key metadata: give expires_ms or expires_in_s, not both");
    const char *owner = mlops__json_str(obj, "owner", NULL);
    const char *team = mlops__json_str(obj, "team", NULL);
    if ((owner && strlen(owner) > 256) || (team && strlen(team) > 256))
        return mlops__error(MLOPS_EINVAL, "key metadata.%s: longer than 256 bytes",
                            owner && strlen(owner) > 256 ? "owner" : "team");

    out->period = period;
    out->budget = json_object_get(obj, "budget") ? mlops__json_num(obj, "budget", -1) : -1;
    out->soft_budget =
        json_object_get(obj, "soft_budget") ? mlops__json_num(obj, "soft_budget", -1) : -1;
    out->rpm = mlops__json_int(obj, "rpm", 0);
    out->tpm = mlops__json_int(obj, "tpm", 0);
    out->max_parallel = mlops__json_int(obj, "max_parallel", 0);
    out->expires_ms = mlops__json_int(obj, "expires_ms", 0);
    if (json_object_get(obj, "expires_in_s"))
        out->expires_ms = now_ms + mlops__json_int(obj, "expires_in_s", 0) * 1000;
    out->alias = alias ? mlops__strdup(alias) : NULL;
    out->owner = owner ? mlops__strdup(owner) : NULL;
    out->team = team ? mlops__strdup(team) : NULL;
    out->models = models ? json_incref(models) : NULL;
    out->tags = tags ? json_incref(tags) : NULL;
    json_t *extra = json_object_get(obj, "metadata");
    out->extra = extra ? json_incref(extra) : NULL;
    if ((alias && !out->alias) || (owner && !out->owner) || (team && !out->team)) {
        mlops__key_meta_free(out);
        return mlops__error_oom("key metadata");
    }
    return MLOPS_OK;
}

/* UTC calendar arithmetic through timegm/gmtime_r (no local time zone involved). */
static int64_t utc_floor(int period, int64_t now_ms, int advance)
{
    time_t t = (time_t)(now_ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    if (period == MLOPS__PERIOD_DAILY) {
        tm.tm_mday += advance;
    } else if (period == MLOPS__PERIOD_WEEKLY) {
        int since_monday = (tm.tm_wday + 6) % 7;
        tm.tm_mday -= since_monday;
        tm.tm_mday += 7 * advance;
    } else {
        tm.tm_mday = 1;
        tm.tm_mon += advance;
    }
    tm.tm_isdst = 0;
    return (int64_t)timegm(&tm) * 1000;
}

int64_t mlops__key_period_start(int period, int64_t now_ms)
{
    return period == MLOPS__PERIOD_TOTAL ? 0 : utc_floor(period, now_ms, 0);
}

int64_t mlops__key_period_next(int period, int64_t now_ms)
{
    return period == MLOPS__PERIOD_TOTAL ? INT64_MAX : utc_floor(period, now_ms, 1);
}

static const mlops__json_field cfg_fields[] = {
    {"retention_days", MLOPS__J_INTEGER, false},
    {"reservation_ttl_s", MLOPS__J_INTEGER, false},
    {"salt_bytes", MLOPS__J_INTEGER, false},
    {"prune_batch", MLOPS__J_INTEGER, false},
    {NULL, 0, false},
};

int mlops__keys_config_check(const json_t *section, const char *path, mlops__keys_opts *out)
{
    mlops__keys_opts o = {90, 600000, 16, 1000};
    if (section) {
        int rc = mlops__json_check_fields(section, path, cfg_fields, MLOPS_ECONFIG);
        if (rc != MLOPS_OK)
            return rc;
        struct {
            const char *key;
            int64_t lo, hi;
            int64_t *dst;
            int64_t scale;
        } ranges[] = {
            {"retention_days", 0, 36500, &o.retention_days, 1},
            {"reservation_ttl_s", 1, 86400, &o.reservation_ttl_ms, 1000},
            {"salt_bytes", 8, 64, &o.salt_bytes, 1},
            {"prune_batch", 1, 1000000, &o.prune_batch, 1},
        };
        for (size_t i = 0; i < MLOPS__ARRAY_LEN(ranges); i++) {
            json_t *v = json_object_get(section, ranges[i].key);
            if (!v)
                continue;
            int64_t x = json_integer_value(v);
            if (x < ranges[i].lo || x > ranges[i].hi)
                return mlops__error(MLOPS_ECONFIG, "%s.%s: %lld is outside %lld..%lld", path,
                                    ranges[i].key, (long long)x, (long long)ranges[i].lo,
                                    (long long)ranges[i].hi);
            *ranges[i].dst = x * ranges[i].scale;
        }
    }
    if (out)
        *out = o;
    return MLOPS_OK;
}
