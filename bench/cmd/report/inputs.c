/* bench/cmd/report/inputs.c — the CSVs beside results.csv that only the
 * report reads: kernels.csv (op/kernel totals per phase) and memory.csv (live
 * bytes through a profiled step). Both can be large, so they are streamed
 * (csv_reader); each row joins its configuration by rundir's canonical key. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef int (*row_fn)(report *rp, csv_reader *r, report_config *g, const long *cols, void *user);

#define MAX_WANT 8

typedef struct {
    csv_reader r;
    long key_col[RUNDIR_MAX_KEYS];
    long cols[MAX_WANT];        /* want[i]'s column: the first after the key columns */
} stream;

/* 0 ok, 1 the file is absent, -1 error in rp->err */
static int stream_open(report *rp, stream *s, const char *name, const char *const *want, int nwant)
{
    char path[4200];
    if (fmt_into(path, sizeof path, "%s/%s", rp->dir, name)) {
        fmt_into(rp->err, sizeof rp->err, "%s: path too long", name);
        return -1;
    }
    if (access(path, F_OK) != 0) return 1;
    if (csv_reader_open_file(&s->r, path)) {
        fmt_into(rp->err, sizeof rp->err, "%s", s->r.err);
        return -1;
    }
    size_t after_keys = 0;
    for (size_t i = 0; i < rp->run.n_keys; i++) {
        s->key_col[i] = csv_reader_column(&s->r, rp->run.key_names[i], 0);
        if (s->key_col[i] >= 0 && (size_t)s->key_col[i] + 1 > after_keys) after_keys = (size_t)s->key_col[i] + 1;
    }
    for (int i = 0; i < nwant; i++) {
        s->cols[i] = csv_reader_column(&s->r, want[i], after_keys);
        if (s->cols[i] < 0) {
            fmt_into(rp->err, sizeof rp->err, "%s:1: no column '%s'", path, want[i]);
            csv_reader_close(&s->r);
            return -1;
        }
    }
    return 0;
}

/* the configuration of the reader's current row, or NULL when the results
 * have none; 0, or -1 when its key is too long */
static int row_config(report *rp, stream *s, char *key, report_config **g)
{
    const char *cells[RUNDIR_MAX_KEYS];
    size_t lens[RUNDIR_MAX_KEYS];
    for (size_t i = 0; i < rp->run.n_keys; i++) {
        cells[i] = s->key_col[i] >= 0 ? csv_reader_field(&s->r, (size_t)s->key_col[i], &lens[i])
                                      : rundir_absent_key_cell(rp->run.key_names[i]);
        if (s->key_col[i] < 0) lens[i] = strlen(cells[i]);
    }
    if (rundir_row_key(&rp->run, cells, lens, key)) {
        fmt_into(rp->err, sizeof rp->err, "%s:%zu: key columns longer than %d bytes", s->r.name, s->r.record_line,
                 RUNDIR_KEY_MAX);
        return -1;
    }
    long c = rundir_find(&rp->run, key);
    *g = c >= 0 ? &rp->cfgs[c] : NULL;
    return 0;
}

/* Streams DIR/name, calling fn for each row whose configuration is in the
 * results. 0 ok, 1 the file is absent, -1 error in rp->err. */
static int stream_rows(report *rp, const char *name, const char *const *want, int nwant, row_fn fn, void *user)
{
    stream s;
    int rc = stream_open(rp, &s, name, want, nwant);
    if (rc) return rc;
    char *key = malloc(RUNDIR_KEY_MAX);
    if (!key) {
        fmt_into(rp->err, sizeof rp->err, "%s: out of memory", s.r.name);
        rc = -1;
    }
    while (!rc && (rc = csv_reader_next(&s.r)) == 1) {
        report_config *g;
        rc = row_config(rp, &s, key, &g) || (g && fn(rp, &s.r, g, s.cols, user)) ? -1 : 0;
    }
    if (rc < 0 && !rp->err[0]) fmt_into(rp->err, sizeof rp->err, "%s", s.r.err);
    free(key);
    csv_reader_close(&s.r);
    return rc < 0 ? -1 : 0;
}

static int field_number(report *rp, csv_reader *r, long col, double *out)
{
    size_t n;
    const char *s = csv_reader_field(r, (size_t)col, &n);
    int rc = csv_parse_double(s, n, out);
    if (rc == 0) return 0;
    fmt_into(rp->err, sizeof rp->err, "%s:%zu: column '%s': '%.40s' is %s", r->name, r->record_line,
             csv_reader_header(r, (size_t)col), s, rc == 1 ? "empty" : "not a number");
    return -1;
}

/* a phase by its ops.h name; other for names it does not know */
static ops_phase phase_of(const char *name)
{
    for (int p = 0; p < OPS_PHASE_COUNT; p++)
        if (!strcmp(name, ops_phase_name((ops_phase)p))) return (ops_phase)p;
    return OPS_PHASE_OTHER;
}

// ----------------------------------------------------------------------------
// kernels.csv

static kernel_stat *find_kernel(report_config *g, const char *phase, const char *name)
{
    for (size_t i = 0; i < g->ntop; i++)
        if (!strcmp(g->top[i].phase, phase) && !strcmp(g->top[i].kernel, name)) return &g->top[i];
    if (g->ntop == g->cap_top) {
        size_t cap = g->cap_top ? 2 * g->cap_top : 64;
        kernel_stat *x = realloc(g->top, cap * sizeof *x);
        if (!x) return NULL;
        g->top = x;
        g->cap_top = cap;
    }
    kernel_stat *k = &g->top[g->ntop];
    memset(k, 0, sizeof *k);
    snprintf(k->phase, sizeof k->phase, "%s", phase);
    k->kernel = strdup(name);
    if (!k->kernel) return NULL;
    g->ntop++;
    return k;
}

static int on_kernel(report *rp, csv_reader *r, report_config *g, const long *cols, void *user)
{
    (void)user;
    const char *phase = csv_reader_field(r, (size_t)cols[0], NULL);
    double calls, total;
    if (field_number(rp, r, cols[1], &calls) || field_number(rp, r, cols[2], &total)) return -1;
    g->kernel_ns[phase_of(phase)] += total;
    g->has_kernels = 1;
    if (!g->want_top) return 0;
    kernel_stat *k = find_kernel(g, phase, csv_reader_field(r, (size_t)cols[3], NULL));
    if (!k) {
        fmt_into(rp->err, sizeof rp->err, "%s: out of memory", r->name);
        return -1;
    }
    k->total_ns += total;
    k->calls += calls;
    return 0;
}

int report_read_kernels(report *rp)
{
    static const char *const cols[] = {"phase", "calls", "total_ns", "name"};
    return stream_rows(rp, "kernels.csv", cols, 4, on_kernel, NULL);
}

// ----------------------------------------------------------------------------
// memory.csv

static const char *const memory_cols[] = {"time_ns", "bytes", "phase", "micro_batch"};

static int on_memory_mark(report *rp, csv_reader *r, report_config *g, const long *cols, void *user)
{
    (void)rp, (void)r, (void)cols, (void)user;
    g->has_memory = 1;
    return 0;
}

int report_mark_memory(report *rp) { return stream_rows(rp, "memory.csv", memory_cols, 4, on_memory_mark, NULL); }

static int on_memory_event(report *rp, csv_reader *r, report_config *g, const long *cols, void *user)
{
    timeline *tl = user;
    if (g != tl->want) return 0;
    long rcol = csv_reader_column(r, "repeat", 0);
    long long rep = -1;
    if (rcol >= 0) {
        size_t n;
        const char *s = csv_reader_field(r, (size_t)rcol, &n);
        if (csv_parse_int(s, n, &rep) < 0) rep = -1;
    }
    if (!tl->have_repeat) tl->repeat = rep, tl->have_repeat = 1;
    if (rep != tl->repeat) return 0;
    double t, bytes, mbi;
    if (field_number(rp, r, cols[0], &t) || field_number(rp, r, cols[1], &bytes) ||
        field_number(rp, r, cols[3], &mbi))
        return -1;
    if (tl->n == tl->cap) {
        size_t cap = tl->cap ? 2 * tl->cap : 1024;
        mem_event *x = realloc(tl->v, cap * sizeof *x);
        if (!x) {
            fmt_into(rp->err, sizeof rp->err, "%s: out of memory", r->name);
            return -1;
        }
        tl->v = x;
        tl->cap = cap;
    }
    ops_phase ph = phase_of(csv_reader_field(r, (size_t)cols[2], NULL));
    tl->v[tl->n++] = (mem_event){t * 1e-6, bytes / MIB, ph, (int)mbi};
    return 0;
}

int report_read_timeline(report *rp, timeline *tl)
{
    return stream_rows(rp, "memory.csv", memory_cols, 4, on_memory_event, tl) < 0 ? -1 : 0;
}
