/*
 * Chat templates of the common model families. A GGUF file carries its template as
 * Jinja text (tokenizer.chat_template); rather than run Jinja, the family is recognised
 * by the markers only it uses and rendered here. The BOS token is not part of the
 * rendered text: the tokenizer adds it as the vocabulary's add_bos flag says.
 */
#include "engine.h"

#include <stdlib.h>
#include <string.h>

const char *mlops__chat_detect(const char *t)
{
    if (!t)
        return NULL;
    if (strstr(t, "<|start_header_id|>"))
        return "llama3";
    if (strstr(t, "<|im_start|>"))
        return "chatml";
    if (strstr(t, "<start_of_turn>"))
        return "gemma";
    if (strstr(t, "<|assistant|>") && strstr(t, "<|end|>"))
        return "phi3";
    if (strstr(t, "<|user|>"))
        return "zephyr";
    if (strstr(t, "[INST]") && strstr(t, "<<SYS>>"))
        return "llama2";
    if (strstr(t, "[INST]"))
        return "mistral";
    return NULL;
}

static const char *const families[] = {"llama2", "llama3", "chatml", "mistral", "phi3", "gemma", "zephyr"};

static int check_messages(const json_t *msgs)
{
    if (!json_is_array(msgs) || json_array_size(msgs) == 0)
        return mlops__error(MLOPS_EINVAL, "messages: expected a non-empty array of {role, content}");
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = json_string_value(json_object_get(m, "role"));
        if (!json_is_object(m) || !role || !json_is_string(json_object_get(m, "content")))
            return mlops__error(MLOPS_EINVAL, "messages[%zu]: expected an object with string 'role' and 'content'", i);
        if (strcmp(role, "system") && strcmp(role, "user") && strcmp(role, "assistant"))
            return mlops__error(MLOPS_EINVAL, "messages[%zu].role: '%s' is not system, user or assistant", i, role);
    }
    return MLOPS_OK;
}

static const char *role_of(const json_t *m) { return json_string_value(json_object_get(m, "role")); }
static const char *content_of(const json_t *m) { return json_string_value(json_object_get(m, "content")); }

/* Families without a system role: the system text opens the first user turn. */
static void render_merged_system(mlops__buf *b, const json_t *msgs, const char *family)
{
    const char *sys = NULL;
    bool first_user = true;
    size_t i;
    json_t *m;
    json_array_foreach(msgs, i, m) {
        const char *role = role_of(m), *content = content_of(m);
        if (strcmp(role, "system") == 0) {
            sys = content;
            continue;
        }
        bool user = strcmp(role, "user") == 0;
        if (strcmp(family, "gemma") == 0) {
            mlops__buf_printf(b, "<start_of_turn>%s\n", user ? "user" : "model");
            if (user && first_user && sys)
                mlops__buf_printf(b, "%s\n\n", sys);
            mlops__buf_printf(b, "%s<end_of_turn>\n", content);
        } else if (strcmp(family, "mistral") == 0) {
            if (user) {
                mlops__buf_puts(b, "[INST] ");
                if (first_user && sys)
                    mlops__buf_printf(b, "%s\n\n", sys);
                mlops__buf_printf(b, "%s [/INST]", content);
            } else {
                mlops__buf_printf(b, "%s</s>", content);
            }
        } else { /* llama2 */
            if (user) {
                if (!first_user)
                    mlops__buf_puts(b, "<s>");
                mlops__buf_puts(b, "[INST] ");
                if (first_user && sys)
                    mlops__buf_printf(b, "<<SYS>>\n%s\n<</SYS>>\n\n", sys);
                mlops__buf_printf(b, "%s [/INST]", content);
            } else {
                mlops__buf_printf(b, " %s </s>", content);
            }
        }
        if (user)
            first_user = false;
    }
}

int mlops__chat_render(const char *family, const json_t *messages, bool add_assistant,
                       char **out)
{
    *out = NULL;
    bool known = false;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(families); i++)
        known = known || (family && strcmp(family, families[i]) == 0);
    if (!known)
        return mlops__error(MLOPS_EUNSUPPORTED,
                            "chat template: '%s' is not one of llama2, llama3, chatml, mistral, phi3, gemma, zephyr",
                            family ? family : "(none)");
    int rc = check_messages(messages);
    if (rc != MLOPS_OK)
        return rc;
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "");
    if (!strcmp(family, "gemma") || !strcmp(family, "mistral") || !strcmp(family, "llama2")) {
        render_merged_system(&b, messages, family);
        if (add_assistant && !strcmp(family, "gemma"))
            mlops__buf_puts(&b, "<start_of_turn>model\n");
    } else {
        size_t i;
        json_t *m;
        json_array_foreach(messages, i, m) {
            const char *role = role_of(m), *content = content_of(m);
            if (!strcmp(family, "llama3"))
                mlops__buf_printf(&b, "<|start_header_id|>%s<|end_header_id|>\n\n%s<|eot_id|>", role, content);
            else if (!strcmp(family, "chatml"))
                mlops__buf_printf(&b, "<|im_start|>%s\n%s<|im_end|>\n", role, content);
            else if (!strcmp(family, "phi3"))
                mlops__buf_printf(&b, "<|%s|>\n%s<|end|>\n", role, content);
            else /* zephyr */
                mlops__buf_printf(&b, "<|%s|>\n%s</s>\n", role, content);
        }
        if (add_assistant) {
            if (!strcmp(family, "llama3"))
                mlops__buf_puts(&b, "<|start_header_id|>assistant<|end_header_id|>\n\n");
            else if (!strcmp(family, "chatml"))
                mlops__buf_puts(&b, "<|im_start|>assistant\n");
            else
                mlops__buf_puts(&b, "<|assistant|>\n");
        }
    }
    if (b.failed) {
        mlops__buf_free(&b);
        return mlops__error_oom("chat prompt");
    }
    *out = mlops__buf_take(&b);
    return MLOPS_OK;
}
