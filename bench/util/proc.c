/* bench/util/proc.c — see proc.h. */
#include "proc.h"
#include "clock.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int proc_exe_path(char *buf, size_t len)
{
    if (len < 2) return -1;
    ssize_t n = readlink("/proc/self/exe", buf, len - 1);
    if (n <= 0 || (size_t)n >= len - 1) return -1;
    buf[n] = '\0';
    return 0;
}

int proc_exe_dir(char *buf, size_t len)
{
    if (proc_exe_path(buf, len)) return -1;
    char *slash = strrchr(buf, '/');
    if (!slash) return -1;
    *slash = '\0';
    return 0;
}

int proc_exit_code(int wstatus)
{
    if (WIFEXITED(wstatus)) return WEXITSTATUS(wstatus);
    if (WIFSIGNALED(wstatus)) return 128 + WTERMSIG(wstatus);
    return -1;
}

int proc_wait(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return proc_exit_code(status);
}

int proc_spawn(char *const argv[], const proc_spawn_opts *o, pid_t *pid)
{
    static const proc_spawn_opts none = {0};
    if (!o) o = &none;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) return rc;
    if ((rc = posix_spawnattr_init(&at))) {
        posix_spawn_file_actions_destroy(&fa);
        return rc;
    }
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, o->stdout_path ? o->stdout_path : "/dev/null",
                                     O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o->stderr_to_stdout)
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    else
        posix_spawn_file_actions_addopen(&fa, 2, o->stderr_path ? o->stderr_path : "/dev/null",
                                         O_WRONLY | O_CREAT | O_TRUNC, 0644);
    /* every child starts with no signal blocked (a sweep blocks SIGCHLD) */
    sigset_t empty;
    sigemptyset(&empty);
    posix_spawnattr_setsigmask(&at, &empty);
    short flags = POSIX_SPAWN_SETSIGMASK;
    if (o->own_group) {
        sigset_t defaults;
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGINT);
        sigaddset(&defaults, SIGTERM);
        sigaddset(&defaults, SIGPIPE);
        posix_spawnattr_setpgroup(&at, 0);
        posix_spawnattr_setsigdefault(&at, &defaults);
        flags |= POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF;
    }
    posix_spawnattr_setflags(&at, flags);
    rc = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

// ----------------------------------------------------------------------------
// capture

typedef struct {
    char *p;
    size_t n, cap;
} growbuf;

/* 1 read more, 0 end of file, -1 error (or out of memory: the rest is drained) */
static int grow_read(int fd, growbuf *b)
{
    if (b->cap - b->n < 4097) {
        size_t cap = b->cap ? b->cap * 2 : 8192;
        char *p = realloc(b->p, cap);
        if (!p) {
            char sink[4096];
            return read(fd, sink, sizeof sink) > 0 ? 1 : -1;
        }
        b->p = p;
        b->cap = cap;
    }
    ssize_t r = read(fd, b->p + b->n, b->cap - b->n - 1);
    if (r < 0) return errno == EINTR || errno == EAGAIN ? 1 : -1;
    b->n += (size_t)r;
    b->p[b->n] = '\0';
    return r == 0 ? 0 : 1;
}

static void close_pair(int fd[2])
{
    for (int i = 0; i < 2; i++)
        if (fd[i] >= 0) close(fd[i]);
}

static int start_piped(char *const argv[], int out[2], int err[2], pid_t *pid)
{
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) return rc;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    posix_spawn_file_actions_addclose(&fa, err[1]);
    rc = posix_spawnp(pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc;
}

int proc_capture(char *const argv[], double timeout_s, proc_output *r)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    memset(r, 0, sizeof *r);
    if (pipe(out) != 0 || pipe(err) != 0) {
        int saved = errno;
        close_pair(out);
        close_pair(err);
        errno = saved;
        return -1;
    }
    pid_t pid;
    int rc = start_piped(argv, out, err, &pid);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        errno = rc;
        return -1;
    }
    growbuf b[2] = {{0}, {0}};
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    double deadline_ns = timeout_s > 0 ? clock_now_ns() + timeout_s * 1e9 : 0;
    while (open_fds > 0) {
        int wait_ms = 1000;
        if (deadline_ns) {
            double left_ns = deadline_ns - clock_now_ns();
            if (left_ns <= 0) {
                r->timed_out = 1;
                kill(pid, SIGKILL);
                break;
            }
            if (left_ns < 1e9) wait_ms = (int)(left_ns * 1e-6) + 1;
        }
        if (poll(fds, 2, wait_ms) < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            if (grow_read(fds[i].fd, &b[i]) <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    r->exit_code = proc_wait(pid);
    r->out = b[0].p ? b[0].p : strdup("");
    r->err = b[1].p ? b[1].p : strdup("");
    return 0;
}

void proc_output_free(proc_output *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}
