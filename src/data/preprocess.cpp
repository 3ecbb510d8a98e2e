#include "znn/data/preprocess.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "znn/core/error.hpp"
#include "znn/data/section_rounds.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::data {

VolumeStats VolumeStats::of(tensor::TensorView<const float> v)
{
    VolumeStats s;
    s.add(v);
    return s;
}

void VolumeStats::add(tensor::TensorView<const float> v)
{
    if (count == 0) {
        min = std::numeric_limits<double>::infinity();
        max = -std::numeric_limits<double>::infinity();
    }
    for (std::int64_t c = 0; c < v.channels(); ++c)
        for (std::int64_t z = 0; z < v.size().z; ++z)
            for (std::int64_t y = 0; y < v.size().y; ++y) {
                const float* row = v.row(c, z, y);
                double row_sum = 0, row_sum_sq = 0;
                float lo = std::numeric_limits<float>::infinity(), hi = -lo;
                for (std::int64_t x = 0; x < v.size().x; ++x) {
                    row_sum += row[x];
                    row_sum_sq += double(row[x]) * row[x];
                    lo = std::min(lo, row[x]);
                    hi = std::max(hi, row[x]);
                }
                sum += row_sum;
                sum_sq += row_sum_sq;
                min = std::min(min, double(lo));
                max = std::max(max, double(hi));
            }
    count += static_cast<double>(v.count());
    if (count == 0) min = max = 0;
}

void VolumeStats::merge(const VolumeStats& o)
{
    if (o.count == 0) return;
    if (count == 0) {
        *this = o;
        return;
    }
    sum += o.sum;
    sum_sq += o.sum_sq;
    count += o.count;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
}

double VolumeStats::stddev() const
{
    if (count <= 0) return 0;
    const double m = mean();
    return std::sqrt(std::max(0.0, sum_sq / count - m * m));
}

VolumeStatistics::VolumeStatistics(std::int64_t channels, std::int64_t sections)
    : channels_(channels), sections_(sections), stats_(static_cast<std::size_t>(channels * sections))
{
}

void VolumeStatistics::add_sections(tensor::TensorView<const float> v, std::int64_t first_z)
{
    ZNN_CHECK(v.channels() == channels_ && first_z >= 0 && first_z + v.size().z <= sections_,
              "VolumeStatistics::add_sections: sections out of range");
    for (std::int64_t c = 0; c < channels_; ++c)
        for (std::int64_t z = 0; z < v.size().z; ++z)
            stats_[index(c, first_z + z)].add(v.channel(c).box({{z, 0, 0}, {1, v.size().y, v.size().x}}));
}

void VolumeStatistics::add_rows(tensor::TensorView<const float> v, std::int64_t z)
{
    ZNN_CHECK(v.channels() == channels_ && v.size().z == 1 && z >= 0 && z < sections_,
              "VolumeStatistics::add_rows: not rows of one section");
    for (std::int64_t c = 0; c < channels_; ++c)
        stats_[index(c, z)].add(v.channel(c));
}

void VolumeStatistics::reduce(const dist::Comm& comm)
{
    if (comm.is_serial() || comm.size() == 1) return;
    const std::size_t n = stats_.size();
    std::vector<double> sums(3 * n), lo(n), hi(n);
    for (std::size_t i = 0; i < n; ++i) {
        const VolumeStats& s = stats_[i];
        sums[3 * i] = s.sum;
        sums[3 * i + 1] = s.sum_sq;
        sums[3 * i + 2] = s.count;
        // Ranks without data must not pull the extremes toward 0.
        lo[i] = s.count > 0 ? s.min : std::numeric_limits<double>::infinity();
        hi[i] = s.count > 0 ? s.max : -std::numeric_limits<double>::infinity();
    }
    comm.allreduce_sum(std::span<double>(sums));
    comm.allreduce_min(std::span<double>(lo));
    comm.allreduce_max(std::span<double>(hi));
    for (std::size_t i = 0; i < n; ++i) {
        const double count = sums[3 * i + 2];
        stats_[i] = {sums[3 * i], sums[3 * i + 1], count, count > 0 ? lo[i] : 0.0, count > 0 ? hi[i] : 0.0};
    }
}

VolumeStats VolumeStatistics::channel(std::int64_t c) const
{
    VolumeStats s;
    for (std::int64_t z = 0; z < sections_; ++z) s.merge(section(c, z));
    return s;
}

void preprocess(tensor::TensorView<float> v, config::Preprocess p, const VolumeStatistics& stats, std::int64_t first_channel,
                std::span<const std::int64_t> stored_z)
{
    if (p == config::Preprocess::None) return;
    ZNN_CHECK(static_cast<std::int64_t>(stored_z.size()) == v.size().z, "preprocess: one stored section per region section");
    for (std::int64_t c = 0; c < v.channels(); ++c) {
        const VolumeStats whole = stats.channel(first_channel + c);
        for (std::int64_t z = 0; z < v.size().z; ++z) {
            double scale = 1, shift = 0;
            switch (p) {
            case config::Preprocess::None: break;
            case config::Preprocess::Standard2D:
            case config::Preprocess::Standard3D: {
                const VolumeStats& s = p == config::Preprocess::Standard3D ? whole : stats.section(first_channel + c, stored_z[static_cast<std::size_t>(z)]);
                const double sd = s.stddev();
                scale = sd > 0 ? 1.0 / sd : 1.0;
                shift = -s.mean() * scale;
                break;
            }
            case config::Preprocess::SymmetricRescale: {
                const double range = whole.max - whole.min;
                scale = range > 0 ? 2.0 / range : 0.0;  // a constant volume becomes 0
                shift = range > 0 ? -1.0 - whole.min * scale : 0.0;
                break;
            }
            }
            for (std::int64_t y = 0; y < v.size().y; ++y) {
                float* row = v.row(c, z, y);
                for (std::int64_t x = 0; x < v.size().x; ++x) row[x] = static_cast<float>(row[x] * scale + shift);
            }
        }
    }
}

VolumeStatistics stored_statistics(const MirroredVolume& v, const dist::Comm& comm, std::int64_t round_bytes)
{
    VolumeStatistics stats(v.channels, v.stored.z);
    const std::int64_t row_bytes = v.channels * v.stored.x * static_cast<std::int64_t>(sizeof(float));
    const std::int64_t section_bytes = row_bytes * v.stored.y;
    // Sections larger than a round are read in bands of rows (a round then holds one section); the
    // rows of a section are added in order, so the sums do not depend on the band size.
    const std::int64_t band = std::clamp<std::int64_t>(round_bytes / std::max<std::int64_t>(1, row_bytes), 1, v.stored.y);
    for_each_section_round(v.stored.z, section_bytes, comm, [&](std::int64_t z0, std::int64_t n) {
        if (v.uri.format == io::FileFormat::Tiff && n == 0) return;  // TIFF reads are independent
        if (band == v.stored.y) {
            tensor::AnyTensor raw =
                io::read_volume_collective(v.uri, {v.offset + Vec3i{z0, 0, 0}, {n, v.stored.y, v.stored.x}}, comm);
            if (n > 0) stats.add_sections(raw.to<float>().view(), z0);
            return;
        }
        for (std::int64_t y0 = 0; y0 < v.stored.y; y0 += band) {
            const std::int64_t rows = std::min(band, v.stored.y - y0);
            tensor::AnyTensor raw =
                io::read_volume_collective(v.uri, {v.offset + Vec3i{z0, y0, 0}, {n, rows, v.stored.x}}, comm);
            if (n > 0) stats.add_rows(raw.to<float>().view(), z0);
        }
    }, round_bytes);
    stats.reduce(comm);
    return stats;
}

void preprocess_region(tensor::TensorView<float> region, const Vec3i& origin, const MirroredVolume& v,
                       config::Preprocess p, const VolumeStatistics& stats)
{
    if (p == config::Preprocess::None) return;
    std::vector<std::int64_t> stored_z(static_cast<std::size_t>(region.size().z));
    for (std::int64_t z = 0; z < region.size().z; ++z)
        stored_z[static_cast<std::size_t>(z)] = reflect(origin.z + z - v.pad_low.z, v.stored.z);
    preprocess(region, p, stats, 0, stored_z);
}

}  // namespace znn::data
