// BlockGrid: the blocks tile the output exactly once, each window is a full block inside the volume
// holding what the block owns, the input box is the window widened by the field of view; and the
// output chunks divide the block.

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/infer/block_grid.hpp"
#include "znn/infer/block_store.hpp"

using namespace znn;
using core::Vec3i;
using infer::Block;
using infer::BlockGrid;

namespace {

void check_grid(const Vec3i& out, const Vec3i& W, const Vec3i& F)
{
    const BlockGrid grid(out, W, F);
    std::vector<int> owners(static_cast<std::size_t>(out.z * out.y * out.x), 0);
    for (std::int64_t i = 0; i < grid.count(); ++i) {
        const Block b = grid.block(i);
        ASSERT_EQ(b.index, i);
        ASSERT_EQ(b.window.size, W);
        ASSERT_TRUE(b.window.contains(b.owned)) << core::to_string(b.window) << " " << core::to_string(b.owned);
        ASSERT_TRUE((core::Box3{{0, 0, 0}, out}).contains(b.window));
        ASSERT_EQ(b.input.origin, b.window.origin);
        ASSERT_EQ(b.input.size, W + F - 1);
        for (int a = 0; a < 3; ++a) {
            // Blocks start on the grid; only the last one on an axis is shorter, and its window ends
            // at the far edge.
            ASSERT_EQ(b.owned.origin[a], b.position[a] * W[a]);
            if (b.owned.size[a] < W[a]) {
                ASSERT_EQ(b.position[a], grid.blocks()[a] - 1);
                ASSERT_EQ(b.window.origin[a] + W[a], out[a]);
            } else {
                ASSERT_EQ(b.window.origin[a], b.owned.origin[a]);
            }
        }
        for (std::int64_t z = 0; z < b.owned.size.z; ++z)
            for (std::int64_t y = 0; y < b.owned.size.y; ++y)
                for (std::int64_t x = 0; x < b.owned.size.x; ++x) {
                    const Vec3i p = b.owned.origin + Vec3i{z, y, x};
                    ++owners[static_cast<std::size_t>((p.z * out.y + p.y) * out.x + p.x)];
                }
    }
    for (const int n : owners)
        ASSERT_EQ(n, 1);
}

}  // namespace

TEST(BlockGrid, TilesTheOutputExactlyOnce)
{
    check_grid({1, 10, 10}, {1, 5, 5}, {1, 3, 3});   // divides
    check_grid({1, 10, 10}, {1, 4, 3}, {1, 9, 9});   // partial last blocks
    check_grid({7, 11, 13}, {2, 11, 4}, {3, 5, 7});  // whole axis, 3D
    check_grid({5, 5, 5}, {5, 5, 5}, {1, 1, 1});     // one block
    check_grid({3, 4, 5}, {1, 1, 1}, {2, 2, 2});     // one-voxel blocks
    core::Rng rng = core::Rng::stream(3, 0, core::RngPurpose::Test);
    for (int t = 0; t < 50; ++t) {
        Vec3i out, W, F;
        for (int a = 0; a < 3; ++a) {
            out[a] = 1 + static_cast<std::int64_t>(rng.next_u64() % 20);
            W[a] = 1 + static_cast<std::int64_t>(rng.next_u64() % static_cast<std::uint64_t>(out[a]));
            F[a] = 1 + static_cast<std::int64_t>(rng.next_u64() % 9);
        }
        check_grid(out, W, F);
    }
}

TEST(BlockGrid, TheLastWindowIsAlignedToTheFarEdgeAsTheOriginalDid)
{
    const BlockGrid grid({1, 10, 1}, {1, 4, 1}, {1, 3, 1});
    ASSERT_EQ(grid.count(), 3);
    const Block last = grid.block(2);
    EXPECT_EQ(last.owned, (core::Box3{{0, 8, 0}, {1, 2, 1}}));
    EXPECT_EQ(last.window, (core::Box3{{0, 6, 0}, {1, 4, 1}}));
    EXPECT_EQ(last.kept(), (core::Box3{{0, 2, 0}, {1, 2, 1}}));
    EXPECT_EQ(last.input, (core::Box3{{0, 6, 0}, {1, 6, 1}}));
}

TEST(BlockGrid, RejectsBlocksLargerThanTheOutput)
{
    EXPECT_THROW(BlockGrid({1, 10, 10}, {1, 11, 10}, {1, 1, 1}), core::UsageError);
    EXPECT_THROW(BlockGrid({1, 10, 10}, {0, 5, 5}, {1, 1, 1}), core::UsageError);
}

TEST(Shard, ShardsTileTheGridInOrderWithSizesWithinOne)
{
    for (const std::int64_t blocks : {1, 2, 7, 64, 1000003})
        for (const std::int64_t count : {1, 2, 3, 8, 13, 64}) {
            std::int64_t next = 0, smallest = blocks, largest = 0;
            for (std::int64_t i = 0; i < count; ++i) {
                const auto [first, last] = infer::shard_blocks(blocks, {i, count});
                ASSERT_EQ(first, next) << blocks << " blocks, shard " << i << "/" << count;
                ASSERT_LE(first, last);
                smallest = std::min(smallest, last - first);
                largest = std::max(largest, last - first);
                next = last;
            }
            EXPECT_EQ(next, blocks);
            EXPECT_LE(largest - smallest, 1);
        }
    // Past what blocks * index in 64 bits could hold.
    const std::int64_t huge = std::int64_t(1) << 56, n = std::int64_t(1) << 31;
    EXPECT_EQ(infer::shard_blocks(huge, {n - 1, n}).second, huge);
    EXPECT_EQ(infer::shard_blocks(huge, {1, n}).first, huge / n);
}

TEST(Shard, ParsesIndexOverCount)
{
    const auto s = infer::parse_shard("3/8");
    ASSERT_TRUE(s);
    EXPECT_EQ(s->index, 3);
    EXPECT_EQ(s->count, 8);
    for (const char* bad : {"", "3", "8/8", "-1/8", "1/0", "1/", "/4", "a/4", "1/4x", "1 /4", "0/4294967296"})
        EXPECT_FALSE(infer::parse_shard(bad)) << bad;
}

TEST(OutputChunk, DividesTheBlock)
{
    for (const Vec3i& W : {Vec3i{1, 8, 8}, Vec3i{1, 1000, 1000}, Vec3i{48, 48, 48}, Vec3i{200, 300, 97},
                           Vec3i{20, 256, 256}, Vec3i{1, 2048, 97}}) {
        const Vec3i c = infer::output_chunk(W);
        for (int a = 0; a < 3; ++a) {
            EXPECT_EQ(W[a] % c[a], 0) << core::to_string(W);
            EXPECT_GE(c[a], 1);
        }
    }
    EXPECT_EQ(infer::output_chunk({1, 1000, 1000}), (Vec3i{1, 500, 500}));
    EXPECT_EQ(infer::output_chunk({48, 48, 48}), (Vec3i{48, 48, 48}));
    EXPECT_EQ(infer::output_chunk({200, 300, 97}), (Vec3i{50, 60, 97}));
}
