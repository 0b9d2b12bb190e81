/* CPU batch-norm (train/eval forward, backward) and u8 image normalisation kernels, OpenMP over channels. */
#include "ig_cpu_util.h"
#include <math.h>

/* x: [N,C,H,W] or [N,C] */
static void dims(const struct ig_tensor *x, int64_t *N, int64_t *C, int64_t *HW)
{
    *N = x->shape[0];
    *C = x->shape[1];
    *HW = 1;
    for (int d = 2; d < x->ndim; d++) *HW *= x->shape[d];
}

enum ig_status IG_ISA_FN(ig_cpu_bn2d_fwd_train)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_bn_params *p = &call->p.bn;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *gamma = ig_cpu_f32(call->t[2]), *beta = ig_cpu_f32(call->t[3]);
    float *rm = ig_cpu_f32(call->t[4]), *rv = ig_cpu_f32(call->t[5]);
    float *smean = ig_cpu_f32(call->t[6]), *sinv = ig_cpu_f32(call->t[7]);
    int64_t N, C, HW;
    dims(call->t[1], &N, &C, &HW);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel for schedule(dynamic, 1) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t c = 0; c < C; c++) {
        /* shifted sums (shift = first element) keep the variance accurate in one pass */
        float shift = x[c * HW];
        double s = 0.0, ss = 0.0;
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * HW;
            float a = 0.0f, b = 0.0f;
            for (int64_t i = 0; i < HW; i++) {
                float d = xp[i] - shift;
                a += d;
                b += d * d;
            }
            s += a;
            ss += b;
        }
        double md = s / cnt, mean = shift + md;
        double var = ss / cnt - md * md;
        if (var < 0.0) var = 0.0;
        double var_unb = cnt > 1.0 ? var * cnt / (cnt - 1.0) : var;
        double inv = 1.0 / sqrt(var + p->eps);
        float sc = (float)(inv * gamma[c]), sh = (float)(beta[c] - mean * inv * gamma[c]);
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * HW;
            float *yp = y + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) yp[i] = xp[i] * sc + sh;
        }
        rm[c] = (float)((1.0 - p->momentum) * rm[c] + p->momentum * mean);
        rv[c] = (float)((1.0 - p->momentum) * rv[c] + p->momentum * var_unb);
        smean[c] = (float)mean;
        sinv[c] = (float)inv;
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_bn2d_fwd_eval)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    const struct ig_bn_params *p = &call->p.bn;
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]), *gamma = ig_cpu_f32(call->t[2]), *beta = ig_cpu_f32(call->t[3]);
    const float *rm = ig_cpu_f32(call->t[4]), *rv = ig_cpu_f32(call->t[5]);
    int64_t N, C, HW;
    dims(call->t[1], &N, &C, &HW);
    IG_OMP(omp parallel for collapse(2) schedule(dynamic, 16) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            double inv = 1.0 / sqrt((double)rv[c] + p->eps);
            float sc = (float)(inv * gamma[c]), sh = (float)(beta[c] - rm[c] * inv * gamma[c]);
            const float *xp = x + (n * C + c) * HW;
            float *yp = y + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) yp[i] = xp[i] * sc + sh;
        }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_bn2d_bwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *dx = ig_cpu_f32(call->t[0]), *dgamma = ig_cpu_f32(call->t[1]), *dbeta = ig_cpu_f32(call->t[2]);
    const float *dy = ig_cpu_f32(call->t[3]), *x = ig_cpu_f32(call->t[4]), *gamma = ig_cpu_f32(call->t[5]);
    const float *smean = ig_cpu_f32(call->t[6]), *sinv = ig_cpu_f32(call->t[7]);
    int64_t N, C, HW;
    dims(call->t[4], &N, &C, &HW);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel for schedule(dynamic, 1) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t c = 0; c < C; c++) {
        float mu = smean[c];
        double sdy = 0.0, sdyx = 0.0;   /* sum dy, sum dy*(x-mu) */
        for (int64_t n = 0; n < N; n++) {
            const float *gp = dy + (n * C + c) * HW, *xp = x + (n * C + c) * HW;
            float a = 0.0f, b = 0.0f;
            for (int64_t i = 0; i < HW; i++) {
                a += gp[i];
                b += gp[i] * (xp[i] - mu);
            }
            sdy += a;
            sdyx += b;
        }
        double inv = sinv[c];
        dbeta[c] = (float)sdy;
        dgamma[c] = (float)(sdyx * inv);
        /* dx = gamma*inv*(dy - mean(dy) - (x-mu)*inv^2*mean(dy*(x-mu))) */
        float k1 = (float)(gamma[c] * inv), k2 = (float)(sdy / cnt), k3 = (float)(inv * inv * sdyx / cnt);
        for (int64_t n = 0; n < N; n++) {
            const float *gp = dy + (n * C + c) * HW, *xp = x + (n * C + c) * HW;
            float *dp = dx + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) dp[i] = k1 * (gp[i] - k2 - (xp[i] - mu) * k3);
        }
    }
    return IG_OK;
}

enum ig_status IG_ISA_FN(ig_cpu_normalize_u8)(struct ig_backend *be, const struct ig_op_call *call)
{
    (void)be;
    float *y = ig_cpu_f32(call->t[0]);
    const uint8_t *x = ig_cpu_u8(call->t[1]);
    int64_t N, C, HW;
    dims(call->t[1], &N, &C, &HW);
    float sc[4], sh[4];
    for (int64_t c = 0; c < C && c < 4; c++) {
        sc[c] = (float)(1.0 / (255.0 * call->p.norm.std[c]));
        sh[c] = (float)(-call->p.norm.mean[c] / call->p.norm.std[c]);
    }
    IG_OMP(omp parallel for collapse(2) schedule(dynamic, 16) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t n = 0; n < N; n++)
        for (int64_t c = 0; c < C; c++) {
            const uint8_t *xp = x + (n * C + c) * HW;
            float *yp = y + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) yp[i] = (float)xp[i] * sc[c] + sh[c];
        }
    return IG_OK;
}
