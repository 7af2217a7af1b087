/*
 * pthread wrappers. A failing lock call means memory corruption or a programmer error
 * (unlocking a mutex not held): abort at once rather than continue with broken state.
 */
#include "core.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static void check(int rc, const char *what)
{
    if (rc != 0) {
        fprintf(stderr, "libmlops: fatal: %s failed (%d)\n", what, rc);
        abort();
    }
}

void mlops__mutex_init(mlops__mutex *m) { check(pthread_mutex_init(m, NULL), "mutex_init"); }
void mlops__mutex_destroy(mlops__mutex *m) { pthread_mutex_destroy(m); }
void mlops__mutex_lock(mlops__mutex *m) { check(pthread_mutex_lock(m), "mutex_lock"); }
void mlops__mutex_unlock(mlops__mutex *m) { check(pthread_mutex_unlock(m), "mutex_unlock"); }

void mlops__rwlock_init(mlops__rwlock *l)
{
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
#ifdef PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP
    /* Writers (inserts, reloads) must not starve behind a stream of readers. */
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
    check(pthread_rwlock_init(l, &attr), "rwlock_init");
    pthread_rwlockattr_destroy(&attr);
}
void mlops__rwlock_destroy(mlops__rwlock *l) { pthread_rwlock_destroy(l); }
void mlops__rwlock_rdlock(mlops__rwlock *l) { check(pthread_rwlock_rdlock(l), "rwlock_rdlock"); }
void mlops__rwlock_wrlock(mlops__rwlock *l) { check(pthread_rwlock_wrlock(l), "rwlock_wrlock"); }
void mlops__rwlock_unlock(mlops__rwlock *l) { check(pthread_rwlock_unlock(l), "rwlock_unlock"); }

void mlops__cond_init(mlops__cond *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    check(pthread_cond_init(c, &attr), "cond_init");
    pthread_condattr_destroy(&attr);
}
void mlops__cond_destroy(mlops__cond *c) { pthread_cond_destroy(c); }
void mlops__cond_wait(mlops__cond *c, mlops__mutex *m) { check(pthread_cond_wait(c, m), "cond_wait"); }
void mlops__cond_signal(mlops__cond *c) { pthread_cond_signal(c); }
void mlops__cond_broadcast(mlops__cond *c) { pthread_cond_broadcast(c); }

bool mlops__cond_timedwait(mlops__cond *c, mlops__mutex *m, uint64_t ns)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t t = (uint64_t)ts.tv_nsec + ns;
    ts.tv_sec += (time_t)(t / 1000000000ull);
    ts.tv_nsec = (long)(t % 1000000000ull);
    int rc = pthread_cond_timedwait(c, m, &ts);
    if (rc == ETIMEDOUT)
        return false;
    check(rc, "cond_timedwait");
    return true;
}
