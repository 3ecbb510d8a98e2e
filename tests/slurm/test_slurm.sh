#!/bin/bash
# The slurm/ scripts under a real Slurm: a one-node cluster started on this machine for the test
# (tools/slurm-local; no systemd) and always stopped at the end, pass or fail. At 2 ranks on `znn
# synth` data it checks that
#  1. slurm/train.sbatch, cut by its one-minute time limit, gets the signal, checkpoints, exits 75,
#     is requeued (at least once) and finishes; its network file equals, dataset for dataset and bit
#     for bit, that of an uninterrupted run of the same job under mpirun (the same convolution plan);
#     every line of its log carries the restart count, and the signal's lead was checked;
#  2. slurm/forward-array.sbatch, three array tasks of one rank (two run at once, racing to create
#     the store), then slurm/forward.sbatch writing the output, equals a single slurm/forward.sbatch
#     job at 2 ranks bit for bit.
# Slurm holds a requeued job for about two minutes before it may start again; the test releases it
# at once (scontrol update StartTime=now), which changes when the run starts, not what it does.
#   tests/slurm/test_slurm.sh BUILD_DIR        (root; exit 77 = cannot run here, with the reason)
set -uo pipefail
build=$(cd "${1:?usage: test_slurm.sh BUILD_DIR}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
znn=$build/src/znn
py=/usr/bin/python3
work=$build/tests/slurm-work
cluster=$work/cluster

if [ "$(id -u)" -ne 0 ]; then echo "test_slurm: not run: starting Slurm's daemons needs root"; exit 77; fi
for exe in /usr/sbin/slurmctld /usr/sbin/slurmd /usr/bin/sbatch; do
    [ -x "$exe" ] || { echo "test_slurm: not run: $exe is missing (tools/install-deps installs Slurm)"; exit 77; }
done

fail() { echo "test_slurm: FAIL: $*"; exit 1; }
nudger=
cleanup() {
    [ -n "$nudger" ] && kill "$nudger" 2>/dev/null
    "$root/tools/slurm-local" down "$cluster" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$work"
mkdir -p "$work"
cd "$work" || exit 1
"$root/tools/slurm-local" up "$cluster" || fail "the one-node Slurm did not start"
export SLURM_CONF=$cluster/slurm.conf
export ZNN=$znn ZNN_HOME=$root
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_btl=self,vader
unset OMP_NUM_THREADS

# Release requeued jobs of this test's cluster 15 s after Slurm holds them (the node needs a few
# seconds to clean up the previous run's steps: KillWait is 10 s; sooner, srun cannot launch).
(declare -A held
while sleep 1; do
    now=$(date +%s)
    while read -r id state reason; do
        [ "$state" = PENDING ] && [ "$reason" = BeginTime ] || continue
        held[$id]=${held[$id]:-$now}
        [ $((now - held[$id])) -ge 15 ] && scontrol update JobId="$id" StartTime=now 2>/dev/null && unset "held[$id]"
    done < <(squeue -h -o '%i %T %r' 2>/dev/null)
done) &
nudger=$!

"$znn" synth --out data --shape 8,96,96 --seed 5 >/dev/null 2>&1 || fail "znn synth"
cp "$root/jobs/quickstart/n4.znn" .
cat > job.cfg <<'CFG'
[parameters]
fnet_spec = n4.znn
fdata_spec = data/synth.spec
num_threads = 1
out_type = boundary
seed = 3
train_range = 1
test_range = 2
train_outsz = 1,24,24
train_conv_mode = fft
eta = 0.01
momentum = 0.9
is_data_aug = yes
is_bd_mirror = yes
Num_iter_per_show = 100
Num_iter_per_test = 500
test_num = 2
Num_iter_per_save = 500
Max_iter = 1500
forward_range = 2
forward_outsz = 1,32,32
forward_conv_mode = fft
CFG

# ---- 1. training: cut by the time limit, requeued, equal to an uninterrupted run ----------------
start=$(date +%s)
sbatch --wait --time=1 --signal=B:USR1@55 --output=train-%j.out --export=ALL,ZNN_SIGNAL_LEAD=55 \
    "$root/slurm/train.sbatch" job.cfg --set train_net_prefix=slurm/n4 >/dev/null
rc=$?
log=$(ls train-*.out 2>/dev/null | head -n 1)
[ -n "$log" ] || fail "train.sbatch wrote no log"
echo "test_slurm: train.sbatch: exit $rc after $(( $(date +%s) - start )) s; its log:"
grep -E 'train.sbatch:|stopped at|resumed from|stop signal lead|done:' "$log" | sed 's/^/  /'
[ "$rc" -eq 0 ] || fail "train.sbatch exited $rc (see $work/$log)"
stops=$(grep -c 'stopped at iteration .* on request (signal 10)' "$log")
requeues=$(grep -c 'requeueing job [0-9]* (restart' "$log")
[ "$stops" -ge 1 ] || fail "the training was never stopped by the signal (the job ran uncut: make it longer)"
[ "$requeues" -eq "$stops" ] || fail "$stops stop(s) but $requeues requeue(s)"
grep -q "restart $requeues\] done: iteration 1500 of 1500" "$log" || fail "the last run (restart $requeues) did not finish Max_iter"
grep -q 'stop signal lead 55 s: enough' "$log" || fail "the signal lead was not checked"
untagged=$(grep -v -E '^\[[0-9:]{8} restart [0-9]+\] |^srun: |^slurmstepd' "$log" | head -n 3)
[ -z "$untagged" ] || fail "log lines without the restart count: $untagged"
echo "test_slurm: training stopped by the signal $stops time(s), requeued $requeues time(s)"

mpirun -np 2 --bind-to none "$znn" train -c job.cfg --set train_net_prefix=plain/n4 \
    --set conv_plan=slurm/n4_current.h5 >plain.log 2>&1 || fail "the uninterrupted run failed (plain.log)"
out=$($py "$root/tests/support/compare_networks.py" slurm/n4_current.h5 plain/n4_current.h5 --ignore-config) ||
    fail "the requeued run's network file differs from the uninterrupted run's: $out"
echo "test_slurm: the requeued run's network file equals the uninterrupted run's ($out)"

# ---- 2. inference: three array shards equal one job ---------------------------------------------
net=$work/plain/n4_current.h5
start=$(date +%s)
sbatch --wait --ntasks-per-node=2 --output=single-%j.out "$root/slurm/forward.sbatch" job.cfg -n "$net" \
    --set output_prefix=single/n4 >/dev/null || fail "forward.sbatch (single job) failed: $(tail -n 5 single-*.out)"
jid=$(sbatch --parsable --array=0-2 --output=array-%A_%a.out "$root/slurm/forward-array.sbatch" job.cfg -n "$net" \
    --set output_prefix=array/n4 --set conv_plan=single/n4_sample2_output.h5) || fail "cannot submit the array"
sbatch --wait --dependency=afterok:"$jid" --ntasks-per-node=2 --output=assemble-%j.out "$root/slurm/forward.sbatch" \
    job.cfg -n "$net" --set output_prefix=array/n4 --set conv_plan=single/n4_sample2_output.h5 >/dev/null ||
    fail "the assembling forward.sbatch failed: $(tail -n 5 assemble-*.out array-*.out)"
echo "test_slurm: forward: single job, 3 shards and the assembly in $(( $(date +%s) - start )) s"
for f in array-*.out; do grep -E 'shard [0-9]/3: blocks|store holds' "$f" | sed 's/^/  /'; done
grep -q '72 finished before; 0 to compute' assemble-*.out || fail "the assembling job computed blocks: the shards left some out"
[ "$(cat array-*.out | grep -c 'block(s) of this shard computed')" -eq 3 ] || fail "not every shard reported"
$py - single/n4_sample2_output.h5 array/n4_sample2_output.h5 <<'PYEOF' || fail "the shards' output differs from the single job's"
import sys, h5py, numpy as np
a, b = (h5py.File(p, "r")["main"][()] for p in sys.argv[1:3])
same = a.shape == b.shape and np.array_equal(a.view(np.uint8), b.view(np.uint8))
print(f"test_slurm: output {a.shape}: shards {'equal' if same else 'DIFFER from'} the single job bit for bit")
sys.exit(0 if same else 1)
PYEOF
echo "test_slurm: PASS"
