/* bench/cmd/plan/plan_points.c — see plan_points.h. */
#include "plan_points.h"
#include "grow.h"
#include "csv.h"
#include "files.h"
#include "jsonread.h"
#include "results.h"
#include "rundir.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// ----------------------------------------------------------------------------
// flat JSON: jsonread's tree, flattened into key/value copies in order

int plan_json_parse(const char *text, plan_json *o)
{
    memset(o, 0, sizeof *o);
    jsonr_doc d;
    char err[256];
    if (jsonr_parse(&d, "run --json", text, strlen(text), err, sizeof err) != 0) return -1;
    int rc = d.nodes[0].type == JSONR_OBJECT ? 0 : -1;
    size_t count = 0;
    for (int c = d.nodes[0].first_child; c >= 0; c = d.nodes[c].next_sibling) count++;
    o->v = rc == 0 ? calloc(count ? count : 1, sizeof *o->v) : NULL;
    if (!o->v) rc = -1;
    for (int c = rc == 0 ? d.nodes[0].first_child : -1; c >= 0 && rc == 0; c = d.nodes[c].next_sibling) {
        const jsonr_node *n = &d.nodes[c];
        if (n->type == JSONR_OBJECT || n->type == JSONR_ARRAY) {
            rc = -1;
            break;
        }
        plan_json_field *f = &o->v[o->n++];
        f->key = strdup(n->key);
        f->is_text = n->type == JSONR_STRING;
        f->val = n->type == JSONR_NULL ? NULL : strdup(n->text);
        if (!f->key || (n->type != JSONR_NULL && !f->val)) rc = -1;
    }
    jsonr_free(&d);
    if (rc != 0) plan_json_free(o);
    return rc;
}

void plan_json_free(plan_json *o)
{
    for (size_t i = 0; i < o->n; i++) {
        free(o->v[i].key);
        free(o->v[i].val);
    }
    free(o->v);
    memset(o, 0, sizeof *o);
}

static const plan_json_field *json_field(const plan_json *o, const char *key)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].key, key)) return &o->v[i];
    return NULL;
}

const char *plan_json_get(const plan_json *o, const char *key)
{
    const plan_json_field *f = json_field(o, key);
    return f ? f->val : NULL;
}

int plan_json_number(const plan_json *o, const char *key, double *out)
{
    const plan_json_field *f = json_field(o, key);
    if (!f || !f->val) return 1;
    if (f->is_text) return -1;
    return csv_parse_double(f->val, strlen(f->val), out) == 0 ? 0 : -1;
}

static int strategy_from_name(const char *s, strategy_kind *out)
{
    for (int i = 0; i < STRATEGY_COUNT; i++)
        if (s && !strcmp(s, strategy_name((strategy_kind)i))) {
            *out = (strategy_kind)i;
            return 0;
        }
    return -1;
}

/* "none" or "blocks"; 0, or -1 for anything else */
static int recompute_from_name(const char *s, recompute_kind *out)
{
    for (int r = 0; r < PLAN_RECOMPUTES; r++)
        if (s && !strcmp(s, recompute_name((recompute_kind)r))) {
            *out = (recompute_kind)r;
            return 0;
        }
    return -1;
}

int plan_point_from_json(const plan_json *o, plan_point *p, char *err, size_t err_len)
{
    static const char *ints[] = {"micro_batch", "iter_size", "effective_batch", "last_micro_batch"};
    double v[4];
    memset(p, 0, sizeof *p);
    if (strategy_from_name(plan_json_get(o, "strategy"), &p->strategy)) {
        snprintf(err, err_len, "no known 'strategy' in the row");
        return -1;
    }
    if (recompute_from_name(plan_json_get(o, "recompute"), &p->recompute)) {
        snprintf(err, err_len, "no known 'recompute' in the row (none or blocks)");
        return -1;
    }
    for (int i = 0; i < 4; i++)
        if (plan_json_number(o, ints[i], &v[i]) != 0 || v[i] < 1 || v[i] != floor(v[i]) || v[i] > 1e9) {
            snprintf(err, err_len, "'%s' is missing or not a positive integer", ints[i]);
            return -1;
        }
    p->micro_batch = (int)v[0];
    p->iter_size = (int)v[1];
    p->effective_batch = (int)v[2];
    p->last_micro_batch = (int)v[3];
    for (int f = 0; f < PLAN_FIG_COUNT; f++)
        if (plan_json_number(o, plan_figure_column((plan_figure)f), &p->mem_bytes[f]) != 0) p->mem_bytes[f] = -1;
    if (plan_json_number(o, "step_median_ns", &p->step_ns) != 0) p->step_ns = -1;
    const char *status = plan_json_get(o, "status");
    return status && !strcmp(status, "ok") ? 0 : 1;
}

typedef struct {
    const plan_json *rows;
    size_t n;
} save_ctx;

static int write_rows(FILE *f, void *user)
{
    const save_ctx *s = user;
    for (size_t j = 0; j < s->rows[0].n; j++) {
        if (j) fputc(',', f);
        result_csv_field(f, s->rows[0].v[j].key);
    }
    fputs("\r\n", f);
    for (size_t i = 0; i < s->n; i++) {
        const plan_json *r = &s->rows[i];
        if (r->n != s->rows[0].n) return -1;
        for (size_t j = 0; j < r->n; j++) {
            if (strcmp(r->v[j].key, s->rows[0].v[j].key)) return -1;
            if (j) fputc(',', f);
            result_csv_field(f, r->v[j].val);
        }
        fputs("\r\n", f);
    }
    return 0;
}

int plan_save_results(const char *dir, const plan_json *rows, size_t n)
{
    char path[4096];
    if (!n) {
        errno = EINVAL;
        return -1;
    }
    if (files_mkdir_p(dir) != 0) return -1;
    if (snprintf(path, sizeof path, "%s/results.csv", dir) >= (int)sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    save_ctx s = {rows, n};
    return files_write_atomic(path, write_rows, &s);
}

// ----------------------------------------------------------------------------
// messages

const char *plan_last_line(const char *text, char *buf, size_t len)
{
    const char *end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ')) end--;
    const char *start = end;
    while (start > text && start[-1] != '\n') start--;
    size_t n = (size_t)(end - start);
    if (n >= len) n = len - 1;
    memcpy(buf, start, n);
    buf[n] = '\0';
    return buf;
}

// ----------------------------------------------------------------------------
// a results directory

int plan_points_add(plan_points *p, const plan_point *q)
{
    plan_point *v = grow_for_one(p->v, p->n, &p->cap, sizeof *v, 16);
    if (!v) return -1;
    p->v = v;
    p->v[p->n++] = *q;
    return 0;
}

void plan_points_free(plan_points *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* the configuration's canonical value of key column `name`; "" when the
 * file has no such column */
static const char *key_value(const rundir *d, const rundir_config *c, const char *name)
{
    long i = rundir_key_index(d, name);
    return i >= 0 && d->key_col[i] >= 0 ? c->values[i] : "";
}

/* a key value equals want; columns the file lacks match when absent_ok
 * (rows written before math and conv_algo existed are fp32 / heuristic) */
static int key_is(const rundir *d, const rundir_config *c, const char *name, const char *want, int absent_ok)
{
    long i = rundir_key_index(d, name);
    if (i < 0 || d->key_col[i] < 0) return absent_ok;
    return !strcmp(c->values[i], want);
}

static int key_int_is(const rundir *d, const rundir_config *c, const char *name, int want)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%d", want);
    return key_is(d, c, name, buf, 0);
}

/* a positive integer key value; 0 ok, -1 with `file:line: ...` in err */
static int key_int(const rundir *d, const rundir_config *c, const char *name, int *out, char *err, size_t err_len)
{
    const char *s = key_value(d, c, name);
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (*s && !*end && !errno && v >= 1 && v <= 1000000000L) {
        *out = (int)v;
        return 0;
    }
    snprintf(err, err_len, "%s:%zu: column '%s': must be a positive integer (got '%.40s')", d->results.name,
             csv_row_line(&d->results, c->first_row), name, s);
    return -1;
}

/* the key columns that size each model and their values in want */
static size_t model_dims(const model_config *m, const char *names[5], int values[5])
{
    static const char *const mlp[] = {"input_dim", "hidden", "layers"};
    static const char *const cnn[] = {"width", "stages", "blocks"};
    static const char *const gpt[] = {"vocab", "seq", "d_model", "heads", "layers"};
    const int mlp_v[] = {m->input_dim, m->hidden, m->layers}, cnn_v[] = {m->width, m->stages, m->blocks};
    const int gpt_v[] = {m->vocab, m->seq, m->d_model, m->heads, m->layers};
    const char *const *n = m->kind == MODEL_MLP ? mlp : m->kind == MODEL_CNN ? cnn : gpt;
    const int *v = m->kind == MODEL_MLP ? mlp_v : m->kind == MODEL_CNN ? cnn_v : gpt_v;
    size_t count = m->kind == MODEL_GPT ? 5 : 3;
    for (size_t i = 0; i < count; i++) {
        names[i] = n[i];
        values[i] = v[i];
    }
    return count;
}

/* the model's configurations: engine, model, dimensions, norm, optimizer,
 * math, conv_algo (see plan_points.h) */
static int same_model(const rundir *d, const rundir_config *c, const run_config *want)
{
    const model_config *m = &want->model;
    const char *names[5];
    int values[5];
    size_t n_dims = model_dims(m, names, values);
    if (!key_is(d, c, "engine", "accumbench", 1) || !key_is(d, c, "model", model_name(m->kind), 0)) return 0;
    for (size_t i = 0; i < n_dims; i++)
        if (!key_int_is(d, c, names[i], values[i])) return 0;
    if (m->kind == MODEL_CNN && !key_is(d, c, "norm", norm_name(m->norm), 0)) return 0;
    return key_is(d, c, "optimizer", optimizer_name(want->optimizer), 0) &&
           key_is(d, c, "math", want->math_tf32 ? "tf32" : "fp32", 1) &&
           key_is(d, c, "conv_algo", want->conv_algo_find ? "find" : "heuristic", 1);
}

/* the configuration's recompute value: rows made before the column existed
 * are none (rundir_absent_key_cell); 0 ok, -1 with `file:line: ...` in err */
static int config_recompute(const rundir *d, const rundir_config *c, recompute_kind *out, char *err, size_t err_len)
{
    long i = rundir_key_index(d, "recompute");
    const char *v = i >= 0 && d->key_col[i] >= 0 ? c->values[i] : rundir_absent_key_cell("recompute");
    if (recompute_from_name(v, out) == 0) return 0;
    snprintf(err, err_len, "%s:%zu: column 'recompute': '%.40s' is not none or blocks", d->results.name,
             csv_row_line(&d->results, c->first_row), v);
    return -1;
}

/* one point from a configuration with ok repeats; 0 ok, -1 with err */
static int config_point(const rundir *d, const rundir_config *c, plan_point *p, char *err, size_t err_len)
{
    static const char *const split[] = {"micro_batch", "iter_size", "effective_batch", "last_micro_batch"};
    int *dst[4] = {&p->micro_batch, &p->iter_size, &p->effective_batch, &p->last_micro_batch};
    memset(p, 0, sizeof *p);
    const char *sname = key_value(d, c, "strategy");
    if (strategy_from_name(sname, &p->strategy)) {
        snprintf(err, err_len, "%s:%zu: column 'strategy': '%s' is not full, retain or accumulate", d->results.name,
                 csv_row_line(&d->results, c->first_row), sname);
        return -1;
    }
    for (int i = 0; i < 4; i++)
        if (key_int(d, c, split[i], dst[i], err, err_len)) return -1;
    if (config_recompute(d, c, &p->recompute, err, err_len)) return -1;
    for (int f = 0; f < PLAN_FIG_COUNT; f++) {
        int m = rundir_mem_index(plan_figure_column((plan_figure)f));
        p->mem_bytes[f] = m >= 0 && !isnan(c->mem[m]) ? c->mem[m] : -1;
    }
    p->step_ns = isnan(c->step_median_ns) ? -1 : c->step_median_ns;
    return 0;
}

int plan_read_results(const char *dir, const run_config *c, const int use_recompute[PLAN_RECOMPUTES],
                      plan_points *out, char *err, size_t err_len)
{
    static const char *const required[] = {"backend", "optimizer", "micro_batch", "iter_size", "effective_batch",
                                           "last_micro_batch", "step_median_ns", "mem_tracked_bytes"};
    rundir d;
    memset(out, 0, sizeof *out);
    if (rundir_load(&d, dir, 0, err, err_len) != 0) return -1;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (csv_column(&d.results, required[i], 0) < 0) {
            snprintf(err, err_len, "%s:1: no column '%s' (not a results.csv of accumbench)", d.results.name,
                     required[i]);
            goto fail;
        }
    int auto_backend = !strcmp(c->backend, "auto");
    for (size_t i = 0; i < d.n_configs; i++) {
        const rundir_config *cf = &d.configs[i];
        if (!same_model(&d, cf, c)) continue;
        const char *backend = key_value(&d, cf, "backend");
        if (!auto_backend && strcmp(backend, c->backend)) continue;
        recompute_kind r;
        if (config_recompute(&d, cf, &r, err, err_len)) goto fail;
        if (!use_recompute[r]) continue;
        if (!out->backend[0]) snprintf(out->backend, sizeof out->backend, "%s", backend);
        else if (strcmp(out->backend, backend)) {
            snprintf(err, err_len, "%s:%zu: rows of this model from both backends %s and %s; choose one with --backend",
                     d.results.name, csv_row_line(&d.results, cf->first_row), out->backend, backend);
            goto fail;
        }
        out->not_ok += (size_t)(cf->n_rows - cf->n_ok);
        plan_point p;
        if (config_point(&d, cf, &p, err, err_len)) goto fail;
        if (cf->n_ok == 0) continue;
        if (plan_points_add(out, &p)) {
            snprintf(err, err_len, "out of host memory");
            goto fail;
        }
    }
    rundir_free(&d);
    return 0;
fail:
    rundir_free(&d);
    plan_points_free(out);
    return -1;
}
