/* tests/test_cuda_ops.c — every op of the CUDA backend against the CPU
 * reference backend on random inputs, forward and backward (ctest label
 * `gpu`). A value passes when |gpu - cpu| <= atol + rtol * |cpu| (llm.c
 * dev/cuda/common.h); a failing comparison prints its first mismatches and
 * the max difference. Outputs paired with beta == 0 start as NaN on both
 * sides, so an op that reads them fails.
 *
 * Without a usable GPU it prints "skipped: no usable GPU (<reason>); N
 * cases" and exits 77 (ctest SKIP_RETURN_CODE), unless
 * ACCUMBENCH_REQUIRE_GPU=1, which makes that a failure (exit 1).
 * ACCUMBENCH_OPS_TEST_BACKEND=cpu runs the "GPU" side on the CPU backend too:
 * a self-test of this harness only, it checks nothing about CUDA.
 *
 * After the ops, the optional slots that need a device
 * (test_cuda_ops_slots.c, the same executable). */
#include "check.h"
#include "cuda_ops_harness.h"
#include "model.h"
#include "ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

// ----------------------------------------------------------------------------
// harness: one tensor on both backends

static ops_backend gpu_b, cpu_b;
ops_backend *const G = &gpu_b, *const C = &cpu_b;

static uint64_t rng_state = 0x243f6a8885a308d3ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

void die(const char *what)
{
    fprintf(stderr, "test_cuda_ops: %s: %s\n", what, ops_last_error());
    exit(1);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die("out of host memory");
    return p;
}


ten ten_new(size_t n, size_t off)
{
    ten t = {NULL, NULL, NULL, NULL, n};
    size_t bytes = (n + off) * sizeof(float);
    if (ops_alloc(G, bytes, &t.g_base) != OPS_OK) die("gpu alloc");
    if (ops_alloc(C, bytes, &t.c_base) != OPS_OK) die("cpu alloc");
    if (t.g_base) t.g = (float *)t.g_base + off;
    if (t.c_base) t.c = (float *)t.c_base + off;
    return t;
}

static void ten_set(ten *t, const float *h)
{
    if (ops_upload(G, t->g, h, t->n * sizeof(float)) != OPS_OK) die("gpu upload");
    if (ops_upload(C, t->c, h, t->n * sizeof(float)) != OPS_OK) die("cpu upload");
}

/* values uniform in [lo, hi) */
ten ten_rand(size_t n, size_t off, float lo, float hi)
{
    ten t = ten_new(n, off);
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * 0.5f * (frand() + 1.0f);
    ten_set(&t, h);
    free(h);
    return t;
}

ten ten_const(size_t n, size_t off, float v)
{
    ten t = ten_new(n, off);
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = v;
    ten_set(&t, h);
    free(h);
    return t;
}

/* beta == 0 outputs: NaN, which an op that reads them propagates */
static ten ten_out(size_t n, size_t off, float beta) { return beta == 0.0f ? ten_const(n, off, NAN) : ten_rand(n, off, -1, 1); }

/* copy the CPU side's values to the GPU side (e.g. saved statistics) */
static void ten_from_cpu(ten *t)
{
    float *h = xmalloc(t->n * sizeof(float));
    if (ops_download(C, h, t->c, t->n * sizeof(float)) != OPS_OK) die("cpu download");
    if (ops_upload(G, t->g, h, t->n * sizeof(float)) != OPS_OK) die("gpu upload");
    free(h);
}

void ten_free(ten *t)
{
    ops_free(G, t->g_base);
    ops_free(C, t->c_base);
}

typedef struct {
    int32_t *g, *c;
} targets_t;

static targets_t targets_new(int n, int classes)
{
    targets_t t = {NULL, NULL};
    int32_t *h = xmalloc((size_t)n * sizeof *h);
    for (int i = 0; i < n; i++) h[i] = (int32_t)((frand() + 1.0f) * 0.5f * classes) % classes;
    size_t bytes = (size_t)n * sizeof *h;
    if (ops_alloc(G, bytes, (void **)&t.g) != OPS_OK || ops_alloc(C, bytes, (void **)&t.c) != OPS_OK)
        die("targets alloc");
    if (ops_upload(G, t.g, h, bytes) != OPS_OK || ops_upload(C, t.c, h, bytes) != OPS_OK) die("targets upload");
    free(h);
    return t;
}

static void targets_free(targets_t *t)
{
    ops_free(G, t->g);
    ops_free(C, t->c);
}

static double case_max_diff;

/* Downloads both sides and compares. NaN on both sides (untouched padding
 * of a beta == 0 output) counts as equal; NaN on one side never passes. */
static void cmp(const char *what, const ten *t, double atol, double rtol)
{
    float *got = xmalloc(t->n * sizeof(float)), *want = xmalloc(t->n * sizeof(float));
    if (ops_download(G, got, t->g, t->n * sizeof(float)) != OPS_OK) die("gpu download");
    if (ops_download(C, want, t->c, t->n * sizeof(float)) != OPS_OK) die("cpu download");
    size_t bad = 0;
    double max_diff = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        if (isnan(got[i]) && isnan(want[i])) continue;
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= max_diff)) max_diff = d; /* NaN too */
        if (!(d <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: gpu %.9g cpu %.9g\n", what, i, (double)got[i], (double)want[i]);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %zu of %zu mismatches (atol %g, rtol %g), max diff %.3g", what, bad, t->n, atol, rtol,
          max_diff);
    if (!(max_diff <= case_max_diff)) case_max_diff = max_diff;
    free(got);
    free(want);
}

/* Runs the same call on both backends; `call` names the ops_* wrapper, the
 * arguments use GX / CX for the per-backend pointer of a ten. */
#define BOTH(call, gargs, cargs)                                                                   \
    do {                                                                                           \
        ops_status gs_ = call gargs, cs_ = call cargs;                                             \
        CHECK(gs_ == OPS_OK, "%s on the GPU: %d: %s", #call, (int)gs_, ops_last_error());          \
        CHECK(cs_ == OPS_OK, "%s on the CPU: %d: %s", #call, (int)cs_, ops_last_error());          \
    } while (0)

// ----------------------------------------------------------------------------
// GEMM (cuBLAS): atol 1e-4, rtol 1e-4 (fp32, no TF32; k <= 300, inputs in [-1, 1))

void run_gemm(const ops_gemm_desc *d, const char *what)
{
    size_t rows_a = (size_t)(d->trans_a ? d->k : d->m), rows_b = (size_t)(d->trans_b ? d->n : d->k);
    ten a = ten_rand(rows_a * d->lda, 0, -1, 1), b = ten_rand(rows_b * d->ldb, 0, -1, 1);
    ten c = ten_out((size_t)d->m * d->ldc, 0, d->beta);
    BOTH(ops_gemm, (G, d, a.g, b.g, c.g), (C, d, a.c, b.c, c.c));
    cmp(what, &c, 1e-4, 1e-4);
    ten_free(&c);
    ten_free(&b);
    ten_free(&a);
}

static void case_gemm(void)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                int m = 37, n = 29, k = 64, pad = 3;
                ops_gemm_desc d = {ta, tb, m, n, k, (ta ? m : k) + pad, (tb ? k : n) + pad, n + pad,
                                   bi ? 1.0f : 0.5f, bi ? 1.0f : 0.0f};
                char what[48];
                snprintf(what, sizeof what, "gemm T%d%d beta %g", ta, tb, (double)d.beta);
                run_gemm(&d, what);
            }
}

static void case_gemm_model(void)
{
    model_config cfg = {MODEL_MLP, 300, 70, 2, 0, 0, 0, NORM_NONE, 0, 0, 0, 0, RECOMPUTE_NONE};
    ops_gemm_desc d[64];
    size_t n = model_gemm_descs(&cfg, 5, d, 64);
    CHECK(n > 0 && n <= 64, "%zu gemms", n);
    for (size_t i = 0; i < n && i < 64; i++) {
        char what[48];
        snprintf(what, sizeof what, "mlp gemm %zu", i);
        run_gemm(&d[i], what);
    }
}

// ----------------------------------------------------------------------------
// convolutions (cuDNN): atol 2e-3, rtol 1e-3 (sums of up to 3*32*32 products
// of values in [-1, 1); cuDNN may pick Winograd/FFT, exact only to ~1e-5 rel.)

#define CONV_ATOL 2e-3
#define CONV_RTOL 1e-3

const ops_conv_shape *conv_shapes(size_t *count)
{
    static ops_conv_shape s[5];
    s[0] = ops_conv_make(3, 3, 32, 32, 8, 3, 1, 1);  /* stem */
    s[1] = ops_conv_make(2, 8, 16, 16, 16, 3, 2, 1); /* first conv of a stage */
    s[2] = ops_conv_make(2, 8, 16, 16, 16, 1, 2, 0); /* projection */
    s[3] = ops_conv_make(1, 16, 8, 8, 16, 3, 1, 1);
    s[4] = ops_conv_make(32, 16, 8, 8, 32, 3, 1, 1);
    *count = 5;
    return s;
}

typedef struct {
    void *g, *c;
    size_t g_bytes, c_bytes;
} workspace;

static workspace ws_new(const ops_conv_shape *s, ops_conv_dir dir)
{
    workspace w = {NULL, NULL, ops_conv_workspace_bytes(G, s, dir), ops_conv_workspace_bytes(C, s, dir)};
    if (ops_alloc(G, w.g_bytes, &w.g) != OPS_OK || ops_alloc(C, w.c_bytes, &w.c) != OPS_OK) die("workspace");
    return w;
}

static void ws_free(workspace *w)
{
    ops_free(G, w->g);
    ops_free(C, w->c);
}

size_t xsize(const ops_conv_shape *s) { return (size_t)s->n * s->c * s->h * s->w; }
size_t ysize(const ops_conv_shape *s) { return (size_t)s->n * s->k * s->p * s->q; }
size_t wsize(const ops_conv_shape *s) { return (size_t)s->k * s->c * s->r * s->r; }

void case_conv2d_fwd(void)
{
    size_t n;
    const ops_conv_shape *shapes = conv_shapes(&n);
    for (size_t i = 0; i < n; i++) {
        const ops_conv_shape *s = &shapes[i];
        ten x = ten_rand(xsize(s), 0, -1, 1), w = ten_rand(wsize(s), 0, -1, 1), y = ten_out(ysize(s), 0, 0.0f);
        workspace ws = ws_new(s, OPS_CONV_FWD);
        BOTH(ops_conv2d_fwd, (G, s, x.g, w.g, y.g, ws.g, ws.g_bytes), (C, s, x.c, w.c, y.c, ws.c, ws.c_bytes));
        char what[48];
        snprintf(what, sizeof what, "conv fwd shape %zu", i);
        cmp(what, &y, CONV_ATOL, CONV_RTOL);
        ws_free(&ws);
        ten_free(&y);
        ten_free(&w);
        ten_free(&x);
    }
}

void case_conv2d_bwd_data(void)
{
    size_t n;
    const ops_conv_shape *shapes = conv_shapes(&n);
    for (size_t i = 0; i < n; i++)
        for (int bi = 0; bi < 2; bi++) {
            const ops_conv_shape *s = &shapes[i];
            float beta = (float)bi;
            ten w = ten_rand(wsize(s), 0, -1, 1), dy = ten_rand(ysize(s), 0, -1, 1), dx = ten_out(xsize(s), 0, beta);
            workspace ws = ws_new(s, OPS_CONV_BWD_DATA);
            BOTH(ops_conv2d_bwd_data, (G, s, w.g, dy.g, beta, dx.g, ws.g, ws.g_bytes),
                 (C, s, w.c, dy.c, beta, dx.c, ws.c, ws.c_bytes));
            char what[48];
            snprintf(what, sizeof what, "conv bwd data shape %zu beta %d", i, bi);
            cmp(what, &dx, CONV_ATOL, CONV_RTOL);
            ws_free(&ws);
            ten_free(&dx);
            ten_free(&dy);
            ten_free(&w);
        }
}

void case_conv2d_bwd_filter(void)
{
    size_t n;
    const ops_conv_shape *shapes = conv_shapes(&n);
    for (size_t i = 0; i < n; i++) {
        const ops_conv_shape *s = &shapes[i];
        /* dw starts non-zero: the filter gradient is added into */
        ten x = ten_rand(xsize(s), 0, -1, 1), dy = ten_rand(ysize(s), 0, -1, 1), dw = ten_rand(wsize(s), 0, -1, 1);
        workspace ws = ws_new(s, OPS_CONV_BWD_FILTER);
        BOTH(ops_conv2d_bwd_filter, (G, s, x.g, dy.g, dw.g, ws.g, ws.g_bytes),
             (C, s, x.c, dy.c, dw.c, ws.c, ws.c_bytes));
        char what[48];
        snprintf(what, sizeof what, "conv bwd filter shape %zu", i);
        cmp(what, &dw, CONV_ATOL, CONV_RTOL);
        ws_free(&ws);
        ten_free(&dw);
        ten_free(&dy);
        ten_free(&x);
    }
}

// ----------------------------------------------------------------------------
// normalisation: forward atol 1e-4, rtol 1e-4; dx atol 1e-4, rtol 1e-3;
// dgamma/dbias (sums over n*hw values) atol 1e-3, rtol 1e-4. The CPU
// accumulates in double, the GPU in float.

static const ops_norm_shape *norm_shapes(size_t *count, int group)
{
    static ops_norm_shape s[4];
    s[0] = (ops_norm_shape){4, 16, 64, group ? 8 : 1, 1e-5f, 0.1f};
    s[1] = (ops_norm_shape){2, 8, 1, group ? 8 : 1, 1e-5f, 0.1f};       /* n*hw = 2, one channel per group */
    s[2] = (ops_norm_shape){3, 32, 256, group ? 8 : 1, 1e-5f, 0.1f};
    s[3] = (ops_norm_shape){32, 64, 16, group ? 8 : 1, 1e-5f, 0.1f};
    *count = 4;
    return s;
}

static size_t stat_size(const ops_norm_shape *s, int group) { return group ? (size_t)s->n * s->groups : (size_t)s->c; }

static void case_batchnorm_fwd(void)
{
    size_t n;
    const ops_norm_shape *shapes = norm_shapes(&n, 0);
    for (size_t i = 0; i < n; i++) {
        const ops_norm_shape *s = &shapes[i];
        size_t len = (size_t)s->n * s->c * s->hw;
        ten x = ten_rand(len, 0, -1.5f, 2.5f), gamma = ten_rand((size_t)s->c, 0, 0.5f, 1.5f);
        ten bias = ten_rand((size_t)s->c, 0, -1, 1), y = ten_out(len, 0, 0.0f);
        ten rm = ten_rand((size_t)s->c, 0, -1, 1), rv = ten_rand((size_t)s->c, 0, 0.5f, 1.5f);
        ten sm = ten_out((size_t)s->c, 0, 0.0f), si = ten_out((size_t)s->c, 0, 0.0f);
        BOTH(ops_batchnorm_fwd, (G, s, x.g, gamma.g, bias.g, y.g, rm.g, rv.g, sm.g, si.g),
             (C, s, x.c, gamma.c, bias.c, y.c, rm.c, rv.c, sm.c, si.c));
        cmp("bn y", &y, 1e-4, 1e-4);
        cmp("bn running_mean", &rm, 1e-4, 1e-4);
        cmp("bn running_var", &rv, 1e-4, 1e-4);
        cmp("bn save_mean", &sm, 1e-4, 1e-4);
        cmp("bn save_invstd", &si, 1e-4, 1e-4);
        ten_free(&si);
        ten_free(&sm);
        ten_free(&rv);
        ten_free(&rm);
        ten_free(&y);
        ten_free(&bias);
        ten_free(&gamma);
        ten_free(&x);
    }
}

static void case_groupnorm_fwd(void)
{
    size_t n;
    const ops_norm_shape *shapes = norm_shapes(&n, 1);
    for (size_t i = 0; i < n; i++) {
        const ops_norm_shape *s = &shapes[i];
        size_t len = (size_t)s->n * s->c * s->hw, ns = stat_size(s, 1);
        ten x = ten_rand(len, 0, -1.5f, 2.5f), gamma = ten_rand((size_t)s->c, 0, 0.5f, 1.5f);
        ten bias = ten_rand((size_t)s->c, 0, -1, 1), y = ten_out(len, 0, 0.0f);
        ten sm = ten_out(ns, 0, 0.0f), sr = ten_out(ns, 0, 0.0f);
        BOTH(ops_groupnorm_fwd, (G, s, x.g, gamma.g, bias.g, y.g, sm.g, sr.g),
             (C, s, x.c, gamma.c, bias.c, y.c, sm.c, sr.c));
        cmp("gn y", &y, 1e-4, 1e-4);
        cmp("gn save_mean", &sm, 1e-4, 1e-4);
        cmp("gn save_rstd", &sr, 1e-4, 1e-4);
        ten_free(&sr);
        ten_free(&sm);
        ten_free(&y);
        ten_free(&bias);
        ten_free(&gamma);
        ten_free(&x);
    }
}

/* Inputs of a norm backward: random x, dy, gamma, and the saved statistics
 * of the CPU's forward, copied to the GPU side so that the backward is
 * compared alone. */
typedef struct {
    ten x, dy, gamma, bias, y, rm, rv, sm, sr;
    size_t len, c;
} norm_io;

static void norm_io_new(norm_io *io, const ops_norm_shape *s, int group)
{
    io->len = (size_t)s->n * s->c * s->hw;
    io->c = (size_t)s->c;
    size_t ns = stat_size(s, group);
    io->x = ten_rand(io->len, 0, -1.5f, 2.5f);
    io->dy = ten_rand(io->len, 0, -1, 1);
    io->gamma = ten_rand(io->c, 0, 0.5f, 1.5f);
    io->bias = ten_rand(io->c, 0, -1, 1);
    io->y = ten_new(io->len, 0);
    io->rm = ten_const(io->c, 0, 0.0f);
    io->rv = ten_const(io->c, 0, 1.0f);
    io->sm = ten_new(ns, 0);
    io->sr = ten_new(ns, 0);
    ops_status st = group ? ops_groupnorm_fwd(C, s, io->x.c, io->gamma.c, io->bias.c, io->y.c, io->sm.c, io->sr.c)
                          : ops_batchnorm_fwd(C, s, io->x.c, io->gamma.c, io->bias.c, io->y.c, io->rm.c, io->rv.c,
                                              io->sm.c, io->sr.c);
    CHECK(st == OPS_OK, "cpu norm fwd: %s", ops_last_error());
    ten_from_cpu(&io->sm);
    ten_from_cpu(&io->sr);
}

static void norm_io_free(norm_io *io)
{
    ten *t[] = {&io->sr, &io->sm, &io->rv, &io->rm, &io->y, &io->bias, &io->gamma, &io->dy, &io->x};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) ten_free(t[i]);
}

static ops_status norm_bwd_on(ops_backend *b, const ops_norm_shape *s, int group, const norm_io *io, float beta,
                              float *dx, float *dg, float *db)
{
    int gpu = b == G;
    const float *x = gpu ? io->x.g : io->x.c, *dy = gpu ? io->dy.g : io->dy.c;
    const float *gamma = gpu ? io->gamma.g : io->gamma.c, *sm = gpu ? io->sm.g : io->sm.c;
    const float *sr = gpu ? io->sr.g : io->sr.c;
    return group ? ops_groupnorm_bwd(b, s, x, dy, gamma, sm, sr, beta, dx, dg, db)
                 : ops_batchnorm_bwd(b, s, x, dy, gamma, sm, sr, beta, dx, dg, db);
}

static void norm_bwd(int group)
{
    size_t n;
    const ops_norm_shape *shapes = norm_shapes(&n, group);
    for (size_t i = 0; i < n; i++)
        for (int bi = 0; bi < 2; bi++) {
            const ops_norm_shape *s = &shapes[i];
            float beta = (float)bi;
            norm_io io;
            norm_io_new(&io, s, group);
            /* dgamma and dbias start non-zero: they are added into */
            ten dx = ten_out(io.len, 0, beta), dg = ten_rand(io.c, 0, -1, 1), db = ten_rand(io.c, 0, -1, 1);
            ops_status gs = norm_bwd_on(G, s, group, &io, beta, dx.g, dg.g, db.g);
            ops_status cs = norm_bwd_on(C, s, group, &io, beta, dx.c, dg.c, db.c);
            CHECK(gs == OPS_OK && cs == OPS_OK, "norm bwd: %d %d: %s", (int)gs, (int)cs, ops_last_error());
            char what[48];
            snprintf(what, sizeof what, "%s dx shape %zu beta %d", group ? "gn" : "bn", i, bi);
            cmp(what, &dx, 1e-4, 1e-3);
            snprintf(what, sizeof what, "%s dgamma shape %zu", group ? "gn" : "bn", i);
            cmp(what, &dg, 1e-3, 1e-4);
            snprintf(what, sizeof what, "%s dbias shape %zu", group ? "gn" : "bn", i);
            cmp(what, &db, 1e-3, 1e-4);
            ten_free(&db);
            ten_free(&dg);
            ten_free(&dx);
            norm_io_free(&io);
        }
}

static void case_batchnorm_bwd(void) { norm_bwd(0); }
static void case_groupnorm_bwd(void) { norm_bwd(1); }

/* GroupNorm's reductions have a fixed order and no atomics: two GPU runs
 * from the same inputs agree bit for bit (dx, dgamma, dbias). */
static void case_groupnorm_bwd_deterministic(void)
{
    size_t n;
    const ops_norm_shape *shapes = norm_shapes(&n, 1);
    for (size_t i = 0; i < n; i++) {
        const ops_norm_shape *s = &shapes[i];
        norm_io io;
        norm_io_new(&io, s, 1);
        size_t len = io.len, c = io.c, total = len + 2 * c;
        ten dx = ten_new(len, 0), dg = ten_new(c, 0), db = ten_new(c, 0);
        float *start = xmalloc(total * sizeof(float)), *run[2];
        for (size_t e = 0; e < total; e++) start[e] = 0.25f;
        for (int r = 0; r < 2; r++) {
            run[r] = xmalloc(total * sizeof(float));
            if (ops_upload(G, dx.g, start, len * sizeof(float)) != OPS_OK ||
                ops_upload(G, dg.g, start + len, c * sizeof(float)) != OPS_OK ||
                ops_upload(G, db.g, start + len + c, c * sizeof(float)) != OPS_OK)
                die("gpu upload");
            ops_status st = norm_bwd_on(G, s, 1, &io, 1.0f, dx.g, dg.g, db.g);
            CHECK(st == OPS_OK, "gn bwd: %s", ops_last_error());
            if (ops_download(G, run[r], dx.g, len * sizeof(float)) != OPS_OK ||
                ops_download(G, run[r] + len, dg.g, c * sizeof(float)) != OPS_OK ||
                ops_download(G, run[r] + len + c, db.g, c * sizeof(float)) != OPS_OK)
                die("gpu download");
        }
        CHECK(memcmp(run[0], run[1], total * sizeof(float)) == 0, "gn bwd shape %zu: two identical runs differ", i);
        free(run[0]);
        free(run[1]);
        free(start);
        ten_free(&db);
        ten_free(&dg);
        ten_free(&dx);
        norm_io_free(&io);
    }
}

/* GroupNorm's parameter pass split over (channel, chunk of samples) at
 * ResNet widths and n = 128, its partials in the library workspace: against
 * the CPU, bitwise equal over two runs, and close to the single-chunk path
 * (no workspace). dgamma/dbias are sums of n*hw terms |dy * xhat| < ~4 in
 * float against the CPU's double: atol = 1e-6 * n*hw covers a float sum's
 * error (eps * sum|terms|, eps = 6e-8, sum|terms| <= 4 n*hw) with a factor 4
 * for the sequential parts of the per-thread loops. */
static void gn_bwd_gpu(const ops_norm_shape *s, const norm_io *io, float *host)
{
    ten dx = ten_new(io->len, 0), dg = ten_const(io->c, 0, 0.25f), db = ten_const(io->c, 0, -0.25f);
    ops_status st = norm_bwd_on(G, s, 1, io, 0.0f, dx.g, dg.g, db.g);
    CHECK(st == OPS_OK, "gn bwd: %s", ops_last_error());
    if (ops_download(G, host, dx.g, io->len * sizeof(float)) != OPS_OK ||
        ops_download(G, host + io->len, dg.g, io->c * sizeof(float)) != OPS_OK ||
        ops_download(G, host + io->len + io->c, db.g, io->c * sizeof(float)) != OPS_OK)
        die("gpu download");
    ten_free(&db);
    ten_free(&dg);
    ten_free(&dx);
}

static void case_groupnorm_bwd_chunked(void)
{
    static const ops_norm_shape shapes[] = {
        {128, 64, 1024, 8, 1e-5f, 0.1f},   /* ResNet-18 (CIFAR) stage 1: 64 channels at 32x32 */
        {128, 128, 256, 8, 1e-5f, 0.1f},
        {128, 512, 16, 8, 1e-5f, 0.1f},    /* stage 4: 512 channels at 4x4 */
        {3, 32, 256, 8, 1e-5f, 0.1f},      /* fewer samples than chunks would want */
    };
    size_t lib = ops_library_workspace_bytes(G);
    void *ws = NULL;
    if (lib && ops_alloc(G, lib, &ws) != OPS_OK) die("library workspace alloc");
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        const ops_norm_shape *s = &shapes[i];
        norm_io io;
        norm_io_new(&io, s, 1);
        size_t total = io.len + 2 * io.c;
        float *chunked[2], *single = xmalloc(total * sizeof(float));
        if (ops_set_library_workspace(G, ws, lib) != OPS_OK) die("set library workspace");
        for (int r = 0; r < 2; r++) {
            chunked[r] = xmalloc(total * sizeof(float));
            gn_bwd_gpu(s, &io, chunked[r]);
        }
        if (ops_set_library_workspace(G, NULL, 0) != OPS_OK) die("detach library workspace");
        gn_bwd_gpu(s, &io, single);
        CHECK(memcmp(chunked[0], chunked[1], total * sizeof(float)) == 0, "gn shape %zu: two chunked runs differ", i);
        /* the CPU reference, from the same starting gradients */
        ten dx = ten_new(io.len, 0), dg = ten_const(io.c, 0, 0.25f), db = ten_const(io.c, 0, -0.25f);
        CHECK(norm_bwd_on(C, s, 1, &io, 0.0f, dx.c, dg.c, db.c) == OPS_OK, "cpu gn bwd: %s", ops_last_error());
        if (ops_upload(G, dx.g, chunked[0], io.len * sizeof(float)) != OPS_OK ||
            ops_upload(G, dg.g, chunked[0] + io.len, io.c * sizeof(float)) != OPS_OK ||
            ops_upload(G, db.g, chunked[0] + io.len + io.c, io.c * sizeof(float)) != OPS_OK)
            die("gpu upload");
        double atol = 1e-6 * (double)s->n * s->hw;
        char what[64];
        snprintf(what, sizeof what, "gn chunked dx shape %zu", i);
        cmp(what, &dx, 1e-4, 1e-3);
        snprintf(what, sizeof what, "gn chunked dgamma shape %zu", i);
        cmp(what, &dg, atol, 1e-4);
        snprintf(what, sizeof what, "gn chunked dbias shape %zu", i);
        cmp(what, &db, atol, 1e-4);
        double worst = 0;
        for (size_t e = io.len; e < total; e++) worst = fmax(worst, fabs((double)chunked[0][e] - single[e]));
        CHECK(worst <= atol, "gn shape %zu: chunked and single-chunk parameter gradients differ by %.3g > %.3g", i,
              worst, atol);
        CHECK(memcmp(chunked[0], single, io.len * sizeof(float)) == 0, "gn shape %zu: dx depends on the chunks", i);
        free(chunked[0]);
        free(chunked[1]);
        free(single);
        ten_free(&db);
        ten_free(&dg);
        ten_free(&dx);
        norm_io_free(&io);
    }
    ops_free(G, ws);
}

// ----------------------------------------------------------------------------
// element-wise: exact ops compare with atol = rtol = 0; axpy and the
// optimizers allow 1e-6 (the GPU contracts a*b+c into one FMA)

static const size_t ew_sizes[] = {0, 1, 5, 1001, 1000003};
#define N_EW_SIZES (sizeof ew_sizes / sizeof ew_sizes[0])

static void case_relu_fwd(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            ten x = ten_rand(ew_sizes[i], off, -1, 1), y = ten_out(ew_sizes[i], 1 - off, 0.0f);
            BOTH(ops_relu_fwd, (G, x.n, x.g, y.g), (C, x.n, x.c, y.c));
            cmp("relu_fwd", &y, 0, 0);
            ten_free(&y);
            ten_free(&x);
        }
}

static void case_relu_bwd(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (int bi = 0; bi < 2; bi++) {
            size_t n = ew_sizes[i], off = (size_t)bi;
            float *h = xmalloc(n * sizeof(float));
            for (size_t e = 0; e < n; e++) h[e] = frand() > 0.0f ? 0.5f * (frand() + 1.0f) : 0.0f;
            ten y = ten_new(n, 0);
            ten_set(&y, h);
            free(h);
            ten dy = ten_rand(n, off, -1, 1), dx = ten_out(n, 0, (float)bi);
            BOTH(ops_relu_bwd, (G, n, y.g, dy.g, (float)bi, dx.g), (C, n, y.c, dy.c, (float)bi, dx.c));
            cmp("relu_bwd", &dx, 0, 0);
            ten_free(&dx);
            ten_free(&dy);
            ten_free(&y);
        }
}

static void case_add(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            size_t n = ew_sizes[i];
            ten a = ten_rand(n, off, -1, 1), b = ten_rand(n, 0, -1, 1), y = ten_out(n, 0, 0.0f);
            BOTH(ops_add, (G, n, a.g, b.g, y.g), (C, n, a.c, b.c, y.c));
            cmp("add", &y, 0, 0);
            ten_free(&y);
            ten_free(&b);
            ten_free(&a);
        }
}

static void case_fill(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            ten x = ten_out(ew_sizes[i], off, 0.0f);
            BOTH(ops_fill, (G, x.n, x.g, 3.5f), (C, x.n, x.c, 3.5f));
            cmp("fill", &x, 0, 0);
            ten_free(&x);
        }
}

static void case_scale(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            ten x = ten_rand(ew_sizes[i], off, -1, 1);
            BOTH(ops_scale, (G, x.n, x.g, -0.37f), (C, x.n, x.c, -0.37f));
            cmp("scale", &x, 0, 0);
            ten_free(&x);
        }
}

static void case_axpy(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            size_t n = ew_sizes[i];
            ten x = ten_rand(n, off, -1, 1), y = ten_rand(n, 0, -1, 1);
            BOTH(ops_axpy, (G, n, 0.7f, x.g, y.g), (C, n, 0.7f, x.c, y.c));
            cmp("axpy", &y, 1e-6, 1e-6);
            ten_free(&y);
            ten_free(&x);
        }
}

static void case_copy(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            size_t n = ew_sizes[i];
            ten x = ten_rand(n, off, -1, 1), y = ten_out(n, 0, 0.0f);
            BOTH(ops_copy, (G, n, x.g, y.g), (C, n, x.c, y.c));
            cmp("copy", &y, 0, 0);
            ten_free(&y);
            ten_free(&x);
        }
}

static void case_sgd_step(void)
{
    ops_sgd_hparams h = {0.01f, 0.9f, 5e-4f};
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            size_t n = ew_sizes[i];
            ten p = ten_rand(n, off, -1, 1), buf = ten_const(n, 0, 0.0f);
            for (int step = 0; step < 3; step++) {
                ten g = ten_rand(n, 0, -1, 1);
                BOTH(ops_sgd_step, (G, n, p.g, g.g, buf.g, &h), (C, n, p.c, g.c, buf.c, &h));
                ten_free(&g);
            }
            cmp("sgd param", &p, 1e-6, 1e-6);
            cmp("sgd momentum", &buf, 1e-6, 1e-6);
            ten_free(&buf);
            ten_free(&p);
        }
}

static void case_adamw_step(void)
{
    for (size_t i = 0; i < N_EW_SIZES; i++)
        for (size_t off = 0; off < 2; off++) {
            size_t n = ew_sizes[i];
            ten p = ten_rand(n, off, -1, 1), m = ten_const(n, 0, 0.0f), v = ten_const(n, off, 0.0f);
            for (int t = 1; t <= 3; t++) {
                ops_adamw_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, t};
                ten g = ten_rand(n, 0, -1, 1);
                BOTH(ops_adamw_step, (G, n, p.g, g.g, m.g, v.g, &h), (C, n, p.c, g.c, m.c, v.c, &h));
                ten_free(&g);
            }
            cmp("adamw param", &p, 1e-6, 1e-5);
            cmp("adamw m", &m, 1e-6, 1e-5);
            cmp("adamw v", &v, 1e-7, 1e-5);
            ten_free(&v);
            ten_free(&m);
            ten_free(&p);
        }
}

// ----------------------------------------------------------------------------
// pooling and loss: atol 1e-5, rtol 1e-5

static void case_avgpool_fwd(void)
{
    static const int shapes[][3] = {{3, 16, 64}, {2, 5, 1}, {1, 3, 1000}, {32, 128, 16}};
    for (size_t i = 0; i < 4; i++) {
        int n = shapes[i][0], c = shapes[i][1], hw = shapes[i][2];
        ten x = ten_rand((size_t)n * c * hw, 0, -1, 1), y = ten_out((size_t)n * c, 0, 0.0f);
        BOTH(ops_avgpool_fwd, (G, n, c, hw, x.g, y.g), (C, n, c, hw, x.c, y.c));
        cmp("avgpool_fwd", &y, 1e-5, 1e-5);
        ten_free(&y);
        ten_free(&x);
    }
}

static void case_avgpool_bwd(void)
{
    static const int shapes[][3] = {{3, 16, 64}, {2, 5, 1}, {1, 3, 1000}, {32, 128, 16}};
    for (size_t i = 0; i < 4; i++)
        for (int bi = 0; bi < 2; bi++) {
            int n = shapes[i][0], c = shapes[i][1], hw = shapes[i][2];
            ten dy = ten_rand((size_t)n * c, 0, -1, 1), dx = ten_out((size_t)n * c * hw, 0, (float)bi);
            BOTH(ops_avgpool_bwd, (G, n, c, hw, dy.g, (float)bi, dx.g), (C, n, c, hw, dy.c, (float)bi, dx.c));
            cmp("avgpool_bwd", &dx, 1e-5, 1e-5);
            ten_free(&dx);
            ten_free(&dy);
        }
}

static void case_softmax_xent_fwd(void)
{
    static const int sizes[][2] = {{37, 10}, {1, 10}, {256, 10}, {5, 3}};
    for (size_t i = 0; i < 4; i++) {
        int n = sizes[i][0], k = sizes[i][1];
        ten logits = ten_rand((size_t)n * k, 0, -5, 5), probs = ten_out((size_t)n * k, 0, 0.0f);
        ten losses = ten_out((size_t)n, 0, 0.0f);
        targets_t t = targets_new(n, k);
        BOTH(ops_softmax_xent_fwd, (G, n, k, logits.g, t.g, probs.g, losses.g),
             (C, n, k, logits.c, t.c, probs.c, losses.c));
        cmp("softmax probs", &probs, 1e-6, 1e-5);
        cmp("softmax losses", &losses, 1e-5, 1e-5);
        targets_free(&t);
        ten_free(&losses);
        ten_free(&probs);
        ten_free(&logits);
    }
}

static void case_softmax_xent_bwd(void)
{
    static const int sizes[][2] = {{37, 10}, {1, 10}, {256, 10}, {5, 3}};
    for (size_t i = 0; i < 4; i++) {
        int n = sizes[i][0], k = sizes[i][1];
        ten probs = ten_rand((size_t)n * k, 0, 0, 1), d = ten_out((size_t)n * k, 0, 0.0f);
        targets_t t = targets_new(n, k);
        float scale = 1.0f / (float)n;
        BOTH(ops_softmax_xent_bwd, (G, n, k, probs.g, t.g, scale, d.g), (C, n, k, probs.c, t.c, scale, d.c));
        cmp("softmax dlogits", &d, 0, 0);
        targets_free(&t);
        ten_free(&d);
        ten_free(&probs);
    }
}

// ----------------------------------------------------------------------------

static const op_case cases[] = {
    {"gemm", case_gemm},
    {"gemm (mlp forward+backward)", case_gemm_model},
    {"conv2d_fwd", case_conv2d_fwd},
    {"conv2d_bwd_data", case_conv2d_bwd_data},
    {"conv2d_bwd_filter", case_conv2d_bwd_filter},
    {"batchnorm_fwd", case_batchnorm_fwd},
    {"batchnorm_bwd", case_batchnorm_bwd},
    {"groupnorm_fwd", case_groupnorm_fwd},
    {"groupnorm_bwd", case_groupnorm_bwd},
    {"groupnorm_bwd (deterministic)", case_groupnorm_bwd_deterministic},
    {"groupnorm_bwd (chunked, n = 128)", case_groupnorm_bwd_chunked},
    {"relu_fwd", case_relu_fwd},
    {"relu_bwd", case_relu_bwd},
    {"add", case_add},
    {"avgpool_fwd", case_avgpool_fwd},
    {"avgpool_bwd", case_avgpool_bwd},
    {"softmax_xent_fwd", case_softmax_xent_fwd},
    {"softmax_xent_bwd", case_softmax_xent_bwd},
    {"sgd_step", case_sgd_step},
    {"adamw_step", case_adamw_step},
    {"fill", case_fill},
    {"scale", case_scale},
    {"axpy", case_axpy},
    {"copy", case_copy},
};
#define N_OP_CASES ((int)(sizeof cases / sizeof cases[0]))
#define N_CASES (N_OP_CASES + N_SLOT_CASES)

int main(void)
{
    const char *req = getenv("ACCUMBENCH_REQUIRE_GPU");
    int require = req && strcmp(req, "1") == 0;
    const char *side = getenv("ACCUMBENCH_OPS_TEST_BACKEND");
    if (!side || !side[0]) side = "cuda";
    char why[256] = "";
    ops_status st = ops_open(G, side, why, sizeof why);
    if (st != OPS_OK) {
        if (require) {
            fprintf(stderr, "test_cuda_ops: ACCUMBENCH_REQUIRE_GPU=1 but no usable GPU (%s); %d cases not run\n",
                    why[0] ? why : ops_last_error(), N_CASES);
            return 1;
        }
        printf("skipped: no usable GPU (%s); %d cases\n", why[0] ? why : ops_last_error(), N_CASES);
        return 77;
    }
    if (strcmp(side, "cuda") != 0) printf("note: '%s' stands in for the GPU: a self-test of the harness only\n", side);
    if (ops_open(C, "cpu", why, sizeof why) != OPS_OK) die("cpu backend");
    /* one reservation on both sides: the device-memory case counts it;
     * the pool has its own case */
    if (ops_set_allocator(G, OPS_ALLOCATOR_ARENA) != OPS_OK) die("arena allocator");
    const size_t reserve = (size_t)512 << 20;
    if (ops_reserve(G, reserve, reserve) != OPS_OK) die("gpu reserve");
    if (ops_reserve(C, reserve, reserve) != OPS_OK) die("cpu reserve");

    int failed_cases = 0;
    for (int i = 0; i < N_CASES; i++) {
        const op_case *oc = i < N_OP_CASES ? &cases[i] : &slot_cases[i - N_OP_CASES];
        int before = check_failures + slot_check_failures();
        case_max_diff = 0.0;
        oc->run();
        CHECK(G->arena.live_bytes == 0 && C->arena.live_bytes == 0, "%s leaked %zu / %zu bytes", oc->name,
              G->arena.live_bytes, C->arena.live_bytes);
        int ok = check_failures + slot_check_failures() == before;
        failed_cases += !ok;
        printf("%s %-32s max diff %.3g\n", ok ? "ok  " : "FAIL", oc->name, case_max_diff);
    }
    printf("%d of %d cases passed\n", N_CASES - failed_cases, N_CASES);
    ops_close(G);
    ops_close(C);
    return failed_cases ? 1 : CHECK_DONE();
}
