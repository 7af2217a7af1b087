/*
 * OpenAI chat-completions request validation. Known fields are checked (type and
 * range); unknown fields pass through untouched to providers that accept them.
 * Per-request library options travel in an "x_mlops" object that is taken out of the
 * request before anything goes upstream.
 */
#ifndef MLOPS_GW_REQUEST_H
#define MLOPS_GW_REQUEST_H

#include "../core/core.h"

/**
 * Validates `req` (an object). Errors: MLOPS_EINVAL naming the field
 * ("request.messages[1].role: 'bot' is not one of system, user, assistant, tool").
 * Messages may be missing only when x_mlops.prompt stands in for them.
 */
int mlops__gw_request_check(const json_t *req);

/** Checks the x_mlops options object (MLOPS_EINVAL naming the key). */
int mlops__gw_options_check(const json_t *opts);

/** A rough token count of the prompt (characters / 4 plus per-message overhead). */
int64_t mlops__gw_estimate_tokens(const json_t *req);

#endif
