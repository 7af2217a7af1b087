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
#include <string.h>

#include "mlops.h"

static int fail(const char *step, int rc)
{
    fprintf(stderr, "quickstart: %s failed: %s (%s)\n", step, mlops_last_error(),
            mlops_strerror(rc));
    return 1;
}


static int print_piece(const char *piece, void *user_data)
{
    (void)user_data;
    fputs(piece, stdout);
    fflush(stdout);
    return 0;
}

/*
 * The local inference engine: writes a tiny llama model with seeded random weights next
 * to the store, loads it, and streams a few greedy tokens. The weights are random, so the
 * text is gibberish; point mlops_engine_load() (or `mlops run MODEL.gguf -p ...`) at any
 * llama/qwen2 GGUF file (F16, Q8_0, Q4_K_M...) to generate real text.
 */
static int step_engine(mlops_t *h, const char *dir)
{
    char path[1024];
    snprintf(path, sizeof path, "%s%stiny-random.gguf", dir, *dir ? "/" : "");
    int rc = mlops_gguf_synth(path, "{\"arch\": \"llama\", \"n_embd\": 128, \"n_layer\": 2, "
                                    "\"n_head\": 4, \"n_ff\": 256, \"n_vocab\": 512, \"seed\": 7}");
    if (rc != MLOPS_OK)
        return fail("mlops_gguf_synth", rc);
    mlops_model_t *model = NULL;
    if ((rc = mlops_engine_load(h, path, "{\"threads\": 2}", &model)) != MLOPS_OK)
        return fail("mlops_engine_load", rc);
    mlops_session_t *session = NULL;
    if ((rc = mlops_session_new(model, NULL, &session)) != MLOPS_OK) {
        mlops_model_free(model);
        return fail("mlops_session_new", rc);
    }
    printf("2. wrote %s: a tiny llama model with RANDOM weights (seed 7), loaded it and\n"
           "   generated 12 tokens greedily (expect gibberish):\n   hello world", path);
    char *result = NULL;
    rc = mlops_engine_generate(session, "hello world",
                               "{\"temperature\": 0, \"max_tokens\": 12, \"ignore_eos\": true}",
                               print_piece, NULL, &result);
    mlops_session_free(session);
    mlops_model_free(model);
    if (rc != MLOPS_OK)
        return fail("mlops_engine_generate", rc);
    printf("\n   result: %s\n"
           "   For real text, load a llama/qwen2 GGUF file instead, e.g.\n"
           "   `mlops run model.Q4_K_M.gguf -p \"Hello\" --chat`.\n", result);
    mlops_free(result);
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

    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    if (step_engine(h, dir) != 0) {
        mlops_close(h);
        return 1;
    }

    mlops_close(h);
    printf("\ndone.\n");
    return 0;
}
