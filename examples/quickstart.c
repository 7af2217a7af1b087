/*
 * quickstart: the tour of libmlops a newcomer runs first.
 *
 * It works on the embedded defaults: an SQLite file, no network, no keys. Each module
 * adds its step here as it lands, so that this program ends up showing the whole
 * pipeline.
 *
 * usage: quickstart [STORE_PATH]      (default: ./quickstart.db)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlops.h"

static int fail(const char *step, int rc)
{
    fprintf(stderr, "quickstart: %s failed: %s (%s)\n", step, mlops_last_error(),
            mlops_strerror(rc));
    return 1;
}

/* Prints what a cache lookup found, in plain words. */
static int show_lookup(mlops_t *h, const char *label, const char *request)
{
    char *out = NULL;
    int rc = mlops_cache_lookup(h, request, NULL, &out);
    if (rc != MLOPS_OK)
        return rc;
    const char *hit = strstr(out, "\"hit\":\"exact\"")      ? "an exact hit"
                      : strstr(out, "\"hit\":\"semantic\"") ? "a semantic hit"
                                                             : "a miss";
    printf("   %-46s -> %s\n      %s\n", label, hit, out);
    mlops_free(out);
    return MLOPS_OK;
}

/*
 * The semantic cache: a repeated question is an exact hit, a paraphrase is a semantic
 * hit, and a different question with high word overlap is a miss (the guard refuses
 * "close" for "open").
 */
static int step_cache(mlops_t *h)
{
    const char *asked = "{\"namespace\": \"quickstart\", \"prompt\": \"How do I open a file?\"}";
    int64_t id = 0;
    int rc = mlops_cache_put(h, asked, "\"Call open(path, mode) and close it when done.\"",
                             "{\"ttl_s\": 3600}", &id);
    if (rc != MLOPS_OK)
        return rc;
    printf("2. cached an answer for \"How do I open a file?\" (entry %lld), then looked up:\n",
           (long long)id);
    if ((rc = show_lookup(h, "the same question again", asked)) != MLOPS_OK ||
        (rc = show_lookup(h, "a paraphrase: \"how can I open a file\"",
                          "{\"namespace\": \"quickstart\", \"prompt\": \"how can I open a file\"}")) !=
            MLOPS_OK ||
        (rc = show_lookup(h, "a different question: \"How do I close a file?\"",
                          "{\"namespace\": \"quickstart\", \"prompt\": \"How do I close a file?\"}")) !=
            MLOPS_OK)
        return rc;
    char *stats = NULL;
    if ((rc = mlops_cache_stats(h, &stats)) != MLOPS_OK)
        return rc;
    printf("   cache stats: %.160s...\n", stats);
    mlops_free(stats);
    return MLOPS_OK;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "quickstart.db";
    printf("libmlops %s quickstart\n\n", mlops_version());

    mlops_t *h = NULL;
    int rc = mlops_open(path, "{\"log_level\": \"warn\"}", &h);
    if (rc != MLOPS_OK)
        return fail("mlops_open", rc);
    char *info = NULL;
    if ((rc = mlops_info(h, &info)) != MLOPS_OK) {
        mlops_close(h);
        return fail("mlops_info", rc);
    }
    printf("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s\n", path, info);
    mlops_free(info);

    if ((rc = step_cache(h)) != MLOPS_OK) {
        mlops_close(h);
        return fail("step_cache", rc);
    }

    mlops_close(h);
    printf("\ndone.\n");
    return 0;
}
