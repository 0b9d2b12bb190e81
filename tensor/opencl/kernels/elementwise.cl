/* Elementwise kernels: relu, add/sub/mul, scale, axpy, bias add, dropout, u8 normalisation, strided copy. */
/* Every tensor is passed as (buffer, element offset); n is the element count. */

__kernel void relu_fwd(__global float *y, int yo, __global const float *x, int xo, int n)
{
    int i = get_global_id(0);
    if (i < n) { float v = x[xo + i]; y[yo + i] = v > 0.0f ? v : 0.0f; }
}

/* dx = dy * (y > 0) */
__kernel void relu_bwd(__global float *dx, int dxo, __global const float *dy, int dyo,
                       __global const float *y, int yo, int n)
{
    int i = get_global_id(0);
    if (i < n) dx[dxo + i] = y[yo + i] > 0.0f ? dy[dyo + i] : 0.0f;
}

__kernel void add_f(__global float *z, int zo, __global const float *x, int xo, __global const float *y, int yo, int n)
{
    int i = get_global_id(0);
    if (i < n) z[zo + i] = x[xo + i] + y[yo + i];
}

__kernel void sub_f(__global float *z, int zo, __global const float *x, int xo, __global const float *y, int yo, int n)
{
    int i = get_global_id(0);
    if (i < n) z[zo + i] = x[xo + i] - y[yo + i];
}

__kernel void mul_f(__global float *z, int zo, __global const float *x, int xo, __global const float *y, int yo, int n)
{
    int i = get_global_id(0);
    if (i < n) z[zo + i] = x[xo + i] * y[yo + i];
}

/* y = alpha x */
__kernel void scale_f(__global float *y, int yo, __global const float *x, int xo, float alpha, int n)
{
    int i = get_global_id(0);
    if (i < n) y[yo + i] = alpha * x[xo + i];
}

/* y += alpha x */
__kernel void axpy_f(__global float *y, int yo, __global const float *x, int xo, float alpha, int n)
{
    int i = get_global_id(0);
    if (i < n) y[yo + i] += alpha * x[xo + i];
}

/* y[n, c, q] += b[c]; range (inner rounded up, C, N) */
__kernel void bias_add(__global float *y, int yo, __global const float *b, int bo, int C, int inner)
{
    int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q < inner) y[yo + ((size_t)n * C + c) * inner + q] += b[bo + c];
}

/* y = x * mask; mask = keep ? scale : 0, keep = u(seed, counter + j) >= p with j the element
 * index (or n*C + c, i.e. i / group, for per-channel dropout: group = H*W). */
__kernel void dropout_fwd(__global float *y, int yo, __global float *mask, int mo, __global const float *x, int xo,
                          ulong seed, ulong counter, float p, float scale, int group, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    ulong j = counter + (ulong)(i / group);
    float m = ig_hash_uniform(seed, j) >= p ? scale : 0.0f;
    mask[mo + i] = m;
    y[yo + i] = x[xo + i] * m;
}

/* y f32[N,C,H,W] = (x u8 / 255 - mean[c]) / std[c]; range (H*W rounded up, C, N) */
__kernel void normalize_u8(__global float *y, int yo, __global const uchar *x, int xo, int C, int hw,
                           float4 mean, float4 stdv)
{
    int q = get_global_id(0), c = get_global_id(1), n = get_global_id(2);
    if (q >= hw) return;
    size_t i = ((size_t)n * C + c) * hw + q;
    float mu = c == 0 ? mean.s0 : c == 1 ? mean.s1 : c == 2 ? mean.s2 : mean.s3;
    float sd = c == 0 ? stdv.s0 : c == 1 ? stdv.s1 : c == 2 ? stdv.s2 : stdv.s3;
    y[yo + i] = ((float)x[xo + i] / 255.0f - mu) / sd;
}

/* The element offset of the i-th element (row-major order) of a view with shape [., s1, s2, s3] and element
 * strides t0..t3. */
inline int strided_offset(int i, int s1, int s2, int s3, int t0, int t1, int t2, int t3)
{
    int r = i;
    int i3 = r % s3; r /= s3;
    int i2 = r % s2; r /= s2;
    int i1 = r % s1; r /= s1;
    return r * t0 + i1 * t1 + i2 * t2 + i3 * t3;
}

/* dst (contiguous) = src viewed with shape [s0,s1,s2,s3] and element strides t0..t3 (4-byte dtypes). */
__kernel void copy_strided4(__global uint *dst, int dsto, __global const uint *src, int srco,
                            int s1, int s2, int s3, int t0, int t1, int t2, int t3, int n)
{
    int i = get_global_id(0);
    if (i < n) dst[dsto + i] = src[srco + strided_offset(i, s1, s2, s3, t0, t1, t2, t3)];
}

/* The same for 1-byte dtypes (u8). */
__kernel void copy_strided1(__global uchar *dst, int dsto, __global const uchar *src, int srco,
                            int s1, int s2, int s3, int t0, int t1, int t2, int t3, int n)
{
    int i = get_global_id(0);
    if (i < n) dst[dsto + i] = src[srco + strided_offset(i, s1, s2, s3, t0, t1, t2, t3)];
}
