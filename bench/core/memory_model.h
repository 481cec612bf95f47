/* bench/core/memory_model.h — the analytic memory model: what a step must hold, from
 * the model's size functions, counted as the sub-allocator counts (each
 * tensor rounded up to OPS_ALIGN_BYTES). */
#ifndef ACCUMBENCH_MEMORY_H
#define ACCUMBENCH_MEMORY_H

#include "config.h"

typedef struct {
    size_t params, grads, optimizer, buffers;   /* P, G, O, BatchNorm running stats */
    size_t ones, workspace;                     /* bias-GEMM ones vector, conv + library workspaces */
    size_t activations;                         /* what the strategy keeps alive at once */
    size_t transient;                           /* largest backward temporaries */
    size_t total;
} memory_estimate;

/* conv_ws_bytes: the backend's conv workspace for this configuration;
 * library_ws_bytes: the workspace its libraries take (cuBLAS), 0 on the CPU */
memory_estimate memory_analytic(const model *m, const run_config *c, strategy_kind s, size_t conv_ws_bytes,
                                size_t library_ws_bytes);
/* the largest micro-batch the strategy runs */
int memory_max_batch(const run_config *c, strategy_kind s);

#endif
