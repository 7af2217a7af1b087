/* mlops_open / mlops_close, bad input, migrations, threads and processes. */
#include "test_support.h"

#include "api/api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

/* Asserts that a failing open left the file byte-for-byte as it was. */
static void assert_open_fails_untouched(const char *path, const char *config, int code,
                                        const char *needle)
{
    size_t before_len, after_len;
    char *before = read_all(path, &before_len);
    mlops_t *h = (mlops_t *)0x1;
    assert_status(mlops_open(path, config, &h), code, needle);
    assert_null(h);
    char *after = read_all(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

static void open_close_memory_and_file(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    char *info = NULL;
    assert_ok(mlops_info(h, &info));
    assert_non_null(strstr(info, "\"core\":1"));
    mlops_free(info);
    mlops_close(h);

    test_store ts;
    test_store_open(&ts, "{\"busy_timeout_ms\": 100, \"log_level\": \"info\", \"threads\": 2}");
    assert_ok(mlops_info(ts.h, &info));
    assert_non_null(strstr(info, "\"journal_mode\":\"wal\""));
    assert_non_null(strstr(info, "\"threads\":2"));
    mlops_free(info);
    test_store_close(&ts);
    mlops_close(NULL);
    mlops_free(NULL);
}

static void null_and_empty_arguments(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_status(mlops_open(":memory:", NULL, NULL), MLOPS_EINVAL, "out is NULL");
    assert_status(mlops_open(NULL, NULL, &h), MLOPS_EINVAL, "path is NULL");
    assert_status(mlops_open("", NULL, &h), MLOPS_EINVAL, "path is empty");
    assert_status(mlops_info(NULL, NULL), MLOPS_EINVAL, "handle is NULL");
    assert_status(mlops_set_log_callback(NULL, NULL, NULL), MLOPS_EINVAL, "handle is NULL");
}

static void directory_and_unwritable_paths(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    mlops_t *h = NULL;
    assert_status(mlops_open(dir, NULL, &h), MLOPS_EIO, "is a directory");
    char *deep = test_path(dir, "no/such/dir/store.db");
    assert_status(mlops_open(deep, NULL, &h), MLOPS_EIO, "does not exist");
    assert_null(h);
    free(deep);
    test_tmpdir_remove(dir);
}

static void corrupt_and_foreign_files(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *garbage = test_path(dir, "garbage.db");
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (char)(i * 7 + 3);
    write_all(garbage, junk, sizeof junk);
    assert_open_fails_untouched(garbage, NULL, MLOPS_ECORRUPT, "not an SQLite database");

    /* A valid SQLite header followed by damage. */
    char *damaged = test_path(dir, "damaged.db");
    memcpy(junk, "SQLite format 3", 16);
    write_all(damaged, junk, sizeof junk);
    assert_open_fails_untouched(damaged, NULL, MLOPS_ECORRUPT, NULL);

    /* Somebody else's database is never adopted. */
    char *foreign = test_path(dir, "foreign.db");
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(foreign, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x); INSERT INTO t VALUES(1);", NULL,
                                  NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    assert_open_fails_untouched(foreign, NULL, MLOPS_ESCHEMA, "another application");
    free(garbage);
    free(damaged);
    free(foreign);
    test_tmpdir_remove(dir);
}

static void set_schema(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void newer_schema_is_refused_untouched(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char *path = strdup(ts.db_path);
    mlops_close(ts.h);
    ts.h = NULL;

    set_schema(path, "UPDATE mlops_schema SET version = 99 WHERE module = 'core'");
    assert_open_fails_untouched(path, NULL, MLOPS_ESCHEMA, "module 'core' is at schema version 99");
    set_schema(path, "UPDATE mlops_schema SET version = 1 WHERE module = 'core';"
                     "INSERT INTO mlops_schema VALUES('hologram', 1, 0)");
    assert_open_fails_untouched(path, NULL, MLOPS_ESCHEMA, "module 'hologram' unknown");
    set_schema(path, "DELETE FROM mlops_schema WHERE module = 'hologram';"
                     "PRAGMA user_version = 5000");
    assert_open_fails_untouched(path, NULL, MLOPS_ESCHEMA, "schema version 5000");
    set_schema(path, "PRAGMA user_version = 1");
    mlops_t *h = NULL;
    assert_ok(mlops_open(path, NULL, &h));
    mlops_close(h);
    free(path);
    test_store_close(&ts);
}

static void bad_config_is_named_and_harmless(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_close(ts.h);
    ts.h = NULL;
    assert_open_fails_untouched(ts.db_path, "{\"threads\": ", MLOPS_ECONFIG, "config:");
    assert_open_fails_untouched(ts.db_path, "[1, 2]", MLOPS_ECONFIG, "expected a JSON object");
    assert_open_fails_untouched(ts.db_path, "{\"thredas\": 2}", MLOPS_ECONFIG,
                                "unknown key 'thredas'");
    assert_open_fails_untouched(ts.db_path, "{\"threads\": \"2\"}", MLOPS_ECONFIG,
                                "config.threads: expected integer, got string");
    assert_open_fails_untouched(ts.db_path, "{\"threads\": 0}", MLOPS_ECONFIG, "outside 1..256");
    assert_open_fails_untouched(ts.db_path, "{\"log_level\": \"loud\"}", MLOPS_ECONFIG,
                                "config.log_level");
    assert_open_fails_untouched(ts.db_path, "{\"busy_timeout_ms\": -5}", MLOPS_ECONFIG,
                                "busy_timeout_ms");
    test_store_close(&ts);
}

typedef struct log_capture {
    pthread_mutex_t lock;
    int migrations;
} log_capture;

static void capture_log(int level, const char *message, void *user)
{
    log_capture *c = user;
    (void)level;
    pthread_mutex_lock(&c->lock);
    if (strstr(message, "applied migration"))
        c->migrations++;
    pthread_mutex_unlock(&c->lock);
}

static int count_rows(mlops_t *h, const char *sql)
{
    sqlite3 *db = mlops__store_lock(h->store);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    mlops__store_unlock(h->store);
    return n;
}

static void migrations_run_once(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    assert_int_equal(count_rows(ts.h, "SELECT count(*) FROM mlops_meta"), 1);
    int64_t applied = count_rows(ts.h, "SELECT applied_at_ms % 1000000 FROM mlops_schema");
    mlops_close(ts.h);
    for (int i = 0; i < 3; i++) {
        assert_ok(mlops_open(ts.db_path, NULL, &ts.h));
        assert_int_equal(count_rows(ts.h, "SELECT count(*) FROM mlops_meta"), 1);
        assert_int_equal(count_rows(ts.h, "SELECT applied_at_ms % 1000000 FROM mlops_schema"),
                         applied);
        /* user_version is the sum of every module's schema version */
        assert_int_equal(count_rows(ts.h, "PRAGMA user_version"),
                         count_rows(ts.h, "SELECT sum(version) FROM mlops_schema"));
        mlops_close(ts.h);
    }
    ts.h = NULL;
    test_store_close(&ts);
}

static void log_callback_sees_migrations(void **state)
{
    (void)state;
    /* Migrations run inside mlops_open, before a callback can be set; what the
       callback must see is the later traffic. Check that setting works and that a
       second open has nothing to migrate. */
    test_store ts;
    test_store_open(&ts, "{\"log_level\": \"debug\"}");
    log_capture cap = {PTHREAD_MUTEX_INITIALIZER, 0};
    assert_ok(mlops_set_log_callback(ts.h, capture_log, &cap));
    mlops__log(&ts.h->logger, MLOPS_LOG_INFO, "applied migration test/1");
    assert_int_equal(cap.migrations, 1);
    assert_ok(mlops_set_log_callback(ts.h, NULL, NULL));
    mlops__log(&ts.h->logger, MLOPS_LOG_INFO, "applied migration test/2");
    assert_int_equal(cap.migrations, 1);
    test_store_close(&ts);
}

#define THREADS 8
#define WRITES_PER_THREAD 100

typedef struct shared_ctx {
    mlops_t *h;
    int id;
    int failures;
} shared_ctx;

static int insert_meta(mlops_t *h, const char *key)
{
    int rc = mlops__store_begin(h->store);
    if (rc != MLOPS_OK)
        return rc;
    sqlite3_stmt *s = NULL;
    rc = mlops__store_prepare(h->store, "INSERT INTO mlops_meta(key, value) VALUES(?1, 'x')", &s);
    if (rc == MLOPS_OK) {
        sqlite3_bind_text(s, 1, key, -1, SQLITE_TRANSIENT);
        int src = sqlite3_step(s);
        if (src != SQLITE_DONE)
            rc = mlops__store_error(h->store, src, "insert");
    }
    if (rc != MLOPS_OK) {
        mlops__store_rollback(h->store);
        return rc;
    }
    return mlops__store_commit(h->store);
}

static void *thread_writer(void *arg)
{
    shared_ctx *c = arg;
    for (int i = 0; i < WRITES_PER_THREAD; i++) {
        char key[64];
        snprintf(key, sizeof key, "t%d-%d", c->id, i);
        if (insert_meta(c->h, key) != MLOPS_OK)
            c->failures++;
        char *info = NULL;
        if (mlops_info(c->h, &info) != MLOPS_OK)
            c->failures++;
        mlops_free(info);
        (void)mlops__store_change_counter(c->h->store);
    }
    return NULL;
}

static void eight_threads_share_a_handle(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    pthread_t tids[THREADS];
    shared_ctx ctx[THREADS];
    uint64_t before = mlops__store_change_counter(ts.h->store);
    for (int i = 0; i < THREADS; i++) {
        ctx[i] = (shared_ctx){ts.h, i, 0};
        assert_int_equal(pthread_create(&tids[i], NULL, thread_writer, &ctx[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(tids[i], NULL);
        assert_int_equal(ctx[i].failures, 0);
    }
    assert_int_equal(count_rows(ts.h, "SELECT count(*) FROM mlops_meta"),
                     1 + THREADS * WRITES_PER_THREAD);
    assert_true(mlops__store_change_counter(ts.h->store) != before);
    test_store_close(&ts);
}

static void two_processes_write_one_file(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    uint64_t seen = mlops__store_change_counter(ts.h->store);
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            mlops_t *h = NULL;
            if (mlops_open(ts.db_path, "{\"busy_timeout_ms\": 20000}", &h) != MLOPS_OK)
                _exit(10);
            for (int i = 0; i < 200; i++) {
                char key[64];
                snprintf(key, sizeof key, "p%d-%d", k, i);
                if (insert_meta(h, key) != MLOPS_OK) {
                    fprintf(stderr, "child %d: %s\n", k, mlops_last_error());
                    _exit(11);
                }
            }
            mlops_close(h);
            _exit(0);
        }
    }
    for (int k = 0; k < 2; k++) {
        int status = 0;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_int_equal(count_rows(ts.h, "SELECT count(*) FROM mlops_meta"), 401);
    /* The other processes' commits are visible through the change counter. */
    assert_true(mlops__store_change_counter(ts.h->store) != seen);
    test_store_close(&ts);
}

typedef struct err_ctx {
    const char *path;
    int code;
    char seen[256];
    pthread_barrier_t *barrier;
} err_ctx;

static void *thread_error(void *arg)
{
    err_ctx *c = arg;
    mlops_t *h = NULL;
    c->code = mlops_open(c->path, "{\"nope\": 1}", &h);
    pthread_barrier_wait(c->barrier); /* both threads have failed before either reads */
    snprintf(c->seen, sizeof c->seen, "%s", mlops_last_error());
    return NULL;
}

static void errors_are_thread_local(void **state)
{
    (void)state;
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    err_ctx a = {"", 0, "", &barrier};
    err_ctx b = {":memory:", 0, "", &barrier};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, thread_error, &a);
    pthread_create(&tb, NULL, thread_error, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    pthread_barrier_destroy(&barrier);
    assert_int_equal(a.code, MLOPS_EINVAL);
    assert_non_null(strstr(a.seen, "path is empty"));
    assert_int_equal(b.code, MLOPS_ECONFIG);
    assert_non_null(strstr(b.seen, "unknown key 'nope'"));
}

static void status_texts(void **state)
{
    (void)state;
    for (int code = MLOPS_EINTERNAL; code <= MLOPS_OK; code++) {
        const char *t = mlops_strerror(code);
        assert_non_null(t);
        assert_string_not_equal(t, "unknown status code");
        for (int other = code + 1; other <= MLOPS_OK; other++)
            assert_string_not_equal(t, mlops_strerror(other));
    }
    assert_string_equal(mlops_strerror(-9999), "unknown status code");
    assert_int_equal(mlops_version_number(), MLOPS_VERSION_NUMBER);
    assert_string_equal(mlops_version(), "0.1.0");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(open_close_memory_and_file),
        cmocka_unit_test(null_and_empty_arguments),
        cmocka_unit_test(directory_and_unwritable_paths),
        cmocka_unit_test(corrupt_and_foreign_files),
        cmocka_unit_test(newer_schema_is_refused_untouched),
        cmocka_unit_test(bad_config_is_named_and_harmless),
        cmocka_unit_test(migrations_run_once),
        cmocka_unit_test(log_callback_sees_migrations),
        cmocka_unit_test(eight_threads_share_a_handle),
        cmocka_unit_test(two_processes_write_one_file),
        cmocka_unit_test(errors_are_thread_local),
        cmocka_unit_test(status_texts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
