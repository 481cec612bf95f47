/* tests/test_cpu_pool.c — the CPU backend's worker pool (kernels/cpu/
 * cpu_pool.h) and what the backend's results rely on:
 * - task t runs on thread t % T, so per-thread float partial sums added in
 *   thread order give the same bits on every run, and exactly the bits of
 *   the same order computed serially here;
 * - placement: every worker is pinned to one CPU of the affinity mask, each
 *   to its own while T <= CPUs, and the caller's mask is left alone; with
 *   T > CPUs (the mask cut to one CPU, as `taskset -c 0` does) the pool
 *   still completes, with the same bits;
 * - regions back to back and after pauses run every task exactly once;
 * - ops_gemm split over the backend's pool gives the same bits twice.
 * Exact comparisons throughout: the claim under test is bit-identity. */
#define _GNU_SOURCE /* sched_getaffinity, pthread_getaffinity_np under -std=c11 */
#include "check.h"
#include "cpu/cpu_pool.h"
#include "ops.h"

#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ----------------------------------------------------------------------------
// one region: per-thread partial sums, and where each task ran

#define MAX_TASKS 64
#define CHUNK 1000

typedef struct {
    const float *x;              /* (tasks, CHUNK) */
    float partial[MAX_TASKS];    /* per thread */
    int thread_of[MAX_TASKS];    /* per task */
    int cpus_allowed[MAX_TASKS]; /* per task: CPUs in its thread's mask */
    int cpu[MAX_TASKS];          /* per task: the one CPU when pinned, else -1 */
} region;

static void sum_task(void *arg, int task, int thread)
{
    region *r = arg;
    for (int i = 0; i < CHUNK; i++) r->partial[thread] += r->x[(size_t)task * CHUNK + i];
    r->thread_of[task] = thread;
    cpu_set_t mask;
    r->cpus_allowed[task] = r->cpu[task] = -1;
    if (pthread_getaffinity_np(pthread_self(), sizeof mask, &mask) != 0) return;
    r->cpus_allowed[task] = CPU_COUNT(&mask);
    for (int c = 0; c < CPU_SETSIZE && r->cpus_allowed[task] == 1; c++)
        if (CPU_ISSET(c, &mask)) r->cpu[task] = c;
}

/* The sum in the pool's order: thread by thread, each thread's tasks in
 * increasing order, partials added in thread order. */
static float serial_sum(const float *x, int tasks, int threads)
{
    float partial[MAX_TASKS] = {0}, total = 0.0f;
    for (int th = 0; th < threads; th++)
        for (int t = th; t < tasks; t += threads)
            for (int i = 0; i < CHUNK; i++) partial[th] += x[(size_t)t * CHUNK + i];
    for (int th = 0; th < threads; th++) total += partial[th];
    return total;
}

static float pool_sum(cpu_pool *p, const float *x, int tasks, region *r)
{
    memset(r, 0, sizeof *r);
    r->x = x;
    cpu_pool_run(p, tasks, sum_task, r);
    float total = 0.0f;
    for (int th = 0; th < cpu_pool_threads(p); th++) total += r->partial[th];
    return total;
}

/* values over six decades, so that float addition order shows in the bits */
static float *make_values(int tasks)
{
    float *x = malloc(sizeof(float) * (size_t)tasks * CHUNK);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    for (size_t i = 0; x && i < (size_t)tasks * CHUNK; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const double u = (double)(s >> 11) / 9007199254740992.0;
        x[i] = (float)((u - 0.5) * pow(10.0, (double)(i % 7) - 3.0));
    }
    return x;
}

// ----------------------------------------------------------------------------
// tests

/* A pool of `threads` under the calling thread's current mask: same bits as
 * the serial order, twice; task t on thread t % T; each worker pinned to a
 * CPU of the mask, distinct CPUs while there are enough; the caller free. */
static void check_pool(int threads, int tasks, const char *what)
{
    cpu_set_t mask;
    CHECK(sched_getaffinity(0, sizeof mask, &mask) == 0, "%s: sched_getaffinity", what);
    const int n_cpus = CPU_COUNT(&mask);
    float *x = make_values(tasks);
    cpu_pool *p = cpu_pool_create(threads);
    CHECK(x && p && cpu_pool_threads(p) == threads, "%s: pool of %d threads", what, threads);
    if (!x || !p || cpu_pool_threads(p) != threads) {
        free(x);
        cpu_pool_destroy(p);
        return;
    }
    static region r1, r2;
    const float want = serial_sum(x, tasks, threads), got1 = pool_sum(p, x, tasks, &r1),
                got2 = pool_sum(p, x, tasks, &r2);
    CHECK(memcmp(&got1, &want, sizeof want) == 0 && memcmp(&got2, &want, sizeof want) == 0,
          "%s: sums %.9g, %.9g, serial order %.9g (must be the same bits)", what, got1, got2, want);
    int cpu_of_worker[MAX_TASKS];
    for (int t = 0; t < tasks; t++) {
        const int th = r1.thread_of[t];
        CHECK(th == t % threads, "%s: task %d ran on thread %d, want %d", what, t, th, t % threads);
        if (th == 0)
            CHECK(r1.cpus_allowed[t] == n_cpus, "%s: the caller may run on %d CPUs, its mask has %d", what,
                  r1.cpus_allowed[t], n_cpus);
        else
            CHECK(r1.cpus_allowed[t] == 1 && CPU_ISSET(r1.cpu[t], &mask),
                  "%s: task %d's worker may run on %d CPUs (cpu %d), want 1 of the mask", what, t,
                  r1.cpus_allowed[t], r1.cpu[t]);
        cpu_of_worker[th] = r1.cpu[t];
    }
    for (int a = 1; a < threads && threads <= n_cpus; a++)
        for (int b = a + 1; b < threads; b++)
            CHECK(cpu_of_worker[a] != cpu_of_worker[b], "%s: workers %d and %d both pinned to cpu %d", what, a, b,
                  cpu_of_worker[a]);
    cpu_pool_destroy(p);
    free(x);
}

static void test_placement(void)
{
    cpu_set_t all, one;
    if (sched_getaffinity(0, sizeof all, &all) != 0) {
        CHECK(0, "sched_getaffinity failed");
        return;
    }
    const int n_cpus = CPU_COUNT(&all);
    printf("pool: %d CPUs in the mask\n", n_cpus);
    check_pool(n_cpus < MAX_TASKS ? n_cpus : MAX_TASKS, MAX_TASKS, "threads = CPUs");
    check_pool(2, 37, "2 threads, uneven tasks");
    /* taskset -c <first CPU>: more threads than CPUs share that one */
    int first = 0;
    while (!CPU_ISSET(first, &all)) first++;
    CPU_ZERO(&one);
    CPU_SET(first, &one);
    CHECK(sched_setaffinity(0, sizeof one, &one) == 0, "cannot restrict the mask to cpu %d", first);
    check_pool(3, 20, "3 threads on 1 CPU");
    CHECK(sched_setaffinity(0, sizeof all, &all) == 0, "cannot restore the mask");
}

typedef struct { int runs[MAX_TASKS]; } counts;

static void count_task(void *arg, int task, int thread)
{
    (void)thread;
    ((counts *)arg)->runs[task]++;
}

/* Regions back to back and after pauses, with fewer tasks than threads too:
 * every task of every region runs exactly once. A lost wake-up hangs here,
 * and ctest's timeout reports it. */
static void test_wakeups(void)
{
    const int threads = 3, regions = 2000;
    cpu_pool *p = cpu_pool_create(threads);
    CHECK(p != NULL, "pool of %d", threads);
    if (!p) return;
    static counts c;
    const struct timespec pause = {0, 300 * 1000};
    for (int i = 0; i < regions; i++) {
        if (i % 100 == 0) nanosleep(&pause, NULL);
        cpu_pool_run(p, 1 + i % 7, count_task, &c);
    }
    cpu_pool_destroy(p);
    for (int t = 0; t < 7; t++) {
        int want = 0;
        for (int i = 0; i < regions; i++) want += t < 1 + i % 7;
        CHECK(c.runs[t] == want, "task %d ran %d times over %d regions, want %d", t, c.runs[t], regions, want);
    }
}

/* ops_gemm over the CPU backend's pool of 3: column slabs on every thread,
 * the same bits on a second call. */
static void test_backend_gemm_repeats(void)
{
    setenv("OPENBLAS_NUM_THREADS", "3", 1);
    ops_backend b;
    char why[256];
    if (ops_open(&b, "cpu", why, sizeof why) != OPS_OK) {
        CHECK(0, "cannot open the cpu backend: %s", why);
        return;
    }
    /* 2.5M multiply-adds: over the split threshold, n >= m: column slabs */
    const int m = 64, n = 300, k = 128;
    const size_t a_n = (size_t)m * k, b_n = (size_t)k * n, c_n = (size_t)m * n, capacity = (size_t)8 << 20;
    float *x = make_values((int)((a_n + b_n) / CHUNK) + 1), *host_c1 = malloc(sizeof(float) * c_n),
          *host_c2 = malloc(sizeof(float) * c_n);
    void *a = NULL, *bm = NULL, *c = NULL;
    int ok = x && host_c1 && host_c2 && ops_reserve(&b, capacity, capacity) == OPS_OK &&
             ops_alloc(&b, sizeof(float) * a_n, &a) == OPS_OK && ops_alloc(&b, sizeof(float) * b_n, &bm) == OPS_OK &&
             ops_alloc(&b, sizeof(float) * c_n, &c) == OPS_OK && ops_upload(&b, a, x, sizeof(float) * a_n) == OPS_OK &&
             ops_upload(&b, bm, x + a_n, sizeof(float) * b_n) == OPS_OK;
    CHECK(ok, "gemm setup: %s", ops_last_error());
    const ops_gemm_desc d = {0, 0, m, n, k, k, n, n, 1.0f, 0.0f};
    for (int call = 0; ok && call < 2; call++)
        ok = ops_gemm(&b, &d, a, bm, c) == OPS_OK &&
             ops_download(&b, call ? host_c2 : host_c1, c, sizeof(float) * c_n) == OPS_OK;
    CHECK(ok, "gemm: %s", ops_last_error());
    CHECK(!ok || memcmp(host_c1, host_c2, sizeof(float) * c_n) == 0, "gemm over the pool: two calls differ");
    ops_free(&b, c);
    ops_free(&b, bm);
    ops_free(&b, a);
    free(host_c2);
    free(host_c1);
    free(x);
    ops_close(&b);
}

int main(void)
{
    test_placement();
    test_wakeups();
    test_backend_gemm_repeats();
    return CHECK_DONE();
}
