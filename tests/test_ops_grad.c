/* tests/test_ops_grad.c — every op of ops.h on the CPU backend against
 * references written here, through the public ops_* wrappers:
 * - forward ops against naive double-precision loops;
 * - backward ops against central finite differences of those double
 *   references, on the objective L = sum(y * r) with random r (so the
 *   backward op gets dy = r), or L = scale * sum(losses) for the loss;
 * - beta == 0 outputs pre-filled with NaN (proves they are not read),
 *   beta == 1 outputs pre-filled with d0 (want d0 + grad), parameter
 *   gradients pre-filled and called twice (want g0 + 2 grad: they add);
 * - running statistics against PyTorch's BatchNorm2d formula, SGD and AdamW
 *   against torch.optim's update rules written out in double and against
 *   two steps worked by hand.
 *
 * Tolerances: every check is |got - want| <= atol + rtol*|want| with want in
 * double. The CPU backend computes in float32 (reductions in double), so its
 * error is a few float roundings of O(1) values, ~1e-6; a wrong index or
 * formula errs by O(0.1). Central differences in double with h = 1e-4 are
 * exact for the linear ops and off by ~h^2 = 1e-8 relative for the others,
 * so they add nothing visible at float precision. */
#include "check.h"
#include "fd.h"
#include "ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* float32 results of sums over up to ~600 O(1) terms: rounding error grows
 * ~sqrt(K)*eps*|terms| ~ 1e-5 at worst here; O(0.1) bugs stay visible */
#define TOL_ATOL 1e-4
#define TOL_RTOL 1e-4
/* element-wise ops: at most two float roundings of the exact value */
#define TOL_ELEM_ATOL 1e-7
#define TOL_ELEM_RTOL 3e-7
/* central-difference step: see the header */
#define FD_H 1e-4

static ops_backend B;
/* the CPU backend's threads: OPENBLAS_NUM_THREADS, which main() sets to 1
 * when the environment leaves it unset (ctest runs this file at 1 and 3) */
static int THREADS = 1;

// ----------------------------------------------------------------------------
// scratch memory: every check allocates, scratch_release() frees it all

#define SCRATCH_MAX 64
static void *dev_scratch[SCRATCH_MAX], *host_scratch[SCRATCH_MAX];
static int n_dev_scratch, n_host_scratch;

static void *host_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p || n_host_scratch == SCRATCH_MAX) {
        fprintf(stderr, "test_ops_grad: out of host scratch\n");
        exit(1);
    }
    host_scratch[n_host_scratch++] = p;
    return p;
}

static float *host_floats(size_t n) { return host_alloc(n * sizeof(float)); }
static double *host_doubles(size_t n) { return host_alloc(n * sizeof(double)); }

/* device floats holding a copy of host[0..n) */
static float *dev_from(const float *host, size_t n)
{
    void *p = NULL;
    if (ops_alloc(&B, n * sizeof(float), &p) != OPS_OK || n_dev_scratch == SCRATCH_MAX) {
        fprintf(stderr, "test_ops_grad: out of device scratch (%zu floats)\n", n);
        exit(1);
    }
    dev_scratch[n_dev_scratch++] = p;
    if (ops_upload(&B, p, host, n * sizeof(float)) != OPS_OK) exit(1);
    return p;
}

static float *dev_filled(size_t n, float value)
{
    float *h = host_floats(n);
    for (size_t i = 0; i < n; i++) h[i] = value;
    return dev_from(h, n);
}

static void *dev_bytes(size_t bytes)
{
    void *p = NULL;
    if (ops_alloc(&B, bytes, &p) != OPS_OK || n_dev_scratch == SCRATCH_MAX) exit(1);
    if (p) dev_scratch[n_dev_scratch++] = p;
    return p;
}

static float *dev_read(const float *dev, size_t n)
{
    float *h = host_floats(n);
    if (ops_download(&B, h, dev, n * sizeof(float)) != OPS_OK) exit(1);
    return h;
}

static void scratch_release(void)
{
    while (n_dev_scratch) ops_free(&B, dev_scratch[--n_dev_scratch]);
    while (n_host_scratch) free(host_scratch[--n_host_scratch]);
}

// ----------------------------------------------------------------------------
// random numbers, comparison

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

/* splitmix64 -> uniform in [lo, hi) */
static double rng_uniform(double lo, double hi)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) * 0x1.0p-53;
}

static float *host_random(size_t n, double lo, double hi)
{
    float *h = host_floats(n);
    for (size_t i = 0; i < n; i++) h[i] = (float)rng_uniform(lo, hi);
    return h;
}

static double *to_double(const float *h, size_t n)
{
    double *d = host_doubles(n);
    for (size_t i = 0; i < n; i++) d[i] = h[i];
    return d;
}

/* Prints the max error of got (backend) against want (reference) and fails
 * on any element outside atol + rtol*|want| (NaN included). */
static void expect_close(const char *what, const float *got, const double *want, size_t n, double atol,
                         double rtol)
{
    double max_err = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - want[i]);
        if (!(err <= max_err)) max_err = err;
        if (!(err <= atol + rtol * fabs(want[i]))) {
            if (bad < 3) fprintf(stderr, "  %s[%zu]: got %.9g want %.9g\n", what, i, (double)got[i], want[i]);
            bad++;
        }
    }
    printf("  %-58s max|err| %.2e  (n=%zu)\n", what, max_err, n);
    CHECK(bad == 0, "%s: %zu of %zu out of tolerance %.0e + %.0e*|want|", what, bad, n, atol, rtol);
}

static void expect_ok(ops_status st, const char *what)
{
    CHECK(st == OPS_OK, "%s returned %d: %s", what, (int)st, ops_last_error());
}

/* want[i] = base[i] + mult * grad[i], base NULL meaning 0 */
static double *affine(const float *base, double mult, const double *grad, size_t n)
{
    double *w = host_doubles(n);
    for (size_t i = 0; i < n; i++) w[i] = (base ? base[i] : 0.0) + mult * grad[i];
    return w;
}

// ----------------------------------------------------------------------------
// central differences

/* dL/dp for each of p's n elements; p is restored */
static double *fd_grad(objective_fn f, void *ctx, double *p, size_t n)
{
    double *g = host_doubles(n);
    fd_grad_into(f, ctx, p, n, FD_H, g);
    return g;
}

// ----------------------------------------------------------------------------
// memory slots, upload/download, workspace sizes, argument checks

static void test_basics(void)
{
    printf("basics\n");
    float *h = host_random(1000, -1, 1);
    float *d = dev_from(h, 1000);
    float *back = dev_read(d, 1000);
    CHECK(memcmp(h, back, 1000 * sizeof(float)) == 0, "upload/download round trip differs");
    expect_ok(ops_synchronize(&B), "synchronize");

    /* Conv workspace (cpu_conv.c's formula), worked by hand in floats; every
     * part is rounded up to 16 floats; a chunk holds as many images as fit
     * 2 MiB = 524288 floats of columns (or of GEMM output, when larger),
     * whatever n is. Each thread of the backend (THREADS) has its own
     * region (dw^T, col, stage); the flipped filter w' is shared. Below,
     * {shared, region} per direction, in floats:
     * s: 3x3 stride 2 -> 5x4, crr 27, pq 20, 540 column floats per image,
     *    chunk 970: col 523800 -> 523808, stage 970*8*20 = 155200, dw^T 8*27
     *    = 216 -> 224; backward data takes the column path (stride 2). */
    ops_conv_shape s = ops_conv_make(4, 3, 9, 7, 8, 3, 2, 1);
    const size_t want_s[OPS_CONV_DIR_COUNT][2] = {{0, 523808 + 155200}, {0, 523808 + 155200},
                                                  {0, 224 + 523808 + 155200}};
    /* s1: 3x3 stride 1 pad 1 -> 9x7, crr 27, pq 63: 1701 floats per image,
     *     chunk 308: col 523908 -> 523920, stage 308*8*63 = 155232; backward
     *     data unfolds dy (8 channels, k*r*r = 72 rows of hw 63, 4536 floats
     *     per image, chunk 115): w' 216 -> 224, col 521640 -> 521648, stage
     *     115*3*63 = 21735 -> 21744 */
    ops_conv_shape s1 = ops_conv_make(4, 3, 9, 7, 8, 3, 1, 1);
    const size_t want_s1[OPS_CONV_DIR_COUNT][2] = {{0, 523920 + 155232}, {224, 521648 + 21744},
                                                   {0, 224 + 523920 + 155232}};
    /* big: 64 channels 3x3 on 32x32, 576*1024 column floats = 2.25 MiB per
     *      image, over the chunk: one image at a time, no stage; backward data
     *      unfolds dy, 16*9*1024 = 147456 floats per image, so 3 images a
     *      chunk: w' 16*576 = 9216, col 442368, stage 3*64*1024 = 196608 */
    ops_conv_shape big = ops_conv_make(5, 64, 32, 32, 16, 3, 1, 1);
    const size_t want_big[OPS_CONV_DIR_COUNT][2] = {{0, 589824}, {9216, 442368 + 196608}, {0, 9216 + 589824}};
    /* one image of s's shape: the same workspace as four (it depends on the
     * image, not on n) */
    ops_conv_shape s_n1 = ops_conv_make(1, 3, 9, 7, 8, 3, 2, 1);
    /* 1x1 stride 2: crr 3, pq 20, the GEMM output (160 floats) larger than
     * the columns (60): chunk 3276, col 196560, stage 524160, dw^T 24 -> 32 */
    ops_conv_shape one_s2 = ops_conv_make(4, 3, 9, 7, 8, 1, 2, 0);
    const size_t want_one_s2[OPS_CONV_DIR_COUNT][2] = {{0, 196560 + 524160}, {0, 196560 + 524160},
                                                       {0, 32 + 196560 + 524160}};
    ops_conv_shape one = ops_conv_make(4, 3, 9, 7, 8, 1, 1, 0);
    ops_conv_shape none = ops_conv_make(0, 3, 9, 7, 8, 3, 1, 1);
    const struct { const char *what; const ops_conv_shape *s; const size_t (*want)[2]; } ws_cases[] = {
        {"3x3 stride 2", &s, want_s},  {"3x3 stride 1", &s1, want_s1},         {"2.25 MiB per image", &big, want_big},
        {"one image", &s_n1, want_s}, {"1x1 stride 2", &one_s2, want_one_s2},
    };
    for (int dir = 0; dir < OPS_CONV_DIR_COUNT; dir++) {
        for (size_t ci = 0; ci < sizeof ws_cases / sizeof ws_cases[0]; ci++) {
            size_t got = ops_conv_workspace_bytes(&B, ws_cases[ci].s, (ops_conv_dir)dir);
            size_t want = (ws_cases[ci].want[dir][0] + THREADS * ws_cases[ci].want[dir][1]) * sizeof(float);
            CHECK(got == want, "%s workspace, %s, %d thread(s): %zu, want %zu", ws_cases[ci].what,
                  ops_conv_dir_name((ops_conv_dir)dir), THREADS, got, want);
        }
        CHECK(ops_conv_workspace_bytes(&B, &one, (ops_conv_dir)dir) == 0, "1x1 stride-1 workspace dir %d", dir);
        CHECK(ops_conv_workspace_bytes(&B, &none, (ops_conv_dir)dir) == 0, "n = 0 workspace dir %d", dir);
    }
    size_t col = ops_conv_workspace_bytes(&B, &s, OPS_CONV_FWD);

    /* arguments the backend refuses rather than reading out of bounds */
    ops_gemm_desc g = {0, 0, 4, 4, 4, 3, 4, 4, 1.0f, 0.0f};
    CHECK(ops_gemm(&B, &g, d, d, d) == OPS_ERR_INVALID, "gemm with lda < k accepted");
    float *ws = dev_bytes(col);
    CHECK(ops_conv2d_fwd(&B, &s, d, d, d, ws, col - 4) == OPS_ERR_INVALID, "conv with short workspace accepted");
    int32_t bad_target[1] = {10};
    int32_t *t = dev_bytes(sizeof bad_target);
    expect_ok(ops_upload(&B, t, bad_target, sizeof bad_target), "upload");
    CHECK(ops_softmax_xent_fwd(&B, 1, 10, d, t, d, d) == OPS_ERR_INVALID, "target out of range accepted");
    ops_norm_shape one_value = {1, 2, 1, 1, 1e-5f, 0.1f};
    CHECK(ops_batchnorm_fwd(&B, &one_value, d, d, d, d, d, d, d, d) == OPS_ERR_INVALID,
          "BatchNorm over one value per channel accepted (PyTorch refuses: no unbiased variance)");
    ops_norm_shape bad_groups = {1, 6, 4, 4, 1e-5f, 0.1f};
    CHECK(ops_groupnorm_fwd(&B, &bad_groups, d, d, d, d, d, d) == OPS_ERR_INVALID, "6 channels in 4 groups accepted");
    printf("  upload/download round trip, conv workspace sizes, refused arguments: %s\n",
           check_failures ? "FAILED" : "ok");
    scratch_release();
}

// ----------------------------------------------------------------------------
// GEMM: four transpose combinations, padded strides, alpha/beta

static void test_gemm_case(int ta, int tb, int m, int n, int k, float alpha, float beta)
{
    const int pad = 3;
    const int a_rows = ta ? k : m, a_cols = ta ? m : k, b_rows = tb ? n : k, b_cols = tb ? k : n;
    ops_gemm_desc d = {ta, tb, m, n, k, a_cols + pad, b_cols + pad, n + pad, alpha, beta};
    /* padding NaN in A and B: reading it would poison the result */
    float *a = host_random((size_t)a_rows * d.lda, -1, 1), *b = host_random((size_t)b_rows * d.ldb, -1, 1);
    for (int i = 0; i < a_rows; i++)
        for (int j = a_cols; j < d.lda; j++) a[(size_t)i * d.lda + j] = NAN;
    for (int i = 0; i < b_rows; i++)
        for (int j = b_cols; j < d.ldb; j++) b[(size_t)i * d.ldb + j] = NAN;
    /* C: NaN when beta == 0 proves it is not read; padding a sentinel that must survive */
    const float sentinel = 12345.0f;
    float *c = host_random((size_t)m * d.ldc, -1, 1);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < d.ldc; j++)
            if (j >= n) c[(size_t)i * d.ldc + j] = sentinel;
            else if (beta == 0.0f) c[(size_t)i * d.ldc + j] = NAN;

    double *want = host_doubles((size_t)m * n);
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double s = 0.0;
            for (int p = 0; p < k; p++) {
                double av = ta ? a[(size_t)p * d.lda + i] : a[(size_t)i * d.lda + p];
                double bv = tb ? b[(size_t)j * d.ldb + p] : b[(size_t)p * d.ldb + j];
                s += av * bv;
            }
            want[(size_t)i * n + j] = alpha * s + (beta != 0.0f ? beta * (double)c[(size_t)i * d.ldc + j] : 0.0);
        }

    float *da = dev_from(a, (size_t)a_rows * d.lda), *db = dev_from(b, (size_t)b_rows * d.ldb);
    float *dc = dev_from(c, (size_t)m * d.ldc);
    expect_ok(ops_gemm(&B, &d, da, db, dc), "gemm");
    float *got_full = dev_read(dc, (size_t)m * d.ldc), *got = host_floats((size_t)m * n);
    int padding_kept = 1;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < d.ldc; j++)
            if (j < n) got[(size_t)i * n + j] = got_full[(size_t)i * d.ldc + j];
            else padding_kept &= got_full[(size_t)i * d.ldc + j] == sentinel;
    char what[96];
    snprintf(what, sizeof what, "gemm %c%c m=%d n=%d k=%d alpha=%g beta=%g%s", ta ? 'T' : 'N', tb ? 'T' : 'N', m,
             n, k, alpha, beta, beta == 0.0f ? " (C NaN)" : "");
    expect_close(what, got, want, (size_t)m * n, TOL_ATOL, TOL_RTOL);
    CHECK(padding_kept, "%s: wrote C's padding columns", what);
    scratch_release();
}

static void test_gemm(void)
{
    printf("gemm\n");
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++) {
            test_gemm_case(ta, tb, 5, 7, 3, 1.5f, 0.0f);
            test_gemm_case(ta, tb, 5, 7, 3, 1.0f, 1.0f);
            test_gemm_case(ta, tb, 37, 29, 70, -0.5f, 0.25f);
            test_gemm_case(ta, tb, 64, 33, 129, 1.0f, 0.0f);
            /* over the backend's split threshold (2^20 multiply-adds): row
             * slabs (m > n) and column slabs, neither a multiple of 16 */
            test_gemm_case(ta, tb, 257, 90, 48, 1.0f, 0.5f);
            test_gemm_case(ta, tb, 70, 301, 52, -1.0f, 0.0f);
        }
}

/* Linear layer through gemm: y (n, out) = x (n, in) . W (out, in)^T;
 * dx = dy . W (assigned), dW += dy^T . x. */
typedef struct { int n, in, out; double *x, *w, *r, *y; } linear_ctx;

static double linear_objective(void *vctx)
{
    linear_ctx *c = vctx;
    for (int i = 0; i < c->n; i++)
        for (int o = 0; o < c->out; o++) {
            double s = 0.0;
            for (int j = 0; j < c->in; j++) s += c->x[i * c->in + j] * c->w[o * c->in + j];
            c->y[i * c->out + o] = s;
        }
    return dot(c->y, c->r, (size_t)c->n * c->out);
}

static void test_linear_grad(void)
{
    printf("linear (gemm) gradients\n");
    const int n = 6, in = 11, out = 5;
    const size_t nx = (size_t)n * in, nw = (size_t)out * in, ny = (size_t)n * out;
    float *x = host_random(nx, -1, 1), *w = host_random(nw, -1, 1), *r = host_random(ny, -1, 1);
    float *dw0 = host_random(nw, -1, 1);
    float *dx_d = dev_filled(nx, NAN), *y_d = dev_filled(ny, NAN), *x_d = dev_from(x, nx), *w_d = dev_from(w, nw);
    float *r_d = dev_from(r, ny), *dw_d = dev_from(dw0, nw);
    ops_gemm_desc fwd = {0, 1, n, out, in, in, in, out, 1.0f, 0.0f};
    ops_gemm_desc bwd_x = {0, 0, n, in, out, out, in, in, 1.0f, 0.0f};
    ops_gemm_desc bwd_w = {1, 0, out, in, n, out, in, in, 1.0f, 1.0f};
    expect_ok(ops_gemm(&B, &fwd, x_d, w_d, y_d), "linear fwd");
    expect_ok(ops_gemm(&B, &bwd_x, r_d, w_d, dx_d), "linear bwd data");
    expect_ok(ops_gemm(&B, &bwd_w, r_d, x_d, dw_d), "linear bwd weight");

    linear_ctx c = {n, in, out, to_double(x, nx), to_double(w, nw), to_double(r, ny), host_doubles(ny)};
    linear_objective(&c);
    expect_close("linear y", dev_read(y_d, ny), c.y, ny, TOL_ATOL, TOL_RTOL);
    expect_close("linear dx vs finite differences", dev_read(dx_d, nx), fd_grad(linear_objective, &c, c.x, nx), nx,
                 TOL_ATOL, TOL_RTOL);
    expect_close("linear dW (+= into dW0) vs finite differences", dev_read(dw_d, nw),
                 affine(dw0, 1.0, fd_grad(linear_objective, &c, c.w, nw), nw), nw, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

// ----------------------------------------------------------------------------
// convolution

typedef struct { ops_conv_shape s; double *x, *w, *r, *y; } conv_ctx;

static void ref_conv_fwd(const ops_conv_shape *s, const double *x, const double *w, double *y)
{
    for (int i = 0; i < s->n; i++)
        for (int o = 0; o < s->k; o++)
            for (int oh = 0; oh < s->p; oh++)
                for (int ow = 0; ow < s->q; ow++) {
                    double acc = 0.0;
                    for (int ch = 0; ch < s->c; ch++)
                        for (int kh = 0; kh < s->r; kh++)
                            for (int kw = 0; kw < s->r; kw++) {
                                int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w) continue;
                                acc += x[(((size_t)i * s->c + ch) * s->h + ih) * s->w + iw] *
                                       w[(((size_t)o * s->c + ch) * s->r + kh) * s->r + kw];
                            }
                    y[(((size_t)i * s->k + o) * s->p + oh) * s->q + ow] = acc;
                }
}

/* The adjoint of ref_conv_fwd, the same loops with the products turned
 * around: dx = sum of dy * w over the windows that read x, dw = sum of
 * dy * x (both assigned). For shapes too large for central differences;
 * test_conv_case checks it against them on the small ones. */
static void ref_conv_bwd(const ops_conv_shape *s, const double *x, const double *w, const double *dy, double *dx,
                         double *dw)
{
    memset(dx, 0, (size_t)s->n * s->c * s->h * s->w * sizeof(double));
    memset(dw, 0, (size_t)s->k * s->c * s->r * s->r * sizeof(double));
    for (int i = 0; i < s->n; i++)
        for (int o = 0; o < s->k; o++)
            for (int oh = 0; oh < s->p; oh++)
                for (int ow = 0; ow < s->q; ow++) {
                    const double g = dy[(((size_t)i * s->k + o) * s->p + oh) * s->q + ow];
                    for (int ch = 0; ch < s->c; ch++)
                        for (int kh = 0; kh < s->r; kh++)
                            for (int kw = 0; kw < s->r; kw++) {
                                int ih = oh * s->stride - s->pad + kh, iw = ow * s->stride - s->pad + kw;
                                if (ih < 0 || ih >= s->h || iw < 0 || iw >= s->w) continue;
                                size_t xi = (((size_t)i * s->c + ch) * s->h + ih) * s->w + iw;
                                size_t wi = (((size_t)o * s->c + ch) * s->r + kh) * s->r + kw;
                                dx[xi] += g * w[wi];
                                dw[wi] += g * x[xi];
                            }
                }
}

/* one workspace for every direction of shape s */
static size_t conv_workspace_max(const ops_conv_shape *s)
{
    size_t most = 0;
    for (int dir = 0; dir < OPS_CONV_DIR_COUNT; dir++) {
        size_t b = ops_conv_workspace_bytes(&B, s, (ops_conv_dir)dir);
        most = b > most ? b : most;
    }
    return most;
}

static double conv_objective(void *vctx)
{
    conv_ctx *c = vctx;
    ref_conv_fwd(&c->s, c->x, c->w, c->y);
    return dot(c->y, c->r, (size_t)c->s.n * c->s.k * c->s.p * c->s.q);
}

/* Forward against the naive loop; with `grads`, backward data (beta 0 into
 * NaN, then beta 1 into d0) and backward filter (twice into dw0) against
 * finite differences. */
static void test_conv_case(int n, int c, int h, int w, int k, int r, int stride, int pad, int grads)
{
    ops_conv_shape s = ops_conv_make(n, c, h, w, k, r, stride, pad);
    const size_t nx = (size_t)n * c * h * w, nw = (size_t)k * c * r * r, ny = (size_t)n * k * s.p * s.q;
    char what[128], tag[80];
    snprintf(tag, sizeof tag, "conv n%d c%d %dx%d k%d r%d s%d p%d -> %dx%d", n, c, h, w, k, r, stride, pad, s.p,
             s.q);
    const size_t ws_bytes = conv_workspace_max(&s);
    /* NaN workspace: every entry used must have been written first */
    float *ws = ws_bytes ? dev_filled(ws_bytes / sizeof(float), NAN) : NULL;
    float *x = host_random(nx, -1, 1), *wt = host_random(nw, -1, 1), *r_h = host_random(ny, -1, 1);
    float *x_d = dev_from(x, nx), *w_d = dev_from(wt, nw), *y_d = dev_filled(ny, NAN);
    expect_ok(ops_conv2d_fwd(&B, &s, x_d, w_d, y_d, ws, ws_bytes), "conv2d_fwd");
    conv_ctx cc = {s, to_double(x, nx), to_double(wt, nw), to_double(r_h, ny), host_doubles(ny)};
    conv_objective(&cc);
    snprintf(what, sizeof what, "%s fwd", tag);
    expect_close(what, dev_read(y_d, ny), cc.y, ny, TOL_ATOL, TOL_RTOL);
    if (!grads) {
        scratch_release();
        return;
    }

    float *r_d = dev_from(r_h, ny), *dx_d = dev_filled(nx, NAN);
    float *d0 = host_random(nx, -1, 1), *dw0 = host_random(nw, -1, 1);
    float *dx1_d = dev_from(d0, nx), *dw_d = dev_from(dw0, nw);
    expect_ok(ops_conv2d_bwd_data(&B, &s, w_d, r_d, 0.0f, dx_d, ws, ws_bytes), "conv2d_bwd_data");
    expect_ok(ops_conv2d_bwd_data(&B, &s, w_d, r_d, 1.0f, dx1_d, ws, ws_bytes), "conv2d_bwd_data beta 1");
    expect_ok(ops_conv2d_bwd_filter(&B, &s, x_d, r_d, dw_d, ws, ws_bytes), "conv2d_bwd_filter");
    expect_ok(ops_conv2d_bwd_filter(&B, &s, x_d, r_d, dw_d, ws, ws_bytes), "conv2d_bwd_filter again");
    double *gx = fd_grad(conv_objective, &cc, cc.x, nx), *gw = fd_grad(conv_objective, &cc, cc.w, nw);
    /* the adjoint reference of the large cases, against the differences (both in double) */
    double *ax = host_doubles(nx), *aw = host_doubles(nw), adj_err = 0.0;
    ref_conv_bwd(&s, cc.x, cc.w, cc.r, ax, aw);
    for (size_t i = 0; i < nx; i++) adj_err = fmax(adj_err, fabs(ax[i] - gx[i]));
    for (size_t i = 0; i < nw; i++) adj_err = fmax(adj_err, fabs(aw[i] - gw[i]));
    CHECK(adj_err < 1e-6, "%s: ref_conv_bwd differs from central differences by %.2e", tag, adj_err);
    snprintf(what, sizeof what, "%s dx beta0", tag);
    expect_close(what, dev_read(dx_d, nx), gx, nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dx beta1", tag);
    expect_close(what, dev_read(dx1_d, nx), affine(d0, 1.0, gx, nx), nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dw0 + 2 dw", tag);
    expect_close(what, dev_read(dw_d, nw), affine(dw0, 2.0, gw, nw), nw, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

/* Shapes whose unfolded images fill cpu_conv.c's 2 MiB chunk in several
 * GEMMs, against ref_conv_fwd/ref_conv_bwd: full chunks, a ragged last one,
 * one image per chunk, in each direction and path. Same calls as
 * test_conv_case (NaN workspace and outputs, beta 1 into d0, dw twice).
 * Tolerance: dw sums n*p*q = up to 5120 products of O(1) terms, |dw| ~ 40,
 * float error ~ sqrt(5120) * 6e-8 * 40 ~ 2e-4, inside 1e-4 + 1e-4*|want|
 * where |want| is that large (measured: 5e-5); the other outputs sum at
 * most 576 terms. */
static void test_conv_chunked_case(int n, int c, int h, int w, int k, int r, int stride, int pad, const char *why)
{
    ops_conv_shape s = ops_conv_make(n, c, h, w, k, r, stride, pad);
    const size_t nx = (size_t)n * c * h * w, nw = (size_t)k * c * r * r, ny = (size_t)n * k * s.p * s.q;
    char what[160], tag[128];
    snprintf(tag, sizeof tag, "conv n%d c%d %dx%d k%d r%d s%d p%d (%s)", n, c, h, w, k, r, stride, pad, why);
    const size_t ws_bytes = conv_workspace_max(&s);
    float *ws = ws_bytes ? dev_filled(ws_bytes / sizeof(float), NAN) : NULL;
    float *x = host_random(nx, -1, 1), *wt = host_random(nw, -1, 1), *g = host_random(ny, -1, 1);
    float *d0 = host_random(nx, -1, 1), *dw0 = host_random(nw, -1, 1);
    float *x_d = dev_from(x, nx), *w_d = dev_from(wt, nw), *g_d = dev_from(g, ny), *y_d = dev_filled(ny, NAN);
    float *dx_d = dev_filled(nx, NAN), *dx1_d = dev_from(d0, nx), *dw_d = dev_from(dw0, nw);
    expect_ok(ops_conv2d_fwd(&B, &s, x_d, w_d, y_d, ws, ws_bytes), "conv2d_fwd");
    expect_ok(ops_conv2d_bwd_data(&B, &s, w_d, g_d, 0.0f, dx_d, ws, ws_bytes), "conv2d_bwd_data");
    expect_ok(ops_conv2d_bwd_data(&B, &s, w_d, g_d, 1.0f, dx1_d, ws, ws_bytes), "conv2d_bwd_data beta 1");
    expect_ok(ops_conv2d_bwd_filter(&B, &s, x_d, g_d, dw_d, ws, ws_bytes), "conv2d_bwd_filter");
    expect_ok(ops_conv2d_bwd_filter(&B, &s, x_d, g_d, dw_d, ws, ws_bytes), "conv2d_bwd_filter again");

    double *xd = to_double(x, nx), *wd = to_double(wt, nw), *gd = to_double(g, ny);
    double *want_y = host_doubles(ny), *want_dx = host_doubles(nx), *want_dw = host_doubles(nw);
    ref_conv_fwd(&s, xd, wd, want_y);
    ref_conv_bwd(&s, xd, wd, gd, want_dx, want_dw);
    snprintf(what, sizeof what, "%s fwd", tag);
    expect_close(what, dev_read(y_d, ny), want_y, ny, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dx beta0", tag);
    expect_close(what, dev_read(dx_d, nx), want_dx, nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dx beta1", tag);
    expect_close(what, dev_read(dx1_d, nx), affine(d0, 1.0, want_dx, nx), nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dw0 + 2 dw", tag);
    expect_close(what, dev_read(dw_d, nw), affine(dw0, 2.0, want_dw, nw), nw, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

static void test_conv(void)
{
    printf("conv2d (backward vs central differences)\n");
    test_conv_case(2, 3, 7, 6, 4, 3, 1, 1, 1);   /* 3x3 same padding, odd, h != w */
    test_conv_case(2, 3, 9, 7, 5, 3, 2, 1, 1);   /* 3x3 stride 2 padded */
    test_conv_case(3, 4, 7, 7, 6, 1, 2, 0, 1);   /* 1x1 stride 2 (ResNet shortcut) */
    test_conv_case(2, 5, 5, 6, 3, 1, 1, 0, 1);   /* 1x1 stride 1: no im2col */
    test_conv_case(1, 2, 11, 9, 3, 5, 2, 2, 1);  /* 5x5 stride 2 */
    test_conv_case(2, 3, 9, 8, 4, 7, 2, 3, 1);   /* 7x7 stride 2 pad 3 (ImageNet stem) */
    test_conv_case(2, 2, 6, 5, 3, 2, 2, 0, 1);   /* even kernel, last column dropped */
    test_conv_case(1, 2, 4, 4, 2, 3, 1, 2, 1);   /* pad > r/2: all-padding border rows */
    test_conv_case(1, 1, 3, 3, 1, 3, 3, 2, 1);   /* stride > 1 with all-padding windows */
    test_conv_case(2, 8, 6, 6, 8, 3, 1, 1, 1);   /* more channels */
    test_conv_case(2, 16, 10, 10, 24, 3, 1, 1, 0); /* blocked GEMM sizes, forward only */
    test_conv_case(1, 2, 4, 4, 2, 1, 1, 1, 1);   /* stride 1, pad > r-1: bwd data through col2im */
    test_conv_case(0, 2, 4, 4, 2, 3, 1, 1, 0);   /* empty batch */
    /* 800 KiB of columns per image (and per dy image): chunks of 2 + 2 + 1 */
    test_conv_chunked_case(5, 8, 32, 32, 8, 5, 1, 2, "chunks 2+2+1");
    test_conv_chunked_case(5, 8, 64, 64, 6, 5, 2, 2, "stride 2, chunks 2+2+1");
    /* 2.25 MiB per image: one image a chunk, and backward data in one chunk of 2 */
    test_conv_chunked_case(2, 64, 32, 32, 16, 3, 1, 1, "forward 1+1");
    test_conv_chunked_case(2, 16, 32, 32, 64, 3, 1, 1, "backward data 1+1");
}

// ----------------------------------------------------------------------------
// BatchNorm and GroupNorm

/* Training-mode normalisation in double over sets of `set_len` elements:
 * per channel over (n, hw) when groups == 0 (BatchNorm), else per (sample,
 * group). mean/var (biased) get one entry per set. */
typedef struct { ops_norm_shape s; int groups; double *x, *gamma, *bias, *r, *y, *mean, *var; } norm_ctx;

static size_t norm_sets(const norm_ctx *c) { return c->groups ? (size_t)c->s.n * c->groups : (size_t)c->s.c; }

/* the set element (i, ch, e) belongs to */
static size_t norm_set_of(const norm_ctx *c, int i, int ch)
{
    return c->groups ? (size_t)i * c->groups + ch / (c->s.c / c->groups) : (size_t)ch;
}

static double norm_objective(void *vctx)
{
    norm_ctx *c = vctx;
    const ops_norm_shape *s = &c->s;
    const size_t sets = norm_sets(c);
    const double set_len = (double)s->n * s->c * s->hw / (double)sets;
    for (size_t j = 0; j < sets; j++) c->mean[j] = c->var[j] = 0.0;
    for (int i = 0; i < s->n; i++)
        for (int ch = 0; ch < s->c; ch++)
            for (int e = 0; e < s->hw; e++) c->mean[norm_set_of(c, i, ch)] += c->x[((size_t)i * s->c + ch) * s->hw + e];
    for (size_t j = 0; j < sets; j++) c->mean[j] /= set_len;
    for (int i = 0; i < s->n; i++)
        for (int ch = 0; ch < s->c; ch++)
            for (int e = 0; e < s->hw; e++) {
                double dv = c->x[((size_t)i * s->c + ch) * s->hw + e] - c->mean[norm_set_of(c, i, ch)];
                c->var[norm_set_of(c, i, ch)] += dv * dv;
            }
    for (size_t j = 0; j < sets; j++) c->var[j] /= set_len;
    for (int i = 0; i < s->n; i++)
        for (int ch = 0; ch < s->c; ch++)
            for (int e = 0; e < s->hw; e++) {
                size_t at = ((size_t)i * s->c + ch) * s->hw + e, set = norm_set_of(c, i, ch);
                c->y[at] = (c->x[at] - c->mean[set]) / sqrt(c->var[set] + s->eps) * c->gamma[ch] + c->bias[ch];
            }
    return dot(c->y, c->r, (size_t)s->n * s->c * s->hw);
}

/* The adjoint of norm_objective (after a call, which leaves mean and var),
 * in double: per set, with xhat = (x - mean) rstd and g = r gamma,
 * dx = rstd (g - mean(g) - xhat mean(g xhat)); dgamma = sum r xhat, dbias =
 * sum r per channel (all assigned). For shapes too large for central
 * differences; test_norm_case checks it against them on the small ones. */
static void norm_adjoint(const norm_ctx *c, double *gx, double *gg, double *gb)
{
    const ops_norm_shape *s = &c->s;
    const size_t sets = norm_sets(c);
    const double set_len = (double)s->n * s->c * s->hw / (double)sets;
    double *mg = calloc(sets, sizeof *mg), *mgx = calloc(sets, sizeof *mgx);
    memset(gg, 0, (size_t)s->c * sizeof *gg);
    memset(gb, 0, (size_t)s->c * sizeof *gb);
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < s->n; i++)
            for (int ch = 0; ch < s->c; ch++)
                for (int e = 0; e < s->hw; e++) {
                    size_t at = ((size_t)i * s->c + ch) * s->hw + e, set = norm_set_of(c, i, ch);
                    double rstd = 1.0 / sqrt(c->var[set] + s->eps), xhat = (c->x[at] - c->mean[set]) * rstd;
                    double g = c->r[at] * c->gamma[ch];
                    if (pass == 0) {
                        mg[set] += g / set_len;
                        mgx[set] += g * xhat / set_len;
                        gg[ch] += c->r[at] * xhat;
                        gb[ch] += c->r[at];
                    } else {
                        gx[at] = rstd * (g - mg[set] - xhat * mgx[set]);
                    }
                }
    free(mg);
    free(mgx);
}

/* One BatchNorm (groups == 0) or GroupNorm case: forward, saved and running
 * statistics, then backward against finite differences, or for `large`
 * cases (the CPU backend splits them over its threads) against
 * norm_adjoint. */
static void test_norm_case_at(int n, int c, int hw, int groups, double offset, int large)
{
    ops_norm_shape s = {n, c, hw, groups ? groups : 1, 1e-5f, 0.1f};
    const size_t nx = (size_t)n * c * hw, nc = (size_t)c;
    char tag[80], what[128];
    if (groups)
        snprintf(tag, sizeof tag, "groupnorm n%d c%d hw%d groups%d", n, c, hw, groups);
    else
        snprintf(tag, sizeof tag, "batchnorm n%d c%d hw%d mean%+g", n, c, hw, offset);
    norm_ctx ref = {s, groups, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    const size_t sets = norm_sets(&ref);
    float *x = host_random(nx, offset - 1, offset + 1), *gamma = host_random(nc, 0.5, 1.5);
    float *bias = host_random(nc, -0.5, 0.5), *r = host_random(nx, -1, 1);
    float *rm0 = host_random(nc, -1, 1), *rv0 = host_random(nc, 0.5, 2);
    float *x_d = dev_from(x, nx), *g_d = dev_from(gamma, nc), *b_d = dev_from(bias, nc), *y_d = dev_filled(nx, NAN);
    float *rm_d = dev_from(rm0, nc), *rv_d = dev_from(rv0, nc);
    float *mean_d = dev_filled(sets, NAN), *rstd_d = dev_filled(sets, NAN);
    if (groups)
        expect_ok(ops_groupnorm_fwd(&B, &s, x_d, g_d, b_d, y_d, mean_d, rstd_d), "groupnorm_fwd");
    else
        expect_ok(ops_batchnorm_fwd(&B, &s, x_d, g_d, b_d, y_d, rm_d, rv_d, mean_d, rstd_d), "batchnorm_fwd");

    ref.x = to_double(x, nx);
    ref.gamma = to_double(gamma, nc);
    ref.bias = to_double(bias, nc);
    ref.r = to_double(r, nx);
    ref.y = host_doubles(nx);
    ref.mean = host_doubles(sets);
    ref.var = host_doubles(sets);
    norm_objective(&ref);
    double *want_rstd = host_doubles(sets);
    for (size_t j = 0; j < sets; j++) want_rstd[j] = 1.0 / sqrt(ref.var[j] + s.eps);
    snprintf(what, sizeof what, "%s y", tag);
    expect_close(what, dev_read(y_d, nx), ref.y, nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s save_mean", tag);
    expect_close(what, dev_read(mean_d, sets), ref.mean, sets, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s save_invstd", tag);
    expect_close(what, dev_read(rstd_d, sets), want_rstd, sets, TOL_ATOL, TOL_RTOL);
    if (!groups) {
        /* torch.nn.BatchNorm2d: running = (1 - m) * running + m * batch, the
         * variance unbiased (times cnt / (cnt - 1)) */
        const double cnt = (double)n * hw, m = s.momentum;
        double *want_rm = host_doubles(nc), *want_rv = host_doubles(nc);
        for (size_t j = 0; j < nc; j++) {
            want_rm[j] = (1 - m) * rm0[j] + m * ref.mean[j];
            want_rv[j] = (1 - m) * rv0[j] + m * ref.var[j] * cnt / (cnt - 1);
        }
        snprintf(what, sizeof what, "%s running_mean", tag);
        expect_close(what, dev_read(rm_d, nc), want_rm, nc, TOL_ATOL, TOL_RTOL);
        snprintf(what, sizeof what, "%s running_var (unbiased)", tag);
        expect_close(what, dev_read(rv_d, nc), want_rv, nc, TOL_ATOL, TOL_RTOL);
    }

    float *r_d = dev_from(r, nx), *dx_d = dev_filled(nx, NAN), *d0 = host_random(nx, -1, 1);
    float *dx1_d = dev_from(d0, nx), *dg0 = host_random(nc, -1, 1), *db0 = host_random(nc, -1, 1);
    float *dg_d = dev_from(dg0, nc), *db_d = dev_from(db0, nc);
    for (int call = 0; call < 2; call++) {
        float beta = call ? 1.0f : 0.0f, *dx = call ? dx1_d : dx_d;
        if (groups)
            expect_ok(ops_groupnorm_bwd(&B, &s, x_d, r_d, g_d, mean_d, rstd_d, beta, dx, dg_d, db_d), "groupnorm_bwd");
        else
            expect_ok(ops_batchnorm_bwd(&B, &s, x_d, r_d, g_d, mean_d, rstd_d, beta, dx, dg_d, db_d), "batchnorm_bwd");
    }
    double *ax = host_doubles(nx), *ag = host_doubles(nc), *ab = host_doubles(nc);
    norm_objective(&ref);
    norm_adjoint(&ref, ax, ag, ab);
    double *gx = ax, *gg = ag, *gb = ab;
    if (!large) {
        gx = fd_grad(norm_objective, &ref, ref.x, nx);
        gg = fd_grad(norm_objective, &ref, ref.gamma, nc);
        gb = fd_grad(norm_objective, &ref, ref.bias, nc);
        double adj_err = 0.0;
        for (size_t i = 0; i < nx; i++) adj_err = fmax(adj_err, fabs(ax[i] - gx[i]));
        for (size_t i = 0; i < nc; i++) adj_err = fmax(adj_err, fmax(fabs(ag[i] - gg[i]), fabs(ab[i] - gb[i])));
        /* central differences err by ~h^2 |f'''| / 6: 2e-6 on 3-value sets */
        CHECK(adj_err < 1e-5, "%s: norm_adjoint differs from central differences by %.2e", tag, adj_err);
    }
    snprintf(what, sizeof what, "%s dx beta0", tag);
    expect_close(what, dev_read(dx_d, nx), gx, nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dx beta1", tag);
    expect_close(what, dev_read(dx1_d, nx), affine(d0, 1.0, gx, nx), nx, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dgamma0 + 2 dgamma", tag);
    expect_close(what, dev_read(dg_d, nc), affine(dg0, 2.0, gg, nc), nc, TOL_ATOL, TOL_RTOL);
    snprintf(what, sizeof what, "%s dbias0 + 2 dbias", tag);
    expect_close(what, dev_read(db_d, nc), affine(db0, 2.0, gb, nc), nc, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

static void test_norm_case(int n, int c, int hw, int groups, double offset)
{
    test_norm_case_at(n, c, hw, groups, offset, 0);
}

static void test_norms(void)
{
    printf("batchnorm / groupnorm (backward vs central differences)\n");
    test_norm_case(3, 4, 5, 0, 0.0);
    test_norm_case(2, 3, 1, 0, 0.0);    /* two values per channel */
    test_norm_case(4, 2, 37, 0, 3.0);   /* mean 3: a one-pass E[x^2]-E[x]^2 would lose digits */
    test_norm_case(2, 6, 5, 3, 0.0);    /* groups < channels */
    test_norm_case(2, 4, 7, 1, 0.0);    /* one group (LayerNorm-like) */
    test_norm_case(3, 4, 3, 4, 0.0);    /* one channel per group (InstanceNorm-like) */
    test_norm_case(2, 8, 19, 2, -2.0);
    /* 4*13*1024 = 53248 values, over the backend's split threshold (32768):
     * 13 channels in uneven blocks */
    test_norm_case_at(4, 13, 1024, 0, 0.5, 1);
    test_norm_case_at(4, 16, 1024, 4, 0.0, 1);
}

// ----------------------------------------------------------------------------
// ReLU, add, average pooling, softmax cross-entropy

typedef struct { size_t n; double *x, *r; } relu_ctx;

static double relu_objective(void *vctx)
{
    relu_ctx *c = vctx;
    double s = 0.0;
    for (size_t i = 0; i < c->n; i++) s += (c->x[i] > 0 ? c->x[i] : 0.0) * c->r[i];
    return s;
}

static void test_relu_add(void)
{
    printf("relu / add\n");
    const size_t n = 1001;
    /* keep |x| >= 0.05 > FD_H: ReLU's kink stays out of every difference */
    float *x = host_random(n, -1, 1), *r = host_random(n, -1, 1), *d0 = host_random(n, -1, 1);
    for (size_t i = 0; i < n; i++) x[i] = x[i] < 0 ? x[i] - 0.05f : x[i] + 0.05f;
    float *x_d = dev_from(x, n), *y_d = dev_filled(n, NAN), *r_d = dev_from(r, n);
    float *dx_d = dev_filled(n, NAN), *dx1_d = dev_from(d0, n);
    expect_ok(ops_relu_fwd(&B, n, x_d, y_d), "relu_fwd");
    expect_ok(ops_relu_bwd(&B, n, y_d, r_d, 0.0f, dx_d), "relu_bwd");
    expect_ok(ops_relu_bwd(&B, n, y_d, r_d, 1.0f, dx1_d), "relu_bwd beta 1");
    relu_ctx c = {n, to_double(x, n), to_double(r, n)};
    double *want_y = host_doubles(n);
    for (size_t i = 0; i < n; i++) want_y[i] = x[i] > 0 ? x[i] : 0.0;
    expect_close("relu y", dev_read(y_d, n), want_y, n, 0.0, 0.0);
    double *gx = fd_grad(relu_objective, &c, c.x, n);
    expect_close("relu dx beta0 (from y) vs central differences", dev_read(dx_d, n), gx, n, TOL_ELEM_ATOL,
                 TOL_ELEM_RTOL);
    expect_close("relu dx beta1", dev_read(dx1_d, n), affine(d0, 1.0, gx, n), n, TOL_ELEM_ATOL, TOL_ELEM_RTOL);

    /* in place, as a layer may run it */
    expect_ok(ops_relu_fwd(&B, n, x_d, x_d), "relu_fwd in place");
    expect_close("relu y in place", dev_read(x_d, n), want_y, n, 0.0, 0.0);

    float *a = host_random(n, -1, 1), *b = host_random(n, -1, 1);
    float *a_d = dev_from(a, n), *b_d = dev_from(b, n), *s_d = dev_filled(n, NAN);
    expect_ok(ops_add(&B, n, a_d, b_d, s_d), "add");
    double *want_s = host_doubles(n);
    for (size_t i = 0; i < n; i++) want_s[i] = (double)a[i] + b[i];
    expect_close("add", dev_read(s_d, n), want_s, n, TOL_ELEM_ATOL, TOL_ELEM_RTOL);
    scratch_release();
}

typedef struct { int n, c, hw; double *x, *r, *y; } pool_ctx;

static double pool_objective(void *vctx)
{
    pool_ctx *p = vctx;
    for (int j = 0; j < p->n * p->c; j++) {
        double s = 0.0;
        for (int e = 0; e < p->hw; e++) s += p->x[(size_t)j * p->hw + e];
        p->y[j] = s / p->hw;
    }
    return dot(p->y, p->r, (size_t)p->n * p->c);
}

static void test_avgpool(void)
{
    printf("avgpool (backward vs central differences)\n");
    const int n = 3, c = 5, hw = 49;
    const size_t nx = (size_t)n * c * hw, ny = (size_t)n * c;
    float *x = host_random(nx, -1, 1), *r = host_random(ny, -1, 1), *d0 = host_random(nx, -1, 1);
    float *x_d = dev_from(x, nx), *y_d = dev_filled(ny, NAN), *r_d = dev_from(r, ny);
    float *dx_d = dev_filled(nx, NAN), *dx1_d = dev_from(d0, nx);
    expect_ok(ops_avgpool_fwd(&B, n, c, hw, x_d, y_d), "avgpool_fwd");
    expect_ok(ops_avgpool_bwd(&B, n, c, hw, r_d, 0.0f, dx_d), "avgpool_bwd");
    expect_ok(ops_avgpool_bwd(&B, n, c, hw, r_d, 1.0f, dx1_d), "avgpool_bwd beta 1");
    pool_ctx p = {n, c, hw, to_double(x, nx), to_double(r, ny), host_doubles(ny)};
    pool_objective(&p);
    expect_close("avgpool y", dev_read(y_d, ny), p.y, ny, TOL_ATOL, TOL_RTOL);
    double *gx = fd_grad(pool_objective, &p, p.x, nx);
    expect_close("avgpool dx beta0", dev_read(dx_d, nx), gx, nx, TOL_ATOL, TOL_RTOL);
    expect_close("avgpool dx beta1", dev_read(dx1_d, nx), affine(d0, 1.0, gx, nx), nx, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

typedef struct { int n, classes; double scale; double *logits, *probs, *losses; const int32_t *targets; } xent_ctx;

/* scale * sum of the rows' losses -log softmax(logits)[target] */
static double xent_objective(void *vctx)
{
    xent_ctx *c = vctx;
    double total = 0.0;
    for (int i = 0; i < c->n; i++) {
        const double *l = c->logits + (size_t)i * c->classes;
        double mx = l[0], sum = 0.0;
        for (int j = 1; j < c->classes; j++) mx = l[j] > mx ? l[j] : mx;
        for (int j = 0; j < c->classes; j++) sum += exp(l[j] - mx);
        for (int j = 0; j < c->classes; j++) c->probs[(size_t)i * c->classes + j] = exp(l[j] - mx) / sum;
        c->losses[i] = log(sum) + mx - l[c->targets[i]];
        total += c->losses[i];
    }
    return c->scale * total;
}

static void test_softmax_xent(void)
{
    printf("softmax cross-entropy (backward vs central differences of scale * sum(loss))\n");
    const int n = 5, classes = 11;
    const size_t nl = (size_t)n * classes;
    int32_t targets[5] = {0, 10, 3, 3, 7};
    float *logits = host_random(nl, -4, 4);
    logits[2 * classes + 5] = 60.0f; /* a dominant logit: exp() would overflow without the max shift */
    float *l_d = dev_from(logits, nl), *p_d = dev_filled(nl, NAN), *loss_d = dev_filled(n, NAN);
    float *dl_d = dev_filled(nl, NAN);
    int32_t *t_d = dev_bytes(sizeof targets);
    expect_ok(ops_upload(&B, t_d, targets, sizeof targets), "upload targets");
    const float scale = 1.0f / n;
    expect_ok(ops_softmax_xent_fwd(&B, n, classes, l_d, t_d, p_d, loss_d), "softmax_xent_fwd");
    expect_ok(ops_softmax_xent_bwd(&B, n, classes, p_d, t_d, scale, dl_d), "softmax_xent_bwd");
    xent_ctx c = {n, classes, scale, to_double(logits, nl), host_doubles(nl), host_doubles(n), targets};
    xent_objective(&c);
    expect_close("softmax probs", dev_read(p_d, nl), c.probs, nl, TOL_ATOL, TOL_RTOL);
    expect_close("softmax_xent losses", dev_read(loss_d, n), c.losses, (size_t)n, TOL_ATOL, TOL_RTOL);
    expect_close("softmax_xent dlogits (assigned over NaN)", dev_read(dl_d, nl),
                 fd_grad(xent_objective, &c, c.logits, nl), nl, TOL_ATOL, TOL_RTOL);
    scratch_release();
}

// ----------------------------------------------------------------------------
// optimizers: two steps each

static void test_sgd(void)
{
    printf("sgd (torch.optim.SGD, dampening 0, no Nesterov)\n");
    const size_t n = 257;
    const ops_sgd_hparams h = {0.1f, 0.9f, 0.1f};
    float *p = host_random(n, -1, 1), *g1 = host_random(n, -1, 1), *g2 = host_random(n, -1, 1);
    /* element 0 worked by hand: p = 1, g = 0.5 then -0.25.
     * step 1: g' = 0.5 + 0.1*1 = 0.6, buf = 0.6, p = 1 - 0.06 = 0.94
     * step 2: g' = -0.25 + 0.1*0.94 = -0.156, buf = 0.54 - 0.156 = 0.384, p = 0.94 - 0.0384 = 0.9016 */
    p[0] = 1.0f;
    g1[0] = 0.5f;
    g2[0] = -0.25f;
    double *want_p = to_double(p, n), *want_buf = host_doubles(n);
    for (size_t i = 0; i < n; i++) {
        want_buf[i] = 0.0;
        for (int step = 0; step < 2; step++) {
            double g = (step ? g2[i] : g1[i]) + (double)h.weight_decay * want_p[i];
            want_buf[i] = (double)h.momentum * want_buf[i] + g;
            want_p[i] -= (double)h.lr * want_buf[i];
        }
    }
    /* 1e-6: the hyperparameters are the float32 ones, not the decimals above */
    CHECK(fabs(want_p[0] - 0.9016) < 1e-6 && fabs(want_buf[0] - 0.384) < 1e-6,
          "reference disagrees with the hand-worked step: p %.17g buf %.17g", want_p[0], want_buf[0]);
    float *p_d = dev_from(p, n), *buf_d = dev_filled(n, 0.0f), *g1_d = dev_from(g1, n), *g2_d = dev_from(g2, n);
    expect_ok(ops_sgd_step(&B, n, p_d, g1_d, buf_d, &h), "sgd_step 1");
    expect_ok(ops_sgd_step(&B, n, p_d, g2_d, buf_d, &h), "sgd_step 2");
    /* a few float roundings of O(1) values per step */
    expect_close("sgd param after 2 steps", dev_read(p_d, n), want_p, n, 1e-6, 1e-6);
    expect_close("sgd momentum buffer after 2 steps", dev_read(buf_d, n), want_buf, n, 1e-6, 1e-6);
    scratch_release();
}

static void test_adamw(void)
{
    printf("adamw (torch.optim.AdamW)\n");
    const size_t n = 257;
    const ops_adamw_hparams h1 = {0.1f, 0.9f, 0.999f, 1e-8f, 0.1f, 1}, h2 = {0.1f, 0.9f, 0.999f, 1e-8f, 0.1f, 2};
    float *p = host_random(n, -1, 1), *g1 = host_random(n, -1, 1), *g2 = host_random(n, -1, 1);
    /* element 0 worked by hand: p = 1, g = 0.5 then -0.25.
     * step 1: p = 1 - 0.1*0.1 = 0.99; m = 0.05, v = 0.00025; m^ = 0.5, v^ = 0.25;
     *         p = 0.99 - 0.1 * 0.5 / (0.5 + 1e-8) = 0.890000002
     * step 2: p = 0.89 * 0.99 = 0.8811; m = 0.045 - 0.025 = 0.02, v = 0.00024975 + 0.0000625 = 0.00031225;
     *         m^ = 0.02 / 0.19, v^ = 0.00031225 / 0.001999; p = 0.8811 - 0.1 * m^ / (sqrt(v^) + 1e-8) = 0.854466299 */
    p[0] = 1.0f;
    g1[0] = 0.5f;
    g2[0] = -0.25f;
    double *want_p = to_double(p, n), *want_m = host_doubles(n), *want_v = host_doubles(n);
    const double lr = h1.lr, b1 = h1.beta1, b2 = h1.beta2, eps = h1.eps, wd = h1.weight_decay;
    for (size_t i = 0; i < n; i++) {
        want_m[i] = want_v[i] = 0.0;
        for (int t = 1; t <= 2; t++) {
            double g = t == 2 ? g2[i] : g1[i];
            want_p[i] -= lr * wd * want_p[i];
            want_m[i] = b1 * want_m[i] + (1 - b1) * g;
            want_v[i] = b2 * want_v[i] + (1 - b2) * g * g;
            double mhat = want_m[i] / (1 - pow(b1, t)), vhat = want_v[i] / (1 - pow(b2, t));
            want_p[i] -= lr * mhat / (sqrt(vhat) + eps);
        }
    }
    /* 1e-6: the hyperparameters are the float32 ones, not the decimals above */
    CHECK(fabs(want_p[0] - 0.854466299) < 1e-6, "reference disagrees with the hand-worked step: p %.17g", want_p[0]);
    float *p_d = dev_from(p, n), *m_d = dev_filled(n, 0.0f), *v_d = dev_filled(n, 0.0f);
    float *g1_d = dev_from(g1, n), *g2_d = dev_from(g2, n);
    expect_ok(ops_adamw_step(&B, n, p_d, g1_d, m_d, v_d, &h1), "adamw_step 1");
    expect_ok(ops_adamw_step(&B, n, p_d, g2_d, m_d, v_d, &h2), "adamw_step 2");
    /* the update divides m^ by sqrt(v^) ~ |g|: relative float error ~1e-6 of lr */
    expect_close("adamw param after 2 steps", dev_read(p_d, n), want_p, n, 1e-6, 1e-6);
    expect_close("adamw m after 2 steps", dev_read(m_d, n), want_m, n, 1e-7, 1e-6);
    expect_close("adamw v after 2 steps", dev_read(v_d, n), want_v, n, 1e-9, 1e-6);
    scratch_release();
}

// ----------------------------------------------------------------------------
// fill, scale, axpy, copy

static void test_vector_ops(void)
{
    printf("fill / scale / axpy / copy\n");
    const size_t n = 1003;
    float *x = host_random(n, -1, 1), *y = host_random(n, -1, 1);
    float *x_d = dev_from(x, n), *y_d = dev_from(y, n), *f_d = dev_filled(n, NAN), *c_d = dev_filled(n, NAN);
    double *want = host_doubles(n);

    expect_ok(ops_fill(&B, n, f_d, 0.375f), "fill");
    for (size_t i = 0; i < n; i++) want[i] = 0.375;
    expect_close("fill over NaN", dev_read(f_d, n), want, n, 0.0, 0.0);

    expect_ok(ops_copy(&B, n, x_d, c_d), "copy");
    expect_close("copy over NaN", dev_read(c_d, n), to_double(x, n), n, 0.0, 0.0);

    expect_ok(ops_axpy(&B, n, -1.5f, x_d, y_d), "axpy");
    for (size_t i = 0; i < n; i++) want[i] = (double)y[i] - 1.5 * (double)x[i];
    expect_close("axpy y += -1.5 x", dev_read(y_d, n), want, n, TOL_ELEM_ATOL, TOL_ELEM_RTOL);

    expect_ok(ops_scale(&B, n, x_d, 0.3f), "scale");
    for (size_t i = 0; i < n; i++) want[i] = (double)x[i] * (double)0.3f;
    expect_close("scale x *= 0.3", dev_read(x_d, n), want, n, TOL_ELEM_ATOL, TOL_ELEM_RTOL);
    expect_ok(ops_scale(&B, n - 3, x_d + 3, 0.0f), "scale by 0");
    float *z = dev_read(x_d, n);
    CHECK(z[0] != 0.0f && z[3] == 0.0f && z[n - 1] == 0.0f, "scale by 0 over a sub-range");
    scratch_release();
}

// ----------------------------------------------------------------------------

int main(void)
{
    char why[256];
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    if (env && atoi(env) >= 1) THREADS = atoi(env);
    else setenv("OPENBLAS_NUM_THREADS", "1", 1);
    printf("cpu backend threads: %d\n", THREADS);
    ops_status st = ops_open(&B, "cpu", why, sizeof why);
    if (st != OPS_OK) {
        fprintf(stderr, "test_ops_grad: cannot open the cpu backend: %s\n", why);
        return 1;
    }
    const char *missing = NULL;
    CHECK(!ops_backend_missing_slot(B.i, &missing), "cpu backend leaves slot %s empty", missing);
    CHECK(B.i->destroy && B.i->synchronize, "cpu backend leaves an optional slot empty");
    const size_t capacity = (size_t)64 << 20;
    if (ops_reserve(&B, capacity, capacity) != OPS_OK) {
        fprintf(stderr, "test_ops_grad: cannot reserve %zu bytes: %s\n", capacity, ops_last_error());
        return 1;
    }

    test_basics();
    test_gemm();
    test_linear_grad();
    test_conv();
    test_norms();
    test_relu_add();
    test_avgpool();
    test_softmax_xent();
    test_sgd();
    test_adamw();
    test_vector_ops();

    CHECK(B.arena.live_bytes == 0, "%zu bytes still live: a scratch buffer leaked", B.arena.live_bytes);
    ops_close(&B);
    return CHECK_DONE();
}
