/* bench/cmd/report/report.h — the report's one row model, shared by its
 * files: aggregate.c (results.csv through rundir.h: rows joined to their
 * configurations, repeats aggregated), inputs.c (kernels.csv, memory.csv),
 * select.c (what each figure and table shows), figures.c + gnuplot.c (data
 * files, drawing), summary.c + doc.c (the summary as data, printed as
 * Markdown and HTML), html.c (report.html), configs_csv.c (configs.csv) and
 * report.c (the command).
 *
 * A configuration is rundir's: the key columns less `repeat`. Its figures
 * are medians over its ok repeats (the process is the unit; design
 * "Throughput and noise"); the results table shows every row. Groups tie
 * configurations together for the figures: a group is one model and setting
 * across strategies and splits (the key less strategy, micro_batch,
 * iter_size, effective_batch, last_micro_batch); `pgroup` and `pair` are the
 * group and the configuration less the engine, pairing one engine's runs
 * with another's. Recomputation (the key column `recompute`) is part of every
 * one of those ids, so no series, table row or median holds rows of both
 * settings; `mgroup` (the pgroup less recompute) and `rtwin` (the
 * configuration less recompute) tie a `recompute = blocks` run to the same
 * model, setting and split without it, which the figures draw beside it.
 * Sizes are bytes here; printers convert. */
#ifndef ACCUMBENCH_REPORT_H
#define ACCUMBENCH_REPORT_H

#include "csv.h"
#include "ops.h"
#include "results.h"
#include "rundir.h"
#include "text.h"

#include <stddef.h>

#define MIB 1048576.0
#define REPORT_MAX_ENGINES 4
#define REPORT_NONE ((size_t)-1)
#define REPORT_TIMELINES 4

enum { MEM_TRACKED, MEM_RESERVED, MEM_DEVICE, MEM_DRIVER, MEM_RSS, MEM_DATA, MEM_ANALYTIC, MEM_COUNT };
extern const char *const report_mem_columns[MEM_COUNT];    /* results.csv's names */
extern const char *const report_mem_titles[MEM_COUNT];     /* table headings, MiB */

/* one results.csv row; text points into the table */
typedef struct {
    size_t config;              /* index in report.cfgs */
    size_t next;                /* the configuration's next row, or REPORT_NONE */
    const char *engine;         /* "accumbench" for results written before the column */
    const char *strategy, *status_text, *stop_reason, *error;
    result_status status;       /* RESULT_STATUS_N: a status no list names */
    long long micro_batch, iter_size, effective_batch;
    long long repeat, steps_timed;                          /* -1 when empty */
    double step_median_ns, step_p10_ns, step_p90_ns, samples_per_s;  /* NAN when empty */
    double mem[MEM_COUNT];
    double grad_rel_err;        /* torch rows: max|g_torch - g_accumbench| / max|g_accumbench| */
    double noise;               /* the run's --noise, when results.csv has the column */
} report_row;

typedef struct {
    char phase[12];
    char *kernel;
    double total_ns, calls;
} kernel_stat;

typedef struct {
    const rundir_config *rc;    /* rundir's aggregate of the same configuration */
    size_t first_row;
    const char *engine, *backend, *strategy;
    char label[192];            /* the model in words, for titles; ", recompute blocks" for blocks */
    int eng;                    /* index into report.engines: 0 is the primary engine */
    int blocks;                 /* recompute = blocks */
    long group, pgroup, pair;   /* ids: equal ids, equal keys */
    long mgroup, rtwin;         /* the pgroup and the configuration less recompute */
    long long mb, k, eb;
    int n, n_ok, n_oom;
    /* over the ok repeats' step_median_ns (rundir): median and range, NAN
     * without an ok repeat; spread_rel = (max - min) / median, NAN with
     * fewer than two */
    double step_ns, step_min_ns, step_max_ns, spread_rel;
    double sps, sps_min, sps_max;       /* samples/s: median and range over ok repeats */
    double mem[MEM_COUNT];      /* medians over the ok repeats (analytic: over all rows) */
    /* what the memory figures draw: the tracked peak, or where an engine
     * tracks none (torch on the CPU) its RSS growth (mem_fig_rss = 1) */
    double mem_fig;
    int mem_fig_rss;
    double grad_err;            /* the largest grad_rel_err over the repeats; NAN if none */
    double noise;               /* the noise setting the stability test uses */
    int unstable;               /* spread_rel > stats_unstable_limit(noise) (measure/stats.h) */
    /* kernels.csv (inputs.c) */
    double kernel_ns[OPS_PHASE_COUNT], profiled_steps;
    int has_kernels, has_memory, want_top;
    kernel_stat *top;           /* per (phase, name), for the top-kernels table */
    size_t ntop, cap_top;
} report_config;

typedef struct {
    const char *dir;
    rundir run;                 /* results.csv (+ steps.csv, meta.json) */
    int run_loaded;
    report_row *rows;
    size_t nrows;
    report_config *cfgs;        /* in rundir's order: first appearance */
    size_t ncfgs;
    /* engines in the results, the primary first: accumbench when it ran
     * ok, else the first engine that did. Figures and summaries choose
     * their model and slice from the primary engine's configurations and
     * draw the other engines' configurations of the same model beside them. */
    const char *engines[REPORT_MAX_ENGINES];
    int nengines;
    int have_blocks;            /* results.csv has recompute = blocks rows */
    size_t n_repeated;          /* configurations with >= 2 ok repeats */
    size_t n_unstable;
    int noise_from_results;     /* results.csv has a noise column */
    double default_noise;
    int have_steps, have_kernels, have_memory, have_algos;
    char notes[8][256];
    int nnotes;
    char err[CSV_ERR_LEN + 512];
} report;

// ----------------------------------------------------------------------------
// aggregate.c

/* Reads dir's results (and steps.csv when present). 0, or -1 with one line
 * in rp->err. */
int report_load(report *rp, const char *dir);
void report_free(report *rp);
void report_note(report *rp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* the first configuration of a group */
const report_config *report_group_rep(const report *rp, long group);
/* a backend's memory lives on a device (reserved, device and driver
 * figures): its capability where this build has the backend, else whether
 * its rows hold any of those figures */
int report_device_memory(const report *rp, const char *backend);

// ----------------------------------------------------------------------------
// inputs.c: kernels.csv and memory.csv

/* kernels.csv per configuration (totals per phase; per kernel where
 * want_top). 0 ok, 1 the file is absent, -1 error in rp->err. */
int report_read_kernels(report *rp);
/* which configurations have memory.csv rows: as report_read_kernels */
int report_mark_memory(report *rp);

typedef struct {
    double t_ms, mib;
    ops_phase phase;
    int micro_batch;
} mem_event;

/* one configuration's live bytes through its first repeat's step */
typedef struct {
    const report_config *want;
    long long repeat;           /* the repeat drawn: the first seen */
    int have_repeat;
    mem_event *v;
    size_t n, cap;
} timeline;

int report_read_timeline(report *rp, timeline *tl);

// ----------------------------------------------------------------------------
// select.c: what each figure and table shows

typedef struct {
    long group;                 /* -1: none */
    long long eb;
} slice;

typedef struct {
    long ra_group;              /* the memory figures' group, or -1 */
    slice sl;                   /* throughput, Pareto and kernel figures */
    slice common;               /* the summary's throughput table */
    const report_config *top[8];        /* top-kernels tables */
    size_t ntop;
    /* the timeline: retain, accumulate, and their twins with recompute =
     * blocks (NULL unless both have memory.csv rows) */
    const report_config *pair[REPORT_TIMELINES];
} report_view;

/* Everything but the timeline, chosen before kernels.csv is read (it keeps
 * per-kernel rows only for the top-kernels configurations); buf holds ncfgs. */
void report_choose(report *rp, report_view *v, const report_config **buf);
/* the timeline pair, once report_mark_memory has run */
void report_choose_timeline(const report *rp, report_view *v);
int strategy_rank(const char *s);
int is_retain_or_accumulate(const report_config *g);
/* ok configurations of a slice, sorted by engine, recompute, strategy,
 * micro-batch: the primary engine's group (with_blocks: and its twin group
 * with recompute = blocks), or every engine's and both recompute settings
 * (_all); out holds ncfgs */
size_t slice_cfgs(const report *rp, slice s, int with_blocks, const report_config **out);
size_t slice_cfgs_all(const report *rp, slice s, const report_config **out);
/* the configurations of (group, strategy, micro-batch) that ran, by iter_size */
size_t series_cfgs(const report *rp, long group, const char *strategy, long long mb, const report_config **out);
/* distinct micro-batches of a group's retain/accumulate configurations,
 * ascending; all_engines: of the group's model and setting in every engine
 * and both recompute settings */
size_t group_micro_batches(const report *rp, long group, int all_engines, long long *mbs, size_t cap);
/* the group, then each other engine's group of the same model and setting */
int engine_groups(const report *rp, long group, long *out);
/* engine_groups, each followed by its twin group with recompute = blocks
 * where one ran; out holds 2 * REPORT_MAX_ENGINES */
int figure_groups(const report *rp, long group, long *out);
/* the group of the same engine, model and setting with recompute = blocks;
 * -1 when none ran or group is a blocks group itself */
long blocks_group(const report *rp, long group);
/* g's configuration with the other recompute setting, or NULL */
const report_config *recompute_twin(const report *rp, const report_config *g);
/* engine eng's configuration of g's pair key; NULL if it did not run it */
report_config *paired_cfg(const report *rp, const report_config *g, int eng);

#endif
