#pragma once
/// @file
/// @brief Transfer functions of `transfer` nodes (reference §2.3): f(sum + bias), and the derivative
/// expressed through the output f, as the original computed it (so only outputs are kept).
///
///     linear             a·x + b                 a
///     rectify_linear     max(0, x)               f > 0 ? 1 : 0
///     tanh               a·tanh(b·x)             (b/a)·(a − f)·(a + f)
///     soft_sign          x / (1 + |x|)           (1 − |f|)²
///     logistics          1 / (1 + e^−x)          f·(1 − f)
///     forward_logistics  1 / (1 + e^−x)          1 (the cross-entropy gradient p − l already has it)

#include <span>

#include "znn/config/net_spec.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::graph {

/// @brief A transfer function with its arguments (a, b for linear and tanh).
struct Transfer {
    config::TransferFunction function = config::TransferFunction::Linear;
    double a = 1;
    double b = 0;

    static Transfer of(const config::NodeGroupSpec& node);

    /// values[i] = f(values[i] + bias), in place.
    template <class T> void forward(std::span<T> values, T bias) const;
    /// grad[i] *= f'(given the output values[i]), in place.
    template <class T> void backward(std::span<const T> values, std::span<T> grad) const;
};

/// The softmax over the channels at every voxel of `v` (C, S), in place, the largest value
/// subtracted first: what a `softmax_loss` network's outputs mean (reference §5.2), for inference.
void softmax_channels(tensor::TensorView<float> v);

}  // namespace znn::graph
