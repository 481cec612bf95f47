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
 * The caller stays free and workers sleep on a condition variable, never
 * spin. Both alternatives were slower on a loaded 2-vCPU VM (8.5-12 ms per
 * step of the mlp this way): a pinned caller is woken on its own CPU even
 * while another process holds it (30 ms), and a spinning worker that the
 * scheduler put beside the free caller takes its time (30 ms); a spinning
 * BLAS pool also costs the single-threaded code between regions its core on
 * a 2-core machine. Threads and processes the caller starts keep its mask. */
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
