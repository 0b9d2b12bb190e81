#!/usr/bin/env bash
# Runs docs/GPU.md's procedure on a GPU machine from gpu-kit/ (bench/gpu/prepare.sh): libraries unpacked, the ICD loader pointed at the vendor's OpenCL driver, the parity suite, then the benches with their PyTorch CUDA peers; results into $OUT.
#
#   bash bench/gpu/on_device.sh [--quick]      # from the repository root, gpu-kit/ beside bench/
#
# Writes $OUT (else gpu-out/) log.txt (every step's command, exit status and stderr), results.jsonl (every JSON
# line of every step) and gpu.txt (nvidia-smi). Steps run in order of importance under one deadline
# (IGRADV_GPU_DEADLINE seconds, default 540) so the whole call fits a 10-minute command; a step that fails or
# times out is logged and the next one runs. --quick: small sizes and only test_opencl's infra case (a dry run, e.g.
# on PoCL). IGRADV_GPU_KIT: the kit's folder (default gpu-kit/).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD KIT=${IGRADV_GPU_KIT:-$PWD/gpu-kit} OUTD=${OUT:-$PWD/gpu-out}
QUICK=false
case "${1:-}" in
    "") ;;
    --quick) QUICK=true ;;
    *) echo "on_device: unknown argument '$1' (expected nothing or --quick)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "on_device: one argument at most (--quick), got $#" >&2; exit 2; }
DEADLINE=${IGRADV_GPU_DEADLINE:-540}
[[ "$DEADLINE" =~ ^[0-9]+$ ]] && [ "$DEADLINE" -ge 30 ] && [ "$DEADLINE" -le 3600 ] ||
    { echo "on_device: IGRADV_GPU_DEADLINE='$DEADLINE': expected whole seconds, 30 to 3600" >&2; exit 2; }
[ -d "$KIT/bin" ] || { echo "on_device: $KIT/bin missing: run bench/gpu/prepare.sh first and carry gpu-kit" >&2; exit 2; }
mkdir -p "$OUTD"
LOG=$OUTD/log.txt RES=$OUTD/results.jsonl
: > "$LOG"; : > "$RES"
START=$(date +%s)
say() { echo "$*" | tee -a "$LOG"; }

# Libraries: unpacked, never installed (dpkg-deb -x into a private root).
SYS=/tmp/igradv-sysroot
rm -rf "$SYS" && mkdir -p "$SYS"
shopt -s nullglob
for d in "$KIT"/debs/*.deb; do dpkg-deb -x "$d" "$SYS"; done
shopt -u nullglob
L=$SYS/usr/lib/x86_64-linux-gnu
export LD_LIBRARY_PATH=$L:$L/openblas-pthread:${LD_LIBRARY_PATH:-}

# The ICD loader reads its vendors from OCL_ICD_VENDORS: NVIDIA's driver library, where the machine has one.
NV=$(ldconfig -p 2>/dev/null | awk '/libnvidia-opencl\.so\.1/{print $NF; exit}')
[ -n "$NV" ] || NV=$(find /usr/lib /usr/lib64 /usr/local/nvidia /usr/local/cuda* -name 'libnvidia-opencl.so.1*' 2>/dev/null | head -1)
if [ -n "$NV" ]; then
    mkdir -p /tmp/igradv-icd && echo "$NV" > /tmp/igradv-icd/nvidia.icd
    export OCL_ICD_VENDORS=/tmp/igradv-icd
    say "OpenCL driver: $NV"
else
    say "OpenCL driver: no libnvidia-opencl.so.1 found; the loader's own vendors (/etc/OpenCL/vendors) are used"
fi
export IGRADV_BENCH_PEERS=$ROOT/bench/peers IG_TEST_FIXTURES=$ROOT/tests/fixtures
export PYTHONUNBUFFERED=1
(nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv; nvidia-smi) \
    > "$OUTD/gpu.txt" 2>&1 || echo "no nvidia-smi" > "$OUTD/gpu.txt"

# step NAME CAP CMD...: runs CMD with at most CAP seconds (and what the deadline leaves), its JSON lines to results.jsonl.
step() {
    local name=$1 cap=$2; shift 2
    local left=$((DEADLINE - ($(date +%s) - START) - 5))
    [ "$left" -lt "$cap" ] && cap=$left
    if [ "$cap" -lt 10 ]; then say "== $name: skipped (deadline)"; return; fi
    say "== $name (<= ${cap}s): $*"
    local t0=$(date +%s)
    timeout "$cap" "$@" > "$OUTD/.out" 2> "$OUTD/.err"
    local rc=$?
    grep '^{' "$OUTD/.out" >> "$RES"
    grep -v '^{' "$OUTD/.out" | tail -n 40 >> "$LOG"
    tail -n 40 "$OUTD/.err" >> "$LOG"
    say "   exit $rc after $(($(date +%s) - t0)) s"
    rm -f "$OUTD/.out" "$OUTD/.err"
}

B=$KIT/bin
step devices 90 "$B/igradv-devices" --check --verbose
DEV=$("$B/igradv-devices" 2>/dev/null | awk '/^  opencl:[0-9]+:[0-9]+  GPU/{print $1; exit}')
[ -n "$DEV" ] || DEV=$("$B/igradv-devices" 2>/dev/null | awk '/^  opencl:[0-9]+:[0-9]+ /{print $1; exit}')
if [ -z "$DEV" ]; then say "on_device: no OpenCL device found"; exit 1; fi
say "device: $DEV"
if $QUICK; then
    IGRADV_TEST_DEVICE=$DEV CK_RUN_CASE=infra step test_opencl 300 "$B/test_opencl"
    step bench_train 120 "$B/bench_train" --device "$DEV" --batches 8 --steps 1 --runs 1 --warmup 0 --no-peer
    step bench_al 200 "$B/bench_al" --device "$DEV" --quick --runs 1 --no-al-epoch
else
    IGRADV_TEST_DEVICE=$DEV step test_opencl 150 "$B/test_opencl"
    step bench_train 120 "$B/bench_train" --device "$DEV" --batches 32,64,128 --no-peer
    step torch_cuda_train 90 python3 bench/peers/torch_cuda_train.py --batches 32,64,128
    step bench_al 100 "$B/bench_al" --device "$DEV" --no-al-epoch
    step bench_opencl 120 "$B/bench_opencl" --device "$DEV" --batch 64 --steps 10 --runs 5
fi
say "done after $(($(date +%s) - START)) s; $(wc -l < "$RES") result lines"
