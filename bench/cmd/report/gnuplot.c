/* bench/cmd/report/gnuplot.c — drawing a figure: gnuplot runs its script in
 * plots/ on the figure's data file, writing PNG and SVG to temporaries that
 * are renamed once both exist (a reader never sees a half-drawn picture).
 * gnuplot's own output goes to DIR/plots/data/NAME.log. */
#include "figures.h"
#include "cli.h"
#include "proc.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define PROBE_SCRIPT "memory_vs_iter_size.gp"

static int has_scripts(const char *dir)
{
    char test[PATH_MAX + 64];
    return fmt_into(test, sizeof test, "%s/%s", dir, PROBE_SCRIPT) == 0 && access(test, R_OK) == 0;
}

/* ACCUMBENCH_PLOTS_DIR, else beside the executable (build tree or install),
 * else the source tree it was built from, else ./plots */
static int find_plots_dir(char *out, size_t len)
{
    const char *env = getenv("ACCUMBENCH_PLOTS_DIR");
    if (env && *env) return fmt_into(out, len, "%s", env);
    char exe[PATH_MAX], dir[PATH_MAX + 64];
    if (proc_exe_dir(exe, sizeof exe) == 0) {
        static const char *const rel[] = {"plots", "../plots", "../share/accumbench/plots"};
        for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++)
            if (fmt_into(dir, sizeof dir, "%s/%s", exe, rel[i]) == 0 && has_scripts(dir))
                return fmt_into(out, len, "%s", dir);
    }
    if (has_scripts(ACCUMBENCH_SOURCE_DIR "/plots")) return fmt_into(out, len, "%s/plots", ACCUMBENCH_SOURCE_DIR);
    if (has_scripts("plots")) return fmt_into(out, len, "plots");
    return -1;
}

/* gnuplot -V runs */
static int gnuplot_runs(void)
{
    char *argv[] = {(char *)"gnuplot", (char *)"-V", NULL};
    pid_t pid;
    return proc_spawn(argv, NULL, &pid) == 0 && proc_wait(pid) == 0;
}

const char *gnuplot_unavailable(char *plots_dir, size_t len)
{
    if (!gnuplot_runs()) return "gnuplot is not installed (Debian: gnuplot-nox)";
    if (find_plots_dir(plots_dir, len)) return "the gnuplot scripts (plots/*.gp) were not found; set ACCUMBENCH_PLOTS_DIR";
    return NULL;
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

/* the -e expression: the script's inputs */
static void gnuplot_vars(sbuf *e, const figure *f, const char *data, const char *tmpbase)
{
    sb_str(e, "datafile=");
    sb_gp_string(e, data);
    sb_str(e, "; outbase=");
    sb_gp_string(e, tmpbase);
    sb_str(e, "; plottitle=");
    sb_gp_string(e, f->title);
    if (f->memlabel[0]) {
        sb_str(e, "; memlabel=");
        sb_gp_string(e, f->memlabel);
    }
    if (f->engines) sb_str(e, "; keyoutside=1");
}

static int run_gnuplot(const char *script, const char *expr, const char *log_path)
{
    char *argv[] = {(char *)"gnuplot", (char *)"-e", (char *)expr, (char *)script, NULL};
    proc_spawn_opts o = {.stdout_path = log_path, .stderr_to_stdout = 1};
    pid_t pid;
    return proc_spawn(argv, &o, &pid) == 0 && proc_wait(pid) == 0 ? 0 : -1;
}

static int file_nonempty(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0;
}

/* the temporaries' PNG and SVG renamed to their names; 0, or -1 with f->missing */
static int publish(const report *rp, figure *f, const char *tmpbase, const char *out_dir, const char *script)
{
    static const char *const ext[] = {"png", "svg"};
    char from[4300], to[4300];
    for (int i = 0; i < 2; i++) {
        fmt_into(from, sizeof from, "%s.%s", tmpbase, ext[i]);
        fmt_into(to, sizeof to, "%s/%s.%s", out_dir, f->name, ext[i]);
        if (!file_nonempty(from) || rename(from, to) != 0) {
            snprintf(f->missing, sizeof f->missing, "gnuplot wrote no %s (see plots/data/%s.log)", ext[i], f->name);
            cli_error("warning: %s: %s: no %s written", rp->dir, script, ext[i]);
            unlink(from);
            return -1;
        }
    }
    return 0;
}

void gnuplot_draw(const report *rp, figure *f, const char *plots_dir, const char *out_dir)
{
    char data[4200], script[4200], tmpbase[4200], log_path[4200];
    fmt_into(data, sizeof data, "%s/data/%s.dat", out_dir, f->name);
    fmt_into(script, sizeof script, "%s/%s.gp", plots_dir, f->name);
    fmt_into(tmpbase, sizeof tmpbase, "%s/.%s.tmp", out_dir, f->name);
    fmt_into(log_path, sizeof log_path, "%s/data/%s.log", out_dir, f->name);
    sbuf e = {0};
    gnuplot_vars(&e, f, data, tmpbase);
    int failed = e.failed || run_gnuplot(script, e.s, log_path);
    sb_free(&e);
    if (failed) {
        snprintf(f->missing, sizeof f->missing, "gnuplot failed (see plots/data/%s.log)", f->name);
        cli_error("warning: %s: gnuplot failed on %s; its output is in %s", rp->dir, script, log_path);
        return;
    }
    f->drawn = publish(rp, f, tmpbase, out_dir, script) == 0;
}
