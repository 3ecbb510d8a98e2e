#pragma once
/// @file
/// @brief Averaging parameter gradients over MPI ranks (data parallelism), in buckets.
///
/// Every rank runs the whole network on its own patches; after backward, each parameter's gradient
/// must be the mean over ranks, so that every rank applies the same update. Gradients are packed,
/// in the order backward finishes them (the same on every rank), into buckets of at least
/// `bucket_bytes`; each bucket is summed over ranks by one all-reduce, then divided by the number of
/// ranks and unpacked.
///
/// With `overlap`, a bucket's all-reduce starts (MPI_Iallreduce) from the network's gradient-ready
/// hook as soon as the bucket is full, while backward computes the layers below; later hook calls
/// let pending reductions progress (MPI_Testall). Without it, every bucket is reduced after backward
/// by the blocking MPI_Allreduce (faster than the non-blocking one with Open MPI's algorithms).
/// Only the main thread calls MPI (the hook runs on it). One rank: nothing to do, nothing copied.
///
/// Use:
/// @code
///   GradientAverager averager(comm, *net.parameter_store(), {});
///   net.set_gradient_ready([&](std::size_t k) { averager.ready(k); });
///   averager.begin(); net.backward(); averager.finish();   // gradients are now means over ranks
/// @endcode

#include <cstddef>
#include <cstdint>
#include <vector>

#include "znn/dist/comm.hpp"
#include "znn/graph/parameters.hpp"

namespace znn::train {

/// @brief Options of a GradientAverager.
struct GradientAveragerOptions {
    std::size_t bucket_bytes = std::size_t(4) << 20;
    bool overlap = false;
};

/// @brief Averages a ParameterStore's gradients over the ranks of a communicator. Collective.
class GradientAverager {
public:
    GradientAverager(const dist::Comm& comm, graph::ParameterStore<float>& params, GradientAveragerOptions options);

    /// Before backward: forgets the previous iteration's buckets.
    void begin();
    /// From the gradient-ready hook: parameter `index`'s gradient is final.
    void ready(std::size_t index);
    /// After backward: reduces what is left, waits for every bucket, and leaves the means in the
    /// parameters' gradients. Collective over the communicator.
    void finish();

    /// Seconds finish() waited for reductions, in total; buckets reduced in total.
    double wait_seconds() const noexcept { return wait_seconds_; }
    std::int64_t buckets_reduced() const noexcept { return buckets_reduced_; }
    /// Bytes of gradients reduced per iteration.
    std::size_t bytes() const noexcept { return bytes_; }

private:
    struct Bucket {
        std::vector<std::size_t> members;
        std::vector<float> data;
        MPI_Request request = MPI_REQUEST_NULL;
        bool started = false;
    };
    void start(Bucket& b);
    Bucket& open_bucket();

    dist::Comm comm_;
    graph::ParameterStore<float>& params_;
    GradientAveragerOptions options_;
    std::vector<Bucket> buckets_;
    std::size_t used_ = 0;         ///< buckets in use this iteration
    std::size_t open_bytes_ = 0;   ///< bytes in the last, not yet started bucket
    std::vector<bool> seen_;
    std::size_t bytes_ = 0;
    double wait_seconds_ = 0;
    std::int64_t buckets_reduced_ = 0;
};

}  // namespace znn::train
