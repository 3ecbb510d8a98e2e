#!/bin/bash
# Runs an MPI test binary at N ranks and fails unless it exited 0 AND all N ranks reported in.
# usage: run_mpi_test.sh MPIEXEC N BINARY [ARGS...]
set -u
mpiexec=$1; n=$2; shift 2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$mpiexec" -n "$n" --oversubscribe --bind-to none "$@" "--expect-ranks=$n" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" -ne 0 ]; then
    echo "run_mpi_test: $mpiexec -n $n exited with $rc"
    exit "$rc"
fi
if ! grep -q "ZNN_TEST_RANKS_OK ran=$n\$" "$out"; then
    echo "run_mpi_test: the $n ranks did not all run (no 'ZNN_TEST_RANKS_OK ran=$n' line); did mpiexec start anything?"
    exit 1
fi
