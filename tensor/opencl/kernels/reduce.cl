/* Reductions: sum/mean along an axis, per-row sum of squares and dot products, per-channel sums. */

/* x viewed as [outer, len, inner]; y[o, inner] = scale * sum_l x[o, l, inner]. One work-item per output. */
__kernel void sum_axis(__global float *y, int yo, __global const float *x, int xo, int len, int inner,
                       float scale, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int o = i / inner, k = i % inner;
    __global const float *p = x + xo + (size_t)o * len * inner + k;
    float s = 0.0f;
    for (int l = 0; l < len; l++) s += p[(size_t)l * inner];
    y[yo + i] = s * scale;
}

/* y[j] = beta y[j] + sum_{s<S} x[s*inner + j]: combines split-K partial GEMM results. */
__kernel void sum_parts(__global float *y, int yo, __global const float *x, int S, int inner, float beta)
{
    int j = get_global_id(0);
    if (j >= inner) return;
    float s = 0.0f;
    for (int k = 0; k < S; k++) s += x[(size_t)k * inner + j];
    y[yo + j] = beta == 0.0f ? s : beta * y[yo + j] + s;
}

/* One work-group (IG_WG items) per row r of x[rows, M]: out[r] = scale * sum_m x[r,m]. */
__kernel void row_sum(__global float *out, int oo, __global const float *x, int xo, int M, float scale)
{
    __local float sh[IG_WG];
    int r = get_group_id(0), l = get_local_id(0);
    __global const float *row = x + xo + (size_t)r * M;
    float s = 0.0f;
    for (int m = l; m < M; m += IG_WG) s += row[m];
    s = ig_wg_sum(sh, s);
    if (l == 0) out[oo + r] = s * scale;
}

/* out[r] = sum_m x[r,m]^2 */
__kernel void row_sqnorm(__global float *out, int oo, __global const float *x, int xo, int M)
{
    __local float sh[IG_WG];
    int r = get_group_id(0), l = get_local_id(0);
    __global const float *row = x + xo + (size_t)r * M;
    float s = 0.0f;
    for (int m = l; m < M; m += IG_WG) { float v = row[m]; s += v * v; }
    s = ig_wg_sum(sh, s);
    if (l == 0) out[oo + r] = s;
}

/* out[r] = sum_m x[r,m] v[m] */
__kernel void row_dot(__global float *out, int oo, __global const float *x, int xo, __global const float *v, int vo, int M)
{
    __local float sh[IG_WG];
    int r = get_group_id(0), l = get_local_id(0);
    __global const float *row = x + xo + (size_t)r * M;
    float s = 0.0f;
    for (int m = l; m < M; m += IG_WG) s += row[m] * v[vo + m];
    s = ig_wg_sum(sh, s);
    if (l == 0) out[oo + r] = s;
}

/* One work-group per channel c of dy[N,C,HW]: db[c] = sum over N and HW. */
__kernel void channel_sum(__global float *db, int dbo, __global const float *dy, int dyo, int N, int C, int HW)
{
    __local float sh[IG_WG];
    int c = get_group_id(0), l = get_local_id(0);
    float s = 0.0f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + dyo + ((size_t)n * C + c) * HW;
        for (int i = l; i < HW; i += IG_WG) s += p[i];
    }
    s = ig_wg_sum(sh, s);
    if (l == 0) db[dbo + c] = s;
}

/* out i32[N] = first argmax of each row of x[N,M]; one work-item per row. */
__kernel void argmax_rows(__global int *out, int oo, __global const float *x, int xo, int M, int N)
{
    int r = get_global_id(0);
    if (r >= N) return;
    __global const float *row = x + xo + (size_t)r * M;
    float best = row[0];
    int bi = 0;
    for (int m = 1; m < M; m++)
        if (row[m] > best) { best = row[m]; bi = m; }
    out[oo + r] = bi;
}
