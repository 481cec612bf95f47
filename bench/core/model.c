/* bench/core/model.c — building the mlp and cnn layer lists, their size
 * functions, and the forward and backward passes over ops.h.
 *
 * Backward frees as autograd does: a value and its gradient go once the layer
 * that produced it has run its backward (every reader of the value ran its
 * backward before that). Activation gradients are assigned (beta 0) by the
 * first layer that produces them and added (beta 1) by later ones, which is
 * how the residual fan-out accumulates. Parameter gradients rely on ops.h's
 * += contract (every backward op adds into dW, dgamma, dbeta): nothing here
 * zeroes them, so micro-batches sum into one step's gradient — the engine
 * zeroes once per optimizer step. Keep that contract: it is what makes
 * retain and accumulate compute the same gradient. */
#include "model.h"
#include "model_gpt.h"
#include "ops_try.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t pad_floats(size_t n) { return ops_align(n * sizeof(float)) / sizeof(float); }

static int groups_for(int c) { return c < MODEL_MAX_GROUPS ? c : MODEL_MAX_GROUPS; }

// ----------------------------------------------------------------------------
// validation

const char *model_validate(const model_config *c, const int *batch_sizes, int n_sizes, char *err, size_t err_len)
{
    if (c->kind == MODEL_MLP) return NULL;
    if (c->kind == MODEL_GPT) return gpt_validate(c, batch_sizes, n_sizes, err, err_len);
    if (c->norm == NORM_GROUP) {
        for (int s = 0; s < c->stages; s++) {
            int ch = c->width << s;
            if (ch % groups_for(ch) != 0) {
                snprintf(err, err_len, "--width: %d channels in stage %d are not divisible into %d groups "
                         "(GroupNorm uses min(8, C) groups; use a width divisible by 8)", ch, s, groups_for(ch));
                return err;
            }
        }
    }
    if (c->norm == NORM_BATCH) {
        int hw = MODEL_IMAGE_HW >> (c->stages - 1);
        for (int i = 0; i < n_sizes; i++) {
            if ((long)batch_sizes[i] * hw * hw < 2) {
                snprintf(err, err_len, "--micro-batch: BatchNorm would see one value per channel "
                         "(a micro-batch of %d at %dx%d in the last stage); use larger micro-batches, "
                         "fewer stages or --norm group", batch_sizes[i], hw, hw);
                return err;
            }
        }
    }
    return NULL;
}

// ----------------------------------------------------------------------------
// building

typedef struct {
    model *m;
    int cap_layers, cap_values, cap_params, cap_blocks;
    int block;          /* the block layers go to now, -1 outside */
    int failed;
} builder;

static int add_value(builder *bd, int c, int h, int w)
{
    model *m = bd->m;
    if (m->n_values == bd->cap_values) {
        bd->cap_values = bd->cap_values ? 2 * bd->cap_values : 32;
        value_shape *v = realloc(m->values, (size_t)bd->cap_values * sizeof *v);
        if (!v) { bd->failed = 1; return 0; }
        m->values = v;
    }
    m->values[m->n_values] = (value_shape){c, h, w};
    return m->n_values++;
}

static layer *add_layer(builder *bd, layer_kind kind, int in0, int in1)
{
    model *m = bd->m;
    if (m->n_layers == bd->cap_layers) {
        bd->cap_layers = bd->cap_layers ? 2 * bd->cap_layers : 32;
        layer *l = realloc(m->layers, (size_t)bd->cap_layers * sizeof *l);
        if (!l) { bd->failed = 1; return NULL; }
        m->layers = l;
    }
    layer *l = &m->layers[m->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->block = bd->block;
    l->in[0] = in0;
    l->in[1] = in1;
    return l;
}

/* the layers added between begin_block and end_block form one block */
static void begin_block(builder *bd)
{
    model *m = bd->m;
    if (bd->failed) return;
    if (m->n_blocks == bd->cap_blocks) {
        bd->cap_blocks = bd->cap_blocks ? 2 * bd->cap_blocks : 16;
        model_block *b = realloc(m->blocks, (size_t)bd->cap_blocks * sizeof *b);
        if (!b) { bd->failed = 1; return; }
        m->blocks = b;
    }
    m->blocks[m->n_blocks] = (model_block){m->n_layers, m->n_layers};
    bd->block = m->n_blocks++;
}

static void end_block(builder *bd)
{
    if (!bd->failed) bd->m->blocks[bd->block].last = bd->m->n_layers - 1;
    bd->block = -1;
}

static int add_param(builder *bd, const char *prefix, const char *suffix, int ndim, const int *shape)
{
    model *m = bd->m;
    if (m->n_params == bd->cap_params) {
        bd->cap_params = bd->cap_params ? 2 * bd->cap_params : 32;
        model_param *p = realloc(m->params, (size_t)bd->cap_params * sizeof *p);
        if (!p) { bd->failed = 1; return 0; }
        m->params = p;
    }
    model_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, suffix);
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->offset = m->param_floats;
    m->param_floats += pad_floats(p->numel);
    return m->n_params++;
}

static int build_linear(builder *bd, const char *name, int in, int out_features)
{
    if (bd->failed) return 0;
    int in_features = bd->m->values[in].c * bd->m->values[in].h * bd->m->values[in].w;
    int out = add_value(bd, out_features, 1, 1);
    layer *l = add_layer(bd, LAYER_LINEAR, in, -1);
    if (!l) return 0;
    l->out = out;
    l->linear.in_features = in_features;
    l->linear.out_features = out_features;
    int ws[2] = {out_features, in_features};
    l->linear.weight = add_param(bd, name, "weight", 2, ws);
    l->linear.bias = add_param(bd, name, "bias", 1, &out_features);
    return out;
}

static int build_simple(builder *bd, layer_kind kind, int in0, int in1)
{
    if (bd->failed) return 0;
    value_shape s = bd->m->values[in0];
    int out = kind == LAYER_AVGPOOL ? add_value(bd, s.c, 1, 1) : add_value(bd, s.c, s.h, s.w);
    layer *l = add_layer(bd, kind, in0, in1);
    if (!l) return 0;
    l->out = out;
    if (kind == LAYER_AVGPOOL) l->pool = (pool_layer){s.c, s.h * s.w};
    return out;
}

static int build_conv(builder *bd, const char *name, int in, int k, int r, int stride, int pad)
{
    if (bd->failed) return 0;
    value_shape s = bd->m->values[in];
    int out = add_value(bd, k, ops_conv_out_dim(s.h, r, stride, pad), ops_conv_out_dim(s.w, r, stride, pad));
    layer *l = add_layer(bd, LAYER_CONV, in, -1);
    if (!l) return 0;
    l->out = out;
    l->conv = (conv_layer){s.c, s.h, s.w, k, r, stride, pad, 0};
    int ws[4] = {k, s.c, r, r};
    l->conv.weight = add_param(bd, name, "weight", 4, ws);
    return out;
}

/* norm none is the identity: no layer at all */
static int build_norm(builder *bd, const char *name, int in)
{
    norm_kind kind = bd->m->cfg.norm;
    if (bd->failed || kind == NORM_NONE) return in;
    value_shape s = bd->m->values[in];
    int out = add_value(bd, s.c, s.h, s.w);
    layer *l = add_layer(bd, LAYER_NORM, in, -1);
    if (!l) return 0;
    l->out = out;
    l->norm = (norm_layer){kind, s.c, s.h * s.w, groups_for(s.c), 0, 0, 0};
    l->norm.weight = add_param(bd, name, "weight", 1, &s.c);
    l->norm.bias = add_param(bd, name, "bias", 1, &s.c);
    if (kind == NORM_BATCH) {
        l->norm.running = bd->m->buffer_floats;
        bd->m->buffer_floats += 2 * pad_floats((size_t)s.c);
    }
    return out;
}

static void build_mlp(builder *bd)
{
    const model_config *c = &bd->m->cfg;
    int v = add_value(bd, c->input_dim, 1, 1);
    char name[32];
    for (int i = 0; i < c->layers; i++) {
        snprintf(name, sizeof name, "layers.%d", i);
        begin_block(bd);
        v = build_linear(bd, name, v, c->hidden);
        v = build_simple(bd, LAYER_RELU, v, -1);
        end_block(bd);
    }
    build_linear(bd, "fc", v, MODEL_CLASSES);
}

static void build_cnn(builder *bd)
{
    const model_config *c = &bd->m->cfg;
    int v = add_value(bd, MODEL_IMAGE_C, MODEL_IMAGE_HW, MODEL_IMAGE_HW);
    v = build_conv(bd, "stem.conv", v, c->width, 3, 1, 1);
    v = build_norm(bd, "stem.norm", v);
    v = build_simple(bd, LAYER_RELU, v, -1);
    char name[64];
    for (int s = 0; s < c->stages; s++) {
        int ch = c->width << s;
        for (int blk = 0; blk < c->blocks; blk++) {
            int down = s > 0 && blk == 0;
            int x = v;
            begin_block(bd);
#define NAME(part) (snprintf(name, sizeof name, "stages.%d.%d.%s", s, blk, part), name)
            v = build_conv(bd, NAME("conv1"), x, ch, 3, down ? 2 : 1, 1);
            v = build_norm(bd, NAME("norm1"), v);
            v = build_simple(bd, LAYER_RELU, v, -1);
            v = build_conv(bd, NAME("conv2"), v, ch, 3, 1, 1);
            v = build_norm(bd, NAME("norm2"), v);
            int shortcut = x;
            if (down) {
                shortcut = build_conv(bd, NAME("proj.conv"), x, ch, 1, 2, 0);
                shortcut = build_norm(bd, NAME("proj.norm"), shortcut);
            }
#undef NAME
            v = build_simple(bd, LAYER_ADD, v, shortcut);
            v = build_simple(bd, LAYER_RELU, v, -1);
            end_block(bd);
        }
    }
    v = build_simple(bd, LAYER_AVGPOOL, v, -1);
    build_linear(bd, "fc", v, MODEL_CLASSES);
}

int model_build(model *m, const model_config *c)
{
    memset(m, 0, sizeof *m);
    m->cfg = *c;
    builder bd = {m, 0, 0, 0, 0, -1, 0};
    if (c->kind == MODEL_GPT) bd.failed = gpt_build(m) != 0;
    else if (c->kind == MODEL_MLP) build_mlp(&bd);
    else build_cnn(&bd);
    if (bd.failed) {
        model_free(m);
        return -1;
    }
    return 0;
}

void model_free(model *m)
{
    free(m->layers);
    free(m->values);
    free(m->params);
    free(m->blocks);
    memset(m, 0, sizeof *m);
}

// ----------------------------------------------------------------------------
// sizes

static size_t value_per_sample(const model *m, int v)
{
    return (size_t)m->values[v].c * m->values[v].h * m->values[v].w;
}

size_t model_input_per_sample(const model *m)
{
    return m->cfg.kind == MODEL_GPT ? (size_t)m->cfg.seq : value_per_sample(m, 0);
}

size_t model_targets_per_sample(const model *m) { return m->cfg.kind == MODEL_GPT ? (size_t)m->cfg.seq : 1; }

int model_rows_per_sample(const model *m) { return m->cfg.kind == MODEL_GPT ? m->cfg.seq : 1; }

size_t model_value_bytes(const model *m, int value, int n)
{
    return ops_align((size_t)n * value_per_sample(m, value) * sizeof(float));
}

static size_t norm_stat_floats(const norm_layer *nl, int n)
{
    return nl->kind == NORM_BATCH ? (size_t)nl->c : (size_t)n * nl->groups;
}

/* 1 when layer li's output and statistics go after its block's forward and
 * come back in its recompute: every layer of a block but the last */
static int layer_recomputed(const model *m, int li)
{
    const layer *l = &m->layers[li];
    return m->cfg.recompute == RECOMPUTE_BLOCKS && l->block >= 0 && li != m->blocks[l->block].last;
}

/* bytes layer li's forward keeps: its output and a norm's statistics */
static size_t layer_kept_bytes(const model *m, int li, int n)
{
    const layer *l = &m->layers[li];
    size_t bytes = model_value_bytes(m, l->out, n);
    if (l->kind == LAYER_NORM) bytes += 2 * ops_align(norm_stat_floats(&l->norm, n) * sizeof(float));
    return bytes;
}

size_t model_act_bytes(const model *m, int n)
{
    if (m->cfg.kind == MODEL_GPT) return gpt_act_bytes(m, n);
    size_t bytes = 0;
    for (int i = 0; i < m->n_layers; i++)
        if (!layer_recomputed(m, i)) bytes += layer_kept_bytes(m, i, n);
    bytes += ops_align((size_t)n * MODEL_CLASSES * sizeof(float));     /* probs */
    bytes += ops_align((size_t)n * sizeof(float));                     /* losses */
    return bytes;
}

/* Walks backward over the shapes with model_backward's freeing rule: the
 * dlogits buffer comes first, probs and losses go; a block's last layer
 * first brings back what its recompute allocates; each layer allocates the
 * input gradients it is first to produce, then its output value, output
 * gradient and saved statistics go. The peak above the start of backward is
 * the transient. */
size_t model_grad_transient_bytes(const model *m, int n)
{
    if (m->cfg.kind == MODEL_GPT) return gpt_grad_transient_bytes(m, n);
    size_t fl = sizeof(float);
    long long live = (long long)ops_align((size_t)n * MODEL_CLASSES * fl), peak = live;
    live -= (long long)(ops_align((size_t)n * MODEL_CLASSES * fl) + ops_align((size_t)n * fl));
    unsigned char *has_grad = calloc((size_t)m->n_values, 1);
    if (!has_grad) return 0;
    for (int i = m->n_layers - 1; i >= 0; i--) {
        const layer *l = &m->layers[i];
        if (l->block >= 0 && i == m->blocks[l->block].last) {
            for (int r = m->blocks[l->block].first; r < i; r++)
                if (layer_recomputed(m, r)) live += (long long)layer_kept_bytes(m, r, n);
            if (live > peak) peak = live;
        }
        for (int j = 0; j < 2; j++) {
            int v = l->in[j];
            if (v <= 0 || has_grad[v]) continue;
            has_grad[v] = 1;
            live += (long long)model_value_bytes(m, v, n);
            if (live > peak) peak = live;
        }
        live -= 2 * (long long)model_value_bytes(m, l->out, n);
        if (l->kind == LAYER_NORM) live -= 2 * (long long)ops_align(norm_stat_floats(&l->norm, n) * fl);
    }
    free(has_grad);
    return (size_t)peak;
}

ops_conv_shape model_conv_shape(const conv_layer *cl, int n)
{
    return ops_conv_make(n, cl->c, cl->h, cl->w, cl->k, cl->r, cl->stride, cl->pad);
}

static ops_norm_shape norm_shape(const norm_layer *nl, int n)
{
    ops_norm_shape s = {n, nl->c, nl->hw, nl->groups, MODEL_NORM_EPS, MODEL_BN_MOMENTUM};
    return s;
}

size_t model_workspace_bytes(const model *m, ops_backend *b, int n)
{
    size_t worst = 0;
    for (int i = 0; i < m->n_layers; i++) {
        if (m->layers[i].kind != LAYER_CONV) continue;
        ops_conv_shape s = model_conv_shape(&m->layers[i].conv, n);
        for (int d = 0; d < OPS_CONV_DIR_COUNT; d++) {
            size_t ws = ops_conv_workspace_bytes(b, &s, (ops_conv_dir)d);
            if (ws > worst) worst = ws;
        }
    }
    return worst;
}

/* The five GEMMs of a Linear layer, x (n, in), W (out, in), b (out):
 * y = x W^T; y += 1 b^T; dW += dy^T x; db += dy^T 1; dx = dy W. */
static void linear_descs(const linear_layer *ll, int n, float dx_beta, ops_gemm_desc d[5])
{
    int in = ll->in_features, out = ll->out_features;
    d[0] = (ops_gemm_desc){0, 1, n, out, in, in, in, out, 1.0f, 0.0f};
    d[1] = (ops_gemm_desc){0, 0, n, out, 1, 1, out, out, 1.0f, 1.0f};
    d[2] = (ops_gemm_desc){1, 0, out, in, n, out, in, in, 1.0f, 1.0f};
    d[3] = (ops_gemm_desc){1, 0, out, 1, n, out, 1, 1, 1.0f, 1.0f};
    d[4] = (ops_gemm_desc){0, 0, n, in, out, out, in, in, 1.0f, dx_beta};
}

/* The shape walker: builds the model of c and asks `entries` of each layer,
 * in forward order, to write its shapes for a micro-batch of n at out[at..]
 * (those below cap) and return how many it has. */
typedef size_t (*layer_entries_fn)(const layer *l, int n, void *out, size_t at, size_t cap);

static size_t walk_shapes(const model_config *c, int n, layer_entries_fn entries, void *out, size_t cap)
{
    model m;
    if (model_build(&m, c) != 0) return 0;
    size_t count = 0;
    for (int i = 0; i < m.n_layers; i++) count += entries(&m.layers[i], n, out, count, cap);
    model_free(&m);
    return count;
}

static size_t conv_entries(const layer *l, int n, void *out, size_t at, size_t cap)
{
    if (l->kind != LAYER_CONV) return 0;
    if (at < cap) ((ops_conv_shape *)out)[at] = model_conv_shape(&l->conv, n);
    return 1;
}

static size_t norm_entries(const layer *l, int n, void *out, size_t at, size_t cap)
{
    if (l->kind != LAYER_NORM) return 0;
    if (at < cap) ((ops_norm_shape *)out)[at] = norm_shape(&l->norm, n);
    return 1;
}

/* a Linear layer's forward and backward GEMMs; the first layer has no dx */
static size_t gemm_entries(const layer *l, int n, void *out, size_t at, size_t cap)
{
    if (l->kind != LAYER_LINEAR) return 0;
    ops_gemm_desc d[5];
    linear_descs(&l->linear, n, 0.0f, d);
    size_t count = l->in[0] > 0 ? 5 : 4;
    for (size_t j = 0; j < count; j++)
        if (at + j < cap) ((ops_gemm_desc *)out)[at + j] = d[j];
    return count;
}

size_t model_conv_shapes(const model_config *c, int n, ops_conv_shape *out, size_t cap)
{
    return walk_shapes(c, n, conv_entries, out, cap);
}

size_t model_norm_shapes(const model_config *c, int n, ops_norm_shape *out, size_t cap)
{
    return walk_shapes(c, n, norm_entries, out, cap);
}

size_t model_gemm_descs(const model_config *c, int n, ops_gemm_desc *out, size_t cap)
{
    return walk_shapes(c, n, gemm_entries, out, cap);
}

// ----------------------------------------------------------------------------
// initialisation: PyTorch's default bounds, U(-1/sqrt(fan_in), 1/sqrt(fan_in))
// for Linear weight and bias and Conv2d weight (kaiming_uniform with a=sqrt(5));
// norm weight 1, bias 0; running mean 0, running var 1.

void model_init_params(const model *m, uint64_t seed, float *params, float *buffers)
{
    if (m->cfg.kind == MODEL_GPT) {
        gpt_init_params(m, seed, params);
        return;
    }
    rng r;
    rng_seed(&r, seed);
    memset(params, 0, m->param_floats * sizeof(float));
    for (int i = 0; i < m->n_layers; i++) {
        const layer *l = &m->layers[i];
        if (l->kind == LAYER_LINEAR) {
            float bound = 1.0f / sqrtf((float)l->linear.in_features);
            const model_param *w = &m->params[l->linear.weight], *bb = &m->params[l->linear.bias];
            for (size_t j = 0; j < w->numel; j++) params[w->offset + j] = rng_uniform(&r, -bound, bound);
            for (size_t j = 0; j < bb->numel; j++) params[bb->offset + j] = rng_uniform(&r, -bound, bound);
        } else if (l->kind == LAYER_CONV) {
            const model_param *w = &m->params[l->conv.weight];
            float bound = 1.0f / sqrtf((float)(l->conv.c * l->conv.r * l->conv.r));
            for (size_t j = 0; j < w->numel; j++) params[w->offset + j] = rng_uniform(&r, -bound, bound);
        } else if (l->kind == LAYER_NORM) {
            const model_param *w = &m->params[l->norm.weight];
            for (size_t j = 0; j < w->numel; j++) params[w->offset + j] = 1.0f;
            if (l->norm.kind == NORM_BATCH) {
                size_t c = (size_t)l->norm.c;
                for (size_t j = 0; j < c; j++) {
                    buffers[l->norm.running + j] = 0.0f;
                    buffers[l->norm.running + pad_floats(c) + j] = 1.0f;
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------
// passes

int model_acts_init(const model *m, model_acts *a)
{
    memset(a, 0, sizeof *a);
    if (m->cfg.kind == MODEL_GPT) {
        a->saved = calloc((size_t)gpt_slot_count(m), sizeof *a->saved);
        return a->saved ? 0 : -1;
    }
    a->val = calloc((size_t)m->n_values, sizeof *a->val);
    a->norm_mean = calloc((size_t)m->n_layers, sizeof *a->norm_mean);
    a->norm_rstd = calloc((size_t)m->n_layers, sizeof *a->norm_rstd);
    if (!a->val || !a->norm_mean || !a->norm_rstd) {
        model_acts_destroy(a);
        return -1;
    }
    return 0;
}

void model_acts_destroy(model_acts *a)
{
    free(a->val);
    free(a->norm_mean);
    free(a->norm_rstd);
    free(a->saved);
    memset(a, 0, sizeof *a);
}

void model_acts_release(const model *m, ops_backend *b, model_acts *a)
{
    for (int s = 0; a->saved && s < gpt_slot_count(m); s++) {
        ops_free(b, a->saved[s]);
        a->saved[s] = NULL;
    }
    for (int v = 1; v < m->n_values; v++) {
        ops_free(b, a->val[v]);
        a->val[v] = NULL;
    }
    for (int i = 0; i < m->n_layers; i++) {
        ops_free(b, a->norm_mean[i]);
        ops_free(b, a->norm_rstd[i]);
        a->norm_mean[i] = a->norm_rstd[i] = NULL;
    }
    ops_free(b, a->probs);
    ops_free(b, a->losses);
    a->probs = a->losses = NULL;
}

/* again: a recompute, whose BatchNorm computes the same batch statistics
 * but leaves the running ones as the first forward left them (momentum 0
 * keeps them exactly: (1 - 0) * old + 0 * batch) */
static ops_status layer_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a, int li,
                                int again)
{
    const layer *l = &m->layers[li];
    int n = a->n;
    const float *x = a->val[l->in[0]];
    float *y;
    TRY(alloc_floats(b, (size_t)n * value_per_sample(m, l->out), &y));
    a->val[l->out] = y;
    switch (l->kind) {
    case LAYER_LINEAR: {
        ops_gemm_desc d[5];
        linear_descs(&l->linear, n, 0.0f, d);
        TRY(ops_gemm(b, &d[0], x, st->params + m->params[l->linear.weight].offset, y));
        return ops_gemm(b, &d[1], st->ones, st->params + m->params[l->linear.bias].offset, y);
    }
    case LAYER_CONV: {
        ops_conv_shape s = model_conv_shape(&l->conv, n);
        return ops_conv2d_fwd(b, &s, x, st->params + m->params[l->conv.weight].offset, y, st->ws, st->ws_bytes);
    }
    case LAYER_NORM: {
        const norm_layer *nl = &l->norm;
        ops_norm_shape s = norm_shape(nl, n);
        if (again) s.momentum = 0.0f;
        size_t stats = norm_stat_floats(nl, n);
        TRY(alloc_floats(b, stats, &a->norm_mean[li]));
        TRY(alloc_floats(b, stats, &a->norm_rstd[li]));
        const float *gamma = st->params + m->params[nl->weight].offset;
        const float *beta = st->params + m->params[nl->bias].offset;
        if (nl->kind == NORM_BATCH) {
            float *run = st->buffers + nl->running;
            return ops_batchnorm_fwd(b, &s, x, gamma, beta, y, run, run + pad_floats((size_t)nl->c),
                                     a->norm_mean[li], a->norm_rstd[li]);
        }
        return ops_groupnorm_fwd(b, &s, x, gamma, beta, y, a->norm_mean[li], a->norm_rstd[li]);
    }
    case LAYER_RELU:
        return ops_relu_fwd(b, (size_t)n * value_per_sample(m, l->out), x, y);
    case LAYER_ADD:
        return ops_add(b, (size_t)n * value_per_sample(m, l->out), x, a->val[l->in[1]], y);
    case LAYER_AVGPOOL:
        return ops_avgpool_fwd(b, n, l->pool.c, l->pool.hw, x, y);
    }
    return OPS_ERR_INVALID;
}

static void free_layer_kept(ops_backend *b, model_acts *a, const layer *l, int li)
{
    ops_free(b, a->val[l->out]);
    ops_free(b, a->norm_mean[li]);
    ops_free(b, a->norm_rstd[li]);
    a->val[l->out] = a->norm_mean[li] = a->norm_rstd[li] = NULL;
}

/* with recompute blocks, what block bi computed inside goes as it ends */
static void drop_block_inside(const model *m, ops_backend *b, model_acts *a, int bi)
{
    for (int r = m->blocks[bi].first; r < m->blocks[bi].last; r++)
        if (layer_recomputed(m, r)) free_layer_kept(b, a, &m->layers[r], r);
}

/* block bi's inside again from its input, in phase recompute */
static ops_status recompute_block(const model *m, ops_backend *b, const model_state *st, model_acts *a, int bi)
{
    int micro = b->micro_batch;
    ops_set_phase(b, OPS_PHASE_RECOMPUTE, micro);
    ops_status s = OPS_OK;
    for (int r = m->blocks[bi].first; r < m->blocks[bi].last && s == OPS_OK; r++)
        if (layer_recomputed(m, r)) s = layer_forward(m, b, st, a, r, 1);
    ops_set_phase(b, OPS_PHASE_BACKWARD, micro);
    return s;
}

ops_status model_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a)
{
    if (m->cfg.kind == MODEL_GPT) return gpt_forward(m, b, st, a);
    a->val[0] = (float *)a->input;
    for (int i = 0; i < m->n_layers; i++) {
        TRY(layer_forward(m, b, st, a, i, 0));
        const layer *l = &m->layers[i];
        if (l->block >= 0 && i == m->blocks[l->block].last) drop_block_inside(m, b, a, l->block);
    }
    TRY(alloc_floats(b, (size_t)a->n * MODEL_CLASSES, &a->probs));
    TRY(alloc_floats(b, (size_t)a->n, &a->losses));
    return ops_softmax_xent_fwd(b, a->n, MODEL_CLASSES, a->val[m->n_values - 1], a->targets, a->probs, a->losses);
}

/* Gradient buffer for value v: allocated on first use (beta 0), then added to. */
static ops_status grad_target(ops_backend *b, const model *m, float **dval, int v, int n, float *beta)
{
    if (dval[v]) {
        *beta = 1.0f;
        return OPS_OK;
    }
    *beta = 0.0f;
    return alloc_floats(b, (size_t)n * value_per_sample(m, v), &dval[v]);
}

/* One layer's backward: parameter gradients added into st->grads (ops.h's
 * += contract: d[2], d[3] have beta 1, conv and norm backward add), the input
 * gradient assigned or added by grad_target's rule. */
static ops_status layer_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a,
                                 float **dval, int li)
{
    const layer *l = &m->layers[li];
    int n = a->n;
    int in = l->in[0];
    const float *x = a->val[in];
    const float *dy = dval[l->out];
    int need_dx = in > 0;     /* value 0 is the data: no gradient */
    float beta = 0.0f;
    switch (l->kind) {
    case LAYER_LINEAR: {
        ops_gemm_desc d[5];
        const model_param *w = &m->params[l->linear.weight], *bias = &m->params[l->linear.bias];
        linear_descs(&l->linear, n, 0.0f, d);
        TRY(ops_gemm(b, &d[2], dy, x, st->grads + w->offset));
        TRY(ops_gemm(b, &d[3], dy, st->ones, st->grads + bias->offset));
        if (!need_dx) return OPS_OK;
        TRY(grad_target(b, m, dval, in, n, &beta));
        d[4].beta = beta;
        return ops_gemm(b, &d[4], dy, st->params + w->offset, dval[in]);
    }
    case LAYER_CONV: {
        ops_conv_shape s = model_conv_shape(&l->conv, n);
        const model_param *w = &m->params[l->conv.weight];
        TRY(ops_conv2d_bwd_filter(b, &s, x, dy, st->grads + w->offset, st->ws, st->ws_bytes));
        if (!need_dx) return OPS_OK;
        TRY(grad_target(b, m, dval, in, n, &beta));
        return ops_conv2d_bwd_data(b, &s, st->params + w->offset, dy, beta, dval[in], st->ws, st->ws_bytes);
    }
    case LAYER_NORM: {
        const norm_layer *nl = &l->norm;
        ops_norm_shape s = norm_shape(nl, n);
        const model_param *g = &m->params[nl->weight], *bias = &m->params[nl->bias];
        TRY(grad_target(b, m, dval, in, n, &beta));
        if (nl->kind == NORM_BATCH)
            return ops_batchnorm_bwd(b, &s, x, dy, st->params + g->offset, a->norm_mean[li], a->norm_rstd[li], beta,
                                     dval[in], st->grads + g->offset, st->grads + bias->offset);
        return ops_groupnorm_bwd(b, &s, x, dy, st->params + g->offset, a->norm_mean[li], a->norm_rstd[li], beta,
                                 dval[in], st->grads + g->offset, st->grads + bias->offset);
    }
    case LAYER_RELU:
        TRY(grad_target(b, m, dval, in, n, &beta));
        return ops_relu_bwd(b, (size_t)n * value_per_sample(m, l->out), a->val[l->out], dy, beta, dval[in]);
    case LAYER_ADD:
        for (int j = 0; j < 2; j++) {
            size_t count = (size_t)n * value_per_sample(m, l->out);
            TRY(grad_target(b, m, dval, l->in[j], n, &beta));
            TRY(beta == 0.0f ? ops_copy(b, count, dy, dval[l->in[j]]) : ops_axpy(b, count, 1.0f, dy, dval[l->in[j]]));
        }
        return OPS_OK;
    case LAYER_AVGPOOL:
        TRY(grad_target(b, m, dval, in, n, &beta));
        return ops_avgpool_bwd(b, n, l->pool.c, l->pool.hw, dy, beta, dval[in]);
    }
    return OPS_ERR_INVALID;
}

ops_status model_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, float w)
{
    if (m->cfg.kind == MODEL_GPT) return gpt_backward(m, b, st, a, w);
    float **dval = calloc((size_t)m->n_values, sizeof *dval);
    if (!dval) return OPS_ERR_OOM;
    ops_status s = OPS_OK;
    int logits = m->n_values - 1;
    /* loss_i = w * mean_j CE_j, so dlogits = (w / n) * (p - onehot) */
    s = alloc_floats(b, (size_t)a->n * MODEL_CLASSES, &dval[logits]);
    if (s == OPS_OK)
        s = ops_softmax_xent_bwd(b, a->n, MODEL_CLASSES, a->probs, a->targets, w / (float)a->n, dval[logits]);
    ops_free(b, a->probs);
    ops_free(b, a->losses);
    a->probs = a->losses = NULL;
    for (int i = m->n_layers - 1; i >= 0 && s == OPS_OK; i--) {
        const layer *l = &m->layers[i];
        if (m->cfg.recompute == RECOMPUTE_BLOCKS && l->block >= 0 && i == m->blocks[l->block].last)
            s = recompute_block(m, b, st, a, l->block);
        if (s == OPS_OK) s = layer_backward(m, b, st, a, dval, i);
        ops_free(b, dval[l->out]);
        dval[l->out] = NULL;
        free_layer_kept(b, a, l, i);
    }
    for (int v = 1; v < m->n_values; v++) ops_free(b, dval[v]);
    free(dval);
    if (s != OPS_OK) model_acts_release(m, b, a);
    return s;
}
