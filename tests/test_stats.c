/* tests/test_stats.c — the stopping rule on synthetic step-time sequences
 * (stable, noisy, drifting), step by step against an independent
 * implementation written here, its --min-time and caps on hand-made cases,
 * and the median CI ranks' coverage against the exact binomial
 * distribution. */
#include "check.h"
#include "rng.h"
#include "stats.h"

#include <stdlib.h>
#include <string.h>

/* Independent reference: insertion sort, ranks from the formula written out
 * again, the same stop order (noise once min-time ran, then max steps, then
 * max time). */
static const char *ref_decision(const double *x, size_t n, double timed_s, double elapsed, const stop_rule *r)
{
    double s[4096];
    for (size_t i = 0; i < n; i++) {
        size_t j = i;
        while (j > 0 && s[j - 1] > x[i]) {
            s[j] = s[j - 1];
            j--;
        }
        s[j] = x[i];
    }
    double med = n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    double h = 0.98 * sqrt((double)n);
    long lo = (long)floor(n / 2.0 - h), hi = (long)ceil(n / 2.0 + h);
    int have_ci = lo >= 1 && hi <= (long)n;
    double rel = have_ci ? (s[hi - 1] - s[lo - 1]) / 2.0 / med : INFINITY;
    if ((long)n < r->min_steps) return "";
    if (rel < r->noise && timed_s >= r->min_time_s) return "noise";
    if ((long)n >= r->max_steps) return "max_steps";
    if (elapsed >= r->max_time_s) return "max_time";
    return "";
}

static double binom_cdf_half(long k, long n)    /* P(X <= k), X ~ Bin(n, 1/2) */
{
    double p = 0, term = pow(0.5, (double)n);
    for (long i = 0; i <= k && i <= n; i++) {
        p += term;
        term = term * (double)(n - i) / (double)(i + 1);
    }
    return p;
}

static void test_ci_coverage(void)
{
    for (size_t n = 6; n <= 400; n++) {
        size_t lo, hi;
        if (stats_median_ci_ranks(n, &lo, &hi) != 0) {
            CHECK(n < 10, "n=%zu: no CI", n);
            continue;
        }
        /* [x_(lo+1), x_(hi+1)] covers the median with P(lo+1 <= X <= hi) */
        double cover = binom_cdf_half((long)hi, (long)n) - binom_cdf_half((long)lo, (long)n);
        CHECK(cover >= 0.94 && cover <= 0.995, "n=%zu ranks %zu..%zu coverage %.4f", n, lo, hi, cover);
    }
}

typedef double (*gen_fn)(rng *r, size_t i);
static double gen_stable(rng *r, size_t i) { (void)i; return 1e6 * (1.0 + 0.001 * rng_uniform(r, -1, 1)); }
static double gen_noisy(rng *r, size_t i) { (void)i; return 1e6 * (1.0 + 0.5 * rng_uniform(r, 0, 1)); }
static double gen_drift(rng *r, size_t i) { return 1e6 * (1.0 + 0.002 * (double)i + 0.001 * rng_uniform(r, -1, 1)); }
static double gen_bimodal(rng *r, size_t i) { (void)i; return rng_unit(r) < 0.5 ? 1e6 : 1.2e6; }

/* Each sequence step by step against the reference, with no --min-time and
 * with one of 50 steps' worth (steps are ~1 ms: 1e6 ns). */
static void test_sequences(void)
{
    static const struct { const char *name; gen_fn gen; const char *want; } cases[] = {
        {"stable", gen_stable, "noise"},
        {"noisy", gen_noisy, "max_steps"},
        {"drifting", gen_drift, NULL},
        {"bimodal", gen_bimodal, NULL},
    };
    static const double min_times[] = {0.0, 0.05};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++)
        for (size_t t = 0; t < 2; t++) {
            stop_rule rule = {0.01, 10, min_times[t], 500, 100.0};
            rng r;
            rng_seed(&r, 42 + c);
            double x[600], timed_s = 0;
            stop_reason got = STOP_NONE;
            size_t n = 0;
            while (got == STOP_NONE && n < 600) {
                x[n] = cases[c].gen(&r, n);
                timed_s += 1e-9 * x[n];
                n++;
                /* wall clock: the steps plus 10% between them */
                double elapsed = 1.1 * timed_s;
                got = stats_should_stop(x, n, timed_s, elapsed, &rule);
                const char *want = ref_decision(x, n, timed_s, elapsed, &rule);
                CHECK(!strcmp(stop_reason_name(got), want), "%s min-time %g n=%zu: got '%s', reference '%s'",
                      cases[c].name, rule.min_time_s, n, stop_reason_name(got), want);
            }
            printf("%-8s min-time %-4g stopped after %3zu steps (%.3f s) by %s (noise %.4f)\n", cases[c].name,
                   rule.min_time_s, n, timed_s, stop_reason_name(got), stats_compute(x, n).noise_rel);
            if (cases[c].want)
                CHECK(!strcmp(stop_reason_name(got), cases[c].want), "%s: want %s", cases[c].name, cases[c].want);
            if (got == STOP_NOISE) CHECK(timed_s >= rule.min_time_s, "%s: noise before min-time", cases[c].name);
        }
}

/* min_steps, min_time and the caps on flat (noise 0) and rising sequences */
static void test_rule_cases(void)
{
    double flat[20];
    for (int i = 0; i < 20; i++) flat[i] = 5.0;
    stop_rule rule = {0.01, 10, 0.0, 100, 100.0};
    /* min_steps holds even when the first samples agree perfectly */
    CHECK(stats_should_stop(flat, 9, 0, 0, &rule) == STOP_NONE, "stopped before min_steps");
    CHECK(stats_should_stop(flat, 10, 0, 0, &rule) == STOP_NOISE, "flat at min_steps");
    CHECK(stats_should_stop(flat, 3, 0, 200, &rule) == STOP_NONE, "max_time waits for min_steps");
    double rising[12];
    for (int i = 0; i < 12; i++) rising[i] = 1.0 + i;
    CHECK(stats_should_stop(rising, 10, 0, 200, &rule) == STOP_MAX_TIME, "max_time after min_steps");

    /* --min-time: a settled median does not stop the run until that much
     * timed work ran, then it does; the caps still end it first */
    rule.min_time_s = 0.5;
    CHECK(stats_should_stop(flat, 15, 0.49, 0.6, &rule) == STOP_NONE, "noise stopped before min-time");
    CHECK(stats_should_stop(flat, 15, 0.5, 0.6, &rule) == STOP_NOISE, "noise once min-time ran");
    CHECK(stats_should_stop(flat, 10, 2.0, 2.0, &rule) == STOP_NOISE, "min-time long past at min_steps");
    rule.max_time_s = 0.3;
    CHECK(stats_should_stop(flat, 15, 0.2, 0.3, &rule) == STOP_MAX_TIME, "max-time wins over min-time");
    CHECK(stats_should_stop(flat, 15, 0.2, 0.29, &rule) == STOP_NONE, "nothing stops before max-time");
    rule.max_time_s = 100.0;
    rule.max_steps = 15;
    CHECK(stats_should_stop(flat, 15, 0.2, 0.3, &rule) == STOP_MAX_STEPS, "max-steps wins over min-time");
    CHECK(stats_should_stop(rising, 12, 5.0, 5.0, &rule) == STOP_NONE, "min-time alone is no reason to stop");

    step_stats s = stats_compute((double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 11);
    CHECK(s.median == 6 && fabs(s.p10 - 2) < 1e-12 && fabs(s.p90 - 10) < 1e-12, "quantiles %g %g %g", s.median, s.p10, s.p90);
}

/* the repeats' stability rule: spread (max - min) / median against
 * max(2 noise, 5%) */
static void test_repeats_unstable(void)
{
    const double agree[3] = {100, 100, 104}, disagree[3] = {100, 100, 106}, pair[2] = {100, 170};
    CHECK_CLOSE(stats_spread_rel(disagree, 3), 0.06, 1e-12, 0, "spread of 100, 100, 106");
    CHECK(!stats_repeats_unstable(agree, 3, 0.01), "a 4%% spread is stable at noise 1%%");
    CHECK(stats_repeats_unstable(disagree, 3, 0.01), "a 6%% spread is unstable at noise 1%%");
    CHECK(!stats_repeats_unstable(disagree, 3, 0.05), "6%% is within twice a 5%% noise target");
    CHECK(stats_repeats_unstable(pair, 2, 0.01) && !stats_repeats_unstable(pair, 1, 0.01),
          "two repeats can disagree, one cannot");
}

int main(void)
{
    test_repeats_unstable();
    test_ci_coverage();
    test_sequences();
    test_rule_cases();
    return CHECK_DONE();
}
