#pragma once
/// @file
/// @brief The training loop of a `.cfg` job: the original ZNN's (reference §5.1), on MPI ranks.
///
/// Construction (collective over the communicator) checks the whole job before anything is written
/// — the options, the network against the sample spec, every sample's volumes against the patch
/// sizes, the seed file, where checkpoints go — and every problem is one InputError (exit code 2).
/// Then it loads the samples (each rank its slab), builds the training network and, with a
/// `test_range`, a validation network (batch 1, TEST phase) on the same parameters, and starts:
///  - resumed from `<prefix>_current.h5` when it exists (weights, optimizer state, learning rate,
///    iteration, curve; the convolution plan it stored; `-s` is then ignored, with a warning, so that
///    a requeued job never starts over);
///  - else seeded from `-s SEED.h5` (groups copied by name, `seeding 0` skipped; a shape that does
///    not match or a seed that shares no group with the network is an error);
///  - else initialised from `seed` by rank 0 and broadcast.
/// A new run writes `<prefix>_init.h5`.
///
/// Each iteration, on every rank: the next batch of B patches (made ahead by a background thread),
/// forward, the cost (loss.hpp) with masks and rebalance weights, MALIS weights (malis.hpp) for
/// `is_malis`, backward with the gradients averaged over ranks in buckets as they finish
/// (grad_sync.hpp), one small all-reduce of the iteration's sums and flags, the optimizer step at
/// the scheduled rate with gradient scale 1 / (B · output patch voxels). Every `Num_iter_per_show`
/// rank 0 prints a progress line; every `Num_iter_per_test`, validation; every `Num_iter_per_save`
/// (and at the end), rank 0 writes a checkpoint.
///
/// Faults:
///  - a stop request (SIGTERM, SIGUSR1 or SIGINT on any rank, through `stop_signal`) is agreed on
///    by all ranks in that iteration's all-reduce; the iteration completes, rank 0 writes a
///    checkpoint, and run() returns Stopped (the command exits 75);
///  - a NaN or infinite cost or gradient — seen by every rank, since both are all-reduced — throws
///    NumericError naming the iteration before the update, so the last checkpoint stays the last
///    good one; with `is_debug` the offending patch is written to `<prefix>_diverged_<iter>.h5`;
///  - a failed checkpoint write throws IoError on every rank; the previous files are untouched;
///  - every few hundred iterations (and at every checkpoint) the ranks compare fingerprints of their
///    weights; a mismatch throws InternalError naming the ranks.

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "znn/config/job_files.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/conv/engine.hpp"
#include "znn/core/log.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/dist/comm.hpp"
#include "znn/train/job_check.hpp"

namespace znn::train {

/// @brief How a run was started (command line).
struct TrainOptions {
    std::optional<std::string> seed_file;  ///< -s: seed the parameters from this network file
    int loader_threads = 1;                ///< background threads making batches
    /// At most this many iterations in this run, then a checkpoint and TrainOutcome::Stopped (a job
    /// run in slices, one per batch-system allocation); 0: up to Max_iter.
    std::int64_t iterations = 0;
    /// Seconds between the batch system's stop signal and its kill (Slurm's --signal=USR1@LEAD, or
    /// KillWait after SIGTERM); 0: not known. At start (and after the first iterations of a new run)
    /// the trainer compares it with one iteration plus one checkpoint, as measured, and warns when
    /// the stop would not finish in time.
    double signal_lead = 0;
};

/// @brief What a run runs on (owned by the caller).
struct TrainContext {
    dist::Comm comm;
    core::ParallelFor& threads;
    conv::EngineOptions engines;
    core::Logger& log;
    /// Set (to the signal's number) when the process was asked to stop; polled every iteration.
    const std::atomic<int>* stop_signal = nullptr;
};

enum class TrainOutcome {
    Finished,  ///< Max_iter reached
    Stopped,   ///< stopped on request (a signal, or TrainOptions::iterations), after a checkpoint
    Checked,   ///< is_check: one iteration ran, nothing was written
};

/// @brief What run() did.
struct TrainResult {
    TrainOutcome outcome = TrainOutcome::Finished;
    std::int64_t iteration = 0;  ///< the last iteration done
    int signal = 0;              ///< Stopped: the signal that asked (0: the iteration limit)
    std::string network;         ///< the last checkpoint written (empty if none)
    std::string curve;           ///< the CSV learning curve
    double seconds_per_iteration = 0;  ///< median over the run's training steps
    double loop_seconds = 0;  ///< wall seconds per iteration of the loop after its first (steps, progress, validation, checkpoints)
    double voxels_per_second = 0;      ///< output voxels of every rank per median step
    double data_wait_share = 0;        ///< of the steps' time: waiting for a batch
    double reduce_wait_share = 0;      ///< of the steps' time: waiting for the gradients' all-reduce
    double last_test_pixel_error = -1; ///< the last validation's pixel error (-1: none)
    /// The same validation's error of always predicting each output channel's majority value.
    double last_test_majority_error = -1;
};

/// @brief A training run of one job. Collective over the context's communicator.
class Trainer {
public:
    Trainer(const config::JobFiles& job, const TrainOptions& options, TrainContext context);
    ~Trainer();
    Trainer(const Trainer&) = delete;
    Trainer& operator=(const Trainer&) = delete;

    /// Trains from the start iteration to Max_iter (or one iteration with is_check).
    TrainResult run();

    /// The iteration the run starts after (0 for a new run).
    std::int64_t start_iteration() const noexcept;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace znn::train
