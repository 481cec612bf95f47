/* bench/measure/ttest.h — Student's two-sample t-test on the logarithms of
 * two small samples: compare's test on the repeats' step-time medians (one
 * value per process; the process is the unit of inference).
 *
 * Logarithms because a change in speed is a factor: a 10% slowdown moves
 * log step time by the same amount at 1 ms and at 100 ms, and a process's
 * disturbance scales with its step time. Student's pooled variance (not
 * Welch's) because the null hypothesis is "the same build on the same
 * machine", where both sides have one variance by construction, and with 3
 * values a side Welch's degrees of freedom can fall to 2. As scipy's
 * stats.ttest_ind(log y, log x) (equal_var=True) computes it:
 *   t = (mean log y − mean log x) / (s · √(1/nx + 1/ny)),
 *   s² = ((nx − 1)·var log x + (ny − 1)·var log y) / (nx + ny − 2),
 *   p = 2·P(T_df > |t|), df = nx + ny − 2.
 * Both samples constant: t = 0 when their values are equal (p = 1), else
 * ±INFINITY (p = 0). */
#ifndef ACCUMBENCH_TTEST_H
#define ACCUMBENCH_TTEST_H

#include <stddef.h>

typedef struct {
    double t;       /* > 0: y is larger */
    double df;
    double p;       /* two-sided */
} ttest_result;

/* x (nx values) against y (ny values), each >= 2 values, all finite and
 * > 0. 0 ok; -1 otherwise (r untouched). */
int ttest_log(const double *x, size_t nx, const double *y, size_t ny, ttest_result *r);

/* 2·P(T_df > |t|) for Student's t with df > 0 degrees of freedom: the
 * regularised incomplete beta I_{df/(df+t²)}(df/2, 1/2). */
double ttest_two_sided_p(double t, double df);

#endif
