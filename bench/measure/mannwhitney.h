/* bench/measure/mannwhitney.h — the two-sided Mann–Whitney U test, as scipy's
 * stats.mannwhitneyu(x, y, alternative='two-sided') computes it with its
 * default method 'auto' (the call google/benchmark's tools/gbench/report.py
 * makes):
 *   - exact when the smaller sample has at most 8 values and there are no
 *     ties: p = 2·P(U ≤ min(U1, U2)) under H0, clipped to 1, from the exact
 *     null distribution of U (counts of the Gaussian binomial coefficient);
 *   - otherwise the normal approximation with tie correction and continuity
 *     correction: z = (max(U1, U2) − n1·n2/2 − 0.5) / σ,
 *     σ² = n1·n2/12 · ((n + 1) − Σ(t³ − t) / (n(n − 1))), p = 2·(1 − Φ(z)),
 *     clipped to [0, 1]; σ = 0 (every value equal) gives p = 1.
 * One departure: the exact method's table has one entry per value of U up to
 * min(U1, U2); beyond MWU_EXACT_MAX_U entries (a sample of 8 against
 * ~10^6) the normal approximation is used instead. */
#ifndef ACCUMBENCH_MANNWHITNEY_H
#define ACCUMBENCH_MANNWHITNEY_H

#include <stddef.h>

#define MWU_EXACT_MAX_N 8               /* scipy: exact when min(n1, n2) <= 8 and no ties */
#define MWU_EXACT_MAX_U ((size_t)1 << 22)

typedef enum { MWU_NONE = 0, MWU_EXACT, MWU_ASYMPTOTIC } mwu_method;

typedef struct {
    double u1;                  /* U of the first sample (scipy's statistic) */
    double p;                   /* two-sided p-value */
    double z;                   /* standardised statistic (asymptotic), else 0 */
    mwu_method method;
    int ties;                   /* any tied values across both samples */
} mwu_result;

/* x (nx values) against y (ny values), both >= 1, no NaN. 0 ok; -1 when a
 * sample is empty, holds a NaN, or memory runs out (r->method = MWU_NONE). */
int mwu_test(const double *x, size_t nx, const double *y, size_t ny, mwu_result *r);

/* P(U <= u) under H0 for samples of m and n values without ties (exact);
 * u is rounded down. Exposed for tests. Returns -1 on out of memory or when
 * the table would exceed MWU_EXACT_MAX_U entries. */
double mwu_exact_cdf(size_t m, size_t n, double u);

const char *mwu_method_name(mwu_method m);

#endif
