/* Max pooling 2-D (no padding): forward with argmax indices, backward by gathering into each input. */

/* y, idx: [N,C,Ho,Wo]; x: [N,C,H,W]; idx = h*W + w of the first maximum inside the plane.
 * Range (Wo rounded up, Ho, N*C). */
__kernel void maxpool_fwd(__global float *y, int yo, __global int *idx, int io, __global const float *x, int xo,
                          int H, int W, int Ho, int Wo, int k, int s)
{
    int ow = get_global_id(0), oh = get_global_id(1), plane = get_global_id(2);
    if (ow >= Wo) return;
    size_t i = ((size_t)plane * Ho + oh) * Wo + ow;
    __global const float *xp = x + xo + (size_t)plane * H * W;
    int h0 = oh * s, w0 = ow * s;
    float best = -INFINITY;
    int bi = h0 * W + w0;
    for (int kh = 0; kh < k; kh++)
        for (int kw = 0; kw < k; kw++) {
            int h = h0 + kh, w = w0 + kw;
            if (h < H && w < W) {
                float v = xp[h * W + w];
                if (v > best) { best = v; bi = h * W + w; }
            }
        }
    y[yo + i] = best;
    idx[io + i] = bi;
}

/* dx[N,C,H,W] = sum of dy over the windows whose argmax is this element (gather, no atomics).
 * Range (W rounded up, H, N*C). */
__kernel void maxpool_bwd(__global float *dx, int dxo, __global const float *dy, int dyo, __global const int *idx, int io,
                          int H, int W, int Ho, int Wo, int k, int s)
{
    int w = get_global_id(0), h = get_global_id(1), plane = get_global_id(2);
    if (w >= W) return;
    size_t i = ((size_t)plane * H + h) * W + w;
    int me = h * W + w;
    int oh0 = h < k ? 0 : (h - k) / s + 1, oh1 = min(h / s, Ho - 1);
    int ow0 = w < k ? 0 : (w - k) / s + 1, ow1 = min(w / s, Wo - 1);
    size_t pb = (size_t)plane * Ho * Wo;
    float acc = 0.0f;
    for (int oh = oh0; oh <= oh1; oh++)
        for (int ow = ow0; ow <= ow1; ow++) {
            size_t o = pb + oh * Wo + ow;
            if (idx[io + o] == me) acc += dy[dyo + o];
        }
    dx[dxo + i] = acc;
}
