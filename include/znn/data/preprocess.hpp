#pragma once
/// @file
/// @brief Input preprocessing (`pp_types` of `[imageN]`, reference §3.3).
///
///  - standard2D: per z-section, subtract the mean and divide by the standard deviation;
///  - standard3D: the same over the whole volume;
///  - symetric_rescale: min-max rescale of the whole volume to [−1, 1];
///  - none.
/// Statistics are always those of the stored volume, per channel and per section, whatever part of
/// it a rank holds: mirrored padding repeats stored values, so preprocessing a padded region with
/// them equals padding the preprocessed volume, and the result does not depend on how a volume is
/// split over ranks (each rank gathers statistics of disjoint sections; VolumeStatistics::reduce sums
/// them). A constant volume or section is only centred (its standard deviation or range is 0).

#include <cstdint>
#include <span>
#include <vector>

#include "znn/config/sample_spec.hpp"
#include "znn/data/region.hpp"
#include "znn/dist/comm.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::data {

/// @brief Sum, sum of squares, count, minimum and maximum of some values.
struct VolumeStats {
    double sum = 0;
    double sum_sq = 0;
    double count = 0;
    double min = 0;
    double max = 0;

    /// Statistics of every value of `v`.
    static VolumeStats of(tensor::TensorView<const float> v);
    /// Adds every value of `v`, row by row, to the sums: adding the rows of a volume in bands, in
    /// order, gives the same sums as adding them at once.
    void add(tensor::TensorView<const float> v);
    /// Combines two sets of statistics (of disjoint parts).
    void merge(const VolumeStats& other);

    double mean() const { return count > 0 ? sum / count : 0.0; }
    /// Population standard deviation (numpy's default).
    double stddev() const;
};

/// @brief Statistics of every (channel, z-section) of a volume.
class VolumeStatistics {
public:
    VolumeStatistics() = default;
    VolumeStatistics(std::int64_t channels, std::int64_t sections);

    /// Adds whole sections: `v` (channels, n, Y, X) holds sections first_z .. first_z + n − 1.
    void add_sections(tensor::TensorView<const float> v, std::int64_t first_z);
    /// Adds rows of one section: `v` (channels, 1, rows, X), the next rows of section `z` in order.
    void add_rows(tensor::TensorView<const float> v, std::int64_t z);
    /// Combines the statistics of every rank (each having added disjoint sections). Collective.
    void reduce(const dist::Comm& comm);

    const VolumeStats& section(std::int64_t c, std::int64_t z) const { return stats_[index(c, z)]; }
    /// The whole channel.
    VolumeStats channel(std::int64_t c) const;
    std::int64_t channels() const noexcept { return channels_; }
    std::int64_t sections() const noexcept { return sections_; }

private:
    std::size_t index(std::int64_t c, std::int64_t z) const { return static_cast<std::size_t>(c * sections_ + z); }
    std::int64_t channels_ = 0;
    std::int64_t sections_ = 0;
    std::vector<VolumeStats> stats_;
};

/// Applies `p` in place to `v`, a region of a (possibly padded) volume whose channel c is the
/// volume's channel `first_channel + c`; `stored_z[z]` is the stored section that region section z
/// shows.
void preprocess(tensor::TensorView<float> v, config::Preprocess p, const VolumeStatistics& stats, std::int64_t first_channel,
                std::span<const std::int64_t> stored_z);

/// Statistics of every (channel, section) of the stored volume `v` (its used part, not the padding),
/// whatever part of it a rank will process: each rank reads disjoint sections, in rounds of about
/// `round_bytes`, and the counts are reduced. Collective over `comm`. Training and inference both take
/// their whole-volume statistics here, so a block preprocessed for inference equals the same region
/// preprocessed for training.
VolumeStatistics stored_statistics(const MirroredVolume& v, const dist::Comm& comm,
                                   std::int64_t round_bytes = std::int64_t(64) << 20);

/// Applies `p` in place to `region`, read from `v`'s padded volume with its first voxel at padded
/// coordinates `origin`, with the stored volume's statistics `stats`.
void preprocess_region(tensor::TensorView<float> region, const Vec3i& origin, const MirroredVolume& v, config::Preprocess p,
                       const VolumeStatistics& stats);

}  // namespace znn::data
