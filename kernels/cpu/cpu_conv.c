/* kernels/cpu/cpu_conv.c — CPU convolution: im2col/col2im + OpenBLAS SGEMM
 * over chunks of images (Caffe's scheme, base_conv_layer.cpp, with one GEMM
 * per chunk of images instead of one per image).
 *
 * A chunk of nc images is unfolded side by side: col (c*r*r, nc*pq), image
 * i in columns [i*pq, (i+1)*pq) of every row (pq = p*q). Where nc > 1 the
 * GEMMs run on chunk layouts (rows, nc, len), which the ops gather from and
 * scatter to NCHW with one row copy per (image, channel):
 *   forward      y_chunk (k, nc*pq) = w (k, c*r*r) . col
 *   bwd filter   dw^T (c*r*r, k)   = col . dy_chunk^T, one GEMM per chunk
 *                summed in the workspace, then added into dw once (this
 *                operand order runs ~25% faster than dy . col^T for k = 16)
 *   bwd data     col = w^T . dy_chunk, then col2im scatter-adds into dx_i
 * A stride-1 convolution's backward data is itself a stride-1 convolution
 * (the transposed-convolution identity): dx = dy * w', w' (c, k, r, r) the
 * filter transposed in (k, c) and flipped in both spatial dimensions, with
 * padding r-1-pad. That path unfolds dy instead of folding a column matrix
 * back, which saves col2im's scatter-add: it reads the whole column matrix
 * and rewrites dx r*r times. A 1x1, stride-1, unpadded conv's column matrix
 * is the image itself, so that case runs one GEMM per image on x/dx
 * directly, with no copies and no workspace.
 *
 * Chunk size: the most images whose column matrix (and GEMM output) fits
 * CONV_CHUNK_BYTES, at least 1. It depends on the shape's image, not on n,
 * so the workspace is one size for every batch: like the parameters, a
 * fixed part of a run's memory, which keeps memory affine in the activation
 * structure (what `plan` fits; a workspace growing with n up to the cap
 * made it 35% off for a small CIFAR net). The per-image GEMMs of a CIFAR ResNet are as small
 * as (16 x 1024) . (1024 x 144): OpenBLAS runs them near its one-thread peak
 * but gains little from a second thread on them; a chunk gives it a GEMM
 * worth splitting, while a column matrix near L2 size keeps the one-thread
 * rate (measured, OpenBLAS 0.3.21 on one core: chunks up to 2 MiB run as
 * fast as single images, 4 MiB loses 5%, 8 MiB 25%).
 *
 * Threads (the backend's cpu_pool, T of them): a call's images are split
 * into at least T tasks of consecutive images, each at most a chunk, and
 * each thread unfolds and multiplies its own tasks in its own workspace
 * region with a one-thread SGEMM; im2col, the copies and the GEMMs all run
 * in parallel, where OpenBLAS's own threads would split only the GEMMs, and
 * these small ones badly. Backward filter sums each thread's tasks into its
 * own dw^T and adds the partials in thread order: with a fixed T, results
 * repeat bit for bit. A 1x1 direct backward filter adds every image into dw
 * and stays on one thread.
 *
 * Workspace in floats, each part rounded up to CONV_ALIGN_FLOATS so that the
 * next one starts aligned; nc = max(1, CONV_CHUNK_BYTES / (4 * the larger
 * of the unfolded image and the GEMM's output image)), crr = c*r*r, hw = h*w,
 * one region per thread after the shared w':
 *   forward:             T x (col nc*crr*pq                + stage (nc > 1: nc*k*pq))
 *   bwd filter:          T x (dw^T k*crr  + col nc*crr*pq  + stage (nc > 1: nc*k*pq))
 *   bwd data, stride 1:  w' k*crr + T x (col nc*k*r*r*hw   + stage (nc > 1: nc*c*hw))
 *   bwd data, otherwise: T x (col nc*crr*pq                + stage (nc > 1: nc*k*pq))
 *   1x1 stride 1 pad 0:  0
 * (bwd data takes the stride-1 path when pad <= r-1; its unfolded image is
 * dy's, k*r*r*hw.) cpu_conv_workspace_bytes returns exactly this and the
 * ops use no other memory. */
#include "cpu_conv.h"
#include "cpu_pool.h"

#include <cblas.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>

/* ~L2 of one core (1-2 MiB on current x86 servers), see above */
#define CONV_CHUNK_BYTES ((size_t)2 << 20)
/* 64 bytes: a cache line, one AVX-512 vector */
#define CONV_ALIGN_FLOATS ((size_t)16)

// ----------------------------------------------------------------------------
// plans and workspace

/* How one direction runs for one shape: `u` is the shape that gets
 * unfolded (the conv itself, or for the transposed path the conv of dy
 * giving dx), the most images per GEMM, and the workspace parts in floats:
 * the flipped filter once, then one region (dw^T, col, stage) per thread. */
typedef struct {
    ops_conv_shape u;
    int transposed;     /* bwd data as the stride-1 conv dy * w' */
    int direct;         /* 1x1 stride 1 pad 0: GEMMs on the images */
    int fit;            /* the most images per GEMM */
    int threads;
    size_t wflip_floats, dwt_floats, col_floats, stage_floats;
} conv_plan;

static size_t conv_round(size_t floats) { return (floats + CONV_ALIGN_FLOATS - 1) / CONV_ALIGN_FLOATS * CONV_ALIGN_FLOATS; }

static int conv_shape_ok(const ops_conv_shape *s)
{
    return s->n >= 0 && s->c > 0 && s->h > 0 && s->w > 0 && s->k > 0 && s->r > 0 && s->stride > 0 && s->pad >= 0 &&
           s->p > 0 && s->q > 0 && s->p == ops_conv_out_dim(s->h, s->r, s->stride, s->pad) &&
           s->q == ops_conv_out_dim(s->w, s->r, s->stride, s->pad);
}

/* a valid shape's plan; an invalid one (the ops refuse it) or n == 0 (they
 * do nothing) gets an empty plan */
static conv_plan conv_plan_for(const ops_conv_shape *s, ops_conv_dir dir, int threads)
{
    conv_plan pl = {*s, 0, 0, 0, threads, 0, 0, 0, 0};
    if (!conv_shape_ok(s) || s->n == 0) return pl;
    if (s->r == 1 && s->stride == 1 && s->pad == 0) {
        pl.direct = 1;
        pl.fit = 1;
        return pl;
    }
    if (dir == OPS_CONV_BWD_DATA && s->stride == 1 && s->pad <= s->r - 1) {
        pl.transposed = 1;
        pl.u = ops_conv_make(s->n, s->k, s->p, s->q, s->c, s->r, 1, s->r - 1 - s->pad);
    }
    const ops_conv_shape *u = &pl.u;
    const size_t img_col = (size_t)u->c * u->r * u->r * u->p * u->q, img_out = (size_t)u->k * u->p * u->q;
    const size_t img_max = img_col > img_out ? img_col : img_out;
    const size_t fit = CONV_CHUNK_BYTES / (img_max * sizeof(float));
    pl.fit = fit < 1 ? 1 : fit > INT_MAX ? INT_MAX : (int)fit;
    pl.wflip_floats = pl.transposed ? conv_round((size_t)s->k * s->c * s->r * s->r) : 0;
    pl.dwt_floats = dir == OPS_CONV_BWD_FILTER ? conv_round((size_t)s->k * s->c * s->r * s->r) : 0;
    pl.col_floats = conv_round((size_t)pl.fit * img_col);
    pl.stage_floats = pl.fit > 1 ? conv_round((size_t)pl.fit * img_out) : 0;
    return pl;
}

static size_t conv_thread_floats(const conv_plan *pl) { return pl->dwt_floats + pl->col_floats + pl->stage_floats; }

static size_t conv_plan_bytes(const conv_plan *pl)
{
    return (pl->wflip_floats + (size_t)pl->threads * conv_thread_floats(pl)) * sizeof(float);
}

size_t cpu_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir)
{
    conv_plan pl = conv_plan_for(s, dir, cpu_pool_threads(ctx));
    return conv_plan_bytes(&pl);
}

static ops_status conv_check(const char *op, void *ctx, const ops_conv_shape *s, ops_conv_dir dir, const void *ws,
                             size_t ws_bytes, conv_plan *pl)
{
    if (!conv_shape_ok(s)) {
        ops_set_error("%s: bad shape n=%d c=%d h=%d w=%d k=%d r=%d stride=%d pad=%d p=%d q=%d", op, s->n,
                      s->c, s->h, s->w, s->k, s->r, s->stride, s->pad, s->p, s->q);
        return OPS_ERR_INVALID;
    }
    *pl = conv_plan_for(s, dir, cpu_pool_threads(ctx));
    size_t need = conv_plan_bytes(pl);
    if (ws_bytes < need || (need && !ws)) {
        ops_set_error("%s: workspace of %zu bytes, needs %zu", op, ws ? ws_bytes : 0, need);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// im2col / col2im

/* The output positions o in [*lo, *hi) whose input index o*stride + off
 * falls inside [0, in); the others read the zero padding. */
static void conv_valid_range(int out, int in, int stride, int off, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int h = in - off <= 0 ? 0 : (in - off - 1) / stride + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* x (c, h, w) -> col rows (ch, kh, kw) of p*q columns, row j at col + j*ld.
 * Channels are the inner loop: the valid ranges depend on (kh, kw) only,
 * and their divisions cost as much as copying a short row. The copy loops
 * are specialised by stride so the compiler vectorises the stride-1 and
 * stride-2 ones (a run-time stride leaves a scalar loop). */
static void conv_im2col(const ops_conv_shape *s, const float *x, float *col, size_t ld)
{
    const int r = s->r, p = s->p, q = s->q, st = s->stride;
    const size_t plane = (size_t)s->h * s->w, pq = (size_t)p * q;
    for (int kh = 0; kh < r; kh++) {
        int oh_lo, oh_hi;
        conv_valid_range(p, s->h, st, kh - s->pad, &oh_lo, &oh_hi);
        for (int kw = 0; kw < r; kw++) {
            const int off = kw - s->pad;
            int ow_lo, ow_hi;
            conv_valid_range(q, s->w, st, off, &ow_lo, &ow_hi);
            const int empty = oh_hi == oh_lo || ow_hi == ow_lo;
            for (int ch = 0; ch < s->c; ch++) {
                const float *xc = x + ch * plane;
                float *row = col + ((size_t)(ch * r + kh) * r + kw) * ld;
                if (st == 1 && q == s->w) {
                    /* output and input rows have one length, so the valid
                     * part of the row is one shifted run of x; the entries
                     * that wrap past a row's end are then zeroed */
                    const size_t j0 = empty ? 0 : (size_t)oh_lo * q + ow_lo;
                    const size_t j1 = empty ? 0 : (size_t)(oh_hi - 1) * q + ow_hi;
                    const float *src = xc + (ptrdiff_t)(kh - s->pad) * s->w + off;
                    memset(row, 0, j0 * sizeof(float));
                    memcpy(row + j0, src + j0, (j1 - j0) * sizeof(float));
                    memset(row + j1, 0, (pq - j1) * sizeof(float));
                    if (ow_lo > 0 || ow_hi < q)
                        for (int oh = oh_lo; oh < oh_hi; oh++) {
                            float *dst = row + (size_t)oh * q;
                            for (int ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
                            for (int ow = ow_hi; ow < q; ow++) dst[ow] = 0.0f;
                        }
                    continue;
                }
                memset(row, 0, (size_t)oh_lo * q * sizeof(float));
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *restrict dst = row + (size_t)oh * q;
                    const float *restrict src = xc + (size_t)(oh * st + kh - s->pad) * s->w + off;
                    for (int ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
                    if (st == 1)
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow];
                    else if (st == 2)
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[2 * ow];
                    else
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * st];
                    for (int ow = ow_hi; ow < q; ow++) dst[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * q, 0, (size_t)(p - oh_hi) * q * sizeof(float));
            }
        }
    }
}

/* col rows (ch, kh, kw), row j at col + j*ld, scatter-added into x (c, h, w);
 * the inverse map of conv_im2col, padding entries dropped. */
static void conv_col2im(const ops_conv_shape *s, const float *col, size_t ld, float *x)
{
    const int r = s->r, p = s->p, q = s->q, st = s->stride;
    const size_t plane = (size_t)s->h * s->w;
    for (int ch = 0; ch < s->c; ch++) {
        float *xc = x + ch * plane;
        for (int kh = 0; kh < r; kh++) {
            int oh_lo, oh_hi;
            conv_valid_range(p, s->h, st, kh - s->pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < r; kw++) {
                const int off = kw - s->pad;
                int ow_lo, ow_hi;
                conv_valid_range(q, s->w, st, off, &ow_lo, &ow_hi);
                const float *row = col + ((size_t)(ch * r + kh) * r + kw) * ld;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *restrict src = row + (size_t)oh * q;
                    float *restrict dst = xc + (size_t)(oh * st + kh - s->pad) * s->w + off;
                    if (st == 1)
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] += src[ow];
                    else if (st == 2)
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[2 * ow] += src[ow];
                    else
                        for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * st] += src[ow];
                }
            }
        }
    }
}

/* Chunk layout (rows, nc, len) <-> images (nc, rows, len): image i's row j
 * sits at chunk + (j*nc + i)*len and at img + (i*rows + j)*len. */
static void conv_gather(const float *img, int nc, int rows, size_t len, float *chunk)
{
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < rows; j++)
            memcpy(chunk + ((size_t)j * nc + i) * len, img + ((size_t)i * rows + j) * len, len * sizeof(float));
}

/* add == 0 assigns img, otherwise adds into it */
static void conv_scatter(const float *chunk, int nc, int rows, size_t len, float add, float *img)
{
    for (int i = 0; i < nc; i++)
        for (int j = 0; j < rows; j++) {
            const float *restrict src = chunk + ((size_t)j * nc + i) * len;
            float *restrict dst = img + ((size_t)i * rows + j) * len;
            if (add == 0.0f)
                memcpy(dst, src, len * sizeof(float));
            else
                for (size_t e = 0; e < len; e++) dst[e] += src[e];
        }
}

// ----------------------------------------------------------------------------
// the three directions

/* One op's call, split into tasks of consecutive images: as many tasks as
 * threads at least (where there are images enough), each of at most `fit`
 * images. Task j holds images [j*per, min(n, (j+1)*per)) and runs on thread
 * j % threads, in that thread's workspace region. */
typedef struct {
    const ops_conv_shape *s;
    const conv_plan *pl;
    const float *x, *w, *dy;    /* what the direction reads */
    float *out;                 /* y, dx, or nothing (bwd filter: the regions' dw^T) */
    float add;                  /* bwd data: 0 assigns dx, 1 adds */
    float *ws;
    int per;                    /* images per task */
} conv_call;

static int conv_tasks(const conv_plan *pl, int n, int *per)
{
    const long threads = pl->threads, rounds = (n + threads * pl->fit - 1) / (threads * pl->fit);
    *per = (int)((n + threads * rounds - 1) / (threads * rounds));
    return (n + *per - 1) / *per;
}

/* thread t's region: dw^T, col, stage */
static float *conv_region(const conv_call *cc, int thread)
{
    return cc->ws + cc->pl->wflip_floats + (size_t)thread * conv_thread_floats(cc->pl);
}

static void conv_task_images(const conv_call *cc, int task, int *i0, int *nc)
{
    *i0 = task * cc->per;
    *nc = cc->s->n - *i0 < cc->per ? cc->s->n - *i0 : cc->per;
}

static void fwd_task(void *arg, int task, int thread)
{
    const conv_call *cc = arg;
    const ops_conv_shape *s = cc->s;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    int i0, nc;
    conv_task_images(cc, task, &i0, &nc);
    if (cc->pl->direct) {
        for (int i = i0; i < i0 + nc; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->k, pq, crr, 1.0f, cc->w, crr, cc->x + i * x_img,
                        pq, 0.0f, cc->out + i * y_img, pq);
        return;
    }
    float *col = conv_region(cc, thread) + cc->pl->dwt_floats, *stage = col + cc->pl->col_floats;
    const int ld = nc * pq;
    for (int i = 0; i < nc; i++) conv_im2col(s, cc->x + (i0 + i) * x_img, col + (size_t)i * pq, (size_t)ld);
    float *y = cc->out + i0 * y_img, *dst = nc > 1 ? stage : y;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->k, ld, crr, 1.0f, cc->w, crr, col, ld, 0.0f, dst, ld);
    if (nc > 1) conv_scatter(stage, nc, s->k, (size_t)pq, 0.0f, y);
}

ops_status cpu_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y,
                          void *ws, size_t ws_bytes)
{
    conv_plan pl;
    ops_status st = conv_check("conv2d_fwd", ctx, s, OPS_CONV_FWD, ws, ws_bytes, &pl);
    if (st != OPS_OK || s->n == 0) return st;
    conv_call cc = {s, &pl, x, w, NULL, y, 0.0f, ws, 0};
    cpu_pool_run(ctx, conv_tasks(&pl, s->n, &cc.per), fwd_task, &cc);
    return OPS_OK;
}

/* w (k, c, r, r) -> w' (c, k, r, r): transposed in (k, c), flipped in space */
static void conv_flip(const ops_conv_shape *s, const float *w, float *wf)
{
    const int rr = s->r * s->r;
    for (int o = 0; o < s->k; o++)
        for (int ch = 0; ch < s->c; ch++) {
            const float *src = w + ((size_t)o * s->c + ch) * rr;
            float *dst = wf + ((size_t)ch * s->k + o) * rr;
            for (int e = 0; e < rr; e++) dst[e] = src[rr - 1 - e];
        }
}

static void bwd_data_task(void *arg, int task, int thread)
{
    const conv_call *cc = arg;
    const ops_conv_shape *s = cc->s;
    const conv_plan *pl = cc->pl;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q, hw = s->h * s->w;
    const size_t x_img = (size_t)s->c * hw, y_img = (size_t)s->k * pq;
    int i0, nc;
    conv_task_images(cc, task, &i0, &nc);
    if (pl->direct) {
        for (int i = i0; i < i0 + nc; i++)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->c, pq, s->k, 1.0f, cc->w, crr, cc->dy + i * y_img,
                        pq, cc->add, cc->out + i * x_img, pq);
        return;
    }
    float *col = conv_region(cc, thread) + pl->dwt_floats, *stage = col + pl->col_floats;
    float *dx = cc->out + i0 * x_img;
    if (pl->transposed) {
        /* dx = dy * w': unfold dy, one GEMM (c, k*r*r) . col */
        const int krr = s->k * s->r * s->r, ld = nc * hw;
        const float *wflip = cc->ws;
        for (int i = 0; i < nc; i++) conv_im2col(&pl->u, cc->dy + (i0 + i) * y_img, col + (size_t)i * hw, (size_t)ld);
        if (nc == 1) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c, ld, krr, 1.0f, wflip, krr, col, ld, cc->add,
                        dx, ld);
            return;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->c, ld, krr, 1.0f, wflip, krr, col, ld, 0.0f, stage,
                    ld);
        conv_scatter(stage, nc, s->c, (size_t)hw, cc->add, dx);
        return;
    }
    const int ld = nc * pq;
    const float *dyc = cc->dy + i0 * y_img;
    if (nc > 1) {
        conv_gather(dyc, nc, s->k, (size_t)pq, stage);
        dyc = stage;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, crr, ld, s->k, 1.0f, cc->w, crr, dyc, ld, 0.0f, col, ld);
    for (int i = 0; i < nc; i++) {
        float *dxi = dx + i * x_img;
        /* col2im only adds, and overlapping windows hit a pixel several times */
        if (cc->add == 0.0f) memset(dxi, 0, x_img * sizeof(float));
        conv_col2im(s, col + (size_t)i * pq, (size_t)ld, dxi);
    }
}

ops_status cpu_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy,
                               float beta, float *dx, void *ws, size_t ws_bytes)
{
    conv_plan pl;
    ops_status st = conv_check("conv2d_bwd_data", ctx, s, OPS_CONV_BWD_DATA, ws, ws_bytes, &pl);
    if (st != OPS_OK || s->n == 0) return st;
    /* ab_store's rule: any nonzero beta adds */
    conv_call cc = {s, &pl, NULL, w, dy, dx, beta == 0.0f ? 0.0f : 1.0f, ws, 0};
    if (pl.transposed) conv_flip(s, w, ws);
    cpu_pool_run(ctx, conv_tasks(&pl, s->n, &cc.per), bwd_data_task, &cc);
    return OPS_OK;
}

/* dw^T (c*r*r, k) of the task's images, assigned by the thread's first
 * task (task == thread) and added by its later ones */
static void bwd_filter_task(void *arg, int task, int thread)
{
    const conv_call *cc = arg;
    const ops_conv_shape *s = cc->s;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    int i0, nc;
    conv_task_images(cc, task, &i0, &nc);
    float *dwt = conv_region(cc, thread), *col = dwt + cc->pl->dwt_floats, *stage = col + cc->pl->col_floats;
    const int ld = nc * pq;
    for (int i = 0; i < nc; i++) conv_im2col(s, cc->x + (i0 + i) * x_img, col + (size_t)i * pq, (size_t)ld);
    const float *dyc = cc->dy + i0 * y_img;
    if (nc > 1) {
        conv_gather(dyc, nc, s->k, (size_t)pq, stage);
        dyc = stage;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, crr, s->k, ld, 1.0f, col, ld, dyc, ld,
                task == thread ? 0.0f : 1.0f, dwt, s->k);
}

ops_status cpu_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy,
                                 float *dw, void *ws, size_t ws_bytes)
{
    conv_plan pl;
    ops_status st = conv_check("conv2d_bwd_filter", ctx, s, OPS_CONV_BWD_FILTER, ws, ws_bytes, &pl);
    if (st != OPS_OK || s->n == 0) return st;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    if (pl.direct) {
        /* every image adds into dw: one thread, in image order */
        for (int i = 0; i < s->n; i++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->k, crr, pq, 1.0f, dy + i * y_img, pq,
                        x + i * x_img, pq, 1.0f, dw, crr);
        return OPS_OK;
    }
    conv_call cc = {s, &pl, x, NULL, dy, NULL, 0.0f, ws, 0};
    const int tasks = conv_tasks(&pl, s->n, &cc.per), used = tasks < pl.threads ? tasks : pl.threads;
    cpu_pool_run(ctx, tasks, bwd_filter_task, &cc);
    /* the threads' partial sums in thread order, then into dw once */
    for (int o = 0; o < s->k; o++)
        for (int j = 0; j < crr; j++) {
            float sum = 0.0f;
            for (int t = 0; t < used; t++) sum += conv_region(&cc, t)[(size_t)j * s->k + o];
            dw[(size_t)o * crr + j] += sum;
        }
    return OPS_OK;
}
