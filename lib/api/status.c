/* Version, status texts, the thread-local error, and the library's free(). */
#include "api.h"

#include <stdlib.h>

#define STR2(x) #x
#define STR(x) STR2(x)

MLOPS_API const char *mlops_version(void)
{
    return STR(MLOPS_VERSION_MAJOR) "." STR(MLOPS_VERSION_MINOR) "." STR(MLOPS_VERSION_PATCH);
}

MLOPS_API int mlops_version_number(void)
{
    return MLOPS_VERSION_NUMBER;
}

MLOPS_API void mlops_free(void *ptr)
{
    free(ptr);
}

MLOPS_API const char *mlops_strerror(int code)
{
    switch (code) {
    case MLOPS_OK: return "success";
    case MLOPS_EINVAL: return "invalid argument";
    case MLOPS_ENOMEM: return "out of memory";
    case MLOPS_EIO: return "file or directory error";
    case MLOPS_ESTORE: return "store (SQLite) error";
    case MLOPS_ECORRUPT: return "file is not a valid database or is damaged";
    case MLOPS_ESCHEMA: return "database schema is newer than this library or unknown";
    case MLOPS_ECONFIG: return "invalid configuration";
    case MLOPS_ENOTFOUND: return "not found";
    case MLOPS_EEXIST: return "already exists";
    case MLOPS_EPARSE: return "input could not be parsed";
    case MLOPS_EGATE: return "validation gate refused the promotion";
    case MLOPS_EPROVIDER: return "model provider error";
    case MLOPS_ETIMEOUT: return "timed out";
    case MLOPS_ERATELIMIT: return "rate limit reached";
    case MLOPS_EBUDGET: return "budget exhausted";
    case MLOPS_EBLOCKED: return "blocked by a guardrail policy";
    case MLOPS_EAUTH: return "key is unknown, revoked, expired or not allowed";
    case MLOPS_EBUSY: return "store is locked by another connection";
    case MLOPS_ECANCELED: return "cancelled";
    case MLOPS_EFORMAT: return "invalid file format";
    case MLOPS_EUNSUPPORTED: return "not supported";
    case MLOPS_ESTATE: return "not allowed in the current state";
    case MLOPS_ELIMIT: return "size or count limit exceeded";
    case MLOPS_EINTERNAL: return "internal error";
    default: return "unknown status code";
    }
}

MLOPS_API const char *mlops_last_error(void)
{
    return mlops__error_text();
}

int mlops__api_check_handle(const mlops_t *h, const char *fn)
{
    return h ? MLOPS_OK : mlops__error(MLOPS_EINVAL, "%s: handle is NULL", fn);
}

int mlops__api_check_arg(const void *arg, const char *fn, const char *name)
{
    return arg ? MLOPS_OK : mlops__error(MLOPS_EINVAL, "%s: %s is NULL", fn, name);
}

int mlops__api_check_args(const mlops_t *h, const char *fn, const void *a, const char *a_name,
                          const void *b, const char *b_name)
{
    int rc = mlops__api_check_handle(h, fn);
    if (rc == MLOPS_OK && a_name)
        rc = mlops__api_check_arg(a, fn, a_name);
    if (rc == MLOPS_OK && b_name)
        rc = mlops__api_check_arg(b, fn, b_name);
    return rc;
}

int mlops__api_check_out(const mlops_t *h, const char *fn, const void *arg,
                         const char *arg_name, char **out)
{
    int rc = mlops__api_check_args(h, fn, arg, arg_name, out, "out");
    if (rc == MLOPS_OK)
        *out = NULL;
    return rc;
}
