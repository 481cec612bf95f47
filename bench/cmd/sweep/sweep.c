/* bench/cmd/sweep/sweep.c — `accumbench sweep`: every configuration of a profile,
 * each repeat in its own `accumbench run --out DIR/fragments/ID` process.
 *
 * The process model (the design's Running configurations section): the
 * parent never opens a backend; it spawns this same executable once per
 * configuration x repeat, in its own process group, with a timeout (SIGTERM
 * to the group, SIGKILL 5 s later). A child writes its fragment's CSVs by
 * rename, results.csv last, so a fragment is complete exactly when
 * results.csv exists. When a child leaves none (killed, timed out, failed
 * early) the parent writes a results.csv for it with the status and reason,
 * so every configuration ends with one row. After each run the sweep's CSVs
 * are rebuilt from the fragments (results/merge.h). --resume runs what has
 * no complete fragment. Repeats run in rounds, shuffled within a round
 * (order.c); with `repeat_max`, configurations whose repeats disagree get
 * more in extra rounds (extra.c).
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
 * by scripts/gpu-bundle.sh), else the source tree's bench/peer (jobs.c).
 * PYTHON is chosen once, before any run (peer.c).
 *
 * Rows keep the profile's order (configuration, then engine, then repeat)
 * whatever order they ran in. `run` has no repeat flag, so the merge writes
 * the repeat index into the `repeat` key column of every row.
 *
 * Test hook: ACCUMBENCH_SWEEP_TEST_CHILD="kill:N,hang:M,disturb:K" replaces
 * the N-th (1-based, in spawn order) child with a shell that kills itself
 * with SIGKILL, and the M-th with one that ignores SIGTERM and sleeps; the
 * K-th runs as it is but counts as disturbed by a slow spell (calm.c). Only
 * tests/sweep.py and tests/sweep_extra.py set it. */
#include "sweep.h"
#include "clock.h"
#include "commands.h"
#include "errors.h"
#include "files.h"
#include "merge.h"
#include "proc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_INTERRUPTED 130            /* 128 + SIGINT, as shells report it */
#define EXIT_CONTINUE (-1)              /* a setup step that does not end the command */
/* Rebuilding steps/kernels/memory.csv costs time that grows with the sweep;
 * they are rebuilt when at least this many times their last rebuild's
 * duration has passed (so at most ~10% overhead), results.csv every time. */
#define BIG_REBUILD_RATIO 10.0

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

// ----------------------------------------------------------------------------
// arguments

typedef struct {
    const char *profile, *out, *resume;
    int dry;
} sweep_args;

static void sweep_usage(FILE *f)
{
    fputs("usage: accumbench sweep --profile NAME|FILE [--out DIR] [--dry-run]\n"
          "       accumbench sweep --resume DIR [--dry-run]\n\n"
          "Runs every configuration of a profile, each repeat in its own `accumbench run` process with a\n"
          "timeout, and collects the rows in DIR/results.csv, steps.csv, kernels.csv, memory.csv and\n"
          "meta.json. Status per row: ok | oom | error | crash | timeout | skipped (reason in `error`).\n"
          "Repeats run in rounds: every configuration's repeat r, shuffled by the profile's seed, before\n"
          "any repeat r + 1. With repeat_max, a configuration whose repeats disagree gets another in\n"
          "each extra round, up to repeat_max.\n\n"
          "  --profile NAME|FILE  NAME is profiles/NAME.profile, looked for in $ACCUMBENCH_PROFILES,\n"
          "                       <executable's directory>/../profiles, the source tree's profiles/, ./profiles\n"
          "  --out DIR            where the results go (results/<profile>-<UTC time>)\n"
          "  --resume DIR         finish an interrupted sweep: runs what has no complete fragment\n"
          "  --dry-run            print one line per configuration x repeat in run order (id,\n"
          "                       run|done|skipped: reason|extra, the flags run gets) and exit;\n"
          "                       extra: a repeat past `repeat`, run only if the earlier ones disagree\n",
          f);
}

/* one argument at argv[*i]; EXIT_CONTINUE, or the exit status */
static int parse_one(sweep_args *a, int argc, char **argv, int *i)
{
    const char *arg = argv[*i];
    const char **target = !strcmp(arg, "--profile") ? &a->profile
                          : !strcmp(arg, "--out")   ? &a->out
                          : !strcmp(arg, "--resume") ? &a->resume
                                                   : NULL;
    if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
        sweep_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (!strcmp(arg, "--dry-run")) {
        if (a->dry) cli_error("--dry-run: given more than once");
        return a->dry++ ? CLI_EXIT_USAGE : EXIT_CONTINUE;
    }
    if (!target) {
        cli_error(arg[0] == '-' ? "%s: unknown flag for 'sweep' (see accumbench sweep --help)"
                                : "unexpected argument '%s' (flags take the form --name value)", arg);
        return CLI_EXIT_USAGE;
    }
    if (*target) {
        cli_error("%s: given more than once", arg);
        return CLI_EXIT_USAGE;
    }
    if (*i + 1 >= argc || !argv[*i + 1][0]) {
        cli_error("%s: needs a value", arg);
        return CLI_EXIT_USAGE;
    }
    *target = argv[++*i];
    return EXIT_CONTINUE;
}

static int parse_args(sweep_args *a, int argc, char **argv)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        int rc = parse_one(a, argc, argv, &i);
        if (rc != EXIT_CONTINUE) return rc;
    }
    if (!a->profile == !a->resume) {
        cli_error(a->resume ? "--resume: takes the profile saved in DIR; give no --profile"
                            : "sweep: needs --profile NAME|FILE (or --resume DIR)");
        return CLI_EXIT_USAGE;
    }
    if (a->resume && a->out) {
        cli_error("--out: --resume DIR writes to DIR; give no --out");
        return CLI_EXIT_USAGE;
    }
    return EXIT_CONTINUE;
}

// ----------------------------------------------------------------------------
// setup: the profile, its runs, the directory

/* The profile: named by --profile, or the copy in the --resume directory
 * (its name, path and start time from that sweep's meta.json). */
static int load_profile(sweep *s, const sweep_args *a)
{
    char path[4096], name[256], err[8192], meta[4400];
    sweep_utc_now(s->start_utc, sizeof s->start_utc, "%Y-%m-%dT%H:%M:%SZ");
    if (a->resume) {
        s->resume = 1;
        snprintf(s->dir, sizeof s->dir, "%s", a->resume);
        snprintf(path, sizeof path, "%.4000s/profile.txt", s->dir);
        snprintf(meta, sizeof meta, "%.4000s/meta.json", s->dir);
        if (!exists(path)) {
            cli_error("--resume: '%s' holds no profile.txt (not a sweep directory)", s->dir);
            return CLI_EXIT_USAGE;
        }
        if (sweep_meta_get(meta, "profile.name", name, sizeof name) != 0) snprintf(name, sizeof name, "resumed");
        sweep_meta_get(meta, "start_utc", s->start_utc, sizeof s->start_utc);
    } else if (profile_resolve(a->profile, path, sizeof path, name, sizeof name, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (profile_load(&s->prof, path, name, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    /* results keep naming the profile file the sweep started from */
    if (a->resume) sweep_meta_get(meta, "profile.path", s->prof.path, sizeof s->prof.path);
    return EXIT_CONTINUE;
}

static int setup(sweep *s, const sweep_args *a)
{
    if (proc_exe_path(s->exe, sizeof s->exe) != 0) {
        cli_error("sweep: cannot find this executable (/proc/self/exe): %s", strerror(errno));
        return CLI_EXIT_USAGE;
    }
    int rc = load_profile(s, a);
    if (rc != EXIT_CONTINUE) return rc;
    if (profile_expand(&s->prof, &s->configs, &s->n_configs) != 0 || sweep_jobs_plan(s) != 0) {
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    if (a->out) snprintf(s->dir, sizeof s->dir, "%s", a->out);
    else if (!a->resume) {
        char stamp[32];
        sweep_utc_now(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ");
        snprintf(s->dir, sizeof s->dir, "results/%s-%s", s->prof.name, stamp);
    }
    if (strlen(s->dir) > 3900) {
        cli_error("%s: directory path longer than 3900 characters", a->resume ? "--resume" : "--out");
        return CLI_EXIT_USAGE;
    }
    return EXIT_CONTINUE;
}

static int dry_run(const sweep *s)
{
    for (int i = 0; i < s->n_jobs; i++) {
        const sweep_job *j = &s->jobs[s->order[i]];
        const profile_config *pc = &s->configs[j->config];
        const char *what = s->resume && sweep_job_complete(s, j) ? "done"
                           : j->repeat >= s->prof.repeat    ? "extra"
                           : pc->skipped                    ? "skipped: "
                                                            : "run";
        if (j->repeat >= s->prof.repeat && pc->skipped) continue;
        printf("%s\t%s%s\t%s\n", j->id, what, pc->skipped && !strcmp(what, "skipped: ") ? pc->reason : "", pc->flags);
    }
    return CLI_EXIT_OK;
}

static int write_profile_text(FILE *f, void *user)
{
    return fputs(user, f) >= 0 ? 0 : -1;
}

/* The directory, profile.txt and a first meta.json, before anything runs;
 * engine torch's Python before that. */
static int prepare_dir(sweep *s)
{
    char err[8192], sub[4400], pt[4400];
    int torch_pending = 0;
    for (int i = 0; i < s->n_jobs && !torch_pending; i++) {
        const sweep_job *j = &s->jobs[i];
        torch_pending = j->torch && !s->configs[j->config].skipped && !(s->resume && sweep_job_complete(s, j));
    }
    if (torch_pending && sweep_peer_python(s, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    const char *flag = s->resume ? "--resume" : "--out";
    snprintf(sub, sizeof sub, "%.4000s/fragments", s->dir);
    snprintf(pt, sizeof pt, "%.4000s/profile.txt", s->dir);
    if (!s->resume && exists(pt)) {
        cli_error("--out: '%s' already holds a sweep (finish it with --resume %s, or choose another directory)",
                  s->dir, s->dir);
        return CLI_EXIT_USAGE;
    }
    if (files_mkdir_p(s->dir) != 0 || files_mkdir_p(sub) != 0) {
        cli_error("%s: cannot create directory '%s': %s", flag, s->dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (!s->resume && files_write_atomic(pt, write_profile_text, s->prof.text) != 0) {
        cli_error("--out: cannot write '%s': %s", pt, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (sweep_meta_write(s, NULL, 0, NULL) != 0) {
        cli_error("sweep: cannot write meta.json in '%s': %s", s->dir, strerror(errno));
        return CLI_EXIT_CHECK;
    }
    return EXIT_CONTINUE;
}

// ----------------------------------------------------------------------------
// the sweep's CSVs

typedef struct {
    merge_fragment *frags;      /* one per job, profile order */
    char (*dirs)[4400];
    double big_cost_s, big_end_ns;  /* the last full rebuild's duration and end */
    int n_left_out;
} rebuilder;

static int rebuilder_init(rebuilder *rb, const sweep *s)
{
    size_t n = (size_t)(s->n_jobs ? s->n_jobs : 1);
    memset(rb, 0, sizeof *rb);
    rb->frags = calloc(n, sizeof *rb->frags);
    rb->dirs = calloc(n, sizeof *rb->dirs);
    if (!rb->frags || !rb->dirs) return -1;
    for (int i = 0; i < s->n_jobs; i++) {
        sweep_job_dir(s, &s->jobs[i], rb->dirs[i], sizeof rb->dirs[i]);
        rb->frags[i] = (merge_fragment){rb->dirs[i], s->jobs[i].repeat};
    }
    rb->big_end_ns = clock_now_ns();
    return 0;
}

static void rebuilder_free(rebuilder *rb)
{
    free(rb->frags);
    free(rb->dirs);
}

/* Rebuilds results.csv, and the other CSVs when big. summary: the last
 * rebuild, which fills it and names the fragments left out on stderr.
 * 0 ok, -1 a write failed. */
static int rebuild(rebuilder *rb, const sweep *s, int big, merge_summary *summary)
{
    double t0 = clock_now_ns();
    int rc = 0, n_files = big ? MERGE_N_CSV : 1;
    for (int n = 0; n < n_files; n++) {
        merge_summary sum;
        if (merge_csv(s->dir, merge_csv_names[n], rb->frags, (size_t)s->n_jobs, &sum, summary ? stderr : NULL) != 0) {
            cli_error("sweep: writing '%s/%s' failed: %s", s->dir, merge_csv_names[n], strerror(errno));
            rc = -1;
        }
        if (n == 0 && summary) *summary = sum;
        if (sum.n_left_out > rb->n_left_out) rb->n_left_out = sum.n_left_out;
    }
    if (big) {
        rb->big_end_ns = clock_now_ns();
        rb->big_cost_s = (rb->big_end_ns - t0) * 1e-9;
    }
    return rc;
}

static int rebuild_due(const rebuilder *rb)
{
    return (clock_now_ns() - rb->big_end_ns) * 1e-9 >= BIG_REBUILD_RATIO * rb->big_cost_s;
}

// ----------------------------------------------------------------------------
// the loop

typedef struct {
    int interrupted, bad_input, write_failed;
    char fatal[1024];
} sweep_end;

/* Rows for the skipped configurations now (one per repeat below `repeat`);
 * the count done before a resume; the runs planned so far. */
static int write_skipped(sweep *s, int *n_skipped, int *n_done_before)
{
    *n_skipped = *n_done_before = 0;
    s->n_planned = 0;
    for (int i = 0; i < s->n_jobs; i++) {
        const sweep_job *j = &s->jobs[i];
        const profile_config *pc = &s->configs[j->config];
        int base = j->repeat < s->prof.repeat, done = sweep_job_complete(s, j);
        s->n_planned += base || done;
        if (done) (*n_done_before)++;
        else if (pc->skipped && base) {
            if (sweep_job_write_row(s, j, "skipped", pc->reason) != 0) {
                cli_error("sweep: writing the fragment of %s failed: %s", j->id, strerror(errno));
                return -1;
            }
            (*n_skipped)++;
        }
    }
    s->done = *n_done_before + *n_skipped;
    return 0;
}

static void print_banner(const sweep *s, int n_skipped, int n_done_before)
{
    fprintf(stderr, "accumbench sweep: profile %s: %d configurations x %d repeats%s = %d runs", s->prof.name,
            s->n_configs, s->prof.repeat,
            s->prof.engines == (PROFILE_ENGINE_ACCUMBENCH | PROFILE_ENGINE_TORCH) ? " x 2 engines"
            : s->prof.engines == PROFILE_ENGINE_TORCH                             ? " (engine torch)"
                                                                                   : "",
            s->n_planned);
    if (s->prof.repeat_max > s->prof.repeat)
        fprintf(stderr, " (up to %d repeats where they disagree)", s->prof.repeat_max);
    if (n_done_before) fprintf(stderr, ", %d done before", n_done_before);
    if (n_skipped) fprintf(stderr, ", %d skipped", n_skipped);
    fprintf(stderr, "; results in %s\n", s->dir);
    if (s->prof.shuffle)
        fprintf(stderr, "accumbench sweep: %d rounds%s, each shuffled (seed %llu)\n", s->prof.repeat,
                s->prof.repeat_max > s->prof.repeat ? " and extra ones as needed" : "",
                (unsigned long long)s->shuffle_seed);
}

/* Runs job index ji; 0 to go on, 1 when the sweep stops (e says why). A
 * run disturbed by a slow spell is added to again[] instead. */
static int run_job(sweep *s, rebuilder *rb, sweep_end *e, int ji, int *again, int *n_again)
{
    sweep_job *j = &s->jobs[ji];
    if (sweep_interrupted()) return 1;
    job_result jr = sweep_job_run(s, j, e->fatal, sizeof e->fatal);
    if (jr == JOB_INTERRUPTED) return 1;
    if (jr == JOB_FATAL || jr == JOB_BAD_INPUT) {
        e->bad_input = jr == JOB_BAD_INPUT;
        return 1;
    }
    if (jr == JOB_RERUN) {
        j->reruns++;
        again[(*n_again)++] = ji;
        return 0;
    }
    /* a failure at any point stops the sweep, even if a later rebuild works */
    if (rebuild(rb, s, rebuild_due(rb), NULL) != 0) {
        e->write_failed = 1;
        return 1;
    }
    return 0;
}

/* The runs disturbed in the round just ended, again (each at most
 * CALM_RERUNS times, so this ends); 1 when the sweep stops. */
static int run_again(sweep *s, rebuilder *rb, sweep_end *e, int *again, int *n_again)
{
    while (*n_again > 0) {
        int ji = again[0];
        memmove(again, again + 1, (size_t)(--*n_again) * sizeof *again);
        if (run_job(s, rb, e, ji, again, n_again)) return 1;
    }
    return 0;
}

/* Runs the pending jobs in run order, rebuilding the CSVs after each; an
 * extra round's runs are counted into the plan as the round begins, after
 * the previous round's disturbed runs have run again. */
static void run_all(sweep *s, rebuilder *rb, sweep_end *e)
{
    if (rebuild(rb, s, 1, NULL) != 0) {
        e->write_failed = 1;
        return;
    }
    int *again = malloc((size_t)s->n_jobs * sizeof *again), n_again = 0;
    if (!again) {
        snprintf(e->fatal, sizeof e->fatal, "sweep: out of host memory");
        return;
    }
    int round = 0, stop = 0, counted = 0;   /* counted: this extra round's runs are in the plan */
    s->t_start_ns = clock_now_ns();
    for (int i = 0; i < s->n_jobs && !stop; i++) {
        const sweep_job *j = &s->jobs[s->order[i]];
        if (j->repeat != round) {
            if ((stop = run_again(s, rb, e, again, &n_again))) break;
            round = j->repeat;
            counted = round >= s->prof.repeat && !sweep_over_budget(s);
            if (counted) s->n_planned += sweep_round_new_runs(s, round);
        }
        if (sweep_job_complete(s, j)) continue;     /* done before, or skipped (written above) */
        if (!sweep_job_wanted(s, s->order[i])) continue;
        if (j->repeat >= s->prof.repeat && sweep_over_budget(s)) {
            s->n_planned -= counted;
            s->budget_skipped++;
            continue;
        }
        stop = run_job(s, rb, e, s->order[i], again, &n_again);
    }
    if (!stop) run_again(s, rb, e, again, &n_again);
    free(again);
}

/* The last rebuild, meta.json, the summary line; the exit status. */
static int finish(sweep *s, rebuilder *rb, sweep_end *e)
{
    merge_summary sum;
    char end[32];
    sweep_progress_clear(s);
    e->interrupted = sweep_interrupted();
    if (rebuild(rb, s, 1, &sum) != 0) e->write_failed = 1;
    sweep_utc_now(end, sizeof end, "%Y-%m-%dT%H:%M:%SZ");
    if (sweep_meta_write(s, end, e->interrupted, sum.backend) != 0) e->write_failed = 1;
    if (e->fatal[0]) cli_error("%s", e->fatal);
    if (rb->n_left_out) cli_error("sweep: some fragments were left out of the CSVs (see above)");

    printf("accumbench sweep: %d of %d runs done", s->done, s->n_planned);
    int listed = 0;
    for (int k = 0; k < RESULT_STATUS_N; k++)
        if (sum.n_status[k])
            printf("%s%d %s", listed++ ? ", " : " (", sum.n_status[k], result_status_name((result_status)k));
    printf("%s; results: %s/results.csv\n", listed ? ")" : "", s->dir);
    if (e->interrupted) {
        cli_error("sweep: interrupted; finished runs are kept; complete it with: accumbench sweep --resume %s", s->dir);
        return EXIT_INTERRUPTED;
    }
    if (e->fatal[0]) return e->bad_input ? CLI_EXIT_USAGE : CLI_EXIT_CHECK;
    if (e->write_failed && s->done < s->n_planned)
        cli_error("sweep: stopped after a failed write; finished runs are kept; complete it with: "
                  "accumbench sweep --resume %s", s->dir);
    return e->write_failed || rb->n_left_out ? CLI_EXIT_CHECK : CLI_EXIT_OK;
}

static int execute(sweep *s)
{
    int rc = prepare_dir(s), n_skipped, n_done_before;
    if (rc != EXIT_CONTINUE) return rc;
    if (write_skipped(s, &n_skipped, &n_done_before) != 0) return CLI_EXIT_CHECK;
    print_banner(s, n_skipped, n_done_before);
    sweep_hook_parse(s);
    s->tty = isatty(2);
    rebuilder rb;
    sweep_end e;
    memset(&e, 0, sizeof e);
    if (rebuilder_init(&rb, s) != 0) {
        rebuilder_free(&rb);
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    run_all(s, &rb, &e);
    rc = finish(s, &rb, &e);
    rebuilder_free(&rb);
    return rc;
}

int cmd_sweep(int argc, char **argv)
{
    /* from the very start: a Ctrl-C during setup must still end with the
     * directory consistent, the interrupted meta.json and exit 130 */
    sweep_signals_install();
    sweep_args a;
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_CONTINUE) return rc;
    sweep *s = calloc(1, sizeof *s);
    if (!s) {
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    s->calm_best_ns = NAN;
    s->budget_reached_s = NAN;
    rc = setup(s, &a);
    if (rc == EXIT_CONTINUE) rc = a.dry ? dry_run(s) : execute(s);
    free(s->jobs);
    free(s->order);
    profile_configs_free(s->configs, s->n_configs);
    profile_free(&s->prof);
    free(s);
    return rc;
}
