#pragma once
// Training from Python (private to src/python): gradients of a network on patches the caller gives,
// and optimizer steps on them, with znn train's conventions (the .cfg's cost functions, its gradient
// scale of one over the output voxels of a patch, its SGD and Adam), on the parameters a
// PythonNetwork shares with its inference networks.

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "znn/config/net_spec.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/train/loss.hpp"
#include "znn/train/optimizer.hpp"

namespace znn::python {

/// The cost of a .cfg's cost_fn name ("square_loss", "square-square", "binomial_cross_entropy",
/// "softmax_loss"); nullopt for any other.
std::optional<train::Cost> parse_cost(const std::string& name);

/// Per node: the arrays of one patch, (maps, size).
using PatchArrays = std::map<std::string, tensor::TensorView<const float>>;

/// @brief What a loss evaluation summed (as znn train's progress line reports them).
struct LossReport {
    double cost = 0;
    double pixel_errors = 0;
    double voxels = 0;
};

class Training {
public:
    /// Training networks of `spec` on `params`, built with `options` (usage is set to training).
    Training(const config::NetSpec& spec, std::shared_ptr<graph::ParameterStore<float>> params, graph::NetworkOptions options,
             graph::NetworkResources resources);

    /// Forward (training phase) on `inputs`, the cost's gradient of every output against `targets`
    /// (with `masks` and rebalance `weights` where given, as znn train applies them), backward: the
    /// parameter gradients are then in the parameter store. Every input has the same size, the
    /// output patch plus the field of view minus one; targets, masks and weights are (maps, output).
    LossReport loss_gradients(const PatchArrays& inputs, train::Cost cost, const PatchArrays& targets, const PatchArrays& masks,
                              const PatchArrays& weights);
    /// The same with the gradient of every output node given (maps, output).
    void output_gradients(const PatchArrays& inputs, const PatchArrays& gradients);

    /// One step of `optimizer` at learning rate `eta` on the gradients of the last pass, scaled by one
    /// over its output voxels (znn train's normalisation at batch 1). A change of the optimizer's
    /// kind, momentum or decay starts its state (velocity, moments) from zero.
    void step(double eta, const train::OptimizerOptions& optimizer);
    /// Steps taken, and the optimizer's state (nullptr before the first step).
    std::int64_t steps() const noexcept { return steps_; }
    const train::Optimizer* optimizer() const noexcept { return optimizer_.get(); }

private:
    /// The network for output patches of `output`, built on first use; its inputs filled from `inputs`.
    graph::Network<float>& prepared(const PatchArrays& inputs);

    const config::NetSpec& spec_;
    std::shared_ptr<graph::ParameterStore<float>> params_;
    graph::NetworkOptions options_;
    graph::NetworkResources resources_;
    std::map<std::array<std::int64_t, 3>, std::unique_ptr<graph::Network<float>>> nets_;
    graph::Network<float>* last_ = nullptr;
    double last_voxels_ = 0;  // output voxels of the last pass's patch
    std::unique_ptr<train::Optimizer> optimizer_;
    std::int64_t steps_ = 0;
};

}  // namespace znn::python
