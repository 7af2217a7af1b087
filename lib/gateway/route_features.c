/*
 * Request features for complexity routing: counts of cues that make a prompt need a
 * stronger model (code, math, reasoning, constraints, output format, length,
 * conversation depth) or a weaker one (chit-chat, lookups, rewriting), plus signed
 * feature hashing of word unigrams, bigrams and character trigrams (Weinberger et al.
 * 2009, "Feature Hashing for Large Scale Multitask Learning") with xxh3.
 */
#include "route.h"

#include <ctype.h>
#include <pthread.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const feature_names[MLOPS__F_NAMED] = {
    "bias", "length", "tokens", "sentences", "questions", "code_block", "inline_code",
    "code_syntax", "code_request", "math_symbols", "latex", "math_words", "reasoning_cues",
    "compare_design", "multi_step", "constraints", "format_json", "format_table",
    "format_code", "format_long", "simple_cues", "rewrite_cues", "depth", "system_prompt",
    "non_ascii", "cjk", "numbers", "long_words",
};

const char *mlops__route_feature_name(int f)
{
    return f >= 0 && f < MLOPS__F_NAMED ? feature_names[f] : "?";
}

static const char *const tier_names[MLOPS__TIERS] = {"simple", "medium", "complex", "reasoning"};

const char *mlops__route_tier_name(int tier)
{
    return tier >= 0 && tier < MLOPS__TIERS ? tier_names[tier] : "none";
}

int mlops__route_tier_parse(const char *name)
{
    if (!name)
        return -1;
    for (int t = 0; t < MLOPS__TIERS; t++)
        if (strcmp(name, tier_names[t]) == 0)
            return t;
    if (strcmp(name, "cheap") == 0)
        return -2;
    if (strcmp(name, "strong") == 0)
        return -3;
    return -1;
}

/* ------------------------------------------------------------------ cue lists -- */

static const char *const code_syntax[] = {
    "def ", "function", "return ", "#include", "class ", "import ", "select ", "lambda",
    "std::", "=>", "->", "();", "{", "}", "console.log", "printf", "var ", "const ",
    "public ", "void ", "int main", "null", "async ", "await ", "try:", "except", "</",
    "sudo ", "git ", "npm ", "pip ", "docker", "kubectl", "segfault", "stack trace",
    "traceback", "undefined", NULL};
static const char *const code_request[] = {
    "write a function", "write a program", "write a script", "write code", "implement",
    "debug", "refactor", "code", "script", "function", "algorithm", "regex",
    "regular expression", "sql", "query", "compile", "bug", "unit test", "api", "endpoint",
    "python", "javascript", "typescript", "rust", "golang", "java", "c++", "bash", "program",
    "data structure", "complexity", "big o", "recursion", "concurrency", "thread",
    "deadlock", "memory leak", "class", "library", NULL};
static const char *const latex[] = {"\\frac", "\\int", "\\sum", "\\sqrt", "\\begin", "\\lim",
                                    "$$", "\\cdot", "\\alpha", "\\theta", "\\infty", "\\prod",
                                    "\\mathbb", NULL};
static const char *const math_words[] = {
    "integral", "derivative", "equation", "solve", "prove", "proof", "theorem", "lemma",
    "probability", "matrix", "eigenvalue", "eigenvector", "polynomial", "limit", "converge",
    "convergence", "series", "prime", "primes", "modulo", "inequality", "induction",
    "combinatorics", "expected value", "variance", "optimize", "optimization", "calculate",
    "compute", "geometric", "arithmetic", "factorial", "logarithm", "vector", "gradient",
    "differential", "fourier", "bayes", "irrational", "infinitely", "integer", "integers",
    "divisible", "permutations", "combinations", "how many ways", NULL};
static const char *const reasoning[] = {
    "step by step", "step-by-step", "prove", "why", "reason", "reasoning", "explain why",
    "derive", "justify", "analyze", "analyse", "think through", "trade-off", "trade-offs",
    "tradeoff", "tradeoffs", "implications", "evaluate", "critique", "rigorous",
    "rigorously", "counterexample", "paradox", "puzzle", "riddle", "logic", "logical",
    "deduce", "infer", "hypothesis", "what would happen if", "root cause", "diagnose",
    "edge cases", "in detail", "carefully", "first principles", "show that", "show your work",
    "how would you", NULL};
static const char *const compare_design[] = {
    "compare", "contrast", "design", "architect", "architecture", "plan", "strategy",
    "propose", "pros and cons", "versus", "vs", "difference between", "differences between",
    "recommend", "scalable", "scale", "migrate", "migration", "roadmap", "system", "distributed",
    "framework", "benchmark", "model", "simulate", "schedule", "allocate", "negotiate", NULL};
static const char *const multi_step[] = {
    "first", "then", "finally", "after that", "next", "steps", "afterwards", "and then",
    "multi-step", "phase", "stages", "for each", "iterate", "sequence", "walk me through",
    "outline", NULL};
static const char *const constraints[] = {
    "must", "at least", "at most", "without", "exactly", "ensure", "only", "no more than",
    "should not", "must not", "constraint", "constraints", "within", "limit", "budget",
    "requirement", "requirements", "guarantee", "assume", "given that", "subject to",
    "o(n", "o(1", "o(log", NULL};
static const char *const format_json[] = {"json", "yaml", "xml", "schema", "structured output",
                                          NULL};
static const char *const format_table[] = {"table", "csv", "columns", "spreadsheet", NULL};
static const char *const format_code[] = {"in python", "in javascript", "in c", "in c++",
                                          "in rust", "in go", "in java", "in sql", "in bash",
                                          "code block", "snippet", "pseudocode", NULL};
static const char *const format_long[] = {"essay", "report", "detailed", "in depth",
                                          "in-depth", "comprehensive", "thorough", "words",
                                          "pages", "whitepaper", "specification", "document",
                                          "paper", NULL};
static const char *const simple_cues[] = {
    "hi", "hello", "hey", "thanks", "thank you", "good morning", "good night", "what is",
    "what's", "who is", "who was", "who wrote", "when did", "when was", "where is",
    "capital of", "define", "definition", "meaning of", "how many", "how old", "what time",
    "how do you say", "spell", "synonym", "antonym", "tell me a joke", "joke", "fun fact",
    "quick", "quickly", "briefly", "one word", "yes or no", "how are you", "bye", "ok",
    "cool", "lol", "nice", "favorite", "name a", "list three", "what does", "convert",
    "what year", "how tall", "how far", "weather", "recommend a", NULL};
static const char *const rewrite_cues[] = {
    "rewrite", "rephrase", "paraphrase", "fix the grammar", "grammar", "correct", "shorten",
    "summarize", "summarise", "summary", "tl;dr", "tldr", "translate", "make it more",
    "polite", "formal", "informal", "proofread", "spelling", "simplify", "reword", "edit",
    "turn this into", "bullet points", "headline", "title for", "caption", "tweet", "email",
    NULL};

/*
 * All cue phrases in one table, bucketed by first byte, so that a prompt is scanned
 * once (each position compared with the few phrases starting with its byte) instead
 * of once per phrase. Built once per process (pthread_once): a read-only singleton.
 */
enum {
    C_CODE_SYNTAX, C_CODE_REQUEST, C_LATEX, C_MATH_WORDS, C_REASONING, C_COMPARE_DESIGN,
    C_MULTI_STEP, C_CONSTRAINTS, C_FORMAT_JSON, C_FORMAT_TABLE, C_FORMAT_CODE, C_FORMAT_LONG,
    C_SIMPLE, C_REWRITE, C_FAMILIES
};

static const char *const *const families[C_FAMILIES] = {
    code_syntax, code_request, latex, math_words, reasoning, compare_design, multi_step,
    constraints, format_json, format_table, format_code, format_long, simple_cues,
    rewrite_cues,
};

#define MAX_CUES 640

typedef struct cue {
    const char *text;
    uint16_t len;
    uint8_t family;
    bool word_start, word_end; /* must be bounded by non-word bytes on that side */
} cue;

static cue cues[MAX_CUES];
static uint16_t bucket[257]; /* cues with first byte b are cues[bucket[b] .. bucket[b+1]) */
static pthread_once_t cues_once = PTHREAD_ONCE_INIT;

static void cues_build(void)
{
    uint16_t count[256] = {0};
    size_t n = 0;
    for (int f = 0; f < C_FAMILIES; f++)
        for (const char *const *p = families[f]; *p && n < MAX_CUES; p++, n++)
            count[(unsigned char)(*p)[0]]++;
    bucket[0] = 0;
    for (int b = 0; b < 256; b++)
        bucket[b + 1] = (uint16_t)(bucket[b] + count[b]);
    uint16_t fill[256];
    memcpy(fill, bucket, sizeof fill);
    n = 0;
    for (int f = 0; f < C_FAMILIES; f++) {
        for (const char *const *p = families[f]; *p && n < MAX_CUES; p++, n++) {
            size_t len = strlen(*p);
            cue *c = &cues[fill[(unsigned char)(*p)[0]]++];
            c->text = *p;
            c->len = (uint16_t)len;
            c->family = (uint8_t)f;
            c->word_start = isalnum((unsigned char)(*p)[0]);
            c->word_end = isalnum((unsigned char)(*p)[len - 1]);
        }
    }
}

/*
 * Counts non-overlapping occurrences of each cue (leftmost first), those bounded as the
 * cue requires adding to its family's count.
 */
static void count_cues(const char *lower, size_t len, int counts[C_FAMILIES])
{
    pthread_once(&cues_once, cues_build);
    size_t next[MAX_CUES];
    memset(next, 0, sizeof next);
    for (size_t i = 0; i < len; i++) {
        unsigned char b = (unsigned char)lower[i];
        for (uint16_t k = bucket[b]; k < bucket[b + 1]; k++) {
            const cue *c = &cues[k];
            if (i < next[k] || c->len > len - i || memcmp(lower + i, c->text, c->len) != 0)
                continue;
            next[k] = i + c->len;
            bool ok = !(c->word_start && i > 0 && isalnum((unsigned char)lower[i - 1])) &&
                      !(c->word_end && i + c->len < len &&
                        isalnum((unsigned char)lower[i + c->len]));
            counts[c->family] += ok;
        }
    }
}

static float squash(double count, double scale)
{
    return (float)(count <= 0 ? 0 : fmin(1.0, log1p(count) / log1p(scale)));
}

/* ------------------------------------------------------------------ hashing ---- */

void mlops__route_feats_free(mlops__route_feats *f)
{
    if (!f)
        return;
    if (f->text)
        for (size_t i = 0; i < f->n; i++)
            free(f->text[i]);
    free(f->idx);
    free(f->val);
    free(f->text);
    memset(f, 0, sizeof *f);
}

static void add_hashed(mlops__route_feats *f, const char *s, size_t len, uint64_t seed,
                       float weight, bool keep_text)
{
    if (f->failed)
        return;
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        uint32_t *idx = realloc(f->idx, cap * sizeof *idx);
        if (idx)
            f->idx = idx;
        float *val = realloc(f->val, cap * sizeof *val);
        if (val)
            f->val = val;
        char **text = keep_text ? realloc(f->text, cap * sizeof *text) : NULL;
        if (text)
            f->text = text;
        if (!idx || !val || (keep_text && !text)) {
            f->failed = true;
            return;
        }
        f->cap = cap;
    }
    uint64_t h = mlops__hash64(s, len, seed);
    f->idx[f->n] = (uint32_t)(h & (MLOPS__ROUTE_HASH_DIM - 1));
    f->val[f->n] = (h >> 63) ? -weight : weight;
    if (keep_text) {
        f->text[f->n] = mlops__strndup(s, len);
        if (!f->text[f->n]) {
            f->failed = true;
            return;
        }
    }
    f->n++;
}

/* Word start/end offsets of the lowercase text (a word: letters, digits, ', UTF-8). */
static bool is_word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80 || c == '\'';
}

static void hash_ngrams(mlops__route_feats *f, const char *lower, size_t len, bool keep_text)
{
    size_t prev_s = 0, prev_e = 0;
    bool have_prev = false;
    size_t i = 0;
    while (i < len) {
        while (i < len && !is_word_byte((unsigned char)lower[i]))
            i++;
        size_t s = i;
        while (i < len && is_word_byte((unsigned char)lower[i]))
            i++;
        if (i == s)
            break;
        size_t wl = i - s;
        add_hashed(f, lower + s, wl, 0x51, 1.0f, keep_text);
        if (have_prev) {
            char bi[128];
            size_t a = prev_e - prev_s > 60 ? 60 : prev_e - prev_s;
            size_t b = wl > 60 ? 60 : wl;
            memcpy(bi, lower + prev_s, a);
            bi[a] = ' ';
            memcpy(bi + a + 1, lower + s, b);
            add_hashed(f, bi, a + 1 + b, 0x52, 1.0f, keep_text);
        }
        /* Character trigrams of the word with boundary marks: "^ab", "abc", "bc$". */
        if (wl >= 3 && wl <= 40) {
            char w[48];
            w[0] = '^';
            memcpy(w + 1, lower + s, wl);
            w[wl + 1] = '$';
            for (size_t k = 0; k + 3 <= wl + 2; k++)
                add_hashed(f, w + k, 3, 0x53, 0.35f, keep_text);
        }
        prev_s = s;
        prev_e = i;
        have_prev = true;
    }
    /* Normalise so that long prompts do not dominate by sheer count of n-grams. */
    if (f->n > 0 && !f->failed) {
        float norm = 1.0f / sqrtf((float)f->n);
        for (size_t k = 0; k < f->n; k++)
            f->val[k] *= norm * 3.0f;
    }
}

/* ------------------------------------------------------------------ features --- */

int mlops__route_features(const char *prompt, int depth, bool has_system, bool keep_text,
                          mlops__route_feats *out)
{
    memset(out, 0, sizeof *out);
    if (!prompt)
        prompt = "";
    size_t len = strnlen(prompt, MLOPS__ROUTE_MAX_TEXT);
    char *lower = malloc(len + 1);
    if (!lower)
        return mlops__error_oom("route features");
    int sentences = 0, questions = 0, backticks = 0, math = 0, digits_runs = 0, cjk = 0;
    int words = 0, long_words = 0, word_len = 0, numbered = 0;
    size_t non_ascii = 0;
    bool line_start = true;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)prompt[i];
        lower[i] = (char)tolower(c);
        if (c == '.' || c == '!' || c == '?' || c == '\n')
            sentences += (i + 1 == len || isspace((unsigned char)prompt[i + 1]));
        questions += c == '?';
        backticks += c == '`';
        if (strchr("=+*/^<>%", c) && c)
            math++;
        if (isdigit(c) && (i == 0 || !isdigit((unsigned char)prompt[i - 1])))
            digits_runs++;
        if (c >= 0x80)
            non_ascii++;
        /* U+3040..U+9FFF and Hangul are 3-byte sequences starting 0xE3..0xED. */
        if (c >= 0xE3 && c <= 0xED)
            cjk++;
        if (is_word_byte(c)) {
            word_len++;
        } else if (word_len) {
            words++;
            long_words += word_len >= 12;
            word_len = 0;
        }
        if (line_start && isdigit(c) && i + 1 < len &&
            (prompt[i + 1] == '.' || prompt[i + 1] == ')'))
            numbered++;
        if (line_start && (c == '-' || c == '*') && i + 1 < len && prompt[i + 1] == ' ')
            numbered++;
        line_start = c == '\n' || (line_start && (c == ' ' || c == '\t'));
    }
    if (word_len) {
        words++;
        long_words += word_len >= 12;
    }
    lower[len] = '\0';
    if (sentences == 0 && len > 0)
        sentences = 1;
    const char *fence = lower;
    int fences = 0;
    while ((fence = strstr(fence, "```")) != NULL) {
        fences++;
        fence += 3;
    }
    int cc[C_FAMILIES] = {0};
    count_cues(lower, len, cc);
    float *v = out->named;
    double tokens = (double)len / 4.0;
    v[MLOPS__F_BIAS] = 1.0f;
    v[MLOPS__F_LEN] = (float)(log1p((double)len) / 8.0);
    v[MLOPS__F_TOKENS] = squash(tokens, 2000);
    v[MLOPS__F_SENTENCES] = squash(sentences, 12);
    v[MLOPS__F_QUESTIONS] = squash(questions, 5);
    v[MLOPS__F_CODE_BLOCK] = fences >= 2 ? 1.0f : fences ? 0.5f : 0.0f;
    v[MLOPS__F_INLINE_CODE] = squash(fences ? 0 : backticks / 2, 5);
    v[MLOPS__F_CODE_SYNTAX] = squash(cc[C_CODE_SYNTAX], 8);
    v[MLOPS__F_CODE_REQUEST] = squash(cc[C_CODE_REQUEST], 4);
    v[MLOPS__F_MATH_SYMBOLS] = squash(math, 8);
    v[MLOPS__F_LATEX] = squash(cc[C_LATEX], 3);
    v[MLOPS__F_MATH_WORDS] = squash(cc[C_MATH_WORDS], 4);
    v[MLOPS__F_REASONING] = squash(cc[C_REASONING], 4);
    v[MLOPS__F_COMPARE_DESIGN] = squash(cc[C_COMPARE_DESIGN], 4);
    v[MLOPS__F_MULTI_STEP] = squash(cc[C_MULTI_STEP] + numbered, 6);
    v[MLOPS__F_CONSTRAINTS] = squash(cc[C_CONSTRAINTS], 5);
    v[MLOPS__F_FORMAT_JSON] = squash(cc[C_FORMAT_JSON], 2);
    v[MLOPS__F_FORMAT_TABLE] = squash(cc[C_FORMAT_TABLE], 2);
    v[MLOPS__F_FORMAT_CODE] = squash(cc[C_FORMAT_CODE], 2);
    v[MLOPS__F_FORMAT_LONG] = squash(cc[C_FORMAT_LONG], 3);
    v[MLOPS__F_SIMPLE_CUES] = squash(cc[C_SIMPLE], 3);
    v[MLOPS__F_REWRITE_CUES] = squash(cc[C_REWRITE], 3);
    v[MLOPS__F_DEPTH] = squash(depth > 1 ? depth - 1 : 0, 20);
    v[MLOPS__F_SYSTEM] = has_system ? 1.0f : 0.0f;
    v[MLOPS__F_NON_ASCII] = len ? (float)((double)non_ascii / (double)len) : 0.0f;
    v[MLOPS__F_CJK] = cjk ? 1.0f : 0.0f;
    v[MLOPS__F_NUMBERS] = squash(digits_runs, 10);
    v[MLOPS__F_LONG_WORDS] = words ? (float)long_words / (float)words : 0.0f;
    hash_ngrams(out, lower, len, keep_text);
    free(lower);
    if (out->failed) {
        mlops__route_feats_free(out);
        return mlops__error_oom("route features");
    }
    return MLOPS_OK;
}

/* ------------------------------------------------------------------ requests --- */

static void append_content(mlops__buf *b, const json_t *content)
{
    if (json_is_string(content)) {
        mlops__buf_append(b, json_string_value(content), json_string_length(content));
        return;
    }
    size_t i;
    json_t *part;
    json_array_foreach(content, i, part) {
        json_t *t = json_object_get(part, "text");
        if (json_is_string(t)) {
            if (b->len)
                mlops__buf_putc(b, '\n');
            mlops__buf_append(b, json_string_value(t), json_string_length(t));
        }
    }
}

char *mlops__route_request_text(const json_t *request, int *depth, bool *has_system)
{
    *depth = 0;
    *has_system = false;
    json_t *messages = json_object_get(request, "messages");
    json_t *prompt = json_object_get(request, "prompt");
    mlops__buf b;
    mlops__buf_init(&b);
    if (json_is_string(prompt)) {
        *depth = 1;
        mlops__buf_puts(&b, json_string_value(prompt));
    } else if (messages) {
        if (!json_is_array(messages)) {
            mlops__error(MLOPS_EINVAL, "request.messages: expected array, got %s",
                         mlops__json_type_name(messages));
            return NULL;
        }
        *depth = (int)json_array_size(messages);
        const json_t *last_user = NULL;
        size_t i;
        json_t *m;
        json_array_foreach(messages, i, m) {
            const char *role = json_string_value(json_object_get(m, "role"));
            if (role && strcmp(role, "system") == 0)
                *has_system = true;
            if (role && strcmp(role, "user") == 0)
                last_user = m;
        }
        if (last_user)
            append_content(&b, json_object_get(last_user, "content"));
    }
    mlops__buf_putc(&b, '\0');
    char *s = mlops__buf_take(&b);
    if (!s)
        mlops__error_oom("request text");
    return s;
}
