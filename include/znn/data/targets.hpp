#pragma once
/// @file
/// @brief Training targets from label patches, their masks, and class rebalancing (reference §3.4-3.5,
/// §5.6).
///
///  - boundary (2 channels): channel 0 = (label > 0), the inside of a cell; channel 1 = 1 − channel 0.
///  - affinity (3 channels, in the original's order x, y, z): from a label patch one voxel larger per
///    axis, the affinity at output voxel q along axis a relates label voxels p = q + 1 and p − e_a:
///    aff = (ID(p) == ID(p − e_a)) AND ID(p) > 0. Its mask is mask(p) > 0 OR mask(p − e_a) > 0.
///  - semantic (N channels, beyond the original): one-hot of class ids 0 .. N−1.
/// Masks of boundary and semantic targets are the label mask, repeated on every channel.
///
/// Rebalancing weights multiply the gradient:
///  - global, boundary: over the whole masked label volume, with pn voxels > 0, zn voxels = 0 and
///    N = pn + zn: w_pos = N/(2·pn), w_zero = N/(2·zn);
///  - patch, boundary, and affinity per axis (either scope): w_pos ∝ 1/pn, w_zero ∝ 1/zn, normalised
///    to w_pos + w_zero = 1 (the original's "v1" normalisation);
///  - semantic: w_k ∝ 1/n_k over the classes present, normalised to sum to 1.
/// When a class is absent, every weight is 1.

#include <cstdint>
#include <vector>

#include "znn/tensor/tensor.hpp"

namespace znn::data {

using tensor::TensorView;

/// targets (2, S) from label (1, S).
void boundary_targets(TensorView<const std::uint32_t> label, TensorView<float> targets);
/// targets (3, S) from label (1, S + 1).
void affinity_targets(TensorView<const std::uint32_t> label, TensorView<float> targets);
/// mask (3, S) from a label mask (1, S + 1).
void affinity_mask(TensorView<const std::uint8_t> mask, TensorView<float> out);
/// targets (N, S) from label (1, S); returns the first label value >= N, or -1 if all are classes.
std::int64_t semantic_targets(TensorView<const std::uint32_t> label, TensorView<float> targets);
/// out (C, S) = (mask (1, S) > 0) on every channel.
void channel_mask(TensorView<const std::uint8_t> mask, TensorView<float> out);

/// @brief Per-class counts of target values (masked), for rebalancing.
struct ClassCounts {
    std::vector<std::int64_t> positives;  ///< per channel: target > 0.5
    std::vector<std::int64_t> zeros;      ///< per channel: target <= 0.5

    /// Counts of targets (C, S) where mask (C, S) is > 0 (no mask: every voxel).
    static ClassCounts of(TensorView<const float> targets, const TensorView<const float>* mask);
    void merge(const ClassCounts& other);
};

/// @brief Weights of the two classes of one channel.
struct ClassWeights {
    double positive = 1;
    double zero = 1;
};

/// The original's global boundary weights, N/(2·pn) and N/(2·zn).
ClassWeights global_boundary_weights(std::int64_t positives, std::int64_t zeros);
/// The original's "v1" weights, ∝ 1/count and summing to 1.
ClassWeights normalized_weights(std::int64_t positives, std::int64_t zeros);
/// Semantic class weights ∝ 1/n_k over present classes, summing to 1 (absent classes: 0).
std::vector<double> semantic_weights(const std::vector<std::int64_t>& class_counts);

/// weights (C, S): per voxel, the weight of its target's class in its channel.
void apply_class_weights(TensorView<const float> targets, const std::vector<ClassWeights>& per_channel,
                         TensorView<float> weights);
/// weights (N, S) for one-hot targets (N, S): every channel of a voxel of class k gets class_weights[k].
void apply_semantic_weights(TensorView<const float> targets, const std::vector<double>& class_weights,
                            TensorView<float> weights);

}  // namespace znn::data
