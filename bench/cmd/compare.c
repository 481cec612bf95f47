/* bench/cmd/compare.c — `accumbench compare BASE NEW`: regressions between two
 * sweep directories, judged as compare.h describes (the process is the unit:
 * each side's values are its repeats' medians).
 *
 * Configurations are matched by their key columns (rundir.h). A
 * configuration missing from NEW, or with a failed repeat (oom, error,
 * crash, timeout, skipped) in NEW where BASE had none, is a regression; one
 * only in NEW is "new". Beside each regression: what changed between the two
 * meta.json files (every differing field but times and dates, driver/CUDA/
 * cuDNN/cuBLAS/commit/clocks/device first) and the configuration's throttled
 * steps.
 *
 * Output (compare_print.c): a markdown table on stdout ending in one summary
 * line; --json FILE and --csv FILE (one row per configuration, for
 * scripts/nightly.sh), both written atomically. Exit 0 no regression, 1
 * regression, 2 bad input. */
#include "cli.h"
#include "commands.h"
#include "compare.h"
#include "files.h"
#include "parse.h"
#include "stats.h"
#include "ttest.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *verdict_name(verdict v)
{
    static const char *n[V_COUNT] = {"same", "improvement", "regression", "inconclusive", "new", "missing",
                                     "failed", "still failing", "fixed", "no data"};
    return n[v];
}

int verdict_is_regression(verdict v) { return v == V_REGRESSION || v == V_MISSING || v == V_FAILED; }

const char *metric_test_name(metric_test t)
{
    static const char *n[] = {"yuen_t_log_repeat_medians", "exact", "repeat_ranges", "none"};
    return n[t];
}

double compare_measured_threshold(const comparison *cmp)
{
    return cmp->mem_threshold > COMPARE_MEASURED_MEM_FLOOR ? cmp->mem_threshold : COMPARE_MEASURED_MEM_FLOOR;
}

size_t compare_regressions(const comparison *cmp)
{
    return cmp->counts[V_REGRESSION] + cmp->counts[V_MISSING] + cmp->counts[V_FAILED];
}

void compare_method_text(const comparison *cmp, char *step, size_t step_len, char *mem, size_t mem_len)
{
    snprintf(step, step_len,
             "step time: the repeats' medians (one per process), two-sided Yuen's t-test on their logs "
             "trimmed %g%% a side (a side of %d without its slowest process), p < %.2g and a change of the "
             "median beyond %g%%; fewer than %d repeats a side or p >= %.2g: inconclusive; when the median "
             "change over %d or more tested configurations is within %g%%, it is the machine's drift and a "
             "call must also hold against it",
             100 * COMPARE_TRIM, COMPARE_DROP_SLOWEST_MIN, COMPARE_ALPHA, 100 * cmp->threshold, COMPARE_MIN_REPEATS,
             COMPARE_ALPHA, COMPARE_DRIFT_MIN_CONFIGS, 100 * cmp->threshold);
    snprintf(mem, mem_len,
             "memory: mem_tracked_bytes and mem_analytic_bytes exactly, change beyond %g%%; rss_delta_bytes, "
             "mem_device_bytes and mem_driver_bytes when the repeats' ranges do not overlap and the change is "
             "beyond %g%% and both sides' spread",
             100 * cmp->mem_threshold, 100 * compare_measured_threshold(cmp));
}

static void add_note(config_cmp *cc, const char *fmt, ...)
{
    if (cc->n_notes >= COMPARE_MAX_NOTES) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cc->notes[cc->n_notes++], sizeof cc->notes[0], fmt, ap);
    va_end(ap);
}

// ----------------------------------------------------------------------------
// meta.json: what changed

typedef struct {
    char (*path)[160];
    char (*text)[160];
    size_t n, cap;
} leaf_list;

static void collect_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    leaf_list *l = user;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        if (cap > 4096) return;     /* meta.json is small; ignore the rest of a huge one */
        void *p = realloc(l->path, cap * sizeof *l->path), *t = p ? realloc(l->text, cap * sizeof *l->text) : NULL;
        if (p) l->path = p;
        if (!p || !t) return;
        l->text = t;
        l->cap = cap;
    }
    snprintf(l->path[l->n], sizeof l->path[0], "%s", path);
    snprintf(l->text[l->n], sizeof l->text[0], "%s", leaf->type == JSONR_NULL ? "null" : leaf->text);
    l->n++;
}

/* times, dates and the shuffle seed differ on every run */
static int env_ignored(const char *path)
{
    const char *last = strrchr(path, '.');
    last = last ? last + 1 : path;
    static const char *const words[] = {"time", "date", "utc", "duration", "elapsed", "timestamp", "shuffle_seed"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(last, words[i])) return 1;
    return 0;
}

static int env_watched(const char *path)
{
    static const char *const words[] = {"driver", "runtime", "cuda", "cudnn", "cublas", "commit",
                                        "dirty",  "clock",   "device", "gpu", "name"};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (strstr(path, words[i])) return 1;
    return 0;
}

static void env_add(comparison *cmp, const char *path, const char *base, const char *now)
{
    if (env_ignored(path)) return;
    cmp->n_env_total++;
    if (cmp->n_env >= COMPARE_MAX_ENV) return;
    env_change *e = &cmp->env[cmp->n_env++];
    snprintf(e->path, sizeof e->path, "%s", path);
    snprintf(e->base, sizeof e->base, "%s", base);
    snprintf(e->now, sizeof e->now, "%s", now);
    e->watched = env_watched(path);
}

static void env_diff(comparison *cmp)
{
    rundir *b = &cmp->base, *n = &cmp->now;
    if (!b->have_meta || !n->have_meta) {
        if (!b->have_meta)
            snprintf(cmp->env_notes[cmp->n_env_notes++], sizeof cmp->env_notes[0], "BASE %s", b->meta_note);
        if (!n->have_meta)
            snprintf(cmp->env_notes[cmp->n_env_notes++], sizeof cmp->env_notes[0], "NEW %s", n->meta_note);
        snprintf(cmp->env_short, sizeof cmp->env_short, "environment unknown (no meta.json)");
        return;
    }
    leaf_list lb = {0}, ln = {0};
    jsonr_leaves(&b->meta, collect_leaf, &lb);
    jsonr_leaves(&n->meta, collect_leaf, &ln);
    for (size_t i = 0; i < lb.n; i++) {
        size_t j = 0;
        while (j < ln.n && strcmp(lb.path[i], ln.path[j])) j++;
        if (j == ln.n) env_add(cmp, lb.path[i], lb.text[i], "(absent)");
        else if (strcmp(lb.text[i], ln.text[j])) env_add(cmp, lb.path[i], lb.text[i], ln.text[j]);
    }
    for (size_t j = 0; j < ln.n; j++) {
        size_t i = 0;
        while (i < lb.n && strcmp(lb.path[i], ln.path[j])) i++;
        if (i == lb.n) env_add(cmp, ln.path[j], "(absent)", ln.text[j]);
    }
    free(lb.path);
    free(lb.text);
    free(ln.path);
    free(ln.text);
    /* watched fields first, each group in document order */
    env_change tmp[COMPARE_MAX_ENV];
    size_t k = 0;
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < cmp->n_env; i++)
            if (cmp->env[i].watched == pass) tmp[k++] = cmp->env[i];
    memcpy(cmp->env, tmp, k * sizeof *tmp);
    /* the compact form set beside each regression */
    size_t len = 0, shown = 0;
    char *s = cmp->env_short;
    s[0] = '\0';
    for (size_t i = 0; i < cmp->n_env; i++) {
        char one[520];
        snprintf(one, sizeof one, "%s%s %.40s → %.40s", shown ? "; " : "", cmp->env[i].path, cmp->env[i].base,
                 cmp->env[i].now);
        if (len + strlen(one) + 24 >= sizeof cmp->env_short) break;
        memcpy(s + len, one, strlen(one) + 1);
        len += strlen(one);
        shown++;
    }
    if (shown < cmp->n_env_total) snprintf(s + len, sizeof cmp->env_short - len, "%s+%zu more", shown ? "; " : "",
                                           cmp->n_env_total - shown);
    if (cmp->n_env_total == 0) snprintf(s, sizeof cmp->env_short, "no change in meta.json");
}


// ----------------------------------------------------------------------------
// one configuration

static void status_text(const rundir_config *c, char *buf, size_t len)
{
    if (!c) snprintf(buf, len, "missing");
    else if (c->n_ok == c->n_rows) snprintf(buf, len, "ok");
    else if (c->n_ok == 0 && c->n_rows == 1) snprintf(buf, len, "%s", c->fail_status);
    else snprintf(buf, len, "%s (%d/%d repeats)", c->fail_status, c->n_rows - c->n_ok, c->n_rows);
}

static double rel_change(double base, double now)
{
    if (base > 0) return now / base - 1.0;
    return now > base ? INFINITY : now < base ? -INFINITY : 0.0;
}

/* (max − min) / median of n repeats; NAN under 2 */
static double spread(double lo, double hi, double median, size_t n)
{
    return n >= 2 && median > 0 ? (hi - lo) / median : NAN;
}

static metric_cmp *new_metric(config_cmp *cc, const char *metric, metric_test test)
{
    metric_cmp *m = &cc->m[cc->n_m++];
    memset(m, 0, sizeof *m);
    m->metric = metric;
    m->test = test;
    m->p = NAN;
    m->p_drift = NAN;
    return m;
}

/* beyond the threshold: slower/bigger is a regression, else an improvement */
static verdict direction(double change) { return change > 0 ? V_REGRESSION : V_IMPROVEMENT; }

/* v without its slowest value when the trim leaves a side of n untouched
 * though n >= COMPARE_DROP_SLOWEST_MIN (compare.h); the count kept */
static size_t drop_slowest(const double *v, size_t n, double *out)
{
    size_t slowest = 0;
    for (size_t i = 1; i < n; i++)
        if (v[i] > v[slowest]) slowest = i;
    int drop = n >= COMPARE_DROP_SLOWEST_MIN && (size_t)floor(COMPARE_TRIM * (double)n) == 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!drop || i != slowest) out[k++] = v[i];
    return k;
}

/* Yuen's test on the repeats, a side of 4 without its slowest process */
static int spell_robust_test(const double *x, size_t nx, const double *y, size_t ny, ttest_result *r)
{
    double *bx = malloc((nx + ny) * sizeof *bx);
    if (!bx) return -1;
    double *by = bx + nx;
    size_t kx = drop_slowest(x, nx, bx), ky = drop_slowest(y, ny, by);
    int rc = ttest_trimmed_log(bx, kx, by, ky, COMPARE_TRIM, r);
    free(bx);
    return rc;
}

static void compare_time(const comparison *cmp, config_cmp *cc)
{
    const rundir_config *b = cc->b, *n = cc->n;
    if (!b->n_repeat_step || !n->n_repeat_step) {
        add_note(cc, "no step_median_ns in %s: throughput not compared", b->n_repeat_step ? "NEW" : "BASE");
        return;
    }
    metric_cmp *m = new_metric(cc, "step_ns", TEST_YUEN_LOG);
    m->n_base = b->n_repeat_step;
    m->n_new = n->n_repeat_step;
    m->base = b->step_median_ns;
    m->now = n->step_median_ns;
    m->change = rel_change(m->base, m->now);
    m->spread_base = spread(b->step_min_ns, b->step_max_ns, b->step_median_ns, m->n_base);
    m->spread_new = spread(n->step_min_ns, n->step_max_ns, n->step_median_ns, m->n_new);
    if (m->n_base < COMPARE_MIN_REPEATS || m->n_new < COMPARE_MIN_REPEATS) {
        m->test = TEST_NONE;
        m->v = V_INCONCLUSIVE;
        add_note(cc, "step time: %zu and %zu ok repeats; the test needs %d a side", m->n_base, m->n_new,
                 COMPARE_MIN_REPEATS);
        return;
    }
    ttest_result r;
    if (spell_robust_test(b->repeat_step_ns, m->n_base, n->repeat_step_ns, m->n_new, &r) != 0) {
        m->test = TEST_NONE;
        m->v = V_INCONCLUSIVE;
        add_note(cc, "step time: a repeat's step_median_ns is not > 0: not tested");
        return;
    }
    m->p = r.p;
    m->test_result = r;
    if (fabs(m->change) <= cmp->threshold) {
        m->v = V_SAME;
    } else if (r.p < COMPARE_ALPHA && (r.t > 0) == (m->change > 0)) {
        m->v = direction(m->change);
    } else {
        m->v = V_INCONCLUSIVE;
        add_note(cc, "step time %+.1f%%, but the repeats spread %.1f%% and %.1f%% (p = %.2g): not significant",
                 100 * m->change, 100 * m->spread_base, 100 * m->spread_new, r.p);
    }
}

/* computed figures: the median over repeats, exactly against --mem-threshold */
static void compare_deterministic(const comparison *cmp, config_cmp *cc, int k)
{
    metric_cmp *m = new_metric(cc, rundir_mem_columns[k], TEST_EXACT);
    const rundir_config *b = cc->b, *n = cc->n;
    m->n_base = (size_t)b->n_mem[k];
    m->n_new = (size_t)n->n_mem[k];
    m->base = b->mem[k];
    m->now = n->mem[k];
    m->change = rel_change(m->base, m->now);
    m->spread_base = spread(b->mem_min[k], b->mem_max[k], b->mem[k], m->n_base);
    m->spread_new = spread(n->mem_min[k], n->mem_max[k], n->mem[k], m->n_new);
    m->v = fabs(m->change) > cmp->mem_threshold ? direction(m->change) : V_SAME;
    if (b->mem_min[k] != b->mem_max[k] || n->mem_min[k] != n->mem_max[k])
        add_note(cc, "%s differs between repeats of %s: it should not", m->metric,
                 b->mem_min[k] != b->mem_max[k] ? "BASE" : "NEW");
}

/* measured figures: beyond the widened threshold with the ranges apart */
static void compare_measured(const comparison *cmp, config_cmp *cc, int k)
{
    metric_cmp *m = new_metric(cc, rundir_mem_columns[k], TEST_RANGES);
    const rundir_config *b = cc->b, *n = cc->n;
    m->n_base = (size_t)b->n_mem[k];
    m->n_new = (size_t)n->n_mem[k];
    m->base = b->mem[k];
    m->now = n->mem[k];
    m->change = rel_change(m->base, m->now);
    m->spread_base = spread(b->mem_min[k], b->mem_max[k], b->mem[k], m->n_base);
    m->spread_new = spread(n->mem_min[k], n->mem_max[k], n->mem[k], m->n_new);
    if (m->n_base < COMPARE_MIN_REPEATS || m->n_new < COMPARE_MIN_REPEATS) {
        m->test = TEST_NONE;
        m->v = V_INCONCLUSIVE;
        add_note(cc, "%s: %zu and %zu repeats measured it; the test needs %d a side", m->metric, m->n_base,
                 m->n_new, COMPARE_MIN_REPEATS);
        return;
    }
    int apart = n->mem_min[k] > b->mem_max[k] || n->mem_max[k] < b->mem_min[k];
    double c = fabs(m->change);
    if (c <= compare_measured_threshold(cmp)) m->v = V_SAME;
    else if (apart && c > m->spread_base && c > m->spread_new) m->v = direction(m->change);
    else {
        m->v = V_INCONCLUSIVE;
        add_note(cc, "%s %+.1f%%, but the repeats overlap or spread %.1f%% and %.1f%%", m->metric, 100 * m->change,
                 100 * m->spread_base, 100 * m->spread_new);
    }
}

static void compare_memory(const comparison *cmp, config_cmp *cc)
{
    for (int k = 0; k < RUNDIR_MEM_N; k++) {
        if (isnan(cc->b->mem[k]) || isnan(cc->n->mem[k])) continue;
        if (rundir_mem_deterministic[k]) compare_deterministic(cmp, cc, k);
        else compare_measured(cmp, cc, k);
    }
}

/* the configuration's verdict from its metrics: any regression, else any
 * improvement, else any inconclusive, else same */
static verdict combine(const config_cmp *cc)
{
    int seen[V_COUNT] = {0};
    for (int i = 0; i < cc->n_m; i++) seen[cc->m[i].v] = 1;
    if (seen[V_REGRESSION]) return V_REGRESSION;
    if (seen[V_IMPROVEMENT]) return V_IMPROVEMENT;
    if (seen[V_INCONCLUSIVE]) return V_INCONCLUSIVE;
    return cc->n_m ? V_SAME : V_NO_DATA;
}

static verdict config_verdict(const config_cmp *cc)
{
    if (!cc->n) return V_MISSING;
    if (!cc->b) return V_NEW;
    if (cc->b->n_ok == 0) return cc->n->n_ok ? V_FIXED : V_STILL_FAILING;
    /* ok -> oom (or any failure) is a regression whatever the figures say */
    return cc->n->n_ok < cc->n->n_rows && cc->b->n_ok == cc->b->n_rows ? V_FAILED : combine(cc);
}

static void compare_config(const comparison *cmp, config_cmp *cc)
{
    status_text(cc->b, cc->status_base, sizeof cc->status_base);
    status_text(cc->n, cc->status_new, sizeof cc->status_new);
    rundir_config *b = cc->b, *n = cc->n;
    if (b && n && !isnan(n->throttled) && n->throttled > 0 && !(b->throttled == n->throttled))
        snprintf(cc->throttle, sizeof cc->throttle, "throttled steps %.0f → %.0f",
                 isnan(b->throttled) ? 0.0 : b->throttled, n->throttled);
    if (b && n && b->n_ok > 0 && n->n_ok > 0) {
        compare_time(cmp, cc);
        compare_memory(cmp, cc);
    }
    cc->v = config_verdict(cc);
}

/* a step-time call that the sweep's drift explains is withdrawn: 1 if so */
static int hold_against_drift(const comparison *cmp, config_cmp *cc, double drift)
{
    metric_cmp *m = &cc->m[0];
    if (cc->n_m == 0 || strcmp(m->metric, "step_ns") || (m->v != V_REGRESSION && m->v != V_IMPROVEMENT)) return 0;
    ttest_result r;
    ttest_shifted(&m->test_result, log1p(drift), &r);
    m->p_drift = r.p;
    double own = (1.0 + m->change) / (1.0 + drift) - 1.0;
    if (r.p < COMPARE_ALPHA && (r.t > 0) == (m->change > 0) && fabs(own) > cmp->threshold) return 0;
    m->v = V_INCONCLUSIVE;
    add_note(cc, "step time %+.1f%%, but the whole sweep moved %+.1f%%: %+.1f%% against it (p = %.2g)",
             100 * m->change, 100 * drift, 100 * own, r.p);
    cc->v = config_verdict(cc);
    return 1;
}

/* the median move of the tested configurations; within --threshold it is
 * the machine's drift between the sweeps (compare.h) */
static int judge_drift(comparison *cmp)
{
    double *changes = malloc((cmp->n ? cmp->n : 1) * sizeof *changes);
    if (!changes) return -1;
    for (size_t i = 0; i < cmp->n; i++) {
        const config_cmp *cc = &cmp->c[i];
        if (cc->n_m && !strcmp(cc->m[0].metric, "step_ns") && cc->m[0].test == TEST_YUEN_LOG &&
            isfinite(cc->m[0].change))
            changes[cmp->n_step_changes++] = cc->m[0].change;
    }
    cmp->step_change_median = stats_median(changes, cmp->n_step_changes);
    free(changes);
    cmp->drift_removed = cmp->n_step_changes >= COMPARE_DRIFT_MIN_CONFIGS &&
                         fabs(cmp->step_change_median) <= cmp->threshold;
    if (cmp->drift_removed)
        for (size_t i = 0; i < cmp->n; i++)
            cmp->calls_withdrawn += (size_t)hold_against_drift(cmp, &cmp->c[i], cmp->step_change_median);
    return 0;
}


/* short names: model/strategy, the split, and every other key column whose
 * value is not the same in all configurations of both directories */
static void short_names(comparison *cmp)
{
    const rundir *d = &cmp->base;
    int varies[RUNDIR_MAX_KEYS] = {0};
    const rundir_config *first = NULL;
    for (size_t i = 0; i < cmp->n; i++) {
        const rundir_config *c = cmp->c[i].b ? cmp->c[i].b : cmp->c[i].n;
        if (!first) first = c;
        for (size_t k = 0; k < d->n_keys; k++) varies[k] |= strcmp(c->values[k], first->values[k]) != 0;
    }
    static const char *const always[] = {"micro_batch", "iter_size"};
    for (size_t i = 0; i < cmp->n; i++) {
        config_cmp *cc = &cmp->c[i];
        const rundir_config *c = cc->b ? cc->b : cc->n;
        size_t n = 0, len = sizeof cc->name;
        long mi = rundir_key_index(d, "model"), si = rundir_key_index(d, "strategy");
        int w = snprintf(cc->name, len, "%s/%s", c->values[mi], c->values[si]);
        n = w > 0 && (size_t)w < len ? (size_t)w : len - 1;
        for (size_t k = 0; k < d->n_keys; k++) {
            const char *key = d->key_names[k];
            int show = varies[k] || !strcmp(key, always[0]) || !strcmp(key, always[1]);
            if (!show || (long)k == mi || (long)k == si || k == d->repeat_key || !c->values[k][0]) continue;
            w = snprintf(cc->name + n, len - n, "/%s:%s", key, c->values[k]);
            n = w > 0 && (size_t)w < len - n ? n + (size_t)w : len - 1;
        }
        rundir_config_name(cc->d, c, cc->full, sizeof cc->full);
    }
}


static int build(comparison *cmp)
{
    size_t cap = cmp->base.n_configs + cmp->now.n_configs;
    cmp->c = calloc(cap ? cap : 1, sizeof *cmp->c);
    if (!cmp->c) return -1;
    for (size_t i = 0; i < cmp->base.n_configs; i++) {
        config_cmp *cc = &cmp->c[cmp->n++];
        cc->b = &cmp->base.configs[i];
        cc->d = &cmp->base;
        long j = rundir_find(&cmp->now, cc->b->key);
        cc->n = j >= 0 ? &cmp->now.configs[j] : NULL;
    }
    for (size_t j = 0; j < cmp->now.n_configs; j++) {
        if (rundir_find(&cmp->base, cmp->now.configs[j].key) >= 0) continue;
        config_cmp *cc = &cmp->c[cmp->n++];
        cc->n = &cmp->now.configs[j];
        cc->d = &cmp->now;
    }
    env_diff(cmp);
    for (size_t i = 0; i < cmp->n; i++) compare_config(cmp, &cmp->c[i]);
    if (judge_drift(cmp) != 0) return -1;
    for (size_t i = 0; i < cmp->n; i++) cmp->counts[cmp->c[i].v]++;
    short_names(cmp);
    return 0;
}

// ----------------------------------------------------------------------------
// the command

static void compare_usage(FILE *f)
{
    fprintf(f,
            "usage: accumbench compare BASE NEW [--threshold %g%%] [--mem-threshold 1%%] [--json FILE] [--csv FILE]\n\n"
            "BASE and NEW are sweep directories (results.csv, meta.json). Configurations are matched by their\n"
            "key columns. The process is the unit: each side's step time is its repeats' step_median_ns, one\n"
            "value per process. Step time: two-sided Yuen's t-test on the logs of those values, trimmed %g%% a\n"
            "side (one of 5 repeats at each end, none of 3; of 4, the slowest is left out), so one process in\n"
            "a slow spell does not hide a change; a regression needs p < %.2g and a change of the median over\n"
            "repeats above --threshold; with fewer than %d ok repeats a side, or a change the repeats' spread\n"
            "does not support, the verdict is 'inconclusive', never a regression. When the median change over\n"
            "%d or more tested configurations is within --threshold, it is taken for the machine's drift\n"
            "between the sweeps and a call must also hold against it (the test with NEW divided by 1 + drift).\n"
            "Memory: mem_tracked_bytes and mem_analytic_bytes (computed)\n"
            "exactly against --mem-threshold; rss_delta_bytes, mem_device_bytes and mem_driver_bytes (measured)\n"
            "when the repeats' ranges of the two sides do not overlap and the change is beyond\n"
            "max(--mem-threshold, %g%%) and each side's spread. A configuration missing from NEW, or failing\n"
            "there (oom, error, crash, timeout), is a regression. Prints a markdown table; --json/--csv FILE\n"
            "also write it as JSON/CSV.\n"
            "Exit status: 0 no regression, 1 regression, 2 bad input.\n",
            100 * COMPARE_THRESHOLD, 100 * COMPARE_TRIM, COMPARE_ALPHA, COMPARE_MIN_REPEATS,
            COMPARE_DRIFT_MIN_CONFIGS, 100 * COMPARE_MEASURED_MEM_FLOOR);
}

/* 0 ok, 1 --help, -1 bad input (reported) */
static int parse_args(int argc, char **argv, comparison *cmp)
{
    const char *pos[2];
    int npos = 0;
    char why[256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        int thr = !strcmp(a, "--threshold"), mem = !strcmp(a, "--mem-threshold");
        int json = !strcmp(a, "--json"), csv = !strcmp(a, "--csv");
        if (thr || mem || json || csv) {
            if (i + 1 >= argc) {
                cli_error("compare: %s needs a value", a);
                return -1;
            }
            const char *v = argv[++i];
            if ((thr || mem) &&
                parse_fraction(v, 0.0, 100.0, thr ? &cmp->threshold : &cmp->mem_threshold, why, sizeof why)) {
                cli_error("%s: %s", a, why);
                return -1;
            }
            if (json) cmp->json_path = v;
            if (csv) cmp->csv_path = v;
        } else if (a[0] == '-' && a[1]) {
            cli_error("compare: unknown flag '%s' (flags: --threshold, --mem-threshold, --json, --csv)", a);
            return -1;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            cli_error("compare: more than two directories given ('%s'); usage: compare BASE NEW", a);
            return -1;
        }
    }
    if (npos < 2) {
        cli_error("compare: needs two sweep directories: compare BASE NEW (see compare --help)");
        return -1;
    }
    cmp->base_dir = pos[0];
    cmp->new_dir = pos[1];
    return 0;
}

int cmd_compare(int argc, char **argv)
{
    comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    cmp.threshold = COMPARE_THRESHOLD;
    cmp.mem_threshold = 0.01;
    int parsed = parse_args(argc, argv, &cmp);
    if (parsed) {
        if (parsed > 0) compare_usage(stdout);
        return parsed > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    char err[1024];
    if (rundir_load(&cmp.base, cmp.base_dir, 0, err, sizeof err)) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (rundir_load(&cmp.now, cmp.new_dir, 0, err, sizeof err)) {
        cli_error("%s", err);
        rundir_free(&cmp.base);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    if (build(&cmp)) {
        cli_error("compare: out of memory");
        goto done;
    }
    if (cmp.json_path && files_write_atomic(cmp.json_path, compare_write_json, &cmp)) {
        cli_error("--json %s: cannot write: %s", cmp.json_path, strerror(errno));
        goto done;
    }
    if (cmp.csv_path && files_write_atomic(cmp.csv_path, compare_write_csv, &cmp)) {
        cli_error("--csv %s: cannot write: %s", cmp.csv_path, strerror(errno));
        goto done;
    }
    compare_print_markdown(&cmp, stdout);
    fflush(stdout);
    rc = compare_regressions(&cmp) ? CLI_EXIT_CHECK : CLI_EXIT_OK;
done:
    free(cmp.c);
    rundir_free(&cmp.base);
    rundir_free(&cmp.now);
    return rc;
}
