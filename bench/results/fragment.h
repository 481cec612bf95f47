/* bench/results/fragment.h — one configuration's rows in the sweep's file formats:
 * `run --out DIR` writes DIR/steps.csv, kernels.csv, memory.csv, algos.csv
 * (only where the backend chooses convolution algorithms) and, last,
 * results.csv, so a fragment is complete exactly when results.csv exists. */
#ifndef ACCUMBENCH_OUTPUTS_H
#define ACCUMBENCH_OUTPUTS_H

#include "records.h"
#include "results.h"

typedef enum { STEP_WARMUP, STEP_TIMED, STEP_PROFILED } step_kind;

typedef struct {
    double ns;
    step_kind kind;
} step_sample;

typedef struct {
    step_sample *v;
    size_t n, cap;
} step_log;

int step_log_add(step_log *s, step_kind kind, double ns);
void step_log_free(step_log *s);
const char *step_kind_name(step_kind k);

/* one convolution's algorithm choice (GPU backends), for algos.csv */
typedef struct {
    int layer;              /* index among the model's convolutions, forward order */
    ops_conv_dir dir;
    char algorithm[64];
    size_t workspace_bytes;
} algo_row;

typedef struct {
    const result_row *row;
    const algo_row *algos;
    size_t n_algos;
    const step_log *steps;
    const kernel_table *kernels;
    double profiled_ns;             /* sum of the profiled steps' times: kernel shares are of it */
    const memory_timeline *timeline;
} fragment;

/* 0 ok, -1 with errno set */
int outputs_write_fragment(const char *dir, const fragment *f);

#endif
