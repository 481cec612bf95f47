/* bench/memory.c — the analytic memory model (see memory.h). Activations:
 * full keeps A(B), retain keeps every micro-batch until its backward,
 * sum A(m_i), accumulate one at a time, max A(m_i). */
#include "memory.h"

int memory_max_batch(const run_config *c, strategy_kind s)
{
    return s == STRATEGY_FULL ? c->effective_batch : c->micro_batch;
}

memory_estimate memory_analytic(const model *m, const run_config *c, strategy_kind s, size_t workspace_bytes)
{
    memory_estimate e = {0};
    size_t block = ops_align(m->param_floats * sizeof(float));
    e.params = block;
    e.grads = block;
    e.optimizer = (c->optimizer == OPTIMIZER_ADAMW ? 2 : 1) * block;
    e.buffers = ops_align(m->buffer_floats * sizeof(float));
    int nmax = memory_max_batch(c, s);
    e.ones = ops_align((size_t)nmax * sizeof(float));
    e.workspace = ops_align(workspace_bytes);
    if (s == STRATEGY_FULL) e.activations = model_act_bytes(m, c->effective_batch);
    else if (s == STRATEGY_RETAIN)
        e.activations = (size_t)(c->iter_size - 1) * model_act_bytes(m, c->micro_batch) +
                        model_act_bytes(m, c->last_micro_batch);
    else e.activations = model_act_bytes(m, c->micro_batch);
    e.transient = model_grad_transient_bytes(m, nmax);
    e.total = e.params + e.grads + e.optimizer + e.buffers + e.ones + e.workspace + e.activations + e.transient;
    return e;
}
