/* kernels/cpu/cpu_transformer.c — the CPU backend's GPT-2 ops: token and
 * position embedding, LayerNorm, causal self-attention (OpenBLAS SGEMM per
 * (sample, head)), GELU and the cross-entropy over a vocabulary that saves
 * logsumexp instead of probabilities. Element formulas come from
 * kernels/common/transformer_math.h (shared with the CUDA backend); row
 * reductions accumulate in double, so this is the more accurate side of
 * every comparison.
 *
 * Conventions are those of ops.h: parameter gradients are added into;
 * activation gradients paired with `beta` are assigned when beta == 0
 * (never read, they may hold NaN) and added into otherwise. Each op splits
 * into item ranges on the backend's threads (see tf_run), and every item is
 * computed whole by one task, so results are bitwise the same at any thread
 * count. */
#include "cpu_transformer.h"
#include "cpu_pool.h"
#include "common/transformer_math.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>

// ----------------------------------------------------------------------------
// splitting and row sums

/* An op touching fewer values than this (~20 us on one core) runs on the
 * calling thread: waking the others costs about as much. */
#define TF_SPLIT_MIN_VALUES ((size_t)1 << 15)

typedef void (*tf_range_fn)(const void *call, size_t lo, size_t hi);

typedef struct {
    tf_range_fn fn;
    const void *call;
    size_t items, per;
} tf_region;

static void tf_region_task(void *arg, int task, int thread)
{
    (void)thread;
    const tf_region *r = arg;
    const size_t lo = (size_t)task * r->per, hi = lo + r->per < r->items ? lo + r->per : r->items;
    r->fn(r->call, lo, hi);
}

/* fn over [0, items) as contiguous ranges, one per thread (at most) */
static void tf_run(void *ctx, size_t items, size_t values, tf_range_fn fn, const void *call)
{
    if (!items) return;
    const size_t threads = (size_t)cpu_pool_threads(ctx);
    const size_t tasks = values < TF_SPLIT_MIN_VALUES ? 1 : threads < items ? threads : items;
    tf_region r = {fn, call, items, (items + tasks - 1) / tasks};
    cpu_pool_run(ctx, (int)((items + r.per - 1) / r.per), tf_region_task, &r);
}

/* Double sums over TF_LANES independent partials: they break the add
 * latency chain and let the compiler vectorise, which a plain FP reduction
 * loop never is without -ffast-math. */
#define TF_LANES 8

static double lanes_total(const double acc[TF_LANES])
{
    double s = 0.0;
    for (int l = 0; l < TF_LANES; l++) s += acc[l];
    return s;
}

static double row_sum(const float *x, size_t n)
{
    double acc[TF_LANES] = {0};
    size_t e = 0;
    for (; e + TF_LANES <= n; e += TF_LANES)
        for (int l = 0; l < TF_LANES; l++) acc[l] += x[e + l];
    for (; e < n; e++) acc[0] += x[e];
    return lanes_total(acc);
}

static double row_sq_dev(const float *x, size_t n, double mu)
{
    double acc[TF_LANES] = {0};
    size_t e = 0;
    for (; e + TF_LANES <= n; e += TF_LANES)
        for (int l = 0; l < TF_LANES; l++) acc[l] += (x[e + l] - mu) * (x[e + l] - mu);
    for (; e < n; e++) acc[0] += (x[e] - mu) * (x[e] - mu);
    return lanes_total(acc);
}

static double row_dot(const float *a, const float *b, size_t n)
{
    double acc[TF_LANES] = {0};
    size_t e = 0;
    for (; e + TF_LANES <= n; e += TF_LANES)
        for (int l = 0; l < TF_LANES; l++) acc[l] += (double)a[e + l] * b[e + l];
    for (; e < n; e++) acc[0] += (double)a[e] * b[e];
    return lanes_total(acc);
}

static ops_status indices_check(const char *op, const char *what, size_t count, int range, const int32_t *v)
{
    for (size_t i = 0; i < count; i++)
        if (v[i] < 0 || v[i] >= range) {
            ops_set_error("%s: %s[%zu] = %d outside [0, %d)", op, what, i, (int)v[i], range);
            return OPS_ERR_INVALID;
        }
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// embedding

typedef struct {
    size_t positions, t, c;
    const int32_t *tokens;
    const float *wte, *wpe, *dout;
    float *out, *dwte, *dwpe;
} embed_call;

static ops_status embed_check(const char *op, int n, int t, int c, int vocab, const int32_t *tokens)
{
    if (n < 0 || t < 1 || c < 1 || vocab < 1) {
        ops_set_error("%s: bad shape n=%d t=%d c=%d vocab=%d", op, n, t, c, vocab);
        return OPS_ERR_INVALID;
    }
    return indices_check(op, "tokens", (size_t)n * t, vocab, tokens);
}

static void embed_fwd_range(const void *arg, size_t lo, size_t hi)
{
    const embed_call *e = arg;
    for (size_t p = lo; p < hi; p++) {
        const float *te = e->wte + (size_t)e->tokens[p] * e->c, *pe = e->wpe + (p % e->t) * e->c;
        float *o = e->out + p * e->c;
        for (size_t j = 0; j < e->c; j++) o[j] = te[j] + pe[j];
    }
}

ops_status cpu_embedding_fwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *wte,
                             const float *wpe, float *out)
{
    ops_status st = embed_check("embedding_fwd", n, t, c, vocab, tokens);
    if (st != OPS_OK) return st;
    embed_call e = {.positions = (size_t)n * t, .t = (size_t)t, .c = (size_t)c, .tokens = tokens, .wte = wte,
                    .wpe = wpe, .out = out};
    tf_run(ctx, e.positions, e.positions * e.c, embed_fwd_range, &e);
    return OPS_OK;
}

/* Channels per block of the column sums below (double accumulators on the
 * stack, one cache line of floats wide x 4). */
#define TF_COL_BLOCK 64

/* Channels [lo, hi) of both gradients: every position in order, so each
 * element's sum has one order whatever the split. dwte takes each position
 * as it comes (tokens repeat at any distance); dwpe sums the samples in
 * double and adds once. */
static void embed_bwd_range(const void *arg, size_t lo, size_t hi)
{
    const embed_call *e = arg;
    for (size_t p = 0; p < e->positions; p++) {
        float *dst = e->dwte + (size_t)e->tokens[p] * e->c;
        const float *src = e->dout + p * e->c;
        for (size_t j = lo; j < hi; j++) dst[j] += src[j];
    }
    const size_t samples = e->positions / e->t;
    for (size_t pos = 0; pos < e->t; pos++)
        for (size_t j0 = lo; j0 < hi; j0 += TF_COL_BLOCK) {
            const size_t w = hi - j0 < TF_COL_BLOCK ? hi - j0 : TF_COL_BLOCK;
            double acc[TF_COL_BLOCK] = {0};
            for (size_t b = 0; b < samples; b++) {
                const float *src = e->dout + (b * e->t + pos) * e->c + j0;
                for (size_t j = 0; j < w; j++) acc[j] += src[j];
            }
            float *dst = e->dwpe + pos * e->c + j0;
            for (size_t j = 0; j < w; j++) dst[j] += (float)acc[j];
        }
}

ops_status cpu_embedding_bwd(void *ctx, int n, int t, int c, int vocab, const int32_t *tokens, const float *dout,
                             float *dwte, float *dwpe)
{
    ops_status st = embed_check("embedding_bwd", n, t, c, vocab, tokens);
    if (st != OPS_OK) return st;
    embed_call e = {.positions = (size_t)n * t, .t = (size_t)t, .c = (size_t)c, .tokens = tokens, .dout = dout,
                    .dwte = dwte, .dwpe = dwpe};
    tf_run(ctx, e.c, e.positions * e.c, embed_bwd_range, &e);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// LayerNorm: rows of c, statistics saved per row (rows)

typedef struct {
    size_t rows, c;
    float eps, beta;
    const float *x, *dy, *weight, *bias, *mean_in, *rstd_in;
    float *y, *mean, *rstd, *dx, *dweight, *dbias;
} ln_call;

static ops_status ln_check(const char *op, int rows, int c)
{
    if (rows < 0 || c < 1) {
        ops_set_error("%s: bad shape rows=%d c=%d", op, rows, c);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

/* two passes (mean, then centred squares) in double: no cancellation */
static void ln_fwd_range(const void *arg, size_t lo, size_t hi)
{
    const ln_call *l = arg;
    for (size_t r = lo; r < hi; r++) {
        const float *x = l->x + r * l->c;
        const double mu = row_sum(x, l->c) / (double)l->c;
        const float m = (float)mu, rstd = ab_norm_rstd((float)(row_sq_dev(x, l->c, mu) / (double)l->c), l->eps);
        l->mean[r] = m;
        l->rstd[r] = rstd;
        float *y = l->y + r * l->c;
        for (size_t j = 0; j < l->c; j++) y[j] = ab_norm_apply(x[j], m, rstd, l->weight[j], l->bias[j]);
    }
}

ops_status cpu_layernorm_fwd(void *ctx, int rows, int c, float eps, const float *x, const float *weight,
                             const float *bias, float *y, float *save_mean, float *save_rstd)
{
    ops_status st = ln_check("layernorm_fwd", rows, c);
    if (st != OPS_OK) return st;
    ln_call l = {.rows = (size_t)rows, .c = (size_t)c, .eps = eps, .x = x, .weight = weight, .bias = bias, .y = y,
                 .mean = save_mean, .rstd = save_rstd};
    tf_run(ctx, l.rows, l.rows * l.c, ln_fwd_range, &l);
    return OPS_OK;
}

/* dx of each row: S1 = sum(dy*w), S2 = sum(dy*w*xhat) (ab_norm_dx). A row
 * reads all of its dy before writing dx, so dx may alias dy. */
static void ln_bwd_dx_range(const void *arg, size_t lo, size_t hi)
{
    const ln_call *l = arg;
    for (size_t r = lo; r < hi; r++) {
        const float *x = l->x + r * l->c, *dy = l->dy + r * l->c;
        const float m = l->mean_in[r], rstd = l->rstd_in[r];
        double acc1[TF_LANES] = {0}, acc2[TF_LANES] = {0};
        size_t j = 0;
        for (; j + TF_LANES <= l->c; j += TF_LANES)
            for (int k = 0; k < TF_LANES; k++) {
                double dyw = (double)dy[j + k] * l->weight[j + k];
                acc1[k] += dyw;
                acc2[k] += dyw * ((x[j + k] - m) * rstd);
            }
        for (; j < l->c; j++) {
            double dyw = (double)dy[j] * l->weight[j];
            acc1[0] += dyw;
            acc2[0] += dyw * ((x[j] - m) * rstd);
        }
        const float mean_dyw = (float)(lanes_total(acc1) / (double)l->c);
        const float mean_dyw_xhat = (float)(lanes_total(acc2) / (double)l->c);
        float *dx = l->dx + r * l->c;
        for (j = 0; j < l->c; j++)
            dx[j] = ab_store(l->beta, dx[j],
                             ab_norm_dx(dy[j], l->weight[j], (x[j] - m) * rstd, rstd, mean_dyw, mean_dyw_xhat));
    }
}

/* dweight, dbias of channels [lo, hi): every row in order, in double */
static void ln_bwd_param_range(const void *arg, size_t lo, size_t hi)
{
    const ln_call *l = arg;
    for (size_t j0 = lo; j0 < hi; j0 += TF_COL_BLOCK) {
        const size_t w = hi - j0 < TF_COL_BLOCK ? hi - j0 : TF_COL_BLOCK;
        double dw[TF_COL_BLOCK] = {0}, db[TF_COL_BLOCK] = {0};
        for (size_t r = 0; r < l->rows; r++) {
            const float *x = l->x + r * l->c + j0, *dy = l->dy + r * l->c + j0;
            const float m = l->mean_in[r], rstd = l->rstd_in[r];
            for (size_t j = 0; j < w; j++) {
                dw[j] += (double)dy[j] * ((x[j] - m) * rstd);
                db[j] += dy[j];
            }
        }
        for (size_t j = 0; j < w; j++) {
            l->dweight[j0 + j] += (float)dw[j];
            l->dbias[j0 + j] += (float)db[j];
        }
    }
}

ops_status cpu_layernorm_bwd(void *ctx, int rows, int c, const float *x, const float *dy, const float *weight,
                             const float *save_mean, const float *save_rstd, float beta, float *dx, float *dweight,
                             float *dbias)
{
    ops_status st = ln_check("layernorm_bwd", rows, c);
    if (st != OPS_OK) return st;
    ln_call l = {.rows = (size_t)rows, .c = (size_t)c, .beta = beta, .x = x, .dy = dy, .weight = weight,
                 .mean_in = save_mean, .rstd_in = save_rstd, .dx = dx, .dweight = dweight, .dbias = dbias};
    /* parameter gradients first: they read dy, which dx may alias */
    tf_run(ctx, l.c, l.rows * l.c, ln_bwd_param_range, &l);
    tf_run(ctx, l.rows, l.rows * l.c, ln_bwd_dx_range, &l);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// causal self-attention: one (sample, head) per item, OpenBLAS on one thread

typedef struct {
    const ops_attn_shape *s;
    const float *qkv, *att_in, *dout;
    float *att, *out, *datt, *dqkv;
} attn_call;

/* softmax of query row i over keys j <= i in place; keys j > i get 0 */
static void causal_softmax_row(float *row, int i, int t)
{
    float mx = row[0];
    for (int j = 1; j <= i; j++) mx = row[j] > mx ? row[j] : mx;
    double sum = 0.0;
    for (int j = 0; j <= i; j++) sum += expf(row[j] - mx);
    const float inv = (float)(1.0 / sum);
    for (int j = 0; j < t; j++) row[j] = ab_causal_visible(i, j) ? ab_softmax_prob(row[j], mx, inv) : 0.0f;
}

/* dp (row of datt) becomes the score gradient, 0 above the diagonal */
static void causal_softmax_bwd_row(const float *p, float *dp, int i, int t)
{
    const float dot = (float)row_dot(p, dp, (size_t)i + 1);
    for (int j = 0; j < t; j++) dp[j] = ab_causal_visible(i, j) ? ab_softmax_grad(p[j], dp[j], dot) : 0.0f;
}

/* the scale 1/sqrt(head size), as the CUDA backend's description */
static float attn_scale(const ops_attn_shape *s) { return 1.0f / sqrtf((float)(s->c / s->heads)); }

static void attn_fwd_range(const void *arg, size_t lo, size_t hi)
{
    const attn_call *a = arg;
    const int t = a->s->t, c = a->s->c, heads = a->s->heads, hs = c / heads;
    const float scale = attn_scale(a->s);
    for (size_t bh = lo; bh < hi; bh++) {
        const size_t b = bh / (size_t)heads, h = bh % (size_t)heads;
        const float *q = a->qkv + b * t * 3 * c + h * hs, *k = q + c, *v = q + 2 * c;
        float *p = a->att + bh * t * t, *o = a->out + b * t * c + h * hs;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hs, scale, q, 3 * c, k, 3 * c, 0.0f, p, t);
        for (int i = 0; i < t; i++) causal_softmax_row(p + (size_t)i * t, i, t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hs, t, 1.0f, p, t, v, 3 * c, 0.0f, o, c);
    }
}

static ops_status attn_check(const char *op, const ops_attn_shape *s)
{
    const char *problem = ops_attn_shape_problem(s);
    if (!problem) return OPS_OK;
    ops_set_error("%s: %s (n=%d t=%d c=%d heads=%d)", op, problem, s->n, s->t, s->c, s->heads);
    return OPS_ERR_INVALID;
}

static size_t attn_values(const ops_attn_shape *s)
{
    return (size_t)s->n * s->heads * s->t * s->t * (size_t)(s->c / s->heads);
}

ops_status cpu_attention_fwd(void *ctx, const ops_attn_shape *s, const float *qkv, float *att, float *out)
{
    ops_status st = attn_check("attention_fwd", s);
    if (st != OPS_OK) return st;
    attn_call a = {.s = s, .qkv = qkv, .att = att, .out = out};
    tf_run(ctx, (size_t)s->n * s->heads, attn_values(s), attn_fwd_range, &a);
    return OPS_OK;
}

/* dv = p^T dout; dp = dout v^T; ds = softmax backward of dp; dq = scale ds k;
 * dk = scale ds^T q (all assigned, beta 0) */
static void attn_bwd_range(const void *arg, size_t lo, size_t hi)
{
    const attn_call *a = arg;
    const int t = a->s->t, c = a->s->c, heads = a->s->heads, hs = c / heads;
    const float scale = attn_scale(a->s);
    for (size_t bh = lo; bh < hi; bh++) {
        const size_t b = bh / (size_t)heads, h = bh % (size_t)heads;
        const float *q = a->qkv + b * t * 3 * c + h * hs, *k = q + c, *v = q + 2 * c;
        const float *p = a->att_in + bh * t * t, *dout = a->dout + b * t * c + h * hs;
        float *dq = a->dqkv + b * t * 3 * c + h * hs, *dk = dq + c, *dv = dq + 2 * c, *dp = a->datt + bh * t * t;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, hs, t, 1.0f, p, t, dout, c, 0.0f, dv, 3 * c);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, t, hs, 1.0f, dout, c, v, 3 * c, 0.0f, dp, t);
        for (int i = 0; i < t; i++) causal_softmax_bwd_row(p + (size_t)i * t, dp + (size_t)i * t, i, t);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, hs, t, scale, dp, t, k, 3 * c, 0.0f, dq, 3 * c);
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, t, hs, t, scale, dp, t, q, 3 * c, 0.0f, dk, 3 * c);
    }
}

ops_status cpu_attention_bwd(void *ctx, const ops_attn_shape *s, const float *qkv, const float *att,
                             const float *dout, float *datt, float *dqkv)
{
    ops_status st = attn_check("attention_bwd", s);
    if (st != OPS_OK) return st;
    attn_call a = {.s = s, .qkv = qkv, .att_in = att, .dout = dout, .datt = datt, .dqkv = dqkv};
    tf_run(ctx, (size_t)s->n * s->heads, attn_values(s), attn_bwd_range, &a);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// GELU (tanh approximation)

typedef struct {
    float beta;
    const float *x, *dy;
    float *y, *dx;
} gelu_call;

static void gelu_fwd_range(const void *arg, size_t lo, size_t hi)
{
    const gelu_call *g = arg;
    for (size_t i = lo; i < hi; i++) g->y[i] = ab_gelu(g->x[i]);
}

static void gelu_bwd_range(const void *arg, size_t lo, size_t hi)
{
    const gelu_call *g = arg;
    for (size_t i = lo; i < hi; i++) g->dx[i] = ab_store(g->beta, g->dx[i], ab_gelu_grad(g->x[i], g->dy[i]));
}

ops_status cpu_gelu_fwd(void *ctx, size_t n, const float *x, float *y)
{
    gelu_call g = {.x = x, .y = y};
    tf_run(ctx, n, n, gelu_fwd_range, &g);
    return OPS_OK;
}

ops_status cpu_gelu_bwd(void *ctx, size_t n, const float *x, const float *dy, float beta, float *dx)
{
    gelu_call g = {.beta = beta, .x = x, .dy = dy, .dx = dx};
    tf_run(ctx, n, n, gelu_bwd_range, &g);
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// cross-entropy over rows of `classes` logits, logsumexp saved

typedef struct {
    size_t classes;
    float scale;
    const float *logits, *lse_in;
    const int32_t *targets;
    float *lse, *dlogits;
} xent_call;

static ops_status xent_check(const char *op, int rows, int classes, const int32_t *targets)
{
    if (rows < 0 || classes < 1) {
        ops_set_error("%s: bad shape rows=%d classes=%d", op, rows, classes);
        return OPS_ERR_INVALID;
    }
    return indices_check(op, "targets", (size_t)rows, classes, targets);
}

/* max, then the sum of exp(x - max) in double */
static void xent_lse_range(const void *arg, size_t lo, size_t hi)
{
    const xent_call *x = arg;
    for (size_t r = lo; r < hi; r++) {
        const float *row = x->logits + r * x->classes;
        float mx = row[0];
        for (size_t j = 1; j < x->classes; j++) mx = row[j] > mx ? row[j] : mx;
        double acc[TF_LANES] = {0};
        size_t j = 0;
        for (; j + TF_LANES <= x->classes; j += TF_LANES)
            for (int l = 0; l < TF_LANES; l++) acc[l] += expf(row[j + l] - mx);
        for (; j < x->classes; j++) acc[0] += expf(row[j] - mx);
        x->lse[r] = (float)((double)mx + log(lanes_total(acc)));
    }
}

ops_status cpu_xent_lse_fwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                            float scale, float *lse, float *loss)
{
    ops_status st = xent_check("xent_lse_fwd", rows, classes, targets);
    if (st != OPS_OK) return st;
    xent_call x = {.classes = (size_t)classes, .logits = logits, .lse = lse};
    tf_run(ctx, (size_t)rows, (size_t)rows * x.classes, xent_lse_range, &x);
    double sum = 0.0; /* rows in order */
    for (size_t r = 0; r < (size_t)rows; r++) sum += (double)lse[r] - logits[r * x.classes + (size_t)targets[r]];
    *loss = (float)(scale * sum);
    return OPS_OK;
}

/* each element is read, then written, by one task: dlogits may be logits */
static void xent_bwd_range(const void *arg, size_t lo, size_t hi)
{
    const xent_call *x = arg;
    for (size_t r = lo; r < hi; r++) {
        const float *row = x->logits + r * x->classes;
        float *d = x->dlogits + r * x->classes;
        const float lse = x->lse_in[r];
        const size_t target = (size_t)x->targets[r];
        for (size_t j = 0; j < x->classes; j++) d[j] = ab_xent_grad(row[j], lse, j == target, x->scale);
    }
}

ops_status cpu_xent_lse_bwd(void *ctx, int rows, int classes, const float *logits, const int32_t *targets,
                            const float *lse, float scale, float *dlogits)
{
    ops_status st = xent_check("xent_lse_bwd", rows, classes, targets);
    if (st != OPS_OK) return st;
    xent_call x = {.classes = (size_t)classes, .scale = scale, .logits = logits, .lse_in = lse, .targets = targets,
                   .dlogits = dlogits};
    tf_run(ctx, (size_t)rows, (size_t)rows * x.classes, xent_bwd_range, &x);
    return OPS_OK;
}
