/* tests/test_strategies.c — the three strategies on the CPU backend:
 * gradient equivalence (and the exceptions the design lists), the order of
 * operations seen through the backend observer, live bytes per micro-batch,
 * and the analytic memory model against hand-derived numbers and against the
 * sub-allocator's measured peaks. */
#include "check.h"
#include "test_config.h"
#include "test_engine.h"
#include "cli.h"

#include <stdlib.h>
#include <string.h>

static const strategy_kind all3[] = {STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE};

/* grads[s] for s in full, retain, accumulate; returns the engine open */
static int grads_of(const char *flags, ops_backend *b, engine *e, float *grads[3])
{
    run_config c;
    char why[256];
    if (config_from(flags, &c) != 0) return -1;
    if (ops_open(b, "cpu", why, sizeof why) != OPS_OK) return -1;
    if (engine_open(e, &c, b) != OPS_OK || engine_prepare(e, all3, 3) != OPS_OK) return -1;
    size_t pf = e->m.param_floats;
    for (int s = 0; s < 3; s++) {
        grads[s] = malloc(pf * sizeof(float));
        if (!grads[s] || engine_step(e, all3[s], 0) != OPS_OK ||
            ops_download(b, grads[s], e->st.grads, pf * sizeof(float)) != OPS_OK)
            return -1;
    }
    return 0;
}

static void close_all(ops_backend *b, engine *e, float *grads[3])
{
    for (int s = 0; s < 3; s++) free(grads[s]);
    engine_close(e);
    ops_close(b);
}

/* max over tensors of max|a - scale*b| / max|scale*b| */
static double max_rel(const model *m, const float *a, const float *bb, double scale)
{
    double worst = 0.0;
    for (int i = 0; i < m->n_params; i++) {
        const model_param *p = &m->params[i];
        double num = 0, den = 0;
        for (size_t j = 0; j < p->numel; j++) {
            num = fmax(num, fabs(a[p->offset + j] - scale * bb[p->offset + j]));
            den = fmax(den, fabs(scale * bb[p->offset + j]));
        }
        worst = fmax(worst, den > 0 ? num / den : num);
    }
    return worst;
}

// ----------------------------------------------------------------------------
// equivalence

/* fp32 sums in different orders: observed ~1e-7; 1e-5 still catches any
 * missing or doubled micro-batch (those are O(1/k) errors). */
#define EQ_TOL 1e-5

static void test_equivalence(void)
{
    static const struct { const char *flags; int bn; } cases[] = {
        {"--model mlp --input-dim 48 --hidden 24 --layers 2", 0},
        {"--model cnn --width 8 --stages 2 --blocks 1 --norm none", 0},
        {"--model cnn --width 8 --stages 2 --blocks 1 --norm group", 0},
        {"--model cnn --width 8 --stages 2 --blocks 1 --norm batch", 1},
        {"--model gpt --vocab 32 --seq 6 --d-model 16 --heads 2 --layers 2", 0},
    };
    static const struct { const char *split; const char *loss; int k; } splits[] = {
        {"--micro-batch 3 --iter-size 3", "global", 3},
        {"--micro-batch 3 --iter-size 3", "mean", 3},
        {"--micro-batch 3 --iter-size 3", "sum", 3},
        {"--micro-batch 4 --effective-batch 10", "global", 3},
    };
    for (size_t ci = 0; ci < sizeof cases / sizeof cases[0]; ci++)
        for (size_t si = 0; si < sizeof splits / sizeof splits[0]; si++) {
            char flags[400];
            snprintf(flags, sizeof flags, "%s %s --loss-norm %s", cases[ci].flags, splits[si].split, splits[si].loss);
            ops_backend b;
            engine e;
            float *g[3] = {0};
            if (grads_of(flags, &b, &e, g) != 0) {
                CHECK(0, "setup failed for %s", flags);
                continue;
            }
            double scale = !strcmp(splits[si].loss, "sum") ? splits[si].k : 1.0;
            double ra = max_rel(&e.m, g[1], g[2], 1.0);
            double af = max_rel(&e.m, g[2], g[0], scale);
            double rf = max_rel(&e.m, g[1], g[0], scale);
            printf("%-90s retain~accum %.2e  split~full %.2e %.2e\n", flags, ra, af, rf);
            CHECK(ra <= EQ_TOL, "%s: retain vs accumulate %.3e", flags, ra);
            if (!cases[ci].bn) {
                CHECK(af <= EQ_TOL && rf <= EQ_TOL, "%s: split vs full %.3e %.3e", flags, af, rf);
            } else {
                /* BatchNorm statistics per micro-batch: full must really differ */
                CHECK(af > 1e-3, "%s: BatchNorm split should differ from full, got %.3e", flags, af);
            }
            close_all(&b, &e, g);
        }
}

/* mean with a ragged split (m1 = 4, m2 = 2, B = 6): mean = (g1 + g2)/2 while
 * full = (4 g1 + 2 g2)/6. g1, g2 come from the sum and global runs:
 * sum = g1 + g2, global = (4 g1 + 2 g2)/6. */
static void test_mean_ragged(void)
{
    const char *base = "--model mlp --input-dim 32 --hidden 16 --layers 2 --micro-batch 4 --effective-batch 6";
    const char *norms[3] = {"mean", "sum", "global"};
    float *acc[3];
    ops_backend b;
    engine e;
    float *g[3] = {0};
    size_t pf = 0;
    float *full = NULL;
    for (int i = 0; i < 3; i++) {
        char flags[300];
        snprintf(flags, sizeof flags, "%s --loss-norm %s", base, norms[i]);
        if (grads_of(flags, &b, &e, g) != 0) {
            CHECK(0, "setup %s", flags);
            return;
        }
        pf = e.m.param_floats;
        acc[i] = malloc(pf * sizeof(float));
        memcpy(acc[i], g[2], pf * sizeof(float));
        if (!full) {
            full = malloc(pf * sizeof(float));
            memcpy(full, g[0], pf * sizeof(float));
        }
        if (i < 2) close_all(&b, &e, g);
    }
    double num = 0, den = 0, diff = 0;
    for (size_t j = 0; j < pf; j++) {
        double s = acc[1][j], gl = acc[2][j];
        double g2 = (6.0 * gl - 4.0 * s) / (2.0 - 4.0);
        double g1 = s - g2;
        double expected = (0.5 - 4.0 / 6.0) * g1 + (0.5 - 2.0 / 6.0) * g2;
        double got = (double)acc[0][j] - full[j];
        num = fmax(num, fabs(got - expected));
        den = fmax(den, fabs(expected));
        diff = fmax(diff, fabs(got));
    }
    printf("mean ragged: |mean - full| max %.3e, matches the expected difference to %.2e relative\n", diff, num / den);
    CHECK(diff > 1e-4, "mean with a ragged split should differ from full (%.3e)", diff);
    CHECK(num / den <= 1e-3, "mean - full differs from the expected amount: %.3e", num / den);
    close_all(&b, &e, g);
    for (int i = 0; i < 3; i++) free(acc[i]);
    free(full);
}

// ----------------------------------------------------------------------------
// order of operations and live bytes, through the observer

#define MAX_EVENTS 100000

typedef struct {
    int n_seq;
    int seq[256][2];            /* (phase, micro-batch) runs of ops */
    size_t last_live[OPS_PHASE_COUNT][16];
    int seen[OPS_PHASE_COUNT][16];
} trace;

static void on_op(void *user, const char *op, ops_phase phase, int mb)
{
    (void)op;
    trace *t = user;
    if (t->n_seq && t->seq[t->n_seq - 1][0] == (int)phase && t->seq[t->n_seq - 1][1] == mb) return;
    if (t->n_seq < 256) {
        t->seq[t->n_seq][0] = (int)phase;
        t->seq[t->n_seq][1] = mb;
        t->n_seq++;
    }
}

static void on_mem(void *user, size_t live, ops_phase phase, int mb)
{
    trace *t = user;
    if (mb < 16) {
        t->last_live[phase][mb] = live;
        t->seen[phase][mb] = 1;
    }
}

static void seq_string(const trace *t, char *buf, size_t n)
{
    static const char tag[] = "OFBU";
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n_seq && used + 8 < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%c%d", i ? " " : "", tag[t->seq[i][0]], t->seq[i][1]);
}

static void test_order_and_live_bytes(const char *model)
{
    static const struct { const char *strategy; const char *want; } cases[] = {
        {"full", "O0 F1 B1 U0"},
        {"retain", "O0 F1 F2 F3 B3 B2 B1 U0"},
        {"accumulate", "O0 F1 B1 F2 B2 F3 B3 U0"},
    };
    for (size_t i = 0; i < 3; i++) {
        run_config c;
        if (config_from(model, &c) != 0) {
            CHECK(0, "%s: bad test flags", cases[i].strategy);
            continue;
        }
        c.strategy = i == 0 ? STRATEGY_FULL : i == 1 ? STRATEGY_RETAIN : STRATEGY_ACCUMULATE;
        ops_backend b;
        engine e;
        strategy_kind s = c.strategy;
        if (open_prepared(&c, s, &b, &e, cases[i].strategy) != 0) continue;
        size_t base = b.arena.live_bytes;
        trace *t = calloc(1, sizeof *t);
        ops_status st = t ? OPS_OK : OPS_ERR_OOM;
        if (t) b.observer = (ops_observer){t, on_op, NULL, on_mem};
        if (st == OPS_OK) st = engine_step(&e, s, 1);
        if (st != OPS_OK) {
            CHECK(0, "%s: step failed: %s", cases[i].strategy, status_text(st));
            free(t);
            engine_close(&e);
            ops_close(&b);
            continue;
        }
        char got[512];
        seq_string(t, got, sizeof got);
        printf("%-10s order: %s (%s)\n", cases[i].strategy, got, model);
        CHECK(!strcmp(got, cases[i].want), "%s: order %s, want %s", cases[i].strategy, got, cases[i].want);
        size_t act = model_act_bytes(&e.m, c.micro_batch);
        for (int mb = 1; i > 0 && mb <= 3; mb++) {
            /* after B_mb: accumulate is back at its pre-forward level; retain
             * still holds micro-batches 1..mb-1 */
            size_t want = base + (i == 1 ? (size_t)(mb - 1) * act : 0);
            CHECK(t->seen[OPS_PHASE_BACKWARD][mb] && t->last_live[OPS_PHASE_BACKWARD][mb] == want,
                  "%s: live bytes after B%d = %zu, want %zu", cases[i].strategy, mb,
                  t->last_live[OPS_PHASE_BACKWARD][mb], want);
        }
        CHECK(b.arena.live_bytes == base, "%s: live bytes after the step %zu, before %zu", cases[i].strategy,
              b.arena.live_bytes, base);
        free(t);
        engine_close(&e);
        ops_close(&b);
    }
}

// ----------------------------------------------------------------------------
// memory: analytic model by hand, and measured peaks against it

/* The tracked peak of the second step of s (the first warms up); 0, after a
 * failed CHECK with the reason, when setup or a step fails. */
static size_t step_peak(const char *flags, strategy_kind s, size_t *analytic, size_t *act)
{
    run_config c;
    *analytic = *act = 0;
    if (config_from(flags, &c) != 0) {
        CHECK(0, "%s: bad test flags", flags);
        return 0;
    }
    c.strategy = s;
    ops_backend b;
    engine e;
    if (open_prepared(&c, s, &b, &e, flags) != 0) return 0;
    size_t peak = 0;
    ops_status st = engine_step(&e, s, 1);
    if (st == OPS_OK) {
        ops_reset_high_water(&b);
        st = engine_step(&e, s, 1);
    }
    if (st == OPS_OK) peak = b.arena.high_water_bytes;
    else CHECK(0, "%s %s: step failed: %s", flags, strategy_name(s), status_text(st));
    *analytic = e.estimate.total;
    *act = model_act_bytes(&e.m, c.micro_batch);
    engine_close(&e);
    ops_close(&b);
    return peak;
}

/* mlp D=4, H=3, L=1, m=2, k=3, SGD. Every tensor is rounded to 256 bytes:
 * params: W0 12, b0 3, W1 30, b1 10 floats -> 4 x 256 = 1024 bytes; grads and
 * momentum the same. ones: 2 floats -> 256. No workspace, no buffers.
 * A(2): linear0 out (6), relu (6), fc out (20), probs (20), losses (2) -> 5 x 256 = 1280.
 * transient: backward first allocates dlogits (20 floats -> 256) while all
 * activations are held; then probs and losses (512) are freed before any other
 * gradient, and each later gradient (256) comes after its layer's output and
 * output gradient were freed: 256.
 * accumulate: 3 x 1024 + 256 + 1280 + 256 = 4864; retain: 3 x 1024 + 256 + 3 x 1280 + 256 = 7424;
 * full (B = 6): ones 256, A(6) again 5 x 256: 4864; AdamW adds 1024. */
static void test_analytic_tiny_mlp(void)
{
    static const struct { const char *extra; strategy_kind s; size_t want; } cases[] = {
        {"", STRATEGY_ACCUMULATE, 4864},
        {"", STRATEGY_RETAIN, 7424},
        {"", STRATEGY_FULL, 4864},
        {"--optimizer adamw", STRATEGY_RETAIN, 8448},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char flags[200];
        snprintf(flags, sizeof flags, "--model mlp --input-dim 4 --hidden 3 --layers 1 --micro-batch 2 --iter-size 3 %s",
                 cases[i].extra);
        run_config c;
        model m;
        if (config_from(flags, &c) != 0 || model_build(&m, &c.model) != 0) {
            CHECK(0, "tiny mlp %s: setup failed", flags);
            continue;
        }
        memory_estimate est = memory_analytic(&m, &c, cases[i].s, 0, 0);
        CHECK(est.total == cases[i].want, "tiny mlp %s %s: analytic %zu, hand-derived %zu", strategy_name(cases[i].s),
              cases[i].extra, est.total, cases[i].want);
        size_t an, act;
        size_t measured = step_peak(flags, cases[i].s, &an, &act);
        CHECK(measured == cases[i].want, "tiny mlp %s %s: measured peak %zu, hand-derived %zu",
              strategy_name(cases[i].s), cases[i].extra, measured, cases[i].want);
        model_free(&m);
    }
}

/* gpt V=4, T=8, C=16, H=2, L=1, m=1, k=2, SGD; every tensor rounded to 256
 * bytes. P: wte 64 floats 256, wpe 128 512; block: ln_1 2 x 256 (16 each),
 * c_attn 768 -> 3072 and 48 -> 256, attn.c_proj 256 -> 1024 and 256, ln_2
 * 512, c_fc 1024 -> 4096 and 64 -> 256, mlp.c_proj 1024 -> 4096 and 256;
 * ln_f 512: 15616 bytes; grads and momentum the same: 46848. ones: 8 tokens
 * (16 for full) -> 256.
 * A(1), rows = 8: x0 (8x16) 512; block: ln_1 512 + mean, rstd 2 x 256, qkv
 * 1536, att (1x2x8x8) 512, attn out 512, resid 512, ln_2 512 + 2 x 256, fc
 * 2048, GELU 2048, resid 512 = 9728; ln_f 512 + 2 x 256, logits 32 -> 256,
 * lse 256, loss 256 = 1792: 12032.
 * transient(1): dlnf 512 (peak 512), logits, lse, loss go (-768), dres 512,
 * dlnf and ln_f's three go (-1536): -1280; dfc_gelu 2048 (768), the block
 * output goes (256), dfc 2048: 2304, the peak.
 * accumulate 46848 + 256 + 12032 + 2304 = 61440; retain 46848 + 256 +
 * 2 x 12032 + 2304 = 73472. full, rows = 16: A(2) = 1024 + 18432 + 2304 =
 * 21760 (qkv 3072, att 1024, fc and GELU 4096 each); transient(2): 1024,
 * 256, 1280, 256, -1280, +4096 = 2816, -1024, +4096 = 5888: 74752. */
static void test_analytic_tiny_gpt(void)
{
    static const struct { strategy_kind s; size_t want; } cases[] = {
        {STRATEGY_ACCUMULATE, 61440},
        {STRATEGY_RETAIN, 73472},
        {STRATEGY_FULL, 74752},
    };
    const char *flags = "--model gpt --vocab 4 --seq 8 --d-model 16 --heads 2 --layers 1 --micro-batch 1 --iter-size 2";
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run_config c;
        model m;
        if (config_from(flags, &c) != 0 || model_build(&m, &c.model) != 0) {
            CHECK(0, "tiny gpt: setup failed");
            continue;
        }
        memory_estimate est = memory_analytic(&m, &c, cases[i].s, 0, 0);
        CHECK(est.total == cases[i].want, "tiny gpt %s: analytic %zu, hand-derived %zu", strategy_name(cases[i].s),
              est.total, cases[i].want);
        size_t an, act;
        size_t measured = step_peak(flags, cases[i].s, &an, &act);
        CHECK(measured == cases[i].want, "tiny gpt %s: measured peak %zu, hand-derived %zu",
              strategy_name(cases[i].s), measured, cases[i].want);
        model_free(&m);
    }
}

static void test_measured_peaks(void)
{
    const char *models[] = {
        "--model mlp --input-dim 512 --hidden 256 --layers 3 --micro-batch 32",
        "--model cnn --width 16 --stages 3 --blocks 1 --norm batch --micro-batch 8",
        "--model gpt --vocab 96 --seq 16 --d-model 32 --heads 4 --layers 2 --micro-batch 3",
    };
    for (int mi = 0; mi < 3; mi++) {
        size_t prev_retain = 0, first_acc = 0;
        for (int k = 1; k <= 4; k++) {
            char flags[300];
            snprintf(flags, sizeof flags, "%s --iter-size %d", models[mi], k);
            size_t an_r, an_a, act;
            size_t retain = step_peak(flags, STRATEGY_RETAIN, &an_r, &act);
            size_t acc = step_peak(flags, STRATEGY_ACCUMULATE, &an_a, &act);
            printf("%s k=%d: retain peak %zu (analytic %zu), accumulate peak %zu (analytic %zu)\n", models[mi], k,
                   retain, an_r, acc, an_a);
            /* the analytic model is an upper bound; 5% covers allocator rounding
             * the shapes do not see (none expected: observed exact) */
            CHECK(retain <= an_r && retain >= 0.95 * an_r, "retain k=%d peak %zu vs analytic %zu", k, retain, an_r);
            CHECK(acc <= an_a && acc >= 0.95 * an_a, "accumulate k=%d peak %zu vs analytic %zu", k, acc, an_a);
            if (k > 1)
                CHECK(retain - prev_retain == act, "retain grows by %zu per micro-batch, want one micro-batch of "
                      "activations %zu", retain - prev_retain, act);
            if (k == 1) first_acc = acc;
            else CHECK(acc == first_acc, "accumulate peak k=%d %zu, k=1 %zu: must stay flat", k, acc, first_acc);
            prev_retain = retain;
        }
    }
}

// ----------------------------------------------------------------------------
// the shape walker (model_*_shapes, model_gemm_descs): counts by hand

static void test_shape_walker(void)
{
    model_config mlp = {MODEL_MLP, 12, 8, 2, 0, 0, 0, NORM_NONE, 0, 0, 0, 0, RECOMPUTE_NONE};
    ops_gemm_desc d[16];
    /* 3 Linear layers, 5 GEMMs each, no dx for the first: 14; cap 6 writes 6 */
    CHECK(model_gemm_descs(&mlp, 4, d, 16) == 14, "mlp GEMMs");
    CHECK(d[0].m == 4 && d[0].n == 8 && d[0].k == 12 && d[4].m == 4 && d[4].n == 8 && d[4].k == 8,
          "first GEMMs: y = x W^T (4x8x12), then the second layer's (4x8x8)");
    CHECK(model_gemm_descs(&mlp, 4, d, 6) == 14, "a short buffer still counts all");
    /* stem + 2 stages x (conv1, conv2) + one projection: 6 convs, a norm after each */
    model_config cnn = {MODEL_CNN, 0, 0, 0, 8, 2, 1, NORM_GROUP, 0, 0, 0, 0, RECOMPUTE_NONE};
    ops_conv_shape cs[8];
    ops_norm_shape ns[8];
    CHECK(model_conv_shapes(&cnn, 2, cs, 8) == 6, "cnn convs");
    CHECK(cs[0].c == 3 && cs[0].k == 8 && cs[5].c == 8 && cs[5].k == 16 && cs[5].r == 1 && cs[5].stride == 2,
          "stem 3->8, projection 8->16 1x1 stride 2");
    CHECK(model_norm_shapes(&cnn, 2, ns, 8) == 6 && ns[5].c == 16 && ns[5].groups == 8, "cnn norms");
    cnn.norm = NORM_NONE;
    CHECK(model_norm_shapes(&cnn, 2, ns, 8) == 0, "norm none: no norm layers");
}

int main(void)
{
    test_shape_walker();
    test_analytic_tiny_mlp();
    test_analytic_tiny_gpt();
    test_order_and_live_bytes("--model cnn --width 8 --stages 2 --blocks 1 --norm group --micro-batch 2 --iter-size 3");
    test_order_and_live_bytes("--model gpt --vocab 16 --seq 4 --d-model 8 --heads 2 --layers 2 --micro-batch 2 "
                              "--iter-size 3");
    test_measured_peaks();
    test_equivalence();
    test_mean_ragged();
    return CHECK_DONE();
}
