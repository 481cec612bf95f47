/* kernels/cuda/cudnn_desc.c — see cudnn_desc.h. */
#include "cudnn_desc.h"

#include <string.h>

cudnnMathType_t cuda_conv_math(int tf32) { return tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH; }

const char *cuda_conv_shape_problem(const ops_conv_shape *s)
{
    if (s->n <= 0 || s->c <= 0 || s->h <= 0 || s->w <= 0 || s->k <= 0 || s->r <= 0)
        return "conv: every dimension must be > 0";
    if (s->stride <= 0 || s->pad < 0) return "conv: stride must be > 0 and pad >= 0";
    if (s->p <= 0 || s->q <= 0) return "conv: the output is empty";
    return NULL;
}

const char *cuda_bn_shape_problem(const ops_norm_shape *s)
{
    if (s->n <= 0 || s->c <= 0 || s->hw <= 0) return "batchnorm: n, c and hw must be > 0";
    if ((double)s->eps < CUDNN_BN_MIN_EPSILON) return "batchnorm: eps below CUDNN_BN_MIN_EPSILON";
    if ((long long)s->n * s->hw < 2) return "batchnorm: one value per channel (n*hw == 1)";
    return NULL;
}

/* fp32 excludes the tensor-op math types (TF32 on sm_80+) */
static int math_allowed(cudnnMathType_t math, int tf32)
{
    return tf32 || (math != CUDNN_TENSOR_OP_MATH && math != CUDNN_TENSOR_OP_MATH_ALLOW_CONVERSION);
}

size_t cuda_conv_ws_limit(const ops_conv_shape *s)
{
    size_t x = (size_t)s->n * s->c * s->h * s->w, w = (size_t)s->k * s->c * s->r * s->r,
           y = (size_t)s->n * s->k * s->p * s->q;
    size_t operands = (x + w + y) * sizeof(float);
    return operands > CUDA_CONV_WS_FLOOR_BYTES ? operands : CUDA_CONV_WS_FLOOR_BYTES;
}

static int usable(const cuda_conv_perf *p, int tf32)
{
    return p->status == CUDNN_STATUS_SUCCESS && math_allowed(p->math, tf32);
}

int cuda_conv_pick(const cuda_conv_perf *p, int count, int tf32, size_t ws_limit)
{
    int smallest = -1;
    for (int i = 0; i < count; i++) {
        if (!usable(&p[i], tf32)) continue;
        if (p[i].memory <= ws_limit) return i;
        if (smallest < 0 || p[i].memory < p[smallest].memory) smallest = i;
    }
    return smallest;
}

int cuda_conv_pick_found(const cuda_conv_perf *p, int count, int tf32, size_t ws_limit)
{
    int best = -1;
    for (int i = 0; i < count; i++) {
        if (!usable(&p[i], tf32) || p[i].memory > ws_limit) continue;
        if (best < 0 || p[i].time_ms < p[best].time_ms) best = i;
    }
    return best;
}

cudnnMathType_t cuda_conv_run_math(cudnnMathType_t chosen, int tf32) { return tf32 ? chosen : CUDNN_FMA_MATH; }

/* indexed by the enum values themselves, so a renumbering cannot misname */
static const char *const fwd_algo_names[CUDNN_CONVOLUTION_FWD_ALGO_COUNT] = {
    [CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM] = "IMPLICIT_GEMM",
    [CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_PRECOMP_GEMM] = "IMPLICIT_PRECOMP_GEMM",
    [CUDNN_CONVOLUTION_FWD_ALGO_GEMM] = "GEMM",
    [CUDNN_CONVOLUTION_FWD_ALGO_DIRECT] = "DIRECT",
    [CUDNN_CONVOLUTION_FWD_ALGO_FFT] = "FFT",
    [CUDNN_CONVOLUTION_FWD_ALGO_FFT_TILING] = "FFT_TILING",
    [CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD] = "WINOGRAD",
    [CUDNN_CONVOLUTION_FWD_ALGO_WINOGRAD_NONFUSED] = "WINOGRAD_NONFUSED",
};
static const char *const bwd_data_algo_names[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT] = {
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_0] = "ALGO_0",
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_1] = "ALGO_1",
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT] = "FFT",
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_FFT_TILING] = "FFT_TILING",
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD] = "WINOGRAD",
    [CUDNN_CONVOLUTION_BWD_DATA_ALGO_WINOGRAD_NONFUSED] = "WINOGRAD_NONFUSED",
};
static const char *const bwd_filter_algo_names[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT] = {
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0] = "ALGO_0",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_1] = "ALGO_1",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT] = "FFT",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_3] = "ALGO_3",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD] = "WINOGRAD",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_WINOGRAD_NONFUSED] = "WINOGRAD_NONFUSED",
    [CUDNN_CONVOLUTION_BWD_FILTER_ALGO_FFT_TILING] = "FFT_TILING",
};

const char *cuda_conv_algo_name(ops_conv_dir dir, int algo)
{
    const char *const *names = NULL;
    int count = 0;
    if (dir == OPS_CONV_FWD) names = fwd_algo_names, count = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
    if (dir == OPS_CONV_BWD_DATA) names = bwd_data_algo_names, count = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
    if (dir == OPS_CONV_BWD_FILTER) names = bwd_filter_algo_names, count = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
    return names && algo >= 0 && algo < count && names[algo] ? names[algo] : "?";
}

const char *cuda_conv_dir_name(ops_conv_dir dir)
{
    return dir == OPS_CONV_FWD          ? "fwd"
           : dir == OPS_CONV_BWD_DATA   ? "bwd_data"
           : dir == OPS_CONV_BWD_FILTER ? "bwd_filter"
                                        : "?";
}

#define TRY(x)                                                                                     \
    do {                                                                                           \
        st = (x);                                                                                  \
        if (st != CUDNN_STATUS_SUCCESS) goto fail;                                                 \
    } while (0)

cudnnStatus_t cuda_conv_descs_build(cuda_conv_descs *d, const ops_conv_shape *s, cudnnMathType_t math)
{
    cudnnStatus_t st;
    int dims[4];
    memset(d, 0, sizeof *d);
    if (cuda_conv_shape_problem(s)) return CUDNN_STATUS_BAD_PARAM;
    TRY(cudnnCreateTensorDescriptor(&d->x));
    TRY(cudnnCreateFilterDescriptor(&d->w));
    TRY(cudnnCreateConvolutionDescriptor(&d->conv));
    TRY(cudnnCreateTensorDescriptor(&d->y));
    TRY(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n, s->c, s->h, s->w));
    TRY(cudnnSetFilter4dDescriptor(d->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, s->k, s->c, s->r, s->r));
    TRY(cudnnSetConvolution2dDescriptor(d->conv, s->pad, s->pad, s->stride, s->stride, 1, 1,
                                        CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    TRY(cudnnSetConvolutionMathType(d->conv, math));
    TRY(cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &dims[0], &dims[1], &dims[2], &dims[3]));
    TRY(cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, dims[0], dims[1], dims[2], dims[3]));
    return CUDNN_STATUS_SUCCESS;
fail:
    cuda_conv_descs_destroy(d);
    return st;
}

void cuda_conv_descs_destroy(cuda_conv_descs *d)
{
    if (d->y) cudnnDestroyTensorDescriptor(d->y);
    if (d->conv) cudnnDestroyConvolutionDescriptor(d->conv);
    if (d->w) cudnnDestroyFilterDescriptor(d->w);
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    memset(d, 0, sizeof *d);
}

cudnnStatus_t cuda_tensor_dims(cudnnTensorDescriptor_t t, int dims[4])
{
    cudnnDataType_t type;
    int ns, cs, hs, ws;
    cudnnStatus_t st = cudnnGetTensor4dDescriptor(t, &type, &dims[0], &dims[1], &dims[2], &dims[3],
                                                  &ns, &cs, &hs, &ws);
    if (st != CUDNN_STATUS_SUCCESS) return st;
    if (type != CUDNN_DATA_FLOAT || ws != 1 || hs != dims[3] || cs != dims[2] * dims[3] ||
        ns != dims[1] * dims[2] * dims[3])
        return CUDNN_STATUS_BAD_PARAM;
    return CUDNN_STATUS_SUCCESS;
}

cudnnStatus_t cuda_conv_descs_out_dims(const cuda_conv_descs *d, int dims[4]) { return cuda_tensor_dims(d->y, dims); }

cudnnStatus_t cuda_bn_descs_build(cuda_bn_descs *d, const ops_norm_shape *s)
{
    cudnnStatus_t st;
    memset(d, 0, sizeof *d);
    if (cuda_bn_shape_problem(s)) return CUDNN_STATUS_BAD_PARAM;
    TRY(cudnnCreateTensorDescriptor(&d->x));
    TRY(cudnnCreateTensorDescriptor(&d->bn));
    TRY(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, s->n, s->c, s->hw, 1));
    TRY(cudnnDeriveBNTensorDescriptor(d->bn, d->x, CUDNN_BATCHNORM_SPATIAL));
    return CUDNN_STATUS_SUCCESS;
fail:
    cuda_bn_descs_destroy(d);
    return st;
}

void cuda_bn_descs_destroy(cuda_bn_descs *d)
{
    if (d->bn) cudnnDestroyTensorDescriptor(d->bn);
    if (d->x) cudnnDestroyTensorDescriptor(d->x);
    memset(d, 0, sizeof *d);
}
