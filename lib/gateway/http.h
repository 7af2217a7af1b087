/*
 * HTTP client over libcurl for provider calls. A pool of reusable transfers (easy
 * handle + multi handle pairs, taken and given back LIFO) keeps each transfer's
 * connections (and DNS cache) alive for the next request that takes it; a CURLSH shares
 * TLS sessions so that a new connection resumes a session another transfer made. (Sharing the connection cache through CURLSH too was measured:
 * at 32 threads it closed and reopened a connection per request, 2000 connections for
 * 2000 requests, against 66 with per-transfer caches.) HTTP/2 is used when a TLS server offers it (CURL_HTTP_VERSION_2TLS); TLS
 * peers and host names are always verified. Each transfer runs its own poll loop so
 * that the attempt timeout, the time-to-first-byte timeout, the overall deadline and
 * cancellation are all enforced to the millisecond.
 */
#ifndef MLOPS_GW_HTTP_H
#define MLOPS_GW_HTTP_H

#include "../core/core.h"

typedef struct mlops__http mlops__http;

/** How a transfer ended (before looking at the HTTP status). */
enum mlops__http_err {
    MLOPS__HTTP_OK = 0,
    MLOPS__HTTP_CONNECT,    /* could not connect / resolve / TLS handshake */
    MLOPS__HTTP_TIMEOUT,    /* the attempt timeout expired */
    MLOPS__HTTP_TTFB,       /* no first byte within first_byte_timeout_ms */
    MLOPS__HTTP_DEADLINE,   /* the overall deadline expired */
    MLOPS__HTTP_DROPPED,    /* the connection broke (reset, closed mid-body) */
    MLOPS__HTTP_CANCELED,   /* on_data asked to stop */
    MLOPS__HTTP_TOOBIG,     /* the response body exceeded the limit */
    MLOPS__HTTP_OTHER
};

/** Receives body bytes of a 2xx response as they arrive; non-zero cancels. */
typedef int (*mlops__http_data_fn)(void *user, const char *data, size_t len);

typedef struct mlops__http_req {
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated */
    const char *body;
    size_t body_len;
    int64_t timeout_ms;            /* this attempt (0 = none) */
    int64_t connect_timeout_ms;    /* 0 = libcurl's default */
    int64_t first_byte_timeout_ms; /* 0 = none */
    uint64_t deadline_ns;          /* overall (mlops__now_ns clock), 0 = none */
    const char *ca_file;           /* CA bundle replacing the system's, or NULL */
    mlops__http_data_fn on_data;   /* NULL: the body is collected in resp->body */
    void *user;
} mlops__http_req;

typedef struct mlops__http_resp {
    long status;
    enum mlops__http_err err;
    char errmsg[256];
    mlops__buf body;         /* the body (always for non-2xx; for 2xx without on_data) */
    int64_t retry_after_ms;  /* from Retry-After / retry-after-ms, -1 when absent */
    bool got_data;           /* any 2xx body bytes were passed to on_data */
    int http_version;        /* 10, 11, 20, 30; 0 when no response */
    bool new_connection;     /* a connection was opened (not reused) for this request */
} mlops__http_resp;

int mlops__http_create(mlops__http **out);
void mlops__http_destroy(mlops__http *c);

/**
 * Performs one POST. Returns MLOPS_OK when the exchange happened (inspect resp->err
 * and resp->status) or MLOPS_ENOMEM. resp must be released with mlops__http_resp_free.
 * Thread-safe.
 */
int mlops__http_post(mlops__http *c, const mlops__http_req *req, mlops__http_resp *resp);
void mlops__http_resp_free(mlops__http_resp *resp);

/** Parses a Retry-After value (seconds or an HTTP date) into milliseconds; -1 if bad. */
int64_t mlops__http_parse_retry_after(const char *value);

#endif
