/* bench/core/model_gpt.c — the gpt model: a decoder-only transformer in
 * GPT-2's layout (design "Models"), pre-LN blocks, the head tied to wte.
 *
 * What a micro-batch keeps from its forward to its backward is a list of
 * numbered slots (x0, then 13 per block, then ln_f, logits and the loss
 * statistics). With recompute blocks a block keeps only its output
 * (S_RESID3, the next block's input) and backward recomputes the rest from
 * the block's input first; the output itself is never recomputed: it is
 * still held, so the recompute skips the MLP's projection GEMM that makes
 * it. Backward frees as autograd does: a block's output and
 * internals go once its backward has used them; activation gradients are
 * allocated as they arise and freed when consumed. The residual stream's
 * gradient is one buffer, dres, that the LayerNorm backwards add into
 * (beta 1). gpt_grad_transient_bytes walks the same allocations and frees
 * in the same order; keep the two in step. Parameter gradients rely on
 * ops.h's += contract, as in model.c. */
#include "model_gpt.h"
#include "ops_try.h"
#include "rng.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define GPT_INIT_STD 0.02f

/* slots of one block, after x0 */
enum { S_LN1, S_LN1_MEAN, S_LN1_RSTD, S_QKV, S_ATT, S_ATTY, S_RESID2, S_LN2, S_LN2_MEAN, S_LN2_RSTD, S_FCH,
       S_FCH_GELU, S_RESID3, S_BLOCK };
/* slots after the blocks */
enum { S_LNF, S_LNF_MEAN, S_LNF_RSTD, S_LOGITS, S_LSE, S_LOSS, S_TAIL };
/* parameters of one block, after wte and wpe */
enum { P_LN1_W, P_LN1_B, P_ATTN_W, P_ATTN_B, P_APROJ_W, P_APROJ_B, P_LN2_W, P_LN2_B, P_FC_W, P_FC_B,
       P_MPROJ_W, P_MPROJ_B, P_BLOCK };

static size_t pad_floats(size_t n) { return ops_align(n * sizeof(float)) / sizeof(float); }
static int block_slot(int l, int s) { return 1 + l * S_BLOCK + s; }
static int tail_slot(const model *m, int s) { return 1 + m->cfg.layers * S_BLOCK + s; }
static int block_param(int l, int p) { return 2 + l * P_BLOCK + p; }
static const float *param(const model *m, const model_state *st, int p) { return st->params + m->params[p].offset; }
static float *grad(const model *m, const model_state *st, int p) { return st->grads + m->params[p].offset; }

// ----------------------------------------------------------------------------
// validation and building

const char *gpt_validate(const model_config *c, const int *batch_sizes, int n_sizes, char *err, size_t err_len)
{
    if (c->d_model % c->heads != 0) {
        snprintf(err, err_len, "--d-model: %d is not divisible by --heads %d", c->d_model, c->heads);
        return err;
    }
    if ((long long)c->vocab * 4 * c->d_model > INT_MAX) {
        snprintf(err, err_len, "--vocab: %d x 4 x --d-model %d does not fit int32 indices", c->vocab, c->d_model);
        return err;
    }
    for (int i = 0; i < n_sizes; i++) {
        ops_attn_shape s = {batch_sizes[i], c->seq, c->d_model, c->heads};
        long long rows = (long long)batch_sizes[i] * c->seq;
        if (rows * 4 * c->d_model > INT_MAX || ops_attn_shape_problem(&s)) {
            snprintf(err, err_len, "--seq: a micro-batch of %d x %d tokens at --d-model %d does not fit int32 "
                     "indices; use smaller micro-batches or --seq", batch_sizes[i], c->seq, c->d_model);
            return err;
        }
    }
    return NULL;
}

static void set_param(model *m, const char *name, int ndim, int d0, int d1)
{
    model_param *p = &m->params[m->n_params++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s", name);
    p->ndim = ndim;
    p->shape[0] = d0;
    p->shape[1] = d1;
    p->numel = (size_t)d0 * (ndim == 2 ? (size_t)d1 : 1);
    p->offset = m->param_floats;
    m->param_floats += pad_floats(p->numel);
}

int gpt_build(model *m)
{
    const model_config *c = &m->cfg;
    int C = c->d_model;
    m->params = calloc((size_t)(4 + P_BLOCK * c->layers), sizeof *m->params);
    if (!m->params) return -1;
    set_param(m, "transformer.wte.weight", 2, c->vocab, C);
    set_param(m, "transformer.wpe.weight", 2, c->seq, C);
    static const char *names[P_BLOCK] = {"ln_1.weight", "ln_1.bias", "attn.c_attn.weight", "attn.c_attn.bias",
                                         "attn.c_proj.weight", "attn.c_proj.bias", "ln_2.weight", "ln_2.bias",
                                         "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight", "mlp.c_proj.bias"};
    static const int out_mult[P_BLOCK] = {1, 1, 3, 3, 1, 1, 1, 1, 4, 4, 1, 1};
    static const int in_mult[P_BLOCK] = {0, 0, 1, 0, 1, 0, 0, 0, 1, 0, 4, 0};   /* 0: a vector */
    char name[64];
    for (int l = 0; l < c->layers; l++) {
        for (int p = 0; p < P_BLOCK; p++) {
            snprintf(name, sizeof name, "transformer.h.%d.%s", l, names[p]);
            set_param(m, name, in_mult[p] ? 2 : 1, out_mult[p] * C, in_mult[p] * C);
        }
    }
    set_param(m, "transformer.ln_f.weight", 1, C, 0);
    set_param(m, "transformer.ln_f.bias", 1, C, 0);
    return 0;
}

/* GPT-2: weights N(0, 0.02), the residual projections N(0, 0.02/sqrt(2L)),
 * biases 0, LayerNorm weight 1 and bias 0; drawn in canonical order */
void gpt_init_params(const model *m, uint64_t seed, float *params)
{
    rng r;
    rng_seed(&r, seed);
    memset(params, 0, m->param_floats * sizeof(float));
    float proj_std = GPT_INIT_STD / sqrtf(2.0f * (float)m->cfg.layers);
    for (int i = 0; i < m->n_params; i++) {
        const model_param *p = &m->params[i];
        float *x = params + p->offset;
        int is_ln = strstr(p->name, ".ln_") != NULL;
        if (is_ln) {
            if (strstr(p->name, ".weight"))
                for (size_t j = 0; j < p->numel; j++) x[j] = 1.0f;
        } else if (p->ndim == 2) {
            float std = strstr(p->name, "c_proj.weight") ? proj_std : GPT_INIT_STD;
            for (size_t j = 0; j < p->numel; j++) x[j] = std * rng_normal(&r);
        }
    }
}

// ----------------------------------------------------------------------------
// sizes

int gpt_slot_count(const model *m) { return 1 + m->cfg.layers * S_BLOCK + S_TAIL; }

/* 1 for a block's slots that recompute blocks drops after the forward */
static int slot_recomputed(const model *m, int slot)
{
    int s = slot - 1;
    return m->cfg.recompute == RECOMPUTE_BLOCKS && s >= 0 && s < m->cfg.layers * S_BLOCK && s % S_BLOCK != S_RESID3;
}

static size_t slot_floats(const model *m, int slot, int n)
{
    const model_config *c = &m->cfg;
    size_t rows = (size_t)n * c->seq, C = (size_t)c->d_model;
    if (slot == 0) return rows * C;
    int s = slot - 1;
    if (s < c->layers * S_BLOCK) {
        switch (s % S_BLOCK) {
        case S_LN1_MEAN: case S_LN1_RSTD: case S_LN2_MEAN: case S_LN2_RSTD: return rows;
        case S_QKV: return 3 * rows * C;
        case S_ATT: return (size_t)n * c->heads * c->seq * c->seq;
        case S_FCH: case S_FCH_GELU: return 4 * rows * C;
        default: return rows * C;
        }
    }
    switch (s - c->layers * S_BLOCK) {
    case S_LNF: return rows * C;
    case S_LOGITS: return rows * c->vocab;
    case S_LOSS: return 1;
    default: return rows;   /* ln_f statistics, lse */
    }
}

static size_t slot_bytes(const model *m, int slot, int n) { return ops_align(slot_floats(m, slot, n) * sizeof(float)); }

size_t gpt_act_bytes(const model *m, int n)
{
    size_t bytes = 0;
    for (int s = 0; s < gpt_slot_count(m); s++)
        if (!slot_recomputed(m, s)) bytes += slot_bytes(m, s, n);
    return bytes;
}

/* live bytes above the start of backward, walked in gpt_backward's order */
typedef struct { long long live, peak; } walk;
static void walk_alloc(walk *w, size_t bytes)
{
    w->live += (long long)bytes;
    if (w->live > w->peak) w->peak = w->live;
}
static void walk_free(walk *w, size_t bytes) { w->live -= (long long)bytes; }

size_t gpt_grad_transient_bytes(const model *m, int n)
{
    const model_config *c = &m->cfg;
    size_t fl = sizeof(float), rows = (size_t)n * c->seq, C = (size_t)c->d_model;
    size_t rc = ops_align(rows * C * fl), rc4 = ops_align(4 * rows * C * fl), rc3 = ops_align(3 * rows * C * fl);
    walk w = {0, 0};
    walk_alloc(&w, rc);                                     /* dlnf */
    for (int s = S_LOGITS; s <= S_LOSS; s++) walk_free(&w, slot_bytes(m, tail_slot(m, s), n));
    walk_alloc(&w, rc);                                     /* dres */
    walk_free(&w, rc);                                      /* dlnf */
    for (int s = S_LNF; s <= S_LNF_RSTD; s++) walk_free(&w, slot_bytes(m, tail_slot(m, s), n));
    for (int l = c->layers - 1; l >= 0; l--) {
        for (int s = 0; s < S_BLOCK; s++)                   /* the recompute */
            if (slot_recomputed(m, block_slot(l, s))) walk_alloc(&w, slot_bytes(m, block_slot(l, s), n));
        walk_alloc(&w, rc4);                                /* dfch_gelu */
        walk_free(&w, slot_bytes(m, block_slot(l, S_RESID3), n));
        walk_alloc(&w, rc4);                                /* dfch */
        walk_free(&w, rc4 + slot_bytes(m, block_slot(l, S_FCH_GELU), n));
        walk_alloc(&w, rc);                                 /* dln2 */
        walk_free(&w, rc4 + slot_bytes(m, block_slot(l, S_FCH), n));
        walk_free(&w, rc);
        for (int s = S_LN2; s <= S_LN2_RSTD; s++) walk_free(&w, slot_bytes(m, block_slot(l, s), n));
        walk_alloc(&w, rc);                                 /* datty */
        walk_free(&w, slot_bytes(m, block_slot(l, S_ATTY), n));
        walk_alloc(&w, slot_bytes(m, block_slot(l, S_ATT), n));     /* datt scratch */
        walk_alloc(&w, rc3);                                /* dqkv */
        walk_free(&w, 2 * slot_bytes(m, block_slot(l, S_ATT), n) + rc);
        walk_alloc(&w, rc);                                 /* dln1 */
        walk_free(&w, rc3 + slot_bytes(m, block_slot(l, S_QKV), n));
        walk_free(&w, rc);
        for (int s = S_LN1; s <= S_LN1_RSTD; s++) walk_free(&w, slot_bytes(m, block_slot(l, s), n));
        walk_free(&w, slot_bytes(m, block_slot(l, S_RESID2), n));
    }
    return (size_t)w.peak;
}

// ----------------------------------------------------------------------------
// forward

static ops_status slot_alloc(const model *m, ops_backend *b, model_acts *a, int slot)
{
    return alloc_floats(b, slot_floats(m, slot, a->n), &a->saved[slot]);
}

static void slot_free(ops_backend *b, model_acts *a, int slot)
{
    ops_free(b, a->saved[slot]);
    a->saved[slot] = NULL;
}

/* y (rows, out) = beta y + x (rows, in) W^T + 1 b^T, W (out, in) */
static ops_status linear_fwd(ops_backend *b, const model_state *st, int rows, int in, int out, const float *x,
                             const float *w, const float *bias, float beta, float *y)
{
    ops_gemm_desc d = {0, 1, rows, out, in, in, in, out, 1.0f, beta};
    TRY(ops_gemm(b, &d, x, w, y));
    ops_gemm_desc db = {0, 0, rows, out, 1, 1, out, out, 1.0f, 1.0f};
    return ops_gemm(b, &db, st->ones, bias, y);
}

/* dW += dy^T x, db += dy^T 1, and dx (rows, in) = dy W when dx is given */
static ops_status linear_bwd(ops_backend *b, const model_state *st, int rows, int in, int out, const float *x,
                             const float *dy, const float *w, float *dw, float *dbias, float *dx)
{
    ops_gemm_desc dgw = {1, 0, out, in, rows, out, in, in, 1.0f, 1.0f};
    TRY(ops_gemm(b, &dgw, dy, x, dw));
    ops_gemm_desc dgb = {1, 0, out, 1, rows, out, 1, 1, 1.0f, 1.0f};
    TRY(ops_gemm(b, &dgb, dy, st->ones, dbias));
    ops_gemm_desc dgx = {0, 0, rows, in, out, out, in, in, 1.0f, 0.0f};
    return ops_gemm(b, &dgx, dy, w, dx);
}

/* block l from its input x up to the MLP's activation (every slot but the
 * output): the forward's first part, and all a recompute needs */
static ops_status block_inside(const model *m, ops_backend *b, const model_state *st, model_acts *a, int l,
                               const float *x)
{
    const model_config *c = &m->cfg;
    int rows = a->n * c->seq, C = c->d_model;
    float **sv = a->saved;
    for (int s = 0; s < S_BLOCK; s++)
        if (s != S_RESID3) TRY(slot_alloc(m, b, a, block_slot(l, s)));
#define SV(s) sv[block_slot(l, s)]
#define P(p) param(m, st, block_param(l, p))
    TRY(ops_layernorm_fwd(b, rows, C, MODEL_NORM_EPS, x, P(P_LN1_W), P(P_LN1_B), SV(S_LN1), SV(S_LN1_MEAN),
                          SV(S_LN1_RSTD)));
    TRY(linear_fwd(b, st, rows, C, 3 * C, SV(S_LN1), P(P_ATTN_W), P(P_ATTN_B), 0.0f, SV(S_QKV)));
    ops_attn_shape as = {a->n, c->seq, C, c->heads};
    TRY(ops_attention_fwd(b, &as, SV(S_QKV), SV(S_ATT), SV(S_ATTY)));
    TRY(ops_copy(b, (size_t)rows * C, x, SV(S_RESID2)));
    TRY(linear_fwd(b, st, rows, C, C, SV(S_ATTY), P(P_APROJ_W), P(P_APROJ_B), 1.0f, SV(S_RESID2)));
    TRY(ops_layernorm_fwd(b, rows, C, MODEL_NORM_EPS, SV(S_RESID2), P(P_LN2_W), P(P_LN2_B), SV(S_LN2),
                          SV(S_LN2_MEAN), SV(S_LN2_RSTD)));
    TRY(linear_fwd(b, st, rows, C, 4 * C, SV(S_LN2), P(P_FC_W), P(P_FC_B), 0.0f, SV(S_FCH)));
    return ops_gelu_fwd(b, (size_t)rows * 4 * C, SV(S_FCH), SV(S_FCH_GELU));
#undef SV
#undef P
}

static void drop_block_inside(const model *m, ops_backend *b, model_acts *a, int l)
{
    for (int s = 0; s < S_BLOCK; s++)
        if (slot_recomputed(m, block_slot(l, s))) slot_free(b, a, block_slot(l, s));
}

static ops_status block_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a, int l,
                                const float *x)
{
    int rows = a->n * m->cfg.seq, C = m->cfg.d_model;
    float **sv = a->saved;
    TRY(block_inside(m, b, st, a, l, x));
    TRY(slot_alloc(m, b, a, block_slot(l, S_RESID3)));
    float *out = sv[block_slot(l, S_RESID3)];
    TRY(ops_copy(b, (size_t)rows * C, sv[block_slot(l, S_RESID2)], out));
    TRY(linear_fwd(b, st, rows, 4 * C, C, sv[block_slot(l, S_FCH_GELU)], param(m, st, block_param(l, P_MPROJ_W)),
                   param(m, st, block_param(l, P_MPROJ_B)), 1.0f, out));
    drop_block_inside(m, b, a, l);
    return OPS_OK;
}

/* with recompute blocks: block l's inside again, in phase recompute */
static ops_status block_recompute(const model *m, ops_backend *b, const model_state *st, model_acts *a, int l,
                                  const float *x)
{
    if (m->cfg.recompute != RECOMPUTE_BLOCKS) return OPS_OK;
    int micro = b->micro_batch;
    ops_set_phase(b, OPS_PHASE_RECOMPUTE, micro);
    ops_status s = block_inside(m, b, st, a, l, x);
    ops_set_phase(b, OPS_PHASE_BACKWARD, micro);
    return s;
}

ops_status gpt_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a)
{
    const model_config *c = &m->cfg;
    int rows = a->n * c->seq, C = c->d_model, L = c->layers;
    TRY(slot_alloc(m, b, a, 0));
    TRY(ops_embedding_fwd(b, a->n, c->seq, C, c->vocab, a->tokens, param(m, st, 0), param(m, st, 1), a->saved[0]));
    for (int l = 0; l < L; l++)
        TRY(block_forward(m, b, st, a, l, l == 0 ? a->saved[0] : a->saved[block_slot(l - 1, S_RESID3)]));
    for (int s = 0; s < S_TAIL; s++) TRY(slot_alloc(m, b, a, tail_slot(m, s)));
    float **sv = a->saved;
    int pf = 2 + L * P_BLOCK;
    TRY(ops_layernorm_fwd(b, rows, C, MODEL_NORM_EPS, L ? sv[block_slot(L - 1, S_RESID3)] : sv[0], param(m, st, pf),
                          param(m, st, pf + 1), sv[tail_slot(m, S_LNF)], sv[tail_slot(m, S_LNF_MEAN)],
                          sv[tail_slot(m, S_LNF_RSTD)]));
    ops_gemm_desc head = {0, 1, rows, c->vocab, C, C, C, c->vocab, 1.0f, 0.0f};
    TRY(ops_gemm(b, &head, sv[tail_slot(m, S_LNF)], param(m, st, 0), sv[tail_slot(m, S_LOGITS)]));
    return ops_xent_lse_fwd(b, rows, c->vocab, sv[tail_slot(m, S_LOGITS)], a->targets, 1.0f / (float)rows,
                            sv[tail_slot(m, S_LSE)], sv[tail_slot(m, S_LOSS)]);
}

// ----------------------------------------------------------------------------
// backward

/* the MLP half of block l: dres holds the gradient of the block's output
 * (and, after ln_2's backward adds into it, of resid2) */
static ops_status mlp_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, int l,
                               float *dres)
{
    int rows = a->n * m->cfg.seq, C = m->cfg.d_model;
    float **sv = a->saved;
    float *dfch_gelu = NULL, *dfch = NULL, *dln2 = NULL;
#define SV(s) sv[block_slot(l, s)]
#define BP(p) block_param(l, p)
    TRY(alloc_floats(b, (size_t)rows * 4 * C, &dfch_gelu));
    ops_status s = linear_bwd(b, st, rows, 4 * C, C, SV(S_FCH_GELU), dres, param(m, st, BP(P_MPROJ_W)),
                              grad(m, st, BP(P_MPROJ_W)), grad(m, st, BP(P_MPROJ_B)), dfch_gelu);
    slot_free(b, a, block_slot(l, S_RESID3));
    if (s == OPS_OK) s = alloc_floats(b, (size_t)rows * 4 * C, &dfch);
    if (s == OPS_OK) s = ops_gelu_bwd(b, (size_t)rows * 4 * C, SV(S_FCH), dfch_gelu, 0.0f, dfch);
    ops_free(b, dfch_gelu);
    slot_free(b, a, block_slot(l, S_FCH_GELU));
    if (s == OPS_OK) s = alloc_floats(b, (size_t)rows * C, &dln2);
    if (s == OPS_OK)
        s = linear_bwd(b, st, rows, C, 4 * C, SV(S_LN2), dfch, param(m, st, BP(P_FC_W)), grad(m, st, BP(P_FC_W)),
                       grad(m, st, BP(P_FC_B)), dln2);
    ops_free(b, dfch);
    slot_free(b, a, block_slot(l, S_FCH));
    if (s == OPS_OK)
        s = ops_layernorm_bwd(b, rows, C, SV(S_RESID2), dln2, param(m, st, BP(P_LN2_W)), SV(S_LN2_MEAN),
                              SV(S_LN2_RSTD), 1.0f, dres, grad(m, st, BP(P_LN2_W)), grad(m, st, BP(P_LN2_B)));
    ops_free(b, dln2);
    for (int k = S_LN2; k <= S_LN2_RSTD; k++) slot_free(b, a, block_slot(l, k));
    return s;
#undef SV
#undef BP
}

/* the attention half of block l, x its input (x0 or the previous block's output) */
static ops_status attn_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, int l,
                                const float *x, float *dres)
{
    const model_config *c = &m->cfg;
    int rows = a->n * c->seq, C = c->d_model;
    float **sv = a->saved;
    float *datty = NULL, *datt = NULL, *dqkv = NULL, *dln1 = NULL;
#define SV(s) sv[block_slot(l, s)]
#define BP(p) block_param(l, p)
    TRY(alloc_floats(b, (size_t)rows * C, &datty));
    ops_status s = linear_bwd(b, st, rows, C, C, SV(S_ATTY), dres, param(m, st, BP(P_APROJ_W)),
                              grad(m, st, BP(P_APROJ_W)), grad(m, st, BP(P_APROJ_B)), datty);
    slot_free(b, a, block_slot(l, S_ATTY));
    if (s == OPS_OK) s = alloc_floats(b, slot_floats(m, block_slot(l, S_ATT), a->n), &datt);
    if (s == OPS_OK) s = alloc_floats(b, (size_t)rows * 3 * C, &dqkv);
    ops_attn_shape as = {a->n, c->seq, C, c->heads};
    if (s == OPS_OK) s = ops_attention_bwd(b, &as, SV(S_QKV), SV(S_ATT), datty, datt, dqkv);
    ops_free(b, datt);
    ops_free(b, datty);
    slot_free(b, a, block_slot(l, S_ATT));
    if (s == OPS_OK) s = alloc_floats(b, (size_t)rows * C, &dln1);
    if (s == OPS_OK)
        s = linear_bwd(b, st, rows, C, 3 * C, SV(S_LN1), dqkv, param(m, st, BP(P_ATTN_W)),
                       grad(m, st, BP(P_ATTN_W)), grad(m, st, BP(P_ATTN_B)), dln1);
    ops_free(b, dqkv);
    slot_free(b, a, block_slot(l, S_QKV));
    if (s == OPS_OK)
        s = ops_layernorm_bwd(b, rows, C, x, dln1, param(m, st, BP(P_LN1_W)), SV(S_LN1_MEAN), SV(S_LN1_RSTD), 1.0f,
                              dres, grad(m, st, BP(P_LN1_W)), grad(m, st, BP(P_LN1_B)));
    ops_free(b, dln1);
    for (int k = S_LN1; k <= S_LN1_RSTD; k++) slot_free(b, a, block_slot(l, k));
    slot_free(b, a, block_slot(l, S_RESID2));
    return s;
#undef SV
#undef BP
}

/* the head: logits become dlogits in place, then dwte += dlogits^T lnf and
 * ln_f's backward assigns dres */
static ops_status head_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, float w,
                                float **dres)
{
    const model_config *c = &m->cfg;
    int rows = a->n * c->seq, C = c->d_model, L = c->layers, pf = 2 + L * P_BLOCK;
    float **sv = a->saved, *dlnf = NULL;
    float *logits = sv[tail_slot(m, S_LOGITS)], *lnf = sv[tail_slot(m, S_LNF)];
    TRY(ops_xent_lse_bwd(b, rows, c->vocab, logits, a->targets, sv[tail_slot(m, S_LSE)], w / (float)rows, logits));
    TRY(alloc_floats(b, (size_t)rows * C, &dlnf));
    ops_gemm_desc dx = {0, 0, rows, C, c->vocab, c->vocab, C, C, 1.0f, 0.0f};
    ops_status s = ops_gemm(b, &dx, logits, param(m, st, 0), dlnf);
    ops_gemm_desc dw = {1, 0, c->vocab, C, rows, c->vocab, C, C, 1.0f, 1.0f};
    if (s == OPS_OK) s = ops_gemm(b, &dw, logits, lnf, grad(m, st, 0));
    for (int k = S_LOGITS; k <= S_LOSS; k++) slot_free(b, a, tail_slot(m, k));
    if (s == OPS_OK) s = alloc_floats(b, (size_t)rows * C, dres);
    const float *x = L ? sv[block_slot(L - 1, S_RESID3)] : sv[0];
    if (s == OPS_OK)
        s = ops_layernorm_bwd(b, rows, C, x, dlnf, param(m, st, pf), sv[tail_slot(m, S_LNF_MEAN)],
                              sv[tail_slot(m, S_LNF_RSTD)], 0.0f, *dres, grad(m, st, pf), grad(m, st, pf + 1));
    ops_free(b, dlnf);
    for (int k = S_LNF; k <= S_LNF_RSTD; k++) slot_free(b, a, tail_slot(m, k));
    return s;
}

/* loss = w * mean cross-entropy over the micro-batch's n*T tokens */
ops_status gpt_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, float w)
{
    const model_config *c = &m->cfg;
    float *dres = NULL;
    ops_status s = head_backward(m, b, st, a, w, &dres);
    for (int l = c->layers - 1; l >= 0 && s == OPS_OK; l--) {
        const float *x = l == 0 ? a->saved[0] : a->saved[block_slot(l - 1, S_RESID3)];
        s = block_recompute(m, b, st, a, l, x);
        if (s == OPS_OK) s = mlp_backward(m, b, st, a, l, dres);
        if (s == OPS_OK) s = attn_backward(m, b, st, a, l, x, dres);
    }
    if (s == OPS_OK)
        s = ops_embedding_bwd(b, a->n, c->seq, c->d_model, c->vocab, a->tokens, dres, grad(m, st, 0), grad(m, st, 1));
    ops_free(b, dres);
    slot_free(b, a, 0);
    if (s != OPS_OK) model_acts_release(m, b, a);
    return s;
}
