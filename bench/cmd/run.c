/* bench/cmd/run.c — `accumbench run`: one configuration.
 *
 * Warm-up steps, then timed steps until the stopping rule says the median is
 * known, then a few profiled steps with the op recorder attached (its cost
 * never lands in the timed steps). The tracked high-water and the max-RSS are
 * reset after warm-up, so each memory figure is the timed steps' own. An OOM
 * anywhere still produces a row (status oom) and exits 3. */
#include "backend_open.h"
#include "cli.h"
#include "clock.h"
#include "commands.h"
#include "engine.h"
#include "files.h"
#include "fragment.h"
#include "stats.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* enough steps for stable per-op means, few enough to cost little */
#define PROFILED_STEPS 3

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

typedef struct {
    engine e;
    ops_backend b;
    step_log steps;
    kernel_table kernels;
    memory_timeline timeline;
    algo_row *algos;
    size_t n_algos;
    double profiled_ns;
    size_t rss_base;
    stop_reason stop;
    char profile_why[200];      /* why device kernel records are missing */
} run_state;

/* One step between the backend's timer marks (CUDA events on a GPU, the host
 * clock after a synchronise on the CPU); host_ns is the time to issue it. */
static ops_status timed_step(run_state *rs, step_kind kind, double *ns, double *host_ns)
{
    ops_status st = ops_timer_start(&rs->b);
    double t0 = clock_now_ns();
    if (st == OPS_OK) st = engine_step(&rs->e, rs->e.cfg.strategy, 1);
    *host_ns = clock_now_ns() - t0;
    if (st == OPS_OK) st = ops_timer_stop(&rs->b, ns);
    if (st == OPS_OK && step_log_add(&rs->steps, kind, *ns) != 0) st = OPS_ERR_OOM;
    return st;
}

/* NVML state after each timed step: means of clock, temperature and power,
 * the most other processes seen, and how many steps ran throttled. */
typedef struct {
    int n;
    double clock, temp, power;
    unsigned other, throttled;
} state_tally;

static void tally_state(ops_backend *b, state_tally *t)
{
    ops_device_state s;
    if (ops_read_device_state(b, &s) != OPS_OK || !s.valid) return;
    t->n++;
    t->clock += s.sm_clock_mhz;
    t->temp += s.temperature_c;
    t->power += s.power_mw / 1000.0;
    if (s.other_processes > t->other) t->other = s.other_processes;
    if (s.throttle_reasons) t->throttled++;
}

static ops_status collect_algos(run_state *rs)
{
    const model *m = &rs->e.m;
    int conv = 0;
    for (int li = 0; li < m->n_layers; li++) {
        const layer *l = &m->layers[li];
        if (l->kind != LAYER_CONV) continue;
        ops_conv_shape s = model_conv_shape(&l->conv, rs->e.cfg.micro_batch);
        for (int d = 0; d < OPS_CONV_DIR_COUNT; d++) {
            algo_row a = {conv, (ops_conv_dir)d, "", 0};
            if (ops_conv_choice(&rs->b, &s, (ops_conv_dir)d, a.algorithm, sizeof a.algorithm, &a.workspace_bytes) != OPS_OK)
                return OPS_OK;  /* no algorithm choice on this backend */
            algo_row *v = realloc(rs->algos, (rs->n_algos + 1) * sizeof *v);
            if (!v) return OPS_ERR_OOM;
            rs->algos = v;
            rs->algos[rs->n_algos++] = a;
        }
        conv++;
    }
    return OPS_OK;
}

/* Profiled steps: device kernel records where the backend has a profiler
 * (CUPTI), else the op recorder's per-op times; the first profiled step also
 * records the live-bytes timeline. The op recorder is ops.h's dispatch
 * observer: it sees every op and allocation with its phase and micro-batch
 * without the backend knowing, attached here only, so timed steps never pay
 * for it. */
static ops_status profile(run_state *rs, result_row *r, double timed_median)
{
    int device = ops_can_profile(&rs->b);
    device_recorder dev = {&rs->kernels, NULL, 0, 0, 0, 0};
    ops_profile_sink sink = device_recorder_sink(&dev);
    op_recorder rec = {device ? NULL : &rs->kernels, &rs->timeline, 0, 0, 0};
    double busy = 0, times[PROFILED_STEPS], host_ns;
    int n = 0;
    ops_status st = OPS_OK;
    for (int i = 0; i < PROFILED_STEPS && st == OPS_OK; i++) {
        rec.timeline = i == 0 ? &rs->timeline : NULL;
        rs->b.observer = op_recorder_observer(&rec);
        if (device && ops_profile_begin(&rs->b) != OPS_OK) {
            snprintf(rs->profile_why, sizeof rs->profile_why, "cupti unavailable: %s", ops_last_error());
            device = 0;
            rec.kernels = &rs->kernels;     /* per-op records instead, so kernels.csv is not empty */
        }
        rec.step_start_ns = clock_now_ns();
        st = timed_step(rs, STEP_PROFILED, &times[n], &host_ns);
        memset(&rs->b.observer, 0, sizeof rs->b.observer);
        if (st == OPS_OK && device) {
            st = ops_profile_end(&rs->b, &sink);
            busy += device_recorder_busy_ns(&dev) / times[n];
        }
        if (st == OPS_OK) rs->profiled_ns += times[n++];
    }
    if (st == OPS_OK && device && n) {
        r->gpu_busy_ratio = busy / n;
        r->launches_per_step = (double)dev.launches / n;
        r->cupti_overhead_ratio = stats_compute(times, (size_t)n).median / timed_median;
    }
    device_recorder_free(&dev);
    return st;
}

/* Timed steps until the stopping rule stops them: their times (ns) and the
 * host time to issue each into times[]/host[] (max_steps long), *n of them. */
static ops_status timed_steps(run_state *rs, double *times, double *host, size_t *n, state_tally *tally)
{
    const run_config *c = &rs->e.cfg;
    stop_rule rule = {c->noise, c->min_steps, c->min_time_s, c->max_steps, c->max_time_s};
    double timed_s = 0, t_start = clock_now_ns();
    ops_status st = OPS_OK;
    *n = 0;
    while (st == OPS_OK && rs->stop == STOP_NONE) {
        st = timed_step(rs, STEP_TIMED, &times[*n], &host[*n]);
        if (st != OPS_OK) break;
        timed_s += times[*n] * 1e-9;
        (*n)++;
        tally_state(&rs->b, tally);
        rs->stop = stats_should_stop(times, *n, timed_s, (clock_now_ns() - t_start) * 1e-9, &rule);
    }
    return st;
}

static void fill_step_figures(result_row *r, const run_state *rs, const double *times, size_t n)
{
    step_stats ss = stats_compute(times, n);
    r->steps_timed = (int)n;
    snprintf(r->stop_reason, sizeof r->stop_reason, "%s", stop_reason_name(rs->stop));
    r->step_median_ns = ss.median;
    r->step_p10_ns = ss.p10;
    r->step_p90_ns = ss.p90;
    r->noise_rel = ss.noise_rel;
    r->steps_per_s = 1e9 / ss.median;
    r->samples_per_s = (double)rs->e.cfg.effective_batch * r->steps_per_s;
}

/* The timed steps' memory figures: max-RSS growth on a host-memory backend;
 * on a device, the host time to issue a step and the device's own counts. */
static void fill_memory_figures(result_row *r, run_state *rs, const double *host, size_t n)
{
    r->mem_tracked_bytes = (double)rs->b.arena.high_water_bytes;
    if (rs->b.i->host_memory) {
        size_t hwm = proc_status_bytes("VmHWM");
        r->rss_delta_bytes = hwm > rs->rss_base ? (double)(hwm - rs->rss_base) : 0.0;
        return;
    }
    r->host_ns_per_step = stats_compute(host, n).median;
    ops_device_memory dm;
    if (ops_read_device_memory(&rs->b, &dm) != OPS_OK) return;
    /* the data set is resident but not the run's own: subtract it */
    if (!dm.device_why[0] && dm.device_high_water_bytes >= rs->e.data_bytes)
        r->mem_device_bytes = (double)(dm.device_high_water_bytes - rs->e.data_bytes);
    else if (dm.device_why[0] && !rs->profile_why[0])
        snprintf(rs->profile_why, sizeof rs->profile_why, "mem_device_bytes %s", dm.device_why);
    if (dm.driver_high_water_bytes >= rs->e.data_bytes)
        r->mem_driver_bytes = (double)(dm.driver_high_water_bytes - rs->e.data_bytes);
    /* the pool's reservation (the data set lives in the pool too) */
    if (dm.reserved_high_water_bytes && dm.reserved_high_water_bytes >= rs->e.data_bytes)
        r->mem_reserved_bytes = (double)(dm.reserved_high_water_bytes - rs->e.data_bytes);
}

static void fill_device_state(result_row *r, const state_tally *t)
{
    if (!t->n) return;
    r->sm_clock_mhz = t->clock / t->n;
    r->temperature_c = t->temp / t->n;
    r->power_w = t->power / t->n;
    r->other_processes = t->other;
    r->steps_throttled = t->throttled;
}

/* Setup and warm-up, then the timed steps with the high-water marks reset
 * (so each memory figure is theirs), then the profiled steps. */
static ops_status measure(run_state *rs, result_row *r)
{
    const run_config *c = &rs->e.cfg;
    strategy_kind s = c->strategy;
    double ns, host_ns;
    ops_status st = engine_prepare(&rs->e, &s, 1);
    for (int i = 0; i < c->warmup && st == OPS_OK; i++) st = timed_step(rs, STEP_WARMUP, &ns, &host_ns);
    if (st != OPS_OK) return st;

    ops_reset_high_water(&rs->b);
    ops_device_memory_reset(&rs->b);
    reset_peak_rss();
    double *times = malloc((size_t)c->max_steps * sizeof *times);
    double *host = malloc((size_t)c->max_steps * sizeof *host);
    size_t n = 0;
    state_tally tally = {0};
    st = times && host ? timed_steps(rs, times, host, &n, &tally) : OPS_ERR_OOM;
    if (st == OPS_OK) {
        fill_step_figures(r, rs, times, n);
        fill_memory_figures(r, rs, host, n);
        fill_device_state(r, &tally);
    }
    double median = n ? stats_compute(times, n).median : 0;
    free(times);
    free(host);
    if (st == OPS_OK) st = collect_algos(rs);
    if (st == OPS_OK) st = profile(rs, r, median);
    return st;
}

// ----------------------------------------------------------------------------
// printing

static void print_bytes(double bytes)
{
    if (bytes < 0) fputs("-", stdout);
    else if (bytes >= 1073741824.0) printf("%.2f GiB", bytes / 1073741824.0);
    else if (bytes >= 1048576.0) printf("%.2f MiB", bytes / 1048576.0);
    else printf("%.1f KiB", bytes / 1024.0);
}

static void print_human(const result_row *r, const run_state *rs, int top_kernels)
{
    const run_config *c = &r->cfg;
    const model *m = &rs->e.m;
    size_t n_params = 0;
    for (int i = 0; i < m->n_params; i++) n_params += m->params[i].numel;
    printf("accumbench run: backend %s, model ", r->backend);
    if (c->model.kind == MODEL_MLP)
        printf("mlp (input %d, hidden %d x %d layers)", c->model.input_dim, c->model.hidden, c->model.layers);
    else if (c->model.kind == MODEL_GPT)
        printf("gpt (vocab %d, seq %d, d-model %d, %d heads x %d layers)", c->model.vocab, c->model.seq,
               c->model.d_model, c->model.heads, c->model.layers);
    else
        printf("cnn (width %d, %d stages x %d blocks, norm %s)", c->model.width, c->model.stages,
               c->model.blocks, norm_name(c->model.norm));
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
    print_bytes(r->mem_tracked_bytes);
    printf(", analytic ");
    print_bytes(r->mem_analytic_bytes);
    printf(" (%.1f%%)", 100.0 * r->mem_tracked_bytes / r->mem_analytic_bytes);
    if (r->rss_delta_bytes >= 0) {
        printf(", max-RSS delta ");
        print_bytes(r->rss_delta_bytes);
    }
    if (r->mem_device_bytes >= 0) {
        printf(", device (CUPTI) ");
        print_bytes(r->mem_device_bytes);
    }
    if (r->mem_driver_bytes >= 0) {
        printf(", driver ");
        print_bytes(r->mem_driver_bytes);
    }
    if (r->mem_reserved_bytes >= 0) {
        printf(", reserved ");
        print_bytes(r->mem_reserved_bytes);
    }
    printf("; data ");
    print_bytes(r->data_bytes);
    printf(" (not counted)\n");
    if (r->gpu_busy_ratio >= 0)
        printf("  device: busy %.1f%% of the step, %.0f kernel launches/step, host %.3f ms/step to issue, "
               "profiling overhead %.3fx\n", 100.0 * r->gpu_busy_ratio, r->launches_per_step,
               r->host_ns_per_step / 1e6, r->cupti_overhead_ratio);
    if (r->sm_clock_mhz >= 0)
        printf("  device state: SM %.0f MHz, %.0f C, %.0f W, %.0f other processes, %.0f of %d steps throttled\n",
               r->sm_clock_mhz, r->temperature_c, r->power_w, r->other_processes, r->steps_throttled, r->steps_timed);
    if (r->error[0]) printf("  note: %s\n", r->error);
    if (top_kernels <= 0) return;
    const kernel_table *t = &rs->kernels;
    size_t *order = kernel_table_order(t);
    if (!order) return;
    printf("  top ops over %d profiled steps:\n  %-10s %-28s %8s %12s %10s %7s\n", PROFILED_STEPS, "phase", "name",
           "calls", "total ms", "mean us", "share");
    for (size_t j = 0; j < t->n && j < (size_t)top_kernels; j++) {
        const kernel_stat *k = &t->v[order[j]];
        printf("  %-10s %-28s %8llu %12.3f %10.1f %6.1f%%\n", ops_phase_name(k->phase), k->name,
               (unsigned long long)k->calls, k->total_ns / 1e6, k->total_ns / (double)k->calls / 1e3,
               100.0 * k->total_ns / rs->profiled_ns);
    }
    free(order);
}

// ----------------------------------------------------------------------------

/* A failed run still makes a row: status oom or error, with the reason. */
static int record_failure(run_state *rs, result_row *r, ops_status st)
{
    int rc = backend_fail(&rs->b, st, r->steps_timed ? "in a profiled step" : "in setup, warm-up or a timed step");
    snprintf(r->status, sizeof r->status, "%s", st == OPS_ERR_OOM ? "oom" : "error");
    if (st == OPS_ERR_OOM) backend_oom_message(&rs->b, r->error, sizeof r->error);
    else snprintf(r->error, sizeof r->error, "%s", ops_last_error());
    /* the memory figures of a failed run are not measurements */
    r->mem_tracked_bytes = r->rss_delta_bytes = RESULT_UNSET;
    return rc;
}

/* Opens the engine, measures, and fills the row; the exit status. */
static int run_configuration(run_state *rs, const run_config *c, result_row *r)
{
    ops_status st = engine_open(&rs->e, c, &rs->b);
    rs->rss_base = proc_status_bytes("VmRSS");
    reset_peak_rss();
    if (st == OPS_OK) st = measure(rs, r);
    r->mem_analytic_bytes = (double)rs->e.estimate.total;
    r->data_bytes = (double)rs->e.data_bytes;
    if (!rs->b.i->host_memory && rs->b.arena.capacity_bytes)
        r->mem_reserved_bytes = (double)rs->b.arena.capacity_bytes;
    if (st == OPS_OK && rs->profile_why[0]) snprintf(r->error, sizeof r->error, "%s", rs->profile_why);
    return st == OPS_OK ? CLI_EXIT_OK : record_failure(rs, r, st);
}

static void run_state_free(run_state *rs)
{
    step_log_free(&rs->steps);
    kernel_table_free(&rs->kernels);
    memory_timeline_free(&rs->timeline);
    free(rs->algos);
    engine_close(&rs->e);
    ops_close(&rs->b);
    free(rs);
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
    if (x.print_config) {
        cli_print_config(&c, &x, stdout);
        return CLI_EXIT_OK;
    }
    if (x.out_dir && files_mkdir_p(x.out_dir) != 0) {
        cli_error("--out: cannot create directory '%s': %s", x.out_dir, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    run_state *rs = calloc(1, sizeof *rs);
    if (!rs) {
        cli_error("out of host memory");
        return CLI_EXIT_OOM;
    }
    int rc = backend_open(&rs->b, &c);
    if (rc) {
        free(rs);
        return rc;
    }
    c.allocator = rs->b.i->host_memory ? OPS_ALLOCATOR_DEFAULT : rs->b.allocator;
    result_row r;
    result_init(&r, &c, rs->b.i->name);
    rc = run_configuration(rs, &c, &r);
    if (x.out_dir) {
        fragment f = {&r, rs->algos, rs->n_algos, &rs->steps, &rs->kernels, rs->profiled_ns, &rs->timeline};
        if (outputs_write_fragment(x.out_dir, &f) != 0) {
            cli_error("--out: writing results to '%s' failed: %s", x.out_dir, strerror(errno));
            if (!rc) rc = CLI_EXIT_CHECK;
        }
    }
    if (x.json) result_print_json(&r, stdout);
    else if (rc == CLI_EXIT_OK) print_human(&r, rs, x.kernels);
    run_state_free(rs);
    return rc;
}
