#include "znn/train/optimizer.hpp"

#include <cmath>

#include "znn/core/error.hpp"

namespace znn::train {
namespace {

using Parameter = graph::Parameter<float>;

/// Elements per unit of parallel work: large enough that a unit is not dominated by dispatch.
constexpr std::int64_t kChunk = 1 << 14;

/// The rates of one group at one step.
struct GroupRates {
    float eta, momentum, decay;
};

GroupRates rates_of(const Parameter& p, const OptimizerOptions& o, const StepRate& rate)
{
    const double eta = p.learning.eta ? *p.learning.eta * rate.factor : rate.eta;
    return {static_cast<float>(eta), static_cast<float>(p.learning.momentum.value_or(o.momentum)),
            static_cast<float>(p.learning.weight_decay.value_or(o.weight_decay))};
}

void sgd(float* w, float* v, const float* g, std::int64_t n, const GroupRates& r, float scale)
{
    if (r.momentum == 0) {
        const float keep = 1 - r.eta * r.decay, step = r.eta * scale;
        for (std::int64_t i = 0; i < n; ++i) w[i] = w[i] * keep - step * g[i];
        return;
    }
    const float step = r.eta * scale, decay = r.eta * r.decay;
    for (std::int64_t i = 0; i < n; ++i) {
        v[i] = r.momentum * v[i] - step * g[i] - decay * w[i];
        w[i] += v[i];
    }
}

struct AdamRates {
    float beta1, beta2, epsilon;
    float correction1, correction2;  // 1 / (1 - beta^t)
};

void adam(float* w, float* m, float* v, const float* g, std::int64_t n, const GroupRates& r, const AdamRates& a, float scale)
{
    for (std::int64_t i = 0; i < n; ++i) {
        const float grad = g[i] * scale;
        m[i] = a.beta1 * m[i] + (1 - a.beta1) * grad;
        v[i] = a.beta2 * v[i] + (1 - a.beta2) * grad * grad;
        const float mhat = m[i] * a.correction1, vhat = v[i] * a.correction2;
        w[i] -= r.eta * (mhat / (std::sqrt(vhat) + a.epsilon) + r.decay * w[i]);
    }
}

}  // namespace

std::vector<std::string> Optimizer::state_names(OptimizerKind kind)
{
    if (kind == OptimizerKind::Adam) return {"adam_m", "adam_v"};
    return {model::kMomentum};
}

Optimizer::Optimizer(OptimizerOptions options, const graph::ParameterStore<float>& params) : options_(options)
{
    for (const Parameter& p : params.all())
        for (const std::string& name : state_names(options_.kind)) state_[p.group].emplace(name, tensor::Tensor<float>(p.values.shape()));
}

void Optimizer::restore(const model::OptimizerState& state)
{
    for (auto& [group, tensors] : state_) {
        const auto g = state.find(group);
        for (auto& [name, t] : tensors) {
            if (g == state.end() || !g->second.count(name)) {
                tensor::fill(t.view(), 0.0f);
                continue;
            }
            const tensor::Tensor<float>& src = g->second.at(name);
            if (src.shape() != t.shape())
                throw core::InputError("optimizer state '" + name + "' of group '" + group + "' has shape " + tensor::to_string(src.shape()) +
                                       ", the parameter " + tensor::to_string(t.shape()));
            tensor::copy(src.cview(), t.view());
        }
    }
}

void Optimizer::step(graph::ParameterStore<float>& params, const StepRate& rate, double gradient_scale, core::ParallelFor& threads)
{
    ++steps_;
    struct Unit {
        Parameter* p;
        std::int64_t begin, end;
    };
    std::vector<Unit> units;
    for (Parameter& p : params.all())
        for (std::int64_t b = 0; b < p.values.count(); b += kChunk) units.push_back({&p, b, std::min(p.values.count(), b + kChunk)});
    const float scale = static_cast<float>(gradient_scale);
    const bool is_adam = options_.kind == OptimizerKind::Adam;
    AdamRates a{};
    if (is_adam) {
        a = {static_cast<float>(options_.beta1), static_cast<float>(options_.beta2), static_cast<float>(options_.epsilon),
             static_cast<float>(1 / (1 - std::pow(options_.beta1, double(steps_)))),
             static_cast<float>(1 / (1 - std::pow(options_.beta2, double(steps_))))};
    }
    threads.run(static_cast<std::int64_t>(units.size()), 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t u = begin; u < end; ++u) {
            const Unit& unit = units[static_cast<std::size_t>(u)];
            Parameter& p = *unit.p;
            const GroupRates r = rates_of(p, options_, rate);
            const std::int64_t n = unit.end - unit.begin;
            float* w = p.values.data() + unit.begin;
            const float* g = p.gradient.data() + unit.begin;
            auto& s = state_.at(p.group);
            if (is_adam)
                adam(w, s.at("adam_m").data() + unit.begin, s.at("adam_v").data() + unit.begin, g, n, r, a, scale);
            else
                sgd(w, s.at(model::kMomentum).data() + unit.begin, g, n, r, scale);
        }
    });
    for (Parameter& p : params.all()) graph::ParameterStore<float>::changed(p);
}

}  // namespace znn::train
