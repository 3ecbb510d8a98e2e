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
/// resolved job configuration), `znn_net` (the .znn text), `znn_conv` (the convolution of every conv
/// group, by problem), `znn_build`. Files are written atomically; float32 and float64 arrays both load.
///
/// Loading copies parameters by group name. Resuming requires every group, with the shapes of the
/// `.znn`; seeding (transfer learning, the original's `-s`) copies the groups that exist, skips those
/// with `seeding 0`, and reports the rest. A shape that does not match the `.znn` is an InputError
/// naming `file:/group/dataset`.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "znn/conv/engine.hpp"
#include "znn/graph/network.hpp"

namespace znn::model {

/// @brief What znn stores beside the parameters.
struct NetworkFileMeta {
    int format_version = 1;
    std::int64_t iteration = 0;
    std::optional<double> eta;
    std::string config;
    std::string net;
    std::string build;
    std::map<std::string, conv::ConvAlgo> conv_choices;
};

/// Where the groups are: "/" or, with the original's standard IO layout, "/processing/znn/train/network/".
inline constexpr const char* kStdioPrefix = "/processing/znn/train/network/";

/// Writes `net` (parameters and momentum) and `meta` to `path`, atomically.
void save_network(const std::string& path, const graph::Network<float>& net, const NetworkFileMeta& meta, bool stdio_layout);

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

/// Copies parameters (and momentum) from `path` into `net` by group name.
LoadReport load_network(const std::string& path, graph::Network<float>& net, LoadMode mode);

/// Reads only the meta data (no network needed), e.g. to find the iteration to resume from.
NetworkFileMeta read_network_meta(const std::string& path);

}  // namespace znn::model
