/* kernels/ops.h — the compute backend interface.
 *
 * A backend is a table of function pointers plus a context (as in ggml's
 * ggml-backend-impl.h). bench/ reaches every op only through the ops_*
 * wrappers at the end of this file; they own the sub-allocator (live bytes,
 * high-water, --mem-limit cap) and tell an optional observer about every op
 * and allocation, which is how order-of-operations tests, per-op timing and
 * memory timelines see a run without knowing the backend.
 *
 * Conventions shared by every backend:
 * - tensors are row-major float32 in backend memory, images NCHW;
 * - an output argument paired with `beta`: beta == 0 assigns (the output is
 *   not read, so it may hold garbage), any other beta (1 in practice) adds
 *   into it; ops_gemm_desc.beta is BLAS's scale factor;
 * - parameter gradients (dw, dgamma, dbeta) are always added into (+=), so
 *   zeroing them once per optimizer step is the strategy's job;
 * - targets are int32 class indices in backend memory.
 */
#ifndef ACCUMBENCH_OPS_H
#define ACCUMBENCH_OPS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    OPS_OK = 0,
    OPS_ERR_OOM,        /* allocation over the cap or the reservation */
    OPS_ERR_BACKEND,    /* a library call failed; message in ops_last_error */
    OPS_ERR_INVALID,    /* shapes or arguments the backend cannot take */
} ops_status;

typedef enum {
    OPS_PHASE_OTHER = 0,
    OPS_PHASE_FORWARD,
    OPS_PHASE_BACKWARD,
    OPS_PHASE_OPTIMIZER,
    OPS_PHASE_RECOMPUTE,    /* a block's forward again inside backward (--recompute blocks) */
    OPS_PHASE_COUNT
} ops_phase;

const char *ops_phase_name(ops_phase p);

/* C[M,N] = alpha * op(A)[M,K] * op(B)[K,N] + beta * C, all row-major; lda,
 * ldb, ldc are the row strides of A, B, C as stored (before op()). */
typedef struct {
    int trans_a, trans_b;
    int m, n, k;
    int lda, ldb, ldc;
    float alpha, beta;
} ops_gemm_desc;

/* 2-D cross-correlation without bias, square kernel, same stride and padding
 * in both dimensions: x (n, c, h, w) * w (k, c, r, r) -> y (n, k, p, q). */
typedef struct {
    int n, c, h, w;     /* input */
    int k, r;           /* output channels, kernel size */
    int stride, pad;
    int p, q;           /* output height and width, see ops_conv_out_dim */
} ops_conv_shape;

typedef enum { OPS_CONV_FWD = 0, OPS_CONV_BWD_DATA, OPS_CONV_BWD_FILTER, OPS_CONV_DIR_COUNT } ops_conv_dir;

int ops_conv_out_dim(int in, int r, int stride, int pad);
ops_conv_shape ops_conv_make(int n, int c, int h, int w, int k, int r, int stride, int pad);

/* Normalisation over x (n, c, hw). BatchNorm with one value per channel
 * (n * hw == 1) is OPS_ERR_INVALID, as in PyTorch: the unbiased running
 * variance would divide by zero. BatchNorm: statistics per channel over
 * (n, hw), saved mean/invstd have c entries. GroupNorm: statistics per
 * (sample, group) over (c/groups, hw), saved mean/rstd have n*groups. */
typedef struct {
    int n, c, hw;
    int groups;         /* GroupNorm only */
    float eps;
    float momentum;     /* BatchNorm running statistics: new = (1-m)*old + m*batch */
} ops_norm_shape;

/* GPT-2 attention over qkv (n, t, 3c), the c_attn output with q, k, v
 * side by side; `heads` heads of c/heads channels each (c % heads == 0). */
typedef struct {
    int n, t, c, heads;
} ops_attn_shape;

/* NULL when the ops can take s, else why not (negative or zero sizes, c not
 * divisible by heads, a stride over INT_MAX) */
const char *ops_attn_shape_problem(const ops_attn_shape *s);

typedef struct { float lr, momentum, weight_decay; } ops_sgd_hparams;
typedef struct { float lr, beta1, beta2, eps, weight_decay; int t; /* step, from 1 */ } ops_adamw_hparams;

/* What a backend's profiler delivers for the ops between profile_begin and
 * profile_end (device timestamps in ns, any epoch). A kernel name has at
 * most OPS_KERNEL_NAME_MAX characters: a longer one is cut and ends in '#'
 * and 16 hex digits of its full form's 64-bit FNV-1a hash, so kernels whose
 * names differ only past the cut (template variants) stay apart. */
#define OPS_KERNEL_NAME_MAX 127
typedef struct {
    void *user;
    void (*kernel)(void *user, ops_phase phase, const char *name, uint64_t start_ns, uint64_t end_ns);
    void (*transfer)(void *user, int is_memset, uint64_t bytes, uint64_t start_ns, uint64_t end_ns);
} ops_profile_sink;

/* Device memory figures of the design's Memory section, since the last
 * device_memory_reset; 0 where not measured, with the reason in *_why. */
typedef struct {
    size_t device_high_water_bytes;    /* arena: CUPTI MEMORY2 live-sum high-water, library allocations
                                          included; pool: the pool's used-bytes high-water */
    size_t driver_high_water_bytes;    /* max (total - free) from cudaMemGetInfo, minus the level after init */
    size_t reserved_high_water_bytes;  /* pool: the pool's reserved-bytes high-water; 0 without a pool */
    uint64_t dropped_records;
    char device_why[128];              /* empty when measured, else "unavailable: <reason>" */
} ops_device_memory;

/* Device state (NVML), sampled by the caller between steps. */
typedef struct {
    int valid;
    unsigned sm_clock_mhz, sm_clock_max_mhz, temperature_c, power_mw;
    unsigned long long throttle_reasons;   /* NVML clocks-event reasons, idle bit removed */
    unsigned other_processes;              /* compute processes on the GPU besides us */
    char why[128];                         /* when !valid */
} ops_device_state;

/* The backend function table. One slot per line so a gap shows; optional
 * slots may be NULL and the wrapper supplies the default. */
typedef struct ops_backend_i {
    const char *name;           /* for people (info, results rows); bench/ never branches on it */
    /* capabilities: what bench/ asks instead of the name (as ggml's is_host) */
    int host_memory;            /* tensors live in host memory: RSS growth is the measured
                                   memory figure; no device/driver/reserved figures */
    size_t (*default_cap_bytes)(void *ctx);                       /* optional: NULL = no cap */
    void (*destroy)(void *ctx);
    /* raw memory: one reservation per run, sub-allocated by ops_arena */
    ops_status (*reserve)(void *ctx, size_t bytes, void **base);
    void (*release)(void *ctx, void *base, size_t bytes);
    /* optional: one allocation per tensor from the backend's pool
     * (--allocator pool); OPS_ERR_OOM when the device is out of memory */
    ops_status (*pool_alloc)(void *ctx, size_t bytes, void **p);
    void (*pool_free)(void *ctx, void *p);
    ops_status (*upload)(void *ctx, void *dst, const void *src, size_t bytes);
    ops_status (*download)(void *ctx, void *dst, const void *src, size_t bytes);
    ops_status (*synchronize)(void *ctx);                         /* optional */
    /* workspace each conv direction needs for this shape, in bytes */
    size_t (*conv_workspace_bytes)(void *ctx, const ops_conv_shape *s, ops_conv_dir dir);

    ops_status (*gemm)(void *ctx, const ops_gemm_desc *d, const float *a, const float *b, float *c);
    ops_status (*conv2d_fwd)(void *ctx, const ops_conv_shape *s, const float *x, const float *w,
                             float *y, void *ws, size_t ws_bytes);
    ops_status (*conv2d_bwd_data)(void *ctx, const ops_conv_shape *s, const float *w, const float *dy,
                                  float beta, float *dx, void *ws, size_t ws_bytes);
    ops_status (*conv2d_bwd_filter)(void *ctx, const ops_conv_shape *s, const float *x, const float *dy,
                                    float *dw, void *ws, size_t ws_bytes);
    ops_status (*batchnorm_fwd)(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                const float *bias, float *y, float *running_mean, float *running_var,
                                float *save_mean, float *save_invstd);
    ops_status (*batchnorm_bwd)(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                const float *gamma, const float *save_mean, const float *save_invstd,
                                float beta, float *dx, float *dgamma, float *dbias);
    ops_status (*groupnorm_fwd)(void *ctx, const ops_norm_shape *s, const float *x, const float *gamma,
                                const float *bias, float *y, float *save_mean, float *save_rstd);
    ops_status (*groupnorm_bwd)(void *ctx, const ops_norm_shape *s, const float *x, const float *dy,
                                const float *gamma, const float *save_mean, const float *save_rstd,
                                float beta, float *dx, float *dgamma, float *dbias);
    ops_status (*relu_fwd)(void *ctx, size_t n, const float *x, float *y);
    ops_status (*relu_bwd)(void *ctx, size_t n, const float *y, const float *dy, float beta, float *dx);
    ops_status (*add)(void *ctx, size_t n, const float *a, const float *b, float *y);
    ops_status (*avgpool_fwd)(void *ctx, int n, int c, int hw, const float *x, float *y);
    ops_status (*avgpool_bwd)(void *ctx, int n, int c, int hw, const float *dy, float beta, float *dx);
    /* probs (n, classes) = softmax(logits); losses (n) = -log probs[target] */
    ops_status (*softmax_xent_fwd)(void *ctx, int n, int classes, const float *logits,
                                   const int32_t *targets, float *probs, float *losses);
    /* dlogits = scale * (probs - onehot(target)) */
    ops_status (*softmax_xent_bwd)(void *ctx, int n, int classes, const float *probs,
                                   const int32_t *targets, float scale, float *dlogits);
    ops_status (*sgd_step)(void *ctx, size_t n, float *param, const float *grad, float *momentum_buf,
                           const ops_sgd_hparams *h);
    ops_status (*adamw_step)(void *ctx, size_t n, float *param, const float *grad, float *m, float *v,
                             const ops_adamw_hparams *h);
    ops_status (*fill)(void *ctx, size_t n, float *x, float value);
    ops_status (*scale)(void *ctx, size_t n, float *x, float alpha);
    ops_status (*axpy)(void *ctx, size_t n, float alpha, const float *x, float *y);
    ops_status (*copy)(void *ctx, size_t n, const float *x, float *y);

    /* --- GPT-2 ops (kernels/cpu/cpu_transformer.c, kernels/cuda/cuda_transformer.cu).
     * Tokens and targets are int32 in backend memory; positions are (n, t)
     * rows of c channels. Out-of-range tokens/targets: OPS_ERR_INVALID on
     * the CPU; on the GPU (a kernel cannot report) NaN in the forward's
     * outputs and in dlogits, and the embedding backward skips them. */
    /* out (n, t, c) = wte[tokens] + wpe[position]; wte (vocab, c), wpe (>= t, c) */
    ops_status (*embedding_fwd)(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                                const float *wpe, float *out);
    /* dwte[tokens[p]] += dout[p], dwpe[position] += dout: both parameter
     * gradients, added into; sums in position order, bitwise repeatable */
    ops_status (*embedding_bwd)(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *dout,
                                float *dwte, float *dwpe);
    /* LayerNorm over each row of x (rows, c): y assigned, save_mean and
     * save_rstd (rows) assigned, rstd = 1/sqrt(biased var + eps) */
    ops_status (*layernorm_fwd)(void *ctx, int rows, int c, float eps, const float *x, const float *weight,
                                const float *bias, float *y, float *save_mean, float *save_rstd);
    /* dx blends with beta (0 assigns, 1 adds: the residual stream fans in;
     * dx may alias dy); dweight, dbias (c) added into */
    ops_status (*layernorm_bwd)(void *ctx, int rows, int c, const float *x, const float *dy, const float *weight,
                                const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                                float *dbias);
    /* causal self-attention: att (n, heads, t, t) = softmax(q k^T / sqrt(c/heads))
     * with the mask (entries above the diagonal 0), saved; out (n, t, c) =
     * att v, heads side by side. Both assigned. */
    ops_status (*attention_fwd)(void *ctx, const ops_attn_shape *s, const float *qkv, float *att, float *out);
    /* dqkv (n, t, 3c) assigned (qkv feeds attention only); datt is scratch
     * (n, heads, t, t), overwritten */
    ops_status (*attention_bwd)(void *ctx, const ops_attn_shape *s, const float *qkv, const float *att,
                                const float *dout, float *datt, float *dqkv);
    ops_status (*gelu_fwd)(void *ctx, size_t n, const float *x, float *y);
    /* dx blends with beta, from GELU's input x */
    ops_status (*gelu_bwd)(void *ctx, size_t n, const float *x, const float *dy, float beta, float *dx);
    /* Cross-entropy of rows of logits (rows, classes) against targets: lse
     * (rows) = logsumexp of each row, saved; loss (1 float) = scale *
     * sum_r (lse_r - logits[r, target_r]), so scale = w / rows gives the
     * weighted mean loss. Both assigned. */
    ops_status (*xent_lse_fwd)(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                               float scale, float *lse, float *loss);
    /* dlogits = scale * (softmax(logits) - onehot(target)), assigned; dlogits
     * may alias logits (in place) */
    ops_status (*xent_lse_bwd)(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                               const float *lse, float scale, float *dlogits);

    /* --- optional: device settings and measurement (NULL on the CPU) ----- */
    /* --math: tf32 != 0 allows TF32 in GEMMs and convolutions */
    ops_status (*set_math)(void *ctx, int tf32);
    /* a workspace for the backend's libraries (cuBLAS), handed in from the
     * tracked arena so it is counted like every other byte */
    size_t (*library_workspace_bytes)(void *ctx);
    ops_status (*set_library_workspace)(void *ctx, void *ws, size_t bytes);
    /* --conv-algo find: time the algorithms for this shape and direction with
     * the caller's buffers (x, w, y sized for s; ws of ws_bytes) and keep the
     * fastest whose workspace fits ws_bytes */
    ops_status (*conv_find)(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                            void *ws, size_t ws_bytes);
    /* the chosen convolution algorithm's name and workspace (algos.csv) */
    ops_status (*conv_choice)(void *ctx, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
                              size_t *ws_bytes);
    /* phase and micro-batch changes, for NVTX ranges and CUPTI correlation */
    void (*phase_changed)(void *ctx, ops_phase phase, int micro_batch);
    /* step timing on the device (events on the stream); stop synchronises */
    ops_status (*timer_start)(void *ctx);
    ops_status (*timer_stop)(void *ctx, double *ns);
    /* kernel records of the ops issued in between, delivered at the end */
    ops_status (*profile_begin)(void *ctx);
    ops_status (*profile_end)(void *ctx, const ops_profile_sink *sink);
    ops_status (*device_memory)(void *ctx, ops_device_memory *m);
    void (*device_memory_reset)(void *ctx);
    ops_status (*device_state)(void *ctx, ops_device_state *s);
} ops_backend_i;

/* ---------------------------------------------------------------------------
 * Tracked memory (ops_alloc/ops_free). The accounting is the same whichever
 * source the bytes come from: live bytes count every block rounded to
 * OPS_ALIGN_BYTES, their high-water, and an allocation that would take live
 * bytes over the cap (--mem-limit), or that the source cannot serve, fails
 * with OPS_ERR_OOM like a real device OOM, remembering what was asked.
 * Sources (--allocator):
 * - OPS_ALLOCATOR_ARENA: one reservation (reserve slot), first fit over
 *   address-ordered blocks, coalescing on free; nothing reaches the backend
 *   in timed steps;
 * - OPS_ALLOCATOR_POOL: each block from the backend's pool_alloc slot (the
 *   GPU's stream-ordered pool), so the device's own figures see each one. */
#define OPS_ALIGN_BYTES ((size_t)256)

typedef enum {
    OPS_ALLOCATOR_DEFAULT = 0,  /* pool where the backend has one, else arena */
    OPS_ALLOCATOR_ARENA,
    OPS_ALLOCATOR_POOL,
} ops_allocator;

typedef struct { size_t offset, bytes; int used; } ops_block;

/* a per-allocation source: alloc fails with OPS_ERR_OOM when out of memory */
typedef struct {
    void *ctx;
    ops_status (*alloc)(void *ctx, size_t bytes, void **p);
    void (*free)(void *ctx, void *p);
} ops_alloc_source;

typedef struct { void *ptr; size_t bytes; } ops_live_block;

typedef struct {
    /* accounting, the same for every source */
    size_t cap_bytes;           /* --mem-limit (arena: at most the reservation) */
    size_t live_bytes, high_water_bytes;
    size_t failed_request_bytes; /* last OOM: bytes asked */
    size_t failed_live_bytes;   /* last OOM: live bytes when it was asked (a step frees its
                                 * tensors on the way out, before the OOM is reported) */
    int reserve_failed;         /* the arena's reservation itself failed (failed_request_bytes) */
    /* source: one reservation (OPS_ALLOCATOR_ARENA) */
    char *base;
    size_t capacity_bytes;      /* the reservation; 0 with a per-allocation source */
    ops_block *blocks;
    size_t n_blocks, blocks_cap;
    /* source: per allocation (OPS_ALLOCATOR_POOL); live blocks by address, open addressing */
    ops_alloc_source source;
    ops_live_block *live;
    size_t live_cap, n_live;
} ops_arena;

size_t ops_align(size_t bytes);

/* Observer: every op and allocation of a backend, in issue order. on_op is
 * called before the op is issued and on_op_end after it returns (on the CPU
 * backend ops are synchronous, so the interval is the op's run time). Any
 * callback may be NULL. */
typedef struct {
    void *user;
    void (*on_op)(void *user, const char *op, ops_phase phase, int micro_batch);
    void (*on_op_end)(void *user, const char *op, ops_phase phase, int micro_batch);
    void (*on_mem)(void *user, size_t live_bytes, ops_phase phase, int micro_batch);
} ops_observer;

typedef struct ops_backend {
    const ops_backend_i *i;
    void *ctx;
    ops_arena arena;
    ops_allocator allocator;    /* DEFAULT until the first allocation resolves it */
    size_t untracked_bytes;     /* data reservations, reported as data_bytes */
    ops_phase phase;
    int micro_batch;            /* 1-based index inside the step, 0 outside */
    ops_observer observer;
    double timer_start_ns;      /* default timer: host clock */
} ops_backend;

/* Backend selection: "cpu", "cuda" or "auto" (CUDA when usable). On failure
 * `why` says why; on auto falling back to CPU, `why` says why too. */
ops_status ops_open(ops_backend *b, const char *name, char *why, size_t why_len);
void ops_close(ops_backend *b);
int ops_cuda_compiled(void);
/* the table of a compiled-in backend by name ("cpu", "cuda"), NULL if none:
 * capabilities of a backend named in a profile or a results row */
const ops_backend_i *ops_backend_find(const char *name);
/* the cap an allocation may not cross when --mem-limit is not given */
size_t ops_default_cap_bytes(ops_backend *b);
/* Versions and devices of every backend compiled in, for `accumbench info`
 * (works without a GPU: library versions need no device). json: the members
 * "cpu" and "cuda" (null when not compiled in) of an enclosing object. */
void ops_describe(FILE *f, int json);
/* the last backend error, with call, file and line */
const char *ops_last_error(void);
void ops_set_error(const char *fmt, ...);

/* --allocator: before the first allocation (untracked included); DEFAULT
 * is pool where the backend has pool slots, else arena. Pool on a backend
 * without them, or a choice after the first allocation: OPS_ERR_INVALID,
 * the reason in ops_last_error(). */
ops_status ops_set_allocator(ops_backend *b, ops_allocator a);
/* "arena", "pool"; "default" for OPS_ALLOCATOR_DEFAULT (b->allocator holds
 * what it resolved to once memory is taken) */
const char *ops_allocator_name(ops_allocator a);
/* 0 and *out set for "arena" or "pool", else -1 */
int ops_allocator_parse(const char *name, ops_allocator *out);

/* Arena: reserves capacity_bytes and caps live bytes at cap_bytes (at most
 * the capacity). Pool: reserves nothing (capacity_bytes is ignored) and
 * caps live bytes at cap_bytes. */
ops_status ops_reserve(ops_backend *b, size_t capacity_bytes, size_t cap_bytes);
ops_status ops_alloc(ops_backend *b, size_t bytes, void **out);  /* 0 bytes -> NULL, OK */
void ops_free(ops_backend *b, void *p);                            /* NULL ok */
void ops_reset_high_water(ops_backend *b);
/* memory outside the tracked accounting (synthetic data): pool: from the
 * pool, so the pool's figures include it as CUPTI's do; arena: a
 * reservation of its own */
ops_status ops_alloc_untracked(ops_backend *b, size_t bytes, void **out);
void ops_free_untracked(ops_backend *b, void *p, size_t bytes);

void ops_set_phase(ops_backend *b, ops_phase phase, int micro_batch);

ops_status ops_upload(ops_backend *b, void *dst, const void *src, size_t bytes);
ops_status ops_download(ops_backend *b, void *dst, const void *src, size_t bytes);
ops_status ops_synchronize(ops_backend *b);
size_t ops_conv_workspace_bytes(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir);

ops_status ops_gemm(ops_backend *b, const ops_gemm_desc *d, const float *a, const float *bm, float *c);
ops_status ops_conv2d_fwd(ops_backend *b, const ops_conv_shape *s, const float *x, const float *w,
                          float *y, void *ws, size_t ws_bytes);
ops_status ops_conv2d_bwd_data(ops_backend *b, const ops_conv_shape *s, const float *w, const float *dy,
                               float beta, float *dx, void *ws, size_t ws_bytes);
ops_status ops_conv2d_bwd_filter(ops_backend *b, const ops_conv_shape *s, const float *x, const float *dy,
                                 float *dw, void *ws, size_t ws_bytes);
ops_status ops_batchnorm_fwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *gamma,
                             const float *bias, float *y, float *running_mean, float *running_var,
                             float *save_mean, float *save_invstd);
ops_status ops_batchnorm_bwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *dy,
                             const float *gamma, const float *save_mean, const float *save_invstd,
                             float beta, float *dx, float *dgamma, float *dbias);
ops_status ops_groupnorm_fwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *gamma,
                             const float *bias, float *y, float *save_mean, float *save_rstd);
ops_status ops_groupnorm_bwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *dy,
                             const float *gamma, const float *save_mean, const float *save_rstd,
                             float beta, float *dx, float *dgamma, float *dbias);
ops_status ops_relu_fwd(ops_backend *b, size_t n, const float *x, float *y);
ops_status ops_relu_bwd(ops_backend *b, size_t n, const float *y, const float *dy, float beta, float *dx);
ops_status ops_add(ops_backend *b, size_t n, const float *a, const float *bv, float *y);
ops_status ops_avgpool_fwd(ops_backend *b, int n, int c, int hw, const float *x, float *y);
ops_status ops_avgpool_bwd(ops_backend *b, int n, int c, int hw, const float *dy, float beta, float *dx);
ops_status ops_softmax_xent_fwd(ops_backend *b, int n, int classes, const float *logits,
                                const int32_t *targets, float *probs, float *losses);
ops_status ops_softmax_xent_bwd(ops_backend *b, int n, int classes, const float *probs,
                                const int32_t *targets, float scale, float *dlogits);
ops_status ops_sgd_step(ops_backend *b, size_t n, float *param, const float *grad, float *momentum_buf,
                        const ops_sgd_hparams *h);
ops_status ops_adamw_step(ops_backend *b, size_t n, float *param, const float *grad, float *m, float *v,
                          const ops_adamw_hparams *h);
ops_status ops_fill(ops_backend *b, size_t n, float *x, float value);
ops_status ops_scale(ops_backend *b, size_t n, float *x, float alpha);
ops_status ops_axpy(ops_backend *b, size_t n, float alpha, const float *x, float *y);
ops_status ops_copy(ops_backend *b, size_t n, const float *x, float *y);
/* GPT-2 ops: see the slots */
ops_status ops_embedding_fwd(ops_backend *b, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                             const float *wpe, float *out);
ops_status ops_embedding_bwd(ops_backend *b, int n, int t, int c, int vocab, const int32_t *tokens,
                             const float *dout, float *dwte, float *dwpe);
ops_status ops_layernorm_fwd(ops_backend *b, int rows, int c, float eps, const float *x, const float *weight,
                             const float *bias, float *y, float *save_mean, float *save_rstd);
ops_status ops_layernorm_bwd(ops_backend *b, int rows, int c, const float *x, const float *dy, const float *weight,
                             const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                             float *dbias);
ops_status ops_attention_fwd(ops_backend *b, const ops_attn_shape *s, const float *qkv, float *att, float *out);
ops_status ops_attention_bwd(ops_backend *b, const ops_attn_shape *s, const float *qkv, const float *att,
                             const float *dout, float *datt, float *dqkv);
ops_status ops_gelu_fwd(ops_backend *b, size_t n, const float *x, float *y);
ops_status ops_gelu_bwd(ops_backend *b, size_t n, const float *x, const float *dy, float beta, float *dx);
ops_status ops_xent_lse_fwd(ops_backend *b, int rows, int classes, const float *logits, const int32_t *targets,
                            float scale, float *lse, float *loss);
ops_status ops_xent_lse_bwd(ops_backend *b, int rows, int classes, const float *logits, const int32_t *targets,
                            const float *lse, float scale, float *dlogits);

/* Optional slots: a NULL slot gives the default written beside it. */
ops_status ops_set_math(ops_backend *b, int tf32);                        /* no-op */
ops_status ops_timer_start(ops_backend *b);                               /* host clock */
ops_status ops_timer_stop(ops_backend *b, double *ns);                    /* synchronise, host clock */
size_t ops_library_workspace_bytes(ops_backend *b);                      /* 0 */
ops_status ops_set_library_workspace(ops_backend *b, void *ws, size_t bytes);
int ops_can_find_conv(const ops_backend *b);
ops_status ops_conv_find(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                         void *ws, size_t ws_bytes);
/* OPS_ERR_INVALID when the backend has no algorithm choice (CPU: im2col) */
ops_status ops_conv_choice(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
                           size_t *ws_bytes);
const char *ops_conv_dir_name(ops_conv_dir d);
int ops_can_profile(const ops_backend *b);  /* device kernel records available (else use the observer) */
ops_status ops_profile_begin(ops_backend *b);
ops_status ops_profile_end(ops_backend *b, const ops_profile_sink *sink);
ops_status ops_read_device_memory(ops_backend *b, ops_device_memory *m);     /* all zero, "not a GPU backend" */
void ops_device_memory_reset(ops_backend *b);
ops_status ops_read_device_state(ops_backend *b, ops_device_state *s);       /* !valid */

/* Names of the required slots, for the "no empty slot" check. */
int ops_backend_missing_slot(const ops_backend_i *i, const char **missing);

#ifdef __cplusplus
}
#endif
#endif
