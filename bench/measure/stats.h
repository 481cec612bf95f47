/* bench/measure/stats.h — step-time statistics and the stopping rule: stop when the
 * 95% confidence half-width of the median (order statistics) over the
 * median is under --noise, or at --max-steps/--max-time, but never before
 * --min-steps. */
#ifndef ACCUMBENCH_STATS_H
#define ACCUMBENCH_STATS_H

#include <stddef.h>

typedef enum { STOP_NONE = 0, STOP_NOISE, STOP_MAX_STEPS, STOP_MAX_TIME } stop_reason;

typedef struct {
    double median, p10, p90;
    double noise_rel;       /* CI half-width / median; INFINITY when n is too small */
} step_stats;

const char *stop_reason_name(stop_reason r);
/* the median of v[0..n) (sorts v in place); NAN when n == 0. The one median
 * of bench/: every figure that says "median" means this. */
double stats_median(double *v, size_t n);
/* quantile q of sorted x by linear interpolation (numpy's default) */
double stats_quantile(const double *sorted, size_t n, double q);
/* ranks (0-based) bounding the 95% CI of the median; -1 when n is too small */
int stats_median_ci_ranks(size_t n, size_t *lo, size_t *hi);
step_stats stats_compute(const double *x, size_t n);
stop_reason stats_should_stop(const double *x, size_t n, double noise, int min_steps, int max_steps,
                              double elapsed_s, double max_time_s);

#endif
