/* CPU reference kernels: plain, single-threaded, obviously correct loops for every op (the tests' oracle). */
#include "ig_cpu_kernels.h"
#include <math.h>
#include <string.h>

static int64_t numel(const struct ig_tensor *t)
{
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* ---------------------------------------------------------------- GEMM (any 2-D strides) */

enum ig_status ig_cpu_ref_gemm(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_gemm_params *p = &call->p.gemm;
    const struct ig_tensor *C = call->t[0], *A = call->t[1], *B = call->t[2];
    float *c = ig_cpu_f32(C);
    const float *a = ig_cpu_f32(A), *b = ig_cpu_f32(B);
    int64_t M = C->shape[0], N = C->shape[1];
    int64_t K = p->trans_a ? A->shape[0] : A->shape[1];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++) {
            double s = 0.0;
            for (int64_t k = 0; k < K; k++) {
                float av = p->trans_a ? a[k * A->stride[0] + i * A->stride[1]] : a[i * A->stride[0] + k * A->stride[1]];
                float bv = p->trans_b ? b[j * B->stride[0] + k * B->stride[1]] : b[k * B->stride[0] + j * B->stride[1]];
                s += (double)av * bv;
            }
            float *cp = &c[i * C->stride[0] + j * C->stride[1]];
            /* beta == 0 ignores C's old contents (they may be NaN), as BLAS does */
            *cp = (float)(p->alpha * s + (p->beta == 0.0f ? 0.0 : (double)p->beta * *cp));
        }
    return IG_OK;
}

/* ---------------------------------------------------------------- convolution */

/* The sizes of one convolution: x [N, C, H, Wd], w [O, C, KH, KW], y [N, O, Ho, Wo]. */
struct ref_conv {
    int64_t N, C, H, Wd, O, KH, KW, Ho, Wo;
};

static struct ref_conv ref_conv_dims(const struct ig_tensor *X, const struct ig_tensor *W, const struct ig_tensor *Y)
{
    return (struct ref_conv){X->shape[0], X->shape[1], X->shape[2], X->shape[3], W->shape[0],
                             W->shape[2], W->shape[3], Y->shape[2], Y->shape[3]};
}

enum ig_status ig_cpu_ref_conv2d_fwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_conv2d_params *p = &call->p.conv;
    const struct ig_tensor *Y = call->t[0], *X = call->t[1], *W = call->t[2], *Bt = call->t[3];
    float *y = ig_cpu_f32(Y);
    const float *x = ig_cpu_f32(X), *w = ig_cpu_f32(W), *b = Bt ? ig_cpu_f32(Bt) : NULL;
    struct ref_conv d = ref_conv_dims(X, W, Y);
    int64_t N = d.N, C = d.C, H = d.H, Wd = d.Wd, O = d.O, KH = d.KH, KW = d.KW, Ho = d.Ho, Wo = d.Wo;
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t oh = 0; oh < Ho; oh++)
                for (int64_t ow = 0; ow < Wo; ow++) {
                    double s = b ? b[o] : 0.0;
                    for (int64_t c = 0; c < C; c++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t ih = oh * p->stride_h - p->pad_h + kh, iw = ow * p->stride_w - p->pad_w + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                s += (double)x[((n * C + c) * H + ih) * Wd + iw] * w[((o * C + c) * KH + kh) * KW + kw];
                            }
                    y[((n * O + o) * Ho + oh) * Wo + ow] = (float)s;
                }
    return IG_OK;
}

enum ig_status ig_cpu_ref_conv2d_bwd_data(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_conv2d_params *p = &call->p.conv;
    const struct ig_tensor *DX = call->t[0], *DY = call->t[1], *W = call->t[2];
    float *dx = ig_cpu_f32(DX);
    const float *dy = ig_cpu_f32(DY), *w = ig_cpu_f32(W);
    struct ref_conv d = ref_conv_dims(DX, W, DY);
    int64_t N = d.N, C = d.C, H = d.H, Wd = d.Wd, O = d.O, KH = d.KH, KW = d.KW, Ho = d.Ho, Wo = d.Wo;
    /* gather form: each dx element sums the dy positions whose window covers it */
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t ih = 0; ih < H; ih++)
                for (int64_t iw = 0; iw < Wd; iw++) {
                    double s = 0.0;
                    for (int64_t o = 0; o < O; o++)
                        for (int64_t kh = 0; kh < KH; kh++)
                            for (int64_t kw = 0; kw < KW; kw++) {
                                int64_t th = ih + p->pad_h - kh, tw = iw + p->pad_w - kw;
                                if (th < 0 || tw < 0 || th % p->stride_h || tw % p->stride_w) continue;
                                int64_t oh = th / p->stride_h, ow = tw / p->stride_w;
                                if (oh >= Ho || ow >= Wo) continue;
                                s += (double)dy[((n * O + o) * Ho + oh) * Wo + ow] * w[((o * C + c) * KH + kh) * KW + kw];
                            }
                    dx[((n * C + c) * H + ih) * Wd + iw] = (float)s;
                }
    return IG_OK;
}

enum ig_status ig_cpu_ref_conv2d_bwd_weight(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_conv2d_params *p = &call->p.conv;
    const struct ig_tensor *DW = call->t[0], *DY = call->t[1], *X = call->t[2];
    float *dw = ig_cpu_f32(DW);
    const float *dy = ig_cpu_f32(DY), *x = ig_cpu_f32(X);
    struct ref_conv d = ref_conv_dims(X, DW, DY);
    int64_t N = d.N, C = d.C, H = d.H, Wd = d.Wd, O = d.O, KH = d.KH, KW = d.KW, Ho = d.Ho, Wo = d.Wo;
    for (int64_t o = 0; o < O; o++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t kh = 0; kh < KH; kh++)
                for (int64_t kw = 0; kw < KW; kw++) {
                    double s = 0.0;
                    for (int64_t n = 0; n < N; n++)
                        for (int64_t oh = 0; oh < Ho; oh++)
                            for (int64_t ow = 0; ow < Wo; ow++) {
                                int64_t ih = oh * p->stride_h - p->pad_h + kh, iw = ow * p->stride_w - p->pad_w + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                s += (double)dy[((n * O + o) * Ho + oh) * Wo + ow] * x[((n * C + c) * H + ih) * Wd + iw];
                            }
                    dw[((o * C + c) * KH + kh) * KW + kw] = (float)s;
                }
    return IG_OK;
}

/* dw[n*O + o, c, kh, kw] = sum over the output pixels of dy[n, o] x[n, c] shifted by the tap: each instance alone */
enum ig_status ig_cpu_ref_conv2d_bwd_weight_persample(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_conv2d_params *p = &call->p.conv;
    const struct ig_tensor *DW = call->t[0], *DY = call->t[1], *X = call->t[2];
    float *dw = ig_cpu_f32(DW);
    const float *dy = ig_cpu_f32(DY), *x = ig_cpu_f32(X);
    int64_t N = X->shape[0], C = X->shape[1], H = X->shape[2], Wd = X->shape[3], O = DY->shape[1];
    int64_t KH = DW->shape[2], KW = DW->shape[3], Ho = DY->shape[2], Wo = DY->shape[3];
    for (int64_t n = 0; n < N; n++)
        for (int64_t o = 0; o < O; o++)
            for (int64_t c = 0; c < C; c++)
                for (int64_t kh = 0; kh < KH; kh++)
                    for (int64_t kw = 0; kw < KW; kw++) {
                        double s = 0.0;
                        for (int64_t oh = 0; oh < Ho; oh++)
                            for (int64_t ow = 0; ow < Wo; ow++) {
                                int64_t ih = oh * p->stride_h - p->pad_h + kh, iw = ow * p->stride_w - p->pad_w + kw;
                                if (ih < 0 || ih >= H || iw < 0 || iw >= Wd) continue;
                                s += (double)dy[((n * O + o) * Ho + oh) * Wo + ow] * x[((n * C + c) * H + ih) * Wd + iw];
                            }
                        dw[(((n * O + o) * C + c) * KH + kh) * KW + kw] = (float)s;
                    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_conv2d_bwd_bias(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *DB = call->t[0], *DY = call->t[1];
    float *db = ig_cpu_f32(DB);
    const float *dy = ig_cpu_f32(DY);
    int64_t N = DY->shape[0], O = DY->shape[1], HW = DY->shape[2] * DY->shape[3];
    for (int64_t o = 0; o < O; o++) {
        double s = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) s += dy[(n * O + o) * HW + i];
        db[o] = (float)s;
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- pooling */

enum ig_status ig_cpu_ref_maxpool2d_fwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_pool2d_params *p = &call->p.pool;
    const struct ig_tensor *Y = call->t[0], *I = call->t[1], *X = call->t[2];
    float *y = ig_cpu_f32(Y);
    int32_t *idx = ig_cpu_i32(I);
    const float *x = ig_cpu_f32(X);
    int64_t NC = X->shape[0] * X->shape[1], H = X->shape[2], W = X->shape[3], Ho = Y->shape[2], Wo = Y->shape[3];
    for (int64_t nc = 0; nc < NC; nc++)
        for (int64_t oh = 0; oh < Ho; oh++)
            for (int64_t ow = 0; ow < Wo; ow++) {
                float best = -INFINITY;
                int64_t bi = (oh * p->stride) * W + ow * p->stride;
                bool first = true;
                for (int kh = 0; kh < p->kernel; kh++)
                    for (int kw = 0; kw < p->kernel; kw++) {
                        int64_t ih = oh * p->stride + kh, iw = ow * p->stride + kw;
                        float v = x[nc * H * W + ih * W + iw];
                        if (first || v > best) { best = v; bi = ih * W + iw; first = false; }
                    }
                y[(nc * Ho + oh) * Wo + ow] = best;
                idx[(nc * Ho + oh) * Wo + ow] = (int32_t)bi;
            }
    return IG_OK;
}

enum ig_status ig_cpu_ref_maxpool2d_bwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *DX = call->t[0], *DY = call->t[1], *I = call->t[2];
    float *dx = ig_cpu_f32(DX);
    const float *dy = ig_cpu_f32(DY);
    const int32_t *idx = ig_cpu_i32(I);
    int64_t NC = DX->shape[0] * DX->shape[1], HW = DX->shape[2] * DX->shape[3], HWo = DY->shape[2] * DY->shape[3];
    for (int64_t i = 0; i < NC * HW; i++) dx[i] = 0.0f;
    for (int64_t nc = 0; nc < NC; nc++)
        for (int64_t j = 0; j < HWo; j++) dx[nc * HW + idx[nc * HWo + j]] += dy[nc * HWo + j];
    return IG_OK;
}

/* ---------------------------------------------------------------- activations */

enum ig_status ig_cpu_ref_relu_fwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t n = numel(call->t[1]);
    for (int64_t i = 0; i < n; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return IG_OK;
}

enum ig_status ig_cpu_ref_relu_bwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *dx = ig_cpu_f32(call->t[0]);
    const float *dy = ig_cpu_f32(call->t[1]), *y = ig_cpu_f32(call->t[2]);
    int64_t n = numel(call->t[1]);
    for (int64_t i = 0; i < n; i++) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
    return IG_OK;
}

/* ---------------------------------------------------------------- batch norm (PyTorch semantics) */

/* x: [N,C,H,W] or [N,C] (H*W = 1) */
static void bn_dims(const struct ig_tensor *x, int64_t *N, int64_t *C, int64_t *HW)
{
    *N = x->shape[0];
    *C = x->shape[1];
    *HW = 1;
    for (int d = 2; d < x->ndim; d++) *HW *= x->shape[d];
}

enum ig_status ig_cpu_ref_bn2d_fwd_train(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_bn_params *p = &call->p.bn;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *gamma = ig_cpu_f32(call->t[2]), *beta = ig_cpu_f32(call->t[3]);
    float *rm = ig_cpu_f32(call->t[4]), *rv = ig_cpu_f32(call->t[5]);
    float *smean = ig_cpu_f32(call->t[6]), *sinv = ig_cpu_f32(call->t[7]);
    int64_t N, C, HW;
    bn_dims(call->t[1], &N, &C, &HW);
    double cnt = (double)(N * HW);
    for (int64_t c = 0; c < C; c++) {
        double s = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
        double mean = s / cnt, ss = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                double d = x[(n * C + c) * HW + i] - mean;
                ss += d * d;
            }
        double var = ss / cnt;                                  /* biased: used to normalise */
        double var_unb = cnt > 1.0 ? ss / (cnt - 1.0) : var;    /* unbiased: running estimate */
        double inv = 1.0 / sqrt(var + p->eps);
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (n * C + c) * HW + i;
                y[k] = (float)((x[k] - mean) * inv * gamma[c] + beta[c]);
            }
        rm[c] = (float)((1.0 - p->momentum) * rm[c] + p->momentum * mean);
        rv[c] = (float)((1.0 - p->momentum) * rv[c] + p->momentum * var_unb);
        smean[c] = (float)mean;
        sinv[c] = (float)inv;
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_bn2d_fwd_eval(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_bn_params *p = &call->p.bn;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *gamma = ig_cpu_f32(call->t[2]), *beta = ig_cpu_f32(call->t[3]);
    const float *rm = ig_cpu_f32(call->t[4]), *rv = ig_cpu_f32(call->t[5]);
    int64_t N, C, HW;
    bn_dims(call->t[1], &N, &C, &HW);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)rv[c] + p->eps);
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (n * C + c) * HW + i;
                y[k] = (float)((x[k] - rm[c]) * inv * gamma[c] + beta[c]);
            }
        }
    return IG_OK;
}

enum ig_status ig_cpu_ref_bn2d_bwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *dx = ig_cpu_f32(call->t[0]), *dgamma = ig_cpu_f32(call->t[1]), *dbeta = ig_cpu_f32(call->t[2]);
    const float *dy = ig_cpu_f32(call->t[3]), *x = ig_cpu_f32(call->t[4]), *gamma = ig_cpu_f32(call->t[5]);
    const float *smean = ig_cpu_f32(call->t[6]), *sinv = ig_cpu_f32(call->t[7]);
    int64_t N, C, HW;
    bn_dims(call->t[4], &N, &C, &HW);
    double cnt = (double)(N * HW);
    for (int64_t c = 0; c < C; c++) {
        double sdy = 0.0, sdyx = 0.0;
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (n * C + c) * HW + i;
                double xh = (x[k] - smean[c]) * (double)sinv[c];
                sdy += dy[k];
                sdyx += dy[k] * xh;
            }
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)sdyx;
        /* dx = gamma*invstd/cnt * (cnt*dy - sum(dy) - xhat*sum(dy*xhat)) */
        for (int64_t n = 0; n < N; n++)
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (n * C + c) * HW + i;
                double xh = (x[k] - smean[c]) * (double)sinv[c];
                dx[k] = (float)(gamma[c] * (double)sinv[c] / cnt * (cnt * dy[k] - sdy - xh * sdyx));
            }
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- dropout, bias */

enum ig_status ig_cpu_ref_dropout_fwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_dropout_params *p = &call->p.dropout;
    float *y = ig_cpu_f32(call->t[0]), *mask = ig_cpu_f32(call->t[1]);
    const struct ig_tensor *X = call->t[2];
    const float *x = ig_cpu_f32(X);
    int64_t n = numel(X);
    int64_t per = p->per_channel ? X->shape[2] * X->shape[3] : 1;  /* elements sharing one draw */
    float keep = p->p < 1.0f ? 1.0f / (1.0f - p->p) : 0.0f;
    for (int64_t i = 0; i < n; i++) {
        float u = ig_hash_uniform(p->seed, p->counter + (uint64_t)(i / per));
        mask[i] = u >= p->p ? keep : 0.0f;
        y[i] = x[i] * mask[i];
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_bias_add(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *Y = call->t[0];
    float *y = ig_cpu_f32(Y);
    const float *b = ig_cpu_f32(call->t[1]);
    int64_t N, C, inner;
    bn_dims(Y, &N, &C, &inner);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < inner; i++) y[(n * C + c) * inner + i] += b[c];
    return IG_OK;
}

/* ---------------------------------------------------------------- softmax, cross-entropy */

static double row_logsumexp(const float *x, int64_t M)
{
    double mx = -INFINITY;
    for (int64_t j = 0; j < M; j++) if (x[j] > mx) mx = x[j];
    double s = 0.0;
    for (int64_t j = 0; j < M; j++) s += exp(x[j] - mx);
    return mx + log(s);
}

/* y = softmax(x) row by row, or its logarithm */
static enum ig_status ref_softmax_rows(const struct ig_op_call *call, bool log_space)
{
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    for (int64_t n = 0; n < N; n++) {
        double lse = row_logsumexp(x + n * M, M);
        for (int64_t j = 0; j < M; j++) {
            double l = x[n * M + j] - lse;
            y[n * M + j] = (float)(log_space ? l : exp(l));
        }
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_softmax(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    return ref_softmax_rows(call, false);
}

enum ig_status ig_cpu_ref_log_softmax(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    return ref_softmax_rows(call, true);
}

enum ig_status ig_cpu_ref_xent_fwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *loss = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_TRY(ig_cpu_labels_check(call, "cross_entropy_forward"));
    double total = 0.0;
    for (int64_t n = 0; n < N; n++) {
        double l = row_logsumexp(x + n * M, M) - x[n * M + lab[n]];
        if (call->p.xent.reduction == IG_REDUCTION_NONE) loss[n] = (float)l;
        total += l;
    }
    if (call->p.xent.reduction == IG_REDUCTION_SUM) loss[0] = (float)total;
    if (call->p.xent.reduction == IG_REDUCTION_MEAN) loss[0] = (float)(total / (double)N);
    return IG_OK;
}

enum ig_status ig_cpu_ref_xent_bwd(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *dx = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *dloss = ig_cpu_f32(call->t[3]);
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    IG_TRY(ig_cpu_labels_check(call, "cross_entropy_backward"));
    for (int64_t n = 0; n < N; n++) {
        double g;
        switch (call->p.xent.reduction) {
        case IG_REDUCTION_NONE: g = dloss[n]; break;
        case IG_REDUCTION_SUM: g = dloss[0]; break;
        default: g = dloss[0] / (double)N; break;
        }
        double lse = row_logsumexp(x + n * M, M);
        for (int64_t j = 0; j < M; j++)
            dx[n * M + j] = (float)(g * (exp(x[n * M + j] - lse) - (j == lab[n] ? 1.0 : 0.0)));
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- reductions over one axis */

/* Split x's shape around axis: outer * len * inner. */
static void axis_split(const struct ig_tensor *x, int axis, int64_t *outer, int64_t *len, int64_t *inner)
{
    *outer = 1;
    *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->shape[d];
    *len = x->shape[axis];
    for (int d = axis + 1; d < x->ndim; d++) *inner *= x->shape[d];
}

static enum ig_status ref_reduce(const struct ig_op_call *call, bool mean)
{
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t outer, len, inner;
    axis_split(call->t[1], call->p.axis, &outer, &len, &inner);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            double s = 0.0;
            for (int64_t l = 0; l < len; l++) s += x[(o * len + l) * inner + i];
            y[o * inner + i] = (float)(mean ? (len ? s / (double)len : NAN) : s);
        }
    return IG_OK;
}

enum ig_status ig_cpu_ref_sum_axis(struct ig_backend *be, const struct ig_op_call *call) { (void)be; return ref_reduce(call, false); }
enum ig_status ig_cpu_ref_mean_axis(struct ig_backend *be, const struct ig_op_call *call) { (void)be; return ref_reduce(call, true); }

/* ---------------------------------------------------------------- elementwise */

enum ig_status ig_cpu_ref_add(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *z = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *y = ig_cpu_f32(call->t[2]);
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) z[i] = x[i] + y[i];
    return IG_OK;
}

enum ig_status ig_cpu_ref_sub(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *z = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *y = ig_cpu_f32(call->t[2]);
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) z[i] = x[i] - y[i];
    return IG_OK;
}

enum ig_status ig_cpu_ref_mul(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *z = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *y = ig_cpu_f32(call->t[2]);
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) z[i] = x[i] * y[i];
    return IG_OK;
}

enum ig_status ig_cpu_ref_scale(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) y[i] = call->p.alpha * x[i];
    return IG_OK;
}

enum ig_status ig_cpu_ref_axpy(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) y[i] += call->p.alpha * x[i];
    return IG_OK;
}

enum ig_status ig_cpu_ref_argmax_rows(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    int32_t *out = ig_cpu_i32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    for (int64_t n = 0; n < N; n++) {
        int64_t best = 0;
        for (int64_t j = 1; j < M; j++) if (x[n * M + j] > x[n * M + best]) best = j;
        out[n] = (int32_t)best;
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_normalize_u8(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const uint8_t *x = ig_cpu_u8(call->t[1]);
    int64_t N, C, HW;
    bn_dims(call->t[1], &N, &C, &HW);
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++)
            for (int64_t i = 0; i < HW; i++) {
                int64_t k = (n * C + c) * HW + i;
                y[k] = (float)((x[k] / 255.0 - call->p.norm.mean[c]) / call->p.norm.std[c]);
            }
    return IG_OK;
}

/* ---------------------------------------------------------------- optimizers (torch.optim semantics) */

enum ig_status ig_cpu_ref_adam_step(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_adam_params *p = &call->p.adam;
    float *w = ig_cpu_f32(call->t[0]), *m = ig_cpu_f32(call->t[2]), *v = ig_cpu_f32(call->t[3]);
    const float *g = ig_cpu_f32(call->t[1]);
    int64_t n = numel(call->t[0]);
    double bc1 = 1.0 - pow(p->beta1, (double)p->step), bc2 = 1.0 - pow(p->beta2, (double)p->step);
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + p->weight_decay * w[i];
        m[i] = p->beta1 * m[i] + (1.0f - p->beta1) * gi;
        v[i] = p->beta2 * v[i] + (1.0f - p->beta2) * gi * gi;
        double mhat = m[i] / bc1, vhat = v[i] / bc2;
        w[i] = (float)(w[i] - p->lr * mhat / (sqrt(vhat) + p->eps));
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_sgd_step(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_sgd_params *p = &call->p.sgd;
    float *w = ig_cpu_f32(call->t[0]);
    const float *g = ig_cpu_f32(call->t[1]);
    float *buf = call->t[2] ? ig_cpu_f32(call->t[2]) : NULL;
    int64_t n = numel(call->t[0]);
    for (int64_t i = 0; i < n; i++) {
        float gi = g[i] + p->weight_decay * w[i];
        if (p->momentum != 0.0f && buf) {
            buf[i] = p->first_step ? gi : p->momentum * buf[i] + (1.0f - p->dampening) * gi;
            gi = p->nesterov ? gi + p->momentum * buf[i] : buf[i];
        }
        w[i] -= p->lr * gi;
    }
    return IG_OK;
}

/* ---------------------------------------------------------------- copy, fill, row reductions */

enum ig_status ig_cpu_ref_copy(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *D = call->t[0], *S = call->t[1];
    size_t es = ig_dtype_size(S->dtype);
    char *d = (char *)D->buf->mem + D->offset * (int64_t)es;
    const char *s = (const char *)S->buf->mem + S->offset * (int64_t)es;
    int64_t n = numel(S);
    for (int64_t i = 0; i < n; i++) {
        int64_t rem = i, off = 0;       /* row-major multi-index of i, mapped through S's strides */
        for (int k = S->ndim - 1; k >= 0; k--) {
            off += (rem % S->shape[k]) * S->stride[k];
            rem /= S->shape[k];
        }
        memcpy(d + i * (int64_t)es, s + off * (int64_t)es, es);
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_fill(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_tensor *Y = call->t[0];
    int64_t n = numel(Y);
    float v = call->p.alpha;
    for (int64_t i = 0; i < n; i++) {
        switch (Y->dtype) {
        case IG_DTYPE_F32: ig_cpu_f32(Y)[i] = v; break;
        case IG_DTYPE_I32: ig_cpu_i32(Y)[i] = (int32_t)v; break;
        case IG_DTYPE_U8: ig_cpu_u8(Y)[i] = (uint8_t)v; break;
        default: return ig_error(IG_ERR_DTYPE, "fill: unknown dtype");
        }
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_row_sqnorm(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *out = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N = call->t[1]->shape[0], M = numel(call->t[1]) / (N ? N : 1);
    for (int64_t n = 0; n < N; n++) {
        double s = 0.0;
        for (int64_t j = 0; j < M; j++) s += (double)x[n * M + j] * x[n * M + j];
        out[n] = (float)s;
    }
    return IG_OK;
}

enum ig_status ig_cpu_ref_row_dot(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *out = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *v = ig_cpu_f32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = numel(call->t[1]) / (N ? N : 1);
    for (int64_t n = 0; n < N; n++) {
        double s = 0.0;
        for (int64_t j = 0; j < M; j++) s += (double)x[n * M + j] * v[j];
        out[n] = (float)s;
    }
    return IG_OK;
}
