/*
 * Key secrets: generation (getrandom, base62) and salted SHA-256 (OpenSSL libcrypto).
 * Secrets are never stored; only SHA-256(salt || secret) and the first characters.
 */
#include "keys.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>
#include <sys/random.h>

int mlops__key_random(void *buf, size_t len)
{
    unsigned char *p = buf;
    while (len > 0) {
        ssize_t n = getrandom(p, len, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return mlops__error(MLOPS_EIO, "getrandom: %s", strerror(errno));
        }
        p += n;
        len -= (size_t)n;
    }
    return MLOPS_OK;
}

static const char base62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/*
 * 32 random bytes as a 256-bit number written in base 62 (43 digits), so every
 * character carries entropy and none is biased by a modulo on single bytes.
 */
int mlops__key_secret_new(char out[64])
{
    unsigned char num[32];
    int rc = mlops__key_random(num, sizeof num);
    if (rc != MLOPS_OK)
        return rc;
    char digits[48];
    size_t nd = 0;
    for (; nd < 43; nd++) {
        unsigned rem = 0;
        for (size_t i = 0; i < sizeof num; i++) {
            unsigned cur = (rem << 8) | num[i];
            num[i] = (unsigned char)(cur / 62);
            rem = cur % 62;
        }
        digits[nd] = base62[rem];
    }
    memcpy(out, MLOPS__KEY_SECRET_PREFIX, 3);
    for (size_t i = 0; i < nd; i++)
        out[3 + i] = digits[nd - 1 - i];
    out[3 + nd] = '\0';
    return MLOPS_OK;
}

int mlops__key_secret_hash(const unsigned char *salt, size_t salt_len, const char *secret,
                           unsigned char digest[32])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int dlen = 0;
    int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
             EVP_DigestUpdate(ctx, salt, salt_len) == 1 &&
             EVP_DigestUpdate(ctx, secret, strlen(secret)) == 1 &&
             EVP_DigestFinal_ex(ctx, digest, &dlen) == 1 && dlen == 32;
    EVP_MD_CTX_free(ctx);
    return ok ? MLOPS_OK : mlops__error(MLOPS_EINTERNAL, "key hash: SHA-256 failed");
}
