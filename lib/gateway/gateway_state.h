/* The gateway module's state (private to lib/gateway). */
#ifndef MLOPS_GW_STATE_H
#define MLOPS_GW_STATE_H

#include "balance.h"
#include "config.h"
#include "http.h"

typedef struct mlops__gateway {
    mlops_t *h;
    mlops__logger *logger;
    mlops__http *http;
    /* the current snapshot: read (and retained) under the read lock, swapped under the
     * write lock; requests then use it under their own reference */
    mlops__rwlock cfg_lock;
    mlops__gw_config *cfg;
    uint64_t generation;
    /* deployment states by key, kept across reloads until close */
    mlops__mutex states_lock;
    mlops__gw_dep_state *states;
    /* local provider model holders (provider_local.c), shared across snapshots */
    mlops__mutex locals_lock;
    struct mlops__gw_local *locals;
    /* the modules the gateway composes (set by lib/api after open; may be NULL) */
    struct mlops__prompts *prompts;
    struct mlops__models *models;
    /* guardrails and cache of the same handle (guard and cache stages; may be NULL) */
    struct mlops__guard *guard;
    struct mlops__cache *cache;
    /* virtual keys and the ledger (lib/gateway/keys.h), attached by the keys module */
    struct mlops__keys *keys;
} mlops__gateway;

/** The state for `key`, created on first use; NULL when out of memory. */
mlops__gw_dep_state *mlops__gw_state_get(mlops__gateway *gw, const char *key);

/** The current snapshot with a reference taken (NULL when none); release it. */
mlops__gw_config *mlops__gw_current(mlops__gateway *gw);

#endif
