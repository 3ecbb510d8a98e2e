#!/bin/bash
# znn.train with an mpi4py communicator at 2 ranks equals `mpirun -n 2 znn train` (tests/python/test_mpi.py).
# Usage: test_mpi.sh ZNN PYTHON_DIR SOURCE_DIR MPIEXEC
set -u
znn=$1 python_dir=$2 src=$3 mpiexec=$4
source "$src/tests/support/cli_checks.sh"
"$znn" synth --out data --shape 6,48,48 --seed 2 >/dev/null 2>&1 || fail "znn synth"
for prefix in cli py; do
    sed -e "s|{net}|$src/tests/train/tiny_boundary.znn|" -e "s|{prefix}|$prefix|g" "$src/tests/python/tiny_job.cfg.in" > $prefix.cfg
done
mpi=("$mpiexec" -n 2 --oversubscribe --bind-to none)
expect 0 "done: iteration 20 of 20" "${mpi[@]}" "$znn" train -c cli.cfg --threads 1
expect 0 "^PASS$" "${mpi[@]}" /usr/bin/python3 "$src/tests/python/test_mpi.py" "$znn" "$python_dir" "$src" "$PWD"
finish
