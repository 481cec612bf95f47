/* bench/cmd/report/configs_csv.c — DIR/configs.csv: one row per
 * configuration, its repeats aggregated (design "Throughput and noise"): the
 * key columns less `repeat` (canonical, as rundir joins them), repeats,
 * repeats_ok, the median and range of the ok repeats' step_median_ns,
 * spread_rel = (max - min) / median, the median samples/s, the memory
 * figures (medians over ok repeats; mem_analytic_bytes over all), and
 * unstable 0|1. Raw base units; an empty cell is not measured. */
#include "configs_csv.h"
#include "files.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static void put_num(FILE *f, double v)
{
    if (isnan(v)) return;
    if (v == floor(v) && fabs(v) < 9e15) fprintf(f, "%.0f", v);
    else fprintf(f, "%.17g", v);
}

static int write_configs(FILE *f, void *user)
{
    const report *rp = user;
    const rundir *d = &rp->run;
    for (size_t i = 0; i < d->n_keys; i++)
        if (i != d->repeat_key) fprintf(f, "%s,", d->key_names[i]);
    fputs("repeats,repeats_ok,step_median_ns,step_min_ns,step_max_ns,spread_rel,samples_per_s", f);
    for (int m = 0; m < MEM_COUNT; m++) fprintf(f, ",%s", report_mem_columns[m]);
    fputs(",unstable\r\n", f);
    for (size_t c = 0; c < rp->ncfgs; c++) {
        const report_config *g = &rp->cfgs[c];
        for (size_t i = 0; i < d->n_keys; i++) {
            if (i == d->repeat_key) continue;
            result_csv_field(f, g->rc->values[i]);
            fputc(',', f);
        }
        fprintf(f, "%d,%d", g->n, g->n_ok);
        const double figures[] = {g->step_ns, g->step_min_ns, g->step_max_ns, g->spread_rel, g->sps};
        for (size_t k = 0; k < sizeof figures / sizeof figures[0]; k++) {
            fputc(',', f);
            put_num(f, figures[k]);
        }
        for (int m = 0; m < MEM_COUNT; m++) {
            fputc(',', f);
            put_num(f, g->mem[m]);
        }
        fprintf(f, ",%d\r\n", g->unstable);
    }
    return ferror(f) ? -1 : 0;
}

int configs_csv_write(report *rp)
{
    char path[4300];
    if (fmt_into(path, sizeof path, "%s/configs.csv", rp->dir) || files_write_atomic(path, write_configs, rp)) {
        fmt_into(rp->err, sizeof rp->err, "report: cannot write %s/configs.csv: %s", rp->dir, strerror(errno));
        return -1;
    }
    return 0;
}
