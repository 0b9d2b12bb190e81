/* Convolution helpers around the clBLAST GEMM: im2col, col2im (gather) and the NCHW <-> [O, nb*HoWo] transposes. */
/* A chunk covers images n0 .. n0+nb-1; its column matrix is col[C*KH*KW, nb*Ho*Wo], column j = i*Ho*Wo + p.
 * 3-D ranges (position in the plane, row or channel, image) keep integer divisions out of the inner loops. */

/* Range (Wo rounded up, Ho, C*KH*KW); each work-item loops over the nb images, so the index
 * arithmetic and the padding test are done once per (row, output position). */
__kernel void im2col(__global float *col, __global const float *x, int xo, int n0, int nb,
                     int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int Ho, int Wo)
{
    int ow = get_global_id(0), oh = get_global_id(1), r = get_global_id(2);
    if (ow >= Wo) return;
    int hw = Ho * Wo, kk = KH * KW, c = r / kk, k = r - c * kk, kh = k / KW, kw = k - kh * KW;
    int h = oh * sh - ph + kh, w = ow * sw - pw + kw;
    __global float *dst = col + (size_t)r * nb * hw + oh * Wo + ow;
    if (h >= 0 && h < H && w >= 0 && w < W) {
        __global const float *src = x + xo + ((size_t)n0 * C + c) * H * W + h * W + w;
        size_t step = (size_t)C * H * W;
        for (int i = 0; i < nb; i++) dst[(size_t)i * hw] = src[i * step];
    } else {
        for (int i = 0; i < nb; i++) dst[(size_t)i * hw] = 0.0f;
    }
}

/* dx[n0+i, c, h, w] = sum over the output positions (oh, ow) whose window reads (h, w) of
 * dcol[(c, kh, kw), i, oh, ow] with kh = h + ph - oh*sh; overwrites dx. Range (W rounded up, H, C);
 * each work-item loops over the nb images. */
__kernel void col2im(__global float *dx, int dxo, __global const float *col, int n0, int nb,
                     int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int Ho, int Wo)
{
    int w = get_global_id(0), h = get_global_id(1), c = get_global_id(2);
    if (w >= W) return;
    int hw = Ho * Wo, ncols = nb * hw;
    int th = h + ph, tw = w + pw;
    /* oh in [ceil((th - KH + 1) / sh), th / sh] intersected with [0, Ho) */
    int oh0 = th - KH + 1 > 0 ? (th - KH + sh) / sh : 0, oh1 = min(th / sh, Ho - 1);
    int ow0 = tw - KW + 1 > 0 ? (tw - KW + sw) / sw : 0, ow1 = min(tw / sw, Wo - 1);
    __global const float *base = col + (size_t)c * KH * KW * ncols;
    __global float *out = dx + dxo + ((size_t)n0 * C + c) * H * W + h * W + w;
    for (int i = 0; i < nb; i++) {
        float acc = 0.0f;
        for (int oh = oh0; oh <= oh1; oh++) {
            int kh = th - oh * sh;
            for (int ow = ow0; ow <= ow1; ow++) {
                int kw = tw - ow * sw;
                acc += base[(size_t)(kh * KW + kw) * ncols + i * hw + oh * Wo + ow];
            }
        }
        out[(size_t)i * C * H * W] = acc;
    }
}

/* y[n0+i, o, p] = t[o, i*hw + p] (+ b[o] when has_bias). Range (hw rounded up, O, nb). */
__kernel void ocols_to_nchw(__global float *y, int yo, __global const float *t, __global const float *b, int bo,
                            int has_bias, int n0, int nb, int O, int hw)
{
    int p = get_global_id(0), o = get_global_id(1), i = get_global_id(2);
    if (p >= hw) return;
    float v = t[((size_t)o * nb + i) * hw + p];
    if (has_bias) v += b[bo + o];
    y[yo + ((size_t)(n0 + i) * O + o) * hw + p] = v;
}

/* t[o, i*hw + p] = dy[n0+i, o, p]. Range (hw rounded up, O, nb). */
__kernel void nchw_to_ocols(__global float *t, __global const float *dy, int dyo, int n0, int nb, int O, int hw)
{
    int p = get_global_id(0), o = get_global_id(1), i = get_global_id(2);
    if (p >= hw) return;
    t[((size_t)o * nb + i) * hw + p] = dy[dyo + ((size_t)(n0 + i) * O + o) * hw + p];
}
