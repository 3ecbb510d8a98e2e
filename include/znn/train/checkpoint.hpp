#pragma once
/// @file
/// @brief Training checkpoints: everything an exact continuation needs, in one network file.
///
/// A checkpoint is a network file (model/network_file.hpp: the original's layout, momentum as
/// `momentum_vol`) plus, inside the same atomic write:
///  - the optimizer's other state (Adam's moments) under `/processing/znn/train/znn_state/`;
///  - the trainer's state, the root attribute `znn_trainer` ("key value" lines): the iteration, the
///    learning rate it ran at, optimizer steps, validations done (which fix the sampler's and every
///    random stream's position: batch b of the job draws from streams keyed by b, validation v from
///    streams keyed by v), training seconds so far, ranks and batch size;
///  - the learning curve (curve.hpp), the resolved configuration (`znn_config`), the `.znn` text, the
///    convolution plan (`znn_conv`);
///  - with `is_debug`, the last patch: `/processing/znn/train/patch/{inputs,props,lbls,grdts,weights,
///    malis_weights}/<node>`, as the original stored it.
/// Names follow the original: `<prefix>_<iteration>.h5`, `<prefix>_current.h5` (the same file,
/// published by a hard link or a copy, atomically), `<prefix>_init.h5` at the start of a new run.
/// A kill at any moment leaves every name either absent, or a complete file.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "znn/config/job_config.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/model/network_file.hpp"
#include "znn/train/curve.hpp"
#include "znn/train/optimizer.hpp"

namespace znn::train {

/// @brief The files of a training job, named from its `train_net_prefix`.
struct TrainFiles {
    std::string prefix;
    std::string at(std::int64_t iteration) const { return prefix + "_" + std::to_string(iteration) + ".h5"; }
    std::string current() const { return prefix + "_current.h5"; }
    std::string init() const { return prefix + "_init.h5"; }
    std::string curve() const { return prefix + "_curve.csv"; }
    /// With is_debug: the patch of a diverged iteration.
    std::string diverged(std::int64_t iteration) const { return prefix + "_diverged_" + std::to_string(iteration) + ".h5"; }
};

/// @brief What the trainer itself must remember to continue exactly.
struct TrainerState {
    std::int64_t iteration = 0;  ///< the last iteration done (0: none)
    double eta = 0;              ///< the learning rate that iteration ran at
    std::int64_t optimizer_steps = 0;
    std::int64_t validations = 0;  ///< validations done
    double elapsed = 0;            ///< seconds of training so far, over every run
    int ranks = 1;
    std::int64_t batch_size = 1;
    /// The progress window not yet shown: its iterations, step seconds and sums (so that the first
    /// point after a resume averages what an uninterrupted run's would).
    std::int64_t window_iterations = 0;
    double window_seconds = 0;
    std::vector<double> window_sums;
    /// Seconds the last checkpoint took to write (0: none measured), so that a resumed run can tell at
    /// once whether the batch system's stop signal comes early enough.
    double checkpoint_seconds = 0;

    std::string text() const;
    /// Parses text(); InputError naming `where` when malformed.
    static TrainerState parse(const std::string& text, const std::string& where);
};

/// @brief Tensors of one patch by kind ("inputs", "props", "lbls", "grdts", "weights",
/// "malis_weights") and node, as debug mode keeps them.
using DebugPatch = std::map<std::string, std::map<std::string, tensor::Tensor<float>>>;

/// @brief Everything a checkpoint holds.
struct CheckpointContent {
    const config::NetSpec& spec;
    const graph::ParameterStore<float>& params;
    const Optimizer& optimizer;
    const TrainerState& state;
    const LearningCurve& curve;
    model::NetworkFileMeta meta;  ///< configuration, .znn text, convolution plan (iteration and eta from state)
    model::Layout layout = model::Layout::Root;
    bool rand_error = false;  ///< the curve has rand errors (affinity outputs)
    bool malis = false;       ///< the curve has MALIS columns
    const DebugPatch* debug = nullptr;
};

/// Writes a checkpoint to `path` atomically (serial HDF5: call on one rank).
void write_checkpoint(const std::string& path, const CheckpointContent& content);

/// @brief A checkpoint read back.
struct LoadedCheckpoint {
    std::string path;
    TrainerState state;
    LearningCurve curve;  ///< truncated to state.iteration
    model::NetworkFileMeta meta;
    model::OptimizerState optimizer;
    model::LoadReport report;
};

/// Reads the checkpoint `path` of `spec` into `params` (every group required). A network file
/// without znn's trainer state (written by the original, or by `znn init`) resumes at its
/// iteration with the learning curve it holds, zero optimizer state beyond its momentum.
LoadedCheckpoint read_checkpoint(const std::string& path, const config::NetSpec& spec, graph::ParameterStore<float>& params);

/// Writes a debug patch (and nothing else) to `path`, atomically.
void write_debug_patch(const std::string& path, const DebugPatch& patch);

}  // namespace znn::train
