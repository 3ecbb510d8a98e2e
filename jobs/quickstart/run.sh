#!/bin/bash
# The quickstart on one node: makes the synthetic data (once), trains N4 on it (about 3 minutes on
# 2 cores; a second run resumes, or finds the work done), draws the learning curve, reports the
# validation pixel error against the error of always predicting the majority class, then runs the
# network over the whole validation volume (znn forward), scores that output the same way, and
# segments it and scores the segments (znn eval).
#   jobs/quickstart/run.sh [znn train options, e.g. --threads 2]
# Environment: ZNN (default build/src/znn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
znn=${ZNN:-$root/build/src/znn}
cd "$here"
[ -e data/train.h5 ] || "$znn" synth --out data --shape 20,256,256 --seed 1
rc=0
"$znn" train -c quickstart.cfg "$@" || rc=$?
if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 75 ] && echo "quickstart: stopped with a checkpoint; run $0 again to continue"
    exit "$rc"
fi
"$root/tools/plot-curve" out/n4_curve.csv -o out/n4_curve.png --title "quickstart: N4 on synthetic EM data"
awk -F, '$1 == "test" { it = $2; pe = $4; mj = $12 }
    END { if (it) printf "quickstart: validation pixel error %.4f at iteration %d; always predicting the majority class: %.4f\n", pe, it, mj }' out/n4_curve.csv
# A network trained further since the last inference: compute it again.
overwrite=()
[ out/n4_current.h5 -nt out/n4_sample2_output.h5 ] && [ -e out/n4_sample2_output.h5 ] && overwrite=(--overwrite)
rc=0
"$znn" forward -c quickstart.cfg "${overwrite[@]}" || rc=$?
[ "$rc" -eq 0 ] || exit "$rc"
/usr/bin/python3 - <<'EOF'
import h5py, numpy as np, tifffile
p = h5py.File("out/n4_sample2_output.h5", "r")["main"][0]      # channel 0: inside a cell
label = tifffile.imread("data/test-labels.tif") > 0
mask = tifffile.imread("data/test-mask.tif") > 0
error = np.mean((p > 0.5)[mask] != label[mask])
majority = min(label[mask].mean(), 1 - label[mask].mean())
print(f"quickstart: inference over the whole validation volume {p.shape}: pixel error {error:.4f}; "
      f"always predicting the majority class: {majority:.4f}")
EOF
# Segment that output (thresholded connected components of its "inside a cell" channel) and score it
# against the labels: adapted Rand error and VOI (README, "Evaluation"). N4 is a 2D net, so its
# sections' components are also scored on their own (--2d), against the 3D cells.
"$znn" eval -c quickstart.cfg --threshold 0.5,0.9 >out/n4_eval.jsonl
"$znn" eval -c quickstart.cfg --threshold 0.5,0.9 --2d >>out/n4_eval.jsonl
echo "quickstart: network         $here/out/n4_current.h5"
echo "quickstart: learning curve  $here/out/n4_curve.csv"
echo "quickstart: its plot        $here/out/n4_curve.png"
echo "quickstart: inference       $here/out/n4_sample2_output.h5 (/main: channels, z, y, x; TIFF: out/n4_sample2_output_0.tif, _1.tif)"
echo "quickstart: its scores      $here/out/n4_eval.jsonl (znn eval: adapted Rand error, VOI split and merge)"
