#include "znn/conv/engine.hpp"

#include <algorithm>

#include "engines.hpp"
#include "znn/conv/naive.hpp"
#include "znn/core/error.hpp"

namespace znn::conv {
namespace {

/// The oracle as an engine (single-threaded, float).
class NaiveEngine final : public ConvEngine {
public:
    using ConvEngine::ConvEngine;
    ConvAlgo algo() const noexcept override { return ConvAlgo::Naive; }

    void forward(TensorView<const float> in, const Weights& w, TensorView<float> out, Accumulate mode) override
    {
        check_shapes(in, out, w);
        naive::forward<float>(problem(), in, w.values, out, mode);
    }
    void backward(TensorView<const float> in, TensorView<const float> grad_out, const Weights& w, const Gradients& grads,
                  Accumulate mode) override
    {
        check_shapes(in, grad_out, w);
        if (!grads.input.empty()) naive::backward_data<float>(problem(), grad_out, w.values, grads.input, mode);
        if (!grads.weights.empty()) naive::backward_weights<float>(problem(), in, grad_out, grads.weights, mode);
    }
};

}  // namespace

std::string_view to_string(ConvAlgo a) noexcept
{
    switch (a) {
    case ConvAlgo::Naive: return "naive";
    case ConvAlgo::Direct: return "direct";
    case ConvAlgo::Fft: return "fft";
    case ConvAlgo::Auto: return "auto";
    }
    return "auto";
}

std::string_view to_string(Usage u) noexcept { return u == Usage::Training ? "training" : "inference"; }

std::optional<ConvAlgo> parse_conv_algo(std::string_view name) noexcept
{
    for (ConvAlgo a : {ConvAlgo::Naive, ConvAlgo::Direct, ConvAlgo::Fft, ConvAlgo::Auto})
        if (to_string(a) == name) return a;
    return std::nullopt;
}

void ConvEngine::check_shapes(TensorView<const float> in, TensorView<const float> out, const Weights& w) const
{
    const ConvProblem& p = problem_;
    ZNN_CHECK((in.shape() == tensor::Shape4{p.batch * p.in_channels, p.in_size}),
              "conv input " + tensor::to_string(in.shape()) + " does not match " + p.to_string());
    ZNN_CHECK((out.shape() == tensor::Shape4{p.batch * p.out_channels, p.out_size()}),
              "conv output " + tensor::to_string(out.shape()) + " does not match " + p.to_string());
    ZNN_CHECK((w.values.shape() == tensor::Shape4{p.out_channels * p.in_channels, p.kernel}),
              "conv kernel " + tensor::to_string(w.values.shape()) + " does not match " + p.to_string());
}

std::optional<std::string> unsupported_reason(ConvAlgo algo, const ConvProblem& problem)
{
    if (auto invalid = problem.invalid_reason()) return invalid;
    switch (algo) {
    case ConvAlgo::Naive:
    case ConvAlgo::Direct: return std::nullopt;
    case ConvAlgo::Fft:
        if (problem.kernel == Vec3i{1, 1, 1}) return "a 1x1x1 kernel is a channel mix: direct is always faster";
        return std::nullopt;
    case ConvAlgo::Auto: return "auto is resolved by ConvSelector, not an engine";
    }
    return "unknown algorithm";
}

std::unique_ptr<ConvEngine> make_engine(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context)
{
    if (auto reason = unsupported_reason(algo, problem))
        throw core::InputError(std::string(to_string(algo)) + " convolution cannot run " + problem.to_string() + ": " + *reason);
    switch (algo) {
    case ConvAlgo::Naive: return make_naive_engine(problem, context);
    case ConvAlgo::Direct: return make_onednn_engine(problem, context);
    case ConvAlgo::Fft: return make_fft_engine(problem, context);
    case ConvAlgo::Auto: break;
    }
    throw core::InternalError("make_engine: unreachable");
}

std::size_t workspace_estimate(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context)
{
    if (algo == ConvAlgo::Auto) {  // the selector builds and times both
        std::size_t both = 0;
        for (ConvAlgo a : {ConvAlgo::Fft, ConvAlgo::Direct})
            if (!unsupported_reason(a, problem)) both += workspace_estimate(a, problem, context);
        return both;
    }
    if (auto reason = unsupported_reason(algo, problem))
        throw core::InputError(std::string(to_string(algo)) + " convolution cannot run " + problem.to_string() + ": " + *reason);
    switch (algo) {
    case ConvAlgo::Fft: return fft_workspace_bound(problem, context);
    case ConvAlgo::Direct: return make_onednn_engine(problem, context)->workspace_bytes();  // builds, never runs
    default: return 0;
    }
}

std::unique_ptr<ConvEngine> make_naive_engine(const ConvProblem& problem, const ConvContext&)
{
    return std::make_unique<NaiveEngine>(problem);
}

}  // namespace znn::conv
