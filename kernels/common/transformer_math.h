/* kernels/common/transformer_math.h — element math of the GPT-2 ops shared
 * by the CPU backend (kernels/cpu/cpu_transformer.c, in loops) and the CUDA
 * backend (kernels/cuda/cuda_transformer.cu, per thread). Plain static
 * inline C that gcc (C11) and nvcc both compile; OPS_HD (ops_math.h) adds
 * __host__ __device__ under nvcc. LayerNorm uses ops_math.h's
 * ab_norm_rstd / ab_norm_apply / ab_norm_dx. Formulas follow PyTorch
 * (F.gelu(approximate="tanh"), softmax, F.cross_entropy) so both backends
 * and the PyTorch cross-check agree. Row reductions (max, sums) are the
 * callers': loops on the CPU, warp or block trees on the GPU. */
#ifndef ACCUMBENCH_TRANSFORMER_MATH_H
#define ACCUMBENCH_TRANSFORMER_MATH_H

#include "ops_math.h"

/* GELU, tanh approximation (Hendrycks & Gimpel 2016, as GPT-2):
 * y = x/2 * (1 + tanh(u)), u = sqrt(2/pi) * (x + 0.044715 x^3). */
#define AB_GELU_SQRT_2_OVER_PI 0.7978845608028654f
#define AB_GELU_CUBIC 0.044715f

OPS_HD float ab_gelu(float x)
{
    float u = AB_GELU_SQRT_2_OVER_PI * (x + AB_GELU_CUBIC * x * x * x);
    return 0.5f * x * (1.0f + tanhf(u));
}

/* dy/dx = (1 + tanh u)/2 + x/2 * (1 - tanh^2 u) * sqrt(2/pi) * (1 + 3 * 0.044715 x^2) */
OPS_HD float ab_gelu_grad(float x, float dy)
{
    float u = AB_GELU_SQRT_2_OVER_PI * (x + AB_GELU_CUBIC * x * x * x);
    float th = tanhf(u);
    float du = AB_GELU_SQRT_2_OVER_PI * (1.0f + 3.0f * AB_GELU_CUBIC * x * x);
    return dy * (0.5f * (1.0f + th) + 0.5f * x * (1.0f - th * th) * du);
}

/* Causal softmax over one attention row i of length t: entries j <= i are
 * exp(s_j - max) / sum, with max and sum over j <= i; entries j > i are 0
 * (the mask), so the saved probabilities times v need no mask. */
OPS_HD float ab_softmax_prob(float s, float max, float inv_sum) { return expf(s - max) * inv_sum; }

OPS_HD int ab_causal_visible(int query, int key) { return key <= query; }

/* Softmax backward, one unmasked entry: ds_j = p_j * (dp_j - sum_k p_k dp_k). */
OPS_HD float ab_softmax_grad(float p, float dp, float dot) { return p * (dp - dot); }

/* Log-sum-exp as a running pair (max m, sum s of exp(x - m)), for one pass
 * over a row: merge another pair into (m, s). An empty pair is (-inf, 0);
 * merging it changes nothing (and never computes exp(-inf - -inf)). */
OPS_HD void ab_lse_merge(float *m, float *s, float m2, float s2)
{
    if (s2 == 0.0f) return;
    if (*s == 0.0f) {
        *m = m2;
        *s = s2;
    } else if (m2 > *m) {
        *s = *s * expf(*m - m2) + s2;
        *m = m2;
    } else {
        *s += s2 * expf(m2 - *m);
    }
}

OPS_HD float ab_lse_value(float m, float s) { return m + logf(s); }

/* Cross-entropy gradient of one logit: scale * (softmax_j - [j == target]),
 * softmax_j = exp(logit_j - lse). */
OPS_HD float ab_xent_grad(float logit, float lse, int is_target, float scale)
{
    return scale * (expf(logit - lse) - (is_target ? 1.0f : 0.0f));
}

#endif
