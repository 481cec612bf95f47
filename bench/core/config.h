/* bench/core/config.h — one configuration of a run: model, strategy, split,
 * optimizer, backend and measurement settings, as parsed from the flags. */
#ifndef ACCUMBENCH_CONFIG_H
#define ACCUMBENCH_CONFIG_H

#include "model.h"

#include <stdint.h>

typedef enum { STRATEGY_FULL, STRATEGY_RETAIN, STRATEGY_ACCUMULATE, STRATEGY_COUNT } strategy_kind;
typedef enum { LOSS_NORM_MEAN, LOSS_NORM_GLOBAL, LOSS_NORM_SUM } loss_norm_kind;
typedef enum { OPTIMIZER_SGD, OPTIMIZER_ADAMW } optimizer_kind;

typedef struct {
    char backend[8];            /* auto | cpu | cuda */
    model_config model;
    strategy_kind strategy;
    loss_norm_kind loss_norm;
    /* split: effective_batch = (iter_size - 1) * micro_batch + last_micro_batch;
     * strategy full runs the whole effective batch as one micro-batch */
    int micro_batch, iter_size, effective_batch, last_micro_batch;
    optimizer_kind optimizer;
    int math_tf32;
    int conv_algo_find;
    /* where tracked memory comes from: DEFAULT = the backend's choice (a
     * device pool on the GPU); the run writes back what is in force on a
     * device backend and leaves DEFAULT on the host, where there is no choice */
    ops_allocator allocator;
    uint64_t seed;
    uint64_t mem_limit_bytes;   /* 0: the backend's default cap */
    /* the stopping rule (measure/stats.h): noise once min_steps and
     * min_time_s of timed steps ran; max_steps and max_time_s cap it */
    double noise;
    int min_steps, max_steps;
    double min_time_s, max_time_s;
    int warmup;
} run_config;

const char *strategy_name(strategy_kind s);
const char *loss_norm_name(loss_norm_kind l);
const char *model_name(model_kind k);
const char *norm_name(norm_kind n);
const char *optimizer_name(optimizer_kind o);
const char *recompute_name(recompute_kind r);

/* micro-batch sizes of the split, in order (k entries) */
int config_micro_batch_size(const run_config *c, int i);
/* the loss weight of micro-batch i (0-based) for the configured loss_norm */
float config_loss_weight(const run_config *c, int i);

#endif
