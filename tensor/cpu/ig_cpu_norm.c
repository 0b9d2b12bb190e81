/* CPU batch-norm (train/eval forward, backward: vector plane sums, OpenMP over planes) and u8 image normalisation kernels. */
#include "ig_cpu_util.h"
#include "ig_cpu_vreduce.h"
#include <math.h>

/* x: [N,C,H,W] or [N,C] */
static void dims(const struct ig_tensor *x, int64_t *N, int64_t *C, int64_t *HW)
{
    *N = x->shape[0];
    *C = x->shape[1];
    *HW = 1;
    for (int d = 2; d < x->ndim; d++) *HW *= x->shape[d];
}

/* Channel c's two sums from the plane partials part[2 (n C + c) + {0,1}], added in n order. */
static void part_sums(const double *part, int64_t N, int64_t C, int64_t c, double *s1, double *s2)
{
    double a = 0.0, b = 0.0;
    for (int64_t n = 0; n < N; n++) {
        a += part[2 * (n * C + c)];
        b += part[2 * (n * C + c) + 1];
    }
    *s1 = a;
    *s2 = b;
}

/* Train forward, channel c, from its shifted sums s = Σ (x - shift), ss = Σ (x - shift)² over cnt
 * values: updates the running and saved statistics; y = x k[0] + k[1]. */
static void bn_train_channel(const struct ig_op_call *call, int64_t c, float shift, double s, double ss, double cnt,
                             float *k)
{
    const struct ig_bn_params *p = &call->p.bn;
    const float *gamma = ig_cpu_f32(call->t[2]), *beta = ig_cpu_f32(call->t[3]);
    float *rm = ig_cpu_f32(call->t[4]), *rv = ig_cpu_f32(call->t[5]);
    float *smean = ig_cpu_f32(call->t[6]), *sinv = ig_cpu_f32(call->t[7]);
    double md = s / cnt, mean = shift + md;
    double var = ss / cnt - md * md;
    if (var < 0.0) var = 0.0;
    double var_unb = cnt > 1.0 ? var * cnt / (cnt - 1.0) : var;
    double inv = 1.0 / sqrt(var + p->eps);
    k[0] = (float)(inv * gamma[c]);
    k[1] = (float)(beta[c] - mean * inv * gamma[c]);
    rm[c] = (float)((1.0 - p->momentum) * rm[c] + p->momentum * mean);
    rv[c] = (float)((1.0 - p->momentum) * rv[c] + p->momentum * var_unb);
    smean[c] = (float)mean;
    sinv[c] = (float)inv;
}

/* Planes shorter than a vector ([N,C] inputs): per channel, float sums per plane, double across. */
static void bn_fwd_train_channels(const struct ig_op_call *call, int64_t N, int64_t C, int64_t HW)
{
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel for schedule(static) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t c = 0; c < C; c++) {
        /* shifted sums (shift = first element) keep the variance accurate in one pass */
        float shift = x[c * HW], k[2];
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
        bn_train_channel(call, c, shift, s, ss, cnt, k);
        for (int64_t n = 0; n < N; n++) {
            const float *xp = x + (n * C + c) * HW;
            float *yp = y + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) yp[i] = xp[i] * k[0] + k[1];
        }
    }
}

/* x: [N,C,HW]. Pass 1 sums each (n,c) plane on its own (shifted by the channel's first value:
 * an accurate variance in one pass) into part[2 (n C + c) + {0,1}]; the channel step adds them
 * in n order; pass 2 normalises. Both passes stream the planes in memory order, split evenly over
 * the threads, and the result does not depend on the thread count. */
enum ig_status IG_ISA_FN(ig_cpu_bn2d_fwd_train)(struct ig_backend *be, const struct ig_op_call *call)
{
    float *y = ig_cpu_f32(call->t[0]);
    const float *x = ig_cpu_f32(call->t[1]);
    int64_t N, C, HW;
    dims(call->t[1], &N, &C, &HW);
    int64_t NC = N * C;
    if (HW < IG_VW || NC == 0) {
        bn_fwd_train_channels(call, N, C, HW);
        return IG_OK;
    }
    double *part = ig_backend_scratch(be, (size_t)(2 * NC) * sizeof(double) + (size_t)(2 * C) * sizeof(float));
    if (!part) return IG_ERR_OOM;
    float *k = (float *)(part + 2 * NC);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel if (NC * HW > IG_CPU_PAR_MIN))
    {
        IG_OMP(omp for schedule(static))
        for (int64_t q = 0; q < NC; q++) {
            float shift = x[(q % C) * HW];
            vsum2(x + q * HW, shift, x + q * HW, shift, HW, &part[2 * q], &part[2 * q + 1]);
        }
        IG_OMP(omp for schedule(static))
        for (int64_t c = 0; c < C; c++) {
            double s, ss;
            part_sums(part, N, C, c, &s, &ss);
            bn_train_channel(call, c, x[c * HW], s, ss, cnt, k + 2 * c);
        }
        IG_OMP(omp for schedule(static))
        for (int64_t q = 0; q < NC; q++) {
            const float *xp = x + q * HW;
            float *yp = y + q * HW, a = k[2 * (q % C)], b = k[2 * (q % C) + 1];
            for (int64_t i = 0; i < HW; i++) yp[i] = xp[i] * a + b;
        }
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

/* Backward, channel c, from sdy = Σ dy and sdyx = Σ dy (x - mu): writes dgamma, dbeta;
 * dx = k[0] (dy - k[1] - (x - mu) k[2]) = gamma inv (dy - mean(dy) - (x - mu) inv² mean(dy (x - mu))). */
static void bn_bwd_channel(const struct ig_op_call *call, int64_t c, double sdy, double sdyx, double cnt, float *k)
{
    float *dgamma = ig_cpu_f32(call->t[1]), *dbeta = ig_cpu_f32(call->t[2]);
    const float *gamma = ig_cpu_f32(call->t[5]), *sinv = ig_cpu_f32(call->t[7]);
    double inv = sinv[c];
    dbeta[c] = (float)sdy;
    dgamma[c] = (float)(sdyx * inv);
    k[0] = (float)(gamma[c] * inv);
    k[1] = (float)(sdy / cnt);
    k[2] = (float)(inv * inv * sdyx / cnt);
}

/* Planes shorter than a vector: per channel, float sums per plane, double across. */
static void bn_bwd_channels(const struct ig_op_call *call, int64_t N, int64_t C, int64_t HW)
{
    float *dx = ig_cpu_f32(call->t[0]);
    const float *dy = ig_cpu_f32(call->t[3]), *x = ig_cpu_f32(call->t[4]), *smean = ig_cpu_f32(call->t[6]);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel for schedule(static) if (N * C * HW > IG_CPU_PAR_MIN))
    for (int64_t c = 0; c < C; c++) {
        float mu = smean[c], k[3];
        double sdy = 0.0, sdyx = 0.0;
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
        bn_bwd_channel(call, c, sdy, sdyx, cnt, k);
        for (int64_t n = 0; n < N; n++) {
            const float *gp = dy + (n * C + c) * HW, *xp = x + (n * C + c) * HW;
            float *dp = dx + (n * C + c) * HW;
            for (int64_t i = 0; i < HW; i++) dp[i] = k[0] * (gp[i] - k[1] - (xp[i] - mu) * k[2]);
        }
    }
}

/* As the train forward: one pass of per-plane sums Σ dy and Σ dy (x - mu) (part), the channel
 * step in n order, one pass for dx. */
enum ig_status IG_ISA_FN(ig_cpu_bn2d_bwd)(struct ig_backend *be, const struct ig_op_call *call)
{
    float *dx = ig_cpu_f32(call->t[0]);
    const float *dy = ig_cpu_f32(call->t[3]), *x = ig_cpu_f32(call->t[4]), *smean = ig_cpu_f32(call->t[6]);
    int64_t N, C, HW;
    dims(call->t[4], &N, &C, &HW);
    int64_t NC = N * C;
    if (HW < IG_VW || NC == 0) {
        bn_bwd_channels(call, N, C, HW);
        return IG_OK;
    }
    double *part = ig_backend_scratch(be, (size_t)(2 * NC) * sizeof(double) + (size_t)(3 * C) * sizeof(float));
    if (!part) return IG_ERR_OOM;
    float *k = (float *)(part + 2 * NC);
    double cnt = (double)(N * HW);
    IG_OMP(omp parallel if (NC * HW > IG_CPU_PAR_MIN))
    {
        IG_OMP(omp for schedule(static))
        for (int64_t q = 0; q < NC; q++)
            vsum2(dy + q * HW, 0.0f, x + q * HW, smean[q % C], HW, &part[2 * q], &part[2 * q + 1]);
        IG_OMP(omp for schedule(static))
        for (int64_t c = 0; c < C; c++) {
            double sdy, sdyx;
            part_sums(part, N, C, c, &sdy, &sdyx);
            bn_bwd_channel(call, c, sdy, sdyx, cnt, k + 3 * c);
        }
        IG_OMP(omp for schedule(static))
        for (int64_t q = 0; q < NC; q++) {
            const float *gp = dy + q * HW, *xp = x + q * HW, *kc = k + 3 * (q % C);
            float *dp = dx + q * HW, mu = smean[q % C], k0 = kc[0], k1 = kc[1], k2 = kc[2];
            for (int64_t i = 0; i < HW; i++) dp[i] = k0 * (gp[i] - k1 - (xp[i] - mu) * k2);
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
