/* bench/cmd/plan/plan_print.c — see plan_print.h. */
#include "plan_print.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

const char *plan_fmt_bytes(double bytes, char *buf, size_t len)
{
    double a = fabs(bytes);
    if (a >= 1073741824.0) snprintf(buf, len, "%.2f GiB", bytes / 1073741824.0);
    else if (a >= 1048576.0) snprintf(buf, len, "%.2f MiB", bytes / 1048576.0);
    else snprintf(buf, len, "%.2f KiB", bytes / 1024.0);
    return buf;
}

void plan_describe_model(const run_config *c, char *buf, size_t len)
{
    const model_config *m = &c->model;
    if (m->kind == MODEL_MLP)
        snprintf(buf, len, "mlp (input %d, hidden %d x %d layers)", m->input_dim, m->hidden, m->layers);
    else if (m->kind == MODEL_CNN)
        snprintf(buf, len, "cnn (width %d, %d stages x %d blocks, norm %s)", m->width, m->stages, m->blocks,
                 norm_name(m->norm));
    else
        snprintf(buf, len, "gpt (vocab %d, seq %d, d-model %d, %d heads x %d layers)", m->vocab, m->seq, m->d_model,
                 m->heads, m->layers);
}

/* one optimizer step of the candidate, in ns */
static double step_ns(const plan_report *r, const plan_candidate *c)
{
    return c->samples_per_s > 0 ? r->effective_batch * 1e9 / c->samples_per_s : 0.0;
}

// ----------------------------------------------------------------------------
// text

static void print_header(const plan_report *r)
{
    char md[160], b1[32], b2[32], b3[32];
    plan_describe_model(r->cfg, md, sizeof md);
    printf("accumbench plan: backend %s, model %s, optimizer %s, effective batch %d, recompute", r->backend, md,
           optimizer_name(r->cfg->optimizer), r->effective_batch);
    for (int v = 0, n = 0; v < PLAN_RECOMPUTES; v++)
        if (r->searched[v]) printf("%s %s", n++ ? "," : "", recompute_name((recompute_kind)v));
    printf("\n  budget %s with a %.1f%% margin: a configuration fits when its predicted peak is <= %s\n",
           plan_fmt_bytes((double)r->budget_bytes, b1, sizeof b1), 100.0 * r->margin,
           plan_fmt_bytes(r->limit, b2, sizeof b2));
    printf("  memory figure %s%s", plan_figure_column(r->fig),
           r->host_memory ? " (in host memory every tensor of the run is in it)" : "");
    if (r->context_bytes) printf(", plus --context %s", plan_fmt_bytes((double)r->context_bytes, b3, sizeof b3));
    printf("\n  points: %zu ok rows from %s", r->n_points, r->source);
    if (r->not_ok) printf(" (%zu not ok, left out)", r->not_ok);
    putchar('\n');
}

static void print_fits(const plan_report *r)
{
    char b1[32], b2[32], b3[32];
    printf("\nfits, per strategy and recompute: peak = fixed + scale x the model's activation bytes (held, plus one\n"
           "      backward's temporaries); throughput = samples/s of one micro-batch, linear in log2 m, flat beyond;\n"
           "      plus a per-step overhead\n");
    printf("  %-11s %-9s %6s %12s %7s %14s %14s %10s %11s  %s\n", "strategy", "recompute", "points", "fixed", "scale",
           "act/sample", "backward/m", "max resid", "overhead", "samples/s of a micro-batch of m");
    for (size_t i = 0; i < r->n_fits; i++) {
        const plan_fit *f = &r->fits[i];
        printf("  %-11s %-9s %6d %12s %6.3f%s %14s %14s %9.2f%% %8.1f us  ", strategy_name(f->strategy),
               recompute_name(f->recompute), f->n_points, plan_fmt_bytes(f->fixed_bytes, b1, sizeof b1), f->scale,
               f->scale_assumed ? "*" : " ", plan_fmt_bytes(f->act_bytes_per_sample, b2, sizeof b2),
               plan_fmt_bytes(f->transient_bytes_per_sample, b3, sizeof b3), 100.0 * f->max_rel_residual,
               f->overhead_ns / 1e3);
        for (int j = 0; j < f->n_rates; j++)
            printf("%s%s=%d %.0f", j ? ", " : "", f->strategy == STRATEGY_FULL ? "B" : "m", f->rate_m[j], f->rate[j]);
        putchar('\n');
    }
    for (size_t i = 0; i < r->n_fits; i++)
        if (r->fits[i].scale_assumed) {
            printf("  * the points do not separate scale from fixed (all round alike): scale 1 assumed\n");
            break;
        }
}

static void print_candidates(const plan_report *r, size_t n_feasible)
{
    printf("\nconfigurations that fit (%zu of %zu), fastest first:\n", n_feasible, r->n_cand);
    printf("  %c %-11s %-9s %11s %9s %6s %14s %12s\n", ' ', "strategy", "recompute", "micro-batch", "iter-size", "last",
           "predicted peak", "samples/s");
    for (size_t i = 0; i < r->n_cand; i++) {
        const plan_candidate *c = &r->cand[i];
        char pk[32];
        if (!c->feasible) continue;
        printf("  %c %-11s %-9s %11d %9d %6d %14s %12.1f%s\n", (long)i == r->rec ? '*' : ' ',
               strategy_name(c->strategy), recompute_name(c->recompute), c->micro_batch, c->iter_size,
               c->last_micro_batch, plan_fmt_bytes(c->peak_bytes, pk, sizeof pk), c->samples_per_s,
               c->extrapolated ? "  extrapolated" : "");
    }
}

static void print_recommendation(const plan_report *r)
{
    const plan_candidate *c = &r->cand[r->rec];
    char b1[32];
    printf("\nrecommendation: %s, micro-batch %d x iter-size %d", strategy_name(c->strategy), c->micro_batch,
           c->iter_size);
    if (c->last_micro_batch != c->micro_batch) printf(" (last micro-batch %d)", c->last_micro_batch);
    printf(", recompute %s: predicted peak %s (%.1f%% of the budget), %.1f samples/s%s\n", recompute_name(c->recompute),
           plan_fmt_bytes(c->peak_bytes, b1, sizeof b1), 100.0 * c->peak_bytes / (double)r->budget_bytes,
           c->samples_per_s,
           c->extrapolated ? " (extrapolated: a micro-batch outside the measured ones, throughput held flat)" : "");
}

#define SIDE_ROWS 4

/* the side-by-side table's cells of one recompute value's option */
static void side_cells(const plan_report *r, int v, char cells[SIDE_ROWS][48])
{
    long i = r->side[v];
    if (i < 0) {
        snprintf(cells[0], 48, "nothing fits");
        for (int k = 1; k < SIDE_ROWS; k++) snprintf(cells[k], 48, "-");
        return;
    }
    const plan_candidate *c = &r->cand[i];
    char b[32];
    snprintf(cells[0], 48, "%s %d x %d%s", strategy_name(c->strategy), c->micro_batch, c->iter_size,
             i == r->rec ? " *" : "");
    snprintf(cells[1], 48, "%s", plan_fmt_bytes(c->peak_bytes, b, sizeof b));
    snprintf(cells[2], 48, "%.2f ms", step_ns(r, c) / 1e6);
    snprintf(cells[3], 48, "%.1f%s", c->samples_per_s, c->extrapolated ? " (extrapolated)" : "");
}

/* what recomputation buys at this budget: the option of each value side by
 * side (when both were searched) */
static void print_sides(const plan_report *r)
{
    static const char *const rows[SIDE_ROWS] = {"option", "predicted peak", "step time", "samples/s"};
    char cells[PLAN_RECOMPUTES][SIDE_ROWS][48];
    for (int v = 0; v < PLAN_RECOMPUTES; v++)
        if (!r->searched[v]) return;
    printf("\nwith and without recomputation at this budget (the rule within each; * the recommendation):\n");
    printf("  %-16s", "");
    for (int v = 0; v < PLAN_RECOMPUTES; v++) {
        side_cells(r, v, cells[v]);
        printf(" %-*s", v + 1 < PLAN_RECOMPUTES ? 30 : 0, recompute_name((recompute_kind)v));
    }
    putchar('\n');
    for (int k = 0; k < SIDE_ROWS; k++) {
        printf("  %-16s", rows[k]);
        for (int v = 0; v < PLAN_RECOMPUTES; v++) printf(" %-*s", v + 1 < PLAN_RECOMPUTES ? 30 : 0, cells[v][k]);
        putchar('\n');
    }
    long none = r->side[RECOMPUTE_NONE], blocks = r->side[RECOMPUTE_BLOCKS];
    if (none >= 0 && blocks >= 0)
        printf("  blocks against none: %+.1f%% samples/s, %+.1f%% predicted peak\n",
               100.0 * (r->cand[blocks].samples_per_s / r->cand[none].samples_per_s - 1),
               100.0 * (r->cand[blocks].peak_bytes / r->cand[none].peak_bytes - 1));
    else if (none >= 0 || blocks >= 0)
        printf("  only recompute %s fits in this budget\n", none >= 0 ? "none" : "blocks");
}

static void print_verify(const plan_report *r)
{
    const plan_candidate *c = &r->cand[r->rec];
    char b1[32], b2[32];
    if (r->verify_oom) {
        printf("verify: out of memory under --mem-limit %s\n",
               plan_fmt_bytes((double)r->budget_bytes, b1, sizeof b1));
        return;
    }
    printf("verify: peak predicted %s, measured %s (%+.2f%%); throughput predicted %.1f, measured %.1f "
           "samples/s (%+.2f%%)\n",
           plan_fmt_bytes(c->peak_bytes, b1, sizeof b1), plan_fmt_bytes(r->verify_peak, b2, sizeof b2),
           100.0 * (c->peak_bytes - r->verify_peak) / r->verify_peak, c->samples_per_s, r->verify_rate,
           100.0 * (c->samples_per_s - r->verify_rate) / r->verify_rate);
}

void plan_print_text(const plan_report *r)
{
    print_header(r);
    print_fits(r);
    size_t n_feasible = 0;
    for (size_t i = 0; i < r->n_cand; i++) n_feasible += r->cand[i].feasible;
    if (!n_feasible) {
        printf("\nconfigurations that fit: none of %zu\n", r->n_cand);
        return;
    }
    print_candidates(r, n_feasible);
    if (r->rec >= 0) print_recommendation(r);
    print_sides(r);
    if (r->verified) print_verify(r);
}

// ----------------------------------------------------------------------------
// JSON

static void json_candidate(const plan_report *r, long i)
{
    if (i < 0) {
        printf("null");
        return;
    }
    const plan_candidate *c = &r->cand[i];
    printf("{\"strategy\": \"%s\", \"recompute\": \"%s\", \"micro_batch\": %d, \"iter_size\": %d, "
           "\"last_micro_batch\": %d, \"predicted_peak_bytes\": %.17g, \"predicted_samples_per_s\": %.17g, "
           "\"predicted_step_ns\": %.17g, \"extrapolated\": %s, \"feasible\": %s, \"budget_needed_bytes\": %.17g}",
           strategy_name(c->strategy), recompute_name(c->recompute), c->micro_batch, c->iter_size,
           c->last_micro_batch, c->peak_bytes, c->samples_per_s, step_ns(r, c), c->extrapolated ? "true" : "false",
           c->feasible ? "true" : "false", c->peak_bytes / (1.0 - r->margin));
}

static void json_fits(const plan_report *r)
{
    printf(",\n \"fits\": [");
    for (size_t i = 0; i < r->n_fits; i++) {
        const plan_fit *f = &r->fits[i];
        printf("%s\n  {\"strategy\": \"%s\", \"recompute\": \"%s\", \"points\": %d, \"fixed_bytes\": %.17g, "
               "\"scale\": %.17g, \"scale_assumed\": %s, \"act_bytes_per_sample\": %.17g, "
               "\"transient_bytes_per_sample\": %.17g, \"max_rel_residual\": %.17g, \"step_overhead_ns\": %.17g, "
               "\"rates\": [",
               i ? "," : "", strategy_name(f->strategy), recompute_name(f->recompute), f->n_points, f->fixed_bytes,
               f->scale, f->scale_assumed ? "true" : "false", f->act_bytes_per_sample, f->transient_bytes_per_sample,
               f->max_rel_residual, f->overhead_ns);
        for (int j = 0; j < f->n_rates; j++)
            printf("%s{\"micro_batch\": %d, \"samples_per_s\": %.17g}", j ? ", " : "", f->rate_m[j], f->rate[j]);
        printf("]}");
    }
    printf("]");
}

void plan_print_json(const plan_report *r)
{
    printf("{\"backend\": \"%s\", \"effective_batch\": %d, \"budget_bytes\": %llu, \"margin\": %.17g, "
           "\"limit_bytes\": %.17g, \"context_bytes\": %llu, \"memory_figure\": \"%s\", \"points\": %zu, "
           "\"points_not_ok\": %zu, \"recompute_searched\": [",
           r->backend, r->effective_batch, (unsigned long long)r->budget_bytes, r->margin, r->limit,
           (unsigned long long)r->context_bytes, plan_figure_column(r->fig), r->n_points, r->not_ok);
    for (int v = 0, n = 0; v < PLAN_RECOMPUTES; v++)
        if (r->searched[v]) printf("%s\"%s\"", n++ ? ", " : "", recompute_name((recompute_kind)v));
    printf("]");
    json_fits(r);
    printf(",\n \"candidates\": [");
    for (size_t i = 0; i < r->n_cand; i++) {
        printf("%s\n  ", i ? "," : "");
        json_candidate(r, (long)i);
    }
    printf("],\n \"recommendation\": ");
    json_candidate(r, r->rec);
    printf(",\n \"smallest\": ");
    json_candidate(r, r->smallest);
    /* the option of each searched recompute value (null: nothing of it fits) */
    printf(",\n \"by_recompute\": {");
    for (int v = 0, n = 0; v < PLAN_RECOMPUTES; v++)
        if (r->searched[v]) {
            printf("%s\n  \"%s\": ", n++ ? "," : "", recompute_name((recompute_kind)v));
            json_candidate(r, r->side[v]);
        }
    printf("}");
    if (r->verified)
        printf(",\n \"verify\": {\"status\": \"%s\", \"measured_peak_bytes\": %.17g, "
               "\"measured_samples_per_s\": %.17g}",
               r->verify_oom ? "oom" : "ok", r->verify_oom ? -1.0 : r->verify_peak,
               r->verify_oom ? -1.0 : r->verify_rate);
    printf("}\n");
}
