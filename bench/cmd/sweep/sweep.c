/* bench/cmd/sweep/sweep.c — `accumbench sweep`: every configuration of a profile, each
 * repeat in its own `accumbench run --out DIR/fragments/ID` process.
 *
 * The process model (the design's Running configurations section): the
 * parent never opens a backend; it posix_spawns this same executable once
 * per configuration x repeat, in its own process group, with a timeout
 * (SIGTERM to the group, SIGKILL KILL_GRACE_S later). A child writes its
 * fragment's CSVs by rename, results.csv last, so a fragment is complete
 * exactly when results.csv exists. When a child leaves none (killed, timed
 * out, failed early) the parent writes a results.csv for it with the status
 * and reason, so every configuration ends with one row. After each
 * configuration the sweep's CSVs are rebuilt from the fragments (temporary +
 * rename, bench/files.c). --resume runs what has no complete fragment.
 *
 * Child outcomes: a complete fragment is taken as written (ok, oom, error);
 * else timeout, crash (killed by a signal), error (exit 1 or 0), oom (exit 3).
 * Exit 2 is bad input: run accepted these flags when the profile was
 * expanded, so it means the backend cannot be used (e.g. backend = cuda with
 * no usable GPU). The sweep stops there with exit 2 and writes no fragment
 * for it: no silent CPU fallback, and a later --resume on a GPU finishes it.
 *
 * `engines = accumbench, torch` runs each configuration also through the
 * PyTorch peer: `PYTHON <peer>/torch_peer.py run <the same flags>
 * --accumbench <this executable> --out FRAG`, which writes the same
 * fragment files with engine = torch (its fragment id has "-torch" before
 * the repeat). <peer> is peer/ beside the executable's folder (a bundle made
 * by scripts/gpu-bundle.sh), else the source tree's bench/peer. PYTHON is
 * $ACCUMBENCH_PYTHON, else the first of
 * /usr/bin/python3 and python3 on the PATH that imports torch and numpy
 * (Debian's torch is /usr/bin/python3's; a pyenv or venv python3 first on the
 * PATH often has none). It is checked once, before any run: without one the
 * sweep is bad input (exit 2), not a row of errors.
 *
 * Rows keep the profile's order (configuration, then engine, then repeat)
 * whatever order they ran in. `run` has no repeat flag, so the parent writes the repeat
 * index into the `repeat` key column of every row it copies from a fragment.
 *
 * Test hook: ACCUMBENCH_SWEEP_TEST_CHILD="kill:N,hang:M" replaces the N-th
 * (1-based, in spawn order) child with a shell that kills itself with
 * SIGKILL, and the M-th with one that ignores SIGTERM and sleeps. Only
 * tests/sweep.py sets it. */
#include "cli.h"
#include "commands.h"
#include "files.h"
#include "jsonread.h"
#include "jsonwrite.h"
#include "proc.h"
#include "profile.h"
#include "records.h"
#include "results.h"
#include "rng.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define KILL_GRACE_S 5.0
#define POLL_NS 20000000L               /* child poll period: 20 ms */
#define EXIT_INTERRUPTED 130            /* 128 + SIGINT, as shells report it */
/* Rebuilding steps/kernels/memory.csv costs time that grows with the sweep;
 * they are rebuilt when at least this many times their last rebuild's
 * duration has passed (so at most ~10% overhead), results.csv every time. */
#define BIG_REBUILD_RATIO 10.0

static const char *const csv_names[] = {"results.csv", "steps.csv", "kernels.csv", "memory.csv", "algos.csv"};
#define N_CSV ((int)(sizeof csv_names / sizeof csv_names[0]))

static volatile sig_atomic_t sweep_signal;

static void on_signal(int sig) { sweep_signal = sig; }

typedef struct {
    int config;                 /* index into sweep.configs */
    int repeat;                 /* 0-based */
    int torch;                  /* engine: the PyTorch peer, not accumbench run */
    char id[40];                /* FNV-1a of the flags, then [-torch]-r<repeat> */
} job;

typedef struct {
    char exe[4096];
    char dir[4096];
    profile prof;
    profile_config *configs;
    int n_configs;
    job *jobs;                  /* configuration-major, repeat minor */
    int n_jobs;
    int resume;
    uint64_t shuffle_seed;
    char start_utc[32];
    /* progress */
    int tty, done, spawned, hook_kill, hook_hang;
    char python[4096];          /* what runs engine torch; empty when no torch run is pending */
    double run_s_sum;
    int run_s_n;
    /* rebuild throttle */
    double big_cost_s, big_end_ns;
    int header_mismatch;
} sweep;

// ----------------------------------------------------------------------------
// small helpers

static void utc_now(char *buf, size_t len, const char *fmt)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, fmt, &tm);
}

static void path_join(char *out, size_t len, const char *a, const char *b)
{
    snprintf(out, len, "%.4000s/%.200s", a, b);
}

static void frag_dir(const sweep *s, const job *j, char *out, size_t len)
{
    snprintf(out, len, "%.4000s/fragments/%s", s->dir, j->id);
}

static void frag_file(const sweep *s, const job *j, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%.4000s/fragments/%s/%.40s", s->dir, j->id, name);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

static int frag_complete(const sweep *s, const job *j)
{
    char p[4600];
    frag_file(s, j, "results.csv", p, sizeof p);
    return exists(p);
}

/* The text of field idx of one CSV record line (RFC 4180 quotes honoured,
 * unquoted into out). -1 when the line is shorter. */
static int csv_field(const char *line, int idx, char *out, size_t len)
{
    int f = 0, q = 0;
    size_t n = 0;
    for (const char *p = line; *p && *p != '\r' && *p != '\n'; p++) {
        if (*p == '"') {
            if (q && p[1] == '"' && f == idx && n + 1 < len) out[n++] = '"';
            if (q && p[1] == '"') p++;
            else q = !q;
            continue;
        }
        if (*p == ',' && !q) {
            if (f++ == idx) break;
            continue;
        }
        if (f == idx && n + 1 < len) out[n++] = *p;
    }
    if (f < idx) return -1;
    out[n] = '\0';
    return 0;
}

static int header_index(const char *header, const char *column)
{
    char buf[64];
    for (int i = 0; csv_field(header, i, buf, sizeof buf) == 0; i++)
        if (!strcmp(buf, column)) return i;
    return -1;
}

/* The last non-empty line of a file (a child's stderr), without "accumbench: ". */
static void last_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    char line[1024];
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        const char *l = !strncmp(line, "accumbench: ", 12) ? line + 12 : !strncmp(line, "torch_peer: ", 12) ? line + 12
                                                                                                         : line;
        snprintf(out, len, "%.300s", l);
    }
    if (f) fclose(f);
}

static void label(const sweep *s, const job *j, char *out, size_t len)
{
    const run_config *c = &s->configs[j->config].cfg;
    char model[96];
    if (c->model.kind == MODEL_MLP) snprintf(model, sizeof model, "mlp h%d", c->model.hidden);
    else
        snprintf(model, sizeof model, "cnn w%d s%d b%d %s", c->model.width, c->model.stages, c->model.blocks,
                 norm_name(c->model.norm));
    snprintf(out, len, "%s%s %s %dx%d=%d r%d", j->torch ? "torch " : "", model, strategy_name(c->strategy),
             c->micro_batch, c->iter_size, c->effective_batch, j->repeat);
}

// ----------------------------------------------------------------------------
// spawning

/* Runs argv with stdout captured (up to len-1 bytes), stderr to /dev/null.
 * Returns the exit status, or -1 when it could not run. */
static int capture(char *const argv[], char *out, size_t len)
{
    int fd[2];
    out[0] = '\0';
    if (pipe(fd) != 0) return -1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
    posix_spawn_file_actions_addclose(&fa, fd[0]);
    posix_spawn_file_actions_addclose(&fa, fd[1]);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    pid_t pid;
    int rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fd[1]);
    if (rc != 0) {
        close(fd[0]);
        return -1;
    }
    size_t n = 0;
    for (ssize_t got; (got = read(fd[0], out + n, len - 1 - n)) != 0;) {
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) break;
        n += (size_t)got;
        if (n + 1 >= len) {
            char sink[256];
            while (read(fd[0], sink, sizeof sink) > 0) {}
            break;
        }
    }
    out[n] = '\0';
    close(fd[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Whether py imports torch and numpy: 0 yes; else -1 with why (the
 * ImportError's text, or the exit status) in why. */
static int python_has_torch(const char *py, char *why, size_t len)
{
    char flag[] = "-c",
         probe[] = "import sys\n"
                   "try:\n"
                   "    import torch, numpy\n"
                   "except Exception as e:\n"
                   "    print(type(e).__name__ + ': ' + str(e)); sys.exit(1)\n";
    char *argv[] = {(char *)py, flag, probe, NULL};
    char out[512];
    int rc = capture(argv, out, sizeof out);
    out[strcspn(out, "\r\n")] = '\0';
    if (rc == 0) return 0;
    if (out[0]) snprintf(why, len, "%.300s", out);
    else if (rc < 0 || rc == 127) snprintf(why, len, "cannot run it");
    else snprintf(why, len, "exit %d", rc);
    return -1;
}

/* Chooses what runs engine torch (see the file's comment) into s->python.
 * 0 ok, else -1 with the bad-input message in err. */
static int peer_python_choose(sweep *s, char *err, size_t len)
{
    const char *env = getenv("ACCUMBENCH_PYTHON");
    char why[400];
    if (env && *env) {
        if (python_has_torch(env, why, sizeof why) == 0) {
            snprintf(s->python, sizeof s->python, "%s", env);
            return 0;
        }
        snprintf(err, len,
                 "sweep: engine torch: ACCUMBENCH_PYTHON=%.1000s cannot import torch and numpy (%s); set "
                 "ACCUMBENCH_PYTHON to a Python that can, or unset it to use /usr/bin/python3 or python3",
                 env, why);
        return -1;
    }
    static const char *const candidates[] = {"/usr/bin/python3", "python3"};
    char whys[2][400];
    for (int i = 0; i < 2; i++)
        if (python_has_torch(candidates[i], whys[i], sizeof whys[i]) == 0) {
            snprintf(s->python, sizeof s->python, "%s", candidates[i]);
            return 0;
        }
    snprintf(err, len,
             "sweep: engine torch needs a Python that imports torch and numpy: /usr/bin/python3 (%s) and python3 "
             "on the PATH (%s) cannot; set ACCUMBENCH_PYTHON to one that can (scripts/deps.sh installs Debian's)",
             whys[0], whys[1]);
    return -1;
}

/* The peer script: <exe dir>/../peer (a bundle) if there, else the source tree's. */
static void peer_script(char *out, size_t len)
{
    char dir[4096];
    if (proc_exe_dir(dir, sizeof dir) == 0) {
        snprintf(out, len, "%s/../peer/torch_peer.py", dir);
        if (access(out, R_OK) == 0) return;
    }
    snprintf(out, len, "%s/bench/peer/torch_peer.py", ACCUMBENCH_SOURCE_DIR);
}

/* Starts one run child in its own process group, stdout/stderr to files in
 * its fragment directory. 0 ok (*pid set), else an errno value. */
static int spawn_child(sweep *s, const job *j, pid_t *pid)
{
    const profile_config *pc = &s->configs[j->config];
    char fdir[4400], out_path[4600], err_path[4600];
    frag_dir(s, j, fdir, sizeof fdir);
    path_join(out_path, sizeof out_path, fdir, "run.out");
    path_join(err_path, sizeof err_path, fdir, "run.err");
    char *argv[PROFILE_MAX_ARGS + 8];
    int a = 0;
    char sh[] = "/bin/sh", dash_c[] = "-c", run[] = "run", out_flag[] = "--out", ab_flag[] = "--accumbench";
    char peer[4200];
    peer_script(peer, sizeof peer);
    char kill_self[] = "kill -KILL $$", hang[] = "trap '' TERM; sleep 3600";
    s->spawned++;
    if (s->spawned == s->hook_kill || s->spawned == s->hook_hang) {
        argv[a++] = sh;
        argv[a++] = dash_c;
        argv[a++] = s->spawned == s->hook_kill ? kill_self : hang;
    } else {
        if (j->torch) {
            argv[a++] = s->python;
            argv[a++] = peer;
        } else {
            argv[a++] = s->exe;
        }
        argv[a++] = run;
        for (int i = 0; i < pc->argc; i++) argv[a++] = pc->argv[i];
        if (j->torch) {
            argv[a++] = ab_flag;
            argv[a++] = s->exe;
        }
        argv[a++] = out_flag;
        argv[a++] = fdir;
    }
    argv[a] = NULL;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGPIPE);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawnattr_init(&at);
    /* own process group: a timeout kills the child and anything it started,
     * and the terminal's Ctrl-C reaches only the parent, which stops it */
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    /* spawnp: the peer's Python may be a bare name found on the PATH */
    int rc = posix_spawnp(pid, argv[0], &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    return rc;
}

typedef struct {
    int wstatus;
    int timed_out;
    int interrupted;
    double seconds;
} outcome;

static void sleep_poll(void)
{
    struct timespec ts = {0, POLL_NS};
    nanosleep(&ts, NULL);
}

static void progress_line(const sweep *s, const job *j, double started_ns);

/* Waits for the child, enforcing the timeout and the parent's SIGINT/SIGTERM. */
static outcome wait_child(sweep *s, const job *j, pid_t pid)
{
    outcome o = {0, 0, 0, 0.0};
    double t0 = monotonic_ns(), term_ns = 0, drawn_ns = t0;
    for (;;) {
        pid_t w = waitpid(pid, &o.wstatus, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            o.wstatus = -1;
            break;
        }
        double now = monotonic_ns();
        if (!term_ns && (sweep_signal || (now - t0) * 1e-9 >= s->prof.timeout_s)) {
            if (sweep_signal) o.interrupted = 1;
            else o.timed_out = 1;
            kill(-pid, SIGTERM);
            term_ns = now;
        } else if (term_ns && (now - term_ns) * 1e-9 >= KILL_GRACE_S) {
            kill(-pid, SIGKILL);
        }
        if (s->tty && (now - drawn_ns) * 1e-9 >= 1.0) {
            progress_line(s, j, t0);
            drawn_ns = now;
        }
        sleep_poll();
    }
    /* whatever the child left in its group */
    if (o.timed_out || o.interrupted) kill(-pid, SIGKILL);
    o.seconds = (monotonic_ns() - t0) * 1e-9;
    return o;
}

// ----------------------------------------------------------------------------
// fragments the parent writes

typedef struct {
    const result_row *r;
} row_writer;

static int write_row(FILE *f, void *user)
{
    const row_writer *w = user;
    result_print_csv_header(f);
    result_print_csv(w->r, f);
    return 0;
}

/* Removes what a child may have left in its fragment directory. */
static void frag_clear(const sweep *s, const job *j)
{
    char p[4600];
    for (int i = 0; i < N_CSV; i++) {
        frag_file(s, j, csv_names[i], p, sizeof p);
        unlink(p);
        strncat(p, ".tmp", sizeof p - strlen(p) - 1);
        unlink(p);
    }
}

/* A results.csv with the configuration's key columns, status and reason. */
static int write_parent_fragment(const sweep *s, const job *j, const char *status, const char *error)
{
    const profile_config *pc = &s->configs[j->config];
    char fdir[4400], path[4600];
    frag_dir(s, j, fdir, sizeof fdir);
    if (files_mkdir_p(fdir) != 0) return -1;
    frag_clear(s, j);
    result_row r;
    result_init(&r, &pc->cfg, pc->cfg.backend);
    r.repeat = j->repeat;
    if (j->torch) snprintf(r.engine, sizeof r.engine, "torch");
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.error, sizeof r.error, "%s", error);
    row_writer w = {&r};
    path_join(path, sizeof path, fdir, "results.csv");
    return files_write_atomic(path, write_row, &w);
}

// ----------------------------------------------------------------------------
// the sweep's CSVs from the fragments

typedef struct {
    sweep *s;
    const char *name;
    int counts;                 /* results.csv: tally statuses */
    int n_status[8];
    char backend[16];
} concat;

static const char *const status_names[] = {"ok", "oom", "error", "crash", "timeout", "skipped"};
#define N_STATUS 6

/* Copies one record line, with field idx replaced by the repeat index. */
static void put_stamped(FILE *out, const char *line, int idx, int repeat)
{
    int f = 0, q = 0;
    const char *start = NULL, *end = NULL, *p = line;
    if (idx == 0) start = line;
    for (; *p && *p != '\r' && *p != '\n'; p++) {
        if (*p == '"') q = !q;
        else if (*p == ',' && !q) {
            f++;
            if (f == idx) start = p + 1;
            if (f == idx + 1) {
                end = p;
                break;
            }
        }
    }
    if (start && !end) end = p;
    if (!start || idx < 0) {
        fputs(line, out);
        return;
    }
    fwrite(line, 1, (size_t)(start - line), out);
    fprintf(out, "%d", repeat);
    fputs(end, out);
}

static int concat_write(FILE *out, void *user)
{
    concat *c = user;
    sweep *s = c->s;
    char *line = NULL, *header = NULL;
    size_t cap = 0;
    int repeat_col = -1, status_col = -1, backend_col = -1;
    for (int i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];
        char p[4600];
        if (!frag_complete(s, j)) continue;
        frag_file(s, j, c->name, p, sizeof p);
        FILE *f = fopen(p, "rb");
        if (!f) continue;
        if (getline(&line, &cap, f) < 0) {
            fclose(f);
            continue;
        }
        if (!header) {
            header = strdup(line);
            if (!header) break;
            fputs(header, out);
            repeat_col = header_index(header, "repeat");
            status_col = header_index(header, "status");
            backend_col = header_index(header, "backend");
        } else if (strcmp(header, line) != 0) {
            fprintf(stderr, "accumbench: sweep: %s: header differs from the other fragments' (made by another "
                    "build?); its rows are left out\n", p);
            s->header_mismatch = 1;
            fclose(f);
            continue;
        }
        int in_quotes = 0;
        while (getline(&line, &cap, f) > 0) {
            if (in_quotes) fputs(line, out);    /* continuation of a quoted line break */
            else put_stamped(out, line, repeat_col, j->repeat);
            for (const char *q = line; *q; q++) in_quotes ^= *q == '"';
            if (in_quotes || !c->counts) continue;
            char v[32];
            if (status_col >= 0 && csv_field(line, status_col, v, sizeof v) == 0)
                for (int k = 0; k < N_STATUS; k++)
                    if (!strcmp(v, status_names[k])) c->n_status[k]++;
            if (!c->backend[0] && backend_col >= 0 && csv_field(line, backend_col, v, sizeof v) == 0)
                snprintf(c->backend, sizeof c->backend, "%.15s", v);
        }
        fclose(f);
    }
    if (!header && !strcmp(c->name, "results.csv")) result_print_csv_header(out);
    free(line);
    free(header);
    return 0;
}

/* Rebuilds results.csv, and the other CSVs when big. 0 ok, -1 failed. */
static int rebuild(sweep *s, int big, concat *summary)
{
    double t0 = monotonic_ns();
    int rc = 0;
    for (int n = 0; n < N_CSV; n++) {
        if (n > 0 && !big) break;
        concat c;
        memset(&c, 0, sizeof c);
        c.s = s;
        c.name = csv_names[n];
        c.counts = n == 0;
        int any = n == 0;
        for (int i = 0; i < s->n_jobs && !any; i++) {
            char p[4600];
            frag_file(s, &s->jobs[i], c.name, p, sizeof p);
            any = frag_complete(s, &s->jobs[i]) && exists(p);
        }
        if (!any) continue;
        char path[4400];
        path_join(path, sizeof path, s->dir, c.name);
        if (files_write_atomic(path, concat_write, &c) != 0) {
            cli_error("sweep: writing '%s' failed: %s", path, strerror(errno));
            rc = -1;
        }
        if (n == 0 && summary) *summary = c;
    }
    if (big) {
        s->big_end_ns = monotonic_ns();
        s->big_cost_s = (s->big_end_ns - t0) * 1e-9;
    }
    return rc;
}

// ----------------------------------------------------------------------------
// meta.json

/* a string, or null for NULL */
static void json_str(FILE *f, const char *s)
{
    if (s) jsonw_string(f, s);
    else fputs("null", f);
}

/* A string field of the resumed sweep's meta.json, copied; 0 found. */
static int meta_get(const jsonr_doc *meta, const char *path, char *out, size_t len)
{
    const char *v = meta->nodes ? jsonr_text(meta, jsonr_path(meta, path)) : NULL;
    if (!v) return -1;
    snprintf(out, len, "%s", v);
    return 0;
}

typedef struct {
    sweep *s;
    const char *end_utc;
    int interrupted;
    const char *backend;
} meta_ctx;

static int write_meta(FILE *f, void *user)
{
    meta_ctx *m = user;
    sweep *s = m->s;
    char host[256] = "", cpu[256] = "", commit[128] = "", porcelain[4096];
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    FILE *ci = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (ci && fgets(line, sizeof line, ci))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            const char *v = strchr(line, ':') + 1;
            while (*v == ' ' || *v == '\t') v++;
            snprintf(cpu, sizeof cpu, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    if (ci) fclose(ci);
    /* the source tree the binary was built in: git finds it from the build dir */
    char exe_dir[4096];
    snprintf(exe_dir, sizeof exe_dir, "%s", s->exe);
    if (strrchr(exe_dir, '/')) *strrchr(exe_dir, '/') = '\0';
    char git[] = "git", dash_c[] = "-C", rev_parse[] = "rev-parse", head[] = "HEAD", status[] = "status",
         porc[] = "--porcelain", untracked[] = "--untracked-files=no";
    char *rev_argv[] = {git, dash_c, exe_dir, rev_parse, head, NULL};
    char *st_argv[] = {git, dash_c, exe_dir, status, porc, untracked, NULL};
    int have_git = capture(rev_argv, commit, sizeof commit) == 0;
    commit[strcspn(commit, "\n")] = '\0';
    int dirty = have_git && capture(st_argv, porcelain, sizeof porcelain) == 0 ? porcelain[0] != '\0' : -1;

    fputs("{\n  \"schema_version\": 1,\n  \"profile\": {\"name\": ", f);
    json_str(f, s->prof.name);
    fputs(", \"path\": ", f);
    json_str(f, s->prof.path);
    fprintf(f, ", \"configurations\": %d, \"repeat\": %d, \"runs\": %d, \"timeout_s\": %g, \"shuffle\": %d",
            s->n_configs, s->prof.repeat, s->n_jobs, s->prof.timeout_s, s->prof.shuffle);
    if (s->prof.shuffle) fprintf(f, ", \"shuffle_seed\": %llu", (unsigned long long)s->shuffle_seed);
    if (s->python[0]) {
        fputs(", \"peer_python\": ", f);
        json_str(f, s->python);
    }
    fputs("},\n  \"host\": ", f);
    json_str(f, host[0] ? host : NULL);
    fputs(",\n  \"cpu\": ", f);
    json_str(f, cpu[0] ? cpu : NULL);
    fprintf(f, ",\n  \"cpus_online\": %ld", sysconf(_SC_NPROCESSORS_ONLN));
    fputs(",\n  \"git\": {\"commit\": ", f);
    json_str(f, have_git && commit[0] ? commit : NULL);
    fprintf(f, ", \"dirty\": %s},\n", dirty < 0 ? "null" : dirty ? "true" : "false");
    fputs("  \"compiler\": ", f);
#ifdef __clang__
    json_str(f, "clang " __clang_version__);
#else
    json_str(f, "gcc " __VERSION__);
#endif
    /* versions and devices from `accumbench info --json`, run as a child so
     * this process never initialises CUDA */
    char info_cmd[] = "info", json_flag[] = "--json";
    char *info_argv[] = {s->exe, info_cmd, json_flag, NULL};
    char *info = malloc(65536);
    int have_info = info && capture(info_argv, info, 65536) >= 0 && info[0] == '{';
    if (have_info) info[strcspn(info, "\n")] = '\0';
    fputs(",\n  \"device\": {\"backend\": ", f);
    json_str(f, m->backend && m->backend[0] ? m->backend : NULL);
    fprintf(f, ", \"info\": %s", have_info ? info : "null");
    free(info);
    fputs("},\n  \"start_utc\": ", f);
    json_str(f, s->start_utc);
    fputs(",\n  \"end_utc\": ", f);
    json_str(f, m->end_utc);
    fprintf(f, ",\n  \"resumed\": %s,\n  \"interrupted\": %s\n}\n", s->resume ? "true" : "false",
            m->interrupted ? "true" : "false");
    return 0;
}

static int meta_write(sweep *s, const char *end_utc, int interrupted, const char *backend)
{
    char path[4400];
    path_join(path, sizeof path, s->dir, "meta.json");
    meta_ctx m = {s, end_utc, interrupted, backend};
    return files_write_atomic(path, write_meta, &m);
}

// ----------------------------------------------------------------------------
// progress

static void fmt_duration(double s, char *out, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, len, "%02ld:%02ld", t / 60, t % 60);
}

static void progress_line(const sweep *s, const job *j, double started_ns)
{
    char lab[160], eta[32] = "--:--";
    label(s, j, lab, sizeof lab);
    if (s->run_s_n) {
        double mean = s->run_s_sum / s->run_s_n;
        double left = mean * (s->n_jobs - s->done) - (monotonic_ns() - started_ns) * 1e-9;
        fmt_duration(left > 0 ? left : 0, eta, sizeof eta);
    }
    fprintf(stderr, "\r[%d/%d] %s  ETA %s\033[K", s->done, s->n_jobs, lab, eta);
    fflush(stderr);
}

static void progress_done(const sweep *s, const job *j, const char *status, double seconds, const char *why)
{
    char lab[160];
    label(s, j, lab, sizeof lab);
    if (s->tty) fputs("\r\033[K", stderr);
    if (!s->tty || strcmp(status, "ok") != 0)
        fprintf(stderr, "[%d/%d] %-7s %7.1f s  %s%s%s\n", s->done, s->n_jobs, status, seconds, lab, why[0] ? ": " : "",
                why);
}

// ----------------------------------------------------------------------------
// one configuration x repeat

typedef enum { JOB_DONE, JOB_INTERRUPTED, JOB_FATAL, JOB_BAD_INPUT } job_result;

/* The status column of a complete fragment's row. */
static void frag_status(const sweep *s, const job *j, char *status, size_t len, char *error, size_t error_len)
{
    char p[4600], header[8192], row[8192];
    frag_file(s, j, "results.csv", p, sizeof p);
    snprintf(status, len, "?");
    error[0] = '\0';
    FILE *f = fopen(p, "rb");
    if (!f) return;
    if (fgets(header, sizeof header, f) && fgets(row, sizeof row, f)) {
        csv_field(row, header_index(header, "status"), status, len);
        csv_field(row, header_index(header, "error"), error, error_len);
    }
    fclose(f);
}

static job_result run_job(sweep *s, const job *j, char *fatal, size_t fatal_len)
{
    char fdir[4400], err_path[4600], why[512] = "", last[400];
    frag_dir(s, j, fdir, sizeof fdir);
    if (files_mkdir_p(fdir) != 0) {
        snprintf(fatal, fatal_len, "sweep: cannot create '%.900s': %s", fdir, strerror(errno));
        return JOB_FATAL;
    }
    frag_clear(s, j);
    pid_t pid;
    double t0 = monotonic_ns();
    if (s->tty) progress_line(s, j, t0);
    int rc = spawn_child(s, j, &pid);
    if (rc != 0) {
        snprintf(fatal, fatal_len, "sweep: cannot start '%.900s': %s", j->torch ? s->python : s->exe,
                 strerror(rc));
        return JOB_FATAL;
    }
    outcome o = wait_child(s, j, pid);
    path_join(err_path, sizeof err_path, fdir, "run.err");
    last_line(err_path, last, sizeof last);
    char status[32];
    if (frag_complete(s, j)) {
        frag_status(s, j, status, sizeof status, why, sizeof why);
    } else if (o.interrupted) {
        return JOB_INTERRUPTED;
    } else {
        const char *st = "error";
        int code = WIFEXITED(o.wstatus) ? WEXITSTATUS(o.wstatus) : -1;
        if (o.timed_out) {
            st = "timeout";
            snprintf(why, sizeof why, "timed out after %g s", s->prof.timeout_s);
        } else if (o.wstatus >= 0 && WIFSIGNALED(o.wstatus)) {
            int sig = WTERMSIG(o.wstatus);
            st = "crash";
            snprintf(why, sizeof why, "killed by signal %d (%s)%s%s", sig, strsignal(sig), last[0] ? ": " : "", last);
        } else if (code == CLI_EXIT_USAGE) {
            snprintf(fatal, fatal_len, "sweep: %s: run exited 2 (bad input): %s", j->id,
                     last[0] ? last : "(no message)");
            return JOB_BAD_INPUT;
        } else {
            st = code == CLI_EXIT_OOM ? "oom" : "error";
            snprintf(why, sizeof why, "run exited %d without results%s%s", code, last[0] ? ": " : "", last);
        }
        snprintf(status, sizeof status, "%s", st);
        if (write_parent_fragment(s, j, st, why) != 0) {
            snprintf(fatal, fatal_len, "sweep: writing the fragment of %s failed: %s", j->id, strerror(errno));
            return JOB_FATAL;
        }
    }
    s->done++;
    s->run_s_sum += o.seconds;
    s->run_s_n++;
    progress_done(s, j, status, o.seconds, strcmp(status, "ok") ? why : "");
    return JOB_DONE;
}

// ----------------------------------------------------------------------------
// the command

static void sweep_usage(FILE *f)
{
    fputs("usage: accumbench sweep --profile NAME|FILE [--out DIR] [--dry-run]\n"
          "       accumbench sweep --resume DIR [--dry-run]\n\n"
          "Runs every configuration of a profile, each repeat in its own `accumbench run` process with a\n"
          "timeout, and collects the rows in DIR/results.csv, steps.csv, kernels.csv, memory.csv and\n"
          "meta.json. Status per row: ok | oom | error | crash | timeout | skipped (reason in `error`).\n\n"
          "  --profile NAME|FILE  NAME is profiles/NAME.profile, looked for in $ACCUMBENCH_PROFILES,\n"
          "                       <executable's directory>/../profiles, the source tree's profiles/, ./profiles\n"
          "  --out DIR            where the results go (results/<profile>-<UTC time>)\n"
          "  --resume DIR         finish an interrupted sweep: runs what has no complete fragment\n"
          "  --dry-run            print one line per configuration x repeat (id, run|done|skipped: reason,\n"
          "                       the flags run gets) and exit\n",
          f);
}

static int setup_jobs(sweep *s)
{
    int torch = (s->prof.engines & PROFILE_ENGINE_TORCH) != 0;
    int n_engines = torch + ((s->prof.engines & PROFILE_ENGINE_ACCUMBENCH) != 0);
    s->n_jobs = s->n_configs * n_engines * s->prof.repeat;
    s->jobs = calloc((size_t)(s->n_jobs ? s->n_jobs : 1), sizeof *s->jobs);
    if (!s->jobs) return -1;
    for (int c = 0, n = 0; c < s->n_configs; c++)
        for (int e = n_engines == 2 ? 0 : torch; e <= torch; e++)
            for (int r = 0; r < s->prof.repeat; r++, n++) {
                job *j = &s->jobs[n];
                j->config = c;
                j->repeat = r;
                j->torch = e;
                snprintf(j->id, sizeof j->id, "%016llx%s-r%d", (unsigned long long)s->configs[c].hash,
                         e ? "-torch" : "", r);
            }
    return 0;
}

static void dry_run(const sweep *s)
{
    for (int i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];
        const profile_config *pc = &s->configs[j->config];
        const char *what = pc->skipped ? "skipped: " : s->resume && frag_complete(s, j) ? "done" : "run";
        printf("%s\t%s%s\t%s\n", j->id, what, pc->skipped ? pc->reason : "", pc->flags);
    }
}

static void hook_parse(sweep *s)
{
    const char *h = getenv("ACCUMBENCH_SWEEP_TEST_CHILD");
    for (const char *p = h; p && *p;) {
        int n;
        if (sscanf(p, "kill:%d", &n) == 1) s->hook_kill = n;
        else if (sscanf(p, "hang:%d", &n) == 1) s->hook_hang = n;
        p = strchr(p, ',');
        if (p) p++;
    }
    if (s->hook_kill || s->hook_hang)
        fprintf(stderr, "accumbench: sweep: test hook ACCUMBENCH_SWEEP_TEST_CHILD=%s\n", h);
}

int cmd_sweep(int argc, char **argv)
{
    /* from the very start: a Ctrl-C during setup must still end with the
     * directory consistent, the interrupted meta.json and exit 130 */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *profile_arg = NULL, *out_arg = NULL, *resume_arg = NULL;
    int dry = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **target = !strcmp(a, "--profile") ? &profile_arg
                              : !strcmp(a, "--out")   ? &out_arg
                              : !strcmp(a, "--resume") ? &resume_arg
                                                       : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            sweep_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (!strcmp(a, "--dry-run")) {
            if (dry) {
                cli_error("--dry-run: given more than once");
                return CLI_EXIT_USAGE;
            }
            dry = 1;
            continue;
        }
        if (!target) {
            cli_error(a[0] == '-' ? "%s: unknown flag for 'sweep' (see accumbench sweep --help)"
                                  : "unexpected argument '%s' (flags take the form --name value)", a);
            return CLI_EXIT_USAGE;
        }
        if (*target) {
            cli_error("%s: given more than once", a);
            return CLI_EXIT_USAGE;
        }
        if (i + 1 >= argc || !argv[i + 1][0]) {
            cli_error("%s: needs a value", a);
            return CLI_EXIT_USAGE;
        }
        *target = argv[++i];
    }
    if (!profile_arg == !resume_arg) {
        cli_error(resume_arg ? "--resume: takes the profile saved in DIR; give no --profile"
                             : "sweep: needs --profile NAME|FILE (or --resume DIR)");
        return CLI_EXIT_USAGE;
    }
    if (resume_arg && out_arg) {
        cli_error("--out: --resume DIR writes to DIR; give no --out");
        return CLI_EXIT_USAGE;
    }

    sweep *s = calloc(1, sizeof *s);
    if (!s) {
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    int rc = CLI_EXIT_USAGE;
    char err[8192], path[4096], name[256];
    jsonr_doc old_meta = {0};
    utc_now(s->start_utc, sizeof s->start_utc, "%Y-%m-%dT%H:%M:%SZ");
    ssize_t n = readlink("/proc/self/exe", s->exe, sizeof s->exe - 1);
    if (n <= 0) {
        cli_error("sweep: cannot find this executable (/proc/self/exe): %s", strerror(errno));
        goto out;
    }
    s->exe[n] = '\0';

    if (resume_arg) {
        s->resume = 1;
        snprintf(s->dir, sizeof s->dir, "%s", resume_arg);
        path_join(path, sizeof path, s->dir, "profile.txt");
        if (!exists(path)) {
            cli_error("--resume: '%s' holds no profile.txt (not a sweep directory)", s->dir);
            goto out;
        }
        char meta_path[4400];
        path_join(meta_path, sizeof meta_path, s->dir, "meta.json");
        char meta_err[256];
        if (jsonr_read_file(&old_meta, meta_path, meta_err, sizeof meta_err) != 0) memset(&old_meta, 0, sizeof old_meta);
        if (meta_get(&old_meta, "profile.name", name, sizeof name) != 0) snprintf(name, sizeof name, "resumed");
        if (meta_get(&old_meta, "start_utc", s->start_utc, sizeof s->start_utc) != 0)
            utc_now(s->start_utc, sizeof s->start_utc, "%Y-%m-%dT%H:%M:%SZ");
    } else if (profile_resolve(profile_arg, path, sizeof path, name, sizeof name, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto out;
    }
    if (profile_load(&s->prof, path, name, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto out;
    }
    if (resume_arg) {
        /* results keep naming the profile file the sweep started from */
        char orig[4096];
        if (meta_get(&old_meta, "profile.path", orig, sizeof orig) == 0)
            snprintf(s->prof.path, sizeof s->prof.path, "%s", orig);
    }
    if (profile_expand(&s->prof, &s->configs, &s->n_configs) != 0 || setup_jobs(s) != 0) {
        cli_error("out of host memory");
        rc = CLI_EXIT_OOM;
        goto out;
    }
    if (out_arg) snprintf(s->dir, sizeof s->dir, "%s", out_arg);
    else if (!resume_arg) {
        char stamp[32];
        utc_now(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
        snprintf(s->dir, sizeof s->dir, "results/%s-%s", s->prof.name, stamp);
    }
    if (strlen(s->dir) > 3900) {
        cli_error("%s: directory path longer than 3900 characters", resume_arg ? "--resume" : "--out");
        goto out;
    }
    if (dry) {
        dry_run(s);
        rc = CLI_EXIT_OK;
        goto out;
    }

    /* engine torch: its Python, before anything is written or runs */
    int torch_pending = 0;
    for (int i = 0; i < s->n_jobs && !torch_pending; i++) {
        const job *j = &s->jobs[i];
        torch_pending = j->torch && !s->configs[j->config].skipped && !(resume_arg && frag_complete(s, j));
    }
    if (torch_pending && peer_python_choose(s, err, sizeof err) != 0) {
        cli_error("%s", err);
        goto out;
    }

    /* the output directory, before anything runs */
    char sub[4400];
    path_join(sub, sizeof sub, s->dir, "fragments");
    if (!resume_arg) {
        char pt[4400];
        path_join(pt, sizeof pt, s->dir, "profile.txt");
        if (exists(pt)) {
            cli_error("--out: '%s' already holds a sweep (finish it with --resume %s, or choose another directory)",
                      s->dir, s->dir);
            goto out;
        }
    }
    if (files_mkdir_p(s->dir) != 0 || files_mkdir_p(sub) != 0) {
        cli_error("%s: cannot create directory '%s': %s", resume_arg ? "--resume" : "--out", s->dir, strerror(errno));
        goto out;
    }
    if (!resume_arg) {
        FILE *f = NULL;
        char pt[4400], tmp[4500];
        path_join(pt, sizeof pt, s->dir, "profile.txt");
        snprintf(tmp, sizeof tmp, "%s.tmp", pt);
        f = fopen(tmp, "wb");
        int ok = f && fputs(s->prof.text, f) >= 0;
        ok = f && fclose(f) == 0 && ok;
        if (!ok || rename(tmp, pt) != 0) {
            cli_error("--out: cannot write '%s': %s", pt, strerror(errno));
            goto out;
        }
    }
    rc = CLI_EXIT_CHECK;
    if (s->prof.shuffle) s->shuffle_seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    if (meta_write(s, NULL, 0, NULL) != 0) {
        cli_error("sweep: cannot write meta.json in '%s': %s", s->dir, strerror(errno));
        goto out;
    }

    /* skipped configurations get their rows now; the rest is pending */
    int *order = malloc((size_t)(s->n_jobs ? s->n_jobs : 1) * sizeof *order);
    int n_pending = 0, n_skipped = 0, n_done_before = 0;
    if (!order) goto out;
    for (int i = 0; i < s->n_jobs; i++) {
        const job *j = &s->jobs[i];
        const profile_config *pc = &s->configs[j->config];
        if (frag_complete(s, j)) n_done_before++;
        else if (pc->skipped) {
            if (write_parent_fragment(s, j, "skipped", pc->reason) != 0) {
                cli_error("sweep: writing the fragment of %s failed: %s", j->id, strerror(errno));
                free(order);
                goto out;
            }
            n_skipped++;
        } else order[n_pending++] = i;
    }
    s->done = n_done_before + n_skipped;
    if (s->prof.shuffle) {
        rng r;
        rng_seed(&r, s->shuffle_seed);
        for (int i = n_pending - 1; i > 0; i--) {
            int k = (int)(rng_next(&r) % (uint64_t)(i + 1));
            int t = order[i];
            order[i] = order[k];
            order[k] = t;
        }
    }
    fprintf(stderr, "accumbench sweep: profile %s: %d configurations x %d repeats%s = %d runs", s->prof.name,
            s->n_configs, s->prof.repeat,
            s->prof.engines == (PROFILE_ENGINE_ACCUMBENCH | PROFILE_ENGINE_TORCH) ? " x 2 engines"
            : s->prof.engines == PROFILE_ENGINE_TORCH                             ? " (engine torch)"
                                                                                   : "",
            s->n_jobs);
    if (n_done_before) fprintf(stderr, ", %d done before", n_done_before);
    if (n_skipped) fprintf(stderr, ", %d skipped", n_skipped);
    fprintf(stderr, "; results in %s\n", s->dir);
    if (s->prof.shuffle)
        fprintf(stderr, "accumbench sweep: run order shuffled with seed %llu\n", (unsigned long long)s->shuffle_seed);

    hook_parse(s);
    s->tty = isatty(2);
    s->big_end_ns = monotonic_ns();

    char fatal[1024] = "";
    /* write_failed: a rebuild failed at any point, not only the last one
     * (a transient failure stops the sweep even when the final rebuild works) */
    int stopped = 0, interrupted = 0, bad_input = 0, write_failed = 0;
    concat summary;
    memset(&summary, 0, sizeof summary);
    if (rebuild(s, 1, &summary) != 0) stopped = write_failed = 1;
    for (int i = 0; i < n_pending && !stopped; i++) {
        if (sweep_signal) {
            interrupted = 1;
            break;
        }
        job_result jr = run_job(s, &s->jobs[order[i]], fatal, sizeof fatal);
        if (jr == JOB_INTERRUPTED) {
            interrupted = 1;
            break;
        }
        if (jr == JOB_FATAL || jr == JOB_BAD_INPUT) {
            bad_input = jr == JOB_BAD_INPUT;
            stopped = 1;
            break;
        }
        int big = (monotonic_ns() - s->big_end_ns) * 1e-9 >= BIG_REBUILD_RATIO * s->big_cost_s;
        if (rebuild(s, big, NULL) != 0) stopped = write_failed = 1;
    }
    free(order);
    if (s->tty) fputs("\r\033[K", stderr);
    interrupted |= sweep_signal != 0;
    if (rebuild(s, 1, &summary) != 0) write_failed = 1;
    char end[32];
    utc_now(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ");
    if (meta_write(s, end, interrupted, summary.backend) != 0) write_failed = 1;
    if (fatal[0]) cli_error("%s", fatal);
    if (s->header_mismatch) cli_error("sweep: some fragments were left out of the CSVs (header differs; see above)");

    printf("accumbench sweep: %d of %d runs done", s->done, s->n_jobs);
    int listed = 0;
    for (int k = 0; k < N_STATUS; k++)
        if (summary.n_status[k]) printf("%s%d %s", listed++ ? ", " : " (", summary.n_status[k], status_names[k]);
    printf("%s; results: %s/results.csv\n", listed ? ")" : "", s->dir);
    if (interrupted) {
        cli_error("sweep: interrupted; finished runs are kept; complete it with: accumbench sweep --resume %s", s->dir);
        rc = EXIT_INTERRUPTED;
    } else if (fatal[0]) {
        rc = bad_input ? CLI_EXIT_USAGE : CLI_EXIT_CHECK;
    } else {
        if (write_failed && s->done < s->n_jobs)
            cli_error("sweep: stopped after a failed write; finished runs are kept; complete it with: "
                      "accumbench sweep --resume %s", s->dir);
        rc = write_failed || s->header_mismatch ? CLI_EXIT_CHECK : CLI_EXIT_OK;
    }
out:
    jsonr_free(&old_meta);
    free(s->jobs);
    profile_configs_free(s->configs, s->n_configs);
    profile_free(&s->prof);
    free(s);
    return rc;
}
