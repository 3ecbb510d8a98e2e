#!/usr/bin/python3
"""Network.forward from Python against the same pass through `znn bench net --mode forward`, side by side.

  tools/bench/python_forward.py [--build build] [--rounds 5] [--iters 7] [--conv fft]

For the four reference nets at 1 and 2 threads, each round runs `znn bench net` (the C++ network's
forward pass on random data: median of --iters passes after one warm-up) and a Python process that
builds znn.Network with the same convolution plan, warms up once, and times --iters calls of
forward() on a float32 numpy input (perf_counter around the call: argument checks, the GIL released,
the input copied into the network, the pass, the output array made and filled). Rounds are
interleaved; each figure is the median over rounds of the per-run medians. Prints a Markdown table
with the ratio Python / C++ (above 1: Python slower), and what forward() spends outside the network
pass in the same call (its wall time minus Network.last_pass_seconds: argument checks, the GIL, the
input and output copies, the output array), which no difference between processes blurs.

The plan: before the rounds, a Python process builds each net with --conv (its FFT tiles measured)
and saves a network file holding that plan; both sides then run it (`znn bench net --plan`,
znn.Network(net, plan, conv='stored')), so both time the same transforms at the same tiles.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
NETS = {"k7w40": "16,16,16", "k5w40": "16,16,16", "N4_A": "4,64,64", "wide_k3w120": "24,24,24"}

CHILD = r"""
import json, statistics, sys, time
import numpy as np
sys.path.insert(0, sys.argv[1])
import znn
net_file, outsz, threads, conv, iters = sys.argv[2], [int(v) for v in sys.argv[3].split(",")], int(sys.argv[4]), sys.argv[5], int(sys.argv[6])
plan = sys.argv[7]
if conv != "stored":  # make the plan: build with `conv`, save its parameters and convolution plan
    net = znn.Network(net_file, threads=threads, conv=conv, seed=1)
else:
    net = znn.Network(net_file, plan, threads=threads, conv="stored")
(name, maps), = net.inputs
x = np.random.default_rng(1).uniform(-1, 1, [maps] + [o + f - 1 for o, f in zip(outsz, net.fov)]).astype(np.float32)  # as znn bench net
net.forward(x)  # warm-up: builds the network and its engines
times, overhead = [], []
for _ in range(iters):
    t = time.perf_counter()
    net.forward(x)
    times.append(time.perf_counter() - t)
    overhead.append((times[-1] - net.last_pass_seconds) / times[-1])
if conv != "stored":
    net.save(plan)
print(json.dumps({"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "conv": net.conv_choices,
                  "overhead": statistics.median(overhead)}))
"""


def run(cmd, threads):
    env = dict(os.environ, OMP_NUM_THREADS=str(threads))
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        raise SystemExit(f"failed: {' '.join(cmd)}")
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--iters", type=int, default=7)
    ap.add_argument("--conv", default="fft", choices=["fft", "direct"])
    ap.add_argument("--nets", default=",".join(NETS))
    a = ap.parse_args()
    znn = os.path.join(a.build, "src", "znn")
    python_dir = os.path.abspath(os.path.join(a.build, "python"))
    results = {}
    nets = a.nets.split(",")
    plans = {}
    os.makedirs("python-forward-plans", exist_ok=True)
    for net in nets:
        plans[net] = os.path.abspath(os.path.join("python-forward-plans", net + ".h5"))
        run(["/usr/bin/python3", "-c", CHILD, python_dir, os.path.join(ROOT, "configs", "nets", net + ".znn"), NETS[net], "2", a.conv,
             "1", plans[net]], 2)
    for r in range(a.rounds):
        for net in nets:
            outsz = NETS[net]
            path = os.path.join(ROOT, "configs", "nets", net + ".znn")
            for t in (1, 2):
                c = run([znn, "bench", "net", path, "--outsz", outsz, "--mode", "forward", "--plan", plans[net], "--threads", str(t),
                         "--iters", str(a.iters)], t)
                p = run(["/usr/bin/python3", "-c", CHILD, python_dir, path, outsz, str(t), "stored", str(a.iters), plans[net]], t)
                for who, rec in (("C++", c), ("Python", p)):
                    results.setdefault((net, who, t), []).append(rec["median_s"])
                results.setdefault((net, "overhead", t), []).append(p["overhead"])
                print(f"round {r + 1}/{a.rounds} {net} t{t}: C++ {c['median_s'] * 1e3:.2f} ms, Python {p['median_s'] * 1e3:.2f} ms",
                      file=sys.stderr)
    print(f"\nNetwork.forward against `znn bench net --mode forward`, one plan per net (--conv {a.conv}, tiles measured once): medians over {a.rounds} interleaved rounds "
          f"of the median of {a.iters} passes (ms).\n")
    print("| net | output | threads | znn bench net | Network.forward | Python / C++ | forward() outside the pass |")
    print("|---|---|---|---|---|---|---|")
    ratios = []
    for net in nets:
        for t in (1, 2):
            c = statistics.median(results[(net, "C++", t)])
            p = statistics.median(results[(net, "Python", t)])
            ratios.append(p / c)
            o = statistics.median(results[(net, "overhead", t)])
            print(f"| {net} | {NETS[net]} | {t} | {c * 1e3:.2f} | {p * 1e3:.2f} | {p / c:.3f} | {o * 100:.2f} % |")
    print(f"\ngeometric mean of Python / C++: {statistics.geometric_mean(ratios):.3f}")


if __name__ == "__main__":
    main()
