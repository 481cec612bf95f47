/* bench/cli/errors.h — the exit codes of every command and the one-line
 * error printer. Kept apart from cli.h so a command that only reports
 * errors (report, compare, export) does not pull in the run configuration. */
#ifndef ACCUMBENCH_ERRORS_H
#define ACCUMBENCH_ERRORS_H

#define CLI_EXIT_OK 0
#define CLI_EXIT_CHECK 1     /* a check failed: verify, compare, plan */
#define CLI_EXIT_USAGE 2     /* bad input: one line naming the flag or file:line */
#define CLI_EXIT_OOM 3       /* out of memory: bytes asked and in use */

/* Prints "accumbench: <msg>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
