/* bench/measure/records.c — see records.h. Tables are small (tens of distinct
 * (phase, op) pairs), so lookup is linear. */
#include "records.h"
#include "grow.h"
#include "clock.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int kernel_table_add(kernel_table *t, ops_phase phase, const char *name, double ns)
{
    for (size_t i = 0; i < t->n; i++) {
        kernel_stat *k = &t->v[i];
        if (k->phase != phase || strcmp(k->name, name) != 0) continue;
        k->calls++;
        k->total_ns += ns;
        if (ns < k->min_ns) k->min_ns = ns;
        if (ns > k->max_ns) k->max_ns = ns;
        return 0;
    }
    kernel_stat *v = grow_for_one(t->v, t->n, &t->cap, sizeof *v, 32);
    if (!v) return -1;
    t->v = v;
    kernel_stat *k = &t->v[t->n++];
    memset(k, 0, sizeof *k);
    k->phase = phase;
    size_t len = strlen(name);
    if (len >= sizeof k->name) len = sizeof k->name - 1;
    memcpy(k->name, name, len);
    k->calls = 1;
    k->total_ns = k->min_ns = k->max_ns = ns;
    return 0;
}

void kernel_table_free(kernel_table *t)
{
    free(t->v);
    memset(t, 0, sizeof *t);
}

static const kernel_table *sort_table;

static int by_total_desc(const void *a, const void *b)
{
    double x = sort_table->v[*(const size_t *)a].total_ns, y = sort_table->v[*(const size_t *)b].total_ns;
    return (x < y) - (x > y);
}

size_t *kernel_table_order(const kernel_table *t)
{
    size_t *idx = malloc((t->n ? t->n : 1) * sizeof *idx);
    if (!idx) return NULL;
    for (size_t i = 0; i < t->n; i++) idx[i] = i;
    sort_table = t;
    qsort(idx, t->n, sizeof *idx, by_total_desc);
    return idx;
}

void memory_timeline_free(memory_timeline *m)
{
    free(m->v);
    memset(m, 0, sizeof *m);
}

static void rec_op(void *user, const char *op, ops_phase phase, int mb)
{
    (void)op, (void)phase, (void)mb;
    op_recorder *r = user;
    r->ops++;
    r->op_start_ns = clock_now_ns();
}

static void rec_op_end(void *user, const char *op, ops_phase phase, int mb)
{
    (void)mb;
    op_recorder *r = user;
    if (!r->kernels) return;
    char name[128];
    /* CPU "kernels" are the backend's functions: cpu_<op> */
    snprintf(name, sizeof name, "cpu_%s", op);
    kernel_table_add(r->kernels, phase, name, clock_now_ns() - r->op_start_ns);
}

static void rec_mem(void *user, size_t live, ops_phase phase, int mb)
{
    op_recorder *r = user;
    memory_timeline *m = r->timeline;
    if (!m) return;
    if (m->n == m->cap) {
        size_t cap = m->cap ? 2 * m->cap : 1024;
        memory_event *v = realloc(m->v, cap * sizeof *v);
        if (!v) return;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n++] = (memory_event){clock_now_ns() - r->step_start_ns, live, phase, mb};
}

ops_observer op_recorder_observer(op_recorder *r)
{
    ops_observer o = {r, rec_op, rec_op_end, rec_mem};
    return o;
}

// ----------------------------------------------------------------------------
// device records

static void dev_kernel(void *user, ops_phase phase, const char *name, uint64_t start_ns, uint64_t end_ns)
{
    device_recorder *r = user;
    r->launches++;
    kernel_table_add(r->kernels, phase, name, (double)(end_ns - start_ns));
    if (r->n_iv == r->cap_iv) {
        size_t cap = r->cap_iv ? 2 * r->cap_iv : 1024;
        uint64_t(*iv)[2] = realloc(r->iv, cap * sizeof *iv);
        if (!iv) return;
        r->iv = iv;
        r->cap_iv = cap;
    }
    r->iv[r->n_iv][0] = start_ns;
    r->iv[r->n_iv][1] = end_ns;
    r->n_iv++;
}

static void dev_transfer(void *user, int is_memset, uint64_t bytes, uint64_t start_ns, uint64_t end_ns)
{
    (void)is_memset, (void)start_ns, (void)end_ns;
    device_recorder *r = user;
    r->transfer_bytes += bytes;
}

ops_profile_sink device_recorder_sink(device_recorder *r)
{
    ops_profile_sink s = {r, dev_kernel, dev_transfer};
    return s;
}

static int by_start(const void *a, const void *b)
{
    uint64_t x = ((const uint64_t *)a)[0], y = ((const uint64_t *)b)[0];
    return (x > y) - (x < y);
}

double device_recorder_busy_ns(device_recorder *r)
{
    qsort(r->iv, r->n_iv, sizeof *r->iv, by_start);
    double busy = 0;
    uint64_t lo = 0, hi = 0;
    for (size_t i = 0; i < r->n_iv; i++) {
        if (i == 0 || r->iv[i][0] > hi) {
            busy += (double)(hi - lo);
            lo = r->iv[i][0];
            hi = r->iv[i][1];
        } else if (r->iv[i][1] > hi) {
            hi = r->iv[i][1];
        }
    }
    busy += (double)(hi - lo);
    r->n_iv = 0;
    return busy;
}

void device_recorder_free(device_recorder *r)
{
    free(r->iv);
    r->iv = NULL;
    r->n_iv = r->cap_iv = 0;
}
