/* The mlops keys / spend / route commands, run as a user would (the built binary). */
#include "test_support.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *bin;
static char *dir;

/* Runs a shell command; returns its stdout (malloc'd) and sets *status to the exit code. */
static char *run(int *status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static char *run(int *status, const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap);
    while ((n = fread(buf + len, 1, cap - len - 1, p)) > 0) {
        len += n;
        if (len + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    buf[len] = '\0';
    int st = pclose(p);
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return buf;
}

static void keys_and_spend(void **state)
{
    (void)state;
    int st;
    char *out = run(&st, "%s --db %s/db keys create --alias cli-a --budget 2 --period daily "
                         "--models mini,big --rpm 10 2>/dev/null",
                    bin, dir);
    assert_int_equal(st, 0);
    char *secret = strstr(out, "\"secret\":\"mk-");
    assert_non_null(secret);
    char prefix[16];
    snprintf(prefix, sizeof prefix, "%.11s", secret + 10);
    char tail[40];
    snprintf(tail, sizeof tail, "%.20s", secret + 25);
    free(out);
    out = run(&st, "%s --db %s/db keys list", bin, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"alias\":\"cli-a\""));
    assert_non_null(strstr(out, prefix));
    assert_null(strstr(out, tail));
    free(out);
    out = run(&st, "%s --db %s/db keys rotate cli-a --grace-ms 1000", bin, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"secret\":\"mk-"));
    free(out);
    out = run(&st, "%s --db %s/db keys revoke cli-a", bin, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "revoked cli-a"));
    free(out);
    out = run(&st, "%s --db %s/db keys list --all", bin, dir);
    assert_non_null(strstr(out, "\"state\":\"revoked\""));
    free(out);
    out = run(&st, "%s --db %s/db keys revoke nope 2>&1", bin, dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "nope"));
    free(out);
    out = run(&st, "%s --db %s/db keys create --budget 1 --period hourly 2>&1", bin, dir);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "budget_period"));
    free(out);
    out = run(&st, "%s --db %s/db spend --by model --top 3", bin, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"rows\":[]"));
    free(out);
    out = run(&st, "%s --db %s/db spend --by week 2>&1", bin, dir);
    assert_int_equal(st, 1);
    free(out);
}

static void route_commands(void **state)
{
    (void)state;
    int st;
    const char *data = test_source_dir();
    char *out = run(&st, "%s route explain 'Prove step by step that sqrt(2) is irrational.'", bin);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"tier\":\"reasoning\""));
    assert_non_null(strstr(out, "reasoning_cues"));
    free(out);
    out = run(&st, "%s route train --data %s/data/router/prompts.jsonl --out %s/r.json "
                   "--epochs 5 --seed 3",
              bin, data, dir);
    assert_int_equal(st, 0);
    free(out);
    out = run(&st, "%s route eval --data %s/data/router/prompts.jsonl --model %s/r.json "
                   "--prices 0.1,1",
              bin, data, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"scorer\":\"model\""));
    assert_non_null(strstr(out, "\"curve\""));
    free(out);
    out = run(&st, "%s route decide --model %s/r.json --metadata '{\"tier\": \"x\"}' "
                   "'{\"model\": \"auto\", \"messages\": [{\"role\": \"user\", \"content\": "
                   "\"hi\"}]}'",
              bin, dir);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"source\":\"complexity\""));
    free(out);
    out = run(&st, "%s route eval 2>&1", bin);
    assert_int_equal(st, 2);
    free(out);
    out = run(&st, "%s route explain --config /nonexistent/x.json hi 2>&1", bin);
    assert_int_equal(st, 1);
    free(out);
}

int main(void)
{
    bin = NULL;
    if (asprintf(&bin, "%s/mlops", test_binary_dir()) < 0)
        return 1;
    if (access(bin, X_OK) != 0) {
        printf("mlops binary not built: skipping\n");
        free(bin);
        return 0;
    }
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_and_spend),
        cmocka_unit_test(route_commands),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    free(bin);
    return rc;
}
