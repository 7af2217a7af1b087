/*
 * The forward pass against a double-precision reference: F32 within ~1e-5, every
 * quantized type against its own dequantised weights, prefill == token-by-token decode,
 * greedy decoding, the sampler. (Thread-count identity: test_engine_threads.c.)
 */
#include "test_support.h"

#include "ref_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model_helpers.h"

/* max |a - b| / max |b| over all logits */
static double rel_err(const float *a, const double *b, size_t n)
{
    double md = 0, mb = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs(a[i] - b[i]);
        if (d > md)
            md = d;
        if (fabs(b[i]) > mb)
            mb = fabs(b[i]);
    }
    return md / mb;
}

static void check_against_ref(const char *path, bool kv_f32, double tol, const char *what)
{
    ref_model r;
    assert_int_equal(ref_load(path, &r), 0);
    double *want = malloc(sizeof(double) * (size_t)(NT * r.V));
    ref_forward(&r, TOKS, NT, want);
    mlops__model *m = load(path, 2, kv_f32);
    float *got = engine_logits(m, true);
    double e = rel_err(got, want, (size_t)(NT * r.V));
    float *got1 = engine_logits(m, false);
    double e1 = rel_err(got1, want, (size_t)(NT * r.V));
    printf("%-28s prefill rel err %.2e, decode rel err %.2e (bound %.0e)\n", what, e, e1, tol);
    assert_true(e < tol);
    assert_true(e1 < tol);
    free(got), free(got1), free(want);
    mlops__model_free(m);
    ref_free(&r);
}

static void f32_matches_reference(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    check_against_ref(p, true, 2e-5, "llama F32, KV F32");
    check_against_ref(p, false, 5e-3, "llama F32, KV F16");
    free(p);
    p = synth("qwen.gguf", QWEN);
    check_against_ref(p, true, 2e-5, "qwen2 F32 (tied), KV F32");
    free(p);
}

static void quantized_match_dequantized_reference(void **state)
{
    (void)state;
    char *p = synth("base.gguf", LLAMA);
    /* Activations are rounded to 8-bit blocks on the fly: a few percent of the logit
       range at most on random weights. */
    const struct {
        const char *type;
        double tol;
    } types[] = {{"F16", 1e-4}, {"Q8_0", 3e-2}, {"Q4_0", 5e-2}, {"Q4_1", 5e-2}, {"Q5_0", 5e-2},
                 {"Q5_1", 5e-2}, {"Q4_K_M", 5e-2}, {"Q5_K_M", 5e-2}, {"Q6_K", 5e-2}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char name[64];
        snprintf(name, sizeof name, "q-%s.gguf", types[i].type);
        char *q = test_path(dir, name);
        assert_ok(mlops_gguf_quantize(p, q, types[i].type));
        check_against_ref(q, true, types[i].tol, types[i].type);
        free(q);
    }
    free(p);
}

static void greedy_matches_reference(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    ref_model r;
    assert_int_equal(ref_load(p, &r), 0);
    int32_t seq[32];
    int n = 4;
    memcpy(seq, TOKS, 4 * sizeof *seq);
    double *lg = malloc(sizeof(double) * 32 * (size_t)r.V);
    for (int step = 0; step < 8; step++) {
        ref_forward(&r, seq, n, lg);
        const double *last = lg + (size_t)(n - 1) * r.V;
        int best = 0;
        for (int i = 1; i < r.V; i++)
            if (last[i] > last[best])
                best = i;
        seq[n++] = best;
    }
    mlops__model *m = load(p, 2, true);
    mlops__ctx *c;
    assert_ok(mlops__ctx_new(m, &c));
    mlops__sampling sp;
    mlops__sampling_defaults(&sp);
    sp.temperature = 0;
    mlops__sampler *s;
    assert_ok(mlops__sampler_new(&sp, mlops__model_n_vocab(m), &s));
    mlops__gen_opts go = {.max_tokens = 8, .ignore_eos = true};
    mlops__gen_result res;
    assert_ok(mlops__generate(c, s, seq, 4, &go, NULL, NULL, &res));
    assert_int_equal(res.n_gen, 8);
    for (int i = 0; i < 8; i++)
        assert_int_equal(res.ids[i], seq[4 + i]);
    free(res.text), free(res.ids);
    mlops__sampler_free(s);
    mlops__ctx_free(c);
    mlops__model_free(m);
    free(lg);
    ref_free(&r);
    free(p);
}

static void sampler_basics(void **state)
{
    (void)state;
    float logits[8] = {0.1f, 5.0f, 0.3f, 4.9f, -2.0f, 0.0f, 1.0f, 5.0f};
    mlops__sampling sp;
    mlops__sampling_defaults(&sp);
    sp.temperature = 0;
    mlops__sampler *s;
    assert_ok(mlops__sampler_new(&sp, 8, &s));
    assert_int_equal(mlops__sampler_sample(s, logits), 1); /* lowest id on ties */
    mlops__sampler_free(s);
    /* top_k 1 is greedy whatever the temperature */
    sp.temperature = 2.0f;
    sp.top_k = 1;
    assert_ok(mlops__sampler_new(&sp, 8, &s));
    for (int i = 0; i < 20; i++)
        assert_int_equal(mlops__sampler_sample(s, logits), 1);
    mlops__sampler_free(s);
    /* a strong repetition penalty moves greedy away from a repeated token */
    sp.temperature = 0;
    sp.repeat_penalty = 10.0f;
    assert_ok(mlops__sampler_new(&sp, 8, &s));
    mlops__sampler_accept(s, 1);
    mlops__sampler_accept(s, 7);
    assert_int_equal(mlops__sampler_sample(s, logits), 3);
    mlops__sampler_free(s);
    /* min_p keeps only tokens near the best: samples stay in {1, 3, 7} */
    sp.repeat_penalty = 1.0f;
    sp.temperature = 1.0f;
    sp.top_k = 0;
    sp.top_p = 1.0f;
    sp.min_p = 0.5f;
    sp.seed = 3;
    assert_ok(mlops__sampler_new(&sp, 8, &s));
    for (int i = 0; i < 50; i++) {
        int32_t id = mlops__sampler_sample(s, logits);
        assert_true(id == 1 || id == 3 || id == 7);
    }
    mlops__sampler_free(s);
}

typedef struct copy_ctx {
    mlops__gguf *g;
} copy_ctx;

static int copy_tensor(void *user, size_t index, void *dst, size_t nbytes)
{
    copy_ctx *c = user;
    memcpy(dst, c->g->tensors[index].data, nbytes);
    return MLOPS_OK;
}

/* Rewrites a model with extra rope keys (linear scaling, or an unsupported kind). */
static char *with_rope_scaling(const char *src, const char *name, const char *kind, float factor)
{
    mlops__gguf *g;
    assert_ok(mlops__gguf_open(src, &g));
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    for (uint64_t i = 0; i < g->n_kv; i++)
        mlops__gguf_w_copy(w, g, &g->kv[i]);
    mlops__gguf_w_str(w, "llama.rope.scaling.type", kind);
    mlops__gguf_w_f32(w, "llama.rope.scaling.factor", factor);
    for (uint64_t i = 0; i < g->n_tensors; i++)
        assert_ok(mlops__gguf_w_tensor(w, g->tensors[i].name, g->tensors[i].type, g->tensors[i].n_dims,
                                       g->tensors[i].ne, NULL));
    char *p = test_path(dir, name);
    copy_ctx c = {g};
    assert_ok(mlops__gguf_w_write(w, p, copy_tensor, &c));
    mlops__gguf_writer_free(w);
    mlops__gguf_close(g);
    return p;
}

static void rope_scaling_from_the_file(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    char *lin = with_rope_scaling(p, "linear.gguf", "linear", 4.0f);
    check_against_ref(lin, true, 2e-5, "llama F32, linear rope x4");
    char *yarn = with_rope_scaling(p, "yarn.gguf", "yarn", 4.0f);
    mlops_engine_model_t *m = NULL;
    assert_status(mlops_engine_model_load(yarn, NULL, &m), MLOPS_EUNSUPPORTED, "rope scaling 'yarn'");
    free(p), free(lin), free(yarn);
}

/* A prompt longer than one batch (256) and the context limit. */
static void long_prompts_and_context_end(void **state)
{
    (void)state;
    char *p = synth("llama.gguf", LLAMA);
    mlops__model_opts o = {2, 320, 1, 0};
    mlops__model *m = NULL;
    assert_ok(mlops__model_load(p, &o, &m));
    int V = mlops__model_n_vocab(m), T = 300;
    int32_t *tok = malloc(sizeof(int32_t) * (size_t)T);
    for (int i = 0; i < T; i++)
        tok[i] = (int32_t)((i * 37 + 11) % V);
    mlops__ctx *c;
    assert_ok(mlops__ctx_new(m, &c));
    assert_ok(mlops__ctx_eval(c, tok, (size_t)T, true));
    size_t rows;
    const float *all = mlops__ctx_logits(c, &rows);
    assert_int_equal(rows, T);
    float *batch = malloc(sizeof(float) * (size_t)T * (size_t)V);
    memcpy(batch, all, sizeof(float) * (size_t)T * (size_t)V);
    mlops__ctx_reset(c);
    double md = 0, mb = 0;
    for (int t = 0; t < T; t++) {
        assert_ok(mlops__ctx_eval(c, &tok[t], 1, false));
        const float *l = mlops__ctx_logits(c, NULL);
        for (int i = 0; i < V; i++) {
            double d = fabs((double)l[i] - batch[(size_t)t * V + i]);
            md = d > md ? d : md;
            mb = fabs(l[i]) > mb ? fabs(l[i]) : mb;
        }
    }
    printf("300-token prefill (2 batches) vs decode: rel diff %.2e\n", md / mb);
    assert_true(md / mb < 1e-5);
    /* the context is full at 320 positions */
    assert_status(mlops__ctx_eval(c, tok, 21, false), MLOPS_ELIMIT, "exceed the context");
    int32_t bad = V;
    mlops__ctx_reset(c);
    assert_status(mlops__ctx_eval(c, &bad, 1, false), MLOPS_EINVAL, "outside the vocabulary");
    /* generation stops with "length" at the end of the context */
    mlops__ctx_reset(c);
    mlops__sampling sp;
    mlops__sampling_defaults(&sp);
    sp.temperature = 0;
    mlops__sampler *s;
    assert_ok(mlops__sampler_new(&sp, V, &s));
    mlops__gen_opts go = {.max_tokens = 100, .ignore_eos = true};
    mlops__gen_result res;
    assert_ok(mlops__generate(c, s, tok, 300, &go, NULL, NULL, &res));
    assert_string_equal(res.finish, "length");
    assert_int_equal(res.n_gen, 21);
    free(res.text), free(res.ids);
    mlops__sampler_free(s);
    mlops__ctx_free(c);
    mlops__model_free(m);
    free(batch), free(tok), free(p);
}

static void bad_models_are_refused(void **state)
{
    (void)state;
    char *p = test_path(dir, "vocab.gguf");
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    mlops__gguf_w_str(w, "general.architecture", "gptx");
    const char *toks[] = {"a", "b"};
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 2);
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.merges", toks, 0);
    assert_ok(mlops__gguf_w_write(w, p, NULL, NULL));
    mlops__gguf_writer_free(w);
    mlops_engine_model_t *m = NULL;
    assert_status(mlops_engine_model_load(p, NULL, &m), MLOPS_EUNSUPPORTED, "general.architecture");
    assert_ok(mlops_engine_model_load(p, "{\"vocab_only\": true}", &m));
    mlops_engine_session_t *s = NULL;
    assert_status(mlops_engine_session_new(m, NULL, &s), MLOPS_EINVAL, "vocab_only");
    mlops_engine_model_free(m);
    assert_status(mlops_engine_model_load(p, "{\"threads\": 0}", &m), MLOPS_EINVAL, "threads");
    assert_status(mlops_engine_model_load(p, "{\"kv_type\": \"f8\"}", &m), MLOPS_EINVAL, "kv_type");
    assert_status(mlops_engine_model_load(p, "{\"bogus\": 1}", &m), MLOPS_EINVAL, "bogus");
    free(p);
}

int main(void)
{
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(f32_matches_reference),
        cmocka_unit_test(quantized_match_dequantized_reference),
        cmocka_unit_test(greedy_matches_reference),
        cmocka_unit_test(sampler_basics),
        cmocka_unit_test(rope_scaling_from_the_file),
        cmocka_unit_test(long_prompts_and_context_end),
        cmocka_unit_test(bad_models_are_refused),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    return rc;
}
