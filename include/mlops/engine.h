/*
 * libmlops — engine: CPU inference of quantized LLMs from GGUF files.
 *
 * A model (mlops_engine_model_t) is loaded once from a GGUF file (mapped, not copied) and is
 * read-only afterwards: many sessions and threads may share it. A session
 * (mlops_engine_session_t) is one conversation: its KV cache and token history; use one
 * session from one thread at a time. Architectures: llama (Llama 2/3, Mistral,
 * TinyLlama, SmolLM...) and qwen2 generate; bert encoders (BGE, MiniLM...) embed. Weight types: F32, F16, BF16, Q8_0, Q4_0, Q4_1,
 * Q5_0, Q5_1, Q4_K, Q5_K, Q6_K. Tokenizers: SentencePiece ("llama"), byte-level BPE
 * ("gpt2") and WordPiece ("bert") vocabularies read from the file.
 *
 * The engine needs no store: mlops_engine_model_load() takes no handle. mlops_engine_load()
 * does the same with the defaults of the handle's "engine" configuration section:
 *   "engine": {"threads": integer 1..256 (default: CPUs), "n_ctx": integer >= 0
 *              (0: from the file, at most 4096), "kv_type": "f16" (default) or "f32"}
 *
 * Options JSON of a model load (all optional; each overrides the "engine" defaults):
 *   {"threads": 1..256, "n_ctx": integer, "kv_type": "f16"|"f32", "vocab_only": bool}
 */
#ifndef MLOPS_ENGINE_H
#define MLOPS_ENGINE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A loaded model: weights, hyper-parameters and tokenizer. Opaque; thread-safe. */
typedef struct mlops_engine_model mlops_engine_model_t;

/** One conversation on a model: KV cache and token history. Opaque; one thread at a time. */
typedef struct mlops_engine_session mlops_engine_session_t;

/**
 * Receives generated text as it is produced.
 * @param piece     UTF-8 text (never half a character, never part of a stop string);
 *                  valid only during the call.
 * @param user_data the pointer given to mlops_engine_generate().
 * @return 0 to continue, non-zero to cancel (generate then returns MLOPS_ECANCELED).
 */
typedef int (*mlops_token_fn)(const char *piece, void *user_data);

/**
 * Loads a GGUF model without a store.
 * @param path         the .gguf file.
 * @param options_json NULL or {"threads", "n_ctx", "kv_type", "vocab_only"} (see above).
 * @param out          receives the model; release with mlops_engine_model_free().
 * @return MLOPS_OK; MLOPS_EIO (cannot read), MLOPS_EFORMAT (invalid file: the message
 *         names the field), MLOPS_EUNSUPPORTED (architecture, tensor type, rope scaling),
 *         MLOPS_EINVAL / MLOPS_ECONFIG (options), MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_engine_model_load(const char *path, const char *options_json, mlops_engine_model_t **out);

/**
 * Loads a GGUF model with the defaults of the handle's "engine" configuration.
 * @param h            an open handle.
 * @param path         the .gguf file.
 * @param options_json NULL or load options (override the handle's defaults).
 * @param out          receives the model; release with mlops_engine_model_free().
 * @return as mlops_engine_model_load(). Thread-safe.
 */
MLOPS_API int mlops_engine_load(mlops_t *h, const char *path, const char *options_json,
                                mlops_engine_model_t **out);

/**
 * Releases a model. All its sessions must have been freed first. Accepts NULL.
 * @param model the model.
 */
MLOPS_API void mlops_engine_model_free(mlops_engine_model_t *model);

/**
 * Describes a model as JSON: {"arch", "n_vocab", "n_embd", "n_layer", "n_head",
 * "n_head_kv", "n_ff", "n_ctx", "n_ctx_train", "threads", "rope_freq_base",
 * "rope_freq_scale", "type", "kv_type", "tokenizer", "pre", "chat_template", "bos",
 * "weight_bytes", "tied_output"}.
 * @param model the model.
 * @param out   receives the JSON; release with mlops_free().
 * @return MLOPS_OK, MLOPS_EINVAL, MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_engine_model_info(mlops_engine_model_t *model, char **out);

/**
 * Creates a session (a KV cache of n_ctx positions) on a model.
 * @param model        the model (must outlive the session).
 * @param options_json NULL or {} (reserved for future keys; unknown keys are MLOPS_EINVAL).
 * @param out          receives the session; release with mlops_engine_session_free().
 * @return MLOPS_OK, MLOPS_EINVAL (vocab-only model, bad options), MLOPS_EUNSUPPORTED
 *         (a bert encoder: it embeds only), MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_engine_session_new(mlops_engine_model_t *model, const char *options_json,
                                mlops_engine_session_t **out);

/**
 * Releases a session. Accepts NULL.
 * @param session the session.
 */
MLOPS_API void mlops_engine_session_free(mlops_engine_session_t *session);

/**
 * Forgets a session's history (its KV cache is reused from position 0).
 * @param session the session.
 * @return MLOPS_OK or MLOPS_EINVAL.
 */
MLOPS_API int mlops_engine_session_reset(mlops_engine_session_t *session);

/**
 * Tokenizes text with the model's vocabulary.
 * @param model        the model (a vocab_only load is enough).
 * @param text         UTF-8 text.
 * @param options_json NULL or {"add_special": bool (default true: BOS/EOS as the
 *                     vocabulary says), "parse_special": bool (default true: control
 *                     tokens written in the text, like "<|im_end|>", become tokens)}.
 * @param out          caller buffer for the token ids (may be NULL when cap is 0).
 * @param cap          its capacity.
 * @param out_n        receives the number of tokens (also when cap was too small).
 * @return MLOPS_OK; MLOPS_ELIMIT when cap < *out_n; MLOPS_EINVAL. Thread-safe.
 */
MLOPS_API int mlops_engine_tokenize(mlops_engine_model_t *model, const char *text,
                                    const char *options_json, int32_t *out, size_t cap,
                                    size_t *out_n);

/**
 * Turns token ids back into text.
 * @param model        the model.
 * @param v            token ids.
 * @param n            their number.
 * @param options_json NULL or {"special": bool (default false: control tokens such as
 *                     BOS print nothing)}.
 * @param out          receives the UTF-8 text; release with mlops_free().
 * @return MLOPS_OK, MLOPS_EINVAL (an id outside the vocabulary), MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_engine_detokenize(mlops_engine_model_t *model, const int32_t *v, size_t n,
                                      const char *options_json, char **out);

/**
 * Generates a continuation, streaming it through fn.
 *
 * The session reuses the KV cache for the longest common prefix of its history and
 * the new prompt, so a conversation re-sent with one more turn only runs the new part.
 *
 * @param session      the session.
 * @param prompt       UTF-8 prompt text, or NULL when options_json has "messages".
 * @param options_json NULL or an object: "messages" ([{"role": "system"|"user"|
 *                     "assistant", "content": text}], rendered with the chat template),
 *                     "chat_template" (override: "llama2", "llama3", "chatml",
 *                     "mistral", "phi3", "gemma", "zephyr"), "max_tokens" (default 256),
 *                     "temperature" (default 0.8; 0 = greedy), "top_k" (40), "top_p"
 *                     (0.95), "min_p" (0.05), "repeat_penalty" (1.0), "frequency_penalty"
 *                     (0), "presence_penalty" (0), "repeat_last_n" (64), "seed" (integer;
 *                     default: from the clock; the same seed gives the same tokens at
 *                     any thread count), "stop" (array of strings), "ignore_eos" (bool),
 *                     "add_special" (default true), "parse_special" (default true).
 * @param fn           NULL or the streaming callback (non-zero return cancels).
 * @param user_data    passed to fn.
 * @param out_json     NULL or receives {"text", "finish_reason" ("stop": end-of-generation
 *                     token or stop string, "length": max_tokens or the context end),
 *                     "prompt_tokens", "completion_tokens", "cached_tokens" (prompt tokens
 *                     reused from the session's cache), "prefill_ms", "decode_ms",
 *                     "prefill_tps", "decode_tps"}; release with mlops_free(). Set only
 *                     on MLOPS_OK (on cancellation the callback has seen the text).
 * @return MLOPS_OK; MLOPS_ECANCELED (fn returned non-zero); MLOPS_EINVAL (options,
 *         messages); MLOPS_EUNSUPPORTED (unknown chat template); MLOPS_ELIMIT (prompt
 *         longer than the context); MLOPS_ENOMEM.
 */
MLOPS_API int mlops_engine_generate(mlops_engine_session_t *session, const char *prompt,
                                    const char *options_json, mlops_token_fn fn,
                                    void *user_data, char **out_json);

/**
 * Runs token ids from the session's current position and copies logits out.
 * @param session      the session.
 * @param v            token ids.
 * @param n            their number (>= 1).
 * @param options_json NULL or {"all": bool (default false: only the last position's
 *                     n_vocab logits; true: n * n_vocab, position-major), "reset": bool
 *                     (default true: start from position 0)}.
 * @param out          caller buffer for the logits.
 * @param cap          its capacity in floats.
 * @param out_n        receives the number of floats (also when cap was too small).
 * @return MLOPS_OK; MLOPS_ELIMIT (cap too small, or the context is full); MLOPS_EINVAL.
 */
MLOPS_API int mlops_engine_logits(mlops_engine_session_t *session, const int32_t *v, size_t n,
                                  const char *options_json, float *out, size_t cap,
                                  size_t *out_n);

/**
 * Embeds text. llama/qwen2: the mean over its tokens of the final (RMS-normalised)
 * hidden state; bert: the model's pooling (bert.pooling_type: mean, or [CLS]).
 * @param model        the model.
 * @param text         UTF-8 text.
 * @param options_json NULL or {"normalize": bool (default true: unit length)}.
 * @param out          caller buffer of n_embd floats.
 * @param cap          its capacity.
 * @param out_n        receives n_embd.
 * @return MLOPS_OK; MLOPS_ELIMIT (cap too small or text longer than the context);
 *         MLOPS_EINVAL; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_engine_embed(mlops_engine_model_t *model, const char *text, const char *options_json,
                                 float *out, size_t cap, size_t *out_n);

/**
 * Writes a GGUF model with seeded random weights and a synthetic vocabulary (for tests,
 * demos and benchmarks; the output is gibberish).
 * @param path         the file to write (replaced atomically).
 * @param options_json NULL or {"arch": "llama"|"qwen2", "n_embd" (256), "n_layer" (2),
 *                     "n_head" (4), "n_head_kv" (2), "n_ff" (512), "n_vocab" (1024),
 *                     "n_ctx" (2048), "vocab": "spm"|"bpe", "seed" (42), "type":
 *                     "F32"|"F16", "tied": bool}.
 * @return MLOPS_OK, MLOPS_EINVAL (options), MLOPS_EIO, MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_gguf_synth(const char *path, const char *options_json);

/**
 * Re-encodes a GGUF model's weights in another type (metadata copied).
 * @param in   the source .gguf.
 * @param out  the file to write (replaced atomically).
 * @param type "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K",
 *             "F16" or "F32". *_K_M mixes: Q6_K for output and for attn_v/ffn_down of
 *             some layers, the base K type elsewhere. 1-D tensors stay F32.
 * @return MLOPS_OK, MLOPS_EINVAL (type), MLOPS_EIO, MLOPS_EFORMAT, MLOPS_ENOMEM.
 */
MLOPS_API int mlops_gguf_quantize(const char *in, const char *out, const char *type);

/**
 * Describes a GGUF file as JSON: {"version", "alignment", "size", "metadata": {key:
 * value, arrays over 16 elements summarised as {"array": type, "count": n}}, "tensors":
 * [{"name", "type", "shape", "offset", "bytes"}]}.
 * @param path the file.
 * @param out  receives the JSON; release with mlops_free().
 * @return MLOPS_OK, MLOPS_EIO, MLOPS_EFORMAT (naming the field), MLOPS_ENOMEM.
 */
MLOPS_API int mlops_gguf_info(const char *path, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_ENGINE_H */
