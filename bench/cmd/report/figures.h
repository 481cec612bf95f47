/* bench/cmd/report/figures.h — the figures: one gnuplot data file each
 * (figures.c) drawn by its script in plots/ (gnuplot.c).
 *
 * Data file layout (what the scripts in plots/ read): blocks separated by two
 * blank lines, one per series, each opening with a `# series: ...` comment
 * and a header line whose second column is the series title. Sizes are MiB,
 * times ms, throughput samples/s; a throughput series carries its repeats'
 * min and max samples/s as its last two columns. */
#ifndef ACCUMBENCH_REPORT_FIGURES_H
#define ACCUMBENCH_REPORT_FIGURES_H

#include "report.h"

typedef struct {
    const char *name;           /* file stem in plots/ and DIR/plots/ */
    const char *what;           /* caption's first sentence */
    const char *why_empty;      /* why it has no points */
    char title[320];
    char caption[2560];
    char memlabel[160];         /* the memory axis' label where it is not the script's default */
    int engines;                /* series of several engines: the key goes outside the plot */
    char missing[256];          /* why it was not drawn */
    sbuf data;
    int npoints;                /* plotted points, 0: nothing to draw */
    int drawn;
} figure;

enum { FIG_MEMORY, FIG_THROUGHPUT, FIG_PARETO, FIG_PHASES, FIG_RATIO, FIG_TIMELINE, FIG_COUNT };

/* names, captions and reasons of the six figures */
void figures_init(figure figs[FIG_COUNT]);
/* every figure's data and words, from the view (tl: the events of the
 * timeline's configurations, v->pair's); buf and buf2 hold ncfgs */
void figures_build(const report *rp, const report_view *v, const timeline tl[REPORT_TIMELINES],
                   figure figs[FIG_COUNT], const report_config **buf, const report_config **buf2);
void figures_free(figure figs[FIG_COUNT]);

/* gnuplot.c: NULL when figures can be drawn (plots_dir then holds the
 * scripts' directory), else why not, in words */
const char *gnuplot_unavailable(char *plots_dir, size_t len);
/* draws f from DIR/plots/data/NAME.dat into out_dir (PNG and SVG); on failure
 * a warning on stderr and f->missing says why */
void gnuplot_draw(const report *rp, figure *f, const char *plots_dir, const char *out_dir);

#endif
