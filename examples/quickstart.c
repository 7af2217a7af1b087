/*
 * quickstart: the tour of libmlops a newcomer runs first.
 *
 * It works on the embedded defaults: an SQLite file, no network, no keys. Each module
 * adds its step here as it lands, so that this program ends up showing the whole
 * pipeline.
 *
 * usage: quickstart [STORE_PATH]      (default: ./quickstart.db)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "mlops.h"

static int fail(const char *step, int rc)
{
    fprintf(stderr, "quickstart: %s failed: %s (%s)\n", step, mlops_last_error(),
            mlops_strerror(rc));
    return 1;
}

/*
 * Gateway step: a tiny OpenAI-compatible stand-in on 127.0.0.1 (a thread answering
 * every POST with a canned chat.completion), and a gateway whose model "chat" points at
 * a port where nothing listens, with "standin" as its fallback. The request fails over
 * and is answered offline, without keys.
 */
typedef struct standin {
    int fd;
    int port;
    atomic_int stop;
    pthread_t thread;
} standin;

static void standin_reply(int c)
{
    char buf[65536];
    size_t len = 0;
    char *end = NULL;
    while (!end && len < sizeof buf - 1) {
        ssize_t n = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    const char *cl = strstr(buf, "Content-Length:");
    size_t want = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 15, NULL, 10) : 0);
    while (len < want && len < sizeof buf - 1) {
        ssize_t n = recv(c, buf + len, sizeof buf - 1 - len, 0);
        if (n <= 0)
            return;
        len += (size_t)n;
    }
    static const char body[] =
        "{\"id\":\"chatcmpl-standin\",\"object\":\"chat.completion\",\"created\":0,"
        "\"model\":\"standin-1\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
        "\"content\":\"Paris.\"},\"finish_reason\":\"stop\"}],"
        "\"usage\":{\"prompt_tokens\":14,\"completion_tokens\":2,\"total_tokens\":16}}";
    char head[160];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n\r\n", sizeof body - 1);
    if (send(c, head, (size_t)n, MSG_NOSIGNAL) == n)
        send(c, body, sizeof body - 1, MSG_NOSIGNAL);
}

static void *standin_main(void *arg)
{
    standin *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            continue;
        standin_reply(c);
        close(c);
    }
    return NULL;
}

/* Binds 127.0.0.1 on an ephemeral port; with `serve`, answers requests on a thread. */
static int standin_start(standin *s, int serve)
{
    memset(s, 0, sizeof *s);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t alen = sizeof a;
    if (s->fd < 0 || bind(s->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(s->fd, (struct sockaddr *)&a, &alen) != 0 || listen(s->fd, 16) != 0)
        return -1;
    s->port = ntohs(a.sin_port);
    atomic_init(&s->stop, 0);
    if (!serve) {
        close(s->fd); /* keep only the number: a port where nothing listens */
        s->fd = -1;
        return 0;
    }
    return pthread_create(&s->thread, NULL, standin_main, s) == 0 ? 0 : -1;
}

static void standin_stop(standin *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->thread, NULL);
    close(s->fd);
}

/* Copies the string value of "key" found after `from` in JSON text (enough for a demo). */
static void json_text(const char *json, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":\"", key);
    const char *p = strstr(json, pat);
    out[0] = '\0';
    if (!p)
        return;
    p += strlen(pat);
    size_t n = 0;
    while (p[n] && p[n] != '"' && n + 1 < cap)
        n++;
    memcpy(out, p, n);
    out[n] = '\0';
}

static int step_gateway(mlops_t *h)
{
    standin up, dead;
    if (standin_start(&up, 1) != 0 || standin_start(&dead, 0) != 0) {
        fprintf(stderr, "quickstart: could not bind a loopback port\n");
        return 1;
    }
    char config[1024];
    snprintf(config, sizeof config,
             "{\"models\": ["
             "{\"name\": \"chat\", \"deployments\": [{\"id\": \"primary\", \"provider\": \"openai\", "
             "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"gpt-4o-mini\", "
             "\"timeout_ms\": 2000}]},"
             "{\"name\": \"standin\", \"deployments\": [{\"id\": \"standin\", \"provider\": \"openai\", "
             "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"standin-1\", "
             "\"input_cost_per_mtok\": 0.15, \"output_cost_per_mtok\": 0.6}]}],"
             " \"router\": {\"retries\": 1, \"backoff_base_ms\": 10, \"fallbacks\": {\"chat\": [\"standin\"]}}}",
             dead.port, up.port);
    int rc = mlops_gateway_configure(h, config);
    char *out = NULL;
    if (rc == MLOPS_OK)
        rc = mlops_chat(h, "{\"model\": \"chat\", \"messages\": [{\"role\": \"user\", "
                           "\"content\": \"What is the capital of France?\"}]}", &out);
    standin_stop(&up);
    if (rc != MLOPS_OK)
        return fail("gateway", rc);
    char content[128], deployment[64];
    json_text(out, "content", content, sizeof content);
    const char *x = strstr(out, "\"x_mlops\"");
    json_text(x ? x : out, "deployment", deployment, sizeof deployment);
    printf("2. gateway: asked model 'chat'; its deployment at 127.0.0.1:%d refused the\n"
           "   connection (tried twice), so the request fell back to model 'standin'\n"
           "   (a stand-in on 127.0.0.1:%d) and deployment '%s' answered: \"%s\"\n",
           dead.port, up.port, deployment, content);
    const char *cost = x ? strstr(x, "\"cost\":") : NULL;
    if (cost)
        printf("   cost of the call: $%.8f (prices per million tokens times the usage)\n",
               strtod(cost + 7, NULL));
    mlops_free(out);
    return 0;
}

/* A number after "key": in JSON text (0 when absent); enough for this demo. */
static double json_number(const char *json, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\":", key);
    const char *p = json ? strstr(json, pat) : NULL;
    return p ? strtod(p + strlen(pat), NULL) : 0;
}

/*
 * Keys and routing step: the complexity router sends simple questions to the cheap
 * model and hard ones to the strong model (with the features behind each decision),
 * and a virtual key with a tiny budget is refused once it is spent. No network: the
 * key is checked and charged through the same calls the gateway pipeline makes.
 */
static int step_keys(mlops_t *h)
{
    const char *routing = "{\"cheap_model\": \"gpt-4o-mini\", \"strong_model\": \"gpt-4o\"}";
    const char *prompts[] = {
        "What is the capital of France?",
        "Rewrite this sentence to sound more formal: hey, send me the report asap",
        "Prove step by step that there are infinitely many primes, rigorously.",
        "Design a distributed rate limiter and compare token bucket and sliding window "
        "trade-offs, with code in Go.",
    };
    printf("3. complexity routing (rule scorer, no model file, no network):\n");
    for (size_t i = 0; i < sizeof prompts / sizeof prompts[0]; i++) {
        char *e = NULL;
        int rc = mlops_router_explain(h, routing, prompts[i], &e);
        if (rc != MLOPS_OK)
            return fail("router explain", rc);
        char tier[32], model[64], f1[32], f2[32];
        json_text(e, "tier", tier, sizeof tier);
        json_text(e, "model", model, sizeof model);
        const char *feats = strstr(e, "\"features\"");
        json_text(feats, "name", f1, sizeof f1);
        const char *second = feats ? strstr(feats, "},{") : NULL;
        json_text(second, "name", f2, sizeof f2);
        printf("   \"%.60s%s\"\n      -> %s tier, model %s (P(strong) %.2f; strongest features: "
               "%s, %s)\n",
               prompts[i], strlen(prompts[i]) > 60 ? "..." : "", tier, model,
               json_number(e, "p_strong"), f1, second ? f2 : "-");
        mlops_free(e);
    }

    char *created = NULL;
    int rc = mlops_keys_create(h, "{\"budget\": 0.001, \"owner\": \"quickstart\"}", &created);
    if (rc != MLOPS_OK)
        return fail("keys create", rc);
    char id[64], secret[64];
    json_text(created, "id", id, sizeof id);
    json_text(created, "secret", secret, sizeof secret);
    mlops_free(created);
    printf("4. virtual key %s created with a budget of $0.001 (secret %.11s..., shown once,\n"
           "   stored only as a salted SHA-256)\n", id, secret);
    for (int i = 1; i <= 4; i++) {
        char *res = NULL;
        /* reserve the request's maximum cost, then settle on what it actually cost */
        rc = mlops_keys_authorize(h, secret, "gpt-4o-mini", 0.0004, 700, &res);
        if (rc == MLOPS_EBUDGET) {
            printf("   request %d refused (%s): %s\n", i, mlops_strerror(rc), mlops_last_error());
            mlops_free(res);
            break;
        }
        if (rc != MLOPS_OK) {
            mlops_free(res);
            return fail("keys authorize", rc);
        }
        int64_t reservation = (int64_t)json_number(res, "reservation");
        mlops_free(res);
        rc = mlops_keys_settle(h, reservation,
                               "{\"cost\": 0.0004, \"tokens_in\": 500, \"tokens_out\": 200, "
                               "\"model\": \"gpt-4o-mini\", \"status\": \"ok\"}");
        if (rc != MLOPS_OK)
            return fail("keys settle", rc);
        printf("   request %d allowed and charged $0.0004\n", i);
    }
    char q[160], *spend = NULL;
    snprintf(q, sizeof q, "{\"key\": \"%s\", \"by\": \"model\"}", id);
    if ((rc = mlops_spend_query(h, q, &spend)) != MLOPS_OK)
        return fail("spend query", rc);
    const char *total = strstr(spend, "\"total\"");
    printf("   ledger for the key: %.0f requests, $%.4f\n", json_number(total, "requests"),
           json_number(total, "cost"));
    mlops_free(spend);
    memset(secret, 0, sizeof secret);
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

    if (step_gateway(h) != 0 || step_keys(h) != 0) {
        mlops_close(h);
        return 1;
    }

    mlops_close(h);
    printf("\ndone.\n");
    return 0;
}
