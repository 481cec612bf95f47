/* kernels/ops.c — the ops_* wrappers: dispatch to the backend table, own the
 * tracked memory (arena.c, over the allocator chosen) and report every op and
 * allocation to the observer. */
#include "ops.h"
#include "arena.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static char last_error[512];

const char *ops_last_error(void) { return last_error; }

void ops_set_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
}

const char *ops_phase_name(ops_phase p)
{
    static const char *names[OPS_PHASE_COUNT] = {"other", "forward", "backward", "optimizer", "recompute"};
    return (unsigned)p < OPS_PHASE_COUNT ? names[p] : "?";
}

int ops_conv_out_dim(int in, int r, int stride, int pad) { return (in + 2 * pad - r) / stride + 1; }

ops_conv_shape ops_conv_make(int n, int c, int h, int w, int k, int r, int stride, int pad)
{
    ops_conv_shape s = {n, c, h, w, k, r, stride, pad, ops_conv_out_dim(h, r, stride, pad),
                        ops_conv_out_dim(w, r, stride, pad)};
    return s;
}

void ops_close(ops_backend *b)
{
    if (!b->i) return;
    void *base = b->arena.base;
    size_t capacity = b->arena.capacity_bytes;
    arena_destroy(&b->arena);   /* gives pool blocks back */
    if (base) b->i->release(b->ctx, base, capacity);
    if (b->i->destroy) b->i->destroy(b->ctx);
    memset(b, 0, sizeof *b);
}

// ----------------------------------------------------------------------------
// memory

const char *ops_allocator_name(ops_allocator a)
{
    return a == OPS_ALLOCATOR_ARENA ? "arena" : a == OPS_ALLOCATOR_POOL ? "pool" : "default";
}

int ops_allocator_parse(const char *name, ops_allocator *out)
{
    if (strcmp(name, "arena") == 0) *out = OPS_ALLOCATOR_ARENA;
    else if (strcmp(name, "pool") == 0) *out = OPS_ALLOCATOR_POOL;
    else return -1;
    return 0;
}

static int has_pool(const ops_backend *b) { return b->i->pool_alloc && b->i->pool_free; }

/* the allocator in force; DEFAULT resolves at the first allocation */
static ops_allocator allocator_of(ops_backend *b)
{
    if (b->allocator == OPS_ALLOCATOR_DEFAULT) b->allocator = has_pool(b) ? OPS_ALLOCATOR_POOL : OPS_ALLOCATOR_ARENA;
    return b->allocator;
}

static int memory_taken(const ops_backend *b)
{
    return b->untracked_bytes || b->arena.base || b->arena.source.alloc || b->arena.reserve_failed;
}

ops_status ops_set_allocator(ops_backend *b, ops_allocator a)
{
    if (a == OPS_ALLOCATOR_POOL && !has_pool(b)) {
        ops_set_error("--allocator pool: the %s backend has no device pool (it always uses one reservation)",
                      b->i->name);
        return OPS_ERR_INVALID;
    }
    if (memory_taken(b) && a != b->allocator) {
        ops_set_error("--allocator %s: chosen after memory was taken with %s", ops_allocator_name(a),
                      ops_allocator_name(b->allocator));
        return OPS_ERR_INVALID;
    }
    b->allocator = a;
    return OPS_OK;
}

static void notify_mem(ops_backend *b)
{
    if (b->observer.on_mem) b->observer.on_mem(b->observer.user, b->arena.live_bytes, b->phase, b->micro_batch);
}

ops_status ops_reserve(ops_backend *b, size_t capacity_bytes, size_t cap_bytes)
{
    if (allocator_of(b) == OPS_ALLOCATOR_POOL) {
        ops_alloc_source src = {b->ctx, b->i->pool_alloc, b->i->pool_free};
        return arena_init_source(&b->arena, &src, cap_bytes);
    }
    void *base = NULL;
    capacity_bytes = ops_align(capacity_bytes);
    ops_status st = b->i->reserve(b->ctx, capacity_bytes, &base);
    if (st != OPS_OK) {
        b->arena.failed_request_bytes = capacity_bytes;
        b->arena.reserve_failed = 1;
        return st;
    }
    st = arena_init_reservation(&b->arena, base, capacity_bytes, cap_bytes);
    if (st != OPS_OK) b->i->release(b->ctx, base, capacity_bytes);
    return st;
}

ops_status ops_alloc(ops_backend *b, size_t bytes, void **out)
{
    ops_status st = arena_alloc(&b->arena, bytes, out);
    if (st == OPS_OK && bytes) notify_mem(b);
    return st;
}

void ops_free(ops_backend *b, void *p)
{
    if (arena_free(&b->arena, p)) notify_mem(b);
}

void ops_reset_high_water(ops_backend *b) { arena_reset_high_water(&b->arena); }

ops_status ops_alloc_untracked(ops_backend *b, size_t bytes, void **out)
{
    *out = NULL;
    if (!bytes) return OPS_OK;
    ops_status st = allocator_of(b) == OPS_ALLOCATOR_POOL ? b->i->pool_alloc(b->ctx, bytes, out)
                                                            : b->i->reserve(b->ctx, bytes, out);
    if (st == OPS_OK) b->untracked_bytes += bytes;
    return st;
}

void ops_free_untracked(ops_backend *b, void *p, size_t bytes)
{
    if (!p) return;
    if (allocator_of(b) == OPS_ALLOCATOR_POOL) b->i->pool_free(b->ctx, p);
    else b->i->release(b->ctx, p, bytes);
    b->untracked_bytes -= bytes;
}

void ops_set_phase(ops_backend *b, ops_phase phase, int micro_batch)
{
    if (b->phase == phase && b->micro_batch == micro_batch) return;
    b->phase = phase;
    b->micro_batch = micro_batch;
    if (b->i->phase_changed) b->i->phase_changed(b->ctx, phase, micro_batch);
}

ops_status ops_upload(ops_backend *b, void *dst, const void *src, size_t bytes)
{
    return bytes ? b->i->upload(b->ctx, dst, src, bytes) : OPS_OK;
}

ops_status ops_download(ops_backend *b, void *dst, const void *src, size_t bytes)
{
    return bytes ? b->i->download(b->ctx, dst, src, bytes) : OPS_OK;
}

ops_status ops_synchronize(ops_backend *b) { return b->i->synchronize ? b->i->synchronize(b->ctx) : OPS_OK; }

size_t ops_default_cap_bytes(ops_backend *b)
{
    return b->i->default_cap_bytes ? b->i->default_cap_bytes(b->ctx) : SIZE_MAX;
}

size_t ops_conv_workspace_bytes(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir)
{
    return b->i->conv_workspace_bytes(b->ctx, s, dir);
}

// ----------------------------------------------------------------------------
// compute: notify, then dispatch

#define OPS_DISPATCH(slot, ...)                                                        \
    do {                                                                               \
        const ops_observer *o_ = &b->observer;                                         \
        if (o_->on_op) o_->on_op(o_->user, #slot, b->phase, b->micro_batch);           \
        ops_status st_ = b->i->slot(b->ctx, __VA_ARGS__);                              \
        if (o_->on_op_end) o_->on_op_end(o_->user, #slot, b->phase, b->micro_batch);   \
        return st_;                                                                    \
    } while (0)

ops_status ops_gemm(ops_backend *b, const ops_gemm_desc *d, const float *a, const float *bm, float *c)
{ OPS_DISPATCH(gemm, d, a, bm, c); }

ops_status ops_conv2d_fwd(ops_backend *b, const ops_conv_shape *s, const float *x, const float *w,
                          float *y, void *ws, size_t ws_bytes)
{ OPS_DISPATCH(conv2d_fwd, s, x, w, y, ws, ws_bytes); }

ops_status ops_conv2d_bwd_data(ops_backend *b, const ops_conv_shape *s, const float *w, const float *dy,
                               float beta, float *dx, void *ws, size_t ws_bytes)
{ OPS_DISPATCH(conv2d_bwd_data, s, w, dy, beta, dx, ws, ws_bytes); }

ops_status ops_conv2d_bwd_filter(ops_backend *b, const ops_conv_shape *s, const float *x, const float *dy,
                                 float *dw, void *ws, size_t ws_bytes)
{ OPS_DISPATCH(conv2d_bwd_filter, s, x, dy, dw, ws, ws_bytes); }

ops_status ops_batchnorm_fwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *gamma,
                             const float *bias, float *y, float *running_mean, float *running_var,
                             float *save_mean, float *save_invstd)
{ OPS_DISPATCH(batchnorm_fwd, s, x, gamma, bias, y, running_mean, running_var, save_mean, save_invstd); }

ops_status ops_batchnorm_bwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *dy,
                             const float *gamma, const float *save_mean, const float *save_invstd,
                             float beta, float *dx, float *dgamma, float *dbias)
{ OPS_DISPATCH(batchnorm_bwd, s, x, dy, gamma, save_mean, save_invstd, beta, dx, dgamma, dbias); }

ops_status ops_groupnorm_fwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *gamma,
                             const float *bias, float *y, float *save_mean, float *save_rstd)
{ OPS_DISPATCH(groupnorm_fwd, s, x, gamma, bias, y, save_mean, save_rstd); }

ops_status ops_groupnorm_bwd(ops_backend *b, const ops_norm_shape *s, const float *x, const float *dy,
                             const float *gamma, const float *save_mean, const float *save_rstd,
                             float beta, float *dx, float *dgamma, float *dbias)
{ OPS_DISPATCH(groupnorm_bwd, s, x, dy, gamma, save_mean, save_rstd, beta, dx, dgamma, dbias); }

ops_status ops_relu_fwd(ops_backend *b, size_t n, const float *x, float *y)
{ OPS_DISPATCH(relu_fwd, n, x, y); }

ops_status ops_relu_bwd(ops_backend *b, size_t n, const float *y, const float *dy, float beta, float *dx)
{ OPS_DISPATCH(relu_bwd, n, y, dy, beta, dx); }

ops_status ops_add(ops_backend *b, size_t n, const float *a, const float *bv, float *y)
{ OPS_DISPATCH(add, n, a, bv, y); }

ops_status ops_avgpool_fwd(ops_backend *b, int n, int c, int hw, const float *x, float *y)
{ OPS_DISPATCH(avgpool_fwd, n, c, hw, x, y); }

ops_status ops_avgpool_bwd(ops_backend *b, int n, int c, int hw, const float *dy, float beta, float *dx)
{ OPS_DISPATCH(avgpool_bwd, n, c, hw, dy, beta, dx); }

ops_status ops_softmax_xent_fwd(ops_backend *b, int n, int classes, const float *logits,
                                const int32_t *targets, float *probs, float *losses)
{ OPS_DISPATCH(softmax_xent_fwd, n, classes, logits, targets, probs, losses); }

ops_status ops_softmax_xent_bwd(ops_backend *b, int n, int classes, const float *probs,
                                const int32_t *targets, float scale, float *dlogits)
{ OPS_DISPATCH(softmax_xent_bwd, n, classes, probs, targets, scale, dlogits); }

ops_status ops_sgd_step(ops_backend *b, size_t n, float *param, const float *grad, float *momentum_buf,
                        const ops_sgd_hparams *h)
{ OPS_DISPATCH(sgd_step, n, param, grad, momentum_buf, h); }

ops_status ops_adamw_step(ops_backend *b, size_t n, float *param, const float *grad, float *m, float *v,
                          const ops_adamw_hparams *h)
{ OPS_DISPATCH(adamw_step, n, param, grad, m, v, h); }

ops_status ops_fill(ops_backend *b, size_t n, float *x, float value) { OPS_DISPATCH(fill, n, x, value); }

ops_status ops_scale(ops_backend *b, size_t n, float *x, float alpha) { OPS_DISPATCH(scale, n, x, alpha); }

ops_status ops_axpy(ops_backend *b, size_t n, float alpha, const float *x, float *y)
{ OPS_DISPATCH(axpy, n, alpha, x, y); }

ops_status ops_copy(ops_backend *b, size_t n, const float *x, float *y) { OPS_DISPATCH(copy, n, x, y); }

// ----------------------------------------------------------------------------
// GPT-2 ops

const char *ops_attn_shape_problem(const ops_attn_shape *s)
{
    if (s->n < 0 || s->t < 1 || s->c < 1 || s->heads < 1) return "attention: n must be >= 0, t, c, heads >= 1";
    if (s->c % s->heads != 0) return "attention: c must be divisible by heads";
    /* qkv's row stride 3c and a score row block t*t are int in BLAS calls */
    if (s->c > INT_MAX / 3 || s->t > INT_MAX / s->t) return "attention: 3c or t*t over INT_MAX";
    return NULL;
}

ops_status ops_embedding_fwd(ops_backend *b, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                             const float *wpe, float *out)
{ OPS_DISPATCH(embedding_fwd, n, t, c, vocab, tokens, wte, wpe, out); }

ops_status ops_embedding_bwd(ops_backend *b, int n, int t, int c, int vocab, const int32_t *tokens,
                             const float *dout, float *dwte, float *dwpe)
{ OPS_DISPATCH(embedding_bwd, n, t, c, vocab, tokens, dout, dwte, dwpe); }

ops_status ops_layernorm_fwd(ops_backend *b, int rows, int c, float eps, const float *x, const float *weight,
                             const float *bias, float *y, float *save_mean, float *save_rstd)
{ OPS_DISPATCH(layernorm_fwd, rows, c, eps, x, weight, bias, y, save_mean, save_rstd); }

ops_status ops_layernorm_bwd(ops_backend *b, int rows, int c, const float *x, const float *dy, const float *weight,
                             const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                             float *dbias)
{ OPS_DISPATCH(layernorm_bwd, rows, c, x, dy, weight, save_mean, save_rstd, beta, dx, dweight, dbias); }

ops_status ops_attention_fwd(ops_backend *b, const ops_attn_shape *s, const float *qkv, float *att, float *out)
{ OPS_DISPATCH(attention_fwd, s, qkv, att, out); }

ops_status ops_attention_bwd(ops_backend *b, const ops_attn_shape *s, const float *qkv, const float *att,
                             const float *dout, float *datt, float *dqkv)
{ OPS_DISPATCH(attention_bwd, s, qkv, att, dout, datt, dqkv); }

ops_status ops_gelu_fwd(ops_backend *b, size_t n, const float *x, float *y) { OPS_DISPATCH(gelu_fwd, n, x, y); }

ops_status ops_gelu_bwd(ops_backend *b, size_t n, const float *x, const float *dy, float beta, float *dx)
{ OPS_DISPATCH(gelu_bwd, n, x, dy, beta, dx); }

ops_status ops_xent_lse_fwd(ops_backend *b, int rows, int classes, const float *logits, const int32_t *targets,
                            float scale, float *lse, float *loss)
{ OPS_DISPATCH(xent_lse_fwd, rows, classes, logits, targets, scale, lse, loss); }

ops_status ops_xent_lse_bwd(ops_backend *b, int rows, int classes, const float *logits, const int32_t *targets,
                            const float *lse, float scale, float *dlogits)
{ OPS_DISPATCH(xent_lse_bwd, rows, classes, logits, targets, lse, scale, dlogits); }

// ----------------------------------------------------------------------------
// optional slots and their defaults

ops_status ops_set_math(ops_backend *b, int tf32) { return b->i->set_math ? b->i->set_math(b->ctx, tf32) : OPS_OK; }

static double host_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

ops_status ops_timer_start(ops_backend *b)
{
    if (b->i->timer_start) return b->i->timer_start(b->ctx);
    b->timer_start_ns = host_now_ns();
    return OPS_OK;
}

ops_status ops_timer_stop(ops_backend *b, double *ns)
{
    if (b->i->timer_stop) return b->i->timer_stop(b->ctx, ns);
    ops_status st = ops_synchronize(b);
    *ns = host_now_ns() - b->timer_start_ns;
    return st;
}

size_t ops_library_workspace_bytes(ops_backend *b)
{
    return b->i->library_workspace_bytes ? b->i->library_workspace_bytes(b->ctx) : 0;
}

ops_status ops_set_library_workspace(ops_backend *b, void *ws, size_t bytes)
{
    return b->i->set_library_workspace ? b->i->set_library_workspace(b->ctx, ws, bytes) : OPS_OK;
}

int ops_can_find_conv(const ops_backend *b) { return b->i->conv_find != NULL; }

ops_status ops_conv_find(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir, float *x, float *w, float *y,
                         void *ws, size_t ws_bytes)
{
    return b->i->conv_find ? b->i->conv_find(b->ctx, s, dir, x, w, y, ws, ws_bytes) : OPS_ERR_INVALID;
}

ops_status ops_conv_choice(ops_backend *b, const ops_conv_shape *s, ops_conv_dir dir, char *algo, size_t algo_len,
                           size_t *ws_bytes)
{
    return b->i->conv_choice ? b->i->conv_choice(b->ctx, s, dir, algo, algo_len, ws_bytes) : OPS_ERR_INVALID;
}

const char *ops_conv_dir_name(ops_conv_dir d)
{
    static const char *names[OPS_CONV_DIR_COUNT] = {"forward", "backward_data", "backward_filter"};
    return (unsigned)d < OPS_CONV_DIR_COUNT ? names[d] : "?";
}

int ops_can_profile(const ops_backend *b) { return b->i->profile_begin && b->i->profile_end; }

ops_status ops_profile_begin(ops_backend *b) { return ops_can_profile(b) ? b->i->profile_begin(b->ctx) : OPS_ERR_INVALID; }

ops_status ops_profile_end(ops_backend *b, const ops_profile_sink *sink)
{
    return ops_can_profile(b) ? b->i->profile_end(b->ctx, sink) : OPS_ERR_INVALID;
}

ops_status ops_read_device_memory(ops_backend *b, ops_device_memory *m)
{
    memset(m, 0, sizeof *m);
    if (b->i->device_memory) return b->i->device_memory(b->ctx, m);
    snprintf(m->device_why, sizeof m->device_why, "not a GPU backend");
    return OPS_OK;
}

void ops_device_memory_reset(ops_backend *b)
{
    if (b->i->device_memory_reset) b->i->device_memory_reset(b->ctx);
}

ops_status ops_read_device_state(ops_backend *b, ops_device_state *s)
{
    memset(s, 0, sizeof *s);
    if (b->i->device_state) return b->i->device_state(b->ctx, s);
    snprintf(s->why, sizeof s->why, "not a GPU backend");
    return OPS_OK;
}

// ----------------------------------------------------------------------------

int ops_backend_missing_slot(const ops_backend_i *i, const char **missing)
{
#define REQUIRE(slot) if (!i->slot) { *missing = #slot; return 1; }
    REQUIRE(name) REQUIRE(reserve) REQUIRE(release) REQUIRE(upload) REQUIRE(download)
    REQUIRE(conv_workspace_bytes) REQUIRE(gemm) REQUIRE(conv2d_fwd) REQUIRE(conv2d_bwd_data)
    REQUIRE(conv2d_bwd_filter) REQUIRE(batchnorm_fwd) REQUIRE(batchnorm_bwd) REQUIRE(groupnorm_fwd)
    REQUIRE(groupnorm_bwd) REQUIRE(relu_fwd) REQUIRE(relu_bwd) REQUIRE(add) REQUIRE(avgpool_fwd)
    REQUIRE(avgpool_bwd) REQUIRE(softmax_xent_fwd) REQUIRE(softmax_xent_bwd) REQUIRE(sgd_step)
    REQUIRE(adamw_step) REQUIRE(fill) REQUIRE(scale) REQUIRE(axpy) REQUIRE(copy)
    REQUIRE(embedding_fwd) REQUIRE(embedding_bwd) REQUIRE(layernorm_fwd) REQUIRE(layernorm_bwd) REQUIRE(attention_fwd)
    REQUIRE(attention_bwd) REQUIRE(gelu_fwd) REQUIRE(gelu_bwd) REQUIRE(xent_lse_fwd) REQUIRE(xent_lse_bwd)
#undef REQUIRE
    *missing = NULL;
    return 0;
}
