/* CPU Winograd F(2x2,3x3) convolution for 3x3 stride-1 layers: 16 single-threaded sgemms per image chunk, OpenMP over chunks. */
#include "ig_cpu_util.h"
#include <string.h>

/*
 * y = conv(x, w) for a 3x3 kernel, stride 1, padding ph/pw, computed on 2x2 output tiles:
 *   U[xi][o, c] = (G g_oc G^T)[xi]          weights, 16 x [Cout, Cin]
 *   V[xi][c, t] = (B^T d_ct B)[xi]          4x4 input tile t of channel c, 16 x [Cin, T]
 *   M[xi]       = U[xi] V[xi]               16 sgemms [Cout, Cin] x [Cin, T]
 *   y tile      = A^T m A                   2x2 outputs from the 16 values m[xi] = M[xi][o, t]
 * with B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1],
 * A^T = [1 1 1 0; 0 1 -1 -1]. This does 2.25x fewer multiplications than the direct (im2col)
 * product; the backward-data pass is the same convolution of dy with the kernel rotated by
 * 180 degrees and its channel axes swapped, padded by 2 - pad.
 */

/* The layer shapes where the transforms pay for themselves. Measured per layer of the paper CNN
 * (1 thread, CPU time, against im2col + sgemm): 128->128 channels on 16x16 planes +10..20%
 * (forward and backward data); 64-channel sides, or 8x8 planes, even or slower, because the
 * scalar tile transforms then cost as much as the 2.25x smaller GEMMs save. */
bool ig_cpu_winograd_suits(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw,
                           int64_t out_h, int64_t out_w)
{
    return kh == 3 && kw == 3 && sh == 1 && sw == 1 && ph >= 0 && ph <= 2 && pw >= 0 && pw <= 2 && cin >= 128 &&
           cout >= 128 && out_h * out_w >= 256;
}

/* U[xi][o, c] for all (o, c); rotated: the kernel of (o, c) is w[c][o] turned by 180 degrees. */
static void weight_transform(const float *w, int64_t cout, int64_t cin, bool rotated, float *U)
{
    int64_t plane = cout * cin;
    IG_OMP(omp parallel for schedule(static) if (plane > 4096))
    for (int64_t o = 0; o < cout; o++)
        for (int64_t c = 0; c < cin; c++) {
            float g[3][3];
            if (rotated) {
                const float *k = w + (c * cout + o) * 9;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) g[i][j] = k[(2 - i) * 3 + 2 - j];
            } else {
                const float *k = w + (o * cin + c) * 9;
                for (int i = 0; i < 3; i++)
                    for (int j = 0; j < 3; j++) g[i][j] = k[i * 3 + j];
            }
            float t[4][3];   /* G g */
            for (int j = 0; j < 3; j++) {
                t[0][j] = g[0][j];
                t[1][j] = 0.5f * (g[0][j] + g[1][j] + g[2][j]);
                t[2][j] = 0.5f * (g[0][j] - g[1][j] + g[2][j]);
                t[3][j] = g[2][j];
            }
            float *u = U + o * cin + c;
            for (int i = 0; i < 4; i++) {   /* (G g) G^T */
                u[(i * 4 + 0) * plane] = t[i][0];
                u[(i * 4 + 1) * plane] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
                u[(i * 4 + 2) * plane] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
                u[(i * 4 + 3) * plane] = t[i][2];
            }
        }
}

struct wino_geom {
    int64_t N, cin, cout, H, W, Ho, Wo, TH, TW, T1;   /* T1 = tiles per image */
    int ph, pw;
};

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
    int64_t chunks = (N + nb - 1) / nb;
    int64_t u_floats = (16 * cout * cin + 15) & ~(int64_t)15;
    int64_t per_thread = (16 * (cin + cout) * nb * g.T1 + row_area(&g) + 15) & ~(int64_t)15;
    float *scr = ig_backend_scratch(be, (size_t)(u_floats + per_thread * nth) * sizeof(float));
    if (!scr) return IG_ERR_OOM;
    float *U = scr;
    weight_transform(w, cout, cin, rotated, U);
    int saved = ig_cpu_blas_single_begin();
    IG_OMP(omp parallel for schedule(dynamic, 1) num_threads(nth))
    for (int64_t ch = 0; ch < chunks; ch++) {
        int64_t n0 = ch * nb, cnt = N - n0 < nb ? N - n0 : nb, T = cnt * g.T1;
        float *V = scr + u_floats + ig_cpu_thread_id() * per_thread, *Mm = V + 16 * cin * T;
        float *work = V + 16 * (cin + cout) * nb * g.T1;
        input_transform(&g, x, n0, cnt, V, work);
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (blasint)cout, (blasint)T, (blasint)cin, 1.0f,
                        U + xi * cout * cin, (blasint)cin, V + xi * cin * T, (blasint)T, 0.0f, Mm + xi * cout * T,
                        (blasint)T);
        output_transform(&g, Mm, bias, n0, cnt, y, work);
    }
    ig_cpu_blas_single_end(saved);
    return IG_OK;
}
