/* Helpers shared by the cache tests (public API only). */
#ifndef MLOPS_TESTS_CACHE_SUPPORT_H
#define MLOPS_TESTS_CACHE_SUPPORT_H

#include <stdint.h>

#include "mlops.h"

/** {"namespace": ns, "prompt": prompt} as compact JSON (free it). */
char *cache_simple(const char *ns, const char *prompt);
/** mlops_cache_put of that request with `answer` as a JSON string response. */
int cache_put_rc(mlops_t *h, const char *ns, const char *prompt, const char *answer, int64_t *id);
/** The same, asserting success; returns the new id. */
int64_t cache_put(mlops_t *h, const char *ns, const char *prompt, const char *answer);
/** stats[a] (or stats[a][b]) as an integer, -1 when absent. */
int64_t cache_stat_int(mlops_t *h, const char *a, const char *b);

#endif
