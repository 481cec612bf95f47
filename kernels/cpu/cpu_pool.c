/* kernels/cpu/cpu_pool.c — worker threads for the CPU backend (see
 * cpu_pool.h for the task-to-thread rule and the placement). One mutex
 * guards the region's description; a generation counter tells a waking
 * worker that a new region started, `pending` counts the workers still
 * inside it. */
#define _GNU_SOURCE /* pthread_attr_setaffinity_np, sched_getcpu under -std=c11 */
#include "cpu_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

/* How long a thread spins on the region's atomics before it sleeps: longer
 * than the gap between two regions of one step (microseconds), far shorter
 * than anything a user would notice as a busy core. A vCPU that sleeps is
 * halted, and waking it is the hypervisor's IPI round trip, tens of
 * microseconds, paid at every op of a step; spinning across those gaps is
 * what libgomp (GOMP_SPINCOUNT) and OpenBLAS do. */
#define SPIN_NS 200000L

typedef struct {
    cpu_pool *pool;
    int id;
} cpu_worker;

struct cpu_pool {
    int threads;                /* workers + the caller */
    pthread_t *tid;             /* threads - 1 workers */
    cpu_worker *workers;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    atomic_ulong generation;    /* regions started */
    atomic_int pending;         /* workers not yet finished with this region */
    atomic_int quit;
    /* the current region */
    cpu_task_fn fn;
    void *arg;
    int tasks;
};

static void run_share(cpu_pool *p, int thread)
{
    for (int t = thread; t < p->tasks; t += p->threads) p->fn(p->arg, t, thread);
}

static long now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Spins up to SPIN_NS for *v to leave `from` (or for quit); 1 if it did.
 * Each turn yields: when the scheduler has put the thread we wait for on
 * this CPU, a pure spin would hold it off for a whole time slice (3x slower
 * processes were seen); with nothing else runnable here the yield returns at
 * once (OpenBLAS's server threads wait the same way). */
static int spin_until_changed(const cpu_pool *p, const atomic_ulong *v, unsigned long from)
{
    long deadline = now_ns() + SPIN_NS;
    for (unsigned i = 1;; i++) {
        if (atomic_load(v) != from || atomic_load(&p->quit)) return 1;
        if (i % 16 == 0 && now_ns() > deadline) return 0;
        sched_yield();
    }
}

static void *worker_main(void *v)
{
    cpu_worker *w = v;
    cpu_pool *p = w->pool;
    unsigned long seen = 0;
    for (;;) {
        if (!spin_until_changed(p, &p->generation, seen)) {
            /* the producer changes generation under mu: no lost wake-up */
            pthread_mutex_lock(&p->mu);
            while (!atomic_load(&p->quit) && atomic_load(&p->generation) == seen) pthread_cond_wait(&p->go, &p->mu);
            pthread_mutex_unlock(&p->mu);
        }
        if (atomic_load(&p->quit)) break;
        seen = atomic_load(&p->generation);
        run_share(p, w->id);
        if (atomic_fetch_sub(&p->pending, 1) == 1) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_signal(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
    return NULL;
}

/* The CPUs of the calling thread's mask in order, starting with the CPU it
 * is on and wrapping; 0 when the mask cannot be read (over CPU_SETSIZE). */
static int cpus_from_current(int *cpus)
{
    cpu_set_t mask;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0) return 0;
    const int here = sched_getcpu();
    int n = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &mask) && (pass == 0) == (c >= here)) cpus[n++] = c;
    return n;
}

/* Starts worker i (thread i + 1) pinned to cpus[(i + 1) % n_cpus]: the CPUs
 * after the caller's. Unpinned when there is no list or the pin is refused. */
static int worker_start(cpu_pool *p, int i, const int *cpus, int n_cpus)
{
    p->workers[i] = (cpu_worker){p, i + 1};
    pthread_attr_t attr;
    if (n_cpus > 0 && pthread_attr_init(&attr) == 0) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[(i + 1) % n_cpus], &one);
        int rc = pthread_attr_setaffinity_np(&attr, sizeof one, &one) == 0
                     ? pthread_create(&p->tid[i], &attr, worker_main, &p->workers[i])
                     : -1;
        pthread_attr_destroy(&attr);
        if (rc == 0) return 0;
    }
    return pthread_create(&p->tid[i], NULL, worker_main, &p->workers[i]);
}

cpu_pool *cpu_pool_create(int threads)
{
    cpu_pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (threads < 1) threads = 1;
    p->threads = 1;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    if (threads > 1) {
        p->tid = calloc((size_t)threads - 1, sizeof *p->tid);
        p->workers = calloc((size_t)threads - 1, sizeof *p->workers);
        if (!p->tid || !p->workers) {
            cpu_pool_destroy(p);
            return NULL;
        }
        int cpus[CPU_SETSIZE];
        const int n_cpus = cpus_from_current(cpus);
        /* a refusal leaves the pool with the workers made so far */
        for (int i = 0; i < threads - 1 && worker_start(p, i, cpus, n_cpus) == 0; i++) p->threads++;
    }
    return p;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    atomic_store(&p->quit, 1);
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->threads - 1; i++) pthread_join(p->tid[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->go);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p->tid);
    free(p);
}

int cpu_pool_threads(const cpu_pool *p) { return p ? p->threads : 1; }

void cpu_pool_run(cpu_pool *p, int tasks, cpu_task_fn fn, void *arg)
{
    if (tasks <= 0) return;
    if (!p || p->threads == 1 || tasks == 1) {
        for (int t = 0; t < tasks; t++) fn(arg, t, p ? t % p->threads : 0);
        return;
    }
    p->fn = fn;
    p->arg = arg;
    p->tasks = tasks;
    atomic_store(&p->pending, p->threads - 1);
    pthread_mutex_lock(&p->mu);
    atomic_fetch_add(&p->generation, 1);    /* publishes fn, arg, tasks */
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    long deadline = now_ns() + SPIN_NS;
    for (unsigned i = 1; atomic_load(&p->pending); i++) {
        if (i % 16 == 0 && now_ns() > deadline) break;
        sched_yield();
    }
    if (atomic_load(&p->pending)) {
        pthread_mutex_lock(&p->mu);
        while (atomic_load(&p->pending)) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
}
