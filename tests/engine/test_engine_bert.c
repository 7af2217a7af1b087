/* BERT encoder embeddings against a double-precision reference (mean and CLS pooling). */
#include "test_support.h"

#include "engine/engine.h"
#include "engine/quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { E = 64, H = 4, F = 128, L = 2, V = 12, CTX = 32, TYPES = 2 };

static char *dir;

typedef struct tens {
    char name[64];
    int64_t ne[2];
    int nd;
    float *d;
} tens;

static tens T_[64];
static int nt;
static uint64_t rng = 99;

static float rnd(void)
{
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(rng >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

static float *add(const char *name, int64_t n, int64_t rows, float scale, float base)
{
    tens *t = &T_[nt++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->ne[0] = n;
    t->ne[1] = rows;
    t->nd = rows > 0 ? 2 : 1;
    size_t cnt = (size_t)(n * (rows > 0 ? rows : 1));
    t->d = malloc(cnt * sizeof(float));
    for (size_t i = 0; i < cnt; i++)
        t->d[i] = base + scale * rnd();
    return t->d;
}

static const float *get(const char *name)
{
    for (int i = 0; i < nt; i++)
        if (strcmp(T_[i].name, name) == 0)
            return T_[i].d;
    return NULL;
}

static char *write_bert(int pooling)
{
    nt = 0;
    rng = 99;
    add("token_embd.weight", E, V, 0.5f, 0);
    add("position_embd.weight", E, CTX, 0.2f, 0);
    add("token_types.weight", E, TYPES, 0.2f, 0);
    add("token_embd_norm.weight", E, 0, 0.1f, 1);
    add("token_embd_norm.bias", E, 0, 0.1f, 0);
    for (int l = 0; l < L; l++) {
        char n[64];
#define A(nm, nn, rows, s, b) (snprintf(n, sizeof n, "blk.%d." nm, l), add(n, nn, rows, s, b))
        A("attn_q.weight", E, E, 0.2f, 0);
        A("attn_k.weight", E, E, 0.2f, 0);
        A("attn_v.weight", E, E, 0.2f, 0);
        A("attn_output.weight", E, E, 0.2f, 0);
        A("ffn_up.weight", E, F, 0.2f, 0);
        A("ffn_down.weight", F, E, 0.1f, 0);
        A("attn_q.bias", E, 0, 0.1f, 0);
        A("attn_k.bias", E, 0, 0.1f, 0);
        A("attn_v.bias", E, 0, 0.1f, 0);
        A("attn_output.bias", E, 0, 0.1f, 0);
        A("ffn_up.bias", F, 0, 0.1f, 0);
        A("ffn_down.bias", E, 0, 0.1f, 0);
        A("attn_output_norm.weight", E, 0, 0.1f, 1);
        A("attn_output_norm.bias", E, 0, 0.1f, 0);
        A("layer_output_norm.weight", E, 0, 0.1f, 1);
        A("layer_output_norm.bias", E, 0, 0.1f, 0);
#undef A
    }
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    mlops__gguf_w_str(w, "general.architecture", "bert");
    mlops__gguf_w_u32(w, "bert.embedding_length", E);
    mlops__gguf_w_u32(w, "bert.block_count", L);
    mlops__gguf_w_u32(w, "bert.feed_forward_length", F);
    mlops__gguf_w_u32(w, "bert.attention.head_count", H);
    mlops__gguf_w_u32(w, "bert.context_length", CTX);
    mlops__gguf_w_u32(w, "bert.pooling_type", (uint32_t)pooling);
    mlops__gguf_w_f32(w, "bert.attention.layer_norm_epsilon", 1e-12f);
    const char *toks[V] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "\xe2\x96\x81hello", "\xe2\x96\x81world", "\xe2\x96\x81the",
                           "\xe2\x96\x81" "cat", "s", "\xe2\x96\x81,", "\xe2\x96\x81sat", "\xe2\x96\x81mat"};
    int32_t ty[V] = {3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "bert");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, V);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, V);
    mlops__gguf_w_u32(w, "tokenizer.ggml.cls_token_id", 2);
    mlops__gguf_w_u32(w, "tokenizer.ggml.seperator_token_id", 3);
    mlops__gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    for (int i = 0; i < nt; i++)
        assert_ok(mlops__gguf_w_tensor(w, T_[i].name, MLOPS__T_F32, (uint32_t)T_[i].nd, T_[i].ne, T_[i].d));
    char name[32];
    snprintf(name, sizeof name, "bert%d.gguf", pooling);
    char *p = test_path(dir, name);
    assert_ok(mlops__gguf_w_write(w, p, NULL, NULL));
    mlops__gguf_writer_free(w);
    return p;
}

static void ref_ln(double *x, const float *w, const float *b, int n)
{
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    double s = 1.0 / sqrt(var / n + 1e-12);
    for (int i = 0; i < n; i++)
        x[i] = (x[i] - mean) * s * w[i] + b[i];
}

static void ref_mv(const float *W, const float *b, const double *x, int n, int rows, double *y)
{
    for (int r = 0; r < rows; r++) {
        double s = b[r];
        for (int i = 0; i < n; i++)
            s += (double)W[(size_t)r * n + i] * x[i];
        y[r] = s;
    }
}

static void ref_bert(const int32_t *ids, int T, int pooling, double *out)
{
    static double x[CTX][E], q[CTX][E], k[CTX][E], v[CTX][E], a[CTX][E], o[E], h[F];
    const float *te = get("token_embd.weight"), *pe = get("position_embd.weight"), *ty = get("token_types.weight");
    for (int t = 0; t < T; t++) {
        for (int i = 0; i < E; i++)
            x[t][i] = (double)te[ids[t] * E + i] + pe[t * E + i] + ty[i];
        ref_ln(x[t], get("token_embd_norm.weight"), get("token_embd_norm.bias"), E);
    }
    for (int l = 0; l < L; l++) {
        char n1[64], n2[64];
#define W(nm) (snprintf(n1, sizeof n1, "blk.%d." nm ".weight", l), get(n1))
#define B(nm) (snprintf(n2, sizeof n2, "blk.%d." nm ".bias", l), get(n2))
        for (int t = 0; t < T; t++) {
            ref_mv(W("attn_q"), B("attn_q"), x[t], E, E, q[t]);
            ref_mv(W("attn_k"), B("attn_k"), x[t], E, E, k[t]);
            ref_mv(W("attn_v"), B("attn_v"), x[t], E, E, v[t]);
        }
        int hd = E / H;
        for (int t = 0; t < T; t++)
            for (int hh = 0; hh < H; hh++) {
                double sc[CTX], mx = -1e300, sum = 0;
                for (int p = 0; p < T; p++) {
                    double s = 0;
                    for (int d = 0; d < hd; d++)
                        s += q[t][hh * hd + d] * k[p][hh * hd + d];
                    sc[p] = s / sqrt((double)hd);
                    mx = sc[p] > mx ? sc[p] : mx;
                }
                for (int p = 0; p < T; p++)
                    sum += (sc[p] = exp(sc[p] - mx));
                for (int d = 0; d < hd; d++) {
                    double s = 0;
                    for (int p = 0; p < T; p++)
                        s += sc[p] / sum * v[p][hh * hd + d];
                    a[t][hh * hd + d] = s;
                }
            }
        for (int t = 0; t < T; t++) {
            ref_mv(W("attn_output"), B("attn_output"), a[t], E, E, o);
            for (int i = 0; i < E; i++)
                x[t][i] += o[i];
            ref_ln(x[t], W("attn_output_norm"), B("attn_output_norm"), E);
            ref_mv(W("ffn_up"), B("ffn_up"), x[t], E, F, h);
            for (int i = 0; i < F; i++)
                h[i] = 0.5 * h[i] * (1 + erf(h[i] / sqrt(2.0)));
            ref_mv(W("ffn_down"), B("ffn_down"), h, F, E, o);
            for (int i = 0; i < E; i++)
                x[t][i] += o[i];
            ref_ln(x[t], W("layer_output_norm"), B("layer_output_norm"), E);
        }
#undef W
#undef B
    }
    for (int i = 0; i < E; i++) {
        double s = 0;
        for (int t = 0; t < (pooling == 2 ? 1 : T); t++)
            s += x[t][i];
        out[i] = pooling == 2 ? s : s / T;
    }
}

static void bert_matches_reference(void **state)
{
    (void)state;
    for (int pooling = 1; pooling <= 2; pooling++) {
        char *p = write_bert(pooling);
        mlops_engine_model_t *m = NULL;
        assert_ok(mlops_engine_model_load(p, "{\"threads\": 2}", &m));
        int32_t ids[16];
        size_t n = 0;
        assert_ok(mlops_engine_tokenize(m, "Hello world, the cats sat", NULL, ids, 16, &n));
        int32_t want_ids[] = {2, 4, 5, 9, 6, 7, 8, 10, 3};
        assert_int_equal(n, 9);
        assert_memory_equal(ids, want_ids, sizeof want_ids);
        float got[E];
        assert_ok(mlops_engine_embed(m, "Hello world, the cats sat", "{\"normalize\": false}", got, E, &n));
        assert_int_equal(n, E);
        double want[E], md = 0, mw = 0;
        ref_bert(want_ids, 9, pooling, want);
        for (int i = 0; i < E; i++) {
            md = fabs(got[i] - want[i]) > md ? fabs(got[i] - want[i]) : md;
            mw = fabs(want[i]) > mw ? fabs(want[i]) : mw;
        }
        printf("bert pooling %d: rel err %.2e\n", pooling, md / mw);
        assert_true(md / mw < 1e-5);
        mlops_engine_session_t *s = NULL;
        assert_status(mlops_engine_session_new(m, NULL, &s), MLOPS_EUNSUPPORTED, "embeds");
        mlops_engine_model_free(m);
        free(p);
        for (int i = 0; i < nt; i++)
            free(T_[i].d);
    }
}

int main(void)
{
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bert_matches_reference),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    return rc;
}
