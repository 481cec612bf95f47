/* tests/test_cuda_transformer.c — every GPT-2 op of the CUDA backend
 * (embedding, LayerNorm, causal attention, GELU, cross-entropy with
 * logsumexp) against the CPU backend on the same random inputs, at small
 * and GPT-2-small sizes (ctest label `gpu`), and the GPU's repeatability:
 * the backward ops that sum (wte/wpe, LayerNorm parameters, the loss) run
 * twice and must give the same bits. A value passes when |gpu - cpu| <=
 * atol + rtol*|cpu| (llm.c dev/cuda/common.h); a failing comparison prints
 * its first mismatches and the max difference. Assigned outputs start as
 * NaN on both sides, so an op that reads them fails; parameter gradients
 * start from the same random values on both sides (+=).
 *
 * Without a usable GPU it prints "skipped: no usable GPU (<reason>); N
 * cases" and exits 77 (ctest SKIP_RETURN_CODE), unless
 * ACCUMBENCH_REQUIRE_GPU=1, which makes that a failure (exit 1).
 * ACCUMBENCH_OPS_TEST_BACKEND=cpu runs the "GPU" side on the CPU backend:
 * a self-test of this harness only, it checks nothing about CUDA. */
#include "check.h"
#include "ops.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// harness: one tensor on both backends

static ops_backend gpu_b, cpu_b;
static ops_backend *const G = &gpu_b, *const C = &cpu_b;

static uint64_t rng_state = 0xbb67ae8584caa73bull;

static float frand(void) /* uniform in [-1, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (float)((rng_state >> 40) * (1.0 / 8388608.0)) - 1.0f;
}

static void die(const char *what)
{
    fprintf(stderr, "test_cuda_transformer: %s: %s\n", what, ops_last_error());
    exit(1);
}

static void *xmalloc(size_t bytes)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) die("out of host memory");
    return p;
}

/* the same n floats (or int32s) on both backends */
typedef struct {
    float *g, *c;
    size_t n;
} ten;

static ten ten_new(size_t n, size_t elem_bytes)
{
    ten t = {NULL, NULL, n};
    if (ops_alloc(G, n * elem_bytes, (void **)&t.g) != OPS_OK) die("gpu alloc");
    if (ops_alloc(C, n * elem_bytes, (void **)&t.c) != OPS_OK) die("cpu alloc");
    return t;
}

static void ten_set(ten *t, const void *h, size_t elem_bytes)
{
    if (ops_upload(G, t->g, h, t->n * elem_bytes) != OPS_OK) die("gpu upload");
    if (ops_upload(C, t->c, h, t->n * elem_bytes) != OPS_OK) die("cpu upload");
}

/* values uniform in [lo, hi) */
static ten ten_rand(size_t n, float lo, float hi)
{
    ten t = ten_new(n, sizeof(float));
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = lo + (hi - lo) * 0.5f * (frand() + 1.0f);
    ten_set(&t, h, sizeof(float));
    free(h);
    return t;
}

static ten ten_nan(size_t n)
{
    ten t = ten_new(n, sizeof(float));
    float *h = xmalloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) h[i] = NAN;
    ten_set(&t, h, sizeof(float));
    free(h);
    return t;
}

/* int32 indices in [0, range); every `repeat`-th one is 0, so that some
 * index occurs many times (the wte backward's long sums) */
static ten ten_indices(size_t n, int range, int repeat)
{
    ten t = ten_new(n, sizeof(int32_t));
    int32_t *h = xmalloc(n * sizeof(int32_t));
    for (size_t i = 0; i < n; i++)
        h[i] = repeat && i % (size_t)repeat == 0 ? 0 : (int32_t)((frand() + 1.0f) * 0.5f * range) % range;
    ten_set(&t, h, sizeof(int32_t));
    free(h);
    return t;
}

static void ten_free(ten *t)
{
    ops_free(G, t->g);
    ops_free(C, t->c);
}

static float *gpu_read(const ten *t)
{
    float *h = xmalloc(t->n * sizeof(float));
    if (ops_download(G, h, t->g, t->n * sizeof(float)) != OPS_OK) die("gpu download");
    return h;
}

static double case_max_diff;

/* NaN never passes, on either side */
static void cmp(const char *what, const ten *t, double atol, double rtol)
{
    float *got = gpu_read(t), *want = xmalloc(t->n * sizeof(float));
    if (ops_download(C, want, t->c, t->n * sizeof(float)) != OPS_OK) die("cpu download");
    size_t bad = 0;
    double max_diff = 0.0;
    for (size_t i = 0; i < t->n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= max_diff)) max_diff = d;
        if (!(d <= atol + rtol * fabs((double)want[i]))) {
            if (bad < 5) fprintf(stderr, "  %s[%zu]: gpu %.9g cpu %.9g\n", what, i, (double)got[i], (double)want[i]);
            bad++;
        }
    }
    CHECK(bad == 0, "%s: %zu of %zu mismatches (atol %g, rtol %g), max diff %.3g", what, bad, t->n, atol, rtol,
          max_diff);
    if (!(max_diff <= case_max_diff)) case_max_diff = max_diff;
    free(got);
    free(want);
}

/* the GPU side's bits now, against a copy taken earlier */
static void same_bits(const char *what, const float *before, const ten *t)
{
    float *now = gpu_read(t);
    CHECK(memcmp(before, now, t->n * sizeof(float)) == 0, "%s: a repeated run gave other bits", what);
    free(now);
}

#define BOTH(call, gargs, cargs)                                                                   \
    do {                                                                                           \
        ops_status gs_ = call gargs, cs_ = call cargs;                                             \
        CHECK(gs_ == OPS_OK, "%s on the GPU: %d: %s", #call, (int)gs_, ops_last_error());          \
        CHECK(cs_ == OPS_OK, "%s on the CPU: %d: %s", #call, (int)cs_, ops_last_error());          \
    } while (0)

#define TI(t) ((const int32_t *)(t).g)
#define CI(t) ((const int32_t *)(t).c)

// ----------------------------------------------------------------------------
// embedding. Forward: one float add, exact on both sides. Backward: dwte
// sums up to ~n*t/repeat dout rows of O(1) onto O(1) values in another order
// (GPU: the sum, then added; CPU: added one by one): ~1e-5.

static void run_embedding(int n, int t, int c, int vocab, int repeat)
{
    const size_t rows = (size_t)n * t;
    ten tok = ten_indices(rows, vocab, repeat), wte = ten_rand((size_t)vocab * c, -1, 1);
    ten wpe = ten_rand((size_t)(t + 3) * c, -1, 1), out = ten_nan(rows * c), dout = ten_rand(rows * c, -1, 1);
    ten dwte = ten_rand((size_t)vocab * c, -1, 1), dwpe = ten_rand((size_t)(t + 3) * c, -1, 1);
    BOTH(ops_embedding_fwd, (G, n, t, c, vocab, TI(tok), wte.g, wpe.g, out.g),
         (C, n, t, c, vocab, CI(tok), wte.c, wpe.c, out.c));
    cmp("embedding out", &out, 0.0, 0.0);
    float *dwte0 = gpu_read(&dwte), *dwpe0 = gpu_read(&dwpe);
    BOTH(ops_embedding_bwd, (G, n, t, c, vocab, TI(tok), dout.g, dwte.g, dwpe.g),
         (C, n, t, c, vocab, CI(tok), dout.c, dwte.c, dwpe.c));
    cmp("dwte (+=)", &dwte, 1e-4, 1e-4);
    cmp("dwpe (+=)", &dwpe, 1e-5, 1e-5);
    /* repeatability: the same call from the same start, same bits */
    float *dwte1 = gpu_read(&dwte), *dwpe1 = gpu_read(&dwpe);
    if (ops_upload(G, dwte.g, dwte0, dwte.n * sizeof(float)) != OPS_OK ||
        ops_upload(G, dwpe.g, dwpe0, dwpe.n * sizeof(float)) != OPS_OK)
        die("upload");
    CHECK(ops_embedding_bwd(G, n, t, c, vocab, TI(tok), dout.g, dwte.g, dwpe.g) == OPS_OK, "repeat: %s",
          ops_last_error());
    same_bits("dwte", dwte1, &dwte);
    same_bits("dwpe", dwpe1, &dwpe);
    free(dwte0), free(dwpe0), free(dwte1), free(dwpe1);
    ten *all[] = {&tok, &wte, &wpe, &out, &dout, &dwte, &dwpe};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
}

static void case_embedding(void)
{
    run_embedding(2, 5, 7, 11, 3);
    run_embedding(3, 64, 96, 1000, 4);
    run_embedding(2, 256, 768, 50257, 8); /* GPT-2 small's vocabulary and width */
}

/* a token outside the vocabulary: the GPU cannot refuse it, its row is NaN
 * (the CPU stand-in refuses it) */
static void case_embedding_bad_token(void)
{
    const int32_t toks[2] = {1, 7};
    ten tok = ten_new(2, sizeof(int32_t)), wte = ten_rand(5 * 4, -1, 1), wpe = ten_rand(2 * 4, -1, 1), out = ten_nan(8);
    ten_set(&tok, toks, sizeof(int32_t));
    const ops_status st = ops_embedding_fwd(G, 1, 2, 4, 5, TI(tok), wte.g, wpe.g, out.g);
    if (G->i->host_memory) {
        CHECK(st == OPS_ERR_INVALID, "the CPU stand-in accepted token 7 of 5");
    } else {
        CHECK(st == OPS_OK, "%s", ops_last_error());
        float *h = gpu_read(&out);
        CHECK(!isnan(h[0]) && isnan(h[4]) && isnan(h[7]), "row of token 7 (vocab 5): %g %g", (double)h[4],
              (double)h[7]);
        free(h);
    }
    ten *all[] = {&tok, &wte, &wpe, &out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
}

// ----------------------------------------------------------------------------
// LayerNorm: float row sums over c <= 768 on the GPU (double on the CPU):
// ~1e-6 relative on y; dweight/dbias sum up to 2051 rows: ~1e-4.

static void run_layernorm(int rows, int c)
{
    const size_t n = (size_t)rows * c;
    ten x = ten_rand(n, -2, 3), w = ten_rand((size_t)c, 0.5f, 1.5f), b = ten_rand((size_t)c, -1, 1);
    ten y = ten_nan(n), mean = ten_nan((size_t)rows), rstd = ten_nan((size_t)rows), dy = ten_rand(n, -1, 1);
    ten dx = ten_nan(n), dw = ten_rand((size_t)c, -1, 1), db = ten_rand((size_t)c, -1, 1);
    BOTH(ops_layernorm_fwd, (G, rows, c, 1e-5f, x.g, w.g, b.g, y.g, mean.g, rstd.g),
         (C, rows, c, 1e-5f, x.c, w.c, b.c, y.c, mean.c, rstd.c));
    cmp("layernorm y", &y, 2e-5, 1e-4);
    cmp("saved mean", &mean, 1e-5, 1e-5);
    cmp("saved rstd", &rstd, 1e-5, 1e-4);
    for (int rep = 0; rep < 2; rep++) { /* beta 0 over NaN, then beta 1 */
        float beta = rep ? 1.0f : 0.0f;
        BOTH(ops_layernorm_bwd, (G, rows, c, x.g, dy.g, w.g, mean.g, rstd.g, beta, dx.g, dw.g, db.g),
             (C, rows, c, x.c, dy.c, w.c, mean.c, rstd.c, beta, dx.c, dw.c, db.c));
    }
    cmp("layernorm dx (beta 0, then 1)", &dx, 1e-4, 1e-4);
    cmp("dweight (+= twice)", &dw, 1e-3, 1e-4);
    cmp("dbias (+= twice)", &db, 1e-3, 1e-4);
    /* repeatability: one more call, twice from the same start, same bits */
    float *dw_start = gpu_read(&dw), *db_start = gpu_read(&db), *dw_first = NULL, *db_first = NULL;
    for (int rep = 0; rep < 2; rep++) {
        if (ops_upload(G, dw.g, dw_start, dw.n * sizeof(float)) != OPS_OK ||
            ops_upload(G, db.g, db_start, db.n * sizeof(float)) != OPS_OK)
            die("upload");
        CHECK(ops_layernorm_bwd(G, rows, c, x.g, dy.g, w.g, mean.g, rstd.g, 1.0f, dx.g, dw.g, db.g) == OPS_OK, "%s",
              ops_last_error());
        if (rep == 0) dw_first = gpu_read(&dw), db_first = gpu_read(&db);
    }
    same_bits("dweight", dw_first, &dw);
    same_bits("dbias", db_first, &db);
    free(dw_start), free(db_start), free(dw_first), free(db_first);
    ten *all[] = {&x, &w, &b, &y, &mean, &rstd, &dy, &dx, &dw, &db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
}

static void case_layernorm(void)
{
    run_layernorm(7, 33);
    run_layernorm(2051, 768);
}

// ----------------------------------------------------------------------------
// attention: fp32 cuBLAS (no TF32) and OpenBLAS over k <= 256 on inputs in
// [-1, 1), float softmax rows: 1e-4 as the other GEMM comparisons.

static void run_attention(int n, int t, int c, int heads)
{
    const ops_attn_shape s = {n, t, c, heads};
    const size_t nq = (size_t)n * t * 3 * c, no = (size_t)n * t * c, na = (size_t)n * heads * t * t;
    ten qkv = ten_rand(nq, -1, 1), att = ten_nan(na), out = ten_nan(no), dout = ten_rand(no, -1, 1);
    ten datt = ten_nan(na), dqkv = ten_nan(nq);
    BOTH(ops_attention_fwd, (G, &s, qkv.g, att.g, out.g), (C, &s, qkv.c, att.c, out.c));
    cmp("attention probabilities", &att, 1e-5, 1e-4);
    cmp("attention out", &out, 1e-4, 1e-4);
    BOTH(ops_attention_bwd, (G, &s, qkv.g, att.g, dout.g, datt.g, dqkv.g),
         (C, &s, qkv.c, att.c, dout.c, datt.c, dqkv.c));
    cmp("attention dqkv", &dqkv, 1e-4, 1e-4);
    ten *all[] = {&qkv, &att, &out, &dout, &datt, &dqkv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
}

static void case_attention(void)
{
    run_attention(2, 5, 6, 2);
    run_attention(3, 67, 96, 3);
    run_attention(2, 256, 768, 12); /* GPT-2 small's heads */
}

// ----------------------------------------------------------------------------
// GELU: the same tanhf formula on both sides; fast-math-free nvcc tanhf and
// glibc's differ by an ulp or two: 1e-6.

static void case_gelu(void)
{
    for (size_t off = 0; off < 2; off++) { /* off 1: misaligned, scalar path */
        const size_t n = 100003;
        ten x = ten_rand(n + off, -6, 6), dy = ten_rand(n + off, -1, 1), y = ten_nan(n + off), dx = ten_nan(n + off);
        BOTH(ops_gelu_fwd, (G, n, x.g + off, y.g + off), (C, n, x.c + off, y.c + off));
        for (int rep = 0; rep < 2; rep++) { /* beta 0 over NaN, then beta 1 */
            const float beta = rep ? 1.0f : 0.0f;
            BOTH(ops_gelu_bwd, (G, n, x.g + off, dy.g + off, beta, dx.g + off),
                 (C, n, x.c + off, dy.c + off, beta, dx.c + off));
        }
        ten yv = {y.g + off, y.c + off, n}, dxv = {dx.g + off, dx.c + off, n};
        cmp("gelu y", &yv, 1e-6, 1e-6);
        cmp("gelu dx (beta 0, then 1)", &dxv, 1e-6, 1e-5);
        ten *all[] = {&x, &dy, &y, &dx};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
    }
}

// ----------------------------------------------------------------------------
// cross-entropy: the GPU's one-pass float logsumexp over 50257 classes
// against the CPU's double sum: ~1e-6 relative on lse (~11); softmax values
// ~2e-5 inherit it; the loss sums <= 64 rows.

static void run_xent(int rows, int classes)
{
    const size_t n = (size_t)rows * classes;
    const float scale = 0.5f / (float)rows;
    ten logits = ten_rand(n, -4, 4), targets = ten_indices((size_t)rows, classes, 0), lse = ten_nan((size_t)rows);
    ten loss = ten_nan(1), dlogits = ten_nan(n), work = ten_rand(n, 0, 1);
    BOTH(ops_xent_lse_fwd, (G, rows, classes, logits.g, TI(targets), scale, lse.g, loss.g),
         (C, rows, classes, logits.c, CI(targets), scale, lse.c, loss.c));
    cmp("xent lse", &lse, 1e-5, 1e-5);
    cmp("xent loss", &loss, 1e-5, 1e-5);
    BOTH(ops_xent_lse_bwd, (G, rows, classes, logits.g, TI(targets), lse.g, scale, dlogits.g),
         (C, rows, classes, logits.c, CI(targets), lse.c, scale, dlogits.c));
    cmp("xent dlogits", &dlogits, 1e-6, 1e-4);
    /* in place: dlogits over a copy of the logits */
    BOTH(ops_copy, (G, n, logits.g, work.g), (C, n, logits.c, work.c));
    BOTH(ops_xent_lse_bwd, (G, rows, classes, work.g, TI(targets), lse.g, scale, work.g),
         (C, rows, classes, work.c, CI(targets), lse.c, scale, work.c));
    cmp("xent dlogits in place", &work, 1e-6, 1e-4);
    float *loss1 = gpu_read(&loss), *lse1 = gpu_read(&lse);
    CHECK(ops_xent_lse_fwd(G, rows, classes, logits.g, TI(targets), scale, lse.g, loss.g) == OPS_OK, "%s",
          ops_last_error());
    same_bits("xent loss", loss1, &loss);
    same_bits("xent lse", lse1, &lse);
    free(loss1), free(lse1);
    ten *all[] = {&logits, &targets, &lse, &loss, &dlogits, &work};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) ten_free(all[i]);
}

static void case_xent(void)
{
    run_xent(5, 7);        /* fewer classes than threads in the block */
    run_xent(3, 1);        /* one class: loss 0 */
    run_xent(64, 50257);   /* GPT-2 small's vocabulary */
}

// ----------------------------------------------------------------------------

typedef struct {
    const char *name;
    void (*run)(void);
} op_case;

static const op_case cases[] = {
    {"embedding_fwd / embedding_bwd", case_embedding},
    {"embedding_fwd (token outside)", case_embedding_bad_token},
    {"layernorm_fwd / layernorm_bwd", case_layernorm},
    {"attention_fwd / attention_bwd", case_attention},
    {"gelu_fwd / gelu_bwd", case_gelu},
    {"xent_lse_fwd / xent_lse_bwd", case_xent},
};
#define N_CASES ((int)(sizeof cases / sizeof cases[0]))

int main(void)
{
    const char *req = getenv("ACCUMBENCH_REQUIRE_GPU");
    const int require = req && strcmp(req, "1") == 0;
    const char *side = getenv("ACCUMBENCH_OPS_TEST_BACKEND");
    if (!side || !side[0]) side = "cuda";
    char why[256] = "";
    if (ops_open(G, side, why, sizeof why) != OPS_OK) {
        if (require) {
            fprintf(stderr,
                    "test_cuda_transformer: ACCUMBENCH_REQUIRE_GPU=1 but no usable GPU (%s); %d cases not run\n",
                    why[0] ? why : ops_last_error(), N_CASES);
            return 1;
        }
        printf("skipped: no usable GPU (%s); %d cases\n", why[0] ? why : ops_last_error(), N_CASES);
        return 77;
    }
    if (strcmp(side, "cuda") != 0) printf("note: '%s' stands in for the GPU: a self-test of the harness only\n", side);
    if (ops_open(C, "cpu", why, sizeof why) != OPS_OK) die("cpu backend");
    const size_t reserve = (size_t)1 << 30; /* the largest case: 2 x 50257 x 768 floats of wte and dwte, ~300 MiB */
    if (ops_reserve(G, reserve, reserve) != OPS_OK) die("gpu reserve");
    if (ops_reserve(C, reserve, reserve) != OPS_OK) die("cpu reserve");

    int failed = 0;
    for (int i = 0; i < N_CASES; i++) {
        const int before = check_failures;
        case_max_diff = 0.0;
        cases[i].run();
        CHECK(G->arena.live_bytes == 0 && C->arena.live_bytes == 0, "%s leaked %zu / %zu bytes", cases[i].name,
              G->arena.live_bytes, C->arena.live_bytes);
        const int ok = check_failures == before;
        failed += !ok;
        printf("%s %-34s max diff %.3g\n", ok ? "ok  " : "FAIL", cases[i].name, case_max_diff);
    }
    printf("%d of %d cases passed\n", N_CASES - failed, N_CASES);
    ops_close(G);
    ops_close(C);
    return CHECK_DONE();
}
