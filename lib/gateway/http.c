/* HTTP POST over libcurl with a pool of reusable transfers and a shared connection cache. */
#include "http.h"

#include <curl/curl.h>
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define BODY_LIMIT (32u << 20)

typedef struct xfer {
    CURL *easy;
    CURLM *multi;
    char errbuf[CURL_ERROR_SIZE];
    struct xfer *next;
} xfer;

struct mlops__http {
    CURLSH *share;
    mlops__mutex share_locks[CURL_LOCK_DATA_LAST];
    mlops__mutex pool_lock;
    xfer *idle;
    int nidle;
};

/* Idle transfers kept for reuse (each with its live connections); extras are closed. */
#define POOL_MAX_IDLE 64

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *user)
{
    (void)h;
    (void)a;
    mlops__http *c = user;
    mlops__mutex_lock(&c->share_locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *user)
{
    (void)h;
    mlops__http *c = user;
    mlops__mutex_unlock(&c->share_locks[data < CURL_LOCK_DATA_LAST ? data : 0]);
}

int mlops__http_create(mlops__http **out)
{
    *out = NULL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return mlops__error(MLOPS_EINTERNAL, "gateway: libcurl initialisation failed");
    mlops__http *c = calloc(1, sizeof *c);
    if (!c) {
        curl_global_cleanup();
        return mlops__error_oom("http client");
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        mlops__mutex_init(&c->share_locks[i]);
    mlops__mutex_init(&c->pool_lock);
    c->share = curl_share_init();
    if (!c->share) {
        mlops__http_destroy(c);
        return mlops__error_oom("http share");
    }
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    /* connections stay with each pooled transfer (see the header comment) */
    *out = c;
    return MLOPS_OK;
}

static void xfer_free(xfer *x)
{
    if (x->multi && x->easy)
        curl_multi_remove_handle(x->multi, x->easy);
    if (x->easy)
        curl_easy_cleanup(x->easy);
    if (x->multi)
        curl_multi_cleanup(x->multi);
    free(x);
}

void mlops__http_destroy(mlops__http *c)
{
    if (!c)
        return;
    while (c->idle) {
        xfer *x = c->idle;
        c->idle = x->next;
        xfer_free(x);
    }
    if (c->share)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        mlops__mutex_destroy(&c->share_locks[i]);
    mlops__mutex_destroy(&c->pool_lock);
    free(c);
    curl_global_cleanup();
}

static xfer *xfer_get(mlops__http *c)
{
    mlops__mutex_lock(&c->pool_lock);
    xfer *x = c->idle;
    if (x) {
        c->idle = x->next;
        c->nidle--;
    }
    mlops__mutex_unlock(&c->pool_lock);
    if (x)
        return x;
    x = calloc(1, sizeof *x);
    if (!x)
        return NULL;
    x->easy = curl_easy_init();
    x->multi = curl_multi_init();
    if (!x->easy || !x->multi) {
        xfer_free(x);
        return NULL;
    }
    return x;
}

static void xfer_put(mlops__http *c, xfer *x)
{
    mlops__mutex_lock(&c->pool_lock);
    bool keep = c->nidle < POOL_MAX_IDLE;
    if (keep) {
        x->next = c->idle;
        c->idle = x;
        c->nidle++;
    }
    mlops__mutex_unlock(&c->pool_lock);
    if (!keep)
        xfer_free(x);
}

int64_t mlops__http_parse_retry_after(const char *value)
{
    while (*value == ' ' || *value == '\t')
        value++;
    if (isdigit((unsigned char)*value)) {
        char *end;
        double s = strtod(value, &end);
        while (*end == ' ' || *end == '\t' || *end == '\r' || *end == '\n')
            end++;
        if (*end || s < 0 || s > 1e7)
            return -1;
        return (int64_t)(s * 1000.0);
    }
    time_t t = curl_getdate(value, NULL);
    if (t == (time_t)-1)
        return -1;
    int64_t ms = ((int64_t)t * 1000) - mlops__wall_ms();
    return ms < 0 ? 0 : ms;
}

typedef struct xstate {
    const mlops__http_req *req;
    mlops__http_resp *resp;
    bool canceled, toobig;
    int sends;
} xstate;

/*
 * libcurl silently re-sends a request once when a reused connection dies before any
 * reply. For a POST to a model that would be a second, invisible upstream request:
 * refuse the re-send so that one attempt is at most one upstream request, and let the
 * gateway's own retry logic (counted, backed off, maybe elsewhere) decide.
 */
static int on_prereq(void *user, char *conn_primary_ip, char *conn_local_ip,
                     int conn_primary_port, int conn_local_port)
{
    (void)conn_primary_ip;
    (void)conn_local_ip;
    (void)conn_primary_port;
    (void)conn_local_port;
    xstate *x = user;
    return x->sends++ == 0 ? CURL_PREREQFUNC_OK : CURL_PREREQFUNC_ABORT;
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
    xstate *x = user;
    size_t len = size * n;
    if (len > 5 && strncmp(buf, "HTTP/", 5) == 0) {
        /* a new status line (after 100 Continue or a redirect): start over */
        const char *sp = memchr(buf, ' ', len);
        x->resp->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        x->resp->retry_after_ms = -1;
        return len;
    }
    char line[256];
    if (len >= sizeof line)
        return len;
    memcpy(line, buf, len);
    line[len] = '\0';
    char *colon = strchr(line, ':');
    if (!colon)
        return len;
    *colon = '\0';
    int64_t ms = -1;
    if (strcasecmp(line, "retry-after-ms") == 0) {
        char *end;
        double v = strtod(colon + 1, &end);
        ms = v >= 0 && v < 1e10 ? (int64_t)v : -1;
    } else if (strcasecmp(line, "retry-after") == 0 && x->resp->retry_after_ms < 0) {
        ms = mlops__http_parse_retry_after(colon + 1);
    }
    if (ms >= 0)
        x->resp->retry_after_ms = ms;
    return len;
}

static size_t on_body(char *buf, size_t size, size_t n, void *user)
{
    xstate *x = user;
    size_t len = size * n;
    mlops__http_resp *r = x->resp;
    if (x->req->on_data && r->status >= 200 && r->status < 300) {
        r->got_data = true;
        if (x->req->on_data(x->req->user, buf, len) != 0) {
            x->canceled = true;
            return 0;
        }
        return len;
    }
    if (r->body.len + len > BODY_LIMIT) {
        x->toobig = true;
        return 0;
    }
    mlops__buf_append(&r->body, buf, len);
    if (r->status >= 200 && r->status < 300)
        r->got_data = true;
    return r->body.failed ? 0 : len;
}

static void set_err(mlops__http_resp *r, enum mlops__http_err e, const char *msg)
{
    r->err = e;
    snprintf(r->errmsg, sizeof r->errmsg, "%s", msg);
}

static enum mlops__http_err map_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_OK: return MLOPS__HTTP_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return MLOPS__HTTP_CONNECT;
    case CURLE_OPERATION_TIMEDOUT: return MLOPS__HTTP_TIMEOUT;
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return MLOPS__HTTP_DROPPED;
    default: return MLOPS__HTTP_OTHER;
    }
}

static bool is_loopback(const char *url)
{
    const char *h = strstr(url, "://");
    if (!h)
        return false;
    h += 3;
    return strncmp(h, "127.", 4) == 0 || strncmp(h, "localhost", 9) == 0 ||
           strncmp(h, "[::1]", 5) == 0;
}

static int64_t ms_until(uint64_t now, uint64_t t)
{
    return t > now ? (int64_t)((t - now + 999999) / 1000000) : 0;
}

/*
 * SIGPIPE: with CURLOPT_NOSIGNAL (required with threads) libcurl does not shield the
 * process from SIGPIPE, and OpenSSL can raise it writing to a peer that went away,
 * which would kill the host application. Block it on this thread for the transfer and
 * consume one that our transfer raised (the technique libpq uses); the process-wide
 * disposition is never touched.
 */
typedef struct sigpipe_guard {
    sigset_t old;
    bool was_pending;
} sigpipe_guard;

static void sigpipe_block(sigpipe_guard *g)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &g->old);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
}

static void sigpipe_restore(sigpipe_guard *g)
{
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigpending(&pending);
    if (!g->was_pending && sigismember(&pending, SIGPIPE) == 1) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
}

static int http_post(mlops__http *c, const mlops__http_req *req, mlops__http_resp *resp);

int mlops__http_post(mlops__http *c, const mlops__http_req *req, mlops__http_resp *resp)
{
    sigpipe_guard g;
    sigpipe_block(&g);
    int rc = http_post(c, req, resp);
    sigpipe_restore(&g);
    return rc;
}

static int http_post(mlops__http *c, const mlops__http_req *req, mlops__http_resp *resp)
{
    memset(resp, 0, sizeof *resp);
    mlops__buf_init(&resp->body);
    resp->retry_after_ms = -1;
    xfer *x = xfer_get(c);
    if (!x)
        return mlops__error_oom("http transfer");
    struct curl_slist *hdrs = NULL, *tmp;
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        if (!(tmp = curl_slist_append(hdrs, req->headers[i])))
            goto oom;
        hdrs = tmp;
    }
    if (!(tmp = curl_slist_append(hdrs, "Expect:")))
        goto oom;
    hdrs = tmp;

    uint64_t start = mlops__now_ns();
    uint64_t attempt_end = req->timeout_ms > 0 ? start + (uint64_t)req->timeout_ms * 1000000u : 0;
    uint64_t ttfb_end = req->first_byte_timeout_ms > 0
                            ? start + (uint64_t)req->first_byte_timeout_ms * 1000000u : 0;
    uint64_t hard_end = attempt_end;
    if (req->deadline_ns && (!hard_end || req->deadline_ns < hard_end))
        hard_end = req->deadline_ns;

    xstate st = {req, resp, false, false, 0};
    CURL *e = x->easy;
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    x->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, &st);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(e, CURLOPT_PREREQDATA, &st);
    if (req->ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, req->ca_file);
    if (is_loopback(req->url))
        curl_easy_setopt(e, CURLOPT_NOPROXY, "*"); /* http_proxy never applies to loopback */
    if (req->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    if (hard_end)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(ms_until(start, hard_end) + 1));

    if (curl_multi_add_handle(x->multi, e) != CURLM_OK) {
        curl_slist_free_all(hdrs);
        xfer_free(x);
        set_err(resp, MLOPS__HTTP_OTHER, "could not start the transfer");
        return MLOPS_OK;
    }
    enum mlops__http_err ours = MLOPS__HTTP_OK;
    const char *ours_msg = NULL;
    int running = 1;
    for (;;) {
        if (curl_multi_perform(x->multi, &running) != CURLM_OK) {
            ours = MLOPS__HTTP_OTHER;
            ours_msg = "the transfer failed inside libcurl";
            break;
        }
        if (!running)
            break;
        uint64_t now = mlops__now_ns();
        if (req->deadline_ns && now >= req->deadline_ns) {
            ours = MLOPS__HTTP_DEADLINE;
            ours_msg = "the request's deadline expired";
            break;
        }
        if (attempt_end && now >= attempt_end) {
            ours = MLOPS__HTTP_TIMEOUT;
            ours_msg = "the attempt timed out";
            break;
        }
        if (ttfb_end && !resp->got_data && now >= ttfb_end) {
            ours = MLOPS__HTTP_TTFB;
            ours_msg = "no first byte before first_byte_timeout_ms";
            break;
        }
        int64_t wait = 1000;
        if (hard_end)
            wait = ms_until(now, hard_end) < wait ? ms_until(now, hard_end) : wait;
        if (ttfb_end && !resp->got_data)
            wait = ms_until(now, ttfb_end) < wait ? ms_until(now, ttfb_end) : wait;
        curl_multi_poll(x->multi, NULL, 0, (int)(wait > 0 ? wait : 1), NULL);
    }
    CURLcode result = CURLE_OK;
    int left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(x->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE)
            result = msg->data.result;
    long ver = 0, conns = 0;
    curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &ver);
    curl_easy_getinfo(e, CURLINFO_NUM_CONNECTS, &conns);
    resp->http_version = ver == CURL_HTTP_VERSION_1_0 ? 10 : ver == CURL_HTTP_VERSION_1_1 ? 11
                         : ver == CURL_HTTP_VERSION_2_0 ? 20 : ver == CURL_HTTP_VERSION_3 ? 30 : 0;
    resp->new_connection = conns > 0;
    curl_multi_remove_handle(x->multi, e);
    curl_slist_free_all(hdrs);

    if (ours != MLOPS__HTTP_OK) {
        set_err(resp, ours, ours_msg);
    } else if (st.canceled) {
        set_err(resp, MLOPS__HTTP_CANCELED, "canceled by the caller");
    } else if (st.toobig) {
        set_err(resp, MLOPS__HTTP_TOOBIG, "the response body is larger than 32 MiB");
    } else if (result == CURLE_ABORTED_BY_CALLBACK && st.sends > 1) {
        set_err(resp, MLOPS__HTTP_DROPPED, "the connection closed before a reply");
    } else if (result != CURLE_OK) {
        enum mlops__http_err e2 = map_curl(result);
        if (e2 == MLOPS__HTTP_TIMEOUT && req->deadline_ns && mlops__now_ns() >= req->deadline_ns &&
            (!attempt_end || req->deadline_ns < attempt_end))
            e2 = MLOPS__HTTP_DEADLINE;
        if (e2 == MLOPS__HTTP_TIMEOUT)
            set_err(resp, e2, "the attempt timed out");
        else if (e2 == MLOPS__HTTP_DEADLINE)
            set_err(resp, e2, "the request's deadline expired");
        else
            set_err(resp, e2, x->errbuf[0] ? x->errbuf : curl_easy_strerror(result));
    }
    if (resp->body.failed) {
        xfer_put(c, x);
        return mlops__error_oom("http response");
    }
    xfer_put(c, x);
    return MLOPS_OK;
oom:
    curl_slist_free_all(hdrs);
    xfer_put(c, x);
    return mlops__error_oom("http headers");
}

void mlops__http_resp_free(mlops__http_resp *resp)
{
    mlops__buf_free(&resp->body);
}
