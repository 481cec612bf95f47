/* bench/cmd/verify.c — `accumbench verify`: one step's gradients from each
 * strategy, from the same weights and data, compared per parameter tensor
 * with max|a-b| / max|b|. What the maths says (design, "What must agree"):
 *   retain == accumulate, always;
 *   both == full without BatchNorm under global, or mean with equal micro-batches;
 *   both == k * full under sum (without BatchNorm);
 * BatchNorm takes statistics per micro-batch, and mean with a ragged last
 * micro-batch weighs samples unequally: those differences are reported.
 * With --recompute blocks each strategy's gradients must also equal its own
 * without recomputation (the recompute is the same forward again). */
#include "backend_open.h"
#include "cli.h"
#include "commands.h"
#include "engine.h"
#include "files.h"
#include "npy.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* fp32 gradients of the same sum in different orders (GEMMs over B vs m,
 * micro-batches added in other orders) differ by ~1e-7..1e-6 relative; 1e-4
 * leaves room for deep models while any real mistake is far above it. */
#define VERIFY_TOL 1e-4

static const strategy_kind all_strategies[] = {STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE};

static double rel_diff(const float *a, const float *b, size_t n, double b_scale)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b_scale * b[i]);
        if (d > num) num = d;
        if (fabs(b_scale * b[i]) > den) den = fabs(b_scale * b[i]);
    }
    return den > 0 ? num / den : num;
}

// ----------------------------------------------------------------------------
// --dump

typedef struct { char *buf; size_t len, cap; } text;

static void text_add(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void text_add(text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if (t->len + (size_t)n + 1 > t->cap) {
        size_t cap = (t->cap + (size_t)n + 1) * 2;
        char *nb = realloc(t->buf, cap);
        if (!nb) return;
        t->buf = nb;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

static int dump_param_set(const char *dir, const char *prefix, const model *m, const float *block, text *man)
{
    for (int i = 0; i < m->n_params; i++) {
        const model_param *p = &m->params[i];
        char file[128], path[4352];
        snprintf(file, sizeof file, "%s%03d.npy", prefix, i);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (npy_write(path, "<f4", block + p->offset, sizeof(float), p->shape, p->ndim) != 0) return -1;
        text_add(man, "%s\"%s\"", i ? ", " : "", file);
    }
    return 0;
}

/* inputs and targets per micro-batch: mlp (m, D) and cnn (m, 3, 32, 32)
 * float32 with int64 targets (m); gpt int64 tokens and targets (m, T) */
static int dump_data(const char *dir, const engine *e, text *inputs, text *targets)
{
    const run_config *c = &e->cfg;
    const model *m = &e->m;
    int gpt = c->model.kind == MODEL_GPT;
    size_t per = model_input_per_sample(m), tper = model_targets_per_sample(m);
    size_t nx = (size_t)c->effective_batch * per, ny = (size_t)c->effective_batch * tper;
    float *x = malloc(nx * sizeof *x);
    int32_t *y32 = malloc(ny * sizeof *y32);
    int64_t *x64 = malloc(nx * sizeof *x64), *y64 = malloc(ny * sizeof *y64);
    int rc = x && y32 && x64 && y64 ? 0 : -1;
    if (!rc && (ops_download(e->b, x, e->data_x, nx * sizeof *x) != OPS_OK ||
                ops_download(e->b, y32, e->data_y, ny * sizeof *y32) != OPS_OK))
        rc = -1;
    char path[4352], file[128];
    for (int i = 0, first = 0; !rc && i < c->iter_size; i++) {
        int n = config_micro_batch_size(c, i);
        int xshape[4] = {n, c->model.kind == MODEL_MLP ? (int)per : MODEL_IMAGE_C, MODEL_IMAGE_HW, MODEL_IMAGE_HW};
        int tshape[2] = {n, (int)tper};
        snprintf(file, sizeof file, "input%03d.npy", i);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        if (gpt) {
            const int32_t *tok = (const int32_t *)(const void *)x + (size_t)first * per;
            for (size_t j = 0; j < (size_t)n * per; j++) x64[j] = tok[j];
            rc |= npy_write(path, "<i8", x64, sizeof(int64_t), tshape, 2);
        } else {
            rc |= npy_write(path, "<f4", x + (size_t)first * per, sizeof(float), xshape,
                            c->model.kind == MODEL_MLP ? 2 : 4);
        }
        text_add(inputs, "%s\"%s\"", i ? ", " : "", file);
        for (size_t j = 0; j < (size_t)n * tper; j++) y64[j] = y32[(size_t)first * tper + j];
        snprintf(file, sizeof file, "target%03d.npy", i);
        snprintf(path, sizeof path, "%s/%s", dir, file);
        rc |= npy_write(path, "<i8", y64, sizeof(int64_t), tshape, gpt ? 2 : 1);
        text_add(targets, "%s\"%s\"", i ? ", " : "", file);
        first += n;
    }
    free(x);
    free(y32);
    free(x64);
    free(y64);
    return rc;
}

static int dump_all(const char *dir, const engine *e, const float *params, float *const grads[3])
{
    const run_config *c = &e->cfg;
    const model *m = &e->m;
    text man = {0};
    text_add(&man, "{\n  \"model\": {\"model\": \"%s\", \"input_dim\": %d, \"hidden\": %d, \"layers\": %d, "
             "\"width\": %d, \"stages\": %d, \"blocks\": %d, \"norm\": \"%s\", \"vocab\": %d, \"seq\": %d, "
             "\"d_model\": %d, \"heads\": %d, \"recompute\": \"%s\"},\n",
             model_name(c->model.kind), c->model.input_dim, c->model.hidden, c->model.layers, c->model.width,
             c->model.stages, c->model.blocks, norm_name(c->model.norm), c->model.vocab, c->model.seq,
             c->model.d_model, c->model.heads, recompute_name(c->model.recompute));
    text_add(&man, "  \"micro_batches\": [");
    for (int i = 0; i < c->iter_size; i++) text_add(&man, "%s%d", i ? ", " : "", config_micro_batch_size(c, i));
    text_add(&man, "],\n  \"loss_norm\": \"%s\",\n  \"effective_batch\": %d,\n  \"seed\": %llu,\n  \"params\": [",
             loss_norm_name(c->loss_norm), c->effective_batch, (unsigned long long)c->seed);
    char path[4352];
    int rc = 0;
    for (int i = 0; i < m->n_params; i++) {
        const model_param *p = &m->params[i];
        text_add(&man, "%s\n    {\"name\": \"%s\", \"shape\": [", i ? "," : "", p->name);
        for (int d = 0; d < p->ndim; d++) text_add(&man, "%s%d", d ? ", " : "", p->shape[d]);
        text_add(&man, "], \"file\": \"param%03d.npy\"}", i);
    }
    text param_files = {0};
    rc |= dump_param_set(dir, "param", m, params, &param_files);
    free(param_files.buf);

    text inputs = {0}, targets = {0};
    rc |= dump_data(dir, e, &inputs, &targets);
    text_add(&man, "\n  ],\n  \"inputs\": [%s],\n  \"targets\": [%s],\n  \"grads\": {", inputs.buf ? inputs.buf : "",
             targets.buf ? targets.buf : "");
    for (int s = 0; !rc && s < 3; s++) {
        char prefix[32];
        text files = {0};
        snprintf(prefix, sizeof prefix, "grad_%s_", strategy_name(all_strategies[s]));
        rc |= dump_param_set(dir, prefix, m, grads[s], &files);
        text_add(&man, "%s\n    \"%s\": [%s]", s ? "," : "", strategy_name(all_strategies[s]), files.buf ? files.buf : "");
        free(files.buf);
    }
    text_add(&man, "\n  }\n}\n");
    snprintf(path, sizeof path, "%s/manifest.json", dir);
    if (!rc && man.buf) rc = file_write_atomic(path, man.buf, man.len);
    free(man.buf);
    free(inputs.buf);
    free(targets.buf);
    return rc;
}

// ----------------------------------------------------------------------------

/* One step of each strategy without the update, grads[s] downloaded to the
 * host (malloc'd; the caller frees them), with the model's recompute as set. */
static ops_status strategy_grads(engine *e, ops_backend *b, float *grads[3])
{
    ops_status st = OPS_OK;
    size_t pf = e->m.param_floats;
    for (int s = 0; s < 3 && st == OPS_OK; s++) {
        grads[s] = malloc(pf * sizeof(float));
        if (!grads[s]) st = OPS_ERR_OOM;
        if (st == OPS_OK) st = engine_step(e, all_strategies[s], 0);
        if (st == OPS_OK) st = ops_download(b, grads[s], e->st.grads, pf * sizeof(float));
    }
    return st;
}

/* grads as configured, and with --recompute blocks also plain[] without
 * recomputation; the parameters downloaded too. Memory is sized for the
 * passes without recomputation, the larger. */
static ops_status compute_grads(engine *e, ops_backend *b, float *grads[3], float *plain[3], float **params)
{
    recompute_kind asked = e->m.cfg.recompute;
    e->m.cfg.recompute = RECOMPUTE_NONE;
    ops_status st = engine_prepare(e, all_strategies, 3);
    if (st == OPS_OK && asked == RECOMPUTE_BLOCKS) st = strategy_grads(e, b, plain);
    e->m.cfg.recompute = asked;
    if (st == OPS_OK) st = strategy_grads(e, b, grads);
    size_t pf = e->m.param_floats;
    if (st == OPS_OK) {
        *params = malloc(pf * sizeof(float));
        st = *params ? ops_download(b, *params, e->st.params, pf * sizeof(float)) : OPS_ERR_OOM;
    }
    return st;
}

/* Prints the per-parameter table and the verdicts; 1 when gradients the
 * maths says agree do not, else 0. */
static int compare_grads(const engine *e, const char *backend, float *const grads[3])
{
    const run_config *c = &e->cfg;
    int k = c->iter_size;
    int has_bn = c->model.kind == MODEL_CNN && c->model.norm == NORM_BATCH;
    int ragged = c->last_micro_batch != c->micro_batch;
    double full_scale = c->loss_norm == LOSS_NORM_SUM ? (double)k : 1.0;
    int full_must_agree = !has_bn && !(c->loss_norm == LOSS_NORM_MEAN && ragged);
    const char *why_not = has_bn ? "BatchNorm statistics are per micro-batch"
                                 : "mean weighs a ragged last micro-batch like the others";

    printf("accumbench verify: backend %s, model %s, loss-norm %s, micro-batches %d x %d", backend,
           model_name(c->model.kind), loss_norm_name(c->loss_norm), k, c->micro_batch);
    if (ragged) printf(" (last %d)", c->last_micro_batch);
    printf(" = %d, recompute %s\n", c->effective_batch, recompute_name(c->model.recompute));
    printf("  max|a-b|/max|b| per parameter; reference for full: %s\n\n", full_scale == 1.0 ? "full" : "k * full");
    printf("  %-32s %14s %14s %14s\n", "parameter", "retain~accum", "retain~full", "accum~full");
    double worst_ra = 0.0, worst_full = 0.0;
    for (int i = 0; i < e->m.n_params; i++) {
        const model_param *p = &e->m.params[i];
        double ra = rel_diff(grads[1] + p->offset, grads[2] + p->offset, p->numel, 1.0);
        double rf = rel_diff(grads[1] + p->offset, grads[0] + p->offset, p->numel, full_scale);
        double af = rel_diff(grads[2] + p->offset, grads[0] + p->offset, p->numel, full_scale);
        printf("  %-32s %14.3e %14.3e %14.3e\n", p->name, ra, rf, af);
        worst_ra = fmax(worst_ra, ra);
        worst_full = fmax(worst_full, fmax(rf, af));
    }
    printf("\n  retain vs accumulate: max %.3e (must be <= %.0e): %s\n", worst_ra, VERIFY_TOL,
           worst_ra <= VERIFY_TOL ? "agree" : "DISAGREE");
    if (full_must_agree)
        printf("  split vs %s: max %.3e (must be <= %.0e): %s\n", full_scale == 1.0 ? "full" : "k * full",
               worst_full, VERIFY_TOL, worst_full <= VERIFY_TOL ? "agree" : "DISAGREE");
    else
        printf("  split vs full: max %.3e (reported, not checked: %s)\n", worst_full, why_not);
    return worst_ra > VERIFY_TOL || (full_must_agree && worst_full > VERIFY_TOL);
}

/* --recompute blocks against none, per strategy; 1 when they disagree */
static int compare_recompute(const engine *e, float *const grads[3], float *const plain[3])
{
    int bad = 0;
    printf("\n  recompute blocks vs none (max over parameters of max|a-b|/max|b|):\n");
    for (int s = 0; s < 3; s++) {
        double worst = 0.0;
        for (int i = 0; i < e->m.n_params; i++) {
            const model_param *p = &e->m.params[i];
            worst = fmax(worst, rel_diff(grads[s] + p->offset, plain[s] + p->offset, p->numel, 1.0));
        }
        int same = !memcmp(grads[s], plain[s], e->m.param_floats * sizeof(float));
        printf("    %-10s %.3e (must be <= %.0e): %s%s\n", strategy_name(all_strategies[s]), worst, VERIFY_TOL,
               worst <= VERIFY_TOL ? "agree" : "DISAGREE", same ? ", bit-identical" : "");
        bad |= worst > VERIFY_TOL;
    }
    return bad;
}

int cmd_verify(int argc, char **argv)
{
    run_config c;
    cli_extras x;
    int help;
    char err[512];
    cli_defaults(&c);
    if (cli_parse(CLI_CMD_VERIFY, argc, argv, 2, &c, &x, &help, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (help) {
        cli_usage(CLI_CMD_VERIFY, stdout);
        return CLI_EXIT_OK;
    }
    if (x.dump_dir && files_mkdir_p(x.dump_dir) != 0) {
        cli_error("--dump: cannot create directory '%s': %s", x.dump_dir, strerror(errno ? errno : ENOTDIR));
        return CLI_EXIT_USAGE;
    }
    ops_backend b;
    int rc = backend_open(&b, &c);
    if (rc) return rc;
    engine e;
    float *grads[3] = {NULL, NULL, NULL}, *plain[3] = {NULL, NULL, NULL}, *params = NULL;
    ops_status st = engine_open(&e, &c, &b);
    if (st == OPS_OK) st = compute_grads(&e, &b, grads, plain, &params);
    if (st != OPS_OK) rc = backend_fail(&b, st, "while computing gradients");
    else {
        rc = compare_grads(&e, b.i->name, grads) ? CLI_EXIT_CHECK : CLI_EXIT_OK;
        if (c.model.recompute == RECOMPUTE_BLOCKS && compare_recompute(&e, grads, plain)) rc = CLI_EXIT_CHECK;
        if (x.dump_dir && dump_all(x.dump_dir, &e, params, grads) != 0) {
            cli_error("--dump: writing '%s' failed: %s", x.dump_dir, strerror(errno));
            rc = CLI_EXIT_USAGE;
        } else if (x.dump_dir) printf("  dumped to %s\n", x.dump_dir);
    }
    for (int s = 0; s < 3; s++) {
        free(grads[s]);
        free(plain[s]);
    }
    free(params);
    engine_close(&e);
    ops_close(&b);
    return rc;
}
