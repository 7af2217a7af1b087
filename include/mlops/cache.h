/*
 * libmlops — cache: an exact and semantic response cache for LLM requests.
 *
 * Two tiers. The exact tier matches the canonicalised request (model, system prompt,
 * every message, prompt version and the sampling parameters that change the answer)
 * by its xxh3-128 hash. The semantic tier embeds the user's last turn and looks for a
 * cached prompt whose embedding has cosine similarity >= the partition's threshold
 * (a plain cosine of unit vectors, computed with OpenBLAS), but only inside the
 * request's partition: by default namespace + model + hash of the system prompt + hash
 * of the earlier turns + prompt version + temperature class (+ response format/tools).
 * A semantic candidate must then pass a second check before it is served (the lexical
 * guard: negation, number, antonym and entity-substitution mismatches; and/or the
 * caller's callback). Entries reported wrong through mlops_cache_feedback() are never
 * served again and raise their partition's threshold.
 *
 * Requests (`request_json`) are either an OpenAI chat-completions request
 *   {"model": "...", "messages": [{"role": "system"|"user"|"assistant"|..., "content":
 *    "..." or [{"type": "text", "text": "..."}...]}...], "temperature": 0.2, ...,
 *    "x_mlops": {"namespace": "...", "prompt": "name@version"}}
 * or the simple form {"namespace": "...", "prompt": "...", "model": "...", "system":
 * "...", "prompt_version": "...", "temperature": 0.0} (only "prompt" is required).
 * The namespace defaults to "default".
 *
 * Configuration (the "cache" object of mlops_open()'s config_json; all optional):
 *   "enabled" (bool, true); "embedder" ("hashed" | "callback" | "provider" | "engine",
 *   default "hashed"); "dim" (integer 16..8192, default 384: the hashed embedder's
 *   dimension, the provider's expected dimension; the engine embedder's is the model's,
 *   and a different "dim" is MLOPS_ECONFIG); "seed" (integer, hashed embedder seed);
 *   "engine_model" (the engine embedder's .gguf file, required with it: loaded once by
 *   mlops_open(), shared by threads, freed by mlops_close(); BERT encoders pool as the
 *   file says, llama/qwen2 give the mean of the final hidden state; unit vectors; prompts
 *   longer than the context are truncated; a file that cannot be loaded fails
 *   mlops_open() with MLOPS_ECONFIG naming the key); "engine_options" ({"threads"
 *   1..256, "n_ctx", "kv_type": "f16"|"f32"}: the model's load options);
 *   "provider" ({"base_url", "model", "api_key_env", "timeout_ms"}: an OpenAI-compatible
 *   POST base_url/embeddings endpoint); "threshold" (number 0..1, default 0.55: the
 *   cosine a semantic candidate needs); "max_threshold" (default 0.99) and
 *   "adapt_step" (default 0.02): how far a wrong-hit report raises a partition's
 *   threshold; "guard" ("lexical" or "off", default "lexical"); "partition_by" (array
 *   of "model", "system", "history", "prompt_version", "temperature", "format";
 *   default all; the namespace always partitions); "max_partition_key" (bytes,
 *   default 512); "max_prompt_bytes" (default 65536); "ttl_s" (default TTL in
 *   seconds, 0 = none); "refresh_ttl_on_hit" (bool, false); "max_entries" (default
 *   100000, 0 = unbounded); "max_bytes" (default 268435456, 0 = unbounded): LRU
 *   eviction keeps both bounds; "vectors" ("f32" or "int8", default "f32": int8 rows
 *   with a per-row scale, scanned with an int8 dot product, the best "rescore"
 *   (default 8) candidates rescored against the kept float32 rows); "persist" (bool,
 *   true); "flush_every" (writes per batch, default 1: each put is committed before
 *   it returns; larger values batch puts in a write-behind queue); "flush_interval_ms"
 *   (default 1000; 0 = no background flusher: batches are written every flush_every
 *   writes, on mlops_cache_flush() and on close).
 *
 * Persistence: entries are written to the store in batched transactions (write-behind);
 * a crash loses at most the unflushed batch and never leaves a half-written row. On open
 * the entries and their vectors are loaded back; a damaged row is skipped with a logged
 * warning and counted in stats ("corrupt_rows").
 *
 * Several processes (or handles) may share one store file: every committed change is
 * recorded in a change log, and each lookup, put, invalidation and stats call first
 * checks the store's change counter (about 2 us); when another process committed
 * something, only the logged changes since the last check are applied (new entries
 * loaded, removed ones dropped), so a put in one process is an exact and semantic hit
 * in another at its next call, and an invalidation, a wrong-hit report or an eviction
 * (committed before the call returns) is never served by another process afterwards.
 * Puts queued with flush_every > 1 are seen by others once their batch is written. Ids
 * are reserved in blocks in the store, so processes never reuse each other's.
 *
 * Thread-safety: every function may be called from many threads at once on one handle;
 * lookups run concurrently (reader-writer locks), puts take a short write lock.
 */
#ifndef MLOPS_CACHE_H
#define MLOPS_CACHE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * The caller's embedder (config "embedder": "callback").
 * @param text      the UTF-8 text to embed (the user's last turn), NUL-terminated.
 * @param out       receives dim floats; they need not be unit length (the cache
 *                  normalises), but must be finite and not all zero.
 * @param dim       the dimension given to mlops_cache_set_embedder().
 * @param user_data the pointer given to mlops_cache_set_embedder().
 * @return 0 on success; non-zero cancels the call that needed the embedding
 *         (it fails with MLOPS_ECANCELED). Called from any thread, concurrently; it
 *         must not call mlops_cache_* functions.
 */
typedef int (*mlops_embed_fn)(const char *text, float *out, size_t dim, void *user_data);

/**
 * The caller's second check on a semantic candidate before it is served.
 * @param query_prompt  the user's last turn of the request being looked up.
 * @param cached_prompt the last turn of the cached request that matched.
 * @param user_data     the pointer given to mlops_cache_set_guard().
 * @return 0 to allow serving the candidate; non-zero rejects it (the lookup goes on
 *         with the next candidate or misses). Called from any thread, concurrently; it
 *         must not call mlops_cache_* functions.
 */
typedef int (*mlops_cache_guard_fn)(const char *query_prompt, const char *cached_prompt,
                                    void *user_data);

/**
 * Looks a request up: exact tier first, then the semantic tier in its partition.
 * @param h            the handle.
 * @param request_json the request (see the header comment for the two forms).
 * @param options_json NULL or {"threshold": 0..1 (overrides the partition's),
 *                     "semantic": bool (default true), "namespace": "...",
 *                     "prompt_version": "..."}.
 * @param out          receives JSON {"hit": "exact" | "semantic" | null,
 *                     "similarity": number (1 for exact, null on a miss), "entry_id":
 *                     integer or null, "response": the cached JSON value or null,
 *                     "partition": "..."}; release with mlops_free().
 * @return MLOPS_OK (also on a miss); MLOPS_EINVAL (NULL argument, empty prompt, no user
 *         message); MLOPS_EPARSE (malformed JSON); MLOPS_ELIMIT (partition key or prompt
 *         over the limit); MLOPS_ECANCELED (the embed callback refused);
 *         MLOPS_EPROVIDER (the embeddings endpoint failed); MLOPS_EUNSUPPORTED (cache
 *         disabled). Thread-safe.
 */
MLOPS_API int mlops_cache_lookup(mlops_t *h, const char *request_json, const char *options_json,
                                 char **out);

/**
 * Stores a response for a request (replacing an entry with the same exact key).
 * @param h             the handle.
 * @param request_json  the request (see the header comment).
 * @param response_json the response as JSON (any value; an OpenAI chat completion
 *                      object usually).
 * @param options_json  NULL or {"ttl_s": seconds (0 = none), "namespace": "...",
 *                      "prompt_version": "..."}.
 * @param out_entry_id  receives the new entry's id (may be NULL).
 * @return MLOPS_OK; the errors of mlops_cache_lookup(); MLOPS_EPARSE (response not
 *         JSON). Thread-safe. The entry is persisted by the next write-behind batch.
 */
MLOPS_API int mlops_cache_put(mlops_t *h, const char *request_json, const char *response_json,
                              const char *options_json, int64_t *out_entry_id);

/**
 * Reports on a served entry.
 * @param h             the handle.
 * @param entry_id      the entry_id a lookup returned.
 * @param feedback_json {"verdict": "wrong" | "right"}. "wrong" removes the entry from
 *                      serving for good (persisted), counts a wrong-hit report and, when
 *                      the entry was last served as a semantic hit, raises its
 *                      partition's threshold above that hit's similarity (by at least
 *                      config "adapt_step", at most to "max_threshold").
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EPARSE; MLOPS_ENOTFOUND (no such live entry).
 *         Thread-safe.
 */
MLOPS_API int mlops_cache_feedback(mlops_t *h, int64_t entry_id, const char *feedback_json);

/**
 * Removes entries matching a selector; all given keys must match (AND).
 * @param h             the handle.
 * @param selector_json {"partition": "...", "namespace": "...", "model": "...",
 *                      "prompt_version": "...", "entry_id": N, "all": true}; at least
 *                      one key.
 * @param out_count     receives how many entries were removed (may be NULL).
 * @return MLOPS_OK (also when nothing matched); MLOPS_EINVAL; MLOPS_EPARSE.
 *         Thread-safe.
 */
MLOPS_API int mlops_cache_invalidate(mlops_t *h, const char *selector_json, int64_t *out_count);

/**
 * Counters since open and the cache's current size, as JSON:
 * {"entries", "bytes", "partitions", "hits": {"exact", "semantic"}, "misses", "puts",
 *  "guard_rejections", "wrong_reports", "right_reports", "evictions", "expired",
 *  "invalidated", "corrupt_rows", "pending_writes", "flushes", "threshold",
 *  "embedder": {"kind", "dim", "id"}, "vectors": {"format", "rows", "tombstones"},
 *  "adapted_partitions": [{"partition", "threshold", "wrong_reports"}...],
 *  "sync": {"refreshes", "rows_applied", "full_reloads"}}. Entries another process put
 *  count in "entries" once seen; the other counters are this handle's own ("sync": the
 *  refreshes that applied other processes' changes, and the log rows applied).
 * @param h   the handle.
 * @param out receives the JSON text; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_cache_stats(mlops_t *h, char **out);

/**
 * Writes the pending write-behind batch to the store now (one transaction).
 * @param h the handle.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_EBUSY; MLOPS_ESTORE (the batch stays queued).
 *         Thread-safe.
 */
MLOPS_API int mlops_cache_flush(mlops_t *h);

/**
 * Installs the caller's embedder (config "embedder" must be "callback"). Every cached
 * prompt (including those loaded from the store) is re-embedded with it into fresh
 * vector stores, under the cache's write lock: call it at start-up. Until it is called,
 * a "callback" cache serves the exact tier only.
 * @param h         the handle.
 * @param name      1..128 bytes naming the vector space ("minilm-l6"), persisted with
 *                  the vectors.
 * @param dim       the embedding dimension, 16..8192.
 * @param fn        the embedder; NULL removes it (the semantic tier pauses).
 * @param user_data passed back to fn.
 * @return MLOPS_OK; MLOPS_EINVAL (bad name or dim); MLOPS_ESTATE (the configured
 *         embedder is not "callback"); MLOPS_ECANCELED (fn refused a cached prompt).
 *         Thread-safe.
 */
MLOPS_API int mlops_cache_set_embedder(mlops_t *h, const char *name, size_t dim, mlops_embed_fn fn,
                                       void *user_data);

/**
 * Installs (or with fn NULL removes) the caller's second check on semantic candidates;
 * it runs after the lexical guard (when config "guard" is "lexical").
 * @param h         the handle.
 * @param fn        the check, or NULL.
 * @param user_data passed back to fn.
 * @return MLOPS_OK; MLOPS_EINVAL. Thread-safe.
 */
MLOPS_API int mlops_cache_set_guard(mlops_t *h, mlops_cache_guard_fn fn, void *user_data);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_CACHE_H */
