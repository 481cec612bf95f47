/* bench/core/engine.h — one configuration made runnable: the model, its tracked
 * memory (parameters, gradients, optimizer state, workspace), the synthetic
 * data, and the optimizer step of each strategy. */
#ifndef ACCUMBENCH_ENGINE_H
#define ACCUMBENCH_ENGINE_H

#include "config.h"
#include "memory_model.h"

typedef struct {
    run_config cfg;
    ops_backend *b;
    model m;
    model_state st;
    float *opt_a, *opt_b;       /* SGD momentum, or AdamW first and second moments */
    void *library_ws;           /* the backend libraries' workspace (cuBLAS), tracked */
    float *data_x;              /* (effective_batch, input) untracked; gpt: int32 tokens (effective_batch, seq) */
    int32_t *data_y;            /* (effective_batch) untracked; gpt: (effective_batch, seq) */
    size_t data_bytes;
    model_acts *acts;           /* one per micro-batch (retain keeps all) */
    int n_acts;
    int opt_t;
    memory_estimate estimate;   /* for cfg.strategy */
} engine;

/* Builds the model and uploads the data (untracked); nothing tracked yet. */
ops_status engine_open(engine *e, const run_config *c, ops_backend *b);
/* Reserves tracked memory for the given strategies (the largest estimate) and
 * allocates parameters, gradients, optimizer state and workspace. */
ops_status engine_prepare(engine *e, const strategy_kind *strategies, int n_strategies);
void engine_close(engine *e);

/* One optimizer step of `s`: zero grads, the strategy's passes, and the
 * update when `update` is set (verify compares gradients before it). */
ops_status engine_step(engine *e, strategy_kind s, int update);

#endif
