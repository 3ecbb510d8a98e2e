#!/usr/bin/python3
"""`znn eval` against Debian's skimage + scipy on the same volumes, side by side in one run (median of
--rounds): a segmentation against ground truth (adapted Rand error and VOI), and an interior map and an
affinity map made into segmentations by thresholded connected components (scipy.ndimage.label and
scipy.sparse.csgraph.connected_components, then skimage's metrics); znn on 1 and 2 ranks.

  tools/bench/eval_suite.py [--build build] [--shape 32,512,512] [--rounds 3]

Prints one JSON line per case with seconds, voxels per second and the ratios.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np
import scipy.ndimage as ndi

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests/eval"))
import eval_reference as ref  # noqa: E402

MPI_ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1", OMPI_MCA_btl="self,vader")


def volumes(d, shape):
    rng = np.random.default_rng(3)
    z, y, x = shape
    cells = rng.integers(1, 1 << 30, (z // 4 + 1, y // 16 + 1, x // 16 + 1), dtype=np.int64)
    gt = np.kron(cells, np.ones((4, 16, 16), np.int64))[:z, :y, :x]
    border = np.zeros(shape, bool)
    border[:, ::16, :] = border[:, :, ::16] = True
    gt[border] = 0
    seg = gt.copy()
    seg[rng.random(shape) < 0.02] = 7
    inside = ndi.gaussian_filter((gt > 0).astype(np.float32), (0.5, 1, 1))
    p = np.clip(inside + rng.normal(0, 0.1, shape), 0, 1).astype(np.float32)
    aff = np.zeros((3,) + shape, np.float32)
    for a, axis in enumerate((2, 1, 0)):
        same = ((gt == np.roll(gt, 1, axis)) & (gt > 0)).astype(np.float32)
        aff[a] = np.clip(same + rng.normal(0, 0.2, shape), 0, 1)
    with h5py.File(f"{d}/gt.h5", "w") as f:
        f["main"] = gt.astype(np.uint64)
    with h5py.File(f"{d}/seg.h5", "w") as f:
        f["main"] = seg.astype(np.uint64)
    with h5py.File(f"{d}/map.h5", "w") as f:
        f["main"] = p[None]
    with h5py.File(f"{d}/aff.h5", "w") as f:
        f["main"] = aff


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--shape", default="32,512,512")
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    znn = os.path.join(a.build, "src/znn")
    shape = tuple(int(v) for v in a.shape.split(","))
    d = tempfile.mkdtemp(prefix="znn-eval-bench-")
    volumes(d, shape)
    cases = {
        "labels": ["--seg", f"{d}/seg.h5", "--gt", f"{d}/gt.h5"],
        "interior": ["--seg", f"{d}/map.h5", "--gt", f"{d}/gt.h5", "--threshold", "0.5"],
        "affinity": ["--seg", f"{d}/aff.h5", "--gt", f"{d}/gt.h5", "--threshold", "0.5"],
    }

    def python(case):
        gt = h5py.File(f"{d}/gt.h5")["main"][...].astype(np.int64)
        if case == "labels":
            seg = h5py.File(f"{d}/seg.h5")["main"][...].astype(np.int64)
        elif case == "interior":
            seg, _ = ndi.label(h5py.File(f"{d}/map.h5")["main"][0] > 0.5)
        else:
            seg = ref.affinity_components(h5py.File(f"{d}/aff.h5")["main"][...], 0.5)
        ref.reference(gt, seg)

    times = {c: {"znn_1": [], "znn_2": [], "python": []} for c in cases}
    for _ in range(a.rounds):
        for case, args in cases.items():
            times[case]["znn_1"].append(timed(lambda: subprocess.run([znn, "eval"] + args, check=True,
                                                                     capture_output=True)))
            times[case]["znn_2"].append(timed(lambda: subprocess.run(
                ["mpiexec", "-n", "2", "--oversubscribe", "--bind-to", "none", znn, "eval"] + args, check=True,
                capture_output=True, env=MPI_ENV)))
            times[case]["python"].append(timed(lambda: python(case)))
    voxels = int(np.prod(shape))
    for case, t in times.items():
        m = {k: statistics.median(v) for k, v in t.items()}
        print(json.dumps({"case": case, "shape": a.shape, "voxels": voxels,
                          **{f"{k}_s": round(v, 3) for k, v in m.items()},
                          "znn_1_mvoxel_s": round(voxels / m["znn_1"] / 1e6, 2),
                          "python_over_znn_1": round(m["python"] / m["znn_1"], 2),
                          "znn_1_over_znn_2": round(m["znn_1"] / m["znn_2"], 2)}))
    subprocess.run(["rm", "-rf", d])


if __name__ == "__main__":
    main()
