#!/bin/bash
# `znn eval` end to end: scores against Debian's skimage, scipy's connected components and CREMI's
# published formula (tests/eval/eval_reference.py) for segmentations, boundary maps (float and uint8,
# 3D and per section), affinity maps, a smaller map aligned centre on centre, and a job's znn forward
# outputs; 2 ranks give the scores of 1; bad input exits 2 with the volume or option named.
# usage: test_eval_cli.sh ZNN MPIEXEC SOURCE_DIR
set -u
znn=$1; mpiexec=$2; src=$3
py=/usr/bin/python3
ref="$src/tests/eval/eval_reference.py"
source "$src/tests/support/cli_checks.sh"
mpi=("$mpiexec" -n 2 --oversubscribe --bind-to none)

"$py" "$ref" make . || fail "eval_reference.py make"
# scored NAME CASE [reference args] -- znn eval args: runs znn eval, checks its JSON lines against the reference
scored() {
    local name=$1 case=$2; shift 2
    local extra=()
    while [ "$1" != "--" ]; do extra+=("$1"); shift; done
    shift
    if ! "$@" >"$name.jsonl" 2>"$name.log"; then fail "$name: '$*' failed"; tail -5 "$name.log"; return; fi
    local out
    if out=$("$py" "$ref" check "$case" "$name.jsonl" "${extra[@]}" 2>&1); then ok "$name: $out"; else fail "$name: $out"; fi
}
scored labels labels -- "$znn" eval --seg seg.h5:/volumes/seg --gt gt.tif --mask mask.tif
scored interior interior 0.3,0.5,0.7 -- "$znn" eval --seg map.h5 --gt gt.tif --channel 1 --threshold 0.3,0.5,0.7
scored uint8 interior8 0.4,0.6 -- "$znn" eval --seg map8.h5 --mode interior --gt gt.tif --threshold 0.4,0.6
scored planar planar 0.5 -- "$znn" eval --seg map.h5 --gt gt.tif --channel 1 --2d
scored affinity affinity 0.5,0.8 -- "$znn" eval --seg aff.h5 --gt gt.tif --threshold 0.5,0.8
scored centred centred -- "$znn" eval --seg small.h5 --gt gt.tif
grep -q "centre on centre" centred.log && ok "centred: the alignment is reported" || fail "centred: no alignment line"

# 2 ranks: every section stack joined across the ranks' faces, tables reduced over ranks
scored affinity_np2 affinity 0.5,0.8 -- "${mpi[@]}" "$znn" eval --seg aff.h5 --gt gt.tif --threshold 0.5,0.8
scored interior_np2 interior 0.3,0.5,0.7 -- "${mpi[@]}" "$znn" eval --seg map.h5 --gt gt.tif --channel 1 --threshold 0.3,0.5,0.7
# stacks of one or two sections: components joined across stacks within a rank, and across ranks
scored affinity_stacks affinity 0.5,0.8 -- "${mpi[@]}" "$znn" eval --seg aff.h5 --gt gt.tif --threshold 0.5,0.8 --stack-memory 0.05
scored interior_stacks interior 0.3,0.5,0.7 -- "$znn" eval --seg map.h5 --gt gt.tif --channel 1 --threshold 0.3,0.5,0.7 --stack-memory 0.1
scored labels_np2 labels -- "${mpi[@]}" "$znn" eval --seg seg.h5:/volumes/seg --gt gt.tif --mask mask.tif

# a job: znn forward's outputs against the samples' labels and masks
"$znn" synth --out data --shape 6,64,64 --seed 3 >/dev/null 2>&1 || fail "znn synth"
cp "$src/tests/train/tiny_boundary.znn" .
"$znn" init tiny_boundary.znn --out boundary.h5 --seed 1 >/dev/null 2>&1 || fail "znn init"
cat >job.cfg <<'CFG'
[parameters]
fnet_spec = tiny_boundary.znn
fdata_spec = data/synth.spec
num_threads = 2
out_type = boundary
forward_net = boundary.h5
forward_range = 1-2
forward_outsz = 1,16,16
is_bd_mirror = yes
output_prefix = out/job
CFG
expect 2 "no output of sample 1.*run znn forward" "$znn" eval -c job.cfg
"$znn" forward -c job.cfg >/dev/null 2>&1 || fail "znn forward"
if "$znn" eval -c job.cfg --threshold 0.45,0.55 >job.jsonl 2>job.log; then
    grep '"sample 1' job.jsonl >job1.jsonl
    grep '"sample 2' job.jsonl >job2.jsonl
    for s in 1 2; do
        if [ "$s" = 1 ]; then gt=data/train.h5:/volumes/labels/neuron_ids; mask=data/train.h5:/volumes/labels/mask
        else gt=data/test-labels.tif; mask=data/test-mask.tif; fi
        if out=$("$py" "$ref" check job job$s.jsonl out/job_sample${s}_output.h5 $gt $mask 0.45,0.55 2>&1); then
            ok "job sample $s: $out"; else fail "job sample $s: $out"; fi
    done
else
    fail "znn eval -c job.cfg"; tail -5 job.log
fi
expect 0 '"sample 2, output"' "$znn" eval -c job.cfg -r 2

# bad input: exit 2, the volume or option named
expect 2 "seg.h5:/nothing" "$znn" eval --seg seg.h5:/nothing --gt gt.tif
expect 2 "missing.tif" "$znn" eval --seg seg.h5:/volumes/seg --gt missing.tif
expect 2 "aff.h5:/main.*3 channels; ground truth" "$znn" eval --seg seg.h5:/volumes/seg --gt aff.h5
expect 2 "threshold" "$znn" eval --seg map.h5 --gt gt.tif --threshold 0.5,abc
expect 2 "channel 5 is not one of them" "$znn" eval --seg map.h5 --gt gt.tif --channel 5
expect 2 "does not overlap" "$znn" eval --seg map.h5 --gt gt.tif --offset 100,0,0
expect 2 "mask.*shape" "$znn" eval --seg map.h5 --gt gt.tif --mask small.h5
expect 2 "give --seg SEG and --gt GT" "$znn" eval --seg map.h5
expect 2 "either -c JOB.cfg or --seg" "$znn" eval -c job.cfg --seg map.h5 --gt gt.tif
expect 2 "does not overlap" "${mpi[@]}" "$znn" eval --seg map.h5 --gt gt.tif --offset 100,0,0
finish
