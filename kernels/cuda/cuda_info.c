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
#include <string.h>

typedef struct {
    int driver, runtime, cublas[3];
    size_t cudnn;
    uint32_t cupti;
    int have_cupti;
    char nvml[160];
    int n_gpus;
    char why[200];              /* no usable GPU: why */
} cuda_versions;

static void read_versions(cuda_versions *v)
{
    memset(v, 0, sizeof *v);
    cudaDriverGetVersion(&v->driver);
    cudaRuntimeGetVersion(&v->runtime);
    cublasGetProperty(MAJOR_VERSION, &v->cublas[0]);
    cublasGetProperty(MINOR_VERSION, &v->cublas[1]);
    cublasGetProperty(PATCH_LEVEL, &v->cublas[2]);
    v->cudnn = cudnnGetVersion();
    v->have_cupti = cuptiGetVersion(&v->cupti) == CUPTI_SUCCESS;
    cuda_nvml_describe(v->nvml, sizeof v->nvml);
    cudaError_t err = cudaGetDeviceCount(&v->n_gpus);
    if (err != cudaSuccess) {
        snprintf(v->why, sizeof v->why, "%s (%s)", cudaGetErrorString(err), cudaGetErrorName(err));
        cudaGetLastError();
        v->n_gpus = 0;
    } else if (v->n_gpus == 0) {
        snprintf(v->why, sizeof v->why, "no CUDA device");
    }
}

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') fputc('\\', f);
        if ((unsigned char)*s >= 0x20) fputc(*s, f);
    }
    fputc('"', f);
}

void cuda_backend_describe(FILE *f, int json)
{
    cuda_versions v;
    read_versions(&v);
    if (json) {
        fprintf(f, "{\"runtime\": \"%d.%d\", \"driver\": \"%d.%d\", \"cudnn\": \"%zu.%zu.%zu\", \"cublas\": \"%d.%d.%d\", "
                "\"cupti_api\": %u, \"nvml\": ", v.runtime / 1000, v.runtime % 1000 / 10, v.driver / 1000,
                v.driver % 1000 / 10, v.cudnn / 10000, v.cudnn % 10000 / 100, v.cudnn % 100, v.cublas[0], v.cublas[1],
                v.cublas[2], v.have_cupti ? (unsigned)v.cupti : 0u);
        json_str(f, v.nvml);
        fputs(", \"why_no_gpu\": ", f);
        if (v.why[0]) json_str(f, v.why);
        else fputs("null", f);
        fputs(", \"gpus\": [", f);
    } else {
        fprintf(f, "  cuda: runtime %d.%d, driver %d.%d%s, cuDNN %zu.%zu.%zu, cuBLAS %d.%d.%d\n", v.runtime / 1000,
                v.runtime % 1000 / 10, v.driver / 1000, v.driver % 1000 / 10, v.driver ? "" : " (no driver)",
                v.cudnn / 10000, v.cudnn % 10000 / 100, v.cudnn % 100, v.cublas[0], v.cublas[1], v.cublas[2]);
        if (v.have_cupti) fprintf(f, "  cuda: CUPTI API %u (headers %d); %s\n", (unsigned)v.cupti, CUPTI_API_VERSION, v.nvml);
        else fprintf(f, "  cuda: CUPTI version unknown; %s\n", v.nvml);
        if (v.why[0]) fprintf(f, "  GPU: none usable: %s\n", v.why);
    }
    for (int d = 0; d < v.n_gpus; d++) {
        struct cudaDeviceProp p;
        if (cudaGetDeviceProperties(&p, d) != cudaSuccess) continue;
        int sm_khz = 0, mem_khz = 0;
        cudaDeviceGetAttribute(&sm_khz, cudaDevAttrClockRate, d);
        cudaDeviceGetAttribute(&mem_khz, cudaDevAttrMemoryClockRate, d);
        if (json) {
            fprintf(f, "%s{\"index\": %d, \"name\": ", d ? ", " : "", d);
            json_str(f, p.name);
            fprintf(f, ", \"sm\": \"%d.%d\", \"sms\": %d, \"memory_bytes\": %zu, \"sm_clock_mhz\": %d, "
                    "\"memory_clock_mhz\": %d}", p.major, p.minor, p.multiProcessorCount, p.totalGlobalMem,
                    sm_khz / 1000, mem_khz / 1000);
        } else {
            fprintf(f, "  GPU %d: %s, SM %d.%d, %d SMs, %.1f GiB, SM clock %d MHz, memory clock %d MHz\n", d, p.name,
                    p.major, p.minor, p.multiProcessorCount, (double)p.totalGlobalMem / 1073741824.0, sm_khz / 1000,
                    mem_khz / 1000);
        }
    }
    if (json) fputs("]}", f);
}
