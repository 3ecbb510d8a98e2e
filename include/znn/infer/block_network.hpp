#pragma once
/// @file
/// @brief BlockNetwork: a network built for one inference block, in the TEST phase, sharing its
/// parameters, and what one forward pass of it gives.
///
/// Inference needs a dense sliding-window network: every input node's size is the block plus its
/// field of view minus one (no max_pool, no strided convolution), so that output voxel o is the
/// network's value at input window [o, o + F) wherever the block lies. The constructor checks it.

#include <map>
#include <memory>
#include <string>

#include "znn/config/net_spec.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::infer {

using core::Vec3i;

class BlockNetwork {
public:
    /// A network of `spec` for output blocks of `block`, with `parameters`. `softmax`: outputs are
    /// passed through a softmax over their channels (networks trained with softmax_loss). InputError
    /// naming the `.znn` if the network is not dense or has outputs of different sizes.
    BlockNetwork(const config::NetSpec& spec, const Vec3i& block,
                 std::shared_ptr<graph::ParameterStore<float>> parameters, graph::NetworkOptions options,
                 graph::NetworkResources resources, bool softmax);

    const graph::NetShapes& shapes() const noexcept { return shapes_; }
    const Vec3i& block() const noexcept { return block_; }
    /// Field of view, the same for every input node (checked).
    const Vec3i& fov() const noexcept { return fov_; }
    graph::Network<float>& network() noexcept { return *net_; }

    /// The input of node `name` to fill before run(): (maps, block + fov − 1).
    tensor::TensorView<float> input(const std::string& name) { return net_->input(name); }
    /// One forward pass; then output(name) is (maps, block), softmaxed when asked.
    void run();
    tensor::TensorView<const float> output(const std::string& name) const;

private:
    graph::NetShapes shapes_;
    Vec3i block_, fov_;
    bool softmax_;
    std::unique_ptr<graph::Network<float>> net_;
    std::map<std::string, tensor::Tensor<float>> softmaxed_;
};

}  // namespace znn::infer
