/* CPU Winograd F(2x2,3x3) for 3x3 stride-1 layers (forward, backward data, backward weight): tile transforms over 16 channels per register around 16 sgemms per image chunk. */
#include "ig_cpu_util.h"
#include <string.h>
#ifdef __AVX512F__
#include <immintrin.h>
#endif

/*
 * y = conv(x, w) for a 3x3 kernel, stride 1, padding ph/pw, computed on 2x2 output tiles:
 *   U[xi][o, c] = (G g_oc G^T)[xi]          weights, 16 x [Cout, Cin]
 *   V[xi][c, t] = (B^T d_ct B)[xi]          4x4 input tile t of channel c, 16 x [Cin, T]
 *   M[xi]       = U[xi] V[xi]               16 sgemms [Cout, Cin] x [Cin, T]
 *   y tile      = A^T m A                   2x2 outputs from the 16 values m[xi] = M[xi][o, t]
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. This does 2.25x fewer multiplications than the direct (im2col)
 * product; the backward-data pass is the same convolution of dy with the kernel rotated by
 * 180 degrees and its channel axes swapped, padded by 2 - pad; the weight gradient is
 * G^T (sum over tiles of (A dy A^T) .* (B^T d B)) G (AVX-512 builds).
 * Measured (1 thread, CPU time, 32 images, conv3..conv6 of the paper CNN): forward, backward
 * data and backward weight 121-176 "direct-FLOP" GFLOP/s against 96-118 for im2col + sgemm;
 * all six convs together 193 ms instead of 250 ms.
 */

/* The layer shapes where the transforms pay for themselves. Measured per layer of the paper CNN
 * (1 thread, CPU time, 32 images, against im2col + sgemm, AVX-512 build): conv3..conv6 all three
 * passes +20..70%; conv2 (32 -> 64 channels) forward even, backward data/weight +10%; conv1
 * (3 input channels) would waste 13 of 16 lanes. Without AVX-512 the scalar transforms cost
 * about what the GEMMs save, so only the 128->128 16x16 shape (measured +10..20%) qualifies. */
bool ig_cpu_winograd_suits(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw,
                           int64_t out_h, int64_t out_w)
{
    bool ok = kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph >= 0 && ph <= 2 && pw >= 0 && pw <= 2;
#ifdef __AVX512F__
    return ok && cin >= 32 && cout >= 32 && out_h * out_w >= 16;
#else
    return ok && cin >= 128 && cout >= 128 && out_h * out_w >= 256;
#endif
}

/* U[xi][o, c] (at U + xi*plane + o*ldu + c) for all (o, c); rotated: the kernel of (o, c) is
 * w[c][o] turned by 180 degrees. Per output channel the 9 taps of all input channels are
 * first copied to g[tap][c], so the transform runs as vector loops over c. */
static void weight_transform(const float *w, int64_t cout, int64_t cin, bool rotated, float *U, int64_t ldu,
                             int64_t plane, float *tmp /* 9 * cin floats per thread */)
{
    IG_OMP(omp parallel for schedule(static) if (cout * cin > 4096))
    for (int64_t o = 0; o < cout; o++) {
        float *g = tmp + (int64_t)ig_cpu_thread_id() * 9 * cin;
        for (int tap = 0; tap < 9; tap++) {
            float *gt = g + tap * cin;
            if (rotated) {
                const float *k = w + o * 9 + (8 - tap);   /* w[c][o][2-i][2-j] */
                for (int64_t c = 0; c < cin; c++) gt[c] = k[c * cout * 9];
            } else {
                const float *k = w + o * cin * 9 + tap;
                for (int64_t c = 0; c < cin; c++) gt[c] = k[c * 9];
            }
        }
        float *u = U + o * ldu;
        const float *g00 = g, *g01 = g + cin, *g02 = g + 2 * cin, *g10 = g + 3 * cin, *g11 = g + 4 * cin;
        const float *g12 = g + 5 * cin, *g20 = g + 6 * cin, *g21 = g + 7 * cin, *g22 = g + 8 * cin;
        for (int64_t c = 0; c < cin; c++) {
            float t[4][3];
            const float r0[3] = {g00[c], g01[c], g02[c]}, r1[3] = {g10[c], g11[c], g12[c]}, r2[3] = {g20[c], g21[c], g22[c]};
            for (int jj = 0; jj < 3; jj++) {
                t[0][jj] = r0[jj];
                t[1][jj] = 0.5f * (r0[jj] + r1[jj] + r2[jj]);
                t[2][jj] = 0.5f * (r0[jj] - r1[jj] + r2[jj]);
                t[3][jj] = r2[jj];
            }
            for (int i = 0; i < 4; i++) {
                u[(i * 4 + 0) * plane + c] = t[i][0];
                u[(i * 4 + 1) * plane + c] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[(i * 4 + 2) * plane + c] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[(i * 4 + 3) * plane + c] = t[i][2];
            }
        }
    }
}

struct wino_geom {
    int64_t N, cin, cout, H, W, Ho, Wo, TH, TW, T1;   /* T1 = tiles per image */
    int ph, pw;
};

#ifndef __AVX512F__
/* Row work area per thread: 4 padded input rows, 4 column-transformed rows, even/odd halves. */
static int64_t row_area(const struct wino_geom *g) { return 16 * (2 * g->TW + 2 + 16); }

/* V[xi][c, i*T1 + tile] for images n0 .. n0+nb. Vectorised along a row of tiles: the column
 * transform (B^T d) is applied to whole padded input rows, then the row transform reads the
 * even/odd elements, so each of the 16 outputs is a contiguous run of TW floats. */
static void input_transform(const struct wino_geom *g, const float *x, int64_t n0, int64_t nb, float *V, float *work)
{
    int64_t T = nb * g->T1, HW = g->H * g->W, TW = g->TW, Wp = 2 * TW + 2, L = Wp + 16;
    float *pad = work, *tr = work + 4 * L, *ev = work + 8 * L, *od = ev + L;
    int64_t xi_stride = g->cin * T;
    for (int64_t c = 0; c < g->cin; c++)
        for (int64_t i = 0; i < nb; i++) {
            const float *xp = x + ((n0 + i) * g->cin + c) * HW;
            float *vrow = V + c * T + i * g->T1;
            for (int64_t th = 0; th < g->TH; th++) {
                /* padded rows ih0..ih0+3: element k is x[ih][k - pw] or 0 */
                for (int a = 0; a < 4; a++) {
                    int64_t ih = 2 * th - g->ph + a;
                    float *r = pad + a * L;
                    if (ih < 0 || ih >= g->H) {
                        for (int64_t k = 0; k < Wp; k++) r[k] = 0.0f;
                        continue;
                    }
                    const float *src = xp + ih * g->W - g->pw;   /* r[k] = src[k] for k in [lo, hi) */
                    int64_t lo = g->pw, hi = g->W + g->pw < Wp ? g->W + g->pw : Wp;
                    for (int64_t k = 0; k < lo; k++) r[k] = 0.0f;
                    for (int64_t k = lo; k < hi; k++) r[k] = src[k];
                    for (int64_t k = hi; k < Wp; k++) r[k] = 0.0f;
                }
                const float *r0 = pad, *r1 = pad + L, *r2 = pad + 2 * L, *r3 = pad + 3 * L;
                float *t0 = tr, *t1 = tr + L, *t2 = tr + 2 * L, *t3 = tr + 3 * L;
                for (int64_t k = 0; k < Wp; k++) {   /* B^T d on columns */
                    t0[k] = r0[k] - r2[k];
                    t1[k] = r1[k] + r2[k];
                    t2[k] = r2[k] - r1[k];
                    t3[k] = r1[k] - r3[k];
                }
                for (int a = 0; a < 4; a++) {   /* (B^T d) B along the row: tile tw uses 2tw .. 2tw+3 */
                    const float *t = tr + a * L;
                    for (int64_t k = 0; k <= TW; k++) {
                        ev[k] = t[2 * k];
                        od[k] = t[2 * k + 1];
                    }
                    float *v0 = vrow + (a * 4 + 0) * xi_stride + th * TW, *v1 = v0 + xi_stride;
                    float *v2 = v1 + xi_stride, *v3 = v2 + xi_stride;
                    for (int64_t k = 0; k < TW; k++) {
                        v0[k] = ev[k] - ev[k + 1];
                        v1[k] = od[k] + ev[k + 1];
                        v2[k] = ev[k + 1] - od[k];
                        v3[k] = od[k] - od[k + 1];
                    }
                }
            }
        }
}

/* y[n0 .. n0+nb) from M[xi][o, t] (+ bias), vectorised along a row of tiles; odd edges clipped */
static void output_transform(const struct wino_geom *g, const float *M, const float *bias, int64_t n0, int64_t nb,
                             float *y, float *work)
{
    int64_t T = nb * g->T1, P = g->Ho * g->Wo, stride = g->cout * T, TW = g->TW, L = 2 * TW + 2 + 16;
    float *t0 = work, *t1 = work + 4 * L, *row0 = work + 8 * L, *row1 = row0 + L;
    for (int64_t o = 0; o < g->cout; o++) {
        float b = bias ? bias[o] : 0.0f;
        for (int64_t i = 0; i < nb; i++) {
            const float *mrow = M + o * T + i * g->T1;
            float *yp = y + ((n0 + i) * g->cout + o) * P;
            for (int64_t th = 0; th < g->TH; th++) {
                const float *m = mrow + th * TW;
                for (int j = 0; j < 4; j++) {   /* A^T m: t0 = m0j + m1j + m2j, t1 = m1j - m2j - m3j */
                    const float *a0 = m + j * stride, *a1 = m + (4 + j) * stride;
                    const float *a2 = m + (8 + j) * stride, *a3 = m + (12 + j) * stride;
                    float *u0 = t0 + j * L, *u1 = t1 + j * L;
                    for (int64_t k = 0; k < TW; k++) {
                        u0[k] = a0[k] + a1[k] + a2[k];
                        u1[k] = a1[k] - a2[k] - a3[k];
                    }
                }
                for (int r = 0; r < 2; r++) {   /* (A^T m) A, interleaved into output row 2th + r */
                    const float *u = r ? t1 : t0;
                    float *dst = r ? row1 : row0;
                    for (int64_t k = 0; k < TW; k++) {
                        dst[2 * k] = u[k] + u[L + k] + u[2 * L + k] + b;
                        dst[2 * k + 1] = u[L + k] - u[2 * L + k] - u[3 * L + k] + b;
                    }
                }
                memcpy(yp + 2 * th * g->Wo, row0, (size_t)g->Wo * sizeof(float));
                if (2 * th + 1 < g->Ho) memcpy(yp + (2 * th + 1) * g->Wo, row1, (size_t)g->Wo * sizeof(float));
            }
        }
    }
}
#endif

#ifdef __AVX512F__
/* AVX-512 version, vectorised across 16 channels: the image is first transposed to
 * Xt[h][w][Cp] (channels innermost, zero border), so every tile value of 16 channels is one
 * aligned load; V is laid out [xi][T][Cp] and M[xi][T][Op] = V U^T, so the output transform
 * also works on 16 output channels per register, through Yt[oh][ow][Op] back to NCHW. */
struct wino_avx {
    int64_t Cp, Op, Hp, Wp;
};

static int64_t avx_area(const struct wino_geom *g, const struct wino_avx *a)
{
    return a->Hp * a->Wp * a->Cp + 4 * g->TH * g->TW * a->Op;   /* Xt, Yt */
}

static void avx_input_transform(const struct wino_geom *g, const struct wino_avx *A, const float *x, int64_t n0,
                                int64_t nb, float *V, float *Xt)
{
    int64_t T = nb * g->T1, HW = g->H * g->W, Cp = A->Cp, xs = T * Cp;
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0) memset(Xt, 0, (size_t)(A->Hp * A->Wp * Cp) * sizeof(float));   /* border and padded channels stay 0 */
        /* transpose to channels-innermost: one gather of 16 channels per pixel */
        __m512i cidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32((int)HW));
        for (int64_t c0 = 0; c0 < g->cin; c0 += 16) {
            int64_t nc = g->cin - c0 < 16 ? g->cin - c0 : 16;
            __mmask16 m = (__mmask16)((1u << nc) - 1u);
            const float *xp = x + ((n0 + i) * g->cin + c0) * HW;
            for (int64_t h = 0; h < g->H; h++) {
                float *d = Xt + ((h + g->ph) * A->Wp + g->pw) * Cp + c0;
                for (int64_t w = 0; w < g->W; w++)
                    _mm512_store_ps(d + w * Cp, _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, cidx, xp + h * g->W + w, 4));
            }
        }
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *base = Xt + (2 * th * A->Wp + 2 * tw) * Cp;
                float *v = V + (i * g->T1 + th * g->TW + tw) * Cp;
                for (int64_t c0 = 0; c0 < Cp; c0 += 16) {
                    __m512 d[4][4], t[4][4];
                    for (int a = 0; a < 4; a++)
                        for (int b = 0; b < 4; b++) d[a][b] = _mm512_load_ps(base + (a * A->Wp + b) * Cp + c0);
                    for (int b = 0; b < 4; b++) {
                        t[0][b] = _mm512_sub_ps(d[0][b], d[2][b]);
                        t[1][b] = _mm512_add_ps(d[1][b], d[2][b]);
                        t[2][b] = _mm512_sub_ps(d[2][b], d[1][b]);
                        t[3][b] = _mm512_sub_ps(d[1][b], d[3][b]);
                    }
                    for (int a = 0; a < 4; a++) {
                        _mm512_store_ps(v + (a * 4 + 0) * xs + c0, _mm512_sub_ps(t[a][0], t[a][2]));
                        _mm512_store_ps(v + (a * 4 + 1) * xs + c0, _mm512_add_ps(t[a][1], t[a][2]));
                        _mm512_store_ps(v + (a * 4 + 2) * xs + c0, _mm512_sub_ps(t[a][2], t[a][1]));
                        _mm512_store_ps(v + (a * 4 + 3) * xs + c0, _mm512_sub_ps(t[a][1], t[a][3]));
                    }
                }
            }
    }
}

static void avx_output_transform(const struct wino_geom *g, const struct wino_avx *A, const float *M, const float *bias,
                                 int64_t n0, int64_t nb, float *y, float *Yt, const float *bias_p)
{
    int64_t T = nb * g->T1, Op = A->Op, ms = T * Op, W2 = 2 * g->TW, P = g->Ho * g->Wo;
    for (int64_t i = 0; i < nb; i++) {
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *m = M + (i * g->T1 + th * g->TW + tw) * Op;
                float *yt = Yt + (2 * th * W2 + 2 * tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += 16) {
                    __m512 t0[4], t1[4], b = bias ? _mm512_load_ps(bias_p + o0) : _mm512_setzero_ps();
                    for (int j = 0; j < 4; j++) {
                        __m512 a0 = _mm512_load_ps(m + j * ms + o0), a1 = _mm512_load_ps(m + (4 + j) * ms + o0);
                        __m512 a2 = _mm512_load_ps(m + (8 + j) * ms + o0), a3 = _mm512_load_ps(m + (12 + j) * ms + o0);
                        t0[j] = _mm512_add_ps(_mm512_add_ps(a0, a1), a2);
                        t1[j] = _mm512_sub_ps(_mm512_sub_ps(a1, a2), a3);
                    }
                    _mm512_store_ps(yt + o0, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(t0[0], t0[1]), t0[2]), b));
                    _mm512_store_ps(yt + Op + o0, _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(t0[1], t0[2]), t0[3]), b));
                    _mm512_store_ps(yt + W2 * Op + o0, _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(t1[0], t1[1]), t1[2]), b));
                    _mm512_store_ps(yt + (W2 + 1) * Op + o0,
                                    _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(t1[1], t1[2]), t1[3]), b));
                }
            }
        /* back to NCHW: one gather of 16 consecutive pixels of one channel per store */
        __m512i pidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                          _mm512_set1_epi32((int)Op));
        for (int64_t o = 0; o < g->cout; o++) {
            float *yp = y + ((n0 + i) * g->cout + o) * P;
            for (int64_t oh = 0; oh < g->Ho; oh++) {
                const float *s = Yt + oh * W2 * Op + o;
                for (int64_t ow = 0; ow < g->Wo; ow += 16) {
                    int64_t n = g->Wo - ow < 16 ? g->Wo - ow : 16;
                    __mmask16 m = (__mmask16)((1u << n) - 1u);
                    __m512 v = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, pidx, s + ow * Op, 4);
                    _mm512_mask_storeu_ps(yp + oh * g->Wo + ow, m, v);
                }
            }
        }
    }
}
#endif

/* Tiles per sgemm: at least 256 columns, about 8 MiB of V and M per thread. */
#define WINO_MIN_TILES 256
#define WINO_CHUNK_BYTES ((int64_t)8 << 20)

enum ig_status ig_cpu_winograd_conv(struct ig_backend *be, const float *x, int64_t N, int64_t cin, int64_t H, int64_t W,
                                    const float *w, bool rotated, int64_t cout, int ph, int pw, const float *bias,
                                    float *y, int64_t Ho, int64_t Wo)
{
    struct wino_geom g = {.N = N, .cin = cin, .cout = cout, .H = H, .W = W, .Ho = Ho, .Wo = Wo, .ph = ph, .pw = pw};
    g.TH = (Ho + 1) / 2;
    g.TW = (Wo + 1) / 2;
    g.T1 = g.TH * g.TW;
    int maxt = ig_cpu_max_threads();
    int nth = N < maxt ? (int)(N > 0 ? N : 1) : maxt;
    int64_t ipt = (N + nth - 1) / nth;
    int64_t per_img = 16 * (cin + cout) * g.T1 * (int64_t)sizeof(float);
    int64_t nb = WINO_CHUNK_BYTES / per_img;
    if (nb * g.T1 < WINO_MIN_TILES) nb = (WINO_MIN_TILES + g.T1 - 1) / g.T1;
    if (nb < 1) nb = 1;
    if (nb > ipt) nb = ipt;
    nb = (ipt + (ipt + nb - 1) / nb - 1) / ((ipt + nb - 1) / nb);   /* equal chunks: every thread gets as many */
    int64_t chunks = (N + nb - 1) / nb;
#ifdef __AVX512F__
    struct wino_avx A = {.Cp = (cin + 15) & ~(int64_t)15, .Op = (cout + 15) & ~(int64_t)15};
    A.Hp = 2 * g.TH + 2;
    A.Wp = 2 * g.TW + 2;
    /* U, padded bias, tap copies, rotated kernel */
    int64_t u_floats = 16 * A.Op * A.Cp + A.Op + ((9 * cin * maxt + 15) & ~(int64_t)15) + (rotated ? 9 * cin * cout : 0);
    u_floats = (u_floats + 15) & ~(int64_t)15;
    int64_t per_thread = (16 * (A.Cp + A.Op) * nb * g.T1 + avx_area(&g, &A) + 15) & ~(int64_t)15;
#else
    int64_t u_floats = (16 * cout * cin + 9 * cin * maxt + 15) & ~(int64_t)15;
    int64_t per_thread = (16 * (cin + cout) * nb * g.T1 + row_area(&g) + 15) & ~(int64_t)15;
#endif
    float *scr = ig_backend_scratch(be, (size_t)(u_floats + per_thread * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    float *U = scr;
#ifdef __AVX512F__
    memset(U, 0, (size_t)u_floats * sizeof(float));
    float *bias_p = U + 16 * A.Op * A.Cp;
    if (rotated) {
        /* wt[o][c][tap] = w[c][o][8 - tap], built in blocks of 16 source kernels so that reads
         * and writes both stream (the transform then reads wt like a forward kernel) */
        float *wt = bias_p + A.Op + ((9 * cin * maxt + 15) & ~(int64_t)15);
        IG_OMP(omp parallel for schedule(static) if (cout * cin > 4096))
        for (int64_t c0 = 0; c0 < cin; c0 += 16)
            for (int64_t o = 0; o < cout; o++)
                for (int64_t c = c0; c < c0 + 16 && c < cin; c++)
                    for (int tap = 0; tap < 9; tap++) wt[(o * cin + c) * 9 + tap] = w[(c * cout + o) * 9 + 8 - tap];
        w = wt;
    }
    weight_transform(w, cout, cin, false, U, A.Cp, A.Op * A.Cp, bias_p + A.Op);
    if (bias) memcpy(bias_p, bias, (size_t)cout * sizeof(float));
#else
    weight_transform(w, cout, cin, rotated, U, cin, cout * cin, U + 16 * cout * cin);
#endif
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t n0 = ch * nb, cnt = N - n0 < nb ? N - n0 : nb, T = cnt * g.T1;
        float *mine = scr + u_floats + ig_cpu_thread_id() * per_thread;
#ifdef __AVX512F__
        float *V = mine, *Mm = V + 16 * A.Cp * T, *Xt = mine + 16 * (A.Cp + A.Op) * nb * g.T1;
        float *Yt = Xt + A.Hp * A.Wp * A.Cp;
        avx_input_transform(&g, &A, x, n0, cnt, V, Xt);
        for (int xi = 0; xi < 16; xi++)   /* M[xi][T, Op] = V[xi][T, Cp] U[xi][Op, Cp]^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)T, (blasint)A.Op, (blasint)A.Cp, 1.0f,
                        V + xi * T * A.Cp, (blasint)A.Cp, U + xi * A.Op * A.Cp, (blasint)A.Cp, 0.0f,
                        Mm + xi * T * A.Op, (blasint)A.Op);
        avx_output_transform(&g, &A, Mm, bias, n0, cnt, y, Yt, bias_p);
#else
        float *V = mine, *Mm = V + 16 * cin * T;
        float *work = V + 16 * (cin + cout) * nb * g.T1;
        input_transform(&g, x, n0, cnt, V, work);
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)cout, (blasint)T, (blasint)cin, 1.0f,
                        U + xi * cout * cin, (blasint)cin, V + xi * cin * T, (blasint)T, 0.0f, Mm + xi * cout * T,
                        (blasint)T);
        output_transform(&g, Mm, bias, n0, cnt, y, work);
#endif
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}

#ifdef __AVX512F__
/* Z[xi][t][Op] = (A e A^T)[xi] for the 2x2 output-gradient tiles e of images n0 .. n0+nb (zero past
 * Ho/Wo), A = [1 0; 1 1; 1 -1; 0 -1]; dy is first transposed to Dt[oh][ow][Op] by gathers. */
static void avx_grad_transform(const struct wino_geom *g, const struct wino_avx *A, const float *dy, int64_t n0,
                               int64_t nb, float *Z, float *Dt)
{
    int64_t T = nb * g->T1, P = g->Ho * g->Wo, Op = A->Op, zs = T * Op, W2 = 2 * g->TW;
    __m512i oidx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                      _mm512_set1_epi32((int)P));
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0) memset(Dt, 0, (size_t)(2 * g->TH * W2 * Op) * sizeof(float));   /* edges stay 0 */
        for (int64_t o0 = 0; o0 < g->cout; o0 += 16) {
            int64_t no = g->cout - o0 < 16 ? g->cout - o0 : 16;
            __mmask16 m = (__mmask16)((1u << no) - 1u);
            const float *gp = dy + ((n0 + i) * g->cout + o0) * P;
            for (int64_t oh = 0; oh < g->Ho; oh++)
                for (int64_t ow = 0; ow < g->Wo; ow++)
                    _mm512_store_ps(Dt + (oh * W2 + ow) * Op + o0,
                                    _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, oidx, gp + oh * g->Wo + ow, 4));
        }
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *e = Dt + (2 * th * W2 + 2 * tw) * Op;
                float *z = Z + (i * g->T1 + th * g->TW + tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += 16) {
                    __m512 e00 = _mm512_load_ps(e + o0), e01 = _mm512_load_ps(e + Op + o0);
                    __m512 e10 = _mm512_load_ps(e + W2 * Op + o0), e11 = _mm512_load_ps(e + (W2 + 1) * Op + o0);
                    /* rows of A e: u0 = e0, u1 = e0 + e1, u2 = e0 - e1, u3 = -e1 (per column) */
                    __m512 u[4][2] = {{e00, e01},
                                      {_mm512_add_ps(e00, e10), _mm512_add_ps(e01, e11)},
                                      {_mm512_sub_ps(e00, e10), _mm512_sub_ps(e01, e11)},
                                      {_mm512_sub_ps(_mm512_setzero_ps(), e10), _mm512_sub_ps(_mm512_setzero_ps(), e11)}};
                    for (int a = 0; a < 4; a++) {   /* (A e) A^T along the row */
                        _mm512_store_ps(z + (a * 4 + 0) * zs + o0, u[a][0]);
                        _mm512_store_ps(z + (a * 4 + 1) * zs + o0, _mm512_add_ps(u[a][0], u[a][1]));
                        _mm512_store_ps(z + (a * 4 + 2) * zs + o0, _mm512_sub_ps(u[a][0], u[a][1]));
                        _mm512_store_ps(z + (a * 4 + 3) * zs + o0, _mm512_sub_ps(_mm512_setzero_ps(), u[a][1]));
                    }
                }
            }
    }
}

/* Partial-sum groups: fixed, so the result does not depend on which thread ran which group. */
#define WINO_DW_GROUPS 4

/* dw[O,C,3,3] = G^T (sum_t Z_t[o] .* V_t[c]) G: the weight gradient of the same tiling
 * (dL/dU = sum over tiles of (A dy A^T) .* (B^T d B), dL/dg = G^T dL/dU G). */
enum ig_status ig_cpu_winograd_bwd_weight(struct ig_backend *be, const float *x, const float *dy, int64_t N, int64_t C,
                                          int64_t H, int64_t W, int64_t O, int ph, int pw, int64_t Ho, int64_t Wo,
                                          float *dw)
{
    struct wino_geom g = {.N = N, .cin = C, .cout = O, .H = H, .W = W, .Ho = Ho, .Wo = Wo, .ph = ph, .pw = pw};
    g.TH = (Ho + 1) / 2;
    g.TW = (Wo + 1) / 2;
    g.T1 = g.TH * g.TW;
    struct wino_avx A = {.Cp = (C + 15) & ~(int64_t)15, .Op = (O + 15) & ~(int64_t)15};
    A.Hp = 2 * g.TH + 2;
    A.Wp = 2 * g.TW + 2;
    int maxt = ig_cpu_max_threads();
    int nth = N < maxt ? (int)(N > 0 ? N : 1) : maxt;
    int64_t ipt = (N + nth - 1) / nth;
    int64_t per_img = 16 * (A.Cp + A.Op) * g.T1 * (int64_t)sizeof(float);
    int64_t nb = WINO_CHUNK_BYTES / per_img;
    if (nb * g.T1 < WINO_MIN_TILES) nb = (WINO_MIN_TILES + g.T1 - 1) / g.T1;
    if (nb < 1) nb = 1;
    if (nb > ipt) nb = ipt;
    nb = (ipt + (ipt + nb - 1) / nb - 1) / ((ipt + nb - 1) / nb);   /* equal chunks: every thread gets as many */
    int64_t chunks = (N + nb - 1) / nb, G = chunks < WINO_DW_GROUPS ? chunks : WINO_DW_GROUPS;
    int64_t splane = 16 * A.Op * A.Cp;   /* one group's S[xi][Op][Cp] */
    int64_t dt_floats = 4 * g.TH * g.TW * A.Op;
    int64_t per_thread = (16 * (A.Cp + A.Op) * nb * g.T1 + A.Hp * A.Wp * A.Cp + dt_floats + 15) & ~(int64_t)15;
    float *scr = ig_backend_scratch(be, (size_t)(G * splane + per_thread * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    float *S = scr;
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel num_threads(nth))
    {
        float *mine = scr + G * splane + ig_cpu_thread_id() * per_thread;
        IG_OMP(omp for schedule(dynamic, 1))
        for (int64_t gi = 0; gi < G; gi++) {
            int64_t c0 = chunks * gi / G, c1 = chunks * (gi + 1) / G;
            for (int64_t ch = c0; ch < c1; ch++) {
                int64_t n0 = ch * nb, cnt = N - n0 < nb ? N - n0 : nb, T = cnt * g.T1;
                float *V = mine, *Z = V + 16 * A.Cp * T, *Xt = mine + 16 * (A.Cp + A.Op) * nb * g.T1;
                float *Dt = Xt + A.Hp * A.Wp * A.Cp;
                avx_input_transform(&g, &A, x, n0, cnt, V, Xt);
                avx_grad_transform(&g, &A, dy, n0, cnt, Z, Dt);
                for (int xi = 0; xi < 16; xi++)   /* S[xi][Op, Cp] (+)= Z[xi][T, Op]^T V[xi][T, Cp] */
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (blasint)A.Op, (blasint)A.Cp, (blasint)T, 1.0f,
                                Z + xi * T * A.Op, (blasint)A.Op, V + xi * T * A.Cp, (blasint)A.Cp, ch > c0 ? 1.0f : 0.0f,
                                S + gi * splane + xi * A.Op * A.Cp, (blasint)A.Cp);
            }
        }
        /* implicit barrier; then per (o, 16 input channels): sum the groups in order, apply G^T . G */
        IG_OMP(omp for schedule(static))
        for (int64_t o = 0; o < O; o++)
            for (int64_t c0 = 0; c0 < C; c0 += 16) {
                __m512 sv[16];
                for (int xi = 0; xi < 16; xi++) {
                    const float *p = S + xi * A.Op * A.Cp + o * A.Cp + c0;
                    __m512 v = _mm512_load_ps(p);
                    for (int64_t gi = 1; gi < G; gi++) v = _mm512_add_ps(v, _mm512_load_ps(p + gi * splane));
                    sv[xi] = v;
                }
                __m512 h = _mm512_set1_ps(0.5f), q[3][4], d[9];
                for (int j = 0; j < 4; j++) {   /* G^T s = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1] s */
                    __m512 p12 = _mm512_mul_ps(h, _mm512_add_ps(sv[4 + j], sv[8 + j]));
                    q[0][j] = _mm512_add_ps(sv[j], p12);
                    q[1][j] = _mm512_mul_ps(h, _mm512_sub_ps(sv[4 + j], sv[8 + j]));
                    q[2][j] = _mm512_add_ps(p12, sv[12 + j]);
                }
                for (int i = 0; i < 3; i++) {   /* (G^T s) G */
                    __m512 p12 = _mm512_mul_ps(h, _mm512_add_ps(q[i][1], q[i][2]));
                    d[i * 3 + 0] = _mm512_add_ps(q[i][0], p12);
                    d[i * 3 + 1] = _mm512_mul_ps(h, _mm512_sub_ps(q[i][1], q[i][2]));
                    d[i * 3 + 2] = _mm512_add_ps(p12, q[i][3]);
                }
                float tmp[9][16];
                for (int k = 0; k < 9; k++) _mm512_storeu_ps(tmp[k], d[k]);
                int64_t nc = C - c0 < 16 ? C - c0 : 16;
                for (int64_t j = 0; j < nc; j++)
                    for (int k = 0; k < 9; k++) dw[(o * C + c0 + j) * 9 + k] = tmp[k][j];
            }
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}
#endif
