/* kernels/cuda/gemm_desc.c — see gemm_desc.h. */
#include "gemm_desc.h"

static int max1(int v) { return v > 1 ? v : 1; }

cuda_gemm_colmajor cuda_gemm_describe(const ops_gemm_desc *d)
{
    cuda_gemm_colmajor g = {0};
    g.b_first = 1;
    g.transa = d->trans_b ? 1 : 0;
    g.transb = d->trans_a ? 1 : 0;
    g.m = d->n;
    g.n = d->m;
    g.k = d->k;
    g.lda = d->ldb;
    g.ldb = d->lda;
    g.ldc = d->ldc;
    g.alpha = d->alpha;
    g.beta = d->beta;
    if (d->m < 0 || d->n < 0 || d->k < 0) {
        g.why = "negative m, n or k";
        return g;
    }
    /* row strides must hold a stored row: A is (k, m) when transposed, else
     * (m, k); B is (n, k) or (k, n); C is (m, n). These are exactly cuBLAS's
     * lda >= max(1, transa ? k : m) etc. for the column-major call. */
    if (d->lda < max1(d->trans_a ? d->m : d->k)) {
        g.why = "lda smaller than a stored row of A";
        return g;
    }
    if (d->ldb < max1(d->trans_b ? d->k : d->n)) {
        g.why = "ldb smaller than a stored row of B";
        return g;
    }
    if (d->ldc < max1(d->n)) {
        g.why = "ldc smaller than a row of C";
        return g;
    }
    g.ok = 1;
    g.empty = d->m == 0 || d->n == 0;
    return g;
}
