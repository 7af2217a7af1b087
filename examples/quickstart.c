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

#include "mlops.h"

static int fail(const char *step, int rc)
{
    fprintf(stderr, "quickstart: %s failed: %s (%s)\n", step, mlops_last_error(),
            mlops_strerror(rc));
    return 1;
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

    mlops_close(h);
    printf("\ndone.\n");
    return 0;
}
