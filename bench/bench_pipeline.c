/*
 * What the guard and cache stages add to mlops_chat, against a loopback stand-in
 * provider, next to the same gateway without them (routing + provider only) in the same
 * run, concurrency 1:
 *   - miss: input guard (default policy) + exact and semantic lookup (a near candidate
 *     the lexical guard refuses: every request names another ticket number) + provider
 *     + output guard + store;
 *   - exact hit: the same request again (no upstream call);
 *   - semantic hit: a paraphrase of a cached request (no upstream call).
 *
 * usage: bench_pipeline [REQUESTS]   (default 1000)
 */
#include "bench.h"

#include "mlops.h"
#include "stub_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

static mlops_t *open_gateway(int port, const char *extra)
{
    char cfg[1024];
    snprintf(cfg, sizeof cfg,
             "{\"models\": [{\"name\": \"chat\", \"deployments\": [{\"provider\": \"openai\", "
             "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"up\", \"api_key\": \"k\"}]}]%s}",
             port, extra);
    mlops_t *h = NULL;
    if (mlops_open(":memory:", NULL, &h) != MLOPS_OK || mlops_gateway_configure(h, cfg) != MLOPS_OK) {
        fprintf(stderr, "bench_pipeline: %s\n", mlops_last_error());
        exit(1);
    }
    return h;
}

/* The virtual key the "all stages" handle checks, reserves against and settles. */
static char secret[128];

static char *request(const char *text, bool with_key)
{
    static char buf[1024];
    char xm[200] = "";
    if (with_key)
        snprintf(xm, sizeof xm, ",\"x_mlops\":{\"api_key\":\"%s\"}", secret);
    snprintf(buf, sizeof buf,
             "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
             "{\"role\":\"user\",\"content\":\"%s\"}],\"temperature\":0.2,\"max_tokens\":64%s}",
             text, xm);
    return buf;
}

static int errors, hits;
static mlops_t *keyed; /* the handle whose requests carry the key */

/* n requests; text NULL: a distinct ticket number each time (a miss). */
static bench_stats run(mlops_t *h, int n, const char *text, int base)
{
    double *lat = calloc((size_t)n, sizeof *lat);
    for (int i = 0; i < n; i++) {
        char q[256];
        if (text)
            snprintf(q, sizeof q, "%s", text);
        else
            snprintf(q, sizeof q,
                     "Summarise support ticket %d for the on-call engineer in two sentences",
                     base + i);
        const char *req = request(q, h == keyed);
        char *out = NULL;
        uint64_t t0 = bench_now_ns();
        if (mlops_chat(h, req, &out) != MLOPS_OK)
            errors++;
        lat[i] = (double)(bench_now_ns() - t0);
        if (out && strstr(out, "\"hit\":\""))
            hits++;
        mlops_free(out);
    }
    bench_stats st = bench_stats_of(lat, (size_t)n);
    free(lat);
    return st;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1000;
    if (n < 10)
        n = 10;
    stub_server *s = stub_start("bench");
    if (!s) {
        fprintf(stderr, "bench_pipeline: could not start the stand-in server\n");
        return 1;
    }
    mlops_t *plain = open_gateway(stub_port(s), "");
    mlops_t *full = open_gateway(stub_port(s), ", \"guard\": {}, \"cache\": {}, \"require_key\": true");
    char *created = NULL;
    if (mlops_keys_create(full, "{\"budget\": 1000000}", &created) != MLOPS_OK) {
        fprintf(stderr, "bench_pipeline: %s\n", mlops_last_error());
        return 1;
    }
    const char *sp = strstr(created, "\"secret\":\"");
    snprintf(secret, sizeof secret, "%.*s", sp ? (int)strcspn(sp + 10, "\"") : 0, sp ? sp + 10 : "");
    mlops_free(created);
    keyed = full;
    mlops_t *guard = open_gateway(stub_port(s), ", \"guard\": {}");
    /* warm up: connections, the guard's models, the cache's first partition */
    run(plain, 50, NULL, 0);
    run(full, 50, NULL, 0);
    run(guard, 50, NULL, 0);
    hits = 0;

    bench_stats b = run(plain, n, NULL, 1000000);
    bench_stats g = run(guard, n, NULL, 2000000);
    bench_stats miss = run(full, n, NULL, 3000000);
    int miss_hits = hits;
    const char *q = "What is the capital of France?";
    run(full, 1, q, 0);
    hits = 0;
    bench_stats exact = run(full, n, q, 0);
    int exact_hits = hits;
    hits = 0;
    bench_stats sem = run(full, n, "what's the capital of France", 0);
    int sem_hits = hits;

    bench_table_begin("mlops_chat with all stages (key check + reservation, input guard, cache,"
                      " routing, provider, output guard, cache store, ledger) vs routing+provider"
                      " only (loopback stand-in, c=1)",
                      "routing+provider only");
    bench_table_row("input+output guard, no cache", &g, &b);
    bench_table_row("all stages, cache miss", &miss, &b);
    bench_table_row("all stages, exact hit", &exact, &b);
    bench_table_row("all stages, semantic hit", &sem, &b);
    bench_table_note("added p50 / p99, miss", "%.1f us / %.1f us", (miss.p50_ns - b.p50_ns) / 1e3,
                     (miss.p99_ns - b.p99_ns) / 1e3);
    bench_table_note("added p50, guard stages only", "%.1f us", (g.p50_ns - b.p50_ns) / 1e3);
    bench_table_note("p50 exact hit / semantic hit", "%.1f us / %.1f us", exact.p50_ns / 1e3,
                     sem.p50_ns / 1e3);
    bench_table_note("hits counted", "miss run %d/%d, exact %d/%d, semantic %d/%d", miss_hits, n,
                     exact_hits, n, sem_hits, n);
    bench_table_note("errors", "%d", errors);
    bench_table_end();
    mlops_close(plain);
    mlops_close(full);
    mlops_close(guard);
    stub_stop(s);
    return 0;
}
