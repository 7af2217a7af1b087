/* One handle, many threads: picks, observations, actions and registrations at once. */
#include "test_support.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct shared {
    mlops_t *h;
    atomic_int stop;
    atomic_int failures;
    atomic_long observed;
} shared;

static void *picker(void *p)
{
    shared *s = p;
    char key[32];
    for (int i = 0; !atomic_load(&s->stop) && i < 20000; i++) {
        snprintf(key, sizeof key, "u%d", i);
        int64_t v = 0;
        int32_t sh[2];
        size_t n = 0;
        if (mlops_deploy_pick(s->h, "m", "production", key, &v, sh, 2, &n) != MLOPS_OK ||
            (v != 1 && v != 2))
            atomic_fetch_add(&s->failures, 1);
    }
    return NULL;
}

static void *observer(void *p)
{
    shared *s = p;
    for (int i = 0; i < 3000; i++) {
        int rc = mlops_deploy_observe_value(s->h, "m", 2, "error_rate", 0);
        if (rc == MLOPS_OK)
            atomic_fetch_add(&s->observed, 1);
        else if (rc != MLOPS_ESTATE)
            atomic_fetch_add(&s->failures, 1);
    }
    return NULL;
}

static void *operator(void *p)
{
    shared *s = p;
    for (int i = 0; i < 20; i++) {
        char *out = NULL;
        if (mlops_deploy_status(s->h, "m", "production", &out) != MLOPS_OK)
            atomic_fetch_add(&s->failures, 1);
        mlops_free(out);
        int64_t v;
        if (mlops_model_register(s->h, "other", "{\"uri\": \"s3://o\"}", &v) != MLOPS_OK)
            atomic_fetch_add(&s->failures, 1);
    }
    return NULL;
}

static void threads_share_deployments(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"busy_timeout_ms\": 20000, \"models\": {\"flush_every\": 50,"
                         " \"refresh_ms\": 0}}");
    int64_t v;
    for (int i = 0; i < 2; i++)
        assert_ok(mlops_model_register(ts.h, "m", "{\"uri\": \"s3://m\"}", &v));
    assert_ok(mlops_model_promote(ts.h, "m", 1, "production", 0, NULL, NULL));
    char *out = NULL;
    assert_ok(mlops_deploy_start(ts.h, "m", "production",
                                 "{\"strategy\": \"canary\", \"candidate\": 2, \"steps\":"
                                 " [10, 50, 100], \"min_observations\": 1000, \"analysis\":"
                                 " [\"error_rate <= 0.1\"]}", &out));
    mlops_free(out);
    shared s = {ts.h, 0, 0, 0};
    pthread_t t[5];
    pthread_create(&t[0], NULL, picker, &s);
    pthread_create(&t[1], NULL, picker, &s);
    pthread_create(&t[2], NULL, observer, &s);
    pthread_create(&t[3], NULL, observer, &s);
    pthread_create(&t[4], NULL, operator, &s);
    for (int i = 2; i < 5; i++)
        pthread_join(t[i], NULL);
    atomic_store(&s.stop, 1);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    assert_int_equal(atomic_load(&s.failures), 0);
    /* 6000 observations of a good candidate, 1000 per step: promoted. */
    assert_ok(mlops_deploy_status(ts.h, "m", "production", &out));
    assert_non_null(strstr(out, "\"state\":\"promoted\""));
    mlops_free(out);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_share_deployments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
