/*
 * lib/prompts — the prompt registry's face to the rest of lib/.
 *
 * Prompts are named, versioned, immutable templates (type "text" or "chat") with labels
 * that point at a version or at a weighted split of versions. This header gives:
 *  - the reference grammar (`name`, `name@label`, `name:version`) shared by the C API,
 *    the CLI and every module that names a prompt;
 *  - the template compiler and renderer (tpl_*.c), usable without a store;
 *  - the registry on a store with its never-stale read-through cache, and the one call
 *    later modules (gateway, semantic cache) use: mlops__prompts_render().
 */
#ifndef MLOPS_LIB_PROMPTS_H
#define MLOPS_LIB_PROMPTS_H

#include "../core/core.h"

/* ---------------------------------------------------------------- limits ---- */

/** Largest template (text, or a chat template's JSON) accepted: 10 MiB. */
#define MLOPS__PROMPT_MAX_TEMPLATE (10u * 1024u * 1024u)
/** Deepest nesting of {{#section}} / {{^section}} blocks in one template. */
#define MLOPS__PROMPT_MAX_NESTING 64
/** Deepest chain of {{> include}} while rendering. */
#define MLOPS__PROMPT_MAX_INCLUDE_DEPTH 8
/** Default bound on a rendered result (config prompts.max_render_bytes). */
#define MLOPS__PROMPT_DEFAULT_MAX_RENDER (16u * 1024u * 1024u)
/** Longest variable name (dotted path) inside a tag. */
#define MLOPS__PROMPT_MAX_VAR 128

/* ---------------------------------------------------------------- references */

enum mlops__prompt_ref_kind {
    MLOPS__REF_DEFAULT = 0, /* `name`: label production if set, else latest */
    MLOPS__REF_LABEL,       /* `name@label` (label may be "latest") */
    MLOPS__REF_VERSION      /* `name:version` */
};

typedef struct mlops__prompt_ref {
    enum mlops__prompt_ref_kind kind;
    char name[MLOPS__NAME_MAX + 1];
    char label[MLOPS__NAME_MAX + 1]; /* "" unless kind == MLOPS__REF_LABEL */
    int64_t version;                 /* 0 unless kind == MLOPS__REF_VERSION */
} mlops__prompt_ref;

/**
 * Parses a reference of `n` bytes. Errors (MLOPS_EINVAL) name the reference and say
 * what is wrong ("prompt reference 'a@7': label '7' looks like a version; use a:7").
 */
int mlops__prompt_ref_parse(const char *text, size_t n, mlops__prompt_ref *out);

/**
 * Prompt names: mlops__name_check's rule (1..128 bytes of A-Za-z0-9._-/ starting with
 * a letter or digit) plus, because names become directories on export, no empty, "."
 * or ".." path segment and no trailing '/'.
 */
int mlops__prompt_name_check(const char *name);

/**
 * Labels: 1..128 bytes of A-Za-z0-9._- starting with a letter or digit, not all digits
 * and not 'v' followed by digits (those read as versions). With `for_write`, "latest"
 * (maintained automatically) is refused too.
 */
int mlops__prompt_label_check(const char *label, bool for_write);

/* ---------------------------------------------------------------- templates - */

/** A compiled template (text type): immutable once built, shareable across threads. */
typedef struct mlops__tpl mlops__tpl;

/**
 * Compiles `n` bytes of template text. `what` names the template in errors
 * ("prompt 'greet' version 3"). Syntax errors are MLOPS_EPARSE "<what>: line L column C:
 * <why>"; nesting deeper than MLOPS__PROMPT_MAX_NESTING and text over the size limit are
 * MLOPS_ELIMIT. Never recurses on input structure.
 */
int mlops__tpl_compile(const char *text, size_t n, const char *what, mlops__tpl **out);
void mlops__tpl_free(mlops__tpl *t);

/**
 * Adds the template's variables to `vars` (a JSON array of objects {"name", "kind":
 * "variable"|"section"|"inverted"|"include", "required": bool, "default"?, "line",
 * "column"}); names already listed (same name and kind) are skipped.
 */
int mlops__tpl_variables(const mlops__tpl *t, json_t *vars);

/** Whether the template has {{> include}} tags. */
bool mlops__tpl_has_includes(const mlops__tpl *t);

/** Adds the first segment of every name the template looks up to `names` (object used as a set). */
void mlops__tpl_names(const mlops__tpl *t, json_t *names);

/**
 * If the whole template is one variable tag (`{{history}}`, whitespace around it
 * allowed), returns its name and whether it has a default; else NULL.
 */
const char *mlops__tpl_single_var(const mlops__tpl *t, bool *has_default);

/** Resolves an include reference while rendering; see mlops__tpl_render. */
typedef struct mlops__tpl_includer {
    /* Finds the compiled template for `ref` (n bytes); *out_id identifies it for cycle
     * detection ("name:version"), *out_hold is passed back to release. */
    int (*resolve)(void *user, const char *ref, size_t n, const mlops__tpl **out_tpl,
                   char **out_id, void **out_hold);
    void (*release)(void *user, void *hold);
    void *user;
} mlops__tpl_includer;

typedef struct mlops__tpl_render_opts {
    bool strict;           /* a missing variable is an error (default rendering) */
    size_t max_bytes;      /* bound on the output; 0 = MLOPS__PROMPT_DEFAULT_MAX_RENDER */
    const char *id;        /* the top template's id for messages and cycles ("a:3") */
    const mlops__tpl_includer *includer; /* NULL: includes are an error */
    json_t *names;         /* if not NULL, collects names looked up (for "unused") */
} mlops__tpl_render_opts;

/**
 * Renders `t` with `vars` (a JSON object, or NULL for none) appending to `out`.
 * Missing variable (strict): MLOPS_EINVAL naming it with line and column; include
 * cycles: MLOPS_EINVAL naming the chain; too deep: MLOPS_ELIMIT; output over the bound:
 * MLOPS_ELIMIT. Thread-safe on a shared template.
 */
int mlops__tpl_render(const mlops__tpl *t, const json_t *vars, const mlops__tpl_render_opts *o,
                      mlops__buf *out);

/* ---------------------------------------------------------------- versions -- */

#define MLOPS__PROMPT_TEXT 0
#define MLOPS__PROMPT_CHAT 1

/** One message of a compiled chat template. */
typedef struct mlops__chat_msg {
    char *role;
    char *extra;          /* other keys as compact JSON members without braces, or NULL */
    mlops__tpl *content;  /* compiled content */
    const char *placeholder; /* role "placeholder": the variable holding the history */
    bool optional;        /* placeholder with a default: may be missing */
} mlops__chat_msg;

/**
 * One immutable prompt version, compiled. Shared by the cache and its readers through
 * a reference count: take with mlops__prompt_version_ref, drop with _unref.
 */
typedef struct mlops__prompt_version {
    int refs; /* atomic */
    char *name;
    int64_t version;
    int type;               /* MLOPS__PROMPT_TEXT or _CHAT */
    char *template_text;    /* as stored: text, or the chat messages' compact JSON */
    char *config;           /* compact JSON object text */
    char *message;
    char *tags;             /* compact JSON object text */
    char *created_by;       /* may be NULL */
    int64_t created_ms;
    char hash[33];          /* xxh3-128 of type, template and config */
    char *id;               /* "name:version" */
    mlops__tpl *tpl;        /* text prompts */
    mlops__chat_msg *msgs;  /* chat prompts */
    size_t nmsgs;
    char *base_json;        /* the get JSON without the resolution fields */
    json_t *names;          /* set of the names the template looks up (read-only once built) */
    bool has_includes;      /* some template of this version has {{> ...}} */
} mlops__prompt_version;

void mlops__prompt_version_ref(mlops__prompt_version *v);
void mlops__prompt_version_unref(mlops__prompt_version *v);

/**
 * Validates and normalises template content for `type`: text must compile; chat must be
 * a JSON array of {role, content} objects whose contents compile, a "placeholder" role's
 * content being a single {{variable}}. *out_canonical receives the stored form.
 */
int mlops__prompt_normalise(int type, const char *text, const char *what, char **out_canonical);

/** Content hash used to detect identical pushes (type, template and canonical config). */
void mlops__prompt_content_hash(int type, const char *canonical, const char *config, char hex[33]);

/* ---------------------------------------------------------------- registry -- */

/** The module state, one per handle (h->prompts). */
typedef struct mlops__prompts mlops__prompts;

typedef struct mlops__prompts_opts {
    bool cache;              /* the read-through cache (default true) */
    size_t max_render_bytes; /* bound on one render's output */
    size_t cache_max;        /* entries kept before the cache is cleared */
} mlops__prompts_opts;

int mlops__prompts_create(mlops__store *st, mlops__logger *lg, const mlops__prompts_opts *o,
                          mlops__prompts **out);
void mlops__prompts_destroy(mlops__prompts *p);
/** Turns the cache on or off at run time (benchmarks and tests). */
void mlops__prompts_set_cache(mlops__prompts *p, bool on);
/** Cache counters: served from memory, revalidated after a foreign write, read from the store. */
void mlops__prompts_cache_stats(mlops__prompts *p, uint64_t *hits, uint64_t *revalidations,
                                uint64_t *misses);

/** What a push carries besides the template. */
typedef struct mlops__prompt_push_opts {
    int type;               /* MLOPS__PROMPT_TEXT or _CHAT */
    const char *message;    /* may be NULL */
    const json_t *tags;     /* object of string values, or NULL */
    const json_t *config;   /* object, or NULL */
    const char *actor;      /* may be NULL */
} mlops__prompt_push_opts;

/**
 * Pushes a version (one BEGIN IMMEDIATE transaction: read the latest, compare content,
 * insert max+1). *out_created is false when the content equals the latest version's,
 * whose number is returned.
 */
int mlops__prompts_push(mlops__prompts *p, const char *name, const char *template_text,
                        const mlops__prompt_push_opts *o, int64_t *out_version,
                        bool *out_created);

/** How a reference was resolved. */
typedef struct mlops__prompt_served {
    char label[MLOPS__NAME_MAX + 1]; /* "" for name:version */
    bool split;                      /* the label is a weighted split */
} mlops__prompt_served;

/**
 * Resolves a reference to a compiled version (a new reference the caller drops with
 * mlops__prompt_version_unref). `key` (may be NULL) picks stickily in a split label;
 * without it the pick is random by weight. Unknown name/label/version: MLOPS_ENOTFOUND
 * naming the reference. Served through the cache when it is on and nothing changed.
 */
int mlops__prompts_resolve(mlops__prompts *p, const char *ref, const char *key,
                           mlops__prompt_version **out, mlops__prompt_served *served);

/** A rendered prompt, for the gateway and the semantic cache. */
typedef struct mlops__prompt_rendered {
    char *name;
    int64_t version;
    mlops__prompt_served served;
    int type;
    char *text;        /* text prompts: the rendered text */
    char *messages;    /* chat prompts: compact JSON array of messages */
    char *config;      /* compact JSON object text (model parameters...) */
    char *unused;      /* compact JSON array of the variables nobody used */
} mlops__prompt_rendered;

/**
 * Resolves `ref` and renders it with `vars` (object or NULL). `strict` makes a missing
 * variable an error. Includes resolve through the registry with the same key.
 */
int mlops__prompts_render(mlops__prompts *p, const char *ref, const json_t *vars,
                          const char *key, bool strict, mlops__prompt_rendered *out);
void mlops__prompt_rendered_free(mlops__prompt_rendered *r);

/** The render result as the public JSON ({"name", "version", ..., "text"|"messages"}). */
int mlops__prompt_rendered_json(const mlops__prompt_rendered *r, char **out);

/** The public get JSON for a resolved version. */
int mlops__prompt_get_json(const mlops__prompt_version *v, const mlops__prompt_served *s,
                           char **out);

/** Variables JSON {"name", "version", "variables": [...]} of a reference (includes not followed). */
int mlops__prompts_variables(mlops__prompts *p, const char *ref, char **out);

/** Label moves (history rows carry actor and reason; both may be NULL). */
int mlops__prompts_label_set(mlops__prompts *p, const char *name, int64_t version,
                             const char *label, const char *actor, const char *reason);
/** `split` is {"split": [{"version": V, "weight": W}, ...]} or the bare array. */
int mlops__prompts_label_split(mlops__prompts *p, const char *name, const char *label,
                               const json_t *split, const char *actor, const char *reason);
int mlops__prompts_label_delete(mlops__prompts *p, const char *name, const char *label,
                                const char *actor, const char *reason);

/** filter: {"prefix", "tag" ("k" or "k=v"), "label"} all optional. */
int mlops__prompts_list(mlops__prompts *p, const json_t *filter, char **out);
int mlops__prompts_history(mlops__prompts *p, const char *name, char **out);
int mlops__prompts_diff(mlops__prompts *p, const char *name, int64_t v1, int64_t v2, char **out);
int mlops__prompts_export(mlops__prompts *p, const char *dir, const char *name);
int mlops__prompts_import(mlops__prompts *p, const char *dir, const char *actor, char **out);

/** Unified-style line diff of two texts (LCS); labels head the output. */
int mlops__prompt_line_diff(const char *a, const char *b, const char *label_a,
                            const char *label_b, char **out);

/* ---------------------------------------------------------------- helpers --- */

/** Appends `s` (n bytes) as a JSON string literal with quotes. */
void mlops__prompt_json_str(mlops__buf *b, const char *s, size_t n);

#endif /* MLOPS_LIB_PROMPTS_H */
