#!/usr/bin/env bash
# The GPU machine's script (bench/gpu/on_device.sh) as a dry run on this machine's OpenCL device: a kit of this build's binaries, --quick, every step's exit status and JSON lines checked; a missing kit, unknown arguments and a bad deadline are refused (exit 2), a bad IGRADV_BENCH_PEERS too (exit 1).
# usage: gpu_kit.sh SOURCE_ROOT BUILD_ROOT      (exit 77 = skipped: no OpenCL device)
set -euo pipefail
SRC=$1 BUILD=$2
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
if ! "$BUILD/apps/igradv-devices" 2>/dev/null | grep -q '^  opencl:'; then
    echo "gpu_kit: no OpenCL device, skipped"
    exit 77
fi
fail() { echo "gpu_kit: $*"; cat "$T/out/log.txt" 2>/dev/null; exit 1; }

# bad input: refused with exit 2 and a message naming what was wrong, nothing run, no output folder
refused() {   # refused WANT_IN_MESSAGE ENV... -- ARGS...
    local want=$1; shift
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    set +e
    env "${envs[@]}" OUT="$T/out0" bash "$SRC/bench/gpu/on_device.sh" "$@" > "$T/msg" 2>&1
    local rc=$?
    set -e
    [ "$rc" -eq 2 ] || fail "on_device.sh ${envs[*]} $* gave exit $rc, expected 2"
    grep -q -- "$want" "$T/msg" || fail "on_device.sh ${envs[*]} $*: message lacks '$want': $(cat "$T/msg")"
    [ ! -e "$T/out0" ] || fail "on_device.sh ${envs[*]} $*: wrote $T/out0 though refused"
}
refused 'prepare.sh' IGRADV_GPU_KIT=$T/none -- --quick
refused "unknown argument '--fast'" IGRADV_GPU_KIT=$T/none -- --fast
refused 'one argument at most' IGRADV_GPU_KIT=$T/none -- --quick --quick
refused "IGRADV_GPU_DEADLINE='ten'" IGRADV_GPU_DEADLINE=ten -- --quick
refused "IGRADV_GPU_DEADLINE='5'" IGRADV_GPU_DEADLINE=5 -- --quick

# a carried build's peer folder that is not one: every peer bench stops before any work, naming it
for b in bench_al bench_train bench_ops; do
    set +e
    IGRADV_BENCH_PEERS=$T/no-peers timeout 60 "$BUILD/bench/$b" > "$T/msg" 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 1 ] || fail "$b with a bad IGRADV_BENCH_PEERS gave exit $rc, expected 1"
    grep -q "IGRADV_BENCH_PEERS: '$T/no-peers' is not a folder" "$T/msg" || fail "$b: $(cat "$T/msg")"
done

mkdir -p "$T/kit/bin" "$T/kit/debs" "$T/out"
for b in apps/igradv-devices tests/test_opencl bench/bench_opencl bench/bench_train bench/bench_al; do
    cp "$BUILD/$b" "$T/kit/bin/"
done
IGRADV_GPU_KIT=$T/kit OUT=$T/out IGRADV_GPU_DEADLINE=560 bash "$SRC/bench/gpu/on_device.sh" --quick \
    || fail "on_device.sh --quick exited $?"
for f in log.txt results.jsonl gpu.txt; do [ -s "$T/out/$f" ] || fail "$f missing or empty"; done
grep -q '^device: opencl:[0-9]*:[0-9]*$' "$T/out/log.txt" || fail "no device line"
for s in devices test_opencl bench_train bench_al; do
    # the step's header, then its "exit 0" before the next header
    awk -v s="$s" '$1 == "==" { cur = $2 } cur == s && /^   exit 0 after/ { ok = 1 } END { exit !ok }' "$T/out/log.txt" \
        || fail "step $s did not exit 0"
done
grep -q '"bench":"train".*"metric":"images_per_s"' "$T/out/results.jsonl" || fail "no bench_train images/s line"
grep -q '"case":"paper_cnn.b16.engine_fixed_weights".*"device":"opencl"' "$T/out/results.jsonl" \
    || fail "no bench_al engine line for the OpenCL device"
python3 -c 'import json, sys; [json.loads(l) for l in open(sys.argv[1])]' "$T/out/results.jsonl" \
    || fail "results.jsonl is not JSON lines"
echo "gpu_kit: ok ($(wc -l < "$T/out/results.jsonl") result lines)"
