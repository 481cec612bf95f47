/* kernels/cpu/cpu_backend.c — the reference backend every other backend is
 * checked against: OpenBLAS SGEMM, im2col convolution (cpu_conv.c), and plain
 * loops over kernels/common/ops_math.h for the rest, so both backends share
 * each element formula. Reductions (norm statistics and gradient sums,
 * average pooling) accumulate in double, which makes this the more accurate
 * side of every comparison.
 *
 * Conventions are those of ops.h: an output paired with `beta` is assigned
 * when beta == 0 (never read, it may hold NaN) and added into otherwise;
 * parameter gradients are always added into. Memory is host memory, so
 * upload/download are memcpy and there is nothing to synchronize. */
#define _GNU_SOURCE /* MAP_ANONYMOUS, MAP_NORESERVE, sched_getaffinity under -std=c11 */
#include "cpu_backend.h"
#include "cpu_conv.h"
#include "cpu_pool.h"
#include "cpu_transformer.h"
#include "common/ops_math.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

// ----------------------------------------------------------------------------
// lifetime and memory

/* The CPU backend's context is its worker pool (cpu_pool.h): T threads, T
 * from OPENBLAS_NUM_THREADS where it is set (as users set it for any
 * OpenBLAS program), else the CPUs this process may run on. The backend
 * splits its large ops over them itself and runs OpenBLAS on one thread. */
static void cpu_destroy(void *ctx) { cpu_pool_destroy(ctx); }

#define CPU_MAX_THREADS 256

static int cpu_thread_count(void)
{
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    char *end;
    long n = env && *env ? strtol(env, &end, 10) : 0;
    if (env && *env && *end == '\0' && n >= 1) return n > CPU_MAX_THREADS ? CPU_MAX_THREADS : (int)n;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
        return CPU_COUNT(&set) > CPU_MAX_THREADS ? CPU_MAX_THREADS : CPU_COUNT(&set);
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online < 1 ? 1 : online > CPU_MAX_THREADS ? CPU_MAX_THREADS : (int)online;
}

static void cpu_warm_task(void *arg, int task, int thread)
{
    (void)arg;
    (void)task;
    (void)thread;
    float a[4] = {1, 2, 3, 4}, b[4] = {1, 0, 0, 1}, c[4];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 2, 2, 2, 1.0f, a, 2, b, 2, 0.0f, c, 2);
}

ops_status cpu_backend_create(void **ctx, char *why, size_t why_len)
{
    openblas_set_num_threads(1);
    cpu_pool *pool = cpu_pool_create(cpu_thread_count());
    if (!pool) {
        snprintf(why, why_len, "cpu backend: out of host memory for its thread pool");
        return OPS_ERR_OOM;
    }
    /* OpenBLAS allocates its buffers on a thread's first call; make that
     * happen here on every thread, before the caller takes its RSS
     * baseline, so that they are not counted as the first step's memory. */
    cpu_pool_run(pool, cpu_pool_threads(pool), cpu_warm_task, NULL);
    *ctx = pool;
    return OPS_OK;
}

/* MAP_NORESERVE: untouched pages cost no RSS or swap reservation, so the
 * reservation is only as expensive as what the arena hands out and uses. */
static ops_status cpu_reserve(void *ctx, size_t bytes, void **base)
{
    (void)ctx;
    *base = NULL;
    if (!bytes) return OPS_OK;
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        ops_set_error("cpu reserve: mmap of %zu bytes: %s", bytes, strerror(errno));
        return OPS_ERR_OOM;
    }
    *base = p;
    return OPS_OK;
}

static void cpu_release(void *ctx, void *base, size_t bytes)
{
    (void)ctx;
    if (base) munmap(base, bytes);
}

static ops_status cpu_upload(void *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    memcpy(dst, src, bytes);
    return OPS_OK;
}

static ops_status cpu_download(void *ctx, void *dst, const void *src, size_t bytes)
{
    (void)ctx;
    memcpy(dst, src, bytes);
    return OPS_OK;
}

/* Every op has finished when it returns. */
static ops_status cpu_synchronize(void *ctx)
{
    (void)ctx;
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// GEMM

/* Below this many multiply-adds (~20 us on one core) a GEMM runs on one
 * thread: waking the others costs about as much. */
#define GEMM_SPLIT_MIN_MACS (1L << 20)
/* slab widths are multiples of the SGEMM kernels' 16-wide tiles */
#define GEMM_SPLIT_ALIGN 16

/* C = alpha op(A) op(B) + beta C split into column slabs (split_n) or row
 * slabs of C, one per task; every element is computed by one task over the
 * whole k, so the result does not depend on the split. */
typedef struct {
    const ops_gemm_desc *d;
    const float *a, *b;
    float *c;
    int split_n, slab;
} gemm_call;

static void gemm_task(void *arg, int task, int thread)
{
    (void)thread;
    const gemm_call *g = arg;
    const ops_gemm_desc *d = g->d;
    const int len = g->split_n ? d->n : d->m, lo = task * g->slab, w = len - lo < g->slab ? len - lo : g->slab;
    const float *a = g->a, *b = g->b;
    float *c = g->c;
    int m = d->m, n = d->n;
    if (g->split_n) {
        b += d->trans_b ? (size_t)lo * d->ldb : (size_t)lo;
        c += lo;
        n = w;
    } else {
        a += d->trans_a ? (size_t)lo : (size_t)lo * d->lda;
        c += (size_t)lo * d->ldc;
        m = w;
    }
    /* OpenBLAS's beta == 0 path stores zeros without reading C (BLAS rule) */
    cblas_sgemm(CblasRowMajor, d->trans_a ? CblasTrans : CblasNoTrans, d->trans_b ? CblasTrans : CblasNoTrans, m, n,
                d->k, d->alpha, a, d->lda, b, d->ldb, d->beta, c, d->ldc);
}

static ops_status cpu_gemm(void *ctx, const ops_gemm_desc *d, const float *a, const float *b, float *c)
{
    /* the stored row length of A is k (or m when transposed), of B n (or k) */
    int a_cols = d->trans_a ? d->m : d->k, b_cols = d->trans_b ? d->k : d->n;
    if (d->m < 0 || d->n < 0 || d->k < 0 || d->lda < (a_cols > 1 ? a_cols : 1) ||
        d->ldb < (b_cols > 1 ? b_cols : 1) || d->ldc < (d->n > 1 ? d->n : 1)) {
        ops_set_error("gemm: bad shape m=%d n=%d k=%d lda=%d ldb=%d ldc=%d trans=%d%d", d->m, d->n, d->k,
                      d->lda, d->ldb, d->ldc, d->trans_a, d->trans_b);
        return OPS_ERR_INVALID;
    }
    gemm_call g = {d, a, b, c, d->n >= d->m, 0};
    const int len = g.split_n ? d->n : d->m;
    const long threads = cpu_pool_threads(ctx), macs = (long)d->m * d->n * d->k;
    long slabs = macs < GEMM_SPLIT_MIN_MACS ? 1 : threads;
    long slab = (len + slabs - 1) / (slabs ? slabs : 1);
    slab = (slab + GEMM_SPLIT_ALIGN - 1) / GEMM_SPLIT_ALIGN * GEMM_SPLIT_ALIGN;
    g.slab = (int)(slab < len ? slab : len);
    int tasks = len == 0 ? 1 : (len + g.slab - 1) / g.slab;
    if (len == 0) g.slab = 0;
    cpu_pool_run(ctx, tasks, gemm_task, &g);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// normalisation

static ops_status norm_check(const char *op, const ops_norm_shape *s, int groups)
{
    if (s->n < 0 || s->c <= 0 || s->hw <= 0 || groups <= 0 || s->c % groups != 0) {
        ops_set_error("%s: bad shape n=%d c=%d hw=%d groups=%d", op, s->n, s->c, s->hw, groups);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

/* Reductions accumulate in double over SUM_LANES independent partial sums:
 * that breaks the add-latency chain and lets the basic-block vectorizer use
 * vector adds, where a plain FP reduction loop is never vectorized (without
 * -ffast-math the compiler may not reassociate). */
#define SUM_LANES 8

static double sum_lanes(const double acc[SUM_LANES])
{
    double s = 0.0;
    for (int l = 0; l < SUM_LANES; l++) s += acc[l];
    return s;
}

static double sum_f32(const float *x, size_t len)
{
    double acc[SUM_LANES] = {0};
    size_t e = 0;
    for (; e + SUM_LANES <= len; e += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++) acc[l] += x[e + l];
    for (; e < len; e++) acc[0] += x[e];
    return sum_lanes(acc);
}

static double sum_sq_dev(const float *x, size_t len, double mu)
{
    double acc[SUM_LANES] = {0};
    size_t e = 0;
    for (; e + SUM_LANES <= len; e += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++) acc[l] += (x[e + l] - mu) * (x[e + l] - mu);
    for (; e < len; e++) acc[0] += (x[e] - mu) * (x[e] - mu);
    return sum_lanes(acc);
}

/* Mean and biased variance of the `rows` rows of `len` floats at x, row j
 * starting at x + j*stride; two passes, so no cancellation. */
static void norm_moments(const float *x, size_t rows, size_t len, size_t stride, double *mean, double *var)
{
    double sum = 0.0, sq = 0.0, cnt = (double)rows * (double)len;
    for (size_t j = 0; j < rows; j++) sum += sum_f32(x + j * stride, len);
    double mu = sum / cnt;
    for (size_t j = 0; j < rows; j++) sq += sum_sq_dev(x + j * stride, len, mu);
    *mean = mu;
    *var = sq / cnt;
}

/* Over one row: sum(dy) and sum(dy * xhat), xhat = (x - mean) * rstd. */
static void norm_grad_sums(const float *x, const float *dy, size_t len, float mean, float rstd, double *sum_dy,
                           double *sum_dy_xhat)
{
    double a1[SUM_LANES] = {0}, a2[SUM_LANES] = {0};
    size_t e = 0;
    for (; e + SUM_LANES <= len; e += SUM_LANES)
        for (int l = 0; l < SUM_LANES; l++) {
            a1[l] += dy[e + l];
            a2[l] += (double)dy[e + l] * ((x[e + l] - mean) * rstd);
        }
    for (; e < len; e++) {
        a1[0] += dy[e];
        a2[0] += (double)dy[e] * ((x[e] - mean) * rstd);
    }
    *sum_dy = sum_lanes(a1);
    *sum_dy_xhat = sum_lanes(a2);
}

/* One row of an input gradient, given the set's mean_dyg = S1/count and
 * mean_dyg_xhat = S2/count (see ab_norm_dx). */
static void norm_dx_row(const float *x, const float *dy, size_t len, float mean, float rstd, float gamma,
                        float mean_dyg, float mean_dyg_xhat, float beta, float *dx)
{
    for (size_t e = 0; e < len; e++) {
        float xhat = (x[e] - mean) * rstd;
        dx[e] = ab_store(beta, dx[e], ab_norm_dx(dy[e], gamma, xhat, rstd, mean_dyg, mean_dyg_xhat));
    }
}

/* Both norms split into independent units, BatchNorm's channels and
 * GroupNorm's groups: a call runs as blocks of units on the backend's
 * threads once it holds NORM_SPLIT_MIN_VALUES values, each unit (all its
 * samples, and its channels' dgamma/dbias, added sample after sample) on one
 * thread, so the results do not depend on the split. */
#define NORM_SPLIT_MIN_VALUES (1L << 15)

typedef struct norm_call norm_call;
/* the work of one unit: one op of one norm */
typedef void (*norm_unit_fn)(const norm_call *nc, int unit);

/* a call's arguments, forward's or backward's, for both norms */
struct norm_call {
    const ops_norm_shape *s;
    const float *x, *dy, *gamma, *bias, *save_mean_in, *save_rstd_in;
    float *y, *running_mean, *running_var, *save_mean, *save_rstd;      /* forward */
    float beta, *dx, *dgamma, *dbias;                                    /* backward */
    norm_unit_fn unit_fn;
    int units, per;                                                      /* units in all, per task */
};

static void norm_task(void *arg, int task, int thread)
{
    (void)thread;
    const norm_call *nc = arg;
    const int end = (task + 1) * nc->per < nc->units ? (task + 1) * nc->per : nc->units;
    for (int u = task * nc->per; u < end; u++) nc->unit_fn(nc, u);
}

/* Runs unit_fn for each of `units` units over the backend's threads. */
static void norm_run(void *ctx, norm_call *nc, int units, norm_unit_fn unit_fn)
{
    const ops_norm_shape *s = nc->s;
    const long values = (long)s->n * s->c * s->hw, threads = cpu_pool_threads(ctx);
    const int tasks = values < NORM_SPLIT_MIN_VALUES ? 1 : threads < units ? (int)threads : units;
    nc->unit_fn = unit_fn;
    nc->units = units;
    nc->per = (units + tasks - 1) / tasks;
    cpu_pool_run(ctx, (units + nc->per - 1) / nc->per, norm_task, nc);
}

/* y = gamma * (x - mean) * rstd + bias over one row of `len` values */
static void norm_apply_row(const float *x, size_t len, float mean, float rstd, float gamma, float bias, float *y)
{
    for (size_t e = 0; e < len; e++) y[e] = ab_norm_apply(x[e], mean, rstd, gamma, bias);
}

// ----------------------------------------------------------------------------
// BatchNorm2d (training): statistics per channel over (n, hw); saved mean and
// rstd are (c)

static void bn_fwd_channel(const norm_call *nc, int ch)
{
    const ops_norm_shape *s = nc->s;
    const size_t hw = (size_t)s->hw, chw = (size_t)s->c * hw, cnt = (size_t)s->n * hw;
    double mean, var;
    norm_moments(nc->x + ch * hw, (size_t)s->n, hw, chw, &mean, &var);
    const float m = (float)mean, rstd = ab_norm_rstd((float)var, s->eps);
    nc->save_mean[ch] = m;
    nc->save_rstd[ch] = rstd;
    nc->running_mean[ch] = ab_running_update(nc->running_mean[ch], m, s->momentum);
    nc->running_var[ch] =
        ab_running_update(nc->running_var[ch], (float)(var * (double)cnt / (double)(cnt - 1)), s->momentum);
    for (int i = 0; i < s->n; i++)
        norm_apply_row(nc->x + i * chw + ch * hw, hw, m, rstd, nc->gamma[ch], nc->bias[ch], nc->y + i * chw + ch * hw);
}

static ops_status cpu_batchnorm_fwd(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                    const float *bias, float *y, float *running_mean, float *running_var,
                                    float *save_mean, float *save_invstd)
{
    ops_status st = norm_check("batchnorm_fwd", s, 1);
    if (st != OPS_OK) return st;
    const size_t cnt = (size_t)s->n * (size_t)s->hw;
    if (cnt < 2) {
        /* the unbiased variance needs two values (PyTorch raises here too) */
        ops_set_error("batchnorm_fwd: %zu value(s) per channel, training needs more than 1", cnt);
        return OPS_ERR_INVALID;
    }
    norm_call nc = {.s = s, .x = x, .gamma = gamma, .bias = bias, .y = y, .running_mean = running_mean,
                    .running_var = running_var, .save_mean = save_mean, .save_rstd = save_invstd};
    norm_run(ctx, &nc, s->c, bn_fwd_channel);
    return OPS_OK;
}

static void bn_bwd_channel(const norm_call *nc, int ch)
{
    const ops_norm_shape *s = nc->s;
    const size_t hw = (size_t)s->hw, chw = (size_t)s->c * hw;
    const double cnt = (double)s->n * (double)hw;
    const float m = nc->save_mean_in[ch], rstd = nc->save_rstd_in[ch], g = nc->gamma[ch];
    double sum_dy = 0.0, sum_dy_xhat = 0.0;
    for (int i = 0; i < s->n; i++) {
        double s1, s2;
        norm_grad_sums(nc->x + i * chw + ch * hw, nc->dy + i * chw + ch * hw, hw, m, rstd, &s1, &s2);
        sum_dy += s1;
        sum_dy_xhat += s2;
    }
    nc->dgamma[ch] += (float)sum_dy_xhat;
    nc->dbias[ch] += (float)sum_dy;
    const float mean_dyg = (float)(g * sum_dy / cnt), mean_dyg_xhat = (float)(g * sum_dy_xhat / cnt);
    for (int i = 0; i < s->n; i++) {
        const size_t at = i * chw + ch * hw;
        norm_dx_row(nc->x + at, nc->dy + at, hw, m, rstd, g, mean_dyg, mean_dyg_xhat, nc->beta, nc->dx + at);
    }
}

static ops_status cpu_batchnorm_bwd(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                    const float *gamma, const float *save_mean, const float *save_invstd,
                                    float beta, float *dx, float *dgamma, float *dbias)
{
    ops_status st = norm_check("batchnorm_bwd", s, 1);
    if (st != OPS_OK) return st;
    norm_call nc = {.s = s, .x = x, .dy = dy, .gamma = gamma, .save_mean_in = save_mean, .save_rstd_in = save_invstd,
                    .beta = beta, .dx = dx, .dgamma = dgamma, .dbias = dbias};
    norm_run(ctx, &nc, s->c, bn_bwd_channel);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// GroupNorm: statistics per (sample, group) over the group's contiguous
// (c/groups, hw) block; saved mean and rstd are (n, groups)

static void gn_fwd_group(const norm_call *nc, int gi)
{
    const ops_norm_shape *s = nc->s;
    const int cpg = s->c / s->groups;
    const size_t hw = (size_t)s->hw, block = (size_t)cpg * hw;
    for (int i = 0; i < s->n; i++) {
        const size_t at = ((size_t)i * s->groups + gi) * block;
        double mean, var;
        norm_moments(nc->x + at, 1, block, 0, &mean, &var);
        const float m = (float)mean, rstd = ab_norm_rstd((float)var, s->eps);
        nc->save_mean[i * s->groups + gi] = m;
        nc->save_rstd[i * s->groups + gi] = rstd;
        for (int j = 0; j < cpg; j++)
            norm_apply_row(nc->x + at + j * hw, hw, m, rstd, nc->gamma[gi * cpg + j], nc->bias[gi * cpg + j],
                           nc->y + at + j * hw);
    }
}

static ops_status cpu_groupnorm_fwd(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                    const float *bias, float *y, float *save_mean, float *save_rstd)
{
    ops_status st = norm_check("groupnorm_fwd", s, s->groups);
    if (st != OPS_OK) return st;
    norm_call nc = {.s = s, .x = x, .gamma = gamma, .bias = bias, .y = y, .save_mean = save_mean,
                    .save_rstd = save_rstd};
    norm_run(ctx, &nc, s->groups, gn_fwd_group);
    return OPS_OK;
}

static void gn_bwd_group(const norm_call *nc, int gi)
{
    const ops_norm_shape *s = nc->s;
    const int cpg = s->c / s->groups;
    const size_t hw = (size_t)s->hw, block = (size_t)cpg * hw;
    for (int i = 0; i < s->n; i++) {
        const size_t at = ((size_t)i * s->groups + gi) * block;
        const float m = nc->save_mean_in[i * s->groups + gi], rstd = nc->save_rstd_in[i * s->groups + gi];
        /* S1 = sum(dy*gamma), S2 = sum(dy*gamma*xhat) over the block; the
         * per-channel parts are also this sample's dbias, dgamma */
        double s1 = 0.0, s2 = 0.0;
        for (int j = 0; j < cpg; j++) {
            const int ch = gi * cpg + j;
            double sum_dy, sum_dy_xhat;
            norm_grad_sums(nc->x + at + j * hw, nc->dy + at + j * hw, hw, m, rstd, &sum_dy, &sum_dy_xhat);
            nc->dgamma[ch] += (float)sum_dy_xhat;
            nc->dbias[ch] += (float)sum_dy;
            s1 += nc->gamma[ch] * sum_dy;
            s2 += nc->gamma[ch] * sum_dy_xhat;
        }
        const float mean_dyg = (float)(s1 / (double)block), mean_dyg_xhat = (float)(s2 / (double)block);
        for (int j = 0; j < cpg; j++) {
            const size_t row = at + j * hw;
            norm_dx_row(nc->x + row, nc->dy + row, hw, m, rstd, nc->gamma[gi * cpg + j], mean_dyg, mean_dyg_xhat,
                        nc->beta, nc->dx + row);
        }
    }
}

static ops_status cpu_groupnorm_bwd(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                    const float *gamma, const float *save_mean, const float *save_rstd,
                                    float beta, float *dx, float *dgamma, float *dbias)
{
    ops_status st = norm_check("groupnorm_bwd", s, s->groups);
    if (st != OPS_OK) return st;
    norm_call nc = {.s = s, .x = x, .dy = dy, .gamma = gamma, .save_mean_in = save_mean, .save_rstd_in = save_rstd,
                    .beta = beta, .dx = dx, .dgamma = dgamma, .dbias = dbias};
    norm_run(ctx, &nc, s->groups, gn_bwd_group);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// element-wise, pooling, loss

static ops_status cpu_relu_fwd(void *ctx, size_t n, const float *x, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) y[i] = ab_relu(x[i]);
    return OPS_OK;
}

static ops_status cpu_relu_bwd(void *ctx, size_t n, const float *y, const float *dy, float beta, float *dx)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) dx[i] = ab_store(beta, dx[i], ab_relu_grad(y[i], dy[i]));
    return OPS_OK;
}

static ops_status cpu_add(void *ctx, size_t n, const float *a, const float *b, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
    return OPS_OK;
}

/* Global average pooling: x (n, c, hw) -> y (n, c). */
static ops_status cpu_avgpool_fwd(void *ctx, int n, int c, int hw, const float *x, float *y)
{
    (void)ctx;
    const size_t rows = (size_t)n * c;
    for (size_t j = 0; j < rows; j++) {
        y[j] = (float)(sum_f32(x + j * hw, (size_t)hw) / hw);
    }
    return OPS_OK;
}

static ops_status cpu_avgpool_bwd(void *ctx, int n, int c, int hw, const float *dy, float beta, float *dx)
{
    (void)ctx;
    const size_t rows = (size_t)n * c;
    for (size_t j = 0; j < rows; j++) {
        const float v = dy[j] / (float)hw;
        float *dxr = dx + j * hw;
        for (int e = 0; e < hw; e++) dxr[e] = ab_store(beta, dxr[e], v);
    }
    return OPS_OK;
}

static ops_status targets_check(const char *op, int n, int classes, const int32_t *targets)
{
    for (int i = 0; i < n; i++)
        if (targets[i] < 0 || targets[i] >= classes) {
            ops_set_error("%s: target[%d] = %d outside [0, %d)", op, i, (int)targets[i], classes);
            return OPS_ERR_INVALID;
        }
    return OPS_OK;
}

static ops_status cpu_softmax_xent_fwd(void *ctx, int n, int classes, const float *logits, const int32_t *targets,
                                       float *probs, float *losses)
{
    (void)ctx;
    ops_status st = targets_check("softmax_xent_fwd", n, classes, targets);
    if (st != OPS_OK) return st;
    for (int i = 0; i < n; i++) {
        const size_t at = (size_t)i * classes;
        losses[i] = ab_softmax_xent_row(logits + at, classes, targets[i], probs + at);
    }
    return OPS_OK;
}

static ops_status cpu_softmax_xent_bwd(void *ctx, int n, int classes, const float *probs, const int32_t *targets,
                                       float scale, float *dlogits)
{
    (void)ctx;
    ops_status st = targets_check("softmax_xent_bwd", n, classes, targets);
    if (st != OPS_OK) return st;
    for (int i = 0; i < n; i++) {
        const size_t at = (size_t)i * classes;
        const int t = targets[i];
        for (int j = 0; j < classes; j++) dlogits[at + j] = ab_softmax_xent_grad(probs[at + j], j == t, scale);
    }
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// optimizers and vector ops

static ops_status cpu_sgd_step(void *ctx, size_t n, float *param, const float *grad, float *momentum_buf,
                               const ops_sgd_hparams *h)
{
    (void)ctx;
    const float lr = h->lr, mom = h->momentum, wd = h->weight_decay;
    for (size_t i = 0; i < n; i++) ab_sgd_update(&param[i], grad[i], &momentum_buf[i], lr, mom, wd);
    return OPS_OK;
}

static ops_status cpu_adamw_step(void *ctx, size_t n, float *param, const float *grad, float *m, float *v,
                                 const ops_adamw_hparams *h)
{
    (void)ctx;
    if (h->t < 1) {
        ops_set_error("adamw_step: step t = %d, counts from 1", h->t);
        return OPS_ERR_INVALID;
    }
    /* in double, as torch.optim.AdamW computes 1 - beta**step in Python */
    const float bc1 = (float)(1.0 - pow(h->beta1, h->t)), bc2 = (float)(1.0 - pow(h->beta2, h->t));
    const float lr = h->lr, b1 = h->beta1, b2 = h->beta2, eps = h->eps, wd = h->weight_decay;
    for (size_t i = 0; i < n; i++) ab_adamw_update(&param[i], grad[i], &m[i], &v[i], lr, b1, b2, eps, wd, bc1, bc2);
    return OPS_OK;
}

static ops_status cpu_fill(void *ctx, size_t n, float *x, float value)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) x[i] = value;
    return OPS_OK;
}

static ops_status cpu_scale(void *ctx, size_t n, float *x, float alpha)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) x[i] *= alpha;
    return OPS_OK;
}

/* A plain loop rather than cblas_saxpy, whose int count caps n at 2^31. */
static ops_status cpu_axpy(void *ctx, size_t n, float alpha, const float *x, float *y)
{
    (void)ctx;
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
    return OPS_OK;
}

static ops_status cpu_copy(void *ctx, size_t n, const float *x, float *y)
{
    (void)ctx;
    memmove(y, x, n * sizeof(float));
    return OPS_OK;
}

// ----------------------------------------------------------------------------

/* An overcommitting kernel would OOM-kill the process instead of failing an
 * allocation, so the CPU's default cap is 80% of MemAvailable. */
static size_t cpu_default_cap_bytes(void *ctx)
{
    (void)ctx;
    FILE *f = fopen("/proc/meminfo", "r");
    char line[256];
    size_t kib = 0;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %zu kB", &kib) == 1) break;
    if (f) fclose(f);
    return kib ? kib / 10 * 8 * 1024 : SIZE_MAX;
}

const ops_backend_i cpu_backend_i = {
    .name = "cpu",
    .host_memory = 1,
    .default_cap_bytes = cpu_default_cap_bytes,
    .destroy = cpu_destroy,
    .reserve = cpu_reserve,
    .release = cpu_release,
    .upload = cpu_upload,
    .download = cpu_download,
    .synchronize = cpu_synchronize,
    .conv_workspace_bytes = cpu_conv_workspace_bytes,
    .gemm = cpu_gemm,
    .conv2d_fwd = cpu_conv2d_fwd,
    .conv2d_bwd_data = cpu_conv2d_bwd_data,
    .conv2d_bwd_filter = cpu_conv2d_bwd_filter,
    .batchnorm_fwd = cpu_batchnorm_fwd,
    .batchnorm_bwd = cpu_batchnorm_bwd,
    .groupnorm_fwd = cpu_groupnorm_fwd,
    .groupnorm_bwd = cpu_groupnorm_bwd,
    .relu_fwd = cpu_relu_fwd,
    .relu_bwd = cpu_relu_bwd,
    .add = cpu_add,
    .avgpool_fwd = cpu_avgpool_fwd,
    .avgpool_bwd = cpu_avgpool_bwd,
    .softmax_xent_fwd = cpu_softmax_xent_fwd,
    .softmax_xent_bwd = cpu_softmax_xent_bwd,
    .sgd_step = cpu_sgd_step,
    .adamw_step = cpu_adamw_step,
    .fill = cpu_fill,
    .scale = cpu_scale,
    .axpy = cpu_axpy,
    .copy = cpu_copy,
    .embedding_fwd = cpu_embedding_fwd,
    .embedding_bwd = cpu_embedding_bwd,
    .layernorm_fwd = cpu_layernorm_fwd,
    .layernorm_bwd = cpu_layernorm_bwd,
    .attention_fwd = cpu_attention_fwd,
    .attention_bwd = cpu_attention_bwd,
    .gelu_fwd = cpu_gelu_fwd,
    .gelu_bwd = cpu_gelu_bwd,
    .xent_lse_fwd = cpu_xent_lse_fwd,
    .xent_lse_bwd = cpu_xent_lse_bwd,
};
