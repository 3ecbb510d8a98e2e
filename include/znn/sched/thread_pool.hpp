#pragma once
/// @file
/// @brief ThreadPool: a fixed set of worker threads for one MPI rank, implementing core::ParallelFor.
///
/// The pool is owned by the run (one per rank, sized from --threads or $SLURM_CPUS_PER_TASK) and
/// passed explicitly; there is no global pool. The calling thread takes part in every run() as
/// thread 0, so a pool of N threads starts N−1 workers. Chunks are handed out through one atomic
/// counter (dynamic scheduling), workers spin briefly before sleeping so that back-to-back parallel
/// phases start fast, and an exception in any chunk is rethrown on the caller (no exception ever
/// crosses a thread boundary uncaught). Workers never call MPI.
///
/// Example:
/// @code
///   sched::ThreadPool pool(4);
///   pool.run(n, 64, [&](std::int64_t b, std::int64_t e, int thread) { ... });
/// @endcode

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "znn/core/parallel_for.hpp"

namespace znn::sched {

/// @brief A default thread count and where it came from.
struct ThreadDefault {
    int threads = 1;
    std::string source;  ///< "OMP_NUM_THREADS", "SLURM_CPUS_PER_TASK" or "affinity mask"
};

/// The default number of threads (what --threads 0 means): $OMP_NUM_THREADS (its first number), else
/// $SLURM_CPUS_PER_TASK, else the cores this process may run on (its CPU affinity mask, which mpirun
/// binding, srun and cgroups restrict). Never all cores of a node the job does not own.
ThreadDefault default_threads();
int default_thread_count();

/// The CPUs of this process's affinity mask as ranges, e.g. "0-3,8,10-11".
std::string affinity_text();

/// The cores this process may run on: the number of CPUs in its affinity mask (at least 1).
int usable_core_count();

/// A requested thread count made usable: 0 means default_thread_count(); more threads than
/// usable_core_count() are capped there (oversubscribed cores only slow every thread down), and
/// `*note` (when given) says so. Negative counts are refused (core::UsageError).
int resolve_thread_count(int requested, std::string* note = nullptr);

/// @brief A pool of threads running ParallelFor loops. run() may be called from one thread at a time.
class ThreadPool final : public core::ParallelFor {
public:
    /// A pool of `threads` threads in all (the caller plus threads − 1 workers); threads <= 0 means
    /// default_thread_count(). When the system cannot start them all, the ones started are stopped
    /// and core::InputError says how many could not.
    explicit ThreadPool(int threads = 0);
    ~ThreadPool() override;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const noexcept override { return static_cast<int>(workers_.size()) + 1; }
    void run(std::int64_t n, std::int64_t grain, const Body& body) override;

private:
    void worker_loop(int index);
    void stop_workers() noexcept;
    void work(int thread);

    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    // The current job, published under mutex_ and read by workers after they see a new generation.
    const Body* body_ = nullptr;
    std::int64_t n_ = 0;
    std::int64_t grain_ = 1;
    alignas(64) std::atomic<std::int64_t> next_{0};
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    alignas(64) std::atomic<int> busy_{0};
    std::atomic<bool> failed_{false};
    std::exception_ptr error_;
    bool stop_ = false;
};

}  // namespace znn::sched
