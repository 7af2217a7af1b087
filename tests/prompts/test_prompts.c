/* The prompt registry: references, templates, versions, labels, splits, files, diff. */
#include "test_support.h"

#include "api/api.h"
#include "prompts/prompts.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- helpers --- */

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        print_error("bad JSON (%s): %s\n", err.text, text);
    assert_non_null(j);
    return j;
}

static int64_t push(mlops_t *h, const char *name, const char *text, const char *opts)
{
    int64_t v = 0;
    assert_ok(mlops_prompt_push(h, name, text, opts, &v));
    return v;
}

/* Renders and returns the "text" member (malloc'd); asserts success. */
static char *render_text(mlops_t *h, const char *ref, const char *vars, const char *opts)
{
    char *out = NULL;
    assert_ok(mlops_prompt_render(h, ref, vars, opts, &out));
    json_t *j = parse(out);
    mlops_free(out);
    const char *t = json_string_value(json_object_get(j, "text"));
    assert_non_null(t);
    char *copy = strdup(t);
    json_decref(j);
    return copy;
}

static void assert_render(mlops_t *h, const char *ref, const char *vars, const char *want)
{
    char *got = render_text(h, ref, vars, NULL);
    if (strcmp(got, want) != 0)
        print_error("render %s with %s:\n got: [%s]\nwant: [%s]\n", ref, vars ? vars : "{}", got,
                    want);
    assert_string_equal(got, want);
    free(got);
}

static int64_t served_version(mlops_t *h, const char *ref, const char *opts)
{
    char *out = NULL;
    assert_ok(mlops_prompt_get(h, ref, opts, &out));
    json_t *j = parse(out);
    mlops_free(out);
    int64_t v = json_integer_value(json_object_get(j, "version"));
    json_decref(j);
    return v;
}

/* ---------------------------------------------------------------- references */

static void references_and_names(void **state)
{
    (void)state;
    mlops__prompt_ref r;
    assert_ok(mlops__prompt_ref_parse("greet", 5, &r));
    assert_int_equal(r.kind, MLOPS__REF_DEFAULT);
    assert_string_equal(r.name, "greet");
    assert_ok(mlops__prompt_ref_parse("team/greet@production", 21, &r));
    assert_int_equal(r.kind, MLOPS__REF_LABEL);
    assert_string_equal(r.name, "team/greet");
    assert_string_equal(r.label, "production");
    assert_ok(mlops__prompt_ref_parse("greet:12", 8, &r));
    assert_int_equal(r.kind, MLOPS__REF_VERSION);
    assert_int_equal(r.version, 12);
    assert_ok(mlops__prompt_ref_parse("greet@latest", 12, &r));

    assert_status(mlops__prompt_ref_parse("", 0, &r), MLOPS_EINVAL, "empty");
    assert_status(mlops__prompt_ref_parse("greet:0", 7, &r), MLOPS_EINVAL, "positive");
    assert_status(mlops__prompt_ref_parse("greet:x", 7, &r), MLOPS_EINVAL, "positive");
    assert_status(mlops__prompt_ref_parse("greet:", 6, &r), MLOPS_EINVAL, "nothing after");
    assert_status(mlops__prompt_ref_parse("greet@7", 7, &r), MLOPS_EINVAL, "looks like a version");
    assert_status(mlops__prompt_ref_parse("greet@v7", 8, &r), MLOPS_EINVAL, "looks like a version");
    assert_status(mlops__prompt_ref_parse("greet@a/b", 9, &r), MLOPS_EINVAL, "'/'");
    assert_status(mlops__prompt_ref_parse("-greet", 6, &r), MLOPS_EINVAL, "start with");
    assert_status(mlops__prompt_ref_parse("gr eet", 6, &r), MLOPS_EINVAL, "not allowed");
    assert_status(mlops__prompt_ref_parse("a/../b", 6, &r), MLOPS_EINVAL, "'..'");
    assert_status(mlops__prompt_ref_parse("a//b", 4, &r), MLOPS_EINVAL, "segments");
    assert_status(mlops__prompt_ref_parse("a/", 2, &r), MLOPS_EINVAL, "segments");
    char longname[200];
    memset(longname, 'a', sizeof longname);
    assert_status(mlops__prompt_ref_parse(longname, 129, &r), MLOPS_EINVAL, "longer than 128");
    assert_ok(mlops__prompt_ref_parse(longname, 128, &r));

    assert_ok(mlops__prompt_label_check("production", true));
    assert_ok(mlops__prompt_label_check("v2-candidate", true));
    assert_status(mlops__prompt_label_check("latest", true), MLOPS_EINVAL, "reserved");
    assert_ok(mlops__prompt_label_check("latest", false));
    assert_status(mlops__prompt_label_check("42", true), MLOPS_EINVAL, "version");
}

/* ---------------------------------------------------------------- templates - */

static void template_language(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "t", "Hello {{name}}, {{ greeting | good day }}!", NULL);
    assert_render(h, "t", "{\"name\": \"Ada\"}", "Hello Ada, good day!");
    assert_render(h, "t", "{\"name\": \"Ada\", \"greeting\": \"hi\"}", "Hello Ada, hi!");
    assert_render(h, "t", "{\"name\": 42}", "Hello 42, good day!");
    assert_render(h, "t", "{\"name\": 0.2}", "Hello 0.2, good day!");
    assert_render(h, "t", "{\"name\": [1, \"x\"]}", "Hello [1,\"x\"], good day!");
    assert_render(h, "t", "{\"name\": null}", "Hello , good day!");

    /* sections: optional parts, inverted, arrays with {{.}} and fields, dotted names */
    push(h, "s",
         "Q: {{question}}\n"
         "{{#context}}\n"
         "Context: {{context}}\n"
         "{{/context}}\n"
         "{{^context}}\n"
         "(no context)\n"
         "{{/context}}\n"
         "{{#examples}}\n"
         "- {{.}}\n"
         "{{/examples}}\n"
         "{{#people}}{{name}} ({{age|?}}) {{/people}}\n"
         "{{#user}}User: {{user.name}}/{{name}}{{/user}}\n"
         "{{! a comment }}\n"
         "\\{{literal}}",
         NULL);
    assert_render(h, "s:1", "{\"question\": \"why?\", \"context\": \"sky\", \"examples\": [\"a\", \"b\"], "
                            "\"people\": [{\"name\": \"x\", \"age\": 3}, {\"name\": \"y\"}], \"user\": {\"name\": \"u\"}}",
                  "Q: why?\nContext: sky\n- a\n- b\nx (3) y (?) \nUser: u/u\n{{literal}}");
    assert_render(h, "s:1", "{\"question\": \"q\", \"context\": \"\", \"examples\": [], \"people\": false}",
                  "Q: q\n(no context)\n\n\n{{literal}}");

    /* strict: missing variables are errors naming them with line and column */
    char *out = NULL;
    assert_status(mlops_prompt_render(h, "s", "{}", NULL, &out), MLOPS_EINVAL,
                  "line 1 column 4: missing variable 'question'");
    assert_null(out);
    assert_ok(mlops_prompt_render(h, "t", "{}", "{\"strict\": false}", &out));
    json_t *j = parse(out);
    assert_string_equal(json_string_value(json_object_get(j, "text")), "Hello , good day!");
    json_decref(j);
    mlops_free(out);

    /* extra variables are reported */
    assert_ok(mlops_prompt_render(h, "t", "{\"name\": \"a\", \"nmae\": 1, \"zz\": 2}", NULL, &out));
    j = parse(out);
    json_t *unused = json_object_get(j, "unused");
    assert_int_equal(json_array_size(unused), 2);
    assert_string_equal(json_string_value(json_array_get(unused, 0)), "nmae");
    assert_string_equal(json_string_value(json_array_get(unused, 1)), "zz");
    json_decref(j);
    mlops_free(out);

    /* variables API */
    assert_ok(mlops_prompt_variables(h, "s", &out));
    j = parse(out);
    json_t *vars = json_object_get(j, "variables");
    bool saw_question = false, saw_context = false;
    size_t i;
    json_t *v;
    json_array_foreach(vars, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *kind = json_string_value(json_object_get(v, "kind"));
        if (strcmp(name, "question") == 0) {
            saw_question = true;
            assert_true(json_is_true(json_object_get(v, "required")));
        }
        if (strcmp(name, "context") == 0 && strcmp(kind, "section") == 0) {
            saw_context = true;
            assert_true(json_is_false(json_object_get(v, "required")));
        }
    }
    assert_true(saw_question && saw_context);
    json_decref(j);
    mlops_free(out);
    test_store_close(&ts);
}

static void template_errors(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    int64_t v = 0;
    assert_status(mlops_prompt_push(h, "e", "ok\nbad {{name", NULL, &v), MLOPS_EPARSE,
                  "line 2 column 5: '{{' is never closed");
    assert_status(mlops_prompt_push(h, "e", "{{#a}}\n  {{#b}}x{{/a}}", NULL, &v), MLOPS_EPARSE,
                  "line 2 column 10: '{{/a}}' does not close '{{#b}}' opened at line 2 column 3");
    assert_status(mlops_prompt_push(h, "e", "x {{/a}}", NULL, &v), MLOPS_EPARSE,
                  "line 1 column 3: '{{/a}}' closes no open section");
    assert_status(mlops_prompt_push(h, "e", "a\n\n  {{^open}} never", NULL, &v), MLOPS_EPARSE,
                  "line 3 column 3: section '{{^open}}' is never closed");
    assert_status(mlops_prompt_push(h, "e", "{{bad name}}", NULL, &v), MLOPS_EPARSE,
                  "bad variable name 'bad name'");
    assert_status(mlops_prompt_push(h, "e", "{{}}", NULL, &v), MLOPS_EPARSE, "empty tag");
    assert_status(mlops_prompt_push(h, "e", "{{{x}}}", NULL, &v), MLOPS_EPARSE, "unsupported");
    assert_status(mlops_prompt_push(h, "e", "{{> bad@7}}", NULL, &v), MLOPS_EPARSE,
                  "include: prompt reference 'bad@7'");
    assert_status(mlops_prompt_push(h, "e", "\xff\xfe", NULL, &v), MLOPS_EPARSE, "UTF-8");
    assert_status(mlops_prompt_push(h, "bad name", "x", NULL, &v), MLOPS_EINVAL, "prompt name");
    assert_status(mlops_prompt_push(h, "e", "x", "{\"type\": \"yaml\"}", &v), MLOPS_EINVAL,
                  "options.type");
    assert_status(mlops_prompt_push(h, "e", "x", "{\"tpye\": \"text\"}", &v), MLOPS_EINVAL,
                  "unknown key 'tpye'");
    assert_status(mlops_prompt_push(h, "e", "x", "{\"tags\": {\"a\": 1}}", &v), MLOPS_EINVAL,
                  "tags.a: expected string");
    assert_status(mlops_prompt_push(NULL, "e", "x", NULL, &v), MLOPS_EINVAL, "handle");
    assert_status(mlops_prompt_push(h, "e", NULL, NULL, &v), MLOPS_EINVAL, "template_text");

    /* nesting: 64 levels are fine, 65 are refused */
    mlops__buf b;
    mlops__buf_init(&b);
    for (int i = 0; i < 64; i++)
        mlops__buf_printf(&b, "{{#s%d}}", i);
    for (int i = 63; i >= 0; i--)
        mlops__buf_printf(&b, "{{/s%d}}", i);
    assert_ok(mlops_prompt_push(h, "deep", b.data, NULL, &v));
    mlops__buf_free(&b);
    for (int i = 0; i < 65; i++)
        mlops__buf_printf(&b, "{{#s%d}}", i);
    assert_status(mlops_prompt_push(h, "deep", b.data, NULL, &v), MLOPS_ELIMIT, "nested deeper than 64");
    mlops__buf_free(&b);
    /* 100000 unclosed sections: bounded, no recursion */
    for (int i = 0; i < 100000; i++)
        mlops__buf_puts(&b, "{{#a}}");
    assert_status(mlops_prompt_push(h, "deep", b.data, NULL, &v), MLOPS_ELIMIT, "nested");
    mlops__buf_free(&b);

    /* size: 10 MiB is the limit */
    size_t big = MLOPS__PROMPT_MAX_TEMPLATE + 1;
    char *huge = malloc(big + 1);
    memset(huge, 'x', big);
    huge[big] = '\0';
    assert_status(mlops_prompt_push(h, "huge", huge, NULL, &v), MLOPS_ELIMIT, "template limit");
    huge[big - 1] = '\0';
    assert_ok(mlops_prompt_push(h, "huge", huge, NULL, &v));
    free(huge);

    /* render output bound */
    test_store_close(&ts);
    test_store_open(&ts, "{\"prompts\": {\"max_render_bytes\": 2048}}");
    assert_ok(mlops_prompt_push(ts.h, "rep", "{{#items}}{{text}}{{/items}}", NULL, &v));
    mlops__buf_init(&b);
    mlops__buf_puts(&b, "{\"items\": [");
    for (int i = 0; i < 100; i++)
        mlops__buf_printf(&b, "%s{\"text\": \"%064d\"}", i ? "," : "", i);
    mlops__buf_puts(&b, "]}");
    char *out = NULL;
    assert_status(mlops_prompt_render(ts.h, "rep", b.data, NULL, &out), MLOPS_ELIMIT, "exceeds 2048");
    mlops__buf_free(&b);
    assert_status(mlops_prompt_render(ts.h, "rep", "[1]", NULL, &out), MLOPS_EPARSE, "vars");
    /* loops over empty bodies write nothing but are bounded too */
    mlops__buf_init(&b);
    for (int i = 0; i < 30; i++)
        mlops__buf_puts(&b, "{{#l}}");
    for (int i = 0; i < 30; i++)
        mlops__buf_puts(&b, "{{/l}}");
    assert_ok(mlops_prompt_push(ts.h, "loops", b.data, NULL, &v));
    mlops__buf_free(&b);
    assert_status(mlops_prompt_render(ts.h, "loops", "{\"l\": [1, 2, 3, 4]}", NULL, &out),
                  MLOPS_ELIMIT, "steps");
    test_store_close(&ts);

    mlops_t *bad = NULL;
    assert_status(mlops_open(":memory:", "{\"prompts\": {\"cahce\": true}}", &bad), MLOPS_ECONFIG,
                  "config.prompts: unknown key 'cahce'");
    assert_status(mlops_open(":memory:", "{\"prompts\": {\"cache\": 1}}", &bad), MLOPS_ECONFIG,
                  "config.prompts.cache");
    assert_status(mlops_open(":memory:", "{\"prompts\": {\"max_render_bytes\": 1}}", &bad),
                  MLOPS_ECONFIG, "max_render_bytes");
}

/* ---------------------------------------------------------------- versions -- */

static void versions_and_dedup(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    assert_int_equal(push(h, "p", "one {{x}}", "{\"message\": \"first\", \"actor\": \"ann\"}"), 1);
    assert_int_equal(push(h, "p", "one {{x}}", "{\"message\": \"again\"}"), 1); /* identical */
    assert_int_equal(push(h, "p", "two {{x}}", NULL), 2);
    assert_int_equal(push(h, "p", "two {{x}}", "{\"config\": {\"temperature\": 0.2}}"), 3);
    assert_int_equal(push(h, "p", "two {{x}}", "{\"config\": {\"temperature\": 0.2}}"), 3);
    assert_int_equal(push(h, "p", "one {{x}}", NULL), 4); /* a revert is a new version */
    assert_int_equal(push(h, "q", "other", NULL), 1);

    char *out = NULL;
    assert_ok(mlops_prompt_get(h, "p:1", NULL, &out));
    json_t *j = parse(out);
    mlops_free(out);
    assert_string_equal(json_string_value(json_object_get(j, "message")), "first");
    assert_string_equal(json_string_value(json_object_get(j, "created_by")), "ann");
    assert_string_equal(json_string_value(json_object_get(j, "template")), "one {{x}}");
    json_decref(j);
    assert_ok(mlops_prompt_get(h, "p:3", NULL, &out));
    j = parse(out);
    mlops_free(out);
    assert_true(json_real_value(json_object_get(json_object_get(j, "config"), "temperature")) == 0.2);
    json_decref(j);

    assert_status(mlops_prompt_get(h, "nope", NULL, &out), MLOPS_ENOTFOUND, "prompt 'nope' not found");
    assert_status(mlops_prompt_get(h, "p:9", NULL, &out), MLOPS_ENOTFOUND, "p:9");
    assert_status(mlops_prompt_get(h, "p@staging", NULL, &out), MLOPS_ENOTFOUND, "p@staging");
    assert_status(mlops_prompt_get(h, "p", "{\"kye\": 1}", &out), MLOPS_EINVAL, "unknown key 'kye'");
    assert_int_equal(served_version(h, "p", NULL), 4);
    assert_int_equal(served_version(h, "p@latest", NULL), 4);

    /* chat templates with a history placeholder */
    const char *chat = "[{\"role\": \"system\", \"content\": \"You are {{persona}}.\", \"name\": \"sys\"},"
                       " {\"role\": \"placeholder\", \"content\": \"{{history}}\"},"
                       " {\"role\": \"user\", \"content\": \"{{question}}\"}]";
    assert_int_equal(push(h, "chat", chat, "{\"type\": \"chat\"}"), 1);
    assert_ok(mlops_prompt_render(h, "chat",
                                  "{\"persona\": \"terse\", \"question\": \"why?\", \"history\": "
                                  "[{\"role\": \"user\", \"content\": \"hi\"}, {\"role\": "
                                  "\"assistant\", \"content\": \"hello\"}]}",
                                  NULL, &out));
    j = parse(out);
    mlops_free(out);
    json_t *msgs = json_object_get(j, "messages");
    assert_int_equal(json_array_size(msgs), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "content")), "You are terse.");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 0), "name")), "sys");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 2), "content")), "hello");
    assert_string_equal(json_string_value(json_object_get(json_array_get(msgs, 3), "content")), "why?");
    assert_string_equal(json_string_value(json_object_get(j, "type")), "chat");
    json_decref(j);
    assert_status(mlops_prompt_render(h, "chat", "{\"persona\": \"a\", \"question\": \"b\"}", NULL, &out),
                  MLOPS_EINVAL, "missing variable 'history'");
    assert_status(mlops_prompt_render(h, "chat", "{\"persona\": \"a\", \"question\": \"b\", \"history\": 3}",
                                      NULL, &out),
                  MLOPS_EINVAL, "JSON array");
    assert_ok(mlops_prompt_variables(h, "chat", &out));
    assert_non_null(strstr(out, "\"kind\":\"placeholder\""));
    mlops_free(out);
    int64_t v = 0;
    assert_status(mlops_prompt_push(h, "chat", "{\"role\": \"user\"}", "{\"type\": \"chat\"}", &v),
                  MLOPS_EPARSE, "non-empty JSON array");
    assert_status(mlops_prompt_push(h, "chat", "[{\"role\": \"user\", \"content\": 3}]", "{\"type\": \"chat\"}", &v),
                  MLOPS_EPARSE, "messages[0].content: expected string");
    assert_status(mlops_prompt_push(h, "chat", "[{\"role\": \"user\", \"content\": \"{{#a}}\"}]",
                                    "{\"type\": \"chat\"}", &v),
                  MLOPS_EPARSE, "messages[0].content: line 1 column 1");
    assert_status(mlops_prompt_push(h, "chat", "[{\"role\": \"placeholder\", \"content\": \"x {{h}}\"}]",
                                    "{\"type\": \"chat\"}", &v),
                  MLOPS_EPARSE, "one variable");
    assert_status(mlops_prompt_push(h, "chat", "[{\"role\": ", "{\"type\": \"chat\"}", &v), MLOPS_EPARSE,
                  "line 1");
    test_store_close(&ts);
}

/* ---------------------------------------------------------------- labels ---- */

static void labels_and_history(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "p", "v1", NULL);
    push(h, "p", "v2", NULL);
    push(h, "p", "v3", NULL);
    assert_int_equal(served_version(h, "p", NULL), 3); /* no production: latest */
    assert_ok(mlops_prompt_label_set(h, "p", 1, "production", "{\"actor\": \"ann\", \"reason\": \"launch\"}"));
    assert_int_equal(served_version(h, "p", NULL), 1);
    assert_int_equal(served_version(h, "p@production", NULL), 1);
    assert_ok(mlops_prompt_label_set(h, "p", 2, "production", "{\"actor\": \"bob\"}"));
    assert_ok(mlops_prompt_label_set(h, "p", 2, "production", NULL)); /* no move, no record */
    assert_int_equal(served_version(h, "p", NULL), 2);
    assert_ok(mlops_prompt_label_set(h, "p", 3, "staging", NULL));
    assert_ok(mlops_prompt_label_delete(h, "p", "staging", "{\"reason\": \"done\"}"));
    assert_status(mlops_prompt_label_delete(h, "p", "staging", NULL), MLOPS_ENOTFOUND, "no label 'staging'");
    char *out = NULL;
    assert_status(mlops_prompt_get(h, "p@staging", NULL, &out), MLOPS_ENOTFOUND, "p@staging");

    assert_status(mlops_prompt_label_set(h, "p", 9, "production", NULL), MLOPS_ENOTFOUND, "p:9");
    assert_status(mlops_prompt_label_set(h, "zz", 1, "production", NULL), MLOPS_ENOTFOUND, "prompt 'zz'");
    assert_status(mlops_prompt_label_set(h, "p", 1, "latest", NULL), MLOPS_EINVAL, "reserved");
    assert_status(mlops_prompt_label_set(h, "p", 1, "3", NULL), MLOPS_EINVAL, "looks like a version");
    assert_status(mlops_prompt_label_set(h, "p", 1, "v3", NULL), MLOPS_EINVAL, "looks like a version");
    assert_status(mlops_prompt_label_set(h, "p", 0, "x", NULL), MLOPS_EINVAL, "positive");
    assert_status(mlops_prompt_label_set(h, "p", 1, "x", "{\"who\": 1}"), MLOPS_EINVAL, "unknown key 'who'");

    assert_ok(mlops_prompt_history(h, "p", &out));
    json_t *j = parse(out);
    mlops_free(out);
    assert_int_equal(json_array_size(json_object_get(j, "versions")), 3);
    json_t *moves = json_object_get(j, "label_moves");
    assert_int_equal(json_array_size(moves), 4);
    json_t *m0 = json_array_get(moves, 0), *m1 = json_array_get(moves, 1), *m3 = json_array_get(moves, 3);
    assert_true(json_is_null(json_object_get(m0, "from")));
    assert_int_equal(json_integer_value(json_object_get(m0, "to")), 1);
    assert_string_equal(json_string_value(json_object_get(m0, "actor")), "ann");
    assert_string_equal(json_string_value(json_object_get(m0, "reason")), "launch");
    assert_non_null(json_string_value(json_object_get(m0, "at")));
    assert_int_equal(json_integer_value(json_object_get(m1, "from")), 1);
    assert_int_equal(json_integer_value(json_object_get(m1, "to")), 2);
    assert_true(json_is_null(json_object_get(m3, "to")));
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "labels"), "production")), 2);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "labels"), "latest")), 3);
    json_decref(j);

    /* the history is append-only even for SQL written by hand */
    sqlite3 *db = mlops__store_lock(h->store);
    assert_int_not_equal(sqlite3_exec(db, "DELETE FROM prompt_label_history", NULL, NULL, NULL), SQLITE_OK);
    assert_int_not_equal(sqlite3_exec(db, "UPDATE prompt_versions SET template = 'x'", NULL, NULL, NULL), SQLITE_OK);
    mlops__store_unlock(h->store);
    test_store_close(&ts);
}

static void includes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "sig", "-- {{team|the team}}", NULL);
    push(h, "mail", "Dear {{name}},\n{{body}}\n{{> sig}}", NULL);
    assert_render(h, "mail", "{\"name\": \"Ada\", \"body\": \"hi\", \"team\": \"ops\"}",
                  "Dear Ada,\nhi\n-- ops");
    /* the include's variables count as used */
    char *out = NULL;
    assert_ok(mlops_prompt_render(h, "mail", "{\"name\": \"a\", \"body\": \"b\", \"team\": \"c\"}", NULL, &out));
    assert_non_null(strstr(out, "\"unused\":[]"));
    mlops_free(out);
    /* cycles: a -> b -> a */
    push(h, "a", "A {{> b@production}}", NULL);
    push(h, "b", "B {{> a}}", NULL);
    assert_ok(mlops_prompt_label_set(h, "b", 1, "production", NULL));
    assert_status(mlops_prompt_render(h, "a", NULL, NULL, &out), MLOPS_EINVAL, "include cycle: a:1 -> b:1 -> a:1");
    push(h, "self", "me {{> self}}", NULL);
    assert_status(mlops_prompt_render(h, "self", NULL, NULL, &out), MLOPS_EINVAL, "include cycle");
    push(h, "missing", "x {{> ghost}}", NULL);
    assert_status(mlops_prompt_render(h, "missing", NULL, NULL, &out), MLOPS_ENOTFOUND, "ghost");
    push(h, "c", "[{\"role\": \"user\", \"content\": \"x\"}]", "{\"type\": \"chat\"}");
    push(h, "inc_chat", "{{> c}}", NULL);
    assert_status(mlops_prompt_render(h, "inc_chat", NULL, NULL, &out), MLOPS_EINVAL, "chat prompt");
    /* a chain longer than the include depth */
    for (int i = 0; i < 12; i++) {
        char name[16], text[32];
        snprintf(name, sizeof name, "d%d", i);
        snprintf(text, sizeof text, "%d{{> d%d}}", i, i + 1);
        push(h, name, text, NULL);
    }
    push(h, "d12", "end", NULL);
    assert_status(mlops_prompt_render(h, "d0", NULL, NULL, &out), MLOPS_ELIMIT, "deeper than 8");
    assert_render(h, "d5", NULL, "567891011end");
    test_store_close(&ts);
}

static void splits(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "p", "A", NULL);
    push(h, "p", "B", NULL);
    push(h, "p", "C", NULL);
    assert_status(mlops_prompt_label_split(h, "p", "ab", "{\"split\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 20}]}", NULL),
                  MLOPS_EINVAL, "weights must sum to 100, they sum to 110");
    assert_status(mlops_prompt_label_split(h, "p", "ab", "{\"split\": [{\"version\": 1, \"weight\": 100}, {\"version\": 1, \"weight\": 0}]}", NULL),
                  MLOPS_EINVAL, "appears twice");
    assert_status(mlops_prompt_label_split(h, "p", "ab", "{\"split\": [{\"version\": 7, \"weight\": 100}]}", NULL),
                  MLOPS_ENOTFOUND, "p:7");
    assert_status(mlops_prompt_label_split(h, "p", "ab", "{\"split\": [{\"version\": 1}]}", NULL),
                  MLOPS_EINVAL, "weight");
    assert_status(mlops_prompt_label_split(h, "p", "ab", "{\"split\": 3}", NULL), MLOPS_EINVAL, "split");
    assert_ok(mlops_prompt_label_split(h, "p", "ab", "{\"split\": [{\"version\": 1, \"weight\": 90}, {\"version\": 2, \"weight\": 10}]}",
                                       "{\"actor\": \"exp\"}"));
    /* sticky per key, roughly weighted over many keys */
    int counts[4] = {0};
    for (int i = 0; i < 2000; i++) {
        char opts[64];
        snprintf(opts, sizeof opts, "{\"key\": \"user-%d\"}", i);
        int64_t v = served_version(h, "p@ab", opts);
        assert_true(v == 1 || v == 2);
        counts[v]++;
        if (i < 50)
            assert_int_equal(served_version(h, "p@ab", opts), v);
    }
    assert_true(counts[1] > 1600 && counts[1] < 1990);
    assert_true(counts[2] > 10 && counts[2] < 400);
    /* the render result says which version served */
    char *out = NULL;
    assert_ok(mlops_prompt_render(h, "p@ab", NULL, "{\"key\": \"user-1\"}", &out));
    json_t *j = parse(out);
    mlops_free(out);
    assert_true(json_is_true(json_object_get(j, "split")));
    assert_string_equal(json_string_value(json_object_get(j, "label")), "ab");
    int64_t v = json_integer_value(json_object_get(j, "version"));
    assert_string_equal(json_string_value(json_object_get(j, "text")), v == 1 ? "A" : "B");
    json_decref(j);
    /* no key: random by weight, still one of the arms */
    for (int i = 0; i < 20; i++) {
        int64_t w = served_version(h, "p@ab", NULL);
        assert_true(w == 1 || w == 2);
    }
    /* moving the split to 100% of version 3 takes effect at once */
    assert_ok(mlops_prompt_label_split(h, "p", "ab", "[{\"version\": 3, \"weight\": 100}]", NULL));
    assert_int_equal(served_version(h, "p@ab", "{\"key\": \"user-1\"}"), 3);
    assert_ok(mlops_prompt_history(h, "p", &out));
    assert_non_null(strstr(out, "\"to\":{\"split\":[{\"version\":1,\"weight\":90},{\"version\":2,\"weight\":10}]}"));
    mlops_free(out);
    test_store_close(&ts);
}

static void list_and_diff(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "team/a", "a", "{\"tags\": {\"owner\": \"ann\", \"tier\": \"gold\"}}");
    push(h, "team/b", "b", "{\"tags\": {\"owner\": \"bob\"}}");
    push(h, "other", "o", NULL);
    assert_ok(mlops_prompt_label_set(h, "team/b", 1, "production", NULL));
    char *out = NULL;
    assert_ok(mlops_prompt_list(h, NULL, &out));
    json_t *j = parse(out);
    mlops_free(out);
    json_t *ps = json_object_get(j, "prompts");
    assert_int_equal(json_array_size(ps), 3);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ps, 0), "name")), "other");
    json_decref(j);
#define LIST_COUNT(filter, n)                                                                  \
    do {                                                                                       \
        assert_ok(mlops_prompt_list(h, filter, &out));                                         \
        json_t *l_ = parse(out);                                                               \
        mlops_free(out);                                                                       \
        assert_int_equal(json_array_size(json_object_get(l_, "prompts")), n);                  \
        json_decref(l_);                                                                       \
    } while (0)
    LIST_COUNT("{\"prefix\": \"team/\"}", 2);
    LIST_COUNT("{\"tag\": \"owner\"}", 2);
    LIST_COUNT("{\"tag\": \"owner=ann\"}", 1);
    LIST_COUNT("{\"tag\": \"tier=silver\"}", 0);
    LIST_COUNT("{\"label\": \"production\"}", 1);
    LIST_COUNT("{\"prefix\": \"team/\", \"label\": \"production\", \"tag\": \"owner=bob\"}", 1);
    assert_status(mlops_prompt_list(h, "{\"prefx\": \"a\"}", &out), MLOPS_EINVAL, "unknown key 'prefx'");

    push(h, "d", "line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\n", NULL);
    push(h, "d", "line 1\nline two\nline 3\nline 4\nline 5\nline 6\nline 7\nline 8\nline 9\nline 10\n", NULL);
    assert_ok(mlops_prompt_diff(h, "d", 1, 2, &out));
    const char *want = "--- d:1\n+++ d:2\n"
                       "@@ -1,5 +1,5 @@\n line 1\n-line 2\n+line two\n line 3\n line 4\n line 5\n"
                       "@@ -7,3 +7,4 @@\n line 7\n line 8\n line 9\n+line 10\n";
    if (strcmp(out, want) != 0)
        print_error("diff:\n%s", out);
    assert_string_equal(out, want);
    mlops_free(out);
    assert_ok(mlops_prompt_diff(h, "d", 2, 2, &out));
    assert_string_equal(out, "");
    mlops_free(out);
    assert_status(mlops_prompt_diff(h, "d", 1, 5, &out), MLOPS_ENOTFOUND, "d:5");
    test_store_close(&ts);
}

/* ---------------------------------------------------------------- files ----- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void export_import(void **state)
{
    (void)state;
    test_store a, b;
    test_store_open(&a, NULL);
    test_store_open(&b, NULL);
    push(a.h, "team/greet", "Hello {{name}}\n", "{\"message\": \"first\", \"tags\": {\"k\": \"v\"}}");
    push(a.h, "team/greet", "Hi {{name}}\n", "{\"config\": {\"temperature\": 0.5}}");
    push(a.h, "team/greet", "Hello {{name}}\n", NULL); /* a revert: v3 == v1 */
    push(a.h, "chat", "[{\"role\": \"user\", \"content\": \"{{q}}\"}]", "{\"type\": \"chat\"}");
    assert_ok(mlops_prompt_label_set(a.h, "team/greet", 2, "production", NULL));
    assert_ok(mlops_prompt_label_split(a.h, "team/greet", "ab", "[{\"version\": 1, \"weight\": 50}, {\"version\": 3, \"weight\": 50}]", NULL));

    char *dir = test_path(a.dir, "tree");
    assert_ok(mlops_prompt_export(a.h, dir, NULL));
    char *p = test_path(dir, "team/greet/v2.txt");
    char *text = slurp(p);
    assert_non_null(text);
    assert_string_equal(text, "Hi {{name}}\n");
    free(text);
    free(p);
    p = test_path(dir, "team/greet/labels.json");
    text = slurp(p);
    assert_non_null(strstr(text, "\"production\": 2"));
    free(text);
    free(p);
    p = test_path(dir, "chat/v1.json");
    text = slurp(p);
    assert_non_null(strstr(text, "\"role\": \"user\""));
    free(text);
    free(p);

    char *out = NULL;
    assert_ok(mlops_prompt_import(b.h, dir, "{\"actor\": \"ci\"}", &out));
    json_t *j = parse(out);
    mlops_free(out);
    assert_int_equal(json_integer_value(json_object_get(j, "prompts")), 2);
    assert_int_equal(json_array_size(json_object_get(j, "created")), 4);
    assert_int_equal(json_array_size(json_object_get(j, "labels_moved")), 2);
    json_decref(j);
    assert_int_equal(served_version(b.h, "team/greet", NULL), 2);
    assert_int_equal(served_version(b.h, "team/greet@latest", NULL), 3);
    assert_render(b.h, "team/greet:2", "{\"name\": \"x\"}", "Hi x\n");

    /* idempotent: the same tree again changes nothing */
    uint64_t before = mlops__store_change_counter(b.h->store);
    assert_ok(mlops_prompt_import(b.h, dir, NULL, &out));
    j = parse(out);
    mlops_free(out);
    assert_int_equal(json_array_size(json_object_get(j, "created")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "labels_moved")), 0);
    assert_int_equal(json_integer_value(json_object_get(j, "unchanged")), 4);
    json_decref(j);
    assert_true(mlops__store_change_counter(b.h->store) == before);

    /* re-export from b gives the same template and label files */
    char *dir2 = test_path(b.dir, "tree2");
    assert_ok(mlops_prompt_export(b.h, dir2, "team/greet"));
    const char *files[] = {"team/greet/v1.txt", "team/greet/v2.txt", "team/greet/v3.txt",
                           "team/greet/labels.json"};
    for (size_t i = 0; i < 4; i++) {
        char *p1 = test_path(dir, files[i]), *p2 = test_path(dir2, files[i]);
        char *t1 = slurp(p1), *t2 = slurp(p2);
        assert_non_null(t1);
        assert_non_null(t2);
        assert_string_equal(t1, t2);
        free(t1);
        free(t2);
        free(p1);
        free(p2);
    }

    /* a sync: edit a file, add a label, import again */
    p = test_path(dir, "team/greet/v4.txt");
    FILE *f = fopen(p, "w");
    fputs("Howdy {{name}}\n", f);
    fclose(f);
    free(p);
    p = test_path(dir, "team/greet/labels.json");
    f = fopen(p, "w");
    fputs("{\"production\": 4}\n", f);
    fclose(f);
    free(p);
    assert_ok(mlops_prompt_import(b.h, dir, NULL, &out));
    j = parse(out);
    mlops_free(out);
    assert_int_equal(json_array_size(json_object_get(j, "created")), 1);
    json_decref(j);
    assert_int_equal(served_version(b.h, "team/greet", NULL), 4);

    /* bad trees are refused whole, naming the file */
    p = test_path(dir, "team/greet/labels.json");
    f = fopen(p, "w");
    fputs("{\"production\": 9}\n", f);
    fclose(f);
    assert_status(mlops_prompt_import(b.h, dir, NULL, &out), MLOPS_EFORMAT, "labels.json: label 'production' names version 9");
    f = fopen(p, "w");
    fputs("{\"latest\": 1}\n", f);
    fclose(f);
    assert_status(mlops_prompt_import(b.h, dir, NULL, &out), MLOPS_EFORMAT, "reserved");
    free(p);
    p = test_path(dir, "team/greet/labels.json");
    remove(p);
    free(p);
    p = test_path(dir, "team/greet/v5.txt");
    f = fopen(p, "w");
    fputs("{{#open}}", f);
    fclose(f);
    assert_status(mlops_prompt_import(b.h, dir, NULL, &out), MLOPS_EPARSE, "v5.txt: line 1 column 1");
    free(p);
    assert_status(mlops_prompt_import(b.h, "/nonexistent/dir", NULL, &out), MLOPS_EIO, "not a directory");
    assert_int_equal(served_version(b.h, "team/greet@latest", NULL), 4);

    free(dir);
    free(dir2);
    test_store_close(&a);
    test_store_close(&b);
}

static void cache_off_behaves_the_same(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"prompts\": {\"cache\": false}}");
    push(ts.h, "p", "x {{a}}", NULL);
    push(ts.h, "p", "y {{a}}", NULL);
    assert_ok(mlops_prompt_label_set(ts.h, "p", 1, "production", NULL));
    assert_render(ts.h, "p", "{\"a\": 1}", "x 1");
    assert_ok(mlops_prompt_label_set(ts.h, "p", 2, "production", NULL));
    assert_render(ts.h, "p", "{\"a\": 1}", "y 1");
    mlops__prompts_set_cache(ts.h->prompts, true);
    assert_render(ts.h, "p", "{\"a\": 1}", "y 1");
    assert_render(ts.h, "p", "{\"a\": 2}", "y 2");
    assert_ok(mlops_prompt_label_set(ts.h, "p", 1, "production", NULL));
    assert_render(ts.h, "p", "{\"a\": 3}", "x 3");
    test_store_close(&ts);
}

/* Writes by other modules to the same file do not throw the labels away; prompt writes do. */
static void cache_survives_foreign_writes(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, NULL);
    mlops_t *h = ts.h;
    push(h, "p", "one {{x}}", NULL);
    push(h, "p", "two {{x}}", NULL);
    assert_ok(mlops_prompt_label_set(h, "p", 1, "production", NULL));
    assert_render(h, "p@production", "{\"x\": 1}", "one 1");
    uint64_t hits0, reval0, miss0, hits, reval, miss;
    mlops__prompts_cache_stats(h->prompts, &hits0, &reval0, &miss0);
    assert_render(h, "p@production", "{\"x\": 1}", "one 1");
    mlops__prompts_cache_stats(h->prompts, &hits, &reval, &miss);
    assert_int_equal(hits, hits0 + 1);
    assert_int_equal(miss, miss0);

    /* another connection writes something that is not a prompt */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(ts.db_path, &db), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO mlops_meta(key, value) VALUES('other', 'x')",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_render(h, "p@production", "{\"x\": 2}", "one 2");
    mlops__prompts_cache_stats(h->prompts, &hits0, &reval0, &miss0);
    assert_int_equal(reval0, reval + 1);
    assert_int_equal(miss0, miss);

    /* a label move by that connection, even in raw SQL, is seen on the next call */
    assert_int_equal(sqlite3_exec(db, "UPDATE prompt_labels SET version = 2 WHERE label = 'production'",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_render(h, "p@production", "{\"x\": 3}", "two 3");
    mlops__prompts_cache_stats(h->prompts, &hits, &reval, &miss);
    assert_int_equal(miss, miss0 + 1);
    sqlite3_close(db);
    /* and a push changes what "latest" means */
    assert_render(h, "p@latest", "{\"x\": 4}", "two 4");
    push(h, "p", "three {{x}}", NULL);
    assert_render(h, "p@latest", "{\"x\": 5}", "three 5");
    test_store_close(&ts);
}

/* The face later modules use: resolve and render without JSON text. */
static void internal_render_and_eviction(void **state)
{
    (void)state;
    test_store ts;
    test_store_open(&ts, "{\"prompts\": {\"cache_max_entries\": 16}}");
    mlops_t *h = ts.h;
    push(h, "sys", "Be {{tone}}.", "{\"config\": {\"model\": \"m\"}}");
    push(h, "sys", "Be very {{tone}}.", NULL);
    assert_ok(mlops_prompt_label_split(h, "sys", "production", "[{\"version\": 1, \"weight\": 50}, {\"version\": 2, \"weight\": 50}]", NULL));
    json_t *vars = parse("{\"tone\": \"brief\", \"extra\": 1}");
    mlops__prompt_rendered r;
    assert_ok(mlops__prompts_render(h->prompts, "sys", vars, "caller-9", true, &r));
    assert_string_equal(r.name, "sys");
    assert_true(r.version == 1 || r.version == 2);
    assert_string_equal(r.served.label, "production");
    assert_true(r.served.split);
    assert_int_equal(r.type, MLOPS__PROMPT_TEXT);
    assert_string_equal(r.text, r.version == 1 ? "Be brief." : "Be very brief.");
    assert_string_equal(r.unused, "[\"extra\"]");
    assert_string_equal(r.config, r.version == 1 ? "{\"model\":\"m\"}" : "{}");
    int64_t first = r.version;
    mlops__prompt_rendered_free(&r);
    /* sticky: the same caller lands on the same version, also through get */
    for (int i = 0; i < 10; i++) {
        assert_ok(mlops__prompts_render(h->prompts, "sys", vars, "caller-9", true, &r));
        assert_int_equal(r.version, first);
        mlops__prompt_rendered_free(&r);
    }
    assert_int_equal(served_version(h, "sys", "{\"key\": \"caller-9\"}"), first);
    mlops__prompt_version *v = NULL;
    mlops__prompt_served served;
    assert_ok(mlops__prompts_resolve(h->prompts, "sys:2", NULL, &v, &served));
    assert_int_equal(v->version, 2);
    assert_string_equal(served.label, "");
    mlops__prompt_version_unref(v);
    assert_status(mlops__prompts_render(h->prompts, "sys", NULL, NULL, true, &r), MLOPS_EINVAL,
                  "missing variable 'tone'");
    /* many prompts through a 16-entry cache: evictions never change answers */
    for (int i = 0; i < 40; i++) {
        char name[16], text[32];
        snprintf(name, sizeof name, "n%d", i);
        snprintf(text, sizeof text, "#%d {{tone}}", i);
        push(h, name, text, NULL);
    }
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 40; i++) {
            char ref[32], want[32];
            snprintf(ref, sizeof ref, "n%d%s", i, round == 1 ? "@latest" : round == 2 ? ":1" : "");
            snprintf(want, sizeof want, "#%d brief", i);
            assert_ok(mlops__prompts_render(h->prompts, ref, vars, NULL, true, &r));
            assert_string_equal(r.text, want);
            mlops__prompt_rendered_free(&r);
        }
    json_decref(vars);
    test_store_close(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(references_and_names),
        cmocka_unit_test(template_language),
        cmocka_unit_test(template_errors),
        cmocka_unit_test(versions_and_dedup),
        cmocka_unit_test(labels_and_history),
        cmocka_unit_test(includes),
        cmocka_unit_test(splits),
        cmocka_unit_test(list_and_diff),
        cmocka_unit_test(export_import),
        cmocka_unit_test(cache_off_behaves_the_same),
        cmocka_unit_test(internal_render_and_eviction),
        cmocka_unit_test(cache_survives_foreign_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
