#pragma once
/// @file
/// @brief A training example as the trainer consumes it.

#include <cstdint>
#include <map>
#include <string>

#include "znn/core/vec3.hpp"
#include "znn/data/augment.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::data {

/// @brief What one output node is trained towards in a patch.
struct PatchTarget {
    tensor::Tensor<float> target;  ///< (C, S): boundary 2, affinity 3 (x, y, z), semantic N channels
    tensor::Tensor<float> mask;    ///< (C, S) of 0/1; empty: every voxel trains
    tensor::Tensor<float> weight;  ///< (C, S) rebalance weights; empty: no rebalancing
};

/// @brief One training example: the inputs of every input node and the targets of every output node.
struct Patch {
    std::int64_t sample = 0;     ///< the [sampleN] it was cut from
    core::Vec3i deviation;       ///< its position (deviation from the volume centres, §5.3)
    SpatialTransform transform;  ///< the flips and transposes applied
    bool misaligned = false;     ///< whether a misalignment shift was applied
    std::map<std::string, tensor::Tensor<float>> inputs;  ///< input node -> (C, input patch size)
    std::map<std::string, PatchTarget> outputs;           ///< output node -> targets
};

}  // namespace znn::data
