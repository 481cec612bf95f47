/* kernels/cuda/cuda_transformer_plan.c — the pure functions of
 * cuda_transformer.h: launch plans of the GPT-2 kernels and the attention's
 * cuBLAS call descriptions (plain C11, no CUDA calls, tested on the CPU). */
#include "cuda_transformer.h"

#include <math.h>

/* the largest power of two <= min(want, the device's block limit) */
static unsigned pow2_block(unsigned want, const cuda_limits *lim)
{
    unsigned cap = want < lim->max_block ? want : lim->max_block, b = 1;
    while (b * 2 <= cap) b *= 2;
    return b;
}

cuda_row_plan cuda_tf_warp_rows_plan(long long rows, const cuda_limits *lim)
{
    return cuda_row_plan_make(rows, 32, pow2_block(CUDA_TF_WARP_BLOCK, lim), lim);
}

cuda_row_plan cuda_tf_block_rows_plan(long long rows, const cuda_limits *lim)
{
    const unsigned block = pow2_block(CUDA_TF_ROW_BLOCK, lim);
    return cuda_row_plan_make(rows, block, block < 32 ? 0 : block, lim);
}

cuda_wte_bwd_plan cuda_wte_bwd_plan_make(int vocab, int c, const cuda_limits *lim)
{
    cuda_wte_bwd_plan p = {cuda_tf_block_rows_plan(vocab, lim), 0};
    const size_t block = p.rows.block;
    p.shared_bytes = (size_t)(c > 0 ? c : 0) * sizeof(float) + (block + block / 32) * sizeof(int);
    if (c < 1 || p.shared_bytes > CUDA_TF_SHARED_MAX) {
        p.rows.grid = 0;
        p.rows.rows_per_block = 0;
    }
    return p;
}

cuda_ln_param_plan cuda_ln_param_plan_make(int rows, int c, const cuda_limits *lim)
{
    cuda_ln_param_plan p = {0, 0, 0, 0};
    if (lim->max_block < 32 || c < 0) return p;
    p.row_lanes = lim->max_block / 32 < CUDA_TF_LN_ROW_LANES ? lim->max_block / 32 : CUDA_TF_LN_ROW_LANES;
    p.block = 32 * p.row_lanes;
    p.groups = (c + 31) / 32;
    if (rows > 0 && p.groups > 0)
        p.grid = (unsigned)p.groups < lim->max_grid_x ? (unsigned)p.groups : lim->max_grid_x;
    return p;
}

// ----------------------------------------------------------------------------
// attention GEMMs

static cuda_att_operand operand(cuda_att_tensor tensor, size_t offset, size_t head_stride, long long sample_stride)
{
    cuda_att_operand o = {tensor, offset, head_stride, sample_stride};
    return o;
}

cuda_att_gemm_call cuda_att_gemm_describe(const ops_attn_shape *s, cuda_att_gemm which)
{
    cuda_att_gemm_call g = {0};
    g.why = ops_attn_shape_problem(s);
    if (!g.why && ((unsigned)which >= CUDA_ATT_GEMM_COUNT)) g.why = "attention: no such GEMM";
    if (g.why) return g;
    const int t = s->t, c = s->c, hs = c / s->heads;
    const size_t tt = (size_t)t * t;
    const long long qkv_sample = (long long)t * 3 * c, out_sample = (long long)t * c;
    const long long att_sample = (long long)s->heads * t * t;
    const float scale = 1.0f / sqrtf((float)hs); /* as the CPU backend */
    /* head h of q, k, v: columns h*hs of the (t, 3c) rows at offsets 0, c, 2c */
    const cuda_att_operand q = operand(CUDA_ATT_QKV, 0, hs, qkv_sample), k = operand(CUDA_ATT_QKV, c, hs, qkv_sample),
                           v = operand(CUDA_ATT_QKV, 2 * (size_t)c, hs, qkv_sample),
                           p = operand(CUDA_ATT_P, 0, tt, att_sample), dp = operand(CUDA_ATT_DP, 0, tt, att_sample),
                           dout = operand(CUDA_ATT_DOUT, 0, hs, out_sample);
    const ops_gemm_desc qk = {0, 1, t, t, hs, 3 * c, 3 * c, t, scale, 0.0f},   /* (t,hs)(t,hs)^T */
        pv = {0, 0, t, hs, t, t, 3 * c, c, 1.0f, 0.0f},                        /* (t,t)(t,hs) -> out */
        ptd = {1, 0, t, hs, t, t, c, 3 * c, 1.0f, 0.0f},                       /* (t,t)^T (t,hs) -> dv */
        dvt = {0, 1, t, t, hs, c, 3 * c, t, 1.0f, 0.0f},                       /* (t,hs)(t,hs)^T */
        dsk = {0, 0, t, hs, t, t, 3 * c, 3 * c, scale, 0.0f},                  /* (t,t)(t,hs) -> dq */
        dstq = {1, 0, t, hs, t, t, 3 * c, 3 * c, scale, 0.0f};                 /* (t,t)^T (t,hs) -> dk */
    switch (which) {
    case CUDA_ATT_GEMM_SCORES: g.rm = qk, g.a = q, g.b = k, g.c = p; break;
    case CUDA_ATT_GEMM_OUT: g.rm = pv, g.a = p, g.b = v, g.c = operand(CUDA_ATT_OUT, 0, hs, out_sample); break;
    case CUDA_ATT_GEMM_DV: g.rm = ptd, g.a = p, g.b = dout, g.c = v, g.c.tensor = CUDA_ATT_DQKV; break;
    case CUDA_ATT_GEMM_DP: g.rm = dvt, g.a = dout, g.b = v, g.c = dp; break;
    case CUDA_ATT_GEMM_DQ: g.rm = dsk, g.a = dp, g.b = k, g.c = q, g.c.tensor = CUDA_ATT_DQKV; break;
    case CUDA_ATT_GEMM_DK: g.rm = dstq, g.a = dp, g.b = q, g.c = k, g.c.tensor = CUDA_ATT_DQKV; break;
    default: break;
    }
    g.cm = cuda_gemm_describe(&g.rm);
    if (!g.cm.ok) g.why = g.cm.why;
    g.heads = s->heads;
    g.samples = s->n;
    return g;
}
