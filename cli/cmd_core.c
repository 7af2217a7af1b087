/* mlops version | init | info */
#include "cli.h"

#include <string.h>

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    return false;
}

int cmd_version(cli *c, int argc, char **argv)
{
    (void)c;
    if (wants_help(argc, argv)) {
        puts("usage: mlops version\n\nPrints the library version.");
        return CLI_OK;
    }
    if (argc > 1)
        return cli_usage("version: unexpected argument '%s'", argv[1]);
    printf("mlops %s\n", mlops_version());
    return CLI_OK;
}

/* init and info do the same work (opening the store applies migrations); init only
 * says first what it did. */
static int print_info(cli *c, int argc, char **argv, const char *usage, bool announce)
{
    if (wants_help(argc, argv)) {
        puts(usage);
        return CLI_OK;
    }
    if (argc > 1)
        return cli_usage("%s: unexpected argument '%s'", argv[0], argv[1]);
    mlops_t *h = cli_handle(c);
    if (!h)
        return CLI_ERROR;
    char *info = NULL;
    int rc = mlops_info(h, &info);
    if (rc != MLOPS_OK)
        return cli_fail(rc, argv[0]);
    if (announce)
        printf("initialised %s\n", c->db_path);
    cli_print_free(info);
    return CLI_OK;
}

int cmd_init(cli *c, int argc, char **argv)
{
    return print_info(c, argc, argv,
                      "usage: mlops [--db PATH] init\n\n"
                      "Creates the store if it does not exist, applies schema migrations, and "
                      "prints\nits description.",
                      true);
}

int cmd_info(cli *c, int argc, char **argv)
{
    return print_info(c, argc, argv,
                      "usage: mlops [--db PATH] info\n\nPrints the store's description as JSON.",
                      false);
}
