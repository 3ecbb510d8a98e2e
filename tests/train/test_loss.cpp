// Cost functions: values by hand, gradients by finite differences, masks and rebalance weights.

#include <gtest/gtest.h>

#include <cmath>

#include "znn/core/rng.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/loss.hpp"

using namespace znn;
using namespace znn::train;
using tensor::Tensor;

namespace {

Tensor<float> make(std::int64_t c, core::Vec3i s, const std::vector<float>& v)
{
    Tensor<float> t(c, s);
    EXPECT_EQ(static_cast<std::size_t>(t.count()), v.size());
    std::copy(v.begin(), v.end(), t.data());
    return t;
}

struct Eval {
    LossSums sums;
    Tensor<float> prob, grad;
};

Eval eval(Cost cost, const Tensor<float>& out, const data::PatchTarget& target, MaskUse masks = MaskUse::Apply, int threads = 1)
{
    sched::ThreadPool pool(threads);
    Eval e{{}, Tensor<float>(out.shape()), Tensor<float>(out.shape())};
    e.sums = evaluate_loss(cost, out.cview(), target, masks, e.prob.view(), e.grad.view(), pool);
    return e;
}

double sigmoid(double z) { return 1 / (1 + std::exp(-z)); }

}  // namespace

TEST(Loss, ValuesByHand)
{
    const core::Vec3i S{1, 1, 2};
    data::PatchTarget t;
    t.target = make(2, S, {1, 0, 0, 1});
    const Tensor<float> out = make(2, S, {0.8f, 0.3f, 0.1f, 0.4f});
    {   // square: Σ (p - l)², grad 2(p - l)
        const Eval e = eval(Cost::Square, out, t);
        EXPECT_NEAR(e.sums.cost, 0.04 + 0.09 + 0.01 + 0.36, 1e-6);
        EXPECT_NEAR(e.grad.data()[3], 2 * (0.4 - 1), 1e-6);
        EXPECT_EQ(e.sums.pixel_errors, 1);  // only 0.4 against 1 is on the wrong side of 0.5
        EXPECT_EQ(e.sums.voxels, 4);
    }
    {   // square-square: |d| <= 0.2 vanish (0.8 - 1 and 0.1 - 0)
        const Eval e = eval(Cost::SquareSquare, out, t);
        EXPECT_NEAR(e.sums.cost, 0.09 + 0.36, 1e-6);
        EXPECT_EQ(e.grad.data()[0], 0.0f);
        EXPECT_EQ(e.grad.data()[2], 0.0f);
        EXPECT_NEAR(e.grad.data()[1], 2 * 0.3, 1e-6);
    }
    {   // binomial: -l log p - (1 - l) log(1 - p), grad p - l
        const Eval e = eval(Cost::BinomialCrossEntropy, out, t);
        EXPECT_NEAR(e.sums.cost, -std::log(0.8) - std::log(0.7) - std::log(0.9) - std::log(0.4), 1e-5);
        EXPECT_NEAR(e.grad.data()[1], 0.3, 1e-7);
        EXPECT_EQ(e.prob.data()[1], 0.3f);
    }
    {   // softmax over the two channels per voxel
        const Eval e = eval(Cost::Softmax, out, t);
        const double p00 = std::exp(0.8) / (std::exp(0.8) + std::exp(0.1)), p11 = std::exp(0.4) / (std::exp(0.3) + std::exp(0.4));
        EXPECT_NEAR(e.prob.data()[0], p00, 1e-6);
        EXPECT_NEAR(e.prob.data()[2], 1 - p00, 1e-6);
        EXPECT_NEAR(e.sums.cost, -std::log(p00) - std::log(p11), 1e-5);
        EXPECT_NEAR(e.grad.data()[0], p00 - 1, 1e-6);
        EXPECT_NEAR(e.grad.data()[1], (1 - p11) - 0, 1e-6);
        EXPECT_EQ(e.sums.pixel_errors, 0);
    }
    EXPECT_EQ(resolve_cost(config::CostFn::Auto, config::OutType::Boundary), Cost::Softmax);
    EXPECT_EQ(resolve_cost(config::CostFn::Auto, config::OutType::Affinity), Cost::BinomialCrossEntropy);
    EXPECT_EQ(resolve_cost(config::CostFn::Auto, config::OutType::Semantic), Cost::Softmax);
    EXPECT_EQ(resolve_cost(config::CostFn::SquareLoss, config::OutType::Affinity), Cost::Square);
}

TEST(Loss, GradientsMatchFiniteDifferences)
{
    // Random outputs of 3 channels over 5x4x3 voxels, targets in [0, 1] (one-hot for softmax).
    const core::Vec3i S{5, 4, 3};
    const std::int64_t C = 3, n = S.product();
    core::Rng rng(3);
    for (const Cost cost : {Cost::Square, Cost::SquareSquare, Cost::BinomialCrossEntropy, Cost::Softmax}) {
        data::PatchTarget t;
        t.target = Tensor<float>(C, S);
        Tensor<float> z(C, S);  // logits for binomial, outputs otherwise
        for (std::int64_t i = 0; i < n; ++i) {
            const std::int64_t hot = rng.uniform_int(0, C - 1);
            for (std::int64_t c = 0; c < C; ++c) {
                t.target.data()[c * n + i] = cost == Cost::Softmax ? (c == hot ? 1.0f : 0.0f) : float(rng.uniform());
                z.data()[c * n + i] = float(rng.normal());
            }
        }
        // The output the cost sees: the logistic of z for binomial (a forward_logistics node),
        // whose gradient p - l is with respect to z (the node's backward is the identity).
        auto output_of = [&](const Tensor<float>& logits) {
            Tensor<float> out(logits.shape());
            for (std::int64_t i = 0; i < out.count(); ++i)
                out.data()[i] = cost == Cost::BinomialCrossEntropy ? float(sigmoid(logits.data()[i])) : logits.data()[i];
            return out;
        };
        const Eval e = eval(cost, output_of(z), t);
        const double h = 1e-3;
        int checked = 0;
        for (std::int64_t k = 0; k < z.count(); k += 7) {
            const double keep = z.data()[k];
            if (cost == Cost::SquareSquare && std::abs(std::abs(keep - t.target.data()[k]) - 0.2) < 2 * h) continue;  // the margin's kink
            z.data()[k] = float(keep + h);
            const double up = eval(cost, output_of(z), t).sums.cost;
            z.data()[k] = float(keep - h);
            const double down = eval(cost, output_of(z), t).sums.cost;
            z.data()[k] = float(keep);
            const double numeric = (up - down) / (2 * h);
            EXPECT_NEAR(e.grad.data()[k], numeric, 2e-3 * std::max(1.0, std::abs(numeric))) << to_string(cost) << " [" << k << "]";
            ++checked;
        }
        EXPECT_GE(checked, 20) << to_string(cost);
    }
}

TEST(Loss, MasksAndRebalanceWeights)
{
    const core::Vec3i S{1, 2, 2};
    data::PatchTarget t;
    t.target = make(2, S, {1, 0, 1, 0, 0, 1, 0, 1});
    t.mask = make(2, S, {1, 1, 0, 1, 1, 1, 0, 1});
    t.weight = make(2, S, {2, 3, 4, 5, 6, 7, 8, 9});
    const Tensor<float> out = make(2, S, {0.5f, 0.5f, 0.5f, 0.9f, 0.5f, 0.5f, 0.5f, 0.1f});
    for (const int threads : {1, 3}) {
        const Eval e = eval(Cost::Square, out, t, MaskUse::Apply, threads);
        EXPECT_EQ(e.sums.voxels, 6);
        EXPECT_NEAR(e.sums.cost, 0.25 * 4 + 0.81 + 0.81, 1e-6);
        EXPECT_EQ(e.grad.data()[2], 0.0f);  // masked out
        EXPECT_EQ(e.grad.data()[6], 0.0f);
        EXPECT_NEAR(e.grad.data()[3], 2 * 0.9 * 5, 1e-5);  // 2(p - l) times its weight
        EXPECT_NEAR(e.grad.data()[0], 2 * -0.5 * 2, 1e-6);
    }
    // Validation ignores masks, as the original: every value counts, weights still multiply gradients.
    const Eval v = eval(Cost::Square, out, t, MaskUse::Ignore);
    EXPECT_EQ(v.sums.voxels, 8);
    EXPECT_NEAR(v.sums.cost, 0.25 * 6 + 0.81 + 0.81, 1e-6);
    EXPECT_NEAR(v.grad.data()[2], 2 * -0.5 * 4, 1e-6);
}

TEST(Loss, SumsDoNotDependOnTheThreadCount)
{
    const core::Vec3i S{3, 40, 41};  // more voxels than one unit of work
    data::PatchTarget t;
    t.target = Tensor<float>(2, S);
    Tensor<float> out(2, S);
    core::Rng rng(8);
    for (std::int64_t i = 0; i < out.count(); ++i) {
        out.data()[i] = float(rng.normal());
        t.target.data()[i] = rng.bernoulli(0.5) ? 1.0f : 0.0f;
    }
    const Eval a = eval(Cost::Softmax, out, t, MaskUse::Apply, 1), b = eval(Cost::Softmax, out, t, MaskUse::Apply, 3);
    EXPECT_EQ(a.sums.cost, b.sums.cost);
    EXPECT_EQ(a.sums.pixel_errors, b.sums.pixel_errors);
    EXPECT_TRUE(std::equal(a.grad.data(), a.grad.data() + a.grad.count(), b.grad.data()));
}

TEST(Loss, SaturatedLogisticsGiveAFiniteCost)
{
    data::PatchTarget t;
    t.target = make(1, {1, 1, 2}, {0, 1});
    const Eval e = eval(Cost::BinomialCrossEntropy, make(1, {1, 1, 2}, {1.0f, 0.0f}), t);
    EXPECT_TRUE(std::isfinite(e.sums.cost));
    EXPECT_NEAR(e.sums.cost, -2 * std::log(1e-7), 0.1);
}
