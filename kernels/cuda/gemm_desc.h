/* kernels/cuda/gemm_desc.h — ops_gemm_desc (row-major) translated to the
 * column-major cublasSgemm call that computes it. Pure C, no cuBLAS types,
 * so the CPU tests can execute the same description with column-major
 * cblas_sgemm.
 *
 * A row-major matrix with row stride ld is, read column-major with leading
 * dimension ld, its transpose. So row-major C = op(A) op(B) is column-major
 * C^T = op(B)^T op(A)^T: B goes first, the transposes stay as given, and m
 * and n swap (cuda-apis.md §4 lists the Linear-layer instances). */
#ifndef ACCUMBENCH_CUDA_GEMM_DESC_H
#define ACCUMBENCH_CUDA_GEMM_DESC_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    int ok;                 /* 0: the row-major description is invalid (see why) */
    int empty;              /* m == 0 or n == 0: nothing to compute, do not call */
    int b_first;            /* 1: the first operand is the row-major B (always, see above) */
    int transa, transb;     /* 0 = N, 1 = T, applied to the first and second operand */
    int m, n, k;            /* column-major sizes: first is m x k after op, second k x n */
    int lda, ldb, ldc;      /* leading dimensions of first, second, C */
    float alpha, beta;
    const char *why;        /* when !ok: which constraint failed */
} cuda_gemm_colmajor;

cuda_gemm_colmajor cuda_gemm_describe(const ops_gemm_desc *d);

#ifdef __cplusplus
}
#endif
#endif
