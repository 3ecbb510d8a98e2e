#pragma once
/// @file
/// @brief BlockGrid: how an output volume is cut into the blocks one forward pass computes.
///
/// A network with field of view F turns an input window of W + F − 1 voxels into W output voxels
/// (valid convolution), so output voxel o depends only on input voxels [o, o + F) of the (mirrored)
/// input. The grid is the original ZNN's tiling made exact for chunked output:
///  - block k of an axis owns output voxels [k·W, min((k + 1)·W, V)) (V: the output length), so the
///    blocks tile the volume without overlap and line up with storage chunks of W (or a divisor);
///  - its forward pass computes the W voxels of the window [min(k·W, V − W), ... + W): the last
///    block's window is aligned to the far edge, as the original did, and only the part the block
///    owns is kept. No voxel is blended: each is the network's value at that position, whichever
///    window computed it, up to float rounding (the transforms differ with the window).
/// The grid depends only on V, W and F: never on the number of ranks.
///
/// Example:
/// @code
///   BlockGrid grid({100, 1000, 1000}, {20, 256, 256}, {9, 109, 109});
///   for (std::int64_t i = 0; i < grid.count(); ++i) {
///       const Block b = grid.block(i);   // read b.input, run the net, keep b.kept() of its output
///   }
/// @endcode

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

#include "znn/core/vec3.hpp"

namespace znn::infer {

using core::Box3;
using core::Vec3i;

/// @brief One block of a grid.
struct Block {
    std::int64_t index = 0;
    Vec3i position;  ///< (kz, ky, kx) in the grid
    Box3 owned;      ///< the output voxels the block writes
    Box3 window;     ///< the output voxels its forward pass computes (size W; contains `owned`)
    Box3 input;      ///< the input voxels that pass reads (window.origin, W + F − 1), in (mirrored) input coordinates

    /// Where `owned` lies inside the computed window.
    Box3 kept() const { return {owned.origin - window.origin, owned.size}; }
};

class BlockGrid {
public:
    /// A grid over an output of `output` voxels with blocks of `block` and a field of view `fov`.
    /// Throws UsageError unless 1 <= block <= output on every axis.
    BlockGrid(const Vec3i& output, const Vec3i& block, const Vec3i& fov);

    const Vec3i& output() const noexcept { return output_; }
    const Vec3i& block_size() const noexcept { return block_; }
    const Vec3i& fov() const noexcept { return fov_; }
    /// Blocks per axis.
    const Vec3i& blocks() const noexcept { return blocks_; }
    std::int64_t count() const noexcept { return blocks_.z * blocks_.y * blocks_.x; }

    /// Block `index` (0 .. count() − 1), in z, y, x order (x fastest).
    Block block(std::int64_t index) const;

private:
    Vec3i output_, block_, fov_, blocks_;
};

/// @brief One of `count` disjoint parts of every sample's grid (a task of a job array).
struct Shard {
    std::int64_t index = 0;  ///< 0 .. count - 1
    std::int64_t count = 1;
};

/// The blocks [first, last) of a grid of `blocks` blocks that `shard` computes: contiguous runs of
/// blocks in grid order, sizes differing by at most one, together the whole grid. Depends only on
/// the grid and the shard, never on ranks or on which shards ran before.
std::pair<std::int64_t, std::int64_t> shard_blocks(std::int64_t blocks, const Shard& shard);

/// Parses "i/N" (0 <= i < N <= 2^31); nullopt otherwise.
std::optional<Shard> parse_shard(std::string_view text);

}  // namespace znn::infer
