#include "guard_data.h"

#include <stdio.h>
#include <stdlib.h>

#include "test_support.h"

json_t *guard_load_jsonl(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    json_t *arr = json_array();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, f)) > 0) {
        json_error_t err;
        json_t *o = json_loadb(line, (size_t)n, 0, &err);
        if (o)
            json_array_append_new(arr, o);
    }
    free(line);
    fclose(f);
    return arr;
}

json_t *guard_check(mlops_t *h, const char *policy, const char *stage, const char *text,
                    const char *context)
{
    char *out = NULL;
    assert_ok(mlops_guard_check(h, policy, stage, text, context, &out));
    json_error_t err;
    json_t *r = json_loads(out, 0, &err);
    if (!r)
        print_error("report is not JSON: %s\n%s\n", err.text, out);
    assert_non_null(r);
    mlops_free(out);
    return r;
}
