/* kernels/cuda/cuda_check.h — one check per library (CUDA runtime, cuBLAS,
 * cuDNN, CUPTI). A failed call records statement, function, file and line with
 * ops_set_error() and makes the calling function return OPS_ERR_OOM for an
 * allocation failure, else OPS_ERR_BACKEND; nothing aborts. The calling
 * function must return ops_status. An out-of-memory runtime error is cleared
 * (cudaGetLastError) so the context stays usable. */
#ifndef ACCUMBENCH_CUDA_CHECK_H
#define ACCUMBENCH_CUDA_CHECK_H

#include "ops.h"

#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>
#include <cupti_result.h>

#ifdef __cplusplus
extern "C" {
#endif

/* OPS_OK for success; otherwise records the error and returns the status. */
ops_status cuda_check_(cudaError_t e, const char *stmt, const char *func, const char *file, int line);
ops_status cublas_check_(cublasStatus_t s, const char *stmt, const char *func, const char *file, int line);
ops_status cudnn_check_(cudnnStatus_t s, const char *stmt, const char *func, const char *file, int line);
ops_status cupti_check_(CUptiResult r, const char *stmt, const char *func, const char *file, int line);

#ifdef __cplusplus
}
#endif

#define AB_CHECK_GEN_(fn, x)                                                                       \
    do {                                                                                           \
        ops_status check_st_ = fn((x), #x, __func__, __FILE__, __LINE__);                          \
        if (check_st_ != OPS_OK) return check_st_;                                                 \
    } while (0)

#define CUDA_CHECK(x) AB_CHECK_GEN_(cuda_check_, x)
#define CUBLAS_CHECK(x) AB_CHECK_GEN_(cublas_check_, x)
#define CUDNN_CHECK(x) AB_CHECK_GEN_(cudnn_check_, x)
#define CUPTI_CHECK(x) AB_CHECK_GEN_(cupti_check_, x)

#endif
