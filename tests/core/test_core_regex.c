/* lib/core/regex.c: the shared linear-time regex engine (guard and router dialects). */
#include "test_support.h"

#include "core/core.h"

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Leftmost match of pat (guard dialect: ^ $ per line) in s. */
static bool re_find(const char *pat, const char *s, size_t *ms, size_t *me)
{
    mlops__regex *re = NULL;
    assert_ok(mlops__regex_compile(pat, "test", &re));
    bool m = mlops__regex_search(re, s, strlen(s), 0, ms, me);
    mlops__regex_free(re);
    return m;
}

/* Whether pat (router dialect: ^ $ at the text's ends) matches anywhere in text; also
   checks that search and test agree. */
static bool rx(const char *pattern, bool icase, const char *text)
{
    mlops__regex *re = NULL;
    if (mlops__regex_compile_flags(pattern, icase ? MLOPS__REGEX_ICASE : 0, "test", &re) !=
        MLOPS_OK)
        fail_msg("compile '%s': %s", pattern, mlops_last_error());
    size_t ms, me;
    bool m = mlops__regex_test(re, text, strlen(text));
    bool s = mlops__regex_search(re, text, strlen(text), 0, &ms, &me);
    mlops__regex_free(re);
    if (m != s)
        fail_msg("/%s/ on \"%s\": test %d, search %d", pattern, text, m, s);
    return m;
}

static void spans(void **state)
{
    (void)state;
    size_t s, e;
    assert_true(re_find("EMP-\\d{6}", "id EMP-123456 ok", &s, &e));
    assert_int_equal(s, 3);
    assert_int_equal(e, 13);
    assert_false(re_find("EMP-\\d{6}\\b", "EMP-1234567", &s, &e));
    assert_true(re_find("(?i)hello|world", "say WORLD", &s, &e));
    assert_int_equal(s, 4);
    assert_true(re_find("^a(b|c)+d?$", "abcbc", &s, &e));
    assert_int_equal(e, 5);
    assert_true(re_find("[^0-9]{2,3}", "12ab", &s, &e));
    assert_int_equal(s, 2);
    assert_true(re_find("colou?r", "color", &s, &e));
    assert_true(re_find("a.c", "xabcx", &s, &e));
    assert_false(re_find("a.c", "a\nc", &s, &e));
    assert_true(re_find("x*", "", &s, &e)); /* empty match */
    assert_int_equal(e, 0);
    /* leftmost-first: the first alternative wins, greedy takes most, lazy least */
    assert_true(re_find("a|ab", "ab", &s, &e));
    assert_int_equal(e, 1);
    assert_true(re_find("a+", "baaa", &s, &e));
    assert_int_equal(s, 1);
    assert_int_equal(e, 4);
    assert_true(re_find("a+?", "baaa", &s, &e));
    assert_int_equal(e, 2);
    assert_true(re_find("<.*?>", "<a><b>", &s, &e));
    assert_int_equal(e, 3);
    assert_true(re_find("x{2,3}?", "xxxx", &s, &e));
    assert_int_equal(e, 2);
    /* search from an offset; anchors and \b still see the text before it */
    mlops__regex *re = NULL;
    assert_ok(mlops__regex_compile("\\bcat", NULL, &re));
    const char *t = "cat concat cat";
    assert_true(mlops__regex_search(re, t, strlen(t), 1, &s, &e));
    assert_int_equal(s, 11);
    assert_false(mlops__regex_search(re, t, strlen(t), 12, &s, &e));
    mlops__regex_free(re);
}

static void anchors_and_flags(void **state)
{
    (void)state;
    size_t s, e;
    /* guard dialect: ^ $ at line boundaries */
    assert_true(re_find("^b$", "a\nb\nc", &s, &e));
    assert_int_equal(s, 2);
    /* router dialect: the text's ends only, unless (?m) */
    assert_false(rx("^b$", false, "a\nb\nc"));
    assert_true(rx("(?m)^b$", false, "a\nb\nc"));
    assert_true(rx("(?mi)^B$", false, "a\nb\nc"));
    assert_true(rx("(?i)ABC", false, "xabc"));
    assert_true(rx("ABC", true, "xabc"));
    assert_true(rx("[A-C]+x", true, "abcx"));
    assert_false(rx("[^a]", true, "A"));
    assert_true(rx("\\x41", true, "a"));
    /* case folding beyond ASCII */
    assert_true(rx("\xc3\x89T\xc3\x89", true, "\xc3\xa9t\xc3\xa9"));        /* ÉTÉ / été */
    assert_true(rx("\xce\xa3", true, "\xcf\x83"));                          /* Σ / σ */
    assert_true(rx("[\xd0\x90-\xd0\xaf]+$", true, "\xd0\xbc\xd0\xb8\xd1\x80")); /* мир */
}

static void utf8_units(void **state)
{
    (void)state;
    size_t s, e;
    /* a quantifier repeats the whole character; `.` takes one character */
    assert_true(rx("^\xf0\x9f\x90\xb2*$", false, "\xf0\x9f\x90\xb2\xf0\x9f\x90\xb2"));
    assert_true(rx("^.$", false, "\xc3\xa9"));
    assert_false(rx("^..$", false, "\xc3\xa9"));
    assert_true(rx("^caf.$", false, "caf\xc3\xa9"));
    /* non-ASCII class members and ranges */
    assert_true(rx("^[\xc3\xa0-\xc3\xbf]+$", false, "\xc3\xa9\xc3\xa8"));
    assert_false(rx("^[\xc3\xa0-\xc3\xbf]+$", false, "\xc3\x89"));
    assert_true(rx("^[^\xc3\xa9]$", false, "\xc3\xa8"));
    assert_false(rx("^[^\xc3\xa9]$", false, "\xc3\xa9"));
    assert_true(rx("^\\x{4e2d}\\u6587$", false, "\xe4\xb8\xad\xe6\x96\x87"));
    assert_true(rx("^[\\x{4e00}-\\x{9fff}]{2}$", false, "\xe4\xb8\xad\xe6\x96\x87"));
    /* \s knows Unicode spaces; \S and . take a stray byte as one unit */
    assert_true(rx("a\\sb", false, "a\xc2\xa0" "b"));
    assert_true(rx("a\\Sb", false, "a\xff" "b"));
    assert_true(rx("a.b", false, "a\xe2\x82" "b") == false);
    assert_true(rx("a..b", false, "a\xe2\x82" "b"));
    /* spans are byte offsets */
    assert_true(re_find("\xc3\xa9+", "caf\xc3\xa9\xc3\xa9!", &s, &e));
    assert_int_equal(s, 3);
    assert_int_equal(e, 7);
    assert_true(rx("caf\xc3\xa9", false, "un caf\xc3\xa9"));
    /* a stray byte in the pattern matches the same stray byte */
    assert_true(rx("x\xffy", false, "ax\xffy"));
}

static void syntax_subset(void **state)
{
    (void)state;
    struct {
        const char *p, *t;
        bool icase, want;
    } cases[] = {
        {"abc", "xxabcxx", false, true},     {"abc", "ab", false, false},
        {"^abc", "abcd", false, true},       {"^abc", "xabc", false, false},
        {"abc$", "xabc", false, true},       {"abc$", "abcx", false, false},
        {"a.c", "abc", false, true},         {"a.c", "a\nc", false, false},
        {"[a-c]+x", "zzbcax", false, true},  {"[^a-c]x", "ax", false, false},
        {"colou?r", "color", false, true},   {"colou?r", "colour", false, true},
        {"(ab|cd)+e", "ababcde", false, true}, {"(?:ab|cd){2}e", "abe", false, false},
        {"x{2,3}y", "xy", false, false},     {"x{2,3}y", "xxxy", false, true},
        {"x{2,}y", "xxxxxy", false, true},   {"\\d+\\.\\d+", "pi is 3.14", false, true},
        {"\\bcat\\b", "concatenate", false, false}, {"\\bcat\\b", "a cat!", false, true},
        {"\\Bcat", "concat", false, true},   {"^translate", "Translate this", true, true},
        {"^translate", "Translate this", false, false}, {"[[:x]", "[", false, true},
        {"\\s\\w+\\S", "a bcd", false, true}, {"", "anything", false, true},
        {"a|", "zzz", false, true},          {"(a*)*b", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaac", false, false},
        {"a{,2}", "a{,2}", false, true},     {"{", "{", false, true},
        {"a{x}", "a{x}", false, true},       {"[]a]+", "]a]", false, true},
        {"[a\\-z]", "-", false, true},       {"[\\d-]+$", "1-2", false, true},
        {"\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\^\\$\\\\\\/", ".*+?()[]{}|^$\\/", false, true},
        {"\\t\\n\\r\\f\\v", "\t\n\r\f\v", false, true}, {"[\\b]", "\b", false, true},
        {"\\x2A\\x2a", "**", false, true},   {"(?<year>\\d{4})-(?P<m>\\d\\d)", "2026-11", false, true},
        {"\\W\\D\\S", "!x!", false, true},   {"[\\W\\d]+", "1!2", false, true},
        {"a||b", "c", false, true},          {"(|a)+", "", false, true},
        {"^*a", "a", false, true},
    };
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(cases); i++)
        if (rx(cases[i].p, cases[i].icase, cases[i].t) != cases[i].want)
            fail_msg("case %zu: /%s/ on \"%s\": expected %d", i, cases[i].p, cases[i].t,
                     cases[i].want);
}

static void errors_name_problem_and_offset(void **state)
{
    (void)state;
    struct {
        const char *p, *needle;
    } bad[] = {
        {"(a", "missing ) at offset 0"},
        {"a)", "unmatched ) at offset 1"},
        {"*a", "nothing to repeat at offset 0"},
        {"a|+", "nothing to repeat at offset 2"},
        {"{2}", "nothing to repeat"},
        {"a**", "a quantifier follows a quantifier at offset 2"},
        {"a{2}{3}", "a quantifier follows a quantifier"},
        {"a{101}", "repetition bound over 100 at offset 1"},
        {"a{1,500}", "over 100"},
        {"a{3,2}", "repetition bounds reversed"},
        {"[a", "missing ] at offset 0"},
        {"\\", "trailing backslash"},
        {"(a)\\1", "back-references are not supported at offset 3"},
        {"\\p{L}", "unsupported escape at offset 0"},
        {"\\q", "unsupported escape"},
        {"\\xZZ", "bad \\x escape"},
        {"\\x{110000}", "bad \\x{...} escape"},
        {"\\u12", "bad \\u escape"},
        {"(?=a)", "unsupported group kind"},
        {"(?<!a)b", "unsupported group kind"},
        {"a(?i)b", "unsupported group kind"},
        {"[z-a]", "character range out of order at offset 1"},
        {"[a-\\d]", "class escape as the end of a range"},
        {"((((a{100}){100}){100}){100})", "pattern too large"},
    };
    for (size_t i = 0; i < MLOPS__ARRAY_LEN(bad); i++) {
        mlops__regex *re = NULL;
        int rc = mlops__regex_compile_flags(bad[i].p, 0, "rules[2].regex", &re);
        if (rc != MLOPS_EINVAL || re || !strstr(mlops_last_error(), bad[i].needle) ||
            strncmp(mlops_last_error(), "rules[2].regex: ", 16) != 0)
            fail_msg("/%s/: rc %d, error '%s', wanted '%s'", bad[i].p, rc, mlops_last_error(),
                     bad[i].needle);
    }
    /* deep nesting and long patterns fail cleanly */
    char deep[512];
    memset(deep, '(', 200);
    deep[200] = 'a';
    memset(deep + 201, ')', 200);
    deep[401] = '\0';
    mlops__regex *re = NULL;
    assert_status(mlops__regex_compile(deep, "r", &re), MLOPS_EINVAL, "nested too deeply");
    char *big = malloc(10002);
    memset(big, 'a', 10001);
    big[10001] = '\0';
    assert_status(mlops__regex_compile(big, "r", &re), MLOPS_EINVAL, "longer than 10000");
    /* a long plain pattern is a list, not a deep recursion */
    big[9000] = '\0';
    assert_ok(mlops__regex_compile(big, "r", &re));
    assert_true(mlops__regex_test(re, big, 9000));
    mlops__regex_free(re);
    free(big);
    mlops__regex_free(NULL);
}

/* The classic catastrophic patterns for backtracking matchers stay linear. */
static void linear_time(void **state)
{
    (void)state;
    size_t n = 200000, s, e;
    char *text = malloc(n + 1);
    memset(text, 'a', n);
    text[n] = '\0';
    assert_false(re_find("(a+)+b", text, &s, &e));
    assert_false(re_find("(a|a)*c", text, &s, &e));
    assert_false(rx("(a|aa)*(a|aa)*(a|aa)*b", false, text));
    assert_true(rx("(a|aa)*(a|aa)*$", false, text));
    assert_false(rx("(x+x+)+y", false, text));
    assert_true(re_find("a{100}$", text, &s, &e));
    assert_int_equal(s, n - 100);
    free(text);
}

/* Random patterns of the common subset agree with glibc's POSIX matcher. */
static void matches_posix(void **state)
{
    (void)state;
    uint64_t rng = 12345;
    const char *atoms[] = {"a", "b", ".", "[ab]", "[^a]", "(a|b)", "(ab)", "^", "$", "(a|)"};
    const char *quants[] = {"", "", "", "*", "+", "?", "{1,2}", "{2}"};
    char pattern[256], text[16];
    int checked = 0;
    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        int natoms = 1 + (int)(rng % 5);
        for (int a = 0; a < natoms; a++) {
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            const char *atom = atoms[rng % MLOPS__ARRAY_LEN(atoms)];
            const char *q = (strcmp(atom, "^") == 0 || strcmp(atom, "$") == 0)
                                ? ""
                                : quants[(rng >> 8) % MLOPS__ARRAY_LEN(quants)];
            len += (size_t)snprintf(pattern + len, sizeof pattern - len, "%s%s", atom, q);
        }
        if ((rng >> 20) % 4 == 0)
            len += (size_t)snprintf(pattern + len, sizeof pattern - len, "|b");
        rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
        size_t tl = rng % 8;
        for (size_t k = 0; k < tl; k++)
            text[k] = "abc"[(rng >> (8 + 2 * k)) % 3];
        text[tl] = '\0';
        regex_t posix;
        if (regcomp(&posix, pattern, REG_EXTENDED) != 0)
            continue;
        regmatch_t pm;
        bool want = regexec(&posix, text, 1, &pm, 0) == 0;
        regfree(&posix);
        if (rx(pattern, false, text) != want)
            fail_msg("/%s/ on \"%s\": POSIX says %d", pattern, text, want);
        /* the leftmost start agrees too (POSIX and Perl differ only in the end) */
        mlops__regex *re = NULL;
        assert_ok(mlops__regex_compile_flags(pattern, 0, "p", &re));
        size_t ms, me;
        if (want && (!mlops__regex_search(re, text, tl, 0, &ms, &me) || ms != (size_t)pm.rm_so))
            fail_msg("/%s/ on \"%s\": starts at %zu, POSIX %d", pattern, text, ms,
                     (int)pm.rm_so);
        mlops__regex_free(re);
        checked++;
    }
    print_message("regex: %d random patterns agree with POSIX regexec\n", checked);
    assert_true(checked > 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spans),
        cmocka_unit_test(anchors_and_flags),
        cmocka_unit_test(utf8_units),
        cmocka_unit_test(syntax_subset),
        cmocka_unit_test(errors_name_problem_and_offset),
        cmocka_unit_test(linear_time),
        cmocka_unit_test(matches_posix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
