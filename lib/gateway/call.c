/*
 * The provider-call stage: attempts with retries (exponential backoff with jitter,
 * Retry-After honoured), deployment choice per attempt, cooldown feedback, fallbacks
 * to other models (generic, context-window, content-policy), and streaming with
 * translation to OpenAI chunks. Retries and fallbacks happen only before the first
 * chunk reaches the caller.
 */
#include "balance.h"
#include "gateway_state.h"
#include "pipeline.h"
#include "provider.h"
#include "request.h"
#include "sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The outcome of one attempt. */
typedef struct attempt {
    enum mlops__gw_fail fail;
    int status;               /* upstream HTTP status, 0 when none */
    int64_t retry_after_ms;   /* -1 when absent */
    char msg[256];
    json_t *response;         /* non-stream: the translated response */
    double latency_ms;
    int http_version;         /* 11, 20...; 0 when there was no response */
    bool new_connection;
} attempt;

/* Streaming: accumulates chunks into the final response and forwards them. */
typedef struct stream_acc {
    mlops__gw_ctx *ctx;
    mlops__buf content;
    json_t *tool_calls;
    char finish[32];
    bool canceled;
} stream_acc;

/* One streaming attempt: the SSE/NDJSON parser feeding the provider translation. */
typedef struct stream_run {
    mlops__sse sse;
    mlops__gw_stream st;
    const mlops__provider *prov;
    stream_acc *acc;
    json_t *pending; /* the held-back role chunk (see sink) */
    int abort_rc; /* why on_data stopped the transfer */
    char abort_msg[256];
} stream_run;

static void acc_tool_delta(stream_acc *a, json_t *calls)
{
    size_t i;
    json_t *tc;
    json_array_foreach(calls, i, tc) {
        json_t *ix = json_object_get(tc, "index");
        size_t idx = json_is_integer(ix) && json_integer_value(ix) >= 0 &&
                             json_integer_value(ix) < 128
                         ? (size_t)json_integer_value(ix) : i;
        while (json_array_size(a->tool_calls) <= idx)
            json_array_append_new(a->tool_calls,
                                  json_pack("{s:s, s:s, s:{s:s, s:s}}", "id", "", "type",
                                            "function", "function", "name", "", "arguments", ""));
        json_t *dst = json_array_get(a->tool_calls, idx);
        json_t *dfn = json_object_get(dst, "function");
        const char *id = mlops__json_str(tc, "id", NULL);
        if (id && *id)
            json_object_set_new(dst, "id", json_string(id));
        json_t *fn = json_object_get(tc, "function");
        const char *name = mlops__json_str(fn, "name", NULL);
        if (name && *name)
            json_object_set_new(dfn, "name", json_string(name));
        const char *args = mlops__json_str(fn, "arguments", NULL);
        if (args && *args) {
            char *joined = mlops__sprintf("%s%s", mlops__json_str(dfn, "arguments", ""), args);
            if (joined)
                json_object_set_new(dfn, "arguments", json_string(joined));
            free(joined);
        }
    }
}

static int deliver(stream_run *run, json_t *chunk)
{
    stream_acc *a = run->acc;
    json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    const char *text = mlops__json_str(delta, "content", NULL);
    if (text)
        mlops__buf_puts(&a->content, text);
    json_t *calls = json_object_get(delta, "tool_calls");
    if (json_is_array(calls))
        acc_tool_delta(a, calls);
    const char *fr = mlops__json_str(choice, "finish_reason", NULL);
    if (fr)
        snprintf(a->finish, sizeof a->finish, "%s", fr);
    char *textjson = NULL;
    if (mlops__json_dump(chunk, &textjson) != MLOPS_OK)
        return MLOPS_ENOMEM;
    int rc = a->ctx->chunk_fn(textjson, a->ctx->chunk_user);
    free(textjson);
    a->ctx->chunks_sent++;
    if (rc != 0) {
        a->canceled = true;
        return MLOPS_ECANCELED;
    }
    return MLOPS_OK;
}

/* A chunk that carries nothing but the role (the first chunk of most streams). */
static bool is_preamble(json_t *chunk)
{
    json_t *choice = json_array_get(json_object_get(chunk, "choices"), 0);
    json_t *delta = json_object_get(choice, "delta");
    if (!choice || json_is_object(json_object_get(chunk, "usage")) ||
        json_is_string(json_object_get(choice, "finish_reason")))
        return false;
    const char *key;
    json_t *v;
    json_object_foreach(delta, key, v) {
        if (strcmp(key, "role") == 0)
            continue;
        if (strcmp(key, "content") == 0 && (json_is_null(v) || json_string_length(v) == 0))
            continue;
        return false;
    }
    return true;
}

/*
 * Forwards a translated chunk. The role-only preamble is held back until the first
 * chunk with content, so that an upstream failing right after it (an Anthropic
 * overloaded_error after message_start) can still be retried or fall back: nothing
 * reached the caller yet.
 */
static int sink(void *user, json_t *chunk)
{
    stream_run *run = user;
    if (!run->pending && run->acc->ctx->chunks_sent == 0 && is_preamble(chunk)) {
        run->pending = json_incref(chunk);
        return MLOPS_OK;
    }
    int rc = MLOPS_OK;
    if (run->pending) {
        rc = deliver(run, run->pending);
        json_decref(run->pending);
        run->pending = NULL;
    }
    return rc == MLOPS_OK ? deliver(run, chunk) : rc;
}

static int on_event(void *user, const char *event, const char *data, size_t len)
{
    stream_run *run = user;
    if (run->st.done)
        return MLOPS_OK; /* anything after the end marker is ignored */
    int rc = run->prov->parse_stream_event(&run->st, event, data, len);
    if (rc != MLOPS_OK && run->abort_msg[0] == '\0')
        snprintf(run->abort_msg, sizeof run->abort_msg, "%s",
                 run->st.fail != MLOPS__GW_FAIL_NONE ? run->st.fail_msg : mlops__error_text());
    return rc;
}

static int on_data(void *user, const char *data, size_t len)
{
    stream_run *run = user;
    int rc = mlops__sse_feed(&run->sse, data, len, on_event, run);
    if (rc != MLOPS_OK) {
        run->abort_rc = rc;
        if (!run->abort_msg[0])
            snprintf(run->abort_msg, sizeof run->abort_msg, "%s",
                     rc == MLOPS_ELIMIT ? "a stream line is longer than 1 MiB"
                                        : "out of memory while reading the stream");
    }
    return rc;
}

static enum mlops__gw_fail http_fail(enum mlops__http_err e)
{
    switch (e) {
    case MLOPS__HTTP_CONNECT: return MLOPS__GW_FAIL_CONNECT;
    case MLOPS__HTTP_TIMEOUT:
    case MLOPS__HTTP_TTFB: return MLOPS__GW_FAIL_TIMEOUT;
    case MLOPS__HTTP_DEADLINE: return MLOPS__GW_FAIL_DEADLINE;
    case MLOPS__HTTP_DROPPED: return MLOPS__GW_FAIL_CONNECT;
    case MLOPS__HTTP_TOOBIG: return MLOPS__GW_FAIL_MALFORMED;
    case MLOPS__HTTP_CANCELED: return MLOPS__GW_FAIL_CANCELED;
    default: return MLOPS__GW_FAIL_CONNECT;
    }
}

/*
 * An in-process provider (the local engine): no HTTP, same contract. Its status maps
 * onto the failure kinds: MLOPS_ETIMEOUT -> timeout, MLOPS_ECANCELED -> canceled (the
 * chunk function), MLOPS_ELIMIT -> context length, others -> a provider failure.
 */
static void invoke_attempt(mlops__gw_ctx *ctx, const mlops__gw_deployment *d, stream_run *run,
                           attempt *at)
{
    int sent_before = ctx->chunks_sent;
    json_t *resp = NULL;
    int rc = d->provider->invoke(d, ctx->request, ctx->stream, &run->st, &resp);
    if (run->pending) {
        json_t *p = run->pending;
        run->pending = NULL;
        if (rc == MLOPS_OK && deliver(run, p) != MLOPS_OK)
            rc = mlops__error(MLOPS_ECANCELED, "canceled by the chunk function");
        json_decref(p);
    }
    if (rc == MLOPS_OK) {
        if (ctx->stream) {
            json_decref(resp);
            if (run->st.prompt_tokens >= 0)
                ctx->prompt_tokens = run->st.prompt_tokens;
            if (run->st.completion_tokens >= 0)
                ctx->completion_tokens = run->st.completion_tokens;
            resp = json_pack("{s:s, s:s, s:I, s:s}", "id", run->st.id, "object", "chat.completion",
                             "created", (json_int_t)run->st.created, "model", run->st.model);
        }
        at->status = 200;
        at->response = resp;
        return;
    }
    json_decref(resp);
    snprintf(at->msg, sizeof at->msg, "%.250s", mlops__error_text());
    at->fail = rc == MLOPS_ETIMEOUT     ? MLOPS__GW_FAIL_TIMEOUT
               : rc == MLOPS_ECANCELED  ? MLOPS__GW_FAIL_CANCELED
               : rc == MLOPS_ELIMIT     ? MLOPS__GW_FAIL_CONTEXT_LENGTH
                                        : MLOPS__GW_FAIL_STATUS;
    at->status = at->fail == MLOPS__GW_FAIL_STATUS ? 500 : 0;
    if (ctx->stream && ctx->chunks_sent > sent_before && at->fail != MLOPS__GW_FAIL_CANCELED)
        at->fail = MLOPS__GW_FAIL_STREAM_BROKEN;
}

static void run_attempt(mlops__gw_ctx *ctx, const mlops__gw_deployment *d, stream_acc *acc,
                        attempt *at)
{
    memset(at, 0, sizeof *at);
    at->retry_after_ms = -1;
    uint64_t t0 = mlops__now_ns();
    const mlops__provider *prov = d->provider;
    if (d->api_key_env && !d->api_key) {
        at->fail = MLOPS__GW_FAIL_CONFIG;
        snprintf(at->msg, sizeof at->msg, "environment variable %s (api_key_env) is not set",
                 d->api_key_env);
        return;
    }
    stream_run run;
    memset(&run, 0, sizeof run);
    if (ctx->stream) {
        run.prov = prov;
        run.acc = acc;
        run.st.dep = d;
        run.st.sink = sink;
        run.st.user = &run;
        run.st.created = (int64_t)time(NULL);
        run.st.prompt_tokens = run.st.completion_tokens = -1;
        for (size_t i = 0; i < MLOPS__ARRAY_LEN(run.st.block_tool); i++)
            run.st.block_tool[i] = -1;
    }
    if (prov->invoke) {
        invoke_attempt(ctx, d, &run, at);
        at->latency_ms = (double)(mlops__now_ns() - t0) / 1e6;
        return;
    }
    mlops__gw_upstream up = {0};
    if (prov->build(d, ctx->request, ctx->stream, &up) != MLOPS_OK) {
        at->fail = MLOPS__GW_FAIL_CONFIG;
        snprintf(at->msg, sizeof at->msg, "could not build the request: %.200s", mlops__error_text());
        mlops__gw_upstream_free(&up);
        return;
    }
    if (ctx->stream)
        mlops__sse_init(&run.sse, prov->ndjson);
    mlops__http_req hr = {
        .url = up.url,
        .headers = (const char *const *)up.headers,
        .body = up.body,
        .body_len = strlen(up.body),
        .timeout_ms = d->timeout_ms,
        .connect_timeout_ms = d->connect_timeout_ms,
        .first_byte_timeout_ms = ctx->stream ? d->first_byte_timeout_ms : 0,
        .deadline_ns = ctx->deadline_ns,
        .ca_file = d->ca_file,
        .on_data = ctx->stream ? on_data : NULL,
        .user = &run,
    };
    mlops__http_resp resp;
    int sent_before = ctx->chunks_sent;
    if (mlops__http_post(ctx->gw->http, &hr, &resp) != MLOPS_OK) {
        at->fail = MLOPS__GW_FAIL_CONNECT;
        snprintf(at->msg, sizeof at->msg, "%s", mlops__error_text());
        goto out;
    }
    at->status = (int)resp.status;
    at->retry_after_ms = resp.retry_after_ms;
    at->http_version = resp.http_version;
    at->new_connection = resp.new_connection;
    if (resp.err == MLOPS__HTTP_CANCELED) {
        if (acc && acc->canceled) {
            at->fail = MLOPS__GW_FAIL_CANCELED;
            snprintf(at->msg, sizeof at->msg, "canceled by the chunk function");
        } else if (run.st.fail != MLOPS__GW_FAIL_NONE) {
            at->fail = run.st.fail;
            at->status = run.st.fail_status;
            snprintf(at->msg, sizeof at->msg, "error event in the stream: %.200s", run.abort_msg);
        } else {
            at->fail = MLOPS__GW_FAIL_MALFORMED;
            snprintf(at->msg, sizeof at->msg, "malformed stream: %.200s", run.abort_msg);
        }
    } else if (resp.err != MLOPS__HTTP_OK) {
        at->fail = http_fail(resp.err);
        if (resp.err == MLOPS__HTTP_TIMEOUT)
            snprintf(at->msg, sizeof at->msg, "the attempt timed out (timeout_ms %lld)",
                     (long long)d->timeout_ms);
        else if (resp.err == MLOPS__HTTP_TTFB)
            snprintf(at->msg, sizeof at->msg, "no first byte within first_byte_timeout_ms %lld",
                     (long long)d->first_byte_timeout_ms);
        else
            snprintf(at->msg, sizeof at->msg, "%s", resp.errmsg);
        if (resp.err == MLOPS__HTTP_DROPPED && resp.got_data)
            snprintf(at->msg, sizeof at->msg, "connection broke mid-response: %.200s", resp.errmsg);
        if (resp.err == MLOPS__HTTP_DROPPED)
            at->status = resp.got_data ? at->status : 0;
        if (resp.err != MLOPS__HTTP_DROPPED && !resp.got_data && resp.status == 0)
            at->status = 0;
    } else if (resp.status < 200 || resp.status >= 300) {
        at->fail = prov->map_error(resp.status, resp.body.data ? resp.body.data : "", resp.body.len,
                                   at->msg, sizeof at->msg);
    } else if (!ctx->stream) {
        if (prov->parse_response(d, resp.body.data ? resp.body.data : "", resp.body.len,
                                 &at->response) != MLOPS_OK) {
            at->fail = MLOPS__GW_FAIL_MALFORMED;
            snprintf(at->msg, sizeof at->msg, "malformed response: %s", mlops__error_text());
        }
    } else {
        mlops__sse_finish(&run.sse, on_event, &run);
        /* a clean end after a finish_reason counts as complete: some OpenAI-compatible
         * servers omit "data: [DONE]" */
        if (!run.st.done && !(acc && acc->finish[0] && ctx->chunks_sent > sent_before)) {
            at->fail = MLOPS__GW_FAIL_STREAM_BROKEN;
            snprintf(at->msg, sizeof at->msg, "the stream ended before its end marker");
        }
    }
    /* a failure after chunks reached the caller is a broken stream, whatever its cause */
    if (at->fail != MLOPS__GW_FAIL_NONE && at->fail != MLOPS__GW_FAIL_CANCELED &&
        ctx->chunks_sent > sent_before && ctx->stream) {
        char tmp[256];
        snprintf(tmp, sizeof tmp, "%s", at->msg);
        snprintf(at->msg, sizeof at->msg, "stream broken after %d chunks: %.200s",
                 ctx->chunks_sent - sent_before, tmp);
        if (at->fail != MLOPS__GW_FAIL_TIMEOUT && at->fail != MLOPS__GW_FAIL_DEADLINE)
            at->fail = MLOPS__GW_FAIL_STREAM_BROKEN;
    }
    if (ctx->stream && at->fail == MLOPS__GW_FAIL_NONE && run.pending) {
        /* an empty answer: the preamble is all there is */
        json_t *p = run.pending;
        run.pending = NULL;
        if (deliver(&run, p) != MLOPS_OK) {
            at->fail = MLOPS__GW_FAIL_CANCELED;
            snprintf(at->msg, sizeof at->msg, "canceled by the chunk function");
        }
        json_decref(p);
    }
    if (ctx->stream && at->fail == MLOPS__GW_FAIL_NONE) {
        if (run.st.prompt_tokens >= 0)
            ctx->prompt_tokens = run.st.prompt_tokens;
        if (run.st.completion_tokens >= 0)
            ctx->completion_tokens = run.st.completion_tokens;
        json_t *resp_obj = json_pack("{s:s, s:s, s:I, s:s}", "id", run.st.id, "object",
                                     "chat.completion", "created", (json_int_t)run.st.created,
                                     "model", run.st.model);
        at->response = resp_obj;
    }
    mlops__http_resp_free(&resp);
out:
    at->latency_ms = (double)(mlops__now_ns() - t0) / 1e6;
    json_decref(run.pending);
    if (ctx->stream)
        mlops__sse_free(&run.sse);
    mlops__gw_upstream_free(&up);
}

static bool retryable(const mlops__gw_router *r, const attempt *at, const mlops__gw_ctx *ctx)
{
    if (ctx->chunks_sent > 0)
        return false;
    switch (at->fail) {
    case MLOPS__GW_FAIL_STATUS: return at->status > 0 && at->status < 600 && r->retry_status[at->status];
    case MLOPS__GW_FAIL_TIMEOUT: return r->retry_timeout;
    case MLOPS__GW_FAIL_CONNECT:
    case MLOPS__GW_FAIL_STREAM_BROKEN: return r->retry_connect;
    case MLOPS__GW_FAIL_CONFIG: return true; /* another deployment may be usable */
    default: return false;
    }
}

/* Whether this failure says something about the deployment's health. */
static bool is_health_failure(const attempt *at)
{
    switch (at->fail) {
    case MLOPS__GW_FAIL_STATUS: return at->status >= 500 || at->status == 408 || at->status == 0;
    case MLOPS__GW_FAIL_TIMEOUT:
    case MLOPS__GW_FAIL_CONNECT:
    case MLOPS__GW_FAIL_MALFORMED:
    case MLOPS__GW_FAIL_STREAM_BROKEN: return true;
    default: return false;
    }
}

static const char *fail_name(enum mlops__gw_fail f)
{
    switch (f) {
    case MLOPS__GW_FAIL_NONE: return "ok";
    case MLOPS__GW_FAIL_STATUS: return "status";
    case MLOPS__GW_FAIL_CONTEXT_LENGTH: return "context_length";
    case MLOPS__GW_FAIL_CONTENT_POLICY: return "content_policy";
    case MLOPS__GW_FAIL_TIMEOUT: return "timeout";
    case MLOPS__GW_FAIL_DEADLINE: return "deadline";
    case MLOPS__GW_FAIL_CONNECT: return "connection";
    case MLOPS__GW_FAIL_MALFORMED: return "malformed";
    case MLOPS__GW_FAIL_STREAM_BROKEN: return "stream_broken";
    case MLOPS__GW_FAIL_CANCELED: return "canceled";
    case MLOPS__GW_FAIL_CONFIG: return "config";
    }
    return "error";
}

/* The failure that ends a request, remembered for the final error. */
typedef struct last_fail {
    enum mlops__gw_fail fail;
    int status;
    int64_t retry_after_ms;
    char where[320];
    char msg[256];
    int code; /* a status when no attempt was possible (limits, cooling) */
} last_fail;

static void remember(last_fail *lf, const mlops__gw_deployment *d, const attempt *at)
{
    lf->fail = at->fail;
    lf->status = at->status;
    lf->retry_after_ms = at->retry_after_ms;
    lf->code = 0;
    snprintf(lf->where, sizeof lf->where, "deployment '%s' (%s %s, model %s)", d->id,
             d->provider->name, d->base_url, d->upstream);
    snprintf(lf->msg, sizeof lf->msg, "%s", at->msg);
}

static int64_t backoff_ms(const mlops__gw_router *r, int k)
{
    double d = (double)r->backoff_base_ms;
    for (int i = 0; i < k && d < (double)r->backoff_max_ms; i++)
        d *= 2;
    if (d > (double)r->backoff_max_ms)
        d = (double)r->backoff_max_ms;
    /* "equal jitter": half fixed, half random (AWS Architecture Blog, 2015) */
    return (int64_t)(d / 2 + mlops__gw_random() * d / 2);
}

static bool sleep_within(const mlops__gw_ctx *ctx, int64_t ms)
{
    if (ms <= 0)
        return true;
    uint64_t wake = mlops__now_ns() + (uint64_t)ms * 1000000u;
    if (wake >= ctx->deadline_ns)
        return false;
    mlops__sleep_ms((uint64_t)ms);
    return true;
}

static void add_attempt(json_t *attempts, const mlops__gw_deployment *d, const attempt *at)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:i, s:f}", "deployment", d->id, "model", d->model,
                          "provider", d->provider->name, "status", at->status, "latency_ms",
                          at->latency_ms);
    if (at->fail != MLOPS__GW_FAIL_NONE) {
        json_object_set_new(a, "error", mlops__gw_json_text(at->msg));
        json_object_set_new(a, "kind", json_string(fail_name(at->fail)));
    }
    if (at->retry_after_ms >= 0)
        json_object_set_new(a, "retry_after_ms", json_integer(at->retry_after_ms));
    if (at->http_version) {
        const char *v = at->http_version == 10 ? "1.0" : at->http_version == 11 ? "1.1"
                        : at->http_version == 20 ? "2" : "3";
        json_object_set_new(a, "http", json_string(v));
        json_object_set_new(a, "new_connection", json_boolean(at->new_connection));
    }
    json_array_append_new(attempts, a);
}

/*
 * Tries one model: up to retries + 1 attempts. Returns true with ctx->response set on
 * success; false with lf describing the last failure.
 */
static bool try_model(mlops__gw_ctx *ctx, const mlops__gw_model *m, stream_acc *acc,
                      json_t *attempts, last_fail *lf)
{
    const mlops__gw_router *r = &ctx->cfg->router;
    int64_t est = mlops__gw_estimate_tokens(ctx->request);
    json_t *mt = json_object_get(ctx->request, "max_tokens");
    int64_t need = est + (json_is_integer(mt) ? json_integer_value(mt) : 0);
    uint64_t excluded = 0;
    int64_t wait_hint = -1; /* Retry-After of the last failure on this model */
    for (int k = 0; k <= r->retries; k++) {
        mlops__gw_slot slot;
        mlops__gw_pick_why why;
        bool got = mlops__gw_pick(r, m, need, excluded, &slot, &why);
        if (!got && wait_hint >= 0 && wait_hint <= r->retry_after_max_ms && why.cooling > 0 &&
            sleep_within(ctx, wait_hint))
            got = mlops__gw_pick(r, m, need, excluded, &slot, &why);
        if (!got && k > 0)
            return false; /* keep the last attempt's failure: it says more */
        if (!got) {
            lf->status = 0;
            lf->retry_after_ms = -1;
            snprintf(lf->where, sizeof lf->where, "model '%s'", m->name);
            if (why.too_small > 0 && why.too_small == (int)m->ndeps) {
                lf->fail = MLOPS__GW_FAIL_CONTEXT_LENGTH;
                lf->code = MLOPS_EPROVIDER;
                snprintf(lf->msg, sizeof lf->msg,
                         "about %lld tokens do not fit any deployment's context_window",
                         (long long)need);
            } else if (why.limited + why.busy > 0) {
                lf->fail = MLOPS__GW_FAIL_STATUS;
                lf->status = 429;
                lf->code = MLOPS_ERATELIMIT;
                snprintf(lf->msg, sizeof lf->msg,
                         "every deployment is at its limits (%d at rpm/tpm, %d at max_parallel, "
                         "%d cooling down); retry within a minute",
                         why.limited, why.busy, why.cooling);
            } else {
                lf->fail = MLOPS__GW_FAIL_STATUS;
                lf->code = why.rate_limited ? MLOPS_ERATELIMIT : MLOPS_EPROVIDER;
                char last[160] = "";
                int st = 0;
                const mlops__gw_deployment *cd = NULL;
                for (size_t i = 0; i < m->ndeps && !cd; i++)
                    if (mlops__gw_state_last_failure(m->deps[i].state, &st, last, sizeof last))
                        cd = &m->deps[i];
                snprintf(lf->msg, sizeof lf->msg,
                         "all %zu deployments are cooling down after failures%s; deployment "
                         "'%s' last failed with upstream status %d: %.120s",
                         m->ndeps, why.rate_limited ? " (rate limited upstream)" : "",
                         cd ? cd->id : "?", st, last);
            }
            return false;
        }
        mlops__gw_deployment *d = slot.dep;
        attempt at;
        run_attempt(ctx, d, acc, &at);
        add_attempt(attempts, d, &at);
        mlops__gw_outcome o = {
            .ok = at.fail == MLOPS__GW_FAIL_NONE,
            .counts_as_failure = is_health_failure(&at) && !(at.fail == MLOPS__GW_FAIL_STATUS && at.status == 429),
            .rate_limited = at.fail == MLOPS__GW_FAIL_STATUS && at.status == 429,
            .status = at.status,
            .latency_ms = at.latency_ms,
            .cooldown_ms = at.status == 429 && at.retry_after_ms >= 0 ? at.retry_after_ms : -1,
            .error = at.fail == MLOPS__GW_FAIL_NONE ? NULL : at.msg,
        };
        if (at.fail == MLOPS__GW_FAIL_NONE) {
            json_t *usage = json_object_get(at.response, "usage");
            if (!ctx->stream && json_is_object(usage)) {
                ctx->prompt_tokens = mlops__json_int(usage, "prompt_tokens", -1);
                ctx->completion_tokens = mlops__json_int(usage, "completion_tokens", -1);
            }
            o.tokens = (ctx->prompt_tokens > 0 ? ctx->prompt_tokens : est) +
                       (ctx->completion_tokens > 0 ? ctx->completion_tokens : 0);
        }
        mlops__gw_release(r, &slot, &o);
        if (at.fail == MLOPS__GW_FAIL_NONE) {
            ctx->response = at.response;
            ctx->deployment = d->id;
            ctx->dep = d;
            json_object_set_new(ctx->xm, "deployment", json_string(d->id));
            json_object_set_new(ctx->xm, "provider", json_string(d->provider->name));
            json_object_set_new(ctx->xm, "upstream_model", json_string(d->upstream));
            return true;
        }
        remember(lf, d, &at);
        if (!retryable(r, &at, ctx) || k == r->retries)
            return false;
        if (m->ndeps <= 64)
            excluded |= 1ull << (d - m->deps);
        int64_t delay = at.fail == MLOPS__GW_FAIL_CONFIG ? 0 : backoff_ms(r, k);
        wait_hint = -1;
        if (at.retry_after_ms >= 0) {
            if (at.retry_after_ms > r->retry_after_max_ms)
                return false; /* longer than we may wait: let a fallback answer */
            wait_hint = at.retry_after_ms;
            /* another deployment may take the retry at once; the same one must wait */
            delay = m->ndeps > 1 ? delay : at.retry_after_ms;
        }
        if (!sleep_within(ctx, delay)) {
            lf->fail = MLOPS__GW_FAIL_DEADLINE;
            snprintf(lf->msg + strlen(lf->msg), sizeof lf->msg - strlen(lf->msg),
                     "; no time left for a retry before the deadline");
            return false;
        }
    }
    return false;
}

/* Picks the fallback list for a failure, or NULL when no fallback applies. */
static json_t *fallback_list(const mlops__gw_ctx *ctx, const last_fail *lf)
{
    if (json_is_false(json_object_get(ctx->options, "fallbacks")))
        return NULL;
    const mlops__gw_router *r = &ctx->cfg->router;
    json_t *generic = json_object_get(r->fallbacks, ctx->model);
    switch (lf->fail) {
    case MLOPS__GW_FAIL_CANCELED:
    case MLOPS__GW_FAIL_DEADLINE:
        return NULL;
    case MLOPS__GW_FAIL_CONTEXT_LENGTH: {
        json_t *l = json_object_get(r->context_fallbacks, ctx->model);
        return l ? l : generic;
    }
    case MLOPS__GW_FAIL_CONTENT_POLICY: {
        json_t *l = json_object_get(r->policy_fallbacks, ctx->model);
        return l ? l : generic;
    }
    case MLOPS__GW_FAIL_STATUS:
        /* the caller's own mistakes are not fixed by another model */
        if (lf->status == 400 || lf->status == 413 || lf->status == 422)
            return NULL;
        return generic;
    default:
        return generic;
    }
}

static int final_error(const last_fail *lf, int attempts, json_t *fallbacks)
{
    char fb[256] = "";
    if (json_array_size(fallbacks) > 0) {
        size_t i, n = 0;
        json_t *f;
        n += (size_t)snprintf(fb, sizeof fb, "; fallbacks tried:");
        json_array_foreach(fallbacks, i, f)
            if (n < sizeof fb)
                n += (size_t)snprintf(fb + n, sizeof fb - n, " %s", json_string_value(f));
    }
    char status[64] = "";
    if (lf->status > 0)
        snprintf(status, sizeof status, "upstream status %d: ", lf->status);
    char after[64] = "";
    if (lf->retry_after_ms >= 0)
        snprintf(after, sizeof after, "; retry after %lld ms", (long long)lf->retry_after_ms);
    int code = lf->code;
    if (!code) {
        switch (lf->fail) {
        case MLOPS__GW_FAIL_TIMEOUT:
        case MLOPS__GW_FAIL_DEADLINE: code = MLOPS_ETIMEOUT; break;
        case MLOPS__GW_FAIL_CANCELED: code = MLOPS_ECANCELED; break;
        case MLOPS__GW_FAIL_STATUS: code = lf->status == 429 ? MLOPS_ERATELIMIT : MLOPS_EPROVIDER; break;
        default: code = MLOPS_EPROVIDER;
        }
    }
    return mlops__error(code, "%s: %s%s (%s; %d attempt%s)%s%s", lf->where, status, lf->msg,
                        fail_name(lf->fail), attempts, attempts == 1 ? "" : "s", after, fb);
}

static void finish_stream_response(mlops__gw_ctx *ctx, stream_acc *acc, bool broken)
{
    if (!ctx->response)
        ctx->response = json_pack("{s:s, s:s, s:I, s:s}", "id", "", "object", "chat.completion",
                                  "created", (json_int_t)time(NULL), "model", "");
    json_t *msg = json_pack("{s:s, s:s}", "role", "assistant", "content",
                            acc->content.data ? acc->content.data : "");
    if (json_array_size(acc->tool_calls) > 0)
        json_object_set(msg, "tool_calls", acc->tool_calls);
    json_object_set_new(ctx->response, "choices",
                        json_pack("[{s:i, s:o, s:s?}]", "index", 0, "message", msg, "finish_reason",
                                  acc->finish[0] && !broken ? acc->finish : NULL));
    json_object_set_new(ctx->xm, "stream", json_pack("{s:i, s:b}", "chunks", ctx->chunks_sent,
                                                     "broken", broken));
}

static void set_usage(mlops__gw_ctx *ctx)
{
    bool estimated = false;
    if (ctx->prompt_tokens < 0) {
        ctx->prompt_tokens = mlops__gw_estimate_tokens(ctx->request);
        estimated = true;
    }
    if (ctx->completion_tokens < 0) {
        json_t *msg = json_object_get(json_array_get(json_object_get(ctx->response, "choices"), 0), "message");
        const char *c = mlops__json_str(msg, "content", "");
        ctx->completion_tokens = (int64_t)(c ? strlen(c) : 0) / 4 + 1;
        estimated = true;
    }
    if (!json_is_object(json_object_get(ctx->response, "usage")) || estimated)
        json_object_set_new(ctx->response, "usage",
                            json_pack("{s:I, s:I, s:I}", "prompt_tokens", (json_int_t)ctx->prompt_tokens,
                                      "completion_tokens", (json_int_t)ctx->completion_tokens,
                                      "total_tokens",
                                      (json_int_t)(ctx->prompt_tokens + ctx->completion_tokens)));
    if (estimated)
        json_object_set_new(ctx->xm, "usage_estimated", json_true());
}

int mlops__gw_stage_call(mlops__gw_ctx *ctx, json_t *report)
{
    if (ctx->response) {
        json_object_set_new(report, "skipped", json_string("answered by an earlier stage"));
        return MLOPS_OK;
    }
    const mlops__gw_model *m = ctx->route;
    if (!m)
        m = mlops__gw_config_model(ctx->cfg, ctx->model);
    if (!m)
        return mlops__error(MLOPS_ENOTFOUND, "request.model: unknown model '%s'", ctx->model);
    if (!json_is_array(json_object_get(ctx->request, "messages")))
        return mlops__error(MLOPS_EINVAL,
                            "request.messages: missing (x_mlops.prompt needs the prompts stage)");
    ctx->prompt_tokens = ctx->completion_tokens = -1;
    json_t *attempts = json_array();
    json_t *fallbacks = json_array();
    json_object_set_new(ctx->xm, "attempts", attempts);
    json_object_set_new(ctx->xm, "fallbacks", fallbacks);
    stream_acc acc;
    memset(&acc, 0, sizeof acc);
    acc.ctx = ctx;
    mlops__buf_init(&acc.content);
    acc.tool_calls = json_array();
    last_fail lf;
    memset(&lf, 0, sizeof lf);
    bool ok = try_model(ctx, m, &acc, attempts, &lf);
    json_t *list = ok ? NULL : fallback_list(ctx, &lf);
    size_t i;
    json_t *name;
    json_array_foreach(list, i, name) {
        if (ok || ctx->chunks_sent > 0 || lf.fail == MLOPS__GW_FAIL_CANCELED ||
            lf.fail == MLOPS__GW_FAIL_DEADLINE || mlops__now_ns() >= ctx->deadline_ns)
            break;
        const mlops__gw_model *fm = mlops__gw_config_model(ctx->cfg, json_string_value(name));
        if (!fm || fm == m)
            continue;
        json_array_append(fallbacks, name);
        ok = try_model(ctx, fm, &acc, attempts, &lf);
    }
    int rc = MLOPS_OK;
    json_object_set_new(report, "attempts", json_integer((json_int_t)json_array_size(attempts)));
    json_object_set_new(report, "fallbacks", json_integer((json_int_t)json_array_size(fallbacks)));
    if (ok) {
        if (ctx->stream)
            finish_stream_response(ctx, &acc, false);
        set_usage(ctx);
        const mlops__gw_deployment *d = ctx->dep;
        ctx->cost = ((double)ctx->prompt_tokens * d->input_cost_per_mtok +
                     (double)ctx->completion_tokens * d->output_cost_per_mtok) / 1e6;
        json_object_set_new(ctx->xm, "cost", json_real(ctx->cost));
        json_object_set_new(report, "deployment", json_string(ctx->deployment));
    } else {
        rc = final_error(&lf, (int)json_array_size(attempts), fallbacks);
        if (ctx->stream && ctx->chunks_sent > 0) {
            /* hand back what arrived, marked broken */
            char saved[1024];
            snprintf(saved, sizeof saved, "%s", mlops__error_text());
            json_decref(ctx->response);
            ctx->response = NULL;
            finish_stream_response(ctx, &acc, lf.fail != MLOPS__GW_FAIL_CANCELED);
            if (lf.fail == MLOPS__GW_FAIL_CANCELED)
                json_object_set_new(json_object_get(ctx->xm, "stream"), "canceled", json_true());
            mlops__error(rc, "%s", saved);
        }
        json_object_set_new(report, "error", mlops__gw_json_text(mlops__error_text()));
    }
    mlops__buf_free(&acc.content);
    json_decref(acc.tool_calls);
    return rc;
}
