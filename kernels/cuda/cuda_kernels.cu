/* kernels/cuda/cuda_kernels.cu — the CUDA backend's own kernels: element-wise
 * ops, optimizer updates, average pooling, softmax cross-entropy and
 * GroupNorm. The math is the shared per-element code of
 * kernels/common/ops_math.h; this file only maps threads to elements.
 *
 * Conventions (kernels/ops.h): row-major float32, NCHW; an output paired with
 * `beta` is assigned when beta == 0 (and then never read) and added into
 * otherwise (ab_store); parameter gradients are always added into.
 * Launch configurations come from the pure functions of launch.h, and each
 * launcher is: plan, launch on the context's stream, cudaGetLastError.
 * Reductions (average pooling, GroupNorm) use a fixed order and no float
 * atomics, so results are bitwise reproducible for a given launch plan. */
#include "cuda_check.h"
#include "cuda_internal.h"
#include "common/ops_math.h"

#include <stdio.h>

// ----------------------------------------------------------------------------
// helpers

static __device__ __forceinline__ float f4_get(const float4 &v, int j)
{
    return j == 0 ? v.x : j == 1 ? v.y : j == 2 ? v.z : v.w;
}

static __device__ __forceinline__ void f4_set(float4 &v, int j, float f)
{
    if (j == 0) v.x = f;
    else if (j == 1) v.y = f;
    else if (j == 2) v.z = f;
    else v.w = f;
}

static __device__ __forceinline__ float4 ld4(const float *p, size_t v) { return reinterpret_cast<const float4 *>(p)[v]; }
static __device__ __forceinline__ void st4(float *p, size_t v, float4 f) { reinterpret_cast<float4 *>(p)[v] = f; }

/* Sum over the block in a fixed tree order (blockDim.x a power of two); every
 * thread gets the total. sh holds blockDim.x floats. */
static __device__ float block_sum(float v, float *sh)
{
    unsigned t = threadIdx.x;
    sh[t] = v;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) sh[t] += sh[t + s];
        __syncthreads();
    }
    float r = sh[0];
    __syncthreads();
    return r;
}

static __device__ void block_sum2(float *a, float *b, float *sha, float *shb)
{
    unsigned t = threadIdx.x;
    sha[t] = *a;
    shb[t] = *b;
    __syncthreads();
    for (unsigned s = blockDim.x / 2; s > 0; s >>= 1) {
        if (t < s) {
            sha[t] += sha[t + s];
            shb[t] += shb[t + s];
        }
        __syncthreads();
    }
    *a = sha[0];
    *b = shb[0];
    __syncthreads();
}

static cuda_ew_plan ew_plan(const cuda_ctx *c, size_t n, const void *p0, const void *p1, const void *p2,
                            const void *p3)
{
    const void *ptrs[4] = {p0, p1, p2, p3};
    return cuda_ew_plan_make(n, cuda_ptrs_aligned16(ptrs, 4), &c->limits);
}

static ops_status row_plan(const cuda_ctx *c, long long rows, unsigned threads_per_row, unsigned block,
                           cuda_row_plan *p)
{
    *p = cuda_row_plan_make(rows, threads_per_row, block, &c->limits);
    if (p->rows_per_block == 0) {
        ops_set_error("no launch configuration: %lld rows, %u threads per row, block %u (device max %u)", rows,
                      threads_per_row, block, c->limits.max_block);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

/* The one path of every element-wise launcher: the plan (grid by CEIL_DIV
 * in cuda_ew_plan_make), the launch on the backend's stream, the check.
 * Params and Args are separate packs so an argument converts to its
 * parameter (float * to const float *). */
template <typename... Params, typename... Args>
static ops_status ew_launch(const cuda_ctx *c, void (*kernel)(cuda_ew_plan, Params...), cuda_ew_plan p,
                            Args... args)
{
    if (!p.grid) return OPS_OK;
    kernel<<<p.grid, p.block, 0, c->stream>>>(p, args...);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

#define EW_INDICES                                                                                 \
    const size_t first = cuda_ew_first(blockIdx.x, blockDim.x, threadIdx.x);                       \
    const size_t stride = cuda_ew_stride(gridDim.x, blockDim.x)

#define ROW_LOOP(p) for (long long row = cuda_row_first(&(p), blockIdx.x, threadIdx.x); row < (p).rows; \
                         row += cuda_row_stride(&(p), gridDim.x))

// ----------------------------------------------------------------------------
// element-wise kernels: float4 loop over [0, n_vec) groups, scalar tail

__global__ void relu_fwd_kernel(cuda_ew_plan p, const float *x, float *y)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 a = ld4(x, v), o;
#pragma unroll
        for (int j = 0; j < 4; j++) f4_set(o, j, ab_relu(f4_get(a, j)));
        st4(y, v, o);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) y[i] = ab_relu(x[i]);
}

__global__ void relu_bwd_kernel(cuda_ew_plan p, const float *y, const float *dy, float beta, float *dx)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 a = ld4(y, v), g = ld4(dy, v);
        float4 o = beta == 0.0f ? make_float4(0.0f, 0.0f, 0.0f, 0.0f) : ld4(dx, v);
#pragma unroll
        for (int j = 0; j < 4; j++) f4_set(o, j, ab_store(beta, f4_get(o, j), ab_relu_grad(f4_get(a, j), f4_get(g, j))));
        st4(dx, v, o);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride)
        dx[i] = ab_store(beta, beta == 0.0f ? 0.0f : dx[i], ab_relu_grad(y[i], dy[i]));
}

__global__ void add_kernel(cuda_ew_plan p, const float *a, const float *b, float *y)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 u = ld4(a, v), w = ld4(b, v), o;
#pragma unroll
        for (int j = 0; j < 4; j++) f4_set(o, j, f4_get(u, j) + f4_get(w, j));
        st4(y, v, o);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) y[i] = a[i] + b[i];
}

__global__ void fill_kernel(cuda_ew_plan p, float *x, float value)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) st4(x, v, make_float4(value, value, value, value));
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) x[i] = value;
}

__global__ void scale_kernel(cuda_ew_plan p, float *x, float alpha)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 a = ld4(x, v);
#pragma unroll
        for (int j = 0; j < 4; j++) f4_set(a, j, alpha * f4_get(a, j));
        st4(x, v, a);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) x[i] = alpha * x[i];
}

__global__ void axpy_kernel(cuda_ew_plan p, float alpha, const float *x, float *y)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 a = ld4(x, v), o = ld4(y, v);
#pragma unroll
        for (int j = 0; j < 4; j++) f4_set(o, j, f4_get(o, j) + alpha * f4_get(a, j));
        st4(y, v, o);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) y[i] += alpha * x[i];
}

__global__ void copy_kernel(cuda_ew_plan p, const float *x, float *y)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) st4(y, v, ld4(x, v));
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) y[i] = x[i];
}

__global__ void sgd_step_kernel(cuda_ew_plan p, float *param, const float *grad, float *buf, float lr,
                                float momentum, float weight_decay)
{
    EW_INDICES;
    for (size_t v = first; v < p.n_vec; v += stride) {
        float4 w = ld4(param, v), g = ld4(grad, v), b = ld4(buf, v);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float wj = f4_get(w, j), bj = f4_get(b, j);
            ab_sgd_update(&wj, f4_get(g, j), &bj, lr, momentum, weight_decay);
            f4_set(w, j, wj);
            f4_set(b, j, bj);
        }
        st4(param, v, w);
        st4(buf, v, b);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride)
        ab_sgd_update(&param[i], grad[i], &buf[i], lr, momentum, weight_decay);
}

__global__ void adamw_step_kernel(cuda_ew_plan p, float *param, const float *grad, float *m, float *v,
                                  float lr, float beta1, float beta2, float eps, float weight_decay, float bc1,
                                  float bc2)
{
    EW_INDICES;
    for (size_t q = first; q < p.n_vec; q += stride) {
        float4 w = ld4(param, q), g = ld4(grad, q), mm = ld4(m, q), vv = ld4(v, q);
#pragma unroll
        for (int j = 0; j < 4; j++) {
            float wj = f4_get(w, j), mj = f4_get(mm, j), vj = f4_get(vv, j);
            ab_adamw_update(&wj, f4_get(g, j), &mj, &vj, lr, beta1, beta2, eps, weight_decay, bc1, bc2);
            f4_set(w, j, wj);
            f4_set(mm, j, mj);
            f4_set(vv, j, vj);
        }
        st4(param, q, w);
        st4(m, q, mm);
        st4(v, q, vv);
    }
    for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride)
        ab_adamw_update(&param[i], grad[i], &m[i], &v[i], lr, beta1, beta2, eps, weight_decay, bc1, bc2);
}

/* dx (n*c*hw) from dy (n*c): scalar, the index divides by hw */
__global__ void avgpool_bwd_kernel(cuda_ew_plan p, int hw, const float *dy, float beta, float *dx)
{
    EW_INDICES;
    for (size_t i = first; i < p.n; i += stride)
        dx[i] = ab_store(beta, beta == 0.0f ? 0.0f : dx[i], dy[i / (size_t)hw] / (float)hw);
}

__global__ void softmax_xent_bwd_kernel(cuda_ew_plan p, int classes, const float *probs, const int32_t *targets,
                                        float scale, float *dlogits)
{
    EW_INDICES;
    for (size_t i = first; i < p.n; i += stride) {
        size_t row = i / (size_t)classes;
        int j = (int)(i - row * (size_t)classes);
        dlogits[i] = ab_softmax_xent_grad(probs[i], j == targets[row], scale);
    }
}

// ----------------------------------------------------------------------------
// row kernels

/* y (rows) = mean of x (rows, hw): one warp per row, butterfly shuffle sum */
__global__ void avgpool_fwd_kernel(cuda_row_plan p, int hw, const float *x, float *y)
{
    const unsigned lane = cuda_row_lane(&p, threadIdx.x);
    ROW_LOOP(p)
    {
        const float *xr = x + (size_t)row * hw;
        float s = 0.0f;
        for (int i = (int)lane; i < hw; i += 32) s += xr[i];
        for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
        if (lane == 0) y[row] = s / (float)hw;
    }
}

/* one thread per row (classes is small: 10) */
__global__ void softmax_xent_fwd_kernel(cuda_row_plan p, int classes, const float *logits,
                                        const int32_t *targets, float *probs, float *losses)
{
    ROW_LOOP(p)
    {
        size_t off = (size_t)row * classes;
        int32_t t = targets[row];
        /* a target outside [0, classes) cannot be reported from here without
         * a sync: its loss is NaN (the CPU backend returns OPS_ERR_INVALID) */
        int bad = t < 0 || t >= classes;
        float loss = ab_softmax_xent_row(logits + off, classes, bad ? 0 : t, probs + off);
        losses[row] = bad ? __int_as_float(0x7fc00000) : loss;
    }
}

/* GroupNorm forward, one block per (sample, group): the group's cpg*hw
 * values are contiguous in NCHW. Two passes (mean, then centred squares) for
 * the biased variance. */
__global__ void groupnorm_fwd_kernel(cuda_row_plan p, int c, int hw, int groups, float eps, const float *x,
                                     const float *gamma, const float *bias, float *y, float *save_mean,
                                     float *save_rstd)
{
    __shared__ float sh[CUDA_NORM_BLOCK];
    const unsigned lane = cuda_row_lane(&p, threadIdx.x);
    const int cpg = c / groups;
    const size_t count = (size_t)cpg * hw;
    ROW_LOOP(p)
    {
        const long long ni = row / groups;
        const int g = (int)(row - ni * groups);
        const size_t base = ((size_t)ni * c + (size_t)g * cpg) * hw;
        float s = 0.0f;
        for (size_t i = lane; i < count; i += blockDim.x) s += x[base + i];
        const float mean = block_sum(s, sh) / (float)count;
        float ss = 0.0f;
        for (size_t i = lane; i < count; i += blockDim.x) {
            float d = x[base + i] - mean;
            ss += d * d;
        }
        const float rstd = ab_norm_rstd(block_sum(ss, sh) / (float)count, eps);
        if (lane == 0) {
            save_mean[row] = mean;
            save_rstd[row] = rstd;
        }
        for (size_t i = lane; i < count; i += blockDim.x) {
            int ch = g * cpg + (int)(i / (size_t)hw);
            y[base + i] = ab_norm_apply(x[base + i], mean, rstd, gamma[ch], bias[ch]);
        }
    }
}

/* GroupNorm input gradient, one block per (sample, group). */
__global__ void groupnorm_bwd_dx_kernel(cuda_row_plan p, int c, int hw, int groups, const float *x,
                                        const float *dy, const float *gamma, const float *save_mean,
                                        const float *save_rstd, float beta, float *dx)
{
    __shared__ float sha[CUDA_NORM_BLOCK], shb[CUDA_NORM_BLOCK];
    const unsigned lane = cuda_row_lane(&p, threadIdx.x);
    const int cpg = c / groups;
    const size_t count = (size_t)cpg * hw;
    ROW_LOOP(p)
    {
        const long long ni = row / groups;
        const int g = (int)(row - ni * groups);
        const size_t base = ((size_t)ni * c + (size_t)g * cpg) * hw;
        const float mean = save_mean[row], rstd = save_rstd[row];
        float s1 = 0.0f, s2 = 0.0f;
        for (size_t i = lane; i < count; i += blockDim.x) {
            int ch = g * cpg + (int)(i / (size_t)hw);
            float dyg = dy[base + i] * gamma[ch];
            s1 += dyg;
            s2 += dyg * (x[base + i] - mean) * rstd;
        }
        block_sum2(&s1, &s2, sha, shb);
        const float mean_dyg = s1 / (float)count, mean_dyg_xhat = s2 / (float)count;
        for (size_t i = lane; i < count; i += blockDim.x) {
            int ch = g * cpg + (int)(i / (size_t)hw);
            float xhat = (x[base + i] - mean) * rstd;
            float v = ab_norm_dx(dy[base + i], gamma[ch], xhat, rstd, mean_dyg, mean_dyg_xhat);
            dx[base + i] = ab_store(beta, beta == 0.0f ? 0.0f : dx[base + i], v);
        }
    }
}

/* GroupNorm dgamma/dbias, pass 1: one block per (channel, chunk of samples)
 * (launch.h, cuda_gn_param_plan), its samples summed in order inside the
 * block (no atomics); one chunk adds into the gradients, several write
 * partials (row, 2) for pass 2. */
__global__ void groupnorm_bwd_param_kernel(cuda_gn_param_plan p, int c, int hw, int groups, const float *x,
                                           const float *dy, const float *save_mean, const float *save_rstd,
                                           float *partial, float *dgamma, float *dbias)
{
    __shared__ float sha[CUDA_NORM_BLOCK], shb[CUDA_NORM_BLOCK];
    const unsigned lane = cuda_row_lane(&p.partial, threadIdx.x);
    const int cpg = c / groups;
    ROW_LOOP(p.partial)
    {
        const int ch = cuda_gn_param_channel(&p, row), g = ch / cpg;
        float dg = 0.0f, db = 0.0f;
        for (int ni = cuda_gn_param_first(&p, row); ni < cuda_gn_param_end(&p, row); ni++) {
            const float mean = save_mean[(size_t)ni * groups + g], rstd = save_rstd[(size_t)ni * groups + g];
            const size_t base = ((size_t)ni * c + ch) * hw;
            for (size_t i = lane; i < (size_t)hw; i += blockDim.x) {
                float d = dy[base + i];
                dg += d * (x[base + i] - mean) * rstd;
                db += d;
            }
        }
        block_sum2(&dg, &db, sha, shb);
        if (lane == 0) {
            if (p.chunks == 1) {
                dgamma[ch] += dg;
                dbias[ch] += db;
            } else {
                partial[2 * row] = dg;
                partial[2 * row + 1] = db;
            }
        }
    }
}

/* pass 2: one thread per channel adds its chunks' partials in chunk order */
__global__ void groupnorm_bwd_param_reduce_kernel(cuda_gn_param_plan p, const float *partial, float *dgamma,
                                                  float *dbias)
{
    ROW_LOOP(p.reduce)
    {
        const float *part = partial + 2 * (size_t)row * p.chunks;
        float dg = 0.0f, db = 0.0f;
        for (int k = 0; k < p.chunks; k++) {
            dg += part[2 * k];
            db += part[2 * k + 1];
        }
        dgamma[row] += dg;
        dbias[row] += db;
    }
}

// ----------------------------------------------------------------------------
// launchers

#define CTX cuda_ctx *c = (cuda_ctx *)ctx

extern "C" int cuda_kernels_usable(char *why, size_t why_len)
{
    cudaFuncAttributes a;
    cudaError_t e = cudaFuncGetAttributes(&a, fill_kernel);
    if (e == cudaSuccess) return 1;
    (void)cudaGetLastError();
    snprintf(why, why_len, "the CUDA kernels cannot run on this device: %s (%s)", cudaGetErrorString(e),
             cudaGetErrorName(e));
    return 0;
}

extern "C" ops_status cuda_relu_fwd(void *ctx, size_t n, const float *x, float *y)
{
    CTX;
    return ew_launch(c, relu_fwd_kernel, ew_plan(c, n, x, y, NULL, NULL), x, y);
}

extern "C" ops_status cuda_relu_bwd(void *ctx, size_t n, const float *y, const float *dy, float beta, float *dx)
{
    CTX;
    return ew_launch(c, relu_bwd_kernel, ew_plan(c, n, y, dy, dx, NULL), y, dy, beta, dx);
}

extern "C" ops_status cuda_add(void *ctx, size_t n, const float *a, const float *b, float *y)
{
    CTX;
    return ew_launch(c, add_kernel, ew_plan(c, n, a, b, y, NULL), a, b, y);
}

extern "C" ops_status cuda_fill(void *ctx, size_t n, float *x, float value)
{
    CTX;
    return ew_launch(c, fill_kernel, ew_plan(c, n, x, NULL, NULL, NULL), x, value);
}

extern "C" ops_status cuda_scale(void *ctx, size_t n, float *x, float alpha)
{
    CTX;
    return ew_launch(c, scale_kernel, ew_plan(c, n, x, NULL, NULL, NULL), x, alpha);
}

extern "C" ops_status cuda_axpy(void *ctx, size_t n, float alpha, const float *x, float *y)
{
    CTX;
    return ew_launch(c, axpy_kernel, ew_plan(c, n, x, y, NULL, NULL), alpha, x, y);
}

extern "C" ops_status cuda_copy(void *ctx, size_t n, const float *x, float *y)
{
    CTX;
    return ew_launch(c, copy_kernel, ew_plan(c, n, x, y, NULL, NULL), x, y);
}

extern "C" ops_status cuda_sgd_step(void *ctx, size_t n, float *param, const float *grad, float *momentum_buf,
                                    const ops_sgd_hparams *h)
{
    CTX;
    return ew_launch(c, sgd_step_kernel, ew_plan(c, n, param, grad, momentum_buf, NULL), param, grad, momentum_buf,
                     h->lr, h->momentum, h->weight_decay);
}

extern "C" ops_status cuda_adamw_step(void *ctx, size_t n, float *param, const float *grad, float *m, float *v,
                                      const ops_adamw_hparams *h)
{
    CTX;
    if (h->t < 1) {
        ops_set_error("adamw_step: step t must be >= 1 (got %d)", h->t);
        return OPS_ERR_INVALID;
    }
    /* bias corrections once per step, as ab_adamw_update expects; in double
     * as torch.optim.AdamW (and the CPU backend) compute 1 - beta**step */
    const float bc1 = (float)(1.0 - pow((double)h->beta1, h->t)), bc2 = (float)(1.0 - pow((double)h->beta2, h->t));
    return ew_launch(c, adamw_step_kernel, ew_plan(c, n, param, grad, m, v), param, grad, m, v, h->lr, h->beta1,
                     h->beta2, h->eps, h->weight_decay, bc1, bc2);
}

extern "C" ops_status cuda_avgpool_fwd(void *ctx, int n, int c_, int hw, const float *x, float *y)
{
    CTX;
    if (n < 0 || c_ < 0 || hw <= 0) {
        ops_set_error("avgpool_fwd: bad shape n=%d c=%d hw=%d", n, c_, hw);
        return OPS_ERR_INVALID;
    }
    cuda_row_plan p;
    ops_status st = row_plan(c, (long long)n * c_, 32, CUDA_EW_BLOCK, &p);
    if (st != OPS_OK || !p.grid) return st;
    avgpool_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, hw, x, y);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_avgpool_bwd(void *ctx, int n, int c_, int hw, const float *dy, float beta, float *dx)
{
    CTX;
    if (n < 0 || c_ < 0 || hw <= 0) {
        ops_set_error("avgpool_bwd: bad shape n=%d c=%d hw=%d", n, c_, hw);
        return OPS_ERR_INVALID;
    }
    return ew_launch(c, avgpool_bwd_kernel, cuda_ew_plan_make((size_t)n * c_ * hw, 0, &c->limits), hw, dy, beta,
                     dx);
}

extern "C" ops_status cuda_softmax_xent_fwd(void *ctx, int n, int classes, const float *logits,
                                            const int32_t *targets, float *probs, float *losses)
{
    CTX;
    if (n < 0 || classes <= 0) {
        ops_set_error("softmax_xent_fwd: bad shape n=%d classes=%d", n, classes);
        return OPS_ERR_INVALID;
    }
    cuda_row_plan p;
    ops_status st = row_plan(c, n, 1, 128, &p);
    if (st != OPS_OK || !p.grid) return st;
    softmax_xent_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, classes, logits, targets, probs, losses);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

extern "C" ops_status cuda_softmax_xent_bwd(void *ctx, int n, int classes, const float *probs,
                                            const int32_t *targets, float scale, float *dlogits)
{
    CTX;
    if (n < 0 || classes <= 0) {
        ops_set_error("softmax_xent_bwd: bad shape n=%d classes=%d", n, classes);
        return OPS_ERR_INVALID;
    }
    return ew_launch(c, softmax_xent_bwd_kernel, cuda_ew_plan_make((size_t)n * classes, 0, &c->limits), classes,
                     probs, targets, scale, dlogits);
}

static ops_status groupnorm_check(const ops_norm_shape *s, const char *op)
{
    if (s->n < 0 || s->c <= 0 || s->hw <= 0 || s->groups <= 0 || s->c % s->groups != 0) {
        ops_set_error("%s: bad shape n=%d c=%d hw=%d groups=%d (c must divide into groups)", op, s->n, s->c, s->hw,
                      s->groups);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

extern "C" ops_status cuda_groupnorm_fwd(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                         const float *bias, float *y, float *save_mean, float *save_rstd)
{
    CTX;
    ops_status st = groupnorm_check(s, "groupnorm_fwd");
    if (st != OPS_OK) return st;
    cuda_row_plan p;
    st = row_plan(c, (long long)s->n * s->groups, CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, &p);
    if (st != OPS_OK || !p.grid) return st;
    groupnorm_fwd_kernel<<<p.grid, p.block, 0, c->stream>>>(p, s->c, s->hw, s->groups, s->eps, x, gamma, bias, y,
                                                            save_mean, save_rstd);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}

/* Parameter gradients first: they read dy, which dx may alias. The
 * parameter pass's partials live in the library workspace (set by
 * set_library_workspace), which the stream-ordered ops share in turn with
 * cuBLAS; without one the plan takes a single chunk. */
extern "C" ops_status cuda_groupnorm_bwd(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                         const float *gamma, const float *save_mean, const float *save_rstd,
                                         float beta, float *dx, float *dgamma, float *dbias)
{
    CTX;
    ops_status st = groupnorm_check(s, "groupnorm_bwd");
    if (st != OPS_OK) return st;
    if (s->n == 0) return OPS_OK;
    cuda_gn_param_plan pp = cuda_gn_param_plan_make(s->n, s->c, s->hw, c->cublas_ws_bytes, &c->limits);
    if (pp.partial.rows_per_block == 0) {
        ops_set_error("groupnorm_bwd: no launch configuration for c=%d (device max block %u)", s->c,
                      c->limits.max_block);
        return OPS_ERR_INVALID;
    }
    cuda_row_plan pr;
    st = row_plan(c, (long long)s->n * s->groups, CUDA_NORM_BLOCK, CUDA_NORM_BLOCK, &pr);
    if (st != OPS_OK) return st;
    float *partial = (float *)c->cublas_ws;
    groupnorm_bwd_param_kernel<<<pp.partial.grid, pp.partial.block, 0, c->stream>>>(
        pp, s->c, s->hw, s->groups, x, dy, save_mean, save_rstd, partial, dgamma, dbias);
    CUDA_CHECK(cudaGetLastError());
    if (pp.chunks > 1) {
        groupnorm_bwd_param_reduce_kernel<<<pp.reduce.grid, pp.reduce.block, 0, c->stream>>>(pp, partial, dgamma,
                                                                                              dbias);
        CUDA_CHECK(cudaGetLastError());
    }
    groupnorm_bwd_dx_kernel<<<pr.grid, pr.block, 0, c->stream>>>(pr, s->c, s->hw, s->groups, x, dy, gamma,
                                                                 save_mean, save_rstd, beta, dx);
    CUDA_CHECK(cudaGetLastError());
    return OPS_OK;
}
