/* kernels/cuda/cuda_conv.c — the CUDA backend's cuDNN convolutions:
 * descriptors cached per shape and, per direction, the algorithm chosen,
 * its workspace and the math type it runs with; the heuristic choice, the
 * timed one (--conv-algo find), and the three convolution ops.
 *
 * Choice (pure functions in cudnn_desc.c, tested on the CPU):
 * - heuristic: cuDNN's v7 ranking; the first allowed algorithm whose
 *   workspace fits cuda_conv_ws_limit(shape), its workspace the larger of
 *   perf.memory and cudnnGet*WorkspaceSize;
 * - find: cudnnFind*AlgorithmEx within the caller's workspace; the fastest
 *   allowed, its workspace perf.memory.
 * Either way the result's math type is set on the descriptor (through
 * cuda_conv_run_math) right before the op runs: the descriptor is shared by
 * the three directions, whose choices may differ, and queries run with the
 * mode's own math type (cuda_conv_math). */
#include "cuda_check.h"
#include "cuda_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The largest count any direction has (fwd 8, bwd filter 7, bwd data 6). */
#define CONV_ALGO_MAX CUDNN_CONVOLUTION_FWD_ALGO_COUNT

static int conv_shape_eq(const ops_conv_shape *a, const ops_conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k && a->r == b->r &&
           a->stride == b->stride && a->pad == b->pad && a->p == b->p && a->q == b->q;
}

static ops_status conv_entry_new(cuda_ctx *c, const ops_conv_shape *s, cuda_conv_entry **out)
{
    if (c->n_convs == c->convs_cap) {
        size_t cap = c->convs_cap ? 2 * c->convs_cap : 16;
        cuda_conv_entry **grown = realloc(c->convs, cap * sizeof *grown);
        if (!grown) {
            ops_set_error("conv: out of host memory for the algorithm cache");
            return OPS_ERR_OOM;
        }
        c->convs = grown;
        c->convs_cap = cap;
    }
    cuda_conv_entry *e = calloc(1, sizeof *e);
    if (!e) {
        ops_set_error("conv: out of host memory for the algorithm cache");
        return OPS_ERR_OOM;
    }
    e->shape = *s;
    ops_status st = cudnn_check_(cuda_conv_descs_build(&e->d, s, cuda_conv_math(c->tf32)),
                                 "cuda_conv_descs_build(&e->d, s, math)", __func__, __FILE__, __LINE__);
    int dims[4] = {0, 0, 0, 0};
    if (st == OPS_OK)
        st = cudnn_check_(cuda_conv_descs_out_dims(&e->d, dims), "cuda_conv_descs_out_dims(&e->d, dims)", __func__,
                          __FILE__, __LINE__);
    if (st == OPS_OK && (dims[0] != s->n || dims[1] != s->k || dims[2] != s->p || dims[3] != s->q)) {
        ops_set_error("conv: cuDNN output (%d, %d, %d, %d) differs from the shape's (%d, %d, %d, %d)", dims[0],
                      dims[1], dims[2], dims[3], s->n, s->k, s->p, s->q);
        st = OPS_ERR_INVALID;
    }
    if (st != OPS_OK) {
        cuda_conv_descs_destroy(&e->d);
        free(e);
        return st;
    }
    c->convs[c->n_convs++] = e;
    *out = e;
    return OPS_OK;
}

static ops_status conv_entry(cuda_ctx *c, const ops_conv_shape *s, ops_conv_dir dir, cuda_conv_entry **out)
{
    *out = NULL;
    if ((unsigned)dir >= OPS_CONV_DIR_COUNT) {
        ops_set_error("conv: bad direction %d", (int)dir);
        return OPS_ERR_INVALID;
    }
    for (size_t i = 0; i < c->n_convs; i++)
        if (conv_shape_eq(&c->convs[i]->shape, s)) {
            *out = c->convs[i];
            return OPS_OK;
        }
    const char *problem = cuda_conv_shape_problem(s);
    if (problem) {
        ops_set_error("%s (n=%d c=%d h=%d w=%d k=%d r=%d stride=%d pad=%d)", problem, s->n, s->c, s->h, s->w, s->k,
                      s->r, s->stride, s->pad);
        return OPS_ERR_INVALID;
    }
    return conv_entry_new(c, s, out);
}

void cuda_conv_cache_free(cuda_ctx *c)
{
    for (size_t i = 0; i < c->n_convs; i++) {
        cuda_conv_descs_destroy(&c->convs[i]->d);
        free(c->convs[i]);
    }
    free(c->convs);
    c->convs = NULL;
    c->n_convs = c->convs_cap = 0;
}

ops_status cuda_conv_cache_forget(cuda_ctx *c)
{
    for (size_t i = 0; i < c->n_convs; i++) {
        cuda_conv_entry *e = c->convs[i];
        CUDNN_CHECK(cudnnSetConvolutionMathType(e->d.conv, cuda_conv_math(c->tf32)));
        memset(e->chosen, 0, sizeof e->chosen);
        memset(e->found, 0, sizeof e->found);
    }
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cuDNN's results as cuda_conv_perf, whichever direction

#define PERF_COPY(perf, got, out)                                                                  \
    for (int i_ = 0; i_ < (got); i_++)                                                             \
    (out)[i_] = (cuda_conv_perf){(int)(perf)[i_].algo, (perf)[i_].status, (perf)[i_].mathType, (perf)[i_].memory, \
                                 (perf)[i_].time}

static ops_status heuristic_perfs(cuda_ctx *c, const cuda_conv_descs *d, ops_conv_dir dir, cuda_conv_perf *out,
                                  int *got)
{
    *got = 0;
    if (dir == OPS_CONV_FWD) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, d->x, d->w, d->conv, d->y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, perf));
        PERF_COPY(perf, *got, out);
    } else if (dir == OPS_CONV_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->cudnn, d->w, d->y, d->conv, d->x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, got, perf));
        PERF_COPY(perf, *got, out);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->cudnn, d->x, d->y, d->conv, d->w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, got, perf));
        PERF_COPY(perf, *got, out);
    }
    return OPS_OK;
}

/* cudnnFind*AlgorithmEx writes the direction's output buffer (y; x for
 * bwd_data; w for bwd_filter) */
static ops_status find_perfs(cuda_ctx *c, const cuda_conv_descs *d, ops_conv_dir dir, float *x, float *w, float *y,
                             void *ws, size_t ws_bytes, cuda_conv_perf *out, int *got)
{
    *got = 0;
    if (dir == OPS_CONV_FWD) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c->cudnn, d->x, x, d->w, w, d->conv, d->y, y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, got, perf, ws, ws_bytes));
        PERF_COPY(perf, *got, out);
    } else if (dir == OPS_CONV_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(c->cudnn, d->w, w, d->y, y, d->conv, d->x, x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, got, perf, ws,
                                                                ws_bytes));
        PERF_COPY(perf, *got, out);
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(c->cudnn, d->x, x, d->y, y, d->conv, d->w, w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, got, perf,
                                                                  ws, ws_bytes));
        PERF_COPY(perf, *got, out);
    }
    return OPS_OK;
}

static cudnnStatus_t workspace_size(const cuda_ctx *c, const cuda_conv_descs *d, ops_conv_dir dir, int algo,
                                    size_t *bytes)
{
    *bytes = 0;
    if (dir == OPS_CONV_FWD)
        return cudnnGetConvolutionForwardWorkspaceSize(c->cudnn, d->x, d->w, d->conv, d->y,
                                                       (cudnnConvolutionFwdAlgo_t)algo, bytes);
    if (dir == OPS_CONV_BWD_DATA)
        return cudnnGetConvolutionBackwardDataWorkspaceSize(c->cudnn, d->w, d->y, d->conv, d->x,
                                                            (cudnnConvolutionBwdDataAlgo_t)algo, bytes);
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(c->cudnn, d->x, d->y, d->conv, d->w,
                                                          (cudnnConvolutionBwdFilterAlgo_t)algo, bytes);
}

static void keep_choice(cuda_conv_entry *e, ops_conv_dir dir, const cuda_conv_perf *p, int tf32, int found)
{
    e->algo[dir] = p->algo;
    e->ws_bytes[dir] = p->memory;
    e->math[dir] = cuda_conv_run_math(p->math, tf32);
    e->chosen[dir] = 1;
    e->found[dir] = found;
}

static void shape_text(const ops_conv_shape *s, char *buf, size_t len)
{
    snprintf(buf, len, "n=%d c=%d h=%d w=%d k=%d r=%d stride=%d pad=%d", s->n, s->c, s->h, s->w, s->k, s->r,
             s->stride, s->pad);
}

// ----------------------------------------------------------------------------
// choosing

/* the cached choice, or the heuristic one */
static ops_status conv_select(cuda_ctx *c, const ops_conv_shape *s, ops_conv_dir dir, cuda_conv_entry **out)
{
    cuda_conv_entry *e;
    ops_status st = conv_entry(c, s, dir, &e);
    if (st != OPS_OK) return st;
    *out = e;
    if (e->chosen[dir]) return OPS_OK;
    CUDNN_CHECK(cudnnSetConvolutionMathType(e->d.conv, cuda_conv_math(c->tf32)));
    cuda_conv_perf perf[CONV_ALGO_MAX];
    int got = 0;
    if ((st = heuristic_perfs(c, &e->d, dir, perf, &got)) != OPS_OK) return st;
    /* what an algorithm needs: perf.memory or the size query, the larger */
    for (int i = 0; i < got; i++) {
        size_t need = 0;
        if (perf[i].status != CUDNN_STATUS_SUCCESS) continue;
        cudnnStatus_t ws_st = workspace_size(c, &e->d, dir, perf[i].algo, &need);
        if (ws_st != CUDNN_STATUS_SUCCESS) perf[i].status = ws_st;
        else if (need > perf[i].memory) perf[i].memory = need;
    }
    int pick = cuda_conv_pick(perf, got, c->tf32, cuda_conv_ws_limit(s));
    if (pick < 0) {
        char shape[128];
        shape_text(s, shape, sizeof shape);
        ops_set_error("conv %s: no usable cuDNN algorithm among %d heuristic results (%s)", cuda_conv_dir_name(dir),
                      got, shape);
        return OPS_ERR_BACKEND;
    }
    keep_choice(e, dir, &perf[pick], c->tf32, 0);
    return OPS_OK;
}

ops_status cuda_conv_find(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                          void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_entry(c, s, dir, &e);
    if (st != OPS_OK) return st;
    CUDNN_CHECK(cudnnSetConvolutionMathType(e->d.conv, cuda_conv_math(c->tf32)));
    cuda_conv_perf perf[CONV_ALGO_MAX];
    int got = 0;
    if ((st = find_perfs(c, &e->d, dir, x, w, y, ws, ws_bytes, perf, &got)) != OPS_OK) return st;
    int pick = cuda_conv_pick_found(perf, got, c->tf32, ws_bytes);
    if (pick < 0) {
        char shape[128];
        shape_text(s, shape, sizeof shape);
        ops_set_error("conv_find %s: none of %d timed cuDNN algorithms succeeded within %zu workspace bytes with "
                      "the math mode allowed (%s)",
                      cuda_conv_dir_name(dir), got, ws_bytes, shape);
        return OPS_ERR_BACKEND;
    }
    keep_choice(e, dir, &perf[pick], c->tf32, 1);
    return OPS_OK;
}

/* the algorithm's name as in its cuDNN enum, without the prefix
 * ("IMPLICIT_PRECOMP_GEMM"), for algos.csv */
ops_status cuda_conv_choice(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
                            size_t *ws_bytes)
{
    cuda_conv_entry *e;
    ops_status st = conv_select(ctx, s, dir, &e);
    if (st != OPS_OK) return st;
    if (algo && algo_len) snprintf(algo, algo_len, "%s", cuda_conv_algo_name(dir, e->algo[dir]));
    if (ws_bytes) *ws_bytes = e->ws_bytes[dir];
    return OPS_OK;
}

/* 0 when the choice fails; the error is recorded and the op itself fails. */
size_t cuda_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir)
{
    cuda_conv_entry *e;
    return conv_select(ctx, s, dir, &e) == OPS_OK ? e->ws_bytes[dir] : 0;
}

// ----------------------------------------------------------------------------
// the ops

/* the chosen algorithm, checked against the workspace given, with its math
 * type set on the shared descriptor */
static ops_status conv_prepare(cuda_ctx *c, const ops_conv_shape *s, ops_conv_dir dir, const char *op,
                               size_t ws_bytes, cuda_conv_entry **out)
{
    cuda_conv_entry *e;
    ops_status st = conv_select(c, s, dir, &e);
    if (st != OPS_OK) return st;
    if (ws_bytes < e->ws_bytes[dir]) {
        ops_set_error("%s: workspace of %zu bytes, the chosen algorithm needs %zu (ask conv_workspace_bytes)", op,
                      ws_bytes, e->ws_bytes[dir]);
        return OPS_ERR_INVALID;
    }
    CUDNN_CHECK(cudnnSetConvolutionMathType(e->d.conv, e->math[dir]));
    *out = e;
    return OPS_OK;
}

ops_status cuda_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y, void *ws,
                           size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_prepare(c, s, OPS_CONV_FWD, "conv2d_fwd", ws_bytes, &e);
    if (st != OPS_OK) return st;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnConvolutionForward(c->cudnn, &one, e->d.x, x, e->d.w, w, e->d.conv,
                                        (cudnnConvolutionFwdAlgo_t)e->algo[OPS_CONV_FWD], ws, ws_bytes, &zero,
                                        e->d.y, y));
    return OPS_OK;
}

ops_status cuda_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy, float beta,
                                float *dx, void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_prepare(c, s, OPS_CONV_BWD_DATA, "conv2d_bwd_data", ws_bytes, &e);
    if (st != OPS_OK) return st;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(c->cudnn, &one, e->d.w, w, e->d.y, dy, e->d.conv,
                                             (cudnnConvolutionBwdDataAlgo_t)e->algo[OPS_CONV_BWD_DATA], ws, ws_bytes,
                                             &beta, e->d.x, dx));
    return OPS_OK;
}

/* beta = 1: the filter gradient is a parameter gradient, added into */
ops_status cuda_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy, float *dw,
                                  void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_prepare(c, s, OPS_CONV_BWD_FILTER, "conv2d_bwd_filter", ws_bytes, &e);
    if (st != OPS_OK) return st;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(c->cudnn, &one, e->d.x, x, e->d.y, dy, e->d.conv,
                                               (cudnnConvolutionBwdFilterAlgo_t)e->algo[OPS_CONV_BWD_FILTER], ws,
                                               ws_bytes, &one, e->d.w, dw));
    return OPS_OK;
}
