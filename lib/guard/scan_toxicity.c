/*
 * Toxicity: a multilingual lexicon (English, Spanish, French, German, Italian,
 * Portuguese) matched on whole words of the normalised, leet-folded text, so "1d10t"
 * and "ｉｄｉｏｔ" count as "idiot"; categories; insults aimed at "you" score higher;
 * phrases for threats and self-harm. The trainable classifier (linear.c) adds its
 * probability.
 */
#include "guard.h"

#include <string.h>

enum { C_INSULT = 1, C_PROFANITY = 2, C_THREAT = 4, C_HATE = 8, C_SEXUAL = 16, C_SELF_HARM = 32 };

static const char *cat_name(int c)
{
    switch (c) {
    case C_INSULT: return "TOXIC_INSULT";
    case C_PROFANITY: return "TOXIC_PROFANITY";
    case C_THREAT: return "TOXIC_THREAT";
    case C_HATE: return "TOXIC_HATE";
    case C_SEXUAL: return "TOXIC_SEXUAL";
    default: return "TOXIC_SELF_HARM";
    }
}

/* Words (a trailing '*' matches any ending). */
static const struct { const char *w; int cat; double s; } lexicon[] = {
    {"idiot*", C_INSULT, 0.7}, {"moron*", C_INSULT, 0.7}, {"stupid", C_INSULT, 0.5},
    {"loser*", C_INSULT, 0.6}, {"dumbass", C_INSULT, 0.75}, {"pathetic", C_INSULT, 0.55},
    {"worthless", C_INSULT, 0.6}, {"imbecile*", C_INSULT, 0.75}, {"jerk", C_INSULT, 0.55},
    {"scum*", C_INSULT, 0.7}, {"retard*", C_INSULT, 0.8}, {"cretin*", C_INSULT, 0.7},
    {"dumb", C_INSULT, 0.4}, {"ugly", C_INSULT, 0.35}, {"trash", C_INSULT, 0.3},
    {"idiota*", C_INSULT, 0.7}, {"imbécil*", C_INSULT, 0.7}, {"imbecil*", C_INSULT, 0.7},
    {"estúpid*", C_INSULT, 0.6}, {"estupid*", C_INSULT, 0.6}, {"pendejo*", C_INSULT, 0.8},
    {"gilipollas", C_INSULT, 0.8}, {"tonto*", C_INSULT, 0.5}, {"trottel", C_INSULT, 0.7},
    {"vollidiot*", C_INSULT, 0.8}, {"arschloch", C_INSULT, 0.85}, {"dummkopf", C_INSULT, 0.6},
    {"connard*", C_INSULT, 0.85}, {"imbécile*", C_INSULT, 0.7}, {"crétin*", C_INSULT, 0.7},
    {"salaud*", C_INSULT, 0.8}, {"stronzo", C_INSULT, 0.85}, {"cretino", C_INSULT, 0.7},
    {"idiota", C_INSULT, 0.7}, {"babaca", C_INSULT, 0.7}, {"otário", C_INSULT, 0.6},
    {"fuck*", C_PROFANITY, 0.6}, {"f*ck*", C_PROFANITY, 0.6}, {"f**k*", C_PROFANITY, 0.6},
    {"shit*", C_PROFANITY, 0.5}, {"sh*t*", C_PROFANITY, 0.5}, {"bullshit", C_PROFANITY, 0.5},
    {"bitch*", C_PROFANITY, 0.7}, {"bastard*", C_PROFANITY, 0.6}, {"asshole*", C_PROFANITY, 0.8},
    {"dick", C_PROFANITY, 0.4}, {"crap", C_PROFANITY, 0.3}, {"damn", C_PROFANITY, 0.2},
    {"hell", C_PROFANITY, 0.1}, {"mierda", C_PROFANITY, 0.5}, {"joder", C_PROFANITY, 0.5},
    {"puta*", C_PROFANITY, 0.7}, {"scheiße", C_PROFANITY, 0.5}, {"scheisse", C_PROFANITY, 0.5},
    {"merde", C_PROFANITY, 0.5}, {"putain", C_PROFANITY, 0.6}, {"cazzo", C_PROFANITY, 0.6},
    {"vaffanculo", C_PROFANITY, 0.8}, {"porra", C_PROFANITY, 0.5}, {"caralho", C_PROFANITY, 0.6},
    {"subhuman*", C_HATE, 0.85}, {"vermin", C_HATE, 0.5}, {"untermensch*", C_HATE, 0.9},
    {"porn*", C_SEXUAL, 0.5}, {"nude*", C_SEXUAL, 0.4}, {"blowjob*", C_SEXUAL, 0.8},
};

/* Phrases (matched on whole words). */
static const struct { const char *p; int cat; double s; } phrases[] = {
    {"kill you", C_THREAT, 0.9}, {"hurt you", C_THREAT, 0.85}, {"find where you live", C_THREAT, 0.9},
    {"you deserve to die", C_THREAT, 0.95}, {"go die", C_THREAT, 0.85}, {"i will end you", C_THREAT, 0.9},
    {"beat you up", C_THREAT, 0.85}, {"shoot you", C_THREAT, 0.9}, {"burn your house", C_THREAT, 0.9},
    {"te voy a matar", C_THREAT, 0.9}, {"ich bringe dich um", C_THREAT, 0.9},
    {"je vais te tuer", C_THREAT, 0.9}, {"ti ammazzo", C_THREAT, 0.9},
    {"kill myself", C_SELF_HARM, 0.85}, {"want to die", C_SELF_HARM, 0.8},
    {"end my life", C_SELF_HARM, 0.85}, {"hurt myself", C_SELF_HARM, 0.8},
    {"go back to your country", C_HATE, 0.8}, {"inferior race", C_HATE, 0.9},
    {"should be exterminated", C_HATE, 0.95}, {"kill yourself", C_THREAT, 0.95},
    {"nobody likes you", C_INSULT, 0.6}, {"shut up", C_INSULT, 0.4},
};

static inline bool tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '*' || c >= 0x80;
}

static bool word_match(const char *w, size_t n, const char *pat)
{
    size_t k = strlen(pat);
    if (pat[k - 1] == '*' && k >= 2 && pat[k - 2] != '*') {
        k--;
        return n >= k && memcmp(w, pat, k) == 0;
    }
    return n == k && memcmp(w, pat, k) == 0;
}

static bool near_you(const char *t, size_t n, size_t s, size_t e)
{
    /* vocative ("go away, idiot") or a noun phrase ("only a jerk", "such an idiot") */
    if ((s >= 2 && t[s - 1] == ' ' && t[s - 2] == ',') ||
        (s >= 2 && t[s - 1] == ' ' && t[s - 2] == 'a' && (s == 2 || t[s - 3] == ' ')) ||
        (s >= 3 && t[s - 1] == ' ' && t[s - 2] == 'n' && t[s - 3] == 'a' && (s == 3 || t[s - 4] == ' ')))
        return true;
    size_t a = s > 24 ? s - 24 : 0, b = e + 16 < n ? e + 16 : n;
    for (size_t i = a; i + 3 <= b; i++)
        if ((t[i] == 'y' && t[i + 1] == 'o' && t[i + 2] == 'u') ||
            (t[i] == 'e' && t[i + 1] == 'r' && t[i + 2] == 'e' && i + 4 <= b && t[i + 3] == 's') ||
            (t[i] == 'd' && t[i + 1] == 'u' && (i + 2 == b || t[i + 2] == ' ')) ||
            (t[i] == 't' && t[i + 1] == 'u' && t[i + 2] == ' '))
            return true;
    return false;
}

void mlops__scan_toxicity(mlops__gscan *sc, const char *f, double *best)
{
    size_t n = sc->norm->len;
    unsigned want = sc->pol->tox_categories ? sc->pol->tox_categories : 0xffffffffu;
    *best = 0;
    for (size_t i = 0; i < n;) {
        if (!tchar((unsigned char)f[i])) {
            i++;
            continue;
        }
        size_t s = i;
        while (i < n && tchar((unsigned char)f[i]))
            i++;
        size_t wl = i - s;
        if (wl < 3 || wl > 24)
            continue;
        for (size_t k = 0; k < MLOPS__ARRAY_LEN(lexicon); k++) {
            if (!(lexicon[k].cat & (int)want) || f[s] != lexicon[k].w[0])
                continue;
            if (word_match(f + s, wl, lexicon[k].w)) {
                double score = lexicon[k].s;
                if (lexicon[k].cat == C_INSULT && near_you(f, n, s, i))
                    score = score + 0.2 > 0.95 ? 0.95 : score + 0.2;
                mlops__gscan_add(sc, "toxicity", cat_name(lexicon[k].cat), s, i, score, NULL);
                if (score > *best)
                    *best = score;
                break;
            }
        }
        /* phrases start on this word */
        for (size_t k = 0; k < MLOPS__ARRAY_LEN(phrases); k++) {
            size_t L = strlen(phrases[k].p);
            if (!(phrases[k].cat & (int)want) || f[s] != phrases[k].p[0] || s + L > n ||
                memcmp(f + s, phrases[k].p, L) != 0 || (s + L < n && tchar((unsigned char)f[s + L])))
                continue;
            mlops__gscan_add(sc, "toxicity", cat_name(phrases[k].cat), s, s + L, phrases[k].s, NULL);
            if (phrases[k].s > *best)
                *best = phrases[k].s;
        }
    }
}
