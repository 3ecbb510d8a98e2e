#!/usr/bin/python3
"""The training benchmark: `znn train` against `znn bench net` on the same network, patch, threads and
convolution plan; data parallelism (2 ranks x 1 thread against 1 rank x 2 threads, the all-reduce's
share, overlap on and off); MALIS against a training iteration and against its brute-force baseline.
Side by side in one run, rounds interleaved; each figure is the median over rounds.

  tools/bench/train_suite.py [--build build] [--rounds 3] [--iters 60]

Jobs (made in a temporary directory, on `znn synth` data):
  N4    the quickstart's 2D boundary net, output 1x100x100, softmax
  k7    four 7x7x7 layers of 40 maps (configs/nets/k7w40.znn), output 16x16x16, affinity, square loss
  k7m   k7 at a 32x32x32 output with MALIS (is_malis, frac), the MALIS target's net
Throughput is the median training step (batch, forward, cost, backward, all-reduce, update); `znn bench
net` runs forward, backward and the update on random data. The 2-rank rows run with the default
(`grad_overlap = no`) and with `grad_overlap = yes`. Needs mpiexec for the 2-rank rows.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SUMMARY = re.compile(r"(\d+) iteration\(s\): median step ([0-9.e+-]+) s, after the first ([0-9.e+-]+) s per iteration with everything, "
                     r"([0-9.e+-]+) voxels/s; of the steps, "
                     r"([0-9.]+)% waiting for data, ([0-9.]+)% waiting for the gradients' all-reduce")
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader"}

JOBS = {
    "N4": dict(net="configs/nets/N4.znn", data="d2", out_type="boundary", outsz="1,100,100", extra=""),
    "k7": dict(net="configs/nets/k7w40.znn", data="d3", out_type="affinity", outsz="16,16,16", extra="cost_fn = square_loss\n"),
    "k7m": dict(net="configs/nets/k7w40.znn", data="d3", out_type="affinity", outsz="32,32,32",
                extra="cost_fn = square_loss\nis_malis = yes\nmalis_norm_type = frac\n"),
}


def run(cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    if p.returncode not in (0, 75):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    return p.stdout + p.stderr


def write_job(work, name, job, iters):
    text = f"""[parameters]
fnet_spec = {os.path.join(ROOT, job['net'])}
fdata_spec = {job['data']}/synth.spec
out_type = {job['out_type']}
train_net_prefix = {name}/net
train_range = 1
train_outsz = {job['outsz']}
train_conv_mode = fft
eta = 0.001
momentum = 0.9
is_data_aug = yes
is_bd_mirror = yes
Num_iter_per_show = 20
Num_iter_per_save = {iters + 1000}
Max_iter = {iters + 2000}
{job['extra']}"""
    path = os.path.join(work, name + ".cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


def train(znn, cfg, prefix, plan, iters, threads, ranks=1, extra=()):
    cmd = [znn, "train", "-c", cfg, "--set", f"train_net_prefix={prefix}/net", "--set", f"conv_plan={plan}", "--iterations", str(iters),
           "--threads", str(threads), *extra]
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks), "--bind-to", "none", "--oversubscribe"] + cmd
    out = run(cmd, MPI_ENV)
    m = SUMMARY.search(out)
    if not m:
        sys.exit(f"no summary line in the output of {' '.join(cmd)}:\n{out[-2000:]}")
    shutil.rmtree(os.path.join(os.path.dirname(cfg), prefix), ignore_errors=True)
    return {"step_s": float(m.group(2)), "loop_s": float(m.group(3)), "voxels_per_s": float(m.group(4)),
            "data_share": float(m.group(5)) / 100, "reduce_share": float(m.group(6)) / 100}


def bench_net(znn, job, plan, iters, threads):
    out = run([znn, "bench", "net", os.path.join(ROOT, job["net"]), "--outsz", job["outsz"], "--plan", plan, "--threads", str(threads),
               "--iters", str(iters)])
    return json.loads(out.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=60)
    parser.add_argument("--parts", default="train,mpi,malis", help="which parts to run: train, mpi, malis")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    znn = os.path.join(args.build, "src", "znn")
    work = tempfile.mkdtemp(prefix="znn-train-suite-")
    os.chdir(work)
    try:
        run([znn, "synth", "--out", "d2", "--shape", "20,256,256", "--seed", "1"])
        run([znn, "synth", "--out", "d3", "--shape", "64,96,96", "--seed", "2"])
        cfgs, plans = {}, {}
        for name, job in JOBS.items():
            cfgs[name] = write_job(work, name, job, args.iters)
            run([znn, "train", "-c", cfgs[name], "--set", f"train_net_prefix=plan_{name}/net", "--iterations", "1", "--threads", "2"])
            plans[name] = os.path.join(work, f"plan_{name}", "net_init.h5")
        rows = {k: [] for k in ("N4 train", "N4 bench", "k7 train", "k7 bench", "k7m train", "k7m bench", "N4 2x1", "N4 1x2", "N4 2x1 overlap",
                                "k7 2x1", "k7 1x2", "k7 2x1 overlap", "malis 32", "malis 32 c", "malis 32 1t")}
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            for name in ("N4", "k7", "k7m") if "train" in parts else ():
                iters = args.iters if name != "k7m" else max(10, args.iters // 4)
                rows[f"{name} train"].append(train(znn, cfgs[name], f"t_{name}_{r}", plans[name], iters, 2))
                rows[f"{name} bench"].append(bench_net(znn, JOBS[name], plans[name], iters, 2))
            for name in ("N4", "k7") if "mpi" in parts else ():
                rows[f"{name} 1x2"].append(train(znn, cfgs[name], f"s_{name}_{r}", plans[name], args.iters, 2, 1))
                rows[f"{name} 2x1"].append(train(znn, cfgs[name], f"m_{name}_{r}", plans[name], args.iters, 1, 2))
                rows[f"{name} 2x1 overlap"].append(
                    train(znn, cfgs[name], f"n_{name}_{r}", plans[name], args.iters, 1, 2, ("--set", "grad_overlap=yes")))
            for key, extra in (("malis 32", ["--threads", "2"]), ("malis 32 c", ["--threads", "2", "--constrained"]),
                               ("malis 32 1t", ["--threads", "1"])) if "malis" in parts else ():
                rows[key].append(json.loads(run([znn, "bench", "malis", "--size", "32,32,32", "--norm", "frac", *extra]).splitlines()[-1]))
        baseline = {s: json.loads(run([znn, "bench", "malis", "--size", s, "--norm", "frac", "--reference", "--iters", "3"]).splitlines()[-1])
                    for s in (("8,8,8", "12,12,12", "16,16,16") if "malis" in parts else ())}
        allreduce = [json.loads(line) for line in run(["mpiexec", "-n", "2", "--bind-to", "core", znn, "bench", "allreduce", "--mb", "0.84,4.4,16"],
                                                         MPI_ENV).splitlines() if line.startswith("{")] if "mpi" in parts else []
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)

    med = lambda key, field: statistics.median(x[field] for x in rows[key])  # noqa: E731
    print("| case | median over rounds |\n|---|---|")
    for name in ("N4", "k7", "k7m") if "train" in parts else ():
        print(f"| {name} znn train, 2 threads: step | {med(name + ' train', 'step_s') * 1e3:.1f} ms (loop {med(name + ' train', 'loop_s') * 1e3:.1f} ms/iteration) |")
        print(f"| {name} znn bench net, 2 threads | {med(name + ' bench', 'median_s') * 1e3:.1f} ms |")
    for name in ("N4", "k7") if "mpi" in parts else ():
        for k in ("1x2", "2x1", "2x1 overlap"):
            print(f"| {name} {k} (ranks x threads) | {med(f'{name} {k}', 'voxels_per_s'):.4g} voxels/s, step {med(f'{name} {k}', 'step_s') * 1e3:.1f} ms, "
                  f"all-reduce wait {100 * med(f'{name} {k}', 'reduce_share'):.2f}% |")
    for a in allreduce:
        print(f"| all-reduce of {a['mib']} MiB, 2 ranks: blocking / non-blocking | {a['median_s'] * 1e3:.2f} / {a['nonblocking_median_s'] * 1e3:.2f} ms "
              f"({a['bus_gbytes_per_s']:.1f} GB/s bus) |")
    for key in ("malis 32", "malis 32 c", "malis 32 1t") if "malis" in parts else ():
        print(f"| MALIS 32³ frac ({key}) | {med(key, 'median_s') * 1e3:.2f} ms, {med(key, 'ns_per_voxel'):.0f} ns/voxel |")
    for size, b in baseline.items():
        print(f"| MALIS {size} frac: ours / brute force | {b['ns_per_voxel']:.0f} / {b['reference_ns_per_voxel']:.0f} ns/voxel "
              f"({b['speedup']:.0f}x; weights equal to {b['max_rel_difference']:.1g}) |")
    print("\n| target | measured | required |\n|---|---|---|")
    for name in ("N4", "k7") if "train" in parts else ():
        ratio = statistics.median(b["median_s"] / t["step_s"] for b, t in zip(rows[f"{name} bench"], rows[f"{name} train"]))
        loop = statistics.median(b["median_s"] / t["loop_s"] for b, t in zip(rows[f"{name} bench"], rows[f"{name} train"]))
        print(f"| {name}: znn train throughput / bench net (steps; whole loop) | {ratio:.3f}; {loop:.3f} | >= 0.95 |")
    if "malis" in parts and "train" in parts:
        malis_share = med("malis 32", "median_s") / med("k7m bench", "median_s")
        print(f"| MALIS 32³ (2 threads) / a k7w40 training iteration at 32³ | {malis_share:.3f} | < 0.10 |")
    for name in ("N4", "k7") if "mpi" in parts else ():
        print(f"| {name}: all-reduce wait, 2 ranks | {100 * med(name + ' 2x1', 'reduce_share'):.2f}% | < 5% |")
        ratio = statistics.median(m["voxels_per_s"] / s["voxels_per_s"] for m, s in zip(rows[f"{name} 2x1"], rows[f"{name} 1x2"]))
        print(f"| {name}: 2 ranks x 1 thread / 1 rank x 2 threads | {ratio:.3f} | >= 0.9 |")
        ratio = statistics.median(o["voxels_per_s"] / n["voxels_per_s"] for o, n in zip(rows[f"{name} 2x1 overlap"], rows[f"{name} 2x1"]))
        print(f"| {name}: grad_overlap yes / no (the default), 2 ranks | {ratio:.3f} | |")
    print("\nraw: " + json.dumps({k: v for k, v in rows.items()}))


if __name__ == "__main__":
    main()
