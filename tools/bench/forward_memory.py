#!/usr/bin/python3
"""The memory budget of `znn forward`: a volume four times larger than `forward_memory` (stored bytes),
in blocks as large as the budget allows, against the budget; the peak resident memory of the process
(getrusage of the child) minus its resident memory at start (znn's own debug line: its code, the
libraries and MPI loaded), and the working set znn estimated before it ran. Exits 1 with --check if
the growth exceeds the budget or the output differs from a run without a budget.

  tools/bench/forward_memory.py [--build build] [--budget 48M] [--net tests/train/tiny_boundary.znn]
                                [--conv fft|direct|optimize] [--check] [--json FILE]

The block is the one `znn forward` itself proposes for the budget: a first run with a block too large
for it fails (exit 2, nothing written) and names the largest block that fits.
"""
import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
START = re.compile(r"resident memory at start: ([0-9.]+) (MiB|GiB)")
ESTIMATE = re.compile(r"memory per rank: about ([0-9.]+) (MiB|GiB)")
FITS = re.compile(r"blocks of (\d+,\d+,\d+) fit")


def mib(value, unit):
    return float(value) * (1024 if unit == "GiB" else 1)


def parse_size(text):
    units = {"K": 1 / 1024, "M": 1, "G": 1024}
    return float(text[:-1]) * units[text[-1].upper()] if text[-1].upper() in units else float(text) / 2**20


def run(args, env=None):
    """Runs a child; returns (returncode, stderr, its peak resident MiB, seconds)."""
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], capture_output=True, text=True); "
            "sys.stderr.write(r.stderr); print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    t = time.time()
    p = subprocess.run([sys.executable, "-c", code] + args, capture_output=True, text=True, env=env)
    rc, peak_kib = p.stdout.split()
    return int(rc), p.stderr, int(peak_kib) / 1024, time.time() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--budget", default="48M")
    ap.add_argument("--net", default=os.path.join(ROOT, "tests/train/tiny_boundary.znn"))
    ap.add_argument("--conv", default="fft")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--json")
    a = ap.parse_args()
    znn = os.path.join(a.build, "src/znn")
    budget = parse_size(a.budget)
    work = tempfile.mkdtemp(prefix="znn-forward-memory-")
    # A random uint8 volume of 4 x budget, sections of 4096 x 4096 (16 MiB each)
    sections = max(1, int(round(4 * budget / 16)))
    rng = np.random.default_rng(1)
    with h5py.File(f"{work}/vol.h5", "w") as f:
        d = f.create_dataset("raw", (sections, 4096, 4096), np.uint8, chunks=(1, 512, 512))
        for z in range(sections):
            d[z] = rng.integers(0, 256, (4096, 4096), dtype=np.uint8)
    with open(f"{work}/vol.spec", "w") as f:
        f.write("[image1]\nfnames = vol.h5:/raw\npp_types = standard2D\n[sample1]\ninput = 1\n")
    subprocess.run([znn, "init", a.net, "--out", f"{work}/net.h5", "--seed", "1"], check=True, capture_output=True)
    cfg = f"""[parameters]
fnet_spec = {os.path.abspath(a.net)}
fdata_spec = vol.spec
num_threads = {a.threads}
out_type = boundary
forward_net = net.h5
forward_range = 1
forward_outsz = 1,4096,4096
forward_conv_mode = {a.conv}
is_bd_mirror = yes
forward_dtype = uint8
output_prefix = out/budget
forward_memory = {a.budget}
"""
    with open(f"{work}/job.cfg", "w") as f:
        f.write(cfg)
    rc, err, _, _ = run([znn, "forward", "-c", f"{work}/job.cfg"])
    fits = FITS.search(err)
    if rc != 2 or not fits:
        sys.exit(f"expected a refusal naming a block that fits, got exit {rc}:\n{err[-2000:]}")
    block = fits.group(1)
    refused_outputs = os.path.exists(f"{work}/out")
    rc, err, peak, seconds = run([znn, "forward", "-c", f"{work}/job.cfg", "--set", f"forward_outsz={block}",
                                  "--log-level", "debug"])
    if rc != 0:
        sys.exit(f"znn forward failed (exit {rc}):\n{err[-3000:]}")
    start = mib(*START.search(err).groups())
    estimate = mib(*ESTIMATE.search(err).groups())
    # The same blocks without a budget: the output must not depend on it.
    # (The same convolution plan: a fresh one times its own FFT tiles, which round differently.)
    rc2, err2, peak_free, _ = run([znn, "forward", "-c", f"{work}/job.cfg", "--set", f"forward_outsz={block}",
                                   "--set", "forward_memory=auto", "--set", f"output_prefix={work}/out/free",
                                   "--set", f"conv_plan={work}/out/budget_sample1_output.h5"])
    same = rc2 == 0 and subprocess.run(
        [sys.executable, os.path.join(ROOT, "tests/support/compare_volumes.py"), f"{work}/out/budget_sample1_output.h5",
         f"{work}/out/free_sample1_output.h5"], capture_output=True).returncode == 0
    record = {"budget_mib": budget, "volume_mib": sections * 16.0, "volume": f"{sections},4096,4096 uint8",
              "net": os.path.basename(a.net), "conv": a.conv, "threads": a.threads, "block": block,
              "estimate_mib": round(estimate, 1), "start_mib": round(start, 1), "peak_mib": round(peak, 1),
              "growth_mib": round(peak - start, 1), "seconds": round(seconds, 1),
              "refusal_wrote_nothing": not refused_outputs, "same_output_without_budget": same}
    line = json.dumps(record)
    print(line)
    if a.json:
        with open(a.json, "a") as f:
            f.write(line + "\n")
    if not same:
        print(f"run without a budget: exit {rc2}; {err2[-1500:]}", file=sys.stderr)
    subprocess.run(["rm", "-rf", work])
    if a.check:
        problems = []
        if peak - start > budget:
            problems.append(f"the process grew by {peak - start:.1f} MiB, more than forward_memory {budget:.0f} MiB")
        if refused_outputs:
            problems.append("the refused run wrote an output")
        if not same:
            problems.append("the output differs from the run without a budget")
        if problems:
            sys.exit("; ".join(problems))
        print(f"ok: a {sections * 16} MiB volume in blocks of {block}: grew {peak - start:.1f} MiB "
              f"(estimate {estimate:.1f}) within forward_memory {budget:.0f} MiB")


if __name__ == "__main__":
    main()
