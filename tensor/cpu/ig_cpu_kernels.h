/* CPU kernels: the fast (OpenMP + OpenBLAS) version of every op in ig_ops.def, once per instruction set, and the plain reference version. */
#ifndef IG_CPU_KERNELS_H
#define IG_CPU_KERNELS_H
#include "ig_backend_impl.h"

/* ig_cpu_<fn>_<isa>: fast kernels, compiled once per instruction set (generic, avx2, avx512; see
 * ig_cpu_simd.h and ig_cpu_isa.h), reached through the table the backend picked. ig_cpu_ref_<fn>:
 * plain loops, obviously correct, built once, used by the tests as the reference. All take
 * validated calls (see ig_ops.def). */
#define IG_OP(E, fn, name)                                                                     \
    enum ig_status ig_cpu_##fn##_generic(struct ig_backend *be, const struct ig_op_call *call); \
    enum ig_status ig_cpu_##fn##_avx2(struct ig_backend *be, const struct ig_op_call *call);    \
    enum ig_status ig_cpu_##fn##_avx512(struct ig_backend *be, const struct ig_op_call *call);  \
    enum ig_status ig_cpu_ref_##fn(struct ig_backend *be, const struct ig_op_call *call);
#include "ig_ops.def"
#undef IG_OP

/* The reference table, for tests: ig_cpu_ref_kernels[op]. */
extern const ig_kernel_fn ig_cpu_ref_kernels[IG_OP_COUNT];
#endif
