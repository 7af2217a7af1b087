/*
 * The gateway's added cost: mlops_chat against a loopback stand-in provider, next to a
 * bare libcurl POST of the same request to the same server, in the same run.
 * Reports p50/p99 latency at concurrency 1 and 32, and CPU time per request
 * (getrusage over the run: the stand-in runs in this process too, so the difference
 * between the two columns is what the gateway adds).
 *
 * usage: bench_gateway [REQUESTS_PER_THREAD]   (default 2000 at c=1, /16 at c=32)
 */
#include "bench.h"

#include "core/core.h"
#include "mlops.h"
#include "stub_server.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

static const char *REQUEST =
    "{\"model\":\"chat\",\"messages\":[{\"role\":\"system\",\"content\":\"You are terse.\"},"
    "{\"role\":\"user\",\"content\":\"What is the capital of France?\"}],\"temperature\":0.2,"
    "\"max_tokens\":64}";

typedef struct job {
    mlops_t *h;       /* NULL: bare libcurl */
    const char *url;
    int n;
    double *lat_ns;   /* n samples */
    int errors;
} job;

static size_t discard(char *p, size_t s, size_t n, void *u)
{
    (void)p;
    (void)u;
    return s * n;
}

static void *run_job(void *p)
{
    job *j = p;
    CURL *e = NULL;
    struct curl_slist *hdrs = NULL;
    if (!j->h) {
        e = curl_easy_init();
        hdrs = curl_slist_append(NULL, "Content-Type: application/json");
        hdrs = curl_slist_append(hdrs, "Expect:");
        curl_easy_setopt(e, CURLOPT_URL, j->url);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, REQUEST);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    }
    for (int i = 0; i < j->n; i++) {
        uint64_t t0 = bench_now_ns();
        if (j->h) {
            char *out = NULL;
            if (mlops_chat(j->h, REQUEST, &out) != MLOPS_OK)
                j->errors++;
            mlops_free(out);
        } else if (curl_easy_perform(e) != CURLE_OK) {
            j->errors++;
        }
        j->lat_ns[i] = (double)(bench_now_ns() - t0);
    }
    if (e) {
        curl_easy_cleanup(e);
        curl_slist_free_all(hdrs);
    }
    return NULL;
}

static double cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

typedef struct result {
    bench_stats st;
    double cpu_us_per_req;
    double req_per_s;
    int errors;
} result;

static result run(mlops_t *h, const char *url, int threads, int per_thread)
{
    job *jobs = calloc((size_t)threads, sizeof *jobs);
    pthread_t *t = calloc((size_t)threads, sizeof *t);
    double *all = calloc((size_t)threads * (size_t)per_thread, sizeof *all);
    for (int i = 0; i < threads; i++)
        jobs[i] = (job){h, url, per_thread, all + (size_t)i * (size_t)per_thread, 0};
    double c0 = cpu_s();
    uint64_t w0 = bench_now_ns();
    for (int i = 0; i < threads; i++)
        pthread_create(&t[i], NULL, run_job, &jobs[i]);
    result r = {0};
    for (int i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        r.errors += jobs[i].errors;
    }
    double wall = (double)(bench_now_ns() - w0) / 1e9;
    double total = (double)threads * per_thread;
    r.cpu_us_per_req = (cpu_s() - c0) * 1e6 / total;
    r.req_per_s = total / wall;
    r.st = bench_stats_of(all, (size_t)threads * (size_t)per_thread);
    free(all);
    free(jobs);
    free(t);
    return r;
}

int main(int argc, char **argv)
{
    int n1 = argc > 1 ? atoi(argv[1]) : 2000;
    if (n1 < 10)
        n1 = 10;
    int n32 = n1 / 16 > 5 ? n1 / 16 : 5;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    stub_server *s = stub_start("bench");
    if (!s) {
        fprintf(stderr, "bench_gateway: could not start the stand-in server\n");
        return 1;
    }
    char url[128], cfg[512];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", stub_port(s));
    snprintf(cfg, sizeof cfg,
             "{\"models\": [{\"name\": \"chat\", \"deployments\": [{\"provider\": \"openai\", "
             "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"up\", \"api_key\": \"k\", "
             "\"input_cost_per_mtok\": 0.15, \"output_cost_per_mtok\": 0.6}]}]}",
             stub_port(s));
    mlops_t *h = NULL;
    if (mlops_open(":memory:", NULL, &h) != MLOPS_OK || mlops_gateway_configure(h, cfg) != MLOPS_OK) {
        fprintf(stderr, "bench_gateway: %s\n", mlops_last_error());
        return 1;
    }
    /* warm both paths (connections, caches) */
    run(NULL, url, 1, 50);
    run(h, url, 1, 50);

    /* the same through the Anthropic translation (request and response rewritten) */
    stub_server *sa = stub_start("bench-anthropic");
    stub_action aa = {.kind = STUB_OK, .format = STUB_ANTHROPIC};
    stub_set_default(sa, &aa);
    char url_a[128], cfg_a[512];
    snprintf(url_a, sizeof url_a, "http://127.0.0.1:%d/v1/messages", stub_port(sa));
    snprintf(cfg_a, sizeof cfg_a,
             "{\"models\": [{\"name\": \"chat\", \"deployments\": [{\"provider\": \"anthropic\", "
             "\"base_url\": \"http://127.0.0.1:%d\", \"model\": \"up\", \"api_key\": \"k\"}]}]}",
             stub_port(sa));
    mlops_t *ha = NULL;
    if (mlops_open(":memory:", NULL, &ha) != MLOPS_OK || mlops_gateway_configure(ha, cfg_a) != MLOPS_OK) {
        fprintf(stderr, "bench_gateway: %s\n", mlops_last_error());
        return 1;
    }
    run(NULL, url_a, 1, 50);
    run(ha, url_a, 1, 50);
    result ba = run(NULL, url_a, 1, n1);
    result ga = run(ha, url_a, 1, n1);

    result b1 = run(NULL, url, 1, n1);
    result g1 = run(h, url, 1, n1);
    result b32 = run(NULL, url, 32, n32);
    result g32 = run(h, url, 32, n32);

    bench_table_begin("mlops_chat vs bare libcurl POST, loopback stand-in (OpenAI format)",
                      "bare libcurl");
    bench_table_row("latency, concurrency 1", &g1.st, &b1.st);
    bench_table_row("latency, concurrency 32", &g32.st, &b32.st);
    bench_table_row("latency, c=1, anthropic translation", &ga.st, &ba.st);
    bench_table_note("added p50 / p99, c=1", "%.1f us / %.1f us", (g1.st.p50_ns - b1.st.p50_ns) / 1e3,
                     (g1.st.p99_ns - b1.st.p99_ns) / 1e3);
    bench_table_note("added p50 / p99, c=32", "%.1f us / %.1f us",
                     (g32.st.p50_ns - b32.st.p50_ns) / 1e3, (g32.st.p99_ns - b32.st.p99_ns) / 1e3);
    bench_table_note("added p50, c=1, anthropic", "%.1f us", (ga.st.p50_ns - ba.st.p50_ns) / 1e3);
    bench_table_note("CPU per request, c=1", "%.1f us (bare %.1f us, added %.1f us)", g1.cpu_us_per_req,
                     b1.cpu_us_per_req, g1.cpu_us_per_req - b1.cpu_us_per_req);
    bench_table_note("CPU per request, c=32", "%.1f us (bare %.1f us, added %.1f us)",
                     g32.cpu_us_per_req, b32.cpu_us_per_req, g32.cpu_us_per_req - b32.cpu_us_per_req);
    bench_table_note("throughput, c=32", "%.0f req/s (bare %.0f req/s)", g32.req_per_s, b32.req_per_s);
    bench_table_note("CPU per request, c=1, anthropic", "%.1f us (bare %.1f us, added %.1f us)",
                     ga.cpu_us_per_req, ba.cpu_us_per_req, ga.cpu_us_per_req - ba.cpu_us_per_req);
    bench_table_note("errors", "%d gateway, %d bare", g1.errors + g32.errors + ga.errors,
                     b1.errors + b32.errors + ba.errors);
    bench_table_note("connections opened", "%d (both paths together)", stub_connections(s));
    bench_table_end();
    mlops_close(h);
    mlops_close(ha);
    stub_stop(s);
    stub_stop(sa);
    curl_global_cleanup();
    return 0;
}
