/* tests/test_conv_workspace.c — the engine sizes the convolution workspace
 * (and, with --conv-algo find, times the algorithms) at every batch size its
 * strategies run convolutions at, on the CPU: a backend table that is the
 * cpu backend's with its conv slots wrapped records which batch sizes were
 * sized, found and run. An engine serving full, retain and accumulate with
 * micro-batch 4 and effective batch 10 runs convolutions at 10, 4 and 2:
 * each must be sized before it runs, and every run must get at least the
 * workspace its shape asked for. */
#include "check.h"
#include "test_config.h"
#include "cli.h"
#include "engine.h"
#include "cpu/cpu_backend.h"

#include <stdlib.h>
#include <string.h>

#define MAX_N 64

static struct {
    int sized[MAX_N + 1], found[MAX_N + 1], run[MAX_N + 1];
    int unsized_runs, short_workspace;
} rec;

static int batch_of(const ops_conv_shape *s) { return s->n >= 0 && s->n <= MAX_N ? s->n : 0; }

static size_t rec_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir)
{
    rec.sized[batch_of(s)]++;
    return cpu_backend_i.conv_workspace_bytes(ctx, s, dir);
}

static void rec_run(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, size_t ws_bytes)
{
    rec.run[batch_of(s)]++;
    if (!rec.sized[batch_of(s)]) rec.unsized_runs++;
    if (ws_bytes < cpu_backend_i.conv_workspace_bytes(ctx, s, dir)) rec.short_workspace++;
}

static ops_status rec_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y, void *ws,
                          size_t ws_bytes)
{
    rec_run(ctx, s, OPS_CONV_FWD, ws_bytes);
    return cpu_backend_i.conv2d_fwd(ctx, s, x, w, y, ws, ws_bytes);
}

static ops_status rec_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy, float beta,
                               float *dx, void *ws, size_t ws_bytes)
{
    rec_run(ctx, s, OPS_CONV_BWD_DATA, ws_bytes);
    return cpu_backend_i.conv2d_bwd_data(ctx, s, w, dy, beta, dx, ws, ws_bytes);
}

static ops_status rec_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy, float *dw,
                                 void *ws, size_t ws_bytes)
{
    rec_run(ctx, s, OPS_CONV_BWD_FILTER, ws_bytes);
    return cpu_backend_i.conv2d_bwd_filter(ctx, s, x, dy, dw, ws, ws_bytes);
}

/* a find that only records: the cpu backend has one algorithm */
static ops_status rec_find(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                           void *ws, size_t ws_bytes)
{
    (void)ctx, (void)dir, (void)x, (void)w, (void)y, (void)ws, (void)ws_bytes;
    rec.found[batch_of(s)]++;
    return OPS_OK;
}

static ops_backend_i recording_i;

/* The batch sizes in `want` (0-terminated) and no others were sized (and
 * found, with find); one step of each strategy served runs convolutions
 * only at sized sizes, each with enough workspace. */
static void check_sizes(const char *what, const char *flags, const strategy_kind *strategies, int n_strategies,
                        const int *want, int find)
{
    memset(&rec, 0, sizeof rec);
    run_config c;
    ops_backend b;
    engine e;
    char why[256];
    if (config_from(flags, &c) != 0 || ops_open(&b, "cpu", why, sizeof why) != OPS_OK) {
        CHECK(0, "%s: setup", what);
        return;
    }
    b.i = &recording_i;
    ops_status st = engine_open(&e, &c, &b);
    if (st == OPS_OK) st = engine_prepare(&e, strategies, n_strategies);
    CHECK(st == OPS_OK, "%s: prepare: %s", what, ops_last_error());
    int convs = 0;
    for (int li = 0; li < e.m.n_layers; li++) convs += e.m.layers[li].kind == LAYER_CONV;
    for (int n = 1; n <= MAX_N; n++) {
        int wanted = 0;
        for (const int *w = want; *w; w++) wanted |= *w == n;
        CHECK(!rec.sized[n] == !wanted, "%s: batch %d %s", what, n, wanted ? "not sized" : "sized, never run");
        if (find)
            CHECK(rec.found[n] == (wanted ? convs * OPS_CONV_DIR_COUNT : 0),
                  "%s: batch %d: %d finds, want %d", what, n, rec.found[n], wanted ? convs * OPS_CONV_DIR_COUNT : 0);
    }
    for (int i = 0; i < n_strategies && st == OPS_OK; i++) st = engine_step(&e, strategies[i], 1);
    CHECK(st == OPS_OK, "%s: steps: %s", what, ops_last_error());
    for (const int *w = want; *w; w++) CHECK(rec.run[*w] > 0, "%s: no convolution ran at batch %d", what, *w);
    CHECK(rec.unsized_runs == 0, "%s: %d convolutions ran at a batch size never sized", what, rec.unsized_runs);
    CHECK(rec.short_workspace == 0, "%s: %d convolutions got less workspace than they need", what,
          rec.short_workspace);
    int runs = 0;
    printf("%-44s sized", what);
    for (int n = 1; n <= MAX_N; n++) {
        if (rec.sized[n]) printf(" %d", n);
        runs += rec.run[n];
    }
    printf(" (%d convolutions run)\n", runs);
    engine_close(&e);
    ops_close(&b);
}

int main(void)
{
    recording_i = cpu_backend_i;
    recording_i.conv_workspace_bytes = rec_workspace_bytes;
    recording_i.conv2d_fwd = rec_fwd;
    recording_i.conv2d_bwd_data = rec_bwd_data;
    recording_i.conv2d_bwd_filter = rec_bwd_filter;

    static const char *model = "--model cnn --width 4 --stages 2 --blocks 1 --norm batch";
    char flags[256];
    static const strategy_kind all3[] = {STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE};
    static const strategy_kind full[] = {STRATEGY_FULL}, acc[] = {STRATEGY_ACCUMULATE};
    snprintf(flags, sizeof flags, "%s --micro-batch 4 --effective-batch 10", model);
    check_sizes("all strategies, micro 4, effective 10", flags, all3, 3, (const int[]){10, 4, 2, 0}, 0);
    check_sizes("accumulate, micro 4, effective 10", flags, acc, 1, (const int[]){4, 2, 0}, 0);
    check_sizes("full, micro 4, effective 10", flags, full, 1, (const int[]){10, 0}, 0);
    snprintf(flags, sizeof flags, "%s --micro-batch 4 --effective-batch 8", model);
    check_sizes("all strategies, micro 4, effective 8", flags, all3, 3, (const int[]){8, 4, 0}, 0);

    /* --conv-algo find: timed at every size too */
    recording_i.conv_find = rec_find;
    snprintf(flags, sizeof flags, "%s --micro-batch 4 --effective-batch 10 --conv-algo find", model);
    check_sizes("find, all strategies, micro 4, effective 10", flags, all3, 3, (const int[]){10, 4, 2, 0}, 1);
    return CHECK_DONE();
}
