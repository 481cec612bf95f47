/* tests/test_cuda_host.c — the CUDA backend's host side, checked without a
 * GPU (runs in CI):
 *   (a) cuDNN descriptors built from every convolution and norm of every
 *       model configuration have the engine's dimensions;
 *   (b) every described cuBLAS call, executed with column-major cblas_sgemm,
 *       equals the CPU backend's row-major ops_gemm;
 *   (c) launch configurations visit every element / row exactly once and
 *       stay within the device limits, vectorising only aligned pointers;
 *       GroupNorm's two-pass parameter reduction sums every value once;
 *   (d) the function table has no empty required slot, and every optional
 *       slot is filled; the algorithm names;
 *   (e) without a GPU, create fails cleanly with a one-line reason; library
 *       version queries and the check macros work; the measurement slots
 *       degrade (CUPTI and NVML unavailable, with reasons) instead of
 *       failing;
 *   (f) the convolution algorithm choice: the heuristic workspace limit,
 *       heuristic and find picks over fabricated perf results, and the
 *       math type each runs with.
 * Tolerances are stated where used: |got - want| <= atol + rtol * |want|. */
#include "check.h"
#include "model.h"
#include "ops.h"
#include "cuda/cuda_backend.h"
#include "cuda/cuda_check.h"
#include "cuda/cuda_internal.h"
#include "cuda/cudnn_desc.h"
#include "cuda/gemm_desc.h"
#include "cuda/launch.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// helpers

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static int dims_eq(const int got[4], int a, int b, int c, int d)
{
    return got[0] == a && got[1] == b && got[2] == c && got[3] == d;
}

// ----------------------------------------------------------------------------
// (a) descriptors against the engine's shapes

#define SHAPES_CAP 512

static void check_model_descriptors(const model_config *cfg, int n, const char *what)
{
    static ops_conv_shape convs[SHAPES_CAP];
    static ops_norm_shape norms[SHAPES_CAP];
    size_t nc = model_conv_shapes(cfg, n, convs, SHAPES_CAP);
    size_t nn = model_norm_shapes(cfg, n, norms, SHAPES_CAP);
    CHECK(nc <= SHAPES_CAP && nn <= SHAPES_CAP, "%s: %zu convs, %zu norms over the table", what, nc, nn);
    if (nc > SHAPES_CAP || nn > SHAPES_CAP) return;
    if (cfg->kind == MODEL_MLP) {
        CHECK(nc == 0 && nn == 0, "%s: mlp has %zu convs, %zu norms", what, nc, nn);
        return;
    }
    CHECK(nc > 0, "%s: a cnn without convolutions", what);
    CHECK(nn == (cfg->norm == NORM_NONE ? 0 : nc), "%s: %zu norms for %zu convs", what, nn, nc);
    for (size_t i = 0; i < nc; i++) {
        const ops_conv_shape *s = &convs[i];
        CHECK(s->n == n, "%s conv %zu: n %d", what, i, s->n);
        CHECK(cuda_conv_shape_problem(s) == NULL, "%s conv %zu: %s", what, i, cuda_conv_shape_problem(s));
        cuda_conv_descs d;
        cudnnStatus_t st = cuda_conv_descs_build(&d, s, cuda_conv_math(0));
        CHECK(st == CUDNN_STATUS_SUCCESS, "%s conv %zu: build: %s", what, i, cudnnGetErrorString(st));
        if (st != CUDNN_STATUS_SUCCESS) continue;
        int y[4] = {0}, x[4] = {0};
        CHECK(cuda_conv_descs_out_dims(&d, y) == CUDNN_STATUS_SUCCESS, "%s conv %zu: y dims", what, i);
        CHECK(dims_eq(y, s->n, s->k, s->p, s->q), "%s conv %zu: cuDNN y (%d,%d,%d,%d), engine (%d,%d,%d,%d)", what, i,
              y[0], y[1], y[2], y[3], s->n, s->k, s->p, s->q);
        CHECK(cuda_tensor_dims(d.x, x) == CUDNN_STATUS_SUCCESS && dims_eq(x, s->n, s->c, s->h, s->w),
              "%s conv %zu: x (%d,%d,%d,%d)", what, i, x[0], x[1], x[2], x[3]);
        cudnnDataType_t type;
        cudnnTensorFormat_t fmt;
        int k, c, r, q;
        CHECK(cudnnGetFilter4dDescriptor(d.w, &type, &fmt, &k, &c, &r, &q) == CUDNN_STATUS_SUCCESS && k == s->k &&
                  c == s->c && r == s->r && q == s->r && type == CUDNN_DATA_FLOAT && fmt == CUDNN_TENSOR_NCHW,
              "%s conv %zu: filter", what, i);
        int ph, pw, u, v, dh, dw;
        cudnnConvolutionMode_t mode;
        cudnnDataType_t ctype;
        cudnnMathType_t math;
        CHECK(cudnnGetConvolution2dDescriptor(d.conv, &ph, &pw, &u, &v, &dh, &dw, &mode, &ctype) ==
                      CUDNN_STATUS_SUCCESS &&
                  ph == s->pad && pw == s->pad && u == s->stride && v == s->stride && dh == 1 && dw == 1 &&
                  mode == CUDNN_CROSS_CORRELATION && ctype == CUDNN_DATA_FLOAT,
              "%s conv %zu: convolution descriptor", what, i);
        CHECK(cudnnGetConvolutionMathType(d.conv, &math) == CUDNN_STATUS_SUCCESS && math == CUDNN_FMA_MATH,
              "%s conv %zu: fp32 must be CUDNN_FMA_MATH", what, i);
        cuda_conv_descs_destroy(&d);
        CHECK(d.x == NULL && d.y == NULL && d.w == NULL && d.conv == NULL, "%s conv %zu: destroy", what, i);

        if (i < nn) { /* each conv feeds the norm of the same index: (n, k, p*q) */
            const ops_norm_shape *ns = &norms[i];
            CHECK(ns->n == y[0] && ns->c == y[1] && ns->hw == y[2] * y[3],
                  "%s norm %zu (%d,%d,%d) after conv output (%d,%d,%d)", what, i, ns->n, ns->c, ns->hw, y[0], y[1],
                  y[2] * y[3]);
        }
    }
    for (size_t i = 0; i < nn; i++) {
        const ops_norm_shape *s = &norms[i];
        if (cfg->norm == NORM_BATCH) {
            CHECK(cuda_bn_shape_problem(s) == NULL, "%s bn %zu: %s", what, i, cuda_bn_shape_problem(s));
            cuda_bn_descs d;
            cudnnStatus_t st = cuda_bn_descs_build(&d, s);
            CHECK(st == CUDNN_STATUS_SUCCESS, "%s bn %zu: build: %s", what, i, cudnnGetErrorString(st));
            if (st != CUDNN_STATUS_SUCCESS) continue;
            int x[4] = {0}, b[4] = {0};
            CHECK(cuda_tensor_dims(d.x, x) == CUDNN_STATUS_SUCCESS && dims_eq(x, s->n, s->c, s->hw, 1),
                  "%s bn %zu: x (%d,%d,%d,%d)", what, i, x[0], x[1], x[2], x[3]);
            CHECK(cuda_tensor_dims(d.bn, b) == CUDNN_STATUS_SUCCESS && dims_eq(b, 1, s->c, 1, 1),
                  "%s bn %zu: derived (%d,%d,%d,%d), want (1,%d,1,1)", what, i, b[0], b[1], b[2], b[3], s->c);
            CHECK(s->eps >= (float)CUDNN_BN_MIN_EPSILON && s->momentum > 0.0f && s->momentum <= 1.0f,
                  "%s bn %zu: eps %g momentum %g", what, i, (double)s->eps, (double)s->momentum);
            cuda_bn_descs_destroy(&d);
        } else {
            /* GroupNorm runs on own kernels: one block per (sample, group) */
            CHECK(s->groups > 0 && s->c % s->groups == 0, "%s gn %zu: c %d groups %d", what, i, s->c, s->groups);
            cuda_limits lim = {2147483647u, 1024u, 132u};
            cuda_row_plan p = cuda_row_plan_make((long long)s->n * s->groups, CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, &lim);
            CHECK(p.grid == (unsigned)(s->n * s->groups) && p.rows_per_block == 1, "%s gn %zu: grid %u", what, i,
                  p.grid);
        }
    }
}

static void test_descriptors(void)
{
    static const int batches[] = {1, 3, 32};
    static const int widths[] = {8, 16};
    static const norm_kind norms[] = {NORM_BATCH, NORM_GROUP, NORM_NONE};
    int configs = 0;
    for (int bi = 0; bi < 3; bi++) {
        int n = batches[bi];
        model_config mlp = {MODEL_MLP, 3072, 1024, 3, 0, 0, 0, NORM_NONE, 0, 0, 0, 0, RECOMPUTE_NONE};
        check_model_descriptors(&mlp, n, "mlp");
        for (int stages = 1; stages <= 4; stages++)
            for (int blocks = 1; blocks <= 2; blocks++)
                for (int wi = 0; wi < 2; wi++)
                    for (int ni = 0; ni < 3; ni++) {
                        model_config c = {MODEL_CNN, 0, 0, 0, widths[wi], stages, blocks, norms[ni], 0, 0, 0, 0, RECOMPUTE_NONE};
                        char what[96];
                        snprintf(what, sizeof what, "cnn w%d s%d b%d norm%d n%d", c.width, stages, blocks,
                                 (int)c.norm, n);
                        check_model_descriptors(&c, n, what);
                        configs++;
                    }
    }
    /* a shape the descriptors cannot take fails without leaking */
    cuda_conv_descs d;
    ops_conv_shape bad = ops_conv_make(2, 3, 8, 8, 4, 3, 1, 1);
    bad.stride = 0;
    CHECK(cuda_conv_shape_problem(&bad) != NULL, "stride 0 accepted");
    CHECK(cuda_conv_descs_build(&d, &bad, CUDNN_FMA_MATH) == CUDNN_STATUS_BAD_PARAM && d.x == NULL,
          "stride 0 built");
    /* a shape cuDNN disagrees with shows in the dimensions */
    ops_conv_shape off = ops_conv_make(2, 3, 8, 8, 4, 3, 1, 1);
    off.p = 7;
    int y[4];
    CHECK(cuda_conv_descs_build(&d, &off, CUDNN_FMA_MATH) == CUDNN_STATUS_SUCCESS, "build");
    CHECK(cuda_conv_descs_out_dims(&d, y) == CUDNN_STATUS_SUCCESS && y[2] == 8, "cuDNN p %d", y[2]);
    cuda_conv_descs_destroy(&d);
    /* tf32 sets CUDNN_DEFAULT_MATH on the descriptor */
    ops_conv_shape ok = ops_conv_make(2, 3, 8, 8, 4, 3, 1, 1);
    cudnnMathType_t math = CUDNN_FMA_MATH;
    CHECK(cuda_conv_descs_build(&d, &ok, cuda_conv_math(1)) == CUDNN_STATUS_SUCCESS &&
              cudnnGetConvolutionMathType(d.conv, &math) == CUDNN_STATUS_SUCCESS && math == CUDNN_DEFAULT_MATH,
          "tf32 math %d", (int)math);
    cuda_conv_descs_destroy(&d);
    /* BatchNorm shapes it refuses */
    ops_norm_shape one = {1, 4, 1, 1, 1e-5f, 0.1f}, neg = {2, 4, 4, 1, -1.0f, 0.1f};
    CHECK(cuda_bn_shape_problem(&one) != NULL, "n*hw == 1 accepted");
    CHECK(cuda_bn_shape_problem(&neg) != NULL, "negative eps accepted");
    cuda_bn_descs bd;
    CHECK(cuda_bn_descs_build(&bd, &one) == CUDNN_STATUS_BAD_PARAM && bd.x == NULL, "n*hw == 1 built");
    printf("(a) descriptors: %d cnn configurations x 3 micro-batch sizes checked\n", configs / 3);
}

// ----------------------------------------------------------------------------
// (b) GEMM descriptions: column-major cblas_sgemm vs the CPU backend

/* Both sides are OpenBLAS SGEMM over the same data and differ only in the
 * layout the call sees, so at most the summation order differs (another
 * kernel for the transposed case). Inputs in [-1, 1), k <= 3072: sums of
 * magnitude < 60, float rounding well under 1e-4. */
#define GEMM_ATOL 1e-4
#define GEMM_RTOL 1e-5

static int gemm_cases;

static void check_gemm(ops_backend *cpu, const ops_gemm_desc *d, const char *what)
{
    cuda_gemm_colmajor g = cuda_gemm_describe(d);
    CHECK(g.ok, "%s: describe: %s", what, g.why ? g.why : "?");
    if (!g.ok) return;
    CHECK(g.b_first == 1 && g.m == d->n && g.n == d->m && g.k == d->k, "%s: sizes", what);
    size_t rows_a = (size_t)(d->trans_a ? d->k : d->m), rows_b = (size_t)(d->trans_b ? d->n : d->k);
    size_t na = rows_a * d->lda, nb = rows_b * d->ldb, nc = (size_t)d->m * d->ldc;
    size_t bytes = (na + nb + 2 * nc + 1) * sizeof(float);
    float *ha = malloc(bytes);
    if (!ha) {
        CHECK(0, "%s: out of host memory", what);
        return;
    }
    float *hb = ha + na, *hc_ref = hb + nb, *hc_col = hc_ref + nc;
    for (size_t i = 0; i < na; i++) ha[i] = frand();
    for (size_t i = 0; i < nb; i++) hb[i] = frand();
    for (size_t i = 0; i < nc; i++) hc_ref[i] = frand();
    /* beta == 0: C is not read, so garbage in the written part must vanish */
    if (d->beta == 0.0f)
        for (size_t r = 0; r < (size_t)d->m; r++)
            for (size_t j = 0; j < (size_t)d->n; j++) hc_ref[r * d->ldc + j] = NAN;
    memcpy(hc_col, hc_ref, nc * sizeof(float));

    float *da = NULL, *db = NULL, *dc = NULL;
    ops_status st = ops_alloc(cpu, na * sizeof(float), (void **)&da);
    if (st == OPS_OK) st = ops_alloc(cpu, nb * sizeof(float), (void **)&db);
    if (st == OPS_OK) st = ops_alloc(cpu, nc * sizeof(float), (void **)&dc);
    if (st == OPS_OK) st = ops_upload(cpu, da, ha, na * sizeof(float));
    if (st == OPS_OK) st = ops_upload(cpu, db, hb, nb * sizeof(float));
    if (st == OPS_OK) st = ops_upload(cpu, dc, hc_ref, nc * sizeof(float));
    if (st == OPS_OK) st = ops_gemm(cpu, d, da, db, dc);
    if (st == OPS_OK) st = ops_download(cpu, hc_ref, dc, nc * sizeof(float));
    CHECK(st == OPS_OK, "%s: cpu gemm: %s", what, ops_last_error());

    if (!g.empty) {
        const float *first = g.b_first ? hb : ha, *second = g.b_first ? ha : hb;
        cblas_sgemm(CblasColMajor, g.transa ? CblasTrans : CblasNoTrans, g.transb ? CblasTrans : CblasNoTrans, g.m,
                    g.n, g.k, g.alpha, first, g.lda, second, g.ldb, g.beta, hc_col, g.ldc);
    }
    int bad = 0;
    double max_diff = 0.0;
    for (size_t i = 0; i < nc; i++) {
        double got = hc_col[i], want = hc_ref[i], diff = fabs(got - want);
        int same_nan = isnan(got) && isnan(want);
        if (!same_nan && diff > max_diff) max_diff = diff;
        if (!same_nan && !(diff <= GEMM_ATOL + GEMM_RTOL * fabs(want))) {
            if (bad < 5)
                fprintf(stderr, "%s: C[%zu][%zu] col-major %.9g cpu %.9g\n", what, i / d->ldc, i % d->ldc, got,
                        want);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %d of %zu mismatches, max diff %.3g", what, bad, nc, max_diff);
    ops_free(cpu, dc);
    ops_free(cpu, db);
    ops_free(cpu, da);
    free(ha);
    gemm_cases++;
}

static void test_gemm(void)
{
    ops_backend cpu;
    char why[256];
    if (ops_open(&cpu, "cpu", why, sizeof why) != OPS_OK) {
        CHECK(0, "cpu backend: %s", why);
        return;
    }
    if (ops_reserve(&cpu, (size_t)256 << 20, (size_t)256 << 20) != OPS_OK) {
        CHECK(0, "cpu reserve: %s", ops_last_error());
        ops_close(&cpu);
        return;
    }
    /* every GEMM one forward+backward issues, for both models */
    static const model_config cfgs[] = {
        {MODEL_MLP, 3072, 1024, 3, 0, 0, 0, NORM_NONE, 0, 0, 0, 0, RECOMPUTE_NONE},
        {MODEL_MLP, 37, 19, 2, 0, 0, 0, NORM_NONE, 0, 0, 0, 0, RECOMPUTE_NONE},
        {MODEL_CNN, 0, 0, 0, 16, 3, 2, NORM_BATCH, 0, 0, 0, 0, RECOMPUTE_NONE},
        {MODEL_CNN, 0, 0, 0, 8, 1, 1, NORM_GROUP, 0, 0, 0, 0, RECOMPUTE_NONE},
    };
    static const int batches[] = {1, 3, 32};
    ops_gemm_desc descs[64];
    for (size_t ci = 0; ci < sizeof cfgs / sizeof cfgs[0]; ci++)
        for (int bi = 0; bi < 3; bi++) {
            size_t n = model_gemm_descs(&cfgs[ci], batches[bi], descs, 64);
            CHECK(n > 0 && n <= 64, "config %zu: %zu gemms", ci, n);
            for (size_t i = 0; i < n && i < 64; i++) {
                char what[64];
                snprintf(what, sizeof what, "model %zu n=%d gemm %zu", ci, batches[bi], i);
                check_gemm(&cpu, &descs[i], what);
            }
        }
    /* every transpose combination, padded leading dimensions, alpha/beta */
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 3; bi++) {
                static const float alphas[] = {1.0f, -0.5f, 2.0f}, betas[] = {0.0f, 1.0f, 0.25f};
                int m = 7, n = 5, k = 9, pad = 3 + bi;
                ops_gemm_desc d = {ta, tb, m, n, k, (ta ? m : k) + pad, (tb ? k : n) + pad, n + pad, alphas[bi],
                                   betas[bi]};
                char what[64];
                snprintf(what, sizeof what, "trans %d%d alpha %g beta %g", ta, tb, (double)d.alpha, (double)d.beta);
                check_gemm(&cpu, &d, what);
                ops_gemm_desc tight = {ta, tb, 33, 1, 17, ta ? 33 : 17, tb ? 17 : 1, 1, 1.0f, betas[bi]};
                check_gemm(&cpu, &tight, "n = 1");
                ops_gemm_desc kzero = {ta, tb, 4, 3, 0, ta ? 4 : 1, tb ? 1 : 3, 3, 1.0f, betas[bi]};
                check_gemm(&cpu, &kzero, "k = 0");
            }
    ops_gemm_desc empty = {0, 0, 0, 5, 3, 3, 5, 5, 1.0f, 0.0f};
    CHECK(cuda_gemm_describe(&empty).ok && cuda_gemm_describe(&empty).empty, "m = 0 not empty");
    /* invalid descriptions are refused, as the CPU backend refuses them */
    static const ops_gemm_desc invalid[] = {
        {0, 0, 4, 5, 6, 5, 5, 5, 1.0f, 0.0f}, /* lda < k */
        {1, 0, 4, 5, 6, 3, 5, 5, 1.0f, 0.0f}, /* lda < m (A^T) */
        {0, 0, 4, 5, 6, 6, 4, 5, 1.0f, 0.0f}, /* ldb < n */
        {0, 1, 4, 5, 6, 6, 5, 5, 1.0f, 0.0f}, /* ldb < k (B^T) */
        {0, 0, 4, 5, 6, 6, 5, 4, 1.0f, 0.0f}, /* ldc < n */
        {0, 0, -1, 5, 6, 6, 5, 5, 1.0f, 0.0f},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        cuda_gemm_colmajor g = cuda_gemm_describe(&invalid[i]);
        CHECK(!g.ok && g.why, "invalid gemm %zu accepted", i);
        CHECK(ops_gemm(&cpu, &invalid[i], NULL, NULL, NULL) == OPS_ERR_INVALID, "cpu accepted invalid gemm %zu", i);
    }
    ops_close(&cpu);
    printf("(b) gemm: %d described calls equal the CPU backend (atol %g, rtol %g)\n", gemm_cases, GEMM_ATOL,
           GEMM_RTOL);
}

// ----------------------------------------------------------------------------
// (c) launch configurations

static const cuda_limits limit_sets[] = {
    {2147483647u, 1024u, 132u}, /* H100 SXM */
    {65535u, 1024u, 2u},        /* few SMs, small grid: many grid-stride turns */
    {2147483647u, 128u, 1u},    /* block limit under the default block */
};

/* Simulates the kernels' loops (launch.h helpers) and counts every visit. */
static void ew_cover(size_t n, int vectorise, const cuda_limits *lim)
{
    cuda_ew_plan p = cuda_ew_plan_make(n, vectorise, lim);
    CHECK(p.block >= 1 && p.block <= lim->max_block && p.block <= 1024, "ew n=%zu block %u", n, p.block);
    CHECK(p.grid <= lim->max_grid_x, "ew n=%zu grid %u", n, p.grid);
    CHECK((n == 0) == (p.grid == 0), "ew n=%zu grid %u", n, p.grid);
    CHECK(p.n == n && p.n_vec == (vectorise ? n / 4 : 0), "ew n=%zu n_vec %zu", n, p.n_vec);
    if (!p.grid) return;
    unsigned char *seen = calloc(n, 1);
    if (!seen) {
        CHECK(0, "out of host memory");
        return;
    }
    size_t stride = cuda_ew_stride(p.grid, p.block);
    for (unsigned b = 0; b < p.grid; b++)
        for (unsigned t = 0; t < p.block; t++) {
            size_t first = cuda_ew_first(b, p.block, t);
            for (size_t v = first; v < p.n_vec; v += stride)
                for (int j = 0; j < 4; j++) seen[4 * v + j]++;
            for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) seen[i]++;
        }
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += seen[i] != 1;
    CHECK(wrong == 0, "ew n=%zu vec=%d: %zu elements not visited exactly once", n, vectorise, wrong);
    free(seen);
}

/* Past 2^31 elements: count per thread instead of marking (the index
 * sets of a grid-stride loop are disjoint by construction; the counts show
 * that together they reach exactly n). */
static void ew_cover_large(size_t n, int vectorise, const cuda_limits *lim)
{
    cuda_ew_plan p = cuda_ew_plan_make(n, vectorise, lim);
    CHECK(p.grid >= 1 && p.grid <= lim->max_grid_x && p.block <= lim->max_block, "large n=%zu grid %u block %u", n,
          p.grid, p.block);
    size_t stride = cuda_ew_stride(p.grid, p.block), total = 0, last = 0;
    for (unsigned b = 0; b < p.grid; b++)
        for (unsigned t = 0; t < p.block; t++) {
            size_t first = cuda_ew_first(b, p.block, t);
            if (first < p.n_vec) {
                size_t iters = (p.n_vec - first + stride - 1) / stride;
                total += 4 * iters;
                size_t top = first + (iters - 1) * stride;
                if (4 * top + 3 > last) last = 4 * top + 3;
            }
            size_t ti = cuda_ew_tail_begin(&p) + first;
            if (ti < p.n) {
                size_t iters = (p.n - ti + stride - 1) / stride;
                total += iters;
                size_t top = ti + (iters - 1) * stride;
                if (top > last) last = top;
            }
        }
    CHECK(total == n && last == n - 1, "large n=%zu vec=%d: visits %zu, last index %zu", n, vectorise, total, last);
}

static void row_cover(long long rows, unsigned tpr, unsigned block, const cuda_limits *lim)
{
    cuda_row_plan p = cuda_row_plan_make(rows, tpr, block, lim);
    CHECK(p.rows_per_block == block / tpr, "rows=%lld tpr=%u: rows_per_block %u", rows, tpr, p.rows_per_block);
    CHECK(p.grid <= lim->max_grid_x && p.block <= lim->max_block && p.block <= 1024, "rows=%lld grid %u block %u",
          rows, p.grid, p.block);
    CHECK((rows == 0) == (p.grid == 0), "rows=%lld grid %u", rows, p.grid);
    if (!p.grid) return;
    unsigned *lanes = calloc((size_t)rows, sizeof *lanes);
    unsigned char *lane0 = calloc((size_t)rows, 1);
    if (!lanes || !lane0) {
        CHECK(0, "out of host memory");
        free(lanes);
        free(lane0);
        return;
    }
    int uniform = 1;
    for (unsigned b = 0; b < p.grid; b++) {
        for (unsigned t = 0; t < p.block; t++) {
            long long r0 = cuda_row_first(&p, b, 0);
            long long rt = cuda_row_first(&p, b, t);
            /* a block-per-row loop must be uniform over the block (__syncthreads) */
            if (tpr == block && rt != r0) uniform = 0;
            for (long long row = rt; row < p.rows; row += cuda_row_stride(&p, p.grid)) {
                lanes[row]++;
                if (cuda_row_lane(&p, t) == 0) lane0[row]++;
            }
        }
    }
    long long wrong = 0;
    for (long long r = 0; r < rows; r++) wrong += lanes[r] != tpr || lane0[r] != 1;
    CHECK(wrong == 0, "rows=%lld tpr=%u block=%u: %lld rows not covered by exactly one row team", rows, tpr, block,
          wrong);
    CHECK(uniform, "rows=%lld: block-per-row loop not uniform", rows);
    free(lanes);
    free(lane0);
}

static void test_launch(void)
{
    static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 7, 8, 255, 256, 257, 1023, 1024, 4099, (1u << 16) + 3,
                                   1000003};
    for (size_t li = 0; li < sizeof limit_sets / sizeof limit_sets[0]; li++) {
        const cuda_limits *lim = &limit_sets[li];
        for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
            ew_cover(sizes[i], 0, lim);
            ew_cover(sizes[i], 1, lim);
        }
        if (sizeof(size_t) >= 8) {
            static const unsigned long long large[] = {(1ull << 31) + 5, (1ull << 32) + 3, 5000000001ull};
            for (int i = 0; i < 3; i++) {
                ew_cover_large((size_t)large[i], 0, lim);
                ew_cover_large((size_t)large[i], 1, lim);
            }
        }
        static const long long rows[] = {0, 1, 7, 8, 9, 255, 1000, 70001};
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            row_cover(rows[i], 1, lim->max_block < 128 ? lim->max_block : 128, lim); /* softmax: thread per row */
            row_cover(rows[i], 32, lim->max_block < 256 ? lim->max_block : 256, lim); /* avgpool: warp per row */
            if (CUDA_NORM_BLOCK <= lim->max_block) row_cover(rows[i], CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, lim);
        }
    }
    /* a grid limit far below the rows forces the block-stride loop */
    cuda_limits tiny = {3u, 1024u, 1u};
    row_cover(1000, CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, &tiny);
    row_cover(1000, 32, 256, &tiny);
    ew_cover(100003, 1, &tiny);
    /* requests no launch can serve */
    cuda_limits lim = limit_sets[0];
    CHECK(cuda_row_plan_make(10, 32, 2048, &lim).rows_per_block == 0, "block over the limit accepted");
    CHECK(cuda_row_plan_make(10, 3, 256, &lim).rows_per_block == 0, "threads per row not dividing block");
    CHECK(cuda_row_plan_make(-1, 1, 128, &lim).grid == 0, "negative rows");
    CHECK((CUDA_NORM_BLOCK & (CUDA_NORM_BLOCK - 1)) == 0 && CUDA_NORM_BLOCK <= 1024, "norm block not a power of 2");
    /* vectorised only when every pointer is 16-byte aligned */
    float *buf = aligned_alloc(16, 64 * sizeof(float));
    if (!buf) {
        CHECK(0, "out of host memory");
        return;
    }
    const void *aligned[3] = {buf, buf + 4, NULL};
    const void *mis[3] = {buf, buf + 1, NULL};
    const void *mis2[2] = {buf + 2, buf + 8};
    CHECK(cuda_ptrs_aligned16(aligned, 3) == 1, "aligned pointers refused");
    CHECK(cuda_ptrs_aligned16(mis, 3) == 0, "misaligned pointer accepted");
    CHECK(cuda_ptrs_aligned16(mis2, 2) == 0, "misaligned first pointer accepted");
    CHECK(cuda_ptrs_aligned16(mis, 0) == 1, "no pointers");
    cuda_ew_plan p = cuda_ew_plan_make(1001, cuda_ptrs_aligned16(mis, 3), &lim);
    CHECK(p.n_vec == 0, "misaligned launch vectorised");
    free(buf);
    printf("(c) launch configurations cover every element and row exactly once\n");
}

/* GroupNorm's parameter passes simulated with the kernels' loop helpers:
 * pass 1 visits every (channel, sample, position) exactly once and writes
 * each partial slot once, inside the scratch; pass 2 reads, per channel,
 * exactly its chunks' slots. Also the sizing: enough blocks where n allows,
 * no block under CUDA_NORM_BLOCK values, the scratch respected. */
static void gn_param_cover(int n, int c, int hw, size_t scratch, const cuda_limits *lim)
{
    cuda_gn_param_plan p = cuda_gn_param_plan_make(n, c, hw, scratch, lim);
    char what[96];
    snprintf(what, sizeof what, "gn param n=%d c=%d hw=%d scratch=%zu sm=%u", n, c, hw, scratch, lim->sm_count);
    CHECK(p.chunks >= 1 && p.chunks <= n && (long long)p.chunks * p.chunk_n >= n &&
              (long long)(p.chunks - 1) * p.chunk_n < n,
          "%s: %d chunks of %d", what, p.chunks, p.chunk_n);
    CHECK(p.scratch_bytes <= scratch && p.scratch_bytes == (p.chunks > 1 ? (size_t)c * p.chunks * 2 * sizeof(float) : 0),
          "%s: scratch %zu", what, p.scratch_bytes);
    if (p.chunks > 1) {
        CHECK((long long)p.chunk_n * hw >= (long long)CUDA_NORM_BLOCK, "%s: a block sums %d values", what,
              p.chunk_n * hw);
        CHECK((long long)c * p.chunks <= (long long)CUDA_GN_PARAM_BLOCKS_PER_SM * lim->sm_count + c,
              "%s: %d blocks, more than needed", what, c * p.chunks);
    }
    /* as many blocks as wanted when samples and scratch allow */
    long long want = CEIL_DIV((long long)CUDA_GN_PARAM_BLOCKS_PER_SM * lim->sm_count, c);
    long long room = (long long)(scratch / ((size_t)c * 2 * sizeof(float)));
    long long by_work = n / CEIL_DIV((long long)CUDA_NORM_BLOCK, hw);
    if (want <= by_work && want <= room && want >= 2)
        CHECK((long long)c * p.chunks >= (long long)CUDA_GN_PARAM_BLOCKS_PER_SM * lim->sm_count,
              "%s: only %d blocks", what, c * p.chunks);
    CHECK(p.partial.grid >= 1 && p.partial.grid <= lim->max_grid_x && p.partial.block == CUDA_NORM_BLOCK &&
              p.partial.rows == (long long)c * p.chunks,
          "%s: partial plan grid %u rows %lld", what, p.partial.grid, p.partial.rows);

    size_t cells = (size_t)c * n * hw, slots = (size_t)c * p.chunks * 2;
    unsigned char *seen = calloc(cells, 1), *written = calloc(slots, 1), *read = calloc(slots, 1);
    if (!seen || !written || !read) {
        CHECK(0, "out of host memory");
        free(seen), free(written), free(read);
        return;
    }
    for (unsigned b = 0; b < p.partial.grid; b++)
        for (unsigned t = 0; t < p.partial.block; t++)
            for (long long row = cuda_row_first(&p.partial, b, t); row < p.partial.rows;
                 row += cuda_row_stride(&p.partial, p.partial.grid)) {
                int ch = cuda_gn_param_channel(&p, row);
                unsigned lane = cuda_row_lane(&p.partial, t);
                for (int ni = cuda_gn_param_first(&p, row); ni < cuda_gn_param_end(&p, row); ni++)
                    for (size_t i = lane; i < (size_t)hw; i += p.partial.block) seen[((size_t)ch * n + ni) * hw + i]++;
                if (lane == 0 && p.chunks > 1) written[2 * row]++, written[2 * row + 1]++;
            }
    size_t wrong = 0, wrong_slots = 0;
    for (size_t i = 0; i < cells; i++) wrong += seen[i] != 1;
    if (p.chunks > 1) {
        CHECK(p.reduce.grid >= 1 && p.reduce.rows == c && p.reduce.threads_per_row == 1, "%s: reduce plan", what);
        for (unsigned b = 0; b < p.reduce.grid; b++)
            for (unsigned t = 0; t < p.reduce.block; t++)
                for (long long row = cuda_row_first(&p.reduce, b, t); row < p.reduce.rows;
                     row += cuda_row_stride(&p.reduce, p.reduce.grid))
                    for (int k = 0; k < p.chunks; k++) {
                        size_t slot = 2 * ((size_t)row * p.chunks + k);
                        read[slot]++, read[slot + 1]++;
                        /* the slot pass 1 filled for this channel's chunk k */
                        wrong_slots += cuda_gn_param_channel(&p, (long long)row * p.chunks + k) != row;
                    }
        for (size_t i = 0; i < slots; i++) wrong_slots += written[i] != 1 || read[i] != 1;
    } else {
        CHECK(p.reduce.grid == 0, "%s: a reduce pass with one chunk", what);
    }
    CHECK(wrong == 0, "%s: %zu values not summed exactly once", what, wrong);
    CHECK(wrong_slots == 0, "%s: %zu partial slots not written and read exactly once", what, wrong_slots);
    free(seen), free(written), free(read);
}

static void test_gn_param_plan(void)
{
    const size_t ws = (size_t)32 << 20;     /* the library workspace */
    for (size_t li = 0; li < sizeof limit_sets / sizeof limit_sets[0]; li++) {
        const cuda_limits *lim = &limit_sets[li];
        if (lim->max_block < CUDA_NORM_BLOCK) continue;
        gn_param_cover(128, 64, 1024, ws, lim);    /* ResNet-18 widths, n = 128 */
        gn_param_cover(128, 128, 256, ws, lim);
        gn_param_cover(128, 512, 16, ws, lim);
        gn_param_cover(32, 64, 16, ws, lim);
        gn_param_cover(3, 32, 256, ws, lim);
        gn_param_cover(1, 8, 1, ws, lim);
        gn_param_cover(127, 64, 1, ws, lim);       /* tiny positions: chunks of >= 256 samples */
        gn_param_cover(128, 64, 1024, 0, lim);     /* no scratch: one chunk */
        gn_param_cover(128, 64, 1024, 64 * 2 * sizeof(float) * 3, lim); /* room for 3 chunks */
    }
    cuda_limits h200 = {2147483647u, 1024u, 132u};
    cuda_gn_param_plan p = cuda_gn_param_plan_make(128, 64, 1024, ws, &h200);
    CHECK(p.chunks == 9 && p.chunk_n == 15 && p.partial.grid == 576, "H200-like, c=64 n=128: %d chunks of %d, grid %u",
          p.chunks, p.chunk_n, p.partial.grid);
    printf("(c) GroupNorm parameter passes: every value summed once, partials written and read once "
           "(c=64, n=128 on 132 SMs: %d chunks, %u blocks)\n", p.chunks, p.partial.grid);
}

// ----------------------------------------------------------------------------
// (d) function table, (e) no GPU, versions, checks

static ops_status check_cuda_oom(void) { CUDA_CHECK(cudaErrorMemoryAllocation); return OPS_OK; }
static ops_status check_cuda_ok(void) { CUDA_CHECK(cudaSuccess); return OPS_OK; }
static ops_status check_cublas(cublasStatus_t s) { CUBLAS_CHECK(s); return OPS_OK; }
static ops_status check_cudnn(cudnnStatus_t s) { CUDNN_CHECK(s); return OPS_OK; }
static ops_status check_cupti(CUptiResult r) { CUPTI_CHECK(r); return OPS_OK; }

static void test_optional_slots(void)
{
    const ops_backend_i *i = &cuda_backend_i;
#define FILLED(slot) CHECK(i->slot != NULL, "optional slot %s is empty", #slot)
    FILLED(set_math);
    FILLED(library_workspace_bytes);
    FILLED(set_library_workspace);
    FILLED(conv_find);
    FILLED(conv_choice);
    FILLED(phase_changed);
    FILLED(timer_start);
    FILLED(timer_stop);
    FILLED(profile_begin);
    FILLED(profile_end);
    FILLED(device_memory);
    FILLED(device_memory_reset);
    FILLED(device_state);
    FILLED(pool_alloc);
    FILLED(pool_free);
#undef FILLED
    CHECK(i->library_workspace_bytes && i->library_workspace_bytes(NULL) == CUDA_CUBLAS_WORKSPACE_BYTES,
          "library workspace bytes");

    /* algorithm names follow the enums */
    CHECK(strcmp(cuda_conv_algo_name(OPS_CONV_FWD, CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM),
                 "IMPLICIT_PRECOMP_GEMM") == 0, "fwd name");
    CHECK(strcmp(cuda_conv_algo_name(OPS_CONV_FWD, CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED),
                 "WINOGRAD_NONFUSED") == 0, "fwd name");
    CHECK(strcmp(cuda_conv_algo_name(OPS_CONV_BWD_DATA, CUDNN_CONVOLUTION_BWD_DATA_ALGO_1), "ALGO_1") == 0,
          "bwd data name");
    CHECK(strcmp(cuda_conv_algo_name(OPS_CONV_BWD_FILTER, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING),
                 "FFT_TILING") == 0, "bwd filter name");
    CHECK(strcmp(cuda_conv_algo_name(OPS_CONV_BWD_FILTER, CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3), "ALGO_3") == 0,
          "bwd filter name");
    for (int d = 0; d < OPS_CONV_DIR_COUNT; d++) {
        int count = d == OPS_CONV_FWD        ? CUDNN_CONVOLUTION_FWD_ALGO_COUNT
                    : d == OPS_CONV_BWD_DATA ? CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT
                                             : CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
        for (int a = 0; a < count; a++)
            CHECK(strcmp(cuda_conv_algo_name((ops_conv_dir)d, a), "?") != 0, "dir %d algo %d unnamed", d, a);
        CHECK(strcmp(cuda_conv_algo_name((ops_conv_dir)d, count), "?") == 0, "dir %d: past the enum", d);
        CHECK(strcmp(cuda_conv_algo_name((ops_conv_dir)d, -1), "?") == 0, "dir %d: negative", d);
    }
    CHECK(strcmp(cuda_conv_dir_name(OPS_CONV_BWD_DATA), "bwd_data") == 0, "dir name");
    printf("(d) every optional slot filled; algorithm names\n");
}

/* Without a driver CUPTI cannot start (cuptiActivityEnable ->
 * CUPTI_ERROR_UNKNOWN) and NVML does not load: the measurement slots must
 * say so and go on. Runs on a bare context (no device). */
static void test_measure_degrades(void)
{
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        CHECK(0, "out of host memory");
        return;
    }
    CHECK(cuda_measure_create(c) == OPS_OK && c->measure, "measure create without a driver");
    const ops_backend_i *i = &cuda_backend_i;
    ops_status st = i->profile_begin(c);
    CHECK(st == OPS_ERR_BACKEND && strstr(ops_last_error(), "CUPTI unavailable: cuptiActivityEnable(MEMORY2): "
                                                            "CUPTI_ERROR_UNKNOWN"),
          "profile_begin: %d '%s'", (int)st, ops_last_error());
    CHECK(i->profile_end(c, NULL) == OPS_ERR_INVALID, "profile_end without begin");
    ops_device_memory m;
    memset(&m, 0x5a, sizeof m);
    CHECK(i->device_memory(c, &m) == OPS_OK, "device_memory");
    CHECK(strncmp(m.device_why, "unavailable: cuptiActivityEnable(MEMORY2): CUPTI_ERROR_UNKNOWN", 62) == 0 &&
              m.device_high_water_bytes == 0 && m.driver_high_water_bytes == 0 && m.dropped_records == 0,
          "device_why '%s'", m.device_why);
    i->device_memory_reset(c);
    i->phase_changed(c, OPS_PHASE_FORWARD, 2);  /* NVTX range; no CUPTI; no driver sample */
    i->phase_changed(c, OPS_PHASE_OTHER, 0);
    ops_device_state ds;
    CHECK(i->device_state(c, &ds) == OPS_OK && !ds.valid && strstr(ds.why, "NVML"), "device_state '%s'", ds.why);
    cuda_measure_destroy(c);
    CHECK(c->measure == NULL, "measure destroy");
    free(c);

    /* NVML itself: the driver's libnvidia-ml.so.1 is not here */
    cuda_nvml *n = cuda_nvml_open(0);
    CHECK(n != NULL, "nvml open");
    memset(&ds, 0x5a, sizeof ds);
    CHECK(cuda_nvml_sample(n, &ds) == OPS_OK, "nvml sample");
    if (ds.valid)
        printf("(e) NVML usable here: SM %u MHz\n", ds.sm_clock_mhz);
    else
        CHECK(strncmp(ds.why, "NVML unavailable: ", 18) == 0 && ds.sm_clock_mhz == 0 &&
                  ds.other_processes == 0,
              "nvml why '%s'", ds.why);
    printf("(e) without a driver: %s; %s\n", m.device_why, ds.why);
    cuda_nvml_close(n);

    char text[4096] = "";
    FILE *f = fmemopen(text, sizeof text - 1, "w");
    if (f) {
        cuda_backend_describe(f, 0);
        fclose(f);
        CHECK(strstr(text, "CUPTI API ") && strstr(text, "NVML"), "describe: %s", text);
    }
}

static void test_table_and_device(void)
{
    const char *missing = "?";
    CHECK(ops_backend_missing_slot(&cuda_backend_i, &missing) == 0, "empty slot %s", missing ? missing : "?");
    CHECK(strcmp(cuda_backend_i.name, "cuda") == 0 && cuda_backend_i.destroy && cuda_backend_i.synchronize,
          "name/destroy/synchronize");

    CHECK(cudnnGetVersion() >= 90000, "cudnnGetVersion %zu", cudnnGetVersion());
    int major = 0, minor = -1;
    CHECK(cublasGetProperty(MAJOR_VERSION, &major) == CUBLAS_STATUS_SUCCESS && major >= 12, "cuBLAS major %d", major);
    CHECK(cublasGetProperty(MINOR_VERSION, &minor) == CUBLAS_STATUS_SUCCESS && minor >= 0, "cuBLAS minor %d", minor);
    printf("(e) cuDNN %zu, cuBLAS %d.%d, CUDA runtime headers %d\n", cudnnGetVersion(), major, minor, CUDART_VERSION);

    /* the check macros: statement, function, file:line, and the status */
    CHECK(check_cuda_ok() == OPS_OK, "cudaSuccess");
    CHECK(check_cuda_oom() == OPS_ERR_OOM, "cuda OOM status");
    CHECK(strstr(ops_last_error(), "cudaErrorMemoryAllocation") && strstr(ops_last_error(), "check_cuda_oom") &&
              strstr(ops_last_error(), "test_cuda_host.c:"),
          "message: %s", ops_last_error());
    CHECK(check_cublas(CUBLAS_STATUS_ALLOC_FAILED) == OPS_ERR_OOM, "cublas OOM status");
    CHECK(check_cublas(CUBLAS_STATUS_INVALID_VALUE) == OPS_ERR_BACKEND && strstr(ops_last_error(), "check_cublas") &&
              strstr(ops_last_error(), "CUBLAS_STATUS_INVALID_VALUE"),
          "cublas message: %s", ops_last_error());
    CHECK(check_cudnn(CUDNN_STATUS_BAD_PARAM) == OPS_ERR_BACKEND && strstr(ops_last_error(), "check_cudnn"),
          "cudnn message: %s", ops_last_error());
    CHECK(check_cudnn(CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED) == OPS_ERR_OOM, "cudnn OOM status");
    CHECK(check_cudnn(CUDNN_STATUS_SUCCESS) == OPS_OK, "cudnn success");
    CHECK(check_cupti(CUPTI_ERROR_INVALID_KIND) == OPS_ERR_BACKEND && strstr(ops_last_error(), "check_cupti") &&
              strstr(ops_last_error(), "CUPTI_ERROR_INVALID_KIND"),
          "cupti message: %s", ops_last_error());
    CHECK(check_cupti(CUPTI_ERROR_OUT_OF_MEMORY) == OPS_ERR_OOM, "cupti OOM status");
    CHECK(check_cupti(CUPTI_SUCCESS) == OPS_OK, "cupti success");

    void *ctx = NULL;
    char why[256] = "unset";
    ops_status st = cuda_backend_create(&ctx, why, sizeof why);
    if (st == OPS_OK) {
        printf("(e) a GPU is usable here: create succeeded, the no-GPU path is not exercised\n");
        CHECK(ctx != NULL, "no context");
        CHECK(cuda_backend_i.library_workspace_bytes(ctx) == CUDA_CUBLAS_WORKSPACE_BYTES, "library workspace");
        cuda_backend_i.destroy(ctx);
    } else {
        CHECK(st == OPS_ERR_BACKEND, "status %d", (int)st);
        CHECK(ctx == NULL, "context left behind");
        CHECK(why[0] != '\0' && strcmp(why, "unset") != 0 && !strchr(why, '\n'), "reason '%s'", why);
        printf("(e) no usable GPU: %s\n", why);
        ops_backend b;
        char why2[256];
        CHECK(ops_open(&b, "cuda", why2, sizeof why2) == OPS_ERR_BACKEND && why2[0], "ops_open cuda: '%s'", why2);
        CHECK(ops_open(&b, "auto", why2, sizeof why2) == OPS_OK && strcmp(b.i->name, "cpu") == 0 && why2[0],
              "auto did not fall back to cpu with a reason ('%s')", why2);
        ops_close(&b);
        /* asking again is just as clean (no sticky state) */
        ctx = NULL;
        CHECK(cuda_backend_create(&ctx, why2, sizeof why2) == OPS_ERR_BACKEND && ctx == NULL, "second create");
        test_measure_degrades();
    }
}

// ----------------------------------------------------------------------------
// (f) which convolution algorithm runs, and with what workspace

#define MIB_ ((size_t)1 << 20)

static void test_conv_choice(void)
{
    /* the heuristic limit: 64 MiB, or the operands when they are larger */
    ops_conv_shape small = ops_conv_make(2, 3, 8, 8, 4, 3, 1, 1);
    ops_conv_shape resnet = ops_conv_make(128, 64, 56, 56, 64, 3, 1, 1);
    CHECK(cuda_conv_ws_limit(&small) == 64 * MIB_, "small shape limit %zu", cuda_conv_ws_limit(&small));
    /* x and y 128*64*56*56 floats each, w 64*64*3*3: (2*25690112 + 36864) * 4 */
    CHECK(cuda_conv_ws_limit(&resnet) == (size_t)205668352, "resnet shape limit %zu", cuda_conv_ws_limit(&resnet));

    /* heuristic results in cuDNN's ranking, fastest first */
    const cuda_conv_perf h[5] = {
        {CUDNN_CONVOLUTION_FWD_ALGO_FFT, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, (size_t)3 << 30, -1.0f},
        {CUDNN_CONVOLUTION_FWD_ALGO_GEMM, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_FMA_MATH, 0, -1.0f},
        {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_TENSOR_OP_MATH, MIB_, -1.0f},
        {CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED, CUDNN_STATUS_SUCCESS, CUDNN_DEFAULT_MATH, 100 * MIB_, -1.0f},
        {CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0, -1.0f},
    };
    CHECK(cuda_conv_pick(h, 5, 0, 64 * MIB_) == 4, "fp32, 64 MiB: %d", cuda_conv_pick(h, 5, 0, 64 * MIB_));
    CHECK(cuda_conv_pick(h, 5, 1, 64 * MIB_) == 2, "tf32, 64 MiB: %d", cuda_conv_pick(h, 5, 1, 64 * MIB_));
    CHECK(cuda_conv_pick(h, 5, 0, 128 * MIB_) == 3, "fp32, 128 MiB: %d", cuda_conv_pick(h, 5, 0, 128 * MIB_));
    CHECK(cuda_conv_pick(h, 5, 0, (size_t)4 << 30) == 0, "fp32, 4 GiB: the fastest");
    /* nothing fits: the allowed one needing least, so the op still runs */
    const cuda_conv_perf big[3] = {
        {0, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, (size_t)3 << 30, -1.0f},
        {1, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 200 * MIB_, -1.0f},
        {2, CUDNN_STATUS_SUCCESS, CUDNN_TENSOR_OP_MATH, 100 * MIB_, -1.0f},
    };
    CHECK(cuda_conv_pick(big, 3, 0, 64 * MIB_) == 1, "fp32, none fits: %d", cuda_conv_pick(big, 3, 0, 64 * MIB_));
    CHECK(cuda_conv_pick(big, 3, 1, 64 * MIB_) == 2, "tf32, none fits: %d", cuda_conv_pick(big, 3, 1, 64 * MIB_));
    CHECK(cuda_conv_pick(h + 1, 1, 1, 64 * MIB_) == -1, "pick from failures");
    CHECK(cuda_conv_pick(h, 0, 0, 64 * MIB_) == -1, "pick from nothing");

    /* find results: the fastest that fits the caller's workspace */
    const cuda_conv_perf f[5] = {
        {0, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 4096, 0.5f},
        {1, CUDNN_STATUS_SUCCESS, CUDNN_TENSOR_OP_MATH, 0, 0.1f},
        {2, CUDNN_STATUS_NOT_SUPPORTED, CUDNN_FMA_MATH, 0, 0.01f},
        {3, CUDNN_STATUS_SUCCESS, CUDNN_DEFAULT_MATH, MIB_, 0.2f},
        {4, CUDNN_STATUS_SUCCESS, CUDNN_FMA_MATH, 0, 0.9f},
    };
    CHECK(cuda_conv_pick_found(f, 5, 0, MIB_) == 3, "fp32, 1 MiB: %d", cuda_conv_pick_found(f, 5, 0, MIB_));
    CHECK(cuda_conv_pick_found(f, 5, 0, 4096) == 0, "fp32, 4 KiB");
    CHECK(cuda_conv_pick_found(f, 5, 0, 0) == 4, "fp32, no workspace");
    CHECK(cuda_conv_pick_found(f, 5, 1, 0) == 1, "tf32, no workspace (tensor-op allowed)");
    CHECK(cuda_conv_pick_found(f + 2, 1, 0, MIB_) == -1, "nothing succeeded");
    CHECK(cuda_conv_pick_found(f, 0, 0, 0) == -1, "empty result");

    /* the math type an op runs with */
    CHECK(cuda_conv_run_math(CUDNN_DEFAULT_MATH, 0) == CUDNN_FMA_MATH, "fp32 must pin FMA");
    CHECK(cuda_conv_run_math(CUDNN_FMA_MATH, 0) == CUDNN_FMA_MATH, "fp32 FMA");
    CHECK(cuda_conv_run_math(CUDNN_TENSOR_OP_MATH, 1) == CUDNN_TENSOR_OP_MATH, "tf32 keeps the result's");
    CHECK(cuda_conv_run_math(CUDNN_DEFAULT_MATH, 1) == CUDNN_DEFAULT_MATH, "tf32 keeps the result's");
    printf("(f) convolution choice: workspace limit, heuristic and find picks, math types\n");
}

int main(void)
{
    test_table_and_device();
    test_optional_slots();
    test_descriptors();
    test_gemm();
    test_launch();
    test_gn_param_plan();
    test_conv_choice();
    return CHECK_DONE();
}
