#!/usr/bin/python3
"""The network benchmark suite: whole-network training steps of the four reference nets, znn against
PyTorch (tools/bench/torch_net.py) on the same network, patch and threads, side by side in one run.

  tools/bench/net_suite.py [--build build] [--rounds 3] [--mode train|forward]

Each case runs in its own process; rounds are interleaved so that slow moments of a shared host hit
all cases alike; each figure is the median over rounds. Prints the times, the ratios the targets
name, 1 -> 2 thread scaling, and znn's bookkeeping share (time outside every group's work).
Needs PyTorch (tools/install-deps --bench) for the peer rows.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

# net -> (output patch, required speedup over PyTorch at 2 threads)
NETS = {
    "k7w40": ("16,16,16", 8.0),
    "k5w40": ("16,16,16", 4.0),
    "N4_A": ("4,64,64", 2.0),
    "wide_k3w120": ("24,24,24", 0.9),
}


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mode", default="train", choices=["train", "forward"])
    a = ap.parse_args()
    znn = os.path.join(a.build, "src", "znn")
    results = {}
    for r in range(a.rounds):
        for net, (outsz, _) in NETS.items():
            for t in (1, 2):
                z = run([znn, "bench", "net", os.path.join(ROOT, "configs", "nets", net + ".znn"), "--outsz", outsz, "--mode", a.mode,
                         "--threads", str(t), "--iters", "3"], t)
                p = run(["/usr/bin/python3", os.path.join(HERE, "torch_net.py"), "--net", net, "--outsz", outsz, "--mode",
                         "train" if a.mode == "train" else "forward", "--threads", str(t), "--iters", "3"], t)
                for who, rec in (("znn", z), ("torch", p)):
                    if rec:
                        results.setdefault((net, who, t), []).append(rec)
                        print(f"round {r + 1}/{a.rounds} {net} {who} t{t}: {rec['median_s'] * 1e3:.1f} ms", file=sys.stderr)

    def med(net, who, t, key="median_s"):
        recs = results.get((net, who, t))
        return statistics.median(r[key] for r in recs) if recs else None

    print(f"\nMedians over {a.rounds} interleaved rounds, {a.mode} (ms per iteration, batch 1).\n")
    print("| net | output | znn 1 thread | znn 2 threads | PyTorch 1 thread | PyTorch 2 threads | znn / PyTorch, 2 threads (required) | "
          "znn 1 -> 2 threads | bookkeeping |")
    print("|---|---|---|---|---|---|---|---|---|")
    for net, (outsz, required) in NETS.items():
        z1, z2, p1, p2 = med(net, "znn", 1), med(net, "znn", 2), med(net, "torch", 1), med(net, "torch", 2)
        fmt = lambda v: f"{v * 1e3:.1f}" if v else "-"
        ratio = f"{p2 / z2:.2f} (>= {required})" if p2 and z2 else "-"
        scale = f"{z1 / z2:.2f}" if z1 and z2 else "-"
        book = med(net, "znn", 2, "bookkeeping_fraction")
        print(f"| {net} | {outsz} | {fmt(z1)} | {fmt(z2)} | {fmt(p1)} | {fmt(p2)} | {ratio} | {scale} | "
              f"{book * 100:.2f} % |" if book is not None else "| - |")


if __name__ == "__main__":
    main()
