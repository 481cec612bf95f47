/* bench/cmd/report/aggregate.c — the row model (report.h) from a results
 * directory read by rundir.h: every results.csv row parsed once, joined to
 * its configuration (rundir's join), and each configuration's repeats
 * aggregated; then the engines and the stability flags. */
#include "report.h"
#include "cli.h"
#include "stats.h"
#include "strmap.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *const report_mem_columns[MEM_COUNT] = {"mem_tracked_bytes", "mem_reserved_bytes", "mem_device_bytes",
                                                   "mem_driver_bytes",  "rss_delta_bytes",    "data_bytes",
                                                   "mem_analytic_bytes"};
const char *const report_mem_titles[MEM_COUNT] = {"tracked MiB", "reserved MiB", "device MiB", "driver MiB",
                                                  "RSS Δ MiB",  "data MiB",     "analytic MiB"};
/* the memory figures rundir aggregates itself, by report index; -1: none */
static const int rundir_mem_of[MEM_COUNT] = {RUNDIR_MEM_TRACKED, -1, RUNDIR_MEM_DEVICE, -1, RUNDIR_RSS_DELTA, -1, -1};

void report_note(report *rp, const char *fmt, ...)
{
    if (rp->nnotes >= 8) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->notes[rp->nnotes++], sizeof rp->notes[0], fmt, ap);
    va_end(ap);
}

// ----------------------------------------------------------------------------
// rows

static const char *cell(const csv_table *t, size_t row, long col)
{
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, NULL) : NULL;
    return s ? s : "";
}

static int get_int(report *rp, size_t row, const char *name, int required, long long *out)
{
    const csv_table *t = &rp->run.results;
    long col = csv_column(t, name, 0);
    size_t len = 0;
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, &len) : "";
    int rc = csv_parse_int(s, len, out);
    if (rc == 0) return 0;
    if (rc == 1 && !required) {
        *out = -1;
        return 0;
    }
    fmt_into(rp->err, sizeof rp->err, "%s:%zu: column '%s': '%.40s' is %s", t->name, csv_row_line(t, row), name, s,
             rc == 1 ? "empty" : "not an integer");
    return -1;
}

/* An empty cell is NAN (not measured). Where a run may leave a reason
 * instead of a number (mem_device_bytes from CUPTI, a peer's grad_rel_err:
 * lenient), that text reads as not measured too; elsewhere it is bad input. */
static int get_num(report *rp, size_t row, const char *name, int lenient, double *out)
{
    const csv_table *t = &rp->run.results;
    int rc = csv_get_double(t, row, csv_column(t, name, 0), out, rp->err, sizeof rp->err);
    if (rc == 1 || (rc < 0 && lenient)) {
        *out = NAN;
        rp->err[0] = '\0';
        return 0;
    }
    return rc < 0 ? -1 : 0;
}

static int parse_row(report *rp, size_t r, report_row *w)
{
    const csv_table *t = &rp->run.results;
    w->config = rp->run.row_config[r];
    w->next = REPORT_NONE;
    w->engine = cell(t, r, csv_column(t, "engine", 0));
    if (!*w->engine) w->engine = "accumbench";
    w->strategy = cell(t, r, csv_column(t, "strategy", 0));
    w->status_text = cell(t, r, csv_column(t, "status", 0));
    w->status = result_status_parse(w->status_text);
    w->stop_reason = cell(t, r, csv_column(t, "stop_reason", 0));
    w->error = cell(t, r, csv_column(t, "error", 0));
    if (get_int(rp, r, "micro_batch", 1, &w->micro_batch) || get_int(rp, r, "iter_size", 1, &w->iter_size) ||
        get_int(rp, r, "effective_batch", 1, &w->effective_batch) || get_int(rp, r, "repeat", 0, &w->repeat) ||
        get_int(rp, r, "steps_timed", 0, &w->steps_timed) ||
        get_num(rp, r, "step_median_ns", 0, &w->step_median_ns) ||
        get_num(rp, r, "step_p10_ns", 0, &w->step_p10_ns) || get_num(rp, r, "step_p90_ns", 0, &w->step_p90_ns) ||
        get_num(rp, r, "samples_per_s", 0, &w->samples_per_s) || get_num(rp, r, "noise", 0, &w->noise) ||
        get_num(rp, r, "grad_rel_err", 1, &w->grad_rel_err))
        return -1;
    for (int m = 0; m < MEM_COUNT; m++)
        if (get_num(rp, r, report_mem_columns[m], m == MEM_DEVICE, &w->mem[m])) return -1;
    if (w->micro_batch <= 0 || w->iter_size <= 0 || w->effective_batch <= 0) {
        fmt_into(rp->err, sizeof rp->err, "%s:%zu: micro_batch, iter_size and effective_batch must be > 0", t->name,
                 csv_row_line(t, r));
        return -1;
    }
    return 0;
}

static int parse_rows(report *rp)
{
    const csv_table *t = &rp->run.results;
    static const char *const required[] = {"micro_batch", "iter_size", "effective_batch"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (csv_column(t, required[i], 0) < 0) {
            fmt_into(rp->err, sizeof rp->err, "%s:1: no column '%s'", t->name, required[i]);
            return -1;
        }
    if (t->nrows == 0) {
        fmt_into(rp->err, sizeof rp->err, "%s: no result rows", t->name);
        return -1;
    }
    rp->rows = calloc(t->nrows, sizeof *rp->rows);
    if (!rp->rows) {
        fmt_into(rp->err, sizeof rp->err, "%s: out of memory", t->name);
        return -1;
    }
    rp->noise_from_results = csv_column(t, "noise", 0) >= 0;
    for (size_t r = 0; r < t->nrows; r++, rp->nrows++)
        if (parse_row(rp, r, &rp->rows[r])) return -1;
    return 0;
}

// ----------------------------------------------------------------------------
// configurations

/* the model in words; every table and title that names a configuration
 * tells recompute = blocks from none by it */
static void model_label(const csv_table *t, size_t row, int blocks, char *out, size_t len)
{
#define COL(name) cell(t, row, csv_column(t, name, 0))
    const char *model = COL("model");
    if (!strcmp(model, "mlp"))
        snprintf(out, len, "mlp %s→%s×%s, %s, %s", COL("input_dim"), COL("hidden"), COL("layers"), COL("backend"),
                 COL("optimizer"));
    else if (!strcmp(model, "cnn"))
        snprintf(out, len, "cnn width %s, %s×%s blocks, %s norm, %s, %s", COL("width"), COL("stages"), COL("blocks"),
                 COL("norm"), COL("backend"), COL("optimizer"));
    else if (!strcmp(model, "gpt"))
        snprintf(out, len, "gpt vocab %s, %s tokens, width %s, %s heads, %s layers, %s, %s", COL("vocab"), COL("seq"),
                 COL("d_model"), COL("heads"), COL("layers"), COL("backend"), COL("optimizer"));
    else snprintf(out, len, "%s, %s, %s", model, COL("backend"), COL("optimizer"));
#undef COL
    size_t n = strlen(out);
    if (blocks && n < len) snprintf(out + n, len - n, ", recompute blocks");
}

typedef enum { JOIN_GROUP, JOIN_PAIR, JOIN_PGROUP, JOIN_MGROUP, JOIN_RTWIN, JOIN_N } join_kind;

/* the key columns a join leaves out (repeat is never in a configuration) */
static int join_skips(join_kind kind, const char *name)
{
    static const char *const split[] = {"strategy", "micro_batch", "iter_size", "effective_batch",
                                        "last_micro_batch"};
    if (!strcmp(name, "engine")) return kind == JOIN_PAIR || kind == JOIN_PGROUP || kind == JOIN_MGROUP;
    if (!strcmp(name, "recompute")) return kind == JOIN_MGROUP || kind == JOIN_RTWIN;
    if (kind == JOIN_PAIR || kind == JOIN_RTWIN) return 0;
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++)
        if (!strcmp(name, split[i])) return 1;
    return 0;
}

/* the id of c's key of this kind: the same key, the same id */
static long intern(report *rp, strmap *ids, join_kind kind, const rundir_config *c, sbuf *b)
{
    const rundir *d = &rp->run;
    b->n = 0;
    sb_put(b, "", 0);
    for (size_t i = 0; i < d->n_keys; i++) {
        if (i == d->repeat_key || join_skips(kind, d->key_names[i])) continue;
        sb_str(b, c->values[i]);
        sb_put(b, "\x1f", 1);
    }
    size_t id;
    if (b->failed) return -1;
    if (strmap_get(ids, b->s, &id)) return (long)id;
    id = ids->n;
    return strmap_put(ids, b->s, id) ? -1 : (long)id;
}

static int assign_ids(report *rp)
{
    strmap ids[JOIN_N];
    for (int k = 0; k < JOIN_N; k++) strmap_init(&ids[k]);
    sbuf b = {0};
    int rc = 0;
    for (size_t c = 0; c < rp->ncfgs && !rc; c++) {
        report_config *g = &rp->cfgs[c];
        long *out[JOIN_N] = {[JOIN_GROUP] = &g->group, [JOIN_PAIR] = &g->pair, [JOIN_PGROUP] = &g->pgroup,
                             [JOIN_MGROUP] = &g->mgroup, [JOIN_RTWIN] = &g->rtwin};
        for (int k = 0; k < JOIN_N; k++) {
            *out[k] = intern(rp, &ids[k], (join_kind)k, g->rc, &b);
            rc |= *out[k] < 0;
        }
    }
    sb_free(&b);
    for (int k = 0; k < JOIN_N; k++) strmap_free(&ids[k]);
    if (rc) fmt_into(rp->err, sizeof rp->err, "%s: out of memory", rp->run.results.name);
    return rc ? -1 : 0;
}

/* the repeats' figures that rundir does not aggregate: memory medians, the
 * samples/s range, the largest grad_rel_err; v holds nrows doubles */
static void aggregate_rows(report *rp, report_config *g, double *v)
{
    g->sps_min = g->sps_max = g->grad_err = NAN;
    for (int m = 0; m < MEM_COUNT; m++) {
        size_t n = 0;
        for (size_t r = g->first_row; r != REPORT_NONE; r = rp->rows[r].next) {
            const report_row *w = &rp->rows[r];
            if ((w->status == RESULT_OK || m == MEM_ANALYTIC) && !isnan(w->mem[m])) v[n++] = w->mem[m];
        }
        g->mem[m] = rundir_mem_of[m] >= 0 ? g->rc->mem[rundir_mem_of[m]] : stats_median(v, n);
    }
    for (size_t r = g->first_row; r != REPORT_NONE; r = rp->rows[r].next) {
        const report_row *w = &rp->rows[r];
        if (!isnan(w->grad_rel_err) && !(w->grad_rel_err <= g->grad_err)) g->grad_err = w->grad_rel_err;
        g->n_oom += w->status == RESULT_OOM;
        if (w->status != RESULT_OK || isnan(w->samples_per_s)) continue;
        if (!(w->samples_per_s >= g->sps_min)) g->sps_min = w->samples_per_s;
        if (!(w->samples_per_s <= g->sps_max)) g->sps_max = w->samples_per_s;
    }
    g->mem_fig_rss = isnan(g->mem[MEM_TRACKED]) && !isnan(g->mem[MEM_RSS]);
    g->mem_fig = g->mem_fig_rss ? g->mem[MEM_RSS] : g->mem[MEM_TRACKED];
}

/* The stability test (design "Throughput and noise"). noise is the rows'
 * own --noise setting when results.csv has a `noise` column (results made
 * before it have none), else the run's default (cli_defaults: 0.01). */
static void judge_stability(report *rp, report_config *g)
{
    const report_row *first = &rp->rows[g->first_row];
    g->noise = rp->noise_from_results && !isnan(first->noise) ? first->noise : rp->default_noise;
    /* one process says nothing about the spread between processes */
    g->spread_rel = g->n_ok >= 2 && g->step_ns > 0 ? (g->step_max_ns - g->step_min_ns) / g->step_ns : NAN;
    g->unstable = g->n_ok >= 2 && g->spread_rel > stats_unstable_limit(g->noise);
    rp->n_repeated += g->n_ok >= 2;
    rp->n_unstable += g->unstable;
}

static void init_config(report *rp, size_t c, report_config *g)
{
    const rundir_config *rc = &rp->run.configs[c];
    const report_row *w = &rp->rows[rc->first_row];
    g->rc = rc;
    g->first_row = rc->first_row;
    g->engine = w->engine;
    g->backend = cell(&rp->run.results, rc->first_row, csv_column(&rp->run.results, "backend", 0));
    g->strategy = w->strategy;
    long ri = rundir_key_index(&rp->run, "recompute");
    g->blocks = ri >= 0 && !strcmp(rc->values[ri], "blocks");
    rp->have_blocks |= g->blocks;
    model_label(&rp->run.results, rc->first_row, g->blocks, g->label, sizeof g->label);
    g->mb = w->micro_batch;
    g->k = w->iter_size;
    g->eb = w->effective_batch;
    g->n = rc->n_rows;
    g->n_ok = rc->n_ok;
    g->step_ns = rc->step_median_ns;
    g->step_min_ns = rc->step_min_ns;
    g->step_max_ns = rc->step_max_ns;
    g->sps = rc->samples_per_s;
    g->profiled_steps = (double)rc->n_profiled;
}

/* accumbench when it ran ok, else the first engine that did */
static void choose_engines(report *rp)
{
    const char *primary = NULL;
    for (size_t c = 0; c < rp->ncfgs && !primary; c++)
        if (rp->cfgs[c].n_ok && !strcmp(rp->cfgs[c].engine, "accumbench")) primary = "accumbench";
    for (size_t c = 0; c < rp->ncfgs && !primary; c++)
        if (rp->cfgs[c].n_ok) primary = rp->cfgs[c].engine;
    rp->engines[rp->nengines++] = primary ? primary : rp->cfgs[0].engine;
    for (size_t c = 0; c < rp->ncfgs; c++) {
        report_config *g = &rp->cfgs[c];
        int e = 0;
        while (e < rp->nengines && strcmp(rp->engines[e], g->engine)) e++;
        if (e == rp->nengines && e < REPORT_MAX_ENGINES) rp->engines[rp->nengines++] = g->engine;
        /* a fifth engine and beyond share the last slot's style */
        g->eng = e < REPORT_MAX_ENGINES ? e : REPORT_MAX_ENGINES - 1;
    }
}

static int build_configs(report *rp)
{
    rp->ncfgs = rp->run.n_configs;
    rp->cfgs = calloc(rp->ncfgs, sizeof *rp->cfgs);
    double *scratch = malloc(rp->nrows * sizeof *scratch);
    if (!rp->cfgs || !scratch) {
        free(scratch);
        fmt_into(rp->err, sizeof rp->err, "%s: out of memory", rp->run.results.name);
        return -1;
    }
    /* each configuration's rows in file order: link them back to front */
    for (size_t r = rp->nrows; r-- > 0;) {
        size_t c = rp->rows[r].config;
        rp->rows[r].next = rp->cfgs[c].rc ? rp->cfgs[c].first_row : REPORT_NONE;
        rp->cfgs[c].rc = &rp->run.configs[c];
        rp->cfgs[c].first_row = r;
    }
    for (size_t c = 0; c < rp->ncfgs; c++) {
        init_config(rp, c, &rp->cfgs[c]);
        aggregate_rows(rp, &rp->cfgs[c], scratch);
        judge_stability(rp, &rp->cfgs[c]);
    }
    free(scratch);
    choose_engines(rp);
    return assign_ids(rp);
}

int report_load(report *rp, const char *dir)
{
    run_config defaults;
    cli_defaults(&defaults);
    rp->default_noise = defaults.noise;
    rp->dir = dir;
    char steps[4200];
    rp->have_steps = fmt_into(steps, sizeof steps, "%s/steps.csv", dir) == 0 && access(steps, F_OK) == 0;
    if (rundir_load(&rp->run, dir, rp->have_steps, rp->err, sizeof rp->err)) return -1;
    rp->run_loaded = 1;
    if (parse_rows(rp) || build_configs(rp)) return -1;
    return 0;
}

void report_free(report *rp)
{
    for (size_t i = 0; i < rp->ncfgs; i++) {
        for (size_t k = 0; k < rp->cfgs[i].ntop; k++) free(rp->cfgs[i].top[k].kernel);
        free(rp->cfgs[i].top);
    }
    free(rp->rows);
    free(rp->cfgs);
    if (rp->run_loaded) rundir_free(&rp->run);
}

const report_config *report_group_rep(const report *rp, long group)
{
    for (size_t i = 0; i < rp->ncfgs; i++)
        if (rp->cfgs[i].group == group) return &rp->cfgs[i];
    return NULL;
}

int report_device_memory(const report *rp, const char *backend)
{
    const ops_backend_i *b = ops_backend_find(backend);
    if (b) return !b->host_memory;
    /* results from a build with a backend this one lacks */
    for (size_t r = 0; r < rp->nrows; r++) {
        const report_config *g = &rp->cfgs[rp->rows[r].config];
        const double *mem = rp->rows[r].mem;
        if (!strcmp(g->backend, backend) &&
            (!isnan(mem[MEM_RESERVED]) || !isnan(mem[MEM_DEVICE]) || !isnan(mem[MEM_DRIVER])))
            return 1;
    }
    return 0;
}
