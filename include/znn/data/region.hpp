#pragma once
/// @file
/// @brief Regions of volumes, optionally mirrored at their borders, read without loading the rest.
///
/// Boundary mirroring (the original's `is_bd_mirror`, reference §5.4) pads a volume by FOV − 1:
/// (FOV − 1)//2 voxels before and FOV//2 after, per axis, by symmetric reflection (the edge voxel
/// repeats, like numpy's "symmetric" mode; reflections repeat when the padding exceeds the volume).
/// Here the padded volume is virtual: a region of it is read by mapping every coordinate back into
/// the stored volume, so a rank reads only the part of the file it samples from.

#include <cstdint>
#include <vector>

#include "znn/core/vec3.hpp"
#include "znn/dist/comm.hpp"
#include "znn/io/volume_uri.hpp"
#include "znn/tensor/any_tensor.hpp"

namespace znn::data {

using core::Box3;
using core::Vec3i;

/// The stored index a padded coordinate maps to: symmetric reflection of `i` into [0, n).
std::int64_t reflect(std::int64_t i, std::int64_t n) noexcept;

/// @brief A stored volume seen through symmetric padding.
struct MirroredVolume {
    io::VolumeUri uri;
    Vec3i stored;    ///< size of the volume used (z, y, x): the file's, or less when auto-cropped
    Vec3i offset;    ///< where the used part starts in the file (auto-crop), usually 0
    Vec3i pad_low;   ///< padding before index 0, per axis
    Vec3i pad_high;  ///< padding after the last index
    std::int64_t channels = 1;

    /// Size of the padded volume.
    Vec3i size() const { return stored + pad_low + pad_high; }

    /// Reads `region` (in padded coordinates; it may extend beyond the padded volume only if
    /// reflection covers it) as float. With a non-serial comm every rank calls this collectively
    /// (each with its own region) and HDF5 volumes are read through MPI-IO.
    tensor::Tensor<float> read_float(const Box3& region, const dist::Comm& comm) const;
    /// The same in the file's element type, converted to T (labels: std::uint32_t, masks: std::uint8_t).
    template <class T>
    tensor::Tensor<T> read(const Box3& region, const dist::Comm& comm) const;
};

/// Reads `region` (in padded coordinates) of a volume held in memory, `stored` (C, Z, Y, X), seen
/// through symmetric padding of `pad_low` before index 0: the mapping MirroredVolume::read applies to files.
tensor::Tensor<float> read_mirrored(tensor::TensorView<const float> stored, const Vec3i& pad_low, const Box3& region);

/// Symmetric padding of a whole tensor in memory (for tests and small volumes).
template <class T>
tensor::Tensor<T> mirror_pad(const tensor::Tensor<T>& src, const Vec3i& low, const Vec3i& high);

}  // namespace znn::data
