/*
 * Fuzz target: the prompt template compiler and renderer (lib/prompts/tpl_*.c), the
 * chat-template validator, the reference parser and the line diff.
 *
 * Every input is compiled; whatever compiles is rendered strictly and leniently with
 * fixed variables (strings, numbers, nested objects, arrays) and with an includer that
 * resolves every {{> ...}} to the template itself, so include cycles and the depth
 * bound are exercised too.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "prompts/prompts.h"
#include "fuzz_text.h"

static const mlops__tpl *self_tpl;

static int resolve_self(void *user, const char *ref, size_t n, const mlops__tpl **out_tpl,
                        char **out_id, void **out_hold)
{
    (void)user;
    mlops__prompt_ref r;
    int rc = mlops__prompt_ref_parse(ref, n, &r);
    if (rc != MLOPS_OK)
        return rc;
    /* alternate ids so that some chains end in a cycle and others in the depth bound */
    *out_id = mlops__strdup(r.kind == MLOPS__REF_VERSION ? "fuzz:1" : r.name);
    if (!*out_id)
        return MLOPS_ENOMEM;
    *out_tpl = self_tpl;
    *out_hold = NULL;
    return MLOPS_OK;
}

static const char vars_text[] =
    "{\"name\": \"Ada\", \"n\": 42, \"pi\": 3.25, \"yes\": true, \"no\": false, \"nil\": null,"
    " \"empty\": \"\", \"list\": [1, \"two\", {\"name\": \"inner\", \"inner\": [1, 2]}, []],"
    " \"user\": {\"name\": \"u\", \"address\": {\"city\": \"c\"}}, \"q\": \"why\","
    " \"history\": [{\"role\": \"user\", \"content\": \"hi\"}], \"items\": [{\"name\": \"a\"}]}";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1u << 16)
        return 0;
    char *text = fuzz_text(data, size);
    if (!text)
        return 0;

    mlops__prompt_ref ref;
    (void)mlops__prompt_ref_parse(text, size, &ref);

    json_error_t err;
    json_t *vars = json_loads(vars_text, 0, &err);
    mlops__tpl *t = NULL;
    if (mlops__tpl_compile(text, size, "fuzz", &t) == MLOPS_OK) {
        self_tpl = t;
        mlops__tpl_includer inc = {resolve_self, NULL, NULL};
        json_t *names = json_object();
        for (int strict = 0; strict < 2; strict++) {
            mlops__tpl_render_opts o = {strict != 0, 1u << 20, "fuzz:1", &inc, names};
            mlops__buf b;
            mlops__buf_init(&b);
            (void)mlops__tpl_render(t, vars, &o, &b);
            mlops__buf_free(&b);
            mlops__buf_init(&b);
            (void)mlops__tpl_render(t, NULL, &o, &b);
            mlops__buf_free(&b);
        }
        json_t *list = json_array();
        (void)mlops__tpl_variables(t, list);
        json_decref(list);
        mlops__tpl_names(t, names);
        json_decref(names);
        mlops__tpl_free(t);
    }
    if (memchr(text, '\0', size) == NULL) {
        char *canonical = NULL;
        (void)mlops__prompt_normalise(MLOPS__PROMPT_CHAT, text, "fuzz", &canonical);
        free(canonical);
        if (size < 4096) {
            char *diff = NULL;
            size_t half = size / 2;
            char *a = mlops__strndup(text, half);
            if (a && mlops__prompt_line_diff(a, text + half, "a", "b", &diff) == MLOPS_OK)
                free(diff);
            free(a);
        }
    }
    json_decref(vars);
    free(text);
    return 0;
}
