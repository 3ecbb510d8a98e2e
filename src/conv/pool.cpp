// Max-filter / max-pool. For each output row the window's taps are listed in (z, y, x) order; each
// vector of outputs folds all taps in registers with a strict ">" (the first winner in (z, y, x)
// order is kept, as a naive scan would) and is stored once with its argmax. The input rows stay in
// cache across the window, so the input is read from memory about once and the output written once.

#include "znn/conv/pool.hpp"

#include <algorithm>
#include <limits>
#include <vector>

#include "max_rows.hpp"
#include "znn/core/error.hpp"
#include "znn/core/limits.hpp"

namespace znn::conv {

MaxRowKernel max_row_kernel(core::SimdPath path)
{
    switch (core::choose_simd_path(path)) {
    case core::SimdPath::Avx2: return avx2::kMaxRow;
    case core::SimdPath::Avx512: return avx512::kMaxRow;
    }
    throw core::InternalError("max_row_kernel: unknown SIMD path");
}

Vec3i MaxWindow::out_size(const Vec3i& in) const
{
    if (window.min_component() < 1 || stride.min_component() < 1 || dilation.min_component() < 1)
        throw core::InputError("max window, stride and dilation must be positive");
    if (!core::within_axis_limit(window) || !core::within_axis_limit(stride) || !core::within_axis_limit(dilation))
        throw core::InputError("max window, stride and dilation must be at most " + std::to_string(core::kMaxAxis));
    const Vec3i extent = (window - 1) * dilation + 1;
    if (!all_le(extent, in))
        throw core::InputError("max window extent " + core::to_string(extent) + " is larger than its input " +
                               core::to_string(in));
    if (stride != Vec3i{1, 1, 1}) {
        if (stride != window || dilation != Vec3i{1, 1, 1})
            throw core::InputError("max-pooling needs stride = window and no dilation");
        if (in % window != Vec3i{0, 0, 0})
            throw core::InputError("max-pool window " + core::to_string(window) + " does not divide its input " +
                                   core::to_string(in));
        return in / window;
    }
    return in - extent + 1;
}

void max_forward(tensor::TensorView<const float> in, const MaxWindow& w, tensor::TensorView<float> out,
                 tensor::TensorView<std::int32_t> argmax, core::ParallelFor& threads, core::SimdPath simd)
{
    const MaxRowKernel max_row = max_row_kernel(simd);
    const Vec3i O = w.out_size(in.size());
    ZNN_CHECK(out.size() == O && out.channels() == in.channels(), "max_forward: output shape");
    ZNN_CHECK(argmax.shape() == out.shape(), "max_forward: argmax shape");
    ZNN_CHECK(in.size().product() <= std::numeric_limits<std::int32_t>::max(), "max_forward: channel too large for int32 indices");
    const Vec3i I = in.size();
    const std::int64_t rows = O.z * O.y;
    std::vector<Taps> scratch(static_cast<std::size_t>(threads.threads()));
    threads.run(in.channels() * rows, std::max<std::int64_t>(4096 / std::max<std::int64_t>(O.x, 1), in.channels() * rows / (4 * threads.threads())),
                [&](std::int64_t begin, std::int64_t end, int thread) {
                    Taps& taps = scratch[static_cast<std::size_t>(thread)];
                    for (std::int64_t item = begin; item < end; ++item) {
                        const std::int64_t c = item / rows, z = item % rows / O.y, y = item % O.y;
                        taps.rows.clear();
                        taps.base.clear();
                        for (std::int64_t kz = 0; kz < w.window.z; ++kz) {
                            const std::int64_t iz = z * w.stride.z + kz * w.dilation.z;
                            for (std::int64_t ky = 0; ky < w.window.y; ++ky) {
                                const std::int64_t iy = y * w.stride.y + ky * w.dilation.y;
                                const float* row = in.row(c, iz, iy);
                                for (std::int64_t kx = 0; kx < w.window.x; ++kx) {
                                    const std::int64_t ix = kx * w.dilation.x;
                                    taps.rows.push_back(row + ix);
                                    taps.base.push_back(static_cast<std::int32_t>((iz * I.y + iy) * I.x + ix));
                                }
                            }
                        }
                        max_row(taps, O.x, w.stride.x, out.row(c, z, y), argmax.row(c, z, y));
                    }
                });
}

void max_backward(tensor::TensorView<const float> grad_out, tensor::TensorView<const std::int32_t> argmax,
                  tensor::TensorView<float> grad_in, Accumulate mode, core::ParallelFor& threads)
{
    ZNN_CHECK(argmax.shape() == grad_out.shape() && grad_in.channels() == grad_out.channels(), "max_backward: shapes");
    const Vec3i I = grad_in.size();
    // Windows overlap within a channel (max-filter), so each channel is one work item.
    threads.run(grad_in.channels(), 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t c = begin; c < end; ++c) {
            tensor::TensorView<float> dst = grad_in.channel(c);
            const bool dense = dst.is_contiguous();
            if (mode == Accumulate::Overwrite) tensor::fill(dst, 0.0f);
            for (std::int64_t z = 0; z < grad_out.size().z; ++z)
                for (std::int64_t y = 0; y < grad_out.size().y; ++y) {
                    const float* g = grad_out.row(c, z, y);
                    const std::int32_t* idx = argmax.row(c, z, y);
                    if (dense) {
                        float* base = dst.data();
                        for (std::int64_t x = 0; x < grad_out.size().x; ++x) base[idx[x]] += g[x];
                        continue;
                    }
                    for (std::int64_t x = 0; x < grad_out.size().x; ++x) {
                        const std::int64_t flat = idx[x];
                        dst(0, flat / (I.y * I.x), flat / I.x % I.y, flat % I.x) += g[x];
                    }
                }
        }
    });
}

}  // namespace znn::conv
