#!/usr/bin/python3
"""Plots a patch of a volume and the network's output over it, side by side (matplotlib).

usage: tools/python/plot_patch.py NET.h5 [--net jobs/quickstart/n4.znn] [--input data/test.h5:/volumes/raw]
                                         [--slice 0] [-o patch.png]

Runs Network.forward on one slice's window (the output patch plus the field of view) and draws the
input under the output patch beside the output's first channel (for a boundary net: the probability
of the inside of a cell).
"""
import argparse

import h5py
import matplotlib
import numpy as np

from _find_znn import ROOT, znn
from train_from_script import standardize

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("weights")
    ap.add_argument("--net", default=f"{ROOT}/jobs/quickstart/n4.znn")
    ap.add_argument("--input", default="data/test.h5:/volumes/raw")
    ap.add_argument("--slice", type=int, default=0)
    ap.add_argument("-o", "--output", default="patch.png")
    args = ap.parse_args()

    path, dataset = args.input.split(":", 1)
    with h5py.File(path, "r") as f:
        volume = standardize(f[dataset][...].astype(np.float32))
    net = znn.Network(args.net, args.weights, softmax=True)
    fz, fy, fx = net.fov
    x = np.ascontiguousarray(volume[None, args.slice:args.slice + fz])  # the whole slice: the output is its valid part
    y = net.forward(x)
    oy, ox = fy // 2, fx // 2
    shown = x[0, 0, oy:oy + y.shape[2], ox:ox + y.shape[3]]
    fig, axes = plt.subplots(1, 2, figsize=(10, 5))
    axes[0].imshow(shown, cmap="gray")
    axes[0].set_title(f"input, slice {args.slice}")
    im = axes[1].imshow(y[0, 0], cmap="viridis", vmin=0, vmax=1)
    axes[1].set_title("output channel 0")
    for a in axes:
        a.axis("off")
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    fig.tight_layout()
    fig.savefig(args.output, dpi=100)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
