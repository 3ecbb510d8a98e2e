#!/usr/bin/python3
"""The PyTorch peer of `znn bench net`: the same networks (configs/nets/), a training step (forward,
backward, SGD update) or a forward pass on random data, timed the same way. One JSON line.

  tools/bench/torch_net.py --net k7w40 --outsz 16,16,16 --threads 2 --iters 3 [--mode forward]

Nets: k5w40, k7w40 (four 5³ or 7³ convolutions of 40 maps, ReLU, three outputs), N4_A (the dense N4
with max-filters as stride-1 dilated max-pooling and dilated convolutions, three outputs),
wide_k3w120 (two 3³ convolutions of 120 maps and a 1³ one). Needs Debian's python3-torch.
"""
import argparse
import json
import statistics
import time

import torch
import torch.nn as nn


def chain(kernel, widths):
    layers, c = [], 1
    for i, w in enumerate(widths):
        layers.append(nn.Conv3d(c, w, kernel[i] if isinstance(kernel, list) else kernel))
        if i + 1 < len(widths):
            layers.append(nn.ReLU())
        c = w
    return nn.Sequential(*layers)


def n4():
    layers, c, s = [], 1, 1
    for k, w in [((1, 4, 4), 48), ((1, 5, 5), 48), ((1, 4, 4), 48), ((1, 4, 4), 48)]:
        layers += [nn.Conv3d(c, w, k, dilation=(1, s, s)), nn.ReLU(), nn.MaxPool3d((1, 2, 2), stride=1, dilation=(1, s, s))]
        c, s = w, s * 2
    layers += [nn.Conv3d(c, 200, (1, 3, 3), dilation=(1, s, s)), nn.ReLU(), nn.Conv3d(200, 3, 1), nn.Sigmoid()]
    return nn.Sequential(*layers)


NETS = {
    "k5w40": lambda: chain(5, [40, 40, 40, 3]),
    "k7w40": lambda: chain(7, [40, 40, 40, 3]),
    "N4_A": n4,
    "wide_k3w120": lambda: chain([3, 3, 1], [120, 120, 3]),
}
FOV = {"k5w40": (17, 17, 17), "k7w40": (25, 25, 25), "N4_A": (1, 95, 95), "wide_k3w120": (5, 5, 5)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--net", required=True, choices=sorted(NETS))
    ap.add_argument("--outsz", required=True)
    ap.add_argument("--mode", default="train", choices=["train", "forward"])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    out = tuple(int(v) for v in a.outsz.split(","))
    insz = tuple(o + f - 1 for o, f in zip(out, FOV[a.net]))
    net = NETS[a.net]()
    x = torch.rand(1, 1, *insz)
    optimizer = torch.optim.SGD(net.parameters(), lr=1e-6, momentum=0.9)
    g = None
    seconds = []
    for i in range(a.iters + 1):
        start = time.perf_counter()
        if a.mode == "train":
            optimizer.zero_grad()
            y = net(x)
            if g is None:
                g = (torch.rand_like(y) - 0.5) * 1e-3
            (y * g).sum().backward()
            optimizer.step()
        else:
            with torch.no_grad():
                y = net(x)
        s = time.perf_counter() - start
        if i > 0:
            seconds.append(s)
    assert tuple(y.shape[2:]) == out, (tuple(y.shape), out)
    med = statistics.median(seconds)
    voxels = out[0] * out[1] * out[2]
    print(json.dumps({"bench": "torch_net", "net": a.net, "mode": a.mode, "threads": a.threads, "outsz": list(out), "iters": a.iters,
                      "median_s": med, "min_s": min(seconds), "max_s": max(seconds), "out_voxels_per_s": voxels / med,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
