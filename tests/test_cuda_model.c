/* tests/test_cuda_model.c — whole optimizer steps on the CUDA backend against
 * the CPU backend (label gpu), and what only a device shows:
 *   gradients of one step, every parameter tensor compared on its own, for
 *     mlp and cnn with each norm and each strategy, at ResNet-18 widths
 *     (64..512 channels) with n = 128, with --conv-algo find and with TF32;
 *   parameters after optimizer updates inside steps (SGD, AdamW);
 *   tracked memory: retain grows by exactly one micro-batch of activations
 *     per extra micro-batch, accumulate stays flat; the pool's figures
 *     against the tracked ones, and the same tracked figure with the arena;
 *   the --mem-limit cap through the real binary: the tracked peak passes
 *     (pool), one block less is exit 3;
 *   phase attribution of cuDNN convolution and BatchNorm kernels.
 * Without a usable GPU it prints how many cases it holds and exits 77
 * (skipped), unless ACCUMBENCH_REQUIRE_GPU=1 makes that a failure.
 * argv[1], when given, is the accumbench binary; else it is looked for beside
 * this test and one directory up (the build tree, the GPU bundle's bin/).
 * ACCUMBENCH_MODEL_TEST_BACKEND=cpu puts the CPU on both sides: a self-test
 * of the harness only. */
#include "check.h"
#include "cli.h"
#include "engine.h"
#include "proc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fp32 gradient tolerance, per tensor: max|gpu - cpu| <= tol * max|cpu| +
 * 1e-7. cuDNN and cuBLAS sum in other orders than OpenBLAS/im2col and cuDNN
 * may pick Winograd or FFT, so fp32 results differ by ~1e-6..1e-5 of a
 * tensor's scale; deep BatchNorm stacks amplify that (torch_crosscheck.py
 * saw 4e-3 between fp32 and fp64 at micro-batch 2), so micro-batches stay
 * >= 4. At ResNet-18 widths the nets are 9 conv+norm layers deep and the
 * convolutions sum 576..4608 products: 1e-3. TF32 rounds every GEMM and
 * convolution operand to 10 mantissa bits (unit roundoff 2^-11 = 4.9e-4),
 * so one product is off by up to ~1e-3 relative and a few layers compound
 * it: 2e-2, about 40 unit roundoffs of the tensor's largest value. */
#define GRAD_TOL 2e-4
#define WIDE_TOL 1e-3
#define TF32_TOL 2e-2

#define MIB ((size_t)1 << 20)

/* the side under test: "cuda"; ACCUMBENCH_MODEL_TEST_BACKEND=cpu runs the
 * harness against the CPU on both sides (a self-test of this file only: it
 * checks nothing about CUDA, and the pool and phase cases say n/a) */
static const char *gpu_name = "cuda";

static const char *models[] = {
    "--model mlp --input-dim 256 --hidden 128 --layers 2",
    "--model cnn --width 8 --stages 2 --blocks 1 --norm none",
    "--model cnn --width 8 --stages 2 --blocks 1 --norm group",
    "--model cnn --width 8 --stages 2 --blocks 1 --norm batch",
};
#define N_MODELS (sizeof models / sizeof models[0])
/* ResNet-18 widths: 64, 128, 256, 512 channels; full runs n = 128 */
static const char *wide_models[] = {
    "--model cnn --width 64 --stages 4 --blocks 1 --norm batch --micro-batch 32 --effective-batch 128",
    "--model cnn --width 64 --stages 4 --blocks 1 --norm group --micro-batch 32 --effective-batch 128",
};
#define N_WIDE (sizeof wide_models / sizeof wide_models[0])
static const char *split = "--micro-batch 4 --effective-batch 10";
static const strategy_kind all3[] = {STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE};

#define N_GRAD_CASES ((N_MODELS + N_WIDE) * 3)
#define N_FIND_CASES 3
#define N_TF32_CASES 6
#define N_OPTIMIZER_CASES 2
#define N_MEMORY_CASES 2
#define N_POOL_CASES 2
#define N_OOM_CASES 2
#define N_PHASE_CASES 3
#define N_CASES (N_GRAD_CASES + N_FIND_CASES + N_TF32_CASES + N_OPTIMIZER_CASES + N_MEMORY_CASES + N_POOL_CASES + \
                 N_OOM_CASES + N_PHASE_CASES)

// ----------------------------------------------------------------------------
// setup

static int config_from(cli_command cmd, const char *flags, const char *backend, run_config *c)
{
    char buf[512], *argv[48];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s --backend %s", flags, backend);
    argv[argc++] = "accumbench";
    argv[argc++] = cmd == CLI_CMD_RUN ? "run" : "verify";
    for (char *t = strtok(buf, " "); t && argc < 48; t = strtok(NULL, " ")) argv[argc++] = t;
    cli_extras x;
    int help;
    char err[256];
    cli_defaults(c);
    int rc = cli_parse(cmd, argc, argv, 2, c, &x, &help, err, sizeof err);
    if (rc) fprintf(stderr, "test_cuda_model: bad flags '%s': %s\n", flags, err);
    return rc;
}

/* an engine prepared for the strategies, on the named backend and allocator */
static int engine_up(const char *flags, const char *backend, ops_allocator alloc, const strategy_kind *s, int n,
                     ops_backend *b, engine *e)
{
    run_config c;
    char why[256];
    memset(e, 0, sizeof *e);
    if (config_from(CLI_CMD_VERIFY, flags, backend, &c) != 0) return -1;
    if (ops_open(b, backend, why, sizeof why) != OPS_OK) {
        fprintf(stderr, "%s: %s\n", backend, why);
        return -1;
    }
    if (alloc != OPS_ALLOCATOR_DEFAULT && ops_set_allocator(b, alloc) != OPS_OK) return -1;
    if (engine_open(e, &c, b) != OPS_OK || engine_prepare(e, s, n) != OPS_OK) {
        fprintf(stderr, "%s on %s: %s\n", flags, backend, ops_last_error());
        return -1;
    }
    return 0;
}

static void engine_down(ops_backend *b, engine *e)
{
    engine_close(e);
    ops_close(b);
}

static float *download(ops_backend *b, const float *src, size_t n)
{
    float *h = malloc(n * sizeof(float));
    if (h && ops_download(b, h, src, n * sizeof(float)) != OPS_OK) {
        free(h);
        return NULL;
    }
    return h;
}

// ----------------------------------------------------------------------------
// per-tensor comparison

/* every parameter tensor on its own: max|gpu - cpu| <= tol * max|cpu| +
 * 1e-7; `mask`, when given, keeps only elements it marks non-zero */
static void compare_tensors(const model *m, const float *gpu, const float *cpu, const unsigned char *mask, double tol,
                            const char *what)
{
    double worst = 0;
    const char *worst_name = "-";
    for (int i = 0; i < m->n_params; i++) {
        const model_param *p = &m->params[i];
        double num = 0, den = 0;
        for (size_t j = p->offset; j < p->offset + p->numel; j++) {
            if (mask && !mask[j]) continue;
            num = fmax(num, fabs((double)gpu[j] - cpu[j]));
            den = fmax(den, fabs((double)cpu[j]));
        }
        CHECK(num <= tol * den + 1e-7, "%s: tensor %s: max diff %.3e, max |cpu| %.3e (tol %.0e)", what, p->name, num,
              den, tol);
        double rel = den > 0 ? num / den : num;
        if (rel > worst) worst = rel, worst_name = p->name;
    }
    printf("%-100s worst tensor %-24s %.3e\n", what, worst_name, worst);
}

/* gradients of one step of each strategy, no update, from the same params */
static int grads_of(const char *flags, const char *backend, float *grads[3])
{
    ops_backend b;
    engine e;
    int rc = engine_up(flags, backend, OPS_ALLOCATOR_DEFAULT, all3, 3, &b, &e);
    for (int s = 0; s < 3 && rc == 0; s++) {
        if (engine_step(&e, all3[s], 0) != OPS_OK || !(grads[s] = download(&b, e.st.grads, e.m.param_floats))) {
            fprintf(stderr, "%s on %s, %s: %s\n", flags, backend, strategy_name(all3[s]), ops_last_error());
            rc = -1;
        }
    }
    engine_down(&b, &e);
    return rc;
}

static void compare_grads(const char *flags, double tol, const char *label)
{
    float *cpu[3] = {0}, *gpu[3] = {0};
    run_config c;
    model m;
    if (config_from(CLI_CMD_VERIFY, flags, "cpu", &c) != 0 || model_build(&m, &c.model) != 0) {
        CHECK(0, "%s: bad configuration", flags);
        return;
    }
    if (grads_of(flags, "cpu", cpu) == 0 && grads_of(flags, gpu_name, gpu) == 0) {
        for (int s = 0; s < 3; s++) {
            char what[400];
            snprintf(what, sizeof what, "%s%s [%s]", label, flags, strategy_name(all3[s]));
            compare_tensors(&m, gpu[s], cpu[s], NULL, tol, what);
        }
    } else {
        CHECK(0, "%s%s: setup or step failed", label, flags);
    }
    for (int s = 0; s < 3; s++) free(cpu[s]), free(gpu[s]);
    model_free(&m);
}

// ----------------------------------------------------------------------------
// gradients: small models, ResNet widths, find, TF32, recompute

static void test_gradients(void)
{
    char flags[400];
    for (size_t i = 0; i < N_MODELS; i++) {
        snprintf(flags, sizeof flags, "%s %s", models[i], split);
        compare_grads(flags, GRAD_TOL, "");
    }
    for (size_t i = 0; i < N_WIDE; i++) compare_grads(wide_models[i], WIDE_TOL, "");
    /* find times algorithms at 10, 4 and 2 and keeps each one's workspace
     * and math type */
    snprintf(flags, sizeof flags, "%s %s --conv-algo find", models[3], split);
    compare_grads(flags, GRAD_TOL, "");
    for (int i = 0; i < 2; i++) {
        snprintf(flags, sizeof flags, "%s %s --math tf32", models[i ? 3 : 0], split);
        compare_grads(flags, TF32_TOL, "");
    }
    /* --recompute blocks: the second forward inside backward (cuDNN
     * BatchNorm with exponentialAverageFactor 0) against the CPU's */
    for (size_t i = 0; i < N_MODELS; i += 3) {
        snprintf(flags, sizeof flags, "%s %s --recompute blocks", models[i], split);
        compare_grads(flags, GRAD_TOL, "");
    }
}

// ----------------------------------------------------------------------------
// optimizer updates inside steps

/* parameters after `steps` steps with update, and the last step's grads */
static int params_after(const char *flags, const char *backend, int steps, float **params, float **grads,
                        float **start)
{
    ops_backend b;
    engine e;
    static const strategy_kind acc[] = {STRATEGY_ACCUMULATE};
    int rc = engine_up(flags, backend, OPS_ALLOCATOR_DEFAULT, acc, 1, &b, &e);
    if (rc == 0 && !(*start = download(&b, e.st.params, e.m.param_floats))) rc = -1;
    for (int i = 0; i < steps && rc == 0; i++)
        if (engine_step(&e, STRATEGY_ACCUMULATE, 1) != OPS_OK) rc = -1;
    if (rc == 0 && !(*params = download(&b, e.st.params, e.m.param_floats))) rc = -1;
    if (rc == 0 && !(*grads = download(&b, e.st.grads, e.m.param_floats))) rc = -1;
    if (rc) fprintf(stderr, "%s on %s: %s\n", flags, backend, ops_last_error());
    engine_down(&b, &e);
    return rc;
}

/* SGD (momentum 0.9) over 3 steps: the parameter change is linear in the
 * gradients, so it gets their tolerance. AdamW's first step moves each
 * parameter by lr * g / |g| (plus decay): a gradient near zero may flip
 * sign between backends within the gradient tolerance and move by 2 lr,
 * so only elements whose gradient is >= 1e-2 of its tensor's largest (50x
 * the gradient tolerance) are compared. */
static void test_optimizer(void)
{
    for (int adam = 0; adam < 2; adam++) {
        char flags[400];
        snprintf(flags, sizeof flags, "%s %s --optimizer %s", models[3], split, adam ? "adamw" : "sgd");
        float *cp = NULL, *cg = NULL, *c0 = NULL, *gp = NULL, *gg = NULL, *g0 = NULL;
        run_config c;
        model m;
        int steps = adam ? 1 : 3;
        if (config_from(CLI_CMD_VERIFY, flags, "cpu", &c) != 0 || model_build(&m, &c.model) != 0 ||
            params_after(flags, "cpu", steps, &cp, &cg, &c0) != 0 || params_after(flags, gpu_name, steps, &gp, &gg, &g0) != 0) {
            CHECK(0, "%s: setup or step failed", flags);
            continue;
        }
        unsigned char *mask = adam ? calloc(m.param_floats, 1) : NULL;
        for (size_t j = 0; j < m.param_floats; j++) cp[j] -= c0[j], gp[j] -= g0[j];
        for (int i = 0; mask && i < m.n_params; i++) {
            const model_param *p = &m.params[i];
            double top = 0;
            for (size_t j = p->offset; j < p->offset + p->numel; j++) top = fmax(top, fabs((double)cg[j]));
            for (size_t j = p->offset; j < p->offset + p->numel; j++) mask[j] = fabs((double)cg[j]) >= 1e-2 * top;
        }
        char what[480];
        snprintf(what, sizeof what, "%s, parameter change over %d step(s)", flags, steps);
        compare_tensors(&m, gp, cp, mask, GRAD_TOL, what);
        free(mask), free(cp), free(cg), free(c0), free(gp), free(gg), free(g0);
        model_free(&m);
    }
}

// ----------------------------------------------------------------------------
// tracked memory: retain vs accumulate

static size_t step_peak(const char *flags, strategy_kind s, int k, size_t *act)
{
    char with[400];
    snprintf(with, sizeof with, "%s --micro-batch 4 --iter-size %d", flags, k);
    ops_backend b;
    engine e;
    size_t peak = 0;
    if (engine_up(with, gpu_name, OPS_ALLOCATOR_DEFAULT, &s, 1, &b, &e) == 0 && engine_step(&e, s, 1) == OPS_OK) {
        ops_reset_high_water(&b);
        if (engine_step(&e, s, 1) == OPS_OK) peak = b.arena.high_water_bytes;
        *act = model_act_bytes(&e.m, 4);
    }
    engine_down(&b, &e);
    return peak;
}

/* The accounting is the same code on every backend and allocator, so the
 * CPU tests' exact statements hold on the device too. */
static void test_retain_accumulate(void)
{
    const char *flags[N_MEMORY_CASES] = {models[0], models[3]};
    for (int mi = 0; mi < N_MEMORY_CASES; mi++) {
        size_t act = 0, retain[5] = {0}, acc[5] = {0};
        for (int k = 1; k <= 4; k++) {
            retain[k] = step_peak(flags[mi], STRATEGY_RETAIN, k, &act);
            acc[k] = step_peak(flags[mi], STRATEGY_ACCUMULATE, k, &act);
            printf("%s k=%d: retain peak %zu, accumulate peak %zu\n", flags[mi], k, retain[k], acc[k]);
            CHECK(retain[k] > 0 && acc[k] > 0, "%s k=%d: steps failed", flags[mi], k);
            if (k > 1) {
                CHECK(retain[k] - retain[k - 1] == act, "%s: retain grew by %zu from k=%d, want %zu", flags[mi],
                      retain[k] - retain[k - 1], k - 1, act);
                CHECK(acc[k] == acc[1], "%s: accumulate k=%d peak %zu, k=1 %zu", flags[mi], k, acc[k], acc[1]);
            }
        }
    }
}

// ----------------------------------------------------------------------------
// the pool's figures

static const ops_backend *watched;
static size_t most_blocks;

static void count_blocks(void *user, size_t live, ops_phase phase, int mb)
{
    (void)user, (void)live, (void)phase, (void)mb;
    if (watched->arena.n_live > most_blocks) most_blocks = watched->arena.n_live;
}

/* tracked high-water of one step after a warm-up step, and the device's
 * figures over the same step */
static size_t measured_step(const char *flags, ops_allocator alloc, ops_device_memory *m, size_t *data_bytes)
{
    ops_backend b;
    engine e;
    strategy_kind s = STRATEGY_RETAIN;
    size_t tracked = 0;
    if (engine_up(flags, gpu_name, alloc, &s, 1, &b, &e) == 0 && engine_step(&e, s, 1) == OPS_OK &&
        ops_synchronize(&b) == OPS_OK) {
        ops_reset_high_water(&b);
        ops_device_memory_reset(&b);
        watched = &b;
        most_blocks = b.arena.n_live;
        b.observer = (ops_observer){NULL, NULL, NULL, count_blocks};
        if (engine_step(&e, s, 1) == OPS_OK && ops_synchronize(&b) == OPS_OK &&
            ops_read_device_memory(&b, m) == OPS_OK)
            tracked = b.arena.high_water_bytes;
        memset(&b.observer, 0, sizeof b.observer);
        *data_bytes = e.data_bytes;
    }
    engine_down(&b, &e);
    return tracked;
}

/* pool: used - data >= tracked (the pool never hands out less than asked)
 * and <= tracked + 2 MiB per live block (the driver's allocation granularity
 * bounds any rounding), reserved >= used (it holds what it hands out),
 * driver >= reserved (the pool's memory is in total - free). The arena
 * tracks the same bytes for the same steps. */
static void test_pool_figures(void)
{
    if (!ops_backend_find(gpu_name)->pool_alloc) {
        printf("pool figures: n/a on the %s backend\n", gpu_name);
        return;
    }
    char flags[400];
    snprintf(flags, sizeof flags, "%s --micro-batch 4 --iter-size 3", models[3]);
    ops_device_memory pm, am;
    size_t pdata = 0, adata = 0;
    size_t pool = measured_step(flags, OPS_ALLOCATOR_POOL, &pm, &pdata);
    size_t blocks = most_blocks + 2; /* + the data set's two blocks */
    size_t arena = measured_step(flags, OPS_ALLOCATOR_ARENA, &am, &adata);
    printf("pool: tracked %.2f MiB, used %.2f MiB, reserved %.2f MiB, driver %.2f MiB (data %.2f MiB, %zu blocks); "
           "arena: tracked %.2f MiB, CUPTI %.2f MiB, driver %.2f MiB\n",
           (double)pool / MIB, (double)pm.device_high_water_bytes / MIB, (double)pm.reserved_high_water_bytes / MIB,
           (double)pm.driver_high_water_bytes / MIB, (double)pdata / MIB, blocks, (double)arena / MIB,
           (double)am.device_high_water_bytes / MIB, (double)am.driver_high_water_bytes / MIB);
    CHECK(pool > 0 && arena == pool, "tracked high-water: pool %zu, arena %zu", pool, arena);
    CHECK(pm.device_why[0] == '\0' && pm.device_high_water_bytes >= pool + pdata &&
              pm.device_high_water_bytes <= pool + pdata + blocks * 2 * MIB,
          "pool used %zu for %zu tracked + %zu data in %zu blocks", pm.device_high_water_bytes, pool, pdata, blocks);
    CHECK(pm.reserved_high_water_bytes >= pm.device_high_water_bytes, "reserved %zu < used %zu",
          pm.reserved_high_water_bytes, pm.device_high_water_bytes);
    CHECK(pm.driver_high_water_bytes >= pm.reserved_high_water_bytes, "driver %zu < reserved %zu",
          pm.driver_high_water_bytes, pm.reserved_high_water_bytes);
    CHECK(am.reserved_high_water_bytes == 0, "arena reports a pool reservation %zu", am.reserved_high_water_bytes);
}

// ----------------------------------------------------------------------------
// --mem-limit through the binary: exit 0 at the tracked peak, 3 below it

static int find_binary(const char *given, char *out, size_t len)
{
    char dir[4096];
    if (given) {
        snprintf(out, len, "%s", given);
        return access(out, X_OK);
    }
    if (proc_exe_dir(dir, sizeof dir) != 0) return -1;
    snprintf(out, len, "%s/accumbench", dir);
    if (access(out, X_OK) == 0) return 0;
    snprintf(out, len, "%s/../accumbench", dir);
    return access(out, X_OK);
}

static int run_with_limit(const char *bin, const char *flags, size_t limit, proc_output *out)
{
    char buf[600], lim[32], *argv[48];
    int argc = 0;
    snprintf(buf, sizeof buf, "%s --strategy retain", flags);
    snprintf(lim, sizeof lim, "%zu", limit);
    argv[argc++] = (char *)bin;
    argv[argc++] = "run";
    for (char *t = strtok(buf, " "); t && argc < 40; t = strtok(NULL, " ")) argv[argc++] = t;
    char *tail[] = {"--backend", (char *)gpu_name, "--mem-limit", lim, "--warmup", "1", "--min-steps", "1", "--max-steps", "2",
                    NULL};
    for (int i = 0; tail[i]; i++) argv[argc++] = tail[i];
    argv[argc] = NULL;
    if (proc_capture(argv, 120.0, out) != 0) return -1;
    return out->exit_code;
}

static void test_mem_limit(const char *given)
{
    char bin[4200];
    if (find_binary(given, bin, sizeof bin) != 0) {
        CHECK(0, "no accumbench binary (give its path as the first argument)");
        return;
    }
    static const char *flags = "--model cnn --width 8 --stages 2 --blocks 1 --norm batch --micro-batch 4 "
                               "--iter-size 2";
    strategy_kind s = STRATEGY_RETAIN;
    ops_backend b;
    engine e;
    size_t peak = 0;
    /* the peak the run's engine reaches: the same setup and steps in process */
    if (engine_up(flags, gpu_name, OPS_ALLOCATOR_DEFAULT, &s, 1, &b, &e) == 0 && engine_step(&e, s, 1) == OPS_OK &&
        engine_step(&e, s, 1) == OPS_OK)
        peak = b.arena.high_water_bytes;
    engine_down(&b, &e);
    CHECK(peak > 0, "in-process steps failed: %s", ops_last_error());
    if (!peak) return;
    proc_output at, below;
    int rc_at = run_with_limit(bin, flags, peak, &at);
    int rc_below = run_with_limit(bin, flags, peak - OPS_ALIGN_BYTES, &below);
    printf("--mem-limit %zu (the tracked peak): exit %d; %zu: exit %d: %s", peak, rc_at, peak - OPS_ALIGN_BYTES,
           rc_below, below.err);
    /* with one reservation sized to the cap, first fit may find no block
     * below it (fragmentation): only the pool passes exactly at the peak */
    if (ops_backend_find(gpu_name)->pool_alloc)
        CHECK(rc_at == 0, "at the peak: exit %d: %s", rc_at, at.err);
    CHECK(rc_below == 3 && strstr(below.err, "out of memory"), "one block below the peak: exit %d: %s", rc_below,
          below.err);
    proc_output_free(&at);
    proc_output_free(&below);
}

// ----------------------------------------------------------------------------
// phase attribution of library kernels

typedef struct {
    int kernels, in_phase;
    char first[OPS_KERNEL_NAME_MAX + 1];
} phase_tally;

static ops_phase expected_phase;

static void tally_kernel(void *user, ops_phase phase, const char *name, uint64_t start, uint64_t end)
{
    (void)start, (void)end;
    phase_tally *t = user;
    if (!t->kernels++) snprintf(t->first, sizeof t->first, "%s", name);
    t->in_phase += phase == expected_phase;
}

/* one op alone in a profiling window, issued in `phase`: every kernel it
 * launched (cuDNN's own, through whatever API) must carry that phase */
static void window(ops_backend *b, ops_phase phase, const char *what, ops_status (*op)(ops_backend *, void *),
                   void *arg)
{
    phase_tally t = {0, 0, ""};
    ops_profile_sink sink = {&t, tally_kernel, NULL};
    expected_phase = phase;
    ops_set_phase(b, OPS_PHASE_OTHER, 0);
    ops_status st = ops_profile_begin(b);
    CHECK(st == OPS_OK, "%s: profile_begin: %s", what, ops_last_error());
    if (st != OPS_OK) return;
    ops_set_phase(b, phase, 1);
    st = op(b, arg);
    ops_set_phase(b, OPS_PHASE_OTHER, 0);
    CHECK(ops_profile_end(b, &sink) == OPS_OK && st == OPS_OK, "%s: %s", what, ops_last_error());
    printf("%-28s %d kernels, %d in phase %s (first: %s)\n", what, t.kernels, t.in_phase, ops_phase_name(phase),
           t.first);
    CHECK(t.kernels > 0 && t.in_phase == t.kernels, "%s: %d of %d kernels in phase %s", what, t.in_phase, t.kernels,
          ops_phase_name(phase));
}

typedef struct {
    ops_conv_shape cs;
    ops_norm_shape ns;
    float *x, *w, *y, *dy, *dx, *dw, *gamma, *bias, *rm, *rv, *sm, *si;
    void *ws;
    size_t ws_bytes;
} phase_io;

static ops_status run_conv_fwd(ops_backend *b, void *a)
{
    phase_io *io = a;
    return ops_conv2d_fwd(b, &io->cs, io->x, io->w, io->y, io->ws, io->ws_bytes);
}

static ops_status run_conv_bwd(ops_backend *b, void *a)
{
    phase_io *io = a;
    ops_status st = ops_conv2d_bwd_data(b, &io->cs, io->w, io->dy, 0.0f, io->dx, io->ws, io->ws_bytes);
    return st == OPS_OK ? ops_conv2d_bwd_filter(b, &io->cs, io->x, io->dy, io->dw, io->ws, io->ws_bytes) : st;
}

static ops_status run_bn_both(ops_backend *b, void *a)
{
    phase_io *io = a;
    ops_status st = ops_batchnorm_fwd(b, &io->ns, io->y, io->gamma, io->bias, io->dx, io->rm, io->rv, io->sm, io->si);
    return st == OPS_OK ? ops_batchnorm_bwd(b, &io->ns, io->y, io->dy, io->gamma, io->sm, io->si, 0.0f, io->dx,
                                            io->dw, io->bias)
                        : st;
}

static void test_phases(void)
{
    ops_backend b;
    char why[256];
    if (ops_open(&b, gpu_name, why, sizeof why) != OPS_OK || ops_reserve(&b, 0, SIZE_MAX) != OPS_OK) {
        CHECK(0, "%s: %s", gpu_name, why);
        return;
    }
    if (!ops_can_profile(&b)) {
        printf("phase attribution: n/a on the %s backend\n", gpu_name);
        ops_close(&b);
        return;
    }
    phase_io io;
    memset(&io, 0, sizeof io);
    io.cs = ops_conv_make(128, 64, 16, 16, 64, 3, 1, 1);
    io.ns = (ops_norm_shape){128, 64, 256, 1, 1e-5f, 0.1f};
    size_t act = (size_t)128 * 64 * 256, c = 64;
    float **bufs[] = {&io.x, &io.y, &io.dy, &io.dx};
    float **small[] = {&io.gamma, &io.bias, &io.rm, &io.rv, &io.sm, &io.si};
    ops_status st = OPS_OK;
    for (size_t i = 0; i < 4 && st == OPS_OK; i++) st = ops_alloc(&b, act * sizeof(float), (void **)bufs[i]);
    for (size_t i = 0; i < 6 && st == OPS_OK; i++) st = ops_alloc(&b, c * sizeof(float), (void **)small[i]);
    if (st == OPS_OK) st = ops_alloc(&b, (size_t)64 * 64 * 9 * sizeof(float), (void **)&io.w);
    if (st == OPS_OK) st = ops_alloc(&b, (size_t)64 * 64 * 9 * sizeof(float), (void **)&io.dw);
    for (size_t i = 0; i < 4 && st == OPS_OK; i++) st = ops_fill(&b, act, *bufs[i], 0.5f);
    for (size_t i = 0; i < 6 && st == OPS_OK; i++) st = ops_fill(&b, c, *small[i], 1.0f);
    if (st == OPS_OK) st = ops_fill(&b, (size_t)64 * 64 * 9, io.w, 0.01f);
    if (st == OPS_OK) st = ops_fill(&b, (size_t)64 * 64 * 9, io.dw, 0.0f);
    for (int d = 0; d < OPS_CONV_DIR_COUNT; d++) {
        size_t need = ops_conv_workspace_bytes(&b, &io.cs, (ops_conv_dir)d);
        if (need > io.ws_bytes) io.ws_bytes = need;
    }
    if (st == OPS_OK) st = ops_alloc(&b, io.ws_bytes, &io.ws);
    CHECK(st == OPS_OK, "phase test setup: %s", ops_last_error());
    if (st == OPS_OK) {
        window(&b, OPS_PHASE_FORWARD, "cuDNN conv forward", run_conv_fwd, &io);
        window(&b, OPS_PHASE_BACKWARD, "cuDNN conv backward", run_conv_bwd, &io);
        window(&b, OPS_PHASE_OPTIMIZER, "cuDNN BatchNorm fwd+bwd", run_bn_both, &io);
    }
    ops_close(&b);
}

// ----------------------------------------------------------------------------

int main(int argc, char **argv)
{
    const char *side = getenv("ACCUMBENCH_MODEL_TEST_BACKEND");
    if (side && side[0]) {
        gpu_name = side;
        printf("note: '%s' stands in for the GPU: a self-test of the harness only\n", side);
    }
    ops_backend b;
    char why[256];
    if (ops_open(&b, gpu_name, why, sizeof why) != OPS_OK) {
        const char *req = getenv("ACCUMBENCH_REQUIRE_GPU");
        if (req && !strcmp(req, "1")) {
            fprintf(stderr, "test_cuda_model: ACCUMBENCH_REQUIRE_GPU=1 but no usable GPU (%s); %d cases not run\n",
                    why, (int)N_CASES);
            return 1;
        }
        printf("skipped: no usable GPU (%s); %d cases\n", why, (int)N_CASES);
        return 77;
    }
    ops_close(&b);
    test_gradients();
    test_optimizer();
    test_retain_accumulate();
    test_pool_figures();
    test_mem_limit(argc > 1 ? argv[1] : NULL);
    test_phases();
    return CHECK_DONE();
}
