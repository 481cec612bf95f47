/* kernels/backends.c — which backends are compiled in, and opening one. */
#include "ops.h"
#include "cpu/cpu_backend.h"
#ifdef ACCUMBENCH_HAVE_CUDA
#include "cuda/cuda_backend.h"
#endif

#include <stdio.h>
#include <string.h>

int ops_cuda_compiled(void)
{
#ifdef ACCUMBENCH_HAVE_CUDA
    return 1;
#else
    return 0;
#endif
}

void ops_describe(FILE *f, int json)
{
    if (json) {
        fputs("\"cpu\": \"OpenBLAS reference backend\", \"cuda\": ", f);
#ifdef ACCUMBENCH_HAVE_CUDA
        cuda_backend_describe(f, 1);
#else
        fputs("null", f);
#endif
        return;
    }
    fprintf(f, "  cpu: OpenBLAS reference backend\n");
#ifdef ACCUMBENCH_HAVE_CUDA
    cuda_backend_describe(f, 0);
#else
    fprintf(f, "  cuda: not compiled in (no nvcc or cuDNN at build time)\n");
#endif
}

const ops_backend_i *ops_backend_find(const char *name)
{
    if (strcmp(name, cpu_backend_i.name) == 0) return &cpu_backend_i;
#ifdef ACCUMBENCH_HAVE_CUDA
    if (strcmp(name, cuda_backend_i.name) == 0) return &cuda_backend_i;
#endif
    return NULL;
}

static ops_status open_with(ops_backend *b, const ops_backend_i *i,
                            ops_status (*create)(void **, char *, size_t), char *why, size_t why_len)
{
    void *ctx = NULL;
    ops_status st = create(&ctx, why, why_len);
    if (st != OPS_OK) return st;
    memset(b, 0, sizeof *b);
    b->i = i;
    b->ctx = ctx;
    return OPS_OK;
}

ops_status ops_open(ops_backend *b, const char *name, char *why, size_t why_len)
{
    if (why_len) why[0] = '\0';
    if (strcmp(name, "cpu") == 0) return open_with(b, &cpu_backend_i, cpu_backend_create, why, why_len);
    if (strcmp(name, "cuda") == 0 || strcmp(name, "auto") == 0) {
#ifdef ACCUMBENCH_HAVE_CUDA
        ops_status st = open_with(b, &cuda_backend_i, cuda_backend_create, why, why_len);
        if (st == OPS_OK || strcmp(name, "cuda") == 0) return st;
#else
        snprintf(why, why_len, "the CUDA backend is not compiled in (no nvcc or cuDNN at build time)");
        if (strcmp(name, "cuda") == 0) return OPS_ERR_BACKEND;
#endif
        char reason[256];
        snprintf(reason, sizeof reason, "%s", why);
        ops_status cst = open_with(b, &cpu_backend_i, cpu_backend_create, why, why_len);
        if (cst == OPS_OK) snprintf(why, why_len, "%s", reason);
        return cst;
    }
    snprintf(why, why_len, "unknown backend '%s'", name);
    return OPS_ERR_INVALID;
}
