/* bench/measure/mannwhitney.c — see mannwhitney.h.
 *
 * Ranks: both samples sorted together, tied values share their average rank;
 * U1 = R1 − n1(n1 + 1)/2, U2 = n1·n2 − U1.
 *
 * Exact null distribution: the number of arrangements with U = k is the
 * coefficient of q^k in the Gaussian binomial [m + n choose m]_q =
 * Π_{i=1..m} (1 − q^{n+i}) / (1 − q^i). Built factor by factor, truncated at
 * the degree needed (the lower tail only): dividing by (1 − q^i) is a running
 * sum with stride i, multiplying by (1 − q^{n+i}) a strided difference. Every
 * intermediate polynomial is a Gaussian binomial with non-negative
 * coefficients; in doubles the tail sums agree with exact integer arithmetic
 * to ~1e-15 relative (checked for m <= 8, n <= 1000). */
#include "mannwhitney.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    double v;
    int first;                  /* 1: from x */
} mwu_value;

static int cmp_value(const void *a, const void *b)
{
    double x = ((const mwu_value *)a)->v, y = ((const mwu_value *)b)->v;
    return (x > y) - (x < y);
}

const char *mwu_method_name(mwu_method m)
{
    return m == MWU_EXACT ? "exact" : m == MWU_ASYMPTOTIC ? "asymptotic" : "none";
}

double mwu_exact_cdf(size_t m, size_t n, double u)
{
    if (m > n) {
        size_t t = m;
        m = n;
        n = t;
    }
    if (u < 0) return 0.0;
    if (u >= (double)m * (double)n) return 1.0;
    size_t k_max = (size_t)floor(u);
    if (k_max >= MWU_EXACT_MAX_U) return -1.0;
    double *c = calloc(k_max + 1, sizeof *c);
    if (!c) return -1.0;
    c[0] = 1.0;
    for (size_t i = 1; i <= m; i++) {
        for (size_t k = i; k <= k_max; k++) c[k] += c[k - i];
        size_t step = n + i;
        for (size_t k = k_max; k >= step && k <= k_max; k--) c[k] -= c[k - step];
    }
    double count = 0.0;
    for (size_t k = 0; k <= k_max; k++) count += c[k];
    free(c);
    /* C(m + n, m) = Π_{i=1..m} (n + i) / i, exact in doubles for small m */
    double total = 1.0;
    for (size_t i = 1; i <= m; i++) total = total * (double)(n + i) / (double)i;
    double p = count / total;
    return p > 1.0 ? 1.0 : p;
}

int mwu_test(const double *x, size_t nx, const double *y, size_t ny, mwu_result *r)
{
    r->u1 = r->p = r->z = 0.0;
    r->method = MWU_NONE;
    r->ties = 0;
    if (nx == 0 || ny == 0) return -1;
    size_t n = nx + ny;
    mwu_value *v = malloc(n * sizeof *v);
    if (!v) return -1;
    for (size_t i = 0; i < nx; i++) v[i] = (mwu_value){x[i], 1};
    for (size_t i = 0; i < ny; i++) v[nx + i] = (mwu_value){y[i], 0};
    for (size_t i = 0; i < n; i++)
        if (isnan(v[i].v)) {
            free(v);
            return -1;
        }
    qsort(v, n, sizeof *v, cmp_value);

    double r1 = 0.0, tie_term = 0.0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && v[j].v == v[i].v) j++;
        double rank = 0.5 * ((double)(i + 1) + (double)j);    /* average of ranks i+1 … j */
        double t = (double)(j - i);
        if (t > 1) {
            r->ties = 1;
            tie_term += t * t * t - t;
        }
        for (size_t k = i; k < j; k++)
            if (v[k].first) r1 += rank;
        i = j;
    }
    free(v);

    double n1 = (double)nx, n2 = (double)ny, nn = (double)n;
    double u1 = r1 - n1 * (n1 + 1.0) / 2.0;
    double u2 = n1 * n2 - u1;
    r->u1 = u1;
    double u_min = u1 < u2 ? u1 : u2, u_max = u1 < u2 ? u2 : u1;

    size_t small = nx < ny ? nx : ny;
    if (small <= MWU_EXACT_MAX_N && !r->ties) {
        double cdf = mwu_exact_cdf(nx, ny, u_min);
        if (cdf >= 0.0) {
            r->method = MWU_EXACT;
            r->p = fmin(1.0, 2.0 * cdf);
            return 0;
        }
    }
    r->method = MWU_ASYMPTOTIC;
    double var = n1 * n2 / 12.0 * ((nn + 1.0) - tie_term / (nn * (nn - 1.0)));
    if (!(var > 0.0)) {
        r->p = 1.0;
        return 0;
    }
    r->z = (u_max - n1 * n2 / 2.0 - 0.5) / sqrt(var);
    /* 2·(1 − Φ(z)) = erfc(z/√2) */
    r->p = fmin(1.0, fmax(0.0, erfc(r->z / sqrt(2.0))));
    return 0;
}
