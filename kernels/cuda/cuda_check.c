/* kernels/cuda/cuda_check.c — see cuda_check.h. */
#include "cuda_check.h"

ops_status cuda_check_(cudaError_t e, const char *stmt, const char *func, const char *file, int line)
{
    if (e == cudaSuccess) return OPS_OK;
    ops_set_error("%s failed: %s (%s) in %s at %s:%d", stmt, cudaGetErrorString(e), cudaGetErrorName(e), func,
                  file, line);
    if (e == cudaErrorMemoryAllocation) {
        (void)cudaGetLastError();   /* not sticky: clear it so later calls do not see it */
        return OPS_ERR_OOM;
    }
    return OPS_ERR_BACKEND;
}

ops_status cublas_check_(cublasStatus_t s, const char *stmt, const char *func, const char *file, int line)
{
    if (s == CUBLAS_STATUS_SUCCESS) return OPS_OK;
    ops_set_error("%s failed: %s (%s) in %s at %s:%d", stmt, cublasGetStatusString(s), cublasGetStatusName(s),
                  func, file, line);
    return s == CUBLAS_STATUS_ALLOC_FAILED ? OPS_ERR_OOM : OPS_ERR_BACKEND;
}

ops_status cudnn_check_(cudnnStatus_t s, const char *stmt, const char *func, const char *file, int line)
{
    if (s == CUDNN_STATUS_SUCCESS) return OPS_OK;
    char detail[256];
    cudnnGetLastErrorString(detail, sizeof detail);
    ops_set_error("%s failed: %s (%d)%s%s in %s at %s:%d", stmt, cudnnGetErrorString(s), (int)s,
                  detail[0] ? ": " : "", detail, func, file, line);
    return s == CUDNN_STATUS_INTERNAL_ERROR_HOST_ALLOCATION_FAILED ||
                   s == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED
               ? OPS_ERR_OOM
               : OPS_ERR_BACKEND;
}

ops_status cupti_check_(CUptiResult r, const char *stmt, const char *func, const char *file, int line)
{
    if (r == CUPTI_SUCCESS) return OPS_OK;
    const char *name = NULL;
    if (cuptiGetResultString(r, &name) != CUPTI_SUCCESS || !name) name = "unknown CUPTI result";
    ops_set_error("%s failed: %s (%d) in %s at %s:%d", stmt, name, (int)r, func, file, line);
    return r == CUPTI_ERROR_OUT_OF_MEMORY ? OPS_ERR_OOM : OPS_ERR_BACKEND;
}
