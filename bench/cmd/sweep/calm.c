/* bench/cmd/sweep/calm.c — profile key `calm_wait`: before each run, wait
 * (up to calm_wait seconds) for the machine to leave a slow spell.
 *
 * On a VM the host sometimes places the vCPUs so that every cache line the
 * threads share crosses far: multi-threaded runs then go 1.6x slower for
 * 10-40 s, each precise on its own, while single-threaded work keeps its
 * speed (util/cpu_latency.h). Such a spell sinks every run that starts in
 * it; repeats and extra rounds outvote a short one, not one that covers
 * half a sweep. So the sweep probes the round trip between two of its CPUs
 * before each run and, while it is above CALM_RATIO x the lowest seen in
 * this sweep, sleeps CALM_POLL_S and probes again; past calm_wait seconds
 * the run starts anyway, disturbed, and later runs do not wait again until
 * a probe has seen the machine calm: a spell longer than calm_wait costs
 * that wait once, not once per run.
 *
 * A spell can also begin while a run is going: a probe right after each
 * run catches that. A run that started or ended in a spell is disturbed,
 * and jobs.c runs it again at the end of its round, up to CALM_RERUNS times
 * (a spell rarely outlasts a round, ~1 min). Measured on four quick sweeps
 * before the second probe: 1-74 processes each ran 1.2-3x slower than their
 * configuration's fastest, and the probe before the run had caught half of
 * them. meta.json keeps the waits, the disturbed runs, the ones run again
 * and the lowest round trip. Past the sweep's time_budget (extra.c) nothing
 * waits and nothing runs again. */
#include "sweep.h"
#include "clock.h"
#include "cpu_latency.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

/* calm: 52-119 ns in 300 idle probes, spells 220-380 ns; twice the lowest
 * (~105 ns) took calm moments for spells */
#define CALM_RATIO 3.0
#define CALM_ROUNDS 20000
#define CALM_POLL_S 0.5

static double probe(sweep *s)
{
    double ns = cpu_pair_latency_ns(CALM_ROUNDS);
    if (!isnan(ns) && (isnan(s->calm_best_ns) || ns < s->calm_best_ns)) s->calm_best_ns = ns;
    return ns;
}

static int slow(const sweep *s, double ns) { return !isnan(ns) && ns > CALM_RATIO * s->calm_best_ns; }

int sweep_wait_calm(sweep *s)
{
    if (s->prof.calm_wait_s <= 0) return 0;
    double t0 = clock_now_ns(), ns = probe(s);
    int said = 0;
    /* past the time budget a run starts at once; the probe still says
     * whether it starts in a spell (meta.json counts it) */
    if (sweep_over_budget(s)) return slow(s, ns);
    if (s->calm_gave_up) {
        s->calm_gave_up = slow(s, ns);
        return s->calm_gave_up;
    }
    while (slow(s, ns) && !sweep_interrupted()) {
        double waited = (clock_now_ns() - t0) * 1e-9;
        if (waited >= s->prof.calm_wait_s) {
            s->calm_gave_up = 1;
            break;
        }
        if (s->tty && !said++)
            fprintf(stderr, "\r\033[Kwaiting for a calm machine: CPU round trip %.0f ns, %.0f ns at best\r", ns,
                    s->calm_best_ns);
        struct timespec ts = {0, (long)(CALM_POLL_S * 1e9)};
        nanosleep(&ts, NULL);
        ns = probe(s);
    }
    s->calm_waited_s += (clock_now_ns() - t0) * 1e-9;
    return s->calm_gave_up;
}

int sweep_calm_after(sweep *s)
{
    if (s->prof.calm_wait_s <= 0) return 0;
    return slow(s, probe(s));
}
