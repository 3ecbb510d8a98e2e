#pragma once
/// @file
/// @brief BlockPass: the network's part of one inference block, shared by `znn forward` and the
/// Python module's predict: the block's input regions (read by the caller) run under each
/// test-time augmentation variant, combined into the block's outputs.
///
/// Example:
/// @code
///   BlockPass pass(tta);
///   BlockNetwork net(spec, pass.network_block(W), params, options, resources, softmax);
///   for (each block b of BlockGrid(V, W, F)) {
///       BlockInputs in = ...;                    // node -> region pass.input_region(b) of its volume
///       pass.run(net, in, W, outputs);           // node -> (C, W); keep b.kept() of it
///   }
/// @endcode

#include <functional>
#include <map>
#include <string>

#include "znn/infer/block_grid.hpp"
#include "znn/infer/block_network.hpp"
#include "znn/infer/tta.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::infer {

/// The inputs of one block by input node, read and preprocessed: (maps, input_region(b).size).
using BlockInputs = std::map<std::string, tensor::Tensor<float>>;
/// The outputs of one block by output node: (maps, block).
using BlockOutputs = std::map<std::string, tensor::Tensor<float>>;

class BlockPass {
public:
    explicit BlockPass(TtaPlan tta = {}) : tta_(std::move(tta)) {}

    const TtaPlan& tta() const noexcept { return tta_; }
    /// The block the network is built for: the output block, one voxel larger for affinities under flips.
    Vec3i network_block(const Vec3i& block) const { return block + (tta_.enlarged() ? 1 : 0); }
    /// The input region (in the volume's, possibly mirrored, coordinates) block `b` reads.
    Box3 input_region(const Block& b) const
    {
        return tta_.enlarged() ? Box3{b.input.origin - 1, b.input.size + 1} : b.input;
    }

    /// Runs `net` (built for network_block(block)) on `inputs` and leaves in `outputs` every output
    /// node's block (C, block), reallocated only when its shape changes. `before_outputs`, if given,
    /// is called after the first pass and before `outputs` is written (a caller that writes the
    /// previous block's outputs on another thread waits there).
    void run(BlockNetwork& net, const BlockInputs& inputs, const Vec3i& block, BlockOutputs& outputs,
             const std::function<void()>& before_outputs = {}) const;

private:
    TtaPlan tta_;
};

}  // namespace znn::infer
