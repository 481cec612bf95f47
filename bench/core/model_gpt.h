/* bench/core/model_gpt.h — the gpt model (design "Models"): nanoGPT's
 * parameter list, GPT-2 initialisation, its saved activations as numbered
 * slots, and the forward and backward passes over ops.h's GPT-2 ops. model.c
 * dispatches here when cfg.kind is MODEL_GPT; nothing else includes it. */
#ifndef ACCUMBENCH_MODEL_GPT_H
#define ACCUMBENCH_MODEL_GPT_H

#include "model.h"

const char *gpt_validate(const model_config *c, const int *batch_sizes, int n_sizes, char *err, size_t err_len);
int gpt_build(model *m);
void gpt_init_params(const model *m, uint64_t seed, float *params);

int gpt_slot_count(const model *m);
size_t gpt_act_bytes(const model *m, int n);
size_t gpt_grad_transient_bytes(const model *m, int n);

ops_status gpt_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a);
ops_status gpt_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, float w);

#endif
