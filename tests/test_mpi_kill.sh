#!/bin/sh
# A rank of a 2-rank grid killed (SIGKILL) after the first run finished: the job exits non-zero within 30 s, every JSON left is complete, and --resume in one process runs only the missing units and ends equal to the one-process grid; exit 77 (skipped) only when mpirun is absent.
# usage: test_mpi_kill.sh BUILD_DIR
set -u
build=$1
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
export OMP_NUM_THREADS=1
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "$data missing (apt-get install dataset-fashion-mnist)"; exit 1; }
tmp=$(mktemp -d /tmp/igmpikill.XXXXXX)
job=
# on any exit: the job (if still running) stopped through timeout, which passes the TERM on to mpirun
trap '[ -n "$job" ] && kill -TERM "$job" 2>/dev/null && wait "$job"; rm -rf "$tmp"' EXIT
lal="$build/apps/lal_cifar"
units=8
grid="--dataset fmnist --data $data --train-subset 400 --test-size 200 --k 20 --al-epochs 2 --train-epochs 1 --arch small
      --methods ds,rld,rnd,lcs --seeds 1,2 --lr 1e-3 --threads 1 --no-plots"
fail() { [ -f "$tmp/$1" ] && cat "$tmp/$1"; echo "$2"; exit 1; }
"$lal" $grid --out "$tmp/one" >"$tmp/one.log" 2>&1 || fail one.log "one-process grid failed"

timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$lal" $grid --out "$tmp/two" >"$tmp/two.log" 2>&1 &
job=$!
i=0
until ls "$tmp/two"/run-*.json >/dev/null 2>&1; do
    kill -0 "$job" 2>/dev/null || fail two.log "the 2-rank grid ended before a run finished"
    i=$((i + 1)); [ $i -le 4800 ] || fail two.log "no run finished within 240 s"
    sleep 0.05
done
# rank 1: the lal_cifar child of mpirun (timeout's child) whose environment says so
victim=
for p in $(pgrep -P "$(pgrep -P "$job")"); do
    tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$p
done
[ -n "$victim" ] || fail two.log "rank 1 not found among mpirun's children"
kill -KILL "$victim"
i=0
while kill -0 "$job" 2>/dev/null; do
    i=$((i + 1)); [ $i -le 300 ] || fail two.log "mpirun still running 30 s after rank 1 was killed"
    sleep 0.1
done
wait "$job"; rc=$?; job=
[ "$rc" -ne 0 ] || fail two.log "mpirun exited 0 after a rank was killed"
echo "rank 1 killed: mpirun exited $rc within $((i / 10)) s"

# what the kill left: complete JSON files only (a temporary of an interrupted write may remain; --resume removes it)
done_units=$(python3 - "$tmp/two" <<'PY'
import glob, json, os, sys
d = sys.argv[1]
for p in glob.glob(os.path.join(d, "**", "*.json"), recursive=True):
    try:
        json.load(open(p))
    except ValueError as e:
        sys.exit(f"{p}: not complete JSON after the kill: {e}")
states = glob.glob(os.path.join(d, "ckpt", "*.state.json"))
print(sum(1 for p in states if json.load(open(p)).get("done")))
PY
) || exit 1
runs=$(ls "$tmp/two"/run-*.json | wc -l)
left=$(find "$tmp/two" -name '.*.igtmp.*' | wc -l)
echo "after the kill: $runs run files, $done_units units finished, $left temporaries, all JSON complete"
[ "$done_units" -ge "$runs" ] && [ "$done_units" -lt "$units" ] ||
    fail two.log "expected 1..$((units - 1)) finished units, at least the $runs run files; got $done_units"

# --resume without MPI: the finished units reused, only the others run, no line-1 model trained again
"$lal" $grid --out "$tmp/two" --resume >"$tmp/resume.log" 2>&1 || fail resume.log "--resume after the kill failed"
grep -q "$units runs ($done_units finished before), 0 line-1 models trained" "$tmp/resume.log" ||
    fail resume.log "--resume: expected $units runs ($done_units finished before), 0 line-1 models trained"
ran=$(grep "^lal_cifar: \[[0-9]*/$units\] " "$tmp/resume.log" | grep -vc "(finished before)$")
[ "$ran" = $((units - done_units)) ] || fail resume.log "--resume ran $ran units, expected $((units - done_units))"
left=$(find "$tmp/two" -name '.*.igtmp.*')
[ -z "$left" ] || fail resume.log "temporaries left after --resume: $left"
# equal to the one-process grid; resumed / line1_trained tell this folder's history and differ by design
python3 "$(dirname "$0")/mpi_compare.py" --ignore resumed --ignore line1_trained "$tmp/one" "$tmp/two" || exit 1
for f in "$tmp"/one/model-*.safetensors; do
    cmp -s "$f" "$tmp/two/${f##*/}" || fail resume.log "${f##*/}: missing or not the one-process model after --resume"
done
echo "--resume ran the $ran missing units; the grid equals the one-process grid"
