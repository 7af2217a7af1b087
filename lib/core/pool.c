/*
 * A parallel-for thread pool. Workers spin only briefly, then sleep on a condition
 * variable: on a shared 2-core machine a spinning barrier starves the very thread it
 * waits for (llama.cpp's 2-thread decode fell ~6x that way), so we block instead.
 *
 * The spin adapts to the machine: a thread that the kernel preempted lately (its count of
 * involuntary context switches grew: other work wants our cores) spins only SPIN_BUSY
 * rounds (~5 us) before sleeping, for the rest of that LOAD_WINDOW_NS window and the
 * next, because its spin then burns CPU time the scheduler would otherwise give to a
 * thread with work to do, ours included. On an idle machine it spins SPIN_MAX rounds,
 * long enough to catch the next job of a decode step without a wake-up, as before.
 * (Measured on the shared 2-core machine at load average 6-9 plus a 1- or 2-thread busy
 * loop: 2-thread decode +9 % and +11 % in two runs of 30 interleaved pairs, neutral in a
 * third run of 24.)
 *
 * Work is claimed through one 64-bit ticket: the high 32 bits are the job's generation,
 * the low 32 bits the next index. A worker that wakes late for an old job cannot claim
 * an index of the next one, because its compare-and-swap names the old generation.
 */
#include "core.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#define SPIN_MAX 4000              /* pauses: ~100 us on a current x86 core */
#define SPIN_BUSY 200
#define LOAD_WINDOW_NS 10000000u   /* how often a thread looks at its preemption count */
#define TICKET_CLOSED 0x7fffffffu  /* an index no job reaches (n is an int) */

struct mlops__pool {
    int nthreads; /* including the caller */
    pthread_t *workers;
    mlops__mutex m;
    mlops__cond wake;
    mlops__cond done_cv;
    mlops__mutex run_lock; /* serialises concurrent mlops__pool_run callers */

    /* Atomic (relaxed) only so that ThreadSanitizer sees no plain race: the ordering
       comes from the ticket's release/acquire. */
    _Atomic(mlops__pool_fn) fn;
    _Atomic(void *) arg;
    _Atomic int n;
    _Atomic uint32_t gen;
    _Atomic uint64_t ticket;
    _Atomic int done;
    _Atomic int sleepers_done; /* the caller sleeps on done_cv */
    _Atomic bool stop;
};

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Per thread: when it last looked, the count it saw, windows left to treat as busy. */
typedef struct spin_state {
    uint64_t t;
    long nivcsw;
    int busy;
} spin_state;

static _Thread_local spin_state tls_spin;

/* The spin budget of the calling thread's next wait (see the top of the file). */
static int spin_budget(void)
{
#if defined(RUSAGE_THREAD)
    spin_state *s = &tls_spin;
    uint64_t now = mlops__now_ns();
    if (now - s->t >= LOAD_WINDOW_NS) {
        struct rusage ru;
        if (getrusage(RUSAGE_THREAD, &ru) == 0) {
            /* preempted in this window: busy for it and the next one */
            if (s->t != 0 && ru.ru_nivcsw != s->nivcsw)
                s->busy = 2;
            else if (s->busy > 0)
                s->busy--;
            s->nivcsw = ru.ru_nivcsw;
        }
        s->t = now;
    }
    return s->busy ? SPIN_BUSY : SPIN_MAX;
#else
    return SPIN_MAX;
#endif
}

/* Claims and runs items of generation `gen` until none are left. */
static void run_items(mlops__pool *p, uint32_t gen)
{
    for (;;) {
        uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        int n = atomic_load_explicit(&p->n, memory_order_relaxed);
        if ((uint32_t)(t >> 32) != gen || (int)(uint32_t)t >= n)
            return;
        if (!atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1,
                                                   memory_order_acq_rel, memory_order_acquire))
            continue;
        /* Holding an unfinished item of job `gen` keeps the job's fields stable: the
           caller cannot start the next job before every item is done. */
        mlops__pool_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
        fn(arg, (int)(uint32_t)t, n);
        /* seq_cst, like the caller's store of sleepers_done and load of done: with
           weaker orders both sides could miss each other (store-load) and the caller
           would sleep with nobody to wake it */
        if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->sleepers_done)) {
            mlops__mutex_lock(&p->m);
            mlops__cond_broadcast(&p->done_cv);
            mlops__mutex_unlock(&p->m);
        }
    }
}

static void *worker_main(void *vp)
{
    mlops__pool *p = vp;
    uint32_t seen = atomic_load(&p->gen);
    for (;;) {
        uint32_t g = seen;
        int spin = spin_budget();
        for (int i = 0; i < spin; i++) {
            g = atomic_load_explicit(&p->gen, memory_order_acquire);
            if (g != seen || atomic_load_explicit(&p->stop, memory_order_relaxed))
                break;
            cpu_relax();
        }
        if (g == seen) {
            mlops__mutex_lock(&p->m);
            while ((g = atomic_load(&p->gen)) == seen && !atomic_load(&p->stop))
                mlops__cond_wait(&p->wake, &p->m);
            mlops__mutex_unlock(&p->m);
        }
        if (atomic_load(&p->stop))
            return NULL;
        seen = g;
        run_items(p, g);
    }
}

int mlops__cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int mlops__pool_create(int threads, mlops__pool **out)
{
    *out = NULL;
    if (threads < 1 || threads > 256)
        return mlops__error(MLOPS_EINVAL, "threads: %d is outside 1..256", threads);
    mlops__pool *p = calloc(1, sizeof *p);
    if (!p)
        return mlops__error_oom("thread pool");
    p->nthreads = threads;
    mlops__mutex_init(&p->m);
    mlops__mutex_init(&p->run_lock);
    mlops__cond_init(&p->wake);
    mlops__cond_init(&p->done_cv);
    if (threads > 1) {
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        if (!p->workers) {
            mlops__pool_destroy(p);
            return mlops__error_oom("thread pool workers");
        }
        for (int i = 0; i < threads - 1; i++) {
            if (pthread_create(&p->workers[i], NULL, worker_main, p) != 0) {
                p->nthreads = i + 1; /* only i workers exist */
                mlops__pool_destroy(p);
                return mlops__error(MLOPS_ENOMEM, "thread pool: could not start worker %d", i);
            }
        }
    }
    *out = p;
    return MLOPS_OK;
}

void mlops__pool_destroy(mlops__pool *p)
{
    if (!p)
        return;
    mlops__mutex_lock(&p->m);
    atomic_store(&p->stop, true);
    mlops__cond_broadcast(&p->wake);
    mlops__mutex_unlock(&p->m);
    for (int i = 0; p->workers && i < p->nthreads - 1; i++)
        pthread_join(p->workers[i], NULL);
    free(p->workers);
    mlops__cond_destroy(&p->wake);
    mlops__cond_destroy(&p->done_cv);
    mlops__mutex_destroy(&p->m);
    mlops__mutex_destroy(&p->run_lock);
    free(p);
}

int mlops__pool_threads(const mlops__pool *p)
{
    return p ? p->nthreads : 1;
}

void mlops__pool_run(mlops__pool *p, mlops__pool_fn fn, void *arg, int n)
{
    if (n <= 0)
        return;
    if (!p || p->nthreads == 1 || n == 1) {
        for (int i = 0; i < n; i++)
            fn(arg, i, n);
        return;
    }
    mlops__mutex_lock(&p->run_lock);
    uint32_t gen = atomic_load(&p->gen) + 1;
    /* Close the old generation's ticket before touching n, fn and arg: a worker that
       read the last ticket of the previous job may still try to claim its next index,
       and it compares that index with the n it reads now. Against a closed ticket its
       compare-and-swap fails; without this it could run the new n's indices on the old
       job's argument. */
    atomic_store(&p->ticket, ((uint64_t)gen << 32) | TICKET_CLOSED);
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store(&p->n, n);
    atomic_store(&p->done, 0);
    atomic_store(&p->sleepers_done, 0);
    atomic_store_explicit(&p->ticket, (uint64_t)gen << 32, memory_order_release);
    mlops__mutex_lock(&p->m);
    atomic_store_explicit(&p->gen, gen, memory_order_release);
    mlops__cond_broadcast(&p->wake);
    mlops__mutex_unlock(&p->m);

    run_items(p, gen);

    int spin = spin_budget();
    for (int i = 0; i < spin && atomic_load(&p->done) < n; i++)
        cpu_relax();
    if (atomic_load(&p->done) < n) {
        mlops__mutex_lock(&p->m);
        atomic_store(&p->sleepers_done, 1);
        while (atomic_load(&p->done) < n)
            mlops__cond_wait(&p->done_cv, &p->m);
        mlops__mutex_unlock(&p->m);
    }
    mlops__mutex_unlock(&p->run_lock);
}
