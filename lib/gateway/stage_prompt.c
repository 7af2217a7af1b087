/*
 * The prompt resolution stage ("prompt"): a prompt reference plus variables stand in
 * for messages (issue 8).
 *
 * Request: x_mlops.prompt = {"ref": "name@label" | "name:3" | "name", "vars": {...},
 * "key": "caller key for A/B" (default x_mlops.metadata.user, then request.user),
 * "role": "system" | "user" (text prompts only), "strict": bool (default true)}.
 *
 * - A text prompt becomes one message. Its role is x_mlops.prompt.role when given;
 *   otherwise "user" when the request has no messages (the prompt is the question) and
 *   "system" when it has some (the prompt frames the caller's conversation).
 * - A chat prompt becomes its messages, a placeholder filled from the variable it names
 *   (a JSON array of messages).
 * - The prompt's messages come first, the request's own messages after them.
 * - The prompt's stored config fills request fields the caller did not set, for the
 *   OpenAI fields listed in `config_fields` (model parameters, response_format, tools);
 *   other config keys are left alone and listed in the report as "config_ignored".
 * - x_mlops.prompt reports {"name", "version", "label", "split", "type", "role"?,
 *   "config_applied": [...], "unused": [...]}.
 */
#include "gateway_state.h"
#include "pipeline.h"
#include "request.h"

#include "../prompts/prompts.h"

#include <stdlib.h>
#include <string.h>

static const char *const config_fields[] = {
    "temperature",      "top_p",           "max_tokens",   "max_completion_tokens",
    "stop",             "seed",            "presence_penalty", "frequency_penalty",
    "response_format",  "tools",           "tool_choice",  "n",
    "logit_bias",       "top_k",           "parallel_tool_calls", "reasoning_effort",
};

static const mlops__json_field prompt_fields[] = {
    {"ref", MLOPS__J_STRING, true},
    {"vars", MLOPS__J_OBJECT, false},
    {"key", MLOPS__J_STRING, false},
    {"role", MLOPS__J_STRING, false},
    {"strict", MLOPS__J_BOOL, false},
    {NULL, 0, false},
};

/* The caller's key for sticky choices: explicit, else metadata.user, else request.user. */
const char *mlops__gw_ctx_user_key(const mlops__gw_ctx *ctx, const char *explicit_key)
{
    if (explicit_key)
        return explicit_key;
    const char *k = mlops__json_str(json_object_get(ctx->options, "metadata"), "user", NULL);
    return k ? k : mlops__json_str(ctx->request, "user", NULL);
}

static bool is_config_field(const char *k)
{
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(config_fields); i++)
        if (strcmp(config_fields[i], k) == 0)
            return true;
    return false;
}

int mlops__gw_stage_prompt(mlops__gw_ctx *ctx, json_t *report)
{
    json_t *po = json_object_get(ctx->options, "prompt");
    if (!po) {
        json_object_set_new(report, "skipped", json_string("no x_mlops.prompt"));
        return MLOPS_OK;
    }
    int rc = mlops__json_check_fields(po, "request.x_mlops.prompt", prompt_fields, MLOPS_EINVAL);
    if (rc != MLOPS_OK)
        return rc;
    const char *role = mlops__json_str(po, "role", NULL);
    if (role && strcmp(role, "system") != 0 && strcmp(role, "user") != 0)
        return mlops__error(MLOPS_EINVAL,
                            "request.x_mlops.prompt.role: '%s' is not one of system, user", role);
    if (!ctx->gw->prompts)
        return mlops__error(MLOPS_ESTATE, "x_mlops.prompt: the prompt registry is not open");
    const char *ref = mlops__json_str(po, "ref", "");
    const char *key = mlops__gw_ctx_user_key(ctx, mlops__json_str(po, "key", NULL));
    mlops__prompt_rendered r;
    memset(&r, 0, sizeof r);
    rc = mlops__prompts_render(ctx->gw->prompts, ref, json_object_get(po, "vars"), key,
                               mlops__json_bool(po, "strict", true), &r);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "x_mlops.prompt '%s'", ref);
    json_t *own = json_object_get(ctx->request, "messages");
    json_t *msgs = NULL;
    if (r.type == MLOPS__PROMPT_TEXT) {
        if (!role)
            role = json_array_size(own) > 0 ? "system" : "user";
        msgs = json_pack("[{s:s, s:s}]", "role", role, "content", r.text ? r.text : "");
    } else {
        role = NULL;
        msgs = json_loads(r.messages ? r.messages : "[]", 0, NULL);
    }
    json_t *config = json_loads(r.config ? r.config : "{}", 0, NULL);
    if (!json_is_array(msgs) || !json_is_object(config)) {
        json_decref(msgs);
        json_decref(config);
        mlops__prompt_rendered_free(&r);
        return mlops__error(MLOPS_EINTERNAL, "x_mlops.prompt '%s': the rendered prompt is not "
                            "valid JSON", ref);
    }
    if (json_is_array(own))
        json_array_extend(msgs, own);
    json_object_set_new(ctx->request, "messages", msgs);
    json_t *applied = json_array(), *ignored = json_array();
    const char *k;
    json_t *v;
    json_object_foreach(config, k, v) {
        if (!is_config_field(k)) {
            json_array_append_new(ignored, json_string(k));
        } else if (!json_object_get(ctx->request, k)) {
            json_object_set(ctx->request, k, v);
            json_array_append_new(applied, json_string(k));
        }
    }
    json_decref(config);
    json_t *info = json_pack("{s:s, s:I, s:s, s:b, s:s, s:o}", "name", r.name, "version",
                             (json_int_t)r.version, "label", r.served.label, "split",
                             r.served.split, "type",
                             r.type == MLOPS__PROMPT_TEXT ? "text" : "chat", "config_applied",
                             applied);
    if (role)
        json_object_set_new(info, "role", json_string(role));
    json_t *unused = r.unused ? json_loads(r.unused, 0, NULL) : NULL;
    if (json_array_size(unused) > 0)
        json_object_set_new(info, "unused", unused);
    else
        json_decref(unused);
    mlops__prompt_rendered_free(&r);
    json_object_set(ctx->xm, "prompt", info);
    json_object_set_new(report, "prompt", info);
    if (json_array_size(ignored) > 0)
        json_object_set_new(report, "config_ignored", ignored);
    else
        json_decref(ignored);
    /* the merged request must still be a valid request (the config may hold anything) */
    rc = mlops__gw_request_check(ctx->request);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "after x_mlops.prompt '%s'", ref);
    return MLOPS_OK;
}
