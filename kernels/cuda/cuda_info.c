/* kernels/cuda/cuda_info.c — `accumbench info` for the CUDA backend: library
 * versions (no GPU needed), whether NVML loads, and each device, or why none
 * is usable. */
#include "cuda_backend.h"
#include "cuda_internal.h"

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>
#include <cupti.h>
#include <stdio.h>

void cuda_backend_describe(FILE *f)
{
    int driver = 0, runtime = 0, cublas_major = 0, cublas_minor = 0, cublas_patch = 0;
    cudaDriverGetVersion(&driver);
    cudaRuntimeGetVersion(&runtime);
    cublasGetProperty(MAJOR_VERSION, &cublas_major);
    cublasGetProperty(MINOR_VERSION, &cublas_minor);
    cublasGetProperty(PATCH_LEVEL, &cublas_patch);
    size_t cudnn = cudnnGetVersion();
    fprintf(f, "  cuda: runtime %d.%d, driver %d.%d%s, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d\n", runtime / 1000,
            runtime % 1000 / 10, driver / 1000, driver % 1000 / 10, driver ? "" : " (no driver)", cudnn / 10000,
            cudnn % 10000 / 100, cudnn % 100, cublas_major, cublas_minor, cublas_patch);
    uint32_t cupti = 0;
    char nvml[160];
    cuda_nvml_describe(nvml, sizeof nvml);
    if (cuptiGetVersion(&cupti) == CUPTI_SUCCESS)
        fprintf(f, "  cuda: CUPTI API %u (headers %d); %s\n", (unsigned)cupti, CUPTI_API_VERSION, nvml);
    else
        fprintf(f, "  cuda: CUPTI version unknown; %s\n", nvml);
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
        fprintf(f, "  GPU: none usable: %s (%s)\n", cudaGetErrorString(err), cudaGetErrorName(err));
        cudaGetLastError();
        return;
    }
    if (n == 0) fprintf(f, "  GPU: none usable: no CUDA device\n");
    for (int d = 0; d < n; d++) {
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
        int sm_khz = 0, mem_khz = 0;
        cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, d);
        cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, d);
        fprintf(f, "  GPU %d: %s, SM %d.%d, %d SMs, %.1f GiB, SM clock %d MHz, memory clock %d MHz\n", d, p.name,
                p.major, p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / 1073741824.0, sm_khz / 1000,
                mem_khz / 1000);
    }
}
