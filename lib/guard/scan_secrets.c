/*
 * Secrets: provider token formats recognised by their documented prefixes and lengths
 * (AWS key ids, GitHub, GitLab, Slack, Stripe, OpenAI, Anthropic, Google API keys, JWTs
 * per RFC 7519, PEM private key blocks per RFC 7468), and generic high-entropy values
 * assigned to a key/secret/token/password-like name. One pass keyed on the first byte
 * of each token.
 */
#include "guard.h"

#include <math.h>
#include <pthread.h>
#include <string.h>

static inline bool tok_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
}
static inline bool alnum(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

typedef struct sctx {
    mlops__gscan *sc;
    const unsigned char *t;
    size_t n;
} sctx;

static bool starts(const sctx *c, size_t i, const char *p)
{
    size_t k = strlen(p);
    return i + k <= c->n && memcmp(c->t + i, p, k) == 0;
}

/* Length of a run of token characters from i (stops at the first other byte). */
static size_t run(const sctx *c, size_t i, bool dash, bool underscore)
{
    size_t p = i;
    while (p < c->n) {
        unsigned char ch = c->t[p];
        if (alnum(ch) || (dash && ch == '-') || (underscore && ch == '_'))
            p++;
        else
            break;
    }
    return p - i;
}

static void found(sctx *c, const char *type, size_t s, size_t e, double score)
{
    mlops__gscan_add(c->sc, "secrets", type, s, e, score, NULL);
}

/* Shannon entropy in bits per character. */
static double entropy(const unsigned char *s, size_t n)
{
    unsigned cnt[256] = {0};
    for (size_t i = 0; i < n; i++)
        cnt[s[i]]++;
    double h = 0;
    for (int k = 0; k < 256; k++)
        if (cnt[k]) {
            double p = (double)cnt[k] / (double)n;
            h -= p * log2(p);
        }
    return h;
}

static size_t pem_block(sctx *c, size_t i)
{
    /* -----BEGIN [RSA |EC |OPENSSH |DSA |ENCRYPTED ]PRIVATE KEY----- */
    size_t p = i + 11, line_end = p;
    while (line_end < c->n && c->t[line_end] != '\n' && line_end - p < 40)
        line_end++;
    const char *key = memmem(c->t + p, line_end - p, "PRIVATE KEY-----", 16);
    if (!key)
        return 0;
    const char *endm = memmem(c->t + line_end, c->n - line_end, "-----END ", 9);
    size_t e = line_end;
    if (endm) {
        size_t q = (size_t)((const unsigned char *)endm - c->t) + 9;
        const char *close = memmem(c->t + q, c->n - q, "-----", 5);
        if (close)
            q = (size_t)((const unsigned char *)close - c->t) + 5;
        e = q;
    } else {
        /* no END line: take the base64 body that follows */
        size_t q = line_end;
        while (q < c->n && (alnum(c->t[q]) || c->t[q] == '+' || c->t[q] == '/' ||
                            c->t[q] == '=' || c->t[q] == '\n' || c->t[q] == '\r'))
            q++;
        e = q;
    }
    found(c, "PRIVATE_KEY", i, e, 1.0);
    return e;
}

static const char *const key_words[] = {"secret", "token", "passw", "pwd", "apikey",
                                        "api_key", "api-key", "access_key", "accesskey",
                                        "private_key", "credential", "auth", "key", NULL};

/* At ':' or '=': a key-like name before it and a value after it. */
static size_t generic(sctx *c, size_t i)
{
    /* the name: up to 32 bytes back, letters, digits, _ - . and quotes */
    size_t s = i;
    while (s > 0 && i - s < 32 &&
           (tok_char(c->t[s - 1]) || c->t[s - 1] == '.' || c->t[s - 1] == '"' ||
            c->t[s - 1] == '\'' || c->t[s - 1] == ' '))
        s--;
    char name[40];
    size_t k = 0;
    for (size_t j = s; j < i && k < sizeof name - 1; j++)
        name[k++] = (char)((c->t[j] >= 'A' && c->t[j] <= 'Z') ? c->t[j] + 32 : c->t[j]);
    name[k] = '\0';
    bool keyish = false, password = false;
    for (const char *const *w = key_words; *w; w++)
        if (strstr(name, *w)) {
            keyish = true;
            password = password || strcmp(*w, "passw") == 0 || strcmp(*w, "pwd") == 0;
        }
    if (!keyish)
        return 0;
    size_t p = i + 1;
    while (p < c->n && (c->t[p] == ' ' || c->t[p] == '"' || c->t[p] == '\'' || c->t[p] == '='))
        p++;
    size_t vs = p;
    while (p < c->n && c->t[p] > ' ' && c->t[p] != '"' && c->t[p] != '\'' && c->t[p] != ',' &&
           c->t[p] != ';' && c->t[p] != '}' && c->t[p] < 0x7f && p - vs < 256)
        p++;
    while (p > vs && (c->t[p - 1] == '.' || c->t[p - 1] == ')'))
        p--;
    size_t len = p - vs;
    if (len < 6)
        return 0;
    int classes = 0;
    bool lo = false, up = false, dg = false, sy = false;
    for (size_t j = vs; j < p; j++) {
        unsigned char ch = c->t[j];
        lo |= ch >= 'a' && ch <= 'z';
        up |= ch >= 'A' && ch <= 'Z';
        dg |= ch >= '0' && ch <= '9';
        sy |= !alnum(ch);
    }
    classes = lo + up + dg + sy;
    double h = entropy(c->t + vs, len);
    if (len >= 16 && h >= 3.5 && classes >= 2) {
        found(c, "GENERIC_SECRET", vs, p, 0.85);
        return p;
    }
    if (password && classes >= 2 && len >= 6) {
        found(c, "PASSWORD", vs, p, 0.75);
        return p;
    }
    if (len >= 20 && h >= 3.0 && classes >= 2) {
        found(c, "GENERIC_SECRET", vs, p, 0.6);
        return p;
    }
    return 0;
}

/* Bytes of a token run (letters, digits, "_-."); set once per process. */
static bool tok_run[256];
static pthread_once_t tok_once = PTHREAD_ONCE_INIT;

static void tok_init(void)
{
    for (int c = 0; c < 256; c++)
        tok_run[c] = tok_char((unsigned char)c) || c == '.';
}

/* The next occurrence of lit (length k) at or after p, found by memchr on its byte at
 * index a, a byte rare in prose: glibc's memchr runs many bytes per cycle where memmem
 * compares at every position. */
static const unsigned char *find_literal(const unsigned char *p, const unsigned char *end,
                                         const char *lit, size_t k, size_t a)
{
    if ((size_t)(end - p) < k)
        return NULL;
    const unsigned char *last = end - k + a; /* the last place lit[a] can start a match */
    for (const unsigned char *q = p + a; q <= last && (q = memchr(q, lit[a], (size_t)(last - q) + 1)) != NULL; q++)
        if (memcmp(q - a, lit, k) == 0)
            return q - a;
    return NULL;
}

void mlops__scan_secrets(mlops__gscan *sc)
{
    pthread_once(&tok_once, tok_init);
    sctx c = {sc, (const unsigned char *)sc->norm->text, sc->norm->len};
    const unsigned char *t = c.t;
    size_t n = c.n;
    /* "name = value" assignments, PEM blocks and Slack webhooks: found with memchr, which
     * runs many bytes per cycle */
    for (const char *sep = ":="; *sep; sep++)
        for (const unsigned char *p = t; (p = memchr(p, *sep, n - (size_t)(p - t))) != NULL;) {
            size_t at = (size_t)(p - t);
            size_t e = generic(&c, at);
            p = t + (e > at ? e : at + 1);
            if (p >= t + n)
                break;
        }
    for (const unsigned char *p = t; (p = find_literal(p, t + n, "-----BEGIN ", 11, 0)) != NULL;) {
        size_t at = (size_t)(p - t);
        size_t e = pem_block(&c, at);
        p = t + (e > at ? e : at + 1);
    }
    for (const unsigned char *p = t; (p = find_literal(p, t + n, "hooks.slack.com/services/", 25, 15)) != NULL;) {
        size_t s0 = (size_t)(p - t), e = s0;
        if (s0 >= 8 && memcmp(t + s0 - 8, "https://", 8) == 0)
            s0 -= 8;
        while (e < n && t[e] > ' ' && t[e] != '"' && t[e] != '\'')
            e++;
        found(&c, "SLACK_WEBHOOK", s0, e, 0.9);
        p = t + e;
    }
    /* provider tokens: runs of at least 20 token bytes. When the byte before i is not a
     * token byte, find the last non-token byte j in [i, i + 20): no such run starts in
     * [i, j] (it would contain j), so skip to j + 1. */
    for (size_t i = 0; i < n;) {
        if (i + 20 <= n && (i == 0 || !tok_run[t[i - 1]])) {
            size_t j = i + 19;
            while (j > i && tok_run[t[j]])
                j--;
            if (!tok_run[t[j]]) {
                i = j + 1;
                continue;
            }
        }
        unsigned char ch = t[i];
        if (!tok_run[ch]) {
            i++;
            continue;
        }
        size_t rs = i;
        while (i < n && tok_run[t[i]])
            i++;
        if (i - rs < 20)
            continue;
        i = rs;
        if (!alnum(ch) || (i > 0 && tok_char(t[i - 1]))) {
            i++;
            continue;
        }
        size_t e = 0, r;
        switch (ch) {
        case 'A':
            if (i + 20 <= n && (starts(&c, i, "AKIA") || starts(&c, i, "ASIA") ||
                                starts(&c, i, "AGPA") || starts(&c, i, "AIDA") ||
                                starts(&c, i, "AROA") || starts(&c, i, "ANPA") ||
                                starts(&c, i, "ANVA") || starts(&c, i, "AIPA"))) {
                r = run(&c, i, false, false);
                bool ok = r == 20;
                for (size_t j = i; ok && j < i + 20; j++)
                    ok = (t[j] >= 'A' && t[j] <= 'Z') || (t[j] >= '0' && t[j] <= '9');
                if (ok) {
                    found(&c, "AWS_ACCESS_KEY", i, i + 20, 0.95);
                    e = i + 20;
                }
            } else if (starts(&c, i, "AIza") && (r = run(&c, i, true, true)) == 39) {
                found(&c, "GOOGLE_API_KEY", i, i + 39, 0.95);
                e = i + 39;
            }
            break;
        case 'e':
            if (starts(&c, i, "eyJ")) {
                size_t a = run(&c, i, true, true);
                if (a >= 10 && i + a + 1 < n && t[i + a] == '.') {
                    size_t b = run(&c, i + a + 1, true, true);
                    if (b >= 10 && i + a + 1 + b < n && t[i + a + 1 + b] == '.') {
                        size_t s3 = i + a + 2 + b;
                        size_t cc = run(&c, s3, true, true);
                        found(&c, "JWT", i, s3 + cc, 0.95);
                        e = s3 + cc;
                    }
                }
            }
            break;
        case 'g':
            if ((starts(&c, i, "ghp_") || starts(&c, i, "gho_") || starts(&c, i, "ghu_") ||
                 starts(&c, i, "ghs_") || starts(&c, i, "ghr_")) &&
                (r = run(&c, i + 4, false, false)) >= 36 && r <= 255) {
                found(&c, "GITHUB_TOKEN", i, i + 4 + r, 0.95);
                e = i + 4 + r;
            } else if (starts(&c, i, "github_pat_") && (r = run(&c, i + 11, false, true)) >= 60) {
                found(&c, "GITHUB_TOKEN", i, i + 11 + r, 0.95);
                e = i + 11 + r;
            } else if (starts(&c, i, "glpat-") && (r = run(&c, i + 6, true, true)) >= 20) {
                found(&c, "GITLAB_TOKEN", i, i + 6 + r, 0.95);
                e = i + 6 + r;
            }
            break;
        case 'x':
            if (i + 5 < n && starts(&c, i, "xox") && strchr("baprse", t[i + 3]) && t[i + 4] == '-' &&
                (r = run(&c, i + 5, true, false)) >= 10) {
                found(&c, "SLACK_TOKEN", i, i + 5 + r, 0.95);
                e = i + 5 + r;
            }
            break;
        case 's':
        case 'r':
        case 'p':
            if ((starts(&c, i, "sk_live_") || starts(&c, i, "sk_test_") ||
                 starts(&c, i, "rk_live_") || starts(&c, i, "rk_test_") ||
                 starts(&c, i, "pk_live_") || starts(&c, i, "pk_test_")) &&
                (r = run(&c, i + 8, false, false)) >= 16) {
                found(&c, "STRIPE_KEY", i, i + 8 + r, ch == 'p' ? 0.6 : 0.95);
                e = i + 8 + r;
            } else if (starts(&c, i, "sk-ant-") && (r = run(&c, i + 7, true, true)) >= 20) {
                found(&c, "ANTHROPIC_API_KEY", i, i + 7 + r, 0.95);
                e = i + 7 + r;
            } else if (starts(&c, i, "sk-") && (r = run(&c, i + 3, true, true)) >= 20) {
                size_t letters = 0, digits = 0;
                for (size_t j = i + 3; j < i + 3 + r; j++) {
                    letters += (t[j] >= 'a' && t[j] <= 'z') || (t[j] >= 'A' && t[j] <= 'Z');
                    digits += t[j] >= '0' && t[j] <= '9';
                }
                if (digits >= 2 && letters >= 4) {
                    found(&c, "OPENAI_API_KEY", i, i + 3 + r, 0.9);
                    e = i + 3 + r;
                }
            }
            break;
        default:
            break;
        }
        if (e > i) {
            i = e;
            continue;
        }
        while (i < n && alnum(t[i]))
            i++;
    }
}
