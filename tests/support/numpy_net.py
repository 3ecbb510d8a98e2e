"""The reference's formulas in numpy, shared by the tests that check znn's networks against them:
true (flipped-kernel) valid convolution with taps spaced by the sparsity, max-filters, and the kernel
layout of the original's network files."""
import numpy as np


def conv(x, w, s):
    """Valid true convolution: out[o](p) = sum_i sum_k x[i](p + (K-1-k) s) w[o][i](k)."""
    n_out, n_in, kz, ky, kx = w.shape
    oz, oy, ox = x.shape[1] - (kz - 1) * s[0], x.shape[2] - (ky - 1) * s[1], x.shape[3] - (kx - 1) * s[2]
    out = np.zeros((n_out, oz, oy, ox))
    for o in range(n_out):
        for i in range(n_in):
            for a in range(kz):
                for b in range(ky):
                    for c in range(kx):
                        za, yb, xc = (kz - 1 - a) * s[0], (ky - 1 - b) * s[1], (kx - 1 - c) * s[2]
                        out[o] += w[o, i, a, b, c] * x[i, za:za + oz, yb:yb + oy, xc:xc + ox]
    return out


def max_filter(x, window, s):
    """Max over windows of taps s apart (a dense sliding window)."""
    wz, wy, wx = window
    oz, oy, ox = x.shape[1] - (wz - 1) * s[0], x.shape[2] - (wy - 1) * s[1], x.shape[3] - (wx - 1) * s[2]
    out = np.full((x.shape[0], oz, oy, ox), -np.inf)
    for a in range(wz):
        for b in range(wy):
            for c in range(wx):
                out = np.maximum(out, x[:, a * s[0]:a * s[0] + oz, b * s[1]:b * s[1] + oy, c * s[2]:c * s[2] + ox])
    return out


def to_original_order(w):
    """Kernels w[o][i](z, y, x) as the original stores them: (N_in, N_out, s0, s1, s2) holding, in each
    block, the flat values with the first .znn coordinate fastest."""
    n_out, n_in, kz, ky, kx = w.shape
    f = np.zeros((n_in, n_out, kz, ky, kx))
    for i in range(n_in):
        for o in range(n_out):
            f[i, o] = w[o, i].transpose(2, 1, 0).reshape(-1).reshape(kz, ky, kx)
    return f


def from_original_order(f):
    """The inverse of to_original_order."""
    n_in, n_out, kz, ky, kx = f.shape
    w = np.zeros((n_out, n_in, kz, ky, kx))
    for i in range(n_in):
        for o in range(n_out):
            w[o, i] = f[i, o].reshape(-1).reshape(kx, ky, kz).transpose(2, 1, 0)
    return w
