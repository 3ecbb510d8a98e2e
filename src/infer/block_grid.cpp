#include "znn/infer/block_grid.hpp"

#include <algorithm>
#include <charconv>

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

std::pair<std::int64_t, std::int64_t> shard_blocks(std::int64_t blocks, const Shard& shard)
{
    ZNN_CHECK(shard.count >= 1 && shard.index >= 0 && shard.index < shard.count, "shard_blocks: bad shard");
    // blocks * index < 2^56 * 2^31 would overflow: split the quotient and the remainder.
    const std::int64_t q = blocks / shard.count, r = blocks % shard.count;
    auto start = [&](std::int64_t i) { return i * q + std::min(i, r); };
    return {start(shard.index), start(shard.index + 1)};
}

std::optional<Shard> parse_shard(std::string_view text)
{
    const auto slash = text.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    auto number = [](std::string_view part, std::int64_t& out) {
        const auto [end, ec] = std::from_chars(part.data(), part.data() + part.size(), out);
        return !part.empty() && ec == std::errc() && end == part.data() + part.size();
    };
    Shard s;
    if (!number(text.substr(0, slash), s.index) || !number(text.substr(slash + 1), s.count)) return std::nullopt;
    if (s.count < 1 || s.count > (std::int64_t(1) << 31) || s.index < 0 || s.index >= s.count) return std::nullopt;
    return s;
}

}  // namespace znn::infer
