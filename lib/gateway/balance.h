/*
 * Deployment runtime state shared by all threads (in-flight counts, latency EWMA,
 * per-minute usage, the circuit breaker) and the balancing strategies that read it.
 * The in-flight count is an atomic; everything else sits behind a per-deployment
 * mutex held for a few instructions, never across I/O.
 */
#ifndef MLOPS_GW_BALANCE_H
#define MLOPS_GW_BALANCE_H

#include "config.h"

/** Circuit breaker states (Nygard, "Release It!", Circuit Breaker pattern). */
enum mlops__gw_breaker { MLOPS__GW_CLOSED = 0, MLOPS__GW_OPEN, MLOPS__GW_HALF_OPEN };

typedef struct mlops__gw_dep_state {
    char *key; /* "<model>/<deployment id>" */
    struct mlops__gw_dep_state *next;
    atomic_int in_flight;
    mlops__mutex lock;
    /* latency */
    double ewma_ms;
    uint64_t samples;
    /* usage in the current minute */
    uint64_t minute_start_ns;
    int64_t minute_requests, minute_tokens;
    /* breaker */
    enum mlops__gw_breaker breaker;
    uint64_t window_start_ns;
    int64_t window_fails;
    uint64_t open_until_ns;
    bool probe_taken;
    int last_status;
    char last_error[160];
    /* totals */
    uint64_t requests, successes, failures, cooldowns;
} mlops__gw_dep_state;

/** Why no deployment could be chosen. */
typedef struct mlops__gw_pick_why {
    int cooling, too_small, limited, busy, excluded;
    bool rate_limited; /* a cooldown came from a 429 */
} mlops__gw_pick_why;

/** A slot taken on a deployment: must be given back with mlops__gw_release. */
typedef struct mlops__gw_slot {
    mlops__gw_deployment *dep;
    bool probe; /* this attempt is the half-open probe */
} mlops__gw_slot;

mlops__gw_dep_state *mlops__gw_state_new(const char *key);
void mlops__gw_state_free(mlops__gw_dep_state *s);

/**
 * Chooses a deployment of `m` by the router's strategy among those passing the
 * pre-call checks (not cooling down or a half-open probe is free, context window
 * fits `est_tokens`, rpm/tpm headroom, in-flight below max_parallel) and not in
 * `excluded` (a bit per deployment index; ignored when it would leave none).
 * Takes an in-flight slot on it. Returns false (with reasons) when none qualifies.
 */
bool mlops__gw_pick(const mlops__gw_router *r, const mlops__gw_model *m, int64_t est_tokens,
                    uint64_t excluded, mlops__gw_slot *out, mlops__gw_pick_why *why);

/** How an attempt ended, for the deployment's state. */
typedef struct mlops__gw_outcome {
    bool ok;
    bool counts_as_failure; /* 5xx, timeouts, connection failures (not the caller's 4xx) */
    bool rate_limited;      /* 429: cool down at once */
    int status;
    double latency_ms;
    int64_t tokens;
    int64_t cooldown_ms;    /* for a 429 with Retry-After: at least this long */
    const char *error;
} mlops__gw_outcome;

/** Gives the slot back and records the outcome (EWMA, usage, breaker). */
void mlops__gw_release(const mlops__gw_router *r, mlops__gw_slot *slot,
                       const mlops__gw_outcome *o);

/** Appends the deployment's state as JSON fields to `obj`. */
void mlops__gw_state_describe(mlops__gw_dep_state *s, json_t *obj);

/** The last status and error of a deployment; true when its breaker is not closed. */
bool mlops__gw_state_last_failure(mlops__gw_dep_state *s, int *status, char *msg, size_t cap);

/** A thread-local xorshift generator in [0, 1) (for weighted choice and jitter). */
double mlops__gw_random(void);

#endif
