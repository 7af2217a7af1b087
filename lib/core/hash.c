/* xxh3 hashing (xxHash's XXH3 family) behind small, stable internal names. */
#include "core.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <stdio.h>

uint64_t mlops__hash64(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}

uint64_t mlops__hash_str(const char *s, uint64_t seed)
{
    if (!s)
        s = "";
    size_t n = 0;
    while (s[n])
        n++;
    return XXH3_64bits_withSeed(s, n, seed);
}

void mlops__hash128_hex(const void *data, size_t len, char hex[33])
{
    XXH128_hash_t h = XXH3_128bits(data, len);
    snprintf(hex, 33, "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
}

struct mlops__hasher {
    XXH3_state_t *st;
};

mlops__hasher *mlops__hasher_new(uint64_t seed)
{
    XXH3_state_t *st = XXH3_createState();
    if (!st)
        return NULL;
    XXH3_64bits_reset_withSeed(st, seed);
    return (mlops__hasher *)st;
}

void mlops__hasher_update(mlops__hasher *h, const void *data, size_t len)
{
    XXH3_64bits_update((XXH3_state_t *)h, data, len);
}

uint64_t mlops__hasher_digest(const mlops__hasher *h)
{
    return XXH3_64bits_digest((const XXH3_state_t *)h);
}

void mlops__hasher_free(mlops__hasher *h)
{
    XXH3_freeState((XXH3_state_t *)h);
}

double mlops__hash_unit(uint64_t h)
{
    /* The top 53 bits fill a double's mantissa exactly: uniform on [0, 1). */
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}
