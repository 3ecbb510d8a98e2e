#pragma once
/// @file
/// @brief Forward: inference of a job (`znn forward`) over volumes of any size, out of core, spread
/// over MPI ranks, restartable after a kill at any moment.
///
/// For each sample of forward_range (the original's forward.py, reference §6):
///  1. checks, before any heavy work, on rank 0 for everyone: the network file against the `.znn`,
///     the sample's volumes and their channels, a volume of at least one block plus the field of
///     view, the output location, an existing output (done: skipped; another network's or another
///     configuration's: an error; unless overwriting);
///  2. the statistics of every input volume that is preprocessed, over the whole stored volume
///     (data::stored_statistics, shared with training; every rank reads its share);
///  3. the block grid of forward_outsz over the (mirrored, with is_bd_mirror) volume (block_grid.hpp),
///     which depends only on the volume, the network and forward_outsz;
///  4. the blocks not yet finished, handed out one at a time (dist::WorkCounter) so no rank idles while
///     others work; each rank reads a block's input region (block plus field of view) as a hyperslab,
///     preprocesses it, runs the network (softmax for softmax_loss nets), and writes the output into
///     the shared BlockStore (block_store.hpp). Reading the next block and writing the last one run
///     on a second thread while the current block computes;
///  5. the output `<output_prefix>_sample<N>_<node>.h5`, dataset /main (C, Z, Y, X), chunked to divide
///     the block and compressed, written from the store in parallel (collective parallel HDF5), with
///     its provenance (network file and its hash, resolved configuration, version, voxel size and
///     offset of the input when it has them); optionally one TIFF per channel.
/// While the sample runs, its output is `<output>.partial` (the store); killed at any moment, the same
/// command computes only the blocks the store does not record as finished, with any rank count.
/// With a shard (ForwardOptions::shard), a run computes only its part of the blocks into the same
/// store, which the first of concurrent shards creates (never replacing another's), and adopts that
/// store's convolution plan; a run without a shard then writes the output. The
/// store records a hash of the network file and of everything that decides the output (the
/// identity); resuming with another network or configuration is an error.
///
/// Determinism: a block's values depend on the block size and the convolution plan (algorithm and FFT
/// tiles per layer, decided once, recorded in the store and reused on resume), and, for oneDNN direct
/// layers, the thread count; never on the rank count or on interruptions.

#include <atomic>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "znn/config/job_files.hpp"
#include "znn/conv/engine.hpp"
#include "znn/core/log.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/dist/comm.hpp"
#include "znn/infer/block_grid.hpp"

namespace znn::infer {

/// @brief What the command line adds to the job.
struct ForwardOptions {
    bool overwrite = false;  ///< recompute outputs that exist (finished or not)
    /// Compute only this part of every sample's blocks (shard_blocks) into the shared store, and
    /// leave the output file to a run without a shard (which finds every block done and writes it).
    std::optional<Shard> shard;
};

/// @brief What a run uses (owned by the caller).
struct ForwardResources {
    const dist::Comm& comm;
    core::ParallelFor& threads;
    conv::EngineOptions engines;
    core::Logger& log;
    /// Set (to the signal's number) when the process was asked to stop: each rank takes no further
    /// block, the blocks in flight are stored, and the sample is left unfinished (SampleOutcome::stopped).
    const std::atomic<int>* stop_signal = nullptr;
};

/// @brief What happened to one sample.
struct SampleOutcome {
    std::int64_t sample = 0;
    std::vector<std::string> outputs;  ///< the files written (or found finished)
    std::int64_t blocks = 0;           ///< in the grid
    std::int64_t computed = 0;         ///< by all ranks in this run
    bool already_done = false;
    bool left_unfinished = false;      ///< a shard's run, or a stop: its blocks are stored, the output file is not written
    int stopped = 0;                   ///< the stop signal (any rank's) that ended this run early, or 0
    std::int64_t finished = 0;         ///< blocks the store records finished after this run
    double seconds = 0;             ///< the whole sample: statistics, blocks, output file
    double statistics_seconds = 0;  ///< the pass over the inputs for preprocessing
    double blocks_seconds = 0;      ///< computing and storing the blocks
    double finish_seconds = 0;      ///< writing the compressed output from the store
    double voxels_per_second = 0;   ///< output voxels computed per second of blocks_seconds (all ranks)
    std::int64_t peak_memory = 0;   ///< the largest peak resident memory of a rank so far (bytes)
};

/// Runs the inference of `job`. Collective over resources.comm. Throws InputError (exit 2, nothing
/// written) for every problem found in step 1.
std::vector<SampleOutcome> run_forward(const config::JobFiles& job, const ForwardOptions& options,
                                       const ForwardResources& resources);

/// The output file of `node` for `sample`: `<prefix>_sample<N>_<node>.h5`.
std::string output_path(const std::string& prefix, std::int64_t sample, const std::string& node);
/// The TIFF stack of channel `channel` of the output file `output`: `<output without .h5>_<channel>.tif`.
std::string tiff_path(const std::string& output, std::int64_t channel);

}  // namespace znn::infer
