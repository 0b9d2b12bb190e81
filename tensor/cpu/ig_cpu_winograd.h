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
    bool zeroed;   /* the scratch Xt / Dt already hold zero borders and lanes (an earlier image of the same shape) */
    int64_t ppad;  /* floats between consecutive Winograd-point planes of V, M and Z beyond T x Cp / Op (0 unless set) */
};

/* F(4x4,3x3), points 0, -1, 1, 1/2, -2, inf (ig_cpu_winograd_f4.c):
 *   Ut[xi][c][o] = (G g_oc G^T)[xi], 36 x [Cp][Op] at Ut + xi*plane + c*ldu + o, for c < cin, o < Op
 *     (zero for o >= cout), of w[cout][cin][3][3], or with rotated of the backward-data kernel of
 *     w[cin][cout][3][3] (wino_taps)
 *   V[xi][T][Cp] = (B^T d B)[xi] for the 6x6 input tiles of images n0 .. n0+nb (Xt: channels-last scratch)
 *   y tile = A^T m A from M[xi][T][Op] (through the channels-last scratch Yt) */
void IG_ISA_FN(ig_cpu_wino4_weight_transform)(const float *w, bool rotated, int64_t cout, int64_t cin, float *Ut,
                                              int64_t ldu, int64_t plane);
void IG_ISA_FN(ig_cpu_wino4_input_transform)(const struct wino_geom *g, const float *x, int64_t n0, int64_t nb, float *V,
                                             float *Xt);
void IG_ISA_FN(ig_cpu_wino4_output_transform)(const struct wino_geom *g, const float *M, bool has_bias, int64_t n0,
                                              int64_t nb, float *y, float *Yt, const float *bias_p);

/* Weight gradient: Z[xi][T][Op] = (A e A^T)[xi] of the 4x4 output-gradient tiles (Dt: channels-last
 * scratch); the weights then come from wino4_dw_tile of the tile sums. */
void IG_ISA_FN(ig_cpu_wino4_grad_transform)(const struct wino_geom *g, const float *dy, int64_t n0, int64_t nb, float *Z,
                                            float *Dt);
/* Geometry of one conv on F(m x m, 3x3) tiles (ig_cpu_winograd.c); *nth threads over chunks of *nb images. */
struct wino_geom IG_ISA_FN(ig_cpu_wino_plan)(int m, int64_t N, int64_t cin, int64_t H, int64_t W, int64_t cout, int ph,
                                             int pw, int64_t Ho, int64_t Wo, int *nth, int64_t *nb);
/* Floats of one thread's scratch for chunks of nb images: V and Z [a*a][nb*T1][Cp + Op], Xt, then Dt. */
int64_t IG_ISA_FN(ig_cpu_wino_thread_floats)(const struct wino_geom *g, int64_t nb);
/* V[xi][T][Cp] (input tiles) and Z[xi][T][Op] (output-gradient tiles) of images n0 .. n0+cnt for the
 * weight gradient, in a thread's scratch `mine` laid out for chunks of nb images. */
void IG_ISA_FN(ig_cpu_wino_dw_transforms)(const struct wino_geom *g, const float *x, const float *dy, int64_t n0,
                                          int64_t cnt, int64_t nb, float *mine, float **V, float **Z);

/* Layout helpers (ig_cpu_winograd.c): Xt[Hp][Wp][Cp] of image xn; y[n] NCHW from Yt[m TH][m TW][Op];
 * Dt[m TH][m TW][Op] of one image's dy. */
void IG_ISA_FN(ig_cpu_wino_to_channels_last)(const struct wino_geom *g, const float *xn, float *Xt);
void IG_ISA_FN(ig_cpu_wino_from_channels_last)(const struct wino_geom *g, const float *Yt, float *yn);
void IG_ISA_FN(ig_cpu_wino_grad_to_channels_last)(const struct wino_geom *g, const float *dyn, float *Dt);

/* C[r][0 .. nvec IG_VW) (+)= sum_{q < K} A[r ar + q ak] B[q][0 .. nvec IG_VW) for r < rows (C rows ldc
 * apart, B rows ldb): one Winograd point's product, register-blocked without packing
 * (ig_cpu_winograd_gemm.c). Forward: M[T][Op] = V[T][Cp] Ut[cin][Op] (ar = Cp, ak = 1); weight
 * gradient: S[O][Cp] (+)= Z[T][Op]^T V[T][Cp] (ar = 1, ak = Op). Sums in q order. */
#if defined(IG_SIMD_AVX512) || defined(IG_SIMD_AVX2)
#define IG_WINO_BLAS 0
#else
#define IG_WINO_BLAS 1   /* the plain C build multiplies with OpenBLAS (single-threaded inside the chunk loop) */
#endif
void IG_ISA_FN(ig_cpu_wino_point_gemm)(const float *A, int64_t ar, int64_t ak, const float *B, int64_t ldb, int64_t rows,
                                       int64_t K, int64_t nvec, float *C, int64_t ldc, bool accumulate);

/* k[kh*3+kw] = tap (kh, kw) of the kernels from output channel o0 + lane to input channel c, lanes
 * o0 + lane < cout (0 on the others), of w[cout][cin][3][3]; with rotated, of the backward-data
 * kernel of w[cin][cout][3][3]: its channel axes swapped and rotated by 180 degrees. */
static inline void wino_taps(const float *w, bool rotated, int64_t cout, int64_t cin, int64_t o0, int64_t c, ig_vf k[9])
{
    ig_vmask m = vmask_range(0, cout - o0);
    ig_vi idx = vindex((int32_t)(rotated ? 9 : 9 * cin));
    const float *p = w + (rotated ? c * cout + o0 : o0 * cin + c) * 9;
    for (int tap = 0; tap < 9; tap++) k[tap] = vgather_mask(p + (rotated ? 8 - tap : tap), idx, m);
}

/* q = G^T s along one axis of F(4x4,3x3): 6 values to the 3 kernel taps. */
static inline void wino4_gt6(const ig_vf s[6], ig_vf q[3])
{
    ig_vf t3 = vset1(1.0f / 3.0f), f15 = vset1(1.0f / 15.0f);
    q[0] = (s[0] + t3 * (s[2] - s[1])) - f15 * (vset1(16.0f) * s[3] - s[4]);
    q[1] = t3 * (s[1] + s[2]) - f15 * (vset1(8.0f) * s[3] + vset1(2.0f) * s[4]);
    q[2] = (t3 * (s[2] - s[1]) + f15 * (vset1(4.0f) * (s[4] - s[3]))) + s[5];
}

/* d[kh*3+kw] = (G^T s G)[kh][kw]: the 3x3 weight gradient of one 6x6 tile sum s[xi] (F(4x4,3x3)). */
static inline void wino4_dw_tile(const ig_vf s[36], ig_vf d[9])
{
    ig_vf q[6][3];
    for (int j = 0; j < 6; j++) {   /* G^T along the tile rows, per column j */
        ig_vf col[6];
        for (int i = 0; i < 6; i++) col[i] = s[i * 6 + j];
        wino4_gt6(col, q[j]);
    }
    for (int k = 0; k < 3; k++) {   /* then along the columns: d[k][l] = sum_j q[j][k] G[j][l] */
        ig_vf row[6], r[3];
        for (int j = 0; j < 6; j++) row[j] = q[j][k];
        wino4_gt6(row, r);
        for (int l = 0; l < 3; l++) d[k * 3 + l] = r[l];
    }
}

/* d[kh*3+kw] = (G^T s G)[kh][kw] of one 4x4 tile sum s[xi] (F(2x2,3x3)):
 * G^T = [1 .5 .5 0; 0 .5 -.5 0; 0 .5 .5 1]. */
static inline void wino2_dw_tile(const ig_vf s[16], ig_vf d[9])
{
    ig_vf h = vset1(0.5f), q[3][4];
    for (int j = 0; j < 4; j++) {
        ig_vf p12 = h * (s[4 + j] + s[8 + j]);
        q[0][j] = s[j] + p12;
        q[1][j] = h * (s[4 + j] - s[8 + j]);
        q[2][j] = p12 + s[12 + j];
    }
    for (int i = 0; i < 3; i++) {
        ig_vf p12 = h * (q[i][1] + q[i][2]);
        d[i * 3 + 0] = q[i][0] + p12;
        d[i * 3 + 1] = h * (q[i][1] - q[i][2]);
        d[i * 3 + 2] = p12 + q[i][3];
    }
}
#endif
