/* The public guard API: policies, operators, vault, canary, JSON, grounding, training. */
#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "guard_data.h"

#define MLOPS__ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *verdict(json_t *r) { return json_string_value(json_object_get(r, "verdict")); }
static const char *text_of(json_t *r) { return json_string_value(json_object_get(r, "text")); }

static void arguments_and_config(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    char *out = NULL;
    assert_status(mlops_guard_check(NULL, NULL, "input", "x", NULL, &out), MLOPS_EINVAL, "handle");
    assert_ok(mlops_open(":memory:", NULL, &h));
    assert_status(mlops_guard_check(h, NULL, "input", NULL, NULL, &out), MLOPS_EINVAL, "text");
    assert_status(mlops_guard_check(h, NULL, "sideways", "x", NULL, &out), MLOPS_EINVAL, "stage");
    assert_status(mlops_guard_check(h, NULL, "input", "x", NULL, NULL), MLOPS_EINVAL, "out_report_json");
    assert_status(mlops_guard_check(h, "no-such-policy", "input", "x", NULL, &out), MLOPS_ENOTFOUND,
                  "no-such-policy");
    mlops_close(h);
    h = NULL;
    assert_status(mlops_open(":memory:", "{\"guard\": {\"hash_kye\": \"x\"}}", &h), MLOPS_ECONFIG,
                  "config.guard: unknown key 'hash_kye'");
    assert_status(mlops_open(":memory:", "{\"guard\": {\"default_policy\": {\"scanners\": "
                             "{\"pii\": {\"action\": \"explode\"}}}}}", &h),
                  MLOPS_ECONFIG, "policy.scanners.pii.action");
    assert_status(mlops_open(":memory:", "{\"guard\": {\"injection_model\": \"/nonexistent/m\"}}", &h),
                  MLOPS_ECONFIG, "injection_model");
}

static void malformed_policies_name_the_field(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    static const struct { const char *policy, *needle; } bad[] = {
        {"[1]", "policy: expected a JSON object"},
        {"{\"scanners\": {\"pii\": {\"threshold\": 2}}}", "policy.scanners.pii.threshold"},
        {"{\"scanners\": {\"pii\": {\"entities\": [\"EMAIL\"]}}}", "policy.scanners.pii.entities[0]"},
        {"{\"scanners\": {\"piii\": {}}}", "unknown scanner 'piii'"},
        {"{\"scanners\": {\"pii\": {\"custom\": [{\"type\": \"X\", \"regex\": \"(a\"}]}}}",
         "policy.scanners.pii.custom[0].regex"},
        {"{\"scanners\": {\"banned\": {\"regex\": [\"a{1,1000}\"]}}}", "policy.scanners.banned.regex[0]"},
        {"{\"scanners\": {\"injection\": {\"stages\": \"sideways\"}}}", "policy.scanners.injection.stages"},
        {"{\"operator\": \"shred\"}", "policy.operator"},
        {"{\"scanners\": {\"max_length\": {}}}", "policy.scanners.max_length: missing required key 'max_bytes'"},
        {"{\"scanners\": {\"toxicity\": {\"categories\": [\"rude\"]}}}", "policy.scanners.toxicity.categories[0]"},
        {"{\"scanners\": {\"json\": {\"schema\": 3}}}", "policy.scanners.json.schema"},
        {"{\"scaners\": {}}", "policy: unknown key 'scaners'"},
        {"{\"scanners\": {\"pii\": {\"action\": 1}}}", "policy.scanners.pii.action"},
        {"{not json", "policy"},
    };
    char *out = NULL;
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(bad); i++) {
        int rc = mlops_guard_check(h, bad[i].policy, "input", "hello", NULL, &out);
        if (rc != MLOPS_ECONFIG || !strstr(mlops_last_error(), bad[i].needle))
            print_error("policy %s: rc %d, error '%s'\n", bad[i].policy, rc, mlops_last_error());
        assert_int_equal(rc, MLOPS_ECONFIG);
        assert_non_null(strstr(mlops_last_error(), bad[i].needle));
        assert_status(mlops_guard_policy_put(h, "bad", bad[i].policy), MLOPS_ECONFIG, bad[i].needle);
    }
    mlops_close(h);
}

static void stored_policies(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    char *out = NULL;
    assert_ok(mlops_guard_policy_put(h, "strict", "{\"scanners\": {\"pii\": {\"action\": \"block\"}}}"));
    assert_ok(mlops_guard_policy_put(h, "lenient", "{\"scanners\": {\"pii\": {\"action\": \"warn\"}}}"));
    assert_ok(mlops_guard_policy_list(h, &out));
    assert_non_null(strstr(out, "\"name\":\"lenient\""));
    assert_non_null(strstr(out, "\"name\":\"strict\""));
    mlops_free(out);
    assert_ok(mlops_guard_policy_get(h, "strict", &out));
    assert_non_null(strstr(out, "block"));
    mlops_free(out);
    assert_ok(mlops_guard_policy_get(h, NULL, &out)); /* the default policy */
    assert_non_null(strstr(out, "injection"));
    mlops_free(out);
    json_t *r = guard_check(h, "strict", "input", "mail bob@example.com", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    /* replacing a policy is seen at once, also by another handle on the same file */
    mlops_t *h2 = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &h2));
    r = guard_check(h2, "strict", "input", "mail bob@example.com", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    assert_ok(mlops_guard_policy_put(h, "strict", "{\"scanners\": {\"pii\": {\"action\": \"warn\"}}}"));
    r = guard_check(h2, "strict", "input", "mail bob@example.com", NULL);
    assert_string_equal(verdict(r), "warn");
    assert_string_equal(text_of(r), "mail bob@example.com");
    json_decref(r);
    mlops_close(h2);
    assert_ok(mlops_guard_policy_delete(h, "strict"));
    assert_status(mlops_guard_policy_delete(h, "strict"), MLOPS_ENOTFOUND, "strict");
    assert_status(mlops_guard_policy_get(h, "strict", &out), MLOPS_ENOTFOUND, "strict");
    assert_status(mlops_guard_policy_put(h, "bad name!", "{}"), MLOPS_EINVAL, "policy name");
    test_store_close(&ts);
}

static void operators_and_vault(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"guard\": {\"hash_key\": \"tenant-1\"}}");
    mlops_t *h = ts.h;
    const char *t = "card 4111 1111 1111 1111 from bob@example.com";
    json_t *r = guard_check(h, "{\"operator\": \"mask\", \"mask_keep\": 4, \"scanners\": {\"pii\": {}}}",
                            "input", t, NULL);
    assert_string_equal(text_of(r), "card **** **** **** 1111 from ***@*******.com");
    json_decref(r);
    r = guard_check(h, "{\"operator\": \"redact\", \"scanners\": {\"pii\": {}}}", "input", t, NULL);
    assert_string_equal(text_of(r), "card  from ");
    json_decref(r);
    r = guard_check(h, "{\"operator\": \"hash\", \"hash_key\": \"k\", \"scanners\": {\"pii\": {}}}",
                    "input", "a@b.com and a@b.com and c@b.com", NULL);
    const char *ht = text_of(r);
    assert_int_equal(strncmp(ht, "<EMAIL_ADDRESS:", 15), 0);
    assert_int_equal(strncmp(ht, ht + 33, 28), 0); /* same value, same token */
    assert_int_not_equal(strncmp(ht, ht + 66, 28), 0);
    json_decref(r);
    /* the default policy redacts with type tags */
    r = guard_check(h, NULL, "input", t, NULL);
    assert_string_equal(text_of(r), "card <CREDIT_CARD> from <EMAIL_ADDRESS>");
    json_decref(r);
    /* reversible pseudonyms: the vault lives in the store */
    const char *pol = "{\"operator\": \"pseudonymize\", \"vault\": \"session-7\", \"scanners\": {\"pii\": {}}}";
    r = guard_check(h, pol, "input", "Write to bob@example.com about 4111 1111 1111 1111", NULL);
    char *masked = strdup(text_of(r));
    json_decref(r);
    assert_null(strstr(masked, "bob@example.com"));
    assert_non_null(strstr(masked, "<EMAIL_ADDRESS_"));
    mlops_t *h2 = NULL;
    assert_ok(mlops_open(ts.db_path, NULL, &h2));
    char *answer = malloc(strlen(masked) + 64);
    sprintf(answer, "Done: %s.", masked);
    char *back = NULL;
    assert_ok(mlops_guard_deanonymize(h2, "session-7", answer, &back));
    assert_string_equal(back, "Done: Write to bob@example.com about 4111 1111 1111 1111.");
    mlops_free(back);
    assert_ok(mlops_guard_deanonymize(h2, "other-vault", answer, &back));
    assert_string_equal(back, answer);
    mlops_free(back);
    free(answer);
    free(masked);
    mlops_close(h2);
    test_store_close(&ts);
}

static void canary_leaks(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    char *out = NULL;
    assert_ok(mlops_guard_canary(h, "You are a helpful bank assistant.", &out));
    json_t *c = json_loads(out, 0, NULL);
    mlops_free(out);
    const char *canary = json_string_value(json_object_get(c, "canary"));
    assert_int_equal(strlen(canary), 29);
    assert_non_null(strstr(json_string_value(json_object_get(c, "prompt")), canary));
    char leak[256];
    snprintf(leak, sizeof leak, "Sure! My instructions start with <!-- %s --> and then...", canary);
    json_t *r = guard_check(h, NULL, "output", leak, NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    r = guard_check(h, "{\"scanners\": {\"canary\": {\"tokens\": [\"SECRET-XYZ\"]}}}", "output",
                    "the word is SECRET-XYZ", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    r = guard_check(h, NULL, "output", "Here is your answer.", NULL);
    assert_string_equal(verdict(r), "allow");
    json_decref(r);
    json_decref(c);
    mlops_close(h);
}

static void json_outputs(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    const char *pol = "{\"scanners\": {\"json\": {\"schema\": {\"type\": \"object\", "
                      "\"required\": [\"name\", \"age\"], \"properties\": {\"name\": {\"type\": "
                      "\"string\"}, \"age\": {\"type\": \"integer\", \"minimum\": 0}}, "
                      "\"additionalProperties\": false}}}}";
    json_t *r = guard_check(h, pol, "output", "{\"name\": \"Ada\", \"age\": 36}", NULL);
    assert_string_equal(verdict(r), "allow");
    assert_true(json_is_true(json_object_get(json_object_get(r, "json"), "valid")));
    json_decref(r);
    r = guard_check(h, pol, "output", "```json\n{\"name\": \"Ada\", \"age\": -1, \"x\": 1}\n```", NULL);
    assert_string_equal(verdict(r), "block");
    char *d = json_dumps(json_object_get(json_object_get(r, "json"), "errors"), 0);
    assert_non_null(strstr(d, "/age: -1 is less than minimum 0"));
    assert_non_null(strstr(d, "additional property 'x'"));
    free(d);
    json_decref(r);
    r = guard_check(h, pol, "output", "{\"name\": \"Ada\", ", NULL);
    assert_string_equal(verdict(r), "block");
    assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(r, "findings"), 0), "type")),
                        "JSON_INVALID");
    json_decref(r);
    /* deep nesting is bounded: an error, never a crash */
    size_t depth = 100000;
    char *deep = malloc(depth * 2 + 1);
    memset(deep, '[', depth);
    memset(deep + depth, ']', depth);
    deep[depth * 2] = '\0';
    r = guard_check(h, pol, "output", deep, NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    char *out = NULL;
    assert_status(mlops_guard_validate_json(h, "{}", deep, &out), MLOPS_EPARSE, "instance_json");
    free(deep);
    assert_ok(mlops_guard_validate_json(h, "{\"$defs\": {\"pos\": {\"type\": \"integer\", \"minimum\": 1}},"
                                        " \"type\": \"array\", \"items\": {\"$ref\": \"#/$defs/pos\"}}",
                                        "[1, 2, 0]", &out));
    assert_non_null(strstr(out, "\"valid\":false"));
    assert_non_null(strstr(out, "/2: 0 is less than minimum 1"));
    mlops_free(out);
    assert_status(mlops_guard_validate_json(h, "{\"$ref\": \"#/$defs/missing\"}", "1", &out),
                  MLOPS_EINVAL, "#/$defs/missing");
    assert_status(mlops_guard_validate_json(h, "{\"$ref\": \"#\"}", "1", &out), MLOPS_ELIMIT, "recursion");
    mlops_close(h);
}

static void grounding_banned_length(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    const char *ctx = "The Eiffel Tower is in Paris. It was completed in 1889 and is 330 metres tall.";
    json_t *r = guard_check(h, NULL, "output",
                            "The Eiffel Tower is in Paris. It was completed in 1889.", ctx);
    assert_string_equal(verdict(r), "allow");
    assert_int_equal(json_array_size(json_object_get(json_object_get(r, "grounding"), "unsupported")), 0);
    json_decref(r);
    r = guard_check(h, NULL, "output",
                    "The Eiffel Tower is in Paris. It was completed in 1925 by Gustave Eiffel. "
                    "Bananas are a great source of potassium.", ctx);
    assert_string_equal(verdict(r), "warn");
    json_t *uns = json_object_get(json_object_get(r, "grounding"), "unsupported");
    assert_int_equal(json_array_size(uns), 2);
    assert_non_null(strstr(json_string_value(json_object_get(json_array_get(uns, 0), "sentence")), "1925"));
    json_decref(r);
    const char *pol = "{\"scanners\": {\"banned\": {\"substrings\": [\"Project Zeus\"], "
                      "\"regex\": [\"(?i)acme-\\\\d{4}\"], \"topics\": [\"weapons\"]}, "
                      "\"max_length\": {\"max_bytes\": 60, \"action\": \"warn\"}}}";
    r = guard_check(h, pol, "input", "Tell me about project zeus and ticket ACME-1234.", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    r = guard_check(h, pol, "input", "Where can I buy a rifle?", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    r = guard_check(h, pol, "input", "A perfectly harmless question about gardening and tomatoes, long.", NULL);
    assert_string_equal(verdict(r), "warn");
    json_decref(r);
    mlops_close(h);
}

static void custom_and_gazetteer(void **state)
{
    (void)state;
    mlops_t *h = NULL;
    assert_ok(mlops_open(":memory:", NULL, &h));
    const char *pol = "{\"scanners\": {\"pii\": {\"entities\": [\"EMAIL_ADDRESS\"], \"custom\": ["
                      "{\"type\": \"EMPLOYEE_ID\", \"regex\": \"\\\\bEMP-\\\\d{6}\\\\b\", \"score\": 0.4,"
                      " \"context\": [\"employee\"]}]}, "
                      "\"gazetteer\": {\"entries\": {\"PERSON\": [\"Ada Lovelace\"], \"ORGANIZATION\": [\"Initech\"]}}}}";
    json_t *r = guard_check(h, pol, "input", "Employee EMP-004211 is Ada Lovelace from INITECH.", NULL);
    assert_string_equal(text_of(r), "Employee <EMPLOYEE_ID> is <PERSON> from <ORGANIZATION>.");
    json_decref(r);
    r = guard_check(h, pol, "input", "Ticket EMP-004211 closed.", NULL); /* no context: 0.4 */
    assert_string_equal(verdict(r), "allow");
    json_decref(r);
    mlops_close(h);
}

static void training(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    char data[1024], model[1024];
    snprintf(data, sizeof data, "%s/tests/guard/data/toxicity.jsonl", test_source_dir());
    char *mp = test_path(ts.dir, "tox.model");
    snprintf(model, sizeof model, "%s", mp);
    free(mp);
    char *out = NULL;
    assert_ok(mlops_guard_train(ts.h, "toxicity", data, model, &out));
    assert_non_null(strstr(out, "\"kind\":\"toxicity\""));
    mlops_free(out);
    char pol[1400];
    snprintf(pol, sizeof pol, "{\"scanners\": {\"toxicity\": {\"model\": \"%s\"}}}", model);
    json_t *r = guard_check(ts.h, pol, "output", "You are a moron.", NULL);
    assert_string_equal(verdict(r), "block");
    json_decref(r);
    /* bad data names the file and line */
    char *bad = test_path(ts.dir, "bad.jsonl");
    FILE *f = fopen(bad, "w");
    fputs("{\"text\": \"a\", \"label\": 1}\n{\"text\": 5}\n", f);
    fclose(f);
    assert_status(mlops_guard_train(ts.h, "toxicity", bad, model, &out), MLOPS_EFORMAT, "bad.jsonl:2");
    assert_status(mlops_guard_train(ts.h, "sentiment", bad, model, &out), MLOPS_EINVAL, "kind");
    free(bad);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(arguments_and_config),
        cmocka_unit_test(malformed_policies_name_the_field),
        cmocka_unit_test(stored_policies),
        cmocka_unit_test(operators_and_vault),
        cmocka_unit_test(canary_leaks),
        cmocka_unit_test(json_outputs),
        cmocka_unit_test(grounding_banned_length),
        cmocka_unit_test(custom_and_gazetteer),
        cmocka_unit_test(training),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
