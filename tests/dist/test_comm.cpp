// Runs at 1 and 2 ranks. Each test would fail if the ranks disagreed.

#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/dist/agree.hpp"
#include "znn/dist/comm.hpp"
#include "znn/dist/work_counter.hpp"

using namespace znn;
using dist::Comm;
using dist::WorkCounter;

TEST(Comm, SerialModeNeedsNoMpi)
{
    const Comm serial = Comm::serial();
    EXPECT_TRUE(serial.is_serial());
    EXPECT_EQ(serial.size(), 1);
    EXPECT_EQ(serial.rank(), 0);
    std::vector<double> v{1.0, 2.0};
    serial.allreduce_mean(std::span<double>(v));
    EXPECT_EQ(v[1], 2.0);
    EXPECT_EQ(serial.sum(5), 5);
    EXPECT_TRUE(serial.barrier_within(0.01));
    std::string text = "unchanged";
    serial.broadcast(text);
    EXPECT_EQ(text, "unchanged");
}

TEST(Comm, WorldSumAndMeanAgreeOnEveryRank)
{
    const Comm world = Comm::world();
    const int n = world.size();
    // Every rank contributes a different vector; the sum is known in closed form.
    std::vector<float> v(1000);
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<float>(world.rank() + 1) * static_cast<float>(i);
    world.allreduce_sum(std::span<float>(v));
    const float ranks_sum = static_cast<float>(n * (n + 1) / 2);
    for (std::size_t i = 0; i < v.size(); ++i)
        ASSERT_EQ(v[i], ranks_sum * static_cast<float>(i));

    std::vector<double> m{static_cast<double>(world.rank())};
    world.allreduce_mean(std::span<double>(m));
    EXPECT_DOUBLE_EQ(m[0], (n - 1) / 2.0);

    EXPECT_EQ(world.max(world.rank()), n - 1);
    EXPECT_EQ(world.min(world.rank()), 0);
    EXPECT_TRUE(world.any(world.rank() == n - 1));
    EXPECT_EQ(world.all(world.rank() == 0), n == 1);
}

TEST(Comm, BroadcastCopiesTheRootsDataToEveryRank)
{
    const Comm world = Comm::world();
    // Each rank draws from its own stream; after the broadcast all must hold rank 0's numbers.
    core::Rng rng = core::Rng::stream(5, world.rank(), core::RngPurpose::Test);
    std::vector<std::uint64_t> v(64);
    for (auto& x : v)
        x = rng.next_u64();
    world.broadcast(std::span<std::uint64_t>(v));
    core::Rng root = core::Rng::stream(5, 0, core::RngPurpose::Test);
    for (auto x : v)
        ASSERT_EQ(x, root.next_u64());

    std::string text = world.is_root() ? "from the root, with\nnewlines" : "other";
    world.broadcast(text);
    EXPECT_EQ(text, "from the root, with\nnewlines");
    EXPECT_EQ(world.broadcast_value(world.rank() + 10), 10);
    EXPECT_TRUE(world.barrier_within(30.0));
}

TEST(Comm, RootDecidesMakesEveryRankFailTogether)
{
    const Comm world = Comm::world();
    int calls = 0;
    EXPECT_NO_THROW(dist::root_decides(world, [&] { ++calls; }));
    EXPECT_EQ(world.sum(calls), 1);  // only the root ran the check

    try {
        dist::root_decides(world, [] { throw core::InputError("no such file").at("a.h5"); });
        FAIL() << "no rank may proceed";
    } catch (const core::InputError& e) {
        EXPECT_STREQ(e.what(), "a.h5: no such file");
        EXPECT_EQ(e.error_scope(), core::ErrorScope::AllRanks);
    }
    EXPECT_EQ(world.sum(1), world.size());  // still in step afterwards
}

TEST(WorkCounter, HandsOutEveryValueExactlyOnceOverTheRanks)
{
    const Comm world = Comm::world();
    constexpr std::int64_t n = 1000;
    std::vector<std::int64_t> seen(n, 0);
    {
        WorkCounter counter(world);
        for (std::int64_t v = counter.next(); v < n; v = counter.next()) {
            ASSERT_GE(v, 0);
            ++seen[static_cast<std::size_t>(v)];
        }
    }
    world.allreduce_sum(std::span<std::int64_t>(seen));
    for (std::int64_t i = 0; i < n; ++i) ASSERT_EQ(seen[static_cast<std::size_t>(i)], 1) << "value " << i;
}

TEST(WorkCounter, SerialCountsFromZero)
{
    WorkCounter counter(Comm::serial());
    EXPECT_EQ(counter.next(), 0);
    EXPECT_EQ(counter.next(), 1);
    EXPECT_EQ(counter.next(), 2);
}

TEST(Comm, ExchangeGatherAndSendrecvMoveWhatEachRankSent)
{
    const Comm world = Comm::world();
    const int n = world.size(), r = world.rank();
    struct Item {
        std::int32_t from, to, k;
    };
    // Rank r sends r + d + 1 items to rank d; each says where it came from.
    std::vector<std::vector<Item>> out(static_cast<std::size_t>(n));
    for (int d = 0; d < n; ++d)
        for (int k = 0; k <= r + d; ++k)
            out[static_cast<std::size_t>(d)].push_back({r, d, k});
    const std::vector<Item> in = world.exchange(out);
    std::size_t i = 0;
    for (int s = 0; s < n; ++s)  // in rank order
        for (int k = 0; k <= s + r; ++k, ++i) {
            ASSERT_LT(i, in.size());
            EXPECT_EQ(in[i].from, s);
            EXPECT_EQ(in[i].to, r);
            EXPECT_EQ(in[i].k, k);
        }
    EXPECT_EQ(i, in.size());

    std::vector<std::int64_t> mine(static_cast<std::size_t>(r + 1), r);
    const std::vector<std::int64_t> all = world.gather(std::span<const std::int64_t>(mine));
    if (world.is_root()) {
        ASSERT_EQ(all.size(), static_cast<std::size_t>(n * (n + 1) / 2));
        std::size_t j = 0;
        for (int s = 0; s < n; ++s)
            for (int k = 0; k <= s; ++k)
                EXPECT_EQ(all[j++], s);
    } else {
        EXPECT_TRUE(all.empty());
    }

    std::vector<double> v;
    if (world.is_root()) v = {1.5, 2.5, 3.5};
    world.broadcast_vector(v);
    EXPECT_EQ(v, (std::vector<double>{1.5, 2.5, 3.5}));

    // A ring shift: every rank sends its rank to the next and receives the previous one's.
    const std::vector<std::int32_t> send{r, r * 10};
    std::vector<std::int32_t> got(n > 1 ? 2 : 0);
    world.sendrecv(std::span<const std::int32_t>(send), n > 1 ? (r + 1) % n : -1, std::span<std::int32_t>(got),
                   n > 1 ? (r + n - 1) % n : -1);
    if (n > 1) {
        EXPECT_EQ(got, (std::vector<std::int32_t>{(r + n - 1) % n, ((r + n - 1) % n) * 10}));
    }
}
