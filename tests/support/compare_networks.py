#!/usr/bin/python3
"""Compares two network files dataset by dataset and attribute by attribute, with h5py.

usage: compare_networks.py A.h5 B.h5 [--tolerance T] [--ignore-config]

Every dataset must exist in both, with the same shape, dtype and values: bit for bit by default,
or within a relative tolerance T (|a - b| <= T * max(1, |b|)). What measures time, not training,
is skipped: the learning curve's seconds per iteration, voxels per second and elapsed seconds, and
the `elapsed`, `window_seconds` and `checkpoint_seconds` lines of the trainer state; with --ignore-config also the resolved configuration
(`znn_config`, which names the files of the run) and the build. Exit 0 when equal, 1 (with the
first differences) otherwise.
"""
import argparse
import sys

import h5py
import numpy as np

TIMING_DATASETS = (
    "/processing/znn/train/statistics/elapsed",
    "/processing/znn/train/znn_state/curve/train/elapsed",
    "/processing/znn/train/znn_state/curve/test/elapsed",
    "/processing/znn/train/znn_state/curve/train/voxels_per_second",
)
TIMING_TRAINER_KEYS = ("elapsed", "window_seconds", "checkpoint_seconds")


def datasets(f):
    out = {}

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            out["/" + name] = obj

    f.visititems(visit)
    return out


def trainer_state(text):
    kept = [line for line in text.splitlines() if line.split(" ")[0] not in TIMING_TRAINER_KEYS]
    return "\n".join(kept)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--tolerance", type=float, default=0.0)
    parser.add_argument("--ignore-config", action="store_true")
    args = parser.parse_args()
    problems = []
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        da, db = datasets(fa), datasets(fb)
        for name in sorted(set(da) ^ set(db)):
            problems.append(f"{name}: only in {'A' if name in da else 'B'}")
        compared = 0
        for name in sorted(set(da) & set(db)):
            if name in TIMING_DATASETS:
                continue
            a, b = da[name][()], db[name][()]
            compared += 1
            if isinstance(a, bytes) or a.dtype.kind in "SOU":
                if a != b:
                    problems.append(f"{name}: {a!r} != {b!r}")
                continue
            if a.shape != b.shape or a.dtype != b.dtype:
                problems.append(f"{name}: shape/dtype {a.shape} {a.dtype} != {b.shape} {b.dtype}")
                continue
            same_nan = np.isnan(a) == np.isnan(b) if a.dtype.kind == "f" else np.ones(a.shape, bool)
            if args.tolerance == 0:
                equal = np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
            else:
                ok = np.abs(a - b) <= args.tolerance * np.maximum(1.0, np.abs(b))
                equal = bool(np.all(np.where(np.isnan(a) & np.isnan(b), True, ok)) and np.all(same_nan))
            if not equal:
                diff = np.nanmax(np.abs(a.astype(np.float64) - b.astype(np.float64))) if a.size else 0
                problems.append(f"{name}: values differ (largest difference {diff:.3g})")
        skipped = {"znn_build"} | ({"znn_config"} if args.ignore_config else set())
        for key in sorted(set(fa.attrs) | set(fb.attrs)):
            if key in skipped:
                continue
            if key not in fa.attrs or key not in fb.attrs:
                problems.append(f"attribute {key}: only in {'A' if key in fa.attrs else 'B'}")
                continue
            va, vb = fa.attrs[key], fb.attrs[key]
            va = va.decode() if isinstance(va, bytes) else str(va)
            vb = vb.decode() if isinstance(vb, bytes) else str(vb)
            if key == "znn_trainer":
                va, vb = trainer_state(va), trainer_state(vb)
            if va != vb:
                problems.append(f"attribute {key}: {va!r} != {vb!r}")
    if compared == 0:
        problems.append("no dataset compared")
    for p in problems[:20]:
        print(p)
    if problems:
        print(f"{args.a} and {args.b} differ: {len(problems)} problem(s)")
        return 1
    print(f"equal: {compared} datasets")
    return 0


if __name__ == "__main__":
    sys.exit(main())
