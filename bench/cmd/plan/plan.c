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
 * (--measure): micro-batches 1, 2, 4 at iter_size 1 and 2 per strategy and
 * recompute value (full: effective batches 1, 2, 4, 8), each
 * `accumbench run --json` in its own process with short stopping settings.
 * Recompute none and blocks are searched side by side (--recompute LIST):
 * each has its own fits and its own model (the size functions follow
 * model_config.recompute), and --verify runs the recommendation with its
 * recompute value. */
#include "cli.h"
#include "commands.h"
#include "ops.h"
#include "parse.h"
#include "plan_fit.h"
#include "plan_points.h"
#include "plan_print.h"
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
#define PLAN_MAX_POINTS (16 * PLAN_RECOMPUTES)

/* short measuring runs: memory needs one step, throughput a stable median of
 * a few; the CPU backend's small steps stop by noise well inside 2 s */
static const char *const measure_settings[] = {"--warmup", "1", "--min-steps", "3", "--max-steps", "200",
                                               "--max-time", "2"};
static const char *const verify_settings[] = {"--warmup", "2", "--min-steps", "5", "--max-time", "10"};

/* run's flags that describe the model and where it runs: passed to run
 * children as given (--recompute is plan's own list: each child gets one) */
static const char *const model_flags[] = {"--backend", "--model", "--input-dim", "--hidden", "--layers",
                                          "--width", "--stages", "--blocks", "--norm", "--vocab", "--seq",
                                          "--d-model", "--heads", "--optimizer", "--math", "--conv-algo", "--seed",
                                          "--loss-norm"};
#define N_MODEL_FLAGS (sizeof model_flags / sizeof model_flags[0])

static const char *const plan_flags[] = {"--budget", "--effective-batch", "--margin", "--results", "--save",
                                         "--context", "--strategies", "--recompute", "--micro-batches", "--measure",
                                         "--verify", "--json", "--ragged"};
#define N_PLAN_FLAGS (sizeof plan_flags / sizeof plan_flags[0])
#define FIRST_BOOL_FLAG 9   /* plan_flags[9..] take no value */

typedef struct {
    uint64_t budget_bytes;
    int effective_batch;
    double margin;
    uint64_t context_bytes;
    const char *results_dir, *save_dir;
    int measure, verify, json, ragged;
    int use[STRATEGY_COUNT];
    int use_recompute[PLAN_RECOMPUTES];
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
          "                       [--recompute none,blocks] [--margin 5%] [--verify] [--json]\n\n"
          "Fits, per strategy and recompute value, peak memory = fixed + scale x the activation bytes the\n"
          "split holds (from the model's shapes) and throughput per micro-batch size, from measured\n"
          "configurations; lists every split of B that fits the budget with its predicted peak and samples/s,\n"
          "and recommends the fastest (as fast within 3%: fewer micro-batches, then less memory). Beside it,\n"
          "the option with and without recomputation: what recompute blocks buys at this budget (a larger\n"
          "micro-batch that outruns a smaller one, or nothing). Exit 1 when nothing fits.\n\n"
          "  --budget SIZE           the whole process's memory (GPU: context included, see --context);\n"
          "                          bytes, K/M/G/T (1024^n), KB/MB/GB/TB (1000^n)\n"
          "  --effective-batch B     samples per optimizer step\n"
          "  --results DIR           fit from a sweep's DIR/results.csv (rows of this model)\n"
          "  --measure               fit from runs started now: micro-batches 1, 2, 4 at iter-size 1 and 2,\n"
          "                          per strategy and recompute value (beyond 4 throughput is held flat:\n"
          "                          a larger micro-batch shows its speed only from --results rows that ran it)\n"
          "  --save DIR              with --measure: write those runs to DIR/results.csv for --results\n"
          "  --margin F              predictions must fit in budget x (1 - F): 5% (default), 0.1, 0\n"
          "  --context SIZE          added to every prediction: the CUDA context and library handles the\n"
          "                          GPU figures leave out (0; nvidia-smi shows a process's whole use)\n"
          "  --strategies LIST       of full,retain,accumulate (all three; full runs B as one batch)\n"
          "  --recompute LIST        of none,blocks (both; results rows made before the column are none)\n"
          "  --micro-batches LIST    micro-batches to consider (powers of two up to B)\n"
          "  --ragged                also every ceil(B/k): the smallest micro-batch for each iter-size\n"
          "  --verify                run the recommendation (its recompute value; --mem-limit budget on the CPU)\n"
          "                          and compare\n"
          "  --json                  print the whole plan as one JSON object\n"
          "model flags (as run): --backend --model --input-dim --hidden --layers --width --stages --blocks\n"
          "  --norm --vocab --seq --d-model --heads --optimizer --math --conv-algo --seed --loss-norm\n",
          f);
}

static int index_of(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], s)) return (int)i;
    return -1;
}

/* LIST of names (strategies, recompute values): use[i] set for each */
static int parse_names(const char *flag, const char *v, const char *(*name)(int), int n_names, int *use, char *err,
                       size_t err_len)
{
    char buf[4096], *save = NULL;
    snprintf(buf, sizeof buf, "%s", v);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = -1;
        for (int i = 0; i < n_names; i++)
            if (!strcmp(tok, name(i))) k = i;
        if (k < 0 || use[k]) {
            snprintf(err, err_len, "%s: '%s' is %s (a list of", flag, tok, k < 0 ? "not allowed" : "given twice");
            for (int i = 0; i < n_names; i++)
                snprintf(err + strlen(err), err_len - strlen(err), "%s %s", i ? "," : "", name(i));
            snprintf(err + strlen(err), err_len - strlen(err), ")");
            return -1;
        }
        use[k] = 1;
    }
    return 0;
}

static const char *strategy_at(int i) { return strategy_name((strategy_kind)i); }
static const char *recompute_at(int i) { return recompute_name((recompute_kind)i); }

static int parse_list(const char *flag, const char *v, plan_opts *o, char *err, size_t err_len)
{
    char buf[4096], why[256];
    if (snprintf(buf, sizeof buf, "%s", v) >= (int)sizeof buf || !*v || v[0] == ',' || v[strlen(v) - 1] == ',') {
        snprintf(err, err_len, "%s: must be a comma-separated list (got '%s')", flag, v);
        return -1;
    }
    if (!strcmp(flag, "--strategies")) return parse_names(flag, v, strategy_at, STRATEGY_COUNT, o->use, err, err_len);
    if (!strcmp(flag, "--recompute"))
        return parse_names(flag, v, recompute_at, PLAN_RECOMPUTES, o->use_recompute, err, err_len);
    size_t cap = 1;
    for (const char *p = v; *p; p++) cap += *p == ',';
    if (!(o->micro_batches = calloc(cap, sizeof *o->micro_batches))) {
        snprintf(err, err_len, "out of host memory");
        return -1;
    }
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        long m;
        if (parse_int(tok, 1, PLAN_MAX_EFFECTIVE_BATCH, &m, why, sizeof why)) {
            snprintf(err, err_len, "%s: %s", flag, why);
            return -1;
        }
        o->micro_batches[o->n_micro_batches++] = (int)m;
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
    if (!seen_plan[index_of(plan_flags, N_PLAN_FLAGS, "--recompute")])
        for (int r = 0; r < PLAN_RECOMPUTES; r++) o->use_recompute[r] = 1;
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

/* one configuration to run: micro-batch m and iter-size k, or (by_effective)
 * the effective batch k */
typedef struct {
    strategy_kind s;
    recompute_kind r;
    int m, k, by_effective;
} child_job;

typedef struct {
    int exit_code;
    plan_json row;          /* parsed when the child printed one */
    int have_row;
    char why[512];          /* the child's last stderr line, or what went wrong */
} child_result;

/* Runs one configuration; 0 when a JSON row came back (whatever its status). */
static int run_child(const char *self, const char *backend, const plan_opts *o, const child_job *j,
                     const char *mem_limit, const char *const *settings, int n_settings, double timeout_s,
                     child_result *r)
{
    char sm[16], sk[16];
    char *extra[24];
    int n = 0;
    memset(r, 0, sizeof *r);
    snprintf(sm, sizeof sm, "%d", j->m);
    snprintf(sk, sizeof sk, "%d", j->k);
    extra[n++] = "--strategy";
    extra[n++] = (char *)strategy_name(j->s);
    extra[n++] = "--recompute";
    extra[n++] = (char *)recompute_name(j->r);
    extra[n++] = "--micro-batch";
    extra[n++] = sm;
    extra[n++] = j->by_effective ? "--effective-batch" : "--iter-size";
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
    plan_points pts;
    plan_json *rows;        /* --save */
    size_t n_rows;
    int runs;
} measured;

/* the runs --measure starts: per recompute value and strategy asked for,
 * micro-batches of measure_sizes at iter-size 1 and 2 (full: each of those
 * effective batches once); returns the count */
static int measure_jobs(const plan_opts *o, child_job todo[PLAN_MAX_POINTS])
{
    int sizes[3];
    int n_sizes = measure_sizes(&o->cfg.model, sizes), n_todo = 0;
    for (int r = 0; r < PLAN_RECOMPUTES; r++)
        for (int s = 0; o->use_recompute[r] && s < STRATEGY_COUNT; s++) {
            if (!o->use[s]) continue;
            if (s != STRATEGY_FULL) {
                for (int i = 0; i < n_sizes; i++)
                    for (int k = 1; k <= 2; k++)
                        todo[n_todo++] = (child_job){(strategy_kind)s, (recompute_kind)r, sizes[i], k, 0};
                continue;
            }
            int bs[6], nb = 0;
            for (int i = 0; i < n_sizes; i++)
                for (int k = 1; k <= 2; k++) {
                    int b = sizes[i] * k, j = 0;
                    while (j < nb && bs[j] != b) j++;
                    if (j == nb) bs[nb++] = b;
                }
            for (int j = 0; j < nb; j++) todo[n_todo++] = (child_job){STRATEGY_FULL, (recompute_kind)r, bs[j], 1, 0};
        }
    return n_todo;
}

static int measure(const plan_opts *o, const char *self, measured *ms, char *err, size_t err_len)
{
    char backend[8];
    snprintf(backend, sizeof backend, "%s", o->cfg.backend);
    child_job todo[PLAN_MAX_POINTS];
    int n_todo = measure_jobs(o, todo);
    ms->rows = calloc((size_t)n_todo, sizeof *ms->rows);
    if (!ms->rows) {
        snprintf(err, err_len, "out of host memory");
        return CLI_EXIT_OOM;
    }
    for (int t = 0; t < n_todo; t++) {
        child_result r;
        run_child(self, backend, o, &todo[t], NULL, measure_settings,
                  (int)(sizeof measure_settings / sizeof measure_settings[0]), PLAN_CHILD_TIMEOUT_S, &r);
        ms->runs++;
        if (!r.have_row) {
            snprintf(err, err_len,
                     "--measure: run --strategy %s --recompute %s --micro-batch %d --iter-size %d failed (exit %d): %s",
                     strategy_name(todo[t].s), recompute_name(todo[t].r), todo[t].m, todo[t].k, r.exit_code,
                     r.why[0] ? r.why : "no output");
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
            fprintf(stderr, "accumbench plan: measured %s %d x %d, recompute %s: %.0f bytes, %.0f samples/s\n",
                    strategy_name(p.strategy), p.micro_batch, p.iter_size, recompute_name(p.recompute),
                    p.mem_bytes[PLAN_FIG_TRACKED],
                    p.step_ns > 0 ? p.effective_batch * 1e9 / p.step_ns : 0.0);
            if (plan_points_add(&ms->pts, &p)) {
                plan_json_free(&r.row);
                snprintf(err, err_len, "out of host memory");
                return CLI_EXIT_OOM;
            }
        } else {
            ms->pts.not_ok++;
            fprintf(stderr, "accumbench plan: %s %d x %d, recompute %s did not run: %s\n", strategy_name(todo[t].s),
                    todo[t].m, todo[t].k, recompute_name(todo[t].r), r.why);
        }
        snprintf(ms->pts.backend, sizeof ms->pts.backend, "%s", backend);
        ms->rows[ms->n_rows++] = r.row;
    }
    return 0;
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
    child_job job = {c->strategy, c->recompute, c->micro_batch, o->effective_batch, 1};
    /* the cap is on tracked memory: on the CPU that is the whole run */
    run_child(self, r->backend, o, &job, r->host_memory ? limit : NULL, verify_settings,
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
        if (plan_read_results(o->results_dir, &o->cfg, o->use_recompute, &ms->pts, err, err_len) != 0)
            return CLI_EXIT_USAGE;
        snprintf(src, src_len, "%s/results.csv", o->results_dir);
    }
    if (!ms->pts.n) {
        char md[160];
        plan_describe_model(&o->cfg, md, sizeof md);
        /* the recompute value when only one was asked for */
        const char *only = o->use_recompute[RECOMPUTE_BLOCKS] ? "blocks" : "none";
        int one = o->use_recompute[RECOMPUTE_NONE] != o->use_recompute[RECOMPUTE_BLOCKS];
        snprintf(err, err_len, "%s: no ok rows for model %s, optimizer %s, math %s, conv-algo %s%s%s%s%s", src, md,
                 optimizer_name(o->cfg.optimizer), o->cfg.math_tf32 ? "tf32" : "fp32",
                 o->cfg.conv_algo_find ? "find" : "heuristic", strcmp(o->cfg.backend, "auto") ? ", backend " : "",
                 strcmp(o->cfg.backend, "auto") ? o->cfg.backend : "", one ? ", recompute " : "", one ? only : "");
        return o->measure ? CLI_EXIT_CHECK : CLI_EXIT_USAGE;
    }
    return 0;
}

/* one fit per strategy and recompute value asked for that the points
 * determine, with mdl[r] the model built with recompute value r; 0, or an
 * exit status with err */
static int fit_strategies(const plan_opts *o, const plan_points *pts, const char *backend, const char *src,
                          const model mdl[PLAN_RECOMPUTES], plan_fit *fits, size_t *n_fits, plan_figure *fig,
                          char *err, size_t err_len)
{
    int f = plan_pick_figure(pts->v, pts->n, !backend_host_memory(backend));
    if (f < 0) {
        snprintf(err, err_len, "%s: the rows share no memory figure", src);
        return CLI_EXIT_USAGE;
    }
    *fig = (plan_figure)f;
    *n_fits = 0;
    for (int r = 0; r < PLAN_RECOMPUTES; r++)
        for (int s = STRATEGY_ACCUMULATE; o->use_recompute[r] && s >= 0; s--) {     /* accumulate, retain, full */
            if (!o->use[s]) continue;
            char why[512];
            if (plan_fit_strategy((strategy_kind)s, pts->v, pts->n, *fig, &mdl[r], &fits[*n_fits], why, sizeof why) ==
                0)
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
              "predicted peak is %s (%s, micro-batch %d x iter-size %d, recompute %s), which needs --budget %.0f (%s)",
              plan_fmt_bytes((double)o->budget_bytes, b1, sizeof b1), 100.0 * o->margin,
              plan_fmt_bytes(limit_bytes, b2, sizeof b2), plan_fmt_bytes(c->peak_bytes, b3, sizeof b3),
              strategy_name(c->strategy), c->micro_batch, c->iter_size, recompute_name(c->recompute), need,
              plan_fmt_bytes(need, b4, sizeof b4));
}

/* the report's request part, from the options */
static plan_report report_init(const plan_opts *o, const char *backend, plan_figure fig, const char *src,
                               const measured *ms)
{
    plan_report r;
    memset(&r, 0, sizeof r);
    r.cfg = &o->cfg;
    r.effective_batch = o->effective_batch;
    r.budget_bytes = o->budget_bytes;
    r.context_bytes = o->context_bytes;
    r.margin = o->margin;
    r.limit = (double)o->budget_bytes * (1.0 - o->margin);
    memcpy(r.searched, o->use_recompute, sizeof r.searched);
    r.backend = backend;
    r.host_memory = backend_host_memory(backend);
    r.fig = fig;
    r.source = src;
    r.n_points = ms->pts.n;
    r.not_ok = ms->pts.not_ok;
    r.rec = r.smallest = -1;
    return r;
}

/* candidates, choice, --verify and the output; returns the exit status */
static int plan_decide(const plan_opts *o, const char *self, plan_report *r, plan_candidate *cand, size_t n_cand)
{
    char err[8192] = "";
    int rc = 0;
    r->cand = cand;
    r->n_cand = n_cand;
    r->rec = plan_choose(cand, n_cand);
    r->smallest = plan_smallest(cand, n_cand);
    plan_sides(cand, n_cand, r->rec, r->side);
    if (r->rec >= 0 && o->verify) rc = verify(o, self, r, err, sizeof err);
    if (o->json) plan_print_json(r);
    else plan_print_text(r);
    fflush(stdout);
    if (err[0]) cli_error("%s", err);
    if (r->rec < 0) {
        report_nothing_fits(o, &cand[r->smallest], r->limit);
        rc = CLI_EXIT_CHECK;
    }
    return rc;
}

static int plan_main(plan_opts *o)
{
    char err[8192], self[4096], src[4200];
    measured ms;
    memset(&ms, 0, sizeof ms);
    plan_fit fits[STRATEGY_COUNT * PLAN_RECOMPUTES];
    size_t n_fits = 0, n_built = 0;
    plan_figure fig = PLAN_FIG_TRACKED;
    plan_candidate *cand = NULL;
    model mdl[PLAN_RECOMPUTES];
    if (proc_exe_path(self, sizeof self) != 0) {
        cli_error("plan: cannot find this program's path (/proc/self/exe)");
        return CLI_EXIT_CHECK;
    }
    /* shapes only: the size functions behind the fits' structure, one model
     * per recompute value (they follow model_config.recompute) */
    for (; n_built < PLAN_RECOMPUTES; n_built++) {
        model_config mc = o->cfg.model;
        mc.recompute = (recompute_kind)n_built;
        if (model_build(&mdl[n_built], &mc) != 0) break;
    }
    int rc = n_built < PLAN_RECOMPUTES ? CLI_EXIT_OOM : 0;
    if (rc) snprintf(err, sizeof err, "out of host memory");
    if (!rc) rc = gather_points(o, self, &ms, src, sizeof src, err, sizeof err);
    const char *backend = ms.pts.backend[0] ? ms.pts.backend : o->cfg.backend;
    if (!rc) rc = fit_strategies(o, &ms.pts, backend, src, mdl, fits, &n_fits, &fig, err, sizeof err);
    if (rc) goto fail;
    plan_request rq = {o->effective_batch, o->ragged, o->micro_batches, o->n_micro_batches,
                       (double)o->budget_bytes * (1.0 - o->margin), (double)o->context_bytes};
    size_t n_cand = plan_candidates(fits, n_fits, &rq, &cand);
    if (!n_cand) {
        snprintf(err, sizeof err, "--effective-batch: the model accepts no split of %d (see run --help)",
                 o->effective_batch);
        rc = CLI_EXIT_USAGE;
        goto fail;
    }
    plan_report r = report_init(o, backend, fig, src, &ms);
    r.fits = fits;
    r.n_fits = n_fits;
    rc = plan_decide(o, self, &r, cand, n_cand);
    goto done;
fail:
    cli_error("%s", err);
done:
    for (size_t i = 0; i < n_built; i++) model_free(&mdl[i]);
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
