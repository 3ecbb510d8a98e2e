#!/usr/bin/python3
"""Independent scores for `znn eval`, from Debian's skimage and scipy, compared with znn's JSON lines.

usage: eval_reference.py make DIR                 writes the test volumes
       eval_reference.py check CASE RESULTS.jsonl [args]  compares znn's results with the reference
       eval_reference.py check job RESULTS.jsonl OUT.h5 GT MASK THRESHOLDS   (one sample of a job)

Reference: skimage.metrics.adapted_rand_error (pair counts; skimage 0.19 returns precision and recall
the other way round from its own documentation, so they are compared swapped) and
variation_of_information(gt, seg, ignore_labels=[0]) = (split, merge); CREMI's adapted Rand from its
published formula (squared counts, c/n for segmentation label 0), written here with numpy; connected
components by scipy.ndimage.label (6-connectivity) and, for affinities, scipy.sparse.csgraph.
"""
import json
import sys

import h5py
import numpy as np
import scipy.ndimage as ndi
import scipy.sparse as sp
import tifffile
from scipy.sparse.csgraph import connected_components
from skimage.metrics import adapted_rand_error, variation_of_information

SHAPE = (9, 40, 44)


def cells(rng, shape, n):
    """A Voronoi-like label volume with 0 on the borders between cells."""
    seeds = np.stack([rng.integers(0, s, n) for s in shape], 1)
    grid = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), -1).reshape(-1, 3)
    d = ((grid[:, None, :] - seeds[None]) ** 2 * np.array([16, 1, 1])).sum(-1)
    lab = (np.argmin(d, 1) + 1).reshape(shape).astype(np.uint32)
    edge = np.zeros(shape, bool)
    for a in range(3):
        sl = [slice(None)] * 3
        sl[a] = slice(1, None)
        sl2 = [slice(None)] * 3
        sl2[a] = slice(None, -1)
        diff = lab[tuple(sl)] != lab[tuple(sl2)]
        edge[tuple(sl)] |= diff
    lab[edge] = 0
    return lab


def make(d):
    rng = np.random.default_rng(5)
    gt = cells(rng, SHAPE, 30)
    tifffile.imwrite(f"{d}/gt.tif", gt)
    mask = np.ones(SHAPE, np.uint8)
    mask[:, :, :6] = 0
    tifffile.imwrite(f"{d}/mask.tif", mask)
    seg = cells(np.random.default_rng(5), SHAPE, 30).astype(np.uint64) * 3  # the same cells, other ids...
    seg[rng.random(SHAPE) < 0.05] = 7  # ...with noise
    seg[2:4] = np.where(seg[2:4] > 0, seg[2:4] % 9, 0)  # and merges in two sections
    with h5py.File(f"{d}/seg.h5", "w") as f:
        f["volumes/seg"] = seg
    # interior probability (channel 1 of a 2-channel map): high inside cells, low on borders, noisy
    inside = (gt > 0).astype(np.float32)
    p = np.clip(ndi.gaussian_filter(inside, (0.4, 1, 1)) + rng.normal(0, 0.15, SHAPE), 0, 1).astype(np.float32)
    with h5py.File(f"{d}/map.h5", "w") as f:
        f["main"] = np.stack([1 - p, p])
    with h5py.File(f"{d}/map8.h5", "w") as f:
        f["main"] = np.round(255 * p)[None].astype(np.uint8)
    # affinities x, y, z: edge v -- v - e_a inside one cell, noisy
    aff = np.zeros((3,) + SHAPE, np.float32)
    for a, axis in enumerate((2, 1, 0)):
        prev = np.roll(gt, 1, axis)
        same = ((gt == prev) & (gt > 0)).astype(np.float32)
        aff[a] = np.clip(same + rng.normal(0, 0.25, SHAPE), 0, 1)
    with h5py.File(f"{d}/aff.h5", "w") as f:
        f["main"] = aff
    # a smaller map, centre-aligned with the ground truth
    with h5py.File(f"{d}/small.h5", "w") as f:
        f["main"] = p[None, 1:8, 3:37, 2:42]


def cremi(gt, seg):
    """CREMI's adapted Rand error from its published formula; gt 0 not scored, seg 0 singletons."""
    n = gt.size
    keep = gt > 0
    g, s = gt[keep].astype(np.int64), seg[keep].astype(np.int64)
    _, gi = np.unique(g, return_inverse=True)
    su, si = np.unique(s, return_inverse=True)
    p = sp.coo_matrix((np.ones(g.size), (gi, si))).tocsr()
    a = np.asarray(p.sum(1)).ravel()
    zero = np.where(su == 0)[0]
    c = float(p[:, zero[0]].sum()) if zero.size else 0.0
    nz = np.ones(su.size, bool)
    nz[zero] = False
    b = p[:, nz]
    bj = np.asarray(b.sum(0)).ravel()
    sum_a = (a * a).sum()
    sum_b = (bj * bj).sum() + c / n
    sum_ab = b.multiply(b).sum() + c / n
    prec, rec = sum_ab / sum_b, sum_ab / sum_a
    return 1 - 2 * prec * rec / (prec + rec), prec, rec


def affinity_components(aff, t):
    z, y, x = aff.shape[1:]
    idx = np.arange(z * y * x).reshape(z, y, x)
    rows, cols = [], []
    for a, axis in enumerate((2, 1, 0)):
        sl = [slice(None)] * 3
        sl[axis] = slice(1, None)
        sl2 = [slice(None)] * 3
        sl2[axis] = slice(None, -1)
        e = aff[a][tuple(sl)] > t
        rows.append(idx[tuple(sl)][e])
        cols.append(idx[tuple(sl2)][e])
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    g = sp.coo_matrix((np.ones(rows.size), (rows, cols)), shape=(idx.size, idx.size))
    _, lab = connected_components(g, directed=False)
    lab = lab + 1
    has = np.zeros(idx.size, bool)
    has[rows] = has[cols] = True
    lab[~has] = 0
    return lab.reshape(z, y, x)


def reference(gt, seg):
    are, p_sk, r_sk = adapted_rand_error(gt, seg)
    split, merge = variation_of_information(gt, seg, ignore_labels=[0])
    ce, cp, cr = cremi(gt, seg)
    return {"rand_error": are, "rand_precision": r_sk, "rand_recall": p_sk, "voi_split": split,
            "voi_merge": merge, "cremi_rand_error": ce, "cremi_precision": cp, "cremi_recall": cr,
            "voxels": int((gt > 0).sum())}


def read(address):
    if ".h5:" in address:
        path, ds = address.split(".h5:", 1)
        return h5py.File(path + ".h5")[ds][...]
    return tifffile.imread(address)


def check(case, results, extra):
    d = "."
    gt = tifffile.imread(f"{d}/gt.tif").astype(np.int64)
    mask = tifffile.imread(f"{d}/mask.tif") > 0
    rows = [json.loads(line) for line in open(results) if line.startswith("{")]
    expected = []
    if case == "labels":
        seg = h5py.File(f"{d}/seg.h5")["volumes/seg"][...].astype(np.int64)
        expected.append(reference(gt[mask], seg[mask]))
    elif case in ("interior", "interior8", "planar"):
        p = h5py.File(f"{d}/map.h5")["main"][1] if case != "interior8" else h5py.File(f"{d}/map8.h5")["main"][0] / 255.0
        for t in map(float, extra[0].split(",")):
            if case == "planar":
                lab = np.zeros(p.shape, np.int64)
                for z in range(p.shape[0]):
                    l, _ = ndi.label(p[z] > t)
                    lab[z] = np.where(l > 0, l + 100000 * (z + 1), 0)
            else:
                lab, _ = ndi.label(p > t)
            expected.append(reference(gt, lab))
    elif case == "affinity":
        aff = h5py.File(f"{d}/aff.h5")["main"][...]
        for t in map(float, extra[0].split(",")):
            expected.append(reference(gt, affinity_components(aff, t)))
    elif case == "job":
        out, gt_addr, mask_addr, ts = extra
        p = h5py.File(out)["main"][0]
        gt, mask = read(gt_addr).astype(np.int64), read(mask_addr) > 0
        for t in map(float, ts.split(",")):
            lab, _ = ndi.label(p > t)
            expected.append(reference(gt[mask], lab[mask]))
    elif case == "centred":
        p = h5py.File(f"{d}/small.h5")["main"][0]
        lab, _ = ndi.label(p > 0.5)
        expected.append(reference(gt[1:8, 3:37, 2:42], lab))
    else:
        sys.exit(f"unknown case {case}")
    if len(rows) != len(expected):
        sys.exit(f"{len(rows)} results, expected {len(expected)}")
    worst = 0.0
    for got, want in zip(rows, expected):
        if got["voxels"] != want["voxels"]:
            sys.exit(f"voxels {got['voxels']} != {want['voxels']}")
        for k, v in want.items():
            if k == "voxels":
                continue
            err = abs(got[k] - v)
            worst = max(worst, err)
            if not err <= 1e-9 * max(1.0, abs(v)):
                sys.exit(f"threshold {got['threshold']}: {k} {got[k]!r} != reference {v!r}")
    print(f"{len(rows)} result(s) equal skimage/scipy/CREMI within {worst:.1e}")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        check(sys.argv[2], sys.argv[3], sys.argv[4:])
