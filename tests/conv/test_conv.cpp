// Every convolution engine against the naive oracle, on randomised shapes, for all three passes.

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "znn/conv/engine.hpp"
#include "znn/conv/naive.hpp"
#include "znn/conv/select.hpp"
#include "znn/core/log.hpp"
#include "znn/core/rng.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using namespace znn::conv;
using tensor::Shape4;
using tensor::Tensor;

namespace {

Tensor<float> random_tensor(Shape4 shape, core::Rng& rng)
{
    Tensor<float> t(shape, core::Init::Uninitialized);
    for (float& v : t.span()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    return t;
}

/// Largest |a − b| relative to the largest |b| (the scale of the result).
double relative_error(const Tensor<float>& a, const Tensor<float>& b)
{
    double worst = 0, scale = 1e-30;
    for (std::size_t i = 0; i < a.span().size(); ++i) {
        worst = std::max(worst, std::abs(double(a.span()[i]) - double(b.span()[i])));
        scale = std::max(scale, std::abs(double(b.span()[i])));
    }
    return worst / scale;
}

struct Case {
    ConvProblem p;
    std::string label() const { return p.to_string(); }
};

/// Runs all three passes of `algo` and of naive on the same data, overwrite and accumulate modes.
void check_against_naive(ConvAlgo algo, const ConvProblem& p, core::ParallelFor& threads, fft::PlanCache& plans,
                         std::uint64_t seed, std::optional<core::Vec3i> fft_tile = std::nullopt)
{
    SCOPED_TRACE(std::string(to_string(algo)) + " " + p.to_string());
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Test);
    const Tensor<float> in = random_tensor({p.batch * p.in_channels, p.in_size}, rng);
    const Tensor<float> w = random_tensor({p.out_channels * p.in_channels, p.kernel}, rng);
    const Tensor<float> gout = random_tensor({p.batch * p.out_channels, p.out_size()}, rng);
    ConvContext ctx{threads, plans};
    ctx.fft_tile = fft_tile;
    auto engine = make_engine(algo, p, ctx);
    auto oracle = make_engine(ConvAlgo::Naive, p, ctx);
    const Weights weights{w.view(), 1};
    // Float sums over F_in·|K| terms: allow a few ulps per term's magnitude.
    const double tolerance = 2e-5 * std::sqrt(double(p.in_channels * p.kernel.product() * p.batch * p.out_size().product())) + 1e-5;

    for (Accumulate mode : {Accumulate::Overwrite, Accumulate::Add}) {
        Tensor<float> out(p.batch * p.out_channels, p.out_size()), ref(out.shape());
        for (float& v : out.span()) v = 0.5f;  // Add must keep it, Overwrite must not
        ref = out;
        engine->forward(in.view(), weights, out.view(), mode);
        oracle->forward(in.view(), weights, ref.view(), mode);
        EXPECT_LT(relative_error(out, ref), tolerance) << "forward";

        Tensor<float> gin(in.shape()), gin_ref(in.shape()), gw(w.shape()), gw_ref(w.shape());
        for (float& v : gin.span()) v = -0.25f;
        for (float& v : gw.span()) v = 0.75f;
        gin_ref = gin;
        gw_ref = gw;
        engine->backward(in.view(), gout.view(), weights, {gin.view(), gw.view()}, mode);
        oracle->backward(in.view(), gout.view(), weights, {gin_ref.view(), gw_ref.view()}, mode);
        EXPECT_LT(relative_error(gin, gin_ref), tolerance) << "backward data";
        EXPECT_LT(relative_error(gw, gw_ref), tolerance) << "backward weights";

        // Each gradient alone gives the same as both together.
        Tensor<float> gin_only(in.shape()), gw_only(w.shape());
        engine->backward(in.view(), gout.view(), weights, {gin_only.view(), {}}, Accumulate::Overwrite);
        engine->backward(in.view(), gout.view(), weights, {{}, gw_only.view()}, Accumulate::Overwrite);
        if (mode == Accumulate::Overwrite) {
            EXPECT_LT(relative_error(gin_only, gin), 1e-6);
            EXPECT_LT(relative_error(gw_only, gw), 1e-6);
        }
    }
    // New weights with a new version must be picked up (cached spectra/packing refreshed).
    Tensor<float> w2 = random_tensor(w.shape(), rng);
    Tensor<float> out(p.batch * p.out_channels, p.out_size()), ref(out.shape());
    engine->forward(in.view(), {w2.view(), 2}, out.view(), Accumulate::Overwrite);
    oracle->forward(in.view(), {w2.view(), 2}, ref.view(), Accumulate::Overwrite);
    EXPECT_LT(relative_error(out, ref), tolerance) << "forward after a weight update";
}

std::vector<ConvProblem> fixed_cases()
{
    return {
        {1, 1, 1, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}},      // smallest
        {1, 3, 2, {5, 6, 7}, {1, 1, 1}, {1, 1, 1}},      // 1×1×1: channel mixing
        {1, 2, 3, {1, 12, 13}, {1, 3, 3}, {1, 1, 1}},    // 2D (z = 1)
        {2, 3, 4, {6, 11, 21}, {2, 3, 4}, {1, 1, 1}},    // anisotropic, batch 2
        {1, 4, 5, {9, 9, 30}, {3, 3, 3}, {2, 2, 2}},     // dilated
        {1, 2, 2, {4, 20, 19}, {1, 2, 3}, {1, 4, 3}},    // 2D, uneven dilation
        {3, 1, 2, {7, 7, 7}, {7, 7, 7}, {1, 1, 1}},      // kernel = input: one output voxel
        {1, 5, 6, {10, 12, 35}, {3, 5, 2}, {3, 1, 2}},   // everything odd
    };
}

ConvProblem random_problem(core::Rng& rng)
{
    ConvProblem p;
    p.batch = rng.uniform_int(1, 3);
    p.in_channels = rng.uniform_int(1, 6);
    p.out_channels = rng.uniform_int(1, 6);
    const bool flat = rng.bernoulli(0.3);
    for (int a = 0; a < 3; ++a) {
        p.kernel[a] = (a == 0 && flat) ? 1 : rng.uniform_int(1, 5);
        p.dilation[a] = (a == 0 && flat) ? 1 : rng.uniform_int(1, 4);
        const std::int64_t out = rng.uniform_int(1, a == 2 ? 20 : 9);
        p.in_size[a] = out + (p.kernel[a] - 1) * p.dilation[a];
    }
    return p;
}

class ConvEngines : public ::testing::TestWithParam<ConvAlgo> {};

}  // namespace

TEST_P(ConvEngines, MatchNaiveOnFixedShapes)
{
    sched::ThreadPool pool(2);
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    std::uint64_t seed = 0;
    for (const ConvProblem& p : fixed_cases()) {
        if (unsupported_reason(GetParam(), p)) continue;
        check_against_naive(GetParam(), p, pool, plans, ++seed);
    }
}

TEST_P(ConvEngines, MatchNaiveOnRandomShapes)
{
    sched::ThreadPool pool(2);
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    core::Rng rng = core::Rng::stream(77, 0, core::RngPurpose::Test, static_cast<std::uint64_t>(GetParam()));
    for (int n = 0; n < 25; ++n) {
        const ConvProblem p = random_problem(rng);
        if (unsupported_reason(GetParam(), p)) continue;
        check_against_naive(GetParam(), p, pool, plans, 100 + static_cast<std::uint64_t>(n));
    }
}

TEST_P(ConvEngines, ManyChannelsAndOneThread)
{
    core::SerialFor serial;
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    check_against_naive(GetParam(), {1, 48, 9, {3, 8, 10}, {3, 3, 3}, {1, 1, 1}}, serial, plans, 5);
    check_against_naive(GetParam(), {1, 7, 48, {1, 9, 17}, {1, 5, 5}, {1, 2, 2}}, serial, plans, 6);
}

// Item counts that do not fill whole lane groups evenly over 2 threads: 40 kernels (3 groups of 16
// become 4 of 10), 120 kernels, one input or one output map (the transform's passes split instead).
TEST_P(ConvEngines, UnevenLaneGroupsOnTwoThreads)
{
    sched::ThreadPool pool(2);
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    check_against_naive(GetParam(), {1, 1, 40, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}}, pool, plans, 7);
    check_against_naive(GetParam(), {1, 40, 3, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}}, pool, plans, 8);
    check_against_naive(GetParam(), {1, 5, 8, {2, 9, 9}, {1, 3, 3}, {1, 2, 2}}, pool, plans, 9);
    // Dilated, 4 phases of 4 tiles each, 32 input maps: the input-gradient inverse takes groups of 4 maps
    // (whole lane groups), each over every phase.
    check_against_naive(GetParam(), {1, 32, 4, {1, 20, 20}, {1, 3, 3}, {1, 2, 2}}, pool, plans, 10, core::Vec3i{1, 4, 4});
}

INSTANTIATE_TEST_SUITE_P(All, ConvEngines, ::testing::Values(ConvAlgo::Direct, ConvAlgo::Fft),
                         [](const ::testing::TestParamInfo<ConvAlgo>& param) { return std::string(to_string(param.param)); });

TEST(ConvProblem, CanonicalTextRoundTripsAndValidates)
{
    const ConvProblem p{2, 40, 30, {34, 34, 34}, {7, 7, 7}, {1, 2, 3}};
    EXPECT_EQ(p.to_string(), "b2_i40x34x34x34_o30_k7x7x7_d1x2x3");
    EXPECT_EQ(ConvProblem::parse(p.to_string()), p);
    EXPECT_EQ(p.out_size(), (Vec3i{28, 22, 16}));
    EXPECT_DOUBLE_EQ(p.flops_per_pass(), 2.0 * 40 * 30 * 343 * (28 * 22 * 16) * 2);
    EXPECT_FALSE(ConvProblem::parse("b2_i40x34x34_o30_k7x7x7_d1x1x1"));
    EXPECT_FALSE(ConvProblem::parse("b2_i40x34x34x34_o30_k7x7x7_d1x1x1_extra"));
    EXPECT_TRUE((ConvProblem{1, 1, 1, {5, 5, 5}, {3, 3, 3}, {3, 1, 1}}.invalid_reason()));  // extent 7 > 5
    core::SerialFor serial;
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    const ConvContext ctx{serial, plans};
    EXPECT_TRUE(unsupported_reason(ConvAlgo::Fft, {1, 1, 1, {4, 4, 4}, {1, 1, 1}, {1, 1, 1}}));
    EXPECT_THROW(make_engine(ConvAlgo::Fft, {1, 1, 1, {4, 4, 4}, {1, 1, 1}, {1, 1, 1}}, ctx), core::InputError);
    EXPECT_THROW(make_engine(ConvAlgo::Direct, {1, 1, 1, {4, 4, 4}, {5, 1, 1}, {1, 1, 1}}, ctx), core::InputError);
}

TEST(ConvSelector, TimesOnceRemembersAndReloadsChoices)
{
    sched::ThreadPool pool(2);
    fft::PlanCache plans(fft::PlanRigor::Estimate);
    const ConvContext ctx{pool, plans};
    std::vector<std::string> lines;
    core::Logger log(0, {core::LogLevel::Info, false, false}, [&](std::string_view l) { lines.emplace_back(l); });
    ConvSelector selector(ctx, &log);
    const ConvProblem big_kernel{1, 8, 8, {18, 18, 18}, {7, 7, 7}, {1, 1, 1}};
    const ConvProblem channel_mix{1, 8, 8, {6, 6, 6}, {1, 1, 1}, {1, 1, 1}};
    const Selection first = selector.choose(big_kernel, Usage::Training, "conv1");
    EXPECT_FALSE(first.remembered);
    EXPECT_EQ(first.seconds.size(), 2u);  // both timed
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("conv1: ", 0), 0u);
    EXPECT_NE(lines[0].find(" -> "), std::string::npos);
    EXPECT_EQ(selector.choose(channel_mix, Usage::Training, "conv2").algo, ConvAlgo::Direct);  // fft unsupported
    const Selection again = selector.choose(big_kernel, Usage::Training, "conv3");
    EXPECT_TRUE(again.remembered);
    EXPECT_EQ(again.algo, first.algo);

    ConvSelector reloaded(ctx);
    reloaded.load(selector.save(), "choices.txt");
    EXPECT_TRUE(reloaded.choose(big_kernel, Usage::Training).remembered);
    EXPECT_FALSE(reloaded.choose(big_kernel, Usage::Inference).remembered);  // another use, another choice
    try {
        reloaded.load("# comment\nb1_i1x4x4x4_o1_k2x2x2_d1x1x1 training winograd\n", "choices.txt");
        FAIL();
    } catch (const core::InputError& e) {
        EXPECT_EQ(std::string(e.what()).rfind("choices.txt:2: expected", 0), 0u) << e.what();
    }
}
