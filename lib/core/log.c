/* The handle's logger: lines go to the caller's callback, never to stdout. */
#include "core.h"

#include <stdio.h>
#include <string.h>

void mlops__logger_init(mlops__logger *lg, int level)
{
    mlops__rwlock_init(&lg->lock);
    lg->fn = NULL;
    lg->user = NULL;
    lg->level = level;
}

void mlops__logger_destroy(mlops__logger *lg)
{
    mlops__rwlock_destroy(&lg->lock);
}

void mlops__logger_set(mlops__logger *lg, mlops_log_fn fn, void *user)
{
    mlops__rwlock_wrlock(&lg->lock);
    lg->fn = fn;
    lg->user = user;
    mlops__rwlock_unlock(&lg->lock);
}

void mlops__log(mlops__logger *lg, int level, const char *fmt, ...)
{
    if (!lg || level > lg->level)
        return;
    mlops__rwlock_rdlock(&lg->lock);
    if (lg->fn) {
        char line[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(line, sizeof line, fmt, ap);
        va_end(ap);
        lg->fn(level, line, lg->user);
    }
    mlops__rwlock_unlock(&lg->lock);
}

int mlops__log_level_parse(const char *name)
{
    static const char *const names[] = {"error", "warn", "info", "debug"};
    for (int i = 0; i < (int)MLOPS__ARRAY_LEN(names); i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}
