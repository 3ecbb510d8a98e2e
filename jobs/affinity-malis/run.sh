#!/bin/bash
# The affinity-malis job on one node: makes a 3D synthetic EM volume (once), trains the 3D affinity
# network A3 on it, first with the binomial cost, then with MALIS, draws the learning curve, runs the network over the whole validation
# volume (znn forward, uint8 affinities) and scores the segmentation of those affinities (znn eval:
# adapted Rand error and VOI at two thresholds). A second run resumes, or finds the work done.
#   jobs/affinity-malis/run.sh [znn train options, e.g. --threads 2]
# Environment: ZNN (default build/src/znn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
znn=${ZNN:-$root/build/src/znn}
cd "$here"
[ -e data/train.h5 ] || "$znn" synth --out data --shape 40,160,160 --seed 7
# Phase 1: the binomial cost alone (1500 iterations); phase 2: MALIS from that network (600).
rc=0
"$znn" train -c affinity.cfg --set is_malis=no --set train_net_prefix=out/a3_pre --set Max_iter=1500 "$@" || rc=$?
if [ "$rc" -eq 0 ]; then
    seed=()
    [ -e out/a3_current.h5 ] || seed=(-s out/a3_pre_current.h5)   # a started phase 2 resumes by itself
    "$znn" train -c affinity.cfg "${seed[@]}" "$@" || rc=$?
fi
if [ "$rc" -ne 0 ]; then
    [ "$rc" -eq 75 ] && echo "affinity-malis: stopped with a checkpoint; run $0 again to continue"
    exit "$rc"
fi
"$root/tools/plot-curve" out/a3_curve.csv -o out/a3_curve.png --title "affinity-malis: A3 with MALIS on synthetic EM data"
overwrite=()
[ -e out/a3_sample2_output.h5 ] && [ out/a3_current.h5 -nt out/a3_sample2_output.h5 ] && overwrite=(--overwrite)
"$znn" forward -c affinity.cfg "${overwrite[@]}"
"$znn" eval -c affinity.cfg --threshold 0.5,0.8 >out/a3_eval.jsonl
/usr/bin/python3 - <<'PYEOF'
import json
for line in open("out/a3_eval.jsonl"):
    r = json.loads(line)
    print("affinity-malis: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in r.items()
                                         if k in ("threshold", "rand_error", "rand_error_split", "rand_error_merge", "voi_split", "voi_merge", "segments")))
PYEOF
awk -F, '$1 == "test" { it = $2; re = $5 } END { if (it) printf "affinity-malis: validation rand error %.4f after MALIS (iteration %d)\n", re, it }' out/a3_curve.csv
awk -F, '$1 == "test" { it = $2; re = $5 } END { if (it) printf "affinity-malis: validation rand error %.4f before MALIS (binomial cost, iteration %d)\n", re, it }' out/a3_pre_curve.csv
echo "affinity-malis: network         $here/out/a3_current.h5"
echo "affinity-malis: learning curve  $here/out/a3_curve.csv (plot: out/a3_curve.png)"
echo "affinity-malis: affinities      $here/out/a3_sample2_output.h5 (/main: x, y, z affinities, uint8 0-255)"
echo "affinity-malis: scores          $here/out/a3_eval.jsonl"
