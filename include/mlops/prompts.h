/*
 * libmlops — the prompt registry: prompts managed like code.
 *
 * A prompt is a name with immutable, numbered versions (1, 2, 3...). A version holds a
 * template of type "text" or "chat", a commit message, tags and a config object (model
 * parameters, response format). Labels name versions ("production", "staging", any
 * other) or a weighted split of versions for server-side A/B tests; "latest" always
 * names the newest version. Label moves are atomic and recorded in an append-only
 * history (who, when, from, to, why).
 *
 * Names: 1..128 bytes of A-Z a-z 0-9 . _ - / starting with a letter or digit, with no
 * empty, "." or ".." segment between slashes. Labels: the same without '/'; "latest" is
 * reserved and labels that read as versions ("7", "v7") are refused.
 *
 * References (everywhere a prompt is named): "name" (label production if set, else the
 * latest version), "name@label" and "name:version".
 *
 * Templates:
 *   {{var}}                  the variable's value (strings as is, other JSON compact)
 *   {{var|default text}}     the default when the variable is missing
 *   {{user.name}}            a dotted path into an object
 *   {{#var}}...{{/var}}      rendered when var is present and true (not null, false, ""
 *                            or []); an array repeats the block per element, inside
 *                            which {{.}} is the element and {{field}} its fields
 *   {{^var}}...{{/var}}      rendered when var is missing or false
 *   {{> other@label}}        includes another (text) prompt; cycles are an error
 *   {{! comment}}            dropped;  \{{ writes a literal "{{"
 * A section, closing or comment tag alone on its line removes that line. Templates are
 * checked when pushed: errors are MLOPS_EPARSE with "line L column C". Limits: 10 MiB
 * per template (MLOPS_ELIMIT), sections nested at most 64 deep, includes 8 deep.
 *
 * Chat templates are a JSON array of messages {"role": ..., "content": "template"}
 * (other keys are kept). A message {"role": "placeholder", "content": "{{history}}"}
 * is replaced by the messages of the variable "history", a JSON array of messages
 * (write "{{history|}}" to make it optional).
 *
 * Rendering is strict: a missing variable is MLOPS_EINVAL naming it; variables the
 * template never uses are listed in the result's "unused".
 *
 * Reads go through a cache of resolved labels and compiled templates that is checked
 * against the store's change counter on every call: a write by another handle or
 * process is seen by the next call, and an unchanged label costs microseconds. Writes
 * that touch no prompt (other modules) cost one small query to confirm that.
 *
 * Configuration (the "prompts" object of mlops_open's config, all optional):
 *   "cache" (boolean, default true): the read-through cache;
 *   "max_render_bytes" (integer 1024..1073741824, default 16777216): bound on one
 *     render's output (MLOPS_ELIMIT beyond it);
 *   "cache_max_entries" (integer 16..1000000, default 4096): entries kept before the
 *     cache starts over.
 *
 * All functions are thread-safe; one handle may be shared by many threads.
 */
#ifndef MLOPS_PROMPTS_H
#define MLOPS_PROMPTS_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/**
 * Pushes a new version of a prompt (creating the prompt on its first push).
 * Pushing content identical to the latest version (same type, template and config)
 * creates nothing and returns the latest version's number.
 * @param h             the handle.
 * @param name          the prompt's name (see the naming rule above).
 * @param template_text the template: text, or for type "chat" a JSON array of messages.
 * @param options_json  NULL or an object: "type" ("text" default, or "chat"), "message"
 *                      (commit message), "tags" (object of strings), "config" (object),
 *                      "actor" (who pushed).
 * @param out           receives the version number (1, 2, 3...).
 * @return MLOPS_OK; MLOPS_EINVAL (bad name, options or NULL arguments); MLOPS_EPARSE
 *         (template syntax, with line and column); MLOPS_ELIMIT (over 10 MiB, nesting);
 *         MLOPS_EBUSY; MLOPS_ESTORE. Numbers are unique and gap-free per name even with
 *         concurrent pushes from threads and processes.
 */
MLOPS_API int mlops_prompt_push(mlops_t *h, const char *name, const char *template_text, const char *options_json, int64_t *out);

/**
 * Describes the version a reference resolves to, as JSON: {"label"?, "split"?, "name",
 * "version", "type", "template" (text, or the messages array), "config", "message",
 * "tags", "created_at", "created_by", "hash"}.
 * @param h            the handle.
 * @param ref          "name", "name@label" or "name:version".
 * @param options_json NULL or {"key": "caller id"}: picks stickily in a split label.
 * @param out          receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (bad reference); MLOPS_ENOTFOUND (unknown prompt, label
 *         or version, named in the message); MLOPS_ESTORE.
 */
MLOPS_API int mlops_prompt_get(mlops_t *h, const char *ref, const char *options_json, char **out);

/**
 * Renders a prompt with variables.
 * @param h            the handle.
 * @param ref          "name", "name@label" or "name:version".
 * @param vars_json    NULL or a JSON object of variables.
 * @param options_json NULL or {"key": "caller id", "strict": true}; with "strict": false
 *                     missing variables render as empty text.
 * @param out          receives {"name", "version", "label"?, "split"?, "type", "text" (text
 *                     prompts) or "messages" (chat prompts: an array), "config",
 *                     "unused": [variables the template does not use]}; release with
 *                     mlops_free(). "version" says which version served (A/B splits).
 * @return MLOPS_OK; MLOPS_EINVAL (bad reference or vars, missing variable, include
 *         cycle); MLOPS_EPARSE (vars not JSON); MLOPS_ENOTFOUND; MLOPS_ELIMIT (output
 *         bound, include depth).
 */
MLOPS_API int mlops_prompt_render(mlops_t *h, const char *ref, const char *vars_json, const char *options_json, char **out);

/**
 * Lists the variables a prompt's template uses: {"name", "version", "variables":
 * [{"name", "kind" ("variable", "section", "inverted", "include", "placeholder"),
 * "required", "default"?, "line"?, "column"?}]}. Includes are listed, not followed.
 * @param h   the handle.
 * @param ref a reference.
 * @param out receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND.
 */
MLOPS_API int mlops_prompt_variables(mlops_t *h, const char *ref, char **out);

/**
 * Points a label at a version, atomically, and records the move in the history.
 * @param h            the handle.
 * @param name         the prompt.
 * @param version      an existing version.
 * @param label        the label ("latest" and version-like labels are refused).
 * @param options_json NULL or {"actor": "who", "reason": "why"}.
 * @return MLOPS_OK (also when the label already points there: nothing is recorded);
 *         MLOPS_EINVAL; MLOPS_ENOTFOUND (prompt or version); MLOPS_EBUSY; MLOPS_ESTORE.
 */
MLOPS_API int mlops_prompt_label_set(mlops_t *h, const char *name, int64_t version, const char *label, const char *options_json);

/**
 * Points a label at a weighted split of versions (server-side A/B). A caller key given
 * to get/render always lands on the same version while the split is unchanged.
 * @param h            the handle.
 * @param name         the prompt.
 * @param label        the label.
 * @param split_json   {"split": [{"version": 1, "weight": 90}, {"version": 2, "weight": 10}]}
 *                     (or the bare array); integer weights 0..100 summing to 100, at most
 *                     16 arms, each version existing.
 * @param options_json NULL or {"actor", "reason"}.
 * @return MLOPS_OK; MLOPS_EINVAL (weights, unknown keys); MLOPS_EPARSE; MLOPS_ENOTFOUND.
 */
MLOPS_API int mlops_prompt_label_split(mlops_t *h, const char *name, const char *label, const char *split_json, const char *options_json);

/**
 * Removes a label (recorded in the history).
 * @param h            the handle.
 * @param name         the prompt.
 * @param label        the label.
 * @param options_json NULL or {"actor", "reason"}.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND (no such prompt or label).
 */
MLOPS_API int mlops_prompt_label_delete(mlops_t *h, const char *name, const char *label, const char *options_json);

/**
 * Lists prompts: {"prompts": [{"name", "latest", "type", "labels": {"latest": N,
 * "production": 2, "ab": {"split": [...]}}, "tags", "updated_at", "message"}]} sorted by
 * name; type, tags and message are the latest version's.
 * @param h           the handle.
 * @param filter_json NULL or {"prefix": "team/", "tag": "k" or "k=v", "label": "production"}.
 * @param out         receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL (unknown filter key); MLOPS_EPARSE; MLOPS_ESTORE.
 */
MLOPS_API int mlops_prompt_list(mlops_t *h, const char *filter_json, char **out);

/**
 * A prompt's history: {"name", "versions": [{"version", "type", "message", "tags",
 * "hash", "created_at", "created_by"}], "labels": {...}, "label_moves": [{"label",
 * "from", "to", "actor", "reason", "at"}]} (from/to: a version, a split or null).
 * @param h    the handle.
 * @param name the prompt.
 * @param out  receives the JSON; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND.
 */
MLOPS_API int mlops_prompt_history(mlops_t *h, const char *name, char **out);

/**
 * A unified line diff ("--- name:1", "+++ name:2", "@@ ... @@" hunks) between two
 * versions' templates (chat templates indented), plus the config's diff when it changed.
 * Identical versions give "".
 * @param h    the handle.
 * @param name the prompt.
 * @param v1   the old version.
 * @param v2   the new version.
 * @param out  receives the text; release with mlops_free().
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_ELIMIT (too many changed lines).
 */
MLOPS_API int mlops_prompt_diff(mlops_t *h, const char *name, int64_t v1, int64_t v2, char **out);

/**
 * Writes prompts as plain files under `dir` (created if missing): per prompt a
 * directory <name>/ with v<N>.txt (text) or v<N>.json (chat), v<N>.meta.json and
 * labels.json; JSON is indented with sorted keys so the tree diffs well in git.
 * @param h    the handle.
 * @param dir  the directory.
 * @param name one prompt, or NULL for all.
 * @return MLOPS_OK; MLOPS_EINVAL; MLOPS_ENOTFOUND; MLOPS_EIO.
 */
MLOPS_API int mlops_prompt_export(mlops_t *h, const char *dir, const char *name);

/**
 * Reads a tree written by mlops_prompt_export back, in one transaction. Versions are
 * matched by content; new content is pushed in file order; labels are moved where they
 * differ. Importing the same tree twice changes nothing.
 * @param h            the handle.
 * @param dir          the directory.
 * @param options_json NULL or {"actor": "who"} (recorded on label moves).
 * @param out          receives {"prompts": N, "created": [{"name", "version", "file"}],
 *                     "unchanged": N, "labels_moved": [{"name", "label"}]}; release with
 *                     mlops_free().
 * @return MLOPS_OK; MLOPS_EIO; MLOPS_EFORMAT (a file that is not what it should be,
 *         named); MLOPS_EPARSE (template syntax); MLOPS_ELIMIT.
 */
MLOPS_API int mlops_prompt_import(mlops_t *h, const char *dir, const char *options_json, char **out);

#ifdef __cplusplus
}
#endif

#endif /* MLOPS_PROMPTS_H */
