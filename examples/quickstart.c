/*
 * quickstart: the tour of libmlops a newcomer runs first.
 *
 * It works on the embedded defaults: an SQLite file, no network, no keys. Each module
 * adds its step here as it lands, so that this program ends up showing the whole
 * pipeline.
 *
 * usage: quickstart [STORE_PATH]      (default: ./quickstart.db)
 */
#include <stdio.h>
#include <stdlib.h>

#include "mlops.h"

static int fail(const char *step, int rc)
{
    fprintf(stderr, "quickstart: %s failed: %s (%s)\n", step, mlops_last_error(),
            mlops_strerror(rc));
    return 1;
}

/* Prompts: push two versions, label one production, render it. */
static int step_prompts(mlops_t *h)
{
    int64_t v1 = 0, v2 = 0;
    int rc = mlops_prompt_push(h, "quickstart/greeting", "Hello {{name}}, welcome to {{place}}.",
                               "{\"message\": \"first draft\", \"actor\": \"quickstart\"}", &v1);
    if (rc == MLOPS_OK)
        rc = mlops_prompt_push(h, "quickstart/greeting",
                               "Hi {{name}}! Welcome to {{place}}.{{#tip}} Tip: {{tip}}{{/tip}}",
                               "{\"message\": \"friendlier, optional tip\", \"config\": "
                               "{\"temperature\": 0.3}}",
                               &v2);
    if (rc != MLOPS_OK)
        return fail("mlops_prompt_push", rc);
    printf("2. pushed prompt 'quickstart/greeting' versions %lld and %lld "
           "(pushing the same text again would create nothing)\n",
           (long long)v1, (long long)v2);
    rc = mlops_prompt_label_set(h, "quickstart/greeting", v2, "production",
                                "{\"actor\": \"quickstart\", \"reason\": \"demo launch\"}");
    if (rc != MLOPS_OK)
        return fail("mlops_prompt_label_set", rc);
    printf("   labelled version %lld 'production' (the move is recorded in the history)\n",
           (long long)v2);
    char *out = NULL;
    rc = mlops_prompt_render(h, "quickstart/greeting@production",
                             "{\"name\": \"Ada\", \"place\": \"libmlops\", \"tip\": "
                             "\"try 'mlops prompt --help'\"}",
                             NULL, &out);
    if (rc != MLOPS_OK)
        return fail("mlops_prompt_render", rc);
    printf("   rendered quickstart/greeting@production:\n   %s\n", out);
    mlops_free(out);
    return 0;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "quickstart.db";
    printf("libmlops %s quickstart\n\n", mlops_version());

    mlops_t *h = NULL;
    int rc = mlops_open(path, "{\"log_level\": \"warn\"}", &h);
    if (rc != MLOPS_OK)
        return fail("mlops_open", rc);
    char *info = NULL;
    if ((rc = mlops_info(h, &info)) != MLOPS_OK) {
        mlops_close(h);
        return fail("mlops_info", rc);
    }
    printf("1. opened the store %s (SQLite, WAL mode, schema migrated):\n   %s\n", path, info);
    mlops_free(info);

    if (step_prompts(h) != 0) {
        mlops_close(h);
        return 1;
    }

    mlops_close(h);
    printf("\ndone.\n");
    return 0;
}
