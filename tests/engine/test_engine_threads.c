/* Threads: identical logits at 1/2/3 threads (prefill and decode), seeded sampling. */
#include "model_helpers.h"

#include <pthread.h>

static void threads_give_identical_logits(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    char *q = test_path(dir, "q4km.gguf");
    assert_ok(mlops_gguf_quantize(p, q, "Q4_K_M"));
    const char *paths[] = {p, q};
    for (int k = 0; k < 2; k++) {
        float *base[2] = {NULL, NULL};
        for (int th = 1; th <= 3; th++) {
            mlops__model *m = load(paths[k], th, false);
            size_t n = (size_t)(NT * mlops__model_n_vocab(m)) * sizeof(float);
            for (int b = 0; b < 2; b++) {
                float *l = engine_logits(m, b == 0);
                if (!base[b])
                    base[b] = l;
                else {
                    assert_memory_equal(base[b], l, n);
                    free(l);
                }
            }
            mlops__model_free(m);
        }
        free(base[0]), free(base[1]);
    }
    free(p), free(q);
}

static void seeded_sampling_is_reproducible(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    int32_t first[16] = {0};
    for (int run = 0; run < 4; run++) {
        mlops__model *m = load(p, run % 2 + 1, false);
        mlops__ctx *c;
        assert_ok(mlops__ctx_new(m, &c));
        mlops__sampling sp;
        mlops__sampling_defaults(&sp);
        sp.temperature = 1.0f;
        sp.top_k = 50;
        sp.top_p = 0.9f;
        sp.min_p = 0.01f;
        sp.repeat_penalty = 1.1f;
        sp.frequency_penalty = 0.1f;
        sp.presence_penalty = 0.1f;
        sp.seed = 1234;
        mlops__sampler *s;
        assert_ok(mlops__sampler_new(&sp, mlops__model_n_vocab(m), &s));
        mlops__gen_opts go = {.max_tokens = 16, .ignore_eos = true};
        mlops__gen_result res;
        assert_ok(mlops__generate(c, s, TOKS, 5, &go, NULL, NULL, &res));
        assert_int_equal(res.n_gen, 16);
        if (run == 0)
            memcpy(first, res.ids, sizeof first);
        else
            assert_memory_equal(first, res.ids, sizeof first);
        free(res.text), free(res.ids);
        mlops__sampler_free(s);
        mlops__ctx_free(c);
        mlops__model_free(m);
    }
    free(p);
}

typedef struct worker {
    mlops_engine_model_t *m;
    char *text;
    int rc;
} worker;

static void *gen_thread(void *arg)
{
    worker *w = arg;
    mlops_engine_session_t *s = NULL;
    char *out = NULL;
    w->rc = mlops_engine_session_new(w->m, NULL, &s);
    if (w->rc == MLOPS_OK)
        w->rc = mlops_engine_generate(s, "hello world", "{\"temperature\": 0.7, \"seed\": 5, \"max_tokens\": 12, "
                                      "\"ignore_eos\": true}", NULL, NULL, &out);
    json_t *j = out ? json_loads(out, 0, NULL) : NULL;
    w->text = j ? strdup(json_string_value(json_object_get(j, "text"))) : NULL;
    json_decref(j);
    mlops_free(out);
    mlops_engine_session_free(s);
    return NULL;
}

/* One model, several sessions generating at once from different threads. */
static void sessions_share_a_model(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    mlops_engine_model_t *m = NULL;
    assert_ok(mlops_engine_model_load(p, "{\"threads\": 2, \"n_ctx\": 64}", &m));
    worker solo = {m, NULL, 0};
    gen_thread(&solo);
    assert_ok(solo.rc);
    worker w[3];
    pthread_t th[3];
    for (int i = 0; i < 3; i++) {
        w[i] = (worker){m, NULL, 0};
        assert_int_equal(pthread_create(&th[i], NULL, gen_thread, &w[i]), 0);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_ok(w[i].rc);
        assert_string_equal(w[i].text, solo.text);
        free(w[i].text);
    }
    free(solo.text);
    mlops_engine_model_free(m);
    free(p);
}

int main(void)
{
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(threads_give_identical_logits),
        cmocka_unit_test(seeded_sampling_is_reproducible),
        cmocka_unit_test(sessions_share_a_model),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    return rc;
}
