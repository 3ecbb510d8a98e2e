#!/bin/bash
# The quickstart on one node: makes the synthetic data (once), trains N4 on it (about 3 minutes on
# 2 cores; a second run resumes, or finds the work done), draws the learning curve, and reports the
# validation pixel error against the error of always predicting the majority class.
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
echo "quickstart: network         $here/out/n4_current.h5"
echo "quickstart: learning curve  $here/out/n4_curve.csv"
echo "quickstart: its plot        $here/out/n4_curve.png"
