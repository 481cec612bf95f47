/* bench/cmd/export.c — `accumbench export --format gbench DIR [--out FILE]`:
 * a sweep directory as Google Benchmark JSON (the format of
 * --benchmark_out_format=json with --benchmark_repetitions), so dashboards
 * that ingest gbench results read ours and google/benchmark's
 * tools/compare.py runs its U test on the repeats.
 *
 * context: date, host_name, executable, num_cpus, mhz_per_cpu,
 * library_build_type, json_schema_version as gbench writes them — taken from
 * meta.json where it has them (start_utc, host, cpus_online, cpu.mhz, build
 * type), else from the machine running export — then every scalar of
 * meta.json as a string under its dotted path ("device.driver").
 *
 * benchmarks: per configuration (in order of first appearance), each repeat
 * as its own repetition, then, from 2 ok repeats, the aggregates gbench
 * writes (src/statistics.cc, json_reporter.cc). A repetition: name =
 * run_name = the configuration's stable name (rundir_config_name:
 * "mlp/accumulate/micro_batch:32/iter_size:4/…"); run_type "iteration";
 * repetitions = the configuration's rows; repetition_index = repeat − its
 * lowest repeat; family_index numbers the (model, strategy) pairs and
 * per_family_instance_index the configurations within one; threads 1;
 * iterations = steps_timed; real_time = step_median_ns; cpu_time =
 * host_ns_per_step (the host time to issue a step) where the row has it,
 * else real_time; time_unit "ns". A row with no step time (a failed one) gets
 * 0, as gbench writes for a skipped run; one whose status is not ok has
 * error_occurred true and error_message "status: error". Every other column
 * whose cell is a number is a counter (a top-level numeric key, as gbench
 * writes user counters). An aggregate: name "<run_name>_mean" (_median,
 * _stddev, _cv), run_type "aggregate", aggregate_name, aggregate_unit
 * ("time"; "percentage" for cv), iterations = the ok repeats, real_time,
 * cpu_time and every counter the statistic over the ok repeats. Doubles have
 * 17 significant digits; NaN/Inf are null. */
#include "cli.h"
#include "commands.h"
#include "files.h"
#include "jsonwrite.h"
#include "rundir.h"
#include "stats.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* first of the meta.json paths that holds a scalar */
static const char *meta_text(const rundir *d, const char *const *paths)
{
    if (!d->have_meta) return NULL;
    for (; *paths; paths++) {
        const char *t = jsonr_text(&d->meta, jsonr_path(&d->meta, *paths));
        if (t && *t) return t;
    }
    return NULL;
}

static double meta_number(const rundir *d, const char *const *paths)
{
    const char *t = meta_text(d, paths);
    double v;
    return t && csv_parse_double(t, strlen(t), &v) == 0 ? v : NAN;
}

static double local_mhz(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    double mhz = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "cpu MHz", 7)) {
            const char *c = strchr(line, ':');
            if (c) mhz = strtod(c + 1, NULL);
            break;
        }
    if (f) fclose(f);
    return mhz;
}

static const char *const gbench_context_keys[] = {"date", "host_name", "executable", "num_cpus", "mhz_per_cpu",
                                                  "caches", "load_avg", "library_build_type", "json_schema_version",
                                                  NULL};

typedef struct {
    FILE *f;
} leaf_ctx;

static void context_leaf(void *user, const char *path, const jsonr_node *leaf)
{
    leaf_ctx *c = user;
    if (leaf->type == JSONR_NULL) return;
    for (const char *const *k = gbench_context_keys; *k; k++)
        if (!strcmp(path, *k)) return;
    fputs(",\n    ", c->f);
    jsonw_key(c->f, path);
    jsonw_string(c->f, leaf->text);
}

static void write_context(const rundir *d, FILE *f)
{
    static const char *const date_paths[] = {"start_utc", "start_time", "time.start", "start", "date", "end_utc", NULL};
    static const char *const host_paths[] = {"host.name", "host.hostname", "hostname", "host", NULL};
    static const char *const exe_paths[] = {"executable", "build.executable", NULL};
    static const char *const cpus_paths[] = {"cpus_online", "cpu.count", "cpu.num_cpus", "cpu.logical_cpus",
                                             "cpu.cpus", "num_cpus", NULL};
    static const char *const mhz_paths[] = {"cpu.mhz", "cpu.mhz_per_cpu", "mhz_per_cpu", NULL};
    static const char *const type_paths[] = {"build.type", "build.build_type", "build_type", "build.cmake_build_type",
                                             NULL};
    char date[64], host[256];
    const char *t = meta_text(d, date_paths);
    if (t) {
        snprintf(date, sizeof date, "%s", t);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
    }
    t = meta_text(d, host_paths);
    if (t) snprintf(host, sizeof host, "%s", t);
    else if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "unknown");
    host[sizeof host - 1] = '\0';
    double cpus = meta_number(d, cpus_paths), mhz = meta_number(d, mhz_paths);
    if (isnan(cpus)) cpus = (double)sysconf(_SC_NPROCESSORS_ONLN);
    if (isnan(mhz)) mhz = local_mhz();
    char type[32] = "release";
    t = meta_text(d, type_paths);
    if (t) {
        snprintf(type, sizeof type, "%s", t);
        for (char *p = type; *p; p++) *p = (char)tolower((unsigned char)*p);
    }
    const char *exe = meta_text(d, exe_paths);
    fputs("  \"context\": {\n    ", f);
    jsonw_key(f, "date");
    jsonw_string(f, date);
    fputs(",\n    ", f);
    jsonw_key(f, "host_name");
    jsonw_string(f, host);
    fputs(",\n    ", f);
    jsonw_key(f, "executable");
    jsonw_string(f, exe ? exe : "accumbench");
    fprintf(f, ",\n    \"num_cpus\": %.0f,\n    \"mhz_per_cpu\": %.0f,\n    \"caches\": [],\n    \"load_avg\": [],\n    ",
            cpus > 0 ? cpus : 0, mhz > 0 ? mhz : 0);
    jsonw_key(f, "library_build_type");
    jsonw_string(f, type);
    fputs(",\n    \"json_schema_version\": 1", f);
    if (d->have_meta) {
        leaf_ctx c = {f};
        jsonr_leaves(&d->meta, context_leaf, &c);
    }
    fputs("\n  },\n", f);
}

static int is_key_column(const rundir *d, size_t col)
{
    for (size_t k = 0; k < d->n_keys; k++)
        if (d->key_col[k] == (long)col) return 1;
    return 0;
}

static double cell_number(const rundir *d, size_t row, const char *column)
{
    long col = csv_column(&d->results, column, 0);
    size_t len;
    const char *s = col >= 0 ? csv_get(&d->results, row, (size_t)col, &len) : NULL;
    double v;
    return s && csv_parse_double(s, len, &v) == 0 ? v : NAN;
}

static int row_ok(const rundir *d, size_t row)
{
    return !strcmp(csv_get(&d->results, row, (size_t)d->status_col, NULL), "ok");
}

// ----------------------------------------------------------------------------
// benchmarks

/* what every entry of one configuration shares */
typedef struct {
    const rundir *d;
    const char *name;
    size_t family, instance;
    const size_t *rows;         /* its results rows, file order */
    size_t n_rows;
    long error_col, stop_col;
} gb_config;

/* a column that becomes a counter: numeric, not a key, status or text */
static int is_counter_column(const gb_config *g, size_t col)
{
    return !is_key_column(g->d, col) && (long)col != g->d->status_col && (long)col != g->error_col &&
           (long)col != g->stop_col;
}

static void entry_head(const gb_config *g, FILE *f, const char *suffix, const char *run_type)
{
    char name[1100];
    snprintf(name, sizeof name, "%s%s", g->name, suffix);
    fputs("    {\n      ", f);
    jsonw_key(f, "name");
    jsonw_string(f, name);
    fprintf(f, ",\n      \"family_index\": %zu,\n      \"per_family_instance_index\": %zu,\n      ", g->family,
            g->instance);
    jsonw_key(f, "run_name");
    jsonw_string(f, g->name);
    fprintf(f, ",\n      \"run_type\": \"%s\",\n      \"repetitions\": %zu", run_type, g->n_rows);
}

static void entry_times(FILE *f, double iterations, double real, double cpu)
{
    fprintf(f, ",\n      \"iterations\": %.0f,\n      \"real_time\": ", iterations);
    jsonw_double(f, real);
    fputs(",\n      \"cpu_time\": ", f);
    jsonw_double(f, cpu);
    fputs(",\n      \"time_unit\": \"ns\"", f);
}

static void entry_counter(FILE *f, const char *column, double v)
{
    fputs(",\n      ", f);
    jsonw_key(f, column);
    jsonw_double(f, v);
}

/* the step time (real) and the host time to issue it (cpu, else real) */
static void row_times(const rundir *d, size_t row, double *real, double *cpu)
{
    *real = cell_number(d, row, "step_median_ns");
    *cpu = cell_number(d, row, "host_ns_per_step");
    if (isnan(*real)) *real = 0;
    if (isnan(*cpu)) *cpu = *real;
}

static void write_iteration(const gb_config *g, size_t j, double index, FILE *f)
{
    const rundir *d = g->d;
    size_t r = g->rows[j];
    entry_head(g, f, "", "iteration");
    fprintf(f, ",\n      \"repetition_index\": %.0f,\n      \"threads\": 1", index);
    const char *status = csv_get(&d->results, r, (size_t)d->status_col, NULL);
    if (strcmp(status, "ok") != 0) {
        char msg[600];
        const char *e = g->error_col >= 0 ? csv_get(&d->results, r, (size_t)g->error_col, NULL) : "";
        snprintf(msg, sizeof msg, "%s%s%s", status[0] ? status : "(no status)", e && e[0] ? ": " : "", e ? e : "");
        fputs(",\n      \"error_occurred\": true,\n      ", f);
        jsonw_key(f, "error_message");
        jsonw_string(f, msg);
    }
    double iters = cell_number(d, r, "steps_timed"), real, cpu;
    row_times(d, r, &real, &cpu);
    entry_times(f, isnan(iters) ? 0.0 : iters, real, cpu);
    for (size_t col = 0; col < d->results.ncols; col++) {
        size_t len;
        const char *s = csv_get(&d->results, r, col, &len);
        double v;
        if (is_counter_column(g, col) && s && csv_parse_double(s, len, &v) == 0)
            entry_counter(f, d->results.text + d->results.off[col], v);
    }
    fputs("\n    }", f);
}

/* google/benchmark's statistics (src/statistics.cc): the mean, the median
 * (the mean under 3 values), the sample standard deviation, and cv =
 * stddev / mean (0 under 2 values or a zero mean) */
typedef enum { AGG_MEAN, AGG_MEDIAN, AGG_STDDEV, AGG_CV, AGG_N } gb_aggregate;
static const char *const agg_names[AGG_N] = {"mean", "median", "stddev", "cv"};

static double aggregate(gb_aggregate a, double *v, size_t n)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    double mean = sum / (double)n;
    if (a == AGG_MEAN) return mean;
    if (a == AGG_MEDIAN) return n < 3 ? mean : stats_median(v, n);
    for (size_t i = 0; i < n; i++) sq += (v[i] - mean) * (v[i] - mean);
    double sd = n > 1 ? sqrt(sq / (double)(n - 1)) : 0.0;
    if (a == AGG_STDDEV) return sd;
    return n < 2 || mean == 0 ? 0.0 : sd / mean;
}

/* the statistic a of column col (a counter) over the ok rows that have it;
 * NAN when none */
static double column_aggregate(const gb_config *g, gb_aggregate a, size_t col, double *buf)
{
    size_t n = 0;
    for (size_t j = 0; j < g->n_rows; j++) {
        size_t len;
        const char *s = csv_get(&g->d->results, g->rows[j], col, &len);
        double v;
        if (row_ok(g->d, g->rows[j]) && s && csv_parse_double(s, len, &v) == 0) buf[n++] = v;
    }
    return n ? aggregate(a, buf, n) : NAN;
}

/* as google/benchmark: only with 2 or more successful repetitions */
static void write_aggregates(const gb_config *g, double *buf, FILE *f)
{
    size_t n_ok = 0;
    for (size_t j = 0; j < g->n_rows; j++) n_ok += row_ok(g->d, g->rows[j]);
    if (n_ok < 2) return;
    double *real = buf, *cpu = buf + g->n_rows, *scratch = buf + 2 * g->n_rows;
    for (gb_aggregate a = 0; a < AGG_N; a++) {
        /* read afresh for each statistic: the median sorts in place */
        size_t k = 0;
        for (size_t j = 0; j < g->n_rows; j++)
            if (row_ok(g->d, g->rows[j])) row_times(g->d, g->rows[j], &real[k], &cpu[k]), k++;
        char suffix[16];
        snprintf(suffix, sizeof suffix, "_%s", agg_names[a]);
        fputs(",\n", f);
        entry_head(g, f, suffix, "aggregate");
        fprintf(f, ",\n      \"threads\": 1,\n      \"aggregate_name\": \"%s\",\n      \"aggregate_unit\": \"%s\"",
                agg_names[a], a == AGG_CV ? "percentage" : "time");
        double r = aggregate(a, real, n_ok), c = aggregate(a, cpu, n_ok);
        entry_times(f, (double)n_ok, r, c);
        for (size_t col = 0; col < g->d->results.ncols; col++) {
            if (!is_counter_column(g, col)) continue;
            double v = column_aggregate(g, a, col, scratch);
            if (!isnan(v)) entry_counter(f, g->d->results.text + g->d->results.off[col], v);
        }
        fputs("\n    }", f);
    }
}

/* repetition_index: repeat − the configuration's lowest repeat, else the
 * row's position */
static void write_config(const gb_config *g, double *buf, FILE *f)
{
    double lowest = INFINITY;
    for (size_t j = 0; j < g->n_rows; j++) {
        double v = cell_number(g->d, g->rows[j], "repeat");
        if (!isnan(v) && v < lowest) lowest = v;
    }
    for (size_t j = 0; j < g->n_rows; j++) {
        double rep = cell_number(g->d, g->rows[j], "repeat");
        if (j) fputs(",\n", f);
        write_iteration(g, j, isnan(rep) || isinf(lowest) ? (double)j : rep - lowest, f);
    }
    write_aggregates(g, buf, f);
}

/* families: the (model, strategy) pairs in order of appearance; instances
 * number the configurations within one */
static int number_families(const rundir *d, size_t *family, size_t *instance)
{
    long mi = rundir_key_index(d, "model"), si = rundir_key_index(d, "strategy");
    size_t n_fam = 0, *count = calloc(d->n_configs ? d->n_configs : 1, sizeof *count);
    if (!count) return -1;
    for (size_t c = 0; c < d->n_configs; c++) {
        const rundir_config *cf = &d->configs[c];
        size_t j = 0;
        while (j < c && (strcmp(d->configs[j].values[mi], cf->values[mi]) ||
                         strcmp(d->configs[j].values[si], cf->values[si])))
            j++;
        family[c] = j < c ? family[j] : n_fam++;
        instance[c] = count[family[c]]++;
    }
    free(count);
    return 0;
}

/* each configuration's rows in file order, grouped: rows[start[c] ..
 * start[c + 1]); fill has room for n_configs counts */
static void group_rows(const rundir *d, size_t *rows, size_t *start, size_t *fill)
{
    size_t nc = d->n_configs, nr = d->results.nrows;
    memset(start, 0, (nc + 1) * sizeof *start);
    memset(fill, 0, (nc ? nc : 1) * sizeof *fill);
    for (size_t r = 0; r < nr; r++) start[d->row_config[r] + 1]++;
    for (size_t c = 0; c < nc; c++) start[c + 1] += start[c];
    for (size_t r = 0; r < nr; r++) {
        size_t c = d->row_config[r];
        rows[start[c] + fill[c]++] = r;
    }
}

static int write_gbench(FILE *f, void *user)
{
    const rundir *d = user;
    size_t nc = d->n_configs, nr = d->results.nrows, one = 1;
    size_t *family = calloc(nc + one, sizeof *family), *instance = calloc(nc + one, sizeof *instance);
    size_t *start = calloc(nc + one, sizeof *start), *fill = calloc(nc + one, sizeof *fill);
    size_t *rows = calloc(nr + one, sizeof *rows);
    double *buf = calloc(3 * nr + one, sizeof *buf);
    char *name = malloc(1024);
    int rc = -1;
    if (!family || !instance || !start || !fill || !rows || !buf || !name || number_families(d, family, instance))
        goto done;
    group_rows(d, rows, start, fill);
    fputs("{\n", f);
    write_context(d, f);
    fputs("  \"benchmarks\": [", f);
    for (size_t c = 0; c < nc; c++) {
        rundir_config_name(d, &d->configs[c], name, 1024);
        gb_config g = {d, name, family[c], instance[c], rows + start[c], start[c + 1] - start[c],
                       csv_column(&d->results, "error", 0), csv_column(&d->results, "stop_reason", 0)};
        fputs(c ? ",\n" : "\n", f);
        write_config(&g, buf, f);
    }
    fputs(nc ? "\n  ]\n}\n" : "]\n}\n", f);
    rc = 0;
done:
    free(family);
    free(instance);
    free(start);
    free(fill);
    free(rows);
    free(buf);
    free(name);
    return rc;
}

static void export_usage(FILE *f)
{
    fputs("usage: accumbench export --format gbench DIR [--out FILE]\n\n"
          "Writes the sweep directory DIR (results.csv, meta.json) as Google Benchmark JSON: each repeat of a\n"
          "configuration as one repetition (real_time = step_median_ns, cpu_time = host_ns_per_step,\n"
          "iterations = steps_timed, every other numeric column a counter), then its mean, median, stddev and\n"
          "cv aggregates, so google/benchmark's tools/compare.py can run its U test on two exports.\n"
          "--out FILE writes it atomically; default stdout.\n"
          "Exit status: 0 ok, 2 bad input.\n",
          f);
}

int cmd_export(int argc, char **argv)
{
    const char *format = "gbench", *out = NULL, *dir = NULL;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            export_usage(stdout);
            return CLI_EXIT_OK;
        }
        if (!strcmp(a, "--format") || !strcmp(a, "--out")) {
            if (i + 1 >= argc) {
                cli_error("export: %s needs a value", a);
                return CLI_EXIT_USAGE;
            }
            if (a[2] == 'f') format = argv[++i];
            else out = argv[++i];
        } else if (a[0] == '-' && a[1]) {
            cli_error("export: unknown flag '%s' (flags: --format gbench, --out FILE)", a);
            return CLI_EXIT_USAGE;
        } else if (!dir) {
            dir = a;
        } else {
            cli_error("export: more than one directory given ('%s')", a);
            return CLI_EXIT_USAGE;
        }
    }
    if (strcmp(format, "gbench") != 0) {
        cli_error("--format: must be gbench (got '%s')", format);
        return CLI_EXIT_USAGE;
    }
    if (!dir) {
        cli_error("export: needs a sweep directory: export --format gbench DIR (see export --help)");
        return CLI_EXIT_USAGE;
    }
    rundir d;
    char err[1024];
    if (rundir_load(&d, dir, 0, err, sizeof err)) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    if (out) {
        if (files_write_atomic(out, write_gbench, &d)) {
            cli_error("--out %s: cannot write: %s", out, strerror(errno));
            rc = CLI_EXIT_USAGE;
        }
    } else if (write_gbench(stdout, &d) || fflush(stdout) != 0) {
        cli_error("export: cannot write to stdout");
        rc = CLI_EXIT_USAGE;
    }
    rundir_free(&d);
    return rc;
}
