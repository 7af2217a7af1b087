/*
 * Virtual keys and complexity routing, against naive baselines in the same run:
 *  - authorize + settle (two write transactions: reserve, then settle with the ledger
 *    row) with 1 and 2 threads on one handle, vs a naive check-then-write (sum the
 *    key's ledger rows, then insert one: not exact under concurrency, and its cost grows
 *    with the ledger);
 *  - router decide with the rule scorer and with a trained model, vs a naive keyword
 *    scan (strstr over a list of hard words);
 *  - mlops_chat against a loopback stand-in with the keys, complexity_routing and ledger
 *    stages on (a key, model "auto") vs the same gateway with those stages off: the
 *    latency these stages add to a request.
 *
 * usage: bench_keys [DIR]   (store files go in DIR, default /tmp)
 */
#include "bench.h"

#include "api/api.h"
#include "core/core.h"
#include "gateway/keys.h"
#include "gateway/route.h"
#include "mlops.h"
#include "stub_server.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPS 2000

typedef struct key_arg {
    mlops__keys *keys;
    const char *secret;
} key_arg;

static void run_authorize_settle(void *p)
{
    key_arg *a = p;
    mlops__key_reservation r;
    if (mlops__keys_authorize(a->keys, a->secret, "mini", 0.001, 100, &r) != MLOPS_OK)
        abort();
    mlops__ledger_entry e = {0};
    e.model = "mini";
    e.tokens_in = 60;
    e.tokens_out = 40;
    e.cost = 0.0005;
    e.status = "ok";
    if (mlops__keys_settle_record(a->keys, &r, &e) != MLOPS_OK)
        abort();
}

typedef struct naive_arg {
    sqlite3 *db;
    sqlite3_stmt *sum, *ins;
} naive_arg;

static void run_naive(void *p)
{
    naive_arg *a = p;
    sqlite3_reset(a->sum);
    if (sqlite3_step(a->sum) != SQLITE_ROW || sqlite3_column_double(a->sum, 0) > 1e9)
        abort();
    sqlite3_reset(a->ins);
    if (sqlite3_step(a->ins) != SQLITE_DONE)
        abort();
}

typedef struct thread_job {
    key_arg arg;
    double *samples;
    size_t n;
} thread_job;

static void *thread_main(void *p)
{
    thread_job *j = p;
    for (size_t i = 0; i < j->n; i++) {
        uint64_t t0 = bench_now_ns();
        run_authorize_settle(&j->arg);
        j->samples[i] = (double)(bench_now_ns() - t0);
    }
    return NULL;
}

static bench_stats two_threads(key_arg *a)
{
    double *s = malloc(2 * OPS * sizeof *s);
    thread_job jobs[2] = {{*a, s, OPS}, {*a, s + OPS, OPS}};
    pthread_t t[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, thread_main, &jobs[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    bench_stats st = bench_stats_of(s, 2 * OPS);
    free(s);
    return st;
}

typedef struct route_arg {
    mlops__route_cfg *cfg;
    json_t *req;
} route_arg;

static void run_decide(void *p)
{
    route_arg *a = p;
    mlops__route_decision d;
    if (mlops__route_decide(a->cfg, a->req, NULL, &d) != MLOPS_OK)
        abort();
    bench_sink((uint64_t)d.tier);
    mlops__route_decision_free(&d);
}

static const char *const hard_words[] = {"prove", "step by step", "design", "implement",
                                         "compare", "algorithm", "derive", "optimize",
                                         "architecture", "debug", "integral", "theorem", NULL};

static void run_keyword(void *p)
{
    route_arg *a = p;
    json_t *m = json_array_get(json_object_get(a->req, "messages"), 0);
    const char *text = json_string_value(json_object_get(m, "content"));
    char lower[2048];
    size_t n = strlen(text);
    if (n >= sizeof lower)
        n = sizeof lower - 1;
    for (size_t i = 0; i < n; i++)
        lower[i] = (char)(text[i] >= 'A' && text[i] <= 'Z' ? text[i] + 32 : text[i]);
    lower[n] = '\0';
    int hits = 0;
    for (const char *const *w = hard_words; *w; w++)
        hits += strstr(lower, *w) != NULL;
    bench_sink((uint64_t)hits);
}

static char *read_data(void)
{
    char *text = NULL;
    size_t len = 0;
    const char *paths[] = {"data/router/prompts.jsonl", "../data/router/prompts.jsonl",
                           "../../data/router/prompts.jsonl"};
    for (size_t i = 0; i < 3 && !text; i++)
        if (mlops__file_read(paths[i], 1 << 24, &text, &len) != MLOPS_OK)
            text = NULL;
    return text;
}

typedef struct chat_arg {
    mlops_t *h;
    const char *req;
} chat_arg;

static void run_chat(void *p)
{
    chat_arg *a = p;
    char *out = NULL;
    if (mlops_chat(a->h, a->req, &out) != MLOPS_OK) {
        fprintf(stderr, "bench_keys: chat: %s\n", mlops_last_error());
        abort();
    }
    mlops_free(out);
}

/* The pipeline with and without the Gateway II stages, on a loopback stand-in. */
static void bench_pipeline(const char *dir)
{
    stub_server *s = stub_start("bench");
    if (!s) {
        bench_table_note("pipeline", "skipped: no loopback port");
        return;
    }
    char path[1024], cfg[2048], *out = NULL;
    snprintf(path, sizeof path, "%s/bench_keys_pipe_%d.db", dir, (int)getpid());
    const char *models =
        "\"models\": [{\"name\": \"mini\", \"deployments\": [{\"provider\": \"openai\", "
        "\"base_url\": \"http://127.0.0.1:%d/v1\", \"model\": \"m\", "
        "\"input_cost_per_mtok\": 0.15, \"output_cost_per_mtok\": 0.6}]}, {\"name\": \"big\", "
        "\"deployments\": [{\"provider\": \"openai\", \"base_url\": "
        "\"http://127.0.0.1:%d/v1\", \"model\": \"b\", \"input_cost_per_mtok\": 2.5, "
        "\"output_cost_per_mtok\": 10}]}]";
    char mj[1024];
    snprintf(mj, sizeof mj, models, stub_port(s), stub_port(s));
    snprintf(cfg, sizeof cfg,
             "{\"keys\": {\"retention_days\": 0}, \"gateway\": {%s, \"routing\": "
             "{\"cheap_model\": \"mini\", \"strong_model\": \"big\"}}}",
             mj);
    mlops_t *on = NULL, *off = NULL;
    if (mlops_open(path, cfg, &on) != MLOPS_OK) {
        fprintf(stderr, "bench_keys: %s\n", mlops_last_error());
        stub_stop(s);
        return;
    }
    snprintf(cfg, sizeof cfg,
             "{\"gateway\": {%s, \"pipeline\": {\"keys\": false, \"complexity_routing\": "
             "false, \"ledger\": false}}}",
             mj);
    mlops_open(":memory:", cfg, &off);
    mlops_keys_create(on, "{\"budget\": 1000000}", &out);
    json_t *kj = json_loads(out, 0, NULL);
    mlops_free(out);
    char req_on[512];
    snprintf(req_on, sizeof req_on,
             "{\"model\": \"auto\", \"max_tokens\": 64, \"messages\": [{\"role\": \"user\", "
             "\"content\": \"What is the capital of France?\"}], \"x_mlops\": {\"api_key\": "
             "\"%s\"}}",
             json_string_value(json_object_get(kj, "secret")));
    chat_arg a_on = {on, req_on};
    chat_arg a_off = {off, "{\"model\": \"mini\", \"max_tokens\": 64, \"messages\": "
                           "[{\"role\": \"user\", \"content\": \"What is the capital of "
                           "France?\"}]}"};
    bench_table_begin("pipeline: mlops_chat on a loopback stand-in",
                      "keys/routing/ledger stages off");
    bench_stats st_on = bench_run(run_chat, &a_on, 1000);
    bench_stats st_off = bench_run(run_chat, &a_off, 1000);
    bench_table_row("key + routing + ledger on", &st_on, &st_off);
    bench_table_note("added by the three stages (p50)", "%.1f us",
                     (st_on.p50_ns - st_off.p50_ns) / 1e3);
    bench_table_end();
    json_decref(kj);
    mlops_close(on);
    mlops_close(off);
    stub_stop(s);
    unlink(path);
    char side[1100];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[1024], npath[1024];
    snprintf(path, sizeof path, "%s/bench_keys_%d.db", dir, (int)getpid());
    snprintf(npath, sizeof npath, "%s/bench_keys_naive_%d.db", dir, (int)getpid());
    mlops_t *h = NULL;
    if (mlops_open(path, "{\"keys\": {\"retention_days\": 0}}", &h) != MLOPS_OK) {
        fprintf(stderr, "bench_keys: %s\n", mlops_last_error());
        return 1;
    }
    /* The bench calls the internal API the gateway pipeline calls. */
    mlops__keys *keys = h->keys;
    char *out = NULL;
    mlops_keys_create(h, "{\"budget\": 1000000, \"rpm\": 100000000, \"models\": [\"mini\"]}", &out);
    json_t *kj = json_loads(out, 0, NULL);
    mlops_free(out);
    key_arg ka = {keys, json_string_value(json_object_get(kj, "secret"))};

    sqlite3 *ndb = NULL;
    sqlite3_open(npath, &ndb);
    sqlite3_exec(ndb, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; CREATE TABLE l(key "
                      "TEXT, cost REAL); CREATE INDEX l_key ON l(key);",
                 NULL, NULL, NULL);
    naive_arg na = {ndb, NULL, NULL};
    sqlite3_prepare_v2(ndb, "SELECT COALESCE(SUM(cost), 0) FROM l WHERE key='k'", -1, &na.sum,
                       NULL);
    sqlite3_prepare_v2(ndb, "INSERT INTO l VALUES('k', 0.0005)", -1, &na.ins, NULL);

    bench_table_begin("keys: authorize + settle (reserve, settle + ledger row)",
                      "naive sum-ledger-then-insert");
    bench_stats ours = bench_run(run_authorize_settle, &ka, OPS);
    bench_stats naive = bench_run(run_naive, &na, OPS);
    bench_table_row("1 thread", &ours, &naive);
    bench_stats ours2 = two_threads(&ka);
    bench_table_row("2 threads, one handle", &ours2, NULL);
    bench_stats naive_late = bench_run(run_naive, &na, OPS);
    bench_table_row("after 10k ledger rows", &ours, &naive_late);
    bench_table_end();

    char *data = read_data();
    route_arg ra = {NULL, json_pack("{s:s, s:[{s:s, s:s}]}", "model", "auto", "messages", "role",
                                    "user", "content",
                                    "Compare two designs for a rate limiter and explain the "
                                    "trade-offs step by step, with code in Python.")};
    mlops__route_config_parse(NULL, "routing", &ra.cfg);
    bench_table_begin("router: decide one request", "naive keyword scan");
    bench_stats rules = bench_run_batched(run_decide, &ra, 2000, 10);
    bench_stats kw = bench_run_batched(run_keyword, &ra, 2000, 10);
    bench_table_row("rule scorer", &rules, &kw);
    if (data) {
        mlops__route_examples ex;
        mlops__route_model *m = NULL;
        mlops__route_train_opts to;
        mlops__route_train_opts_parse(NULL, &to);
        if (mlops__route_examples_parse(data, strlen(data), &ex) == MLOPS_OK &&
            mlops__route_train(&ex, NULL, 0, &to, &m) == MLOPS_OK) {
            json_t *mj = NULL;
            mlops__route_model_to_json(m, &mj);
            json_t *sec = json_pack("{s:o}", "model", mj);
            route_arg rm = {NULL, ra.req};
            mlops__route_config_parse(sec, "routing", &rm.cfg);
            bench_stats lr = bench_run_batched(run_decide, &rm, 2000, 10);
            bench_table_row("logistic regression", &lr, &kw);
            mlops__route_cfg_free(rm.cfg);
            json_decref(sec);
            mlops__route_model_free(m);
            mlops__route_examples_free(&ex);
        }
        free(data);
    } else {
        bench_table_note("logistic regression", "skipped: run from the source tree");
    }
    bench_table_end();

    mlops__route_cfg_free(ra.cfg);
    json_decref(ra.req);
    bench_pipeline(dir);
    sqlite3_finalize(na.sum);
    sqlite3_finalize(na.ins);
    sqlite3_close(ndb);
    json_decref(kj);
    mlops_close(h);
    unlink(path);
    unlink(npath);
    char side[1100];
    const char *suffix[] = {"-wal", "-shm"};
    for (int i = 0; i < 2; i++) {
        snprintf(side, sizeof side, "%s%s", path, suffix[i]);
        unlink(side);
        snprintf(side, sizeof side, "%s%s", npath, suffix[i]);
        unlink(side);
    }
    return 0;
}
