/* kernels/cpu/cpu_backend.h — the reference backend: OpenBLAS GEMM, im2col
 * convolution, plain C for the rest (calling kernels/common/ math). */
#ifndef ACCUMBENCH_CPU_BACKEND_H
#define ACCUMBENCH_CPU_BACKEND_H

#include "ops.h"

extern const ops_backend_i cpu_backend_i;
ops_status cpu_backend_create(void **ctx, char *why, size_t why_len);

#endif
