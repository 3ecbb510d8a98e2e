#pragma once
/// @file
/// @brief Data augmentation of training patches (reference §5.5, plus the EM set of PyTorch Connectomics).
///
/// Spatial transforms (flips, xy transpose, in-plane rotation by k·90°, misalignment) apply
/// identically to a patch's inputs, labels and masks, before targets are computed, so affinities stay
/// correct by construction (they are computed from the transformed labels with the usual convention).
/// Intensity transforms (grayscale, missing sections, blur) apply to inputs only. Every random choice
/// comes from the Rng it is given, so a patch is reproducible from its stream.
///
/// The four reflection and transpose choices generate all 8 symmetries of the square (with the z
/// flip, 16 transforms, the original's set); a SpatialTransform keeps them in canonical form:
/// transpose y and x first, then flip z, y, x. Rotations compose into that form; so does inversion.

#include <cstdint>

#include "znn/config/job_config.hpp"
#include "znn/core/rng.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::data {

/// @brief A symmetry of the patch: transpose (y, x), then reflections.
struct SpatialTransform {
    bool transpose = false;
    bool flip_z = false;
    bool flip_y = false;
    bool flip_x = false;

    /// Rotation by k·90° in the yx plane (numpy.rot90 convention: k = 1 maps (y, x) to (X−1−x... )).
    static SpatialTransform rotation(int k);
    /// This transform applied after `first`.
    SpatialTransform after(const SpatialTransform& first) const;
    SpatialTransform inverse() const;
    bool identity() const { return !transpose && !flip_z && !flip_y && !flip_x; }
    friend bool operator==(const SpatialTransform&, const SpatialTransform&) = default;

    /// Draws a transform: each flip (if `flips`) and the transpose (if `transpose`) with probability
    /// 1/2, then a rotation by a uniform k (if `rot90`).
    static SpatialTransform draw(core::Rng& rng, bool flips, bool transpose, bool rot90);

    /// The transformed tensor (transposing swaps the y and x sizes).
    template <class T>
    tensor::Tensor<T> apply(tensor::TensorView<const T> v) const;
};

/// @brief Intensity augmentation of an input patch, in place, as configured.
void augment_intensity(tensor::TensorView<float> input, const config::Augmentation& a, core::Rng& rng);

/// Gaussian blur along one axis (0 = z, 1 = y, 2 = x) of every channel, in place; borders clamp.
void gaussian_blur(tensor::TensorView<float> v, int axis, double sigma);

/// Gaussian blur of one z-section of every channel in y and x (sigma in voxels), in place.
void blur_section(tensor::TensorView<float> input, std::int64_t z, double sigma);

}  // namespace znn::data
