/* Public facade of virtual keys and the spend ledger (include/mlops/keys.h). */
#include "api.h"

#include "../gateway/gateway.h"
#include "../gateway/keys.h"

#include <math.h>
#include <string.h>

static int keys_check_config(const json_t *section)
{
    return mlops__keys_config_check(section, "config.keys", NULL);
}

static int keys_open(mlops_t *h, const json_t *section)
{
    mlops__keys_opts o;
    int rc = mlops__keys_config_check(section, "config.keys", &o);
    if (rc == MLOPS_OK)
        rc = mlops__keys_open(h->store, &h->logger, &o, &h->keys);
    if (rc == MLOPS_OK)
        mlops__gateway_attach_keys(h->gateway, h->keys);
    return rc;
}

static void keys_close(mlops_t *h)
{
    mlops__gateway_attach_keys(h->gateway, NULL);
    mlops__keys_close(h->keys);
    h->keys = NULL;
}

const mlops__module mlops__api_keys_module = {
    "keys", &mlops__keys_schema, keys_check_config, keys_open, keys_close,
};

static int check2(mlops_t *h, const void *arg, const char *fn, const char *name)
{
    int rc = mlops__api_check_handle(h, fn);
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(arg, fn, name);
    return rc;
}

static int parse_opt_object(const char *text, const char *what, json_t **out)
{
    *out = NULL;
    if (!text || !*text)
        return MLOPS_OK;
    return mlops__json_parse_object(text, what, out);
}

MLOPS_API int mlops_keys_create(mlops_t *h, const char *meta_json, char **out)
{
    int rc = check2(h, out, "mlops_keys_create", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *meta = NULL, *info = NULL;
    char *secret = NULL;
    if ((rc = parse_opt_object(meta_json, "key metadata", &meta)) != MLOPS_OK)
        return rc;
    rc = mlops__keys_create(h->keys, meta, &secret, &info);
    json_decref(meta);
    if (rc != MLOPS_OK)
        return rc;
    json_t *res = json_pack("{s:O, s:s, s:o}", "id", json_object_get(info, "id"), "secret",
                            secret, "key", info);
    memset(secret, 0, strlen(secret));
    mlops_free(secret);
    return mlops__json_dump_steal(res, out);
}

MLOPS_API int mlops_keys_list(mlops_t *h, const char *filter_json, char **out)
{
    int rc = check2(h, out, "mlops_keys_list", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *filter = NULL, *list = NULL;
    if ((rc = parse_opt_object(filter_json, "key filter", &filter)) != MLOPS_OK)
        return rc;
    static const mlops__json_field fields[] = {
        {"owner", MLOPS__J_STRING, false},
        {"team", MLOPS__J_STRING, false},
        {"tag", MLOPS__J_STRING, false},
        {"include_revoked", MLOPS__J_BOOL, false},
        {NULL, 0, false},
    };
    if (filter)
        rc = mlops__json_check_fields(filter, "key filter", fields, MLOPS_EINVAL);
    if (rc == MLOPS_OK)
        rc = mlops__keys_list(h->keys, filter, &list);
    json_decref(filter);
    return rc == MLOPS_OK ? mlops__json_dump_steal(list, out) : rc;
}

MLOPS_API int mlops_keys_get(mlops_t *h, const char *key, char **out)
{
    int rc = check2(h, key, "mlops_keys_get", "key");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_keys_get", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *d = NULL;
    rc = mlops__keys_get(h->keys, key, &d);
    return rc == MLOPS_OK ? mlops__json_dump_steal(d, out) : rc;
}

MLOPS_API int mlops_keys_revoke(mlops_t *h, const char *key)
{
    int rc = check2(h, key, "mlops_keys_revoke", "key");
    return rc == MLOPS_OK ? mlops__keys_revoke(h->keys, key) : rc;
}

MLOPS_API int mlops_keys_rotate(mlops_t *h, const char *key, int64_t grace_ms, char **out)
{
    int rc = check2(h, key, "mlops_keys_rotate", "key");
    if (rc == MLOPS_OK)
        rc = mlops__api_check_arg(out, "mlops_keys_rotate", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    char *secret = NULL;
    json_t *d = NULL;
    if ((rc = mlops__keys_rotate(h->keys, key, grace_ms, &secret)) != MLOPS_OK)
        return rc;
    rc = mlops__keys_get(h->keys, key, &d);
    json_t *res = rc == MLOPS_OK ? json_pack("{s:O, s:s, s:O}", "id", json_object_get(d, "id"),
                                             "secret", secret, "prefix",
                                             json_object_get(d, "prefix"))
                                 : NULL;
    json_decref(d);
    memset(secret, 0, strlen(secret));
    mlops_free(secret);
    return rc == MLOPS_OK ? mlops__json_dump_steal(res, out) : rc;
}

MLOPS_API int mlops_keys_authorize(mlops_t *h, const char *secret, const char *model,
                                   double est_cost, int64_t est_tokens, char **out)
{
    int rc = check2(h, out, "mlops_keys_authorize", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    mlops__key_reservation r;
    mlops__key_refusal ref;
    rc = mlops__keys_authorize_ex(h->keys, secret, model, est_cost, est_tokens, &r, &ref);
    if (rc == MLOPS_OK) {
        json_t *res = json_pack("{s:I, s:s, s:f, s:I, s:o, s:f, s:b}", "reservation",
                                (json_int_t)r.id, "key_id", r.key_id, "reserved_cost", r.cost,
                                "reserved_tokens", (json_int_t)r.tokens, "budget",
                                r.budget >= 0 ? json_real(r.budget) : json_null(), "spent",
                                r.spent, "soft_budget_alert", r.soft_alert);
        return mlops__json_dump_steal(res, out);
    }
    if (rc == MLOPS_EAUTH || rc == MLOPS_EBUDGET || rc == MLOPS_ERATELIMIT) {
        char msg[1024];
        snprintf(msg, sizeof msg, "%s", mlops__error_text());
        json_t *res = json_pack("{s:s, s:i, s:s, s:I}", "error", ref.reason ? ref.reason : "",
                                "status", rc, "message", msg, "retry_after_ms",
                                (json_int_t)ref.retry_after_ms);
        if (res)
            mlops__json_dump_steal(res, out);
        mlops__error(rc, "%s", msg);
    }
    return rc;
}

static const mlops__json_field usage_fields[] = {
    {"cost", MLOPS__J_NUMBER, false},      {"tokens_in", MLOPS__J_INTEGER, false},
    {"tokens_out", MLOPS__J_INTEGER, false}, {"model", MLOPS__J_STRING, false},
    {"deployment", MLOPS__J_STRING, false}, {"latency_ms", MLOPS__J_NUMBER, false},
    {"cache_hit", MLOPS__J_BOOL, false},   {"guard", MLOPS__J_STRING, false},
    {"route", MLOPS__J_ANY, false},        {"status", MLOPS__J_STRING, false},
    {"request_id", MLOPS__J_STRING, false}, {"key_id", MLOPS__J_STRING, false},
    {"ts_ms", MLOPS__J_INTEGER, false},    {NULL, 0, false},
};

/* Fills a ledger entry from usage JSON; *route_text is malloc'd (or NULL). */
static int usage_entry(const json_t *u, bool need_cost, mlops__ledger_entry *e,
                       char **route_text)
{
    memset(e, 0, sizeof *e);
    *route_text = NULL;
    int rc = mlops__json_check_fields(u, "usage", usage_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    if (need_cost && !json_object_get(u, "cost"))
        return mlops__error(MLOPS_EINVAL, "usage: missing key 'cost'");
    e->cost = mlops__json_num(u, "cost", 0);
    e->tokens_in = mlops__json_int(u, "tokens_in", 0);
    e->tokens_out = mlops__json_int(u, "tokens_out", 0);
    e->latency_ms = mlops__json_num(u, "latency_ms", 0);
    if (!isfinite(e->cost) || e->cost < 0 || e->tokens_in < 0 || e->tokens_out < 0 ||
        !isfinite(e->latency_ms) || e->latency_ms < 0)
        return mlops__error(MLOPS_EINVAL,
                            "usage: cost, tokens_in, tokens_out and latency_ms must be finite "
                            "and >= 0");
    e->ts_ms = mlops__json_int(u, "ts_ms", 0);
    e->model = mlops__json_str(u, "model", NULL);
    e->deployment = mlops__json_str(u, "deployment", NULL);
    e->cache_hit = mlops__json_bool(u, "cache_hit", false);
    e->guard = mlops__json_str(u, "guard", NULL);
    e->status = mlops__json_str(u, "status", "ok");
    e->request_id = mlops__json_str(u, "request_id", NULL);
    e->key_id = mlops__json_str(u, "key_id", NULL);
    json_t *route = json_object_get(u, "route");
    if (route && !json_is_null(route)) {
        *route_text = json_is_string(route) ? mlops__strdup(json_string_value(route))
                                            : json_dumps(route, JSON_COMPACT);
        if (!*route_text)
            return mlops__error_oom("usage.route");
        e->route = *route_text;
    }
    return MLOPS_OK;
}

MLOPS_API int mlops_keys_settle(mlops_t *h, int64_t reservation, const char *usage_json)
{
    int rc = check2(h, usage_json, "mlops_keys_settle", "usage_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *u = NULL;
    char *route = NULL;
    mlops__key_reservation r;
    mlops__ledger_entry e;
    if ((rc = mlops__json_parse_object(usage_json, "usage", &u)) != MLOPS_OK)
        return rc;
    rc = usage_entry(u, true, &e, &route);
    if (rc == MLOPS_OK && json_object_get(u, "key_id"))
        rc = mlops__error(MLOPS_EINVAL, "usage.key_id: set by the reservation, not the caller");
    if (rc == MLOPS_OK)
        rc = mlops__keys_reservation_get(h->keys, reservation, &r);
    if (rc == MLOPS_OK)
        rc = mlops__keys_settle_record(h->keys, &r, &e);
    free(route);
    json_decref(u);
    return rc;
}

MLOPS_API int mlops_keys_release(mlops_t *h, int64_t reservation)
{
    int rc = mlops__api_check_handle(h, "mlops_keys_release");
    mlops__key_reservation r;
    if (rc == MLOPS_OK)
        rc = mlops__keys_reservation_get(h->keys, reservation, &r);
    return rc == MLOPS_OK ? mlops__keys_release(h->keys, &r) : rc;
}

MLOPS_API int mlops_spend_record(mlops_t *h, const char *entry_json)
{
    int rc = check2(h, entry_json, "mlops_spend_record", "entry_json");
    if (rc != MLOPS_OK)
        return rc;
    json_t *u = NULL;
    char *route = NULL;
    mlops__ledger_entry e;
    if ((rc = mlops__json_parse_object(entry_json, "ledger entry", &u)) != MLOPS_OK)
        return rc;
    rc = usage_entry(u, false, &e, &route);
    if (rc == MLOPS_OK)
        rc = mlops__keys_ledger_record(h->keys, &e);
    free(route);
    json_decref(u);
    return rc;
}

MLOPS_API int mlops_spend_query(mlops_t *h, const char *query_json, char **out)
{
    int rc = check2(h, out, "mlops_spend_query", "out");
    if (rc != MLOPS_OK)
        return rc;
    *out = NULL;
    json_t *q = NULL, *res = NULL;
    if ((rc = parse_opt_object(query_json, "spend query", &q)) != MLOPS_OK)
        return rc;
    rc = mlops__keys_spend_query(h->keys, q, &res);
    json_decref(q);
    return rc == MLOPS_OK ? mlops__json_dump_steal(res, out) : rc;
}

MLOPS_API int mlops_spend_prune(mlops_t *h, int64_t before_ms, int64_t *out_deleted)
{
    int rc = check2(h, out_deleted, "mlops_spend_prune", "out_deleted");
    if (rc != MLOPS_OK)
        return rc;
    *out_deleted = 0;
    if (before_ms < 0)
        return mlops__error(MLOPS_EINVAL, "mlops_spend_prune: before_ms is negative");
    return mlops__keys_ledger_prune(h->keys, before_ms, out_deleted);
}
