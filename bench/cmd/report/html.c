/* bench/cmd/report/html.c — DIR/report.html, one self-contained file: the
 * summary (the document summary.md prints too), meta.json, the figures as
 * inline SVG, every results.csv row, and the top kernels. */
#include "summary.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define META_MAX_BYTES ((size_t)1 << 20)
#define SVG_MAX_BYTES ((size_t)32 << 20)
#define TOP_KERNELS 10

static const char *const html_style =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.bad td{background:#fde8e8}table.meta th{background:#f7f7f7;font-weight:normal;color:#555}"
    "code{font-size:12px;word-break:break-all}figure{margin:16px 0}"
    "figure svg{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{font-size:14px;color:#444;max-width:1100px}.note{color:#8a4b00}"
    "div.wide{overflow-x:auto}td.err{min-width:18em;font-size:12px}";

// ----------------------------------------------------------------------------
// meta.json: every scalar as a row, by its dotted path

static void meta_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    sbuf *h = user;
    sb_str(h, "<tr><th>");
    sb_html(h, path);
    sb_str(h, "</th><td>");
    sb_html(h, leaf->text ? leaf->text : "null");
    sb_str(h, "</td></tr>\n");
}

static void html_meta(const report *rp, sbuf *h)
{
    char path[4200];
    if (rp->run.have_meta) {
        sb_str(h, "<table class=\"meta\">\n");
        jsonr_leaves(&rp->run.meta, meta_leaf, h);
        sb_str(h, "</table>\n");
        return;
    }
    if (fmt_into(path, sizeof path, "%s/meta.json", rp->dir) || access(path, F_OK) != 0) {
        sb_str(h, "<p>No meta.json in this directory.</p>\n");
        return;
    }
    /* partial or malformed (a sweep still running, or killed): show its text */
    sb_str(h, "<p class=\"note\">meta.json is not complete JSON (");
    sb_html(h, rp->run.meta_note);
    sb_str(h, "); its text:</p>\n<pre>");
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n, total = 0;
    while (f && total < META_MAX_BYTES && (n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        total += n;
        sb_html(h, chunk);
    }
    if (f) fclose(f);
    sb_str(h, "</pre>\n");
}

// ----------------------------------------------------------------------------
// figures

/* appends svg from its <svg>, ids prefixed so several can share a page;
 * gnuplot's own group ids (id="gnuplot_plot_N", repeated for an opaque key
 * and in each panel of a multiplot; nothing refers to them) also get a
 * serial number, so every id on the page is unique */
static void prefix_ids(sbuf *h, const char *p, int fig)
{
    static const char *const marks[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    int serial = 0;
    while (*p) {
        const char *next = NULL;
        size_t mark = 0;
        for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
            const char *q = strstr(p, marks[m]);
            if (q && (!next || q < next)) next = q, mark = m;
        }
        if (!next) {
            sb_str(h, p);
            return;
        }
        size_t mlen = strlen(marks[mark]);
        sb_put(h, p, (size_t)(next - p) + mlen);
        sb_printf(h, "f%d-", fig);
        p = next + mlen;
        if (mark == 1 && !strncmp(p, "gnuplot_", 8)) {
            size_t vlen = strcspn(p, "\"");
            sb_put(h, p, vlen);
            sb_printf(h, "-%d", ++serial);
            p += vlen;
        }
    }
}

/* the SVG file inline, its prolog dropped; 0, or -1 when it cannot be read */
static int inline_svg(sbuf *h, const char *path, int fig)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char *svg = malloc(SVG_MAX_BYTES + 1);
    size_t n = svg ? fread(svg, 1, SVG_MAX_BYTES + 1, f) : 0;
    fclose(f);
    const char *start = NULL;
    if (svg && n <= SVG_MAX_BYTES) {
        svg[n] = '\0';
        start = strstr(svg, "<svg");
    }
    if (start) prefix_ids(h, start, fig);
    free(svg);
    return start ? 0 : -1;
}

static void html_figures(const report *rp, sbuf *h, const figure figs[FIG_COUNT], const char *skip_why)
{
    if (skip_why) {
        sb_str(h, "<p class=\"note\">Plots were not drawn: ");
        sb_html(h, skip_why);
        sb_str(h, ". Their data files are in plots/data/; run <code>accumbench report</code> again where gnuplot "
                  "is installed.</p>\n");
    }
    for (int i = 0, n = 0; i < FIG_COUNT; i++) {
        const figure *f = &figs[i];
        if (!f->drawn) {
            sb_printf(h, "<p class=\"note\">Not drawn: %s: ", f->name);
            sb_html(h, f->missing);
            sb_str(h, ".</p>\n");
            continue;
        }
        char svg[4400];
        fmt_into(svg, sizeof svg, "%s/plots/%s.svg", rp->dir, f->name);
        sb_printf(h, "<figure id=\"fig-%s\">\n", f->name);
        if (inline_svg(h, svg, i + 1)) sb_str(h, "<p class=\"note\">The SVG could not be read back.</p>");
        sb_printf(h, "\n<figcaption>Figure %d (plots/%s.png, .svg). ", ++n, f->name);
        sb_html(h, f->caption);
        sb_str(h, "</figcaption>\n</figure>\n");
    }
}

// ----------------------------------------------------------------------------
// every results row

static void results_columns(doc *d, const int *show, int one_model, int show_grad)
{
    doc_table_begin(d, "results", NULL, 1);
    doc_col_add(d, COL_NUM, "#");
    doc_col_add(d, COL_TEXT, "engine");
    if (!one_model) doc_col_add(d, COL_TEXT, "model");
    static const col_spec cols[] = {{COL_TEXT, "strategy"},      {COL_NUM, "micro-batch"},
                                    {COL_NUM, "iter_size"},       {COL_NUM, "effective batch"},
                                    {COL_NUM, "repeat"},          {COL_TEXT, "status"},
                                    {COL_NUM, "timed steps"},     {COL_NUM, "step median ms"},
                                    {COL_NUM, "p10–p90 ms"},      {COL_NUM, "samples/s"}};
    doc_columns(d, cols, sizeof cols / sizeof cols[0]);
    for (int m = 0; m < MEM_COUNT; m++)
        if (show[m]) doc_col_add(d, COL_NUM, "%s", report_mem_titles[m]);
    if (show_grad) doc_col_add(d, COL_NUM, "grad_rel_err");
    doc_col_add(d, COL_TEXT, "unstable configuration");
    doc_col_add(d, COL_ERR, "error");
}

static void results_row(const report *rp, doc *d, size_t r, const int *show, int one_model, int show_grad)
{
    const report_row *w = &rp->rows[r];
    const report_config *g = &rp->cfgs[w->config];
    doc_row_begin(d, w->status == RESULT_OK ? "ok" : "bad");
    doc_cell(d, "%zu", r + 1);
    doc_cell(d, "%s", w->engine);
    if (!one_model) doc_cell(d, "%s", g->label);
    doc_cell(d, "%s", w->strategy);
    doc_cell(d, "%lld", w->micro_batch);
    doc_cell(d, "%lld", w->iter_size);
    doc_cell(d, "%lld", w->effective_batch);
    doc_num(d, w->repeat >= 0 ? (double)w->repeat : NAN, "%.0f");
    doc_cell(d, "%s", w->status_text);
    if (w->steps_timed < 0) doc_cell(d, "%s", "");
    else if (*w->stop_reason) doc_cell(d, "%lld (%s)", w->steps_timed, w->stop_reason);
    else doc_cell(d, "%lld", w->steps_timed);
    doc_num(d, w->step_median_ns * 1e-6, "%.3f");
    if (isnan(w->step_p10_ns) || isnan(w->step_p90_ns)) doc_cell(d, "%s", "");
    else doc_cell(d, "%.3f–%.3f", w->step_p10_ns * 1e-6, w->step_p90_ns * 1e-6);
    doc_num(d, w->samples_per_s, "%.1f");
    for (int m = 0; m < MEM_COUNT; m++)
        if (show[m]) doc_num(d, w->mem[m] / MIB, "%.2f");
    if (show_grad) doc_num(d, w->grad_rel_err, "%.2e");
    doc_cell(d, "%s", g->unstable ? "unstable" : "");
    doc_cell(d, "%s", w->error);
}

static void html_results(const report *rp, sbuf *h)
{
    int show[MEM_COUNT] = {0}, one_model = 1, show_grad = 0;
    for (size_t r = 0; r < rp->nrows; r++) {
        for (int m = 0; m < MEM_COUNT; m++) show[m] |= !isnan(rp->rows[r].mem[m]);
        show_grad |= !isnan(rp->rows[r].grad_rel_err);
        one_model &= rp->cfgs[rp->rows[r].config].pgroup == rp->cfgs[rp->rows[0].config].pgroup;
    }
    doc d = {0};
    if (one_model)
        doc_text(&d, "Every row of results.csv, all of one model and setting: %s. Sizes in MiB (2²⁰ bytes); failed "
                     "rows shaded; \"unstable\": the row's configuration failed the repeats' stability test.",
                 rp->cfgs[0].label);
    else
        doc_text(&d, "Every row of results.csv. Sizes in MiB (2²⁰ bytes); failed rows shaded; \"unstable\": the "
                     "row's configuration failed the repeats' stability test.");
    results_columns(&d, show, one_model, show_grad);
    for (size_t r = 0; r < rp->nrows; r++) results_row(rp, &d, r, show, one_model, show_grad);
    doc_html(&d, h);
    doc_free(&d);
}

// ----------------------------------------------------------------------------
// top kernels

static int cmp_kernel(const void *a, const void *b)
{
    const kernel_stat *x = a, *y = b;
    return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

/* one engine's top kernels (ops) of a configuration; shares are of that
 * engine's total */
static void kernel_rows(doc *d, report_config *g)
{
    double steps = g->profiled_steps > 0 ? g->profiled_steps : 1, sum = 0;
    for (size_t k = 0; k < g->ntop; k++) sum += g->top[k].total_ns;
    if (g->ntop > 1) qsort(g->top, g->ntop, sizeof *g->top, cmp_kernel);   /* qsort(NULL, 0) is UB */
    for (size_t k = 0; k < g->ntop && k < TOP_KERNELS; k++) {
        const kernel_stat *s = &g->top[k];
        doc_row_begin(d, NULL);
        doc_cell(d, "%s", g->engine);
        doc_cell(d, "%s", s->phase);
        doc_cell(d, "%s", s->kernel);
        doc_num(d, s->calls / steps, "%.1f");
        doc_num(d, s->total_ns / steps * 1e-6, "%.3f");
        doc_num(d, s->calls > 0 ? s->total_ns / s->calls * 1e-3 : 0, "%.2f");
        doc_num(d, sum > 0 ? 100 * s->total_ns / sum : 0, "%.1f%%");
    }
}

/* One table per strategy's split: each engine's top kernels, the primary
 * engine's first. */
static void html_kernels(report *rp, const report_view *v, sbuf *h)
{
    if (v->sl.group >= 0)
        sb_printf(h, "<p>Top %d by total time, at effective batch %lld, for each strategy's split with the most "
                     "micro-batches%s.</p>\n",
                  TOP_KERNELS, v->sl.eb, rp->nengines > 1 ? ", per engine (share: of that engine's kernel time)" : "");
    if (!rp->have_kernels || !v->ntop) {
        sb_str(h, rp->have_kernels ? "<p>No configuration with kernel records.</p>\n"
                                   : "<p>No kernels.csv in this directory.</p>\n");
        return;
    }
    doc d = {0};
    for (size_t i = 0; i < v->ntop; i++) {
        const report_config *pick = v->top[i];
        doc_heading(&d, "%s: micro-batch %lld × iter_size %lld, %s", pick->strategy, pick->mb, pick->k, pick->label);
        doc_table_begin(&d, NULL, "kernels", 0);
        static const col_spec cols[] = {{COL_TEXT, "engine"},    {COL_TEXT, "phase"},  {COL_CODE, "kernel"},
                                        {COL_NUM, "calls/step"}, {COL_NUM, "ms/step"}, {COL_NUM, "mean µs"},
                                        {COL_NUM, "share"}};
        doc_columns(&d, cols, sizeof cols / sizeof cols[0]);
        for (int e = 0; e < rp->nengines; e++) {
            report_config *g = e == 0 ? &rp->cfgs[pick - rp->cfgs] : paired_cfg(rp, pick, e);
            if (g) kernel_rows(&d, g);
        }
    }
    doc_html(&d, h);
    doc_free(&d);
}

// ----------------------------------------------------------------------------
// the page

static void html_head(const report *rp, sbuf *h)
{
    size_t count[RESULT_STATUS_N + 1] = {0};
    for (size_t r = 0; r < rp->nrows; r++) count[rp->rows[r].status]++;
    sb_str(h, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>accumbench report: ");
    sb_html(h, rp->dir);
    sb_printf(h, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>accumbench report</h1>\n<p>Results <code>",
              html_style);
    sb_html(h, rp->dir);
    sb_printf(h, "</code>: %zu rows (", rp->nrows);
    for (int s = 0, first = 1; s <= RESULT_STATUS_N; s++)
        if (count[s]) {
            sb_printf(h, "%s%zu %s", first ? "" : ", ", count[s],
                      s < RESULT_STATUS_N ? result_status_name((result_status)s) : "other");
            first = 0;
        }
    sb_printf(h, "), %zu configurations (configs.csv), %zu unstable.</p>\n", rp->ncfgs, rp->n_unstable);
}

int html_write(report *rp, const report_view *v, const figure figs[FIG_COUNT], const doc *summary,
               const char *skip_why)
{
    sbuf h = {0};
    html_head(rp, &h);
    sb_str(&h, "<h2>Summary</h2>\n");
    doc_html(summary, &h);
    sb_str(&h, "<h2>Run</h2>\n");
    html_meta(rp, &h);
    sb_str(&h, "<h2>Plots</h2>\n");
    html_figures(rp, &h, figs, skip_why);
    sb_str(&h, "<h2>Results</h2>\n");
    html_results(rp, &h);
    sb_str(&h, "<h2>Top kernels</h2>\n");
    html_kernels(rp, v, &h);
    if (rp->nnotes) {
        sb_str(&h, "<h2>Notes</h2>\n<ul>\n");
        for (int i = 0; i < rp->nnotes; i++) {
            sb_str(&h, "<li>");
            sb_html(&h, rp->notes[i]);
            sb_str(&h, "</li>\n");
        }
        sb_str(&h, "</ul>\n");
    }
    sb_str(&h, "</body>\n</html>\n");
    char path[4300];
    int rc = fmt_into(path, sizeof path, "%s/report.html", rp->dir) || sb_write_file(&h, path) ? -1 : 0;
    if (rc) fmt_into(rp->err, sizeof rp->err, "report: cannot write %s/report.html: %s", rp->dir, strerror(errno));
    sb_free(&h);
    return rc;
}
