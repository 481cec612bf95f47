/* bench/cli/cli.h — strict command-line parsing shared by run and verify. A bad
 * flag or value prints one line naming it and exits 2 (see main.c). One table
 * in cli.c names each flag, its target field and its range. */
#ifndef ACCUMBENCH_CLI_H
#define ACCUMBENCH_CLI_H

#include "config.h"
#include "errors.h"

#include <stddef.h>
#include <stdio.h>


/* Extra flags a command takes besides the config flags. */
typedef struct {
    int json;                   /* run --json */
    int kernels;                /* run --kernels N: print the top N kernels */
    const char *out_dir;        /* run --out DIR: write the sweep's file formats */
    const char *dump_dir;       /* verify --dump DIR */
    int print_config;           /* run --print-config: print the derived configuration, run nothing */
} cli_extras;

typedef enum { CLI_CMD_RUN, CLI_CMD_VERIFY } cli_command;

/* Parses argv[first..argc) into *c and *x. Returns 0, or -1 with the one-line
 * message (without the "accumbench: " prefix) in err. "--help" sets *help. */
int cli_parse(cli_command cmd, int argc, char **argv, int first, run_config *c, cli_extras *x, int *help,
              char *err, size_t err_len);
void cli_defaults(run_config *c);
void cli_usage(cli_command cmd, FILE *f);
/* run --print-config: one JSON object with the derived configuration
 * ("config": every run flag's field under its name in snake_case, the names
 * and values results.csv's key columns use, plus last_micro_batch), the
 * split ("micro_batches"), run's other flags ("extras"), "key_columns", and
 * "row": a results row of this configuration before it ran (keys: the
 * results.csv columns in order). The PyTorch peer reads its configuration
 * from it instead of parsing flags itself. */
void cli_print_config(const run_config *c, const cli_extras *x, FILE *f);


#endif
