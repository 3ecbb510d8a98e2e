#!/usr/bin/python3
"""Network files and the forward pass against an independent implementation (numpy, h5py).

1. `znn init` writes a network file; h5py must see the original ZNN's layout: one group per node
   and edge group, options as strings, `filters` of shape (N_in, N_out, s0, s1, s2), `biases`.
2. This script writes a network file the way the original did (float64, under the standard IO prefix,
   no znn attributes, each kernel block with the first .znn coordinate fastest), runs `znn apply`
   with it (direct and FFT convolution), and compares the output with a numpy forward pass of the
   same network written from the reference's formulas: true (flipped-kernel) valid convolution with
   taps spaced by the sparsity, max-filters, tanh and linear transfer functions.

usage: test_network_interop.py ZNN
"""
import os
import subprocess
import sys
import tempfile

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from numpy_net import conv, max_filter, to_original_order  # noqa: E402

ZNN = sys.argv[1]

NET = """
nodes input
type input
size 2

edges conv1
type conv
init xavier
size 2,3,3
input input
output hidden

nodes hidden
type transfer
function tanh
function_args 1.7159,0.6666
init uniform
size 3

edges pool
type max_filter
size 1,2,2
stride 1,2,2
input hidden
output pooled

nodes pooled
type sum
size 3

edges conv2
type conv
init xavier
size 1,2,3
input pooled
output output

nodes output
type transfer
function linear
size 2
"""

failures = 0


def check(ok, what):
    global failures
    print(("ok: " if ok else "FAIL: ") + what)
    if not ok:
        failures += 1


def run(*args):
    p = subprocess.run([ZNN, *args], capture_output=True, text=True)
    if p.returncode != 0:
        print(p.stdout, p.stderr)
    return p.returncode


with tempfile.TemporaryDirectory() as d:
    net = os.path.join(d, "tiny.znn")
    with open(net, "w") as f:
        f.write(NET)

    # 1. Our file, as the original lays it out.
    check(run("init", net, "--out", os.path.join(d, "init.h5"), "--seed", "3") == 0, "znn init")
    with h5py.File(os.path.join(d, "init.h5"), "r") as f:
        check(sorted(f.keys()) == ["conv1", "conv2", "hidden", "input", "output", "pool", "pooled"], "one group per node and edge group")
        check(f["conv1/filters"].shape == (2, 3, 2, 3, 3), "filters are (N_in, N_out, s0, s1, s2)")
        check(f["conv2/momentum_vol"].shape == (3, 2, 1, 2, 3), "momentum_vol has the filters' shape")
        check(f["hidden/biases"].shape == (3,), "biases are (N)")
        check(f["conv1/group_type"][()] == b"edge" and f["hidden/group_type"][()] == b"node", "group_type")
        check(f["hidden/function_args"][()] == b"1.7159,0.6666" and f["conv1/input"][()] == b"input", "options are strings as written")
        check(list(f["pool/stride"][()]) == [1, 2, 2] and list(f["output/size"][()]) == [2], "size and stride are integers")
        limit = np.sqrt(6.0 / (2 * 18 + 3 * 18))
        check(np.abs(f["conv1/filters"][()]).max() <= limit, "xavier values lie within their limit")

    # 2. A file written the original's way, applied to a volume.
    rng = np.random.default_rng(7)
    w1 = rng.normal(0, 0.3, (3, 2, 2, 3, 3))
    w2 = rng.normal(0, 0.3, (2, 3, 1, 2, 3))
    b1 = rng.normal(0, 0.1, 3)
    b2 = rng.normal(0, 0.1, 2)
    orig = os.path.join(d, "orig.h5")
    with h5py.File(orig, "w") as f:
        p = "/processing/znn/train/network/"
        for name, kind, opts in [("input", "node", {"type": "input"}), ("hidden", "node", {"type": "transfer", "function": "tanh"}),
                                 ("pooled", "node", {"type": "sum"}), ("output", "node", {"type": "transfer", "function": "linear"}),
                                 ("conv1", "edge", {"type": "conv"}), ("pool", "edge", {"type": "max_filter"}), ("conv2", "edge", {"type": "conv"})]:
            f[p + name + "/group_type"] = np.string_(kind)
            for k, v in opts.items():
                f[p + name + "/" + k] = np.string_(v)
        f[p + "conv1/filters"] = to_original_order(w1)
        f[p + "conv2/filters"] = to_original_order(w2)
        f[p + "hidden/biases"] = b1
        f[p + "output/biases"] = b2
    x = rng.normal(0, 1, (2, 4, 13, 14))
    with h5py.File(os.path.join(d, "in.h5"), "w") as f:
        f["main"] = x.astype(np.float32)

    h = 1.7159 * np.tanh(0.6666 * (conv(x.astype(np.float32).astype(np.float64), w1, (1, 1, 1)) + b1[:, None, None, None]))
    pooled = max_filter(h, (1, 2, 2), (1, 1, 1))
    expected = conv(pooled, w2, (1, 2, 2)) + b2[:, None, None, None]
    for algo in ["direct", "fft"]:
        out = os.path.join(d, "out_%s.h5" % algo)
        check(run("apply", net, "--weights", orig, "--input", os.path.join(d, "in.h5"), "--output", out, "--conv", algo) == 0, "znn apply --conv " + algo)
        with h5py.File(out, "r") as f:
            got = f["main"][()]
        check(got.shape == expected.shape, "output shape %s is input - field of view + 1 %s" % (got.shape, expected.shape))
        if got.shape == expected.shape:
            err = np.abs(got - expected).max() / np.abs(expected).max()
            check(err < 1e-5, "%s output matches numpy (relative error %.2g)" % (algo, err))

    # A file whose shapes do not match the .znn is refused, naming the dataset.
    bad = os.path.join(d, "bad.h5")
    with h5py.File(bad, "w") as f:
        for name in ["hidden", "output"]:
            f[name + "/biases"] = np.zeros(3 if name == "hidden" else 2)
        f["conv1/filters"] = np.zeros((2, 3, 2, 3, 3))
        f["conv2/filters"] = np.zeros((3, 2, 1, 3, 3))
    p = subprocess.run([ZNN, "apply", net, "--weights", bad, "--input", os.path.join(d, "in.h5"), "--output", os.path.join(d, "o.h5")],
                       capture_output=True, text=True)
    check(p.returncode == 2 and "bad.h5:/conv2/filters: shape (3, 2, 1, 3, 3) does not match the network's (3, 2, 1, 2, 3)" in p.stderr,
          "a mismatching network file is an input error naming the dataset")
    check(not os.path.exists(os.path.join(d, "o.h5")), "nothing is written after an error")

print("%d failure(s)" % failures)
sys.exit(1 if failures else 0)
