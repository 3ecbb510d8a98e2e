#include "znn/data/region.hpp"

#include <algorithm>

#include "znn/core/error.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::data {
namespace {

/// Per axis: the stored index of every padded coordinate of the region, and their bounds.
struct AxisMap {
    std::vector<std::int64_t> index;  // stored index per output coordinate, relative to lo
    std::int64_t lo = 0, hi = 0;      // stored range [lo, hi] read from the file
};

AxisMap map_axis(std::int64_t begin, std::int64_t end, std::int64_t pad_low, std::int64_t stored)
{
    AxisMap m;
    m.lo = stored;
    m.hi = -1;
    for (std::int64_t u = begin; u < end; ++u) {
        const std::int64_t s = reflect(u - pad_low, stored);
        m.index.push_back(s);
        m.lo = std::min(m.lo, s);
        m.hi = std::max(m.hi, s);
    }
    for (auto& i : m.index) i -= m.lo;
    return m;
}

/// The region of `size` whose voxel (c, z, y, x) is src(c, axes[0].index[z], axes[1].index[y], axes[2].index[x]).
template <class T>
tensor::Tensor<T> gather(tensor::TensorView<const T> src, const AxisMap (&axes)[3], const Vec3i& size)
{
    tensor::Tensor<T> out(src.channels(), size, core::Init::Uninitialized);
    const bool contiguous_x = size.x == src.size().x && std::is_sorted(axes[2].index.begin(), axes[2].index.end()) &&
                              axes[2].index.front() == 0;
    for (std::int64_t c = 0; c < src.channels(); ++c)
        for (std::int64_t z = 0; z < size.z; ++z)
            for (std::int64_t y = 0; y < size.y; ++y) {
                const T* row = src.row(c, axes[0].index[static_cast<std::size_t>(z)], axes[1].index[static_cast<std::size_t>(y)]);
                T* dst = out.view().row(c, z, y);
                if (contiguous_x) {
                    std::copy_n(row, size.x, dst);
                    continue;
                }
                for (std::int64_t x = 0; x < size.x; ++x) dst[x] = row[axes[2].index[static_cast<std::size_t>(x)]];
            }
    return out;
}

}  // namespace

std::int64_t reflect(std::int64_t i, std::int64_t n) noexcept
{
    if (n <= 1) return 0;
    const std::int64_t period = 2 * n;
    std::int64_t r = i % period;
    if (r < 0) r += period;
    return r < n ? r : period - 1 - r;
}

template <class T>
tensor::Tensor<T> MirroredVolume::read(const Box3& region, const dist::Comm& comm) const
{
    ZNN_CHECK(!region.empty(), "MirroredVolume::read: empty region");
    AxisMap axes[3];
    for (int a = 0; a < 3; ++a) axes[a] = map_axis(region.origin[a], region.end()[a], pad_low[a], stored[a]);
    const Box3 source{offset + Vec3i{axes[0].lo, axes[1].lo, axes[2].lo},
                      {axes[0].hi - axes[0].lo + 1, axes[1].hi - axes[1].lo + 1, axes[2].hi - axes[2].lo + 1}};
    tensor::AnyTensor raw = comm.is_serial() || comm.size() == 1 ? io::read_volume(uri, source)
                                                                 : io::read_volume_collective(uri, source, comm);
    tensor::ConversionStats stats;
    tensor::Tensor<T> src;
    try {
        src = raw.to<T>(&stats);
    } catch (core::Error& e) {
        e.at(uri.str());
        throw;
    }
    if (stats.clamped > 0)
        throw core::InputError(std::to_string(stats.clamped) + " values do not fit in " + std::string(core::to_string(core::dtype_of<T>())) +
                               (std::is_integral_v<T> ? " (label IDs must fit in 32 bits)" : ""))
            .at(uri.str());
    if (source.size == region.size && source.origin == offset + region.origin - pad_low) return src;  // no reflection involved
    return gather(src.cview(), axes, region.size);
}

tensor::Tensor<float> MirroredVolume::read_float(const Box3& region, const dist::Comm& comm) const
{
    return read<float>(region, comm);
}

tensor::Tensor<float> read_mirrored(tensor::TensorView<const float> stored, const Vec3i& pad_low, const Box3& region)
{
    ZNN_CHECK(!region.empty(), "read_mirrored: empty region");
    AxisMap axes[3];
    for (int a = 0; a < 3; ++a) axes[a] = map_axis(region.origin[a], region.end()[a], pad_low[a], stored.size()[a]);
    const Box3 source{{axes[0].lo, axes[1].lo, axes[2].lo},
                      {axes[0].hi - axes[0].lo + 1, axes[1].hi - axes[1].lo + 1, axes[2].hi - axes[2].lo + 1}};
    return gather(stored.box(source), axes, region.size);
}

template <class T>
tensor::Tensor<T> mirror_pad(const tensor::Tensor<T>& src, const Vec3i& low, const Vec3i& high)
{
    const Vec3i S = src.size();
    tensor::Tensor<T> out(src.channels(), S + low + high, core::Init::Uninitialized);
    for (std::int64_t c = 0; c < src.channels(); ++c)
        for (std::int64_t z = 0; z < out.size().z; ++z)
            for (std::int64_t y = 0; y < out.size().y; ++y)
                for (std::int64_t x = 0; x < out.size().x; ++x)
                    out(c, z, y, x) = src(c, reflect(z - low.z, S.z), reflect(y - low.y, S.y), reflect(x - low.x, S.x));
    return out;
}

template tensor::Tensor<float> MirroredVolume::read<float>(const Box3&, const dist::Comm&) const;
template tensor::Tensor<std::uint32_t> MirroredVolume::read<std::uint32_t>(const Box3&, const dist::Comm&) const;
template tensor::Tensor<std::uint8_t> MirroredVolume::read<std::uint8_t>(const Box3&, const dist::Comm&) const;
template tensor::Tensor<float> mirror_pad(const tensor::Tensor<float>&, const Vec3i&, const Vec3i&);
template tensor::Tensor<std::uint32_t> mirror_pad(const tensor::Tensor<std::uint32_t>&, const Vec3i&, const Vec3i&);

}  // namespace znn::data
