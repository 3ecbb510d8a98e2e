#!/bin/bash
# `znn train` end to end, through the command line, on `znn synth` data and the tiny test nets:
# determinism, resume equals uninterrupted, SIGTERM (exit 75) and resume, kill -9 at random moments
# and resume, two MPI ranks (and a signal to one of them), a full disk, NaN, bad input (exit 2,
# nothing written), the file layout as h5py reads it, and the learning-curve plot.
# usage: test_train_cli.sh ZNN MPIEXEC SOURCE_DIR [SCALE]
# SCALE (default 1) divides the long runs' iterations, for sanitizer builds whose iterations are about
# ten times slower: the runs last as long, so signals still land mid-run, and every check is made.
set -u
znn=$1; mpiexec=$2; src=$3; scale=${4:-1}
py=/usr/bin/python3
compare() { "$py" "$src/tests/support/compare_networks.py" "$@"; }
source "$src/tests/support/cli_checks.sh"
same() {  # same A B [compare options]: two network files hold the same training
    local out
    if out=$(compare "$@" --ignore-config); then ok "$1 = $2"; else fail "$1 != $2"; echo "$out" | sed 's/^/    /'; fi
}

"$znn" synth --out data --shape 6,64,64 --seed 2 >/dev/null 2>&1 || fail "znn synth"
cp "$src/tests/train/tiny_boundary.znn" "$src/tests/train/tiny_affinity.znn" .
cat >job.cfg <<'EOF'
[parameters]
fnet_spec = tiny_boundary.znn
fdata_spec = data/synth.spec
num_threads = 2
out_type = boundary
train_net_prefix = ref/net
train_range = 1
test_range = 2
train_outsz = 1,12,12
train_conv_mode = fft
eta = 0.05
momentum = 0.9
anneal_factor = 0.9
Num_iter_per_annealing = 15
is_bd_mirror = yes
rebalance_mode = patch
is_data_aug = yes
batch_size = 2
Num_iter_per_show = 10
Num_iter_per_test = 20
test_num = 3
Num_iter_per_save = 20
Max_iter = 60
EOF

# ---- a reference run; its convolution plan is every later run's -------------------------------
expect 0 "done: iteration 60 of 60" "$znn" train -c job.cfg
for f in ref/net_init.h5 ref/net_20.h5 ref/net_40.h5 ref/net_60.h5 ref/net_current.h5 ref/net_curve.csv; do
    [ -s "$f" ] || fail "$f was not written"
done
plan="conv_plan=$work/ref/net_init.h5"
# The original's layout, read by h5py: groups of the .znn with filters/biases and momentum_vol, the
# learning curve under /processing/znn/train/statistics.
expect 0 "^layout ok$" "$py" -c "
import h5py, numpy as np
f = h5py.File('ref/net_current.h5', 'r')
assert f['conv1/group_type'][()] == b'edge' and f['nconv1/group_type'][()] == b'node'
assert f['conv2/filters'].shape == (6, 6, 1, 3, 3) and f['conv2/momentum_vol'].shape == (6, 6, 1, 3, 3)
assert f['output/biases'].shape == (2,) and np.any(f['conv2/momentum_vol'][()] != 0)
s = '/processing/znn/train/statistics/'
assert list(f[s + 'train/it'][()]) == [10, 20, 30, 40, 50, 60] and list(f[s + 'test/it'][()]) == [20, 40, 60]
assert f[s + 'train/err'].shape == (6,) and f[s + 'test/cls'].shape == (3,) and (s + 'train/re') not in f
assert 'iteration 60' in f.attrs['znn_trainer'] and float(f.attrs['znn_eta']) == ((0.05 * 0.9) * 0.9) * 0.9  # annealed at 16, 31, 46
print('layout ok')"
expect 0 "^phase,iteration,cost" head -1 ref/net_curve.csv
[ "$(grep -c '^train,' ref/net_curve.csv)" -eq 6 ] && [ "$(grep -c '^test,' ref/net_curve.csv)" -eq 3 ] && ok "curve CSV has 6 train and 3 test points" || fail "curve CSV points"

# ---- determinism, resume, thread counts --------------------------------------------------------
expect 0 "done" "$znn" train -c job.cfg --set train_net_prefix=again/net --set "$plan"
same ref/net_60.h5 again/net_60.h5
expect 75 "stopped at iteration 25 after the 25 iteration" "$znn" train -c job.cfg --set train_net_prefix=cut/net --set "$plan" --iterations 25
# The signal's lead against one iteration plus a checkpoint plus 30 s: too short warns, long enough says so;
# a resumed run knows both figures from its checkpoint at once.
expect 75 "warning: the stop signal comes 5 s before the kill, but a stop needs about 3[0-9] s" \
    "$znn" train -c job.cfg --set train_net_prefix=lead/net --set "$plan" --iterations 3 --signal-lead 5
expect 75 "stop signal lead 600 s: enough \(one iteration [0-9.]+ s \+ a checkpoint [0-9.]+ s \+ 30 s margin\)" \
    "$znn" train -c job.cfg --set train_net_prefix=lead/net --set "$plan" --iterations 1 --signal-lead 600
expect 2 "signal-lead" "$znn" train -c job.cfg --set train_net_prefix=lead/net --signal-lead -3
expect 0 "resumed from .*cut/net_current.h5 at iteration 25" "$znn" train -c job.cfg --set train_net_prefix=cut/net --set "$plan"
same ref/net_40.h5 cut/net_40.h5
same ref/net_60.h5 cut/net_60.h5
cmp <(cut -d, -f1-4 ref/net_curve.csv) <(cut -d, -f1-4 cut/net_curve.csv) && ok "resumed curve CSV = uninterrupted" || fail "curve CSV after resume"
expect 0 "done" "$znn" train -c job.cfg --set train_net_prefix=one/net --set "$plan" --threads 1
same ref/net_60.h5 one/net_60.h5
expect 0 "nothing to do: iteration 60 of Max_iter 60" "$znn" train -c job.cfg --set "$plan"
# Adam with warm-up and cosine, cut at 33: the same as uninterrupted.
adam=(--set optimizer=adam --set eta=0.01 --set lr_schedule=cosine --set warmup_iter=10 --set anneal_factor=1 --set "$plan")
expect 0 "done" "$znn" train -c job.cfg --set train_net_prefix=adam/net "${adam[@]}"
expect 75 "stopped" "$znn" train -c job.cfg --set train_net_prefix=adamcut/net "${adam[@]}" --iterations 33
expect 0 "resumed" "$znn" train -c job.cfg --set train_net_prefix=adamcut/net "${adam[@]}"
same adam/net_60.h5 adamcut/net_60.h5

# ---- signals and kill -9 on a longer run ---------------------------------------------------------
# Output patches of 1,40,40 make an iteration slow enough (a few ms) for signals to land mid-run.
L=$((1200 / scale)); L2=$((3000 / scale)); save=$((100 / scale)); show=$((50 / scale)); test=$((200 / scale))
long=(--set Max_iter=$L --set train_outsz=1,40,40 --set Num_iter_per_save=$save --set Num_iter_per_show=$show --set Num_iter_per_test=$test)
expect 75 "stopped at iteration 1" "$znn" train -c job.cfg --set train_net_prefix=longplan/net "${long[@]}" --iterations 1
long+=(--set "conv_plan=$work/longplan/net_init.h5")
expect 0 "done: iteration $L" "$znn" train -c job.cfg --set train_net_prefix=long/net "${long[@]}"
# wait_running FILE: until the run has written its first periodic checkpoint FILE (or 60 s); a log
# would not do under mpiexec, which may hold the ranks' output back when it goes to a file.
wait_running() { for _ in $(seq 1200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
"$znn" train -c job.cfg --set train_net_prefix=sig/net "${long[@]}" >sig.log 2>&1 &
pid=$!
wait_running sig/net_$save.h5; kill -TERM $pid; wait $pid; rc=$?
if [ "$rc" -eq 75 ] && grep -q "on request (signal 15)" sig.log; then ok "SIGTERM: exit 75 after a checkpoint"; else fail "SIGTERM: exit $rc"; tail -5 sig.log; fi
stopped=$(grep -o "stopped at iteration [0-9]*" sig.log | grep -o "[0-9]*$")
[ -n "$stopped" ] && [ -s "sig/net_$stopped.h5" ] && ok "checkpoint sig/net_$stopped.h5 at the stop" || fail "no checkpoint at the stop"
expect 0 "resumed from .* at iteration $stopped" "$znn" train -c job.cfg --set train_net_prefix=sig/net "${long[@]}"
same long/net_$L.h5 sig/net_$L.h5
# kill -9 at random moments, resuming each time; every published checkpoint must load.
kills=0
for attempt in 1 2 3 4 5; do
    "$znn" train -c job.cfg --set train_net_prefix=kill/net "${long[@]}" >kill.log 2>&1 &
    pid=$!
    sleep "0.$((RANDOM % 9 + 1))"
    if kill -9 $pid 2>/dev/null; then kills=$((kills + 1)); fi
    wait $pid 2>/dev/null
    if [ -e kill/net_current.h5 ]; then
        "$py" -c "import h5py; h5py.File('kill/net_current.h5', 'r')['conv1/filters'][()]" 2>/dev/null || fail "kill -9 left an unreadable kill/net_current.h5"
    fi
done
echo "  (temporary files of killed writes: $(ls -a kill | grep -c tmp))"
expect 0 "done: iteration $L" "$znn" train -c job.cfg --set train_net_prefix=kill/net "${long[@]}"
[ "$(ls -a kill | grep -c tmp)" -eq 0 ] && ok "no temporary file left after the resume" || fail "temporary files left: $(ls -a kill | grep tmp)"
echo "  ($kills kill -9 during the run)"
same long/net_$L.h5 kill/net_$L.h5

# ---- two MPI ranks ---------------------------------------------------------------------------------
mpi=("$mpiexec" -n 2 --oversubscribe --bind-to none)
long2=("${long[@]}" --set Max_iter=$L2 --threads 1)
expect 0 "2 rank\(s\) x 1 thread" "${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2/net "${long2[@]}"
expect 0 "done" "${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2again/net "${long2[@]}"
same r2/net_$L2.h5 r2again/net_$L2.h5
# Reductions started during backward (small buckets: several per iteration) give the same bits.
expect 0 "done" "${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2overlap/net "${long2[@]}" --set grad_overlap=yes --set grad_bucket_mb=0.001
expect 0 "done" "${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2small/net "${long2[@]}" --set grad_bucket_mb=0.001
same r2overlap/net_$L2.h5 r2small/net_$L2.h5
# A signal to one rank stops both, at one iteration, with one checkpoint; resuming gives the same network.
"${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2sig/net "${long2[@]}" >r2sig.log 2>&1 &
pid=$!
wait_running r2sig/net_$save.h5
rank=$(pgrep -P $pid | tail -1)  # the ranks are mpiexec's children
if [ -n "$rank" ]; then kill -USR1 "$rank"; else fail "no rank process found"; fi
wait $pid; rc=$?
[ "$rc" -eq 75 ] && ok "SIGUSR1 to one rank: mpiexec exits 75" || { fail "SIGUSR1 to one rank: exit $rc"; tail -5 r2sig.log; }
[ "$(grep -c "on request (signal 10)" r2sig.log)" -eq 1 ] && ok "one stop message, from rank 0" || fail "stop messages: $(grep -c 'on request' r2sig.log)"
expect 0 "resumed" "${mpi[@]}" "$znn" train -c job.cfg --set train_net_prefix=r2sig/net "${long2[@]}"
same r2/net_$L2.h5 r2sig/net_$L2.h5

# ---- a full disk, a diverging run, MALIS -----------------------------------------------------------
expect 75 "stopped" "$znn" train -c job.cfg --set train_net_prefix=full/net --set "$plan" --iterations 20
size=$(stat -c %s full/net_20.h5)
# Files may grow to a third of a checkpoint: the next checkpoint cannot be written.
( trap '' XFSZ; ulimit -f $((size / 3072)); exec "$znn" train -c job.cfg --set train_net_prefix=full/net --set "$plan" ) >full.log 2>&1
rc=$?
[ "$rc" -eq 1 ] && grep -q "full/net_40.h5" full.log && ok "a full disk: exit 1 naming the checkpoint" || { fail "full disk: exit $rc"; tail -3 full.log; }
expect 0 "iteration 20" "$py" -c "import h5py; print(h5py.File('full/net_current.h5', 'r').attrs['znn_trainer'].splitlines()[0])"
[ -z "$(ls -a full | grep tmp)" ] && ok "nothing half-written left" || fail "temporary files left: $(ls -a full)"
expect 1 "iteration [0-9]+: .*(NaN|infinite).*last good state is .*diverge/net_(init|current).h5" "$znn" train -c job.cfg --set train_net_prefix=diverge/net --set "$plan" --set eta=1e6
# is_debug: the first node group that is not finite is named, the diverged patch is kept, and every
# checkpoint holds the last patch as the original stored it.
expect 1 "node group '[a-z0-9]+' is the first not finite.*its patch is in .*debug/net_diverged_[0-9]+.h5" \
    "$znn" train -c job.cfg --set train_net_prefix=debug/net --set "$plan" --set eta=1e6 --set is_debug=yes
expect 0 "^diverged patch ok$" "$py" -c "
import glob, h5py
f = h5py.File(glob.glob('debug/net_diverged_*.h5')[0], 'r')
p = '/processing/znn/train/patch/'
assert f[p + 'inputs/input'].shape == (1, 1, 19, 19) and f[p + 'lbls/output'].shape == (2, 1, 12, 12)
assert p + 'props/output' in f and p + 'grdts/output' in f and p + 'weights/output' in f
print('diverged patch ok')"
expect 0 "done" "$znn" train -c job.cfg --set train_net_prefix=debugok/net --set "$plan" --set is_debug=yes --set Max_iter=30 --set Num_iter_per_save=10
expect 0 "^debug checkpoint ok$" "$py" -c "
import h5py
f = h5py.File('debugok/net_current.h5', 'r')
assert f['/processing/znn/train/patch/inputs/input'].shape == (1, 1, 19, 19)
print('debug checkpoint ok')"
cat >malis.cfg <<'EOF'
[parameters]
fnet_spec = tiny_affinity.znn
fdata_spec = data/synth.spec
out_type = affinity
train_net_prefix = malis/net
train_range = 1
test_range = 2
train_outsz = 2,8,8
eta = 0.05
is_malis = yes
malis_norm_type = frac
is_bd_mirror = yes
Num_iter_per_show = 10
Num_iter_per_test = 20
test_num = 2
Num_iter_per_save = 20
Max_iter = 40
EOF
expect 0 "update 10/40, cost: [0-9.]+, pixel error: [0-9.]+, rand error: [0-9.]+, me: [0-9.]+, mc: [0-9.]+" "$znn" train -c malis.cfg
expect 0 "done" "$znn" train -c malis.cfg --set train_net_prefix=cmalis/net --set is_constrained_malis=yes --set malis_norm_type=none
# Direct (oneDNN) layers: the same bits run after run at one thread count.
expect 0 "done" "$znn" train -c malis.cfg --set train_net_prefix=direct1/net --set train_conv_mode=direct
expect 0 "done" "$znn" train -c malis.cfg --set train_net_prefix=direct2/net --set train_conv_mode=direct
same direct1/net_40.h5 direct2/net_40.h5
expect 0 "^malis ok$" "$py" -c "
import h5py, numpy as np
f = h5py.File('malis/net_current.h5', 'r')
s = '/processing/znn/train/statistics/'
for k in ('re', 'mc', 'me'): assert f[s + 'train/' + k].shape == (4,) and np.all(np.isfinite(f[s + 'train/' + k][()]))
print('malis ok')"

# ---- bad input: exit 2 before anything is written -----------------------------------------------
bad() {  # bad PATTERN ARGS...: exit 2 with PATTERN, and the prefix directory bad/ never made
    rm -rf bad
    expect 2 "$@" && { [ -e bad ] && fail "bad input wrote $(ls -R bad | head -3)" || true; }
}
printf 'nodes input\ntype input\nsize 1\nedges c\ntype conv\ninit xavier\nsize 1,3,3\ninput input\noutput output\nnodes output\ntype transfer\nfunction linear\nsize 3\n' >three.znn
bad "three.znn:[0-9]+: out_type boundary needs 2 maps on the output node group 'output', which has 3" \
    "$znn" train -c job.cfg --set train_net_prefix=bad/net --set fnet_spec=three.znn
"$znn" init tiny_affinity.znn --out other.h5 >/dev/null 2>&1
bad "other.h5.*(does not match|shares no parameter group)" "$znn" train -c job.cfg --set train_net_prefix=bad/net -s other.h5
bad "no patch position fits" "$znn" train -c job.cfg --set train_net_prefix=bad/net --set train_outsz=1,80,80 --set is_bd_mirror=no
bad "is_malis: MALIS weights affinity graphs; out_type is boundary" "$znn" train -c job.cfg --set train_net_prefix=bad/net --set is_malis=yes
touch afile
bad "train_net_prefix: .*cannot write here: '.*afile' is not a directory" "$znn" train -c job.cfg --set train_net_prefix=afile/sub/net
bad "unknown key 'max_iteration'" "$znn" train -c job.cfg --set train_net_prefix=bad/net --set max_iteration=5
bad "no such seed network file" "$znn" train -c job.cfg --set train_net_prefix=bad/net -s missing.h5
# is_check: one iteration, nothing written.
expect 0 "is_check: iteration 1 ran" "$znn" train -c job.cfg --set train_net_prefix=bad/net -k yes
[ -e bad ] && fail "is_check wrote files" || ok "is_check wrote nothing"
# znn check agrees: a missing (creatable) prefix directory is fine; MALIS on a boundary output is not.
expect 0 "check passed" "$znn" check -c job.cfg --set train_net_prefix=new/dir/net
expect 2 "is_malis: MALIS weights affinity graphs" "$znn" check -c job.cfg --set is_malis=yes

# ---- the learning-curve plot -------------------------------------------------------------------------
expect 0 "wrote curve.png" "$src/tools/plot-curve" ref/net_curve.csv -o curve.png
expect 0 "wrote malis.png" "$src/tools/plot-curve" malis/net_current.h5 -o malis.png
expect 0 "^png$" "$py" -c "print('png' if open('curve.png', 'rb').read(8) == b'\\x89PNG\\r\\n\\x1a\\n' else 'not png')"

# ---- the quickstart job's own files stay valid ----------------------------------------------------
mkdir qs && cp "$src"/jobs/quickstart/quickstart.cfg "$src"/jobs/quickstart/quickstart.spec "$src"/jobs/quickstart/n4.znn qs/
"$znn" synth --out qs/data --shape 4,160,160 --seed 1 >/dev/null 2>&1 || fail "synth for the quickstart"
expect 0 "check passed" "$znn" check -c qs/quickstart.cfg
expect 0 "validation pixel error" "$znn" train -c qs/quickstart.cfg --set Max_iter=2 --set Num_iter_per_show=1 --set Num_iter_per_test=2 \
    --set Num_iter_per_save=1 --set test_num=1 --set train_outsz=1,8,8

finish
