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

/* Labels lab (t[2], int32 [N]) of a cross-entropy call index the M classes of the logits (t[1], [N, M]);
 * shared by the fast and the reference kernels so both reject the same calls with the same message. */
static inline enum ig_status ig_cpu_labels_check(const struct ig_op_call *call, const char *what)
{
    const int32_t *lab = ig_cpu_i32(call->t[2]);
    int64_t N = call->t[1]->shape[0], M = call->t[1]->shape[1];
    for (int64_t n = 0; n < N; n++)
        if (lab[n] < 0 || lab[n] >= M)
            return ig_error(IG_ERR_INVALID_ARG, "%s: label %d of row %lld outside [0, %lld)", what, lab[n],
                            (long long)n, (long long)M);
    return IG_OK;
}
#endif
