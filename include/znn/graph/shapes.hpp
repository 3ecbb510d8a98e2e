#pragma once
/// @file
/// @brief Shapes, sparsity and field of view of a network for one patch size (reference §7.4).
///
/// Sparsity (the dilation of dense sliding-window output) flows forward from the inputs: an input
/// node has sparsity 1; a `max_filter` edge, or a `conv` edge with a stride, multiplies it by its
/// stride for everything downstream; `dense 1` on a node resets it to 1. A conv or max-filter edge
/// spaces its taps by the sparsity of its input node, so it spans (k − 1)·s + 1 voxels.
///
/// Sizes flow backward from the requested output patch (from_output), as when training, or forward
/// from given input sizes (from_input), as when running a network over a whole volume:
///
///     conv, max_filter   in = out + (k − 1)·s        max_pool   in = k·out (must divide)
///     crop               in = out + 2·offset          others     in = out
///
/// A node feeding several edges must get the same size from all of them, and a node fed by several
/// edges must receive the same size from all of them; every violation is reported with the
/// `file:line` of the groups involved. The field of view of an input node is its size when every
/// output is one voxel.
///
/// Example:
/// @code
///   NetShapes s = NetShapes::for_output(net, {1, 100, 100});   // N4: input 1,194,194, FOV 1,95,95
/// @endcode

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/vec3.hpp"

namespace znn::graph {

using core::Vec3i;

/// @brief One node group at one patch size.
struct NodeShape {
    std::string name;
    config::NodeType type = config::NodeType::Sum;
    std::int64_t maps = 0;
    Vec3i size;
    Vec3i sparsity{1, 1, 1};
};

/// @brief One edge group at one patch size.
struct EdgeShape {
    std::string name;
    config::EdgeType type = config::EdgeType::Dummy;
    std::string input, output;
    std::int64_t in_maps = 0, out_maps = 0;
    Vec3i in_size, out_size;
    Vec3i window{1, 1, 1};    ///< kernel or window size (conv, max_filter, max_pool)
    Vec3i dilation{1, 1, 1};  ///< tap spacing: the sparsity of the input node
    std::int64_t parameters = 0;       ///< kernel values (conv)
    double forward_flops = 0;          ///< conv: 2·F_in·F_out·|k|·|out| (direct-equivalent)
    double backward_flops = 0;         ///< conv: both gradients (the data gradient only when needed)
};

/// @brief Every node and edge group of a network at one patch size.
class NetShapes {
public:
    /// Sizes for an output patch `output_size` on every output node. Problems go to `diagnostics`
    /// (nullopt then).
    static std::optional<NetShapes> from_output(const config::NetSpec& net, const Vec3i& output_size, config::Diagnostics& diagnostics);
    /// Sizes for the given input sizes (one per input node).
    static std::optional<NetShapes> from_input(const config::NetSpec& net, const std::map<std::string, Vec3i>& input_sizes,
                                               config::Diagnostics& diagnostics);
    /// from_output(), throwing one InputError listing every problem.
    static NetShapes for_output(const config::NetSpec& net, const Vec3i& output_size);

    const std::vector<NodeShape>& nodes() const noexcept { return nodes_; }  ///< in topological order
    const std::vector<EdgeShape>& edges() const noexcept { return edges_; }  ///< in file order
    const NodeShape& node(const std::string& name) const;
    /// Input node -> size, output node -> size.
    std::map<std::string, Vec3i> input_sizes() const;
    std::map<std::string, Vec3i> output_sizes() const;
    /// Field of view of each input node (its size when the outputs are one voxel).
    const std::map<std::string, Vec3i>& fov() const noexcept { return fov_; }

    std::int64_t parameters() const;  ///< kernels and biases
    double forward_flops() const;
    double backward_flops() const;
    /// Bytes for values and gradients of every node, max-filter indices, and parameters with their
    /// gradients and momentum (float32). Engine workspaces (FFT spectra) come on top.
    std::int64_t memory_bytes() const;

private:
    std::vector<NodeShape> nodes_;
    std::map<std::string, std::size_t, std::less<>> node_index_;  // name -> position in nodes_
    std::vector<EdgeShape> edges_;
    std::map<std::string, Vec3i> fov_;
};

/// A Graphviz description of the network at these shapes.
std::string to_dot(const config::NetSpec& net, const NetShapes& shapes);

}  // namespace znn::graph
