"""znn: dense sliding-window ConvNets (2D and 3D) on multi-core CPUs, driven from numpy.

    import numpy, znn
    net = znn.Network("n4.znn", "n4.h5")
    y = net.forward(x)                      # x: float32 (channels, z, y, x), larger than net.fov
    v = net.predict(h5file["raw"], mirror=True)   # a whole volume, block by block (numpy, h5py, address)
    net.train_step(x, target, cost="softmax_loss", eta=0.01, momentum=0.9)
    net.save("n4-tuned.h5")
    znn.train("job.cfg", set={"Max_iter": 200})
    znn.forward("job.cfg")
    scores = znn.eval("job.cfg")            # the forward outputs against the labels

Errors are znn.Error subclasses carrying znn's message (file:line, path:/dataset): InputError and
UsageError are also ValueErrors, IoError an OSError. See help(znn.Network), help(znn.train).
"""
import json
import logging
import sys

from ._znn import (  # noqa: F401
    Error,
    InputError,
    InternalError,
    IoError,
    MpiError,
    Network,
    NumericError,
    UsageError,
    __version__,
    read_volume,
    simd,
    version,
    write_volume,
)

__all__ = ["Network", "train", "forward", "eval", "Error", "InputError", "UsageError", "IoError", "MpiError", "NumericError",
           "InternalError", "read_volume", "write_volume", "version", "simd", "__version__"]

_log = logging.getLogger("znn")


def _sink(line):
    """Where a job's log lines go: the 'znn' logger when the program configured logging, else stderr."""
    if _log.hasHandlers():
        level = logging.WARNING if "warning:" in line else logging.ERROR if "error:" in line else logging.INFO
        _log.log(level, line)
    else:
        sys.stderr.write(line + "\n")
        sys.stderr.flush()


def train(config, *, set=None, threads=0, iterations=0, seed=None, loader_threads=1, comm=None, log_level="info"):
    """Runs the training job `config` (a .cfg) as `znn train -c` does, and returns what happened.

    set             {key: value} overriding the .cfg's keys (as --set key=value)
    threads         0: the job's num_threads, else the CPU affinity mask ($OMP_NUM_THREADS, $SLURM_CPUS_PER_TASK)
    iterations      at most this many iterations in this call, then a checkpoint (0: up to Max_iter)
    seed            a network file to start from (as -s)
    comm            an mpi4py communicator (data-parallel over its ranks), or None for one process
    log_level       'debug', 'info', 'warn' or 'error'; lines go to logging.getLogger('znn') when logging
                    is configured, else to stderr (the progress line: cost, throughput, ETA)

    Returns {'outcome': 'finished' | 'stopped' | 'checked', 'iteration', 'network', 'curve',
    'seconds_per_iteration', 'voxels_per_second', 'validation_pixel_error'}. A run continues from its
    last checkpoint when called again. Ctrl-C (SIGINT), SIGTERM and SIGUSR1 stop it after the current
    iteration with a checkpoint; Ctrl-C then raises KeyboardInterrupt.
    """
    return _znn_call("_train", config, set, threads, iterations, seed, loader_threads, comm, log_level)


def forward(config, *, set=None, threads=0, overwrite=False, comm=None, log_level="info"):
    """Runs the inference job `config` (a .cfg) as `znn forward -c` does: every sample's volume in
    blocks, into crash-safe outputs (a call after an interruption continues). Returns one dict per
    sample: {'sample', 'outputs', 'blocks', 'computed', 'finished', 'voxels_per_second'}. Arguments as
    for train(); Ctrl-C stops after the blocks in flight and raises KeyboardInterrupt.
    """
    return _znn_call("_forward", config, set, threads, overwrite, comm, log_level)


def eval(config=None, *, seg=None, gt=None, mask=None, set=None, range=None, mode=None, threshold=(0.5,), channel=0,
         ignore=(0,), planar=False, offset=None, comm=None, log_level="info"):
    """Scores segmentations against ground truth, as `znn eval` does: a job's znn forward outputs against
    its labels (eval(config), every sample of forward_range or `range`, e.g. "1-3,5"), or one pair of
    volumes (eval(seg=..., gt=..., mask=...), addresses 'file.h5:/dataset' or TIFF stacks). A map
    (a boundary or affinity output) becomes a segmentation per threshold by connected components
    (mode 'interior', 'membrane', 'affinity'; default by the volume: labels for integers, affinity
    for 3 channels, interior otherwise; `channel` of the map, `planar`: within sections).

    Returns one dict per evaluation and threshold, the JSON line `znn eval` prints: {'task',
    'segmentation', 'ground_truth', 'mode', 'threshold', 'voxels', 'ignored', 'gt_segments', 'segments',
    'background', 'rand_error', 'rand_precision', 'rand_recall' (adapted Rand error, skimage's pair
    counts), 'cremi_rand_error', 'cremi_precision', 'cremi_recall', 'voi_split', 'voi_merge', 'voi'
    (bits)}; a threshold is None for a labelled segmentation.
    """
    thresholds = [threshold] if isinstance(threshold, (int, float)) else list(threshold)
    lines = _znn_call("_eval", config, set, range, seg, gt, mask, mode, channel, thresholds, list(ignore), planar, offset, comm,
                      log_level)
    return [json.loads(line) for line in lines]


def _znn_call(name, *args):
    from . import _znn
    return getattr(_znn, name)(*args, _sink)
