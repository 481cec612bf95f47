/* bench/core/config.c — see config.h: the names of the enums and the split's
 * arithmetic (micro-batch sizes, loss weights), shared by every layer above. */
#include "config.h"

const char *strategy_name(strategy_kind s)
{
    static const char *n[] = {"full", "retain", "accumulate"};
    return (unsigned)s < STRATEGY_COUNT ? n[s] : "?";
}

const char *loss_norm_name(loss_norm_kind l)
{
    static const char *n[] = {"mean", "global", "sum"};
    return n[l];
}

const char *model_name(model_kind k)
{
    static const char *n[] = {"mlp", "cnn", "gpt"};
    return n[k];
}

const char *norm_name(norm_kind k)
{
    static const char *n[] = {"none", "batch", "group"};
    return n[k];
}

const char *recompute_name(recompute_kind r) { return r == RECOMPUTE_BLOCKS ? "blocks" : "none"; }

const char *optimizer_name(optimizer_kind o) { return o == OPTIMIZER_SGD ? "sgd" : "adamw"; }

int config_micro_batch_size(const run_config *c, int i)
{
    return i == c->iter_size - 1 ? c->last_micro_batch : c->micro_batch;
}

float config_loss_weight(const run_config *c, int i)
{
    switch (c->loss_norm) {
    case LOSS_NORM_MEAN: return 1.0f / (float)c->iter_size;
    case LOSS_NORM_GLOBAL: return (float)config_micro_batch_size(c, i) / (float)c->effective_batch;
    case LOSS_NORM_SUM: return 1.0f;
    }
    return 1.0f;
}
