#!/bin/sh
# bench_mpi.sh BUILD_DIR: the MPI figures of docs/SCALING.md as JSON lines: the paper CNN's allreduce and data-parallel step on 1 and 2 ranks, and the tiny grid on 1 rank x 2 threads against 2 ranks x 1 thread (same cores: overhead, not speed-up).
set -eu
build=${1:-build}
mpi="mpirun --allow-run-as-root --oversubscribe"
export OMP_NUM_THREADS=1
$mpi -np 1 "$build/bench/bench_mpi" 2
$mpi -np 2 "$build/bench/bench_mpi" 1
data=${IG_FMNIST_DIR:-/usr/share/datasets/fashion-mnist}
tmp=$(mktemp -d /tmp/igbench_mpi.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
grid="--dataset fmnist --data $data --train-subset 400 --test-size 200 --k 20 --al-epochs 1 --train-epochs 1 --arch small
      --methods ds,rld,rnd,lcs --seeds 1,2 --lr 1e-3 --quiet --no-plots"
now() { date +%s.%N; }
t0=$(now); OMP_NUM_THREADS=2 "$build/apps/lal_cifar" $grid --threads 2 --out "$tmp/one" >/dev/null 2>&1; t1=$(now)
$mpi -np 2 "$build/apps/lal_cifar" $grid --threads 1 --out "$tmp/two" >/dev/null 2>&1; t2=$(now)
python3 - "$t0" "$t1" "$t2" <<'PY'
import json, sys
t0, t1, t2 = map(float, sys.argv[1:])
one, two = t1 - t0, t2 - t1
for case, v, unit, threads in (("tiny_grid.ranks1x2threads", one, "s", 2), ("tiny_grid.ranks2x1thread", two, "s", 1),
                               ("tiny_grid.ranks2_over_ranks1", two / one, "1", 1)):
    print(json.dumps({"bench": "mpi", "case": case, "metric": "seconds" if unit == "s" else "ratio",
                      "value": round(v, 3), "unit": unit, "device": "cpu", "threads": threads, "runs": 1}))
PY
