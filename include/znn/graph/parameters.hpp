#pragma once
/// @file
/// @brief The trainable parameters of a network, shared by networks built at different patch sizes.
///
/// A network's parameters do not depend on its patch size: a conv edge group has F_out·F_in kernels
/// of its size, a transfer node group one bias per map. So one ParameterStore serves every network of
/// one `.znn` — the training network at `train_outsz`, a validation network, an inference network at
/// `forward_outsz` — without copying through a file (Caffe's ShareTrainedLayersWith). Each network
/// keeps its own engines; they cache transformed kernels keyed by a parameter's `version`, so a
/// change made through one network is seen by the others at their next pass.
///
/// Contract for whoever changes values (an optimizer, a loader, rank averaging): change `values`,
/// then call `changed(p)`, which re-applies the group's constraint (`repeat` weight tying: every
/// repeat-sized block of a kernel holds its mean) and bumps `version`.
///
/// Gradients live here too: the network that runs backward() overwrites them. Only one network
/// runs backward at a time.
///
/// The order of parameters is fixed by the `.znn` alone: transfer node groups in topological order,
/// then conv edge groups in file order. Every rank therefore holds the same list.
///
/// Example:
/// @code
///   auto params = ParameterStore<float>::create(spec, train_shapes);
///   params->initialize(seed);
///   Network<float> train(spec, train_shapes, options, resources, params);
///   Network<float> test(spec, test_shapes, test_options, resources, params);   // the same values
/// @endcode

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "znn/config/net_spec.hpp"
#include "znn/core/vec3.hpp"
#include "znn/graph/shapes.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::graph {

/// @brief Trainable values of one group: conv kernels (F_out·F_in, k) or transfer biases (1, 1, 1, N).
template <class T> struct Parameter {
    std::string group;
    bool is_kernel = false;
    tensor::Tensor<T> values;
    tensor::Tensor<T> gradient;            ///< of the loss, summed over the batch (backward() overwrites it)
    std::uint64_t version = 1;             ///< changes whenever values change (engines cache kernel spectra)
    config::LearningOverrides learning;    ///< the group's own eta, momentum, weight_decay in the .znn
    core::Vec3i repeat{1, 1, 1};           ///< weight tying in blocks (kernels)
    std::optional<config::InitSpec> init;  ///< absent: biases start at 0
    double fan_in = 1, fan_out = 1;
    bool seeding = true;                   ///< false: `seeding 0`, not copied from a seed network
};

/// @brief The parameters of one network specification. Not thread-safe.
template <class T> class ParameterStore {
public:
    /// Parameters of `spec` with the kernel and map sizes of `shapes` (any patch size).
    static std::shared_ptr<ParameterStore> create(const config::NetSpec& spec, const NetShapes& shapes);

    std::vector<Parameter<T>>& all() noexcept { return params_; }
    const std::vector<Parameter<T>>& all() const noexcept { return params_; }
    std::size_t size() const noexcept { return params_.size(); }
    Parameter<T>* find(const std::string& group);
    const Parameter<T>* find(const std::string& group) const;
    /// Index of `group` in all(), or -1.
    std::ptrdiff_t index(const std::string& group) const;

    /// Every parameter from its initialiser, seeded by its group's name (init.hpp).
    void initialize(std::uint64_t seed);
    /// Re-applies `p`'s constraint (repeat tying) and bumps its version: call after changing values.
    static void changed(Parameter<T>& p);

    /// Number of values over every parameter.
    std::int64_t count() const;
    /// A 64-bit fingerprint of every value's bits and the order of groups, for comparing ranks.
    std::uint64_t fingerprint() const;

    /// Whether `other` has the same groups, in the same order, of the same shapes.
    bool same_layout(const ParameterStore& other) const;

private:
    std::vector<Parameter<T>> params_;
};

extern template class ParameterStore<float>;
extern template class ParameterStore<double>;

}  // namespace znn::graph
