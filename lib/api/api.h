/*
 * lib/api — the public facade. This header is the face of lib/api to the rest of
 * lib/: the handle's layout and the module table. Public functions (mlops_*) live in
 * lib/api/<module>.c: they check arguments, turn JSON into calls on the module, and
 * set the error text.
 */
#ifndef MLOPS_LIB_API_H
#define MLOPS_LIB_API_H

#include "../core/core.h"

struct mlops__gateway;
struct mlops__keys;

/*
 * One entry per module. The table in modules.c decides the order of configuration
 * checks, opening (in order) and closing (in reverse).
 */
struct mlops__models;
struct mlops__cache;
struct mlops__guard;

typedef struct mlops__module {
    /* The module's name: its key in the config JSON and in mlops_schema. */
    const char *name;
    /* Its migrations, or NULL when it stores nothing. */
    const mlops__schema *schema;
    /* Checks the module's config section (NULL when absent) before the store opens. */
    int (*check_config)(const json_t *section);
    /* Builds the module's state on an open store; NULL when nothing to build. */
    int (*open)(mlops_t *h, const json_t *section);
    /* Releases what open built; called in reverse order, also after a failed open. */
    void (*close)(mlops_t *h);
} mlops__module;

struct mlops__prompts;
struct mlops__engine;

struct mlops {
    mlops__store *store;
    mlops__logger logger;
    json_t *config; /* the validated config object (never NULL) */
    int threads;
    mlops__mutex pool_lock;
    mlops__pool *pool; /* created on first use: see mlops__api_pool */
    /* Module states: one pointer per module, owned by that module's open/close. */
    struct mlops__prompts *prompts;
    struct mlops__models *models;
    struct mlops__engine *engine;
    struct mlops__gateway *gateway;
    struct mlops__cache *cache;
    struct mlops__guard *guard;
    struct mlops__keys *keys;
};

/** The module table, in opening order. */
extern const mlops__module *const mlops__modules[];
extern const size_t mlops__modules_count;

/** The handle's worker pool, created on first use (sized by config "threads"). */
int mlops__api_pool(mlops_t *h, mlops__pool **out);

/**
 * Argument-check helpers for public functions: each returns MLOPS_EINVAL with a
 * message naming the function and the argument.
 */
int mlops__api_check_handle(const mlops_t *h, const char *fn);
int mlops__api_check_arg(const void *arg, const char *fn, const char *name);
/** Checks the handle, then `a` and `b` in that order (a NULL name skips its pointer). */
int mlops__api_check_args(const mlops_t *h, const char *fn, const void *a, const char *a_name,
                          const void *b, const char *b_name);
/**
 * The common shape "one input, then char **out": checks the handle, `arg` (skipped when
 * arg_name is NULL) and `out` (named "out"), then clears *out so that it is NULL on
 * every later failure.
 */
int mlops__api_check_out(const mlops_t *h, const char *fn, const void *arg,
                         const char *arg_name, char **out);

#endif /* MLOPS_LIB_API_H */
