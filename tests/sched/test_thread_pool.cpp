#include <gtest/gtest.h>

#include <atomic>
#include <numeric>
#include <set>
#include <stdexcept>
#include <vector>

#include "znn/sched/thread_pool.hpp"

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
    ::setenv("ZNN_THREADS", "3", 1);
    EXPECT_EQ(sched::default_thread_count(), 3);
    ::unsetenv("ZNN_THREADS");
    EXPECT_GE(sched::default_thread_count(), 1);
}
