#include "cache_support.h"

#include "test_support.h"

#include <jansson.h>
#include <stdlib.h>

char *cache_simple(const char *ns, const char *prompt)
{
    json_t *r = json_pack("{s:s, s:s}", "namespace", ns, "prompt", prompt);
    char *t = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    return t;
}

int cache_put_rc(mlops_t *h, const char *ns, const char *prompt, const char *answer, int64_t *id)
{
    char *req = cache_simple(ns, prompt);
    json_t *a = json_string(answer);
    char *resp = json_dumps(a, JSON_ENCODE_ANY);
    int rc = mlops_cache_put(h, req, resp, NULL, id);
    free(req);
    free(resp);
    json_decref(a);
    return rc;
}

int64_t cache_put(mlops_t *h, const char *ns, const char *prompt, const char *answer)
{
    int64_t id = 0;
    assert_ok(cache_put_rc(h, ns, prompt, answer, &id));
    assert_true(id > 0);
    return id;
}

int64_t cache_stat_int(mlops_t *h, const char *a, const char *b)
{
    char *out = NULL;
    assert_ok(mlops_cache_stats(h, &out));
    json_t *j = json_loads(out, 0, NULL);
    mlops_free(out);
    const json_t *v = json_object_get(j, a);
    if (b)
        v = json_object_get(v, b);
    int64_t n = json_is_integer(v) ? (int64_t)json_integer_value(v) : -1;
    json_decref(j);
    return n;
}
