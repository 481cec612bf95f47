/* tests/fd.h — central differences, the reference every CPU gradient test
 * checks its analytic double-precision backward against. */
#ifndef ACCUMBENCH_TESTS_FD_H
#define ACCUMBENCH_TESTS_FD_H

#include <stddef.h>

/* The objective at the current values of the double inputs in ctx. */
typedef double (*objective_fn)(void *ctx);

/* g[i] = dL/dp[i] by central differences of step h; p is restored. */
static inline void fd_grad_into(objective_fn f, void *ctx, double *p, size_t n, double h, double *g)
{
    for (size_t i = 0; i < n; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double lp = f(ctx);
        p[i] = keep - h;
        double lm = f(ctx);
        p[i] = keep;
        g[i] = (lp - lm) / (2.0 * h);
    }
}

static inline double dot(const double *a, const double *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) s += a[i] * b[i];
    return s;
}

#endif
