/* bench/core/model.h — the models: mlp and cnn as lists of layer descriptors,
 * gpt as a parameter list with its own passes (model_gpt.c).
 *
 * A model is a list of layers over numbered values (activations); forward
 * walks it in order, backward in reverse (as darknet's network.c). Value 0 is
 * the input (synthetic data, not allocated here); the last value is the
 * logits. All sizes come from size functions before anything is allocated,
 * and the analytic memory model uses the same functions (memory_model.c).
 * Parameters live in one block, in canonical order (forward order, weight
 * before bias), each tensor padded to OPS_ALIGN_BYTES; gradients and
 * optimizer state use the same layout. */
#ifndef ACCUMBENCH_MODEL_H
#define ACCUMBENCH_MODEL_H

#include "ops.h"

#include <stddef.h>
#include <stdint.h>

#define MODEL_CLASSES 10
#define MODEL_IMAGE_C 3
#define MODEL_IMAGE_HW 32
#define MODEL_NORM_EPS 1e-5f
#define MODEL_BN_MOMENTUM 0.1f
#define MODEL_MAX_GROUPS 8

typedef enum { MODEL_MLP, MODEL_CNN, MODEL_GPT } model_kind;
typedef enum { NORM_NONE, NORM_BATCH, NORM_GROUP } norm_kind;
/* blocks: forward keeps each block's input (and output) only and backward
 * recomputes the block's inside from it (design "Recomputation"). A block is
 * an mlp Linear+ReLU layer, a cnn basic block, a gpt transformer block. */
typedef enum { RECOMPUTE_NONE, RECOMPUTE_BLOCKS } recompute_kind;

typedef struct {
    model_kind kind;
    int input_dim, hidden, layers;      /* mlp */
    int width, stages, blocks;          /* cnn */
    norm_kind norm;                     /* cnn */
    int vocab, seq, d_model, heads;     /* gpt, with layers */
    /* how the passes keep activations: not the architecture, but every pass
     * and size function depends on it */
    recompute_kind recompute;
} model_config;

typedef enum { LAYER_LINEAR, LAYER_CONV, LAYER_NORM, LAYER_RELU, LAYER_ADD, LAYER_AVGPOOL } layer_kind;

/* Layer descriptors. weight and bias are indices into model.params; shapes
 * are per layer, n samples at run time. */
typedef struct {
    int in_features, out_features;  /* x (n, in) -> y (n, out) */
    int weight, bias;               /* W (out, in), b (out) */
} linear_layer;
typedef struct {
    int c, h, w;                    /* x (n, c, h, w) -> y (n, k, p, q) */
    int k, r, stride, pad;          /* k filters of r x r */
    int weight;                     /* W (k, c, r, r); no bias (a norm follows) */
} conv_layer;
typedef struct {
    norm_kind kind;                 /* batch: statistics over (n, hw) per channel; group: over (c/groups, hw) per sample */
    int c, hw, groups;              /* x, y (n, c, hw) */
    int weight, bias;               /* gamma (c), beta (c) */
    size_t running;                 /* BatchNorm: floats into model_state.buffers of running mean, then var */
} norm_layer;
typedef struct { int c, hw; } pool_layer;  /* global average: x (n, c, hw) -> y (n, c) */

typedef struct {
    layer_kind kind;
    int in[2];          /* value ids; in[1] only for add */
    int out;            /* value id */
    int block;          /* the block it belongs to, -1 for the stem and head */
    union { linear_layer linear; conv_layer conv; norm_layer norm; pool_layer pool; };
} layer;

typedef struct { int c, h, w; } value_shape;     /* per sample */
typedef struct { int first, last; } model_block;  /* layers first..last; last's output is the block's */

typedef struct {
    char name[64];
    int ndim;
    int shape[4];
    size_t numel;
    size_t offset;      /* floats from the start of the parameter block */
} model_param;

typedef struct {
    model_config cfg;
    layer *layers;
    int n_layers;
    value_shape *values;
    int n_values;
    model_block *blocks;    /* mlp, cnn */
    int n_blocks;
    model_param *params;
    int n_params;
    size_t param_floats;    /* padded block size */
    size_t buffer_floats;   /* BatchNorm running mean and var */
} model;

/* Validation of widths and norms for the micro-batch sizes that will run;
 * returns NULL when valid, else a message naming the flag. */
const char *model_validate(const model_config *c, const int *batch_sizes, int n_sizes, char *err, size_t err_len);
int model_build(model *m, const model_config *c);   /* 0 ok, -1 out of host memory */
void model_free(model *m);

/* per sample: input floats (mlp, cnn) or int32 tokens (gpt); int32 targets */
size_t model_input_per_sample(const model *m);
size_t model_targets_per_sample(const model *m);
/* rows each sample contributes to a Linear layer: the length of the ones vector per sample */
int model_rows_per_sample(const model *m);
size_t model_value_bytes(const model *m, int value, int n);
/* bytes one micro-batch of n samples keeps alive from its forward to its
 * backward (with recompute blocks: the stem's, the head's and each block's
 * output only) */
size_t model_act_bytes(const model *m, int n);
/* the most bytes backward holds at once above the start of its own pass:
 * activation gradients and, with recompute blocks, one block's recomputed
 * inside (negative moments, after the head's values go, are not counted) */
size_t model_grad_transient_bytes(const model *m, int n);
/* conv workspace, the max over layers and directions, as the backend reports it */
size_t model_workspace_bytes(const model *m, ops_backend *b, int n);

/* One convolution layer as ops.h describes it for a micro-batch of n. */
ops_conv_shape model_conv_shape(const conv_layer *cl, int n);

/* Every convolution, normalisation and GEMM of the model for a micro-batch of
 * n samples, in forward order (GEMMs: each forward and backward GEMM of one
 * micro-batch). Return the total count, writing at most cap. */
size_t model_conv_shapes(const model_config *c, int n, ops_conv_shape *out, size_t cap);
size_t model_norm_shapes(const model_config *c, int n, ops_norm_shape *out, size_t cap);
size_t model_gemm_descs(const model_config *c, int n, ops_gemm_desc *out, size_t cap);

/* Deterministic initialisation (PyTorch's default bounds) into host memory. */
void model_init_params(const model *m, uint64_t seed, float *params, float *buffers);

// ----------------------------------------------------------------------------
// execution

/* Backend memory the passes use, all tracked (shapes in floats; P =
 * param_floats, each tensor padded to OPS_ALIGN_BYTES in canonical order). */
typedef struct {
    float *params;          /* (P) every parameter: weight (out, in) or (K, C, R, R), then bias (out) */
    float *grads;           /* (P) same layout; backward adds into it (ops.h's += contract) */
    float *buffers;         /* (buffer_floats) per BatchNorm layer: running mean (C), running var (C) */
    float *ones;            /* (>= the largest micro-batch) 1.0f: the bias GEMMs' column of ones */
    void *ws;               /* (ws_bytes) conv workspace, the max over layers and directions */
    size_t ws_bytes;
} model_state;

/* What one micro-batch keeps between its forward and its backward. Value v
 * of the model has per-sample shape values[v] = (c, h, w); n is the
 * micro-batch's sample count. */
typedef struct {
    int n;
    const float *input;     /* (n, input_dim) or (n, 3, 32, 32): a slice of the data, not owned */
    const int32_t *tokens;  /* gpt: (n, seq) input tokens, a slice of the data */
    const int32_t *targets; /* (n) class indices, or gpt's (n, seq) next tokens, a slice of the data */
    float **val;            /* [n_values] val[v]: (n, c, h, w) of value v; val[0] aliases input */
    float **norm_mean;      /* [n_layers] norm layers only: BatchNorm (C) batch mean, GroupNorm (n, groups) */
    float **norm_rstd;      /* [n_layers] 1 / sqrt(biased var + eps), the shape of norm_mean */
    float *probs;           /* (n, MODEL_CLASSES) softmax of the logits */
    float *losses;          /* (n) cross-entropy per sample */
    float **saved;          /* gpt: [gpt_slot_count] what its forward keeps (model_gpt.c) */
} model_acts;

int model_acts_init(const model *m, model_acts *a);     /* host arrays */
void model_acts_destroy(model_acts *a);

/* Forward of one micro-batch: allocates and keeps its activations. */
ops_status model_forward(const model *m, ops_backend *b, const model_state *st, model_acts *a);
/* Backward with loss weight w (the micro-batch's mean cross-entropy times w):
 * adds into st->grads and frees every allocation its forward made. */
ops_status model_backward(const model *m, ops_backend *b, const model_state *st, model_acts *a, float w);
/* Frees what a forward allocated (error paths). */
void model_acts_release(const model *m, ops_backend *b, model_acts *a);

#endif
