#pragma once
/// @file
/// @brief NetSpec: the original ZNN's `.znn` network files (reference §2), read and validated.
///
///     nodes input            edges conv1              nodes nconv1
///     type input             type conv                type transfer
///     size 1                 init xavier              function rectify_linear
///                            size 1,4,4               size 48
///                            stride 1,1,1
///                            input input
///                            output nconv1
///
/// Grammar (as the original read it): a line is `key value` (more tokens are ignored, with a
/// warning); `nodes NAME` and `edges NAME` start a group; other lines belong to the last group;
/// blank lines are skipped; a later key overwrites an earlier one. Beyond the original: `#` starts a
/// comment. Groups may come in any order.
///
/// Validation reports every problem at once, each at `file:line`: unknown keys and types (naming the
/// nearest valid one), missing required keys, bad values, duplicate or dangling names, cycles,
/// one-to-one edges between groups of different sizes, maxout edges that do not feed a maxout node,
/// nodes nobody feeds. Problems that need the patch sizes (converging branches of different sizes,
/// max-pool windows that do not divide, kernels larger than their input) are found by the shape
/// inference of the graph module, which reports them at the same locations.
///
/// Example:
/// @code
///   NetSpec net = NetSpec::load("configs/nets/N4.znn");   // throws InputError listing every problem
///   for (const EdgeGroupSpec& e : net.edges) ...
/// @endcode

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "znn/config/diagnostics.hpp"
#include "znn/core/vec3.hpp"

namespace znn::config {

enum class NodeType { Input, Sum, Transfer, Maxout };
enum class EdgeType { Conv, MaxFilter, MaxPool, Dropout, Crop, Maxout, Dummy };
/// Transfer functions of `transfer` nodes (reference §2.3).
enum class TransferFunction { Linear, RectifyLinear, Tanh, SoftSign, Logistics, ForwardLogistics };
/// Initialisers of kernels and biases (reference §2.4).
enum class InitKind { Zero, Constant, Uniform, Gaussian, Bernoulli, Xavier, Msra };

std::string_view to_string(NodeType t) noexcept;
std::string_view to_string(EdgeType t) noexcept;
std::string_view to_string(TransferFunction f) noexcept;
std::string_view to_string(InitKind k) noexcept;

/// @brief An initialiser with its arguments, completed with the original's defaults:
/// constant c; uniform lo,hi (one value r: −r,r; default −0.1,0.1); gaussian mean,std (default 0,0.01);
/// bernoulli p (default 0.5); xavier, msra and zero take none.
struct InitSpec {
    InitKind kind = InitKind::Zero;
    std::vector<double> args;
};

/// @brief Learning parameters a group may set for itself (the `.cfg` sets them for every group).
struct LearningOverrides {
    std::optional<double> eta;
    std::optional<double> momentum;
    std::optional<double> weight_decay;
};

/// @brief A `nodes` group: `size` feature maps.
struct NodeGroupSpec {
    std::string name;
    NodeType type = NodeType::Sum;
    std::int64_t size = 0;
    TransferFunction function = TransferFunction::Linear;  ///< transfer nodes
    std::vector<double> function_args;                     ///< completed with defaults: linear a,b; tanh a,b
    std::optional<InitSpec> bias_init;                     ///< transfer nodes; none: biases start at 0
    LearningOverrides learning;
    bool dense = false;    ///< `dense 1`: reset the sparsity to 1 here
    bool seeding = true;   ///< `seeding 0` / `load 0`: do not copy parameters from a seed network
    std::map<std::string, std::string> options;  ///< every key as written (kept in network files)
    std::map<std::string, long> lines;           ///< line of each key
    std::string file;
    long line = 0;  ///< the `nodes` line

    std::string where() const { return file + ":" + std::to_string(line); }
    /// `file:line` of `key`, or of the group when the key is absent.
    std::string where(std::string_view key) const;
};

/// @brief An `edges` group from node group `input` to node group `output`.
struct EdgeGroupSpec {
    std::string name;
    EdgeType type = EdgeType::Dummy;
    std::string input;
    std::string output;
    core::Vec3i size{1, 1, 1};    ///< kernel or window (conv, max_filter, max_pool)
    core::Vec3i stride{1, 1, 1};  ///< sparsity factor for what follows (max_filter, conv); see §7.4
    std::optional<InitSpec> init;  ///< conv
    std::optional<bool> fft;       ///< conv: `fft 1|0` as written (the job's conv mode may override)
    core::Vec3i repeat{1, 1, 1};   ///< conv: weight tying in blocks
    double ratio = 0.5;            ///< dropout: keep probability
    core::Vec3i offset{0, 0, 0};   ///< crop: voxels removed on both sides
    LearningOverrides learning;
    bool seeding = true;
    std::map<std::string, std::string> options;
    std::map<std::string, long> lines;
    std::string file;
    long line = 0;

    std::string where() const { return file + ":" + std::to_string(line); }
    std::string where(std::string_view key) const;
    /// conv, or a one-to-one edge (every other type).
    bool fully_connected() const { return type == EdgeType::Conv; }
};

/// @brief A validated network specification.
struct NetSpec {
    std::string file;
    std::vector<NodeGroupSpec> nodes;  ///< in file order
    std::vector<EdgeGroupSpec> edges;  ///< in file order

    /// Parses `text` attributed to `file`; every problem goes to `diagnostics`.
    static NetSpec parse(std::string_view text, const std::string& file, Diagnostics& diagnostics);
    /// Reads and parses a file (a missing file is an error in `diagnostics`).
    static NetSpec read(const std::string& path, Diagnostics& diagnostics);
    /// Reads a file; throws one InputError listing every problem.
    static NetSpec load(const std::string& path);

    const NodeGroupSpec* node(std::string_view name) const;
    const EdgeGroupSpec* edge(std::string_view name) const;
    /// Names of the input node groups (type input), in file order.
    std::vector<std::string> input_nodes() const;
    /// Names of the output node groups (no outgoing edges), in file order.
    std::vector<std::string> output_nodes() const;
    /// Node groups in an order where every edge goes forward (valid after a successful parse).
    std::vector<std::string> topological_order() const;

private:
    /// Positions in `nodes` by name, made by parse() so that node() is O(log N); node() checks an
    /// entry before trusting it and searches when it is stale (`nodes` may be edited afterwards).
    std::map<std::string, std::size_t, std::less<>> node_index_;
};

}  // namespace znn::config
