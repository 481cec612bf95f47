/* kernels/cuda/cuda_internal.h — what the CUDA backend's files share: the
 * context and the cuda_<op> entry points (same argument order as the CPU
 * backend's cpu_<op>). cuda_backend.c holds the context, memory, cuBLAS and
 * cuDNN ops and the function table; cuda_kernels.cu the own kernels. */
#ifndef ACCUMBENCH_CUDA_INTERNAL_H
#define ACCUMBENCH_CUDA_INTERNAL_H

#include "ops.h"
#include "cudnn_desc.h"
#include "launch.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One convolution shape: its descriptors and, per direction, the algorithm
 * cuDNN's heuristics chose and the workspace it needs. */
typedef struct {
    ops_conv_shape shape;
    cuda_conv_descs d;
    int chosen[OPS_CONV_DIR_COUNT];
    int algo[OPS_CONV_DIR_COUNT];           /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    size_t ws_bytes[OPS_CONV_DIR_COUNT];
} cuda_conv_entry;

typedef struct {
    int n, c, hw;
    cuda_bn_descs d;
} cuda_bn_entry;

typedef struct {
    int device;
    char device_name[256];
    int cc_major, cc_minor;
    cuda_limits limits;
    cudaStream_t stream;
    cublasHandle_t cublas;
    cudnnHandle_t cudnn;
    void *cublas_ws;                /* fixed, allocated at create: see cuda_backend_fixed_bytes */
    size_t cublas_ws_bytes;
    int tf32;
    cuda_conv_entry **convs;
    size_t n_convs, convs_cap;
    cuda_bn_entry **bns;
    size_t n_bns, bns_cap;
} cuda_ctx;

/* 1 when the kernels of this file have code for the current device, else 0
 * with the reason in why (e.g. built for sm_80/sm_90, device is sm_75). */
int cuda_kernels_usable(char *why, size_t why_len);

ops_status cuda_groupnorm_fwd(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                              const float *bias, float *y, float *save_mean, float *save_rstd);
ops_status cuda_groupnorm_bwd(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                              const float *gamma, const float *save_mean, const float *save_rstd, float beta,
                              float *dx, float *dgamma, float *dbias);
ops_status cuda_relu_fwd(void *ctx, size_t n, const float *x, float *y);
ops_status cuda_relu_bwd(void *ctx, size_t n, const float *y, const float *dy, float beta, float *dx);
ops_status cuda_add(void *ctx, size_t n, const float *a, const float *b, float *y);
ops_status cuda_avgpool_fwd(void *ctx, int n, int c, int hw, const float *x, float *y);
ops_status cuda_avgpool_bwd(void *ctx, int n, int c, int hw, const float *dy, float beta, float *dx);
ops_status cuda_softmax_xent_fwd(void *ctx, int n, int classes, const float *logits, const int32_t *targets,
                                 float *probs, float *losses);
ops_status cuda_softmax_xent_bwd(void *ctx, int n, int classes, const float *probs, const int32_t *targets,
                                 float scale, float *dlogits);
ops_status cuda_sgd_step(void *ctx, size_t n, float *param, const float *grad, float *momentum_buf,
                         const ops_sgd_hparams *h);
ops_status cuda_adamw_step(void *ctx, size_t n, float *param, const float *grad, float *m, float *v,
                           const ops_adamw_hparams *h);
ops_status cuda_fill(void *ctx, size_t n, float *x, float value);
ops_status cuda_scale(void *ctx, size_t n, float *x, float alpha);
ops_status cuda_axpy(void *ctx, size_t n, float alpha, const float *x, float *y);
ops_status cuda_copy(void *ctx, size_t n, const float *x, float *y);

#ifdef __cplusplus
}
#endif
#endif
