#pragma once
/// @file
/// @brief Patch sources and background batch preparation.
///
/// PatchSource draws training patches from a set of loaded samples: a uniform draw over all their
/// candidates on this rank, which picks each sample in proportion to its candidates (the original's
/// rule, PR #75) and a uniform centre within it; then a spatial transform and the intensity
/// augmentations, when augmentation is on.
///
/// BatchLoader prepares batches on background threads, ahead of the trainer, so the engine never
/// waits on data. Patch i of batch b on rank r is made from the streams Rng::stream(seed, r·B + i,
/// Sampling|Augment, stream_base + b) — one pair of streams per slot of the job's global batch of
/// R·B patches — whichever thread makes it: the sequence of batches is the same with any number of
/// loader threads, resuming at iteration i (first_batch = i) continues it exactly, and when every
/// rank samples from the same candidates (whole samples on every rank), R ranks of B patches draw
/// the same global batch as one rank of R·B.
///
/// Example:
/// @code
///   auto source = std::make_shared<PatchSource>(std::move(samples), job.augment, true);
///   BatchLoader loader(source, {.batch_size = 4, .seed = job.seed, .rank = comm.rank()});
///   for (...) { std::vector<Patch> batch = loader.next(); ... }
/// @endcode

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "znn/config/job_config.hpp"
#include "znn/core/rng.hpp"
#include "znn/data/patch.hpp"
#include "znn/data/sample_data.hpp"

namespace znn::data {

/// @brief Draws patches from loaded samples. Const and thread-safe.
class PatchSource {
public:
    /// `augment`: apply `augmentation` (validation sources pass false).
    PatchSource(std::vector<SampleData> samples, config::Augmentation augmentation, bool augment);

    /// Candidates on this rank, over every sample.
    std::int64_t candidates() const noexcept { return total_; }
    const std::vector<SampleData>& samples() const noexcept { return samples_; }

    /// A patch: position from `sampling`, transforms and augmentation from `augment`.
    Patch draw(core::Rng& sampling, core::Rng& augment) const;

private:
    std::vector<SampleData> samples_;
    std::vector<std::int64_t> ends_;  ///< cumulative candidate counts
    std::int64_t total_ = 0;
    config::Augmentation augmentation_;
    bool augment_ = false;
};

/// @brief Options of a BatchLoader.
struct BatchLoaderOptions {
    std::int64_t batch_size = 1;
    std::uint64_t seed = 1;
    int rank = 0;
    std::uint64_t stream_base = 0;  ///< separates the batch sequences of training and validation
    std::int64_t first_batch = 0;   ///< index of the first batch next() returns
    int threads = 1;                ///< background threads
    int depth = 2;                  ///< batches prepared ahead of the consumer
};

/// Stream bases of the two patch sequences of a training job.
inline constexpr std::uint64_t kTrainStream = 0;
inline constexpr std::uint64_t kValidationStream = std::uint64_t(1) << 48;

/// @brief Prepares batches in background threads, in order.
class BatchLoader {
public:
    BatchLoader(std::shared_ptr<const PatchSource> source, BatchLoaderOptions options);
    ~BatchLoader();
    BatchLoader(const BatchLoader&) = delete;
    BatchLoader& operator=(const BatchLoader&) = delete;

    /// The next batch (blocks until it is ready). An error while preparing it is rethrown here.
    std::vector<Patch> next();
    /// Seconds next() spent waiting for a batch that was not ready yet, in total.
    double wait_seconds() const noexcept { return wait_seconds_; }

    /// Batch `index` made directly, on the calling thread (what the background threads do).
    static std::vector<Patch> make_batch(const PatchSource& source, const BatchLoaderOptions& options, std::int64_t index);

private:
    void work();

    std::shared_ptr<const PatchSource> source_;
    BatchLoaderOptions options_;
    std::mutex mutex_;
    std::condition_variable ready_;     ///< a batch was finished (consumer waits)
    std::condition_variable room_;      ///< the consumer took a batch (workers wait)
    std::int64_t next_to_make_ = 0;     ///< next batch index a worker claims
    std::int64_t next_to_return_ = 0;   ///< next batch index next() returns
    bool stopping_ = false;
    struct Slot {
        std::vector<Patch> batch;
        std::exception_ptr error;
    };
    std::map<std::int64_t, Slot> done_;
    double wait_seconds_ = 0;
    std::vector<std::thread> threads_;
};

}  // namespace znn::data
