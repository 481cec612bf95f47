/* bench/measure/records.h — what profiled steps record: per (phase, kernel) time
 * aggregates and the live-bytes timeline of one step. Backends feed them
 * through the ops observer (CPU: each op's wall time, ops being synchronous). */
#ifndef ACCUMBENCH_RECORDS_H
#define ACCUMBENCH_RECORDS_H

#include "ops.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    ops_phase phase;
    char name[128];
    uint64_t calls;
    double total_ns, min_ns, max_ns;
} kernel_stat;

typedef struct {
    kernel_stat *v;
    size_t n, cap;
} kernel_table;

typedef struct {
    double time_ns;         /* from the start of the step */
    size_t bytes;
    ops_phase phase;
    int micro_batch;
} memory_event;

typedef struct {
    memory_event *v;
    size_t n, cap;
} memory_timeline;

int kernel_table_add(kernel_table *t, ops_phase phase, const char *name, double ns);
void kernel_table_free(kernel_table *t);
/* indices of the entries sorted by total_ns, largest first (caller frees) */
size_t *kernel_table_order(const kernel_table *t);

void memory_timeline_free(memory_timeline *m);

/* The CPU record path: an observer that times every op into `kernels` (when
 * non-NULL) and, while `timeline` is non-NULL, logs live bytes into it. */
typedef struct {
    kernel_table *kernels;
    memory_timeline *timeline;
    double step_start_ns;
    double op_start_ns;
    uint64_t ops;           /* ops issued while attached */
} op_recorder;

ops_observer op_recorder_observer(op_recorder *r);

/* The device record path: a profile sink aggregating kernel records into
 * `kernels` and the busy time (union of kernel intervals) of one step. */
typedef struct {
    kernel_table *kernels;
    uint64_t (*iv)[2];      /* kernel intervals of the current step */
    size_t n_iv, cap_iv;
    uint64_t launches;
    uint64_t transfer_bytes;
} device_recorder;

ops_profile_sink device_recorder_sink(device_recorder *r);
/* union of the collected intervals in ns; clears them */
double device_recorder_busy_ns(device_recorder *r);
void device_recorder_free(device_recorder *r);

#endif
