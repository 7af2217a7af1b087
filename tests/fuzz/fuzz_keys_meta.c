/* Fuzz target: virtual key metadata JSON (mlops_keys_create's meta_json). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/keys.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    if (!j)
        return 0;
    mlops__key_meta m;
    if (mlops__key_meta_parse(j, 1795716000000LL, &m) == MLOPS_OK) {
        (void)mlops__key_period_start(m.period, 1795716000000LL);
        (void)mlops__key_period_next(m.period, 1795716000000LL);
        mlops__key_meta_free(&m);
    }
    mlops__keys_opts o;
    (void)mlops__keys_config_check(j, "config.keys", &o);
    json_decref(j);
    return 0;
}
