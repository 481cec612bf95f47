/* bench/measure/ttest.h — Yuen's trimmed two-sample t-test on the logarithms
 * of two small samples: compare's test on the repeats' step-time medians (one
 * value per process; the process is the unit of inference).
 *
 * Logarithms because a change in speed is a factor: a 10% slowdown moves
 * log step time by the same amount at 1 ms and at 100 ms, and a process's
 * disturbance scales with its step time.
 *
 * Trimmed because a process sometimes lands in one of the machine's slow
 * spells and runs 1.6-1.9x slower than its siblings: one such value among
 * five inflates an ordinary t-test's variance until a 10% change cannot be
 * seen (8 of 66 configurations of a quiet quick sweep), while the trimmed
 * means and winsorized variances ignore it. Each side drops g = floor(trim
 * n) values at each end (none below n = 5 with trim 0.2, where this is
 * Welch's test), keeping h = n − 2g. As scipy's stats.ttest_ind(log y,
 * log x, equal_var=False, trim=trim) computes it:
 *   d = (n − 1)·s_w² / (h·(h − 1)), s_w² the winsorized sample variance,
 *   t = (trimmed mean log y − trimmed mean log x) / √(d_x + d_y),
 *   df = (d_x + d_y)² / (d_x²/(h_x − 1) + d_y²/(h_y − 1)),
 *   p = 2·P(T_df > |t|).
 * Welch's, not Student's pooled variance: trimming leaves the two sides
 * different h, and a real regression need not keep the variance.
 * Both sides constant: t = 0 when their values are equal (p = 1), else
 * ±INFINITY (p = 0), with df = h_x + h_y − 2. */
#ifndef ACCUMBENCH_TTEST_H
#define ACCUMBENCH_TTEST_H

#include <stddef.h>

typedef struct {
    double t;       /* > 0: y is larger */
    double df;
    double p;       /* two-sided */
    double diff;    /* trimmed mean log y − trimmed mean log x */
    double se;      /* √(d_x + d_y); 0 when both sides are constant */
} ttest_result;

/* x (nx values) against y (ny values), all finite and > 0, each side
 * keeping h >= 2 values after trimming the fraction trim (0 <= trim < 0.5)
 * from each end. 0 ok; -1 otherwise (r untouched). */
int ttest_trimmed_log(const double *x, size_t nx, const double *y, size_t ny, double trim, ttest_result *r);

/* the same test of y·e^−shift against x: whether y moved by more than a
 * common factor e^shift (compare's whole-sweep drift). Only t and p change. */
void ttest_shifted(const ttest_result *r, double shift, ttest_result *out);

/* 2·P(T_df > |t|) for Student's t with df > 0 degrees of freedom: the
 * regularised incomplete beta I_{df/(df+t²)}(df/2, 1/2). */
double ttest_two_sided_p(double t, double df);

#endif
