/*
 * Many threads on one handle: 32 threads hammer two deployments with failures mixed
 * in, and a configuration reload runs during traffic. Every call ends in a response
 * or a typed error, and the stand-ins saw exactly as many requests as the responses
 * report attempts: nothing lost, nothing sent twice.
 */
#include "gw_test.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <unistd.h>

#define THREADS 32
#define PER_THREAD 6

typedef struct worker {
    mlops_t *h;
    const char *model;
    int ok, failed, other;
    long attempts;
    bool stream;
} worker;

static int count_chunk(const char *chunk, void *user)
{
    (void)chunk;
    (*(int *)user)++;
    return 0;
}

static void *work(void *p)
{
    worker *w = p;
    char req[256];
    for (int i = 0; i < PER_THREAD; i++) {
        char *out = NULL;
        int rc;
        bool stream = w->stream && (i % 2 == 1);
        snprintf(req, sizeof req,
                 "{\"model\":\"%s\",%s\"messages\":[{\"role\":\"user\",\"content\":\"hi %d\"}]}",
                 w->model, stream ? "\"stream\":true," : "", i);
        int chunks = 0;
        if (stream)
            rc = mlops_chat_stream(w->h, req, count_chunk, &chunks, &out);
        else
            rc = mlops_chat(w->h, req, &out);
        if (rc == MLOPS_OK) {
            json_t *r = json_loads(out, 0, NULL);
            if (r && json_is_object(xm(r)))
                w->attempts += (long)n_attempts(r);
            else
                w->other++;
            json_decref(r);
            w->ok++;
        } else if (rc == MLOPS_EPROVIDER || rc == MLOPS_ERATELIMIT || rc == MLOPS_ETIMEOUT) {
            /* typed error naming a deployment or model */
            if (!strstr(mlops_last_error(), "deployment '") && !strstr(mlops_last_error(), "model '"))
                w->other++;
            w->failed++;
        } else {
            w->other++;
        }
        mlops_free(out);
    }
    return NULL;
}

static void hammer_one_handle(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    char *da = dep_json("openai", a, "\"id\": \"a\"");
    char *db = dep_json("anthropic", b, "\"id\": \"b\"");
    stub_action ab = {.kind = STUB_OK, .format = STUB_ANTHROPIC};
    stub_set_default(b, &ab);
    /* a sprinkle of failures: each is retried on the other deployment */
    stub_action e500 = {.kind = STUB_STATUS, .status = 500};
    stub_action e429 = {.kind = STUB_STATUS, .status = 429, .headers = "retry-after-ms: 1\r\n"};
    for (int i = 0; i < 8; i++) {
        stub_push(a, i % 2 ? &e500 : &e429);
    }
    char *cfg = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s, %s]}], "
                          "\"router\": {\"strategy\": \"least_busy\", \"retries\": 3, "
                          "\"backoff_base_ms\": 1, \"backoff_max_ms\": 2, "
                          "\"cooldown\": {\"allowed_fails\": 100, \"cooldown_s\": 0.01}}}", da, db);
    mlops_t *h = open_with(cfg);
    worker w[THREADS];
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.h = h, .model = "chat", .stream = i % 4 == 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    int ok = 0, other = 0;
    long attempts = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        other += w[i].other;
        attempts += w[i].attempts;
    }
    assert_int_equal(other, 0);
    assert_int_equal(ok, THREADS * PER_THREAD);
    assert_int_equal(attempts, stub_hits(a) + stub_hits(b));
    char *st = NULL;
    assert_ok(mlops_gateway_status(h, &st));
    assert_non_null(strstr(st, "\"in_flight\":0"));
    mlops_free(st);
    mlops_close(h);
    free(da);
    free(db);
    free(cfg);
    stub_stop(a);
    stub_stop(b);
}

typedef struct reloader {
    mlops_t *h;
    const char *cfg[2];
    atomic_int *stop;
    int reloads;
} reloader;

static void *reload(void *p)
{
    reloader *r = p;
    while (!atomic_load(r->stop)) {
        if (mlops_gateway_configure(r->h, r->cfg[r->reloads % 2]) != MLOPS_OK)
            break;
        r->reloads++;
        mlops__sleep_ms(2);
    }
    return NULL;
}

static void reload_during_traffic(void **state)
{
    (void)state;
    stub_server *a = stub_start("A"), *b = stub_start("B");
    stub_action slow = {.kind = STUB_OK, .first_byte_delay_ms = 5};
    stub_set_default(a, &slow);
    stub_set_default(b, &slow);
    char *da = dep_json("openai", a, NULL), *db = dep_json("openai", b, NULL);
    char *c1 = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s]}]}", da);
    char *c2 = fmt_alloc("{\"models\": [{\"name\": \"chat\", \"deployments\": [%s, %s]}], "
                         "\"router\": {\"strategy\": \"least_busy\"}}", db, da);
    mlops_t *h = open_with(c1);
    atomic_int stop;
    atomic_init(&stop, 0);
    reloader rl = {h, {c2, c1}, &stop, 0};
    pthread_t rt, t[8];
    worker w[8];
    pthread_create(&rt, NULL, reload, &rl);
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){.h = h, .model = "chat", .stream = i % 2 == 0};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    int ok = 0;
    long attempts = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += w[i].ok;
        attempts += w[i].attempts;
        assert_int_equal(w[i].other, 0);
    }
    atomic_store(&stop, 1);
    pthread_join(rt, NULL);
    assert_true(rl.reloads > 0);
    assert_int_equal(ok, 8 * PER_THREAD);
    assert_int_equal(attempts, stub_hits(a) + stub_hits(b));
    mlops_close(h);
    free(da);
    free(db);
    free(c1);
    free(c2);
    stub_stop(a);
    stub_stop(b);
}

int closed_port(void)
{
    return 1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hammer_one_handle),
        cmocka_unit_test(reload_during_traffic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
