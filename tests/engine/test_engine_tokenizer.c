/*
 * Tokenizers on small vocabularies built here (SentencePiece, byte-level BPE,
 * WordPiece), special tokens, detokenisation, chat templates, and the conformance
 * vocabularies in $MLOPS_SOURCE_DIR/../shared/conformance/tokenizers when present.
 */
#include "test_support.h"

#include "conformance.h"
#include "engine/vocab.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *dir;

static mlops__vocab *vocab_from(mlops__gguf_writer *w, const char *name, mlops__gguf **g)
{
    char *p = test_path(dir, name);
    assert_ok(mlops__gguf_w_write(w, p, NULL, NULL));
    mlops__gguf_writer_free(w);
    assert_ok(mlops__gguf_open(p, g));
    mlops__vocab *v = NULL;
    assert_ok(mlops__vocab_load(*g, &v));
    free(p);
    return v;
}

static void expect(const mlops__vocab *v, const char *text, bool add, bool parse, const int32_t *want,
                   size_t nwant)
{
    int32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_ok(mlops__tokenize(v, text, strlen(text), add, parse, &ids, &n, &cap));
    if (n != nwant || (n && memcmp(ids, want, n * sizeof *ids) != 0)) {
        printf("tokenize '%s': got", text);
        for (size_t i = 0; i < n; i++)
            printf(" %d", ids[i]);
        printf("\n");
    }
    assert_int_equal(n, nwant);
    if (n)
        assert_memory_equal(ids, want, n * sizeof *ids);
    free(ids);
}

static void expect_text(const mlops__vocab *v, const int32_t *ids, size_t n, const char *want)
{
    char *s = NULL;
    assert_ok(mlops__detokenize(v, ids, n, false, &s));
    assert_string_equal(s, want);
    mlops_free(s);
}

#define IDS(...) ((const int32_t[]){__VA_ARGS__}), (sizeof((const int32_t[]){__VA_ARGS__}) / sizeof(int32_t))

static void spm_small_vocabulary(void **state)
{
    (void)state;
    /* 0 <unk>, 1 <s>, 2 </s>, 3..258 bytes, then pieces */
    const char *pieces[] = {"\xe2\x96\x81", "h", "e", "l", "o", "w", "r", "d",
                            "\xe2\x96\x81h", "\xe2\x96\x81he", "\xe2\x96\x81hel", "\xe2\x96\x81hell",
                            "\xe2\x96\x81hello", "\xe2\x96\x81w", "\xe2\x96\x81wo", "\xe2\x96\x81wor",
                            "\xe2\x96\x81worl", "\xe2\x96\x81world", "ll", "<|user|>"};
    size_t np = sizeof pieces / sizeof pieces[0], n = 259 + np;
    char **toks = calloc(n, sizeof *toks);
    float *sc = calloc(n, sizeof *sc);
    int32_t *ty = calloc(n, sizeof *ty);
    toks[0] = strdup("<unk>"), toks[1] = strdup("<s>"), toks[2] = strdup("</s>");
    ty[0] = MLOPS__TOK_UNKNOWN, ty[1] = ty[2] = MLOPS__TOK_CONTROL;
    for (int b = 0; b < 256; b++) {
        toks[3 + b] = malloc(8);
        snprintf(toks[3 + b], 8, "<0x%02X>", b);
        ty[3 + b] = MLOPS__TOK_BYTE;
    }
    for (size_t i = 0; i < np; i++) {
        toks[259 + i] = strdup(pieces[i]);
        sc[259 + i] = (float)strlen(pieces[i]);
        ty[259 + i] = MLOPS__TOK_NORMAL;
    }
    ty[n - 1] = MLOPS__TOK_CONTROL;
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "llama");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, n);
    mlops__gguf_w_arr_f32(w, "tokenizer.ggml.scores", sc, n);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, n);
    mlops__gguf *g;
    mlops__vocab *v = vocab_from(w, "spm.gguf", &g);
    int32_t hello = 259 + 12, world = 259 + 17;
    expect(v, "hello world", false, false, IDS(hello, world));
    expect(v, "hello world", true, false, IDS(1, hello, world));
    expect(v, "", true, false, IDS(1));
    expect(v, "", false, false, NULL, 0);
    /* byte fallback for what the vocabulary lacks: "é" = C3 A9 */
    expect(v, "hello é", false, false, IDS(hello, 259, 3 + 0xC3, 3 + 0xA9));
    /* control tokens are text unless parse_special; after one, a space is prefixed again */
    expect(v, "<s>hello", false, true, IDS(1, hello));
    expect(v, "<|user|>hello", false, true, IDS((int32_t)n - 1, hello));
    expect_text(v, IDS(1, hello, world, 259, 3 + 0xC3, 3 + 0xA9), "hello world é");
    mlops__vocab_free(v);
    mlops__gguf_close(g);
    for (size_t i = 0; i < n; i++)
        free(toks[i]);
    free(toks), free(sc), free(ty);
}

static void bpe_small_vocabulary(void **state)
{
    (void)state;
    size_t n = 0;
    char *toks[400];
    for (int b = 0; b < 256; b++) {
        char u[4];
        int l = mlops__utf8_encode(mlops__bpe_byte_to_cp((uint8_t)b), u);
        toks[n++] = strndup(u, (size_t)l);
    }
    const char *more[] = {"he", "hel", "hell", "hello", "\xc4\xa0w", "\xc4\xa0wo", "\xc4\xa0wor",
                          "\xc4\xa0worl", "\xc4\xa0world", "'t", "12", "123", "<|im_end|>"};
    const char *merges[] = {"h e", "he l", "hel l", "hell o", "\xc4\xa0 w", "\xc4\xa0w o",
                            "\xc4\xa0wo r", "\xc4\xa0wor l", "\xc4\xa0worl d", "' t", "1 2", "12 3"};
    for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
        toks[n++] = strdup(more[i]);
    int32_t ty[400];
    for (size_t i = 0; i < n; i++)
        ty[i] = i + 1 == n ? MLOPS__TOK_CONTROL : MLOPS__TOK_NORMAL;
    for (int pre = 0; pre < 2; pre++) {
        mlops__gguf_writer *w = mlops__gguf_writer_new();
        mlops__gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
        mlops__gguf_w_str(w, "tokenizer.ggml.pre", pre ? "llama-bpe" : "gpt-2");
        mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)toks, n);
        mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, n);
        mlops__gguf_w_arr_str(w, "tokenizer.ggml.merges", merges, sizeof merges / sizeof merges[0]);
        mlops__gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)n - 1);
        mlops__gguf *g;
        mlops__vocab *v = vocab_from(w, pre ? "bpe3.gguf" : "bpe.gguf", &g);
        int32_t hello = 259, world = 264, apos_t = 265, d12 = 266, d123 = 267, im_end = (int32_t)n - 1;
        expect(v, "hello world", false, false, IDS(hello, world));
        /* "don't": the contraction is its own word */
        expect(v, "don't", false, false, IDS('d', 'o', 'n', apos_t));
        /* gpt2 keeps digit runs together; llama3 cuts them in threes */
        if (pre)
            expect(v, "12345", false, false, IDS(d123, '4', '5'));
        else
            expect(v, "12345", false, false, IDS(d123, '4', '5'));
        expect(v, "hello<|im_end|>", false, true, IDS(hello, im_end));
        expect_text(v, IDS(hello, world, im_end), "hello world");
        char *s = NULL;
        assert_ok(mlops__detokenize(v, IDS(hello, im_end), true, &s));
        assert_string_equal(s, "hello<|im_end|>");
        mlops_free(s);
        /* every byte round-trips */
        char all[256];
        for (int b = 1; b < 256; b++)
            all[b - 1] = (char)b;
        all[255] = 0;
        int32_t *ids = NULL;
        size_t nn = 0, cap = 0;
        assert_ok(mlops__tokenize(v, all, 255, false, false, &ids, &nn, &cap));
        assert_ok(mlops__detokenize(v, ids, nn, false, &s));
        assert_memory_equal(s, all, 255);
        mlops_free(s);
        free(ids);
        assert_true(mlops__vocab_is_eog(v, im_end));
        mlops__vocab_free(v);
        mlops__gguf_close(g);
        (void)d12;
    }
    for (size_t i = 0; i < n; i++)
        free(toks[i]);
}

static void wordpiece_small_vocabulary(void **state)
{
    (void)state;
    const char *toks[] = {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "\xe2\x96\x81hello", "\xe2\x96\x81world",
                          "\xe2\x96\x81un", "aff", "able", "\xe2\x96\x81,", "\xe2\x96\x81!", "\xe2\x96\x81" "cafe"};
    int32_t ty[12] = {3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1};
    mlops__gguf_writer *w = mlops__gguf_writer_new();
    mlops__gguf_w_str(w, "tokenizer.ggml.model", "bert");
    mlops__gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 12);
    mlops__gguf_w_arr_i32(w, "tokenizer.ggml.token_type", ty, 12);
    mlops__gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 1);
    mlops__gguf_w_u32(w, "tokenizer.ggml.cls_token_id", 2);
    mlops__gguf_w_u32(w, "tokenizer.ggml.seperator_token_id", 3);
    mlops__gguf *g;
    mlops__vocab *v = vocab_from(w, "wpm.gguf", &g);
    expect(v, "Hello, unaffable WORLD!", false, false, IDS(4, 9, 6, 7, 8, 5, 10));
    expect(v, "hello", true, false, IDS(2, 4, 3));
    expect(v, "hello xyz", false, false, IDS(4, 1));
    expect(v, "Café", false, false, IDS(11)); /* accents stripped after NFD */
    expect_text(v, IDS(2, 4, 9, 5, 3), "hello , world");
    mlops__vocab_free(v);
    mlops__gguf_close(g);
}

static void chat_templates(void **state)
{
    (void)state;
    json_t *msgs = json_loads("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                              "{\"role\":\"user\",\"content\":\"Hi\"},"
                              "{\"role\":\"assistant\",\"content\":\"Hello!\"},"
                              "{\"role\":\"user\",\"content\":\"Bye\"}]", 0, NULL);
    const struct {
        const char *family, *want;
    } cases[] = {
        {"llama2", "[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]"},
        {"mistral", "[INST] Be brief.\n\nHi [/INST]Hello!</s>[INST] Bye [/INST]"},
        {"llama3", "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\nHello!<|eot_id|>"
                   "<|start_header_id|>user<|end_header_id|>\n\nBye<|eot_id|>"
                   "<|start_header_id|>assistant<|end_header_id|>\n\n"},
        {"chatml", "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                   "<|im_start|>assistant\nHello!<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
                   "<|im_start|>assistant\n"},
        {"phi3", "<|system|>\nBe brief.<|end|>\n<|user|>\nHi<|end|>\n<|assistant|>\nHello!<|end|>\n"
                 "<|user|>\nBye<|end|>\n<|assistant|>\n"},
        {"gemma", "<start_of_turn>user\nBe brief.\n\nHi<end_of_turn>\n<start_of_turn>model\nHello!<end_of_turn>\n"
                  "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"},
        {"zephyr", "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello!</s>\n"
                   "<|user|>\nBye</s>\n<|assistant|>\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *out = NULL;
        assert_ok(mlops__chat_render(cases[i].family, msgs, true, &out));
        if (strcmp(out, cases[i].want) != 0)
            printf("%s:\n%s\n", cases[i].family, out);
        assert_string_equal(out, cases[i].want);
        free(out);
    }
    char *out = NULL;
    assert_status(mlops__chat_render("vicuna", msgs, true, &out), MLOPS_EUNSUPPORTED, "vicuna");
    json_t *bad = json_loads("[{\"role\":\"robot\",\"content\":\"x\"}]", 0, NULL);
    assert_status(mlops__chat_render("chatml", bad, true, &out), MLOPS_EINVAL, "messages[0].role");
    json_decref(bad);
    json_decref(msgs);
    /* detection from Jinja text by distinctive markers */
    assert_string_equal(mlops__chat_detect("{{ '<|start_header_id|>' + role }}"), "llama3");
    assert_string_equal(mlops__chat_detect("{{'<|im_start|>' + m.role}}"), "chatml");
    assert_string_equal(mlops__chat_detect("<start_of_turn>{{ role }}"), "gemma");
    assert_string_equal(mlops__chat_detect("<|assistant|> ... <|end|>"), "phi3");
    assert_string_equal(mlops__chat_detect("<|user|>\n{{ content }}</s>"), "zephyr");
    assert_string_equal(mlops__chat_detect("[INST] <<SYS>> [/INST]"), "llama2");
    assert_string_equal(mlops__chat_detect("{{ '[INST] ' + content + ' [/INST]' }}"), "mistral");
    assert_null(mlops__chat_detect("{{ messages }}"));
}

static void conformance(void **state)
{
    (void)state;
    char base[1024];
    snprintf(base, sizeof base, "%s/../shared/conformance/tokenizers", test_source_dir());
    DIR *d = opendir(base);
    if (!d) {
        printf("conformance: %s absent, skipped\n", base);
        skip();
    }
    struct dirent *e;
    int total = 0, passed = 0, files = 0;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 5, ".gguf") != 0)
            continue;
        char path[1400];
        snprintf(path, sizeof path, "%s/%s", base, e->d_name);
        int p = 0, n = conf_run(path, &p, 1);
        if (n < 0)
            continue;
        printf("conformance %-28s %d/%d\n", e->d_name, p, n);
        total += n;
        passed += p;
        files++;
    }
    closedir(d);
    printf("conformance: %d/%d strings match over %d vocabularies\n", passed, total, files);
    assert_int_equal(passed, total);
}

int main(void)
{
    dir = test_tmpdir();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spm_small_vocabulary),
        cmocka_unit_test(bpe_small_vocabulary),
        cmocka_unit_test(wordpiece_small_vocabulary),
        cmocka_unit_test(chat_templates),
        cmocka_unit_test(conformance),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    test_tmpdir_remove(dir);
    return rc;
}
