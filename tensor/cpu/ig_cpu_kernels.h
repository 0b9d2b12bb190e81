/* CPU kernels: the fast (OpenMP + OpenBLAS) and the plain reference version of every op in ig_ops.def. */
#ifndef IG_CPU_KERNELS_H
#define IG_CPU_KERNELS_H
#include "ig_backend_impl.h"

/* ig_cpu_<fn>: fast kernels, the CPU backend's table. ig_cpu_ref_<fn>: plain loops, obviously
 * correct, used by the tests as the reference. Both take validated calls (see ig_ops.def). */
#define IG_OP(E, fn, name)                                                              \
    enum ig_status ig_cpu_##fn(struct ig_backend *be, const struct ig_op_call *call); \
    enum ig_status ig_cpu_ref_##fn(struct ig_backend *be, const struct ig_op_call *call);
#include "ig_ops.def"
#undef IG_OP

/* The reference table, for tests: ig_cpu_ref_kernels[op]. */
extern const ig_kernel_fn ig_cpu_ref_kernels[IG_OP_COUNT];
#endif
