/* Winograd internals shared by the F(2x2,3x3) and F(4x4,3x3) kernels of one ISA build: tile geometry and the F(4x4,3x3) transforms. */
#ifndef IG_CPU_WINOGRAD_H
#define IG_CPU_WINOGRAD_H
#include "ig_cpu_simd.h"
#include <stdbool.h>
#include <stdint.h>

/* One conv on m x m output tiles (m = 2 or 4) of a = m + 2 input values per side: a*a GEMMs. */
struct wino_geom {
    int64_t N, cin, cout, H, W, Ho, Wo, TH, TW, T1;   /* T1 = tiles per image */
    int64_t Cp, Op, Hp, Wp;                           /* channels padded to IG_VW, padded image */
    int ph, pw;
    int m, a;                                         /* output tile side, input tile side */
};

/* F(4x4,3x3) (Lavin & Gray), points 0, +-1, +-2, inf:
 *   U[xi][o, c] = (G g G^T)[xi], 36 x [Op, Cp] at U + xi*plane + o*ldu + c
 *   V[xi][T][Cp] = (B^T d B)[xi] for the 6x6 input tiles of images n0 .. n0+nb (Xt: channels-last scratch)
 *   y tile = A^T m A from M[xi][T][Op] (through the channels-last scratch Yt) */
void IG_ISA_FN(ig_cpu_wino4_weight_transform)(const float *w, int64_t cout, int64_t cin, float *U, int64_t ldu,
                                              int64_t plane, float *tmp /* 9 * cin floats per thread */);
void IG_ISA_FN(ig_cpu_wino4_input_transform)(const struct wino_geom *g, const float *x, int64_t n0, int64_t nb, float *V,
                                             float *Xt);
void IG_ISA_FN(ig_cpu_wino4_output_transform)(const struct wino_geom *g, const float *M, bool has_bias, int64_t n0,
                                              int64_t nb, float *y, float *Yt, const float *bias_p);

/* Weight gradient: Z[xi][T][Op] = (A e A^T)[xi] of the 4x4 output-gradient tiles (Dt: channels-last
 * scratch); dw[o][c0 .. c0+IG_VW) = G^T s G from the G group sums S[g][xi][Op][Cp]. */
void IG_ISA_FN(ig_cpu_wino4_grad_transform)(const struct wino_geom *g, const float *dy, int64_t n0, int64_t nb, float *Z,
                                            float *Dt);
void IG_ISA_FN(ig_cpu_wino4_dw_finish)(const struct wino_geom *g, const float *S, int64_t G, int64_t splane, int64_t o,
                                       int64_t c0, float *dw);

/* Layout helpers (ig_cpu_winograd.c): Xt[Hp][Wp][Cp] of image xn; y[n] NCHW from Yt[m TH][m TW][Op];
 * Dt[m TH][m TW][Op] of one image's dy. */
void IG_ISA_FN(ig_cpu_wino_to_channels_last)(const struct wino_geom *g, const float *xn, float *Xt);
void IG_ISA_FN(ig_cpu_wino_from_channels_last)(const struct wino_geom *g, const float *Yt, float *yn);
void IG_ISA_FN(ig_cpu_wino_grad_to_channels_last)(const struct wino_geom *g, const float *dyn, float *Dt);
#endif
