/*
 * Artifact content hashes: SHA-256 (OpenSSL libcrypto, EVP interface) of local files,
 * streamed in 1 MiB blocks, recorded as "sha256:<64 hex>".
 */
#include "internal.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool mm_uri_local_path(const char *uri, char **path)
{
    *path = NULL;
    if (!uri)
        return false;
    const char *p = NULL;
    if (strncmp(uri, "file://", 7) == 0)
        p = uri + 7; /* file:///abs/path (RFC 8089: an empty authority) */
    else if (!strstr(uri, "://"))
        p = uri;
    if (!p || !*p)
        return false;
    *path = mlops__strdup(p);
    return *path != NULL;
}

int mm_hash_file(const char *path, int64_t max_bytes, char **hash, int64_t *size)
{
    *hash = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mlops__error(MLOPS_EIO, "artifact '%s': %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *buf = malloc(1 << 20);
    int rc = MLOPS_OK;
    if (!ctx || !buf || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        rc = mlops__error_oom("artifact hash");
        goto out;
    }
    int64_t total = 0;
    size_t n;
    while ((n = fread(buf, 1, 1 << 20, f)) > 0) {
        total += (int64_t)n;
        if (total > max_bytes) {
            rc = mlops__error(MLOPS_ELIMIT, "artifact '%s': larger than max_artifact_mb", path);
            goto out;
        }
        EVP_DigestUpdate(ctx, buf, n);
    }
    if (ferror(f)) {
        rc = mlops__error(MLOPS_EIO, "artifact '%s': read failed: %s", path, strerror(errno));
        goto out;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    char *h = malloc(7 + 2 * mdlen + 1);
    if (!h) {
        rc = mlops__error_oom("artifact hash");
        goto out;
    }
    memcpy(h, "sha256:", 7);
    for (unsigned int i = 0; i < mdlen; i++)
        snprintf(h + 7 + 2 * i, 3, "%02x", md[i]);
    *hash = h;
    *size = total;
out:
    free(buf);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}
