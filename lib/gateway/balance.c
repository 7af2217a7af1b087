/*
 * Choosing a deployment: pre-call checks, then an order of preference by strategy,
 * then taking a slot (in-flight count, half-open probe, per-minute request count).
 * Outcomes feed back into the latency EWMA, usage counts and the circuit breaker.
 */
#include "balance.h"
#include "provider.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_NS 60000000000ull
#define EWMA_ALPHA 0.2

double mlops__gw_random(void)
{
    static _Thread_local uint64_t s;
    if (!s)
        s = mlops__now_ns() ^ ((uint64_t)(uintptr_t)&s * 0x9E3779B97F4A7C15ull) ^ 0x2545F4914F6CDD1Dull;
    s ^= s << 13;
    s ^= s >> 7;
    s ^= s << 17;
    return (double)(s >> 11) * (1.0 / 9007199254740992.0);
}

mlops__gw_dep_state *mlops__gw_state_new(const char *key)
{
    mlops__gw_dep_state *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->key = mlops__strdup(key);
    if (!s->key) {
        free(s);
        return NULL;
    }
    atomic_init(&s->in_flight, 0);
    mlops__mutex_init(&s->lock);
    return s;
}

void mlops__gw_state_free(mlops__gw_dep_state *s)
{
    if (!s)
        return;
    mlops__mutex_destroy(&s->lock);
    free(s->key);
    free(s);
}

/* Lock held. Starts a new minute when the old one is over (fixed windows). */
static void roll_minute(mlops__gw_dep_state *s, uint64_t now)
{
    if (now - s->minute_start_ns >= MINUTE_NS || s->minute_start_ns == 0) {
        s->minute_start_ns = now;
        s->minute_requests = 0;
        s->minute_tokens = 0;
    }
}

typedef struct cand {
    size_t index;
    double score; /* lower is preferred */
    double tie;
} cand;

static int cand_cmp(const void *a, const void *b)
{
    const cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    return x->tie < y->tie ? -1 : x->tie > y->tie;
}

static double headroom_used(const mlops__gw_deployment *d, int64_t reqs, int64_t toks)
{
    double r = d->rpm > 0 ? (double)reqs / (double)d->rpm : 0;
    double t = d->tpm > 0 ? (double)toks / (double)d->tpm : 0;
    if (d->rpm <= 0 && d->tpm <= 0)
        return (double)reqs * 1e-6; /* no limits: spread by raw use */
    return r > t ? r : t;
}

bool mlops__gw_pick(const mlops__gw_router *r, const mlops__gw_model *m, int64_t est_tokens,
                    uint64_t excluded, mlops__gw_slot *out, mlops__gw_pick_why *why)
{
    memset(why, 0, sizeof *why);
    memset(out, 0, sizeof *out);
    cand c[64];
    size_t n = 0;
    uint64_t now = mlops__now_ns();
    for (int pass = 0; pass < 2 && n == 0; pass++) {
        if (pass == 1 && why->excluded == 0)
            break;
        if (pass == 1)
            memset(why, 0, sizeof *why);
        for (size_t i = 0; i < m->ndeps && i < 64; i++) {
            mlops__gw_deployment *d = &m->deps[i];
            mlops__gw_dep_state *s = d->state;
            if (pass == 0 && (excluded >> i) & 1) {
                why->excluded++;
                continue;
            }
            if (d->context_window > 0 && est_tokens > d->context_window) {
                why->too_small++;
                continue;
            }
            bool skip = false;
            double lat, used;
            mlops__mutex_lock(&s->lock);
            roll_minute(s, now);
            if (s->breaker == MLOPS__GW_OPEN && now >= s->open_until_ns) {
                s->breaker = MLOPS__GW_HALF_OPEN;
                s->probe_taken = false;
            }
            if (s->breaker == MLOPS__GW_OPEN ||
                (s->breaker == MLOPS__GW_HALF_OPEN && s->probe_taken)) {
                why->cooling++;
                why->rate_limited = why->rate_limited || s->last_status == 429;
                skip = true;
            } else if ((d->rpm > 0 && s->minute_requests >= d->rpm) ||
                       (d->tpm > 0 && s->minute_tokens + est_tokens > d->tpm)) {
                why->limited++;
                skip = true;
            }
            lat = s->samples ? s->ewma_ms : 0;
            used = headroom_used(d, s->minute_requests, s->minute_tokens);
            mlops__mutex_unlock(&s->lock);
            if (!skip && d->max_parallel > 0 &&
                atomic_load_explicit(&s->in_flight, memory_order_relaxed) >= d->max_parallel) {
                why->busy++;
                skip = true;
            }
            if (skip)
                continue;
            cand *k = &c[n++];
            k->index = i;
            k->tie = mlops__gw_random();
            switch (r->strategy) {
            case MLOPS__GW_WEIGHTED:
                /* Efraimidis & Spirakis (2006): ordering by -ln(u)/w samples without
                 * replacement in proportion to weight. */
                k->score = d->weight > 0 ? -log(1.0 - k->tie) / d->weight : INFINITY;
                break;
            case MLOPS__GW_LEAST_BUSY:
                k->score = atomic_load_explicit(&s->in_flight, memory_order_relaxed);
                break;
            case MLOPS__GW_LOWEST_LATENCY:
                k->score = lat;
                break;
            case MLOPS__GW_USAGE:
                k->score = used;
                break;
            case MLOPS__GW_LOWEST_COST:
                k->score = d->input_cost_per_mtok * (double)est_tokens +
                           d->output_cost_per_mtok * (double)(est_tokens / 2 + 16);
                break;
            case MLOPS__GW_PRIORITY:
                k->score = (double)d->priority;
                break;
            }
        }
    }
    if (n == 0)
        return false;
    if (r->strategy == MLOPS__GW_LOWEST_LATENCY) {
        /* everything within the buffer of the best counts as equally fast */
        double best = INFINITY;
        for (size_t i = 0; i < n; i++)
            best = c[i].score < best ? c[i].score : best;
        for (size_t i = 0; i < n; i++)
            if (c[i].score <= best * (1.0 + r->latency_buffer))
                c[i].score = best;
    }
    qsort(c, n, sizeof *c, cand_cmp);
    for (size_t k = 0; k < n; k++) {
        mlops__gw_deployment *d = &m->deps[c[k].index];
        mlops__gw_dep_state *s = d->state;
        int now_in = atomic_fetch_add_explicit(&s->in_flight, 1, memory_order_acq_rel) + 1;
        if (d->max_parallel > 0 && now_in > d->max_parallel) {
            atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_acq_rel);
            why->busy++;
            continue;
        }
        bool ok = true, probe = false;
        mlops__mutex_lock(&s->lock);
        roll_minute(s, now);
        if (s->breaker == MLOPS__GW_OPEN) {
            ok = false;
        } else if (s->breaker == MLOPS__GW_HALF_OPEN) {
            ok = !s->probe_taken;
            probe = s->probe_taken = ok;
        }
        if (ok && d->rpm > 0 && s->minute_requests >= d->rpm)
            ok = false;
        if (ok) {
            s->minute_requests++;
            s->requests++;
        }
        mlops__mutex_unlock(&s->lock);
        if (!ok) {
            atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_acq_rel);
            why->cooling++;
            continue;
        }
        out->dep = d;
        out->probe = probe;
        return true;
    }
    return false;
}

void mlops__gw_release(const mlops__gw_router *r, mlops__gw_slot *slot,
                       const mlops__gw_outcome *o)
{
    mlops__gw_dep_state *s = slot->dep->state;
    uint64_t now = mlops__now_ns();
    mlops__mutex_lock(&s->lock);
    roll_minute(s, now);
    s->last_status = o->status;
    snprintf(s->last_error, sizeof s->last_error, "%s", o->error ? o->error : "");
    if (o->ok || (o->latency_ms > 0 && o->counts_as_failure)) {
        s->ewma_ms = s->samples ? (1 - EWMA_ALPHA) * s->ewma_ms + EWMA_ALPHA * o->latency_ms
                                : o->latency_ms;
        s->samples++;
    }
    s->minute_tokens += o->tokens;
    bool failed = o->counts_as_failure || o->rate_limited;
    if (!failed) {
        if (o->ok)
            s->successes++;
        if (slot->probe || s->breaker == MLOPS__GW_HALF_OPEN) {
            s->breaker = MLOPS__GW_CLOSED;
            s->window_fails = 0;
            s->probe_taken = false;
        }
    } else {
        s->failures++;
        bool open = false;
        int64_t cool = r->cooldown_ms;
        if (o->rate_limited) {
            /* the provider said when to come back: believe it */
            open = true;
            if (o->cooldown_ms >= 0)
                cool = o->cooldown_ms;
        } else if (slot->probe || s->breaker == MLOPS__GW_HALF_OPEN) {
            open = true;
        } else {
            if (s->window_start_ns == 0 || now - s->window_start_ns > (uint64_t)r->window_ms * 1000000u) {
                s->window_start_ns = now;
                s->window_fails = 0;
            }
            s->window_fails++;
            open = r->allowed_fails > 0 && s->window_fails >= r->allowed_fails;
        }
        if (open && cool > 0) {
            s->breaker = MLOPS__GW_OPEN;
            s->open_until_ns = now + (uint64_t)cool * 1000000u;
            s->probe_taken = false;
            s->window_fails = 0;
            s->window_start_ns = 0;
            s->cooldowns++;
        } else if (slot->probe) {
            s->probe_taken = false;
        }
    }
    mlops__mutex_unlock(&s->lock);
    atomic_fetch_sub_explicit(&s->in_flight, 1, memory_order_acq_rel);
    slot->dep = NULL;
}

void mlops__gw_state_describe(mlops__gw_dep_state *s, json_t *obj)
{
    uint64_t now = mlops__now_ns();
    mlops__mutex_lock(&s->lock);
    const char *state = "closed";
    int64_t remaining = 0;
    if (s->breaker == MLOPS__GW_OPEN && now < s->open_until_ns) {
        state = "open";
        remaining = (int64_t)((s->open_until_ns - now) / 1000000u);
    } else if (s->breaker != MLOPS__GW_CLOSED) {
        state = "half_open";
    }
    bool fresh = now - s->minute_start_ns < MINUTE_NS;
    json_object_set_new(obj, "in_flight", json_integer(atomic_load(&s->in_flight)));
    json_object_set_new(obj, "latency_ewma_ms", s->samples ? json_real(s->ewma_ms) : json_null());
    json_object_set_new(obj, "state", json_string(state));
    json_object_set_new(obj, "cooldown_remaining_ms", json_integer(remaining));
    json_object_set_new(obj, "requests", json_integer((json_int_t)s->requests));
    json_object_set_new(obj, "successes", json_integer((json_int_t)s->successes));
    json_object_set_new(obj, "failures", json_integer((json_int_t)s->failures));
    json_object_set_new(obj, "cooldowns", json_integer((json_int_t)s->cooldowns));
    json_object_set_new(obj, "minute_requests", json_integer(fresh ? s->minute_requests : 0));
    json_object_set_new(obj, "minute_tokens", json_integer(fresh ? s->minute_tokens : 0));
    json_object_set_new(obj, "last_status", json_integer(s->last_status));
    json_object_set_new(obj, "last_error", mlops__gw_json_text(s->last_error));
    mlops__mutex_unlock(&s->lock);
}

bool mlops__gw_state_last_failure(mlops__gw_dep_state *s, int *status, char *msg, size_t cap)
{
    mlops__mutex_lock(&s->lock);
    bool open = s->breaker != MLOPS__GW_CLOSED;
    *status = s->last_status;
    snprintf(msg, cap, "%s", s->last_error);
    mlops__mutex_unlock(&s->lock);
    return open;
}
