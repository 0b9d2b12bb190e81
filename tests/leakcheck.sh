#!/bin/sh
# Leak check of the OpenCL parity suite (tests/test_opencl.c) with LeakSanitizer; exit 0 when clean.
#
# usage: tests/leakcheck.sh [build-dir]      (default build-dir: <source>/build-leak)
#   Configures build-dir with -Db_sanitize=leak (once), builds test_opencl and runs the whole
#   suite: every op forward/backward vs the CPU backend, the 3-step paper-CNN training, the program
#   cache, build-error and device-memory tests. LeakSanitizer prints every leaked allocation and
#   the run then exits 23. The suite itself also asserts that every cl_mem the backend created is
#   released (test_device_memory_balance), which LeakSanitizer cannot see inside the driver.
#   Exit status: 0 clean, 23 leaks, 77 no OpenCL device, other: a failing test.
#
# Why not valgrind: the build uses -march=native and PoCL JIT-compiles kernels for the host CPU;
# on AVX-512 machines (like the CI host) valgrind stops at the first AVX-512 instruction (SIGILL).
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build-leak}
[ -f "$build/build.ninja" ] || meson setup "$build" "$src" -Db_sanitize=leak -Dbuildtype=debugoptimized
meson compile -C "$build" test_opencl
LSAN_OPTIONS="exitcode=23:${LSAN_OPTIONS:-}" OMP_NUM_THREADS=2 "$build/tests/test_opencl"
echo "leakcheck: LeakSanitizer found no leaks"
