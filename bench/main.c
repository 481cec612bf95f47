/* bench/main.c — accumbench's entry point: dispatch to a subcommand. */
#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
    fputs("usage: accumbench <command> [flags]\n\n"
          "accumbench measures what gradient accumulation costs: for an effective batch split into\n"
          "iter_size micro-batches it runs full, retain (one backward over all micro-batches) and\n"
          "accumulate (backward per micro-batch) steps and records time and memory.\n\n"
          "commands:\n"
          "  info     backends compiled in, the device, why a GPU is not usable\n"
          "  run      one configuration: step time, throughput, memory (run --help)\n"
          "  verify   gradients of the strategies compared (verify --help)\n",
          f);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cli_error("no command given (commands: info, run, verify; see accumbench --help)");
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(cmd, "info")) return cmd_info(argc, argv);
    if (!strcmp(cmd, "run")) return cmd_run(argc, argv);
    if (!strcmp(cmd, "verify")) return cmd_verify(argc, argv);
    cli_error("unknown command '%s' (commands: info, run, verify; see accumbench --help)", cmd);
    return CLI_EXIT_USAGE;
}
