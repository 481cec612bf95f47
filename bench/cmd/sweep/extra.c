/* bench/cmd/sweep/extra.c — the optional runs: which configurations get
 * another repeat after the profile's `repeat` rounds, and the time budget
 * that bounds those and the runs run again after a slow spell.
 *
 * A machine that is slow for a while makes every process that runs then
 * slow, each precise on its own (measured on a 2-vCPU VM: spells of 1.7-3x
 * lasting tens of seconds). Rounds spread such a spell over all
 * configurations, but with 3 repeats one slow process is a third of a
 * configuration's sample and two make its median wrong. So when a
 * configuration's repeats disagree (stats_repeats_unstable, the rule the
 * report flags `unstable` with), it gets one more repeat in the next round,
 * up to `repeat_max`: the median of 5 or 6 processes outvotes a spell that
 * caught 2. A configuration whose repeats agree, or one with a repeat that
 * did not end ok, gets none. The decision for round r reads only the
 * fragments of rounds before it, all finished by then, so a --resume decides
 * as the interrupted sweep did.
 *
 * `time_budget`: the base rounds always run, since a configuration needs its
 * `repeat` processes to be compared at all; the extra repeats and the runs
 * run again are what make a noisy day's sweep long (quick on 2 vCPUs: base
 * rounds over in 200-254 s, extra ones 20-100 s more). Past the budget no
 * extra repeat starts, no run waits for a calm machine and a run a spell
 * caught is kept (meta.json says how many extra runs were left out and how
 * many disturbed runs kept). The budget counts from this process's first
 * run, so a --resume gets a fresh one and may run extra repeats an earlier
 * process left out. */
#include "sweep.h"
#include "clock.h"
#include "merge.h"
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the step medians of job index ji's earlier repeats (same configuration
 * and engine: the jobs just before it in profile order); how many, or -1
 * when one is missing or not ok */
static int earlier_medians(const sweep *s, int ji, double *out)
{
    const sweep_job *j = &s->jobs[ji];
    for (int r = 0; r < j->repeat; r++) {
        const sweep_job *e = &s->jobs[ji - j->repeat + r];
        char dir[4400], cell[64];
        sweep_job_dir(s, e, dir, sizeof dir);
        if (!merge_fragment_complete(dir) || merge_fragment_cell(dir, "status", cell, sizeof cell) != 0 ||
            strcmp(cell, "ok") != 0 || merge_fragment_cell(dir, "step_median_ns", cell, sizeof cell) != 0)
            return -1;
        char *end;
        out[r] = strtod(cell, &end);
        if (end == cell || !(out[r] > 0)) return -1;
    }
    return j->repeat;
}

int sweep_job_wanted(const sweep *s, int ji)
{
    const sweep_job *j = &s->jobs[ji];
    if (j->repeat < s->prof.repeat) return 1;
    double *v = malloc((size_t)j->repeat * sizeof *v);
    int n = v ? earlier_medians(s, ji, v) : -1;
    int wanted = n >= 2 && stats_repeats_unstable(v, (size_t)n, s->configs[j->config].cfg.noise);
    free(v);
    return wanted;
}

int sweep_round_new_runs(const sweep *s, int round)
{
    int n = 0;
    for (int i = 0; i < s->n_jobs; i++)
        n += s->jobs[i].repeat == round && !sweep_job_complete(s, &s->jobs[i]) && sweep_job_wanted(s, i);
    return n;
}

int sweep_over_budget(sweep *s)
{
    if (!(s->prof.time_budget_s > 0)) return 0;
    if (!isnan(s->budget_reached_s)) return 1;
    double elapsed = (clock_now_ns() - s->t_start_ns) * 1e-9;
    if (elapsed < s->prof.time_budget_s) return 0;
    s->budget_reached_s = elapsed;
    return 1;
}
