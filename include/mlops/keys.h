/*
 * libmlops — virtual keys with budgets and rate limits, and the spend ledger.
 *
 * A virtual key is what a caller of the gateway presents (x_mlops.api_key). Its secret
 * ("mk-" followed by 43 base62 characters, 256 random bits) is returned once, at
 * creation or rotation; the store keeps only a salted SHA-256 of it and its first 11
 * characters (the "prefix", shown by list to tell keys apart).
 *
 * Enforcement is exact under concurrency, across threads and processes sharing the
 * store: authorize reserves a request's maximum cost and tokens in one write
 * transaction (spent + in-flight reservations + this one <= budget), settle replaces
 * the reservation by the actual cost. A budget is never exceeded by more than one
 * in-flight request's reservation (and not at all when reservations bound the actual
 * cost). rpm/tpm are counted in fixed one-minute windows (UTC minute) stored in the
 * database, so every process sharing the file shares them.
 *
 * Key metadata JSON (all optional):
 *   "alias"          unique name usable instead of the id (not starting with "key-")
 *   "models"         array of allowed model names ("*" = any); absent = any
 *   "budget"         number >= 0: spend allowed per period; absent = unlimited
 *   "budget_period"  "total" (default), "daily", "weekly" (Monday 00:00 UTC), "monthly"
 *   "soft_budget"    number: past it authorize still succeeds but reports an alert
 *   "rpm", "tpm"     integers: requests and tokens per minute; 0/absent = unlimited
 *   "max_parallel"   integer: requests in flight at once; 0/absent = unlimited
 *   "expires_ms"     integer: Unix ms after which the key is refused, or
 *   "expires_in_s"   integer: seconds from now
 *   "owner", "team"  strings; "tags" array of strings; "metadata" free-form object
 *
 * Config section "keys" of mlops_open (all optional):
 *   "retention_days"    integer 0..36500 (default 90): ledger rows older are deleted in
 *                       batches at open and every 1024 recorded rows; 0 keeps all
 *   "reservation_ttl_s" integer 1..86400 (default 600): a reservation never settled
 *                       (the caller died) stops counting after this long
 *   "salt_bytes"        integer 8..64 (default 16): random salt per secret
 *   "prune_batch"       integer (default 1000): rows deleted per retention transaction
 *
 * Errors: MLOPS_EAUTH (unknown, revoked, expired or rotated-out secret, model not
 * allowed), MLOPS_EBUDGET (budget spent: the message says when it resets),
 * MLOPS_ERATELIMIT (rpm, tpm or max_parallel: the message says when to retry). Both
 * messages end with "(retry_after_ms N)"; -1 means waiting will not help.
 *
 * All functions are thread-safe on one handle.
 */
#ifndef MLOPS_KEYS_H
#define MLOPS_KEYS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Creates a virtual key.
 * @param h         the handle.
 * @param meta_json NULL or the key metadata object described at the top of this header.
 * @param out       receives {"id": "key-...", "secret": "mk-...", "key": {description}};
 *                  the secret is shown only here. Release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (bad metadata: the message names the key);
 *         MLOPS_EPARSE; MLOPS_EEXIST (alias taken); MLOPS_ESTORE; MLOPS_EBUSY.
 * Thread-safe.
 */
MLOPS_API int mlops_keys_create(mlops_t *h, const char *meta_json, char **out);

/**
 * Lists keys (never their secrets).
 * @param h           the handle.
 * @param filter_json NULL or {"owner": s, "team": s, "tag": s, "include_revoked": bool}.
 * @param out         receives a JSON array of descriptions: {"id", "alias", "prefix",
 *                    "models", "budget", "budget_period", "soft_budget", "rpm", "tpm",
 *                    "max_parallel", "expires_ms", "owner", "team", "tags", "metadata",
 *                    "created_ms", "revoked_ms", "state" ("active", "expired",
 *                    "revoked"), "spent", "reserved", "in_flight", "period_start_ms",
 *                    "period_resets_ms"}. Release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_keys_list(mlops_t *h, const char *filter_json, char **out);

/**
 * Describes one key (as one element of mlops_keys_list).
 * @param h   the handle.
 * @param key the key id ("key-...") or alias.
 * @param out receives the description JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_keys_get(mlops_t *h, const char *key, char **out);

/**
 * Revokes a key: every secret of it is refused from now on (MLOPS_EAUTH).
 * @param h   the handle.
 * @param key the key id or alias.
 * @return MLOPS_OK (also when already revoked); MLOPS_EINVAL; MLOPS_ENOTFOUND;
 *         MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe.
 */
MLOPS_API int mlops_keys_revoke(mlops_t *h, const char *key);

/**
 * Issues a new secret for a key. The old secrets stop working at once (grace_ms 0)
 * or grace_ms milliseconds from now. Budget, limits and spend stay with the key.
 * @param h        the handle.
 * @param key      the key id or alias.
 * @param grace_ms 0..2592000000 (30 days).
 * @param out      receives {"id": "key-...", "secret": "mk-..."}; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTATE (revoked key);
 *         MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe.
 */
MLOPS_API int mlops_keys_rotate(mlops_t *h, const char *key, int64_t grace_ms, char **out);

/**
 * Checks a secret and reserves a request's maximum cost and tokens against the key's
 * budget and limits (what the gateway does before calling a provider).
 * @param h          the handle.
 * @param secret     the key's secret ("mk-...").
 * @param model      the model the request is for (checked against "models"), or NULL.
 * @param est_cost   the request's maximum cost (>= 0), in the unit of the budget.
 * @param est_tokens the request's maximum tokens (prompt + max output) for tpm.
 * @param out        receives, on success, {"reservation": id, "key_id", "reserved_cost",
 *                   "reserved_tokens", "budget", "spent", "soft_budget_alert": bool};
 *                   on MLOPS_EAUTH/EBUDGET/ERATELIMIT, {"error": "budget"|"budget_in_flight"|"rpm"|"tpm"|
 *                   "max_parallel"|"unknown"|"revoked"|"expired"|"rotated"|"model",
 *                   "status": code, "message": text, "retry_after_ms": N (-1: waiting
 *                   will not help)}; otherwise NULL. Release with mlops_free().
 * @return MLOPS_OK; MLOPS_EAUTH; MLOPS_EBUDGET; MLOPS_ERATELIMIT; MLOPS_EINVAL;
 *         MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe; exact across processes.
 */
MLOPS_API int mlops_keys_authorize(mlops_t *h, const char *secret, const char *model,
                                   double est_cost, int64_t est_tokens, char **out);

/**
 * Settles a reservation with the actual usage and writes the request's ledger row, in
 * one transaction. Call exactly once per successful authorize (or mlops_keys_release).
 * @param h           the handle.
 * @param reservation the id from mlops_keys_authorize.
 * @param usage_json  {"cost": n (required), "tokens_in": n, "tokens_out": n, "model": s,
 *                    "deployment": s, "latency_ms": n, "cache_hit": bool, "guard": s,
 *                    "route": any JSON, "status": s (default "ok"), "request_id": s}.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ENOTFOUND (unknown, already
 *         settled or expired reservation); MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe.
 */
MLOPS_API int mlops_keys_settle(mlops_t *h, int64_t reservation, const char *usage_json);

/**
 * Releases a reservation without spend (the request failed before any usage).
 * @param h           the handle.
 * @param reservation the id from mlops_keys_authorize.
 * @return MLOPS_OK; MLOPS_ENOTFOUND; MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe.
 */
MLOPS_API int mlops_keys_release(mlops_t *h, int64_t reservation);

/**
 * Writes one ledger row for a request made without a key (fields as in
 * mlops_keys_settle's usage_json, plus optional "key_id").
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_spend_record(mlops_t *h, const char *entry_json);

/**
 * Queries the spend ledger.
 * @param h          the handle.
 * @param query_json NULL or {"by": "key"|"model"|"day"|"deployment"|"status"|"total"
 *                   (default "key"), "key": id, "model": s, "since_ms": n, "until_ms": n,
 *                   "top": n (the n largest by cost), "limit": n}.
 * @param out        receives {"by": s, "rows": [{"group", "requests", "tokens_in",
 *                   "tokens_out", "cost", "cache_hits", "errors", "latency_ms_avg"}],
 *                   "total": {same fields}}; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (the message names the field); MLOPS_EPARSE;
 *         MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_spend_query(mlops_t *h, const char *query_json, char **out);

/**
 * Deletes ledger rows older than before_ms (0: older than config keys.retention_days),
 * in batches of config keys.prune_batch rows per transaction.
 * @param h           the handle.
 * @param before_ms   Unix ms, or 0.
 * @param out_deleted receives the number of rows deleted.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe.
 */
MLOPS_API int mlops_spend_prune(mlops_t *h, int64_t before_ms, int64_t *out_deleted);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_KEYS_H */
