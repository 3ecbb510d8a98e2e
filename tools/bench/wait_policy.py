#!/usr/bin/python3
"""How the thread team waits between parallel regions, measured on whole training runs: `znn train`
(N4 and k7 of train_suite, 2 threads, the batch loader's thread beside the team) under libgomp's
default wait and under the settings a user could give it, rounds interleaved, medians over rounds.

  tools/bench/wait_policy.py [--build build] [--rounds 3] [--iters 60]

znn's pool is the OpenMP team (sched::ThreadPool), so how idle team threads wait is libgomp's: it reads
OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when the process starts, and znn never sets them. The variants:
  default                 libgomp's own (spin about 300000 rounds, then sleep)
  GOMP_SPINCOUNT=10000    the short spin the previous engine restarted itself to set
  OMP_WAIT_POLICY=passive sleep at once
  OMP_WAIT_POLICY=active  spin for ever (idle threads never leave their cores)
Prints each variant's step and whole-loop time per iteration and its ratio to the default (below 1:
faster than the default).
"""
import argparse
import os
import shutil
import subprocess
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import train_suite  # noqa: E402  (its jobs, job files and summary line)

VARIANTS = {
    "default": {},
    "GOMP_SPINCOUNT=10000": {"GOMP_SPINCOUNT": "10000"},
    "OMP_WAIT_POLICY=passive": {"OMP_WAIT_POLICY": "passive"},
    "OMP_WAIT_POLICY=active": {"OMP_WAIT_POLICY": "active"},
}


def train(znn, cfg, prefix, plan, iters, env):
    cmd = [znn, "train", "-c", cfg, "--set", f"train_net_prefix={prefix}/net", "--set", f"conv_plan={plan}", "--iterations", str(iters),
           "--threads", "2"]
    # The caller's own wait settings are left out, so that "default" is libgomp's.
    clean = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    p = subprocess.run(cmd, capture_output=True, text=True, env=dict(clean, **env))
    if p.returncode not in (0, 75):
        sys.exit(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stderr[-3000:]}")
    out = p.stdout + p.stderr
    m = train_suite.SUMMARY.search(out)
    if not m:
        sys.exit(f"no summary line in the output of {' '.join(cmd)}:\n{out[-2000:]}")
    shutil.rmtree(os.path.join(os.path.dirname(cfg), prefix), ignore_errors=True)
    return float(m.group(2)), float(m.group(3))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iters", type=int, default=60)
    args = parser.parse_args()
    znn = os.path.join(os.path.abspath(args.build), "src", "znn")
    work = tempfile.mkdtemp(prefix="znn-wait-policy-")
    os.chdir(work)
    jobs = ("N4", "k7")
    rows = {}
    try:
        train_suite.run([znn, "synth", "--out", "d2", "--shape", "20,256,256", "--seed", "1"])
        train_suite.run([znn, "synth", "--out", "d3", "--shape", "64,96,96", "--seed", "2"])
        cfgs, plans = {}, {}
        for name in jobs:
            cfgs[name] = train_suite.write_job(work, name, train_suite.JOBS[name], args.iters)
            train_suite.run([znn, "train", "-c", cfgs[name], "--set", f"train_net_prefix=plan_{name}/net", "--iterations", "1", "--threads", "2"])
            plans[name] = os.path.join(work, f"plan_{name}", "net_init.h5")
        names = list(VARIANTS)
        for r in range(args.rounds):
            order = names if r % 2 == 0 else names[::-1]
            for job in jobs:
                for v in order:
                    rows.setdefault((job, v), []).append(train(znn, cfgs[job], f"t_{job}_{r}", plans[job], args.iters, VARIANTS[v]))
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)

    print(f"\nznn train, 2 threads, {args.iters} iterations per run; medians over {args.rounds} interleaved rounds.\n")
    print("| job | wait | step | loop per iteration | step / default | loop / default |")
    print("|---|---|---|---|---|---|")
    for job in jobs:
        base_step = statistics.median(s for s, _ in rows[(job, "default")])
        base_loop = statistics.median(l for _, l in rows[(job, "default")])
        for v in VARIANTS:
            step = statistics.median(s for s, _ in rows[(job, v)])
            loop = statistics.median(l for _, l in rows[(job, v)])
            print(f"| {job} | {v} | {step * 1e3:.1f} ms | {loop * 1e3:.1f} ms | {step / base_step:.3f} | {loop / base_loop:.3f} |")


if __name__ == "__main__":
    main()
