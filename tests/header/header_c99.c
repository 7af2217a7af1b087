/* Compiles mlops.h alone as C99 -pedantic -Werror, and checks header/library versions. */
#include "mlops.h"

#include <stdio.h>

int main(void)
{
    if (mlops_version_number() != MLOPS_VERSION_NUMBER) {
        fprintf(stderr, "header %d != library %d\n", MLOPS_VERSION_NUMBER, mlops_version_number());
        return 1;
    }
    mlops_t *h = NULL;
    int rc = mlops_open(":memory:", NULL, &h);
    mlops_close(h);
    return rc == MLOPS_OK ? 0 : 1;
}
