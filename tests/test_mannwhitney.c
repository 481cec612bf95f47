/* tests/test_mannwhitney.c — the two-sided Mann–Whitney U test against
 * scipy 1.17.1's stats.mannwhitneyu(x, y, alternative='two-sided') (method
 * 'auto', the call google/benchmark's report.py makes), computed offline for
 * hand-made samples: exact cases (a sample of <= 8, no ties) and normal
 * approximations (ties, or both samples > 8). The exact null distribution is
 * also checked against brute-force enumeration of every arrangement. */
#include "check.h"
#include "mannwhitney.h"

#include <math.h>
#include <stdlib.h>

typedef struct {
    const char *name;
    const double *x;
    size_t nx;
    const double *y;
    size_t ny;
    double u1, p;               /* scipy's statistic and pvalue */
    mwu_method method;
} mwu_case;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void check_case(const mwu_case *c)
{
    mwu_result r;
    CHECK(mwu_test(c->x, c->nx, c->y, c->ny, &r) == 0, "%s: test ran", c->name);
    CHECK_CLOSE(r.u1, c->u1, 0, 0, c->name);
    CHECK_CLOSE(r.p, c->p, 1e-15, 1e-9, c->name);
    CHECK(r.method == c->method, "%s: method %s, want %s", c->name, mwu_method_name(r.method),
          mwu_method_name(c->method));
}

/* P(U <= u) by enumerating every choice of the m positions of the first
 * sample among m + n ranks (no ties): U counts the pairs (x, y) with y < x */
static double brute_cdf(int m, int n, int u)
{
    long total = 0, hit = 0;
    for (unsigned mask = 0; mask < (1u << (m + n)); mask++) {
        int bits = 0;
        for (unsigned b = mask; b; b >>= 1) bits += (int)(b & 1u);
        if (bits != m) continue;
        int ucount = 0, ys_below = 0;
        for (int i = 0; i < m + n; i++) {
            if (mask & (1u << i)) ucount += ys_below;
            else ys_below++;
        }
        total++;
        hit += ucount <= u;
    }
    return (double)hit / (double)total;
}

int main(void)
{
    static const double sep_x[] = {1, 2, 3, 4, 5}, sep_y[] = {6, 7, 8, 9, 10};
    static const double mix_x[] = {1.1, 2.3, 0.5, 4.2}, mix_y[] = {3.3, 5.1, 6.0, 2.9, 7.7, 8.8};
    static const double e8_x[] = {0.5, 1.87, 3.24, 4.61, 5.98, 7.3500000000000005, 1.4200000000000008, 2.79};
    static const double e8_y[] = {0.25, 1.15, 2.05, 2.95, 3.85, 4.75, 5.65, 6.55, 7.45, 8.35,
                                  9.25, 10.15, 11.05, 0.8500000000000014, 1.75, 2.6500000000000004,
                                  3.5500000000000007, 4.450000000000001, 5.35, 6.250000000000002,
                                  7.15, 8.050000000000002, 8.950000000000001, 9.85, 10.750000000000002,
                                  0.5500000000000007, 1.4500000000000028, 2.3500000000000014, 3.25,
                                  4.150000000000002};
    static const double ts_x[] = {1, 2, 2, 3}, ts_y[] = {2, 3, 4, 5};
    static const double a9_x[] = {1.5, 2.25, 3.1, 4.7, 5.2, 6.9, 7.3, 8.8, 9.4};
    static const double a9_y[] = {2.2, 3.9, 5.5, 6.1, 7.7, 8.2, 9.9, 10.5, 11.3, 12.8, 13.1, 14.6};
    static const double eq_x[] = {5, 5, 5}, eq_y[] = {5, 5};
    static const double one_x[] = {1}, one_y[] = {2};
    double tl_x[20], tl_y[30], big7_x[7], big7_y[200], big8_x[8], big8_y[1000];
    for (int i = 0; i < 20; i++) tl_x[i] = i;
    for (int i = 0; i < 30; i++) tl_y[i] = 10 + i;
    for (int i = 0; i < 7; i++) big7_x[i] = 100.5 + i * 0.37;
    for (int i = 0; i < 200; i++) big7_y[i] = i;
    for (int i = 0; i < 8; i++) big8_x[i] = 10.25 + i * 3.01;
    for (int i = 0; i < 1000; i++) big8_y[i] = i * 0.5;

    const mwu_case cases[] = {
        {"exact, separated", sep_x, N(sep_x), sep_y, N(sep_y), 0.0, 0.007936507936507936, MWU_EXACT},
        {"exact, mixed", mix_x, N(mix_x), mix_y, N(mix_y), 2.0, 0.0380952380952381, MWU_EXACT},
        {"exact, 8 vs 30", e8_x, N(e8_x), e8_y, N(e8_y), 84.0, 0.2080916839231031, MWU_EXACT},
        {"exact, 7 vs 200", big7_x, 7, big7_y, 200, 714.0, 0.9324307990000844, MWU_EXACT},
        {"exact, 8 vs 1000", big8_x, 8, big8_y, 1000, 336.0, 1.1890347356292216e-08, MWU_EXACT},
        {"exact, 1 vs 1", one_x, 1, one_y, 1, 0.0, 1.0, MWU_EXACT},
        {"ties, small", ts_x, N(ts_x), ts_y, N(ts_y), 2.5, 0.1366582477381475, MWU_ASYMPTOTIC},
        {"ties, 20 vs 30", tl_x, 20, tl_y, 30, 50.0, 7.731611503783009e-07, MWU_ASYMPTOTIC},
        {"asymptotic, 9 vs 12", a9_x, N(a9_x), a9_y, N(a9_y), 26.0, 0.05066103315249452, MWU_ASYMPTOTIC},
        {"all equal", eq_x, N(eq_x), eq_y, N(eq_y), 3.0, 1.0, MWU_ASYMPTOTIC},
    };
    for (size_t i = 0; i < N(cases); i++) check_case(&cases[i]);

    /* symmetric: swapping the samples keeps p and gives U2 */
    mwu_result a, b;
    mwu_test(mix_x, N(mix_x), mix_y, N(mix_y), &a);
    mwu_test(mix_y, N(mix_y), mix_x, N(mix_x), &b);
    CHECK_CLOSE(b.p, a.p, 0, 1e-15, "swapped p");
    CHECK_CLOSE(b.u1, N(mix_x) * N(mix_y) - a.u1, 0, 0, "swapped U");

    /* the exact distribution against enumeration */
    for (int m = 1; m <= 5; m++)
        for (int n = m; n <= 9; n++)
            for (int u = 0; u <= m * n; u++) {
                char what[64];
                snprintf(what, sizeof what, "cdf m=%d n=%d u=%d", m, n, u);
                CHECK_CLOSE(mwu_exact_cdf((size_t)m, (size_t)n, u), brute_cdf(m, n, u), 1e-15, 1e-13, what);
            }

    /* bad input */
    double nan_x[] = {1, NAN};
    CHECK(mwu_test(nan_x, 2, sep_y, 5, &a) == -1 && a.method == MWU_NONE, "NaN refused");
    CHECK(mwu_test(sep_x, 0, sep_y, 5, &a) == -1, "empty sample refused");
    return CHECK_DONE();
}
