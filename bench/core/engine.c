/* bench/core/engine.c — setting up one configuration and running optimizer steps
 * with the design's order of operations:
 *   full        F B over the whole effective batch
 *   retain      F1 ... Fk, then Bk ... B1 (each micro-batch freed as its backward ends)
 *   accumulate  F1 B1 ... Fk Bk
 * Gradients are zeroed once per step; backward always adds into them (ops.h's
 * += contract, which model.c relies on). Each pass is marked with
 * ops_set_phase: the dispatch observer (ops.h) reports every op with its
 * phase and micro-batch, which is how run records per-op times on the CPU and
 * how tests assert the order above without knowing the backend — keep it. */
#include "engine.h"
#include "ops_try.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

/* The data seed is derived from --seed so weights and data differ streams. */
#define DATA_SEED_SALT 0xD1B54A32D192ED03ull
/* Headroom over the analytic estimate when sizing the reservation: the
 * estimate is an upper bound on live bytes, this covers fragmentation. */
#define RESERVE_SLACK_BYTES ((size_t)64 << 20)
/* the most workspace --conv-algo find lets an algorithm take (PyTorch's
 * cudnn.benchmark has no fixed limit; this keeps find inside the reservation) */
#define ENGINE_FIND_WS_BYTES ((size_t)256 << 20)

/* mlp, cnn: N(0, 1) inputs and uniform class targets. gpt: each sample a
 * stream of seq + 1 uniform tokens, inputs the first seq and targets the
 * last seq (shifted by one); the tokens live in data_x's int32 bytes. */
static void synth_data(const engine *e, float *x, int32_t *y)
{
    rng r;
    rng_seed(&r, e->cfg.seed ^ DATA_SEED_SALT);
    size_t per = model_input_per_sample(&e->m);
    if (e->m.cfg.kind == MODEL_GPT) {
        int32_t *tok = (int32_t *)(void *)x;
        uint64_t vocab = (uint64_t)e->m.cfg.vocab;
        for (size_t i = 0; i < (size_t)e->cfg.effective_batch; i++) {
            int32_t prev = (int32_t)(rng_next(&r) % vocab);
            for (size_t j = 0; j < per; j++) {
                tok[i * per + j] = prev;
                prev = (int32_t)(rng_next(&r) % vocab);
                y[i * per + j] = prev;
            }
        }
        return;
    }
    for (size_t i = 0; i < (size_t)e->cfg.effective_batch; i++) {
        for (size_t j = 0; j < per; j++) x[i * per + j] = rng_normal(&r);
        y[i] = (int32_t)(rng_next(&r) % MODEL_CLASSES);
    }
}

static size_t data_x_bytes(const engine *e)
{
    return (size_t)e->cfg.effective_batch * model_input_per_sample(&e->m) * sizeof(float);
}

static size_t data_y_bytes(const engine *e)
{
    return (size_t)e->cfg.effective_batch * model_targets_per_sample(&e->m) * sizeof(int32_t);
}

ops_status engine_open(engine *e, const run_config *c, ops_backend *b)
{
    memset(e, 0, sizeof *e);
    e->cfg = *c;
    e->b = b;
    if (model_build(&e->m, &c->model) != 0) return OPS_ERR_OOM;
    size_t x_bytes = data_x_bytes(e), y_bytes = data_y_bytes(e);
    float *hx = malloc(x_bytes);
    int32_t *hy = malloc(y_bytes);
    ops_status st = hx && hy ? OPS_OK : OPS_ERR_OOM;
    if (st == OPS_OK) {
        synth_data(e, hx, hy);
        st = ops_alloc_untracked(b, x_bytes, (void **)&e->data_x);
    }
    if (st == OPS_OK) st = ops_alloc_untracked(b, y_bytes, (void **)&e->data_y);
    if (st == OPS_OK) st = ops_upload(b, e->data_x, hx, x_bytes);
    if (st == OPS_OK) st = ops_upload(b, e->data_y, hy, y_bytes);
    e->data_bytes = x_bytes + y_bytes;
    free(hx);
    free(hy);
    return st;
}

static memory_estimate estimate_for(engine *e, const strategy_kind *strategies, int n_strategies, size_t conv_ws,
                                     size_t lib_ws)
{
    memory_estimate worst = {0};
    for (int i = 0; i < n_strategies; i++) {
        memory_estimate est = memory_analytic(&e->m, &e->cfg, strategies[i], conv_ws, lib_ws);
        if (est.total > worst.total) worst = est;
        if (strategies[i] == e->cfg.strategy || i == 0) e->estimate = est;
    }
    return worst;
}

static int add_size(int sizes[3], int n, int size)
{
    for (int k = 0; k < n; k++)
        if (sizes[k] == size) return n;
    sizes[n] = size;
    return n + 1;
}

/* The distinct batch sizes the strategies run convolutions at (at most 3):
 * full the effective batch; retain and accumulate the micro-batch and the
 * last one. */
static int conv_batch_sizes(const run_config *c, const strategy_kind *strategies, int n_strategies, int sizes[3])
{
    int n = 0;
    for (int i = 0; i < n_strategies; i++) {
        if (strategies[i] == STRATEGY_FULL) {
            n = add_size(sizes, n, c->effective_batch);
        } else {
            n = add_size(sizes, n, c->micro_batch);
            n = add_size(sizes, n, c->last_micro_batch);
        }
    }
    return n;
}

/* one scratch workspace: the most any convolution needs at any size served */
static size_t conv_workspace(engine *e, const strategy_kind *strategies, int n_strategies)
{
    int sizes[3];
    int n = conv_batch_sizes(&e->cfg, strategies, n_strategies, sizes);
    size_t ws = 0;
    for (int i = 0; i < n; i++) {
        size_t w = model_workspace_bytes(&e->m, e->b, sizes[i]);
        if (w > ws) ws = w;
    }
    return ws;
}

/* --conv-algo find: let the backend time the algorithms of every convolution
 * at each batch size that will run, with scratch tensors from the arena. */
static ops_status find_conv_algos(engine *e, const strategy_kind *strategies, int n_strategies)
{
    const model *m = &e->m;
    int sizes[3];
    int n_sizes = conv_batch_sizes(&e->cfg, strategies, n_strategies, sizes);
    for (int li = 0; li < m->n_layers; li++) {
        const layer *l = &m->layers[li];
        if (l->kind != LAYER_CONV) continue;
        for (int si = 0; si < n_sizes; si++) {
            ops_conv_shape s = model_conv_shape(&l->conv, sizes[si]);
            float *x = NULL, *w = NULL, *y = NULL;
            void *ws = NULL;
            ops_status st = ops_alloc(e->b, (size_t)s.n * s.c * s.h * s.w * sizeof(float), (void **)&x);
            if (st == OPS_OK) st = ops_alloc(e->b, (size_t)s.k * s.c * s.r * s.r * sizeof(float), (void **)&w);
            if (st == OPS_OK) st = ops_alloc(e->b, (size_t)s.n * s.k * s.p * s.q * sizeof(float), (void **)&y);
            if (st == OPS_OK) st = ops_alloc(e->b, ENGINE_FIND_WS_BYTES, &ws);
            for (int d = 0; d < OPS_CONV_DIR_COUNT && st == OPS_OK; d++)
                st = ops_conv_find(e->b, &s, (ops_conv_dir)d, x, w, y, ws, ENGINE_FIND_WS_BYTES);
            ops_free(e->b, ws);
            ops_free(e->b, y);
            ops_free(e->b, w);
            ops_free(e->b, x);
            if (st != OPS_OK) return st;
        }
    }
    return OPS_OK;
}

ops_status engine_prepare(engine *e, const strategy_kind *strategies, int n_strategies)
{
    const run_config *c = &e->cfg;
    TRY(ops_set_math(e->b, c->math_tf32));
    size_t nmax = 0;    /* the ones vector: a row per token of the largest micro-batch */
    for (int i = 0; i < n_strategies; i++) {
        size_t n = (size_t)memory_max_batch(c, strategies[i]) * (size_t)model_rows_per_sample(&e->m);
        if (n > nmax) nmax = n;
    }
    size_t lib_ws = ops_library_workspace_bytes(e->b);
    size_t ws = conv_workspace(e, strategies, n_strategies);
    size_t need = estimate_for(e, strategies, n_strategies, ws, lib_ws).total;
    int find = c->conv_algo_find && ops_can_find_conv(e->b);
    size_t cap = c->mem_limit_bytes ? (size_t)c->mem_limit_bytes : ops_default_cap_bytes(e->b);
    size_t capacity = need + need / 4 + RESERVE_SLACK_BYTES + (find ? ENGINE_FIND_WS_BYTES : 0);
    /* On a device the reservation is the memory: the cap bounds it. In host
     * memory only the live-byte count is capped, so the first-fit arena's
     * gaps from out-of-order frees cannot turn a peak under the cap into an
     * OOM (seen at 1.05x a cnn's peak). */
    if (capacity > cap && !e->b->i->host_memory) capacity = cap;
    TRY(ops_reserve(e->b, capacity, cap));

    const model *m = &e->m;
    model_state *st = &e->st;
    size_t pf = m->param_floats;
    TRY(alloc_floats(e->b, pf, &st->params));
    TRY(alloc_floats(e->b, pf, &st->grads));
    TRY(alloc_floats(e->b, pf, &e->opt_a));
    if (c->optimizer == OPTIMIZER_ADAMW) TRY(alloc_floats(e->b, pf, &e->opt_b));
    TRY(alloc_floats(e->b, m->buffer_floats, &st->buffers));
    TRY(alloc_floats(e->b, nmax, &st->ones));
    TRY(ops_alloc(e->b, lib_ws, &e->library_ws));
    TRY(ops_set_library_workspace(e->b, e->library_ws, lib_ws));
    if (find) {
        TRY(find_conv_algos(e, strategies, n_strategies));
        ws = conv_workspace(e, strategies, n_strategies);
        estimate_for(e, strategies, n_strategies, ws, lib_ws);
    }
    TRY(ops_alloc(e->b, ws, &st->ws));
    st->ws_bytes = ws;

    float *hp = calloc(pf + m->buffer_floats + 1, sizeof(float));
    if (!hp) return OPS_ERR_OOM;
    model_init_params(m, c->seed, hp, hp + pf);
    ops_status s = ops_upload(e->b, st->params, hp, pf * sizeof(float));
    if (s == OPS_OK) s = ops_upload(e->b, st->buffers, hp + pf, m->buffer_floats * sizeof(float));
    free(hp);
    TRY(s);
    TRY(ops_fill(e->b, pf, e->opt_a, 0.0f));
    if (e->opt_b) TRY(ops_fill(e->b, pf, e->opt_b, 0.0f));
    TRY(ops_fill(e->b, nmax, st->ones, 1.0f));

    e->n_acts = c->iter_size;
    e->acts = calloc((size_t)e->n_acts, sizeof *e->acts);
    if (!e->acts) return OPS_ERR_OOM;
    for (int i = 0; i < e->n_acts; i++)
        if (model_acts_init(m, &e->acts[i]) != 0) return OPS_ERR_OOM;
    return ops_synchronize(e->b);
}

void engine_close(engine *e)
{
    for (int i = 0; i < e->n_acts; i++) {
        if (e->acts[i].val || e->acts[i].saved) model_acts_release(&e->m, e->b, &e->acts[i]);
        model_acts_destroy(&e->acts[i]);
    }
    free(e->acts);
    if (e->b && e->b->i) {
        ops_free_untracked(e->b, e->data_x, data_x_bytes(e));
        ops_free_untracked(e->b, e->data_y, data_y_bytes(e));
    }
    model_free(&e->m);
    memset(e, 0, sizeof *e);
}

// ----------------------------------------------------------------------------
// one optimizer step

static void bind_micro_batch(engine *e, model_acts *a, int first_sample, int n)
{
    a->n = n;
    a->input = e->data_x + (size_t)first_sample * model_input_per_sample(&e->m);
    a->tokens = (const int32_t *)(const void *)a->input;
    a->targets = e->data_y + (size_t)first_sample * model_targets_per_sample(&e->m);
}

static ops_status forward_micro_batch(engine *e, int i, int first_sample, int n, model_acts *a)
{
    ops_set_phase(e->b, OPS_PHASE_FORWARD, i + 1);
    bind_micro_batch(e, a, first_sample, n);
    return model_forward(&e->m, e->b, &e->st, a);
}

static ops_status backward_micro_batch(engine *e, int i, model_acts *a, float weight)
{
    ops_set_phase(e->b, OPS_PHASE_BACKWARD, i + 1);
    return model_backward(&e->m, e->b, &e->st, a, weight);
}

static ops_status run_passes(engine *e, strategy_kind s)
{
    const run_config *c = &e->cfg;
    int k = c->iter_size, m = c->micro_batch;
    switch (s) {
    case STRATEGY_FULL:
        /* full is the reference: the mean over the whole effective batch */
        TRY(forward_micro_batch(e, 0, 0, c->effective_batch, &e->acts[0]));
        return backward_micro_batch(e, 0, &e->acts[0], 1.0f);
    case STRATEGY_RETAIN:
        for (int i = 0; i < k; i++) TRY(forward_micro_batch(e, i, i * m, config_micro_batch_size(c, i), &e->acts[i]));
        for (int i = k - 1; i >= 0; i--) TRY(backward_micro_batch(e, i, &e->acts[i], config_loss_weight(c, i)));
        return OPS_OK;
    case STRATEGY_ACCUMULATE:
        for (int i = 0; i < k; i++) {
            TRY(forward_micro_batch(e, i, i * m, config_micro_batch_size(c, i), &e->acts[0]));
            TRY(backward_micro_batch(e, i, &e->acts[0], config_loss_weight(c, i)));
        }
        return OPS_OK;
    case STRATEGY_COUNT:
        break;
    }
    return OPS_ERR_INVALID;
}

static ops_status optimizer_step(engine *e)
{
    size_t n = e->m.param_floats;
    e->opt_t++;
    if (e->cfg.optimizer == OPTIMIZER_SGD) {
        ops_sgd_hparams h = {0.01f, 0.9f, 0.0f};
        return ops_sgd_step(e->b, n, e->st.params, e->st.grads, e->opt_a, &h);
    }
    /* torch.optim.AdamW defaults */
    ops_adamw_hparams h = {1e-3f, 0.9f, 0.999f, 1e-8f, 1e-2f, e->opt_t};
    return ops_adamw_step(e->b, n, e->st.params, e->st.grads, e->opt_a, e->opt_b, &h);
}

ops_status engine_step(engine *e, strategy_kind s, int update)
{
    ops_set_phase(e->b, OPS_PHASE_OTHER, 0);
    ops_status st = ops_fill(e->b, e->m.param_floats, e->st.grads, 0.0f);
    if (st == OPS_OK) st = run_passes(e, s);
    if (st != OPS_OK) {
        for (int i = 0; i < e->n_acts; i++) model_acts_release(&e->m, e->b, &e->acts[i]);
        ops_set_phase(e->b, OPS_PHASE_OTHER, 0);
        return st;
    }
    if (update) {
        ops_set_phase(e->b, OPS_PHASE_OPTIMIZER, 0);
        st = optimizer_step(e);
    }
    ops_set_phase(e->b, OPS_PHASE_OTHER, 0);
    return st;
}
