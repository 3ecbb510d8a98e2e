# Shared by the slurm/*.sbatch scripts (sourced, not run): finds znn, builds the launch command for
# ranks x threads, logs with the restart count, and runs znn so that the batch shell outlives the
# batch system's signals, passes them on to the ranks as SIGUSR1, and sees znn's exit code.

# The batch script runs from a copy in Slurm's spool directory: paths are taken from where sbatch was
# called (SLURM_SUBMIT_DIR), as Slurm itself does.
cd "${SLURM_SUBMIT_DIR:-.}"
restart=${SLURM_RESTART_COUNT:-0}

say() { echo "[$(date +%H:%M:%S) restart $restart] $script_name: $*" >&2; }
die() { say "error: $*"; exit 2; }

# znn: $ZNN, else build/src/znn of the submit directory, else the one on PATH.
if [ -z "${ZNN:-}" ]; then
    if [ -x build/src/znn ]; then ZNN=$PWD/build/src/znn; else ZNN=$(command -v znn || true); fi
fi
[ -n "$ZNN" ] && [ -x "$ZNN" ] || die "no znn: set ZNN=/path/to/znn, or submit from the checkout that has build/src/znn"

# One rank per task, each on its own cpus-per-task cores. ZNN_LAUNCH=srun (default): srun with PMIx,
# given --cpus-per-task again (Slurm 22.05 and later no longer pass it on from sbatch).
# ZNN_LAUNCH=mpirun: Open MPI's mpirun, which reads the allocation from Slurm; its default binds each
# rank to ONE core, so each rank is mapped to its own cpus-per-task cores instead.
threads=${SLURM_CPUS_PER_TASK:-1}
case "${ZNN_LAUNCH:-srun}" in
srun) launch=(srun --mpi=pmix --cpus-per-task="$threads" --kill-on-bad-exit=1) ;;
mpirun)
    export OMPI_ALLOW_RUN_AS_ROOT=${OMPI_ALLOW_RUN_AS_ROOT:-1} OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=${OMPI_ALLOW_RUN_AS_ROOT_CONFIRM:-1}
    launch=(mpirun --map-by "slot:PE=$threads" --bind-to core) ;;
*) die "ZNN_LAUNCH must be srun or mpirun, not '$ZNN_LAUNCH'" ;;
esac
# znn takes its threads per rank from SLURM_CPUS_PER_TASK (unless --threads or OMP_NUM_THREADS).

# Runs znn under the launcher in the background and waits for it, so that a signal to the batch shell
# (SIGTERM at the time limit, a USR1 sent with --signal=B:USR1@...) does not end the shell before
# znn has stopped: the signal is passed on to the ranks, which stop at a safe point. Sets $rc.
run_znn() {
    say "${launch[*]} $ZNN $*"
    "${launch[@]}" "$ZNN" "$@" &
    local pid=$!
    # Always SIGUSR1 to the launcher: srun and mpirun both pass it on to every rank (mpirun answers a
    # SIGTERM by killing the ranks a few seconds later, before a checkpoint could be written).
    trap "say 'SIGUSR1 received: passed on to znn'; kill -USR1 $pid 2>/dev/null || true" USR1
    trap "say 'SIGTERM received: passed on to znn'; kill -USR1 $pid 2>/dev/null || true" TERM
    rc=0
    while :; do
        wait "$pid" && rc=0 || rc=$?
        kill -0 "$pid" 2>/dev/null || break   # a signal ended wait, not znn: wait again
    done
    trap - USR1 TERM
    say "znn exited with code $rc"
}

# After znn exits 75 (stopped with its work saved): requeue this job (ZNN_REQUEUE=requeue, the
# default; needs scontrol and --requeue permitted), or leave the next run to the next job of a
# --dependency=singleton chain (ZNN_REQUEUE=chain). Exits the script.
requeue_or_exit() {
    if [ "$rc" -ne 75 ]; then exit "$rc"; fi
    case "${ZNN_REQUEUE:-requeue}" in
    requeue)
        # The line comes first: once Slurm accepts the requeue it may end this script before
        # scontrol returns, and a line written after it would be lost.
        if command -v scontrol >/dev/null; then
            say "stopped with its work saved: requeueing job $SLURM_JOB_ID (restart $((restart + 1)) continues)"
            scontrol requeue "$SLURM_JOB_ID" && exit 0
        fi
        say "'scontrol requeue $SLURM_JOB_ID' failed: submit the same command again," \
            "or use a --dependency=singleton chain (ZNN_REQUEUE=chain, see the top of this script)"
        exit 75 ;;
    chain)
        say "stopped with its work saved: the next job of the --dependency=singleton chain continues"
        exit 0 ;;
    *) die "ZNN_REQUEUE must be requeue or chain, not '$ZNN_REQUEUE'" ;;
    esac
}

# The lead of the stop signal, for znn's check that a checkpoint fits in it: $ZNN_SIGNAL_LEAD, else
# the @LEAD of this script's own "#SBATCH --signal" line (sbatch --signal on the command line is not
# visible inside the job: set ZNN_SIGNAL_LEAD too), else Slurm's KillWait (the grace after SIGTERM).
signal_lead() {
    local lead=${ZNN_SIGNAL_LEAD:-}
    [ -n "$lead" ] || lead=$(sed -n 's/^#SBATCH[[:space:]]\{1,\}--signal=[^@]*@\([0-9]\{1,\}\).*/\1/p' "$script_path" | head -n 1)
    if [ -z "$lead" ] && command -v scontrol >/dev/null; then
        lead=$(scontrol show config 2>/dev/null | awk '$1 == "KillWait" { print $3 }')
    fi
    echo "${lead:-0}"
}
