#!/bin/sh
# --shard I/N: two shards, then the merge (--resume without --shard), equal the grid in one process, timings aside; bad --shard values exit 2.
# usage: test_shard.sh BUILD_DIR
set -u
build=$1
data=/usr/share/datasets/fashion-mnist
[ -d "$data" ] || { echo "$data missing (apt-get install dataset-fashion-mnist)"; exit 1; }
tmp=$(mktemp -d /tmp/igshard.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
lal="$build/apps/lal_cifar"
grid="--dataset fmnist --data $data --train-subset 400 --test-size 200 --k 20 --al-epochs 1 --train-epochs 1 --arch small
      --methods ds,rnd,lcs --seeds 1,2 --lr 1e-3 --threads 1"
"$lal" $grid --out "$tmp/one" >"$tmp/one.log" 2>&1 || { cat "$tmp/one.log"; echo "one-process grid failed"; exit 1; }
for i in 0 1; do
    "$lal" $grid --shard $i/2 --out "$tmp/sh" >"$tmp/sh$i.log" 2>&1 || { cat "$tmp/sh$i.log"; echo "shard $i/2 failed"; exit 1; }
done
ls "$tmp/sh"/run-*.json >/dev/null 2>&1 && { echo "a shard wrote reports"; exit 1; }
"$lal" $grid --resume --out "$tmp/sh" >"$tmp/merge.log" 2>&1 || { cat "$tmp/merge.log"; echo "merge failed"; exit 1; }
grep -q "train AL" "$tmp/merge.log" && { cat "$tmp/merge.log"; echo "the merge trained"; exit 1; }
# the merge reuses every run, so its JSONs say "resumed": true
python3 "$(dirname "$0")/mpi_compare.py" --ignore resumed "$tmp/one" "$tmp/sh" || exit 1
for bad in 2/2 -1/2 1 a/b 0/0; do
    "$lal" $grid --shard "$bad" --out "$tmp/bad" >"$tmp/bad.log" 2>&1
    rc=$?
    [ $rc = 2 ] && grep -q -- "--shard" "$tmp/bad.log" || { cat "$tmp/bad.log"; echo "--shard $bad: exit $rc, expected 2"; exit 1; }
done
echo "shards + merge equal one process; bad --shard values exit 2"
