/* A program outside the project that links the installed libmlops. */
#include <mlops.h>
#include <stdio.h>

int main(void)
{
    mlops_t *h = NULL;
    int rc = mlops_open(":memory:", NULL, &h);
    if (rc != MLOPS_OK) {
        fprintf(stderr, "mlops_open: %s\n", mlops_last_error());
        return 1;
    }
    printf("consumer linked libmlops %s\n", mlops_version());
    mlops_close(h);
    return 0;
}
