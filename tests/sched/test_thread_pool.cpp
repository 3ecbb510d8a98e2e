#include <gtest/gtest.h>
#include <pthread.h>
#include <sched.h>

#if !defined(__SANITIZE_THREAD__)
#include <omp.h>
#endif

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>
#include <cstdlib>
#include <numeric>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "znn/core/error.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/sched/trace.hpp"

using namespace znn;

TEST(ThreadPool, EveryIterationRunsExactlyOnce)
{
    sched::ThreadPool pool(3);
    EXPECT_EQ(pool.threads(), 3);
    for (std::int64_t n : {0, 1, 7, 1000, 12345}) {
        for (std::int64_t grain : {1, 3, 64, 100000}) {
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(n));
            std::atomic<int> bad_thread{0};
            pool.run(n, grain, [&](std::int64_t b, std::int64_t e, int thread) {
                if (thread < 0 || thread >= 3) bad_thread++;
                for (auto i = b; i < e; ++i) hits[static_cast<std::size_t>(i)]++;
            });
            for (auto& h : hits) ASSERT_EQ(h.load(), 1);
            EXPECT_EQ(bad_thread.load(), 0);
        }
    }
}

TEST(ThreadPool, UsesSeveralThreadsAndRethrowsOnTheCaller)
{
    sched::ThreadPool pool(2);
    std::vector<int> seen(2, 0);
    pool.run(2000, 1, [&](std::int64_t, std::int64_t, int thread) {
        seen[static_cast<std::size_t>(thread)] = 1;
        volatile double x = 0;
        for (int i = 0; i < 2000; ++i) x = x + 1;  // enough work for both threads to join in
    });
    EXPECT_EQ(seen[0] + seen[1], 2);
    EXPECT_THROW(pool.run(100, 1,
                          [&](std::int64_t b, std::int64_t, int) {
                              if (b == 57) throw std::runtime_error("chunk 57 failed");
                          }),
                 std::runtime_error);
    // The pool is still usable after a failure.
    std::atomic<std::int64_t> sum{0};
    pool.run(100, 10, [&](std::int64_t b, std::int64_t e, int) {
        for (auto i = b; i < e; ++i) sum += i;
    });
    EXPECT_EQ(sum.load(), 4950);
}

/// The system thread behind each team index that ran a chunk of `run`.
template <class Run> std::map<int, pthread_t> threads_of(Run&& run)
{
    std::mutex m;
    std::map<int, pthread_t> ids;
    run([&](int index) {
        const std::lock_guard lock(m);
        ids[index] = pthread_self();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));  // let every thread take a chunk
    });
    return ids;
}

#if !defined(__SANITIZE_THREAD__)  // under ThreadSanitizer the pool starts std::threads by design
TEST(ThreadPool, ItsThreadsAreTheCallersOpenMpTeamThatOneDnnRunsOn)
{
    sched::ThreadPool pool(2);
    EXPECT_STREQ(sched::ThreadPool::runtime(), "OpenMP");
    for (int round = 0; round < 3; ++round) {
        const auto ours = threads_of([&](const auto& note) {
            pool.run(40, 1, [&](std::int64_t, std::int64_t, int thread) { note(thread); });
        });
        // What oneDNN does: set the team size, then open a parallel region from the same thread.
        omp_set_num_threads(pool.threads());
        const auto theirs = threads_of([&](const auto& note) {
#pragma omp parallel
            for (int i = 0; i < 20; ++i) note(omp_get_thread_num());
        });
        ASSERT_EQ(ours.size(), 2u);
        ASSERT_EQ(theirs.size(), 2u);
        for (const auto& [index, id] : ours) EXPECT_TRUE(pthread_equal(id, theirs.at(index))) << "team thread " << index;
        EXPECT_TRUE(pthread_equal(ours.at(0), pthread_self()));  // the caller is thread 0
    }
}
#endif

TEST(ThreadPool, BindPinsEachThreadToItsOwnCpuAndTheDestructorUnpins)
{
    cpu_set_t before;
    ASSERT_EQ(sched_getaffinity(0, sizeof(before), &before), 0);
    const int cpus = CPU_COUNT(&before);
    if (cpus < 2) GTEST_SKIP() << "needs an affinity mask of two CPUs or more";
    {
        sched::ThreadPool pool(sched::PoolOptions{2, true});
        EXPECT_TRUE(pool.bound());
        std::mutex m;
        std::map<int, int> cpu_of;
        pool.run(40, 1, [&](std::int64_t, std::int64_t, int thread) {
            cpu_set_t mine;
            ASSERT_EQ(pthread_getaffinity_np(pthread_self(), sizeof(mine), &mine), 0);
            ASSERT_EQ(CPU_COUNT(&mine), 1);
            int cpu = -1;
            for (int c = 0; c < CPU_SETSIZE && cpu < 0; ++c)
                if (CPU_ISSET(c, &mine)) cpu = c;
            const std::lock_guard lock(m);
            cpu_of[thread] = cpu;
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        });
        ASSERT_EQ(cpu_of.size(), 2u);
        EXPECT_NE(cpu_of[0], cpu_of[1]);
        EXPECT_TRUE(CPU_ISSET(cpu_of[0], &before) && CPU_ISSET(cpu_of[1], &before));
    }
    cpu_set_t after;
    ASSERT_EQ(sched_getaffinity(0, sizeof(after), &after), 0);
    EXPECT_TRUE(CPU_EQUAL(&before, &after)) << "the caller is still pinned after the pool is gone";
    sched::ThreadPool unbound(2);
    EXPECT_FALSE(unbound.bound());
}

TEST(ThreadPool, NestedRunsExecuteSeriallyInsteadOfDeadlocking)
{
    sched::ThreadPool pool(2);
    std::atomic<int> inner{0};
    pool.run(4, 1, [&](std::int64_t, std::int64_t, int) {
        pool.run(10, 1, [&](std::int64_t b, std::int64_t e, int) { inner += static_cast<int>(e - b); });
    });
    EXPECT_EQ(inner.load(), 40);
}

TEST(ThreadPool, DefaultThreadCountHonoursTheEnvironment)
{
    // OMP_NUM_THREADS (its first number), else SLURM_CPUS_PER_TASK, else the affinity mask.
    const char* omp = std::getenv("OMP_NUM_THREADS");
    const std::string saved_omp = omp ? omp : "";
    ::unsetenv("OMP_NUM_THREADS");
    ::setenv("SLURM_CPUS_PER_TASK", "5", 1);
    EXPECT_EQ(sched::default_threads().threads, 5);
    EXPECT_EQ(sched::default_threads().source, "SLURM_CPUS_PER_TASK");
    ::setenv("OMP_NUM_THREADS", "3,2", 1);
    EXPECT_EQ(sched::default_threads().threads, 3);
    EXPECT_EQ(sched::default_threads().source, "OMP_NUM_THREADS");
    ::setenv("OMP_NUM_THREADS", "lots", 1);  // not a count: the next source
    EXPECT_EQ(sched::default_threads().source, "SLURM_CPUS_PER_TASK");
    ::unsetenv("OMP_NUM_THREADS");
    ::unsetenv("SLURM_CPUS_PER_TASK");
    EXPECT_EQ(sched::default_threads().source, "affinity mask");
    EXPECT_EQ(sched::default_thread_count(), sched::usable_core_count());
    // The mask as ranges: as many CPUs as usable_core_count() says.
    int cpus = 0;
    const std::string mask = sched::affinity_text();
    for (std::size_t start = 0; start < mask.size();) {
        const std::size_t end = std::min(mask.find(',', start), mask.size());
        const std::string item = mask.substr(start, end - start);
        const std::size_t dash = item.find('-');
        cpus += dash == std::string::npos ? 1 : std::stoi(item.substr(dash + 1)) - std::stoi(item.substr(0, dash)) + 1;
        start = end + 1;
    }
    EXPECT_EQ(cpus, sched::usable_core_count()) << mask;
    if (!saved_omp.empty()) ::setenv("OMP_NUM_THREADS", saved_omp.c_str(), 1);
}

TEST(ThreadPool, RequestedCountsAreCappedAtTheUsableCoresAndNonsenseRefused)
{
    std::string note;
    EXPECT_EQ(sched::resolve_thread_count(1, &note), 1);
    EXPECT_TRUE(note.empty());
    EXPECT_EQ(sched::resolve_thread_count(100000, &note), sched::usable_core_count());
    EXPECT_NE(note.find("100000 threads asked for"), std::string::npos) << note;
    EXPECT_THROW(sched::resolve_thread_count(-1), core::UsageError);
}

TEST(Trace, ReplaysLoopsSerialAndOpaqueWorkOnMoreCores)
{
    using znn::sched::TraceSegment;
    // A loop of 8 items of 1 s, 1 s of serial work, 4 thread-seconds of opaque parallel work.
    std::vector<TraceSegment> segments = {
        {TraceSegment::Kind::Loop, "loop", {{2, 2.0}, {6, 6.0}}, 4.0},
        {TraceSegment::Kind::Serial, "gap", {{1, 1.0}}, 1.0},
        {TraceSegment::Kind::Opaque, "onednn", {{2, 4.0}}, 2.0},
    };
    EXPECT_DOUBLE_EQ(znn::sched::simulate(segments, 1), 8 + 1 + 4);
    EXPECT_DOUBLE_EQ(znn::sched::simulate(segments, 2), 4 + 1 + 2);   // chunks of one item, two cores
    EXPECT_DOUBLE_EQ(znn::sched::simulate(segments, 8), 1 + 1 + 0.5);
    EXPECT_DOUBLE_EQ(znn::sched::simulate(segments, 16), 1 + 1 + 0.25);  // no more items than 8
    EXPECT_DOUBLE_EQ(znn::sched::speedup(segments, 8), 13.0 / 2.5);
}

TEST(Trace, RecordsWhatRunsOnlyWhileRecording)
{
    znn::sched::ThreadPool pool(2);
    znn::sched::TracingFor tracing(pool);
    std::atomic<int> sum{0};
    tracing.run(10, 2, [&](std::int64_t b, std::int64_t e, int) { sum += static_cast<int>(e - b); });
    EXPECT_TRUE(tracing.segments().empty());
    tracing.set_recording(true);
    tracing.set_label("work");
    tracing.run(10, 2, [&](std::int64_t b, std::int64_t e, int) { sum += static_cast<int>(e - b); });
    tracing.add_opaque(0.0, 2);
    const auto& s = tracing.segments();
    EXPECT_EQ(sum.load(), 20);
    std::int64_t items = 0;
    for (const auto& seg : s)
        if (seg.kind == znn::sched::TraceSegment::Kind::Loop) {
            EXPECT_EQ(seg.label, "work");
            EXPECT_EQ(seg.chunks.size(), 5u);
            for (const auto& [n, secs] : seg.chunks) items += n;
        }
    EXPECT_EQ(items, 10);
}
