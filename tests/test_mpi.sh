#!/bin/sh
# MPI checks: the data-parallel suite on 2 ranks, then the grid on 2 ranks against one process; exit 77 (skipped) only when mpirun is absent.
# usage: test_mpi.sh BUILD_DIR
set -u
build=$1
command -v mpirun >/dev/null 2>&1 || { echo "mpirun not found: skipped"; exit 77; }
mpi="mpirun --allow-run-as-root --oversubscribe -np 2"
export OMP_NUM_THREADS=1
$mpi "$build/tests/test_mpi_dp" || { echo "test_mpi_dp failed on 2 ranks"; exit 1; }
echo "data-parallel suite passed on 2 ranks"

# the grid on 2 ranks equals the grid in one process, timings aside; each line-1 model is trained once
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "$data missing (apt-get install dataset-fashion-mnist)"; exit 1; }
tmp=$(mktemp -d /tmp/igmpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
lal="$build/apps/lal_cifar"
grid="--dataset fmnist --data $data --train-subset 400 --test-size 200 --k 20 --al-epochs 1 --train-epochs 1 --arch small
      --methods ds,rld,rnd,lcs --seeds 1,2 --lr 1e-3 --threads 1 --no-plots"
"$lal" $grid --out "$tmp/one" >"$tmp/one.log" 2>&1 || { cat "$tmp/one.log"; echo "one-process grid failed"; exit 1; }
$mpi "$lal" $grid --out "$tmp/two" >"$tmp/two.log" 2>&1 || { cat "$tmp/two.log"; echo "2-rank grid failed"; exit 1; }
# rank 0's closing line counts the line-1 models trained in the job: one per (fraction, seed)
grep -q "8 runs (0 finished before), 2 line-1 models trained" "$tmp/two.log" ||
    { cat "$tmp/two.log"; echo "2-rank grid: expected 8 runs and 2 line-1 models trained"; exit 1; }
[ "$(grep -c ' done: A ' "$tmp/two.log")" = 8 ] || { cat "$tmp/two.log"; echo "2-rank grid: not 8 units run"; exit 1; }
python3 "$(dirname "$0")/mpi_compare.py" "$tmp/one" "$tmp/two" || exit 1
echo "2-rank grid equals the one-process grid"
# the kept final models: one per unit, written by the rank that trained it, equal to the one-process models
for u in $(cd "$tmp/one" && ls run-*.json | sed 's/^run-//; s/\.json$//'); do
    cmp -s "$tmp/one/model-$u.safetensors" "$tmp/two/model-$u.safetensors" ||
        { ls "$tmp/two"; echo "2-rank grid: model-$u.safetensors missing or not the one-process model"; exit 1; }
done
left=$(find "$tmp/two" -name '.*igtmp*')
[ -z "$left" ] || { echo "2-rank grid: temporaries left: $left"; exit 1; }
echo "2-rank grid: the kept models equal the one-process models, no temporaries left"

# lal_cifar --data-parallel on 2 ranks: reports from rank 0, and both ranks hold the same run
# (rank 1 keeps its checkpoints in ckpt/rank1): selections and accuracies equal
dp="--dataset fmnist --data $data --train-subset 400 --test-size 200 --k 20 --al-epochs 1 --train-epochs 1 --arch small
    --methods ds,lcs --seeds 1 --lr 1e-3 --threads 1 --no-plots --data-parallel"
$mpi "$lal" $dp --out "$tmp/dp" >"$tmp/dp.log" 2>&1 || { cat "$tmp/dp.log"; echo "--data-parallel on 2 ranks failed"; exit 1; }
for m in ds lcs; do
    u=$m-f0.5-k20-s1
    [ -f "$tmp/dp/run-$u.json" ] || { ls "$tmp/dp"; echo "--data-parallel: no run-$u.json"; exit 1; }
    [ -f "$tmp/dp/model-$u.safetensors" ] || { ls "$tmp/dp"; echo "--data-parallel: no model-$u.safetensors"; exit 1; }
    python3 - "$tmp/dp/ckpt/$u.state.json" "$tmp/dp/ckpt/rank1/$u.state.json" <<'PY' || exit 1
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:])
diff = [k for k in ("done", "a0", "a", "li", "ui", "nli", "model_rng") if a.get(k) != b.get(k)]
if diff or not a.get("done"):
    sys.exit(f"{sys.argv[1]}: ranks 0 and 1 differ in {diff} (done {a.get('done')})")
PY
done
echo "--data-parallel: both ranks selected the same rows and reached the same accuracies"
# the blocking reduction (--dp-overlap off) gives the same runs bit for bit (2 ranks: the same two-number sums)
grep -q "gradient sums overlapped with the backward pass" "$tmp/dp.log" || { cat "$tmp/dp.log"; echo "--data-parallel: overlap not the default"; exit 1; }
$mpi "$lal" $dp --dp-overlap off --out "$tmp/dpb" >"$tmp/dpb.log" 2>&1 || { cat "$tmp/dpb.log"; echo "--dp-overlap off failed"; exit 1; }
grep -q "one gradient allreduce per step" "$tmp/dpb.log" || { cat "$tmp/dpb.log"; echo "--dp-overlap off: not blocking"; exit 1; }
python3 "$(dirname "$0")/mpi_compare.py" "$tmp/dp" "$tmp/dpb" || { echo "--dp-overlap off differs from on"; exit 1; }
echo "--data-parallel: blocking and overlapped reductions give the same runs"

# usage errors: exit 2 with the flag named
"$lal" --data-parallel --shard 0/2 >"$tmp/u.log" 2>&1
[ $? = 2 ] && grep -q -- "--data-parallel" "$tmp/u.log" || { cat "$tmp/u.log"; echo "--data-parallel --shard: expected exit 2"; exit 1; }
$mpi "$lal" $grid --shard 0/2 --out "$tmp/u" >"$tmp/u.log" 2>&1
[ $? = 2 ] && grep -q -- "--shard" "$tmp/u.log" || { cat "$tmp/u.log"; echo "--shard under mpirun: expected exit 2"; exit 1; }
echo "usage errors ok"
