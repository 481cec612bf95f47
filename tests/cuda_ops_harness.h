/* tests/cuda_ops_harness.h — what test_cuda_ops.c (the harness, the op
 * cases, main) and test_cuda_ops_slots.c (the optional slots' cases) share:
 * one executable, both backends, every tensor on both sides, the
 * comparison. Tolerances are stated where each case uses them. */
#ifndef ACCUMBENCH_TEST_CUDA_OPS_HARNESS_H
#define ACCUMBENCH_TEST_CUDA_OPS_HARNESS_H

#include "ops.h"

#include <stddef.h>

#define MIB ((size_t)1 << 20)

/* the backend under test ("GPU") and the CPU reference */
extern ops_backend *const G, *const C;

void die(const char *what);

/* The same n floats on both backends, `off` floats past an aligned block
 * (off = 1 makes the pointer misaligned for float4). */
typedef struct {
    float *g, *c;
    void *g_base, *c_base;
    size_t n;
} ten;

ten ten_new(size_t n, size_t off);
ten ten_rand(size_t n, size_t off, float lo, float hi);
ten ten_const(size_t n, size_t off, float v);
void ten_free(ten *t);

/* GEMM on both sides, compared */
void run_gemm(const ops_gemm_desc *d, const char *what);
const ops_conv_shape *conv_shapes(size_t *count);
size_t xsize(const ops_conv_shape *s);
size_t ysize(const ops_conv_shape *s);
size_t wsize(const ops_conv_shape *s);
void case_conv2d_fwd(void);
void case_conv2d_bwd_data(void);
void case_conv2d_bwd_filter(void);

typedef struct {
    const char *name;
    void (*run)(void);
} op_case;

#define N_SLOT_CASES 8
extern const op_case slot_cases[N_SLOT_CASES];
/* check.h's counter is per file: the slots file's failures */
int slot_check_failures(void);

#endif
