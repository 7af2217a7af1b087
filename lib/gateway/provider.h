/*
 * Providers behind one vtable. The wire format inside the gateway is OpenAI chat
 * completions (request, response, stream chunks); each provider translates to and
 * from its upstream API. HTTP providers fill `build`, `parse_response`,
 * `parse_stream_event` and `map_error`; an in-process provider (the `local` engine,
 * provider_local.c) fills `invoke` instead and is called directly.
 */
#ifndef MLOPS_GW_PROVIDER_H
#define MLOPS_GW_PROVIDER_H

#include "config.h"

/** What kind of failure an upstream error is, for retry and fallback decisions. */
enum mlops__gw_fail {
    MLOPS__GW_FAIL_NONE = 0,
    MLOPS__GW_FAIL_STATUS,         /* a non-2xx status (see status) */
    MLOPS__GW_FAIL_CONTEXT_LENGTH, /* the prompt does not fit the model's context */
    MLOPS__GW_FAIL_CONTENT_POLICY, /* refused by the provider's content filter */
    MLOPS__GW_FAIL_TIMEOUT,        /* attempt or first-byte timeout */
    MLOPS__GW_FAIL_DEADLINE,       /* the request's overall deadline */
    MLOPS__GW_FAIL_CONNECT,        /* connection refused / reset before a reply */
    MLOPS__GW_FAIL_MALFORMED,      /* a reply that is not the expected JSON */
    MLOPS__GW_FAIL_STREAM_BROKEN,  /* a stream that ended before its end marker */
    MLOPS__GW_FAIL_CANCELED,       /* the caller's chunk function asked to stop */
    MLOPS__GW_FAIL_CONFIG          /* the deployment cannot be called (missing key) */
};

/** An upstream request built by a provider. */
typedef struct mlops__gw_upstream {
    char *url;
    char *headers[16]; /* "Name: value", NULL-terminated; owned */
    size_t nheaders;
    char *body;
} mlops__gw_upstream;

void mlops__gw_upstream_free(mlops__gw_upstream *u);
/** Appends a header line (formatted); false when full or out of memory. */
bool mlops__gw_upstream_header(mlops__gw_upstream *u, const char *fmt, ...) MLOPS__PRINTF(2, 3);

/** Receives an OpenAI-format chunk produced from a stream event. */
typedef int (*mlops__gw_chunk_sink)(void *user, json_t *chunk);

/** Per-stream translation state (one per attempt). */
typedef struct mlops__gw_stream {
    const mlops__gw_deployment *dep;
    mlops__gw_chunk_sink sink;
    void *user;
    bool role_sent;     /* the first chunk (with the role) went out */
    bool done;          /* the end marker arrived ([DONE], message_stop, done:true) */
    char id[128];
    char model[128];
    int64_t created;
    int64_t prompt_tokens, completion_tokens; /* -1 until known */
    uint64_t deadline_ns; /* the request's overall deadline (in-process providers) */
    int tool_index;      /* anthropic: next OpenAI tool_calls index */
    int block_tool[64];  /* anthropic: content block index -> tool index, -1 = text */
    /* an error reported inside the stream */
    enum mlops__gw_fail fail;
    int fail_status;
    char fail_msg[256];
} mlops__gw_stream;

typedef struct mlops__provider {
    const char *name;
    bool ndjson; /* the stream is NDJSON lines rather than SSE */
    /** Builds the upstream request from a validated OpenAI request. */
    int (*build)(const mlops__gw_deployment *d, const json_t *req, bool stream,
                 mlops__gw_upstream *out);
    /** Translates a 2xx body into an OpenAI chat.completion; MLOPS_EPARSE when bad. */
    int (*parse_response)(const mlops__gw_deployment *d, const char *body, size_t len,
                          json_t **out);
    /**
     * Translates one stream event into zero or more chunks passed to st->sink.
     * Returns MLOPS_OK, MLOPS_EPARSE (bad event) or the sink's non-zero return.
     */
    int (*parse_stream_event)(mlops__gw_stream *st, const char *event, const char *data,
                              size_t len);
    /** Classifies an error reply; writes a one-line reason into msg. */
    enum mlops__gw_fail (*map_error)(long status, const char *body, size_t len, char *msg,
                                     size_t cap);
    /**
     * In-process providers only (NULL for HTTP ones): answers the request directly,
     * streaming chunks to st when `stream`. Same error contract as an HTTP attempt.
     */
    int (*invoke)(const mlops__gw_deployment *d, const json_t *req, bool stream,
                  mlops__gw_stream *st, json_t **out);
} mlops__provider;

extern const mlops__provider mlops__provider_openai;
extern const mlops__provider mlops__provider_anthropic;
extern const mlops__provider mlops__provider_ollama;
extern const mlops__provider mlops__provider_local;

/*
 * The local provider's shared model holders (provider_local.c): one per (GGUF path,
 * options), shared by deployments and snapshots, the model loaded on first use.
 */
typedef struct mlops__gw_local mlops__gw_local;
struct mlops__gateway;
/** Checks a local deployment's own keys (model/model_path, options, chat_template). */
int mlops__gw_local_check(const json_t *d, const char *path);
/** The holder for deployment config `d` (found or created; a reference taken). */
int mlops__gw_local_get(struct mlops__gateway *gw, const json_t *d, mlops__gw_local **out);
/** Drops a reference; the last one frees the model. Accepts NULL. */
void mlops__gw_local_release(mlops__gw_local *l);
/** Adds "loaded" and "idle_sessions" to a status object. */
void mlops__gw_local_describe(mlops__gw_local *l, json_t *obj);

/** Finds a provider by config name (MLOPS_ENOTFOUND when unknown). */
int mlops__provider_find(const char *name, const mlops__provider **out);

/* Helpers shared by providers (provider.c). */
/** Joins base URL and path, avoiding a doubled slash. */
char *mlops__gw_url_join(const char *base, const char *path);
/** Text of an OpenAI message's content (string, or the text parts joined). */
char *mlops__gw_content_text(const json_t *content);
/** A new chat.completion.chunk object with id/model/created from st. */
json_t *mlops__gw_chunk_new(const mlops__gw_stream *st);
/** A generic classification from the status and lower-cased body text. */
enum mlops__gw_fail mlops__gw_classify(long status, const char *message, const char *code);
/**
 * map_error's usual ending: writes `message` (or, when the error reply carried none,
 * the first 200 bytes of `body`) into msg and classifies it with `code`.
 */
enum mlops__gw_fail mlops__gw_fail_of(long status, const char *message, const char *code,
                                      const char *body, size_t len, char *msg, size_t cap);
/**
 * Records an error the upstream reported inside a 200 stream as a 500 status with
 * `message`; returns MLOPS_EPROVIDER for parse_stream_event to return.
 */
int mlops__gw_stream_error(mlops__gw_stream *st, const char *message);
/**
 * The stream's last chunk: no choices, the usage counted so far (unknown counts as 0),
 * as OpenAI sends it with stream_options.include_usage.
 */
json_t *mlops__gw_usage_chunk(const mlops__gw_stream *st);
/** Parses a response body that must be a JSON object (MLOPS_EPARSE otherwise). */
int mlops__gw_parse_body(const char *body, size_t len, json_t **out);
/** A JSON string of text that may not be valid UTF-8 (non-ASCII bytes become '?'). */
json_t *mlops__gw_json_text(const char *s);
/** Adds the deployment's API key header and extra headers. */
int mlops__gw_auth_headers(const mlops__gw_deployment *d, mlops__gw_upstream *u);
/** Copies at most cap-1 bytes of s into msg, replacing control characters. */
void mlops__gw_msg_copy(char *msg, size_t cap, const char *s, size_t len);

#endif
