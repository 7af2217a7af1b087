/*
 * The normaliser: one pass over UTF-8 that validates it (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), drops invisible characters (zero-width and the
 * bidi controls of Unicode TR9, soft hyphen, BOM), folds compatibility forms (fullwidth
 * ASCII, the Mathematical Alphanumeric Symbols styles, circled letters, Unicode
 * spaces, Latin-1 accented letters) and maps the Cyrillic and Greek homoglyphs of
 * Latin letters (the confusables of Unicode TR39 that matter for English prompts) to
 * ASCII. Each output byte remembers the original character it came from, so a scanner
 * working on the normalised text reports spans in the original.
 */
#include "guard.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <stdlib.h>
#include <string.h>

size_t mlops__utf8_seq(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned char c = s[0];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    size_t len;
    uint32_t v, min;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2, v = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3, v = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4, v = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return len;
}

static bool invisible(uint32_t cp)
{
    return (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) ||
           (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
           cp == 0xFEFF || cp == 0x00AD || cp == 0x061C || cp == 0x180E ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || (cp >= 0xE0000 && cp <= 0xE007F);
}

/* Latin-1 Supplement letters U+00C0..U+00FF to their base letter (0: keep). */
static const char latin1[64] = "AAAAAAACEEEEIIIIDNOOOOOxOUUUUYTsaaaaaaaceeeeiiiidnooooo/ouuuuyty";

/* Cyrillic U+0400..U+045F look-alikes of Latin letters (0: none). */
static char cyrillic(uint32_t cp)
{
    switch (cp) {
    case 0x0410: return 'A'; case 0x0412: return 'B'; case 0x0415: return 'E';
    case 0x041A: return 'K'; case 0x041C: return 'M'; case 0x041D: return 'H';
    case 0x041E: return 'O'; case 0x0420: return 'P'; case 0x0421: return 'C';
    case 0x0422: return 'T'; case 0x0423: return 'Y'; case 0x0425: return 'X';
    case 0x0430: return 'a'; case 0x0435: return 'e'; case 0x043E: return 'o';
    case 0x0440: return 'p'; case 0x0441: return 'c'; case 0x0443: return 'y';
    case 0x0445: return 'x'; case 0x0455: return 's'; case 0x0456: return 'i';
    case 0x0458: return 'j'; case 0x0405: return 'S'; case 0x0406: return 'I';
    case 0x0408: return 'J'; case 0x04BB: return 'h'; case 0x0501: return 'd';
    case 0x051B: return 'q'; case 0x051D: return 'w';
    /* Greek */
    case 0x0391: return 'A'; case 0x0392: return 'B'; case 0x0395: return 'E';
    case 0x0396: return 'Z'; case 0x0397: return 'H'; case 0x0399: return 'I';
    case 0x039A: return 'K'; case 0x039C: return 'M'; case 0x039D: return 'N';
    case 0x039F: return 'O'; case 0x03A1: return 'P'; case 0x03A4: return 'T';
    case 0x03A5: return 'Y'; case 0x03A7: return 'X'; case 0x03B1: return 'a';
    case 0x03B5: return 'e'; case 0x03B9: return 'i'; case 0x03BA: return 'k';
    case 0x03BD: return 'v'; case 0x03BF: return 'o'; case 0x03C1: return 'p';
    case 0x03C4: return 't'; case 0x03C5: return 'u'; case 0x03C7: return 'x';
    case 0x0261: return 'g'; case 0x0251: return 'a'; case 0x026A: return 'i';
    default: return 0;
    }
}

/*
 * One code point to ASCII where a fold exists: returns the byte, ' ' for spaces, or 0
 * when the character is kept as it is. *kind: 1 confusable/compatibility fold.
 */
static char fold_cp(uint32_t cp)
{
    if (cp == 0xA0 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x202F || cp == 0x205F ||
        cp == 0x3000)
        return ' ';
    if (cp >= 0xC0 && cp <= 0xFF)
        return latin1[cp - 0xC0] == 'x' || latin1[cp - 0xC0] == '/' ? 0 : latin1[cp - 0xC0];
    if (cp >= 0xFF01 && cp <= 0xFF5E)
        return (char)(cp - 0xFEE0);
    if (cp >= 0x1D400 && cp <= 0x1D6A3) { /* Mathematical Alphanumeric Symbols */
        uint32_t k = (cp - 0x1D400) % 52;
        return (char)(k < 26 ? 'A' + k : 'a' + (k - 26));
    }
    if (cp >= 0x1D7CE && cp <= 0x1D7FF)
        return (char)('0' + (cp - 0x1D7CE) % 10);
    if (cp >= 0x24B6 && cp <= 0x24CF)
        return (char)('A' + (cp - 0x24B6));
    if (cp >= 0x24D0 && cp <= 0x24E9)
        return (char)('a' + (cp - 0x24D0));
    if (cp >= 0x1F130 && cp <= 0x1F149) /* squared latin */
        return (char)('A' + (cp - 0x1F130));
    if (cp >= 0x1F170 && cp <= 0x1F189)
        return (char)('A' + (cp - 0x1F170));
    if (cp >= 0x1F1E6 && cp <= 0x1F1FF) /* regional indicators */
        return (char)('A' + (cp - 0x1F1E6));
    if (cp == 0x2018 || cp == 0x2019 || cp == 0x2032)
        return '\'';
    if (cp == 0x201C || cp == 0x201D)
        return '"';
    if (cp == 0x2010 || cp == 0x2011 || cp == 0x2012 || cp == 0x2013 || cp == 0x2014 ||
        cp == 0x2212)
        return '-';
    if (cp == 0xFF0E || cp == 0x3002)
        return '.';
    return cyrillic(cp);
}

static bool plain_ascii(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        if (w & 0x8080808080808080ull)
            return false;
    }
    for (; i < n; i++)
        if (p[i] & 0x80)
            return false;
    return true;
}

int mlops__gnorm_run(const char *orig, size_t len, mlops__gnorm *g)
{
    memset(g, 0, sizeof *g);
    g->orig = orig;
    g->orig_len = len;
    if (plain_ascii(orig, len)) {
        g->text = (char *)orig;
        g->len = len;
        return MLOPS_OK;
    }
    g->text = malloc(len + 1);
    g->map = malloc((len + 1) * sizeof *g->map);
    if (!g->text || !g->map) {
        free(g->text);
        free(g->map);
        g->text = NULL;
        g->map = NULL;
        return mlops__error_oom("guard: normalised text");
    }
    g->owned = true;
    const unsigned char *s = (const unsigned char *)orig;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        if (s[i] < 0x80) {
            g->map[o] = (uint32_t)i;
            g->text[o++] = (char)s[i++];
            continue;
        }
        uint32_t cp;
        size_t k = mlops__utf8_seq(s + i, len - i, &cp);
        if (k == 0) {
            if (g->invalid_utf8++ == 0)
                g->first_invalid = i;
            g->map[o] = (uint32_t)i;
            g->text[o++] = ' ';
            i++;
            continue;
        }
        if (invisible(cp)) {
            g->invisible++;
            i += k;
            continue;
        }
        char f = fold_cp(cp);
        if (f) {
            if (cp > 0xFF && f != ' ' && f != '\'' && f != '"' && f != '-')
                g->confusable++;
            g->map[o] = (uint32_t)i;
            g->text[o++] = f;
        } else {
            for (size_t j = 0; j < k; j++) {
                g->map[o] = (uint32_t)i;
                g->text[o++] = (char)s[i + j];
            }
        }
        i += k;
    }
    g->map[o] = (uint32_t)len;
    g->text[o] = '\0';
    g->len = o;
    return MLOPS_OK;
}

void mlops__gnorm_free(mlops__gnorm *g)
{
    if (g->owned)
        free(g->text);
    free(g->map);
    memset(g, 0, sizeof *g);
}

void mlops__gnorm_span(const mlops__gnorm *g, size_t s, size_t e, size_t *os, size_t *oe)
{
    if (!g->map) {
        *os = s;
        *oe = e;
        return;
    }
    if (s > g->len)
        s = g->len;
    if (e > g->len)
        e = g->len;
    *os = g->map[s];
    if (e <= s) {
        *oe = *os;
        return;
    }
    size_t last = g->map[e - 1];
    uint32_t cp;
    size_t k = mlops__utf8_seq((const unsigned char *)g->orig + last, g->orig_len - last, &cp);
    *oe = last + (k ? k : 1);
}

static inline bool ascii_letter(unsigned char c) { return ((c | 32) >= 'a' && (c | 32) <= 'z'); }

static inline unsigned char fold_byte(const unsigned char *s, size_t n, size_t i)
{
    unsigned char c = s[i];
    if (c >= 'a' || c == ' ') /* the common case: lower-case letters and spaces */
        return c;
    if (c >= 'A' && c <= 'Z')
        return (unsigned char)(c + 32);
    /* leetspeak only next to a letter */
    bool letter_near = (i > 0 && ascii_letter(s[i - 1])) || (i + 1 < n && ascii_letter(s[i + 1]));
    if (letter_near) {
        switch (c) {
        case '0': c = 'o'; break;
        case '1': c = 'i'; break;
        case '3': c = 'e'; break;
        case '4': c = 'a'; break;
        case '5': c = 's'; break;
        case '7': c = 't'; break;
        case '@': c = 'a'; break;
        case '$': c = 's'; break;
        case '!': c = (i + 1 < n && ascii_letter(s[i + 1])) ? 'i' : '!'; break;
        default: break;
        }
    }
    return c;
}

#ifdef __SSE2__
/* Sixteen bytes at a time: a block with no byte that leetspeak folding may change (the
 * digits 0-9, '@', '$', '!') only has its capitals lower-cased, which is what fold_byte
 * does to each of its bytes; the first block with such a byte is left to the caller. */
static size_t fold_plain_blocks(const unsigned char *s, size_t n, char *out)
{
    const __m128i bias = _mm_set1_epi8((char)0x80);
    const __m128i a_lo = _mm_set1_epi8((char)('A' ^ 0x80)), z_hi = _mm_set1_epi8((char)('Z' ^ 0x80));
    const __m128i d_lo = _mm_set1_epi8((char)('0' ^ 0x80)), d_hi = _mm_set1_epi8((char)('9' ^ 0x80));
    const __m128i at = _mm_set1_epi8('@'), dollar = _mm_set1_epi8('$'), bang = _mm_set1_epi8('!');
    const __m128i case_bit = _mm_set1_epi8(0x20);
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i sv = _mm_xor_si128(v, bias); /* signed compares as unsigned ranges */
        __m128i digit = _mm_andnot_si128(_mm_or_si128(_mm_cmplt_epi8(sv, d_lo), _mm_cmpgt_epi8(sv, d_hi)),
                                         _mm_set1_epi8(-1));
        __m128i leet = _mm_or_si128(_mm_or_si128(digit, _mm_cmpeq_epi8(v, at)),
                                    _mm_or_si128(_mm_cmpeq_epi8(v, dollar), _mm_cmpeq_epi8(v, bang)));
        if (_mm_movemask_epi8(leet))
            break;
        __m128i upper = _mm_andnot_si128(_mm_or_si128(_mm_cmplt_epi8(sv, a_lo), _mm_cmpgt_epi8(sv, z_hi)),
                                         case_bit);
        _mm_storeu_si128((__m128i *)(out + i), _mm_or_si128(v, upper));
    }
    return i;
}
#endif

void mlops__gnorm_fold(const char *in, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    const uint64_t hi = 0x8080808080808080ull, lo7 = 0x7f7f7f7f7f7f7f7full;
    size_t i = 0;
#ifdef __SSE2__
    while (i + 16 <= n) {
        i += fold_plain_blocks(s + i, n - i, out + i);
        if (i + 16 > n)
            break;
        /* a block with a leet candidate: byte by byte (fold_byte reads its neighbours
         * from the input, so blocks do not interact) */
        for (size_t k = i; k < i + 16; k++)
            out[k] = (char)fold_byte(s, n, k);
        i += 16;
    }
#endif
    /* eight bytes at a time: a block whose every byte is >= 'a' (UTF-8 included) or a
     * space is copied unchanged (what fold_byte does to each); any other block goes
     * byte by byte (fold_byte reads its neighbours from the input, so blocks do not
     * interact) */
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        uint64_t ge = ((w & lo7) + 0x1f1f1f1f1f1f1f1full) | w; /* high bit: byte >= 0x61 */
        uint64_t x = w ^ 0x2020202020202020ull;
        uint64_t nz = ((x & lo7) + lo7) | x; /* high bit: byte != ' ' */
        if (((ge | ~nz) & hi) == hi) {
            memcpy(out + i, s + i, 8);
            continue;
        }
        for (size_t k = i; k < i + 8; k++)
            out[k] = (char)fold_byte(s, n, k);
    }
    for (; i < n; i++)
        out[i] = (char)fold_byte(s, n, i);
}
