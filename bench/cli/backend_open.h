/* bench/cli/backend_open.h — opening the configured backend the same way for
 * every command: auto falls back to the CPU with a one-line notice; an
 * explicit backend that cannot open is bad input (exit 2). */
#ifndef ACCUMBENCH_BACKEND_OPEN_H
#define ACCUMBENCH_BACKEND_OPEN_H

#include "config.h"

/* 0 ok, else the exit status after printing the reason */
int backend_open(ops_backend *b, const run_config *c);
/* The one out-of-memory message, for stderr (exit 3) and a results row's
 * error: "out of memory: asked A bytes with L in use (cap C)", or "out of
 * memory: could not reserve A bytes" when the reservation itself failed. */
void backend_oom_message(const ops_backend *b, char *buf, size_t n);
/* exit status for a failed engine call: 3 for OOM, 1 otherwise; prints the
 * reason and `during` (e.g. "in a profiled step") */
int backend_fail(ops_backend *b, ops_status st, const char *during);

#endif
