/* bench/cmd/plan/plan_points.h — the planner's inputs: measured points from a
 * sweep's results directory (read by rundir, one point per configuration:
 * the medians of its ok repeats, since the process is the unit), or from
 * `accumbench run --json` children it starts itself (proc_capture), and the
 * one-object JSON those children print. */
#ifndef ACCUMBENCH_PLAN_POINTS_H
#define ACCUMBENCH_PLAN_POINTS_H

#include "plan_fit.h"

#include <stddef.h>

// ----------------------------------------------------------------------------
// `run --json`: one flat object (string, number, null, true, false values)

typedef struct {
    char *key;
    char *val;          /* NULL for null; numbers and true/false as their text */
    int is_text;
} plan_json_field;

typedef struct {
    plan_json_field *v;
    size_t n;
} plan_json;

/* 0, or -1 when text is not exactly one flat JSON object (whitespace around
 * it allowed) or host memory ran out */
int plan_json_parse(const char *text, plan_json *o);
void plan_json_free(plan_json *o);
/* the value's text; NULL for null or a missing key */
const char *plan_json_get(const plan_json *o, const char *key);
/* a number value; 0 ok, 1 null or missing, -1 not a number */
int plan_json_number(const plan_json *o, const char *key, double *out);

/* A point from a run's JSON row (strategy and recompute required). 0 ok
 * (status ok), 1 the row is not ok (status in the row), -1 a required key is
 * missing or malformed (err). */
int plan_point_from_json(const plan_json *o, plan_point *p, char *err, size_t err_len);

/* Writes the rows (all with the same keys, in order: run --json's columns)
 * as DIR/results.csv, atomically, so a later `plan --results DIR` reads them.
 * 0, or -1 with errno set. */
int plan_save_results(const char *dir, const plan_json *rows, size_t n);

/* the last non-empty line of text, copied into buf (for messages) */
const char *plan_last_line(const char *text, char *buf, size_t len);

// ----------------------------------------------------------------------------
// a results directory

typedef struct {
    plan_point *v;
    size_t n, cap;
    size_t not_ok;              /* matching rows whose status is not ok (oom, error, ...) */
    char backend[8];            /* of the matching rows */
} plan_points;

/* Reads DIR (results.csv through rundir) and keeps the configurations of
 * this run configuration's model: engine accumbench, model and its
 * dimensions, optimizer, math, conv_algo, and backend unless c->backend is
 * auto (then they must all have one backend); and of the recompute values
 * use_recompute marks (rows without the column are none). The split,
 * loss_norm and seed do not matter to memory or speed. A configuration with
 * at least one ok repeat is one point: the median over its ok repeats of
 * step_median_ns and of each memory figure. 0 ok (possibly with no points),
 * -1 with `file:line: reason` in err. */
int plan_read_results(const char *dir, const run_config *c, const int use_recompute[PLAN_RECOMPUTES],
                      plan_points *out, char *err, size_t err_len);
void plan_points_free(plan_points *p);
int plan_points_add(plan_points *p, const plan_point *q);

#endif
