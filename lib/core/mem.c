/* Strings, growable buffers and the library-wide object name rule. */
#include "core.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *mlops__strdup(const char *s)
{
    return s ? mlops__strndup(s, strlen(s)) : NULL;
}

char *mlops__strndup(const char *s, size_t n)
{
    if (!s)
        return NULL;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *mlops__sprintf(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *p = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (p)
        vsnprintf(p, (size_t)n + 1, fmt, ap2);
    va_end(ap2);
    return p;
}

void mlops__buf_init(mlops__buf *b)
{
    memset(b, 0, sizeof *b);
}

void mlops__buf_free(mlops__buf *b)
{
    free(b->data);
    mlops__buf_init(b);
}

bool mlops__buf_reserve(mlops__buf *b, size_t extra)
{
    if (b->failed)
        return false;
    if (extra > SIZE_MAX / 2 - b->len - 1) {
        b->failed = true;
        return false;
    }
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void mlops__buf_append(mlops__buf *b, const void *data, size_t len)
{
    if (!mlops__buf_reserve(b, len))
        return;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void mlops__buf_puts(mlops__buf *b, const char *s)
{
    mlops__buf_append(b, s, strlen(s));
}

void mlops__buf_putc(mlops__buf *b, char c)
{
    mlops__buf_append(b, &c, 1);
}

void mlops__buf_printf(mlops__buf *b, const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n >= 0 && mlops__buf_reserve(b, (size_t)n)) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap2);
        b->len += (size_t)n;
    }
    va_end(ap2);
}

char *mlops__buf_take(mlops__buf *b)
{
    if (b->failed) {
        mlops__buf_free(b);
        return NULL;
    }
    char *p = b->data ? b->data : mlops__strdup("");
    mlops__buf_init(b);
    return p;
}

static bool name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-' || c == '/';
}

int mlops__name_check(const char *name, const char *what)
{
    if (!name)
        return mlops__error(MLOPS_EINVAL, "%s: must not be NULL", what);
    size_t n = strlen(name);
    if (n == 0)
        return mlops__error(MLOPS_EINVAL, "%s: must not be empty", what);
    if (n > MLOPS__NAME_MAX)
        return mlops__error(MLOPS_EINVAL, "%s: longer than %d bytes", what, MLOPS__NAME_MAX);
    char first = name[0];
    bool alnum = (first >= 'a' && first <= 'z') || (first >= 'A' && first <= 'Z') ||
                 (first >= '0' && first <= '9');
    if (!alnum)
        return mlops__error(MLOPS_EINVAL, "%s '%s': must start with a letter or digit", what,
                            name);
    for (size_t i = 0; i < n; i++) {
        if (!name_char_ok(name[i]))
            return mlops__error(MLOPS_EINVAL,
                                "%s '%s': character %zu is not allowed (use A-Z a-z 0-9 . _ - /)",
                                what, name, i + 1);
    }
    return MLOPS_OK;
}
