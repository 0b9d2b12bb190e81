/* Batch norm 2-D over (N,H,W) per channel: statistics (one work-group per channel), apply, eval, backward. */

/* Two-pass mean/variance of channel c of x[N,C,HW]; saves mean and 1/sqrt(var+eps) and updates
 * the running stats (running_var with the unbiased variance, as PyTorch). */
__kernel void bn_stats(__global const float *x, int xo, int N, int C, int HW,
                       __global float *rmean, int rmo, __global float *rvar, int rvo,
                       __global float *smean, int smo, __global float *sinv, int sio, float momentum, float eps)
{
    __local float sh[IG_WG];
    int c = get_group_id(0), l = get_local_id(0);
    float cnt = (float)N * (float)HW;
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = x + xo + ((size_t)n * C + c) * HW;
        for (int i = l; i < HW; i += IG_WG) s += p[i];
    }
    float mean = ig_wg_sum(sh, s) / cnt;
    float q = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = x + xo + ((size_t)n * C + c) * HW;
        for (int i = l; i < HW; i += IG_WG) { float d = p[i] - mean; q += d * d; }
    }
    float var = ig_wg_sum(sh, q) / cnt;
    if (l == 0) {
        smean[smo + c] = mean;
        sinv[sio + c] = 1.0f / sqrt(var + eps);
        float unbiased = cnt > 1.0f ? var * cnt / (cnt - 1.0f) : var;
        rmean[rmo + c] = (1.0f - momentum) * rmean[rmo + c] + momentum * mean;
        rvar[rvo + c] = (1.0f - momentum) * rvar[rvo + c] + momentum * unbiased;
    }
}

/* y = (x - mean[c]) * invstd[c] * gamma[c] + beta[c]; mode 1 (eval): invstd = 1/sqrt(var[c] + eps).
 * Range (HW rounded up, C, N). */
__kernel void bn_apply(__global float *y, int yo, __global const float *x, int xo,
                       __global const float *gamma, int go, __global const float *beta, int bo,
                       __global const float *mean, int mo, __global const float *sv, int svo,
                       int C, int HW, int eval, float eps)
{
    int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q >= HW) return;
    size_t i = ((size_t)n * C + c) * HW + q;
    float inv = eval ? 1.0f / sqrt(sv[svo + c] + eps) : sv[svo + c];
    y[yo + i] = (x[xo + i] - mean[mo + c]) * inv * gamma[go + c] + beta[bo + c];
}

/* Per channel: dbeta = sum dy, dgamma = sum dy * xhat. */
__kernel void bn_bwd_reduce(__global float *dgamma, int dgo, __global float *dbeta, int dbo,
                            __global const float *dy, int dyo, __global const float *x, int xo,
                            __global const float *mean, int mo, __global const float *inv, int io,
                            int N, int C, int HW)
{
    __local float sh[IG_WG];
    int c = get_group_id(0), l = get_local_id(0);
    float mu = mean[mo + c], is = inv[io + c];
    float sb = 0.0f, sg = 0.0f;
    for (int n = 0; n < N; n++) {
        size_t base = ((size_t)n * C + c) * HW;
        for (int i = l; i < HW; i += IG_WG) {
            float d = dy[dyo + base + i];
            sb += d;
            sg += d * (x[xo + base + i] - mu) * is;
        }
    }
    sb = ig_wg_sum(sh, sb);
    sg = ig_wg_sum(sh, sg);
    if (l == 0) { dbeta[dbo + c] = sb; dgamma[dgo + c] = sg; }
}

/* dx = gamma invstd / M * (M dy - dbeta - xhat dgamma), M = N*H*W. Range (HW rounded up, C, N). */
__kernel void bn_bwd_dx(__global float *dx, int dxo, __global const float *dy, int dyo, __global const float *x, int xo,
                        __global const float *gamma, int go, __global const float *mean, int mo,
                        __global const float *inv, int io, __global const float *dgamma, int dgo,
                        __global const float *dbeta, int dbo, int C, int HW, float cnt)
{
    int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q >= HW) return;
    size_t i = ((size_t)n * C + c) * HW + q;
    float is = inv[io + c];
    float xhat = (x[xo + i] - mean[mo + c]) * is;
    dx[dxo + i] = gamma[go + c] * is / cnt * (cnt * dy[dyo + i] - dbeta[dbo + c] - xhat * dgamma[dgo + c]);
}
