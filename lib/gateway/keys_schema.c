/*
 * The "keys" module's tables. Migration steps are append-only once committed.
 *
 * gateway_keys           one row per virtual key (metadata, limits; never a secret)
 * gateway_key_secrets    salted SHA-256 of each secret; `lookup` is the secret's first
 *                        11 characters (public: shown by list, used as an index)
 * gateway_key_spend      settled spend per key and budget period
 * gateway_reservations   in-flight requests' reserved maximum cost and tokens
 * gateway_key_windows    fixed one-minute rate windows (requests, tokens) per key
 * gateway_ledger         one row per request
 */
#include "keys.h"

static const mlops__migration keys_migrations[] = {
    {1,
     "CREATE TABLE gateway_keys("
     " id TEXT PRIMARY KEY,"
     " alias TEXT UNIQUE,"
     " models TEXT,"
     " budget REAL,"
     " budget_period TEXT NOT NULL DEFAULT 'total',"
     " soft_budget REAL,"
     " rpm INTEGER NOT NULL DEFAULT 0,"
     " tpm INTEGER NOT NULL DEFAULT 0,"
     " max_parallel INTEGER NOT NULL DEFAULT 0,"
     " expires_ms INTEGER NOT NULL DEFAULT 0,"
     " owner TEXT, team TEXT, tags TEXT, metadata TEXT,"
     " created_ms INTEGER NOT NULL,"
     " revoked_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE gateway_key_secrets("
     " id INTEGER PRIMARY KEY,"
     " key_id TEXT NOT NULL REFERENCES gateway_keys(id) ON DELETE CASCADE,"
     " lookup TEXT NOT NULL,"
     " salt BLOB NOT NULL,"
     " hash BLOB NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " expires_ms INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX gateway_key_secrets_lookup ON gateway_key_secrets(lookup);"
     "CREATE TABLE gateway_key_spend("
     " key_id TEXT NOT NULL REFERENCES gateway_keys(id) ON DELETE CASCADE,"
     " period_start INTEGER NOT NULL,"
     " spent REAL NOT NULL DEFAULT 0,"
     " requests INTEGER NOT NULL DEFAULT 0,"
     " PRIMARY KEY(key_id, period_start));"
     "CREATE TABLE gateway_reservations("
     " id INTEGER PRIMARY KEY,"
     " key_id TEXT NOT NULL REFERENCES gateway_keys(id) ON DELETE CASCADE,"
     " period_start INTEGER NOT NULL,"
     " window_start INTEGER NOT NULL,"
     " cost REAL NOT NULL,"
     " tokens INTEGER NOT NULL,"
     " created_ms INTEGER NOT NULL,"
     " expires_ms INTEGER NOT NULL);"
     "CREATE INDEX gateway_reservations_key ON gateway_reservations(key_id, period_start);"
     "CREATE TABLE gateway_key_windows("
     " key_id TEXT NOT NULL REFERENCES gateway_keys(id) ON DELETE CASCADE,"
     " window_start INTEGER NOT NULL,"
     " requests INTEGER NOT NULL DEFAULT 0,"
     " tokens INTEGER NOT NULL DEFAULT 0,"
     " PRIMARY KEY(key_id, window_start));"
     "CREATE TABLE gateway_ledger("
     " id INTEGER PRIMARY KEY,"
     " ts_ms INTEGER NOT NULL,"
     " request_id TEXT, key_id TEXT, model TEXT, deployment TEXT,"
     " tokens_in INTEGER NOT NULL DEFAULT 0,"
     " tokens_out INTEGER NOT NULL DEFAULT 0,"
     " cost REAL NOT NULL DEFAULT 0,"
     " latency_ms REAL NOT NULL DEFAULT 0,"
     " cache_hit INTEGER NOT NULL DEFAULT 0,"
     " guard TEXT, route TEXT, status TEXT NOT NULL DEFAULT 'ok');"
     "CREATE INDEX gateway_ledger_ts ON gateway_ledger(ts_ms);"
     "CREATE INDEX gateway_ledger_key ON gateway_ledger(key_id, ts_ms);"},
};

const mlops__schema mlops__keys_schema = {"keys", keys_migrations,
                                          MLOPS__ARRAY_LEN(keys_migrations)};
