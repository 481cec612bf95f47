/* bench/cli/backend_open.h — opening the configured backend the same way for
 * every command: auto falls back to the CPU with a one-line notice; an
 * explicit backend that cannot open is bad input (exit 2). */
#ifndef ACCUMBENCH_BACKEND_OPEN_H
#define ACCUMBENCH_BACKEND_OPEN_H

#include "config.h"

/* 0 ok, else the exit status after printing the reason */
int backend_open(ops_backend *b, const run_config *c);
/* exit status for a failed engine call: 3 for OOM (message printed), 1 otherwise */
int backend_fail(ops_backend *b, ops_status st, const char *during);

#endif
