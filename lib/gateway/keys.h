/*
 * lib/gateway/keys.h — virtual keys: salted-hash secrets, budgets with reservations,
 * rate limits shared by every process on the store, and their settlement.
 *
 * Internal to lib/ (never exported). The gateway pipeline calls, per request:
 *   mlops__keys_authorize()  before the provider call: checks the key and reserves the
 *                            request's maximum cost and tokens (one BEGIN IMMEDIATE
 *                            transaction, so processes sharing the file agree);
 *   mlops__keys_settle()     after it: releases the reservation and records the actual
 *                            spend (and, with the _record variant, the ledger row);
 *   mlops__keys_release()    on failure before any usage.
 * A budget is never exceeded by more than one in-flight request's reservation, and not
 * at all when reservations are upper bounds of the actual cost.
 */
#ifndef MLOPS_LIB_GATEWAY_KEYS_H
#define MLOPS_LIB_GATEWAY_KEYS_H

#include "../core/core.h"
#include "ledger.h"

/** The schema of the "keys" module: keys, secrets, reservations, windows, ledger. */
extern const mlops__schema mlops__keys_schema;

/** Settings from the config section "keys" (see include/mlops/keys.h). */
typedef struct mlops__keys_opts {
    int64_t retention_days;     /* ledger rows older than this are deleted; 0 keeps all */
    int64_t reservation_ttl_ms; /* a reservation never settled (crashed caller) expires */
    int64_t salt_bytes;         /* random salt per secret, 8..64 */
    int64_t prune_batch;        /* rows deleted per retention batch */
} mlops__keys_opts;

typedef struct mlops__keys mlops__keys;

/** Validates the "keys" config section (NULL = defaults). Errors name the key. */
int mlops__keys_config_check(const json_t *section, const char *path, mlops__keys_opts *out);

int mlops__keys_open(mlops__store *st, mlops__logger *lg, const mlops__keys_opts *opts,
                     mlops__keys **out);
void mlops__keys_close(mlops__keys *k);
mlops__store *mlops__keys_store(mlops__keys *k);

/** Parsed key metadata (create/update input). */
typedef struct mlops__key_meta {
    char *alias;          /* optional unique name */
    json_t *models;       /* array of allowed model names, or NULL for any */
    double budget;        /* < 0: none */
    int period;           /* MLOPS__PERIOD_* */
    double soft_budget;   /* < 0: none */
    int64_t rpm, tpm;     /* 0: unlimited */
    int64_t max_parallel; /* 0: unlimited */
    int64_t expires_ms;   /* 0: never */
    char *owner, *team;
    json_t *tags;         /* array of strings or NULL */
    json_t *extra;        /* free-form "metadata" object or NULL */
} mlops__key_meta;

enum { MLOPS__PERIOD_TOTAL = 0, MLOPS__PERIOD_DAILY, MLOPS__PERIOD_WEEKLY, MLOPS__PERIOD_MONTHLY };

/** Parses metadata JSON {"alias","models","budget","budget_period",...}; errors name the key. */
int mlops__key_meta_parse(const json_t *obj, int64_t now_ms, mlops__key_meta *out);
void mlops__key_meta_free(mlops__key_meta *m);
/** The period name ("total", "daily", ...). */
const char *mlops__key_period_name(int period);
/** Start of the period containing now_ms (UTC; weeks start on Monday); 0 for total. */
int64_t mlops__key_period_start(int period, int64_t now_ms);
/** Start of the next period (INT64_MAX for total). */
int64_t mlops__key_period_next(int period, int64_t now_ms);

/** Secrets: "mk-" + 43 base62 characters (32 random bytes from getrandom). */
#define MLOPS__KEY_SECRET_PREFIX "mk-"
#define MLOPS__KEY_LOOKUP_LEN 11 /* "mk-" + 8 characters: stored in clear for lookup */
int mlops__key_secret_new(char out[64]);
/** SHA-256(salt || secret) into digest[32]. */
int mlops__key_secret_hash(const unsigned char *salt, size_t salt_len, const char *secret,
                           unsigned char digest[32]);
int mlops__key_random(void *buf, size_t len);

/**
 * Creates a key. *secret_out (malloc'd) is the only time the secret exists in clear;
 * *info_out is the key's description (as in list). Either out may be NULL.
 */
int mlops__keys_create(mlops__keys *k, const json_t *meta, char **secret_out,
                       json_t **info_out);
/** Lists keys (never secrets): an array of descriptions. filter: {"owner","team","tag","include_revoked"}. */
int mlops__keys_list(mlops__keys *k, const json_t *filter, json_t **out);
/** One key's description with its current spend, by id or alias. */
int mlops__keys_get(mlops__keys *k, const char *id, json_t **out);
/** Revokes a key (all its secrets stop working at once). */
int mlops__keys_revoke(mlops__keys *k, const char *id);
/**
 * Issues a new secret; old secrets stop working now (grace_ms 0) or after grace_ms.
 */
int mlops__keys_rotate(mlops__keys *k, const char *id, int64_t grace_ms, char **secret_out);

/** A granted reservation: what authorize held, for settle/release. */
typedef struct mlops__key_reservation {
    int64_t id;              /* row id in gateway_reservations; 0 when none */
    char key_id[40];
    double cost;             /* reserved (maximum) cost */
    int64_t tokens;          /* reserved tokens (tpm) */
    int64_t window_start_ms; /* the rate window the tokens were counted in */
    int64_t period_start_ms; /* the budget period the cost counts in */
    double budget;           /* the key's budget (< 0: none) */
    double spent;            /* settled spend in the period before this request */
    bool soft_alert;         /* spent + reserved crossed the soft budget */
    bool any_model;          /* the key has no model allow-list */
} mlops__key_reservation;

/** Details of a refusal, for JSON replies (retry_after_ms -1: not by waiting). */
typedef struct mlops__key_refusal {
    int64_t retry_after_ms;
    const char *reason; /* static: "budget", "rpm", "tpm", "max_parallel", "unknown", ... */
} mlops__key_refusal;

/**
 * Checks `secret` (unknown, revoked, expired, model not allowed -> MLOPS_EAUTH), then in
 * one write transaction: max parallel, rpm/tpm in the current one-minute window
 * (MLOPS_ERATELIMIT), and spent + outstanding reservations + est_cost <= budget
 * (MLOPS_EBUDGET); on success records the reservation. Messages say when to retry;
 * `refusal` (may be NULL) gets the machine-readable part.
 */
int mlops__keys_authorize(mlops__keys *k, const char *secret, const char *model,
                          double est_cost, int64_t est_tokens, mlops__key_reservation *out);
int mlops__keys_authorize_ex(mlops__keys *k, const char *secret, const char *model,
                             double est_cost, int64_t est_tokens, mlops__key_reservation *out,
                             mlops__key_refusal *refusal);
/**
 * Settles a reservation: deletes it, adds actual_cost to the period's spend and
 * corrects the window's token count to tokens_in + tokens_out. `status` is recorded
 * in the ledger row when `entry` is given (settle_record).
 */
int mlops__keys_settle(mlops__keys *k, const mlops__key_reservation *r, double actual_cost,
                       int64_t tokens_in, int64_t tokens_out, const char *status);
/** Settle and write the ledger row in the same transaction (entry->key_id etc. filled). */
int mlops__keys_settle_record(mlops__keys *k, const mlops__key_reservation *r,
                              const mlops__ledger_entry *entry);
/** Releases a reservation without spend (the call failed before any usage). */
int mlops__keys_release(mlops__keys *k, const mlops__key_reservation *r);
/** MLOPS_EAUTH when the key may not use `model` (checked again after routing). */
int mlops__keys_check_model(mlops__keys *k, const char *key_id, const char *model);
/** Looks a reservation up by id (for the public API, which passes ids). */
int mlops__keys_reservation_get(mlops__keys *k, int64_t id, mlops__key_reservation *out);

/** Ledger functions on the keys module's store (see ledger.h). */
int mlops__keys_ledger_record(mlops__keys *k, const mlops__ledger_entry *e);
int mlops__keys_spend_query(mlops__keys *k, const json_t *query, json_t **out);
int mlops__keys_ledger_prune(mlops__keys *k, int64_t before_ms, int64_t *deleted);

#endif
