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
 * the run starts anyway and is counted as started disturbed, and later
 * runs do not wait again until a probe has seen the machine calm: a spell
 * longer than calm_wait costs that wait once, not once per run. meta.json
 * keeps the waits, the count and the lowest round trip. */
#include "sweep.h"
#include "clock.h"
#include "cpu_latency.h"

#include <math.h>
#include <stdio.h>
#include <time.h>

#define CALM_RATIO 2.0
#define CALM_ROUNDS 20000
#define CALM_POLL_S 0.5

static double probe(sweep *s)
{
    double ns = cpu_pair_latency_ns(CALM_ROUNDS);
    if (!isnan(ns) && (isnan(s->calm_best_ns) || ns < s->calm_best_ns)) s->calm_best_ns = ns;
    return ns;
}

void sweep_wait_calm(sweep *s)
{
    if (s->prof.calm_wait_s <= 0) return;
    double t0 = clock_now_ns(), ns = probe(s);
    int said = 0;
    if (s->calm_gave_up) {
        s->calm_gave_up = !isnan(ns) && ns > CALM_RATIO * s->calm_best_ns;
        s->calm_disturbed += s->calm_gave_up;
        return;
    }
    while (!isnan(ns) && ns > CALM_RATIO * s->calm_best_ns && !sweep_interrupted()) {
        double waited = (clock_now_ns() - t0) * 1e-9;
        if (waited >= s->prof.calm_wait_s) {
            s->calm_disturbed++;
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
}
