/* kernels/cuda/cuda_backend.c — the CUDA backend's context (device, stream,
 * cuBLAS and cuDNN handles, the convolution algorithm cache), its memory and
 * device-setting slots (math mode, the cuBLAS workspace handed in by the
 * caller, conv_find/conv_choice), the library-backed ops (cuBLAS GEMM, cuDNN
 * convolutions and BatchNorm) and the function table. Host C11; the own
 * kernels are in cuda_kernels.cu, the measurement slots in cuda_measure.c.
 *
 * Conventions (kernels/ops.h): row-major float32, NCHW; beta == 0 assigns
 * without reading the output; parameter gradients are added into. Every op
 * is asynchronous on the context's stream; upload, download and synchronize
 * wait for it. Ops never allocate device memory: conv workspaces come from
 * the caller, sized by conv_workspace_bytes. */
#include "cuda_backend.h"
#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_transformer.h"
#include "gemm_desc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// context

static void cuda_destroy(void *ctx)
{
    cuda_ctx *c = ctx;
    if (!c) return;
    if (c->stream) (void)cudaStreamSynchronize(c->stream);
    cuda_measure_destroy(c);
    for (size_t i = 0; i < c->n_convs; i++) {
        cuda_conv_descs_destroy(&c->convs[i]->d);
        free(c->convs[i]);
    }
    free(c->convs);
    for (size_t i = 0; i < c->n_bns; i++) {
        cuda_bn_descs_destroy(&c->bns[i]->d);
        free(c->bns[i]);
    }
    free(c->bns);
    if (c->cudnn) cudnnDestroy(c->cudnn);
    if (c->cublas) cublasDestroy(c->cublas);
    if (c->stream) (void)cudaStreamDestroy(c->stream);
    (void)cudaGetLastError();
    free(c);
}

/* create's checks: the reason goes to `why`, partial state is torn down */
#define CREATE_CHECK(fn, x)                                                                        \
    do {                                                                                           \
        if (fn((x), #x, __func__, __FILE__, __LINE__) != OPS_OK) {                                 \
            snprintf(why, why_len, "%s", ops_last_error());                                       \
            cuda_destroy(c);                                                                       \
            return OPS_ERR_BACKEND;                                                                \
        }                                                                                          \
    } while (0)

ops_status cuda_backend_create(void **out, char *why, size_t why_len)
{
    *out = NULL;
    if (why_len) why[0] = '\0';
    int count = 0;
    cudaError_t e = cudaGetDeviceCount(&count);
    if (e != cudaSuccess) {
        (void)cudaGetLastError();
        const char *what = e == cudaErrorInsufficientDriver ? "no CUDA driver, or one older than the CUDA runtime"
                           : e == cudaErrorNoDevice         ? "no CUDA device"
                                                            : cudaGetErrorString(e);
        snprintf(why, why_len, "%s (%s)", what, cudaGetErrorName(e));
        return OPS_ERR_BACKEND;
    }
    if (count < 1) {
        snprintf(why, why_len, "no CUDA device (cudaGetDeviceCount returned 0)");
        return OPS_ERR_BACKEND;
    }
    cuda_ctx *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, why_len, "out of host memory creating the CUDA context");
        return OPS_ERR_BACKEND;
    }
    c->device = 0;
    /* CUPTI MEMORY2 on before the first device allocation (cuBLAS and cuDNN
     * allocate when their handles are created) */
    if (cuda_measure_create(c) != OPS_OK) {
        snprintf(why, why_len, "%s", ops_last_error());
        cuda_destroy(c);
        return OPS_ERR_BACKEND;
    }
    CREATE_CHECK(cuda_check_, cudaSetDevice(c->device));
    struct cudaDeviceProp prop;
    CREATE_CHECK(cuda_check_, cudaGetDeviceProperties(&prop, c->device));
    snprintf(c->device_name, sizeof c->device_name, "%s", prop.name);
    c->cc_major = prop.major;
    c->cc_minor = prop.minor;
    c->limits.max_grid_x = (unsigned)prop.maxGridSize[0];
    c->limits.max_block = (unsigned)prop.maxThreadsPerBlock;
    c->limits.sm_count = (unsigned)prop.multiProcessorCount;
    if (!cuda_kernels_usable(why, why_len)) {
        size_t used = strlen(why);
        snprintf(why + used, why_len - used, " [%s, sm_%d%d]", c->device_name, c->cc_major, c->cc_minor);
        cuda_destroy(c);
        return OPS_ERR_BACKEND;
    }
    CREATE_CHECK(cuda_check_, cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking));

    CREATE_CHECK(cublas_check_, cublasCreate(&c->cublas));
    CREATE_CHECK(cublas_check_, cublasSetStream(c->cublas, c->stream));
    CREATE_CHECK(cublas_check_, cublasSetMathMode(c->cublas, CUBLAS_DEFAULT_MATH));
    /* no workspace until set_library_workspace hands one in from the tracked
     * arena: cuBLAS does not use its default workspace pool for our calls
     * (cublasSetStream would restore that pool, so the stream is set only
     * here, before). Whatever cublasCreate allocates itself, MEMORY2 sees. */
    CREATE_CHECK(cublas_check_, cublasSetWorkspace(c->cublas, NULL, 0));

    CREATE_CHECK(cudnn_check_, cudnnCreate(&c->cudnn));
    CREATE_CHECK(cudnn_check_, cudnnSetStream(c->cudnn, c->stream));
    if (cuda_measure_ready(c) != OPS_OK) {
        snprintf(why, why_len, "%s", ops_last_error());
        cuda_destroy(c);
        return OPS_ERR_BACKEND;
    }
    *out = c;
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// device settings: math mode, the cuBLAS workspace

/* Forgets the cached convolution algorithms, found ones included: call it
 * before conv_find and conv_workspace_bytes. */
static ops_status cuda_set_math(void *ctx, int tf32)
{
    cuda_ctx *c = ctx;
    CUBLAS_CHECK(cublasSetMathMode(c->cublas, tf32 ? CUBLAS_TF32_TENSOR_OP_MATH : CUBLAS_DEFAULT_MATH));
    c->tf32 = tf32 ? 1 : 0;
    for (size_t i = 0; i < c->n_convs; i++) {
        cuda_conv_entry *e = c->convs[i];
        CUDNN_CHECK(cudnnSetConvolutionMathType(e->d.conv, cuda_conv_math(c->tf32)));
        memset(e->chosen, 0, sizeof e->chosen);
        memset(e->found, 0, sizeof e->found);
    }
    return OPS_OK;
}

static size_t cuda_library_workspace_bytes(void *ctx)
{
    (void)ctx;
    return CUDA_CUBLAS_WORKSPACE_BYTES;
}

/* ws == NULL, bytes == 0 detaches it (cuBLAS then runs without workspace).
 * cuBLAS wants the workspace 256-byte aligned (cublasSetWorkspace docs),
 * which every arena block is (OPS_ALIGN_BYTES). */
static ops_status cuda_set_library_workspace(void *ctx, void *ws, size_t bytes)
{
    cuda_ctx *c = ctx;
    if ((ws == NULL) != (bytes == 0) || (uintptr_t)ws % 256 != 0) {
        ops_set_error("set_library_workspace: %p of %zu bytes (must be 256-byte aligned, NULL only with 0 bytes)",
                      ws, bytes);
        return OPS_ERR_INVALID;
    }
    CUBLAS_CHECK(cublasSetWorkspace(c->cublas, ws, bytes));
    c->cublas_ws = ws;
    c->cublas_ws_bytes = bytes;
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// memory

static ops_status cuda_reserve(void *ctx, size_t bytes, void **base)
{
    (void)ctx;
    *base = NULL;
    if (!bytes) return OPS_OK;
    cudaError_t e = cudaMalloc(base, bytes);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();
        *base = NULL;
        ops_set_error("cudaMalloc: out of device memory reserving %zu bytes (%.1f MiB)", bytes,
                      (double)bytes / (1024.0 * 1024.0));
        return OPS_ERR_OOM;
    }
    if (e != cudaSuccess) *base = NULL;
    return cuda_check_(e, "cudaMalloc(base, bytes)", __func__, __FILE__, __LINE__);
}

static void cuda_release(void *ctx, void *base, size_t bytes)
{
    (void)ctx;
    (void)bytes;
    if (base) (void)cuda_check_(cudaFree(base), "cudaFree(base)", __func__, __FILE__, __LINE__);
}

static ops_status cuda_upload(void *ctx, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *c = ctx;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return OPS_OK;
}

static ops_status cuda_download(void *ctx, void *dst, const void *src, size_t bytes)
{
    cuda_ctx *c = ctx;
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, c->stream));
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return OPS_OK;
}

static ops_status cuda_synchronize(void *ctx)
{
    cuda_ctx *c = ctx;
    CUDA_CHECK(cudaStreamSynchronize(c->stream));
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cuBLAS GEMM

static ops_status cuda_gemm(void *ctx, const ops_gemm_desc *d, const float *a, const float *b, float *c_)
{
    cuda_ctx *c = ctx;
    cuda_gemm_colmajor g = cuda_gemm_describe(d);
    if (!g.ok) {
        ops_set_error("gemm: %s (m=%d n=%d k=%d lda=%d ldb=%d ldc=%d trans_a=%d trans_b=%d)", g.why, d->m, d->n,
                      d->k, d->lda, d->ldb, d->ldc, d->trans_a, d->trans_b);
        return OPS_ERR_INVALID;
    }
    if (g.empty) return OPS_OK;
    const float *first = g.b_first ? b : a, *second = g.b_first ? a : b;
    CUBLAS_CHECK(cublasSgemm(c->cublas, g.transa ? CUBLAS_OP_T : CUBLAS_OP_N, g.transb ? CUBLAS_OP_T : CUBLAS_OP_N,
                             g.m, g.n, g.k, &g.alpha, first, g.lda, second, g.ldb, &g.beta, c_, g.ldc));
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cuDNN convolutions: descriptors and algorithm cached per shape, algorithm
// per direction from the v7 heuristics (first SUCCESS the math mode allows)

static int conv_shape_eq(const ops_conv_shape *a, const ops_conv_shape *b)
{
    return a->n == b->n && a->c == b->c && a->h == b->h && a->w == b->w && a->k == b->k && a->r == b->r &&
           a->stride == b->stride && a->pad == b->pad && a->p == b->p && a->q == b->q;
}

static ops_status conv_entry(cuda_ctx *c, const ops_conv_shape *s, cuda_conv_entry **out)
{
    *out = NULL;
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

static ops_status no_algo(const ops_conv_shape *s, const char *dir, int returned)
{
    ops_set_error("conv %s: no usable cuDNN algorithm among %d heuristic results (n=%d c=%d h=%d w=%d k=%d r=%d "
                  "stride=%d pad=%d)",
                  dir, returned, s->n, s->c, s->h, s->w, s->k, s->r, s->stride, s->pad);
    return OPS_ERR_BACKEND;
}

/* The largest count any direction has (fwd 8, bwd filter 7, bwd data 6). */
#define CONV_ALGO_MAX CUDNN_CONVOLUTION_FWD_ALGO_COUNT

static ops_status conv_select(cuda_ctx *c, const ops_conv_shape *s, ops_conv_dir dir, cuda_conv_entry **out)
{
    cuda_conv_entry *e;
    ops_status st = conv_entry(c, s, &e);
    if (st != OPS_OK) return st;
    *out = e;
    if ((unsigned)dir >= OPS_CONV_DIR_COUNT) {
        ops_set_error("conv: bad direction %d", (int)dir);
        return OPS_ERR_INVALID;
    }
    if (e->chosen[dir]) return OPS_OK;
    cudnnStatus_t status[CONV_ALGO_MAX];
    cudnnMathType_t math[CONV_ALGO_MAX];
    int got = 0, pick, algo;
    size_t perf_bytes, ws = 0;
    const cuda_conv_descs *d = &e->d;
    if (dir == OPS_CONV_FWD) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionForwardAlgorithm_v7(c->cudnn, d->x, d->w, d->conv, d->y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf));
        for (int i = 0; i < got; i++) status[i] = perf[i].status, math[i] = perf[i].mathType;
        if ((pick = cuda_conv_pick(got, status, math, c->tf32)) < 0) return no_algo(s, "fwd", got);
        algo = (int)perf[pick].algo;
        perf_bytes = perf[pick].memory;
        CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(c->cudnn, d->x, d->w, d->conv, d->y, perf[pick].algo, &ws));
    } else if (dir == OPS_CONV_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionBackwardDataAlgorithm_v7(c->cudnn, d->w, d->y, d->conv, d->x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf));
        for (int i = 0; i < got; i++) status[i] = perf[i].status, math[i] = perf[i].mathType;
        if ((pick = cuda_conv_pick(got, status, math, c->tf32)) < 0) return no_algo(s, "bwd_data", got);
        algo = (int)perf[pick].algo;
        perf_bytes = perf[pick].memory;
        CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(c->cudnn, d->w, d->y, d->conv, d->x, perf[pick].algo,
                                                                 &ws));
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CUDNN_CHECK(cudnnGetConvolutionBackwardFilterAlgorithm_v7(c->cudnn, d->x, d->y, d->conv, d->w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf));
        for (int i = 0; i < got; i++) status[i] = perf[i].status, math[i] = perf[i].mathType;
        if ((pick = cuda_conv_pick(got, status, math, c->tf32)) < 0) return no_algo(s, "bwd_filter", got);
        algo = (int)perf[pick].algo;
        perf_bytes = perf[pick].memory;
        CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(c->cudnn, d->x, d->y, d->conv, d->w,
                                                                   perf[pick].algo, &ws));
    }
    e->algo[dir] = algo;
    e->ws_bytes[dir] = ws > perf_bytes ? ws : perf_bytes;
    e->chosen[dir] = 1;
    return OPS_OK;
}

/* --conv-algo find: cudnnFind*AlgorithmEx runs every algorithm on the
 * caller's buffers (it writes the direction's output: y, x for bwd_data, w
 * for bwd_filter) within the caller's workspace, and returns them timed. The
 * fastest that succeeded, fits ws_bytes and uses a math type the mode allows
 * replaces the cached choice. */
static ops_status cuda_conv_find(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                                 void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_entry(c, s, &e);
    if (st != OPS_OK) return st;
    if ((unsigned)dir >= OPS_CONV_DIR_COUNT) {
        ops_set_error("conv_find: bad direction %d", (int)dir);
        return OPS_ERR_INVALID;
    }
    cudnnStatus_t status[CONV_ALGO_MAX];
    cudnnMathType_t math[CONV_ALGO_MAX];
    size_t memory[CONV_ALGO_MAX];
    float time_ms[CONV_ALGO_MAX];
    int algos[CONV_ALGO_MAX];
    int got = 0;
    const cuda_conv_descs *d = &e->d;
    if (dir == OPS_CONV_FWD) {
        cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(c->cudnn, d->x, x, d->w, w, d->conv, d->y, y,
                                                           CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &got, perf, ws,
                                                           ws_bytes));
        for (int i = 0; i < got; i++)
            status[i] = perf[i].status, math[i] = perf[i].mathType, memory[i] = perf[i].memory,
            time_ms[i] = perf[i].time, algos[i] = (int)perf[i].algo;
    } else if (dir == OPS_CONV_BWD_DATA) {
        cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(c->cudnn, d->w, w, d->y, y, d->conv, d->x, x,
                                                                CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &got, perf, ws,
                                                                ws_bytes));
        for (int i = 0; i < got; i++)
            status[i] = perf[i].status, math[i] = perf[i].mathType, memory[i] = perf[i].memory,
            time_ms[i] = perf[i].time, algos[i] = (int)perf[i].algo;
    } else {
        cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
        CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(c->cudnn, d->x, x, d->y, y, d->conv, d->w, w,
                                                                  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &got, perf,
                                                                  ws, ws_bytes));
        for (int i = 0; i < got; i++)
            status[i] = perf[i].status, math[i] = perf[i].mathType, memory[i] = perf[i].memory,
            time_ms[i] = perf[i].time, algos[i] = (int)perf[i].algo;
    }
    int pick = cuda_conv_pick_found(got, status, math, memory, time_ms, ws_bytes, c->tf32);
    if (pick < 0) {
        ops_set_error("conv_find %s: none of %d timed cuDNN algorithms succeeded within %zu workspace bytes with "
                      "the math mode allowed (n=%d c=%d h=%d w=%d k=%d r=%d stride=%d pad=%d)",
                      cuda_conv_dir_name(dir), got, ws_bytes, s->n, s->c, s->h, s->w, s->k, s->r, s->stride, s->pad);
        return OPS_ERR_BACKEND;
    }
    size_t need = 0;
    if (dir == OPS_CONV_FWD)
        CUDNN_CHECK(cudnnGetConvolutionForwardWorkspaceSize(c->cudnn, d->x, d->w, d->conv, d->y,
                                                            (cudnnConvolutionFwdAlgo_t)algos[pick], &need));
    else if (dir == OPS_CONV_BWD_DATA)
        CUDNN_CHECK(cudnnGetConvolutionBackwardDataWorkspaceSize(c->cudnn, d->w, d->y, d->conv, d->x,
                                                                 (cudnnConvolutionBwdDataAlgo_t)algos[pick], &need));
    else
        CUDNN_CHECK(cudnnGetConvolutionBackwardFilterWorkspaceSize(
            c->cudnn, d->x, d->y, d->conv, d->w, (cudnnConvolutionBwdFilterAlgo_t)algos[pick], &need));
    e->algo[dir] = algos[pick];
    e->ws_bytes[dir] = need > memory[pick] ? need : memory[pick];
    e->chosen[dir] = 1;
    e->found[dir] = 1;
    return OPS_OK;
}

/* the algorithm's name as in its cuDNN enum, without the prefix
 * ("IMPLICIT_PRECOMP_GEMM"), for algos.csv */
static ops_status cuda_conv_choice(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
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
static size_t cuda_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir)
{
    cuda_conv_entry *e;
    return conv_select(ctx, s, dir, &e) == OPS_OK ? e->ws_bytes[dir] : 0;
}

static ops_status conv_ws_check(const cuda_conv_entry *e, ops_conv_dir dir, const char *op, size_t ws_bytes)
{
    if (ws_bytes >= e->ws_bytes[dir]) return OPS_OK;
    ops_set_error("%s: workspace of %zu bytes, the chosen algorithm needs %zu (ask conv_workspace_bytes)", op,
                  ws_bytes, e->ws_bytes[dir]);
    return OPS_ERR_INVALID;
}

static ops_status cuda_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y,
                                  void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_select(c, s, OPS_CONV_FWD, &e);
    if (st == OPS_OK) st = conv_ws_check(e, OPS_CONV_FWD, "conv2d_fwd", ws_bytes);
    if (st != OPS_OK) return st;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnConvolutionForward(c->cudnn, &one, e->d.x, x, e->d.w, w, e->d.conv,
                                        (cudnnConvolutionFwdAlgo_t)e->algo[OPS_CONV_FWD], ws, ws_bytes, &zero,
                                        e->d.y, y));
    return OPS_OK;
}

static ops_status cuda_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy,
                                       float beta, float *dx, void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_select(c, s, OPS_CONV_BWD_DATA, &e);
    if (st == OPS_OK) st = conv_ws_check(e, OPS_CONV_BWD_DATA, "conv2d_bwd_data", ws_bytes);
    if (st != OPS_OK) return st;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardData(c->cudnn, &one, e->d.w, w, e->d.y, dy, e->d.conv,
                                             (cudnnConvolutionBwdDataAlgo_t)e->algo[OPS_CONV_BWD_DATA], ws, ws_bytes,
                                             &beta, e->d.x, dx));
    return OPS_OK;
}

/* beta = 1: the filter gradient is a parameter gradient, added into */
static ops_status cuda_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy,
                                         float *dw, void *ws, size_t ws_bytes)
{
    cuda_ctx *c = ctx;
    cuda_conv_entry *e;
    ops_status st = conv_select(c, s, OPS_CONV_BWD_FILTER, &e);
    if (st == OPS_OK) st = conv_ws_check(e, OPS_CONV_BWD_FILTER, "conv2d_bwd_filter", ws_bytes);
    if (st != OPS_OK) return st;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnConvolutionBackwardFilter(c->cudnn, &one, e->d.x, x, e->d.y, dy, e->d.conv,
                                               (cudnnConvolutionBwdFilterAlgo_t)e->algo[OPS_CONV_BWD_FILTER], ws,
                                               ws_bytes, &one, e->d.w, dw));
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cuDNN BatchNorm (training), descriptors cached per (n, c, hw)

static ops_status bn_entry(cuda_ctx *c, const ops_norm_shape *s, cuda_bn_entry **out)
{
    *out = NULL;
    const char *problem = cuda_bn_shape_problem(s);
    if (problem) {
        ops_set_error("%s (n=%d c=%d hw=%d eps=%g)", problem, s->n, s->c, s->hw, (double)s->eps);
        return OPS_ERR_INVALID;
    }
    for (size_t i = 0; i < c->n_bns; i++) {
        cuda_bn_entry *e = c->bns[i];
        if (e->n == s->n && e->c == s->c && e->hw == s->hw) {
            *out = e;
            return OPS_OK;
        }
    }
    if (c->n_bns == c->bns_cap) {
        size_t cap = c->bns_cap ? 2 * c->bns_cap : 16;
        cuda_bn_entry **grown = realloc(c->bns, cap * sizeof *grown);
        if (!grown) {
            ops_set_error("batchnorm: out of host memory for the descriptor cache");
            return OPS_ERR_OOM;
        }
        c->bns = grown;
        c->bns_cap = cap;
    }
    cuda_bn_entry *e = calloc(1, sizeof *e);
    if (!e) {
        ops_set_error("batchnorm: out of host memory for the descriptor cache");
        return OPS_ERR_OOM;
    }
    e->n = s->n;
    e->c = s->c;
    e->hw = s->hw;
    ops_status st = cudnn_check_(cuda_bn_descs_build(&e->d, s), "cuda_bn_descs_build(&e->d, s)", __func__,
                                 __FILE__, __LINE__);
    if (st != OPS_OK) {
        free(e);
        return st;
    }
    c->bns[c->n_bns++] = e;
    *out = e;
    return OPS_OK;
}

/* running statistics: new = (1 - momentum) * old + momentum * batch, the
 * variance unbiased (cuDNN's exponentialAverageFactor = momentum, as PyTorch);
 * save_invstd = 1 / sqrt(biased var + eps) */
static ops_status cuda_batchnorm_fwd(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                     const float *bias, float *y, float *running_mean, float *running_var,
                                     float *save_mean, float *save_invstd)
{
    cuda_ctx *c = ctx;
    cuda_bn_entry *e;
    ops_status st = bn_entry(c, s, &e);
    if (st != OPS_OK) return st;
    const float one = 1.0f, zero = 0.0f;
    CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(c->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &zero, e->d.x, x,
                                                       e->d.x, y, e->d.bn, gamma, bias, (double)s->momentum,
                                                       running_mean, running_var, (double)s->eps, save_mean,
                                                       save_invstd));
    return OPS_OK;
}

/* dx blends with beta; dgamma and dbias are added into (betaParamDiff = 1) */
static ops_status cuda_batchnorm_bwd(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                     const float *gamma, const float *save_mean, const float *save_invstd,
                                     float beta, float *dx, float *dgamma, float *dbias)
{
    cuda_ctx *c = ctx;
    cuda_bn_entry *e;
    ops_status st = bn_entry(c, s, &e);
    if (st != OPS_OK) return st;
    const float one = 1.0f;
    CUDNN_CHECK(cudnnBatchNormalizationBackward(c->cudnn, CUDNN_BATCHNORM_SPATIAL, &one, &beta, &one, &one, e->d.x,
                                                x, e->d.x, dy, e->d.x, dx, e->d.bn, gamma, dgamma, dbias,
                                                (double)s->eps, save_mean, save_invstd));
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// the table

const ops_backend_i cuda_backend_i = {
    .name = "cuda",
    .destroy = cuda_destroy,
    .reserve = cuda_reserve,
    .release = cuda_release,
    .upload = cuda_upload,
    .download = cuda_download,
    .synchronize = cuda_synchronize,
    .conv_workspace_bytes = cuda_conv_workspace_bytes,
    .gemm = cuda_gemm,
    .conv2d_fwd = cuda_conv2d_fwd,
    .conv2d_bwd_data = cuda_conv2d_bwd_data,
    .conv2d_bwd_filter = cuda_conv2d_bwd_filter,
    .batchnorm_fwd = cuda_batchnorm_fwd,
    .batchnorm_bwd = cuda_batchnorm_bwd,
    .groupnorm_fwd = cuda_groupnorm_fwd,
    .groupnorm_bwd = cuda_groupnorm_bwd,
    .relu_fwd = cuda_relu_fwd,
    .relu_bwd = cuda_relu_bwd,
    .add = cuda_add,
    .avgpool_fwd = cuda_avgpool_fwd,
    .avgpool_bwd = cuda_avgpool_bwd,
    .softmax_xent_fwd = cuda_softmax_xent_fwd,
    .softmax_xent_bwd = cuda_softmax_xent_bwd,
    .sgd_step = cuda_sgd_step,
    .adamw_step = cuda_adamw_step,
    .fill = cuda_fill,
    .scale = cuda_scale,
    .axpy = cuda_axpy,
    .copy = cuda_copy,
    .embedding_fwd = cuda_embedding_fwd,
    .embedding_bwd = cuda_embedding_bwd,
    .layernorm_fwd = cuda_layernorm_fwd,
    .layernorm_bwd = cuda_layernorm_bwd,
    .attention_fwd = cuda_attention_fwd,
    .attention_bwd = cuda_attention_bwd,
    .gelu_fwd = cuda_gelu_fwd,
    .gelu_bwd = cuda_gelu_bwd,
    .xent_lse_fwd = cuda_xent_lse_fwd,
    .xent_lse_bwd = cuda_xent_lse_bwd,
    .set_math = cuda_set_math,
    .library_workspace_bytes = cuda_library_workspace_bytes,
    .set_library_workspace = cuda_set_library_workspace,
    .conv_find = cuda_conv_find,
    .conv_choice = cuda_conv_choice,
    .phase_changed = cuda_phase_changed,
    .timer_start = cuda_timer_start,
    .timer_stop = cuda_timer_stop,
    .profile_begin = cuda_profile_begin,
    .profile_end = cuda_profile_end,
    .device_memory = cuda_device_memory,
    .device_memory_reset = cuda_device_memory_reset,
    .device_state = cuda_device_state,
};
