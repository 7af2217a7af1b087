/*
 * The mlops command: shared pieces for subcommands. Each module's subcommands live in
 * cli/cmd_<module>.c and are listed in the table in cli/main.c.
 */
#ifndef MLOPS_CLI_H
#define MLOPS_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "mlops.h"

/** Exit codes of the mlops command. */
#define CLI_OK 0
#define CLI_ERROR 1 /* a library call failed: the message went to stderr */
#define CLI_USAGE 2 /* the command line was wrong */

/** Global state of one invocation. */
typedef struct cli {
    const char *db_path;  /* --db, $MLOPS_DB, else ./mlops.db */
    const char *config;   /* --config-json text, or NULL */
    mlops_t *h;           /* opened on demand by cli_handle() */
} cli;

/** A subcommand: argv[0] is the subcommand's own name. Returns an exit code. */
typedef int (*cli_fn)(cli *c, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    const char *summary;
    cli_fn run;
} cli_command;

/** Opens the store (once) and returns the handle, or NULL after printing the error. */
mlops_t *cli_handle(cli *c);

/** Prints "mlops: <what>: <library error>" to stderr and returns CLI_ERROR. */
int cli_fail(int rc, const char *what);

/** Prints a usage error to stderr and returns CLI_USAGE. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Finds "--name VALUE" or "--name=VALUE" at argv[*i]; advances *i past it.
 * Returns true when matched; *value then points into argv.
 */
bool cli_opt(int argc, char **argv, int *i, const char *name, const char **value);

/** Reads a whole stream into a malloc'd string (NULL on error). */
char *cli_read_stream(FILE *f);

/** Prints library-owned text followed by a newline and frees it. */
void cli_print_free(char *text);

/* Subcommands, one function per top-level word. */
int cmd_version(cli *c, int argc, char **argv);
int cmd_init(cli *c, int argc, char **argv);
int cmd_info(cli *c, int argc, char **argv);
int cmd_prompt(cli *c, int argc, char **argv);
int cmd_model(cli *c, int argc, char **argv);
int cmd_deploy(cli *c, int argc, char **argv);
int cmd_run(cli *c, int argc, char **argv);
int cmd_bench(cli *c, int argc, char **argv);
int cmd_tokenize(cli *c, int argc, char **argv);
int cmd_logits(cli *c, int argc, char **argv);
int cmd_embed(cli *c, int argc, char **argv);
int cmd_gguf(cli *c, int argc, char **argv);
int cmd_quantize(cli *c, int argc, char **argv);
int cmd_chat(cli *c, int argc, char **argv);
int cmd_cache(cli *c, int argc, char **argv);
int cmd_guard(cli *c, int argc, char **argv);
int cmd_keys(cli *c, int argc, char **argv);
int cmd_spend(cli *c, int argc, char **argv);
int cmd_route(cli *c, int argc, char **argv);

#endif
