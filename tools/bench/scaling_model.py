#!/usr/bin/python3
"""A model of data-parallel training efficiency at 2-1024 MPI ranks, from a measured training step
and a network's gradient bytes, for a stated interconnect.

  tools/bench/scaling_model.py --net configs/nets/N4.znn --outsz 1,100,100 --step 0.130 [--speedup 1,16]
                               [--bandwidth 12e9] [--latency 2e-6] [--memory 10e9]

Per iteration every rank computes for `step` seconds (measured: tools/bench/train_suite.py) and then
averages its gradients, N bytes (4 per parameter; `znn info` counts them), with a ring all-reduce,
bandwidth-optimal for large messages:

    T(p) = 2 (p-1)/p · N/B  +  2 (p-1) · α  +  (p-1)/p · N/B_mem      (the last term: the local sums)

plus one all-reduce of the iteration's sums and flags (88 bytes: latency only, 2·log2(p)·α). B is the
link's bandwidth (default 12 GB/s: 100 Gb/s InfiniBand EDR/HDR100), α the latency of one message
(default 2 µs), B_mem a core's memory bandwidth for the sums (default 10 GB/s). Efficiency is
step / (step + T): no overlap with backward, so a lower bound. `--speedup` divides the step for
nodes that many times faster than the 2 cores measured (a node with 32× the cores computes the same
patch maybe 16× faster), which makes communication weigh that much more. Stragglers, OS jitter and
the ranks' share of the filesystem are not in the model.
"""
import argparse
import math
import os
import re
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def parameters(znn, net, outsz):
    out = subprocess.run([znn, "info", net, "--outsz", outsz], capture_output=True, text=True, check=True).stdout
    return int(re.search(r"parameters\s+(\d+)", out).group(1))


def allreduce_seconds(p, n_bytes, bandwidth, latency, memory):
    if p == 1:
        return 0.0
    ring = 2 * (p - 1) / p * n_bytes / bandwidth + 2 * (p - 1) * latency + (p - 1) / p * n_bytes / memory
    sums = 2 * math.log2(p) * latency
    return ring + sums


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--net", required=True)
    parser.add_argument("--outsz", required=True)
    parser.add_argument("--step", type=float, required=True, help="measured seconds of one training step")
    parser.add_argument("--speedup", default="1,16", help="nodes this many times faster than the measurement")
    parser.add_argument("--bandwidth", type=float, default=12e9)
    parser.add_argument("--latency", type=float, default=2e-6)
    parser.add_argument("--memory", type=float, default=10e9)
    args = parser.parse_args()
    n = parameters(os.path.join(args.build, "src", "znn"), args.net, args.outsz)
    n_bytes = 4 * n
    speedups = [float(s) for s in args.speedup.split(",")]
    print(f"{os.path.basename(args.net)} at {args.outsz}: {n} parameters, {n_bytes / 1e6:.2f} MB of gradients; step {args.step * 1e3:.1f} ms "
          f"measured; B = {args.bandwidth / 1e9:g} GB/s, α = {args.latency * 1e6:g} µs, B_mem = {args.memory / 1e9:g} GB/s\n")
    print("| ranks | all-reduce | " + " | ".join(f"efficiency, node {s:g}x" for s in speedups) + " |")
    print("|---|---|" + "---|" * len(speedups))
    for p in (2, 4, 8, 16, 32, 64, 128, 256, 512, 1024):
        t = allreduce_seconds(p, n_bytes, args.bandwidth, args.latency, args.memory)
        effs = [(args.step / s) / (args.step / s + t) for s in speedups]
        print(f"| {p} | {t * 1e3:.2f} ms | " + " | ".join(f"{100 * e:.1f}%" for e in effs) + " |")


if __name__ == "__main__":
    main()
