/* kernels/cuda/cuda_backend.h — the CUDA backend: cuDNN convolutions and
 * BatchNorm, cuBLAS GEMMs, own kernels for the rest. C entry points. */
#ifndef ACCUMBENCH_CUDA_BACKEND_H
#define ACCUMBENCH_CUDA_BACKEND_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const ops_backend_i cuda_backend_i;
/* Fails with OPS_ERR_BACKEND and the reason in `why` when no GPU is usable. */
ops_status cuda_backend_create(void **ctx, char *why, size_t why_len);

#ifdef __cplusplus
}
#endif
#endif
