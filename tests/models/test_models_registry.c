/* The model registry: versions, hashes, aliases, search, audit, bad input. */
#include "test_support.h"

#include "api/api.h"

#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static json_t *parse(char *text)
{
    assert_non_null(text);
    json_t *v = json_loads(text, 0, NULL);
    assert_non_null(v);
    mlops_free(text);
    return v;
}

static int64_t reg(mlops_t *h, const char *name, const char *spec)
{
    int64_t v = 0;
    assert_ok(mlops_model_register(h, name, spec, &v));
    return v;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void versions_and_refs(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    assert_int_equal(reg(ts.h, "fraud", "{\"uri\": \"s3://b/m1\", \"metrics\": {\"auc\": 0.8},"
                                         " \"tags\": {\"team\": \"risk\"}, \"format\": \"onnx\","
                                         " \"hash\": \"sha256:abc\", \"size\": 12}"),
                     1);
    assert_int_equal(reg(ts.h, "fraud", "{\"uri\": \"s3://b/m2\", \"metrics\": {\"auc\": 0.9,"
                                         " \"test\": {\"auc\": 0.88}}, \"lineage\": {"
                                         "\"source_run\": \"run-7\", \"parent_version\": 1}}"),
                     2);
    assert_int_equal(reg(ts.h, "churn", "{\"uri\": \"s3://b/c1\"}"), 1);
    char *out = NULL;
    assert_ok(mlops_model_get(ts.h, "fraud", &out));
    json_t *v = parse(out);
    assert_int_equal(json_integer_value(json_object_get(v, "version")), 2);
    assert_string_equal(json_string_value(json_object_get(json_object_get(v, "lineage"),
                                                          "source_run")), "run-7");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(v, "lineage"),
                                                        "parent_version")), 1);
    json_decref(v);
    assert_ok(mlops_model_get(ts.h, "fraud:1", &out));
    v = parse(out);
    assert_string_equal(json_string_value(json_object_get(v, "hash")), "sha256:abc");
    assert_string_equal(json_string_value(json_object_get(v, "format")), "onnx");
    json_decref(v);
    assert_ok(mlops_model_get(ts.h, "fraud@latest", &out));
    mlops_free(out);
    /* Bad input: each a clear error. */
    assert_status(mlops_model_get(ts.h, "fraud:9", &out), MLOPS_ENOTFOUND, "no version 9");
    assert_status(mlops_model_get(ts.h, "nope", &out), MLOPS_ENOTFOUND, "'nope'");
    assert_status(mlops_model_get(ts.h, "fraud@production", &out), MLOPS_ENOTFOUND,
                  "no alias 'production'");
    assert_status(mlops_model_get(ts.h, "fraud:x", &out), MLOPS_EINVAL, "positive integer");
    int64_t ver;
    assert_status(mlops_model_register(ts.h, "fraud", "{\"uri\": \"s3://x\", \"metrics\":"
                                       " {\"auc\": \"high\"}}", &ver), MLOPS_EINVAL,
                  "version.metrics.auc");
    assert_status(mlops_model_register(ts.h, "fraud", "{\"uri\": \"s3://x\", \"colour\": 1}",
                                       &ver), MLOPS_EINVAL, "colour");
    assert_status(mlops_model_register(ts.h, "fraud", "{\"metrics\": {}}", &ver), MLOPS_EINVAL,
                  "uri");
    assert_status(mlops_model_register(ts.h, "fraud", "{\"uri\": \"s3://x\", \"lineage\":"
                                       " {\"parent_version\": 7}}", &ver), MLOPS_ENOTFOUND,
                  "no version 7");
    assert_status(mlops_model_register(ts.h, "bad name!", "{\"uri\": \"s3://x\"}", &ver),
                  MLOPS_EINVAL, "model name");
    assert_status(mlops_model_register(ts.h, "fraud", "{\"uri\": ", &ver), MLOPS_EPARSE,
                  "version_json");
    /* Nothing half-written: still two versions, numbered without gaps. */
    assert_int_equal(reg(ts.h, "fraud", "{\"uri\": \"s3://b/m3\"}"), 3);
    /* Updates merge metrics and tags. */
    assert_ok(mlops_model_update(ts.h, "fraud", 3, "{\"metrics\": {\"auc\": 0.95},"
                                                    " \"tags\": {\"team\": \"risk\"},"
                                                    " \"status\": \"ready\"}"));
    assert_ok(mlops_model_get(ts.h, "fraud:3", &out));
    v = parse(out);
    assert_true(json_real_value(json_object_get(json_object_get(v, "metrics"), "auc")) == 0.95);
    json_decref(v);
    assert_status(mlops_model_update(ts.h, "fraud", 3, "{\"status\": \"gone\"}"), MLOPS_EINVAL,
                  "patch.status");
    /* list */
    assert_ok(mlops_model_list(ts.h, &out));
    v = parse(out);
    assert_int_equal(json_array_size(v), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(v, 1), "name")),
                        "fraud");
    assert_int_equal(json_integer_value(json_object_get(json_array_get(v, 1), "versions")), 3);
    json_decref(v);
    test_store_close(&ts);
}

static void artifact_hash_and_verify(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char *art = test_path(ts.dir, "model.bin");
    write_file(art, "abc");
    char spec[512];
    snprintf(spec, sizeof spec, "{\"uri\": \"file://%s\"}", art);
    reg(ts.h, "m", spec);
    char *out = NULL;
    assert_ok(mlops_model_get(ts.h, "m:1", &out));
    json_t *v = parse(out);
    /* SHA-256("abc"), FIPS 180-2 appendix B.1. */
    assert_string_equal(json_string_value(json_object_get(v, "hash")),
                        "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    assert_int_equal(json_integer_value(json_object_get(v, "size")), 3);
    json_decref(v);
    assert_ok(mlops_model_verify(ts.h, "m:1", &out));
    mlops_free(out);
    /* A plain path works too. */
    snprintf(spec, sizeof spec, "{\"uri\": \"%s\"}", art);
    assert_int_equal(reg(ts.h, "m", spec), 2);
    write_file(art, "abd");
    assert_status(mlops_model_verify(ts.h, "m:1", &out), MLOPS_ECORRUPT, "model.bin");
    assert_non_null(strstr(mlops_last_error(), "sha256:ba7816bf"));
    assert_null(out);
    /* A given hash must match the file. */
    snprintf(spec, sizeof spec, "{\"uri\": \"%s\", \"hash\": \"sha256:00\"}", art);
    int64_t ver;
    assert_status(mlops_model_register(ts.h, "m", spec, &ver), MLOPS_ECORRUPT, "sha256:00");
    snprintf(spec, sizeof spec, "{\"uri\": \"%s/missing.bin\"}", ts.dir);
    assert_status(mlops_model_register(ts.h, "m", spec, &ver), MLOPS_EIO, "missing.bin");
    reg(ts.h, "remote", "{\"uri\": \"s3://b/x\"}");
    assert_status(mlops_model_verify(ts.h, "remote", &out), MLOPS_EUNSUPPORTED, "s3://b/x");
    free(art);
    test_store_close(&ts);
}

static void aliases_and_audit(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "m", "{\"uri\": \"s3://1\"}");
    reg(ts.h, "m", "{\"uri\": \"s3://2\"}");
    char *out = NULL;
    assert_ok(mlops_model_promote(ts.h, "m", 1, "production", 0, NULL, &out));
    mlops_free(out);
    assert_ok(mlops_model_promote(ts.h, "m", 2, "staging", 0, NULL, NULL));
    assert_ok(mlops_model_get(ts.h, "m@production", &out));
    json_t *v = parse(out);
    assert_int_equal(json_integer_value(json_object_get(v, "version")), 1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(v, "aliases"), 0)),
                        "production");
    json_decref(v);
    assert_status(mlops_model_promote(ts.h, "m", 1, "latest", 0, NULL, &out), MLOPS_EINVAL,
                  "reserved");
    assert_status(mlops_model_promote(ts.h, "m", 5, "production", 0, NULL, &out),
                  MLOPS_ENOTFOUND, "no version 5");
    assert_status(mlops_model_promote(ts.h, "m", 2, "bad alias", 0, NULL, &out), MLOPS_EINVAL,
                  "alias");
    assert_status(mlops_model_promote(ts.h, "m", 2, "production", 1, NULL, &out), MLOPS_EINVAL,
                  "reason");
    /* pick follows aliases and latest. */
    int64_t pv = 0;
    assert_ok(mlops_deploy_pick(ts.h, "m", "production", "u1", &pv, NULL, 0, NULL));
    assert_int_equal(pv, 1);
    assert_ok(mlops_deploy_pick(ts.h, "m", "latest", NULL, &pv, NULL, 0, NULL));
    assert_int_equal(pv, 2);
    assert_ok(mlops_model_promote(ts.h, "m", 2, "production", 0, NULL, NULL));
    assert_ok(mlops_deploy_pick(ts.h, "m", "production", "u1", &pv, NULL, 0, NULL));
    assert_int_equal(pv, 2);
    assert_ok(mlops_model_remove_alias(ts.h, "m", "staging", "cleanup"));
    assert_status(mlops_deploy_pick(ts.h, "m", "staging", "u1", &pv, NULL, 0, NULL),
                  MLOPS_ENOTFOUND, "staging");
    assert_ok(mlops_model_history(ts.h, "m", 0, &out));
    v = parse(out);
    assert_true(json_array_size(v) >= 5);
    json_t *last = json_array_get(v, json_array_size(v) - 1);
    assert_string_equal(json_string_value(json_object_get(last, "action")), "remove_alias");
    assert_string_equal(json_string_value(json_object_get(last, "reason")), "cleanup");
    json_decref(v);
    /* The audit log is append-only, enforced by the store itself. */
    sqlite3 *db = mlops__store_lock(ts.h->store);
    char *err = NULL;
    assert_int_not_equal(sqlite3_exec(db, "UPDATE model_audit SET reason='x'", NULL, NULL, &err),
                         SQLITE_OK);
    assert_non_null(strstr(err, "append-only"));
    sqlite3_free(err);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM model_audit", NULL, NULL, &err),
                         SQLITE_OK);
    sqlite3_free(err);
    mlops__store_unlock(ts.h->store);
    test_store_close(&ts);
}

static void search_filters(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    reg(ts.h, "fraud-eu", "{\"uri\": \"s3://1\", \"metrics\": {\"auc\": 0.85}, \"tags\":"
                          " {\"team\": \"risk\"}}");
    reg(ts.h, "fraud-eu", "{\"uri\": \"s3://2\", \"metrics\": {\"auc\": 0.93, \"test\":"
                          " {\"auc\": 0.91}}, \"tags\": {\"team\": \"risk\"},"
                          " \"params\": {\"depth\": 6}}");
    reg(ts.h, "fraud-us", "{\"uri\": \"s3://3\", \"metrics\": {\"auc\": 0.95}, \"tags\":"
                          " {\"team\": \"growth\"}}");
    reg(ts.h, "churn", "{\"uri\": \"s3://4\", \"metrics\": {\"auc\": 0.99}}");
    assert_ok(mlops_model_promote(ts.h, "fraud-eu", 1, "production", 0, NULL, NULL));
    static const struct {
        const char *filter;
        int n;
    } cases[] = {
        {"name LIKE 'fraud%' AND tags.team = 'risk'", 2},
        {"metrics.auc > 0.9", 3},
        {"metrics.auc > 0.9 AND name LIKE 'fraud%'", 2},
        {"(name = 'churn' OR tags.team = 'growth') AND version >= 1", 2},
        {"version IN (2, 3)", 1},
        {"name IN ('churn', 'fraud-us')", 2},
        {"name NOT IN ('churn')", 3},
        {"metrics.test.auc >= 0.91", 1},
        {"params.depth = 6", 1},
        {"tags.team IS NULL", 1},
        {"NOT name LIKE 'fraud%'", 1},
        {"alias = 'production'", 1},
        {"status = 'ready' and uri != 's3://4'", 3},
        /* A value is data, never SQL. */
        {"name = 'x'' OR 1=1 --'", 0},
        {"name = 'fraud-eu'; DROP TABLE models'", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        int rc = mlops_model_search(ts.h, cases[i].filter, 0, &out);
        if (cases[i].n < 0) {
            assert_int_equal(rc, MLOPS_EPARSE);
            continue;
        }
        if (rc != MLOPS_OK)
            print_error("filter %s: %s\n", cases[i].filter, mlops_last_error());
        assert_int_equal(rc, MLOPS_OK);
        json_t *v = parse(out);
        if ((int)json_array_size(v) != cases[i].n)
            print_error("filter %s: %zu results\n", cases[i].filter, json_array_size(v));
        assert_int_equal(json_array_size(v), cases[i].n);
        json_decref(v);
    }
    char *out = NULL;
    assert_ok(mlops_model_search(ts.h, NULL, 2, &out));
    json_t *v = parse(out);
    assert_int_equal(json_array_size(v), 2);
    json_decref(v);
    /* Parse errors give the column. */
    assert_status(mlops_model_search(ts.h, "name = ", 0, &out), MLOPS_EPARSE, "column 8");
    assert_status(mlops_model_search(ts.h, "colour = 'red'", 0, &out), MLOPS_EPARSE,
                  "unknown field 'colour' (name");
    assert_status(mlops_model_search(ts.h, "metrics.a\"b = 1", 0, &out), MLOPS_EPARSE, "column");
    assert_status(mlops_model_search(ts.h, "(name = 'a'", 0, &out), MLOPS_EPARSE, "')'");
    assert_status(mlops_model_search(ts.h, "name = 'a", 0, &out), MLOPS_EPARSE, "unterminated");
    assert_status(mlops_model_search(ts.h, "alias > 'a'", 0, &out), MLOPS_EPARSE, "alias");
    assert_status(mlops_model_search(ts.h, "metrics.a.b.c = 1", 0, &out), MLOPS_EPARSE,
                  "two levels");
    /* Tables still there. */
    assert_ok(mlops_model_list(ts.h, &out));
    v = parse(out);
    assert_int_equal(json_array_size(v), 3);
    json_decref(v);
    test_store_close(&ts);
}

typedef struct reg_arg {
    mlops_t *h;
    int64_t got[50];
} reg_arg;

static void *register_many(void *p)
{
    reg_arg *a = p;
    for (int i = 0; i < 50; i++)
        if (mlops_model_register(a->h, "busy", "{\"uri\": \"s3://x\"}", &a->got[i]) != MLOPS_OK)
            a->got[i] = -1;
    return NULL;
}

static void concurrent_versions_are_gap_free(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"busy_timeout_ms\": 20000}");
    /* Two threads on one handle and a child process on its own handle. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        mlops_t *h = NULL;
        int ok = mlops_open(ts.db_path, "{\"busy_timeout_ms\": 20000}", &h) == MLOPS_OK;
        for (int i = 0; ok && i < 50; i++) {
            int64_t v;
            ok = mlops_model_register(h, "busy", "{\"uri\": \"s3://c\"}", &v) == MLOPS_OK;
        }
        mlops_close(h);
        _exit(ok ? 0 : 1);
    }
    reg_arg a1 = {ts.h, {0}}, a2 = {ts.h, {0}};
    pthread_t t1, t2;
    pthread_create(&t1, NULL, register_many, &a1);
    pthread_create(&t2, NULL, register_many, &a2);
    pthread_join(t1, NULL);
    pthread_join(t2, NULL);
    int status = 0;
    waitpid(pid, &status, 0);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    char seen[151] = {0};
    for (int i = 0; i < 50; i++) {
        assert_true(a1.got[i] >= 1 && a1.got[i] <= 150 && a2.got[i] >= 1 && a2.got[i] <= 150);
        seen[a1.got[i]]++;
        seen[a2.got[i]]++;
    }
    for (int i = 1; i <= 150; i++)
        assert_true(seen[i] <= 1);
    char *out = NULL;
    assert_ok(mlops_model_search(ts.h, "name = 'busy'", 0, &out));
    json_t *v = parse(out);
    assert_int_equal(json_array_size(v), 150);
    for (size_t i = 0; i < 150; i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(v, i), "version")),
                         (json_int_t)i + 1);
    json_decref(v);
    test_store_close(&ts);
}

static void config_keys(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_status(mlops_open(":memory:", "{\"models\": {\"refresh\": 1}}", &h), MLOPS_ECONFIG,
                  "config.models: unknown key 'refresh'");
    assert_status(mlops_open(":memory:", "{\"models\": {\"flush_every\": 0}}", &h),
                  MLOPS_ECONFIG, "flush_every");
    assert_ok(mlops_open(":memory:", "{\"models\": {\"refresh_ms\": 0, \"flush_every\": 1}}",
                         &h));
    mlops_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions_and_refs),
        cmocka_unit_test(artifact_hash_and_verify),
        cmocka_unit_test(aliases_and_audit),
        cmocka_unit_test(search_filters),
        cmocka_unit_test(concurrent_versions_are_gap_free),
        cmocka_unit_test(config_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
