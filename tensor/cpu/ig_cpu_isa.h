/* Run-time instruction-set dispatch of the CPU backend: one table of the fast kernels (every op, plus the Winograd and direct-conv entry points) for each build flavour, picked once at backend creation. */
#ifndef IG_CPU_ISA_H
#define IG_CPU_ISA_H
#include "ig_cpu_kernels.h"

/* The kernels compiled once per instruction set (every fast kernel file but ig_cpu_backend.c and
 * ig_cpu_ref.c; see ig_cpu_simd.h), table in ig_cpu_isa_table.c. Winograd F(2x2,3x3) / F(4x4,3x3): y[N,cout,Ho,Wo] = conv(x[N,cin,H,W], w) + bias, stride 1;
 * w is [cout,cin,3,3], or with rotated the [cin,cout,3,3] kernel of a forward conv turned by
 * 180 degrees (the backward-data pass); bwd_weight: dw[O,C,3,3] of the same conv. suits():
 * shapes where Winograd beats im2col on this ISA; tile: the output tile of F(tile x tile, 3x3), 2 or 4, any
 * other value lets the kernel pick the faster one for the shape (IGRADV_CONV=winograd takes every 3x3 stride-1
 * shape, IGRADV_CONV=im2col none). */
struct ig_cpu_isa_fns {
    enum ig_cpu_isa isa;
    const char *name;   /* "generic", "avx2", "avx512" */
    ig_kernel_fn kernels[IG_OP_COUNT];
    bool (*winograd_suits)(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw,
                           int64_t out_h, int64_t out_w);
    enum ig_status (*winograd_conv)(struct ig_backend *be, const float *x, int64_t N, int64_t cin, int64_t H, int64_t W,
                                    const float *w, bool rotated, int64_t cout, int ph, int pw, const float *bias,
                                    float *y, int64_t Ho, int64_t Wo, int tile);
    enum ig_status (*winograd_bwd_weight)(struct ig_backend *be, const float *x, const float *dy, int64_t N, int64_t C,
                                          int64_t H, int64_t W, int64_t O, int ph, int pw, int64_t Ho, int64_t Wo,
                                          float *dw, int tile);
    /* Per-sample weight-gradient terms of the same 3x3 stride-1 conv from its Winograd tiles
     * (ig_cpu_winograd_persample.c): for each instance n, with dW_n [O,C,3,3] its weight gradient,
     * acc_sq[n] += |dW_n|^2 and acc_dot[r][n] += <dW_n, refw[r]> (refw[r] [O,C,3,3], r < n_refs <= 2). */
    enum ig_status (*winograd_persample)(struct ig_backend *be, const float *x, const float *dy, int64_t N, int64_t C,
                                         int64_t H, int64_t W, int64_t O, int ph, int pw, int64_t Ho, int64_t Wo,
                                         int n_refs, const float *const *refw, double *const *acc_dot, double *acc_sq,
                                         int tile);
    /* Direct convolution for few input channels, stride 1 (ig_cpu_conv_direct.c): y[N,cout,Ho,Wo] =
     * conv(x[N,cin,H,W], w) + bias with w [cout,cin,kh,kw], or rotated as for winograd_conv; any
     * padding. suits(): shapes where it beats im2col on this ISA, for y/dx or (weight) for dw
     * (IGRADV_CONV=direct takes every stride-1 shape, IGRADV_CONV=im2col or winograd none). */
    bool (*direct_suits)(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int64_t out_h, int64_t out_w,
                         bool weight);
    enum ig_status (*direct_conv)(struct ig_backend *be, const float *x, int64_t N, int64_t cin, int64_t H, int64_t W,
                                  const float *w, bool rotated, int64_t cout, int64_t kh, int64_t kw, int ph, int pw,
                                  const float *bias, float *y, int64_t Ho, int64_t Wo);
    /* dw[O,C,kh,kw] of the same stride-1 conv (x [N,C,H,W], dy [N,O,Ho,Wo]), overwritten. */
    enum ig_status (*direct_bwd_weight)(struct ig_backend *be, const float *x, const float *dy, int64_t N, int64_t C,
                                        int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw, int ph, int pw,
                                        int64_t Ho, int64_t Wo, float *dw);
    /* C[M,N] = alpha op(A) op(B) + beta C without packing, for a batch-sized side (ig_cpu_gemm_small.c):
     * A, B, C row-major with leading dimensions lda, ldb, ldc; op(A) = A^T with ta, op(B) = B^T with tb.
     * suits(): the calls the gemm op sends there on this ISA (NN and NT with few rows of C, TN with a
     * short sum; beta_zero: beta == 0); gemm_small takes any NN, NT or TN call with M, N, K >= 1. */
    bool (*gemm_small_suits)(bool ta, bool tb, int64_t M, int64_t N, int64_t K, bool beta_zero);
    enum ig_status (*gemm_small)(struct ig_backend *be, bool ta, bool tb, int64_t M, int64_t N, int64_t K, float alpha,
                                 const float *A, int64_t lda, const float *B, int64_t ldb, float beta, float *C,
                                 int64_t ldc);
};

/* The table of one ISA, or NULL when this build or this CPU lacks it (IG_CPU_ISA_AUTO: the best
 * the CPU runs). */
const struct ig_cpu_isa_fns *ig_cpu_isa_table(enum ig_cpu_isa isa);
/* The table a CPU backend picked at creation. */
const struct ig_cpu_isa_fns *ig_cpu_isa_of(const struct ig_backend *be);
/* The backend's cache of transformed conv weights (ig_cpu_wcache.h); NULL when the
 * cpu_wcache_mb option is 0 or it could not be made. */
struct ig_cpu_wcache *ig_cpu_wcache_of(const struct ig_backend *be);

#define IG_CPU_ISA_DECLARE(sfx)                                                                   \
    extern const struct ig_cpu_isa_fns ig_cpu_isa_##sfx;                                          \
    bool ig_cpu_winograd_suits_##sfx(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, \
                                     int pw, int64_t out_h, int64_t out_w);                       \
    enum ig_status ig_cpu_winograd_conv_##sfx(struct ig_backend *be, const float *x, int64_t N, int64_t cin, \
                                              int64_t H, int64_t W, const float *w, bool rotated, int64_t cout, \
                                              int ph, int pw, const float *bias, float *y, int64_t Ho, int64_t Wo, int tile); \
    enum ig_status ig_cpu_winograd_bwd_weight_##sfx(struct ig_backend *be, const float *x, const float *dy, \
                                                    int64_t N, int64_t C, int64_t H, int64_t W, int64_t O, int ph, \
                                                    int pw, int64_t Ho, int64_t Wo, float *dw, int tile); \
    enum ig_status ig_cpu_winograd_persample_##sfx(struct ig_backend *be, const float *x, const float *dy, int64_t N, \
                                                   int64_t C, int64_t H, int64_t W, int64_t O, int ph, int pw, \
                                                   int64_t Ho, int64_t Wo, int n_refs, const float *const *refw, \
                                                   double *const *acc_dot, double *acc_sq, int tile); \
    bool ig_cpu_direct_suits_##sfx(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int64_t out_h, \
                                   int64_t out_w, bool weight);                                   \
    enum ig_status ig_cpu_direct_conv_##sfx(struct ig_backend *be, const float *x, int64_t N, int64_t cin, \
                                            int64_t H, int64_t W, const float *w, bool rotated, int64_t cout, \
                                            int64_t kh, int64_t kw, int ph, int pw, const float *bias, float *y, \
                                            int64_t Ho, int64_t Wo);                                \
    enum ig_status ig_cpu_direct_bwd_weight_##sfx(struct ig_backend *be, const float *x, const float *dy, int64_t N, \
                                                  int64_t C, int64_t H, int64_t W, int64_t O, int64_t kh, int64_t kw, \
                                                  int ph, int pw, int64_t Ho, int64_t Wo, float *dw); \
    bool ig_cpu_gemm_small_suits_##sfx(bool ta, bool tb, int64_t M, int64_t N, int64_t K, bool beta_zero); \
    enum ig_status ig_cpu_gemm_small_##sfx(struct ig_backend *be, bool ta, bool tb, int64_t M, int64_t N, int64_t K, \
                                           float alpha, const float *A, int64_t lda, const float *B, int64_t ldb, \
                                           float beta, float *C, int64_t ldc);
IG_CPU_ISA_DECLARE(generic)
IG_CPU_ISA_DECLARE(avx2)
IG_CPU_ISA_DECLARE(avx512)
#endif
