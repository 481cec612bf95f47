/* bench/cmd/sweep/meta.c — a sweep's meta.json (the design's Outputs section):
 * the profile and its run settings, host, CPU, git commit of the source
 * tree, compiler, the device backend of the rows and `accumbench info
 * --json` (run as a child, so the sweep itself never initialises CUDA),
 * start and end time, whether it was resumed or interrupted. Written at the
 * start (end_utc null) and again at the end, each time by rename. */
#include "sweep.h"
#include "files.h"
#include "jsonread.h"
#include "jsonwrite.h"
#include "proc.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define GIT_TIMEOUT_S 10.0
#define INFO_TIMEOUT_S 60.0             /* info opens every backend: CUDA start-up included */

void sweep_utc_now(char *buf, size_t len, const char *fmt)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, fmt, &tm);
}

int sweep_meta_get(const char *meta_path, const char *field, char *out, size_t len)
{
    jsonr_doc d;
    char err[256];
    if (jsonr_read_file(&d, meta_path, err, sizeof err) != 0) return -1;
    const char *v = jsonr_text(&d, jsonr_path(&d, field));
    if (v) snprintf(out, len, "%s", v);
    jsonr_free(&d);
    return v ? 0 : -1;
}

/* argv's stdout up to its first line end, or NULL when it failed */
static char *first_line_of(char *const argv[], double timeout_s)
{
    proc_output r;
    if (proc_capture(argv, timeout_s, &r) != 0) return NULL;
    char *line = r.exit_code == 0 ? r.out : NULL;
    if (line) {
        line[strcspn(line, "\r\n")] = '\0';
        r.out = NULL;
    }
    proc_output_free(&r);
    return line;
}

static void cpu_model(char *cpu, size_t len)
{
    FILE *ci = fopen("/proc/cpuinfo", "r");
    char line[512];
    cpu[0] = '\0';
    while (ci && fgets(line, sizeof line, ci))
        if (!strncmp(line, "model name", 10) && strchr(line, ':')) {
            const char *v = strchr(line, ':') + 1;
            while (*v == ' ' || *v == '\t') v++;
            snprintf(cpu, len, "%.*s", (int)strcspn(v, "\n"), v);
            break;
        }
    if (ci) fclose(ci);
}

/* "git": commit and dirty flag of the tree the binary was built in (git
 * finds it from the executable's directory); null when unknown */
static void write_git(jsonw *w, const sweep *s)
{
    char exe_dir[4096];
    snprintf(exe_dir, sizeof exe_dir, "%s", s->exe);
    if (strrchr(exe_dir, '/')) *strrchr(exe_dir, '/') = '\0';
    char git[] = "git", dash_c[] = "-C", rev_parse[] = "rev-parse", head[] = "HEAD", status[] = "status",
         porc[] = "--porcelain", untracked[] = "--untracked-files=no";
    char *rev_argv[] = {git, dash_c, exe_dir, rev_parse, head, NULL};
    char *st_argv[] = {git, dash_c, exe_dir, status, porc, untracked, NULL};
    char *commit = first_line_of(rev_argv, GIT_TIMEOUT_S);
    char *porcelain = commit ? first_line_of(st_argv, GIT_TIMEOUT_S) : NULL;
    jsonw_object(w, "git");
    jsonw_str(w, "commit", commit && commit[0] ? commit : NULL);
    if (porcelain) jsonw_bool(w, "dirty", porcelain[0] != '\0');
    else jsonw_null(w, "dirty");
    jsonw_end(w, '}');
    free(commit);
    free(porcelain);
}

static void write_profile(jsonw *w, const sweep *s)
{
    jsonw_object(w, "profile");
    jsonw_str(w, "name", s->prof.name);
    jsonw_str(w, "path", s->prof.path);
    jsonw_int(w, "configurations", s->n_configs);
    jsonw_int(w, "repeat", s->prof.repeat);
    jsonw_int(w, "repeat_max", s->prof.repeat_max);
    jsonw_int(w, "runs", s->n_planned);
    jsonw_num(w, "timeout_s", s->prof.timeout_s);
    jsonw_int(w, "shuffle", s->prof.shuffle);
    if (s->prof.shuffle) jsonw_int(w, "shuffle_seed", (long long)s->shuffle_seed);
    if (s->python[0]) jsonw_str(w, "peer_python", s->python);
    if (s->prof.calm_wait_s > 0) {
        jsonw_object(w, "calm");
        jsonw_num(w, "wait_limit_s", s->prof.calm_wait_s);
        jsonw_num(w, "waited_s", s->calm_waited_s);
        jsonw_int(w, "runs_disturbed", s->calm_disturbed);
        jsonw_int(w, "runs_again", s->calm_reruns);
        if (!isnan(s->calm_best_ns)) jsonw_num(w, "best_round_trip_ns", s->calm_best_ns);
        jsonw_end(w, '}');
    }
    if (s->prof.time_budget_s > 0) {
        jsonw_object(w, "time_budget");
        jsonw_num(w, "limit_s", s->prof.time_budget_s);
        jsonw_num(w, "reached_at_s", s->budget_reached_s);
        jsonw_int(w, "extra_runs_left_out", s->budget_skipped);
        jsonw_int(w, "disturbed_runs_kept", s->budget_kept);
        jsonw_end(w, '}');
    }
    jsonw_end(w, '}');
}

static void write_device(jsonw *w, const sweep *s, const char *backend)
{
    char info_cmd[] = "info", json_flag[] = "--json";
    char *info_argv[] = {(char *)s->exe, info_cmd, json_flag, NULL};
    char *info = first_line_of(info_argv, INFO_TIMEOUT_S);
    jsonw_object(w, "device");
    jsonw_str(w, "backend", backend && backend[0] ? backend : NULL);
    /* info --json is one JSON object on its first line */
    if (info && info[0] == '{') jsonw_raw(w, "info", info);
    else jsonw_null(w, "info");
    jsonw_end(w, '}');
    free(info);
}

typedef struct {
    const sweep *s;
    const char *end_utc;
    int interrupted;
    const char *backend;
} meta_ctx;

static int write_meta(FILE *f, void *user)
{
    const meta_ctx *m = user;
    char host[256] = "", cpu[256];
    if (gethostname(host, sizeof host) != 0) host[0] = '\0';
    host[sizeof host - 1] = '\0';
    cpu_model(cpu, sizeof cpu);
    jsonw w;
    jsonw_init(&w, f, 1);
    jsonw_object(&w, NULL);
    jsonw_int(&w, "schema_version", 1);
    write_profile(&w, m->s);
    jsonw_str(&w, "host", host[0] ? host : NULL);
    jsonw_str(&w, "cpu", cpu[0] ? cpu : NULL);
    jsonw_int(&w, "cpus_online", sysconf(_SC_NPROCESSORS_ONLN));
    write_git(&w, m->s);
#ifdef __clang__
    jsonw_str(&w, "compiler", "clang " __clang_version__);
#else
    jsonw_str(&w, "compiler", "gcc " __VERSION__);
#endif
    write_device(&w, m->s, m->backend);
    jsonw_str(&w, "start_utc", m->s->start_utc);
    jsonw_str(&w, "end_utc", m->end_utc);
    jsonw_bool(&w, "resumed", m->s->resume);
    jsonw_bool(&w, "interrupted", m->interrupted);
    jsonw_end(&w, '}');
    return 0;
}

int sweep_meta_write(const sweep *s, const char *end_utc, int interrupted, const char *backend)
{
    char path[4400];
    snprintf(path, sizeof path, "%s/meta.json", s->dir);
    meta_ctx m = {s, end_utc, interrupted, backend};
    return files_write_atomic(path, write_meta, &m);
}
