/* Thread-local error detail: the "why" behind a status code (see mlops_last_error). */
#include "core.h"

#include <stdio.h>
#include <string.h>

#define ERROR_TEXT_MAX 1024

static _Thread_local char error_text[ERROR_TEXT_MAX];

int mlops__verror(int code, const char *fmt, va_list ap)
{
    vsnprintf(error_text, sizeof error_text, fmt, ap);
    return code;
}

int mlops__error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mlops__verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int mlops__error_wrap(int code, const char *fmt, ...)
{
    char prefix[ERROR_TEXT_MAX];
    char old[ERROR_TEXT_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, error_text, sizeof old);
    /* Truncation is acceptable: the message is bounded by design. */
    size_t n = strlen(prefix);
    if (n > sizeof error_text - 3)
        n = sizeof error_text - 3;
    memcpy(error_text, prefix, n);
    memcpy(error_text + n, ": ", 2);
    size_t room = sizeof error_text - n - 3;
    size_t m = strlen(old);
    if (m > room)
        m = room;
    memcpy(error_text + n + 2, old, m);
    error_text[n + 2 + m] = '\0';
    return code;
}

const char *mlops__error_text(void)
{
    return error_text;
}

int mlops__error_oom(const char *what)
{
    return mlops__error(MLOPS_ENOMEM, "out of memory while allocating %s", what);
}
