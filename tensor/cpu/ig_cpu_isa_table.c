/* The kernel table of one instruction set (compiled once per ISA like the kernels it lists). */
#include "ig_cpu_isa.h"
#include "ig_cpu_simd.h"

const struct ig_cpu_isa_fns IG_ISA_FN(ig_cpu_isa) = {
    .isa = IG_ISA_ID,
    .name = IG_ISA_NAME,
    .kernels = {
#define IG_OP(E, fn, name) [IG_OP_##E] = IG_ISA_FN(ig_cpu_##fn),
#include "ig_ops.def"
#undef IG_OP
    },
    .winograd_suits = IG_ISA_FN(ig_cpu_winograd_suits),
    .winograd_conv = IG_ISA_FN(ig_cpu_winograd_conv),
    .winograd_bwd_weight = IG_ISA_FN(ig_cpu_winograd_bwd_weight),
    .winograd_persample = IG_ISA_FN(ig_cpu_winograd_persample),
    .direct_suits = IG_ISA_FN(ig_cpu_direct_suits),
    .direct_conv = IG_ISA_FN(ig_cpu_direct_conv),
    .direct_bwd_weight = IG_ISA_FN(ig_cpu_direct_bwd_weight),
    .gemm_small_suits = IG_ISA_FN(ig_cpu_gemm_small_suits),
    .gemm_small = IG_ISA_FN(ig_cpu_gemm_small),
};
