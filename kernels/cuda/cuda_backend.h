/* kernels/cuda/cuda_backend.h — the CUDA backend: cuDNN convolutions and
 * BatchNorm, cuBLAS GEMMs, own kernels for the rest. C entry points.
 *
 * Device memory: everything the ops touch comes from the caller (the tracked
 * reservation, conv workspaces included), except one fixed cuBLAS workspace
 * that create allocates, because ops.h has no hook to hand one in; its size
 * is cuda_backend_fixed_bytes() so the engine can account for it. What cuDNN
 * and cuBLAS allocate internally is not tracked (CUPTI MEMORY2 sees it). */
#ifndef ACCUMBENCH_CUDA_BACKEND_H
#define ACCUMBENCH_CUDA_BACKEND_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* cuBLAS workspace allocated at create and given to cublasSetWorkspace: the
 * size the cuBLAS documentation (cublasSetWorkspace) recommends for Hopper,
 * which also covers the smaller recommendation for earlier GPUs. */
#define CUDA_CUBLAS_WORKSPACE_BYTES ((size_t)32 << 20)

extern const ops_backend_i cuda_backend_i;
/* Fails with OPS_ERR_BACKEND and a one-line reason in `why` when no GPU is
 * usable (no driver, no device, no kernel image for the device, a library
 * handle that cannot be created). Uses device 0 (CUDA_VISIBLE_DEVICES picks). */
ops_status cuda_backend_create(void **ctx, char *why, size_t why_len);

/* fp32 (tf32 == 0, the default): cuBLAS CUBLAS_DEFAULT_MATH, cuDNN
 * CUDNN_FMA_MATH. tf32: CUBLAS_TF32_TENSOR_OP_MATH, CUDNN_DEFAULT_MATH.
 * Forgets the cached convolution algorithms (workspace sizes may change, so
 * ask conv_workspace_bytes again). */
ops_status cuda_backend_set_math(void *ctx, int tf32);

/* Device bytes the backend holds outside the caller's reservation: the cuBLAS
 * workspace (CUDA_CUBLAS_WORKSPACE_BYTES). 0 for a NULL context. */
size_t cuda_backend_fixed_bytes(void *ctx);

/* The cuDNN algorithm (cudnnConvolution{Fwd,BwdData,BwdFilter}Algo_t value)
 * the heuristics chose for this shape and direction, and its workspace, for
 * algos.csv. Chooses it when not yet cached. */
ops_status cuda_backend_conv_choice(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, int *algo,
                                    size_t *ws_bytes);

/* Library versions and devices for `accumbench info`; needs no GPU. */
void cuda_backend_describe(FILE *f);

#ifdef __cplusplus
}
#endif
#endif
