/* `mlops prompt ...`: the command line drives the registry end to end. */
#include "test_support.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

typedef struct run_result {
    int status;
    char out[8192];
} run_result;

/* Runs `mlops --db DB prompt ARGS` through the shell, capturing stdout (stderr too when
 * `with_err`). */
static run_result run(const char *db, const char *args, bool with_err)
{
    run_result r;
    memset(&r, 0, sizeof r);
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "'%s/mlops' --db '%s' prompt %s%s", test_binary_dir(), db, args,
             with_err ? " 2>&1" : " 2>/dev/null");
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(r.out, 1, sizeof r.out - 1, p);
    r.out[n] = '\0';
    int st = pclose(p);
    r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

static void expect(const char *db, const char *args, int status, const char *needle)
{
    run_result r = run(db, args, true);
    bool found = !needle || strstr(r.out, needle) != NULL;
    if (r.status != status || !found)
        print_error("mlops prompt %s -> %d:\n%s\n", args, r.status, r.out);
    assert_int_equal(r.status, status);
    assert_true(found);
}

#define EXPECT(db, args, status, needle) expect(db, args, status, needle)

static void cli_end_to_end(void **state)
{
    (void)state;
    char path[4096];
    snprintf(path, sizeof path, "%s/mlops", test_binary_dir());
    FILE *probe = fopen(path, "rb");
    if (!probe) {
        print_message("mlops binary not built; skipping\n");
        skip();
    }
    fclose(probe);
    char *dir = test_tmpdir();
    char *db = test_path(dir, "cli.db");
    char *file = test_path(dir, "chat.json");
    FILE *f = fopen(file, "w");
    fputs("[{\"role\": \"system\", \"content\": \"Be {{tone}}.\"},"
          " {\"role\": \"placeholder\", \"content\": \"{{history|}}\"},"
          " {\"role\": \"user\", \"content\": \"{{q}}\"}]",
          f);
    fclose(f);

    EXPECT(db, "push greet --text 'Hello {{name}}!' --message first --tag team=x", 0, "1\n");
    EXPECT(db, "push greet --text 'Hello {{name}}!'", 0, "1\n");
    EXPECT(db, "push greet --text 'Hi {{name}} {{#extra}}({{extra}}){{/extra}}' --config '{\"temperature\": 0.5}'", 0, "2\n");
    char args[4200];
    snprintf(args, sizeof args, "push chat --type chat --file '%s'", file);
    EXPECT(db, args, 0, "1\n");
    EXPECT(db, "render greet --var name=Ada", 0, "Hi Ada \n");
    EXPECT(db, "render greet:1 --vars '{\"name\": \"Bob\"}' --var name=Ada", 0, "Hello Ada!\n");
    EXPECT(db, "render greet:1 --var name=Ada --var zz=1", 0, "unused variables: \"zz\"");
    EXPECT(db, "render greet:1", 1, "missing variable 'name'");
    EXPECT(db, "render greet:1 --lenient", 0, "Hello !");
    EXPECT(db, "render greet:1 --var name=A --json", 0, "\"text\":\"Hello A!\"");
    EXPECT(db, "render chat --var tone=brief --var q=why", 0,
           "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"why\"}]");
    EXPECT(db, "label greet 1 production --actor ann --reason launch", 0, NULL);
    EXPECT(db, "get greet", 0, "\"version\":1");
    EXPECT(db, "label greet 1 latest", 1, "reserved");
    EXPECT(db, "label greet x production", 2, "VERSION must be a number");
    EXPECT(db, "split greet ab 1=50 2=50", 0, NULL);
    EXPECT(db, "split greet ab 1=50 2=40", 1, "sum to 100");
    EXPECT(db, "get greet@ab --key user-1", 0, "\"split\":true");
    EXPECT(db, "unlabel greet ab", 0, NULL);
    EXPECT(db, "history greet", 0, "\"actor\":\"ann\"");
    EXPECT(db, "list --label production", 0, "\"name\":\"greet\"");
    EXPECT(db, "list --tag team=x", 0, "\"prompts\":[]"); /* the latest version has no tags */
    EXPECT(db, "diff greet 1 2", 0, "-Hello {{name}}!\n+Hi {{name}}");
    EXPECT(db, "variables chat", 0, "\"kind\":\"placeholder\"");
    EXPECT(db, "get nope", 1, "prompt 'nope' not found");
    EXPECT(db, "get greet:9", 1, "greet:9");
    EXPECT(db, "push 'bad name' --text x", 1, "prompt name");
    EXPECT(db, "push greet", 2, "exactly one of --file");
    EXPECT(db, "push greet --text '{{#a}}'", 1, "line 1 column 1");
    EXPECT(db, "frobnicate", 2, "unknown subcommand");
    EXPECT(db, "--help", 0, "push NAME");

    char *tree = test_path(dir, "tree");
    char *db2 = test_path(dir, "cli2.db");
    snprintf(args, sizeof args, "export '%s'", tree);
    EXPECT(db, args, 0, "exported");
    snprintf(args, sizeof args, "import '%s' --actor ci", tree);
    EXPECT(db2, args, 0, "\"unchanged\":0");
    EXPECT(db2, args, 0, "\"created\":[]");
    EXPECT(db2, "render greet --var name=Z", 0, "Hello Z!");
    free(tree);
    free(db2);
    free(db);
    free(file);
    test_tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cli_end_to_end),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
