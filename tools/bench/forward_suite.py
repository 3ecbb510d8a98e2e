#!/usr/bin/python3
"""The inference benchmark: `znn forward` over a volume of many blocks against `znn bench net --mode
forward` on the same network, block, threads and convolution plan; 1 against 2 threads; 2 ranks x 1
thread against 1 rank x 2 threads; the peak memory of each run; and, for the 7^3 net, PyTorch's forward
pass of the same block (tools/bench/torch_net.py). Side by side in one run, rounds interleaved; each
figure is the median over rounds.

  tools/bench/forward_suite.py [--build build] [--rounds 3] [--jobs N4,k7]

Jobs (made in a temporary directory, on `znn synth` data, mirrored so the output has the input's size):
  N4   the quickstart's 2D boundary net, blocks of 1x256x256, a 24x512x512 volume (96 blocks), softmax
  k7   four 7x7x7 layers of 40 maps (configs/nets/k7w40.znn), blocks of 48^3, a 144^3 volume (27 blocks)
The whole sample is also timed with `forward_gzip = 0` (the store renamed into place, no output file pass).
`znn forward` is timed three ways: its block loop (reading, computing and storing the blocks, as its
last log line reports), the whole sample (with the statistics pass and the compressed output file), and
the whole process. `znn bench net` runs forward passes on random data in memory. Needs mpiexec for the
2-rank rows and python3-torch for the PyTorch row.
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
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
DONE = re.compile(r"sample 1: (\d+) of (\d+) blocks computed in \S+ \(statistics ([0-9.e+-]+) s, blocks ([0-9.e+-]+) s, "
                  r"output file ([0-9.e+-]+) s\), ([0-9.e+-]+) Mvoxel/s")
MPI_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1", "OMPI_MCA_btl": "self,vader"}

JOBS = {
    "N4": dict(net="configs/nets/N4.znn", torch=None, shape="24,512,512", block="1,256,256", out_type="boundary"),
    "k7": dict(net="configs/nets/k7w40.znn", torch="k7w40", shape="144,144,144", block="48,48,48", out_type="affinity"),
}


def run(cmd, env=None):
    """Runs cmd; returns its output, wall seconds and peak resident memory (bytes: the largest process of
    its tree, as wait4 reports it)."""
    start = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, **(env or {})))
    out = p.stdout.read()
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{' '.join(cmd)} failed ({code}):\n{out[-3000:]}")
    return out, wall, usage.ru_maxrss * 1024


def write_job(work, name, job, znn):
    data = os.path.join(work, f"data_{name}")
    if not os.path.exists(data):
        run([znn, "synth", "--out", data, "--shape", job["shape"], "--seed", "5"])
        run([znn, "init", os.path.join(ROOT, job["net"]), "--out", os.path.join(work, f"{name}.h5"), "--seed", "1"])
    cfg = os.path.join(work, f"{name}.cfg")
    with open(cfg, "w") as f:
        f.write(f"""[parameters]
fnet_spec = {os.path.join(ROOT, job['net'])}
fdata_spec = {data}/synth.spec
out_type = {job['out_type']}
forward_net = {name}.h5
forward_range = 1
forward_outsz = {job['block']}
forward_conv_mode = fft
is_bd_mirror = yes
output_prefix = out_{name}/out
""")
    return cfg


def forward(znn, cfg, threads, ranks, tag, plan=None, extra=()):
    cmd = [znn, "forward", "-c", cfg, "--threads", str(threads), "--overwrite", "--set", f"output_prefix=out_{tag}/out", *extra]
    if plan:
        cmd += ["--set", f"conv_plan={plan}"]
    env = None
    if ranks > 1:
        cmd = ["mpiexec", "-n", str(ranks), "--oversubscribe", "--bind-to", "none"] + cmd
        env = MPI_ENV
    out, wall, peak = run(cmd, env)
    m = DONE.search(out)
    if not m:
        sys.exit(f"no summary line in:\n{out[-2000:]}")
    blocks, stats_s, loop_s, finish_s, mvox = int(m.group(2)), float(m.group(3)), float(m.group(4)), float(m.group(5)), float(m.group(6))
    return dict(blocks=blocks, loop_s=loop_s, sample_s=stats_s + loop_s + finish_s, wall_s=wall, stats_s=stats_s, finish_s=finish_s,
                peak=peak)


def bench_net(znn, net, block, threads, plan):
    out, _, _ = run([znn, "bench", "net", os.path.join(ROOT, net), "--outsz", block, "--mode", "forward", "--conv", "fft",
                     "--threads", str(threads), "--iters", "5"] + (["--plan", plan] if plan else []))
    line = [l for l in out.splitlines() if l.startswith("{")][-1]
    return json.loads(line)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--jobs", default="N4,k7")
    args = ap.parse_args()
    znn = os.path.abspath(os.path.join(args.build, "src", "znn"))
    work = tempfile.mkdtemp(prefix="znn-forward-bench-")
    os.chdir(work)
    rows = []
    try:
        for name in args.jobs.split(","):
            job = JOBS[name]
            cfg = write_job(work, name, job, znn)
            bz, by, bx = (int(v) for v in job["block"].split(","))
            block_voxels = bz * by * bx
            # One plan for every run of the job: the first run's (its output records it).
            first = forward(znn, cfg, 2, 1, f"{name}_plan")
            plan = os.path.join(work, f"out_{name}_plan", "out_sample1_output.h5")
            res = {k: [] for k in ["fw2", "fw2raw", "fw1", "fw2r", "net2", "net1", "torch"]}
            for r in range(args.rounds):
                res["fw2"].append(forward(znn, cfg, 2, 1, f"{name}_t2_r{r}", plan))
                res["net2"].append(bench_net(znn, job["net"], job["block"], 2, plan))
                res["fw2raw"].append(forward(znn, cfg, 2, 1, f"{name}_raw_r{r}", plan, ("--set", "forward_gzip=0")))
                res["fw1"].append(forward(znn, cfg, 1, 1, f"{name}_t1_r{r}", plan))
                res["net1"].append(bench_net(znn, job["net"], job["block"], 1, plan))
                if shutil.which("mpiexec"):
                    res["fw2r"].append(forward(znn, cfg, 1, 2, f"{name}_2r_r{r}", plan))
                if job["torch"]:
                    out, _, _ = run(["/usr/bin/python3", os.path.join(HERE, "torch_net.py"), "--net", job["torch"], "--outsz",
                                     job["block"], "--threads", "2", "--iters", "3", "--mode", "forward"])
                    res["torch"].append(json.loads([l for l in out.splitlines() if l.startswith("{")][-1]))
            blocks = first["blocks"]
            med = lambda key, field: statistics.median(x[field] for x in res[key])
            net2 = statistics.median(x["median_s"] for x in res["net2"])
            net1 = statistics.median(x["median_s"] for x in res["net1"])
            row = dict(job=name, block=job["block"], blocks=blocks, bench_net_2t_s=net2, bench_net_1t_s=net1,
                       forward_loop_per_block_2t_s=med("fw2", "loop_s") / blocks,
                       forward_sample_per_block_2t_s=med("fw2", "sample_s") / blocks,
                       forward_wall_2t_s=med("fw2", "wall_s"),
                       statistics_s=med("fw2", "stats_s"), output_file_s=med("fw2", "finish_s"),
                       forward_loop_per_block_1t_s=med("fw1", "loop_s") / blocks)
            row["loop_vs_bench_net"] = net2 / row["forward_loop_per_block_2t_s"]
            row["sample_vs_bench_net"] = net2 / row["forward_sample_per_block_2t_s"]
            row["sample_uncompressed_vs_bench_net"] = net2 / (med("fw2raw", "sample_s") / blocks)
            row["threads_1_to_2"] = med("fw1", "loop_s") / med("fw2", "loop_s")
            if res["fw2r"]:
                row["forward_loop_per_block_2r1t_s"] = med("fw2r", "loop_s") / blocks
                row["ranks2x1_vs_1x2"] = med("fw2", "loop_s") / med("fw2r", "loop_s")
            peaks = [x["peak"] for x in res["fw2"] if x["peak"]]
            if peaks:
                row["peak_memory_mib"] = max(peaks) / 2**20
            if res["torch"]:
                torch_s = statistics.median(x["median_s"] for x in res["torch"])
                row["torch_forward_2t_s"] = torch_s
                row["forward_vs_torch"] = torch_s / row["forward_loop_per_block_2t_s"]
                row["bench_net_vs_torch"] = torch_s / net2
            row["output_mvoxel_per_s_2t"] = block_voxels / row["forward_loop_per_block_2t_s"] / 1e6
            rows.append(row)
            print(json.dumps(row), flush=True)
    finally:
        os.chdir("/")
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
