/*
 * The module table: every module of the library, in the order they are configured
 * and opened. A module that lands adds its descriptor here.
 */
#include "api.h"

extern const mlops__module mlops__api_core_module;
extern const mlops__module mlops__api_prompts_module;
extern const mlops__module mlops__api_models_module;
extern const mlops__module mlops__api_cache_module;
extern const mlops__module mlops__api_guard_module;
extern const mlops__module mlops__api_engine_module;
extern const mlops__module mlops__api_gateway_module;
extern const mlops__module mlops__api_keys_module;

/* keys opens after gateway: it attaches itself to the gateway's pipeline. */
const mlops__module *const mlops__modules[] = {
    &mlops__api_core_module,
    &mlops__api_prompts_module,
    &mlops__api_models_module,
    &mlops__api_cache_module,
    &mlops__api_guard_module,
    &mlops__api_engine_module,
    &mlops__api_gateway_module,
    &mlops__api_keys_module,
};

const size_t mlops__modules_count = MLOPS__ARRAY_LEN(mlops__modules);
