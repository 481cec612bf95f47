/* bench/results/rundir.h — a sweep's results directory read back (compare,
 * export, plan): results.csv (required), steps.csv (timed rows; only when
 * asked for) and meta.json (optional).
 *
 * A configuration is the key columns of results.csv minus `repeat` (the key
 * column names come from results.c, so they cannot drift). Key cells are
 * canonical: a cell that is a number (csv_parse_double) is rewritten with
 * %.17g, so "1e6" and "1000000" are the same configuration; any other cell
 * is kept as written. Numbers in measurement columns are read the same way.
 *
 * Per configuration it keeps, over its ok repeats (the process is the unit),
 * each repeat's step_median_ns, the medians and ranges of step_median_ns and
 * of the memory columns, the median of samples_per_s and the sum of
 * steps_throttled; with steps.csv also the timed step times of its ok
 * repeats, pooled. mem_device_bytes, mem_driver_bytes and steps_throttled
 * come from CUPTI/NVML/the driver and may hold a reason instead of a number;
 * there text reads as "not measured". Any other measurement cell that is not
 * a number is bad input. */
#ifndef ACCUMBENCH_RUNDIR_H
#define ACCUMBENCH_RUNDIR_H

#include "csv.h"
#include "jsonread.h"
#include "strmap.h"

#include <stddef.h>

#define RUNDIR_MAX_KEYS 32
#define RUNDIR_MAX_CSV_BYTES ((size_t)1 << 30)
#define RUNDIR_KEY_MAX 8192     /* bytes of a canonical key, NUL included */
#define RUNDIR_MAX_ROUNDS 64    /* rounds whose speed is measured (round_speed) */
/* A steady sweep's base rounds agree within 2.3% (quick on this project's VM,
 * 12 sweeps); two whose machine changed speed mid-sweep spanned 7.9% and
 * 17%, and their configurations' repeats spread by a median of 25-31%. */
#define RUNDIR_ROUND_SPAN_WARN 1.05

typedef enum {
    RUNDIR_MEM_TRACKED, RUNDIR_MEM_ANALYTIC, RUNDIR_MEM_DEVICE, RUNDIR_MEM_DRIVER, RUNDIR_RSS_DELTA, RUNDIR_MEM_N
} rundir_mem;
extern const char *const rundir_mem_columns[RUNDIR_MEM_N];
/* 1: computed from the shapes and the sub-allocator's count, the same in
 * every repeat of a build (tracked, analytic); 0: measured by the OS, CUPTI
 * or the driver, which vary between processes (device, driver, RSS) */
extern const int rundir_mem_deterministic[RUNDIR_MEM_N];
/* the rundir_mem of a column name, or -1 */
int rundir_mem_index(const char *column);

typedef struct {
    char *key;                  /* canonical key (values joined by 0x1f) */
    char **values;              /* canonical value of each key column but repeat ("" when empty) */
    char *values_text;          /* the block values[] point into */
    size_t first_row;           /* results.csv data row of its first repeat (0-based) */
    int n_rows, n_ok;
    char fail_status[16];       /* status of its first repeat that is not ok ("" when all ok) */
    char fail_error[256];
    double *steps;              /* timed step times (ns) of its ok repeats */
    size_t n_steps, steps_cap;
    int steps_from_results;     /* steps.csv had none: its repeats' step_median_ns instead */
    size_t n_profiled;          /* profiled rows of steps.csv of its ok repeats (with_steps) */
    double step_median_ns;      /* medians over ok repeats; NAN when absent */
    double samples_per_s;
    double mem[RUNDIR_MEM_N];
    /* the process is the unit: each ok repeat's step_median_ns in file order,
     * and the range of those and of each memory figure over ok repeats */
    double *repeat_step_ns;
    size_t n_repeat_step;
    double step_min_ns, step_max_ns;
    double mem_min[RUNDIR_MEM_N], mem_max[RUNDIR_MEM_N];
    int n_mem[RUNDIR_MEM_N];    /* ok repeats that have each memory figure */
    double throttled;           /* steps_throttled summed over ok repeats; NAN when not measured */
} rundir_config;

typedef struct {
    char dir[4096];
    csv_table results;
    size_t n_keys;                              /* key columns, repeat included */
    const char *key_names[RUNDIR_MAX_KEYS];
    long key_col[RUNDIR_MAX_KEYS];              /* index in results.csv, -1 when the file lacks it */
    size_t repeat_key;                          /* index of "repeat" in key_names */
    long status_col;
    rundir_config *configs;
    size_t n_configs;
    size_t *row_config;                         /* configuration of each results row */
    strmap by_key;
    jsonr_doc meta;
    int have_meta;                              /* meta.json read */
    char meta_note[600];                        /* why not ("" when it was) */
    size_t steps_unmatched;                     /* timed rows of steps.csv without a results row */
    /* the machine's speed per round (repeat index): the median over the
     * configurations of that repeat's step_median_ns / the configuration's
     * median (1: as fast as usual). round_span: the largest over the
     * smallest among the rounds that at least half the configurations ran
     * (extra rounds hold only the unsteady ones); NAN under two such rounds */
    double round_speed[RUNDIR_MAX_ROUNDS];
    size_t n_rounds;
    double round_span;
} rundir;

/* Reads DIR. with_steps: also steps.csv (required then). 0 ok; -1 with a
 * one-line "file:line: reason" (or "DIR: reason") in err. */
int rundir_load(rundir *d, const char *dir, int with_steps, char *err, size_t err_len);
void rundir_free(rundir *d);

/* the configuration with this canonical key, or -1 */
long rundir_find(const rundir *d, const char *key);
/* The canonical key (as rundir_config.key) of a row of another CSV of the
 * directory: cells[i], lens[i] are key column key_names[i]'s text ("" where
 * that file lacks it; repeat's is ignored); out holds RUNDIR_KEY_MAX bytes.
 * 0, or -1 when the key is longer. */
/* The cell of a key column a file lacks: the value every run had before the
 * column existed ("none" for recompute, else empty), so older results keep
 * their configurations' keys. */
const char *rundir_absent_key_cell(const char *name);
int rundir_row_key(const rundir *d, const char *const *cells, const size_t *lens, char *out);
/* index of key column `name` in key_names (repeat included), or -1 */
long rundir_key_index(const rundir *d, const char *name);

/* A stable name in google/benchmark's name/arg style, the same in every
 * directory: "mlp/accumulate/micro_batch:32/iter_size:4/effective_batch:128/
 * last_micro_batch:32/engine:accumbench/backend:cpu/input_dim:3072/…" —
 * model and strategy, then the split, then every other key column but
 * repeat, in column order, unless empty or at its value from before it
 * existed (recompute none). */
void rundir_config_name(const rundir *d, const rundir_config *c, char *buf, size_t len);

/* canonical text of one cell into out (see above) */
void rundir_canon(const char *cell, size_t len, char *out, size_t out_len);

#endif
