/* kernels/cuda/cudnn_desc.h — cuDNN (v9 legacy API) descriptors built from
 * the engine's shapes by plain functions. Descriptor calls need no GPU
 * (cudnnCreate*Descriptor, cudnnSet*Descriptor,
 * cudnnGetConvolution2dForwardOutputDim, cudnnDeriveBNTensorDescriptor), so
 * the CPU tests build the descriptors of every model and compare their
 * dimensions with the engine's.
 *
 * Layout: NCHW float32, fully packed. A normalisation's x (n, c, hw) is the
 * 4-D tensor (n, c, hw, 1); BatchNorm's per-channel tensors are derived from
 * it (CUDNN_BATCHNORM_SPATIAL: (1, c, 1, 1)). */
#ifndef ACCUMBENCH_CUDA_CUDNN_DESC_H
#define ACCUMBENCH_CUDA_CUDNN_DESC_H

#include "ops.h"

#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    cudnnTensorDescriptor_t x;          /* (n, c, h, w) */
    cudnnFilterDescriptor_t w;          /* (k, c, r, r) */
    cudnnConvolutionDescriptor_t conv;  /* pad, stride, dilation 1, cross-correlation, fp32 compute */
    cudnnTensorDescriptor_t y;          /* (n, k, p, q) as cuDNN computes it */
} cuda_conv_descs;

typedef struct {
    cudnnTensorDescriptor_t x;          /* (n, c, hw, 1): x, y, dy, dx */
    cudnnTensorDescriptor_t bn;         /* (1, c, 1, 1): gamma, bias, means, variances */
} cuda_bn_descs;

/* fp32: CUDNN_FMA_MATH (no tensor cores, so no TF32); tf32:
 * CUDNN_DEFAULT_MATH, which lets cuDNN use TF32 on sm_80+ (cuda-apis.md §3). */
cudnnMathType_t cuda_conv_math(int tf32);

/* NULL when the shape is one these descriptors can describe, else why not. */
const char *cuda_conv_shape_problem(const ops_conv_shape *s);
/* Also checks eps >= CUDNN_BN_MIN_EPSILON and n*hw > 1 (the unbiased running
 * variance divides by n*hw - 1). */
const char *cuda_bn_shape_problem(const ops_norm_shape *s);

/* The y descriptor takes cuDNN's own output dimensions, so a disagreement
 * with s->p, s->q shows in cuda_conv_descs_out_dims. On failure nothing
 * stays created. */
cudnnStatus_t cuda_conv_descs_build(cuda_conv_descs *d, const ops_conv_shape *s, cudnnMathType_t math);
void cuda_conv_descs_destroy(cuda_conv_descs *d);
/* One entry of a cudnnGetConvolution*Algorithm_v7 or cudnnFind*AlgorithmEx
 * result, whichever direction (their perf structs differ only in the type
 * of algo). */
typedef struct {
    int algo;                   /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    cudnnStatus_t status;
    cudnnMathType_t math;
    size_t memory;              /* workspace bytes the algorithm needs */
    float time_ms;              /* Find only */
} cuda_conv_perf;

/* The heuristic path's workspace limit for a shape: max(64 MiB, the bytes of
 * x, w and y together). PyTorch walks cuDNN's heuristic ranking and skips an
 * algorithm whose workspace it cannot allocate; we cannot make the choice
 * depend on what happens to be free (the memory figures would then depend on
 * it), so the limit comes from the shape: an algorithm needing more
 * workspace than its operands is what inflates `full` at large batches
 * (FFT, some GEMM variants take GBs), while the 64 MiB floor keeps small
 * shapes on their fastest algorithm (their workspaces are a few MiB). */
#define CUDA_CONV_WS_FLOOR_BYTES ((size_t)64 << 20)
size_t cuda_conv_ws_limit(const ops_conv_shape *s);
/* Heuristic results (cuDNN's ranking, fastest first): the first with status
 * SUCCESS, a math type the mode allows (fp32: anything but the tensor-op
 * math types; tf32: any) and memory <= ws_limit; when none fits, the allowed
 * SUCCESS needing the least workspace (the first of equals). -1 when none
 * is allowed. */
int cuda_conv_pick(const cuda_conv_perf *p, int count, int tf32, size_t ws_limit);
/* Find results: the fastest (least time_ms) allowed SUCCESS with memory <=
 * ws_limit, the first of equal times. -1 when none. */
int cuda_conv_pick_found(const cuda_conv_perf *p, int count, int tf32, size_t ws_limit);
/* The math type to set on the descriptor when running the chosen result:
 * tf32: the result's own (cuDNN needs algorithm and math type together to
 * run the kernel it timed); fp32: CUDNN_FMA_MATH, since a result reporting
 * CUDNN_DEFAULT_MATH would allow TF32 on sm_80+. */
cudnnMathType_t cuda_conv_run_math(cudnnMathType_t chosen, int tf32);
/* The name of a cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t value for the
 * direction, as in the enum without its prefix ("IMPLICIT_PRECOMP_GEMM",
 * "ALGO_1"); "?" for a value the enum does not have. */
const char *cuda_conv_algo_name(ops_conv_dir dir, int algo);
/* "fwd", "bwd_data", "bwd_filter" */
const char *cuda_conv_dir_name(ops_conv_dir dir);

/* dims = (n, k, p, q) of y */
cudnnStatus_t cuda_conv_descs_out_dims(const cuda_conv_descs *d, int dims[4]);

cudnnStatus_t cuda_bn_descs_build(cuda_bn_descs *d, const ops_norm_shape *s);
void cuda_bn_descs_destroy(cuda_bn_descs *d);

/* (n, c, h, w) of a 4-D float tensor descriptor; strides must be packed NCHW,
 * else CUDNN_STATUS_BAD_PARAM. */
cudnnStatus_t cuda_tensor_dims(cudnnTensorDescriptor_t t, int dims[4]);

#ifdef __cplusplus
}
#endif
#endif
