/* bench/cmd/commands.h — the subcommands; each returns the process exit status
 * (0 ok, 1 a check failed, 2 bad input, 3 out of memory). */
#ifndef ACCUMBENCH_COMMANDS_H
#define ACCUMBENCH_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_verify(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_compare(int argc, char **argv);
int cmd_export(int argc, char **argv);

#endif
