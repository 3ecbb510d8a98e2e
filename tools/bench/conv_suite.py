#!/usr/bin/python3
"""The convolution-engine benchmark suite: every figure of the engine's speed targets, measured side by
side in one run on this machine, with the PyTorch peer and the machine anchors (FMA peak, triad).

  tools/bench/conv_suite.py [--build build] [--rounds 3] [--out results.jsonl]

Each case runs in its own process; rounds are interleaved (round 1 of every case, then round 2, ...)
so that slow moments of a shared host hit all cases alike, and each figure is the median over rounds
of the per-run median. Prints a Markdown table of the figures and the ratios the targets name.
Needs PyTorch for the peer (tools/install-deps --bench); without it the peer rows are skipped.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH = os.path.join(HERE, "torch_conv.py")

K7 = ["--in", "40,34,34,34", "--out", "40", "--kernel", "7,7,7"]
K5 = ["--in", "40,32,32,32", "--out", "40", "--kernel", "5,5,5"]
K3 = ["--in", "120,26,26,26", "--out", "120", "--kernel", "3,3,3"]

# name -> (program, arguments); program is "znn", "torch" or "anchor"
CASES = {}
for t in (1, 2):
    CASES[f"fft k7 t{t}"] = ("znn", ["bench", "conv", *K7, "--algo", "fft", "--pass", "all", "--threads", str(t), "--iters", "7"])
    CASES[f"direct k7 t{t}"] = ("znn", ["bench", "conv", *K7, "--algo", "direct", "--pass", "all", "--threads", str(t), "--iters", "3"])
    CASES[f"torch k7 t{t}"] = ("torch", [*K7, "--pass", "all", "--threads", str(t), "--iters", "3"])
    CASES[f"fft k5 t{t}"] = ("znn", ["bench", "conv", *K5, "--algo", "fft", "--pass", "all", "--threads", str(t), "--iters", "7"])
    CASES[f"torch k5 t{t}"] = ("torch", [*K5, "--pass", "all", "--threads", str(t), "--iters", "3"])
    CASES[f"direct k3 fwd t{t}"] = ("znn", ["bench", "conv", *K3, "--algo", "direct", "--pass", "fwd", "--threads", str(t), "--iters", "9"])
    CASES[f"torch k3 fwd t{t}"] = ("torch", [*K3, "--pass", "fwd", "--threads", str(t), "--iters", "9"])
    CASES[f"maxfilter 2d t{t}"] = ("znn", ["bench", "pool", "--in", "48,4,194,194", "--window", "1,2,2", "--threads", str(t), "--iters", "15"])
    CASES[f"maxfilter 3d t{t}"] = ("znn", ["bench", "pool", "--in", "24,30,122,124", "--window", "2,2,2", "--threads", str(t), "--iters", "11"])
    CASES[f"fma t{t}"] = ("anchor", ["fma", str(t)])
    CASES[f"triad t{t}"] = ("anchor", ["triad", str(t)])


def run(build, program, args, threads, extra_env=None):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), **(extra_env or {}))
    if program == "znn":
        cmd = [os.path.join(build, "src", "znn"), *args]
    elif program == "anchor":
        cmd = [os.path.join(build, "tools", "bench", "znn_anchors"), *args]
    else:
        cmd = ["/usr/bin/python3", TORCH, *args]
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(f"{' '.join(cmd)} failed:\n{p.stderr}\n")
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def value(rec):
    """The figure of a record: seconds for timings, GB/s or GFLOP/s for anchors and pools."""
    if "anchor" in rec:
        return rec["median"]
    if rec.get("bench") == "pool":
        return rec["gbytes_per_s"]
    return rec["median_s"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default="")
    a = ap.parse_args()
    try:
        import torch  # noqa: F401
        have_torch = True
    except ImportError:
        have_torch = False
        sys.stderr.write("PyTorch is missing (tools/install-deps --bench): peer rows skipped\n")

    results = {name: [] for name in CASES}
    records = []
    for r in range(a.rounds):
        for name, (program, args) in CASES.items():
            if program == "torch" and not have_torch:
                continue
            threads = int(name.rsplit("t", 1)[1])
            rec = run(a.build, program, args, threads)
            if rec is None:
                continue
            rec["case"], rec["round"] = name, r
            records.append(rec)
            results[name].append(value(rec))
            print(f"round {r + 1}/{a.rounds} {name}: {value(rec):.4g}", file=sys.stderr)
    if a.out:
        with open(a.out, "w") as f:
            for rec in records:
                f.write(json.dumps(rec) + "\n")

    med = {k: statistics.median(v) for k, v in results.items() if v}
    engine = {}
    for rec in records:
        if rec["case"].startswith("fft") and "engine" in rec:
            engine[rec["case"]] = rec["engine"]

    def ratio(a_, b_):
        return med[a_] / med[b_] if a_ in med and b_ in med else float("nan")

    print(f"\nMedians over {a.rounds} interleaved rounds (times in ms per iteration; one iteration of 'all' is a training step:")
    print("forward, both gradients, and a weight update).\n")
    print("| case | 1 thread | 2 threads |")
    print("|---|---|---|")
    for base in ["fft k7", "direct k7", "torch k7", "fft k5", "torch k5", "direct k3 fwd", "torch k3 fwd"]:
        cells = [f"{med[f'{base} t{t}'] * 1e3:.1f} ms" if f"{base} t{t}" in med else "-" for t in (1, 2)]
        print(f"| {base} | {cells[0]} | {cells[1]} |")
    for base, unit in [("maxfilter 2d", "GB/s"), ("maxfilter 3d", "GB/s"), ("fma", "GFLOP/s"), ("triad", "GB/s")]:
        cells = [f"{med[f'{base} t{t}']:.1f} {unit}" if f"{base} t{t}" in med else "-" for t in (1, 2)]
        print(f"| {base} | {cells[0]} | {cells[1]} |")
    flops_k3 = 2.0 * 120 * 120 * 27 * 24 ** 3
    print("\n| target | measured | required |")
    print("|---|---|---|")
    rows = [
        ("fft 7³ vs PyTorch, 2 threads", ratio("torch k7 t2", "fft k7 t2"), 12),
        ("fft 7³ vs our direct, 2 threads", ratio("direct k7 t2", "fft k7 t2"), 10),
        ("fft 5³ vs PyTorch, 2 threads", ratio("torch k5 t2", "fft k5 t2"), 5),
        ("direct 3³ fwd, 1 thread, share of FMA peak", flops_k3 / med.get("direct k3 fwd t1", float("nan")) / 1e9 / med.get("fma t1", float("nan")), 0.70),
        ("direct 3³ fwd vs PyTorch, 1 thread", ratio("torch k3 fwd t1", "direct k3 fwd t1"), None),
        ("fft 7³ 1 -> 2 threads", ratio("fft k7 t1", "fft k7 t2"), 1.8),
        ("fft 5³ 1 -> 2 threads", ratio("fft k5 t1", "fft k5 t2"), 1.8),
        ("direct 3³ fwd 1 -> 2 threads", ratio("direct k3 fwd t1", "direct k3 fwd t2"), 1.8),
        ("max-filter 1x2x2 (2D), share of triad, 2 threads", ratio("maxfilter 2d t2", "triad t2"), 0.5),
        ("max-filter 2x2x2 (3D), share of triad, 2 threads", ratio("maxfilter 3d t2", "triad t2"), 0.5),
    ]
    for label, got, need in rows:
        print(f"| {label} | {got:.2f} | {'' if need is None else f'>= {need}'} |")
    for case, desc in sorted(engine.items()):
        print(f"\n{case}: {desc}", end="")
    print()


if __name__ == "__main__":
    main()
