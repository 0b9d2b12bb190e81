#!/bin/sh
# Bad input of examples/per_sample_scores and bench_trees: each exits with the status expected, names what it refused on stderr and prints nothing on stdout.
# usage: tests/bad_input.sh PER_SAMPLE_SCORES BENCH_TREES
set -u
example=${1:?usage: bad_input.sh PER_SAMPLE_SCORES BENCH_TREES}
trees=${2:?usage: bad_input.sh PER_SAMPLE_SCORES BENCH_TREES}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
# expect RC MESSAGE CMD...: the exit status RC, MESSAGE in stderr, empty stdout
expect() {
    want=$1 msg=$2
    shift 2
    "$@" >"$tmp/out" 2>"$tmp/err"
    rc=$?
    if [ "$rc" != "$want" ] || ! grep -qF -- "$msg" "$tmp/err" || [ -s "$tmp/out" ]; then
        echo "bad_input: '$*': exit $rc (expected $want), stderr: $(cat "$tmp/err"), stdout bytes: $(wc -c <"$tmp/out")"
        fail=1
    fi
}
expect 1 "device 'bogus' not understood: expected cpu, opencl or opencl:<platform>:<device>" "$example" bogus
expect 2 "usage: per_sample_scores" "$example" cpu extra
expect 2 "IGRADV_CPU=avx3 not understood: expected auto, generic, avx2 or avx512" env IGRADV_CPU=avx3 "$trees" --no-peers
expect 2 "usage: bench_trees" "$trees" --bogus
[ "$fail" = 0 ] && echo "bad_input: 4 cases refused as expected"
exit "$fail"
