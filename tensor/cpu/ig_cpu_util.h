/* Private helpers of the fast CPU kernels: OpenMP pragma wrapper and size thresholds. */
#ifndef IG_CPU_UTIL_H
#define IG_CPU_UTIL_H
#include "ig_cpu_kernels.h"
#if IG_HAVE_OPENMP
#include <omp.h>
#define IG_OMP(directive) _Pragma(#directive)
#else
#define IG_OMP(directive)
#endif

/* Below this many elements a loop runs on one thread: fork/join costs more than it saves. */
#define IG_CPU_PAR_MIN 16384

static inline int64_t ig_cpu_numel(const struct ig_tensor *t) { return ig_tensor_numel(t); }
#endif
