/* bench/cmd/sweep/order.c — a sweep's runs and the order they run in.
 *
 * Repeats run in rounds (the design's Throughput and noise section): round r
 * runs repeat r of every configuration and engine before round r + 1
 * starts, so a slow spell of the machine spreads over all configurations
 * instead of sinking one. Within a round the order is shuffled (profile key
 * `shuffle`, on by default with repeats) by a generator seeded with the
 * profile's seed, so the order is a function of the profile alone: --dry-run
 * prints the order the sweep will have, and --resume runs the missing runs
 * in the order the interrupted sweep would have run them. Every run takes
 * its place in the shuffle, done or skipped or not, for the same reason.
 * Rounds `repeat` .. `repeat_max` - 1 are planned the same way; which of
 * their runs happen is decided as each begins (extra.c). */
#include "sweep.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>

static void fill_jobs(sweep *s, int n_engines, int torch)
{
    int n = 0;
    for (int c = 0; c < s->n_configs; c++)
        for (int e = n_engines == 2 ? 0 : torch; e <= torch; e++)
            for (int r = 0; r < s->prof.repeat_max; r++, n++) {
                sweep_job *j = &s->jobs[n];
                j->config = c;
                j->repeat = r;
                j->torch = e;
                snprintf(j->id, sizeof j->id, "%016llx%s-r%d", (unsigned long long)s->configs[c].hash,
                         e ? "-torch" : "", r);
            }
}

/* Fisher-Yates; the modulo's bias (< n / 2^64) does not matter for an order */
static void shuffle(int *v, int n, rng *r)
{
    for (int i = n - 1; i > 0; i--) {
        int k = (int)(rng_next(r) % (uint64_t)(i + 1));
        int t = v[i];
        v[i] = v[k];
        v[k] = t;
    }
}

static void round_order(sweep *s)
{
    rng r;
    rng_seed(&r, s->shuffle_seed);
    int n = 0;
    for (int round = 0; round < s->prof.repeat_max; round++) {
        int start = n;
        for (int i = 0; i < s->n_jobs; i++)
            if (s->jobs[i].repeat == round) s->order[n++] = i;
        if (s->prof.shuffle) shuffle(s->order + start, n - start, &r);
    }
}

int sweep_jobs_plan(sweep *s)
{
    int torch = (s->prof.engines & PROFILE_ENGINE_TORCH) != 0;
    int n_engines = torch + ((s->prof.engines & PROFILE_ENGINE_ACCUMBENCH) != 0);
    s->n_jobs = s->n_configs * n_engines * s->prof.repeat_max;
    size_t n_alloc = (size_t)(s->n_jobs ? s->n_jobs : 1);
    s->jobs = calloc(n_alloc, sizeof *s->jobs);
    s->order = malloc(n_alloc * sizeof *s->order);
    if (!s->jobs || !s->order) return -1;
    fill_jobs(s, n_engines, torch);
    s->shuffle_seed = s->prof.seed;
    round_order(s);
    return 0;
}
