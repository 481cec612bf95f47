/* bench/cmd/compare_print.c — compare's printers over the row model of
 * compare.h: the markdown table (stdout), --json and --csv. Every output
 * names the methods that judged it. */
#include "compare.h"
#include "jsonwrite.h"
#include "results.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

// ----------------------------------------------------------------------------
// markdown

static void fmt_value(const char *metric, double v, char *buf, size_t len)
{
    if (isnan(v)) {
        snprintf(buf, len, "—");
    } else if (!strcmp(metric, "step_ns")) {
        if (v < 1e3) snprintf(buf, len, "%.0f ns", v);
        else if (v < 1e6) snprintf(buf, len, "%.3f µs", v / 1e3);
        else if (v < 1e9) snprintf(buf, len, "%.3f ms", v / 1e6);
        else snprintf(buf, len, "%.3f s", v / 1e9);
    } else {
        static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double x = v;
        while (fabs(x) >= 1024 && u < 4) {
            x /= 1024;
            u++;
        }
        if (u == 0) snprintf(buf, len, "%.0f B", v);
        else snprintf(buf, len, "%.2f %s", x, units[u]);
    }
}

static void fmt_change(double c, char *buf, size_t len)
{
    if (isnan(c)) snprintf(buf, len, "—");
    else if (isinf(c)) snprintf(buf, len, "%sinf", c > 0 ? "+" : "-");
    else snprintf(buf, len, "%+.2f%%", 100.0 * c);
}

static const char *metric_label(const char *metric) { return !strcmp(metric, "step_ns") ? "step time" : metric; }

/* a table cell: pipes escaped, line breaks as spaces */
static void md_cell(FILE *f, const char *s)
{
    fputs("| ", f);
    for (; *s; s++) {
        if (*s == '|') fputs("\\|", f);
        else if (*s == '\n' || *s == '\r') fputc(' ', f);
        else fputc(*s, f);
    }
    fputc(' ', f);
}

/* "**regression**: detail (changed: what changed in meta.json; throttling)" */
static void verdict_cell(const comparison *cmp, const config_cmp *cc, verdict v, const char *detail, char *buf,
                         size_t len)
{
    if (!verdict_is_regression(v)) {
        snprintf(buf, len, "%s", verdict_name(v));
        return;
    }
    snprintf(buf, len, "**regression**%s%.200s (changed: %s%s%s)", detail && detail[0] ? ": " : "",
             detail ? detail : "", cmp->env_short, cc->throttle[0] ? "; " : "", cc->throttle);
}

static void md_row(FILE *f, const char *name, const char *metric, const char *base, const char *now,
                   const char *change, const char *p, const char *verdict_text)
{
    const char *cells[] = {name, metric, base, now, change, p, verdict_text};
    for (size_t i = 0; i < 7; i++) md_cell(f, cells[i]);
    fputs("|\n", f);
}


/* "5.103 ms (spread 4.2%)": the median over repeats and, from 2 repeats, the
 * spread of the repeats that made it */
static void fmt_figure(const char *metric, double v, double spread, char *buf, size_t len)
{
    char value[48];
    fmt_value(metric, v, value, sizeof value);
    if (isnan(spread)) snprintf(buf, len, "%s", value);
    else snprintf(buf, len, "%s (spread %.1f%%)", value, 100 * spread);
}

static void md_metric_rows(const comparison *cmp, const config_cmp *cc, FILE *f)
{
    for (int k = 0; k < cc->n_m; k++) {
        const metric_cmp *m = &cc->m[k];
        char vb[800], bv[96], nv[96], ch[32], p[32];
        fmt_figure(m->metric, m->base, m->spread_base, bv, sizeof bv);
        fmt_figure(m->metric, m->now, m->spread_new, nv, sizeof nv);
        fmt_change(m->change, ch, sizeof ch);
        if (isnan(m->p)) snprintf(p, sizeof p, "—");
        else snprintf(p, sizeof p, "%.3g", m->p);
        verdict_cell(cmp, cc, m->v, NULL, vb, sizeof vb);
        md_row(f, cc->name, metric_label(m->metric), bv, nv, ch, p, vb);
    }
}

static void md_config_rows(const comparison *cmp, const config_cmp *cc, FILE *f)
{
    char vb[800], nv[64];
    if (cc->v == V_NEW) {
        fmt_value("step_ns", cc->n->step_median_ns, nv, sizeof nv);
        md_row(f, cc->name, "step time", "—", nv, "—", "—", "new");
        return;
    }
    int show_status = cc->v == V_MISSING || cc->v == V_FAILED || cc->v == V_STILL_FAILING || cc->v == V_FIXED ||
                      (cc->b && cc->b->n_ok < cc->b->n_rows);
    if (show_status) {
        const char *detail = cc->v == V_MISSING ? "missing from NEW"
                           : cc->v == V_FAILED  ? (cc->n->fail_error[0] ? cc->n->fail_error : cc->n->fail_status)
                                                : NULL;
        verdict_cell(cmp, cc, cc->v, detail, vb, sizeof vb);
        md_row(f, cc->name, "status", cc->status_base, cc->status_new, "—", "—",
               cc->v == V_MISSING || cc->v == V_FAILED ? vb : verdict_name(cc->v));
    }
    md_metric_rows(cmp, cc, f);
    if (!show_status && cc->n_m == 0) md_row(f, cc->name, "—", "—", "—", "—", "—", verdict_name(cc->v));
}

static void md_notes(const comparison *cmp, FILE *f)
{
    if (cmp->drift_removed)
        fprintf(f, "\nStep time over the %zu configurations tested: median change %+.2f%%, within --threshold: taken "
                   "for the machine's drift between the sweeps; %zu call%s did not hold against it.\n",
                cmp->n_step_changes, 100 * cmp->step_change_median, cmp->calls_withdrawn,
                cmp->calls_withdrawn == 1 ? "" : "s");
    else if (cmp->n_step_changes)
        fprintf(f, "\nStep time over the %zu configurations tested: median change %+.2f%% (when every "
                   "configuration moves together, it is the machine or the whole build).\n",
                cmp->n_step_changes, 100 * cmp->step_change_median);
    const rundir *side[2] = {&cmp->base, &cmp->now};
    for (int i = 0; i < 2; i++)
        if (side[i]->round_span > RUNDIR_ROUND_SPAN_WARN)
            fprintf(f, "\n%s's machine changed speed by %.0f%% between its rounds (a steady sweep's agree within a few "
                       "percent): calls against it are less certain than its repeats' spread says; run it again.\n",
                    i ? "NEW" : "BASE", 100 * (side[i]->round_span - 1));
    int any_notes = cmp->n_env > 0 || cmp->n_env_notes > 0;
    for (size_t i = 0; i < cmp->n; i++) any_notes |= cmp->c[i].n_notes > 0;
    if (any_notes) fputs("\n", f);
    if (cmp->n_env) {
        fputs("Environment changes (meta.json):\n", f);
        for (size_t i = 0; i < cmp->n_env; i++)
            fprintf(f, "- %s: %s → %s\n", cmp->env[i].path, cmp->env[i].base, cmp->env[i].now);
        if (cmp->n_env_total > cmp->n_env) fprintf(f, "- … %zu more\n", cmp->n_env_total - cmp->n_env);
    }
    for (int i = 0; i < cmp->n_env_notes; i++) fprintf(f, "- environment unknown: %s\n", cmp->env_notes[i]);
    for (size_t i = 0; i < cmp->n; i++)
        for (int k = 0; k < cmp->c[i].n_notes; k++) fprintf(f, "- %s: %s\n", cmp->c[i].name, cmp->c[i].notes[k]);
}

void compare_print_markdown(const comparison *cmp, FILE *f)
{
    char step[600], mem[600];
    compare_method_text(cmp, step, sizeof step, mem, sizeof mem);
    fprintf(f, "## accumbench compare\n\nBASE `%s` (%zu configuration%s), NEW `%s` (%zu configuration%s)\n\n"
               "- %s\n- %s\n\n",
            cmp->base_dir, cmp->base.n_configs, cmp->base.n_configs == 1 ? "" : "s", cmp->new_dir,
            cmp->now.n_configs, cmp->now.n_configs == 1 ? "" : "s", step, mem);
    fputs("| config | metric | base | new | change | p-value | verdict |\n"
          "|---|---|---|---|---|---|---|\n", f);
    for (size_t i = 0; i < cmp->n; i++) md_config_rows(cmp, &cmp->c[i], f);
    md_notes(cmp, f);
    size_t regressions = compare_regressions(cmp);
    fprintf(f, "\ncompare: %zu configuration%s: %zu regression%s (%zu slower or bigger, %zu missing, %zu failed), "
               "%zu improvement%s, %zu inconclusive, %zu unchanged, %zu new, %zu still failing, %zu fixed, "
               "%zu without data\n",
            cmp->n, cmp->n == 1 ? "" : "s", regressions, regressions == 1 ? "" : "s", cmp->counts[V_REGRESSION],
            cmp->counts[V_MISSING], cmp->counts[V_FAILED], cmp->counts[V_IMPROVEMENT],
            cmp->counts[V_IMPROVEMENT] == 1 ? "" : "s", cmp->counts[V_INCONCLUSIVE], cmp->counts[V_SAME],
            cmp->counts[V_NEW], cmp->counts[V_STILL_FAILING], cmp->counts[V_FIXED], cmp->counts[V_NO_DATA]);
}

// ----------------------------------------------------------------------------
// --json

static void json_head(const comparison *cmp, jsonw *w)
{
    char step[600], mem[600];
    compare_method_text(cmp, step, sizeof step, mem, sizeof mem);
    jsonw_str(w, "base", cmp->base_dir);
    jsonw_str(w, "new", cmp->new_dir);
    jsonw_object(w, "method");
    jsonw_str(w, "step_time", step);
    jsonw_str(w, "memory", mem);
    jsonw_end(w, '}');
    jsonw_num(w, "threshold", cmp->threshold);
    jsonw_num(w, "mem_threshold", cmp->mem_threshold);
    jsonw_num(w, "measured_mem_threshold", compare_measured_threshold(cmp));
    jsonw_num(w, "alpha", COMPARE_ALPHA);
    jsonw_int(w, "min_repeats", COMPARE_MIN_REPEATS);
    jsonw_num(w, "step_change_median", cmp->n_step_changes ? cmp->step_change_median : NAN);
    jsonw_int(w, "step_configurations_tested", (long long)cmp->n_step_changes);
    jsonw_bool(w, "drift_removed", cmp->drift_removed);
    jsonw_int(w, "calls_withdrawn_for_drift", (long long)cmp->calls_withdrawn);
    /* each side's speed between its rounds (rundir.h); NAN: fewer than 2 */
    jsonw_num(w, "base_round_span", cmp->base.round_span);
    jsonw_num(w, "new_round_span", cmp->now.round_span);
    jsonw_bool(w, "regression", compare_regressions(cmp) != 0);
    jsonw_object(w, "summary");
    jsonw_int(w, "configurations", (long long)cmp->n);
    for (int v = 0; v < V_COUNT; v++) {
        char key[32];
        snprintf(key, sizeof key, "%s", verdict_name((verdict)v));
        for (char *p = key; *p; p++)
            if (*p == ' ') *p = '_';
        jsonw_int(w, key, (long long)cmp->counts[v]);
    }
    jsonw_end(w, '}');
}

static void json_environment(const comparison *cmp, jsonw *w)
{
    jsonw_array(w, "environment");
    for (size_t i = 0; i < cmp->n_env; i++) {
        jsonw_object(w, NULL);
        jsonw_str(w, "field", cmp->env[i].path);
        jsonw_str(w, "base", cmp->env[i].base);
        jsonw_str(w, "new", cmp->env[i].now);
        jsonw_end(w, '}');
    }
    jsonw_end(w, ']');
    jsonw_array(w, "environment_notes");
    for (int i = 0; i < cmp->n_env_notes; i++) jsonw_str(w, NULL, cmp->env_notes[i]);
    jsonw_end(w, ']');
}

static void json_metric(const metric_cmp *m, jsonw *w)
{
    jsonw_object(w, NULL);
    jsonw_str(w, "metric", m->metric);
    jsonw_str(w, "test", metric_test_name(m->test));
    jsonw_num(w, "base", m->base);
    jsonw_num(w, "new", m->now);
    jsonw_num(w, "change", m->change);
    jsonw_num(w, "spread_base", m->spread_base);
    jsonw_num(w, "spread_new", m->spread_new);
    jsonw_num(w, "p_value", m->p);
    jsonw_num(w, "p_value_vs_drift", m->p_drift);
    jsonw_int(w, "n_base", (long long)m->n_base);
    jsonw_int(w, "n_new", (long long)m->n_new);
    jsonw_str(w, "verdict", verdict_name(m->v));
    jsonw_end(w, '}');
}

/* what changed in meta.json and the throttling, beside a regression */
static void json_changed(const comparison *cmp, const config_cmp *cc, jsonw *w)
{
    jsonw_array(w, "changed");
    if (verdict_is_regression(cc->v)) {
        for (size_t e = 0; e < cmp->n_env; e++) {
            char one[520];
            snprintf(one, sizeof one, "%s: %s → %s", cmp->env[e].path, cmp->env[e].base, cmp->env[e].now);
            jsonw_str(w, NULL, one);
        }
        if (cc->throttle[0]) jsonw_str(w, NULL, cc->throttle);
    }
    jsonw_end(w, ']');
}

static void json_config(const comparison *cmp, const config_cmp *cc, jsonw *w)
{
    const rundir_config *c = cc->b ? cc->b : cc->n;
    jsonw_object(w, NULL);
    jsonw_str(w, "config", cc->name);
    jsonw_str(w, "name", cc->full);
    jsonw_object(w, "key");
    for (size_t k = 0; k < cc->d->n_keys; k++)
        if (k != cc->d->repeat_key) jsonw_str(w, cc->d->key_names[k], c->values[k][0] ? c->values[k] : NULL);
    jsonw_end(w, '}');
    jsonw_str(w, "verdict", verdict_name(cc->v));
    jsonw_bool(w, "regression", verdict_is_regression(cc->v));
    jsonw_str(w, "status_base", cc->status_base);
    jsonw_str(w, "status_new", cc->status_new);
    jsonw_array(w, "metrics");
    for (int k = 0; k < cc->n_m; k++) json_metric(&cc->m[k], w);
    jsonw_end(w, ']');
    json_changed(cmp, cc, w);
    jsonw_array(w, "notes");
    for (int k = 0; k < cc->n_notes; k++) jsonw_str(w, NULL, cc->notes[k]);
    jsonw_end(w, ']');
    jsonw_end(w, '}');
}

int compare_write_json(FILE *f, void *user)
{
    const comparison *cmp = user;
    jsonw w;
    /* one configuration per line: the top level and its arrays pretty */
    jsonw_init(&w, f, 2);
    jsonw_object(&w, NULL);
    json_head(cmp, &w);
    json_environment(cmp, &w);
    jsonw_array(&w, "configurations");
    for (size_t i = 0; i < cmp->n; i++) json_config(cmp, &cmp->c[i], &w);
    jsonw_end(&w, ']');
    jsonw_end(&w, '}');
    return 0;
}

// ----------------------------------------------------------------------------
// --csv

static void csv_num(FILE *f, double v)
{
    fputc(',', f);
    if (isfinite(v)) fprintf(f, "%.17g", v);
}

static void csv_text(FILE *f, const char *s)
{
    fputc(',', f);
    result_csv_field(f, s);
}

static const metric_cmp *find_metric(const config_cmp *cc, const char *metric)
{
    for (int k = 0; k < cc->n_m; k++)
        if (!strcmp(cc->m[k].metric, metric)) return &cc->m[k];
    return NULL;
}

int compare_write_csv(FILE *f, void *user)
{
    const comparison *cmp = user;
    fputs("config,name,verdict,status_base,status_new,step_test,base_step_ns,new_step_ns,step_change,p_value,"
          "p_value_vs_drift,n_base,n_new,base_step_spread,new_step_spread,base_mem_tracked_bytes,new_mem_tracked_bytes,"
          "mem_tracked_change,base_samples_per_s,new_samples_per_s\r\n",
          f);
    for (size_t i = 0; i < cmp->n; i++) {
        const config_cmp *cc = &cmp->c[i];
        const metric_cmp *t = find_metric(cc, "step_ns");
        const metric_cmp *mem = find_metric(cc, rundir_mem_columns[RUNDIR_MEM_TRACKED]);
        result_csv_field(f, cc->name);
        csv_text(f, cc->full);
        csv_text(f, verdict_name(cc->v));
        csv_text(f, cc->status_base);
        csv_text(f, cc->status_new);
        csv_text(f, t ? metric_test_name(t->test) : "");
        /* a new configuration has figures only on its NEW side */
        csv_num(f, t ? t->base : NAN);
        csv_num(f, t ? t->now : cc->n ? cc->n->step_median_ns : NAN);
        csv_num(f, t ? t->change : NAN);
        csv_num(f, t ? t->p : NAN);
        csv_num(f, t ? t->p_drift : NAN);
        csv_num(f, t ? (double)t->n_base : NAN);
        csv_num(f, t ? (double)t->n_new : NAN);
        csv_num(f, t ? t->spread_base : NAN);
        csv_num(f, t ? t->spread_new : NAN);
        csv_num(f, mem ? mem->base : NAN);
        csv_num(f, mem ? mem->now : cc->n ? cc->n->mem[RUNDIR_MEM_TRACKED] : NAN);
        csv_num(f, mem ? mem->change : NAN);
        csv_num(f, cc->b ? cc->b->samples_per_s : NAN);
        csv_num(f, cc->n ? cc->n->samples_per_s : NAN);
        fputs("\r\n", f);
    }
    return 0;
}
