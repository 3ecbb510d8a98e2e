#pragma once
/// @file
/// @brief Max-filtering and max-pooling, forward and backward.
///
/// One operation covers both, per axis:
///
///     out(p) = max_{0 <= k < window} in(p·stride + k·dilation)
///
///  - max-filter (the original's `max_filter` edge): stride 1, a dense sliding window; the window's
///    taps are `dilation` apart, which is how a max-filter deep in a network sees the sparse grid
///    earlier max-filters left (reference §7.4). Output = in − (window − 1)·dilation.
///  - max-pool (`max_pool`): stride = window, dilation 1, non-overlapping; the input must divide by
///    the window (InputError otherwise). Output = in / window.
///
/// The forward pass records, per output voxel, the flat index (z·Y + y)·X + x within its channel of
/// the input voxel that won; ties go to the first voxel of the window in (z, y, x) order. The
/// backward pass adds each output gradient to the input voxel that won.
///
/// Tensors are (channels, z, y, x); every channel is independent. Runs on the given ParallelFor; the
/// forward pass with the kernels of the given SIMD path.

#include <cstdint>

#include "znn/conv/problem.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::conv {

/// @brief The window of a max operation.
struct MaxWindow {
    Vec3i window{2, 2, 2};
    Vec3i stride{1, 1, 1};
    Vec3i dilation{1, 1, 1};

    /// A dense sliding-window max-filter with taps `dilation` apart.
    static MaxWindow filter(const Vec3i& window, const Vec3i& dilation = {1, 1, 1}) { return {window, {1, 1, 1}, dilation}; }
    /// Non-overlapping max-pooling.
    static MaxWindow pool(const Vec3i& window) { return {window, window, {1, 1, 1}}; }

    /// The output size for input size `in`; throws InputError when the window does not fit or (for
    /// pooling) does not divide the input.
    Vec3i out_size(const Vec3i& in) const;
};

/// out (C, out_size) = max over windows of in (C, I); argmax (C, out_size) gets the winners' indices.
void max_forward(tensor::TensorView<const float> in, const MaxWindow& w, tensor::TensorView<float> out,
                 tensor::TensorView<std::int32_t> argmax, core::ParallelFor& threads,
                 core::SimdPath simd = core::host_simd_path());

/// grad_in (C, I) gets every grad_out value added at its argmax (after zeroing, for Overwrite).
void max_backward(tensor::TensorView<const float> grad_out, tensor::TensorView<const std::int32_t> argmax,
                  tensor::TensorView<float> grad_in, Accumulate mode, core::ParallelFor& threads);

}  // namespace znn::conv
