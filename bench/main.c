/* bench/main.c — accumbench's entry point: dispatch to a subcommand. */
#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *what;
} commands[] = {
    {"info", cmd_info, "backends compiled in, library versions, the device, why a GPU is not usable"},
    {"run", cmd_run, "one configuration: step time, throughput, memory, per-kernel times"},
    {"verify", cmd_verify, "gradients of the strategies compared (--dump for the PyTorch cross-check)"},
    {"sweep", cmd_sweep, "every configuration of a profile, one run process each, into a results directory"},
    {"report", cmd_report, "redraw a results directory's plots, report.html and summary.md"},
    {"plan", cmd_plan, "strategy, micro-batch and iter_size for a memory budget"},
    {"compare", cmd_compare, "regressions between two results directories"},
    {"export", cmd_export, "a results directory as Google Benchmark JSON"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fputs("usage: accumbench <command> [flags]   (accumbench <command> --help for its flags)\n\n"
          "accumbench measures what gradient accumulation costs: for an effective batch split into\n"
          "iter_size micro-batches it runs full, retain (one backward over all micro-batches) and\n"
          "accumulate (backward per micro-batch) steps and records time and memory.\n\ncommands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
}

static void command_list(char *buf, size_t n)
{
    size_t used = 0;
    for (size_t i = 0; i < N_COMMANDS && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%s", i ? ", " : "", commands[i].name);
}

int main(int argc, char **argv)
{
    char names[160];
    command_list(names, sizeof names);
    if (argc < 2) {
        cli_error("no command given (commands: %s; see accumbench --help)", names);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].run(argc, argv);
    cli_error("unknown command '%s' (commands: %s; see accumbench --help)", cmd, names);
    return CLI_EXIT_USAGE;
}
