/* kernels/cpu/cpu_conv.c — CPU convolution: im2col/col2im + OpenBLAS SGEMM,
 * one image at a time (Caffe's scheme, base_conv_layer.cpp).
 *
 * Per image, with x_i (c, h, w), y_i (k, p, q) and the column matrix
 * col (c*r*r, p*q) as the workspace:
 *   forward      y_i  = w (k, c*r*r) . col
 *   bwd data     col  = w^T . dy_i, then col2im scatter-adds into dx_i
 *   bwd filter   dw  += dy_i . col^T
 * A 1x1, stride-1, unpadded conv's column matrix is the image itself, so
 * that case runs the GEMMs on x/dx directly and needs no workspace. */
#include "cpu_conv.h"

#include <cblas.h>
#include <string.h>

// ----------------------------------------------------------------------------
// shapes and workspace

static int conv_is_direct(const ops_conv_shape *s) { return s->r == 1 && s->stride == 1 && s->pad == 0; }

static size_t conv_col_floats(const ops_conv_shape *s)
{
    return (size_t)s->c * s->r * s->r * s->p * s->q;
}

size_t cpu_conv_workspace_bytes(void *ctx, const ops_conv_shape *s, ops_conv_dir dir)
{
    (void)ctx;
    (void)dir; /* every direction uses the same one-image column buffer */
    return conv_is_direct(s) ? 0 : conv_col_floats(s) * sizeof(float);
}

static ops_status conv_check(const char *op, const ops_conv_shape *s, const void *ws, size_t ws_bytes)
{
    if (s->n < 0 || s->c <= 0 || s->h <= 0 || s->w <= 0 || s->k <= 0 || s->r <= 0 || s->stride <= 0 ||
        s->pad < 0 || s->p <= 0 || s->q <= 0 || s->p != ops_conv_out_dim(s->h, s->r, s->stride, s->pad) ||
        s->q != ops_conv_out_dim(s->w, s->r, s->stride, s->pad)) {
        ops_set_error("%s: bad shape n=%d c=%d h=%d w=%d k=%d r=%d stride=%d pad=%d p=%d q=%d", op, s->n,
                      s->c, s->h, s->w, s->k, s->r, s->stride, s->pad, s->p, s->q);
        return OPS_ERR_INVALID;
    }
    size_t need = cpu_conv_workspace_bytes(NULL, s, OPS_CONV_FWD);
    if (ws_bytes < need || (need && !ws)) {
        ops_set_error("%s: workspace of %zu bytes, needs %zu", op, ws ? ws_bytes : 0, need);
        return OPS_ERR_INVALID;
    }
    return OPS_OK;
}

// ----------------------------------------------------------------------------
// im2col / col2im

/* The output positions o in [*lo, *hi) whose input index o*stride + off
 * falls inside [0, in); the others read the zero padding. */
static void conv_valid_range(int out, int in, int stride, int off, int *lo, int *hi)
{
    int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
    int h = in - off <= 0 ? 0 : (in - off - 1) / stride + 1;
    if (h > out) h = out;
    if (l > h) l = h;
    *lo = l;
    *hi = h;
}

/* x (c, h, w) -> col (c*r*r, p*q); row (ch, kh, kw), column (oh, ow). */
static void conv_im2col(const ops_conv_shape *s, const float *x, float *col)
{
    const int r = s->r, p = s->p, q = s->q, st = s->stride;
    const size_t plane = (size_t)s->h * s->w, pq = (size_t)p * q;
    for (int ch = 0; ch < s->c; ch++) {
        const float *xc = x + ch * plane;
        for (int kh = 0; kh < r; kh++) {
            int oh_lo, oh_hi;
            conv_valid_range(p, s->h, st, kh - s->pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < r; kw++) {
                const int off = kw - s->pad;
                int ow_lo, ow_hi;
                conv_valid_range(q, s->w, st, off, &ow_lo, &ow_hi);
                float *row = col + ((size_t)(ch * r + kh) * r + kw) * pq;
                memset(row, 0, (size_t)oh_lo * q * sizeof(float));
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    float *dst = row + (size_t)oh * q;
                    const float *src = xc + (size_t)(oh * st + kh - s->pad) * s->w;
                    for (int ow = 0; ow < ow_lo; ow++) dst[ow] = 0.0f;
                    for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow] = src[ow * st + off];
                    for (int ow = ow_hi; ow < q; ow++) dst[ow] = 0.0f;
                }
                memset(row + (size_t)oh_hi * q, 0, (size_t)(p - oh_hi) * q * sizeof(float));
            }
        }
    }
}

/* col (c*r*r, p*q) scatter-added into x (c, h, w); the inverse map of
 * conv_im2col, padding entries dropped. */
static void conv_col2im(const ops_conv_shape *s, const float *col, float *x)
{
    const int r = s->r, p = s->p, q = s->q, st = s->stride;
    const size_t plane = (size_t)s->h * s->w, pq = (size_t)p * q;
    for (int ch = 0; ch < s->c; ch++) {
        float *xc = x + ch * plane;
        for (int kh = 0; kh < r; kh++) {
            int oh_lo, oh_hi;
            conv_valid_range(p, s->h, st, kh - s->pad, &oh_lo, &oh_hi);
            for (int kw = 0; kw < r; kw++) {
                const int off = kw - s->pad;
                int ow_lo, ow_hi;
                conv_valid_range(q, s->w, st, off, &ow_lo, &ow_hi);
                const float *row = col + ((size_t)(ch * r + kh) * r + kw) * pq;
                for (int oh = oh_lo; oh < oh_hi; oh++) {
                    const float *src = row + (size_t)oh * q;
                    float *dst = xc + (size_t)(oh * st + kh - s->pad) * s->w;
                    for (int ow = ow_lo; ow < ow_hi; ow++) dst[ow * st + off] += src[ow];
                }
            }
        }
    }
}

// ----------------------------------------------------------------------------
// the three directions

ops_status cpu_conv2d_fwd(void *ctx, const ops_conv_shape *s, const float *x, const float *w, float *y,
                          void *ws, size_t ws_bytes)
{
    (void)ctx;
    ops_status st = conv_check("conv2d_fwd", s, ws, ws_bytes);
    if (st != OPS_OK) return st;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    float *col = ws;
    for (int i = 0; i < s->n; i++) {
        const float *xi = x + i * x_img;
        if (!conv_is_direct(s)) conv_im2col(s, xi, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->k, pq, crr, 1.0f, w, crr,
                    conv_is_direct(s) ? xi : col, pq, 0.0f, y + i * y_img, pq);
    }
    return OPS_OK;
}

ops_status cpu_conv2d_bwd_data(void *ctx, const ops_conv_shape *s, const float *w, const float *dy,
                               float beta, float *dx, void *ws, size_t ws_bytes)
{
    (void)ctx;
    ops_status st = conv_check("conv2d_bwd_data", s, ws, ws_bytes);
    if (st != OPS_OK) return st;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    const float add = beta == 0.0f ? 0.0f : 1.0f; /* ab_store's rule: any nonzero beta adds */
    float *col = ws;
    for (int i = 0; i < s->n; i++) {
        float *dxi = dx + i * x_img;
        if (conv_is_direct(s)) {
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s->c, pq, s->k, 1.0f, w, crr, dy + i * y_img,
                        pq, add, dxi, pq);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, crr, pq, s->k, 1.0f, w, crr, dy + i * y_img, pq,
                    0.0f, col, pq);
        /* col2im only adds, and overlapping windows hit a pixel several times */
        if (add == 0.0f) memset(dxi, 0, x_img * sizeof(float));
        conv_col2im(s, col, dxi);
    }
    return OPS_OK;
}

ops_status cpu_conv2d_bwd_filter(void *ctx, const ops_conv_shape *s, const float *x, const float *dy,
                                 float *dw, void *ws, size_t ws_bytes)
{
    (void)ctx;
    ops_status st = conv_check("conv2d_bwd_filter", s, ws, ws_bytes);
    if (st != OPS_OK) return st;
    const int crr = s->c * s->r * s->r, pq = s->p * s->q;
    const size_t x_img = (size_t)s->c * s->h * s->w, y_img = (size_t)s->k * pq;
    float *col = ws;
    for (int i = 0; i < s->n; i++) {
        const float *xi = x + i * x_img;
        if (!conv_is_direct(s)) conv_im2col(s, xi, col);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, s->k, crr, pq, 1.0f, dy + i * y_img, pq,
                    conv_is_direct(s) ? xi : col, pq, 1.0f, dw, crr);
    }
    return OPS_OK;
}
