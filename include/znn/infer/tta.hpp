#pragma once
/// @file
/// @brief Test-time augmentation: a block run under several of the 16 flip/transpose variants of its
/// input, each output un-transformed and combined (mean, min or max) into one running accumulator.
///
/// Variant v (0-15): bit 0 flips x, bit 1 flips y, bit 2 flips z, bit 3 transposes y and x (applied
/// first). Variant 0 is the identity. The output is un-flipped and un-transposed; for affinity
/// outputs (channels x, y, z: the edge from each voxel to the previous one along that axis)
/// transposing also swaps the x and y channels, and flipping an axis turns an edge to the previous
/// voxel into one to the next: the un-flipped channel of a flipped axis is shifted by one voxel,
/// A(r) = U(r − 1). So an affinity block with flips is computed on a window one voxel larger at the
/// low end of every axis (the network is built one voxel larger), from which each channel takes the
/// voxels it needs; at the low edge of an unmirrored volume that extra voxel is the input's mirror image.
///
/// Example:
/// @code
///   TtaPlan tta{{0, 1, 2, 3}, TtaCombine::Mean, /*affinity=*/true};   // variants: config::parse_tta_variants
///   for (int v : tta.variants) {
///       transform_input(window, v, net.input("input"));   // flipped / transposed copy
///       net.run();
///       tta.accumulate(net.output("output"), v, acc, first);
///   }
///   tta.finish(acc);
/// @endcode

#include <cstdint>
#include <string>
#include <vector>

#include "znn/config/job_config.hpp"
#include "znn/core/vec3.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::infer {

using config::TtaCombine;

/// @brief Which variants a block runs, how they combine, and what the outputs are.
struct TtaPlan {
    std::vector<int> variants{0};
    TtaCombine combine = TtaCombine::Mean;
    bool affinity = false;  ///< outputs are affinities (x, y, z): flips shift channels

    bool is_identity() const { return variants.size() == 1 && variants[0] == 0; }
    /// Whether the window is one voxel larger at the low end of every axis (affinities with flips).
    bool enlarged() const;
    /// Whether some variant transposes y and x (the block and field of view must be square in y, x).
    bool transposes() const;

    /// Adds the output `out` (C, block + enlargement) of variant `v`, un-transformed, into `acc`
    /// (C, block): written when `first`, else combined.
    void accumulate(tensor::TensorView<const float> out, int v, tensor::TensorView<float> acc, bool first) const;
    /// Divides a mean by the number of variants.
    void finish(tensor::TensorView<float> acc) const;
};

/// dst = variant v of src (both (C, S); transposing swaps S.y and S.x, which must then be equal).
void transform_input(tensor::TensorView<const float> src, int v, tensor::TensorView<float> dst);

}  // namespace znn::infer
