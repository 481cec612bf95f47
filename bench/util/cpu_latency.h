/* bench/util/cpu_latency.h — how long two CPUs of this process take to pass
 * a cache line back and forth: a probe of the machine's state, not of
 * accumbench.
 *
 * On the 2-vCPU VM this project runs on, multi-threaded runs go 1.6x slower
 * for spells of 10-40 s while single-threaded work, even on both vCPUs at
 * once, keeps its speed. The round trip of an atomic between the two vCPUs
 * tells the spells apart exactly: ~70 ns outside them, ~350 ns inside (the
 * host had put the vCPUs far apart, so every shared cache line crosses).
 * Measured over 212 runs: every slow one at 320-380 ns, every fast one under
 * 130 ns (sweep calm_wait uses it). */
#ifndef ACCUMBENCH_CPU_LATENCY_H
#define ACCUMBENCH_CPU_LATENCY_H

/* The mean round trip in ns between the first two CPUs of the
 * calling thread's affinity mask over up to `rounds` round trips, stopping
 * after about 50 ms (a partner that cannot run reads as a very long round
 * trip, not a hang). The caller's affinity is restored. NAN when the mask
 * has fewer than two CPUs or a thread cannot be made or pinned. */
double cpu_pair_latency_ns(int rounds);

#endif
