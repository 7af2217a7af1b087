/*
 * bench_gateway_local: a chat completion through the gateway's `local` provider
 * against the same generation called on the engine directly (same synthetic model,
 * same messages and chat template, greedy, a fresh context each time), so the
 * difference is what the gateway adds: request validation, routing, the session pool,
 * the template, JSON in and out.
 *
 * usage: bench_gateway_local [ITERATIONS]   (default 200)
 */
#include "bench.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlops.h"

static const char *MESSAGES =
    "[{\"role\": \"system\", \"content\": \"You are terse.\"}, {\"role\": \"user\", "
    "\"content\": \"Name three colours of the rainbow.\"}]";

typedef struct job {
    mlops_t *h;
    mlops_engine_session_t *s;
    char *request, *options;
    int errors;
    long tokens;
} job;

static long completion_tokens(const char *json)
{
    const char *p = json ? strstr(json, "\"completion_tokens\":") : NULL;
    return p ? strtol(p + 20, NULL, 10) : -1;
}

static void via_gateway(void *arg)
{
    job *j = arg;
    char *out = NULL;
    if (mlops_chat(j->h, j->request, &out) != MLOPS_OK)
        j->errors++;
    j->tokens = completion_tokens(out);
    mlops_free(out);
}

static void direct(void *arg)
{
    job *j = arg;
    char *out = NULL;
    mlops_engine_session_reset(j->s);
    if (mlops_engine_generate(j->s, NULL, j->options, NULL, NULL, &out) != MLOPS_OK)
        j->errors++;
    j->tokens = completion_tokens(out);
    mlops_free(out);
}

int main(int argc, char **argv)
{
    size_t iters = argc > 1 ? strtoul(argv[1], NULL, 10) : 200;
    char dir[512];
    if (!bench_mkdtemp(dir, sizeof dir, "bench_gw_local."))
        return 1;
    char path[640];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    int rc = mlops_gguf_synth(path, "{\"arch\": \"llama\", \"n_embd\": 256, \"n_layer\": 4, "
                                    "\"n_head\": 4, \"n_head_kv\": 2, \"n_ff\": 768, "
                                    "\"n_vocab\": 2048, \"n_ctx\": 512, \"seed\": 3}");
    mlops_t *h = NULL;
    if (rc == MLOPS_OK)
        rc = mlops_open(":memory:", "{\"log_level\": \"error\"}", &h);
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"models\": [{\"name\": \"local\", \"deployments\": [{\"provider\": \"local\", "
             "\"model\": \"%s\", \"chat_template\": \"chatml\", \"options\": {\"threads\": 1}}]}]}",
             path);
    if (rc == MLOPS_OK)
        rc = mlops_gateway_configure(h, cfg);
    mlops_engine_model_t *m = NULL;
    mlops_engine_session_t *s = NULL;
    if (rc == MLOPS_OK)
        rc = mlops_engine_load(h, path, "{\"threads\": 1}", &m);
    if (rc == MLOPS_OK)
        rc = mlops_engine_session_new(m, NULL, &s);
    if (rc != MLOPS_OK) {
        fprintf(stderr, "bench_gateway_local: %s\n", mlops_last_error());
        return 1;
    }
    job g = {h, NULL, NULL, NULL, 0, 0}, d = {h, s, NULL, NULL, 0, 0};
    size_t need = strlen(MESSAGES) + 256;
    g.request = malloc(need);
    d.options = malloc(need);
    snprintf(g.request, need, "{\"model\": \"local\", \"messages\": %s, \"max_tokens\": 16, "
                              "\"temperature\": 0}", MESSAGES);
    snprintf(d.options, need, "{\"messages\": %s, \"chat_template\": \"chatml\", "
                              "\"max_tokens\": 16, \"temperature\": 0}", MESSAGES);
    /* interleaved, one call of each per round, so load on the machine hits both alike */
    double *tg = calloc(iters, sizeof *tg), *td = calloc(iters, sizeof *td);
    via_gateway(&g);
    direct(&d);
    for (size_t i = 0; i < iters; i++) {
        uint64_t t0 = bench_now_ns();
        via_gateway(&g);
        uint64_t t1 = bench_now_ns();
        direct(&d);
        tg[i] = (double)(t1 - t0);
        td[i] = (double)(bench_now_ns() - t1);
    }
    bench_stats sg = bench_stats_of(tg, iters), sd = bench_stats_of(td, iters);
    free(tg);
    free(td);
    bench_table_begin("chat completion, 4-layer 256-wide synthetic llama, 1 thread, greedy",
                      "mlops_engine_generate");
    bench_table_row("mlops_chat via provider local", &sg, &sd);
    bench_table_note("added per request p50 / min", "%.1f us / %.1f us",
                     (sg.p50_ns - sd.p50_ns) / 1e3, (sg.min_ns - sd.min_ns) / 1e3);
    bench_table_note("completion tokens", "%ld gateway, %ld direct (same text expected)",
                     g.tokens, d.tokens);
    bench_table_note("errors", "%d gateway, %d direct", g.errors, d.errors);
    bench_table_end();
    free(g.request);
    free(d.options);
    mlops_engine_session_free(s);
    mlops_engine_model_free(m);
    mlops_close(h);
    unlink(path);
    rmdir(dir);
    return g.errors + d.errors ? 1 : 0;
}
