/* Private to lib/models: the module state and helpers shared by its files. */
#ifndef MLOPS_LIB_MODELS_INTERNAL_H
#define MLOPS_LIB_MODELS_INTERNAL_H

#include "models.h"

#include <stdatomic.h>

#define MM_MAX_ARMS 8
#define MM_METRIC_MAX 64
/* Latency-style quantiles: geometric buckets of ratio MM_HIST_RATIO from MM_HIST_MIN;
 * bucket 0 holds everything <= MM_HIST_MIN (zero and negatives). Relative error of a
 * quantile is at most the bucket width, about 4%. */
#define MM_HIST 320
#define MM_HIST_MIN 1e-4
#define MM_HIST_RATIO 1.08

enum mm_strategy { MM_CANARY = 1, MM_BLUE_GREEN, MM_SHADOW, MM_AB };
enum mm_state { MM_RUNNING = 1, MM_PAUSED, MM_PROMOTED, MM_ROLLED_BACK, MM_ABORTED };

/* Running aggregate of one metric: mergeable across processes. */
typedef struct mm_agg {
    int64_t n;
    double sum, sumsq, min, max;
    uint32_t hist[MM_HIST];
} mm_agg;

/* One (model, alias) as pick sees it, with its active deployment if any. */
typedef struct mm_route {
    char *name;
    char *alias;
    uint64_t hash;
    int64_t version; /* the alias holder; 0 when none */
    int64_t dep_id;  /* 0 when no running or paused deployment */
    int strategy;
    int state;
    int64_t baseline, candidate, phase;
    double weight; /* canary: percent of traffic to the candidate */
    double sample; /* shadow: percent of requests copied */
    uint64_t seed; /* from the deployment's salt */
    int narms;
    int64_t arm_version[MM_MAX_ARMS];
    double arm_cum[MM_MAX_ARMS]; /* cumulative weights, percent */
} mm_route;

typedef struct mm_snapshot {
    mm_route *routes;
    size_t nroutes;
    uint32_t *table; /* open addressing: route index + 1; 0 = empty */
    size_t mask;
    size_t *active; /* indices of routes with a deployment */
    size_t nactive;
} mm_snapshot;

/* Observations not yet written: one aggregate per (deployment, phase, version, metric). */
typedef struct mm_delta {
    int64_t dep_id, phase, version;
    char metric[MM_METRIC_MAX];
    mm_agg agg;
} mm_delta;

struct mlops__models {
    mlops__store *store;
    mlops__logger *logger;
    uint64_t refresh_ns;
    int64_t flush_every;
    int64_t max_artifact_bytes;

    mlops__rwlock snap_lock; /* guards snap */
    mm_snapshot *snap;
    mlops__mutex refresh_lock;   /* one reloader at a time */
    _Atomic uint64_t last_check; /* monotonic ns of the last change-counter check; 0 = now */
    _Atomic uint64_t seen_counter;
    _Atomic uint64_t rr; /* requests without a user key */

    mlops__mutex obs_lock; /* guards deltas */
    mm_delta *deltas;
    size_t ndeltas, capdeltas;
    int64_t pending;
};

/* Strategy and state names. */
const char *mm_strategy_name(int s);
int mm_strategy_parse(const char *s);
const char *mm_state_name(int s);
int mm_state_parse(const char *s);

/* Parses "name", "name:N" or "name@alias" into name (malloc'd), version, alias. */
int mm_ref_parse(const char *ref, char **name, int64_t *version, char **alias);
/* Checks an alias name; `target` refuses the reserved "latest". */
int mm_alias_check(const char *alias, bool target);
/* Checks a metric/tag/param key segment: [A-Za-z0-9_-], 1..63 bytes. */
bool mm_key_ok(const char *s, size_t n);

/* Lock held: the model's id, or MLOPS_ENOTFOUND naming it. */
int mm_model_id(mlops__models *m, const char *name, int64_t *id);
/* Lock held: MLOPS_ESTATE when a deployment is running or paused on the alias (whose
 * moves then belong to the deployment), else MLOPS_OK. */
int mm_alias_free(mlops__models *m, int64_t model_id, const char *name, const char *alias);
/* Lock held: checks that the version exists. */
int mm_version_exists(mlops__models *m, int64_t model_id, const char *name, int64_t version);
/* Lock held: the alias holder (0 when none). */
int mm_alias_get(mlops__models *m, int64_t model_id, const char *alias, int64_t *version);
/* In a transaction: points the alias at version (0 removes it). */
int mm_alias_set(mlops__models *m, int64_t model_id, const char *alias, int64_t version);
/* Lock held: a version's metrics object (new reference) or NULL if missing. */
int mm_version_metrics(mlops__models *m, int64_t model_id, int64_t version, json_t **out);
/* Looks a dotted metric name up in a metrics object; false when missing/not a number. */
bool mm_metric_lookup(const json_t *metrics, const char *name, double *out);

/* In a transaction: appends one audit record (detail may be NULL; not stolen). */
int mm_audit(mlops__models *m, const char *model, const char *action, int64_t version,
             const char *alias, bool forced, const char *reason, const json_t *detail);

/* Lock held: evaluates the gate for moving `alias` to `version`. */
int mm_gate_evaluate(mlops__models *m, int64_t model_id, const char *name, int64_t version,
                     const char *alias, json_t **decision, bool *passed);

/* Artifact hashing: local URIs only; "sha256:<hex>" and the size. */
bool mm_uri_local_path(const char *uri, char **path);
int mm_hash_file(const char *path, int64_t max_bytes, char **hash, int64_t *size);

/* Makes the in-memory routes current when they may be stale (cheap when not). */
int mm_refresh(mlops__models *m);
/* Reads a deployment spec's route fields (weight, arms, sample) into r. */
void mm_route_from_spec(mm_route *r, const json_t *spec, int64_t step);
/* Forces the next pick to re-check the store (after this handle wrote). */
void mm_invalidate(mlops__models *m);
void mm_snapshot_free(mm_snapshot *s);

/* Aggregates. */
void mm_agg_init(mm_agg *a);
void mm_agg_add(mm_agg *a, double v);
void mm_agg_merge(mm_agg *into, const mm_agg *from);
/* A statistic: mean, min, max, sum, count, stddev, p50, p90, p95, p99; NAN if unknown. */
double mm_agg_stat(const mm_agg *a, const char *stat);
bool mm_stat_known(const char *stat);
json_t *mm_agg_json(const mm_agg *a);

/* Observations: loads the stored aggregate of one key (lock held). */
int mm_obs_load(mlops__models *m, int64_t dep_id, int64_t phase, int64_t version,
                const char *metric, mm_agg *out);
/* Deployment evaluation after a flush (in a transaction). */
int mm_deploy_evaluate(mlops__models *m, int64_t dep_id);

#endif
