#include "znn/graph/transfer.hpp"

#include <algorithm>
#include <cmath>

#include "znn/core/error.hpp"

namespace znn::graph {

using config::TransferFunction;

Transfer Transfer::of(const config::NodeGroupSpec& node)
{
    Transfer t;
    t.function = node.function;
    if (node.function_args.size() >= 1) t.a = node.function_args[0];
    if (node.function_args.size() >= 2) t.b = node.function_args[1];
    return t;
}

template <class T> void Transfer::forward(std::span<T> v, T bias) const
{
    const T ta = static_cast<T>(a), tb = static_cast<T>(b);
    switch (function) {
    case TransferFunction::Linear:
        for (T& x : v) x = ta * (x + bias) + tb;
        break;
    case TransferFunction::RectifyLinear:
        for (T& x : v) x = std::max(T(0), x + bias);
        break;
    case TransferFunction::Tanh:
        for (T& x : v) x = ta * std::tanh(tb * (x + bias));
        break;
    case TransferFunction::SoftSign:
        for (T& x : v) {
            const T s = x + bias;
            x = s / (T(1) + std::abs(s));
        }
        break;
    case TransferFunction::Logistics:
    case TransferFunction::ForwardLogistics:
        for (T& x : v) x = T(1) / (T(1) + std::exp(-(x + bias)));
        break;
    }
}

template <class T> void Transfer::backward(std::span<const T> f, std::span<T> g) const
{
    const T ta = static_cast<T>(a), tb = static_cast<T>(b);
    const std::size_t n = g.size();
    switch (function) {
    case TransferFunction::Linear:
        for (std::size_t i = 0; i < n; ++i) g[i] *= ta;
        break;
    case TransferFunction::RectifyLinear:
        for (std::size_t i = 0; i < n; ++i) g[i] = f[i] > T(0) ? g[i] : T(0);
        break;
    case TransferFunction::Tanh:
        for (std::size_t i = 0; i < n; ++i) g[i] *= (tb / ta) * (ta - f[i]) * (ta + f[i]);
        break;
    case TransferFunction::SoftSign:
        for (std::size_t i = 0; i < n; ++i) {
            const T d = T(1) - std::abs(f[i]);
            g[i] *= d * d;
        }
        break;
    case TransferFunction::Logistics:
        for (std::size_t i = 0; i < n; ++i) g[i] *= f[i] * (T(1) - f[i]);
        break;
    case TransferFunction::ForwardLogistics: break;
    }
}

template void Transfer::forward<float>(std::span<float>, float) const;
template void Transfer::forward<double>(std::span<double>, double) const;
template void Transfer::backward<float>(std::span<const float>, std::span<float>) const;
template void Transfer::backward<double>(std::span<const double>, std::span<double>) const;

void softmax_channels(tensor::TensorView<float> v)
{
    ZNN_CHECK(v.is_contiguous(), "softmax_channels: the view must be contiguous");
    const std::int64_t C = v.channels(), n = v.size().product();
    float* d = v.data();
    for (std::int64_t i = 0; i < n; ++i) {
        float m = d[i];
        for (std::int64_t c = 1; c < C; ++c) m = std::max(m, d[c * n + i]);
        float sum = 0;
        for (std::int64_t c = 0; c < C; ++c) sum += d[c * n + i] = std::exp(d[c * n + i] - m);
        for (std::int64_t c = 0; c < C; ++c) d[c * n + i] /= sum;
    }
}

}  // namespace znn::graph
