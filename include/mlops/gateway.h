/*
 * libmlops — gateway: one OpenAI-compatible chat API over many model providers.
 *
 * A public model name maps to deployments (provider, base URL, key, upstream model,
 * weight, limits, prices, context window, timeouts). Each request is validated, routed
 * to a deployment by a balancing strategy, sent with retries (exponential backoff with
 * jitter, Retry-After honoured), and falls back to other models when retries are
 * spent. Failing deployments cool down (a circuit breaker with a half-open probe).
 * Providers: "openai" (any OpenAI-compatible base URL, Azure-style api-key header),
 * "anthropic" (Messages API, translated both ways), "ollama" (native /api/chat);
 * "local" (the in-process engine) is reserved for when the engine is built in.
 *
 * Configuration JSON (mlops_gateway_configure, mlops_gateway_load, or the "gateway"
 * object of mlops_open's config):
 *
 *   {"models": [{"name": "chat", "deployments": [{
 *        "provider": "openai" | "anthropic" | "ollama",         (required)
 *        "base_url": "http://127.0.0.1:9001/v1",                 (required, http/https)
 *        "model": "upstream-id",                                 (required)
 *        "id": "chat-a",            name in messages and x_mlops (default "<name>#<i>")
 *        "api_key": "sk-..." | "api_key_env": "OPENAI_API_KEY",
 *        "api_key_header": "authorization" | "api-key" | "x-api-key",
 *        "api_version": "2024-06-01",  Azure ?api-version= / anthropic-version header
 *        "headers": {"Name": "value"}, "params": {extra body fields},
 *        "ca_file": "/etc/ssl/private-ca.pem",  (TLS is always verified; this bundle
 *                                                 replaces the system CAs)
 *        "weight": 1, "priority": 0, "rpm": 600, "tpm": 100000, "max_parallel": 8,
 *        "context_window": 8192, "input_cost_per_mtok": 0.15, "output_cost_per_mtok": 0.6,
 *        "timeout_ms": 30000, "connect_timeout_ms": 5000, "first_byte_timeout_ms": 0,
 *        "default_max_tokens": 4096, "stream_usage": true}]}],
 *    "router": {"strategy": "weighted" | "least_busy" | "lowest_latency" | "usage" |
 *                           "lowest_cost" | "priority",
 *               "retries": 2, "retry_on": [429, 500, 502, 503, 504, ...],
 *               "retry_on_timeout": true, "retry_on_connect_error": true,
 *               "backoff_base_ms": 50, "backoff_max_ms": 2000, "retry_after_max_ms": 30000,
 *               "timeout_ms": 120000, "latency_buffer": 0.1,
 *               "fallbacks": {"chat": ["backup"]},
 *               "context_window_fallbacks": {"chat": ["chat-large"]},
 *               "content_policy_fallbacks": {"chat": ["other"]},
 *               "cooldown": {"allowed_fails": 3, "window_s": 60, "cooldown_s": 5}},
 *    "routing": {...}   rules + complexity routing (see mlops/router.h): a request whose
 *                       model is "auto" (or another name in routing.models) is sent to the
 *                       model of the tier the rules or the scorer pick,
 *    "require_key": false   true: requests without x_mlops.api_key are MLOPS_EAUTH,
 *    "pipeline": {"keys": true, "complexity_routing": true, "routing": true,
 *                 "provider": true, "ledger": true}}
 * The keys stage checks x_mlops.api_key (mlops/keys.h) and reserves the request's
 * maximum cost (prompt estimate + max_tokens at the dearest deployment's prices); the
 * ledger stage settles it on the reported usage and writes the ledger row. x_mlops gains
 * "key", "route" (the decision) and, on refusal, "retry_after_ms".
 *
 * Requests are OpenAI chat-completions JSON. Per-request options ride in an "x_mlops"
 * object, removed before anything goes upstream:
 *   {"timeout_ms": N (overall deadline), "fallbacks": false (no fallback models),
 *    "metadata": {...}, "api_key": "...", "prompt": {"ref": "...", "vars": {...}},
 *    "cache": bool, "tags": [...]}   (api_key, prompt, cache are read by the key, prompt
 *    and cache stages when those modules are built in; unknown keys are MLOPS_EINVAL).
 * Responses are chat.completion JSON with an "x_mlops" object:
 *   {"model": "chat", "deployment": "chat#0", "provider": "openai",
 *    "attempts": [{"deployment": "...", "model": "...", "status": 500, "latency_ms": 1.2,
 *                  "error": "..."}],
 *    "fallbacks": ["backup"], "cost": 0.000123, "latency_ms": 12.5,
 *    "metadata": {...}, "tags": [...]   (echoed from the request's x_mlops),
 *    "stages": [{"name": "routing", "status": "ok", "ms": 0.01, ...}, ...]}
 */
#ifndef MLOPS_GATEWAY_H
#define MLOPS_GATEWAY_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Receives one streamed chunk.
 * @param chunk_json an OpenAI "chat.completion.chunk" object as JSON text, valid only
 *                   during the call; the same shape whatever the provider.
 * @param user_data  the pointer given to mlops_chat_stream().
 * @return 0 to go on; non-zero cancels the request (it ends with MLOPS_ECANCELED).
 * Called on the thread that called mlops_chat_stream().
 */
typedef int (*mlops_chunk_fn)(const char *chunk_json, void *user_data);

/**
 * Replaces the gateway configuration (the shape is in this header's top comment).
 * Requests in flight finish on the configuration they started with; deployments keep
 * their health and latency history across a reload when their model name and id stay.
 * @param h           the handle.
 * @param config_json the configuration object.
 * @return MLOPS_OK; MLOPS_EINVAL (NULL argument); MLOPS_ECONFIG (malformed JSON, an
 *         unknown or missing key, a bad URL or value; the message names the key).
 *         On failure the previous configuration stays in force. Thread-safe.
 */
MLOPS_API int mlops_gateway_configure(mlops_t *h, const char *config_json);

/**
 * Reads a configuration file (JSON) and applies it like mlops_gateway_configure().
 * @param h    the handle.
 * @param path the file.
 * @return as mlops_gateway_configure(), plus MLOPS_EIO when the file cannot be read.
 * Thread-safe.
 */
MLOPS_API int mlops_gateway_load(mlops_t *h, const char *path);

/**
 * Sends a chat-completions request through the gateway and waits for the answer.
 * @param h            the handle.
 * @param request_json an OpenAI chat-completions request ("model" is a public model
 *                     name of the configuration); "stream" must be absent or false.
 * @param out          receives the chat.completion response JSON with "x_mlops";
 *                     release with mlops_free(). NULL on failure.
 * @return MLOPS_OK; MLOPS_EPARSE (not JSON); MLOPS_EINVAL (a field is wrong; the
 *         message names it); MLOPS_ENOTFOUND (unknown model); MLOPS_EPROVIDER (the
 *         upstream failed and retries and fallbacks are spent), MLOPS_ETIMEOUT,
 *         MLOPS_ERATELIMIT (429 or the deployments' limits; the message says when to
 *         retry) — these name the deployment and the upstream status.
 * Thread-safe: many threads may call it on one handle.
 */
MLOPS_API int mlops_chat(mlops_t *h, const char *request_json, char **out);

/**
 * Sends a chat-completions request and streams the answer as OpenAI chunks, whatever
 * the provider. Retries and fallbacks happen only before the first chunk.
 * @param h               the handle.
 * @param request_json    as for mlops_chat() ("stream" may be true or absent).
 * @param fn              receives each chunk; a non-zero return cancels.
 * @param user_data       passed to fn.
 * @param out_final_json  receives the assembled chat.completion (content, tool calls,
 *                        finish_reason, usage, x_mlops); release with mlops_free().
 *                        When the stream breaks after chunks were delivered the call
 *                        returns MLOPS_EPROVIDER (or MLOPS_ETIMEOUT) and still fills
 *                        this with what arrived, x_mlops.stream.broken = true.
 * @return as mlops_chat(), plus MLOPS_ECANCELED when fn asked to stop.
 * Thread-safe.
 */
MLOPS_API int mlops_chat_stream(mlops_t *h, const char *request_json, mlops_chunk_fn fn, void *user_data, char **out_final_json);

/**
 * Describes the gateway as JSON: the configuration generation, the pipeline stages and
 * their switches, and per model each deployment's health:
 * {"generation": N, "stages": [{"name": "routing", "enabled": true}, ...],
 *  "models": [{"name": "chat", "deployments": [{"id": "chat#0", "provider": "openai",
 *     "base_url": "...", "model": "...", "in_flight": 0, "latency_ewma_ms": 12.3,
 *     "state": "closed" | "open" | "half_open", "cooldown_remaining_ms": 0,
 *     "requests": N, "successes": N, "failures": N, "cooldowns": N,
 *     "minute_requests": N, "minute_tokens": N, "last_status": 200,
 *     "last_error": "..."}]}]}
 * @param h   the handle.
 * @param out receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_gateway_status(mlops_t *h, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_GATEWAY_H */
