#pragma once
/// @file
/// @brief Checks of the volumes a sample spec names, without reading their data.
///
/// Used by SampleData::load() before any collective read, and by `znn check`. Every problem goes to
/// a Diagnostics, located at the `file:line` of the section that names the volume, with the volume's
/// own address (`file.h5:/dataset`) in the message.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/config/sample_spec.hpp"
#include "znn/io/volume_io.hpp"

namespace znn::data {

/// @brief A volume whose header was read.
struct CheckedVolume {
    io::VolumeUri uri;
    io::VolumeInfo info;
};

/// @brief An `[imageN]` whose files were checked: their channels stack, auto-cropped to `shape`.
struct CheckedImage {
    std::vector<CheckedVolume> files;
    core::Vec3i shape;
    std::int64_t channels = 0;
};

/// @brief A `[labelN]` whose label (one channel) and mask were checked; both cropped to `shape`.
struct CheckedLabel {
    CheckedVolume label;
    std::optional<CheckedVolume> mask;
    core::Vec3i shape;
};

/// The header of `address`, or nullopt with the problem added at `where`.
std::optional<CheckedVolume> check_volume(const std::string& address, const std::string& where, config::Diagnostics& d);
std::optional<CheckedImage> check_image(const config::ImageSection& image, config::Diagnostics& d);
std::optional<CheckedLabel> check_label(const config::LabelSection& label, config::Diagnostics& d);

/// The NaN and infinite values of a volume of floats (the first, and how many), read one z-section
/// at a time; nullopt when every value is finite, or the volume holds integers (which cannot be
/// NaN). This reads the data: `znn check` runs it, training and inference check what they read.
std::optional<tensor::NonFinite> find_non_finite(const CheckedVolume& v);

/// Where a volume of size `full` starts when centre-cropped to `cropped`.
inline core::Vec3i crop_offset(const core::Vec3i& full, const core::Vec3i& cropped) { return (full - cropped) / core::Vec3i{2, 2, 2}; }

}  // namespace znn::data
