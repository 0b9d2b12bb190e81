/* Private helpers of the fast CPU kernels: OpenMP wrappers, size thresholds, single-threaded BLAS sections. */
#ifndef IG_CPU_UTIL_H
#define IG_CPU_UTIL_H
#include "ig_cpu_kernels.h"
#include <cblas.h>
#if IG_HAVE_OPENMP
#include <omp.h>
#define IG_OMP(directive) _Pragma(#directive)
static inline int ig_cpu_max_threads(void) { return omp_get_max_threads(); }
static inline int ig_cpu_thread_id(void) { return omp_get_thread_num(); }
#else
#define IG_OMP(directive)
static inline int ig_cpu_max_threads(void) { return 1; }
static inline int ig_cpu_thread_id(void) { return 0; }
#endif

/* Below this many elements a loop runs on one thread: fork/join costs more than it saves. */
#define IG_CPU_PAR_MIN 16384

static inline int64_t ig_cpu_numel(const struct ig_tensor *t) { return ig_tensor_numel(t); }

/* All BLAS work of the CPU backend runs as single-threaded sgemm calls inside OpenMP regions:
 * mixing OpenBLAS's own (pthread) workers with OpenMP workers on the same cores makes each
 * spin while the other computes (measured: ~40% of conv time lost to spin/yield). These bracket
 * a kernel; the caller's OpenBLAS thread count is restored afterwards. */
static inline int ig_cpu_blas_single_begin(void)
{
    int saved = openblas_get_num_threads();
    if (saved != 1) openblas_set_num_threads(1);
    return saved;
}
static inline void ig_cpu_blas_single_end(int saved)
{
    if (saved != 1) openblas_set_num_threads(saved);
}

/* Winograd F(2x2,3x3) convolution (ig_cpu_winograd.c): y[N,cout,Ho,Wo] = conv(x[N,cin,H,W], w) + bias,
 * stride 1; w is [cout,cin,3,3], or with rotated the [cin,cout,3,3] kernel of a forward conv
 * turned by 180 degrees (the backward-data pass). suits(): shapes where it beats im2col. */
bool ig_cpu_winograd_suits(int64_t cin, int64_t cout, int64_t kh, int64_t kw, int sh, int sw, int ph, int pw,
                           int64_t out_h, int64_t out_w);
enum ig_status ig_cpu_winograd_conv(struct ig_backend *be, const float *x, int64_t N, int64_t cin, int64_t H, int64_t W,
                                    const float *w, bool rotated, int64_t cout, int ph, int pw, const float *bias,
                                    float *y, int64_t Ho, int64_t Wo);
#ifdef __AVX512F__
/* Weight gradient dw[O,C,3,3] of the same stride-1 3x3 conv by Winograd (AVX-512 builds only). */
enum ig_status ig_cpu_winograd_bwd_weight(struct ig_backend *be, const float *x, const float *dy, int64_t N, int64_t C,
                                          int64_t H, int64_t W, int64_t O, int ph, int pw, int64_t Ho, int64_t Wo,
                                          float *dw);
#endif
#endif
