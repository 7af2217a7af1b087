/*
 * Private to lib/prompts: the module state, the cache and the store queries shared by
 * prompts_*.c and prompt_*.c.
 */
#ifndef MLOPS_LIB_PROMPTS_REGISTRY_H
#define MLOPS_LIB_PROMPTS_REGISTRY_H

#include "prompts.h"

/** One arm of a weighted split. */
typedef struct split_arm {
    int64_t version;
    int weight;
} split_arm;

/** Where a label points: one version, or a split (narms > 0). */
typedef struct label_target {
    int64_t version;
    split_arm *arms;
    size_t narms;
} label_target;

#define SPLIT_MAX_ARMS 16

typedef struct centry centry;

struct mlops__prompts {
    mlops__store *st;
    mlops__logger *lg;
    int cache_on; /* atomic */
    size_t max_render;
    size_t cache_max;
    mlops__rwlock lock; /* guards everything below */
    uint64_t counter;   /* store change counter at which the label entries are known valid */
    int64_t gen;        /* prompt_generation value the label entries were read at */
    uint64_t hits, revalidations, misses; /* atomic; for tests and diagnostics */
    centry **buckets;
    size_t nbuckets;
    size_t count;
};

/* prompts_cache.c (see there for the rules) */
int mlops__prompts_cache_init(mlops__prompts *p);
void mlops__prompts_cache_clear(mlops__prompts *p, bool labels_only);
/** Cache lookup results. */
#define CACHE_HIT 0
#define CACHE_MISS 1  /* not cached */
#define CACHE_STALE 2 /* the counter moved since the label entries were read */
int mlops__prompts_cache_get(mlops__prompts *p, uint64_t counter, const mlops__prompt_ref *ref,
                             const char *key, mlops__prompt_version **out,
                             mlops__prompt_served *served);
/** After CACHE_STALE: if the prompt generation is still `gen`, the entries hold at `counter`. */
bool mlops__prompts_cache_revalidate(mlops__prompts *p, uint64_t counter, int64_t gen);
mlops__prompt_version *mlops__prompts_cache_version(mlops__prompts *p, const char *name,
                                                    int64_t version);
void mlops__prompts_cache_put(mlops__prompts *p, uint64_t counter, int64_t gen,
                              const mlops__prompt_ref *ref, const label_target *target,
                              const char *label, mlops__prompt_version **v);

/* prompt_version.c */
int mlops__prompt_version_build(const char *name, int64_t version, int type, const char *text,
                                const char *config, const char *message, const char *tags,
                                const char *created_by, int64_t created_ms, const char *hash,
                                mlops__prompt_version **out);

/* prompt_split.c */
/** Parses {"split": [...]} or [...] into arms; weights are integers 1..100 summing to 100. */
int mlops__prompt_split_parse(const json_t *split, label_target *out);
/** Canonical text of a target: "3" or {"split":[{"version":V,"weight":W},...]}. */
char *mlops__prompt_target_text(const label_target *t);
/** Parses what mlops__prompt_target_text wrote (version column or split column). */
int mlops__prompt_target_from_row(int64_t version, const char *split, label_target *out);
/** Picks a version: sticky by key (xxh3 seeded by name@label), else random by weight. */
int64_t mlops__prompt_split_pick(const label_target *t, const char *name, const char *label,
                                 const char *key);
void mlops__prompt_target_clear(label_target *t);
/** The target as JSON (integer or {"split": [...]}); new reference. */
json_t *mlops__prompt_target_json(const char *text);

/* prompt_store.c: all with the store lock held (or inside a transaction). */
int mlops__prompt_db_id(mlops__store *st, const char *name, int64_t *id);
/** The prompt generation (bumped by triggers on every version or label change). */
int mlops__prompt_db_generation(mlops__store *st, int64_t *gen);
int mlops__prompt_db_latest(mlops__store *st, int64_t prompt_id, int64_t *version,
                            char hash[33]);
/** *found false when the label is not set. */
int mlops__prompt_db_label(mlops__store *st, int64_t prompt_id, const char *label,
                           label_target *out, bool *found);
/** Loads a version row (the name is given); MLOPS_ENOTFOUND naming name:version. */
int mlops__prompt_db_version_row(mlops__store *st, int64_t prompt_id, const char *name,
                                 int64_t version, int *type, char **text, char **config,
                                 char **message, char **tags, char **created_by,
                                 int64_t *created_ms, char hash[33]);
/** Inside a transaction: inserts a version unless its hash equals the latest's. */
int mlops__prompt_db_push(mlops__store *st, const char *name, int type, const char *canonical,
                          const char *config, const char *message, const char *tags,
                          const char *actor, int64_t *out_version, bool *out_created);
/** Inside a transaction: moves a label (target NULL deletes), recording history. */
int mlops__prompt_db_move_label(mlops__store *st, const char *name, const char *label,
                                const label_target *target, const char *actor,
                                const char *reason, bool *out_changed);

#endif
