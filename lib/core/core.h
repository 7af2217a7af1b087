/*
 * lib/core — the face of the core module to the rest of lib/.
 *
 * Everything here is internal (hidden visibility, never exported). Names follow
 * mlops__<area>_<verb>. Modules include only this header from core.
 */
#ifndef MLOPS_LIB_CORE_H
#define MLOPS_LIB_CORE_H

#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mlops/core.h"

#if defined(__GNUC__) || defined(__clang__)
#  define MLOPS__PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#  define MLOPS__UNUSED __attribute__((unused))
#else
#  define MLOPS__PRINTF(fmt, args)
#  define MLOPS__UNUSED
#endif

#define MLOPS__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* ---------------------------------------------------------------- errors ---- */

/**
 * Records the calling thread's error detail and returns `code`, so that a failure
 * is one line: `return mlops__error(MLOPS_EINVAL, "name: must not be empty");`.
 */
int mlops__error(int code, const char *fmt, ...) MLOPS__PRINTF(2, 3);
int mlops__verror(int code, const char *fmt, va_list ap);

/** Prefixes the calling thread's current error detail with "context: ". */
int mlops__error_wrap(int code, const char *fmt, ...) MLOPS__PRINTF(2, 3);

/** The calling thread's error detail ("" when none). */
const char *mlops__error_text(void);

/** Shorthand for MLOPS_ENOMEM with a message naming what could not be allocated. */
int mlops__error_oom(const char *what);

/* ---------------------------------------------------------------- memory ---- */

/** strdup that never returns NULL for a non-NULL input unless out of memory. */
char *mlops__strdup(const char *s);
char *mlops__strndup(const char *s, size_t n);
/** malloc'd printf; NULL when out of memory. */
char *mlops__sprintf(const char *fmt, ...) MLOPS__PRINTF(1, 2);

/** A growable byte buffer, always NUL-terminated once anything was appended. */
typedef struct mlops__buf {
    char *data;
    size_t len;
    size_t cap;
    bool failed; /* an allocation failed; later appends are ignored */
} mlops__buf;

void mlops__buf_init(mlops__buf *b);
void mlops__buf_free(mlops__buf *b);
bool mlops__buf_reserve(mlops__buf *b, size_t extra);
void mlops__buf_append(mlops__buf *b, const void *data, size_t len);
void mlops__buf_puts(mlops__buf *b, const char *s);
void mlops__buf_putc(mlops__buf *b, char c);
void mlops__buf_printf(mlops__buf *b, const char *fmt, ...) MLOPS__PRINTF(2, 3);
/** Hands the buffer's string to the caller (never NULL unless failed) and resets b. */
char *mlops__buf_take(mlops__buf *b);

/* ---------------------------------------------------------------- names ----- */

/**
 * Checks an object name against the library-wide rule: 1..128 bytes of
 * [A-Za-z0-9._-/], starting with a letter or digit. `what` names the argument in
 * the error ("prompt name"). Returns MLOPS_OK or MLOPS_EINVAL.
 */
int mlops__name_check(const char *name, const char *what);
#define MLOPS__NAME_MAX 128

/* ---------------------------------------------------------------- JSON ------ */

/**
 * Parses `text` as JSON. On failure returns MLOPS_EPARSE with "<what>: <reason> at
 * line L column C". `what` names the input ("config", "request").
 */
int mlops__json_parse(const char *text, const char *what, json_t **out);

/** Parses and requires an object. */
int mlops__json_parse_object(const char *text, const char *what, json_t **out);

/** Serialises compactly into a malloc'd string the caller frees with mlops_free(). */
int mlops__json_dump(const json_t *value, char **out);

/** Serialises and steals the reference to `value` (decref'd in every case). */
int mlops__json_dump_steal(json_t *value, char **out);

/** JSON type names for messages: "object", "string", "integer"... */
const char *mlops__json_type_name(const json_t *v);

/** Expected types for mlops__json_check_fields. */
enum mlops__json_kind {
    MLOPS__J_ANY = 0,
    MLOPS__J_OBJECT,
    MLOPS__J_ARRAY,
    MLOPS__J_STRING,
    MLOPS__J_INTEGER,
    MLOPS__J_NUMBER, /* integer or real */
    MLOPS__J_BOOL,
    MLOPS__J_NULLABLE_STRING
};

/** One allowed key of a JSON object. A table ends with {NULL}. */
typedef struct mlops__json_field {
    const char *name;
    enum mlops__json_kind kind;
    bool required;
} mlops__json_field;

/**
 * Checks that `obj` is an object whose keys are all in `fields`, each of the right
 * kind, and that required keys are present. Errors (code `err`, e.g. MLOPS_ECONFIG or
 * MLOPS_EINVAL) name the full path: "config.cache: unknown key 'tll'",
 * "config.busy_timeout_ms: expected integer, got string".
 */
int mlops__json_check_fields(const json_t *obj, const char *path,
                             const mlops__json_field *fields, int err);

/** Getters with defaults; the value must already have been type-checked. */
const char *mlops__json_str(const json_t *obj, const char *key, const char *def);
int64_t mlops__json_int(const json_t *obj, const char *key, int64_t def);
double mlops__json_num(const json_t *obj, const char *key, double def);
bool mlops__json_bool(const json_t *obj, const char *key, bool def);

/* ---------------------------------------------------------------- hashing --- */

/** xxh3 64-bit hash with a seed. */
uint64_t mlops__hash64(const void *data, size_t len, uint64_t seed);
/** xxh3 64-bit hash of a NUL-terminated string (NULL hashes like ""). */
uint64_t mlops__hash_str(const char *s, uint64_t seed);
/** xxh3 128-bit hash written as 32 lowercase hex characters plus NUL into hex[33]. */
void mlops__hash128_hex(const void *data, size_t len, char hex[33]);

/** Incremental xxh3-64 (for files and streams). */
typedef struct mlops__hasher mlops__hasher;
mlops__hasher *mlops__hasher_new(uint64_t seed);
void mlops__hasher_update(mlops__hasher *st, const void *data, size_t len);
uint64_t mlops__hasher_digest(const mlops__hasher *st);
void mlops__hasher_free(mlops__hasher *st);

/** Maps a 64-bit hash to [0, 1) uniformly (for sticky weighted assignment). */
double mlops__hash_unit(uint64_t h);

/* ---------------------------------------------------------------- clock ----- */

/** Monotonic nanoseconds (CLOCK_MONOTONIC); for durations only. */
uint64_t mlops__now_ns(void);
/** Wall-clock milliseconds since the Unix epoch (CLOCK_REALTIME); for records. */
int64_t mlops__wall_ms(void);
/** Sleeps for `ms` milliseconds (restarting after signals). */
void mlops__sleep_ms(uint64_t ms);
/** Formats wall-clock ms as RFC 3339 UTC "2026-11-26T18:35:02.123Z" into out[32]. */
void mlops__format_time(int64_t wall_ms, char out[32]);

/* ---------------------------------------------------------------- locks ----- */

/*
 * Thin wrappers so that lock failures (which only happen on programmer error) abort
 * loudly in one place instead of being ignored at every call site.
 */
typedef pthread_mutex_t mlops__mutex;
typedef pthread_rwlock_t mlops__rwlock;
typedef pthread_cond_t mlops__cond;

void mlops__mutex_init(mlops__mutex *m);
void mlops__mutex_destroy(mlops__mutex *m);
void mlops__mutex_lock(mlops__mutex *m);
void mlops__mutex_unlock(mlops__mutex *m);
void mlops__rwlock_init(mlops__rwlock *l);
void mlops__rwlock_destroy(mlops__rwlock *l);
void mlops__rwlock_rdlock(mlops__rwlock *l);
void mlops__rwlock_wrlock(mlops__rwlock *l);
void mlops__rwlock_unlock(mlops__rwlock *l);
void mlops__cond_init(mlops__cond *c);
void mlops__cond_destroy(mlops__cond *c);
void mlops__cond_wait(mlops__cond *c, mlops__mutex *m);
/** Waits at most `ns`; returns false on timeout. */
bool mlops__cond_timedwait(mlops__cond *c, mlops__mutex *m, uint64_t ns);
void mlops__cond_signal(mlops__cond *c);
void mlops__cond_broadcast(mlops__cond *c);

/* ---------------------------------------------------------------- thread pool */

/**
 * A fixed pool of worker threads running parallel-for jobs. Workers wait on a
 * condition variable (after a short bounded spin) rather than spinning, so a pool
 * degrades gracefully when the machine is shared.
 */
typedef struct mlops__pool mlops__pool;

/** Work item: called once per index in [0, n) of a job, from any worker thread. */
typedef void (*mlops__pool_fn)(void *arg, int index, int n);

/** Creates a pool with `threads` workers in total (the caller counts as one). */
int mlops__pool_create(int threads, mlops__pool **out);
void mlops__pool_destroy(mlops__pool *p);
int mlops__pool_threads(const mlops__pool *p);
/**
 * Runs fn(arg, i, n) for i in [0, n) across the pool, the calling thread taking part,
 * and returns when all calls have finished. Concurrent callers are serialised.
 */
void mlops__pool_run(mlops__pool *p, mlops__pool_fn fn, void *arg, int n);

/** Number of online CPUs (at least 1). */
int mlops__cpu_count(void);

/* ---------------------------------------------------------------- logging --- */

typedef struct mlops__logger {
    mlops__rwlock lock;
    mlops_log_fn fn;
    void *user;
    int level;
} mlops__logger;

void mlops__logger_init(mlops__logger *lg, int level);
void mlops__logger_destroy(mlops__logger *lg);
void mlops__logger_set(mlops__logger *lg, mlops_log_fn fn, void *user);
void mlops__log(mlops__logger *lg, int level, const char *fmt, ...) MLOPS__PRINTF(3, 4);
/** Parses "error"/"warn"/"info"/"debug"; returns -1 when unknown. */
int mlops__log_level_parse(const char *name);

/* ---------------------------------------------------------------- store ----- */

/*
 * The SQLite store. One connection per handle, guarded by a mutex: SQLite's
 * transactions belong to a connection, so two threads must never interleave
 * statements inside one transaction. Other processes use their own connections;
 * WAL mode and the busy timeout let them share the file.
 *
 * Usage:
 *   sqlite3 *db = mlops__store_lock(st);   ... statements ...   mlops__store_unlock(st);
 *   if ((rc = mlops__store_begin(st)) != MLOPS_OK) return rc;   // lock + BEGIN IMMEDIATE
 *   ... statements; on error: mlops__store_rollback(st); return rc;
 *   return mlops__store_commit(st);                              // COMMIT + unlock
 */
typedef struct mlops__store mlops__store;

/** A schema migration step: `version` counts from 1 within its module. */
typedef struct mlops__migration {
    int version;
    const char *sql; /* one or more statements, run inside the migration transaction */
} mlops__migration;

/** A module's migrations, ordered by version, starting at 1 without gaps. */
typedef struct mlops__schema {
    const char *module;
    const mlops__migration *steps;
    size_t count;
} mlops__schema;

typedef struct mlops__store_opts {
    int busy_timeout_ms;
    mlops__logger *logger; /* may be NULL */
} mlops__store_opts;

/**
 * Opens the store at `path` (or ":memory:"), checks that it is a libmlops database
 * no newer than `schemas` describe, then switches to WAL, enables foreign keys and
 * applies missing migrations in one transaction. A failed open leaves an existing file
 * untouched.
 */
int mlops__store_open(const char *path, const mlops__store_opts *opts,
                      const mlops__schema *const *schemas, size_t nschemas,
                      mlops__store **out);
void mlops__store_close(mlops__store *st);
const char *mlops__store_path(const mlops__store *st);

/** Takes exclusive use of the connection (recursive locking is not allowed). */
sqlite3 *mlops__store_lock(mlops__store *st);
void mlops__store_unlock(mlops__store *st);

/** Locks and runs BEGIN IMMEDIATE (waiting up to the busy timeout). */
int mlops__store_begin(mlops__store *st);
/** COMMITs and unlocks; on failure rolls back, unlocks and returns the error. */
int mlops__store_commit(mlops__store *st);
/** ROLLBACK (errors ignored) and unlock. */
void mlops__store_rollback(mlops__store *st);

/** Runs SQL without results; the lock must be held. */
int mlops__store_exec(mlops__store *st, const char *sql);

/**
 * Prepares a statement on the locked connection, from a per-connection cache keyed by
 * the SQL text's address (pass string literals). The statement is reset and its
 * bindings cleared; do not finalize it. Valid while the lock is held.
 */
int mlops__store_prepare(mlops__store *st, const char *sql, sqlite3_stmt **out);

/**
 * Turns an SQLite result code on the locked connection into a libmlops status with a
 * message "<what>: <sqlite message>": BUSY/LOCKED -> MLOPS_EBUSY, CORRUPT/NOTADB ->
 * MLOPS_ECORRUPT, CONSTRAINT_UNIQUE/PRIMARYKEY -> MLOPS_EEXIST, others MLOPS_ESTORE.
 */
int mlops__store_error(mlops__store *st, int sqlite_rc, const char *what);

/**
 * A number that changes whenever any connection (this one or another process's)
 * commits a change to the database. Read-through caches compare it to decide whether
 * they are stale. Cheap (no I/O for this connection's own count). Lock not required.
 */
uint64_t mlops__store_change_counter(mlops__store *st);

/** Binds text, or NULL when s is NULL. */
int mlops__sql_bind_text(sqlite3_stmt *stmt, int idx, const char *s);
/** Column text duplicated with malloc ("" for NULL when `empty_for_null`). */
char *mlops__sql_column_dup(sqlite3_stmt *stmt, int col);

/** The schema version recorded for `module` (0 if never migrated). Lock held. */
int mlops__store_module_version(mlops__store *st, const char *module);

/* ---------------------------------------------------------------- files ----- */

/** Reads a whole file (with a size limit) into a malloc'd NUL-terminated buffer. */
int mlops__file_read(const char *path, size_t max_bytes, char **out, size_t *out_len);
/** Writes a file atomically: to a temporary sibling, fsync, then rename. */
int mlops__file_write_atomic(const char *path, const void *data, size_t len);
/** Creates a directory and its parents (mode 0755); existing ones are fine. */
int mlops__mkdirs(const char *path);

/* ---------------------------------------------------------------- text vectors */

/*
 * Hashed text embeddings that need no model: the feature-hashing trick (Weinberger et
 * al., 2009) over normalised word unigrams, word bigrams and character n-grams, each
 * feature's bucket and sign taken from xxh3, counts damped as 1 + ln(tf), each group
 * L2-normalised and weighted, the whole vector L2-normalised. Shared by the semantic
 * cache, the guard's attack-similarity scanner and the router.
 */
typedef struct mlops__hashvec_opts {
    int dim;             /* output dimension, 16..65536 */
    float word_weight;   /* weight of the word-unigram group (0 disables it) */
    float bigram_weight; /* weight of the word-bigram group */
    float char_weight;   /* weight of the character n-gram group */
    int char_min;        /* smallest character n-gram (bytes of the normalised text) */
    int char_max;        /* largest character n-gram */
    uint64_t seed;       /* hash seed: vectors are comparable only under one seed */
    bool digit_shapes;   /* every digit reads as '0': numbers and IDs become shapes */
    int char_word_max;   /* > 0: no character n-grams inside longer words (hashes, base64) */
} mlops__hashvec_opts;

/** Defaults: words 1.0, bigrams 0.5, char 3..5-grams 0.5, seed 0, digits and long
 *  words as they are. */
void mlops__hashvec_defaults(mlops__hashvec_opts *o, int dim);

/**
 * Embeds `len` bytes of UTF-8 text into out[dim] (unit length, or all zeros for text
 * with no word characters, reported by *out_empty when not NULL). Normalisation: ASCII
 * lower-casing, runs of letters/digits (and any non-ASCII UTF-8 sequence) as words,
 * apostrophes inside words kept. Thread-safe; allocates a scratch table per call only
 * for texts over 4 KiB.
 */
int mlops__hashvec_embed(const mlops__hashvec_opts *o, const char *text, size_t len,
                         float *out, bool *out_empty);

/**
 * A sparse vector: n (index, value) pairs, each with a tag (a byte of the feature's hash,
 * 1..255, or 0 for features that are not hashed text) so that a model can tell the
 * feature that owns a bucket from others that collide in it. The arrays grow as needed
 * (mlops__sparse_free).
 */
typedef struct mlops__sparse {
    int32_t *idx;
    float *val;
    uint8_t *tag;
    size_t n, cap;
} mlops__sparse;

/** Makes room for cap pairs; false when out of memory (the vector is left as it was). */
bool mlops__sparse_reserve(mlops__sparse *v, size_t cap);
/** Appends one pair; false when out of memory (the vector is left as it was). */
bool mlops__sparse_push(mlops__sparse *v, int32_t idx, uint8_t tag, float val);
/** Scales the values to unit L2 norm (0 leaves them unchanged); returns the old norm. */
float mlops__sparse_normalize(mlops__sparse *v);
void mlops__sparse_free(mlops__sparse *v);

/**
 * The features of mlops__hashvec_embed as sparse pairs appended to *out (cleared first):
 * one pair per distinct feature, in o->dim buckets, tagged with a byte of the feature's
 * hash, values scaled to unit L2 norm over the pairs. Pairs may share a bucket (a hash collision inside one text), which the
 * dense form would sum: a linear model gives the same score either way, only the norm
 * differs, so train and predict with the same form. Costs O(text), not O(dim), which
 * is what lets classifiers use 64k buckets.
 */
int mlops__hashvec_sparse(const mlops__hashvec_opts *o, const char *text, size_t len,
                          mlops__sparse *out);

/** Scales v[dim] to unit length; returns its original norm (0 leaves v unchanged). */
float mlops__vec_normalize(float *v, int dim);

/** True when every v[i] is finite. */
bool mlops__vec_finite(const float *v, size_t n);

/**
 * Exact cosine top-k over unit rows: scores = M[rows x dim] . q via cblas_sgemv (OpenBLAS
 * pinned to one thread, see mlops__blas_init), then the k best with score >= min_score,
 * best first. Returns how many were found (<= k). idx/score have room for k.
 */
int mlops__vec_topk(const float *matrix, size_t rows, int dim, const float *q, int k,
                    float min_score, int64_t *idx, float *score);

/**
 * Pins OpenBLAS to one thread once per process: our own pools own the cores, and
 * OpenBLAS's pool competing with them made two-thread runs slower (DESIGN.md).
 */
void mlops__blas_init(void);

/* ---------------------------------------------------------------- regex ----- */

/*
 * The library's one regular-expression engine (regex.c): linear time, no backtracking
 * (a Thompson NFA simulated as a Pike VM, O(pattern x text)), memory bounded by the
 * pattern whatever the text length. Used by the guard (custom recognizers, banned
 * patterns, JSON Schema "pattern") and the router's "regex" rules.
 *
 * Syntax: literals; escaped punctuation; \n \t \r \f \v \0 \xHH \x{H..} \uHHHH;
 * `.` (any character but \n); classes [abc] [a-z] [^...] with escapes and \d \w \s
 * \D \W \S inside (a ']' first is literal, \b inside is backspace); \d \D \w \W
 * \s \S (ASCII digits and word characters, ECMA-262 white space); anchors ^ $ and
 * \b \B (ASCII word boundary); alternation |; groups (...) (?:...) (?<name>...) (no
 * captures); quantifiers * + ? {m} {m,} {m,n} (bounds <= 100), each with a lazy `?`
 * form; a '{' that does not start a well-formed count is a literal. Leading inline
 * flags (?i) (?m) (?im). Rejected with an error naming the problem and its byte
 * offset: back-references, look-around, \p{..} and other unknown letter escapes,
 * a quantifier on nothing or on a quantifier, unbalanced ( ) [ ], reversed ranges,
 * patterns over 10000 bytes or over 20000 steps once counted repetitions expand.
 *
 * Text is UTF-8 matched by code point (a quantifier after "é" repeats the character,
 * classes take non-ASCII members and ranges); a byte that is not well-formed UTF-8
 * is a unit of its own. Case-insensitive matching folds ASCII, Latin-1, Latin
 * Extended-A, basic Greek and Cyrillic letters (one-to-one folds only).
 *
 * A compiled regex is immutable: share it between threads freely.
 */
typedef struct mlops__regex mlops__regex;

#define MLOPS__REGEX_ICASE 1u     /* case-insensitive, as a leading (?i) */
#define MLOPS__REGEX_MULTILINE 2u /* ^ $ also match after / before a \n, as (?m) */

/**
 * Compiles `pattern` (NUL-terminated UTF-8) with MLOPS__REGEX_* flags into *out
 * (release with mlops__regex_free). Errors: MLOPS_EINVAL "<what>: <problem> at offset
 * N" (`what` names the pattern for the caller's user, NULL = "regex"), MLOPS_ENOMEM.
 */
int mlops__regex_compile_flags(const char *pattern, unsigned flags, const char *what,
                               mlops__regex **out);
/** The guard's dialect: mlops__regex_compile_flags with MLOPS__REGEX_MULTILINE (its
    scanners search multi-line prompts line by line). */
int mlops__regex_compile(const char *pattern, const char *what, mlops__regex **out);
/** Accepts NULL. */
void mlops__regex_free(mlops__regex *re);
/**
 * Leftmost match (leftmost-first alternation, greedy or lazy repetition as written)
 * starting in s[from..n): true and its byte span [*ms, *me). Anchors and \b see the
 * whole s[0..n). False when none (or when a program over 128 steps cannot get its
 * scratch memory).
 */
bool mlops__regex_search(const mlops__regex *re, const char *s, size_t n, size_t from,
                         size_t *ms, size_t *me);
/** Whether re matches anywhere in s[0..n): stops at the first match found, no span. */
bool mlops__regex_test(const mlops__regex *re, const char *s, size_t n);

/* ---------------------------------------------------------------- store rows -- */

/**
 * Steps `stmt` (prepared with mlops__store_prepare, lock held), a query that yields at
 * most one row, without resetting it: MLOPS_OK with *found telling whether a row is
 * current (read its columns, then reset the statement), or mlops__store_error naming
 * `what`. No row is not an error: the caller words its own "not found".
 */
int mlops__store_step_row(mlops__store *st, sqlite3_stmt *stmt, const char *what, bool *found);

/**
 * mlops__store_step_row for a query whose answer is one integer; resets the statement. *found says whether a row came back; its first column,
 * as an integer, is then in *value (left alone otherwise). Errors: mlops__store_error
 * naming `what`. No row is not an error: the caller words its own "not found".
 */
int mlops__store_query_int(mlops__store *st, sqlite3_stmt *stmt, const char *what,
                           int64_t *value, bool *found);

/** Builds the JSON of the statement's current row; NULL when out of memory. */
typedef json_t *(*mlops__store_row_fn)(sqlite3_stmt *stmt);

/**
 * Steps `stmt` to its end (lock held), appending row_json(stmt) for each row to `arr`.
 * Stops at the first failure: MLOPS_ENOMEM naming `oom_what`, or mlops__store_error
 * naming `what`. Does not reset the statement (cached statements are reset by the
 * caller, dynamic ones finalized).
 */
int mlops__store_rows_json(mlops__store *st, sqlite3_stmt *stmt, mlops__store_row_fn row_json,
                           json_t *arr, const char *oom_what, const char *what);

#endif /* MLOPS_LIB_CORE_H */
