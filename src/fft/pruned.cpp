#include "znn/fft/pruned.hpp"

#include <algorithm>
#include <cstring>

#include "znn/core/error.hpp"

namespace znn::fft {

PrunedTransform::PrunedTransform(PlanCache& plans, const core::Vec3i& n, const core::Vec3i& block) : n_(n), k_(block)
{
    ZNN_CHECK(all_le(block, n) && block.min_component() >= 1, "pruned transform: block larger than the volume");
    const int nz = static_cast<int>(n.z), ny = static_cast<int>(n.y), nx = static_cast<int>(n.x);
    const int kz = static_cast<int>(block.z), ky = static_cast<int>(block.y);
    const int nxc = nx / 2 + 1;
    const int plane = ny * nxc;
    // x: the block's rows, real scratch (kz × ky × nx) <-> spectrum rows at (z < kz, y < ky).
    rows_r2c_ = &plans.get({TransformKind::R2C, {{nx, 1, 1}}, {{kz, ky * nx, plane}, {ky, nx, nxc}}, false});
    rows_c2r_ = &plans.get({TransformKind::C2R, {{nx, 1, 1}}, {{kz, plane, ky * nx}, {ky, nxc, nx}}, false});
    // y: in place on the kz planes the block touches.
    if (ny > 1) {
        const PlanSpec y{TransformKind::Forward, {{ny, nxc, nxc}}, {{kz, plane, plane}, {nxc, 1, 1}}, true};
        y_forward_ = &plans.get(y);
        PlanSpec yb = y;
        yb.kind = TransformKind::Backward;
        y_backward_ = &plans.get(yb);
    }
    // z: in place on every column.
    if (nz > 1) {
        const PlanSpec z{TransformKind::Forward, {{nz, plane, plane}}, {{plane, 1, 1}}, true};
        z_forward_ = &plans.get(z);
        PlanSpec zb = z;
        zb.kind = TransformKind::Backward;
        z_backward_ = &plans.get(zb);
    }
}

void PrunedTransform::forward(const float* block, float scale, cfloat* spectrum, float* scratch) const
{
    const std::int64_t nxc = n_.x / 2 + 1;
    const std::int64_t plane = n_.y * nxc;
    // Rows of the block, zero-padded to nx and scaled.
    for (std::int64_t r = 0; r < k_.z * k_.y; ++r) {
        float* row = scratch + r * n_.x;
        const float* src = block + r * k_.x;
        for (std::int64_t x = 0; x < k_.x; ++x) row[x] = src[x] * scale;
        std::fill(row + k_.x, row + n_.x, 0.0f);
    }
    // Everything the x pass does not write must be zero before the y and z passes.
    for (std::int64_t z = 0; z < k_.z; ++z)
        std::memset(static_cast<void*>(spectrum + z * plane + k_.y * nxc), 0,
                    static_cast<std::size_t>((n_.y - k_.y) * nxc) * sizeof(cfloat));
    std::memset(static_cast<void*>(spectrum + k_.z * plane), 0, static_cast<std::size_t>((n_.z - k_.z) * plane) * sizeof(cfloat));
    rows_r2c_->r2c(scratch, spectrum);
    if (y_forward_) y_forward_->dft(spectrum, spectrum);
    if (z_forward_) z_forward_->dft(spectrum, spectrum);
}

void PrunedTransform::inverse(cfloat* spectrum, float scale, float* block, float* scratch) const
{
    if (z_backward_) z_backward_->dft(spectrum, spectrum);
    if (y_backward_) y_backward_->dft(spectrum, spectrum);
    rows_c2r_->c2r(spectrum, scratch);
    for (std::int64_t r = 0; r < k_.z * k_.y; ++r) {
        const float* row = scratch + r * n_.x;
        float* dst = block + r * k_.x;
        for (std::int64_t x = 0; x < k_.x; ++x) dst[x] = row[x] * scale;
    }
}

}  // namespace znn::fft
