/* tests/test_recompute.c — --recompute blocks on the CPU backend: the order
 * R_j then B_j seen through the observer, live bytes per block (each
 * recompute brings back exactly one block's inside; after a block's backward
 * live bytes are down by one block input), gradients and BatchNorm running
 * statistics bit-identical to none, and the analytic memory model against a
 * hand-derived tiny mlp and the measured peaks of every model and strategy. */
#include "check.h"
#include "test_config.h"
#include "test_engine.h"

#include <stdlib.h>
#include <string.h>

static const strategy_kind all3[] = {STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE};

/* the CPU backend and an engine for flags (+ --recompute r), prepared for s; 0 ok */
static int open_engine(const char *flags, recompute_kind r, strategy_kind s, ops_backend *b, engine *e)
{
    run_config c;
    if (config_from(flags, &c) != 0) {
        CHECK(0, "%s: bad test flags", flags);
        return -1;
    }
    c.model.recompute = r;
    c.strategy = s;
    return open_prepared(&c, s, b, e, flags);
}

static void close_engine(ops_backend *b, engine *e)
{
    engine_close(e);
    ops_close(b);
}

// ----------------------------------------------------------------------------
// order and live bytes through the observer

#define MAX_SEGMENTS 256

typedef struct {
    int n_seq;
    int seq[MAX_SEGMENTS][2];       /* (phase, micro-batch) runs of ops */
    size_t live, r_start[MAX_SEGMENTS], r_end[MAX_SEGMENTS];
    int n_r, in_r;
} trace;

static void on_op(void *user, const char *op, ops_phase phase, int mb)
{
    (void)op;
    trace *t = user;
    if (t->n_seq && t->seq[t->n_seq - 1][0] == (int)phase && t->seq[t->n_seq - 1][1] == mb) return;
    if (t->n_seq < MAX_SEGMENTS) {
        t->seq[t->n_seq][0] = (int)phase;
        t->seq[t->n_seq][1] = mb;
        t->n_seq++;
    }
}

/* live bytes as each recompute begins (before its first allocation) and as
 * it ends (its last allocation) */
static void on_mem(void *user, size_t live, ops_phase phase, int mb)
{
    (void)mb;
    trace *t = user;
    if (phase == OPS_PHASE_RECOMPUTE && !t->in_r && t->n_r < MAX_SEGMENTS) {
        t->r_start[t->n_r++] = t->live;
        t->in_r = 1;
    }
    if (phase != OPS_PHASE_RECOMPUTE && t->in_r) t->in_r = 0;
    if (phase == OPS_PHASE_RECOMPUTE) t->r_end[t->n_r - 1] = live;
    t->live = live;
}

static void seq_string(const trace *t, char *buf, size_t n)
{
    static const char tag[] = "OFBUR";
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n_seq && used + 8 < n; i++)
        used += (size_t)snprintf(buf + used, n - used, "%s%c%d", i ? " " : "", tag[t->seq[i][0]], t->seq[i][1]);
}

/* the order a step of s with k = 2 micro-batches and nb blocks must have:
 * each micro-batch's backward is its head, then R_j B_j for j = nb-1..0 */
static void want_order(strategy_kind s, int nb, char *buf, size_t n)
{
    size_t used = (size_t)snprintf(buf, n, "O0");
    int order[2][2] = {{1, 2}, {2, 1}};     /* accumulate: F1 B1 F2 B2; retain: F1 F2 B2 B1 */
    for (int i = 0; i < 2; i++) {
        int mb = s == STRATEGY_RETAIN ? order[1][i] : order[0][i];
        if (s == STRATEGY_RETAIN && i == 0) used += (size_t)snprintf(buf + used, n - used, " F1 F2");
        if (s == STRATEGY_ACCUMULATE) used += (size_t)snprintf(buf + used, n - used, " F%d", mb);
        used += (size_t)snprintf(buf + used, n - used, " B%d", mb);
        for (int j = 0; j < nb; j++) used += (size_t)snprintf(buf + used, n - used, " R%d B%d", mb, mb);
    }
    snprintf(buf + used, n - used, " U0");
}

/* blocks of equal shape (mlp, gpt): every recompute brings back the same
 * bytes, the held activations' difference between none and blocks over nb;
 * after each block's backward live bytes are one block input (in_bytes) lower */
static void test_order(const char *flags, int nb, size_t in_bytes, int uniform)
{
    static const strategy_kind two[] = {STRATEGY_RETAIN, STRATEGY_ACCUMULATE};
    for (int si = 0; si < 2; si++) {
        strategy_kind s = two[si];
        ops_backend b;
        engine e;
        if (open_engine(flags, RECOMPUTE_BLOCKS, s, &b, &e) != 0) continue;
        size_t base = b.arena.live_bytes;
        trace *t = calloc(1, sizeof *t);
        if (!t) {
            CHECK(0, "out of host memory");
            close_engine(&b, &e);
            continue;
        }
        t->live = base;
        b.observer = (ops_observer){t, on_op, NULL, on_mem};
        ops_status st = engine_step(&e, s, 1);
        CHECK(st == OPS_OK, "%s %s: step failed: %s", flags, strategy_name(s), status_text(st));
        char got[1024], want[1024];
        seq_string(t, got, sizeof got);
        want_order(s, nb, want, sizeof want);
        printf("%-10s order: %s (%s)\n", strategy_name(s), got, flags);
        CHECK(!strcmp(got, want), "%s %s: order %s, want %s", flags, strategy_name(s), got, want);
        CHECK(t->n_r == 2 * nb, "%s: %d recomputes, want %d", flags, t->n_r, 2 * nb);
        model none = e.m;
        none.cfg.recompute = RECOMPUTE_NONE;
        size_t inside = (model_act_bytes(&none, 2) - model_act_bytes(&e.m, 2)) / (size_t)nb;
        for (int r = 0; uniform && r < t->n_r; r++) {
            CHECK(t->r_end[r] - t->r_start[r] == inside, "%s: recompute %d brought back %zu bytes, want %zu", flags,
                  r, t->r_end[r] - t->r_start[r], inside);
            if (r % nb)
                CHECK(t->r_start[r - 1] - t->r_start[r] == in_bytes,
                      "%s: live bytes between recomputes %d and %d fell by %zu, want one block input %zu", flags,
                      r - 1, r, t->r_start[r - 1] - t->r_start[r], in_bytes);
        }
        CHECK(b.arena.live_bytes == base, "%s: live bytes after the step %zu, before %zu", flags,
              b.arena.live_bytes, base);
        free(t);
        close_engine(&b, &e);
    }
}

// ----------------------------------------------------------------------------
// gradients and running statistics equal none's

/* One step of s without the update; grads and the BatchNorm buffers after it
 * (malloc'd), 0 ok */
static int step_state(const char *flags, recompute_kind r, strategy_kind s, float **grads, float **buffers,
                      size_t *pf, size_t *bf)
{
    ops_backend b;
    engine e;
    if (open_engine(flags, r, s, &b, &e) != 0) return -1;
    *pf = e.m.param_floats;
    *bf = e.m.buffer_floats;
    *grads = malloc(*pf * sizeof(float) + 1);
    *buffers = malloc(*bf * sizeof(float) + 1);
    ops_status st = *grads && *buffers ? engine_step(&e, s, 0) : OPS_ERR_OOM;
    if (st == OPS_OK) st = ops_download(&b, *grads, e.st.grads, *pf * sizeof(float));
    if (st == OPS_OK) st = ops_download(&b, *buffers, e.st.buffers, *bf * sizeof(float));
    CHECK(st == OPS_OK, "%s: step failed: %s", flags, status_text(st));
    close_engine(&b, &e);
    return st == OPS_OK ? 0 : -1;
}

static void test_same_as_none(const char *flags)
{
    for (int si = 0; si < 3; si++) {
        float *g[2] = {NULL, NULL}, *buf[2] = {NULL, NULL};
        size_t pf[2], bf[2];
        int ok = step_state(flags, RECOMPUTE_NONE, all3[si], &g[0], &buf[0], &pf[0], &bf[0]) == 0 &&
                 step_state(flags, RECOMPUTE_BLOCKS, all3[si], &g[1], &buf[1], &pf[1], &bf[1]) == 0;
        if (ok) {
            /* the same ops on the same inputs at one thread count: bit for bit */
            CHECK(!memcmp(g[0], g[1], pf[0] * sizeof(float)), "%s %s: gradients with blocks differ from none",
                  flags, strategy_name(all3[si]));
            CHECK(!memcmp(buf[0], buf[1], bf[0] * sizeof(float)),
                  "%s %s: running statistics with blocks differ from none (updated twice?)", flags,
                  strategy_name(all3[si]));
        }
        for (int i = 0; i < 2; i++) {
            free(g[i]);
            free(buf[i]);
        }
    }
}

// ----------------------------------------------------------------------------
// memory

/* the tracked peak of a second step (the first warms up) and the estimate */
static size_t step_peak(const char *flags, strategy_kind s, size_t *analytic)
{
    ops_backend b;
    engine e;
    *analytic = 0;
    if (open_engine(flags, RECOMPUTE_BLOCKS, s, &b, &e) != 0) return 0;
    ops_status st = engine_step(&e, s, 1);
    if (st == OPS_OK) {
        ops_reset_high_water(&b);
        st = engine_step(&e, s, 1);
    }
    CHECK(st == OPS_OK, "%s %s: step failed: %s", flags, strategy_name(s), status_text(st));
    size_t peak = b.arena.high_water_bytes;
    *analytic = e.estimate.total;
    close_engine(&b, &e);
    return peak;
}

/* mlp D=4, H=3, L=1, m=2, k=3, SGD, every tensor rounded to 256 bytes (see
 * test_strategies' tiny mlp: params, grads, momentum 3 x 1024, ones 256).
 * blocks: layers.0's Linear output is dropped, so A(2) = relu (6), fc (20),
 * probs (20), losses (2) = 4 x 256 = 1024. Backward: dlogits +256 (peak
 * 256), probs and losses -512, fc's dx +256, fc out and grad -512, the
 * recompute of layers.0 +256, relu's dx +256 (back at 0), so the transient is
 * still 256. accumulate: 3072 + 256 + 1024 + 256 = 4608; retain: 3072 + 256
 * + 3 x 1024 + 256 = 6656. */
static void test_analytic_tiny_mlp(void)
{
    static const struct { strategy_kind s; size_t want; } cases[] = {
        {STRATEGY_ACCUMULATE, 4608}, {STRATEGY_RETAIN, 6656}};
    for (size_t i = 0; i < 2; i++) {
        size_t analytic, peak = step_peak("--model mlp --input-dim 4 --hidden 3 --layers 1 --micro-batch 2 "
                                          "--iter-size 3", cases[i].s, &analytic);
        CHECK(analytic == cases[i].want, "tiny mlp %s: analytic %zu, hand-derived %zu", strategy_name(cases[i].s),
              analytic, cases[i].want);
        CHECK(peak == cases[i].want, "tiny mlp %s: measured %zu, hand-derived %zu", strategy_name(cases[i].s), peak,
              cases[i].want);
    }
}

static void test_peaks_equal_analytic(void)
{
    static const char *models[] = {
        "--model mlp --input-dim 40 --hidden 24 --layers 3",
        "--model cnn --width 8 --stages 2 --blocks 2 --norm batch",
        "--model cnn --width 8 --stages 2 --blocks 1 --norm group",
        "--model gpt --vocab 32 --seq 6 --d-model 16 --heads 2 --layers 3",
    };
    static const char *splits[] = {"--micro-batch 3 --iter-size 3", "--micro-batch 4 --effective-batch 10"};
    for (size_t mi = 0; mi < 4; mi++)
        for (size_t sp = 0; sp < 2; sp++)
            for (int si = 0; si < 3; si++) {
                char flags[300];
                snprintf(flags, sizeof flags, "%s %s", models[mi], splits[sp]);
                size_t analytic, peak = step_peak(flags, all3[si], &analytic);
                CHECK(peak == analytic, "%s %s: measured peak %zu, analytic %zu", flags, strategy_name(all3[si]),
                      peak, analytic);
            }
}

int main(void)
{
    /* block inputs: mlp (m, hidden) and gpt (m * seq, d_model) floats, 256-byte aligned */
    test_order("--model mlp --input-dim 12 --hidden 8 --layers 3 --micro-batch 2 --iter-size 2", 3,
               ops_align(2 * 8 * sizeof(float)), 1);
    test_order("--model gpt --vocab 16 --seq 4 --d-model 8 --heads 2 --layers 2 --micro-batch 2 --iter-size 2", 2,
               ops_align(2 * 4 * 8 * sizeof(float)), 1);
    test_order("--model cnn --width 8 --stages 2 --blocks 2 --norm batch --micro-batch 2 --iter-size 2", 4, 0, 0);
    test_same_as_none("--model mlp --input-dim 40 --hidden 24 --layers 3 --micro-batch 3 --iter-size 3");
    test_same_as_none("--model cnn --width 8 --stages 2 --blocks 2 --norm batch --micro-batch 4 --effective-batch 10");
    test_same_as_none("--model cnn --width 8 --stages 2 --blocks 1 --norm group --micro-batch 3 --iter-size 2");
    test_same_as_none("--model gpt --vocab 32 --seq 6 --d-model 16 --heads 2 --layers 3 --micro-batch 3 "
                      "--iter-size 2");
    test_analytic_tiny_mlp();
    test_peaks_equal_analytic();
    return CHECK_DONE();
}
