/* kernels/cuda/cuda_backend.h — the CUDA backend: cuDNN convolutions and
 * BatchNorm, cuBLAS GEMMs, own kernels for the rest. C entry points; the
 * engine reaches everything else through cuda_backend_i's slots (ops.h).
 *
 * Device memory: everything the ops touch comes from the caller (tracked
 * memory: one reservation, or one block each from the backend's private
 * stream-ordered pool, the default), conv workspaces and the library
 * workspace included (library_workspace_bytes / set_library_workspace).
 * What cuDNN and cuBLAS allocate internally is not tracked; CUPTI MEMORY2
 * sees it (device_memory, arena); the pool's figures do not.
 * Measurement (NVTX, CUPTI, timers, NVML): see cuda_measure.c. */
#ifndef ACCUMBENCH_CUDA_BACKEND_H
#define ACCUMBENCH_CUDA_BACKEND_H

#include "ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The library workspace library_workspace_bytes asks for: the size the
 * cuBLAS documentation (cublasSetWorkspace) recommends for Hopper, which also
 * covers the smaller recommendation for earlier GPUs. Until
 * set_library_workspace hands it in, cuBLAS runs with none
 * (cublasSetWorkspace(h, NULL, 0)). Ops on the stream use it in turn: the
 * GroupNorm backward keeps its per-chunk partial sums there (a few KiB),
 * and takes a single chunk without it. */
#define CUDA_CUBLAS_WORKSPACE_BYTES ((size_t)32 << 20)

extern const ops_backend_i cuda_backend_i;
/* Fails with OPS_ERR_BACKEND and a one-line reason in `why` when no GPU is
 * usable (no driver, no device, no kernel image for the device, a library
 * handle that cannot be created). Uses device 0 (CUDA_VISIBLE_DEVICES picks). */
ops_status cuda_backend_create(void **ctx, char *why, size_t why_len);

/* Slots beyond ops.h's comments:
 * - set_math: fp32 (tf32 == 0, the default): cuBLAS CUBLAS_DEFAULT_MATH,
 *   cuDNN CUDNN_FMA_MATH; tf32: CUBLAS_TF32_TENSOR_OP_MATH,
 *   CUDNN_DEFAULT_MATH. Forgets the cached convolution algorithms, found
 *   ones too (workspace sizes may change: ask conv_workspace_bytes again).
 * - pool_alloc/pool_free: cudaMallocFromPoolAsync/cudaFreeAsync on the
 *   backend's stream from a pool created at the first call (release
 *   threshold UINT64_MAX: freed memory stays cached for the next step).
 * - conv_workspace_bytes, conv_choice: the heuristic choice unless conv_find
 *   chose: cuDNN's ranking, the first whose workspace fits
 *   cuda_conv_ws_limit (cudnn_desc.h); the name as in the cuDNN enum without
 *   its prefix.
 * - conv_find: cudnnFind*AlgorithmEx writes the direction's output buffer
 *   (y; x for bwd_data; w for bwd_filter); keeps the fastest timed result
 *   within the caller's workspace; the workspace it then needs is the
 *   result's perf.memory, and its perf.mathType (tf32 mode) is what the op
 *   runs with.
 * - profile_begin: OPS_ERR_BACKEND, the reason in ops_last_error(), when
 *   CUPTI cannot run (another profiler attached, another CUDA context of
 *   this process holds the CUPTI session); everything else keeps working.
 * - profile_end: the sink's callbacks run under the backend's CUPTI lock and
 *   must not call the backend.
 * - device_memory: with the pool, device = the pool's used-bytes
 *   high-water and reserved = its reserved-bytes high-water (both reset by
 *   device_memory_reset); without it, device = the CUPTI MEMORY2 live sum's
 *   high-water. dropped_records counts CUPTI's dropped records and records
 *   lost for want of host memory. */

/* Library versions and devices for `accumbench info`, as text lines or one
 * JSON object (sweep's meta.json "device"); needs no GPU. */
void cuda_backend_describe(FILE *f, int json);

#ifdef __cplusplus
}
#endif
#endif
