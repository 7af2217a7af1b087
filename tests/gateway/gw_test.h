/* Helpers shared by the gateway tests. */
#ifndef MLOPS_GW_TEST_H
#define MLOPS_GW_TEST_H

#include "test_support.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/core.h"
#include "stub_server.h"

#define USER_REQ(model) "{\"model\":\"" model "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"

/* Fast retries so tests stay quick. */
#define FAST_ROUTER "\"retries\": 2, \"backoff_base_ms\": 1, \"backoff_max_ms\": 4"

static inline char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline char *fmt_alloc(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = NULL;
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    return s;
}

/* A deployment object for a stub server. */
static inline char *dep_json(const char *provider, stub_server *s, const char *extra)
{
    return fmt_alloc("{\"provider\": \"%s\", \"base_url\": \"http://127.0.0.1:%d%s\", "
                     "\"model\": \"up-%s\"%s%s}",
                     provider, stub_port(s), strcmp(provider, "openai") == 0 ? "/v1" : "",
                     provider, extra && *extra ? ", " : "", extra ? extra : "");
}

static inline mlops_t *open_with(const char *config)
{
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    if (config)
        assert_ok(mlops_gateway_configure(h, config));
    return h;
}

/* Sends a request that must succeed and returns the parsed response. */
static inline json_t *chat_ok(mlops_t *h, const char *req)
{
    char *out = NULL;
    assert_ok(mlops_chat(h, req, &out));
    assert_non_null(out);
    json_t *r = json_loads(out, 0, NULL);
    mlops_free(out);
    assert_non_null(r);
    return r;
}

static inline const char *resp_content(json_t *r)
{
    json_t *m = json_object_get(json_array_get(json_object_get(r, "choices"), 0), "message");
    return json_string_value(json_object_get(m, "content"));
}

static inline json_t *xm(json_t *r)
{
    return json_object_get(r, "x_mlops");
}

static inline size_t n_attempts(json_t *r)
{
    return json_array_size(json_object_get(xm(r), "attempts"));
}

/* A loopback port with nothing listening. */
int closed_port(void);

#endif
