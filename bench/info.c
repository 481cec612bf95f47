/* bench/info.c — `accumbench info`: backends compiled in, and the device the
 * auto backend would use, or why no GPU is usable. */
#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

int cmd_info(int argc, char **argv)
{
    if (argc > 2) {
        if (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h")) {
            printf("usage: accumbench info\n\nPrints the backends compiled in and the device that --backend auto uses.\n");
            return CLI_EXIT_OK;
        }
        cli_error("info: unexpected argument '%s' (info takes no flags)", argv[2]);
        return CLI_EXIT_USAGE;
    }
    printf("accumbench\n");
    printf("  backends compiled in: cpu%s\n", ops_cuda_compiled() ? ", cuda" : "");
    ops_describe(stdout);
    ops_backend b;
    char why[256];
    ops_status st = ops_open(&b, "auto", why, sizeof why);
    if (st != OPS_OK) {
        printf("  no backend could be opened: %s\n", why);
        return CLI_EXIT_CHECK;
    }
    printf("  --backend auto uses: %s%s%s%s\n", b.i->name, why[0] ? " (" : "", why, why[0] ? ")" : "");
    ops_close(&b);
    return CLI_EXIT_OK;
}
