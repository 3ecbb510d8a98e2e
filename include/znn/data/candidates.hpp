#pragma once
/// @file
/// @brief The candidate patch positions of a sample, and uniform draws among them (reference §5.3).
///
/// A CandidateSet is a box of deviations, optionally thinned by a validity map (the label mask at
/// each patch's centre voxel). Drawing is uniform over the valid deviations: a uniform index k into
/// the valid ones, located through per-row cumulative counts (one int64 per (z, y) row) and a scan
/// of one row, so a draw costs O(log rows + row length) and no list of candidates is materialised.

#include <cstdint>
#include <vector>

#include "znn/core/rng.hpp"
#include "znn/core/vec3.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::data {

/// @brief Valid patch deviations of one sample (on this rank).
class CandidateSet {
public:
    CandidateSet() = default;
    /// Every deviation of `box`.
    static CandidateSet all(const core::Box3& box);
    /// The deviations of `box` where `valid` (1, box.size) is non-zero.
    static CandidateSet masked(const core::Box3& box, tensor::Tensor<std::uint8_t> valid);

    std::int64_t count() const noexcept { return count_; }
    const core::Box3& box() const noexcept { return box_; }
    /// The k-th valid deviation in z, y, x order (0 <= k < count()).
    core::Vec3i at(std::int64_t k) const;
    /// A uniform draw among the valid deviations. Requires count() > 0.
    core::Vec3i draw(core::Rng& rng) const { return at(rng.uniform_int(0, count_ - 1)); }

private:
    core::Box3 box_;
    std::int64_t count_ = 0;
    tensor::Tensor<std::uint8_t> valid_;  ///< empty: every deviation of box_ is valid
    std::vector<std::int64_t> row_end_;   ///< valid deviations in rows 0..r (inclusive), per (z, y) row
};

}  // namespace znn::data
