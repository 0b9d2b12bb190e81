/* CPU Winograd F(4x4,3x3) transforms (weights, 6x6 input tiles, 4x4 output tiles) over IG_VW channels per register; compiled once per ISA. */
#include "ig_cpu_isa.h"
#include "ig_cpu_util.h"
#include "ig_cpu_winograd.h"
#include <string.h>

/*
 * F(4x4,3x3): 36 products per 16 outputs (4x fewer multiplications than the direct product, against
 * 2.25x for F(2x2,3x3)), and 2.25 transformed values per output instead of 4, so both the GEMMs and
 * the memory traffic of the transforms shrink. Interpolation points 0, -1, 1, 1/2, -2 and infinity
 * (Cook-Toom; Barabasz et al. 2020 show that mixing 1/2 and -2 beats Lavin & Gray's 0, +-1, +-2):
 *   B^T = [1 -3/2 -2 3/2 1 0; 0 1 -5/2 1/2 1 0; 0 -1 1/2 5/2 1 0; 0 -2 -1 2 1 0; 0 1/2 -1 -1/2 1 0;
 *          0 1 -3/2 -2 3/2 1]
 *   G   = [1 0 0; -1/3 1/3 -1/3; 1/3 1/3 1/3; -16/15 -8/15 -4/15; 1/15 -2/15 4/15; 0 0 1]
 *   A^T = [1 1 1 1 1 0; 0 -1 1 1/2 -2 0; 0 1 1 1/4 4 0; 0 -1 1 1/8 -8 1]
 * Float error, simulated for 128 input channels of uniform(-1, 1) values and weights (output rms
 * 11.3): largest error 1.1e-4 (Lavin's points 2.5e-4, F(2x2) 1.9e-5, the direct sum 1.0e-5), rms
 * error 1.8e-5, i.e. 1.6e-6 of the output scale.
 */

/* r = B^T d along one axis of a 6x6 tile. */
static inline void bt6(const ig_vf d[6], ig_vf r[6])
{
    ig_vf h = vset1(0.5f), h3 = vset1(1.5f), two = vset1(2.0f), h5 = vset1(2.5f);
    r[0] = (((d[0] - h3 * d[1]) - two * d[2]) + h3 * d[3]) + d[4];
    r[1] = ((d[1] - h5 * d[2]) + h * d[3]) + d[4];
    r[2] = ((h * d[2] - d[1]) + h5 * d[3]) + d[4];
    r[3] = ((two * (d[3] - d[1])) - d[2]) + d[4];
    r[4] = ((h * (d[1] - d[3])) - d[2]) + d[4];
    r[5] = (((d[1] - h3 * d[2]) - two * d[3]) + h3 * d[4]) + d[5];
}

/* o = A^T m along one axis: 6 values to 4. */
static inline void at6(const ig_vf m[6], ig_vf o[4])
{
    ig_vf s = m[2] + m[1], d = m[2] - m[1];
    o[0] = ((m[0] + s) + m[3]) + m[4];
    o[1] = (d + vset1(0.5f) * m[3]) - vset1(2.0f) * m[4];
    o[2] = (s + vset1(0.25f) * m[3]) + vset1(4.0f) * m[4];
    o[3] = ((d + vset1(0.125f) * m[3]) - vset1(8.0f) * m[4]) + m[5];
}

/* t[6] = G r for the 3 taps r of one kernel row or column, IG_VW kernels per vector. */
static inline void g6(const ig_vf r[3], ig_vf t[6])
{
    ig_vf t3 = vset1(1.0f / 3.0f), f15 = vset1(1.0f / 15.0f);
    t[0] = r[0];
    t[1] = t3 * ((r[1] - r[0]) - r[2]);
    t[2] = t3 * ((r[0] + r[1]) + r[2]);
    t[3] = f15 * (vzero() - ((vset1(16.0f) * r[0] + vset1(8.0f) * r[1]) + vset1(4.0f) * r[2]));
    t[4] = f15 * ((r[0] - vset1(2.0f) * r[1]) + vset1(4.0f) * r[2]);
    t[5] = r[2];
}

void IG_ISA_FN(ig_cpu_wino4_weight_transform)(const float *w, bool rotated, int64_t cout, int64_t cin, float *Ut,
                                              int64_t ldu, int64_t plane)
{
    IG_OMP(omp parallel for schedule(static) if (cout * cin > 2048))
    for (int64_t c = 0; c < cin; c++)
        for (int64_t o0 = 0; o0 < cout; o0 += IG_VW) {   /* IG_VW output channels per vector */
            ig_vf k[9], col[3][6], r[3], t[6];
            wino_taps(w, rotated, cout, cin, o0, c, k);
            for (int kw = 0; kw < 3; kw++) {   /* G along the kernel rows, per kernel column */
                for (int kh = 0; kh < 3; kh++) r[kh] = k[kh * 3 + kw];
                g6(r, col[kw]);
            }
            float *u = Ut + c * ldu + o0;
            for (int i = 0; i < 6; i++) {   /* then G along the columns */
                for (int kw = 0; kw < 3; kw++) r[kw] = col[kw][i];
                g6(r, t);
                for (int jj = 0; jj < 6; jj++) vstore(u + (i * 6 + jj) * plane, t[jj]);
            }
        }
}

void IG_ISA_FN(ig_cpu_wino4_input_transform)(const struct wino_geom *g, const float *x, int64_t n0, int64_t nb, float *V,
                                             float *Xt)
{
    int64_t T = nb * g->T1, Cp = g->Cp, xs = T * Cp + g->ppad, Wp = g->Wp;
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0 && !g->zeroed) memset(Xt, 0, (size_t)(g->Hp * g->Wp * Cp) * sizeof(float));
        IG_ISA_FN(ig_cpu_wino_to_channels_last)(g, x + (n0 + i) * g->cin * g->H * g->W, Xt);
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *base = Xt + (4 * th * Wp + 4 * tw) * Cp;
                float *v = V + (i * g->T1 + th * g->TW + tw) * Cp;
                for (int64_t c0 = 0; c0 < Cp; c0 += IG_VW) {
                    ig_vf t[6][6];   /* t[a][b] = (B^T d)[a][b] */
                    for (int b = 0; b < 6; b++) {
                        ig_vf d[6], r[6];
                        for (int a = 0; a < 6; a++) d[a] = vload(base + (a * Wp + b) * Cp + c0);
                        bt6(d, r);
                        for (int a = 0; a < 6; a++) t[a][b] = r[a];
                    }
                    for (int a = 0; a < 6; a++) {
                        ig_vf r[6];
                        bt6(t[a], r);
                        for (int b = 0; b < 6; b++) vstore(v + (a * 6 + b) * xs + c0, r[b]);
                    }
                }
            }
    }
}

void IG_ISA_FN(ig_cpu_wino4_output_transform)(const struct wino_geom *g, const float *M, bool has_bias, int64_t n0,
                                              int64_t nb, float *y, float *Yt, const float *bias_p)
{
    int64_t T = nb * g->T1, Op = g->Op, ms = T * Op + g->ppad, W4 = 4 * g->TW;
    for (int64_t i = 0; i < nb; i++) {
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *m = M + (i * g->T1 + th * g->TW + tw) * Op;
                float *yt = Yt + (4 * th * W4 + 4 * tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += IG_VW) {
                    ig_vf t[4][6], b = has_bias ? vload(bias_p + o0) : vzero();
                    for (int j = 0; j < 6; j++) {   /* A^T along the tile rows, per column j */
                        ig_vf col[6], r[4];
                        for (int a = 0; a < 6; a++) col[a] = vload(m + (a * 6 + j) * ms + o0);
                        at6(col, r);
                        for (int a = 0; a < 4; a++) t[a][j] = r[a];
                    }
                    for (int a = 0; a < 4; a++) {   /* then along the columns */
                        ig_vf r[4];
                        at6(t[a], r);
                        for (int j = 0; j < 4; j++) vstore(yt + (a * W4 + j) * Op + o0, r[j] + b);
                    }
                }
            }
        IG_ISA_FN(ig_cpu_wino_from_channels_last)(g, Yt, y + (n0 + i) * g->cout * g->Ho * g->Wo);
    }
}

/* z = A e along one axis (A = (A^T)^T, 6 x 4): 4 output-gradient values to 6. */
static inline void a6(const ig_vf e[4], ig_vf z[6])
{
    ig_vf s02 = e[0] + e[2], s13 = e[1] + e[3];
    z[0] = e[0];
    z[1] = s02 - s13;
    z[2] = s02 + s13;
    z[3] = ((e[0] + vset1(0.5f) * e[1]) + vset1(0.25f) * e[2]) + vset1(0.125f) * e[3];
    z[4] = ((e[0] - vset1(2.0f) * e[1]) + vset1(4.0f) * e[2]) - vset1(8.0f) * e[3];
    z[5] = e[3];
}

void IG_ISA_FN(ig_cpu_wino4_grad_transform)(const struct wino_geom *g, const float *dy, int64_t n0, int64_t nb, float *Z,
                                            float *Dt)
{
    int64_t T = nb * g->T1, Op = g->Op, zs = T * Op + g->ppad, W4 = 4 * g->TW;
    for (int64_t i = 0; i < nb; i++) {
        if (i == 0 && !g->zeroed) memset(Dt, 0, (size_t)(4 * g->TH * W4 * Op) * sizeof(float));   /* edges stay 0 */
        IG_ISA_FN(ig_cpu_wino_grad_to_channels_last)(g, dy + (n0 + i) * g->cout * g->Ho * g->Wo, Dt);
        for (int64_t th = 0; th < g->TH; th++)
            for (int64_t tw = 0; tw < g->TW; tw++) {
                const float *e = Dt + (4 * th * W4 + 4 * tw) * Op;
                float *z = Z + (i * g->T1 + th * g->TW + tw) * Op;
                for (int64_t o0 = 0; o0 < Op; o0 += IG_VW) {
                    ig_vf u[6][4];   /* u = A e, down the tile columns */
                    for (int b = 0; b < 4; b++) {
                        ig_vf col[4], r[6];
                        for (int a = 0; a < 4; a++) col[a] = vload(e + (a * W4 + b) * Op + o0);
                        a6(col, r);
                        for (int a = 0; a < 6; a++) u[a][b] = r[a];
                    }
                    for (int a = 0; a < 6; a++) {   /* then (A e) A^T along the rows */
                        ig_vf r[6];
                        a6(u[a], r);
                        for (int b = 0; b < 6; b++) vstore(z + (a * 6 + b) * zs + o0, r[b]);
                    }
                }
            }
    }
}
