#!/bin/bash
# The large-volume job: inference over a volume and an output larger than the memory budget it runs
# under. Makes a 32 x 1536 x 1536 synthetic EM volume (once), takes the quickstart's trained N4 if it
# exists (else fresh parameters, `znn init`: the output then shows nothing, the run is the same),
# runs `znn forward` under forward_memory = 300M, then prints the budget, the sizes and the process's
# peak memory. A second run finds the output finished; interrupted (Ctrl-C, kill -9), the same command
# computes only the missing blocks.
#   jobs/large-volume/run.sh [znn forward options, e.g. --threads 2, --overwrite]
# Environment: ZNN (default build/src/znn).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
znn=${ZNN:-$root/build/src/znn}
cd "$here"
[ -e data/train.h5 ] || "$znn" synth --out data --shape 32,1536,1536 --seed 11
mkdir -p out
if [ ! -e out/n4_weights.h5 ]; then
    if [ -e ../quickstart/out/n4_current.h5 ]; then
        cp ../quickstart/out/n4_current.h5 out/n4_weights.h5
        echo "large-volume: the network: the quickstart's trained N4"
    else
        "$znn" init n4.znn --out out/n4_weights.h5 --seed 1
        echo "large-volume: the network: N4 with fresh parameters (run jobs/quickstart/run.sh first for a trained one)"
    fi
fi
"$znn" forward -c large.cfg "$@" 2>&1 | tee out/forward.log
/usr/bin/python3 - <<'PYEOF'
import h5py, os, re
log = open("out/forward.log").read()
peak = re.findall(r"peak memory ([0-9.]+ [KMG]iB)", log)
inp = h5py.File("data/train.h5", "r")["volumes/raw"]
out = h5py.File("out/n4_sample1_output.h5", "r")["main"]
print(f"large-volume: input {inp.shape} {inp.dtype} ({inp.size * 4 / 2**20:.0f} MiB as floats), output {out.shape} "
      f"{out.dtype} ({out.size * 4 / 2**20:.0f} MiB had it been float32; {os.path.getsize('out/n4_sample1_output.h5') / 2**20:.0f} MiB "
      f"on disk), forward_memory 300 MiB, peak resident memory of the process {peak[-1] if peak else '(finished before)'}")
PYEOF
echo "large-volume: output $here/out/n4_sample1_output.h5 (/main: 2 channels x 32 x 1536 x 1536, uint8)"
