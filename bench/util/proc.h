/* bench/util/proc.h — child processes and this program's own path: the one
 * place bench/ calls posix_spawn (never fork: a CUDA context does not survive
 * it) and readlink("/proc/self/exe").
 *
 * Children get stdin from /dev/null, so a child never steals a terminal's
 * input. Every function is EINTR-safe. */
#ifndef ACCUMBENCH_PROC_H
#define ACCUMBENCH_PROC_H

#include <stddef.h>
#include <sys/types.h>

/* this executable's path / its directory: 0, or -1 when unknown or too long */
int proc_exe_path(char *buf, size_t len);
int proc_exe_dir(char *buf, size_t len);

typedef struct {
    const char *stdout_path;    /* NULL: /dev/null */
    const char *stderr_path;    /* NULL: /dev/null */
    int stderr_to_stdout;       /* stderr joins stdout (stderr_path ignored) */
    /* own process group and SIGINT/SIGTERM/SIGPIPE at their defaults: a
     * timeout can kill the child and all it started, and a terminal's Ctrl-C
     * reaches only the parent, which decides */
    int own_group;
} proc_spawn_opts;

/* Starts argv (argv[0] searched on PATH when it has no '/') with no signal
 * blocked. 0, or the errno of the failure. */
int proc_spawn(char *const argv[], const proc_spawn_opts *o, pid_t *pid);

/* Waits for pid (blocking). Returns the exit code, 128 + signal when killed,
 * or -1 when it cannot be waited for. */
int proc_wait(pid_t pid);

/* exit code from a waitpid status: as proc_wait */
int proc_exit_code(int wstatus);

typedef struct {
    int exit_code;              /* as proc_wait; 128 + SIGKILL after a timeout */
    int timed_out;
    char *out, *err;            /* everything it wrote, NUL-terminated, never NULL */
} proc_output;

/* Runs argv to completion with stdout and stderr captured, killed after
 * timeout_s (<= 0: no limit). 0, or -1 with errno when it could not start. */
int proc_capture(char *const argv[], double timeout_s, proc_output *r);
void proc_output_free(proc_output *r);

#endif
