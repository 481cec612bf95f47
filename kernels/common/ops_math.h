/* kernels/common/ops_math.h — element and row math shared by the CPU backend
 * (called in loops) and the CUDA backend (called per thread). Plain static
 * inline C that gcc (C11) and nvcc both compile; OPS_HD adds
 * __host__ __device__ under nvcc. Formulas follow PyTorch's definitions so
 * both backends and the PyTorch cross-check agree. */
#ifndef ACCUMBENCH_OPS_MATH_H
#define ACCUMBENCH_OPS_MATH_H

#include <math.h>
#include <stdint.h>

#ifdef __CUDACC__
#define OPS_HD __host__ __device__ __forceinline__
#else
#define OPS_HD static inline
#endif

OPS_HD float ab_relu(float x) { return x > 0.0f ? x : 0.0f; }

/* ReLU backward from the output: y > 0 exactly where x > 0. */
OPS_HD float ab_relu_grad(float y, float dy) { return y > 0.0f ? dy : 0.0f; }

/* out = beta == 0 ? v : out + v; beta == 0 never reads out (BLAS semantics). */
OPS_HD float ab_store(float beta, float out, float v) { return beta == 0.0f ? v : out + v; }

/* One row of softmax cross-entropy: writes probs[0..classes), returns the
 * loss -log softmax(logits)[target], computed as logsumexp - logit[target]. */
OPS_HD float ab_softmax_xent_row(const float *logits, int classes, int32_t target, float *probs)
{
    float mx = logits[0];
    for (int j = 1; j < classes; j++) mx = logits[j] > mx ? logits[j] : mx;
    float sum = 0.0f;
    for (int j = 0; j < classes; j++) {
        float e = expf(logits[j] - mx);
        probs[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
    for (int j = 0; j < classes; j++) probs[j] *= inv;
    return logf(sum) + mx - logits[target];
}

/* d loss / d logit_j = scale * (p_j - [j == target]) */
OPS_HD float ab_softmax_xent_grad(float prob, int is_target, float scale)
{
    return scale * (prob - (is_target ? 1.0f : 0.0f));
}

/* Normalisation: y = (x - mean) * rstd * gamma + bias, with rstd = 1/sqrt(var + eps)
 * and var the biased variance (PyTorch BatchNorm2d / GroupNorm training). */
OPS_HD float ab_norm_rstd(float var, float eps) { return 1.0f / sqrtf(var + eps); }

OPS_HD float ab_norm_apply(float x, float mean, float rstd, float gamma, float bias)
{
    return (x - mean) * rstd * gamma + bias;
}

/* Input gradient of a normalisation over a set of `count` elements, given the
 * set's sums S1 = sum(dy*gamma) and S2 = sum(dy*gamma*xhat):
 * dx = rstd * (dy*gamma - S1/count - xhat * S2/count). */
OPS_HD float ab_norm_dx(float dy, float gamma, float xhat, float rstd, float mean_dyg, float mean_dyg_xhat)
{
    return rstd * (dy * gamma - mean_dyg - xhat * mean_dyg_xhat);
}

/* Running statistics update (PyTorch BatchNorm2d): unbiased variance. */
OPS_HD float ab_running_update(float old, float batch, float momentum)
{
    return (1.0f - momentum) * old + momentum * batch;
}

/* SGD with momentum as torch.optim.SGD (dampening 0, no Nesterov):
 * g' = g + wd*p; buf = momentum*buf + g'; p -= lr*buf. A zero-initialised
 * buffer makes the first step buf = g', as PyTorch's clone does. */
OPS_HD void ab_sgd_update(float *p, float g, float *buf, float lr, float momentum, float weight_decay)
{
    float gg = g + weight_decay * *p;
    float b = momentum * *buf + gg;
    *buf = b;
    *p -= lr * b;
}

/* AdamW as torch.optim.AdamW: decoupled decay, bias-corrected moments.
 * bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, computed once per step by the caller. */
OPS_HD void ab_adamw_update(float *p, float g, float *m, float *v, float lr, float beta1, float beta2,
                            float eps, float weight_decay, float bc1, float bc2)
{
    *p -= lr * weight_decay * *p;
    float mm = beta1 * *m + (1.0f - beta1) * g;
    float vv = beta2 * *v + (1.0f - beta2) * g * g;
    *m = mm;
    *v = vv;
    float denom = sqrtf(vv / bc2) + eps;
    *p -= lr * (mm / bc1) / denom;
}

#endif
