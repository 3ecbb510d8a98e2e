#pragma once
/// @file
/// @brief Read and write volumes by address, whatever their format: `a.h5:/raw`, `b.tif`.
///
/// This is the entry point the rest of znn uses; hdf5.hpp and tiff.hpp are its two back ends.
///
/// Example:
/// @code
///   AnyTensor raw = read_volume(VolumeUri::parse("sample.h5:/volumes/raw"));
///   Tensor<float> image = raw.to<float>();
///   write_volume(VolumeUri::parse("out.h5"), AnyTensor(std::move(prediction)), {});
/// @endcode

#include <optional>

#include "znn/dist/comm.hpp"
#include "znn/io/hdf5.hpp"
#include "znn/io/tiff.hpp"
#include "znn/io/volume_uri.hpp"
#include "znn/tensor/any_tensor.hpp"

namespace znn::io {

/// @brief What a volume holds, without reading its data.
struct VolumeInfo {
    core::DType dtype = core::DType::Float32;
    tensor::Shape4 shape;  ///< (c, z, y, x)
    int ndim = 3;          ///< dimensions as stored: 2, 3 or 4
};

/// @brief How to write a volume.
struct VolumeWriteOptions {
    Hdf5WriteOptions hdf5;
    TiffWriteOptions tiff;
    /// Replace an existing file. Without it, writing over an existing file is an InputError.
    bool overwrite = false;
};

/// Reads the headers of a volume (InputError if missing or unsuitable).
VolumeInfo volume_info(const VolumeUri& uri);

/// Reads a whole volume, or the sub-box `box` of it (all channels), in the file's element type.
tensor::AnyTensor read_volume(const VolumeUri& uri, const std::optional<core::Box3>& box = std::nullopt);

/// Parallel read of one shared file: every rank of comm reads its own `box` (possibly empty) in one
/// collective operation. Collective over comm. TIFF stacks are read independently by each rank.
tensor::AnyTensor read_volume_collective(const VolumeUri& uri, const core::Box3& box, const dist::Comm& comm);

/// Writes a volume atomically (temporary file, then rename): an HDF5 file holding the one dataset
/// uri.dataset, or a TIFF stack. The dataset gets the array's original ndim.
void write_volume(const VolumeUri& uri, const tensor::AnyTensor& volume, const VolumeWriteOptions& options = {});

}  // namespace znn::io
