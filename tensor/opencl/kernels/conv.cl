/* Convolution helpers around the clBLAST GEMM: im2col, col2im (gather) and the NCHW <-> [O, nb*HoWo] transposes. */
/* A chunk covers images n0 .. n0+nb-1; its column matrix is col[C*KH*KW, nb*Ho*Wo], column j = i*Ho*Wo + p. */

__kernel void im2col(__global float *col, __global const float *x, int xo, int n0, int nb,
                     int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int Ho, int Wo, int total)
{
    int g = get_global_id(0);
    if (g >= total) return;
    int hw = Ho * Wo, ncols = nb * hw;
    int r = g / ncols, j = g % ncols;
    int i = j / hw, p = j % hw;
    int oh = p / Wo, ow = p % Wo;
    int c = r / (KH * KW), kh = (r / KW) % KH, kw = r % KW;
    int h = oh * sh - ph + kh, w = ow * sw - pw + kw;
    float v = 0.0f;
    if (h >= 0 && h < H && w >= 0 && w < W) v = x[xo + ((size_t)(n0 + i) * C + c) * H * W + h * W + w];
    col[g] = v;
}

/* dx[n0+i, c, h, w] = sum over (kh, kw) of dcol at the output positions that read (h, w); overwrites dx. */
__kernel void col2im(__global float *dx, int dxo, __global const float *col, int n0, int nb,
                     int C, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw, int Ho, int Wo, int total)
{
    int g = get_global_id(0);
    if (g >= total) return;
    int w = g % W, h = (g / W) % H, c = (g / (W * H)) % C, i = g / (W * H * C);
    int hw = Ho * Wo, ncols = nb * hw;
    float acc = 0.0f;
    for (int kh = 0; kh < KH; kh++) {
        int th = h + ph - kh;
        if (th < 0 || th % sh) continue;
        int oh = th / sh;
        if (oh >= Ho) continue;
        for (int kw = 0; kw < KW; kw++) {
            int tw = w + pw - kw;
            if (tw < 0 || tw % sw) continue;
            int ow = tw / sw;
            if (ow >= Wo) continue;
            int r = (c * KH + kh) * KW + kw;
            acc += col[(size_t)r * ncols + i * hw + oh * Wo + ow];
        }
    }
    dx[dxo + (size_t)n0 * C * H * W + g] = acc;
}

/* y[n0+i, o, p] = t[o, i*hw + p] (+ b[o] when has_bias); total = nb*O*hw. */
__kernel void ocols_to_nchw(__global float *y, int yo, __global const float *t, __global const float *b, int bo,
                            int has_bias, int n0, int nb, int O, int hw, int total)
{
    int g = get_global_id(0);
    if (g >= total) return;
    int p = g % hw, o = (g / hw) % O, i = g / (hw * O);
    float v = t[(size_t)o * nb * hw + i * hw + p];
    if (has_bias) v += b[bo + o];
    y[yo + (size_t)n0 * O * hw + g] = v;
}

/* t[o, i*hw + p] = dy[n0+i, o, p]; total = nb*O*hw. */
__kernel void nchw_to_ocols(__global float *t, __global const float *dy, int dyo, int n0, int nb, int O, int hw, int total)
{
    int g = get_global_id(0);
    if (g >= total) return;
    int p = g % hw, j = g / hw, i = j % nb, o = j / nb;
    t[g] = dy[dyo + ((size_t)(n0 + i) * O + o) * hw + p];
}
