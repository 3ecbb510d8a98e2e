#include "znn/data/augment.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <vector>

#include "znn/core/error.hpp"

namespace znn::data {

SpatialTransform SpatialTransform::rotation(int k)
{
    // numpy.rot90 (axes y, x): once = transpose then flip y; twice = flip y and x; three times =
    // transpose then flip x.
    switch (((k % 4) + 4) % 4) {
    case 1: return {true, false, true, false};
    case 2: return {false, false, true, true};
    case 3: return {true, false, false, true};
    default: return {};
    }
}

SpatialTransform SpatialTransform::after(const SpatialTransform& first) const
{
    // this ∘ first = F2 ∘ T2 ∘ F1 ∘ T1. Moving a transpose across reflections swaps which of y and x
    // is reflected: T2 ∘ F1 = F1' ∘ T2.
    const bool fy1 = transpose ? first.flip_x : first.flip_y;
    const bool fx1 = transpose ? first.flip_y : first.flip_x;
    return {transpose != first.transpose, flip_z != first.flip_z, flip_y != fy1, flip_x != fx1};
}

SpatialTransform SpatialTransform::inverse() const
{
    // (F ∘ T)^-1 = T ∘ F = F' ∘ T.
    return {transpose, flip_z, transpose ? flip_x : flip_y, transpose ? flip_y : flip_x};
}

SpatialTransform SpatialTransform::draw(core::Rng& rng, bool flips, bool transpose, bool rot90)
{
    SpatialTransform t;
    if (flips) {
        t.flip_z = rng.bernoulli(0.5);
        t.flip_y = rng.bernoulli(0.5);
        t.flip_x = rng.bernoulli(0.5);
    }
    if (transpose) t.transpose = rng.bernoulli(0.5);
    if (rot90) t = rotation(static_cast<int>(rng.uniform_int(0, 3))).after(t);
    return t;
}

template <class T>
tensor::Tensor<T> SpatialTransform::apply(tensor::TensorView<const T> v) const
{
    const core::Vec3i in = v.size();
    const core::Vec3i out_size = transpose ? core::Vec3i{in.z, in.x, in.y} : in;
    tensor::Tensor<T> out(v.channels(), out_size, core::Init::Uninitialized);
    for (std::int64_t c = 0; c < v.channels(); ++c)
        for (std::int64_t z = 0; z < out_size.z; ++z) {
            const std::int64_t zz = flip_z ? out_size.z - 1 - z : z;
            for (std::int64_t y = 0; y < out_size.y; ++y) {
                const std::int64_t a = flip_y ? out_size.y - 1 - y : y;  // coordinate before the reflections
                T* dst = out.view().row(c, z, y);
                if (!transpose) {
                    const T* src = v.row(c, zz, a);
                    if (flip_x) {
                        for (std::int64_t x = 0; x < out_size.x; ++x) dst[x] = src[out_size.x - 1 - x];
                    } else {
                        std::copy_n(src, out_size.x, dst);
                    }
                    continue;
                }
                for (std::int64_t x = 0; x < out_size.x; ++x) {
                    const std::int64_t b = flip_x ? out_size.x - 1 - x : x;
                    dst[x] = v(c, zz, b, a);  // transposed: output (a, b) is input (b, a)
                }
            }
        }
    return out;
}

void gaussian_blur(tensor::TensorView<float> v, int axis, double sigma)
{
    ZNN_CHECK(axis >= 0 && axis < 3 && sigma > 0, "gaussian_blur: bad axis or sigma");
    const auto radius = static_cast<std::int64_t>(std::ceil(3 * sigma));
    std::vector<float> kernel(static_cast<std::size_t>(2 * radius + 1));
    double total = 0;
    for (std::int64_t i = -radius; i <= radius; ++i)
        total += kernel[static_cast<std::size_t>(i + radius)] = static_cast<float>(std::exp(-0.5 * double(i * i) / (sigma * sigma)));
    for (float& k : kernel) k = static_cast<float>(k / total);
    const core::Vec3i S = v.size();
    const std::int64_t n = S[axis];
    if (n <= 1) return;
    // Gather each line along `axis` into a buffer, convolve with clamped borders, scatter back.
    std::vector<float> line(static_cast<std::size_t>(n)), out(line.size());
    core::Vec3i lines = S;
    lines[axis] = 1;
    const std::int64_t stride = axis == 0 ? v.strides().z : axis == 1 ? v.strides().y : 1;
    for (std::int64_t c = 0; c < v.channels(); ++c)
        for (std::int64_t z = 0; z < lines.z; ++z)
            for (std::int64_t y = 0; y < lines.y; ++y)
                for (std::int64_t x = 0; x < lines.x; ++x) {
                    float* p = v.row(c, z, y) + x;
                    for (std::int64_t i = 0; i < n; ++i) line[static_cast<std::size_t>(i)] = p[i * stride];
                    for (std::int64_t i = 0; i < n; ++i) {
                        float acc = 0;
                        for (std::int64_t k = -radius; k <= radius; ++k)
                            acc += kernel[static_cast<std::size_t>(k + radius)] * line[static_cast<std::size_t>(std::clamp<std::int64_t>(i + k, 0, n - 1))];
                        out[static_cast<std::size_t>(i)] = acc;
                    }
                    for (std::int64_t i = 0; i < n; ++i) p[i * stride] = out[static_cast<std::size_t>(i)];
                }
}

void blur_section(tensor::TensorView<float> input, std::int64_t z, double sigma)
{
    const tensor::TensorView<float> section = input.box({{z, 0, 0}, {1, input.size().y, input.size().x}});
    gaussian_blur(section, 1, sigma);
    gaussian_blur(section, 2, sigma);
}

void augment_intensity(tensor::TensorView<float> input, const config::Augmentation& a, core::Rng& rng)
{
    const core::Vec3i S = input.size();
    if (a.grayscale > 0 && rng.bernoulli(a.grayscale)) {
        const double contrast = rng.uniform(1 - a.grayscale_contrast, 1 + a.grayscale_contrast);
        const double brightness = rng.uniform(-a.grayscale_brightness, a.grayscale_brightness);
        const double gamma = std::exp2(rng.uniform(-a.grayscale_gamma, a.grayscale_gamma));
        // Gamma acts on the patch's range mapped to [0, 1], then the range is restored. u^gamma comes
        // from a table with linear interpolation (error < 1e-3 of the range; std::pow per voxel made
        // this the slowest step of the data path).
        float lo = input(0, 0, 0, 0), hi = lo;
        input.for_each([&](float& v) { lo = std::min(lo, v); hi = std::max(hi, v); });
        const float range = hi - lo;
        constexpr int kSteps = 1024;
        std::array<float, kSteps + 2> table{};
        for (int i = 0; i <= kSteps; ++i) table[static_cast<std::size_t>(i)] = static_cast<float>(std::pow(double(i) / kSteps, gamma));
        table[kSteps + 1] = table[kSteps];
        const float scale = range > 0 ? float(kSteps) / range : 0.0f;
        const auto c = static_cast<float>(contrast), b = static_cast<float>(brightness);
        input.for_each([&](float& v) {
            const float t = (v - lo) * scale;
            const int i = std::min(static_cast<int>(t), kSteps);
            const float f = t - float(i);
            const float u = table[static_cast<std::size_t>(i)] + f * (table[static_cast<std::size_t>(i) + 1] - table[static_cast<std::size_t>(i)]);
            v = (lo + u * range) * c + b;
        });
    }
    if (S.z > 1 && a.missing_section > 0 && rng.bernoulli(a.missing_section)) {
        for (std::int64_t k = 0; k < a.missing_sections; ++k) {
            const std::int64_t z = rng.uniform_int(0, S.z - 1);
            for (std::int64_t c = 0; c < input.channels(); ++c) tensor::fill(input.channel(c).box({{z, 0, 0}, {1, S.y, S.x}}), 0.0f);
        }
    }
    if (a.blur > 0 && rng.bernoulli(a.blur)) {
        for (std::int64_t k = 0; k < a.blur_sections; ++k)
            blur_section(input, rng.uniform_int(0, S.z - 1), rng.uniform(0.5, std::max(0.5, a.blur_sigma)));
    }
}

template tensor::Tensor<float> SpatialTransform::apply(tensor::TensorView<const float>) const;
template tensor::Tensor<std::uint32_t> SpatialTransform::apply(tensor::TensorView<const std::uint32_t>) const;
template tensor::Tensor<std::uint8_t> SpatialTransform::apply(tensor::TensorView<const std::uint8_t>) const;

}  // namespace znn::data
