/* bench/cmd/plan/plan_print.h — a plan as text or as one JSON object: the
 * fits, every candidate, the recommendation, the option of each recompute
 * value side by side, and --verify's measurement. Bytes in binary units in
 * text, raw numbers (17 significant digits) in JSON. */
#ifndef ACCUMBENCH_PLAN_PRINT_H
#define ACCUMBENCH_PLAN_PRINT_H

#include "plan_fit.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    /* the request */
    const run_config *cfg;              /* model and optimizer */
    int effective_batch;
    uint64_t budget_bytes, context_bytes;
    double margin, limit;               /* limit = budget x (1 - margin) */
    int searched[PLAN_RECOMPUTES];      /* recompute values asked for */
    /* the inputs */
    const char *backend;
    int host_memory;                    /* the backend keeps tensors in host memory */
    plan_figure fig;
    const char *source;                 /* "N runs measured now" or the results path */
    size_t n_points, not_ok;
    /* the fits and the choice */
    const plan_fit *fits;
    size_t n_fits;
    const plan_candidate *cand;         /* fastest first (plan_choose) */
    size_t n_cand;
    long rec, smallest;
    long side[PLAN_RECOMPUTES];         /* plan_sides */
    /* --verify */
    int verified, verify_oom;
    double verify_peak, verify_rate;
} plan_report;

void plan_print_text(const plan_report *r);
void plan_print_json(const plan_report *r);

/* "12.34 MiB" */
const char *plan_fmt_bytes(double bytes, char *buf, size_t len);
/* "cnn (width 16, 3 stages x 3 blocks, norm batch)" */
void plan_describe_model(const run_config *c, char *buf, size_t len);

#endif
