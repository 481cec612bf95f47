/* bench/core/memory_model.c — the analytic memory model (see memory_model.h). Activations:
 * full keeps A(B), retain keeps every micro-batch until its backward,
 * sum A(m_i), accumulate one at a time, max A(m_i). */
#include "memory_model.h"

int memory_max_batch(const run_config *c, strategy_kind s)
{
    return s == STRATEGY_FULL ? c->effective_batch : c->micro_batch;
}

memory_estimate memory_analytic(const model *m, const run_config *c, strategy_kind s, size_t conv_ws_bytes,
                                size_t library_ws_bytes)
{
    memory_estimate e = {0};
    size_t block = ops_align(m->param_floats * sizeof(float));
    e.params = block;
    e.grads = block;
    e.optimizer = (c->optimizer == OPTIMIZER_ADAMW ? 2 : 1) * block;
    e.buffers = ops_align(m->buffer_floats * sizeof(float));
    int nmax = memory_max_batch(c, s);
    e.ones = ops_align((size_t)nmax * (size_t)model_rows_per_sample(m) * sizeof(float));
    e.workspace = ops_align(conv_ws_bytes) + ops_align(library_ws_bytes);
    /* the step's peak: the start of some micro-batch's backward, with every
     * micro-batch still held, plus that backward's transient */
    size_t peak;
    if (s == STRATEGY_FULL) {
        e.activations = model_act_bytes(m, c->effective_batch);
        peak = e.activations + model_grad_transient_bytes(m, c->effective_batch);
    } else if (s == STRATEGY_RETAIN) {
        size_t held = 0;
        peak = 0;
        for (int i = 0; i < c->iter_size; i++) {
            int n = config_micro_batch_size(c, i);
            held += model_act_bytes(m, n);
            if (i >= c->iter_size - 2) {    /* only the last two sizes differ */
                size_t p = held + model_grad_transient_bytes(m, n);
                if (p > peak) peak = p;
            }
        }
        e.activations = held;
    } else {
        size_t pm = model_act_bytes(m, c->micro_batch) + model_grad_transient_bytes(m, c->micro_batch);
        size_t pl = model_act_bytes(m, c->last_micro_batch) + model_grad_transient_bytes(m, c->last_micro_batch);
        peak = pm > pl ? pm : pl;
        e.activations = model_act_bytes(m, c->micro_batch);
    }
    e.transient = peak - e.activations;
    e.total = e.params + e.grads + e.optimizer + e.buffers + e.ones + e.workspace + e.activations + e.transient;
    return e;
}
