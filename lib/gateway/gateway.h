/*
 * lib/gateway — the face of the gateway module to the rest of lib/ (lib/api).
 *
 * One OpenAI-compatible chat API over many providers (openai-compatible, anthropic,
 * ollama; the local engine slot), with routing among deployments, retries with
 * backoff, cooldowns, fallbacks and streaming, run as a pipeline of stages
 * (pipeline.h). The state is shared by all threads using the handle.
 */
#ifndef MLOPS_LIB_GATEWAY_H
#define MLOPS_LIB_GATEWAY_H

#include "../core/core.h"
#include "mlops/gateway.h"

struct mlops__gateway;

/** Checks the "gateway" section of mlops_open's config (NULL when absent). */
int mlops__gateway_check_config(const json_t *section);

/** Builds the module state; `section` may be NULL (no models until configured). */
int mlops__gateway_open(mlops_t *h, mlops__logger *logger, const json_t *section,
                        struct mlops__gateway **out);
void mlops__gateway_close(struct mlops__gateway *gw);

struct mlops__prompts;
struct mlops__models;
/**
 * Gives the gateway the prompt registry (prompt resolution stage) and the model
 * registry (registry stage) of the same handle. Either may be NULL (the stage then
 * reports it and fails requests that need it). Call once after open.
 */
void mlops__gateway_bind(struct mlops__gateway *gw, struct mlops__prompts *prompts,
                         struct mlops__models *models);
struct mlops__guard;
struct mlops__cache;
/**
 * Gives the gateway the guardrails (guard_input / guard_output stages) and the cache
 * (cache_lookup / cache_store stages) of the same handle. Either may be NULL: its
 * stages then report "unavailable" and let the request through. Call once after open.
 */
void mlops__gateway_bind_filters(struct mlops__gateway *gw, struct mlops__guard *guard,
                                 struct mlops__cache *cache);

/**
 * Replaces the configuration with `cfg` (validated here; `what` prefixes error
 * paths). Requests in flight finish on the snapshot they started with.
 */
int mlops__gateway_configure(struct mlops__gateway *gw, const json_t *cfg, const char *what);

/**
 * Runs one chat request (JSON text) through the pipeline. With fn non-NULL the request
 * is streamed and fn receives each OpenAI chunk. *out receives the final response
 * (also after a stream broken mid-way, alongside the error status).
 */
int mlops__gateway_chat(struct mlops__gateway *gw, mlops_t *h, const char *request_json,
                        mlops_chunk_fn fn, void *user_data, char **out);

/**
 * Attaches the virtual keys and ledger state (owned by the keys module) so that the
 * pipeline's keys and ledger stages can use it; NULL detaches. Called at open/close.
 */
struct mlops__keys;
void mlops__gateway_attach_keys(struct mlops__gateway *gw, struct mlops__keys *keys);

/** Describes models, deployments and their health as JSON. */
int mlops__gateway_status(struct mlops__gateway *gw, json_t **out);

#endif
