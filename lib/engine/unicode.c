/* Unicode helpers for the tokenizers: category flags, lowercase, NFD, UTF-8. */
#include "engine.h"

extern const size_t mlops__u_nruns, mlops__u_nlower, mlops__u_nnfd;
extern const uint32_t mlops__u_runs[][2];
extern const uint32_t mlops__u_lower_map[][2];
extern const uint32_t mlops__u_nfd_map[][5];

unsigned mlops__u_flags(uint32_t cp)
{
    size_t lo = 0, hi = mlops__u_nruns;
    if (cp > 0x10FFFF)
        return 0;
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (mlops__u_runs[mid][0] <= cp)
            lo = mid;
        else
            hi = mid;
    }
    return mlops__u_runs[lo][1];
}

uint32_t mlops__u_lower(uint32_t cp)
{
    if (cp < 128)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    size_t lo = 0, hi = mlops__u_nlower;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (mlops__u_lower_map[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < mlops__u_nlower && mlops__u_lower_map[lo][0] == cp ? mlops__u_lower_map[lo][1] : cp;
}

int mlops__u_nfd(uint32_t cp, uint32_t out[4])
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllables (Unicode 3.12) */
        uint32_t s = cp - 0xAC00;
        out[0] = 0x1100 + s / 588;
        out[1] = 0x1161 + (s % 588) / 28;
        if (s % 28) {
            out[2] = 0x11A7 + s % 28;
            return 3;
        }
        return 2;
    }
    out[0] = cp;
    if (cp < 0xC0)
        return 1;
    size_t lo = 0, hi = mlops__u_nnfd;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (mlops__u_nfd_map[mid][0] < cp)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo >= mlops__u_nnfd || mlops__u_nfd_map[lo][0] != cp)
        return 1;
    int n = 0;
    for (int i = 1; i < 5 && mlops__u_nfd_map[lo][i]; i++)
        out[n++] = mlops__u_nfd_map[lo][i];
    return n;
}

uint32_t mlops__utf8_decode(const char *str, size_t n, size_t *len)
{
    const unsigned char *s = (const unsigned char *)str;
    *len = 1;
    if (n == 0)
        return 0;
    unsigned c = s[0];
    if (c < 0x80)
        return c;
    int need;
    uint32_t cp;
    if ((c & 0xE0) == 0xC0)
        need = 1, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        need = 2, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        need = 3, cp = c & 0x07;
    else
        return 0xFFFD;
    if ((size_t)need >= n)
        return 0xFFFD;
    for (int i = 1; i <= need; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    *len = (size_t)need + 1;
    return cp;
}

int mlops__utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}
