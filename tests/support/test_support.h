/*
 * Shared test helpers: temporary directories and stores, and CMocka conveniences.
 * Every test that needs a store gets a real SQLite file in a fresh temporary
 * directory, removed at the end.
 */
#ifndef MLOPS_TEST_SUPPORT_H
#define MLOPS_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mlops.h"

/** A fresh temporary directory (mkdtemp under $TMPDIR or /tmp); free with tmpdir_remove. */
char *test_tmpdir(void);
/** Removes a directory tree made by test_tmpdir and frees the path. */
void test_tmpdir_remove(char *dir);
/** A malloc'd path "<dir>/<name>". */
char *test_path(const char *dir, const char *name);

/** A temporary store: a directory, a database file in it, and an open handle. */
typedef struct test_store {
    char *dir;
    char *db_path;
    mlops_t *h;
} test_store;

/** Opens a store in a new temporary directory (config may be NULL); asserts success. */
void test_store_open(test_store *ts, const char *config_json);
/** Closes the handle and removes the directory. */
void test_store_close(test_store *ts);

/** Asserts rc == MLOPS_OK, printing mlops_last_error() when not. */
#define assert_ok(expr)                                                                    \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_ != MLOPS_OK)                                                               \
            print_error("%s returned %d (%s): %s\n", #expr, rc_, mlops_strerror(rc_),       \
                        mlops_last_error());                                               \
        assert_int_equal(rc_, MLOPS_OK);                                                   \
    } while (0)

/** Asserts the status and that mlops_last_error() contains `needle`. */
#define assert_status(expr, code, needle)                                                  \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        if (rc_ != (code))                                                                 \
            print_error("%s returned %d, wanted %d: %s\n", #expr, rc_, (code),              \
                        mlops_last_error());                                               \
        assert_int_equal(rc_, (code));                                                     \
        if ((needle) != NULL)                                                              \
            assert_non_null(strstr(mlops_last_error(), (needle)));                         \
    } while (0)

/** Directory of the source tree (from $MLOPS_SOURCE_DIR), or "." */
const char *test_source_dir(void);
/** Directory of the build tree (from $MLOPS_BINARY_DIR), or "." */
const char *test_binary_dir(void);

#endif
