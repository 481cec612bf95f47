/* bench/results/fragment.c — see fragment.h. Columns: every file starts with the key
 * columns of results.csv (engine … repeat); then
 *   steps.csv    step, kind, step_ns
 *   kernels.csv  phase, calls, total_ns, mean_ns, min_ns, max_ns, share, name
 *                (totals over the profiled steps; share of their summed time;
 *                name last, since demangled names contain commas)
 *   memory.csv   time_ns, bytes, phase, micro_batch (live bytes over one step)
 *   algos.csv    layer, direction, algorithm, workspace_bytes */
#include "fragment.h"
#include "grow.h"
#include "files.h"

#include <stdio.h>
#include <stdlib.h>

int step_log_add(step_log *s, step_kind kind, double ns)
{
    step_sample *v = grow_for_one(s->v, s->n, &s->cap, sizeof *v, 256);
    if (!v) return -1;
    s->v = v;
    s->v[s->n++] = (step_sample){ns, kind};
    return 0;
}

void step_log_free(step_log *s)
{
    free(s->v);
    s->v = NULL;
    s->n = s->cap = 0;
}

const char *step_kind_name(step_kind k)
{
    return k == STEP_WARMUP ? "warmup" : k == STEP_TIMED ? "timed" : "profiled";
}

static int write_steps(FILE *f, void *user)
{
    const fragment *fr = user;
    result_csv_key_header(f);
    fputs("step,kind,step_ns\r\n", f);
    for (size_t i = 0; i < fr->steps->n; i++) {
        result_csv_key_prefix(fr->row, f);
        fprintf(f, "%zu,%s,%.0f\r\n", i, step_kind_name(fr->steps->v[i].kind), fr->steps->v[i].ns);
    }
    return 0;
}

static int write_kernels(FILE *f, void *user)
{
    const fragment *fr = user;
    const kernel_table *t = fr->kernels;
    result_csv_key_header(f);
    fputs("phase,calls,total_ns,mean_ns,min_ns,max_ns,share,name\r\n", f);
    size_t *order = kernel_table_order(t);
    if (!order) return -1;
    for (size_t j = 0; j < t->n; j++) {
        const kernel_stat *k = &t->v[order[j]];
        result_csv_key_prefix(fr->row, f);
        fprintf(f, "%s,%llu,%.0f,%.17g,%.0f,%.0f,%.17g,", ops_phase_name(k->phase), (unsigned long long)k->calls,
                k->total_ns, k->total_ns / (double)k->calls, k->min_ns, k->max_ns,
                fr->profiled_ns > 0 ? k->total_ns / fr->profiled_ns : 0.0);
        result_csv_field(f, k->name);
        fputs("\r\n", f);
    }
    free(order);
    return 0;
}

static int write_memory(FILE *f, void *user)
{
    const fragment *fr = user;
    result_csv_key_header(f);
    fputs("time_ns,bytes,phase,micro_batch\r\n", f);
    for (size_t i = 0; fr->timeline && i < fr->timeline->n; i++) {
        const memory_event *e = &fr->timeline->v[i];
        result_csv_key_prefix(fr->row, f);
        fprintf(f, "%.0f,%zu,%s,%d\r\n", e->time_ns, e->bytes, ops_phase_name(e->phase), e->micro_batch);
    }
    return 0;
}

static int write_algos(FILE *f, void *user)
{
    const fragment *fr = user;
    result_csv_key_header(f);
    fputs("layer,direction,algorithm,workspace_bytes\r\n", f);
    for (size_t i = 0; i < fr->n_algos; i++) {
        const algo_row *a = &fr->algos[i];
        result_csv_key_prefix(fr->row, f);
        fprintf(f, "%d,%s,", a->layer, ops_conv_dir_name(a->dir));
        result_csv_field(f, a->algorithm);
        fprintf(f, ",%zu\r\n", a->workspace_bytes);
    }
    return 0;
}

static int write_results(FILE *f, void *user)
{
    const fragment *fr = user;
    result_print_csv_header(f);
    result_print_csv(fr->row, f);
    return 0;
}

int outputs_write_fragment(const char *dir, const fragment *f)
{
    static const struct { const char *name; int (*write)(FILE *, void *); } files[] = {
        {"steps.csv", write_steps},
        {"kernels.csv", write_kernels},
        {"memory.csv", write_memory},
        {"algos.csv", write_algos},
        {"results.csv", write_results},   /* last: marks the fragment complete */
    };
    if (files_mkdir_p(dir) != 0) return -1;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (files[i].write == write_algos && f->n_algos == 0) continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/%s", dir, files[i].name);
        if (files_write_atomic(path, files[i].write, (void *)f) != 0) return -1;
    }
    return 0;
}
