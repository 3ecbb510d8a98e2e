#pragma once
/// @file
/// @brief The naive convolution: plain loops straight from the formulas in problem.hpp and engine.hpp.
///
/// It is the oracle every other implementation is tested against, and the reference for
/// finite-difference gradient checks (hence templated on float and double). Never optimise it.

#include "znn/conv/pool.hpp"
#include "znn/conv/problem.hpp"
#include "znn/tensor/tensor.hpp"

namespace znn::conv::naive {

using tensor::TensorView;

/// out (B·F_out, O) = conv(in (B·F_in, I), w (F_out·F_in, K)), written or added.
template <class T>
void forward(const ConvProblem& p, TensorView<const T> in, TensorView<const T> w, TensorView<T> out, Accumulate mode);

/// grad_in (B·F_in, I) from grad_out (B·F_out, O) and w, written or added.
template <class T>
void backward_data(const ConvProblem& p, TensorView<const T> grad_out, TensorView<const T> w, TensorView<T> grad_in,
                   Accumulate mode);

/// grad_w (F_out·F_in, K) from in and grad_out, summed over the batch, written or added.
template <class T>
void backward_weights(const ConvProblem& p, TensorView<const T> in, TensorView<const T> grad_out, TensorView<T> grad_w,
                      Accumulate mode);

/// Max over windows (pool.hpp's definition and argmax convention; ties to the first tap).
template <class T>
void max_forward(TensorView<const T> in, const MaxWindow& w, TensorView<T> out, TensorView<std::int32_t> argmax);
/// grad_in gets every grad_out value added at its argmax (after zeroing, for Overwrite).
template <class T>
void max_backward(TensorView<const T> grad_out, TensorView<const std::int32_t> argmax, TensorView<T> grad_in, Accumulate mode);

}  // namespace znn::conv::naive
