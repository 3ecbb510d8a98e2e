// Every convolution engine against the naive oracle, computed in double precision, on fixed and
// randomised shapes, explicit FFT tilings, 1 to 5 threads and every order of calls, for all three passes.
// The FFT engine runs on both SIMD paths (its AVX-512 cases are skipped on a CPU without AVX-512).
//
// The tolerance is fixed (kTolerance, relative to the largest reference value): float sums of a few
// thousand terms, direct or through transforms, stay well inside it, while one missing kernel tap or a
// misplaced tile is off by a whole term (about 1/sqrt(terms) of the scale, far above it).

#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "znn/conv/engine.hpp"
#include "znn/conv/naive.hpp"
#include "znn/conv/select.hpp"
#include "znn/core/log.hpp"
#include "znn/core/rng.hpp"
#include "znn/core/simd_path.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using namespace znn::conv;
using tensor::Shape4;
using tensor::Tensor;

namespace {

constexpr double kTolerance = 2e-5;

/// The engines' options of these tests: the model's tiling (no timing), on `simd`.
EngineOptions estimate_on(core::SimdPath simd)
{
    EngineOptions o;
    o.tuning = Tuning::Estimate;
    o.simd = simd;
    return o;
}

Tensor<float> random_tensor(Shape4 shape, core::Rng& rng)
{
    Tensor<float> t(shape, core::Init::Uninitialized);
    for (float& v : t.span()) v = static_cast<float>(rng.uniform(-1.0, 1.0));
    return t;
}

Tensor<double> to_double(const Tensor<float>& t)
{
    Tensor<double> d(t.shape(), core::Init::Uninitialized);
    for (std::size_t i = 0; i < t.span().size(); ++i) d.span()[i] = t.span()[i];
    return d;
}

/// Largest |a − offset − ref| relative to the largest |ref| (the scale of the result); `offset` is
/// what an accumulating pass found in its buffer.
double relative_error(const Tensor<float>& a, const Tensor<double>& ref, double offset = 0)
{
    EXPECT_EQ(a.shape(), ref.shape());
    double worst = 0, scale = 1e-300;
    for (std::size_t i = 0; i < a.span().size(); ++i) {
        worst = std::max(worst, std::abs(double(a.span()[i]) - offset - ref.span()[i]));
        scale = std::max(scale, std::abs(ref.span()[i]));
    }
    return worst / scale;
}

/// One problem's data and its exact (double precision) results.
struct Reference {
    Tensor<float> in, w, gout;
    Tensor<double> out, grad_in, grad_w;

    Reference(const ConvProblem& p, core::Rng& rng)
        : in(random_tensor({p.batch * p.in_channels, p.in_size}, rng)),
          w(random_tensor({p.out_channels * p.in_channels, p.kernel}, rng)),
          gout(random_tensor({p.batch * p.out_channels, p.out_size()}, rng)),
          out(p.batch * p.out_channels, p.out_size()),
          grad_in(in.shape()),
          grad_w(w.shape())
    {
        const Tensor<double> in_d = to_double(in), w_d = to_double(w), gout_d = to_double(gout);
        naive::forward<double>(p, in_d.view(), w_d.view(), out.view(), Accumulate::Overwrite);
        naive::backward_data<double>(p, gout_d.view(), w_d.view(), grad_in.view(), Accumulate::Overwrite);
        naive::backward_weights<double>(p, in_d.view(), gout_d.view(), grad_w.view(), Accumulate::Overwrite);
    }
};

/// How many engine/problem pairs the checks really ran (an engine that declines a problem runs none).
struct Tally {
    int checked = 0;
};

/// Runs all three passes of `algo` on one problem against the double-precision oracle: overwrite and
/// accumulate modes, each gradient alone and both together, a weight update, backward before any
/// forward, and backward on another input than the last forward's.
void check_against_naive(ConvAlgo algo, const ConvProblem& p, core::ParallelFor& threads, const EngineOptions& engines,
                         std::uint64_t seed, Tally& tally, std::optional<core::Vec3i> fft_tile = std::nullopt)
{
    SCOPED_TRACE(std::string(to_string(algo)) + " " + p.to_string() + " on " + std::to_string(threads.threads()) +
                 " threads" + (fft_tile ? ", tile " + core::to_string(*fft_tile) : std::string()));
    core::Rng rng = core::Rng::stream(seed, 0, core::RngPurpose::Test);
    const Reference a(p, rng), b(p, rng);
    ConvContext ctx{threads, engines};
    ctx.fft_tile = fft_tile;

    {  // Backward first, on a fresh engine: nothing cached yet.
        auto engine = make_engine(algo, p, ctx);
        Tensor<float> gin(a.in.shape()), gw(a.w.shape());
        engine->backward(a.in.view(), a.gout.view(), {a.w.view(), 1}, {gin.view(), gw.view()}, Accumulate::Overwrite);
        EXPECT_LT(relative_error(gin, a.grad_in), kTolerance) << "backward data before any forward";
        EXPECT_LT(relative_error(gw, a.grad_w), kTolerance) << "backward weights before any forward";
    }

    auto engine = make_engine(algo, p, ctx);
    const Weights weights{a.w.view(), 1};
    for (Accumulate mode : {Accumulate::Overwrite, Accumulate::Add}) {
        const bool add = mode == Accumulate::Add;
        Tensor<float> out(a.out.shape());
        for (float& v : out.span()) v = 0.5f;  // Add must keep it, Overwrite must not
        engine->forward(a.in.view(), weights, out.view(), mode);
        EXPECT_LT(relative_error(out, a.out, add ? 0.5 : 0), kTolerance) << "forward";

        Tensor<float> gin(a.in.shape()), gw(a.w.shape());
        for (float& v : gin.span()) v = -0.25f;
        for (float& v : gw.span()) v = 0.75f;
        engine->backward(a.in.view(), a.gout.view(), weights, {gin.view(), gw.view()}, mode);
        EXPECT_LT(relative_error(gin, a.grad_in, add ? -0.25 : 0), kTolerance) << "backward data";
        EXPECT_LT(relative_error(gw, a.grad_w, add ? 0.75 : 0), kTolerance) << "backward weights";

        // Each gradient alone.
        Tensor<float> gin_only(a.in.shape()), gw_only(a.w.shape());
        for (float& v : gin_only.span()) v = -0.25f;
        for (float& v : gw_only.span()) v = 0.75f;
        engine->backward(a.in.view(), a.gout.view(), weights, {gin_only.view(), {}}, mode);
        engine->backward(a.in.view(), a.gout.view(), weights, {{}, gw_only.view()}, mode);
        EXPECT_LT(relative_error(gin_only, a.grad_in, add ? -0.25 : 0), kTolerance) << "backward data alone";
        EXPECT_LT(relative_error(gw_only, a.grad_w, add ? 0.75 : 0), kTolerance) << "backward weights alone";
    }

    // Forward on one input, backward on another: nothing of the first input may be reused.
    Tensor<float> out(a.out.shape()), gin(b.in.shape()), gw(b.w.shape());
    engine->forward(a.in.view(), weights, out.view(), Accumulate::Overwrite);
    engine->backward(b.in.view(), b.gout.view(), weights, {gin.view(), gw.view()}, Accumulate::Overwrite);
    Tensor<double> gin_ref(b.in.shape());  // b's output gradient through a's weights
    naive::backward_data<double>(p, to_double(b.gout).view(), to_double(a.w).view(), gin_ref.view(), Accumulate::Overwrite);
    EXPECT_LT(relative_error(gin, gin_ref), kTolerance) << "backward data on another input";
    EXPECT_LT(relative_error(gw, b.grad_w), kTolerance) << "backward weights on another input";

    // New weights with a new version must be picked up (cached spectra and packing refreshed).
    engine->forward(b.in.view(), {b.w.view(), 2}, out.view(), Accumulate::Overwrite);
    EXPECT_LT(relative_error(out, b.out), kTolerance) << "forward after a weight update";
    engine->backward(b.in.view(), b.gout.view(), {b.w.view(), 2}, {gin.view(), gw.view()}, Accumulate::Overwrite);
    EXPECT_LT(relative_error(gin, b.grad_in), kTolerance) << "backward data after a weight update";
    EXPECT_LT(relative_error(gw, b.grad_w), kTolerance) << "backward weights after a weight update";
    ++tally.checked;
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

/// The FFT tilings every fixed case runs with: the engine's own choice, one-voxel tiles, tiles that
/// leave partial tiles at the edges, and one tile over each whole axis.
std::vector<std::optional<core::Vec3i>> fft_tilings()
{
    return {std::nullopt, core::Vec3i{1, 1, 1}, core::Vec3i{2, 3, 4}, core::Vec3i{1 << 20, 1 << 20, 1 << 20}};
}

/// Runs every fixed case (every FFT tiling for the FFT engine) on `threads`; returns how many ran.
int check_fixed_cases(ConvAlgo algo, core::SimdPath simd, core::ParallelFor& threads, std::uint64_t seed)
{
    const EngineOptions engines = estimate_on(simd);
    Tally tally;
    for (const ConvProblem& p : fixed_cases()) {
        if (unsupported_reason(algo, p)) continue;
        if (algo != ConvAlgo::Fft) {
            check_against_naive(algo, p, threads, engines, ++seed, tally);
            continue;
        }
        for (const auto& tile : fft_tilings()) check_against_naive(algo, p, threads, engines, ++seed, tally, tile);
    }
    return tally.checked;
}

/// The fixed cases each engine supports: all 8 for direct; for FFT the 6 whose kernel spans an axis, each
/// with its 4 tilings.
int expected_fixed_checks(ConvAlgo algo) { return algo == ConvAlgo::Fft ? 6 * 4 : 8; }

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

/// An engine and the SIMD path it runs (direct: oneDNN chooses its own kernels).
struct EngineCase {
    ConvAlgo algo;
    core::SimdPath simd;
};

class ConvEngines : public ::testing::TestWithParam<EngineCase> {
protected:
    void SetUp() override
    {
        if (!core::cpu_runs(GetParam().simd)) GTEST_SKIP() << "this CPU does not run the " << core::to_string(GetParam().simd) << " kernels";
    }
    static ConvAlgo algo() { return GetParam().algo; }
    static EngineOptions engines() { return estimate_on(GetParam().simd); }
};

}  // namespace

TEST_P(ConvEngines, MatchNaiveOnFixedShapesAndTilingsOnOneAndTwoThreads)
{
    core::SerialFor serial;
    EXPECT_EQ(check_fixed_cases(algo(), GetParam().simd, serial, 0), expected_fixed_checks(algo()));
    sched::ThreadPool pool(2);
    EXPECT_EQ(check_fixed_cases(algo(), GetParam().simd, pool, 1000), expected_fixed_checks(algo()));
}

TEST_P(ConvEngines, MatchNaiveOnFixedShapesOnThreeAndFiveThreads)
{
    for (int threads : {3, 5}) {
        sched::ThreadPool pool(threads);
        EXPECT_EQ(check_fixed_cases(algo(), GetParam().simd, pool, 2000 + static_cast<std::uint64_t>(threads) * 100),
                  expected_fixed_checks(algo()));
    }
}

TEST_P(ConvEngines, MatchNaiveOnRandomShapes)
{
    sched::ThreadPool pool(2);
    const EngineOptions options = engines();
    core::Rng rng = core::Rng::stream(77, 0, core::RngPurpose::Test, static_cast<std::uint64_t>(algo()));
    Tally tally;
    int supported = 0;
    for (int n = 0; n < 25; ++n) {
        const ConvProblem p = random_problem(rng);
        if (unsupported_reason(algo(), p)) continue;
        ++supported;
        check_against_naive(algo(), p, pool, options, 100 + static_cast<std::uint64_t>(n), tally);
    }
    EXPECT_EQ(tally.checked, supported);
    EXPECT_GE(supported, 20) << "the random problems should mostly be ones every engine supports";
}

TEST_P(ConvEngines, ManyChannelsAndOneThread)
{
    core::SerialFor serial;
    const EngineOptions options = engines();
    Tally tally;
    check_against_naive(algo(), {1, 48, 9, {3, 8, 10}, {3, 3, 3}, {1, 1, 1}}, serial, options, 5, tally);
    check_against_naive(algo(), {1, 7, 48, {1, 9, 17}, {1, 5, 5}, {1, 2, 2}}, serial, options, 6, tally);
    EXPECT_EQ(tally.checked, 2);
}

// Item counts that do not fill whole lane groups evenly over 2 threads: 40 kernels (3 groups of 16
// become 4 of 10), 120 kernels, one input or one output map (the transform's passes split instead).
TEST_P(ConvEngines, UnevenLaneGroupsOnTwoThreads)
{
    sched::ThreadPool pool(2);
    const EngineOptions options = engines();
    Tally tally;
    check_against_naive(algo(), {1, 1, 40, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}}, pool, options, 7, tally);
    check_against_naive(algo(), {1, 40, 3, {6, 7, 8}, {3, 3, 3}, {1, 1, 1}}, pool, options, 8, tally);
    check_against_naive(algo(), {1, 5, 8, {2, 9, 9}, {1, 3, 3}, {1, 2, 2}}, pool, options, 9, tally);
    // Dilated, 4 phases of 4 tiles each, 32 input maps: the input-gradient inverse takes groups of 4 maps
    // (whole lane groups), each over every phase.
    check_against_naive(algo(), {1, 32, 4, {1, 20, 20}, {1, 3, 3}, {1, 2, 2}}, pool, options, 10, tally,
                        core::Vec3i{1, 4, 4});
    EXPECT_EQ(tally.checked, 4);
}

namespace {

// The benchmarks' 7³ layer, 40 → 40 maps over a 34³ input (28³ output, many tiles): too large for the
// whole naive oracle, so each pass is checked at sampled voxels, every corner and edge of the output
// (where partial tiles end) among them, each value summed in double straight from the formulas in
// engine.hpp.
struct SampledOracle {
    const ConvProblem& p;
    const Tensor<float>& in;
    const Tensor<float>& w;
    const Tensor<float>& gout;

    double forward(std::int64_t o, const core::Vec3i& q) const
    {
        const core::Vec3i K = p.kernel;
        double sum = 0;
        for (std::int64_t i = 0; i < p.in_channels; ++i)
            for (std::int64_t kz = 0; kz < K.z; ++kz)
                for (std::int64_t ky = 0; ky < K.y; ++ky)
                    for (std::int64_t kx = 0; kx < K.x; ++kx)
                        sum += double(in(i, q.z + K.z - 1 - kz, q.y + K.y - 1 - ky, q.x + K.x - 1 - kx)) *
                               double(w(o * p.in_channels + i, kz, ky, kx));
        return sum;
    }
    double grad_in(std::int64_t i, const core::Vec3i& q) const
    {
        const core::Vec3i K = p.kernel, O = p.out_size();
        double sum = 0;
        for (std::int64_t o = 0; o < p.out_channels; ++o)
            for (std::int64_t kz = 0; kz < K.z; ++kz)
                for (std::int64_t ky = 0; ky < K.y; ++ky)
                    for (std::int64_t kx = 0; kx < K.x; ++kx) {
                        const core::Vec3i at{q.z - (K.z - 1 - kz), q.y - (K.y - 1 - ky), q.x - (K.x - 1 - kx)};
                        if (at.min_component() < 0 || at.z >= O.z || at.y >= O.y || at.x >= O.x) continue;
                        sum += double(gout(o, at.z, at.y, at.x)) * double(w(o * p.in_channels + i, kz, ky, kx));
                    }
        return sum;
    }
    double grad_w(std::int64_t o, std::int64_t i, const core::Vec3i& k) const
    {
        const core::Vec3i K = p.kernel, O = p.out_size();
        double sum = 0;
        for (std::int64_t z = 0; z < O.z; ++z)
            for (std::int64_t y = 0; y < O.y; ++y)
                for (std::int64_t x = 0; x < O.x; ++x)
                    sum += double(gout(o, z, y, x)) * double(in(i, z + K.z - 1 - k.z, y + K.y - 1 - k.y, x + K.x - 1 - k.x));
        return sum;
    }
};

/// Sample points of a box: its 8 corners, the middles of its 12 edges, and `random` more.
std::vector<core::Vec3i> sample_points(const core::Vec3i& size, int random, core::Rng& rng)
{
    std::vector<core::Vec3i> points;
    const auto pick = [&](int a, int choice) { return choice == 0 ? 0 : choice == 1 ? size[a] / 2 : size[a] - 1; };
    for (int cz = 0; cz < 3; ++cz)
        for (int cy = 0; cy < 3; ++cy)
            for (int cx = 0; cx < 3; ++cx)
                if ((cz == 1) + (cy == 1) + (cx == 1) <= 1) points.push_back({pick(0, cz), pick(1, cy), pick(2, cx)});
    for (int n = 0; n < random; ++n)
        points.push_back({rng.uniform_int(0, size.z - 1), rng.uniform_int(0, size.y - 1), rng.uniform_int(0, size.x - 1)});
    return points;
}

/// Largest sampled |engine − oracle| relative to the largest sampled |oracle|.
template <class Engine, class Oracle>
double sampled_error(int samples, Engine&& engine_value, Oracle&& oracle_value)
{
    double worst = 0, scale = 1e-300;
    for (int n = 0; n < samples; ++n) {
        const double ref = oracle_value(n);
        worst = std::max(worst, std::abs(engine_value(n) - ref));
        scale = std::max(scale, std::abs(ref));
    }
    return worst / scale;
}

}  // namespace

TEST_P(ConvEngines, MatchSampledOracleOnTheBenchmarkLayer)
{
    const ConvProblem p{1, 40, 40, {34, 34, 34}, {7, 7, 7}, {1, 1, 1}};
    core::Rng rng = core::Rng::stream(11, 0, core::RngPurpose::Test);
    const Tensor<float> in = random_tensor({p.in_channels, p.in_size}, rng);
    const Tensor<float> w = random_tensor({p.out_channels * p.in_channels, p.kernel}, rng);
    const Tensor<float> gout = random_tensor({p.out_channels, p.out_size()}, rng);
    const SampledOracle oracle{p, in, w, gout};
    const std::vector<core::Vec3i> out_points = sample_points(p.out_size(), 60, rng);
    const std::vector<core::Vec3i> in_points = sample_points(p.in_size, 60, rng);
    const std::vector<core::Vec3i> k_points = sample_points(p.kernel, 4, rng);
    std::vector<std::int64_t> maps, other_maps;
    for (std::size_t n = 0; n < out_points.size(); ++n) maps.push_back(rng.uniform_int(0, p.out_channels - 1));
    for (std::size_t n = 0; n < in_points.size(); ++n) other_maps.push_back(rng.uniform_int(0, p.in_channels - 1));

    sched::ThreadPool pool(2);
    const EngineOptions options = engines();
    const std::vector<std::optional<core::Vec3i>> tilings =
        algo() == ConvAlgo::Fft ? std::vector<std::optional<core::Vec3i>>{std::nullopt, core::Vec3i{10, 10, 10}}
                                    : std::vector<std::optional<core::Vec3i>>{std::nullopt};
    for (const auto& tile : tilings) {
        SCOPED_TRACE(tile ? "tile " + core::to_string(*tile) : std::string("the engine's own tiling"));
        ConvContext ctx{pool, options};
        ctx.fft_tile = tile;
        auto engine = make_engine(algo(), p, ctx);
        if (tile) { ASSERT_EQ(engine->fft_tile(), tile); }
        Tensor<float> out(p.out_channels, p.out_size()), gin(in.shape()), gw(w.shape());
        engine->forward(in.view(), {w.view(), 1}, out.view(), Accumulate::Overwrite);
        engine->backward(in.view(), gout.view(), {w.view(), 1}, {gin.view(), gw.view()}, Accumulate::Overwrite);

        const auto at = [](const Tensor<float>& t, std::int64_t c, const core::Vec3i& q) { return double(t(c, q.z, q.y, q.x)); };
        const int n_out = static_cast<int>(out_points.size()), n_in = static_cast<int>(in_points.size());
        EXPECT_LT(sampled_error(n_out, [&](int n) { return at(out, maps[size_t(n)], out_points[size_t(n)]); },
                                [&](int n) { return oracle.forward(maps[size_t(n)], out_points[size_t(n)]); }),
                  kTolerance)
            << "forward";
        EXPECT_LT(sampled_error(n_in, [&](int n) { return at(gin, other_maps[size_t(n)], in_points[size_t(n)]); },
                                [&](int n) { return oracle.grad_in(other_maps[size_t(n)], in_points[size_t(n)]); }),
                  kTolerance)
            << "backward data";
        const int n_k = static_cast<int>(k_points.size());
        EXPECT_LT(sampled_error(n_k * 3,
                                [&](int n) {
                                    const std::int64_t o = (n * 17) % p.out_channels, i = (n * 29) % p.in_channels;
                                    return at(gw, o * p.in_channels + i, k_points[size_t(n % n_k)]);
                                },
                                [&](int n) {
                                    const std::int64_t o = (n * 17) % p.out_channels, i = (n * 29) % p.in_channels;
                                    return oracle.grad_w(o, i, k_points[size_t(n % n_k)]);
                                }),
                  kTolerance)
            << "backward weights";
    }
}

INSTANTIATE_TEST_SUITE_P(All, ConvEngines,
                         ::testing::Values(EngineCase{ConvAlgo::Direct, core::SimdPath::Avx2}, EngineCase{ConvAlgo::Fft, core::SimdPath::Avx2},
                                           EngineCase{ConvAlgo::Fft, core::SimdPath::Avx512}),
                         [](const ::testing::TestParamInfo<EngineCase>& param) {
                             return std::string(to_string(param.param.algo)) +
                                    (param.param.algo == ConvAlgo::Fft ? "_" + std::string(core::to_string(param.param.simd)) : "");
                         });

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
    const ConvContext ctx{serial, estimate_on(core::host_simd_path())};
    EXPECT_TRUE(unsupported_reason(ConvAlgo::Fft, {1, 1, 1, {4, 4, 4}, {1, 1, 1}, {1, 1, 1}}));
    EXPECT_THROW(make_engine(ConvAlgo::Fft, {1, 1, 1, {4, 4, 4}, {1, 1, 1}, {1, 1, 1}}, ctx), core::InputError);
    EXPECT_THROW(make_engine(ConvAlgo::Direct, {1, 1, 1, {4, 4, 4}, {5, 1, 1}, {1, 1, 1}}, ctx), core::InputError);
}

TEST(ConvSelector, TimesOnceRemembersAndHandsBackTheEngineItTimed)
{
    sched::ThreadPool pool(2);
    const ConvContext ctx{pool, estimate_on(core::host_simd_path())};
    std::vector<std::string> lines;
    core::Logger log(0, {core::LogLevel::Info, false, false, {}}, [&](std::string_view l) { lines.emplace_back(l); });
    ConvSelector selector(ctx, &log);
    const ConvProblem big_kernel{1, 8, 8, {18, 18, 18}, {7, 7, 7}, {1, 1, 1}};
    const ConvProblem channel_mix{1, 8, 8, {6, 6, 6}, {1, 1, 1}, {1, 1, 1}};
    const Selection first = selector.choose(big_kernel, Usage::Training, "conv1");
    EXPECT_FALSE(first.remembered);
    EXPECT_EQ(first.seconds.size(), 2u);  // both timed
    ASSERT_TRUE(first.engine);
    EXPECT_EQ(first.engine->algo(), first.algo);
    EXPECT_EQ(first.engine->problem(), big_kernel);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_EQ(lines[0].rfind("conv1: ", 0), 0u);
    EXPECT_NE(lines[0].find(" -> "), std::string::npos);
    EXPECT_EQ(selector.choose(channel_mix, Usage::Training, "conv2").algo, ConvAlgo::Direct);  // fft unsupported
    const Selection again = selector.choose(big_kernel, Usage::Training, "conv3");
    EXPECT_TRUE(again.remembered);
    EXPECT_EQ(again.algo, first.algo);
    EXPECT_FALSE(again.engine);
    EXPECT_FALSE(selector.choose(big_kernel, Usage::Inference).remembered);  // another use, another choice
}

TEST(ConvImplementations, OneOrderedListThatAnswersSupportMemoryAndBuilds)
{
    std::vector<ConvAlgo> order;
    for (const ConvImplementation& impl : conv_implementations()) order.push_back(impl.algo);
    EXPECT_EQ(order, (std::vector<ConvAlgo>{ConvAlgo::Direct, ConvAlgo::Fft, ConvAlgo::Naive}));
    EXPECT_FALSE(conv_implementation(ConvAlgo::Naive).timed_by_auto);
    EXPECT_THROW(conv_implementation(ConvAlgo::Auto), core::InternalError);
    sched::ThreadPool pool(2);
    const ConvContext ctx{pool, estimate_on(core::host_simd_path())};
    const ConvProblem p{1, 4, 6, {10, 12, 14}, {3, 3, 3}, {1, 1, 1}};
    for (const ConvImplementation& impl : conv_implementations()) {
        SCOPED_TRACE(std::string(to_string(impl.algo)));
        EXPECT_FALSE(impl.unsupported(p));
        const std::size_t bound = impl.workspace_bound(p, ctx);
        const auto engine = make_engine(impl.algo, p, ctx);
        EXPECT_EQ(engine->algo(), impl.algo);
        EXPECT_GE(bound, engine->workspace_bytes()) << "the bound is known before the engine runs, and holds";
    }
    ConvContext tiled = ctx;  // a given tile: the bound is the engine's own workspace, without building it
    tiled.fft_tile = Vec3i{3, 4, 5};
    EXPECT_EQ(workspace_estimate(ConvAlgo::Fft, p, tiled), make_engine(ConvAlgo::Fft, p, tiled)->workspace_bytes());
    EXPECT_GE(workspace_estimate(ConvAlgo::Auto, p, ctx),
              workspace_estimate(ConvAlgo::Direct, p, ctx) + workspace_estimate(ConvAlgo::Fft, p, ctx));
}

TEST(ChooseEngine, GivesTheAskedAlgorithmOrDirectWithAWarning)
{
    sched::ThreadPool pool(2);
    const ConvContext ctx{pool, estimate_on(core::host_simd_path())};
    std::vector<std::string> lines;
    core::Logger log(0, {core::LogLevel::Info, false, false, {}}, [&](std::string_view l) { lines.emplace_back(l); });
    const ConvProblem p{1, 3, 5, {8, 9, 10}, {3, 3, 3}, {1, 1, 1}};
    EXPECT_EQ(choose_engine(ConvAlgo::Fft, p, ctx, nullptr, &log, "conv1")->algo(), ConvAlgo::Fft);
    EXPECT_EQ(choose_engine(ConvAlgo::Direct, p, ctx, nullptr, &log, "conv1")->algo(), ConvAlgo::Direct);
    EXPECT_TRUE(lines.empty());
    const ConvProblem mix{1, 3, 5, {8, 9, 10}, {1, 1, 1}, {1, 1, 1}};
    EXPECT_EQ(choose_engine(ConvAlgo::Fft, mix, ctx, nullptr, &log, "conv2")->algo(), ConvAlgo::Direct);
    ASSERT_EQ(lines.size(), 1u);
    EXPECT_NE(lines[0].find("conv2: fft cannot run it (a 1x1x1 kernel is a channel mix"), std::string::npos) << lines[0];
    EXPECT_NE(lines[0].find("using direct"), std::string::npos) << lines[0];
    ConvSelector selector(ctx, &log);
    const auto timed = choose_engine(ConvAlgo::Auto, p, ctx, &selector, &log, "conv3");
    const auto again = choose_engine(ConvAlgo::Auto, p, ctx, &selector, &log, "conv4");  // remembered, built once more
    EXPECT_EQ(timed->algo(), again->algo());
    EXPECT_NE(lines.back().find("conv4: " + std::string(to_string(again->algo())) + " (remembered)"), std::string::npos);
    EXPECT_THROW(choose_engine(ConvAlgo::Direct, {1, 1, 1, {4, 4, 4}, {5, 1, 1}, {1, 1, 1}}, ctx, nullptr, &log, "bad"), core::InputError);
}
