/* bench/cmd/plan/plan.c — `accumbench plan`: which strategy, micro-batch and
 * iter_size to use for an effective batch within a memory budget, and what
 * it will cost (the fit and the choice: plan_fit.h).
 *
 * The budget is the whole process's memory. The figure fitted is the one
 * closest to that: on the CPU mem_tracked_bytes, which is all the run's
 * memory (every tensor comes from the sub-allocator; on the CPU it equals the
 * analytic model exactly); on a GPU mem_driver_bytes (cudaMemGetInfo growth:
 * our reservation, library workspaces and cuDNN/cuBLAS's own allocations),
 * else mem_device_bytes (CUPTI), else mem_tracked_bytes. The GPU figures
 * leave out the CUDA context and library handles (they are subtracted as the
 * level after initialisation) and the synthetic data set; --context SIZE adds
 * the context back to every prediction.
 *
 * Points come from a sweep's results directory (--results DIR: one point per
 * configuration, the medians of its repeats) or from small runs started here
 * (--measure): micro-batches 1, 2, 4 at iter_size 1 and 2 per
 * strategy (full: effective batches 1, 2, 4, 8), each `accumbench run --json`
 * in its own process with short stopping settings. */
#include "cli.h"
#include "commands.h"
#include "ops.h"
#include "parse.h"
#include "plan_fit.h"
#include "plan_points.h"
#include "proc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* as run's --effective-batch */
#define PLAN_MAX_EFFECTIVE_BATCH (1 << 22)
/* a measuring child: setup (a CUDA context, cuDNN) plus --max-time */
#define PLAN_CHILD_TIMEOUT_S 300.0
/* the verify child stops by its own rules well before this */
#define PLAN_VERIFY_TIMEOUT_S 600.0
#define PLAN_MAX_POINTS 64

/* short measuring runs: memory needs one step, throughput a stable median of
 * a few; the CPU backend's small steps stop by noise well inside 2 s */
static const char *const measure_settings[] = {"--warmup", "1", "--min-steps", "3", "--max-steps", "200",
                                               "--max-time", "2"};
static const char *const verify_settings[] = {"--warmup", "2", "--min-steps", "5", "--max-time", "10"};

/* run's flags that describe the model and where it runs: passed to run
 * children as given */
static const char *const model_flags[] = {"--backend", "--model", "--input-dim", "--hidden", "--layers",
                                          "--width", "--stages", "--blocks", "--norm", "--optimizer", "--math",
                                          "--conv-algo", "--seed", "--loss-norm"};
#define N_MODEL_FLAGS (sizeof model_flags / sizeof model_flags[0])

static const char *const plan_flags[] = {"--budget", "--effective-batch", "--margin", "--results", "--save",
                                         "--context", "--strategies", "--micro-batches", "--measure", "--verify",
                                         "--json", "--ragged"};
#define N_PLAN_FLAGS (sizeof plan_flags / sizeof plan_flags[0])
#define FIRST_BOOL_FLAG 8   /* plan_flags[8..] take no value */

typedef struct {
    uint64_t budget_bytes;
    int effective_batch;
    double margin;
    uint64_t context_bytes;
    const char *results_dir, *save_dir;
    int measure, verify, json, ragged;
    int use[STRATEGY_COUNT];
    int *micro_batches;
    size_t n_micro_batches;
    char *fwd[2 * N_MODEL_FLAGS];       /* model flags and values, in the order given */
    int n_fwd;
    run_config cfg;
} plan_opts;

// ----------------------------------------------------------------------------
// flags

static void usage(FILE *f)
{
    fputs("usage: accumbench plan --budget SIZE --effective-batch B [model flags] (--results DIR | --measure)\n"
          "                       [--margin 5%] [--verify] [--json]\n\n"
          "Fits, per strategy, peak memory = fixed + scale x the activation bytes the split holds (from the\n"
          "model's shapes) and throughput per micro-batch size, from measured configurations; lists every\n"
          "split of B that fits the budget with its predicted peak and samples/s, and recommends the fastest\n"
          "(as fast within 3%: fewer micro-batches, then less memory). Exit 1 when nothing fits.\n\n"
          "  --budget SIZE           the whole process's memory (GPU: context included, see --context);\n"
          "                          bytes, K/M/G/T (1024^n), KB/MB/GB/TB (1000^n)\n"
          "  --effective-batch B     samples per optimizer step\n"
          "  --results DIR           fit from a sweep's DIR/results.csv (rows of this model)\n"
          "  --measure               fit from runs started now: micro-batches 1, 2, 4 at iter-size 1 and 2\n"
          "  --save DIR              with --measure: write those runs to DIR/results.csv for --results\n"
          "  --margin F              predictions must fit in budget x (1 - F): 5% (default), 0.1, 0\n"
          "  --context SIZE          added to every prediction: the CUDA context and library handles the\n"
          "                          GPU figures leave out (0; nvidia-smi shows a process's whole use)\n"
          "  --strategies LIST       of full,retain,accumulate (all three; full runs B as one batch)\n"
          "  --micro-batches LIST    micro-batches to consider (powers of two up to B)\n"
          "  --ragged                also every ceil(B/k): the smallest micro-batch for each iter-size\n"
          "  --verify                run the recommendation (--mem-limit budget on the CPU) and compare\n"
          "  --json                  print the whole plan as one JSON object\n"
          "model flags (as run): --backend --model --input-dim --hidden --layers --width --stages --blocks\n"
          "  --norm --optimizer --math --conv-algo --seed --loss-norm\n",
          f);
}

static int index_of(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

static int parse_list(const char *flag, const char *v, plan_opts *o, char *err, size_t err_len)
{
    char buf[4096], why[256];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf || !*v) {
        snprintf(err, err_len, "%s: must be a comma-separated list (got '%s')", flag, v);
        return -1;
    }
    int strategies = !strcmp(flag, "--strategies");
    size_t cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    if (!strategies && !(o->micro_batches = calloc(cap, sizeof *o->micro_batches))) {
        snprintf(err, err_len, "out of host memory");
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (strategies) {
            int s = -1;
            for (int i = 0; i < STRATEGY_COUNT; i++)
                if (!strcmp(tok, strategy_name((strategy_kind)i))) s = i;
            if (s < 0 || o->use[s]) {
                snprintf(err, err_len, "%s: '%s' is %s (list of full, retain, accumulate)", flag, tok,
                         s < 0 ? "not a strategy" : "given twice");
                return -1;
            }
            o->use[s] = 1;
        } else {
            long m;
            if (parse_int(tok, 1, PLAN_MAX_EFFECTIVE_BATCH, &m, why, sizeof why)) {
                snprintf(err, err_len, "%s: %s", flag, why);
                return -1;
            }
            o->micro_batches[o->n_micro_batches++] = (int)m;
        }
    }
    if (strategies ? !(o->use[0] || o->use[1] || o->use[2]) : !o->n_micro_batches) {
        snprintf(err, err_len, "%s: must not be empty (got '%s')", flag, v);
        return -1;
    }
    return 0;
}

/* "0" or "0%" as zero, else a size or fraction through the strict parsers */
static int is_zero(const char *v) { return !strcmp(v, "0") || !strcmp(v, "0%"); }

static int parse_plan_flag(int fi, const char *v, plan_opts *o, char *err, size_t err_len)
{
    const char *name = plan_flags[fi];
    char why[256];
    long n;
    if (!strcmp(name, "--budget")) {
        if (parse_size(v, &o->budget_bytes, why, sizeof why)) goto bad;
    } else if (!strcmp(name, "--effective-batch")) {
        if (parse_int(v, 1, PLAN_MAX_EFFECTIVE_BATCH, &n, why, sizeof why)) goto bad;
        o->effective_batch = (int)n;
    } else if (!strcmp(name, "--margin")) {
        if (is_zero(v)) o->margin = 0;
        else if (parse_fraction(v, 0.0, 0.9, &o->margin, why, sizeof why)) {
            snprintf(err, err_len, "--margin: must be a fraction in 0..0.9 or a percentage like 5%% (got '%s')", v);
            return -1;
        }
    } else if (!strcmp(name, "--context")) {
        if (is_zero(v)) o->context_bytes = 0;
        else if (parse_size(v, &o->context_bytes, why, sizeof why)) goto bad;
    } else if (!strcmp(name, "--results") || !strcmp(name, "--save")) {
        if (!*v) {
            snprintf(err, err_len, "%s: must be a directory path (got '')", name);
            return -1;
        }
        *(!strcmp(name, "--results") ? &o->results_dir : &o->save_dir) = v;
    } else return parse_list(name, v, o, err, err_len);
    return 0;
bad:
    snprintf(err, err_len, "%s: %s", name, why);
    return -1;
}

static int parse_args(int argc, char **argv, plan_opts *o, int *help, char *err, size_t err_len)
{
    unsigned char seen_plan[N_PLAN_FLAGS] = {0}, seen_model[N_MODEL_FLAGS] = {0};
    memset(o, 0, sizeof *o);
    o->margin = 0.05;
    *help = 0;
    for (int i = 2; i < argc; i++) {
        const char *arg = argv[i];
        if (!strcmp(arg, "--help") || !strcmp(arg, "-h")) {
            *help = 1;
            return 0;
        }
        int pi = index_of(plan_flags, N_PLAN_FLAGS, arg), mi = index_of(model_flags, N_MODEL_FLAGS, arg);
        if (pi < 0 && mi < 0) {
            if (arg[0] == '-') snprintf(err, err_len, "%s: unknown flag for 'plan' (see accumbench plan --help)", arg);
            else snprintf(err, err_len, "unexpected argument '%s' (flags take the form --name value)", arg);
            return -1;
        }
        unsigned char *seen = pi >= 0 ? &seen_plan[pi] : &seen_model[mi];
        if (*seen) {
            snprintf(err, err_len, "%s: given more than once", arg);
            return -1;
        }
        *seen = 1;
        if (pi >= FIRST_BOOL_FLAG) {
            *(!strcmp(arg, "--measure") ? &o->measure : !strcmp(arg, "--verify") ? &o->verify
              : !strcmp(arg, "--json") ? &o->json : &o->ragged) = 1;
            continue;
        }
        if (i + 1 >= argc) {
            snprintf(err, err_len, "%s: needs a value", arg);
            return -1;
        }
        const char *v = argv[++i];
        if (mi >= 0) {
            o->fwd[o->n_fwd++] = argv[i - 1];
            o->fwd[o->n_fwd++] = argv[i];
        } else if (parse_plan_flag(pi, v, o, err, err_len)) return -1;
    }
    /* the model flags, checked exactly as run checks them */
    cli_extras x;
    int h;
    cli_defaults(&o->cfg);
    if (cli_parse(CLI_CMD_RUN, o->n_fwd, o->fwd, 0, &o->cfg, &x, &h, err, err_len) != 0) return -1;
    if (!o->budget_bytes) {
        snprintf(err, err_len, "--budget: required (the whole process's memory, e.g. --budget 20GiB)");
        return -1;
    }
    if (!o->effective_batch) {
        snprintf(err, err_len, "--effective-batch: required (the samples of one optimizer step)");
        return -1;
    }
    if (!!o->results_dir == !!o->measure) {
        snprintf(err, err_len, o->measure ? "--results: give --results DIR or --measure, not both"
                                          : "give --results DIR (a sweep's results) or --measure (small runs now)");
        return -1;
    }
    if (o->save_dir && !o->measure) {
        snprintf(err, err_len, "--save: only with --measure (it writes the measured runs)");
        return -1;
    }
    for (size_t i = 0; i < o->n_micro_batches; i++)
        if (o->micro_batches[i] > o->effective_batch) {
            snprintf(err, err_len, "--micro-batches: %d is larger than --effective-batch %d", o->micro_batches[i],
                     o->effective_batch);
            return -1;
        }
    if (!seen_plan[index_of(plan_flags, N_PLAN_FLAGS, "--strategies")])
        for (int s = 0; s < STRATEGY_COUNT; s++) o->use[s] = 1;
    return 0;
}

// ----------------------------------------------------------------------------
// children

/* argv for `<self> run --json --backend B <model flags> <extra>` */
static char **child_argv(const char *self, const char *backend, const plan_opts *o, char *const *extra,
                         int n_extra)
{
    char **v = calloc((size_t)(o->n_fwd + n_extra + 6), sizeof *v);
    if (!v) return NULL;
    int n = 0;
    v[n++] = (char *)self;
    v[n++] = "run";
    v[n++] = "--json";
    v[n++] = "--backend";
    v[n++] = (char *)backend;
    for (int i = 0; i < o->n_fwd; i += 2)
        if (strcmp(o->fwd[i], "--backend")) {
            v[n++] = o->fwd[i];
            v[n++] = o->fwd[i + 1];
        }
    for (int i = 0; i < n_extra; i++) v[n++] = extra[i];
    return v;
}

typedef struct {
    int exit_code;
    plan_json row;          /* parsed when the child printed one */
    int have_row;
    char why[512];          /* the child's last stderr line, or what went wrong */
} child_result;

/* Runs one configuration; 0 when a JSON row came back (whatever its status). */
static int run_child(const char *self, const char *backend, const plan_opts *o, strategy_kind s, int m, int k_or_b,
                     int by_effective, const char *mem_limit, const char *const *settings, int n_settings,
                     double timeout_s, child_result *r)
{
    char sm[16], sk[16];
    char *extra[24];
    int n = 0;
    memset(r, 0, sizeof *r);
    snprintf(sm, sizeof sm, "%d", m);
    snprintf(sk, sizeof sk, "%d", k_or_b);
    extra[n++] = "--strategy";
    extra[n++] = (char *)strategy_name(s);
    extra[n++] = "--micro-batch";
    extra[n++] = sm;
    extra[n++] = by_effective ? "--effective-batch" : "--iter-size";
    extra[n++] = sk;
    if (mem_limit) {
        extra[n++] = "--mem-limit";
        extra[n++] = (char *)mem_limit;
    }
    for (int i = 0; i < n_settings; i++) extra[n++] = (char *)settings[i];
    char **argv = child_argv(self, backend, o, extra, n);
    proc_output c;
    if (!argv || proc_capture(argv, timeout_s, &c) != 0) {
        snprintf(r->why, sizeof r->why, "cannot start %.300s: %s", self, strerror(errno ? errno : ENOMEM));
        free(argv);
        r->exit_code = -1;
        return -1;
    }
    free(argv);
    r->exit_code = c.exit_code;
    if (c.timed_out) snprintf(r->why, sizeof r->why, "timed out after %.0f s", timeout_s);
    else plan_last_line(c.err, r->why, sizeof r->why);
    r->have_row = plan_json_parse(c.out, &r->row) == 0;
    proc_output_free(&c);
    return r->have_row ? 0 : -1;
}

/* whether a backend named in results keeps tensors in host memory (then the
 * tracked figure is the whole run's memory and --mem-limit caps it all); a
 * name this build lacks is not host memory */
static int backend_host_memory(const char *name)
{
    const ops_backend_i *b = ops_backend_find(name);
    return b && b->host_memory;
}

/* the first three micro-batches of 1, 2, 4, 8, ... the model accepts
 * (BatchNorm refuses one value per channel) */
static int measure_sizes(const model_config *mc, int out[3])
{
    char why[256];
    int n = 0;
    for (int m = 1; n < 3 && m <= 1024; m *= 2) {
        int sizes[1] = {m};
        if (!model_validate(mc, sizes, 1, why, sizeof why)) out[n++] = m;
    }
    return n;
}

typedef struct {
    strategy_kind s;
    int m, k;
} measure_job;

typedef struct {
    plan_points pts;
    plan_json *rows;        /* --save */
    size_t n_rows;
    int runs;
} measured;

static int measure(const plan_opts *o, const char *self, measured *ms, char *err, size_t err_len)
{
    int sizes[3];
    int n_sizes = measure_sizes(&o->cfg.model, sizes);
    char backend[8];
    snprintf(backend, sizeof backend, "%s", o->cfg.backend);
    measure_job todo[PLAN_MAX_POINTS];
    int n_todo = 0;
    for (int s = 0; s < STRATEGY_COUNT; s++) {
        if (!o->use[s]) continue;
        if (s == STRATEGY_FULL) {
            int bs[8], nb = 0;
            for (int i = 0; i < n_sizes; i++)
                for (int k = 1; k <= 2; k++) {
                    int b = sizes[i] * k, j = 0;
                    while (j < nb && bs[j] != b) j++;
                    if (j == nb) bs[nb++] = b;
                }
            for (int j = 0; j < nb; j++) todo[n_todo++] = (measure_job){STRATEGY_FULL, bs[j], 1};
        } else
            for (int i = 0; i < n_sizes; i++)
                for (int k = 1; k <= 2; k++) todo[n_todo++] = (measure_job){(strategy_kind)s, sizes[i], k};
    }
    ms->rows = calloc((size_t)n_todo, sizeof *ms->rows);
    if (!ms->rows) {
        snprintf(err, err_len, "out of host memory");
        return CLI_EXIT_OOM;
    }
    for (int t = 0; t < n_todo; t++) {
        child_result r;
        run_child(self, backend, o, todo[t].s, todo[t].m, todo[t].k, 0, NULL, measure_settings,
                  (int)(sizeof measure_settings / sizeof measure_settings[0]), PLAN_CHILD_TIMEOUT_S, &r);
        ms->runs++;
        if (!r.have_row) {
            snprintf(err, err_len, "--measure: run --strategy %s --micro-batch %d --iter-size %d failed (exit %d): %s",
                     strategy_name(todo[t].s), todo[t].m, todo[t].k, r.exit_code, r.why[0] ? r.why : "no output");
            return r.exit_code == CLI_EXIT_USAGE ? CLI_EXIT_USAGE : CLI_EXIT_CHECK;
        }
        /* later children run where the first one did (auto resolves once) */
        const char *b = plan_json_get(&r.row, "backend");
        if (b && t == 0) snprintf(backend, sizeof backend, "%s", b);
        plan_point p;
        char why[256];
        int rc = plan_point_from_json(&r.row, &p, why, sizeof why);
        if (rc < 0) {
            snprintf(err, err_len, "--measure: the run's JSON row: %s", why);
            plan_json_free(&r.row);
            return CLI_EXIT_CHECK;
        }
        if (rc == 0) {
            fprintf(stderr, "accumbench plan: measured %s %d x %d: %.0f bytes, %.0f samples/s\n",
                    strategy_name(p.strategy), p.micro_batch, p.iter_size, p.mem_bytes[PLAN_FIG_TRACKED],
                    p.step_ns > 0 ? p.effective_batch * 1e9 / p.step_ns : 0.0);
            if (plan_points_add(&ms->pts, &p)) {
                plan_json_free(&r.row);
                snprintf(err, err_len, "out of host memory");
                return CLI_EXIT_OOM;
            }
        } else {
            ms->pts.not_ok++;
            fprintf(stderr, "accumbench plan: %s %d x %d did not run: %s\n", strategy_name(todo[t].s), todo[t].m,
                    todo[t].k, r.why);
        }
        snprintf(ms->pts.backend, sizeof ms->pts.backend, "%s", backend);
        ms->rows[ms->n_rows++] = r.row;
    }
    return 0;
}

// ----------------------------------------------------------------------------
// printing

static const char *fmt_bytes(double bytes, char *buf, size_t len)
{
    double a = fabs(bytes);
    if (a >= 1073741824.0) snprintf(buf, len, "%.2f GiB", bytes / 1073741824.0);
    else if (a >= 1048576.0) snprintf(buf, len, "%.2f MiB", bytes / 1048576.0);
    else snprintf(buf, len, "%.2f KiB", bytes / 1024.0);
    return buf;
}

static void describe_model(const run_config *c, char *buf, size_t len)
{
    if (c->model.kind == MODEL_MLP)
        snprintf(buf, len, "mlp (input %d, hidden %d x %d layers)", c->model.input_dim, c->model.hidden,
                 c->model.layers);
    else
        snprintf(buf, len, "cnn (width %d, %d stages x %d blocks, norm %s)", c->model.width, c->model.stages,
                 c->model.blocks, norm_name(c->model.norm));
}

typedef struct {
    const plan_opts *o;
    const char *backend;
    plan_figure fig;
    double limit;
    const plan_fit *fits;
    size_t n_fits;
    plan_candidate *cand;
    size_t n_cand;
    long rec, smallest;
    const char *source;     /* "measured now" or the results path */
    size_t n_points, not_ok;
    /* --verify */
    int verified, verify_oom;
    double verify_peak, verify_rate;
} plan_report;

static void print_candidate_line(const plan_candidate *c, int mark)
{
    char pk[32];
    printf("  %c %-11s %11d %9d %6d %14s %12.1f%s\n", mark ? '*' : ' ', strategy_name(c->strategy), c->micro_batch,
           c->iter_size, c->last_micro_batch, fmt_bytes(c->peak_bytes, pk, sizeof pk), c->samples_per_s,
           c->extrapolated ? "  extrapolated" : "");
}

static void print_human(const plan_report *r)
{
    const plan_opts *o = r->o;
    char md[160], b1[32], b2[32], b3[32];
    describe_model(&o->cfg, md, sizeof md);
    printf("accumbench plan: backend %s, model %s, optimizer %s, effective batch %d\n", r->backend, md,
           optimizer_name(o->cfg.optimizer), o->effective_batch);
    printf("  budget %s with a %.1f%% margin: a configuration fits when its predicted peak is <= %s\n",
           fmt_bytes((double)o->budget_bytes, b1, sizeof b1), 100.0 * o->margin, fmt_bytes(r->limit, b2, sizeof b2));
    printf("  memory figure %s%s", plan_figure_column(r->fig),
           backend_host_memory(r->backend) ? " (in host memory every tensor of the run is in it)" : "");
    if (o->context_bytes) printf(", plus --context %s", fmt_bytes((double)o->context_bytes, b3, sizeof b3));
    printf("\n  points: %zu ok rows from %s", r->n_points, r->source);
    if (r->not_ok) printf(" (%zu not ok, left out)", r->not_ok);
    printf("\n\nfits: peak = fixed + scale x the model's activation bytes (held, plus one backward's temporaries)\n"
           "      throughput = samples/s of one micro-batch, linear in log2 m, flat beyond; plus a per-step overhead\n");
    printf("  %-11s %6s %12s %7s %14s %14s %10s %11s  %s\n", "strategy", "points", "fixed", "scale", "act/sample",
           "backward/m", "max resid", "overhead", "samples/s of a micro-batch of m");
    for (size_t i = 0; i < r->n_fits; i++) {
        const plan_fit *f = &r->fits[i];
        printf("  %-11s %6d %12s %6.3f%s %14s %14s %9.2f%% %8.1f us  ", strategy_name(f->strategy), f->n_points,
               fmt_bytes(f->fixed_bytes, b1, sizeof b1), f->scale, f->scale_assumed ? "*" : " ",
               fmt_bytes(f->act_bytes_per_sample, b2, sizeof b2), fmt_bytes(f->transient_bytes_per_sample, b3, sizeof b3),
               100.0 * f->max_rel_residual, f->overhead_ns / 1e3);
        for (int j = 0; j < f->n_rates; j++)
            printf("%s%s=%d %.0f", j ? ", " : "", f->strategy == STRATEGY_FULL ? "B" : "m", f->rate_m[j], f->rate[j]);
        putchar('\n');
    }
    for (size_t i = 0; i < r->n_fits; i++)
        if (r->fits[i].scale_assumed) {
            printf("  * the points do not separate scale from fixed (all round alike): scale 1 assumed\n");
            break;
        }
    size_t n_feasible = 0;
    for (size_t i = 0; i < r->n_cand; i++) n_feasible += r->cand[i].feasible;
    if (!n_feasible) {
        printf("\nconfigurations that fit: none of %zu\n", r->n_cand);
        return;
    }
    printf("\nconfigurations that fit (%zu of %zu), fastest first:\n", n_feasible, r->n_cand);
    printf("  %c %-11s %11s %9s %6s %14s %12s\n", ' ', "strategy", "micro-batch", "iter-size", "last",
           "predicted peak", "samples/s");
    for (size_t i = 0; i < r->n_cand; i++)
        if (r->cand[i].feasible) print_candidate_line(&r->cand[i], (long)i == r->rec);
    if (r->rec >= 0) {
        const plan_candidate *c = &r->cand[r->rec];
        printf("\nrecommendation: %s, micro-batch %d x iter-size %d", strategy_name(c->strategy), c->micro_batch,
               c->iter_size);
        if (c->last_micro_batch != c->micro_batch) printf(" (last micro-batch %d)", c->last_micro_batch);
        printf(": predicted peak %s (%.1f%% of the budget), %.1f samples/s%s\n",
               fmt_bytes(c->peak_bytes, b1, sizeof b1), 100.0 * c->peak_bytes / (double)o->budget_bytes,
               c->samples_per_s,
               c->extrapolated ? " (extrapolated: a micro-batch outside the measured ones, throughput held flat)" : "");
    }
    if (r->verified) {
        const plan_candidate *c = &r->cand[r->rec];
        if (r->verify_oom) printf("verify: out of memory under --mem-limit %s\n", fmt_bytes((double)o->budget_bytes, b1, sizeof b1));
        else
            printf("verify: peak predicted %s, measured %s (%+.2f%%); throughput predicted %.1f, measured %.1f "
                   "samples/s (%+.2f%%)\n",
                   fmt_bytes(c->peak_bytes, b1, sizeof b1), fmt_bytes(r->verify_peak, b2, sizeof b2),
                   100.0 * (c->peak_bytes - r->verify_peak) / r->verify_peak, c->samples_per_s, r->verify_rate,
                   100.0 * (c->samples_per_s - r->verify_rate) / r->verify_rate);
    }
}

static void json_candidate(const plan_candidate *c, double budget)
{
    printf("{\"strategy\": \"%s\", \"micro_batch\": %d, \"iter_size\": %d, \"last_micro_batch\": %d, "
           "\"predicted_peak_bytes\": %.17g, \"predicted_samples_per_s\": %.17g, \"extrapolated\": %s, "
           "\"feasible\": %s, \"budget_needed_bytes\": %.17g}",
           strategy_name(c->strategy), c->micro_batch, c->iter_size, c->last_micro_batch, c->peak_bytes,
           c->samples_per_s, c->extrapolated ? "true" : "false", c->feasible ? "true" : "false", budget);
}

static void print_json(const plan_report *r)
{
    const plan_opts *o = r->o;
    double keep = 1.0 - o->margin;
    printf("{\"backend\": \"%s\", \"effective_batch\": %d, \"budget_bytes\": %llu, \"margin\": %.17g, "
           "\"limit_bytes\": %.17g, \"context_bytes\": %llu, \"memory_figure\": \"%s\", \"points\": %zu, "
           "\"points_not_ok\": %zu,\n \"fits\": [",
           r->backend, o->effective_batch, (unsigned long long)o->budget_bytes, o->margin, r->limit,
           (unsigned long long)o->context_bytes, plan_figure_column(r->fig), r->n_points, r->not_ok);
    for (size_t i = 0; i < r->n_fits; i++) {
        const plan_fit *f = &r->fits[i];
        printf("%s\n  {\"strategy\": \"%s\", \"points\": %d, \"fixed_bytes\": %.17g, \"scale\": %.17g, "
               "\"scale_assumed\": %s, \"act_bytes_per_sample\": %.17g, \"transient_bytes_per_sample\": %.17g, "
               "\"max_rel_residual\": %.17g, \"step_overhead_ns\": %.17g, \"rates\": [",
               i ? "," : "", strategy_name(f->strategy), f->n_points, f->fixed_bytes, f->scale,
               f->scale_assumed ? "true" : "false", f->act_bytes_per_sample, f->transient_bytes_per_sample,
               f->max_rel_residual, f->overhead_ns);
        for (int j = 0; j < f->n_rates; j++)
            printf("%s{\"micro_batch\": %d, \"samples_per_s\": %.17g}", j ? ", " : "", f->rate_m[j], f->rate[j]);
        printf("]}");
    }
    printf("],\n \"candidates\": [");
    for (size_t i = 0; i < r->n_cand; i++) {
        printf("%s\n  ", i ? "," : "");
        json_candidate(&r->cand[i], r->cand[i].peak_bytes / keep);
    }
    printf("],\n \"recommendation\": ");
    if (r->rec >= 0) json_candidate(&r->cand[r->rec], r->cand[r->rec].peak_bytes / keep);
    else printf("null");
    printf(",\n \"smallest\": ");
    if (r->smallest >= 0) json_candidate(&r->cand[r->smallest], r->cand[r->smallest].peak_bytes / keep);
    else printf("null");
    if (r->verified)
        printf(",\n \"verify\": {\"status\": \"%s\", \"measured_peak_bytes\": %.17g, \"measured_samples_per_s\": %.17g}",
               r->verify_oom ? "oom" : "ok", r->verify_oom ? -1.0 : r->verify_peak, r->verify_oom ? -1.0 : r->verify_rate);
    printf("}\n");
}

// ----------------------------------------------------------------------------
// --verify

/* Runs the recommendation; 0 it fit, 1 it did not (or the run failed). */
static int verify(const plan_opts *o, const char *self, plan_report *r, char *err, size_t err_len)
{
    const plan_candidate *c = &r->cand[r->rec];
    char limit[32];
    snprintf(limit, sizeof limit, "%llu", (unsigned long long)o->budget_bytes);
    child_result cr;
    /* the cap is on tracked memory: on the CPU that is the whole run */
    run_child(self, r->backend, o, c->strategy, c->micro_batch, o->effective_batch, 1,
              backend_host_memory(r->backend) ? limit : NULL, verify_settings,
              (int)(sizeof verify_settings / sizeof verify_settings[0]), PLAN_VERIFY_TIMEOUT_S, &cr);
    if (!cr.have_row) {
        snprintf(err, err_len, "--verify: the run failed (exit %d): %s", cr.exit_code, cr.why);
        return 1;
    }
    r->verified = 1;
    const char *status = plan_json_get(&cr.row, "status");
    int rc = 0;
    if (status && !strcmp(status, "oom")) {
        r->verify_oom = 1;
        snprintf(err, err_len, "--verify: the recommended configuration ran out of memory: %s", cr.why);
        rc = 1;
    } else if (!status || strcmp(status, "ok") ||
               plan_json_number(&cr.row, plan_figure_column(r->fig), &r->verify_peak) != 0 ||
               plan_json_number(&cr.row, "samples_per_s", &r->verify_rate) != 0) {
        snprintf(err, err_len, "--verify: the run did not report %s and samples_per_s (status %s): %s",
                 plan_figure_column(r->fig), status ? status : "missing", cr.why);
        r->verified = 0;
        rc = 1;
    } else {
        r->verify_peak += (double)o->context_bytes;
        if (r->verify_peak > (double)o->budget_bytes) {
            snprintf(err, err_len, "--verify: measured peak %.0f bytes is over the budget %llu", r->verify_peak,
                     (unsigned long long)o->budget_bytes);
            rc = 1;
        }
    }
    plan_json_free(&cr.row);
    return rc;
}

// ----------------------------------------------------------------------------

/* the points: measured now (--measure, --save) or read (--results); src
 * names where they came from. 0, or an exit status with err */
static int gather_points(const plan_opts *o, const char *self, measured *ms, char *src, size_t src_len, char *err,
                         size_t err_len)
{
    if (o->measure) {
        int rc = measure(o, self, ms, err, err_len);
        if (rc) return rc;
        if (o->save_dir && plan_save_results(o->save_dir, ms->rows, ms->n_rows) != 0) {
            snprintf(err, err_len, "--save: writing '%s/results.csv' failed: %s", o->save_dir, strerror(errno));
            return CLI_EXIT_USAGE;
        }
        snprintf(src, src_len, "%d runs measured now", ms->runs);
    } else {
        if (plan_read_results(o->results_dir, &o->cfg, &ms->pts, err, err_len) != 0) return CLI_EXIT_USAGE;
        snprintf(src, src_len, "%s/results.csv", o->results_dir);
    }
    if (!ms->pts.n) {
        char md[160];
        describe_model(&o->cfg, md, sizeof md);
        snprintf(err, err_len, "%s: no ok rows for model %s, optimizer %s, math %s, conv-algo %s%s%s", src, md,
                 optimizer_name(o->cfg.optimizer), o->cfg.math_tf32 ? "tf32" : "fp32",
                 o->cfg.conv_algo_find ? "find" : "heuristic", strcmp(o->cfg.backend, "auto") ? ", backend " : "",
                 strcmp(o->cfg.backend, "auto") ? o->cfg.backend : "");
        return o->measure ? CLI_EXIT_CHECK : CLI_EXIT_USAGE;
    }
    return 0;
}

/* one fit per strategy asked for that the points determine; 0, or an exit
 * status with err */
static int fit_strategies(const plan_opts *o, const plan_points *pts, const char *backend, const char *src,
                          const model *mdl, plan_fit *fits, size_t *n_fits, plan_figure *fig, char *err,
                          size_t err_len)
{
    int f = plan_pick_figure(pts->v, pts->n, !backend_host_memory(backend));
    if (f < 0) {
        snprintf(err, err_len, "%s: the rows share no memory figure", src);
        return CLI_EXIT_USAGE;
    }
    *fig = (plan_figure)f;
    *n_fits = 0;
    for (int s = STRATEGY_ACCUMULATE; s >= 0; s--) {     /* accumulate, retain, full */
        if (!o->use[s]) continue;
        char why[512];
        if (plan_fit_strategy((strategy_kind)s, pts->v, pts->n, *fig, mdl, &fits[*n_fits], why, sizeof why) == 0)
            (*n_fits)++;
        else fprintf(stderr, "accumbench plan: note: %s: no fit: %s\n", src, why);
    }
    if (!*n_fits) {
        snprintf(err, err_len, "%s: no strategy has points enough to fit (two sizes or more, with step times)", src);
        return o->measure ? CLI_EXIT_CHECK : CLI_EXIT_USAGE;
    }
    if (!backend_host_memory(backend) && !o->context_bytes)
        fprintf(stderr, "accumbench plan: note: %s leaves out the CUDA context and library handles; "
                "--context SIZE adds them to the predictions\n", plan_figure_column(*fig));
    return 0;
}

static void report_nothing_fits(const plan_opts *o, const plan_candidate *c, double limit_bytes)
{
    char b1[32], b2[32], b3[32], b4[32];
    double need = ceil(c->peak_bytes / (1.0 - o->margin));
    cli_error("plan: nothing fits in %s with a %.1f%% margin (predicted peaks must be <= %s); the smallest "
              "predicted peak is %s (%s, micro-batch %d x iter-size %d), which needs --budget %.0f (%s)",
              fmt_bytes((double)o->budget_bytes, b1, sizeof b1), 100.0 * o->margin,
              fmt_bytes(limit_bytes, b2, sizeof b2), fmt_bytes(c->peak_bytes, b3, sizeof b3),
              strategy_name(c->strategy), c->micro_batch, c->iter_size, need, fmt_bytes(need, b4, sizeof b4));
}

static int plan_main(plan_opts *o)
{
    char err[8192], self[4096], src[4200];
    measured ms;
    memset(&ms, 0, sizeof ms);
    plan_fit fits[STRATEGY_COUNT];
    size_t n_fits = 0;
    plan_figure fig = PLAN_FIG_TRACKED;
    plan_candidate *cand = NULL;
    model mdl;
    if (proc_exe_path(self, sizeof self) != 0) {
        cli_error("plan: cannot find this program's path (/proc/self/exe)");
        return CLI_EXIT_CHECK;
    }
    /* shapes only: the size functions behind the fit's structure */
    if (model_build(&mdl, &o->cfg.model) != 0) {
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    int rc = gather_points(o, self, &ms, src, sizeof src, err, sizeof err);
    const char *backend = ms.pts.backend[0] ? ms.pts.backend : o->cfg.backend;
    if (!rc) rc = fit_strategies(o, &ms.pts, backend, src, &mdl, fits, &n_fits, &fig, err, sizeof err);
    if (rc) goto fail;
    plan_request rq = {o->effective_batch, o->ragged, o->micro_batches, o->n_micro_batches,
                       (double)o->budget_bytes * (1.0 - o->margin), (double)o->context_bytes};
    size_t n_cand = plan_candidates(fits, n_fits, &mdl, &rq, &cand);
    if (!n_cand) {
        snprintf(err, sizeof err, "--effective-batch: the model accepts no split of %d (see run --help)",
                 o->effective_batch);
        rc = CLI_EXIT_USAGE;
        goto fail;
    }
    plan_report r = {o, backend, fig, rq.limit_bytes, fits, n_fits, cand, n_cand, -1, -1, src,
                     ms.pts.n, ms.pts.not_ok, 0, 0, 0, 0};
    r.rec = plan_choose(cand, n_cand);
    r.smallest = plan_smallest(cand, n_cand);
    err[0] = '\0';
    if (r.rec >= 0 && o->verify) rc = verify(o, self, &r, err, sizeof err);
    if (o->json) print_json(&r);
    else print_human(&r);
    fflush(stdout);
    if (err[0]) cli_error("%s", err);
    if (r.rec < 0) {
        report_nothing_fits(o, &cand[r.smallest], rq.limit_bytes);
        rc = CLI_EXIT_CHECK;
    }
    goto done;
fail:
    cli_error("%s", err);
done:
    model_free(&mdl);
    free(cand);
    plan_points_free(&ms.pts);
    for (size_t i = 0; i < ms.n_rows; i++) plan_json_free(&ms.rows[i]);
    free(ms.rows);
    return rc;
}

int cmd_plan(int argc, char **argv)
{
    plan_opts o;
    int help;
    char err[512];
    int rc = parse_args(argc, argv, &o, &help, err, sizeof err);
    if (rc == 0 && help) usage(stdout);
    else if (rc != 0) cli_error("%s", err);
    else rc = plan_main(&o);
    free(o.micro_batches);
    return rc ? (rc < 0 ? CLI_EXIT_USAGE : rc) : CLI_EXIT_OK;
}
