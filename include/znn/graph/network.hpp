#pragma once
/// @file
/// @brief Network: a `.znn` network built at one patch size, run forward and backward on all cores.
///
/// Every node group holds its values and gradients for a batch of B patches, as (B·maps, z, y, x)
/// tensors (channel b·maps + m). The forward pass visits the node groups in topological order: each
/// group sums what its incoming edge groups produce (a maxout group takes their maximum), then a
/// transfer group adds its per-map bias and applies its function. The backward pass visits them in
/// reverse: a transfer group multiplies its gradient by f' (computed from its outputs), its bias
/// gradient is the sum of that over the batch and the voxels, and each incoming edge group passes the
/// gradient on to its source and, for convolutions, to its kernels. Input groups get no gradient.
///
/// Parallelism is inside each operation: convolutions run on their engines (FFT engine on the
/// thread pool, oneDNN on its OpenMP team, sized alike), max-filters, transfer functions and sums on
/// the thread pool. Layer by layer, every core works on the same operation; that keeps
/// every operation's working set shared in cache and measured better on few cores than the
/// original's task-per-edge schedule (see the README, "Networks").
///
/// Parameters live in a graph::ParameterStore (parameters.hpp), which several networks of one `.znn`
/// at different patch sizes may share. The network computes gradients; changing the parameters
/// (an optimizer step, averaging over ranks) is its caller's job, through ParameterStore::changed.
/// backward() calls the gradient-ready hook, when one is set, as soon as each parameter's gradient
/// is final, in backward order, on the calling thread (so a data-parallel trainer can start
/// reducing early gradients while later layers still run).
///
/// Precision: Network<float> uses the convolution engines (direct, FFT, or measured per edge group);
/// Network<double> runs the naive oracles, for finite-difference gradient checks.
///
/// Example:
/// @code
///   NetShapes shapes = NetShapes::for_output(spec, {1, 100, 100});
///   Network<float> net(spec, shapes, {.batch = 2}, {pool});
///   net.initialize(seed);
///   copy(patch, net.input("input"));
///   net.forward();
///   loss_gradient(net.output("output"), target, net.output_gradient("output"));
///   net.backward();                 // net.parameters()[k].gradient
///   optimizer.step(net.parameter_store(), ...);
/// @endcode

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/job_config.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/conv/engine.hpp"
#include "znn/conv/select.hpp"
#include "znn/core/log.hpp"
#include "znn/core/parallel_for.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::graph {

/// TRAIN: dropout active. TEST: dropout is the identity.
enum class Phase { Train, Test };

/// @brief How a network is built.
struct NetworkOptions {
    std::int64_t batch = 1;
    config::ConvMode conv_mode = config::ConvMode::Optimize;  ///< fft, direct (the groups' `fft` flags) or optimize (measured)
    conv::Usage usage = conv::Usage::Training;
    std::map<std::string, conv::ConvAlgo> conv_choices;       ///< per conv edge group; wins over conv_mode
    std::map<std::string, core::Vec3i> fft_tiles;             ///< per FFT conv group: its tile instead of tuning one
    std::uint64_t seed = 1;                                   ///< dropout streams
    int rank = 0;
};

/// @brief What a network runs on (owned by the caller; shared by several networks).
struct NetworkResources {
    core::ParallelFor& threads;
    conv::EngineOptions engines{};  ///< tuning and SIMD path of every engine
    conv::ConvSelector* selector = nullptr;  ///< optimize mode; a private one when null
    core::Logger* log = nullptr;
};

/// @brief Time spent in one group during the last forward and backward pass.
struct GroupTime {
    std::string group;
    double forward_s = 0;
    double backward_s = 0;
    std::string how;  ///< conv edges: the algorithm and how the engine runs the layer
    /// conv edges: the engine's seconds per phase since it was built (ConvEngine::phase_seconds)
    std::vector<std::pair<std::string, double>> engine_phases;
};

/// @brief A network at one patch size and batch. Not thread-safe: one caller at a time.
template <class T> class Network {
public:
    using Parameter = graph::Parameter<T>;
    /// Called with a parameter's index in parameters() when backward() has finished its gradient.
    using GradientReady = std::function<void(std::size_t index)>;

    /// A network at `shapes`. With `parameters` (of the same `.znn`, any patch size) it shares them;
    /// without, it makes its own (zero until initialize() or a load).
    Network(const config::NetSpec& spec, const NetShapes& shapes, const NetworkOptions& options, NetworkResources resources,
            std::shared_ptr<ParameterStore<T>> parameters = nullptr);
    ~Network();
    Network(const Network&) = delete;
    Network& operator=(const Network&) = delete;

    const config::NetSpec& spec() const noexcept;
    const NetShapes& shapes() const noexcept;
    std::int64_t batch() const noexcept;

    /// Every parameter, from its initialiser, seeded by its group's name.
    void initialize(std::uint64_t seed);
    std::vector<Parameter>& parameters() noexcept;
    const std::vector<Parameter>& parameters() const noexcept;
    Parameter* parameter(const std::string& group);
    /// The store this network's parameters live in (shared with other networks built on it).
    const std::shared_ptr<ParameterStore<T>>& parameter_store() const noexcept;
    /// Call after changing a parameter's values directly (loading, averaging over ranks).
    void touch(Parameter& p) { ParameterStore<T>::changed(p); }
    /// Sets (or, with an empty function, clears) the hook backward() calls per finished gradient.
    void set_gradient_ready(GradientReady hook);

    /// The input values of an input node group, (B·maps, size): write before forward().
    tensor::TensorView<T> input(const std::string& node);
    /// The values of any node group after forward().
    tensor::TensorView<const T> values(const std::string& node) const;
    tensor::TensorView<const T> output(const std::string& node) const { return values(node); }
    /// The gradient of the loss with respect to an output node group: write before backward().
    tensor::TensorView<T> output_gradient(const std::string& node);

    void set_phase(Phase phase) noexcept;
    Phase phase() const noexcept;
    /// Sets the index that keys this pass's dropout masks (the training iteration).
    void set_iteration(std::uint64_t iteration) noexcept;

    void forward();
    /// Parameter gradients (overwritten) from the output gradients, summed over the batch.
    void backward();

    /// The algorithm of every conv edge group.
    std::map<std::string, conv::ConvAlgo> conv_choices() const;
    /// The tile of every FFT conv edge group. With conv_choices(), the network's convolution plan:
    /// a network built with both as options runs the same transforms, with the same rounding.
    std::map<std::string, core::Vec3i> fft_tiles() const;
    /// Per node and edge group, the time of the last forward and backward pass, in forward order.
    std::vector<GroupTime> timings() const;
    /// Bytes of node values and gradients, parameter values and gradients, and engine caches.
    std::int64_t memory_bytes() const;
    /// Bytes the conv engines hold while running (ConvEngine::workspace_bytes), known before they run.
    std::int64_t workspace_bytes() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// @brief The memory a float network would hold, from its shapes and options, before it is built.
struct MemoryEstimate {
    std::int64_t nodes = 0;       ///< node values, and gradients where kept (training; output nodes)
    std::int64_t parameters = 0;  ///< values and gradients (shared by the networks of one store)
    std::int64_t buffers = 0;     ///< max-filter winners, dropout masks, maxout winners, scratch outputs
    std::int64_t engines = 0;     ///< conv engine workspaces (conv::workspace_estimate)
    std::int64_t total() const { return nodes + parameters + buffers + engines; }
};

/// What Network<float>(spec, shapes, options, resources) would hold while running, without building
/// it, including what the engines hold while they are chosen (conv::workspace_estimate). Builds oneDNN primitive descriptors, allocates no data.
MemoryEstimate estimate_memory(const config::NetSpec& spec, const NetShapes& shapes, const NetworkOptions& options,
                               const NetworkResources& resources);

extern template class Network<float>;
extern template class Network<double>;

}  // namespace znn::graph
