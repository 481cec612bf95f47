/* tests/test_ops_transformer.c — the GPT-2 ops of ops.h (embedding,
 * LayerNorm, causal attention, GELU, cross-entropy with logsumexp) on the
 * CPU backend, through the public ops_* wrappers:
 * - forward outputs against naive double-precision references written here;
 * - backward outputs against central differences of those references (small
 *   shapes), and against analytic double backward references (every shape;
 *   the references are themselves checked against the differences on the
 *   small ones);
 * - the contracts, by one call protocol per op (the *_run functions):
 *   outputs that are assigned start as NaN (an op that reads them fails);
 *   a `beta` output is written with beta 0 over NaN, then with beta 1 (want
 *   2 grad); parameter gradients start at d0 and the backward runs twice
 *   (want d0 + 2 grad); an assigned gradient computed twice stays grad;
 * - the large shapes cross the backend's split threshold and run on a
 *   second CPU backend with another thread count (1 or 3): bitwise equal.
 *
 * Tolerances: |got - want| <= atol + rtol*|want|, want in double. The
 * backend computes in float32 (its row sums in double, OpenBLAS's in float
 * over k <= 40 terms), so its error is a few roundings of O(1) values: ~1e-6
 * absolute, ~1e-5 after the 80-term sums below. Central differences in
 * double with h = 1e-4 err by ~h^2 = 1e-8 relative. TOL_* leaves a margin of
 * ~10x over the float error; a wrong index, factor or mask errs by > 1e-2. */
#include "check.h"
#include "fd.h"
#include "ops.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TOL_ATOL 2e-5
#define TOL_RTOL 1e-4
#define FD_H 1e-4
#define LN_EPS 1e-5f

static ops_backend B, B_other;
static int THREADS = 1, OTHER_THREADS = 3;

// ----------------------------------------------------------------------------
// scratch: host and backend memory, all freed by scratch_release()

#define SCRATCH_MAX 256
static struct { ops_backend *b; void *p; } dev_scratch[SCRATCH_MAX];
static void *host_scratch[SCRATCH_MAX];
static int n_dev, n_host;

static void *host_alloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p || n_host == SCRATCH_MAX) {
        fprintf(stderr, "test_ops_transformer: out of host scratch\n");
        exit(1);
    }
    return host_scratch[n_host++] = p;
}

static float *hf(size_t n) { return host_alloc(n * sizeof(float)); }
static double *hd(size_t n) { return host_alloc(n * sizeof(double)); }

static void *dev_copy(ops_backend *be, const void *host, size_t bytes)
{
    void *p = NULL;
    if (ops_alloc(be, bytes, &p) != OPS_OK || n_dev == SCRATCH_MAX || ops_upload(be, p, host, bytes) != OPS_OK) {
        fprintf(stderr, "test_ops_transformer: backend scratch of %zu bytes: %s\n", bytes, ops_last_error());
        exit(1);
    }
    dev_scratch[n_dev].b = be;
    dev_scratch[n_dev++].p = p;
    return p;
}

static float *dev_f(ops_backend *be, const float *host, size_t n) { return dev_copy(be, host, n * sizeof(float)); }

static float *dev_fill(ops_backend *be, size_t n, float v)
{
    float *h = hf(n);
    for (size_t i = 0; i < n; i++) h[i] = v;
    return dev_f(be, h, n);
}

static void dev_read(ops_backend *be, float *host, const float *dev, size_t n)
{
    if (ops_download(be, host, dev, n * sizeof(float)) != OPS_OK) exit(1);
}

static void scratch_release(void)
{
    while (n_dev) {
        n_dev--;
        ops_free(dev_scratch[n_dev].b, dev_scratch[n_dev].p);
    }
    while (n_host) free(host_scratch[--n_host]);
}

// ----------------------------------------------------------------------------
// random numbers, comparisons, central differences

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;

static double rng_uniform(double lo, double hi) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (double)(z >> 11) * 0x1.0p-53;
}

static float *h_rand(size_t n, double lo, double hi)
{
    float *h = hf(n);
    for (size_t i = 0; i < n; i++) h[i] = (float)rng_uniform(lo, hi);
    return h;
}

static int32_t *h_indices(size_t n, int range)
{
    int32_t *h = host_alloc(n * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = (int32_t)rng_uniform(0, range) % range;
    return h;
}

static double *to_d(const float *h, size_t n)
{
    double *d = hd(n);
    for (size_t i = 0; i < n; i++) d[i] = h[i];
    return d;
}

/* want[i] = base[i] + mult * grad[i] */
static double *affine(const float *base, double mult, const double *grad, size_t n)
{
    double *w = hd(n);
    for (size_t i = 0; i < n; i++) w[i] = (base ? base[i] : 0.0) + mult * grad[i];
    return w;
}

static void expect_close(const char *what, const double *got, const double *want, size_t n)
{
    double max_err = 0.0;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs(got[i] - want[i]);
        if (!(err <= max_err)) max_err = err;
        if (!(err <= TOL_ATOL + TOL_RTOL * fabs(want[i]))) {
            if (bad < 3) fprintf(stderr, "  %s[%zu]: got %.9g want %.9g\n", what, i, got[i], want[i]);
            bad++;
        }
    }
    printf("  %-64s max|err| %.2e  (n=%zu)\n", what, max_err, n);
    CHECK(bad == 0, "%s: %zu of %zu out of tolerance %.0e + %.0e*|want|", what, bad, n, TOL_ATOL, TOL_RTOL);
}

/* a backend's float output against a double reference */
static void expect_near(const char *what, const float *got, const double *want, size_t n)
{
    expect_close(what, to_d(got, n), want, n);
}

static void expect_same_bits(const char *what, const float *a, const float *b, size_t n)
{
    size_t diff = 0;
    for (size_t i = 0; i < n; i++) diff += memcmp(&a[i], &b[i], sizeof(float)) != 0;
    CHECK(diff == 0, "%s: %zu of %zu values differ between %d and %d threads", what, diff, n, THREADS, OTHER_THREADS);
}

static void expect_ok(ops_status st, const char *what)
{
    CHECK(st == OPS_OK, "%s returned %d: %s", what, (int)st, ops_last_error());
}

/* dL/dp for each of p's n elements; p is restored */
static double *fd_grad(objective_fn f, void *ctx, double *p, size_t n)
{
    double *g = hd(n);
    fd_grad_into(f, ctx, p, n, FD_H, g);
    return g;
}

/* central differences only where they stay cheap (each costs 2 forwards
 * per parameter) */
#define FD_MAX_PARAMS 2000

// ----------------------------------------------------------------------------
// embedding: out = wte[token] + wpe[position]

typedef struct {
    int n, t, c, vocab, wpe_rows;
    const int32_t *tokens;
    const float *wte, *wpe, *dout, *dwte0, *dwpe0; /* dwte0, dwpe0: gradients before the backward calls */
} embed_case;

typedef struct { float *out, *dwte, *dwpe; } embed_result;

/* forward into NaN; backward twice onto dwte0, dwpe0 */
static embed_result embed_run(ops_backend *be, const embed_case *k)
{
    const size_t rows = (size_t)k->n * k->t, no = rows * k->c, nw = (size_t)k->vocab * k->c;
    const size_t np = (size_t)k->wpe_rows * k->c;
    const int32_t *tok = dev_copy(be, k->tokens, rows * sizeof(int32_t));
    float *wte = dev_f(be, k->wte, nw), *wpe = dev_f(be, k->wpe, np), *dout = dev_f(be, k->dout, no);
    float *out = dev_fill(be, no, NAN), *dwte = dev_f(be, k->dwte0, nw), *dwpe = dev_f(be, k->dwpe0, np);
    expect_ok(ops_embedding_fwd(be, k->n, k->t, k->c, k->vocab, tok, wte, wpe, out), "embedding_fwd");
    for (int rep = 0; rep < 2; rep++)
        expect_ok(ops_embedding_bwd(be, k->n, k->t, k->c, k->vocab, tok, dout, dwte, dwpe), "embedding_bwd");
    embed_result r = {hf(no), hf(nw), hf(np)};
    dev_read(be, r.out, out, no);
    dev_read(be, r.dwte, dwte, nw);
    dev_read(be, r.dwpe, dwpe, np);
    return r;
}

typedef struct { const embed_case *k; double *wte, *wpe, *r, *out; } embed_ctx;

static void ref_embed(const embed_case *k, const double *wte, const double *wpe, double *out)
{
    for (size_t p = 0; p < (size_t)k->n * k->t; p++)
        for (int j = 0; j < k->c; j++)
            out[p * k->c + j] = wte[(size_t)k->tokens[p] * k->c + j] + wpe[(p % k->t) * k->c + j];
}

static void ref_embed_bwd(const embed_case *k, const double *dout, double *dwte, double *dwpe)
{
    memset(dwte, 0, (size_t)k->vocab * k->c * sizeof(double));
    memset(dwpe, 0, (size_t)k->wpe_rows * k->c * sizeof(double));
    for (size_t p = 0; p < (size_t)k->n * k->t; p++)
        for (int j = 0; j < k->c; j++) {
            dwte[(size_t)k->tokens[p] * k->c + j] += dout[p * k->c + j];
            dwpe[(p % k->t) * k->c + j] += dout[p * k->c + j];
        }
}

static double embed_objective(void *v)
{
    embed_ctx *e = v;
    ref_embed(e->k, e->wte, e->wpe, e->out);
    return dot(e->out, e->r, (size_t)e->k->n * e->k->t * e->k->c);
}

static void test_embedding_case(int n, int t, int c, int vocab, const int32_t *tokens)
{
    const size_t rows = (size_t)n * t, no = rows * c, nw = (size_t)vocab * c, np = (size_t)(t + 2) * c;
    embed_case k = {n, t, c, vocab, t + 2, tokens ? tokens : h_indices(rows, vocab), h_rand(nw, -1, 1),
                    h_rand(np, -1, 1), h_rand(no, -1, 1), h_rand(nw, -1, 1), h_rand(np, -1, 1)};
    embed_result r = embed_run(&B, &k);
    embed_ctx e = {&k, to_d(k.wte, nw), to_d(k.wpe, np), to_d(k.dout, no), hd(no)};
    char what[128];
    snprintf(what, sizeof what, "embedding n=%d t=%d c=%d vocab=%d: out", n, t, c, vocab);
    embed_objective(&e);
    expect_near(what, r.out, e.out, no);
    double *gw = hd(nw), *gp = hd(np);
    ref_embed_bwd(&k, e.r, gw, gp);
    if (nw + np <= FD_MAX_PARAMS) {
        expect_close("  reference dwte vs central differences", gw, fd_grad(embed_objective, &e, e.wte, nw), nw);
        expect_close("  reference dwpe vs central differences", gp, fd_grad(embed_objective, &e, e.wpe, np), np);
    }
    /* wpe rows t, t+1 are never read: their gradient stays dwpe0 */
    expect_near("  dwte (d0 + 2 calls)", r.dwte, affine(k.dwte0, 2.0, gw, nw), nw);
    expect_near("  dwpe (d0 + 2 calls; rows >= t untouched)", r.dwpe, affine(k.dwpe0, 2.0, gp, np), np);
    embed_result o = embed_run(&B_other, &k);
    expect_same_bits("embedding out", r.out, o.out, no);
    expect_same_bits("embedding dwte", r.dwte, o.dwte, nw);
    expect_same_bits("embedding dwpe", r.dwpe, o.dwpe, np);
    scratch_release();
}

static void test_embedding(void)
{
    printf("embedding\n");
    /* token 2 four times, 0 twice, 4 never (its dwte row stays dwte0) */
    static const int32_t repeats[] = {2, 0, 2, 5, 3, 2, 0, 2};
    test_embedding_case(2, 4, 5, 6, repeats);
    test_embedding_case(1, 1, 3, 2, NULL);
    /* over the split threshold: 36000 values, channels split */
    test_embedding_case(3, 40, 300, 17, NULL);
}

// ----------------------------------------------------------------------------
// LayerNorm over rows of c

typedef struct {
    int rows, c;
    const float *x, *w, *b, *dy, *dw0, *db0;
} ln_case;

typedef struct { float *y, *mean, *rstd, *dx, *dw, *db, *dx_alias, *dw_alias, *db_alias; } ln_result;

/* forward into NaN; backward with beta 0 into NaN dx, then beta 1 (dx = 2
 * grad, dw = dw0 + 2 grad); then once more with dx aliasing dy, onto zero
 * parameter gradients (dw, db must still see dy) */
static ln_result ln_run(ops_backend *be, const ln_case *k)
{
    const size_t rows = (size_t)k->rows, n = rows * k->c, c = (size_t)k->c;
    float *x = dev_f(be, k->x, n), *w = dev_f(be, k->w, c), *b = dev_f(be, k->b, c), *dy = dev_f(be, k->dy, n);
    float *y = dev_fill(be, n, NAN), *mean = dev_fill(be, rows, NAN), *rstd = dev_fill(be, rows, NAN);
    float *dx = dev_fill(be, n, NAN), *dw = dev_f(be, k->dw0, c), *db = dev_f(be, k->db0, c);
    float *alias = dev_f(be, k->dy, n), *dw_tmp = dev_fill(be, c, 0.0f), *db_tmp = dev_fill(be, c, 0.0f);
    expect_ok(ops_layernorm_fwd(be, k->rows, k->c, LN_EPS, x, w, b, y, mean, rstd), "layernorm_fwd");
    for (int rep = 0; rep < 2; rep++)
        expect_ok(ops_layernorm_bwd(be, k->rows, k->c, x, dy, w, mean, rstd, rep ? 1.0f : 0.0f, dx, dw, db),
                  "layernorm_bwd");
    expect_ok(ops_layernorm_bwd(be, k->rows, k->c, x, alias, w, mean, rstd, 0.0f, alias, dw_tmp, db_tmp),
              "layernorm_bwd in place");
    ln_result r = {hf(n), hf(rows), hf(rows), hf(n), hf(c), hf(c), hf(n), hf(c), hf(c)};
    dev_read(be, r.y, y, n);
    dev_read(be, r.mean, mean, rows);
    dev_read(be, r.rstd, rstd, rows);
    dev_read(be, r.dx, dx, n);
    dev_read(be, r.dw, dw, c);
    dev_read(be, r.db, db, c);
    dev_read(be, r.dx_alias, alias, n);
    dev_read(be, r.dw_alias, dw_tmp, c);
    dev_read(be, r.db_alias, db_tmp, c);
    return r;
}

typedef struct { int rows, c; double *x, *w, *b, *r, *y, *mean, *rstd; } ln_ctx;

static void ref_ln(ln_ctx *l)
{
    for (int i = 0; i < l->rows; i++) {
        const double *x = l->x + (size_t)i * l->c;
        double m = 0.0, v = 0.0;
        for (int j = 0; j < l->c; j++) m += x[j] / l->c;
        for (int j = 0; j < l->c; j++) v += (x[j] - m) * (x[j] - m) / l->c;
        l->mean[i] = m;
        l->rstd[i] = 1.0 / sqrt(v + (double)LN_EPS);
        for (int j = 0; j < l->c; j++) l->y[(size_t)i * l->c + j] = (x[j] - m) * l->rstd[i] * l->w[j] + l->b[j];
    }
}

/* dx = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
static void ref_ln_bwd(ln_ctx *l, double *dx, double *dw, double *db)
{
    ref_ln(l);
    memset(dw, 0, (size_t)l->c * sizeof(double));
    memset(db, 0, (size_t)l->c * sizeof(double));
    for (int i = 0; i < l->rows; i++) {
        const size_t at = (size_t)i * l->c;
        double mg = 0.0, mgx = 0.0;
        for (int j = 0; j < l->c; j++) {
            double xhat = (l->x[at + j] - l->mean[i]) * l->rstd[i], g = l->r[at + j] * l->w[j];
            mg += g / l->c;
            mgx += g * xhat / l->c;
            dw[j] += l->r[at + j] * xhat;
            db[j] += l->r[at + j];
        }
        for (int j = 0; j < l->c; j++) {
            double xhat = (l->x[at + j] - l->mean[i]) * l->rstd[i];
            dx[at + j] = l->rstd[i] * (l->r[at + j] * l->w[j] - mg - xhat * mgx);
        }
    }
}

static double ln_objective(void *v)
{
    ln_ctx *l = v;
    ref_ln(l);
    return dot(l->y, l->r, (size_t)l->rows * l->c);
}

static void test_layernorm_case(int rows, int c)
{
    const size_t n = (size_t)rows * c;
    float *x = h_rand(n, -2, 2);
    /* rows off centre (offsets <= 12: float keeps 1e-6 of the centred values) */
    for (size_t i = 0; i < n; i++) x[i] += (float)(3 * ((i / c) % 5));
    ln_case k = {rows, c, x, h_rand(c, 0.5, 1.5), h_rand(c, -1, 1), h_rand(n, -1, 1), h_rand(c, -1, 1),
                 h_rand(c, -1, 1)};
    ln_result r = ln_run(&B, &k);
    ln_ctx l = {rows, c, to_d(k.x, n), to_d(k.w, c), to_d(k.b, c), to_d(k.dy, n), hd(n), hd(rows), hd(rows)};
    char what[128];
    snprintf(what, sizeof what, "layernorm rows=%d c=%d: y", rows, c);
    double *gx = hd(n), *gw = hd(c), *gb = hd(c);
    ref_ln_bwd(&l, gx, gw, gb);
    expect_near(what, r.y, l.y, n);
    expect_near("  saved mean", r.mean, l.mean, (size_t)rows);
    expect_near("  saved rstd", r.rstd, l.rstd, (size_t)rows);
    if (n + 2 * (size_t)c <= FD_MAX_PARAMS) {
        expect_close("  reference dx vs central differences", gx, fd_grad(ln_objective, &l, l.x, n), n);
        expect_close("  reference dweight vs central differences", gw, fd_grad(ln_objective, &l, l.w, c), c);
        expect_close("  reference dbias vs central differences", gb, fd_grad(ln_objective, &l, l.b, c), c);
    }
    expect_near("  dx (beta 0 over NaN, then beta 1)", r.dx, affine(NULL, 2.0, gx, n), n);
    expect_near("  dx written over dy (in place)", r.dx_alias, gx, n);
    expect_near("  in place: dweight", r.dw_alias, gw, c);
    expect_near("  in place: dbias", r.db_alias, gb, c);
    expect_near("  dweight (d0 + 2 calls)", r.dw, affine(k.dw0, 2.0, gw, c), c);
    expect_near("  dbias (d0 + 2 calls)", r.db, affine(k.db0, 2.0, gb, c), c);
    ln_result o = ln_run(&B_other, &k);
    expect_same_bits("layernorm y", r.y, o.y, n);
    expect_same_bits("layernorm dx", r.dx, o.dx, n);
    expect_same_bits("layernorm dweight", r.dw, o.dw, (size_t)c);
    expect_same_bits("layernorm dbias", r.db, o.db, (size_t)c);
    scratch_release();
}

static void test_layernorm(void)
{
    printf("layernorm\n");
    test_layernorm_case(5, 9);
    test_layernorm_case(1, 1); /* one value: xhat = 0, y = bias, dx = 0 */
    /* over the split threshold (39000 values), channels not a multiple of 64 */
    test_layernorm_case(130, 300);
}

// ----------------------------------------------------------------------------
// causal self-attention over qkv (n, t, 3c)

typedef struct { float *att, *out, *dqkv; } attn_result;

static size_t att_count(const ops_attn_shape *s) { return (size_t)s->n * s->heads * s->t * s->t; }

/* forward into NaN; backward twice into NaN dqkv over NaN scratch (dqkv is
 * assigned: the second call must not add) */
static attn_result attn_run(ops_backend *be, const ops_attn_shape *s, const float *qkv_h, const float *dout_h)
{
    const size_t nq = (size_t)s->n * s->t * 3 * s->c, no = (size_t)s->n * s->t * s->c, na = att_count(s);
    float *qkv = dev_f(be, qkv_h, nq), *dout = dev_f(be, dout_h, no), *att = dev_fill(be, na, NAN);
    float *out = dev_fill(be, no, NAN), *dqkv = dev_fill(be, nq, NAN);
    expect_ok(ops_attention_fwd(be, s, qkv, att, out), "attention_fwd");
    for (int rep = 0; rep < 2; rep++) {
        float *datt = dev_fill(be, na, NAN);
        expect_ok(ops_attention_bwd(be, s, qkv, att, dout, datt, dqkv), "attention_bwd");
    }
    attn_result r = {hf(na), hf(no), hf(nq)};
    dev_read(be, r.att, att, na);
    dev_read(be, r.out, out, no);
    dev_read(be, r.dqkv, dqkv, nq);
    return r;
}

typedef struct { const ops_attn_shape *s; double *qkv, *r, *att, *out; } attn_ctx;

static const double *qkv_row(const attn_ctx *a, int b, int i, int part, int h)
{
    const int c = a->s->c, hs = c / a->s->heads;
    return a->qkv + ((size_t)b * a->s->t + i) * 3 * c + (size_t)part * c + (size_t)h * hs;
}

static void ref_attn(attn_ctx *a)
{
    const int t = a->s->t, c = a->s->c, heads = a->s->heads, hs = c / heads;
    const double scale = 1.0 / sqrt((double)hs);
    for (int b = 0; b < a->s->n; b++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < t; i++) {
                double *p = a->att + (((size_t)b * heads + h) * t + i) * t, mx = -INFINITY, sum = 0.0;
                for (int j = 0; j < t; j++) p[j] = 0.0; /* the mask */
                for (int j = 0; j <= i; j++) {
                    for (int d = 0; d < hs; d++) p[j] += scale * qkv_row(a, b, i, 0, h)[d] * qkv_row(a, b, j, 1, h)[d];
                    mx = p[j] > mx ? p[j] : mx;
                }
                for (int j = 0; j <= i; j++) sum += (p[j] = exp(p[j] - mx));
                for (int j = 0; j <= i; j++) p[j] /= sum;
                double *o = a->out + ((size_t)b * t + i) * c + (size_t)h * hs;
                for (int d = 0; d < hs; d++) {
                    o[d] = 0.0;
                    for (int j = 0; j <= i; j++) o[d] += p[j] * qkv_row(a, b, j, 2, h)[d];
                }
            }
}

/* dv_j += p_ij dout_i; ds_ij = p_ij (dout_i.v_j - sum_k p_ik dout_i.v_k);
 * dq_i += scale ds_ij k_j; dk_j += scale ds_ij q_i */
static void ref_attn_bwd(attn_ctx *a, double *dqkv)
{
    const int t = a->s->t, c = a->s->c, heads = a->s->heads, hs = c / heads;
    const double scale = 1.0 / sqrt((double)hs);
    double *dp = hd((size_t)t);
    ref_attn(a);
    memset(dqkv, 0, (size_t)a->s->n * t * 3 * c * sizeof(double));
    for (int b = 0; b < a->s->n; b++)
        for (int h = 0; h < heads; h++)
            for (int i = 0; i < t; i++) {
                const double *p = a->att + (((size_t)b * heads + h) * t + i) * t;
                const double *dout = a->r + ((size_t)b * t + i) * c + (size_t)h * hs;
                double pdp = 0.0;
                for (int j = 0; j <= i; j++) {
                    dp[j] = 0.0;
                    for (int d = 0; d < hs; d++) dp[j] += dout[d] * qkv_row(a, b, j, 2, h)[d];
                    pdp += p[j] * dp[j];
                }
                for (int j = 0; j <= i; j++) {
                    const double ds = p[j] * (dp[j] - pdp);
                    /* the gradient of an element sits where the element sits in qkv */
                    double *dq = dqkv + (qkv_row(a, b, i, 0, h) - a->qkv);
                    double *dk = dqkv + (qkv_row(a, b, j, 1, h) - a->qkv);
                    double *dv = dqkv + (qkv_row(a, b, j, 2, h) - a->qkv);
                    for (int d = 0; d < hs; d++) {
                        dq[d] += scale * ds * qkv_row(a, b, j, 1, h)[d];
                        dk[d] += scale * ds * qkv_row(a, b, i, 0, h)[d];
                        dv[d] += p[j] * dout[d];
                    }
                }
            }
}

static double attn_objective(void *v)
{
    attn_ctx *a = v;
    ref_attn(a);
    return dot(a->out, a->r, (size_t)a->s->n * a->s->t * a->s->c);
}

static void test_attention_case(int n, int t, int c, int heads)
{
    const ops_attn_shape s = {n, t, c, heads};
    const size_t nq = (size_t)n * t * 3 * c, no = (size_t)n * t * c, na = att_count(&s);
    const float *qkv = h_rand(nq, -1, 1), *dout = h_rand(no, -1, 1);
    attn_result r = attn_run(&B, &s, qkv, dout);
    attn_ctx a = {&s, to_d(qkv, nq), to_d(dout, no), hd(na), hd(no)};
    double *g = hd(nq);
    ref_attn_bwd(&a, g);
    char what[128];
    snprintf(what, sizeof what, "attention n=%d t=%d c=%d heads=%d: att (0 above the diagonal)", n, t, c, heads);
    expect_near(what, r.att, a.att, na);
    expect_near("  out", r.out, a.out, no);
    if (nq <= FD_MAX_PARAMS)
        expect_close("  reference dqkv vs central differences", g, fd_grad(attn_objective, &a, a.qkv, nq), nq);
    expect_near("  dqkv (assigned, 2 calls)", r.dqkv, g, nq);
    attn_result o = attn_run(&B_other, &s, qkv, dout);
    expect_same_bits("attention att", r.att, o.att, na);
    expect_same_bits("attention out", r.out, o.out, no);
    expect_same_bits("attention dqkv", r.dqkv, o.dqkv, nq);
    scratch_release();
}

static void test_attention(void)
{
    printf("causal self-attention\n");
    test_attention_case(2, 5, 6, 2);
    test_attention_case(1, 1, 4, 4); /* one position: p = 1, out = v, dq = dk = 0 */
    test_attention_case(3, 7, 4, 1);
    /* over the split threshold: 6 (sample, head) tasks on 3 threads */
    test_attention_case(2, 40, 24, 3);
}

// ----------------------------------------------------------------------------
// GELU (tanh approximation), element-wise

#define PI 3.14159265358979323846

static double ref_gelu(double x) { return 0.5 * x * (1.0 + tanh(sqrt(2.0 / PI) * (x + 0.044715 * x * x * x))); }

static double ref_gelu_grad(double x)
{
    const double k = sqrt(2.0 / PI), th = tanh(k * (x + 0.044715 * x * x * x));
    return 0.5 * (1.0 + th) + 0.5 * x * (1.0 - th * th) * k * (1.0 + 3.0 * 0.044715 * x * x);
}

static void test_gelu_case(size_t n)
{
    float *x = h_rand(n, -5, 5), *dy = h_rand(n, -1, 1);
    x[0] = 0.0f;
    if (n > 2) x[1] = -10.0f, x[2] = 10.0f; /* saturated: y = 0 and y = x */
    float *xd = dev_f(&B, x, n), *dyd = dev_f(&B, dy, n), *y = dev_fill(&B, n, NAN), *dx = dev_fill(&B, n, NAN);
    expect_ok(ops_gelu_fwd(&B, n, xd, y), "gelu_fwd");
    expect_ok(ops_gelu_bwd(&B, n, xd, dyd, 0.0f, dx), "gelu_bwd beta 0");
    expect_ok(ops_gelu_bwd(&B, n, xd, dyd, 1.0f, dx), "gelu_bwd beta 1");
    double *want_y = hd(n), *g = hd(n), *fd = hd(n);
    for (size_t i = 0; i < n; i++) {
        want_y[i] = ref_gelu(x[i]);
        g[i] = ref_gelu_grad(x[i]) * dy[i];
        fd[i] = (ref_gelu(x[i] + FD_H) - ref_gelu(x[i] - FD_H)) / (2.0 * FD_H) * dy[i];
    }
    char what[96];
    snprintf(what, sizeof what, "gelu n=%zu: y", n);
    float *got = hf(n), *got_dx = hf(n);
    dev_read(&B, got, y, n);
    dev_read(&B, got_dx, dx, n);
    expect_near(what, got, want_y, n);
    expect_close("  reference derivative vs central differences", g, fd, n);
    expect_near("  dx (beta 0 over NaN, then beta 1)", got_dx, affine(NULL, 2.0, g, n), n);
    float *yo = dev_fill(&B_other, n, NAN), *dxo = dev_fill(&B_other, n, NAN), *other = hf(n);
    expect_ok(ops_gelu_fwd(&B_other, n, dev_f(&B_other, x, n), yo), "gelu_fwd");
    dev_read(&B_other, other, yo, n);
    expect_same_bits("gelu y", got, other, n);
    expect_ok(ops_gelu_bwd(&B_other, n, dev_f(&B_other, x, n), dev_f(&B_other, dy, n), 0.0f, dxo), "gelu_bwd");
    expect_ok(ops_gelu_bwd(&B_other, n, dev_f(&B_other, x, n), dev_f(&B_other, dy, n), 1.0f, dxo), "gelu_bwd");
    dev_read(&B_other, other, dxo, n);
    expect_same_bits("gelu dx", got_dx, other, n);
    scratch_release();
}

static void test_gelu(void)
{
    printf("gelu (tanh)\n");
    test_gelu_case(41);
    test_gelu_case(40003); /* over the split threshold */
}

// ----------------------------------------------------------------------------
// cross-entropy over rows of `classes`, logsumexp saved

typedef struct { float *lse, loss, *dlogits, *in_place; } xent_result;

/* forward into NaN; backward into NaN, and in place over a copy of logits */
static xent_result xent_run(ops_backend *be, int rows, int classes, const float *logits_h, const int32_t *targets_h,
                            float scale)
{
    const size_t n = (size_t)rows * classes;
    const int32_t *targets = dev_copy(be, targets_h, (size_t)rows * sizeof(int32_t));
    float *logits = dev_f(be, logits_h, n), *lse = dev_fill(be, (size_t)rows, NAN), *loss = dev_fill(be, 1, NAN);
    float *dlogits = dev_fill(be, n, NAN), *work = dev_f(be, logits_h, n);
    expect_ok(ops_xent_lse_fwd(be, rows, classes, logits, targets, scale, lse, loss), "xent_lse_fwd");
    expect_ok(ops_xent_lse_bwd(be, rows, classes, logits, targets, lse, scale, dlogits), "xent_lse_bwd");
    expect_ok(ops_xent_lse_bwd(be, rows, classes, work, targets, lse, scale, work), "xent_lse_bwd in place");
    xent_result r = {hf((size_t)rows), 0.0f, hf(n), hf(n)};
    dev_read(be, r.lse, lse, (size_t)rows);
    dev_read(be, &r.loss, loss, 1);
    dev_read(be, r.dlogits, dlogits, n);
    dev_read(be, r.in_place, work, n);
    return r;
}

typedef struct { int rows, classes; const int32_t *targets; double scale, *logits, *lse; } xent_ctx;

static double ref_xent(void *v)
{
    xent_ctx *x = v;
    double loss = 0.0;
    for (int i = 0; i < x->rows; i++) {
        const double *row = x->logits + (size_t)i * x->classes;
        double mx = row[0], sum = 0.0;
        for (int j = 1; j < x->classes; j++) mx = row[j] > mx ? row[j] : mx;
        for (int j = 0; j < x->classes; j++) sum += exp(row[j] - mx);
        x->lse[i] = mx + log(sum);
        loss += x->lse[i] - row[x->targets[i]];
    }
    return x->scale * loss;
}

static void test_xent_case(int rows, int classes)
{
    const size_t n = (size_t)rows * classes;
    float *logits = h_rand(n, -3, 3);
    for (int j = 0; j < classes; j++) logits[j] += 40.0f; /* exp overflows without the max */
    const int32_t *targets = h_indices((size_t)rows, classes);
    const float scale = 0.7f / (float)rows; /* a loss weight over the mean */
    xent_result r = xent_run(&B, rows, classes, logits, targets, scale);
    xent_ctx x = {rows, classes, targets, scale, to_d(logits, n), hd((size_t)rows)};
    const double loss = ref_xent(&x);
    double *g = hd(n);
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < classes; j++) {
            const size_t at = (size_t)i * classes + j;
            g[at] = x.scale * (exp(x.logits[at] - x.lse[i]) - (j == targets[i]));
        }
    char what[96];
    snprintf(what, sizeof what, "xent rows=%d classes=%d: lse", rows, classes);
    expect_near(what, r.lse, x.lse, (size_t)rows);
    expect_near("  loss = scale * sum of row losses", &r.loss, &loss, 1);
    if (n <= FD_MAX_PARAMS)
        expect_close("  reference dlogits vs central differences", g, fd_grad(ref_xent, &x, x.logits, n), n);
    expect_near("  dlogits (over NaN)", r.dlogits, g, n);
    expect_near("  dlogits in place of logits", r.in_place, g, n);
    xent_result o = xent_run(&B_other, rows, classes, logits, targets, scale);
    expect_same_bits("xent lse", r.lse, o.lse, (size_t)rows);
    expect_same_bits("xent loss", &r.loss, &o.loss, 1);
    expect_same_bits("xent dlogits", r.dlogits, o.dlogits, n);
    scratch_release();
}

static void test_xent(void)
{
    printf("cross-entropy (logsumexp saved)\n");
    test_xent_case(4, 7);
    test_xent_case(3, 1); /* one class: loss 0, gradient 0 */
    test_xent_case(37, 1001); /* over the split threshold */
}

// ----------------------------------------------------------------------------
// arguments the backend refuses rather than reading out of bounds

static void test_refused(void)
{
    printf("refused arguments\n");
    int32_t bad[3] = {0, 5, -1};
    int32_t *tok = dev_copy(&B, bad, sizeof bad);
    float *buf = dev_fill(&B, 64, 0.0f);
    CHECK(ops_embedding_fwd(&B, 1, 2, 2, 5, tok, buf, buf, buf) == OPS_ERR_INVALID, "token 5 of vocab 5 accepted");
    CHECK(ops_embedding_bwd(&B, 1, 3, 2, 6, tok, buf, buf, buf) == OPS_ERR_INVALID, "token -1 accepted");
    CHECK(ops_embedding_fwd(&B, 1, 0, 2, 5, tok, buf, buf, buf) == OPS_ERR_INVALID, "t = 0 accepted");
    CHECK(ops_xent_lse_fwd(&B, 2, 5, buf, tok, 1.0f, buf, buf) == OPS_ERR_INVALID, "target 5 of 5 classes accepted");
    CHECK(ops_xent_lse_bwd(&B, 3, 6, buf, tok, buf, 1.0f, buf) == OPS_ERR_INVALID, "target -1 accepted");
    CHECK(ops_layernorm_fwd(&B, 2, 0, LN_EPS, buf, buf, buf, buf, buf, buf) == OPS_ERR_INVALID, "c = 0 accepted");
    const ops_attn_shape uneven = {1, 2, 6, 4}, huge_t = {1, 50000, 8, 2}, ok = {0, 3, 8, 2};
    CHECK(ops_attention_fwd(&B, &uneven, buf, buf, buf) == OPS_ERR_INVALID, "6 channels in 4 heads accepted");
    CHECK(ops_attention_bwd(&B, &uneven, buf, buf, buf, buf, buf) == OPS_ERR_INVALID, "6 channels in 4 heads");
    CHECK(ops_attn_shape_problem(&huge_t) != NULL, "t*t over INT_MAX accepted");
    CHECK(ops_attn_shape_problem(&ok) == NULL && ops_attention_fwd(&B, &ok, NULL, NULL, NULL) == OPS_OK,
          "an empty batch (n = 0) refused");
    scratch_release();
}

// ----------------------------------------------------------------------------

static ops_status open_cpu(ops_backend *be, int threads)
{
    char why[256], env[16];
    snprintf(env, sizeof env, "%d", threads);
    setenv("OPENBLAS_NUM_THREADS", env, 1);
    ops_status st = ops_open(be, "cpu", why, sizeof why);
    if (st != OPS_OK) fprintf(stderr, "test_ops_transformer: cannot open the cpu backend: %s\n", why);
    const size_t capacity = (size_t)64 << 20;
    if (st == OPS_OK && (st = ops_reserve(be, capacity, capacity)) != OPS_OK)
        fprintf(stderr, "test_ops_transformer: cannot reserve %zu bytes: %s\n", capacity, ops_last_error());
    return st;
}

int main(void)
{
    const char *env = getenv("OPENBLAS_NUM_THREADS");
    if (env && atoi(env) >= 1) THREADS = atoi(env);
    OTHER_THREADS = THREADS == 1 ? 3 : 1;
    printf("cpu backend threads: %d (compared bitwise with %d)\n", THREADS, OTHER_THREADS);
    if (open_cpu(&B, THREADS) != OPS_OK || open_cpu(&B_other, OTHER_THREADS) != OPS_OK) return 1;
    const char *missing = NULL;
    CHECK(!ops_backend_missing_slot(B.i, &missing), "cpu backend leaves slot %s empty", missing);

    test_embedding();
    test_layernorm();
    test_attention();
    test_gelu();
    test_xent();
    test_refused();

    CHECK(B.arena.live_bytes == 0 && B_other.arena.live_bytes == 0, "%zu / %zu bytes still live", B.arena.live_bytes,
          B_other.arena.live_bytes);
    ops_close(&B_other);
    ops_close(&B);
    return CHECK_DONE();
}
