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

std::string_view to_string(Tuning t) noexcept { return t == Tuning::Estimate ? "estimate" : "measure"; }

std::optional<Tuning> parse_tuning(std::string_view name) noexcept
{
    for (Tuning t : {Tuning::Estimate, Tuning::Measure})
        if (to_string(t) == name) return t;
    return std::nullopt;
}

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

namespace {

std::optional<std::string> always_supported(const ConvProblem&) { return std::nullopt; }

std::optional<std::string> fft_unsupported(const ConvProblem& problem)
{
    if (problem.kernel == Vec3i{1, 1, 1}) return "a 1x1x1 kernel is a channel mix: direct is always faster";
    return std::nullopt;
}

std::unique_ptr<ConvEngine> make_fft_engine(const ConvProblem& problem, const ConvContext& context)
{
    return fft_engine_entry(context).make(problem, context);
}

std::size_t fft_workspace_bound(const ConvProblem& problem, const ConvContext& context)
{
    return fft_engine_entry(context).workspace_bound(problem, context);
}

std::size_t onednn_workspace_bound(const ConvProblem& problem, const ConvContext& context)
{
    return make_onednn_engine(problem, context)->workspace_bytes();  // builds the primitives, never runs them
}

std::size_t no_workspace(const ConvProblem&, const ConvContext&) { return 0; }

}  // namespace

const std::vector<ConvImplementation>& conv_implementations()
{
    static const std::vector<ConvImplementation> list = {
        {ConvAlgo::Direct, &always_supported, &make_onednn_engine, &onednn_workspace_bound, true},
        {ConvAlgo::Fft, &fft_unsupported, &make_fft_engine, &fft_workspace_bound, true},
        {ConvAlgo::Naive, &always_supported, &make_naive_engine, &no_workspace, false},
    };
    return list;
}

const ConvImplementation& conv_implementation(ConvAlgo algo)
{
    for (const ConvImplementation& impl : conv_implementations())
        if (impl.algo == algo) return impl;
    throw core::InternalError(std::string(to_string(algo)) + " is not an implementation (auto is resolved by choose_engine)");
}

std::optional<std::string> unsupported_reason(ConvAlgo algo, const ConvProblem& problem)
{
    if (auto invalid = problem.invalid_reason()) return invalid;
    if (algo == ConvAlgo::Auto) return "auto is resolved by choose_engine, not an engine";
    return conv_implementation(algo).unsupported(problem);
}

namespace {

void require_supported(ConvAlgo algo, const ConvProblem& problem)
{
    if (auto reason = unsupported_reason(algo, problem))
        throw core::InputError(std::string(to_string(algo)) + " convolution cannot run " + problem.to_string() + ": " + *reason);
}

}  // namespace

std::unique_ptr<ConvEngine> make_engine(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context)
{
    require_supported(algo, problem);
    return conv_implementation(algo).make(problem, context);
}

std::size_t workspace_estimate(ConvAlgo algo, const ConvProblem& problem, const ConvContext& context)
{
    if (algo == ConvAlgo::Auto) {  // the selector builds and times every candidate
        std::size_t all = 0;
        for (const ConvImplementation& impl : conv_implementations())
            if (impl.timed_by_auto && !unsupported_reason(impl.algo, problem)) all += impl.workspace_bound(problem, context);
        return all;
    }
    require_supported(algo, problem);
    return conv_implementation(algo).workspace_bound(problem, context);
}

const FftEngineEntry& fft_engine_entry(const ConvContext& context)
{
    core::choose_simd_path(context.simd);  // a path this CPU cannot run is an error, never SIGILL
    switch (context.simd) {
    case core::SimdPath::Avx2: return avx2::kFftEngine;
    case core::SimdPath::Avx512: return avx512::kFftEngine;
    }
    throw core::InternalError("fft_engine_entry: unknown SIMD path");
}

std::unique_ptr<ConvEngine> make_naive_engine(const ConvProblem& problem, const ConvContext&)
{
    return std::make_unique<NaiveEngine>(problem);
}

}  // namespace znn::conv
