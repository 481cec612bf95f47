/* bench/measure/stats.c — median, percentiles and the median's confidence interval.
 * The CI uses the binomial order-statistic ranks with the normal
 * approximation: n/2 -+ 1.96*sqrt(n)/2 (Conover, Practical Nonparametric
 * Statistics, 3rd ed., 3.2). */
#include "stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

const char *stop_reason_name(stop_reason r)
{
    switch (r) {
    case STOP_NOISE: return "noise";
    case STOP_MAX_STEPS: return "max_steps";
    case STOP_MAX_TIME: return "max_time";
    case STOP_NONE: break;
    }
    return "";
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double stats_median(double *v, size_t n)
{
    if (n == 0) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return stats_quantile(v, n, 0.5);
}

double stats_spread_rel(const double *step_medians, size_t n)
{
    double *v = n >= 2 ? malloc(n * sizeof *v) : NULL;
    if (!v) return NAN;
    memcpy(v, step_medians, n * sizeof *v);
    double med = stats_median(v, n);
    double spread = med > 0 ? (v[n - 1] - v[0]) / med : NAN;
    free(v);
    return spread;
}

int stats_repeats_unstable(const double *step_medians, size_t n, double noise)
{
    double spread = stats_spread_rel(step_medians, n);
    return !isnan(spread) && spread > stats_unstable_limit(noise);
}

double stats_unstable_limit(double noise) { return fmax(2 * noise, STATS_UNSTABLE_FLOOR); }

double stats_quantile(const double *sorted, size_t n, double q)
{
    if (n == 0) return NAN;
    double pos = q * (double)(n - 1);
    size_t i = (size_t)pos;
    if (i + 1 >= n) return sorted[n - 1];
    double f = pos - (double)i;
    return sorted[i] + f * (sorted[i + 1] - sorted[i]);
}

int stats_median_ci_ranks(size_t n, size_t *lo, size_t *hi)
{
    double half = 1.96 * sqrt((double)n) / 2.0;
    double j = floor((double)n / 2.0 - half), k = ceil((double)n / 2.0 + half);
    /* 1-based ranks j..k must lie inside 1..n */
    if (j < 1.0 || k > (double)n) return -1;
    *lo = (size_t)j - 1;
    *hi = (size_t)k - 1;
    return 0;
}

step_stats stats_compute(const double *x, size_t n)
{
    step_stats s = {NAN, NAN, NAN, INFINITY};
    if (n == 0) return s;
    double *sorted = malloc(n * sizeof *sorted);
    if (!sorted) return s;
    memcpy(sorted, x, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_double);
    s.median = stats_quantile(sorted, n, 0.5);
    s.p10 = stats_quantile(sorted, n, 0.1);
    s.p90 = stats_quantile(sorted, n, 0.9);
    size_t lo, hi;
    if (stats_median_ci_ranks(n, &lo, &hi) == 0 && s.median > 0)
        s.noise_rel = (sorted[hi] - sorted[lo]) / 2.0 / s.median;
    free(sorted);
    return s;
}

stop_reason stats_should_stop(const double *x, size_t n, double timed_s, double elapsed_s, const stop_rule *rule)
{
    /* --min-steps is a guarantee (a median of fewer steps is not one we
     * report); --min-time only delays the noise test; --max-steps and
     * --max-time cap what comes after --min-steps, whatever --min-time says */
    if (n < (size_t)rule->min_steps) return STOP_NONE;
    if (timed_s >= rule->min_time_s && stats_compute(x, n).noise_rel < rule->noise) return STOP_NOISE;
    if (n >= (size_t)rule->max_steps) return STOP_MAX_STEPS;
    if (elapsed_s >= rule->max_time_s) return STOP_MAX_TIME;
    return STOP_NONE;
}
