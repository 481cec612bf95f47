/* tests/test_config.h — a run configuration from a flag string, parsed by
 * the real flag table (as `accumbench verify FLAGS` would), on the CPU. */
#ifndef ACCUMBENCH_TESTS_CONFIG_H
#define ACCUMBENCH_TESTS_CONFIG_H

#include "cli.h"

#include <stdio.h>
#include <string.h>

#define TEST_CONFIG_MAX_ARGS 40

/* 0, or -1 with the parser's message on stderr */
static inline int config_from(const char *flags, run_config *c)
{
    char buf[512], *argv[TEST_CONFIG_MAX_ARGS];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s", flags);
    argv[argc++] = "accumbench";
    argv[argc++] = "verify";
    for (char *t = strtok(buf, " "); t && argc < TEST_CONFIG_MAX_ARGS; t = strtok(NULL, " ")) argv[argc++] = t;
    cli_extras x;
    int help;
    char err[256];
    cli_defaults(c);
    snprintf(c->backend, sizeof c->backend, "cpu");
    if (cli_parse(CLI_CMD_VERIFY, argc, argv, 2, c, &x, &help, err, sizeof err) != 0) {
        fprintf(stderr, "bad test flags '%s': %s\n", flags, err);
        return -1;
    }
    return 0;
}

#endif
