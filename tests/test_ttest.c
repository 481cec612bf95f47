/* tests/test_ttest.c — Yuen's trimmed t-test on log values against scipy
 * 1.17.1, computed offline: stats.ttest_ind(log(y), log(x), equal_var=False,
 * trim=0.2) (t, p and df) for hand-made samples shaped like repeat medians,
 * trimmed (5 and more values) and not (2-4: Welch's test), and
 * 2·stats.t.sf(|t|, df) for the distribution alone, from df 1 to 1000 and p
 * from 1 to 4e-16.
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
    double t, p, df;            /* scipy's statistic, pvalue and df */
} t_case;

static void check_case(const t_case *c)
{
    ttest_result r;
    CHECK(ttest_trimmed_log(c->x, c->nx, c->y, c->ny, 0.2, &r) == 0, "%s: test ran", c->name);
    CHECK_CLOSE(r.t, c->t, 0, 1e-9, c->name);
    CHECK_CLOSE(r.p, c->p, 0, 1e-9, c->name);
    CHECK_CLOSE(r.df, c->df, 0, 1e-9, c->name);
}

static void test_against_scipy(void)
{
    static const double a_x[] = {1.0, 1.02, 0.99}, a_y[] = {1.10, 1.12, 1.08};
    static const double b_x[] = {5.0, 8.3, 5.1}, b_y[] = {5.2, 5.0, 8.2, 5.1, 5.05};
    static const double c_x[] = {10.1, 10.0, 9.9, 10.2, 10.05}, c_y[] = {10.5, 10.6, 10.4, 10.55, 10.45};
    static const double d_x[] = {20.0, 21.0, 20.5, 19.8}, d_y[] = {18.0, 18.3, 17.9};
    static const double e_x[] = {3.0, 3.1}, e_y[] = {3.05, 3.2};
    static const double f_x[] = {21.0, 34.6, 20.4, 21.2, 20.9}, f_y[] = {23.1, 22.9, 38.0, 23.3, 22.5};
    static const double g_x[] = {5.0, 5.1, 5.05, 4.98, 5.2, 5.3, 7.9, 5.02, 5.07},
                        g_y[] = {5.4, 5.5, 5.45, 5.6, 5.38, 5.9, 5.41};
    const t_case cases[] = {
        {"3 v 3, 10% slower", a_x, 3, a_y, 3, 6.721680065952107, 0.0028508354465415146, 3.877136293438027},
        {"bimodal 3 v 5", b_x, 3, b_y, 5, -0.9179914049916417, 0.45465621698584086, 2.0212369179996412},
        {"5 v 5, 5% slower", c_x, 5, c_y, 5, 7.789926068080305, 0.0014762502191661372, 3.992349527549875},
        {"4 v 3, faster", d_x, 4, d_y, 3, -7.965993723467769, 0.0009900278104280377, 4.299042236151443},
        {"2 v 2", e_x, 2, e_y, 2, 0.8303997728186251, 0.5034387223998475, 1.7662216552202588},
        /* one process a side in a slow spell: Student's t-test gives p = 0.53 */
        {"5 v 5, a slow process each, 10% slower", f_x, 5, f_y, 5, 10.190923629934948, 0.0006154468718247823,
         3.871849668679292},
        {"9 v 7, one slow process", g_x, 9, g_y, 7, 5.108056900929433, 0.0004633508169408592, 9.967298730434322},
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
    CHECK(ttest_trimmed_log(same, 3, same, 3, 0.2, &r) == 0 && r.t == 0 && r.p == 1.0 && r.df == 4,
          "constant, equal: t 0, p 1, df 4");
    CHECK(ttest_trimmed_log(same, 3, other, 3, 0.2, &r) == 0 && isinf(r.t) && r.t > 0 && r.p == 0.0,
          "constant, different: t +inf, p 0");
    CHECK(ttest_trimmed_log(other, 3, same, 3, 0.2, &r) == 0 && isinf(r.t) && r.t < 0, "constant, y smaller: t -inf");
    CHECK(ttest_trimmed_log(same, 1, other, 3, 0.2, &r) == -1, "one value: no test");
    CHECK(ttest_trimmed_log(same, 3, bad, 3, 0.2, &r) == -1, "a value <= 0: no test");
    CHECK(ttest_trimmed_log(same, 3, other, 3, 0.5, &r) == -1, "trim 0.5: no test");
    /* trim 0.4: of 4 values g = 1 keeps 2; of 3, g = 1 would keep 1 */
    static const double four[] = {1.0, 1.1, 1.2, 9.0};
    CHECK(ttest_trimmed_log(four, 4, four, 4, 0.4, &r) == 0 && r.t == 0, "4 values, trim 0.4: 2 kept");
    CHECK(ttest_trimmed_log(four, 4, other, 3, 0.4, &r) == -1, "3 values, trim 0.4: one kept, no test");
    /* a constant factor on both samples changes nothing (logs: a shift) */
    static const double x[] = {1.0, 1.02, 0.99}, y[] = {1.10, 1.12, 1.08};
    double x7[3], y7[3];
    for (int i = 0; i < 3; i++) x7[i] = 7e6 * x[i], y7[i] = 7e6 * y[i];
    ttest_result a, b;
    CHECK(ttest_trimmed_log(x, 3, y, 3, 0.2, &a) == 0 && ttest_trimmed_log(x7, 3, y7, 3, 0.2, &b) == 0,
          "scaled: ran");
    CHECK_CLOSE(b.t, a.t, 0, 1e-9, "scale-free t");
}

/* the shifted test is the test of y·e^−shift: computed here both ways */
static void test_shifted(void)
{
    static const double x[] = {5.0, 5.1, 5.05, 4.98, 5.2, 5.3, 7.9, 5.02, 5.07},
                        y[] = {5.4, 5.5, 5.45, 5.6, 5.38, 5.9, 5.41};
    const double shifts[] = {0.0, log(1.05), log(1.08), -log(1.02)};
    for (size_t k = 0; k < N(shifts); k++) {
        double ys[N(y)];
        for (size_t i = 0; i < N(y); i++) ys[i] = y[i] * exp(-shifts[k]);
        ttest_result r, s, direct;
        CHECK(ttest_trimmed_log(x, N(x), y, N(y), 0.2, &r) == 0 &&
                  ttest_trimmed_log(x, N(x), ys, N(y), 0.2, &direct) == 0,
              "shift %g: ran", shifts[k]);
        ttest_shifted(&r, shifts[k], &s);
        CHECK_CLOSE(s.t, direct.t, 1e-12, 1e-9, "shifted t");
        CHECK_CLOSE(s.p, direct.p, 1e-15, 1e-9, "shifted p");
        CHECK_CLOSE(s.df, direct.df, 0, 1e-12, "shifted df");
    }
    /* constant sides 1.5x apart: shifted by exactly that, no difference */
    static const double two[] = {2.0, 2.0, 2.0}, three[] = {3.0, 3.0, 3.0};
    ttest_result r, s;
    CHECK(ttest_trimmed_log(two, 3, three, 3, 0.2, &r) == 0, "constant: ran");
    CHECK_CLOSE(r.diff, log(1.5), 0, 1e-12, "constant: diff is the log ratio");
    ttest_shifted(&r, r.diff, &s);
    CHECK(s.t == 0 && s.p == 1.0, "constant, shifted by their ratio: t %g", s.t);
    ttest_shifted(&r, log(1.2), &s);
    CHECK(isinf(s.t) && s.t > 0 && s.p == 0.0, "constant, shifted by less: still +inf");
}

int main(void)
{
    test_against_scipy();
    test_distribution();
    test_edges();
    test_shifted();
    return CHECK_DONE();
}
