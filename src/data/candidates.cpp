#include "znn/data/candidates.hpp"

#include <algorithm>

#include "znn/core/error.hpp"

namespace znn::data {

CandidateSet CandidateSet::all(const core::Box3& box)
{
    CandidateSet s;
    s.box_ = box;
    s.count_ = box.empty() ? 0 : box.voxels();
    return s;
}

CandidateSet CandidateSet::masked(const core::Box3& box, tensor::Tensor<std::uint8_t> valid)
{
    ZNN_CHECK(valid.channels() == 1 && valid.size() == box.size, "CandidateSet: validity map does not match its box");
    CandidateSet s;
    s.box_ = box;
    if (box.empty()) return s;
    s.row_end_.resize(static_cast<std::size_t>(box.size.z * box.size.y));
    std::int64_t total = 0;
    for (std::int64_t z = 0; z < box.size.z; ++z)
        for (std::int64_t y = 0; y < box.size.y; ++y) {
            const std::uint8_t* row = valid.view().row(0, z, y);
            total += std::count_if(row, row + box.size.x, [](std::uint8_t v) { return v != 0; });
            s.row_end_[static_cast<std::size_t>(z * box.size.y + y)] = total;
        }
    s.count_ = total;
    s.valid_ = std::move(valid);
    return s;
}

core::Vec3i CandidateSet::at(std::int64_t k) const
{
    ZNN_CHECK(k >= 0 && k < count_, "CandidateSet::at: index out of range");
    const core::Vec3i S = box_.size;
    if (valid_.empty()) {
        const std::int64_t x = k % S.x, y = (k / S.x) % S.y, z = k / (S.x * S.y);
        return box_.origin + core::Vec3i{z, y, x};
    }
    // The first row whose cumulative count exceeds k holds the k-th valid deviation.
    const auto it = std::upper_bound(row_end_.begin(), row_end_.end(), k);
    const auto r = static_cast<std::int64_t>(it - row_end_.begin());
    std::int64_t within = k - (r > 0 ? row_end_[static_cast<std::size_t>(r - 1)] : 0);
    const std::int64_t z = r / S.y, y = r % S.y;
    const std::uint8_t* row = valid_.view().row(0, z, y);
    for (std::int64_t x = 0; x < S.x; ++x)
        if (row[x] != 0 && within-- == 0) return box_.origin + core::Vec3i{z, y, x};
    throw core::InternalError("CandidateSet: inconsistent row counts");
}

}  // namespace znn::data
