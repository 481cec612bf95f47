/* bench/cmd/compare.h — `accumbench compare`'s row model, shared by the judge
 * (compare.c) and the printers (compare_print.c): one config_cmp per
 * configuration of BASE or NEW, each with one metric_cmp per figure compared.
 *
 * The methods (named in every output):
 *   step time    the process is the unit: each side's values are its ok
 *                repeats' step_median_ns (one per process). Two-sided
 *                Yuen's t-test on their logarithms, trimmed by
 *                COMPARE_TRIM (ttest.h), a side of COMPARE_DROP_SLOWEST_MIN
 *                without its slowest value, alpha 0.05; a regression or
 *                improvement needs p < alpha AND a change of the median
 *                over repeats beyond --threshold. A
 *                change beyond --threshold that the repeats' spread does not
 *                support is "inconclusive", as is a side with fewer than
 *                COMPARE_MIN_REPEATS ok repeats: never a regression.
 *   drift        the median step-time change over the configurations tested
 *                is the whole sweep's move. Two sweeps of one build on one
 *                machine moved by up to 2.8% (14 A/A pairs, 2026-12-05),
 *                and every configuration's test reads that move as its own.
 *                So when at least COMPARE_DRIFT_MIN_CONFIGS were tested and
 *                their median moved by no more than --threshold (a change
 *                compare would not call in one configuration either), it is
 *                taken for the machine's drift: a call must also hold
 *                against it (the same test with NEW divided by 1 + drift,
 *                and a change beyond --threshold relative to it), or it is
 *                "inconclusive". A median move beyond --threshold is the
 *                build's or the machine's, and every configuration is tested
 *                as it is.
 *   memory       mem_tracked_bytes and mem_analytic_bytes are computed, the
 *                same in every repeat of a build: compared exactly against
 *                --mem-threshold. rss_delta_bytes, mem_device_bytes and
 *                mem_driver_bytes are measured: a change beyond
 *                max(--mem-threshold, COMPARE_MEASURED_MEM_FLOOR) counts when
 *                the repeats' ranges of the two sides do not overlap and the
 *                change exceeds each side's spread ((max − min) / median);
 *                otherwise, or with too few repeats, "inconclusive". */
#ifndef ACCUMBENCH_COMPARE_H
#define ACCUMBENCH_COMPARE_H

#include "rundir.h"
#include "ttest.h"

#include <stddef.h>
#include <stdio.h>

#define COMPARE_ALPHA 0.05
/* --threshold's default. A configuration's median moves between two sweeps
 * of one build by more than its repeats inside either sweep show (the
 * machine's state differs per sweep and per kind of work): over 14 A/A pairs
 * of quick sweeps on this project's 2-vCPU VM (924 configuration pairs,
 * 2026-12-05), 90% moved by at most 3.9% against their sweep's drift, 95% by
 * 5.1%. With the test below, 3% (the design's figure) called 12
 * configurations in those pairs and 4.5% called 4 (no pair of today's quick
 * profile more than 1); the power figures at x1.10 and x1.05 did not move.
 * Under 5%, so that a 5% slowdown can still be called. */
#define COMPARE_THRESHOLD 0.045
/* 3 values a side give up to 4 degrees of freedom: the least that separates
 * a 10% change from a process spread of a few percent (the power figures in
 * the README); 2 a side (df <= 2) needs a t of 4.3 and a variance estimated
 * from two processes each */
#define COMPARE_MIN_REPEATS 3
/* 20% a side: 1 of 5-9 repeats dropped at each end, none of 3-4. A sweep
 * runs extra repeats of a configuration whose processes disagree (quick up
 * to 6, nightly up to 9), so a configuration with one process in a slow
 * spell usually reaches compare with 5 or more, and the trimmed test no
 * longer sees the spell. On four quiet quick sweeps of 3 repeats scaled by
 * 1.10 it flagged 64, 66, 61 and 66 of 66 configurations where Student's
 * t-test flagged 58, 61, 39 and 65, at about the same A/A calls. */
#define COMPARE_TRIM 0.2
/* A slow spell only ever slows a process, and a side of 4 repeats (quick's
 * count, where its extra repeats did not run: the sweep's time budget) is
 * not trimmed at all, so one spell in it hid a 10% change: 12 of the 13
 * configurations a noisy quick sweep missed at x1.10 had 4 repeats, one of
 * them 1.12-1.92x the others. From this many repeats, a side the trim
 * leaves whole loses its slowest value before the test: the six quick
 * sweeps of 2026-12-05 then flag 64, 64, 63, 64, 60 and 62 of 66 at x1.10
 * (without: 62, 64, 56, 64, 60, 53); A/A calls over the 14 pairs 4 (3). */
#define COMPARE_DROP_SLOWEST_MIN 4
/* RSS of one build moved by up to 2.1% between two sweeps whose repeats each
 * agreed within 0.03% (quick profile, CPU, this repo's 2-vCPU VM): a
 * sweep-level effect the repeats cannot show, so a measured memory figure
 * needs more than that */
#define COMPARE_MEASURED_MEM_FLOOR 0.03
/* a median of fewer configurations is their own noise, not the sweep's */
#define COMPARE_DRIFT_MIN_CONFIGS 10
#define COMPARE_MAX_NOTES 4
#define COMPARE_MAX_ENV 64
#define COMPARE_MAX_METRICS (1 + RUNDIR_MEM_N)

typedef enum {
    V_SAME, V_IMPROVEMENT, V_REGRESSION, V_INCONCLUSIVE, V_NEW, V_MISSING, V_FAILED, V_STILL_FAILING, V_FIXED,
    V_NO_DATA, V_COUNT
} verdict;

const char *verdict_name(verdict v);
/* regression, missing or failed: compare exits 1 */
int verdict_is_regression(verdict v);

/* how a metric was judged */
typedef enum { TEST_YUEN_LOG, TEST_EXACT, TEST_RANGES, TEST_NONE } metric_test;
const char *metric_test_name(metric_test t);

typedef struct {
    const char *metric;             /* "step_ns" or a memory column */
    metric_test test;
    double base, now, change;       /* medians over ok repeats; change = now / base − 1 */
    double spread_base, spread_new; /* (max − min) / median of the repeats; NAN under 2 */
    double p;                       /* the t-test's; NAN when not tested */
    double p_drift;                 /* the test against the drift; NAN when not run */
    ttest_result test_result;       /* step time: what p came from */
    size_t n_base, n_new;           /* repeats with this figure */
    verdict v;
} metric_cmp;

typedef struct {
    rundir_config *b, *n;           /* NULL where absent */
    const rundir *d;                /* where the names come from */
    char name[512];                 /* short: model/strategy + the key columns that vary */
    char full[1024];                /* stable gbench-style name */
    verdict v;
    metric_cmp m[COMPARE_MAX_METRICS];
    int n_m;
    char notes[COMPARE_MAX_NOTES][256];
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
    env_change env[COMPARE_MAX_ENV];
    size_t n_env, n_env_total;
    char env_notes[2][700];
    int n_env_notes;
    char env_short[400];            /* the compact list set beside regressions */
    size_t counts[V_COUNT];
    /* the median over the tested configurations of the step-time change:
     * when every configuration moves at once it is the machine or the whole
     * build; drift_removed when it was within --threshold and calls had to
     * hold against it, calls_withdrawn those that did not */
    double step_change_median;
    size_t n_step_changes;
    int drift_removed;
    size_t calls_withdrawn;
} comparison;

/* what a measured memory figure must move by: max(--mem-threshold, the floor) */
double compare_measured_threshold(const comparison *cmp);
/* regressions of every kind (slower or bigger, missing, failed) */
size_t compare_regressions(const comparison *cmp);
/* one sentence per method, for the outputs */
void compare_method_text(const comparison *cmp, char *step, size_t step_len, char *mem, size_t mem_len);

void compare_print_markdown(const comparison *cmp, FILE *f);
/* files_write_atomic writers; user is the comparison */
int compare_write_json(FILE *f, void *user);
int compare_write_csv(FILE *f, void *user);

#endif
