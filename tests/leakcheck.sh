#!/bin/sh
# Leak check of the OpenCL parity suite (tests/test_opencl.c): LeakSanitizer build by default, valgrind with --valgrind.
#
# usage: tests/leakcheck.sh [--valgrind] [build-dir]
#   default     configures <build-dir> (default: build-leak) with -Db_sanitize=leak, builds test_opencl
#               and runs the whole suite (every op fwd/bwd, the 3-step paper-CNN training, cache and
#               error tests); LeakSanitizer reports any leak and makes the run fail.
#   --valgrind  runs the suite from an ordinary build dir (default: build) under
#               valgrind --leak-check=full; definite leaks fail the run. The training test is skipped
#               (IGRADV_TEST_SKIP_TRAIN=1) because PoCL kernels under valgrind are ~50x slower.
# Exit status: 0 clean, 77 no OpenCL device, anything else a leak or a failure.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
mode=lsan
if [ "${1:-}" = "--valgrind" ]; then mode=valgrind; shift; fi

if [ "$mode" = lsan ]; then
    build=${1:-$src/build-leak}
    [ -f "$build/build.ninja" ] || meson setup "$build" "$src" -Db_sanitize=leak -Dbuildtype=debugoptimized
    meson compile -C "$build" test_opencl
    # exitcode 23: distinguishes a leak report from a test failure
    LSAN_OPTIONS="exitcode=23:${LSAN_OPTIONS:-}" OMP_NUM_THREADS=2 "$build/tests/test_opencl"
    echo "leakcheck: LeakSanitizer found no leaks"
else
    build=${1:-$src/build}
    [ -f "$build/build.ninja" ] || meson setup "$build" "$src"
    meson compile -C "$build" test_opencl
    IGRADV_TEST_SKIP_TRAIN=1 OMP_NUM_THREADS=2 valgrind --leak-check=full --errors-for-leak-kinds=definite \
        --error-exitcode=23 "$build/tests/test_opencl"
    echo "leakcheck: valgrind found no definite leaks"
fi
