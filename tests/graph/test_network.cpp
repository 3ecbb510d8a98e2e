// The network engine: finite-difference gradients in double precision over every node and edge type,
// FFT against direct, batches against single patches, shared parameters, the gradient hook,
// initialisers, dropout.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <fstream>

#include "support/parse_net.hpp"
#include "znn/config/net_spec.hpp"
#include "znn/core/error.hpp"
#include "znn/core/rng.hpp"
#include "znn/graph/network.hpp"
#include "znn/graph/transfer.hpp"
#include "znn/sched/thread_pool.hpp"

using namespace znn;
using namespace znn::graph;
using config::NetSpec;
using core::Vec3i;
using tensor::Tensor;

namespace {

NetSpec parse(const std::string& text) { return test::parse_net(text); }

/// Every node type (input, sum, transfer with each function, maxout) and every edge type (conv,
/// dilated conv after a max-filter, max_filter adding into a sum, max_pool, dropout, crop, maxout,
/// dummy), in 3D, two inputs.
const char* kEveryType = R"(
nodes input
type input
size 2
nodes side
type input
size 3
edges c1
type conv
init gaussian
init_args 0,0.3
size 2,2,3
input input
output t1
nodes t1
type transfer
function tanh
function_args 1.5,0.7
init uniform
init_args 0.2
size 3
edges f1
type max_filter
size 1,2,2
stride 1,2,2
input t1
output s1
nodes s1
type sum
size 3
edges c2
type conv
init gaussian
init_args 0,0.3
size 2,2,2
input s1
output t2
edges side_in
type max_filter
size 1,2,2
stride 1,2,2
input side
output s1
nodes t2
type transfer
function soft_sign
init gaussian
init_args 0,0.1
size 2
edges d1
type dropout
ratio 0.7
input t2
output a
edges k1
type crop
offset 0,1,1
input t2
output b
nodes a
type transfer
function logistics
size 2
nodes b
type transfer
function linear
function_args 0.9,0.1
size 2
edges ma
type maxout
input a
output m
edges mb
type crop
offset 0,1,1
input a
output a2
nodes a2
type sum
size 2
edges mb2
type maxout
input a2
output m2
edges mc
type maxout
input b
output m2
nodes m
type maxout
size 2
dense 1
nodes m2
type maxout
size 2
dense 1
edges mm
type crop
offset 0,1,1
input m
output out
edges p1
type max_pool
size 1,1,1
input m2
output out
edges dummy
type dummy
input m2
output out2
nodes out
type transfer
function rectify_linear
size 2
nodes out2
type sum
size 2
)";

struct Rig {
    sched::ThreadPool pool{2};
};

template <class T> void randomize(tensor::TensorView<T> v, core::Rng& rng, double scale = 1.0)
{
    v.for_each([&](T& x) { x = static_cast<T>(rng.normal() * scale); });
}

/// Loss = Σ over outputs of w·out, with fixed random w; sets the output gradients to w.
template <class T> double loss_and_gradient(Network<T>& net, const std::map<std::string, Tensor<T>>& weights, bool set_gradient)
{
    double loss = 0;
    for (const auto& [name, w] : weights) {
        const auto out = net.output(name);
        for (std::int64_t i = 0; i < w.count(); ++i) loss += double(w.data()[i]) * double(out.data()[i]);
        if (set_gradient) tensor::copy(w.cview(), net.output_gradient(name));
    }
    return loss;
}

}  // namespace

TEST(Network, GradientsMatchFiniteDifferencesForEveryNodeAndEdgeType)
{
    Rig rig;
    const NetSpec spec = parse(kEveryType);
    const NetShapes shapes = NetShapes::for_output(spec, {2, 3, 3});
    NetworkOptions options;
    options.batch = 2;
    Network<double> net(spec, shapes, options, {rig.pool});
    net.initialize(7);
    net.set_iteration(3);
    core::Rng rng(11);
    for (const std::string& in : spec.input_nodes()) randomize(net.input(in), rng);
    std::map<std::string, Tensor<double>> w;
    for (const auto& [name, size] : shapes.output_sizes()) {
        w[name] = Tensor<double>(2 * spec.node(name)->size, size);
        randomize(w[name].view(), rng);
    }
    net.forward();
    loss_and_gradient(net, w, true);
    net.backward();

    // Central differences on every parameter value.
    const double eps = 1e-6;
    int checked = 0;
    for (auto& p : net.parameters()) {
        const std::int64_t n = p.values.count();
        for (std::int64_t i = 0; i < n; ++i) {
            double& v = p.values.data()[i];
            const double keep = v;
            v = keep + eps;
            net.touch(p);
            net.forward();
            const double up = loss_and_gradient(net, w, false);
            v = keep - eps;
            net.touch(p);
            net.forward();
            const double down = loss_and_gradient(net, w, false);
            v = keep;
            net.touch(p);
            const double numeric = (up - down) / (2 * eps), analytic = p.gradient.data()[i];
            EXPECT_NEAR(analytic, numeric, 1e-6 * std::max(1.0, std::abs(numeric))) << p.group << "[" << i << "]";
            ++checked;
        }
    }
    EXPECT_EQ(checked, 72 + 48 + 3 + 2 + 2 + 2 + 2);
}

TEST(Network, FftDirectAndTheDoubleOracleAgree)
{
    Rig rig;
    // 3D 3³ and 5³ kernels with a max-filter in between (so the second conv is dilated).
    const NetSpec spec = parse(R"(
nodes input
type input
size 2
edges c1
type conv
init xavier
size 3,3,3
input input
output n1
nodes n1
type transfer
function rectify_linear
size 6
edges f
type max_filter
size 2,2,2
stride 2,2,2
input n1
output n2
nodes n2
type sum
size 6
edges c2
type conv
init xavier
size 3,3,3
input n2
output out
nodes out
type transfer
function linear
size 3
)");
    const NetShapes shapes = NetShapes::for_output(spec, {3, 4, 5});
    NetworkOptions fft, direct;
    fft.batch = direct.batch = 2;
    fft.conv_mode = config::ConvMode::Fft;
    direct.conv_mode = config::ConvMode::Direct;
    Network<float> a(spec, shapes, fft, {rig.pool}), b(spec, shapes, direct, {rig.pool});
    Network<double> oracle(spec, shapes, direct, {rig.pool});
    EXPECT_EQ(a.conv_choices().at("c1"), conv::ConvAlgo::Fft);
    EXPECT_EQ(b.conv_choices().at("c1"), conv::ConvAlgo::Direct);
    for (auto* net : {&a, &b}) net->initialize(3);
    oracle.initialize(3);
    core::Rng rng(5);
    Tensor<double> x(2 * 2, shapes.input_sizes().at("input"));
    randomize(x.view(), rng);
    Tensor<double> g(2 * 3, {3, 4, 5});
    randomize(g.view(), rng);
    auto to_float = [](const Tensor<double>& t) {
        Tensor<float> f(t.shape());
        for (std::int64_t i = 0; i < t.count(); ++i) f.data()[i] = static_cast<float>(t.data()[i]);
        return f;
    };
    for (auto* net : {&a, &b}) {
        tensor::copy(to_float(x).cview(), net->input("input"));
        net->forward();
        tensor::copy(to_float(g).cview(), net->output_gradient("out"));
        net->backward();
    }
    tensor::copy(x.cview(), oracle.input("input"));
    oracle.forward();
    tensor::copy(g.cview(), oracle.output_gradient("out"));
    oracle.backward();
    auto expect_close = [](const float* got, const double* want, std::int64_t n, const char* what) {
        double scale = 1e-12, worst = 0;
        for (std::int64_t i = 0; i < n; ++i) scale = std::max(scale, std::abs(want[i]));
        for (std::int64_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(double(got[i]) - want[i]));
        EXPECT_LT(worst / scale, 2e-5) << what;
    };
    for (auto* net : {&a, &b}) {
        expect_close(net->output("out").data(), oracle.output("out").data(), oracle.output("out").count(), "output");
        for (std::size_t k = 0; k < oracle.parameters().size(); ++k)
            expect_close(net->parameters()[k].gradient.data(), oracle.parameters()[k].gradient.data(), oracle.parameters()[k].gradient.count(),
                         oracle.parameters()[k].group.c_str());
    }
}

TEST(Network, ABatchIsItsPatchesAndItsGradientTheirSum)
{
    Rig rig;
    const NetSpec spec = parse(kEveryType);
    const NetShapes shapes = NetShapes::for_output(spec, {2, 3, 3});
    NetworkOptions two, one;
    two.batch = 2;
    Network<double> batch(spec, shapes, two, {rig.pool}), single(spec, shapes, one, {rig.pool});
    batch.set_phase(Phase::Test);  // dropout masks differ between batch sizes; TEST makes it the identity
    single.set_phase(Phase::Test);
    batch.initialize(9);
    single.initialize(9);
    core::Rng rng(2);
    for (const std::string& in : spec.input_nodes()) randomize(batch.input(in), rng);
    batch.forward();
    for (const auto& [name, size] : shapes.output_sizes()) tensor::fill(batch.output_gradient(name), 1.0);
    batch.backward();
    std::vector<Tensor<double>> summed;
    for (const auto& p : single.parameters()) summed.emplace_back(p.gradient.shape());
    for (std::int64_t b = 0; b < 2; ++b) {
        for (const std::string& in : spec.input_nodes()) {
            const std::int64_t maps = spec.node(in)->size;
            tensor::copy(batch.values(in).channels(b * maps, maps), single.input(in));
        }
        single.forward();
        for (const auto& [name, size] : shapes.output_sizes()) {
            const std::int64_t maps = spec.node(name)->size;
            const auto got = single.output(name), want = batch.output(name).channels(b * maps, maps);
            for (std::int64_t i = 0; i < got.count(); ++i) ASSERT_NEAR(got.data()[i], want.data()[i], 1e-12) << name;
            tensor::fill(single.output_gradient(name), 1.0);
        }
        single.backward();
        for (std::size_t k = 0; k < summed.size(); ++k)
            for (std::int64_t i = 0; i < summed[k].count(); ++i) summed[k].data()[i] += single.parameters()[k].gradient.data()[i];
    }
    for (std::size_t k = 0; k < summed.size(); ++k)
        for (std::int64_t i = 0; i < summed[k].count(); ++i)
            ASSERT_NEAR(batch.parameters()[k].gradient.data()[i], summed[k].data()[i], 1e-9) << batch.parameters()[k].group;
}

TEST(Network, NetworksAtDifferentPatchSizesShareOneSetOfParameters)
{
    // A training network and a larger inference network of N4 share one store: a change made
    // through the store is seen by the other network's FFT engines at their next pass.
    Rig rig;
    const NetSpec spec = NetSpec::load(std::string(ZNN_SOURCE_DIR) + "/configs/nets/N4.znn");
    NetworkOptions fft;
    fft.conv_mode = config::ConvMode::Fft;
    Network<float> small(spec, NetShapes::for_output(spec, {1, 2, 2}), fft, {rig.pool});
    small.initialize(3);
    NetworkOptions inference = fft;
    inference.usage = conv::Usage::Inference;
    Network<float> large(spec, NetShapes::for_output(spec, {1, 5, 3}), inference, {rig.pool}, small.parameter_store());
    ASSERT_EQ(large.parameter_store().get(), small.parameter_store().get());
    // A third network with its own parameters at the same patch size is the reference.
    Network<float> own(spec, NetShapes::for_output(spec, {1, 5, 3}), inference, {rig.pool});
    auto same_input = [&] {
        core::Rng rng(9);
        const auto a = large.input("input"), b = own.input("input");
        for (std::int64_t i = 0; i < a.count(); ++i) a.data()[i] = b.data()[i] = rng.uniform_float();
    };
    auto max_diff = [&] {
        large.forward();
        own.forward();
        const auto a = large.output("output"), b = own.output("output");
        double d = 0;
        for (std::int64_t i = 0; i < a.count(); ++i) d = std::max(d, double(std::abs(a.data()[i] - b.data()[i])));
        return d;
    };
    auto copy_parameters = [&] {
        for (std::size_t k = 0; k < own.parameters().size(); ++k) {
            tensor::copy(small.parameters()[k].values.cview(), own.parameters()[k].values.view());
            own.touch(own.parameters()[k]);
        }
    };
    // The two FFT engines tune their tiles independently: float rounding differs, nothing more.
    same_input();
    copy_parameters();
    EXPECT_LT(max_diff(), 1e-6);
    // Change a kernel through the store the small network built: the large one follows.
    auto& conv2 = *small.parameter("conv2");
    conv2.values.view().for_each([](float& v) { v *= -0.5f; });
    ParameterStore<float>::changed(conv2);
    EXPECT_GT(max_diff(), 1e-3);  // `own` still has the old kernel
    copy_parameters();
    EXPECT_LT(max_diff(), 1e-6);
    // Another specification's store is refused.
    const NetSpec other = parse("nodes input\ntype input\nsize 1\nedges c\ntype conv\ninit constant\ninit_args 1\nsize 1,2,2\ninput input\noutput out\n"
                                "nodes out\ntype transfer\nfunction linear\nsize 1\n");
    EXPECT_THROW(Network<float>(other, NetShapes::for_output(other, {1, 1, 1}), fft, {rig.pool}, small.parameter_store()),
                 core::InternalError);
}

TEST(Network, TheGradientHookSeesEveryFinishedGradientOnceInBackwardOrder)
{
    Rig rig;
    const NetSpec spec = parse(kEveryType);
    const NetShapes shapes = NetShapes::for_output(spec, {2, 3, 4});
    Network<double> net(spec, shapes, {}, {rig.pool});
    net.initialize(2);
    core::Rng rng(5);
    for (const std::string& in : spec.input_nodes()) randomize(net.input(in), rng);
    std::map<std::string, Tensor<double>> w;
    for (const auto& [name, size] : shapes.output_sizes()) {
        w[name] = Tensor<double>(spec.node(name)->size, size);
        randomize(w[name].view(), rng);
    }
    net.forward();
    loss_and_gradient(net, w, true);
    // Record each gradient as the hook sees it; after backward it must be unchanged (final).
    std::vector<std::size_t> order;
    std::vector<std::vector<double>> seen;
    net.set_gradient_ready([&](std::size_t k) {
        order.push_back(k);
        const auto& g = net.parameters()[k].gradient;
        seen.emplace_back(g.data(), g.data() + g.count());
    });
    net.backward();
    ASSERT_EQ(order.size(), net.parameters().size());
    std::vector<std::size_t> sorted = order;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t k = 0; k < sorted.size(); ++k) EXPECT_EQ(sorted[k], k);  // each once
    for (std::size_t i = 0; i < order.size(); ++i) {
        const auto& g = net.parameters()[order[i]].gradient;
        EXPECT_TRUE(std::equal(seen[i].begin(), seen[i].end(), g.data())) << net.parameters()[order[i]].group;
    }
    // Backward order: the last transfer group's bias comes before the first conv's kernels.
    const auto pos = [&](const std::string& g) { return std::find(order.begin(), order.end(), std::size_t(net.parameter_store()->index(g))) - order.begin(); };
    EXPECT_LT(pos("t2"), pos("c1"));
    EXPECT_LT(pos("t1"), pos("c1"));
    net.set_gradient_ready({});
    order.clear();
    net.backward();
    EXPECT_TRUE(order.empty());
}

TEST(Network, InitialisersAreReproducibleByGroupNameAndFollowTheirFans)
{
    Rig rig;
    const std::string base = "nodes input\ntype input\nsize 4\n"
                             "edges big\ntype conv\ninit xavier\nsize 3,3,3\ninput input\noutput out\n"
                             "edges gauss\ntype conv\ninit msra\nsize 3,3,3\ninput input\noutput out\n"
                             "nodes out\ntype transfer\nfunction linear\nsize 50\n";
    const NetSpec a = parse(base), b = parse(base + "edges extra\ntype conv\ninit xavier\nsize 3,3,3\ninput input\noutput out\n");
    NetworkOptions direct;
    direct.conv_mode = config::ConvMode::Direct;
    Network<float> na(a, NetShapes::for_output(a, {1, 1, 1}), direct, {rig.pool});
    Network<float> nb(b, NetShapes::for_output(b, {1, 1, 1}), direct, {rig.pool});
    na.initialize(42);
    nb.initialize(42);
    const auto& xa = *na.parameter("big");
    const auto& xb = *nb.parameter("big");
    ASSERT_EQ(xa.values.count(), 50 * 4 * 27);
    EXPECT_TRUE(std::equal(xa.values.data(), xa.values.data() + xa.values.count(), xb.values.data()));  // another group changes nothing
    // xavier: uniform within ±sqrt(6 / (4·27 + 50·27)); msra: standard deviation sqrt(2 / (4·27)).
    const double r = std::sqrt(6.0 / (4 * 27 + 50 * 27));
    double lo = 1, hi = -1, sq = 0;
    for (std::int64_t i = 0; i < xa.values.count(); ++i) {
        lo = std::min(lo, double(xa.values.data()[i]));
        hi = std::max(hi, double(xa.values.data()[i]));
    }
    EXPECT_LE(hi, r);
    EXPECT_GE(lo, -r);
    EXPECT_GT(hi, 0.95 * r);
    const auto& m = *na.parameter("gauss");
    for (std::int64_t i = 0; i < m.values.count(); ++i) sq += double(m.values.data()[i]) * m.values.data()[i];
    EXPECT_NEAR(std::sqrt(sq / double(m.values.count())), std::sqrt(2.0 / (4 * 27)), 0.03 * std::sqrt(2.0 / (4 * 27)));
    na.initialize(43);
    EXPECT_FALSE(std::equal(xa.values.data(), xa.values.data() + xa.values.count(), xb.values.data()));
}

TEST(Network, DropoutIsOffInTestAndKeepsTheMeanInTrain)
{
    Rig rig;
    const NetSpec spec = parse("nodes input\ntype input\nsize 1\nedges d\ntype dropout\nratio 0.25\ninput input\noutput out\n"
                               "nodes out\ntype sum\nsize 1\n");
    const NetShapes shapes = NetShapes::for_output(spec, {10, 20, 20});
    Network<float> net(spec, shapes, {}, {rig.pool});
    tensor::fill(net.input("input"), 1.0f);
    net.set_phase(Phase::Test);
    net.forward();
    for (std::int64_t i = 0; i < 4000; ++i) ASSERT_EQ(net.output("out").data()[i], 1.0f);
    net.set_phase(Phase::Train);
    net.set_iteration(1);
    net.forward();
    double sum = 0;
    int kept = 0;
    for (std::int64_t i = 0; i < 4000; ++i) {
        const float v = net.output("out").data()[i];
        ASSERT_TRUE(v == 0.0f || v == 4.0f);
        sum += v;
        kept += v > 0;
    }
    EXPECT_NEAR(sum / 4000, 1.0, 0.1);
    const std::vector<float> first(net.output("out").data(), net.output("out").data() + 4000);
    net.forward();  // the same iteration: the same mask
    EXPECT_TRUE(std::equal(first.begin(), first.end(), net.output("out").data()));
    net.set_iteration(2);
    net.forward();
    EXPECT_FALSE(std::equal(first.begin(), first.end(), net.output("out").data()));
}

TEST(Network, ForwardLogisticsPassesTheGradientThrough)
{
    // The output is a logistic, but its backward pass is the identity: the cross-entropy gradient
    // p - l already holds the logistic's derivative (reference §2.3).
    Rig rig;
    const NetSpec spec = parse("nodes input\ntype input\nsize 1\nedges c\ntype conv\ninit constant\ninit_args 2\nsize 1,1,1\n"
                               "input input\noutput out\nnodes out\ntype transfer\nfunction forward_logistics\nsize 1\n");
    Network<double> net(spec, NetShapes::for_output(spec, {1, 1, 2}), {}, {rig.pool});
    net.initialize(1);
    net.input("input").data()[0] = 0.5;
    net.input("input").data()[1] = -1.0;
    net.forward();
    EXPECT_NEAR(net.output("out").data()[0], 1 / (1 + std::exp(-1.0)), 1e-12);
    net.output_gradient("out").data()[0] = 0.25;
    net.output_gradient("out").data()[1] = -0.5;
    net.backward();
    EXPECT_NEAR(net.parameter("out")->gradient.data()[0], -0.25, 1e-12);
    EXPECT_NEAR(net.parameter("c")->gradient.data()[0], 0.25 * 0.5 + 0.5 * 1.0, 1e-12);
}

TEST(Transfer, SoftmaxOverChannelsIsStableAndSumsToOne)
{
    Tensor<float> t(3, {1, 1, 2});
    const float v[] = {1.0f, 1000.0f, 2.0f, 1000.0f, 3.0f, 999.0f};  // voxel 1 would overflow a naive exp
    std::copy(v, v + 6, t.data());
    graph::softmax_channels(t.view());
    const double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
    EXPECT_NEAR(t.data()[0], std::exp(1.0) / z, 1e-6);
    EXPECT_NEAR(t.data()[4], std::exp(3.0) / z, 1e-6);
    const double w = 2 + std::exp(-1.0);
    EXPECT_NEAR(t.data()[1], 1 / w, 1e-6);
    EXPECT_NEAR(t.data()[5], std::exp(-1.0) / w, 1e-6);
}

TEST(Network, GoldenOutputOfATinyNetwork)
{
    // Parameters from seed 5, input x[i] = sin(0.3·i) over the flat index. The expected output,
    // tests/graph/golden/tiny_output.txt, was computed by numpy (tiny_reference.py, beside it) from the
    // network file `znn init tiny.znn --seed 5` writes, whose values are float32: the double network's
    // parameters are rounded to float to match. This test never writes the file; the CTest
    // golden_reference recomputes it with the script and compares.
    const std::string dir = std::string(ZNN_SOURCE_DIR) + "/tests/graph/golden/";
    const NetSpec spec = NetSpec::load(dir + "tiny.znn");
    const NetShapes shapes = NetShapes::for_output(spec, {2, 3, 4});
    Rig rig;
    NetworkOptions direct, fft;
    direct.conv_mode = config::ConvMode::Direct;
    fft.conv_mode = config::ConvMode::Fft;
    Network<double> oracle(spec, shapes, direct, {rig.pool});
    Network<float> a(spec, shapes, direct, {rig.pool}), b(spec, shapes, fft, {rig.pool});
    oracle.initialize(5);
    a.initialize(5);
    b.initialize(5);
    for (auto& p : oracle.parameter_store()->all()) {
        for (std::int64_t i = 0; i < p.values.count(); ++i) p.values.data()[i] = static_cast<float>(p.values.data()[i]);
        oracle.touch(p);
    }
    {
        const auto x = oracle.input("input");
        ASSERT_EQ(x.shape(), (tensor::Shape4{2, {6, 8, 9}}));  // as tiny_reference.py assumes
        for (std::int64_t i = 0; i < x.count(); ++i) x.data()[i] = std::sin(0.3 * double(i));
    }
    for (auto* net : {&a, &b}) {
        const auto src = oracle.input("input");
        const auto dst = net->input("input");
        for (std::int64_t i = 0; i < src.count(); ++i) dst.data()[i] = static_cast<float>(src.data()[i]);
    }
    oracle.forward();
    a.forward();
    b.forward();
    const auto out = oracle.output("output");
    ASSERT_EQ(out.count(), 3 * 2 * 3 * 4);
    const std::string golden = dir + "tiny_output.txt";
    std::ifstream f(golden);
    ASSERT_TRUE(f) << golden;
    std::vector<double> expected;
    for (double v; f >> v;) expected.push_back(v);
    ASSERT_EQ(static_cast<std::int64_t>(expected.size()), out.count());
    for (std::int64_t i = 0; i < out.count(); ++i) {
        ASSERT_NEAR(out.data()[i], expected[static_cast<std::size_t>(i)], 1e-12) << i;
        ASSERT_NEAR(a.output("output").data()[i], expected[static_cast<std::size_t>(i)], 1e-5) << i;
        ASSERT_NEAR(b.output("output").data()[i], expected[static_cast<std::size_t>(i)], 1e-5) << i;
    }
}

// The memory a network reports before it is built bounds what it holds after running (engine caches
// included), and is not far above it.
TEST(NetworkMemory, EstimateBoundsWhatTheNetworkHolds)
{
    const NetSpec every = parse(kEveryType);
    const NetSpec wide = parse(R"(
nodes input
type input
size 1
edges c1
type conv
init gaussian
size 5,5,5
input input
output t1
nodes t1
type transfer
function rectify_linear
size 24
edges c2
type conv
init gaussian
size 5,5,5
input t1
output out
nodes out
type transfer
function logistics
size 3
)");
    int checked = 0;
    for (const NetSpec* spec : {&every, &wide})
        for (conv::Usage usage : {conv::Usage::Inference, conv::Usage::Training})
            for (config::ConvMode mode : {config::ConvMode::Fft, config::ConvMode::Direct}) {
                Rig rig;
                const NetShapes shapes = NetShapes::for_output(*spec, spec == &wide ? Vec3i{12, 14, 16} : Vec3i{2, 4, 6});
                NetworkOptions o;
                o.usage = usage;
                o.conv_mode = mode;
                const NetworkResources r{rig.pool};
                const MemoryEstimate e = estimate_memory(*spec, shapes, o, r);
                core::Rng rng = core::Rng::stream(1, 0, core::RngPurpose::Test);
                const auto step = [&](Network<float>& n) {  // one pass as `usage` says, on random data
                    n.initialize(3);
                    for (const auto& [name, size] : shapes.input_sizes())
                        randomize(n.input(name), rng);
                    n.forward();
                    if (usage != conv::Usage::Training) return;
                    for (const auto& [name, size] : shapes.output_sizes())
                        randomize(n.output_gradient(name), rng);
                    n.backward();
                };
                Network<float> net(*spec, shapes, o, r);
                EXPECT_LE(net.workspace_bytes(), e.engines);
                step(net);
                const std::string what = spec->file + " " + std::string(conv::to_string(usage)) +
                                         (mode == config::ConvMode::Fft ? " fft" : " direct");
                EXPECT_LE(net.memory_bytes(), e.total()) << what;
                // With the tiles fixed (no candidates timed side by side) the estimate is close: the
                // per-thread transform scratch and oneDNN's scratchpads are all it adds to the caches.
                o.fft_tiles = net.fft_tiles();
                const MemoryEstimate fixed = estimate_memory(*spec, shapes, o, r);
                EXPECT_LE(fixed.total(), e.total()) << what;
                Network<float> again(*spec, shapes, o, r);
                step(again);
                EXPECT_LE(again.memory_bytes(), fixed.total()) << what;
                EXPECT_GE(double(again.memory_bytes()), 0.4 * double(fixed.total())) << what;
                ++checked;
            }
    EXPECT_EQ(checked, 8);
}
