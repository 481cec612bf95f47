/* kernels/cpu/cpu_conv.h — the CPU backend's convolution slots (im2col +
 * OpenBLAS, see cpu_conv.c), for cpu_backend.c's function table. */
#ifndef ACCUMBENCH_CPU_CONV_H
#define ACCUMBENCH_CPU_CONV_H

#include "ops.h"

size_t cpu_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir);
ops_status cpu_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y,
                          void *ws, size_t ws_bytes);
ops_status cpu_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy,
                               float beta, float *dx, void *ws, size_t ws_bytes);
ops_status cpu_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy,
                                 float *dw, void *ws, size_t ws_bytes);

#endif
