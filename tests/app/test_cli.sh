#!/bin/bash
# End-to-end checks of the znn command line: exit codes, messages, and the MPI error policy.
# usage: test_cli.sh ZNN ERROR_POLICY_HELPER MPIEXEC
set -u
znn=$1; helper=$2; mpiexec=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
failures=0

# expect CODE PATTERN COMMAND...: runs COMMAND (60 s limit), checks its exit code and that its combined
# output matches the extended regex PATTERN.
expect() {
    local code=$1 pattern=$2; shift 2
    local out rc
    out=$(timeout 60 "$@" 2>&1); rc=$?
    if [ "$rc" -ne "$code" ]; then
        echo "FAIL: '$*' exited $rc, expected $code"; echo "$out" | sed 's/^/    /'; failures=$((failures + 1)); return
    fi
    if ! grep -Eq -- "$pattern" <<<"$out"; then
        echo "FAIL: '$*' output does not match /$pattern/"; echo "$out" | sed 's/^/    /'; failures=$((failures + 1)); return
    fi
    echo "ok: $*"
}
# count_lines PATTERN COUNT COMMAND...: the output has exactly COUNT lines matching PATTERN.
count_lines() {
    local pattern=$1 count=$2; shift 2
    local n
    n=$(timeout 60 "$@" 2>&1 | grep -Ec -- "$pattern")
    if [ "$n" -ne "$count" ]; then echo "FAIL: '$*' printed /$pattern/ $n times, expected $count"; failures=$((failures + 1)); else echo "ok: $* prints it $count time(s)"; fi
}

expect 2 "no command given" "$znn"
expect 2 "unknown command 'bogus' \(commands: version, convert, init, apply, info, check, train, forward, eval, synth, bench\)" "$znn" bogus
expect 0 "^znn [0-9]+\.[0-9]+\.[0-9]+ \(git " "$znn" version
expect 0 "HDF5: +1\.10" "$znn" --version
expect 0 "usage: znn convert IN OUT" "$znn" convert --help
expect 0 "usage: znn convert IN OUT" "$znn" help convert
expect 2 "the option '--out' is required" "$znn" convert "$work/a.tif"
expect 2 "unrecognised option '--frobnicate'|unrecognized option '--frobnicate'" "$znn" convert a.tif b.h5 --frobnicate
expect 2 "^znn: error: $work/missing.tif: no such file$" "$znn" convert "$work/missing.tif" "$work/b.h5"
expect 2 "--dtype: unknown element type 'float16'" "$znn" convert a.tif b.h5 --dtype float16
expect 2 "--offset: expected z,y,x" "$znn" convert a.tif b.h5 --offset 1,2
expect 2 "unknown volume format" "$znn" convert "$work/a.png" "$work/b.h5"
expect 2 "--log-level: unknown level 'loud'" "$znn" version --log-level loud

# A real conversion, then the refusal to overwrite, then an explicit overwrite.
/usr/bin/python3 -c "import numpy as np, tifffile; tifffile.imwrite('$work/v.tif', np.arange(24, dtype=np.uint16).reshape(2,3,4), photometric='minisblack')" || failures=$((failures + 1))
expect 0 "converted .*v.tif -> .*v.h5:/main: uint16, shape 1x2x3x4" "$znn" convert "$work/v.tif" "$work/v.h5"
expect 2 "v.h5: file exists" "$znn" convert "$work/v.tif" "$work/v.h5"
expect 0 "converted" "$znn" convert "$work/v.tif" "$work/v.h5" --overwrite --gzip 9

# Benchmarks: one JSON line, checked against the naive oracle; bad shapes are usage errors.
for algo in direct fft auto; do
    expect 0 '^\{"bench":"conv","problem":"b2_i3x6x9x10_o4_k3x3x3_d1x2x1".*"max_rel_error":[0-9.e-]+,"tolerance":1e-05,"check":"pass"\}$' \
        "$znn" bench conv --in 3,6,9,10 --out 4 --kernel 3,3,3 --dilation 1,2,1 --batch 2 --algo $algo --iters 1 --check --plan estimate \
        --tolerance 1e-5
    # The value itself, not only its presence: float engines against the float oracle, well under 1e-5.
    err=$("$znn" bench conv --in 3,6,9,10 --out 4 --kernel 3,3,3 --dilation 1,2,1 --batch 2 --algo $algo --iters 1 --check \
          --plan estimate 2>/dev/null | sed -n 's/.*"max_rel_error":\([0-9.e+-]*\).*/\1/p')
    if [ -n "$err" ] && awk -v e="$err" 'BEGIN { exit !(e < 1e-5) }'; then echo "ok: $algo max_rel_error $err"
    else echo "FAIL: $algo max_rel_error '$err'"; failures=$((failures + 1)); fi
done
# Above its tolerance the check fails with exit 1 (and still prints the figures).
expect 1 "fft differs from the naive oracle by more than --tolerance 1e-15" \
    "$znn" bench conv --in 3,6,9,10 --out 4 --kernel 3,3,3 --algo fft --iters 1 --check --plan estimate --tolerance 1e-15
expect 0 '"pass":"fwd"' "$znn" bench conv --in 2,5,5,5 --out 2 --kernel 2,2,2 --algo direct --pass fwd --iters 1
expect 2 "--in: expected C,Z,Y,X" "$znn" bench conv --in 2,5,5 --out 2 --kernel 2,2,2
expect 2 "kernel extent 9,9,9 is larger than the input 5,5,5" "$znn" bench conv --in 2,5,5,5 --out 2 --kernel 9,9,9
expect 2 "unknown benchmark 'gpu' \(benchmarks: conv, pool, net, data, malis, allreduce\)" "$znn" bench gpu
expect 0 '^\{"bench":"malis","size":\[2,9,10\].*"speedup":[0-9.e+]+,"max_rel_difference":0\}$' "$znn" bench malis --size 2,9,10 --iters 1 --reference --norm frac
expect 0 '"op":"max_filter".*"gbytes_per_s"' "$znn" bench pool --in 2,4,20,20 --window 2,2,2 --iters 1
expect 2 "max-pool window 2,2,2 does not divide its input 4,21,20" "$znn" bench pool --in 2,4,21,20 --window 2,2,2 --pool
expect 2 "--algo: unknown algorithm 'winograd'" "$znn" bench conv --in 2,5,5,5 --out 2 --kernel 2,2,2 --algo winograd

# Synthetic data, and a job checked against it: every problem reported at once, with its location.
expect 0 "wrote 9 files to $work/synth \(volumes 4,48,40, seed 3\)" "$znn" synth --out "$work/synth" --shape 4,48,40 --seed 3
expect 2 "train.h5: file exists \(use --overwrite" "$znn" synth --out "$work/synth" --shape 4,48,40 --seed 3
expect 2 "--shape: every component must be > 0" "$znn" synth --out "$work/synth2" --shape 0,48,40
mkdir -p "$work/nets" && cp "$(dirname "$0")/../../configs/nets/N4.znn" "$work/n.znn"
printf '[parameters]\nfnet_spec = n.znn\nfdata_spec = synth/synth.spec\ntrain_range = 1\ntest_range = 2\ntrain_net_prefix = nets/net\ntrain_outsz = 1,20,20\nis_bd_mirror = yes\n' >"$work/good.cfg"
expect 0 "check passed" "$znn" check -c "$work/good.cfg"
expect 0 "^fdata_spec = $work/synth/synth.spec$" "$znn" check -c "$work/good.cfg"
expect 0 "$work/synth/test-labels.tif  uint16 1x4x48x40" "$znn" check -c "$work/good.cfg"
expect 0 "^eta = 0.5$" "$znn" check -c "$work/good.cfg" --set eta=0.5
expect 0 "train patches: input 'input' 1,114,114 \(field of view 1,95,95\), output 'output' 1,20,20" "$znn" check -c "$work/good.cfg"
expect 2 "n.znn:128: out_type affinity needs 3 maps on the output node group 'output', which has 2" "$znn" check -c "$work/good.cfg" --set out_type=affinity
expect 2 "synth.spec:[0-9]+: sample 1: no patch position fits in every volume" "$znn" check -c "$work/good.cfg" --set is_bd_mirror=no

# Networks: what they are at a patch size, every problem of a bad one at once.
expect 0 "input       input: 1 x 1,194,194  \(field of view 1,95,95\)" "$znn" info "$work/n.znn" --outsz 1,100,100
expect 0 "parameters  219290" "$znn" info "$work/n.znn" --outsz 1,100,100 --dot "$work/n4.dot"
expect 0 "digraph" cat "$work/n4.dot"
printf 'nodes input\ntype input\nsize 1\nedges c\ntype conv\ninit xavir\nsize 1,3,3\ninput input\noutput out\nnodes out\ntype transfer\nsize 2\n' >"$work/bad.znn"
expect 2 "bad.znn:6: init: unknown init 'xavir' \(did you mean 'xavier'\?\)" "$znn" info "$work/bad.znn"
expect 2 "bad.znn:10: nodes group 'out' needs 'function'" "$znn" info "$work/bad.znn"
printf '[parameters]\nfnet_spec = none.znn\nfdata_spec = bad.spec\ntrain_range = 1-2\nlerning_rate = 1\neta = fast\n' >"$work/bad.cfg"
printf '[image1]\nfnames = synth/train.h5:/volumes/rawdata\n[label1]\nfnames = synth/train.h5:/volumes/labels/neuron_ids\nfmasks = synth/mask.tif\n[sample1]\ninput = 1\noutput = 1\n' >"$work/bad.spec"
expect 2 "^znn: error: 8 problems:$" "$znn" check -c "$work/bad.cfg" --set momentum=2
expect 2 "bad.cfg:5: unknown key 'lerning_rate'" "$znn" check -c "$work/bad.cfg"
expect 2 "bad.cfg:6: eta: expected a number, got 'fast'" "$znn" check -c "$work/bad.cfg"
expect 2 "--set momentum: momentum: must be in \[0, 1\], got 2" "$znn" check -c "$work/bad.cfg" --set momentum=2
expect 2 "bad.cfg:2: fnet_spec: no such file: $work/none.znn" "$znn" check -c "$work/bad.cfg"
# Each at the line that names the volume (fnames, fmasks).
expect 2 "bad.spec:2: $work/synth/train.h5:/volumes/rawdata: no such dataset" "$znn" check -c "$work/bad.cfg"
expect 2 "bad.spec:5: $work/synth/mask.tif: no such file" "$znn" check -c "$work/bad.cfg"
expect 2 "bad.cfg:4: train_range names sample 2, but there is no \[sample2\]" "$znn" check -c "$work/bad.cfg"
expect 2 "bad.cfg: train_range is set but train_net_prefix is not" "$znn" check -c "$work/bad.cfg"
expect 0 "^Max_iter = 400000$" "$znn" check --reference

# Network files: init, apply (one dense pass), and the whole-network benchmark.
expect 0 "wrote $work/n4.h5: 219290 parameters" "$znn" init "$work/n.znn" --out "$work/n4.h5" --seed 2
expect 2 "n4.h5: file exists" "$znn" init "$work/n.znn" --out "$work/n4.h5"
/usr/bin/python3 -c "import h5py, numpy as np; h5py.File('$work/img.h5','w')['main'] = np.random.default_rng(1).random((1, 100, 101), dtype=np.float32)" || failures=$((failures + 1))
expect 0 "-> $work/img_out.h5:/main 1,6,7 in" "$znn" apply "$work/n.znn" --weights "$work/n4.h5" --input "$work/img.h5" --output "$work/img_out.h5" --softmax --preprocess standard2D
expect 0 "^\(2, 1, 6, 7\) 1.0$" /usr/bin/python3 -c "import h5py, numpy as np; a = h5py.File('$work/img_out.h5')['main'][()]; print(a.shape, round(float(a.sum(0).mean()), 4))"
expect 2 "v.tif: is 2,3,4, smaller than the network's field of view 1,95,95" "$znn" apply "$work/n.znn" --weights "$work/n4.h5" --input "$work/v.tif" --output "$work/x.h5"
expect 0 '^\{"bench":"net".*"mode":"train".*"groups":\[\{"group":"conv1"' "$znn" bench net "$work/n.znn" --outsz 1,4,4 --iters 1 --threads 2
expect 0 '"simulated_speedup":\{"4":[0-9.]+,"144":[0-9.]+\}' "$znn" bench net "$work/n.znn" --outsz 1,4,4 --iters 1 --simulate-cores 4,144
expect 0 '"mode":"forward".*"conv":"fft' "$znn" bench net "$work/n.znn" --outsz 1,4,4 --iters 1 --mode forward --conv fft
expect 0 '"phases_s":\{"kernel fft":[0-9.e-]+,"input fft":' "$znn" bench net "$work/n.znn" --outsz 1,4,4 --iters 2 --mode forward --conv fft

# One thread team: oneDNN runs on the pool's OpenMP team; how idle threads wait is the runtime's
# default, or the user's choice, never rewritten (znn starts once: no restart sets it).
expect 0 'oneDNN: .*on the thread pool.s OpenMP team; the runtime.s default wait\)' env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT "$znn" version
expect 0 'oneDNN: .*OMP_WAIT_POLICY passive\)' env -u GOMP_SPINCOUNT OMP_WAIT_POLICY=passive "$znn" version
expect 0 'threads:  one team per rank: (OpenMP|std::thread)' "$znn" version  # std::thread: the pool under ThreadSanitizer

# Under MPI: a shared error is printed once by rank 0 and every rank exits 2.
mpi=("$mpiexec" -n 2 --oversubscribe --bind-to none)
expect 0 "2 rank\(s\)" "${mpi[@]}" "$znn" version
count_lines "^znn [0-9]" 1 "${mpi[@]}" "$znn" version
expect 0 '^\{"bench":"allreduce","ranks":2,"mib":0.5,"median_s":[0-9.e-]+,"min_s":[0-9.e-]+,"nonblocking_median_s":[0-9.e-]+,"bus_gbytes_per_s":[0-9.e+]+\}$' "${mpi[@]}" "$znn" bench allreduce --mb 0.5 --iters 2
expect 2 "no such file" "${mpi[@]}" "$znn" convert "$work/missing.tif" "$work/c.h5"
count_lines "no such file" 1 "${mpi[@]}" "$znn" convert "$work/missing.tif" "$work/c.h5"
expect 0 "converted" "${mpi[@]}" "$znn" convert "$work/v.tif" "$work/mpi.h5"
expect 2 "^znn: error: job.cfg:7: bad key$" "${mpi[@]}" "$helper" shared
count_lines "bad key" 1 "${mpi[@]}" "$helper" shared
count_lines "check passed" 1 "${mpi[@]}" "$znn" check -c "$work/good.cfg"
count_lines "no such dataset" 1 "${mpi[@]}" "$znn" check -c "$work/bad.cfg"
# A local error on one rank while the others wait: abort everything (exit 1), never hang.
expect 1 "znn: error: out.h5: disk full \(rank 1\)" "${mpi[@]}" "$helper" local

echo "$failures failure(s)"
[ "$failures" -eq 0 ]
