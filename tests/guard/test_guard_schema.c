/* The JSON Schema validator: keywords, error paths, bad schemas. */
#include "test_support.h"

#include <stdbool.h>
#include <string.h>

#include "guard/guard.h"

/* Validates and, when `needle` is given, asserts one error message contains it. */
static int v(const char *schema, const char *inst, const char *needle)
{
    json_t *s = json_loads(schema, JSON_DECODE_ANY, NULL), *i = json_loads(inst, JSON_DECODE_ANY, NULL);
    assert_non_null(s);
    assert_non_null(i);
    json_t *errs = json_array();
    int rc = mlops__jsonschema_validate(s, i, errs);
    if (needle) {
        bool found = false;
        size_t k;
        json_t *e;
        json_array_foreach(errs, k, e) found = found || strstr(json_string_value(e), needle);
        if (!found) {
            char *d = json_dumps(errs, 0);
            print_error("no error containing '%s' in %s\n", needle, d);
            free(d);
        }
        assert_true(found);
    }
    json_decref(s);
    json_decref(i);
    json_decref(errs);
    return rc;
}

static void keywords(void **state)
{
    (void)state;
    assert_int_equal(v("{\"type\": \"integer\"}", "1.0", NULL), 1);
    assert_int_equal(v("{\"type\": [\"string\", \"null\"]}", "null", NULL), 1);
    assert_int_equal(v("{\"type\": \"string\"}", "1", "/: expected string, got integer"), 0);
    assert_int_equal(v("{\"enum\": [1, \"a\", {\"b\": [2]}]}", "{\"b\": [2.0]}", NULL), 1);
    assert_int_equal(v("{\"const\": [1, 2]}", "[1, 3]", "const"), 0);
    assert_int_equal(v("{\"multipleOf\": 0.01}", "0.07", NULL), 1);
    assert_int_equal(v("{\"exclusiveMaximum\": 3}", "3", "exclusiveMaximum"), 0);
    assert_int_equal(v("{\"minLength\": 2, \"maxLength\": 3}", "\"\xc3\xa9\xc3\xa9\"", NULL), 1);
    assert_int_equal(v("{\"pattern\": \"^[a-z]+$\"}", "\"abc1\"", "pattern"), 0);
    assert_int_equal(v("{\"prefixItems\": [{\"type\": \"string\"}], \"items\": {\"type\": \"integer\"}}",
                       "[\"a\", 1, \"b\"]", "/2: expected integer"), 0);
    assert_int_equal(v("{\"contains\": {\"const\": 2}, \"minContains\": 2}", "[2, 1, 2]", NULL), 1);
    assert_int_equal(v("{\"uniqueItems\": true}", "[1, 1.0]", "uniqueItems"), 0);
    assert_int_equal(v("{\"properties\": {\"a~b/c\": {\"type\": \"string\"}}}", "{\"a~b/c\": 1}",
                       "/a~0b~1c: expected string"), 0);
    assert_int_equal(v("{\"patternProperties\": {\"^x_\": {\"type\": \"integer\"}}, "
                       "\"additionalProperties\": false}", "{\"x_1\": 1, \"y\": 2}",
                       "additional property 'y'"), 0);
    assert_int_equal(v("{\"dependentRequired\": {\"a\": [\"b\"]}}", "{\"a\": 1}", "requires 'b'"), 0);
    assert_int_equal(v("{\"propertyNames\": {\"maxLength\": 2}}", "{\"abc\": 1}", "propertyNames"), 0);
    assert_int_equal(v("{\"oneOf\": [{\"type\": \"integer\"}, {\"minimum\": 0}]}", "1", "oneOf"), 0);
    assert_int_equal(v("{\"anyOf\": [{\"type\": \"integer\"}, {\"type\": \"string\"}]}", "null", "anyOf"), 0);
    assert_int_equal(v("{\"not\": {\"type\": \"null\"}}", "null", "'not'"), 0);
    assert_int_equal(v("{\"if\": {\"minimum\": 10}, \"then\": {\"multipleOf\": 5}, \"else\": "
                       "{\"maximum\": 3}}", "7", "maximum"), 0);
    assert_int_equal(v("{\"allOf\": [{\"required\": [\"x\"]}, {\"required\": [\"y\"]}]}", "{}",
                       "'y' is missing"), 0);
    assert_int_equal(v("{\"definitions\": {\"n\": {\"type\": \"number\"}}, \"properties\": {\"a\": "
                       "{\"$ref\": \"#/definitions/n\"}}}", "{\"a\": \"x\"}", "/a: expected number"), 0);
    assert_int_equal(v("{\"$defs\": {\"node\": {\"type\": \"object\", \"properties\": {\"next\": "
                       "{\"$ref\": \"#/$defs/node\"}}}}, \"$ref\": \"#/$defs/node\"}",
                       "{\"next\": {\"next\": {\"next\": 1}}}", "/next/next/next"), 0);
    assert_int_equal(v("false", "1", "false schema"), 0);
    assert_int_equal(v("true", "1", NULL), 1);
}

static void broken_schemas(void **state)
{
    (void)state;
    assert_int_equal(v("{\"$ref\": \"#/nope\"}", "1", NULL), MLOPS_EINVAL);
    assert_int_equal(v("{\"$ref\": \"https://example.com/remote.json\"}", "1", NULL), MLOPS_EINVAL);
    assert_int_equal(v("{\"properties\": {\"a\": 5}}", "{\"a\": 1}", NULL), MLOPS_EINVAL);
    assert_int_equal(v("{\"$defs\": {\"a\": {\"$ref\": \"#/$defs/b\"}, \"b\": {\"$ref\": \"#/$defs/a\"}},"
                       " \"$ref\": \"#/$defs/a\"}", "1", NULL), MLOPS_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keywords),
        cmocka_unit_test(broken_schemas),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
