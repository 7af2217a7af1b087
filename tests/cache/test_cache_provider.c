/*
 * The "provider" embedder against a real HTTP server on 127.0.0.1 (written here): an
 * OpenAI-compatible POST /v1/embeddings that answers with the hashed embedding of the
 * input (so paraphrases match), a wrong dimension, a server error or garbage, and
 * checks the Authorization header taken from the configured environment variable.
 */
#include "test_support.h"

#include "cache/cache.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DIM 64

enum mode { MODE_OK, MODE_WRONG_DIM, MODE_500, MODE_GARBAGE };

typedef struct server {
    int fd;
    int port;
    pthread_t thread;
    pthread_mutex_t lock;
    enum mode mode;
    int requests;
    int authorized;
    bool stop;
} server;

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void reply(int fd, int status, const char *body)
{
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                     "Connection: close\r\n\r\n",
                     status, strlen(body));
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void handle(server *s, int fd)
{
    char buf[65536];
    size_t len = 0;
    char *body = NULL;
    size_t want = 0;
    while (len < sizeof buf - 1) {
        ssize_t r = read(fd, buf + len, sizeof buf - 1 - len);
        if (r <= 0)
            break;
        len += (size_t)r;
        buf[len] = '\0';
        char *end = strstr(buf, "\r\n\r\n");
        if (end && !body) {
            body = end + 4;
            char *cl = strcasestr(buf, "Content-Length:");
            want = cl ? (size_t)atol(cl + 15) : 0;
        }
        if (body && (size_t)(buf + len - body) >= want)
            break;
    }
    pthread_mutex_lock(&s->lock);
    s->requests++;
    if (strstr(buf, "Authorization: Bearer sk-test-123"))
        s->authorized++;
    enum mode mode = s->mode;
    pthread_mutex_unlock(&s->lock);
    if (!body || strncmp(buf, "POST /v1/embeddings ", 20) != 0) {
        reply(fd, 404, "{\"error\":\"not found\"}");
        return;
    }
    json_t *req = json_loads(body, 0, NULL);
    const char *input = json_string_value(json_object_get(req, "input"));
    if (mode == MODE_500) {
        reply(fd, 500, "{\"error\":{\"message\":\"overloaded\"}}");
    } else if (mode == MODE_GARBAGE) {
        reply(fd, 200, "{\"data\": \"nope\"}");
    } else {
        int dim = mode == MODE_WRONG_DIM ? DIM / 2 : DIM;
        float v[DIM];
        mlops__hashvec_opts o;
        mlops__hashvec_defaults(&o, DIM);
        mlops__hashvec_embed(&o, input ? input : "", input ? strlen(input) : 0, v, NULL);
        json_t *arr = json_array();
        for (int i = 0; i < dim; i++)
            json_array_append_new(arr, json_real(v[i]));
        json_t *resp = json_pack("{s:s, s:[{s:o, s:i}], s:s}", "object", "list", "data",
                                 "embedding", arr, "index", 0, "model", "tiny");
        char *text = json_dumps(resp, JSON_COMPACT);
        reply(fd, 200, text);
        free(text);
        json_decref(resp);
    }
    json_decref(req);
}

static void *serve(void *arg)
{
    server *s = arg;
    for (;;) {
        int fd = accept(s->fd, NULL, NULL);
        if (fd < 0)
            break;
        pthread_mutex_lock(&s->lock);
        bool stop = s->stop;
        pthread_mutex_unlock(&s->lock);
        if (stop) {
            close(fd);
            break;
        }
        handle(s, fd);
        close(fd);
    }
    return NULL;
}

static void server_start(server *s)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->lock, NULL);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    socklen_t len = sizeof a;
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
}

static void server_stop(server *s)
{
    pthread_mutex_lock(&s->lock);
    s->stop = true;
    pthread_mutex_unlock(&s->lock);
    /* wake accept() with a connection */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons((uint16_t)s->port);
    connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    pthread_join(s->thread, NULL);
    close(s->fd);
    pthread_mutex_destroy(&s->lock);
}

static void set_mode(server *s, enum mode m)
{
    pthread_mutex_lock(&s->lock);
    s->mode = m;
    pthread_mutex_unlock(&s->lock);
}

static void provider_embedder_over_http(void **state)
{
    (void)state;
    server srv;
    server_start(&srv);
    setenv("MLOPS_TEST_EMBED_KEY", "sk-test-123", 1);
    char config[512];
    snprintf(config, sizeof config,
             "{\"cache\": {\"embedder\": \"provider\", \"dim\": %d, \"provider\": {\"base_url\": "
             "\"http://127.0.0.1:%d/v1\", \"model\": \"tiny\", \"api_key_env\": "
             "\"MLOPS_TEST_EMBED_KEY\", \"timeout_ms\": 5000}}}",
             DIM, srv.port);
    test_store ts;
    test_store_open(&ts, config);
    int64_t id = 0;
    assert_ok(mlops_cache_put(ts.h, "{\"namespace\":\"pv\",\"prompt\":\"How do I reverse a list in "
                                    "Python?\"}",
                              "\"reversed(xs)\"", NULL, &id));
    char *out = NULL;
    assert_ok(mlops_cache_lookup(ts.h, "{\"namespace\":\"pv\",\"prompt\":\"how can I reverse a list "
                                       "in python\"}",
                                 NULL, &out));
    assert_non_null(strstr(out, "\"hit\":\"semantic\""));
    mlops_free(out);
    /* An exact hit needs no embedding call. */
    pthread_mutex_lock(&srv.lock);
    int before = srv.requests;
    pthread_mutex_unlock(&srv.lock);
    assert_ok(mlops_cache_lookup(ts.h, "{\"namespace\":\"pv\",\"prompt\":\"How do I reverse a list "
                                       "in Python?\"}",
                                 NULL, &out));
    assert_non_null(strstr(out, "\"hit\":\"exact\""));
    mlops_free(out);
    pthread_mutex_lock(&srv.lock);
    assert_int_equal(srv.requests, before);
    assert_int_equal(srv.authorized, srv.requests);
    pthread_mutex_unlock(&srv.lock);

    const char *other = "{\"namespace\":\"pv\",\"prompt\":\"how can I sort a list in python\"}";
    set_mode(&srv, MODE_WRONG_DIM);
    assert_status(mlops_cache_lookup(ts.h, other, NULL, &out), MLOPS_EINVAL,
                  "dimension mismatch: the endpoint returned 32 values, config.cache.dim is 64");
    set_mode(&srv, MODE_500);
    assert_status(mlops_cache_put(ts.h, other, "1", NULL, NULL), MLOPS_EPROVIDER, "HTTP 500");
    set_mode(&srv, MODE_GARBAGE);
    assert_status(mlops_cache_lookup(ts.h, other, NULL, &out), MLOPS_EPROVIDER,
                  "no data[0].embedding");
    set_mode(&srv, MODE_OK);
    assert_ok(mlops_cache_lookup(ts.h, other, NULL, &out));
    mlops_free(out);
    test_store_close(&ts);
    server_stop(&srv);

    /* Nobody listening: a clear provider error. */
    snprintf(config, sizeof config,
             "{\"cache\": {\"persist\": false, \"embedder\": \"provider\", \"provider\": "
             "{\"base_url\": \"http://127.0.0.1:%d/v1\", \"timeout_ms\": 2000}}}",
             srv.port);
    test_store_open(&ts, config);
    assert_status(mlops_cache_put(ts.h, "{\"prompt\":\"hello\"}", "1", NULL, NULL),
                  MLOPS_EPROVIDER, "embedder 'provider'");
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(provider_embedder_over_http),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
