/* bench/results/results.h — one results.csv row: the key columns, then the
 * measurements, in the design's column order. Printers (JSON, CSV) walk the
 * columns; a column that does not apply is NULL (empty cell, JSON null). */
#ifndef ACCUMBENCH_RESULTS_H
#define ACCUMBENCH_RESULTS_H

#include "config.h"
#include "jsonwrite.h"

#include <stdio.h>

#define RESULT_UNSET (-1.0)

typedef struct {
    char engine[16], backend[8];
    run_config cfg;
    int repeat;
    char status[16];            /* ok | oom | error */
    int steps_timed;
    char stop_reason[16];
    double step_median_ns, step_p10_ns, step_p90_ns, noise_rel;
    double samples_per_s, steps_per_s;
    /* memory figures; RESULT_UNSET where the backend does not measure them */
    double mem_tracked_bytes, mem_reserved_bytes, mem_device_bytes, mem_driver_bytes;
    double rss_delta_bytes, data_bytes, mem_analytic_bytes;
    double gpu_busy_ratio, launches_per_step, host_ns_per_step, cupti_overhead_ratio;
    /* device state (NVML) over the timed steps */
    double sm_clock_mhz, temperature_c, power_w, other_processes, steps_throttled;
    char error[256];
} result_row;

/* A row's status, the one list of them (sweep writes all, report counts
 * them, compare judges them); the reason is in `error`. */
typedef enum {
    RESULT_OK, RESULT_OOM, RESULT_ERROR, RESULT_CRASH, RESULT_TIMEOUT, RESULT_SKIPPED, RESULT_STATUS_N
} result_status;
const char *result_status_name(result_status s);
/* the status named s, or RESULT_STATUS_N when s names none */
result_status result_status_parse(const char *s);

void result_init(result_row *r, const run_config *c, const char *backend);

/* Calls emit once per column in order: text is NULL for an empty cell;
 * is_text says whether the value is a string (quoted in JSON). */
typedef void (*result_emit_fn)(void *user, const char *column, const char *text, int is_text);
void result_columns(const result_row *r, result_emit_fn emit, void *user);

void result_key_columns(const result_row *r, result_emit_fn emit, void *user);

void result_print_json(const result_row *r, FILE *f);
/* the row as one object member (key) or array element (NULL) of a document */
void result_write_json(const result_row *r, jsonw *w, const char *key);
void result_print_csv_header(FILE *f);
void result_print_csv(const result_row *r, FILE *f);
/* the key columns, each followed by a comma, for the other CSVs' rows */
void result_csv_key_header(FILE *f);
void result_csv_key_prefix(const result_row *r, FILE *f);
/* one RFC 4180 field (quoted when it holds a comma, quote or line break) */
void result_csv_field(FILE *f, const char *s);

#endif
