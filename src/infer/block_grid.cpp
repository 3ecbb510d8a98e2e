#include "znn/infer/block_grid.hpp"

#include <algorithm>

#include "znn/core/error.hpp"

namespace znn::infer {

BlockGrid::BlockGrid(const Vec3i& output, const Vec3i& block, const Vec3i& fov)
    : output_(output), block_(block), fov_(fov)
{
    for (int a = 0; a < 3; ++a) {
        if (block[a] < 1 || block[a] > output[a])
            throw core::UsageError("block " + core::to_string(block) + " must be at least 1 and at most the output " +
                                   core::to_string(output) + " on every axis");
        blocks_[a] = (output[a] + block[a] - 1) / block[a];
    }
}

Block BlockGrid::block(std::int64_t index) const
{
    ZNN_CHECK(index >= 0 && index < count(), "BlockGrid::block: index out of range");
    Block b;
    b.index = index;
    b.position = {index / (blocks_.y * blocks_.x), (index / blocks_.x) % blocks_.y, index % blocks_.x};
    for (int a = 0; a < 3; ++a) {
        const std::int64_t begin = b.position[a] * block_[a];
        b.owned.origin[a] = begin;
        b.owned.size[a] = std::min(begin + block_[a], output_[a]) - begin;
        b.window.origin[a] = std::min(begin, output_[a] - block_[a]);
        b.window.size[a] = block_[a];
        b.input.origin[a] = b.window.origin[a];
        b.input.size[a] = block_[a] + fov_[a] - 1;
    }
    return b;
}

}  // namespace znn::infer
