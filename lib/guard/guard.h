/*
 * lib/guard — the face of the guardrails module to the rest of lib/.
 *
 * A text goes through: normalisation (normalize.c: UTF-8 validation, compatibility and
 * homoglyph folding, invisible-character stripping, with a map back to the original
 * bytes), then the scanners a policy enables for the stage (scan_*.c), then the
 * anonymizer (anonymize.c) for findings whose action is "redact". Every finding's
 * span is in bytes of the ORIGINAL text, end-exclusive.
 *
 * The gateway calls mlops__guard_scan() as its input and output stages.
 */
#ifndef MLOPS_LIB_GUARD_H
#define MLOPS_LIB_GUARD_H

#include "../core/core.h"

/* ---------------------------------------------------------------- actions --- */

enum { MLOPS__GA_ALLOW = 0, MLOPS__GA_WARN = 1, MLOPS__GA_REDACT = 2, MLOPS__GA_BLOCK = 3 };
enum { MLOPS__GSTAGE_INPUT = 1, MLOPS__GSTAGE_OUTPUT = 2 };
const char *mlops__guard_action_name(int action);

/* ---------------------------------------------------------------- findings -- */

typedef struct mlops__gfinding {
    const char *scanner; /* static: "pii", "secrets", "injection", ... */
    char type[48];       /* Presidio entity name where one exists */
    size_t start, end;   /* byte offsets into the original text, end-exclusive */
    double score;
    int action;
    char *detail; /* optional malloc'd note (matched attack, category...) */
} mlops__gfinding;

typedef struct mlops__gfindings {
    mlops__gfinding *v;
    size_t n, cap;
    size_t max;     /* cap on findings kept (0 = default 10000) */
    bool truncated; /* more were found than kept */
} mlops__gfindings;

void mlops__gfindings_free(mlops__gfindings *f);
/** Appends a copy; `detail` is duplicated. Returns false when out of memory. */
bool mlops__gfindings_add(mlops__gfindings *f, const char *scanner, const char *type,
                          size_t start, size_t end, double score, const char *detail);

/* ---------------------------------------------------------------- normaliser  */

/*
 * The normalised view of a window of text. `text` keeps letter case; `map[i]` is the
 * offset (relative to the window) of the original character that produced byte i
 * (NULL when the window was plain ASCII with nothing to fold: identity).
 */
typedef struct mlops__gnorm {
    const char *orig;
    size_t orig_len;
    char *text;
    size_t len;
    uint32_t *map;
    bool owned;
    size_t invalid_utf8;  /* invalid byte sequences (each became one space) */
    size_t first_invalid; /* window offset of the first one */
    size_t invisible;     /* zero-width / bidi controls dropped */
    size_t confusable;    /* homoglyph, fullwidth, styled letters folded */
} mlops__gnorm;

/** Normalises orig[0..len) (len < 4 GiB). Returns MLOPS_OK or MLOPS_ENOMEM. */
int mlops__gnorm_run(const char *orig, size_t len, mlops__gnorm *out);
void mlops__gnorm_free(mlops__gnorm *g);
/** Maps normalised [s, e) to original window offsets [*os, *oe). */
void mlops__gnorm_span(const mlops__gnorm *g, size_t s, size_t e, size_t *os, size_t *oe);
/** Lower-cases and folds leetspeak (0->o 1->i 3->e 4->a 5->s 7->t @->a $->s) 1:1. */
void mlops__gnorm_fold(const char *in, size_t n, char *out);
/** Length of the valid UTF-8 sequence at s[0..n), or 0 when invalid. */
size_t mlops__utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* ---------------------------------------------------------------- decoders -- */

/*
 * Embedded payloads: base64, hex, %-encoded and rot13 runs. A decoded payload is
 * scanned again (recursively, bounded by depth) with its findings reported on the span
 * of the encoded run in the original text.
 */
enum { MLOPS__GDEC_BASE64 = 1, MLOPS__GDEC_HEX, MLOPS__GDEC_URL, MLOPS__GDEC_ROT13 };
typedef struct mlops__gpayload {
    int kind;
    size_t start, end; /* encoded run in the scanned text */
    char *data;        /* decoded bytes (NUL-terminated) */
    size_t len;
} mlops__gpayload;

/**
 * Finds encoded runs in text[0..n) and decodes those whose result is mostly printable
 * text. At most `max` payloads; returns how many were written to out (each data
 * malloc'd; free with mlops__gpayloads_free).
 */
size_t mlops__gdecode_find(const char *text, size_t n, mlops__gpayload *out, size_t max);
void mlops__gpayloads_free(mlops__gpayload *p, size_t n);
/** Decoders on their own (out must hold n bytes + 1); return decoded length or -1. */
long mlops__gdecode_base64(const char *s, size_t n, char *out);
long mlops__gdecode_hex(const char *s, size_t n, char *out);
long mlops__gdecode_url(const char *s, size_t n, char *out);
void mlops__gdecode_rot13(const char *s, size_t n, char *out);

/* ---------------------------------------------------------------- regex ----- */

/* mlops__regex_compile / _search / _free: the shared engine in lib/core/core.h. */

/* ---------------------------------------------------------------- JSON Schema */

/**
 * Validates `instance` against a draft 2020-12 `schema` (keywords: type, enum, const,
 * properties, patternProperties, additionalProperties, required, propertyNames,
 * dependentRequired, dependentSchemas, min/maxProperties, items, prefixItems, contains,
 * min/maxContains, min/maxItems, uniqueItems, minimum, maximum, exclusiveMinimum,
 * exclusiveMaximum, multipleOf, minLength, maxLength, pattern, allOf, anyOf, oneOf, not,
 * if/then/else, $ref to "#", "#/$defs/...", "#/definitions/..." and any local JSON
 * pointer, $defs, boolean schemas; `format` is an annotation). Errors are appended to
 * `errors` (a JSON array, may be NULL) as "path: message" strings, at most 50.
 * Returns 1 valid, 0 invalid, or a negative status when the schema itself is broken.
 */
int mlops__jsonschema_validate(const json_t *schema, const json_t *instance, json_t *errors);

/* ---------------------------------------------------------------- linear model */

/* Logistic regression over hashed text features (mlops__hashvec_embed). */
typedef struct mlops__glinear {
    int dim;
    float bias;
    float *w;
    /* tag[i]: the tag of the feature that owns bucket i (the most frequent in training);
     * other features hashed there are ignored, so words the model never saw add nothing
     * instead of another feature's weight. NULL in version 1-2 model files. */
    uint8_t *tag;
    char kind[16];
    int features; /* 0: plain hashed n-grams (model files); 1: plus intent classes */
} mlops__glinear;

typedef struct mlops__gexample {
    const char *text;
    int label;
} mlops__gexample;

/** The hashed n-gram features of a text as sparse pairs (mlops__hashvec_sparse), unit
 *  length. */
int mlops__glinear_sparse(int dim, const char *text, size_t len, mlops__sparse *out);
/** Hashed n-gram plus intent-class features (inj_features.c) as sparse pairs, unit
 *  length: what classifiers with features 1 train and predict on. */
int mlops__ginj_sparse(int dim, const char *text, size_t len, mlops__sparse *out);
/**
 * Intent rules over one sentence t[s, e) of folded text (word classes: disregard-verb +
 * instruction-object owned by the assistant, reveal-verb + "your"/system prompt,
 * persona + no-rules, disable + safety, no-refusal, fiction + no-rules AI). Returns the
 * best score (0 when none) with its span and finding type.
 */
double mlops__ginj_intent(const char *t, size_t s, size_t e, size_t *hs, size_t *he,
                          const char **type);
/** Sparse features of m's kind (m->features, m->dim) for text into *out. */
int mlops__glinear_featurize(const mlops__glinear *m, const char *text, size_t len,
                             mlops__sparse *out);
/** Trains on examples (deterministic) with features 0 (plain) or 1 (intent classes);
 *  out->w and out->tag are malloc'd (mlops__glinear_free). */
int mlops__glinear_train_kind(const mlops__gexample *ex, size_t n, int dim, int epochs,
                              int features, mlops__glinear *out);
/** Probability of class 1. */
double mlops__glinear_predict(const mlops__glinear *m, const char *text, size_t len);
double mlops__glinear_predict_sparse(const mlops__glinear *m, const mlops__sparse *x);
int mlops__glinear_save(const mlops__glinear *m, const char *path);
int mlops__glinear_load(const char *path, mlops__glinear *out);
/** A model file's NUL-terminated text; `name` labels errors (the path, usually). */
int mlops__glinear_parse(const char *text, const char *name, mlops__glinear *out);
void mlops__glinear_free(mlops__glinear *m);

/** The built-in models, trained once per process from the compiled-in corpora. */
const mlops__glinear *mlops__guard_default_model(const char *kind);

/* Built-in labelled corpora (attacks.inc, toxic.inc). */
extern const char *const mlops__guard_attacks[];
extern const size_t mlops__guard_attacks_count;
extern const char *const mlops__guard_benign[];
extern const size_t mlops__guard_benign_count;
extern const char *const mlops__guard_known[]; /* hand-written seed attacks (similarity) */
extern const size_t mlops__guard_known_count;
extern const char *const mlops__guard_toxic[];
extern const size_t mlops__guard_toxic_count;
extern const char *const mlops__guard_clean[];
extern const size_t mlops__guard_clean_count;

/* ---------------------------------------------------------------- policy ---- */

typedef struct mlops__gscanner {
    bool on;
    int action;
    double threshold;
    unsigned stages; /* MLOPS__GSTAGE_* bits */
    int op;          /* anonymizer operator for this scanner, -1: the policy's */
} mlops__gscanner;

typedef struct mlops__gcustom {
    char type[48];
    mlops__regex *re;
    double score;
    int validator; /* 0 none, 1 luhn, 2 mod97 */
    char **context;
    size_t ncontext;
} mlops__gcustom;

typedef struct mlops__ggaz {
    char type[48];
    char *phrase; /* lower-case */
    size_t len;
} mlops__ggaz;

enum { MLOPS__OP_REPLACE = 0, MLOPS__OP_MASK, MLOPS__OP_REDACT, MLOPS__OP_HASH,
       MLOPS__OP_PSEUDO };

typedef struct mlops__gpolicy {
    mlops__gscanner pii, secrets, injection, toxicity, json, grounding, banned, max_length,
        canary, invalid_utf8, gazetteer;
    uint64_t entities; /* bit per PII entity (mlops__gpii_entity_bit) */
    int op;
    int mask_keep;
    char *hash_key;
    char *vault;
    bool context_words;
    int decode_depth;
    bool use_classifier, use_similarity, use_heuristics;
    double similarity_threshold;
    mlops__glinear *injection_model, *toxicity_model; /* loaded from "model" paths */
    json_t *schema;
    char **substrings;
    size_t nsubstrings;
    mlops__regex **regexes;
    size_t nregexes;
    char **topics;
    size_t ntopics;
    size_t max_bytes;
    char **canaries;
    size_t ncanaries;
    mlops__gcustom *custom;
    size_t ncustom;
    mlops__ggaz *gaz;
    size_t ngaz;
    unsigned tox_categories; /* bits; 0 = all */
    int refs;                /* references held (guard.c's cache and callers) */
    char *json_text;         /* the policy as given (compact JSON) */
} mlops__gpolicy;

/** Parses a policy object; errors (MLOPS_ECONFIG) name the field ("policy.pii.action"). */
int mlops__gpolicy_parse(const json_t *obj, mlops__gpolicy **out);
/** The documented default policy. */
int mlops__gpolicy_default(mlops__gpolicy **out);
void mlops__gpolicy_free(mlops__gpolicy *p);
/** The default policy as JSON text (static). */
extern const char mlops__guard_default_policy_json[];

/* ---------------------------------------------------------------- scanners -- */

/* A scan of one normalised window. */
typedef struct mlops__gscan {
    const mlops__gpolicy *pol;
    const mlops__gnorm *norm;
    size_t base;          /* window offset in the whole original text */
    size_t span_override; /* when set (decoded payloads): every finding gets this span */
    size_t ov_start, ov_end;
    bool overridden;
    mlops__gfindings *out;
    const char *note; /* e.g. "base64" for decoded payload findings */
} mlops__gscan;

/** Adds a finding at normalised [s, e). */
void mlops__gscan_add(mlops__gscan *sc, const char *scanner, const char *type, size_t s,
                      size_t e, double score, const char *detail);

uint64_t mlops__gpii_entity_bit(const char *name); /* 0 when unknown */
extern const char *const mlops__gpii_entity_names[];
extern const size_t mlops__gpii_entity_count;
void mlops__scan_pii(mlops__gscan *sc);
void mlops__scan_secrets(mlops__gscan *sc);
/** Heuristics only (cheap); returns the strongest heuristic score. */
/* *cues (when not NULL) is set when the text had any trigger or anchor word or an
 * obfuscation marker: without one the models are skipped (see scan.c). */
double mlops__scan_injection_heuristics(mlops__gscan *sc, const char *folded, bool *cues);
/**
 * The injection score from its three parts: heuristics, the classifier's probability
 * (negative when the classifier is off) and similarity (0 below its threshold).
 */
double mlops__injection_combine(double heur, double clf, double sim);
/** A heuristic hit's score once the classifier has spoken (weak hits on text the
 *  classifier calls clearly benign count half). */
double mlops__injection_heuristic(double heur, double clf);

/**
 * The classifier over one text (model: the policy's, else `model`, else the built-in
 * one) and, when `similarity` is set, cosine similarity to the known-attack corpus.
 */
void mlops__scan_injection_models(const mlops__gpolicy *pol, const mlops__glinear *model,
                                  const char *text, size_t len, bool similarity, double *sim,
                                  int *sim_idx, double *clf);
void mlops__scan_toxicity(mlops__gscan *sc, const char *folded, double *best);
/** Toxicity classifier probability for a text. */
double mlops__toxicity_model(const mlops__glinear *model, const char *text, size_t len);

/**
 * Grounding: splits `answer` into sentences and scores each against `context`.
 * Appends findings (type UNSUPPORTED_CLAIM / UNGROUNDED_ENTITY) for unsupported sentences
 * and returns the mean support in [0, 1]; `unsupported` (JSON array) gets the sentences.
 */
double mlops__guard_grounding(const char *answer, size_t n, const char *context,
                              double threshold, mlops__gfindings *out, json_t *unsupported);

/* ---------------------------------------------------------------- module ---- */

typedef struct mlops__guard mlops__guard;

/** Module state on an open store; `config` is the "guard" config section (or NULL). */
int mlops__guard_open(mlops__store *st, mlops__logger *log, const json_t *config,
                      mlops__guard **out);
void mlops__guard_close(mlops__guard *g);
int mlops__guard_check_config(const json_t *section);
extern const mlops__schema mlops__guard_schema;

/**
 * Runs a policy over a text: the gateway's input ("input") and output ("output")
 * stages. `policy` NULL means the default policy. `context` (may be NULL) is the
 * grounding context. The report (caller decrefs) is:
 *   {"verdict": "allow|warn|redact|block", "stage": ..., "findings": [{"scanner",
 *    "type", "start", "end", "score", "action", "text"?, "detail"?}], "text": sanitised,
 *    "scores": {"pii": x, "injection": y, ...}, "bytes": n, ...}
 * Returns MLOPS_OK whatever the verdict; errors only for bad arguments or storage.
 */
int mlops__guard_scan(mlops__guard *g, const mlops__gpolicy *policy, int stage,
                      const char *text, size_t len, const char *context, json_t **report);

/** The pipeline itself, with explicit models (NULL: built-in) and findings cap. */
int mlops__guard_scan_ex(mlops__guard *g, const mlops__gpolicy *pol,
                         const mlops__glinear *inj_model, const mlops__glinear *tox_model,
                         size_t max_findings, int stage, const char *text, size_t len,
                         const char *context, json_t **report);

/** Resolves a policy given as JSON text or a stored name (NULL/"" = default). */
int mlops__guard_policy_resolve(mlops__guard *g, const char *policy_json_or_name,
                                mlops__gpolicy **out);
/** Drops a reference taken by mlops__guard_policy_resolve. */
void mlops__guard_policy_release(mlops__guard *g, mlops__gpolicy *p);
int mlops__guard_policy_put(mlops__guard *g, const char *name, const char *policy_json);
int mlops__guard_policy_get(mlops__guard *g, const char *name, char **out_json);
int mlops__guard_policy_list(mlops__guard *g, char **out_json);
int mlops__guard_policy_delete(mlops__guard *g, const char *name);
/** Replaces vault tokens in text with the stored values. */
int mlops__guard_deanonymize(mlops__guard *g, const char *vault, const char *text,
                             char **out);
/** A fresh canary and the system prompt with it embedded: {"canary","prompt"}. */
int mlops__guard_canary(mlops__guard *g, const char *system_prompt, json_t **out);
/** Trains a model from JSONL ({"text","label"}); report has counts and metrics. */
int mlops__guard_train(const char *kind, const char *data_path, const char *out_path,
                       json_t **report);

/** Records a pseudonym in a vault (same token twice is fine). */
int mlops__guard_vault_put(mlops__guard *g, const char *vault, const char *token,
                           const char *value, size_t n, const char *type);

/* Anonymizer (anonymize.c). Resolves overlaps, rewrites redact findings. */
int mlops__guard_anonymize(mlops__guard *g, const mlops__gpolicy *pol, const char *text,
                           size_t len, mlops__gfindings *f, char **out, size_t *out_len);
/** HMAC-SHA256 of value under key, first 12 hex digits into hex[13]. */
void mlops__guard_keyed_hex(const char *key, const char *value, size_t n, char hex[13]);
/** SHA-256 (for Base58Check). */
void mlops__guard_sha256(const void *data, size_t n, unsigned char out[32]);

#endif /* MLOPS_LIB_GUARD_H */
