/*
 * The built-in injection classifier (lib/guard/model_injection.inc) is what training on
 * the committed data gives: every data/guard/injection_*.jsonl in name order, through
 * the same function as `mlops guard train --kind injection` (scripts/guard_model.py).
 * A change to the data, the features or the trainer without regenerating the model
 * fails here. Also: the model file format round-trips, and version 1 files still load.
 */
#include "test_support.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard/guard.h"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Concatenates data/guard/injection_*.jsonl (name order) into path. */
static void write_training_data(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/data/guard", test_source_dir());
    DIR *d = opendir(dir);
    assert_non_null(d);
    char *names[64];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t k = strlen(e->d_name);
        if (strncmp(e->d_name, "injection_", 10) == 0 && k > 6 &&
            strcmp(e->d_name + k - 6, ".jsonl") == 0 && n < 64)
            names[n++] = strdup(e->d_name);
    }
    closedir(d);
    assert_true(n > 0);
    qsort(names, n, sizeof *names, cmp_str);
    FILE *out = fopen(path, "wb");
    assert_non_null(out);
    for (size_t i = 0; i < n; i++) {
        char p[1400];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        char *text = NULL;
        size_t len = 0;
        assert_ok(mlops__file_read(p, 64u << 20, &text, &len));
        assert_int_equal(fwrite(text, 1, len, out), len);
        free(text);
        free(names[i]);
    }
    fclose(out);
}

static void builtin_model_matches_its_data(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *data = test_path(dir, "train.jsonl"), *model = test_path(dir, "injection.model");
    write_training_data(data);
    json_t *report = NULL;
    assert_ok(mlops__guard_train("injection", data, model, &report));
    json_decref(report);
    mlops__glinear trained;
    assert_ok(mlops__glinear_load(model, &trained));
    const mlops__glinear *builtin = mlops__guard_default_model("injection");
    assert_non_null(builtin);
    assert_int_equal(trained.dim, builtin->dim);
    assert_int_equal(trained.features, builtin->features);
    assert_true(fabs((double)trained.bias - builtin->bias) < 1e-5);
    /* the built-in weights are 8-bit: within half a step (plus rounding) of training's */
    float maxw = 0;
    for (int i = 0; i < trained.dim; i++)
        maxw = fabsf(trained.w[i]) > maxw ? fabsf(trained.w[i]) : maxw;
    double step = maxw / 127.0;
    int off = 0;
    for (int i = 0; i < trained.dim; i++)
        off += fabs((double)trained.w[i] - builtin->w[i]) > step * 0.5 + 1e-6;
    if (off)
        print_error("%d of %d weights differ: run scripts/guard_model.py\n", off, trained.dim);
    assert_int_equal(off, 0);
    assert_non_null(trained.tag);
    assert_non_null(builtin->tag);
    assert_memory_equal(trained.tag, builtin->tag, (size_t)trained.dim);
    mlops__glinear_free(&trained);
    free(data);
    free(model);
    test_tmpdir_remove(dir);
}

static void model_files_round_trip(void **state)
{
    (void)state;
    char *dir = test_tmpdir();
    char *path = test_path(dir, "m.model");
    float w[16];
    for (int i = 0; i < 16; i++)
        w[i] = (float)(i - 8) / 4.0f;
    mlops__glinear m = {.dim = 16, .bias = -0.5f, .w = w, .kind = "injection", .features = 1};
    assert_ok(mlops__glinear_save(&m, path));
    mlops__glinear back;
    assert_ok(mlops__glinear_load(path, &back));
    assert_int_equal(back.dim, 16);
    assert_int_equal(back.features, 1);
    assert_true(back.bias == -0.5f);
    for (int i = 0; i < 16; i++)
        assert_true(back.w[i] == w[i]);
    mlops__glinear_free(&back);
    /* version 1 (no features line) loads as plain features */
    FILE *f = fopen(path, "w");
    fputs("mlops-guard-linear 1\nkind toxicity\ndim 16\nbias 0.25\n", f);
    for (int i = 0; i < 16; i++)
        fprintf(f, "%d%c", i, i == 15 ? '\n' : ' ');
    fclose(f);
    assert_ok(mlops__glinear_load(path, &back));
    assert_int_equal(back.features, 0);
    assert_true(back.w[15] == 15.0f);
    mlops__glinear_free(&back);
    /* a broken header names the format */
    f = fopen(path, "w");
    fputs("mlops-guard-linear 2\nkind injection\ndim 16\nfeatures 7\nbias 0\n", f);
    fclose(f);
    assert_status(mlops__glinear_load(path, &back), MLOPS_EFORMAT, "features 0 or 1");
    free(path);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(builtin_model_matches_its_data),
        cmocka_unit_test(model_files_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
