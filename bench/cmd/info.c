/* bench/cmd/info.c — `accumbench info [--json]`: backends compiled in, library
 * versions, the devices and the backend --backend auto uses, or why no GPU is
 * usable. --json prints the same as one object (a sweep's meta.json
 * "device"). */
#include "cli.h"
#include "commands.h"
#include "jsonwrite.h"

#include <stdio.h>
#include <string.h>

int cmd_info(int argc, char **argv)
{
    int json = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: accumbench info [--json]\n\nPrints the backends compiled in, library versions, the devices "
                   "and the backend that --backend auto uses.\n");
            return CLI_EXIT_OK;
        }
        if (!strcmp(argv[i], "--json") && !json) {
            json = 1;
            continue;
        }
        cli_error("info: unexpected argument '%s' (info takes only --json)", argv[i]);
        return CLI_EXIT_USAGE;
    }
    ops_backend b;
    char why[256];
    ops_status st = ops_open(&b, "auto", why, sizeof why);
    const char *uses = st == OPS_OK ? b.i->name : "none";
    if (json) {
        printf("{\"backends\": [\"cpu\"%s], \"auto_backend\": \"%s\", \"auto_note\": ", ops_cuda_compiled() ? ", \"cuda\"" : "", uses);
        if (why[0]) jsonw_string(stdout, why);
        else fputs("null", stdout);
        fputs(", ", stdout);
        ops_describe(stdout, 1);
        puts("}");
    } else {
        printf("accumbench\n  backends compiled in: cpu%s\n", ops_cuda_compiled() ? ", cuda" : "");
        ops_describe(stdout, 0);
        printf("  --backend auto uses: %s%s%s%s\n", uses, why[0] ? " (" : "", why, why[0] ? ")" : "");
    }
    if (st != OPS_OK) return CLI_EXIT_CHECK;
    ops_close(&b);
    return CLI_EXIT_OK;
}
