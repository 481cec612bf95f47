/* bench/results/merge.c — see merge.h. */
#include "merge.h"
#include "csv.h"
#include "files.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* one run's rows: a fragment file far larger than this is not one */
#define MERGE_MAX_FRAGMENT_BYTES ((size_t)1 << 30)

const char *const merge_csv_names[MERGE_N_CSV] = {"results.csv", "steps.csv", "kernels.csv", "memory.csv",
                                                  "algos.csv"};

static void frag_path(const char *dir, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", dir, name);
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

int merge_fragment_complete(const char *dir)
{
    char p[4400];
    frag_path(dir, "results.csv", p, sizeof p);
    return exists(p);
}

/* cell col of row (0 the header, 1.. the records) */
static const char *cell(const csv_table *t, size_t row, size_t col)
{
    return t->text + t->off[row * t->ncols + col];
}

/* the cell of column `name` in the first record, or NULL */
static const char *first_record_cell(const csv_table *t, const char *name)
{
    long col = csv_column(t, name, 0);
    return col >= 0 && t->nrows > 0 ? cell(t, 1, (size_t)col) : NULL;
}

int merge_fragment_cell(const char *dir, const char *column, char *out, size_t out_len)
{
    char p[4400], err[CSV_ERR_LEN];
    csv_table t;
    out[0] = '\0';
    frag_path(dir, "results.csv", p, sizeof p);
    if (csv_table_read(&t, p, MERGE_MAX_FRAGMENT_BYTES, err, sizeof err) != 0) return -1;
    const char *cell = first_record_cell(&t, column);
    if (cell) snprintf(out, out_len, "%s", cell);
    csv_table_free(&t);
    return cell ? 0 : -1;
}

void merge_fragment_status(const char *dir, char *status, size_t status_len, char *error, size_t error_len)
{
    char p[4400], err[CSV_ERR_LEN];
    csv_table t;
    snprintf(status, status_len, "?");
    error[0] = '\0';
    frag_path(dir, "results.csv", p, sizeof p);
    if (csv_table_read(&t, p, MERGE_MAX_FRAGMENT_BYTES, err, sizeof err) != 0) return;
    const char *st = first_record_cell(&t, "status"), *why = first_record_cell(&t, "error");
    if (st) snprintf(status, status_len, "%s", st);
    if (why) snprintf(error, error_len, "%s", why);
    csv_table_free(&t);
}

// ----------------------------------------------------------------------------
// one file rebuilt

typedef struct {
    const char *name;
    const merge_fragment *frags;
    size_t n;
    merge_summary sum;
    csv_table head;             /* the first fragment read: its header is the file's */
    int have_head;
    FILE *warn;
} merge_ctx;

static int same_header(const csv_table *a, const csv_table *b)
{
    if (a->ncols != b->ncols) return 0;
    for (size_t c = 0; c < a->ncols; c++)
        if (strcmp(cell(a, 0, c), cell(b, 0, c)) != 0) return 0;
    return 1;
}

/* row 0 is the header; repeat_col < 0: no column stamped */
static void write_row(FILE *out, const csv_table *t, size_t row, long repeat_col, int repeat)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c) fputc(',', out);
        if (row > 0 && (long)c == repeat_col) fprintf(out, "%d", repeat);
        else result_csv_field(out, cell(t, row, c));
    }
    fputs("\r\n", out);
}

static void tally(merge_summary *sum, const csv_table *t, size_t row)
{
    long status_col = csv_column(t, "status", 0), backend_col = csv_column(t, "backend", 0);
    if (status_col >= 0) {
        result_status st = result_status_parse(cell(t, row, (size_t)status_col));
        if (st < RESULT_STATUS_N) sum->n_status[st]++;
    }
    if (!sum->backend[0] && backend_col >= 0)
        snprintf(sum->backend, sizeof sum->backend, "%.15s", cell(t, row, (size_t)backend_col));
}

/* Reads one fragment's file into *t; 0 to be written, -1 skipped (absent,
 * or left out). */
static int read_fragment(merge_ctx *m, const merge_fragment *fr, csv_table *t)
{
    char p[4400], err[CSV_ERR_LEN];
    frag_path(fr->dir, m->name, p, sizeof p);
    if (!merge_fragment_complete(fr->dir) || !exists(p)) return -1;
    if (csv_table_read(t, p, MERGE_MAX_FRAGMENT_BYTES, err, sizeof err) != 0) {
        if (m->warn) fprintf(m->warn, "accumbench: %s; its rows are left out\n", err);
        m->sum.n_left_out++;
        return -1;
    }
    if (m->have_head && !same_header(&m->head, t)) {
        if (m->warn)
            fprintf(m->warn, "accumbench: %s: header differs from the other fragments' (made by another build?); "
                    "its rows are left out\n", p);
        m->sum.n_left_out++;
        csv_table_free(t);
        return -1;
    }
    return 0;
}

static int merge_write(FILE *out, void *user)
{
    merge_ctx *m = user;
    int is_results = !strcmp(m->name, "results.csv");
    for (size_t i = 0; i < m->n; i++) {
        csv_table t;
        if (read_fragment(m, &m->frags[i], &t) != 0) continue;
        if (!m->have_head) write_row(out, &t, 0, -1, 0);
        long repeat_col = csv_column(&t, "repeat", 0);
        for (size_t r = 1; r <= t.nrows; r++) {
            write_row(out, &t, r, repeat_col, m->frags[i].repeat);
            if (is_results) tally(&m->sum, &t, r);
        }
        if (m->have_head) csv_table_free(&t);
        else {
            m->head = t;
            m->have_head = 1;
        }
    }
    if (!m->have_head && is_results) result_print_csv_header(out);
    return 0;
}

int merge_csv(const char *out_dir, const char *name, const merge_fragment *frags, size_t n, merge_summary *summary,
              FILE *warn)
{
    merge_ctx m;
    memset(&m, 0, sizeof m);
    m.warn = warn;
    m.name = name;
    m.frags = frags;
    m.n = n;
    int any = !strcmp(name, "results.csv");
    for (size_t i = 0; i < n && !any; i++) {
        char p[4400];
        frag_path(frags[i].dir, name, p, sizeof p);
        any = merge_fragment_complete(frags[i].dir) && exists(p);
    }
    int rc = 0;
    if (any) {
        char path[4400];
        frag_path(out_dir, name, path, sizeof path);
        rc = files_write_atomic(path, merge_write, &m);
    }
    if (m.have_head) csv_table_free(&m.head);
    if (summary) *summary = m.sum;
    return rc;
}
