#pragma once
/// @file
/// @brief Pruned 3D transforms between a small block at the origin of an n-volume and the spectrum.
///
/// A 7³ kernel zero-padded to 20³ fills 4% of the volume; a full r2c transform spends most of its
/// time on lines of zeros. Done axis by axis, the transform of such a volume only needs:
///  - x (r2c) on the block's k.z·k.y rows,
///  - y on the k.z planes the block touches,
///  - z on every column (all are non-zero by then).
/// The inverse, when only the block is wanted (a kernel gradient), runs the same passes in reverse:
/// z on every column, y on k.z planes, x (c2r) on k.z·k.y rows. Both use batched strided 1D plans
/// from the PlanCache and are safe to run from many threads at once.
///
/// Spectra have the layout of a plain 3D r2c: n.z × n.y × (n.x/2 + 1) complex values, C order.

#include <cstdint>

#include "znn/core/vec3.hpp"
#include "znn/fft/plan_cache.hpp"

namespace znn::fft {

/// @brief The pruned transform pair for one (volume size n, block size k).
class PrunedTransform {
public:
    /// Plans (through `plans`) the passes for volumes of size n with a block of size k <= n.
    PrunedTransform(PlanCache& plans, const core::Vec3i& n, const core::Vec3i& block);

    const core::Vec3i& n() const noexcept { return n_; }
    const core::Vec3i& block() const noexcept { return k_; }
    /// Complex values of one spectrum.
    std::int64_t spectrum_size() const noexcept { return n_.z * n_.y * (n_.x / 2 + 1); }
    /// Floats of scratch memory forward() and inverse() need (per concurrent caller).
    std::int64_t scratch_size() const noexcept { return k_.z * k_.y * n_.x; }

    /// The spectrum of the volume that holds `block` (k.z×k.y×k.x values, C order) at the origin,
    /// multiplied by `scale`, and zeros elsewhere.
    void forward(const float* block, float scale, cfloat* spectrum, float* scratch) const;
    /// The block at the origin of the (unnormalised) c2r inverse of `spectrum`, which is destroyed,
    /// multiplied by `scale`, written to `block` (k.z×k.y×k.x values, C order).
    void inverse(cfloat* spectrum, float scale, float* block, float* scratch) const;

private:
    core::Vec3i n_;
    core::Vec3i k_;
    const Plan* rows_r2c_ = nullptr;
    const Plan* rows_c2r_ = nullptr;
    const Plan* y_forward_ = nullptr;
    const Plan* y_backward_ = nullptr;
    const Plan* z_forward_ = nullptr;
    const Plan* z_backward_ = nullptr;
};

}  // namespace znn::fft
