/* kernels/cpu/cpu_pool.c — worker threads for the CPU backend (see
 * cpu_pool.h). One mutex guards the region's description; a generation
 * counter tells a waking worker that a new region started, `pending` counts
 * the workers still inside it. */
#include "cpu_pool.h"

#include <pthread.h>
#include <stdlib.h>

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
    unsigned long generation;   /* regions started */
    int pending;                /* workers not yet finished with this region */
    int quit;
    /* the current region */
    cpu_task_fn fn;
    void *arg;
    int tasks;
};

static void run_share(cpu_pool *p, int thread)
{
    for (int t = thread; t < p->tasks; t += p->threads) p->fn(p->arg, t, thread);
}

static void *worker_main(void *v)
{
    cpu_worker *w = v;
    cpu_pool *p = w->pool;
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        pthread_mutex_unlock(&p->mu);
        run_share(p, w->id);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
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
        /* worker i has id i + 1; a refusal leaves the pool with those made */
        for (int i = 0; i < threads - 1; i++) {
            p->workers[i] = (cpu_worker){p, i + 1};
            if (pthread_create(&p->tid[i], NULL, worker_main, &p->workers[i]) != 0) break;
            p->threads++;
        }
    }
    return p;
}

void cpu_pool_destroy(cpu_pool *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
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
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->arg = arg;
    p->tasks = tasks;
    p->pending = p->threads - 1;
    p->generation++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_share(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}
