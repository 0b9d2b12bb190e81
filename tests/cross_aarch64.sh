#!/bin/sh
# Cross-compile check: the tensor core, every CPU kernel source (plain C SIMD path) and regress's split kernels build warning-free for aarch64 and link as one object without x86 symbols; exit 77 without aarch64-linux-gnu-gcc.
# usage: tests/cross_aarch64.sh SOURCE_ROOT   (CROSS_CC overrides the compiler)
set -eu
root=${1:?usage: cross_aarch64.sh SOURCE_ROOT}
cc=${CROSS_CC:-aarch64-linux-gnu-gcc}
if ! command -v "$cc" >/dev/null 2>&1; then
    echo "cross_aarch64: $cc not installed (apt-get install gcc-aarch64-linux-gnu), skipped"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the configuration meson would write for an aarch64 host, and the few OpenBLAS declarations used
printf '#define IG_HAVE_OPENCL 0\n#define IG_HAVE_OPENMP 1\n#define IG_HAVE_CPU_X86 0\n#define IG_BUILD_NATIVE 0\n#define IG_VERSION "cross"\n' >"$tmp/ig_config.h"
cat >"$tmp/cblas.h" <<'H'
/* Stand-in for OpenBLAS's cblas.h (declarations only; nothing is linked). */
#ifndef CBLAS_STUB_H
#define CBLAS_STUB_H
typedef int blasint;
enum CBLAS_ORDER { CblasRowMajor = 101, CblasColMajor = 102 };
enum CBLAS_TRANSPOSE { CblasNoTrans = 111, CblasTrans = 112 };
enum CBLAS_UPLO { CblasUpper = 121, CblasLower = 122 };
float cblas_sdot(blasint, const float *, blasint, const float *, blasint);
void cblas_ssyrk(enum CBLAS_ORDER, enum CBLAS_UPLO, enum CBLAS_TRANSPOSE, blasint, blasint, float, const float *,
                 blasint, float, float *, blasint);
void cblas_sgemm(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint, blasint, blasint, float,
                 const float *, blasint, const float *, blasint, float, float *, blasint);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
char *openblas_get_config(void);
#endif
H
flags="-std=gnu11 -O2 -Wall -Wextra -Wpedantic -Werror -fopenmp -D_GNU_SOURCE -I$tmp -I$root/tensor -I$root/tensor/impl -I$root/tensor/cpu"
n=0
for f in "$root"/tensor/*.c "$root"/tensor/cpu/*.c; do
    extra=
    case "$f" in */ig_cpu_backend.c | */ig_cpu_ref.c) ;; */cpu/*) extra=-DIG_SIMD_GENERIC ;; esac
    # shellcheck disable=SC2086
    "$cc" $flags $extra -c "$f" -o "$tmp/$(basename "$f" .c).o"
    n=$((n + 1))
done
# regress's instruction-set pick and its split kernels (the generic flavour alone on aarch64)
for f in "$root"/regress/ig_regress_isa.c "$root"/regress/ig_regress_boost_scan.c; do
    # shellcheck disable=SC2086
    "$cc" $flags -ffp-contract=off -DIG_RSIMD_GENERIC -I"$root/regress" -c "$f" -o "$tmp/$(basename "$f" .c).o"
    n=$((n + 1))
done
"$cc" -r -nostdlib "$tmp"/*.o -o "$tmp/all.o"
if aarch64-linux-gnu-nm -u "$tmp/all.o" 2>/dev/null | grep -E '_avx2|_avx512'; then
    echo "cross_aarch64: x86-only kernels referenced in an aarch64 build"
    exit 1
fi
echo "cross_aarch64: $n sources compiled and linked for aarch64 with $cc"
