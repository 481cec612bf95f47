/* tests/test_plan.c — the planner's pure parts: the memory fit recovers a
 * known fixed part and scale and predicts other splits; the throughput fit
 * recovers a per-step overhead and per-micro-batch rates and holds them flat
 * outside the measured range; recompute none and blocks fit apart, each on
 * its own model's structure; the candidate micro-batches (powers of two,
 * ragged ceil(B/k)); the choice rule and the option of each recompute value;
 * the flat JSON reader. */
#include "check.h"
#include "memory_model.h"
#include "plan_fit.h"
#include "plan_points.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static plan_point point(strategy_kind s, int m, int k, double mem, double step_ns)
{
    plan_point p;
    memset(&p, 0, sizeof p);
    p.strategy = s;
    p.recompute = RECOMPUTE_NONE;
    p.micro_batch = m;
    p.iter_size = k;
    p.effective_batch = m * k;
    p.last_micro_batch = m;
    if (s == STRATEGY_FULL) {
        p.micro_batch = p.last_micro_batch = p.effective_batch;
        p.iter_size = 1;
    }
    for (int f = 0; f < PLAN_FIG_COUNT; f++) p.mem_bytes[f] = -1;
    p.mem_bytes[PLAN_FIG_TRACKED] = mem;
    p.step_ns = step_ns;
    return p;
}

/* a made-up device: fixed + 1.25 × structure bytes; rate(m) = 1000·m
 * samples/s up to m = 4 (so a micro-batch of m takes 1 ms), 100 us per step */
#define FIXED 1.0e6
#define SCALE 1.25
#define OVERHEAD_NS 1.0e5

static double true_peak(const model *mdl, strategy_kind s, int m, int k, int last)
{
    return FIXED + SCALE * plan_structure_bytes(mdl, s, m, k, last);
}

static void test_fit(void)
{
    model_config mc = {MODEL_MLP, 64, 128, 2, 16, 3, 3, NORM_BATCH, 0, 0, 0, 0, RECOMPUTE_NONE};
    model mdl;
    CHECK(model_build(&mdl, &mc) == 0, "model_build");
    plan_point pts[16];
    size_t n = 0;
    const strategy_kind ss[2] = {STRATEGY_RETAIN, STRATEGY_ACCUMULATE};
    for (int si = 0; si < 2; si++)
        for (int m = 1; m <= 4; m *= 2)
            for (int k = 1; k <= 2; k++)
                pts[n++] = point(ss[si], m, k, true_peak(&mdl, ss[si], m, k, m), OVERHEAD_NS + k * 1e6);

    /* the structure is the analytic model's: on the CPU the fit is exact */
    run_config c;
    memset(&c, 0, sizeof c);
    c.model = mc;
    c.micro_batch = 32;
    c.iter_size = 8;
    c.effective_batch = 256;
    c.last_micro_batch = 32;
    memory_estimate e = memory_analytic(&mdl, &c, STRATEGY_RETAIN, 0, 0);
    CHECK_CLOSE(plan_structure_bytes(&mdl, STRATEGY_RETAIN, 32, 8, 32), (double)(e.activations + e.transient + e.ones),
                0, 0, "structure = activations + transient + ones");

    char err[256];
    for (int si = 0; si < 2; si++) {
        plan_fit f;
        CHECK(plan_fit_strategy(ss[si], pts, n, PLAN_FIG_TRACKED, &mdl, &f, err, sizeof err) == 0, "fit: %s", err);
        CHECK(f.n_points == 6, "points %d", f.n_points);
        CHECK_CLOSE(f.fixed_bytes, FIXED, 1e-3, 1e-9, "fixed");
        CHECK_CLOSE(f.scale, SCALE, 0, 1e-9, "scale");
        CHECK(f.max_rel_residual < 1e-9, "residual %g", f.max_rel_residual);
        /* held out: 32 x 8, and a ragged 48 + 48 + 32 */
        CHECK_CLOSE(plan_predict_peak(&f, 32, 8, 32), true_peak(&mdl, ss[si], 32, 8, 32), 0, 1e-9, "32 x 8");
        CHECK_CLOSE(plan_predict_peak(&f, 48, 3, 32), true_peak(&mdl, ss[si], 48, 3, 32), 0, 1e-9, "ragged");
        /* throughput: overhead and rates recovered; a micro-batch of 2 at k = 4
         * takes 100 us + 4 ms for 8 samples */
        CHECK_CLOSE(f.overhead_ns, OVERHEAD_NS, 1e-3, 1e-9, "overhead");
        CHECK(f.n_rates == 3 && f.rate_m[0] == 1 && f.rate_m[2] == 4, "rates %d", f.n_rates);
        int ex = -1;
        CHECK_CLOSE(plan_predict_rate(&f, 2, 4, 2, &ex), 8 / 4.1e-3, 0, 1e-9, "rate 2 x 4");
        CHECK(ex == 0, "2 x 4 is inside the measured range");
        /* m = 16 is beyond m = 4: held at 4000 samples/s, flagged */
        CHECK_CLOSE(plan_predict_rate(&f, 16, 2, 16, &ex), 32 / (1e-4 + 2 * 16 / 4000.0), 0, 1e-9, "flat beyond");
        CHECK(ex == 1, "16 is extrapolated");
        /* between measured sizes, linear in log2 m: m = 3 */
        double r3 = 2000 + (log2(3) - 1) * 2000;
        CHECK_CLOSE(plan_predict_rate(&f, 3, 1, 3, &ex), 3 / (1e-4 + 3 / r3), 0, 1e-9, "log2 interpolation");
    }

    /* 16-wide layers: every tensor of micro-batches 1, 2, 4 rounds up to
     * OPS_ALIGN_BYTES, so accumulate's structure is the same at all three and
     * cannot separate scale from fixed: scale 1 is assumed (as the CPU has
     * it) and the fixed part fitted; 32 x 8 is still right */
    model_config narrow_cfg = {MODEL_MLP, 64, 16, 4, 16, 3, 3, NORM_BATCH, 0, 0, 0, 0, RECOMPUTE_NONE};
    model narrow;
    CHECK(model_build(&narrow, &narrow_cfg) == 0, "model_build");
    plan_point flat[6];
    size_t nf = 0;
    for (int m = 1; m <= 4; m *= 2)
        for (int k = 1; k <= 2; k++)
            flat[nf++] = point(STRATEGY_ACCUMULATE, m, k, FIXED + plan_structure_bytes(&narrow, STRATEGY_ACCUMULATE, m,
                                                                                        k, m), k * 1e6);
    CHECK(plan_structure_bytes(&narrow, STRATEGY_ACCUMULATE, 1, 1, 1) ==
              plan_structure_bytes(&narrow, STRATEGY_ACCUMULATE, 4, 1, 4), "narrow: one structure at m = 1..4");
    plan_fit f;
    CHECK(plan_fit_strategy(STRATEGY_ACCUMULATE, flat, nf, PLAN_FIG_TRACKED, &narrow, &f, err, sizeof err) == 0, "%s",
          err);
    CHECK(f.scale_assumed && f.scale == 1.0, "scale assumed");
    CHECK_CLOSE(f.fixed_bytes, FIXED, 1e-6, 0, "fixed alone");
    CHECK_CLOSE(plan_predict_peak(&f, 32, 8, 32),
                FIXED + plan_structure_bytes(&narrow, STRATEGY_ACCUMULATE, 32, 8, 32), 1e-6, 0, "narrow 32 x 8");
    /* no points of the strategy: an error, not a fit */
    CHECK(plan_fit_strategy(STRATEGY_FULL, flat, nf, PLAN_FIG_TRACKED, &narrow, &f, err, sizeof err) != 0,
          "full: no points");
    model_free(&narrow);

    /* figures: the CPU uses tracked; a GPU the driver figure when every point has it */
    CHECK(plan_pick_figure(pts, n, 0) == PLAN_FIG_TRACKED, "cpu figure");
    CHECK(plan_pick_figure(pts, n, 1) == PLAN_FIG_TRACKED, "gpu without device figures");
    for (size_t i = 0; i < n; i++) pts[i].mem_bytes[PLAN_FIG_DRIVER] = 1;
    CHECK(plan_pick_figure(pts, n, 1) == PLAN_FIG_DRIVER, "gpu driver figure");
    model_free(&mdl);
}

static void test_micro_batches(void)
{
    plan_request rq = {10, 0, NULL, 0, 0, 0};
    int *v = NULL;
    size_t n = plan_micro_batches(&rq, &v);
    CHECK(n == 4 && v[0] == 1 && v[3] == 8, "powers of two up to 10: %zu", n);
    free(v);
    rq.ragged = 1;
    n = plan_micro_batches(&rq, &v);
    int want[] = {1, 2, 3, 4, 5, 8, 10};   /* ceil(10/k) = 10 5 4 3 2 2 2 2 2 1, and the powers */
    CHECK(n == 7, "ragged count %zu", n);
    for (size_t i = 0; i < n && i < 7; i++) CHECK(v[i] == want[i], "ragged [%zu] = %d", i, v[i]);
    free(v);
    int given[] = {6, 3, 6};
    plan_request rq2 = {10, 0, given, 3, 0, 0};
    n = plan_micro_batches(&rq2, &v);
    CHECK(n == 2 && v[0] == 3 && v[1] == 6, "given list sorted and distinct");
    free(v);
}

static plan_candidate cand_r(strategy_kind s, recompute_kind r, int m, int k, double peak, double rate, int feasible)
{
    plan_candidate c = {s, r, m, k, m, peak, rate, 0, feasible};
    return c;
}

static plan_candidate cand(strategy_kind s, int m, int k, double peak, double rate, int feasible)
{
    return cand_r(s, RECOMPUTE_NONE, m, k, peak, rate, feasible);
}

static void test_choose(void)
{
    plan_candidate c[] = {
        cand(STRATEGY_ACCUMULATE, 4, 64, 100, 1000, 1),
        cand(STRATEGY_ACCUMULATE, 8, 32, 110, 1010, 1),     /* as fast (within 3%), fewer micro-batches */
        cand(STRATEGY_ACCUMULATE, 16, 16, 130, 1005, 1),    /* as fast, fewer still */
        cand(STRATEGY_ACCUMULATE, 32, 8, 170, 1020, 0),     /* does not fit */
        cand(STRATEGY_RETAIN, 16, 16, 125, 1000, 1),        /* as fast, as few, less memory: the pick */
        cand(STRATEGY_ACCUMULATE, 2, 128, 95, 500, 1),
    };
    size_t n = sizeof c / sizeof c[0];
    long r = plan_choose(c, n);
    CHECK(r >= 0 && c[r].micro_batch == 16 && c[r].strategy == STRATEGY_RETAIN,
          "pick: fewest micro-batches among the as-fast, then least memory (got %ld)", r);
    for (size_t i = 1; i < n; i++) CHECK(c[i - 1].samples_per_s >= c[i].samples_per_s, "sorted fastest first");
    long s = plan_smallest(c, n);
    CHECK(s >= 0 && c[s].peak_bytes == 95, "smallest peak");
    /* a clearly faster configuration wins over fewer micro-batches */
    plan_candidate d[] = {cand(STRATEGY_ACCUMULATE, 64, 4, 100, 1000, 1), cand(STRATEGY_ACCUMULATE, 32, 8, 90, 1100, 1)};
    r = plan_choose(d, 2);
    CHECK(r >= 0 && d[r].micro_batch == 32, "faster by more than the tie wins");
    plan_candidate none[] = {cand(STRATEGY_ACCUMULATE, 1, 8, 100, 10, 0)};
    CHECK(plan_choose(none, 1) == -1, "nothing feasible");
}

// ----------------------------------------------------------------------------
// recompute: none and blocks fit apart

/* a made-up device where blocks costs 30% more per micro-batch (about one
 * forward more) and its own fixed part and scale */
#define FIXED_BLOCKS 1.5e6
#define SCALE_BLOCKS 1.5

static void test_recompute_fit(void)
{
    model_config mc = {MODEL_MLP, 64, 128, 2, 16, 3, 3, NORM_BATCH, 0, 0, 0, 0, RECOMPUTE_NONE};
    model mdl[PLAN_RECOMPUTES];
    for (int r = 0; r < PLAN_RECOMPUTES; r++) {
        mc.recompute = (recompute_kind)r;
        CHECK(model_build(&mdl[r], &mc) == 0, "model_build");
    }
    /* blocks holds less: each layer keeps its ReLU output, not the Linear's */
    double s_none = plan_structure_bytes(&mdl[RECOMPUTE_NONE], STRATEGY_RETAIN, 32, 8, 32);
    double s_blocks = plan_structure_bytes(&mdl[RECOMPUTE_BLOCKS], STRATEGY_RETAIN, 32, 8, 32);
    CHECK(s_blocks < s_none, "blocks structure %.0f < none %.0f", s_blocks, s_none);

    const double fixed[2] = {FIXED, FIXED_BLOCKS}, scale[2] = {SCALE, SCALE_BLOCKS}, per_mb_ns[2] = {1e6, 1.3e6};
    plan_point pts[12];
    size_t n = 0;
    for (int r = 0; r < PLAN_RECOMPUTES; r++)
        for (int m = 1; m <= 4; m *= 2)
            for (int k = 1; k <= 2; k++) {
                double s = plan_structure_bytes(&mdl[r], STRATEGY_ACCUMULATE, m, k, m);
                pts[n] = point(STRATEGY_ACCUMULATE, m, k, fixed[r] + scale[r] * s, OVERHEAD_NS + k * per_mb_ns[r]);
                pts[n++].recompute = (recompute_kind)r;
            }
    char err[256];
    plan_fit f[PLAN_RECOMPUTES];
    for (int r = 0; r < PLAN_RECOMPUTES; r++) {
        CHECK(plan_fit_strategy(STRATEGY_ACCUMULATE, pts, n, PLAN_FIG_TRACKED, &mdl[r], &f[r], err, sizeof err) == 0,
              "fit %d: %s", r, err);
        /* six points each: a fit over both would have twelve and residuals */
        CHECK(f[r].recompute == (recompute_kind)r && f[r].n_points == 6, "recompute %d: %d points", r, f[r].n_points);
        CHECK_CLOSE(f[r].fixed_bytes, fixed[r], 1e-3, 1e-9, "fixed");
        CHECK_CLOSE(f[r].scale, scale[r], 0, 1e-9, "scale");
        CHECK(f[r].max_rel_residual < 1e-9, "residual %g", f[r].max_rel_residual);
        CHECK_CLOSE(f[r].overhead_ns, OVERHEAD_NS, 1e-3, 1e-9, "overhead");
        /* a micro-batch of 4: 4 samples in 1 ms (none), 1.3 ms (blocks) */
        CHECK_CLOSE(f[r].rate[2], 4e9 / per_mb_ns[r], 0, 1e-9, "rate at m = 4");
        /* held out: 32 x 8 on the fit's own model */
        double want = fixed[r] + scale[r] * plan_structure_bytes(&mdl[r], STRATEGY_ACCUMULATE, 32, 8, 32);
        CHECK_CLOSE(plan_predict_peak(&f[r], 32, 8, 32), want, 0, 1e-9, "32 x 8");
    }
    /* every candidate carries its fit's recompute value and prediction */
    plan_request rq = {64, 0, NULL, 0, 1e12, 0};
    plan_candidate *c = NULL;
    size_t nc = plan_candidates(f, PLAN_RECOMPUTES, &rq, &c);
    CHECK(nc == 14, "7 micro-batches x 2 recompute values: %zu", nc);
    for (size_t i = 0; i < nc; i++) {
        int r = (int)c[i].recompute;
        CHECK(r == (i < 7 ? 0 : 1), "candidate %zu: recompute %d", i, r);
        CHECK_CLOSE(c[i].peak_bytes, plan_predict_peak(&f[r], c[i].micro_batch, c[i].iter_size, c[i].micro_batch), 0,
                    0, "candidate peak");
    }
    free(c);
    /* blocks' model but only none's points: no fit */
    CHECK(plan_fit_strategy(STRATEGY_ACCUMULATE, pts, 6, PLAN_FIG_TRACKED, &mdl[RECOMPUTE_BLOCKS], &f[1], err,
                            sizeof err) != 0, "blocks without blocks points");
    for (int r = 0; r < PLAN_RECOMPUTES; r++) model_free(&mdl[r]);
}

/* sorts c, then checks the recommendation and each side against the
 * expected (strategy-agnostic) micro-batch and recompute value; -1: none */
static void check_sides(plan_candidate *c, size_t n, int rec_m, int rec_r, const int side_m[PLAN_RECOMPUTES],
                        const char *what)
{
    long rec = plan_choose(c, n), side[PLAN_RECOMPUTES];
    plan_sides(c, n, rec, side);
    if (rec_m < 0) CHECK(rec == -1, "%s: nothing fits", what);
    else CHECK(rec >= 0 && c[rec].micro_batch == rec_m && (int)c[rec].recompute == rec_r, "%s: recommendation", what);
    for (int r = 0; r < PLAN_RECOMPUTES; r++) {
        if (side_m[r] < 0) {
            CHECK(side[r] == -1, "%s: nothing of recompute %d fits", what, r);
            continue;
        }
        const plan_candidate *s = side[r] >= 0 ? &c[side[r]] : NULL;
        CHECK(s && s->micro_batch == side_m[r] && (int)s->recompute == r && s->feasible,
              "%s: side %d is micro-batch %d", what, r, s ? s->micro_batch : -1);
        if (rec >= 0 && (int)c[rec].recompute == r)
            CHECK(side[r] == rec, "%s: the recommendation's side is itself", what);
    }
}

static void test_sides(void)
{
    const strategy_kind A = STRATEGY_ACCUMULATE;
    const recompute_kind N = RECOMPUTE_NONE, R = RECOMPUTE_BLOCKS;
    /* blocks fits 16 where none fits only 8, and 16 is faster */
    plan_candidate buys[] = {cand_r(A, N, 8, 32, 100, 1000, 1), cand_r(A, N, 16, 16, 150, 1100, 0),
                             cand_r(A, R, 16, 16, 95, 1200, 1), cand_r(A, R, 8, 32, 80, 900, 1)};
    check_sides(buys, 4, 16, R, (const int[]){8, 16}, "blocks buys a larger micro-batch");
    /* blocks fits more but is slower than none everywhere: none wins, and
     * blocks' side is its fastest (850 is more than 3% below 900) */
    plan_candidate nothing[] = {cand_r(A, N, 16, 16, 100, 1100, 1), cand_r(A, R, 16, 16, 80, 850, 1),
                                cand_r(A, R, 32, 8, 95, 900, 1)};
    check_sides(nothing, 3, 16, N, (const int[]){16, 32}, "blocks buys nothing");
    /* the tie window is the fastest overall's (blocks 4 x 64 at 1010): within
     * none alone 32 x 8 (975) would tie with 8 x 32 (1000) and win on fewer
     * micro-batches, but it is not as fast as the recommendation, so none's
     * side stays the recommendation */
    plan_candidate window[] = {cand_r(A, N, 8, 32, 100, 1000, 1), cand_r(A, N, 32, 8, 120, 975, 1),
                               cand_r(A, R, 4, 64, 50, 1010, 1)};
    check_sides(window, 3, 8, N, (const int[]){8, 4}, "tie window of the recommendation");
    /* only blocks fits */
    plan_candidate only[] = {cand_r(A, N, 1, 64, 200, 500, 0), cand_r(A, R, 1, 64, 90, 400, 1)};
    check_sides(only, 2, 1, R, (const int[]){-1, 1}, "only blocks fits");
    plan_candidate none_fits[] = {cand_r(A, N, 1, 64, 200, 500, 0), cand_r(A, R, 1, 64, 190, 400, 0)};
    check_sides(none_fits, 2, -1, 0, (const int[]){-1, -1}, "nothing fits");
}

static void test_json(void)
{
    plan_json o;
    CHECK(plan_json_parse(" {\"a\": 1, \"b\": \"x\\\"y\\u0001\", \"c\": null, \"d\": -1.5e3, \"e\": true}\n", &o) == 0,
          "parse");
    double v;
    CHECK(plan_json_number(&o, "a", &v) == 0 && v == 1, "a");
    CHECK(!strcmp(plan_json_get(&o, "b"), "x\"y\001"), "b unescaped");
    CHECK(plan_json_get(&o, "c") == NULL && plan_json_number(&o, "c", &v) == 1, "null");
    CHECK(plan_json_number(&o, "d", &v) == 0 && v == -1500, "d");
    CHECK(plan_json_number(&o, "b", &v) == -1, "text is not a number");
    CHECK(plan_json_get(&o, "missing") == NULL, "missing");
    plan_json_free(&o);
    /* a run's row: strategy and recompute name the fit it belongs to */
    plan_point p;
    char err[256];
    const char *row = "{\"strategy\": \"retain\", \"recompute\": \"%s\", \"micro_batch\": 4, \"iter_size\": 2, "
                      "\"effective_batch\": 8, \"last_micro_batch\": 4, \"mem_tracked_bytes\": 1000, "
                      "\"step_median_ns\": 5e6, \"status\": \"ok\"}";
    const char *values[] = {"blocks", "none", "all"};
    const int want[] = {0, 0, -1};
    for (int i = 0; i < 3; i++) {
        char text[512];
        snprintf(text, sizeof text, row, values[i]);
        CHECK(plan_json_parse(text, &o) == 0, "row parses");
        int rc = plan_point_from_json(&o, &p, err, sizeof err);
        CHECK(rc == want[i], "recompute '%s': %d", values[i], rc);
        if (rc == 0) CHECK(!strcmp(recompute_name(p.recompute), values[i]) && p.strategy == STRATEGY_RETAIN, "point");
        plan_json_free(&o);
    }
    const char *bad[] = {"", "{", "{\"a\" 1}", "{\"a\": 01}", "{\"a\": 1,}", "{\"a\": [1]}", "{\"a\": 1} x",
                         "{\"a\": \"unterminated}", "{\"a\": nul}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(plan_json_parse(bad[i], &o) != 0, "rejects '%s'", bad[i]);
        plan_json_free(&o);
    }
}

int main(void)
{
    test_fit();
    test_micro_batches();
    test_choose();
    test_recompute_fit();
    test_sides();
    test_json();
    return CHECK_DONE();
}
