/* bench/run_cmd.c — `accumbench run`: one configuration, warm-up steps, then
 * timed steps until the stopping rule says the median is known; the tracked
 * high-water and the max-RSS are reset after warm-up so each figure is the
 * timed steps' own. */
#include "backend_open.h"
#include "cli.h"
#include "commands.h"
#include "engine.h"
#include "results.h"
#include "stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* VmRSS or VmHWM from /proc/self/status, in bytes (0 if unreadable). */
static size_t proc_status_bytes(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kib = 0, klen = strlen(key);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            kib = strtoull(line + klen + 1, NULL, 10);
            break;
        }
    if (f) fclose(f);
    return kib * 1024;
}

/* Resets VmHWM to the current RSS (Linux: "5" to clear_refs). */
static void reset_peak_rss(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f) {
        fputs("5", f);
        fclose(f);
    }
}

static void print_bytes(FILE *f, double bytes)
{
    if (bytes < 0) fputs("-", f);
    else if (bytes >= 1073741824.0) fprintf(f, "%.2f GiB", bytes / 1073741824.0);
    else if (bytes >= 1048576.0) fprintf(f, "%.2f MiB", bytes / 1048576.0);
    else fprintf(f, "%.1f KiB", bytes / 1024.0);
}

static void print_human(const result_row *r, const engine *e)
{
    const run_config *c = &r->cfg;
    printf("accumbench run: backend %s, model ", r->backend);
    if (c->model.kind == MODEL_MLP)
        printf("mlp (input %d, hidden %d x %d layers)", c->model.input_dim, c->model.hidden, c->model.layers);
    else
        printf("cnn (width %d, %d stages x %d blocks, norm %s)", c->model.width, c->model.stages,
               c->model.blocks, norm_name(c->model.norm));
    size_t n_params = 0;
    for (int i = 0; i < e->m.n_params; i++) n_params += e->m.params[i].numel;
    printf(", %zu parameters\n", n_params);
    printf("  strategy %s, loss-norm %s, optimizer %s: micro-batch %d x iter-size %d = effective batch %d",
           strategy_name(c->strategy), loss_norm_name(c->loss_norm), optimizer_name(c->optimizer),
           c->micro_batch, c->iter_size, c->effective_batch);
    if (c->last_micro_batch != c->micro_batch) printf(" (last micro-batch %d)", c->last_micro_batch);
    printf("\n  steps: %d warm-up, %d timed, stopped by %s (noise %.2f%%)\n", c->warmup, r->steps_timed,
           r->stop_reason, 100.0 * r->noise_rel);
    printf("  step time: median %.3f ms (p10 %.3f, p90 %.3f)   %.1f samples/s\n", r->step_median_ns / 1e6,
           r->step_p10_ns / 1e6, r->step_p90_ns / 1e6, r->samples_per_s);
    printf("  memory: tracked peak ");
    print_bytes(stdout, r->mem_tracked_bytes);
    printf(", analytic ");
    print_bytes(stdout, r->mem_analytic_bytes);
    printf(" (%.1f%%)", 100.0 * r->mem_tracked_bytes / r->mem_analytic_bytes);
    if (r->rss_delta_bytes >= 0) {
        printf(", max-RSS delta ");
        print_bytes(stdout, r->rss_delta_bytes);
    }
    printf("; data ");
    print_bytes(stdout, r->data_bytes);
    printf(" (not counted)\n");
}

int cmd_run(int argc, char **argv)
{
    run_config c;
    cli_extras x;
    int help;
    char err[512];
    cli_defaults(&c);
    if (cli_parse(CLI_CMD_RUN, argc, argv, 2, &c, &x, &help, err, sizeof err) != 0) {
        cli_error("%s", err);
        return CLI_EXIT_USAGE;
    }
    if (help) {
        cli_usage(CLI_CMD_RUN, stdout);
        return CLI_EXIT_OK;
    }
    ops_backend b;
    int rc = backend_open(&b, &c);
    if (rc) return rc;

    engine e;
    ops_status st = engine_open(&e, &c, &b);
    size_t rss_base = proc_status_bytes("VmRSS");
    reset_peak_rss();
    strategy_kind s = c.strategy;
    if (st == OPS_OK) st = engine_prepare(&e, &s, 1);
    for (int i = 0; i < c.warmup && st == OPS_OK; i++) {
        st = engine_step(&e, s, 1);
        if (st == OPS_OK) st = ops_synchronize(&b);
    }
    double *times = malloc((size_t)c.max_steps * sizeof *times);
    if (!times && st == OPS_OK) st = OPS_ERR_OOM;
    if (st != OPS_OK) {
        rc = backend_fail(&b, st, "while setting up and warming up");
        goto out;
    }
    ops_reset_high_water(&b);
    reset_peak_rss();
    size_t n = 0;
    stop_reason why = STOP_NONE;
    double t_start = now_s();
    while (why == STOP_NONE) {
        double t0 = now_s();
        st = engine_step(&e, s, 1);
        if (st == OPS_OK) st = ops_synchronize(&b);
        if (st != OPS_OK) {
            rc = backend_fail(&b, st, "in a timed step");
            goto out;
        }
        double t1 = now_s();
        times[n++] = (t1 - t0) * 1e9;
        why = stats_should_stop(times, n, c.noise, c.min_steps, c.max_steps, t1 - t_start, c.max_time_s);
    }

    result_row r;
    result_init(&r, &c, b.i->name);
    step_stats ss = stats_compute(times, n);
    r.steps_timed = (int)n;
    snprintf(r.stop_reason, sizeof r.stop_reason, "%s", stop_reason_name(why));
    r.step_median_ns = ss.median;
    r.step_p10_ns = ss.p10;
    r.step_p90_ns = ss.p90;
    r.noise_rel = ss.noise_rel;
    r.steps_per_s = 1e9 / ss.median;
    r.samples_per_s = (double)c.effective_batch * r.steps_per_s;
    r.mem_tracked_bytes = (double)b.arena.high_water_bytes;
    r.mem_analytic_bytes = (double)e.estimate.total;
    r.data_bytes = (double)e.data_bytes;
    if (!strcmp(b.i->name, "cpu")) {
        size_t hwm = proc_status_bytes("VmHWM");
        r.rss_delta_bytes = hwm > rss_base ? (double)(hwm - rss_base) : 0.0;
    } else {
        r.mem_reserved_bytes = (double)b.arena.capacity_bytes;
    }
    if (x.json) result_print_json(&r, stdout);
    else print_human(&r, &e);
    rc = CLI_EXIT_OK;
out:
    free(times);
    engine_close(&e);
    ops_close(&b);
    return rc;
}
