/* kernels/cuda/cuda_transformer.h — the CUDA backend's GPT-2 ops: the
 * cuda_<op> launchers (cuda_transformer.cu, same argument order as the CPU
 * backend's cpu_<op>), and in plain C (cuda_transformer_plan.c) the launch
 * plans of their kernels and the description of the attention's cuBLAS
 * calls, which the CPU tests check without a GPU (as launch.h and
 * gemm_desc.h do for the other ops).
 *
 * Kernels and their plans:
 * - element-wise, cuda_ew_plan_make (launch.h): embedding forward over
 *   n*t*c (scalar), wpe backward over t*c (scalar, one thread sums the
 *   samples of its element in order), GELU forward/backward (float4 when
 *   aligned);
 * - warp per row, cuda_tf_warp_rows_plan: LayerNorm forward and dx (rows of
 *   c), the attention softmax forward/backward (rows of t);
 * - block per row, cuda_tf_block_rows_plan: cross-entropy logsumexp and
 *   gradient (rows of classes = V, e.g. 50,257), and the loss (one block);
 * - wte backward, cuda_wte_bwd_plan_make: one block per vocabulary row;
 * - LayerNorm dweight/dbias, cuda_ln_param_plan_make: blocks of 32
 *   channels x row lanes.
 * No kernel uses float atomics: every sum has a fixed order, so results are
 * bitwise repeatable for a given plan. */
#ifndef ACCUMBENCH_CUDA_TRANSFORMER_H
#define ACCUMBENCH_CUDA_TRANSFORMER_H

#include "ops.h"
#include "gemm_desc.h"
#include "launch.h"

#ifdef __cplusplus
extern "C" {
#endif

// ----------------------------------------------------------------------------
// launch plans

/* block of the block-per-row kernels: a power of two (tree reductions) and
 * a multiple of 32 (the wte backward's warp ballots) */
#define CUDA_TF_ROW_BLOCK 256u
/* block of the warp-per-row kernels: 8 rows a block */
#define CUDA_TF_WARP_BLOCK 256u
/* LayerNorm parameter gradients: 32 channels (one warp's coalesced loads) x
 * up to this many row lanes */
#define CUDA_TF_LN_ROW_LANES 32u
/* dynamic shared memory a kernel may take without cudaFuncSetAttribute */
#define CUDA_TF_SHARED_MAX ((size_t)48 << 10)

/* 32 threads per row; grid == 0 and rows_per_block == 0 when the device
 * cannot take a 32-thread block */
cuda_row_plan cuda_tf_warp_rows_plan(long long rows, const cuda_limits *lim);
/* one block per row, the block a power of two >= 32 */
cuda_row_plan cuda_tf_block_rows_plan(long long rows, const cuda_limits *lim);

/* wte backward: block v scans the tokens tile by tile, lists the positions
 * holding v in order (warp ballots), and adds their dout rows into a
 * shared accumulator of c floats: each dwte element is summed in position
 * order, then added into dwte once. Rows with no position are not touched. */
typedef struct {
    cuda_row_plan rows;     /* block per vocabulary row; rows_per_block == 0: c too wide */
    size_t shared_bytes;    /* dynamic: c floats, block ints (positions), block/32 ints (warp counts) */
} cuda_wte_bwd_plan;
cuda_wte_bwd_plan cuda_wte_bwd_plan_make(int vocab, int c, const cuda_limits *lim);

/* LayerNorm dweight/dbias: block g takes channels 32g..32g+31 (its threads'
 * lanes) over all rows, row lane k taking rows k, k + row_lanes, ...; the
 * row lanes' partial sums are added in lane order. Blocks stride over the
 * channel groups. */
typedef struct {
    unsigned grid, block;   /* grid == 0: nothing to do; block == 0: no plan fits the device */
    unsigned row_lanes;     /* block = 32 * row_lanes */
    int groups;             /* ceil(c / 32) */
} cuda_ln_param_plan;
cuda_ln_param_plan cuda_ln_param_plan_make(int rows, int c, const cuda_limits *lim);

CUDA_HD int cuda_ln_param_channel(int group, unsigned thread) { return group * 32 + (int)(thread % 32u); }
CUDA_HD unsigned cuda_ln_param_row_lane(unsigned thread) { return thread / 32u; }

// ----------------------------------------------------------------------------
// attention GEMMs: one cublasSgemmStridedBatched per head, batched over the
// samples. Batching over samples keeps each call's output matrices in
// disjoint address ranges (cuBLAS requires it); heads would interleave
// theirs (head stride hs < ldc).

typedef enum {
    CUDA_ATT_QKV, CUDA_ATT_P, CUDA_ATT_OUT,          /* forward: qkv (n,t,3c), att (n,h,t,t), out (n,t,c) */
    CUDA_ATT_DQKV, CUDA_ATT_DP, CUDA_ATT_DOUT,       /* backward: dqkv, datt (the scratch), dout */
    CUDA_ATT_TENSORS
} cuda_att_tensor;

/* in issue order: forward SCORES, softmax, OUT; backward DV, DP, softmax
 * backward (DP becomes the score gradient DS in place), DQ, DK */
typedef enum {
    CUDA_ATT_GEMM_SCORES,   /* P = scale * Q K^T */
    CUDA_ATT_GEMM_OUT,      /* OUT = P V */
    CUDA_ATT_GEMM_DV,       /* DV = P^T DOUT */
    CUDA_ATT_GEMM_DP,       /* DP = DOUT V^T */
    CUDA_ATT_GEMM_DQ,       /* DQ = scale * DS K */
    CUDA_ATT_GEMM_DK,       /* DK = scale * DS^T Q */
    CUDA_ATT_GEMM_COUNT
} cuda_att_gemm;

typedef struct {
    cuda_att_tensor tensor;
    size_t offset;          /* floats from the tensor's start to sample 0, head 0 */
    size_t head_stride;     /* floats between heads: the launcher's loop */
    long long sample_stride; /* floats between samples: cuBLAS's batch stride */
} cuda_att_operand;

typedef struct {
    const char *why;        /* NULL when the shape is valid (ops_attn_shape_problem) */
    ops_gemm_desc rm;       /* one (sample, head), row-major as ops_gemm takes it */
    cuda_gemm_colmajor cm;  /* rm as the column-major cuBLAS call (cuda_gemm_describe) */
    cuda_att_operand a, b, c; /* where rm's A, B, C live */
    int heads, samples;     /* loop count, batchCount */
} cuda_att_gemm_call;

cuda_att_gemm_call cuda_att_gemm_describe(const ops_attn_shape *s, cuda_att_gemm which);

// ----------------------------------------------------------------------------
// launchers (cuda_transformer.cu): the slots of ops.h

ops_status cuda_embedding_fwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                              const float *wpe, float *out);
ops_status cuda_embedding_bwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *dout,
                              float *dwte, float *dwpe);
ops_status cuda_layernorm_fwd(void *ctx, int rows, int c, float eps, const float *x, const float *weight,
                              const float *bias, float *y, float *save_mean, float *save_rstd);
ops_status cuda_layernorm_bwd(void *ctx, int rows, int c, const float *x, const float *dy, const float *weight,
                              const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                              float *dbias);
ops_status cuda_attention_fwd(void *ctx, const ops_attn_shape *s, const float *qkv, float *att, float *out);
ops_status cuda_attention_bwd(void *ctx, const ops_attn_shape *s, const float *qkv, const float *att,
                              const float *dout, float *datt, float *dqkv);
ops_status cuda_gelu_fwd(void *ctx, size_t n, const float *x, float *y);
ops_status cuda_gelu_bwd(void *ctx, size_t n, const float *x, const float *dy, float beta, float *dx);
ops_status cuda_xent_lse_fwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                             float scale, float *lse, float *loss);
ops_status cuda_xent_lse_bwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                             const float *lse, float scale, float *dlogits);

#ifdef __cplusplus
}
#endif
#endif
