/*
 * Synthetic models: a llama or qwen2 GGUF with seeded random weights and a synthetic
 * vocabulary (SentencePiece-style with byte fallback, or byte-level BPE with merges), so
 * tests and benchmarks need no downloads. The same options and seed always give the
 * same file. Other engines can load it: names and keys are GGUF's.
 */
#include "vocab.h"
#include "quant.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mlops__synth_defaults(mlops__synth_opts *o)
{
    memset(o, 0, sizeof *o);
    o->arch = "llama";
    o->n_embd = 256;
    o->n_layer = 2;
    o->n_head = 4;
    o->n_head_kv = 2;
    o->n_ff = 512;
    o->n_vocab = 1024;
    o->n_ctx = 2048;
    o->vocab = "spm";
    o->seed = 42;
    o->type = MLOPS__T_F32;
}

typedef struct strs {
    char **v;
    size_t n, cap;
} strs;

static int strs_add(strs *s, char *x)
{
    if (!x)
        return mlops__error_oom("synthetic vocabulary");
    if (s->n == s->cap) {
        size_t c = s->cap ? s->cap * 2 : 1024;
        char **p = realloc(s->v, c * sizeof *p);
        if (!p) {
            free(x);
            return mlops__error_oom("synthetic vocabulary");
        }
        s->v = p;
        s->cap = c;
    }
    s->v[s->n++] = x;
    return MLOPS_OK;
}

static void strs_free(strs *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

/* Words over a-z of growing length, each extending an earlier one by a letter. */
static int grow_words(strs *tok, strs *merges, size_t first, size_t target)
{
    int rc = MLOPS_OK;
    for (size_t i = first; tok->n < target && rc == MLOPS_OK; i++) {
        if (i >= tok->n)
            return mlops__error(MLOPS_EINVAL, "synth: vocabulary cannot grow");
        const char *base = tok->v[i];
        for (char ch = 'a'; ch <= 'z' && tok->n < target && rc == MLOPS_OK; ch++) {
            char one[2] = {ch, 0};
            if (merges)
                rc = strs_add(merges, mlops__sprintf("%s %s", base, one));
            if (rc == MLOPS_OK)
                rc = strs_add(tok, mlops__sprintf("%s%c", base, ch));
        }
    }
    return rc;
}

static int vocab_spm(mlops__gguf_writer *w, int n_vocab)
{
    strs t = {0};
    int rc = strs_add(&t, mlops__strdup("<unk>"));
    if (!rc) rc = strs_add(&t, mlops__strdup("<s>"));
    if (!rc) rc = strs_add(&t, mlops__strdup("</s>"));
    for (int b = 0; b < 256 && !rc; b++)
        rc = strs_add(&t, mlops__sprintf("<0x%02X>", b));
    size_t first = t.n;
    if (!rc) rc = strs_add(&t, mlops__strdup("\xe2\x96\x81"));
    for (char ch = 'a'; ch <= 'z' && !rc; ch++)
        rc = strs_add(&t, mlops__sprintf("%c", ch));
    for (char ch = 'A'; ch <= 'Z' && !rc; ch++)
        rc = strs_add(&t, mlops__sprintf("%c", ch));
    for (const char *p = "0123456789.,!?'-:;()"; *p && !rc; p++)
        rc = strs_add(&t, mlops__sprintf("%c", *p));
    if (!rc && (int)t.n > n_vocab)
        rc = mlops__error(MLOPS_EINVAL, "synth: n_vocab %d is below the %zu base tokens", n_vocab, t.n);
    if (!rc)
        rc = grow_words(&t, NULL, first, (size_t)n_vocab);
    if (rc) {
        strs_free(&t);
        return rc;
    }
    float *sc = malloc(t.n * sizeof *sc);
    int32_t *ty = malloc(t.n * sizeof *ty);
    if (!sc || !ty) {
        free(sc), free(ty), strs_free(&t);
        return mlops__error_oom("synthetic vocabulary");
    }
    for (size_t i = 0; i < t.n; i++) {
        size_t len = strlen(t.v[i]);
        sc[i] = i < first ? 0.0f : (float)len - (float)i / (float)t.n; /* longer pieces first */
        ty[i] = i == 0 ? MLOPS__TOK_UNKNOWN : i < 3 ? MLOPS__TOK_CONTROL : i < first ? MLOPS__TOK_BYTE
                                                                           : MLOPS__TOK_NORMAL;
    }
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "llama");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t.v, t.n);
    mlops__gguf_w_arr_f32(w, "tokenizer.ggml.scores", sc, t.n);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, t.n);
    mlops__gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
    mlops__gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
    mlops__gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    mlops__gguf_w_bool(w, "tokenizer.ggml.add_bos_token", true);
    mlops__gguf_w_bool(w, "tokenizer.ggml.add_eos_token", false);
    mlops__gguf_w_str(w, "tokenizer.chat_template",
                      "{% for m in messages %}{% if m['role'] == 'system' %}<<SYS>>\\n{{ m['content'] }}\\n<</SYS>>"
                      "{% elif m['role'] == 'user' %}[INST] {{ m['content'] }} [/INST]{% else %} {{ m['content'] }} </s>"
                      "{% endif %}{% endfor %}");
    free(sc), free(ty), strs_free(&t);
    return MLOPS_OK;
}

static int vocab_bpe(mlops__gguf_writer *w, int n_vocab)
{
    strs t = {0}, mg = {0};
    int rc = MLOPS_OK;
    for (int b = 0; b < 256 && !rc; b++) {
        char u[4];
        int l = mlops__utf8_encode(mlops__bpe_byte_to_cp((uint8_t)b), u);
        rc = strs_add(&t, mlops__strndup(u, (size_t)l));
    }
    /* "Ġ" (space) + letter, then longer words built by merges */
    size_t first = t.n;
    for (char ch = 'a'; ch <= 'z' && !rc; ch++) {
        rc = strs_add(&mg, mlops__sprintf("\xc4\xa0 %c", ch));
        if (!rc)
            rc = strs_add(&t, mlops__sprintf("\xc4\xa0%c", ch));
    }
    int specials = 3;
    if (!rc && n_vocab < (int)t.n + specials + 26)
        rc = mlops__error(MLOPS_EINVAL, "synth: n_vocab %d is too small for a BPE vocabulary", n_vocab);
    if (!rc)
        rc = grow_words(&t, &mg, first, (size_t)n_vocab - (size_t)specials);
    if (!rc) rc = strs_add(&t, mlops__strdup("<|endoftext|>"));
    if (!rc) rc = strs_add(&t, mlops__strdup("<|im_start|>"));
    if (!rc) rc = strs_add(&t, mlops__strdup("<|im_end|>"));
    int32_t *ty = rc ? NULL : malloc(t.n * sizeof *ty);
    if (!rc && !ty)
        rc = mlops__error_oom("synthetic vocabulary");
    if (rc) {
        strs_free(&t), strs_free(&mg);
        return rc;
    }
    for (size_t i = 0; i < t.n; i++)
        ty[i] = i + (size_t)specials >= t.n ? MLOPS__TOK_CONTROL : MLOPS__TOK_NORMAL;
    uint32_t eot = (uint32_t)(t.n - 3);
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
    mlops__gguf_w_str(w, "tokenizer.ggml.pre", "gpt-2");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)t.v, t.n);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, t.n);
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.merges", (const char *const *)mg.v, mg.n);
    mlops__gguf_w_u32(w, "tokenizer.ggml.bos_token_id", eot);
    mlops__gguf_w_u32(w, "tokenizer.ggml.eos_token_id", eot);
    mlops__gguf_w_bool(w, "tokenizer.ggml.add_bos_token", false);
    mlops__gguf_w_str(w, "tokenizer.chat_template",
                      "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
                      "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}");
    free(ty), strs_free(&t), strs_free(&mg);
    return MLOPS_OK;
}

typedef struct tinfo {
    char name[64];
    int type;
    int64_t ne[2];
    uint32_t n_dims;
    float scale; /* uniform in [-scale, scale]; 1-D: 1 + noise */
} tinfo;

typedef struct synth_ctx {
    tinfo *t;
    size_t n;
    uint64_t seed;
} synth_ctx;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int fill(void *user, size_t index, void *dst, size_t nbytes)
{
    synth_ctx *sc = user;
    const tinfo *t = &sc->t[index];
    uint64_t s = sc->seed ^ mlops__hash_str(t->name, 17);
    int64_t nel = t->ne[0] * (t->n_dims > 1 ? t->ne[1] : 1);
    float row[4096];
    for (int64_t i = 0; i < nel;) {
        int64_t k = nel - i < 4096 ? nel - i : 4096;
        for (int64_t j = 0; j < k; j++) {
            float u = (float)((double)(rng_next(&s) >> 11) * (2.0 / 9007199254740992.0) - 1.0);
            row[j] = t->n_dims == 1 ? 1.0f + 0.1f * u : t->scale * u;
        }
        if (t->type == MLOPS__T_F16)
            mlops__fp32_to_fp16_row(row, (uint16_t *)dst + i, k);
        else
            memcpy((float *)dst + i, row, (size_t)k * 4);
        i += k;
    }
    (void)nbytes;
    return MLOPS_OK;
}

static int add(mlops__gguf_writer *w, synth_ctx *sc, const char *name, int type, int64_t n,
               int64_t rows, float scale)
{
    tinfo *t = &sc->t[sc->n++];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = rows > 0 ? type : MLOPS__T_F32;
    t->ne[0] = n;
    t->ne[1] = rows > 0 ? rows : 1;
    t->n_dims = rows > 0 ? 2 : 1;
    t->scale = scale;
    return mlops__gguf_w_tensor(w, name, t->type, t->n_dims, t->ne, NULL);
}

int mlops__synth(const char *path, const mlops__synth_opts *o)
{
    bool qwen = o->arch && strcmp(o->arch, "qwen2") == 0;
    if (!o->arch || (!qwen && strcmp(o->arch, "llama") != 0))
        return mlops__error(MLOPS_EINVAL, "synth: arch '%s' is not llama or qwen2", o->arch ? o->arch : "");
    if (o->n_embd < 8 || o->n_layer < 1 || o->n_head < 1 || o->n_head_kv < 1 || o->n_ff < 1 ||
        o->n_embd % o->n_head || o->n_head % o->n_head_kv || (o->n_embd / o->n_head) % 2 ||
        o->n_embd % 32 || o->n_ff % 32 || o->n_layer > 512 || o->n_ctx < 1)
        return mlops__error(MLOPS_EINVAL, "synth: dims: n_embd and n_ff must be multiples of 32, heads must divide "
                            "n_embd (even head size) and kv heads divide heads");
    if (o->type != MLOPS__T_F32 && o->type != MLOPS__T_F16)
        return mlops__error(MLOPS_EINVAL, "synth: type must be F32 or F16");
    bool bpe = o->vocab && strcmp(o->vocab, "bpe") == 0;
    if (o->vocab && !bpe && strcmp(o->vocab, "spm") != 0)
        return mlops__error(MLOPS_EINVAL, "synth: vocab '%s' is not spm or bpe", o->vocab);
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    synth_ctx sc = {calloc((size_t)o->n_layer * 16 + 8, sizeof(tinfo)), 0, o->seed};
    if (!w || !sc.t) {
        mlops__gguf_writer_free(w);
        free(sc.t);
        return mlops__error_oom("synth");
    }
    const char *a = qwen ? "qwen2" : "llama";
    char k[96];
#define KEY(x) (snprintf(k, sizeof k, "%s." x, a), k)
    mlops__gguf_w_str(w, "general.architecture", a);
    mlops__gguf_w_str(w, "general.name", "synthetic (random weights)");
    mlops__gguf_w_u32(w, "general.file_type", o->type == MLOPS__T_F16 ? 1 : 0);
    mlops__gguf_w_u32(w, "general.quantization_version", 2);
    mlops__gguf_w_u32(w, KEY("context_length"), (uint32_t)o->n_ctx);
    mlops__gguf_w_u32(w, KEY("embedding_length"), (uint32_t)o->n_embd);
    mlops__gguf_w_u32(w, KEY("block_count"), (uint32_t)o->n_layer);
    mlops__gguf_w_u32(w, KEY("feed_forward_length"), (uint32_t)o->n_ff);
    mlops__gguf_w_u32(w, KEY("attention.head_count"), (uint32_t)o->n_head);
    mlops__gguf_w_u32(w, KEY("attention.head_count_kv"), (uint32_t)o->n_head_kv);
    mlops__gguf_w_u32(w, KEY("rope.dimension_count"), (uint32_t)(o->n_embd / o->n_head));
    mlops__gguf_w_f32(w, KEY("attention.layer_norm_rms_epsilon"), qwen ? 1e-6f : 1e-5f);
    mlops__gguf_w_f32(w, KEY("rope.freq_base"), qwen ? 1000000.0f : 10000.0f);
#undef KEY
    int rc = bpe ? vocab_bpe(w, o->n_vocab) : vocab_spm(w, o->n_vocab);
    int64_t E = o->n_embd, hd = E / o->n_head, KV = hd * o->n_head_kv, F = o->n_ff;
    float se = 1.0f / sqrtf((float)E), sf = 1.0f / sqrtf((float)F);
    if (!rc) rc = add(w, &sc, "token_embd.weight", o->type, E, o->n_vocab, 0.5f);
    if (!rc) rc = add(w, &sc, "output_norm.weight", o->type, E, 0, 0);
    if (!rc && !o->tied) rc = add(w, &sc, "output.weight", o->type, E, o->n_vocab, 2.0f * se);
    for (int l = 0; l < o->n_layer && !rc; l++) {
        char n[64];
#define T(nm, nn, rows, s) (snprintf(n, sizeof n, "blk.%d." nm, l), add(w, &sc, n, o->type, nn, rows, s))
        rc = T("attn_norm.weight", E, 0, 0);
        if (!rc) rc = T("attn_q.weight", E, E, 1.5f * se);
        if (!rc) rc = T("attn_k.weight", E, KV, 1.5f * se);
        if (!rc) rc = T("attn_v.weight", E, KV, 1.5f * se);
        if (!rc && qwen) rc = T("attn_q.bias", E, 0, 0);
        if (!rc && qwen) rc = T("attn_k.bias", KV, 0, 0);
        if (!rc && qwen) rc = T("attn_v.bias", KV, 0, 0);
        if (!rc) rc = T("attn_output.weight", E, E, se);
        if (!rc) rc = T("ffn_norm.weight", E, 0, 0);
        if (!rc) rc = T("ffn_gate.weight", E, F, 1.5f * se);
        if (!rc) rc = T("ffn_up.weight", E, F, 1.5f * se);
        if (!rc) rc = T("ffn_down.weight", F, E, sf);
#undef T
    }
    if (!rc)
        rc = mlops__gguf_w_write(w, path, fill, &sc);
    mlops__gguf_writer_free(w);
    free(sc.t);
    return rc;
}
