/* mlops run | bench | tokenize | logits | embed | gguf (synth|info) | quantize */
#include "cli.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool help_asked(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

static int load_model(const char *path, int threads, int n_ctx, bool vocab_only, mlops_engine_model_t **m)
{
    char opts[160];
    size_t k = (size_t)snprintf(opts, sizeof opts, "{\"vocab_only\": %s", vocab_only ? "true" : "false");
    if (threads > 0)
        k += (size_t)snprintf(opts + k, sizeof opts - k, ", \"threads\": %d", threads);
    if (n_ctx > 0)
        k += (size_t)snprintf(opts + k, sizeof opts - k, ", \"n_ctx\": %d", n_ctx);
    snprintf(opts + k, sizeof opts - k, "}");
    int rc = mlops_engine_model_load(path, opts, m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "load");
}

static int print_piece(const char *piece, void *user)
{
    (void)user;
    fputs(piece, stdout);
    fflush(stdout);
    return 0;
}

/* Appends s to a JSON string literal in buf. */
static void json_str(char *buf, size_t cap, const char *s)
{
    size_t k = strlen(buf);
    if (k + 2 >= cap)
        return;
    buf[k++] = '"';
    for (; *s && k + 8 < cap; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            k += (size_t)snprintf(buf + k, cap - k, "\\%c", ch);
        else if (ch < 0x20)
            k += (size_t)snprintf(buf + k, cap - k, "\\u%04x", ch);
        else
            buf[k++] = (char)ch;
    }
    buf[k++] = '"';
    buf[k] = '\0';
}

int cmd_run(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc < 2) {
        puts("usage: mlops run MODEL.gguf -p PROMPT [-n N] [--temp T] [--seed S] [-t THREADS]\n"
             "                 [--ctx N] [--chat] [--system TEXT] [--template NAME]\n\n"
             "Generates a continuation of PROMPT and streams it to stdout. --chat sends PROMPT\n"
             "as a user message through the model's chat template (or --template NAME).");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *model = argv[1], *prompt = NULL, *v, *system = NULL, *tmpl = NULL;
    int n = 128, threads = 0, ctx = 0;
    double temp = 0.8;
    long long seed = -1;
    bool chat = false;
    for (int i = 2; i < argc;) {
        if (cli_opt(argc, argv, &i, "-p", &v) || cli_opt(argc, argv, &i, "--prompt", &v))
            prompt = v;
        else if (cli_opt(argc, argv, &i, "-n", &v))
            n = atoi(v);
        else if (cli_opt(argc, argv, &i, "--temp", &v))
            temp = atof(v);
        else if (cli_opt(argc, argv, &i, "--seed", &v))
            seed = atoll(v);
        else if (cli_opt(argc, argv, &i, "-t", &v) || cli_opt(argc, argv, &i, "--threads", &v))
            threads = atoi(v);
        else if (cli_opt(argc, argv, &i, "--ctx", &v))
            ctx = atoi(v);
        else if (cli_opt(argc, argv, &i, "--system", &v))
            system = v;
        else if (cli_opt(argc, argv, &i, "--template", &v))
            tmpl = v, chat = true;
        else if (strcmp(argv[i], "--chat") == 0)
            chat = true, i++;
        else
            return cli_usage("run: unknown argument '%s'", argv[i]);
    }
    if (!prompt)
        return cli_usage("run: -p PROMPT is required");
    if (n < 1)
        return cli_usage("run: -n must be at least 1");
    mlops_engine_model_t *m = NULL;
    int rc = load_model(model, threads, ctx, false, &m);
    if (rc != CLI_OK)
        return rc;
    mlops_engine_session_t *s = NULL;
    if ((rc = mlops_engine_session_new(m, NULL, &s)) != MLOPS_OK) {
        mlops_engine_model_free(m);
        return cli_fail(rc, "session");
    }
    size_t cap = strlen(prompt) * 7 + (system ? strlen(system) * 7 : 0) + 512;
    char *opts = malloc(cap);
    if (!opts) {
        mlops_engine_session_free(s), mlops_engine_model_free(m);
        return cli_fail(MLOPS_ENOMEM, "run");
    }
    snprintf(opts, cap, "{\"max_tokens\": %d, \"temperature\": %g", n, temp);
    if (seed >= 0)
        snprintf(opts + strlen(opts), cap - strlen(opts), ", \"seed\": %lld", seed);
    if (tmpl) {
        strcat(opts, ", \"chat_template\": ");
        json_str(opts, cap, tmpl);
    }
    if (chat) {
        strcat(opts, ", \"messages\": [");
        if (system) {
            strcat(opts, "{\"role\": \"system\", \"content\": ");
            json_str(opts, cap, system);
            strcat(opts, "}, ");
        }
        strcat(opts, "{\"role\": \"user\", \"content\": ");
        json_str(opts, cap, prompt);
        strcat(opts, "}]");
    }
    strcat(opts, "}");
    if (!chat)
        fputs(prompt, stdout);
    char *result = NULL;
    rc = mlops_engine_generate(s, chat ? NULL : prompt, opts, print_piece, NULL, &result);
    free(opts);
    fputs("\n", stdout);
    if (rc == MLOPS_OK)
        fprintf(stderr, "%s\n", result);
    mlops_free(result);
    mlops_engine_session_free(s);
    mlops_engine_model_free(m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "run");
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int cmd_bench(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc < 2) {
        puts("usage: mlops bench MODEL.gguf [-t THREADS] [-p 128] [-n 64] [-r REPS] [--json]\n\n"
             "Measures prefill (a P-token prompt) and decode (N tokens one at a time) speed in\n"
             "tokens per second, like llama-bench's pp and tg tests.");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *model = argv[1], *v;
    int threads = 0, pp = 128, tg = 64, reps = 3;
    bool json = false;
    for (int i = 2; i < argc;) {
        if (cli_opt(argc, argv, &i, "-t", &v))
            threads = atoi(v);
        else if (cli_opt(argc, argv, &i, "-p", &v))
            pp = atoi(v);
        else if (cli_opt(argc, argv, &i, "-n", &v))
            tg = atoi(v);
        else if (cli_opt(argc, argv, &i, "-r", &v))
            reps = atoi(v);
        else if (strcmp(argv[i], "--json") == 0)
            json = true, i++;
        else
            return cli_usage("bench: unknown argument '%s'", argv[i]);
    }
    if (pp < 1 || tg < 1 || reps < 1)
        return cli_usage("bench: -p, -n and -r must be positive");
    mlops_engine_model_t *m = NULL;
    int rc = load_model(model, threads, pp + tg + 8, false, &m);
    if (rc != CLI_OK)
        return rc;
    char *info = NULL;
    mlops_engine_model_info(m, &info);
    char type[32] = "?";
    int n_vocab = 0, th = 0;
    const char *p = info ? strstr(info, "\"type\":\"") : NULL;
    if (p)
        sscanf(p + 8, "%31[^\"]", type);
    if (info && (p = strstr(info, "\"n_vocab\":")))
        n_vocab = atoi(p + 10);
    if (info && (p = strstr(info, "\"threads\":")))
        th = atoi(p + 10);
    mlops_free(info);
    mlops_engine_session_t *s = NULL;
    float *logits = malloc((size_t)n_vocab * sizeof *logits);
    int32_t *toks = malloc((size_t)(pp + tg) * sizeof *toks);
    if (!logits || !toks || (rc = mlops_engine_session_new(m, NULL, &s)) != MLOPS_OK) {
        free(logits), free(toks), mlops_engine_model_free(m);
        return cli_fail(rc ? rc : MLOPS_ENOMEM, "bench");
    }
    for (int i = 0; i < pp + tg; i++)
        toks[i] = (int32_t)((1 + (int64_t)i * 7919) % n_vocab);
    size_t got;
    double pp_best = 0, tg_best = 0;
    /* warm-up, then the best of `reps` runs of each test */
    rc = mlops_engine_logits(s, toks, 8, "{\"reset\": true}", logits, (size_t)n_vocab, &got);
    for (int r = 0; r < reps && rc == MLOPS_OK; r++) {
        double t0 = now_s();
        rc = mlops_engine_logits(s, toks, (size_t)pp, "{\"reset\": true}", logits, (size_t)n_vocab, &got);
        double t1 = now_s();
        if (rc == MLOPS_OK && pp / (t1 - t0) > pp_best)
            pp_best = pp / (t1 - t0);
        rc = rc ? rc : mlops_engine_logits(s, toks, 1, "{\"reset\": true}", logits, (size_t)n_vocab, &got);
        t0 = now_s();
        for (int i = 1; i < tg && rc == MLOPS_OK; i++)
            rc = mlops_engine_logits(s, toks + i, 1, "{\"reset\": false}", logits, (size_t)n_vocab, &got);
        t1 = now_s();
        if (rc == MLOPS_OK && (tg - 1) / (t1 - t0) > tg_best)
            tg_best = (tg - 1) / (t1 - t0);
    }
    if (rc == MLOPS_OK) {
        if (json)
            printf("{\"model\": \"%s\", \"type\": \"%s\", \"threads\": %d, \"n_prompt\": %d, "
                   "\"n_gen\": %d, \"pp_tps\": %.2f, \"tg_tps\": %.2f}\n",
                   model, type, th, pp, tg, pp_best, tg_best);
        else
            printf("| %-40s | %-6s | %7s | %8s | %10s |\n| %-40.40s | %-6s | %7d | %5s%-3d | %10.2f |\n"
                   "| %-40.40s | %-6s | %7d | %5s%-3d | %10.2f |\n",
                   "model", "type", "threads", "test", "t/s", model, type, th, "pp", pp, pp_best,
                   model, type, th, "tg", tg, tg_best);
    }
    free(logits), free(toks);
    mlops_engine_session_free(s);
    mlops_engine_model_free(m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "bench");
}

int cmd_tokenize(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc < 3) {
        puts("usage: mlops tokenize MODEL.gguf TEXT [--no-bos] [--no-special]\n\n"
             "Prints the token ids of TEXT, space-separated. --no-bos adds no BOS/EOS;\n"
             "--no-special reads control-token text (\"<|im_end|>\") as plain text.");
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    bool add = true, parse = true;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "--no-bos") == 0)
            add = false;
        else if (strcmp(argv[i], "--no-special") == 0)
            parse = false;
        else
            return cli_usage("tokenize: unknown argument '%s'", argv[i]);
    }
    mlops_engine_model_t *m = NULL;
    int rc = load_model(argv[1], 1, 0, true, &m);
    if (rc != CLI_OK)
        return rc;
    char opts[96];
    snprintf(opts, sizeof opts, "{\"add_special\": %s, \"parse_special\": %s}", add ? "true" : "false",
             parse ? "true" : "false");
    size_t n = 0;
    rc = mlops_engine_tokenize(m, argv[2], opts, NULL, 0, &n);
    int32_t *ids = malloc((n + 1) * sizeof *ids);
    if (rc == MLOPS_ELIMIT && ids)
        rc = mlops_engine_tokenize(m, argv[2], opts, ids, n, &n);
    if (rc == MLOPS_OK) {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %d" : "%d", ids[i]);
        printf("\n");
    }
    free(ids);
    mlops_engine_model_free(m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "tokenize");
}

int cmd_logits(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc < 2) {
        puts("usage: mlops logits MODEL.gguf --tokens \"ID ID ...\" [--all] [-t THREADS] [--kv f16|f32]\n\n"
             "Runs the tokens from position 0 and prints the last position's logits, one per\n"
             "line (--all: every position's, position after position).");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    const char *tokens = NULL, *v, *kv = NULL;
    bool all = false;
    int threads = 0;
    for (int i = 2; i < argc;) {
        if (cli_opt(argc, argv, &i, "--tokens", &v))
            tokens = v;
        else if (cli_opt(argc, argv, &i, "-t", &v))
            threads = atoi(v);
        else if (cli_opt(argc, argv, &i, "--kv", &v))
            kv = v;
        else if (strcmp(argv[i], "--all") == 0)
            all = true, i++;
        else
            return cli_usage("logits: unknown argument '%s'", argv[i]);
    }
    if (!tokens)
        return cli_usage("logits: --tokens is required");
    size_t n = 0, cap = strlen(tokens) / 2 + 2;
    int32_t *ids = malloc(cap * sizeof *ids);
    char *end;
    for (const char *p = tokens; ids && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        long x = strtol(p, &end, 10);
        if (end == p) {
            free(ids);
            return cli_usage("logits: '%s' is not a list of integers", tokens);
        }
        ids[n++] = (int32_t)x;
        p = end;
    }
    if (!ids || n == 0) {
        free(ids);
        return cli_usage("logits: no tokens");
    }
    char opts[160];
    size_t k = (size_t)snprintf(opts, sizeof opts, "{\"n_ctx\": %zu", n + 1);
    if (kv)
        k += (size_t)snprintf(opts + k, sizeof opts - k, ", \"kv_type\": \"%.16s\"", kv);
    if (threads > 0)
        k += (size_t)snprintf(opts + k, sizeof opts - k, ", \"threads\": %d", threads);
    snprintf(opts + k, sizeof opts - k, "}");
    mlops_engine_model_t *m = NULL;
    mlops_engine_session_t *s = NULL;
    int rc = mlops_engine_model_load(argv[1], opts, &m);
    if (rc != MLOPS_OK) {
        free(ids);
        return cli_fail(rc, "load");
    }
    size_t need = 0;
    float *out = NULL;
    if ((rc = mlops_engine_session_new(m, NULL, &s)) == MLOPS_OK) {
        mlops_engine_logits(s, ids, n, all ? "{\"all\": true}" : NULL, NULL, 0, &need);
        out = malloc((need + 1) * sizeof *out);
        rc = out ? mlops_engine_logits(s, ids, n, all ? "{\"all\": true}" : NULL, out, need, &need) : MLOPS_ENOMEM;
    }
    for (size_t i = 0; rc == MLOPS_OK && i < need; i++)
        printf("%.9g\n", out[i]);
    free(out);
    free(ids);
    mlops_engine_session_free(s);
    mlops_engine_model_free(m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "logits");
}

int cmd_embed(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc < 3) {
        puts("usage: mlops embed MODEL.gguf TEXT [-t THREADS]\n\n"
             "Prints TEXT's embedding (unit length), one value per line: bert encoders pool as\n"
             "the file says (mean or [CLS]); llama/qwen2 give the mean of the final hidden state.");
        return argc < 3 ? CLI_USAGE : CLI_OK;
    }
    const char *v;
    int threads = 0;
    for (int i = 3; i < argc;) {
        if (cli_opt(argc, argv, &i, "-t", &v))
            threads = atoi(v);
        else
            return cli_usage("embed: unknown argument '%s'", argv[i]);
    }
    mlops_engine_model_t *m = NULL;
    int rc = load_model(argv[1], threads, 0, false, &m);
    if (rc != CLI_OK)
        return rc;
    size_t n = 0;
    mlops_engine_embed(m, argv[2], NULL, NULL, 0, &n);
    float *e = malloc((n + 1) * sizeof *e);
    rc = e ? mlops_engine_embed(m, argv[2], NULL, e, n, &n) : MLOPS_ENOMEM;
    for (size_t i = 0; rc == MLOPS_OK && i < n; i++)
        printf("%.7g\n", e[i]);
    free(e);
    mlops_engine_model_free(m);
    return rc == MLOPS_OK ? CLI_OK : cli_fail(rc, "embed");
}

static int gguf_synth(int argc, char **argv)
{
    const char *v, *out = NULL, *arch = "llama", *vocab = "spm", *type = "F32";
    int dims[5] = {256, 2, 4, 2, 512};
    int n_vocab = 1024, n_ctx = 2048;
    long long seed = 42;
    bool tied = false;
    for (int i = 2; i < argc;) {
        if (cli_opt(argc, argv, &i, "--arch", &v))
            arch = v;
        else if (cli_opt(argc, argv, &i, "--dims", &v)) {
            if (sscanf(v, "%d,%d,%d,%d,%d", &dims[0], &dims[1], &dims[2], &dims[3], &dims[4]) != 5)
                return cli_usage("gguf synth: --dims wants N_EMBD,N_LAYER,N_HEAD,N_HEAD_KV,N_FF");
        } else if (cli_opt(argc, argv, &i, "--vocab", &v))
            vocab = v;
        else if (cli_opt(argc, argv, &i, "--n-vocab", &v))
            n_vocab = atoi(v);
        else if (cli_opt(argc, argv, &i, "--ctx", &v))
            n_ctx = atoi(v);
        else if (cli_opt(argc, argv, &i, "--seed", &v))
            seed = atoll(v);
        else if (cli_opt(argc, argv, &i, "--type", &v))
            type = v;
        else if (strcmp(argv[i], "--tied") == 0)
            tied = true, i++;
        else if (argv[i][0] != '-' && !out)
            out = argv[i++];
        else
            return cli_usage("gguf synth: unknown argument '%s'", argv[i]);
    }
    if (!out)
        return cli_usage("gguf synth: OUT.gguf is required");
    char opts[512];
    snprintf(opts, sizeof opts,
             "{\"arch\": \"%s\", \"n_embd\": %d, \"n_layer\": %d, \"n_head\": %d, \"n_head_kv\": %d, "
             "\"n_ff\": %d, \"n_vocab\": %d, \"n_ctx\": %d, \"vocab\": \"%s\", \"seed\": %lld, "
             "\"type\": \"%s\", \"tied\": %s}",
             arch, dims[0], dims[1], dims[2], dims[3], dims[4], n_vocab, n_ctx, vocab, seed, type,
             tied ? "true" : "false");
    int rc = mlops_gguf_synth(out, opts);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "gguf synth");
    printf("wrote %s (random weights)\n", out);
    return CLI_OK;
}

int cmd_gguf(cli *c, int argc, char **argv)
{
    (void)c;
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        puts("usage: mlops gguf synth [--arch llama|qwen2] [--dims E,L,H,KV,FF] [--vocab spm|bpe]\n"
             "                        [--n-vocab N] [--ctx N] [--seed S] [--type F32|F16] [--tied] OUT.gguf\n"
             "       mlops gguf info FILE.gguf\n\n"
             "synth writes a model with seeded random weights and a synthetic vocabulary;\n"
             "info prints a GGUF file's metadata and tensors as JSON.");
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "synth") == 0)
        return gguf_synth(argc, argv);
    if (strcmp(argv[1], "info") == 0) {
        if (argc != 3)
            return cli_usage("gguf info: FILE.gguf is required");
        char *out = NULL;
        int rc = mlops_gguf_info(argv[2], &out);
        if (rc != MLOPS_OK)
            return cli_fail(rc, "gguf info");
        cli_print_free(out);
        return CLI_OK;
    }
    return cli_usage("gguf: unknown subcommand '%s' (synth, info)", argv[1]);
}

int cmd_quantize(cli *c, int argc, char **argv)
{
    (void)c;
    if (help_asked(argc, argv) || argc != 4) {
        puts("usage: mlops quantize IN.gguf OUT.gguf TYPE\n\n"
             "TYPE: Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K_M, Q5_K_M, Q6_K, F16 or F32.");
        return argc != 4 ? CLI_USAGE : CLI_OK;
    }
    int rc = mlops_gguf_quantize(argv[1], argv[2], argv[3]);
    if (rc != MLOPS_OK)
        return cli_fail(rc, "quantize");
    printf("wrote %s (%s)\n", argv[2], argv[3]);
    return CLI_OK;
}
