#!/usr/bin/python3
"""znn.train under MPI through mpi4py: the same training as `mpirun -n 2 znn train`, bit for bit.

  mpiexec -n 2 /usr/bin/python3 test_mpi.py ZNN PYTHON_DIR SOURCE_DIR WORK_DIR

mpi4py initialises MPI (znn never does it again); both ranks pass MPI.COMM_WORLD. Rank 0 then compares
the network file with the one the command line wrote (WORK_DIR/cli, made by the caller).
"""
import os
import subprocess
import sys

from mpi4py import MPI

ZNN, PYTHON_DIR, SOURCE, WORK = (os.path.abspath(a) for a in sys.argv[1:5])
sys.path.insert(0, PYTHON_DIR)
import znn  # noqa: E402

comm = MPI.COMM_WORLD
os.chdir(WORK)
r = znn.train("py.cfg", comm=comm, threads=1, log_level="warn")
ok = r["outcome"] == "finished" and r["iteration"] == 20
comm.Barrier()
if comm.rank == 0:
    p = subprocess.run(["/usr/bin/python3", os.path.join(SOURCE, "tests", "support", "compare_networks.py"), "cli/net_20.h5",
                        "py/net_20.h5", "--ignore-config"], capture_output=True, text=True)
    ok = ok and p.returncode == 0
    print(("same network file as mpirun -n 2 znn train" if p.returncode == 0 else "DIFFERENT:\n" + p.stdout + p.stderr), flush=True)
ok = comm.allreduce(ok, op=MPI.LAND)
if comm.rank == 0:
    print("PASS" if ok else "FAIL", flush=True)
sys.exit(0 if ok else 1)
