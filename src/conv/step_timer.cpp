#include "step_timer.hpp"

#include <chrono>

#include "znn/core/rng.hpp"

namespace znn::conv {

StepTimer::StepTimer(const ConvProblem& p, Usage usage) : usage_(usage)
{
    core::Rng rng = core::Rng::stream(0, 0, core::RngPurpose::Test);
    auto random = [&](tensor::Shape4 shape) {
        tensor::Tensor<float> t(shape, core::Init::Uninitialized);
        for (float& v : t.span()) v = rng.uniform_float() - 0.5f;
        return t;
    };
    in_ = random({p.batch * p.in_channels, p.in_size});
    w_ = random({p.out_channels * p.in_channels, p.kernel});
    out_ = tensor::Tensor<float>(p.batch * p.out_channels, p.out_size());
    if (usage == Usage::Training) {
        grad_in_ = tensor::Tensor<float>(in_.shape());
        grad_w_ = tensor::Tensor<float>(w_.shape());
    }
}

double StepTimer::time_step(ConvEngine& engine)
{
    const bool training = usage_ == Usage::Training;
    const Weights weights{w_.view(), training ? ++version_ : 0};
    const auto start = std::chrono::steady_clock::now();
    engine.forward(in_.view(), weights, out_.view(), Accumulate::Overwrite);
    if (training) engine.backward(in_.view(), out_.view(), weights, {grad_in_.view(), grad_w_.view()}, Accumulate::Overwrite);
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::size_t StepTimer::data_bytes(const ConvProblem& p, Usage usage)
{
    std::int64_t floats = p.batch * (p.in_channels * p.in_size.product() + p.out_channels * p.out_size().product()) +
                          p.out_channels * p.in_channels * p.kernel.product();
    if (usage == Usage::Training) floats *= 2;
    return static_cast<std::size_t>(floats) * sizeof(float);
}

}  // namespace znn::conv
