/*
 * Server-sent events parser (HTML Living Standard, 9.2.6 "Interpreting an event
 * stream"): lines end in CR, LF or CRLF; "data:" lines accumulate; an empty line
 * dispatches; lines starting with ':' are comments; one optional space after the
 * colon is dropped. Fields other than data and event (id, retry) are ignored: the
 * gateway never reconnects a stream.
 */
#include "sse.h"

#include <string.h>

#define SSE_MAX_LINE (1u << 20)

void mlops__sse_init(mlops__sse *p, bool ndjson)
{
    memset(p, 0, sizeof *p);
    mlops__buf_init(&p->line);
    mlops__buf_init(&p->data);
    p->ndjson = ndjson;
    p->max_line = SSE_MAX_LINE;
}

void mlops__sse_free(mlops__sse *p)
{
    mlops__buf_free(&p->line);
    mlops__buf_free(&p->data);
}

static int dispatch(mlops__sse *p, mlops__sse_event_fn fn, void *user)
{
    int rc = 0;
    if (p->has_data)
        rc = fn(user, p->event[0] ? p->event : "message", p->data.data ? p->data.data : "",
                p->data.len);
    p->data.len = 0;
    if (p->data.data)
        p->data.data[0] = '\0';
    p->has_data = false;
    p->event[0] = '\0';
    return rc;
}

static int process_line(mlops__sse *p, const char *line, size_t len, mlops__sse_event_fn fn,
                        void *user)
{
    if (p->ndjson) {
        while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
            len--;
        return len ? fn(user, "message", line, len) : 0;
    }
    if (len == 0)
        return dispatch(p, fn, user);
    if (line[0] == ':')
        return 0;
    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *val = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - val);
    if (vlen > 0 && val[0] == ' ') {
        val++;
        vlen--;
    }
    if (flen == 4 && memcmp(line, "data", 4) == 0) {
        if (p->has_data)
            mlops__buf_putc(&p->data, '\n');
        mlops__buf_append(&p->data, val, vlen);
        if (!p->data.data)
            mlops__buf_puts(&p->data, "");
        p->has_data = true;
        if (p->data.failed)
            return MLOPS_ENOMEM;
        if (p->data.len > p->max_line)
            return MLOPS_ELIMIT;
    } else if (flen == 5 && memcmp(line, "event", 5) == 0) {
        size_t n = vlen < sizeof p->event - 1 ? vlen : sizeof p->event - 1;
        memcpy(p->event, val, n);
        p->event[n] = '\0';
    }
    return 0;
}

int mlops__sse_feed(mlops__sse *p, const char *data, size_t len, mlops__sse_event_fn fn,
                    void *user)
{
    size_t i = 0;
    if (p->skip_lf && len > 0) {
        p->skip_lf = false;
        if (data[0] == '\n')
            i = 1;
    }
    while (i < len) {
        const char *start = data + i;
        size_t rest = len - i;
        size_t k = 0;
        while (k < rest && start[k] != '\n' && start[k] != '\r')
            k++;
        if (k == rest) {
            if (p->line.len + rest > p->max_line)
                return MLOPS_ELIMIT;
            mlops__buf_append(&p->line, start, rest);
            return p->line.failed ? MLOPS_ENOMEM : MLOPS_OK;
        }
        int rc;
        if (p->line.len > 0) {
            if (p->line.len + k > p->max_line)
                return MLOPS_ELIMIT;
            mlops__buf_append(&p->line, start, k);
            if (p->line.failed)
                return MLOPS_ENOMEM;
            rc = process_line(p, p->line.data, p->line.len, fn, user);
            p->line.len = 0;
        } else {
            rc = process_line(p, start, k, fn, user);
        }
        if (rc != 0)
            return rc;
        i += k + 1;
        if (start[k] == '\r') {
            if (i < len) {
                if (data[i] == '\n')
                    i++;
            } else {
                p->skip_lf = true;
            }
        }
    }
    return MLOPS_OK;
}

int mlops__sse_finish(mlops__sse *p, mlops__sse_event_fn fn, void *user)
{
    int rc = 0;
    if (p->line.len > 0) {
        rc = process_line(p, p->line.data, p->line.len, fn, user);
        p->line.len = 0;
    }
    /* The standard drops an event not followed by a blank line; providers always end
     * theirs, so an unterminated event at the end is a cut stream and is dropped. */
    return rc;
}
