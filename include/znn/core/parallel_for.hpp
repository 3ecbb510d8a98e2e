#pragma once
/// @file
/// @brief ParallelFor: how a compute kernel is given threads without knowing who owns them.
///
/// Low-level modules (conv, fft) split their work into chunks and hand them to a ParallelFor supplied
/// by the caller; the thread pool (sched::ThreadPool) implements it. This keeps the layering: a
/// kernel never includes the scheduler, and tests run kernels serially with SerialFor.
///
/// Example:
/// @code
///   void scale(std::span<float> v, float a, core::ParallelFor& pf) {
///       pf.run(v.size(), 4096, [&](std::int64_t begin, std::int64_t end, int /*thread*/) {
///           for (auto i = begin; i < end; ++i) v[i] *= a;
///       });
///   }
/// @endcode

#include <cstdint>
#include <functional>

namespace znn::core {

/// @brief Runs the iterations [0, n) of a loop on some threads, in chunks.
class ParallelFor {
public:
    /// Receives a chunk [begin, end) and the index (0 .. threads()-1) of the thread running it, for
    /// per-thread scratch memory. Chunks may run in any order, concurrently.
    using Body = std::function<void(std::int64_t begin, std::int64_t end, int thread)>;

    virtual ~ParallelFor() = default;
    /// How many threads may run chunks at once (thread indices are below this).
    virtual int threads() const noexcept = 0;
    /// Runs body over [0, n) in chunks of `grain` iterations (the last may be shorter) and returns
    /// when all are done. If a chunk throws, remaining chunks are skipped and the first exception is
    /// rethrown here. A call from inside a body runs serially on the calling thread.
    virtual void run(std::int64_t n, std::int64_t grain, const Body& body) = 0;
};

/// @brief The one-thread ParallelFor: runs every chunk in order on the calling thread.
class SerialFor final : public ParallelFor {
public:
    int threads() const noexcept override { return 1; }
    void run(std::int64_t n, std::int64_t grain, const Body& body) override
    {
        if (n <= 0) return;
        if (grain <= 0) grain = n;
        for (std::int64_t begin = 0; begin < n; begin += grain) body(begin, begin + grain < n ? begin + grain : n, 0);
    }
};

}  // namespace znn::core
