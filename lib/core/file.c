/* Whole-file reads with a limit, atomic writes, and directory creation. */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int mlops__file_read(const char *path, size_t max_bytes, char **out, size_t *out_len)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return mlops__error(MLOPS_EIO, "%s: cannot open: %s", path, strerror(errno));
    mlops__buf b;
    mlops__buf_init(&b);
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (b.len + n > max_bytes) {
            fclose(f);
            mlops__buf_free(&b);
            return mlops__error(MLOPS_ELIMIT, "%s: larger than the limit of %zu bytes", path,
                                max_bytes);
        }
        mlops__buf_append(&b, chunk, n);
    }
    bool err = ferror(f);
    fclose(f);
    if (err) {
        mlops__buf_free(&b);
        return mlops__error(MLOPS_EIO, "%s: read error", path);
    }
    size_t len = b.len;
    char *data = mlops__buf_take(&b);
    if (!data)
        return mlops__error_oom(path);
    *out = data;
    if (out_len)
        *out_len = len;
    return MLOPS_OK;
}

int mlops__file_write_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = mlops__sprintf("%s.tmp.%ld", path, (long)getpid());
    if (!tmp)
        return mlops__error_oom("temporary file name");
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = mlops__error(MLOPS_EIO, "%s: cannot create: %s", tmp, strerror(errno));
        free(tmp);
        return rc;
    }
    const char *p = data;
    size_t left = len;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            int rc = mlops__error(MLOPS_EIO, "%s: write failed: %s", tmp, strerror(errno));
            close(fd);
            unlink(tmp);
            free(tmp);
            return rc;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        int rc = mlops__error(MLOPS_EIO, "%s: could not be written: %s", path, strerror(errno));
        unlink(tmp);
        free(tmp);
        return rc;
    }
    free(tmp);
    return MLOPS_OK;
}

int mlops__mkdirs(const char *path)
{
    char *p = mlops__strdup(path);
    if (!p)
        return mlops__error_oom("path");
    size_t n = strlen(p);
    for (size_t i = 1; i <= n; i++) {
        if (p[i] != '/' && p[i] != '\0')
            continue;
        char saved = p[i];
        p[i] = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            int rc = mlops__error(MLOPS_EIO, "%s: cannot create directory: %s", p,
                                  strerror(errno));
            free(p);
            return rc;
        }
        p[i] = saved;
    }
    free(p);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return mlops__error(MLOPS_EIO, "%s: exists and is not a directory", path);
    return MLOPS_OK;
}
