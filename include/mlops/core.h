/*
 * libmlops — core: the handle, status codes, errors, memory and logging.
 *
 * Conventions that hold for every header under include/mlops/:
 *  - Every fallible function returns int: MLOPS_OK (0) or a negative MLOPS_E* code.
 *    Codes are never renumbered or reused. On failure, mlops_last_error() returns a
 *    sentence naming the problem (thread-local: it belongs to the calling thread).
 *  - Results come back through out-parameters, always the last arguments. What comes
 *    back through `char **out` is owned by the caller and released with mlops_free().
 *  - Structured data crosses the boundary as UTF-8 JSON text with a documented schema.
 *  - One mlops_t may be used by many threads at once unless a function says otherwise.
 *  - All free/close functions accept NULL.
 */
#ifndef MLOPS_CORE_H
#define MLOPS_CORE_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#  if defined(MLOPS_BUILDING)
#    define MLOPS_API __declspec(dllexport)
#  else
#    define MLOPS_API
#  endif
#elif defined(__GNUC__) || defined(__clang__)
#  define MLOPS_API __attribute__((visibility("default")))
#else
#  define MLOPS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Major version; the shared library's SONAME is libmlops.so.<MLOPS_SOVERSION>. */
#define MLOPS_VERSION_MAJOR 0
/** Minor version: grows with backwards-compatible additions. */
#define MLOPS_VERSION_MINOR 1
/** Patch version: grows with fixes only. */
#define MLOPS_VERSION_PATCH 0
/** The version as one comparable number: major * 10000 + minor * 100 + patch. */
#define MLOPS_VERSION_NUMBER \
    (MLOPS_VERSION_MAJOR * 10000 + MLOPS_VERSION_MINOR * 100 + MLOPS_VERSION_PATCH)
/** ABI generation; equals the number in the library's SONAME. */
#define MLOPS_SOVERSION 1

/* Status codes. Stable forever: never renumbered, never reused. */
/** Success. */
#define MLOPS_OK 0
/** An argument is NULL, empty, out of range or otherwise invalid. */
#define MLOPS_EINVAL (-1)
/** Memory could not be allocated. */
#define MLOPS_ENOMEM (-2)
/** A file or directory could not be read, written or created. */
#define MLOPS_EIO (-3)
/** The SQLite store reported an error. */
#define MLOPS_ESTORE (-4)
/** A file is not what it should be: not a database, a damaged database or file. */
#define MLOPS_ECORRUPT (-5)
/** The database was written by a newer libmlops (its schema version is unknown). */
#define MLOPS_ESCHEMA (-6)
/** The configuration JSON is malformed, has an unknown key or a wrong type. */
#define MLOPS_ECONFIG (-7)
/** A named object (prompt, model, version, label, key, entry...) does not exist. */
#define MLOPS_ENOTFOUND (-8)
/** An object with that name already exists. */
#define MLOPS_EEXIST (-9)
/** Input text (JSON, template, filter, request) could not be parsed. */
#define MLOPS_EPARSE (-10)
/** A validation gate refused a promotion; the decision JSON says why. */
#define MLOPS_EGATE (-11)
/** An upstream model provider failed (non-retryable error or retries spent). */
#define MLOPS_EPROVIDER (-12)
/** A deadline or timeout expired. */
#define MLOPS_ETIMEOUT (-13)
/** A rate limit was reached; the message says when to retry. */
#define MLOPS_ERATELIMIT (-14)
/** A budget is spent; the message says when it resets. */
#define MLOPS_EBUDGET (-15)
/** A guardrail policy blocked the text. */
#define MLOPS_EBLOCKED (-16)
/** A key is unknown, revoked, expired or not allowed to do this. */
#define MLOPS_EAUTH (-17)
/** The store stayed locked by another connection past the busy timeout. */
#define MLOPS_EBUSY (-18)
/** The operation was cancelled by the caller (for example from a callback). */
#define MLOPS_ECANCELED (-19)
/** A file format (GGUF, export tree...) is invalid; the message names the field. */
#define MLOPS_EFORMAT (-20)
/** The request is valid but not supported by this build or this object. */
#define MLOPS_EUNSUPPORTED (-21)
/** The object is in a state that does not allow this transition. */
#define MLOPS_ESTATE (-22)
/** A size or count limit was exceeded. */
#define MLOPS_ELIMIT (-23)
/** An internal invariant failed; please report it. */
#define MLOPS_EINTERNAL (-24)

/* Log levels for mlops_set_log_callback(). */
/** Errors: something failed. */
#define MLOPS_LOG_ERROR 0
/** Warnings: something is wrong but work goes on. */
#define MLOPS_LOG_WARN 1
/** Information: notable events (migrations applied, config reloaded). */
#define MLOPS_LOG_INFO 2
/** Debug detail. */
#define MLOPS_LOG_DEBUG 3

/** An open libmlops store and everything that runs on it. Opaque. */
typedef struct mlops mlops_t;

/**
 * Receives a log line from the library.
 * @param level     one of MLOPS_LOG_*.
 * @param message   one line of UTF-8 text without a trailing newline; valid only
 *                  during the call.
 * @param user_data the pointer given to mlops_set_log_callback().
 * May be called from any thread that uses the handle, concurrently.
 */
typedef void (*mlops_log_fn)(int level, const char *message, void *user_data);

/**
 * The library's version as text, "MAJOR.MINOR.PATCH".
 * @return static text; never NULL. Thread-safe.
 */
MLOPS_API const char *mlops_version(void);

/**
 * The library's version as MLOPS_VERSION_NUMBER of the build that is running.
 * Compare with the MLOPS_VERSION_NUMBER macro to detect header/library mismatch.
 * @return major * 10000 + minor * 100 + patch. Thread-safe.
 */
MLOPS_API int mlops_version_number(void);

/**
 * Opens (creating if missing) a libmlops store and returns a handle to it.
 *
 * @param path        an SQLite file path, created if it does not exist, or ":memory:"
 *                    for a private in-memory store. Several processes may open the
 *                    same file at once.
 * @param config_json NULL or a JSON object. Keys (all optional):
 *                    "busy_timeout_ms" (integer >= 0, default 5000): how long a write
 *                    waits for another connection's lock;
 *                    "log_level" ("error", "warn", "info" or "debug", default "warn");
 *                    "threads" (integer 1..256, default: number of CPUs): size of the
 *                    handle's worker pool;
 *                    plus one object per module ("prompts", "models", "cache",
 *                    "guard", "gateway", "engine") documented in that module's header.
 *                    An unknown key or a value of the wrong type is MLOPS_ECONFIG with a
 *                    message naming the key.
 * @param out         receives the handle; set to NULL on failure.
 * @return MLOPS_OK; MLOPS_EINVAL (NULL path or out, empty path); MLOPS_ECONFIG;
 *         MLOPS_EIO (a directory, an unwritable or missing parent directory);
 *         MLOPS_ECORRUPT (not an SQLite database or damaged); MLOPS_ESCHEMA (written by
 *         a newer libmlops); MLOPS_EBUSY; MLOPS_ESTORE.
 *         A failed open never modifies an existing database.
 * Thread-safe. Release the handle with mlops_close().
 */
MLOPS_API int mlops_open(const char *path, const char *config_json, mlops_t **out);

/**
 * Closes a handle and releases everything it owns. Pending writes are flushed.
 * @param h a handle from mlops_open(), or NULL (nothing happens).
 * Must not be called while other threads still use the handle.
 */
MLOPS_API void mlops_close(mlops_t *h);

/**
 * Releases memory that the library returned through an out-parameter.
 * @param ptr a pointer from the library (string, JSON text, array), or NULL.
 */
MLOPS_API void mlops_free(void *ptr);

/**
 * A static English sentence describing a status code.
 * @param code a status code (MLOPS_OK or MLOPS_E*); unknown codes get a generic text.
 * @return static text; never NULL. Thread-safe.
 */
MLOPS_API const char *mlops_strerror(int code);

/**
 * The detail of the calling thread's most recent failure: a sentence naming the bad
 * argument, key, file or object. Successful calls do not clear it.
 * @return thread-local text valid until this thread's next libmlops call that fails;
 *         "" if this thread has had no failure. Never NULL.
 */
MLOPS_API const char *mlops_last_error(void);

/**
 * Routes the handle's log lines to a function (replacing any earlier one).
 * @param h         the handle.
 * @param fn        the function to call, or NULL to silence logging.
 * @param user_data passed back to fn on every call.
 * @return MLOPS_OK; MLOPS_EINVAL if h is NULL. Thread-safe.
 */
MLOPS_API int mlops_set_log_callback(mlops_t *h, mlops_log_fn fn, void *user_data);

/**
 * Describes the open store as JSON:
 * {"path": "...", "version": "0.1.0", "schema": {"core": 1, ...},
 *  "user_version": N, "journal_mode": "wal", "threads": N}.
 * @param h   the handle.
 * @param out receives the JSON text; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ESTORE; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_info(mlops_t *h, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_CORE_H */
