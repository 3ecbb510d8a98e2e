#pragma once
/// @file
/// @brief apply(): one forward pass of a trained network over a whole volume held in memory
/// (`znn apply`), the one-block case of inference (forward.hpp streams volumes of any size).

#include <cstdint>
#include <string>
#include <vector>

#include "znn/config/sample_spec.hpp"
#include "znn/core/log.hpp"
#include "znn/core/vec3.hpp"
#include "znn/conv/engine.hpp"
#include "znn/graph/network.hpp"

namespace znn::infer {

/// @brief What to apply to what.
struct ApplyRequest {
    std::string net;      ///< the .znn
    std::string weights;  ///< the network file (.h5), by znn or the original ZNN
    std::string input;    ///< volume address (file.h5[:/dataset] or TIFF)
    std::string output;   ///< volume address written: /main (C, Z, Y, X), float32
    config::Preprocess preprocess = config::Preprocess::None;
    bool softmax = false;
    /// Engines: options.conv_mode / conv_choices as the caller chose; with `stored_plan`, the network
    /// file's convolution choices (its `znn_conv` or `fft` flags) when it has them win.
    graph::NetworkOptions options;
    bool stored_plan = false;
    bool overwrite = false;
};

/// @brief What apply() did.
struct ApplyResult {
    std::size_t groups_loaded = 0;
    bool from_original = false;  ///< the network file was written by the original ZNN
    bool used_stored_plan = false;
    std::string input, output;  ///< the volumes' addresses (file.h5:/dataset)
    core::Vec3i input_size, output_size;
    double seconds = 0;  ///< the forward pass
};

/// Reads the input, preprocesses it with its own statistics, runs the network over it in one block
/// (output = input − field of view + 1) and writes the output atomically. InputError (nothing
/// written) for a missing or unsuitable file, a channel count the network does not take, an input
/// smaller than the field of view, an existing output without `overwrite`.
ApplyResult apply(const ApplyRequest& request, core::ParallelFor& threads, const conv::EngineOptions& engines, core::Logger* log);

}  // namespace znn::infer
