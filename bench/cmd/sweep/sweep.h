/* bench/cmd/sweep/sweep.h — the parts of `accumbench sweep`, shared between its
 * files: sweep.c the command and its loop, order.c the runs and the order
 * they run in, jobs.c one run (spawn, wait, progress), peer.c the Python of
 * engine torch, meta.c meta.json. The process model is in sweep.c's opening
 * comment. */
#ifndef ACCUMBENCH_SWEEP_H
#define ACCUMBENCH_SWEEP_H

#include "profile.h"

#include <stddef.h>
#include <stdint.h>

/* one run: a configuration x engine x repeat, one `run` process */
typedef struct {
    int config;                 /* index into sweep.configs */
    int repeat;                 /* 0-based: the round it runs in */
    int torch;                  /* engine: the PyTorch peer, not accumbench run */
    int reruns;                 /* times run again after a disturbed run (calm.c) */
    char id[40];                /* FNV-1a of the flags, then [-torch]-r<repeat> */
} sweep_job;

typedef struct {
    char exe[4096];             /* this executable: what each run child is */
    char dir[4096];             /* the sweep directory */
    profile prof;
    profile_config *configs;
    int n_configs;
    sweep_job *jobs;            /* profile order: configuration, engine, repeat (to repeat_max) */
    int n_jobs;
    int n_planned;              /* the runs of rounds < repeat, and the extra ones decided so far */
    int *order;                 /* n_jobs indices into jobs: the run order */
    int resume;
    uint64_t shuffle_seed;      /* the profile's seed (meta.json says it) */
    char start_utc[32];
    char python[4096];          /* what runs engine torch; empty when no torch run is pending */
    /* calm.c: the waits for a calm machine, the lowest CPU round trip seen
     * (NAN: none); runs that started or ended in a spell, and how many of
     * them were run again */
    double calm_waited_s, calm_best_ns;
    int calm_gave_up, calm_disturbed, calm_reruns;
    /* extra.c: the time budget: when the runs began, when it ran out (NAN:
     * not), the extra runs it left out and the disturbed runs it kept */
    double t_start_ns, budget_reached_s;
    int budget_skipped, budget_kept;
    /* progress */
    int tty, done, run_s_n;
    double run_s_sum;
    /* test hook (sweep.c's opening comment): spawn counter, which to replace */
    int spawned, hook_kill, hook_hang, hook_disturb;
} sweep;

// ----------------------------------------------------------------------------
// order.c

/* The jobs in profile order (repeats to repeat_max), then the run order: round r holds repeat r of
 * every configuration and engine, shuffled within the round when
 * prof.shuffle (seeded by shuffle_seed, so a dry run and a --resume see the
 * order the sweep had), and runs whole before round r + 1. 0, -1 out of
 * host memory. */
int sweep_jobs_plan(sweep *s);

// ----------------------------------------------------------------------------
// extra.c

/* 1 when job index ji runs: always in rounds < repeat; in a later round
 * when its configuration's earlier repeats all ended ok and disagree */
int sweep_job_wanted(const sweep *s, int ji);
/* the runs round `round` will start: wanted and not complete */
int sweep_round_new_runs(const sweep *s, int round);
/* 1 once the sweep has run for time_budget seconds (since t_start_ns):
 * from then on no extra repeat starts, no run waits for a calm machine and
 * a disturbed run is kept */
int sweep_over_budget(sweep *s);

// ----------------------------------------------------------------------------
// calm.c

/* A run again at the end of its round at most this many times */
#define CALM_RERUNS 2

/* With calm_wait: probes the machine and waits, up to calm_wait seconds,
 * while a slow spell lasts; 1 when the run starts in one anyway. Nothing
 * (0) without it. */
int sweep_wait_calm(sweep *s);
/* With calm_wait: 1 when a probe right after a run finds a slow spell */
int sweep_calm_after(sweep *s);

// ----------------------------------------------------------------------------
// jobs.c

/* SIGINT/SIGTERM are noted, not fatal: the loop stops between runs and a
 * running child is stopped (SIGTERM, then SIGKILL) */
void sweep_signals_install(void);
int sweep_interrupted(void);

void sweep_job_dir(const sweep *s, const sweep_job *j, char *out, size_t len);
int sweep_job_complete(const sweep *s, const sweep_job *j);
/* A results.csv for j written by the sweep itself (skipped, crash, ...):
 * the configuration's key columns, status and reason. 0, -1 with errno. */
int sweep_job_write_row(const sweep *s, const sweep_job *j, const char *status, const char *error);

typedef enum { JOB_DONE, JOB_RERUN, JOB_INTERRUPTED, JOB_FATAL, JOB_BAD_INPUT } job_result;
/* Runs j to an outcome (its fragment complete); JOB_FATAL and JOB_BAD_INPUT
 * say why in fatal. JOB_RERUN: it ended ok but in a slow spell (calm.c)
 * with fewer than CALM_RERUNS reruns behind it and the time budget not
 * spent, so its fragment is cleared for the caller to run it again. */
job_result sweep_job_run(sweep *s, const sweep_job *j, char *fatal, size_t fatal_len);

/* the test hook's settings from ACCUMBENCH_SWEEP_TEST_CHILD */
void sweep_hook_parse(sweep *s);
/* clears the progress line (on a terminal) */
void sweep_progress_clear(const sweep *s);

// ----------------------------------------------------------------------------
// peer.c

/* Chooses what runs engine torch into s->python. 0, else -1 with the
 * bad-input message in err. */
int sweep_peer_python(sweep *s, char *err, size_t err_len);

// ----------------------------------------------------------------------------
// meta.c

/* meta.json (temporary + rename). end_utc NULL while running; backend: the
 * first row's (NULL when none). 0, -1 with errno. */
int sweep_meta_write(const sweep *s, const char *end_utc, int interrupted, const char *backend);
/* a string field of a meta.json (dotted path), copied; 0 found, -1 not */
int sweep_meta_get(const char *meta_path, const char *field, char *out, size_t len);
/* UTC now, strftime's fmt */
void sweep_utc_now(char *buf, size_t len, const char *fmt);

#endif
