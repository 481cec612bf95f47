/* bench/cmd/export.c — `accumbench export --format gbench DIR [--out FILE]`:
 * a sweep directory as Google Benchmark JSON (the format of
 * --benchmark_out_format=json), so dashboards that ingest gbench results can
 * read ours.
 *
 * context: date, host_name, executable, num_cpus, mhz_per_cpu,
 * library_build_type, json_schema_version as gbench writes them — taken from
 * meta.json where it has them (start_utc, host, cpus_online, cpu.mhz, build
 * type), else from the machine running export — then every scalar of
 * meta.json as a string under its dotted path ("device.driver").
 *
 * benchmarks: one per results.csv row, in file order. name = run_name = the
 * configuration's stable name (rundir_config_name: "mlp/accumulate/
 * micro_batch:32/iter_size:4/…"), the same for every repeat, as gbench names
 * repetitions; repetition_index = repeat − the configuration's lowest repeat;
 * repetitions = its rows; family_index numbers the (model, strategy) pairs
 * and per_family_instance_index the configurations within one; run_type
 * "iteration"; threads 1; iterations = steps_timed; real_time =
 * step_median_ns; cpu_time = host_ns_per_step (the host time to issue a
 * step) where the row has it, else real_time; time_unit "ns". A row with no
 * step time (a failed one) gets 0, as gbench writes for a skipped run. Every
 * other column whose cell is a number is a counter (a top-level numeric key,
 * as gbench writes user counters). A row whose status is not ok has
 * error_occurred true and error_message "status: error". Doubles have 17
 * significant digits; NaN/Inf are null. */
#include "cli.h"
#include "commands.h"
#include "files.h"
#include "jsonwrite.h"
#include "rundir.h"

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

static int write_gbench(FILE *f, void *user)
{
    const rundir *d = user;
    size_t nc = d->n_configs, nr = d->results.nrows;
    size_t *family = calloc(nc ? nc : 1, sizeof *family), *instance = calloc(nc ? nc : 1, sizeof *instance);
    size_t *fam_count = calloc(nc ? nc : 1, sizeof *fam_count), *seen = calloc(nc ? nc : 1, sizeof *seen);
    double *min_repeat = malloc((nc ? nc : 1) * sizeof *min_repeat);
    char (*name)[1024] = malloc((nc ? nc : 1) * sizeof *name);
    int rc = -1;
    if (!family || !instance || !fam_count || !seen || !min_repeat || !name) goto done;
    /* families: distinct model/strategy pairs in order of appearance */
    long mi = rundir_key_index(d, "model"), si = rundir_key_index(d, "strategy");
    size_t n_fam = 0;
    for (size_t c = 0; c < nc; c++) {
        const rundir_config *cf = &d->configs[c];
        size_t j = 0;
        for (; j < c; j++)
            if (!strcmp(d->configs[j].values[mi], cf->values[mi]) && !strcmp(d->configs[j].values[si], cf->values[si]))
                break;
        family[c] = j < c ? family[j] : n_fam++;
        instance[c] = fam_count[family[c]]++;
        rundir_config_name(d, cf, name[c], sizeof name[c]);
        min_repeat[c] = INFINITY;
    }
    for (size_t r = 0; r < nr; r++) {
        double v = cell_number(d, r, "repeat");
        if (!isnan(v) && v < min_repeat[d->row_config[r]]) min_repeat[d->row_config[r]] = v;
    }
    long status_col = d->status_col, error_col = csv_column(&d->results, "error", 0);
    long stop_col = csv_column(&d->results, "stop_reason", 0);
    fputs("{\n", f);
    write_context(d, f);
    fputs("  \"benchmarks\": [", f);
    for (size_t r = 0; r < nr; r++) {
        size_t c = d->row_config[r];
        double rep = cell_number(d, r, "repeat");
        double idx = isnan(rep) || isinf(min_repeat[c]) ? (double)seen[c] : rep - min_repeat[c];
        seen[c]++;
        fputs(r ? ",\n    {\n      " : "\n    {\n      ", f);
        jsonw_key(f, "name");
        jsonw_string(f, name[c]);
        fprintf(f, ",\n      \"family_index\": %zu,\n      \"per_family_instance_index\": %zu,\n      ", family[c],
                instance[c]);
        jsonw_key(f, "run_name");
        jsonw_string(f, name[c]);
        double iters = cell_number(d, r, "steps_timed"), real = cell_number(d, r, "step_median_ns");
        double cpu = cell_number(d, r, "host_ns_per_step");
        if (isnan(real)) real = 0;
        if (isnan(cpu)) cpu = real;
        fprintf(f, ",\n      \"run_type\": \"iteration\",\n      \"repetitions\": %d,\n"
                   "      \"repetition_index\": %.0f,\n      \"threads\": 1,\n      \"iterations\": %.0f,\n"
                   "      \"real_time\": ",
                d->configs[c].n_rows, idx, isnan(iters) ? 0.0 : iters);
        jsonw_double(f, real);
        fputs(",\n      \"cpu_time\": ", f);
        jsonw_double(f, cpu);
        fputs(",\n      \"time_unit\": \"ns\"", f);
        const char *status = csv_get(&d->results, r, (size_t)status_col, NULL);
        if (strcmp(status, "ok") != 0) {
            char msg[600];
            const char *e = error_col >= 0 ? csv_get(&d->results, r, (size_t)error_col, NULL) : "";
            snprintf(msg, sizeof msg, "%s%s%s", status[0] ? status : "(no status)", e && e[0] ? ": " : "",
                     e ? e : "");
            fputs(",\n      \"error_occurred\": true,\n      ", f);
            jsonw_key(f, "error_message");
            jsonw_string(f, msg);
        }
        for (size_t col = 0; col < d->results.ncols; col++) {
            if (is_key_column(d, col) || (long)col == status_col || (long)col == error_col || (long)col == stop_col)
                continue;
            size_t len;
            const char *s = csv_get(&d->results, r, col, &len);
            double v;
            if (!s || csv_parse_double(s, len, &v) != 0) continue;
            fputs(",\n      ", f);
            jsonw_key(f, d->results.text + d->results.off[col]);
            jsonw_double(f, v);
        }
        fputs("\n    }", f);
    }
    fputs(nr ? "\n  ]\n}\n" : "]\n}\n", f);
    rc = 0;
done:
    free(family);
    free(instance);
    free(fam_count);
    free(seen);
    free(min_repeat);
    free(name);
    return rc;
}

static void export_usage(FILE *f)
{
    fputs("usage: accumbench export --format gbench DIR [--out FILE]\n\n"
          "Writes the sweep directory DIR (results.csv, meta.json) as Google Benchmark JSON: one benchmark per\n"
          "results row (real_time = step_median_ns, cpu_time = host_ns_per_step, iterations = steps_timed,\n"
          "every other numeric column a counter). --out FILE writes it atomically; default stdout.\n"
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
