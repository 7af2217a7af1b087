/*
 * libmlops — an embeddable LLM/ML operations stack in one C library.
 *
 * The umbrella header: include this one. Each module has its own header under
 * mlops/, documented there. Start with mlops/core.h (the handle, status codes,
 * errors and memory rules that every other header follows).
 */
#ifndef MLOPS_H
#define MLOPS_H

#include "mlops/core.h"
#include "mlops/prompts.h"
#include "mlops/models.h"
#include "mlops/engine.h"
#include "mlops/gateway.h"
#include "mlops/cache.h"
#include "mlops/guard.h"
#include "mlops/keys.h"
#include "mlops/router.h"

#endif /* MLOPS_H */
