/* bench/cmd/report/report.c — `accumbench report DIR`: reads a sweep's
 * results (report.h's row model), writes DIR/configs.csv, one gnuplot data
 * file per figure under DIR/plots/data/, draws them with the scripts in
 * plots/ (PNG and SVG each), and writes DIR/summary.md and DIR/report.html
 * (one self-contained file: the SVGs inline). Every output is written to a
 * temporary name and renamed. */
#include "cli.h"
#include "commands.h"
#include "configs_csv.h"
#include "files.h"
#include "summary.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    report rp;
    report_view view;
    timeline tl[REPORT_TIMELINES];
    figure figs[FIG_COUNT];
    doc summary;
    const report_config **buf, **buf2;  /* scratch lists of configurations */
    char plots_dir[PATH_MAX];
    const char *skip_why;               /* why no figure is drawn; NULL: they are */
    int ndrawn;
} report_job;

/* kernels.csv and memory.csv, and what the figures show */
static int read_inputs(report_job *j)
{
    report *rp = &j->rp;
    report_choose(rp, &j->view, j->buf);
    int kernels = report_read_kernels(rp);
    int memory = kernels < 0 ? -1 : report_mark_memory(rp);
    if (kernels < 0 || memory < 0) return -1;
    rp->have_kernels = kernels == 0;
    rp->have_memory = memory == 0;
    char algos[4200];
    rp->have_algos = fmt_into(algos, sizeof algos, "%s/algos.csv", rp->dir) == 0 && access(algos, F_OK) == 0;
    if (!rp->have_steps) report_note(rp, "No steps.csv: kernel times are per profiled run, not per step.");
    if (!rp->have_kernels) report_note(rp, "No kernels.csv: no kernel-phase figure and no top-kernels tables.");
    if (!rp->have_memory) report_note(rp, "No memory.csv: no memory timeline.");
    if (rp->have_algos) report_note(rp, "algos.csv (the convolution algorithms chosen) is not summarised here.");
    report_choose_timeline(rp, &j->view);
    for (int i = 0; i < REPORT_TIMELINES && j->view.pair[i]; i++) {
        j->tl[i].want = j->view.pair[i];
        if (report_read_timeline(rp, &j->tl[i])) return -1;
    }
    return 0;
}

/* a redraw leaves no stale picture beside the new report */
static void remove_pictures(const char *out_dir, const char *name)
{
    static const char *const ext[] = {"png", "svg"};
    char path[4400];
    for (int e = 0; e < 2; e++)
        if (fmt_into(path, sizeof path, "%s/%s.%s", out_dir, name, ext[e]) == 0) unlink(path);
}

static int write_figures(report_job *j)
{
    report *rp = &j->rp;
    char out_dir[4200], data_dir[4300], data[4400];
    fmt_into(out_dir, sizeof out_dir, "%s/plots", rp->dir);
    fmt_into(data_dir, sizeof data_dir, "%s/data", out_dir);
    if (files_mkdir_p(data_dir)) {
        fmt_into(rp->err, sizeof rp->err, "report: cannot create %s: %s", data_dir, strerror(errno));
        return -1;
    }
    figures_build(rp, &j->view, j->tl, j->figs, j->buf, j->buf2);
    j->skip_why = gnuplot_unavailable(j->plots_dir, sizeof j->plots_dir);
    if (j->skip_why) cli_error("warning: %s: plots skipped: %s; the report is written without them", rp->dir, j->skip_why);
    for (int i = 0; i < FIG_COUNT; i++) {
        figure *f = &j->figs[i];
        fmt_into(data, sizeof data, "%s/%s.dat", data_dir, f->name);
        if (!f->npoints) {
            snprintf(f->missing, sizeof f->missing, "%s", f->why_empty);
            unlink(data);
        } else if (sb_write_file(&f->data, data)) {
            fmt_into(rp->err, sizeof rp->err, "report: cannot write %s: %s", data, strerror(errno));
            return -1;
        } else if (j->skip_why) {
            snprintf(f->missing, sizeof f->missing, "not drawn: %s", j->skip_why);
        } else {
            gnuplot_draw(rp, f, j->plots_dir, out_dir);
        }
        if (!f->drawn) remove_pictures(out_dir, f->name);
        j->ndrawn += f->drawn;
    }
    return 0;
}

static int run_report(report_job *j, const char *dir)
{
    report *rp = &j->rp;
    if (report_load(rp, dir)) return -1;
    j->buf = calloc(rp->ncfgs + 1, sizeof *j->buf);
    j->buf2 = calloc(rp->ncfgs + 1, sizeof *j->buf2);
    if (!j->buf || !j->buf2) {
        fmt_into(rp->err, sizeof rp->err, "report: out of memory");
        return -1;
    }
    if (read_inputs(j) || configs_csv_write(rp) || write_figures(j)) return -1;
    summary_build(rp, &j->view, &j->summary, j->buf, j->buf2);
    if (summary_write(rp, &j->summary, j->ndrawn) || html_write(rp, &j->view, j->figs, &j->summary, j->skip_why))
        return -1;
    printf("accumbench report: %d figures in %s/plots (PNG and SVG)%s; %s/configs.csv, %s/report.html, "
           "%s/summary.md\n",
           j->ndrawn, rp->dir, j->skip_why ? ", plots skipped" : "", rp->dir, rp->dir, rp->dir);
    return 0;
}

static void report_usage(FILE *f)
{
    fputs("usage: accumbench report DIR\n\n"
          "Reads DIR/results.csv (and steps.csv, kernels.csv, memory.csv, meta.json when present), writes\n"
          "DIR/configs.csv (one row per configuration, its repeats aggregated and flagged unstable when they\n"
          "disagree), the figures' data to DIR/plots/data/, draws DIR/plots/*.png and *.svg with gnuplot\n"
          "(skipped with a warning when gnuplot is not installed), and writes DIR/report.html (one\n"
          "self-contained file) and DIR/summary.md. Exit 2 when DIR or a CSV in it is missing or malformed.\n",
          f);
}

/* the one argument, DIR; -1 with the exit status in *rc otherwise */
static int check_args(int argc, char **argv, int *rc)
{
    if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        report_usage(stdout);
        *rc = CLI_EXIT_OK;
        return -1;
    }
    *rc = CLI_EXIT_USAGE;
    if (argc != 3 || argv[2][0] == '-') {
        cli_error("report: expects one argument, the results directory (accumbench report DIR)");
        return -1;
    }
    struct stat st;
    if (strlen(argv[2]) > 3000) {
        cli_error("report: the directory's path is longer than 3000 bytes");
        return -1;
    }
    if (stat(argv[2], &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("report: %s: %s", argv[2], stat(argv[2], &st) != 0 ? strerror(errno) : "not a directory");
        return -1;
    }
    return 0;
}

int cmd_report(int argc, char **argv)
{
    int rc;
    if (check_args(argc, argv, &rc)) return rc;
    report_job *j = calloc(1, sizeof *j);
    if (!j) {
        cli_error("report: out of memory");
        return CLI_EXIT_USAGE;
    }
    figures_init(j->figs);
    rc = run_report(j, argv[2]) ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    if (rc) cli_error("%s", j->rp.err);
    figures_free(j->figs);
    doc_free(&j->summary);
    for (int i = 0; i < REPORT_TIMELINES; i++) free(j->tl[i].v);
    free(j->buf);
    free(j->buf2);
    report_free(&j->rp);
    free(j);
    return rc;
}
