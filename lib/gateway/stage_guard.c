/*
 * The guardrail stages ("guard_input", "guard_output"): lib/guard's policies over the
 * request's text before anything goes upstream, and over the answer after it.
 *
 * Opt-in: the stages run when the gateway config has a "guard" object (even {}) or
 * gateway.pipeline.guard_input / guard_output is true; gateway.pipeline.<stage>: false
 * turns one off.
 *
 * Config (gateway.guard, all optional):
 *   "input_policy", "output_policy": a stored policy name, a policy as JSON text, or an
 *       inline policy object (default: the guard's default policy);
 *   "scan_system" (bool, false): the input stage scans system messages too (user
 *       messages are always scanned: every text part of every user message);
 *   "grounding_context" (bool, false): the output stage passes the request's system and
 *       user text as the grounding context;
 *   "buffer_stream" (bool, false): hold streamed chunks until the output guard passed
 *       the answer (see Streaming below);
 *   "request_override" (bool, false): whether x_mlops.guard may change the policy per
 *       request (false skips both stages, a name / JSON text / object replaces both
 *       policies). Without it a request carrying x_mlops.guard fails with MLOPS_EINVAL.
 *
 * Verdicts: "block" fails the call with MLOPS_EBLOCKED (the message names the scanners
 * and finding types; the report is in x_mlops.guard.input / .output of the error object
 * mlops_chat still returns); "redact" replaces the text (input: before the cache key is
 * computed and before the upstream sees it; output: the answer's content); "warn"
 * proceeds and reports. Reports never carry the matched text, only spans.
 *
 * Streaming: the output stage scans the assembled answer at the end. By default chunks
 * go to the caller as they arrive and cannot be recalled: a "block" then fails the call
 * (and keeps the answer out of the cache), a "redact" rewrites only the final assembled
 * response (x_mlops.guard.output.streamed says so). With "buffer_stream": true the
 * chunks are held until the output guard has seen the whole answer (the input stage
 * arranges it, so guard_input and guard_output must both be on): "allow"/"warn"
 * delivers them, "redact" delivers the redacted answer as chunks instead, "block"
 * delivers nothing. Time to first chunk is then the whole generation; a stream that
 * fails upstream delivers nothing (the final response still holds what arrived).
 */
#include "gateway_state.h"
#include "pipeline.h"

#include "../guard/guard.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const mlops__json_field guard_fields[] = {
    {"input_policy", MLOPS__J_ANY, false},
    {"output_policy", MLOPS__J_ANY, false},
    {"scan_system", MLOPS__J_BOOL, false},
    {"grounding_context", MLOPS__J_BOOL, false},
    {"request_override", MLOPS__J_BOOL, false},
    {"buffer_stream", MLOPS__J_BOOL, false},
    {NULL, 0, false},
};

static int check_policy_value(const json_t *v, const char *what)
{
    if (!v || json_is_string(v))
        return MLOPS_OK;
    if (!json_is_object(v))
        return mlops__error(MLOPS_ECONFIG, "%s: expected a policy name, JSON text or object, got %s",
                            what, mlops__json_type_name(v));
    mlops__gpolicy *p = NULL;
    int rc = mlops__gpolicy_parse(v, &p);
    mlops__gpolicy_free(p);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(MLOPS_ECONFIG, "%s", what);
    return MLOPS_OK;
}

int mlops__gw_guard_config_check(const json_t *section, const char *path)
{
    if (!section)
        return MLOPS_OK;
    char sub[256];
    snprintf(sub, sizeof sub, "%s.guard", path);
    int rc = mlops__json_check_fields(section, sub, guard_fields, MLOPS_ECONFIG);
    if (rc != MLOPS_OK)
        return rc;
    static const char *const pols[] = {"input_policy", "output_policy"};
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(pols); i++) {
        char what[300];
        snprintf(what, sizeof what, "%s.%s", sub, pols[i]);
        if ((rc = check_policy_value(json_object_get(section, pols[i]), what)) != MLOPS_OK)
            return rc;
    }
    return MLOPS_OK;
}

static const json_t *guard_section(const mlops__gw_ctx *ctx)
{
    return ctx->cfg ? json_object_get(ctx->cfg->source, "guard") : NULL;
}

/*
 * The policy for a stage: 1 = skip (x_mlops.guard false; the stage's report says so),
 * 0 = *pol set (and *label the name for the report), or a negative status.
 */
static int resolve(mlops__gw_ctx *ctx, const char *key, json_t *report, mlops__gpolicy **pol,
                   char *label, size_t cap)
{
    const json_t *sec = guard_section(ctx);
    const json_t *v = json_object_get(sec, key);
    const json_t *o = json_object_get(ctx->options, "guard");
    if (o) {
        if (!mlops__json_bool(sec, "request_override", false))
            return mlops__error(MLOPS_EINVAL,
                                "request.x_mlops.guard: this gateway does not let requests change "
                                "guardrails (gateway.guard.request_override is false)");
        if (json_is_false(o)) {
            json_object_set_new(report, "skipped", json_string("x_mlops.guard is false"));
            return 1;
        }
        if (!json_is_true(o)) {
            if (!json_is_string(o) && !json_is_object(o))
                return mlops__error(MLOPS_EINVAL,
                                    "request.x_mlops.guard: expected false, a policy name or a "
                                    "policy object, got %s", mlops__json_type_name(o));
            v = o;
        }
    }
    char *text = NULL;
    const char *arg = NULL;
    if (json_is_string(v)) {
        arg = json_string_value(v);
        snprintf(label, cap, "%s", arg[0] == '{' ? "inline" : arg);
    } else if (json_is_object(v)) {
        int rc = mlops__json_dump(v, &text);
        if (rc != MLOPS_OK)
            return rc;
        arg = text;
        snprintf(label, cap, "inline");
    } else {
        snprintf(label, cap, "default");
    }
    if (!ctx->gw->guard) {
        free(text);
        return mlops__error(MLOPS_EUNSUPPORTED, "gateway.guard: the guard module is not available");
    }
    int rc = mlops__guard_policy_resolve(ctx->gw->guard, arg, pol);
    free(text);
    if (rc != MLOPS_OK)
        return mlops__error_wrap(rc, "gateway.guard.%s", key);
    return 0;
}

static int verdict_of(const json_t *rep)
{
    const char *v = mlops__json_str(rep, "verdict", "allow");
    return strcmp(v, "block") == 0    ? MLOPS__GA_BLOCK
           : strcmp(v, "redact") == 0 ? MLOPS__GA_REDACT
           : strcmp(v, "warn") == 0   ? MLOPS__GA_WARN
                                      : MLOPS__GA_ALLOW;
}

/* What the stage found across its texts. */
typedef struct acc {
    int verdict;
    json_t *findings;
    json_t *scores;
    int scanned, redacted;
    mlops__buf blockers; /* "injection:INJECTION, pii:EMAIL_ADDRESS" */
} acc;

static void acc_init(acc *a)
{
    memset(a, 0, sizeof *a);
    a->findings = json_array();
    a->scores = json_object();
    mlops__buf_init(&a->blockers);
}

static void acc_free(acc *a)
{
    json_decref(a->findings);
    json_decref(a->scores);
    mlops__buf_free(&a->blockers);
}

/*
 * Scans one text; on "redact" (or "block", whose text is sanitised too) *clean gets the
 * sanitised text (a new reference, else NULL). `where` is the message index (-1: the
 * answer's choice index is in `choice`).
 */
static int scan_one(mlops__gw_ctx *ctx, const mlops__gpolicy *pol, int stage, const json_t *str,
                    const char *context, int msg, int choice, acc *a, json_t **clean)
{
    *clean = NULL;
    json_t *rep = NULL;
    const char *text = json_string_value(str);
    size_t len = json_string_length(str);
    int rc = mlops__guard_scan(ctx->gw->guard, pol, stage, text, len, context, &rep);
    if (rc != MLOPS_OK)
        return rc;
    a->scanned++;
    int v = verdict_of(rep);
    if (v > a->verdict)
        a->verdict = v;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(rep, "findings"), i, f) {
        json_t *c = json_deep_copy(f);
        json_object_del(c, "text");
        json_object_set_new(c, msg >= 0 ? "message" : "choice",
                            json_integer(msg >= 0 ? msg : choice));
        json_array_append_new(a->findings, c);
        if (strcmp(mlops__json_str(f, "action", ""), "block") == 0) {
            char one[128];
            snprintf(one, sizeof one, "%s:%s", mlops__json_str(f, "scanner", "?"),
                     mlops__json_str(f, "type", "?"));
            if (!a->blockers.data || !strstr(a->blockers.data, one))
                mlops__buf_printf(&a->blockers, "%s%s", a->blockers.len ? ", " : "", one);
        }
    }
    const char *k;
    json_t *s;
    json_object_foreach(json_object_get(rep, "scores"), k, s) {
        json_t *old = json_object_get(a->scores, k);
        if (!old || json_number_value(s) > json_number_value(old))
            json_object_set(a->scores, k, s);
    }
    json_t *t = json_object_get(rep, "text");
    if (v >= MLOPS__GA_REDACT && json_is_string(t) &&
        (json_string_length(t) != len || memcmp(json_string_value(t), text, len) != 0)) {
        *clean = json_incref(t);
        a->redacted++;
    }
    json_decref(rep);
    return MLOPS_OK;
}

static json_t *acc_report(const acc *a, const char *policy)
{
    return json_pack("{s:s, s:s, s:i, s:i, s:O, s:O}", "verdict",
                     mlops__guard_action_name(a->verdict), "policy", policy, "scanned", a->scanned,
                     "redacted", a->redacted, "findings", a->findings, "scores", a->scores);
}

/* Records the report in x_mlops.guard.<which> and a summary in the stage report. */
static void publish(mlops__gw_ctx *ctx, json_t *report, const char *which, json_t *full)
{
    json_t *g = json_object_get(ctx->xm, "guard");
    if (!g) {
        g = json_object();
        json_object_set_new(ctx->xm, "guard", g);
    }
    json_object_set_new(report, "verdict", json_incref(json_object_get(full, "verdict")));
    json_object_set_new(report, "findings",
                        json_integer((json_int_t)json_array_size(json_object_get(full, "findings"))));
    json_object_set_new(report, "redacted", json_incref(json_object_get(full, "redacted")));
    json_object_set_new(g, which, full);
}

static bool role_scanned(const char *role, bool system)
{
    return strcmp(role, "user") == 0 || (system && strcmp(role, "system") == 0);
}

/*
 * The guard stages are opt-in: they run when gateway.guard is present or
 * gateway.pipeline.<stage> is true (a false switch turns them off either way).
 */
static bool configured(const mlops__gw_ctx *ctx, const char *stage, json_t *report)
{
    if (guard_section(ctx) || (ctx->cfg && json_is_true(json_object_get(ctx->cfg->pipeline, stage))))
        return true;
    json_object_set_new(report, "skipped", json_string("not configured (no gateway.guard)"));
    return false;
}

static int hold_chunk(const char *chunk, void *user)
{
    mlops__gw_ctx *ctx = user;
    return json_array_append_new(ctx->held_chunks, json_string(chunk)) == 0 ? 0 : 1;
}

int mlops__gw_stream_release(mlops__gw_ctx *ctx, bool deliver)
{
    if (!ctx->held_fn)
        return MLOPS_OK;
    ctx->chunk_fn = ctx->held_fn;
    ctx->chunk_user = ctx->held_user;
    ctx->held_fn = NULL;
    ctx->held_user = NULL;
    json_t *held = ctx->held_chunks;
    ctx->held_chunks = NULL;
    int rc = MLOPS_OK;
    size_t i;
    json_t *c;
    json_array_foreach(held, i, c) {
        if (!deliver)
            break;
        if (ctx->chunk_fn(json_string_value(c), ctx->chunk_user) != 0) {
            rc = mlops__error(MLOPS_ECANCELED, "canceled by the chunk function");
            break;
        }
    }
    json_decref(held);
    return rc;
}

int mlops__gw_stage_guard_input(mlops__gw_ctx *ctx, json_t *report)
{
    if (!configured(ctx, "guard_input", report))
        return MLOPS_OK;
    mlops__gpolicy *pol = NULL;
    char label[128];
    int rc = resolve(ctx, "input_policy", report, &pol, label, sizeof label);
    if (rc != MLOPS_OK)
        return rc == 1 ? MLOPS_OK : rc;
    if (ctx->stream && !ctx->held_fn && mlops__json_bool(guard_section(ctx), "buffer_stream", false) &&
        mlops__gw_config_stage_on(ctx->cfg, "guard_output") && (ctx->held_chunks = json_array())) {
        ctx->held_fn = ctx->chunk_fn;
        ctx->held_user = ctx->chunk_user;
        ctx->chunk_fn = hold_chunk;
        ctx->chunk_user = ctx;
        json_object_set_new(report, "buffer_stream", json_true());
    }
    bool system = mlops__json_bool(guard_section(ctx), "scan_system", false);
    acc a;
    acc_init(&a);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(ctx->request, "messages"), i, m) {
        if (!role_scanned(mlops__json_str(m, "role", ""), system))
            continue;
        json_t *content = json_object_get(m, "content");
        json_t *clean = NULL;
        if (json_is_string(content)) {
            rc = scan_one(ctx, pol, MLOPS__GSTAGE_INPUT, content, NULL, (int)i, 0, &a, &clean);
            if (clean)
                json_object_set_new(m, "content", clean);
        } else if (json_is_array(content)) {
            size_t j;
            json_t *part;
            json_array_foreach(content, j, part) {
                json_t *t = json_object_get(part, "text");
                if (!json_is_string(t) || strcmp(mlops__json_str(part, "type", "text"), "text") != 0)
                    continue;
                if ((rc = scan_one(ctx, pol, MLOPS__GSTAGE_INPUT, t, NULL, (int)i, 0, &a,
                                   &clean)) != MLOPS_OK)
                    break;
                if (clean)
                    json_object_set_new(part, "text", clean);
            }
        }
        if (rc != MLOPS_OK)
            break;
    }
    mlops__guard_policy_release(ctx->gw->guard, pol);
    if (rc == MLOPS_OK) {
        json_t *full = acc_report(&a, label);
        publish(ctx, report, "input", full);
        if (a.verdict == MLOPS__GA_BLOCK)
            rc = mlops__error(MLOPS_EBLOCKED,
                              "guard_input: the request was blocked by policy '%s' (%s); the "
                              "report is in x_mlops.guard.input", label,
                              a.blockers.data ? a.blockers.data : "?");
    }
    acc_free(&a);
    return rc;
}

/* The request's system and user text, for grounding. */
static char *request_text(const mlops__gw_ctx *ctx)
{
    mlops__buf b;
    mlops__buf_init(&b);
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(ctx->request, "messages"), i, m) {
        if (!role_scanned(mlops__json_str(m, "role", ""), true))
            continue;
        json_t *content = json_object_get(m, "content");
        if (json_is_string(content)) {
            mlops__buf_printf(&b, "%s\n", json_string_value(content));
        } else {
            size_t j;
            json_t *part;
            json_array_foreach(content, j, part) {
                const char *t = mlops__json_str(part, "text", NULL);
                if (t)
                    mlops__buf_printf(&b, "%s\n", t);
            }
        }
    }
    if (!b.data)
        return mlops__strdup("");
    return b.data;
}

int mlops__gw_stage_guard_output(mlops__gw_ctx *ctx, json_t *report)
{
    if (!ctx->response || !configured(ctx, "guard_output", report)) {
        mlops__gw_stream_release(ctx, true);
        return MLOPS_OK;
    }
    mlops__gpolicy *pol = NULL;
    char label[128];
    int rc = resolve(ctx, "output_policy", report, &pol, label, sizeof label);
    if (rc != MLOPS_OK)
        return rc == 1 ? MLOPS_OK : rc;
    char *context = mlops__json_bool(guard_section(ctx), "grounding_context", false)
                        ? request_text(ctx) : NULL;
    acc a;
    acc_init(&a);
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(ctx->response, "choices"), i, c) {
        json_t *msg = json_object_get(c, "message");
        json_t *t = json_object_get(msg, "content");
        if (!json_is_string(t) || json_string_length(t) == 0)
            continue;
        json_t *clean = NULL;
        if ((rc = scan_one(ctx, pol, MLOPS__GSTAGE_OUTPUT, t, context, -1, (int)i, &a, &clean)) !=
            MLOPS_OK)
            break;
        if (clean && a.verdict != MLOPS__GA_BLOCK)
            json_object_set_new(msg, "content", clean);
        else
            json_decref(clean);
    }
    free(context);
    mlops__guard_policy_release(ctx->gw->guard, pol);
    if (rc == MLOPS_OK && ctx->held_fn) {
        /* a buffered stream: the caller sees the answer only now, as the guard left it */
        bool as_is = a.verdict < MLOPS__GA_REDACT;
        rc = mlops__gw_stream_release(ctx, as_is);
        if (rc == MLOPS_OK && a.verdict == MLOPS__GA_REDACT) {
            ctx->chunks_sent = 0;
            rc = mlops__gw_stream_response(ctx, ctx->response);
        }
        json_object_set_new(report, "buffered", json_true());
        if (rc != MLOPS_OK) {
            acc_free(&a);
            return rc;
        }
    } else if (rc == MLOPS_OK) {
        mlops__gw_stream_release(ctx, false);
    }
    if (rc == MLOPS_OK) {
        json_t *full = acc_report(&a, label);
        if (ctx->stream && ctx->chunks_sent > 0 && a.verdict >= MLOPS__GA_REDACT &&
            !json_object_get(report, "buffered"))
            json_object_set_new(full, "streamed", json_string("chunks already delivered were not "
                                                              "recalled"));
        publish(ctx, report, "output", full);
        if (a.verdict == MLOPS__GA_BLOCK) {
            rc = mlops__error(MLOPS_EBLOCKED,
                              "guard_output: the answer was blocked by policy '%s' (%s); the "
                              "report is in x_mlops.guard.output", label,
                              a.blockers.data ? a.blockers.data : "?");
            /* the answer is withheld: the caller gets the error object with the report */
            json_decref(ctx->response);
            ctx->response = NULL;
        }
    }
    acc_free(&a);
    return rc;
}
