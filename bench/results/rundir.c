/* bench/results/rundir.c — see rundir.h. Two passes over results.csv (configurations
 * and repeats, then per-configuration medians), one streaming pass over
 * steps.csv (which can be large) matching each timed row to its results row
 * by the full key, repeat included. */
#include "rundir.h"
#include "grow.h"
#include "stats.h"
#include "results.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define KEY_MAX RUNDIR_KEY_MAX
#define SEP_VALUE '\x1f'
#define SEP_REPEAT '\x1e'

const char *const rundir_mem_columns[RUNDIR_MEM_N] = {"mem_tracked_bytes", "mem_analytic_bytes", "mem_device_bytes",
                                                     "mem_driver_bytes", "rss_delta_bytes"};
const int rundir_mem_deterministic[RUNDIR_MEM_N] = {1, 1, 0, 0, 0};

int rundir_mem_index(const char *column)
{
    for (int m = 0; m < RUNDIR_MEM_N; m++)
        if (!strcmp(rundir_mem_columns[m], column)) return m;
    return -1;
}

// ----------------------------------------------------------------------------
// keys

void rundir_canon(const char *cell, size_t len, char *out, size_t out_len)
{
    double v;
    if (csv_parse_double(cell, len, &v) == 0) {
        snprintf(out, out_len, "%.17g", v == 0 ? 0.0 : v);   /* -0 is 0 */
        return;
    }
    size_t n = len < out_len - 1 ? len : out_len - 1;
    memcpy(out, cell, n);
    out[n] = '\0';
}

/* joins the canonical cells of the key columns (repeat last, after its own
 * separator, when with_repeat); 0 ok, -1 too long */
static int join_key(const rundir *d, const char *const *cells, const size_t *lens, int with_repeat, char *out)
{
    size_t n = 0, joined = 0;
    char tmp[1024];
    out[0] = '\0';
    for (size_t i = 0; i < d->n_keys; i++) {
        if (i == d->repeat_key) continue;
        if (lens[i] >= sizeof tmp) return -1;
        rundir_canon(cells[i], lens[i], tmp, sizeof tmp);
        size_t l = strlen(tmp);
        if (n + l + 2 >= KEY_MAX) return -1;
        if (joined++) out[n++] = SEP_VALUE;     /* by count: a first value may be empty */
        memcpy(out + n, tmp, l);
        n += l;
        out[n] = '\0';
    }
    if (with_repeat) {
        size_t i = d->repeat_key;
        if (lens[i] >= sizeof tmp) return -1;
        rundir_canon(cells[i], lens[i], tmp, sizeof tmp);
        size_t l = strlen(tmp);
        if (n + l + 2 >= KEY_MAX) return -1;
        out[n++] = SEP_REPEAT;
        memcpy(out + n, tmp, l);
        out[n + l] = '\0';
    }
    return 0;
}

const char *rundir_absent_key_cell(const char *name)
{
    return !strcmp(name, "recompute") ? "none" : "";
}

int rundir_row_key(const rundir *d, const char *const *cells, const size_t *lens, char *out)
{
    return join_key(d, cells, lens, 0, out);
}

static void collect_key_name(void *user, const char *column, const char *text, int is_text)
{
    (void)text;
    (void)is_text;
    rundir *d = user;
    if (d->n_keys < RUNDIR_MAX_KEYS) d->key_names[d->n_keys++] = column;
}

long rundir_key_index(const rundir *d, const char *name)
{
    for (size_t i = 0; i < d->n_keys; i++)
        if (!strcmp(d->key_names[i], name)) return (long)i;
    return -1;
}

long rundir_find(const rundir *d, const char *key)
{
    size_t i;
    return strmap_get(&d->by_key, key, &i) ? (long)i : -1;
}

void rundir_config_name(const rundir *d, const rundir_config *c, char *buf, size_t len)
{
    static const char *const first[] = {"model", "strategy"};
    static const char *const split[] = {"micro_batch", "iter_size", "effective_batch", "last_micro_batch"};
    size_t n = 0;
    buf[0] = '\0';
#define PUT(...)                                                        \
    do {                                                                \
        int w_ = snprintf(buf + n, len - n, __VA_ARGS__);               \
        if (w_ > 0) n = (size_t)w_ < len - n ? n + (size_t)w_ : len - 1; \
    } while (0)
    for (size_t k = 0; k < 2; k++) {
        long i = rundir_key_index(d, first[k]);
        PUT("%s%s", n ? "/" : "", i >= 0 && c->values[i][0] ? c->values[i] : "?");
    }
    for (size_t k = 0; k < 4; k++) {
        long i = rundir_key_index(d, split[k]);
        if (i >= 0 && c->values[i][0]) PUT("/%s:%s", split[k], c->values[i]);
    }
    for (size_t i = 0; i < d->n_keys; i++) {
        const char *name = d->key_names[i];
        /* a key at the value results had before it existed stays out of
         * the name: names of older configurations do not change */
        int skip = i == d->repeat_key || !strcmp(c->values[i], rundir_absent_key_cell(name));
        for (size_t k = 0; k < 2; k++) skip |= !strcmp(name, first[k]);
        for (size_t k = 0; k < 4; k++) skip |= !strcmp(name, split[k]);
        if (!skip) PUT("/%s:%s", name, c->values[i]);
    }
#undef PUT
}

// ----------------------------------------------------------------------------
// loading

static int add_config(rundir *d, const char *key, size_t row, char *err, size_t err_len)
{
    if (d->n_configs % 64 == 0) {
        rundir_config *v = realloc(d->configs, (d->n_configs + 64) * sizeof *v);
        if (!v) goto oom;
        d->configs = v;
    }
    rundir_config *c = &d->configs[d->n_configs];
    memset(c, 0, sizeof *c);
    c->first_row = row;
    c->step_median_ns = c->samples_per_s = c->throttled = NAN;
    for (int m = 0; m < RUNDIR_MEM_N; m++) c->mem[m] = NAN;
    size_t klen = strlen(key) + 1;
    c->key = malloc(klen);
    char *vals = malloc(klen);
    c->values = calloc(d->n_keys, sizeof *c->values);
    if (!c->key || !vals || !c->values) {
        free(c->key);
        free(vals);
        free(c->values);
        goto oom;
    }
    memcpy(c->key, key, klen);
    memcpy(vals, key, klen);
    c->values_text = vals;
    /* values[] point into vals, split at the separators; repeat gets "" */
    char *p = vals;
    for (size_t i = 0; i < d->n_keys; i++) {
        if (i == d->repeat_key) {
            c->values[i] = vals + klen - 1;
            continue;
        }
        c->values[i] = p;
        char *sep = strchr(p, SEP_VALUE);
        if (sep) {
            *sep = '\0';
            p = sep + 1;
        } else {
            p += strlen(p);
        }
    }
    if (strmap_put(&d->by_key, key, d->n_configs)) goto oom;
    d->n_configs++;
    return 0;
oom:
    snprintf(err, err_len, "%s: out of memory", d->results.name);
    return -1;
}

static int push_step(rundir_config *c, double ns)
{
    double *v = grow_for_one(c->steps, c->n_steps, &c->steps_cap, sizeof *v, 64);
    if (!v) return -1;
    c->steps = v;
    c->steps[c->n_steps++] = ns;
    return 0;
}

static int row_ok(const rundir *d, size_t row)
{
    const char *s = csv_get(&d->results, row, (size_t)d->status_col, NULL);
    return s && !strcmp(s, "ok");
}

/* a number cell; lenient: text that is not a number reads as absent */
static int get_num(const rundir *d, size_t row, const char *column, int lenient, double *out, char *err,
                   size_t err_len)
{
    long col = csv_column(&d->results, column, 0);
    *out = NAN;
    if (col < 0) return 0;
    size_t len;
    const char *s = csv_get(&d->results, row, (size_t)col, &len);
    double v;
    int rc = lenient ? csv_parse_double(s, len, &v) : csv_get_double(&d->results, row, col, &v, err, err_len);
    if (rc == 0) *out = v;
    return rc < 0 && !lenient ? -1 : 0;
}

static int read_steps(rundir *d, const strmap *rows, char *err, size_t err_len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/steps.csv", d->dir);
    csv_reader r;
    if (csv_reader_open_file(&r, path)) {
        snprintf(err, err_len, "%s", r.err);
        return -1;
    }
    long cols[RUNDIR_MAX_KEYS];
    for (size_t i = 0; i < d->n_keys; i++) cols[i] = csv_reader_column(&r, d->key_names[i], 0);
    long kind = csv_reader_column(&r, "kind", 0), step_ns = csv_reader_column(&r, "step_ns", 0);
    int rc = -1;
    char *key = malloc(KEY_MAX);
    if (!key) {
        snprintf(err, err_len, "%s: out of memory", path);
        goto done;
    }
    if (kind < 0 || step_ns < 0 || cols[d->repeat_key] < 0) {
        snprintf(err, err_len, "%s:1: no column '%s'", path,
                 kind < 0 ? "kind" : step_ns < 0 ? "step_ns" : "repeat");
        goto done;
    }
    for (;;) {
        int got = csv_reader_next(&r);
        if (got < 0) {
            snprintf(err, err_len, "%s", r.err);
            goto done;
        }
        if (got == 0) break;
        const char *k = csv_reader_field(&r, (size_t)kind, NULL);
        int profiled = !strcmp(k, "profiled");
        if (strcmp(k, "timed") != 0 && !profiled) continue;
        const char *cells[RUNDIR_MAX_KEYS];
        size_t lens[RUNDIR_MAX_KEYS];
        for (size_t i = 0; i < d->n_keys; i++) {
            cells[i] = cols[i] >= 0 ? csv_reader_field(&r, (size_t)cols[i], &lens[i])
                                    : rundir_absent_key_cell(d->key_names[i]);
            if (cols[i] < 0) lens[i] = strlen(cells[i]);
        }
        if (join_key(d, cells, lens, 1, key)) {
            snprintf(err, err_len, "%s:%zu: key columns longer than %d bytes", path, r.record_line, KEY_MAX);
            goto done;
        }
        size_t row;
        if (!strmap_get(rows, key, &row)) {
            d->steps_unmatched += !profiled;
            continue;
        }
        if (!row_ok(d, row)) continue;
        if (profiled) {
            d->configs[d->row_config[row]].n_profiled++;
            continue;
        }
        size_t len;
        const char *s = csv_reader_field(&r, (size_t)step_ns, &len);
        double ns;
        if (csv_parse_double(s, len, &ns) != 0) {
            snprintf(err, err_len, "%s:%zu: column 'step_ns': '%.40s' is not a number", path, r.record_line, s);
            goto done;
        }
        if (push_step(&d->configs[d->row_config[row]], ns)) {
            snprintf(err, err_len, "%s: out of memory", path);
            goto done;
        }
    }
    rc = 0;
done:
    free(key);
    csv_reader_close(&r);
    return rc;
}

/* min and max of v[0..n); NAN both when n == 0 */
static void range_of(const double *v, size_t n, double *lo, double *hi)
{
    *lo = *hi = NAN;
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || v[i] < *lo) *lo = v[i];
        if (i == 0 || v[i] > *hi) *hi = v[i];
    }
}

/* the machine's speed per round (rundir.h): one pass per round over the ok
 * rows; 0, -1 out of memory */
static int round_speeds(rundir *d)
{
    size_t nr = d->results.nrows, full = 0;
    long rcol = d->key_col[d->repeat_key];
    double *ratio = malloc((nr ? nr : 1) * sizeof *ratio), lo = NAN, hi = NAN;
    if (!ratio) return -1;
    d->n_rounds = 0;
    for (size_t round = 0; round < RUNDIR_MAX_ROUNDS && rcol >= 0; round++) {
        size_t n = 0;
        for (size_t r = 0; r < nr; r++) {
            double rep, x;
            const rundir_config *cf = &d->configs[d->row_config[r]];
            if (!row_ok(d, r) || csv_get_double(&d->results, r, rcol, &rep, NULL, 0) || rep != (double)round ||
                get_num(d, r, "step_median_ns", 1, &x, NULL, 0) || !(x > 0) || !(cf->step_median_ns > 0))
                continue;
            ratio[n++] = x / cf->step_median_ns;
        }
        if (n == 0) break;
        d->round_speed[d->n_rounds++] = stats_median(ratio, n);
        if (2 * n >= d->n_configs) {
            double v = d->round_speed[d->n_rounds - 1];
            if (!full++) lo = hi = v;
            else lo = fmin(lo, v), hi = fmax(hi, v);
        }
    }
    d->round_span = full >= 2 ? hi / lo : NAN;
    free(ratio);
    return 0;
}

/* per configuration, over its ok repeats: the repeat medians, medians and
 * ranges (see rundir.h) */
static int summarise(rundir *d, char *err, size_t err_len)
{
    size_t nr = d->results.nrows;
    double *v[2 + RUNDIR_MEM_N];
    for (size_t k = 0; k < 2 + RUNDIR_MEM_N; k++) v[k] = malloc((nr ? nr : 1) * sizeof(double));
    size_t *order = malloc((nr ? nr : 1) * sizeof *order), *start = calloc(d->n_configs + 1, sizeof *start);
    int rc = -1;
    for (size_t k = 0; k < 2 + RUNDIR_MEM_N; k++)
        if (!v[k]) goto oom;
    if (!order || !start) goto oom;
    /* rows grouped by configuration (counting sort, file order kept) */
    for (size_t r = 0; r < nr; r++) start[d->row_config[r] + 1]++;
    for (size_t c = 0; c < d->n_configs; c++) start[c + 1] += start[c];
    {
        size_t *fill = calloc(d->n_configs + 1, sizeof *fill);
        if (!fill) goto oom;
        for (size_t r = 0; r < nr; r++) {
            size_t c = d->row_config[r];
            order[start[c] + fill[c]++] = r;
        }
        free(fill);
    }
    for (size_t c = 0; c < d->n_configs; c++) {
        rundir_config *cf = &d->configs[c];
        size_t n[2 + RUNDIR_MEM_N] = {0};
        double throttled = 0;
        int any_throttled = 0;
        for (size_t j = start[c]; j < start[c + 1]; j++) {
            size_t r = order[j];
            if (!row_ok(d, r)) continue;
            double x;
            if (get_num(d, r, "step_median_ns", 0, &x, err, err_len)) goto done;
            if (!isnan(x)) v[0][n[0]++] = x;
            if (get_num(d, r, "samples_per_s", 0, &x, err, err_len)) goto done;
            if (!isnan(x)) v[1][n[1]++] = x;
            for (int m = 0; m < RUNDIR_MEM_N; m++) {
                int lenient = m == RUNDIR_MEM_DEVICE || m == RUNDIR_MEM_DRIVER;
                if (get_num(d, r, rundir_mem_columns[m], lenient, &x, err, err_len)) goto done;
                if (!isnan(x)) v[2 + m][n[2 + m]++] = x;
            }
            if (get_num(d, r, "steps_throttled", 1, &x, err, err_len)) goto done;
            if (!isnan(x)) {
                throttled += x;
                any_throttled = 1;
            }
        }
        if (n[0] && cf->n_steps == 0) {
            /* no timed rows in steps.csv: each repeat's median is one sample */
            for (size_t i = 0; i < n[0]; i++)
                if (push_step(cf, v[0][i])) goto oom;
            cf->steps_from_results = 1;
        }
        if (n[0]) {
            cf->repeat_step_ns = malloc(n[0] * sizeof(double));
            if (!cf->repeat_step_ns) goto oom;
            memcpy(cf->repeat_step_ns, v[0], n[0] * sizeof(double));
            cf->n_repeat_step = n[0];
        }
        range_of(v[0], n[0], &cf->step_min_ns, &cf->step_max_ns);
        for (int m = 0; m < RUNDIR_MEM_N; m++) {
            range_of(v[2 + m], n[2 + m], &cf->mem_min[m], &cf->mem_max[m]);
            cf->n_mem[m] = (int)n[2 + m];
        }
        cf->step_median_ns = stats_median(v[0], n[0]);
        cf->samples_per_s = stats_median(v[1], n[1]);
        for (int m = 0; m < RUNDIR_MEM_N; m++) cf->mem[m] = stats_median(v[2 + m], n[2 + m]);
        cf->throttled = any_throttled ? throttled : NAN;
    }
    rc = 0;
    goto done;
oom:
    snprintf(err, err_len, "%s: out of memory", d->results.name);
done:
    for (size_t k = 0; k < 2 + RUNDIR_MEM_N; k++) free(v[k]);
    free(order);
    free(start);
    return rc;
}

/* results.csv read and its columns found; 0 ok, -1 with err */
static int open_results(rundir *d, const char *path, char *err, size_t err_len)
{
    /* the key column names, from the writer itself */
    result_row proto;
    run_config zero;
    memset(&zero, 0, sizeof zero);
    result_init(&proto, &zero, "");
    result_key_columns(&proto, collect_key_name, d);
    long rk = rundir_key_index(d, "repeat");
    d->repeat_key = rk >= 0 ? (size_t)rk : d->n_keys;
    if (csv_table_read(&d->results, path, RUNDIR_MAX_CSV_BYTES, err, err_len)) return -1;
    for (size_t i = 0; i < d->n_keys; i++) d->key_col[i] = csv_column(&d->results, d->key_names[i], 0);
    d->status_col = csv_column(&d->results, "status", 0);
    static const char *const need[] = {"model", "strategy", "repeat"};
    for (size_t k = 0; k < 3; k++)
        if (d->key_col[rundir_key_index(d, need[k])] < 0) {
            snprintf(err, err_len, "%s:1: no column '%s'", path, need[k]);
            return -1;
        }
    if (d->status_col < 0) {
        snprintf(err, err_len, "%s:1: no column 'status'", path);
        return -1;
    }
    return 0;
}

/* counts row r (configuration c) as an ok repeat or its first failure */
static void count_status(rundir *d, size_t r, rundir_config *cf)
{
    cf->n_rows++;
    const char *status = csv_get(&d->results, r, (size_t)d->status_col, NULL);
    if (!strcmp(status, "ok")) {
        cf->n_ok++;
    } else if (!cf->fail_status[0]) {
        snprintf(cf->fail_status, sizeof cf->fail_status, "%s", status[0] ? status : "(empty)");
        long ec = csv_column(&d->results, "error", 0);
        const char *e = ec >= 0 ? csv_get(&d->results, r, (size_t)ec, NULL) : "";
        snprintf(cf->fail_error, sizeof cf->fail_error, "%s", e ? e : "");
    }
}

/* every results row to its configuration; rows maps each row's full key
 * (repeat included) to the row, for steps.csv. 0 ok, -1 with err */
static int group_rows(rundir *d, strmap *rows, const char *path, char *err, size_t err_len)
{
    size_t nr = d->results.nrows;
    char *key = malloc(KEY_MAX), *rkey = malloc(KEY_MAX);
    d->row_config = malloc((nr ? nr : 1) * sizeof *d->row_config);
    int rc = -1;
    if (!key || !rkey || !d->row_config) {
        snprintf(err, err_len, "%s: out of memory", path);
        goto done;
    }
    for (size_t r = 0; r < nr; r++) {
        const char *cells[RUNDIR_MAX_KEYS];
        size_t lens[RUNDIR_MAX_KEYS], other, c;
        for (size_t i = 0; i < d->n_keys; i++) {
            cells[i] = d->key_col[i] >= 0 ? csv_get(&d->results, r, (size_t)d->key_col[i], &lens[i])
                                          : rundir_absent_key_cell(d->key_names[i]);
            if (d->key_col[i] < 0) lens[i] = strlen(cells[i]);
        }
        if (join_key(d, cells, lens, 0, key) || join_key(d, cells, lens, 1, rkey)) {
            snprintf(err, err_len, "%s:%zu: key columns longer than %d bytes", path, csv_row_line(&d->results, r),
                     KEY_MAX);
            goto done;
        }
        if (strmap_get(rows, rkey, &other)) {
            snprintf(err, err_len, "%s:%zu: the same configuration and repeat as line %zu", path,
                     csv_row_line(&d->results, r), csv_row_line(&d->results, other));
            goto done;
        }
        if (strmap_put(rows, rkey, r)) {
            snprintf(err, err_len, "%s: out of memory", path);
            goto done;
        }
        if (!strmap_get(&d->by_key, key, &c)) {
            if (add_config(d, key, r, err, err_len)) goto done;
            c = d->n_configs - 1;
        }
        d->row_config[r] = c;
        count_status(d, r, &d->configs[c]);
    }
    rc = 0;
done:
    free(key);
    free(rkey);
    return rc;
}

/* meta.json, optional: why not in meta_note */
static void read_meta(rundir *d)
{
    char path[4200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/meta.json", d->dir);
    if (stat(path, &sb) != 0) {
        snprintf(d->meta_note, sizeof d->meta_note, "%.500s: missing", path);
    } else if (jsonr_read_file(&d->meta, path, d->meta_note, sizeof d->meta_note) == 0) {
        if (d->meta.nodes[0].type == JSONR_OBJECT) {
            d->have_meta = 1;
        } else {
            snprintf(d->meta_note, sizeof d->meta_note, "%.500s:1: not a JSON object", path);
            jsonr_free(&d->meta);
        }
    }
}

int rundir_load(rundir *d, const char *dir, int with_steps, char *err, size_t err_len)
{
    memset(d, 0, sizeof *d);
    strmap_init(&d->by_key);
    snprintf(d->dir, sizeof d->dir, "%s", dir);
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        snprintf(err, err_len, "%s/results.csv: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(err, err_len, "%s: not a directory", dir);
        return -1;
    }
    char path[4200];
    snprintf(path, sizeof path, "%s/results.csv", dir);
    strmap rows;
    strmap_init(&rows);
    int rc = open_results(d, path, err, err_len) || group_rows(d, &rows, path, err, err_len) ||
             (with_steps && read_steps(d, &rows, err, err_len)) || summarise(d, err, err_len);
    if (rc == 0 && round_speeds(d) != 0) {
        snprintf(err, err_len, "%s: out of memory", path);
        rc = -1;
    }
    strmap_free(&rows);
    if (rc) {
        rundir_free(d);
        return -1;
    }
    read_meta(d);
    return 0;
}

void rundir_free(rundir *d)
{
    for (size_t c = 0; c < d->n_configs; c++) {
        free(d->configs[c].key);
        free(d->configs[c].values_text);
        free(d->configs[c].values);
        free(d->configs[c].steps);
        free(d->configs[c].repeat_step_ns);
    }
    free(d->configs);
    free(d->row_config);
    csv_table_free(&d->results);
    strmap_free(&d->by_key);
    jsonr_free(&d->meta);
    d->configs = NULL;
    d->row_config = NULL;
    d->n_configs = 0;
}
