/* kernels/cuda/cuda_transformer.cu — the CUDA backend's GPT-2 ops: token and
 * position embedding (a deterministic wte backward: one block per
 * vocabulary row, no atomics), LayerNorm (warp per row; dweight/dbias by
 * channel blocks), causal self-attention (cublasSgemmStridedBatched per head
 * over the samples, own masked softmax kernels over rows of t), GELU and the
 * cross-entropy over a vocabulary (one block per row, logsumexp saved).
 *
 * The element math is kernels/common/transformer_math.h's (and ops_math.h's
 * for LayerNorm), shared with the CPU backend; launch plans and the cuBLAS
 * call descriptions are the pure functions of cuda_transformer.h, tested on
 * the CPU. Each launcher: check the shape, plan, launch on the context's
 * stream, cudaGetLastError. Conventions (ops.h): parameter gradients are
 * added into; `beta` outputs are assigned when beta == 0 (never read) and
 * added into otherwise. Every reduction has a fixed order (warp butterflies,
 * block trees, sequential loops): results are bitwise repeatable. */
#include "cuda_check.h"
#include "cuda_internal.h"
#include "cuda_transformer.h"
#include "common/transformer_math.h"

#include <math.h>

// ----------------------------------------------------------------------------
// helpers

#define TF_ROW_LOOP(p) for (long long row = cuda_row_first(&(p), blockIdx.x, threadIdx.x); row < (p).rows; \
                            row += cuda_row_stride(&(p), gridDim.x))
#define TF_EW_LOOP(p, i) for (size_t i = cuda_ew_first(blockIdx.x, blockDim.x, threadIdx.x); i < (p).n; \
                              i += cuda_ew_stride(gridDim.x, blockDim.x))

static __device__ __forceinline__ float tf_nan(void) { return __int_as_float(0x7fc00000); }

/* xor butterflies: every lane ends with the same bits (a + b == b + a) */
static __device__ __forceinline__ float warp_sum(float v)
{
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
    return v;
}

static __device__ __forceinline__ float warp_max(float v)
{
    for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, off));
    return v;
}

/* fixed tree over the block (blockDim.x a power of two); all threads get it */
static __device__ float tf_block_sum(float v, float *sh)
{
    const unsigned t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    const float r = sh[0];
    __syncthreads();
    return r;
}

static __device__ __forceinline__ float4 ld4(const float *p, size_t v)
{
    return reinterpret_cast<const float4 *>(p)[v];
}
static __device__ __forceinline__ void st4(float *p, size_t v, float4 f) { reinterpret_cast<float4 *>(p)[v] = f; }

static cuda_ew_plan tf_ew_plan(const cuda_ctx *c, size_t n, const void *p0, const void *p1, const void *p2)
{
    const void *ptrs[3] = {p0, p1, p2};
    return cuda_ew_plan_make(n, cuda_ptrs_aligned16(ptrs, 3), &c->limits);
}

static ops_status no_plan(const char *op, long long rows, const cuda_limits *lim)
{
    ops_set_error("%s: no launch configuration for %lld rows (device block limit %u)", op, rows, lim->max_block);
    return OPS_ERR_INVALID;
}

// ----------------------------------------------------------------------------
// embedding

/* out (n*t, c): wte[token] + wpe[position]; a token outside the vocabulary
 * makes its row NaN (the CPU backend refuses it) */
__global__ void embedding_fwd_kernel(cuda_ew_plan p, int t, int c, int vocab, const int32_t *tokens,
                                     const float *wte, const float *wpe, float *out)
{
    TF_EW_LOOP(p, i)
    {
        const size_t row = i / (size_t)c, j = i - row * (size_t)c;
        const int32_t tok = tokens[row];
        out[i] = tok < 0 || tok >= vocab ? tf_nan()
                                         : wte[(size_t)tok * c + j] + wpe[(row % (size_t)t) * c + j];
    }
}

/* dwpe (t*c) += the samples' dout at that position, in sample order */
__global__ void wpe_bwd_kernel(cuda_ew_plan p, int n, size_t tc, const float *dout, float *dwpe)
{
    TF_EW_LOOP(p, i)
    {
        float s = 0.0f;
        for (int b = 0; b < n; b++) s += dout[(size_t)b * tc + i];
        dwpe[i] += s;
    }
}

/* Block per vocabulary row v (see cuda_wte_bwd_plan): tiles of blockDim
 * positions; each warp ballots its hits, the block lists them in position
 * order, then every thread adds those dout rows into its channels of the
 * shared accumulator (channel j belongs to thread j % blockDim, so no two
 * threads touch one). The branch on hits is uniform over the block. */
__global__ void wte_bwd_kernel(cuda_row_plan p, long long positions, int c, const int32_t *tokens,
                               const float *dout, float *dwte)
{
    extern __shared__ float wte_shared[];
    float *acc = wte_shared;                                /* c */
    int *hits = reinterpret_cast<int *>(acc + c);          /* blockDim.x: offsets inside the tile */
    int *warp_hits = hits + blockDim.x;                     /* blockDim.x / 32 */
    const unsigned tid = threadIdx.x, lane = tid % 32u, warp = tid / 32u, warps = blockDim.x / 32u;
    TF_ROW_LOOP(p)
    {
        for (int j = (int)tid; j < c; j += (int)blockDim.x) acc[j] = 0.0f;
        long long found = 0;
        for (long long base = 0; base < positions; base += blockDim.x) {
            const long long pos = base + tid;
            const bool hit = pos < positions && tokens[pos] == row;
            const unsigned ballot = __ballot_sync(0xffffffffu, hit);
            if (lane == 0) warp_hits[warp] = __popc(ballot);
            __syncthreads();
            int before = 0, total = 0;
            for (unsigned w = 0; w < warps; w++) {
                before += w < warp ? warp_hits[w] : 0;
                total += warp_hits[w];
            }
            if (hit) hits[before + __popc(ballot & ((1u << lane) - 1u))] = (int)tid;
            __syncthreads();
            for (int h = 0; h < total; h++) {
                const float *src = dout + (size_t)(base + hits[h]) * c;
                for (int j = (int)tid; j < c; j += (int)blockDim.x) acc[j] += src[j];
            }
            found += total;
            __syncthreads(); /* hits and warp_hits are the next tile's */
        }
        if (found)
            for (int j = (int)tid; j < c; j += (int)blockDim.x) dwte[(size_t)row * c + j] += acc[j];
    }
}

static ops_status embed_check(const char *op, int n, int t, int c, int vocab)
{
    if (n < 0 || t < 1 || c < 1 || vocab < 1) {
        ops_set_error("%s: bad shape n=%d t=%d c=%d vocab=%d", op, n, t, c, vocab);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

extern "C" ops_status cuda_embedding_fwd(void *ctx, int n, int t, int c_, int vocab, const int32_t *tokens,
                                         const float *wte, const float *wpe, float *out)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = embed_check("embedding_fwd", n, t, c_, vocab);
    if (st != OPS_OK) return st;
    const cuda_ew_plan p = cuda_ew_plan_make((size_t)n * t * c_, 0, &c->limits);
    if (!p.grid) return OPS_OK;
    embedding_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, t, c_, vocab, tokens, wte, wpe, out);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_embedding_bwd(void *ctx, int n, int t, int c_, int vocab, const int32_t *tokens,
                                         const float *dout, float *dwte, float *dwpe)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = embed_check("embedding_bwd", n, t, c_, vocab);
    if (st != OPS_OK || n == 0) return st;
    const cuda_wte_bwd_plan wp = cuda_wte_bwd_plan_make(vocab, c_, &c->limits);
    if (!wp.rows.rows_per_block) {
        ops_set_error("embedding_bwd: c=%d needs %zu bytes of shared memory (at most %zu)", c_, wp.shared_bytes,
                      CUDA_TF_SHARED_MAX);
        return OPS_ERR_INVALID;
    }
    wte_bwd_kernel<<<wp.rows.grid, wp.rows.block, wp.shared_bytes, c->stream>>>(wp.rows, (long long)n * t, c_,
                                                                               tokens, dout, dwte);
    CUDA_CHECK(cudaGetLastError());
    const cuda_ew_plan pp = cuda_ew_plan_make((size_t)t * c_, 0, &c->limits);
    wpe_bwd_kernel<<<pp.grid, pp.block, 0, c->stream>>>(pp, n, (size_t)t * c_, dout, dwpe);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// LayerNorm

/* warp per row: mean, then centred squares (two passes, biased variance) */
__global__ void layernorm_fwd_kernel(cuda_row_plan p, int c, float eps, const float *x, const float *weight,
                                     const float *bias, float *y, float *save_mean, float *save_rstd)
{
    const int lane = (int)cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const float *xr = x + (size_t)row * c;
        float s = 0.0f;
        for (int j = lane; j < c; j += 32) s += xr[j];
        const float mean = warp_sum(s) / (float)c;
        float ss = 0.0f;
        for (int j = lane; j < c; j += 32) ss += (xr[j] - mean) * (xr[j] - mean);
        const float rstd = ab_norm_rstd(warp_sum(ss) / (float)c, eps);
        float *yr = y + (size_t)row * c;
        for (int j = lane; j < c; j += 32) yr[j] = ab_norm_apply(xr[j], mean, rstd, weight[j], bias[j]);
        if (lane == 0) {
            save_mean[row] = mean;
            save_rstd[row] = rstd;
        }
    }
}

/* warp per row: S1 = sum(dy*w), S2 = sum(dy*w*xhat), then ab_norm_dx; a
 * lane reads dy[j] before it writes dx[j], so dx may alias dy */
__global__ void layernorm_bwd_dx_kernel(cuda_row_plan p, int c, const float *x, const float *dy,
                                        const float *weight, const float *save_mean, const float *save_rstd,
                                        float beta, float *dx)
{
    const int lane = (int)cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const size_t at = (size_t)row * c;
        const float mean = save_mean[row], rstd = save_rstd[row];
        float s1 = 0.0f, s2 = 0.0f;
        for (int j = lane; j < c; j += 32) {
            const float dyw = dy[at + j] * weight[j];
            s1 += dyw;
            s2 += dyw * ((x[at + j] - mean) * rstd);
        }
        const float mean_dyw = warp_sum(s1) / (float)c, mean_dyw_xhat = warp_sum(s2) / (float)c;
        for (int j = lane; j < c; j += 32) {
            const float v = ab_norm_dx(dy[at + j], weight[j], (x[at + j] - mean) * rstd, rstd, mean_dyw, mean_dyw_xhat);
            dx[at + j] = ab_store(beta, beta == 0.0f ? 0.0f : dx[at + j], v);
        }
    }
}

/* dweight, dbias: see cuda_ln_param_plan */
__global__ void layernorm_bwd_param_kernel(cuda_ln_param_plan p, int rows, int c, const float *x, const float *dy,
                                           const float *save_mean, const float *save_rstd, float *dweight,
                                           float *dbias)
{
    __shared__ float shw[CUDA_TF_LN_ROW_LANES][32], shb[CUDA_TF_LN_ROW_LANES][32];
    const unsigned cx = threadIdx.x % 32u, lane = cuda_ln_param_row_lane(threadIdx.x);
    for (int g = (int)blockIdx.x; g < p.groups; g += (int)gridDim.x) {
        const int ch = cuda_ln_param_channel(g, threadIdx.x);
        float dw = 0.0f, db = 0.0f;
        if (ch < c)
            for (int r = (int)lane; r < rows; r += (int)p.row_lanes) {
                const size_t at = (size_t)r * c + ch;
                dw += dy[at] * ((x[at] - save_mean[r]) * save_rstd[r]);
                db += dy[at];
            }
        shw[lane][cx] = dw;
        shb[lane][cx] = db;
        __syncthreads();
        if (lane == 0 && ch < c) {
            float sw = 0.0f, sb = 0.0f;
            for (unsigned k = 0; k < p.row_lanes; k++) {
                sw += shw[k][cx];
                sb += shb[k][cx];
            }
            dweight[ch] += sw;
            dbias[ch] += sb;
        }
        __syncthreads();
    }
}

static ops_status ln_check(const char *op, int rows, int c)
{
    if (rows < 0 || c < 1) {
        ops_set_error("%s: bad shape rows=%d c=%d", op, rows, c);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

extern "C" ops_status cuda_layernorm_fwd(void *ctx, int rows, int c_, float eps, const float *x, const float *weight,
                                         const float *bias, float *y, float *save_mean, float *save_rstd)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = ln_check("layernorm_fwd", rows, c_);
    if (st != OPS_OK) return st;
    const cuda_row_plan p = cuda_tf_warp_rows_plan(rows, &c->limits);
    if (!p.rows_per_block) return no_plan("layernorm_fwd", rows, &c->limits);
    if (!p.grid) return OPS_OK;
    layernorm_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, c_, eps, x, weight, bias, y, save_mean, save_rstd);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_layernorm_bwd(void *ctx, int rows, int c_, const float *x, const float *dy,
                                         const float *weight, const float *save_mean, const float *save_rstd,
                                         float beta, float *dx, float *dweight, float *dbias)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = ln_check("layernorm_bwd", rows, c_);
    if (st != OPS_OK) return st;
    const cuda_row_plan p = cuda_tf_warp_rows_plan(rows, &c->limits);
    const cuda_ln_param_plan pp = cuda_ln_param_plan_make(rows, c_, &c->limits);
    if (!p.rows_per_block || !pp.block) return no_plan("layernorm_bwd", rows, &c->limits);
    if (!p.grid) return OPS_OK;
    /* parameter gradients first: they read dy, which dx may alias */
    layernorm_bwd_param_kernel<<<pp.grid, pp.block, 0, c->stream>>>(pp, rows, c_, x, dy, save_mean, save_rstd,
                                                                     dweight, dbias);
    CUDA_CHECK(cudaGetLastError());
    layernorm_bwd_dx_kernel<<<p.grid, p.block, 0, c->stream>>>(p, c_, x, dy, weight, save_mean, save_rstd, beta, dx);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// causal self-attention

/* warp per score row (sample, head, query i), in place: softmax over keys
 * j <= i, 0 above the diagonal */
__global__ void attn_softmax_fwd_kernel(cuda_row_plan p, int t, float *att)
{
    const int lane = (int)cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const int i = (int)(row % t);
        float *a = att + (size_t)row * t;
        float mx = -INFINITY;
        for (int j = lane; j <= i; j += 32) mx = fmaxf(mx, a[j]);
        mx = warp_max(mx);
        float s = 0.0f;
        for (int j = lane; j <= i; j += 32) s += expf(a[j] - mx);
        const float inv = 1.0f / warp_sum(s);
        for (int j = lane; j < t; j += 32) a[j] = ab_causal_visible(i, j) ? ab_softmax_prob(a[j], mx, inv) : 0.0f;
    }
}

/* warp per row: datt becomes the score gradient in place, 0 above the diagonal */
__global__ void attn_softmax_bwd_kernel(cuda_row_plan p, int t, const float *att, float *datt)
{
    const int lane = (int)cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const int i = (int)(row % t);
        const float *pr = att + (size_t)row * t;
        float *dr = datt + (size_t)row * t;
        float d = 0.0f;
        for (int j = lane; j <= i; j += 32) d += pr[j] * dr[j];
        const float dot = warp_sum(d);
        for (int j = lane; j < t; j += 32) dr[j] = ab_causal_visible(i, j) ? ab_softmax_grad(pr[j], dr[j], dot) : 0.0f;
    }
}

/* one described GEMM: per head, one strided-batched call over the samples */
static ops_status att_gemm(cuda_ctx *c, const ops_attn_shape *s, cuda_att_gemm which, float *const tensors[])
{
    const cuda_att_gemm_call g = cuda_att_gemm_describe(s, which);
    if (g.why) {
        ops_set_error("attention: %s (n=%d t=%d c=%d heads=%d)", g.why, s->n, s->t, s->c, s->heads);
        return OPS_ERR_INVALID;
    }
    if (g.cm.empty || g.samples == 0) return OPS_OK;
    const cuda_att_operand *first = g.cm.b_first ? &g.b : &g.a, *second = g.cm.b_first ? &g.a : &g.b;
    for (int h = 0; h < g.heads; h++) {
        const float *fp = tensors[first->tensor] + first->offset + (size_t)h * first->head_stride;
        const float *sp = tensors[second->tensor] + second->offset + (size_t)h * second->head_stride;
        float *cp = tensors[g.c.tensor] + g.c.offset + (size_t)h * g.c.head_stride;
        CUBLAS_CHECK(cublasSgemmStridedBatched(c->cublas, g.cm.transa ? CUBLAS_OP_T : CUBLAS_OP_N,
                                               g.cm.transb ? CUBLAS_OP_T : CUBLAS_OP_N, g.cm.m, g.cm.n, g.cm.k,
                                               &g.cm.alpha, fp, g.cm.lda, first->sample_stride, sp, g.cm.ldb,
                                               second->sample_stride, &g.cm.beta, cp, g.cm.ldc, g.c.sample_stride,
                                               g.samples));
    }
    return OPS_OK;
}

static ops_status att_check(const char *op, const ops_attn_shape *s)
{
    const char *problem = ops_attn_shape_problem(s);
    if (!problem) return OPS_OK;
    ops_set_error("%s: %s (n=%d t=%d c=%d heads=%d)", op, problem, s->n, s->t, s->c, s->heads);
    return OPS_ERR_INVALID;
}

extern "C" ops_status cuda_attention_fwd(void *ctx, const ops_attn_shape *s, const float *qkv, float *att, float *out)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = att_check("attention_fwd", s);
    if (st != OPS_OK || s->n == 0) return st;
    const long long rows = (long long)s->n * s->heads * s->t;
    const cuda_row_plan p = cuda_tf_warp_rows_plan(rows, &c->limits);
    if (!p.rows_per_block) return no_plan("attention_fwd", rows, &c->limits);
    float *tensors[CUDA_ATT_TENSORS] = {const_cast<float *>(qkv), att, out, NULL, NULL, NULL};
    if ((st = att_gemm(c, s, CUDA_ATT_GEMM_SCORES, tensors)) != OPS_OK) return st;
    attn_softmax_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, s->t, att);
    CUDA_CHECK(cudaGetLastError());
    return att_gemm(c, s, CUDA_ATT_GEMM_OUT, tensors);
}

extern "C" ops_status cuda_attention_bwd(void *ctx, const ops_attn_shape *s, const float *qkv, const float *att,
                                         const float *dout, float *datt, float *dqkv)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = att_check("attention_bwd", s);
    if (st != OPS_OK || s->n == 0) return st;
    const long long rows = (long long)s->n * s->heads * s->t;
    const cuda_row_plan p = cuda_tf_warp_rows_plan(rows, &c->limits);
    if (!p.rows_per_block) return no_plan("attention_bwd", rows, &c->limits);
    float *tensors[CUDA_ATT_TENSORS] = {const_cast<float *>(qkv), const_cast<float *>(att), NULL,
                                        dqkv,                     datt,                     const_cast<float *>(dout)};
    if ((st = att_gemm(c, s, CUDA_ATT_GEMM_DV, tensors)) != OPS_OK) return st;
    if ((st = att_gemm(c, s, CUDA_ATT_GEMM_DP, tensors)) != OPS_OK) return st;
    attn_softmax_bwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, s->t, att, datt);
    CUDA_CHECK(cudaGetLastError());
    if ((st = att_gemm(c, s, CUDA_ATT_GEMM_DQ, tensors)) != OPS_OK) return st;
    return att_gemm(c, s, CUDA_ATT_GEMM_DK, tensors);
}

// ----------------------------------------------------------------------------
// GELU: float4 over [0, n_vec), scalar tail (launch.h)

__global__ void gelu_fwd_kernel(cuda_ew_plan p, const float *x, float *y)
{
    const size_t first = cuda_ew_first(blockIdx.x, blockDim.x, threadIdx.x);
    const size_t stride = cuda_ew_stride(gridDim.x, blockDim.x);
    for (size_t v = first; v < p.n_vec; v += stride) {
        const float4 a = ld4(x, v);
        st4(y, v, make_float4(ab_gelu(a.x), ab_gelu(a.y), ab_gelu(a.z), ab_gelu(a.w)));
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) y[i] = ab_gelu(x[i]);
}

__global__ void gelu_bwd_kernel(cuda_ew_plan p, const float *x, const float *dy, float beta, float *dx)
{
    const size_t first = cuda_ew_first(blockIdx.x, blockDim.x, threadIdx.x);
    const size_t stride = cuda_ew_stride(gridDim.x, blockDim.x);
    for (size_t v = first; v < p.n_vec; v += stride) {
        const float4 a = ld4(x, v), g = ld4(dy, v);
        const float4 o = beta == 0.0f ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : ld4(dx, v);
        st4(dx, v,
            make_float4(ab_store(beta, o.x, ab_gelu_grad(a.x, g.x)), ab_store(beta, o.y, ab_gelu_grad(a.y, g.y)),
                        ab_store(beta, o.z, ab_gelu_grad(a.z, g.z)), ab_store(beta, o.w, ab_gelu_grad(a.w, g.w))));
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride)
        dx[i] = ab_store(beta, beta == 0.0f ? 0.0f : dx[i], ab_gelu_grad(x[i], dy[i]));
}

extern "C" ops_status cuda_gelu_fwd(void *ctx, size_t n, const float *x, float *y)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    const cuda_ew_plan p = tf_ew_plan(c, n, x, y, NULL);
    if (!p.grid) return OPS_OK;
    gelu_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, x, y);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_gelu_bwd(void *ctx, size_t n, const float *x, const float *dy, float beta, float *dx)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    const cuda_ew_plan p = tf_ew_plan(c, n, x, dy, dx);
    if (!p.grid) return OPS_OK;
    gelu_bwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, x, dy, beta, dx);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cross-entropy over rows of `classes`, logsumexp saved

/* block per row: one pass of running (max, sum) pairs per thread, merged in
 * a fixed tree (ab_lse_merge) */
__global__ void xent_lse_kernel(cuda_row_plan p, int classes, const float *logits, float *lse)
{
    __shared__ float shm[CUDA_TF_ROW_BLOCK], shs[CUDA_TF_ROW_BLOCK];
    const unsigned tid = cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const float *r = logits + (size_t)row * classes;
        float m = -INFINITY, s = 0.0f;
        for (int j = (int)tid; j < classes; j += (int)blockDim.x) ab_lse_merge(&m, &s, r[j], 1.0f);
        shm[tid] = m;
        shs[tid] = s;
        __syncthreads();
        for (unsigned k = blockDim.x / 2; k > 0; k >>= 1) {
            if (tid < k) ab_lse_merge(&shm[tid], &shs[tid], shm[tid + k], shs[tid + k]);
            __syncthreads();
        }
        if (tid == 0) lse[row] = ab_lse_value(shm[0], shs[0]);
        __syncthreads();
    }
}

/* one block: loss = scale * sum_r (lse_r - logits[r, target_r]); a target
 * outside [0, classes) makes it NaN (the CPU backend refuses it) */
__global__ void xent_loss_kernel(int rows, int classes, const float *logits, const int32_t *targets,
                                 const float *lse, float scale, float *loss)
{
    __shared__ float sh[CUDA_TF_ROW_BLOCK];
    float v = 0.0f;
    for (int r = (int)threadIdx.x; r < rows; r += (int)blockDim.x) {
        const int32_t t = targets[r];
        v += t < 0 || t >= classes ? tf_nan() : lse[r] - logits[(size_t)r * classes + t];
    }
    v = tf_block_sum(v, sh);
    if (threadIdx.x == 0) *loss = scale * v;
}

/* block per row; each element read, then written, by one thread: dlogits
 * may alias logits */
__global__ void xent_bwd_kernel(cuda_row_plan p, int classes, const float *logits, const int32_t *targets,
                                const float *lse, float scale, float *dlogits)
{
    const int tid = (int)cuda_row_lane(&p, threadIdx.x);
    TF_ROW_LOOP(p)
    {
        const size_t at = (size_t)row * classes;
        const int32_t t = targets[row];
        const bool bad = t < 0 || t >= classes;
        const float l = lse[row];
        for (int j = tid; j < classes; j += (int)blockDim.x)
            dlogits[at + j] = bad ? tf_nan() : ab_xent_grad(logits[at + j], l, j == t, scale);
    }
}

static ops_status xent_check(const char *op, int rows, int classes)
{
    if (rows < 0 || classes < 1) {
        ops_set_error("%s: bad shape rows=%d classes=%d", op, rows, classes);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

extern "C" ops_status cuda_xent_lse_fwd(void *ctx, int rows, int classes, const float *logits,
                                        const int32_t *targets, float scale, float *lse, float *loss)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = xent_check("xent_lse_fwd", rows, classes);
    if (st != OPS_OK) return st;
    const cuda_row_plan p = cuda_tf_block_rows_plan(rows, &c->limits), one = cuda_tf_block_rows_plan(1, &c->limits);
    if (!p.rows_per_block) return no_plan("xent_lse_fwd", rows, &c->limits);
    if (p.grid) {
        xent_lse_kernel<<<p.grid, p.block, 0, c->stream>>>(p, classes, logits, lse);
        CUDA_CHECK(cudaGetLastError());
    }
    /* also with no rows: the loss is assigned (0) */
    xent_loss_kernel<<<one.grid, one.block, 0, c->stream>>>(rows, classes, logits, targets, lse, scale, loss);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_xent_lse_bwd(void *ctx, int rows, int classes, const float *logits,
                                        const int32_t *targets, const float *lse, float scale, float *dlogits)
{
    cuda_ctx *c = (cuda_ctx *)ctx;
    ops_status st = xent_check("xent_lse_bwd", rows, classes);
    if (st != OPS_OK) return st;
    const cuda_row_plan p = cuda_tf_block_rows_plan(rows, &c->limits);
    if (!p.rows_per_block) return no_plan("xent_lse_bwd", rows, &c->limits);
    if (!p.grid) return OPS_OK;
    xent_bwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, classes, logits, targets, lse, scale, dlogits);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}
