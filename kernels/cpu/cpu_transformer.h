/* kernels/cpu/cpu_transformer.h — the CPU backend's GPT-2 slots (see
 * cpu_transformer.c and ops.h), for cpu_backend.c's function table. ctx is
 * the backend's worker pool (cpu_pool.h). */
#ifndef ACCUMBENCH_CPU_TRANSFORMER_H
#define ACCUMBENCH_CPU_TRANSFORMER_H

#include "ops.h"

ops_status cpu_embedding_fwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                             const float *wpe, float *out);
ops_status cpu_embedding_bwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *dout,
                             float *dwte, float *dwpe);
ops_status cpu_layernorm_fwd(void *ctx, int rows, int c, float eps, const float *x, const float *weight,
                             const float *bias, float *y, float *save_mean, float *save_rstd);
ops_status cpu_layernorm_bwd(void *ctx, int rows, int c, const float *x, const float *dy, const float *weight,
                             const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                             float *dbias);
ops_status cpu_attention_fwd(void *ctx, const ops_attn_shape *s, const float *qkv, float *att, float *out);
ops_status cpu_attention_bwd(void *ctx, const ops_attn_shape *s, const float *qkv, const float *att,
                             const float *dout, float *datt, float *dqkv);
ops_status cpu_gelu_fwd(void *ctx, size_t n, const float *x, float *y);
ops_status cpu_gelu_bwd(void *ctx, size_t n, const float *x, const float *dy, float beta, float *dx);
ops_status cpu_xent_lse_fwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                            float scale, float *lse, float *loss);
ops_status cpu_xent_lse_bwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                            const float *lse, float scale, float *dlogits);

#endif
