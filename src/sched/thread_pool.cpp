#include "znn/sched/thread_pool.hpp"

#include <pthread.h>
#include <sched.h>

#if !defined(__SANITIZE_THREAD__)
#include <omp.h>
#endif

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

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

/// The CPUs of this process's affinity mask, in order.
std::vector<int> affinity_cpus()
{
    std::vector<int> cpus;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

/// Pins the calling thread to `cpu`; false when the system refuses.
bool pin_to(int cpu)
{
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    return pthread_setaffinity_np(pthread_self(), sizeof(one), &one) == 0;
}

/// Lets the calling thread run on every CPU of `cpus` again.
void unpin(const std::vector<int>& cpus)
{
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c : cpus) CPU_SET(c, &all);
    pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
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

ThreadPool::ThreadPool(int threads) : ThreadPool(PoolOptions{threads, false}) {}

ThreadPool::ThreadPool(const PoolOptions& options)
{
    threads_ = options.threads <= 0 ? default_thread_count() : options.threads;
    start_team(options);
}

ThreadPool::~ThreadPool() { stop_team(); }

void ThreadPool::work(int thread)
{
    t_inside_pool = true;
    while (!failed_.load(std::memory_order_relaxed)) {
        const std::int64_t begin = next_.fetch_add(grain_, std::memory_order_relaxed);
        if (begin >= n_) break;
        try {
            (*body_)(begin, std::min(begin + grain_, n_), thread);
        } catch (...) {
            const std::lock_guard lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
            failed_.store(true);
        }
    }
    t_inside_pool = false;
}

void ThreadPool::run(std::int64_t n, std::int64_t grain, const Body& body)
{
    if (n <= 0) return;
    if (grain <= 0) grain = 1;
    if (threads_ == 1 || t_inside_pool || n <= grain) {
        core::SerialFor().run(n, grain, body);
        return;
    }
    body_ = &body;
    n_ = n;
    grain_ = grain;
    next_.store(0);
    failed_.store(false);
    error_ = nullptr;
    run_team();
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
}

#if !defined(__SANITIZE_THREAD__)

const char* ThreadPool::runtime() noexcept { return "OpenMP"; }

void ThreadPool::start_team(const PoolOptions& options)
{
    if (threads_ == 1) return;
    // The first region starts the team (libgomp keeps its threads for the next regions of the same
    // size); it is also where each thread pins itself, when asked.
    const std::vector<int> cpus = options.bind ? affinity_cpus() : std::vector<int>{};
    std::atomic<int> started{0};
    std::atomic<int> pinned{0};
#pragma omp parallel num_threads(threads_)
    {
        started.fetch_add(1);
        if (!cpus.empty() && pin_to(cpus[static_cast<std::size_t>(omp_get_thread_num()) % cpus.size()])) pinned.fetch_add(1);
    }
    if (started.load() < threads_)
        throw core::InputError("cannot start " + std::to_string(threads_) + " threads (the OpenMP runtime started " +
                               std::to_string(started.load()) + "; see OMP_THREAD_LIMIT and OMP_DYNAMIC)");
    bound_ = !cpus.empty() && pinned.load() == threads_;
    if (!cpus.empty()) mask_ = cpus;
}

void ThreadPool::stop_team() noexcept
{
    // A pinned team is unpinned: its threads (libgomp's, kept for the next pool) and the caller.
    if (mask_.empty()) return;
    const std::vector<int>& cpus = mask_;
#pragma omp parallel num_threads(threads_)
    unpin(cpus);
}

void ThreadPool::run_team()
{
#pragma omp parallel num_threads(threads_)
    work(omp_get_thread_num());
}

#else  // ThreadSanitizer: the pool's own threads

const char* ThreadPool::runtime() noexcept { return "std::thread"; }

void ThreadPool::start_team(const PoolOptions& options)
{
    const std::vector<int> cpus = options.bind ? affinity_cpus() : std::vector<int>{};
    try {
        workers_.reserve(static_cast<std::size_t>(threads_ - 1));
        for (int i = 1; i < threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
    } catch (const std::exception& e) {
        const std::size_t started = workers_.size();
        stop_team();
        throw core::InputError("cannot start " + std::to_string(threads_) + " threads (the system started " +
                               std::to_string(started + 1) + "): " + e.what());
    }
    if (cpus.empty()) return;
    mask_ = cpus;
    bool all = pin_to(cpus[0]);
    for (std::size_t i = 0; i < workers_.size(); ++i) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpus[(i + 1) % cpus.size()], &one);
        all = pthread_setaffinity_np(workers_[i].native_handle(), sizeof(one), &one) == 0 && all;
    }
    bound_ = all;
}

void ThreadPool::stop_team() noexcept
{
    if (!mask_.empty()) unpin(mask_);
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

void ThreadPool::worker_loop(int index)
{
    std::uint64_t seen = 0;
    while (true) {
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

void ThreadPool::run_team()
{
    {
        const std::lock_guard lock(mutex_);
        busy_.store(static_cast<int>(workers_.size()));
        generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    work(0);
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return busy_.load() == 0; });
}

#endif

}  // namespace znn::sched
