// Optimizers and learning-rate schedules against steps computed by hand.

#include <gtest/gtest.h>

#include <cmath>

#include "support/parse_net.hpp"
#include "znn/core/error.hpp"
#include "znn/graph/parameters.hpp"
#include "znn/sched/thread_pool.hpp"
#include "znn/train/optimizer.hpp"
#include "znn/train/schedule.hpp"

using namespace znn;
using namespace znn::train;
using graph::ParameterStore;

namespace {

/// One conv group c (1 -> 1 map, kernel 1x2x4, optionally repeat 1,1,2 and its own eta) and the bias of `out`.
std::shared_ptr<ParameterStore<float>> store(const std::string& extra = "")
{
    const config::NetSpec spec = test::parse_net("nodes input\ntype input\nsize 1\n"
                                                 "edges c\ntype conv\ninit constant\ninit_args 0.5\nsize 1,2,4\n" + extra +
                                                 "input input\noutput out\n"
                                                 "nodes out\ntype transfer\nfunction linear\nsize 1\n");
    auto s = ParameterStore<float>::create(spec, graph::NetShapes::for_output(spec, {1, 1, 1}));
    s->initialize(1);
    return s;
}

void set_gradient(ParameterStore<float>& s, const std::string& group, const std::vector<float>& g)
{
    auto& p = *s.find(group);
    ASSERT_EQ(p.gradient.count(), static_cast<std::int64_t>(g.size()));
    std::copy(g.begin(), g.end(), p.gradient.data());
}

const std::vector<float> kG = {1, 2, 3, 4, 5, 6, 7, 8};

}  // namespace

TEST(Optimizer, SgdWithoutMomentumIsTheOriginalsRuleAndTiesRepeatedWeights)
{
    sched::ThreadPool pool(2);
    auto s = store("repeat 1,1,2\n");
    set_gradient(*s, "c", kG);
    set_gradient(*s, "out", {2});
    Optimizer sgd({.kind = OptimizerKind::Sgd, .momentum = 0, .weight_decay = 0.01}, *s);
    const std::uint64_t version = s->find("c")->version;
    sgd.step(*s, {0.1, 1}, 0.5, pool);
    // W <- W(1 - eta wd) - eta scale g, then each 1x1x2 block replaced by its mean.
    const float* w = s->find("c")->values.data();
    for (int i = 0; i < 8; ++i) {
        const int j = i ^ 1;
        const double a = 0.5 * (1 - 0.1 * 0.01) - 0.1 * 0.5 * kG[i], b = 0.5 * (1 - 0.1 * 0.01) - 0.1 * 0.5 * kG[j];
        EXPECT_NEAR(w[i], (a + b) / 2, 1e-7) << i;
    }
    EXPECT_GT(s->find("c")->version, version);  // the engines will refresh their kernel spectra
    EXPECT_NEAR(s->find("out")->values.data()[0], 0 - 0.1 * 0.5 * 2, 1e-7);
}

TEST(Optimizer, SgdWithMomentumFollowsTheOriginalsTwoSteps)
{
    sched::ThreadPool pool(2);
    auto s = store();
    s->find("out")->values.data()[0] = 1.0f;
    set_gradient(*s, "out", {2});
    set_gradient(*s, "c", kG);
    Optimizer sgd({.kind = OptimizerKind::Sgd, .momentum = 0.9, .weight_decay = 0.01}, *s);
    // V <- m V - eta scale g - eta wd W; W <- W + V.
    sgd.step(*s, {0.1, 1}, 0.5, pool);
    const double v1 = -0.1 * 0.5 * 2.0 - 0.1 * 0.01 * 1.0;
    EXPECT_NEAR(s->find("out")->values.data()[0], 1.0 + v1, 1e-7);
    EXPECT_NEAR(sgd.state().at("out").at(model::kMomentum).data()[0], v1, 1e-7);
    sgd.step(*s, {0.1, 1}, 0.5, pool);
    const double v2 = 0.9 * v1 - 0.1 * 0.5 * 2.0 - 0.1 * 0.01 * (1.0 + v1);
    EXPECT_NEAR(s->find("out")->values.data()[0], 1.0 + v1 + v2, 1e-7);
    EXPECT_EQ(sgd.steps(), 2);
}

TEST(Optimizer, AGroupsOwnRatesWinAndItsEtaIsAnnealedWithTheJobs)
{
    sched::ThreadPool pool(1);
    auto s = store("eta 0.3\nmomentum 0\n");
    set_gradient(*s, "c", kG);
    set_gradient(*s, "out", {2});
    Optimizer sgd({.kind = OptimizerKind::Sgd, .momentum = 0.9}, *s);
    // The job runs at 0.05 = half its base rate: group c at 0.3 * 0.5 without momentum, out at 0.05 with.
    sgd.step(*s, {0.05, 0.5}, 1.0, pool);
    EXPECT_NEAR(s->find("c")->values.data()[3], 0.5 - 0.15 * 4, 1e-6);
    EXPECT_NEAR(s->find("out")->values.data()[0], -0.05 * 2, 1e-7);
    EXPECT_EQ(sgd.state().at("c").at(model::kMomentum).data()[3], 0.0f);  // no momentum kept for c
}

TEST(Optimizer, AdamFollowsItsFormulasWithBiasCorrection)
{
    sched::ThreadPool pool(2);
    auto s = store();
    set_gradient(*s, "c", kG);
    set_gradient(*s, "out", {-3});
    const double b1 = 0.9, b2 = 0.99, eps = 1e-3, eta = 0.01, wd = 0.1, scale = 0.5;
    Optimizer adam({.kind = OptimizerKind::Adam, .weight_decay = wd, .beta1 = b1, .beta2 = b2, .epsilon = eps}, *s);
    double w = 0.5, m = 0, v = 0, b = 0, mb = 0, vb = 0;  // kernel value 5 (g = 6) and the bias, by hand
    for (int t = 1; t <= 3; ++t) {
        adam.step(*s, {eta, 1}, scale, pool);
        const double g = 6 * scale, gb = -3 * scale;
        m = b1 * m + (1 - b1) * g;
        v = b2 * v + (1 - b2) * g * g;
        w -= eta * ((m / (1 - std::pow(b1, t))) / (std::sqrt(v / (1 - std::pow(b2, t))) + eps) + wd * w);
        mb = b1 * mb + (1 - b1) * gb;
        vb = b2 * vb + (1 - b2) * gb * gb;
        b -= eta * ((mb / (1 - std::pow(b1, t))) / (std::sqrt(vb / (1 - std::pow(b2, t))) + eps) + wd * b);
        EXPECT_NEAR(s->find("c")->values.data()[5], w, 1e-6) << t;
        EXPECT_NEAR(s->find("out")->values.data()[0], b, 1e-6) << t;
    }
    EXPECT_EQ(Optimizer::state_names(OptimizerKind::Adam), (std::vector<std::string>{"adam_m", "adam_v"}));
    EXPECT_NEAR(adam.state().at("c").at("adam_m").data()[5], m, 1e-6);
    EXPECT_NEAR(adam.state().at("c").at("adam_v").data()[5], v, 1e-6);
}

TEST(Optimizer, StepsDoNotDependOnTheThreadCountAndStateRestores)
{
    // A parameter larger than one unit of parallel work, on 1 and 3 threads: the same bits.
    const config::NetSpec spec = test::parse_net("nodes input\ntype input\nsize 40\n"
                                                 "edges c\ntype conv\ninit xavier\nsize 3,3,3\ninput input\noutput out\n"
                                                 "nodes out\ntype transfer\nfunction linear\nsize 40\n");
    const auto shapes = graph::NetShapes::for_output(spec, {1, 1, 1});
    std::vector<std::shared_ptr<ParameterStore<float>>> stores;
    for (const int threads : {1, 3}) {
        sched::ThreadPool pool(threads);
        auto s = ParameterStore<float>::create(spec, shapes);
        s->initialize(4);
        Optimizer adam({.kind = OptimizerKind::Adam, .weight_decay = 0.01}, *s);
        for (int step = 0; step < 3; ++step) {
            for (auto& p : s->all())
                for (std::int64_t i = 0; i < p.gradient.count(); ++i) p.gradient.data()[i] = std::sin(float(i + step));
            adam.step(*s, {0.01, 1}, 1.0, pool);
        }
        // Restoring the state into a fresh optimizer continues identically.
        Optimizer again({.kind = OptimizerKind::Adam, .weight_decay = 0.01}, *s);
        again.restore(adam.state());
        again.set_steps(adam.steps());
        EXPECT_EQ(again.state().at("c").at("adam_v").data()[1000], adam.state().at("c").at("adam_v").data()[1000]);
        stores.push_back(s);
    }
    const auto &a = stores[0]->find("c")->values, &b = stores[1]->find("c")->values;
    ASSERT_GT(a.count(), 1 << 14);
    EXPECT_TRUE(std::equal(a.data(), a.data() + a.count(), b.data()));
    EXPECT_EQ(stores[0]->fingerprint(), stores[1]->fingerprint());
    // A state of the wrong shape is refused.
    model::OptimizerState bad;
    bad["c"].emplace("adam_m", tensor::Tensor<float>(1, {1, 1, 1}));
    Optimizer adam({.kind = OptimizerKind::Adam}, *stores[0]);
    EXPECT_THROW(adam.restore(bad), core::InputError);
}

TEST(Schedule, StepAnnealingIsTheOriginalsRepeatedMultiplication)
{
    Schedule s;
    s.eta = 0.01;
    s.anneal_factor = 0.997;
    s.anneal_every = 100;
    EXPECT_EQ(s.at(1), 0.01);
    EXPECT_EQ(s.at(100), 0.01);
    EXPECT_EQ(s.at(101), 0.01 * 0.997);
    EXPECT_EQ(s.at(201), 0.01 * 0.997 * 0.997);
    double r = 0.01;
    for (int k = 0; k < 40; ++k) r *= 0.997;
    EXPECT_EQ(s.at(4001), r);
    // Resumed from the rate a checkpoint stored, the schedule continues bit for bit.
    for (const std::int64_t k : {1, 99, 100, 101, 2550}) {
        const Schedule t = s.resumed(k, s.at(k));
        for (const std::int64_t i : {k, k + 1, k + 100, k + 1234}) EXPECT_EQ(t.at(i), s.at(i)) << k << " " << i;
    }
    // A rate the user changed between runs is what the resumed run starts from.
    EXPECT_EQ(s.resumed(150, 0.5).at(151), 0.5);
    EXPECT_EQ(s.resumed(150, 0.5).at(201), 0.5 * 0.997);
}

TEST(Schedule, WarmupThenCosine)
{
    Schedule s;
    s.kind = ScheduleKind::Cosine;
    s.eta = 0.1;
    s.eta_min = 0.001;
    s.warmup = 10;
    s.max_iter = 110;
    EXPECT_NEAR(s.at(1), 0.01, 1e-15);
    EXPECT_NEAR(s.at(10), 0.1, 1e-15);
    EXPECT_NEAR(s.at(60), 0.001 + 0.099 * 0.5, 1e-12);  // half way: the mean
    EXPECT_NEAR(s.at(110), 0.001, 1e-15);
    EXPECT_NEAR(s.at(500), 0.001, 1e-15);
    EXPECT_EQ(s.resumed(50, 123.0).at(51), s.at(51));  // a pure function of the iteration
}
