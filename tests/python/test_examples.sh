#!/bin/bash
# The Python examples of tools/python run as a user runs them: train a few iterations from a script,
# infer over a numpy volume, plot a patch beside its output. Checks what each writes.
# Usage: test_examples.sh ZNN BUILD_DIR SOURCE_DIR
set -u
znn=$1 build=$2 src=$3
source "$src/tests/support/cli_checks.sh"
export ZNN=$znn ZNN_BUILD=$build
py=/usr/bin/python3
expect 0 "iteration 20/20: cost" $py "$src/tools/python/train_from_script.py" --iterations 20 --out trained.h5
expect 0 "\(4, 192, 192\) -> \(2, 4, 192, 192\)" $py "$src/tools/python/infer_volume.py" trained.h5 --output boundary.h5
expect 0 "wrote patch.png" $py "$src/tools/python/plot_patch.py" trained.h5 -o patch.png
$py - <<'PYEOF' && ok "the outputs are what the examples say" || fail "the examples' outputs"
import h5py, numpy as np
with h5py.File("boundary.h5", "r") as f:
    b = f["main"][...]
assert b.shape == (2, 4, 192, 192) and b.dtype == np.float32, (b.shape, b.dtype)
assert np.allclose(b.sum(axis=0), 1, atol=1e-5), "softmax channels sum to 1"
with h5py.File("trained.h5", "r") as f:
    assert f.attrs["znn_iteration"] in (b"20", "20", 20), f.attrs["znn_iteration"]
import matplotlib.image
png = matplotlib.image.imread("patch.png")
assert png.shape[0] >= 300 and png.shape[1] >= 600, png.shape
PYEOF
finish
