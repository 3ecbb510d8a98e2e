#include "znn/sched/thread_pool.hpp"

#include <sched.h>

#include <chrono>
#include <cstdlib>
#include <string>

#include "znn/core/error.hpp"

namespace znn::sched {
namespace {

/// Set while a thread runs chunks, so a nested run() executes serially instead of deadlocking.
thread_local bool t_inside_pool = false;

/// The first number of a positive integer (list) variable like OMP_NUM_THREADS=4 or 4,2; 0 otherwise.
int positive_env(const char* name)
{
    const char* v = std::getenv(name);
    if (!v) return 0;
    char* end = nullptr;
    const long n = std::strtol(v, &end, 10);
    if (end == v || (*end != '\0' && *end != ',') || n <= 0 || n > 65536) return 0;
    return static_cast<int>(n);
}

}  // namespace

ThreadDefault default_threads()
{
    if (int n = positive_env("OMP_NUM_THREADS")) return {n, "OMP_NUM_THREADS"};
    if (int n = positive_env("SLURM_CPUS_PER_TASK")) return {n, "SLURM_CPUS_PER_TASK"};
    return {usable_core_count(), "affinity mask"};
}

int default_thread_count() { return default_threads().threads; }

std::string affinity_text()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return "?";
    std::string text;
    for (int c = 0; c < CPU_SETSIZE; ++c) {
        if (!CPU_ISSET(c, &set)) continue;
        int last = c;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, &set)) ++last;
        text += (text.empty() ? "" : ",") + std::to_string(c) + (last > c ? "-" + std::to_string(last) : "");
        c = last;
    }
    return text;
}

int usable_core_count()
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
    return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

int resolve_thread_count(int requested, std::string* note)
{
    if (requested < 0)
        throw core::UsageError("threads: " + std::to_string(requested) + " is not a thread count (0: default_thread_count())");
    const int usable = usable_core_count();
    const int threads = requested == 0 ? default_thread_count() : requested;
    if (threads <= usable) return threads;
    if (note)
        *note = std::to_string(threads) + " threads asked for, but this process may run on " + std::to_string(usable) +
                " cores: running " + std::to_string(usable) + " threads";
    return usable;
}

ThreadPool::ThreadPool(int threads)
{
    if (threads <= 0) threads = default_thread_count();
    try {
        workers_.reserve(static_cast<std::size_t>(threads - 1));
        for (int i = 1; i < threads; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    } catch (const std::exception& e) {
        const std::size_t started = workers_.size();
        stop_workers();
        throw core::InputError("cannot start " + std::to_string(threads) + " threads (the system started " +
                               std::to_string(started + 1) + "): " + e.what());
    }
}

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::stop_workers() noexcept
{
    {
        const std::lock_guard lock(mutex_);
        stop_ = true;
        generation_.fetch_add(1);
    }
    wake_.notify_all();
    for (auto& w : workers_)
        if (w.joinable()) w.join();
    workers_.clear();
}

void ThreadPool::work(int thread)
{
    t_inside_pool = true;
    while (!failed_.load(std::memory_order_relaxed)) {
        const std::int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= n_) break;
        try {
            (*body_)(begin, std::min(begin + grain_, n_), thread);
        } catch (...) {
            const std::lock_guard lock(mutex_);
            if (!error_) error_ = std::current_exception();
            failed_.store(true);
        }
    }
    t_inside_pool = false;
}

void ThreadPool::worker_loop(int index)
{
    std::uint64_t seen = 0;
    while (true) {
        // Spin a little first: parallel phases often follow each other within microseconds.
        const auto spin_until = std::chrono::steady_clock::now() + std::chrono::microseconds(200);
        while (generation_.load(std::memory_order_acquire) == seen && std::chrono::steady_clock::now() < spin_until) {
#if defined(__x86_64__)
            __builtin_ia32_pause();
#endif
        }
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return generation_.load() != seen; });
            seen = generation_.load();
            if (stop_) return;
        }
        work(index);
        if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            const std::lock_guard lock(mutex_);
            done_.notify_one();
        }
    }
}

void ThreadPool::run(std::int64_t n, std::int64_t grain, const Body& body)
{
    if (n <= 0) return;
    if (grain <= 0) grain = 1;
    if (workers_.empty() || t_inside_pool || n <= grain) {
        core::SerialFor().run(n, grain, body);
        return;
    }
    {
        const std::lock_guard lock(mutex_);
        body_ = &body;
        n_ = n;
        grain_ = grain;
        next_.store(0);
        failed_.store(false);
        error_ = nullptr;
        busy_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(0);
    {
        std::unique_lock lock(mutex_);
        done_.wait(lock, [&] { return busy_.load() == 0; });
        body_ = nullptr;
    }
    if (error_) std::rethrow_exception(error_);
}

}  // namespace znn::sched
