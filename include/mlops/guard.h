/*
 * libmlops — guard: validate every input and every output.
 *
 * Input scanners: prompt injection and jailbreaks (a trainable classifier over hashed
 * word, character and intent-class features, heuristics and word-class intent rules over
 * normalised text, similarity to known attacks; the built-in classifier ships trained on
 * the labelled sets in the source tree's data/guard, 13,875 hand-written prompts, and
 * `mlops guard train` on the same data reproduces it; quoted or meta discussion of an
 * attack in a text about attacks scores low), PII (Presidio entity names, with
 * checksums and context words), secrets (provider token formats, high-entropy values).
 * Output scanners: toxicity, JSON validity and JSON Schema (draft 2020-12), grounding
 * against supplied context, canary-token leaks. Both: banned substrings/regex/topics,
 * maximum length, invalid UTF-8. A policy (JSON) chooses the scanners per stage, their
 * thresholds and actions (block / redact / warn / allow).
 *
 * Every text is normalised first (UTF-8 validation, compatibility folding, homoglyphs,
 * zero-width and bidi controls stripped, leetspeak folded for the injection and
 * toxicity scanners) and embedded base64 / hex / %-encoded / rot13 payloads are decoded
 * and scanned again (depth 2 by default). Finding offsets are always byte offsets into
 * the ORIGINAL UTF-8 text, end-exclusive, even when found in normalised or decoded text
 * (a finding inside an encoded payload spans the whole encoded run).
 *
 * POLICY JSON (every key optional; unknown keys are MLOPS_ECONFIG naming the key):
 *   {"operator": "replace"|"mask"|"redact"|"hash"|"pseudonymize",   default "replace"
 *    "mask_keep": 4,            characters left visible by "mask"
 *    "hash_key": "tenant key",  HMAC key for "hash"/"pseudonymize" (config guard.hash_key)
 *    "vault": "default",        vault name for "pseudonymize"
 *    "scanners": {NAME: true | false | {
 *        "enabled": true, "action": "block"|"redact"|"warn"|"allow",
 *        "threshold": 0..1, "stages": "input"|"output"|"both"|[...],
 *        "operator": (per-scanner anonymizer operator), ...scanner options}}}
 *   Scanners (default action / threshold / stages) and their options:
 *     pii          redact / 0.5 / both    "entities": [names], "context_words": bool,
 *                  "custom": [{"type", "regex", "score", "context": [words],
 *                  "validator": "luhn"|"mod97"|"none"}]
 *                  Entities: EMAIL_ADDRESS PHONE_NUMBER CREDIT_CARD IBAN_CODE US_SSN
 *                  US_ITIN US_PASSPORT US_DRIVER_LICENSE IP_ADDRESS MAC_ADDRESS URL
 *                  DATE_TIME (dates of birth score high only with context) CRYPTO UK_NHS
 *                  UK_NINO. Custom regexes use a linear-time subset: literals, classes,
 *                  ., * + ? {m,n} (n <= 100), |, groups, ^ $ \b \d \w \s, leading (?i).
 *     secrets      redact / 0.5 / both    types AWS_ACCESS_KEY PRIVATE_KEY JWT
 *                  GITHUB_TOKEN GITLAB_TOKEN SLACK_TOKEN SLACK_WEBHOOK STRIPE_KEY
 *                  OPENAI_API_KEY ANTHROPIC_API_KEY GOOGLE_API_KEY GENERIC_SECRET PASSWORD
 *     injection    block / 0.5 / input    "heuristics", "similarity", "classifier": bool,
 *                  "similarity_threshold": 0.8, "model": path (from mlops_guard_train),
 *                  "decode_depth": 0..4 (default 2)
 *     toxicity     block / 0.7 / output   "categories": ["insult", "profanity", "threat",
 *                  "hate", "sexual", "self_harm"], "model": path
 *     json         block / - / output     "schema": a JSON Schema (draft 2020-12)
 *     grounding    warn / 0.5 / output    runs when a context is given
 *     banned       block / - / both       "substrings", "regex", "topics": [strings]
 *     max_length   block / - / both       "max_bytes": n (required)
 *     canary       block / - / output     "tokens": [strings]; "mlops-canary-*" always
 *     invalid_utf8 warn / - / both
 *     gazetteer    redact / - / both      "entries": {"PERSON": ["Ada Lovelace"], ...}
 *   Scanners not listed are off. The DEFAULT POLICY (used when none is given):
 *     invalid_utf8 warn; pii redact 0.5; secrets redact 0.5; injection block 0.5 (input);
 *     toxicity block 0.7 (output); canary block (output); grounding warn 0.5 (output).
 *
 * REPORT JSON:
 *   {"verdict": "allow"|"warn"|"redact"|"block",   the strongest action of any finding
 *    "stage": "input"|"output",
 *    "findings": [{"scanner": "pii", "type": "EMAIL_ADDRESS", "start": 9, "end": 26,
 *                  "score": 1.0, "action": "redact", "detail": "..."}],  sorted by start
 *    "text": the sanitised text (findings with action "redact" replaced; invalid UTF-8
 *            bytes become U+FFFD),
 *    "scores": {"pii": 1.0, "injection": 0.02, ...}  highest score per scanner that ran,
 *    "bytes": input length, "json": {"valid": bool, "errors": ["/a: ..."]} (json
 *    scanner), "grounding": {"score", "unsupported": [{"sentence", "start", "end",
 *    "support"}]} (grounding scanner), "invalid_utf8": count, "findings_truncated": true}
 *
 * A blocked text is NOT an error: mlops_guard_check returns MLOPS_OK and the verdict is
 * in the report (callers that refuse a request, such as the gateway, return
 * MLOPS_EBLOCKED themselves). Errors are for bad arguments, bad policies and storage.
 *
 * CONFIG (section "guard" of mlops_open's config): "hash_key" (string),
 * "injection_model" / "toxicity_model" (model files replacing the built-in ones),
 * "default_policy" (a policy object replacing the default), "max_findings" (1..1000000,
 * default 10000).
 *
 * All functions are thread-safe on one handle.
 */
#ifndef MLOPS_GUARD_H
#define MLOPS_GUARD_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Runs a policy over a text and reports what it found.
 *
 * @param h            the handle.
 * @param policy_json  a policy as JSON text, or the name of a policy stored with
 *                     mlops_guard_policy_put, or NULL/"" for the default policy.
 * @param stage        "input" (a prompt on its way to a model) or "output" (a model's
 *                     answer on its way to a user).
 * @param text         the UTF-8 text to check (invalid UTF-8 is a finding, not an error);
 *                     any size: it is scanned in bounded windows.
 * @param context      grounding context for output checks, or NULL.
 * @param out_report_json  receives the report (see above); release with mlops_free().
 * @return MLOPS_OK whatever the verdict; MLOPS_EINVAL (NULL handle/text/out, bad stage,
 *         bad policy name); MLOPS_ECONFIG (malformed policy, naming the field);
 *         MLOPS_ENOTFOUND (no stored policy of that name); MLOPS_ESTORE; MLOPS_ENOMEM.
 *         Thread-safe.
 */
MLOPS_API int mlops_guard_check(mlops_t *h, const char *policy_json, const char *stage, const char *text, const char *context, char **out_report_json);

/**
 * Stores (or replaces) a named policy after checking it.
 *
 * @param h            the handle.
 * @param name         1..128 bytes of [A-Za-z0-9._-/].
 * @param policy_json  the policy.
 * @return MLOPS_OK; MLOPS_EINVAL (bad name); MLOPS_ECONFIG (malformed policy, naming the
 *         field); MLOPS_ESTORE; MLOPS_EBUSY. Thread-safe; other processes see it at once.
 */
MLOPS_API int mlops_guard_policy_put(mlops_t *h, const char *name, const char *policy_json);

/**
 * Returns a stored policy's JSON (or the default policy's when name is NULL or "").
 *
 * @param h         the handle.
 * @param name      the policy name, or NULL/"" for the default policy.
 * @param out_json  receives the policy JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_guard_policy_get(mlops_t *h, const char *name, char **out_json);

/**
 * Lists stored policies: [{"name": "...", "updated": "RFC 3339 time"}], by name.
 *
 * @param h         the handle.
 * @param out_json  receives the list; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_guard_policy_list(mlops_t *h, char **out_json);

/**
 * Deletes a stored policy.
 *
 * @param h     the handle.
 * @param name  the policy name.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ESTORE. Thread-safe.
 */
MLOPS_API int mlops_guard_policy_delete(mlops_t *h, const char *name);

/**
 * Puts back the values behind pseudonyms ("<EMAIL_ADDRESS_1a2b3c4d>") that a check with
 * operator "pseudonymize" recorded in a vault; unknown tokens are left as they are.
 *
 * @param h      the handle.
 * @param vault  the vault name (the policy's "vault", default "default").
 * @param text   text containing pseudonyms (e.g. a model's answer).
 * @param out    receives the de-anonymised text; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ESTORE; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_guard_deanonymize(mlops_t *h, const char *vault, const char *text, char **out);

/**
 * Trains a linear classifier (logistic regression over hashed word, word-pair and
 * character 4-gram features in 65,536 buckets, plus intent-class features for
 * "injection"; AdaGrad SGD, deterministic) from labelled JSONL and writes it as a model
 * file usable as a policy's "model" or config guard.injection_model /
 * guard.toxicity_model. A text repeated in the data counts once (its first label wins).
 * To extend the built-in injection model, train on data/guard/injection_*.jsonl from
 * the source tree plus your own lines.
 *
 * @param h                the handle.
 * @param kind             "injection" or "toxicity".
 * @param data_jsonl_path  one {"text": "...", "label": 1|0|true|false|"attack"|"benign"|
 *                         "toxic"|"clean"} per line.
 * @param out_model_path   where to write the model (atomically).
 * @param out_report_json  receives {"kind", "examples", "positives", "train", "heldout",
 *                         "precision", "recall", "fpr", "accuracy", "dim", "model"}, the
 *                         metrics measured on a deterministic held-out fifth; release
 *                         with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (bad kind, too few examples or one label only);
 *         MLOPS_EIO; MLOPS_EFORMAT (a bad line, naming file and line); MLOPS_ENOMEM.
 *         Thread-safe.
 */
MLOPS_API int mlops_guard_train(mlops_t *h, const char *kind, const char *data_jsonl_path, const char *out_model_path, char **out_report_json);

/**
 * Makes a canary token and embeds it in a system prompt, so that a check of the model's
 * output (canary scanner, on in the default policy) detects a leaked system prompt.
 *
 * @param h              the handle.
 * @param system_prompt  the system prompt (may be NULL or "").
 * @param out_json       receives {"canary": "mlops-canary-<16 hex>", "prompt": "..."};
 *                       release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOMEM. Thread-safe.
 */
MLOPS_API int mlops_guard_canary(mlops_t *h, const char *system_prompt, char **out_json);

/**
 * Validates a JSON document against a JSON Schema (draft 2020-12 subset listed in the
 * README; $ref to local definitions only).
 *
 * @param h                the handle.
 * @param schema_json      the schema.
 * @param instance_json    the document to validate.
 * @param out_report_json  receives {"valid": bool, "errors": ["/path: message", ...]}
 *                         (at most 50 errors); release with mlops_free().
 * @return MLOPS_OK whether or not the document is valid; MLOPS_EPARSE (schema or
 *         instance is not JSON); MLOPS_EINVAL (a broken schema, e.g. an unresolvable
 *         $ref); MLOPS_ELIMIT ($ref recursion too deep). Thread-safe.
 */
MLOPS_API int mlops_guard_validate_json(mlops_t *h, const char *schema_json, const char *instance_json, char **out_report_json);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_GUARD_H */
