/* kernels/cuda/cuda_backend.c — the CUDA backend's context (device, stream,
 * cuBLAS and cuDNN handles, the memory pool), its memory slots (one
 * reservation, or the stream-ordered pool), device settings (math mode, the
 * library workspace handed in by the caller), cuBLAS GEMM, cuDNN BatchNorm
 * and the function table. Host C11; the convolutions are in cuda_conv.c,
 * the own kernels in cuda_kernels.cu, the measurement slots in
 * cuda_measure.c.
 *
 * Conventions (kernels/ops.h): row-major float32, NCHW; beta == 0 assigns
 * without reading the output; parameter gradients are added into. Every op
 * is asynchronous on the context's stream; upload, download and synchronize
 * wait for it. Ops never allocate device memory: conv workspaces come from
 * the caller, sized by conv_workspace_bytes, and so does the library
 * workspace. */
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
    cuda_conv_cache_free(c);
    for (size_t i = 0; i < c->n_bns; i++) {
        cuda_bn_descs_destroy(&c->bns[i]->d);
        free(c->bns[i]);
    }
    free(c->bns);
    if (c->cudnn) cudnnDestroy(c->cudnn);
    if (c->cublas) cublasDestroy(c->cublas);
    /* blocks still out are released once their frees complete (cudaMemPoolDestroy) */
    if (c->pool) (void)cudaMemPoolDestroy(c->pool);
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
    return cuda_conv_cache_forget(c);
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

/* --allocator pool: a private stream-ordered pool on the backend's device,
 * created at the first pool allocation. Its release threshold is the
 * largest there is, so what a step frees stays cached for the next one (the
 * default, 0, would hand it back to the driver at every synchronisation and
 * make timed steps allocate from the driver). */
static ops_status pool_create(cuda_ctx *c)
{
    struct cudaMemPoolProps props;
    memset(&props, 0, sizeof props);
    props.allocType = cudaMemAllocationTypePinned;
    props.handleTypes = cudaMemHandleTypeNone;
    props.location.type = cudaMemLocationTypeDevice;
    props.location.id = c->device;
    CUDA_CHECK(cudaMemPoolCreate(&c->pool, &props));
    uint64_t keep = UINT64_MAX;
    CUDA_CHECK(cudaMemPoolSetAttribute(c->pool, cudaMemPoolAttrReleaseThreshold, &keep));
    return OPS_OK;
}

/* In stream order on the backend's stream, where every op, copy and
 * library call runs, so a block is usable by the next op issued. */
static ops_status cuda_pool_alloc(void *ctx, size_t bytes, void **p)
{
    cuda_ctx *c = ctx;
    *p = NULL;
    ops_status st = c->pool ? OPS_OK : pool_create(c);
    if (st != OPS_OK) return st;
    cudaError_t e = cudaMallocFromPoolAsync(p, bytes, c->pool, c->stream);
    if (e != cudaSuccess) {
        *p = NULL;
        return cuda_check_(e, "cudaMallocFromPoolAsync(p, bytes, c->pool, c->stream)", __func__, __FILE__, __LINE__);
    }
    /* cuBLAS's workspace and the float4 kernels rely on what every arena
     * block has (OPS_ALIGN_BYTES); the runtime API does not state the
     * pool's alignment (RMM's async resource assumes the same 256 bytes),
     * so it is checked, not assumed */
    if ((uintptr_t)*p % OPS_ALIGN_BYTES != 0) {
        ops_set_error("cudaMallocFromPoolAsync returned %p for %zu bytes, not %zu-byte aligned", *p, bytes,
                      OPS_ALIGN_BYTES);
        (void)cudaFreeAsync(*p, c->stream);
        *p = NULL;
        return OPS_ERR_BACKEND;
    }
    return OPS_OK;
}

static void cuda_pool_free(void *ctx, void *p)
{
    cuda_ctx *c = ctx;
    if (p) (void)cuda_check_(cudaFreeAsync(p, c->stream), "cudaFreeAsync(p, c->stream)", __func__, __FILE__, __LINE__);
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
    .pool_alloc = cuda_pool_alloc,
    .pool_free = cuda_pool_free,
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
