#!/usr/bin/python3
"""What inference over a large volume takes on N nodes: a model from a measured per-block cost and the
filesystem's bandwidth.

  tools/bench/forward_model.py --block 1,256,256 --fov 1,95,95 --seconds 0.25 [--channels 2]
                               [--volume 1e12] [--in-bytes 1] [--out-bytes 4] [--speedup 1,16]
                               [--fs-bandwidth 20e9] [--node-bandwidth 2e9] [--nodes 1,8,64,512]
                               [--compress-rate 60e6]

Per node, one block of W output voxels takes `seconds` to compute (measured: tools/bench/forward_suite.py,
the block loop of `znn forward` on this machine's 2 cores; `--speedup` divides it for nodes that many times
faster). It reads its input window, (W + F - 1) voxels of `in-bytes`, and writes C·W values of
`out-bytes` (4: float32, 1: uint8); with compression the final file pass reads the store and writes the
output once more (counted: 2 more transfers of the output). Reading and writing overlap with computing,
so a node runs at the slower of compute and its share of the I/O:

    rate(N) = min(N · W / seconds,  B_fs / bytes per output voxel,  N · B_node / bytes per output voxel)

for a shared filesystem of aggregate bandwidth B_fs (default 20 GB/s, a modest Lustre or GPFS) and a
node link of B_node (default 2 GB/s). The whole-volume statistics pass (one read of the input) is added
at the filesystem's rate, the compressed output pass at the slower of the filesystem and N nodes'
compression (`compress-rate` bytes of output per second per node, default 60e6: measured on 2 cores,
the N4 and 7^3 runs' 70 and 53 MB/s; scaled by `speedup`, a node with more cores running more ranks). A volume of `volume` input voxels (default
1e12: 1 TB of uint8 EM) is mirrored, so it has as many output voxels. Not modelled: stragglers (the
dynamic hand-out keeps them to the last block per rank), metadata servers, compression's CPU time.
"""
import argparse


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--block", required=True)
    ap.add_argument("--fov", required=True)
    ap.add_argument("--seconds", type=float, required=True, help="seconds per block on one node, measured")
    ap.add_argument("--channels", type=int, default=2)
    ap.add_argument("--volume", type=float, default=1e12)
    ap.add_argument("--in-bytes", type=float, default=1)
    ap.add_argument("--out-bytes", type=float, default=4)
    ap.add_argument("--speedup", default="1")
    ap.add_argument("--fs-bandwidth", type=float, default=20e9)
    ap.add_argument("--node-bandwidth", type=float, default=2e9)
    ap.add_argument("--nodes", default="1,8,64,512")
    ap.add_argument("--compress-rate", type=float, default=60e6)
    args = ap.parse_args()
    W = [int(v) for v in args.block.split(",")]
    F = [int(v) for v in args.fov.split(",")]
    w = W[0] * W[1] * W[2]
    window = (W[0] + F[0] - 1) * (W[1] + F[1] - 1) * (W[2] + F[2] - 1)
    # Bytes moved per output voxel: the input window share, the store write, and (compressed output)
    # the store read and the final write.
    in_per_voxel = window / w * args.in_bytes
    out_per_voxel = args.channels * args.out_bytes
    block_io = in_per_voxel + out_per_voxel
    final_pass = 2 * out_per_voxel
    print(f"block {args.block}, field of view {args.fov}: input window {window / w:.2f}x the block; "
          f"{block_io:.1f} bytes of block I/O and {final_pass:.1f} of output file pass per output voxel")
    print("| node speed | nodes | compute-bound rate | I/O-bound rate | blocks | statistics + output pass | total |")
    print("|---|---|---|---|---|---|---|")
    for s in (float(x) for x in args.speedup.split(",")):
        for n in (int(x) for x in args.nodes.split(",")):
            compute = n * w / (args.seconds / s)
            io = min(args.fs_bandwidth, n * args.node_bandwidth) / block_io
            rate = min(compute, io)
            blocks_s = args.volume / rate
            fs = min(args.fs_bandwidth, n * args.node_bandwidth)
            extra_s = args.volume * args.in_bytes / fs + args.volume * max(final_pass / fs, out_per_voxel / (n * s * args.compress_rate))
            total = blocks_s + extra_s
            print(f"| {s:g}x | {n} | {compute / 1e6:.1f} Mvoxel/s | {io / 1e6:.0f} Mvoxel/s | {hours(blocks_s)} | {hours(extra_s)} | {hours(total)} |")


def hours(seconds):
    if seconds >= 86400:
        return f"{seconds / 86400:.1f} d"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min"


if __name__ == "__main__":
    main()
