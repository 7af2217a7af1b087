/*
 * The registry under concurrency: gap-free version numbers from 8 threads and from two
 * processes, label moves seen at once by another process and another handle, and
 * readers sharing one handle's cache while labels move.
 */
#include "test_support.h"

#include "api/api.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define PUSHES 25

typedef struct pusher {
    mlops_t *h;          /* shared handle, or NULL to open an own one on path */
    const char *path;
    int id;
    int64_t got[PUSHES];
    int failures;
} pusher;

static void *push_thread(void *arg)
{
    pusher *p = arg;
    mlops_t *h = p->h;
    if (!h && mlops_open(p->path, NULL, &h) != MLOPS_OK) {
        p->failures++;
        return NULL;
    }
    for (int i = 0; i < PUSHES; i++) {
        char text[64];
        snprintf(text, sizeof text, "thread %d push %d {{x}}", p->id, i);
        if (mlops_prompt_push(h, "shared", text, NULL, &p->got[i]) != MLOPS_OK)
            p->failures++;
    }
    if (!p->h)
        mlops_close(h);
    return NULL;
}

static void assert_gap_free(mlops_t *h, const char *name, int64_t n)
{
    char *out = NULL;
    assert_ok(mlops_prompt_history(h, name, &out));
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    mlops_free(out);
    json_t *versions = json_object_get(j, "versions");
    assert_int_equal((int64_t)json_array_size(versions), n);
    for (size_t i = 0; i < json_array_size(versions); i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(versions, i), "version")),
                         (int64_t)i + 1);
    json_decref(j);
}

static void check_pushers(pusher *ps, int n)
{
    int64_t total = (int64_t)n * PUSHES;
    char *seen = calloc((size_t)total + 1, 1);
    for (int t = 0; t < n; t++) {
        assert_int_equal(ps[t].failures, 0);
        for (int i = 0; i < PUSHES; i++) {
            int64_t v = ps[t].got[i];
            assert_true(v >= 1 && v <= total);
            assert_int_equal(seen[v], 0); /* unique */
            seen[v] = 1;
            if (i > 0)
                assert_true(v > ps[t].got[i - 1]); /* each thread's own pushes in order */
        }
    }
    free(seen);
}

static void eight_threads_push_gap_free(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    /* half share the test's handle, half open their own connection */
    pusher ps[THREADS];
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) {
        memset(&ps[t], 0, sizeof ps[t]);
        ps[t].h = t % 2 ? ts.h : NULL;
        ps[t].path = ts.db_path;
        ps[t].id = t;
        assert_int_equal(pthread_create(&th[t], NULL, push_thread, &ps[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    check_pushers(ps, THREADS);
    assert_gap_free(ts.h, "shared", THREADS * PUSHES);
    /* the same content again from every thread: no new version */
    int64_t v = 0;
    assert_ok(mlops_prompt_push(ts.h, "shared", "last {{x}}", NULL, &v));
    assert_int_equal(v, THREADS * PUSHES + 1);
    assert_ok(mlops_prompt_push(ts.h, "shared", "last {{x}}", NULL, &v));
    assert_int_equal(v, THREADS * PUSHES + 1);
    test_store_close(&ts);
}

static void two_processes_push_gap_free(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_close(ts.h);
    ts.h = NULL;
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(go[1]);
        if (read(go[0], &c, 1) != 1)
            _exit(3);
        pusher p = {NULL, ts.db_path, 100, {0}, 0};
        push_thread(&p);
        _exit(p.failures ? 1 : 0);
    }
    close(go[0]);
    pusher p = {NULL, ts.db_path, 200, {0}, 0};
    assert_int_equal(write(go[1], "g", 1), 1);
    push_thread(&p);
    close(go[1]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(p.failures, 0);
    assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
    assert_gap_free(ts.h, "shared", 2 * PUSHES);
    test_store_close(&ts);
}

static int64_t served(mlops_t *h, const char *ref)
{
    char *out = NULL;
    if (mlops_prompt_render(h, ref, "{\"x\": 1}", NULL, &out) != MLOPS_OK)
        return -1;
    json_error_t err;
    json_t *j = json_loads(out, 0, &err);
    mlops_free(out);
    int64_t v = json_integer_value(json_object_get(j, "version"));
    /* the text must belong to the version that says it served */
    const char *text = json_string_value(json_object_get(j, "text"));
    char want_text[32];
    snprintf(want_text, sizeof want_text, "v%lld 1", (long long)v);
    if (!text || strcmp(text, want_text) != 0)
        v = -2;
    json_decref(j);
    return v;
}

static void setup_versions(mlops_t *h, int n)
{
    for (int i = 1; i <= n; i++) {
        char text[32];
        int64_t v = 0;
        snprintf(text, sizeof text, "v%d {{x}}", i);
        assert_ok(mlops_prompt_push(h, "p", text, NULL, &v));
        assert_int_equal(v, i);
    }
}

/* Two processes ping-pong label moves; each must see the other's move on its next call. */
static void two_processes_see_label_moves(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    setup_versions(ts.h, 4);
    assert_ok(mlops_prompt_label_set(ts.h, "p", 1, "production", NULL));
    assert_int_equal(served(ts.h, "p@production"), 1); /* now cached in the parent */
    int to_child[2], to_parent[2];
    assert_int_equal(pipe(to_child), 0);
    assert_int_equal(pipe(to_parent), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the child must not use the parent's connection: open its own handle */
        close(to_child[1]);
        close(to_parent[0]);
        mlops_t *h = NULL;
        if (mlops_open(ts.db_path, NULL, &h) != MLOPS_OK)
            _exit(2);
        int fails = 0;
        for (int round = 0; round < 6; round++) {
            char c;
            if (read(to_child[0], &c, 1) != 1)
                _exit(3);
            int64_t want = c - '0';
            if (served(h, "p@production") != want || served(h, "p") != want)
                fails++;
            int64_t next = want % 4 + 1;
            if (mlops_prompt_label_set(h, "p", next, "production", "{\"actor\": \"child\"}") != MLOPS_OK)
                fails++;
            c = (char)('0' + next);
            if (write(to_parent[1], &c, 1) != 1)
                _exit(4);
        }
        mlops_close(h);
        _exit(fails ? 1 : 0);
    }
    close(to_child[0]);
    close(to_parent[1]);
    int64_t current = 1;
    for (int round = 0; round < 6; round++) {
        int64_t next = current % 4 + 1;
        assert_ok(mlops_prompt_label_set(ts.h, "p", next, "production", "{\"actor\": \"parent\"}"));
        char c = (char)('0' + next);
        assert_int_equal(write(to_child[1], &c, 1), 1);
        assert_int_equal(read(to_parent[0], &c, 1), 1);
        current = c - '0';
        /* the child's move is visible on the very next call, cache or not */
        assert_int_equal(served(ts.h, "p@production"), current);
        assert_int_equal(served(ts.h, "p"), current);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    close(to_child[1]);
    close(to_parent[0]);
    /* every move was recorded, by both actors */
    char *out = NULL;
    assert_ok(mlops_prompt_history(ts.h, "p", &out));
    assert_non_null(strstr(out, "\"actor\":\"child\""));
    assert_non_null(strstr(out, "\"actor\":\"parent\""));
    mlops_free(out);
    test_store_close(&ts);
}

typedef struct reader {
    mlops_t *h;
    volatile int *stop;
    int bad;
    long calls;
} reader;

static void *read_thread(void *arg)
{
    reader *r = arg;
    while (!__atomic_load_n(r->stop, __ATOMIC_ACQUIRE)) {
        int64_t v = served(r->h, "p@production");
        if (v < 1 || v > 4)
            r->bad++;
        char *out = NULL;
        if (mlops_prompt_get(r->h, "p@ab", "{\"key\": \"user-7\"}", &out) != MLOPS_OK)
            r->bad++;
        mlops_free(out);
        __atomic_add_fetch(&r->calls, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

/* Many threads read through one handle's cache while another handle moves labels. */
static void readers_share_cache_while_labels_move(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    setup_versions(ts.h, 4);
    assert_ok(mlops_prompt_label_set(ts.h, "p", 1, "production", NULL));
    assert_ok(mlops_prompt_label_split(ts.h, "p", "ab", "[{\"version\": 1, \"weight\": 50}, {\"version\": 2, \"weight\": 50}]", NULL));
    mlops_t *writer = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &writer));
    volatile int stop = 0;
    reader rs[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        rs[i] = (reader){ts.h, &stop, 0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, read_thread, &rs[i]), 0);
    }
    /* on a loaded machine threads may start late: let every reader get going first */
    for (int i = 0; i < 4; i++)
        while (__atomic_load_n(&rs[i].calls, __ATOMIC_ACQUIRE) == 0)
            mlops__sleep_ms(1);
    for (int round = 0; round < 40; round++) {
        int64_t next = round % 4 + 1;
        assert_ok(mlops_prompt_label_set(writer, "p", next, "production", NULL));
        /* a third party (this thread, on the readers' handle) sees it at once */
        assert_int_equal(served(ts.h, "p@production"), next);
        /* writes through the readers' own handle are seen too */
        int64_t other = next % 4 + 1;
        assert_ok(mlops_prompt_label_set(ts.h, "p", other, "production", NULL));
        assert_int_equal(served(writer, "p@production"), other);
        assert_int_equal(served(ts.h, "p@production"), other);
    }
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].bad, 0);
        assert_true(rs[i].calls > 0);
    }
    mlops_close(writer);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(eight_threads_push_gap_free),
        cmocka_unit_test(two_processes_push_gap_free),
        cmocka_unit_test(two_processes_see_label_moves),
        cmocka_unit_test(readers_share_cache_while_labels_move),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
