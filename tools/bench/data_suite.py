#!/usr/bin/python3
"""The data-path benchmark: the time to make one training patch, as a fraction of a training iteration
of the N4-style dense boundary net, both measured side by side in one run.

  tools/bench/data_suite.py [--build build] [--rounds 3] [--threads 2]

The iteration is represented by the sum of its convolution layers (forward, both gradients and the
update, `znn bench conv --pass all --algo auto`) and max-filters (forward and backward) at a 1x100x100
output patch: a lower bound of a whole iteration, so the fractions printed are upper bounds. Patch
times are the mean over many patches (`znn bench data`): augmentations are random, and their mean is
what the background loader spends. Rounds are interleaved; each figure is the median over rounds.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

# The N4-style dense net (the peer suite's c_n4_dense) at a 1x100x100 output: input 1x194x194.
# (maps in, size in, maps out, kernel, dilation)
N4_CONVS = [
    ("1,1,194,194", 48, "1,4,4", "1,1,1"),
    ("48,1,190,190", 48, "1,5,5", "1,2,2"),
    ("48,1,180,180", 48, "1,4,4", "1,4,4"),
    ("48,1,164,164", 48, "1,4,4", "1,8,8"),
    ("48,1,132,132", 200, "1,3,3", "1,16,16"),
    ("200,1,100,100", 3, "1,1,1", "1,1,1"),
]
# (maps and size in, dilation) of the 1x2x2 max-filters
N4_FILTERS = [("48,1,191,191", "1,1,1"), ("48,1,182,182", "1,2,2"), ("48,1,168,168", "1,4,4"), ("48,1,140,140", "1,8,8")]

PATCHES = {
    "2D 1x194x194 -> 1x100x100, boundary, every augmentation": ["--in", "1,194,194", "--out", "1,100,100", "--aug", "all"],
    "2D 1x194x194 -> 1x100x100, boundary, no augmentation": ["--in", "1,194,194", "--out", "1,100,100", "--aug", "none"],
    "3D 64^3 -> 32^3, affinity, every augmentation": ["--in", "64,64,64", "--out", "32,32,32", "--out-type", "affinity", "--aug", "all"],
}


def znn(build, args):
    p = subprocess.run([os.path.join(build, "src", "znn"), *args], capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"znn {' '.join(args)} failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def iteration_seconds(build, threads):
    total = 0.0
    for maps_in, maps_out, kernel, dilation in N4_CONVS:
        r = znn(build, ["bench", "conv", "--in", maps_in, "--out", str(maps_out), "--kernel", kernel, "--dilation", dilation,
                        "--algo", "auto", "--pass", "all", "--threads", str(threads), "--iters", "3"])
        total += r["median_s"]
    for maps_in, dilation in N4_FILTERS:
        for p in ("fwd", "bwd"):
            r = znn(build, ["bench", "pool", "--in", maps_in, "--window", "1,2,2", "--dilation", dilation, "--pass", p,
                            "--threads", str(threads), "--iters", "5"])
            total += r["median_s"]
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    iterations, patches = [], {name: [] for name in PATCHES}
    for _ in range(a.rounds):
        iterations.append(iteration_seconds(a.build, a.threads))
        for name, args in PATCHES.items():
            patches[name].append(znn(a.build, ["bench", "data", *args, "--iters", "100"])["mean_s"])
    it = statistics.median(iterations)
    print(f"N4 dense training iteration, output 1x100x100, {a.threads} threads (conv + max-filter layers): "
          f"{it * 1e3:.1f} ms (rounds: {', '.join(f'{x * 1e3:.1f}' for x in iterations)})\n")
    print("| patch | mean time per patch | fraction of the iteration |")
    print("|---|---|---|")
    for name, times in patches.items():
        t = statistics.median(times)
        print(f"| {name} | {t * 1e3:.3f} ms | {100 * t / it:.2f} % |")


if __name__ == "__main__":
    main()
