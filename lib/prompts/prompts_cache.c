/*
 * The read-through cache. Two kinds of entries in one hash table:
 *  - label entries ("name@label", and "name" for the default resolution) hold where the
 *    label pointed when the prompt generation (a row bumped by triggers on every change
 *    to versions or labels) was p->gen; they are known valid while the store's change
 *    counter equals p->counter. Any commit by any connection changes the counter; the
 *    next lookup sees the mismatch and re-reads the generation (one small query): if it
 *    moved, every label entry is dropped; if not (another module wrote), the entries are
 *    revalidated at the new counter. A label move is never served stale (no TTL).
 *  - version entries ("name:N") hold compiled versions. Versions are immutable, so they
 *    survive counter changes (other modules write to the same file all the time).
 * Readers take the rwlock shared; they copy out a version reference, so a version in
 * use outlives its eviction.
 */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

#define LABEL_ENTRY 0
#define VERSION_ENTRY 1

struct centry {
    centry *next;
    uint64_t hash;
    int kind;
    char *key;
    label_target target;  /* label entries */
    char label[MLOPS__NAME_MAX + 1];
    mlops__prompt_version *v; /* version entries */
};

static void entry_free(centry *e)
{
    mlops__prompt_target_clear(&e->target);
    mlops__prompt_version_unref(e->v);
    free(e->key);
    free(e);
}

int mlops__prompts_cache_init(mlops__prompts *p)
{
    p->nbuckets = 1024;
    p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
    return p->buckets ? MLOPS_OK : mlops__error_oom("prompt cache");
}

/* Write lock held (or no other users). */
void mlops__prompts_cache_clear(mlops__prompts *p, bool labels_only)
{
    for (size_t i = 0; i < p->nbuckets; i++) {
        centry **pp = &p->buckets[i];
        while (*pp) {
            centry *e = *pp;
            if (labels_only && e->kind != LABEL_ENTRY) {
                pp = &e->next;
                continue;
            }
            *pp = e->next;
            entry_free(e);
            p->count--;
        }
    }
}

static void label_key(char *buf, size_t cap, const mlops__prompt_ref *ref)
{
    if (ref->kind == MLOPS__REF_LABEL)
        snprintf(buf, cap, "%s@%s", ref->name, ref->label);
    else
        snprintf(buf, cap, "%s", ref->name);
}

static void version_key(char *buf, size_t cap, const char *name, int64_t version)
{
    snprintf(buf, cap, "%s:%lld", name, (long long)version);
}

static centry *find(const mlops__prompts *p, const char *key, uint64_t hash)
{
    for (centry *e = p->buckets[hash & (p->nbuckets - 1)]; e; e = e->next)
        if (e->hash == hash && strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

int mlops__prompts_cache_get(mlops__prompts *p, uint64_t counter, const mlops__prompt_ref *ref,
                             const char *key, mlops__prompt_version **out,
                             mlops__prompt_served *served)
{
    char k[2 * MLOPS__NAME_MAX + 32];
    int result = CACHE_MISS;
    mlops__rwlock_rdlock(&p->lock);
    if (ref->kind == MLOPS__REF_VERSION) {
        version_key(k, sizeof k, ref->name, ref->version);
        centry *e = find(p, k, mlops__hash_str(k, 0));
        if (e) {
            mlops__prompt_version_ref(e->v);
            *out = e->v;
            served->label[0] = '\0';
            served->split = false;
            result = CACHE_HIT;
        }
    } else if (p->counter != counter) {
        result = CACHE_STALE;
    } else {
        label_key(k, sizeof k, ref);
        centry *e = find(p, k, mlops__hash_str(k, 0));
        if (e) {
            int64_t version = mlops__prompt_split_pick(&e->target, ref->name, e->label, key);
            char vk[MLOPS__NAME_MAX + 32];
            version_key(vk, sizeof vk, ref->name, version);
            centry *ve = find(p, vk, mlops__hash_str(vk, 0));
            if (ve) {
                mlops__prompt_version_ref(ve->v);
                *out = ve->v;
                memcpy(served->label, e->label, sizeof served->label);
                served->split = e->target.narms > 0;
                result = CACHE_HIT;
            }
        }
    }
    mlops__rwlock_unlock(&p->lock);
    if (result == CACHE_HIT)
        __atomic_add_fetch(&p->hits, 1, __ATOMIC_RELAXED);
    return result;
}

bool mlops__prompts_cache_revalidate(mlops__prompts *p, uint64_t counter, int64_t gen)
{
    bool ok = false;
    mlops__rwlock_wrlock(&p->lock);
    if (p->gen == gen && gen >= 0) {
        /* the generation was read after `counter`: nothing the entries depend on changed */
        p->counter = counter;
        ok = true;
    }
    mlops__rwlock_unlock(&p->lock);
    if (ok)
        __atomic_add_fetch(&p->revalidations, 1, __ATOMIC_RELAXED);
    return ok;
}

mlops__prompt_version *mlops__prompts_cache_version(mlops__prompts *p, const char *name,
                                                    int64_t version)
{
    char k[MLOPS__NAME_MAX + 32];
    version_key(k, sizeof k, name, version);
    mlops__prompt_version *v = NULL;
    mlops__rwlock_rdlock(&p->lock);
    centry *e = find(p, k, mlops__hash_str(k, 0));
    if (e) {
        v = e->v;
        mlops__prompt_version_ref(v);
    }
    mlops__rwlock_unlock(&p->lock);
    return v;
}

static centry *insert(mlops__prompts *p, const char *key, int kind)
{
    uint64_t hash = mlops__hash_str(key, 0);
    centry *e = find(p, key, hash);
    if (e)
        return e;
    if (p->count >= p->cache_max)
        mlops__prompts_cache_clear(p, false);
    e = calloc(1, sizeof *e);
    if (!e || !(e->key = mlops__strdup(key))) {
        free(e);
        return NULL;
    }
    e->hash = hash;
    e->kind = kind;
    size_t b = hash & (p->nbuckets - 1);
    e->next = p->buckets[b];
    p->buckets[b] = e;
    p->count++;
    return e;
}

/*
 * Records what a slow-path resolution read. `counter` was read before the store was
 * queried and `gen` before the label was, so what was read is at least that new;
 * storing it under them can only cause a spurious miss, never a stale hit. *v may be
 * replaced by an equal version already cached (the reference is moved accordingly).
 */
void mlops__prompts_cache_put(mlops__prompts *p, uint64_t counter, int64_t gen,
                              const mlops__prompt_ref *ref, const label_target *target,
                              const char *label, mlops__prompt_version **v)
{
    char k[2 * MLOPS__NAME_MAX + 32];
    mlops__rwlock_wrlock(&p->lock);
    if (p->gen != gen || gen < 0) {
        mlops__prompts_cache_clear(p, true);
        p->gen = gen;
    }
    p->counter = counter;
    if (v && *v) {
        version_key(k, sizeof k, (*v)->name, (*v)->version);
        centry *e = insert(p, k, VERSION_ENTRY);
        if (e && !e->v) {
            mlops__prompt_version_ref(*v);
            e->v = *v;
        } else if (e && e->v != *v) {
            mlops__prompt_version_ref(e->v);
            mlops__prompt_version_unref(*v);
            *v = e->v;
        }
    }
    if (target && ref->kind != MLOPS__REF_VERSION) {
        label_key(k, sizeof k, ref);
        centry *e = insert(p, k, LABEL_ENTRY);
        if (e && e->kind == LABEL_ENTRY) {
            mlops__prompt_target_clear(&e->target);
            e->target.version = target->version;
            if (target->narms) {
                e->target.arms = malloc(target->narms * sizeof *target->arms);
                if (e->target.arms) {
                    memcpy(e->target.arms, target->arms, target->narms * sizeof *target->arms);
                    e->target.narms = target->narms;
                } else {
                    e->target.version = 0; /* out of memory: resolves to a miss */
                }
            }
            snprintf(e->label, sizeof e->label, "%s", label);
        }
    }
    mlops__rwlock_unlock(&p->lock);
}
