/*
 * The prompt registry's hot path: get and render of a labelled ~1 KiB template with 5
 * variables through the public API, with the read-through cache on and off (off = every
 * call resolves the label in SQLite and compiles the template), against a naive
 * baseline that re-parses the template text on every render (no store at all).
 *
 * usage: bench_prompts            (uses a temporary store file, removed at the end)
 */
#include "bench.h"

#include "mlops.h"
#include "api/api.h"
#include "prompts/prompts.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char vars_json[] =
    "{\"customer\": \"Ada Lovelace\", \"product\": \"Analytical Engine\", \"tone\": \"warm\","
    " \"issue\": \"the mill jams when computing Bernoulli numbers\", \"agent\": \"Charles\"}";

typedef struct ctx {
    mlops_t *h;
    const char *ref;
    const char *text;
    json_t *vars;
} ctx;

static void run_get(void *p)
{
    ctx *c = p;
    char *out = NULL;
    if (mlops_prompt_get(c->h, c->ref, NULL, &out) != MLOPS_OK)
        abort();
    bench_sink((uint64_t)strlen(out));
    mlops_free(out);
}

static void run_get_render(void *p)
{
    ctx *c = p;
    char *out = NULL;
    if (mlops_prompt_get(c->h, c->ref, NULL, &out) != MLOPS_OK)
        abort();
    mlops_free(out);
    if (mlops_prompt_render(c->h, c->ref, vars_json, NULL, &out) != MLOPS_OK)
        abort();
    bench_sink((uint64_t)strlen(out));
    mlops_free(out);
}

static void run_render(void *p)
{
    ctx *c = p;
    char *out = NULL;
    if (mlops_prompt_render(c->h, c->ref, vars_json, NULL, &out) != MLOPS_OK)
        abort();
    bench_sink((uint64_t)strlen(out));
    mlops_free(out);
}

/* The internal call the gateway uses: no JSON text in or out. */
static void run_render_internal(void *p)
{
    ctx *c = p;
    mlops__prompt_rendered r;
    if (mlops__prompts_render(c->h->prompts, c->ref, c->vars, NULL, true, &r) != MLOPS_OK)
        abort();
    bench_sink((uint64_t)strlen(r.text));
    mlops__prompt_rendered_free(&r);
}

/* Naive baseline for the internal call: parse the template text and render it with
 * already-parsed variables, every call, no store. */
static void run_naive(void *p)
{
    ctx *c = p;
    mlops__tpl *t = NULL;
    if (mlops__tpl_compile(c->text, strlen(c->text), "naive", &t) != MLOPS_OK)
        abort();
    mlops__tpl_render_opts o = {true, 0, "naive", NULL, NULL};
    mlops__buf b;
    mlops__buf_init(&b);
    if (mlops__tpl_render(t, c->vars, &o, &b) != MLOPS_OK)
        abort();
    bench_sink(b.len);
    mlops__buf_free(&b);
    mlops__tpl_free(t);
}

/* Naive baseline for the public call: the same plus JSON text in and out. */
static void run_naive_json(void *p)
{
    ctx *c = p;
    json_error_t err;
    json_t *vars = json_loads(vars_json, 0, &err);
    mlops__tpl *t = NULL;
    if (!vars || mlops__tpl_compile(c->text, strlen(c->text), "naive", &t) != MLOPS_OK)
        abort();
    mlops__tpl_render_opts o = {true, 0, "naive", NULL, NULL};
    mlops__buf b, j;
    mlops__buf_init(&b);
    mlops__buf_init(&j);
    if (mlops__tpl_render(t, vars, &o, &b) != MLOPS_OK)
        abort();
    mlops__buf_puts(&j, "{\"text\":");
    mlops__prompt_json_str(&j, b.data, b.len);
    mlops__buf_putc(&j, '}');
    bench_sink(j.len);
    mlops__buf_free(&b);
    mlops__buf_free(&j);
    mlops__tpl_free(t);
    json_decref(vars);
}

static void run_counter(void *p)
{
    ctx *c = p;
    bench_sink(mlops__store_change_counter(c->h->store));
}

/*
 * Render right after another connection wrote something unrelated (what the gateway's
 * ledger does all the time): each sample times only the render that follows a write.
 */
static bench_stats after_foreign_write(ctx *c, sqlite3 *other, size_t n, bool internal)
{
    double *samples = malloc(n * sizeof *samples);
    for (size_t i = 0; i < n; i++) {
        char sql[128];
        snprintf(sql, sizeof sql,
                 "INSERT OR REPLACE INTO mlops_meta(key, value) VALUES('bench', '%zu')", i);
        if (sqlite3_exec(other, sql, NULL, NULL, NULL) != SQLITE_OK)
            abort();
        uint64_t t0 = bench_now_ns();
        if (internal)
            run_render_internal(c);
        else
            run_render(c);
        samples[i] = (double)(bench_now_ns() - t0);
    }
    bench_stats st = bench_stats_of(samples, n);
    free(samples);
    return st;
}

static char *make_template(void)
{
    mlops__buf b;
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "You are {{agent}}, a support engineer for {{product}}. Write in a {{tone}} tone.\n\n");
    while (b.len < 900)
        mlops__buf_puts(&b, "Keep answers short and concrete; cite the manual section when you can; "
                            "never promise dates you cannot keep.\n");
    mlops__buf_puts(&b, "{{#issue}}The customer {{customer}} reports: {{issue}}.{{/issue}}\n"
                        "Reply to {{customer}} about {{product}}.\n");
    return mlops__buf_take(&b);
}

int main(void)
{
    printf("bench_prompts: get+render of a labelled %s template with 5 variables\n", "1 KiB");
    char dir[512];
    if (!bench_mkdtemp(dir, sizeof dir, "bench_prompts.")) {
        perror("mkdtemp");
        return 1;
    }
    char path[640];
    snprintf(path, sizeof path, "%s/bench.db", dir);
    mlops_t *h = NULL;
    if (mlops_open(path, NULL, &h) != MLOPS_OK) {
        fprintf(stderr, "open: %s\n", mlops_last_error());
        return 1;
    }
    char *text = make_template();
    int64_t v = 0;
    if (mlops_prompt_push(h, "support/reply", text, NULL, &v) != MLOPS_OK ||
        mlops_prompt_push(h, "support/reply", "older {{customer}}", NULL, &v) != MLOPS_OK ||
        mlops_prompt_label_set(h, "support/reply", 1, "production", NULL) != MLOPS_OK) {
        fprintf(stderr, "setup: %s\n", mlops_last_error());
        return 1;
    }
    json_error_t err;
    ctx c = {h, "support/reply@production", text, json_loads(vars_json, 0, &err)};
    printf("template: %zu bytes\n", strlen(text));

    const size_t samples = 3000, batch = 10;
    mlops__prompts_set_cache(h->prompts, true);
    bench_stats get_c = bench_run_batched(run_get, &c, samples, batch);
    bench_stats gr_c = bench_run_batched(run_get_render, &c, samples, batch);
    bench_stats r_c = bench_run_batched(run_render, &c, samples, batch);
    bench_stats ri_c = bench_run_batched(run_render_internal, &c, samples, batch);
    mlops__prompts_set_cache(h->prompts, false);
    bench_stats get_u = bench_run_batched(run_get, &c, samples / 3, batch);
    bench_stats gr_u = bench_run_batched(run_get_render, &c, samples / 3, batch);
    bench_stats r_u = bench_run_batched(run_render, &c, samples / 3, batch);
    bench_stats ri_u = bench_run_batched(run_render_internal, &c, samples / 3, batch);
    bench_stats naive = bench_run_batched(run_naive, &c, samples, batch);
    bench_stats naive_json = bench_run_batched(run_naive_json, &c, samples, batch);
    bench_stats counter = bench_run_batched(run_counter, &c, samples, batch);
    sqlite3 *other = NULL;
    if (sqlite3_open(path, &other) != SQLITE_OK)
        return 1;
    sqlite3_busy_timeout(other, 5000);
    bench_stats fw_u = after_foreign_write(&c, other, 300, true);
    mlops__prompts_set_cache(h->prompts, true);
    run_render_internal(&c);
    uint64_t hits0, reval0, miss0, hits1, reval1, miss1;
    mlops__prompts_cache_stats(h->prompts, &hits0, &reval0, &miss0);
    bench_stats fw_c = after_foreign_write(&c, other, 300, true);
    mlops__prompts_cache_stats(h->prompts, &hits1, &reval1, &miss1);
    sqlite3_close(other);

    bench_table_begin("cache on (ours) vs cache off (label + version read from SQLite, template compiled)",
                      "cache off");
    bench_table_row("mlops_prompt_get", &get_c, &get_u);
    bench_table_row("mlops_prompt_get + mlops_prompt_render", &gr_c, &gr_u);
    bench_table_row("mlops_prompt_render", &r_c, &r_u);
    bench_table_row("mlops__prompts_render (internal)", &ri_c, &ri_u);
    bench_table_note("of which the change-counter check", "p50 %.2f us, p99 %.2f us",
                     counter.p50_ns / 1000.0, counter.p99_ns / 1000.0);
    bench_table_row("internal render after a foreign write", &fw_c, &fw_u);
    bench_table_note("  (cache on: revalidated / re-read)", "%llu / %llu of 300",
                     (unsigned long long)(reval1 - reval0), (unsigned long long)(miss1 - miss0));
    bench_table_end();

    bench_table_begin("cached render vs naive: re-parse the template text on every call, no store",
                      "naive");
    bench_table_row("mlops_prompt_render (JSON in/out)", &r_c, &naive_json);
    bench_table_row("mlops__prompts_render (parsed vars)", &ri_c, &naive);
    bench_table_end();

    mlops_close(h);
    free(text);
    json_decref(c.vars);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return 0;
}
