/* kernels/cuda/cuda_internal.h — what the CUDA backend's files share: the
 * context and the cuda_<op> entry points (same argument order as the CPU
 * backend's cpu_<op>). cuda_backend.c holds the context, memory, cuBLAS,
 * cuDNN BatchNorm and the function table; cuda_conv.c the cuDNN
 * convolutions; cuda_kernels.cu the own kernels;
 * cuda_measure.c the measurement slots (CUPTI, NVTX, timers, device memory);
 * cuda_nvml.c the device state. */
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
 * chosen (by cuDNN's heuristics, or timed by conv_find), the workspace it
 * needs and the math type it runs with. */
typedef struct {
    ops_conv_shape shape;
    cuda_conv_descs d;
    int chosen[OPS_CONV_DIR_COUNT];
    int found[OPS_CONV_DIR_COUNT];          /* chosen by conv_find (cudnnFind*Ex), not the heuristics */
    int algo[OPS_CONV_DIR_COUNT];           /* cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t */
    size_t ws_bytes[OPS_CONV_DIR_COUNT];
    cudnnMathType_t math[OPS_CONV_DIR_COUNT];
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
    void *cublas_ws;                /* the caller's (set_library_workspace); NULL: none yet */
    size_t cublas_ws_bytes;
    cudaMemPool_t pool;             /* --allocator pool; NULL until its first allocation */
    int tf32;
    struct cuda_measure *measure;   /* cuda_measure.c */
    cuda_conv_entry **convs;
    size_t n_convs, convs_cap;
    cuda_bn_entry **bns;
    size_t n_bns, bns_cap;
} cuda_ctx;

// ----------------------------------------------------------------------------
// convolutions (cuda_conv.c)

void cuda_conv_cache_free(cuda_ctx *c);
/* after a math mode change: every cached choice forgotten, the descriptors
 * set to the mode's math type */
ops_status cuda_conv_cache_forget(cuda_ctx *c);
size_t cuda_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir);
ops_status cuda_conv_find(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                          void *ws, size_t ws_bytes);
ops_status cuda_conv_choice(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
                            size_t *ws_bytes);
ops_status cuda_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y, void *ws,
                           size_t ws_bytes);
ops_status cuda_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy, float beta,
                                float *dx, void *ws, size_t ws_bytes);
ops_status cuda_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy, float *dw,
                                  void *ws, size_t ws_bytes);

// ----------------------------------------------------------------------------
// measurement (cuda_measure.c)

/* Before the context's first device allocation: takes the process's CUPTI
 * activity session if it is free and turns MEMORY2 on (so library
 * allocations are seen), creates the NVTX domain. What cannot start is
 * recorded, not fatal: only out of host memory fails. */
ops_status cuda_measure_create(cuda_ctx *c);
/* After the stream and library handles exist: timer events, the driver
 * memory baseline, NVML. */
ops_status cuda_measure_ready(cuda_ctx *c);
void cuda_measure_destroy(cuda_ctx *c);

void cuda_phase_changed(void *ctx, ops_phase phase, int micro_batch);
ops_status cuda_timer_start(void *ctx);
ops_status cuda_timer_stop(void *ctx, double *ns);
ops_status cuda_profile_begin(void *ctx);
ops_status cuda_profile_end(void *ctx, const ops_profile_sink *sink);
ops_status cuda_device_memory(void *ctx, ops_device_memory *m);
void cuda_device_memory_reset(void *ctx);
ops_status cuda_device_state(void *ctx, ops_device_state *s);

// ----------------------------------------------------------------------------
// NVML (cuda_nvml.c), loaded at run time

typedef struct cuda_nvml cuda_nvml;
/* NULL only when out of host memory; an NVML that cannot be used is kept
 * with its reason, which cuda_nvml_sample reports. */
cuda_nvml *cuda_nvml_open(int cuda_device);
void cuda_nvml_close(cuda_nvml *n);
ops_status cuda_nvml_sample(const cuda_nvml *n, ops_device_state *s);
/* "NVML loads (driver 580.65.06)" or why not; for `accumbench info` */
void cuda_nvml_describe(char *out, size_t out_len);

// ----------------------------------------------------------------------------

/* 1 when the kernels of cuda_kernels.cu have code for the current device, else 0
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
