/* regress instruction sets: names, the CPU check and the pick of the boosting split kernels (ig_regress_boost_scan.c, one build per set). */
#include "ig_regress_internal.h"
#include <string.h>

static const char *const isa_names[] = {"auto", "generic", "avx2", "avx512"};

const char *ig_regress_isa_name(enum ig_regress_isa isa)
{
    return (unsigned)isa < sizeof isa_names / sizeof *isa_names ? isa_names[isa] : "unknown";
}

int ig_regress_isa_parse(const char *name, enum ig_regress_isa *out)
{
    for (unsigned i = 0; name && i < sizeof isa_names / sizeof *isa_names; i++)
        if (!strcmp(name, isa_names[i])) {
            *out = (enum ig_regress_isa)i;
            return 1;
        }
    return 0;
}

/* This build has the set and this CPU runs it (the same checks as the tensor CPU backend). */
static int isa_available(enum ig_regress_isa isa)
{
    if (isa == IG_REGRESS_ISA_GENERIC) return 1;
#if IG_HAVE_CPU_X86
    __builtin_cpu_init();
    if (isa == IG_REGRESS_ISA_AVX512)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
    if (isa == IG_REGRESS_ISA_AVX2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#endif
    return 0;
}

enum ig_regress_status ig_regress_isa_resolve(enum ig_regress_isa want, enum ig_regress_isa *got)
{
    if ((unsigned)want > IG_REGRESS_ISA_AVX512)
        return ig_rerror(IG_REGRESS_EINVAL, "regress: unknown instruction set %d (expected auto, generic, avx2 or avx512)",
                         (int)want);
    if (want == IG_REGRESS_ISA_AUTO) {
        want = isa_available(IG_REGRESS_ISA_AVX512) ? IG_REGRESS_ISA_AVX512
               : isa_available(IG_REGRESS_ISA_AVX2) ? IG_REGRESS_ISA_AVX2
                                                     : IG_REGRESS_ISA_GENERIC;
    } else if (!isa_available(want)) {
        return ig_rerror(IG_REGRESS_EINVAL, "regress: instruction set %s is not %s (use auto or generic)",
                         ig_regress_isa_name(want),
                         IG_HAVE_CPU_X86 ? "supported by this CPU" : "built on this architecture");
    }
    if (got) *got = want;
    return IG_REGRESS_OK;
}

enum ig_regress_status ig_boost_scan_pick(enum ig_regress_isa isa, const struct ig_boost_scan **out)
{
    enum ig_regress_status st = ig_regress_isa_resolve(isa, &isa);
    if (st) return st;
    *out = &ig_boost_scan_generic;
#if IG_HAVE_CPU_X86
    if (isa == IG_REGRESS_ISA_AVX512) *out = &ig_boost_scan_avx512;
    if (isa == IG_REGRESS_ISA_AVX2) *out = &ig_boost_scan_avx2;
#endif
    return IG_REGRESS_OK;
}
