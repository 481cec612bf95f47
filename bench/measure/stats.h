/* bench/measure/stats.h — step-time statistics and the stopping rule: stop on
 * noise when the 95% confidence half-width of the median (order statistics)
 * over the median is under --noise AND at least --min-time seconds of timed
 * steps ran (nvbench's min-time: a fast step's first few samples can agree
 * by luck) AND --min-steps; --max-steps and --max-time cap it, but never
 * before --min-steps. */
#ifndef ACCUMBENCH_STATS_H
#define ACCUMBENCH_STATS_H

#include <stddef.h>

typedef enum { STOP_NONE = 0, STOP_NOISE, STOP_MAX_STEPS, STOP_MAX_TIME } stop_reason;

typedef struct {
    double median, p10, p90;
    double noise_rel;       /* CI half-width / median; INFINITY when n is too small */
} step_stats;

/* the stopping rule's settings (run's measurement flags) */
typedef struct {
    double noise;           /* --noise: CI half-width / median to reach */
    int min_steps;          /* --min-steps: a guarantee, even over the caps */
    double min_time_s;      /* --min-time: timed seconds before noise may stop */
    int max_steps;          /* --max-steps */
    double max_time_s;      /* --max-time: wall-clock seconds since the first timed step */
} stop_rule;

const char *stop_reason_name(stop_reason r);
/* the median of v[0..n) (sorts v in place); NAN when n == 0. The one median
 * of bench/: every figure that says "median" means this. */
double stats_median(double *v, size_t n);

/* Repeats of one configuration disagree (design "Throughput and noise"):
 * the spread of their step medians, (max - min) / median, is above twice
 * the noise target each run stopped at, or above STATS_UNSTABLE_FLOOR,
 * whichever is larger. One process says nothing about the spread between
 * processes: fewer than 2 repeats are never unstable. */
#define STATS_UNSTABLE_FLOOR 0.05
int stats_repeats_unstable(const double *step_medians, size_t n, double noise);
/* the spread above which repeats run at noise target `noise` disagree */
double stats_unstable_limit(double noise);
double stats_spread_rel(const double *step_medians, size_t n);
/* quantile q of sorted x by linear interpolation (numpy's default) */
double stats_quantile(const double *sorted, size_t n, double q);
/* ranks (0-based) bounding the 95% CI of the median; -1 when n is too small */
int stats_median_ci_ranks(size_t n, size_t *lo, size_t *hi);
step_stats stats_compute(const double *x, size_t n);
/* x: the n timed steps so far; timed_s: their sum in seconds; elapsed_s: wall
 * clock since the first began (timed steps plus what runs between them) */
stop_reason stats_should_stop(const double *x, size_t n, double timed_s, double elapsed_s, const stop_rule *rule);

#endif
