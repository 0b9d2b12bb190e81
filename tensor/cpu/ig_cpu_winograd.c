/* CPU Winograd F(2x2,3x3) for 3x3 stride-1 layers (forward, backward data, backward weight): tile transforms over IG_VW channels per register around 16 point products per image chunk; compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_simd.h"
#include "ig_cpu_util.h"
#include "ig_cpu_wcache.h"
#include "ig_cpu_winograd.h"
#include <string.h>
#include <unistd.h>

/*
 * y = conv(x, w) for a 3x3 kernel, stride 1, padding ph/pw, computed on 2x2 output tiles:
 *   Ut[xi][c, o] = (G g_oc G^T)[xi]         weights, 16 x [Cin, Cout] (output channels innermost)
 *   V[xi][t, c] = (B^T d_ct B)[xi]          4x4 input tile t of channel c, 16 x [T, Cin]
 *   M[xi]       = V[xi] Ut[xi]              16 products [T, Cin] x [Cin, Cout] (ig_cpu_winograd_gemm.c)
 *   y tile      = A^T m A                   2x2 outputs from the 16 values m[xi] = M[xi][t, o]
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. This does 2.25x fewer multiplications than the direct (im2col)
 * product; the backward-data pass is the same convolution of dy with the kernel rotated by
 * 180 degrees and its channel axes swapped, padded by 2 - pad; the weight gradient is
 * G^T (sum over tiles of (A dy A^T) .* (B^T d B)) G.
 * The transforms run across IG_VW channels per register (ig_cpu_simd.h): the image is first
 * transposed to Xt[h][w][Cp] (channels innermost, zero border, Cp = Cin rounded up to IG_VW),
 * so every tile value of IG_VW channels is one aligned load; M[xi][T][Op] comes back through
 * Yt[oh][ow][Op] to NCHW.
 * Measured (AVX-512, 1 thread, CPU time, 32 images, conv3..conv6 of the paper CNN): forward,
 * backward data and backward weight 121-176 "direct-FLOP" GFLOP/s against 96-118 for im2col +
 * sgemm; all six convs together 193 ms instead of 250 ms.
 */

/* The layer shapes where the transforms pay for themselves. Measured per layer of the paper CNN
 * (1 thread, CPU time, 32 images, against im2col + sgemm, AVX-512 build): conv3..conv6 all three
 * passes +20..70%; conv2 (32 -> 64 channels) forward even, backward data/weight +10%; conv1
 * (3 input channels) would waste most lanes. AVX2 (8 lanes) takes the same shapes; the plain C
 * build only the 128->128 16x16 shape. */
bool IG_ISA_FN(ig_cpu_winograd_suits)(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw,
                                      int64_t out_h, int64_t out_w)
{
    bool ok = kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph >= 0 && ph <= 2 && pw >= 0 && pw <= 2;
#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
    return ok && cin >= 32 && cout >= 32 && out_h * out_w >= 16;
#else
    return ok && cin >= 128 && cout >= 128 && out_h * out_w >= 256;
#endif
}

/* Ut[xi][c][o] (at Ut + xi*plane + c*ldu + o) for all c < cin, o < Op of w[cout][cin][3][3] (or
 * rotated, wino_taps), IG_VW output channels per vector: 9 gathers, then G g G^T in registers. */
static void weight_transform(const float *w, bool rotated, int64_t cout, int64_t cin, float *Ut, int64_t ldu,
                             int64_t plane)
{
    IG_OMP(omp parallel for schedule(static) if (cout * cin > 4096))
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o0 = 0; o0 < cout; o0 += IG_VW) {
            ig_vf k[9], t[4][3];
            wino_taps(w, rotated, cout, cin, o0, c, k);
            for (int jj = 0; jj < 3; jj++) {
                ig_vf r0 = k[jj], r1 = k[3 + jj], r2 = k[6 + jj];
                t[0][jj] = r0;
                t[1][jj] = 0.5f * ((r0 + r1) + r2);
                t[2][jj] = 0.5f * ((r0 - r1) + r2);
                t[3][jj] = r2;
            }
            float *u = Ut + c * ldu + o0;
            for (int i = 0; i < 4; i++) {
                vstore(u + (i * 4 + 0) * plane, t[i][0]);
                vstore(u + (i * 4 + 1) * plane, 0.5f * ((t[i][0] + t[i][1]) + t[i][2]));
                vstore(u + (i * 4 + 2) * plane, 0.5f * ((t[i][0] - t[i][1]) + t[i][2]));
                vstore(u + (i * 4 + 3) * plane, t[i][2]);
            }
        }
}

/* Floats between consecutive Winograd-point planes of V, M and Z: the 36 (or 16) planes a transform
 * writes or reads per tile were a multiple of 4 KiB apart at the paper CNN's shapes (T x Cp floats,
 * e.g. 256 tiles x 32 channels), so every one mapped to the same L1 sets. One cache line of shift per
 * plane measured (bench_ops b64, 2 threads, two runs) conv2 forward 1.08x / backward 1.07x and conv3
 * 1.05x on AVX2, conv2 forward 1.1x on AVX-512. */
#define WINO_PLANE_PAD 16

/* Tiles per point product: at least WINO_MIN_TILES rows, and a chunk's V and M about one core's L2
 * (so that the point products read what the transforms just wrote from L2, not from L3 or memory).
 * Measured against 256 tiles / 8 MiB (bench_ops b64, 2 threads, 3 alternating runs, L2 2 MiB):
 * AVX-512 conv2 forward 1.14x, backward 1.16x, conv3 1.04x; AVX2 conv2 1.09x / 1.16x, conv3 1.05x;
 * conv4..conv6 even. */
#define WINO_MIN_TILES 128
static int64_t wino_chunk_bytes(void)
{
    long l2 = -1;
#ifdef _SC_LEVEL2_CACHE_SIZE
    l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
#endif
    return l2 >= (256L << 10) && l2 <= (16L << 20) ? (int64_t)l2 : (int64_t)1 << 20;
}

/* Geometry of m x m output tiles, thread count and images per chunk (equal chunks: every thread gets as many). */
struct wino_geom IG_ISA_FN(ig_cpu_wino_plan)(int m, int64_t N, int64_t cin, int64_t H, int64_t W, int64_t cout, int ph,
                                             int pw, int64_t Ho, int64_t Wo, int *nth, int64_t *nb_out)
{
    struct wino_geom g = {.N = N, .cin = cin, .cout = cout, .H = H, .W = W, .Ho = Ho, .Wo = Wo, .ph = ph, .pw = pw};
    g.m = m;
    g.a = m + 2;
    g.TH = (Ho + m - 1) / m;
    g.TW = (Wo + m - 1) / m;
    g.T1 = g.TH * g.TW;
    g.Cp = vround(cin);
    g.Op = vround(cout);
    g.Hp = m * g.TH + 2;
    g.Wp = m * g.TW + 2;
    int maxt = ig_cpu_max_threads();
    *nth = N < maxt ? (int)(N > 0 ? N : 1) : maxt;
    int64_t ipt = (N + *nth - 1) / *nth;
    int64_t per_img = g.a * g.a * (g.Cp + g.Op) * g.T1 * (int64_t)sizeof(float);
    int64_t nb = wino_chunk_bytes() / per_img;
    if (nb * g.T1 < WINO_MIN_TILES) nb = (WINO_MIN_TILES + g.T1 - 1) / g.T1;
    if (nb < 1) nb = 1;
    if (nb > ipt) nb = ipt;
    *nb_out = (ipt + (ipt + nb - 1) / nb - 1) / ((ipt + nb - 1) / nb);
    return g;
}

/* Floats of one thread's scratch for chunks of nb images: V and M (or Z) [a*a][nb*T1][Cp + Op], the
 * channels-last image Xt [Hp][Wp][Cp], then Yt (or Dt) [m TH][m TW][Op]. */
int64_t IG_ISA_FN(ig_cpu_wino_thread_floats)(const struct wino_geom *g, int64_t nb)
{
    return vround(g->a * g->a * ((g->Cp + g->Op) * nb * g->T1 + 2 * g->ppad) + g->Hp * g->Wp * g->Cp +
                  g->m * g->m * g->T1 * g->Op);
}

/* Channels-last copy of C planes src[C][P] (P = rows x W pixels): pixel p = h*W + w of channel c
 * to dst[(h*ld + w)*Cs + c], lanes c >= C of the last channel block written as 0. Blocks of IG_VW
 * channels x IG_VW consecutive pixels of the flat plane (they may span rows) are loaded as IG_VW
 * contiguous rows, transposed in registers and stored as IG_VW pixel vectors (dst aligned). */
static void planes_to_channels_last(const float *src, int64_t C, int64_t W, int64_t P, float *dst, int64_t ld, int64_t Cs)
{
    for (int64_t c0 = 0; c0 < C; c0 += IG_VW) {
        int64_t nc = C - c0 < IG_VW ? C - c0 : IG_VW, w = 0;
        const float *s = src + c0 * P;
        float *d = dst + c0;
        for (int64_t p0 = 0; p0 < P; p0 += IG_VW) {
            int64_t np = P - p0 < IG_VW ? P - p0 : IG_VW;
            ig_vmask m = vmask_range(0, np);
            ig_vf r[IG_VW];
#pragma GCC unroll 16
            for (int i = 0; i < IG_VW; i++)
                r[i] = i >= nc ? vzero() : np == IG_VW ? vloadu(s + i * P + p0) : vload_mask(s + i * P + p0, m);
            vtranspose(r);
#pragma GCC unroll 16
            for (int j = 0; j < IG_VW; j++) {
                if (j >= np) break;
                vstore(d, r[j]);
                d += Cs;
                if (++w == W) {   /* next row of dst */
                    w = 0;
                    d += (ld - W) * Cs;
                }
            }
        }
    }
}

/* Xt[h][w][Cp] of image n (zero border kept from the first memset, padded channels written as 0). */
void IG_ISA_FN(ig_cpu_wino_to_channels_last)(const struct wino_geom *g, const float *xn, float *Xt)
{
    planes_to_channels_last(xn, g->cin, g->W, g->H * g->W, Xt + (g->ph * g->Wp + g->pw) * g->Cp, g->Wp, g->Cp);
}

/* V[xi][T][Cp] = B^T d B for the 4x4 input tiles of images n0 .. n0+nb. */
static void input_transform(const struct wino_geom *g, const float *x, int64_t n0, int64_t nb, float *V, float *Xt)
{
    int64_t T = nb * g->T1, Cp = g->Cp, xs = T * Cp + g->ppad;
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0 && !g->zeroed) memset(Xt, 0, (size_t)(g->Hp * g->Wp * Cp) * sizeof(float));
        IG_ISA_FN(ig_cpu_wino_to_channels_last)(g, x + (n0 + i) * g->cin * g->H * g->W, Xt);
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *base = Xt + (2 * th * g->Wp + 2 * tw) * Cp;
                float *v = V + (i * g->T1 + th * g->TW + tw) * Cp;
                for (int64_t c0 = 0; c0 < Cp; c0 += IG_VW) {
                    ig_vf d[4][4], t[4][4];
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++) d[a][b] = vload(base + (a * g->Wp + b) * Cp + c0);
                    for (int b = 0; b < 4; b++) {
                        t[0][b] = d[0][b] - d[2][b];
                        t[1][b] = d[1][b] + d[2][b];
                        t[2][b] = d[2][b] - d[1][b];
                        t[3][b] = d[1][b] - d[3][b];
                    }
                    for (int a = 0; a < 4; a++) {
                        vstore(v + (a * 4 + 0) * xs + c0, t[a][0] - t[a][2]);
                        vstore(v + (a * 4 + 1) * xs + c0, t[a][1] + t[a][2]);
                        vstore(v + (a * 4 + 2) * xs + c0, t[a][2] - t[a][1]);
                        vstore(v + (a * 4 + 3) * xs + c0, t[a][1] - t[a][3]);
                    }
                }
            }
    }
}

/* y[n] (NCHW) from Yt[oh][m TW][Op]: blocks of IG_VW pixels (consecutive in y[o], spanning rows) x
 * IG_VW channels loaded as IG_VW pixel vectors, transposed in registers, stored as IG_VW channel rows
 * (none past cout or past the Ho x Wo plane). */
void IG_ISA_FN(ig_cpu_wino_from_channels_last)(const struct wino_geom *g, const float *Yt, float *yn)
{
    int64_t Op = g->Op, W2 = g->m * g->TW, P = g->Ho * g->Wo;
    for (int64_t o0 = 0; o0 < g->cout; o0 += IG_VW) {
        int64_t nc = g->cout - o0 < IG_VW ? g->cout - o0 : IG_VW, w = 0;
        const float *s = Yt + o0;
        float *yp = yn + o0 * P;
        for (int64_t p0 = 0; p0 < P; p0 += IG_VW) {
            int64_t np = P - p0 < IG_VW ? P - p0 : IG_VW;
            ig_vmask m = vmask_range(0, np);
            ig_vf r[IG_VW];
#pragma GCC unroll 16
            for (int j = 0; j < IG_VW; j++) {
                r[j] = vzero();
                if (j < np) {
                    r[j] = vload(s);
                    s += Op;
                    if (++w == g->Wo) {   /* next row of Yt */
                        w = 0;
                        s += (W2 - g->Wo) * Op;
                    }
                }
            }
            vtranspose(r);
#pragma GCC unroll 16
            for (int i = 0; i < IG_VW; i++) {
                if (i >= nc) break;
                if (np == IG_VW) vstoreu(yp + i * P + p0, r[i]);
                else vstore_mask(yp + i * P + p0, m, r[i]);
            }
        }
    }
}

/* y[n0 .. n0+nb) = A^T m A (+ bias) from M[xi][T][Op]. */
static void output_transform(const struct wino_geom *g, const float *M, bool has_bias, int64_t n0, int64_t nb, float *y,
                             float *Yt, const float *bias_p)
{
    int64_t T = nb * g->T1, Op = g->Op, ms = T * Op + g->ppad, W2 = 2 * g->TW;
    for (int64_t i = 0; i < nb; i++) {
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *m = M + (i * g->T1 + th * g->TW + tw) * Op;
                float *yt = Yt + (2 * th * W2 + 2 * tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += IG_VW) {
                    ig_vf t0[4], t1[4], b = has_bias ? vload(bias_p + o0) : vzero();
                    for (int j = 0; j < 4; j++) {
                        ig_vf a0 = vload(m + j * ms + o0), a1 = vload(m + (4 + j) * ms + o0);
                        ig_vf a2 = vload(m + (8 + j) * ms + o0), a3 = vload(m + (12 + j) * ms + o0);
                        t0[j] = (a0 + a1) + a2;
                        t1[j] = (a1 - a2) - a3;
                    }
                    vstore(yt + o0, ((t0[0] + t0[1]) + t0[2]) + b);
                    vstore(yt + Op + o0, ((t0[1] - t0[2]) - t0[3]) + b);
                    vstore(yt + W2 * Op + o0, ((t1[0] + t1[1]) + t1[2]) + b);
                    vstore(yt + (W2 + 1) * Op + o0, ((t1[1] - t1[2]) - t1[3]) + b);
                }
            }
        IG_ISA_FN(ig_cpu_wino_from_channels_last)(g, Yt, y + (n0 + i) * g->cout * g->Ho * g->Wo);
    }
}

/* One chunk of images: transforms around M[xi][T, Op] = V[xi][T, Cp] Ut[xi][Cp, Op] (the first cin rows). */
static void fwd_chunk(const struct wino_geom *g, const float *x, const float *Ut, bool has_bias, const float *bias_p,
                      int64_t n0, int64_t cnt, int64_t nb, float *mine, float *y)
{
    int64_t T = cnt * g->T1, a2 = g->a * g->a, vs = T * g->Cp + g->ppad, ms = T * g->Op + g->ppad;
    float *V = mine, *Mm = V + a2 * vs, *Xt = mine + a2 * ((g->Cp + g->Op) * nb * g->T1 + 2 * g->ppad);
    float *Yt = Xt + g->Hp * g->Wp * g->Cp;
    if (g->m == 4) IG_ISA_FN(ig_cpu_wino4_input_transform)(g, x, n0, cnt, V, Xt);
    else input_transform(g, x, n0, cnt, V, Xt);
    for (int xi = 0; xi < a2; xi++)
        IG_ISA_FN(ig_cpu_wino_point_gemm)(V + xi * vs, g->Cp, 1, Ut + xi * g->Cp * g->Op, g->Op, T, g->cin,
                                          g->Op / IG_VW, Mm + xi * ms, g->Op, false);
    if (g->m == 4) IG_ISA_FN(ig_cpu_wino4_output_transform)(g, Mm, has_bias, n0, cnt, y, Yt, bias_p);
    else output_transform(g, Mm, has_bias, n0, cnt, y, Yt, bias_p);
}

/* What a transformed weight depends on besides the values: tile, rotation, channels (the layout
 * Ut[xi][Cp][Op] of this ISA's vector width, which is fixed per backend). */
static uint64_t wino_wcache_tag(int tile, bool rotated, int64_t cout, int64_t cin)
{
    return (uint64_t)tile | (uint64_t)rotated << 4 | (uint64_t)IG_VW << 8 | (uint64_t)cout << 16 | (uint64_t)cin << 40;
}

/* The output tile of the forward / backward-data pass when the caller leaves it open: F(4x4) unless
 * the plane is smaller than one 4x4 tile. Measured on every 3x3 layer of the paper CNN (conv2..conv6,
 * b64, 2 threads, bench_ops, two runs each), F(4x4) over F(2x2): AVX-512 forward 1.13..1.50x,
 * backward (F(4x4) data, F(2x2) weight gradient) 1.04..1.24x; AVX2 forward 1.16..1.60x, backward
 * 1.04..1.53x. The F(4x4) weight gradient then took the backward further (AVX-512 conv2 1.3x, conv4 1.2x). */
static int wino_auto_tile(int64_t Ho, int64_t Wo) { return Ho >= 4 && Wo >= 4 ? 4 : 2; }

enum ig_status IG_ISA_FN(ig_cpu_winograd_conv)(struct ig_backend *be, const float *x, int64_t N, int64_t cin, int64_t H,
                                               int64_t W, const float *w, bool rotated, int64_t cout, int ph, int pw,
                                               const float *bias, float *y, int64_t Ho, int64_t Wo, int tile)
{
    if (tile != 2 && tile != 4) tile = wino_auto_tile(Ho, Wo);
    int nth;
    int64_t nb;
    struct wino_geom g = IG_ISA_FN(ig_cpu_wino_plan)(tile, N, cin, H, W, cout, ph, pw, Ho, Wo, &nth, &nb);
    g.ppad = WINO_PLANE_PAD;
    int64_t chunks = (N + nb - 1) / nb, a2 = g.a * g.a, uplane = g.Op * g.Cp;
    /* Ut, padded bias; then per thread V, M, Xt, Yt */
    int64_t u_floats = vround(a2 * uplane + g.Op);
    int64_t per_thread = IG_ISA_FN(ig_cpu_wino_thread_floats)(&g, nb);
    float *scr = ig_backend_scratch(be, (size_t)(u_floats + per_thread * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    float *Ut = scr, *bias_p = Ut + a2 * uplane;
    /* the transform writes rows c < cin, all Op columns; the product reads no others */
    memset(bias_p, 0, (size_t)g.Op * sizeof(float));
    bool kept = false;
    float *slot = ig_cpu_wcache_slot(be, w, (size_t)(cout * cin * 9), wino_wcache_tag(tile, rotated, cout, cin),
                                     (size_t)(a2 * uplane), &kept);
    if (slot) Ut = slot;
    if (!kept && tile == 4) IG_ISA_FN(ig_cpu_wino4_weight_transform)(w, rotated, cout, cin, Ut, g.Op, uplane);
    else if (!kept) weight_transform(w, rotated, cout, cin, Ut, g.Op, uplane);
    if (bias) memcpy(bias_p, bias, (size_t)cout * sizeof(float));
    int saved = IG_WINO_BLAS ? ig_cpu_blas_single_begin() : 1;
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t n0 = ch * nb, cnt = N - n0 < nb ? N - n0 : nb;
        fwd_chunk(&g, x, Ut, bias != NULL, bias_p, n0, cnt, nb, scr + u_floats + ig_cpu_thread_id() * per_thread, y);
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

/* Dt[oh][m TW][Op] of image n's output gradient dyn[cout][Ho][Wo] (edges stay as the caller zeroed
 * them, padded lanes written as 0). */
void IG_ISA_FN(ig_cpu_wino_grad_to_channels_last)(const struct wino_geom *g, const float *dyn, float *Dt)
{
    planes_to_channels_last(dyn, g->cout, g->Wo, g->Ho * g->Wo, Dt, g->m * g->TW, g->Op);
}

/* Z[xi][t][Op] = (A e A^T)[xi] for the 2x2 output-gradient tiles e of images n0 .. n0+nb (zero past
 * Ho/Wo), A = [1 0; 1 1; 1 -1; 0 -1]; dy is first transposed to Dt[oh][ow][Op]. */
static void grad_transform(const struct wino_geom *g, const float *dy, int64_t n0, int64_t nb, float *Z, float *Dt)
{
    int64_t T = nb * g->T1, Op = g->Op, zs = T * Op + g->ppad, W2 = 2 * g->TW;
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0 && !g->zeroed) memset(Dt, 0, (size_t)(2 * g->TH * W2 * Op) * sizeof(float));   /* edges stay 0 */
        IG_ISA_FN(ig_cpu_wino_grad_to_channels_last)(g, dy + (n0 + i) * g->cout * g->Ho * g->Wo, Dt);
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *e = Dt + (2 * th * W2 + 2 * tw) * Op;
                float *z = Z + (i * g->T1 + th * g->TW + tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += IG_VW) {
                    ig_vf e00 = vload(e + o0), e01 = vload(e + Op + o0);
                    ig_vf e10 = vload(e + W2 * Op + o0), e11 = vload(e + (W2 + 1) * Op + o0);
                    /* rows of A e: u0 = e0, u1 = e0 + e1, u2 = e0 - e1, u3 = -e1 (per column) */
                    ig_vf u[4][2] = {{e00, e01}, {e00 + e10, e01 + e11}, {e00 - e10, e01 - e11}, {vzero() - e10, vzero() - e11}};
                    for (int a = 0; a < 4; a++) {   /* (A e) A^T along the row */
                        vstore(z + (a * 4 + 0) * zs + o0, u[a][0]);
                        vstore(z + (a * 4 + 1) * zs + o0, u[a][0] + u[a][1]);
                        vstore(z + (a * 4 + 2) * zs + o0, u[a][0] - u[a][1]);
                        vstore(z + (a * 4 + 3) * zs + o0, vzero() - u[a][1]);
                    }
                }
            }
    }
}

/* dw[o][c0 .. c0+IG_VW) = G^T s G from the a*a group-summed planes S[g][xi][Op][Cp] (either tile). */
static void dw_finish(const struct wino_geom *g, const float *S, int64_t G, int64_t splane, int64_t o, int64_t c0, float *dw)
{
    ig_vf sv[36], d[9];
    for (int xi = 0; xi < g->a * g->a; xi++) {
        const float *p = S + xi * g->Op * g->Cp + o * g->Cp + c0;
        ig_vf v = vload(p);
        for (int64_t gi = 1; gi < G; gi++) v = v + vload(p + gi * splane);
        sv[xi] = v;
    }
    if (g->m == 4) wino4_dw_tile(sv, d);
    else wino2_dw_tile(sv, d);
    int64_t nc = g->cin - c0 < IG_VW ? g->cin - c0 : IG_VW;
    for (int64_t j = 0; j < nc; j++)
        for (int k = 0; k < 9; k++) dw[(o * g->cin + c0 + j) * 9 + k] = d[k][j];
}

/* Partial-sum groups: fixed, so the result does not depend on which thread ran which group. */
#define WINO_DW_GROUPS 4

void IG_ISA_FN(ig_cpu_wino_dw_transforms)(const struct wino_geom *g, const float *x, const float *dy, int64_t n0,
                                          int64_t cnt, int64_t nb, float *mine, float **V, float **Z)
{
    int64_t T = cnt * g->T1, a2 = g->a * g->a;
    float *Xt = mine + a2 * ((g->Cp + g->Op) * nb * g->T1 + 2 * g->ppad), *Dt = Xt + g->Hp * g->Wp * g->Cp;
    *V = mine;
    *Z = mine + a2 * (g->Cp * T + g->ppad);
    if (g->m == 4) {
        IG_ISA_FN(ig_cpu_wino4_input_transform)(g, x, n0, cnt, *V, Xt);
        IG_ISA_FN(ig_cpu_wino4_grad_transform)(g, dy, n0, cnt, *Z, Dt);
    } else {
        input_transform(g, x, n0, cnt, *V, Xt);
        grad_transform(g, dy, n0, cnt, *Z, Dt);
    }
}

/* S[xi][Op, Cp] (+)= Z[xi][T, Op]^T V[xi][T, Cp] (rows o < cout) for one chunk of images. */
static void dw_chunk(const struct wino_geom *g, const float *x, const float *dy, int64_t n0, int64_t cnt, int64_t nb,
                     float *mine, float *S, bool accumulate)
{
    int64_t T = cnt * g->T1, a2 = g->a * g->a;
    float *V, *Z;
    IG_ISA_FN(ig_cpu_wino_dw_transforms)(g, x, dy, n0, cnt, nb, mine, &V, &Z);
    for (int xi = 0; xi < a2; xi++)
        IG_ISA_FN(ig_cpu_wino_point_gemm)(Z + xi * (T * g->Op + g->ppad), 1, g->Op, V + xi * (T * g->Cp + g->ppad), g->Cp,
                                          g->cout, T, g->Cp / IG_VW, S + xi * g->Op * g->Cp, g->Cp, accumulate);
}

/* dw[O,C,3,3] = G^T (sum_t Z_t[o] .* V_t[c]) G: the weight gradient of the same tiling
 * (dL/dU = sum over tiles of (A dy A^T) .* (B^T d B), dL/dg = G^T dL/dU G). */
enum ig_status IG_ISA_FN(ig_cpu_winograd_bwd_weight)(struct ig_backend *be, const float *x, const float *dy, int64_t N,
                                                     int64_t C, int64_t H, int64_t W, int64_t O, int ph, int pw,
                                                     int64_t Ho, int64_t Wo, float *dw, int tile)
{
    if (tile != 2 && tile != 4) tile = wino_auto_tile(Ho, Wo);
    int nth;
    int64_t nb;
    struct wino_geom g = IG_ISA_FN(ig_cpu_wino_plan)(tile, N, C, H, W, O, ph, pw, Ho, Wo, &nth, &nb);
    g.ppad = WINO_PLANE_PAD;
    int64_t chunks = (N + nb - 1) / nb, G = chunks < WINO_DW_GROUPS ? chunks : WINO_DW_GROUPS, a2 = g.a * g.a;
    int64_t splane = a2 * g.Op * g.Cp;   /* one group's S[xi][Op][Cp] */
    int64_t per_thread = IG_ISA_FN(ig_cpu_wino_thread_floats)(&g, nb);
    float *scr = ig_backend_scratch(be, (size_t)(G * splane + per_thread * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    int saved = IG_WINO_BLAS ? ig_cpu_blas_single_begin() : 1;
    IG_OMP(omp parallel num_threads(nth))
    {
        float *mine = scr + G * splane + ig_cpu_thread_id() * per_thread;
        IG_OMP(omp for schedule(dynamic, 1))
        for (int64_t gi = 0; gi < G; gi++) {
            int64_t c0 = chunks * gi / G, c1 = chunks * (gi + 1) / G;
            for (int64_t ch = c0; ch < c1; ch++) {
                int64_t n0 = ch * nb, cnt = N - n0 < nb ? N - n0 : nb;
                dw_chunk(&g, x, dy, n0, cnt, nb, mine, scr + gi * splane, ch > c0);
            }
        }
        /* implicit barrier; then per (o, IG_VW input channels): sum the groups in order, apply G^T . G */
        IG_OMP(omp for schedule(static))
        for (int64_t o = 0; o < O; o++)
            for (int64_t c0 = 0; c0 < C; c0 += IG_VW) {
                dw_finish(&g, scr, G, splane, o, c0, dw);
            }
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}
