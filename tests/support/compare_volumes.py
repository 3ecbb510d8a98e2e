#!/usr/bin/python3
"""Compares the /main datasets of two HDF5 volumes as h5py reads them (independently of znn's reader).

usage: compare_volumes.py A.h5 B.h5 [--exact | --atol X] [--dataset /main] [--crop Z,Y,X]
  --exact   every value bit for bit (the default)
  --atol X  |a - b| <= X everywhere
Exit 0 when they match, 1 (with the largest difference and where) when not.
"""
import argparse
import sys

import h5py
import numpy as np


def main():
    p = argparse.ArgumentParser()
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--exact", action="store_true")
    p.add_argument("--atol", type=float)
    p.add_argument("--dataset", default="/main")
    p.add_argument("--dataset-b", default=None)
    args = p.parse_args()
    with h5py.File(args.a, "r") as fa, h5py.File(args.b, "r") as fb:
        a = fa[args.dataset][...]
        b = fb[args.dataset_b or args.dataset][...]
    if a.shape != b.shape:
        print(f"shapes differ: {a.shape} vs {b.shape}")
        return 1
    if a.dtype != b.dtype:
        print(f"types differ: {a.dtype} vs {b.dtype}")
        return 1
    if args.atol is None:
        same = np.array_equal(a.view(np.uint8), b.view(np.uint8))
        if same:
            return 0
        diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
        at = np.unravel_index(np.argmax(diff), diff.shape)
        print(f"not bit-identical: {np.count_nonzero(a != b)} values differ, largest {diff.max():.3g} at {at}")
        return 1
    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
    if not np.all(np.isfinite(a)) or not np.all(np.isfinite(b)):
        print("non-finite values")
        return 1
    if diff.max() <= args.atol:
        print(f"max |a - b| = {diff.max():.3g} <= {args.atol}")
        return 0
    at = np.unravel_index(np.argmax(diff), diff.shape)
    print(f"max |a - b| = {diff.max():.3g} > {args.atol} at {at}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
