/*
 * Server-sent events (HTML Living Standard, "9.2 Server-sent events"): an incremental
 * parser robust to arbitrary chunk boundaries (a field, a CRLF or a UTF-8 sequence may
 * be split across reads). Also a line splitter for NDJSON streams (Ollama).
 */
#ifndef MLOPS_GW_SSE_H
#define MLOPS_GW_SSE_H

#include "../core/core.h"

/** Receives one dispatched event: its type ("message" by default) and data. */
typedef int (*mlops__sse_event_fn)(void *user, const char *event, const char *data,
                                   size_t len);

typedef struct mlops__sse {
    mlops__buf line;  /* the incomplete line carried over between feeds */
    mlops__buf data;  /* data lines of the current event, joined by \n */
    char event[64];
    bool has_data;
    bool skip_lf;     /* the last byte was CR: a following LF belongs to it */
    bool ndjson;      /* every non-empty line is one event */
    size_t max_line;  /* lines longer than this are an error */
} mlops__sse;

void mlops__sse_init(mlops__sse *p, bool ndjson);
void mlops__sse_free(mlops__sse *p);
/**
 * Feeds bytes; calls fn for each complete event. Returns MLOPS_OK, fn's non-zero
 * return, or MLOPS_ELIMIT when a line exceeds the limit (1 MiB).
 */
int mlops__sse_feed(mlops__sse *p, const char *data, size_t len, mlops__sse_event_fn fn,
                    void *user);
/** Flushes an event or NDJSON line left without a terminator at end of stream. */
int mlops__sse_finish(mlops__sse *p, mlops__sse_event_fn fn, void *user);

#endif
