#!/usr/bin/python3
"""Two builds of znn side by side: the four reference nets (training steps, 1 and 2 threads) and the
convolution suite's znn cases, each run by build A and build B in the same round, rounds interleaved,
figures the median over rounds. For a change to the engine, A is the build before it.

  tools/bench/build_ab.py --a build-base --b build [--rounds 5] [--only nets|conv] [--cases REGEX]
  [--env-a K=V ...] [--env-b K=V ...]

Prints a Markdown table with each case's figure under A and B and the ratio B/A of the times (below 1:
B is faster; for the max-filter's GB/s the ratio is A/B, so that below 1 still means B is faster).
"""
import argparse
import os
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import conv_suite  # noqa: E402  (its cases and runner)
import net_suite  # noqa: E402

CASES = {}
for net, (outsz, _) in net_suite.NETS.items():
    for t in (1, 2):
        CASES[f"{net} train t{t}"] = ("znn", ["bench", "net", os.path.join(ROOT, "configs", "nets", net + ".znn"), "--outsz", outsz,
                                              "--mode", "train", "--threads", str(t), "--iters", "3"], t)
for name, (program, args) in conv_suite.CASES.items():
    if program == "znn":
        CASES[name] = (program, args, int(name.rsplit("t", 1)[1]))
# The FFT cases again at a fixed tile: the same transforms and products in both builds, whatever their
# per-process tile timing would pick (it picks between near-equal tiles, run to run).
for base, tile in (("fft k7", "14,14,14"), ("fft k5", "12,12,12")):
    for t in (1, 2):
        program, args = conv_suite.CASES[f"{base} t{t}"]
        CASES[f"{base} tile {tile.split(',')[0]} t{t}"] = (program, args + ["--fft-tile", tile], t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", required=True, help="the reference build directory")
    ap.add_argument("--b", required=True, help="the candidate build directory")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", choices=["nets", "conv"], default=None)
    ap.add_argument("--cases", default=None, help="only the cases whose name matches this regular expression")
    ap.add_argument("--env-a", nargs="*", default=[], help="environment variables (K=V) for build A's runs")
    ap.add_argument("--env-b", nargs="*", default=[], help="environment variables (K=V) for build B's runs")
    a = ap.parse_args()
    cases = {k: v for k, v in CASES.items() if a.only is None or (("train t" in k) == (a.only == "nets"))}
    if a.cases:
        cases = {k: v for k, v in cases.items() if re.search(a.cases, k)}
    env = {"A": dict(kv.split("=", 1) for kv in a.env_a), "B": dict(kv.split("=", 1) for kv in a.env_b)}
    results = {}
    for r in range(a.rounds):
        for name, (program, args, threads) in cases.items():
            order = (("A", a.a), ("B", a.b)) if r % 2 == 0 else (("B", a.b), ("A", a.a))
            for who, build in order:
                rec = conv_suite.run(build, program, args, threads, env[who])
                if rec:
                    results.setdefault((name, who), []).append(conv_suite.value(rec))
            print(f"round {r + 1}/{a.rounds} {name}", file=sys.stderr)

    envs = "".join(f"; {w} with {' '.join(a.env_a if w == 'A' else a.env_b)}" for w in "AB" if (a.env_a if w == "A" else a.env_b))
    print(f"\nMedians over {a.rounds} interleaved rounds; A = {a.a}, B = {a.b}{envs}.\n")
    print("| case | A | B | B/A (time) |")
    print("|---|---|---|---|")
    ratios = []
    for name in cases:
        va, vb = results.get((name, "A")), results.get((name, "B"))
        if not va or not vb:
            print(f"| {name} | - | - | - |")
            continue
        ma, mb = statistics.median(va), statistics.median(vb)
        rate = name.startswith("maxfilter")
        ratio = ma / mb if rate else mb / ma
        ratios.append(ratio)
        unit = (lambda v: f"{v:.2f} GB/s") if rate else (lambda v: f"{v * 1e3:.2f} ms")
        print(f"| {name} | {unit(ma)} | {unit(mb)} | {ratio:.3f} |")
    if ratios:
        print(f"\nGeometric mean of B/A: {statistics.geometric_mean(ratios):.3f}; worst {max(ratios):.3f}")


if __name__ == "__main__":
    main()
