#!/usr/bin/python3
"""The PyTorch peer for `znn bench conv`: times torch.nn.functional.conv3d (CPU, float32; oneDNN where
PyTorch uses it) on the same problem and prints one JSON line in the same form.

  tools/bench/torch_conv.py --in 40,34,34,34 --out 40 --kernel 7,7,7 [--dilation 1,1,1] [--batch 1]
                            [--pass fwd|bwd_data|bwd_weights|all] [--threads N] [--iters N]

PyTorch computes a cross-correlation; znn a true convolution. The cost is the same, so the kernel is
not flipped here. --pass all is one training step: forward, both gradients and an SGD update.
Needs Debian's python3-torch (tools/install-deps --bench) and runs with /usr/bin/python3.
"""
import argparse
import json
import statistics
import sys
import time


def triple(text):
    parts = [int(x) for x in text.split(",")]
    return tuple(parts * 3) if len(parts) == 1 else tuple(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--in", dest="inp", required=True, help="C,Z,Y,X")
    ap.add_argument("--out", type=int, required=True)
    ap.add_argument("--kernel", required=True)
    ap.add_argument("--dilation", default="1,1,1")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--pass", dest="pass_", default="all", choices=["fwd", "bwd_data", "bwd_weights", "all"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=5)
    a = ap.parse_args()

    try:
        import torch
    except ImportError:
        sys.exit("PyTorch is missing: tools/install-deps --bench (Debian python3-torch)")
    torch.set_num_threads(a.threads)
    c, z, y, x = (int(v) for v in a.inp.split(","))
    k, d = triple(a.kernel), triple(a.dilation)
    torch.manual_seed(0)
    inp = torch.randn(a.batch, c, z, y, x, requires_grad=a.pass_ in ("bwd_data", "all"))
    w = torch.randn(a.out, c, *k, requires_grad=True)
    out_size = [s - (kk - 1) * dd for s, kk, dd in zip((z, y, x), k, d)]
    grad_out = torch.randn(a.batch, a.out, *out_size)
    opt = torch.optim.SGD([w], lr=1e-6)

    def step():
        if a.pass_ == "fwd":
            with torch.no_grad():
                torch.nn.functional.conv3d(inp, w, dilation=d)
            return
        out = torch.nn.functional.conv3d(inp, w, dilation=d)
        if a.pass_ == "bwd_data":
            torch.autograd.grad(out, inp, grad_out)
        elif a.pass_ == "bwd_weights":
            torch.autograd.grad(out, w, grad_out)
        else:
            opt.zero_grad()
            out.backward(grad_out)
            opt.step()

    step()  # warm-up
    times = []
    for _ in range(a.iters):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    flops = 2.0 * c * a.out * k[0] * k[1] * k[2] * out_size[0] * out_size[1] * out_size[2] * a.batch
    passes = 3 if a.pass_ == "all" else 1
    # bwd_data / bwd_weights also run the forward pass (autograd needs it); report it as measured.
    med = statistics.median(times)
    print(json.dumps({"bench": "conv", "impl": "torch", "torch": torch.__version__, "pass": a.pass_,
                      "problem": f"b{a.batch}_i{c}x{z}x{y}x{x}_o{a.out}_k{k[0]}x{k[1]}x{k[2]}_d{d[0]}x{d[1]}x{d[2]}",
                      "threads": a.threads, "iters": a.iters, "median_s": med, "min_s": min(times), "max_s": max(times),
                      "gflops": passes * flops / med / 1e9}))


if __name__ == "__main__":
    main()
