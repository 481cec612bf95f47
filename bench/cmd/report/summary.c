/* bench/cmd/report/summary.c — the summary, built once as a document
 * (doc.h) that summary.md and the top of report.html print: the repeats'
 * stability and what the sweep did about slow spells and its time budget,
 * peak memory retain vs accumulate, throughput per strategy, each other
 * engine side by side with the primary one, and the unstable
 * configurations. Figures are medians over ok repeats, as in the plots. */
#include "summary.h"
#include "stats.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* with several engines, the retain/accumulate and throughput summaries are
 * the primary engine's: say so */
static const char *engine_prefix(const report *rp, char *buf, size_t len)
{
    buf[0] = '\0';
    if (rp->nengines > 1) snprintf(buf, len, "%s: ", rp->engines[0]);
    return buf;
}

static void noise_words(const report *rp, char *out, size_t len)
{
    if (rp->noise_from_results) snprintf(out, len, "each run's own --noise (results.csv's noise column)");
    else snprintf(out, len, "%g, the run's default --noise (these results record no noise setting)", rp->default_noise);
}

/* a number in meta.json by dotted path; NAN when absent or null */
static double meta_num(const report *rp, const char *path)
{
    const char *t = rp->run.have_meta ? jsonr_text(&rp->run.meta, jsonr_path(&rp->run.meta, path)) : NULL;
    char *end;
    double v = t ? strtod(t, &end) : NAN;
    return t && end != t ? v : NAN;
}

/* what the sweep did about slow spells and its time budget (meta.json):
 * the reader of the spread needs to know which runs were kept anyway */
static void summary_sweep_rules(const report *rp, doc *d)
{
    double waited = meta_num(rp, "profile.calm.waited_s"), again = meta_num(rp, "profile.calm.runs_again");
    double limit = meta_num(rp, "profile.time_budget.limit_s"), at = meta_num(rp, "profile.time_budget.reached_at_s");
    double left = meta_num(rp, "profile.time_budget.extra_runs_left_out");
    double kept = meta_num(rp, "profile.time_budget.disturbed_runs_kept");
    if (!isnan(waited))
        doc_text(d, "Slow spells: the sweep waited %.0f s for the machine to leave them and ran %.0f run%s again "
                    "that one had caught.",
                 waited, isnan(again) ? 0.0 : again, again == 1 ? "" : "s");
    const rundir *run = &rp->run;
    if (!isnan(run->round_span)) {
        char speeds[RUNDIR_MAX_ROUNDS * 8] = "";
        for (size_t r = 0, len = 0; r < run->n_rounds && len + 8 < sizeof speeds; r++)
            len += (size_t)snprintf(speeds + len, sizeof speeds - len, "%s%.3f", r ? ", " : "", run->round_speed[r]);
        if (run->round_span > RUNDIR_ROUND_SPAN_WARN)
            doc_text(d, "The machine's speed moved by %.0f%% between rounds (each round's median of a repeat over its "
                        "configuration's median: %s; a steady sweep's rounds agree within a few percent): this "
                        "sweep's figures, and a compare against it, are less certain than their spreads say. Run it "
                        "again on a quieter machine.",
                     100 * (run->round_span - 1), speeds);
        else
            doc_text(d, "Rounds: each round's median of a repeat over its configuration's median was %s, within "
                        "%.1f%%: the machine kept its speed through the sweep.",
                     speeds, 100 * (run->round_span - 1));
    }
    if (!isnan(limit) && !isnan(at))
        doc_text(d, "Time budget: %g s, spent at %.0f s; %.0f extra repeat%s left out and %.0f run%s a slow spell "
                    "caught kept, so some configurations have fewer repeats than their spread asked for.",
                 limit, at, left, left == 1 ? "" : "s", kept, kept == 1 ? "" : "s");
    else if (!isnan(limit))
        doc_text(d, "Time budget: %g s, not reached.", limit);
}

static void summary_stability(const report *rp, doc *d)
{
    char noise[160];
    noise_words(rp, noise, sizeof noise);
    if (!rp->n_repeated) {
        doc_text(d, "Repeats: no configuration ran ok more than once, so none was tested for stability (the design "
                    "asks for repeat ≥ 3: the process, not the step, is the unit of variance).");
        return;
    }
    doc_text(d,
             "Repeats: %zu of %zu configurations ran ok in two or more processes; %zu unstable: the spread of "
             "their repeats' median step times, (max − min) / median, exceeds max(2 × noise, %.0f%%), noise being "
             "%s.%s",
             rp->n_repeated, rp->ncfgs, rp->n_unstable, 100 * STATS_UNSTABLE_FLOOR, noise,
             rp->n_unstable ? " They are listed under \"Unstable configurations\"; their figures are less certain "
                              "than their own confidence intervals say."
                            : "");
}

// ----------------------------------------------------------------------------
// peak memory and throughput

/* at micro-batch mb, the retain/accumulate pair of the largest iter_size
 * where both have a tracked peak; 0 when none */
static int memory_pair(const report *rp, long group, long long mb, const report_config **buf,
                       const report_config **buf2, const report_config **r, const report_config **a)
{
    size_t nr = series_cfgs(rp, group, "retain", mb, buf), na = series_cfgs(rp, group, "accumulate", mb, buf2);
    *r = *a = NULL;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < na; j++)
            if (buf[i]->k == buf2[j]->k && !isnan(buf[i]->mem[MEM_TRACKED]) && buf2[j]->mem[MEM_TRACKED] > 0 &&
                (!*r || buf[i]->k > (*r)->k))
                *r = buf[i], *a = buf2[j];
    return *r != NULL;
}

static void summary_memory(const report *rp, doc *d, long group, const report_config **buf,
                           const report_config **buf2)
{
    long long mbs[64];
    size_t nmb = group >= 0 ? group_micro_batches(rp, group, 0, mbs, 64) : 0;
    int rows = 0;
    char prefix[96];
    for (size_t m = 0; m < nmb; m++) {
        const report_config *r, *a;
        if (!memory_pair(rp, group, mbs[m], buf, buf2, &r, &a)) continue;
        if (!rows++) {
            doc_heading(d, "Peak memory: retain vs accumulate");
            doc_text(d, "%s%s, tracked peak at the largest iter_size where both ran:",
                     engine_prefix(rp, prefix, sizeof prefix), r->label);
            static const col_spec cols[] = {{COL_NUM, "micro-batch"},
                                            {COL_NUM, "iter_size"},
                                            {COL_NUM, "retain MiB"},
                                            {COL_NUM, "accumulate MiB"},
                                            {COL_NUM, "retain / accumulate"}};
            doc_table_begin(d, NULL, "summary", 0);
            doc_columns(d, cols, sizeof cols / sizeof cols[0]);
        }
        doc_row_begin(d, NULL);
        doc_cell(d, "%lld", r->mb);
        doc_cell(d, "%lld", r->k);
        doc_num(d, r->mem[MEM_TRACKED] / MIB, "%.2f");
        doc_num(d, a->mem[MEM_TRACKED] / MIB, "%.2f");
        doc_num(d, r->mem[MEM_TRACKED] / a->mem[MEM_TRACKED], "%.3f");
    }
    if (!rows) doc_text(d, "No configuration ran under both retain and accumulate, so no memory ratio.");
}

static void spread_cells(doc *d, const report_config *g)
{
    doc_num(d, 100 * g->spread_rel, "%.1f%%");
    doc_cell(d, "%s", g->unstable ? "unstable" : "");
}

static void summary_throughput(const report *rp, doc *d, slice sl, const report_config **buf)
{
    if (sl.group < 0) {
        doc_text(d, "No configuration ran ok, so no throughput.");
        return;
    }
    size_t n = slice_cfgs(rp, sl, 0, buf);
    char prefix[96];
    doc_heading(d, "Throughput at effective batch %lld", sl.eb);
    doc_text(d,
             "%s%s; the largest effective batch at which every strategy ran; each strategy's fastest split. "
             "Spread: (max − min) / median of the repeats' median step times.",
             engine_prefix(rp, prefix, sizeof prefix), report_group_rep(rp, sl.group)->label);
    static const col_spec cols[] = {{COL_TEXT, "strategy"},  {COL_NUM, "micro-batch × iter_size"},
                                    {COL_NUM, "samples/s"},  {COL_NUM, "step ms"},
                                    {COL_NUM, "tracked MiB"}, {COL_NUM, "repeats ok"},
                                    {COL_NUM, "spread"},     {COL_TEXT, "stability"}};
    doc_table_begin(d, NULL, "summary", 0);
    doc_columns(d, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < n;) {
        size_t j = i, best = i;
        for (; j < n && !strcmp(buf[j]->strategy, buf[i]->strategy); j++)
            if (buf[j]->sps > buf[best]->sps) best = j;
        const report_config *g = buf[best];
        doc_row_begin(d, g->unstable ? "bad" : NULL);
        doc_cell(d, "%s", g->strategy);
        doc_cell(d, "%lld × %lld", g->mb, g->k);
        doc_num(d, g->sps, "%.1f");
        doc_num(d, g->step_ns * 1e-6, "%.3f");
        doc_num(d, g->mem[MEM_TRACKED] / MIB, "%.2f");
        doc_cell(d, "%d", g->n_ok);
        spread_cells(d, g);
        i = j;
    }
}

// ----------------------------------------------------------------------------
// engines side by side

/* a configuration's statuses over its repeats: "ok", "ok ×3", "2 ok, 1 oom" */
static void cfg_status(const report *rp, const report_config *g, char *out, size_t len)
{
    int count[RESULT_STATUS_N + 1] = {0}, kinds = 0, last = 0;
    for (size_t r = g->first_row; r != REPORT_NONE; r = rp->rows[r].next) {
        int k = (int)rp->rows[r].status;   /* RESULT_STATUS_N: other */
        kinds += !count[k]++;
        last = k;
    }
#define NAME(k) ((k) < RESULT_STATUS_N ? result_status_name((result_status)(k)) : "other")
    if (kinds == 1) {
        if (g->n > 1) snprintf(out, len, "%s ×%d", NAME(last), g->n);
        else snprintf(out, len, "%s", NAME(last));
        return;
    }
    size_t n = 0;
    out[0] = '\0';
    for (int k = 0; k <= RESULT_STATUS_N && n < len; k++)
        if (count[k]) n += (size_t)snprintf(out + n, len - n, "%s%d %s", n ? ", " : "", count[k], NAME(k));
#undef NAME
}

static void engines_columns(doc *d, const char *an, const char *bn)
{
    doc_table_begin(d, "engines", "summary", 1);
    doc_col_add(d, COL_TEXT, "model");
    doc_col_add(d, COL_TEXT, "strategy");
    doc_col_add(d, COL_NUM, "micro-batch × iter_size");
    doc_col_add(d, COL_NUM, "%s step ms", an);
    doc_col_add(d, COL_NUM, "%s step ms", bn);
    doc_col_add(d, COL_NUM, "step %s / %s", an, bn);
    doc_col_add(d, COL_NUM, "%s samples/s", an);
    doc_col_add(d, COL_NUM, "%s samples/s", bn);
    doc_col_add(d, COL_TEXT, "memory");
    doc_col_add(d, COL_NUM, "%s MiB", an);
    doc_col_add(d, COL_NUM, "%s MiB", bn);
    doc_col_add(d, COL_NUM, "%s reserved MiB", bn);
    doc_col_add(d, COL_NUM, "memory %s / %s", an, bn);
    doc_col_add(d, COL_NUM, "%s grad_rel_err", bn);
    doc_col_add(d, COL_TEXT, "%s status", an);
    doc_col_add(d, COL_TEXT, "%s status", bn);
}

/* A row setting configuration a beside b (another engine, allocator or
 * recompute setting): shaded unless both have ok repeats, then a's engine
 * when asked, label, strategy and split. */
static void pair_row_begin(doc *d, const report_config *a, const report_config *b, int engine_cell)
{
    doc_row_begin(d, a->n_ok && b->n_ok ? "ok" : "bad");
    if (engine_cell) doc_cell(d, "%s", a->engine);
    doc_cell(d, "%s", a->label);
    doc_cell(d, "%s", a->strategy);
    doc_cell(d, "%lld × %lld", a->mb, a->k);
}

/* one configuration both engines ran. The memory figure follows the
 * backend's capability: on a device, a's tracked peak against b's allocated
 * peak (and b's reserved); in host memory, each process's RSS growth. */
static void engines_row(const report *rp, doc *d, const report_config *a, const report_config *b)
{
    int device = report_device_memory(rp, a->backend);
    int m = device ? MEM_TRACKED : MEM_RSS;
    char sa[64], sbs[64];
    cfg_status(rp, a, sa, sizeof sa);
    cfg_status(rp, b, sbs, sizeof sbs);
    pair_row_begin(d, a, b, 0);
    doc_num(d, a->step_ns * 1e-6, "%.4g");
    doc_num(d, b->step_ns * 1e-6, "%.4g");
    doc_num(d, a->step_ns / b->step_ns, "%.3g");
    doc_num(d, a->sps, "%.1f");
    doc_num(d, b->sps, "%.1f");
    doc_cell(d, "%s", device ? "tracked / allocated" : "RSS Δ");
    doc_num(d, a->mem[m] / MIB, "%.2f");
    doc_num(d, b->mem[m] / MIB, "%.2f");
    doc_num(d, device ? b->mem[MEM_RESERVED] / MIB : NAN, "%.2f");
    doc_num(d, a->mem[m] / b->mem[m], "%.3g");
    doc_num(d, b->grad_err, "%.2e");
    doc_cell(d, "%s", sa);
    doc_cell(d, "%s", sbs);
}

/* One table per other engine: a row per configuration that both it and the
 * primary engine ran (the pairing key is the configuration key less engine
 * and repeat), in results order; grad_rel_err is the largest over the other
 * engine's repeats. */
static void summary_engines(const report *rp, doc *d)
{
    for (int e = 1; e < rp->nengines; e++) {
        const char *an = rp->engines[0], *bn = rp->engines[e];
        size_t npairs = 0;
        for (size_t i = 0; i < rp->ncfgs; i++) npairs += !rp->cfgs[i].eng && paired_cfg(rp, &rp->cfgs[i], e);
        doc_heading(d, "%s vs %s", an, bn);
        if (!npairs) {
            doc_text(d, "No configuration ran under both %s and %s.", an, bn);
            continue;
        }
        doc_text(d,
                 "%zu configurations ran under both engines. Step: median step time over the ok repeats, and "
                 "%s / %s (below 1: %s is faster). Memory in MiB, the figure named in the memory column: on a "
                 "GPU (tracked / allocated) %s's tracked peak (mem_tracked_bytes) against %s's allocated peak "
                 "(its mem_tracked_bytes: torch.cuda.max_memory_allocated) and reserved peak "
                 "(mem_reserved_bytes); on the CPU (RSS Δ) the growth of each process's peak resident set "
                 "(rss_delta_bytes). grad_rel_err: max|g_%s − g_%s| / max|g_%s| over the parameters.",
                 npairs, an, bn, an, an, bn, bn, an, an);
        engines_columns(d, an, bn);
        for (size_t i = 0; i < rp->ncfgs; i++) {
            const report_config *a = &rp->cfgs[i];
            const report_config *b = a->eng ? NULL : paired_cfg(rp, a, e);
            if (b) engines_row(rp, d, a, b);
        }
    }
}

// ----------------------------------------------------------------------------
// pool against arena (GPU)

/* the configuration with a's key but for allocator = `want`, or NULL */
static const report_config *allocator_twin(const report *rp, const report_config *a, size_t ai, const char *want)
{
    for (size_t j = 0; j < rp->ncfgs; j++) {
        const report_config *b = &rp->cfgs[j];
        if (b == a || strcmp(b->rc->values[ai], want) != 0) continue;
        size_t k = 0;
        while (k < rp->run.n_keys && (k == ai || k == rp->run.repeat_key || !strcmp(a->rc->values[k], b->rc->values[k])))
            k++;
        if (k == rp->run.n_keys) return b;
    }
    return NULL;
}

/* What the stream-ordered pool costs against one reservation, for every
 * configuration run with both (`allocator = pool, arena` in a profile):
 * the step times' ratio and both memory figures. */
static void summary_allocators(const report *rp, doc *d)
{
    long ai = rundir_key_index(&rp->run, "allocator");
    if (ai < 0) return;
    size_t npairs = 0;
    for (size_t i = 0; i < rp->ncfgs; i++)
        npairs += !strcmp(rp->cfgs[i].rc->values[ai], "pool") && allocator_twin(rp, &rp->cfgs[i], (size_t)ai, "arena");
    if (!npairs) return;
    doc_heading(d, "Allocator: pool vs arena");
    doc_text(d, "%zu configurations ran with both allocators. Step: median step time over the ok repeats; pool / "
                "arena above 1 is what allocating from the stream-ordered pool costs against one reservation. "
                "Tracked MiB is the same count in both (mem_tracked_bytes); reserved MiB is the pool's peak "
                "reservation, or the arena.",
             npairs);
    static const col_spec cols[] = {{COL_TEXT, "model"},          {COL_TEXT, "strategy"},
                                    {COL_NUM, "micro-batch × iter_size"},
                                    {COL_NUM, "pool step ms"},    {COL_NUM, "arena step ms"},
                                    {COL_NUM, "pool / arena"},    {COL_NUM, "tracked MiB"},
                                    {COL_NUM, "pool reserved MiB"}, {COL_NUM, "arena reserved MiB"}};
    doc_table_begin(d, "allocators", "summary", 1);
    doc_columns(d, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *p = &rp->cfgs[i];
        const report_config *a = strcmp(p->rc->values[ai], "pool") ? NULL : allocator_twin(rp, p, (size_t)ai, "arena");
        if (!a) continue;
        pair_row_begin(d, p, a, 0);
        doc_num(d, p->step_ns * 1e-6, "%.4g");
        doc_num(d, a->step_ns * 1e-6, "%.4g");
        doc_num(d, p->step_ns / a->step_ns, "%.3g");
        doc_num(d, p->mem[MEM_TRACKED] / MIB, "%.2f");
        doc_num(d, p->mem[MEM_RESERVED] / MIB, "%.2f");
        doc_num(d, a->mem[MEM_RESERVED] / MIB, "%.2f");
    }
}

// ----------------------------------------------------------------------------
// recomputation: blocks against none

/* each configuration without recomputation whose twin with recompute =
 * blocks ran, both ok: the peak and step ratios' range over one model */
typedef struct {
    double peak_lo, peak_hi, step_lo, step_hi;
    int n;
    char fits_only[512];        /* splits that ran out of memory without it and fit with it */
    size_t nfits;
} recompute_range;

static const report_config *blocks_twin(const report *rp, const report_config *a)
{
    if (a->blocks) return NULL;
    const report_config *b = recompute_twin(rp, a);
    return b && (a->n_ok || a->n_oom || b->n_ok || b->n_oom) ? b : NULL;
}

static void range_add(recompute_range *r, const report_config *a, const report_config *b)
{
    if (!a->n_ok && a->n_oom && b->n_ok) {
        size_t n = strlen(r->fits_only);
        if (n < sizeof r->fits_only)
            snprintf(r->fits_only + n, sizeof r->fits_only - n, "%s%s %lld × %lld", r->nfits ? ", " : "",
                     a->strategy, a->mb, a->k);
        r->nfits++;
    }
    double peak = b->mem[MEM_TRACKED] / a->mem[MEM_TRACKED], step = b->step_ns / a->step_ns;
    if (!a->n_ok || !b->n_ok || !(peak > 0) || !(step > 0)) return;
    if (!r->n++) r->peak_lo = r->peak_hi = peak, r->step_lo = r->step_hi = step;
    r->peak_lo = fmin(r->peak_lo, peak), r->peak_hi = fmax(r->peak_hi, peak);
    r->step_lo = fmin(r->step_lo, step), r->step_hi = fmax(r->step_hi, step);
}

/* "0.43–0.71×", or "0.43×" for one value */
static const char *ratio_range(char *buf, size_t len, double lo, double hi)
{
    if (fabs(hi - lo) < 0.0005) snprintf(buf, len, "%.3f×", lo);
    else snprintf(buf, len, "%.3f–%.3f×", lo, hi);
    return buf;
}

/* one paragraph per model and setting (and engine): what recomputation
 * bought and cost there, and when to use it */
static void recompute_words(const report *rp, doc *d, const report_config *first)
{
    recompute_range r = {0};
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *a = &rp->cfgs[i], *b = blocks_twin(rp, a);
        if (b && a->group == first->group) range_add(&r, a, b);
    }
    char prefix[96] = "", peak[48], step[48];
    if (rp->nengines > 1) snprintf(prefix, sizeof prefix, "%s: ", first->engine);
    if (r.n)
        doc_text(d,
                 "%s%s: with --recompute blocks the tracked peak is %s and the step time %s those without it, "
                 "over %d split%s. Use it when a split does not fit your memory without it%s",
                 prefix, first->label, ratio_range(peak, sizeof peak, r.peak_lo, r.peak_hi),
                 ratio_range(step, sizeof step, r.step_lo, r.step_hi), r.n, r.n == 1 ? "" : "s",
                 r.step_lo > 1 ? "; where it fits, leave it off: every split here was slower with it."
                               : "; where it fits, it was not slower on every split here.");
    if (r.nfits)
        doc_text(d, "%s%s: ran out of memory without recomputation and fit with it: %s.", prefix, first->label,
                 r.fits_only);
}

static void recompute_row(const report *rp, doc *d, const report_config *a, const report_config *b)
{
    char sa[64], sbs[64];
    cfg_status(rp, a, sa, sizeof sa);
    cfg_status(rp, b, sbs, sizeof sbs);
    pair_row_begin(d, a, b, rp->nengines > 1);
    doc_num(d, a->mem[MEM_TRACKED] / MIB, "%.2f");
    doc_num(d, b->mem[MEM_TRACKED] / MIB, "%.2f");
    doc_num(d, a->n_ok && b->n_ok ? b->mem[MEM_TRACKED] / a->mem[MEM_TRACKED] : NAN, "%.3f");
    doc_num(d, a->step_ns * 1e-6, "%.4g");
    doc_num(d, b->step_ns * 1e-6, "%.4g");
    doc_num(d, a->n_ok && b->n_ok ? b->step_ns / a->step_ns : NAN, "%.3f");
    doc_cell(d, "%s", sa);
    doc_cell(d, "%s", sbs);
}

/* Where results hold recompute = blocks rows: per model and setting, what
 * recomputation saved and cost, in words; then one row per configuration
 * run both ways (medians over the ok repeats). */
static void summary_recompute(const report *rp, doc *d)
{
    if (!rp->have_blocks) return;
    doc_heading(d, "Recomputation");
    doc_text(d, "--recompute blocks keeps only each block's input through forward and recomputes the block inside "
                "backward (phase recompute): less memory for more time. Ratios are blocks / none of the medians "
                "over the ok repeats; below 1 is a saving.");
    size_t nrows = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *a = &rp->cfgs[i];
        if (!blocks_twin(rp, a)) continue;
        nrows++;
        size_t j = 0;   /* the group's first configuration run both ways says its words */
        while (j < i && !(rp->cfgs[j].group == a->group && blocks_twin(rp, &rp->cfgs[j]))) j++;
        if (j == i) recompute_words(rp, d, a);
    }
    if (!nrows) {
        doc_text(d, "No configuration ran both with and without recomputation, so nothing to compare.");
        return;
    }
    doc_table_begin(d, "recompute", "summary", 1);
    if (rp->nengines > 1) doc_col_add(d, COL_TEXT, "engine");
    static const col_spec cols[] = {{COL_TEXT, "model"},           {COL_TEXT, "strategy"},
                                    {COL_NUM, "micro-batch × iter_size"},
                                    {COL_NUM, "none MiB"},         {COL_NUM, "blocks MiB"},
                                    {COL_NUM, "peak blocks / none"}, {COL_NUM, "none step ms"},
                                    {COL_NUM, "blocks step ms"},   {COL_NUM, "step blocks / none"},
                                    {COL_TEXT, "none status"},     {COL_TEXT, "blocks status"}};
    doc_columns(d, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *a = &rp->cfgs[i], *b = blocks_twin(rp, a);
        if (b) recompute_row(rp, d, a, b);
    }
}

// ----------------------------------------------------------------------------
// unstable configurations

static void summary_unstable(const report *rp, doc *d)
{
    if (!rp->n_unstable) return;
    doc_heading(d, "Unstable configurations");
    doc_text(d, "Configurations whose repeats disagree by more than max(2 × noise, %.0f%%) of their median step "
                "time (configs.csv has every configuration).",
             100 * STATS_UNSTABLE_FLOOR);
    static const col_spec cols[] = {{COL_TEXT, "model"},      {COL_TEXT, "strategy"},
                                    {COL_NUM, "micro-batch × iter_size"},
                                    {COL_NUM, "repeats ok"},  {COL_NUM, "step ms (median)"},
                                    {COL_NUM, "min–max ms"},  {COL_NUM, "spread"},
                                    {COL_TEXT, "stability"}};
    doc_table_begin(d, "unstable", "summary", 1);
    if (rp->nengines > 1) doc_col_add(d, COL_TEXT, "engine");
    doc_columns(d, cols, sizeof cols / sizeof cols[0]);
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const report_config *g = &rp->cfgs[i];
        if (!g->unstable) continue;
        doc_row_begin(d, "bad");
        if (rp->nengines > 1) doc_cell(d, "%s", g->engine);
        doc_cell(d, "%s", g->label);
        doc_cell(d, "%s", g->strategy);
        doc_cell(d, "%lld × %lld", g->mb, g->k);
        doc_cell(d, "%d", g->n_ok);
        doc_num(d, g->step_ns * 1e-6, "%.4g");
        doc_cell(d, "%.4g–%.4g", g->step_min_ns * 1e-6, g->step_max_ns * 1e-6);
        spread_cells(d, g);
    }
}

void summary_build(const report *rp, const report_view *v, doc *d, const report_config **buf,
                   const report_config **buf2)
{
    summary_stability(rp, d);
    summary_sweep_rules(rp, d);
    summary_memory(rp, d, v->ra_group, buf, buf2);
    summary_throughput(rp, d, v->common, buf);
    summary_recompute(rp, d);
    summary_engines(rp, d);
    summary_allocators(rp, d);
    summary_unstable(rp, d);
}

int summary_write(report *rp, const doc *summary, int ndrawn)
{
    sbuf md = {0};
    sb_printf(&md, "# accumbench summary\n\nResults: `%s`: %zu rows, %zu configurations (each one row of "
                   "configs.csv). Report: `report.html`; plots: `plots/` (%d figures).\n\n",
              rp->dir, rp->nrows, rp->ncfgs, ndrawn);
    doc_markdown(summary, &md);
    char path[4300];
    int rc = fmt_into(path, sizeof path, "%s/summary.md", rp->dir) || sb_write_file(&md, path) ? -1 : 0;
    if (rc) fmt_into(rp->err, sizeof rp->err, "report: cannot write %s/summary.md: %s", rp->dir, strerror(errno));
    sb_free(&md);
    return rc;
}
