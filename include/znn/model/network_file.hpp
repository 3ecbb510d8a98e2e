#pragma once
/// @file
/// @brief Network files: the original ZNN's HDF5 layout (reference §5.10), read and written.
///
/// One HDF5 group per node group and per edge group, named after it, at the root or (`stdio`) under
/// `/processing/znn/train/network/`:
///  - `group_type` ("node" or "edge") and every option of the `.znn` group as a scalar string dataset
///    (`type`, `init`, `function`, `input`, `output`, ...), `size` and `stride` as integer arrays;
///  - conv edges: `filters` of shape (N_in, N_out, s0, s1, s2) and `momentum_vol` of the same shape,
///    each (i, o) block in the original's element order (the first .znn coordinate fastest), and
///    `fft` ("1"/"0"), the convolution the group uses;
///  - transfer nodes: `biases` (N) and `momentum_vol` (N).
/// So networks trained by the original load here, and ours load in the original. What znn adds goes
/// where the original does not look, as root attributes: `znn_format_version`, `znn_iteration`,
/// `znn_eta` (the annealed learning rate, which the original lost on resume), `znn_config` (the
/// resolved job configuration), `znn_net` (the .znn text), `znn_conv` (the convolution plan: every conv
/// group's algorithm, and its tile for FFT groups, one line each), `znn_build`. Files are written atomically; float32 and float64 arrays both load.
///
/// Optimizer state is a set of named tensors per parameter group (OptimizerState). The original's
/// SGD velocity, "momentum", is its `momentum_vol`; it is always written (zeros without state), since
/// the original reads it with every array. Other state (Adam's moments) is written only by znn, under
/// `/processing/znn/train/znn_state/optimizer/<group>/<name>`, in the same element order as `filters`.
/// Training adds its learning curve and its own state to the same file, inside the same atomic write
/// (save_network's `extra`).
///
/// Loading copies parameters by group name. Resuming requires every group, with the shapes of the
/// `.znn`; seeding (transfer learning, the original's `-s`) copies the groups that exist, skips those
/// with `seeding 0`, and reports the rest. A shape that does not match the `.znn` is an InputError
/// naming `file:/group/dataset`.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "znn/conv/engine.hpp"
#include "znn/graph/network.hpp"
#include "znn/io/hdf5.hpp"

namespace znn::model {

/// Optimizer state of one parameter group: named tensors of the parameter's shape.
using ParameterState = std::map<std::string, tensor::Tensor<float>>;
/// Optimizer state of every parameter group, by group name.
using OptimizerState = std::map<std::string, ParameterState>;
/// The state name written as the original's `momentum_vol`.
inline constexpr const char* kMomentum = "momentum";

/// Where the groups of a network file are.
enum class Layout {
    Root,   ///< at the root (the original's default)
    Stdio,  ///< the Seung lab standard IO layout, under kStdioPrefix (`is_stdio = yes`)
};

/// @brief What znn stores beside the parameters.
struct NetworkFileMeta {
    int format_version = 1;
    std::int64_t iteration = 0;
    std::optional<double> eta;
    std::string config;
    std::string net;
    std::string build;
    std::map<std::string, conv::ConvAlgo> conv_choices;
    std::map<std::string, core::Vec3i> fft_tiles;  ///< with conv_choices: the convolution plan
};

/// The convolution plan of `meta` as text, a line per conv group: "group algo" or "group fft z,y,x"
/// (the `znn_conv` attribute); and back, into `meta`'s choices and tiles.
std::string conv_plan_text(const NetworkFileMeta& meta);
void parse_conv_plan(const std::string& text, NetworkFileMeta& meta);

/// Where the groups are: "/" or, with the original's standard IO layout, "/processing/znn/train/network/".
inline constexpr const char* kStdioPrefix = "/processing/znn/train/network/";
/// Where training keeps what only znn reads (optimizer state beyond momentum, the trainer's state).
inline constexpr const char* kStatePrefix = "/processing/znn/train/znn_state/";

/// Writes more into a network file before it is committed (training: the learning curve, its state).
using ExtraWriter = std::function<void(io::Hdf5File& file)>;

/// Writes the parameters of `spec` from `params`, with `state` (optional) and `meta`, to `path`,
/// atomically; `meta.conv_choices` names the convolution of each conv group (the `fft` flags).
void save_network(const std::string& path, const config::NetSpec& spec, const graph::ParameterStore<float>& params,
                  const NetworkFileMeta& meta, Layout layout, const OptimizerState* state = nullptr, const ExtraWriter& extra = {});
/// The same for a network: its parameters, and its convolution plan unless `meta` names one.
void save_network(const std::string& path, const graph::Network<float>& net, const NetworkFileMeta& meta, Layout layout,
                  const OptimizerState* state = nullptr, const ExtraWriter& extra = {});

enum class LoadMode {
    Resume,  ///< every group must be in the file, with matching shapes
    Seed,    ///< copy what exists (except `seeding 0` groups); report the rest
};

/// @brief What load_network() did.
struct LoadReport {
    NetworkFileMeta meta;        ///< format_version 0 for a file written by the original
    std::string prefix;          ///< where the groups were
    std::vector<std::string> loaded, skipped, missing, unused;
};

/// Copies parameters from `path` into `params` (of `spec`) by group name, marking each changed;
/// with `state`, also the optimizer state the file holds (`momentum_vol` as "momentum").
LoadReport load_network(const std::string& path, const config::NetSpec& spec, graph::ParameterStore<float>& params, LoadMode mode,
                        OptimizerState* state = nullptr);
/// The same into a network's parameters.
LoadReport load_network(const std::string& path, graph::Network<float>& net, LoadMode mode, OptimizerState* state = nullptr);

/// Reads only the meta data (no network needed), e.g. to find the iteration to resume from.
NetworkFileMeta read_network_meta(const std::string& path);

}  // namespace znn::model
