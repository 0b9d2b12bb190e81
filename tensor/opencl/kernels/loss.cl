/* Row softmax, log-softmax and cross-entropy forward/backward; one work-item per row of [N,M]. */

__kernel void softmax_rows(__global float *y, int yo, __global const float *x, int xo, int M, int N, int logmode)
{
    int r = get_global_id(0);
    if (r >= N) return;
    __global const float *xr = x + xo + (size_t)r * M;
    __global float *yr = y + yo + (size_t)r * M;
    float mx = xr[0];
    for (int m = 1; m < M; m++) mx = fmax(mx, xr[m]);
    float s = 0.0f;
    for (int m = 0; m < M; m++) s += exp(xr[m] - mx);
    if (logmode) {
        float ls = log(s);
        for (int m = 0; m < M; m++) yr[m] = xr[m] - mx - ls;
    } else {
        float inv = 1.0f / s;
        for (int m = 0; m < M; m++) yr[m] = exp(xr[m] - mx) * inv;
    }
}

/* loss[r] = logsumexp(logits[r]) - logits[r, label[r]]; a label outside [0,M) gives NaN and sets bad[0]
 * = 1, which the host reads back together with the loss and turns into an error. */
__kernel void xent_rows(__global float *loss, int lo, __global const float *x, int xo, __global const int *lab, int labo,
                        int M, int N, __global int *bad)
{
    int r = get_global_id(0);
    if (r >= N) return;
    __global const float *xr = x + xo + (size_t)r * M;
    int t = lab[labo + r];
    float mx = xr[0];
    for (int m = 1; m < M; m++) mx = fmax(mx, xr[m]);
    float s = 0.0f;
    for (int m = 0; m < M; m++) s += exp(xr[m] - mx);
    bool ok = t >= 0 && t < M;
    if (!ok) bad[0] = 1;
    loss[lo + r] = ok ? mx + log(s) - xr[t] : NAN;
}

/* dlogits[r,m] = g_r (softmax(x_r)[m] - [m == label_r]); g_r = dloss[0] * scale (mean/sum) or dloss[r] (none). */
__kernel void xent_bwd(__global float *dx, int dxo, __global const float *x, int xo, __global const int *lab, int labo,
                       __global const float *dloss, int dlo, float scale, int per_row, int M, int N)
{
    int r = get_global_id(0);
    if (r >= N) return;
    __global const float *xr = x + xo + (size_t)r * M;
    __global float *dr = dx + dxo + (size_t)r * M;
    int t = lab[labo + r];
    float g = per_row ? dloss[dlo + r] : dloss[dlo] * scale;
    if (t < 0 || t >= M) g = NAN;
    float mx = xr[0];
    for (int m = 1; m < M; m++) mx = fmax(mx, xr[m]);
    float s = 0.0f;
    for (int m = 0; m < M; m++) s += exp(xr[m] - mx);
    float inv = 1.0f / s;
    for (int m = 0; m < M; m++) dr[m] = g * (exp(xr[m] - mx) * inv - (m == t ? 1.0f : 0.0f));
}
