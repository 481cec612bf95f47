/* kernels/cpu/cpu_pool.h — the CPU backend's worker threads: a fixed set of
 * threads that run the tasks of one parallel region, then sleep.
 *
 * Task t always runs on thread t % threads (thread 0 is the caller), so an
 * op that keeps one partial sum per thread and adds the partials in thread
 * order gives the same bits on every run with the same thread count. Workers
 * wait on a condition variable, never spin: a spinning BLAS pool costs the
 * single-threaded code between GEMMs its core on a 2-core machine. */
#ifndef ACCUMBENCH_CPU_POOL_H
#define ACCUMBENCH_CPU_POOL_H

/* one task: `task` in [0, tasks), `thread` in [0, threads) */
typedef void (*cpu_task_fn)(void *arg, int task, int thread);

typedef struct cpu_pool cpu_pool;

/* A pool of `threads` (>= 1) including the caller. NULL on host OOM; fewer
 * threads when the system refuses some (cpu_pool_threads says how many). */
cpu_pool *cpu_pool_create(int threads);
void cpu_pool_destroy(cpu_pool *p);
int cpu_pool_threads(const cpu_pool *p);
/* Runs fn for every task and returns when all have finished. One region at
 * a time: the backend's ops are called from one thread. */
void cpu_pool_run(cpu_pool *p, int tasks, cpu_task_fn fn, void *arg);

#endif
