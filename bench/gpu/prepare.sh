#!/usr/bin/env bash
# Packs gpu-kit/ for a GPU machine without network (docs/GPU.md 4): a portable release build of the binaries the GPU runs need, plus the .debs of every shared library they load that a bare machine may lack.
#
#   bench/gpu/prepare.sh            # here, as root, with Debian's package archive reachable
#   -> gpu-kit/bin/*, gpu-kit/debs/*.deb; carry gpu-kit, run bench/gpu/on_device.sh there
#
# The build is the default portable one (x86-64 baseline, kernels picked from cpuid at run time), so it runs on the
# GPU machine's CPU whatever this machine's is; MPI is left out (one GPU, one process). Libraries of libc6, libgcc-s1,
# libstdc++6, zlib1g and libudev1 are not packed: every machine that runs Python has newer ones, and an older copy on
# LD_LIBRARY_PATH would shadow them for the PyTorch peers too.
set -euo pipefail
[ $# -eq 0 ] || { echo "prepare.sh: takes no arguments (got '$*'); it writes gpu-kit/ and build-gpu/" >&2; exit 2; }
cd "$(dirname "$0")/../.."
KIT=gpu-kit BUILD=build-gpu
BINS=(apps/igradv-devices tests/test_opencl bench/bench_opencl bench/bench_train bench/bench_al)

if [ ! -f "$BUILD/build.ninja" ]; then meson setup "$BUILD" -Dbuildtype=release -Dmpi=disabled >/dev/null; fi
ninja -C "$BUILD" "${BINS[@]}" >/dev/null
rm -rf "$KIT" && mkdir -p "$KIT/bin" "$KIT/debs"
for b in "${BINS[@]}"; do cp "$BUILD/$b" "$KIT/bin/" && strip "$KIT/bin/$(basename "$b")"; done

# The packages behind the shared libraries the binaries load (and what those load in turn).
libs=$(for b in "$KIT"/bin/*; do ldd "$b"; done | awk '/=> \//{print $3}' | sort -u)
pkgs=$(for l in $libs; do dpkg -S "$(readlink -f "$l")" 2>/dev/null || dpkg -S "$l" 2>/dev/null; done | cut -d: -f1 | sort -u |
       grep -vx -e libc6 -e libgcc-s1 -e libstdc++6 -e zlib1g -e libudev1)
# the ICD loader finds the vendor's driver at run time: its library is not in ldd's list
pkgs=$(printf '%s\n' $pkgs ocl-icd-libopencl1 | sort -u)
dl=$(mktemp -d) && chmod 777 "$dl"   # apt downloads as its _apt user: a folder it may write
(cd "$dl" && apt-get download $pkgs >/dev/null) && mv "$dl"/*.deb "$KIT/debs/" && rmdir "$dl"
printf '%s\n' $pkgs > "$KIT/packages.txt"
echo "gpu-kit: $(ls "$KIT/bin" | wc -l) binaries, $(ls "$KIT/debs" | wc -l) packages ($(tr '\n' ' ' < "$KIT/packages.txt")), $(du -sh "$KIT" | cut -f1)"
echo "on the GPU machine: carry gpu-kit, run: bash bench/gpu/on_device.sh"
