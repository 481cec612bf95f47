/* tests/test_ttest.c — Student's t-test on log values against scipy 1.17.1,
 * computed offline: stats.ttest_ind(log(y), log(x)) (equal_var=True) for
 * hand-made samples shaped like repeat medians, and 2·stats.t.sf(|t|, df)
 * for the distribution alone, from df 1 to 1000 and p from 1 to 4e-16.
 * Tolerance: 1e-9 relative, far inside what a p-value is used for and far
 * outside double rounding of the continued fraction. */
#include "check.h"
#include "ttest.h"

#include <math.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

typedef struct {
    const char *name;
    const double *x;
    size_t nx;
    const double *y;
    size_t ny;
    double t, p;                /* scipy's statistic and pvalue */
} t_case;

static void check_case(const t_case *c)
{
    ttest_result r;
    CHECK(ttest_log(c->x, c->nx, c->y, c->ny, &r) == 0, "%s: test ran", c->name);
    CHECK_CLOSE(r.t, c->t, 0, 1e-9, c->name);
    CHECK_CLOSE(r.p, c->p, 0, 1e-9, c->name);
    CHECK(r.df == (double)(c->nx + c->ny - 2), "%s: df %g", c->name, r.df);
}

static void test_against_scipy(void)
{
    static const double a_x[] = {1.0, 1.02, 0.99}, a_y[] = {1.10, 1.12, 1.08};
    static const double b_x[] = {5.0, 8.3, 5.1}, b_y[] = {5.2, 5.0, 8.2, 5.1, 5.05};
    static const double c_x[] = {10.1, 10.0, 9.9, 10.2, 10.05}, c_y[] = {10.5, 10.6, 10.4, 10.55, 10.45};
    static const double d_x[] = {20.0, 21.0, 20.5, 19.8}, d_y[] = {18.0, 18.3, 17.9};
    static const double e_x[] = {3.0, 3.1}, e_y[] = {3.05, 3.2};
    const t_case cases[] = {
        {"3 v 3, 10% slower", a_x, 3, a_y, 3, 6.721680065952108, 0.002551105599551524},
        {"bimodal 3 v 5", b_x, 3, b_y, 5, -0.3570873831046586, 0.7332498581159842},
        {"5 v 5, 5% slower", c_x, 5, c_y, 5, 7.295350681060181, 8.426571155251807e-05},
        {"4 v 3, faster", d_x, 4, d_y, 3, -7.100976642803346, 0.0008582097500806667},
        {"2 v 2", e_x, 2, e_y, 2, 0.8303997728186251, 0.49365526596011167},
    };
    for (size_t i = 0; i < N(cases); i++) check_case(&cases[i]);
}

static void test_distribution(void)
{
    static const struct {
        double t, df, p;
    } cases[] = {
        {0, 4, 1.0},
        {1e-3, 4, 0.99925000015625},
        {1, 4, 0.37390096630005887},
        {2.776445105, 4, 0.05000000001011946},      /* the 5% critical value at df 4 */
        {3.5, 4, 0.024896163460222748},
        {30, 4, 7.352856097661319e-06},
        {-2.0, 8, 0.08051623795726262},
        {200, 8, 4.371851443213925e-16},
        {10, 3, 0.0021283990584141503},
        {0.5, 1, 0.7048327646991335},
        {50, 6, 4.292901143455143e-09},
        {1.5, 2.5, 0.24783645308629618},
        {1.0, 100, 0.31972415578412333},
        {2.0, 1000, 0.04577034649325166},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char what[64];
        snprintf(what, sizeof what, "p(t=%g, df=%g)", cases[i].t, cases[i].df);
        CHECK_CLOSE(ttest_two_sided_p(cases[i].t, cases[i].df), cases[i].p, 0, 1e-9, what);
    }
    CHECK(ttest_two_sided_p(INFINITY, 4) == 0.0, "t = inf: p = 0");
    CHECK(isnan(ttest_two_sided_p(1.0, 0)), "df = 0: no p");
}

static void test_edges(void)
{
    static const double same[] = {2.0, 2.0, 2.0}, other[] = {3.0, 3.0, 3.0}, bad[] = {1.0, -1.0, 2.0};
    ttest_result r;
    CHECK(ttest_log(same, 3, same, 3, &r) == 0 && r.t == 0 && r.p == 1.0, "constant, equal: t 0, p 1");
    CHECK(ttest_log(same, 3, other, 3, &r) == 0 && isinf(r.t) && r.t > 0 && r.p == 0.0,
          "constant, different: t +inf, p 0");
    CHECK(ttest_log(other, 3, same, 3, &r) == 0 && isinf(r.t) && r.t < 0, "constant, y smaller: t -inf");
    CHECK(ttest_log(same, 1, other, 3, &r) == -1, "one value: no test");
    CHECK(ttest_log(same, 3, bad, 3, &r) == -1, "a value <= 0: no test");
    /* a constant factor on both samples changes nothing (logs: a shift) */
    static const double x[] = {1.0, 1.02, 0.99}, y[] = {1.10, 1.12, 1.08};
    double x7[3], y7[3];
    for (int i = 0; i < 3; i++) x7[i] = 7e6 * x[i], y7[i] = 7e6 * y[i];
    ttest_result a, b;
    CHECK(ttest_log(x, 3, y, 3, &a) == 0 && ttest_log(x7, 3, y7, 3, &b) == 0, "scaled: ran");
    CHECK_CLOSE(b.t, a.t, 0, 1e-9, "scale-free t");
}

int main(void)
{
    test_against_scipy();
    test_distribution();
    test_edges();
    return CHECK_DONE();
}
