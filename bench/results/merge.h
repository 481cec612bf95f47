/* bench/results/merge.h — a sweep's CSVs rebuilt from its fragments (the
 * design's Running configurations section).
 *
 * DIR/NAME is every complete fragment's NAME in the order given: the header
 * once, then each record written again field by field with results.c's RFC
 * 4180 quoting (the quoting every fragment writer uses, so the bytes are the
 * fragment's), with the `repeat` column set to the fragment's repeat index
 * (run has no repeat flag; the sweep knows which repeat a fragment is).
 * Fragments are read with the strict reader (csv.h) whole before any of
 * their rows is written: one that is malformed, or whose header differs from
 * the first one's (made by another build), is left out, counted, and named
 * in one line on a warnings stream when the caller gives one (a sweep
 * rebuilds its files many times and says it once, at the end). The file
 * is written to a temporary and renamed (files.h), so a reader sees the old
 * file or the whole new one. */
#ifndef ACCUMBENCH_MERGE_H
#define ACCUMBENCH_MERGE_H

#include "results.h"

#include <stddef.h>
#include <stdio.h>

/* the files a fragment may hold, results.csv first (fragment.h) */
#define MERGE_N_CSV 5
extern const char *const merge_csv_names[MERGE_N_CSV];

typedef struct {
    const char *dir;            /* the fragment's directory */
    int repeat;                 /* stamped into its rows' repeat column */
} merge_fragment;

typedef struct {
    int n_status[RESULT_STATUS_N];  /* results.csv rows by status (unknown ones not counted) */
    char backend[16];               /* the backend of the first results.csv row ("" when none) */
    int n_left_out;                 /* fragments left out: malformed, or another header */
} merge_summary;

/* 1 when the fragment in dir is complete: run writes results.csv last */
int merge_fragment_complete(const char *dir);

/* The status and error cells of a complete fragment's results.csv row;
 * status "?" when the file cannot be read. */
void merge_fragment_status(const char *dir, char *status, size_t status_len, char *error, size_t error_len);

/* One cell of a complete fragment's results.csv row; 0, or -1 (out empty)
 * when the file or the column is missing. */
int merge_fragment_cell(const char *dir, const char *column, char *out, size_t out_len);

/* Rebuilds out_dir/name from the complete fragments among frags[0..n). A
 * results.csv is always written (a header alone when no fragment is
 * complete); another file only when some complete fragment has it. summary
 * (may be NULL) is filled from the rows written; warn (may be NULL) gets a
 * line per fragment left out. 0 ok, -1 the write failed (errno set). */
int merge_csv(const char *out_dir, const char *name, const merge_fragment *frags, size_t n, merge_summary *summary,
              FILE *warn);

#endif
