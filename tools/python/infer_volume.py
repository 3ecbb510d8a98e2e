#!/usr/bin/python3
"""Runs inference over a whole numpy volume and writes the result as HDF5 (h5py, Fiji and znn open it).

usage: tools/python/infer_volume.py NET.h5 [--net jobs/quickstart/n4.znn] [--input data/test.h5:/volumes/raw]
                                           [--output boundary.h5] [--block 4,64,64]

Reads the volume into numpy, normalises it per slice (as the net was trained), and runs
Network.predict over it: block by block on the grid `znn forward` uses, mirrored at the borders so
the output is as large as the input, the softmax of a boundary net's two channels. The output is
(channels, z, y, x) float32 in /main.
"""
import argparse
import time

import h5py
import numpy as np

from _find_znn import ROOT, znn
from train_from_script import standardize


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights")
    ap.add_argument("--net", default=f"{ROOT}/jobs/quickstart/n4.znn")
    ap.add_argument("--input", default="data/test.h5:/volumes/raw", help="file.h5:/dataset")
    ap.add_argument("--output", default="boundary.h5")
    ap.add_argument("--block", default=None, help="output block z,y,x (default: chosen by memory)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    path, dataset = args.input.split(":", 1)
    with h5py.File(path, "r") as f:
        volume = standardize(f[dataset][...].astype(np.float32))
    net = znn.Network(args.net, args.weights, threads=args.threads, softmax=True)
    block = tuple(int(v) for v in args.block.split(",")) if args.block else None
    start = time.perf_counter()
    result = net.predict(volume, block=block, mirror=True)
    seconds = time.perf_counter() - start
    print(f"{volume.shape} -> {result.shape} in {seconds:.2f} s ({result[0].size / seconds / 1e6:.2f} Mvoxel/s)")
    with h5py.File(args.output, "w") as f:
        f.create_dataset("main", data=result, chunks=True, compression="gzip")
    print(f"wrote {args.output}:/main")


if __name__ == "__main__":
    main()
