// Compiles mlops.h as C++ (-pedantic -Werror) and links against the C library.
#include "mlops.h"

#include <cstdio>

int main()
{
    mlops_t *h = nullptr;
    int rc = mlops_open(":memory:", nullptr, &h);
    if (rc != MLOPS_OK)
        std::fprintf(stderr, "%s\n", mlops_last_error());
    mlops_close(h);
    return rc == MLOPS_OK ? 0 : 1;
}
