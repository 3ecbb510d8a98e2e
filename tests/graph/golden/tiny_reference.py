#!/usr/bin/python3
"""The golden output of tests/graph/golden/tiny.znn, by an independent implementation (numpy, h5py).

The network's parameters are read from the network file `znn init tiny.znn --seed 5` writes (the
original ZNN's layout), its input is x[i] = sin(0.3 i) over the flat index of the input patch
(2 maps of 6,8,9 for an output patch of 2,3,4), and the forward pass follows the reference's
formulas: true (flipped-kernel) valid convolution with taps spaced by the sparsity, a max-filter that
makes its output sparse by its stride, rectify_linear and logistics transfer functions with biases.
The C++ test (test_network.cpp, GoldenOutputOfATinyNetwork) compares the double-precision network
with this file at 1e-12, the float ones at 1e-5; it never writes it.

usage: tiny_reference.py NET.h5 > tiny_output.txt      (writes the golden values)
       tiny_reference.py NET.h5 --check tiny_output.txt (exit 1 unless they agree to 1e-12)
"""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "support"))
from numpy_net import conv, from_original_order, max_filter  # noqa: E402


def main():
    with h5py.File(sys.argv[1], "r") as f:
        w1 = from_original_order(f["conv1/filters"][()].astype(np.float64))
        w2 = from_original_order(f["conv2/filters"][()].astype(np.float64))
        b_hidden = f["hidden/biases"][()].astype(np.float64)
        b_out = f["output/biases"][()].astype(np.float64)
    x = np.sin(0.3 * np.arange(2 * 6 * 8 * 9, dtype=np.float64)).reshape(2, 6, 8, 9)
    hidden = np.maximum(conv(x, w1, (1, 1, 1)) + b_hidden[:, None, None, None], 0.0)  # rectify_linear
    pooled = max_filter(hidden, (2, 2, 2), (1, 1, 1))                                  # dense input: taps 1 apart
    out = 1.0 / (1.0 + np.exp(-(conv(pooled, w2, (2, 2, 2)) + b_out[:, None, None, None])))  # logistics; sparsity 2
    assert out.shape == (3, 2, 3, 4), out.shape
    if len(sys.argv) == 4 and sys.argv[2] == "--check":
        golden = np.loadtxt(sys.argv[3])
        err = np.abs(golden - out.reshape(-1)).max() if golden.shape == (out.size,) else np.inf
        print("tiny_reference: %s agrees to %.3g" % (sys.argv[3], err))
        sys.exit(0 if err < 1e-12 else 1)
    for v in out.reshape(-1):
        print(repr(float(v)))


if __name__ == "__main__":
    main()
