/* bench/results/results.c — the results.csv columns and their JSON and CSV printers.
 * CSV gets raw base units (ns, bytes) with RFC 4180 quoting; doubles are
 * printed with 17 significant digits so nothing is lost in a round trip. */
#include "results.h"
#include "jsonwrite.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *const status_names[RESULT_STATUS_N] = {"ok", "oom", "error", "crash", "timeout", "skipped"};

const char *result_status_name(result_status s) { return (unsigned)s < RESULT_STATUS_N ? status_names[s] : "?"; }

result_status result_status_parse(const char *s)
{
    int i = 0;
    while (i < RESULT_STATUS_N && strcmp(s, status_names[i]) != 0) i++;
    return (result_status)i;
}

void result_init(result_row *r, const run_config *c, const char *backend)
{
    memset(r, 0, sizeof *r);
    snprintf(r->engine, sizeof r->engine, "accumbench");
    snprintf(r->backend, sizeof r->backend, "%s", backend);
    r->cfg = *c;
    snprintf(r->status, sizeof r->status, "ok");
    double *unset[] = {&r->step_median_ns, &r->step_p10_ns, &r->step_p90_ns, &r->noise_rel,
                       &r->samples_per_s, &r->steps_per_s, &r->mem_tracked_bytes, &r->mem_reserved_bytes,
                       &r->mem_device_bytes, &r->mem_driver_bytes, &r->rss_delta_bytes, &r->data_bytes,
                       &r->mem_analytic_bytes, &r->gpu_busy_ratio, &r->launches_per_step, &r->host_ns_per_step,
                       &r->cupti_overhead_ratio, &r->sm_clock_mhz, &r->temperature_c, &r->power_w,
                       &r->other_processes, &r->steps_throttled};
    for (size_t i = 0; i < sizeof unset / sizeof unset[0]; i++) *unset[i] = RESULT_UNSET;
}

typedef struct {
    result_emit_fn emit;
    void *user;
} emitter;

static void col_text(emitter *e, const char *name, const char *v) { e->emit(e->user, name, v, 1); }

static void col_int(emitter *e, const char *name, long long v, int present)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%lld", v);
    e->emit(e->user, name, present ? buf : NULL, 0);
}

static void col_num(emitter *e, const char *name, double v)
{
    char buf[40];
    if (v == RESULT_UNSET || !isfinite(v)) {
        e->emit(e->user, name, NULL, 0);
        return;
    }
    if (v == floor(v) && fabs(v) < 9e15) snprintf(buf, sizeof buf, "%.0f", v);
    else snprintf(buf, sizeof buf, "%.17g", v);
    e->emit(e->user, name, buf, 0);
}

static void key_columns(emitter *ep, const result_row *r)
{
    emitter e = *ep;
    const run_config *c = &r->cfg;
    int mlp = c->model.kind == MODEL_MLP, cnn = c->model.kind == MODEL_CNN, gpt = c->model.kind == MODEL_GPT;
    col_text(&e, "engine", r->engine);
    col_text(&e, "backend", r->backend);
    col_text(&e, "model", model_name(c->model.kind));
    col_int(&e, "input_dim", c->model.input_dim, mlp);
    col_int(&e, "hidden", c->model.hidden, mlp);
    col_int(&e, "layers", c->model.layers, mlp || gpt);
    col_int(&e, "width", c->model.width, cnn);
    col_int(&e, "stages", c->model.stages, cnn);
    col_int(&e, "blocks", c->model.blocks, cnn);
    e.emit(e.user, "norm", cnn ? norm_name(c->model.norm) : NULL, 1);
    col_int(&e, "vocab", c->model.vocab, gpt);
    col_int(&e, "seq", c->model.seq, gpt);
    col_int(&e, "d_model", c->model.d_model, gpt);
    col_int(&e, "heads", c->model.heads, gpt);
    col_text(&e, "strategy", strategy_name(c->strategy));
    col_text(&e, "recompute", recompute_name(c->model.recompute));
    col_text(&e, "loss_norm", loss_norm_name(c->loss_norm));
    col_int(&e, "micro_batch", c->micro_batch, 1);
    col_int(&e, "iter_size", c->iter_size, 1);
    col_int(&e, "effective_batch", c->effective_batch, 1);
    col_int(&e, "last_micro_batch", c->last_micro_batch, 1);
    col_text(&e, "math", c->math_tf32 ? "tf32" : "fp32");
    col_text(&e, "conv_algo", c->conv_algo_find ? "find" : "heuristic");
    /* empty where there is no choice (host memory), so CPU keys stay those of
     * sweeps made before the column existed */
    col_text(&e, "allocator", c->allocator == OPS_ALLOCATOR_DEFAULT ? NULL : ops_allocator_name(c->allocator));
    col_text(&e, "optimizer", optimizer_name(c->optimizer));
    col_int(&e, "seed", (long long)c->seed, 1);
    col_int(&e, "repeat", r->repeat, 1);
}

void result_key_columns(const result_row *r, result_emit_fn emit, void *user)
{
    emitter e = {emit, user};
    key_columns(&e, r);
}

void result_columns(const result_row *r, result_emit_fn emit, void *user)
{
    emitter e = {emit, user};
    key_columns(&e, r);
    col_text(&e, "status", r->status);
    col_int(&e, "steps_timed", r->steps_timed, 1);
    e.emit(user, "stop_reason", r->stop_reason[0] ? r->stop_reason : NULL, 1);
    col_num(&e, "step_median_ns", r->step_median_ns);
    col_num(&e, "step_p10_ns", r->step_p10_ns);
    col_num(&e, "step_p90_ns", r->step_p90_ns);
    col_num(&e, "noise_rel", r->noise_rel);
    col_num(&e, "samples_per_s", r->samples_per_s);
    col_num(&e, "steps_per_s", r->steps_per_s);
    col_num(&e, "mem_tracked_bytes", r->mem_tracked_bytes);
    col_num(&e, "mem_reserved_bytes", r->mem_reserved_bytes);
    col_num(&e, "mem_device_bytes", r->mem_device_bytes);
    col_num(&e, "mem_driver_bytes", r->mem_driver_bytes);
    col_num(&e, "rss_delta_bytes", r->rss_delta_bytes);
    col_num(&e, "data_bytes", r->data_bytes);
    col_num(&e, "mem_analytic_bytes", r->mem_analytic_bytes);
    col_num(&e, "gpu_busy_ratio", r->gpu_busy_ratio);
    col_num(&e, "launches_per_step", r->launches_per_step);
    col_num(&e, "host_ns_per_step", r->host_ns_per_step);
    col_num(&e, "cupti_overhead_ratio", r->cupti_overhead_ratio);
    col_num(&e, "sm_clock_mhz", r->sm_clock_mhz);
    col_num(&e, "temperature_c", r->temperature_c);
    col_num(&e, "power_w", r->power_w);
    col_num(&e, "other_processes", r->other_processes);
    col_num(&e, "steps_throttled", r->steps_throttled);
    /* between engines: filled by the PyTorch peer (not built yet) */
    col_num(&e, "grad_rel_err", RESULT_UNSET);
    e.emit(user, "error", r->error[0] ? r->error : NULL, 1);
}

// ----------------------------------------------------------------------------

/* numbers arrive formatted (integers without a fraction, as in the CSV) */
static void json_emit(void *user, const char *column, const char *text, int is_text)
{
    jsonw *w = user;
    if (!text) jsonw_null(w, column);
    else if (is_text) jsonw_str(w, column, text);
    else jsonw_raw(w, column, text);
}

void result_write_json(const result_row *r, jsonw *w, const char *key)
{
    jsonw_object(w, key);
    result_columns(r, json_emit, w);
    jsonw_end(w, '}');
}

void result_print_json(const result_row *r, FILE *f)
{
    jsonw w;
    jsonw_init(&w, f, 0);
    result_write_json(r, &w, NULL);
}

void result_csv_field(FILE *f, const char *s)
{
    if (!s) return;
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

typedef struct { FILE *f; int n; int header; } csv_state;

static void csv_emit(void *user, const char *column, const char *text, int is_text)
{
    (void)is_text;
    csv_state *cs = user;
    if (cs->n++) fputc(',', cs->f);
    result_csv_field(cs->f, cs->header ? column : text);
}

void result_print_csv_header(FILE *f)
{
    result_row r;
    run_config c;
    memset(&c, 0, sizeof c);
    result_init(&r, &c, "");
    csv_state cs = {f, 0, 1};
    result_columns(&r, csv_emit, &cs);
    fputs("\r\n", f);
}

void result_print_csv(const result_row *r, FILE *f)
{
    csv_state cs = {f, 0, 0};
    result_columns(r, csv_emit, &cs);
    fputs("\r\n", f);
}

static void csv_key_emit(void *user, const char *column, const char *text, int is_text)
{
    (void)is_text;
    csv_state *cs = user;
    result_csv_field(cs->f, cs->header ? column : text);
    fputc(',', cs->f);
}

void result_csv_key_header(FILE *f)
{
    result_row r;
    run_config c;
    memset(&c, 0, sizeof c);
    result_init(&r, &c, "");
    csv_state cs = {f, 0, 1};
    result_key_columns(&r, csv_key_emit, &cs);
}

void result_csv_key_prefix(const result_row *r, FILE *f)
{
    csv_state cs = {f, 0, 0};
    result_key_columns(r, csv_key_emit, &cs);
}
