/* The scriptable provider stand-in (see stub_server.h). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "stub_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_QUEUE 256
#define MAX_CONNS 256

typedef struct owned_action {
    stub_action a;
    char *body, *headers, *text;
} owned_action;

struct stub_server {
    char name[64];
    int listen_fd;
    int port;
    pthread_t accept_thread;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    atomic_int stop;
    owned_action def;
    owned_action queue[MAX_QUEUE];
    int qhead, qlen;
    int hits, connections;
    int conns[MAX_CONNS];
    int active;
    char *last_body, *last_headers, *last_path;
};

static void own(owned_action *o, const stub_action *a)
{
    free(o->body);
    free(o->headers);
    free(o->text);
    o->a = *a;
    o->body = a->body ? strdup(a->body) : NULL;
    o->headers = a->headers ? strdup(a->headers) : NULL;
    o->text = a->text ? strdup(a->text) : NULL;
    o->a.body = o->body;
    o->a.headers = o->headers;
    o->a.text = o->text;
}

static void disown(owned_action *o)
{
    free(o->body);
    free(o->headers);
    free(o->text);
    memset(o, 0, sizeof *o);
}

static void nap(stub_server *s, int ms)
{
    while (ms > 0 && !s->stop) {
        int step = ms < 10 ? ms : 10;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sendf(int fd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int sendf(int fd, const char *fmt, ...)
{
    char *buf = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -1;
    int rc = send_all(fd, buf, (size_t)n);
    free(buf);
    return rc;
}

static int send_chunk(int fd, const char *data)
{
    return sendf(fd, "%zx\r\n%s\r\n", strlen(data), data);
}

/* Reads one request; returns 0 with malloc'd head and body, -1 on EOF/stop. */
static int read_request(stub_server *s, int fd, char **head, char **body)
{
    size_t cap = 8192, len = 0;
    char *buf = malloc(cap);
    char *end = NULL;
    while (!end) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (s->stop) {
            free(buf);
            return -1;
        }
        if (r <= 0)
            continue;
        if (len + 1 >= cap)
            buf = realloc(buf, cap *= 2);
        ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head_len = (size_t)(end - buf) + 4;
    size_t clen = 0;
    const char *cl = strcasestr(buf, "\r\ncontent-length:");
    if (cl)
        clen = strtoul(cl + 17, NULL, 10);
    if (clen > (64u << 20)) {
        free(buf);
        return -1;
    }
    if (head_len + clen + 1 > cap)
        buf = realloc(buf, cap = head_len + clen + 1);
    while (len < head_len + clen) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 50);
        if (s->stop) {
            free(buf);
            return -1;
        }
        if (r <= 0)
            continue;
        ssize_t n = recv(fd, buf + len, head_len + clen - len, 0);
        if (n <= 0) {
            free(buf);
            return -1;
        }
        len += (size_t)n;
    }
    *head = strndup(buf, head_len);
    *body = strndup(buf + head_len, clen);
    free(buf);
    return 0;
}

static char *json_escape(const char *t)
{
    size_t n = strlen(t);
    char *o = malloc(n * 6 + 1), *p = o;
    for (; *t; t++) {
        unsigned char c = (unsigned char)*t;
        if (c == '"' || c == '\\') {
            *p++ = '\\';
            *p++ = (char)c;
        } else if (c < 0x20) {
            p += sprintf(p, "\\u%04x", c);
        } else {
            *p++ = (char)c;
        }
    }
    *p = '\0';
    return o;
}

static void model_of(const char *body, char *out, size_t cap)
{
    const char *m = strstr(body, "\"model\":\"");
    snprintf(out, cap, "stub");
    if (!m)
        return;
    m += 9;
    size_t i = 0;
    while (m[i] && m[i] != '"' && i + 1 < cap) {
        out[i] = m[i];
        i++;
    }
    out[i] = '\0';
}

static int reply_full(stub_server *s, int fd, const stub_action *a, const char *text,
                      const char *model)
{
    char *esc = json_escape(text);
    char *body = NULL;
    int n;
    if (a->format == STUB_ANTHROPIC) {
        if (a->tool_call)
            n = asprintf(&body, "{\"id\":\"msg_stub\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"%s\","
                         "\"content\":[{\"type\":\"text\",\"text\":\"%s\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\","
                         "\"name\":\"get_weather\",\"input\":{\"city\":\"Paris\"}}],\"stop_reason\":\"tool_use\","
                         "\"usage\":{\"input_tokens\":11,\"output_tokens\":7}}", model, esc);
        else
            n = asprintf(&body, "{\"id\":\"msg_stub\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"%s\","
                         "\"content\":[{\"type\":\"text\",\"text\":\"%s\"}],\"stop_reason\":\"end_turn\","
                         "\"usage\":{\"input_tokens\":11,\"output_tokens\":7}}", model, esc);
    } else if (a->format == STUB_OLLAMA) {
        if (a->tool_call)
            n = asprintf(&body, "{\"model\":\"%s\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\","
                         "\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":\"Paris\"}}}]},"
                         "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":8}", model);
        else
            n = asprintf(&body, "{\"model\":\"%s\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\","
                         "\"content\":\"%s\"},\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":8}",
                         model, esc);
    } else {
        if (a->tool_call)
            n = asprintf(&body, "{\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"%s\","
                         "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                         "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
                         "\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}",
                         model);
        else
            n = asprintf(&body, "{\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion\",\"created\":1,\"model\":\"%s\","
                         "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},"
                         "\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}",
                         model, esc);
    }
    free(esc);
    if (n < 0)
        return -1;
    size_t len = strlen(body);
    int rc = sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n",
                   len, a->headers ? a->headers : "");
    if (rc == 0 && a->body_delay_ms > 0) {
        rc = send_all(fd, body, len / 2);
        nap(s, a->body_delay_ms);
        if (rc == 0)
            rc = send_all(fd, body + len / 2, len - len / 2);
    } else if (rc == 0) {
        rc = send_all(fd, body, len);
    }
    free(body);
    return rc;
}

/* The events of a stream, in the provider's format; *n receives the count. */
static char **stream_events(const stub_action *a, const char *text, const char *model, int *n)
{
    char **ev = calloc(64, sizeof *ev);
    int k = 0;
    size_t tl = strlen(text);
    if (a->format == STUB_ANTHROPIC) {
        asprintf(&ev[k++], "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_stub\",\"type\":\"message\","
                 "\"role\":\"assistant\",\"model\":\"%s\",\"content\":[],\"usage\":{\"input_tokens\":11,\"output_tokens\":1}}}\n\n", model);
        asprintf(&ev[k++], "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n");
        asprintf(&ev[k++], "event: ping\ndata: {\"type\":\"ping\"}\n\n");
        for (size_t i = 0; i < tl && k < 50; i += 4) {
            char piece[5] = {0};
            memcpy(piece, text + i, tl - i < 4 ? tl - i : 4);
            char *e = json_escape(piece);
            asprintf(&ev[k++], "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"%s\"}}\n\n", e);
            free(e);
        }
        asprintf(&ev[k++], "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n");
        if (a->tool_call) {
            asprintf(&ev[k++], "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_weather\",\"input\":{}}}\n\n");
            asprintf(&ev[k++], "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"city\\\": \"}}\n\n");
            asprintf(&ev[k++], "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\\\"Paris\\\"}\"}}\n\n");
            asprintf(&ev[k++], "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n");
        }
        asprintf(&ev[k++], "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"%s\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":7}}\n\n",
                 a->tool_call ? "tool_use" : "end_turn");
        asprintf(&ev[k++], "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n");
    } else if (a->format == STUB_OLLAMA) {
        for (size_t i = 0; i < tl && k < 50; i += 4) {
            char piece[5] = {0};
            memcpy(piece, text + i, tl - i < 4 ? tl - i : 4);
            char *e = json_escape(piece);
            asprintf(&ev[k++], "{\"model\":\"%s\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"%s\"},\"done\":false}\n", model, e);
            free(e);
        }
        asprintf(&ev[k++], "{\"model\":\"%s\",\"created_at\":\"2026-01-01T00:00:00Z\",\"message\":{\"role\":\"assistant\",\"content\":\"\"},"
                 "\"done\":true,\"done_reason\":\"stop\",\"prompt_eval_count\":12,\"eval_count\":8}\n", model);
    } else {
        asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                 "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"finish_reason\":null}]}\n\n", model);
        for (size_t i = 0; i < tl && k < 50; i += 4) {
            char piece[5] = {0};
            memcpy(piece, text + i, tl - i < 4 ? tl - i : 4);
            char *e = json_escape(piece);
            asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                     "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"%s\"},\"finish_reason\":null}]}\n\n", model, e);
            free(e);
        }
        if (a->tool_call) {
            asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                     "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": \"}}]},\"finish_reason\":null}]}\n\n", model);
            asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                     "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\"Paris\\\"}\"}}]},\"finish_reason\":null}]}\n\n", model);
        }
        asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                 "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"%s\"}]}\n\n", model, a->tool_call ? "tool_calls" : "stop");
        asprintf(&ev[k++], "data: {\"id\":\"chatcmpl-stub\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"%s\","
                 "\"choices\":[],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":5,\"total_tokens\":15}}\n\n", model);
        asprintf(&ev[k++], "data: [DONE]\n\n");
    }
    if (a->format == STUB_ANTHROPIC && a->error_after > 0 && a->error_after < k) {
        for (int i = a->error_after; i < k; i++)
            free(ev[i]);
        k = a->error_after;
        asprintf(&ev[k++], "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n");
    }
    *n = k;
    return ev;
}

/* Returns 1 when the connection must be closed after this reply. */
static int respond(stub_server *s, int fd, const stub_action *a, const char *body)
{
    char model[128];
    model_of(body, model, sizeof model);
    char deftext[128];
    snprintf(deftext, sizeof deftext, "hello from %s", s->name);
    const char *text = a->text ? a->text : deftext;
    if (a->first_byte_delay_ms > 0)
        nap(s, a->first_byte_delay_ms);
    if (s->stop)
        return 1;
    switch (a->kind) {
    case STUB_DROP:
        return 1;
    case STUB_STATUS: {
        const char *b = a->body ? a->body : "{\"error\":{\"message\":\"stub error\",\"type\":\"server_error\"}}";
        sendf(fd, "HTTP/1.1 %d Stub\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%s\r\n%s",
              a->status, strlen(b), a->headers ? a->headers : "", b);
        return 0;
    }
    case STUB_MALFORMED: {
        const char *b = "{\"id\": \"x\", \"choices\": [ this is not json";
        sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s", strlen(b), b);
        return 0;
    }
    case STUB_TRUNCATED: {
        const char *b = "{\"id\": \"chatcmpl-stub\", \"choices\": [{\"index\": 0";
        sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
              strlen(b) + 500, b);
        return 1;
    }
    case STUB_OK:
        break;
    }
    bool stream = strstr(body, "\"stream\":true") != NULL;
    if (!stream)
        return reply_full(s, fd, a, text, model) != 0;
    int n = 0;
    char **ev = stream_events(a, text, model, &n);
    int rc = sendf(fd, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n%s\r\n",
                   a->format == STUB_OLLAMA ? "application/x-ndjson" : "text/event-stream",
                   a->headers ? a->headers : "");
    int cut = 0;
    for (int i = 0; i < n; i++) {
        if (rc == 0 && a->cut_after > 0 && i == a->cut_after) {
            cut = 1;
            rc = -1;
        }
        if (rc == 0)
            rc = send_chunk(fd, ev[i]);
        if (rc == 0 && a->body_delay_ms > 0 && i + 1 < n)
            nap(s, a->body_delay_ms);
        free(ev[i]);
    }
    free(ev);
    if (rc == 0)
        rc = send_all(fd, "0\r\n\r\n", 5);
    return cut || rc != 0;
}

typedef struct conn_arg {
    stub_server *s;
    int fd;
} conn_arg;

static void *conn_main(void *p)
{
    conn_arg *ca = p;
    stub_server *s = ca->s;
    int fd = ca->fd;
    free(ca);
    for (;;) {
        char *head = NULL, *body = NULL;
        if (read_request(s, fd, &head, &body) != 0)
            break;
        owned_action act;
        memset(&act, 0, sizeof act);
        pthread_mutex_lock(&s->lock);
        s->hits++;
        free(s->last_body);
        free(s->last_headers);
        free(s->last_path);
        s->last_body = strdup(body);
        s->last_headers = strdup(head);
        const char *sp = strchr(head, ' ');
        const char *sp2 = sp ? strchr(sp + 1, ' ') : NULL;
        s->last_path = sp && sp2 ? strndup(sp + 1, (size_t)(sp2 - sp - 1)) : strdup("");
        if (s->qlen > 0) {
            act = s->queue[s->qhead];
            memset(&s->queue[s->qhead], 0, sizeof s->queue[s->qhead]);
            s->qhead = (s->qhead + 1) % MAX_QUEUE;
            s->qlen--;
        } else {
            own(&act, &s->def.a);
        }
        pthread_mutex_unlock(&s->lock);
        int close_now = respond(s, fd, &act.a, body);
        disown(&act);
        free(head);
        free(body);
        if (close_now)
            break;
    }
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] == fd) {
            s->conns[i] = -1;
            break;
        }
    close(fd);
    s->active--;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static void *accept_main(void *p)
{
    stub_server *s = p;
    while (!s->stop) {
        struct pollfd pf = {s->listen_fd, POLLIN, 0};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int fd = accept(s->listen_fd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_mutex_lock(&s->lock);
        int slot = -1;
        for (int i = 0; i < MAX_CONNS && slot < 0; i++)
            if (s->conns[i] < 0)
                slot = i;
        if (slot < 0 || s->stop) {
            pthread_mutex_unlock(&s->lock);
            close(fd);
            continue;
        }
        s->conns[slot] = fd;
        s->active++;
        s->connections++;
        pthread_mutex_unlock(&s->lock);
        conn_arg *ca = malloc(sizeof *ca);
        ca->s = s;
        ca->fd = fd;
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, conn_main, ca) != 0) {
            free(ca);
            pthread_mutex_lock(&s->lock);
            s->conns[slot] = -1;
            s->active--;
            pthread_mutex_unlock(&s->lock);
            close(fd);
        }
        pthread_attr_destroy(&attr);
    }
    return NULL;
}

stub_server *stub_start(const char *name)
{
    stub_server *s = calloc(1, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    for (int i = 0; i < MAX_CONNS; i++)
        s->conns[i] = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->cond, NULL);
    s->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t alen = sizeof addr;
    if (bind(s->listen_fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(s->listen_fd, 128) != 0 ||
        getsockname(s->listen_fd, (struct sockaddr *)&addr, &alen) != 0) {
        close(s->listen_fd);
        free(s);
        return NULL;
    }
    s->port = ntohs(addr.sin_port);
    pthread_create(&s->accept_thread, NULL, accept_main, s);
    return s;
}

void stub_stop(stub_server *s)
{
    if (!s)
        return;
    s->stop = 1;
    pthread_join(s->accept_thread, NULL);
    close(s->listen_fd);
    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < MAX_CONNS; i++)
        if (s->conns[i] >= 0)
            shutdown(s->conns[i], SHUT_RDWR);
    while (s->active > 0)
        pthread_cond_wait(&s->cond, &s->lock);
    pthread_mutex_unlock(&s->lock);
    while (s->qlen > 0) {
        disown(&s->queue[s->qhead]);
        s->qhead = (s->qhead + 1) % MAX_QUEUE;
        s->qlen--;
    }
    disown(&s->def);
    free(s->last_body);
    free(s->last_headers);
    free(s->last_path);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

int stub_port(const stub_server *s)
{
    return s->port;
}

void stub_set_default(stub_server *s, const stub_action *a)
{
    pthread_mutex_lock(&s->lock);
    own(&s->def, a);
    pthread_mutex_unlock(&s->lock);
}

void stub_push(stub_server *s, const stub_action *a)
{
    pthread_mutex_lock(&s->lock);
    if (s->qlen < MAX_QUEUE) {
        owned_action *o = &s->queue[(s->qhead + s->qlen) % MAX_QUEUE];
        memset(o, 0, sizeof *o);
        own(o, a);
        s->qlen++;
    }
    pthread_mutex_unlock(&s->lock);
}

int stub_hits(stub_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->hits;
    pthread_mutex_unlock(&s->lock);
    return n;
}

void stub_reset_hits(stub_server *s)
{
    pthread_mutex_lock(&s->lock);
    s->hits = 0;
    pthread_mutex_unlock(&s->lock);
}

int stub_connections(stub_server *s)
{
    pthread_mutex_lock(&s->lock);
    int n = s->connections;
    pthread_mutex_unlock(&s->lock);
    return n;
}

static char *dup_locked(stub_server *s, char **field)
{
    pthread_mutex_lock(&s->lock);
    char *r = strdup(*field ? *field : "");
    pthread_mutex_unlock(&s->lock);
    return r;
}

char *stub_last_body(stub_server *s) { return dup_locked(s, &s->last_body); }
char *stub_last_headers(stub_server *s) { return dup_locked(s, &s->last_headers); }
char *stub_last_path(stub_server *s) { return dup_locked(s, &s->last_path); }
