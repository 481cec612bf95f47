/* bench/cmd/compare.c — `accumbench compare BASE NEW`: regressions between two
 * sweep directories.
 *
 * Configurations are matched by their key columns (rundir.h). Throughput: the
 * timed step times of all ok repeats, pooled per side, two-sided
 * Mann–Whitney U test (mannwhitney.h; scipy's method, as google/benchmark's
 * tools/gbench/report.py calls it) with alpha 0.05; a regression (slower) or
 * improvement (faster) needs p < alpha AND |median change| > --threshold
 * (3%). Under 2 samples on a side there is no test and the median change
 * alone decides (a note says so); under 9 a note says the test has little
 * power (report.py's UTEST_MIN_REPETITIONS and UTEST_OPTIMAL_REPETITIONS).
 * Peak memory: the median over repeats of mem_tracked_bytes, and of
 * mem_device_bytes and rss_delta_bytes where both sides have them, against
 * --mem-threshold (1%). A configuration missing from NEW, or with a failed
 * repeat (oom, error, crash, timeout, skipped) in NEW where BASE had none,
 * is a regression; one only in NEW is "new".
 *
 * Beside each regression: what changed between the two meta.json files
 * (every differing field but times and dates, driver/CUDA/cuDNN/cuBLAS/
 * commit/clocks/device first) and the configuration's throttled steps.
 *
 * Output: a markdown table on stdout ending in one summary line; --json FILE
 * and --csv FILE (one row per configuration, for scripts/nightly.sh), both
 * written atomically. Exit 0 no regression, 1 regression, 2 bad input. */
#include "cli.h"
#include "commands.h"
#include "files.h"
#include "jsonwrite.h"
#include "mannwhitney.h"
#include "parse.h"
#include "results.h"
#include "rundir.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define COMPARE_ALPHA 0.05          /* report.py: alpha = 0.05 */
#define UTEST_MIN_SAMPLES 2         /* report.py: UTEST_MIN_REPETITIONS */
#define UTEST_OPTIMAL_SAMPLES 9     /* report.py: UTEST_OPTIMAL_REPETITIONS */
#define MAX_NOTES 4
#define MAX_ENV 64
#define MAX_METRICS (1 + RUNDIR_MEM_N)

typedef enum {
    V_SAME, V_IMPROVEMENT, V_REGRESSION, V_NEW, V_MISSING, V_FAILED, V_STILL_FAILING, V_FIXED, V_NO_DATA, V_COUNT
} verdict;

static const char *verdict_name(verdict v)
{
    static const char *n[V_COUNT] = {"same", "improvement", "regression", "new", "missing",
                                     "failed", "still failing", "fixed", "no data"};
    return n[v];
}

static int is_regression(verdict v) { return v == V_REGRESSION || v == V_MISSING || v == V_FAILED; }

typedef struct {
    const char *metric;         /* "step_ns" or a memory column */
    double base, now, change;   /* change = now / base − 1 */
    double p;                   /* NAN: no test */
    mwu_method method;
    size_t n_base, n_new;
    verdict v;
} metric_cmp;

typedef struct {
    rundir_config *b, *n;       /* NULL where absent */
    const rundir *d;            /* where the names come from */
    char name[512];             /* short: model/strategy + the key columns that vary */
    char full[1024];            /* stable gbench-style name */
    verdict v;
    metric_cmp m[MAX_METRICS];
    int n_m;
    char notes[MAX_NOTES][256];
    int n_notes;
    char status_base[96], status_new[96];
    char throttle[96];
} config_cmp;

typedef struct {
    char path[160], base[160], now[160];
    int watched;
} env_change;

typedef struct {
    const char *base_dir, *new_dir, *json_path, *csv_path;
    double threshold, mem_threshold;
    rundir base, now;
    config_cmp *c;
    size_t n;
    env_change env[MAX_ENV];
    size_t n_env, n_env_total;
    char env_notes[2][700];
    int n_env_notes;
    char env_short[400];        /* the compact list set beside regressions */
    size_t counts[V_COUNT];
} comparison;

static void add_note(config_cmp *cc, const char *fmt, ...)
{
    if (cc->n_notes >= MAX_NOTES) return;
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
    if (cmp->n_env >= MAX_ENV) return;
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
    env_change tmp[MAX_ENV];
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

static void compare_time(const comparison *cmp, config_cmp *cc)
{
    rundir_config *b = cc->b, *n = cc->n;
    if (b->n_steps == 0 || n->n_steps == 0) {
        add_note(cc, "no timed steps in %s: throughput not compared", b->n_steps ? "NEW" : "BASE");
        return;
    }
    metric_cmp *m = &cc->m[cc->n_m++];
    m->metric = "step_ns";
    m->n_base = b->n_steps;
    m->n_new = n->n_steps;
    m->base = stats_median(b->steps, b->n_steps);
    m->now = stats_median(n->steps, n->n_steps);
    m->change = rel_change(m->base, m->now);
    m->p = NAN;
    m->method = MWU_NONE;
    if (b->steps_from_results || n->steps_from_results)
        add_note(cc, "no timed rows in %s's steps.csv: each repeat's step_median_ns is one sample",
                 b->steps_from_results ? "BASE" : "NEW");
    size_t least = m->n_base < m->n_new ? m->n_base : m->n_new;
    int significant;
    if (least < UTEST_MIN_SAMPLES) {
        add_note(cc, "fewer than %d timed steps on a side (%zu, %zu): no U test, the median change alone decides",
                 UTEST_MIN_SAMPLES, m->n_base, m->n_new);
        significant = 1;
    } else {
        mwu_result r;
        if (mwu_test(b->steps, b->n_steps, n->steps, n->n_steps, &r) == 0) {
            m->p = r.p;
            m->method = r.method;
        }
        if (least < UTEST_OPTIMAL_SAMPLES)
            add_note(cc, "fewer than %d timed steps on a side (%zu, %zu): the U test has little power",
                     UTEST_OPTIMAL_SAMPLES, m->n_base, m->n_new);
        significant = m->p < COMPARE_ALPHA;
    }
    m->v = !significant ? V_SAME
         : m->change > cmp->threshold ? V_REGRESSION
         : m->change < -cmp->threshold ? V_IMPROVEMENT : V_SAME;
}

static void compare_memory(const comparison *cmp, config_cmp *cc)
{
    for (int k = 0; k < RUNDIR_MEM_N; k++) {
        double b = cc->b->mem[k], n = cc->n->mem[k];
        if (isnan(b) || isnan(n)) continue;
        metric_cmp *m = &cc->m[cc->n_m++];
        m->metric = rundir_mem_columns[k];
        m->base = b;
        m->now = n;
        m->change = rel_change(b, n);
        m->p = NAN;
        m->method = MWU_NONE;
        m->n_base = (size_t)cc->b->n_ok;
        m->n_new = (size_t)cc->n->n_ok;
        m->v = m->change > cmp->mem_threshold ? V_REGRESSION
             : m->change < -cmp->mem_threshold ? V_IMPROVEMENT : V_SAME;
    }
}

static void compare_config(const comparison *cmp, config_cmp *cc)
{
    status_text(cc->b, cc->status_base, sizeof cc->status_base);
    status_text(cc->n, cc->status_new, sizeof cc->status_new);
    if (!cc->n) {
        cc->v = V_MISSING;
        return;
    }
    if (!cc->b) {
        cc->v = V_NEW;
        return;
    }
    rundir_config *b = cc->b, *n = cc->n;
    if (!isnan(n->throttled) && n->throttled > 0 && !(b->throttled == n->throttled))
        snprintf(cc->throttle, sizeof cc->throttle, "throttled steps %.0f → %.0f", isnan(b->throttled) ? 0.0 : b->throttled,
                 n->throttled);
    if (b->n_ok == 0) {
        cc->v = n->n_ok ? V_FIXED : V_STILL_FAILING;
        return;
    }
    verdict status = V_SAME;
    if (n->n_ok < n->n_rows && b->n_ok == b->n_rows) status = V_FAILED;
    if (n->n_ok > 0) {
        compare_time(cmp, cc);
        compare_memory(cmp, cc);
    }
    if (status == V_FAILED) {
        cc->v = V_FAILED;
        return;
    }
    int reg = 0, imp = 0;
    for (int i = 0; i < cc->n_m; i++) {
        reg |= cc->m[i].v == V_REGRESSION;
        imp |= cc->m[i].v == V_IMPROVEMENT;
    }
    cc->v = reg ? V_REGRESSION : imp ? V_IMPROVEMENT : cc->n_m ? V_SAME : V_NO_DATA;
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
    for (size_t i = 0; i < cmp->n; i++) {
        compare_config(cmp, &cmp->c[i]);
        cmp->counts[cmp->c[i].v]++;
    }
    short_names(cmp);
    return 0;
}

// ----------------------------------------------------------------------------
// printing

static void fmt_value(const char *metric, double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "—");
    } else if (!strcmp(metric, "step_ns")) {
        if (v < 1e3) snprintf(buf, len, "%.0f ns", v);
        else if (v < 1e6) snprintf(buf, len, "%.3f µs", v / 1e3);
        else if (v < 1e9) snprintf(buf, len, "%.3f ms", v / 1e6);
        else snprintf(buf, len, "%.3f s", v / 1e9);
    } else {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double x = v;
        while (fabs(x) >= 1024 && u < 4) {
            x /= 1024;
            u++;
        }
        if (u == 0) snprintf(buf, len, "%.0f B", v);
        else snprintf(buf, len, "%.2f %s", x, units[u]);
    }
}

static void fmt_change(double c, char *buf, size_t len)
{
    if (isnan(c)) snprintf(buf, len, "—");
    else if (isinf(c)) snprintf(buf, len, "%sinf", c > 0 ? "+" : "-");
    else snprintf(buf, len, "%+.2f%%", 100.0 * c);
}

static const char *metric_label(const char *metric) { return !strcmp(metric, "step_ns") ? "step time" : metric; }

/* a table cell: pipes escaped, line breaks as spaces */
static void md_cell(FILE *f, const char *s)
{
    fputs("| ", f);
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc(' ', f);
}

/* "**regression**: detail (changed: what changed in meta.json; throttling)" */
static void verdict_cell(const comparison *cmp, const config_cmp *cc, verdict v, const char *detail, char *buf,
                         size_t len)
{
    if (!is_regression(v)) {
        snprintf(buf, len, "%s", verdict_name(v));
        return;
    }
    snprintf(buf, len, "**regression**%s%.200s (changed: %s%s%s)", detail && detail[0] ? ": " : "",
             detail ? detail : "", cmp->env_short, cc->throttle[0] ? "; " : "", cc->throttle);
}

static void md_row(FILE *f, const char *name, const char *metric, const char *base, const char *now,
                   const char *change, const char *p, const char *verdict_text)
{
    const char *cells[] = {name, metric, base, now, change, p, verdict_text};
    for (size_t i = 0; i < 7; i++) md_cell(f, cells[i]);
    fputs("|\n", f);
}

static void print_markdown(const comparison *cmp, FILE *f)
{
    fprintf(f, "## accumbench compare\n\nBASE `%s` (%zu configuration%s), NEW `%s` (%zu configuration%s); "
               "step time: two-sided Mann–Whitney U, p < %.2g and change > %g%%; memory: change > %g%%\n\n",
            cmp->base_dir, cmp->base.n_configs, cmp->base.n_configs == 1 ? "" : "s", cmp->new_dir,
            cmp->now.n_configs, cmp->now.n_configs == 1 ? "" : "s", COMPARE_ALPHA,
            100 * cmp->threshold, 100 * cmp->mem_threshold);
    fputs("| config | metric | base | new | change | p-value | verdict |\n"
          "|---|---|---|---|---|---|---|\n", f);
    for (size_t i = 0; i < cmp->n; i++) {
        const config_cmp *cc = &cmp->c[i];
        char vb[700], bv[64], nv[64], ch[32], p[32];
        int show_status = cc->v == V_MISSING || cc->v == V_FAILED || cc->v == V_STILL_FAILING ||
                          cc->v == V_FIXED || (cc->b && cc->b->n_ok < cc->b->n_rows);
        if (cc->v == V_NEW) {
            fmt_value("step_ns", cc->n->n_steps ? stats_median(cc->n->steps, cc->n->n_steps) : NAN, nv, sizeof nv);
            md_row(f, cc->name, "step time", "—", nv, "—", "—", "new");
            continue;
        }
        if (show_status) {
            verdict_cell(cmp, cc, cc->v,
                         cc->v == V_MISSING ? "missing from NEW"
                         : cc->v == V_FAILED ? (cc->n->fail_error[0] ? cc->n->fail_error : cc->n->fail_status)
                                             : NULL,
                         vb, sizeof vb);
            md_row(f, cc->name, "status", cc->status_base, cc->status_new, "—", "—",
                   cc->v == V_MISSING || cc->v == V_FAILED ? vb : verdict_name(cc->v));
        }
        for (int k = 0; k < cc->n_m; k++) {
            const metric_cmp *m = &cc->m[k];
            fmt_value(m->metric, m->base, bv, sizeof bv);
            fmt_value(m->metric, m->now, nv, sizeof nv);
            fmt_change(m->change, ch, sizeof ch);
            if (isnan(m->p)) snprintf(p, sizeof p, "—");
            else snprintf(p, sizeof p, "%.3g", m->p);
            verdict_cell(cmp, cc, m->v, NULL, vb, sizeof vb);
            md_row(f, cc->name, metric_label(m->metric), bv, nv, ch, p, vb);
        }
        if (!show_status && cc->n_m == 0) md_row(f, cc->name, "—", "—", "—", "—", "—", verdict_name(cc->v));
    }
    int any_notes = cmp->n_env > 0 || cmp->n_env_notes > 0;
    for (size_t i = 0; i < cmp->n; i++) any_notes |= cmp->c[i].n_notes > 0;
    if (cmp->base.steps_unmatched || cmp->now.steps_unmatched) any_notes = 1;
    if (any_notes) fputs("\n", f);
    if (cmp->n_env) {
        fputs("Environment changes (meta.json):\n", f);
        for (size_t i = 0; i < cmp->n_env; i++)
            fprintf(f, "- %s: %s → %s\n", cmp->env[i].path, cmp->env[i].base, cmp->env[i].now);
        if (cmp->n_env_total > cmp->n_env) fprintf(f, "- … %zu more\n", cmp->n_env_total - cmp->n_env);
    }
    for (int i = 0; i < cmp->n_env_notes; i++) fprintf(f, "- environment unknown: %s\n", cmp->env_notes[i]);
    for (size_t i = 0; i < cmp->n; i++)
        for (int k = 0; k < cmp->c[i].n_notes; k++) fprintf(f, "- %s: %s\n", cmp->c[i].name, cmp->c[i].notes[k]);
    if (cmp->base.steps_unmatched)
        fprintf(f, "- BASE steps.csv: %zu timed rows match no results row (ignored)\n", cmp->base.steps_unmatched);
    if (cmp->now.steps_unmatched)
        fprintf(f, "- NEW steps.csv: %zu timed rows match no results row (ignored)\n", cmp->now.steps_unmatched);
    size_t regressions = cmp->counts[V_REGRESSION] + cmp->counts[V_MISSING] + cmp->counts[V_FAILED];
    fprintf(f, "\ncompare: %zu configuration%s: %zu regression%s (%zu slower or bigger, %zu missing, %zu failed), "
               "%zu improvement%s, %zu unchanged, %zu new, %zu still failing, %zu fixed, %zu without data\n",
            cmp->n, cmp->n == 1 ? "" : "s", regressions, regressions == 1 ? "" : "s", cmp->counts[V_REGRESSION], cmp->counts[V_MISSING],
            cmp->counts[V_FAILED], cmp->counts[V_IMPROVEMENT], cmp->counts[V_IMPROVEMENT] == 1 ? "" : "s",
            cmp->counts[V_SAME], cmp->counts[V_NEW], cmp->counts[V_STILL_FAILING], cmp->counts[V_FIXED],
            cmp->counts[V_NO_DATA]);
}

// ----------------------------------------------------------------------------
// --json and --csv

static int write_json(FILE *f, void *user)
{
    const comparison *cmp = user;
    size_t regressions = cmp->counts[V_REGRESSION] + cmp->counts[V_MISSING] + cmp->counts[V_FAILED];
    fputs("{\n  ", f);
    jsonw_key(f, "base");
    jsonw_string(f, cmp->base_dir);
    fputs(",\n  ", f);
    jsonw_key(f, "new");
    jsonw_string(f, cmp->new_dir);
    fputs(",\n  \"threshold\": ", f);
    jsonw_double(f, cmp->threshold);
    fputs(",\n  \"mem_threshold\": ", f);
    jsonw_double(f, cmp->mem_threshold);
    fputs(",\n  \"alpha\": ", f);
    jsonw_double(f, COMPARE_ALPHA);
    fprintf(f, ",\n  \"regression\": %s,\n  \"summary\": {\"configurations\": %zu", regressions ? "true" : "false",
            cmp->n);
    for (int v = 0; v < V_COUNT; v++) {
        char key[32];
        snprintf(key, sizeof key, "%s", verdict_name((verdict)v));
        for (char *p = key; *p; p++)
            if (*p == ' ') *p = '_';
        fprintf(f, ", \"%s\": %zu", key, cmp->counts[v]);
    }
    fputs("},\n  \"environment\": [", f);
    for (size_t i = 0; i < cmp->n_env; i++) {
        fputs(i ? ",\n    {" : "\n    {", f);
        jsonw_key(f, "field");
        jsonw_string(f, cmp->env[i].path);
        fputs(", ", f);
        jsonw_key(f, "base");
        jsonw_string(f, cmp->env[i].base);
        fputs(", ", f);
        jsonw_key(f, "new");
        jsonw_string(f, cmp->env[i].now);
        fputs("}", f);
    }
    fputs(cmp->n_env ? "\n  ],\n  \"environment_notes\": [" : "],\n  \"environment_notes\": [", f);
    for (int i = 0; i < cmp->n_env_notes; i++) {
        if (i) fputs(", ", f);
        jsonw_string(f, cmp->env_notes[i]);
    }
    fputs("],\n  \"configurations\": [", f);
    for (size_t i = 0; i < cmp->n; i++) {
        const config_cmp *cc = &cmp->c[i];
        const rundir_config *c = cc->b ? cc->b : cc->n;
        fputs(i ? ",\n    {" : "\n    {", f);
        jsonw_key(f, "config");
        jsonw_string(f, cc->name);
        fputs(", ", f);
        jsonw_key(f, "name");
        jsonw_string(f, cc->full);
        fputs(",\n     \"key\": {", f);
        int first = 1;
        for (size_t k = 0; k < cc->d->n_keys; k++) {
            if (k == cc->d->repeat_key) continue;
            fputs(first ? "" : ", ", f);
            first = 0;
            jsonw_key(f, cc->d->key_names[k]);
            if (c->values[k][0]) jsonw_string(f, c->values[k]);
            else fputs("null", f);
        }
        fputs("},\n     ", f);
        jsonw_key(f, "verdict");
        jsonw_string(f, verdict_name(cc->v));
        fprintf(f, ", \"regression\": %s, ", is_regression(cc->v) ? "true" : "false");
        jsonw_key(f, "status_base");
        jsonw_string(f, cc->status_base);
        fputs(", ", f);
        jsonw_key(f, "status_new");
        jsonw_string(f, cc->status_new);
        fputs(",\n     \"metrics\": [", f);
        for (int k = 0; k < cc->n_m; k++) {
            const metric_cmp *m = &cc->m[k];
            fputs(k ? ", {" : "{", f);
            jsonw_key(f, "metric");
            jsonw_string(f, m->metric);
            fputs(", \"base\": ", f);
            jsonw_double(f, m->base);
            fputs(", \"new\": ", f);
            jsonw_double(f, m->now);
            fputs(", \"change\": ", f);
            jsonw_double(f, m->change);
            fputs(", \"p_value\": ", f);
            jsonw_double(f, m->p);
            fprintf(f, ", \"test\": \"%s\", \"n_base\": %zu, \"n_new\": %zu, ", mwu_method_name(m->method), m->n_base,
                    m->n_new);
            jsonw_key(f, "verdict");
            jsonw_string(f, verdict_name(m->v));
            fputs("}", f);
        }
        fputs("],\n     \"changed\": [", f);
        if (is_regression(cc->v)) {
            for (size_t e = 0; e < cmp->n_env; e++) {
                char one[520];
                snprintf(one, sizeof one, "%s: %s → %s", cmp->env[e].path, cmp->env[e].base, cmp->env[e].now);
                if (e) fputs(", ", f);
                jsonw_string(f, one);
            }
            if (cc->throttle[0]) {
                if (cmp->n_env) fputs(", ", f);
                jsonw_string(f, cc->throttle);
            }
        }
        fputs("],\n     \"notes\": [", f);
        for (int k = 0; k < cc->n_notes; k++) {
            if (k) fputs(", ", f);
            jsonw_string(f, cc->notes[k]);
        }
        fputs("]}", f);
    }
    fputs(cmp->n ? "\n  ]\n}\n" : "]\n}\n", f);
    return 0;
}

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.17g", v);
}

static int write_csv(FILE *f, void *user)
{
    const comparison *cmp = user;
    fputs("config,name,verdict,status_base,status_new,base_step_ns,new_step_ns,step_change,p_value,"
          "base_mem_tracked_bytes,new_mem_tracked_bytes,mem_tracked_change,base_samples_per_s,new_samples_per_s\r\n",
          f);
    for (size_t i = 0; i < cmp->n; i++) {
        const config_cmp *cc = &cmp->c[i];
        const metric_cmp *t = NULL, *mem = NULL;
        for (int k = 0; k < cc->n_m; k++) {
            if (!strcmp(cc->m[k].metric, "step_ns")) t = &cc->m[k];
            if (!strcmp(cc->m[k].metric, rundir_mem_columns[RUNDIR_MEM_TRACKED])) mem = &cc->m[k];
        }
        result_csv_field(f, cc->name);
        fputc(',', f);
        result_csv_field(f, cc->full);
        fputc(',', f);
        result_csv_field(f, verdict_name(cc->v));
        fputc(',', f);
        result_csv_field(f, cc->status_base);
        fputc(',', f);
        result_csv_field(f, cc->status_new);
        /* a new configuration has figures only on its NEW side */
        double new_step = t ? t->now : (cc->n && cc->n->n_steps ? stats_median(cc->n->steps, cc->n->n_steps) : NAN);
        csv_num(f, t ? t->base : NAN);
        csv_num(f, new_step);
        csv_num(f, t ? t->change : NAN);
        csv_num(f, t ? t->p : NAN);
        csv_num(f, mem ? mem->base : NAN);
        csv_num(f, mem ? mem->now : cc->n ? cc->n->mem[RUNDIR_MEM_TRACKED] : NAN);
        csv_num(f, mem ? mem->change : NAN);
        csv_num(f, cc->b ? cc->b->samples_per_s : NAN);
        csv_num(f, cc->n ? cc->n->samples_per_s : NAN);
        fputs("\r\n", f);
    }
    return 0;
}

// ----------------------------------------------------------------------------
// the command

static void compare_usage(FILE *f)
{
    fputs("usage: accumbench compare BASE NEW [--threshold 3%] [--mem-threshold 1%] [--json FILE] [--csv FILE]\n\n"
          "BASE and NEW are sweep directories (results.csv, steps.csv, meta.json). Configurations are matched by\n"
          "their key columns. Step time: two-sided Mann-Whitney U test over the timed steps of all repeats;\n"
          "a regression needs p < 0.05 and a median change above --threshold. Peak memory (mem_tracked_bytes,\n"
          "and mem_device_bytes / rss_delta_bytes where both have them): median over repeats against\n"
          "--mem-threshold. A configuration missing from NEW, or failing there (oom, error, crash, timeout),\n"
          "is a regression. Prints a markdown table; --json/--csv FILE also write it as JSON/CSV.\n"
          "Exit status: 0 no regression, 1 regression, 2 bad input.\n",
          f);
}

int cmd_compare(int argc, char **argv)
{
    comparison cmp;
    memset(&cmp, 0, sizeof cmp);
    cmp.threshold = 0.03;
    cmp.mem_threshold = 0.01;
    const char *pos[2];
    int npos = 0;
    char why[256];
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            compare_usage(stdout);
            return CLI_EXIT_OK;
        }
        int thr = !strcmp(a, "--threshold"), mem = !strcmp(a, "--mem-threshold");
        int json = !strcmp(a, "--json"), csv = !strcmp(a, "--csv");
        if (thr || mem || json || csv) {
            if (i + 1 >= argc) {
                cli_error("compare: %s needs a value", a);
                return CLI_EXIT_USAGE;
            }
            const char *v = argv[++i];
            if (thr || mem) {
                if (parse_fraction(v, 0.0, 100.0, thr ? &cmp.threshold : &cmp.mem_threshold, why, sizeof why)) {
                    cli_error("%s: %s", a, why);
                    return CLI_EXIT_USAGE;
                }
            } else if (json) {
                cmp.json_path = v;
            } else {
                cmp.csv_path = v;
            }
        } else if (a[0] == '-' && a[1]) {
            cli_error("compare: unknown flag '%s' (flags: --threshold, --mem-threshold, --json, --csv)", a);
            return CLI_EXIT_USAGE;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            cli_error("compare: more than two directories given ('%s'); usage: compare BASE NEW", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (npos < 2) {
        cli_error("compare: needs two sweep directories: compare BASE NEW (see compare --help)");
        return CLI_EXIT_USAGE;
    }
    cmp.base_dir = pos[0];
    cmp.new_dir = pos[1];
    char err[1024];
    if (rundir_load(&cmp.base, cmp.base_dir, 1, err, sizeof err)) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (rundir_load(&cmp.now, cmp.new_dir, 1, err, sizeof err)) {
        cli_error("%s", err);
        rundir_free(&cmp.base);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    if (build(&cmp)) {
        cli_error("compare: out of memory");
        goto done;
    }
    if (cmp.json_path && files_write_atomic(cmp.json_path, write_json, &cmp)) {
        cli_error("--json %s: cannot write: %s", cmp.json_path, strerror(errno));
        goto done;
    }
    if (cmp.csv_path && files_write_atomic(cmp.csv_path, write_csv, &cmp)) {
        cli_error("--csv %s: cannot write: %s", cmp.csv_path, strerror(errno));
        goto done;
    }
    print_markdown(&cmp, stdout);
    fflush(stdout);
    rc = cmp.counts[V_REGRESSION] + cmp.counts[V_MISSING] + cmp.counts[V_FAILED] ? CLI_EXIT_CHECK : CLI_EXIT_OK;
done:
    free(cmp.c);
    rundir_free(&cmp.base);
    rundir_free(&cmp.now);
    return rc;
}
