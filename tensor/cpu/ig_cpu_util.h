/* Private helpers of the fast CPU kernels: OpenMP wrappers, size thresholds, single-threaded BLAS sections. */
#ifndef IG_CPU_UTIL_H
#define IG_CPU_UTIL_H
#include "ig_cpu_kernels.h"
#include "ig_cpu_simd.h"
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

#endif
