/* bench/cmd/sweep/jobs.c — one run of a sweep: its child process (started with
 * proc_spawn in its own process group, stdout and stderr to run.out and
 * run.err in its fragment directory), the wait with a timeout and the
 * parent's SIGINT/SIGTERM, the status when the child left no fragment, and
 * the progress line. Outcomes are in sweep.c's opening comment. */
#include "sweep.h"
#include "clock.h"
#include "errors.h"
#include "files.h"
#include "merge.h"
#include "proc.h"
#include "results.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KILL_GRACE_S 5.0
/* The parent sleeps in sigtimedwait until SIGCHLD or this period (timeout
 * checks and the progress line): a parent that polled every 20 ms woke a
 * core 50 times a second under the run it measures, and on a 2-core machine
 * that wake-up is what moved the child's threads between cores. */
#define WAKE_S 1.0

static volatile sig_atomic_t sweep_signal;

static void on_signal(int sig) { sweep_signal = sig; }

void sweep_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* SIGCHLD stays pending for wait_child's sigtimedwait; children start
     * with an empty mask (proc_spawn's own_group) */
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);
}

int sweep_interrupted(void) { return sweep_signal != 0; }

// ----------------------------------------------------------------------------
// fragment paths

void sweep_job_dir(const sweep *s, const sweep_job *j, char *out, size_t len)
{
    snprintf(out, len, "%.4000s/fragments/%s", s->dir, j->id);
}

static void job_file(const sweep *s, const sweep_job *j, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%.4000s/fragments/%s/%.40s", s->dir, j->id, name);
}

int sweep_job_complete(const sweep *s, const sweep_job *j)
{
    char dir[4400];
    sweep_job_dir(s, j, dir, sizeof dir);
    return merge_fragment_complete(dir);
}

/* Removes what a child may have left in its fragment directory. */
static void frag_clear(const sweep *s, const sweep_job *j)
{
    char p[4600];
    for (int i = 0; i < MERGE_N_CSV; i++) {
        job_file(s, j, merge_csv_names[i], p, sizeof p);
        unlink(p);
        strncat(p, ".tmp", sizeof p - strlen(p) - 1);
        unlink(p);
    }
}

static int write_one_row(FILE *f, void *user)
{
    result_print_csv_header(f);
    result_print_csv(user, f);
    return 0;
}

int sweep_job_write_row(const sweep *s, const sweep_job *j, const char *status, const char *error)
{
    const profile_config *pc = &s->configs[j->config];
    char dir[4400], path[4600];
    sweep_job_dir(s, j, dir, sizeof dir);
    if (files_mkdir_p(dir) != 0) return -1;
    frag_clear(s, j);
    result_row r;
    result_init(&r, &pc->cfg, pc->cfg.backend);
    r.repeat = j->repeat;
    if (j->torch) snprintf(r.engine, sizeof r.engine, "torch");
    snprintf(r.status, sizeof r.status, "%s", status);
    snprintf(r.error, sizeof r.error, "%s", error);
    job_file(s, j, "results.csv", path, sizeof path);
    return files_write_atomic(path, write_one_row, &r);
}

// ----------------------------------------------------------------------------
// progress

static void label(const sweep *s, const sweep_job *j, char *out, size_t len)
{
    const run_config *c = &s->configs[j->config].cfg;
    char model[96];
    if (c->model.kind == MODEL_MLP) snprintf(model, sizeof model, "mlp h%d", c->model.hidden);
    else if (c->model.kind == MODEL_GPT)
        snprintf(model, sizeof model, "gpt v%d t%d c%d h%d l%d", c->model.vocab, c->model.seq, c->model.d_model,
                 c->model.heads, c->model.layers);
    else
        snprintf(model, sizeof model, "cnn w%d s%d b%d %s", c->model.width, c->model.stages, c->model.blocks,
                 norm_name(c->model.norm));
    snprintf(out, len, "%s%s %s %dx%d=%d r%d", j->torch ? "torch " : "", model, strategy_name(c->strategy),
             c->micro_batch, c->iter_size, c->effective_batch, j->repeat);
}

static void fmt_duration(double s, char *out, size_t len)
{
    long t = (long)(s + 0.5);
    if (t >= 3600) snprintf(out, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else snprintf(out, len, "%02ld:%02ld", t / 60, t % 60);
}

/* [done/total] what runs now, and the ETA from the mean run so far */
static void progress_line(const sweep *s, const sweep_job *j, double started_ns)
{
    char lab[160], eta[32] = "--:--";
    label(s, j, lab, sizeof lab);
    if (s->run_s_n) {
        double mean = s->run_s_sum / s->run_s_n;
        double left = mean * (s->n_planned - s->done) - (clock_now_ns() - started_ns) * 1e-9;
        fmt_duration(left > 0 ? left : 0, eta, sizeof eta);
    }
    fprintf(stderr, "\r[%d/%d] %s  ETA %s\033[K", s->done, s->n_planned, lab, eta);
    fflush(stderr);
}

/* a finished run: one line when stderr is no terminal or the run failed */
static void progress_done(const sweep *s, const sweep_job *j, const char *status, double seconds, const char *why)
{
    char lab[160];
    label(s, j, lab, sizeof lab);
    if (s->tty) fputs("\r\033[K", stderr);
    if (!s->tty || strcmp(status, "ok") != 0)
        fprintf(stderr, "[%d/%d] %-7s %7.1f s  %s%s%s\n", s->done, s->n_planned, status, seconds, lab,
                why[0] ? ": " : "", why);
}

void sweep_progress_clear(const sweep *s)
{
    if (s->tty) fputs("\r\033[K", stderr);
}

// ----------------------------------------------------------------------------
// the child

void sweep_hook_parse(sweep *s)
{
    const char *h = getenv("ACCUMBENCH_SWEEP_TEST_CHILD");
    for (const char *p = h; p && *p;) {
        int n;
        if (sscanf(p, "kill:%d", &n) == 1) s->hook_kill = n;
        else if (sscanf(p, "hang:%d", &n) == 1) s->hook_hang = n;
        else if (sscanf(p, "disturb:%d", &n) == 1) s->hook_disturb = n;
        p = strchr(p, ',');
        if (p) p++;
    }
    if (s->hook_kill || s->hook_hang || s->hook_disturb)
        fprintf(stderr, "accumbench: sweep: test hook ACCUMBENCH_SWEEP_TEST_CHILD=%s\n", h);
}

/* the child's argv: `run` with the configuration's flags (through the peer
 * for engine torch), or the test hook's shell */
typedef struct {
    char *argv[PROFILE_MAX_ARGS + 8];
    char dir[4400], peer[4200];
} child_args;

/* The peer script: peer/ beside the executable's folder (a bundle made by
 * scripts/gpu-bundle.sh) if there, else the source tree's bench/peer. */
static void peer_script(char *out, size_t len)
{
    char dir[4096];
    if (proc_exe_dir(dir, sizeof dir) == 0) {
        snprintf(out, len, "%.4000s/../peer/torch_peer.py", dir);
        if (access(out, R_OK) == 0) return;
    }
    snprintf(out, len, "%s/bench/peer/torch_peer.py", ACCUMBENCH_SOURCE_DIR);
}

static void child_argv(sweep *s, const sweep_job *j, child_args *c)
{
    static char sh[] = "/bin/sh", dash_c[] = "-c", run[] = "run", out_flag[] = "--out", ab_flag[] = "--accumbench",
                kill_self[] = "kill -KILL $$", hang[] = "trap '' TERM; sleep 3600";
    const profile_config *pc = &s->configs[j->config];
    int a = 0;
    sweep_job_dir(s, j, c->dir, sizeof c->dir);
    peer_script(c->peer, sizeof c->peer);
    s->spawned++;
    if (s->spawned == s->hook_kill || s->spawned == s->hook_hang) {
        c->argv[a++] = sh;
        c->argv[a++] = dash_c;
        c->argv[a++] = s->spawned == s->hook_kill ? kill_self : hang;
        c->argv[a] = NULL;
        return;
    }
    if (j->torch) {
        c->argv[a++] = s->python;
        c->argv[a++] = c->peer;
    } else {
        c->argv[a++] = s->exe;
    }
    c->argv[a++] = run;
    for (int i = 0; i < pc->argc; i++) c->argv[a++] = pc->argv[i];
    if (j->torch) {
        c->argv[a++] = ab_flag;
        c->argv[a++] = s->exe;
    }
    c->argv[a++] = out_flag;
    c->argv[a++] = c->dir;
    c->argv[a] = NULL;
}

typedef struct {
    int wstatus;                /* waitpid's, -1 when it could not wait */
    int timed_out;
    int interrupted;
    double seconds;
} outcome;

/* Sleeps until a child changes state, a caught signal arrives or `seconds`
 * pass, whichever is first. */
static void sleep_until_child(double seconds)
{
    if (seconds <= 0) return;
    if (seconds > WAKE_S) seconds = WAKE_S;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct timespec ts = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    sigtimedwait(&chld, NULL, &ts);
}

/* Waits for the child, enforcing the timeout and the parent's SIGINT/SIGTERM:
 * SIGTERM to its group, SIGKILL KILL_GRACE_S later. */
static outcome wait_child(sweep *s, const sweep_job *j, pid_t pid)
{
    outcome o = {0, 0, 0, 0.0};
    double t0 = clock_now_ns(), term_ns = 0, drawn_ns = t0;
    for (;;) {
        pid_t w = waitpid(pid, &o.wstatus, WNOHANG);
        if (w == pid) break;
        if (w < 0 && errno != EINTR) {
            o.wstatus = -1;
            break;
        }
        double now = clock_now_ns();
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
        double left = term_ns ? KILL_GRACE_S - (now - term_ns) * 1e-9 : s->prof.timeout_s - (now - t0) * 1e-9;
        sleep_until_child(left > 0.01 ? left : 0.01);
    }
    /* whatever the child left in its group */
    if (o.timed_out || o.interrupted) kill(-pid, SIGKILL);
    o.seconds = (clock_now_ns() - t0) * 1e-9;
    return o;
}

// ----------------------------------------------------------------------------
// one run

/* The last non-empty line of a file (a child's stderr), without its
 * program's "accumbench: " or "torch_peer: ". */
static void last_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "rb");
    char line[1024];
    out[0] = '\0';
    while (f && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) continue;
        int prefixed = !strncmp(line, "accumbench: ", 12) || !strncmp(line, "torch_peer: ", 12);
        snprintf(out, len, "%.300s", prefixed ? line + 12 : line);
    }
    if (f) fclose(f);
}

/* The status of a child that left no fragment, its reason in why; NULL when
 * it exited 2 (bad input: the sweep stops). */
static const char *failed_status(const sweep *s, const outcome *o, const char *last, char *why, size_t why_len)
{
    const char *sep = last[0] ? ": " : "";
    int code = o->wstatus >= 0 && WIFEXITED(o->wstatus) ? WEXITSTATUS(o->wstatus) : -1;
    if (o->timed_out) {
        snprintf(why, why_len, "timed out after %g s", s->prof.timeout_s);
        return result_status_name(RESULT_TIMEOUT);
    }
    if (o->wstatus >= 0 && WIFSIGNALED(o->wstatus)) {
        int sig = WTERMSIG(o->wstatus);
        snprintf(why, why_len, "killed by signal %d (%s)%s%s", sig, strsignal(sig), sep, last);
        return result_status_name(RESULT_CRASH);
    }
    if (code == CLI_EXIT_USAGE) return NULL;
    snprintf(why, why_len, "run exited %d without results%s%s", code, sep, last);
    return result_status_name(code == CLI_EXIT_OOM ? RESULT_OOM : RESULT_ERROR);
}

/* Starts j's child; 0, else JOB_FATAL with the reason in fatal. */
static int start_child(sweep *s, const sweep_job *j, pid_t *pid, char *fatal, size_t fatal_len)
{
    child_args c;
    char out_path[4600], err_path[4600];
    child_argv(s, j, &c);
    job_file(s, j, "run.out", out_path, sizeof out_path);
    job_file(s, j, "run.err", err_path, sizeof err_path);
    if (files_mkdir_p(c.dir) != 0) {
        snprintf(fatal, fatal_len, "sweep: cannot create '%.900s': %s", c.dir, strerror(errno));
        return -1;
    }
    frag_clear(s, j);
    proc_spawn_opts o = {.stdout_path = out_path, .stderr_path = err_path, .own_group = 1};
    int rc = proc_spawn(c.argv, &o, pid);
    if (rc != 0) {
        snprintf(fatal, fatal_len, "sweep: cannot start '%.900s': %s", c.argv[0], strerror(rc));
        return -1;
    }
    return 0;
}

job_result sweep_job_run(sweep *s, const sweep_job *j, char *fatal, size_t fatal_len)
{
    char dir[4400], err_path[4600], why[512] = "", last[400], status[32];
    pid_t pid;
    int disturbed = sweep_wait_calm(s);
    if (s->tty) progress_line(s, j, clock_now_ns());
    if (start_child(s, j, &pid, fatal, fatal_len) != 0) return JOB_FATAL;
    int hooked = s->spawned == s->hook_disturb;
    outcome o = wait_child(s, j, pid);
    job_file(s, j, "run.err", err_path, sizeof err_path);
    last_line(err_path, last, sizeof last);
    sweep_job_dir(s, j, dir, sizeof dir);
    if (merge_fragment_complete(dir)) {
        merge_fragment_status(dir, status, sizeof status, why, sizeof why);
    } else if (o.interrupted) {
        return JOB_INTERRUPTED;
    } else {
        const char *st = failed_status(s, &o, last, why, sizeof why);
        if (!st) {
            snprintf(fatal, fatal_len, "sweep: %s: run exited 2 (bad input): %s", j->id,
                     last[0] ? last : "(no message)");
            return JOB_BAD_INPUT;
        }
        snprintf(status, sizeof status, "%s", st);
        if (sweep_job_write_row(s, j, st, why) != 0) {
            snprintf(fatal, fatal_len, "sweep: writing the fragment of %s failed: %s", j->id, strerror(errno));
            return JOB_FATAL;
        }
    }
    s->run_s_sum += o.seconds;
    s->run_s_n++;
    int ok = strcmp(status, "ok") == 0;
    disturbed = (sweep_calm_after(s) || disturbed || hooked) && ok;
    s->calm_disturbed += disturbed;
    int kept = 0;
    if (disturbed && j->reruns < CALM_RERUNS) {
        if (!sweep_over_budget(s)) {
            frag_clear(s, j);
            s->calm_reruns++;
            progress_done(s, j, "again", o.seconds, "ran in a slow spell: again at the end of the round");
            return JOB_RERUN;
        }
        s->budget_kept++;
        kept = 1;
    }
    s->done++;
    const char *note = kept ? "ran in a slow spell; kept: the time budget is spent" : ok ? "" : why;
    progress_done(s, j, status, o.seconds, note);
    return JOB_DONE;
}
