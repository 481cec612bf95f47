/* bench/cmd/report/report.c — `accumbench report DIR`: reads a sweep's CSVs (bench/csv.c),
 * writes one gnuplot data file per figure under DIR/plots/data/, runs the
 * scripts in plots/ (PNG and SVG each) and writes DIR/report.html (one
 * self-contained file: the SVGs inline) and DIR/summary.md. Every output is
 * written to a temporary name and renamed.
 *
 * Rows are joined across files by their key columns (the results.csv key
 * columns of bench/results.c), numbers normalised so "8" and "8.0" join.
 * Repeats of one configuration are aggregated: medians over the ok repeats
 * for the plots; the results table shows every row. When the results hold
 * several models (groups: the key columns less strategy, split and repeat)
 * or effective batches, each figure picks the most informative one and names
 * it in its title.
 *
 * Data file layout (what the scripts in plots/ read): blocks separated by two
 * blank lines, one per series, each opening with a `# series: ...` comment
 * and a header line whose second column is the series title. Sizes are MiB,
 * times ms, throughput samples/s. */
#include "cli.h"
#include "commands.h"
#include "csv.h"
#include "files.h"
#include "jsonread.h"
#include "results.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MIB 1048576.0
#define RESULTS_MAX_BYTES ((size_t)256 << 20)
#define META_MAX_BYTES ((size_t)1 << 20)
#define SVG_MAX_BYTES ((size_t)32 << 20)
#define TOP_KERNELS 10
#define MAX_KEYS 32

// ----------------------------------------------------------------------------
// growable text

typedef struct {
    char *s;
    size_t n, cap;
    int failed;                 /* an allocation failed: the text is incomplete */
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n)
{
    if (b->failed) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->n + n + 1) cap *= 2;
        char *x = realloc(b->s, cap);
        if (!x) {
            b->failed = 1;
            return;
        }
        b->s = x;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof small) {
        sb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = 1;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sb_put(b, big, (size_t)n);
    free(big);
}

static void sb_html(sbuf *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': sb_str(b, "&lt;"); break;
        case '>': sb_str(b, "&gt;"); break;
        case '&': sb_str(b, "&amp;"); break;
        case '"': sb_str(b, "&quot;"); break;
        default: sb_put(b, s, 1);
        }
    }
}

static void sb_free(sbuf *b)
{
    free(b->s);
    memset(b, 0, sizeof *b);
}

static int write_sbuf(FILE *f, void *user)
{
    const sbuf *b = user;
    if (b->failed) return -1;
    return b->n && fwrite(b->s, 1, b->n, f) != b->n ? -1 : 0;
}

static int write_text_file(const char *path, const sbuf *b)
{
    if (b->failed) {
        errno = ENOMEM;
        return -1;
    }
    return files_write_atomic(path, write_sbuf, (void *)b);
}

/* snprintf for paths and messages: 0, or -1 when the text did not fit (it
 * is then truncated, never unterminated) */
static int fmt_into(char *out, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= len) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

// ----------------------------------------------------------------------------
// key columns and join strings

typedef struct {
    const char *names[MAX_KEYS];
    int n;
} key_names;

static void collect_key_name(void *user, const char *column, const char *text, int is_text)
{
    (void)text, (void)is_text;
    key_names *k = user;
    if (k->n < MAX_KEYS) k->names[k->n++] = column;
}

/* the key column names, in order, from the results writer itself */
static key_names key_column_names(void)
{
    key_names k = {{0}, 0};
    result_row r;
    run_config c;
    memset(&c, 0, sizeof c);
    result_init(&r, &c, "");
    result_key_columns(&r, collect_key_name, &k);
    return k;
}

typedef enum { JOIN_CONFIG, JOIN_GROUP, JOIN_PAIR, JOIN_PGROUP } join_kind;

/* columns a join leaves out: repeats aggregate into a configuration; a
 * group is one model and setting, across strategies and splits. PAIR and
 * PGROUP are CONFIG and GROUP less the engine: what pairs one engine's
 * configuration (or model) with the other engine's. */
static int join_skips(join_kind kind, const char *name)
{
    if (!strcmp(name, "repeat")) return 1;
    if ((kind == JOIN_PAIR || kind == JOIN_PGROUP) && !strcmp(name, "engine")) return 1;
    if (kind == JOIN_CONFIG || kind == JOIN_PAIR) return 0;
    static const char *split[] = {"strategy", "micro_batch", "iter_size", "effective_batch", "last_micro_batch"};
    for (size_t i = 0; i < sizeof split / sizeof split[0]; i++)
        if (!strcmp(name, split[i])) return 1;
    return 0;
}

typedef struct {
    const char *s;
    size_t n;
} strv;

/* fields[i] is key column i's text (empty where the file lacks it) */
static void join_key(sbuf *b, const key_names *k, const strv *fields, join_kind kind)
{
    b->n = 0;
    sb_put(b, "", 0);
    for (int i = 0; i < k->n; i++) {
        if (join_skips(kind, k->names[i])) continue;
        double v;
        if (csv_parse_double(fields[i].s, fields[i].n, &v) == 0) sb_printf(b, "%.17g", v);
        else sb_put(b, fields[i].s, fields[i].n);
        sb_put(b, "\x1f", 1);
    }
}

static void key_fields_reader(const csv_reader *r, const key_names *k, const long *idx, strv *out)
{
    for (int i = 0; i < k->n; i++) {
        size_t n = 0;
        const char *s = idx[i] >= 0 ? csv_reader_field(r, (size_t)idx[i], &n) : NULL;
        out[i] = (strv){s ? s : "", s ? n : 0};
    }
}

// ----------------------------------------------------------------------------
// results.csv rows and configurations

enum { MEM_TRACKED, MEM_RESERVED, MEM_DEVICE, MEM_DRIVER, MEM_RSS, MEM_DATA, MEM_ANALYTIC, MEM_COUNT };
static const char *mem_columns[MEM_COUNT] = {"mem_tracked_bytes", "mem_reserved_bytes", "mem_device_bytes",
                                              "mem_driver_bytes",  "rss_delta_bytes",    "data_bytes",
                                              "mem_analytic_bytes"};
static const char *mem_titles[MEM_COUNT] = {"tracked MiB", "reserved MiB", "device MiB", "driver MiB",
                                             "RSS Δ MiB",  "data MiB",     "analytic MiB"};

/* in kernels/ops.h's order: the timeline data file carries these codes */
enum { PH_OTHER, PH_FORWARD, PH_BACKWARD, PH_OPTIMIZER, PH_COUNT };
static const char *phase_names[PH_COUNT] = {"other", "forward", "backward", "optimizer"};
/* the kernel-phase figure's columns, bottom of the stack first */
static const int phase_stack[PH_COUNT] = {PH_FORWARD, PH_BACKWARD, PH_OPTIMIZER, PH_OTHER};

static int phase_index(const char *s)
{
    for (int i = 0; i < PH_COUNT; i++)
        if (!strcmp(s, phase_names[i])) return i;
    return -1;
}

typedef struct {
    char *config, *group, *pair, *pgroup;
    char label[192];            /* the model in words, for titles */
    const char *engine, *backend;
    const char *strategy, *status, *stop_reason, *error;   /* into the table */
    long long micro_batch, iter_size, effective_batch, repeat, steps_timed;
    double step_median_ns, step_p10_ns, step_p90_ns, samples_per_s;
    double mem[MEM_COUNT];
    double grad_rel_err;        /* torch rows: max|g_torch - g_accumbench| / max|g_accumbench| */
    size_t line;
} rrow;

typedef struct {
    char name[32], phase[12];
    char *kernel;
    double total_ns, calls;
} kstat;

typedef struct {
    const char *config, *group, *pair, *pgroup, *label, *strategy, *engine, *backend;
    int eng;                    /* index into report.engines: 0 is the primary engine */
    long long mb, k, eb;
    size_t first_row;
    int n, n_ok, n_oom;
    double sps, step_ns, tracked, analytic;     /* medians over the ok repeats; NAN if none */
    double rss, reserved;                       /* rss_delta_bytes, mem_reserved_bytes: the same */
    /* what the memory figures draw: the tracked peak, or where an engine
     * tracks none (torch on the CPU) its RSS growth (mem_fig_rss = 1) */
    double mem_fig;
    int mem_fig_rss;
    double grad_err;            /* the largest grad_rel_err over the repeats; NAN if none */
    double kernel_ns[PH_COUNT], profiled_steps;
    int has_kernels, has_memory;
    kstat *top;                 /* per (phase, name), for the top-kernels table */
    size_t ntop, cap_top;
    int want_top;
} cfg;

#define MAX_ENGINES 4

typedef struct {
    const char *dir;
    key_names keys;
    /* engines in the results, the primary first: accumbench when it ran
     * ok, else the first engine that did. Figures and summaries choose
     * their model and slice from the primary engine's configurations and
     * draw the other engines' configurations of the same model beside them. */
    const char *engines[MAX_ENGINES];
    int nengines;
    csv_table results;
    rrow *rows;
    size_t nrows;
    cfg *cfgs;
    size_t ncfgs;
    strmap cfg_by_key;
    int have_steps, have_kernels, have_memory, have_algos;
    struct timeline *tl;        /* the timeline memory.csv's second pass fills */
    char notes[8][256];
    int nnotes;
    char err[CSV_ERR_LEN + 256];
} report;

static void note(report *rp, const char *fmt, ...)
{
    if (rp->nnotes >= 8) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rp->notes[rp->nnotes++], sizeof rp->notes[0], fmt, ap);
    va_end(ap);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
    if (!n) return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *cell(const csv_table *t, size_t row, long col)
{
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, NULL) : NULL;
    return s ? s : "";
}

static void model_label(const csv_table *t, size_t row, char *out, size_t len)
{
#define COL(name) cell(t, row, csv_column(t, name, 0))
    const char *model = COL("model");
    if (!strcmp(model, "mlp"))
        snprintf(out, len, "mlp %s→%s×%s, %s, %s", COL("input_dim"), COL("hidden"), COL("layers"), COL("backend"),
                 COL("optimizer"));
    else if (!strcmp(model, "cnn"))
        snprintf(out, len, "cnn width %s, %s×%s blocks, %s norm, %s, %s", COL("width"), COL("stages"), COL("blocks"),
                 COL("norm"), COL("backend"), COL("optimizer"));
    else snprintf(out, len, "%s, %s, %s", model, COL("backend"), COL("optimizer"));
#undef COL
}

static int get_int_cell(report *rp, size_t row, const char *name, int required, long long *out)
{
    long col = csv_column(&rp->results, name, 0);
    size_t len = 0;
    const char *s = col >= 0 ? csv_get(&rp->results, row, (size_t)col, &len) : "";
    int rc = csv_parse_int(s, len, out);
    if (rc == 0) return 0;
    if (rc == 1 && !required) {
        *out = -1;
        return 0;
    }
    fmt_into(rp->err, sizeof rp->err, "%s:%zu: column '%s': '%.40s' is %s", rp->results.name,
             csv_row_line(&rp->results, row), name, s, rc == 1 ? "empty" : "not an integer");
    return -1;
}

/* An empty cell is NAN (not measured). mem_device_bytes comes from CUPTI,
 * which may leave a reason there instead ("unavailable: ..."): that text
 * reads as not measured too; elsewhere it is bad input. */
static int get_num_cell(report *rp, size_t row, const char *name, double *out)
{
    int rc = csv_get_double(&rp->results, row, csv_column(&rp->results, name, 0), out, rp->err, sizeof rp->err);
    if (rc == 1 || (rc < 0 && !strcmp(name, "mem_device_bytes"))) {
        *out = NAN;
        return 0;
    }
    return rc < 0 ? -1 : 0;
}

static int load_results(report *rp)
{
    char path[4200];
    fmt_into(path, sizeof path, "%s/results.csv", rp->dir);
    if (csv_table_read(&rp->results, path, RESULTS_MAX_BYTES, rp->err, sizeof rp->err)) return -1;
    const csv_table *t = &rp->results;
    static const char *required[] = {"model", "strategy", "micro_batch", "iter_size", "effective_batch", "status"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (csv_column(t, required[i], 0) < 0) {
            fmt_into(rp->err, sizeof rp->err, "%s:1: no column '%s'", t->name, required[i]);
            return -1;
        }
    if (t->nrows == 0) {
        fmt_into(rp->err, sizeof rp->err, "%s: no result rows", t->name);
        return -1;
    }
    rp->rows = calloc(t->nrows, sizeof *rp->rows);
    if (!rp->rows) goto oom;
    long key_idx[MAX_KEYS];
    strv fields[MAX_KEYS];
    for (int i = 0; i < rp->keys.n; i++) key_idx[i] = csv_column(t, rp->keys.names[i], 0);
    sbuf kb = {0};
    for (size_t r = 0; r < t->nrows; r++) {
        rrow *w = &rp->rows[rp->nrows++];
        w->line = csv_row_line(t, r);
        for (int i = 0; i < rp->keys.n; i++) {
            size_t n = 0;
            const char *s = key_idx[i] >= 0 ? csv_get(t, r, (size_t)key_idx[i], &n) : NULL;
            fields[i] = (strv){s ? s : "", s ? n : 0};
        }
        join_key(&kb, &rp->keys, fields, JOIN_CONFIG);
        w->config = kb.failed ? NULL : strdup(kb.s);
        join_key(&kb, &rp->keys, fields, JOIN_GROUP);
        w->group = kb.failed ? NULL : strdup(kb.s);
        join_key(&kb, &rp->keys, fields, JOIN_PAIR);
        w->pair = kb.failed ? NULL : strdup(kb.s);
        join_key(&kb, &rp->keys, fields, JOIN_PGROUP);
        w->pgroup = kb.failed ? NULL : strdup(kb.s);
        if (!w->config || !w->group || !w->pair || !w->pgroup) {
            sb_free(&kb);
            goto oom;
        }
        model_label(t, r, w->label, sizeof w->label);
        /* results written before the engine column are accumbench's */
        w->engine = cell(t, r, csv_column(t, "engine", 0));
        if (!*w->engine) w->engine = "accumbench";
        w->backend = cell(t, r, csv_column(t, "backend", 0));
        w->strategy = cell(t, r, csv_column(t, "strategy", 0));
        w->status = cell(t, r, csv_column(t, "status", 0));
        w->stop_reason = cell(t, r, csv_column(t, "stop_reason", 0));
        w->error = cell(t, r, csv_column(t, "error", 0));
        if (get_int_cell(rp, r, "micro_batch", 1, &w->micro_batch) ||
            get_int_cell(rp, r, "iter_size", 1, &w->iter_size) ||
            get_int_cell(rp, r, "effective_batch", 1, &w->effective_batch) ||
            get_int_cell(rp, r, "repeat", 0, &w->repeat) || get_int_cell(rp, r, "steps_timed", 0, &w->steps_timed) ||
            get_num_cell(rp, r, "step_median_ns", &w->step_median_ns) ||
            get_num_cell(rp, r, "step_p10_ns", &w->step_p10_ns) ||
            get_num_cell(rp, r, "step_p90_ns", &w->step_p90_ns) ||
            get_num_cell(rp, r, "samples_per_s", &w->samples_per_s)) {
            sb_free(&kb);
            return -1;
        }
        for (int m = 0; m < MEM_COUNT; m++)
            if (get_num_cell(rp, r, mem_columns[m], &w->mem[m])) {
                sb_free(&kb);
                return -1;
            }
        /* a peer that could not compare gradients may leave text there */
        if (csv_get_double(t, r, csv_column(t, "grad_rel_err", 0), &w->grad_rel_err, rp->err, sizeof rp->err)) {
            w->grad_rel_err = NAN;
            rp->err[0] = '\0';
        }
        if (w->micro_batch <= 0 || w->iter_size <= 0 || w->effective_batch <= 0) {
            fmt_into(rp->err, sizeof rp->err, "%s:%zu: micro_batch, iter_size and effective_batch must be > 0",
                     t->name, w->line);
            sb_free(&kb);
            return -1;
        }
    }
    sb_free(&kb);

    /* configurations: repeats aggregated */
    rp->cfgs = calloc(rp->nrows, sizeof *rp->cfgs);
    double *tmp = malloc(6 * rp->nrows * sizeof *tmp);
    if (!rp->cfgs || !tmp) {
        free(tmp);
        goto oom;
    }
    for (size_t r = 0; r < rp->nrows; r++) {
        const rrow *w = &rp->rows[r];
        size_t c;
        if (!strmap_get(&rp->cfg_by_key, w->config, &c)) {
            c = rp->ncfgs++;
            cfg *g = &rp->cfgs[c];
            *g = (cfg){.config = w->config, .group = w->group, .pair = w->pair, .pgroup = w->pgroup,
                       .label = w->label, .strategy = w->strategy, .engine = w->engine, .backend = w->backend,
                       .mb = w->micro_batch, .k = w->iter_size, .eb = w->effective_batch, .first_row = r};
            if (strmap_put(&rp->cfg_by_key, w->config, c)) {
                free(tmp);
                goto oom;
            }
        }
        cfg *g = &rp->cfgs[c];
        g->n++;
        g->n_ok += !strcmp(w->status, "ok");
        g->n_oom += !strcmp(w->status, "oom");
    }
    for (size_t c = 0; c < rp->ncfgs; c++) {
        cfg *g = &rp->cfgs[c];
        size_t n = 0, na = 0;
        double *sps = tmp, *step = tmp + rp->nrows, *tr = tmp + 2 * rp->nrows, *an = tmp + 3 * rp->nrows;
        double *rs = tmp + 4 * rp->nrows, *rv = tmp + 5 * rp->nrows;
        size_t nt = 0, nr = 0, nv = 0;
        g->grad_err = NAN;
        for (size_t r = g->first_row; r < rp->nrows; r++) {
            const rrow *w = &rp->rows[r];
            if (strcmp(w->config, g->config)) continue;
            if (!isnan(w->mem[MEM_ANALYTIC])) an[na++] = w->mem[MEM_ANALYTIC];
            if (!isnan(w->grad_rel_err) && !(w->grad_rel_err <= g->grad_err)) g->grad_err = w->grad_rel_err;
            if (strcmp(w->status, "ok")) continue;
            if (!isnan(w->samples_per_s) && !isnan(w->step_median_ns)) {
                sps[n] = w->samples_per_s;
                step[n++] = w->step_median_ns;
            }
            if (!isnan(w->mem[MEM_TRACKED])) tr[nt++] = w->mem[MEM_TRACKED];
            if (!isnan(w->mem[MEM_RSS])) rs[nr++] = w->mem[MEM_RSS];
            if (!isnan(w->mem[MEM_RESERVED])) rv[nv++] = w->mem[MEM_RESERVED];
        }
        g->sps = median(sps, n);
        g->step_ns = median(step, n);
        g->tracked = median(tr, nt);
        g->analytic = median(an, na);
        g->rss = median(rs, nr);
        g->reserved = median(rv, nv);
        g->mem_fig_rss = nt == 0 && nr > 0;
        g->mem_fig = g->mem_fig_rss ? g->rss : g->tracked;
    }
    free(tmp);

    /* engines, the primary first */
    const char *primary = NULL;
    for (size_t c = 0; c < rp->ncfgs && !primary; c++)
        if (rp->cfgs[c].n_ok && !strcmp(rp->cfgs[c].engine, "accumbench")) primary = "accumbench";
    for (size_t c = 0; c < rp->ncfgs && !primary; c++)
        if (rp->cfgs[c].n_ok) primary = rp->cfgs[c].engine;
    rp->engines[rp->nengines++] = primary ? primary : rp->cfgs[0].engine;
    for (size_t c = 0; c < rp->ncfgs; c++) {
        cfg *g = &rp->cfgs[c];
        int e = 0;
        while (e < rp->nengines && strcmp(rp->engines[e], g->engine)) e++;
        if (e == rp->nengines && e < MAX_ENGINES) rp->engines[rp->nengines++] = g->engine;
        /* a fifth engine and beyond share the last slot's style */
        g->eng = e < MAX_ENGINES ? e : MAX_ENGINES - 1;
    }
    return 0;
oom:
    fmt_into(rp->err, sizeof rp->err, "%s: out of memory", t->name);
    return -1;
}

// ----------------------------------------------------------------------------
// steps.csv, kernels.csv: per-configuration aggregates

typedef int (*row_fn)(report *rp, csv_reader *r, cfg *g, const long *cols);

/* Streams DIR/name, calling fn for each row whose configuration is in the
 * results. cols[i] is the column of want[i] (the first at or after the key
 * columns). 0 ok, 1 the file is absent, -1 error in rp->err. */
static int stream_rows(report *rp, const char *name, const char *const *want, int nwant, row_fn fn)
{
    char path[4200];
    fmt_into(path, sizeof path, "%s/%s", rp->dir, name);
    if (access(path, F_OK) != 0) return 1;
    csv_reader r;
    if (csv_reader_open_file(&r, path)) {
        fmt_into(rp->err, sizeof rp->err, "%s", r.err);
        return -1;
    }
    long key_idx[MAX_KEYS], cols[8];
    size_t after_keys = 0;
    for (int i = 0; i < rp->keys.n; i++) {
        key_idx[i] = csv_reader_column(&r, rp->keys.names[i], 0);
        if (key_idx[i] >= 0 && (size_t)key_idx[i] + 1 > after_keys) after_keys = (size_t)key_idx[i] + 1;
    }
    for (int i = 0; i < nwant; i++) {
        cols[i] = csv_reader_column(&r, want[i], after_keys);
        if (cols[i] < 0) {
            fmt_into(rp->err, sizeof rp->err, "%s:1: no column '%s'", path, want[i]);
            csv_reader_close(&r);
            return -1;
        }
    }
    sbuf kb = {0}, last = {0};
    strv fields[MAX_KEYS];
    cfg *g = NULL;
    int rc;
    while ((rc = csv_reader_next(&r)) == 1) {
        key_fields_reader(&r, &rp->keys, key_idx, fields);
        join_key(&kb, &rp->keys, fields, JOIN_CONFIG);
        if (kb.failed) break;
        /* rows of one configuration come together: look up only on a change */
        if (!last.s || strcmp(last.s, kb.s)) {
            size_t c;
            g = strmap_get(&rp->cfg_by_key, kb.s, &c) ? &rp->cfgs[c] : NULL;
            last.n = 0;
            sb_put(&last, kb.s, kb.n);
        }
        if (g && fn(rp, &r, g, cols)) {
            rc = -1;
            break;
        }
    }
    if (rc < 0 && !rp->err[0]) fmt_into(rp->err, sizeof rp->err, "%s", r.err);
    if (kb.failed || last.failed) {
        fmt_into(rp->err, sizeof rp->err, "%s: out of memory", path);
        rc = -1;
    }
    sb_free(&kb);
    sb_free(&last);
    csv_reader_close(&r);
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

static int on_step(report *rp, csv_reader *r, cfg *g, const long *cols)
{
    (void)rp;
    const char *kind = csv_reader_field(r, (size_t)cols[0], NULL);
    if (!strcmp(kind, "profiled")) g->profiled_steps++;
    return 0;
}

static int on_kernel(report *rp, csv_reader *r, cfg *g, const long *cols)
{
    const char *phase = csv_reader_field(r, (size_t)cols[0], NULL);
    const char *name = csv_reader_field(r, (size_t)cols[3], NULL);
    double calls, total;
    if (field_number(rp, r, cols[1], &calls) || field_number(rp, r, cols[2], &total)) return -1;
    int ph = phase_index(phase);
    g->kernel_ns[ph < 0 ? PH_OTHER : ph] += total;
    g->has_kernels = 1;
    if (!g->want_top) return 0;
    for (size_t i = 0; i < g->ntop; i++) {
        kstat *k = &g->top[i];
        if (!strcmp(k->phase, phase) && !strcmp(k->kernel, name)) {
            k->total_ns += total;
            k->calls += calls;
            return 0;
        }
    }
    if (g->ntop == g->cap_top) {
        size_t cap = g->cap_top ? 2 * g->cap_top : 64;
        kstat *x = realloc(g->top, cap * sizeof *x);
        if (!x) goto oom;
        g->top = x;
        g->cap_top = cap;
    }
    kstat *k = &g->top[g->ntop];
    memset(k, 0, sizeof *k);
    snprintf(k->phase, sizeof k->phase, "%s", phase);
    k->kernel = strdup(name);
    if (!k->kernel) goto oom;
    k->total_ns = total;
    k->calls = calls;
    g->ntop++;
    return 0;
oom:
    fmt_into(rp->err, sizeof rp->err, "%s: out of memory", r->name);
    return -1;
}

// ----------------------------------------------------------------------------
// memory.csv: which configurations have a timeline, then one timeline

typedef struct {
    double t_ms, mib;
    int phase, micro_batch;
} mem_event;

typedef struct timeline {
    const cfg *want;
    long long repeat;           /* the first repeat seen; -2 before any */
    mem_event *v;
    size_t n, cap;
} timeline;

static int on_memory_mark(report *rp, csv_reader *r, cfg *g, const long *cols)
{
    (void)rp, (void)r, (void)cols;
    g->has_memory = 1;
    return 0;
}

static int on_memory_event(report *rp, csv_reader *r, cfg *g, const long *cols)
{
    timeline *tl = rp->tl;
    if (g != tl->want) return 0;
    long rcol = csv_reader_column(r, "repeat", 0);
    long long rep = -1;
    if (rcol >= 0) {
        size_t n;
        const char *s = csv_reader_field(r, (size_t)rcol, &n);
        if (csv_parse_int(s, n, &rep) < 0) rep = -1;
    }
    if (tl->repeat == -2) tl->repeat = rep;
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
    int ph = phase_index(csv_reader_field(r, (size_t)cols[2], NULL));
    tl->v[tl->n++] = (mem_event){t * 1e-6, bytes / MIB, ph < 0 ? PH_OTHER : ph, (int)mbi};
    return 0;
}

// ----------------------------------------------------------------------------
// choosing what each figure shows

static int strategy_rank(const char *s)
{
    return !strcmp(s, "full") ? 0 : !strcmp(s, "retain") ? 1 : !strcmp(s, "accumulate") ? 2 : 3;
}

static int is_ra(const cfg *g) { return !strcmp(g->strategy, "retain") || !strcmp(g->strategy, "accumulate"); }

/* The primary engine's group where accumulation matters most: the largest
 * retain/accumulate tracked-peak ratio over matching splits (the thread's
 * effect, drawn where it shows); ties, or no ratio at all, go to the most
 * retain/accumulate configurations that ran (ok or oom). */
static const char *pick_ra_group(const report *rp)
{
    const char *best = NULL;
    size_t best_n = 0;
    double best_ratio = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *a = &rp->cfgs[i];
        if (a->eng || !is_ra(a) || (!a->n_ok && !a->n_oom)) continue;
        size_t n = 0;
        double ratio = 0;
        for (size_t j = 0; j < rp->ncfgs; j++) {
            const cfg *r = &rp->cfgs[j];
            if (!is_ra(r) || (!r->n_ok && !r->n_oom) || strcmp(r->group, a->group)) continue;
            n++;
            if (strcmp(r->strategy, "retain") || !(r->tracked > 0)) continue;
            for (size_t k = 0; k < rp->ncfgs; k++) {
                const cfg *c = &rp->cfgs[k];
                if (!strcmp(c->strategy, "accumulate") && !strcmp(c->group, r->group) && c->mb == r->mb &&
                    c->k == r->k && c->tracked > 0 && r->tracked / c->tracked > ratio)
                    ratio = r->tracked / c->tracked;
            }
        }
        if (ratio > best_ratio * 1.001 || (ratio >= best_ratio / 1.001 && n > best_n)) {
            best_n = n;
            best_ratio = ratio;
            best = a->group;
        }
    }
    return best;
}

typedef struct {
    const char *group;
    long long eb;
} slice;

/* (group, effective batch) of the primary engine with the most strategies,
 * then configurations (distinct splits), then the largest effective batch;
 * `all_strategies` asks for the largest one where every strategy of the
 * group ran instead */
static slice pick_slice(const report *rp, const char *only_group, int all_strategies)
{
    slice best = {NULL, 0};
    long long best_score[3] = {-1, -1, -1};
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *a = &rp->cfgs[i];
        if (a->eng || !a->n_ok || isnan(a->sps)) continue;
        if (only_group && strcmp(a->group, only_group)) continue;
        unsigned strategies = 0, group_strategies = 0;
        long long nconf = 0;
        for (size_t j = 0; j < rp->ncfgs; j++) {
            const cfg *b = &rp->cfgs[j];
            if (!b->n_ok || isnan(b->sps) || strcmp(b->group, a->group)) continue;
            group_strategies |= 1u << strategy_rank(b->strategy);
            if (b->eb != a->eb) continue;
            strategies |= 1u << strategy_rank(b->strategy);
            nconf++;
        }
        long long ns = 0;
        for (unsigned bits = strategies; bits; bits &= bits - 1) ns++;
        long long score[3] = {ns, nconf, a->eb};
        if (all_strategies) {
            score[0] = strategies == group_strategies;
            score[1] = a->eb;
            score[2] = nconf;
        }
        if (memcmp(score, best_score, sizeof score) != 0) {
            int better = 0;
            for (int s = 0; s < 3; s++)
                if (score[s] != best_score[s]) {
                    better = score[s] > best_score[s];
                    break;
                }
            if (better) {
                memcpy(best_score, score, sizeof score);
                best = (slice){a->group, a->eb};
            }
        }
    }
    return best;
}

static const cfg *group_rep(const report *rp, const char *group)
{
    for (size_t i = 0; i < rp->ncfgs; i++)
        if (!strcmp(rp->cfgs[i].group, group)) return &rp->cfgs[i];
    return NULL;
}

/* engine eng's configuration paired with g: the same configuration key but
 * for the engine; NULL if that engine did not run it */
static cfg *paired_cfg(const report *rp, const cfg *g, int eng)
{
    for (size_t i = 0; i < rp->ncfgs; i++)
        if (rp->cfgs[i].eng == eng && !strcmp(rp->cfgs[i].pair, g->pair)) return &rp->cfgs[i];
    return NULL;
}

/* configurations of a slice that ran ok, by engine, strategy, then micro-batch */
static int cmp_cfg_ptr(const void *a, const void *b)
{
    const cfg *x = *(const cfg *const *)a, *y = *(const cfg *const *)b;
    if (x->eng != y->eng) return x->eng - y->eng;
    int sx = strategy_rank(x->strategy), sy = strategy_rank(y->strategy);
    if (sx != sy) return sx - sy;
    int s = strcmp(x->strategy, y->strategy);
    if (s) return s;
    if (x->mb != y->mb) return x->mb < y->mb ? -1 : 1;
    return x->k < y->k ? -1 : x->k > y->k;
}

static size_t slice_cfgs(const report *rp, slice s, const cfg **out)
{
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *g = &rp->cfgs[i];
        if (g->n_ok && !isnan(g->sps) && g->eb == s.eb && !strcmp(g->group, s.group)) out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

// ----------------------------------------------------------------------------
// figures: data files

typedef struct {
    const char *name;           /* file stem in plots/ and DIR/plots/ */
    const char *what;           /* caption's first sentence */
    char title[320];
    char caption[1280];
    char memlabel[160];         /* the memory axis' label where it is not the script's default */
    int engines;                /* series of several engines: the key goes outside the plot */
    char missing[256];          /* why it was not drawn */
    sbuf data;
    int npoints;                /* plotted points, 0: nothing to draw */
    int drawn;
} figure;

enum { FIG_MEMORY, FIG_THROUGHPUT, FIG_PARETO, FIG_PHASES, FIG_RATIO, FIG_TIMELINE, FIG_COUNT };

/* retain in warm colours, accumulate in cool ones, full black; one point
 * shape per micro-batch (filled for retain, open for accumulate). A second
 * engine (torch) keeps its strategy's colours and draws dash-dot lines with
 * * (retain, full) and + (accumulate) marks. */
static const unsigned retain_rgb[] = {0xd55e00, 0xe69f00, 0xcc79a7, 0x8b2500, 0xb8860b, 0xa0522d};
static const unsigned accum_rgb[] = {0x0072b2, 0x56b4e9, 0x009e73, 0x1a237e, 0x00838f, 0x5e8c31};
static const unsigned other_rgb[] = {0x000000, 0xd55e00, 0x0072b2, 0x7f7f7f};
static const int filled_pt[] = {7, 5, 9, 13, 11, 15};
static const int open_pt[] = {6, 4, 8, 12, 10, 14};
#define NSTYLE 6
#define ENGINE_DT 4             /* gnuplot dash type of every engine but the primary: dash-dot */

static unsigned strategy_rgb(const char *s, int i)
{
    if (!strcmp(s, "retain")) return retain_rgb[i % NSTYLE];
    if (!strcmp(s, "accumulate")) return accum_rgb[i % NSTYLE];
    return other_rgb[strategy_rank(s)];
}

static int strategy_pt(const char *s, int i)
{
    return !strcmp(s, "accumulate") ? open_pt[i % NSTYLE] : filled_pt[i % NSTYLE];
}

static int series_pt(const char *s, int i, int eng)
{
    if (eng) return !strcmp(s, "accumulate") ? 1 : 3;
    return strategy_pt(s, i);
}

static int series_dt(int eng) { return eng ? ENGINE_DT : 1; }

/* a series' title: `what`, and with several engines in the results the
 * engine before it and, where it draws RSS growth, " (RSS Δ)" after */
static void series_title(const report *rp, char *out, size_t len, int eng, const char *what, int rss)
{
    if (rp->nengines > 1) snprintf(out, len, "%s %s%s", rp->engines[eng], what, rss ? " (RSS Δ)" : "");
    else snprintf(out, len, "%s%s", what, rss ? " (RSS Δ)" : "");
}

/* the caption's sentences on engines: their styles, and which memory
 * figure each draws */
static void engines_caption(const report *rp, char *out, size_t len, int lines, int mem, int rss)
{
    out[0] = '\0';
    if (rp->nengines < 2) return;
    char others[160] = "";
    size_t n = 0;
    for (int e = 1; e < rp->nengines && n < sizeof others; e++)
        n += (size_t)snprintf(others + n, sizeof others - n, "%s%s", e > 1 ? ", " : "", rp->engines[e]);
    snprintf(out, len, " Engines: %s %s; %s %s* (retain, full) and + (accumulate) marks; colours by strategy.",
             rp->engines[0], lines ? "in solid lines with filled and open marks" : "with filled and open marks",
             others, lines ? "in dash-dot lines with " : "with ");
    if (mem && !rss) {
        n = strlen(out);
        snprintf(out + n, len - n, " On a GPU, torch's memory is its allocator's peak (mem_tracked_bytes: "
                                   "torch.cuda.max_memory_allocated, less the data).");
    }
    if (rss) {
        n = strlen(out);
        snprintf(out + n, len - n,
                 " Series marked RSS Δ draw rss_delta_bytes (the growth of the process's peak resident set), "
                 "since that engine tracks no bytes on the CPU: it also counts allocator caches and library "
                 "buffers, so it is not the same figure as a tracked peak.");
    }
}

static void sb_num(sbuf *b, double v)
{
    if (isnan(v)) sb_str(b, " NaN");
    else sb_printf(b, " %.9g", v);
}

/* distinct micro-batches of a group's retain/accumulate configurations,
 * ascending; all_engines: of the group's model in every engine */
static size_t group_micro_batches(const report *rp, const char *group, int all_engines, long long *mbs, size_t cap)
{
    const char *pgroup = group_rep(rp, group)->pgroup;
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *g = &rp->cfgs[i];
        if (!is_ra(g) || (!g->n_ok && !g->n_oom)) continue;
        if (all_engines ? strcmp(g->pgroup, pgroup) : strcmp(g->group, group)) continue;
        size_t j = 0;
        while (j < n && mbs[j] != g->mb) j++;
        if (j == n && n < cap) mbs[n++] = g->mb;
    }
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && mbs[j - 1] > mbs[j]; j--) {
            long long t = mbs[j];
            mbs[j] = mbs[j - 1];
            mbs[j - 1] = t;
        }
    return n;
}

/* the groups a figure draws for the primary engine's group: it, then each
 * other engine's group of the same model and setting */
static int engine_groups(const report *rp, const char *group, const char **out)
{
    const char *pgroup = group_rep(rp, group)->pgroup;
    int n = 0;
    out[n++] = group;
    for (int e = 1; e < rp->nengines; e++)
        for (size_t i = 0; i < rp->ncfgs; i++) {
            const cfg *g = &rp->cfgs[i];
            if (g->eng == e && !strcmp(g->pgroup, pgroup)) {
                out[n++] = g->group;
                break;
            }
        }
    return n;
}

/* slice_cfgs over every engine's configurations of the slice's model */
static size_t slice_cfgs_all(const report *rp, slice s, const cfg **out)
{
    const char *pgroup = group_rep(rp, s.group)->pgroup;
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *g = &rp->cfgs[i];
        if (g->n_ok && !isnan(g->sps) && g->eb == s.eb && !strcmp(g->pgroup, pgroup)) out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

/* the configurations of (group, strategy, micro-batch), by iter_size */
static size_t series_cfgs(const report *rp, const char *group, const char *strategy, long long mb, const cfg **out)
{
    size_t n = 0;
    for (size_t i = 0; i < rp->ncfgs; i++) {
        const cfg *g = &rp->cfgs[i];
        if (g->mb == mb && !strcmp(g->strategy, strategy) && !strcmp(g->group, group) && (g->n_ok || g->n_oom))
            out[n++] = g;
    }
    qsort(out, n, sizeof *out, cmp_cfg_ptr);
    return n;
}

static const char *engines_and(const report *rp, char *out, size_t len)
{
    if (rp->nengines < 2) {
        out[0] = '\0';
        return out;
    }
    size_t n = (size_t)snprintf(out, len, ", %s", rp->engines[0]);
    for (int e = 1; e < rp->nengines && n < len; e++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", e + 1 == rp->nengines ? " and " : ", ", rp->engines[e]);
    return out;
}

static void fig_memory(report *rp, figure *f, const char *group, const cfg **buf)
{
    const char *groups[MAX_ENGINES];
    int ng = engine_groups(rp, group, groups);
    long long mbs[64];
    size_t nmb = group_micro_batches(rp, group, 1, mbs, 64);
    static const char *strategies[] = {"retain", "accumulate"};
    int noom = 0, blocks = 0, any_rss = 0;
    for (int e = 0; e < ng; e++) {
        int eng = group_rep(rp, groups[e])->eng;
        for (int s = 0; s < 2; s++)
            for (size_t m = 0; m < nmb; m++) {
                size_t n = series_cfgs(rp, groups[e], strategies[s], mbs[m], buf);
                if (!n) continue;
                int rss = 0;
                for (size_t i = 0; i < n; i++) rss |= buf[i]->n_ok && buf[i]->mem_fig_rss;
                any_rss |= rss;
                char what[64], title[160];
                snprintf(what, sizeof what, "%s, micro-batch %lld", strategies[s], mbs[m]);
                series_title(rp, title, sizeof title, eng, what, rss);
                sb_printf(&f->data, "%s# series: %s\n", blocks++ ? "\n\n" : "", title);
                sb_printf(&f->data, "iter_size \"%s\" analytic_MiB oom_MiB is_oom rgb point dash\n", title);
                for (size_t i = 0; i < n; i++) {
                    const cfg *g = buf[i];
                    int oom = !g->n_ok && g->n_oom;
                    double measured = oom ? NAN : g->mem_fig / MIB;
                    sb_printf(&f->data, "%lld", g->k);
                    sb_num(&f->data, measured);
                    sb_num(&f->data, g->analytic / MIB);
                    sb_num(&f->data, oom ? (isnan(g->analytic) ? 0.0 : g->analytic / MIB) : NAN);
                    sb_printf(&f->data, " %d %u %d %d\n", oom, strategy_rgb(strategies[s], (int)m),
                              series_pt(strategies[s], (int)m, eng), series_dt(eng));
                    f->npoints += !isnan(measured);
                    noom += oom;
                }
                f->engines |= eng > 0;
            }
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 1, any_rss);
    const char *label = group_rep(rp, group)->label;
    snprintf(f->title, sizeof f->title, "Peak %smemory vs iter_size%s: %s", any_rss ? "" : "tracked ",
             engines_and(rp, and, sizeof and), label);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel, "peak memory (MiB): tracked; RSS growth where marked RSS Δ");
    snprintf(f->caption, sizeof f->caption,
             "%s Solid: the tracked high-water (mem_tracked_bytes); dashed: the analytic model "
             "(mem_analytic_bytes)%s. Model: %s (the one with the largest retain/accumulate peak ratio).%s",
             f->what, noom ? "; crosses: configurations that ran out of memory, drawn at their analytic need" : "",
             label, eng_text);
}

static void fig_ratio(report *rp, figure *f, const char *group, const cfg **buf, const cfg **buf2)
{
    const char *groups[MAX_ENGINES];
    int ng = engine_groups(rp, group, groups);
    long long mbs[64];
    size_t nmb = group_micro_batches(rp, group, 1, mbs, 64);
    int blocks = 0, any_rss = 0;
    for (int e = 0; e < ng; e++) {
        int eng = group_rep(rp, groups[e])->eng;
        for (size_t m = 0; m < nmb; m++) {
            size_t nr = series_cfgs(rp, groups[e], "retain", mbs[m], buf);
            size_t na = series_cfgs(rp, groups[e], "accumulate", mbs[m], buf2);
            int header = 0;
            for (size_t i = 0; i < nr; i++)
                for (size_t j = 0; j < na; j++) {
                    const cfg *r = buf[i], *a = buf2[j];
                    /* one figure per pair: never RSS over a tracked peak */
                    if (r->k != a->k || isnan(r->mem_fig) || isnan(a->mem_fig) || a->mem_fig <= 0 ||
                        r->mem_fig_rss != a->mem_fig_rss)
                        continue;
                    if (!header++) {
                        char what[64], title[160];
                        snprintf(what, sizeof what, "micro-batch %lld", mbs[m]);
                        series_title(rp, title, sizeof title, eng, what, r->mem_fig_rss);
                        any_rss |= r->mem_fig_rss;
                        sb_printf(&f->data, "%s# series: %s\n", blocks++ ? "\n\n" : "", title);
                        sb_printf(&f->data, "iter_size \"%s\" analytic_ratio rgb point dash\n", title);
                    }
                    double ar = !isnan(r->analytic) && !isnan(a->analytic) && a->analytic > 0
                                    ? r->analytic / a->analytic
                                    : NAN;
                    sb_printf(&f->data, "%lld", r->k);
                    sb_num(&f->data, r->mem_fig / a->mem_fig);
                    sb_num(&f->data, ar);
                    sb_printf(&f->data, " %u %d %d\n", strategy_rgb("retain", (int)m),
                              series_pt("retain", (int)m, eng), series_dt(eng));
                    f->npoints++;
                    f->engines |= eng > 0;
                }
        }
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 1, any_rss);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel,
                 "retain peak / accumulate peak (tracked bytes; RSS growth where marked RSS Δ)");
    snprintf(f->title, sizeof f->title, "Peak memory ratio retain / accumulate%s: %s", engines_and(rp, and, sizeof and),
             group_rep(rp, group)->label);
    snprintf(f->caption, sizeof f->caption,
             "%s Solid: measured tracked peaks; dashed: the analytic model. Model: %s.%s", f->what,
             group_rep(rp, group)->label, eng_text);
}

static void fig_throughput(report *rp, figure *f, slice s, const cfg **buf)
{
    size_t n = slice_cfgs_all(rp, s, buf);
    int blocks = 0;
    for (size_t i = 0; i < n; i++) {
        const cfg *g = buf[i];
        if (i == 0 || g->eng != buf[i - 1]->eng || strcmp(g->strategy, buf[i - 1]->strategy)) {
            char title[160];
            series_title(rp, title, sizeof title, g->eng, g->strategy, 0);
            sb_printf(&f->data, "%s# series: %s\n", blocks++ ? "\n\n" : "", title);
            sb_printf(&f->data, "micro_batch \"%s\" iter_size rgb point dash\n", title);
        }
        sb_printf(&f->data, "%lld", g->mb);
        sb_num(&f->data, g->sps);
        sb_printf(&f->data, " %lld %u %d %d\n", g->k, strategy_rgb(g->strategy, 0), series_pt(g->strategy, 0, g->eng),
                  series_dt(g->eng));
        f->npoints++;
        f->engines |= g->eng > 0;
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 1, 0, 0);
    const char *label = group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Throughput vs micro-batch at effective batch %lld%s: %s", s.eb,
             engines_and(rp, and, sizeof and), label);
    snprintf(f->caption, sizeof f->caption,
             "%s Median over repeats of samples/s. Effective batch %lld, %s: the slice with the most strategies "
             "and splits.%s",
             f->what, s.eb, label, eng_text);
}

static void fig_pareto(report *rp, figure *f, slice s, const cfg **buf)
{
    size_t n = slice_cfgs_all(rp, s, buf);
    int blocks = 0, any_rss = 0;
    const cfg *last = NULL;
    for (size_t i = 0; i < n; i++) {
        const cfg *g = buf[i];
        if (isnan(g->mem_fig)) continue;
        if (!last || g->eng != last->eng || strcmp(g->strategy, last->strategy)) {
            last = g;
            char title[160];
            series_title(rp, title, sizeof title, g->eng, g->strategy, g->mem_fig_rss);
            sb_printf(&f->data, "%s# series: %s\n", blocks++ ? "\n\n" : "", title);
            sb_printf(&f->data, "memory_MiB \"%s\" split rgb point\n", title);
        }
        any_rss |= g->mem_fig_rss;
        sb_printf(&f->data, "%.9g %.9g \"%lld×%lld\" %u %d\n", g->mem_fig / MIB, g->sps, g->mb, g->k,
                  strategy_rgb(g->strategy, 0), series_pt(g->strategy, 0, g->eng));
        f->npoints++;
    }
    if (!f->npoints) return;
    /* the Pareto front of the primary engine: less memory and more
     * samples/s are better; sort by memory (ties: faster first) and keep
     * each point faster than all before */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(buf[i]->mem_fig) && buf[i]->eng == 0) buf[m++] = buf[i];
    for (size_t i = 1; i < m; i++)
        for (size_t j = i; j > 0; j--) {
            const cfg *a = buf[j - 1], *b = buf[j];
            if (a->mem_fig < b->mem_fig || (a->mem_fig == b->mem_fig && a->sps >= b->sps)) break;
            buf[j - 1] = b;
            buf[j] = a;
        }
    sb_str(&f->data, "\n\n# series: Pareto front (no other point has less memory and more samples/s)\n");
    sb_printf(&f->data, "memory_MiB \"%s%sPareto front\" split\n", rp->nengines > 1 ? rp->engines[0] : "",
              rp->nengines > 1 ? " " : "");
    double best = -1;
    for (size_t i = 0; i < m; i++) {
        if (buf[i]->sps <= best) continue;
        best = buf[i]->sps;
        sb_printf(&f->data, "%.9g %.9g \"%s %lld×%lld\"\n", buf[i]->mem_fig / MIB, buf[i]->sps, buf[i]->strategy,
                  buf[i]->mb, buf[i]->k);
    }
    char eng_text[1024], and[160];
    engines_caption(rp, eng_text, sizeof eng_text, 0, 1, any_rss);
    if (any_rss)
        snprintf(f->memlabel, sizeof f->memlabel, "peak memory (MiB): tracked; RSS growth where marked RSS Δ");
    const char *label = group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Memory vs throughput at effective batch %lld%s: %s", s.eb,
             engines_and(rp, and, sizeof and), label);
    snprintf(f->caption, sizeof f->caption,
             "%s Each point is one split (micro-batch×iter_size); the line joins the Pareto front%s%s. "
             "Effective batch %lld, %s.%s",
             f->what, rp->nengines > 1 ? " of " : "", rp->nengines > 1 ? rp->engines[0] : "", s.eb, label, eng_text);
}

static void fig_phases(report *rp, figure *f, slice s, const cfg **buf)
{
    size_t n = slice_cfgs(rp, s, buf);
    int per_run = 0;
    sb_str(&f->data, "# series: time per step by phase (ms), one row per configuration\n");
    sb_str(&f->data, "configuration forward backward optimizer other\n");
    for (size_t i = 0; i < n; i++) {
        const cfg *g = buf[i];
        if (!g->has_kernels) continue;
        double steps = g->profiled_steps > 0 ? g->profiled_steps : 1;
        per_run |= g->profiled_steps <= 0;
        if (!strcmp(g->strategy, "full")) sb_printf(&f->data, "\"full %lld\"", g->mb);
        else sb_printf(&f->data, "\"%s %lld×%lld\"", g->strategy, g->mb, g->k);
        for (int p = 0; p < PH_COUNT; p++) sb_printf(&f->data, " %.9g", g->kernel_ns[phase_stack[p]] / steps * 1e-6);
        sb_str(&f->data, "\n");
        f->npoints++;
    }
    const char *label = group_rep(rp, s.group)->label;
    snprintf(f->title, sizeof f->title, "Kernel time per step by phase at effective batch %lld: %s", s.eb, label);
    snprintf(f->caption, sizeof f->caption,
             "%s Sum of kernel (CPU: op) times per %s, from kernels.csv; effective batch %lld, %s%s%s.", f->what,
             per_run ? "profiled run (steps.csv has no profiled steps to divide by)" : "profiled step", s.eb, label,
             rp->nengines > 1 ? "; engine " : "", rp->nengines > 1 ? rp->engines[0] : "");
}

static const char *phase_label(char *buf, size_t len, int phase, int mb)
{
    if (phase == PH_FORWARD) snprintf(buf, len, "F%d", mb);
    else if (phase == PH_BACKWARD) snprintf(buf, len, "B%d", mb);
    else if (phase == PH_OPTIMIZER) snprintf(buf, len, "opt");
    else snprintf(buf, len, "-");
    return buf;
}

static void timeline_blocks(figure *f, const timeline *tl, const char *what, const char *strategy, int first)
{
    const mem_event *v = tl->v;
    double t_end = tl->n ? v[tl->n - 1].t_ms : 0;
    sb_printf(&f->data, "%s# series: %s phases (start_ms end_ms phase label)\n", first ? "" : "\n\n", what);
    sb_printf(&f->data, "start_ms \"%s phases\" phase label\n", what);
    for (size_t i = 0; i < tl->n;) {
        size_t j = i + 1;
        while (j < tl->n && v[j].phase == v[i].phase && v[j].micro_batch == v[i].micro_batch) j++;
        double t1 = j < tl->n ? v[j].t_ms : t_end;
        char lab[32];
        /* a label only where the span is wide enough to hold it */
        int wide = t_end > 0 && (t1 - v[i].t_ms) / t_end > 0.025;
        sb_printf(&f->data, "%.9g %.9g %d \"%s\"\n", v[i].t_ms, t1, (int)v[i].phase,
                  wide ? phase_label(lab, sizeof lab, v[i].phase, v[i].micro_batch) : "-");
        i = j;
    }
    sb_printf(&f->data, "\n\n# series: %s live bytes (time_ms MiB)\n", what);
    sb_printf(&f->data, "time_ms \"%s\"\n", strategy);
    for (size_t i = 0; i < tl->n; i++) sb_printf(&f->data, "%.9g %.9g\n", v[i].t_ms, v[i].mib);
    f->npoints += (int)tl->n;
}

// ----------------------------------------------------------------------------
// gnuplot

static int find_plots_dir(char *out, size_t len)
{
    const char *env = getenv("ACCUMBENCH_PLOTS_DIR");
    char exe[PATH_MAX], test[PATH_MAX + 64];
    if (env && *env) {
        return fmt_into(out, len, "%s", env);
    }
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        static const char *rel[] = {"plots", "../plots", "../share/accumbench/plots"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
            if (fmt_into(test, sizeof test, "%s/%s/memory_vs_iter_size.gp", exe, rel[i]) == 0 &&
                access(test, R_OK) == 0)
                return fmt_into(out, len, "%s/%s", exe, rel[i]);
        }
    }
    /* the source tree the binary was built from, for build dirs elsewhere */
    if (fmt_into(test, sizeof test, "%s/plots/memory_vs_iter_size.gp", ACCUMBENCH_SOURCE_DIR) == 0 &&
        access(test, R_OK) == 0)
        return fmt_into(out, len, "%s/plots", ACCUMBENCH_SOURCE_DIR);
    if (access("plots/memory_vs_iter_size.gp", R_OK) == 0) {
        snprintf(out, len, "plots");
        return 0;
    }
    return -1;
}

static int gnuplot_on_path(void)
{
    const char *path = getenv("PATH");
    if (!path) return 0;
    char buf[PATH_MAX];
    while (*path) {
        size_t n = strcspn(path, ":");
        if (n > 0 && n + 9 < sizeof buf) {
            memcpy(buf, path, n);
            memcpy(buf + n, "/gnuplot", 9);
            if (access(buf, X_OK) == 0) return 1;
        }
        path += n + (path[n] == ':');
    }
    return 0;
}

/* appends s as a gnuplot single-quoted string ('' stands for ') */
static void sb_gp_string(sbuf *b, const char *s)
{
    sb_str(b, "'");
    for (; *s; s++) {
        if (*s == '\'') sb_str(b, "''");
        else sb_put(b, s, 1);
    }
    sb_str(b, "'");
}

/* 0 ok; -1 failed (log in log_path) */
static int run_gnuplot(const char *script, const char *expr, const char *log_path)
{
    posix_spawn_file_actions_t fa;
    if (posix_spawn_file_actions_init(&fa)) return -1;
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    char *argv[] = {(char *)"gnuplot", (char *)"-e", (char *)expr, (char *)script, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc) {
        errno = rc;
        return -1;
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int file_nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

static void draw_figure(report *rp, figure *f, const char *plots_dir, const char *out_dir)
{
    char data[4200], script[4200], tmpbase[4200], log_path[4200], from[4300], to[4300];
    fmt_into(data, sizeof data, "%s/data/%s.dat", out_dir, f->name);
    fmt_into(script, sizeof script, "%s/%s.gp", plots_dir, f->name);
    fmt_into(tmpbase, sizeof tmpbase, "%s/.%s.tmp", out_dir, f->name);
    fmt_into(log_path, sizeof log_path, "%s/data/%s.log", out_dir, f->name);
    sbuf e = {0};
    sb_str(&e, "datafile=");
    sb_gp_string(&e, data);
    sb_str(&e, "; outbase=");
    sb_gp_string(&e, tmpbase);
    sb_str(&e, "; plottitle=");
    sb_gp_string(&e, f->title);
    if (f->memlabel[0]) {
        sb_str(&e, "; memlabel=");
        sb_gp_string(&e, f->memlabel);
    }
    if (f->engines) sb_str(&e, "; keyoutside=1");
    if (e.failed || run_gnuplot(script, e.s, log_path)) {
        snprintf(f->missing, sizeof f->missing, "gnuplot failed (see plots/data/%s.log)", f->name);
        cli_error("warning: %s: gnuplot failed on %s; its output is in %s", rp->dir, script, log_path);
        sb_free(&e);
        return;
    }
    sb_free(&e);
    static const char *ext[] = {"png", "svg"};
    for (int i = 0; i < 2; i++) {
        fmt_into(from, sizeof from, "%s.%s", tmpbase, ext[i]);
        fmt_into(to, sizeof to, "%s/%s.%s", out_dir, f->name, ext[i]);
        if (!file_nonempty(from) || rename(from, to) != 0) {
            snprintf(f->missing, sizeof f->missing, "gnuplot wrote no %s (see plots/data/%s.log)", ext[i], f->name);
            cli_error("warning: %s: %s: no %s written", rp->dir, script, ext[i]);
            unlink(from);
            return;
        }
    }
    f->drawn = 1;
}

// ----------------------------------------------------------------------------
// meta.json: every scalar as a row, by its dotted path (bench/jsonread.c)

static void meta_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    sbuf *h = user;
    sb_str(h, "<tr><th>");
    sb_html(h, path);
    sb_str(h, "</th><td>");
    sb_html(h, leaf->text ? leaf->text : "null");
    sb_str(h, "</td></tr>\n");
}

static void html_meta(report *rp, sbuf *h)
{
    char path[4200], err[512];
    if (fmt_into(path, sizeof path, "%s/meta.json", rp->dir) || access(path, F_OK) != 0) {
        sb_str(h, "<p>No meta.json in this directory.</p>\n");
        return;
    }
    jsonr_doc d;
    if (jsonr_read_file(&d, path, err, sizeof err) == 0) {
        sb_str(h, "<table class=\"meta\">\n");
        jsonr_leaves(&d, meta_leaf, h);
        sb_str(h, "</table>\n");
        jsonr_free(&d);
        return;
    }
    /* partial or malformed (a sweep still running, or killed): show its text */
    sb_str(h, "<p class=\"note\">meta.json is not complete JSON (");
    sb_html(h, err);
    sb_str(h, "); its text:</p>\n<pre>");
    FILE *f = fopen(path, "rb");
    char chunk[4096];
    size_t n, total = 0;
    while (f && total < META_MAX_BYTES && (n = fread(chunk, 1, sizeof chunk - 1, f)) > 0) {
        chunk[n] = '\0';
        total += n;
        sb_html(h, chunk);
    }
    if (f) fclose(f);
    sb_str(h, "</pre>\n");
}

// ----------------------------------------------------------------------------
// report.html

/* the SVG file, prolog dropped, ids prefixed so several can share a page;
 * gnuplot's own group ids (id="gnuplot_plot_N", repeated for an opaque key
 * and in each panel of a multiplot; nothing refers to them) also get a
 * serial number, so every id on the page is unique */
static int inline_svg(sbuf *h, const char *path, int fig)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    char *svg = malloc(SVG_MAX_BYTES + 1);
    size_t n = svg ? fread(svg, 1, SVG_MAX_BYTES + 1, f) : 0;
    fclose(f);
    if (!svg || n > SVG_MAX_BYTES) {
        free(svg);
        return -1;
    }
    svg[n] = '\0';
    const char *p = strstr(svg, "<svg");
    if (!p) {
        free(svg);
        return -1;
    }
    char prefix[16];
    snprintf(prefix, sizeof prefix, "f%d-", fig);
    static const char *marks[] = {"id='", "id=\"", "href='#", "href=\"#", "url(#"};
    int serial = 0;
    while (*p) {
        const char *next = NULL;
        size_t mark = 0;
        for (size_t m = 0; m < sizeof marks / sizeof marks[0]; m++) {
            const char *q = strstr(p, marks[m]);
            if (q && (!next || q < next)) {
                next = q;
                mark = m;
            }
        }
        if (!next) {
            sb_str(h, p);
            break;
        }
        size_t mlen = strlen(marks[mark]);
        sb_put(h, p, (size_t)(next - p) + mlen);
        sb_str(h, prefix);
        p = next + mlen;
        if (mark == 1 && !strncmp(p, "gnuplot_", 8)) {
            size_t vlen = strcspn(p, "\"");
            sb_put(h, p, vlen);
            sb_printf(h, "-%d", ++serial);
            p += vlen;
        }
    }
    free(svg);
    return 0;
}

static void html_num(sbuf *h, double v, const char *fmt)
{
    if (isnan(v)) sb_str(h, "<td></td>");
    else {
        sb_str(h, "<td class=\"n\">");
        sb_printf(h, fmt, v);
        sb_str(h, "</td>");
    }
}

static void html_results(report *rp, sbuf *h)
{
    int show[MEM_COUNT] = {0}, one_model = 1, show_grad = 0;
    for (size_t r = 0; r < rp->nrows; r++) {
        for (int m = 0; m < MEM_COUNT; m++) show[m] |= !isnan(rp->rows[r].mem[m]);
        show_grad |= !isnan(rp->rows[r].grad_rel_err);
        one_model &= !strcmp(rp->rows[r].pgroup, rp->rows[0].pgroup);
    }
    sb_str(h, "<p>Every row of results.csv");
    if (one_model) {
        sb_str(h, ", all of one model and setting: ");
        sb_html(h, rp->rows[0].label);
    }
    sb_str(h, ". Sizes in MiB (2<sup>20</sup> bytes); failed rows shaded.</p>\n<div class=\"wide\">\n");
    sb_str(h, "<table id=\"results\">\n<thead><tr><th>#</th><th>engine</th>");
    if (!one_model) sb_str(h, "<th>model</th>");
    sb_str(h, "<th>strategy</th><th>micro-batch</th>"
              "<th>iter_size</th><th>effective batch</th><th>repeat</th><th>status</th><th>timed steps</th>"
              "<th>step median ms</th><th>p10–p90 ms</th><th>samples/s</th>");
    for (int m = 0; m < MEM_COUNT; m++)
        if (show[m]) sb_printf(h, "<th>%s</th>", mem_titles[m]);
    if (show_grad) sb_str(h, "<th>grad_rel_err</th>");
    sb_str(h, "<th>error</th></tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < rp->nrows; r++) {
        const rrow *w = &rp->rows[r];
        sb_printf(h, "<tr class=\"%s\"><td class=\"n\">%zu</td><td>", strcmp(w->status, "ok") ? "bad" : "ok", r + 1);
        sb_html(h, w->engine);
        sb_str(h, "</td><td>");
        if (!one_model) {
            sb_html(h, w->label);
            sb_str(h, "</td><td>");
        }
        sb_html(h, w->strategy);
        sb_printf(h, "</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%lld</td>",
                  w->micro_batch, w->iter_size, w->effective_batch);
        if (w->repeat >= 0) sb_printf(h, "<td class=\"n\">%lld</td>", w->repeat);
        else sb_str(h, "<td></td>");
        sb_str(h, "<td>");
        sb_html(h, w->status);
        sb_str(h, "</td>");
        if (w->steps_timed >= 0) {
            sb_printf(h, "<td class=\"n\">%lld", w->steps_timed);
            if (*w->stop_reason) {
                sb_str(h, " (");
                sb_html(h, w->stop_reason);
                sb_str(h, ")");
            }
            sb_str(h, "</td>");
        } else {
            sb_str(h, "<td></td>");
        }
        html_num(h, w->step_median_ns * 1e-6, "%.3f");
        if (isnan(w->step_p10_ns) || isnan(w->step_p90_ns)) sb_str(h, "<td></td>");
        else sb_printf(h, "<td class=\"n\">%.3f–%.3f</td>", w->step_p10_ns * 1e-6, w->step_p90_ns * 1e-6);
        html_num(h, w->samples_per_s, "%.1f");
        for (int m = 0; m < MEM_COUNT; m++)
            if (show[m]) html_num(h, w->mem[m] / MIB, "%.2f");
        if (show_grad) html_num(h, w->grad_rel_err, "%.2e");
        sb_str(h, "<td class=\"err\">");
        sb_html(h, w->error);
        sb_str(h, "</td></tr>\n");
    }
    sb_str(h, "</tbody>\n</table>\n</div>\n");
}

static int cmp_kstat(const void *a, const void *b)
{
    const kstat *x = a, *y = b;
    return x->total_ns > y->total_ns ? -1 : x->total_ns < y->total_ns;
}

/* One table per strategy's split: each engine's top kernels (ops), the
 * primary engine's first; shares are of that engine's total. */
static void html_kernels(report *rp, sbuf *h, const cfg *const *top, size_t ntop)
{
    if (!rp->have_kernels) {
        sb_str(h, "<p>No kernels.csv in this directory.</p>\n");
        return;
    }
    if (!ntop) {
        sb_str(h, "<p>No configuration with kernel records.</p>\n");
        return;
    }
    for (size_t i = 0; i < ntop; i++) {
        const cfg *pick = top[i];
        sb_str(h, "<h3>");
        sb_html(h, pick->strategy);
        sb_printf(h, ": micro-batch %lld × iter_size %lld, ", pick->mb, pick->k);
        sb_html(h, pick->label);
        sb_printf(h, "</h3>\n<table class=\"kernels\"><thead><tr><th>engine</th><th>phase</th><th>kernel</th>"
                     "<th>calls/step</th><th>ms/step</th><th>mean µs</th><th>share</th></tr></thead>\n<tbody>\n");
        for (int e = 0; e < rp->nengines; e++) {
            cfg *g = e == 0 ? (cfg *)pick : paired_cfg(rp, pick, e);
            if (!g) continue;
            double steps = g->profiled_steps > 0 ? g->profiled_steps : 1, sum = 0;
            for (size_t k = 0; k < g->ntop; k++) sum += g->top[k].total_ns;
            qsort(g->top, g->ntop, sizeof *g->top, cmp_kstat);
            for (size_t k = 0; k < g->ntop && k < TOP_KERNELS; k++) {
                const kstat *s = &g->top[k];
                sb_str(h, "<tr><td>");
                sb_html(h, g->engine);
                sb_str(h, "</td><td>");
                sb_html(h, s->phase);
                sb_str(h, "</td><td><code>");
                sb_html(h, s->kernel);
                sb_printf(h, "</code></td><td class=\"n\">%.1f</td><td class=\"n\">%.3f</td><td class=\"n\">%.2f</td>"
                             "<td class=\"n\">%.1f%%</td></tr>\n",
                          s->calls / steps, s->total_ns / steps * 1e-6,
                          s->calls > 0 ? s->total_ns / s->calls * 1e-3 : 0, sum > 0 ? 100 * s->total_ns / sum : 0);
            }
        }
        sb_str(h, "</tbody></table>\n");
    }
}

static const char *html_style =
    "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}"
    "h1{font-size:1.6em}h2{border-bottom:1px solid #ccc;padding-bottom:4px;margin-top:1.6em}"
    "table{border-collapse:collapse;font-size:13px;margin:8px 0}"
    "th,td{border:1px solid #ccc;padding:3px 6px;text-align:left;vertical-align:top}"
    "th{background:#f0f0f0}td.n{text-align:right;font-variant-numeric:tabular-nums}"
    "tr.bad td{background:#fde8e8}table.meta th{background:#f7f7f7;font-weight:normal;color:#555}"
    "code{font-size:12px;word-break:break-all}figure{margin:16px 0}"
    "figure svg{max-width:100%;height:auto;border:1px solid #ddd}"
    "figcaption{font-size:14px;color:#444;max-width:1100px}.note{color:#8a4b00}"
    "div.wide{overflow-x:auto}td.err{min-width:18em;font-size:12px}";

// ----------------------------------------------------------------------------
// summary (markdown, and the same facts at the top of the HTML)

typedef struct {
    sbuf md, html;
} summary;

/* with several engines, the retain/accumulate and throughput summaries are
 * the primary engine's: say so */
static const char *engine_prefix(const report *rp)
{
    static char buf[96];
    if (rp->nengines < 2) return "";
    snprintf(buf, sizeof buf, "%s: ", rp->engines[0]);
    return buf;
}

static void summary_memory(report *rp, summary *s, const char *group, const cfg **buf, const cfg **buf2)
{
    long long mbs[64];
    size_t nmb = group ? group_micro_batches(rp, group, 0, mbs, 64) : 0;
    int rows = 0;
    for (size_t m = 0; m < nmb; m++) {
        size_t nr = series_cfgs(rp, group, "retain", mbs[m], buf);
        size_t na = series_cfgs(rp, group, "accumulate", mbs[m], buf2);
        const cfg *br = NULL, *ba = NULL;
        for (size_t i = 0; i < nr; i++)
            for (size_t j = 0; j < na; j++)
                if (buf[i]->k == buf2[j]->k && !isnan(buf[i]->tracked) && !isnan(buf2[j]->tracked) &&
                    buf2[j]->tracked > 0 && (!br || buf[i]->k > br->k))
                    br = buf[i], ba = buf2[j];
        if (!br) continue;
        if (!rows++) {
            sb_printf(&s->md, "## Peak memory: retain vs accumulate\n\n%s%s, tracked peak at the largest iter_size "
                              "where both ran:\n\n| micro-batch | iter_size | retain MiB | accumulate MiB | "
                              "retain / accumulate |\n|---:|---:|---:|---:|---:|\n",
                      engine_prefix(rp), br->label);
            sb_str(&s->html, "<h3>Peak memory: retain vs accumulate</h3>\n<p>");
            sb_html(&s->html, engine_prefix(rp));
            sb_html(&s->html, br->label);
            sb_str(&s->html, ", tracked peak at the largest iter_size where both ran:</p>\n<table class=\"summary\">"
                             "<tr><th>micro-batch</th><th>iter_size</th><th>retain MiB</th><th>accumulate MiB</th>"
                             "<th>retain / accumulate</th></tr>\n");
        }
        double ratio = br->tracked / ba->tracked;
        sb_printf(&s->md, "| %lld | %lld | %.2f | %.2f | %.3f |\n", br->mb, br->k, br->tracked / MIB,
                  ba->tracked / MIB, ratio);
        sb_printf(&s->html,
                  "<tr><td class=\"n\">%lld</td><td class=\"n\">%lld</td><td class=\"n\">%.2f</td>"
                  "<td class=\"n\">%.2f</td><td class=\"n\">%.3f</td></tr>\n",
                  br->mb, br->k, br->tracked / MIB, ba->tracked / MIB, ratio);
    }
    if (rows) {
        sb_str(&s->md, "\n");
        sb_str(&s->html, "</table>\n");
    } else {
        sb_str(&s->md, "No configuration ran under both retain and accumulate, so no memory ratio.\n\n");
        sb_str(&s->html, "<p>No configuration ran under both retain and accumulate, so no memory ratio.</p>\n");
    }
}

static void summary_throughput(report *rp, summary *s, slice sl, const cfg **buf)
{
    if (!sl.group) {
        sb_str(&s->md, "No configuration ran ok, so no throughput.\n");
        sb_str(&s->html, "<p>No configuration ran ok, so no throughput.</p>\n");
        return;
    }
    size_t n = slice_cfgs(rp, sl, buf);
    const char *label = group_rep(rp, sl.group)->label;
    sb_printf(&s->md, "## Throughput at effective batch %lld\n\n%s%s; the largest effective batch at which every "
                      "strategy ran; each strategy's fastest split:\n\n| strategy | micro-batch × iter_size | "
                      "samples/s | step ms | tracked MiB |\n|---|---:|---:|---:|---:|\n",
              sl.eb, engine_prefix(rp), label);
    sb_printf(&s->html, "<h3>Throughput at effective batch %lld</h3>\n<p>", sl.eb);
    sb_html(&s->html, engine_prefix(rp));
    sb_html(&s->html, label);
    sb_str(&s->html, "; the largest effective batch at which every strategy ran; each strategy's fastest split:</p>\n"
                     "<table class=\"summary\"><tr><th>strategy</th><th>micro-batch × iter_size</th>"
                     "<th>samples/s</th><th>step ms</th><th>tracked MiB</th></tr>\n");
    for (size_t i = 0; i < n;) {
        size_t j = i, best = i;
        for (; j < n && !strcmp(buf[j]->strategy, buf[i]->strategy); j++)
            if (buf[j]->sps > buf[best]->sps) best = j;
        const cfg *g = buf[best];
        sb_printf(&s->md, "| %s | %lld × %lld | %.1f | %.3f | %.2f |\n", g->strategy, g->mb, g->k, g->sps,
                  g->step_ns * 1e-6, g->tracked / MIB);
        sb_str(&s->html, "<tr><td>");
        sb_html(&s->html, g->strategy);
        sb_printf(&s->html,
                  "</td><td class=\"n\">%lld × %lld</td><td class=\"n\">%.1f</td><td class=\"n\">%.3f</td>"
                  "<td class=\"n\">%.2f</td></tr>\n",
                  g->mb, g->k, g->sps, g->step_ns * 1e-6, g->tracked / MIB);
        i = j;
    }
    sb_str(&s->md, "\n");
    sb_str(&s->html, "</table>\n");
}

/* a configuration's statuses over its repeats: "ok", "ok ×3", "2 ok, 1 oom" */
static void cfg_status(const report *rp, const cfg *g, char *out, size_t len)
{
    static const char *names[] = {"ok", "oom", "error", "crash", "timeout", "skipped", "other"};
    enum { NNAMES = sizeof names / sizeof names[0] };
    int count[NNAMES] = {0}, kinds = 0, last = 0;
    for (size_t r = g->first_row; r < rp->nrows; r++) {
        const rrow *w = &rp->rows[r];
        if (strcmp(w->config, g->config)) continue;
        int k = 0;
        while (k < NNAMES - 1 && strcmp(w->status, names[k])) k++;
        kinds += !count[k]++;
        last = k;
    }
    if (kinds == 1) {
        if (g->n > 1) snprintf(out, len, "%s ×%d", names[last], g->n);
        else snprintf(out, len, "%s", names[last]);
        return;
    }
    size_t n = 0;
    out[0] = '\0';
    for (int k = 0; k < NNAMES && n < len; k++)
        if (count[k]) n += (size_t)snprintf(out + n, len - n, "%s%d %s", n ? ", " : "", count[k], names[k]);
}

static void md_num(sbuf *b, double v, const char *fmt)
{
    sb_str(b, " ");
    if (!isnan(v)) sb_printf(b, fmt, v);
    sb_str(b, " |");
}

/* The side-by-side table: one row per configuration that both the primary
 * engine and another ran (the pairing key is the configuration key less
 * engine and repeat), in results order. Medians over ok repeats, as in the
 * figures; grad_rel_err is the largest over the other engine's repeats. */
static void summary_engines(report *rp, summary *s)
{
    for (int e = 1; e < rp->nengines; e++) {
        const char *an = rp->engines[0], *bn = rp->engines[e];
        size_t npairs = 0;
        for (size_t i = 0; i < rp->ncfgs; i++) npairs += !rp->cfgs[i].eng && paired_cfg(rp, &rp->cfgs[i], e);
        sb_printf(&s->md, "## %s vs %s\n\n", an, bn);
        sb_str(&s->html, "<h3>");
        sb_html(&s->html, an);
        sb_str(&s->html, " vs ");
        sb_html(&s->html, bn);
        sb_str(&s->html, "</h3>\n");
        if (!npairs) {
            sb_printf(&s->md, "No configuration ran under both %s and %s.\n\n", an, bn);
            sb_str(&s->html, "<p>No configuration ran under both engines.</p>\n");
            continue;
        }
        char intro[1536];
        snprintf(intro, sizeof intro,
                 "%zu configurations ran under both engines. Step: median step time over the ok repeats, and "
                 "%s / %s (below 1: %s is faster). Memory in MiB, the figure named in the memory column: on a "
                 "GPU (tracked / allocated) %s's tracked peak (mem_tracked_bytes) against %s's allocated peak "
                 "(its mem_tracked_bytes: torch.cuda.max_memory_allocated) and reserved peak "
                 "(mem_reserved_bytes); on the CPU (RSS Δ) the growth of each process's peak resident set "
                 "(rss_delta_bytes). grad_rel_err: max|g_%s − g_%s| / max|g_%s| over the parameters.",
                 npairs, an, bn, an, an, bn, bn, an, an);
        sb_printf(&s->md, "%s\n\n", intro);
        sb_str(&s->html, "<p>");
        sb_html(&s->html, intro);
        sb_str(&s->html, "</p>\n<div class=\"wide\">\n<table class=\"summary\" id=\"engines\"><thead><tr>");
        char cols[16][64];
        int nc = 0;
#define COLF(...) snprintf(cols[nc++], sizeof cols[0], __VA_ARGS__)
        COLF("model");
        COLF("strategy");
        COLF("micro-batch × iter_size");
        COLF("%s step ms", an);
        COLF("%s step ms", bn);
        COLF("step %s / %s", an, bn);
        COLF("%s samples/s", an);
        COLF("%s samples/s", bn);
        COLF("memory");
        COLF("%s MiB", an);
        COLF("%s MiB", bn);
        COLF("%s reserved MiB", bn);
        COLF("memory %s / %s", an, bn);
        COLF("%s grad_rel_err", bn);
        COLF("%s status", an);
        COLF("%s status", bn);
#undef COLF
        sb_str(&s->md, "|");
        for (int c = 0; c < nc; c++) {
            sb_printf(&s->md, " %s |", cols[c]);
            sb_str(&s->html, "<th>");
            sb_html(&s->html, cols[c]);
            sb_str(&s->html, "</th>");
        }
        sb_str(&s->md, "\n|---|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|---|\n");
        sb_str(&s->html, "</tr></thead>\n<tbody>\n");
        for (size_t i = 0; i < rp->ncfgs; i++) {
            const cfg *a = &rp->cfgs[i];
            const cfg *b = a->eng ? NULL : paired_cfg(rp, a, e);
            if (!b) continue;
            int gpu = !strcmp(a->backend, "cuda");
            double am = gpu ? a->tracked : a->rss, bm = gpu ? b->tracked : b->rss;
            double step_ratio = a->step_ns / b->step_ns, mem_ratio = am / bm;
            char split[64], sa[64], sbs[64];
            snprintf(split, sizeof split, "%lld × %lld", a->mb, a->k);
            cfg_status(rp, a, sa, sizeof sa);
            cfg_status(rp, b, sbs, sizeof sbs);
            const char *memfig = gpu ? "tracked / allocated" : "RSS Δ";
            sb_printf(&s->md, "| %s | %s | %s |", a->label, a->strategy, split);
            md_num(&s->md, a->step_ns * 1e-6, "%.4g");
            md_num(&s->md, b->step_ns * 1e-6, "%.4g");
            md_num(&s->md, step_ratio, "%.3g");
            md_num(&s->md, a->sps, "%.1f");
            md_num(&s->md, b->sps, "%.1f");
            sb_printf(&s->md, " %s |", memfig);
            md_num(&s->md, am / MIB, "%.2f");
            md_num(&s->md, bm / MIB, "%.2f");
            md_num(&s->md, gpu ? b->reserved / MIB : NAN, "%.2f");
            md_num(&s->md, mem_ratio, "%.3g");
            md_num(&s->md, b->grad_err, "%.2e");
            sb_printf(&s->md, " %s | %s |\n", sa, sbs);
            sb_printf(&s->html, "<tr class=\"%s\"><td>", a->n_ok && b->n_ok ? "ok" : "bad");
            sb_html(&s->html, a->label);
            sb_str(&s->html, "</td><td>");
            sb_html(&s->html, a->strategy);
            sb_printf(&s->html, "</td><td class=\"n\">%s</td>", split);
            html_num(&s->html, a->step_ns * 1e-6, "%.4g");
            html_num(&s->html, b->step_ns * 1e-6, "%.4g");
            html_num(&s->html, step_ratio, "%.3g");
            html_num(&s->html, a->sps, "%.1f");
            html_num(&s->html, b->sps, "%.1f");
            sb_printf(&s->html, "<td>%s</td>", memfig);
            html_num(&s->html, am / MIB, "%.2f");
            html_num(&s->html, bm / MIB, "%.2f");
            html_num(&s->html, gpu ? b->reserved / MIB : NAN, "%.2f");
            html_num(&s->html, mem_ratio, "%.3g");
            html_num(&s->html, b->grad_err, "%.2e");
            sb_str(&s->html, "<td>");
            sb_html(&s->html, sa);
            sb_str(&s->html, "</td><td>");
            sb_html(&s->html, sbs);
            sb_str(&s->html, "</td></tr>\n");
        }
        sb_str(&s->md, "\n");
        sb_str(&s->html, "</tbody>\n</table>\n</div>\n");
    }
}

// ----------------------------------------------------------------------------
// the command

static void report_free(report *rp)
{
    for (size_t i = 0; i < rp->nrows; i++) {
        free(rp->rows[i].config);
        free(rp->rows[i].group);
        free(rp->rows[i].pair);
        free(rp->rows[i].pgroup);
    }
    for (size_t i = 0; i < rp->ncfgs; i++) {
        for (size_t k = 0; k < rp->cfgs[i].ntop; k++) free(rp->cfgs[i].top[k].kernel);
        free(rp->cfgs[i].top);
    }
    free(rp->rows);
    free(rp->cfgs);
    strmap_free(&rp->cfg_by_key);
    csv_table_free(&rp->results);
}

static void report_usage(FILE *f)
{
    fputs("usage: accumbench report DIR\n\n"
          "Reads DIR/results.csv (and steps.csv, kernels.csv, memory.csv, meta.json when present), writes the\n"
          "figures' data to DIR/plots/data/, draws DIR/plots/*.png and *.svg with gnuplot (skipped with a\n"
          "warning when gnuplot is not installed), and writes DIR/report.html (one self-contained file) and\n"
          "DIR/summary.md. Exit 2 when DIR or a CSV in it is missing or malformed.\n",
          f);
}

int cmd_report(int argc, char **argv)
{
    if (argc == 3 && (!strcmp(argv[2], "--help") || !strcmp(argv[2], "-h"))) {
        report_usage(stdout);
        return CLI_EXIT_OK;
    }
    if (argc != 3 || argv[2][0] == '-') {
        cli_error("report: expects one argument, the results directory (accumbench report DIR)");
        return CLI_EXIT_USAGE;
    }
    report rp;
    memset(&rp, 0, sizeof rp);
    rp.dir = argv[2];
    rp.keys = key_column_names();
    if (strlen(rp.dir) > 3000) {
        cli_error("report: the directory's path is longer than 3000 bytes");
        return CLI_EXIT_USAGE;
    }
    struct stat st;
    if (stat(rp.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_error("report: %s: %s", rp.dir, stat(rp.dir, &st) != 0 ? strerror(errno) : "not a directory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    const cfg **buf = NULL, **buf2 = NULL;
    figure figs[FIG_COUNT] = {
        {.name = "memory_vs_iter_size",
         .what = "Peak memory against iter_size: retain keeps every micro-batch's activations until its backward, "
                 "accumulate frees them after each micro-batch."},
        {.name = "throughput_vs_micro_batch",
         .what = "Throughput against micro-batch size at one effective batch, one line per strategy."},
        {.name = "memory_vs_throughput", .what = "Peak tracked memory against throughput at one effective batch."},
        {.name = "kernel_phases", .what = "Kernel time per step, stacked by phase."},
        {.name = "peak_ratio", .what = "Ratio of retain's to accumulate's peak memory against iter_size."},
        {.name = "memory_timeline",
         .what = "Live tracked bytes through one step: retain piles up every micro-batch's activations (F1…Fk) "
                 "and releases them during the backwards (Bk…B1); accumulate returns to its base after each "
                 "micro-batch's backward."},
    };
    timeline tl[2] = {{NULL, -2, NULL, 0, 0}, {NULL, -2, NULL, 0, 0}};
    summary sm = {{0}, {0}};
    sbuf html = {0};

    if (load_results(&rp)) goto fail;
    buf = calloc(rp.ncfgs + 1, sizeof *buf);
    buf2 = calloc(rp.ncfgs + 1, sizeof *buf2);
    if (!buf || !buf2) {
        fmt_into(rp.err, sizeof rp.err, "out of memory");
        goto fail;
    }

    /* what each figure shows */
    const char *ra_group = pick_ra_group(&rp);
    slice sl = pick_slice(&rp, NULL, 0);
    slice common = pick_slice(&rp, ra_group, 1);
    if (!common.group) common = pick_slice(&rp, NULL, 1);
    /* the top-kernels tables: per strategy at the figures' slice, the split
     * with the most micro-batches */
    const cfg *top[8];
    size_t ntop = 0;
    if (sl.group) {
        size_t n = slice_cfgs(&rp, sl, buf);
        for (size_t i = 0; i < n && ntop < 8; i++)
            if (i == 0 || strcmp(buf[i]->strategy, buf[i - 1]->strategy)) {
                const cfg *pick = buf[i];
                for (size_t j = i; j < n && !strcmp(buf[j]->strategy, pick->strategy); j++)
                    if (buf[j]->k > pick->k) pick = buf[j];
                ((cfg *)pick)->want_top = 1;
                for (int e = 1; e < rp.nengines; e++) {
                    cfg *other = paired_cfg(&rp, pick, e);
                    if (other) other->want_top = 1;
                }
                top[ntop++] = pick;
            }
    }

    static const char *step_cols[] = {"kind"};
    static const char *kernel_cols[] = {"phase", "calls", "total_ns", "name"};
    static const char *memory_cols[] = {"time_ns", "bytes", "phase", "micro_batch"};
    int s1 = stream_rows(&rp, "steps.csv", step_cols, 1, on_step);
    int s2 = s1 < 0 ? -1 : stream_rows(&rp, "kernels.csv", kernel_cols, 4, on_kernel);
    int s3 = s2 < 0 ? -1 : stream_rows(&rp, "memory.csv", memory_cols, 4, on_memory_mark);
    if (s1 < 0 || s2 < 0 || s3 < 0) goto fail;
    rp.have_steps = s1 == 0;
    rp.have_kernels = s2 == 0;
    rp.have_memory = s3 == 0;
    char algos[4200];
    fmt_into(algos, sizeof algos, "%s/algos.csv", rp.dir);
    rp.have_algos = access(algos, F_OK) == 0;
    if (!rp.have_steps) note(&rp, "No steps.csv: kernel times are per profiled run, not per step.");
    if (!rp.have_kernels) note(&rp, "No kernels.csv: no kernel-phase figure and no top-kernels tables.");
    if (!rp.have_memory) note(&rp, "No memory.csv: no memory timeline.");
    if (rp.have_algos) note(&rp, "algos.csv (the convolution algorithms chosen) is not summarised here.");

    /* the timeline: a retain/accumulate pair of one split, largest iter_size */
    const cfg *pair[2] = {NULL, NULL};
    for (size_t i = 0; i < rp.ncfgs; i++) {
        const cfg *r = &rp.cfgs[i];
        if (r->eng || strcmp(r->strategy, "retain") || !r->has_memory) continue;
        for (size_t j = 0; j < rp.ncfgs; j++) {
            const cfg *a = &rp.cfgs[j];
            if (strcmp(a->strategy, "accumulate") || !a->has_memory || a->mb != r->mb || a->k != r->k ||
                strcmp(a->group, r->group))
                continue;
            int in_ra = ra_group && !strcmp(r->group, ra_group);
            int best_in_ra = pair[0] && ra_group && !strcmp(pair[0]->group, ra_group);
            if (!pair[0] || in_ra > best_in_ra ||
                (in_ra == best_in_ra && (r->k > pair[0]->k || (r->k == pair[0]->k && r->mb > pair[0]->mb))))
                pair[0] = r, pair[1] = a;
        }
    }
    if (pair[0]) {
        for (int i = 0; i < 2; i++) {
            tl[i].want = pair[i];
            rp.tl = &tl[i];
            if (stream_rows(&rp, "memory.csv", memory_cols, 4, on_memory_event) < 0) goto fail;
        }
    }

    /* data files */
    char out_dir[4200], data_dir[4300];
    fmt_into(out_dir, sizeof out_dir, "%s/plots", rp.dir);
    fmt_into(data_dir, sizeof data_dir, "%s/data", out_dir);
    if (files_mkdir_p(data_dir)) {
        fmt_into(rp.err, sizeof rp.err, "report: cannot create %s: %s", data_dir, strerror(errno));
        goto fail;
    }
    if (ra_group) {
        fig_memory(&rp, &figs[FIG_MEMORY], ra_group, buf);
        fig_ratio(&rp, &figs[FIG_RATIO], ra_group, buf, buf2);
    }
    if (sl.group) {
        fig_throughput(&rp, &figs[FIG_THROUGHPUT], sl, buf);
        fig_pareto(&rp, &figs[FIG_PARETO], sl, buf);
        if (rp.have_kernels) fig_phases(&rp, &figs[FIG_PHASES], sl, buf);
    }
    if (pair[0] && tl[0].n && tl[1].n) {
        figure *f = &figs[FIG_TIMELINE];
        char what[2][96];
        for (int i = 0; i < 2; i++)
            snprintf(what[i], sizeof what[i], "%s, micro-batch %lld × iter_size %lld", pair[i]->strategy,
                     pair[i]->mb, pair[i]->k);
        timeline_blocks(f, &tl[0], what[0], pair[0]->strategy, 1);
        timeline_blocks(f, &tl[1], what[1], pair[1]->strategy, 0);
        snprintf(f->title, sizeof f->title, "Live memory through one step, micro-batch %lld × iter_size %lld: %s",
                 pair[0]->mb, pair[0]->k, pair[0]->label);
        snprintf(f->caption, sizeof f->caption,
                 "%s Shading: forward (blue), backward (orange), optimizer (green), other (grey); from memory.csv "
                 "(one profiled step); the memory axis spans the step's own range, not from zero. %s.",
                 f->what, pair[0]->label);
    }
    static const char *why_empty[FIG_COUNT] = {
        "no retain or accumulate configuration ran",
        "no configuration ran ok",
        "no configuration ran ok with a tracked peak",
        "no kernel records for the configurations of the slice",
        "no split ran ok under both retain and accumulate",
        "memory.csv has no retain/accumulate pair of the same split",
    };
    char plots_dir[PATH_MAX];
    int have_plots_dir = find_plots_dir(plots_dir, sizeof plots_dir) == 0;
    int have_gnuplot = gnuplot_on_path();
    const char *skip_why = NULL;
    if (!have_gnuplot) skip_why = "gnuplot is not installed (Debian: gnuplot-nox)";
    else if (!have_plots_dir) skip_why = "the gnuplot scripts (plots/*.gp) were not found; set ACCUMBENCH_PLOTS_DIR";
    if (skip_why) cli_error("warning: %s: plots skipped: %s; the report is written without them", rp.dir, skip_why);
    int ndrawn = 0;
    for (int i = 0; i < FIG_COUNT; i++) {
        figure *f = &figs[i];
        char data[4400], stale[4400];
        fmt_into(data, sizeof data, "%s/%s.dat", data_dir, f->name);
        if (!f->npoints) {
            snprintf(f->missing, sizeof f->missing, "%s", why_empty[i]);
            unlink(data);
        } else if (write_text_file(data, &f->data)) {
            fmt_into(rp.err, sizeof rp.err, "report: cannot write %s: %s", data, strerror(errno));
            goto fail;
        } else if (skip_why) {
            snprintf(f->missing, sizeof f->missing, "not drawn: %s", skip_why);
        } else {
            draw_figure(&rp, f, plots_dir, out_dir);
        }
        if (!f->drawn) {
            /* a redraw leaves no stale picture beside the new report */
            static const char *ext[] = {"png", "svg"};
            for (int e = 0; e < 2; e++) {
                fmt_into(stale, sizeof stale, "%s/%s.%s", out_dir, f->name, ext[e]);
                unlink(stale);
            }
        }
        ndrawn += f->drawn;
    }

    /* summary.md and the same at the top of the HTML */
    sb_printf(&sm.md, "# accumbench summary\n\nResults: `%s`: %zu rows, %zu configurations. Report: `report.html`; "
                      "plots: `plots/` (%d figures).\n\n",
              rp.dir, rp.nrows, rp.ncfgs, ndrawn);
    summary_memory(&rp, &sm, ra_group, buf, buf2);
    summary_throughput(&rp, &sm, common, buf);
    summary_engines(&rp, &sm);
    char path[4300];
    fmt_into(path, sizeof path, "%s/summary.md", rp.dir);
    if (write_text_file(path, &sm.md)) {
        fmt_into(rp.err, sizeof rp.err, "report: cannot write %s: %s", path, strerror(errno));
        goto fail;
    }

    /* report.html */
    size_t status_n[6] = {0};
    static const char *statuses[6] = {"ok", "oom", "error", "crash", "timeout", "skipped"};
    for (size_t r = 0; r < rp.nrows; r++)
        for (int s = 0; s < 6; s++) status_n[s] += !strcmp(rp.rows[r].status, statuses[s]);
    sb_str(&html, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>accumbench report: ");
    sb_html(&html, rp.dir);
    sb_printf(&html, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>accumbench report</h1>\n<p>Results <code>",
              html_style);
    sb_html(&html, rp.dir);
    sb_printf(&html, "</code>: %zu rows (", rp.nrows);
    for (int s = 0, first = 1; s < 6; s++)
        if (status_n[s]) sb_printf(&html, "%s%zu %s", first ? "" : ", ", status_n[s], statuses[s]), first = 0;
    sb_printf(&html, "), %zu configurations.</p>\n<h2>Summary</h2>\n", rp.ncfgs);
    if (sm.html.s) sb_str(&html, sm.html.s);
    sb_str(&html, "<h2>Run</h2>\n");
    html_meta(&rp, &html);
    sb_printf(&html, "<h2>Plots</h2>\n");
    if (skip_why) {
        sb_str(&html, "<p class=\"note\">Plots were not drawn: ");
        sb_html(&html, skip_why);
        sb_str(&html, ". Their data files are in plots/data/; run <code>accumbench report</code> again where gnuplot "
                      "is installed.</p>\n");
    }
    for (int i = 0, n = 0; i < FIG_COUNT; i++) {
        figure *f = &figs[i];
        char svg[4400];
        fmt_into(svg, sizeof svg, "%s/%s.svg", out_dir, f->name);
        if (f->drawn) {
            sb_printf(&html, "<figure id=\"fig-%s\">\n", f->name);
            if (inline_svg(&html, svg, i + 1)) {
                sb_str(&html, "<p class=\"note\">The SVG could not be read back.</p>");
            }
            sb_printf(&html, "\n<figcaption>Figure %d (plots/%s.png, .svg). ", ++n, f->name);
            sb_html(&html, f->caption);
            sb_str(&html, "</figcaption>\n</figure>\n");
        } else {
            sb_printf(&html, "<p class=\"note\">Not drawn: %s: ", f->name);
            sb_html(&html, f->missing);
            sb_str(&html, ".</p>\n");
        }
    }
    sb_str(&html, "<h2>Results</h2>\n");
    html_results(&rp, &html);
    sb_str(&html, "<h2>Top kernels</h2>\n");
    if (sl.group) sb_printf(&html, "<p>Top %d by total time, at effective batch %lld, for each strategy's split with "
                                   "the most micro-batches%s.</p>\n",
                            TOP_KERNELS, sl.eb,
                            rp.nengines > 1 ? ", per engine (share: of that engine's kernel time)" : "");
    html_kernels(&rp, &html, top, ntop);
    if (rp.nnotes) {
        sb_str(&html, "<h2>Notes</h2>\n<ul>\n");
        for (int i = 0; i < rp.nnotes; i++) {
            sb_str(&html, "<li>");
            sb_html(&html, rp.notes[i]);
            sb_str(&html, "</li>\n");
        }
        sb_str(&html, "</ul>\n");
    }
    sb_str(&html, "</body>\n</html>\n");
    fmt_into(path, sizeof path, "%s/report.html", rp.dir);
    if (write_text_file(path, &html)) {
        fmt_into(rp.err, sizeof rp.err, "report: cannot write %s: %s", path, strerror(errno));
        goto fail;
    }
    printf("accumbench report: %d figures in %s (PNG and SVG)%s; %s/report.html, %s/summary.md\n", ndrawn, out_dir,
           skip_why ? ", plots skipped" : "", rp.dir, rp.dir);
    rc = CLI_EXIT_OK;
    goto done;
fail:
    cli_error("%s", rp.err);
done:
    for (int i = 0; i < FIG_COUNT; i++) sb_free(&figs[i].data);
    free(tl[0].v);
    free(tl[1].v);
    sb_free(&sm.md);
    sb_free(&sm.html);
    sb_free(&html);
    free(buf);
    free(buf2);
    report_free(&rp);
    return rc;
}
