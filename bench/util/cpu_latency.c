/* bench/util/cpu_latency.c — see cpu_latency.h. */
#define _GNU_SOURCE /* CPU_SET, pthread_setaffinity_np */
#include "cpu_latency.h"
#include "clock.h"

#include <math.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define PROBE_LIMIT_NS 50e6

/* the ball alone on its cache line: a neighbour written by either thread
 * would add transfers of its own (measured: 196 instead of 65 ns) */
typedef struct {
    _Alignas(64) atomic_int ball;   /* 1: the partner's turn, 0: the caller's */
    _Alignas(64) atomic_int stop;
} probe;

static void *partner(void *v)
{
    probe *p = v;
    while (!atomic_load(&p->stop))
        if (atomic_load(&p->ball) == 1) atomic_store(&p->ball, 0);
    return NULL;
}

/* passes the ball `rounds` times or until the time limit; how many passed */
static int pass(probe *p, int rounds, double t0)
{
    int done = 0;
    for (; done < rounds; done++) {
        atomic_store(&p->ball, 1);
        while (atomic_load(&p->ball) == 1) {}
        if ((done & 63) == 63 && clock_now_ns() - t0 > PROBE_LIMIT_NS) return done + 1;
    }
    return done;
}

double cpu_pair_latency_ns(int rounds)
{
    cpu_set_t mask, one;
    if (sched_getaffinity(0, sizeof mask, &mask) != 0 || CPU_COUNT(&mask) < 2) return NAN;
    int cpus[2], n = 0;
    for (int c = 0; c < CPU_SETSIZE && n < 2; c++)
        if (CPU_ISSET(c, &mask)) cpus[n++] = c;
    probe p = {0, 0};
    pthread_attr_t attr;
    pthread_t t;
    if (pthread_attr_init(&attr) != 0) return NAN;
    /* the partner starts on its own CPU: inheriting the caller's pin, it
     * would first wait for the caller's spin to end its time slice */
    CPU_ZERO(&one);
    CPU_SET(cpus[1], &one);
    int rc = pthread_attr_setaffinity_np(&attr, sizeof one, &one) == 0 ? pthread_create(&t, &attr, partner, &p) : -1;
    pthread_attr_destroy(&attr);
    if (rc != 0) return NAN;
    CPU_ZERO(&one);
    CPU_SET(cpus[0], &one);
    double ns = NAN;
    if (sched_setaffinity(0, sizeof one, &one) == 0) {
        pass(&p, 64, clock_now_ns());       /* both threads running, the line warm */
        double t0 = clock_now_ns();
        int done = pass(&p, rounds, t0);
        ns = (clock_now_ns() - t0) / done;
    }
    atomic_store(&p.stop, 1);
    pthread_join(t, NULL);
    sched_setaffinity(0, sizeof mask, &mask);
    return ns;
}
