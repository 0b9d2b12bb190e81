#!/usr/bin/env bash
# Runs every libFuzzer target of a -Dfuzz=true build: first each seed-corpus file once, then fuzzing for SECONDS each.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS per target, default 5]   (exit 1 on any crash, leak or sanitizer report)
set -uo pipefail
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]}
secs=${2:-5}
[ -d "$build" ] || { echo "fuzz: no build folder $build" >&2; exit 2; }
build=$(cd "$build" && pwd)   # the targets run inside a scratch folder: an absolute path
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/igradv-fuzz-run-XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
printf '%-12s %10s %8s %s\n' target executions crashes corpus
for t in cifar idx idx_gz safetensors optim gbr rf state cli; do
  exe=$build/tests/fuzz/fuzz_$t
  seeds=$here/$t
  if [ ! -x "$exe" ]; then echo "fuzz: $exe missing (configure with CC=clang meson setup $build -Dfuzz=true)" >&2; exit 2; fi
  log=$work/$t.log
  crashes=0
  # every corpus file once (a regression test of past findings and seeds)
  if ! (cd "$work" && "$exe" -runs=1 "$seeds"/* >"$log.seeds" 2>&1); then
    crashes=1; echo "fuzz_$t: a corpus file fails:" >&2; grep -m1 -B2 -A12 "ERROR\|SUMMARY\|runtime error" "$log.seeds" || tail -20 "$log.seeds" >&2
  fi
  mkdir -p "$work/$t.corpus"
  if ! (cd "$work" && "$exe" -max_total_time="$secs" -seed=1 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$work/$t-" "$work/$t.corpus" "$seeds" >"$log" 2>&1); then
    crashes=$((crashes + 1)); echo "fuzz_$t: crash:" >&2; grep -m1 -B2 -A12 "ERROR\|SUMMARY\|runtime error" "$log" || tail -20 "$log" >&2
    ls "$work"/"$t"-* >/dev/null 2>&1 && cp "$work"/"$t"-* "$here/" 2>/dev/null && echo "fuzz_$t: reproducer copied to $here/" >&2
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  printf '%-12s %10s %8s %s\n' "$t" "${execs:-?}" "$crashes" "$(ls "$seeds" | wc -l) seeds"
  [ "$crashes" -eq 0 ] || status=1
done
exit $status
