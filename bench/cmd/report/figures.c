/* bench/cmd/report/figures.c — each figure's data file (layout in figures.h),
 * title and caption. Styles: retain in warm colours, accumulate in cool ones,
 * full black; one point shape per micro-batch (filled for retain, open for
 * accumulate). A second engine (torch) keeps its strategy's colours and draws
 * dash-dot lines with * (retain, full) and + (accumulate) marks. A series
 * with recompute = blocks keeps the colours of the same series without it
 * and draws dotted lines (dash-dot-dot for a second engine); where a series
 * is a whole strategy (throughput, Pareto) it has marks of its own:
 * triangles (x and square for a second engine). */
#include "figures.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const unsigned retain_rgb[] = {0xd55e00, 0xe69f00, 0xcc79a7, 0x8b2500, 0xb8860b, 0xa0522d};
static const unsigned accum_rgb[] = {0x0072b2, 0x56b4e9, 0x009e73, 0x1a237e, 0x00838f, 0x5e8c31};
static const unsigned other_rgb[] = {0x000000, 0xd55e00, 0x0072b2, 0x7f7f7f};
static const int filled_pt[] = {7, 5, 9, 13, 11, 15};
static const int open_pt[] = {6, 4, 8, 12, 10, 14};
#define NSTYLE 6
#define ENGINE_DT 4             /* gnuplot dash type of every engine but the primary: dash-dot */
#define BLOCKS_DT 3             /* recompute = blocks: dotted */
#define ENGINE_BLOCKS_DT 5      /* recompute = blocks in another engine: dash-dot-dot */
#define MAX_MB 64

void figures_init(figure figs[FIG_COUNT])
{
    static const struct {
        const char *name, *what, *why_empty;
    } def[FIG_COUNT] = {
        [FIG_MEMORY] = {"memory_vs_iter_size",
                        "Peak memory against iter_size: retain keeps every micro-batch's activations until its "
                        "backward, accumulate frees them after each micro-batch.",
                        "no retain or accumulate configuration ran"},
        [FIG_THROUGHPUT] = {"throughput_vs_micro_batch",
                            "Throughput against micro-batch size at one effective batch, one line per strategy.",
                            "no configuration ran ok"},
        [FIG_PARETO] = {"memory_vs_throughput", "Peak tracked memory against throughput at one effective batch.",
                        "no configuration ran ok with a tracked peak"},
        [FIG_PHASES] = {"kernel_phases", "Kernel time per step, stacked by phase.",
                        "no kernel records for the configurations of the slice"},
        [FIG_RATIO] = {"peak_ratio", "Ratio of retain's to accumulate's peak memory against iter_size.",
                       "no split ran ok under both retain and accumulate"},
        [FIG_TIMELINE] = {"memory_timeline",
                          "Live tracked bytes through one step: retain piles up every micro-batch's activations "
                          "(F1…Fk) and releases them during the backwards (Bk…B1); accumulate returns to its base "
                          "after each micro-batch's backward.",
                          "memory.csv has no retain/accumulate pair of the same split"},
    };
    for (int i = 0; i < FIG_COUNT; i++) {
        memset(&figs[i], 0, sizeof figs[i]);
        figs[i].name = def[i].name;
        figs[i].what = def[i].what;
        figs[i].why_empty = def[i].why_empty;
    }
}

void figures_free(figure figs[FIG_COUNT])
{
    for (int i = 0; i < FIG_COUNT; i++) sb_free(&figs[i].data);
}

// ----------------------------------------------------------------------------
// styles and words shared by the figures

static unsigned strategy_rgb(const char *s, int i)
{
    if (!strcmp(s, "retain")) return retain_rgb[i % NSTYLE];
    if (!strcmp(s, "accumulate")) return accum_rgb[i % NSTYLE];
    return other_rgb[strategy_rank(s)];
}

static int series_pt(const char *s, int i, int eng)
{
    if (eng) return !strcmp(s, "accumulate") ? 1 : 3;
    return !strcmp(s, "accumulate") ? open_pt[i % NSTYLE] : filled_pt[i % NSTYLE];
}

/* a strategy's marks where one series is the whole strategy */
static int strategy_pt(const char *s, int eng, int blocks)
{
    int acc = !strcmp(s, "accumulate");
    if (!blocks) return series_pt(s, 0, eng);
    if (eng) return acc ? 4 : 2;
    return acc ? 8 : 9;
}

static int series_dt(int eng, int blocks)
{
    if (eng) return blocks ? ENGINE_BLOCKS_DT : ENGINE_DT;
    return blocks ? BLOCKS_DT : 1;
}

/* what a series' title adds for recompute = blocks */
static const char *blocks_words(int blocks) { return blocks ? ", recompute blocks" : ""; }
/* and a split's short label */
static const char *blocks_mark(int blocks) { return blocks ? " recompute" : ""; }

/* a series' title: `what`, and with several engines in the results the
 * engine before it and, where it draws RSS growth, " (RSS Δ)" after */
static void series_title(const report *rp, char *out, size_t len, int eng, const char *what, int rss)
{
    if (rp->nengines > 1) snprintf(out, len, "%s %s%s", rp->engines[eng], what, rss ? " (RSS Δ)" : "");
    else snprintf(out, len, "%s%s", what, rss ? " (RSS Δ)" : "");
}

/* a block's opening: the comment and the header line */
static void series_open(figure *f, int *blocks, const char *title, const char *columns)
{
    sb_printf(&f->data, "%s# series: %s\n", (*blocks)++ ? "\n\n" : "", title);
    sb_printf(&f->data, "%s\n", columns);
}

/* the caption's sentences on engines: their styles, and which memory
 * figure each draws */
static void engines_caption(const report *rp, char *out, size_t len, int lines, int mem, int rss)
{
    out[0] = '\0';
    if (rp->nengines < 2) return;
    char others[160] = "";
    size_t n = 0;
    for (int e = 1; e < rp->nengines && n < sizeof others; e++)
        n += (size_t)snprintf(others + n, sizeof others - n, "%s%s", e > 1 ? ", " : "", rp->engines[e]);
    snprintf(out, len, " Engines: %s %s; %s %s* (retain, full) and + (accumulate) marks; colours by strategy.",
             rp->engines[0], lines ? "in solid lines with filled and open marks" : "with filled and open marks",
             others, lines ? "in dash-dot lines with " : "with ");
    n = strlen(out);
    if (mem && !rss)
        snprintf(out + n, len - n, " On a GPU, torch's memory is its allocator's peak (mem_tracked_bytes: "
                                   "torch.cuda.max_memory_allocated, less the data).");
    if (rss)
        snprintf(out + n, len - n,
                 " Series marked RSS Δ draw rss_delta_bytes (the growth of the process's peak resident set), "
                 "since that engine tracks no bytes on the CPU: it also counts allocator caches and library "
                 "buffers, so it is not the same figure as a tracked peak.");
}

static const char *engines_and(const report *rp, char *out, size_t len)
{
    out[0] = '\0';
    if (rp->nengines < 2) return out;
    size_t n = (size_t)snprintf(out, len, ", %s", rp->engines[0]);
    for (int e = 1; e < rp->nengines && n < len; e++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", e + 1 == rp->nengines ? " and " : ", ", rp->engines[e]);
    return out;
}

static void sb_num(sbuf *b, double v)
{
    if (isnan(v)) sb_str(b, " NaN");
    else sb_printf(b, " %.9g", v);
}

/* the repeats' range of samples/s: the throughput figures' last columns */
static void sb_range(sbuf *b, const report_config *g)
{
    sb_num(b, g->sps_min);
    sb_num(b, g->sps_max);
}

// ----------------------------------------------------------------------------
// memory against iter_size, and the retain / accumulate ratio

static const char *const blocks_caption =
    " Dotted (dash-dot-dot for a second engine): recompute blocks, the same strategy and micro-batch in the same "
    "colour and marks, run with --recompute blocks: forward keeps only each block's input and backward recomputes "
    "the block before its backward.";

static void memory_rows(const report *rp, figure *f, const report_config *const *cf, size_t n, int s, int m,
                        int eng, int blocks)
{
    static const char *const strategies[] = {"retain", "accumulate"};
    (void)rp;
    for (size_t i = 0; i < n; i++) {
        const report_config *g = cf[i];
        int oom = !g->n_ok && g->n_oom;
        double measured = oom ? NAN : g->mem_fig / MIB, analytic = g->mem[MEM_ANALYTIC];
        sb_printf(&f->data, "%lld", g->k);
        sb_num(&f->data, measured);
        sb_num(&f->data, analytic / MIB);
        sb_num(&f->data, oom ? (isnan(analytic) ? 0.0 : analytic / MIB) : NAN);
        sb_printf(&f->data, " %d %u %d %d\n", oom, strategy_rgb(strategies[s], m), series_pt(strategies[s], m, eng),
                  series_dt(eng, blocks));
        f->npoints += !isnan(measured);
    }
}

static void fig_memory(const report *rp, figure *f, long group, const report_config **buf)
{
    static const char *const strategies[] = {"retain", "accumulate"};
    long groups[2 * REPORT_MAX_ENGINES];
    int ng = figure_groups(rp, group, groups), blocks = 0, noom = 0, any_rss = 0, any_blocks = 0;
    long long mbs[MAX_MB];
    size_t nmb = group_micro_batches(rp, group, 1, mbs, MAX_MB);
    for (int e = 0; e < ng; e++) {
        const report_config *gr = report_group_rep(rp, groups[e]);
        int eng = gr->eng;
        for (int s = 0; s < 2; s++)
            for (size_t m = 0; m < nmb; m++) {
                size_t n = series_cfgs(rp, groups[e], strategies[s], mbs[m], buf);
                if (!n) continue;
                int rss = 0;
                for (size_t i = 0; i < n; i++) {
                    rss |= buf[i]->n_ok && buf[i]->mem_fig_rss;
                    noom += !buf[i]->n_ok && buf[i]->n_oom;
                }
                any_rss |= rss;
                any_blocks |= gr->blocks;
                char what[96], title[192], columns[288];
                snprintf(what, sizeof what, "%s, micro-batch %lld%s", strategies[s], mbs[m], blocks_words(gr->blocks));
                series_title(rp, title, sizeof title, eng, what, rss);
                snprintf(columns, sizeof columns, "iter_size \"%s\" analytic_MiB oom_MiB is_oom rgb point dash", title);
                series_open(f, &blocks, title, columns);
                memory_rows(rp, f, buf, n, s, (int)m, eng, gr->blocks);
                f->engines |= eng > 0;
            }
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 1, any_rss);
    const char *label = report_group_rep(rp, group)->label;
    snprintf(f->title, sizeof f->title, "Peak %smemory vs iter_size%s: %s", any_rss ? "" : "tracked ",
             engines_and(rp, and, sizeof and), label);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel, "peak memory (MiB): tracked; RSS growth where marked RSS Δ");
    snprintf(f->caption, sizeof f->caption,
             "%s Solid: the tracked high-water (mem_tracked_bytes); dashed: the analytic model "
             "(mem_analytic_bytes)%s. Model: %s (the one with the largest retain/accumulate peak ratio).%s%s",
             f->what, noom ? "; crosses: configurations that ran out of memory, drawn at their analytic need" : "",
             label, any_blocks ? blocks_caption : "", eng_text);
}

/* one micro-batch's ratio rows: each iter_size both ran, never RSS over a
 * tracked peak; returns whether it drew RSS */
static int ratio_rows(const report *rp, figure *f, int *blocks, const report_config *const *rs, size_t nr,
                      const report_config *const *as, size_t na, int m, int eng)
{
    int recompute = nr ? rs[0]->blocks : 0;
    int header = 0, rss = 0;
    for (size_t i = 0; i < nr; i++)
        for (size_t j = 0; j < na; j++) {
            const report_config *r = rs[i], *a = as[j];
            if (r->k != a->k || isnan(r->mem_fig) || isnan(a->mem_fig) || a->mem_fig <= 0 ||
                r->mem_fig_rss != a->mem_fig_rss)
                continue;
            if (!header++) {
                char what[96], title[192], columns[288];
                snprintf(what, sizeof what, "micro-batch %lld%s", r->mb, blocks_words(recompute));
                series_title(rp, title, sizeof title, eng, what, r->mem_fig_rss);
                snprintf(columns, sizeof columns, "iter_size \"%s\" analytic_ratio rgb point dash", title);
                series_open(f, blocks, title, columns);
            }
            rss |= r->mem_fig_rss;
            double ra = r->mem[MEM_ANALYTIC], aa = a->mem[MEM_ANALYTIC];
            sb_printf(&f->data, "%lld", r->k);
            sb_num(&f->data, r->mem_fig / a->mem_fig);
            sb_num(&f->data, !isnan(ra) && !isnan(aa) && aa > 0 ? ra / aa : NAN);
            sb_printf(&f->data, " %u %d %d\n", strategy_rgb("retain", m), series_pt("retain", m, eng),
                      series_dt(eng, recompute));
            f->npoints++;
            f->engines |= eng > 0;
        }
    return rss;
}

static void fig_ratio(const report *rp, figure *f, long group, const report_config **buf,
                      const report_config **buf2)
{
    long groups[2 * REPORT_MAX_ENGINES];
    int ng = figure_groups(rp, group, groups), blocks = 0, any_rss = 0, any_blocks = 0;
    long long mbs[MAX_MB];
    size_t nmb = group_micro_batches(rp, group, 1, mbs, MAX_MB);
    for (int e = 0; e < ng; e++) {
        const report_config *gr = report_group_rep(rp, groups[e]);
        for (size_t m = 0; m < nmb; m++) {
            size_t nr = series_cfgs(rp, groups[e], "retain", mbs[m], buf);
            size_t na = series_cfgs(rp, groups[e], "accumulate", mbs[m], buf2);
            int before = f->npoints;
            any_rss |= ratio_rows(rp, f, &blocks, buf, nr, buf2, na, (int)m, gr->eng);
            any_blocks |= gr->blocks && f->npoints > before;
        }
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 1, any_rss);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel,
                 "retain peak / accumulate peak (tracked bytes; RSS growth where marked RSS Δ)");
    const char *label = report_group_rep(rp, group)->label;
    snprintf(f->title, sizeof f->title, "Peak memory ratio retain / accumulate%s: %s",
             engines_and(rp, and, sizeof and), label);
    snprintf(f->caption, sizeof f->caption,
             "%s Solid: measured tracked peaks; dashed: the analytic model. Model: %s.%s%s", f->what, label,
             any_blocks ? " Dotted: both strategies run with --recompute blocks." : "", eng_text);
}

// ----------------------------------------------------------------------------
// throughput: against micro-batch, and against memory (the Pareto front)

static const char *const range_words =
    " Bars: the range (min–max) of the repeats' samples/s, one value per process.";

/* a new series at g in a list sorted by slice_cfgs: engine, recompute, strategy */
static int new_series(const report_config *g, const report_config *last)
{
    return !last || g->eng != last->eng || g->blocks != last->blocks || strcmp(g->strategy, last->strategy);
}

static void fig_throughput(const report *rp, figure *f, slice s, const report_config **buf)
{
    size_t n = slice_cfgs_all(rp, s, buf);
    int blocks = 0, any_blocks = 0;
    for (size_t i = 0; i < n; i++) {
        const report_config *g = buf[i];
        any_blocks |= g->blocks;
        if (new_series(g, i ? buf[i - 1] : NULL)) {
            char what[96], title[192], columns[320];
            snprintf(what, sizeof what, "%s%s", g->strategy, blocks_words(g->blocks));
            series_title(rp, title, sizeof title, g->eng, what, 0);
            snprintf(columns, sizeof columns,
                     "micro_batch \"%s\" iter_size rgb point dash samples_per_s_min samples_per_s_max", title);
            series_open(f, &blocks, title, columns);
        }
        sb_printf(&f->data, "%lld", g->mb);
        sb_num(&f->data, g->sps);
        sb_printf(&f->data, " %lld %u %d %d", g->k, strategy_rgb(g->strategy, 0),
                  strategy_pt(g->strategy, g->eng, g->blocks), series_dt(g->eng, g->blocks));
        sb_range(&f->data, g);
        sb_str(&f->data, "\n");
        f->npoints++;
        f->engines |= g->eng > 0;
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 0, 0);
    const char *label = report_group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Throughput vs micro-batch at effective batch %lld%s: %s", s.eb,
             engines_and(rp, and, sizeof and), label);
    snprintf(f->caption, sizeof f->caption,
             "%s Median over repeats of samples/s.%s Effective batch %lld, %s: the slice with the most strategies "
             "and splits.%s%s",
             f->what, range_words, s.eb, label,
             any_blocks ? " Dotted lines with marks of their own: the same strategies run with --recompute blocks "
                          "(each block's forward recomputed in backward)."
                        : "",
             eng_text);
}

/* the Pareto front of the primary engine: less memory and more samples/s
 * are better; sorted by memory (ties: faster first), each point faster than
 * all before it */
static void pareto_front(const report *rp, figure *f, const report_config **buf, size_t n)
{
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(buf[i]->mem_fig) && buf[i]->eng == 0) buf[m++] = buf[i];
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0; j--) {
            const report_config *a = buf[j - 1], *b = buf[j];
            if (a->mem_fig < b->mem_fig || (a->mem_fig == b->mem_fig && a->sps >= b->sps)) break;
            buf[j - 1] = b;
            buf[j] = a;
        }
    sb_str(&f->data, "\n\n# series: Pareto front (no other point has less memory and more samples/s)\n");
    sb_printf(&f->data, "memory_MiB \"%s%sPareto front\" split\n", rp->nengines > 1 ? rp->engines[0] : "",
              rp->nengines > 1 ? " " : "");
    double best = -1;
    for (size_t i = 0; i < m; i++) {
        if (buf[i]->sps <= best) continue;
        best = buf[i]->sps;
        sb_printf(&f->data, "%.9g %.9g \"%s %lld×%lld%s\"\n", buf[i]->mem_fig / MIB, buf[i]->sps, buf[i]->strategy,
                  buf[i]->mb, buf[i]->k, blocks_mark(buf[i]->blocks));
    }
}

static void fig_pareto(const report *rp, figure *f, slice s, const report_config **buf)
{
    size_t n = slice_cfgs_all(rp, s, buf);
    int blocks = 0, any_rss = 0, any_blocks = 0;
    const report_config *last = NULL;
    for (size_t i = 0; i < n; i++) {
        const report_config *g = buf[i];
        if (isnan(g->mem_fig)) continue;
        any_blocks |= g->blocks;
        if (new_series(g, last)) {
            last = g;
            char what[96], title[192], columns[320];
            snprintf(what, sizeof what, "%s%s", g->strategy, blocks_words(g->blocks));
            series_title(rp, title, sizeof title, g->eng, what, g->mem_fig_rss);
            snprintf(columns, sizeof columns, "memory_MiB \"%s\" split rgb point samples_per_s_min samples_per_s_max",
                     title);
            series_open(f, &blocks, title, columns);
        }
        any_rss |= g->mem_fig_rss;
        sb_printf(&f->data, "%.9g %.9g \"%lld×%lld\" %u %d", g->mem_fig / MIB, g->sps, g->mb, g->k,
                  strategy_rgb(g->strategy, 0), strategy_pt(g->strategy, g->eng, g->blocks));
        sb_range(&f->data, g);
        sb_str(&f->data, "\n");
        f->npoints++;
    }
    if (!f->npoints) return;
    pareto_front(rp, f, buf, n);
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 0, 1, any_rss);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel, "peak memory (MiB): tracked; RSS growth where marked RSS Δ");
    const char *label = report_group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Memory vs throughput at effective batch %lld%s: %s", s.eb,
             engines_and(rp, and, sizeof and), label);
    snprintf(f->caption, sizeof f->caption,
             "%s Each point is one split (micro-batch×iter_size); the line joins the Pareto front%s%s.%s%s "
             "Effective batch %lld, %s.%s",
             f->what, rp->nengines > 1 ? " of " : "", rp->nengines > 1 ? rp->engines[0] : "",
             any_blocks ? " Triangles (x and squares for a second engine): splits run with --recompute blocks; the "
                          "front is taken over both settings, its labels mark them recompute."
                        : "",
             range_words, s.eb, label, eng_text);
}

// ----------------------------------------------------------------------------
// kernel time by phase

static void fig_phases(const report *rp, figure *f, slice s, const report_config **buf)
{
    /* the figure's columns, bottom of the stack first */
    static const ops_phase stack[OPS_PHASE_COUNT] = {OPS_PHASE_FORWARD, OPS_PHASE_RECOMPUTE, OPS_PHASE_BACKWARD,
                                                     OPS_PHASE_OPTIMIZER, OPS_PHASE_OTHER};
    size_t n = slice_cfgs(rp, s, 1, buf);
    int per_run = 0, any_blocks = 0;
    sb_str(&f->data, "# series: time per step by phase (ms), one row per configuration\nconfiguration");
    for (int p = 0; p < OPS_PHASE_COUNT; p++) sb_printf(&f->data, " %s", ops_phase_name(stack[p]));
    sb_str(&f->data, "\n");
    for (size_t i = 0; i < n; i++) {
        const report_config *g = buf[i];
        if (!g->has_kernels) continue;
        double steps = g->profiled_steps > 0 ? g->profiled_steps : 1;
        per_run |= g->profiled_steps <= 0;
        any_blocks |= g->blocks;
        if (!strcmp(g->strategy, "full")) sb_printf(&f->data, "\"full %lld%s\"", g->mb, blocks_mark(g->blocks));
        else sb_printf(&f->data, "\"%s %lld×%lld%s\"", g->strategy, g->mb, g->k, blocks_mark(g->blocks));
        for (int p = 0; p < OPS_PHASE_COUNT; p++) sb_printf(&f->data, " %.9g", g->kernel_ns[stack[p]] / steps * 1e-6);
        sb_str(&f->data, "\n");
        f->npoints++;
    }
    const char *label = report_group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Kernel time per step by phase at effective batch %lld: %s", s.eb, label);
    snprintf(f->caption, sizeof f->caption,
             "%s Sum of kernel (CPU: op) times per %s, from kernels.csv; effective batch %lld, %s%s%s.%s", f->what,
             per_run ? "profiled run (steps.csv has no profiled steps to divide by)" : "profiled step", s.eb, label,
             rp->nengines > 1 ? "; engine " : "", rp->nengines > 1 ? rp->engines[0] : "",
             any_blocks ? " Bars marked recompute ran with --recompute blocks: their recompute segment is each "
                          "block's forward run again inside backward, the time recomputation costs."
                        : "");
}

// ----------------------------------------------------------------------------
// the memory timeline

static const char *phase_label(char *buf, size_t len, ops_phase phase, int mb)
{
    if (phase == OPS_PHASE_FORWARD) snprintf(buf, len, "F%d", mb);
    else if (phase == OPS_PHASE_BACKWARD) snprintf(buf, len, "B%d", mb);
    else if (phase == OPS_PHASE_RECOMPUTE) snprintf(buf, len, "R%d", mb);
    else if (phase == OPS_PHASE_OPTIMIZER) snprintf(buf, len, "opt");
    else snprintf(buf, len, "-");
    return buf;
}

static void timeline_blocks(figure *f, const timeline *tl, const char *what, int first)
{
    const mem_event *v = tl->v;
    double t_end = tl->n ? v[tl->n - 1].t_ms : 0;
    sb_printf(&f->data, "%s# series: %s phases (start_ms end_ms phase label)\n", first ? "" : "\n\n", what);
    sb_printf(&f->data, "start_ms \"%s phases\" phase label\n", what);
    for (size_t i = 0; i < tl->n;) {
        size_t j = i + 1;
        while (j < tl->n && v[j].phase == v[i].phase && v[j].micro_batch == v[i].micro_batch) j++;
        double t1 = j < tl->n ? v[j].t_ms : t_end;
        char lab[32];
        /* a label only where the span is wide enough to hold it */
        int wide = t_end > 0 && (t1 - v[i].t_ms) / t_end > 0.025;
        sb_printf(&f->data, "%.9g %.9g %d \"%s\"\n", v[i].t_ms, t1, (int)v[i].phase,
                  wide ? phase_label(lab, sizeof lab, v[i].phase, v[i].micro_batch) : "-");
        i = j;
    }
    sb_printf(&f->data, "\n\n# series: %s live bytes (time_ms MiB)\n", what);
    sb_printf(&f->data, "time_ms \"%s%s\"\n", tl->want->strategy, blocks_words(tl->want->blocks));
    for (size_t i = 0; i < tl->n; i++) sb_printf(&f->data, "%.9g %.9g\n", v[i].t_ms, v[i].mib);
    f->npoints += (int)tl->n;
}

/* two panels, retain over accumulate; four where both ran with recompute =
 * blocks too, each beside its twin: retain, retain blocks, accumulate,
 * accumulate blocks (the script colours the first half as retain) */
static void fig_timeline(figure *f, const timeline tl[REPORT_TIMELINES])
{
    static const int two[] = {0, 1}, four[] = {0, 2, 1, 3};
    int panels = tl[2].n && tl[3].n ? 4 : 2;
    const int *order = panels == 4 ? four : two;
    const report_config *r = tl[0].want;
    for (int i = 0; i < panels; i++) {
        const report_config *g = tl[order[i]].want;
        char what[128];
        snprintf(what, sizeof what, "%s, micro-batch %lld × iter_size %lld%s", g->strategy, g->mb, g->k,
                 blocks_words(g->blocks));
        timeline_blocks(f, &tl[order[i]], what, i == 0);
    }
    snprintf(f->title, sizeof f->title, "Live memory through one step, micro-batch %lld × iter_size %lld: %s", r->mb,
             r->k, r->label);
    snprintf(f->caption, sizeof f->caption,
             "%s%s Shading: forward (blue), backward (orange), optimizer (green), other (grey)%s; from memory.csv "
             "(one profiled step); the memory axis spans the step's own range, not from zero. %s.",
             f->what,
             panels == 4 ? " Below each, the same split with --recompute blocks: forward keeps only each block's "
                           "input, so the pile is lower, and backward recomputes each block (R, pink) before its "
                           "backward, which lengthens the step."
                         : "",
             panels == 4 || r->blocks ? ", recompute (pink)" : "", r->label);
}

void figures_build(const report *rp, const report_view *v, const timeline tl[REPORT_TIMELINES],
                   figure figs[FIG_COUNT], const report_config **buf, const report_config **buf2)
{
    if (v->ra_group >= 0) {
        fig_memory(rp, &figs[FIG_MEMORY], v->ra_group, buf);
        fig_ratio(rp, &figs[FIG_RATIO], v->ra_group, buf, buf2);
    }
    if (v->sl.group >= 0) {
        fig_throughput(rp, &figs[FIG_THROUGHPUT], v->sl, buf);
        fig_pareto(rp, &figs[FIG_PARETO], v->sl, buf);
        if (rp->have_kernels) fig_phases(rp, &figs[FIG_PHASES], v->sl, buf);
    }
    if (v->pair[0] && tl[0].n && tl[1].n) fig_timeline(&figs[FIG_TIMELINE], tl);
}
