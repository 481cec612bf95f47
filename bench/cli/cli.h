/* bench/cli/cli.h — strict command-line parsing shared by run and verify. A bad
 * flag or value prints one line naming it and exits 2 (see main.c). */
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
} cli_extras;

typedef enum { CLI_CMD_RUN, CLI_CMD_VERIFY } cli_command;

/* Parses argv[first..argc) into *c and *x. Returns 0, or -1 with the one-line
 * message (without the "accumbench: " prefix) in err. "--help" sets *help. */
int cli_parse(cli_command cmd, int argc, char **argv, int first, run_config *c, cli_extras *x, int *help,
              char *err, size_t err_len);
void cli_defaults(run_config *c);
void cli_usage(cli_command cmd, FILE *f);


#endif
