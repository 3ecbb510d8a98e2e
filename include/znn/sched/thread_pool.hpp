#pragma once
/// @file
/// @brief ThreadPool: a fixed set of worker threads for one MPI rank, implementing core::ParallelFor.
///
/// The pool is owned by the run (one per rank, sized from --threads or $SLURM_CPUS_PER_TASK) and
/// passed explicitly; there is no global pool. Its threads are the OpenMP team of the thread that
/// calls run(): every run() is one OpenMP parallel region of threads() threads, so oneDNN's parallel
/// regions (the direct engine, called from the same thread with the same team size) run on the very
/// same threads, and one team per rank owns the cores. The calling thread takes part as thread 0.
/// Chunks are handed out through one atomic counter (dynamic scheduling), and an exception in any
/// chunk is rethrown on the caller (no exception ever crosses a thread boundary uncaught). How idle
/// team threads wait between regions is the OpenMP runtime's (libgomp spins briefly, then sleeps;
/// OMP_WAIT_POLICY and GOMP_SPINCOUNT are the user's to set and znn never rewrites them). With
/// `bind`, each team thread is pinned to its own CPU of the process's affinity mask. Workers never
/// call MPI.
///
/// Under ThreadSanitizer the team is the pool's own std::threads instead: libgomp's barriers are
/// invisible to the sanitizer, which would then see every chunk as unordered with its caller. The
/// chunks, their scheduling and their errors are the same; only who starts the threads differs.
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

/// @brief How a ThreadPool is made.
struct PoolOptions {
    int threads = 0;    ///< threads in all, the caller included; <= 0: default_thread_count()
    /// Pin team thread i (the caller is thread 0) to the i-th CPU of the affinity mask (round
    /// robin) while the pool lives; the pool's destructor lets them all run on the whole mask again.
    bool bind = false;
};

/// @brief A pool of threads running ParallelFor loops. run() may be called from one thread at a time
/// (the thread whose OpenMP team the pool is).
class ThreadPool final : public core::ParallelFor {
public:
    /// A pool of `threads` threads in all (the caller plus threads − 1 team threads); threads <= 0
    /// means default_thread_count(). When the system cannot start them all, core::InputError says
    /// how many it started.
    explicit ThreadPool(int threads = 0);
    explicit ThreadPool(const PoolOptions& options);
    ~ThreadPool() override;
    ThreadPool(const ThreadPool&) = delete;
    ThreadPool& operator=(const ThreadPool&) = delete;

    int threads() const noexcept override { return threads_; }
    void run(std::int64_t n, std::int64_t grain, const Body& body) override;

    /// Whether the team threads are pinned, one CPU each (PoolOptions::bind, when the mask allowed it).
    bool bound() const noexcept { return bound_; }
    /// Which runtime starts the team: "OpenMP" (or "std::thread" under ThreadSanitizer).
    static const char* runtime() noexcept;

private:
    /// Runs chunks of the current job until none is left; `thread` is the caller's team index.
    void work(int thread);
    /// Runs work() on every thread of the team and returns when all have finished.
    void run_team();
    void start_team(const PoolOptions& options);
    void stop_team() noexcept;

    int threads_ = 1;
    bool bound_ = false;
    std::vector<int> mask_;  ///< the affinity mask the team was pinned within (empty: not pinned)
    // The current job, set by run() before the team starts and read by the team threads.
    const Body* body_ = nullptr;
    std::int64_t n_ = 0;
    std::int64_t grain_ = 1;
    alignas(64) std::atomic<std::int64_t> next_{0};
    std::atomic<bool> failed_{false};
    std::mutex error_mutex_;
    std::exception_ptr error_;
#if defined(__SANITIZE_THREAD__)
    void worker_loop(int index);
    std::vector<std::thread> workers_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    alignas(64) std::atomic<std::uint64_t> generation_{0};
    alignas(64) std::atomic<int> busy_{0};
    bool stop_ = false;
#endif
};

}  // namespace znn::sched
