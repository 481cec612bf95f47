/* tests/test_cuda_transformer_host.c — the host side of the CUDA backend's
 * GPT-2 ops (kernels/cuda/cuda_transformer.h), checked without a GPU:
 *   (a) the attention's cuBLAS calls, as described, executed with
 *       column-major cblas_sgemm for every (head, sample) together with the
 *       softmax rows of transformer_math.h, equal the CPU backend's
 *       attention forward and backward; every output element is written
 *       (they start as NaN), and each call's output matrices lie in disjoint
 *       address ranges across the batch (cuBLAS's requirement);
 *   (b) the launch plan of every new kernel visits each element, row or
 *       (row, channel) exactly once and stays within the device limits and
 *       the shared-memory budget, at GPT-2-small sizes too.
 * Tolerances where used: |got - want| <= atol + rtol*|want|. */
#include "check.h"
#include "ops.h"
#include "common/transformer_math.h"
#include "cuda/cuda_transformer.h"

#include <cblas.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static ops_backend cpu;

static uint64_t rng_state = 0x6a09e667f3bcc909ull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

/* n floats of the CPU backend: random in [-1, 1), or NaN (outputs: every
 * element must be written) */
static float *alloc_floats(size_t n, int nan_fill)
{
    void *p = NULL;
    if (ops_alloc(&cpu, n * sizeof(float), &p) != OPS_OK) {
        fprintf(stderr, "test_cuda_transformer_host: out of memory (%zu floats)\n", n);
        exit(1);
    }
    float *f = p;
    for (size_t i = 0; i < n; i++) f[i] = nan_fill ? NAN : frand();
    return f;
}

// ----------------------------------------------------------------------------
// (a) attention: the described calls against the CPU backend

/* One described call, as the launcher issues it: per head, the batch over
 * the samples, each GEMM column-major. */
static void exec_call(const ops_attn_shape *s, cuda_att_gemm which, float *const tensors[], const char *what)
{
    const cuda_att_gemm_call g = cuda_att_gemm_describe(s, which);
    CHECK(g.why == NULL && g.cm.ok, "%s gemm %d: %s", what, (int)which, g.why ? g.why : "?");
    if (g.why) return;
    CHECK(g.heads == s->heads && g.samples == s->n && g.cm.b_first, "%s gemm %d: loop %d batch %d", what, (int)which,
          g.heads, g.samples);
    /* one sample's C spans (m-1)*ldc + n floats: the batch stride must clear it */
    const long long span = (long long)(g.rm.m - 1) * g.rm.ldc + g.rm.n;
    CHECK(g.c.sample_stride >= span, "%s gemm %d: C sample stride %lld under one matrix's span %lld", what,
          (int)which, g.c.sample_stride, span);
    const cuda_att_operand *first = &g.b, *second = &g.a;
    for (int h = 0; h < g.heads; h++)
        for (int b = 0; b < g.samples; b++) {
            const float *fp = tensors[first->tensor] + first->offset + (size_t)h * first->head_stride +
                              (size_t)b * (size_t)first->sample_stride;
            const float *sp = tensors[second->tensor] + second->offset + (size_t)h * second->head_stride +
                              (size_t)b * (size_t)second->sample_stride;
            float *cp = tensors[g.c.tensor] + g.c.offset + (size_t)h * g.c.head_stride +
                        (size_t)b * (size_t)g.c.sample_stride;
            cblas_sgemm(CblasColMajor, g.cm.transa ? CblasTrans : CblasNoTrans, g.cm.transb ? CblasTrans : CblasNoTrans,
                        g.cm.m, g.cm.n, g.cm.k, g.cm.alpha, fp, g.cm.lda, sp, g.cm.ldb, g.cm.beta, cp, g.cm.ldc);
        }
}

/* the softmax kernels' row math (attn_softmax_fwd_kernel), one row after
 * the other, in place over the scores */
static void softmax_rows_fwd(const ops_attn_shape *s, float *att)
{
    const size_t n_rows = (size_t)s->n * s->heads * s->t, t = (size_t)s->t;
    for (size_t r = 0; r < n_rows; r++) {
        const int i = (int)(r % t);
        float *a = att + r * t, mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j <= i; j++) mx = a[j] > mx ? a[j] : mx;
        for (int j = 0; j <= i; j++) sum += expf(a[j] - mx);
        for (int j = 0; j < s->t; j++) a[j] = ab_causal_visible(i, j) ? ab_softmax_prob(a[j], mx, 1.0f / sum) : 0.0f;
    }
}

/* attn_softmax_bwd_kernel's: datt becomes the score gradient in place */
static void softmax_rows_bwd(const ops_attn_shape *s, const float *att, float *datt)
{
    const size_t n_rows = (size_t)s->n * s->heads * s->t, t = (size_t)s->t;
    for (size_t r = 0; r < n_rows; r++) {
        const int i = (int)(r % t);
        const float *p = att + r * t;
        float *d = datt + r * t, dot = 0.0f;
        for (int j = 0; j <= i; j++) dot += p[j] * d[j];
        for (int j = 0; j < s->t; j++) d[j] = ab_causal_visible(i, j) ? ab_softmax_grad(p[j], d[j], dot) : 0.0f;
    }
}

static void compare(const char *what, const float *got, const float *want, size_t n, double atol, double rtol)
{
    size_t bad = 0;
    double max_diff = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        if (!(d <= max_diff)) max_diff = d;
        if (!(d <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 3)
                fprintf(stderr, "  %s[%zu]: described %.9g cpu %.9g\n", what, i, (double)got[i], (double)want[i]);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %zu of %zu mismatches (atol %g rtol %g), max diff %.3g", what, bad, n, atol, rtol, max_diff);
}

/* Both sides are OpenBLAS SGEMMs over the same data (k <= 64 here, inputs
 * in [-1, 1)) and float softmax rows: they differ by summation order only,
 * ~1e-6 on O(1) values. */
#define ATT_ATOL 1e-5
#define ATT_RTOL 1e-4

static void check_attention(int n, int t, int c, int heads)
{
    const ops_attn_shape s = {n, t, c, heads};
    const size_t nq = (size_t)n * t * 3 * c, no = (size_t)n * t * c, na = (size_t)n * heads * t * t;
    float *qkv = alloc_floats(nq, 0), *dout = alloc_floats(no, 0);
    float *att = alloc_floats(na, 0), *out = alloc_floats(no, 0), *datt = alloc_floats(na, 0);
    float *dqkv = alloc_floats(nq, 0);
    float *d_att = alloc_floats(na, 1), *d_out = alloc_floats(no, 1), *d_datt = alloc_floats(na, 1);
    float *d_dqkv = alloc_floats(nq, 1);
    CHECK(ops_attention_fwd(&cpu, &s, qkv, att, out) == OPS_OK, "cpu attention_fwd: %s", ops_last_error());
    CHECK(ops_attention_bwd(&cpu, &s, qkv, att, dout, datt, dqkv) == OPS_OK, "cpu attention_bwd: %s", ops_last_error());

    char what[96];
    snprintf(what, sizeof what, "attention n=%d t=%d c=%d heads=%d", n, t, c, heads);
    float *fwd[CUDA_ATT_TENSORS] = {qkv, d_att, d_out, NULL, NULL, NULL};
    exec_call(&s, CUDA_ATT_GEMM_SCORES, fwd, what);
    softmax_rows_fwd(&s, d_att);
    exec_call(&s, CUDA_ATT_GEMM_OUT, fwd, what);
    compare("att", d_att, att, na, ATT_ATOL, ATT_RTOL);
    compare("out", d_out, out, no, ATT_ATOL, ATT_RTOL);
    /* the backward from the CPU's probabilities, so that it is checked alone */
    float *bwd[CUDA_ATT_TENSORS] = {qkv, att, NULL, d_dqkv, d_datt, dout};
    exec_call(&s, CUDA_ATT_GEMM_DV, bwd, what);
    exec_call(&s, CUDA_ATT_GEMM_DP, bwd, what);
    softmax_rows_bwd(&s, att, d_datt);
    exec_call(&s, CUDA_ATT_GEMM_DQ, bwd, what);
    exec_call(&s, CUDA_ATT_GEMM_DK, bwd, what);
    compare("datt (score gradient)", d_datt, datt, na, ATT_ATOL, ATT_RTOL);
    compare("dqkv", d_dqkv, dqkv, nq, ATT_ATOL, ATT_RTOL);
    printf("(a) %s: described calls equal the CPU backend\n", what);
    float *all[] = {qkv, dout, att, out, datt, dqkv, d_att, d_out, d_datt, d_dqkv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ops_free(&cpu, all[i]);
}

static void test_attention(void)
{
    check_attention(2, 5, 6, 2);
    check_attention(1, 1, 4, 4);
    check_attention(3, 17, 24, 3);
    check_attention(2, 33, 64, 1);
    check_attention(1, 40, 256, 4); /* hs 64, as GPT-2 small */
    const ops_attn_shape uneven = {2, 4, 6, 4}, ok = {2, 4, 8, 2};
    CHECK(cuda_att_gemm_describe(&uneven, CUDA_ATT_GEMM_SCORES).why != NULL, "6 channels in 4 heads described");
    CHECK(cuda_att_gemm_describe(&ok, CUDA_ATT_GEMM_COUNT).why != NULL, "a GEMM past the enum described");
    /* GPT-2 small, micro-batch 8: strides past 2^31 floats stay exact */
    const ops_attn_shape gpt2 = {8, 1024, 768, 12};
    const cuda_att_gemm_call g = cuda_att_gemm_describe(&gpt2, CUDA_ATT_GEMM_SCORES);
    CHECK(g.why == NULL && g.c.sample_stride == 12LL * 1024 * 1024 && g.c.head_stride == 1024u * 1024u &&
              g.a.sample_stride == 1024LL * 3 * 768 && g.b.offset == 768 && g.rm.alpha == 0.125f,
          "gpt2 scores: %s", g.why ? g.why : "strides");
}

// ----------------------------------------------------------------------------
// (b) launch plans

static const cuda_limits limit_sets[] = {
    {2147483647u, 1024u, 132u}, /* H100/H200 */
    {65535u, 1024u, 2u},        /* small grid: grid-stride turns */
    {2147483647u, 128u, 1u},    /* block limit under the default blocks */
    {3u, 1024u, 1u},            /* a grid of 3: every loop strides */
};
#define N_LIMITS (sizeof limit_sets / sizeof limit_sets[0])

/* a row plan: every row visited by exactly threads_per_row threads, lane 0
 * once, with a row index uniform over each row team (shuffles, barriers) */
static void row_cover(const cuda_row_plan *p, long long rows, unsigned tpr, const cuda_limits *lim, const char *what)
{
    CHECK(p->rows_per_block > 0 && p->threads_per_row == tpr && p->block % 32 == 0 && p->block <= lim->max_block,
          "%s rows=%lld: block %u, %u threads per row", what, rows, p->block, p->threads_per_row);
    CHECK(p->grid <= lim->max_grid_x && (rows == 0) == (p->grid == 0), "%s rows=%lld: grid %u", what, rows, p->grid);
    if (!p->grid || !p->rows_per_block) return;
    unsigned *visits = calloc((size_t)rows, sizeof *visits), *lane0 = calloc((size_t)rows, sizeof *lane0);
    if (!visits || !lane0) exit(1);
    for (unsigned b = 0; b < p->grid; b++)
        for (unsigned t = 0; t < p->block; t++)
            for (long long r = cuda_row_first(p, b, t); r < p->rows; r += cuda_row_stride(p, p->grid)) {
                visits[r]++;
                lane0[r] += cuda_row_lane(p, t) == 0;
                CHECK(cuda_row_first(p, b, t - cuda_row_lane(p, t)) == cuda_row_first(p, b, t), "%s: team split", what);
            }
    long long wrong = 0;
    for (long long r = 0; r < rows; r++) wrong += visits[r] != tpr || lane0[r] != 1;
    CHECK(wrong == 0, "%s rows=%lld: %lld rows not covered by exactly one team", what, rows, wrong);
    free(visits);
    free(lane0);
}

static void ew_cover(size_t n, int vectorise, const cuda_limits *lim, const char *what)
{
    const cuda_ew_plan p = cuda_ew_plan_make(n, vectorise, lim);
    CHECK(p.block <= lim->max_block && p.grid <= lim->max_grid_x && (n == 0) == (p.grid == 0), "%s n=%zu: %u x %u",
          what, n, p.grid, p.block);
    unsigned char *seen = calloc(n ? n : 1, 1);
    if (!seen) exit(1);
    const size_t stride = cuda_ew_stride(p.grid, p.block);
    for (unsigned b = 0; b < p.grid; b++)
        for (unsigned t = 0; t < p.block; t++) {
            const size_t first = cuda_ew_first(b, p.block, t);
            for (size_t v = first; v < p.n_vec; v += stride)
                for (int j = 0; j < 4; j++) seen[4 * v + j]++;
            for (size_t i = cuda_ew_tail_begin(&p) + first; i < p.n; i += stride) seen[i]++;
        }
    size_t wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += seen[i] != 1;
    CHECK(wrong == 0, "%s n=%zu: %zu elements not visited exactly once", what, n, wrong);
    free(seen);
}

/* LayerNorm dweight/dbias: every (row, channel < c) exactly once; barriers
 * inside the group loop need a block-uniform loop */
static void ln_param_cover(int rows, int c, const cuda_limits *lim)
{
    const cuda_ln_param_plan p = cuda_ln_param_plan_make(rows, c, lim);
    CHECK(p.block == 32 * p.row_lanes && p.block >= 32 && p.block <= lim->max_block &&
              p.row_lanes <= CUDA_TF_LN_ROW_LANES,
          "ln param c=%d: block %u, %u row lanes", c, p.block, p.row_lanes);
    CHECK(p.grid <= lim->max_grid_x && (p.grid == 0) == (rows == 0 || c == 0), "ln param rows=%d c=%d: grid %u", rows,
          c, p.grid);
    unsigned char *seen = calloc((size_t)rows * c + 1, 1);
    if (!seen) exit(1);
    for (unsigned b = 0; b < p.grid; b++)
        for (unsigned t = 0; t < p.block; t++)
            for (int g = (int)b; g < p.groups; g += (int)p.grid) {
                const int ch = cuda_ln_param_channel(g, t);
                for (int r = (int)cuda_ln_param_row_lane(t); r < rows && ch < c; r += (int)p.row_lanes)
                    seen[(size_t)r * c + ch]++;
            }
    size_t wrong = 0;
    for (size_t i = 0; i < (size_t)rows * c; i++) wrong += seen[i] != 1;
    CHECK(wrong == 0, "ln param rows=%d c=%d: %zu (row, channel) not visited exactly once", rows, c, wrong);
    free(seen);
}

static void test_plans(void)
{
    static const long long rows[] = {0, 1, 7, 8, 9, 255, 1000, 12 * 64 + 5};
    static const int channels[] = {1, 31, 32, 33, 100, 768};
    for (size_t li = 0; li < N_LIMITS; li++) {
        const cuda_limits *lim = &limit_sets[li];
        for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
            cuda_row_plan w = cuda_tf_warp_rows_plan(rows[i], lim), b = cuda_tf_block_rows_plan(rows[i], lim);
            row_cover(&w, rows[i], 32, lim, "warp rows (layernorm, attention softmax)");
            row_cover(&b, rows[i], b.block, lim, "block rows (xent, wte backward)");
            CHECK((b.block & (b.block - 1)) == 0 && b.block >= 32, "block rows: block %u not a power of 2 >= 32",
                  b.block);
        }
        for (size_t i = 0; i < sizeof channels / sizeof channels[0]; i++) {
            ln_param_cover(1, channels[i], lim);
            ln_param_cover(37, channels[i], lim);
        }
        ln_param_cover(0, 8, lim);
        /* the element-wise kernels: embedding forward (n t c), wpe backward (t c), GELU */
        ew_cover((size_t)3 * 17 * 24, 0, lim, "embedding fwd");
        ew_cover((size_t)17 * 24, 0, lim, "wpe bwd");
        ew_cover(100003, 1, lim, "gelu");
    }
    /* GPT-2 small, micro-batch 8: 8*12*1024 softmax rows, 50257 vocabulary
     * rows, 8*1024 LayerNorm rows of 768, a (8, 1024, 768) embedding */
    const cuda_limits *h200 = &limit_sets[0];
    cuda_row_plan big = cuda_tf_warp_rows_plan(8LL * 12 * 1024, h200);
    row_cover(&big, 8LL * 12 * 1024, 32, h200, "gpt2 attention softmax");
    const cuda_wte_bwd_plan wte = cuda_wte_bwd_plan_make(50257, 768, h200);
    row_cover(&wte.rows, 50257, wte.rows.block, h200, "gpt2 wte backward");
    ln_param_cover(8 * 1024, 768, h200);
    ew_cover((size_t)8 * 1024 * 768, 0, h200, "gpt2 embedding fwd");
    /* wte backward's shared memory: c accumulators, a block of positions,
     * the warp counts; GPT-2 XL's c = 1600 fits, a c of 12300 does not */
    CHECK(wte.shared_bytes == 768 * 4 + 256 * 4 + 8 * 4, "wte shared bytes %zu", wte.shared_bytes);
    CHECK(cuda_wte_bwd_plan_make(50257, 1600, h200).rows.rows_per_block > 0, "c = 1600 refused");
    const cuda_wte_bwd_plan wide = cuda_wte_bwd_plan_make(50257, 12300, h200);
    CHECK(wide.rows.rows_per_block == 0 && wide.rows.grid == 0 && wide.shared_bytes > CUDA_TF_SHARED_MAX,
          "c = 12300 accepted (%zu bytes)", wide.shared_bytes);
    CHECK(cuda_wte_bwd_plan_make(10, 0, h200).rows.rows_per_block == 0, "c = 0 accepted");
    /* a device that cannot take a warp gets no plan */
    const cuda_limits tiny_block = {65535u, 16u, 1u};
    CHECK(cuda_tf_warp_rows_plan(10, &tiny_block).rows_per_block == 0, "warp rows on a 16-thread device");
    CHECK(cuda_tf_block_rows_plan(10, &tiny_block).rows_per_block == 0, "block rows on a 16-thread device");
    CHECK(cuda_ln_param_plan_make(10, 8, &tiny_block).block == 0, "ln param on a 16-thread device");
    printf("(b) launch plans cover every element, row and (row, channel) once, within the limits\n");
}

int main(void)
{
    char why[256];
    setenv("OPENBLAS_NUM_THREADS", "1", 1);
    if (ops_open(&cpu, "cpu", why, sizeof why) != OPS_OK) {
        fprintf(stderr, "test_cuda_transformer_host: cpu backend: %s\n", why);
        return 1;
    }
    const size_t capacity = (size_t)64 << 20;
    if (ops_reserve(&cpu, capacity, capacity) != OPS_OK) {
        fprintf(stderr, "test_cuda_transformer_host: reserve: %s\n", ops_last_error());
        return 1;
    }
    test_attention();
    test_plans();
    CHECK(cpu.arena.live_bytes == 0, "%zu bytes leaked", cpu.arena.live_bytes);
    ops_close(&cpu);
    return CHECK_DONE();
}
