/* bench/cmd/plan/plan_fit.c — the planner's fits, predictions, candidates and choice
 * (see plan_fit.h). Bytes and nanoseconds are doubles: sums of many sizes, fitted
 * slopes and predictions are not integers anyway. */
#include "plan_fit.h"
#include "memory_model.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *plan_figure_column(plan_figure f)
{
    static const char *n[] = {"mem_tracked_bytes", "mem_device_bytes", "mem_driver_bytes"};
    return (unsigned)f < PLAN_FIG_COUNT ? n[f] : "?";
}

int plan_pick_figure(const plan_point *p, size_t n, int on_gpu)
{
    static const plan_figure gpu_order[] = {PLAN_FIG_DRIVER, PLAN_FIG_DEVICE, PLAN_FIG_TRACKED};
    static const plan_figure cpu_order[] = {PLAN_FIG_TRACKED};
    const plan_figure *order = on_gpu ? gpu_order : cpu_order;
    size_t n_order = on_gpu ? 3 : 1;
    for (size_t j = 0; j < n_order; j++) {
        size_t i = 0;
        while (i < n && p[i].mem_bytes[order[j]] >= 0) i++;
        if (n && i == n) return (int)order[j];
    }
    return -1;
}

double plan_structure_bytes(const model *mdl, strategy_kind s, int micro_batch, int iter_size, int last_micro_batch)
{
    run_config c;
    memset(&c, 0, sizeof c);
    c.model = mdl->cfg;
    c.micro_batch = micro_batch;
    c.iter_size = iter_size;
    c.last_micro_batch = last_micro_batch;
    c.effective_batch = (iter_size - 1) * micro_batch + last_micro_batch;
    memory_estimate e = memory_analytic(mdl, &c, s, 0, 0);
    return (double)(e.activations + e.transient + e.ones);
}

// ----------------------------------------------------------------------------
// memory

/* Least squares y ≈ a + b x (centred sums, so bytes in the gigabytes lose
 * nothing); -1 when the x do not vary. */
static int fit_line(const double *x, const double *y, size_t n, double *a, double *b)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    for (size_t i = 0; i < n; i++) {
        mx += x[i] / (double)n;
        my += y[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++) {
        sxx += (x[i] - mx) * (x[i] - mx);
        sxy += (x[i] - mx) * (y[i] - my);
    }
    if (!(sxx > 1e-18 * mx * mx)) return -1;
    *b = sxy / sxx;
    *a = my - *b * mx;
    return 0;
}

/* a batch large enough that rounding to OPS_ALIGN_BYTES is noise, for the
 * per-sample figures of the report */
#define PLAN_REPORT_BATCH 65536

/* the points this fit uses: its strategy and recompute value */
static int fit_takes(const plan_fit *f, const plan_point *q)
{
    return q->strategy == f->strategy && q->recompute == f->recompute;
}

static int fit_memory(const plan_point *p, size_t n, plan_figure fig, plan_fit *f, char *err, size_t err_len)
{
    const model *mdl = f->mdl;
    double *x = calloc(n ? n : 1, sizeof *x), *y = calloc(n ? n : 1, sizeof *y);
    size_t m = 0;
    if (!x || !y) {
        free(x);
        free(y);
        snprintf(err, err_len, "out of host memory");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        if (!fit_takes(f, &p[i]) || p[i].mem_bytes[fig] < 0) continue;
        x[m] = plan_structure_bytes(mdl, f->strategy, p[i].micro_batch, p[i].iter_size, p[i].last_micro_batch);
        y[m] = p[i].mem_bytes[fig];
        m++;
    }
    if (m == 0) {
        snprintf(err, err_len, "%s, recompute %s: no point has %s", strategy_name(f->strategy),
                 recompute_name(f->recompute), plan_figure_column(fig));
        free(x);
        free(y);
        return -1;
    }
    double fixed = 0, scale = 0;
    f->scale_assumed = 0;
    if (fit_line(x, y, m, &fixed, &scale) != 0 || !(scale > 0)) {
        /* the points cannot separate scale from fixed (one size, or tensors
         * so small that every measured size rounds alike): trust the
         * structure's scale, as on the CPU, and fit the fixed part alone */
        f->scale_assumed = 1;
        scale = 1;
        fixed = 0;
        for (size_t i = 0; i < m; i++) fixed += (y[i] - x[i]) / (double)m;
    }
    f->fixed_bytes = fixed;
    f->scale = scale;
    f->n_points = (int)m;
    f->max_rel_residual = 0;
    for (size_t i = 0; i < m; i++) {
        double rel = y[i] > 0 ? fabs(fixed + scale * x[i] - y[i]) / y[i] : 0;
        if (rel > f->max_rel_residual) f->max_rel_residual = rel;
    }
    f->act_bytes_per_sample = scale * (double)model_act_bytes(mdl, PLAN_REPORT_BATCH) / PLAN_REPORT_BATCH;
    f->transient_bytes_per_sample =
        scale * (double)(model_grad_transient_bytes(mdl, PLAN_REPORT_BATCH) + PLAN_REPORT_BATCH * sizeof(float)) /
        PLAN_REPORT_BATCH;
    free(x);
    free(y);
    return 0;
}

// ----------------------------------------------------------------------------
// throughput

/* step = overhead + k · t_m over the evenly split points. Least squares with
 * one shared overhead o and a time t_m per micro-batch: for a given o, t_m is
 * Σ k(step − o) / Σ k² over that m's points, which leaves a one-variable
 * problem in o: o = Σ u·v / Σ v², u = step − k·Sks/Skk, v = 1 − k·Sk/Skk.
 * When every micro-batch was measured at one iter_size only, o is not
 * determined and is 0 (the optimizer then counts as micro-batch work). */
static int fit_rates(const plan_point *p, size_t n, plan_fit *f, char *err, size_t err_len)
{
    int ms[PLAN_MAX_RATES];
    double sk[PLAN_MAX_RATES] = {0}, skk[PLAN_MAX_RATES] = {0}, sks[PLAN_MAX_RATES] = {0};
    int nm = 0;
    for (size_t i = 0; i < n; i++) {
        const plan_point *q = &p[i];
        if (!fit_takes(f, q) || q->step_ns <= 0 || q->last_micro_batch != q->micro_batch) continue;
        int j = 0;
        while (j < nm && ms[j] != q->micro_batch) j++;
        if (j == nm) {
            if (nm == PLAN_MAX_RATES) continue;
            ms[nm++] = q->micro_batch;
        }
        sk[j] += q->iter_size;
        skk[j] += (double)q->iter_size * q->iter_size;
        sks[j] += q->iter_size * q->step_ns;
    }
    if (nm == 0) {
        snprintf(err, err_len, "%s, recompute %s: no evenly split point with a step time", strategy_name(f->strategy),
                 recompute_name(f->recompute));
        return -1;
    }
    double suv = 0, svv = 0, min_step = INFINITY;
    for (size_t i = 0; i < n; i++) {
        const plan_point *q = &p[i];
        if (!fit_takes(f, q) || q->step_ns <= 0 || q->last_micro_batch != q->micro_batch) continue;
        int j = 0;
        while (j < nm && ms[j] != q->micro_batch) j++;
        if (j == nm) continue;
        double u = q->step_ns - q->iter_size * sks[j] / skk[j];
        double v = 1.0 - q->iter_size * sk[j] / skk[j];
        suv += u * v;
        svv += v * v;
        if (q->step_ns < min_step) min_step = q->step_ns;
    }
    double o = svv > 1e-9 ? suv / svv : 0.0;
    if (!(o > 0) || o >= min_step) o = 0;    /* noise can push it out of range: no overhead then */
    f->overhead_ns = o;
    /* t_m and the rate m / t_m; micro-batches ascending */
    f->n_rates = 0;
    for (int done = 0; done < nm; done++) {
        int j = -1;
        for (int c = 0; c < nm; c++)
            if ((j < 0 || ms[c] < ms[j]) && (f->n_rates == 0 || ms[c] > f->rate_m[f->n_rates - 1])) j = c;
        double sum_ks = sks[j] - o * sk[j];
        double t = sum_ks / skk[j];
        if (!(t > 0)) t = sks[j] / skk[j];    /* the overhead ate it: count the whole step */
        f->rate_m[f->n_rates] = ms[j];
        f->rate[f->n_rates] = ms[j] * 1e9 / t;
        f->n_rates++;
    }
    return 0;
}

int plan_fit_strategy(strategy_kind s, const plan_point *p, size_t n, plan_figure fig, const model *mdl,
                      plan_fit *out, char *err, size_t err_len)
{
    memset(out, 0, sizeof *out);
    out->strategy = s;
    out->recompute = mdl->cfg.recompute;
    out->mdl = mdl;
    if (fit_memory(p, n, fig, out, err, err_len) != 0) return -1;
    return fit_rates(p, n, out, err, err_len);
}

double plan_predict_peak(const plan_fit *f, int micro_batch, int iter_size, int last_micro_batch)
{
    return f->fixed_bytes +
           f->scale * plan_structure_bytes(f->mdl, f->strategy, micro_batch, iter_size, last_micro_batch);
}

/* samples/s of one micro-batch of m, linear in log2 m between measured ones */
static double rate_at(const plan_fit *f, int m, int *extrapolated)
{
    if (m < f->rate_m[0] || m > f->rate_m[f->n_rates - 1]) *extrapolated = 1;
    if (m <= f->rate_m[0]) return f->rate[0];
    for (int i = 0; i + 1 < f->n_rates; i++)
        if (m <= f->rate_m[i + 1]) {
            double t = (log2(m) - log2(f->rate_m[i])) / (log2(f->rate_m[i + 1]) - log2(f->rate_m[i]));
            return f->rate[i] + t * (f->rate[i + 1] - f->rate[i]);
        }
    return f->rate[f->n_rates - 1];
}

double plan_predict_rate(const plan_fit *f, int micro_batch, int iter_size, int last_micro_batch, int *extrapolated)
{
    int ex = 0;
    double b = (double)(iter_size - 1) * micro_batch + last_micro_batch;
    double step_ns = f->overhead_ns;
    if (f->strategy == STRATEGY_FULL) step_ns += b * 1e9 / rate_at(f, (int)b, &ex);
    else {
        step_ns += (iter_size - 1) * (micro_batch * 1e9 / rate_at(f, micro_batch, &ex));
        step_ns += last_micro_batch * 1e9 / rate_at(f, last_micro_batch, &ex);
    }
    if (extrapolated) *extrapolated = ex;
    return b * 1e9 / step_ns;
}

// ----------------------------------------------------------------------------
// candidates

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

size_t plan_micro_batches(const plan_request *rq, int **out)
{
    int b = rq->effective_batch;
    size_t cap = 64 + (rq->micro_batches ? rq->n_micro_batches : 0), n = 0;
    if (rq->ragged) cap += 2 * (size_t)sqrt((double)b) + 2;
    int *v = malloc(cap * sizeof *v);
    if (!v) return 0;
    if (rq->micro_batches) {
        for (size_t i = 0; i < rq->n_micro_batches; i++)
            if (rq->micro_batches[i] >= 1 && rq->micro_batches[i] <= b) v[n++] = rq->micro_batches[i];
    } else {
        for (long m = 1; m <= b; m *= 2) v[n++] = (int)m;
    }
    if (rq->ragged) {
        /* the smallest micro-batch for each k = ceil(B / m): m = ceil(B / k);
         * distinct values number at most 2 sqrt(B) */
        int prev = 0;
        for (long k = b; k >= 1; k--) {
            int m = (int)((b + k - 1) / k);
            if (m != prev && n < cap) v[n++] = m;
            prev = m;
        }
    }
    qsort(v, n, sizeof *v, cmp_int);
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (w == 0 || v[i] != v[w - 1]) v[w++] = v[i];
    if (w == 0) {
        free(v);
        return 0;
    }
    *out = v;
    return w;
}

static int push(plan_candidate **v, size_t *n, size_t *cap, plan_candidate c)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 64;
        plan_candidate *nv = realloc(*v, nc * sizeof *nv);
        if (!nv) return -1;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = c;
    return 0;
}

static plan_candidate make_candidate(const plan_fit *f, int m, int k, int last, const plan_request *rq)
{
    plan_candidate c = {f->strategy, f->recompute, m, k, last, 0, 0, 0, 0};
    c.peak_bytes = plan_predict_peak(f, m, k, last) + rq->context_bytes;
    c.samples_per_s = plan_predict_rate(f, m, k, last, &c.extrapolated);
    c.feasible = c.peak_bytes <= rq->limit_bytes;
    return c;
}

size_t plan_candidates(const plan_fit *fits, size_t n_fits, const plan_request *rq, plan_candidate **out)
{
    int *ms = NULL;
    size_t n_ms = plan_micro_batches(rq, &ms), n = 0, cap = 0;
    plan_candidate *v = NULL;
    int b = rq->effective_batch;
    char why[256];
    *out = NULL;
    for (size_t fi = 0; fi < n_fits; fi++) {
        const plan_fit *f = &fits[fi];
        if (f->strategy == STRATEGY_FULL) {
            int sizes[1] = {b};
            if (!model_validate(&f->mdl->cfg, sizes, 1, why, sizeof why) &&
                push(&v, &n, &cap, make_candidate(f, b, 1, b, rq)))
                goto oom;
            continue;
        }
        for (size_t i = 0; i < n_ms; i++) {
            int m = ms[i], k = (b + m - 1) / m, last = b - (k - 1) * m;
            int sizes[2] = {m, last};
            if (model_validate(&f->mdl->cfg, sizes, 2, why, sizeof why)) continue;
            if (push(&v, &n, &cap, make_candidate(f, m, k, last, rq))) goto oom;
        }
    }
    free(ms);
    *out = v;
    return n;
oom:
    free(ms);
    free(v);
    return 0;
}

// ----------------------------------------------------------------------------
// the choice

/* throughput in steps of 0.1%: predictions that differ by less (a ragged
 * last micro-batch's share of a flat rate) list by the tie-breaks */
static long rate_bucket(double samples_per_s)
{
    return samples_per_s > 0 ? lround(log(samples_per_s) / log1p(1e-3)) : LONG_MIN;
}

static int cmp_candidate(const void *pa, const void *pb)
{
    const plan_candidate *a = pa, *b = pb;
    long ra = rate_bucket(a->samples_per_s), rb = rate_bucket(b->samples_per_s);
    if (ra != rb) return ra > rb ? -1 : 1;
    if (a->iter_size != b->iter_size) return a->iter_size < b->iter_size ? -1 : 1;
    if (a->peak_bytes != b->peak_bytes) return a->peak_bytes < b->peak_bytes ? -1 : 1;
    if (a->strategy != b->strategy) return a->strategy > b->strategy ? -1 : 1;   /* accumulate, retain, full */
    if (a->micro_batch != b->micro_batch) return a->micro_batch < b->micro_batch ? -1 : 1;
    return (a->recompute > b->recompute) - (a->recompute < b->recompute);
}

/* plan_choose's rule among the feasible candidates of recompute value r
 * (r < 0: all of them) */
static long choose_among(const plan_candidate *c, size_t n, int r)
{
    double best = -1;
    for (size_t i = 0; i < n; i++)
        if (c[i].feasible && (r < 0 || (int)c[i].recompute == r) && c[i].samples_per_s > best)
            best = c[i].samples_per_s;
    if (best < 0) return -1;
    long pick = -1;
    for (size_t i = 0; i < n; i++) {
        if (!c[i].feasible || (r >= 0 && (int)c[i].recompute != r) || c[i].samples_per_s < best * (1.0 - PLAN_TIE_REL))
            continue;
        if (pick < 0 || c[i].iter_size < c[pick].iter_size ||
            (c[i].iter_size == c[pick].iter_size && c[i].peak_bytes < c[pick].peak_bytes))
            pick = (long)i;
    }
    return pick;
}

long plan_choose(plan_candidate *c, size_t n)
{
    qsort(c, n, sizeof *c, cmp_candidate);
    return choose_among(c, n, -1);
}

void plan_sides(const plan_candidate *c, size_t n, long rec, long side[PLAN_RECOMPUTES])
{
    for (int r = 0; r < PLAN_RECOMPUTES; r++)
        side[r] = rec >= 0 && (int)c[rec].recompute == r ? rec : choose_among(c, n, r);
}

long plan_smallest(const plan_candidate *c, size_t n)
{
    long pick = -1;
    for (size_t i = 0; i < n; i++)
        if (pick < 0 || c[i].peak_bytes < c[pick].peak_bytes ||
            (c[i].peak_bytes == c[pick].peak_bytes && c[i].samples_per_s > c[pick].samples_per_s))
            pick = (long)i;
    return pick;
}
