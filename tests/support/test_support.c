#include "test_support.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *test_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    size_t n = strlen(base) + 32;
    char *dir = malloc(n);
    assert_non_null(dir);
    snprintf(dir, n, "%s/mlops-test-XXXXXX", base);
    assert_non_null(mkdtemp(dir));
    return dir;
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void test_tmpdir_remove(char *dir)
{
    if (!dir)
        return;
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(dir);
}

char *test_path(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    assert_non_null(p);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

void test_store_open(test_store *ts, const char *config_json)
{
    ts->dir = test_tmpdir();
    ts->db_path = test_path(ts->dir, "store.db");
    ts->h = NULL;
    assert_ok(mlops_open(ts->db_path, config_json, &ts->h));
    assert_non_null(ts->h);
}

void test_store_close(test_store *ts)
{
    mlops_close(ts->h);
    ts->h = NULL;
    free(ts->db_path);
    ts->db_path = NULL;
    test_tmpdir_remove(ts->dir);
    ts->dir = NULL;
}

const char *test_source_dir(void)
{
    const char *d = getenv("MLOPS_SOURCE_DIR");
    return d && *d ? d : ".";
}

const char *test_binary_dir(void)
{
    const char *d = getenv("MLOPS_BINARY_DIR");
    return d && *d ? d : ".";
}
