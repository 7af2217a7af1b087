/*
 * libmlops — gateway: one OpenAI-compatible chat API over many model providers.
 *
 * A public model name maps to deployments (provider, base URL, key, upstream model,
 * weight, limits, prices, context window, timeouts). Each request is validated, routed
 * to a deployment by a balancing strategy, sent with retries (exponential backoff with
 * jitter, Retry-After honoured), and falls back to other models when retries are
 * spent. Failing deployments cool down (a circuit breaker with a half-open probe).
 * Providers: "openai" (any OpenAI-compatible base URL, Azure-style api-key header),
 * "anthropic" (Messages API, translated both ways), "ollama" (native /api/chat),
 * "local" (the in-process engine on a GGUF file: no network, the offline last resort
 * as a fallback target).
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
 *        "default_max_tokens": 4096, "stream_usage": true}]},
 *    {"name": "offline", "deployments": [{
 *        "provider": "local",            (no base_url, no key)
 *        "model": "/models/tiny.gguf",   (or "model_path"): loaded on first use, shared
 *                                          by requests; kept across reloads unless the
 *                                          path or options change
 *        "options": {"threads": 0 (all CPUs), "n_ctx": 0 (from the file, <= 4096),
 *                    "kv_f32": false, "sessions": 2 (idle contexts kept)},
 *        "chat_template": "chatml",  (overrides the model's template: llama2, llama3,
 *                                     chatml, mistral, phi3, gemma, zephyr)
 *        "params": {"top_k": 40, ...},  (sampling defaults; the request's values win)
 *        "timeout_ms": 60000}]},
 *    {"name": "assistant", "registry": {   (versions of a registered model serve it)
 *        "alias": "production",            (required: the alias whose pick serves)
 *        "model": "assistant",             (registered name; default the model's name)
 *        "error_metric": "error_rate", "latency_metric": "latency_ms",
 *        "observe": true, "shadows": true, "shadow_timeout_ms": 2000},
 *     "deployments": [...]}],  (optional with "registry": serves versions without a
 *                               gateway_model tag)
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
 *    "pipeline": {"keys": true, "prompt": true, "guard_input": true,
 *                 "cache_lookup": true, "complexity_routing": true, "registry": true,
 *                 "routing": true, "provider": true, "registry_observe": true,
 *                 "guard_output": true, "cache_store": true, "ledger": true},
 *    "guard": {"input_policy": "name" | {policy}, "output_policy": "name" | {policy},
 *              "scan_system": false, "grounding_context": false,
 *              "buffer_stream": false, "request_override": false},
 *    "cache": {"namespace": "gateway", "semantic": true, "threshold": 0.55,
 *              "ttl_s": 0, "max_temperature": 1.0}}
 *
 * The pipeline, in order: key check -> prompt resolution -> input guard -> cache lookup
 * -> complexity routing -> registry pick -> routing -> provider (retries, fallbacks) ->
 * registry observation -> output guard -> cache store -> ledger and key settlement. The guard stages run when "guard" is present (the guard
 * module's default policy when no policy is named); the cache stages when "cache" is
 * present (the handle's cache module, see mlops/cache.h); "pipeline.<stage>": false
 * turns a stage off.
 *  - guard_input scans the text parts of every user message (and system messages with
 *    scan_system) with the input policy. "block" fails the call with MLOPS_EBLOCKED;
 *    "redact" replaces the text before the cache key is computed and before anything
 *    goes upstream; "warn" proceeds. Reported in x_mlops.guard.input {"verdict",
 *    "policy", "findings": [{"scanner", "type", "start", "end", "score", "action",
 *    "message"}], "scores", ...} (spans only, never the matched text).
 *  - cache_lookup looks the (redacted) request up, exact tier then semantic, in the
 *    namespace, partitioned by model, system prompt, history, temperature class, format
 *    and the resolved prompt version. A hit answers at once: x_mlops.cache = {"hit":
 *    "exact" | "semantic", "similarity", "entry_id"}; later stages report "skipped";
 *    a streamed request gets the cached answer as chunks. Skipped with x_mlops.cache
 *    false or a temperature above max_temperature; cache errors never fail a request.
 *  - guard_output scans each choice's content with the output policy (context: the
 *    request's text with grounding_context). "block" withholds the answer
 *    (MLOPS_EBLOCKED), "redact" rewrites it. Streams: chunks already delivered cannot
 *    be recalled unless buffer_stream holds them until the verdict (then time to first
 *    chunk is the whole generation).
 *  - cache_store stores an answer that passed the output guard and finished ("stop",
 *    "tool_calls"...; never a failed, blocked or truncated one).
 *  x_mlops.guard (allowed with request_override): false skips both guard stages; a
 *  policy name or object replaces both policies.
 *
 * Registry entries: the version lib/models picks on the alias (sticky by
 * x_mlops.metadata.user, else the request's "user") is served by the gateway model its
 * tag (or param) "gateway_model" names; afterwards one observation {error_metric: 0/1,
 * latency_metric: ms} is recorded for it, and the pick's shadow versions get a copy of
 * the request (not streamed, no fallbacks, run after the primary with their own
 * deadline, never changing the primary's answer).
 * maximum cost (prompt estimate + max_tokens at the dearest deployment's prices); the
 * ledger stage settles it on the reported usage and writes the ledger row. x_mlops gains
 * "key", "route" (the decision) and, on refusal, "retry_after_ms".
 *
 * Requests are OpenAI chat-completions JSON. Per-request options ride in an "x_mlops"
 * object, removed before anything goes upstream:
 *   {"timeout_ms": N (overall deadline), "fallbacks": false (no fallback models),
 *    "metadata": {...}, "api_key": "...",
 *    "cache": bool (false: no lookup, no store), "guard": false | "policy" | {policy},
 *    "tags": [...],
 *    "prompt": {"ref": "name@label" | "name:3" | "name", "vars": {...},
 *               "key": "sticky key for split labels" (default metadata.user, then user),
 *               "role": "system" | "user", "strict": true}}
 *   built in; unknown keys are MLOPS_EINVAL). A prompt stands in for messages: a text
 *   prompt becomes one message ("user" when the request has no messages, else
 *   "system", or "role"), a chat prompt its messages (placeholders filled from vars);
 *   they come before the request's own messages, and the prompt's config fills
 *   parameters the request does not set (temperature, max_tokens, response_format...).
 * Responses are chat.completion JSON with an "x_mlops" object:
 *   {"model": "chat", "deployment": "chat#0", "provider": "openai",
 *    "attempts": [{"deployment": "...", "model": "...", "status": 500, "latency_ms": 1.2,
 *                  "error": "..."}],
 *    "fallbacks": ["backup"], "cost": 0.000123, "latency_ms": 12.5,
 *    "metadata": {...}, "tags": [...]   (echoed from the request's x_mlops),
 *    "prompt": {"name", "version", "label", "split", "type", "role", "config_applied"},
 *    "registry": {"model", "alias", "version", "gateway_model", "observed",
 *                 "shadows": [{"version", "gateway_model", "status", "latency_ms"}]},
 *    "cache": {"hit": ..., "similarity": ..., "entry_id": ..., "stored": id},
 *    "guard": {"input": {...}, "output": {...}},
 *    "stages": [{"name": "routing", "status": "ok" | "error" | "disabled" | "not_run" |
 *                "skipped", "ms": 0.01, ...}, ...]}
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
 *                     release with mlops_free(). NULL on failure, except on
 *                     MLOPS_EBLOCKED: then an error object {"error": {"message", "type":
 *                     "guardrail_blocked", "code": "blocked"}, "x_mlops": {..., "guard":
 *                     the report}}.
 * @return MLOPS_OK; MLOPS_EPARSE (not JSON); MLOPS_EINVAL (a field is wrong; the
 *         message names it); MLOPS_ENOTFOUND (unknown model); MLOPS_EPROVIDER (the
 *         upstream failed and retries and fallbacks are spent), MLOPS_ETIMEOUT,
 *         MLOPS_ERATELIMIT (429 or the deployments' limits; the message says when to
 *         retry) — these name the deployment and the upstream status; MLOPS_EBLOCKED (a
 *         guardrail refused the request or the answer; the message names the scanners
 *         and finding types).
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
 *                        On MLOPS_EBLOCKED it receives the error object of
 *                        mlops_chat() (chunks already delivered are not recalled
 *                        unless gateway.guard.buffer_stream is set).
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
 *     "last_error": "...",
 *     "loaded": true, "idle_sessions": 1   (provider local: the model file is loaded)}],
 *   "registry": {"model": "...", "alias": "..."}   (models with a registry entry)}]}
 * @param h   the handle.
 * @param out receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_gateway_status(mlops_t *h, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_GATEWAY_H */
