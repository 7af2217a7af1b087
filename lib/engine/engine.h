/*
 * lib/engine — the face of the inference engine to the rest of lib/.
 *
 * A GGUF reader (mmap, validated before use) and writer, llama/qwen2 models, the
 * forward pass on quant.h's kernels, tokenizers read from GGUF metadata (SentencePiece,
 * byte-level BPE, WordPiece), chat templates, sampling and generation. Depends only on
 * lib/core, so the folder can be lifted out as a standalone library.
 */
#ifndef MLOPS_LIB_ENGINE_H
#define MLOPS_LIB_ENGINE_H

#include "../core/core.h"

/* ---------------------------------------------------------------- GGUF ------ */

/* Metadata value types (GGUF specification, "gguf_metadata_value_type"). */
enum {
    MLOPS__GGUF_UINT8 = 0,
    MLOPS__GGUF_INT8 = 1,
    MLOPS__GGUF_UINT16 = 2,
    MLOPS__GGUF_INT16 = 3,
    MLOPS__GGUF_UINT32 = 4,
    MLOPS__GGUF_INT32 = 5,
    MLOPS__GGUF_FLOAT32 = 6,
    MLOPS__GGUF_BOOL = 7,
    MLOPS__GGUF_STRING = 8,
    MLOPS__GGUF_ARRAY = 9,
    MLOPS__GGUF_UINT64 = 10,
    MLOPS__GGUF_INT64 = 11,
    MLOPS__GGUF_FLOAT64 = 12,
    MLOPS__GGUF_NTYPES = 13
};

#define MLOPS__GGUF_DEFAULT_ALIGNMENT 32
#define MLOPS__GGUF_MAX_DIMS 4

/** A string inside the mapped file (not NUL-terminated). */
typedef struct mlops__gstr {
    const char *p;
    uint64_t n;
} mlops__gstr;

typedef struct mlops__gguf_kv {
    char *key;             /* NUL-terminated copy */
    uint32_t type;         /* MLOPS__GGUF_* */
    uint32_t arr_type;     /* element type when type is ARRAY */
    uint64_t n;            /* element count (1 for scalars) */
    const uint8_t *data;   /* scalar or array payload inside the file */
    mlops__gstr *strs;     /* the n strings of a STRING scalar or array */
    size_t raw_off, raw_len; /* the whole serialised pair, for copying */
} mlops__gguf_kv;

typedef struct mlops__gguf_tensor {
    char *name;
    uint32_t n_dims;
    int64_t ne[MLOPS__GGUF_MAX_DIMS]; /* unused dims are 1 */
    int type;                         /* MLOPS__T_* */
    uint64_t offset;                  /* from the start of the data section */
    uint64_t nbytes;
    const void *data;
} mlops__gguf_tensor;

typedef struct mlops__gguf {
    const uint8_t *base; /* the mapped (or borrowed) file */
    size_t size;
    int mapped;
    uint32_t version;
    uint64_t n_kv, n_tensors;
    mlops__gguf_kv *kv;
    mlops__gguf_tensor *tensors;
    uint64_t alignment;
    uint64_t data_off;
} mlops__gguf;

/** Maps and validates a GGUF file. Errors: MLOPS_EIO, MLOPS_EFORMAT naming the field. */
int mlops__gguf_open(const char *path, mlops__gguf **out);
/** Validates a GGUF image in memory (borrowed: must outlive the result). */
int mlops__gguf_parse(const void *data, size_t size, mlops__gguf **out);
void mlops__gguf_close(mlops__gguf *g);
const mlops__gguf_kv *mlops__gguf_find(const mlops__gguf *g, const char *key);
const mlops__gguf_tensor *mlops__gguf_tensor_find(const mlops__gguf *g, const char *name);
/** Scalar getters: false when missing or of a non-convertible type. */
bool mlops__gguf_get_int(const mlops__gguf *g, const char *key, int64_t *out);
bool mlops__gguf_get_float(const mlops__gguf *g, const char *key, double *out);
bool mlops__gguf_get_bool(const mlops__gguf *g, const char *key, bool *out);
/** A string value duplicated (NULL when missing, not a string, or out of memory). */
char *mlops__gguf_get_str(const mlops__gguf *g, const char *key);
/** Element i of a numeric array as double / int64. */
double mlops__gguf_arr_float(const mlops__gguf_kv *kv, uint64_t i);
int64_t mlops__gguf_arr_int(const mlops__gguf_kv *kv, uint64_t i);
/** The whole file described as JSON (metadata, big arrays summarised, tensors). */
int mlops__gguf_info_json(const mlops__gguf *g, json_t **out);

/* Writer: metadata pairs and tensors, then one streaming write. */
typedef struct mlops__gguf_writer mlops__gguf_writer;
/** Produces tensor `index`'s bytes (exactly its size) into dst. Non-zero aborts. */
typedef int (*mlops__gguf_fill_fn)(void *user, size_t index, void *dst, size_t nbytes);

mlops__gguf_writer *mlops__gguf_writer_new(void);
void mlops__gguf_writer_free(mlops__gguf_writer *w);
void mlops__gguf_w_u32(mlops__gguf_writer *w, const char *key, uint32_t v);
void mlops__gguf_w_i32(mlops__gguf_writer *w, const char *key, int32_t v);
void mlops__gguf_w_f32(mlops__gguf_writer *w, const char *key, float v);
void mlops__gguf_w_bool(mlops__gguf_writer *w, const char *key, bool v);
void mlops__gguf_w_str(mlops__gguf_writer *w, const char *key, const char *v);
void mlops__gguf_w_arr_str(mlops__gguf_writer *w, const char *key, const char *const *v,
                           size_t n);
void mlops__gguf_w_arr_f32(mlops__gguf_writer *w, const char *key, const float *v, size_t n);
void mlops__gguf_w_arr_i32(mlops__gguf_writer *w, const char *key, const int32_t *v, size_t n);
/** Copies a pair verbatim from a file being read. */
void mlops__gguf_w_copy(mlops__gguf_writer *w, const mlops__gguf *g, const mlops__gguf_kv *kv);
/** Declares a tensor; `data` (may be NULL: then the fill callback provides it). */
int mlops__gguf_w_tensor(mlops__gguf_writer *w, const char *name, int type, uint32_t n_dims,
                         const int64_t *ne, const void *data);
/** Writes the file (atomically: a temporary sibling renamed into place). */
int mlops__gguf_w_write(mlops__gguf_writer *w, const char *path, mlops__gguf_fill_fn fill,
                        void *user);

/* ---------------------------------------------------------------- unicode --- */

enum {
    MLOPS__U_LETTER = 1,
    MLOPS__U_NUMBER = 2,
    MLOPS__U_PUNCT = 4,
    MLOPS__U_SYMBOL = 8,
    MLOPS__U_SEPARATOR = 16,
    MLOPS__U_MARK = 32,
    MLOPS__U_CONTROL = 64,
    MLOPS__U_SPACE = 128 /* White_Space property (regex \s) */
};
unsigned mlops__u_flags(uint32_t cp);
uint32_t mlops__u_lower(uint32_t cp);
/** Canonical decomposition (NFD) of cp into out (up to 4); returns the count (1 if none). */
int mlops__u_nfd(uint32_t cp, uint32_t out[4]);
/** Decodes one UTF-8 code point at s[0..n) (invalid bytes decode as themselves, len 1). */
uint32_t mlops__utf8_decode(const char *s, size_t n, size_t *len);
/** Encodes cp into out (up to 4 bytes); returns the length. */
int mlops__utf8_encode(uint32_t cp, char *out);

/* ---------------------------------------------------------------- vocab ----- */

enum { MLOPS__VOCAB_SPM = 1, MLOPS__VOCAB_BPE = 2, MLOPS__VOCAB_WPM = 3 };
/* Token types (tokenizer.ggml.token_type). */
enum {
    MLOPS__TOK_NORMAL = 1,
    MLOPS__TOK_UNKNOWN = 2,
    MLOPS__TOK_CONTROL = 3,
    MLOPS__TOK_USER = 4,
    MLOPS__TOK_UNUSED = 5,
    MLOPS__TOK_BYTE = 6
};

typedef struct mlops__vocab mlops__vocab;

/** Reads the tokenizer from GGUF metadata (copies what it needs). */
int mlops__vocab_load(const mlops__gguf *g, mlops__vocab **out);
void mlops__vocab_free(mlops__vocab *v);
int mlops__vocab_type(const mlops__vocab *v);
int32_t mlops__vocab_size(const mlops__vocab *v);
int32_t mlops__vocab_bos(const mlops__vocab *v);
int32_t mlops__vocab_eos(const mlops__vocab *v);
/** True for end-of-generation tokens (EOS, EOT, <|im_end|>...). */
bool mlops__vocab_is_eog(const mlops__vocab *v, int32_t id);
const char *mlops__vocab_pre(const mlops__vocab *v);
const char *mlops__vocab_chat_template(const mlops__vocab *v);
/**
 * Tokenizes text. add_special: BOS/EOS as the vocabulary's flags say; parse_special:
 * control tokens written in the text become those tokens. Appends to *ids (malloc'd,
 * grown as needed).
 */
int mlops__tokenize(const mlops__vocab *v, const char *text, size_t len, bool add_special,
                    bool parse_special, int32_t **ids, size_t *n, size_t *cap);
/** The bytes a token stands for (control tokens: their text only when `special`). */
void mlops__token_piece(const mlops__vocab *v, int32_t id, bool special, mlops__buf *out);
/** Detokenizes a sequence (drops the SentencePiece leading space). */
int mlops__detokenize(const mlops__vocab *v, const int32_t *ids, size_t n, bool special,
                      char **out);
/** A token id by its exact text, or -1. */
int32_t mlops__vocab_find(const mlops__vocab *v, const char *text, size_t len);

/* ---------------------------------------------------------------- chat ------ */

/** Detects a template family from a Jinja template text; NULL when unknown. */
const char *mlops__chat_detect(const char *tmpl);
/**
 * Renders messages (a JSON array of {role, content}) with a family ("llama2", "llama3",
 * "chatml", "mistral", "phi3", "gemma", "zephyr"), adding the assistant prompt when
 * `add_assistant`. Errors: MLOPS_EINVAL (bad messages), MLOPS_EUNSUPPORTED (family).
 */
int mlops__chat_render(const char *family, const json_t *messages, bool add_assistant,
                       char **out);

/* ---------------------------------------------------------------- model ----- */

typedef struct mlops__model mlops__model;
typedef struct mlops__ctx mlops__ctx;

typedef struct mlops__model_opts {
    int threads;   /* 0: all CPUs */
    int n_ctx;     /* 0: from the file (capped at 4096) */
    int kv_f32;    /* KV cache in F32 instead of F16 */
    int vocab_only;/* load the tokenizer only */
} mlops__model_opts;

int mlops__model_load(const char *path, const mlops__model_opts *opts, mlops__model **out);
void mlops__model_free(mlops__model *m);
const mlops__vocab *mlops__model_vocab(const mlops__model *m);
int mlops__model_info_json(const mlops__model *m, json_t **out);
int32_t mlops__model_n_vocab(const mlops__model *m);
int mlops__model_n_embd(const mlops__model *m);
int mlops__model_n_ctx(const mlops__model *m);
int mlops__model_threads(const mlops__model *m);
/** Bytes of weights read per decoded token (for the bandwidth limit). */
uint64_t mlops__model_weight_bytes(const mlops__model *m);
/** Name of the most common weight type ("Q4_K"...). */
const char *mlops__model_type_name(const mlops__model *m);

/** True for encoder-only (bert) models: they embed, they do not generate. */
bool mlops__model_is_encoder(const mlops__model *m);
/** Embeds token ids with a bert model into out (n_embd floats, pooled, not normalised). */
int mlops__bert_embed(mlops__model *m, const int32_t *ids, size_t n, float *out);

/** A context: KV cache and scratch for one conversation. */
int mlops__ctx_new(mlops__model *m, mlops__ctx **out);
void mlops__ctx_free(mlops__ctx *c);
int mlops__ctx_pos(const mlops__ctx *c);
void mlops__ctx_reset(mlops__ctx *c);
/** Forgets positions from `pos` on (the cache keeps what precedes). */
void mlops__ctx_truncate(mlops__ctx *c, int pos);
/**
 * Runs tokens at the context's next positions. Logits of the last token (or of every
 * token when `all`) are then at mlops__ctx_logits (row-major [n][n_vocab]).
 */
int mlops__ctx_eval(mlops__ctx *c, const int32_t *tokens, size_t n, bool all);
const float *mlops__ctx_logits(const mlops__ctx *c, size_t *rows);
/** Mean-pooled final hidden state of the last eval (n_embd floats). */
const float *mlops__ctx_embedding(const mlops__ctx *c);
mlops__model *mlops__ctx_model(const mlops__ctx *c);

/* ---------------------------------------------------------------- sampling -- */

typedef struct mlops__sampling {
    float temperature; /* <= 0: greedy */
    int top_k;         /* <= 0: off */
    float top_p;       /* >= 1: off */
    float min_p;       /* <= 0: off */
    float repeat_penalty;   /* 1: off */
    float frequency_penalty;
    float presence_penalty;
    int repeat_last_n;
    uint64_t seed;
} mlops__sampling;

void mlops__sampling_defaults(mlops__sampling *s);
typedef struct mlops__sampler mlops__sampler;
int mlops__sampler_new(const mlops__sampling *s, int32_t n_vocab, mlops__sampler **out);
void mlops__sampler_free(mlops__sampler *s);
void mlops__sampler_reset(mlops__sampler *s);
/** Remembers a token for the penalties (prompt and generated). */
void mlops__sampler_accept(mlops__sampler *s, int32_t id);
int32_t mlops__sampler_sample(mlops__sampler *s, const float *logits);

/* ---------------------------------------------------------------- generate -- */

/** Streaming callback: one decoded piece; non-zero cancels. */
typedef int (*mlops__gen_fn)(const char *piece, int32_t id, void *user);

typedef struct mlops__gen_opts {
    int max_tokens;
    const char *const *stop; /* stop strings */
    size_t n_stop;
    bool ignore_eos;
} mlops__gen_opts;

typedef struct mlops__gen_result {
    char *text;            /* generated text (malloc'd) */
    int32_t *ids;          /* generated tokens (malloc'd), n_gen of them */
    int n_prompt, n_gen;
    const char *finish;    /* "stop", "length", "cancelled", "eos" */
    double prefill_ms, decode_ms;
} mlops__gen_result;

/** Feeds the prompt tokens, then samples until a stop. */
int mlops__generate(mlops__ctx *c, mlops__sampler *s, const int32_t *prompt, size_t n_prompt,
                    const mlops__gen_opts *o, mlops__gen_fn fn, void *user,
                    mlops__gen_result *res);

/* ---------------------------------------------------------------- tools ----- */

typedef struct mlops__synth_opts {
    const char *arch;    /* "llama" or "qwen2" */
    int n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab, n_ctx;
    const char *vocab;   /* "spm" or "bpe" */
    uint64_t seed;
    int type;            /* MLOPS__T_F32 or F16 for matrices */
    bool tied;           /* no output.weight */
} mlops__synth_opts;

void mlops__synth_defaults(mlops__synth_opts *o);
int mlops__synth(const char *path, const mlops__synth_opts *o);
/** `type`: "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q4_K_M", "Q5_K_M", "Q6_K", "F16", "F32". */
int mlops__quantize(const char *in, const char *out, const char *type, int threads);

/* ---------------------------------------------------------------- embeddings (embed_api.c) */

/**
 * Embeds text into out[n_embd]: bert as bert.pooling_type says (mean or [CLS]), decoders
 * the mean of the final hidden state. ctx: a decoder's context to run in (reset first;
 * NULL: a temporary one). truncate: keep the first n_ctx tokens (bert: and the closing
 * [SEP]) instead of failing with MLOPS_ELIMIT. Errors: MLOPS_EINVAL (no tokens,
 * vocab_only), MLOPS_ELIMIT (cap, context), MLOPS_ENOMEM.
 */
int mlops__embed_text(mlops__model *m, mlops__ctx *ctx, const char *text, bool normalize,
                      bool truncate, float *out, size_t cap);

/** A model loaded for embedding, shared by threads (decoders reuse idle contexts). */
typedef struct mlops__text_embedder mlops__text_embedder;
/** Loads path (opts as mlops__model_load; vocab_only ignored). Errors as mlops__model_load. */
int mlops__text_embedder_open(const char *path, const mlops__model_opts *o,
                              mlops__text_embedder **out);
void mlops__text_embedder_free(mlops__text_embedder *e);
mlops__model *mlops__text_embedder_model(const mlops__text_embedder *e);
/** Unit-length embedding of text (truncated to the context) into out[cap >= n_embd]. Thread-safe. */
int mlops__text_embed(mlops__text_embedder *e, const char *text, float *out, size_t cap);

#endif /* MLOPS_LIB_ENGINE_H */
