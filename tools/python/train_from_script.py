#!/usr/bin/python3
"""Trains a network for a few iterations from a script: patches cut with numpy, one train_step each.

usage: tools/python/train_from_script.py [--iterations 400] [--out trained.h5] [--work DIR]

Generates synthetic EM-like data (`znn synth`), reads the image and its cell labels with h5py,
normalises the image per slice (as pp_types = standard2D does), and trains the original ZNN's N4
boundary net (jobs/quickstart/n4.znn) on random patches: the target of a boundary net is two
channels, the inside of a cell (label > 0) and its complement, under the output patch. Prints the
cost every 20 steps and writes the network file, which `znn forward`, znn.Network and the original
ZNN load.
"""
import argparse
import os
import subprocess
import time

import h5py
import numpy as np

from _find_znn import ROOT, znn, znn_binary


def standardize(volume):
    """Zero mean, unit deviation per slice (pp_types = standard2D)."""
    mean = volume.mean(axis=(1, 2), keepdims=True)
    std = volume.std(axis=(1, 2), keepdims=True)
    return ((volume - mean) / np.maximum(std, 1e-6)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--iterations", type=int, default=400)
    ap.add_argument("--out", default="trained.h5")
    ap.add_argument("--work", default=".", help="where the synthetic data goes (data/)")
    ap.add_argument("--patch", type=int, default=32, help="output patch side (y, x)")
    ap.add_argument("--threads", type=int, default=0)
    args = ap.parse_args()

    data = os.path.join(args.work, "data")
    if not os.path.exists(os.path.join(data, "train.h5")):
        subprocess.run([znn_binary(), "synth", "--out", data, "--shape", "4,192,192", "--seed", "1"], check=True,
                       stdout=subprocess.DEVNULL)
    with h5py.File(os.path.join(data, "train.h5"), "r") as f:
        image = standardize(f["volumes/raw"][...].astype(np.float32))
        labels = f["volumes/labels/neuron_ids"][...]

    net = znn.Network(os.path.join(ROOT, "jobs", "quickstart", "n4.znn"), threads=args.threads, conv="auto", seed=1)
    print(net)
    fov = np.array(net.fov)
    out = np.array([1, args.patch, args.patch])
    window = out + fov - 1
    rng = np.random.default_rng(1)
    start, costs = time.perf_counter(), []
    for it in range(1, args.iterations + 1):
        corner = [rng.integers(0, s - w + 1) for s, w in zip(image.shape, window)]
        x = image[tuple(slice(c, c + w) for c, w in zip(corner, window))]
        # The label under output voxel o is the one at the centre of its input window, o + fov // 2.
        lab = labels[tuple(slice(c + f // 2, c + f // 2 + o) for c, f, o in zip(corner, fov, out))]
        inside = (lab > 0).astype(np.float32)
        target = np.stack([inside, 1 - inside])
        if rng.random() < 0.5:  # a flip: the cheapest augmentation
            x, target = x[..., ::-1], target[..., ::-1]
        r = net.train_step(np.ascontiguousarray(x), np.ascontiguousarray(target), cost="softmax_loss", eta=0.01, momentum=0.9)
        costs.append(r["cost"])
        if it % 20 == 0 or it == args.iterations:
            rate = it / (time.perf_counter() - start)
            print(f"iteration {it}/{args.iterations}: cost {np.mean(costs[-20:]):.4f}, pixel error {r['pixel_error']:.3f}, "
                  f"{rate:.1f} it/s", flush=True)
    net.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
