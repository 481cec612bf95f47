/* bench/cmd/plan/plan_points.c — see plan_points.h. */
#include "plan_points.h"
#include "csv.h"
#include "files.h"
#include "jsonread.h"
#include "results.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

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

int plan_point_from_json(const plan_json *o, plan_point *p, char *err, size_t err_len)
{
    static const char *ints[] = {"micro_batch", "iter_size", "effective_batch", "last_micro_batch"};
    double v[4];
    memset(p, 0, sizeof *p);
    if (strategy_from_name(plan_json_get(o, "strategy"), &p->strategy)) {
        snprintf(err, err_len, "no known 'strategy' in the row");
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
// children

typedef struct {
    char *p;
    size_t n, cap;
} growbuf;

static int grow_read(int fd, growbuf *b)
{
    if (b->cap - b->n < 4097) {
        size_t cap = b->cap ? 2 * b->cap : 16384;
        char *np = realloc(b->p, cap);
        if (!np) return -1;
        b->p = np;
        b->cap = cap;
    }
    ssize_t r = read(fd, b->p + b->n, b->cap - b->n - 1);
    if (r < 0) return errno == EINTR ? 1 : -1;
    b->n += (size_t)r;
    b->p[b->n] = '\0';
    return r == 0 ? 0 : 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int plan_spawn(char *const argv[], double timeout_s, plan_child *c)
{
    int out[2] = {-1, -1}, err[2] = {-1, -1};
    memset(c, 0, sizeof *c);
    if (pipe(out) != 0 || pipe(err) != 0) {
        int saved = errno;
        for (int i = 0; i < 2; i++) {
            if (out[i] >= 0) close(out[i]);
            if (err[i] >= 0) close(err[i]);
        }
        errno = saved;
        return -1;
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    posix_spawn_file_actions_addclose(&fa, out[0]);
    posix_spawn_file_actions_addclose(&fa, err[0]);
    posix_spawn_file_actions_addclose(&fa, out[1]);
    posix_spawn_file_actions_addclose(&fa, err[1]);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(out[1]);
    close(err[1]);
    if (rc != 0) {
        close(out[0]);
        close(err[0]);
        errno = rc;
        return -1;
    }
    growbuf bo = {0}, be = {0};
    struct pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    double deadline = now_s() + timeout_s;
    while (open_fds > 0) {
        double left = deadline - now_s();
        if (left <= 0) {
            c->timed_out = 1;
            kill(pid, SIGKILL);
            break;
        }
        int pr = poll(fds, 2, left > 1.0 ? 1000 : (int)(left * 1000) + 1);
        if (pr < 0 && errno != EINTR) break;
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
            int r = grow_read(fds[i].fd, i == 0 ? &bo : &be);
            if (r <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                open_fds--;
            }
        }
    }
    for (int i = 0; i < 2; i++)
        if (fds[i].fd >= 0) close(fds[i].fd);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    c->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    c->out = bo.p ? bo.p : strdup("");
    c->err = be.p ? be.p : strdup("");
    return 0;
}

void plan_child_free(plan_child *c)
{
    free(c->out);
    free(c->err);
    memset(c, 0, sizeof *c);
}

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
// results.csv

int plan_points_add(plan_points *p, const plan_point *q)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 16;
        plan_point *nv = realloc(p->v, cap * sizeof *nv);
        if (!nv) return -1;
        p->v = nv;
        p->cap = cap;
    }
    p->v[p->n++] = *q;
    return 0;
}

void plan_points_free(plan_points *p)
{
    free(p->v);
    memset(p, 0, sizeof *p);
}

/* a text cell equals want (an absent column never matches) */
static int cell_is(const csv_table *t, size_t row, long col, const char *want)
{
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, NULL) : NULL;
    return s && !strcmp(s, want);
}

static int cell_int_is(const csv_table *t, size_t row, long col, long long want)
{
    size_t len;
    long long v;
    const char *s = col >= 0 ? csv_get(t, row, (size_t)col, &len) : NULL;
    return s && csv_parse_int(s, len, &v) == 0 && v == want;
}

/* 0 ok, -1 with `file:line: column 'x': ...` in err */
static int cell_int(const csv_table *t, size_t row, long col, int *out, char *err, size_t err_len)
{
    double v;
    int rc = csv_get_double(t, row, col, &v, err, err_len);
    if (rc == 0 && v >= 1 && v <= 1e9 && v == floor(v)) {
        *out = (int)v;
        return 0;
    }
    if (rc >= 0)
        snprintf(err, err_len, "%s:%zu: column '%s': must be a positive integer", t->name, csv_row_line(t, row),
                 t->text + t->off[col]);
    return -1;
}

int plan_read_results(const char *dir, const run_config *c, plan_points *out, char *err, size_t err_len)
{
    static const char *required[] = {"backend", "model", "strategy", "optimizer", "micro_batch", "iter_size",
                                     "effective_batch", "last_micro_batch", "status", "step_median_ns",
                                     "mem_tracked_bytes"};
    char path[4096];
    csv_table t;
    memset(out, 0, sizeof *out);
    if (snprintf(path, sizeof path, "%s/results.csv", dir) >= (int)sizeof path) {
        snprintf(err, err_len, "--results: directory name too long");
        return -1;
    }
    if (csv_table_read(&t, path, (size_t)1 << 30, err, err_len) != 0) return -1;
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (csv_column(&t, required[i], 0) < 0) {
            snprintf(err, err_len, "%s:1: no column '%s' (not a results.csv of accumbench)", path, required[i]);
            csv_table_free(&t);
            return -1;
        }
#define COL(name) csv_column(&t, name, 0)
    long c_engine = COL("engine"), c_backend = COL("backend"), c_model = COL("model"), c_opt = COL("optimizer");
    long c_math = COL("math"), c_algo = COL("conv_algo"), c_strategy = COL("strategy"), c_status = COL("status");
    long c_dims[3], c_norm = COL("norm");
    int dims[3];
    int mlp = c->model.kind == MODEL_MLP;
    if (mlp) {
        c_dims[0] = COL("input_dim"), c_dims[1] = COL("hidden"), c_dims[2] = COL("layers");
        dims[0] = c->model.input_dim, dims[1] = c->model.hidden, dims[2] = c->model.layers;
    } else {
        c_dims[0] = COL("width"), c_dims[1] = COL("stages"), c_dims[2] = COL("blocks");
        dims[0] = c->model.width, dims[1] = c->model.stages, dims[2] = c->model.blocks;
    }
    long c_split[4] = {COL("micro_batch"), COL("iter_size"), COL("effective_batch"), COL("last_micro_batch")};
    long c_mem[PLAN_FIG_COUNT], c_step = COL("step_median_ns");
    for (int f = 0; f < PLAN_FIG_COUNT; f++) c_mem[f] = COL(plan_figure_column((plan_figure)f));
#undef COL
    int auto_backend = !strcmp(c->backend, "auto");
    for (size_t r = 0; r < t.nrows; r++) {
        if (c_engine >= 0 && !cell_is(&t, r, c_engine, "accumbench")) continue;
        if (!cell_is(&t, r, c_model, mlp ? "mlp" : "cnn")) continue;
        if (!cell_int_is(&t, r, c_dims[0], dims[0]) || !cell_int_is(&t, r, c_dims[1], dims[1]) ||
            !cell_int_is(&t, r, c_dims[2], dims[2]))
            continue;
        if (!mlp && !cell_is(&t, r, c_norm, norm_name(c->model.norm))) continue;
        if (!cell_is(&t, r, c_opt, optimizer_name(c->optimizer))) continue;
        /* rows written before these columns existed are fp32 / heuristic */
        if (c_math >= 0 && !cell_is(&t, r, c_math, c->math_tf32 ? "tf32" : "fp32")) continue;
        if (c_algo >= 0 && !cell_is(&t, r, c_algo, c->conv_algo_find ? "find" : "heuristic")) continue;
        const char *backend = csv_get(&t, r, (size_t)c_backend, NULL);
        if (!auto_backend && strcmp(backend, c->backend)) continue;
        if (!out->backend[0]) snprintf(out->backend, sizeof out->backend, "%s", backend);
        else if (strcmp(out->backend, backend)) {
            snprintf(err, err_len, "%s:%zu: rows of this model from both backends %s and %s; choose one with --backend",
                     path, csv_row_line(&t, r), out->backend, backend);
            goto fail;
        }
        plan_point p;
        memset(&p, 0, sizeof p);
        const char *sname = csv_get(&t, r, (size_t)c_strategy, NULL);
        if (strategy_from_name(sname, &p.strategy)) {
            snprintf(err, err_len, "%s:%zu: column 'strategy': '%s' is not full, retain or accumulate", path,
                     csv_row_line(&t, r), sname);
            goto fail;
        }
        if (!cell_is(&t, r, c_status, "ok")) {
            out->not_ok++;
            continue;
        }
        int *split[4] = {&p.micro_batch, &p.iter_size, &p.effective_batch, &p.last_micro_batch};
        for (int i = 0; i < 4; i++)
            if (cell_int(&t, r, c_split[i], split[i], err, err_len)) goto fail;
        for (int f = 0; f < PLAN_FIG_COUNT; f++) {
            int rc = csv_get_double(&t, r, c_mem[f], &p.mem_bytes[f], err, err_len);
            if (rc < 0) goto fail;
            if (rc > 0) p.mem_bytes[f] = -1;
        }
        int rc = csv_get_double(&t, r, c_step, &p.step_ns, err, err_len);
        if (rc < 0) goto fail;
        if (rc > 0) p.step_ns = -1;
        if (plan_points_add(out, &p)) {
            snprintf(err, err_len, "out of host memory");
            goto fail;
        }
    }
    csv_table_free(&t);
    return 0;
fail:
    csv_table_free(&t);
    plan_points_free(out);
    return -1;
}
