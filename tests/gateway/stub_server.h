/*
 * A scriptable stand-in for model providers on 127.0.0.1 (an ephemeral port), for
 * tests, the bench and the quickstart. Plain sockets and threads: one thread per
 * connection, HTTP/1.1 keep-alive, chunked streams. Each request takes the next
 * queued action (stub_push), else the default (stub_set_default).
 */
#ifndef MLOPS_STUB_SERVER_H
#define MLOPS_STUB_SERVER_H

#include <stdbool.h>
#include <stddef.h>

enum stub_kind {
    STUB_OK = 0,    /* 200 with a reply (a stream when the request asks for one) */
    STUB_STATUS,    /* `status` with `body` (and `headers`) */
    STUB_DROP,      /* read the request, then close the connection without a reply */
    STUB_MALFORMED, /* 200 with a body that is not JSON */
    STUB_TRUNCATED  /* 200 announcing more bytes than it sends, then close */
};

enum stub_format { STUB_OPENAI = 0, STUB_ANTHROPIC, STUB_OLLAMA };

typedef struct stub_action {
    enum stub_kind kind;
    enum stub_format format;
    int status;             /* STUB_STATUS */
    const char *body;       /* STUB_STATUS body (copied) */
    const char *headers;    /* extra header lines, each ending in \r\n (copied) */
    int first_byte_delay_ms;/* sleep before anything is sent */
    int body_delay_ms;      /* sleep in the middle of the body (or between stream events) */
    int cut_after;          /* streams: close after this many events (0 = never cut) */
    int error_after;        /* anthropic streams: an overloaded_error event after this many events */
    bool tool_call;         /* reply with a tool call instead of text */
    const char *text;       /* reply text (default "hello from <name>") */
} stub_action;

typedef struct stub_server stub_server;

/** Starts a server named `name` (appears in replies); returns NULL on failure. */
stub_server *stub_start(const char *name);
void stub_stop(stub_server *s);
int stub_port(const stub_server *s);
void stub_set_default(stub_server *s, const stub_action *a);
void stub_push(stub_server *s, const stub_action *a);
/** Requests fully received so far. */
int stub_hits(stub_server *s);
void stub_reset_hits(stub_server *s);
/** Copies of the last request's path, headers and body (malloc'd; free them). */
char *stub_last_body(stub_server *s);
char *stub_last_headers(stub_server *s);
char *stub_last_path(stub_server *s);
/** Connections accepted so far (to check keep-alive reuse). */
int stub_connections(stub_server *s);

#endif
