#pragma once
/// @file
/// @brief Synthetic EM-like volumes: cells of random shape separated by dark membranes.
///
/// A volume is made in the physical space of anisotropic EM (a z-section is `anisotropy` times as
/// thick as a pixel is wide):
///  1. cell seeds on a jittered grid, each with a random weight, so that the power diagram of the
///     seeds (Voronoi cells whose sizes vary with the weights) gives convex cells of random shape and
///     size; coordinates are first warped by a smooth random field so walls bend;
///  2. a voxel whose distance to the wall between its two nearest cells is below half the membrane
///     thickness is membrane (label 0); other voxels carry their cell's ID (1, 2, ...);
///  3. the image: per-cell brightness, dark membranes, a few dark vesicles, an anisotropic Gaussian
///     blur (the point spread of the microscope, wider in z), Gaussian noise, 8-bit quantisation;
///  4. a mask: everything except a band at one edge of the lower sections, as if unannotated.
/// Every random choice comes from Rng::stream(seed, 0, Synthetic, index): a volume depends only on
/// (seed, index, shape).

#include <cstdint>
#include <string>
#include <vector>

#include "znn/core/vec3.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::data {

/// @brief Parameters of a synthetic volume (lengths in pixel widths).
struct SynthParams {
    core::Vec3i shape{20, 160, 160};
    double anisotropy = 3.0;      ///< section thickness / pixel width
    double cell_spacing = 24.0;   ///< mean distance between cell seeds
    double membrane = 2.2;        ///< membrane thickness
    double warp = 3.0;            ///< amplitude of the coordinate warp
    double blur_xy = 0.9;         ///< blur sigma in y and x (pixels)
    double blur_z = 0.4;          ///< blur sigma in z (sections)
    double noise = 0.06;          ///< noise standard deviation (intensity range is [0, 1])
};

/// @brief One synthetic volume.
struct SynthVolume {
    tensor::Tensor<std::uint8_t> image;    ///< (1, shape)
    tensor::Tensor<std::uint32_t> labels;  ///< (1, shape): 0 on membranes, cell IDs 1, 2, ... elsewhere
    tensor::Tensor<std::uint8_t> mask;     ///< (1, shape): 1 where annotated
    std::int64_t cells = 0;                ///< number of distinct cell IDs
};

/// Makes volume `index` of a dataset seeded by `seed`.
SynthVolume synthesize(const SynthParams& params, std::uint64_t seed, std::uint64_t index);

/// @brief What write_synthetic_dataset() wrote.
struct SynthDataset {
    std::string spec;   ///< the .spec file
    std::vector<std::string> files;
};

/// Writes a training volume (index 0) and a test volume (index 1) as HDF5 (CREMI layout:
/// /volumes/raw, /volumes/labels/neuron_ids, /volumes/labels/mask) and as TIFF stacks, and a
/// `synth.spec` binding them to the nodes `input` and `output` (sample 1 trains from the HDF5 file,
/// sample 2 tests from the TIFF stacks). Every file is written atomically. Existing files are an
/// error unless `overwrite`.
SynthDataset write_synthetic_dataset(const std::string& dir, const SynthParams& params, std::uint64_t seed, bool overwrite);

}  // namespace znn::data
