/*
 * Grounding: is each sentence of an answer supported by the supplied context?
 * Sentences are split at . ! ? followed by white space (and at line breaks). A
 * sentence's support is the share of its content words (lower-cased, stop words out,
 * a crude suffix strip) found in the context, blended with the cosine of hashed n-gram
 * vectors. Numbers, dates and capitalised names in the sentence must appear in the
 * context verbatim; a missing one makes the sentence unsupported whatever its overlap.
 */
#include "guard.h"

#include <stdlib.h>
#include <string.h>

#define GDIM 256

static const char *const stop[] = {"the", "a", "an", "and", "or", "but", "of", "to", "in",
    "on", "at", "for", "with", "by", "from", "is", "are", "was", "were", "be", "been",
    "it", "its", "this", "that", "these", "those", "as", "has", "have", "had", "not",
    "no", "do", "does", "did", "so", "than", "then", "there", "their", "they", "he",
    "she", "we", "you", "i", "his", "her", "our", "your", "which", "who", "what", "also",
    "can", "will", "would", "should", "may", "might", "very", "more", "most", NULL};

static bool is_stop(const char *w, size_t n)
{
    for (const char *const *s = stop; *s; s++)
        if (strlen(*s) == n && memcmp(*s, w, n) == 0)
            return true;
    return false;
}

static inline bool wc(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/* A word lower-cased with a plural/verb suffix removed, into out (returns length). */
static size_t stem(const char *w, size_t n, char *out)
{
    size_t k = n < 63 ? n : 63;
    for (size_t i = 0; i < k; i++)
        out[i] = (char)((w[i] >= 'A' && w[i] <= 'Z') ? w[i] + 32 : w[i]);
    if (k > 4 && memcmp(out + k - 3, "ing", 3) == 0)
        k -= 3;
    else if (k > 3 && memcmp(out + k - 2, "ed", 2) == 0)
        k -= 2;
    else if (k > 3 && out[k - 1] == 's' && out[k - 2] != 's')
        k -= 1;
    out[k] = '\0';
    return k;
}

/* A hash set of the context's stems. */
typedef struct set {
    uint64_t *v;
    size_t mask;
} set;

static void set_add(set *s, uint64_t h)
{
    h |= 1;
    size_t i = h & s->mask;
    while (s->v[i] && s->v[i] != h)
        i = (i + 1) & s->mask;
    s->v[i] = h;
}

static bool set_has(const set *s, uint64_t h)
{
    h |= 1;
    for (size_t i = h & s->mask; s->v[i]; i = (i + 1) & s->mask)
        if (s->v[i] == h)
            return true;
    return false;
}

/* Case-sensitive whole-token search of w in text (for names and numbers). */
static bool contains_token(const char *text, size_t n, const char *w, size_t k)
{
    for (const char *p = text; (size_t)(p - text) + k <= n;) {
        const char *q = memmem(p, n - (size_t)(p - text), w, k);
        if (!q)
            return false;
        size_t s = (size_t)(q - text), e = s + k;
        if ((s == 0 || !wc((unsigned char)text[s - 1])) && (e >= n || !wc((unsigned char)text[e])))
            return true;
        p = q + 1;
    }
    return false;
}

double mlops__guard_grounding(const char *answer, size_t n, const char *context,
                              double threshold, mlops__gfindings *out, json_t *unsupported)
{
    size_t cn = context ? strlen(context) : 0;
    size_t cap = 64;
    while (cap < cn)
        cap <<= 1;
    set cs = {calloc(cap * 2, sizeof(uint64_t)), cap * 2 - 1};
    if (!cs.v)
        return 0;
    char buf[64];
    for (size_t i = 0; i < cn;) {
        if (!wc((unsigned char)context[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < cn && wc((unsigned char)context[i]))
            i++;
        size_t k = stem(context + s, i - s, buf);
        set_add(&cs, mlops__hash64(buf, k, 7));
    }
    float cvec[GDIM], svec[GDIM];
    mlops__hashvec_opts o;
    mlops__hashvec_defaults(&o, GDIM);
    mlops__hashvec_embed(&o, context ? context : "", cn, cvec, NULL);

    double total = 0;
    int sentences = 0;
    size_t i = 0;
    while (i < n) {
        while (i < n && (answer[i] == ' ' || answer[i] == '\n' || answer[i] == '\t' || answer[i] == '\r'))
            i++;
        if (i >= n)
            break;
        size_t s = i;
        while (i < n) {
            char ch = answer[i];
            if (ch == '\n')
                break;
            if ((ch == '.' || ch == '!' || ch == '?') &&
                (i + 1 >= n || answer[i + 1] == ' ' || answer[i + 1] == '\n')) {
                /* "e.g." and numbers like 3.5 are not ends: require a word of 2+ letters before */
                size_t b = i;
                while (b > s && wc((unsigned char)answer[b - 1]))
                    b--;
                if (i - b >= 2 || i - b == 0) {
                    i++;
                    break;
                }
            }
            i++;
        }
        size_t e = i;
        size_t words = 0, found = 0;
        const char *missing = NULL;
        size_t missing_len = 0;
        bool first = true;
        for (size_t p = s; p < e;) {
            if (!wc((unsigned char)answer[p])) {
                p++;
                continue;
            }
            size_t ws = p;
            while (p < e && (wc((unsigned char)answer[p]) ||
                             ((answer[p] == '.' || answer[p] == ',' || answer[p] == '-' || answer[p] == '/') &&
                              p + 1 < e && answer[p + 1] >= '0' && answer[p + 1] <= '9' &&
                              answer[ws] >= '0' && answer[ws] <= '9')))
                p++;
            size_t wl = p - ws;
            bool digit = answer[ws] >= '0' && answer[ws] <= '9';
            bool cap_word = answer[ws] >= 'A' && answer[ws] <= 'Z' && !first && wl > 1;
            first = false;
            if ((digit || cap_word) && !missing && !contains_token(context ? context : "", cn, answer + ws, wl)) {
                missing = answer + ws;
                missing_len = wl;
            }
            size_t k = stem(answer + ws, wl, buf);
            if (is_stop(buf, k) || k < 2)
                continue;
            words++;
            found += set_has(&cs, mlops__hash64(buf, k, 7));
        }
        if (e == s)
            continue;
        double overlap = words ? (double)found / (double)words : 1.0;
        mlops__hashvec_embed(&o, answer + s, e - s, svec, NULL);
        double cosv = 0;
        for (int d = 0; d < GDIM; d++)
            cosv += (double)svec[d] * cvec[d];
        double support = 0.8 * overlap + 0.2 * (cosv > 0 ? cosv : 0);
        if (missing)
            support = support < 0.4 ? support : 0.4 * support;
        total += support;
        sentences++;
        if (support < threshold || missing) {
            char detail[160];
            if (missing)
                snprintf(detail, sizeof detail, "'%.*s' does not appear in the context",
                         (int)(missing_len < 60 ? missing_len : 60), missing);
            else
                snprintf(detail, sizeof detail, "support %.2f below %.2f", support, threshold);
            if (out)
                mlops__gfindings_add(out, "grounding", missing ? "UNGROUNDED_ENTITY" : "UNSUPPORTED_CLAIM",
                                     s, e, 1.0 - support, detail);
            if (unsupported) {
                json_t *o2 = json_pack("{s:s%,s:I,s:I,s:f}", "sentence", answer + s, e - s,
                                       "start", (json_int_t)s, "end", (json_int_t)e, "support", support);
                if (o2)
                    json_array_append_new(unsupported, o2);
            }
        }
    }
    free(cs.v);
    return sentences ? total / sentences : 1.0;
}
