/* kernels/cpu/cpu_pool.h — the CPU backend's worker threads: a fixed set of
 * threads that run the tasks of one parallel region, then sleep.
 *
 * Task t always runs on thread t % threads (thread 0 is the caller), so an
 * op that keeps one partial sum per thread and adds the partials in thread
 * order gives the same bits on every run with the same thread count, wherever
 * the threads run.
 *
 * Placement: each worker is pinned to one CPU of the creating thread's
 * affinity mask, the CPUs after the one the caller is on, in mask order and
 * wrapping (with more threads than CPUs, worker w shares the CPU of worker
 * w - CPUs, and worker number CPUs the one the caller started on).
 * Unpinned, a woken worker was queued on the caller's CPU whenever the
 * other CPU looked busy, and then stayed there (a wake-up prefers the CPU a
 * thread last ran on): perf sched showed every slice of both threads on one
 * CPU for whole processes, which ran at the speed of one thread. At
 * start-up the other CPU does look busy: OpenBLAS's own idle server thread,
 * made at library load, yield-spins for its THREAD_TIMEOUT (2^28 cycles,
 * ~0.1 s) before it sleeps, and a short run is over in a few tenths of a
 * second.
 *
 * Waiting: a worker spins on the region counter for up to 0.2 ms after a
 * region ends, and the caller on the pending count, yielding the CPU at each
 * turn, before either sleeps on a condition variable. In a VM a sleeping
 * vCPU is halted and waking it is a hypervisor round trip, paid at every op
 * of a step; the yield lets a thread that the scheduler queued on the
 * spinner's own CPU run at once. Measured on an idle 2-vCPU VM, 8 separate
 * processes each (scripts/process_spread.sh): the mlp configuration of
 * issue 13 at 4.64-4.85 ms (max/min 1.02 and 1.04 in two batches; 5.0 or
 * 8.3 ms before, 1.71), the cnn one at 20.9-22.1 ms (1.06 and 1.04). A pure
 * spin made some processes 3x slower; sleeping alone left the bimodality;
 * pinning the caller too brought the one-thread speed back in some
 * processes, so the caller stays free. Threads and processes the caller
 * starts keep its mask. */
#ifndef ACCUMBENCH_CPU_POOL_H
#define ACCUMBENCH_CPU_POOL_H

/* one task: `task` in [0, tasks), `thread` in [0, threads) */
typedef void (*cpu_task_fn)(void *arg, int task, int thread);

typedef struct cpu_pool cpu_pool;

/* A pool of `threads` (>= 1) including the calling thread. NULL on host
 * OOM; fewer threads when the system refuses some (cpu_pool_threads says how
 * many). Pinning is best effort: a refused pin leaves that worker free. */
cpu_pool *cpu_pool_create(int threads);
void cpu_pool_destroy(cpu_pool *p);
int cpu_pool_threads(const cpu_pool *p);
/* Runs fn for every task and returns when all have finished. One region at
 * a time, from the thread that created the pool (it is thread 0). */
void cpu_pool_run(cpu_pool *p, int tasks, cpu_task_fn fn, void *arg);

#endif
