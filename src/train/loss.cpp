#include "znn/train/loss.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "znn/core/error.hpp"

namespace znn::train {
namespace {

/// Voxels per unit of work; a fixed size, so the order of the sums does not depend on the threads.
constexpr std::int64_t kChunk = 4096;
constexpr float kLogClamp = 1e-7f;
constexpr float kMargin = 0.2f;

struct Views {
    const float* out;
    const float* target;
    const float* mask;    // nullptr: none (or ignored)
    const float* weight;  // nullptr: no rebalancing
    float* prob;
    float* grad;          // nullptr: no gradient wanted
    std::int64_t channels, voxels;
};

float clamped_log(float p) { return std::log(std::clamp(p, kLogClamp, 1 - kLogClamp)); }

LossSums voxel_range(Cost cost, const Views& v, std::int64_t begin, std::int64_t end)
{
    LossSums s;
    const std::int64_t n = v.voxels, C = v.channels;
    for (std::int64_t i = begin; i < end; ++i) {
        float max_logit = 0, log_sum = 0;
        if (cost == Cost::Softmax) {
            max_logit = v.out[i];
            for (std::int64_t c = 1; c < C; ++c) max_logit = std::max(max_logit, v.out[c * n + i]);
            float sum = 0;
            for (std::int64_t c = 0; c < C; ++c) sum += std::exp(v.out[c * n + i] - max_logit);
            log_sum = std::log(sum);
        }
        for (std::int64_t c = 0; c < C; ++c) {
            const std::int64_t k = c * n + i;
            const float m = v.mask ? (v.mask[k] > 0 ? 1.0f : 0.0f) : 1.0f;
            const float l = v.target[k];
            float p = v.out[k], g = 0, e = 0;
            switch (cost) {
            case Cost::Square:
            case Cost::SquareSquare: {
                float d = m * p - m * l;
                if (cost == Cost::SquareSquare && std::abs(d) <= kMargin) d = 0;
                g = 2 * d;
                e = d * d;
                break;
            }
            case Cost::BinomialCrossEntropy:
                g = p - l;
                e = -(l * clamped_log(p) + (1 - l) * clamped_log(1 - p));
                break;
            case Cost::Softmax: {
                const float log_p = v.out[k] - max_logit - log_sum;
                p = std::exp(log_p);
                g = p - l;
                e = l > 0 ? -l * log_p : 0.0f;
                break;
            }
            }
            v.prob[k] = p;
            if (m == 0) continue;
            s.cost += e;
            s.pixel_errors += (p > 0.5f) != (l > 0.5f) ? 1 : 0;
            s.voxels += 1;
            if (v.grad) v.grad[k] = g * m * (v.weight ? v.weight[k] : 1.0f);
        }
        if (v.grad && v.mask)
            for (std::int64_t c = 0; c < C; ++c)
                if (!(v.mask[c * n + i] > 0)) v.grad[c * n + i] = 0;
    }
    return s;
}

const float* data_or_null(const tensor::Tensor<float>& t, const tensor::Shape4& shape, const char* what)
{
    if (t.empty()) return nullptr;
    ZNN_CHECK(t.shape() == shape, std::string("evaluate_loss: the ") + what + " has another shape than the output");
    return t.data();
}

}  // namespace

std::string_view to_string(Cost cost) noexcept
{
    switch (cost) {
    case Cost::Square: return "square_loss";
    case Cost::SquareSquare: return "square-square";
    case Cost::BinomialCrossEntropy: return "binomial_cross_entropy";
    case Cost::Softmax: return "softmax_loss";
    }
    return "?";
}

Cost resolve_cost(config::CostFn cost_fn, config::OutType out_type) noexcept
{
    switch (cost_fn) {
    case config::CostFn::SquareLoss: return Cost::Square;
    case config::CostFn::SquareSquare: return Cost::SquareSquare;
    case config::CostFn::BinomialCrossEntropy: return Cost::BinomialCrossEntropy;
    case config::CostFn::SoftmaxLoss: return Cost::Softmax;
    case config::CostFn::Auto: break;
    }
    config::JobConfig c;
    c.cost_fn = cost_fn;
    c.out_type = out_type;
    return resolve_cost(c.resolved_cost_fn(), out_type);
}

LossSums evaluate_loss(Cost cost, tensor::TensorView<const float> out, const data::PatchTarget& target, MaskUse masks,
                       tensor::TensorView<float> prob, tensor::TensorView<float> grad, core::ParallelFor& threads)
{
    ZNN_CHECK(out.is_contiguous() && prob.is_contiguous() && prob.shape() == out.shape(), "evaluate_loss: bad output views");
    ZNN_CHECK(grad.data() == nullptr || (grad.is_contiguous() && grad.shape() == out.shape()), "evaluate_loss: bad gradient view");
    const Views v{out.data(),
                  data_or_null(target.target, out.shape(), "target"),
                  masks == MaskUse::Apply ? data_or_null(target.mask, out.shape(), "mask") : nullptr,
                  data_or_null(target.weight, out.shape(), "weight"),
                  prob.data(),
                  grad.data(),
                  out.channels(),
                  out.size().product()};
    ZNN_CHECK(v.target != nullptr, "evaluate_loss: no target");
    const std::int64_t chunks = (v.voxels + kChunk - 1) / kChunk;
    std::vector<LossSums> partial(static_cast<std::size_t>(chunks));
    threads.run(chunks, 1, [&](std::int64_t begin, std::int64_t end, int) {
        for (std::int64_t k = begin; k < end; ++k)
            partial[static_cast<std::size_t>(k)] = voxel_range(cost, v, k * kChunk, std::min(v.voxels, (k + 1) * kChunk));
    });
    LossSums total;
    for (const LossSums& s : partial) total.add(s);
    return total;
}

}  // namespace znn::train
