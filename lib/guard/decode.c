/*
 * Decoders for payloads hidden in a prompt: base64 (RFC 4648, standard and URL-safe
 * alphabets), hex, percent-encoding (RFC 3986) and rot13. A run is decoded only when it
 * is long enough to carry an instruction and the result is mostly printable text, so
 * ordinary words and numbers are left alone.
 */
#include "guard.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static int b64v(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
}

long mlops__gdecode_base64(const char *s, size_t n, char *out)
{
    uint32_t acc = 0;
    int bits = 0;
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '=')
            break;
        int v = b64v(c);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (char)((acc >> bits) & 0xff);
        }
    }
    out[o] = '\0';
    return o;
}

static int hexv(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

long mlops__gdecode_hex(const char *s, size_t n, char *out)
{
    if (n % 2)
        return -1;
    long o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        int a = hexv((unsigned char)s[i]), b = hexv((unsigned char)s[i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[o++] = (char)(a * 16 + b);
    }
    out[o] = '\0';
    return o;
}

long mlops__gdecode_url(const char *s, size_t n, char *out)
{
    long o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n + 0 && hexv((unsigned char)s[i + 1]) >= 0 &&
            hexv((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (char)(hexv((unsigned char)s[i + 1]) * 16 + hexv((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '+')
            out[o++] = ' ';
        else
            out[o++] = s[i];
    }
    out[o] = '\0';
    return o;
}

void mlops__gdecode_rot13(const char *s, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)('a' + (c - 'a' + 13) % 26);
        else if (c >= 'A' && c <= 'Z')
            c = (unsigned char)('A' + (c - 'A' + 13) % 26);
        out[i] = (char)c;
    }
    out[n] = '\0';
}

/* Mostly printable text with some letters and spaces: worth scanning again. */
static bool texty(const char *s, size_t n)
{
    if (n < 8)
        return false;
    size_t printable = 0, letters = 0, spaces = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        printable += (c >= 0x20 && c < 0x7f) || c == '\n' || c == '\t' || c >= 0x80;
        letters += (c | 32) >= 'a' && (c | 32) <= 'z';
        spaces += c == ' ';
    }
    return printable * 100 >= n * 95 && letters * 2 >= n && spaces >= 1;
}

static bool push(mlops__gpayload *out, size_t *k, size_t max, int kind, size_t s, size_t e,
                 char *data, size_t len)
{
    if (*k >= max) {
        free(data);
        return false;
    }
    out[*k] = (mlops__gpayload){kind, s, e, data, len};
    (*k)++;
    return true;
}

/* rot13 is only worth decoding when the text says so or looks like nonsense words. */
/* Where the text after a "rot13" / "rot-13" mention starts (0 when there is none). */
static size_t rot13_mention(const char *t, size_t n)
{
    /* one scan for "13", then look back for "rot" or "rot-" in any case */
    for (const char *p = t; (p = memchr(p, '1', n - (size_t)(p - t))) != NULL; p++) {
        size_t at = (size_t)(p - t);
        if (at + 1 >= n)
            break;
        if (p[1] != '3')
            continue;
        size_t b = at >= 1 && t[at - 1] == '-' ? at - 1 : at;
        if (b >= 3 && (t[b - 3] | 32) == 'r' && (t[b - 2] | 32) == 'o' && (t[b - 1] | 32) == 't')
            return at + 2;
        if (at + 2 >= n)
            break;
    }
    return 0;
}

/* Bytes that can be part of an encoded run (base64 alphabets, '=', '%'). */
static bool run_byte[256];
static pthread_once_t run_once = PTHREAD_ONCE_INIT;

static void run_init(void)
{
    for (int c = 0; c < 256; c++)
        run_byte[c] = b64v((unsigned char)c) >= 0 || c == '=' || c == '%';
}

size_t mlops__gdecode_find(const char *text, size_t n, mlops__gpayload *out, size_t max)
{
    pthread_once(&run_once, run_init);
    size_t k = 0;
    const unsigned char *t = (const unsigned char *)text;
    for (size_t i = 0; i < n && k < max;) {
        /* A payload is a run of at least 16 run bytes. When the byte before i is not a
         * run byte, find the last non-run byte j in [i, i + 16): no run of sixteen starts
         * in [i, j] (it would contain j), so skip to j + 1 (the idea of Boyer-Moore's
         * bad-character rule; in prose j is the space at most a word back). */
        if (i + 16 <= n && (i == 0 || !run_byte[t[i - 1]])) {
            size_t j = i + 15;
            while (j > i && run_byte[t[j]])
                j--;
            if (!run_byte[t[j]]) {
                i = j + 1;
                continue;
            }
        }
        if (!run_byte[t[i]]) {
            i++;
            continue;
        }
        size_t q = i;
        while (q < n && run_byte[t[q]])
            q++;
        if (q - i < 16) {
            i = q;
            continue;
        }
        /* a run of base64/hex characters (and %XX escapes) */
        size_t s = i, e = i;
        bool hex = true, pct = false, has_upper = false, has_lower = false, has_digit = false;
        while (e < n) {
            unsigned char d = t[e];
            if (d == '%' && e + 2 < n && hexv(t[e + 1]) >= 0 && hexv(t[e + 2]) >= 0) {
                pct = true;
                e += 3;
                continue;
            }
            if (b64v(d) < 0 && d != '=')
                break;
            if (d == '=' && !(e + 1 >= n || t[e + 1] == '=' || b64v(t[e + 1]) < 0))
                break;
            hex = hex && hexv(d) >= 0;
            has_upper |= d >= 'A' && d <= 'Z';
            has_lower |= d >= 'a' && d <= 'z';
            has_digit |= d >= '0' && d <= '9';
            e++;
        }
        size_t len = e - s;
        if (len < 16) {
            i = e > i ? e : i + 1;
            continue;
        }
        char *buf = malloc(len + 1);
        if (!buf)
            break;
        long m = -1;
        int kind = 0;
        if (pct) {
            /* percent-encoding also spans the plain characters in between: widen to
             * the whole whitespace-delimited word */
            size_t ws = s, we = e;
            while (we < n && t[we] > ' ')
                we++;
            char *wb = realloc(buf, we - ws + 1);
            if (!wb) {
                free(buf);
                break;
            }
            buf = wb;
            m = mlops__gdecode_url(text + ws, we - ws, buf);
            kind = MLOPS__GDEC_URL;
            e = we;
        } else if (hex && len >= 16 && len % 2 == 0) {
            m = mlops__gdecode_hex(text + s, len, buf);
            kind = MLOPS__GDEC_HEX;
        } else if (len >= 16 && (has_upper + has_lower + has_digit) >= 2) {
            size_t l2 = len;
            while (l2 > 0 && text[s + l2 - 1] == '=')
                l2--;
            m = mlops__gdecode_base64(text + s, l2, buf);
            kind = MLOPS__GDEC_BASE64;
        }
        if (m > 0 && texty(buf, (size_t)m)) {
            if (!push(out, &k, max, kind, s, e, buf, (size_t)m))
                break;
        } else
            free(buf);
        i = e;
    }
    /* rot13 hides text in plain letters: decode what follows a "rot13" mention, up to
     * the end of its paragraph (at most 4 KiB) */
    size_t rs = k < max ? rot13_mention(text, n) : 0;
    if (rs) {
        while (rs < n && (t[rs] == ':' || t[rs] == ' ' || t[rs] == '"' || t[rs] == '\''))
            rs++;
        size_t re = rs;
        while (re < n && re - rs < 4096 && !(t[re] == '\n' && re + 1 < n && t[re + 1] == '\n'))
            re++;
        char *buf = re > rs ? malloc(re - rs + 1) : NULL;
        if (buf) {
            mlops__gdecode_rot13(text + rs, re - rs, buf);
            push(out, &k, max, MLOPS__GDEC_ROT13, rs, re, buf, re - rs);
        }
    }
    return k;
}

void mlops__gpayloads_free(mlops__gpayload *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(p[i].data);
}
