#pragma once
/// @file
/// @brief Optimizers: the original ZNN's SGD with momentum and weight decay, and Adam.
///
/// A step takes the gradients a network left in its ParameterStore (summed over the batch, averaged
/// over ranks) times `gradient_scale`. The trainer passes 1 / (B · output voxels of a patch), the
/// original's normalisation (reference §5.8: the core divides by the patch's voxel count `ps`), so the
/// original's learning rates mean the same here: with B = 1 the update is exactly the original's.
///
///   SGD, no momentum:  W ← W·(1 − η·wd) − η·s·g
///   SGD, momentum m:   V ← m·V − η·s·g − η·wd·W ;  W ← W + V      (biases alike)
///   Adam (Kingma & Ba, with decoupled weight decay as AdamW):
///                      M ← β1·M + (1 − β1)·s·g ;  N ← β2·N + (1 − β2)·(s·g)²
///                      W ← W − η·( M/(1 − β1^t) / (√(N/(1 − β2^t)) + ε) + wd·W )
///
/// A group's own `eta`, `momentum` and `weight_decay` in the `.znn` win over the job's; its eta is
/// annealed by the same factor as the job's (the schedule's rate over the base rate). After the step
/// every parameter is marked changed (repeat tying re-applied, version bumped).
///
/// State (SGD: "momentum"; Adam: "adam_m", "adam_v") is a model::OptimizerState, saved with the
/// network file and restored on resume. Steps are elementwise, so their results do not depend on
/// the number of threads.

#include <cstdint>
#include <string_view>

#include "znn/config/job_config.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/model/network_file.hpp"

namespace znn::train {

using config::OptimizerKind;

/// @brief What an optimizer does beside the learning rate.
struct OptimizerOptions {
    OptimizerKind kind = OptimizerKind::Sgd;
    double momentum = 0;      ///< SGD
    double weight_decay = 0;  ///< L2 (SGD) or decoupled (Adam)
    double beta1 = 0.9;       ///< Adam
    double beta2 = 0.999;     ///< Adam
    double epsilon = 1e-8;    ///< Adam
};

/// @brief The learning rate of one step.
struct StepRate {
    double eta = 0.01;    ///< the job's rate at this step (after annealing)
    double factor = 1.0;  ///< eta over the job's base rate: scales groups with their own eta
};

/// @brief An optimizer and its state for one ParameterStore. Not thread-safe; steps run on `threads`.
class Optimizer {
public:
    Optimizer(OptimizerOptions options, const graph::ParameterStore<float>& params);

    const OptimizerOptions& options() const noexcept { return options_; }

    /// One step over every parameter with gradient · gradient_scale.
    void step(graph::ParameterStore<float>& params, const StepRate& rate, double gradient_scale, core::ParallelFor& threads);

    /// The state, by group and name (for checkpoints).
    const model::OptimizerState& state() const noexcept { return state_; }
    /// Replaces the state with `state` (a resume). Missing tensors start at zero; a tensor of the
    /// wrong shape is an InputError.
    void restore(const model::OptimizerState& state);
    /// Steps taken (Adam's t); saved with checkpoints.
    std::int64_t steps() const noexcept { return steps_; }
    void set_steps(std::int64_t steps) noexcept { steps_ = steps; }

    /// Names of the state tensors each parameter has.
    static std::vector<std::string> state_names(OptimizerKind kind);

private:
    OptimizerOptions options_;
    model::OptimizerState state_;
    std::int64_t steps_ = 0;
};

}  // namespace znn::train
